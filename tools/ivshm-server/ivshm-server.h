/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * ivshm-server: shared declarations.
 *
 * The server speaks QEMU's ivshmem server protocol (docs/specs/ivshmem-spec.rst
 * in the QEMU tree): server -> client only, one little-endian int64 per
 * message, optionally carrying one file descriptor (SCM_RIGHTS).
 */
#ifndef IVSHM_SERVER_H
#define IVSHM_SERVER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include <ivshm.h>

#define PROG			"ivshm-server"
/* the project's version (ivshm.h is its one source; no library code) */
#define IVSHM_SERVER_VERSION	IVSHM_VERSION_STRING

#define DEFAULT_SOCKET		"/tmp/ivshmem_socket"
#define DEFAULT_SIZE		(4ULL << 20)
#define DEFAULT_VECTORS		1
#define MAX_VECTORS		1024
#define QEMU_MAX_VECTORS	256	/* QEMU decodes 8 doorbell vector bits */
/* contrib/ivshmem-client's IVSHMEM_CLIENT_MAX_VECTORS */
#define QEMU_CLIENT_MAX_VECTORS	64
#define DEFAULT_MAX_PEERS	64
#define MAX_PEERS		65536	/* peer ids are 0..65535 */
#define MAX_SIZE		(1ULL << 62)
/*
 * Sent in place of the protocol version (0) to a client refused for
 * --max-peers, before closing: libivshm reports EUSERS ("too many
 * users", hence the value); QEMU, like any client that checks the
 * version, gives up with a version mismatch.  See ivshm-server(8).
 */
#define PROTO_SERVER_FULL	(-87)

/*
 * Only a memfd can be sealed against resizing; every peer of the other
 * kinds can be killed (SIGBUS) by anyone who can truncate the memory.
 */
enum shm_kind {
	SHM_MEMFD,	/* memfd_create(), sealed: --memfd (the default) */
	SHM_POSIX,	/* shm_open(name): -M, --shm-name */
	SHM_DIR,	/* unlinked temporary file in a directory: -m */
	SHM_FILE,	/* a named file, kept: --shm-file */
};

struct config {
	const char *socket_path;
	enum shm_kind shm_kind;
	const char *shm_name;	/* POSIX name, directory or file path */
	uint64_t size;
	bool size_given;
	bool round_up;
	unsigned int vectors;
	unsigned int max_peers;
	unsigned int queue_limit;	/* 0: automatic */
	mode_t socket_mode;
	bool socket_mode_given;
	gid_t socket_gid;
	bool socket_group_given;
	mode_t shm_mode;
	const char *pidfile;
	bool daemonize;
	bool keep_shm;
	int verbose;
};

/* options.c */
int parse_options(struct config *cfg, int argc, char **argv);
int parse_size(const char *s, uint64_t *out);
void fmt_size(uint64_t size, char *buf, size_t len);

/* log.c */
void log_use_syslog(void);
void log_err(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_info(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_dbg(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
extern int log_verbose;

/* shm.c */
struct shm {
	int fd;
	uint64_t size;
	char *unlink_name;	/* POSIX name to shm_unlink() on exit, or NULL */
	bool sealed;		/* cannot shrink or grow (memfd seals) */
	char desc[512];		/* for the start-up line */
};
int shm_setup(const struct config *cfg, struct shm *shm);
void shm_cleanup(struct shm *shm, bool keep);

/* sock.c */
struct listener {
	int fd;
	char *path;		/* absolute path, to unlink on exit */
	dev_t dev;		/* the socket file we created */
	ino_t ino;
};
int listener_setup(const struct config *cfg, struct listener *l);
void listener_cleanup(struct listener *l);

/* server.c */
int server_run(const struct config *cfg, int shm_fd, int listen_fd,
	       int sig_fd);

/* main.c */
void notify_ready(void);

#endif /* IVSHM_SERVER_H */
