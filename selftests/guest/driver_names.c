// SPDX-License-Identifier: GPL-2.0-only
/*
 * In-guest tests of /dev/ivshm/by-name/NAME: the name the host gave the
 * shared memory (the label of a libivshm ring region), read by udev's
 * helper ivshm-udev-name (udev/60-ivshm.rules).  Scenario "basic": the
 * host formatted the plain device's memory with the label "demo-plain"
 * before boot (selftests/vm/scenarios.py); nothing formatted the doorbell
 * device's memory.
 */
#include <sys/wait.h>

#include "kselftest_harness.h"
#include "vmtest.h"
#include "ivshm.h"
#include "../../lib/ring_layout.h"

#define BY_NAME		"/dev/ivshm/by-name/"
#define HOST_LABEL	"demo-plain"
#define HELPER		"/bin/ivshm-udev-name"

static void settle(void)
{
	if (system("udevadm settle --timeout=20")) { /* best effort */ }
}

/* Make udev process the device again (a "change" uevent) and wait. */
static int retrigger(const char *name)
{
	char path[128];
	int fd, ok;

	snprintf(path, sizeof(path), "/sys/class/ivshm/%s/uevent", name);
	fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	ok = write(fd, "change", 6) == 6;
	close(fd);
	settle();
	return ok ? 0 : -1;
}

/* Target of BY_NAME@label in @buf, waiting up to @ms for it; 0 or -1. */
static int link_of(const char *label, char *buf, size_t len, int ms)
{
	char path[128];
	ssize_t n;

	snprintf(path, sizeof(path), BY_NAME "%s", label);
	for (;;) {
		n = readlink(path, buf, len - 1);
		if (n >= 0) {
			buf[n] = 0;
			return 0;
		}
		if (ms <= 0)
			return -1;
		usleep(100000);
		ms -= 100;
	}
}

/* How many names in BY_NAME link to /dev/@name; the first in @first. */
static int links_to(const char *name, char *first, size_t len)
{
	char want[80], path[300], target[256];
	struct dirent *de;
	int count = 0;
	ssize_t n;
	DIR *d;

	snprintf(want, sizeof(want), "../../%s", name);
	d = opendir(BY_NAME);
	if (!d)
		return 0;
	while ((de = readdir(d))) {
		if (de->d_name[0] == '.' && (!de->d_name[1] ||
		    (de->d_name[1] == '.' && !de->d_name[2])))
			continue;
		snprintf(path, sizeof(path), BY_NAME "%s", de->d_name);
		n = readlink(path, target, sizeof(target) - 1);
		if (n < 0)
			continue;
		target[n] = 0;
		if (strcmp(target, want))
			continue;
		if (!count++ && first)
			snprintf(first, len, "%s", de->d_name);
	}
	closedir(d);
	return count;
}

/* Run the helper on /dev/@name: its exit status, its output in @out. */
static int run_helper(const char *name, char *out, size_t len)
{
	char cmd[128];
	size_t n;
	FILE *f;
	int st;

	snprintf(cmd, sizeof(cmd), HELPER " /dev/%s", name);
	f = popen(cmd, "r");
	if (!f)
		return -1;
	n = fread(out, 1, len - 1, f);
	out[n] = 0;
	st = pclose(f);
	return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

FIXTURE(plain) {
	char name[64];
	int fd;
	size_t size;
	unsigned char *mem;
	struct ivshm_region *r;
};

FIXTURE_SETUP(plain)
{
	struct ivshm_info info;
	char path[80];

	self->mem = MAP_FAILED;
	self->r = NULL;
	settle();
	ASSERT_EQ(0, vt_find("plain", 0, self->name, sizeof(self->name), 5000))
		TH_LOG("no plain ivshm device");
	snprintf(path, sizeof(path), "/dev/%s", self->name);
	self->fd = open(path, O_RDWR | O_CLOEXEC);
	ASSERT_LE(0, self->fd);
	ASSERT_EQ(0, vt_info(self->fd, &info));
	self->size = info.size;
	self->mem = mmap(NULL, self->size, PROT_READ | PROT_WRITE, MAP_SHARED,
			 self->fd, 0);
	ASSERT_NE(MAP_FAILED, self->mem);
	self->r = ivshm_region_open(self->mem, self->size);
	ASSERT_NE(NULL, self->r)
		TH_LOG("the host did not format the plain memory: %m");
}

FIXTURE_TEARDOWN(plain)
{
	ivshm_region_close(self->r);
	if (self->mem != MAP_FAILED)
		munmap(self->mem, self->size);
	close(self->fd);
}

TEST_F(plain, linked_by_host_label)
{
	char target[256], want[80], first[64], out[128];
	char label[IVSHM_REGION_LABEL_MAX];

	/* what the host wrote, through the library */
	ASSERT_EQ(strlen(HOST_LABEL),
		  ivshm_region_label(self->r, label, sizeof(label)));
	EXPECT_STREQ(HOST_LABEL, label);

	/* /dev/ivshm/by-name/demo-plain -> ../../ivshmN, and no other name */
	ASSERT_EQ(0, link_of(HOST_LABEL, target, sizeof(target), 5000))
		TH_LOG("no " BY_NAME HOST_LABEL);
	snprintf(want, sizeof(want), "../../%s", self->name);
	EXPECT_STREQ(want, target);
	EXPECT_EQ(1, links_to(self->name, first, sizeof(first)));
	EXPECT_STREQ(HOST_LABEL, first);

	/* the helper itself, as udev runs it */
	EXPECT_EQ(0, run_helper(self->name, out, sizeof(out)));
	EXPECT_STREQ("IVSHM_NAME=" HOST_LABEL "\n", out);
}

/*
 * A new label, then bytes no label may hold (a hostile peer), then the
 * host's label again: udev follows on each "change" event, and links
 * nothing for what the library refuses.
 */
TEST_F(plain, relabel_and_garbage)
{
	char target[256], want[80], out[128];
	struct ivshm_rgn_hdr *h = (struct ivshm_rgn_hdr *)self->mem;
	struct ivshm_rgn_label *b;
	struct stat st;

	snprintf(want, sizeof(want), "../../%s", self->name);
	ASSERT_EQ(0, ivshm_region_set_label(self->r, "renamed.1"));
	ASSERT_EQ(0, retrigger(self->name));
	ASSERT_EQ(0, link_of("renamed.1", target, sizeof(target), 5000));
	EXPECT_STREQ(want, target);
	EXPECT_EQ(-1, link_of(HOST_LABEL, target, sizeof(target), 0));
	EXPECT_EQ(1, links_to(self->name, NULL, 0));

	/* the label bytes rewritten in place: a path, then no NUL at all */
	b = (struct ivshm_rgn_label *)(self->mem +
				       atomic_load(&h->label_off));
	memset(b->label, 0, sizeof(b->label));
	strcpy(b->label, "../../evil");
	ASSERT_EQ(0, retrigger(self->name));
	EXPECT_EQ(0, links_to(self->name, NULL, 0));
	EXPECT_EQ(-1, lstat("/dev/evil", &st));
	EXPECT_EQ(-1, lstat("/dev/ivshm/evil", &st));
	EXPECT_EQ(0, run_helper(self->name, out, sizeof(out)));
	EXPECT_STREQ("", out);

	memset(b->label, 'a', sizeof(b->label));
	ASSERT_EQ(0, retrigger(self->name));
	EXPECT_EQ(0, links_to(self->name, NULL, 0));
	EXPECT_EQ(0, run_helper(self->name, out, sizeof(out)));
	EXPECT_STREQ("", out);

	/* the host's name back */
	ASSERT_EQ(0, ivshm_region_set_label(self->r, HOST_LABEL));
	ASSERT_EQ(0, retrigger(self->name));
	ASSERT_EQ(0, link_of(HOST_LABEL, target, sizeof(target), 5000));
	EXPECT_STREQ(want, target);
	EXPECT_EQ(1, links_to(self->name, NULL, 0));
}

TEST(doorbell_has_no_name)
{
	char name[64], out[128];

	settle();
	ASSERT_EQ(0, vt_find("doorbell", 0, name, sizeof(name), 5000))
		TH_LOG("no doorbell ivshm device");
	/* its memory holds no region, so no label and no link */
	EXPECT_EQ(0, links_to(name, NULL, 0));
	EXPECT_EQ(0, run_helper(name, out, sizeof(out)));
	EXPECT_STREQ("", out);
}

TEST_HARNESS_MAIN
