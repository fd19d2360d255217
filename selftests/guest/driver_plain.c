// SPDX-License-Identifier: GPL-2.0-only
/*
 * In-guest tests of an ivshmem-plain device: info, mmap shared with the
 * host's file, write-back memory type, refused mappings, no interrupts.
 */
#include "kselftest_harness.h"
#include "vmtest.h"

/* The plain device is 1 GiB (selftests/vm/scenarios.py). */
#define SHM_SIZE (1u << 30)

/*
 * What selftests/vm/scenarios.py writes at BOOT_OFFSET before boot, past
 * the ring region (labelled "demo-plain") it formats at offset 0.
 */
#define BOOT_OFFSET (512u << 10)
static const unsigned char boot_pattern[] = { 0x49, 0x56, 0x53, 0x48 };

FIXTURE(plain) {
	int fd;
	unsigned char *mem;
	char name[64];
};

FIXTURE_SETUP(plain)
{
	char path[80];

	self->mem = MAP_FAILED;
	ASSERT_EQ(0, vt_find("plain", 0, self->name, sizeof(self->name), 5000))
		TH_LOG("no plain ivshm device");
	snprintf(path, sizeof(path), "/dev/%s", self->name);
	self->fd = open(path, O_RDWR);
	ASSERT_LE(0, self->fd);
	self->mem = mmap(NULL, SHM_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED,
			 self->fd, 0);
	ASSERT_NE(MAP_FAILED, self->mem);
}

FIXTURE_TEARDOWN(plain)
{
	if (self->mem != MAP_FAILED)
		munmap(self->mem, SHM_SIZE);
	close(self->fd);
}

TEST_F(plain, info)
{
	struct ivshm_info info;
	char buf[64];

	ASSERT_EQ(0, vt_info(self->fd, &info));
	EXPECT_EQ(sizeof(info), info.argsz);
	EXPECT_EQ(SHM_SIZE, info.size);
	EXPECT_EQ(IVSHM_MODE_PLAIN, info.mode);
	EXPECT_EQ(IVSHM_IRQ_NONE, info.irq_mode);
	EXPECT_EQ(0, info.vectors);
	EXPECT_EQ(0, info.peer_id);
	EXPECT_EQ(1, info.revision);
	EXPECT_EQ(IVSHM_ABI_VERSION, info.abi_version);

	ASSERT_EQ(0, vt_sysfs(self->name, "size", buf, sizeof(buf)));
	EXPECT_STREQ("1073741824", buf);
	ASSERT_EQ(0, vt_sysfs(self->name, "mode", buf, sizeof(buf)));
	EXPECT_STREQ("plain", buf);
	ASSERT_EQ(0, vt_sysfs(self->name, "irq_mode", buf, sizeof(buf)));
	EXPECT_STREQ("none", buf);
	ASSERT_EQ(0, vt_sysfs(self->name, "vectors", buf, sizeof(buf)));
	EXPECT_STREQ("0", buf);
}

TEST_F(plain, host_pattern_before_boot)
{
	ASSERT_EQ(0, memcmp(self->mem + BOOT_OFFSET, boot_pattern,
			    sizeof(boot_pattern)));
	/* Then 0, 1, 2, ... 59 */
	for (int i = 0; i < 60; i++)
		ASSERT_EQ(i, self->mem[BOOT_OFFSET + 4 + i]);
}

TEST_F(plain, shared_both_ways_with_host)
{
	unsigned char pat[64];
	char hex[200], ans[8192];
	int i;

	for (i = 0; i < 64; i++)
		pat[i] = (unsigned char)(0xa5 ^ (i * 7));
	memcpy(self->mem + (1 << 20), pat, sizeof(pat));
	ASSERT_EQ(0, vt_host(ans, sizeof(ans), "shm-read plain %d 64", 1 << 20));
	vt_hex(hex, pat, sizeof(pat));
	EXPECT_STREQ(hex, ans);

	/* The last page, written by the host while we run. */
	ASSERT_EQ(0, vt_host(ans, sizeof(ans), "shm-write plain %u 0badcafe",
			     SHM_SIZE - 4));
	EXPECT_EQ(0x0b, self->mem[SHM_SIZE - 4]);
	EXPECT_EQ(0xad, self->mem[SHM_SIZE - 3]);
	EXPECT_EQ(0xca, self->mem[SHM_SIZE - 2]);
	EXPECT_EQ(0xfe, self->mem[SHM_SIZE - 1]);
}

TEST_F(plain, subrange_and_second_open)
{
	char path[80];
	unsigned char *sub;
	int fd2;

	snprintf(path, sizeof(path), "/dev/%s", self->name);
	fd2 = open(path, O_RDWR);
	ASSERT_LE(0, fd2);
	sub = mmap(NULL, 8192, PROT_READ | PROT_WRITE, MAP_SHARED, fd2,
		   3 * 4096);
	ASSERT_NE(MAP_FAILED, sub);
	self->mem[3 * 4096 + 5] = 0x5a;
	EXPECT_EQ(0x5a, sub[5]);
	sub[4096 + 9] = 0x77;
	EXPECT_EQ(0x77, self->mem[4 * 4096 + 9]);
	munmap(sub, 8192);
	close(fd2);
}

TEST_F(plain, mmap_refused)
{
	void *p;

	p = mmap(NULL, 4096, PROT_READ, MAP_PRIVATE, self->fd, 0);
	EXPECT_EQ(MAP_FAILED, p);
	EXPECT_EQ(EINVAL, errno);

	p = mmap(NULL, 4096, PROT_READ, MAP_SHARED, self->fd, SHM_SIZE);
	EXPECT_EQ(MAP_FAILED, p);
	EXPECT_EQ(EINVAL, errno);

	p = mmap(NULL, SHM_SIZE + 4096, PROT_READ, MAP_SHARED, self->fd, 0);
	EXPECT_EQ(MAP_FAILED, p);
	EXPECT_EQ(EINVAL, errno);

	p = mmap(NULL, 8192, PROT_READ, MAP_SHARED, self->fd,
		 SHM_SIZE - 4096);
	EXPECT_EQ(MAP_FAILED, p);
	EXPECT_EQ(EINVAL, errno);

	p = mmap(NULL, 4096, PROT_READ, MAP_SHARED, self->fd,
		 (off_t)1 << 60);
	EXPECT_EQ(MAP_FAILED, p);
	EXPECT_EQ(EINVAL, errno);
}

/* A read-only open maps read-only, shared; never writable. */
TEST_F(plain, read_only_open)
{
	char path[80];
	unsigned char *p;
	int fd;

	snprintf(path, sizeof(path), "/dev/%s", self->name);
	fd = open(path, O_RDONLY);
	ASSERT_LE(0, fd);
	/* Past the ring region header and the boot pattern. */
	p = mmap(NULL, 4096, PROT_READ, MAP_SHARED, fd, 600 << 10);
	ASSERT_NE(MAP_FAILED, p);
	self->mem[(600 << 10) + 7] = 0x42;
	EXPECT_EQ(0x42, p[7]);
	munmap(p, 4096);
	EXPECT_EQ(MAP_FAILED, mmap(NULL, 4096, PROT_READ | PROT_WRITE,
				   MAP_SHARED, fd, 0));
	EXPECT_EQ(EACCES, errno);
	close(fd);
}

/* The guest's PAT table must list BAR2 as write-back while mapped. */
TEST_F(plain, mapped_write_back)
{
	char res[128], path[256], line[256];
	unsigned long long start = 0, end = 0, flags, s, e;
	int found = 0;
	FILE *f;

#if !defined(__x86_64__)
	SKIP(return, "PAT is x86's; arm64 checks its type in driver_memattr");
#endif
	self->mem[BOOT_OFFSET + 0x100] = 1;	/* fault it in */
	snprintf(path, sizeof(path), "/sys/class/ivshm/%s/device/resource",
		 self->name);
	f = fopen(path, "r");
	ASSERT_NE(NULL, f);
	for (int i = 0; i <= 2; i++)
		ASSERT_NE(NULL, fgets(res, sizeof(res), f));
	fclose(f);
	ASSERT_EQ(3, sscanf(res, "%llx %llx %llx", &start, &end, &flags));

	f = fopen("/sys/kernel/debug/x86/pat_memtype_list", "r");
	ASSERT_NE(NULL, f) TH_LOG("no pat_memtype_list (PAT disabled?)");
	while (fgets(line, sizeof(line), f)) {
		char type[32];

		/* PAT: [mem 0x...-0x...] write-back */
		if (sscanf(line, "PAT: [mem 0x%llx-0x%llx] %31s", &s, &e,
			   type) != 3)
			continue;
		if (s <= start && e >= end + 1) {
			found = 1;
			line[strcspn(line, "\n")] = 0;
			TH_LOG("%s (BAR2 %#llx-%#llx)", line, start, end);
			EXPECT_STREQ("write-back", type);
		}
	}
	fclose(f);
	EXPECT_EQ(1, found);
}

TEST_F(plain, no_interrupts)
{
	struct ivshm_event ev;
	struct pollfd p = { .fd = self->fd, .events = POLLIN };
	int efd = eventfd(0, EFD_CLOEXEC);

	ASSERT_LE(0, efd);
	EXPECT_EQ(-1, vt_bind(self->fd, 0, efd));
	EXPECT_EQ(EOPNOTSUPP, errno);
	EXPECT_EQ(-1, vt_ring(self->fd, 0, 0));
	EXPECT_EQ(EOPNOTSUPP, errno);
	EXPECT_EQ(-1, read(self->fd, &ev, sizeof(ev)));
	EXPECT_EQ(EOPNOTSUPP, errno);
	/* Polls as 0 while alive, so an event loop can watch for removal. */
	EXPECT_EQ(0, poll(&p, 1, 200));
	EXPECT_EQ(0, p.revents);
	close(efd);
}

TEST_HARNESS_MAIN
