// SPDX-License-Identifier: GPL-2.0-only
/*
 * libivshm's API conventions (libivshm(7)): int and ssize_t calls return a
 * negative errno and leave errno alone, also when libc or a callback
 * changed it on the way; constructors return NULL and set errno only when
 * they fail; structs the library fills start with their size and can
 * grow; the version macros and the runtime version check agree.
 */
#include <sys/mman.h>

#include "kselftest_harness.h"
#include "server_helpers.h"

#include <ivshm.h>
#include "../../lib/sized.h"

#define SENTINEL	12345		/* no real errno has this value */
#define RSIZE		(256 * 1024)

/* Every call of @expr keeps errno at the sentinel and returns @want. */
#define EXPECT_KEEPS(want, expr) do {					\
	long got_;							\
	errno = SENTINEL;						\
	got_ = (long)(expr);						\
	EXPECT_EQ((long)(want), got_) TH_LOG("%s", #expr);		\
	EXPECT_EQ(SENTINEL, errno) TH_LOG("%s changed errno to %d",	\
					  #expr, errno);		\
} while (0)

FIXTURE(shm) {
	char path[64];
	char target[80];
	struct ivshm_dev *dev;
};

FIXTURE_SETUP(shm)
{
	int fd;

	snprintf(self->path, sizeof(self->path), "/dev/shm/ivshm-conv-%d",
		 (int)getpid());
	snprintf(self->target, sizeof(self->target), "shm:%s", self->path);
	fd = open(self->path, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	ASSERT_LE(0, fd);
	ASSERT_EQ(0, ftruncate(fd, RSIZE));
	close(fd);
	errno = SENTINEL;
	self->dev = ivshm_open(self->target, 0);
	ASSERT_NE(NULL, self->dev);
	/* a constructor that succeeds leaves errno alone too */
	EXPECT_EQ(SENTINEL, errno);
}

FIXTURE_TEARDOWN(shm)
{
	ivshm_close(self->dev);
	unlink(self->path);
}

/* Device calls that fail without reaching libc, and calls that succeed. */
TEST_F(shm, device_calls_keep_errno)
{
	struct ivshm_dev *d = self->dev;
	struct ivshm_sigctx c = { .size = sizeof(c) };
	struct ivshm_signal s = { .size = sizeof(s) };
	struct ivshm_fired f = { .size = sizeof(f) };

	EXPECT_KEEPS(-EOPNOTSUPP, ivshm_peer_id(d));
	EXPECT_KEEPS(-EOPNOTSUPP, ivshm_ring(d, 0, 0));
	EXPECT_KEEPS(-EOPNOTSUPP, ivshm_wait(d, 0, 0));
	EXPECT_KEEPS(-EOPNOTSUPP, ivshm_wait_any(d, &f, 1, 0));
	EXPECT_KEEPS(-EOPNOTSUPP, ivshm_vector_fd(d, 0));
	EXPECT_KEEPS(-EOPNOTSUPP, ivshm_all_fd(d));
	EXPECT_KEEPS(-EOPNOTSUPP, ivshm_peers(d, NULL, 0));
	EXPECT_KEEPS(-EOPNOTSUPP, ivshm_event_fd(d));
	EXPECT_KEEPS(-EOPNOTSUPP, ivshm_process_events(d, 0));
	EXPECT_KEEPS(-EOPNOTSUPP, ivshm_set_event_cb(d, NULL, NULL));
	EXPECT_KEEPS(-EOPNOTSUPP, ivshm_dev_signal(d, 0, 0, 0, &c, &s));
	EXPECT_KEEPS(-EINVAL, ivshm_dev_info(d, NULL));
	EXPECT_KEEPS(0, ivshm_vectors(d));
}

/* A constructor that fails sets errno; one that succeeds leaves it. */
TEST(constructors_set_errno_only_on_failure)
{
	static char mem[8192] __attribute__((aligned(64)));
	struct ivshm_region *r;
	struct ivshm_chan *c;

	errno = SENTINEL;
	EXPECT_EQ(NULL, ivshm_open("nonsense", 0));
	EXPECT_EQ(EINVAL, errno);
	errno = SENTINEL;
	EXPECT_EQ(NULL, ivshm_open("shm:/nonexistent/ivshm-conv", 0));
	EXPECT_EQ(ENOENT, errno);
	errno = SENTINEL;
	EXPECT_EQ(NULL, ivshm_region_open(mem, sizeof(mem)));
	EXPECT_EQ(EAGAIN, errno);		/* not formatted */
	errno = SENTINEL;
	r = ivshm_region_format(mem, sizeof(mem));
	ASSERT_NE(NULL, r);
	EXPECT_EQ(SENTINEL, errno);
	errno = SENTINEL;
	EXPECT_EQ(NULL, ivshm_chan_attach(r, "none", IVSHM_CHAN_CONSUMER,
					  NULL));
	EXPECT_EQ(ENOENT, errno);
	errno = SENTINEL;
	c = ivshm_chan_create(r, "c", 1024, IVSHM_CHAN_PRODUCER, NULL);
	ASSERT_NE(NULL, c);
	EXPECT_EQ(SENTINEL, errno);
	errno = SENTINEL;
	ivshm_chan_close(c);
	ivshm_region_close(r);
	EXPECT_EQ(SENTINEL, errno);
}

/* A signal whose callbacks change errno, as libc calls inside them may. */
static int clobber_notify(void *ctx)
{
	(void)ctx;
	errno = EIO;
	return -EIO;
}

static int clobber_wait(void *ctx, int timeout_ms)
{
	(void)ctx;
	errno = EINTR;
	usleep(timeout_ms > 0 ? 200 : 0);
	return -ETIMEDOUT;
}

static int clobber_alive(void *ctx)
{
	(void)ctx;
	errno = ENOENT;
	return 1;
}

static int count_cb(const void *data, size_t len, void *arg)
{
	(void)data;
	(void)len;
	(*(int *)arg)++;
	return 0;
}

/* Ring calls, int and ssize_t: failures, waits, and successes. */
TEST(ring_calls_keep_errno)
{
	static char mem[1 << 16] __attribute__((aligned(64)));
	struct ivshm_signal sig = {
		.size = sizeof(sig),
		.notify = clobber_notify,
		.wait = clobber_wait,
		.peer_alive = clobber_alive,
		.fd = -1,
	};
	struct ivshm_region *r;
	struct ivshm_chan *p, *c, *q;
	struct iovec iov = { .iov_base = "x", .iov_len = 1 };
	struct ivshm_chan_info ci = { .size = sizeof(ci) };
	struct ivshm_chan_stats st = { .size = sizeof(st) };
	char buf[64], big[1024] = "";
	const void *data;
	size_t len;
	void *slot;
	int n = 0;

	r = ivshm_region_format(mem, sizeof(mem));
	ASSERT_NE(NULL, r);
	p = ivshm_chan_create(r, "conv", 1024, IVSHM_CHAN_PRODUCER, &sig);
	ASSERT_NE(NULL, p);
	c = ivshm_chan_attach(r, "conv", IVSHM_CHAN_CONSUMER, &sig);
	ASSERT_NE(NULL, c);
	q = ivshm_chan_attach(r, "conv", IVSHM_CHAN_CONSUMER | IVSHM_CHAN_PRODUCER,
			      NULL);
	EXPECT_EQ(NULL, q);

	/* failures without waiting */
	EXPECT_KEEPS(-EMSGSIZE, ivshm_chan_send(p, big, sizeof(big), 0));
	EXPECT_KEEPS(-EINVAL, ivshm_chan_send(c, "x", 1, 0));
	EXPECT_KEEPS(-EINVAL, ivshm_chan_reserve(p, 0, &slot, 0));
	EXPECT_KEEPS(-EAGAIN, ivshm_chan_recv(c, buf, sizeof(buf), 0));
	EXPECT_KEEPS(-EAGAIN, ivshm_chan_peek(c, &data, &len, 0));
	EXPECT_KEEPS(-EAGAIN, ivshm_chan_recv_many(c, count_cb, &n, 8, 0));
	EXPECT_KEEPS(-EINVAL, ivshm_chan_set_spin(c, 2000000));
	EXPECT_KEEPS(-EINVAL, ivshm_chan_stats(c, NULL));
	EXPECT_KEEPS(-EINVAL, ivshm_region_avail(NULL));
	EXPECT_KEEPS(-ENODATA, ivshm_region_label(r, buf, sizeof(buf)));
	EXPECT_KEEPS(-EINVAL, ivshm_region_set_label(r, ".."));
	EXPECT_KEEPS(-EINVAL, ivshm_region_channels(NULL, &ci, 1));

	/* failures after a wait: nanosleep polling, and a signal's wait */
	EXPECT_KEEPS(0, ivshm_chan_set_spin(c, 0));
	EXPECT_KEEPS(-ETIMEDOUT, ivshm_chan_recv(c, buf, sizeof(buf), 5));
	EXPECT_KEEPS(-ETIMEDOUT, ivshm_chan_peek(c, &data, &len, 5));
	EXPECT_KEEPS(-ETIMEDOUT, ivshm_chan_recv_many(c, count_cb, &n, 8, 5));
	EXPECT_KEEPS(0, ivshm_chan_arm(c));	/* asks peer_alive */

	/* successes, with the consumer announced: notify is called */
	EXPECT_KEEPS(0, ivshm_chan_send(p, "hello", 5, 0));
	EXPECT_KEEPS(1, ivshm_chan_send_many(p, &iov, 1, 0));
	EXPECT_KEEPS(5, ivshm_chan_recv(c, buf, sizeof(buf), 0));
	EXPECT_KEEPS(1, ivshm_chan_recv_many(c, count_cb, &n, 8, 0));
	EXPECT_EQ(1, n);
	EXPECT_KEEPS(0, ivshm_chan_stats(c, &st));
	EXPECT_LE(1, ivshm_region_avail(r));
	EXPECT_KEEPS(1, ivshm_region_channels(r, &ci, 1));
	EXPECT_KEEPS(0, ivshm_region_set_label(r, "conv"));
	EXPECT_KEEPS(4, ivshm_region_label(r, buf, sizeof(buf)));

	errno = SENTINEL;
	ivshm_chan_close(c);		/* rings the producer: notify */
	ivshm_chan_close(p);
	ivshm_region_close(r);
	EXPECT_EQ(SENTINEL, errno);
}

/* ---- version ---------------------------------------------------------- */

TEST(version_macros_and_check)
{
	char want[32];

	snprintf(want, sizeof(want), "%d.%d.%d", IVSHM_VERSION_MAJOR,
		 IVSHM_VERSION_MINOR, IVSHM_VERSION_PATCH);
	EXPECT_STREQ(want, IVSHM_VERSION_STRING);
	EXPECT_STREQ(want, ivshm_version());
	EXPECT_EQ(IVSHM_VERSION_MAJOR, ivshm_version_major());
	EXPECT_EQ(IVSHM_VERSION_MINOR, ivshm_version_minor());

	/* compile time: this header against what a caller needs */
	EXPECT_TRUE(IVSHM_CHECK_VERSION(IVSHM_VERSION_MAJOR,
					IVSHM_VERSION_MINOR));
	EXPECT_TRUE(IVSHM_CHECK_VERSION(0, 0));
	EXPECT_FALSE(IVSHM_CHECK_VERSION(IVSHM_VERSION_MAJOR,
					 IVSHM_VERSION_MINOR + 1));
	EXPECT_FALSE(IVSHM_CHECK_VERSION(IVSHM_VERSION_MAJOR + 1, 0));

	/* run time: the library loaded against what the caller was built for */
	EXPECT_KEEPS(0, ivshm_version_check(IVSHM_VERSION_MAJOR,
					    IVSHM_VERSION_MINOR));
	EXPECT_KEEPS(0, ivshm_version_check(IVSHM_VERSION_MAJOR, 0));
	EXPECT_KEEPS(-ENOTSUP, ivshm_version_check(IVSHM_VERSION_MAJOR,
						   IVSHM_VERSION_MINOR + 1));
	EXPECT_KEEPS(-ENOTSUP, ivshm_version_check(IVSHM_VERSION_MAJOR + 1,
						   0));
	if (IVSHM_VERSION_MAJOR > 0)
		EXPECT_KEEPS(-ENOTSUP,
			     ivshm_version_check(IVSHM_VERSION_MAJOR - 1, 0));
	EXPECT_KEEPS(-EINVAL, ivshm_version_check(-1, 0));
	EXPECT_KEEPS(-EINVAL, ivshm_version_check(0, -1));
}

/* ---- structs that grow ------------------------------------------------ */

/*
 * The copy every filler goes through (lib/sized.h), with a version 2 of a
 * struct the library would know and a caller built against version 1: the
 * caller gets only the fields it has, learns how many bytes that was, and
 * nothing past its struct is written.
 */
struct demo_v1 {
	uint32_t size;
	uint32_t a;
	uint64_t b;
};

struct demo_v2 {
	uint32_t size;
	uint32_t a;
	uint64_t b;
	uint64_t c;		/* added in version 2 */
};

TEST(old_caller_gets_only_its_fields)
{
	struct demo_v2 full = { .size = sizeof(full), .a = 1, .b = 2, .c = 3 };
	unsigned char buf[sizeof(struct demo_v2)];
	struct demo_v1 *old = (struct demo_v1 *)buf;
	struct demo_v2 *big = (struct demo_v2 *)buf;

	memset(buf, 0xaa, sizeof(buf));
	old->size = sizeof(*old);
	sized_copy(buf, old->size, &full, sizeof(full));
	EXPECT_EQ(sizeof(*old), old->size);
	EXPECT_EQ(1, old->a);
	EXPECT_EQ(2, old->b);
	EXPECT_EQ(0xaaaaaaaaaaaaaaaaull, big->c);	/* not ours: untouched */

	/* a newer caller than the library: the library's bytes, its size */
	memset(buf, 0xaa, sizeof(buf));
	big->size = sizeof(*big);
	sized_copy(buf, big->size, (struct demo_v1 *)&full, sizeof(*old));
	EXPECT_EQ(sizeof(*old), big->size);
	EXPECT_EQ(2, big->b);
	EXPECT_EQ(0xaaaaaaaaaaaaaaaaull, big->c);
}

/* A caller's struct, bigger than the library's: the tail stays as it was. */
struct stats_next {
	struct ivshm_chan_stats st;
	uint64_t later;
};

struct info_next {
	struct ivshm_chan_info ci;
	uint64_t later;
};

struct signal_next {
	struct ivshm_signal sig;
	int (*later)(void *ctx);
};

#define CANARY	0x5a5a5a5a5a5a5a5aull

TEST(library_structs_grow)
{
	static char mem[1 << 16] __attribute__((aligned(64)));
	struct signal_next sn = {
		.sig = { .size = sizeof(sn), .fd = -1 },
		.later = (int (*)(void *))1,	/* a newer field: ignored */
	};
	struct ivshm_signal small = { .size = IVSHM_SIGNAL_SIZE_V1 - 1 };
	struct ivshm_chan_stats st;
	struct stats_next sx;
	struct info_next ix[2];
	struct ivshm_region *r;
	struct ivshm_chan *p, *c;

	r = ivshm_region_format(mem, sizeof(mem));
	ASSERT_NE(NULL, r);

	/* a signal smaller than version 1 is refused */
	errno = 0;
	EXPECT_EQ(NULL, ivshm_chan_create(r, "g", 1024, IVSHM_CHAN_PRODUCER,
					  &small));
	EXPECT_EQ(EINVAL, errno);
	/* a bigger one is read as far as the library knows it */
	p = ivshm_chan_create(r, "g", 1024, IVSHM_CHAN_PRODUCER, &sn.sig);
	ASSERT_NE(NULL, p);
	EXPECT_EQ(-EOPNOTSUPP, ivshm_chan_fd(p));	/* fd -1 was copied */
	c = ivshm_chan_attach(r, "g", IVSHM_CHAN_CONSUMER, NULL);
	ASSERT_NE(NULL, c);
	ASSERT_EQ(0, ivshm_chan_send(p, "x", 1, 0));

	/* stats: below version 1 refused and untouched; bigger: tail kept */
	memset(&st, 0xa5, sizeof(st));
	st.size = IVSHM_CHAN_STATS_SIZE_V1 - 8;
	EXPECT_EQ(-EINVAL, ivshm_chan_stats(p, &st));
	EXPECT_EQ(IVSHM_CHAN_STATS_SIZE_V1 - 8, st.size);
	memset(&sx, 0x5a, sizeof(sx));
	sx.st.size = sizeof(sx);
	EXPECT_EQ(0, ivshm_chan_stats(p, &sx.st));
	EXPECT_EQ(IVSHM_CHAN_STATS_SIZE_V1, sx.st.size);
	EXPECT_EQ(0, sx.st.waits);
	EXPECT_EQ(CANARY, sx.later);

	/* channel list: the first entry's size is the stride of the array */
	memset(ix, 0x5a, sizeof(ix));
	ix[0].ci.size = sizeof(ix[0]);
	EXPECT_EQ(1, ivshm_region_channels(r, &ix[0].ci, 2));
	EXPECT_EQ(IVSHM_CHAN_INFO_SIZE_V1, ix[0].ci.size);
	EXPECT_STREQ("g", ix[0].ci.name);
	EXPECT_EQ(IVSHM_CHAN_STATE_READY, ix[0].ci.state);
	EXPECT_EQ(16, ix[0].ci.queued);	/* header + 1 byte, padded to 8 */
	EXPECT_EQ(CANARY, ix[0].later);
	ix[0].ci.size = IVSHM_CHAN_INFO_SIZE_V1 - 1;
	EXPECT_EQ(-EINVAL, ivshm_region_channels(r, &ix[0].ci, 2));
	EXPECT_EQ(1, ivshm_region_channels(r, NULL, 0));

	ivshm_chan_close(c);
	ivshm_chan_close(p);
	ivshm_region_close(r);
}

TEST_F(shm, dev_info_grows)
{
	struct {
		struct ivshm_dev_info di;
		uint64_t later;
	} big;
	struct ivshm_dev_info small;

	memset(&big, 0x5a, sizeof(big));
	big.di.size = sizeof(big);
	EXPECT_EQ(0, ivshm_dev_info(self->dev, &big.di));
	EXPECT_EQ(IVSHM_INFO_SIZE_V1, big.di.size);
	EXPECT_EQ(IVSHM_BACKEND_SHM, big.di.backend);
	EXPECT_EQ(RSIZE, big.di.mem_size);
	EXPECT_EQ(CANARY, big.later);
	memset(&small, 0xa5, sizeof(small));
	small.size = IVSHM_INFO_SIZE_V1 - 8;
	EXPECT_EQ(-EINVAL, ivshm_dev_info(self->dev, &small));
	EXPECT_EQ(0xa5a5a5a5a5a5a5a5ull, small.mem_size);
}

TEST(list_entry_size)
{
	struct ivshm_devinfo *l = NULL;

	EXPECT_EQ(-EINVAL, ivshm_list(&l, IVSHM_DEVINFO_SIZE_V1 - 8));
	EXPECT_EQ(NULL, l);
	/* a bigger entry is a stride the library honours (no devices here) */
	EXPECT_EQ(0, ivshm_list(&l, IVSHM_DEVINFO_SIZE_V1 + 8));
	ASSERT_NE(NULL, l);
	EXPECT_EQ(NULL, l[0].name);		/* the zeroed end entry */
	ivshm_list_free(l);
}

/* The unix: backend, where libc calls fail inside successful calls. */
FIXTURE(srv) {
	struct srv s;
	char target[160];
};

FIXTURE_SETUP(srv)
{
	const char *args[] = { "-S", self->s.sock, "--memfd", "-l", "1M",
			       "-n", "2", NULL };

	ASSERT_EQ(0, srv_init(&self->s));
	ASSERT_EQ(0, access(server_bin(), X_OK))
		TH_LOG("no server binary at %s", server_bin());
	ASSERT_EQ(0, srv_start(&self->s, args));
	snprintf(self->target, sizeof(self->target), "unix:%s", self->s.sock);
}

FIXTURE_TEARDOWN(srv)
{
	srv_cleanup(&self->s);
}

static void on_event(struct ivshm_dev *dev, const struct ivshm_peer_event *ev,
		     void *arg)
{
	int *seen = arg;

	(void)dev;
	/* the library's memory: its size says which fields there are */
	if (ev->size == sizeof(*ev) && IVSHM_HAS_FIELD(ev, peer) &&
	    ev->type == IVSHM_PEER_JOIN)
		(*seen)++;
}

TEST_F(srv, events_and_fired_grow)
{
	struct {
		struct ivshm_fired f;
		uint64_t later;
	} fx[2];
	struct ivshm_dev *a, *b;
	uint64_t end;
	int seen = 0;

	a = ivshm_open(self->target, IVSHM_OPEN_VECTORS(2));
	ASSERT_NE(NULL, a);
	ASSERT_EQ(0, ivshm_set_event_cb(a, on_event, &seen));
	b = ivshm_open(self->target, IVSHM_OPEN_VECTORS(2));
	ASSERT_NE(NULL, b);
	end = ms_now() + 5000;
	while (!seen && ms_now() < end)
		ivshm_process_events(a, 100);
	EXPECT_EQ(1, seen);

	/* ring both our vectors; records at the caller's stride */
	ASSERT_EQ(0, ivshm_ring(b, ivshm_peer_id(a), 0));
	ASSERT_EQ(0, ivshm_ring(b, ivshm_peer_id(a), 1));
	memset(fx, 0x5a, sizeof(fx));
	fx[0].f.size = sizeof(fx[0]);
	usleep(20000);
	ASSERT_EQ(2, ivshm_wait_any(a, &fx[0].f, 2, 1000));
	EXPECT_EQ(IVSHM_FIRED_SIZE_V1, fx[0].f.size);
	EXPECT_EQ(IVSHM_FIRED_SIZE_V1, fx[1].f.size);
	EXPECT_EQ(0, fx[0].f.vector);
	EXPECT_EQ(1, fx[1].f.vector);
	EXPECT_EQ(1, fx[1].f.count);
	EXPECT_EQ(CANARY, fx[0].later);
	EXPECT_EQ(CANARY, fx[1].later);
	fx[0].f.size = IVSHM_FIRED_SIZE_V1 - 1;
	EXPECT_EQ(-EINVAL, ivshm_wait_any(a, &fx[0].f, 2, 0));
	ivshm_close(b);
	ivshm_close(a);
}

TEST_F(srv, unix_calls_keep_errno)
{
	struct ivshm_fired f[2] = { { .size = sizeof(f[0]) } };
	struct ivshm_dev *d;
	struct ivshm_sigctx ctx = { .size = sizeof(ctx) };
	struct ivshm_signal sig = { .size = sizeof(sig) };
	uint16_t ids[4];
	int me;

	errno = SENTINEL;
	d = ivshm_open(self->target, IVSHM_OPEN_VECTORS(2));
	ASSERT_NE(NULL, d) TH_LOG("open: %s", strerror(errno));
	EXPECT_EQ(SENTINEL, errno);
	me = ivshm_peer_id(d);
	ASSERT_LE(0, me);

	/* nothing pending: the eventfd read fails with EAGAIN inside */
	EXPECT_KEEPS(-ETIMEDOUT, ivshm_wait(d, 0, 0));
	EXPECT_KEEPS(-ETIMEDOUT, ivshm_wait(d, 1, 5));
	EXPECT_KEEPS(-ETIMEDOUT, ivshm_wait_any(d, f, 2, 5));
	EXPECT_KEEPS(-EINVAL, ivshm_wait(d, 2, 0));
	EXPECT_KEEPS(-ENXIO, ivshm_ring(d, me + 1000, 0));
	EXPECT_KEEPS(0, ivshm_process_events(d, 0));
	EXPECT_KEEPS(0, ivshm_peers(d, ids, 4));
	EXPECT_KEEPS(0, ivshm_dev_signal(d, me, 0, 1, &ctx, &sig));
	/* ring ourselves, then consume: success after a failed read */
	EXPECT_KEEPS(0, ivshm_ring(d, me, 1));
	EXPECT_KEEPS(1, ivshm_wait(d, 1, 1000));
	EXPECT_KEEPS(0, ivshm_ring(d, me, 0));
	EXPECT_KEEPS(1, ivshm_wait_any(d, f, 2, 1000));
	EXPECT_EQ(0, f[0].vector);
	EXPECT_KEEPS(1, sig.peer_alive ? sig.peer_alive(sig.ctx) : 1);
	errno = SENTINEL;
	ivshm_close(d);
	EXPECT_EQ(SENTINEL, errno);
}

TEST(list_keeps_errno)
{
	struct ivshm_devinfo *l = NULL;

	EXPECT_KEEPS(-EINVAL, ivshm_list(NULL, sizeof(*l)));
	EXPECT_KEEPS(0, ivshm_list(&l, sizeof(*l)));	/* no devices on a host */
	ivshm_list_free(l);
}

TEST_HARNESS_MAIN
