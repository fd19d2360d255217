// SPDX-License-Identifier: GPL-2.0-only
/*
 * Huge mappings of BAR2 (scenario basic: a 1 GiB plain device, raw PFN
 * mappings).  Kernels with huge PFN entries (6.12 with THP, so not
 * PREEMPT_RT: a "special" bit in PMDs and PUDs) get one 1 GiB entry (x86-64; arm64 has no PUD PFN entries) or
 * 2 MiB entries where the mapping and BAR2 are aligned alike, and 4 KiB
 * pages elsewhere; 6.1 has no such bit and always maps 4 KiB pages.  The
 * device's sysfs "faults" counts each kind; the module parameter
 * huge_mappings turns them off, for the before/after figures.
 */
#include <stdint.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>

#include "kselftest_harness.h"
#include "vmtest.h"

#define SZ_2M	(2ul << 20)
#define SZ_1G	(1ul << 30)
#define PARAM	"/sys/module/ivshm/parameters/huge_mappings"
/* Where tests write: far past the ring region formatted at offset 0. */
#define SCRATCH	(768ul << 20)

enum { PTE, PMD, PUD };

static int set_huge(int on)
{
	int fd = open(PARAM, O_WRONLY);
	int ok;

	if (fd < 0)
		return -1;
	ok = write(fd, on ? "1" : "0", 1) == 1;
	close(fd);
	return ok ? 0 : -1;
}

/*
 * Map @len bytes of BAR2 from @off at an address @skew bytes past a
 * multiple of @align.
 */
static unsigned char *map_at(int fd, size_t len, off_t off, size_t align,
			     size_t skew)
{
	size_t span = len + 2 * align;
	unsigned char *r, *a, *p;

	r = mmap(NULL, span, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS |
		 MAP_NORESERVE, -1, 0);
	if (r == MAP_FAILED)
		return r;
	a = (unsigned char *)(((uintptr_t)r + align - 1) & ~(align - 1)) +
	    skew;
	p = mmap(a, len, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_FIXED, fd,
		 off);
	if (p == MAP_FAILED) {
		munmap(r, span);
		return p;
	}
	if (a > r)
		munmap(r, a - r);
	munmap(a + len, r + span - (a + len));
	return p;
}

/* Read every 4 KiB page: minor faults taken, and nanoseconds. */
static uint64_t touch(const volatile unsigned char *p, size_t len,
		      long *minflt)
{
	struct rusage r0, r1;
	struct timespec t0, t1;
	unsigned char sum = 0;

	getrusage(RUSAGE_SELF, &r0);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (size_t i = 0; i < len; i += 4096)
		sum += p[i];
	clock_gettime(CLOCK_MONOTONIC, &t1);
	getrusage(RUSAGE_SELF, &r1);
	*minflt = r1.ru_minflt - r0.ru_minflt + (sum & 0);
	return (t1.tv_sec - t0.tv_sec) * 1000000000ull + t1.tv_nsec -
	       t0.tv_nsec;
}

FIXTURE(huge) {
	int fd, pud;
	int huge;
	char name[64];
};

FIXTURE_SETUP(huge)
{
	char path[80];

	ASSERT_EQ(0, vt_find_size("plain", SZ_1G, 0, self->name,
				  sizeof(self->name), 5000));
	snprintf(path, sizeof(path), "/dev/%s", self->name);
	self->fd = open(path, O_RDWR);
	ASSERT_LE(0, self->fd);
	self->huge = vt_huge_pfn_kernel(&self->pud);
	/* The parameter exists exactly where huge entries do. */
	ASSERT_EQ(self->huge, access(PARAM, W_OK) == 0);
	if (self->huge)
		ASSERT_EQ(0, set_huge(1));
}

FIXTURE_TEARDOWN(huge)
{
	if (self->huge)
		set_huge(1);
	close(self->fd);
}

/* All of BAR2 at a 1 GiB-aligned address, with and without huge entries. */
TEST_F(huge, whole_bar_before_and_after)
{
	long long f0[3], f1[3], f2[3];
	unsigned char *p;
	uint64_t ns_huge, ns_small;
	long flt_huge, flt_small;

	vt_faults(self->name, f0);
	ASSERT_LE(0, f0[PTE]);
	p = map_at(self->fd, SZ_1G, 0, SZ_1G, 0);
	ASSERT_NE(MAP_FAILED, p);
	ns_huge = touch(p, SZ_1G, &flt_huge);
	munmap(p, SZ_1G);
	vt_faults(self->name, f1);

	if (self->huge)
		ASSERT_EQ(0, set_huge(0));
	p = map_at(self->fd, SZ_1G, 0, SZ_1G, 0);
	ASSERT_NE(MAP_FAILED, p);
	ns_small = touch(p, SZ_1G, &flt_small);
	munmap(p, SZ_1G);
	vt_faults(self->name, f2);

	ksft_print_msg("1 GiB, every page read: huge entries %s: %lu faults, %.1f ms (PTE %lld PMD %lld PUD %lld); 4 KiB pages: %lu faults, %.1f ms (PTE %lld)\n",
		       self->huge ? "on" : "unavailable", flt_huge,
		       ns_huge / 1e6, f1[PTE] - f0[PTE], f1[PMD] - f0[PMD],
		       f1[PUD] - f0[PUD], flt_small, ns_small / 1e6,
		       f2[PTE] - f1[PTE]);
	/* 4 KiB pages: one fault maps an aligned 2 MiB block of them. */
	EXPECT_EQ(512, f2[PTE] - f1[PTE]);
	EXPECT_EQ(0, f2[PMD] - f1[PMD] + f2[PUD] - f1[PUD]);
	if (!self->huge) {
		EXPECT_EQ(512, f1[PTE] - f0[PTE]);
		EXPECT_EQ(0, f1[PMD] - f0[PMD] + f1[PUD] - f0[PUD]);
	} else if (self->pud) {
		EXPECT_EQ(1, f1[PUD] - f0[PUD]);
		EXPECT_EQ(0, f1[PTE] - f0[PTE] + f1[PMD] - f0[PMD]);
	} else {
		EXPECT_EQ(512, f1[PMD] - f0[PMD]);
		EXPECT_EQ(0, f1[PTE] - f0[PTE]);
	}
}

/*
 * 2 MiB-aligned, not 1 GiB: 2 MiB entries (4 KiB pages on 6.1);
 * misaligned: 4 KiB pages, the same bytes.
 */
TEST_F(huge, pmd_where_aligned_pte_elsewhere)
{
	long long f0[3], f1[3], f2[3];
	unsigned char *a, *b;
	long flt;

	vt_faults(self->name, f0);
	/* 8 MiB of BAR2 at an address 2 MiB past a 1 GiB boundary. */
	a = map_at(self->fd, 4 * SZ_2M, SCRATCH, SZ_1G, SZ_2M);
	ASSERT_NE(MAP_FAILED, a);
	touch(a, 4 * SZ_2M, &flt);
	vt_faults(self->name, f1);
	EXPECT_EQ(self->huge ? 4 : 0, f1[PMD] - f0[PMD]);
	EXPECT_EQ(self->huge ? 0 : 4, f1[PTE] - f0[PTE]);
	EXPECT_EQ(0, f1[PUD] - f0[PUD]);

	b = map_at(self->fd, 4 * SZ_2M, SCRATCH, SZ_2M, 4096);
	ASSERT_NE(MAP_FAILED, b);
	for (size_t i = 0; i < 4 * SZ_2M; i += 4096 + 64)
		b[i] = (unsigned char)(i >> 12);
	for (size_t i = 0; i < 4 * SZ_2M; i += 4096 + 64)
		ASSERT_EQ((unsigned char)(i >> 12), a[i]);
	vt_faults(self->name, f2);
	EXPECT_EQ(0, f2[PMD] - f1[PMD] + f2[PUD] - f1[PUD]);
	EXPECT_LT(0, f2[PTE] - f1[PTE]);
	munmap(a, 4 * SZ_2M);
	munmap(b, 4 * SZ_2M);

	/* mmap(NULL, ...) picks an address that lets 2 MiB entries in. */
	if (self->huge) {
		a = mmap(NULL, 64 * SZ_2M, PROT_READ, MAP_SHARED, self->fd,
			 SZ_2M);
		ASSERT_NE(MAP_FAILED, a);
		EXPECT_EQ(0, (uintptr_t)a % SZ_2M);
		munmap(a, 64 * SZ_2M);
	}
}

/*
 * A huge entry split by a partial munmap, and copied by fork: the rest of
 * the block keeps the same memory in both.
 */
TEST_F(huge, split_and_fork_keep_the_memory)
{
	unsigned char *p;
	long long f0[3], f1[3];
	int status;
	pid_t pid;

	p = map_at(self->fd, 2 * SZ_2M, SCRATCH, SZ_2M, 0);
	ASSERT_NE(MAP_FAILED, p);
	vt_faults(self->name, f0);
	p[0] = 0x11;
	p[SZ_2M + 8192] = 0x22;
	vt_faults(self->name, f1);
	if (self->huge)
		EXPECT_EQ(2, f1[PMD] - f0[PMD] + f1[PUD] - f0[PUD]);
	/* Split the second block. */
	ASSERT_EQ(0, munmap(p + SZ_2M + 4096, 4096));
	EXPECT_EQ(0x22, p[SZ_2M + 8192]);
	p[SZ_2M] = 0x33;

	pid = fork();
	ASSERT_LE(0, pid);
	if (!pid) {
		int ok = p[0] == 0x11 && p[SZ_2M + 8192] == 0x22 &&
			 p[SZ_2M] == 0x33;

		p[100] = 0x44;	/* shared: the parent sees it */
		_exit(ok ? 0 : 1);
	}
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	EXPECT_EQ(0x44, p[100]);
	munmap(p, SZ_2M + 4096);
	munmap(p + SZ_2M + 8192, SZ_2M - 8192);
}

TEST_HARNESS_MAIN
