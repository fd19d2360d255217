// SPDX-License-Identifier: GPL-2.0-only
/*
 * Two processes create channels at the same moment, over and over.  Of
 * two creates of one name exactly one may succeed each time, and the
 * table must hold that name once; creates of different names must all
 * succeed, however their reads of the table interleave with the other's
 * writes (widened by the delay hook of lib/test_hook.h: this test builds
 * the ring sources itself, with -DIVSHM_TEST_HOOKS).
 */
#include <errno.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include "kselftest_harness.h"
#include <ivshm.h>
#include "../../lib/test_hook.h"

#define REGION	(1u << 20)
#define ROUNDS	5000
#define NAMED_ROUNDS	40
#define PER_SIDE	30	/* two sides: 60 of the 64 entries */

/* Set in the creators of distinct_names_all_succeed only. */
static bool delays;

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* Between a table read and its re-check: spin 0-3 us, half the time. */
void ivshm_test_hook(enum ivshm_test_point point)
{
	static uint64_t x = 88172645463325252ull;
	uint64_t end;

	if (!delays || point != IVSHM_HOOK_DESC_READ)
		return;
	x ^= x << 13;
	x ^= x >> 7;
	x ^= x << 17;
	if (x & 1)
		return;
	end = now_ns() + (x >> 8) % 3001;
	while (now_ns() < end)
		;
}

struct ctl {
	atomic_uint go;
	atomic_uint ok[2];
	atomic_uint fail_other[2];
	atomic_uint done;
};

static void creator(void *mem, struct ctl *ctl, int who)
{
	for (unsigned int round = 1; round <= ROUNDS; round++) {
		struct ivshm_region *r;
		struct ivshm_chan *c;

		while (atomic_load(&ctl->go) < round)
			;
		r = ivshm_region_open(mem, REGION);
		if (!r)
			_exit(10);
		c = ivshm_chan_create(r, "same", 4096,
				      who ? IVSHM_CHAN_CONSUMER :
				      IVSHM_CHAN_PRODUCER, NULL);
		if (c) {
			atomic_fetch_add(&ctl->ok[who], 1);
			ivshm_chan_close(c);
		} else if (errno != EEXIST && errno != EAGAIN) {
			atomic_fetch_add(&ctl->fail_other[who], 1);
		}
		ivshm_region_close(r);
		atomic_fetch_add(&ctl->done, 1);
	}
	_exit(0);
}

/* The region and the control block, shared with two children running @fn. */
static void start(void **mem, struct ctl **ctl, pid_t pid[2],
		  void (*fn)(void *, struct ctl *, int))
{
	*mem = mmap(NULL, REGION, PROT_READ | PROT_WRITE,
		    MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	*ctl = mmap(NULL, sizeof(**ctl), PROT_READ | PROT_WRITE,
		    MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (*mem == MAP_FAILED || *ctl == MAP_FAILED)
		abort();
	memset(*ctl, 0, sizeof(**ctl));
	for (int i = 0; i < 2; i++) {
		pid[i] = fork();
		if (pid[i] < 0)
			abort();
		if (!pid[i])
			fn(*mem, *ctl, i);
	}
}

TEST(one_winner_per_round)
{
	unsigned int dup = 0, none = 0, before;
	struct ctl *ctl;
	pid_t pid[2];
	int status;
	void *mem;

	start(&mem, &ctl, pid, creator);
	for (unsigned int round = 1; round <= ROUNDS; round++) {
		struct ivshm_chan_info info[IVSHM_CHAN_MAX] = { { .size = sizeof(info[0]) } };
		struct ivshm_region *r = ivshm_region_format(mem, REGION);
		int n, named = 0;

		ASSERT_NE(NULL, r);
		before = atomic_load(&ctl->ok[0]) + atomic_load(&ctl->ok[1]);
		atomic_store(&ctl->go, round);
		while (atomic_load(&ctl->done) < 2 * round)
			usleep(100);
		n = ivshm_region_channels(r, info, IVSHM_CHAN_MAX);
		for (int i = 0; i < n; i++)
			named += !strcmp(info[i].name, "same");
		if (atomic_load(&ctl->ok[0]) + atomic_load(&ctl->ok[1]) -
		    before > 1 || named > 1)
			dup++;
		if (named == 0)
			none++;
		ivshm_region_close(r);
	}
	for (int i = 0; i < 2; i++) {
		ASSERT_EQ(pid[i], waitpid(pid[i], &status, 0));
		EXPECT_TRUE(WIFEXITED(status) && !WEXITSTATUS(status));
	}
	TH_LOG("%u rounds: %u duplicates, %u without a channel, %u/%u wins",
	       ROUNDS, dup, none, atomic_load(&ctl->ok[0]),
	       atomic_load(&ctl->ok[1]));
	EXPECT_EQ(0, dup);
	EXPECT_EQ(0, none);
	EXPECT_EQ(0, atomic_load(&ctl->fail_other[0]) +
		  atomic_load(&ctl->fail_other[1]));
}

/* Each side creates its own names: none may fail (EAGAIN included). */
static void namer(void *mem, struct ctl *ctl, int who)
{
	char name[16];

	delays = true;
	for (unsigned int round = 1; round <= NAMED_ROUNDS; round++) {
		struct ivshm_region *r;

		while (atomic_load(&ctl->go) < round)
			;
		r = ivshm_region_open(mem, REGION);
		if (!r)
			_exit(10);
		for (int i = 0; i < PER_SIDE; i++) {
			struct ivshm_chan *c;

			snprintf(name, sizeof(name), "%s%d", who ? "b" : "a", i);
			c = ivshm_chan_create(r, name, 256,
					      IVSHM_CHAN_PRODUCER, NULL);
			if (c) {
				atomic_fetch_add(&ctl->ok[who], 1);
				ivshm_chan_close(c);
			} else {
				atomic_fetch_add(&ctl->fail_other[who], 1);
			}
		}
		ivshm_region_close(r);
		atomic_fetch_add(&ctl->done, 1);
	}
	_exit(0);
}

TEST(distinct_names_all_succeed)
{
	struct ctl *ctl;
	pid_t pid[2];
	int status;
	void *mem;

	start(&mem, &ctl, pid, namer);
	for (unsigned int round = 1; round <= NAMED_ROUNDS; round++) {
		struct ivshm_region *r = ivshm_region_format(mem, REGION);

		ASSERT_NE(NULL, r);
		atomic_store(&ctl->go, round);
		while (atomic_load(&ctl->done) < 2 * round)
			usleep(100);
		ivshm_region_close(r);
	}
	for (int i = 0; i < 2; i++) {
		ASSERT_EQ(pid[i], waitpid(pid[i], &status, 0));
		EXPECT_TRUE(WIFEXITED(status) && !WEXITSTATUS(status));
	}
	TH_LOG("%u rounds of %d creates a side: %u/%u failed",
	       NAMED_ROUNDS, PER_SIDE, atomic_load(&ctl->fail_other[0]),
	       atomic_load(&ctl->fail_other[1]));
	EXPECT_EQ(NAMED_ROUNDS * PER_SIDE, atomic_load(&ctl->ok[0]));
	EXPECT_EQ(NAMED_ROUNDS * PER_SIDE, atomic_load(&ctl->ok[1]));
}

TEST_HARNESS_MAIN
