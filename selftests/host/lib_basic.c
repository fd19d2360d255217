// SPDX-License-Identifier: GPL-2.0-only
/*
 * libivshm on the host without a server: the shm: backend, targets that
 * must be refused, and discovery on a machine without ivshm devices.
 */
#include "kselftest_harness.h"
#include "server_helpers.h"

#include <ivshm.h>

#define SZ	(256 * 1024)

FIXTURE(shm) {
	char path[64];
	char target[80];
};

FIXTURE_SETUP(shm)
{
	int fd;

	snprintf(self->path, sizeof(self->path), "/dev/shm/ivshm-libtest-%d",
		 (int)getpid());
	snprintf(self->target, sizeof(self->target), "shm:%s", self->path);
	fd = open(self->path, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	ASSERT_LE(0, fd);
	ASSERT_EQ(0, ftruncate(fd, SZ));
	close(fd);
}

FIXTURE_TEARDOWN(shm)
{
	unlink(self->path);
}

TEST_F(shm, plain_memory)
{
	struct ivshm_dev *a, *b;
	struct ivshm_fired f = { .size = sizeof(f) };
	struct ivshm_sigctx c = { .size = sizeof(c) };
	struct ivshm_signal s = { .size = sizeof(s) };
	volatile uint8_t *ma, *mb;
	int before = count_fds(getpid());

	a = ivshm_open(self->target, 0);
	ASSERT_NE(NULL, a) TH_LOG("open: %s", strerror(errno));
	b = ivshm_open(self->target, 0);
	ASSERT_NE(NULL, b);
	/* the mapping keeps no fd open */
	EXPECT_EQ(before, count_fds(getpid()));
	EXPECT_EQ(SZ, ivshm_size(a));
	ma = ivshm_base(a);
	mb = ivshm_base(b);
	ASSERT_NE(NULL, ma);
	ma[SZ - 1] = 42;
	EXPECT_EQ(42, mb[SZ - 1]);

	EXPECT_EQ(0, ivshm_vectors(a));
	EXPECT_EQ(-EOPNOTSUPP, ivshm_peer_id(a));
	EXPECT_EQ(-EOPNOTSUPP, ivshm_ring(a, 0, 0));
	EXPECT_EQ(-EOPNOTSUPP, ivshm_wait(a, 0, 0));
	EXPECT_EQ(-EOPNOTSUPP, ivshm_wait_any(a, &f, 1, 0));
	EXPECT_EQ(-EOPNOTSUPP, ivshm_vector_fd(a, 0));
	EXPECT_EQ(-EOPNOTSUPP, ivshm_all_fd(a));
	EXPECT_EQ(-EOPNOTSUPP, ivshm_peers(a, NULL, 0));
	EXPECT_EQ(-EOPNOTSUPP, ivshm_event_fd(a));
	EXPECT_EQ(-EOPNOTSUPP, ivshm_process_events(a, 0));
	EXPECT_EQ(-EOPNOTSUPP, ivshm_set_event_cb(a, NULL, NULL));
	EXPECT_EQ(-EOPNOTSUPP, ivshm_dev_signal(a, 0, 0, 0, &c, &s));
	ivshm_close(b);
	ivshm_close(a);
	EXPECT_EQ(before, count_fds(getpid()));
}

TEST_F(shm, empty_file_refused)
{
	int fd = open(self->path, O_RDWR | O_TRUNC | O_CLOEXEC);

	ASSERT_LE(0, fd);
	close(fd);
	EXPECT_EQ(NULL, ivshm_open(self->target, 0));
	EXPECT_EQ(EINVAL, errno);
}

TEST(bad_targets)
{
	static const struct {
		const char *target;
		int err;
	} t[] = {
		{ "", EINVAL },
		{ "tcp:localhost", EINVAL },
		{ "ivshm0", EINVAL },
		{ "shm:", EINVAL },
		{ "unix:", EINVAL },
		{ "shm:/nonexistent/ivshm-x", ENOENT },
		{ "unix:/nonexistent/ivshm.sock", ENOENT },
		{ "/dev/ivshm-nonexistent", ENOENT },
		{ "shm:/dev/shm", EISDIR },
		{ "shm:/dev/null", EINVAL },		/* not a file */
		{ "/dev/null", ENODEV },		/* not an ivshm device */
	};
	int before = count_fds(getpid());
	char longpath[200];
	unsigned int i;

	errno = 0;
	EXPECT_EQ(NULL, ivshm_open(NULL, 0));
	EXPECT_EQ(EINVAL, errno);
	for (i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		errno = 0;
		EXPECT_EQ(NULL, ivshm_open(t[i].target, 0));
		EXPECT_EQ(t[i].err, errno) TH_LOG("target '%s': %s",
						   t[i].target, strerror(errno));
	}
	memset(longpath, 'a', sizeof(longpath));
	memcpy(longpath, "unix:/", 6);
	longpath[sizeof(longpath) - 1] = 0;
	EXPECT_EQ(NULL, ivshm_open(longpath, 0));
	EXPECT_EQ(ENAMETOOLONG, errno);
	/* unknown flags */
	EXPECT_EQ(NULL, ivshm_open("shm:/dev/shm/x", 1));
	EXPECT_EQ(EINVAL, errno);
	EXPECT_EQ(before, count_fds(getpid()));
}

TEST(list_without_devices)
{
	struct ivshm_devinfo *list = (void *)1;
	int n;

	if (!access("/sys/class/ivshm", F_OK))
		SKIP(return, "this machine has ivshm devices");
	n = ivshm_list(&list, sizeof(*list));
	EXPECT_EQ(0, n);
	ASSERT_NE(NULL, list);
	EXPECT_EQ(NULL, list[0].name);
	ivshm_list_free(list);
	ivshm_list_free(NULL);
	EXPECT_EQ(-EINVAL, ivshm_list(NULL, sizeof(*list)));
}

TEST(close_null)
{
	errno = 1234;
	ivshm_close(NULL);
	EXPECT_EQ(1234, errno);
	EXPECT_STREQ(IVSHM_VERSION_STRING, ivshm_version());
}

TEST_HARNESS_MAIN
