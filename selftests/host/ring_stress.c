// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * libivshm message rings: two-process stress.  The parent produces, a
 * forked child consumes, over a MAP_SHARED region with guard pages.  Random
 * sizes (1 byte .. max), every payload derived from its sequence number and
 * checked byte by byte, every API form mixed at random, random pauses on
 * both sides so that both the consumer (empty ring) and the producer (full
 * ring) go to sleep.  The "blocking" variant uses eventfd doorbells, the
 * "polling" one no signal at all.
 *
 * IVSHM_STRESS_SECONDS (default 10) is the total time budget.
 */
#include <errno.h>
#include <poll.h>
#include <signal.h>
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

#define RSIZE	(4u << 20)
#define RING	(64u << 10)
#define PAGE	4096u

static uint64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static unsigned int budget_ms(unsigned int share_pct)
{
	const char *e = getenv("IVSHM_STRESS_SECONDS");
	unsigned int s = e ? (unsigned int)atoi(e) : 10;

	if (s == 0)
		s = 1;
	return s * 10 * share_pct;
}

struct efd_sig {
	int mine, peer;
};

static int efd_notify(void *ctx)
{
	struct efd_sig *s = ctx;
	uint64_t one = 1;

	return write(s->peer, &one, 8) == 8 ? 0 : -errno;
}

static int efd_wait(void *ctx, int timeout_ms)
{
	struct efd_sig *s = ctx;
	struct pollfd p = { .fd = s->mine, .events = POLLIN };
	uint64_t v;
	int r;

	r = poll(&p, 1, timeout_ms);
	if (r < 0)
		return -errno;
	if (r == 0)
		return -ETIMEDOUT;
	if (read(s->mine, &v, 8) < 0 && errno != EAGAIN)
		return -errno;
	return 0;
}

static inline uint64_t xs(uint64_t *s)
{
	uint64_t x = *s;

	x ^= x << 13;
	x ^= x >> 7;
	x ^= x << 17;
	return *s = x;
}

/* Length of message @seq: mostly small, sometimes up to max. */
static size_t msg_len(uint64_t seq, size_t max)
{
	uint64_t s = seq * 0x9e3779b97f4a7c15ull + 1;
	uint64_t r = xs(&s);

	switch (r % 20) {
	case 0:
		return 1 + (r >> 8) % max;
	case 1: case 2: case 3: case 4: case 5:
		return 1 + (r >> 8) % 1024;
	default:
		return 1 + (r >> 8) % 64;
	}
}

/* Payload: the sequence number, then a stream seeded by it (a checksum
 * of every byte, in effect). */
static void msg_fill(unsigned char *p, size_t len, uint64_t seq)
{
	uint64_t s = seq ^ 0xa5a5a5a5deadbeefull, v;
	size_t i = 0;

	if (len >= 8) {
		memcpy(p, &seq, 8);
		i = 8;
	}
	for (; i + 8 <= len; i += 8) {
		v = xs(&s);
		memcpy(p + i, &v, 8);
	}
	v = xs(&s);
	for (; i < len; i++, v >>= 8)
		p[i] = (unsigned char)v;
}

static int msg_check(const unsigned char *p, size_t len, uint64_t seq)
{
	static unsigned char buf[RING / 4];

	msg_fill(buf, len, seq);
	return memcmp(p, buf, len) ? -1 : 0;
}

struct cons_state {
	uint64_t seq;
	size_t max;
	int bad;
};

static int cons_cb(const void *d, size_t len, void *arg)
{
	struct cons_state *cs = arg;

	if (len != msg_len(cs->seq, cs->max) || msg_check(d, len, cs->seq))
		cs->bad = 1;
	cs->seq++;
	return cs->bad;
}

/* Child: consume until the producer detaches.  Exit status 0 = all good;
 * the count goes to @wfd. */
static void consumer(void *base, struct ivshm_signal *sig, int wfd)
{
	static unsigned char buf[RING / 4];
	struct ivshm_region *r = ivshm_region_open(base, RSIZE);
	struct cons_state cs = { 0 };
	struct ivshm_chan_stats st = { .size = sizeof(st) };
	struct ivshm_chan *c;
	uint64_t rnd = 12345, out[4];
	const void *d;
	size_t len;
	int i, k, ret;

	if (!r)
		_exit(10);
	c = ivshm_chan_attach(r, "stress", IVSHM_CHAN_CONSUMER, sig);
	if (!c)
		_exit(11);
	ivshm_chan_set_spin(c, 5);
	cs.max = ivshm_chan_max_msg(c);
	for (;;) {
		uint64_t x = xs(&rnd);

		if (x % 4096 == 0)
			usleep((unsigned int)(x >> 20) % 300);
		switch ((x >> 12) % 3) {
		case 0:
			ret = (int)ivshm_chan_recv(c, buf, sizeof(buf), 5000);
			if (ret < 0)
				break;
			if ((size_t)ret != msg_len(cs.seq, cs.max) ||
			    msg_check(buf, (size_t)ret, cs.seq))
				_exit(20);
			cs.seq++;
			break;
		case 1:
			k = 1 + (int)((x >> 16) % 32);
			for (i = 0; i < k; i++) {
				ret = ivshm_chan_peek(c, &d, &len, 5000);
				if (ret < 0)
					break;
				if (len != msg_len(cs.seq, cs.max) ||
				    msg_check(d, len, cs.seq))
					_exit(21);
				cs.seq++;
			}
			if (i > 0 && ret == -EAGAIN)
				ret = 0;
			ivshm_chan_release(c);
			break;
		default:
			ret = ivshm_chan_recv_many(c, cons_cb, &cs,
						   1 + (x >> 16) % 256, 5000);
			if (cs.bad)
				_exit(22);
			break;
		}
		if (ret == -EPIPE)
			break;
		if (ret < 0) {
			fprintf(stderr, "consumer: error %d at seq %llu\n",
				ret, (unsigned long long)cs.seq);
			_exit(23);
		}
	}
	ivshm_chan_stats(c, &st);
	out[0] = cs.seq;
	out[1] = st.sleeps;
	out[2] = st.notifies;
	out[3] = st.waits;
	if (write(wfd, out, sizeof(out)) != sizeof(out))
		_exit(24);
	ivshm_chan_close(c);
	_exit(0);
}

FIXTURE(stress) {
	unsigned char *map;
	unsigned char *base;
};

FIXTURE_VARIANT(stress) {
	int blocking;
	unsigned int share_pct;
};

FIXTURE_VARIANT_ADD(stress, blocking) {
	.blocking = 1,
	.share_pct = 65,
};

FIXTURE_VARIANT_ADD(stress, polling) {
	.blocking = 0,
	.share_pct = 25,
};

FIXTURE_SETUP(stress)
{
	self->map = mmap(NULL, RSIZE + 2 * PAGE, PROT_READ | PROT_WRITE,
			 MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(MAP_FAILED, self->map);
	mprotect(self->map, PAGE, PROT_NONE);
	mprotect(self->map + PAGE + RSIZE, PAGE, PROT_NONE);
	self->base = self->map + PAGE;
}

FIXTURE_TEARDOWN(stress)
{
	munmap(self->map, RSIZE + 2 * PAGE);
}

TEST_F_TIMEOUT(stress, two_process, 50)
{
	static unsigned char buf[RING / 4];
	static unsigned char bb[32][1024];
	struct efd_sig ps, cs;
	struct ivshm_signal psig = { .size = sizeof(psig) };
	struct ivshm_signal csig = { .size = sizeof(csig) };
	struct ivshm_chan_stats st = { .size = sizeof(st) };
	struct ivshm_region *r;
	struct ivshm_chan *p;
	struct iovec iov[32];
	uint64_t seq = 0, rnd = 777, t0, end, out[4] = { 0 };
	size_t max, len;
	int pfd[2], status, i, k, ret;
	pid_t pid;

	ASSERT_EQ(0, pipe(pfd));
	ps.mine = eventfd(0, EFD_NONBLOCK);
	cs.mine = eventfd(0, EFD_NONBLOCK);
	ps.peer = cs.mine;
	cs.peer = ps.mine;
	psig = (struct ivshm_signal){ sizeof(struct ivshm_signal), efd_notify, efd_wait, NULL, ps.mine, &ps };
	csig = (struct ivshm_signal){ sizeof(struct ivshm_signal), efd_notify, efd_wait, NULL, cs.mine, &cs };

	r = ivshm_region_format(self->base, RSIZE);
	ASSERT_NE(NULL, r);
	p = ivshm_chan_create(r, "stress", RING, IVSHM_CHAN_PRODUCER,
			      variant->blocking ? &psig : NULL);
	ASSERT_NE(NULL, p);
	ivshm_chan_set_spin(p, 5);
	max = ivshm_chan_max_msg(p);

	pid = fork();
	ASSERT_GE(pid, 0);
	if (pid == 0) {
		close(pfd[0]);
		consumer(self->base, variant->blocking ? &csig : NULL, pfd[1]);
	}
	close(pfd[1]);

	t0 = now_ms();
	end = t0 + budget_ms(variant->share_pct);
	while (now_ms() < end) {
		uint64_t x = xs(&rnd);

		if (x % 8192 == 0)
			usleep((unsigned int)(x >> 20) % 300);
		for (int rep = 0; rep < 64; rep++) {
			x = xs(&rnd);
			k = 1 + (int)((x >> 16) % 32);
			switch ((x >> 12) % 3) {
			case 0:
				len = msg_len(seq, max);
				msg_fill(buf, len, seq);
				ret = ivshm_chan_send(p, buf, len, 5000);
				if (ret == 0)
					seq++;
				break;
			case 1:
				for (i = 0; i < k; i++) {
					void *w;

					len = msg_len(seq, max);
					ret = ivshm_chan_reserve(p, len, &w,
								 i ? 0 : 5000);
					if (ret)
						break;
					msg_fill(w, len, seq++);
				}
				if (i > 0 && ret == -EAGAIN)
					ret = 0;
				ivshm_chan_commit(p);
				break;
			default:
				for (i = 0; i < k; i++) {
					len = msg_len(seq + i, max);
					if (len > sizeof(bb[0]))
						break;
					msg_fill(bb[i], len, seq + i);
					iov[i].iov_base = bb[i];
					iov[i].iov_len = len;
				}
				if (i == 0) {
					ret = 0;
					break;
				}
				ret = ivshm_chan_send_many(p, iov, i, 5000);
				if (ret > 0) {
					seq += ret;
					ret = 0;
				}
				break;
			}
			ASSERT_EQ(0, ret) {
				TH_LOG("producer error at seq %llu",
				       (unsigned long long)seq);
				kill(pid, SIGKILL);
			}
		}
	}
	ivshm_chan_stats(p, &st);
	ivshm_chan_close(p);
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	ASSERT_TRUE(WIFEXITED(status));
	ASSERT_EQ(0, WEXITSTATUS(status));
	ASSERT_EQ(sizeof(out), read(pfd[0], out, sizeof(out)));
	ASSERT_EQ(seq, out[0]);
	t0 = now_ms() - t0;
	TH_LOG("%s: %llu messages in %llu ms (%.1f M/s); producer sleeps %llu notifies %llu; consumer waits %llu sleeps %llu notifies %llu",
	       variant->blocking ? "blocking" : "polling",
	       (unsigned long long)seq, (unsigned long long)t0,
	       (double)seq / (double)t0 / 1000.0,
	       (unsigned long long)st.sleeps, (unsigned long long)st.notifies,
	       (unsigned long long)out[3], (unsigned long long)out[1],
	       (unsigned long long)out[2]);
	if (variant->blocking) {
		/* both sides really slept and were rung */
		ASSERT_GT(out[1], 0);
		ASSERT_GT(st.notifies, 0);
	}
	ivshm_region_close(r);
	close(pfd[0]);
	close(ps.mine);
	close(cs.mine);
}

TEST_HARNESS_MAIN
