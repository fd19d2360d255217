// SPDX-License-Identifier: GPL-2.0-only
/*
 * In-guest tests of loading the module: udev autoload and device nodes,
 * rmmod refused while in use, load/unload cycles without leaks.
 * Expects one plain and one doorbell device (scenario "basic").
 */
#include <dirent.h>
#include <sys/syscall.h>
#include <sys/utsname.h>
#include <sys/wait.h>

#include "kselftest_harness.h"
#include "vmtest.h"

static int load_module(void)
{
	struct utsname u;
	char path[256];
	int fd, ret;

	uname(&u);
	snprintf(path, sizeof(path), "/lib/modules/%s/extra/ivshm.ko",
		 u.release);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	ret = syscall(SYS_finit_module, fd, "", 0);
	close(fd);
	return ret;
}

static int unload_module(void)
{
	return syscall(SYS_delete_module, "ivshm", O_NONBLOCK);
}

static long slab_kb(void)
{
	char line[256];
	long v = -1;
	FILE *f;

	sync();
	f = fopen("/proc/sys/vm/drop_caches", "w");
	if (f) {
		fputs("3\n", f);
		fclose(f);
	}
	f = fopen("/proc/meminfo", "r");
	while (f && fgets(line, sizeof(line), f))
		if (sscanf(line, "Slab: %ld kB", &v) == 1)
			break;
	if (f)
		fclose(f);
	return v;
}

static void settle(void)
{
	if (!system("udevadm settle --timeout=20")) { /* best effort */ }
}

TEST(autoloaded_by_udev)
{
	struct stat st;

	/* Nothing but udev's modalias rule loads it at boot. */
	EXPECT_EQ(0, stat("/sys/module/ivshm", &st));
	EXPECT_EQ(0, stat("/sys/bus/pci/drivers/ivshm", &st));
}

/* The by-path link of PCI address slot into link; 0 or -1. */
static int by_path(const char *slot, char *link, size_t len)
{
	DIR *d = opendir("/dev/ivshm/by-path");
	char want[80];
	struct dirent *e;
	int ret = -1;

	if (!d)
		return -1;
	snprintf(want, sizeof(want), "pci-%s", slot);
	while (ret && (e = readdir(d))) {
		size_t n = strlen(e->d_name), w = strlen(want);

		if (n >= w && !strcmp(e->d_name + n - w, want) &&
		    (n == w || e->d_name[n - w - 1] == '-')) {
			snprintf(link, len, "/dev/ivshm/by-path/%s", e->d_name);
			ret = 0;
		}
	}
	closedir(d);
	return ret;
}

TEST(device_nodes_and_links)
{
	char name[64], path[128], link[256], target[256], mode[16];
	const char *modes[] = { "plain", "doorbell" };
	struct stat st;

	settle();
	for (int i = 0; i < 2; i++) {
		char *slot;
		ssize_t n;

		ASSERT_EQ(0, vt_find(modes[i], 0, name, sizeof(name), 5000));
		snprintf(path, sizeof(path), "/dev/%s", name);
		ASSERT_EQ(0, stat(path, &st));
		EXPECT_TRUE(S_ISCHR(st.st_mode));
		snprintf(mode, sizeof(mode), "%o", st.st_mode & 0777);
		EXPECT_STREQ("660", mode);
		EXPECT_EQ(990, st.st_gid);	/* group ivshm */

		/*
		 * /dev/ivshm/by-path/<udev's ID_PATH> -> ../../ivshmN: that
		 * is pci-<address> on x86 (q35), platform-<host bridge>-
		 * pci-<address> on arm64 (virt's host bridge is a platform
		 * device).
		 */
		snprintf(link, sizeof(link), "/sys/class/ivshm/%s/device", name);
		n = readlink(link, target, sizeof(target) - 1);
		ASSERT_LT(0, n);
		target[n] = 0;
		slot = strrchr(target, '/') + 1;
		ASSERT_EQ(0, by_path(slot, link, sizeof(link)))
			TH_LOG("no /dev/ivshm/by-path/...pci-%s", slot);
		n = readlink(link, target, sizeof(target) - 1);
		ASSERT_LT(0, n) TH_LOG("%s: %m", link);
		target[n] = 0;
		snprintf(path, sizeof(path), "../../%s", name);
		EXPECT_STREQ(path, target);
	}
}

TEST(rmmod_refused_while_in_use)
{
	void *p;
	int fd;

	fd = vt_open("plain", 0, O_RDWR);
	ASSERT_LE(0, fd);
	EXPECT_EQ(-1, unload_module());
	EXPECT_TRUE(errno == EWOULDBLOCK || errno == EBUSY);

	/* A mapping alone (fd closed) keeps it in use too. */
	p = mmap(NULL, 4096, PROT_READ, MAP_SHARED, fd, 0);
	ASSERT_NE(MAP_FAILED, p);
	close(fd);
	EXPECT_EQ(-1, unload_module());
	EXPECT_TRUE(errno == EWOULDBLOCK || errno == EBUSY);
	munmap(p, 4096);
}

static void cycle(struct __test_metadata *_metadata, int n)
{
	char name[64];

	for (int i = 0; i < n; i++) {
		int ret = unload_module();

		/* udev's naming helper may hold a new device open briefly. */
		for (int t = 0; ret && (errno == EWOULDBLOCK || errno == EBUSY) &&
		     t < 500; t++) {
			usleep(10000);
			ret = unload_module();
		}
		ASSERT_EQ(0, ret) TH_LOG("cycle %d: %m", i);
		ASSERT_NE(0, access("/sys/class/ivshm", F_OK));
		ASSERT_EQ(0, load_module()) TH_LOG("cycle %d: %m", i);
		ASSERT_EQ(0, vt_find("plain", 0, name, sizeof(name), 0));
		ASSERT_EQ(0, vt_find("doorbell", 0, name, sizeof(name), 0));
	}
	settle();
}

/*
 * 50 unload/load cycles; a second 50 must not grow the slab.  A cycle
 * takes 14 times longer on the debug lane, whose kmemleak finds leaks
 * anyway: 10 and 10 there.
 */
TEST(load_unload_cycles_leak_nothing)
{
	int n = vt_slow() > 1 ? 10 : 50;
	long before, after;

	settle();
	cycle(_metadata, n);
	before = slab_kb();
	cycle(_metadata, n);
	after = slab_kb();
	TH_LOG("Slab: %ld kB before, %ld kB after %d more cycles", before,
	       after, n);
	/* One leaked device per cycle would be well over 64 kB. */
	EXPECT_LT(after - before, 64);
}

TEST(usable_after_reload)
{
	struct ivshm_info info;
	int fd;

	fd = vt_open("doorbell", 0, O_RDWR);
	ASSERT_LE(0, fd);
	ASSERT_EQ(0, vt_info(fd, &info));
	EXPECT_EQ(IVSHM_IRQ_MSIX, info.irq_mode);
	EXPECT_EQ(4, info.vectors);
	close(fd);
}

TEST_HARNESS_MAIN
