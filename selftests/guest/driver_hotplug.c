// SPDX-License-Identifier: GPL-2.0-only
/*
 * In-guest test of surprise-free hot-unplug (QMP device_del through a PCIe
 * root port) while a process holds mappings, a bound eventfd and a poll:
 * the poll reports POLLHUP, the calls ENODEV, the mappings SIGBUS; then
 * re-plugged devices come back as working /dev/ivshmN, write-back.
 */
#include <pthread.h>
#include <signal.h>
#include <sys/wait.h>

#include "kselftest_harness.h"
#include "vmtest.h"

#define DB_SIZE (4u << 20)
#define PLAIN_SIZE (1u << 30)
/* Past the ring region selftests/vm/scenarios.py formats at offset 0. */
#define BOOT_OFFSET (512u << 10)

static int poll_revents = -1;

static void *poller(void *arg)
{
	struct pollfd p = { .fd = *(int *)arg, .events = POLLIN };

	if (poll(&p, 1, 60000) == 1)
		poll_revents = p.revents;
	else
		poll_revents = 0;
	return NULL;
}

TEST(unplug_in_use_then_replug)
{
	struct ivshm_info info;
	struct ivshm_event ev;
	unsigned char *pmem, *dmem;
	int pfd, dfd, efd, fd;
	char ans[128], name[64];
	long long pf0[3], pf[3];
	pthread_t t;
	int pud;

	pfd = vt_open("plain", 0, O_RDWR);
	dfd = vt_open("doorbell", 0, O_RDWR);
	ASSERT_LE(0, pfd);
	ASSERT_LE(0, dfd);
	pmem = mmap(NULL, PLAIN_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED,
		    pfd, 0);
	dmem = mmap(NULL, DB_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED, dfd, 0);
	ASSERT_NE(MAP_FAILED, pmem);
	ASSERT_NE(MAP_FAILED, dmem);
	/* Where the kernel has them, a 2 MiB entry maps the plain device. */
	ASSERT_EQ(0, vt_find("plain", 0, name, sizeof(name), 0));
	vt_faults(name, pf0);
	pmem[BOOT_OFFSET + 100] = 1;
	vt_faults(name, pf);
	EXPECT_EQ(vt_huge_pfn_kernel(&pud) ? 1 : 0, pf[1] - pf0[1]);
	dmem[100] = 1;
	EXPECT_EQ(0, vt_touch_in_child(pmem));
	EXPECT_EQ(0, vt_touch_in_child(dmem));
	efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	ASSERT_LE(0, efd);
	ASSERT_EQ(0, vt_bind(dfd, 0, efd));
	ASSERT_EQ(0, pthread_create(&t, NULL, poller, &dfd));
	usleep(200000);

	ASSERT_EQ(0, vt_host(ans, sizeof(ans), "unplug db0")) TH_LOG("%s", ans);
	pthread_join(t, NULL);
	EXPECT_EQ(POLLHUP | POLLERR, poll_revents & (POLLHUP | POLLERR));
	EXPECT_EQ(SIGBUS, vt_touch_in_child(dmem));
	errno = 0;
	EXPECT_EQ(-1, vt_ring(dfd, 0, 0));
	EXPECT_EQ(ENODEV, errno);
	errno = 0;
	EXPECT_EQ(-1, vt_info(dfd, &info));
	EXPECT_EQ(ENODEV, errno);
	errno = 0;
	EXPECT_EQ(-1, read(dfd, &ev, sizeof(ev)));
	EXPECT_EQ(ENODEV, errno);
	EXPECT_EQ(MAP_FAILED, mmap(NULL, 4096, PROT_READ, MAP_SHARED, dfd, 0));
	EXPECT_EQ(ENODEV, errno);
	EXPECT_NE(0, vt_find("doorbell", 0, name, sizeof(name), 0));

	ASSERT_EQ(0, vt_host(ans, sizeof(ans), "unplug plain0"))
		TH_LOG("%s", ans);
	EXPECT_EQ(SIGBUS, vt_touch_in_child(pmem));
	EXPECT_NE(0, vt_find("plain", 0, name, sizeof(name), 0));

	munmap(pmem, PLAIN_SIZE);
	munmap(dmem, DB_SIZE);
	close(pfd);
	close(dfd);

	/* Back again: the same memory, a working doorbell device. */
	ASSERT_EQ(0, vt_host(ans, sizeof(ans), "plug plain0")) TH_LOG("%s", ans);
	ASSERT_EQ(0, vt_find("plain", 0, name, sizeof(name), 30000));
	fd = vt_open("plain", 0, O_RDWR);
	ASSERT_LE(0, fd);
	pmem = mmap(NULL, PLAIN_SIZE, PROT_READ, MAP_SHARED, fd, 0);
	ASSERT_NE(MAP_FAILED, pmem);
	EXPECT_EQ(0, memcmp(pmem + BOOT_OFFSET, "IVSH", 4));
	EXPECT_EQ(1, pmem[BOOT_OFFSET + 100]);
	munmap(pmem, PLAIN_SIZE);
	close(fd);

	ASSERT_EQ(0, vt_host(ans, sizeof(ans), "plug db0")) TH_LOG("%s", ans);
	ASSERT_EQ(0, vt_find("doorbell", 0, name, sizeof(name), 30000));
	fd = vt_open("doorbell", 0, O_RDWR);
	ASSERT_LE(0, fd);
	ASSERT_EQ(0, vt_info(fd, &info));
	EXPECT_EQ(IVSHM_IRQ_MSIX, info.irq_mode);
	EXPECT_EQ(4, info.vectors);
	ASSERT_EQ(0, vt_bind(fd, 0, efd));
	ASSERT_EQ(0, vt_ring(fd, info.peer_id, 0));
	EXPECT_EQ(1, vt_efd_wait(efd, 3000));
	close(fd);
	close(efd);
	/*
	 * Both BAR2s were placed write-back at boot (with OVMF, by moving
	 * their root ports' windows): the devices plugged again land in the
	 * same windows, and are write-back as well.
	 */
	EXPECT_FALSE(vt_klog_has("BAR2", "cannot be mapped write-back"));
}

TEST_HARNESS_MAIN
