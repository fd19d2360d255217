// SPDX-License-Identifier: GPL-2.0-only
/*
 * ivshm-server: the listening UNIX socket.  A socket file left by a dead
 * server is replaced; a live server on the same path is never displaced.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "ivshm-server.h"

static int make_addr(const char *path, struct sockaddr_un *sun)
{
	memset(sun, 0, sizeof(*sun));
	sun->sun_family = AF_UNIX;
	if (strlen(path) >= sizeof(sun->sun_path)) {
		log_err("socket path '%s' is too long (at most %zu bytes)",
			path, sizeof(sun->sun_path) - 1);
		return -1;
	}
	strcpy(sun->sun_path, path);
	return 0;
}

/* 1: a server is listening; 0: stale socket file removed; -1: error. */
static int check_existing(const char *path, const struct sockaddr_un *sun)
{
	struct stat st;
	int fd, ret;

	if (lstat(path, &st) < 0) {
		if (errno == ENOENT)
			return 0;
		log_err("cannot stat '%s': %m", path);
		return -1;
	}
	if (!S_ISSOCK(st.st_mode)) {
		log_err("'%s' exists and is not a socket; refusing to replace it",
			path);
		return -1;
	}
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		log_err("socket: %m");
		return -1;
	}
	ret = connect(fd, (const struct sockaddr *)sun, sizeof(*sun));
	close(fd);
	if (ret == 0 || errno == EAGAIN) {
		log_err("another server is listening on '%s'", path);
		return 1;
	}
	if (errno != ECONNREFUSED) {
		log_err("cannot probe existing socket '%s': %m", path);
		return -1;
	}
	if (unlink(path) < 0 && errno != ENOENT) {
		log_err("cannot remove stale socket '%s': %m", path);
		return -1;
	}
	log_info("removed stale socket '%s'", path);
	return 0;
}

int listener_setup(const struct config *cfg, struct listener *l)
{
	const char *path = cfg->socket_path;
	struct sockaddr_un sun;
	struct stat st;
	int fd;

	l->fd = -1;
	l->path = NULL;
	if (make_addr(path, &sun) < 0)
		return -1;
	if (check_existing(path, &sun))
		return -1;

	/* Keep an absolute path: detaching changes directory to /. */
	if (path[0] == '/') {
		l->path = strdup(path);
	} else {
		char *cwd = getcwd(NULL, 0);

		if (cwd && asprintf(&l->path, "%s/%s", cwd, path) < 0)
			l->path = NULL;
		free(cwd);
	}
	if (!l->path) {
		log_err("cannot resolve socket path '%s': %m", path);
		return -1;
	}

	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		log_err("socket: %m");
		goto err;
	}
	if (bind(fd, (struct sockaddr *)&sun, sizeof(sun)) < 0) {
		log_err("cannot bind '%s': %m", path);
		goto err_close;
	}
	if (cfg->socket_group_given &&
	    chown(path, (uid_t)-1, cfg->socket_gid) < 0) {
		log_err("cannot chgrp '%s' to %u: %m", path,
			(unsigned int)cfg->socket_gid);
		goto err_unlink;
	}
	if (cfg->socket_mode_given && chmod(path, cfg->socket_mode) < 0) {
		log_err("cannot chmod '%s' to %o: %m", path,
			(unsigned int)cfg->socket_mode);
		goto err_unlink;
	}
	if (listen(fd, SOMAXCONN) < 0) {
		log_err("cannot listen on '%s': %m", path);
		goto err_unlink;
	}
	if (lstat(path, &st) == 0) {
		l->dev = st.st_dev;
		l->ino = st.st_ino;
	}
	l->fd = fd;
	return 0;

err_unlink:
	unlink(path);
err_close:
	close(fd);
err:
	free(l->path);
	l->path = NULL;
	return -1;
}

void listener_cleanup(struct listener *l)
{
	struct stat st;

	if (l->fd >= 0)
		close(l->fd);
	l->fd = -1;
	/* Remove the socket file only if it is still ours. */
	if (l->path && lstat(l->path, &st) == 0 && st.st_dev == l->dev &&
	    st.st_ino == l->ino)
		unlink(l->path);
	free(l->path);
	l->path = NULL;
}
