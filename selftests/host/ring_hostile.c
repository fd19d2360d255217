// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * libivshm message rings: a hostile peer.  A forked victim runs one end of
 * a channel with every API form; the parent plays the other end and, at the
 * same time, scribbles random and near-valid values over the channel
 * header, the indices, the record headers, the ring and the table entry.
 * The victim must only ever see clean errors (-EPROTO, -ECONNRESET, -ESTALE,
 * -EPIPE, -EAGAIN, -ETIMEDOUT, ...), never crash (guard pages around the
 * region), never hang (watchdog), never hand out a pointer outside its
 * ring, and never write outside the channel (canary bytes after it).
 *
 * IVSHM_HOSTILE_SECONDS (default 3) per variant.
 */
#include <errno.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "kselftest_harness.h"
#include "ivshm.h"

#define RSIZE	(256u << 10)
#define RING	4096u
#define PAGE	4096u
#define CHOFF	4160u			/* first channel: right after table */
#define CHEND	(CHOFF + 512u + RING)
#define CANARY	0xcc

static uint64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static unsigned int budget_ms(void)
{
	const char *e = getenv("IVSHM_HOSTILE_SECONDS");
	unsigned int s = e ? (unsigned int)atoi(e) : 3;

	return (s ? s : 1) * 1000;
}

static inline uint64_t xs(uint64_t *s)
{
	uint64_t x = *s;

	x ^= x << 13;
	x ^= x >> 7;
	x ^= x << 17;
	return *s = x;
}

static int clean_op_error(int e)
{
	return e == EAGAIN || e == ETIMEDOUT || e == EPROTO ||
	       e == ECONNRESET || e == EPIPE || e == EMSGSIZE ||
	       e == ESTALE;	/* the region header's gen was hit */
}

static int clean_attach_error(int e)
{
	return e == ENOENT || e == EAGAIN || e == EBUSY || e == EPROTO ||
	       e == EPROTONOSUPPORT || e == ESTALE;
}

/* counters the victim reports through its exit path (shared page) */
struct report {
	uint64_t ops, ok, eproto, ereset, other, attaches, attach_fail;
};

static int bad(const char *what, long v)
{
	fprintf(stderr, "victim: %s (%ld)\n", what, v);
	return 1;
}

static int nop_cb(const void *d, size_t len, void *arg)
{
	unsigned char *lo = ((unsigned char **)arg)[0];
	unsigned char *hi = ((unsigned char **)arg)[1];
	volatile unsigned char sink;

	if ((const unsigned char *)d < lo ||
	    (const unsigned char *)d + len > hi) {
		bad("callback pointer outside the ring", (long)len);
		_exit(30);
	}
	if (len)
		sink = ((const unsigned char *)d)[len - 1];
	(void)sink;
	return 0;
}

static void victim(unsigned char *base, int role, struct report *rep)
{
	unsigned char *lo = base + CHOFF + 512, *hi = lo + RING;
	unsigned char *bounds[2] = { lo, hi };
	static unsigned char buf[2048];
	struct ivshm_region *r = NULL;
	struct ivshm_chan *c = NULL;
	uint64_t rnd = 99, end = now_ms() + budget_ms();
	const void *d;
	void *w;
	size_t len;
	long ret;

	while (now_ms() < end) {
		uint64_t x = xs(&rnd);
		int to = (int)(x >> 40) % 3;

		if (!r) {
			r = ivshm_region_open(base, RSIZE);
			if (!r) {
				if (errno != EPROTO && errno != EAGAIN &&
				    errno != EPROTONOSUPPORT)
					_exit(bad("region_open errno", errno));
				continue;
			}
		}
		if (!c) {
			c = ivshm_chan_attach(r, "hostile",
					      role | IVSHM_CHAN_TAKEOVER, NULL);
			rep->attaches++;
			if (!c) {
				rep->attach_fail++;
				if (!clean_attach_error(errno))
					_exit(bad("attach errno", errno));
				ivshm_region_close(r);
				r = NULL;
				usleep(100);
				continue;
			}
			ivshm_chan_set_spin(c, 2);
			if (ivshm_chan_max_msg(c) != RING / 4)
				_exit(bad("max_msg", (long)ivshm_chan_max_msg(c)));
		}
		rep->ops++;
		errno = 0;	/* a failing call must leave it alone */
		if (role == IVSHM_CHAN_CONSUMER) {
			switch (x % 3) {
			case 0:
				ret = ivshm_chan_recv(c, buf,
						      (x >> 8) % sizeof(buf), to);
				if (ret > (long)RING / 4)
					_exit(bad("recv length", ret));
				break;
			case 1:
				ret = ivshm_chan_peek(c, &d, &len, to);
				if (!ret && ((const unsigned char *)d < lo ||
					     (const unsigned char *)d + len > hi ||
					     len == 0 || len > RING / 4))
					_exit(bad("peek pointer", (long)len));
				if (!ret)
					ret = ivshm_chan_release(c);
				break;
			default:
				ret = ivshm_chan_recv_many(c, nop_cb, bounds,
							   64, to);
				break;
			}
		} else {
			len = 1 + (x >> 8) % (RING / 4);
			switch (x % 3) {
			case 0:
				ret = ivshm_chan_send(c, buf, len, to);
				break;
			case 1:
				ret = ivshm_chan_reserve(c, len, &w, to);
				if (!ret) {
					if ((unsigned char *)w < lo ||
					    (unsigned char *)w + len > hi)
						_exit(bad("reserve pointer",
							  (long)len));
					memset(w, 0x5a, len);
					ret = ivshm_chan_commit(c);
				}
				break;
			default: {
				struct iovec iov[4];

				for (int i = 0; i < 4; i++) {
					iov[i].iov_base = buf;
					iov[i].iov_len = 1 + (len * (i + 1)) % 200;
				}
				ret = ivshm_chan_send_many(c, iov, 4, to);
				break;
			}
			}
		}
		if (ret >= 0) {
			rep->ok++;
			continue;
		}
		if (!clean_op_error((int)-ret) || errno != 0)
			_exit(bad("op error", ret));
		if (ret == -EPROTO || ret == -ECONNRESET || ret == -ESTALE) {
			if (ret == -EPROTO)
				rep->eproto++;
			else
				rep->ereset++;
			ivshm_chan_close(c);
			c = NULL;
			if (ret == -ESTALE) {	/* a new region handle too */
				ivshm_region_close(r);
				r = NULL;
			}
		} else {
			rep->other++;
		}
	}
	ivshm_chan_close(c);
	ivshm_region_close(r);
	_exit(0);
}

/* Overwrite something in the channel with a random or near-valid value. */
static void scribble(unsigned char *base, uint64_t *rnd)
{
	unsigned char *ch = base + CHOFF;
	uint64_t x = xs(rnd), v = xs(rnd), *p;
	uint64_t prod = *(volatile uint64_t *)(ch + 128);
	uint64_t cons = *(volatile uint64_t *)(ch + 256);

	switch (x % 12) {
	case 0:	/* any word of the channel header */
		p = (uint64_t *)(ch + 8 * ((x >> 8) % 64));
		break;
	case 1: case 2:	/* a record header in the ring */
		p = (uint64_t *)(ch + 512 + 8 * ((x >> 8) % (RING / 8)));
		if (x & (1 << 20))
			v &= 0x1ffffffffull;	/* small flags */
		if (x & (1 << 21))
			v = (v & 0x3ff) | (x & (1 << 22) ? 1ull << 32 : 0);
		break;
	case 3: /* the indices, near their real values */
		p = (uint64_t *)(ch + 128);
		v = cons + 8 * ((v % 1100) - 50);
		break;
	case 4:
		p = (uint64_t *)(ch + 256);
		v = prod - 8 * (v % 600) + 8 * 40;
		break;
	case 5: /* event words */
		p = (uint64_t *)(ch + 384 + 8 * ((x >> 8) % 16));
		break;
	case 6: /* the table entry */
		p = (uint64_t *)(base + 64 + 8 * ((x >> 8) % 8));
		break;
	case 7: /* the region header */
		p = (uint64_t *)(base + 8 * ((x >> 8) % 8));
		break;
	default:
		return;	/* leave it alone for a while */
	}
	*(volatile uint64_t *)p = (x & (1 << 23)) ? v : v & 0xffffffff;
}

FIXTURE(hostile) {
	unsigned char *map, *base;
	struct report *rep;
};

FIXTURE_VARIANT(hostile) {
	int victim_role;
};

FIXTURE_VARIANT_ADD(hostile, victim_consumer) {
	.victim_role = IVSHM_CHAN_CONSUMER,
};

FIXTURE_VARIANT_ADD(hostile, victim_producer) {
	.victim_role = IVSHM_CHAN_PRODUCER,
};

FIXTURE_SETUP(hostile)
{
	self->map = mmap(NULL, RSIZE + 3 * PAGE, PROT_READ | PROT_WRITE,
			 MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(MAP_FAILED, self->map);
	mprotect(self->map, PAGE, PROT_NONE);
	mprotect(self->map + PAGE + RSIZE, PAGE, PROT_NONE);
	self->base = self->map + PAGE;
	self->rep = (struct report *)(self->map + 2 * PAGE + RSIZE);
	mprotect(self->rep, PAGE, PROT_READ | PROT_WRITE);
	memset(self->rep, 0, sizeof(*self->rep));
}

FIXTURE_TEARDOWN(hostile)
{
	munmap(self->map, RSIZE + 3 * PAGE);
}

static void reformat(unsigned char *base)
{
	struct ivshm_region *r;
	struct ivshm_chan *c;

	r = ivshm_region_format(base, RSIZE);
	c = ivshm_chan_create(r, "hostile", RING, IVSHM_CHAN_PRODUCER, NULL);
	/* nobody attached: the victim and the peer attach freely */
	ivshm_chan_close(c);
	ivshm_region_close(r);
}

TEST_F_TIMEOUT(hostile, scribble, 30)
{
	int peer_role = variant->victim_role == IVSHM_CHAN_CONSUMER ?
			IVSHM_CHAN_PRODUCER : IVSHM_CHAN_CONSUMER;
	struct ivshm_region *r = NULL;
	struct ivshm_chan *c = NULL;
	uint64_t rnd = 4242, end, scribbles = 0, peer_ops = 0;
	static unsigned char buf[2048];
	int status, i;
	pid_t pid, w;
	size_t k;

	memset(self->base, CANARY, RSIZE);
	reformat(self->base);
	ASSERT_EQ(CHEND, RSIZE - ivshm_region_avail(
		  r = ivshm_region_open(self->base, RSIZE)));
	ivshm_region_close(r);
	r = NULL;

	pid = fork();
	ASSERT_GE(pid, 0);
	if (pid == 0)
		victim(self->base, variant->victim_role, self->rep);

	end = now_ms() + budget_ms();
	while (now_ms() < end) {
		uint64_t x = xs(&rnd);

		/* play the peer */
		if (!r)
			r = ivshm_region_open(self->base, RSIZE);
		if (r && !c) {
			c = ivshm_chan_attach(r, "hostile",
					peer_role | IVSHM_CHAN_TAKEOVER, NULL);
			if (c)
				ivshm_chan_set_spin(c, 0);
		}
		for (i = 0; c && i < 16; i++) {
			long ret;

			if (peer_role == IVSHM_CHAN_PRODUCER)
				ret = ivshm_chan_send(c, buf,
						      1 + (x >> (i * 2)) % 300, 0);
			else
				ret = ivshm_chan_recv(c, buf, sizeof(buf), 0);
			peer_ops++;
			if (ret < 0 && ret != -EAGAIN && ret != -EPIPE &&
			    ret != -EMSGSIZE) {
				ivshm_chan_close(c);
				c = NULL;
			}
		}
		/* and attack */
		for (k = (x >> 32) % 8 ? 0 : x % 4; k > 0; k--, scribbles++)
			scribble(self->base, &rnd);
		/* now and then start over with a sane region */
		if (x % 2000 == 0) {
			ivshm_chan_close(c);
			c = NULL;
			ivshm_region_close(r);
			r = NULL;
			reformat(self->base);
		}
		if (x % 64 == 0)
			usleep(50);
	}
	ivshm_chan_close(c);
	ivshm_region_close(r);

	/* the victim must stop by itself soon after its budget */
	end = now_ms() + 10000;
	while ((w = waitpid(pid, &status, WNOHANG)) == 0 && now_ms() < end)
		usleep(10000);
	if (w == 0) {
		kill(pid, SIGKILL);
		waitpid(pid, &status, 0);
		ASSERT_TRUE(0) TH_LOG("victim hung");
	}
	ASSERT_TRUE(WIFEXITED(status)) TH_LOG("victim died by signal %d",
					      WTERMSIG(status));
	ASSERT_EQ(0, WEXITSTATUS(status));
	/* nothing written after the channel */
	for (k = CHEND; k < RSIZE; k++)
		ASSERT_EQ(CANARY, self->base[k]) TH_LOG("canary at %zu", k);
	TH_LOG("victim ops %llu ok %llu eproto %llu econnreset %llu other %llu attaches %llu (failed %llu); peer ops %llu scribbles %llu",
	       (unsigned long long)self->rep->ops,
	       (unsigned long long)self->rep->ok,
	       (unsigned long long)self->rep->eproto,
	       (unsigned long long)self->rep->ereset,
	       (unsigned long long)self->rep->other,
	       (unsigned long long)self->rep->attaches,
	       (unsigned long long)self->rep->attach_fail,
	       (unsigned long long)peer_ops, (unsigned long long)scribbles);
	ASSERT_GT(self->rep->ok, 100);
	ASSERT_GT(self->rep->eproto, 0);
}

TEST_HARNESS_MAIN
