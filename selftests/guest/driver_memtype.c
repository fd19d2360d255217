// SPDX-License-Identifier: GPL-2.0-only
/*
 * Scenario "memtype": small plain and doorbell devices, whose BAR2 SeaBIOS
 * places in the 32-bit PCI hole (uncached by its MTRRs), are mapped
 * write-back by user space, on -M q35 and -M pc (ivshmtest.machine=), and
 * behind a PCIe root port on q35.  With OVMF (ivshmtest.firmware=ovmf)
 * only the part of the 32-bit window below 2 GiB is write-back: BAR2 must
 * move there, and behind the root port the port's prefetchable window
 * with it.  A guest with 2 GiB or more of RAM below 4 GiB has no such
 * place (ivshmtest.wb=none), and ivshm.relocate_bar2=0 moves nothing
 * (ivshmtest.wb=off): there the driver must warn.
 *
 * The type of the user PTEs: with raw PFNs (the default; the q35 guest)
 * every PTE the driver inserts takes its cache bits from the kernel's
 * memory type tree entry covering the page (vmf_insert_pfn ->
 * track_pfn_insert -> lookup_memtype), which
 * /sys/kernel/debug/x86/pat_memtype_list lists.  With struct pages (the pc
 * guest) PTEs take the mapping's own write-back protection and the entry
 * is the pages' linear mapping, which must agree.  Debian's kernels have no
 * CONFIG_PTDUMP_DEBUGFS to dump the PTEs directly.  Every page is touched
 * before the list is read, so the PTEs exist when it is.
 */
#include "kselftest_harness.h"
#include "vmtest.h"

#define PAT_LIST "/sys/kernel/debug/x86/pat_memtype_list"

FIXTURE(memtype) {
	int fd;
	unsigned char *mem;
	char name[64];
	unsigned long long start;	/* BAR2's physical address */
	const char *absent;		/* why this machine has no such device */
};

FIXTURE_VARIANT(memtype) {
	const char *mode;
	unsigned long long size;
	const char *hostmem;		/* its name in the host's requests */
	int q35_only;			/* behind a PCIe root port */
};

FIXTURE_VARIANT_ADD(memtype, plain_2m) {
	.mode = "plain", .size = 2 << 20, .hostmem = "plain2m",
};

FIXTURE_VARIANT_ADD(memtype, plain_4m) {
	.mode = "plain", .size = 4 << 20, .hostmem = "plain4m",
};

FIXTURE_VARIANT_ADD(memtype, plain_64m) {
	.mode = "plain", .size = 64 << 20, .hostmem = "plain64m",
};

FIXTURE_VARIANT_ADD(memtype, doorbell_2m) {
	.mode = "doorbell", .size = 2 << 20, .hostmem = "db2m",
};

FIXTURE_VARIANT_ADD(memtype, doorbell_4m) {
	.mode = "doorbell", .size = 4 << 20, .hostmem = "db4m",
};

FIXTURE_VARIANT_ADD(memtype, doorbell_64m) {
	.mode = "doorbell", .size = 64 << 20, .hostmem = "db64m",
};

FIXTURE_VARIANT_ADD(memtype, rootport_8m) {
	.mode = "plain", .size = 8 << 20, .hostmem = "rp8m", .q35_only = 1,
};

/* Start of BAR2 from the PCI device's sysfs resource file; 0 or -1. */
static int bar2_start(const char *name, unsigned long long *start)
{
	unsigned long long s, e, fl;
	char path[128], line[128];
	int i, ret = -1;
	FILE *f;

	snprintf(path, sizeof(path), "/sys/class/ivshm/%s/device/resource",
		 name);
	f = fopen(path, "r");
	if (!f)
		return -1;
	for (i = 0; i <= 2 && fgets(line, sizeof(line), f); i++)
		if (i == 2 && sscanf(line, "%llx %llx %llx", &s, &e, &fl) == 3) {
			*start = s;
			ret = 0;
		}
	fclose(f);
	return ret;
}

FIXTURE_SETUP(memtype)
{
	char path[80], machine[16];
	unsigned long long i;

	self->fd = -1;
	self->mem = MAP_FAILED;
	self->absent = NULL;
	if (variant->q35_only &&
	    vt_cmdline("ivshmtest.machine", machine, sizeof(machine)) &&
	    strcmp(machine, "q35")) {
		self->absent = "this machine has no PCIe root port";
		return;
	}
	ASSERT_EQ(0, vt_find_size(variant->mode, variant->size, 0,
				  self->name, sizeof(self->name), 5000))
		TH_LOG("no %s device of %llu bytes", variant->mode,
		       variant->size);
	ASSERT_EQ(0, bar2_start(self->name, &self->start));
	snprintf(path, sizeof(path), "/dev/%s", self->name);
	self->fd = open(path, O_RDWR);
	ASSERT_LE(0, self->fd);
	self->mem = mmap(NULL, variant->size, PROT_READ | PROT_WRITE,
			 MAP_SHARED, self->fd, 0);
	ASSERT_NE(MAP_FAILED, self->mem);
	/* Every PTE exists from here on. */
	for (i = 0; i < variant->size; i += 4096)
		(void)*(volatile unsigned char *)(self->mem + i);
}

FIXTURE_TEARDOWN(memtype)
{
	if (self->mem != MAP_FAILED)
		munmap(self->mem, variant->size);
	if (self->fd >= 0)
		close(self->fd);
}

/*
 * Every memory type entry overlapping BAR2 is write-back, and one covers
 * all of it.  The entries are logged: they are what the note shows.
 */
TEST_F(memtype, user_mapping_write_back)
{
	unsigned long long s, e, end = self->start + variant->size;
	char line[256], type[64], fw[16], wb[16];
	int covered = 0, overlaps = 0, not_wb = 0;
	FILE *f;

	if (self->absent)
		SKIP(return, "%s", self->absent);
	f = fopen(PAT_LIST, "r");
	ASSERT_NE(NULL, f) TH_LOG("%s: %s", PAT_LIST, strerror(errno));
	while (fgets(line, sizeof(line), f)) {
		if (sscanf(line, "PAT: [mem 0x%llx-0x%llx] %63s",
			   &s, &e, type) != 3 || e <= self->start || s >= end)
			continue;
		overlaps++;
		line[strcspn(line, "\n")] = 0;
		TH_LOG("%s (%s %llu bytes): %s", self->name, variant->mode,
		       variant->size, line);
		not_wb += strcmp(type, "write-back") != 0;
		covered |= s <= self->start && e >= end;
	}
	fclose(f);
	EXPECT_LT(0, overlaps) TH_LOG("no memory type entry for BAR2 at %#llx",
				      self->start);
	EXPECT_TRUE(covered);
	/*
	 * Where BAR2 must stay uncached, the driver must say why and what to
	 * change: ivshmtest.wb=none, OVMF with 2 GiB or more of RAM below
	 * 4 GiB, whose MTRRs leave no window write-back; ivshmtest.wb=off,
	 * SeaBIOS with ivshm.relocate_bar2=0, where nothing may move.
	 */
	if (vt_cmdline("ivshmtest.wb", wb, sizeof(wb))) {
		const char *why = strcmp(wb, "off") ? "max-ram-below-4g" :
				  "(relocate_bar2=0)";

		EXPECT_NE(0, not_wb);
		EXPECT_FALSE(vt_klog_has("BAR2 moved", "write-back"));
		snprintf(line, sizeof(line), "BAR2 [mem %#llx-", self->start);
		ASSERT_TRUE(vt_klog_has(line, why))
			TH_LOG("no warning \"%s...] cannot be mapped write-back: ... %s ...\"",
			       line, why);
		SKIP(return, "BAR2 stays uncached here (ivshmtest.wb=%s; the driver warned)",
		     wb);
	}
	EXPECT_EQ(0, not_wb);
	/*
	 * OVMF marks its whole 64-bit PCI window uncached in the MTRRs, where
	 * it puts a root port's prefetchable window: BAR2 is write-back only
	 * if the driver moved that window too, and said so.
	 */
	if (variant->q35_only &&
	    vt_cmdline("ivshmtest.firmware", fw, sizeof(fw)) &&
	    !strcmp(fw, "ovmf")) {
		snprintf(line, sizeof(line), "to [mem %#llx-", self->start);
		EXPECT_TRUE(vt_klog_has(line, "with its bridge's window"))
			TH_LOG("no log line \"BAR2 moved from ... %s...] with its bridge's window\"",
			       line);
	}
}

/*
 * Wherever BAR2 now lies, it is still the device's memory: bytes cross
 * both ways between the guest's mapping and the host's, at both ends.
 */
TEST_F(memtype, same_memory_both_ways)
{
	static const unsigned char from_guest[] = { 0x6d, 0x74, 0x79, 0x70 };
	unsigned long long last = variant->size - 64;
	char ans[64];

	if (self->absent)
		SKIP(return, "%s", self->absent);
	ASSERT_EQ(0, vt_host(ans, sizeof(ans), "shm-write %s %llu a1b2c3d4",
			     variant->hostmem, last));
	EXPECT_EQ(0, memcmp(self->mem + last, "\xa1\xb2\xc3\xd4", 4));
	memcpy(self->mem + 4096, from_guest, sizeof(from_guest));
	ASSERT_EQ(0, vt_host(ans, sizeof(ans), "shm-read %s 4096 4",
			     variant->hostmem));
	EXPECT_STREQ("6d747970", ans);
}

TEST_HARNESS_MAIN
