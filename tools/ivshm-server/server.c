// SPDX-License-Identifier: GPL-2.0-only
/*
 * ivshm-server: the event loop and QEMU's ivshmem server protocol.
 *
 * Every message is one little-endian int64, optionally with one fd:
 *
 *   to a new client:   0 (version), its id, -1 + shm fd,
 *                      for each existing peer: its id N times + eventfds,
 *                      its own id N times + its own eventfds;
 *   to the others:     the new id N times + the new peer's eventfds;
 *   on a disconnect:   the id, without an fd, to everyone else.
 *
 * One thread, one epoll loop, non-blocking sockets.  Each client has its
 * own queue of outgoing messages, so a client that does not read never
 * stalls the others; a queue that grows past its bound drops the client.
 * Queued messages hold a reference on the peer whose eventfd they carry:
 * a departed peer's eventfds are closed once nobody still needs to send
 * them.
 *
 * Ids increase, as in QEMU's server: a departed peer's id is handed out
 * again only after the counter wraps past 65535 (skipping ids in use), so
 * a peer that missed or ignored a departure does not ring a newcomer by
 * the old id.  A client beyond --max-peers gets PROTO_SERVER_FULL in
 * place of the version, then EOF.
 */
#include <endian.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "ivshm-server.h"

#define QUEUE_MIN	16
#define ACCEPT_BATCH	64
#define READ_BATCH	16
#define RETRY_MS	50	/* resend after ENOBUFS / ETOOMANYREFS */
#define PAUSE_MS	100	/* accept() again after running out of fds */

struct peer;

struct msg {
	int64_t val;
	int fd;			/* -1: no fd */
	struct peer *hold;	/* owner of fd (a reference), or NULL */
};

struct peer {
	unsigned int refs;
	unsigned int id;
	unsigned int nvec;
	int sock;		/* -1 once disconnected */
	int *efd;		/* the peer's eventfds, one per vector */
	bool doomed;		/* to be disconnected */
	bool on_work;		/* on the work list (holds a reference) */
	bool want_out;		/* EPOLLOUT armed */
	bool stalled;		/* send hit a transient shortage: retry */
	struct msg *q;		/* ring of outgoing messages */
	size_t qhead, qlen, qcap;
	unsigned int qoff;	/* bytes of q[qhead] already sent */
	struct peer *prev, *next;	/* live peers, in order of arrival */
	struct peer *work_next;
};

struct server {
	const struct config *cfg;
	unsigned int nvec;
	int epfd, lfd, sigfd, shm_fd, spare_fd;
	struct peer **by_id;
	unsigned int npeers;
	unsigned int next_id;	/* the id to try first: increases, wraps */
	struct peer *head, *tail;
	struct peer *work;
	bool accept_paused;
	uint64_t accept_resume;	/* ms, CLOCK_MONOTONIC */
	unsigned int nstalled;
	uint64_t retry_at;
	uint64_t last_fd_warning;
	bool stop;
};

static char tag_listen, tag_signal;

static uint64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void peer_free_fds(struct peer *p, unsigned int n)
{
	while (n--)
		close(p->efd[n]);
	free(p->efd);
	p->efd = NULL;
}

/* The last reference closes the peer's eventfds. */
static void peer_put(struct peer *p)
{
	if (--p->refs)
		return;
	peer_free_fds(p, p->nvec);
	free(p);
}

static void mark_work(struct server *s, struct peer *p)
{
	if (p->on_work)
		return;
	p->on_work = true;
	p->refs++;
	p->work_next = s->work;
	s->work = p;
}

static void doom(struct server *s, struct peer *p)
{
	if (p->doomed)
		return;
	p->doomed = true;
	mark_work(s, p);
}

static size_t handshake_len(const struct server *s)
{
	return 3 + (size_t)s->nvec * (s->npeers + 1);
}

static size_t queue_limit(const struct server *s)
{
	size_t hs = handshake_len(s);
	size_t lim = s->cfg->queue_limit ? s->cfg->queue_limit : 2 * hs + 256;

	return lim > hs ? lim : hs;
}

static void enqueue(struct server *s, struct peer *p, int64_t val, int fd,
		    struct peer *hold)
{
	struct msg *m;

	if (p->doomed)
		return;
	if (p->qlen >= queue_limit(s)) {
		log_warn("peer %u does not read its messages (%zu queued): dropping it",
			 p->id, p->qlen);
		doom(s, p);
		return;
	}
	if (p->qlen == p->qcap) {
		size_t ncap = p->qcap ? 2 * p->qcap : QUEUE_MIN;
		struct msg *nq = malloc(ncap * sizeof(*nq));
		size_t i;

		if (!nq) {
			log_err("peer %u: out of memory: dropping it", p->id);
			doom(s, p);
			return;
		}
		for (i = 0; i < p->qlen; i++)
			nq[i] = p->q[(p->qhead + i) % p->qcap];
		free(p->q);
		p->q = nq;
		p->qcap = ncap;
		p->qhead = 0;
	}
	m = &p->q[(p->qhead + p->qlen) % p->qcap];
	m->val = val;
	m->fd = fd;
	m->hold = hold;
	if (hold)
		hold->refs++;
	p->qlen++;
	mark_work(s, p);
}

static void set_want_out(struct server *s, struct peer *p, bool on)
{
	struct epoll_event ev = {
		.events = EPOLLIN | (on ? EPOLLOUT : 0),
		.data.ptr = p,
	};

	if (p->want_out == on)
		return;
	if (epoll_ctl(s->epfd, EPOLL_CTL_MOD, p->sock, &ev) < 0) {
		log_err("peer %u: epoll_ctl: %m", p->id);
		doom(s, p);
		return;
	}
	p->want_out = on;
}

static void pop_msg(struct peer *p)
{
	struct msg *m = &p->q[p->qhead];

	if (m->hold)
		peer_put(m->hold);
	p->qhead = (p->qhead + 1) % p->qcap;
	p->qlen--;
	p->qoff = 0;
}

static void flush(struct server *s, struct peer *p)
{
	union {
		struct cmsghdr h;
		char buf[CMSG_SPACE(sizeof(int))];
	} cm;

	while (p->qlen && !p->doomed) {
		const struct msg *m = &p->q[p->qhead];
		uint64_t le = htole64((uint64_t)m->val);
		struct iovec iov = {
			.iov_base = (char *)&le + p->qoff,
			.iov_len = sizeof(le) - p->qoff,
		};
		struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1 };
		ssize_t n;

		if (m->fd >= 0 && p->qoff == 0) {
			memset(&cm, 0, sizeof(cm));
			mh.msg_control = cm.buf;
			mh.msg_controllen = sizeof(cm.buf);
			cm.h.cmsg_level = SOL_SOCKET;
			cm.h.cmsg_type = SCM_RIGHTS;
			cm.h.cmsg_len = CMSG_LEN(sizeof(int));
			memcpy(CMSG_DATA(&cm.h), &m->fd, sizeof(int));
		}
		n = sendmsg(p->sock, &mh, MSG_DONTWAIT | MSG_NOSIGNAL);
		if (n < 0) {
			switch (errno) {
			case EINTR:
				continue;
			case EAGAIN:
				set_want_out(s, p, true);
				return;
			case ENOBUFS:
			case ENOMEM:
			case ETOOMANYREFS:
				/* Transient: too many fds in flight, or memory. */
				if (!p->stalled) {
					p->stalled = true;
					s->nstalled++;
					s->retry_at = now_ms() + RETRY_MS;
				}
				return;
			default:
				log_dbg("peer %u: send: %m", p->id);
				doom(s, p);
				return;
			}
		}
		p->qoff += n;
		if (p->qoff == sizeof(le))
			pop_msg(p);
	}
	if (!p->doomed)
		set_want_out(s, p, false);
}

static void drop_queue(struct peer *p)
{
	while (p->qlen)
		pop_msg(p);
	free(p->q);
	p->q = NULL;
	p->qcap = 0;
}

static void peer_unlink(struct server *s, struct peer *p)
{
	if (p->prev)
		p->prev->next = p->next;
	else
		s->head = p->next;
	if (p->next)
		p->next->prev = p->prev;
	else
		s->tail = p->prev;
	p->prev = p->next = NULL;
	s->by_id[p->id] = NULL;
	s->npeers--;
}

/* Disconnect a peer and announce its departure to everyone else. */
static void peer_kill(struct server *s, struct peer *p)
{
	struct peer *o;

	epoll_ctl(s->epfd, EPOLL_CTL_DEL, p->sock, NULL);
	close(p->sock);
	p->sock = -1;
	if (p->stalled) {
		p->stalled = false;
		s->nstalled--;
	}
	drop_queue(p);
	peer_unlink(s, p);
	log_dbg("peer %u disconnected (%u peers)", p->id, s->npeers);
	for (o = s->head; o; o = o->next)
		enqueue(s, o, p->id, -1, NULL);
	peer_put(p);		/* the registry's reference */
}

static void process_work(struct server *s)
{
	struct peer *p;

	while ((p = s->work)) {
		s->work = p->work_next;
		p->on_work = false;
		if (p->sock >= 0) {
			if (!p->doomed && !p->stalled)
				flush(s, p);
			if (p->doomed)
				peer_kill(s, p);
		}
		peer_put(p);
	}
}

/*
 * Tell a client we cannot take that the server is full, then close.  The
 * socket is new, its buffer empty: the 8 bytes fit without blocking.
 */
static void refuse_full(struct server *s, int fd)
{
	uint64_t le = htole64((uint64_t)(int64_t)PROTO_SERVER_FULL);

	log_warn("refusing a client: %u peers connected (--max-peers %u)",
		 s->npeers, s->cfg->max_peers);
	if (send(fd, &le, sizeof(le), MSG_DONTWAIT | MSG_NOSIGNAL) < 0)
		log_dbg("refused client: send: %m");
	close(fd);
}

static void new_peer(struct server *s, int fd)
{
	struct epoll_event ev = { .events = EPOLLIN };
	unsigned int id, v;
	struct peer *p, *o;

	if (s->npeers >= s->cfg->max_peers) {
		refuse_full(s, fd);
		return;
	}
	/* a free id exists: npeers < max_peers <= MAX_PEERS */
	for (id = s->next_id; s->by_id[id]; id = (id + 1) % MAX_PEERS)
		;

	p = calloc(1, sizeof(*p));
	if (!p)
		goto err_nomem;
	p->efd = calloc(s->nvec, sizeof(int));
	if (!p->efd)
		goto err_free;
	for (v = 0; v < s->nvec; v++) {
		p->efd[v] = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
		if (p->efd[v] < 0) {
			s->last_fd_warning = now_ms();
			log_err("refusing a client: cannot create its eventfds: %m");
			peer_free_fds(p, v);
			free(p);
			close(fd);
			return;
		}
	}
	ev.data.ptr = p;
	if (epoll_ctl(s->epfd, EPOLL_CTL_ADD, fd, &ev) < 0) {
		log_err("refusing a client: epoll_ctl: %m");
		peer_free_fds(p, s->nvec);
		free(p);
		close(fd);
		return;
	}
	p->refs = 1;
	p->id = id;
	p->nvec = s->nvec;
	p->sock = fd;
	s->by_id[id] = p;
	s->next_id = (id + 1) % MAX_PEERS;
	p->prev = s->tail;
	if (s->tail)
		s->tail->next = p;
	else
		s->head = p;
	s->tail = p;
	s->npeers++;
	log_dbg("peer %u connected (%u peers)", id, s->npeers);

	enqueue(s, p, 0, -1, NULL);		/* protocol version */
	enqueue(s, p, id, -1, NULL);
	enqueue(s, p, -1, s->shm_fd, NULL);
	for (o = s->head; o; o = o->next) {
		if (o == p)
			continue;
		for (v = 0; v < s->nvec; v++)
			enqueue(s, p, o->id, o->efd[v], o);
		for (v = 0; v < s->nvec; v++)
			enqueue(s, o, id, p->efd[v], p);
	}
	for (v = 0; v < s->nvec; v++)
		enqueue(s, p, id, p->efd[v], p);
	return;

err_free:
	free(p);
err_nomem:
	log_err("refusing a client: out of memory");
	close(fd);
}

static void listen_enable(struct server *s, bool on)
{
	struct epoll_event ev = { .events = on ? EPOLLIN : 0,
				  .data.ptr = &tag_listen };

	epoll_ctl(s->epfd, EPOLL_CTL_MOD, s->lfd, &ev);
	s->accept_paused = !on;
	if (!on)
		s->accept_resume = now_ms() + PAUSE_MS;
}

/* Out of fds: refuse the pending client (with the spare fd) and go on. */
static void out_of_fds(struct server *s)
{
	uint64_t now = now_ms();
	int fd;

	if (now - s->last_fd_warning >= 1000) {
		log_err("accept: %m: refusing clients until fds are freed");
		s->last_fd_warning = now;
	}
	if (s->spare_fd >= 0) {
		close(s->spare_fd);
		s->spare_fd = -1;
		fd = accept4(s->lfd, NULL, NULL, SOCK_CLOEXEC);
		if (fd >= 0)
			close(fd);
		s->spare_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
	}
	if (s->spare_fd < 0)
		listen_enable(s, false);
}

static void on_accept(struct server *s)
{
	int i, fd;

	for (i = 0; i < ACCEPT_BATCH; i++) {
		fd = accept4(s->lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (fd >= 0) {
			new_peer(s, fd);
			continue;
		}
		switch (errno) {
		case EINTR:
		case ECONNABORTED:
		case EPROTO:
			continue;
		case EAGAIN:
			return;
		case EMFILE:
		case ENFILE:
		case ENOBUFS:
		case ENOMEM:
			out_of_fds(s);
			return;
		default:
			log_err("accept: %m");
			listen_enable(s, false);
			return;
		}
	}
}

/* Clients send nothing meaningful: discard input; EOF or error ends them. */
static void on_peer_event(struct server *s, struct peer *p, uint32_t events)
{
	char buf[4096];
	ssize_t n;
	int i;

	if (p->doomed)
		return;
	if (events & EPOLLIN) {
		for (i = 0; i < READ_BATCH; i++) {
			n = recv(p->sock, buf, sizeof(buf), MSG_DONTWAIT);
			if (n > 0)
				continue;
			if (n < 0 && errno == EINTR)
				continue;
			if (n < 0 && errno == EAGAIN)
				break;
			doom(s, p);	/* EOF or error */
			return;
		}
	}
	if (events & (EPOLLERR | EPOLLHUP)) {
		doom(s, p);
		return;
	}
	if (events & EPOLLOUT)
		mark_work(s, p);
}

static void on_signal(struct server *s)
{
	struct signalfd_siginfo si;

	while (read(s->sigfd, &si, sizeof(si)) == sizeof(si)) {
		log_info("signal %u (%s): shutting down", si.ssi_signo,
			 strsignal(si.ssi_signo));
		s->stop = true;
	}
}

static void on_timers(struct server *s)
{
	uint64_t now = now_ms();
	struct peer *p;

	if (s->accept_paused && now >= s->accept_resume) {
		if (s->spare_fd < 0)
			s->spare_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
		listen_enable(s, true);
	}
	if (s->nstalled && now >= s->retry_at) {
		for (p = s->head; p; p = p->next) {
			if (!p->stalled)
				continue;
			p->stalled = false;
			s->nstalled--;
			mark_work(s, p);
		}
	}
}

static int next_timeout(const struct server *s)
{
	uint64_t now = now_ms(), t = UINT64_MAX;

	if (s->accept_paused)
		t = s->accept_resume;
	if (s->nstalled && s->retry_at < t)
		t = s->retry_at;
	if (t == UINT64_MAX)
		return -1;
	return t > now ? (int)(t - now) : 0;
}

static void shutdown_all(struct server *s)
{
	struct peer *p;

	/* Best effort: whatever the sockets take now, then close. */
	for (p = s->head; p; p = p->next)
		if (!p->doomed && !p->stalled)
			flush(s, p);
	while ((p = s->head)) {
		epoll_ctl(s->epfd, EPOLL_CTL_DEL, p->sock, NULL);
		close(p->sock);
		p->sock = -1;
		drop_queue(p);
		peer_unlink(s, p);
		peer_put(p);
	}
	while ((p = s->work)) {
		s->work = p->work_next;
		p->on_work = false;
		peer_put(p);
	}
}

int server_run(const struct config *cfg, int shm_fd, int listen_fd,
	       int sig_fd)
{
	struct epoll_event evs[64];
	struct server s = {
		.cfg = cfg,
		.nvec = cfg->vectors,
		.lfd = listen_fd,
		.sigfd = sig_fd,
		.shm_fd = shm_fd,
	};
	struct epoll_event ev;
	int i, n, ret = 0;

	s.by_id = calloc(MAX_PEERS, sizeof(*s.by_id));
	if (!s.by_id) {
		log_err("out of memory");
		return -1;
	}
	s.spare_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
	s.epfd = epoll_create1(EPOLL_CLOEXEC);
	if (s.epfd < 0) {
		log_err("epoll_create1: %m");
		ret = -1;
		goto out;
	}
	ev = (struct epoll_event){ .events = EPOLLIN, .data.ptr = &tag_listen };
	if (epoll_ctl(s.epfd, EPOLL_CTL_ADD, s.lfd, &ev) < 0) {
		log_err("epoll_ctl: %m");
		ret = -1;
		goto out;
	}
	ev = (struct epoll_event){ .events = EPOLLIN, .data.ptr = &tag_signal };
	if (epoll_ctl(s.epfd, EPOLL_CTL_ADD, s.sigfd, &ev) < 0) {
		log_err("epoll_ctl: %m");
		ret = -1;
		goto out;
	}

	notify_ready();
	while (!s.stop) {
		n = epoll_wait(s.epfd, evs, 64, next_timeout(&s));
		if (n < 0) {
			if (errno == EINTR)
				continue;
			log_err("epoll_wait: %m");
			ret = -1;
			break;
		}
		for (i = 0; i < n; i++) {
			void *tag = evs[i].data.ptr;

			if (tag == &tag_listen)
				on_accept(&s);
			else if (tag == &tag_signal)
				on_signal(&s);
			else
				on_peer_event(&s, tag, evs[i].events);
		}
		on_timers(&s);
		process_work(&s);
	}
	shutdown_all(&s);
out:
	if (s.epfd >= 0)
		close(s.epfd);
	if (s.spare_fd >= 0)
		close(s.spare_fd);
	free(s.by_id);
	return ret;
}
