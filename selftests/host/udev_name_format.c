// SPDX-License-Identifier: GPL-2.0-only
/*
 * ivshm-udev-name --format (build/tools/ivshm-udev-name, found relative
 * to this test as ../../tools/ivshm-udev-name): it refuses a ring region
 * whose channels have a side attached, unless --force, and then the old
 * handles get -ESTALE instead of silently sharing memory with the new
 * format.  A region whose channels were all detached formats as before.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include "kselftest_harness.h"
#include "ivshm.h"

#define RSIZE	(64u << 10)

static const char *tool(void)
{
	static char path[PATH_MAX + 32];
	char exe[PATH_MAX];
	char *slash;
	ssize_t n;

	n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	if (n < 0)
		return "ivshm-udev-name";
	exe[n] = '\0';
	slash = strrchr(exe, '/');
	if (slash)
		*slash = '\0';
	snprintf(path, sizeof(path), "%s/../../tools/ivshm-udev-name", exe);
	return path;
}

/* Run the tool with @force or not; its exit status, stderr in @err. */
static int run_format(const char *file, int force, char *err, size_t cap)
{
	char cmd[PATH_MAX * 2 + 64];
	FILE *p;
	size_t n;
	int st;

	snprintf(cmd, sizeof(cmd), "'%s' --format %s'%s' lbl 2>&1", tool(),
		 force ? "--force " : "", file);
	p = popen(cmd, "r");
	if (!p)
		return -1;
	n = fread(err, 1, cap - 1, p);
	err[n] = '\0';
	st = pclose(p);
	return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

FIXTURE(fmt) {
	char path[64];
	unsigned char *mem;
};

FIXTURE_SETUP(fmt)
{
	int fd;

	strcpy(self->path, "/tmp/ivshm-fmt.XXXXXX");
	fd = mkstemp(self->path);
	ASSERT_LE(0, fd);
	ASSERT_EQ(0, ftruncate(fd, RSIZE));
	self->mem = mmap(NULL, RSIZE, PROT_READ | PROT_WRITE, MAP_SHARED, fd,
			 0);
	close(fd);
	ASSERT_NE(MAP_FAILED, self->mem);
	if (access(tool(), X_OK))
		SKIP(return, "%s not built", tool());
}

FIXTURE_TEARDOWN(fmt)
{
	munmap(self->mem, RSIZE);
	unlink(self->path);
}

TEST_F(fmt, refuses_live_attachments_unless_forced)
{
	struct ivshm_region *r;
	struct ivshm_chan *p, *c;
	char err[512];

	ASSERT_EQ(0, run_format(self->path, 0, err, sizeof(err))) {
		TH_LOG("%s", err);
	}
	r = ivshm_region_open(self->mem, RSIZE);
	ASSERT_NE(NULL, r);
	p = ivshm_chan_create(r, "ch", 1024, IVSHM_CHAN_PRODUCER, NULL);
	ASSERT_NE(NULL, p);

	/* one side attached: refused, and the channel goes on */
	EXPECT_EQ(1, run_format(self->path, 0, err, sizeof(err)));
	EXPECT_NE(NULL, strstr(err, "1 attached channel side"));
	EXPECT_NE(NULL, strstr(err, "--force"));
	EXPECT_EQ(0, ivshm_chan_send(p, "x", 1, 0));
	c = ivshm_chan_attach(r, "ch", IVSHM_CHAN_CONSUMER, NULL);
	ASSERT_NE(NULL, c);
	EXPECT_EQ(1, run_format(self->path, 0, err, sizeof(err)));
	EXPECT_NE(NULL, strstr(err, "2 attached channel sides"));

	/* forced: the old handles learn it at their next call */
	EXPECT_EQ(0, run_format(self->path, 1, err, sizeof(err))) {
		TH_LOG("%s", err);
	}
	EXPECT_EQ(-ESTALE, ivshm_chan_send(p, "x", 1, 0));
	EXPECT_EQ(-ESTALE, ivshm_chan_recv(c, err, sizeof(err), 0));
	ivshm_chan_close(p);
	ivshm_chan_close(c);
	ivshm_region_close(r);
}

TEST_F(fmt, detached_channels_do_not_block)
{
	struct ivshm_region *r;
	struct ivshm_chan *p, *c;
	char err[512];

	ASSERT_EQ(0, run_format(self->path, 0, err, sizeof(err)));
	r = ivshm_region_open(self->mem, RSIZE);
	ASSERT_NE(NULL, r);
	p = ivshm_chan_create(r, "ch", 1024, IVSHM_CHAN_PRODUCER, NULL);
	c = ivshm_chan_attach(r, "ch", IVSHM_CHAN_CONSUMER, NULL);
	ASSERT_NE(NULL, c);
	ivshm_chan_close(p);
	ivshm_chan_close(c);
	ivshm_region_close(r);
	EXPECT_EQ(0, run_format(self->path, 0, err, sizeof(err))) {
		TH_LOG("%s", err);
	}
	r = ivshm_region_open(self->mem, RSIZE);
	ASSERT_NE(NULL, r);
	EXPECT_EQ(0, ivshm_region_channels(r, NULL, 0));
	ivshm_region_close(r);
}

TEST_HARNESS_MAIN
