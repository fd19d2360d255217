// SPDX-License-Identifier: GPL-2.0-only
/*
 * In-guest tests of an ivshmem-doorbell device connected to ivshm-server,
 * with a host peer on the same server: doorbells to ourselves and both
 * ways with the host, eventfd bindings, poll and read records.
 */
#include <pthread.h>

#include "kselftest_harness.h"
#include "vmtest.h"

#define SHM_SIZE (4u << 20)
#define VECTORS 4

FIXTURE(db) {
	int fd;
	struct ivshm_info info;
	int efd[VECTORS];
};

FIXTURE_SETUP(db)
{
	self->fd = vt_open("doorbell", 0, O_RDWR);
	ASSERT_LE(0, self->fd) TH_LOG("no doorbell ivshm device");
	ASSERT_EQ(0, vt_info(self->fd, &self->info));
	for (int i = 0; i < VECTORS; i++) {
		self->efd[i] = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
		ASSERT_LE(0, self->efd[i]);
	}
}

FIXTURE_TEARDOWN(db)
{
	for (int i = 0; i < VECTORS; i++)
		close(self->efd[i]);
	close(self->fd);
}

TEST_F(db, info)
{
	char buf[64], ans[64];

	EXPECT_EQ(SHM_SIZE, self->info.size);
	EXPECT_EQ(IVSHM_MODE_DOORBELL, self->info.mode);
	EXPECT_EQ(IVSHM_IRQ_MSIX, self->info.irq_mode);
	EXPECT_EQ(VECTORS, self->info.vectors);
	ASSERT_EQ(0, vt_host(ans, sizeof(ans), "host-id"));
	/* The host peer connected first, so the guest has another id. */
	EXPECT_NE(atoi(ans), (int)self->info.peer_id);

	ASSERT_EQ(0, vt_find("doorbell", 0, buf, sizeof(buf), 0));
	ASSERT_EQ(0, vt_sysfs(buf, "peer_id", ans, sizeof(ans)));
	EXPECT_EQ((int)self->info.peer_id, atoi(ans));
	ASSERT_EQ(0, vt_sysfs(buf, "irq_mode", ans, sizeof(ans)));
	EXPECT_STREQ("msix", ans);
	ASSERT_EQ(0, vt_sysfs(buf, "vectors", ans, sizeof(ans)));
	EXPECT_STREQ("4", ans);
}

/* Ringing our own vector k signals the eventfd bound to k, and only it. */
TEST_F(db, self_ring_signals_only_bound_vector)
{
	for (int k = 0; k < VECTORS; k++) {
		for (int v = 0; v < VECTORS; v++)
			ASSERT_EQ(0, vt_bind(self->fd, v, self->efd[v]));
		ASSERT_EQ(0, vt_ring(self->fd, self->info.peer_id, k));
		EXPECT_LE(1, vt_efd_wait(self->efd[k], 2000))
			TH_LOG("vector %d did not fire", k);
		usleep(50000);
		for (int v = 0; v < VECTORS; v++) {
			uint64_t got = v == k ? 0 : vt_efd_wait(self->efd[v], 0);

			EXPECT_EQ(0, got) TH_LOG("vector %d fired for %d", v, k);
		}
	}
}

TEST_F(db, unbound_vector_signals_nothing)
{
	ASSERT_EQ(0, vt_bind(self->fd, 1, self->efd[1]));
	ASSERT_EQ(0, vt_bind(self->fd, 1, -1));
	ASSERT_EQ(0, vt_ring(self->fd, self->info.peer_id, 1));
	usleep(300000);
	EXPECT_EQ(0, vt_efd_wait(self->efd[1], 0));
}

TEST_F(db, poll_and_read_records)
{
	struct pollfd p = { .fd = self->fd, .events = POLLIN };
	struct ivshm_event ev[VECTORS];
	ssize_t n;
	int flags;

	/* Nothing fired since open yet (other tests' rings were before). */
	EXPECT_EQ(0, poll(&p, 1, 0));
	ASSERT_EQ(0, vt_ring(self->fd, self->info.peer_id, 3));
	ASSERT_EQ(1, poll(&p, 1, 2000));
	EXPECT_EQ(POLLIN, p.revents & (POLLIN | POLLERR | POLLHUP));
	n = read(self->fd, ev, sizeof(ev));
	ASSERT_EQ(sizeof(ev[0]), n);
	EXPECT_EQ(3, ev[0].vector);
	EXPECT_EQ(1, ev[0].count);
	EXPECT_EQ(0, ev[0].reserved);

	flags = fcntl(self->fd, F_GETFL);
	ASSERT_EQ(0, fcntl(self->fd, F_SETFL, flags | O_NONBLOCK));
	EXPECT_EQ(-1, read(self->fd, ev, sizeof(ev)));
	EXPECT_EQ(EAGAIN, errno);
	EXPECT_EQ(0, poll(&p, 1, 0));

	/* Two vectors fired: two records, lowest vector first. */
	ASSERT_EQ(0, vt_ring(self->fd, self->info.peer_id, 2));
	ASSERT_EQ(0, vt_ring(self->fd, self->info.peer_id, 0));
	usleep(300000);
	n = read(self->fd, ev, sizeof(ev));
	ASSERT_EQ(2 * sizeof(ev[0]), n);
	EXPECT_EQ(0, ev[0].vector);
	EXPECT_EQ(2, ev[1].vector);
}

static void *ring_later(void *arg)
{
	int *a = arg;

	usleep(200000);
	vt_ring(a[0], a[1], 2);
	return NULL;
}

TEST_F(db, blocking_read_wakes)
{
	struct ivshm_event ev;
	pthread_t t;
	int a[2] = { self->fd, (int)self->info.peer_id };

	ASSERT_EQ(0, pthread_create(&t, NULL, ring_later, a));
	ASSERT_EQ(sizeof(ev), read(self->fd, &ev, sizeof(ev)));
	EXPECT_EQ(2, ev.vector);
	pthread_join(t, NULL);
}

/* Every open file gets its own eventfd and read position. */
TEST_F(db, each_open_file_is_notified)
{
	int fd2 = vt_open("doorbell", 0, O_RDWR);
	struct pollfd p[2] = {
		{ .fd = self->fd, .events = POLLIN },
		{ .fd = fd2, .events = POLLIN },
	};
	struct ivshm_event ev;

	ASSERT_LE(0, fd2);
	ASSERT_EQ(0, vt_bind(self->fd, 0, self->efd[0]));
	ASSERT_EQ(0, vt_bind(fd2, 0, self->efd[1]));
	ASSERT_EQ(0, vt_ring(fd2, self->info.peer_id, 0));
	EXPECT_EQ(1, vt_efd_wait(self->efd[0], 2000));
	EXPECT_EQ(1, vt_efd_wait(self->efd[1], 2000));
	EXPECT_EQ(2, poll(p, 2, 2000));
	ASSERT_EQ(sizeof(ev), read(fd2, &ev, sizeof(ev)));
	EXPECT_EQ(0, poll(&p[1], 1, 0));
	EXPECT_EQ(1, poll(&p[0], 1, 0));
	close(fd2);
}

TEST_F(db, host_rings_guest)
{
	char ans[64];

	ASSERT_EQ(0, vt_bind(self->fd, 1, self->efd[1]));
	ASSERT_EQ(0, vt_host(ans, sizeof(ans), "ring %u 1",
			     self->info.peer_id));
	EXPECT_EQ(1, vt_efd_wait(self->efd[1], 3000));
}

TEST_F(db, guest_rings_host)
{
	char ans[64];
	int host;

	ASSERT_EQ(0, vt_host(ans, sizeof(ans), "host-id"));
	host = atoi(ans);
	for (int v = 0; v < VECTORS; v++) {
		ASSERT_EQ(0, vt_ring(self->fd, host, v));
		ASSERT_EQ(0, vt_host(ans, sizeof(ans), "wait %d 3000", v));
		EXPECT_LE(1, atoi(ans)) TH_LOG("host vector %d", v);
	}
}

TEST_F(db, memory_shared_with_host)
{
	unsigned char *mem, pat[32];
	char hex[80], ans[128];

	mem = mmap(NULL, SHM_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED,
		   self->fd, 0);
	ASSERT_NE(MAP_FAILED, mem);
	for (int i = 0; i < 32; i++)
		pat[i] = (unsigned char)(i * 13 + 1);
	memcpy(mem + 8192, pat, sizeof(pat));
	ASSERT_EQ(0, vt_host(ans, sizeof(ans), "shm-read server 8192 32"));
	vt_hex(hex, pat, sizeof(pat));
	EXPECT_STREQ(hex, ans);
	ASSERT_EQ(0, vt_host(ans, sizeof(ans), "shm-write server 16384 c0ffee"));
	EXPECT_EQ(0xc0, mem[16384]);
	EXPECT_EQ(0xee, mem[16386]);
	munmap(mem, SHM_SIZE);
}

/* An eventfd closed by its owner while bound stays valid for the driver. */
TEST_F(db, eventfd_closed_while_bound)
{
	int e = eventfd(0, EFD_CLOEXEC);

	ASSERT_LE(0, e);
	ASSERT_EQ(0, vt_bind(self->fd, 2, e));
	close(e);
	ASSERT_EQ(0, vt_ring(self->fd, self->info.peer_id, 2));
	usleep(200000);
	ASSERT_EQ(0, vt_bind(self->fd, 2, -1));
}

/* A storm of doorbells to ourselves does not hang the guest. */
TEST_F(db, interrupt_storm)
{
	uint64_t total = 0;

	for (int v = 0; v < VECTORS; v++)
		ASSERT_EQ(0, vt_bind(self->fd, v, self->efd[v]));
	for (int i = 0; i < 20000; i++)
		ASSERT_EQ(0, vt_ring(self->fd, self->info.peer_id, i % VECTORS));
	usleep(500000);
	for (int v = 0; v < VECTORS; v++)
		total += vt_efd_wait(self->efd[v], 1000);
	TH_LOG("20000 doorbells -> %llu eventfd counts (coalesced)",
	       (unsigned long long)total);
	EXPECT_LE(VECTORS, total);
	EXPECT_GE(20000, total);
}

struct race {
	int fd;
	unsigned int peer;
	volatile int stop;
};

static void *ring_storm(void *arg)
{
	struct race *r = arg;

	while (!r->stop)
		vt_ring(r->fd, r->peer, 0);
	return NULL;
}

/*
 * Interrupts racing with binding, unbinding, closing eventfds and closing
 * other files of the device: nothing may break (the kernel log is checked
 * after the run).
 */
TEST_F(db, interrupts_race_with_bind_and_close)
{
	struct race r = { .fd = self->fd, .peer = self->info.peer_id };
	pthread_t t;

	ASSERT_EQ(0, pthread_create(&t, NULL, ring_storm, &r));
	for (int i = 0; i < 2000; i++) {
		int fd2 = vt_open("doorbell", 0, O_RDWR);
		int e = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);

		ASSERT_LE(0, fd2);
		ASSERT_LE(0, e);
		ASSERT_EQ(0, vt_bind(fd2, 0, e));
		ASSERT_EQ(0, vt_bind(self->fd, 0, e));
		close(e);
		if (i & 1)
			ASSERT_EQ(0, vt_bind(fd2, 0, -1));
		close(fd2);
		ASSERT_EQ(0, vt_bind(self->fd, 0, -1));
	}
	r.stop = 1;
	pthread_join(t, NULL);
}

TEST_HARNESS_MAIN
