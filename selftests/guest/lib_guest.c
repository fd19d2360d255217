// SPDX-License-Identifier: GPL-2.0-only
/*
 * In-guest tests of libivshm's guest backend (/dev/ivshmN through the
 * driver) and of discovery through libudev, in the "basic" scenario: one
 * ivshmem-plain device and one ivshmem-doorbell device (4 vectors) on
 * ivshm-server with a host peer (selftests/vm/scenarios.py).
 */
#include "kselftest_harness.h"
#include "vmtest.h"

#include <ivshm.h>

#define VECTORS 4

static int count_fds(void)
{
	struct dirent *de;
	DIR *d = opendir("/proc/self/fd");
	int n = 0;

	if (!d)
		return -1;
	while ((de = readdir(d)))
		if (de->d_name[0] != '.')
			n++;
	closedir(d);
	return n - 1;	/* the directory's own fd */
}

static int readable(int fd, int ms)
{
	struct pollfd p = { .fd = fd, .events = POLLIN };

	return poll(&p, 1, ms) == 1 && (p.revents & POLLIN);
}

static unsigned long long sysfs_ull(const char *name, const char *attr)
{
	char buf[64];

	if (vt_sysfs(name, attr, buf, sizeof(buf)))
		return ~0ULL;
	return strtoull(buf, NULL, 10);
}

TEST(list_finds_both_devices)
{
	struct ivshm_devinfo *l = NULL;
	int n, i, plain = 0, doorbell = 0;

	/* let udev settle: the devices are there once vt_find sees them */
	ASSERT_EQ(0, vt_find("doorbell", 0, (char[64]){ 0 }, 64, 5000));
	n = ivshm_list(&l, sizeof(*l));
	ASSERT_LE(2, n) TH_LOG("ivshm_list: %d", n);
	ASSERT_NE(NULL, l);
	EXPECT_EQ(NULL, l[n].name);
	for (i = 0; i < n; i++) {
		const struct ivshm_devinfo *d = &l[i];
		char node[80];

		TH_LOG("%s node %s pci %s mode %s irq %s size %llu peer %d vectors %u link0 %s",
		       d->name, d->node, d->pci, d->mode, d->irq_mode,
		       (unsigned long long)d->mem_size, d->peer_id, d->vectors,
		       d->links && d->links[0] ? d->links[0] : "-");
		ASSERT_NE(NULL, d->name);
		snprintf(node, sizeof(node), "/dev/%s", d->name);
		ASSERT_NE(NULL, d->node);
		EXPECT_STREQ(node, d->node);
		EXPECT_NE(NULL, d->pci);
		EXPECT_NE(NULL, d->links);
		EXPECT_EQ(sysfs_ull(d->name, "size"), d->mem_size);
		EXPECT_EQ(sizeof(*d), d->size);
		EXPECT_EQ(sysfs_ull(d->name, "vectors"), d->vectors);
		EXPECT_EQ(sysfs_ull(d->name, "peer_id"),
			  (unsigned long long)d->peer_id);
		if (!strcmp(d->mode, "plain")) {
			plain++;
			EXPECT_STREQ("none", d->irq_mode);
		} else if (!strcmp(d->mode, "doorbell")) {
			doorbell++;
			EXPECT_STREQ("msix", d->irq_mode);
			EXPECT_EQ(VECTORS, d->vectors);
		}
		/* sorted by number */
		if (i)
			EXPECT_LT(atoi(l[i - 1].name + 5), atoi(d->name + 5));
	}
	EXPECT_LE(1, plain);
	EXPECT_LE(1, doorbell);
	ivshm_list_free(l);
}

/* Every stable name opens the same device. */
TEST(open_by_stable_name)
{
	struct ivshm_devinfo *l = NULL;
	int n, i, opened = 0;

	n = ivshm_list(&l, sizeof(*l));
	ASSERT_LE(1, n);
	for (i = 0; i < n; i++) {
		const char *const *link;

		for (link = l[i].links; link && *link; link++) {
			struct ivshm_dev *d = ivshm_open(*link, 0);

			ASSERT_NE(NULL, d) TH_LOG("%s: %s", *link,
						  strerror(errno));
			EXPECT_EQ(l[i].mem_size, ivshm_size(d));
			ivshm_close(d);
			opened++;
		}
	}
	ivshm_list_free(l);
	if (!opened)
		SKIP(return, "no stable names (udev rules not installed?)");
}

FIXTURE(plain) {
	char name[64];
	char node[80];
	struct ivshm_dev *dev;
};

FIXTURE_SETUP(plain)
{
	ASSERT_EQ(0, vt_find("plain", 0, self->name, sizeof(self->name), 5000))
		TH_LOG("no plain ivshm device");
	snprintf(self->node, sizeof(self->node), "/dev/%s", self->name);
	self->dev = ivshm_open(self->node, 0);
	ASSERT_NE(NULL, self->dev) TH_LOG("%s: %s", self->node,
					  strerror(errno));
}

FIXTURE_TEARDOWN(plain)
{
	ivshm_close(self->dev);
}

TEST_F(plain, memory_only)
{
	struct ivshm_fired f = { .size = sizeof(f) };
	struct ivshm_sigctx c = { .size = sizeof(c) };
	struct ivshm_signal s = { .size = sizeof(s) };
	const unsigned char *mem = ivshm_base(self->dev);

	EXPECT_EQ(sysfs_ull(self->name, "size"), ivshm_size(self->dev));
	ASSERT_NE(NULL, mem);
	/* the pattern the host wrote before boot (scenarios.py BOOT_OFFSET) */
	EXPECT_EQ(0, memcmp(mem + (512 << 10), "IVSH", 4));
	EXPECT_EQ(0, ivshm_vectors(self->dev));
	EXPECT_EQ(-EOPNOTSUPP, ivshm_peer_id(self->dev));
	EXPECT_EQ(-EOPNOTSUPP, ivshm_ring(self->dev, 0, 0));
	EXPECT_EQ(-EOPNOTSUPP, ivshm_wait(self->dev, 0, 0));
	EXPECT_EQ(-EOPNOTSUPP, ivshm_wait_any(self->dev, &f, 1, 0));
	EXPECT_EQ(-EOPNOTSUPP, ivshm_vector_fd(self->dev, 0));
	EXPECT_EQ(-EOPNOTSUPP, ivshm_all_fd(self->dev));
	EXPECT_EQ(-EOPNOTSUPP, ivshm_peers(self->dev, NULL, 0));
	EXPECT_EQ(-EOPNOTSUPP, ivshm_event_fd(self->dev));
	EXPECT_EQ(-EOPNOTSUPP, ivshm_process_events(self->dev, 0));
	EXPECT_EQ(-EOPNOTSUPP, ivshm_dev_signal(self->dev, 0, 0, 0, &c, &s));
}

TEST_F(plain, shared_with_host)
{
	unsigned char *mem = ivshm_base(self->dev);
	char ans[128];

	ASSERT_EQ(0, vt_host(ans, sizeof(ans), "shm-write plain 24576 a1b2c3"));
	EXPECT_EQ(0xa1, mem[24576]);
	EXPECT_EQ(0xc3, mem[24578]);
	memcpy(mem + 28672, "\x10\x20\x30", 3);
	ASSERT_EQ(0, vt_host(ans, sizeof(ans), "shm-read plain 28672 3"));
	EXPECT_STREQ("102030", ans);
}

FIXTURE(db) {
	char name[64];
	char node[80];
	struct ivshm_dev *dev;
	int fds_before;
};

FIXTURE_SETUP(db)
{
	ASSERT_EQ(0, vt_find("doorbell", 0, self->name, sizeof(self->name),
			     5000)) TH_LOG("no doorbell ivshm device");
	snprintf(self->node, sizeof(self->node), "/dev/%s", self->name);
	self->fds_before = count_fds();
	self->dev = ivshm_open(self->node, 0);
	ASSERT_NE(NULL, self->dev) TH_LOG("%s: %s", self->node,
					  strerror(errno));
}

FIXTURE_TEARDOWN(db)
{
	ivshm_close(self->dev);
	EXPECT_EQ(self->fds_before, count_fds());
}

TEST_F(db, info)
{
	EXPECT_EQ(sysfs_ull(self->name, "size"), ivshm_size(self->dev));
	EXPECT_NE(NULL, ivshm_base(self->dev));
	EXPECT_EQ((int)sysfs_ull(self->name, "peer_id"),
		  ivshm_peer_id(self->dev));
	EXPECT_EQ(VECTORS, ivshm_vectors(self->dev));
	/* a guest cannot know the other peers */
	EXPECT_EQ(-EOPNOTSUPP, ivshm_peers(self->dev, NULL, 0));
	EXPECT_EQ(-EOPNOTSUPP, ivshm_event_fd(self->dev));
	EXPECT_EQ(-EOPNOTSUPP, ivshm_process_events(self->dev, 0));
	EXPECT_EQ(-EOPNOTSUPP, ivshm_set_event_cb(self->dev, NULL, NULL));
}

TEST_F(db, ring_self_each_vector)
{
	int me = ivshm_peer_id(self->dev);

	ASSERT_LE(0, me);
	for (int k = 0; k < VECTORS; k++) {
		int vfd = ivshm_vector_fd(self->dev, k);

		ASSERT_LE(0, vfd);
		ASSERT_EQ(0, ivshm_ring(self->dev, me, k));
		EXPECT_TRUE(readable(vfd, 2000)) TH_LOG("vector %d", k);
		EXPECT_TRUE(readable(ivshm_all_fd(self->dev), 0));
		usleep(20000);
		for (int o = 0; o < VECTORS; o++)
			if (o != k)
				EXPECT_EQ(-ETIMEDOUT,
					  ivshm_wait(self->dev, o, 0));
		EXPECT_LE(1, ivshm_wait(self->dev, k, 1000));
		EXPECT_EQ(-ETIMEDOUT, ivshm_wait(self->dev, k, 0));
		EXPECT_FALSE(readable(ivshm_all_fd(self->dev), 0));
	}
}

TEST_F(db, wait_any_reports_fired_vectors)
{
	int me = ivshm_peer_id(self->dev);
	struct ivshm_fired f[VECTORS] = { { .size = sizeof(f[0]) } };

	ASSERT_EQ(0, ivshm_ring(self->dev, me, 3));
	ASSERT_EQ(0, ivshm_ring(self->dev, me, 1));
	usleep(200000);
	ASSERT_EQ(2, ivshm_wait_any(self->dev, f, VECTORS, 1000));
	EXPECT_EQ(1, f[0].vector);
	EXPECT_EQ(3, f[1].vector);
	EXPECT_LE(1, f[0].count);
	EXPECT_EQ(-ETIMEDOUT, ivshm_wait_any(self->dev, f, VECTORS, 100));
}

TEST_F(db, bad_arguments)
{
	EXPECT_EQ(-EINVAL, ivshm_ring(self->dev, 0, 256));
	EXPECT_EQ(-EINVAL, ivshm_ring(self->dev, 65536, 0));
	EXPECT_EQ(-EINVAL, ivshm_wait(self->dev, VECTORS, 0));
	EXPECT_EQ(-EINVAL, ivshm_vector_fd(self->dev, VECTORS));
	/* ringing an absent peer is silently dropped by the device */
	EXPECT_EQ(0, ivshm_ring(self->dev, 4321, 0));
}

TEST_F(db, host_rings_guest)
{
	char ans[64];

	ASSERT_EQ(0, vt_host(ans, sizeof(ans), "ring %d 2",
			     ivshm_peer_id(self->dev)));
	EXPECT_LE(1, ivshm_wait(self->dev, 2, 3000));
}

TEST_F(db, guest_rings_host)
{
	char ans[64];
	int host;

	ASSERT_EQ(0, vt_host(ans, sizeof(ans), "host-id"));
	host = atoi(ans);
	for (int v = 0; v < VECTORS; v++) {
		ASSERT_EQ(0, ivshm_ring(self->dev, host, v));
		ASSERT_EQ(0, vt_host(ans, sizeof(ans), "wait %d 3000", v));
		EXPECT_LE(1, atoi(ans)) TH_LOG("host vector %d", v);
	}
}

TEST_F(db, memory_shared_with_host)
{
	unsigned char *mem = ivshm_base(self->dev);
	char ans[128];

	memcpy(mem + 20480, "\xde\xad\xbe\xef", 4);
	ASSERT_EQ(0, vt_host(ans, sizeof(ans), "shm-read server 20480 4"));
	EXPECT_STREQ("deadbeef", ans);
}

TEST_F(db, signal_adapter_to_self)
{
	struct ivshm_sigctx c = { .size = sizeof(c) };
	struct ivshm_signal s = { .size = sizeof(s) };

	ASSERT_EQ(0, ivshm_dev_signal(self->dev, ivshm_peer_id(self->dev), 2,
				      2, &c, &s));
	EXPECT_EQ(NULL, s.peer_alive);
	EXPECT_EQ(ivshm_vector_fd(self->dev, 2), s.fd);
	EXPECT_EQ(-ETIMEDOUT, s.wait(s.ctx, 0));
	EXPECT_EQ(0, s.notify(s.ctx));
	EXPECT_EQ(0, s.wait(s.ctx, 2000));
}

/* Two handles on one device: each gets its own eventfd bindings. */
TEST_F(db, two_handles)
{
	struct ivshm_dev *d2 = ivshm_open(self->node, 0);
	int me = ivshm_peer_id(self->dev);

	ASSERT_NE(NULL, d2);
	ASSERT_EQ(0, ivshm_ring(d2, me, 0));
	EXPECT_LE(1, ivshm_wait(self->dev, 0, 2000));
	EXPECT_LE(1, ivshm_wait(d2, 0, 2000));
	((volatile char *)ivshm_base(d2))[12288] = 0x77;
	EXPECT_EQ(0x77, ((volatile char *)ivshm_base(self->dev))[12288]);
	ivshm_close(d2);
}

TEST_HARNESS_MAIN
