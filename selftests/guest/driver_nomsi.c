// SPDX-License-Identifier: GPL-2.0-only
/*
 * In-guest tests with the guest booted pci=nomsi: the doorbell device still
 * binds and maps, sending doorbells works, and the calls that need
 * incoming interrupts fail with ENXIO instead of hanging.
 */
#include "kselftest_harness.h"
#include "vmtest.h"

#define SHM_SIZE (4u << 20)

FIXTURE(nomsi) {
	int fd;
	struct ivshm_info info;
};

FIXTURE_SETUP(nomsi)
{
	self->fd = vt_open("doorbell", 0, O_RDWR);
	ASSERT_LE(0, self->fd) TH_LOG("doorbell device did not bind");
	ASSERT_EQ(0, vt_info(self->fd, &self->info));
}

FIXTURE_TEARDOWN(nomsi)
{
	close(self->fd);
}

TEST_F(nomsi, info_says_no_interrupts)
{
	char name[64], buf[64];

	EXPECT_EQ(IVSHM_MODE_DOORBELL, self->info.mode);
	EXPECT_EQ(IVSHM_IRQ_NONE, self->info.irq_mode);
	EXPECT_EQ(0, self->info.vectors);
	EXPECT_EQ(SHM_SIZE, self->info.size);
	ASSERT_EQ(0, vt_find("doorbell", 0, name, sizeof(name), 0));
	ASSERT_EQ(0, vt_sysfs(name, "irq_mode", buf, sizeof(buf)));
	EXPECT_STREQ("none", buf);
}

TEST_F(nomsi, interrupt_calls_fail_with_enxio)
{
	struct ivshm_event ev;
	struct pollfd p = { .fd = self->fd, .events = POLLIN };
	int efd = eventfd(0, EFD_CLOEXEC);

	ASSERT_LE(0, efd);
	errno = 0;
	EXPECT_EQ(-1, vt_bind(self->fd, 0, efd));
	EXPECT_EQ(ENXIO, errno);
	errno = 0;
	EXPECT_EQ(-1, read(self->fd, &ev, sizeof(ev)));
	EXPECT_EQ(ENXIO, errno);
	/*
	 * Never readable, and no error either: an event loop watching the
	 * device for removal must not spin (EPOLLERR is level-triggered).
	 */
	EXPECT_EQ(0, poll(&p, 1, 200));
	EXPECT_EQ(0, p.revents);
	close(efd);
}

TEST_F(nomsi, ringing_the_host_still_works)
{
	char ans[64];
	int host;

	ASSERT_EQ(0, vt_host(ans, sizeof(ans), "host-id"));
	host = atoi(ans);
	ASSERT_EQ(0, vt_ring(self->fd, host, 1));
	ASSERT_EQ(0, vt_host(ans, sizeof(ans), "wait 1 3000"));
	EXPECT_LE(1, atoi(ans));
}

TEST_F(nomsi, memory_still_shared)
{
	unsigned char *mem;
	char ans[64];

	mem = mmap(NULL, SHM_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED,
		   self->fd, 0);
	ASSERT_NE(MAP_FAILED, mem);
	memcpy(mem + 4096, "\x12\x34\x56\x78", 4);
	ASSERT_EQ(0, vt_host(ans, sizeof(ans), "shm-read server 4096 4"));
	EXPECT_STREQ("12345678", ans);
	munmap(mem, SHM_SIZE);
}

/* One kernel log line says why. */
TEST(log_says_why)
{
	char line[512];
	int n = 0;
	FILE *f = popen("dmesg", "r");

	ASSERT_NE(NULL, f);
	while (fgets(line, sizeof(line), f))
		if (strstr(line, "doorbell interrupts unavailable"))
			n++;
	pclose(f);
	EXPECT_EQ(1, n);
}

TEST_HARNESS_MAIN
