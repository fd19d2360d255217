// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * libivshm message rings: sleeping and waking.
 *
 * Each side has a sleep word in its own event line of the channel header
 * (odd: "I sleep, ring me"; written by its owner only) and a doorbell
 * (struct ivshm_signal).  The proof that no wakeup is lost is in
 * docs/wire-format.md ("Sleeping and doorbells"); in short:
 *
 *   notifier (wake_publish)          waiter (chan_wait / chan_arm)
 *   publish (release): the producer  spin on the ring (no announcement)
 *   a record header, the consumer
 *   cons_idx
 *   F1: seq_cst fence                store sleep = odd (announce)
 *   load peer's sleep word           F2: seq_cst fence
 *   odd and not rung for yet: ring   re-check the ring: ready -> withdraw
 *                                    sleep (doorbell or backstop slice)
 *                                    withdraw; consume the doorbell; re-check
 *
 * F1 and F2 are the two halves of Dekker's pattern: in the single order of
 * seq_cst fences one comes first, and the load after the later fence sees
 * the store before the earlier one.  So either the waiter's re-check sees
 * the publication (it does not sleep) or the notifier sees the announcement
 * (it rings).  The doorbell is rung at most once per announcement
 * (c->kicked), only for a side that announced, and the waiter spins before
 * announcing, so a busy stream rings almost never and a doorbell is almost
 * always for a real sleep.  Doorbells coalesce and may be stale (rung for
 * an announcement that its re-check then withdrew): a waiter treats every
 * wake as a hint, consumes it and re-checks, so a stale doorbell costs one
 * spurious wake, never a sleep past a message.  A side that cannot ring
 * (no signal->notify) has nothing to decide after publishing and skips F1.
 *
 * The sleep is still cut in slices of SLICE_MS with a re-check after each:
 * a backstop only.  A slice that expires with the ring ready and no
 * doorbell pending is counted in stats.backstops; it stays 0 unless the
 * protocol is broken (or the peer stalled for a whole slice between its
 * index store and its doorbell).
 */
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <time.h>

#include "ring_wake.h"

#define SLICE_MS		1000
#define POLL_MIN_NS		1000ull
#define POLL_MAX_NS		1000000ull

static inline void cpu_relax(void)
{
#if defined(__x86_64__) || defined(__i386__)
	__builtin_ia32_pause();
#elif defined(__aarch64__)
	__asm__ __volatile__("yield" ::: "memory");
#else
	atomic_signal_fence(memory_order_seq_cst);
#endif
}

void wake_notify(struct ivshm_chan *c)
{
	c->stats.notifies++;
	/* for observers only: one writer (us), so no read-modify-write */
	atomic_store_explicit(&c->my_evt->rings,
			      atomic_load_explicit(&c->my_evt->rings,
						   memory_order_relaxed) + 1,
			      memory_order_relaxed);
	if (c->sig.notify) {
		KEEP_ERRNO;

		c->sig.notify(c->sig.ctx);
	}
}

/*
 * wake_publish's slow path: the peer announced sleep word @seen and we
 * have not rung for it.  A producer sleeps for room: it published in want
 * the consumer index that gives it enough, and is rung only once our
 * index @idx reaches it (before that, a later release of ours looks
 * again; the sleep word stays odd meanwhile).
 */
void wake_ring(struct ivshm_chan *c, uint32_t seen, uint64_t idx)
{
	uint64_t want;

	if (c->role == IVSHM_CHAN_CONSUMER) {
		/* pairs with the release store of @seen: its want, or newer */
		atomic_thread_fence(memory_order_acquire);
		want = atomic_load_explicit(&c->peer_evt->want,
					    memory_order_relaxed);
		if ((int64_t)(idx - want) < 0)
			return;
	}
	c->kicked = seen;
	wake_notify(c);
}

static void withdraw(struct ivshm_chan *c)
{
	if (c->sleep_seq & 1) {
		c->sleep_seq++;
		atomic_store_explicit(&c->my_evt->sleep, c->sleep_seq,
				      memory_order_relaxed);
	}
}

/*
 * Announce that we are going to sleep until ready(c, need), then look at
 * the ring once more.  Return 0 (not ready: sleep now, the peer will ring)
 * or what ready() said (the announcement is then withdrawn).
 */
static int announce(struct ivshm_chan *c, uint64_t need)
{
	int r;

	/* producer: the consumer index that makes room; read with the word */
	if (c->role == IVSHM_CHAN_PRODUCER)
		atomic_store_explicit(&c->my_evt->want,
				      c->head + need - c->size,
				      memory_order_relaxed);
	/* a new odd value each time: the peer rings once per value */
	c->sleep_seq = (c->sleep_seq + 1) | 1;
	atomic_store_explicit(&c->my_evt->sleep, c->sleep_seq,
			      memory_order_release);
	TEST_HOOK(IVSHM_HOOK_ANNOUNCED);
	/*
	 * F2, paired with F1 in wake_publish(): the announcement before the
	 * re-check.  If the peer's load of our word missed the announcement,
	 * this re-check sees its index.
	 */
	atomic_thread_fence(memory_order_seq_cst);
	r = ready(c, need);
	if (r)
		withdraw(c);
	return r;
}

/* Poll without a doorbell: sleep with exponential back-off. */
static void backoff_sleep(uint64_t *backoff, uint64_t left)
{
	struct timespec ts;
	uint64_t d = *backoff < left ? *backoff : left;

	ts.tv_sec = (time_t)(d / 1000000000ull);
	ts.tv_nsec = (long)(d % 1000000000ull);
	nanosleep(&ts, NULL);
	if (*backoff < POLL_MAX_NS)
		*backoff *= 2;
}

/*
 * Sleep on the doorbell until it rings or @slice_ms pass, announced, then
 * re-check.  Return what ready() says, or a negative errno from the wait.
 * *@slept says whether it slept (the announcement's re-check failed).
 */
static int doorbell_sleep(struct ivshm_chan *c, uint64_t need, int slice_ms,
			  bool *slept)
{
	int r, w;

	r = announce(c, need);
	if (r)
		return r;
	*slept = true;
	/* wait consumes the doorbell it reports: drained before the re-check */
	w = c->sig.wait(c->sig.ctx, slice_ms);
	withdraw(c);
	r = ready(c, need);
	if (r > 0 && w == -ETIMEDOUT && c->sig.wait(c->sig.ctx, 0) != 0)
		/* ready, and no doorbell came: only the slice woke us */
		c->stats.backstops++;
	if (r || w == 0 || w == -ETIMEDOUT || w == -EINTR || w == -EAGAIN)
		return r;
	return w;
}

/*
 * Wait until ready(c, need): 0 when ready, else a negative errno.  The
 * caller already saw "not ready".  errno survives nanosleep and the
 * signal's callbacks.
 */
int chan_wait(struct ivshm_chan *c, uint64_t need, int timeout_ms)
{
	uint64_t t, deadline, end, left, backoff = POLL_MIN_NS;
	bool slept = false, was;
	unsigned int i;
	int r, slice;
	KEEP_ERRNO;

	if (timeout_ms == 0)
		return fail(EAGAIN);
	c->stats.waits++;
	t = now_ns();
	deadline = timeout_ms < 0 ? UINT64_MAX :
		   t + (uint64_t)timeout_ms * 1000000ull;

	/* spin first: a message (or room) that comes now costs no doorbell */
	if (c->spin_ns) {
		end = t + c->spin_ns;
		for (i = 1;; i++) {
			cpu_relax();
			r = ready(c, need);
			if (r)
				return r < 0 ? r : 0;
			if (!(i & 31)) {
				t = now_ns();
				if (t >= end || t >= deadline)
					break;
			}
		}
	}

	for (;;) {
		r = check_peer(c);
		if (r < 0) {
			/* what was published before the detach still counts */
			if (r == -EPIPE) {
				r = ready(c, need);
				if (r)
					return r < 0 ? r : 0;
				r = -EPIPE;
			}
			return fail(-r);
		}
		t = now_ns();
		if (t >= deadline)
			return fail(ETIMEDOUT);
		left = deadline - t;
		was = slept;
		if (!c->has_sig || !c->sig.wait) {
			slept = true;
			backoff_sleep(&backoff, left);
			r = ready(c, need);
		} else {
			slice = SLICE_MS;
			if (left < (uint64_t)slice * 1000000ull)
				slice = (int)((left + 999999) / 1000000);
			r = doorbell_sleep(c, need, slice, &slept);
		}
		/* one sleep per episode, however many slices or early wakes */
		if (slept && !was)
			c->stats.sleeps++;
		if (r > 0)
			return 0;
		if (r < 0)
			return fail(-r);
	}
}

/*
 * For event loops: announce, so that the caller may sleep on the
 * doorbell's fd.  1 or <0: ready now or broken (nothing announced); 0:
 * announced.  The announcement stands until the next arm or wait (the peer
 * rings at most once for it).
 */
int chan_arm(struct ivshm_chan *c, uint64_t need)
{
	int r;

	r = ready(c, need);
	if (r)
		return r;
	r = announce(c, need);
	if (r)
		return r;
	r = check_peer(c);
	if (r < 0) {
		withdraw(c);
		return fail(-r);
	}
	return 0;
}
