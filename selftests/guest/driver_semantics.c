// SPDX-License-Identifier: GPL-2.0-only
/*
 * In-guest tests of the driver's file semantics (uapi/linux/ivshm.h):
 * what each access mode may do, poll on devices that cannot interrupt,
 * O_NONBLOCK reads beside a blocked reader, the smallest argsz of each
 * ioctl, and the cap of 256 vectors (a doorbell addresses 8 bits).
 * Devices (selftests/vm/scenarios.py, "removal"): a 1 GiB plain device,
 * a 4 MiB doorbell device with 4 vectors and a 2 MiB one with 300.
 */
#include <pthread.h>
#include <stddef.h>
#include <sys/epoll.h>
#include <time.h>

#include "kselftest_harness.h"
#include "vmtest.h"

#define PLAIN_SIZE (1ull << 30)
#define DB_SIZE (4ull << 20)
#define WIDE_SIZE (2ull << 20)
#define offsetofend(T, m) (offsetof(T, m) + sizeof(((T *)0)->m))

#define EXPECT_ERRNO(err, call) do {		\
		errno = 0;			\
		EXPECT_EQ(-1, (call));		\
		EXPECT_EQ(err, errno);		\
	} while (0)

static int open_sized(const char *mode, unsigned long long size, int flags)
{
	char name[64], path[80];

	if (vt_find_size(mode, size, 0, name, sizeof(name), 5000))
		return -1;
	snprintf(path, sizeof(path), "/dev/%s", name);
	return open(path, flags);
}

static long long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000LL + ts.tv_nsec / 1000000;
}

/* A plain device has nothing to report while alive: poll sleeps. */
TEST(plain_poll_sleeps)
{
	int fd = open_sized("plain", PLAIN_SIZE, O_RDWR);
	struct pollfd p = { .events = POLLIN | POLLOUT };
	struct epoll_event ev = { .events = EPOLLIN };
	long long t0;
	int ep;

	ASSERT_LE(0, fd);
	p.fd = fd;
	EXPECT_EQ(0, poll(&p, 1, 0)) TH_LOG("revents 0x%x", p.revents);
	ep = epoll_create1(EPOLL_CLOEXEC);
	ASSERT_LE(0, ep);
	ASSERT_EQ(0, epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev));
	t0 = now_ms();
	EXPECT_EQ(0, epoll_wait(ep, &ev, 1, 300))
		TH_LOG("epoll reports 0x%x on a live plain device", ev.events);
	EXPECT_LE(250, now_ms() - t0);
	close(ep);
	close(fd);
}

/* Ringing is writing to the device: it needs a file open for writing. */
TEST(ring_needs_write_access)
{
	int rw = open_sized("doorbell", DB_SIZE, O_RDWR);
	int ro = open_sized("doorbell", DB_SIZE, O_RDONLY);
	int wo = open_sized("doorbell", DB_SIZE, O_WRONLY);
	int efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	struct ivshm_info info;

	ASSERT_LE(0, rw);
	ASSERT_LE(0, ro);
	ASSERT_LE(0, wo);
	ASSERT_LE(0, efd);
	ASSERT_EQ(0, vt_info(ro, &info));
	ASSERT_EQ(0, vt_bind(rw, 0, efd));
	EXPECT_ERRNO(EBADF, vt_ring(ro, info.peer_id, 0));
	usleep(200000);
	EXPECT_EQ(0, vt_efd_wait(efd, 0)) TH_LOG("a read-only open rang");
	EXPECT_EQ(0, vt_ring(wo, info.peer_id, 0));
	EXPECT_EQ(1, vt_efd_wait(efd, 3000));
	close(efd);
	close(wo);
	close(ro);
	close(rw);
}

/* Binding eventfds is receiving, like read(2): it needs read access. */
TEST(set_eventfds_needs_read_access)
{
	int rw = open_sized("doorbell", DB_SIZE, O_RDWR);
	int ro = open_sized("doorbell", DB_SIZE, O_RDONLY);
	int wo = open_sized("doorbell", DB_SIZE, O_WRONLY);
	int efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	struct ivshm_info info;

	ASSERT_LE(0, rw);
	ASSERT_LE(0, ro);
	ASSERT_LE(0, wo);
	ASSERT_LE(0, efd);
	ASSERT_EQ(0, vt_info(rw, &info));
	EXPECT_ERRNO(EBADF, vt_bind(wo, 1, efd));
	EXPECT_EQ(0, vt_bind(ro, 1, efd));
	ASSERT_EQ(0, vt_ring(rw, info.peer_id, 1));
	EXPECT_EQ(1, vt_efd_wait(efd, 3000));
	close(efd);
	close(wo);
	close(ro);
	close(rw);
}

/* A read-only open maps read-only for good: no mprotect to writable. */
TEST(mprotect_write_on_read_only_open)
{
	static const struct { const char *mode; unsigned long long size; }
	devs[] = { { "plain", PLAIN_SIZE }, { "doorbell", DB_SIZE } };

	for (unsigned int i = 0; i < 2; i++) {
		int fd = open_sized(devs[i].mode, devs[i].size, O_RDONLY);
		volatile unsigned char *m;

		ASSERT_LE(0, fd) TH_LOG("%s", devs[i].mode);
		EXPECT_EQ(MAP_FAILED, mmap(NULL, 4096, PROT_READ | PROT_WRITE,
					   MAP_SHARED, fd, 0));
		EXPECT_EQ(EACCES, errno);
		m = mmap(NULL, 4096, PROT_READ, MAP_SHARED, fd, 0);
		ASSERT_NE(MAP_FAILED, m);
		(void)m[0];
		EXPECT_ERRNO(EACCES, mprotect((void *)m, 4096,
					      PROT_READ | PROT_WRITE));
		EXPECT_ERRNO(EACCES, mprotect((void *)m, 4096, PROT_WRITE));
		EXPECT_EQ(0, mprotect((void *)m, 4096, PROT_READ));
		munmap((void *)m, 4096);
		close(fd);
	}
}

struct reader {
	int fd;
	ssize_t ret;
	int err;
	struct ivshm_event ev;
};

static void *blocking_read(void *arg)
{
	struct reader *r = arg;

	r->ret = read(r->fd, &r->ev, sizeof(r->ev));
	r->err = errno;
	return NULL;
}

struct ringer {
	int fd, ms;
	unsigned int peer, vector;
};

static void *ring_later(void *arg)
{
	struct ringer *r = arg;

	usleep(r->ms * 1000);
	vt_ring(r->fd, r->peer, r->vector);
	return NULL;
}

/*
 * O_NONBLOCK never sleeps, not even behind another reader of the same
 * file that is blocked waiting for an event.
 */
TEST(nonblock_read_beside_blocked_reader)
{
	struct reader r = { .fd = open_sized("doorbell", DB_SIZE, O_RDWR) };
	struct ringer later = { .fd = r.fd, .ms = 2000, .vector = 2 };
	struct ivshm_event ev;
	struct ivshm_info info;
	pthread_t rt, lt;
	long long t0, dt;
	ssize_t n;
	int err;

	ASSERT_LE(0, r.fd);
	ASSERT_EQ(0, vt_info(r.fd, &info));
	later.peer = info.peer_id;
	ASSERT_EQ(0, pthread_create(&rt, NULL, blocking_read, &r));
	usleep(300000);
	ASSERT_EQ(0, fcntl(r.fd, F_SETFL, fcntl(r.fd, F_GETFL) | O_NONBLOCK));
	/* Wakes the blocked reader, and this one if it wrongly waits. */
	ASSERT_EQ(0, pthread_create(&lt, NULL, ring_later, &later));
	t0 = now_ms();
	n = read(r.fd, &ev, sizeof(ev));
	err = errno;
	dt = now_ms() - t0;
	EXPECT_EQ(-1, n);
	EXPECT_EQ(EAGAIN, err);
	EXPECT_GT(100, dt) TH_LOG("O_NONBLOCK read took %lld ms", dt);
	pthread_join(lt, NULL);
	pthread_join(rt, NULL);
	EXPECT_EQ(sizeof(ev), r.ret) TH_LOG("blocked reader: errno %d", r.err);
	EXPECT_EQ(2, r.ev.vector);
	close(r.fd);
}

/*
 * The smallest argsz is the end of the last field of version 1 (so that
 * the structures can grow); less is EINVAL; more is fine while the bytes
 * the driver does not know are zero, E2BIG otherwise.
 */
TEST(argsz_bounds)
{
	int fd = open_sized("doorbell", DB_SIZE, O_RDWR);
	struct {
		struct ivshm_info info;
		uint8_t tail[16];
	} big;
	struct {
		struct ivshm_doorbell db;
		uint8_t tail[16];
	} bdb;
	const uint32_t info_v1 = offsetofend(struct ivshm_info, abi_version);
	const uint32_t db_v1 = offsetofend(struct ivshm_doorbell, vector);

	ASSERT_LE(0, fd);
	memset(&big, 0, sizeof(big));
	big.info.argsz = info_v1;
	EXPECT_EQ(0, ioctl(fd, IVSHM_GET_INFO, &big));
	EXPECT_EQ(IVSHM_ABI_VERSION, big.info.abi_version);
	EXPECT_EQ(DB_SIZE, big.info.size);
	memset(&big, 0, sizeof(big));
	big.info.argsz = info_v1 - 4;
	EXPECT_ERRNO(EINVAL, ioctl(fd, IVSHM_GET_INFO, &big));
	big.info.argsz = sizeof(big);
	EXPECT_EQ(0, ioctl(fd, IVSHM_GET_INFO, &big));
	EXPECT_EQ(DB_SIZE, big.info.size);
	memset(&big, 0, sizeof(big));
	big.info.argsz = sizeof(big);
	big.tail[15] = 1;
	EXPECT_ERRNO(E2BIG, ioctl(fd, IVSHM_GET_INFO, &big));

	/* Peer 65535 is absent: the device drops the doorbell. */
	memset(&bdb, 0, sizeof(bdb));
	bdb.db.peer = IVSHM_MAX_PEER;
	bdb.db.argsz = db_v1;
	EXPECT_EQ(0, ioctl(fd, IVSHM_RING, &bdb));
	bdb.db.argsz = db_v1 - 4;
	EXPECT_ERRNO(EINVAL, ioctl(fd, IVSHM_RING, &bdb));
	bdb.db.argsz = sizeof(bdb);
	EXPECT_EQ(0, ioctl(fd, IVSHM_RING, &bdb));
	bdb.tail[0] = 1;
	EXPECT_ERRNO(E2BIG, ioctl(fd, IVSHM_RING, &bdb));
	close(fd);
}

/*
 * A device with 300 MSI-X vectors: a doorbell carries 8 vector bits, so
 * the driver uses vectors 0..255 only, and all of them work.
 */
TEST(vectors_capped_at_256)
{
	int fd = open_sized("doorbell", WIDE_SIZE, O_RDWR);
	int efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	struct ivshm_info info;
	char name[64], buf[64];

	ASSERT_LE(0, fd) TH_LOG("no 2 MiB doorbell device (vectors=300)");
	ASSERT_LE(0, efd);
	ASSERT_EQ(0, vt_find_size("doorbell", WIDE_SIZE, 0, name,
				  sizeof(name), 0));
	ASSERT_EQ(0, vt_info(fd, &info));
	EXPECT_EQ(IVSHM_IRQ_MSIX, info.irq_mode);
	EXPECT_EQ(256, info.vectors);
	ASSERT_EQ(0, vt_sysfs(name, "vectors", buf, sizeof(buf)));
	EXPECT_STREQ("256", buf);
	ASSERT_EQ(256, info.vectors);

	EXPECT_ERRNO(EINVAL, vt_bind(fd, 256, efd));
	for (unsigned int v = 0; v < 256; v += 85) {
		ASSERT_EQ(0, vt_bind(fd, v, efd));
		ASSERT_EQ(0, vt_ring(fd, info.peer_id, v));
		EXPECT_EQ(1, vt_efd_wait(efd, 3000)) TH_LOG("vector %u", v);
		ASSERT_EQ(0, vt_bind(fd, v, -1));
	}
	close(efd);
	close(fd);
}

TEST_HARNESS_MAIN
