// SPDX-License-Identifier: GPL-2.0-only
/*
 * IVSHM_EXPORT_DMABUF (scenario "dmabuf": ivshm.struct_pages=1, a 16 MiB
 * plain device behind a PCIe root port with struct pages, a 1 MiB one
 * without: too small for a memory subsection):
 *  - bad arguments are refused, and a device without pages says so;
 *  - the dma-buf maps the same memory as the device, the host sees its
 *    writes, and it outlives the file it was exported from;
 *  - vgem imports it with PRIME, and hands the same buffer back;
 *  - on hot-unplug its mappings get SIGBUS, mmap and new imports fail,
 *    and once everything is released a re-plugged device has its struct
 *    pages again (the old ones were torn down, not leaked).
 *
 * vgem gives no CPU access to an imported object (DRM refuses the mmap
 * offset of imports: drm_gem_dumb_map_offset), so "read back through vgem"
 * is its PRIME export of the imported handle: the same dma-buf, read
 * through a new fd that vgem made.  That vgem attached it (and so mapped
 * our scatterlist for its device at import) shows in dma-buf's debugfs.
 */
#include <signal.h>
#include <sys/mount.h>
#include <sys/wait.h>

/* Extracted from the kernel tree, not headers_install'ed: strip __user. */
#define __user
#include <drm/drm.h>
#undef __user

#include "kselftest_harness.h"
#include "vmtest.h"

#define BIG	(16ull << 20)
#define SMALL	(1ull << 20)
#define OFF	(64ull << 10)
#define LEN	(256ull << 10)

static int export(int fd, unsigned long long off, unsigned long long len,
		  unsigned int flags)
{
	struct ivshm_dmabuf a = {
		.argsz = sizeof(a), .flags = flags, .offset = off, .length = len,
	};

	return ioctl(fd, IVSHM_EXPORT_DMABUF, &a);
}

/* Open the plain device of @size: its fd, name in @name. */
static int open_size(unsigned long long size, int flags, char *name,
		     size_t len, int wait_ms)
{
	char path[80];

	if (vt_find_size("plain", size, 0, name, len, wait_ms))
		return -1;
	snprintf(path, sizeof(path), "/dev/%s", name);
	return open(path, flags);
}

static void fill(unsigned char *p, size_t n, unsigned int seed)
{
	for (size_t i = 0; i < n; i++)
		p[i] = (unsigned char)(i * 131 + seed + (i >> 12));
}

static int check(const unsigned char *p, size_t n, unsigned int seed)
{
	for (size_t i = 0; i < n; i++)
		if (p[i] != (unsigned char)(i * 131 + seed + (i >> 12)))
			return -1;
	return 0;
}

/* An fd on vgem's DRM node, loading vgem if it is a module; -1 if none. */
static int vgem_open(void)
{
	char name[16], path[32];

	/* Fails when built in, or absent: the nodes say which. */
	(void)!system("modprobe vgem 2>/dev/null");
	for (int i = 0; i < 16; i++) {
		struct drm_version v = {
			.name = name, .name_len = sizeof(name) - 1,
		};
		int fd;

		snprintf(path, sizeof(path), "/dev/dri/card%d", i);
		fd = open(path, O_RDWR | O_CLOEXEC);
		if (fd < 0)
			continue;
		memset(name, 0, sizeof(name));
		if (!ioctl(fd, DRM_IOCTL_VERSION, &v) && !strcmp(name, "vgem"))
			return fd;
		close(fd);
	}
	return -1;
}

static int vgem_import(int vfd, int dmabuf, unsigned int *handle)
{
	struct drm_prime_handle h = { .fd = dmabuf };

	if (ioctl(vfd, DRM_IOCTL_PRIME_FD_TO_HANDLE, &h))
		return -1;
	*handle = h.handle;
	return 0;
}

/* The devices attached to dma-buf @ino, per debugfs, into @out. */
static int attached_devices(unsigned long ino, char *out, size_t len)
{
	char line[256], key[32];
	int in = 0, attach = 0;
	FILE *f;

	mount("debugfs", "/sys/kernel/debug", "debugfs", 0, NULL);
	f = fopen("/sys/kernel/debug/dma_buf/bufinfo", "r");
	if (!f)
		return -1;
	out[0] = 0;
	snprintf(key, sizeof(key), "%08lu", ino);
	while (fgets(line, sizeof(line), f)) {
		/* A buffer's line: size flags mode count exp_name ino name. */
		if (strstr(line, "ivshm") && strstr(line, key)) {
			in = 1;
			continue;
		}
		if (in && strstr(line, "Attached Devices")) {
			attach = 1;
			continue;
		}
		if (in && attach && line[0] == '\t') {
			strncat(out, line + 1, len - strlen(out) - 1);
			continue;
		}
		if (in && attach)
			break;
	}
	fclose(f);
	return in ? 0 : -1;
}

TEST(bad_arguments)
{
	struct { struct ivshm_dmabuf a; char tail[8]; } big = {
		.a = { .argsz = sizeof(big), .length = 4096 }, .tail = { 1 },
	};
	struct ivshm_dmabuf a = { .argsz = 8, .length = 4096 };
	char name[64];
	int fd, ro;

	fd = open_size(BIG, O_RDWR, name, sizeof(name), 5000);
	ASSERT_LE(0, fd);
	ro = open_size(BIG, O_RDONLY, name, sizeof(name), 0);
	ASSERT_LE(0, ro);
	errno = 0;
	EXPECT_EQ(-1, export(fd, 0, 4096, 1u << 5));
	EXPECT_EQ(EINVAL, errno);
	EXPECT_EQ(-1, export(fd, 100, 4096, 0));
	EXPECT_EQ(EINVAL, errno);
	EXPECT_EQ(-1, export(fd, 0, 0, 0));
	EXPECT_EQ(EINVAL, errno);
	EXPECT_EQ(-1, export(fd, 0, 4095, 0));
	EXPECT_EQ(EINVAL, errno);
	EXPECT_EQ(-1, export(fd, BIG, 4096, 0));
	EXPECT_EQ(EINVAL, errno);
	EXPECT_EQ(-1, export(fd, BIG - 4096, 8192, 0));
	EXPECT_EQ(EINVAL, errno);
	EXPECT_EQ(-1, export(fd, 4096, ~0ull - 4095, 0));
	EXPECT_EQ(EINVAL, errno);
	EXPECT_EQ(-1, ioctl(fd, IVSHM_EXPORT_DMABUF, &a));
	EXPECT_EQ(EINVAL, errno);
	EXPECT_EQ(-1, ioctl(fd, IVSHM_EXPORT_DMABUF, &big));
	EXPECT_EQ(E2BIG, errno);
	EXPECT_EQ(-1, ioctl(fd, IVSHM_EXPORT_DMABUF, (void *)16));
	EXPECT_EQ(EFAULT, errno);
	EXPECT_EQ(-1, export(ro, 0, 4096, 0));
	EXPECT_EQ(EBADF, errno);
	close(ro);
	close(fd);
}

TEST(refused_without_struct_pages)
{
	char name[64], mode[16];
	int fd;

	fd = open_size(SMALL, O_RDWR, name, sizeof(name), 5000);
	ASSERT_LE(0, fd);
	ASSERT_EQ(0, vt_sysfs(name, "map_mode", mode, sizeof(mode)));
	ASSERT_STREQ("pfn", mode);
	errno = 0;
	EXPECT_EQ(-1, export(fd, 0, 4096, 0));
	EXPECT_EQ(EOPNOTSUPP, errno);
	close(fd);
}

/* The module's reference count: each open file and mapping holds one. */
static long module_refs(void)
{
	char buf[32] = "";
	FILE *f = fopen("/sys/module/ivshm/refcnt", "r");

	if (!f)
		return -1;
	if (!fgets(buf, sizeof(buf), f))
		buf[0] = 0;
	fclose(f);
	return buf[0] ? strtol(buf, NULL, 10) : -1;
}

TEST(maps_the_shared_memory_and_outlives_its_file)
{
	unsigned char *dev, *buf, *p;
	char name[64], mode[16], ans[128], want[64];
	long refs = module_refs();
	int fd, dbf;

	ASSERT_LE(0, refs);
	fd = open_size(BIG, O_RDWR, name, sizeof(name), 5000);
	ASSERT_LE(0, fd);
	ASSERT_EQ(0, vt_sysfs(name, "map_mode", mode, sizeof(mode)));
	ASSERT_STREQ("pages", mode);
	dev = mmap(NULL, BIG, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	ASSERT_NE(MAP_FAILED, dev);
	fill(dev + OFF, LEN, 7);

	dbf = export(fd, OFF, LEN, IVSHM_DMABUF_CLOEXEC);
	ASSERT_LE(0, dbf) TH_LOG("export: %m");
	EXPECT_EQ(FD_CLOEXEC, fcntl(dbf, F_GETFD) & FD_CLOEXEC);
	buf = mmap(NULL, LEN, PROT_READ | PROT_WRITE, MAP_SHARED, dbf, 0);
	ASSERT_NE(MAP_FAILED, buf) TH_LOG("mmap of the dma-buf: %m");
	EXPECT_EQ(0, check(buf, LEN, 7));
	/* Writes through the dma-buf reach the device mapping and the host. */
	fill(buf, LEN, 99);
	EXPECT_EQ(0, check(dev + OFF, LEN, 99));
	ASSERT_EQ(0, vt_host(ans, sizeof(ans), "shm-read big %llu 16",
			     OFF + LEN - 16)) TH_LOG("%s", ans);
	vt_hex(want, buf + LEN - 16, 16);
	EXPECT_STREQ(want, ans);
	/* Only its own range, only shared. */
	EXPECT_EQ(MAP_FAILED, mmap(NULL, LEN + 4096, PROT_READ, MAP_SHARED,
				   dbf, 0));
	EXPECT_EQ(MAP_FAILED, mmap(NULL, 4096, PROT_READ, MAP_SHARED, dbf,
				   LEN));
	EXPECT_EQ(MAP_FAILED, mmap(NULL, 4096, PROT_READ, MAP_PRIVATE, dbf,
				   0));
	p = mmap(NULL, 4096, PROT_READ, MAP_SHARED, dbf, LEN - 4096);
	ASSERT_NE(MAP_FAILED, p);
	EXPECT_EQ(0, memcmp(p, dev + OFF + LEN - 4096, 4096));
	munmap(p, 4096);

	/* The device's file and mapping gone, the dma-buf still works. */
	munmap(buf, LEN);
	munmap(dev, BIG);
	close(fd);
	buf = mmap(NULL, LEN, PROT_READ, MAP_SHARED, dbf, 0);
	ASSERT_NE(MAP_FAILED, buf);
	EXPECT_EQ(0, check(buf, LEN, 99));
	munmap(buf, LEN);
	close(dbf);
	/* Every reference the export and its mappings took is given back. */
	EXPECT_EQ(refs, module_refs());
}

TEST(vgem_imports_it)
{
	unsigned char *dev, *back;
	unsigned int handle = 0;
	char name[64], devs[256];
	struct drm_prime_handle h;
	struct drm_gem_close gc;
	struct stat st, st2;
	int fd, dbf, vfd;

	vfd = vgem_open();
	ASSERT_LE(0, vfd) TH_LOG("no vgem DRM device");
	fd = open_size(BIG, O_RDWR, name, sizeof(name), 5000);
	ASSERT_LE(0, fd);
	dev = mmap(NULL, BIG, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	ASSERT_NE(MAP_FAILED, dev);
	fill(dev + OFF, LEN, 42);
	dbf = export(fd, OFF, LEN, IVSHM_DMABUF_CLOEXEC);
	ASSERT_LE(0, dbf);
	ASSERT_EQ(0, fstat(dbf, &st));

	ASSERT_EQ(0, vgem_import(vfd, dbf, &handle)) TH_LOG("import: %m");
	ASSERT_EQ(0, attached_devices(st.st_ino, devs, sizeof(devs)))
		TH_LOG("our dma-buf is not in debugfs");
	EXPECT_NE(NULL, strstr(devs, "vgem")) TH_LOG("attached: %s", devs);

	/* vgem's own fd for the handle: our buffer, our bytes. */
	h = (struct drm_prime_handle){ .handle = handle, .flags = DRM_CLOEXEC };
	ASSERT_EQ(0, ioctl(vfd, DRM_IOCTL_PRIME_HANDLE_TO_FD, &h));
	ASSERT_EQ(0, fstat(h.fd, &st2));
	EXPECT_EQ(st.st_ino, st2.st_ino);
	back = mmap(NULL, LEN, PROT_READ, MAP_SHARED, h.fd, 0);
	ASSERT_NE(MAP_FAILED, back);
	EXPECT_EQ(0, check(back, LEN, 42));
	dev[OFF + 5] ^= 0xff;
	EXPECT_EQ(dev[OFF + 5], back[5]);
	munmap(back, LEN);
	close(h.fd);

	gc = (struct drm_gem_close){ .handle = handle };
	EXPECT_EQ(0, ioctl(vfd, DRM_IOCTL_GEM_CLOSE, &gc));
	close(vfd);
	munmap(dev, BIG);
	close(dbf);
	close(fd);
}

/* Last: it unplugs the big device. */
TEST(revoked_on_unplug_then_pages_again)
{
	unsigned char *buf;
	unsigned int handle = 0, h2;
	char name[64], mode[16], ans[128];
	struct drm_gem_close gc;
	int fd, dbf, vfd, vfd2;

	vfd = vgem_open();
	vfd2 = vgem_open();
	ASSERT_LE(0, vfd);
	ASSERT_LE(0, vfd2);
	fd = open_size(BIG, O_RDWR, name, sizeof(name), 5000);
	ASSERT_LE(0, fd);
	dbf = export(fd, OFF, LEN, 0);
	ASSERT_LE(0, dbf);
	close(fd);
	buf = mmap(NULL, LEN, PROT_READ | PROT_WRITE, MAP_SHARED, dbf, 0);
	ASSERT_NE(MAP_FAILED, buf);
	buf[0] = 1;
	ASSERT_EQ(0, vgem_import(vfd, dbf, &handle));
	EXPECT_EQ(0, vt_touch_in_child(buf));

	ASSERT_EQ(0, vt_host(ans, sizeof(ans), "unplug plain0"))
		TH_LOG("%s", ans);
	EXPECT_NE(0, vt_find_size("plain", BIG, 0, name, sizeof(name), 0));
	EXPECT_EQ(SIGBUS, vt_touch_in_child(buf));
	errno = 0;
	EXPECT_EQ(MAP_FAILED, mmap(NULL, LEN, PROT_READ, MAP_SHARED, dbf, 0));
	EXPECT_EQ(ENODEV, errno);
	/* A new importer cannot map it: vgem's import fails. */
	EXPECT_EQ(-1, vgem_import(vfd2, dbf, &h2));

	/* The last holders go: the old struct pages are torn down. */
	gc = (struct drm_gem_close){ .handle = handle };
	EXPECT_EQ(0, ioctl(vfd, DRM_IOCTL_GEM_CLOSE, &gc));
	munmap(buf, LEN);
	close(dbf);
	close(vfd);
	close(vfd2);

	ASSERT_EQ(0, vt_host(ans, sizeof(ans), "plug plain0")) TH_LOG("%s", ans);
	fd = open_size(BIG, O_RDWR, name, sizeof(name), 30000);
	ASSERT_LE(0, fd);
	ASSERT_EQ(0, vt_sysfs(name, "map_mode", mode, sizeof(mode)));
	EXPECT_STREQ("pages", mode);
	dbf = export(fd, 0, 4096, IVSHM_DMABUF_CLOEXEC);
	EXPECT_LE(0, dbf);
	close(dbf);
	close(fd);
}

TEST_HARNESS_MAIN
