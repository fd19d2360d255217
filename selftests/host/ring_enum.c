// SPDX-License-Identifier: GPL-2.0-only
/*
 * libivshm: ivshm_region_channels() - enumeration of a region's channels,
 * their state and attachments, and what it reports for corrupt entries.
 * The region is surrounded by PROT_NONE guard pages.
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "kselftest_harness.h"
#include "ivshm.h"
#include "../../lib/ring_layout.h"

#define RSIZE	(256u << 10)
#define PAGE	4096u

FIXTURE(enumr) {
	unsigned char *mem;
	struct ivshm_region *r;
};

FIXTURE_SETUP(enumr)
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

FIXTURE_TEARDOWN(enumr)
{
	ivshm_region_close(self->r);
	munmap(self->mem - PAGE, RSIZE + 2 * PAGE);
}

static struct ivshm_rgn_hdr *hdr(unsigned char *mem)
{
	return (struct ivshm_rgn_hdr *)mem;
}

TEST_F(enumr, empty_and_args)
{
	struct ivshm_chan_info ci[2] = { { .size = sizeof(ci[0]) } };
	struct ivshm_region *r;

	EXPECT_EQ(0, ivshm_region_channels(self->r, ci, 2));
	EXPECT_EQ(0, ivshm_region_channels(self->r, NULL, 0));
	EXPECT_EQ(-EINVAL, ivshm_region_channels(NULL, ci, 2));
	EXPECT_EQ(-EINVAL, ivshm_region_channels(self->r, NULL, 1));

	/* unformatted and bad headers, through a handle opened earlier */
	r = ivshm_region_open(self->mem, RSIZE);
	ASSERT_NE(NULL, r);
	atomic_store(&hdr(self->mem)->magic, 0);
	EXPECT_EQ(-EAGAIN, ivshm_region_channels(r, ci, 2));
	atomic_store(&hdr(self->mem)->magic, 0x1234);
	EXPECT_EQ(-EPROTO, ivshm_region_channels(r, ci, 2));
	atomic_store(&hdr(self->mem)->magic, IVSHM_RGN_MAGIC);
	hdr(self->mem)->version = 99;
	EXPECT_EQ(-EPROTONOSUPPORT, ivshm_region_channels(r, ci, 2));
	hdr(self->mem)->version = IVSHM_RING_VERSION;
	EXPECT_EQ(0, ivshm_region_channels(r, ci, 2));
	ivshm_region_close(r);
}

TEST_F(enumr, states_and_attachments)
{
	struct ivshm_chan *p, *c, *q;
	struct ivshm_chan_info ci[4] = { { .size = sizeof(ci[0]) } };
	char msg[100] = "hello";

	p = ivshm_chan_create(self->r, "alpha", 4096, IVSHM_CHAN_PRODUCER,
			      NULL);
	ASSERT_NE(NULL, p);
	q = ivshm_chan_create(self->r, "beta", 1024, IVSHM_CHAN_CONSUMER,
			      NULL);
	ASSERT_NE(NULL, q);

	ASSERT_EQ(2, ivshm_region_channels(self->r, ci, 4));
	EXPECT_STREQ("alpha", ci[0].name);
	EXPECT_EQ(0, ci[0].slot);
	EXPECT_EQ(IVSHM_CHAN_STATE_READY, ci[0].state);
	EXPECT_EQ(IVSHM_CHAN_INFO_PRODUCER, ci[0].flags);
	EXPECT_EQ(4096, ci[0].ring_size);
	EXPECT_EQ(1024, ci[0].max_msg);
	EXPECT_EQ(0, ci[0].queued);
	EXPECT_EQ(0, ci[0].offset % 64);
	EXPECT_LE(IVSHM_REGION_HDR_SIZE, ci[0].offset);
	EXPECT_STREQ("beta", ci[1].name);
	EXPECT_EQ(1, ci[1].slot);
	EXPECT_EQ(IVSHM_CHAN_INFO_CONSUMER, ci[1].flags);
	EXPECT_EQ(1024, ci[1].ring_size);

	/* queued bytes: one 100-byte message is an 8-byte header + 104 */
	ASSERT_EQ(0, ivshm_chan_send(p, msg, sizeof(msg), 0));
	c = ivshm_chan_attach(self->r, "alpha", IVSHM_CHAN_CONSUMER, NULL);
	ASSERT_NE(NULL, c);
	ASSERT_EQ(2, ivshm_region_channels(self->r, ci, 4));
	EXPECT_EQ(IVSHM_CHAN_INFO_PRODUCER | IVSHM_CHAN_INFO_CONSUMER,
		  ci[0].flags);
	EXPECT_EQ(8 + 104, ci[0].queued);

	/* detach: LEFT flags; drained: nothing queued */
	ivshm_chan_close(p);
	ASSERT_EQ(2, ivshm_region_channels(self->r, ci, 4));
	EXPECT_EQ(IVSHM_CHAN_INFO_PRODUCER_LEFT | IVSHM_CHAN_INFO_CONSUMER,
		  ci[0].flags);
	EXPECT_EQ(100, ivshm_chan_recv(c, msg, sizeof(msg), 0));
	ivshm_chan_close(c);
	ivshm_chan_close(q);
	ASSERT_EQ(2, ivshm_region_channels(self->r, ci, 4));
	EXPECT_EQ(IVSHM_CHAN_INFO_PRODUCER_LEFT | IVSHM_CHAN_INFO_CONSUMER_LEFT,
		  ci[0].flags);
	EXPECT_EQ(0, ci[0].queued);
	EXPECT_EQ(IVSHM_CHAN_INFO_CONSUMER_LEFT, ci[1].flags);

	/* truncation: the count is still the total */
	memset(ci, 0xaa, sizeof(ci));
	EXPECT_EQ(2, ivshm_region_channels(self->r, ci, 1));
	EXPECT_STREQ("alpha", ci[0].name);
	EXPECT_EQ(0xaaaaaaaau, ci[1].slot);

	/* re-creation bumps the generation */
	p = ivshm_chan_create(self->r, "alpha", 4096,
			      IVSHM_CHAN_PRODUCER | IVSHM_CHAN_RESET, NULL);
	ASSERT_NE(NULL, p);
	ASSERT_EQ(2, ivshm_region_channels(self->r, ci, 4));
	EXPECT_EQ(2, ci[0].generation);
	EXPECT_EQ(IVSHM_CHAN_INFO_PRODUCER, ci[0].flags);
	ivshm_chan_close(p);
}

TEST_F(enumr, full_table)
{
	struct ivshm_chan_info ci[IVSHM_CHAN_MAX] = { { .size = sizeof(ci[0]) } };
	struct ivshm_chan *c;
	char name[IVSHM_CHAN_NAME_MAX];
	int i;

	for (i = 0; i < IVSHM_CHAN_MAX; i++) {
		snprintf(name, sizeof(name), "chan-%02d-%s", i,
			 "padding-up-to-31-bytes!");
		c = ivshm_chan_create(self->r, name, 256, IVSHM_CHAN_PRODUCER,
				      NULL);
		ASSERT_NE(NULL, c);
		ivshm_chan_close(c);
	}
	ASSERT_EQ(IVSHM_CHAN_MAX,
		  ivshm_region_channels(self->r, ci, IVSHM_CHAN_MAX));
	for (i = 0; i < IVSHM_CHAN_MAX; i++) {
		snprintf(name, sizeof(name), "chan-%02d-%s", i,
			 "padding-up-to-31-bytes!");
		EXPECT_STREQ(name, ci[i].name);
		EXPECT_EQ(31, strlen(ci[i].name));
		EXPECT_EQ((uint32_t)i, ci[i].slot);
		EXPECT_EQ(IVSHM_CHAN_STATE_READY, ci[i].state);
	}
}

/* A hostile peer's table: every kind of damage is BAD, never a crash. */
TEST_F(enumr, corrupt_entries)
{
	struct ivshm_rgn_hdr *h = hdr(self->mem);
	struct ivshm_chan_info ci[8] = { { .size = sizeof(ci[0]) } };
	struct ivshm_chn_hdr *ch;
	struct ivshm_chan *c;
	int i;

	for (i = 0; i < 7; i++) {
		char name[8];

		snprintf(name, sizeof(name), "c%d", i);
		c = ivshm_chan_create(self->r, name, 256, IVSHM_CHAN_PRODUCER,
				      NULL);
		ASSERT_NE(NULL, c);
		ivshm_chan_close(c);
	}
	memset(h->desc[0].name, 'x', IVSHM_RGN_NAME_LEN);	/* no NUL */
	h->desc[1].offset = RSIZE - 64;				/* outside */
	h->desc[2].offset = h->desc[3].offset;			/* overlap */
	ch = (struct ivshm_chn_hdr *)(self->mem + h->desc[4].offset);
	ch->magic = 0;						/* header */
	ch = (struct ivshm_chn_hdr *)(self->mem + h->desc[5].offset);
	atomic_store(&ch->prod_idx, 4096);			/* index */
	atomic_store(&h->desc[6].state, IVSHM_DESC_WORD(1, 7));	/* state */

	ASSERT_EQ(7, ivshm_region_channels(self->r, ci, 8));
	EXPECT_STREQ("", ci[0].name);
	for (i = 0; i < 7; i++) {
		EXPECT_EQ(IVSHM_CHAN_STATE_BAD, ci[i].state)
			TH_LOG("entry %d", i);
		EXPECT_EQ(0, ci[i].ring_size);
		EXPECT_EQ(0, ci[i].flags);
	}
	/* an entry being created */
	atomic_store(&h->desc[6].state, IVSHM_DESC_WORD(1, IVSHM_DESC_INIT));
	ASSERT_EQ(7, ivshm_region_channels(self->r, ci, 8));
	EXPECT_EQ(IVSHM_CHAN_STATE_INIT, ci[6].state);
	EXPECT_STREQ("c6", ci[6].name);
	/* freed entries are skipped */
	atomic_store(&h->desc[0].state, IVSHM_DESC_WORD(2, IVSHM_DESC_FREE));
	ASSERT_EQ(6, ivshm_region_channels(self->r, ci, 8));
	EXPECT_EQ(1, ci[0].slot);
}

TEST_HARNESS_MAIN
