// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * libivshm host backends.
 *
 * unix:PATH  a peer of an ivshm-server, like QEMU's ivshmem-doorbell: the
 *            server protocol (one-way, server to client; one little-endian
 *            int64 per message, optionally with one fd): version 0, our id,
 *            -1 with the shared-memory fd, then every peer's eventfds (one
 *            per vector, its id repeated), then our own; later an id with
 *            an fd announces (part of) a joining peer, an id without one a
 *            departure.  There is no end-of-setup marker: see ivshm.h for
 *            when the handshake is considered complete.
 * shm:PATH   an existing file mapped MAP_SHARED: memory only.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "ivshm.h"
#include "backend.h"

_Static_assert(sizeof(struct ivshm_peer_event) == IVSHM_PEER_EVENT_SIZE_V1, "V1");

#define MAX_VECTORS	1024		/* per peer; ivshm-server's limit */
#define MAX_ID		65535
/*
 * ivshm-server's answer to a client beyond --max-peers, in place of the
 * version: the server is full (EUSERS).  Any other version but 0 is a
 * protocol we do not speak (EPROTO).
 */
#define SERVER_FULL	(-87)
/* Raise RLIMIT_NOFILE when a received fd comes this close to it. */
#define FD_SPARE	64

/*
 * A peer we can ring.  Its eventfds are closed by the last reference:
 * the table holds one, and ivshm_ring() takes one (under the lock) for
 * the duration of its write (outside the lock), so that a departure
 * processed by another thread meanwhile cannot close the fd, or let its
 * number be reused by an unrelated open, under the write.
 */
struct hpeer {
	int id;
	unsigned int n;			/* vectors announced, 0..n-1 */
	int err;			/* 0, or why it is ignored (never
					 * rung, listed or announced):
					 * -EPROTO (the server sent a
					 * non-eventfd), -EMFILE (we had no
					 * fd slot left for one) */
	_Atomic unsigned int refs;
	int fd[];			/* or the -errno why there is none */
};

struct host {
	pthread_mutex_t lock;
	int sock;			/* -1 once the server is gone */
	int id;
	unsigned int want;		/* vectors asked for, 0: auto */
	unsigned int cap;		/* eventfds kept per peer */
	bool setup;			/* handshake in progress */
	unsigned int hint;		/* vectors named by the memfd, 0: none */
	/* the peers we can ring (not ourselves) */
	struct hpeer **peers;
	unsigned int npeers, peers_cap;
	int *own;
	unsigned int nown;
	/* receive state: a message may arrive in pieces */
	unsigned char buf[8];
	unsigned int got;
	int pend_fd;
	bool bad;
	bool fd_lost;			/* an fd found no free slot */
	rlim_t nofile;			/* soft RLIMIT_NOFILE last seen */
	/*
	 * Queued peer events (a ring of IVSHM_EVENTS_MAX, allocated on first
	 * use, oldest dropped: server messages are pumped whenever a channel
	 * sleeps, whether the application reads events or not), the fd that
	 * says so, the event epoll fd.
	 */
	struct ivshm_peer_event *q;
	unsigned int qhead, qn;
	bool qdropped;
	int qfd;
	int ep;
	bool gone, gone_reported;
	uint8_t left[(MAX_ID + 1) / 8];	/* ids seen leaving */
};

/* ---- receiving ---------------------------------------------------------- */

static void rx_reset(struct host *h)
{
	if (h->pend_fd >= 0)
		close(h->pend_fd);
	h->pend_fd = -1;
	h->got = 0;
	h->bad = false;
	h->fd_lost = false;
}

/*
 * Every peer costs us one fd per vector, so a server with many peers can
 * need more fds than the usual soft RLIMIT_NOFILE of 1024.  When a
 * received fd comes within FD_SPARE of the soft limit, raise it toward
 * the hard limit (doubling), as systemd advises programs that need many
 * fds; a raise must come before the fd that would not fit, as the kernel
 * drops an fd it cannot install.  Process-wide, but only when needed.
 */
static void make_room(struct host *h, int fd)
{
	struct rlimit rl;

	if ((rlim_t)fd + FD_SPARE < h->nofile)
		return;
	if (getrlimit(RLIMIT_NOFILE, &rl) < 0)
		return;
	h->nofile = rl.rlim_cur;
	if ((rlim_t)fd + FD_SPARE < rl.rlim_cur || rl.rlim_cur >= rl.rlim_max)
		return;
	rl.rlim_cur = rl.rlim_cur > rl.rlim_max / 2 ? rl.rlim_max :
		      2 * rl.rlim_cur;
	if (setrlimit(RLIMIT_NOFILE, &rl) == 0)
		h->nofile = rl.rlim_cur;
}

/* A truncated control message: lost for lack of fd slots, or bad. */
static void ctrunc(struct host *h)
{
	int probe = fcntl(h->sock, F_DUPFD_CLOEXEC, 0);

	if (probe < 0 && errno == EMFILE) {
		h->fd_lost = true;
		return;
	}
	if (probe >= 0)
		close(probe);
	h->bad = true;
}

/*
 * One message without blocking: 1 (in *val, *fd: -1 if none, the caller
 * owns it), 0 (nothing complete yet), -ECONNRESET (EOF between messages),
 * -EPROTO (EOF inside a message, several fds on one message), -EMFILE
 * (in *val a message whose fd we had no slot for), -errno.
 */
static int msg_recv(struct host *h, int64_t *val, int *fd)
{
	union {
		struct cmsghdr align;
		char buf[CMSG_SPACE(sizeof(int) * 8)];
	} cm;

	while (h->got < 8) {
		struct iovec iov = { h->buf + h->got, 8 - h->got };
		struct msghdr mh = {
			.msg_iov = &iov, .msg_iovlen = 1,
			.msg_control = cm.buf,
			.msg_controllen = sizeof(cm.buf),
		};
		struct cmsghdr *c;
		ssize_t n;

		n = recvmsg(h->sock, &mh, MSG_DONTWAIT | MSG_CMSG_CLOEXEC);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN || errno == EWOULDBLOCK)
				return 0;
			return -errno;
		}
		for (c = CMSG_FIRSTHDR(&mh); c; c = CMSG_NXTHDR(&mh, c)) {
			int nfd, i, f;

			if (c->cmsg_level != SOL_SOCKET ||
			    c->cmsg_type != SCM_RIGHTS)
				continue;
			nfd = (int)((c->cmsg_len - CMSG_LEN(0)) / sizeof(int));
			for (i = 0; i < nfd; i++) {
				memcpy(&f, CMSG_DATA(c) + i * sizeof(int),
				       sizeof(int));
				make_room(h, f);
				if (h->pend_fd < 0 && !h->bad) {
					h->pend_fd = f;
				} else {
					close(f);
					h->bad = true;
				}
			}
		}
		if (mh.msg_flags & MSG_CTRUNC)
			ctrunc(h);
		if (n == 0) {
			n = h->got ? -EPROTO : -ECONNRESET;
			rx_reset(h);
			return (int)n;
		}
		h->got += n;
	}
	if (h->bad) {
		rx_reset(h);
		return -EPROTO;
	}
	*val = (int64_t)((uint64_t)h->buf[0] | (uint64_t)h->buf[1] << 8 |
			 (uint64_t)h->buf[2] << 16 | (uint64_t)h->buf[3] << 24 |
			 (uint64_t)h->buf[4] << 32 | (uint64_t)h->buf[5] << 40 |
			 (uint64_t)h->buf[6] << 48 | (uint64_t)h->buf[7] << 56);
	*fd = h->pend_fd;
	h->pend_fd = -1;
	h->got = 0;
	if (h->fd_lost) {
		h->fd_lost = false;
		if (*fd >= 0)
			close(*fd);
		*fd = -1;
		return -EMFILE;
	}
	return 1;
}

/*
 * One message, waiting until @end_ms (monotonic): as msg_recv(), but 0
 * means the time ran out.
 */
static int msg_recv_until(struct host *h, int64_t *val, int *fd,
			  uint64_t end_ms)
{
	for (;;) {
		struct pollfd p = { .fd = h->sock, .events = POLLIN };
		uint64_t now;
		int ret = msg_recv(h, val, fd);

		if (ret)
			return ret;
		now = ivshm_now_ms();
		if (now >= end_ms)
			return 0;
		ret = poll(&p, 1, (int)(end_ms - now));
		if (ret < 0 && errno != EINTR)
			return -errno;
	}
}

/* ---- the peer table ----------------------------------------------------- */

static struct hpeer *peer_find(struct host *h, int id, unsigned int *idx)
{
	unsigned int i;

	for (i = 0; i < h->npeers; i++) {
		if (h->peers[i]->id == id) {
			if (idx)
				*idx = i;
			return h->peers[i];
		}
	}
	return NULL;
}

static void peer_put(struct hpeer *p)
{
	unsigned int i;

	if (atomic_fetch_sub_explicit(&p->refs, 1, memory_order_acq_rel) != 1)
		return;
	for (i = 0; i < p->n; i++)
		if (p->fd[i] >= 0)
			close(p->fd[i]);
	free(p);
}

/*
 * Whether @fd, received from the server, is an eventfd.  Anything else
 * (a pipe, a socket, a file) could block our writes or raise SIGPIPE.
 * /proc names the kind of an anonymous inode exactly; without /proc,
 * accept any anonymous inode (no file type bits): none of those blocks a
 * non-blocking write.
 */
static bool is_eventfd(int fd)
{
	char path[40], link[32];
	struct stat st;
	ssize_t n;

	snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	n = readlink(path, link, sizeof(link));
	if (n >= 0)
		return n == 20 && !memcmp(link, "anon_inode:[eventfd]", 20);
	return errno == ENOENT && fstat(fd, &st) == 0 &&
	       (st.st_mode & S_IFMT) == 0;
}

/*
 * Make an fd from the server safe to use: an eventfd, non-blocking (a
 * write to a saturated counter then fails with EAGAIN instead of blocking
 * until the peer reads; the flag is on the open file, shared with every
 * holder, and the server creates them non-blocking anyway).  Takes @fd:
 * @fd, or -EPROTO with @fd closed.
 */
static int efd_adopt(int fd)
{
	int fl;

	if (!is_eventfd(fd))
		goto refuse;
	fl = fcntl(fd, F_GETFL);
	if (fl < 0 || fcntl(fd, F_SETFL, fl | O_NONBLOCK) < 0)
		goto refuse;
	return fd;
refuse:
	close(fd);
	return -EPROTO;
}

/* Queue an event; when full (or out of memory), drop the oldest. */
static void queue_event(struct host *h, int type, int peer)
{
	struct ivshm_peer_event *e;

	if (!h->q) {
		h->q = malloc(IVSHM_EVENTS_MAX * sizeof(*h->q));
		if (!h->q) {
			h->qdropped = true;
			return;
		}
	}
	if (h->qn == IVSHM_EVENTS_MAX) {
		h->qhead = (h->qhead + 1) % IVSHM_EVENTS_MAX;
		h->qn--;
		h->qdropped = true;
	}
	e = &h->q[(h->qhead + h->qn) % IVSHM_EVENTS_MAX];
	e->size = sizeof(*e);
	e->type = type;
	e->peer = peer;
	h->qn++;
}

/*
 * Move the queue out (lock held): a new array of *@n events, the
 * overflow event first if any were dropped, or NULL with *@n 0 if there
 * is none (or -ENOMEM: the queue stays).
 */
static int queue_take(struct host *h, struct ivshm_peer_event **out,
		      unsigned int *n)
{
	unsigned int i, k = 0;

	*out = NULL;
	*n = h->qn + h->qdropped;
	if (!*n)
		return 0;
	*out = malloc(*n * sizeof(**out));
	if (!*out)
		return -ENOMEM;
	if (h->qdropped) {
		(*out)[k].size = sizeof(**out);
		(*out)[k].type = IVSHM_EVENTS_DROPPED;
		(*out)[k++].peer = -1;
	}
	for (i = 0; i < h->qn; i++)
		(*out)[k++] = h->q[(h->qhead + i) % IVSHM_EVENTS_MAX];
	h->qhead = h->qn = 0;
	h->qdropped = false;
	return 0;
}

/*
 * Add the next eventfd of peer @id: @fd (taken in every case), or the
 * -errno why it did not arrive (-EMFILE).  0 or -ENOMEM.
 */
static int peer_add_fd(struct ivshm_dev *dev, struct host *h, int id, int fd)
{
	struct hpeer *p = peer_find(h, id, NULL);

	if (!p) {
		if (h->npeers == h->peers_cap) {
			unsigned int ncap = h->peers_cap ? 2 * h->peers_cap : 8;
			struct hpeer **np;

			np = realloc(h->peers, ncap * sizeof(*np));
			if (!np)
				goto nomem;
			h->peers = np;
			h->peers_cap = ncap;
		}
		p = malloc(sizeof(*p) + h->cap * sizeof(int));
		if (!p)
			goto nomem;
		p->id = id;
		p->n = 0;
		p->err = 0;
		atomic_init(&p->refs, 1);
		h->peers[h->npeers++] = p;
	}
	if (p->n >= h->cap) {		/* more vectors than we use */
		if (fd >= 0)
			close(fd);
		return 0;
	}
	if (fd >= 0)
		fd = efd_adopt(fd);
	if (fd < 0 && !p->err)
		p->err = fd;
	p->fd[p->n++] = fd;
	h->left[id / 8] &= (uint8_t)~(1u << (id % 8));
	if (!h->setup && p->n == dev->nvec && !p->err)
		queue_event(h, IVSHM_PEER_JOIN, id);
	return 0;
nomem:
	if (fd >= 0)
		close(fd);
	return -ENOMEM;
}

/*
 * Handle one message after the first three.  Takes @fd.  During the
 * handshake, protocol errors fail it; afterwards they are ignored.
 */
static int handle_msg(struct ivshm_dev *dev, struct host *h, int64_t val,
		      int fd)
{
	struct hpeer *p;
	unsigned int idx;
	bool complete;

	if (val < 0 || val > MAX_ID) {
		if (fd >= 0)
			close(fd);
		return h->setup ? -EPROTO : 0;
	}
	if (val == h->id) {
		if (fd < 0)
			return h->setup ? -EPROTO : 0;
		if (h->nown >= h->cap) {
			close(fd);
			return 0;
		}
		fd = efd_adopt(fd);
		if (fd < 0)
			return h->setup ? fd : 0;
		h->own[h->nown++] = fd;
		return 0;
	}
	if (fd >= 0)
		return peer_add_fd(dev, h, (int)val, fd);
	/* a departure */
	p = peer_find(h, (int)val, &idx);
	if (!p)
		return 0;
	complete = p->n >= dev->nvec && !p->err;
	h->left[val / 8] |= (uint8_t)(1u << (val % 8));
	h->peers[idx] = h->peers[--h->npeers];
	peer_put(p);
	if (!h->setup && complete)
		queue_event(h, IVSHM_PEER_LEAVE, (int)val);
	return 0;
}

/*
 * After the handshake, the fd of a joining peer found no free slot even
 * after make_room(): that peer is ignored (its other messages are fine).
 */
static void fd_lost(struct ivshm_dev *dev, struct host *h, int64_t val)
{
	if (val >= 0 && val <= MAX_ID && val != h->id)
		peer_add_fd(dev, h, (int)val, -EMFILE);
}

static void server_gone(struct host *h)
{
	if (h->gone)
		return;
	h->gone = true;
	rx_reset(h);
	close(h->sock);			/* also leaves the epoll set */
	h->sock = -1;
	queue_event(h, IVSHM_SERVER_GONE, -1);
}

/* Handle every complete message available now (lock held). */
static void pump(struct ivshm_dev *dev, struct host *h)
{
	int64_t val;
	int fd, ret;

	while (!h->gone) {
		ret = msg_recv(h, &val, &fd);
		if (ret == 0)
			break;
		if (ret == -EMFILE) {
			fd_lost(dev, h, val);
			continue;
		}
		if (ret < 0) {
			server_gone(h);
			break;
		}
		handle_msg(dev, h, val, fd);
	}
	if (h->qn || h->qdropped) {
		uint64_t one = 1;

		if (write(h->qfd, &one, sizeof(one)) < 0) {
			/* saturated: it is readable anyway */
		}
	}
}

/* ---- unix: operations --------------------------------------------------- */

static void unix_close(struct ivshm_dev *dev)
{
	struct host *h = dev->priv;
	unsigned int i;

	if (!h)
		return;
	rx_reset(h);
	if (h->sock >= 0)
		close(h->sock);
	for (i = 0; i < h->npeers; i++)
		peer_put(h->peers[i]);
	free(h->peers);
	for (i = 0; i < h->nown; i++)
		close(h->own[i]);
	free(h->own);
	free(h->q);
	if (h->qfd >= 0)
		close(h->qfd);
	if (h->ep >= 0)
		close(h->ep);
	pthread_mutex_destroy(&h->lock);
	free(h);
	dev->priv = NULL;
}

static int efd_signal(int fd)
{
	uint64_t one = 1;

	if (write(fd, &one, sizeof(one)) == (ssize_t)sizeof(one))
		return 0;
	/* EAGAIN: the counter is saturated, the peer will wake anyway */
	return errno == EAGAIN ? 0 : -errno;
}

/*
 * The eventfd ringing (peer, vector) (lock held): the fd, -ENXIO (not
 * connected) or the peer's error (-EPROTO, -EMFILE: it is ignored).
 * *@ref is the peer to put after
 * using the fd, or NULL for our own fds (they live as long as the handle).
 */
static int ring_fd(struct ivshm_dev *dev, struct host *h, unsigned int peer,
		   unsigned int vector, struct hpeer **ref)
{
	struct hpeer *p;

	*ref = NULL;
	if ((int)peer == h->id)
		return vector < dev->nvec ? h->own[vector] : -ENXIO;
	p = peer_find(h, (int)peer, NULL);
	if (!p || vector >= p->n)
		return -ENXIO;
	if (p->err)
		return p->err;
	atomic_fetch_add_explicit(&p->refs, 1, memory_order_relaxed);
	*ref = p;
	return p->fd[vector];
}

/*
 * The fd is looked up under the lock and written outside it: a write
 * never waits (eventfds only, non-blocking), but another thread ringing
 * or processing events should not queue behind our system call either.
 */
static int unix_ring(struct ivshm_dev *dev, unsigned int peer,
		     unsigned int vector)
{
	struct host *h = dev->priv;
	struct hpeer *ref;
	int fd;

	pthread_mutex_lock(&h->lock);
	fd = ring_fd(dev, h, peer, vector, &ref);
	if (fd == -ENXIO && !h->gone) {
		pump(dev, h);		/* catch up; events stay queued */
		fd = ring_fd(dev, h, peer, vector, &ref);
	}
	pthread_mutex_unlock(&h->lock);
	if (fd < 0)
		return fd;
	fd = efd_signal(fd);
	if (ref)
		peer_put(ref);
	return fd;
}

static int cmp_u16(const void *a, const void *b)
{
	return (int)*(const uint16_t *)a - (int)*(const uint16_t *)b;
}

static int unix_peers(struct ivshm_dev *dev, uint16_t *ids, unsigned int max)
{
	struct host *h = dev->priv;
	unsigned int i, n = 0;
	uint16_t *all;

	pthread_mutex_lock(&h->lock);
	all = malloc((h->npeers + 1) * sizeof(*all));
	if (!all) {
		pthread_mutex_unlock(&h->lock);
		return -ENOMEM;
	}
	for (i = 0; i < h->npeers; i++)
		if (h->peers[i]->n >= dev->nvec && !h->peers[i]->err)
			all[n++] = (uint16_t)h->peers[i]->id;
	pthread_mutex_unlock(&h->lock);
	qsort(all, n, sizeof(*all), cmp_u16);
	if (ids)
		memcpy(ids, all, (n < max ? n : max) * sizeof(*ids));
	free(all);
	return (int)n;
}

static int unix_event_fd(struct ivshm_dev *dev)
{
	struct host *h = dev->priv;

	return h->ep;
}

static int unix_process_events(struct ivshm_dev *dev, int timeout_ms)
{
	struct host *h = dev->priv;
	struct ivshm_peer_event *q;
	unsigned int i, n;
	uint64_t v;
	int ret;

	pthread_mutex_lock(&h->lock);
	if (!h->qn && !h->qdropped && h->gone_reported) {
		pthread_mutex_unlock(&h->lock);
		return -ECONNRESET;
	}
	if (!h->qn && !h->qdropped && timeout_ms) {
		struct epoll_event e;

		pthread_mutex_unlock(&h->lock);
		ret = epoll_wait(h->ep, &e, 1, timeout_ms);
		if (ret < 0)
			return -errno;
		pthread_mutex_lock(&h->lock);
	}
	pump(dev, h);
	ret = queue_take(h, &q, &n);
	if (ret < 0) {
		pthread_mutex_unlock(&h->lock);
		return ret;
	}
	if (read(h->qfd, &v, sizeof(v)) < 0) {
		/* EAGAIN: nothing was signalled */
	}
	for (i = 0; i < n; i++)
		if (q[i].type == IVSHM_SERVER_GONE)
			h->gone_reported = true;
	pthread_mutex_unlock(&h->lock);
	for (i = 0; i < n; i++)
		if (dev->cb)
			dev->cb(dev, &q[i], dev->cb_arg);
	free(q);
	return (int)n;
}

static int unix_peer_alive(struct ivshm_dev *dev, unsigned int peer)
{
	struct host *h = dev->priv;
	struct hpeer *p;
	int ret;

	if (peer > MAX_ID)
		return -1;
	pthread_mutex_lock(&h->lock);
	pump(dev, h);
	p = peer_find(h, (int)peer, NULL);
	if ((int)peer == h->id || (p && p->n && !p->err))
		ret = 1;
	else if (h->left[peer / 8] & (1u << (peer % 8)))
		ret = 0;
	else
		ret = -1;
	pthread_mutex_unlock(&h->lock);
	return ret;
}

static const struct ivshm_backend_ops unix_ops = {
	.name = "unix",
	.kind = IVSHM_BACKEND_UNIX,
	.close = unix_close,
	.ring = unix_ring,
	.peers = unix_peers,
	.event_fd = unix_event_fd,
	.process_events = unix_process_events,
	.peer_alive = unix_peer_alive,
};

/* ---- the handshake ------------------------------------------------------ */

static int want_vectors(unsigned int flags)
{
	unsigned int n = (flags & IVSHM_OPEN_VECTORS_MASK) >> 16;
	const char *env;
	char *end;
	long v;

	if (n)
		return n <= MAX_VECTORS ? (int)n : -EINVAL;
	env = secure_getenv("IVSHM_VECTORS");
	if (!env || !*env)
		return 0;
	errno = 0;
	v = strtol(env, &end, 10);
	if (errno || *end || v < 0 || v > MAX_VECTORS)
		return -EINVAL;
	return (int)v;
}

static int connect_unix(const char *path)
{
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	size_t len = strlen(path);
	int fd, ret;

	if (!len)
		return -EINVAL;
	if (len >= sizeof(sun.sun_path))
		return -ENAMETOOLONG;
	memcpy(sun.sun_path, path, len + 1);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	do {
		ret = connect(fd, (struct sockaddr *)&sun, sizeof(sun));
	} while (ret < 0 && errno == EINTR);
	if (ret < 0) {
		ret = -errno;
		close(fd);
		return ret;
	}
	return fd;
}

/*
 * The seals of the memory we map.  Only F_SEAL_SHRINK matters to us:
 * without it, anyone who can open the memory can truncate it, and our
 * next access past the new end raises SIGBUS, which a library cannot
 * catch without a process-wide signal handler.  Nothing else pins the
 * size of a file (leases only delay truncation; mandatory locks are
 * gone), so we report it and leave the choice of memory to the server.
 */
static uint32_t mem_seals(int fd)
{
	int s = fcntl(fd, F_GET_SEALS);

	return s < 0 ? 0 : (uint32_t)s;
}

/*
 * The protocol has no end-of-setup marker, so a client that was not told
 * its vector count (IVSHM_OPEN_VECTORS, IVSHM_VECTORS) must guess when its
 * own eventfds are complete.  Two things tell it for sure:
 *
 * - Other peers.  The server gives every peer the same number of vectors
 *   and sends all of the existing peers' eventfds before our own (QEMU's
 *   server and ours), so when our first own eventfd arrives the peers'
 *   counts are complete: if they agree, that is the count.
 * - Our own server names its memfd "ivshmem:vectors=N" (QEMU ignores the
 *   name).  A wrong hint can only end the wait early: eventfds beyond it
 *   are then closed like those of a server with more vectors than we use.
 *
 * Otherwise (QEMU's server with no other peer, or memory that is not such
 * a memfd) the handshake ends IVSHM_HANDSHAKE_QUIET_MS after the last of
 * our eventfds.  Returns the count, or 0 if unknown.
 */
static unsigned int peers_vectors(const struct host *h)
{
	unsigned int i, n = 0;

	for (i = 0; i < h->npeers; i++) {
		if (!h->peers[i]->n || (n && h->peers[i]->n != n))
			return 0;
		n = h->peers[i]->n;
	}
	return n;
}

#define MEMFD_HINT	"/memfd:ivshmem:vectors="

static unsigned int memfd_vectors(int fd)
{
	char link[64], path[PATH_MAX];
	unsigned long n;
	ssize_t len;
	char *end;

	snprintf(link, sizeof(link), "/proc/self/fd/%d", fd);
	len = readlink(link, path, sizeof(path) - 1);
	if (len <= 0)
		return 0;
	path[len] = '\0';
	if (strncmp(path, MEMFD_HINT, strlen(MEMFD_HINT)))
		return 0;
	errno = 0;
	n = strtoul(path + strlen(MEMFD_HINT), &end, 10);
	if (errno || end == path + strlen(MEMFD_HINT) || n > MAX_VECTORS ||
	    (*end && strcmp(end, " (deleted)")))
		return 0;
	return (unsigned int)n;
}

/* Version, id, shared memory: 0 or -errno. */
static int handshake_start(struct ivshm_dev *dev, struct host *h,
			   uint64_t end)
{
	struct stat st;
	int64_t val;
	int fd, ret;
	void *base;

	ret = msg_recv_until(h, &val, &fd, end);
	if (ret <= 0)
		return ret ? ret : -ETIMEDOUT;
	if (fd < 0 && val == SERVER_FULL)
		return -EUSERS;
	if (fd >= 0 || val != 0)
		goto proto;
	ret = msg_recv_until(h, &val, &fd, end);
	if (ret <= 0)
		return ret ? ret : -ETIMEDOUT;
	if (fd >= 0 || val < 0 || val > MAX_ID)
		goto proto;
	h->id = (int)val;
	ret = msg_recv_until(h, &val, &fd, end);
	if (ret <= 0)
		return ret ? ret : -ETIMEDOUT;
	if (fd < 0 || val != -1)
		goto proto;
	if (fstat(fd, &st) < 0 || st.st_size <= 0 ||
	    (uint64_t)st.st_size > SIZE_MAX)
		goto proto;
	base = mmap(NULL, st.st_size, PROT_READ | PROT_WRITE, MAP_SHARED, fd,
		    0);
	if (base == MAP_FAILED) {
		ret = -errno;
		close(fd);
		return ret;
	}
	dev->seals = mem_seals(fd);
	h->hint = memfd_vectors(fd);
	close(fd);
	dev->base = base;
	dev->size = st.st_size;
	return 0;
proto:
	if (fd >= 0)
		close(fd);
	return -EPROTO;
}

/* Peers' and our eventfds until the handshake is complete: 0 or -errno. */
static int handshake_fds(struct ivshm_dev *dev, struct host *h, uint64_t end)
{
	unsigned int i, j, known = h->hint;
	int64_t val;
	int fd, ret;

	while (!h->want || h->nown < h->want) {
		uint64_t until = end;

		if (!h->want && known && h->nown >= known)
			break;		/* the count is known: no quiet wait */
		if (h->nown) {
			uint64_t quiet = ivshm_now_ms() +
					 IVSHM_HANDSHAKE_QUIET_MS;

			if (quiet < until)
				until = quiet;
		}
		ret = msg_recv_until(h, &val, &fd, until);
		if (ret < 0)
			return ret;
		if (ret == 0) {
			if (h->nown)
				break;		/* quiet after our fds */
			return -ETIMEDOUT;
		}
		i = h->nown;
		ret = handle_msg(dev, h, val, fd);
		if (ret < 0)
			return ret;
		if (!i && h->nown && !known)	/* our first: peers complete */
			known = peers_vectors(h);
	}
	h->setup = false;
	dev->nvec = h->nown;
	h->cap = h->nown;
	/* Peers announced with more vectors than we use: drop the extras. */
	for (i = 0; i < h->npeers; i++) {
		struct hpeer *p = h->peers[i];

		for (j = h->cap; j < p->n; j++)
			if (p->fd[j] >= 0)
				close(p->fd[j]);
		if (p->n > h->cap)
			p->n = h->cap;
		p->err = 0;
		for (j = 0; j < p->n && !p->err; j++)
			p->err = p->fd[j] < 0 ? p->fd[j] : 0;
	}
	return 0;
}

static int event_setup(struct host *h)
{
	struct epoll_event e = { .events = EPOLLIN };

	h->qfd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (h->qfd < 0)
		return -errno;
	h->ep = epoll_create1(EPOLL_CLOEXEC);
	if (h->ep < 0)
		return -errno;
	e.data.fd = h->sock;
	if (epoll_ctl(h->ep, EPOLL_CTL_ADD, h->sock, &e) < 0)
		return -errno;
	e.data.fd = h->qfd;
	if (epoll_ctl(h->ep, EPOLL_CTL_ADD, h->qfd, &e) < 0)
		return -errno;
	return 0;
}

int ivshm_unix_open(struct ivshm_dev *dev, const char *path,
		    unsigned int flags)
{
	uint64_t end = ivshm_now_ms() + IVSHM_HANDSHAKE_TIMEOUT_MS;
	struct host *h;
	int ret, want;

	want = want_vectors(flags);
	if (want < 0)
		return want;
	h = calloc(1, sizeof(*h));
	if (!h)
		return -ENOMEM;
	pthread_mutex_init(&h->lock, NULL);
	h->sock = -1;
	h->pend_fd = -1;
	h->qfd = -1;
	h->ep = -1;
	h->id = -1;
	h->setup = true;
	h->want = (unsigned int)want;
	h->cap = want ? (unsigned int)want : MAX_VECTORS;
	dev->priv = h;
	dev->ops = &unix_ops;
	h->own = calloc(h->cap, sizeof(int));
	if (!h->own) {
		ret = -ENOMEM;
		goto fail;
	}
	ret = connect_unix(path);
	if (ret < 0)
		goto fail;
	h->sock = ret;
	ret = handshake_start(dev, h, end);
	if (ret < 0)
		goto fail;
	ret = handshake_fds(dev, h, end);
	if (ret < 0)
		goto fail;
	ret = event_setup(h);
	if (ret < 0)
		goto fail;
	dev->peer_id = h->id;
	dev->doorbells = true;
	dev->vfd = h->own;
	/* messages that came with the last ones of the handshake */
	pthread_mutex_lock(&h->lock);
	pump(dev, h);
	pthread_mutex_unlock(&h->lock);
	return 0;
fail:
	if (dev->base) {
		munmap(dev->base, dev->size);
		dev->base = NULL;
	}
	unix_close(dev);
	return ret;
}

/* ---- shm: --------------------------------------------------------------- */

static void shm_close(struct ivshm_dev *dev)
{
	(void)dev;
}

static const struct ivshm_backend_ops shm_ops = {
	.name = "shm",
	.kind = IVSHM_BACKEND_SHM,
	.close = shm_close,
};

int ivshm_shm_open(struct ivshm_dev *dev, const char *path,
		   unsigned int flags)
{
	struct stat st;
	void *base;
	int fd, ret;

	(void)flags;
	if (!*path)
		return -EINVAL;
	fd = open(path, O_RDWR | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	if (fstat(fd, &st) < 0) {
		ret = -errno;
		goto out;
	}
	if (!S_ISREG(st.st_mode) || st.st_size <= 0 ||
	    (uint64_t)st.st_size > SIZE_MAX) {
		ret = -EINVAL;
		goto out;
	}
	base = mmap(NULL, st.st_size, PROT_READ | PROT_WRITE, MAP_SHARED, fd,
		    0);
	if (base == MAP_FAILED) {
		ret = -errno;
		goto out;
	}
	dev->ops = &shm_ops;
	dev->base = base;
	dev->size = st.st_size;
	dev->seals = mem_seals(fd);
	ret = 0;
out:
	close(fd);
	return ret;
}
