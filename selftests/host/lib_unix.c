// SPDX-License-Identifier: GPL-2.0-only
/*
 * libivshm unix: backend against the real ivshm-server: handshake, many
 * peers, join/leave events, doorbells both ways, vector and "all" fds,
 * shared memory, the ring signal adapter, and the server dying mid-run.
 */
#include <pthread.h>

#include "kselftest_harness.h"
#include "server_helpers.h"

#include <ivshm.h>

#define NV	4
#define NPEERS	8

FIXTURE(lib) {
	struct srv s;
	char target[160];
};

FIXTURE_SETUP(lib)
{
	const char *args[] = { "-S", self->s.sock, "--memfd", "-l", "1M",
			       "-n", "4", "--max-peers", "32", NULL };

	ASSERT_EQ(0, srv_init(&self->s));
	ASSERT_EQ(0, access(server_bin(), X_OK))
		TH_LOG("no server binary at %s", server_bin());
	ASSERT_EQ(0, srv_start(&self->s, args));
	snprintf(self->target, sizeof(self->target), "unix:%s", self->s.sock);
}

FIXTURE_TEARDOWN(lib)
{
	srv_cleanup(&self->s);
}

static int readable(int fd, int ms)
{
	struct pollfd p = { .fd = fd, .events = POLLIN };

	return poll(&p, 1, ms) == 1 && (p.revents & POLLIN);
}

struct evlog {
	int joins, leaves, gone;
	int last_join, last_leave;
};

static void on_event(struct ivshm_dev *dev, const struct ivshm_peer_event *ev,
		     void *arg)
{
	struct evlog *l = arg;

	(void)dev;
	switch (ev->type) {
	case IVSHM_PEER_JOIN:
		l->joins++;
		l->last_join = ev->peer;
		break;
	case IVSHM_PEER_LEAVE:
		l->leaves++;
		l->last_leave = ev->peer;
		break;
	case IVSHM_SERVER_GONE:
		l->gone++;
		break;
	}
}

/* Process events until @dev knows @n peers (or 3 s pass): the count. */
static int settle(struct ivshm_dev *dev, int n)
{
	uint64_t end = ms_now() + 3000;
	int c;

	while ((c = ivshm_peers(dev, NULL, 0)) != n && ms_now() < end)
		ivshm_process_events(dev, 50);
	return c;
}

TEST_F(lib, open_auto_counts_vectors)
{
	struct ivshm_dev *a, *b;
	uint64_t t0;

	t0 = ms_now();
	a = ivshm_open(self->target, 0);
	ASSERT_NE(NULL, a) TH_LOG("open: %s", strerror(errno));
	/* our server names the count (its memfd): no quiet period is
	 * needed; lib_fakeserver's vectors_* tests tell the cases apart */
	EXPECT_GT(2000, ms_now() - t0);
	EXPECT_EQ(NV, ivshm_vectors(a));
	EXPECT_EQ(1 << 20, ivshm_size(a));
	EXPECT_NE(NULL, ivshm_base(a));
	EXPECT_EQ(0, ivshm_peer_id(a));
	EXPECT_EQ(0, ivshm_peers(a, NULL, 0));

	t0 = ms_now();
	b = ivshm_open(self->target, IVSHM_OPEN_VECTORS(NV));
	ASSERT_NE(NULL, b);
	EXPECT_GT(2000, ms_now() - t0);	/* no quiet period needed */
	EXPECT_EQ(1, ivshm_peer_id(b));
	EXPECT_EQ(NV, ivshm_vectors(b));
	/* b learned about a in its handshake */
	{
		uint16_t ids[4];

		EXPECT_EQ(1, ivshm_peers(b, ids, 4));
		EXPECT_EQ(0, ids[0]);
	}
	ivshm_close(b);
	ivshm_close(a);
	ivshm_close(NULL);
}

TEST_F(lib, env_vectors)
{
	struct ivshm_dev *a;
	uint64_t t0 = ms_now();

	setenv("IVSHM_VECTORS", "4", 1);
	a = ivshm_open(self->target, 0);
	unsetenv("IVSHM_VECTORS");
	ASSERT_NE(NULL, a);
	EXPECT_GT(2000, ms_now() - t0);	/* no quiet period needed */
	EXPECT_EQ(NV, ivshm_vectors(a));
	ivshm_close(a);

	setenv("IVSHM_VECTORS", "banana", 1);
	a = ivshm_open(self->target, 0);
	unsetenv("IVSHM_VECTORS");
	EXPECT_EQ(NULL, a);
	EXPECT_EQ(EINVAL, errno);
	ivshm_close(a);
}

/* A peer using fewer vectors than the server closes the extras. */
TEST_F(lib, fewer_vectors_than_server)
{
	struct ivshm_dev *a, *b;
	int before = count_fds(getpid());

	a = ivshm_open(self->target, IVSHM_OPEN_VECTORS(2));
	ASSERT_NE(NULL, a);
	b = ivshm_open(self->target, IVSHM_OPEN_VECTORS(NV));
	ASSERT_NE(NULL, b);
	EXPECT_EQ(2, ivshm_vectors(a));
	EXPECT_EQ(1, settle(a, 1));
	EXPECT_EQ(0, ivshm_ring(a, 1, 1));
	EXPECT_EQ(1, ivshm_wait(b, 1, 2000));
	EXPECT_EQ(-ENXIO, ivshm_ring(a, 1, 2));
	EXPECT_EQ(0, ivshm_ring(b, 0, 1));
	EXPECT_EQ(1, ivshm_wait(a, 1, 2000));
	EXPECT_EQ(-EINVAL, ivshm_wait(a, 2, 0));
	ivshm_close(b);
	ivshm_close(a);
	EXPECT_EQ(before, count_fds(getpid()));
}

TEST_F(lib, many_peers_join_leave)
{
	struct ivshm_dev *d[NPEERS];
	struct evlog log[NPEERS];
	uint16_t ids[NPEERS];
	uint64_t end;
	int i, n;

	memset(log, 0, sizeof(log));
	for (i = 0; i < NPEERS; i++) {
		d[i] = ivshm_open(self->target, IVSHM_OPEN_VECTORS(NV));
		ASSERT_NE(NULL, d[i]) TH_LOG("peer %d: %s", i, strerror(errno));
		EXPECT_EQ(i, ivshm_peer_id(d[i]));
		ASSERT_EQ(0, ivshm_set_event_cb(d[i], on_event, &log[i]));
	}
	for (i = 0; i < NPEERS; i++) {
		EXPECT_EQ(NPEERS - 1, settle(d[i], NPEERS - 1));
		/* joins after our own handshake only */
		EXPECT_EQ(NPEERS - 1 - i, log[i].joins) TH_LOG("peer %d", i);
		n = ivshm_peers(d[i], ids, NPEERS);
		ASSERT_EQ(NPEERS - 1, n);
		for (int j = 0, want = 0; j < n; j++, want++) {
			if (want == i)
				want++;
			EXPECT_EQ(want, ids[j]);
		}
	}
	/* a short buffer: the count, ids filled as far as they fit */
	EXPECT_EQ(NPEERS - 1, ivshm_peers(d[0], ids, 2));
	EXPECT_EQ(1, ids[0]);
	EXPECT_EQ(2, ids[1]);

	/* the last three leave */
	for (i = NPEERS - 3; i < NPEERS; i++) {
		ivshm_close(d[i]);
		d[i] = NULL;
	}
	end = ms_now() + 3000;
	while (log[0].leaves < 3 && ms_now() < end)
		ivshm_process_events(d[0], 50);
	EXPECT_EQ(3, log[0].leaves);
	EXPECT_EQ(NPEERS - 4, ivshm_peers(d[0], NULL, 0));
	EXPECT_EQ(-ENXIO, ivshm_ring(d[0], NPEERS - 1, 0));
	EXPECT_EQ(0, log[0].gone);
	for (i = 0; i < NPEERS; i++)
		ivshm_close(d[i]);
}

TEST_F(lib, doorbells_both_ways)
{
	struct ivshm_dev *a, *b;
	struct ivshm_fired f[NV] = { { .size = sizeof(f[0]) } };
	int k;

	a = ivshm_open(self->target, IVSHM_OPEN_VECTORS(NV));
	b = ivshm_open(self->target, IVSHM_OPEN_VECTORS(NV));
	ASSERT_NE(NULL, a);
	ASSERT_NE(NULL, b);
	ASSERT_EQ(1, settle(a, 1));
	for (k = 0; k < NV; k++) {
		int vfd = ivshm_vector_fd(b, k);

		ASSERT_LE(0, vfd);
		EXPECT_FALSE(readable(vfd, 0));
		EXPECT_FALSE(readable(ivshm_all_fd(b), 0));
		ASSERT_EQ(0, ivshm_ring(a, 1, k));
		EXPECT_TRUE(readable(vfd, 2000)) TH_LOG("vector %d", k);
		EXPECT_TRUE(readable(ivshm_all_fd(b), 0));
		for (int o = 0; o < NV; o++)
			if (o != k)
				EXPECT_EQ(-ETIMEDOUT, ivshm_wait(b, o, 0));
		EXPECT_LE(1, ivshm_wait(b, k, 1000));
		EXPECT_EQ(-ETIMEDOUT, ivshm_wait(b, k, 0));
		EXPECT_FALSE(readable(ivshm_all_fd(b), 0));
	}
	/* b -> a: two vectors, coalesced counts, reported by wait_any */
	ASSERT_EQ(0, ivshm_ring(b, 0, 3));
	ASSERT_EQ(0, ivshm_ring(b, 0, 1));
	ASSERT_EQ(0, ivshm_ring(b, 0, 1));
	EXPECT_TRUE(readable(ivshm_all_fd(a), 2000));
	usleep(20000);
	ASSERT_EQ(2, ivshm_wait_any(a, f, NV, 1000));
	EXPECT_EQ(1, f[0].vector);
	EXPECT_EQ(2, f[0].count);
	EXPECT_EQ(3, f[1].vector);
	EXPECT_EQ(1, f[1].count);
	EXPECT_EQ(-ETIMEDOUT, ivshm_wait_any(a, f, NV, 50));
	/* a short array leaves the rest pending */
	ASSERT_EQ(0, ivshm_ring(b, 0, 0));
	ASSERT_EQ(0, ivshm_ring(b, 0, 2));
	usleep(20000);
	ASSERT_EQ(1, ivshm_wait_any(a, f, 1, 1000));
	EXPECT_EQ(0, f[0].vector);
	ASSERT_EQ(1, ivshm_wait_any(a, f, 1, 0));
	EXPECT_EQ(2, f[0].vector);
	/* ringing ourselves */
	ASSERT_EQ(0, ivshm_ring(a, 0, 2));
	EXPECT_EQ(1, ivshm_wait(a, 2, 1000));
	/* bad arguments */
	EXPECT_EQ(-EINVAL, ivshm_ring(a, 70000, 0));
	EXPECT_EQ(-ENXIO, ivshm_ring(a, 1, NV));
	EXPECT_EQ(-ENXIO, ivshm_ring(a, 77, 0));
	EXPECT_EQ(-EINVAL, ivshm_wait(a, NV, 0));
	EXPECT_EQ(-EINVAL, ivshm_vector_fd(a, NV));
	EXPECT_EQ(-EINVAL, ivshm_wait_any(a, NULL, 0, 0));
	ivshm_close(b);
	ivshm_close(a);
}

static void *ring_later(void *arg)
{
	struct ivshm_dev *d = arg;

	usleep(100000);
	ivshm_ring(d, 0, 1);
	return NULL;
}

TEST_F(lib, blocking_wait_wakes)
{
	struct ivshm_dev *a, *b;
	pthread_t t;
	uint64_t t0;

	a = ivshm_open(self->target, IVSHM_OPEN_VECTORS(NV));
	b = ivshm_open(self->target, IVSHM_OPEN_VECTORS(NV));
	ASSERT_NE(NULL, a);
	ASSERT_NE(NULL, b);
	t0 = ms_now();
	ASSERT_EQ(0, pthread_create(&t, NULL, ring_later, b));
	EXPECT_EQ(1, ivshm_wait(a, 1, -1));
	EXPECT_LE(80, ms_now() - t0);
	pthread_join(t, NULL);
	t0 = ms_now();
	EXPECT_EQ(-ETIMEDOUT, ivshm_wait(a, 1, 200));
	EXPECT_LE(190, ms_now() - t0);
	EXPECT_GT(1000, ms_now() - t0);
	ivshm_close(b);
	ivshm_close(a);
}

/* Ringing a peer we have not processed the join of yet catches up. */
TEST_F(lib, ring_catches_up_with_joins)
{
	struct ivshm_dev *a, *b;
	struct evlog log = { 0 };

	a = ivshm_open(self->target, IVSHM_OPEN_VECTORS(NV));
	ASSERT_NE(NULL, a);
	ASSERT_EQ(0, ivshm_set_event_cb(a, on_event, &log));
	EXPECT_FALSE(readable(ivshm_event_fd(a), 0));
	b = ivshm_open(self->target, IVSHM_OPEN_VECTORS(NV));
	ASSERT_NE(NULL, b);
	usleep(50000);
	EXPECT_EQ(0, ivshm_ring(a, 1, 3));
	EXPECT_EQ(1, ivshm_wait(b, 3, 1000));
	/* the join is still reported through the event fd */
	EXPECT_TRUE(readable(ivshm_event_fd(a), 1000));
	EXPECT_EQ(1, ivshm_process_events(a, 0));
	EXPECT_EQ(1, log.joins);
	EXPECT_EQ(1, log.last_join);
	EXPECT_FALSE(readable(ivshm_event_fd(a), 0));
	EXPECT_EQ(0, ivshm_process_events(a, 0));
	ivshm_close(b);
	EXPECT_EQ(1, ivshm_process_events(a, 2000));
	EXPECT_EQ(1, log.leaves);
	EXPECT_EQ(1, log.last_leave);
	ivshm_close(a);
}

TEST_F(lib, memory_is_shared)
{
	struct ivshm_dev *a, *b;
	volatile uint8_t *ma, *mb;

	a = ivshm_open(self->target, IVSHM_OPEN_VECTORS(NV));
	b = ivshm_open(self->target, IVSHM_OPEN_VECTORS(NV));
	ASSERT_NE(NULL, a);
	ASSERT_NE(NULL, b);
	ma = ivshm_base(a);
	mb = ivshm_base(b);
	ASSERT_NE(ma, mb);
	ma[0] = 0x5a;
	ma[(1 << 20) - 1] = 0xa5;
	memcpy((void *)(ma + 4096), "hello, peer", 12);
	EXPECT_EQ(0x5a, mb[0]);
	EXPECT_EQ(0xa5, mb[(1 << 20) - 1]);
	EXPECT_EQ(0, memcmp((void *)(mb + 4096), "hello, peer", 12));
	mb[8] = 7;
	EXPECT_EQ(7, ma[8]);
	ivshm_close(b);
	ivshm_close(a);
}

TEST_F(lib, signal_adapter)
{
	struct ivshm_dev *a, *b;
	struct ivshm_sigctx ca = { .size = sizeof(ca) };
	struct ivshm_sigctx cb = { .size = sizeof(cb) };
	struct ivshm_signal sa = { .size = sizeof(sa) };
	struct ivshm_signal sb = { .size = sizeof(sb) };
	uint64_t end;
	int alive;

	a = ivshm_open(self->target, IVSHM_OPEN_VECTORS(NV));
	b = ivshm_open(self->target, IVSHM_OPEN_VECTORS(NV));
	ASSERT_NE(NULL, a);
	ASSERT_NE(NULL, b);
	ASSERT_EQ(0, ivshm_dev_signal(a, 1, 2, 3, &ca, &sa));
	ASSERT_EQ(0, ivshm_dev_signal(b, 0, 3, 2, &cb, &sb));
	EXPECT_EQ(-EINVAL, ivshm_dev_signal(a, 1, 2, NV, &ca, &sa));
	EXPECT_EQ(ivshm_vector_fd(a, 3), sa.fd);
	ASSERT_NE(NULL, sa.peer_alive);
	EXPECT_EQ(1, sa.peer_alive(sa.ctx));
	EXPECT_EQ(-ETIMEDOUT, sb.wait(sb.ctx, 0));
	EXPECT_EQ(0, sa.notify(sa.ctx));
	EXPECT_EQ(0, sb.wait(sb.ctx, 1000));
	EXPECT_EQ(0, sb.notify(sb.ctx));
	EXPECT_EQ(0, sa.wait(sa.ctx, 1000));
	ivshm_close(b);
	end = ms_now() + 3000;
	while ((alive = sa.peer_alive(sa.ctx)) != 0 && ms_now() < end)
		usleep(10000);
	EXPECT_EQ(0, alive);
	/* a peer never seen is unknown */
	ca.peer = 999;
	EXPECT_EQ(-1, sa.peer_alive(sa.ctx));
	ivshm_close(a);
}

/*
 * The server dies: every peer is told once, later processing reports the
 * connection reset, and the peers keep ringing each other.
 */
TEST_F(lib, server_killed)
{
	struct ivshm_dev *d[3];
	struct evlog log[3];
	uint64_t end;
	int i, r;

	memset(log, 0, sizeof(log));
	for (i = 0; i < 3; i++) {
		d[i] = ivshm_open(self->target, IVSHM_OPEN_VECTORS(NV));
		ASSERT_NE(NULL, d[i]);
		ASSERT_EQ(0, ivshm_set_event_cb(d[i], on_event, &log[i]));
	}
	for (i = 0; i < 3; i++)
		ASSERT_EQ(2, settle(d[i], 2));
	kill(self->s.pid, SIGKILL);
	waitpid(self->s.pid, NULL, 0);
	self->s.pid = 0;
	for (i = 0; i < 3; i++) {
		EXPECT_TRUE(readable(ivshm_event_fd(d[i]), 2000));
		end = ms_now() + 2000;
		while (!log[i].gone && ms_now() < end)
			ivshm_process_events(d[i], 100);
		EXPECT_EQ(1, log[i].gone);
		r = ivshm_process_events(d[i], 100);
		EXPECT_EQ(-ECONNRESET, r);
		EXPECT_FALSE(readable(ivshm_event_fd(d[i]), 0));
		EXPECT_EQ(2, ivshm_peers(d[i], NULL, 0));
	}
	for (i = 0; i < 3; i++) {
		int to = (i + 1) % 3;

		for (int k = 0; k < NV; k++) {
			EXPECT_EQ(0, ivshm_ring(d[i], to, k));
			EXPECT_EQ(1, ivshm_wait(d[to], k, 1000));
		}
	}
	/* a peer closing now is not seen leaving, but ringing it is fine */
	ivshm_close(d[2]);
	EXPECT_EQ(0, ivshm_ring(d[0], 2, 0));
	/* nobody can join any more */
	errno = 0;
	EXPECT_EQ(NULL, ivshm_open(self->target, 0));
	EXPECT_TRUE(errno == ECONNREFUSED || errno == ENOENT)
		TH_LOG("errno %d", errno);
	ivshm_close(d[1]);
	ivshm_close(d[0]);
}

TEST_F(lib, no_fd_leak_over_cycles)
{
	struct ivshm_dev *keep, *d;
	int before, i;

	keep = ivshm_open(self->target, IVSHM_OPEN_VECTORS(NV));
	ASSERT_NE(NULL, keep);
	before = count_fds(getpid());
	for (i = 0; i < 20; i++) {
		d = ivshm_open(self->target, IVSHM_OPEN_VECTORS(NV));
		ASSERT_NE(NULL, d);
		ivshm_ring(d, 0, i % NV);
		ivshm_close(d);
		ivshm_process_events(keep, 0);
	}
	/* keep drops the last one's eventfds once it saw it leave */
	EXPECT_EQ(0, settle(keep, 0));
	EXPECT_EQ(before, count_fds(getpid()));
	ivshm_close(keep);
}

TEST_HARNESS_MAIN
