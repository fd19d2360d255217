// SPDX-License-Identifier: GPL-2.0-only
/*
 * ivshm-server: a server for QEMU's ivshmem-doorbell devices and host peers.
 *
 * main.c: start-up (options, limits, signals, memory, socket), detaching
 * (the default, as for QEMU's server; -F stays), the pidfile, readiness
 * notification and clean shutdown.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "ivshm-server.h"

/* Every peer costs one fd per vector: allow as many as we may. */
static void raise_nofile(void)
{
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
}

static char *abs_path(const char *path)
{
	char *cwd, *res = NULL;

	if (path[0] == '/')
		return strdup(path);
	cwd = getcwd(NULL, 0);
	if (cwd && asprintf(&res, "%s/%s", cwd, path) < 0)
		res = NULL;
	free(cwd);
	return res;
}

static int write_pidfile(const char *path)
{
	char buf[32];
	int fd, len;

	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW,
		  0644);
	if (fd < 0) {
		log_err("cannot create pidfile '%s': %m", path);
		return -1;
	}
	len = snprintf(buf, sizeof(buf), "%d\n", (int)getpid());
	if (write(fd, buf, len) != len) {
		log_err("cannot write pidfile '%s': %m", path);
		close(fd);
		unlink(path);
		return -1;
	}
	close(fd);
	return 0;
}

/*
 * Detach: fork twice, start a new session, chdir to /, stdio to /dev/null.
 * The original process exits only once the server is ready (its pidfile
 * written), with status 0, or 1 if the server failed first.
 */
static int daemonize(int *ready_fd)
{
	int pipefd[2], fd;
	pid_t pid;
	char c = 0;

	if (pipe2(pipefd, O_CLOEXEC) < 0) {
		log_err("pipe: %m");
		return -1;
	}
	pid = fork();
	if (pid < 0) {
		log_err("fork: %m");
		return -1;
	}
	if (pid > 0) {
		close(pipefd[1]);
		while (read(pipefd[0], &c, 1) < 0 && errno == EINTR)
			;
		_exit(c == 'R' ? 0 : 1);
	}
	close(pipefd[0]);
	if (setsid() < 0) {
		log_err("setsid: %m");
		_exit(1);
	}
	pid = fork();
	if (pid < 0) {
		log_err("fork: %m");
		_exit(1);
	}
	if (pid > 0)
		_exit(0);
	if (chdir("/") < 0)
		log_warn("chdir /: %m");
	umask(022);
	fd = open("/dev/null", O_RDWR);
	if (fd >= 0) {
		dup2(fd, STDIN_FILENO);
		dup2(fd, STDOUT_FILENO);
		dup2(fd, STDERR_FILENO);
		if (fd > STDERR_FILENO)
			close(fd);
	}
	log_use_syslog();
	*ready_fd = pipefd[1];
	return 0;
}

static int ready_fd = -1;

/* Tell whoever started us that we serve: the detaching parent, systemd. */
void notify_ready(void)
{
	const char *ns = getenv("NOTIFY_SOCKET");
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	socklen_t len;
	int fd;

	if (ready_fd >= 0) {
		if (write(ready_fd, "R", 1) < 0)
			log_warn("cannot notify the parent: %m");
		close(ready_fd);
		ready_fd = -1;
	}
	if (!ns || (ns[0] != '/' && ns[0] != '@') ||
	    strlen(ns) >= sizeof(sun.sun_path))
		return;
	strcpy(sun.sun_path, ns);
	len = offsetof(struct sockaddr_un, sun_path) + strlen(ns);
	if (ns[0] == '@')
		sun.sun_path[0] = '\0';
	fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return;
	if (sendto(fd, "READY=1", 7, MSG_NOSIGNAL, (struct sockaddr *)&sun,
		   len) < 0)
		log_warn("sd_notify: %m");
	close(fd);
	unsetenv("NOTIFY_SOCKET");
}

static void log_start(const struct config *cfg, const struct listener *lis,
		      const struct shm *shm)
{
	char sz[32];

	fmt_size(shm->size, sz, sizeof(sz));
	log_info("listening on %s: shm %s, size %s (%llu bytes), %u vector%s, max %u peers",
		 lis->path, shm->desc, sz, (unsigned long long)shm->size,
		 cfg->vectors, cfg->vectors == 1 ? "" : "s", cfg->max_peers);
}

int main(int argc, char **argv)
{
	struct listener lis = { .fd = -1 };
	struct shm shm = { .fd = -1 };
	char *pidfile = NULL;
	struct config cfg;
	sigset_t set;
	int sig_fd = -1, ret = 1;

	if (parse_options(&cfg, argc, argv) < 0)
		return 2;
	log_verbose = cfg.verbose;
	raise_nofile();
	signal(SIGPIPE, SIG_IGN);

	/* Blocked now, read through a signalfd by the event loop. */
	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGHUP);
	sigprocmask(SIG_BLOCK, &set, NULL);

	if (cfg.pidfile) {
		pidfile = abs_path(cfg.pidfile);
		if (!pidfile) {
			log_err("cannot resolve pidfile path: %m");
			return 1;
		}
	}
	if (shm_setup(&cfg, &shm) < 0)
		goto out;
	if (!shm.sealed)
		log_warn("the memory (%s) cannot be sealed: a process that truncates it kills the peers using it (SIGBUS); the default --memfd is sealed",
			 shm.desc);
	if (listener_setup(&cfg, &lis) < 0)
		goto out;

	/*
	 * The start-up line goes to stderr before we detach; in the
	 * foreground, it follows the pidfile, so a pidfile exists when the
	 * line appears.
	 */
	if (cfg.daemonize) {
		log_start(&cfg, &lis, &shm);
		if (daemonize(&ready_fd) < 0)
			goto out;
	}
	if (pidfile && write_pidfile(pidfile) < 0) {
		free(pidfile);
		pidfile = NULL;
		goto out;
	}
	if (!cfg.daemonize)
		log_start(&cfg, &lis, &shm);
	sig_fd = signalfd(-1, &set, SFD_NONBLOCK | SFD_CLOEXEC);
	if (sig_fd < 0) {
		log_err("signalfd: %m");
		goto out;
	}
	if (server_run(&cfg, shm.fd, lis.fd, sig_fd) == 0)
		ret = 0;
out:
	if (sig_fd >= 0)
		close(sig_fd);
	listener_cleanup(&lis);
	shm_cleanup(&shm, cfg.keep_shm);
	if (pidfile)
		unlink(pidfile);
	free(pidfile);
	if (ret == 0)
		log_dbg("exiting");
	return ret;
}
