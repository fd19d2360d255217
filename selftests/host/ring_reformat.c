// SPDX-License-Identifier: GPL-2.0-only
/*
 * libivshm: formatting a region again under live handles.  Every call of
 * a channel handle made before the format fails with -ESTALE (sticky), and
 * nothing it does reaches the channel of the same name created after it:
 * no message of the old producer is delivered, closing the old handles
 * writes nothing.  Old region handles get -ESTALE too.  (Before the
 * region generation, the new channel delivered the old producer's
 * messages and the old handles went on as if nothing happened.)
 */
#include <errno.h>
#include <stdatomic.h>
#include <stdint.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/uio.h>

#include "kselftest_harness.h"
#include "ivshm.h"
#include "../../lib/ring_layout.h"

#define RSIZE	(256u << 10)
#define RING	4096u

FIXTURE(reformat) {
	unsigned char *mem;
	struct ivshm_region *r;		/* the first format's handle */
	struct ivshm_chan *p, *c;	/* its channel "ch" */
};

FIXTURE_SETUP(reformat)
{
	char buf[16];

	self->mem = mmap(NULL, RSIZE, PROT_READ | PROT_WRITE,
			 MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(MAP_FAILED, self->mem);
	self->r = ivshm_region_format(self->mem, RSIZE);
	ASSERT_NE(NULL, self->r);
	self->p = ivshm_chan_create(self->r, "ch", RING, IVSHM_CHAN_PRODUCER,
				    NULL);
	ASSERT_NE(NULL, self->p);
	self->c = ivshm_chan_attach(self->r, "ch", IVSHM_CHAN_CONSUMER, NULL);
	ASSERT_NE(NULL, self->c);
	ASSERT_EQ(0, ivshm_chan_send(self->p, "one", 4, 0));
	ASSERT_EQ(4, ivshm_chan_recv(self->c, buf, sizeof(buf), 0));
}

FIXTURE_TEARDOWN(reformat)
{
	ivshm_chan_close(self->p);
	ivshm_chan_close(self->c);
	ivshm_region_close(self->r);
	munmap(self->mem, RSIZE);
}

static int nop(const void *d, size_t len, void *arg)
{
	return 0;
}

TEST_F(reformat, old_handles_get_estale_and_reach_nothing)
{
	struct ivshm_chan *p2, *c2;
	struct ivshm_region *r2;
	struct ivshm_chn_hdr *h;
	struct iovec iov = { "x", 1 };
	const void *d;
	size_t len;
	char buf[16];
	void *w;

	/* a message queued, one reserved, one peeked, when the format hits */
	ASSERT_EQ(0, ivshm_chan_send(self->p, "two", 4, 0));
	ASSERT_EQ(0, ivshm_chan_send(self->p, "three", 6, 0));
	ASSERT_EQ(0, ivshm_chan_peek(self->c, &d, &len, 0));
	ASSERT_EQ(0, ivshm_chan_reserve(self->p, 8, &w, 0));

	r2 = ivshm_region_format(self->mem, RSIZE);
	ASSERT_NE(NULL, r2);
	c2 = ivshm_chan_create(r2, "ch", RING, IVSHM_CHAN_CONSUMER, NULL);
	ASSERT_NE(NULL, c2);
	/* the new channel sits where the old one was */
	h = (struct ivshm_chn_hdr *)(self->mem +
				     ((struct ivshm_rgn_hdr *)self->mem)->desc[0].offset);

	/* every call of the old handles, then again (sticky) */
	EXPECT_EQ(-ESTALE, ivshm_chan_commit(self->p));
	EXPECT_EQ(-ESTALE, ivshm_chan_send(self->p, "old", 4, 0));
	EXPECT_EQ(-ESTALE, ivshm_chan_send_many(self->p, &iov, 1, 0));
	EXPECT_EQ(-ESTALE, ivshm_chan_reserve(self->p, 8, &w, 0));
	EXPECT_EQ(-ESTALE, ivshm_chan_abort(self->p));
	EXPECT_EQ(-ESTALE, ivshm_chan_arm(self->p));
	EXPECT_EQ(-ESTALE, ivshm_chan_release(self->c));
	EXPECT_EQ(-ESTALE, ivshm_chan_recv(self->c, buf, sizeof(buf), 0));
	EXPECT_EQ(-ESTALE, ivshm_chan_peek(self->c, &d, &len, 0));
	EXPECT_EQ(-ESTALE, ivshm_chan_recv_many(self->c, nop, NULL, 4, 0));
	EXPECT_EQ(-ESTALE, ivshm_chan_arm(self->c));

	/* the old region handle too */
	EXPECT_EQ(-ESTALE, ivshm_region_avail(self->r));
	errno = 0;
	EXPECT_EQ(NULL, ivshm_chan_attach(self->r, "ch", IVSHM_CHAN_PRODUCER,
					  NULL));
	EXPECT_EQ(ESTALE, errno);

	/* closing the old handles writes nothing into the new channel */
	ivshm_chan_close(self->p);
	ivshm_chan_close(self->c);
	self->p = self->c = NULL;
	EXPECT_EQ(0, atomic_load(&h->prod_evt.epoch));
	EXPECT_EQ(1, atomic_load(&h->cons_evt.epoch));

	/* the new channel starts empty and works */
	EXPECT_EQ(-EAGAIN, ivshm_chan_recv(c2, buf, sizeof(buf), 0));
	p2 = ivshm_chan_attach(r2, "ch", IVSHM_CHAN_PRODUCER, NULL);
	ASSERT_NE(NULL, p2);
	EXPECT_EQ(-EAGAIN, ivshm_chan_recv(c2, buf, sizeof(buf), 0));
	EXPECT_EQ(0, ivshm_chan_send(p2, "new", 4, 0));
	EXPECT_EQ(4, ivshm_chan_recv(c2, buf, sizeof(buf), 0));
	EXPECT_STREQ("new", buf);
	ivshm_chan_close(p2);
	ivshm_chan_close(c2);
	ivshm_region_close(r2);
}

TEST_F(reformat, a_handle_opened_after_the_format_is_current)
{
	struct ivshm_region *r2, *r3;

	r2 = ivshm_region_format(self->mem, RSIZE);
	ASSERT_NE(NULL, r2);
	r3 = ivshm_region_open(self->mem, RSIZE);
	ASSERT_NE(NULL, r3);
	EXPECT_LT(0, ivshm_region_avail(r3));
	EXPECT_EQ(-ESTALE, ivshm_region_avail(self->r));
	/* formatting through an old handle's memory again: both stale */
	ivshm_region_close(ivshm_region_format(self->mem, RSIZE));
	EXPECT_EQ(-ESTALE, ivshm_region_avail(r2));
	EXPECT_EQ(-ESTALE, ivshm_region_avail(r3));
	ivshm_region_close(r2);
	ivshm_region_close(r3);
}

TEST_HARNESS_MAIN
