// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * libivshm guest backend: /dev/ivshmN of the ivshm driver.  Maps BAR2
 * through the device, rings with IVSHM_RING, and binds one eventfd per
 * vector with IVSHM_SET_EVENTFDS.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

#include "uapi/linux/ivshm.h"
#include "ivshm.h"
#include "backend.h"

struct guest {
	int fd;
	struct ivshm_info info;
	int *efd;
};

static void guest_close(struct ivshm_dev *dev)
{
	struct guest *g = dev->priv;
	unsigned int i;

	if (!g)
		return;
	if (g->efd) {
		for (i = 0; i < g->info.vectors; i++)
			if (g->efd[i] >= 0)
				close(g->efd[i]);
		free(g->efd);
	}
	if (g->fd >= 0)
		close(g->fd);
	free(g);
	dev->priv = NULL;
}

static int guest_ring(struct ivshm_dev *dev, unsigned int peer,
		      unsigned int vector)
{
	struct guest *g = dev->priv;
	struct ivshm_doorbell db;

	if (peer > IVSHM_MAX_PEER || vector > IVSHM_MAX_VECTOR)
		return -EINVAL;
	memset(&db, 0, sizeof(db));
	db.argsz = sizeof(db);
	db.peer = peer;
	db.vector = vector;
	if (ioctl(g->fd, IVSHM_RING, &db) < 0)
		return -errno;
	return 0;
}

static const struct ivshm_backend_ops guest_ops = {
	.name = "guest",
	.kind = IVSHM_BACKEND_GUEST,
	.close = guest_close,
	.ring = guest_ring,
};

/* Create and bind one eventfd per vector; 0 or -errno. */
static int guest_bind(struct guest *g)
{
	unsigned int i, n = g->info.vectors;
	struct ivshm_eventfds *a;
	size_t sz = sizeof(*a) + n * sizeof(a->fds[0]);
	int ret = 0;

	g->efd = malloc(n * sizeof(int));
	a = calloc(1, sz);
	if (!g->efd || !a) {
		free(a);
		return -ENOMEM;
	}
	for (i = 0; i < n; i++)
		g->efd[i] = -1;
	for (i = 0; i < n; i++) {
		g->efd[i] = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
		if (g->efd[i] < 0) {
			ret = -errno;
			goto out;
		}
		a->fds[i] = g->efd[i];
	}
	a->argsz = sz;
	a->start = 0;
	a->count = n;
	if (ioctl(g->fd, IVSHM_SET_EVENTFDS, a) < 0)
		ret = -errno;
out:
	free(a);
	return ret;
}

static void guest_unbind(struct guest *g)
{
	unsigned int i;

	if (!g->efd)
		return;
	for (i = 0; i < g->info.vectors; i++)
		if (g->efd[i] >= 0)
			close(g->efd[i]);
	free(g->efd);
	g->efd = NULL;
}

int ivshm_guest_open(struct ivshm_dev *dev, const char *path,
		     unsigned int flags)
{
	struct guest *g;
	void *base;
	int ret;

	(void)flags;
	g = calloc(1, sizeof(*g));
	if (!g)
		return -ENOMEM;
	dev->priv = g;
	dev->ops = &guest_ops;
	g->fd = open(path, O_RDWR | O_CLOEXEC);
	if (g->fd < 0) {
		ret = -errno;
		goto fail;
	}
	g->info.argsz = sizeof(g->info);
	if (ioctl(g->fd, IVSHM_GET_INFO, &g->info) < 0) {
		ret = errno == ENOTTY || errno == EINVAL ? -ENODEV : -errno;
		goto fail;
	}
	if (!g->info.size || g->info.size > SIZE_MAX) {
		ret = -ENODEV;
		goto fail;
	}
	base = mmap(NULL, g->info.size, PROT_READ | PROT_WRITE, MAP_SHARED,
		    g->fd, 0);
	if (base == MAP_FAILED) {
		ret = -errno;
		goto fail;
	}
	dev->base = base;
	dev->size = g->info.size;
	if (g->info.mode != IVSHM_MODE_DOORBELL)
		return 0;

	dev->doorbells = true;
	dev->peer_id = (int)g->info.peer_id;
	dev->nvec = g->info.vectors;
	dev->hup_fd = g->fd;
	if (!dev->nvec) {
		dev->rx_err = ENXIO;
		return 0;
	}
	ret = guest_bind(g);
	if (ret == -ENXIO || (ret < 0 && g->info.irq_mode == IVSHM_IRQ_NONE)) {
		/* Memory and ringing work, receiving does not. */
		guest_unbind(g);
		dev->rx_err = ENXIO;
		return 0;
	}
	if (ret < 0)
		goto fail;
	dev->vfd = g->efd;
	return 0;
fail:
	if (dev->base) {
		munmap(dev->base, dev->size);
		dev->base = NULL;
	}
	guest_close(dev);
	return ret;
}
