// SPDX-License-Identifier: GPL-2.0-only
/*
 * Two processes create the same channel name at the same moment, over and
 * over: exactly one of them may succeed each time, and the table must hold
 * that name once.
 */
#include <errno.h>
#include <stdatomic.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include "kselftest_harness.h"
#include <ivshm.h>

#define REGION	(1u << 20)
#define ROUNDS	5000

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

TEST(one_winner_per_round)
{
	void *mem = mmap(NULL, REGION, PROT_READ | PROT_WRITE,
			 MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	struct ctl *ctl = mmap(NULL, sizeof(*ctl), PROT_READ | PROT_WRITE,
			       MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	unsigned int dup = 0, none = 0, before;
	pid_t pid[2];
	int status;

	ASSERT_NE(MAP_FAILED, mem);
	ASSERT_NE(MAP_FAILED, ctl);
	memset(ctl, 0, sizeof(*ctl));
	for (int i = 0; i < 2; i++) {
		pid[i] = fork();
		ASSERT_LE(0, pid[i]);
		if (!pid[i])
			creator(mem, ctl, i);
	}
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

TEST_HARNESS_MAIN
