// SPDX-License-Identifier: GPL-2.0-only
/*
 * In-guest tests of bad input to the driver's ioctls and read: each gets
 * its documented errno (uapi/linux/ivshm.h) and the kernel log stays clean.
 */
#include "kselftest_harness.h"
#include "vmtest.h"

FIXTURE(bad) {
	int fd;
	struct ivshm_info info;
};

FIXTURE_SETUP(bad)
{
	self->fd = vt_open("doorbell", 0, O_RDWR);
	ASSERT_LE(0, self->fd);
	ASSERT_EQ(0, vt_info(self->fd, &self->info));
}

FIXTURE_TEARDOWN(bad)
{
	close(self->fd);
}

#define EXPECT_ERRNO(err, call) do {		\
		errno = 0;			\
		EXPECT_EQ(-1, (call));		\
		EXPECT_EQ(err, errno);		\
	} while (0)

TEST_F(bad, unknown_commands)
{
	char buf[64] = { 0 };

	EXPECT_ERRNO(ENOTTY, ioctl(self->fd, _IO(IVSHM_TYPE, 0x40), buf));
	EXPECT_ERRNO(ENOTTY, ioctl(self->fd, _IO(IVSHM_TYPE, 4), buf));
	EXPECT_ERRNO(ENOTTY, ioctl(self->fd, _IO('x', 0), buf));
	EXPECT_ERRNO(ENOTTY, ioctl(self->fd, _IOWR(IVSHM_TYPE, 0, int), buf));
}

TEST_F(bad, get_info)
{
	struct {
		struct ivshm_info info;
		uint8_t extra[24];
	} big;

	memset(&big, 0, sizeof(big));
	EXPECT_ERRNO(EFAULT, ioctl(self->fd, IVSHM_GET_INFO, NULL));
	EXPECT_ERRNO(EFAULT, ioctl(self->fd, IVSHM_GET_INFO, (void *)8));
	big.info.argsz = 0;
	EXPECT_ERRNO(EINVAL, ioctl(self->fd, IVSHM_GET_INFO, &big));
	big.info.argsz = 8;
	EXPECT_ERRNO(EINVAL, ioctl(self->fd, IVSHM_GET_INFO, &big));
	big.info.argsz = sizeof(big.info);
	big.info.flags = 1;
	EXPECT_ERRNO(EINVAL, ioctl(self->fd, IVSHM_GET_INFO, &big));
	big.info.flags = 0x80000000;
	EXPECT_ERRNO(EINVAL, ioctl(self->fd, IVSHM_GET_INFO, &big));

	/* A newer, bigger struct: fine while the unknown tail is zero. */
	big.info.flags = 0;
	big.info.argsz = sizeof(big);
	EXPECT_EQ(0, ioctl(self->fd, IVSHM_GET_INFO, &big));
	EXPECT_EQ(sizeof(big.info), big.info.argsz);
	EXPECT_EQ(self->info.size, big.info.size);
	big.info.argsz = sizeof(big);
	big.extra[5] = 1;
	EXPECT_ERRNO(E2BIG, ioctl(self->fd, IVSHM_GET_INFO, &big));
	big.extra[5] = 0;
	big.info.argsz = 0xffffffff;
	EXPECT_ERRNO(E2BIG, ioctl(self->fd, IVSHM_GET_INFO, &big));
}

TEST_F(bad, ring)
{
	struct ivshm_doorbell db = { .argsz = sizeof(db) };

	EXPECT_ERRNO(EFAULT, ioctl(self->fd, IVSHM_RING, NULL));
	db.argsz = 4;
	EXPECT_ERRNO(EINVAL, ioctl(self->fd, IVSHM_RING, &db));
	db.argsz = sizeof(db);
	db.flags = 2;
	EXPECT_ERRNO(EINVAL, ioctl(self->fd, IVSHM_RING, &db));
	db.flags = 0;
	db.peer = 65536;
	EXPECT_ERRNO(EINVAL, ioctl(self->fd, IVSHM_RING, &db));
	db.peer = 0xffffffff;
	EXPECT_ERRNO(EINVAL, ioctl(self->fd, IVSHM_RING, &db));
	db.peer = 65535;
	db.vector = 256;
	EXPECT_ERRNO(EINVAL, ioctl(self->fd, IVSHM_RING, &db));
	/* Largest valid values: absent peer, silently dropped by the device. */
	db.vector = 255;
	EXPECT_EQ(0, ioctl(self->fd, IVSHM_RING, &db));
}

static int set_fds(int fd, uint32_t argsz, uint32_t flags, uint32_t start,
		   uint32_t count, const int32_t *fds, int nfds)
{
	struct {
		struct ivshm_eventfds h;
		int32_t fds[8];
	} a;

	memset(&a, 0, sizeof(a));
	a.h.argsz = argsz;
	a.h.flags = flags;
	a.h.start = start;
	a.h.count = count;
	memcpy(a.fds, fds, nfds * sizeof(*fds));
	return ioctl(fd, IVSHM_SET_EVENTFDS, &a);
}

TEST_F(bad, set_eventfds)
{
	int e = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	int nul = open("/dev/null", O_RDONLY);
	int32_t fds[8] = { e, e, e, e, e, e, e, e };
	int32_t one;
	uint32_t hs = sizeof(struct ivshm_eventfds);

	ASSERT_LE(0, e);
	ASSERT_LE(0, nul);
	EXPECT_ERRNO(EFAULT, ioctl(self->fd, IVSHM_SET_EVENTFDS, NULL));
	EXPECT_ERRNO(EINVAL, set_fds(self->fd, 8, 0, 0, 1, fds, 1));
	EXPECT_ERRNO(EINVAL, set_fds(self->fd, hs + 4, 1, 0, 1, fds, 1));
	EXPECT_ERRNO(EINVAL, set_fds(self->fd, hs + 4, 0, 0, 0, fds, 1));
	EXPECT_ERRNO(EINVAL, set_fds(self->fd, hs + 4, 0, 4, 1, fds, 1));
	EXPECT_ERRNO(EINVAL, set_fds(self->fd, hs + 12, 0, 2, 3, fds, 3));
	EXPECT_ERRNO(EINVAL, set_fds(self->fd, hs + 32, 0, 0xffffffff, 2,
				     fds, 2));
	EXPECT_ERRNO(EINVAL, set_fds(self->fd, hs + 32, 0, 1, 0xffffffff,
				     fds, 8));
	/* argsz too small for count fds */
	EXPECT_ERRNO(EINVAL, set_fds(self->fd, hs + 4, 0, 0, 2, fds, 2));
	one = -2;
	EXPECT_ERRNO(EINVAL, set_fds(self->fd, hs + 4, 0, 0, 1, &one, 1));
	one = 99999;
	EXPECT_ERRNO(EBADF, set_fds(self->fd, hs + 4, 0, 0, 1, &one, 1));
	one = nul;
	EXPECT_ERRNO(EINVAL, set_fds(self->fd, hs + 4, 0, 0, 1, &one, 1));

	/* All or nothing: a bad fd after a good one binds neither. */
	fds[1] = 99999;
	EXPECT_ERRNO(EBADF, set_fds(self->fd, hs + 8, 0, 0, 2, fds, 2));
	ASSERT_EQ(0, vt_ring(self->fd, self->info.peer_id, 0));
	usleep(300000);
	EXPECT_EQ(0, vt_efd_wait(e, 0));

	/* Several at once, then a valid full set with -1 entries. */
	fds[1] = e;
	fds[2] = -1;
	EXPECT_EQ(0, set_fds(self->fd, hs + 16, 0, 0, 4, fds, 4));
	ASSERT_EQ(0, vt_ring(self->fd, self->info.peer_id, 3));
	EXPECT_EQ(1, vt_efd_wait(e, 2000));
	close(nul);
	close(e);
}

TEST_F(bad, read_buffers)
{
	struct ivshm_event ev;
	void *volatile bad_buf;

	EXPECT_ERRNO(EINVAL, read(self->fd, &ev, 8));
	EXPECT_ERRNO(EINVAL, read(self->fd, &ev, 0));
	ASSERT_EQ(0, vt_ring(self->fd, self->info.peer_id, 1));
	usleep(300000);
	bad_buf = (void *)8;
	EXPECT_ERRNO(EFAULT, read(self->fd, bad_buf, sizeof(ev)));
	/* The event is not lost by the failed copy. */
	EXPECT_EQ(sizeof(ev), read(self->fd, &ev, sizeof(ev)));
	EXPECT_EQ(1, ev.vector);
}

TEST_F(bad, write_and_seek_refused)
{
	char c = 0;

	EXPECT_EQ(-1, write(self->fd, &c, 1));
	EXPECT_EQ(-1, lseek(self->fd, 1, SEEK_SET));
}

TEST_HARNESS_MAIN
