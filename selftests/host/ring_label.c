// SPDX-License-Identifier: GPL-2.0-only
/*
 * libivshm: the region label (ivshm_region_set_label/ivshm_region_label):
 * set and read back from both sides, labels refused, corrupt label bytes
 * and offsets in shared memory (-EPROTO), no label (-ENODATA).  The region
 * is surrounded by PROT_NONE guard pages, so any access outside it kills
 * the test.
 */
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "kselftest_harness.h"
#include "ivshm.h"
#include "../../lib/ring_layout.h"

#define RSIZE	(256u << 10)
#define PAGE	4096u
#define FIRST	4160u	/* first allocatable offset: 64 + 64 * 64 */

FIXTURE(label) {
	unsigned char *mem;
	struct ivshm_region *r;
};

FIXTURE_SETUP(label)
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

FIXTURE_TEARDOWN(label)
{
	ivshm_region_close(self->r);
	munmap(self->mem - PAGE, RSIZE + 2 * PAGE);
}

static struct ivshm_rgn_hdr *hdr(unsigned char *mem)
{
	return (struct ivshm_rgn_hdr *)mem;
}

static uint64_t label_off(unsigned char *mem)
{
	return atomic_load(&hdr(mem)->label_off);
}

static struct ivshm_rgn_label *block(unsigned char *mem)
{
	return (struct ivshm_rgn_label *)(mem + label_off(mem));
}

/* Only [A-Za-z0-9._-], 1..31 of them, NUL-terminated. */
static int charset_ok(const char *s, ssize_t n)
{
	if (n < 1 || n > 31 || (ssize_t)strlen(s) != n)
		return 0;
	return strspn(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
			 "0123456789._-") == (size_t)n;
}

TEST_F(label, none_after_format)
{
	char buf[IVSHM_REGION_LABEL_MAX];

	EXPECT_EQ(0, label_off(self->mem));
	EXPECT_EQ(-ENODATA, ivshm_region_label(self->r, buf, sizeof(buf)));
}

TEST_F(label, set_and_get_both_sides)
{
	char buf[IVSHM_REGION_LABEL_MAX];
	struct ivshm_region *peer;
	ssize_t avail;

	avail = ivshm_region_avail(self->r);
	ASSERT_EQ(0, ivshm_region_set_label(self->r, "demo-plain"));
	EXPECT_EQ(avail - 64, ivshm_region_avail(self->r));
	EXPECT_EQ(FIRST, label_off(self->mem));
	EXPECT_EQ(IVSHM_LBL_MAGIC, block(self->mem)->magic);

	memset(buf, 'x', sizeof(buf));
	EXPECT_EQ(10, ivshm_region_label(self->r, buf, sizeof(buf)));
	EXPECT_STREQ("demo-plain", buf);

	/* the other side, through its own handle */
	peer = ivshm_region_open(self->mem, RSIZE);
	ASSERT_NE(NULL, peer);
	memset(buf, 0, sizeof(buf));
	EXPECT_EQ(10, ivshm_region_label(peer, buf, sizeof(buf)));
	EXPECT_STREQ("demo-plain", buf);

	/* buffer sizes: exactly enough, one short */
	EXPECT_EQ(10, ivshm_region_label(peer, buf, 11));
	EXPECT_EQ(-ERANGE, ivshm_region_label(peer, buf, 10));
	EXPECT_EQ(-ERANGE, ivshm_region_label(peer, buf, 0));
	EXPECT_EQ(-EINVAL, ivshm_region_label(peer, NULL, 32));
	EXPECT_EQ(-EINVAL, ivshm_region_label(NULL, buf, 32));
	ivshm_region_close(peer);

	/* the same label again uses no space; a new one uses a new block */
	avail = ivshm_region_avail(self->r);
	EXPECT_EQ(0, ivshm_region_set_label(self->r, "demo-plain"));
	EXPECT_EQ(avail, ivshm_region_avail(self->r));
	EXPECT_EQ(0, ivshm_region_set_label(self->r, "other.name_2"));
	EXPECT_EQ(avail - 64, ivshm_region_avail(self->r));
	EXPECT_EQ(FIRST + 64, label_off(self->mem));
	EXPECT_EQ(12, ivshm_region_label(self->r, buf, sizeof(buf)));
	EXPECT_STREQ("other.name_2", buf);
	/* the old block is left as it was (readers may still copy it) */
	EXPECT_STREQ("demo-plain",
		     ((struct ivshm_rgn_label *)(self->mem + FIRST))->label);

	/* formatting again removes it */
	ivshm_region_close(self->r);
	self->r = ivshm_region_format(self->mem, RSIZE);
	ASSERT_NE(NULL, self->r);
	EXPECT_EQ(-ENODATA, ivshm_region_label(self->r, buf, sizeof(buf)));
}

TEST_F(label, longest_and_edge_characters)
{
	char buf[IVSHM_REGION_LABEL_MAX];
	const char *l31 = "Aa0._-bcdefghijklmnopqrstuvwxyZ";

	ASSERT_EQ(31, strlen(l31));
	ASSERT_EQ(0, ivshm_region_set_label(self->r, l31));
	EXPECT_EQ(31, ivshm_region_label(self->r, buf, sizeof(buf)));
	EXPECT_STREQ(l31, buf);
	ASSERT_EQ(0, ivshm_region_set_label(self->r, "..."));
	EXPECT_EQ(3, ivshm_region_label(self->r, buf, sizeof(buf)));
	ASSERT_EQ(0, ivshm_region_set_label(self->r, ".x"));
	ASSERT_EQ(0, ivshm_region_set_label(self->r, "-"));
	EXPECT_EQ(1, ivshm_region_label(self->r, buf, sizeof(buf)));
	EXPECT_STREQ("-", buf);
}

TEST_F(label, bad_labels_refused)
{
	static const char *const bad[] = {
		"", ".", "..", "a b", "a/b", "../x", "x\n", "tab\t",
		"caf\xc3\xa9", "a*", "$x", "a:b", "a\\b",
		"Aa0._-bcdefghijklmnopqrstuvwxyZ0",	/* 32 bytes */
	};
	char buf[IVSHM_REGION_LABEL_MAX], big[100];
	ssize_t avail = ivshm_region_avail(self->r);
	unsigned int i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		EXPECT_EQ(-EINVAL, ivshm_region_set_label(self->r, bad[i]))
			TH_LOG("label \"%s\"", bad[i]);
	}
	memset(big, 'a', sizeof(big) - 1);
	big[sizeof(big) - 1] = 0;
	EXPECT_EQ(-EINVAL, ivshm_region_set_label(self->r, big));
	EXPECT_EQ(-EINVAL, ivshm_region_set_label(self->r, NULL));
	EXPECT_EQ(-EINVAL, ivshm_region_set_label(NULL, "x"));
	/* nothing was written or allocated */
	EXPECT_EQ(avail, ivshm_region_avail(self->r));
	EXPECT_EQ(0, label_off(self->mem));
	EXPECT_EQ(-ENODATA, ivshm_region_label(self->r, buf, sizeof(buf)));
}

TEST_F(label, with_channels)
{
	char buf[IVSHM_REGION_LABEL_MAX];
	struct ivshm_chan *a, *b, *c;

	a = ivshm_chan_create(self->r, "a", 4096, IVSHM_CHAN_PRODUCER, NULL);
	ASSERT_NE(NULL, a);
	ASSERT_EQ(0, ivshm_region_set_label(self->r, "with-chans"));
	EXPECT_EQ(FIRST + 512 + 4096, label_off(self->mem));
	b = ivshm_chan_create(self->r, "b", 4096, IVSHM_CHAN_PRODUCER, NULL);
	ASSERT_NE(NULL, b);
	c = ivshm_chan_attach(self->r, "b", IVSHM_CHAN_CONSUMER, NULL);
	ASSERT_NE(NULL, c);
	EXPECT_EQ(0, ivshm_chan_send(b, "hello", 5, 0));
	EXPECT_EQ(5, ivshm_chan_recv(c, buf, sizeof(buf), 0));
	EXPECT_EQ(10, ivshm_region_label(self->r, buf, sizeof(buf)));
	EXPECT_STREQ("with-chans", buf);
	ivshm_chan_close(a);
	ivshm_chan_close(b);
	ivshm_chan_close(c);
}

TEST_F(label, no_room)
{
	char buf[IVSHM_REGION_LABEL_MAX];
	struct ivshm_region *r;

	/* room for the header and 63 more bytes only */
	r = ivshm_region_format(self->mem, FIRST + 63);
	ASSERT_NE(NULL, r);
	EXPECT_EQ(-ENOSPC, ivshm_region_set_label(r, "x"));
	EXPECT_EQ(-ENODATA, ivshm_region_label(r, buf, sizeof(buf)));
	ivshm_region_close(r);

	/* exactly one block fits */
	r = ivshm_region_format(self->mem, FIRST + 64);
	ASSERT_NE(NULL, r);
	EXPECT_EQ(0, ivshm_region_set_label(r, "x"));
	EXPECT_EQ(-ENOSPC, ivshm_region_set_label(r, "y"));
	EXPECT_EQ(1, ivshm_region_label(r, buf, sizeof(buf)));
	EXPECT_STREQ("x", buf);
	ivshm_region_close(r);
}

TEST_F(label, corrupt_label_bytes)
{
	char buf[IVSHM_REGION_LABEL_MAX];
	struct ivshm_rgn_label *b;
	struct ivshm_region *peer;

	ASSERT_EQ(0, ivshm_region_set_label(self->r, "good"));
	peer = ivshm_region_open(self->mem, RSIZE);
	ASSERT_NE(NULL, peer);
	b = block(self->mem);

#define EXPECT_PROTO() do {						\
		memset(buf, 'x', sizeof(buf));				\
		EXPECT_EQ(-EPROTO, ivshm_region_label(peer, buf,	\
						      sizeof(buf)));	\
		EXPECT_EQ('x', buf[0]);	/* nothing copied out */	\
	} while (0)

	/* no NUL within the 32 bytes */
	memset(b->label, 'a', sizeof(b->label));
	EXPECT_PROTO();
	/* empty */
	memset(b->label, 0, sizeof(b->label));
	EXPECT_PROTO();
	/* characters outside [A-Za-z0-9._-] */
	strcpy(b->label, "../../etc");
	EXPECT_PROTO();
	strcpy(b->label, "a b");
	EXPECT_PROTO();
	strcpy(b->label, "x\xff");
	EXPECT_PROTO();
	strcpy(b->label, "..");
	EXPECT_PROTO();
	strcpy(b->label, ".");
	EXPECT_PROTO();
	/* a valid one again */
	strcpy(b->label, "fine");
	EXPECT_EQ(4, ivshm_region_label(peer, buf, sizeof(buf)));
	EXPECT_STREQ("fine", buf);
	/* bytes after the NUL are not part of the label */
	memcpy(b->label, "ok\0/ /", 7);
	EXPECT_EQ(2, ivshm_region_label(peer, buf, sizeof(buf)));
	EXPECT_STREQ("ok", buf);
	/* wrong magic */
	b->magic ^= 1;
	EXPECT_PROTO();
	b->magic ^= 1;
	EXPECT_EQ(2, ivshm_region_label(peer, buf, sizeof(buf)));

	/* set_label replaces a corrupt label */
	b->magic = 0;
	EXPECT_EQ(0, ivshm_region_set_label(self->r, "repaired"));
	EXPECT_EQ(8, ivshm_region_label(peer, buf, sizeof(buf)));
	EXPECT_STREQ("repaired", buf);
	ivshm_region_close(peer);
#undef EXPECT_PROTO
}

TEST_F(label, corrupt_label_offset)
{
	static const uint64_t bad[] = {
		8, 64, FIRST - 64, FIRST + 1, FIRST + 8, FIRST + 32,
		RSIZE - 32, RSIZE, RSIZE + 64, 1ull << 40,
		UINT64_MAX - 63, UINT64_MAX,
	};
	char buf[IVSHM_REGION_LABEL_MAX];
	struct ivshm_rgn_label *b;
	unsigned int i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		atomic_store(&hdr(self->mem)->label_off, bad[i]);
		EXPECT_EQ(-EPROTO, ivshm_region_label(self->r, buf,
						      sizeof(buf)))
			TH_LOG("label_off %#llx", (unsigned long long)bad[i]);
	}

	/* the last 64 bytes of the region are a valid place */
	b = (struct ivshm_rgn_label *)(self->mem + RSIZE - 64);
	b->magic = IVSHM_LBL_MAGIC;
	strcpy(b->label, "at-the-end");
	atomic_store(&hdr(self->mem)->label_off, RSIZE - 64);
	EXPECT_EQ(10, ivshm_region_label(self->r, buf, sizeof(buf)));
	EXPECT_STREQ("at-the-end", buf);

	/* ... but not when the header says the region is smaller */
	hdr(self->mem)->region_size = RSIZE - 64;
	EXPECT_EQ(-EPROTO, ivshm_region_label(self->r, buf, sizeof(buf)));
	hdr(self->mem)->region_size = RSIZE;

	/* set_label checks alloc_next before using it */
	atomic_store(&hdr(self->mem)->alloc_next, RSIZE + 64);
	EXPECT_EQ(-EPROTO, ivshm_region_set_label(self->r, "x"));
	atomic_store(&hdr(self->mem)->alloc_next, 0);
	EXPECT_EQ(-EPROTO, ivshm_region_set_label(self->r, "x"));
}

TEST_F(label, region_header_errors)
{
	char buf[IVSHM_REGION_LABEL_MAX];

	ASSERT_EQ(0, ivshm_region_set_label(self->r, "hdr"));
	atomic_store(&hdr(self->mem)->magic, 0);
	EXPECT_EQ(-EAGAIN, ivshm_region_label(self->r, buf, sizeof(buf)));
	EXPECT_EQ(-EAGAIN, ivshm_region_set_label(self->r, "x"));
	atomic_store(&hdr(self->mem)->magic, 0x1234);
	EXPECT_EQ(-EPROTO, ivshm_region_label(self->r, buf, sizeof(buf)));
	atomic_store(&hdr(self->mem)->magic, IVSHM_RGN_MAGIC);
	hdr(self->mem)->version = IVSHM_RING_VERSION + 1;
	EXPECT_EQ(-EPROTONOSUPPORT,
		  ivshm_region_label(self->r, buf, sizeof(buf)));
	EXPECT_EQ(-EPROTONOSUPPORT, ivshm_region_set_label(self->r, "x"));
	hdr(self->mem)->version = IVSHM_RING_VERSION;
	EXPECT_EQ(3, ivshm_region_label(self->r, buf, sizeof(buf)));

	/* garbage that is not a region at all */
	memset(self->mem, 0xa5, FIRST);
	EXPECT_EQ(NULL, ivshm_region_open(self->mem, RSIZE));
	EXPECT_EQ(EPROTO, errno);
}

/* A peer rewriting the label block while we read it. */
static atomic_int stop;

static void *scribbler(void *arg)
{
	volatile unsigned char *p = arg;
	unsigned int x = 1;

	while (!atomic_load(&stop)) {
		x = x * 1103515245u + 12345u;
		p[8 + (x >> 8) % 32] = (unsigned char)(x >> 20);
	}
	return NULL;
}

TEST_F(label, hostile_writer_while_reading)
{
	char buf[IVSHM_REGION_LABEL_MAX];
	int ok = 0, proto = 0, i;
	pthread_t t;
	ssize_t n;

	ASSERT_EQ(0, ivshm_region_set_label(self->r, "start"));
	atomic_store(&stop, 0);
	ASSERT_EQ(0, pthread_create(&t, NULL, scribbler, block(self->mem)));
	for (i = 0; i < 200000; i++) {
		n = ivshm_region_label(self->r, buf, sizeof(buf));
		if (n == -EPROTO) {
			proto++;
			continue;
		}
		ok++;
		if (!charset_ok(buf, n)) {
			atomic_store(&stop, 1);
			pthread_join(t, NULL);
			ASSERT_TRUE(charset_ok(buf, n)) TH_LOG("n %zd", n);
		}
	}
	atomic_store(&stop, 1);
	pthread_join(t, NULL);
	TH_LOG("%d valid, %d refused", ok, proto);
	EXPECT_EQ(200000, ok + proto);
}

/* Renames published while another thread reads: old or new, never mixed. */
static void *renamer(void *arg)
{
	struct ivshm_region *r = arg;
	int i;

	for (i = 0; i < 2000 && !atomic_load(&stop); i++)
		if (ivshm_region_set_label(r, i & 1 ? "bbbbbbbbbbbb" : "aaaa"))
			break;
	atomic_store(&stop, 1);
	return NULL;
}

TEST_F(label, renames_are_atomic)
{
	char buf[IVSHM_REGION_LABEL_MAX];
	struct ivshm_region *peer;
	pthread_t t;
	ssize_t n;
	long reads = 0;

	peer = ivshm_region_open(self->mem, RSIZE);
	ASSERT_NE(NULL, peer);
	ASSERT_EQ(0, ivshm_region_set_label(self->r, "aaaa"));
	atomic_store(&stop, 0);
	ASSERT_EQ(0, pthread_create(&t, NULL, renamer, self->r));
	while (!atomic_load(&stop)) {
		n = ivshm_region_label(peer, buf, sizeof(buf));
		reads++;
		if (!((n == 4 && !strcmp(buf, "aaaa")) ||
		      (n == 12 && !strcmp(buf, "bbbbbbbbbbbb")))) {
			atomic_store(&stop, 1);
			pthread_join(t, NULL);
			ASSERT_TRUE(0) TH_LOG("read %zd \"%s\"", n, buf);
		}
	}
	pthread_join(t, NULL);
	TH_LOG("%ld reads", reads);
	/* 2000 renames of 64 bytes each fit in 256 KiB */
	EXPECT_EQ(12, ivshm_region_label(peer, buf, sizeof(buf)));
	ivshm_region_close(peer);
}

TEST_HARNESS_MAIN
