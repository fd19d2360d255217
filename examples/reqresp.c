// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * reqresp: request/response over libivshm message rings, typically
 * between the host (the responder) and a guest (the requester).
 *
 *   reqresp serve TARGET [SESSIONS]      answer requests; exit after
 *                                        SESSIONS sessions (default 1)
 *   reqresp ask TARGET [COUNT]           send COUNT requests (default 100)
 *                                        to the responder
 *
 * TARGET is unix:SOCKET (a peer of ivshm-server), /dev/ivshmN (a guest)
 * or shm:FILE (no doorbells: both sides poll).
 *
 * The responder formats the region unless it is formatted already,
 * registers itself in the region's peer directory as "reqresp" (the
 * requester looks that name up to learn whom to ring), creates channel
 * "req" (requests, it consumes) and "resp" (responses, it produces), and
 * waits in an epoll loop on three things: the request
 * channel's doorbell fd, the server's peer events (unix: only) and a
 * timeout.  A request carries the requester's peer id, so the responder
 * learns whom to ring.  A session ends when the requester detaches (the
 * channel reports -EPIPE) or when the server says it left (killed, or its
 * VM stopped): the responder then re-creates both channels empty for the
 * next requester.
 *
 * Doorbell vectors: every channel end waits on its own vector, the same
 * number on both sides: 1 for "req", 2 for "resp".
 *
 * Build: cc reqresp.c $(pkg-config --cflags --libs libivshm)
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <unistd.h>

#include <ivshm.h>

#define RING_SIZE	(64u << 10)
#define REQ_VECTOR	1
#define RESP_VECTOR	2
#define IDLE_MS		5000	/* responder: report idleness this often */
#define ANSWER_MS	2000	/* requester: give up on a response */
#define ATTACH_MS	30000	/* requester: wait this long for the channels */
#define NAME		"reqresp"	/* the responder in the peer directory */

/* What travels on both channels. */
struct msg {
	uint32_t peer;		/* the requester's peer id */
	uint32_t seq;
	char text[56];
};

/* One end of a channel with the doorbell signal that wakes it. */
struct end {
	struct ivshm_sigctx ctx;
	struct ivshm_signal sig;
	const struct ivshm_signal *psig;	/* NULL: no doorbells, poll */
	struct ivshm_chan *chan;
};

/* Ring @peer's @vector when it sleeps; sleep on our own @vector. */
static int end_signal(struct ivshm_dev *dev, struct end *e, unsigned int peer,
		      unsigned int vector)
{
	int err;

	e->ctx = (struct ivshm_sigctx){ .size = sizeof(e->ctx) };
	e->sig = (struct ivshm_signal){ .size = sizeof(e->sig) };
	err = ivshm_dev_signal(dev, peer, vector, vector, &e->ctx, &e->sig);
	if (err == -EOPNOTSUPP) {
		e->psig = NULL;
		return 0;
	}
	e->psig = &e->sig;
	return err;
}

static struct ivshm_region *region(struct ivshm_dev *dev, int may_format)
{
	struct ivshm_region *reg;

	reg = ivshm_region_open(ivshm_base(dev), ivshm_size(dev));
	if (!reg && errno == EAGAIN && may_format)
		reg = ivshm_region_format(ivshm_base(dev), ivshm_size(dev));
	return reg;
}

/* ---- responder ---------------------------------------------------------- */

struct responder {
	struct ivshm_dev *dev;
	struct ivshm_region *reg;
	struct end req, resp;
	int client;		/* requester's peer id, -1 before one asked */
	int lost;		/* the server said the requester left */
};

static void on_peer_event(struct ivshm_dev *dev,
			  const struct ivshm_peer_event *ev, void *arg)
{
	struct responder *r = arg;

	(void)dev;
	if (ev->type == IVSHM_PEER_LEAVE && ev->peer == r->client)
		r->lost = 1;
}

/* (Re-)create both channels empty; RESET throws away the old ones. */
static int open_channels(struct responder *r, unsigned int flags)
{
	ivshm_chan_close(r->req.chan);
	ivshm_chan_close(r->resp.chan);
	r->req.chan = ivshm_chan_create(r->reg, "req", RING_SIZE,
					IVSHM_CHAN_CONSUMER | flags, r->req.psig);
	r->resp.chan = ivshm_chan_create(r->reg, "resp", RING_SIZE,
					 IVSHM_CHAN_PRODUCER | flags,
					 r->resp.psig);
	if (!r->req.chan || !r->resp.chan) {
		fprintf(stderr, "reqresp: create channels: %s\n",
			strerror(errno));
		return -1;
	}
	return 0;
}

static int answer(struct responder *r, const struct msg *q)
{
	struct msg a = { .peer = q->peer, .seq = q->seq };
	int err;

	/* The requester's id comes from shared memory: check it is sane
	 * before ringing it.  Both signals ring the same peer. */
	if (q->peer > 65535)
		return -EPROTO;
	r->client = q->peer;
	r->req.ctx.peer = q->peer;
	r->resp.ctx.peer = q->peer;
	snprintf(a.text, sizeof(a.text), "pong %u", q->seq);
	err = ivshm_chan_send(r->resp.chan, &a, sizeof(a), ANSWER_MS);
	return err < 0 ? err : 0;
}

/*
 * Serve one session: drain requests, then sleep in epoll until the
 * request channel's doorbell, a peer event, or the idle timeout.
 * Returns 0 when the requester detached or left, -1 on an error.
 */
static int session(struct responder *r, int ep, int chan_fd)
{
	struct epoll_event evs[4];
	unsigned int served = 0;
	struct msg q;
	ssize_t n;
	int i, k;

	for (;;) {
		n = ivshm_chan_recv(r->req.chan, &q, sizeof(q), 0);
		if (n == sizeof(q)) {
			q.text[sizeof(q.text) - 1] = '\0';
			k = answer(r, &q);
			if (k == -EPIPE)
				break;
			if (k < 0) {
				fprintf(stderr, "reqresp: answer %u: %s\n",
					q.seq, strerror(-k));
				return -1;
			}
			served++;
			continue;
		}
		if (n >= 0) {
			fprintf(stderr, "reqresp: request of %zd bytes\n", n);
			return -1;
		}
		if (n == -EPIPE)
			break;		/* the requester detached */
		if (n != -EAGAIN) {
			fprintf(stderr, "reqresp: recv: %s\n", strerror(-n));
			return -1;
		}
		if (r->lost)
			break;
		/* Nothing queued: ask for a doorbell (1: a request came in
		 * meanwhile; -EPIPE: the requester detached). */
		k = chan_fd >= 0 ? ivshm_chan_arm(r->req.chan) : 0;
		if (k == 1)
			continue;
		if (k == -EPIPE)
			break;
		if (k < 0) {
			fprintf(stderr, "reqresp: arm: %s\n", strerror(-k));
			return -1;
		}
		k = epoll_wait(ep, evs, 4, chan_fd >= 0 ? IDLE_MS : 1);
		if (k < 0 && errno != EINTR) {
			perror("reqresp: epoll_wait");
			return -1;
		}
		if (k == 0 && chan_fd >= 0)
			printf("reqresp: idle, %u requests so far\n", served);
		for (i = 0; i < k; i++) {
			if (evs[i].data.fd == chan_fd)
				ivshm_wait(r->dev, REQ_VECTOR, 0);
			else
				ivshm_process_events(r->dev, 0);
		}
	}
	printf("reqresp: requester %d %s after %u requests\n", r->client,
	       r->lost ? "left" : "detached", served);
	fflush(stdout);
	return 0;
}

static int serve(struct ivshm_dev *dev, int sessions)
{
	struct responder r = { .dev = dev, .client = -1 };
	struct epoll_event ev = { .events = EPOLLIN };
	int ep = -1, chan_fd, ev_fd, ret = 1, s;
	unsigned int self = ivshm_peer_id(dev) < 0 ? 0 : ivshm_peer_id(dev);

	/*
	 * The requester is not known yet: until its first request, the
	 * signals point at ourselves (alive, and a stray ring wakes only us).
	 */
	if (end_signal(dev, &r.req, self, REQ_VECTOR) < 0 ||
	    end_signal(dev, &r.resp, self, RESP_VECTOR) < 0) {
		fprintf(stderr, "reqresp: needs vectors 1 and 2\n");
		return 1;
	}
	r.reg = region(dev, 1);
	if (!r.reg) {
		fprintf(stderr, "reqresp: region: %s\n", strerror(errno));
		return 1;
	}
	ep = epoll_create1(EPOLL_CLOEXEC);
	if (ep < 0 || open_channels(&r, IVSHM_CHAN_RESET) < 0)
		goto out;
	/* REPLACE: a restarted responder takes over its old entry. */
	s = ivshm_peer_register(r.reg, NAME, self, 0, IVSHM_PEER_REPLACE);
	if (s < 0) {
		fprintf(stderr, "reqresp: register: %s\n", strerror(-s));
		goto out;
	}
	chan_fd = ivshm_chan_fd(r.req.chan);
	if (chan_fd >= 0) {
		ev.data.fd = chan_fd;
		epoll_ctl(ep, EPOLL_CTL_ADD, chan_fd, &ev);
	}
	ev_fd = ivshm_event_fd(dev);
	if (ev_fd >= 0) {
		ivshm_set_event_cb(dev, on_peer_event, &r);
		ev.data.fd = ev_fd;
		epoll_ctl(ep, EPOLL_CTL_ADD, ev_fd, &ev);
	}
	printf("reqresp: serving as \"%s\", peer %d\n", NAME,
	       ivshm_peer_id(dev));
	fflush(stdout);
	for (s = 0; s < sessions; s++) {
		if (session(&r, ep, chan_fd) < 0)
			goto out;
		r.client = -1;
		r.lost = 0;
		r.req.ctx.peer = self;
		r.resp.ctx.peer = self;
		/* Fresh, empty channels for the next requester. */
		if (s + 1 < sessions && open_channels(&r, IVSHM_CHAN_RESET) < 0)
			goto out;
	}
	ret = 0;
out:
	ivshm_chan_close(r.req.chan);
	ivshm_chan_close(r.resp.chan);
	ivshm_region_close(r.reg);
	if (ep >= 0)
		close(ep);
	return ret;
}

/* ---- requester ---------------------------------------------------------- */

struct requester {
	struct ivshm_dev *dev;
	struct ivshm_region *reg;
	struct end req, resp;
};

/*
 * Find the responder by name and attach to both channels, waiting up to
 * ATTACH_MS for it.  Returns its peer id, or -1.
 */
static int attach(struct requester *q)
{
	int i, server = -ENOENT;

	ivshm_chan_close(q->req.chan);
	ivshm_chan_close(q->resp.chan);
	q->req.chan = q->resp.chan = NULL;
	for (i = 0; i < ATTACH_MS / 100; i++, usleep(100000)) {
		if (!q->reg)
			q->reg = region(q->dev, 0);
		if (q->reg && server < 0) {
			server = ivshm_peer_lookup(q->reg, NAME);
			if (server < 0)
				continue;
			/* Ring it: its id is now known. */
			q->req.ctx.peer = server;
			q->resp.ctx.peer = server;
		}
		if (q->reg && !q->req.chan)
			q->req.chan = ivshm_chan_attach(q->reg, "req",
							IVSHM_CHAN_PRODUCER,
							q->req.psig);
		if (q->req.chan)
			q->resp.chan = ivshm_chan_attach(q->reg, "resp",
							 IVSHM_CHAN_CONSUMER,
							 q->resp.psig);
		if (q->resp.chan)
			return server;
	}
	if (server < 0)
		fprintf(stderr, "reqresp: no peer \"%s\": %s\n", NAME,
			strerror(-server));
	else
		fprintf(stderr, "reqresp: no channels: %s\n", strerror(errno));
	return -1;
}

/* One request and its answer: 0, or a negative errno. */
static int call(struct requester *q, const struct msg *m)
{
	struct msg a;
	ssize_t n;
	int err;

	err = ivshm_chan_send(q->req.chan, m, sizeof(*m), ANSWER_MS);
	if (err < 0)
		return err;
	n = ivshm_chan_recv(q->resp.chan, &a, sizeof(a), ANSWER_MS);
	if (n < 0)
		return (int)n;
	if (n != sizeof(a) || a.seq != m->seq)
		return -EPROTO;
	return 0;
}

static int ask(struct ivshm_dev *dev, unsigned int count)
{
	struct requester q = { .dev = dev };
	int me = ivshm_peer_id(dev), ret = 1, err, resets = 0, server;
	struct msg m = { .peer = me < 0 ? 0 : me };
	unsigned int i;

	/* Ourselves until attach() has looked the responder up. */
	if (end_signal(dev, &q.req, m.peer, REQ_VECTOR) < 0 ||
	    end_signal(dev, &q.resp, m.peer, RESP_VECTOR) < 0) {
		fprintf(stderr, "reqresp: needs vectors 1 and 2\n");
		return 1;
	}
	server = attach(&q);
	if (server < 0)
		goto out;
	for (i = 1; i <= count; i++) {
		m.seq = i;
		snprintf(m.text, sizeof(m.text), "ping %u", i);
		err = call(&q, &m);
		/*
		 * -ECONNRESET: the responder re-created the channels (it
		 * ended a previous session just after we attached): attach
		 * to the new ones and ask again.
		 */
		if (err == -ECONNRESET && resets++ < 3 &&
		    (server = attach(&q)) >= 0) {
			i--;
			continue;
		}
		if (err < 0) {
			fprintf(stderr, "reqresp: request %u: %s\n", i,
				err == -EPIPE ? "responder gone" :
				err == -ETIMEDOUT ? "no answer in time" :
				strerror(-err));
			goto out;
		}
	}
	printf("reqresp: %u answers from \"%s\", peer %d\n", count, NAME,
	       server);
	ret = 0;
out:
	ivshm_chan_close(q.req.chan);
	ivshm_chan_close(q.resp.chan);
	ivshm_region_close(q.reg);
	return ret;
}

int main(int argc, char **argv)
{
	struct ivshm_dev *dev;
	int ret;

	if (argc < 3 || (strcmp(argv[1], "serve") && strcmp(argv[1], "ask"))) {
		fprintf(stderr, "usage: reqresp serve TARGET [SESSIONS]\n"
				"       reqresp ask TARGET [COUNT]\n");
		return 2;
	}
	dev = ivshm_open(argv[2], 0);
	if (!dev) {
		fprintf(stderr, "reqresp: %s: %s\n", argv[2], strerror(errno));
		return 1;
	}
	if (!strcmp(argv[1], "serve"))
		ret = serve(dev, argc > 3 ? atoi(argv[3]) : 1);
	else
		ret = ask(dev, argc > 3 ? atoi(argv[3]) : 100);
	ivshm_close(dev);
	return ret;
}
