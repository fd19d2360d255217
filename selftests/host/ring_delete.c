// SPDX-License-Identifier: GPL-2.0-only
/*
 * libivshm: channel deletion (IVSHM_CHAN_AUTODELETE).  A channel whose
 * two sides have both attached and detached is freed: its table slot and
 * its space go to later channels, so a region with client churn never
 * runs out of its 64 slots or its memory (10,000 create/attach/delete
 * cycles in one small region).  Not before: a side still attached, or
 * never attached, keeps it.  An attach racing with the last close either
 * gets the channel (which then stays) or none.  Forged table entries
 * (free slots whose kept space points outside the region or over another
 * channel) are never written to.  The region is surrounded by PROT_NONE
 * guard pages, so any access outside it kills the test.
 */
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>

#include "kselftest_harness.h"
#include "ivshm.h"
#include "../../lib/ring_layout.h"

#define RSIZE	(64u << 10)	/* room for about 15 channels of 4 KiB */
#define PAGE	4096u
#define RING	4096u
#define AREA	(512u + RING)

#define AUTO	IVSHM_CHAN_AUTODELETE

FIXTURE(del) {
	unsigned char *mem;
	struct ivshm_region *r;
};

FIXTURE_SETUP(del)
{
	unsigned char *p = mmap(NULL, RSIZE + 2 * PAGE, PROT_READ | PROT_WRITE,
				MAP_SHARED | MAP_ANONYMOUS, -1, 0);

	ASSERT_NE(MAP_FAILED, p);
	mprotect(p, PAGE, PROT_NONE);
	mprotect(p + PAGE + RSIZE, PAGE, PROT_NONE);
	self->mem = p + PAGE;
	self->r = ivshm_region_format(self->mem, RSIZE);
	ASSERT_NE(NULL, self->r);
}

FIXTURE_TEARDOWN(del)
{
	ivshm_region_close(self->r);
	munmap(self->mem - PAGE, RSIZE + 2 * PAGE);
}

static struct ivshm_rgn_hdr *hdr(unsigned char *mem)
{
	return (struct ivshm_rgn_hdr *)mem;
}

static int nchans(struct ivshm_region *r)
{
	return ivshm_region_channels(r, NULL, 0);
}

/* One client's life: create, the peer attaches, a message, both close. */
static int cycle(struct ivshm_region *r, struct ivshm_region *peer,
		 const char *name, size_t ring, int creator_role)
{
	struct ivshm_chan *a, *b;
	char buf[32];
	int ret = 0;

	a = ivshm_chan_create(r, name, ring, creator_role | AUTO, NULL);
	if (!a)
		return -errno;
	b = ivshm_chan_attach(peer, name, creator_role ^ 3, NULL);
	if (!b) {
		ret = -errno;
		ivshm_chan_close(a);
		return ret;
	}
	if (ivshm_chan_send(creator_role == IVSHM_CHAN_PRODUCER ? a : b,
			    name, strlen(name) + 1, 0) ||
	    ivshm_chan_recv(creator_role == IVSHM_CHAN_PRODUCER ? b : a, buf,
			    sizeof(buf), 0) != (ssize_t)strlen(name) + 1 ||
	    strcmp(buf, name))
		ret = -EIO;
	/* either side may be the last to leave */
	if (strlen(name) & 1) {
		ivshm_chan_close(a);
		ivshm_chan_close(b);
	} else {
		ivshm_chan_close(b);
		ivshm_chan_close(a);
	}
	return ret;
}

TEST_F(del, ten_thousand_cycles_in_one_region)
{
	struct ivshm_region *peer = ivshm_region_open(self->mem, RSIZE);
	struct ivshm_chan *keep[3];
	ssize_t avail;
	char name[32];
	int i;

	ASSERT_NE(NULL, peer);
	/* a few long-lived channels around the churn */
	keep[0] = ivshm_chan_create(self->r, "keep0", RING,
				    IVSHM_CHAN_PRODUCER, NULL);
	keep[1] = ivshm_chan_create(self->r, "keep1", 1024,
				    IVSHM_CHAN_CONSUMER | AUTO, NULL);
	ASSERT_NE(NULL, keep[0]);
	ASSERT_NE(NULL, keep[1]);
	ASSERT_EQ(0, cycle(self->r, peer, "warm-up", RING,
			   IVSHM_CHAN_PRODUCER));
	avail = ivshm_region_avail(self->r);
	/* more cycles than slots, and than the region has room for */
	ASSERT_LT(avail / AREA * 10, 10000);
	for (i = 0; i < 10000; i++) {
		snprintf(name, sizeof(name), "client-%d", i);
		ASSERT_EQ(0, cycle(i & 1 ? self->r : peer, i & 1 ? peer :
				   self->r, name, i % 3 ? RING : 2048,
				   i & 2 ? IVSHM_CHAN_PRODUCER :
				   IVSHM_CHAN_CONSUMER)) {
			TH_LOG("cycle %d", i);
		}
		if (i == 5000) {
			keep[2] = ivshm_chan_create(self->r, "keep2", RING,
						    IVSHM_CHAN_PRODUCER, NULL);
			ASSERT_NE(NULL, keep[2]);
		}
	}
	/* only the long-lived ones are left, and no space went missing */
	EXPECT_EQ(3, nchans(self->r));
	EXPECT_EQ(0, ivshm_chan_send(keep[0], "x", 1, 0));
	EXPECT_EQ(0, ivshm_chan_send(keep[2], "x", 1, 0));
	EXPECT_GE(ivshm_region_avail(self->r), avail - (ssize_t)AREA);
	for (i = 0; i < 3; i++)
		ivshm_chan_close(keep[i]);
	ivshm_region_close(peer);
}

TEST_F(del, kept_until_both_sides_have_left)
{
	struct ivshm_chan *p, *c, *c2;
	char buf[8];

	/* without the flag: never deleted */
	p = ivshm_chan_create(self->r, "plain", RING, IVSHM_CHAN_PRODUCER,
			      NULL);
	c = ivshm_chan_attach(self->r, "plain", IVSHM_CHAN_CONSUMER, NULL);
	ASSERT_NE(NULL, c);
	ivshm_chan_close(p);
	ivshm_chan_close(c);
	EXPECT_EQ(1, nchans(self->r));

	/* the peer never attached: kept (it may come for the messages) */
	p = ivshm_chan_create(self->r, "a", RING, IVSHM_CHAN_PRODUCER | AUTO,
			      NULL);
	ASSERT_NE(NULL, p);
	ASSERT_EQ(0, ivshm_chan_send(p, "hello", 6, 0));
	ivshm_chan_close(p);
	EXPECT_EQ(2, nchans(self->r));
	c = ivshm_chan_attach(self->r, "a", IVSHM_CHAN_CONSUMER, NULL);
	ASSERT_NE(NULL, c);
	EXPECT_EQ(6, ivshm_chan_recv(c, buf, sizeof(buf), 0));
	/* the consumer leaves and comes back while the producer is gone */
	ivshm_chan_close(c);
	EXPECT_EQ(1, nchans(self->r));
	errno = 0;
	EXPECT_EQ(NULL, ivshm_chan_attach(self->r, "a", IVSHM_CHAN_CONSUMER,
					  NULL));
	EXPECT_EQ(ENOENT, errno);

	/* one side leaves, the other stays: kept; a new one may take over */
	p = ivshm_chan_create(self->r, "b", RING, IVSHM_CHAN_PRODUCER | AUTO,
			      NULL);
	c = ivshm_chan_attach(self->r, "b", IVSHM_CHAN_CONSUMER, NULL);
	ASSERT_NE(NULL, c);
	ivshm_chan_close(c);
	EXPECT_EQ(2, nchans(self->r));
	c2 = ivshm_chan_attach(self->r, "b", IVSHM_CHAN_CONSUMER, NULL);
	ASSERT_NE(NULL, c2);
	ivshm_chan_close(p);
	EXPECT_EQ(2, nchans(self->r));
	EXPECT_EQ(0, ivshm_chan_send(p = ivshm_chan_attach(self->r, "b",
				IVSHM_CHAN_PRODUCER, NULL), "x", 1, 0));
	ivshm_chan_close(p);
	ivshm_chan_close(c2);
	EXPECT_EQ(1, nchans(self->r));
	/* its name is free again */
	p = ivshm_chan_create(self->r, "b", 1024, IVSHM_CHAN_PRODUCER, NULL);
	ASSERT_NE(NULL, p);
	ivshm_chan_close(p);
}

TEST_F(del, space_is_reused_by_best_fit_and_given_back_on_top)
{
	struct ivshm_rgn_hdr *h = hdr(self->mem);
	struct ivshm_region *peer = ivshm_region_open(self->mem, RSIZE);
	ssize_t avail = ivshm_region_avail(self->r);
	struct ivshm_chan *p, *c;
	uint64_t off_small;

	ASSERT_NE(NULL, peer);
	/* big (8 KiB) and small (1 KiB), then both deleted */
	p = ivshm_chan_create(self->r, "big", 8192, IVSHM_CHAN_PRODUCER | AUTO,
			      NULL);
	c = ivshm_chan_attach(peer, "big", IVSHM_CHAN_CONSUMER, NULL);
	ASSERT_NE(NULL, c);
	ASSERT_EQ(avail - (512 + 8192), ivshm_region_avail(self->r));
	ASSERT_EQ(0, cycle(self->r, peer, "small", 1024, IVSHM_CHAN_PRODUCER));
	off_small = h->desc[1].offset;
	ASSERT_EQ(avail - (512 + 8192) - (512 + 1024),
		  ivshm_region_avail(self->r));
	ivshm_chan_close(p);
	ivshm_chan_close(c);
	ASSERT_EQ(0, nchans(self->r));
	/* a 1 KiB channel takes the small space, not the big one */
	ASSERT_EQ(0, cycle(self->r, peer, "s2", 1024, IVSHM_CHAN_CONSUMER));
	EXPECT_EQ(off_small, h->desc[1].offset);
	EXPECT_EQ(avail - (512 + 8192) - (512 + 1024),
		  ivshm_region_avail(self->r));
	/* a 4 KiB one takes the big space */
	ASSERT_EQ(0, cycle(self->r, peer, "mid", 4096, IVSHM_CHAN_CONSUMER));
	EXPECT_EQ(avail - (512 + 8192) - (512 + 1024),
		  ivshm_region_avail(self->r));
	/* a 16 KiB one fits in neither: the top block (small) goes back */
	ASSERT_EQ(0, cycle(self->r, peer, "huge", 16384, IVSHM_CHAN_PRODUCER));
	EXPECT_EQ(off_small, h->desc[1].offset);
	EXPECT_EQ(avail - (512 + 8192) - (512 + 16384),
		  ivshm_region_avail(self->r));
	ivshm_region_close(peer);
}

TEST_F(del, forged_free_space_is_never_written)
{
	struct ivshm_rgn_hdr *h = hdr(self->mem);
	struct ivshm_region *peer = ivshm_region_open(self->mem, RSIZE);
	struct ivshm_chan *live, *c;
	uint64_t live_off;
	unsigned char *ring;
	int i;

	ASSERT_NE(NULL, peer);
	live = ivshm_chan_create(self->r, "live", RING, IVSHM_CHAN_PRODUCER,
				 NULL);
	ASSERT_NE(NULL, live);
	ASSERT_EQ(0, ivshm_chan_send(live, "payload", 8, 0));
	live_off = h->desc[0].offset;
	ring = self->mem + live_off;

	/* free slots that claim space: over "live", outside, misaligned */
	for (i = 1; i < IVSHM_CHAN_MAX; i++) {
		struct ivshm_rgn_desc *d = &h->desc[i];

		d->state = IVSHM_DESC_WORD(5, IVSHM_DESC_FREE);
		switch (i % 5) {
		case 0: d->offset = live_off; d->extent = AREA; break;
		case 1: d->offset = live_off + 512; d->extent = 2 * AREA;
			break;
		case 2: d->offset = RSIZE - 64; d->extent = AREA; break;
		case 3: d->offset = UINT64_MAX - 4095; d->extent = 8192;
			break;
		default: d->offset = live_off + 8; d->extent = AREA; break;
		}
	}
	/* every creation must avoid them: new space, or no slot at all */
	for (i = 0; i < 6; i++) {
		char name[8];

		snprintf(name, sizeof(name), "n%d", i);
		c = ivshm_chan_create(self->r, name, RING, IVSHM_CHAN_PRODUCER,
				      NULL);
		if (!c) {
			EXPECT_TRUE(errno == ENOSPC || errno == EPROTO);
			break;
		}
		EXPECT_EQ(0, ivshm_chan_send(c, "new", 4, 0));
		ivshm_chan_close(c);
	}
	/* "live" is intact */
	EXPECT_EQ(IVSHM_CHN_MAGIC, ((struct ivshm_chn_hdr *)ring)->magic);
	c = ivshm_chan_attach(peer, "live", IVSHM_CHAN_CONSUMER, NULL);
	ASSERT_NE(NULL, c);
	{
		char buf[16];

		EXPECT_EQ(8, ivshm_chan_recv(c, buf, sizeof(buf), 0));
		EXPECT_STREQ("payload", buf);
	}
	ivshm_chan_close(c);
	ivshm_chan_close(live);
	ivshm_region_close(peer);
}

/* ---- the last close against an attach -------------------------------- */

struct race {
	unsigned char *mem;
	atomic_int phase;
	atomic_int ready;
	int delay;
	struct ivshm_chan *got;
	int err;
};

static void *late_attacher(void *arg)
{
	struct race *t = arg;
	struct ivshm_region *r = ivshm_region_open(t->mem, RSIZE);

	atomic_store(&t->ready, 1);
	while (atomic_load(&t->phase) == 0)
		sched_yield();
	t->got = ivshm_chan_attach(r, "race", IVSHM_CHAN_CONSUMER, NULL);
	t->err = t->got ? 0 : errno;
	ivshm_region_close(r);
	return NULL;
}

TEST_F(del, attach_racing_with_the_last_close)
{
	int i, kept = 0, gone = 0;
	ssize_t ret;

	for (i = 0; i < 1000; i++) {
		struct ivshm_chan *p, *c;
		pthread_t th;
		struct race t = { .mem = self->mem, .delay = (i * 37) % 4000 };

		p = ivshm_chan_create(self->r, "race", 1024,
				      IVSHM_CHAN_PRODUCER | AUTO, NULL);
		ASSERT_NE(NULL, p);
		c = ivshm_chan_attach(self->r, "race", IVSHM_CHAN_CONSUMER,
				      NULL);
		ASSERT_NE(NULL, c);
		ivshm_chan_close(c);
		ASSERT_EQ(0, pthread_create(&th, NULL, late_attacher, &t));
		while (!atomic_load(&t.ready))
			sched_yield();
		atomic_store(&t.phase, 1);
		/* close at a different point of the attach each round */
		for (volatile int k = 0; k < t.delay; k++)
			;
		ivshm_chan_close(p);
		pthread_join(th, NULL);
		if (t.got) {
			/* it attached in time: the channel must still be there */
			kept++;
			ASSERT_EQ(1, nchans(self->r)) TH_LOG("round %d", i);
			ret = ivshm_chan_recv(t.got, NULL, 0, 0);
			EXPECT_TRUE(ret == -EAGAIN || ret == -EPIPE);
			/* the last to leave now frees it */
			ivshm_chan_close(t.got);
		} else {
			gone++;
			ASSERT_TRUE(t.err == ENOENT || t.err == EAGAIN)
				TH_LOG("round %d: errno %d", i, t.err);
		}
		ASSERT_EQ(0, nchans(self->r)) TH_LOG("round %d", i);
	}
	TH_LOG("attached in time %d, too late %d", kept, gone);
}

TEST_HARNESS_MAIN
