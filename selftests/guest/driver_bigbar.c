// SPDX-License-Identifier: GPL-2.0-only
/*
 * Scenario "bigbar": an 8 GiB ivshmem-plain device (a 64-bit BAR above
 * 4 GiB): mapped whole, its first and last pages shared with the host.
 */
#include "kselftest_harness.h"
#include "vmtest.h"

#define BIG (8ull << 30)

TEST(map_8g_bar)
{
	struct ivshm_info info;
	unsigned char *mem;
	char ans[64];
	int fd = vt_open("plain", 0, O_RDWR);

	ASSERT_LE(0, fd);
	ASSERT_EQ(0, vt_info(fd, &info));
	ASSERT_EQ(BIG, info.size);
	mem = mmap(NULL, BIG, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	ASSERT_NE(MAP_FAILED, mem);
	memcpy(mem + BIG - 4, "\xde\xad\xbe\xef", 4);
	memcpy(mem + (5ull << 30), "\x01\x02", 2);
	ASSERT_EQ(0, vt_host(ans, sizeof(ans), "shm-read plain %llu 4",
			     BIG - 4));
	EXPECT_STREQ("deadbeef", ans);
	ASSERT_EQ(0, vt_host(ans, sizeof(ans), "shm-read plain %llu 2",
			     5ull << 30));
	EXPECT_STREQ("0102", ans);
	munmap(mem, BIG);
	/* A sub-range beyond 4 GiB of offset. */
	mem = mmap(NULL, 4096, PROT_READ, MAP_SHARED, fd, BIG - 4096);
	ASSERT_NE(MAP_FAILED, mem);
	EXPECT_EQ(0xef, mem[4095]);
	munmap(mem, 4096);
	close(fd);
}

TEST_HARNESS_MAIN
