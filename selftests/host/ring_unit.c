// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * libivshm message rings: unit tests of every edge (host, no device).
 * The region is surrounded by PROT_NONE guard pages, so any access outside
 * it kills the test.
 */
#include <errno.h>
#include <poll.h>
#include <pthread.h>
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
#include "../../lib/ring_layout.h"

#define RSIZE	(1u << 20)
#define PAGE	4096u

static void *guarded_map(size_t size)
{
	char *p = mmap(NULL, size + 2 * PAGE, PROT_READ | PROT_WRITE,
		       MAP_SHARED | MAP_ANONYMOUS, -1, 0);

	if (p == MAP_FAILED)
		return NULL;
	mprotect(p, PAGE, PROT_NONE);
	mprotect(p + PAGE + size, PAGE, PROT_NONE);
	return p + PAGE;
}

static void guarded_unmap(void *p, size_t size)
{
	munmap((char *)p - PAGE, size + 2 * PAGE);
}

static uint64_t ms_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* eventfd doorbells: each side waits on its own and rings the other's */
struct efd_sig {
	int mine, peer;
	int notifies;
};

static int efd_notify(void *ctx)
{
	struct efd_sig *s = ctx;
	uint64_t one = 1;

	s->notifies++;
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

static void efd_pair(struct efd_sig *a, struct efd_sig *b,
		     struct ivshm_signal *sa, struct ivshm_signal *sb)
{
	int e1 = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	int e2 = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);

	*a = (struct efd_sig){ .mine = e1, .peer = e2 };
	*b = (struct efd_sig){ .mine = e2, .peer = e1 };
	*sa = (struct ivshm_signal){ sizeof(struct ivshm_signal), efd_notify, efd_wait, NULL, e1, a };
	*sb = (struct ivshm_signal){ sizeof(struct ivshm_signal), efd_notify, efd_wait, NULL, e2, b };
}

FIXTURE(rgn) {
	unsigned char *base;
	struct ivshm_region *r;
	struct ivshm_region *r2;	/* the "peer's" view */
};

FIXTURE_SETUP(rgn)
{
	self->base = guarded_map(RSIZE);
	ASSERT_NE(NULL, self->base);
	self->r = ivshm_region_format(self->base, RSIZE);
	ASSERT_NE(NULL, self->r);
	self->r2 = ivshm_region_open(self->base, RSIZE);
	ASSERT_NE(NULL, self->r2);
}

FIXTURE_TEARDOWN(rgn)
{
	ivshm_region_close(self->r);
	ivshm_region_close(self->r2);
	guarded_unmap(self->base, RSIZE);
}

static void fill(unsigned char *p, size_t len, uint32_t seed)
{
	size_t i;

	for (i = 0; i < len; i++)
		p[i] = (unsigned char)(seed * 2654435761u + i * 31);
}

static int check(const unsigned char *p, size_t len, uint32_t seed)
{
	size_t i;

	for (i = 0; i < len; i++)
		if (p[i] != (unsigned char)(seed * 2654435761u + i * 31))
			return -1;
	return 0;
}

TEST(region_format_open)
{
	unsigned char *b = guarded_map(RSIZE);
	struct ivshm_rgn_hdr *h = (void *)b;
	struct ivshm_region *r;

	ASSERT_NE(NULL, b);
	/* zeroed memory: not formatted yet */
	ASSERT_EQ(NULL, ivshm_region_open(b, RSIZE));
	ASSERT_EQ(EAGAIN, errno);
	ASSERT_EQ(NULL, ivshm_region_format(b + 8, RSIZE - 8));
	ASSERT_EQ(EINVAL, errno);
	ASSERT_EQ(NULL, ivshm_region_format(b, IVSHM_REGION_HDR_SIZE - 1));
	ASSERT_EQ(EINVAL, errno);
	ASSERT_EQ(NULL, ivshm_region_format(NULL, RSIZE));
	ASSERT_EQ(EINVAL, errno);
	r = ivshm_region_format(b, RSIZE);
	ASSERT_NE(NULL, r);
	ASSERT_EQ(RSIZE - 4160, ivshm_region_avail(r));
	ivshm_region_close(r);
	ivshm_region_close(NULL);

	r = ivshm_region_open(b, RSIZE);
	ASSERT_NE(NULL, r);
	ivshm_region_close(r);
	/* smaller mapping than the region says */
	ASSERT_EQ(NULL, ivshm_region_open(b, RSIZE / 2));
	ASSERT_EQ(EPROTO, errno);

	h->version = IVSHM_RING_VERSION + 1;
	ASSERT_EQ(NULL, ivshm_region_open(b, RSIZE));
	ASSERT_EQ(EPROTONOSUPPORT, errno);
	h->version = IVSHM_RING_VERSION;
	h->max_chans = 65;
	ASSERT_EQ(NULL, ivshm_region_open(b, RSIZE));
	ASSERT_EQ(EPROTO, errno);
	h->max_chans = 64;
	h->hdr_size = 64;
	ASSERT_EQ(NULL, ivshm_region_open(b, RSIZE));
	ASSERT_EQ(EPROTO, errno);
	h->hdr_size = 4160;
	h->desc_size = 32;
	ASSERT_EQ(NULL, ivshm_region_open(b, RSIZE));
	ASSERT_EQ(EPROTO, errno);
	h->desc_size = 64;
	h->magic = 0x1234;
	ASSERT_EQ(NULL, ivshm_region_open(b, RSIZE));
	ASSERT_EQ(EPROTO, errno);
	guarded_unmap(b, RSIZE);
}

TEST_F(rgn, send_recv_basic)
{
	struct ivshm_chan *p, *c;
	char buf[64];

	p = ivshm_chan_create(self->r, "basic", 4096, IVSHM_CHAN_PRODUCER,
			      NULL);
	ASSERT_NE(NULL, p);
	c = ivshm_chan_attach(self->r2, "basic", IVSHM_CHAN_CONSUMER, NULL);
	ASSERT_NE(NULL, c);
	ASSERT_EQ(1024, ivshm_chan_max_msg(p));
	ASSERT_EQ(1024, ivshm_chan_max_msg(c));
	ASSERT_EQ(0, ivshm_chan_send(p, "hello", 6, 0));
	ASSERT_EQ(6, ivshm_chan_recv(c, buf, sizeof(buf), 0));
	ASSERT_STREQ("hello", buf);
	ASSERT_EQ(-EAGAIN, ivshm_chan_recv(c, buf, sizeof(buf), 0));
	/* wrong role */
	ASSERT_EQ(-EINVAL, ivshm_chan_send(c, "x", 1, 0));
	ASSERT_EQ(-EINVAL, ivshm_chan_recv(p, buf, 1, 0));
	ASSERT_EQ(-EINVAL, ivshm_chan_send(NULL, "x", 1, 0));
	ivshm_chan_close(p);
	ivshm_chan_close(c);
	ivshm_chan_close(NULL);
}

TEST_F(rgn, zero_and_oversize_refused)
{
	struct ivshm_chan *p, *c;
	size_t max;
	void *d;
	static unsigned char big[1025], out[1025];

	p = ivshm_chan_create(self->r, "z", 4096, IVSHM_CHAN_PRODUCER, NULL);
	c = ivshm_chan_attach(self->r2, "z", IVSHM_CHAN_CONSUMER, NULL);
	ASSERT_NE(NULL, p);
	ASSERT_NE(NULL, c);
	max = ivshm_chan_max_msg(p);
	ASSERT_EQ(-EINVAL, ivshm_chan_send(p, big, 0, 0));
	ASSERT_EQ(-EINVAL, ivshm_chan_reserve(p, 0, &d, 0));
	ASSERT_EQ(-EMSGSIZE, ivshm_chan_send(p, big, max + 1, 0));
	ASSERT_EQ(-EMSGSIZE, ivshm_chan_reserve(p, SIZE_MAX, &d, 0));
	/* the largest message goes through, several times (wraps) */
	for (int i = 0; i < 20; i++) {
		fill(big, max, i);
		ASSERT_EQ(0, ivshm_chan_send(p, big, max, 0));
		ASSERT_EQ((ssize_t)max, ivshm_chan_recv(c, out, sizeof(out), 0));
		ASSERT_EQ(0, check(out, max, i));
	}
	/* a too small buffer leaves the message queued */
	ASSERT_EQ(0, ivshm_chan_send(p, big, 100, 0));
	ASSERT_EQ(-EMSGSIZE, ivshm_chan_recv(c, out, 99, 0));
	ASSERT_EQ(100, ivshm_chan_recv(c, out, 100, 0));
	ivshm_chan_close(p);
	ivshm_chan_close(c);
}

TEST_F(rgn, empty_and_timeout)
{
	struct ivshm_chan *p, *c;
	const void *d;
	size_t len;
	uint64_t t0;
	char b[8];

	p = ivshm_chan_create(self->r, "e", 4096, IVSHM_CHAN_PRODUCER, NULL);
	c = ivshm_chan_attach(self->r2, "e", IVSHM_CHAN_CONSUMER, NULL);
	ASSERT_NE(NULL, c);
	ASSERT_EQ(-EAGAIN, ivshm_chan_peek(c, &d, &len, 0));
	t0 = ms_now();
	ASSERT_EQ(-ETIMEDOUT, ivshm_chan_recv(c, b, sizeof(b), 30));
	ASSERT_GE(ms_now() - t0, 30);
	ASSERT_LT(ms_now() - t0, 1000);
	ASSERT_EQ(0, ivshm_chan_release(c));
	ASSERT_EQ(0, ivshm_chan_commit(p));
	ivshm_chan_close(p);
	ivshm_chan_close(c);
}

/* With doorbells, so that each release returns its space at once (a
 * consumer without one returns it in steps: release_returns_space_in_steps). */
TEST_F(rgn, full_then_space)
{
	struct ivshm_chan *p, *c;
	unsigned char m[64], b[64];
	struct efd_sig ea, eb;
	struct ivshm_signal sa, sb;
	int n = 0, r;
	uint64_t t0;

	efd_pair(&ea, &eb, &sa, &sb);
	p = ivshm_chan_create(self->r, "f", 4096, IVSHM_CHAN_PRODUCER, &sa);
	c = ivshm_chan_attach(self->r2, "f", IVSHM_CHAN_CONSUMER, &sb);
	ASSERT_NE(NULL, c);
	for (;;) {
		fill(m, sizeof(m), n);
		r = ivshm_chan_send(p, m, sizeof(m), 0);
		if (r)
			break;
		n++;
	}
	ASSERT_EQ(-EAGAIN, r);
	ASSERT_EQ(4096 / 72, n);	/* 8 header + 64 payload each */
	t0 = ms_now();
	ASSERT_EQ(-ETIMEDOUT, ivshm_chan_send(p, m, sizeof(m), 20));
	ASSERT_GE(ms_now() - t0, 20);
	/*
	 * 56 records end 64 bytes before the end of the ring: the next one
	 * needs those 64 (a padding record), its own 72 and the zero word
	 * after it, that is two records freed.
	 */
	ASSERT_EQ(64, ivshm_chan_recv(c, b, sizeof(b), 0));
	ASSERT_EQ(0, check(b, 64, 0));
	ASSERT_EQ(-EAGAIN, ivshm_chan_send(p, m, sizeof(m), 0));
	ASSERT_EQ(64, ivshm_chan_recv(c, b, sizeof(b), 0));
	ASSERT_EQ(0, check(b, 64, 1));
	fill(m, sizeof(m), n);
	ASSERT_EQ(0, ivshm_chan_send(p, m, sizeof(m), 0));
	for (int i = 2; i <= n; i++) {
		ASSERT_EQ(64, ivshm_chan_recv(c, b, sizeof(b), 0));
		ASSERT_EQ(0, check(b, 64, i));
	}
	ASSERT_EQ(-EAGAIN, ivshm_chan_recv(c, b, sizeof(b), 0));
	ivshm_chan_close(p);
	ivshm_chan_close(c);
	close(ea.mine);
	close(eb.mine);
}

/* random sizes through the smallest ring: wrap-around and padding */
TEST_F(rgn, wrap_around_random)
{
	struct ivshm_chan *p, *c;
	unsigned char m[64], b[64];
	uint32_t seed = 1, sent = 0, got = 0, lens[4096];
	ssize_t n;

	p = ivshm_chan_create(self->r, "w", 256, IVSHM_CHAN_PRODUCER, NULL);
	c = ivshm_chan_attach(self->r2, "w", IVSHM_CHAN_CONSUMER, NULL);
	ASSERT_NE(NULL, c);
	ASSERT_EQ(64, ivshm_chan_max_msg(c));
	while (got < 200000) {
		/* send a random number, receive a random number */
		int k = rand_r(&seed) % 8;

		while (k-- > 0) {
			size_t len = 1 + rand_r(&seed) % 64;

			fill(m, len, sent);
			if (ivshm_chan_send(p, m, len, 0))
				break;
			lens[sent++ % 4096] = len;
		}
		k = rand_r(&seed) % 8;
		while (k-- > 0) {
			n = ivshm_chan_recv(c, b, sizeof(b), 0);
			if (n == -EAGAIN)
				break;
			ASSERT_EQ(lens[got % 4096], n);
			ASSERT_EQ(0, check(b, n, got));
			got++;
		}
		ASSERT_LE(sent - got, 256 / 16);
	}
	ivshm_chan_close(p);
	ivshm_chan_close(c);
}

TEST_F(rgn, batch_reserve_peek)
{
	struct ivshm_chan *p, *c;
	const void *d;
	void *w;
	size_t len;
	int i;

	p = ivshm_chan_create(self->r, "b", 4096, IVSHM_CHAN_PRODUCER, NULL);
	c = ivshm_chan_attach(self->r2, "b", IVSHM_CHAN_CONSUMER, NULL);
	ASSERT_NE(NULL, c);
	for (i = 0; i < 10; i++) {
		ASSERT_EQ(0, ivshm_chan_reserve(p, 8 + i, &w, 0));
		ASSERT_EQ(0, (uintptr_t)w & 7);
		fill(w, 8 + i, i);
	}
	/* nothing visible before commit */
	ASSERT_EQ(-EAGAIN, ivshm_chan_peek(c, &d, &len, 0));
	ASSERT_EQ(0, ivshm_chan_commit(p));
	for (i = 0; i < 10; i++) {
		ASSERT_EQ(0, ivshm_chan_peek(c, &d, &len, 0));
		ASSERT_EQ(8 + i, len);
		ASSERT_EQ(0, check(d, len, i));
	}
	/* holding messages: peek does not block even with a timeout */
	ASSERT_EQ(-EAGAIN, ivshm_chan_peek(c, &d, &len, -1));
	ASSERT_EQ(0, ivshm_chan_release(c));

	/* abort drops uncommitted reservations */
	ASSERT_EQ(0, ivshm_chan_reserve(p, 100, &w, 0));
	ASSERT_EQ(0, ivshm_chan_abort(p));
	ASSERT_EQ(0, ivshm_chan_commit(p));
	ASSERT_EQ(-EAGAIN, ivshm_chan_peek(c, &d, &len, 0));

	/* full with pending reservations: no blocking, -EAGAIN */
	for (i = 0; ; i++) {
		int r = ivshm_chan_reserve(p, 1000, &w, -1);

		if (r) {
			ASSERT_EQ(-EAGAIN, r);
			break;
		}
	}
	ASSERT_EQ(3, i);	/* from offset 240: 2 x 1008, pad, 1008 */
	ASSERT_EQ(0, ivshm_chan_commit(p));
	ivshm_chan_close(p);
	ivshm_chan_close(c);
}

static int count_cb(const void *d, size_t len, void *arg)
{
	uint32_t *n = arg;

	if (check(d, len, *n))
		return -1000000;
	(*n)++;
	return 0;
}

static int stop_cb(const void *d, size_t len, void *arg)
{
	(void)d;
	(void)len;
	(*(int *)arg)++;
	return 1;
}

TEST_F(rgn, send_many_recv_many)
{
	struct ivshm_chan *p, *c;
	static unsigned char bufs[100][64];
	struct iovec iov[100];
	uint32_t n = 0;
	int i, got = 0, stops = 0;

	p = ivshm_chan_create(self->r, "m", 4096, IVSHM_CHAN_PRODUCER, NULL);
	c = ivshm_chan_attach(self->r2, "m", IVSHM_CHAN_CONSUMER, NULL);
	ASSERT_NE(NULL, c);
	for (i = 0; i < 100; i++) {
		fill(bufs[i], 17 + i % 48, i);
		iov[i].iov_base = bufs[i];
		iov[i].iov_len = 17 + i % 48;
	}
	/* 100 records of 32..72 bytes: only some fit in 4096 */
	i = ivshm_chan_send_many(p, iov, 100, 0);
	ASSERT_GT(i, 50);
	ASSERT_LT(i, 100);
	ASSERT_EQ(-EAGAIN, ivshm_chan_send_many(p, iov + i, 100 - i, 0));
	ASSERT_EQ(1, ivshm_chan_recv_many(c, stop_cb, &stops, 10, 0));
	ASSERT_EQ(1, stops);
	n = 1;
	got = ivshm_chan_recv_many(c, count_cb, &n, 1000, 0);
	ASSERT_EQ(i - 1, got);
	ASSERT_EQ((uint32_t)i, n);
	ASSERT_EQ(100 - i, ivshm_chan_send_many(p, iov + i, 100 - i, 0));
	ASSERT_EQ(100 - i, ivshm_chan_recv_many(c, count_cb, &n, 1000, 0));
	ASSERT_EQ(100, n);
	ASSERT_EQ(-EAGAIN, ivshm_chan_recv_many(c, count_cb, &n, 1000, 0));
	/* an oversize message later in a batch ends the batch there */
	iov[3].iov_len = 5000;
	ASSERT_EQ(3, ivshm_chan_send_many(p, iov, 10, 0));
	ASSERT_EQ(-EMSGSIZE, ivshm_chan_send_many(p, iov + 3, 7, 0));
	ivshm_chan_close(p);
	ivshm_chan_close(c);
}

TEST_F(rgn, many_channels)
{
	struct ivshm_chan *p[64], *c[64], *x;
	char name[32], b[32];
	int i;

	for (i = 0; i < 64; i++) {
		snprintf(name, sizeof(name), "chan-%02d", i);
		p[i] = ivshm_chan_create(self->r, name, 4096,
					 IVSHM_CHAN_PRODUCER, NULL);
		ASSERT_NE(NULL, p[i]);
	}
	x = ivshm_chan_create(self->r, "one-too-many", 4096,
			      IVSHM_CHAN_PRODUCER, NULL);
	ASSERT_EQ(NULL, x);
	ASSERT_EQ(ENOSPC, errno);
	/* attach in reverse order, by name */
	for (i = 63; i >= 0; i--) {
		snprintf(name, sizeof(name), "chan-%02d", i);
		c[i] = ivshm_chan_attach(self->r2, name, IVSHM_CHAN_CONSUMER,
					 NULL);
		ASSERT_NE(NULL, c[i]);
	}
	for (i = 0; i < 64; i++) {
		snprintf(name, sizeof(name), "msg %d", i);
		ASSERT_EQ(0, ivshm_chan_send(p[i], name, strlen(name) + 1, 0));
	}
	for (i = 0; i < 64; i++) {
		snprintf(name, sizeof(name), "msg %d", i);
		ASSERT_EQ((ssize_t)strlen(name) + 1,
			  ivshm_chan_recv(c[i], b, sizeof(b), 0));
		ASSERT_STREQ(name, b);
		ASSERT_EQ(-EAGAIN, ivshm_chan_recv(c[i], b, sizeof(b), 0));
	}
	for (i = 0; i < 64; i++) {
		ivshm_chan_close(p[i]);
		ivshm_chan_close(c[i]);
	}
}

TEST_F(rgn, names_and_roles)
{
	struct ivshm_chan *p, *c;
	char longname[40];

	memset(longname, 'a', sizeof(longname));
	longname[32] = 0;
	ASSERT_EQ(NULL, ivshm_chan_create(self->r, longname, 4096,
					  IVSHM_CHAN_PRODUCER, NULL));
	ASSERT_EQ(EINVAL, errno);
	longname[31] = 0;	/* 31 chars: the longest allowed */
	p = ivshm_chan_create(self->r, longname, 4096, IVSHM_CHAN_PRODUCER,
			      NULL);
	ASSERT_NE(NULL, p);
	c = ivshm_chan_attach(self->r2, longname, IVSHM_CHAN_CONSUMER, NULL);
	ASSERT_NE(NULL, c);
	ivshm_chan_close(p);
	ivshm_chan_close(c);

	ASSERT_EQ(NULL, ivshm_chan_create(self->r, "", 4096,
					  IVSHM_CHAN_PRODUCER, NULL));
	ASSERT_EQ(EINVAL, errno);
	ASSERT_EQ(NULL, ivshm_chan_create(self->r, "x", 4096, 0, NULL));
	ASSERT_EQ(EINVAL, errno);
	ASSERT_EQ(NULL, ivshm_chan_create(self->r, "x", 4096,
			IVSHM_CHAN_PRODUCER | IVSHM_CHAN_CONSUMER, NULL));
	ASSERT_EQ(NULL, ivshm_chan_create(self->r, "x", 1000,
					  IVSHM_CHAN_PRODUCER, NULL));
	ASSERT_EQ(EINVAL, errno);
	ASSERT_EQ(NULL, ivshm_chan_create(self->r, "x", 128,
					  IVSHM_CHAN_PRODUCER, NULL));
	ASSERT_EQ(EINVAL, errno);
	ASSERT_EQ(NULL, ivshm_chan_create(self->r, "x", 1 << 20,
					  IVSHM_CHAN_PRODUCER, NULL));
	ASSERT_EQ(ENOSPC, errno);	/* does not fit in the region */

	p = ivshm_chan_create(self->r, "x", 4096, IVSHM_CHAN_CONSUMER, NULL);
	ASSERT_NE(NULL, p);
	ASSERT_EQ(NULL, ivshm_chan_create(self->r, "x", 4096,
					  IVSHM_CHAN_CONSUMER, NULL));
	ASSERT_EQ(EEXIST, errno);
	ASSERT_EQ(NULL, ivshm_chan_attach(self->r2, "nope",
					  IVSHM_CHAN_PRODUCER, NULL));
	ASSERT_EQ(ENOENT, errno);
	/* the creator is the consumer: a second consumer is refused */
	ASSERT_EQ(NULL, ivshm_chan_attach(self->r2, "x", IVSHM_CHAN_CONSUMER,
					  NULL));
	ASSERT_EQ(EBUSY, errno);
	c = ivshm_chan_attach(self->r2, "x", IVSHM_CHAN_PRODUCER, NULL);
	ASSERT_NE(NULL, c);
	ASSERT_EQ(NULL, ivshm_chan_attach(self->r2, "x", IVSHM_CHAN_PRODUCER,
					  NULL));
	ASSERT_EQ(EBUSY, errno);
	ASSERT_EQ(0, ivshm_chan_send(c, "q", 1, 0));
	ivshm_chan_close(c);
	/* after a clean close the role is free again */
	c = ivshm_chan_attach(self->r2, "x", IVSHM_CHAN_PRODUCER, NULL);
	ASSERT_NE(NULL, c);
	ivshm_chan_close(c);
	ivshm_chan_close(p);
}

/*
 * Each corruption of the table entry or channel header makes attach fail
 * with the expected errno, and never crash.
 */
TEST_F(rgn, attach_validation)
{
	static unsigned char save[RSIZE];
	struct ivshm_rgn_hdr *h = (void *)self->base;
	struct ivshm_chn_hdr *ch;
	struct ivshm_rgn_desc *d;
	struct ivshm_chan *p, *c;
	int i;

	p = ivshm_chan_create(self->r, "v", 4096, IVSHM_CHAN_PRODUCER, NULL);
	ASSERT_NE(NULL, p);
	ASSERT_NE(NULL, ivshm_chan_create(self->r, "other", 4096,
					  IVSHM_CHAN_PRODUCER, NULL));
	ASSERT_EQ(0, ivshm_chan_send(p, "abc", 3, 0));
	d = &h->desc[0];
	ch = (void *)(self->base + d->offset);
	memcpy(save, self->base, RSIZE);

	for (i = 0; ; i++) {
		int want = EPROTO;
		const char *what;

		memcpy(self->base, save, RSIZE);
		switch (i) {
		case 0: what = "name not terminated";
			memset(d->name, 'v', 32); break;
		case 1: what = "offset misaligned"; d->offset += 8; break;
		case 2: what = "offset in header"; d->offset = 64; break;
		case 3: what = "offset beyond region"; d->offset = RSIZE; break;
		case 4: what = "size beyond region"; d->size = RSIZE; break;
		case 5: what = "size wraps"; d->size = UINT64_MAX - 100; break;
		case 6: what = "size != header + ring"; d->size += 64; break;
		case 7: what = "overlaps other";
			h->desc[1].offset = d->offset + 512; break;
		case 8: what = "chan magic"; ch->magic ^= 1; break;
		case 9: what = "chan version"; ch->version = 9;
			want = EPROTONOSUPPORT; break;
		case 10: what = "chan hdr_size"; ch->hdr_size = 256; break;
		case 11: what = "ring not pow2"; ch->ring_size = 3000; break;
		case 12: what = "ring too big"; ch->ring_size = 8192; break;
		case 13: what = "max_msg"; ch->max_msg = 2048; break;
		case 14: what = "gen mismatch"; ch->gen += 1; break;
		case 15: what = "indices too far apart";
			ch->prod_idx = 4096 + 8; ch->cons_idx = 0; break;
		case 16: what = "index misaligned"; ch->prod_idx = 3; break;
		case 17: what = "being created";
			d->state = IVSHM_DESC_WORD(1, IVSHM_DESC_INIT);
			want = EAGAIN; break;
		case 18: what = "bad state";
			d->state = IVSHM_DESC_WORD(1, 7); break;
		case 19: what = "flags"; ch->flags = 2; break;
		case 20: what = "cons beyond prod";
			ch->cons_idx = 64; break;
		case 21: what = "ring too small";
			ch->ring_size = 128; d->size = 512 + 128; break;
		case 22: what = "extent below size"; d->extent -= 64; break;
		case 23: what = "extent beyond region";
			d->extent = RSIZE; break;
		case 24: what = "extent misaligned"; d->extent += 8; break;
		default: what = NULL; break;
		}
		if (!what)
			break;
		c = ivshm_chan_attach(self->r2, "v", IVSHM_CHAN_CONSUMER, NULL);
		if (c || errno != want)
			TH_LOG("case %d (%s): got %p errno %d", i, what, c, errno);
		ASSERT_EQ(NULL, c);
		ASSERT_EQ(want, errno);
	}
	/* and the intact region attaches */
	memcpy(self->base, save, RSIZE);
	c = ivshm_chan_attach(self->r2, "v", IVSHM_CHAN_CONSUMER, NULL);
	ASSERT_NE(NULL, c);
	ivshm_chan_close(c);
	ivshm_chan_close(p);
}

/* Corruption during operation: clean, sticky -EPROTO. */
TEST_F(rgn, runtime_violations)
{
	struct ivshm_rgn_hdr *h = (void *)self->base;
	static char big[1000];
	struct ivshm_chn_hdr *ch;
	struct ivshm_chan *p, *c;
	const void *d;
	uint64_t *rec, good;
	unsigned int at;
	size_t l;
	char b[64];
	int i, k;

	for (i = 0; i < 6; i++) {
		char name[8];

		snprintf(name, sizeof(name), "rt%d", i);
		p = ivshm_chan_create(self->r, name, 4096,
				      IVSHM_CHAN_PRODUCER, NULL);
		c = ivshm_chan_attach(self->r2, name, IVSHM_CHAN_CONSUMER,
				      NULL);
		ASSERT_NE(NULL, c);
		ch = (void *)(self->base + h->desc[i].offset);
		rec = (uint64_t *)((char *)ch + 512);
		at = 0;
		if (i == 3) {
			/* the consumer is at 24 */
			ASSERT_EQ(0, ivshm_chan_send(p, "0123456789", 10, 0));
			ASSERT_EQ(10, ivshm_chan_recv(c, b, sizeof(b), 0));
			at = 24;
		} else if (i >= 4) {
			/* the consumer is at 3088, holding all of it (4) or
			 * having released it (5) */
			for (k = 0; k < 3; k++)
				ASSERT_EQ(0, ivshm_chan_send(p, big, 1000, 0));
			ASSERT_EQ(0, ivshm_chan_send(p, big, 56, 0));
			for (k = 0; k < 4; k++)
				ASSERT_EQ(0, ivshm_chan_peek(c, &d, &l, 0));
			if (i == 5)
				ASSERT_EQ(0, ivshm_chan_release(c));
			at = 3088;
		}
		ASSERT_EQ(0, ivshm_chan_send(p, "0123456789", 10, 0));
		good = rec[at / 8];
		ASSERT_EQ(10, good);
		switch (i) {
		case 0: rec[at / 8] = 2000; break;	/* > max_msg */
		case 1: rec[at / 8] = 1ull << 33; break; /* unknown flag */
		case 2:					/* pad at 0 */
			rec[at / 8] = 1ull << 32 | (4096 - 8); break;
		case 3:				/* pad short of the end */
			rec[at / 8] = 1ull << 32 | 8; break;
		case 4:
			/* 1008 + the zero word after it: more than the 1008
			 * bytes the producer may write past held data */
			rec[at / 8] = 1000; break;
		case 5: rec[at / 8] = 1016; break;	/* past the end */
		}
		/* peek: recv would release what case 4 holds */
		ASSERT_EQ(-EPROTO, ivshm_chan_peek(c, &d, &l, 0));
		/* sticky, even after a repair */
		rec[at / 8] = good;
		ASSERT_EQ(-EPROTO, ivshm_chan_peek(c, &d, &l, 0));
		ASSERT_EQ(-EPROTO, ivshm_chan_recv(c, b, sizeof(b), 0));
		ivshm_chan_close(c);
		ivshm_chan_close(p);
	}
	/* producer side: consumer index beyond what was published */
	p = ivshm_chan_create(self->r, "rtp", 256, IVSHM_CHAN_PRODUCER, NULL);
	ASSERT_NE(NULL, p);
	ch = (void *)(self->base + h->desc[6].offset);
	for (i = 0; i < 15; i++)
		ASSERT_EQ(0, ivshm_chan_send(p, b, 8, 0));
	ch->cons_idx = 4096;
	ASSERT_EQ(-EPROTO, ivshm_chan_send(p, b, 8, 0));
	ASSERT_EQ(-EPROTO, ivshm_chan_commit(p));
	ivshm_chan_close(p);
}

/*
 * A record's header is its publication: a zero header is "nothing yet"
 * (not an error), prod_idx is not read while running, and a producer that
 * attaches goes on after the last published record even when prod_idx
 * says more (a predecessor that died between its two stores).
 */
TEST_F(rgn, header_publishes)
{
	struct ivshm_rgn_hdr *h = (void *)self->base;
	struct ivshm_chn_hdr *ch;
	struct ivshm_chan *p, *c;
	uint64_t *rec, save;
	char b[16];

	p = ivshm_chan_create(self->r, "hp", 4096, IVSHM_CHAN_PRODUCER, NULL);
	c = ivshm_chan_attach(self->r2, "hp", IVSHM_CHAN_CONSUMER, NULL);
	ASSERT_NE(NULL, c);
	ch = (void *)(self->base + h->desc[0].offset);
	rec = (uint64_t *)((char *)ch + 512);
	ASSERT_EQ(0, ivshm_chan_send(p, "abc", 3, 0));
	save = rec[0];
	rec[0] = 0;
	ASSERT_EQ(-EAGAIN, ivshm_chan_recv(c, b, sizeof(b), 0));
	rec[0] = save;
	ASSERT_EQ(3, ivshm_chan_recv(c, b, sizeof(b), 0));
	ASSERT_EQ(0, memcmp(b, "abc", 3));

	atomic_store(&ch->prod_idx, 4096 + 64);		/* not read */
	ASSERT_EQ(0, ivshm_chan_send(p, "de", 2, 0));
	ASSERT_EQ(2, ivshm_chan_recv(c, b, sizeof(b), 0));
	ASSERT_EQ(0, ivshm_chan_send(p, "x", 1, 0));	/* at 32 */

	/* died after storing prod_idx for a batch, before its header */
	ivshm_chan_close(p);
	atomic_store(&ch->prod_idx, 48 + 40);
	p = ivshm_chan_attach(self->r, "hp", IVSHM_CHAN_PRODUCER, NULL);
	ASSERT_NE(NULL, p);
	ASSERT_EQ(48, atomic_load(&ch->prod_idx));
	ASSERT_EQ(0, ivshm_chan_send(p, "y", 1, 0));
	ASSERT_EQ(1, ivshm_chan_recv(c, b, sizeof(b), 0));
	ASSERT_EQ('x', b[0]);
	ASSERT_EQ(1, ivshm_chan_recv(c, b, sizeof(b), 0));
	ASSERT_EQ('y', b[0]);
	ASSERT_EQ(-EAGAIN, ivshm_chan_recv(c, b, sizeof(b), 0));

	/* the records from cons_idx must lead to the resume point */
	ASSERT_EQ(0, ivshm_chan_send(p, "z", 1, 0));	/* at 64 */
	ivshm_chan_close(p);
	rec[64 / 8] = 5000;
	p = ivshm_chan_attach(self->r, "hp", IVSHM_CHAN_PRODUCER, NULL);
	ASSERT_EQ(NULL, p);
	ASSERT_EQ(EPROTO, errno);
	ivshm_chan_close(c);
}

/* A consumer crashes; a new one takes over and resumes. */
TEST_F(rgn, reattach_after_restart)
{
	struct ivshm_chan *p, *c;
	char b[16];
	pid_t pid;
	int st, i;

	p = ivshm_chan_create(self->r, "ra", 4096, IVSHM_CHAN_PRODUCER, NULL);
	ASSERT_NE(NULL, p);
	for (i = 0; i < 10; i++) {
		snprintf(b, sizeof(b), "m%d", i);
		ASSERT_EQ(0, ivshm_chan_send(p, b, strlen(b) + 1, 0));
	}
	pid = fork();
	ASSERT_GE(pid, 0);
	if (pid == 0) {
		struct ivshm_region *r = ivshm_region_open(self->base, RSIZE);

		c = ivshm_chan_attach(r, "ra", IVSHM_CHAN_CONSUMER, NULL);
		if (!c)
			_exit(1);
		for (i = 0; i < 4; i++)
			if (ivshm_chan_recv(c, b, sizeof(b), 0) < 0)
				_exit(2);
		_exit(0);	/* "crash": no close */
	}
	ASSERT_EQ(pid, waitpid(pid, &st, 0));
	ASSERT_EQ(0, st);
	c = ivshm_chan_attach(self->r2, "ra", IVSHM_CHAN_CONSUMER, NULL);
	ASSERT_EQ(NULL, c);
	ASSERT_EQ(EBUSY, errno);
	c = ivshm_chan_attach(self->r2, "ra",
			      IVSHM_CHAN_CONSUMER | IVSHM_CHAN_TAKEOVER, NULL);
	ASSERT_NE(NULL, c);
	ASSERT_EQ(3, ivshm_chan_recv(c, b, sizeof(b), 0));
	ASSERT_STREQ("m4", b);
	/* the producer never noticed */
	ASSERT_EQ(0, ivshm_chan_send(p, "new", 4, 0));
	for (i = 5; i < 10; i++)
		ASSERT_LT(0, ivshm_chan_recv(c, b, sizeof(b), 0));
	ASSERT_EQ(4, ivshm_chan_recv(c, b, sizeof(b), 0));
	ASSERT_STREQ("new", b);
	ivshm_chan_close(c);
	ivshm_chan_close(p);
}

/*
 * A consumer without a doorbell returns ring space in steps (here 512
 * bytes, an eighth of the ring), and all of it whenever nothing more is
 * published, it finds the ring empty, or it closes; one with a doorbell
 * returns it at every release.  A consumer that takes over resumes after
 * every message its predecessor released, returned or not (done_idx).
 */
TEST_F(rgn, release_returns_space_in_steps)
{
	struct ivshm_rgn_hdr *h = (void *)self->base;
	struct ivshm_chn_hdr *ch;
	struct ivshm_chan *p, *c, *c2;
	struct efd_sig ea, eb;
	struct ivshm_signal sa, sb;
	unsigned char m[64];
	const void *d;
	uint64_t at;
	size_t l;
	int i;

	p = ivshm_chan_create(self->r, "st", 4096, IVSHM_CHAN_PRODUCER, NULL);
	c = ivshm_chan_attach(self->r2, "st", IVSHM_CHAN_CONSUMER, NULL);
	ASSERT_NE(NULL, c);
	ch = (void *)(self->base + h->desc[0].offset);
	for (i = 0; i < 20; i++) {
		fill(m, sizeof(m), i);
		ASSERT_EQ(0, ivshm_chan_send(p, m, sizeof(m), 0));
	}
	/* 72-byte records: the 8th release crosses 512, the 16th 1024 */
	for (i = 0; i < 20; i++) {
		ASSERT_EQ(64, ivshm_chan_recv(c, m, sizeof(m), 0));
		ASSERT_EQ(0, check(m, 64, i));
		ASSERT_EQ(i < 7 ? 0 : i < 15 ? 576 : 1152,
			  atomic_load(&ch->cons_idx));
		/* each release is recorded, exactly, in one of the two */
		at = atomic_load(&ch->cons_idx);
		if (at != 72u * (i + 1))
			at = atomic_load(&ch->cons_evt.done_idx);
		ASSERT_EQ(72 * (i + 1), at);
	}
	/* a peek that finds the ring empty returns the rest */
	ASSERT_EQ(-EAGAIN, ivshm_chan_peek(c, &d, &l, 0));
	ASSERT_EQ(1440, atomic_load(&ch->cons_idx));

	/* ... but not what is held */
	ASSERT_EQ(0, ivshm_chan_send(p, m, 8, 0));
	ASSERT_EQ(0, ivshm_chan_send(p, m, 8, 0));
	ASSERT_EQ(8, ivshm_chan_recv(c, m, sizeof(m), 0));
	ASSERT_EQ(1440, atomic_load(&ch->cons_idx));
	ASSERT_EQ(0, ivshm_chan_peek(c, &d, &l, 0));
	ASSERT_EQ(-EAGAIN, ivshm_chan_peek(c, &d, &l, 0));
	ASSERT_EQ(1456, atomic_load(&ch->cons_idx));	/* not the held one */
	ASSERT_EQ(0, ivshm_chan_release(c));
	ASSERT_EQ(1456, atomic_load(&ch->cons_idx));
	ASSERT_EQ(-EAGAIN, ivshm_chan_peek(c, &d, &l, 0));
	ASSERT_EQ(1472, atomic_load(&ch->cons_idx));

	/*
	 * Space not returned yet never stops a message of max_msg once the
	 * consumer has read everything (it is less than an eighth of the
	 * ring): 6 small messages read, not returned, then 1024 bytes, 20
	 * times (padding records as the ring wraps), the consumer never
	 * finding the ring empty.
	 */
	for (i = 0; i < 20; i++) {
		void *w;
		int k;

		for (k = 0; k < 6; k++) {
			ASSERT_EQ(0, ivshm_chan_send(p, m, 64, 0));
			ASSERT_EQ(64, ivshm_chan_recv(c, m, sizeof(m), 0));
		}
		ASSERT_LT(atomic_load(&ch->cons_idx),
			  atomic_load(&ch->cons_evt.done_idx));
		ASSERT_EQ(0, ivshm_chan_reserve(p, 1024, &w, 0));
		memset(w, i, 1024);
		ASSERT_EQ(0, ivshm_chan_commit(p));
		ASSERT_EQ(0, ivshm_chan_peek(c, &d, &l, 0));
		ASSERT_EQ(1024, l);
		ASSERT_EQ(i, ((const unsigned char *)d)[1023]);
		ASSERT_EQ(0, ivshm_chan_release(c));
	}
	ASSERT_EQ(-EAGAIN, ivshm_chan_peek(c, &d, &l, 0));

	/* a crash: the successor goes on after the released message */
	ASSERT_EQ(0, ivshm_chan_send(p, "a", 2, 0));
	ASSERT_EQ(0, ivshm_chan_send(p, "b", 2, 0));
	ASSERT_EQ(2, ivshm_chan_recv(c, m, sizeof(m), 0));
	ASSERT_STREQ("a", (char *)m);
	c2 = ivshm_chan_attach(self->r2, "st",
			       IVSHM_CHAN_CONSUMER | IVSHM_CHAN_TAKEOVER, NULL);
	ASSERT_NE(NULL, c2);
	ASSERT_EQ(2, ivshm_chan_recv(c2, m, sizeof(m), 0));
	ASSERT_STREQ("b", (char *)m);
	ASSERT_EQ(-EAGAIN, ivshm_chan_recv(c2, m, sizeof(m), 0));
	ASSERT_EQ(-ECONNRESET, ivshm_chan_recv(c, m, sizeof(m), 0));
	ivshm_chan_close(c);
	ASSERT_EQ(atomic_load(&ch->cons_evt.done_idx),
		  atomic_load(&ch->cons_idx));

	/* a close returns what was released */
	ASSERT_EQ(0, ivshm_chan_send(p, "c", 2, 0));
	ASSERT_EQ(0, ivshm_chan_send(p, "d", 2, 0));
	ASSERT_EQ(2, ivshm_chan_recv(c2, m, sizeof(m), 0));
	ASSERT_EQ(atomic_load(&ch->cons_evt.done_idx) - 16,
		  atomic_load(&ch->cons_idx));
	ivshm_chan_close(c2);
	ASSERT_EQ(atomic_load(&ch->cons_evt.done_idx),
		  atomic_load(&ch->cons_idx));

	/* a hostile done_idx is ignored: resume at cons_idx */
	atomic_store(&ch->cons_evt.done_idx, atomic_load(&ch->cons_idx) + 8);
	c = ivshm_chan_attach(self->r2, "st", IVSHM_CHAN_CONSUMER, NULL);
	ASSERT_NE(NULL, c);
	ASSERT_EQ(2, ivshm_chan_recv(c, m, sizeof(m), 0));
	ASSERT_STREQ("d", (char *)m);
	ivshm_chan_close(c);
	atomic_store(&ch->cons_evt.done_idx, 99);
	ASSERT_EQ(0, ivshm_chan_send(p, "e", 2, 0));
	c = ivshm_chan_attach(self->r2, "st", IVSHM_CHAN_CONSUMER, NULL);
	ASSERT_NE(NULL, c);
	ASSERT_EQ(2, ivshm_chan_recv(c, m, sizeof(m), 0));
	ASSERT_STREQ("e", (char *)m);
	ivshm_chan_close(c);
	ivshm_chan_close(p);

	/* with a doorbell: every release returns its space */
	efd_pair(&ea, &eb, &sa, &sb);
	p = ivshm_chan_create(self->r, "sd", 4096, IVSHM_CHAN_PRODUCER, &sa);
	c = ivshm_chan_attach(self->r2, "sd", IVSHM_CHAN_CONSUMER, &sb);
	ASSERT_NE(NULL, c);
	ch = (void *)(self->base + h->desc[1].offset);
	ASSERT_EQ(0, ivshm_chan_send(p, m, 8, 0));
	ASSERT_EQ(0, ivshm_chan_send(p, m, 8, 0));
	ASSERT_EQ(8, ivshm_chan_recv(c, m, sizeof(m), 0));
	ASSERT_EQ(16, atomic_load(&ch->cons_idx));
	/*
	 * ... and leaves its event line alone: its producer reads that line
	 * (the sleep word) at every commit, so a store there per release
	 * would move it between the caches once per message.
	 */
	ASSERT_EQ(0, atomic_load(&ch->cons_evt.done_idx));
	ivshm_chan_close(c);
	ivshm_chan_close(p);
	close(ea.mine);
	close(eb.mine);
}

/* The producer restarts too: a takeover producer continues the stream. */
TEST_F(rgn, producer_takeover_and_reset)
{
	struct ivshm_chan *p, *p2, *c, *c2;
	char b[16];

	p = ivshm_chan_create(self->r, "pt", 4096, IVSHM_CHAN_PRODUCER, NULL);
	c = ivshm_chan_attach(self->r2, "pt", IVSHM_CHAN_CONSUMER, NULL);
	ASSERT_NE(NULL, c);
	ASSERT_EQ(0, ivshm_chan_send(p, "one", 4, 0));
	p2 = ivshm_chan_attach(self->r, "pt",
			       IVSHM_CHAN_PRODUCER | IVSHM_CHAN_TAKEOVER, NULL);
	ASSERT_NE(NULL, p2);
	ASSERT_EQ(0, ivshm_chan_send(p2, "two", 4, 0));
	ASSERT_EQ(4, ivshm_chan_recv(c, b, sizeof(b), 0));
	ASSERT_STREQ("one", b);
	ASSERT_EQ(4, ivshm_chan_recv(c, b, sizeof(b), 0));
	ASSERT_STREQ("two", b);
	/* the replaced handle learns it at its next wait */
	{
		static char big[1000];
		int r;

		while ((r = ivshm_chan_send(p, big, sizeof(big), 10)) == 0)
			;
		ASSERT_EQ(-ECONNRESET, r);
	}
	ivshm_chan_close(p);

	/* re-create with RESET: new generation, old handles are reset */
	ivshm_chan_close(p2);
	ASSERT_EQ(NULL, ivshm_chan_create(self->r, "pt", 8192,
			IVSHM_CHAN_PRODUCER | IVSHM_CHAN_RESET, NULL));
	ASSERT_EQ(EEXIST, errno);
	p = ivshm_chan_create(self->r, "pt", 4096,
			      IVSHM_CHAN_PRODUCER | IVSHM_CHAN_RESET, NULL);
	ASSERT_NE(NULL, p);
	ASSERT_EQ(-ECONNRESET, ivshm_chan_recv(c, b, sizeof(b), 10));
	ivshm_chan_close(c);
	c2 = ivshm_chan_attach(self->r2, "pt", IVSHM_CHAN_CONSUMER, NULL);
	ASSERT_NE(NULL, c2);
	ASSERT_EQ(0, ivshm_chan_send(p, "fresh", 6, 0));
	ASSERT_EQ(6, ivshm_chan_recv(c2, b, sizeof(b), 0));
	ivshm_chan_close(c2);
	ivshm_chan_close(p);
}

/* A detached producer: drain what is left, then -EPIPE, not a hang. */
TEST_F(rgn, peer_detach_epipe)
{
	struct ivshm_chan *p, *c;
	struct efd_sig a, b;
	struct ivshm_signal sa = { .size = sizeof(sa) };
	struct ivshm_signal sb = { .size = sizeof(sb) };
	char buf[16];
	int i;

	efd_pair(&a, &b, &sa, &sb);
	p = ivshm_chan_create(self->r, "ep", 4096, IVSHM_CHAN_PRODUCER, &sa);
	c = ivshm_chan_attach(self->r2, "ep", IVSHM_CHAN_CONSUMER, &sb);
	ASSERT_NE(NULL, c);
	ASSERT_EQ(0, ivshm_chan_send(p, "last", 5, 0));
	ivshm_chan_close(p);
	ASSERT_EQ(5, ivshm_chan_recv(c, buf, sizeof(buf), -1));
	ASSERT_EQ(-EPIPE, ivshm_chan_recv(c, buf, sizeof(buf), -1));
	/* a producer comes back: the stream continues */
	p = ivshm_chan_attach(self->r, "ep", IVSHM_CHAN_PRODUCER, &sa);
	ASSERT_NE(NULL, p);
	ASSERT_EQ(0, ivshm_chan_send(p, "again", 6, 0));
	ASSERT_EQ(6, ivshm_chan_recv(c, buf, sizeof(buf), -1));
	/* a producer blocked on a full ring gets -EPIPE when the
	 * consumer leaves */
	ivshm_chan_close(c);
	for (i = 0; ivshm_chan_send(p, buf, 16, 0) == 0; i++)
		;
	ASSERT_EQ(-EPIPE, ivshm_chan_send(p, buf, 16, -1));
	ivshm_chan_close(p);
	close(a.mine);
	close(b.mine);
}

static int dead_peer(void *ctx)
{
	(void)ctx;
	return 0;
}

TEST_F(rgn, liveness_callback)
{
	struct ivshm_chan *p, *c;
	struct ivshm_signal s = { sizeof(s), NULL, NULL, dead_peer, -1, NULL };
	char buf[8];

	p = ivshm_chan_create(self->r, "lv", 4096, IVSHM_CHAN_PRODUCER, NULL);
	c = ivshm_chan_attach(self->r2, "lv", IVSHM_CHAN_CONSUMER, &s);
	ASSERT_NE(NULL, c);
	ASSERT_EQ(-EOPNOTSUPP, ivshm_chan_fd(c));
	ASSERT_EQ(-EPIPE, ivshm_chan_recv(c, buf, sizeof(buf), -1));
	ivshm_chan_close(c);
	ivshm_chan_close(p);
}

struct blk {
	struct ivshm_chan *p;
	int delay_ms;
	int n;
};

static void *late_sender(void *arg)
{
	struct blk *b = arg;
	int i;

	for (i = 0; i < b->n; i++) {
		usleep(b->delay_ms * 1000);
		ivshm_chan_send(b->p, "wake", 5, 0);
	}
	return NULL;
}

/*
 * The 8 bytes at offset 16 of each event line were a heartbeat that
 * nothing read (a sleeping side bumped it on each wake-up, so it could
 * not tell a dead peer from an idle one): reserved now, never written.
 */
TEST_F(rgn, event_line_word16_unused)
{
	struct ivshm_chan_info ci = { .size = sizeof(ci) };
	struct ivshm_chan *p, *c;
	struct efd_sig a, b;
	struct ivshm_signal sa = { .size = sizeof(sa) };
	struct ivshm_signal sb = { .size = sizeof(sb) };
	const unsigned char *hdr;
	struct blk arg;
	pthread_t t;
	char buf[8];
	int i;

	efd_pair(&a, &b, &sa, &sb);
	p = ivshm_chan_create(self->r, "hb", 4096, IVSHM_CHAN_PRODUCER, &sa);
	c = ivshm_chan_attach(self->r2, "hb", IVSHM_CHAN_CONSUMER, &sb);
	ASSERT_NE(NULL, c);
	arg = (struct blk){ p, 20, 3 };
	ASSERT_EQ(0, pthread_create(&t, NULL, late_sender, &arg));
	for (i = 0; i < 3; i++)
		ASSERT_EQ(5, ivshm_chan_recv(c, buf, sizeof(buf), 5000));
	pthread_join(t, NULL);
	ASSERT_EQ(1, ivshm_region_channels(self->r, &ci, 1));
	hdr = (const unsigned char *)self->base + ci.offset;
	for (i = 0; i < 8; i++) {
		EXPECT_EQ(0, hdr[offsetof(struct ivshm_chn_hdr, prod_evt) + 16 + i]);
		EXPECT_EQ(0, hdr[offsetof(struct ivshm_chn_hdr, cons_evt) + 16 + i]);
	}
	ivshm_chan_close(p);
	ivshm_chan_close(c);
	close(a.mine);
	close(b.mine);
}

/* A blocked consumer sleeps, is rung once per message, and wakes. */
TEST_F(rgn, blocking_doorbell)
{
	struct ivshm_chan *p, *c;
	struct efd_sig a, b;
	struct ivshm_signal sa = { .size = sizeof(sa) };
	struct ivshm_signal sb = { .size = sizeof(sb) };
	struct ivshm_chan_stats st = { .size = sizeof(st) };
	struct blk arg;
	pthread_t t;
	char buf[8];
	int i;

	efd_pair(&a, &b, &sa, &sb);
	p = ivshm_chan_create(self->r, "bd", 4096, IVSHM_CHAN_PRODUCER, &sa);
	c = ivshm_chan_attach(self->r2, "bd", IVSHM_CHAN_CONSUMER, &sb);
	ASSERT_NE(NULL, c);
	ASSERT_EQ(b.mine, ivshm_chan_fd(c));
	arg = (struct blk){ p, 20, 5 };
	ASSERT_EQ(0, pthread_create(&t, NULL, late_sender, &arg));
	for (i = 0; i < 5; i++)
		ASSERT_EQ(5, ivshm_chan_recv(c, buf, sizeof(buf), 5000));
	pthread_join(t, NULL);
	ASSERT_EQ(0, ivshm_chan_stats(c, &st));
	ASSERT_GE(st.sleeps, 5);
	ASSERT_EQ(0, ivshm_chan_stats(p, &st));
	ASSERT_GE(st.notifies, 3);
	ASSERT_LE(st.notifies, 5);

	/* event-loop style: arm, poll the fd, then read */
	ASSERT_EQ(0, ivshm_chan_arm(c));
	ASSERT_EQ(0, ivshm_chan_send(p, "x", 1, 0));
	{
		struct pollfd pf = { .fd = ivshm_chan_fd(c), .events = POLLIN };

		ASSERT_EQ(1, poll(&pf, 1, 1000));
	}
	ASSERT_EQ(1, ivshm_chan_arm(c));
	ASSERT_EQ(1, ivshm_chan_recv(c, buf, sizeof(buf), 0));
	ivshm_chan_close(p);
	ivshm_chan_close(c);
	close(a.mine);
	close(b.mine);
}

/*
 * stats.sleeps counts blocking episodes: a wait that a stale doorbell
 * woke at once, and that then slept again until the real one, is one.
 */
TEST_F(rgn, sleeps_count_episodes)
{
	struct ivshm_chan *p, *c;
	struct efd_sig a, b;
	struct ivshm_signal sa, sb;
	struct ivshm_chan_stats st = { .size = sizeof(st) };
	struct blk arg;
	uint64_t one = 1;
	pthread_t t;
	char buf[8];

	efd_pair(&a, &b, &sa, &sb);
	p = ivshm_chan_create(self->r, "se", 4096, IVSHM_CHAN_PRODUCER, &sa);
	c = ivshm_chan_attach(self->r2, "se", IVSHM_CHAN_CONSUMER, &sb);
	ASSERT_NE(NULL, c);
	ASSERT_EQ(0, ivshm_chan_set_spin(c, 0));
	ASSERT_EQ(8, write(b.mine, &one, 8));		/* a stale doorbell */
	arg = (struct blk){ p, 30, 1 };
	ASSERT_EQ(0, pthread_create(&t, NULL, late_sender, &arg));
	ASSERT_EQ(5, ivshm_chan_recv(c, buf, sizeof(buf), 5000));
	pthread_join(t, NULL);
	ASSERT_EQ(0, ivshm_chan_stats(c, &st));
	ASSERT_EQ(1, st.waits);
	ASSERT_EQ(1, st.sleeps);
	ASSERT_EQ(0, ivshm_chan_stats(p, &st));
	ASSERT_EQ(1, st.notifies);
	ivshm_chan_close(p);
	ivshm_chan_close(c);
	close(a.mine);
	close(b.mine);
}

static void *late_reader(void *arg)
{
	struct blk *b = arg;
	char buf[2048];
	int i;

	for (i = 0; i < b->n; i++) {
		usleep(b->delay_ms * 1000);
		ivshm_chan_recv((struct ivshm_chan *)b->p, buf, sizeof(buf), 0);
	}
	return NULL;
}

/* A producer waiting for space sleeps and is woken by the consumer. */
TEST_F(rgn, blocking_producer)
{
	struct ivshm_chan *p, *c;
	struct efd_sig a, b;
	struct ivshm_signal sa = { .size = sizeof(sa) };
	struct ivshm_signal sb = { .size = sizeof(sb) };
	struct ivshm_chan_stats st = { .size = sizeof(st) };
	struct blk arg;
	pthread_t t;
	static char buf[1024];
	int i;

	efd_pair(&a, &b, &sa, &sb);
	p = ivshm_chan_create(self->r, "bp", 4096, IVSHM_CHAN_PRODUCER, &sa);
	c = ivshm_chan_attach(self->r2, "bp", IVSHM_CHAN_CONSUMER, &sb);
	ASSERT_NE(NULL, c);
	for (i = 0; i < 4; i++)
		ASSERT_EQ(0, ivshm_chan_send(p, buf, 1000, 0));
	/* the first send wraps: padding, record and zero word need 2 reads */
	arg = (struct blk){ (void *)c, 20, 4 };
	ASSERT_EQ(0, pthread_create(&t, NULL, late_reader, &arg));
	for (i = 0; i < 3; i++)
		ASSERT_EQ(0, ivshm_chan_send(p, buf, 1000, 5000));
	pthread_join(t, NULL);
	ASSERT_EQ(0, ivshm_chan_stats(p, &st));
	ASSERT_GE(st.sleeps, 3);
	ASSERT_EQ(0, ivshm_chan_stats(c, &st));
	ASSERT_GE(st.notifies, 1);
	ASSERT_LE(st.notifies, 3);
	ivshm_chan_close(p);
	ivshm_chan_close(c);
	close(a.mine);
	close(b.mine);
}

/* Both sides may create channels in the same region concurrently. */
TEST_F(rgn, concurrent_create_attach)
{
	pid_t pid;
	int st, i;
	char name[16];

	pid = fork();
	ASSERT_GE(pid, 0);
	if (pid == 0) {
		struct ivshm_region *r = ivshm_region_open(self->base, RSIZE);

		for (i = 0; i < 30; i++) {
			snprintf(name, sizeof(name), "child%d", i);
			if (!ivshm_chan_create(r, name, 4096,
					       IVSHM_CHAN_PRODUCER, NULL))
				_exit(1);
		}
		_exit(0);
	}
	for (i = 0; i < 30; i++) {
		struct ivshm_chan *c = NULL;

		snprintf(name, sizeof(name), "parent%d", i);
		ASSERT_NE(NULL, ivshm_chan_create(self->r, name, 4096,
						  IVSHM_CHAN_PRODUCER, NULL));
		snprintf(name, sizeof(name), "child%d", i);
		while (!c) {
			c = ivshm_chan_attach(self->r2, name,
					      IVSHM_CHAN_CONSUMER, NULL);
			if (!c)
				ASSERT_TRUE(errno == ENOENT || errno == EAGAIN);
		}
		ivshm_chan_close(c);
	}
	ASSERT_EQ(pid, waitpid(pid, &st, 0));
	ASSERT_EQ(0, st);
	ASSERT_EQ(RSIZE - 4160 - 60 * (512 + 4096), ivshm_region_avail(self->r));
}

TEST_HARNESS_MAIN
