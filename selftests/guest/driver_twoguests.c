// SPDX-License-Identifier: GPL-2.0-only
/*
 * Two guests on one ivshm-server (scenario "twoguests"; role A or B from
 * ivshmtest.role=): A rings B's vector 1, B's eventfd bound to 1 (and only
 * it) fires; B answers on A's vector 2; counts add up over 10,000
 * doorbells with sequence numbers in the shared memory.
 */
#include "kselftest_harness.h"
#include "vmtest.h"

#define VECTORS 4
#define ROUNDS 10000
#define A_RX 2
#define B_RX 1
#define SEQ_OFF 0x1000

static char role(void)
{
	char buf[8];

	return vt_cmdline("ivshmtest.role", buf, sizeof(buf)) ? buf[0] : '?';
}

TEST(ping_pong_10000)
{
	int fd, efd[VECTORS], me_rx, other_rx, other;
	volatile uint32_t *seq;
	struct ivshm_info info;
	char ans[64], r = role();
	uint64_t got = 0, stray = 0;
	unsigned char *mem;

	ASSERT_TRUE(r == 'A' || r == 'B');
	fd = vt_open("doorbell", 0, O_RDWR);
	ASSERT_LE(0, fd);
	ASSERT_EQ(0, vt_info(fd, &info));
	ASSERT_EQ(VECTORS, info.vectors);
	mem = mmap(NULL, info.size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	ASSERT_NE(MAP_FAILED, mem);
	seq = (volatile uint32_t *)(mem + SEQ_OFF);
	me_rx = r == 'A' ? A_RX : B_RX;
	other_rx = r == 'A' ? B_RX : A_RX;
	for (int v = 0; v < VECTORS; v++) {
		efd[v] = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
		ASSERT_LE(0, efd[v]);
		ASSERT_EQ(0, vt_bind(fd, v, efd[v]));
	}

	/* Meet: publish our id once bound, learn the other's. */
	ASSERT_EQ(0, vt_host(ans, sizeof(ans), "set id-%c %u", r,
			     info.peer_id));
	ASSERT_EQ(0, vt_host(ans, sizeof(ans), "get id-%c",
			     r == 'A' ? 'B' : 'A'));
	other = atoi(ans);
	ASSERT_NE(other, (int)info.peer_id);
	TH_LOG("role %c: peer %u, other %d", r, info.peer_id, other);

	if (r == 'A')
		seq[0] = 0;
	ASSERT_EQ(0, vt_host(ans, sizeof(ans), "set ready-%c 1", r));
	ASSERT_EQ(0, vt_host(ans, sizeof(ans), "get ready-%c",
			     r == 'A' ? 'B' : 'A'));

	/*
	 * Strict ping-pong: each side consumes exactly one doorbell per round
	 * before it answers, so at most one is in flight per direction and
	 * nothing can coalesce: every one must arrive.  A writes even
	 * sequence numbers plus one, B odd ones plus one.
	 */
	for (uint32_t i = 0; i < ROUNDS; i++) {
		uint32_t want = 2 * i + (r == 'A' ? 0 : 1);

		if (r == 'B' || i > 0) {
			uint64_t c = vt_efd_wait(efd[me_rx], 5000);

			got += c;
			ASSERT_EQ(1, c) TH_LOG("round %u: %llu doorbells", i,
					       (unsigned long long)c);
		}
		ASSERT_EQ(want, __atomic_load_n(&seq[0], __ATOMIC_ACQUIRE))
			TH_LOG("round %u", i);
		__atomic_store_n(&seq[0], want + 1, __ATOMIC_RELEASE);
		ASSERT_EQ(0, vt_ring(fd, other, other_rx));
	}
	/* B's last answer wakes A once more. */
	if (r == 'A')
		got += vt_efd_wait(efd[me_rx], 5000);
	for (int v = 0; v < VECTORS; v++)
		if (v != me_rx)
			stray += vt_efd_wait(efd[v], 0);
	TH_LOG("role %c: %d rounds, %llu doorbells received, %llu stray",
	       r, ROUNDS, (unsigned long long)got, (unsigned long long)stray);
	EXPECT_EQ(ROUNDS, got);
	EXPECT_EQ(0, stray);
	EXPECT_EQ(2 * ROUNDS, seq[0]);
	munmap(mem, info.size);
	for (int v = 0; v < VECTORS; v++)
		close(efd[v]);
	close(fd);
}

TEST_HARNESS_MAIN
