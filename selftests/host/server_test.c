// SPDX-License-Identifier: GPL-2.0-only
/*
 * ivshm-server: protocol and option tests against a real server process.
 * The server binary: $IVSHM_SERVER, else ../../tools/ivshm-server relative
 * to this program.
 */
/* The 6.1 harness defines functions without prototypes. */
#pragma GCC diagnostic ignored "-Wmissing-prototypes"
#include "kselftest_harness.h"

#include "server_helpers.h"

#include <ivshm.h>

/* The directory of the built tools: ../../tools from this program. */
static const char *tools_dir(void)
{
	static char dir[PATH_MAX + 16];
	char exe[PATH_MAX];
	ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	char *slash;

	if (n < 0)
		return "/nonexistent";
	exe[n] = '\0';
	slash = strrchr(exe, '/');
	if (slash)
		*slash = '\0';
	snprintf(dir, sizeof(dir), "%s/../../tools", exe);
	return dir;
}

FIXTURE(srv) {
	struct srv s;
};

FIXTURE_SETUP(srv)
{
	ASSERT_EQ(0, srv_init(&self->s));
	ASSERT_EQ(0, access(server_bin(), X_OK))
		TH_LOG("no server binary at %s", server_bin());
}

FIXTURE_TEARDOWN(srv)
{
	srv_cleanup(&self->s);
}

/* Exact byte-level handshake for two clients with three vectors. */
TEST_F(srv, handshake_exact)
{
	const char *args[] = { "-S", self->s.sock, "--memfd", "-l", "1M",
			       "-n", "3", NULL };
	int a, b, afd[3], bfd[3], a_of_b[3], b_of_a[3], shm_a, shm_b, fd, i;
	volatile uint8_t *ma, *mb;
	struct stat st;
	int64_t v;

	ASSERT_EQ(0, srv_start(&self->s, args));
	a = cl_connect(self->s.sock);
	ASSERT_LE(0, a);
	ASSERT_EQ(1, recv_msg(a, &v, &fd, 2000));
	EXPECT_EQ(0, v);
	EXPECT_EQ(-1, fd);
	ASSERT_EQ(1, recv_msg(a, &v, &fd, 2000));
	EXPECT_EQ(0, v);
	EXPECT_EQ(-1, fd);
	ASSERT_EQ(1, recv_msg(a, &v, &shm_a, 2000));
	EXPECT_EQ(-1, v);
	ASSERT_LE(0, shm_a);
	ASSERT_EQ(0, fstat(shm_a, &st));
	EXPECT_EQ(1 << 20, st.st_size);
	for (i = 0; i < 3; i++) {
		ASSERT_EQ(1, recv_msg(a, &v, &afd[i], 2000));
		EXPECT_EQ(0, v);
		ASSERT_LE(0, afd[i]);
		/* eventfds are created non-blocking */
		EXPECT_TRUE(fcntl(afd[i], F_GETFL) & O_NONBLOCK);
	}
	/* nothing more */
	EXPECT_EQ(-2, recv_msg(a, &v, &fd, 100));

	b = cl_connect(self->s.sock);
	ASSERT_LE(0, b);
	ASSERT_EQ(1, recv_msg(b, &v, &fd, 2000));
	EXPECT_EQ(0, v);
	ASSERT_EQ(1, recv_msg(b, &v, &fd, 2000));
	EXPECT_EQ(1, v);
	EXPECT_EQ(-1, fd);
	ASSERT_EQ(1, recv_msg(b, &v, &shm_b, 2000));
	EXPECT_EQ(-1, v);
	ASSERT_LE(0, shm_b);
	for (i = 0; i < 3; i++) {	/* peer 0's vectors, in order */
		ASSERT_EQ(1, recv_msg(b, &v, &b_of_a[i], 2000));
		EXPECT_EQ(0, v);
		ASSERT_LE(0, b_of_a[i]);
	}
	for (i = 0; i < 3; i++) {	/* then its own */
		ASSERT_EQ(1, recv_msg(b, &v, &bfd[i], 2000));
		EXPECT_EQ(1, v);
		ASSERT_LE(0, bfd[i]);
	}
	EXPECT_EQ(-2, recv_msg(b, &v, &fd, 100));
	for (i = 0; i < 3; i++) {	/* a hears of b */
		ASSERT_EQ(1, recv_msg(a, &v, &a_of_b[i], 2000));
		EXPECT_EQ(1, v);
		ASSERT_LE(0, a_of_b[i]);
	}
	EXPECT_EQ(-2, recv_msg(a, &v, &fd, 100));

	/* the memory is shared */
	ma = mmap(NULL, 1 << 20, PROT_READ | PROT_WRITE, MAP_SHARED, shm_a, 0);
	mb = mmap(NULL, 1 << 20, PROT_READ | PROT_WRITE, MAP_SHARED, shm_b, 0);
	ASSERT_NE(MAP_FAILED, ma);
	ASSERT_NE(MAP_FAILED, mb);
	ma[0] = 0x5a;
	mb[(1 << 20) - 1] = 0xa5;
	EXPECT_EQ(0x5a, mb[0]);
	EXPECT_EQ(0xa5, ma[(1 << 20) - 1]);
	munmap((void *)ma, 1 << 20);
	munmap((void *)mb, 1 << 20);

	/* vector k of each side reaches exactly vector k of the other */
	for (i = 0; i < 3; i++) {
		int j;

		ASSERT_EQ(0, efd_ring(a_of_b[i]));
		for (j = 0; j < 3; j++)
			EXPECT_EQ(i == j, efd_rung(bfd[j], i == j ? 1000 : 0));
		ASSERT_EQ(0, efd_ring(b_of_a[i]));
		for (j = 0; j < 3; j++)
			EXPECT_EQ(i == j, efd_rung(afd[j], i == j ? 1000 : 0));
	}

	/* b leaves: a gets its id without an fd */
	close(b);
	ASSERT_EQ(1, recv_msg(a, &v, &fd, 2000));
	EXPECT_EQ(1, v);
	EXPECT_EQ(-1, fd);
	EXPECT_EQ(-2, recv_msg(a, &v, &fd, 100));
	close(a);
}

/* Twenty peers: joins, leaves and doorbells in both directions. */
TEST_F(srv, many_peers)
{
	const char *args[] = { "-S", self->s.sock, "--memfd", "-l", "64K",
			       "-n", "2", NULL };
	enum { NP = 20, NV = 2 };
	static struct cl c[NP];
	int i, j, k;

	ASSERT_EQ(0, srv_start(&self->s, args));
	for (i = 0; i < NP; i++) {
		ASSERT_EQ(0, cl_open(&c[i], self->s.sock, NV));
		EXPECT_EQ(i, c[i].id);
		EXPECT_EQ(i, c[i].npeers);
		for (j = 0; j < c[i].npeers; j++)
			EXPECT_EQ(NV, c[i].peers[j].n);
		for (j = 0; j < i; j++)
			ASSERT_EQ(0, cl_wait_join(&c[j], i, 2000));
	}
	for (i = 0; i < NP; i++) {
		EXPECT_EQ(NP - 1, c[i].npeers);
		EXPECT_EQ(0, c[i].errors);
	}

	/* doorbells: every pair, both directions, each vector */
	for (i = 0; i < NP; i++) {
		for (j = 0; j < NP; j++) {
			struct rpeer *p;

			if (i == j)
				continue;
			p = cl_find(&c[i], j);
			ASSERT_NE(NULL, p);
			for (k = 0; k < NV; k++) {
				ASSERT_EQ(0, efd_ring(p->fd[k]));
				EXPECT_TRUE(efd_rung(c[j].own[k], 1000));
				EXPECT_FALSE(efd_rung(c[j].own[!k], 0));
			}
		}
	}

	/* every third peer leaves; everyone else sees exactly those */
	for (i = 0; i < NP; i += 3)
		cl_close(&c[i]);
	for (i = 0; i < NP; i++) {
		if (i % 3 == 0)
			continue;
		ASSERT_EQ(0, cl_wait_leaves(&c[i], (NP + 2) / 3, 2000));
		EXPECT_EQ(NP - 1 - (NP + 2) / 3, c[i].npeers);
		EXPECT_EQ((NP + 2) / 3, c[i].leaves);
		EXPECT_EQ(0, c[i].errors);
		for (j = 0; j < NP; j++)
			EXPECT_EQ(j % 3 != 0 && j != i, !!cl_find(&c[i], j));
		EXPECT_EQ(-2, cl_poll(&c[i], 0));
	}
	for (i = 0; i < NP; i++)
		cl_close(&c[i]);
}

/*
 * Ids increase like QEMU's: a departed peer's id is not handed out again
 * (a peer that still holds it would ring a stranger) until the counter
 * wraps after 65535.
 */
TEST_F(srv, ids_increase)
{
	const char *args[] = { "-S", self->s.sock, "--memfd", "-l", "4K",
			       NULL };
	struct cl c[6];
	int i;

	ASSERT_EQ(0, srv_start(&self->s, args));
	for (i = 0; i < 4; i++) {
		ASSERT_EQ(0, cl_open(&c[i], self->s.sock, 1));
		EXPECT_EQ(i, c[i].id);
	}
	ASSERT_EQ(0, cl_wait_join(&c[0], 3, 2000));
	cl_close(&c[2]);
	cl_close(&c[1]);
	ASSERT_EQ(0, cl_wait_leaves(&c[0], 2, 2000));
	ASSERT_EQ(0, cl_wait_leaves(&c[3], 2, 2000));

	/* 1 and 2 are free, yet the newcomers get 4, 5, 6 */
	ASSERT_EQ(0, cl_open(&c[1], self->s.sock, 1));
	EXPECT_EQ(4, c[1].id);
	ASSERT_EQ(0, cl_open(&c[2], self->s.sock, 1));
	EXPECT_EQ(5, c[2].id);
	cl_close(&c[0]);
	ASSERT_EQ(0, cl_wait_leave(&c[3], 0, 2000));
	ASSERT_EQ(0, cl_open(&c[4], self->s.sock, 1));
	EXPECT_EQ(6, c[4].id);
	ASSERT_EQ(0, cl_wait_join(&c[3], 6, 2000));
	EXPECT_EQ(3, c[3].leaves);
	EXPECT_EQ(0, c[3].errors);
	EXPECT_EQ(3, c[3].npeers);
	cl_close(&c[1]);
	cl_close(&c[2]);
	cl_close(&c[3]);
	cl_close(&c[4]);
}

/*
 * Connect/disconnect churn across the wrap: ids go up by one each time,
 * then 65535 is followed by the lowest id not in use (0 and 1 are held by
 * peers that stay connected throughout, so the first id after the wrap
 * is 2).  The long-lived peers drain their announcements as they go.
 */
TEST_F(srv, ids_wrap_churn)
{
	const char *args[] = { "-S", self->s.sock, "--memfd", "-l", "4K",
			       NULL };
	struct cl hold[2], c;
	int64_t expect = 2;
	int i, j;

	ASSERT_EQ(0, srv_start(&self->s, args));
	for (j = 0; j < 2; j++) {
		ASSERT_EQ(0, cl_open(&hold[j], self->s.sock, 1));
		ASSERT_EQ(j, hold[j].id);
	}
	for (i = 0; i < 65536 + 4; i++) {
		ASSERT_EQ(0, cl_open(&c, self->s.sock, 1))
			TH_LOG("churn %d: cannot join", i);
		ASSERT_EQ(expect, c.id) TH_LOG("churn %d", i);
		cl_close(&c);
		expect = expect == 65535 ? 2 : expect + 1;
		if (i % 64 == 63)
			for (j = 0; j < 2; j++)
				ASSERT_EQ(-2, cl_poll(&hold[j], 0));
	}
	/* the holders are still there, with no protocol error seen */
	for (j = 0; j < 2; j++) {
		cl_poll(&hold[j], 50);
		EXPECT_EQ(0, hold[j].errors);
		cl_close(&hold[j]);
	}
}

/*
 * A client beyond --max-peers gets one message, the version slot holding
 * -87 (IVSHM_SERVER_FULL: "too many users"), then EOF; the server logs
 * it; the library fails with EUSERS and the CLI says the server is full.
 */
TEST_F(srv, max_peers)
{
	const char *args[] = { "-S", self->s.sock, "--memfd", "-l", "4K",
			       "--max-peers", "3", NULL };
	char log[8192], cmd[512], out[1024];
	struct cl c[4];
	int64_t v;
	FILE *f;
	size_t n;
	int i, fd;

	ASSERT_EQ(0, srv_start(&self->s, args));
	for (i = 0; i < 3; i++)
		ASSERT_EQ(0, cl_open(&c[i], self->s.sock, 1));
	c[3].sock = cl_connect(self->s.sock);
	ASSERT_LE(0, c[3].sock);
	ASSERT_EQ(1, recv_msg(c[3].sock, &v, &fd, 3000));
	EXPECT_EQ(-87, v);
	EXPECT_EQ(-1, fd);
	EXPECT_EQ(0, recv_msg(c[3].sock, &v, &fd, 3000));
	close(c[3].sock);

	/* the library: EUSERS */
	snprintf(cmd, sizeof(cmd), "unix:%s", self->s.sock);
	errno = 0;
	EXPECT_EQ(NULL, ivshm_open(cmd, 0));
	EXPECT_EQ(EUSERS, errno);

	/* the CLI: a plain sentence */
	snprintf(cmd, sizeof(cmd), "%s/ivshm info unix:%s 2>&1",
		 tools_dir(), self->s.sock);
	f = popen(cmd, "r");
	ASSERT_NE(NULL, f);
	n = fread(out, 1, sizeof(out) - 1, f);
	out[n] = '\0';
	EXPECT_NE(0, pclose(f));
	EXPECT_NE(NULL, strstr(out, "server is full (--max-peers)"))
		TH_LOG("ivshm info said: %s", out);

	/* the others heard nothing of it */
	EXPECT_EQ(-2, cl_poll(&c[0], 200));
	EXPECT_EQ(2, c[0].npeers);
	EXPECT_EQ(0, c[0].leaves);
	srv_log(&self->s, log, sizeof(log));
	EXPECT_NE(NULL, strstr(log, "refusing a client: 3 peers connected (--max-peers 3)"))
		TH_LOG("log: %s", log);

	cl_close(&c[1]);
	ASSERT_EQ(0, cl_wait_leave(&c[0], 1, 2000));
	ASSERT_EQ(0, cl_open(&c[3], self->s.sock, 1));
	EXPECT_EQ(3, c[3].id);
	for (i = 0; i < 4; i++)
		if (i != 1)
			cl_close(&c[i]);
}

/* Above 64 vectors, a warning that QEMU's own client cannot join. */
TEST_F(srv, vectors_above_64_warn)
{
	const char *args64[] = { "-S", self->s.sock, "-l", "4K", "-n", "64",
				 NULL };
	const char *args65[] = { "-S", self->s.sock, "-l", "4K", "-n", "65",
				 NULL };
	char log[4096];

	ASSERT_EQ(0, srv_start(&self->s, args64));
	srv_log(&self->s, log, sizeof(log));
	EXPECT_EQ(NULL, strstr(log, "at most 64")) TH_LOG("log: %s", log);
	EXPECT_EQ(0, srv_stop(&self->s));

	ASSERT_EQ(0, srv_start(&self->s, args65));
	srv_log(&self->s, log, sizeof(log));
	EXPECT_NE(NULL, strstr(log, "QEMU's ivshmem-client accepts at most 64 vectors"))
		TH_LOG("log: %s", log);
	EXPECT_EQ(0, srv_stop(&self->s));
}

/*
 * Without -F it daemonizes, like QEMU's: the command returns once the
 * socket listens, and the pidfile names the daemon, not the parent.
 */
TEST_F(srv, daemonizes_by_default)
{
	const char *args[] = { "-S", self->s.sock, "-l", "4K",
			       "-p", self->s.pidfile, NULL };
	uint64_t end;
	char buf[32];
	struct cl a;
	pid_t pid, dpid;
	int fd, status;

	self->s.detach = true;
	pid = srv_spawn(&self->s, args);
	ASSERT_LT(0, pid);
	status = wait_exit(pid, 3000);
	if (status == -1) {
		kill(pid, SIGKILL);
		waitpid(pid, NULL, 0);
	}
	ASSERT_NE(-1, status) TH_LOG("still in the foreground after 3 s");
	ASSERT_TRUE(WIFEXITED(status));
	ASSERT_EQ(0, WEXITSTATUS(status));
	fd = open(self->s.pidfile, O_RDONLY);
	ASSERT_LE(0, fd);
	memset(buf, 0, sizeof(buf));
	EXPECT_LT(0, read(fd, buf, sizeof(buf) - 1));
	close(fd);
	dpid = atoi(buf);
	ASSERT_LT(1, dpid);
	EXPECT_NE(pid, dpid);
	EXPECT_EQ(0, kill(dpid, 0));
	ASSERT_EQ(0, cl_open(&a, self->s.sock, 1));
	EXPECT_EQ(0, a.id);
	ASSERT_EQ(0, kill(dpid, SIGTERM));
	EXPECT_EQ(0, cl_poll(&a, 3000));
	cl_close(&a);
	end = ms_now() + 3000;
	while (ms_now() < end && !kill(dpid, 0))
		usleep(5000);
	EXPECT_NE(0, kill(dpid, 0));
	EXPECT_NE(0, access(self->s.pidfile, F_OK));
	EXPECT_NE(0, access(self->s.sock, F_OK));

	/* a start-up error still reaches the caller, with status 1 */
	if (1) {
		const char *bad[] = { "-S", self->s.sock, "-m",
				      "/nonexistent-ivshm-dir", NULL };
		char log[4096];

		status = srv_run(&self->s, bad, log, sizeof(log));
		EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 1)
			TH_LOG("status %#x", status);
		EXPECT_NE(NULL, strstr(log, "nonexistent-ivshm-dir"));
	}
}

/* Bad options: non-zero exit and a clear message. */
TEST_F(srv, bad_options)
{
	static const struct {
		const char *args[8];
		const char *msg;
	} cases[] = {
		{ { "-l", "3M", "--memfd" }, "power of two" },
		{ { "-l", "1000000", "--memfd" }, "power of two" },
		{ { "-l", "4X", "--memfd" }, "invalid size" },
		{ { "-l", "4MX", "--memfd" }, "invalid size" },
		{ { "-l", "", "--memfd" }, "invalid size" },
		{ { "-l", "-4M", "--memfd" }, "invalid size" },
		{ { "-l", "99999999999999999999", "--memfd" }, "invalid size" },
		{ { "-l", "1K", "--memfd" }, "out of range" },
		{ { "-n", "0", "--memfd" }, "vector" },
		{ { "-n", "1025", "--memfd" }, "vector" },
		{ { "-n", "abc", "--memfd" }, "vector" },
		{ { "-n", "2x", "--memfd" }, "vector" },
		{ { "--max-peers", "0", "--memfd" }, "max-peers" },
		{ { "--max-peers", "65537", "--memfd" }, "max-peers" },
		{ { "--socket-mode", "999", "--memfd" }, "socket-mode" },
		{ { "--socket-group", "no-such-group-xyz", "--memfd" }, "group" },
		{ { "--bogus" }, "unknown option '--bogus'" },
		{ { "-X" }, "unknown option '-X'" },
		{ { "--memfd", "-l" }, "needs an argument" },
		{ { "-l", "0", "--memfd" }, "out of range" },
		{ { "--memfd", "extra" }, "unexpected" },
		/* names that no server could use: nothing is ever created */
		{ { "--memfd", "--shm-file", "/nonexistent-ivshm/f" },
		  "--memfd and --shm-file" },
		{ { "--shm-file", "/nonexistent-ivshm/f", "--memfd" },
		  "--shm-file and --memfd" },
		{ { "-M", "bad/name", "-m", "/nonexistent-ivshm" },
		  "-M and -m" },
		{ { "-m", "/nonexistent-ivshm", "--shm-name", "bad/name" },
		  "-m and -M" },
	};
	char log[4096], sock[160];
	unsigned int i, j;

	snprintf(sock, sizeof(sock), "%s", self->s.sock);
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const char *args[12] = { "-S", sock };
		int st;

		for (j = 0; cases[i].args[j]; j++)
			args[2 + j] = cases[i].args[j];
		st = srv_run(&self->s, args, log, sizeof(log));
		EXPECT_TRUE(WIFEXITED(st) && WEXITSTATUS(st) != 0)
			TH_LOG("case %u (%s %s) exited with status %#x", i,
			       cases[i].args[0], cases[i].args[1], st);
		EXPECT_NE(NULL, strstr(log, cases[i].msg))
			TH_LOG("case %u: no '%s' in: %s", i, cases[i].msg, log);
		EXPECT_NE(NULL, strstr(log, "ivshm-server"));
		EXPECT_NE(0, access(sock, F_OK));
	}
}

/* --round-up and size units. */
TEST_F(srv, sizes)
{
	static const struct {
		const char *arg;
		uint64_t size;
		bool round;
	} cases[] = {
		{ "3M", 4 << 20, true },
		{ "5000", 8192, true },
		{ "64K", 64 << 10, false },
		{ "2m", 2 << 20, false },
		{ "1MiB", 1 << 20, false },
		{ "16384", 16384, false },
	};
	unsigned int i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const char *args[] = { "-S", self->s.sock, "--memfd", "-l",
				       cases[i].arg,
				       cases[i].round ? "--round-up" : NULL,
				       NULL };
		struct stat st;
		struct cl c;

		ASSERT_EQ(0, srv_start(&self->s, args));
		ASSERT_EQ(0, cl_open(&c, self->s.sock, 1));
		ASSERT_EQ(0, fstat(c.shm, &st));
		EXPECT_EQ(cases[i].size, (uint64_t)st.st_size)
			TH_LOG("-l %s", cases[i].arg);
		cl_close(&c);
		EXPECT_EQ(0, srv_stop(&self->s));
	}
}

/* 4 GiB and more: no truncation to 32 bits anywhere. */
TEST_F(srv, size_4g)
{
	static const char *const sizes[] = { "4G", "8G" };
	unsigned int i;

	for (i = 0; i < 2; i++) {
		const char *args[] = { "-S", self->s.sock, "--memfd", "-l",
				       sizes[i], NULL };
		uint64_t size = (uint64_t)(4 << i) << 30;
		volatile uint8_t *m1, *m2;
		struct cl a, b;
		struct stat st;

		ASSERT_EQ(0, srv_start(&self->s, args));
		ASSERT_EQ(0, cl_open(&a, self->s.sock, 1));
		ASSERT_EQ(0, cl_open(&b, self->s.sock, 1));
		ASSERT_EQ(0, fstat(a.shm, &st));
		EXPECT_EQ(size, (uint64_t)st.st_size);
		m1 = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED,
			  a.shm, 0);
		m2 = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED,
			  b.shm, 0);
		ASSERT_NE(MAP_FAILED, m1);
		ASSERT_NE(MAP_FAILED, m2);
		m1[size - 1] = 0x42;
		EXPECT_EQ(0x42, m2[size - 1]);
		if (size > (4ULL << 30)) {
			m1[(4ULL << 30) + 4096] = 0x43;
			EXPECT_EQ(0x43, m2[(4ULL << 30) + 4096]);
			EXPECT_EQ(0, m2[4096]);	/* no 32-bit wrap-around */
		}
		munmap((void *)m1, size);
		munmap((void *)m2, size);
		cl_close(&a);
		cl_close(&b);
		EXPECT_EQ(0, srv_stop(&self->s));
	}
}

/* SIGTERM: clients see EOF, socket and POSIX object and pidfile removed. */
TEST_F(srv, sigterm)
{
	const char *args[] = { "-S", self->s.sock, "-M", self->s.shm_name,
			       "-l", "64K", "-p", self->s.pidfile, "-v", NULL };
	char path[128], buf[32];
	struct cl a, b;
	int st, fd;

	ASSERT_EQ(0, srv_start(&self->s, args));
	snprintf(path, sizeof(path), "/dev/shm/%s", self->s.shm_name);
	EXPECT_EQ(0, access(path, F_OK));
	fd = open(self->s.pidfile, O_RDONLY);
	ASSERT_LE(0, fd);
	memset(buf, 0, sizeof(buf));
	EXPECT_LT(0, read(fd, buf, sizeof(buf) - 1));
	close(fd);
	EXPECT_EQ(self->s.pid, atoi(buf));
	ASSERT_EQ(0, cl_open(&a, self->s.sock, 1));
	ASSERT_EQ(0, cl_open(&b, self->s.sock, 1));
	ASSERT_EQ(0, cl_wait_join(&a, 1, 2000));

	st = srv_stop(&self->s);
	ASSERT_TRUE(WIFEXITED(st));
	EXPECT_EQ(0, WEXITSTATUS(st));
	EXPECT_EQ(0, cl_poll(&a, 2000));	/* EOF */
	EXPECT_EQ(0, cl_poll(&b, 2000));
	EXPECT_NE(0, access(self->s.sock, F_OK));
	EXPECT_NE(0, access(path, F_OK));
	EXPECT_NE(0, access(self->s.pidfile, F_OK));
	/* the peers still share memory and doorbells without the server */
	ASSERT_EQ(0, efd_ring(cl_find(&a, 1)->fd[0]));
	EXPECT_TRUE(efd_rung(b.own[0], 1000));
	cl_close(&a);
	cl_close(&b);
}

/* QEMU contrib ivshmem-server style invocation. */
TEST_F(srv, contrib_invocation)
{
	const char *args[] = { "-S", self->s.sock, "-M", self->s.shm_name,
			       "-l", "4M", "-n", "2", "-F", NULL };
	struct stat st;
	char path[128];
	struct cl a;

	ASSERT_EQ(0, srv_start(&self->s, args));
	snprintf(path, sizeof(path), "/dev/shm/%s", self->s.shm_name);
	ASSERT_EQ(0, stat(path, &st));
	EXPECT_EQ(4 << 20, st.st_size);
	ASSERT_EQ(0, cl_open(&a, self->s.sock, 2));
	EXPECT_EQ(0, a.id);
	EXPECT_EQ(2, a.nown);
	ASSERT_EQ(0, fstat(a.shm, &st));
	EXPECT_EQ(4 << 20, st.st_size);
	cl_close(&a);
	EXPECT_EQ(0, srv_stop(&self->s));
	EXPECT_NE(0, access(path, F_OK));
	EXPECT_NE(0, access(self->s.sock, F_OK));
}

/* -m DIR: an unlinked temporary file there. */
TEST_F(srv, shm_dir)
{
	const char *args[] = { "-S", self->s.sock, "-m", self->s.dir,
			       "-l", "64K", NULL };
	struct stat st;
	struct cl a;
	DIR *d;
	struct dirent *de;
	int n = 0;

	ASSERT_EQ(0, srv_start(&self->s, args));
	ASSERT_EQ(0, cl_open(&a, self->s.sock, 1));
	ASSERT_EQ(0, fstat(a.shm, &st));
	EXPECT_EQ(64 << 10, st.st_size);
	EXPECT_EQ(0, (int)st.st_nlink);
	d = opendir(self->s.dir);
	ASSERT_NE(NULL, d);
	while ((de = readdir(d)))
		if (!strncmp(de->d_name, "ivshmem.", 8))
			n++;
	closedir(d);
	EXPECT_EQ(0, n);
	cl_close(&a);
}

/* --shm-file: kept, adopted size, never resized. */
TEST_F(srv, shm_file)
{
	char file[160], log[4096];
	struct stat st;
	struct cl a;
	int fd, status;

	snprintf(file, sizeof(file), "%s/file", self->s.dir);
	fd = open(file, O_RDWR | O_CREAT, 0600);
	ASSERT_LE(0, fd);
	ASSERT_EQ(0, ftruncate(fd, 1 << 20));
	close(fd);
	if (1) {
		const char *args[] = { "-S", self->s.sock, "--shm-file", file,
				       NULL };

		ASSERT_EQ(0, srv_start(&self->s, args));
		ASSERT_EQ(0, cl_open(&a, self->s.sock, 1));
		ASSERT_EQ(0, fstat(a.shm, &st));
		EXPECT_EQ(1 << 20, st.st_size);
		cl_close(&a);
		EXPECT_EQ(0, srv_stop(&self->s));
		EXPECT_EQ(0, stat(file, &st));
		EXPECT_EQ(1 << 20, st.st_size);
	}
	if (1) {
		const char *args[] = { "-S", self->s.sock, "--shm-file", file,
				       "-l", "2M", NULL };

		status = srv_run(&self->s, args, log, sizeof(log));
		EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status));
		EXPECT_NE(NULL, strstr(log, "already has size"));
		EXPECT_EQ(0, stat(file, &st));
		EXPECT_EQ(1 << 20, st.st_size);
	}
	ASSERT_EQ(0, truncate(file, 12288));
	if (1) {
		const char *args[] = { "-S", self->s.sock, "--shm-file", file,
				       NULL };

		status = srv_run(&self->s, args, log, sizeof(log));
		EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status));
		EXPECT_NE(NULL, strstr(log, "power of two"));
	}
}

/* A stale socket file is replaced; a live server is never displaced. */
TEST_F(srv, stale_and_live_socket)
{
	const char *args[] = { "-S", self->s.sock, "--memfd", "-l", "4K",
			       NULL };
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	struct srv other;
	char log[4096];
	struct cl a;
	int fd, st;

	fd = socket(AF_UNIX, SOCK_STREAM, 0);
	ASSERT_LE(0, fd);
	strcpy(sun.sun_path, self->s.sock);
	ASSERT_EQ(0, bind(fd, (struct sockaddr *)&sun, sizeof(sun)));
	close(fd);
	ASSERT_EQ(0, access(self->s.sock, F_OK));

	ASSERT_EQ(0, srv_start(&self->s, args));
	ASSERT_EQ(0, cl_open(&a, self->s.sock, 1));

	memcpy(&other, &self->s, sizeof(other));
	snprintf(other.log, sizeof(other.log), "%s/sock2", self->s.dir);
	other.pid = 0;
	st = srv_run(&other, args, log, sizeof(log));
	EXPECT_TRUE(WIFEXITED(st) && WEXITSTATUS(st));
	EXPECT_NE(NULL, strstr(log, "another server"));
	/* the first server still serves, its socket intact */
	cl_close(&a);
	ASSERT_EQ(0, cl_open(&a, self->s.sock, 1));
	cl_close(&a);
	EXPECT_EQ(0, srv_stop(&self->s));

	/* a path that is not a socket is left alone */
	fd = open(self->s.sock, O_WRONLY | O_CREAT, 0600);
	ASSERT_LE(0, fd);
	close(fd);
	st = srv_run(&self->s, args, log, sizeof(log));
	EXPECT_TRUE(WIFEXITED(st) && WEXITSTATUS(st));
	EXPECT_NE(NULL, strstr(log, "not a socket"));
	EXPECT_EQ(0, access(self->s.sock, F_OK));
}

/* --socket-mode, and --daemon with a pidfile. */
TEST_F(srv, daemon_and_modes)
{
	const char *args[] = { "-S", self->s.sock, "--memfd", "-l", "4K",
			       "--socket-mode", "0660", "-D",
			       "-p", self->s.pidfile, NULL };
	uint64_t end;
	char buf[32];
	struct stat st;
	struct cl a;
	pid_t pid;
	int fd, status;

	pid = srv_spawn(&self->s, args);
	ASSERT_LT(0, pid);
	status = wait_exit(pid, 5000);
	ASSERT_TRUE(WIFEXITED(status));
	ASSERT_EQ(0, WEXITSTATUS(status));
	/* ready when the parent exits */
	fd = open(self->s.pidfile, O_RDONLY);
	ASSERT_LE(0, fd);
	memset(buf, 0, sizeof(buf));
	EXPECT_LT(0, read(fd, buf, sizeof(buf) - 1));
	close(fd);
	pid = atoi(buf);
	ASSERT_LT(1, pid);
	ASSERT_EQ(0, stat(self->s.sock, &st));
	EXPECT_EQ(0660, (int)(st.st_mode & 07777));
	EXPECT_TRUE(S_ISSOCK(st.st_mode));
	ASSERT_EQ(0, cl_open(&a, self->s.sock, 1));
	ASSERT_EQ(0, kill(pid, SIGTERM));
	EXPECT_EQ(0, cl_poll(&a, 3000));
	cl_close(&a);
	end = ms_now() + 3000;
	while (ms_now() < end && !access(self->s.pidfile, F_OK))
		usleep(5000);
	EXPECT_NE(0, access(self->s.pidfile, F_OK));
	EXPECT_NE(0, access(self->s.sock, F_OK));
}

/* READY=1 to $NOTIFY_SOCKET (systemd Type=notify) once listening. */
TEST_F(srv, sd_notify)
{
	const char *args[] = { "-S", self->s.sock, "--memfd", "-l", "4K",
			       NULL };
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	struct pollfd pfd;
	char buf[64];
	ssize_t n;
	int fd;

	snprintf(sun.sun_path, sizeof(sun.sun_path), "%s/file", self->s.dir);
	fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	ASSERT_LE(0, fd);
	ASSERT_EQ(0, bind(fd, (struct sockaddr *)&sun, sizeof(sun)));
	setenv("NOTIFY_SOCKET", sun.sun_path, 1);
	ASSERT_EQ(0, srv_start(&self->s, args));
	unsetenv("NOTIFY_SOCKET");
	pfd = (struct pollfd){ .fd = fd, .events = POLLIN };
	ASSERT_EQ(1, poll(&pfd, 1, 3000));
	n = recv(fd, buf, sizeof(buf) - 1, 0);
	ASSERT_LT(0, n);
	buf[n] = '\0';
	EXPECT_STREQ("READY=1", buf);
	close(fd);
	EXPECT_EQ(0, srv_stop(&self->s));
}

TEST_HARNESS_MAIN
