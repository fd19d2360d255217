// SPDX-License-Identifier: GPL-2.0-only
/*
 * Scenario "memtype": BAR2 has struct pages (sysfs map_mode "pages"), so
 * the kernel can pin the shared memory for I/O: vmsplice,
 * process_vm_readv/writev and io_uring fixed buffers work on a mapping of
 * it, and O_DIRECT moves a virtio-blk disk's blocks straight to and from
 * it; the bytes they move are the host's.  A raw PFN mapping fails them
 * all with EFAULT.
 * (6.1's io_uring refuses fixed buffers in any file mapping but shmem's,
 * pages or not: that test is skipped there.)
 */
#include <liburing.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/uio.h>

#include "kselftest_harness.h"
#include "vmtest.h"

#define SIZE	(4u << 20)	/* the 4 MiB plain device */
#define FILE_LEN (64u << 10)

FIXTURE(pages) {
	int fd;
	unsigned char *mem;
	char name[64];
};

FIXTURE_SETUP(pages)
{
	char path[80];

	self->mem = MAP_FAILED;
	ASSERT_EQ(0, vt_find_size("plain", SIZE, 0, self->name,
				  sizeof(self->name), 5000));
	snprintf(path, sizeof(path), "/dev/%s", self->name);
	self->fd = open(path, O_RDWR);
	ASSERT_LE(0, self->fd);
	self->mem = mmap(NULL, SIZE, PROT_READ | PROT_WRITE, MAP_SHARED,
			 self->fd, 0);
	ASSERT_NE(MAP_FAILED, self->mem);
}

FIXTURE_TEARDOWN(pages)
{
	if (self->mem != MAP_FAILED)
		munmap(self->mem, SIZE);
	close(self->fd);
}

TEST_F(pages, map_mode_is_pages)
{
	char mode[32];

	ASSERT_EQ(0, vt_sysfs(self->name, "map_mode", mode, sizeof(mode)));
	EXPECT_STREQ("pages", mode);
}

/* process_vm_readv/writev pin the remote pages (GUP), here our own. */
TEST_F(pages, process_vm_rw)
{
	struct iovec local, remote;
	unsigned char buf[8];
	char ans[64];

	ASSERT_EQ(0, vt_host(ans, sizeof(ans),
			     "shm-write plain4m 20480 0102030405060708"));
	local.iov_base = buf;
	local.iov_len = sizeof(buf);
	remote.iov_base = self->mem + 20480;
	remote.iov_len = sizeof(buf);
	if (process_vm_readv(getpid(), &local, 1, &remote, 1, 0) < 0 &&
	    errno == ENOSYS)
		SKIP(return, "no CONFIG_CROSS_MEMORY_ATTACH in this kernel");
	ASSERT_EQ(8, process_vm_readv(getpid(), &local, 1, &remote, 1, 0))
		TH_LOG("process_vm_readv: %s", strerror(errno));
	EXPECT_EQ(0, memcmp(buf, "\x01\x02\x03\x04\x05\x06\x07\x08", 8));

	memcpy(buf, "\xf1\xf2\xf3\xf4\xf5\xf6\xf7\xf8", 8);
	remote.iov_base = self->mem + 24576;
	ASSERT_EQ(8, process_vm_writev(getpid(), &local, 1, &remote, 1, 0))
		TH_LOG("process_vm_writev: %s", strerror(errno));
	ASSERT_EQ(0, vt_host(ans, sizeof(ans), "shm-read plain4m 24576 8"));
	EXPECT_STREQ("f1f2f3f4f5f6f7f8", ans);
}

/*
 * vmsplice() takes references on the pages it splices (GUP): the pipe then
 * carries the shared memory's bytes.  Every kernel has it.
 */
TEST_F(pages, vmsplice_gup)
{
	struct iovec iov = { .iov_base = self->mem + 28672, .iov_len = 4096 };
	unsigned char buf[4096];
	char ans[64];
	int p[2];

	ASSERT_EQ(0, vt_host(ans, sizeof(ans),
			     "shm-write plain4m 28672 5a5b5c5d"));
	ASSERT_EQ(0, pipe(p));
	ASSERT_EQ(4096, vmsplice(p[1], &iov, 1, 0))
		TH_LOG("vmsplice: %s", strerror(errno));
	ASSERT_EQ(4096, read(p[0], buf, sizeof(buf)));
	EXPECT_EQ(0, memcmp(buf, "\x5a\x5b\x5c\x5d", 4));
	close(p[0]);
	close(p[1]);
}

/*
 * The whole mapping registered as one fixed buffer (a long-term pin of
 * every page), then a file read into it with READ_FIXED.
 */
TEST_F(pages, io_uring_read_fixed)
{
	const unsigned int off = 1u << 20;	/* into the mapping */
	static unsigned char data[FILE_LEN];
	struct io_uring_sqe *sqe;
	struct io_uring_cqe *cqe;
	struct io_uring ring;
	struct iovec iov;
	unsigned int i;
	char ans[64];
	int file, ret;

	for (i = 0; i < FILE_LEN; i++)
		data[i] = (unsigned char)(i * 7 + 3);
	file = open("/tmp/pages-src", O_RDWR | O_CREAT | O_TRUNC, 0600);
	ASSERT_LE(0, file);
	ASSERT_EQ(FILE_LEN, write(file, data, FILE_LEN));
	memset(self->mem + off, 0, FILE_LEN);

	ret = io_uring_queue_init(4, &ring, 0);
	if (ret == -ENOSYS) {
		close(file);
		SKIP(return, "no CONFIG_IO_URING in this kernel");
	}
	ASSERT_EQ(0, ret);
	iov.iov_base = self->mem;
	iov.iov_len = SIZE;
	ret = io_uring_register_buffers(&ring, &iov, 1);
	if (ret == -EOPNOTSUPP) {
		/* 6.1's io_uring refuses every file mapping but shmem's. */
		io_uring_queue_exit(&ring);
		close(file);
		SKIP(return, "this kernel's io_uring takes no fixed buffer in a file mapping");
	}
	ASSERT_EQ(0, ret) TH_LOG("IORING_REGISTER_BUFFERS on the mapping: %s",
				 strerror(-ret));
	sqe = io_uring_get_sqe(&ring);
	ASSERT_NE(NULL, sqe);
	io_uring_prep_read_fixed(sqe, file, self->mem + off, FILE_LEN, 0, 0);
	ASSERT_EQ(1, io_uring_submit(&ring));
	ASSERT_EQ(0, io_uring_wait_cqe(&ring, &cqe));
	EXPECT_EQ(FILE_LEN, cqe->res) TH_LOG("read_fixed: %d", cqe->res);
	io_uring_cqe_seen(&ring, cqe);
	EXPECT_EQ(0, io_uring_unregister_buffers(&ring));
	io_uring_queue_exit(&ring);
	close(file);

	EXPECT_EQ(0, memcmp(self->mem + off, data, FILE_LEN));
	/* The host sees the bytes at both ends of what was read. */
	ASSERT_EQ(0, vt_host(ans, sizeof(ans), "shm-read plain4m %u 4", off));
	EXPECT_STREQ("030a1118", ans);
	ASSERT_EQ(0, vt_host(ans, sizeof(ans), "shm-read plain4m %u 4",
			     off + FILE_LEN - 4));
	snprintf((char *)data, sizeof(data), "%02x%02x%02x%02x",
		 (unsigned char)((FILE_LEN - 4) * 7 + 3),
		 (unsigned char)((FILE_LEN - 3) * 7 + 3),
		 (unsigned char)((FILE_LEN - 2) * 7 + 3),
		 (unsigned char)((FILE_LEN - 1) * 7 + 3));
	EXPECT_STREQ((char *)data, ans);
}

/* The scenario's disk holds byte (i * 13 + 5) at offset i. */
static unsigned char disk_byte(unsigned long i)
{
	return (unsigned char)(i * 13 + 5);
}

/*
 * O_DIRECT pins the user buffer (GUP) and the disk's DMA goes straight to
 * and from the shared memory: no page cache copy on the way.
 */
TEST_F(pages, o_direct_virtio_blk)
{
	const unsigned int off = 2u << 20, len = 64u << 10;
	const unsigned long disk_out = 1u << 20;
	char ans[64], want[64];
	unsigned int i;
	struct stat st;
	int disk = -1;

	for (i = 0; i < 50 && stat("/dev/vda", &st); i++)
		usleep(100000);
	disk = open("/dev/vda", O_RDWR | O_DIRECT);
	ASSERT_LE(0, disk) TH_LOG("/dev/vda: %s", strerror(errno));

	/* Disk -> shared memory. */
	memset(self->mem + off, 0, len);
	ASSERT_EQ(len, pread(disk, self->mem + off, len, 0))
		TH_LOG("O_DIRECT read into the mapping: %s", strerror(errno));
	for (i = 0; i < len; i++)
		if (self->mem[off + i] != disk_byte(i))
			break;
	EXPECT_EQ(len, i) TH_LOG("byte %u differs", i);
	ASSERT_EQ(0, vt_host(ans, sizeof(ans), "shm-read plain4m %u 4",
			     off + len - 4));
	snprintf(want, sizeof(want), "%02x%02x%02x%02x", disk_byte(len - 4),
		 disk_byte(len - 3), disk_byte(len - 2), disk_byte(len - 1));
	EXPECT_STREQ(want, ans);

	/* Shared memory -> disk: the host reads the disk file. */
	for (i = 0; i < len; i++)
		self->mem[off + i] = (unsigned char)(i * 3 + 1);
	ASSERT_EQ(len, pwrite(disk, self->mem + off, len, disk_out))
		TH_LOG("O_DIRECT write from the mapping: %s", strerror(errno));
	EXPECT_EQ(0, fsync(disk));
	ASSERT_EQ(0, vt_host(ans, sizeof(ans), "shm-read disk %lu 4",
			     disk_out + len - 4));
	snprintf(want, sizeof(want), "%02x%02x%02x%02x",
		 (unsigned char)((len - 4) * 3 + 1),
		 (unsigned char)((len - 3) * 3 + 1),
		 (unsigned char)((len - 2) * 3 + 1),
		 (unsigned char)((len - 1) * 3 + 1));
	EXPECT_STREQ(want, ans);
	close(disk);
}

TEST_HARNESS_MAIN
