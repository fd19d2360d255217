// SPDX-License-Identifier: GPL-2.0-only
/*
 * ivshm-server: robustness tests against a real server process: clients
 * that never read, vanish mid-handshake, flood the server with input, and
 * running out of file descriptors; no fd leaks.
 */
/* The 6.1 harness defines functions without prototypes. */
#pragma GCC diagnostic ignored "-Wmissing-prototypes"
#include "kselftest_harness.h"

#include "server_helpers.h"

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

/*
 * A client that never reads while others come and go: the others still get
 * their handshakes promptly, and the silent one is dropped.
 */
TEST_F(srv, slow_reader_dropped)
{
	const char *args[] = { "-S", self->s.sock, "--memfd", "-l", "4K",
			       NULL };
	uint64_t t0, worst = 0;
	struct cl w, y;
	char log[16384];
	int x, i, fd, r;
	int64_t xid = 1, v;

	ASSERT_EQ(0, srv_start(&self->s, args));
	ASSERT_EQ(0, cl_open(&w, self->s.sock, 1));
	x = cl_connect(self->s.sock);		/* never reads */
	ASSERT_LE(0, x);
	ASSERT_EQ(0, cl_wait_join(&w, xid, 2000));

	for (i = 0; i < 5000 && cl_find(&w, xid); i++) {
		uint64_t dt;

		t0 = ms_now();
		ASSERT_EQ(0, cl_open(&y, self->s.sock, 1));
		dt = ms_now() - t0;
		if (dt > worst)
			worst = dt;
		ASSERT_EQ(0, cl_wait_join(&w, y.id, 2000));
		fd = y.id;
		cl_close(&y);
		ASSERT_EQ(0, cl_wait_leave(&w, fd, 2000));
	}
	TH_LOG("silent client dropped after %d join/leave cycles; slowest handshake %llu ms",
	       i, (unsigned long long)worst);
	EXPECT_EQ(NULL, cl_find(&w, xid));
	EXPECT_GT(5000, i);
	EXPECT_GT(500, (int)worst);
	srv_log(&self->s, log, sizeof(log));
	EXPECT_NE(NULL, strstr(log, "does not read"));

	/* the silent client finds a consistent prefix, then EOF */
	for (;;) {
		r = recv_msg(x, &v, &fd, 2000);
		if (fd >= 0)
			close(fd);
		if (r != 1)
			break;
	}
	EXPECT_EQ(0, r);
	close(x);
	EXPECT_EQ(0, w.errors);
	cl_close(&w);
}

/* Same with a small explicit --queue-limit. */
TEST_F(srv, queue_limit)
{
	const char *args[] = { "-S", self->s.sock, "--memfd", "-l", "4K",
			       "-n", "4", "--queue-limit", "20", NULL };
	struct cl w, y;
	int x, i, id;

	ASSERT_EQ(0, srv_start(&self->s, args));
	ASSERT_EQ(0, cl_open(&w, self->s.sock, 4));
	x = cl_connect(self->s.sock);
	ASSERT_LE(0, x);
	ASSERT_EQ(0, cl_wait_join(&w, 1, 2000));
	for (i = 0; i < 2000 && cl_find(&w, 1); i++) {
		ASSERT_EQ(0, cl_open(&y, self->s.sock, 4));
		id = y.id;
		cl_close(&y);
		ASSERT_EQ(0, cl_wait_leave(&w, id, 2000));
	}
	EXPECT_EQ(NULL, cl_find(&w, 1));
	EXPECT_GT(2000, i);
	close(x);
	cl_close(&w);
}

/*
 * 1,000 clients that finish their handshake, vanish before reading, or
 * vanish half-way: the server's fd count is unchanged afterwards.
 */
TEST_F(srv, no_fd_leak)
{
	const char *args[] = { "-S", self->s.sock, "--memfd", "-l", "4K",
			       "-n", "4", NULL };
	int before, after, i, fd, r;
	struct cl w, y;
	int64_t v;

	ASSERT_EQ(0, srv_start(&self->s, args));
	ASSERT_EQ(0, cl_open(&w, self->s.sock, 4));
	before = count_fds(self->s.pid);
	ASSERT_LT(0, before);

	for (i = 0; i < 1000; i++) {
		switch (i % 3) {
		case 0:
			ASSERT_EQ(0, cl_open(&y, self->s.sock, 4));
			EXPECT_EQ(i + 1, y.id);	/* every cycle took one */
			cl_close(&y);
			break;
		case 1:
			fd = cl_connect(self->s.sock);
			ASSERT_LE(0, fd);
			close(fd);
			break;
		case 2:
			y.sock = cl_connect(self->s.sock);
			ASSERT_LE(0, y.sock);
			r = recv_msg(y.sock, &v, &fd, 2000);
			EXPECT_EQ(1, r);
			r = recv_msg(y.sock, &v, &fd, 2000);
			EXPECT_EQ(1, r);
			r = recv_msg(y.sock, &v, &fd, 2000);
			EXPECT_EQ(1, r);
			EXPECT_LE(0, fd);
			close(fd);
			close(y.sock);
			break;
		}
		ASSERT_EQ(0, cl_wait_leaves(&w, i + 1, 2000))
			TH_LOG("cycle %d", i);
	}
	EXPECT_EQ(1000, w.joins);
	EXPECT_EQ(0, w.errors);
	EXPECT_EQ(0, w.npeers);
	after = wait_fds(self->s.pid, before);
	EXPECT_EQ(before, after);
	cl_close(&w);
	EXPECT_EQ(0, srv_stop(&self->s));
}

/* A client that floods the server with input (and fds) changes nothing. */
TEST_F(srv, input_flood)
{
	const char *args[] = { "-S", self->s.sock, "--memfd", "-l", "4K",
			       "-n", "2", NULL };
	union {
		struct cmsghdr h;
		char buf[CMSG_SPACE(sizeof(int))];
	} cm;
	static char junk[65536];
	struct cl w, f, y;
	int before, i, j, devnull;

	memset(junk, 0xee, sizeof(junk));
	ASSERT_EQ(0, srv_start(&self->s, args));
	ASSERT_EQ(0, cl_open(&w, self->s.sock, 2));
	before = count_fds(self->s.pid);
	ASSERT_EQ(0, cl_open(&f, self->s.sock, 2));
	ASSERT_EQ(0, cl_wait_join(&w, f.id, 2000));
	devnull = open("/dev/null", O_RDONLY);
	ASSERT_LE(0, devnull);
	fcntl(f.sock, F_SETFL, O_NONBLOCK);
	for (i = 0; i < 20; i++) {
		struct iovec iov = { junk, sizeof(junk) };
		struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1,
				     .msg_control = cm.buf,
				     .msg_controllen = sizeof(cm.buf) };

		cm.h.cmsg_level = SOL_SOCKET;
		cm.h.cmsg_type = SCM_RIGHTS;
		cm.h.cmsg_len = CMSG_LEN(sizeof(int));
		memcpy(CMSG_DATA(&cm.h), &devnull, sizeof(int));
		for (j = 0; j < 16; j++)
			if (sendmsg(f.sock, &mh, MSG_NOSIGNAL) < 0)
				break;
		ASSERT_EQ(0, cl_open(&y, self->s.sock, 2));
		ASSERT_EQ(0, cl_wait_join(&w, y.id, 2000));
		cl_close(&y);
		ASSERT_EQ(0, cl_wait_leaves(&w, i + 1, 2000));
	}
	close(devnull);
	EXPECT_EQ(1, w.npeers);		/* the flooder is still there */
	cl_close(&f);
	ASSERT_EQ(0, cl_wait_leaves(&w, 21, 2000));
	EXPECT_EQ(before, wait_fds(self->s.pid, before));
	cl_close(&w);
}

/*
 * Out of file descriptors: the server's RLIMIT_NOFILE is cut to what it
 * uses plus room for three peers (5 fds each with 4 vectors) plus 'extra'.
 * extra 0: accept() fails with EMFILE; extra 2: eventfd() fails.  Either
 * way new clients are refused, the others keep working, and the server
 * recovers once fds are free again.
 */
static void out_of_fds(struct __test_metadata *_metadata, struct srv *s,
		       int extra, const char *msg)
{
	const char *args[] = { "-S", s->sock, "--memfd", "-l", "4K",
			       "-n", "4", "-v", NULL };
	enum { N = 8 };
	struct cl c[N];
	struct rlimit rl;
	int i, base, ok = 0, refused = 0, r;
	char log[16384];

	ASSERT_EQ(0, srv_start(s, args));
	base = count_fds(s->pid);
	ASSERT_LT(0, base);
	rl.rlim_cur = rl.rlim_max = base + 3 * 5 + extra;
	ASSERT_EQ(0, prlimit(s->pid, RLIMIT_NOFILE, &rl, NULL));
	for (i = 0; i < N; i++) {
		r = cl_open(&c[i], s->sock, 4);
		if (r == 0)
			ok++;
		else
			refused++;
		EXPECT_NE(-1, r);
		if (r)
			cl_close(&c[i]);
	}
	EXPECT_EQ(3, ok);
	EXPECT_EQ(N - 3, refused);
	/* those connected still work together */
	ASSERT_EQ(0, cl_wait_join(&c[0], 2, 2000));
	EXPECT_EQ(2, c[0].npeers);
	EXPECT_EQ(0, c[0].leaves);
	ASSERT_EQ(0, efd_ring(cl_find(&c[0], 1)->fd[3]));
	EXPECT_TRUE(efd_rung(c[1].own[3], 1000));
	srv_log(s, log, sizeof(log));
	EXPECT_NE(NULL, strstr(log, msg)) TH_LOG("log: %s", log);
	cl_close(&c[1]);
	ASSERT_EQ(0, cl_wait_leaves(&c[0], 1, 2000));
	/* recovered: a new client gets the next id (refusals took none) */
	usleep(200 * 1000);	/* past a paused accept() */
	ASSERT_EQ(0, cl_open(&c[1], s->sock, 4));
	EXPECT_EQ(3, c[1].id);
	for (i = 0; i < ok; i++)
		cl_close(&c[i]);
	EXPECT_EQ(base, wait_fds(s->pid, base));
	EXPECT_EQ(0, srv_stop(s));
}

TEST_F(srv, out_of_fds_accept)
{
	out_of_fds(_metadata, &self->s, 0, "accept");
}

TEST_F(srv, out_of_fds_eventfd)
{
	out_of_fds(_metadata, &self->s, 2, "cannot create its eventfds");
}

TEST_HARNESS_MAIN
