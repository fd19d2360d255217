// SPDX-License-Identifier: GPL-2.0-only
/*
 * libivshm host backends against hostile or careless peers of a real
 * ivshm-server: a peer that truncates the shared memory under a library
 * user, whether the library reports the memory as protected, a flood of
 * peer events that the application never reads, more peers than the
 * usual fd limit allows.
 */
#include <malloc.h>
#include <pthread.h>
#include <stdatomic.h>
#include <sys/epoll.h>

#include "kselftest_harness.h"
#include "server_helpers.h"

#include <ivshm.h>

#define MEM_SIZE	(1u << 20)

FIXTURE(srv) {
	struct srv s;
	char target[160];
};

FIXTURE_SETUP(srv)
{
	signal(SIGPIPE, SIG_IGN);
	ASSERT_EQ(0, srv_init(&self->s));
	ASSERT_EQ(0, access(server_bin(), X_OK))
		TH_LOG("no server binary at %s", server_bin());
	snprintf(self->target, sizeof(self->target), "unix:%s", self->s.sock);
}

FIXTURE_TEARDOWN(srv)
{
	srv_cleanup(&self->s);
}

/*
 * A library user in a child process: opens @target, says so on @ready,
 * then reads all of the memory for @ms.  Exits 0, or dies of a signal.
 */
static pid_t reader(const char *target, int ready, int ms)
{
	pid_t pid = fork();

	if (pid == 0) {
		struct ivshm_dev *d = ivshm_open(target, IVSHM_OPEN_VECTORS(1));
		const volatile uint64_t *m;
		uint64_t end, sum = 0;
		size_t i;

		if (!d)
			_exit(10);
		if (write(ready, "r", 1) != 1)
			_exit(11);
		m = ivshm_base(d);
		end = ms_now() + ms;
		while (ms_now() < end)
			for (i = 0; i < ivshm_size(d) / 8; i += 512)
				sum += m[i];
		ivshm_close(d);
		_exit(sum == 1 ? 12 : 0);
	}
	return pid;
}

/*
 * The default memory of ivshm-server: another peer, holding the same fd,
 * tries to shrink it to nothing while a library user reads it.  The seals
 * refuse (EPERM) and the reader survives.
 */
TEST_F(srv, truncate_default_memory)
{
	const char *args[] = { "-S", self->s.sock, "-l", "1M", NULL };
	struct stat st;
	struct cl c;
	int p[2], st_r;
	char b;
	pid_t pid;

	ASSERT_EQ(0, srv_start(&self->s, args));
	ASSERT_EQ(0, pipe2(p, O_CLOEXEC));
	pid = reader(self->target, p[1], 400);
	ASSERT_LT(0, pid);
	close(p[1]);
	ASSERT_EQ(1, read(p[0], &b, 1));
	close(p[0]);
	ASSERT_EQ(0, cl_open(&c, self->s.sock, 1));
	EXPECT_EQ(-1, ftruncate(c.shm, 0));
	EXPECT_EQ(EPERM, errno);
	usleep(100000);		/* the reader reads on */
	EXPECT_EQ(-1, ftruncate(c.shm, MEM_SIZE / 2));
	EXPECT_EQ(-1, ftruncate(c.shm, 2 * MEM_SIZE));
	/* Punching a hole is allowed, and harmless: the pages read 0. */
	EXPECT_EQ(0, fallocate(c.shm, FALLOC_FL_PUNCH_HOLE |
			       FALLOC_FL_KEEP_SIZE, 0, MEM_SIZE));
	ASSERT_EQ(0, fstat(c.shm, &st));
	EXPECT_EQ(MEM_SIZE, st.st_size);
	cl_close(&c);
	st_r = wait_exit(pid, 5000);
	EXPECT_TRUE(WIFEXITED(st_r)) {
		TH_LOG("the reader died of signal %d", WTERMSIG(st_r));
	}
	EXPECT_EQ(0, WEXITSTATUS(st_r));
}

static int info_of(const char *target, struct ivshm_dev_info *info)
{
	struct ivshm_dev *d = ivshm_open(target, 0);
	int ret;

	if (!d)
		return -errno;
	memset(info, 0xa5, sizeof(*info));
	info->size = sizeof(*info);
	ret = ivshm_dev_info(d, info);
	ivshm_close(d);
	return ret;
}

/* The default memory is reported sealed, a --shm-file one is not. */
TEST_F(srv, info_seals)
{
	const char *args[] = { "-S", self->s.sock, "-l", "1M", NULL };
	struct ivshm_dev_info info;

	ASSERT_EQ(0, srv_start(&self->s, args));
	ASSERT_EQ(0, info_of(self->target, &info));
	EXPECT_EQ(sizeof(info), info.size);
	EXPECT_EQ(IVSHM_BACKEND_UNIX, info.backend);
	EXPECT_EQ(MEM_SIZE, info.mem_size);
	EXPECT_TRUE(info.flags & IVSHM_INFO_DOORBELLS);
	EXPECT_TRUE(info.flags & IVSHM_INFO_SEALED);
	EXPECT_EQ(F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_SEAL,
		  info.seals & (F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_SEAL));
}

TEST_F(srv, info_unsealed_file)
{
	char path[140], target[160];
	const char *args[] = { "-S", self->s.sock, "--shm-file", path,
			       "-l", "1M", NULL };
	struct ivshm_dev_info info;

	snprintf(path, sizeof(path), "%s/file", self->s.dir);
	ASSERT_EQ(0, srv_start(&self->s, args));
	ASSERT_EQ(0, info_of(self->target, &info));
	EXPECT_FALSE(info.flags & IVSHM_INFO_SEALED);
	EXPECT_EQ(0, info.seals);
	snprintf(target, sizeof(target), "shm:%s", path);
	ASSERT_EQ(0, info_of(target, &info));
	EXPECT_EQ(IVSHM_BACKEND_SHM, info.backend);
	EXPECT_FALSE(info.flags & (IVSHM_INFO_SEALED | IVSHM_INFO_DOORBELLS));
}

/* shm: of a sealed memfd (through /proc): sealed too. */
TEST(info_shm_sealed_memfd)
{
	int fd = memfd_create("t", MFD_CLOEXEC | MFD_ALLOW_SEALING);
	struct ivshm_dev_info info;
	char target[64];

	ASSERT_LE(0, fd);
	ASSERT_EQ(0, ftruncate(fd, 65536));
	snprintf(target, sizeof(target), "shm:/proc/self/fd/%d", fd);
	ASSERT_EQ(0, info_of(target, &info));
	EXPECT_FALSE(info.flags & IVSHM_INFO_SEALED);
	ASSERT_EQ(0, fcntl(fd, F_ADD_SEALS, F_SEAL_SHRINK));
	ASSERT_EQ(0, info_of(target, &info));
	EXPECT_TRUE(info.flags & IVSHM_INFO_SEALED);
	EXPECT_EQ(F_SEAL_SHRINK, info.seals);
	close(fd);
}

/* An older caller's shorter struct: only what fits is written. */
TEST(info_short_struct)
{
	char path[] = "/dev/shm/ivshm-hostile-XXXXXX", target[64];
	struct ivshm_dev *d;
	struct ivshm_dev_info info;
	int fd = mkstemp(path);

	ASSERT_LE(0, fd);
	ASSERT_EQ(0, ftruncate(fd, 65536));
	close(fd);
	snprintf(target, sizeof(target), "shm:%s", path);
	d = ivshm_open(target, 0);
	unlink(path);
	ASSERT_NE(NULL, d);
	memset(&info, 0xa5, sizeof(info));
	info.size = 8;
	EXPECT_EQ(-EINVAL, ivshm_dev_info(d, &info));
	info.size = IVSHM_INFO_SIZE_V1;
	EXPECT_EQ(0, ivshm_dev_info(d, &info));
	EXPECT_EQ(IVSHM_INFO_SIZE_V1, info.size);
	info.size = sizeof(info) + 64;
	EXPECT_EQ(0, ivshm_dev_info(d, &info));
	EXPECT_EQ(sizeof(info), info.size);
	EXPECT_EQ(-EINVAL, ivshm_dev_info(d, NULL));
	ivshm_close(d);
}

#define FLOOD_CYCLES	5000

/* Bytes allocated by malloc, small and mmap()ed chunks alike. */
static size_t heap_used(void)
{
	struct mallinfo2 mi = mallinfo2();

	return mi.uordblks + mi.hblkhd;
}

struct seen {
	int n;
	int first_type;
	int last_type, last_peer;
};

static void count_cb(struct ivshm_dev *d, const struct ivshm_peer_event *ev,
		     void *arg)
{
	struct seen *s = arg;

	if (!s->n++)
		s->first_type = ev->type;
	s->last_type = ev->type;
	s->last_peer = ev->peer;
}

/*
 * Peers join and leave FLOOD_CYCLES times while the application sleeps on
 * a channel (which catches up with the server through peer_alive) but
 * never processes events: the queue keeps the newest ones only, its
 * memory stays bounded, and an overflow event comes first.
 */
TEST_F(srv, event_flood)
{
	const char *args[] = { "-S", self->s.sock, "-l", "64K", NULL };
	struct ivshm_signal sig = { .size = sizeof(sig) };
	struct ivshm_signal sig2 = { .size = sizeof(sig2) };
	struct ivshm_sigctx ctx = { .size = sizeof(ctx) };
	struct ivshm_sigctx ctx2 = { .size = sizeof(ctx2) };
	struct seen seen = { 0 };
	struct ivshm_dev *d;
	size_t before, after;
	int64_t last = -1;
	int i, n;

	ASSERT_EQ(0, srv_start(&self->s, args));
	d = ivshm_open(self->target, IVSHM_OPEN_VECTORS(1));
	ASSERT_NE(NULL, d);
	ASSERT_EQ(0, ivshm_dev_signal(d, ivshm_peer_id(d), 0, 0, &ctx, &sig));
	ASSERT_EQ(0, ivshm_set_event_cb(d, count_cb, &seen));
	before = heap_used();
	for (i = 0; i < FLOOD_CYCLES; i++) {
		struct cl c;

		ASSERT_EQ(0, cl_open(&c, self->s.sock, 1));
		last = c.id;
		cl_close(&c);
		EXPECT_EQ(1, sig.peer_alive(sig.ctx));	/* ourselves */
	}
	/* until the last departure has come in */
	ASSERT_EQ(0, ivshm_dev_signal(d, last, 0, 0, &ctx2, &sig2));
	for (i = 0; i < 500 && sig2.peer_alive(sig2.ctx) != 0; i++)
		usleep(10000);
	after = heap_used();
	EXPECT_GT(16384, (long)(after - before))
		TH_LOG("%zu bytes more after %d joins and leaves",
		       after - before, FLOOD_CYCLES);
	n = ivshm_process_events(d, 1000);
	EXPECT_EQ(IVSHM_EVENTS_MAX + 1, n);
	EXPECT_EQ(n, seen.n);
	EXPECT_EQ(IVSHM_EVENTS_DROPPED, seen.first_type);
	EXPECT_EQ(IVSHM_PEER_LEAVE, seen.last_type);
	EXPECT_EQ(last, seen.last_peer);
	/* the queue works on after an overflow */
	{
		struct cl c;

		ASSERT_EQ(0, cl_open(&c, self->s.sock, 1));
		memset(&seen, 0, sizeof(seen));
		EXPECT_EQ(1, ivshm_process_events(d, 2000));
		EXPECT_EQ(IVSHM_PEER_JOIN, seen.first_type);
		cl_close(&c);
	}
	ivshm_close(d);
}

/* ---- ringing a peer that leaves ---------------------------------------- */

struct ringer {
	struct ivshm_dev *d;
	_Atomic unsigned int peer;
	_Atomic bool stop;
	unsigned long rung;
};

static void *ringer_main(void *arg)
{
	struct ringer *r = arg;

	while (!atomic_load(&r->stop))
		if (ivshm_ring(r->d, atomic_load(&r->peer), 0) == 0)
			r->rung++;
	return NULL;
}

/*
 * ivshm_ring writes outside the handle's lock: a peer that leaves while
 * another thread rings it must not have its eventfds closed under the
 * write, or the write could land in whatever reuses the fd number.  A
 * peer joins and leaves repeatedly while a thread rings it; after each
 * departure, pipes take the lowest free fd numbers, and nothing may ever
 * be written into them.  The server gives each newcomer the next id, so
 * the thread rings the id the next one will get.
 */
TEST_F(srv, ring_while_peer_leaves)
{
	const char *args[] = { "-S", self->s.sock, "-l", "64K", "-n", "2",
			       NULL };
	struct ringer r = { 0 };
	struct ivshm_signal sig = { .size = sizeof(sig) };
	struct ivshm_sigctx ctx = { .size = sizeof(ctx) };
	unsigned long stray = 0;
	pthread_t t;
	int i, j;

	ASSERT_EQ(0, srv_start(&self->s, args));
	r.d = ivshm_open(self->target, IVSHM_OPEN_VECTORS(2));
	ASSERT_NE(NULL, r.d);
	r.peer = ivshm_peer_id(r.d) + 1;	/* the next one to join */
	ASSERT_EQ(0, pthread_create(&t, NULL, ringer_main, &r));
	for (i = 0; i < 300; i++) {
		unsigned int peer = ivshm_peer_id(r.d) + 1 + i;
		int p[4][2];
		struct cl c;
		char buf[64];

		atomic_store(&r.peer, peer);
		ASSERT_EQ(0, ivshm_dev_signal(r.d, peer, 0, 0, &ctx, &sig));
		ASSERT_EQ(0, cl_open(&c, self->s.sock, 2));
		ASSERT_EQ(peer, c.id);
		while (sig.peer_alive(sig.ctx) != 1)
			usleep(100);
		cl_close(&c);
		while (sig.peer_alive(sig.ctx) != 0)
			usleep(100);
		for (j = 0; j < 4; j++)
			ASSERT_EQ(0, pipe2(p[j], O_CLOEXEC | O_NONBLOCK));
		usleep(200);
		for (j = 0; j < 4; j++) {
			ssize_t n;

			while ((n = read(p[j][0], buf, sizeof(buf))) > 0)
				stray += n;
			close(p[j][0]);
			close(p[j][1]);
		}
	}
	atomic_store(&r.stop, true);
	pthread_join(t, NULL);
	EXPECT_EQ(0, stray) TH_LOG("%lu bytes rung into reused fds", stray);
	EXPECT_LT(0, r.rung);
	TH_LOG("%lu rings over 300 joins and leaves", r.rung);
	ivshm_close(r.d);
}

/* ---- many peers ------------------------------------------------------- */

#define CROWD		1000
#define CROWD_VECTORS	2

/*
 * A process holding CROWD connections to the server, reading (and
 * discarding: no control buffer, so the kernel drops the fds) everything
 * the server sends, until @quit is closed.  Writes one byte on @ready
 * once all are connected and the server has gone quiet.
 */
static pid_t crowd(const char *sock, int ready, int quit[2])
{
	pid_t pid = fork();
	struct rlimit rl;
	struct epoll_event ev, evs[64];
	uint64_t quiet;
	int ep, i, n, connected = 0;
	char buf[4096];

	if (pid)
		return pid;
	close(quit[1]);
	getrlimit(RLIMIT_NOFILE, &rl);
	rl.rlim_cur = rl.rlim_max;
	setrlimit(RLIMIT_NOFILE, &rl);
	ep = epoll_create1(EPOLL_CLOEXEC);
	ev.events = EPOLLIN;
	ev.data.fd = quit[0];
	epoll_ctl(ep, EPOLL_CTL_ADD, quit[0], &ev);
	quiet = ms_now() + 60000;
	for (;;) {
		if (connected < CROWD) {
			int c = cl_connect(sock);

			if (c < 0)
				_exit(20);
			ev.data.fd = c;
			epoll_ctl(ep, EPOLL_CTL_ADD, c, &ev);
			connected++;
		}
		n = epoll_wait(ep, evs, 64, connected < CROWD ? 0 : 200);
		if (n == 0 && connected == CROWD && quiet) {
			if (write(ready, "r", 1) != 1)
				_exit(21);
			quiet = 0;
		}
		for (i = 0; i < n; i++) {
			int fd = evs[i].data.fd;

			ssize_t k;

			if (fd == quit[0])
				_exit(0);
			while ((k = recv(fd, buf, sizeof(buf), MSG_DONTWAIT)) > 0)
				;
			if (k == 0)
				_exit(22);	/* the server hung up */
		}
	}
}

/* The CLI, found beside this test like cli_test does. */
static const char *cli_path(void)
{
	static char path[PATH_MAX + 32];
	char exe[PATH_MAX];
	ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);

	if (n < 0)
		return "ivshm";
	exe[n] = '\0';
	*strrchr(exe, '/') = '\0';
	snprintf(path, sizeof(path), "%s/../../tools/ivshm", exe);
	return path;
}

/*
 * In a child with RLIMIT_NOFILE @soft/@hard: open @target, expecting the
 * peers of the crowd.  Exit 0 when open succeeded with CROWD peers and a
 * raised soft limit, 1 when it failed with EMFILE without leaking an fd,
 * 10 + errno otherwise.
 */
static int join_under(const char *target, rlim_t soft, rlim_t hard)
{
	pid_t pid = fork();
	int st;

	if (pid == 0) {
		struct rlimit rl = { soft, hard };
		struct ivshm_dev *d;
		int before;

		if (setrlimit(RLIMIT_NOFILE, &rl))
			_exit(2);
		before = count_fds(getpid());
		d = ivshm_open(target, IVSHM_OPEN_VECTORS(CROWD_VECTORS));
		if (!d) {
			fprintf(stderr, "# open: %s\n", strerror(errno));
			_exit(errno == EMFILE && count_fds(getpid()) == before ?
			      1 : 10 + errno);
		}
		ivshm_process_events(d, 0);
		getrlimit(RLIMIT_NOFILE, &rl);
		fprintf(stderr, "# joined as peer %d beside %d peers, soft limit now %llu\n",
			ivshm_peer_id(d), ivshm_peers(d, NULL, 0),
			(unsigned long long)rl.rlim_cur);
		_exit(ivshm_peers(d, NULL, 0) == CROWD && rl.rlim_cur > soft ?
		      0 : 3);
	}
	st = wait_exit(pid, 60000);
	if (st == -1) {
		kill(pid, SIGKILL);
		waitpid(pid, NULL, 0);
	}
	return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

/* `ivshm info @target` under a hard limit of 1024: its stderr. */
static int cli_under_limit(const char *target, char *err, size_t len)
{
	int p[2], st;
	ssize_t n, got = 0;
	pid_t pid;

	if (pipe2(p, O_CLOEXEC))
		return -1;
	pid = fork();
	if (pid == 0) {
		struct rlimit rl = { 1024, 1024 };

		dup2(p[1], 2);
		setrlimit(RLIMIT_NOFILE, &rl);
		execl(cli_path(), "ivshm", "info", target, (char *)NULL);
		_exit(127);
	}
	close(p[1]);
	while ((size_t)got < len - 1 &&
	       (n = read(p[0], err + got, len - 1 - got)) > 0)
		got += n;
	err[got] = '\0';
	close(p[0]);
	st = wait_exit(pid, 60000);
	return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

/*
 * 1,000 peers of 2 vectors need 2,000 eventfds in every new peer: under
 * the usual soft limit of 1024 the library raises it (the hard limit
 * allows); under a hard limit of 1024 it fails with EMFILE, and the CLI
 * names the fd cost.
 */
TEST_F_TIMEOUT(srv, many_peers, 180)
{
	const char *args[] = { "-S", self->s.sock, "-l", "64K", "-n", "2",
			       "--max-peers", "1100", NULL };
	struct rlimit rl;
	int ready[2], quit[2], st;
	char err[2048], b;
	pid_t pid;

	ASSERT_EQ(0, getrlimit(RLIMIT_NOFILE, &rl));
	if (rl.rlim_max != RLIM_INFINITY && rl.rlim_max < 4 * CROWD)
		SKIP(return, "hard RLIMIT_NOFILE %llu: too low for the crowd",
		     (unsigned long long)rl.rlim_max);
	ASSERT_EQ(0, srv_start(&self->s, args));
	ASSERT_EQ(0, pipe2(ready, O_CLOEXEC));
	ASSERT_EQ(0, pipe2(quit, O_CLOEXEC));
	pid = crowd(self->s.sock, ready[1], quit);
	ASSERT_LT(0, pid);
	close(ready[1]);
	close(quit[0]);
	ASSERT_EQ(1, read(ready[0], &b, 1)) TH_LOG("the crowd did not connect");

	EXPECT_EQ(0, join_under(self->target, 1024, rl.rlim_max))
		TH_LOG("joining under a soft limit of 1024 failed");
	EXPECT_EQ(1, join_under(self->target, 1024, 1024))
		TH_LOG("under a hard limit of 1024: want EMFILE");
	st = cli_under_limit(self->target, err, sizeof(err));
	EXPECT_EQ(1, st);
	EXPECT_NE(NULL, strstr(err, "Too many open files")) TH_LOG("%s", err);
	EXPECT_NE(NULL, strstr(err, "one fd per peer and vector"))
		TH_LOG("%s", err);

	close(quit[1]);
	close(ready[0]);
	EXPECT_EQ(0, wait_exit(pid, 10000));
}

TEST_HARNESS_MAIN
