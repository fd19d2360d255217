// SPDX-License-Identifier: GPL-2.0-only
/*
 * The interrupt path's cost must not depend on how many files are open on
 * the device, and the bindings per vector are capped.
 *
 * A doorbell to ourselves (our own peer id) comes back as an MSI-X
 * interrupt; we time ring -> eventfd wake-up with 1 open file, 1,000 and
 * MANY_FILES, in interleaved passes, and compare medians within a pass.
 * Under TCG the absolute figures mean little; the ratio is what is checked.
 */
#include <sys/resource.h>
#include <time.h>

#include "kselftest_harness.h"
#include "vmtest.h"

#define MANY_FILES	8000
#define ROUNDS		3
#define PASSES		4
#define SAMPLES		51

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000000000ull + ts.tv_nsec;
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

static uint64_t median(uint64_t *v, int n)
{
	qsort(v, n, sizeof(*v), cmp_u64);
	return v[n / 2];
}

/* Median ns from ringing ourselves to the bound eventfd firing; 0 on loss. */
static uint64_t ring_to_eventfd(int fd, unsigned int self_id, int efd)
{
	uint64_t t[SAMPLES];

	for (int i = 0; i < SAMPLES; i++) {
		uint64_t t0 = now_ns();

		if (vt_ring(fd, self_id, 0))
			return 0;
		if (!vt_efd_wait(efd, 2000))
			return 0;
		t[i] = now_ns() - t0;
	}
	return median(t, SAMPLES);
}

FIXTURE(irq) {
	int fd, efd;
	struct ivshm_info info;
};

FIXTURE_SETUP(irq)
{
	struct rlimit rl = { MANY_FILES + 256, MANY_FILES + 256 };

	ASSERT_EQ(0, setrlimit(RLIMIT_NOFILE, &rl));
	self->fd = vt_open("doorbell", 0, O_RDWR);
	ASSERT_LE(0, self->fd) TH_LOG("no doorbell ivshm device");
	ASSERT_EQ(0, vt_info(self->fd, &self->info));
	ASSERT_EQ(IVSHM_IRQ_MSIX, self->info.irq_mode);
	self->efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	ASSERT_LE(0, self->efd);
	ASSERT_EQ(0, vt_bind(self->fd, 0, self->efd));
}

FIXTURE_TEARDOWN(irq)
{
	close(self->efd);
	close(self->fd);
}

/* Median over rounds of the ring->eventfd median with @n files open. */
static uint64_t cost_with_files(struct __test_metadata *_metadata,
				FIXTURE_DATA(irq) *self, const char *path,
				int n, int *extra)
{
	uint64_t v[ROUNDS];

	for (int r = 0; r < ROUNDS; r++) {
		for (int i = 0; i < n - 1; i++) {
			extra[i] = open(path, O_RDWR | O_CLOEXEC);
			if (extra[i] < 0)
				TH_LOG("open #%d: %m", i);
		}
		v[r] = ring_to_eventfd(self->fd, self->info.peer_id,
				       self->efd);
		for (int i = 0; i < n - 1; i++)
			close(extra[i]);
		if (!v[r])
			TH_LOG("self doorbell lost with %d files", n);
	}
	return median(v, ROUNDS);
}

TEST_F(irq, cost_independent_of_open_files)
{
	static int extra[MANY_FILES];
	double r1000 = 0, rmany = 0;
	char name[64], path[80];

	ASSERT_EQ(0, vt_find("doorbell", 0, name, sizeof(name), 5000));
	snprintf(path, sizeof(path), "/dev/%s", name);
	/* Warm up (first interrupts, page cache of the test), then measure. */
	ASSERT_NE(0, cost_with_files(_metadata, self, path, 1, extra));
	/*
	 * Each pass measures 1 file, 1000 and MANY_FILES back to back and
	 * takes their ratios, so that a slow spell of the machine (other
	 * guests, the host's own load) hits a ratio's two sides alike; the
	 * best ratio over the passes is the one a load spike did not inflate.
	 * Best-of-medians per count, taken from different passes, made a
	 * bounded handler look x1.51 on a loaded host.
	 */
	for (int k = 0; k < PASSES; k++) {
		uint64_t a = cost_with_files(_metadata, self, path, 1, extra);
		uint64_t b = cost_with_files(_metadata, self, path, 1000, extra);
		uint64_t c = cost_with_files(_metadata, self, path, MANY_FILES,
					     extra);

		ASSERT_TRUE(a && b && c);
		ksft_print_msg("pass %d: %llu ns with 1 file, %llu with 1000, %llu with %d\n",
			       k, (unsigned long long)a, (unsigned long long)b,
			       (unsigned long long)c, MANY_FILES);
		if (!k || (double)b / a < r1000)
			r1000 = (double)b / a;
		if (!k || (double)c / a < rmany)
			rmany = (double)c / a;
	}
	ksft_print_msg("ring->eventfd, best ratio to 1 file: x%.2f with 1000, x%.2f with %d\n",
		       r1000, rmany, MANY_FILES);
	/*
	 * Bounded work: close to the 1-file figure even with many files
	 * open.  A handler that walks open files made it x13.9 at MANY_FILES
	 * (6.12 under TCG); a debug kernel's bookkeeping of 8000 more files
	 * (KASAN, kmemleak) alone made it x1.27.  x2 lies well between.
	 */
	EXPECT_LE(rmany, 2.0);
}

TEST_F(irq, bindings_capped_per_vector)
{
	static int files[IVSHM_MAX_BINDINGS + 1], efds[IVSHM_MAX_BINDINGS + 1];
	char name[64], path[80];
	int i;

	ASSERT_EQ(0, vt_find("doorbell", 0, name, sizeof(name), 5000));
	snprintf(path, sizeof(path), "/dev/%s", name);
	/* The fixture's file holds one binding of vector 0 already. */
	for (i = 0; i < IVSHM_MAX_BINDINGS; i++) {
		files[i] = open(path, O_RDWR | O_CLOEXEC);
		efds[i] = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
		ASSERT_LE(0, files[i]);
		ASSERT_LE(0, efds[i]);
		if (i < IVSHM_MAX_BINDINGS - 1) {
			ASSERT_EQ(0, vt_bind(files[i], 0, efds[i]))
				TH_LOG("binding #%d: %m", i + 2);
		}
	}
	errno = 0;
	EXPECT_EQ(-1, vt_bind(files[i - 1], 0, efds[i - 1]));
	EXPECT_EQ(ENOSPC, errno);
	/* Rebinding a file that already has a binding is no new binding. */
	EXPECT_EQ(0, vt_bind(files[0], 0, efds[i - 1]));
	/* Other vectors have their own cap. */
	EXPECT_EQ(0, vt_bind(files[i - 1], 1, efds[i - 1]));
	/* Every bound eventfd fires; the replaced one does not. */
	ASSERT_EQ(0, vt_ring(self->fd, self->info.peer_id, 0));
	EXPECT_LE(1, vt_efd_wait(self->efd, 2000));
	for (int k = 1; k < IVSHM_MAX_BINDINGS - 1; k++) {
		EXPECT_LE(1, vt_efd_wait(efds[k], 2000)) TH_LOG("efd %d", k);
	}
	EXPECT_LE(1, vt_efd_wait(efds[i - 1], 2000));
	EXPECT_EQ(0, vt_efd_wait(efds[0], 100));
	/* Closing a file frees its slot. */
	close(files[1]);
	EXPECT_EQ(0, vt_bind(files[i - 1], 0, efds[i - 1]));
	for (int k = 0; k < IVSHM_MAX_BINDINGS; k++) {
		if (k != 1)
			close(files[k]);
		close(efds[k]);
	}
}

TEST_HARNESS_MAIN
