// SPDX-License-Identifier: GPL-2.0-only
/*
 * libivshm host backends against hostile or careless peers of a real
 * ivshm-server: a peer that truncates the shared memory under a library
 * user, whether the library reports the memory as protected, a flood of
 * peer events that the application never reads.
 */
#include <malloc.h>

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
	struct ivshm_signal sig;
	struct ivshm_sigctx ctx;
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

TEST_HARNESS_MAIN
