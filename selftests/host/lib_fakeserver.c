// SPDX-License-Identifier: GPL-2.0-only
/*
 * libivshm unix: handshake against a fake server (a child process of the
 * test) that breaks the protocol in every way we know: each open must fail
 * with the right errno, in bounded time, without leaking an fd.
 */
#include <pthread.h>
#include <sys/eventfd.h>

#include "kselftest_harness.h"
#include "server_helpers.h"

#include <ivshm.h>

/*
 * What a message carries: nothing, the memory, an eventfd, two eventfds,
 * an empty memory, a full pipe (the read end kept open, never read), a
 * blocking eventfd whose counter is one below its maximum (a write of 1
 * blocks until someone reads it).
 */
enum { NOFD, SHMFD, EFD, TWOFDS, SHM0, PIPEFULL, SATEFD,
       SHMHINT,		/* the memory, a memfd named as ivshm-server names
			 * it: "ivshmem:vectors=2" */
       SHMBADHINT,	/* a memfd named "ivshmem:vectors=2x" */
       DELAY };		/* no message: the server pauses val ms */

struct msg {
	int64_t val;
	int fd;
};

/* A pipe whose write end would block: the write end (read end leaked). */
static int full_pipe(void)
{
	int p[2], fl;

	if (pipe2(p, O_CLOEXEC) < 0)
		_exit(4);
	fl = fcntl(p[1], F_GETFL);
	fcntl(p[1], F_SETFL, fl | O_NONBLOCK);
	while (write(p[1], "xxxxxxxxxxxxxxxx", 16) > 0)
		;
	fcntl(p[1], F_SETFL, fl);	/* shared with the receiver's copy */
	return p[1];
}

static int saturated_eventfd(void)
{
	uint64_t v = UINT64_MAX - 1;
	int fd = eventfd(0, EFD_CLOEXEC);

	if (fd < 0 || write(fd, &v, sizeof(v)) != sizeof(v))
		_exit(4);
	return fd;
}

#define END	{ INT64_MIN, 0 }

static void send_one(int s, int64_t val, int kind)
{
	union {
		struct cmsghdr h;
		char buf[CMSG_SPACE(sizeof(int) * 2)];
	} cm;
	unsigned char b[8];
	struct iovec iov = { b, 8 };
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1 };
	int fds[2] = { -1, -1 }, nfd = 0, i;

	for (i = 0; i < 8; i++)
		b[i] = (unsigned char)((uint64_t)val >> (8 * i));
	switch (kind) {
	case DELAY:
		usleep((useconds_t)val * 1000);
		return;
	case SHMHINT:
	case SHMBADHINT:
		fds[0] = memfd_create(kind == SHMHINT ? "ivshmem:vectors=2" :
				      "ivshmem:vectors=2x", MFD_CLOEXEC);
		if (ftruncate(fds[0], 65536) < 0)
			_exit(3);
		nfd = 1;
		break;
	case SHMFD:
	case SHM0:
		fds[0] = memfd_create("fake", MFD_CLOEXEC);
		if (kind == SHMFD && ftruncate(fds[0], 65536) < 0)
			_exit(3);
		nfd = 1;
		break;
	case EFD:
		fds[0] = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
		nfd = 1;
		break;
	case TWOFDS:
		fds[0] = eventfd(0, EFD_CLOEXEC);
		fds[1] = eventfd(0, EFD_CLOEXEC);
		nfd = 2;
		break;
	case PIPEFULL:
		fds[0] = full_pipe();
		nfd = 1;
		break;
	case SATEFD:
		fds[0] = saturated_eventfd();
		nfd = 1;
		break;
	}
	if (nfd) {
		struct cmsghdr *c;

		memset(&cm, 0, sizeof(cm));
		mh.msg_control = cm.buf;
		mh.msg_controllen = CMSG_SPACE(sizeof(int) * nfd);
		c = CMSG_FIRSTHDR(&mh);
		c->cmsg_level = SOL_SOCKET;
		c->cmsg_type = SCM_RIGHTS;
		c->cmsg_len = CMSG_LEN(sizeof(int) * nfd);
		memcpy(CMSG_DATA(c), fds, sizeof(int) * nfd);
	}
	if (sendmsg(s, &mh, MSG_NOSIGNAL) != 8)
		_exit(2);
	for (i = 0; i < nfd; i++)
		close(fds[i]);
}

FIXTURE(fake) {
	char dir[64];
	char sock[128];
	char target[160];
	int lfd;
	pid_t child;
};

FIXTURE_SETUP(fake)
{
	struct sockaddr_un sun = { .sun_family = AF_UNIX };

	strcpy(self->dir, "/tmp/ivshm-fake.XXXXXX");
	ASSERT_NE(NULL, mkdtemp(self->dir));
	snprintf(self->sock, sizeof(self->sock), "%s/sock", self->dir);
	snprintf(self->target, sizeof(self->target), "unix:%s", self->sock);
	strcpy(sun.sun_path, self->sock);
	self->lfd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	ASSERT_LE(0, self->lfd);
	ASSERT_EQ(0, bind(self->lfd, (struct sockaddr *)&sun, sizeof(sun)));
	ASSERT_EQ(0, listen(self->lfd, 4));
	self->child = 0;
}

FIXTURE_TEARDOWN(fake)
{
	if (self->child > 0) {
		kill(self->child, SIGKILL);
		waitpid(self->child, NULL, 0);
	}
	if (self->lfd >= 0)
		close(self->lfd);
	unlink(self->sock);
	rmdir(self->dir);
}

/*
 * Serve one client with @script (raw bytes if @raw), then keep the
 * connection open until the client closes it (or close it at once if
 * @hangup).  The parent's copy of the listening socket is closed.
 */
static pid_t serve(int lfd, const struct msg *script, const char *raw,
		   size_t rawlen, bool hangup)
{
	pid_t pid = fork();

	if (pid == 0) {
		int c = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
		char b;

		if (c < 0)
			_exit(1);
		if (raw && write(c, raw, rawlen) != (ssize_t)rawlen)
			_exit(2);
		for (; script && script->val != INT64_MIN; script++)
			send_one(c, script->val, script->fd);
		if (!hangup) {
			struct pollfd p = { .fd = c, .events = POLLIN };

			poll(&p, 1, 20000);
			while (read(c, &b, 1) > 0)
				;
		}
		close(c);
		_exit(0);
	}
	close(lfd);
	return pid;
}

/* Open against the fake; returns errno (0 if it opened), checks fds. */
static int try_open(struct __test_metadata *_metadata,
		    FIXTURE_DATA(fake) *self, const struct msg *script,
		    const char *raw, size_t rawlen, bool hangup,
		    unsigned int flags, uint64_t *ms)
{
	struct ivshm_dev *d;
	uint64_t t0;
	int before, err;

	self->child = serve(self->lfd, script, raw, rawlen, hangup);
	self->lfd = -1;
	EXPECT_LT(0, self->child);
	before = count_fds(getpid());
	t0 = ms_now();
	errno = 0;
	d = ivshm_open(self->target, flags);
	err = d ? 0 : errno;
	if (ms)
		*ms = ms_now() - t0;
	if (d)
		return 0;
	EXPECT_EQ(before, count_fds(getpid())) TH_LOG("fd leak");
	return err;
}

#define OPEN_FAILS(script, flags) \
	try_open(_metadata, self, script, NULL, 0, false, flags, NULL)

TEST_F(fake, wrong_version)
{
	const struct msg s[] = { { 1, NOFD }, { 0, NOFD }, { -1, SHMFD }, END };

	EXPECT_EQ(EPROTO, OPEN_FAILS(s, 0));
}

TEST_F(fake, version_with_fd)
{
	const struct msg s[] = { { 0, EFD }, { 0, NOFD }, { -1, SHMFD }, END };

	EXPECT_EQ(EPROTO, OPEN_FAILS(s, 0));
}

TEST_F(fake, id_negative)
{
	const struct msg s[] = { { 0, NOFD }, { -5, NOFD }, { -1, SHMFD }, END };

	EXPECT_EQ(EPROTO, OPEN_FAILS(s, 0));
}

TEST_F(fake, id_too_big)
{
	const struct msg s[] = { { 0, NOFD }, { 70000, NOFD }, { -1, SHMFD },
				 END };

	EXPECT_EQ(EPROTO, OPEN_FAILS(s, 0));
}

TEST_F(fake, id_with_fd)
{
	const struct msg s[] = { { 0, NOFD }, { 3, EFD }, { -1, SHMFD }, END };

	EXPECT_EQ(EPROTO, OPEN_FAILS(s, 0));
}

TEST_F(fake, missing_shm_fd)
{
	const struct msg s[] = { { 0, NOFD }, { 3, NOFD }, { -1, NOFD },
				 { 3, EFD }, END };

	EXPECT_EQ(EPROTO, OPEN_FAILS(s, 0));
}

TEST_F(fake, eventfd_instead_of_shm)
{
	const struct msg s[] = { { 0, NOFD }, { 3, NOFD }, { 3, EFD }, END };

	EXPECT_EQ(EPROTO, OPEN_FAILS(s, 0));
}

TEST_F(fake, empty_shm)
{
	const struct msg s[] = { { 0, NOFD }, { 3, NOFD }, { -1, SHM0 },
				 { 3, EFD }, END };

	EXPECT_EQ(EPROTO, OPEN_FAILS(s, 0));
}

TEST_F(fake, second_shm_fd)
{
	const struct msg s[] = { { 0, NOFD }, { 3, NOFD }, { -1, SHMFD },
				 { 1, EFD }, { -1, SHMFD }, { 3, EFD }, END };

	EXPECT_EQ(EPROTO, OPEN_FAILS(s, 0));
}

TEST_F(fake, two_fds_on_one_message)
{
	const struct msg s[] = { { 0, NOFD }, { 3, NOFD }, { -1, SHMFD },
				 { 1, TWOFDS }, { 3, EFD }, END };

	EXPECT_EQ(EPROTO, OPEN_FAILS(s, 0));
}

TEST_F(fake, peer_id_out_of_range_with_fd)
{
	const struct msg s[] = { { 0, NOFD }, { 3, NOFD }, { -1, SHMFD },
				 { 70000, EFD }, { 3, EFD }, END };

	EXPECT_EQ(EPROTO, OPEN_FAILS(s, 0));
}

TEST_F(fake, own_id_without_fd)
{
	const struct msg s[] = { { 0, NOFD }, { 3, NOFD }, { -1, SHMFD },
				 { 3, NOFD }, END };

	EXPECT_EQ(EPROTO, OPEN_FAILS(s, 0));
}

TEST_F(fake, truncated_message)
{
	static const char three[3] = { 0, 0, 0 };

	EXPECT_EQ(EPROTO, try_open(_metadata, self, NULL, three, 3, true, 0,
				   NULL));
}

TEST_F(fake, eof_after_id)
{
	const struct msg s[] = { { 0, NOFD }, { 3, NOFD }, END };

	EXPECT_EQ(ECONNRESET, try_open(_metadata, self, s, NULL, 0, true, 0,
				       NULL));
}

TEST_F(fake, eof_before_own_fds)
{
	const struct msg s[] = { { 0, NOFD }, { 3, NOFD }, { -1, SHMFD },
				 { 1, EFD }, { 1, EFD }, END };

	EXPECT_EQ(ECONNRESET, try_open(_metadata, self, s, NULL, 0, true, 0,
				       NULL));
}

/* Our own "eventfd" is a pipe: refused, the handshake fails. */
TEST_F(fake, pipe_as_own_eventfd)
{
	const struct msg s[] = { { 0, NOFD }, { 3, NOFD }, { -1, SHMFD },
				 { 3, PIPEFULL }, END };

	EXPECT_EQ(EPROTO, OPEN_FAILS(s, IVSHM_OPEN_VECTORS(1)));
}

/* Peers announced, our own eventfds never come: the deadline. */
TEST_F(fake, never_finishes)
{
	const struct msg s[] = { { 0, NOFD }, { 3, NOFD }, { -1, SHMFD },
				 { 1, EFD }, { 1, EFD }, END };
	uint64_t ms;

	EXPECT_EQ(ETIMEDOUT, try_open(_metadata, self, s, NULL, 0, false, 0,
				      &ms));
	EXPECT_LE(IVSHM_HANDSHAKE_TIMEOUT_MS - 100, ms);
	EXPECT_GE(IVSHM_HANDSHAKE_TIMEOUT_MS + 1500, ms);
}

TEST_F(fake, silent_server)
{
	uint64_t ms;

	EXPECT_EQ(ETIMEDOUT, try_open(_metadata, self, NULL, NULL, 0, false,
				      IVSHM_OPEN_VECTORS(2), &ms));
	EXPECT_LE(IVSHM_HANDSHAKE_TIMEOUT_MS - 100, ms);
	EXPECT_GE(IVSHM_HANDSHAKE_TIMEOUT_MS + 1500, ms);
}

/*
 * A correct handshake: peer 1 with two vectors, then our own two and one
 * too many for a one-vector client: the extras are closed, and leaving
 * frees everything.
 */
TEST_F(fake, valid_handshake_extras_closed)
{
	const struct msg s[] = { { 0, NOFD }, { 3, NOFD }, { -1, SHMFD },
				 { 1, EFD }, { 1, EFD }, { 3, EFD }, { 3, EFD },
				 { 7, EFD }, { 7, EFD }, { 1, NOFD },
				 { 99, NOFD }, { -1, SHMFD }, END };
	struct ivshm_dev *d;
	uint16_t ids[4];
	int before, n;

	self->child = serve(self->lfd, s, NULL, 0, false);
	self->lfd = -1;
	before = count_fds(getpid());
	d = ivshm_open(self->target, IVSHM_OPEN_VECTORS(1));
	ASSERT_NE(NULL, d) TH_LOG("open: %s", strerror(errno));
	EXPECT_EQ(3, ivshm_peer_id(d));
	EXPECT_EQ(1, ivshm_vectors(d));
	EXPECT_EQ(65536, ivshm_size(d));
	/* later messages: 7 joins, 1 leaves, junk ignored */
	for (n = 0; n < 10; n++)
		ivshm_process_events(d, 50);
	n = ivshm_peers(d, ids, 4);
	EXPECT_EQ(1, n);
	EXPECT_EQ(7, ids[0]);
	/* ours, 7's one vector, socket, event fds: nothing else kept */
	EXPECT_EQ(0, ivshm_ring(d, 7, 0));
	EXPECT_EQ(-ENXIO, ivshm_ring(d, 7, 1));
	ivshm_close(d);
	EXPECT_EQ(before, count_fds(getpid()));
}

/*
 * The vector count the handshake settles on, without IVSHM_OPEN_VECTORS:
 * each script sends two own eventfds, pauses 40 ms (less than the quiet
 * wait), then sends a third.  Where the count is known (the peers' count,
 * our server's memfd name) the open ends at two; where it is not (QEMU's
 * server alone), the quiet wait sees all three.
 */
static int settled_vectors(struct __test_metadata *_metadata,
			   FIXTURE_DATA(fake) *self, const struct msg *s)
{
	struct ivshm_dev *d;
	int n;

	unsetenv("IVSHM_VECTORS");
	self->child = serve(self->lfd, s, NULL, 0, false);
	self->lfd = -1;
	d = ivshm_open(self->target, 0);
	EXPECT_NE(NULL, d) TH_LOG("open: %s", strerror(errno));
	if (!d)
		return -1;
	n = ivshm_vectors(d);
	ivshm_close(d);
	return n;
}

TEST_F(fake, vectors_known_from_peers)
{
	const struct msg s[] = { { 0, NOFD }, { 3, NOFD }, { -1, SHMFD },
				 { 1, EFD }, { 1, EFD }, { 5, EFD }, { 5, EFD },
				 { 3, EFD }, { 3, EFD }, { 40, DELAY },
				 { 3, EFD }, END };

	EXPECT_EQ(2, settled_vectors(_metadata, self, s));
}

TEST_F(fake, vectors_known_from_memfd_name)
{
	const struct msg s[] = { { 0, NOFD }, { 0, NOFD }, { -1, SHMHINT },
				 { 0, EFD }, { 0, EFD }, { 40, DELAY },
				 { 0, EFD }, END };

	EXPECT_EQ(2, settled_vectors(_metadata, self, s));
}

/* Nothing to go by: the quiet wait, as before (QEMU's server alone). */
TEST_F(fake, vectors_unknown_alone)
{
	const struct msg s[] = { { 0, NOFD }, { 0, NOFD }, { -1, SHMFD },
				 { 0, EFD }, { 0, EFD }, { 40, DELAY },
				 { 0, EFD }, END };

	EXPECT_EQ(3, settled_vectors(_metadata, self, s));
}

TEST_F(fake, vectors_unknown_bad_hint)
{
	const struct msg s[] = { { 0, NOFD }, { 0, NOFD }, { -1, SHMBADHINT },
				 { 0, EFD }, { 0, EFD }, { 40, DELAY },
				 { 0, EFD }, END };

	EXPECT_EQ(3, settled_vectors(_metadata, self, s));
}

/* Peers that disagree prove nothing: the quiet wait again. */
TEST_F(fake, vectors_unknown_peers_disagree)
{
	const struct msg s[] = { { 0, NOFD }, { 3, NOFD }, { -1, SHMFD },
				 { 1, EFD }, { 5, EFD }, { 5, EFD },
				 { 3, EFD }, { 3, EFD }, { 40, DELAY },
				 { 3, EFD }, END };

	EXPECT_EQ(3, settled_vectors(_metadata, self, s));
}

/* ivshm_ring() on another thread; its result, or 1 if it did not return. */
struct ring_call {
	struct ivshm_dev *d;
	unsigned int peer;
	int ret;
};

static void *ring_main(void *arg)
{
	struct ring_call *rc = arg;

	rc->ret = ivshm_ring(rc->d, rc->peer, 0);
	return NULL;
}

static int ring_within(struct ivshm_dev *d, unsigned int peer, int ms)
{
	struct ring_call rc = { d, peer, 1 };
	struct timespec ts;
	pthread_t t;

	if (pthread_create(&t, NULL, ring_main, &rc))
		return 2;
	clock_gettime(CLOCK_REALTIME, &ts);
	ts.tv_sec += ms / 1000;
	ts.tv_nsec += (ms % 1000) * 1000000L;
	if (ts.tv_nsec >= 1000000000L) {
		ts.tv_sec++;
		ts.tv_nsec -= 1000000000L;
	}
	if (pthread_timedjoin_np(t, NULL, &ts))
		return 1;	/* still blocked: leave it */
	return rc.ret;
}

/* A server handing over peer 1's "eventfd", then good peer 2 and ours. */
static struct ivshm_dev *open_with_peer1(struct __test_metadata *_metadata,
					 FIXTURE_DATA(fake) *self, int kind)
{
	const struct msg s[] = { { 0, NOFD }, { 3, NOFD }, { -1, SHMFD },
				 { 1, kind }, { 2, EFD }, { 3, EFD }, END };
	struct ivshm_dev *d;

	self->child = serve(self->lfd, s, NULL, 0, false);
	self->lfd = -1;
	d = ivshm_open(self->target, IVSHM_OPEN_VECTORS(1));
	EXPECT_NE(NULL, d) TH_LOG("open: %s", strerror(errno));
	return d;
}

/*
 * A pipe instead of peer 1's eventfd: refused (the peer is ignored),
 * ringing it fails at once instead of blocking with the library's lock
 * held, and ringing the other peers still works.
 */
TEST_F(fake, pipe_as_peer_eventfd)
{
	struct ivshm_dev *d = open_with_peer1(_metadata, self, PIPEFULL);
	uint16_t ids[4];

	ASSERT_NE(NULL, d);
	EXPECT_EQ(-EPROTO, ring_within(d, 1, 2000))
		TH_LOG("ringing a peer whose fd is a pipe must fail at once");
	EXPECT_EQ(0, ring_within(d, 2, 2000));
	EXPECT_EQ(1, ivshm_peers(d, ids, 4));
	EXPECT_EQ(2, ids[0]);
	ivshm_close(d);
}

/*
 * A blocking eventfd one below its maximum count: the library makes peer
 * fds non-blocking, so ringing returns (a saturated counter wakes the
 * peer anyway) instead of blocking until the peer reads.
 */
TEST_F(fake, blocking_saturated_eventfd)
{
	struct ivshm_dev *d = open_with_peer1(_metadata, self, SATEFD);

	ASSERT_NE(NULL, d);
	EXPECT_EQ(0, ring_within(d, 1, 2000));
	EXPECT_EQ(0, ring_within(d, 1, 2000));
	ivshm_close(d);
}

/* A consumer that sleeps in 10 ms naps and ignores doorbells. */
static int nap_wait(void *ctx, int timeout_ms)
{
	usleep(10000);
	return 0;
}

struct recv_call {
	struct ivshm_chan *c;
	ssize_t ret;
};

static void *recv_main(void *arg)
{
	struct recv_call *rc = arg;
	char buf[64];

	rc->ret = ivshm_chan_recv(rc->c, buf, sizeof(buf), 3000);
	return NULL;
}

/*
 * The ring notification path: a producer whose doorbell goes to the peer
 * with the pipe.  Its commit must not block when the consumer sleeps.
 */
TEST_F(fake, pipe_peer_ring_notification)
{
	struct ivshm_dev *d = open_with_peer1(_metadata, self, PIPEFULL);
	struct ivshm_signal psig = { .size = sizeof(psig) };
	struct ivshm_signal csig = {
		.size = sizeof(csig), .wait = nap_wait, .fd = -1,
	};
	struct recv_call rc = { NULL, 1 };
	struct ivshm_sigctx ctx = { .size = sizeof(ctx) };
	struct ivshm_region *r;
	struct ivshm_chan *p;
	uint64_t t0;
	pthread_t t;

	ASSERT_NE(NULL, d);
	r = ivshm_region_format(ivshm_base(d), ivshm_size(d));
	ASSERT_NE(NULL, r);
	ASSERT_EQ(0, ivshm_dev_signal(d, 1, 0, 0, &ctx, &psig));
	p = ivshm_chan_create(r, "c", 4096, IVSHM_CHAN_PRODUCER, &psig);
	ASSERT_NE(NULL, p);
	rc.c = ivshm_chan_attach(r, "c", IVSHM_CHAN_CONSUMER, &csig);
	ASSERT_NE(NULL, rc.c);
	ASSERT_EQ(0, ivshm_chan_set_spin(rc.c, 0));
	ASSERT_EQ(0, pthread_create(&t, NULL, recv_main, &rc));
	usleep(100000);			/* the consumer announced sleep */
	t0 = ms_now();
	EXPECT_EQ(0, ivshm_chan_send(p, "hello", 5, 0));
	EXPECT_GT(1000, ms_now() - t0) TH_LOG("the commit blocked");
	pthread_join(t, NULL);
	EXPECT_EQ(5, rc.ret);
	ivshm_chan_close(rc.c);
	ivshm_chan_close(p);
	ivshm_region_close(r);
	ivshm_close(d);
}

TEST_HARNESS_MAIN
