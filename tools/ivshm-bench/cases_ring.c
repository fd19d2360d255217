// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * Our cases: libivshm channels in a region formatted in the shared memfd,
 * created by the parent (producer / pinger) and attached by the child, as
 * two peers do.  Busy-polling cases call the non-blocking forms in a loop;
 * blocking cases give each channel end an eventfd doorbell and wait.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "payload.h"

#define RING_SMALL	(256u << 10)
#define RING_BIG	(1u << 20)
#define SHM_FOR(ring)	(IVSHM_REGION_HDR_SIZE + 2 * IVSHM_CHAN_FOOTPRINT(ring))

#define ALWAYS_INLINE	static inline __attribute__((always_inline))

/* This process's view of the run (the child inherits the parent's). */
static struct {
	struct ivshm_region *reg;
	struct ivshm_chan *tx, *rx;
	struct efd_pair efd[2];		/* channel "a" (parent to child), "b" */
	struct ivshm_signal sig[2][2];	/* [channel][0 producer, 1 consumer] */
	int signalled, rtt;
	const struct pset *ps;
	unsigned char *buf;		/* the 64 KiB consumer's copy */
} st;

static int ring_setup(struct run *r, size_t msg, size_t ring, int signalled,
		      int rtt)
{
	const char *what;
	int i;

	memset(&st, 0, sizeof(st));
	st.efd[0].fd[0] = st.efd[0].fd[1] = -1;
	st.efd[1].fd[0] = st.efd[1].fd[1] = -1;
	st.ps = pset_get(msg);
	st.signalled = signalled;
	st.rtt = rtt;
	for (i = 0; signalled && i < 1 + rtt; i++) {
		if (efd_pair_open(&st.efd[i])) {
			fail(r, "eventfd: %s", strerror(errno));
			return -1;
		}
		efd_signal(&st.efd[i], 0, &st.sig[i][0]);
		efd_signal(&st.efd[i], 1, &st.sig[i][1]);
	}
	what = "region_format";
	st.reg = ivshm_region_format(r->shm, r->shm_size);
	if (!st.reg)
		goto err;
	what = "chan_create";
	st.tx = ivshm_chan_create(st.reg, "a", ring, IVSHM_CHAN_PRODUCER,
				  signalled ? &st.sig[0][0] : NULL);
	if (!st.tx)
		goto err;
	if (rtt) {
		st.rx = ivshm_chan_create(st.reg, "b", ring,
					  IVSHM_CHAN_CONSUMER,
					  signalled ? &st.sig[1][1] : NULL);
		if (!st.rx)
			goto err;
	}
	if (msg == MSG_BIG) {
		st.buf = aligned_alloc(64, MSG_BIG);
		if (!st.buf)
			goto err;
	}
	return 0;
err:
	fail(r, "%s: %s", what, strerror(errno));
	return -1;
}

static void ring_teardown(struct run *r)
{
	add_stats(&r->st, st.tx);
	add_stats(&r->st, st.rx);
	ivshm_chan_close(st.tx);
	ivshm_chan_close(st.rx);
	ivshm_region_close(st.reg);
	efd_pair_close(&st.efd[0]);
	efd_pair_close(&st.efd[1]);
	free(st.buf);
	st.buf = NULL;
}

/* Child: attach to the other ends (the parent's handles are left alone:
 * closing them here would detach the parent). */
static int child_attach(struct run *r)
{
	struct ivshm_region *reg = ivshm_region_open(r->shm, r->shm_size);

	if (!reg) {
		fail(r, "region_open: %s", strerror(errno));
		return -1;
	}
	st.rx = ivshm_chan_attach(reg, "a", IVSHM_CHAN_CONSUMER,
				  st.signalled ? &st.sig[0][1] : NULL);
	st.tx = NULL;
	if (st.rx && st.rtt)
		st.tx = ivshm_chan_attach(reg, "b", IVSHM_CHAN_PRODUCER,
					  st.signalled ? &st.sig[1][0] : NULL);
	ivshm_region_close(reg);
	if (!st.rx || (st.rtt && !st.tx)) {
		fail(r, "chan_attach: %s", strerror(errno));
		return -1;
	}
	consumer_ready(r);
	return 0;
}

static void child_done(struct run *r)
{
	add_stats(&r->st, st.tx);
	add_stats(&r->st, st.rx);
	ivshm_chan_close(st.tx);
	ivshm_chan_close(st.rx);
}

/* ---- streams ------------------------------------------------------------ */

/*
 * Send messages [first, first + n) in batches of up to @batch reservations
 * per commit.  @tmo 0 busy-polls for space; else the first reservation of
 * a batch may wait that long.  0, or -1 after a failure.
 */
ALWAYS_INLINE int produce(struct run *r, uint64_t first, uint64_t n,
			  size_t len, unsigned int batch, int tmo)
{
	uint64_t seq = first, end = first + n;
	unsigned int b, k = 0;
	void *d;
	int e;

	while (seq < end) {
		for (b = 0; b < batch && seq + b < end; b++) {
			e = ivshm_chan_reserve(st.tx, len, &d, b ? 0 : tmo);
			if (e == -EAGAIN)
				break;
			if (e) {
				fail(r, "reserve: %s", strerror(-e));
				return -1;
			}
			payload_write(d, len, seq + b, st.ps);
		}
		if (b) {
			e = ivshm_chan_commit(st.tx);
			if (e) {
				fail(r, "commit: %s", strerror(-e));
				return -1;
			}
			seq += b;
		} else if (spin_check(r, &k)) {
			return -1;
		}
	}
	return 0;
}

/* Receive and verify messages [first, first + n) in place: up to @batch
 * peeks per release. */
ALWAYS_INLINE int consume(struct run *r, uint64_t first, uint64_t n,
			  size_t len, unsigned int batch, int tmo)
{
	uint64_t seq = first, end = first + n;
	unsigned int b, k = 0;
	const void *d;
	size_t l;
	int e;

	while (seq < end) {
		for (b = 0; b < batch && seq + b < end; b++) {
			e = ivshm_chan_peek(st.rx, &d, &l, b ? 0 : tmo);
			if (e == -EAGAIN)
				break;
			if (e) {
				fail(r, "peek: %s", strerror(-e));
				return -1;
			}
			if (payload_check(r, d, l, len, seq + b, st.ps))
				return -1;
		}
		if (b) {
			e = ivshm_chan_release(st.rx);
			if (e) {
				fail(r, "release: %s", strerror(-e));
				return -1;
			}
			seq += b;
		} else if (spin_check(r, &k)) {
			return -1;
		}
	}
	return 0;
}

static int s_stream_64(struct run *r)
{
	return ring_setup(r, MSG_SMALL, RING_SMALL, 0, 0);
}

static void p_stream_64(struct run *r)
{
	produce(r, 0, r->n, MSG_SMALL, 1, 0);
}

static void c_stream_64(struct run *r)
{
	if (!child_attach(r) && !consume(r, 0, r->n, MSG_SMALL, 1, 0))
		r->ctl->t_end = now_s();
	child_done(r);
}

static void p_stream_64_batch(struct run *r)
{
	produce(r, 0, r->n, MSG_SMALL, BATCH, 0);
}

static void c_stream_64_batch(struct run *r)
{
	if (!child_attach(r) && !consume(r, 0, r->n, MSG_SMALL, BATCH, 0))
		r->ctl->t_end = now_s();
	child_done(r);
}

static int s_stream_64k(struct run *r)
{
	return ring_setup(r, MSG_BIG, RING_BIG, 0, 0);
}

static void p_stream_64k(struct run *r)
{
	produce(r, 0, r->n, MSG_BIG, 1, 0);
}

/* The consumer copies each message out (ivshm_chan_recv), as a consumer
 * that must not read shared memory twice does, then verifies the copy. */
static void c_stream_64k(struct run *r)
{
	unsigned int k = 0;
	uint64_t seq = 0;
	ssize_t l;

	if (child_attach(r))
		goto out;
	while (seq < r->n) {
		l = ivshm_chan_recv(st.rx, st.buf, MSG_BIG, 0);
		if (l == -EAGAIN) {
			if (spin_check(r, &k))
				goto out;
			continue;
		}
		if (l < 0) {
			fail(r, "recv: %s", strerror((int)-l));
			goto out;
		}
		if (payload_check(r, st.buf, (size_t)l, MSG_BIG, seq, st.ps))
			goto out;
		seq++;
	}
	r->ctl->t_end = now_s();
out:
	child_done(r);
}

/* ---- bursts with gaps: even bursts to a blocking consumer, odd ones to a
 * busy-polling one; each burst is timed from its first reservation to the
 * consumer's check of its last message. */

static int s_bursty(struct run *r)
{
	if (r->n > BURSTS_MAX)
		r->n = BURSTS_MAX;
	r->n &= ~(uint64_t)1;
	return ring_setup(r, MSG_SMALL, RING_SMALL, 1, 0);
}

static void p_bursty(struct run *r)
{
	uint64_t b;

	for (b = 0; b < r->n; b++) {
		r->ctl->burst_start[b] = now_s();
		if (produce(r, b * BURST_MSGS, BURST_MSGS, MSG_SMALL, 1,
			    BLOCK_MS))
			return;
		idle_ns(BURST_GAP_NS);
	}
}

static void c_bursty(struct run *r)
{
	uint64_t b;
	int tmo;

	if (child_attach(r))
		goto out;
	for (b = 0; b < r->n; b++) {
		tmo = b % 2 ? 0 : BLOCK_MS;
		if (consume(r, b * BURST_MSGS, BURST_MSGS, MSG_SMALL, 1, tmo))
			goto out;
		r->ctl->burst_end[b] = now_s();
	}
	r->ctl->t_end = now_s();
out:
	child_done(r);
}

static void t_bursty(struct run *r)
{
	double t[2] = { 0, 0 };
	uint64_t b;

	for (b = 0; b < r->n; b++)
		t[b % 2] += r->ctl->burst_end[b] - r->ctl->burst_start[b];
	ring_teardown(r);
	if (r->fail[0] || t[0] <= 0 || t[1] <= 0)
		return;
	r->extra = (double)(r->n / 2) * BURST_MSGS / t[1];
	r->value = (double)(r->n / 2) * BURST_MSGS / t[0];
}

/* ---- round trips: ping on channel "a", pong on channel "b" ------------- */

/* Wait for the next message: busy polling if @tmo is 0. */
ALWAYS_INLINE int next(struct run *r, const void **d, size_t *l, int tmo)
{
	unsigned int k = 0;
	int e;

	while ((e = ivshm_chan_peek(st.rx, d, l, tmo)) == -EAGAIN)
		if (spin_check(r, &k))
			return -1;
	if (e)
		fail(r, "peek: %s", strerror(-e));
	return e;
}

ALWAYS_INLINE int put(struct run *r, uint64_t seq, int tmo)
{
	unsigned int k = 0;
	void *d;
	int e;

	while ((e = ivshm_chan_reserve(st.tx, MSG_SMALL, &d, tmo)) == -EAGAIN)
		if (spin_check(r, &k))
			return -1;
	if (!e) {
		payload_write(d, MSG_SMALL, seq, st.ps);
		e = ivshm_chan_commit(st.tx);
	}
	if (e)
		fail(r, "send: %s", strerror(-e));
	return e;
}

ALWAYS_INLINE void ping(struct run *r, int tmo, uint64_t idle)
{
	const void *d;
	uint64_t i, t;
	size_t l;

	for (i = 0; i < r->n; i++) {
		if (idle)
			idle_ns(idle);
		t = now_ns();
		if (put(r, 2 * i, tmo) || next(r, &d, &l, tmo) ||
		    payload_check(r, d, l, MSG_SMALL, 2 * i + 1, st.ps))
			return;
		ivshm_chan_release(st.rx);
		r->lat[i] = (double)(now_ns() - t);
	}
}

ALWAYS_INLINE void pong(struct run *r, int tmo)
{
	const void *d;
	uint64_t i;
	size_t l;

	if (child_attach(r))
		goto out;
	for (i = 0; i < r->n; i++) {
		if (next(r, &d, &l, tmo) ||
		    payload_check(r, d, l, MSG_SMALL, 2 * i, st.ps))
			goto out;
		ivshm_chan_release(st.rx);
		if (put(r, 2 * i + 1, tmo))
			goto out;
	}
out:
	child_done(r);
}

static int s_rtt_poll(struct run *r)
{
	return ring_setup(r, MSG_SMALL, RING_SMALL, 0, 1);
}

static int s_rtt_block(struct run *r)
{
	return ring_setup(r, MSG_SMALL, RING_SMALL, 1, 1);
}

static void p_rtt_poll(struct run *r)
{
	ping(r, 0, 0);
}

static void c_rtt_poll(struct run *r)
{
	pong(r, 0);
}

static void p_rtt_block(struct run *r)
{
	ping(r, BLOCK_MS, 0);
}

static void p_rtt_wake(struct run *r)
{
	ping(r, BLOCK_MS, WAKE_IDLE_NS);
}

static void c_rtt_block(struct run *r)
{
	pong(r, BLOCK_MS);
}

const struct bench_case ring_cases[] = {
	{ "ring_stream_64", K_RATE_MSGS, 0, 5e6, 1000, SHM_FOR(RING_SMALL),
	  NULL, s_stream_64, p_stream_64, c_stream_64, ring_teardown },
	{ "ring_stream_64_batch32", K_RATE_MSGS, 0, 1e7, 1000,
	  SHM_FOR(RING_SMALL), NULL, s_stream_64, p_stream_64_batch,
	  c_stream_64_batch, ring_teardown },
	{ "ring_stream_64k", K_RATE_BYTES, 0, 2e4, 100, SHM_FOR(RING_BIG),
	  NULL, s_stream_64k, p_stream_64k, c_stream_64k, ring_teardown },
	{ "ring_rtt_poll_64", K_LATENCY, 0, 3e5, 1000, SHM_FOR(RING_SMALL),
	  NULL, s_rtt_poll, p_rtt_poll, c_rtt_poll, ring_teardown },
	{ "ring_rtt_block_64", K_LATENCY, 1, 2e5, 1000, SHM_FOR(RING_SMALL),
	  NULL, s_rtt_block, p_rtt_block, c_rtt_block, ring_teardown },
	{ "ring_rtt_wake_64", K_LATENCY, 1, 3000, 50, SHM_FOR(RING_SMALL),
	  NULL, s_rtt_block, p_rtt_wake, c_rtt_block, ring_teardown },
	{ "ring_stream_64_bursty", K_RATE_MSGS, 1, 200, 2,
	  SHM_FOR(RING_SMALL), NULL, s_bursty, p_bursty, c_bursty,
	  t_bursty },
	{ NULL },
};
