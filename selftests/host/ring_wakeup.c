// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * libivshm message rings: lost-wakeup stress.
 *
 * Two processes play ping-pong over two channels ("ping": parent to
 * child, "pong": back) in a MAP_SHARED region, with eventfd doorbells, so
 * that nearly every receive goes to sleep and nearly every send has to
 * decide whether to ring.  Two ways of sleeping:
 *
 *   blocking:	ivshm_chan_recv(-1) with spin 0; the library sleeps in
 *		signal->wait (ours, below) in capped slices;
 *   arm:	ivshm_chan_arm, then poll(2) on ivshm_chan_fd with no timeout
 *		at all: nothing but the doorbell wakes it.
 *
 * Most receives sleep at once (spin 0), some spin first, so that a
 * sleeper is often raced by a peer that is awake (recv_one).
 * Random 0-2 us delays are injected on both sides inside the protocol
 * (lib/test_hook.h): between publishing an index and reading the peer's
 * sleep word, and between announcing sleep and re-checking the ring.  Those
 * windows are a few instructions inside one library call, out of reach of
 * any delay between calls; so this test compiles the ring sources itself
 * with the hooks (see the Makefile), while the library proper has none.
 *
 * A lost wakeup is a sleeper that stays asleep, with no doorbell pending,
 * after its peer has published a message and returned from the send (the
 * send made its ring-or-not decision).  Two detectors:
 *   - our signal->wait: a slice that timed out although the peer's send
 *     had completed and no doorbell is pending (the library's backstop
 *     re-check rescued it; the library counts these too, stats.backstops);
 *   - a watchdog thread: a side inside poll() for more than 50 ms after
 *     the peer's send completed, with no doorbell pending; it counts it and
 *     rings the doorbell itself so that the run goes on.
 * It asserts none, at most 1.05 doorbells per real sleep (one that did not
 * find a doorbell already pending), and prints the counts.
 *
 * IVSHM_WAKEUP_ROUNDTRIPS (default 5000000) is the total over both modes;
 * IVSHM_WAKEUP_SECONDS (default 80) caps the time of both together (a run
 * cut short by it must still reach a tenth of the target);
 * IVSHM_WAKEUP_NO_DELAYS turns the injected delays off (by default every
 * other block of 4096 round trips has them).
 */
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "kselftest_harness.h"
#include "ivshm.h"
#include "../../lib/test_hook.h"

#define RSIZE		(1u << 20)
#define RING		4096u
#define STALL_NS	50000000ull	/* watchdog: asleep this long = lost */

enum { PARENT, CHILD };

/* What each side publishes for the watchdog and the final report. */
struct side {
	_Atomic uint64_t sent;		/* sends completed */
	_Atomic uint64_t sent_ns;	/* when the last one completed */
	_Atomic uint64_t rcvd;		/* messages received */
	_Atomic uint64_t in_poll;	/* odd while inside poll() */
	_Atomic uint64_t rescued;	/* watchdog: lost wakeups */
	/* end of run */
	uint64_t sleeps;		/* wait calls / polls after an arm */
	uint64_t stale;			/* ... that found a doorbell pending */
	uint64_t doorbells;		/* doorbells this side rang */
	uint64_t backstops;		/* library counter */
	uint64_t timeouts;		/* our wait slices that timed out */
	uint64_t lost;			/* ... of which with a message there */
	uint64_t bad;			/* protocol or order errors */
	char pad[64];
};

struct shared {
	struct side s[2];
	_Atomic int stop;
	_Atomic int delays;		/* inject delays now (set by the parent) */
	int efd[2];			/* each side's doorbell */
	int arm;			/* mode */
	uint64_t target;		/* round trips */
	uint64_t deadline_ns;
};

static struct shared *sh;
static int me;				/* PARENT or CHILD in this process */
static bool no_delays;
static __thread uint64_t rnd;

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static uint64_t xs(void)
{
	rnd ^= rnd << 13;
	rnd ^= rnd >> 7;
	rnd ^= rnd << 17;
	return rnd;
}

/*
 * In the blocks of round trips that have delays (every other 4096, see
 * play()): half the time 0-2 us of spinning (a sleep would hand the CPU to
 * the peer and hide the races), else nothing.  The other blocks run at
 * natural timing: a delay between a store and the next load lets the store
 * drain, which hides the very store-buffer race a missing fence allows.
 */
static void delay(void)
{
	uint64_t x, end;

	if (!atomic_load_explicit(&sh->delays, memory_order_relaxed))
		return;
	x = xs();
	if (x & 1)
		return;
	end = now_ns() + (x >> 8) % 2001;
	while (now_ns() < end)
		;
}

/* The protocol's delay points (lib/test_hook.h). */
void ivshm_test_hook(enum ivshm_test_point point)
{
	(void)point;
	delay();
}

static bool doorbell_pending(int fd)
{
	struct pollfd p = { .fd = fd, .events = POLLIN };

	return poll(&p, 1, 0) == 1;
}

static void drain(int fd)
{
	uint64_t v;

	if (read(fd, &v, 8) < 0 && errno != EAGAIN)
		sh->s[me].bad++;
}

/* A message from the peer that we have not received, whose send is done. */
static bool peer_msg_pending(void)
{
	return atomic_load(&sh->s[!me].sent) > atomic_load(&sh->s[me].rcvd);
}

static int efd_notify(void *ctx)
{
	uint64_t one = 1;

	(void)ctx;
	return write(sh->efd[!me], &one, 8) == 8 ? 0 : -errno;
}

/*
 * poll() on our doorbell, visible to the watchdog while inside.  A sleep
 * that finds a doorbell already pending (rung for an announcement that
 * was withdrawn, or coalesced) is no real sleep: counted apart.
 */
static int sleep_on_doorbell(int timeout_ms)
{
	struct pollfd p = { .fd = sh->efd[me], .events = POLLIN };
	int r;

	if (doorbell_pending(sh->efd[me]))
		sh->s[me].stale++;
	atomic_fetch_add(&sh->s[me].in_poll, 1);
	r = poll(&p, 1, timeout_ms);
	atomic_fetch_add(&sh->s[me].in_poll, 1);
	return r;
}

/* signal->wait for the blocking mode. */
static int efd_wait(void *ctx, int timeout_ms)
{
	struct side *s = &sh->s[me];
	int r;

	(void)ctx;
	r = sleep_on_doorbell(timeout_ms);
	if (r < 0)
		return -errno;
	if (r == 0) {
		s->timeouts++;
		/* we are still announced: a completed send must have rung */
		if (peer_msg_pending() && !doorbell_pending(sh->efd[me]))
			s->lost++;
		return -ETIMEDOUT;
	}
	drain(sh->efd[me]);
	return 0;
}

/*
 * Receive message @want, in the variant's way of sleeping.  Three in four
 * receives sleep at once (spin 0); the others spin up to 10 us first, so
 * that this side is awake when the peer's message comes and replies while
 * the peer is announcing its own sleep: the race a lost wakeup needs,
 * which two sides that always sleep first never run into (each reply then
 * comes microseconds after the other side went to sleep).  More spinning
 * finds more races but costs round trips: a spinner holds one of the CPUs
 * its peer needs.
 */
static int recv_one(struct ivshm_chan *c, uint64_t want)
{
	uint64_t x = xs(), spin_us = x % 4 ? 0 : 10, end;
	uint64_t v;
	ssize_t n;
	int r;

	if (!sh->arm) {
		ivshm_chan_set_spin(c, (unsigned int)spin_us);
		n = ivshm_chan_recv(c, &v, sizeof(v), -1);
	} else {
		end = now_ns() + spin_us * 1000;
		do
			n = ivshm_chan_recv(c, &v, sizeof(v), 0);
		while (n == -EAGAIN && now_ns() < end);
		while (n == -EAGAIN) {
			r = ivshm_chan_arm(c);
			if (r < 0)
				return r;
			if (r == 0) {
				sh->s[me].sleeps++;
				if (sleep_on_doorbell(-1) < 0)
					return -errno;
				/* consume the doorbell, then look at the ring */
				drain(sh->efd[me]);
			}
			n = ivshm_chan_recv(c, &v, sizeof(v), 0);
		}
	}
	if (n < 0)
		return (int)n;
	if (n != sizeof(v) || v != want)
		return -EBADMSG;
	atomic_fetch_add(&sh->s[me].rcvd, 1);
	return 0;
}

static int send_one(struct ivshm_chan *c, uint64_t v)
{
	int r;

	delay();
	r = ivshm_chan_send(c, &v, sizeof(v), -1);

	if (r == 0) {
		atomic_store(&sh->s[me].sent_ns, now_ns());
		atomic_fetch_add(&sh->s[me].sent, 1);
	}
	return r;
}

static struct ivshm_signal doorbells(void)
{
	return (struct ivshm_signal){ sizeof(struct ivshm_signal), efd_notify, efd_wait, NULL,
				      sh->efd[me], NULL };
}

static int create_chans(struct ivshm_region *r, struct ivshm_chan **tx,
			struct ivshm_chan **rx)
{
	struct ivshm_signal sig = doorbells();

	*tx = ivshm_chan_create(r, "ping", RING, IVSHM_CHAN_PRODUCER, &sig);
	*rx = ivshm_chan_create(r, "pong", RING, IVSHM_CHAN_CONSUMER, &sig);
	return *tx && *rx ? 0 : -errno;
}

static int attach_chans(struct ivshm_region *r, struct ivshm_chan **tx,
			struct ivshm_chan **rx)
{
	struct ivshm_signal sig = doorbells();

	*rx = ivshm_chan_attach(r, "ping", IVSHM_CHAN_CONSUMER, &sig);
	*tx = ivshm_chan_attach(r, "pong", IVSHM_CHAN_PRODUCER, &sig);
	return *tx && *rx ? 0 : -errno;
}

/*
 * One side's run; returns 0 or a negative errno.  Closes both channels,
 * so that a side that fails wakes the other (-EPIPE) rather than leaving
 * it asleep.
 */
static int play(struct ivshm_chan *tx, struct ivshm_chan *rx)
{
	struct ivshm_chan_stats st = { .size = sizeof(st) };
	struct side *s = &sh->s[me];
	uint64_t i;
	int ret = 0;

	ivshm_chan_set_spin(tx, 0);
	for (i = 0; !atomic_load(&sh->stop); i++) {
		if (me == PARENT && !(i & 4095))
			atomic_store(&sh->delays, !no_delays && (i >> 12) & 1);
		if (me == PARENT) {
			if (i == sh->target || now_ns() > sh->deadline_ns) {
				atomic_store(&sh->stop, 1);
				ret = send_one(tx, UINT64_MAX);
				break;
			}
			ret = send_one(tx, i);
			if (!ret)
				ret = recv_one(rx, i);
		} else {
			ret = recv_one(rx, i);
			if (ret == -EBADMSG && atomic_load(&sh->stop))
				ret = 0;	/* the parent's "stop" */
			else if (!ret)
				ret = send_one(tx, i);
		}
		if (ret)
			break;
	}
	ivshm_chan_stats(rx, &st);
	if (!sh->arm)
		s->sleeps = st.sleeps;
	s->backstops = st.backstops;
	s->doorbells = st.notifies;
	ivshm_chan_stats(tx, &st);
	s->doorbells += st.notifies;
	s->backstops += st.backstops;
	ivshm_chan_close(tx);
	ivshm_chan_close(rx);
	return ret;
}

/* Outside the protocol: find sleepers that outlived a completed send. */
static void *watchdog(void *arg)
{
	uint64_t one = 1, p1;
	int i;

	(void)arg;
	while (!atomic_load(&sh->stop)) {
		usleep(5000);
		for (i = 0; i < 2; i++) {
			struct side *s = &sh->s[i], *peer = &sh->s[!i];

			p1 = atomic_load(&s->in_poll);
			if (!(p1 & 1) ||
			    atomic_load(&peer->sent) <= atomic_load(&s->rcvd) ||
			    now_ns() - atomic_load(&peer->sent_ns) < STALL_NS ||
			    doorbell_pending(sh->efd[i]) ||
			    atomic_load(&s->in_poll) != p1)
				continue;
			atomic_fetch_add(&s->rescued, 1);
			if (write(sh->efd[i], &one, 8) != 8)
				return NULL;
		}
	}
	return NULL;
}

static uint64_t env_u64(const char *name, uint64_t dflt)
{
	const char *e = getenv(name);

	return e && *e ? strtoull(e, NULL, 10) : dflt;
}

FIXTURE(wake) {
	void *base;
};

FIXTURE_VARIANT(wake) {
	int arm;
	unsigned int share_pct;		/* of the round trips and time */
};

FIXTURE_VARIANT_ADD(wake, blocking_spin0) {
	.arm = 0,
	.share_pct = 50,
};

FIXTURE_VARIANT_ADD(wake, arm_poll) {
	.arm = 1,
	.share_pct = 50,
};

FIXTURE_SETUP(wake)
{
	self->base = mmap(NULL, RSIZE + 4096, PROT_READ | PROT_WRITE,
			  MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(MAP_FAILED, self->base);
	sh = (struct shared *)((char *)self->base + RSIZE);
	_Static_assert(sizeof(*sh) <= 4096, "control page");
}

FIXTURE_TEARDOWN(wake)
{
	munmap(self->base, RSIZE + 4096);
}

TEST_F_TIMEOUT(wake, ping_pong, 300)
{
	uint64_t rt, sleeps, stale, real, bells, backstops, lost, rescued;
	uint64_t t0, secs;
	struct ivshm_chan *tx, *rx;
	struct ivshm_region *r;
	pthread_t wd;
	int status, ret;
	pid_t pid;

	secs = env_u64("IVSHM_WAKEUP_SECONDS", 80);
	sh->arm = variant->arm;
	sh->target = env_u64("IVSHM_WAKEUP_ROUNDTRIPS", 5000000) *
		     variant->share_pct / 100;
	t0 = now_ns();
	sh->deadline_ns = t0 + secs * 10000000ull * variant->share_pct;
	sh->efd[PARENT] = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	sh->efd[CHILD] = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	ASSERT_LE(0, sh->efd[PARENT]);
	ASSERT_LE(0, sh->efd[CHILD]);
	r = ivshm_region_format(self->base, RSIZE);
	ASSERT_NE(NULL, r);
	no_delays = getenv("IVSHM_WAKEUP_NO_DELAYS");

	/* the parent creates both channels, the child attaches */
	me = PARENT;
	rnd = 0x2545f4914f6cdd1dull ^ (uint64_t)getpid();
	ASSERT_EQ(0, create_chans(r, &tx, &rx));
	pid = fork();
	ASSERT_LE(0, pid);
	if (pid == 0) {
		me = CHILD;
		rnd = 0x9e3779b97f4a7c15ull ^ (uint64_t)getpid();
		ret = attach_chans(r, &tx, &rx);
		if (!ret)
			ret = play(tx, rx);
		if (ret)
			fprintf(stderr, "# child: error %d\n", ret);
		_exit(ret ? 1 : 0);
	}
	ASSERT_EQ(0, pthread_create(&wd, NULL, watchdog, NULL));
	ret = play(tx, rx);
	if (ret)
		atomic_store(&sh->stop, 1);
	pthread_join(wd, NULL);
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	EXPECT_EQ(0, ret);
	EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);

	rt = atomic_load(&sh->s[PARENT].rcvd);
	sleeps = sh->s[PARENT].sleeps + sh->s[CHILD].sleeps;
	stale = sh->s[PARENT].stale + sh->s[CHILD].stale;
	/*
	 * The library counts one sleep per wait however many early wakes
	 * (a pending stale doorbell) it took; the arm+poll loop counts each
	 * poll, so its stale ones are not real sleeps.
	 */
	real = variant->arm ? sleeps - stale : sleeps;
	bells = sh->s[PARENT].doorbells + sh->s[CHILD].doorbells;
	backstops = sh->s[PARENT].backstops + sh->s[CHILD].backstops;
	lost = sh->s[PARENT].lost + sh->s[CHILD].lost;
	rescued = atomic_load(&sh->s[PARENT].rescued) +
		  atomic_load(&sh->s[CHILD].rescued);
	TH_LOG("%s: %llu round trips in %.1f s, sleeps %llu (%llu found a doorbell pending), doorbells %llu (%.3f per real sleep), slice timeouts %llu, backstop firings %llu, lost: %llu at a slice timeout + %llu found by the watchdog",
	       variant->arm ? "arm+poll" : "blocking spin 0",
	       (unsigned long long)rt, (double)(now_ns() - t0) / 1e9,
	       (unsigned long long)sleeps, (unsigned long long)stale,
	       (unsigned long long)bells,
	       real ? (double)bells / (double)real : 0.0,
	       (unsigned long long)(sh->s[PARENT].timeouts +
				    sh->s[CHILD].timeouts),
	       (unsigned long long)backstops, (unsigned long long)lost,
	       (unsigned long long)rescued);
	EXPECT_EQ(0, sh->s[PARENT].bad + sh->s[CHILD].bad);
	EXPECT_EQ(0, lost);
	EXPECT_EQ(0, rescued);
	EXPECT_EQ(0, backstops);
	EXPECT_LE(bells * 100, real * 105);
	/*
	 * Enough round trips, and enough of them slept, to mean something.
	 * A loaded machine may hit the time cap first (then say so), but not
	 * with less than a tenth of the target.
	 */
	if (rt < sh->target)
		TH_LOG("time cap (%llu s) hit before %llu round trips",
		       (unsigned long long)(secs * variant->share_pct / 100),
		       (unsigned long long)sh->target);
	EXPECT_LE(sh->target / 10, rt);
	EXPECT_LT(rt / 2, real);
	ivshm_region_close(r);
	close(sh->efd[PARENT]);
	close(sh->efd[CHILD]);
}

TEST_HARNESS_MAIN
