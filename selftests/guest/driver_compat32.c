// SPDX-License-Identifier: GPL-2.0-only
/*
 * In-guest tests of the driver from a 32-bit program (built -m32 -static,
 * run on the amd64 kernel through IA32 emulation): every ioctl goes
 * through the compat path, read(2) returns the same records, mmap2 takes
 * its offset in pages.  Devices as in driver_semantics.c.
 */
#include "kselftest_harness.h"
#include "vmtest.h"

#define PLAIN_SIZE (1ull << 30)
#define DB_SIZE (4ull << 20)
/* selftests/vm/scenarios.py writes "IVSH" there in the plain memory. */
#define BOOT_OFFSET (512u << 10)

FIXTURE(c32) {
	int fd;
	struct ivshm_info info;
};

FIXTURE_SETUP(c32)
{
	char name[64], path[80];

	ASSERT_EQ(4, sizeof(long)) TH_LOG("not built as a 32-bit program");
	ASSERT_EQ(0, vt_find_size("doorbell", DB_SIZE, 0, name, sizeof(name),
				  5000));
	snprintf(path, sizeof(path), "/dev/%s", name);
	self->fd = open(path, O_RDWR);
	ASSERT_LE(0, self->fd);
	ASSERT_EQ(0, vt_info(self->fd, &self->info));
}

FIXTURE_TEARDOWN(c32)
{
	close(self->fd);
}

TEST_F(c32, get_info)
{
	char name[64], buf[64];

	EXPECT_EQ(sizeof(struct ivshm_info), self->info.argsz);
	EXPECT_EQ(0, self->info.flags);
	EXPECT_EQ(DB_SIZE, self->info.size);
	EXPECT_EQ(4, self->info.vectors);
	EXPECT_EQ(IVSHM_MODE_DOORBELL, self->info.mode);
	EXPECT_EQ(IVSHM_IRQ_MSIX, self->info.irq_mode);
	EXPECT_EQ(IVSHM_ABI_VERSION, self->info.abi_version);
	ASSERT_EQ(0, vt_find_size("doorbell", DB_SIZE, 0, name, sizeof(name),
				  0));
	ASSERT_EQ(0, vt_sysfs(name, "peer_id", buf, sizeof(buf)));
	EXPECT_EQ(self->info.peer_id, (uint32_t)atoi(buf));
	errno = 0;
	EXPECT_EQ(-1, ioctl(self->fd, IVSHM_GET_INFO, (void *)8));
	EXPECT_EQ(EFAULT, errno);
}

TEST_F(c32, set_eventfds_ring_and_read)
{
	int efd[2] = { eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK),
		       eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK) };
	struct {
		struct ivshm_eventfds h;
		int32_t fds[2];
	} a = {
		.h = { .argsz = sizeof(a), .start = 1, .count = 2 },
		.fds = { efd[0], efd[1] },
	};
	struct pollfd p = { .fd = self->fd, .events = POLLIN };
	struct ivshm_event ev[4];

	ASSERT_LE(0, efd[0]);
	ASSERT_LE(0, efd[1]);
	ASSERT_EQ(0, ioctl(self->fd, IVSHM_SET_EVENTFDS, &a));
	ASSERT_EQ(0, vt_ring(self->fd, self->info.peer_id, 2));
	EXPECT_EQ(1, vt_efd_wait(efd[1], 3000));
	EXPECT_EQ(0, vt_efd_wait(efd[0], 0));
	ASSERT_EQ(1, poll(&p, 1, 3000));
	EXPECT_EQ(POLLIN, p.revents);
	ASSERT_EQ(sizeof(ev[0]), read(self->fd, ev, sizeof(ev)));
	EXPECT_EQ(2, ev[0].vector);
	EXPECT_EQ(0, ev[0].reserved);
	EXPECT_EQ(1, ev[0].count);
	close(efd[0]);
	close(efd[1]);
}

/* Stores through a 32-bit mapping reach the host; offsets are honoured. */
TEST_F(c32, mmap)
{
	unsigned char *all, *part;
	char ans[128];
	int pfd;

	all = mmap(NULL, DB_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED,
		   self->fd, 0);
	ASSERT_NE(MAP_FAILED, all);
	part = mmap(NULL, 8192, PROT_READ, MAP_SHARED, self->fd, 1 << 20);
	ASSERT_NE(MAP_FAILED, part);
	memcpy(all + (1 << 20) + 4096, "c32!", 4);
	EXPECT_EQ(0, memcmp(part + 4096, "c32!", 4));
	ASSERT_EQ(0, vt_host(ans, sizeof(ans), "shm-read server %u 4",
			     (1u << 20) + 4096));
	EXPECT_STREQ("63333221", ans);
	munmap(part, 8192);
	munmap(all, DB_SIZE);

	/* A window of the 1 GiB plain device, by offset (mmap2 pages). */
	pfd = vt_open("plain", 0, O_RDONLY);
	ASSERT_LE(0, pfd);
	part = mmap(NULL, 4096, PROT_READ, MAP_SHARED, pfd, BOOT_OFFSET);
	ASSERT_NE(MAP_FAILED, part);
	EXPECT_EQ(0, memcmp(part, "IVSH", 4));
	munmap(part, 4096);
	close(pfd);
}

TEST_HARNESS_MAIN
