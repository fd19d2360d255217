// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * libivshm device layer: target parsing, dispatch to the backends, and the
 * backend-independent doorbell waiting (vector eventfds and one epoll fd
 * over all of them).
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include "ivshm.h"
#include "backend.h"
#include "keep_errno.h"
#include "sized.h"

_Static_assert(sizeof(struct ivshm_dev_info) == IVSHM_INFO_SIZE_V1, "V1");
_Static_assert(sizeof(struct ivshm_fired) == IVSHM_FIRED_SIZE_V1, "V1");
_Static_assert(sizeof(struct ivshm_sigctx) == IVSHM_SIGCTX_SIZE_V1, "V1");
_Static_assert(sizeof(struct ivshm_signal) == IVSHM_SIGNAL_SIZE_V1, "V1");

uint64_t ivshm_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static int build_all_fd(struct ivshm_dev *dev)
{
	struct epoll_event ev;
	unsigned int v;
	int ep;

	ep = epoll_create1(EPOLL_CLOEXEC);
	if (ep < 0)
		return -errno;
	for (v = 0; v < dev->nvec; v++) {
		memset(&ev, 0, sizeof(ev));
		ev.events = EPOLLIN;
		ev.data.u32 = v;
		if (epoll_ctl(ep, EPOLL_CTL_ADD, dev->vfd[v], &ev) < 0)
			goto fail;
	}
	if (dev->hup_fd >= 0) {
		memset(&ev, 0, sizeof(ev));
		ev.events = 0;		/* EPOLLHUP/EPOLLERR are implicit */
		ev.data.u32 = UINT32_MAX;
		if (epoll_ctl(ep, EPOLL_CTL_ADD, dev->hup_fd, &ev) < 0)
			goto fail;
	}
	dev->all_fd = ep;
	return 0;
fail:
	v = errno;
	close(ep);
	return -(int)v;
}

IVSHM_EXPORT struct ivshm_dev *ivshm_open(const char *target,
					  unsigned int flags)
{
	struct ivshm_dev *dev;
	int saved_errno = errno;
	int ret;

	if (!target || !*target || (flags & ~IVSHM_OPEN_VECTORS_MASK)) {
		errno = EINVAL;
		return NULL;
	}
	dev = calloc(1, sizeof(*dev));
	if (!dev)
		return NULL;
	dev->peer_id = -1;
	dev->hup_fd = -1;
	dev->all_fd = -1;
	if (!strncmp(target, "unix:", 5))
		ret = ivshm_unix_open(dev, target + 5, flags);
	else if (!strncmp(target, "shm:", 4))
		ret = ivshm_shm_open(dev, target + 4, flags);
	else if (target[0] == '/')
		ret = ivshm_guest_open(dev, target, flags);
	else
		ret = -EINVAL;
	if (ret < 0) {
		free(dev);
		errno = -ret;
		return NULL;
	}
	if (dev->vfd) {
		ret = build_all_fd(dev);
		if (ret < 0) {
			ivshm_close(dev);
			errno = -ret;
			return NULL;
		}
	}
	/* a constructor changes errno only when it fails */
	errno = saved_errno;
	return dev;
}

IVSHM_EXPORT void ivshm_close(struct ivshm_dev *dev)
{
	int saved = errno;

	if (!dev)
		return;
	if (dev->all_fd >= 0)
		close(dev->all_fd);
	if (dev->base)
		munmap(dev->base, dev->size);
	dev->ops->close(dev);
	free(dev);
	errno = saved;
}

IVSHM_EXPORT size_t ivshm_size(const struct ivshm_dev *dev)
{
	return dev->size;
}

IVSHM_EXPORT void *ivshm_base(const struct ivshm_dev *dev)
{
	return dev->base;
}

IVSHM_EXPORT int ivshm_dev_info(const struct ivshm_dev *dev, struct ivshm_dev_info *info)
{
	struct ivshm_dev_info full = {
		.size = sizeof(full),
		.backend = dev->ops->kind,
		.seals = dev->seals,
		.mem_size = dev->size,
	};

	if (!info || info->size < IVSHM_INFO_SIZE_V1)
		return -EINVAL;
	if (dev->doorbells)
		full.flags |= IVSHM_INFO_DOORBELLS;
	if (dev->seals & F_SEAL_SHRINK)
		full.flags |= IVSHM_INFO_SEALED;
	/* An older caller gets the fields it knows; it learns how many. */
	sized_copy(info, info->size, &full, sizeof(full));
	return 0;
}

IVSHM_EXPORT int ivshm_peer_id(const struct ivshm_dev *dev)
{
	if (dev->peer_id < 0)
		return -EOPNOTSUPP;
	return dev->peer_id;
}

IVSHM_EXPORT int ivshm_vectors(const struct ivshm_dev *dev)
{
	return (int)dev->nvec;
}

IVSHM_EXPORT int ivshm_peers(struct ivshm_dev *dev, uint16_t *ids,
			     unsigned int max)
{
	KEEP_ERRNO;

	if (!dev->ops->peers)
		return -EOPNOTSUPP;
	return dev->ops->peers(dev, ids, max);
}

IVSHM_EXPORT int ivshm_ring(struct ivshm_dev *dev, unsigned int peer,
			    unsigned int vector)
{
	KEEP_ERRNO;

	if (!dev->ops->ring || !dev->doorbells)
		return -EOPNOTSUPP;
	if (peer > 0xffff)
		return -EINVAL;
	/* Our stores to the shared memory before the doorbell. */
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	return dev->ops->ring(dev, peer, vector);
}

/* Whether receiving works at all: 0 or -errno. */
static int rx_check(struct ivshm_dev *dev)
{
	if (!dev->doorbells)
		return -EOPNOTSUPP;
	if (!dev->vfd)
		return dev->rx_err ? -dev->rx_err : -EOPNOTSUPP;
	return 0;
}

/* Read (consume) an eventfd: its count, 0 if not signalled, or -errno. */
static int64_t efd_take(int fd)
{
	uint64_t v;
	ssize_t n = read(fd, &v, sizeof(v));

	if (n == (ssize_t)sizeof(v))
		return v > INT64_MAX ? INT64_MAX : (int64_t)v;
	if (n < 0 && errno == EAGAIN)
		return 0;
	return n < 0 ? -errno : -EIO;
}

static int clamp_count(int64_t c)
{
	return c > INT32_MAX ? INT32_MAX : (int)c;
}

/* Milliseconds left until @end (-1 stays -1). */
static int left_ms(int timeout_ms, uint64_t end)
{
	uint64_t now;

	if (timeout_ms < 0)
		return -1;
	now = ivshm_now_ms();
	return now >= end ? 0 : (int)(end - now);
}

IVSHM_EXPORT int ivshm_wait(struct ivshm_dev *dev, unsigned int vector,
			    int timeout_ms)
{
	uint64_t end = ivshm_now_ms() + (timeout_ms > 0 ? timeout_ms : 0);
	struct pollfd p[2];
	int ret;
	KEEP_ERRNO;

	ret = rx_check(dev);
	if (ret < 0)
		return ret;
	if (vector >= dev->nvec)
		return -EINVAL;
	for (;;) {
		int64_t c = efd_take(dev->vfd[vector]);

		if (c)
			return c < 0 ? (int)c : clamp_count(c);
		p[0].fd = dev->vfd[vector];
		p[0].events = POLLIN;
		p[1].fd = dev->hup_fd;
		p[1].events = 0;
		p[0].revents = p[1].revents = 0;
		ret = poll(p, dev->hup_fd >= 0 ? 2 : 1,
			   left_ms(timeout_ms, end));
		if (ret < 0)
			return -errno;
		if (p[1].revents & (POLLHUP | POLLERR))
			return -ENODEV;
		if (ret == 0)
			return -ETIMEDOUT;
	}
}

IVSHM_EXPORT int ivshm_wait_any(struct ivshm_dev *dev, struct ivshm_fired *ev,
				unsigned int max, int timeout_ms)
{
	uint64_t end = ivshm_now_ms() + (timeout_ms > 0 ? timeout_ms : 0);
	unsigned int v, n;
	uint32_t stride;
	int ret;
	KEEP_ERRNO;

	ret = rx_check(dev);
	if (ret < 0)
		return ret;
	if (!ev || !max)
		return -EINVAL;
	/* the caller's record size, read before any record is written */
	stride = ev->size;
	if (stride < IVSHM_FIRED_SIZE_V1)
		return -EINVAL;
	for (;;) {
		struct epoll_event e[8];
		int i;

		n = 0;
		for (v = 0; v < dev->nvec && n < max; v++) {
			int64_t c = efd_take(dev->vfd[v]);
			struct ivshm_fired f = {
				.size = sizeof(f),
				.vector = v,
				.count = (uint64_t)c,
			};

			if (c < 0 && !n)
				return (int)c;
			if (c <= 0)
				continue;
			sized_copy((char *)ev + (size_t)n * stride, stride,
				   &f, sizeof(f));
			n++;
		}
		if (n)
			return (int)n;
		ret = epoll_wait(dev->all_fd, e, 8, left_ms(timeout_ms, end));
		if (ret < 0)
			return -errno;
		if (ret == 0)
			return -ETIMEDOUT;
		for (i = 0; i < ret; i++)
			if (e[i].data.u32 == UINT32_MAX &&
			    (e[i].events & (EPOLLHUP | EPOLLERR)))
				return -ENODEV;
	}
}

IVSHM_EXPORT int ivshm_vector_fd(struct ivshm_dev *dev, unsigned int vector)
{
	int ret = rx_check(dev);

	if (ret < 0)
		return ret;
	if (vector >= dev->nvec)
		return -EINVAL;
	return dev->vfd[vector];
}

IVSHM_EXPORT int ivshm_all_fd(struct ivshm_dev *dev)
{
	int ret = rx_check(dev);

	if (ret < 0)
		return ret;
	return dev->all_fd;
}

IVSHM_EXPORT int ivshm_set_event_cb(struct ivshm_dev *dev, ivshm_event_cb cb,
				    void *arg)
{
	if (!dev->ops->process_events)
		return -EOPNOTSUPP;
	dev->cb = cb;
	dev->cb_arg = arg;
	return 0;
}

IVSHM_EXPORT int ivshm_event_fd(struct ivshm_dev *dev)
{
	KEEP_ERRNO;

	if (!dev->ops->event_fd)
		return -EOPNOTSUPP;
	return dev->ops->event_fd(dev);
}

IVSHM_EXPORT int ivshm_process_events(struct ivshm_dev *dev, int timeout_ms)
{
	KEEP_ERRNO;

	if (!dev->ops->process_events)
		return -EOPNOTSUPP;
	return dev->ops->process_events(dev, timeout_ms);
}

static int sig_notify(void *arg)
{
	struct ivshm_sigctx *c = arg;

	return ivshm_ring(c->dev, c->peer, c->tx_vector);
}

static int sig_wait(void *arg, int timeout_ms)
{
	struct ivshm_sigctx *c = arg;
	int ret = ivshm_wait(c->dev, c->rx_vector, timeout_ms);

	return ret > 0 ? 0 : ret;
}

static int sig_peer_alive(void *arg)
{
	struct ivshm_sigctx *c = arg;
	KEEP_ERRNO;

	return c->dev->ops->peer_alive(c->dev, c->peer);
}

IVSHM_EXPORT int ivshm_dev_signal(struct ivshm_dev *dev, unsigned int peer,
				  unsigned int tx_vector,
				  unsigned int rx_vector,
				  struct ivshm_sigctx *ctx,
				  struct ivshm_signal *sig)
{
	struct ivshm_signal full = {
		.size = sizeof(full),
		.notify = sig_notify,
		.wait = sig_wait,
		.peer_alive = dev->ops->peer_alive ? sig_peer_alive : NULL,
		.ctx = ctx,
	};
	int ret = rx_check(dev);

	if (ret < 0)
		return ret;
	/* every field of both is needed: V1 is the least either may be */
	if (!ctx || !sig || ctx->size < IVSHM_SIGCTX_SIZE_V1 ||
	    sig->size < IVSHM_SIGNAL_SIZE_V1 || peer > 0xffff ||
	    rx_vector >= dev->nvec || tx_vector > 0xffff)
		return -EINVAL;
	ctx->dev = dev;
	ctx->peer = peer;
	ctx->tx_vector = tx_vector;
	ctx->rx_vector = rx_vector;
	full.fd = dev->vfd[rx_vector];
	sized_copy(sig, sig->size, &full, sizeof(full));
	return 0;
}
