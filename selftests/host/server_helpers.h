/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Helpers for the ivshm-server tests: start/stop a real server process in a
 * private temporary directory, and a minimal protocol client.
 */
#ifndef SERVER_HELPERS_H
#define SERVER_HELPERS_H

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define MAXV	8
#define MAXP	64

struct srv {
	pid_t pid;
	char dir[64];
	char sock[128];
	char log[128];
	char pidfile[128];
	char shm_name[64];	/* POSIX shm name to remove, if any */
	rlim_t nofile;		/* RLIMIT_NOFILE for the server, or 0 */
	bool detach;		/* let it daemonize: no -F first */
};

static inline uint64_t ms_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static inline const char *server_bin(void)
{
	static char path[PATH_MAX + 32];
	const char *env = getenv("IVSHM_SERVER");
	char exe[PATH_MAX];
	ssize_t n;
	char *slash;

	if (env && *env)
		return env;
	n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	if (n < 0)
		return "ivshm-server";
	exe[n] = '\0';
	slash = strrchr(exe, '/');
	if (slash)
		*slash = '\0';
	snprintf(path, sizeof(path), "%s/../../tools/ivshm-server", exe);
	return path;
}

static inline int srv_init(struct srv *s)
{
	static int seq;

	memset(s, 0, sizeof(*s));
	strcpy(s->dir, "/tmp/ivshm-srv-test.XXXXXX");
	if (!mkdtemp(s->dir))
		return -1;
	snprintf(s->sock, sizeof(s->sock), "%s/sock", s->dir);
	snprintf(s->log, sizeof(s->log), "%s/log", s->dir);
	snprintf(s->pidfile, sizeof(s->pidfile), "%s/pid", s->dir);
	snprintf(s->shm_name, sizeof(s->shm_name), "ivshm-test-%d-%d",
		 (int)getpid(), seq++);
	return 0;
}

/* Read the server's log (stdout+stderr) into buf. */
static inline size_t srv_log(const struct srv *s, char *buf, size_t len)
{
	int fd = open(s->log, O_RDONLY | O_CLOEXEC);
	ssize_t n;

	buf[0] = '\0';
	if (fd < 0)
		return 0;
	n = read(fd, buf, len - 1);
	close(fd);
	if (n < 0)
		n = 0;
	buf[n] = '\0';
	return n;
}

static inline pid_t srv_spawn(struct srv *s, const char *const args[])
{
	const char *argv[64];
	int i, n = 0, fd;
	pid_t pid;

	argv[n++] = server_bin();
	/* The server daemonizes unless -F (like QEMU's): tests keep it. */
	if (!s->detach)
		argv[n++] = "-F";
	for (i = 0; args[i] && n < 63; i++)
		argv[n++] = args[i];
	argv[n] = NULL;
	fd = open(s->log, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0)
		return -1;
	pid = fork();
	if (pid == 0) {
		dup2(fd, 1);
		dup2(fd, 2);
		/* a clean fd table: fds 0..2 only, whatever we inherited */
		close_range(3, ~0U, 0);
		if (s->nofile) {
			struct rlimit rl = { s->nofile, s->nofile };

			setrlimit(RLIMIT_NOFILE, &rl);
		}
		execv(argv[0], (char **)argv);
		fprintf(stderr, "exec %s: %m\n", argv[0]);
		_exit(127);
	}
	close(fd);
	return pid;
}

/* Wait for the child to exit; returns its wait status, or -1 on timeout. */
static inline int wait_exit(pid_t pid, int timeout_ms)
{
	uint64_t end = ms_now() + timeout_ms;
	int st;

	do {
		pid_t r = waitpid(pid, &st, WNOHANG);

		if (r == pid)
			return st;
		if (r < 0)
			return -1;
		usleep(2000);
	} while (ms_now() < end);
	return -1;
}

/* Start a server, wait until it listens.  0 or -1 (with the log kept). */
static inline int srv_start(struct srv *s, const char *const args[])
{
	uint64_t end = ms_now() + 5000;
	char buf[4096];

	s->pid = srv_spawn(s, args);
	if (s->pid < 0)
		return -1;
	while (ms_now() < end) {
		int st;

		srv_log(s, buf, sizeof(buf));
		if (strstr(buf, "listening on"))
			return 0;
		if (waitpid(s->pid, &st, WNOHANG) == s->pid) {
			s->pid = 0;
			fprintf(stderr, "# server died:\n%s", buf);
			return -1;
		}
		usleep(2000);
	}
	return -1;
}

/* Run a server expected to exit by itself: its wait status, log in buf. */
static inline int srv_run(struct srv *s, const char *const args[], char *buf,
			  size_t len)
{
	pid_t pid = srv_spawn(s, args);
	int st;

	if (pid < 0)
		return -1;
	st = wait_exit(pid, 5000);
	if (st == -1) {
		kill(pid, SIGKILL);
		waitpid(pid, NULL, 0);
	}
	srv_log(s, buf, len);
	return st;
}

/* SIGTERM the server: its wait status (-1 if it had to be killed). */
static inline int srv_stop(struct srv *s)
{
	int st;

	if (s->pid <= 0)
		return -1;
	kill(s->pid, SIGTERM);
	st = wait_exit(s->pid, 5000);
	if (st == -1) {
		kill(s->pid, SIGKILL);
		waitpid(s->pid, NULL, 0);
	}
	s->pid = 0;
	return st;
}

static inline void srv_cleanup(struct srv *s)
{
	char path[256];

	if (s->pid > 0) {
		kill(s->pid, SIGKILL);
		waitpid(s->pid, NULL, 0);
		s->pid = 0;
	}
	if (!s->dir[0])
		return;
	unlink(s->sock);
	unlink(s->log);
	unlink(s->pidfile);
	snprintf(path, sizeof(path), "%s/file", s->dir);
	unlink(path);
	snprintf(path, sizeof(path), "%s/sock2", s->dir);
	unlink(path);
	rmdir(s->dir);
	if (s->shm_name[0])
		shm_unlink(s->shm_name);
}

static inline int count_fds(pid_t pid)
{
	char path[64];
	struct dirent *de;
	DIR *d;
	int n = 0;

	snprintf(path, sizeof(path), "/proc/%d/fd", (int)pid);
	d = opendir(path);
	if (!d)
		return -1;
	while ((de = readdir(d)))
		if (de->d_name[0] != '.')
			n++;
	closedir(d);
	return n;
}

/* Wait (up to 2 s) for the server's fd count to reach n; the count. */
static inline int wait_fds(pid_t pid, int n)
{
	uint64_t end = ms_now() + 2000;
	int c;

	while ((c = count_fds(pid)) != n && ms_now() < end)
		usleep(2000);
	return c;
}

/* ---- protocol client ---------------------------------------------------- */

static inline int cl_connect(const char *path)
{
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

	if (fd < 0)
		return -1;
	if (strlen(path) >= sizeof(sun.sun_path)) {
		close(fd);
		return -1;
	}
	memcpy(sun.sun_path, path, strlen(path) + 1);
	if (connect(fd, (struct sockaddr *)&sun, sizeof(sun)) < 0) {
		close(fd);
		return -1;
	}
	return fd;
}

/*
 * Receive one message.  1: got it (*fd -1 if none); 0: EOF;
 * -1: error; -2: timeout.
 */
static inline int recv_msg(int sock, int64_t *val, int *fd, int timeout_ms)
{
	union {
		struct cmsghdr h;
		char buf[CMSG_SPACE(sizeof(int) * 4)];
	} cm;
	unsigned char b[8];
	size_t got = 0;

	*fd = -1;
	while (got < 8) {
		struct pollfd pfd = { .fd = sock, .events = POLLIN };
		struct iovec iov = { b + got, 8 - got };
		struct msghdr mh = {
			.msg_iov = &iov, .msg_iovlen = 1,
			.msg_control = cm.buf, .msg_controllen = sizeof(cm.buf),
		};
		struct cmsghdr *c;
		ssize_t n;
		int r = poll(&pfd, 1, timeout_ms);

		if (r == 0)
			return -2;
		if (r < 0)
			return -1;
		n = recvmsg(sock, &mh, MSG_CMSG_CLOEXEC);
		if (n < 0)
			return -1;
		if (n == 0)
			return got ? -1 : 0;
		for (c = CMSG_FIRSTHDR(&mh); c; c = CMSG_NXTHDR(&mh, c)) {
			if (c->cmsg_level == SOL_SOCKET &&
			    c->cmsg_type == SCM_RIGHTS) {
				int nfd = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
				int i, fds[4];

				memcpy(fds, CMSG_DATA(c), nfd * sizeof(int));
				for (i = 0; i < nfd; i++) {
					if (*fd < 0)
						*fd = fds[i];
					else
						close(fds[i]);	/* protocol error */
				}
			}
		}
		got += n;
	}
	*val = (int64_t)((uint64_t)b[0] | (uint64_t)b[1] << 8 |
			 (uint64_t)b[2] << 16 | (uint64_t)b[3] << 24 |
			 (uint64_t)b[4] << 32 | (uint64_t)b[5] << 40 |
			 (uint64_t)b[6] << 48 | (uint64_t)b[7] << 56);
	return 1;
}

struct rpeer {
	int64_t id;
	int n;
	int fd[MAXV];
};

struct cl {
	int sock;
	int64_t id;
	int shm;
	int nvec;
	int npeers;
	struct rpeer peers[MAXP];
	int nown;
	int own[MAXV];
	int joins, leaves;	/* announcements after the handshake */
	int64_t last_leave;
	int64_t last_join;
	int errors;		/* protocol violations seen */
};

static inline struct rpeer *cl_find(struct cl *c, int64_t id)
{
	int i;

	for (i = 0; i < c->npeers; i++)
		if (c->peers[i].id == id)
			return &c->peers[i];
	return NULL;
}

static inline void cl_init(struct cl *c, int nvec)
{
	memset(c, 0, sizeof(*c));
	c->sock = -1;
	c->shm = -1;
	c->id = -1;
	c->nvec = nvec;
	c->last_leave = -1;
	c->last_join = -1;
}

/* Handle one post-version message: peer fds, own fds, or a departure. */
static inline void cl_handle(struct cl *c, int64_t val, int fd)
{
	struct rpeer *p;
	int i;

	if (val == -1) {
		if (c->shm >= 0 || fd < 0)
			c->errors++;
		if (c->shm >= 0 && fd >= 0)
			close(fd);
		else
			c->shm = fd;
		return;
	}
	if (val == c->id && fd >= 0) {
		if (c->nown < MAXV)
			c->own[c->nown++] = fd;
		else
			close(fd);
		return;
	}
	p = cl_find(c, val);
	if (fd >= 0) {
		if (!p) {
			if (c->npeers == MAXP) {
				c->errors++;
				close(fd);
				return;
			}
			p = &c->peers[c->npeers++];
			p->id = val;
			p->n = 0;
		}
		if (p->n < MAXV)
			p->fd[p->n++] = fd;
		else
			close(fd);
		if (p->n == c->nvec) {
			c->joins++;
			c->last_join = val;
		}
		return;
	}
	/* a departure */
	if (!p) {
		c->errors++;
		return;
	}
	if (p->n != c->nvec)
		c->errors++;
	for (i = 0; i < p->n; i++)
		close(p->fd[i]);
	*p = c->peers[--c->npeers];
	c->leaves++;
	c->last_leave = val;
}

/*
 * Connect and read the whole handshake: version, id, shm, peers, own fds.
 * 0 on success; -1 on error; 1 if the server closed the connection first.
 */
static inline int cl_open(struct cl *c, const char *path, int nvec)
{
	int64_t v;
	int fd, r;

	cl_init(c, nvec);
	c->sock = cl_connect(path);
	if (c->sock < 0)
		return -1;
	r = recv_msg(c->sock, &v, &fd, 3000);
	if (r == 0)
		return 1;
	if (r != 1 || v != 0 || fd >= 0)
		return -1;
	r = recv_msg(c->sock, &v, &fd, 3000);
	if (r != 1 || v < 0 || v > 65535 || fd >= 0)
		return -1;
	c->id = v;
	while (c->nown < nvec) {
		r = recv_msg(c->sock, &v, &fd, 3000);
		if (r != 1)
			return -1;
		cl_handle(c, v, fd);
	}
	c->joins = 0;
	return c->shm >= 0 && !c->errors ? 0 : -1;
}

/* Process messages for up to timeout_ms; returns EOF (0) or 1/-2 as usual. */
static inline int cl_poll(struct cl *c, int timeout_ms)
{
	int64_t v;
	int fd, r;

	for (;;) {
		r = recv_msg(c->sock, &v, &fd, timeout_ms);
		if (r != 1)
			return r;
		cl_handle(c, v, fd);
	}
}

/* Read until peer id has left (or timeout): 0 if seen. */
static inline int cl_wait_leave(struct cl *c, int64_t id, int timeout_ms)
{
	uint64_t end = ms_now() + timeout_ms;
	int64_t v;
	int fd;

	while (ms_now() < end) {
		if (recv_msg(c->sock, &v, &fd, (int)(end - ms_now()) + 1) != 1)
			return -1;
		cl_handle(c, v, fd);
		if (fd < 0 && v == id)
			return 0;
	}
	return -1;
}

/* Read until n departures in all have been seen: 0 if so. */
static inline int cl_wait_leaves(struct cl *c, int n, int timeout_ms)
{
	uint64_t end = ms_now() + timeout_ms;
	int64_t v;
	int fd;

	while (c->leaves < n && ms_now() < end) {
		if (recv_msg(c->sock, &v, &fd, (int)(end - ms_now()) + 1) != 1)
			return -1;
		cl_handle(c, v, fd);
	}
	return c->leaves >= n ? 0 : -1;
}

/* Read until peer id has fully joined (all vectors): 0 if seen. */
static inline int cl_wait_join(struct cl *c, int64_t id, int timeout_ms)
{
	uint64_t end = ms_now() + timeout_ms;
	struct rpeer *p;
	int64_t v;
	int fd;

	while (ms_now() < end) {
		if (recv_msg(c->sock, &v, &fd, (int)(end - ms_now()) + 1) != 1)
			return -1;
		cl_handle(c, v, fd);
		p = cl_find(c, id);
		if (v == id && p && p->n == c->nvec)
			return 0;
	}
	return -1;
}

static inline void cl_close(struct cl *c)
{
	int i, j;

	if (c->sock >= 0)
		close(c->sock);
	if (c->shm >= 0)
		close(c->shm);
	for (i = 0; i < c->nown; i++)
		close(c->own[i]);
	for (i = 0; i < c->npeers; i++)
		for (j = 0; j < c->peers[i].n; j++)
			close(c->peers[i].fd[j]);
	cl_init(c, c->nvec);
}

/* Ring an eventfd; check (and consume) whether another one was rung. */
static inline int efd_ring(int fd)
{
	uint64_t one = 1;

	return write(fd, &one, 8) == 8 ? 0 : -1;
}

static inline int efd_rung(int fd, int timeout_ms)
{
	struct pollfd pfd = { .fd = fd, .events = POLLIN };
	uint64_t v;

	if (poll(&pfd, 1, timeout_ms) != 1)
		return 0;
	return read(fd, &v, 8) == 8 && v > 0;
}

#endif /* SERVER_HELPERS_H */
