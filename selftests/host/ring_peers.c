// SPDX-License-Identifier: GPL-2.0-only
/*
 * libivshm: the peer directory (ivshm_peer_register/lookup/list/...):
 * names found from the other side, names and ids refused, one owner per
 * name (also when registered at once), heartbeats, replacement, no torn
 * entry seen while an owner rewrites it, and hostile directory bytes
 * (bad offsets, magic, unterminated names, ids out of range, entries
 * stuck mid-write) skipped or refused.  The region is surrounded by
 * PROT_NONE guard pages, so any access outside it kills the test.
 */
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "kselftest_harness.h"
#include "ivshm.h"
#include "../../lib/ring_layout.h"

#define RSIZE	(256u << 10)
#define PAGE	4096u
#define FIRST	4160u	/* first allocatable offset: 64 + 64 * 64 */

FIXTURE(peers) {
	unsigned char *mem;
	struct ivshm_region *r;
};

FIXTURE_SETUP(peers)
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

FIXTURE_TEARDOWN(peers)
{
	ivshm_region_close(self->r);
	munmap(self->mem - PAGE, RSIZE + 2 * PAGE);
}

static struct ivshm_rgn_hdr *hdr(unsigned char *mem)
{
	return (struct ivshm_rgn_hdr *)mem;
}

static struct ivshm_pdr *dir(unsigned char *mem)
{
	return (struct ivshm_pdr *)(mem + atomic_load(&hdr(mem)->peers_off));
}

static int list(struct ivshm_region *r, struct ivshm_peer_info *pi,
		unsigned int max)
{
	memset(pi, 0, sizeof(*pi) * max);
	pi[0].size = sizeof(*pi);
	return ivshm_peer_list(r, pi, max);
}

TEST_F(peers, no_directory_yet)
{
	struct ivshm_peer_info pi[2];

	EXPECT_EQ(0, atomic_load(&hdr(self->mem)->peers_off));
	EXPECT_EQ(-ENOENT, ivshm_peer_lookup(self->r, "host"));
	EXPECT_EQ(0, list(self->r, pi, 2));
	EXPECT_EQ(0, ivshm_peer_list(self->r, NULL, 0));
	EXPECT_EQ(-ENOENT, ivshm_peer_unregister(self->r));
	EXPECT_EQ(-ENOENT, ivshm_peer_heartbeat(self->r));
}

TEST_F(peers, register_and_look_up_from_both_sides)
{
	struct ivshm_peer_info pi[4];
	struct ivshm_region *guest;
	ssize_t avail = ivshm_region_avail(self->r);

	ASSERT_EQ(0, ivshm_peer_register(self->r, "host", 0, 77, 0));
	/* the directory was allocated where channels would go: 4160 bytes */
	EXPECT_EQ(FIRST, atomic_load(&hdr(self->mem)->peers_off));
	EXPECT_EQ(avail - 4160, ivshm_region_avail(self->r));

	guest = ivshm_region_open(self->mem, RSIZE);
	ASSERT_NE(NULL, guest);
	EXPECT_EQ(0, ivshm_peer_lookup(guest, "host"));
	ASSERT_EQ(1, ivshm_peer_register(guest, "guest-1", 3, 0, 0));
	EXPECT_EQ(3, ivshm_peer_lookup(self->r, "guest-1"));
	EXPECT_EQ(3, ivshm_peer_lookup(guest, "guest-1"));
	EXPECT_EQ(-ENOENT, ivshm_peer_lookup(guest, "guest-2"));
	EXPECT_EQ(-ENOENT, ivshm_peer_lookup(guest, "guest"));

	ASSERT_EQ(2, list(guest, pi, 4));
	EXPECT_STREQ("host", pi[0].name);
	EXPECT_EQ(0, pi[0].peer_id);
	EXPECT_EQ(77, pi[0].boot);
	EXPECT_EQ(0, pi[0].flags);
	EXPECT_EQ(0, pi[0].slot);
	EXPECT_EQ(sizeof(pi[0]), pi[0].size);
	EXPECT_STREQ("guest-1", pi[1].name);
	EXPECT_EQ(3, pi[1].peer_id);
	EXPECT_NE(0, pi[1].boot);	/* the library's choice */
	EXPECT_EQ(IVSHM_PEER_INFO_SELF, pi[1].flags);
	EXPECT_EQ(1, pi[1].slot);
	/* a short array: the count, and only what fits is written */
	memset(pi, 0, sizeof(pi));
	pi[0].size = sizeof(pi[0]);
	EXPECT_EQ(2, ivshm_peer_list(guest, pi, 1));
	EXPECT_EQ(0, pi[1].size);

	/* heartbeats are seen by the other side */
	EXPECT_EQ(0, ivshm_peer_heartbeat(self->r));
	EXPECT_EQ(0, ivshm_peer_heartbeat(self->r));
	ASSERT_EQ(2, list(guest, pi, 4));
	EXPECT_EQ(2, pi[0].heartbeat);
	EXPECT_EQ(0, pi[1].heartbeat);

	/* one entry per handle */
	EXPECT_EQ(-EBUSY, ivshm_peer_register(guest, "guest-9", 9, 0, 0));
	/* closing a handle removes its entry */
	ivshm_region_close(guest);
	EXPECT_EQ(-ENOENT, ivshm_peer_lookup(self->r, "guest-1"));
	EXPECT_EQ(1, list(self->r, pi, 4));
	EXPECT_EQ(0, ivshm_peer_unregister(self->r));
	EXPECT_EQ(-ENOENT, ivshm_peer_unregister(self->r));
	EXPECT_EQ(-ENOENT, ivshm_peer_lookup(self->r, "host"));
	EXPECT_EQ(0, list(self->r, pi, 4));
	/* a freed entry is reused */
	EXPECT_EQ(0, ivshm_peer_register(self->r, "host", 1, 0, 0));
	EXPECT_EQ(1, ivshm_peer_lookup(self->r, "host"));
}

TEST_F(peers, arguments_refused)
{
	struct ivshm_peer_info pi[1];
	char n32[33];

	memset(n32, 'a', 32);
	n32[32] = 0;
	EXPECT_EQ(-EINVAL, ivshm_peer_register(NULL, "x", 0, 0, 0));
	EXPECT_EQ(-EINVAL, ivshm_peer_register(self->r, NULL, 0, 0, 0));
	EXPECT_EQ(-EINVAL, ivshm_peer_register(self->r, "", 0, 0, 0));
	EXPECT_EQ(-EINVAL, ivshm_peer_register(self->r, n32, 0, 0, 0));
	EXPECT_EQ(-EINVAL, ivshm_peer_register(self->r, "a b", 0, 0, 0));
	EXPECT_EQ(-EINVAL, ivshm_peer_register(self->r, "a/b", 0, 0, 0));
	EXPECT_EQ(-EINVAL, ivshm_peer_register(self->r, "..", 0, 0, 0));
	EXPECT_EQ(-EINVAL, ivshm_peer_register(self->r, "x", 65536, 0, 0));
	EXPECT_EQ(-EINVAL, ivshm_peer_register(self->r, "x", 0, 0, 0x2));
	EXPECT_EQ(-EINVAL, ivshm_peer_lookup(self->r, NULL));
	EXPECT_EQ(-EINVAL, ivshm_peer_lookup(NULL, "x"));
	EXPECT_EQ(-EINVAL, ivshm_peer_lookup(self->r, "a b"));
	EXPECT_EQ(-EINVAL, ivshm_peer_list(self->r, NULL, 1));
	pi[0].size = IVSHM_PEER_INFO_SIZE_V1 - 1;
	EXPECT_EQ(-EINVAL, ivshm_peer_list(self->r, pi, 1));
	EXPECT_EQ(-EINVAL, ivshm_peer_heartbeat(NULL));
	EXPECT_EQ(-EINVAL, ivshm_peer_unregister(NULL));
	/* nothing was written: no directory */
	EXPECT_EQ(0, atomic_load(&hdr(self->mem)->peers_off));
	/* the longest name and id */
	EXPECT_EQ(0, ivshm_peer_register(self->r, n32 + 1, 65535, 0, 0));
	EXPECT_EQ(65535, ivshm_peer_lookup(self->r, n32 + 1));
}

TEST_F(peers, names_are_unique_and_replace_takes_over)
{
	struct ivshm_region *a = ivshm_region_open(self->mem, RSIZE);
	struct ivshm_region *b = ivshm_region_open(self->mem, RSIZE);

	ASSERT_NE(NULL, a);
	ASSERT_NE(NULL, b);
	ASSERT_EQ(0, ivshm_peer_register(a, "host", 1, 100, 0));
	EXPECT_EQ(-EEXIST, ivshm_peer_register(b, "host", 2, 200, 0));
	/* a restarted host takes its name back; the old entry's owner learns */
	EXPECT_EQ(0, ivshm_peer_register(b, "host", 2, 200,
					 IVSHM_PEER_REPLACE));
	EXPECT_EQ(2, ivshm_peer_lookup(self->r, "host"));
	EXPECT_EQ(-ECONNRESET, ivshm_peer_heartbeat(a));
	EXPECT_EQ(-ENOENT, ivshm_peer_unregister(a));
	ivshm_region_close(a);		/* writes nothing: b keeps the name */
	EXPECT_EQ(2, ivshm_peer_lookup(self->r, "host"));
	EXPECT_EQ(0, ivshm_peer_heartbeat(b));
	ivshm_region_close(b);
	EXPECT_EQ(-ENOENT, ivshm_peer_lookup(self->r, "host"));
}

TEST_F(peers, directory_full)
{
	struct ivshm_region *h[IVSHM_PEER_MAX + 1];
	char name[16];
	int i;

	for (i = 0; i <= IVSHM_PEER_MAX; i++) {
		h[i] = ivshm_region_open(self->mem, RSIZE);
		ASSERT_NE(NULL, h[i]);
		snprintf(name, sizeof(name), "p%d", i);
		EXPECT_EQ(i < IVSHM_PEER_MAX ? i : -ENOSPC,
			  ivshm_peer_register(h[i], name, (unsigned int)i,
					      0, 0));
	}
	EXPECT_EQ(IVSHM_PEER_MAX, ivshm_peer_list(self->r, NULL, 0));
	EXPECT_EQ(63, ivshm_peer_lookup(self->r, "p63"));
	for (i = 0; i <= IVSHM_PEER_MAX; i++)
		ivshm_region_close(h[i]);
	EXPECT_EQ(0, ivshm_peer_list(self->r, NULL, 0));
}

TEST_F(peers, formatting_again_makes_registrations_stale)
{
	struct ivshm_region *old = ivshm_region_open(self->mem, RSIZE);
	struct ivshm_region *fresh;

	ASSERT_NE(NULL, old);
	ASSERT_EQ(0, ivshm_peer_register(old, "host", 0, 0, 0));
	fresh = ivshm_region_format(self->mem, RSIZE);
	ASSERT_NE(NULL, fresh);
	EXPECT_EQ(-ENOENT, ivshm_peer_lookup(fresh, "host"));
	EXPECT_EQ(-ESTALE, ivshm_peer_heartbeat(old));
	EXPECT_EQ(-ESTALE, ivshm_peer_lookup(old, "host"));
	EXPECT_EQ(-ENOENT, ivshm_peer_unregister(old));
	ASSERT_EQ(0, ivshm_peer_register(fresh, "host", 4, 0, 0));
	ivshm_region_close(old);	/* writes nothing */
	EXPECT_EQ(4, ivshm_peer_lookup(fresh, "host"));
	ivshm_region_close(fresh);
}

/* ---- hostile directory bytes ------------------------------------------ */

TEST_F(peers, hostile_directory_offset_and_header)
{
	static const uint64_t bad_off[] = {
		FIRST + 8,			/* misaligned */
		64,				/* inside the header */
		RSIZE - 4096,			/* runs past the end */
		RSIZE,
		UINT64_MAX - 63,		/* wraps */
	};
	struct ivshm_peer_info pi[1];
	struct ivshm_pdr *d;
	unsigned int i;

	ASSERT_EQ(0, ivshm_peer_register(self->r, "host", 0, 0, 0));
	d = dir(self->mem);
	for (i = 0; i < sizeof(bad_off) / sizeof(bad_off[0]); i++) {
		atomic_store(&hdr(self->mem)->peers_off, bad_off[i]);
		EXPECT_EQ(-EPROTO, ivshm_peer_lookup(self->r, "host"));
		EXPECT_EQ(-EPROTO, list(self->r, pi, 1));
	}
	atomic_store(&hdr(self->mem)->peers_off, FIRST);
	EXPECT_EQ(0, ivshm_peer_lookup(self->r, "host"));
	d->magic ^= 1;
	EXPECT_EQ(-EPROTO, ivshm_peer_lookup(self->r, "host"));
	d->magic ^= 1;
	d->entries = 65;
	EXPECT_EQ(-EPROTO, ivshm_peer_lookup(self->r, "host"));
	d->entries = 64;
	d->entry_size = 128;
	EXPECT_EQ(-EPROTO, list(self->r, pi, 1));
	d->entry_size = 64;
	EXPECT_EQ(0, ivshm_peer_lookup(self->r, "host"));
}

TEST_F(peers, hostile_entries_are_skipped)
{
	struct ivshm_peer_info pi[4];
	struct ivshm_region *g = ivshm_region_open(self->mem, RSIZE);
	struct ivshm_pdr_ent *e;

	ASSERT_NE(NULL, g);
	ASSERT_EQ(0, ivshm_peer_register(self->r, "host", 0, 0, 0));
	ASSERT_EQ(1, ivshm_peer_register(g, "guest", 1, 0, 0));
	e = &dir(self->mem)->ent[1];

	/* unterminated name */
	memset(e->name, 'g', sizeof(e->name));
	EXPECT_EQ(-ENOENT, ivshm_peer_lookup(self->r, "guest"));
	EXPECT_EQ(1, list(self->r, pi, 4));
	EXPECT_STREQ("host", pi[0].name);
	/* characters outside the name set */
	memset(e->name, 0, sizeof(e->name));
	strcpy(e->name, "gu\033[2Jst");
	EXPECT_EQ(1, list(self->r, pi, 4));
	strcpy(e->name, "..");
	EXPECT_EQ(1, list(self->r, pi, 4));
	/* an id out of range */
	memset(e->name, 0, sizeof(e->name));
	strcpy(e->name, "guest");
	EXPECT_EQ(1, ivshm_peer_lookup(self->r, "guest"));
	e->peer_id = 65536;
	EXPECT_EQ(-ENOENT, ivshm_peer_lookup(self->r, "guest"));
	EXPECT_EQ(1, list(self->r, pi, 4));
	e->peer_id = 1;
	/* stuck mid-write (odd seq): skipped after a bounded wait */
	atomic_fetch_add(&e->seq, 1);
	EXPECT_EQ(-ENOENT, ivshm_peer_lookup(self->r, "guest"));
	EXPECT_EQ(1, list(self->r, pi, 4));
	/* and not taken as free: registration goes elsewhere */
	ivshm_region_close(self->r);
	self->r = ivshm_region_open(self->mem, RSIZE);
	ASSERT_NE(NULL, self->r);
	EXPECT_EQ(0, ivshm_peer_register(self->r, "other", 2, 0, 0));
	/* the owner of the changed entry finds it replaced */
	EXPECT_EQ(-ECONNRESET, ivshm_peer_heartbeat(g));
	ivshm_region_close(g);
	EXPECT_EQ(1, list(self->r, pi, 4));
}

/* ---- concurrency ------------------------------------------------------ */

struct race {
	unsigned char *mem;
	const char *name;
	atomic_int go;
	atomic_int wins;
	int rounds;
	atomic_int stop;
	atomic_int torn;
};

static void *same_name(void *arg)
{
	struct race *t = arg;
	struct ivshm_region *r = ivshm_region_open(t->mem, RSIZE);
	int ret;

	if (!r)
		return (void *)1;
	while (!atomic_load(&t->go))
		;
	ret = ivshm_peer_register(r, t->name, 5, 0, 0);
	if (ret >= 0)
		atomic_fetch_add(&t->wins, 1);
	else if (ret != -EEXIST)
		atomic_store(&t->torn, ret);		/* unexpected error */
	/* hand the region back unregistered for the next round */
	atomic_fetch_add(&t->go, 1);
	while (atomic_load(&t->go) < 5)
		;
	ivshm_region_close(r);
	return NULL;
}

TEST_F(peers, simultaneous_registrations_of_one_name)
{
	pthread_t th[4];
	struct race t;
	int round, i;

	for (round = 0; round < 50; round++) {
		memset(&t, 0, sizeof(t));
		t.mem = self->mem;
		t.name = round & 1 ? "host" : "guest-0";
		for (i = 0; i < 4; i++)
			ASSERT_EQ(0, pthread_create(&th[i], NULL, same_name,
						    &t));
		atomic_store(&t.go, 1);
		for (i = 0; i < 4; i++)
			pthread_join(th[i], NULL);
		ASSERT_EQ(0, atomic_load(&t.torn));
		ASSERT_EQ(1, atomic_load(&t.wins)) {
			TH_LOG("round %d: %d registrations of one name", round,
			       atomic_load(&t.wins));
		}
		EXPECT_EQ(0, ivshm_peer_list(self->r, NULL, 0));
	}
}

static void spin(void)
{
	for (volatile int i = 0; i < 200; i++)
		;
}

/*
 * The owner of entry 1 rewrites it field by field, slowly, as the seqlock
 * protocol says (seq odd, fields, seq even): a reader that took the
 * fields without the protocol would see names and ids of two versions.
 */
static void *rewriter(void *arg)
{
	struct race *t = arg;
	struct ivshm_pdr_ent *e = &dir(t->mem)->ent[1];
	uint32_t seq = atomic_load(&e->seq);
	unsigned int id;
	int i;

	for (i = 0; i < t->rounds; i++) {
		id = (unsigned int)(i % 2 ? 1000 + i % 50 : 2000 + i % 50);
		atomic_store_explicit(&e->seq, ++seq, memory_order_relaxed);
		atomic_thread_fence(memory_order_release);
		e->peer_id = id;
		spin();
		memset(e->name, 0, sizeof(e->name));
		snprintf(e->name, sizeof(e->name), "n%u", id);
		spin();
		e->boot = id;
		atomic_store_explicit(&e->seq, ++seq, memory_order_release);
		spin();
	}
	atomic_store(&t->stop, 1);
	return NULL;
}

TEST_F(peers, no_torn_entry_while_its_owner_rewrites_it)
{
	struct ivshm_peer_info pi[4];
	struct ivshm_region *g;
	unsigned int id;
	pthread_t th;
	struct race t;
	long seen = 0;
	int n, i;

	memset(&t, 0, sizeof(t));
	t.mem = self->mem;
	t.rounds = 200000;
	ASSERT_EQ(0, ivshm_peer_register(self->r, "host", 0, 0, 0));
	g = ivshm_region_open(self->mem, RSIZE);
	ASSERT_NE(NULL, g);
	ASSERT_EQ(1, ivshm_peer_register(g, "n2000", 2000, 2000, 0));
	ASSERT_EQ(0, pthread_create(&th, NULL, rewriter, &t));
	while (!atomic_load(&t.stop)) {
		n = list(self->r, pi, 4);
		ASSERT_GE(n, 1);
		for (i = 0; i < n && i < 4; i++) {
			if (pi[i].peer_id == 0)
				continue;
			seen++;
			id = pi[i].peer_id;
			if (sscanf(pi[i].name, "n%u", &id) != 1 ||
			    id != pi[i].peer_id || pi[i].boot != id)
				atomic_fetch_add(&t.torn, 1);
		}
	}
	pthread_join(th, NULL);
	ivshm_region_close(g);
	EXPECT_EQ(0, atomic_load(&t.torn));
	EXPECT_GT(seen, 100);
	TH_LOG("%ld entries seen while being rewritten", seen);
}

TEST_HARNESS_MAIN
