/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Test-only delay points inside the ring code.
 *
 * The windows that decide whether a wakeup is lost, or whether a table
 * read is torn, are a few instructions wide and lie inside one library
 * call, where no delay a test puts between its own calls can land.
 * selftests/host/ring_wakeup.c and ring_create_race.c compile the ring
 * sources themselves with -DIVSHM_TEST_HOOKS and define ivshm_test_hook()
 * to spin for a random while there.  The library proper is built without
 * it: TEST_HOOK() is then empty and costs nothing.
 */
#ifndef IVSHM_TEST_HOOK_H
#define IVSHM_TEST_HOOK_H

enum ivshm_test_point {
	IVSHM_HOOK_PUBLISHED,	/* notifier: index stored, peer's word not read */
	IVSHM_HOOK_ANNOUNCED,	/* waiter: sleep announced, ring not re-checked */
	IVSHM_HOOK_DESC_READ,	/* table entry copied, state not re-checked */
};

#ifdef IVSHM_TEST_HOOKS
void ivshm_test_hook(enum ivshm_test_point point);
#define TEST_HOOK(point)	ivshm_test_hook(point)
#else
#define TEST_HOOK(point)	do { } while (0)
#endif

#endif /* IVSHM_TEST_HOOK_H */
