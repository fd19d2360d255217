/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * libivshm private: the device handle and the backend operations behind
 * it.  device.c owns the generic parts (the "all" epoll fd, waiting on
 * vector fds); a backend fills in the mapping, ids and vector fds.
 */
#ifndef IVSHM_BACKEND_H
#define IVSHM_BACKEND_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ivshm.h"

struct ivshm_dev;

struct ivshm_backend_ops {
	const char *name;
	unsigned int kind;		/* IVSHM_BACKEND_* */
	/* Release everything the backend owns (not the handle). */
	void (*close)(struct ivshm_dev *dev);
	/* Optional; NULL means -EOPNOTSUPP. */
	int (*ring)(struct ivshm_dev *dev, unsigned int peer,
		    unsigned int vector);
	int (*peers)(struct ivshm_dev *dev, uint16_t *ids, unsigned int max);
	int (*event_fd)(struct ivshm_dev *dev);
	int (*process_events)(struct ivshm_dev *dev, int timeout_ms);
	/* > 0 connected, 0 known gone, < 0 unknown */
	int (*peer_alive)(struct ivshm_dev *dev, unsigned int peer);
};

struct ivshm_dev {
	const struct ivshm_backend_ops *ops;
	void *priv;			/* backend state */
	void *base;			/* whole mapping, MAP_SHARED */
	size_t size;
	uint32_t seals;			/* F_GET_SEALS of the memory at open */
	int peer_id;			/* -1: none (no doorbells) */
	bool doorbells;			/* can ring (and normally receive) */
	unsigned int nvec;		/* vectors we receive on */
	int *vfd;			/* nvec eventfds (backend-owned), or
					 * NULL if we cannot receive */
	int rx_err;			/* errno when vfd is NULL (positive) */
	int hup_fd;			/* polled for EPOLLHUP alongside, or -1 */
	int all_fd;			/* epoll over vfd (device.c), or -1 */
	ivshm_event_cb cb;
	void *cb_arg;
};

/* Backends: fill *dev (ops, priv, mapping, ids, fds); 0 or -errno. */
int ivshm_guest_open(struct ivshm_dev *dev, const char *path,
		     unsigned int flags);
int ivshm_unix_open(struct ivshm_dev *dev, const char *path,
		    unsigned int flags);
int ivshm_shm_open(struct ivshm_dev *dev, const char *path,
		   unsigned int flags);

/* Monotonic milliseconds. */
uint64_t ivshm_now_ms(void);

#endif /* IVSHM_BACKEND_H */
