// SPDX-License-Identifier: GPL-2.0-only
/*
 * arm64 (scenario basic on the arm64 lane): a user mapping of BAR2 through
 * the driver is Normal memory, not Device memory.  arm64 Linux exposes no
 * user page table attributes, so the test asks the CPU: an unaligned load
 * from Device memory takes an alignment fault (SIGBUS, BUS_ADRALN), from
 * Normal memory it does not.
 *
 * The control: with the driver unbound, sysfs's resource2 maps the same
 * BAR as Device-nGnRE (pgprot_device); if an unaligned load there does not
 * fault, this CPU (or emulator) cannot tell the types apart and the test
 * is skipped.  The driver is bound again before the check through it.
 * Runs last: the device is bound anew.
 */
#include "kselftest_harness.h"
#include "vmtest.h"

#include <setjmp.h>
#include <signal.h>

static sigjmp_buf fault_jmp;
static volatile int fault_code;

static void on_sigbus(int sig, siginfo_t *si, void *ctx)
{
	fault_code = si->si_code;
	siglongjmp(fault_jmp, 1);
}

/* 1 if an 8-byte load at p + 1 faults with SIGBUS; the code in *code. */
static int unaligned_load_faults(const volatile unsigned char *p, int *code)
{
	struct sigaction sa = { .sa_sigaction = on_sigbus,
				.sa_flags = SA_SIGINFO }, old;
	int faulted = 0;

	sigaction(SIGBUS, &sa, &old);
	if (sigsetjmp(fault_jmp, 1) == 0) {
#if defined(__aarch64__)
		uint64_t v;

		/* One ldr: the compiler must not split or align it. */
		asm volatile("ldr %0, [%1]" : "=r"(v) : "r"(p + 1) : "memory");
#endif
	} else {
		faulted = 1;
		*code = fault_code;
	}
	sigaction(SIGBUS, &old, NULL);
	return faulted;
}

static int write_str(const char *path, const char *s)
{
	int fd = open(path, O_WRONLY);
	ssize_t n;

	if (fd < 0)
		return -1;
	n = write(fd, s, strlen(s));
	close(fd);
	return n == (ssize_t)strlen(s) ? 0 : -1;
}

TEST(bar2_user_mapping_is_normal_memory)
{
	char name[64], link[256], path[320], bdf[64];
	unsigned char *dev, *mem;
	int fd, control, code = 0;
	ssize_t n;

#if !defined(__aarch64__)
	SKIP(return, "arm64 only: x86 checks its PAT type (driver_plain)");
#endif
	ASSERT_EQ(0, vt_find("plain", 0, name, sizeof(name), 5000));
	snprintf(path, sizeof(path), "/sys/class/ivshm/%s/device", name);
	n = readlink(path, link, sizeof(link) - 1);
	ASSERT_LT(0, n);
	link[n] = 0;
	snprintf(bdf, sizeof(bdf), "%s", strrchr(link, '/') + 1);

	/* The control: Device-nGnRE through sysfs, the driver unbound. */
	ASSERT_EQ(0, write_str("/sys/bus/pci/drivers/ivshm/unbind", bdf));
	snprintf(path, sizeof(path), "/sys/bus/pci/devices/%s/resource2", bdf);
	fd = open(path, O_RDWR | O_SYNC);
	ASSERT_LE(0, fd);
	dev = mmap(NULL, 4096, PROT_READ, MAP_SHARED, fd, 0);
	close(fd);
	ASSERT_NE(MAP_FAILED, dev);
	control = unaligned_load_faults(dev, &code);

	munmap(dev, 4096);
	ASSERT_EQ(0, write_str("/sys/bus/pci/drivers/ivshm/bind", bdf));
	if (!control)
		SKIP(return, "an unaligned load from Device memory did not fault here: memory types cannot be told apart");
	TH_LOG("control: unaligned load from resource2 (Device): SIGBUS code %d",
	       code);
	EXPECT_EQ(BUS_ADRALN, code);

	/* Through the driver: Normal memory, no fault. */
	ASSERT_EQ(0, vt_find("plain", 0, name, sizeof(name), 5000));
	snprintf(path, sizeof(path), "/dev/%s", name);
	fd = open(path, O_RDWR);
	ASSERT_LE(0, fd);
	mem = mmap(NULL, 4096, PROT_READ, MAP_SHARED, fd, 0);
	close(fd);
	ASSERT_NE(MAP_FAILED, mem);
	code = 0;
	EXPECT_EQ(0, unaligned_load_faults(mem, &code))
		TH_LOG("unaligned load through the driver's mapping: SIGBUS code %d (Device memory?)",
		       code);
	munmap(mem, 4096);
}

TEST_HARNESS_MAIN
