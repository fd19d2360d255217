// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * libivshm message rings: a side replaced while it is still alive.
 *
 * After IVSHM_CHAN_TAKEOVER (a new attach of the same role) or
 * IVSHM_CHAN_RESET (a new generation), the old handle must fail with
 * -ECONNRESET at its next call, and nothing it does may reach the new
 * generation: no message published, no space freed, no ring space handed
 * out to write.  A reservation made before the takeover and committed
 * after it is dropped.
 */
#include <errno.h>
#include <stdint.h>
#include <string.h>
#include <sys/mman.h>

#include "kselftest_harness.h"
#include "ivshm.h"

#define RSIZE	(1u << 20)

FIXTURE(tk) {
	void *base;
	struct ivshm_region *r;
	struct ivshm_chan *p, *c;
};

FIXTURE_SETUP(tk)
{
	self->base = mmap(NULL, RSIZE, PROT_READ | PROT_WRITE,
			  MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(MAP_FAILED, self->base);
	self->r = ivshm_region_format(self->base, RSIZE);
	ASSERT_NE(NULL, self->r);
	self->p = ivshm_chan_create(self->r, "tk", 4096, IVSHM_CHAN_PRODUCER,
				    NULL);
	ASSERT_NE(NULL, self->p);
	self->c = ivshm_chan_attach(self->r, "tk", IVSHM_CHAN_CONSUMER, NULL);
	ASSERT_NE(NULL, self->c);
}

FIXTURE_TEARDOWN(tk)
{
	ivshm_chan_close(self->p);
	ivshm_chan_close(self->c);
	ivshm_region_close(self->r);
	munmap(self->base, RSIZE);
}

static int send_str(struct ivshm_chan *p, const char *s)
{
	return ivshm_chan_send(p, s, strlen(s) + 1, 0);
}

/* The next message, or "" if none. */
static const char *next(struct ivshm_chan *c)
{
	static char buf[64];
	ssize_t n = ivshm_chan_recv(c, buf, sizeof(buf), 0);

	return n > 0 ? buf : "";
}

/* A live old producer: every call fails, nothing reaches the consumer. */
TEST_F(tk, old_producer_after_takeover)
{
	struct ivshm_chan *p2;
	struct iovec iov = { "many", 5 };
	void *w;

	ASSERT_EQ(0, send_str(self->p, "before"));
	p2 = ivshm_chan_attach(self->r, "tk",
			       IVSHM_CHAN_PRODUCER | IVSHM_CHAN_TAKEOVER, NULL);
	ASSERT_NE(NULL, p2);

	EXPECT_EQ(-ECONNRESET, send_str(self->p, "old"));
	/* sticky, and every entry point */
	EXPECT_EQ(-ECONNRESET, ivshm_chan_send_many(self->p, &iov, 1, 0));
	EXPECT_EQ(-ECONNRESET, ivshm_chan_reserve(self->p, 8, &w, 0));
	EXPECT_EQ(-ECONNRESET, ivshm_chan_commit(self->p));
	EXPECT_EQ(-ECONNRESET, ivshm_chan_arm(self->p));

	ASSERT_EQ(0, send_str(p2, "new"));
	EXPECT_STREQ("before", next(self->c));
	EXPECT_STREQ("new", next(self->c));
	EXPECT_STREQ("", next(self->c));
	ivshm_chan_close(p2);
}

/* Reserved before the takeover, committed after: dropped, not published. */
TEST_F(tk, reservation_across_takeover)
{
	struct ivshm_chan *p2;
	void *w;

	ASSERT_EQ(0, ivshm_chan_reserve(self->p, 4, &w, 0));
	memcpy(w, "old", 4);
	p2 = ivshm_chan_attach(self->r, "tk",
			       IVSHM_CHAN_PRODUCER | IVSHM_CHAN_TAKEOVER, NULL);
	ASSERT_NE(NULL, p2);
	EXPECT_EQ(-ECONNRESET, ivshm_chan_commit(self->p));
	EXPECT_STREQ("", next(self->c));
	ASSERT_EQ(0, send_str(p2, "new"));
	EXPECT_STREQ("new", next(self->c));
	EXPECT_STREQ("", next(self->c));
	ivshm_chan_close(p2);
}

/* A live old consumer frees nothing of the new consumer's. */
TEST_F(tk, old_consumer_after_takeover)
{
	struct ivshm_chan *c2;
	const void *d;
	size_t len;

	ASSERT_EQ(0, send_str(self->p, "one"));
	ASSERT_EQ(0, send_str(self->p, "two"));
	/* the old consumer holds "one", peeked but not released */
	ASSERT_EQ(0, ivshm_chan_peek(self->c, &d, &len, 0));
	c2 = ivshm_chan_attach(self->r, "tk",
			       IVSHM_CHAN_CONSUMER | IVSHM_CHAN_TAKEOVER, NULL);
	ASSERT_NE(NULL, c2);
	EXPECT_EQ(-ECONNRESET, ivshm_chan_release(self->c));
	EXPECT_STREQ("", next(self->c));
	EXPECT_EQ(-ECONNRESET, ivshm_chan_peek(self->c, &d, &len, 0));
	EXPECT_EQ(-ECONNRESET, ivshm_chan_arm(self->c));
	/* the new one gets both: the old release did not happen */
	EXPECT_STREQ("one", next(c2));
	EXPECT_STREQ("two", next(c2));
	EXPECT_STREQ("", next(c2));
	ivshm_chan_close(c2);
}

/* RESET: a new generation; the old producer must not write into it. */
TEST_F(tk, old_producer_after_reset)
{
	struct ivshm_chan *p2, *c2;

	ASSERT_EQ(0, send_str(self->p, "old gen"));
	ivshm_chan_close(self->c);
	self->c = NULL;
	p2 = ivshm_chan_create(self->r, "tk", 4096,
			       IVSHM_CHAN_PRODUCER | IVSHM_CHAN_RESET, NULL);
	ASSERT_NE(NULL, p2);
	c2 = ivshm_chan_attach(self->r, "tk", IVSHM_CHAN_CONSUMER, NULL);
	ASSERT_NE(NULL, c2);
	EXPECT_EQ(-ECONNRESET, send_str(self->p, "old"));
	EXPECT_STREQ("", next(c2));
	ASSERT_EQ(0, send_str(p2, "fresh"));
	EXPECT_STREQ("fresh", next(c2));
	EXPECT_STREQ("", next(c2));
	ivshm_chan_close(c2);
	ivshm_chan_close(p2);
}

TEST_HARNESS_MAIN
