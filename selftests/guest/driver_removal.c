// SPDX-License-Identifier: GPL-2.0-only
/*
 * In-guest tests of device removal racing with the device's users:
 * ioctls whose user copy is stalled (userfaultfd) or faults into the
 * device's own mapping, mmap and page faults in other threads, blocked
 * read and poll, files and mappings held across unbind and rebind, and
 * the reuse of device numbers.  Each race asserts its outcome: removal
 * finishes within a bound, the user sees ENODEV, EFAULT, SIGBUS or
 * POLLHUP within a bound, nothing hangs.
 *
 * Removal is a sysfs unbind (then bind), or with ivshmtest.remove=unplug
 * on the kernel command line a QMP device_del (then device_add) asked of
 * the host harness.  Devices (selftests/vm/scenarios.py): a 1 GiB plain
 * device and a 4 MiB doorbell device, each behind a PCIe root port.
 *
 * Whatever may hang on a broken driver (the ioctl, the unbind) runs in a
 * child process that the test abandons after the bound: the test still
 * ends and reports its failure.  The tests that can wedge a device for
 * good on a broken driver come last.
 */
#include <linux/userfaultfd.h>
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdbool.h>
#include <sys/epoll.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>

#include "kselftest_harness.h"
#include "vmtest.h"

#define PLAIN_SIZE (1ull << 30)
#define DB_SIZE (4ull << 20)
#define PAGE 4096ul
/* Where the tests may write in the plain memory: past the ring region. */
#define SCRATCH (1ul << 20)
/* How long a woken user may take to return. */
#define WAKE_MS 5000

static bool by_unplug(void)
{
	char buf[32];

	return vt_cmdline("ivshmtest.remove", buf, sizeof(buf)) &&
	       !strcmp(buf, "unplug");
}

/* How long a removal may take: a hot-unplug waits out pciehp's 5 s. */
static int remove_ms(void)
{
	return by_unplug() ? 20000 : 10000;
}

static long long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000LL + ts.tv_nsec / 1000000;
}

/* Exit status of @pid once it ends within @ms, or -1 (left running). */
static int wait_child(pid_t pid, int ms)
{
	long long end = now_ms() + ms;
	int status;

	for (;;) {
		pid_t r = waitpid(pid, &status, WNOHANG);

		if (r == pid)
			return status;
		if (r < 0 || now_ms() >= end)
			return -1;
		usleep(20000);
	}
}

static pid_t fork_flushed(void)
{
	fflush(stdout);
	fflush(stderr);
	return fork();
}

struct dev {
	const char *mode;
	unsigned long long size;
	const char *qmp_id;	/* its id for device_del and device_add */
	char name[32];		/* ivshmN */
	char path[48];		/* /dev/ivshmN */
	char pci[32];		/* its PCI address, for unbind and bind */
};

static int dev_find(struct dev *d, int wait_ms)
{
	char link[256], target[256];
	const char *base;
	ssize_t n;

	if (vt_find_size(d->mode, d->size, 0, d->name, sizeof(d->name),
			 wait_ms))
		return -1;
	snprintf(d->path, sizeof(d->path), "/dev/%s", d->name);
	snprintf(link, sizeof(link), "/sys/class/ivshm/%s/device", d->name);
	n = readlink(link, target, sizeof(target) - 1);
	if (n <= 0)
		return -1;
	target[n] = 0;
	base = strrchr(target, '/');
	snprintf(d->pci, sizeof(d->pci), "%s", base ? base + 1 : target);
	return 0;
}

static int sysfs_write(const char *file, const char *val)
{
	int fd = open(file, O_WRONLY);
	ssize_t n;

	if (fd < 0)
		return -1;
	n = write(fd, val, strlen(val));
	close(fd);
	return n == (ssize_t)strlen(val) ? 0 : -1;
}

/* Put @d back (bind or device_add) and wait for its new /dev node. */
static int restore(struct dev *d)
{
	char ans[128];

	if (by_unplug()) {
		if (vt_host(ans, sizeof(ans), "plug %s", d->qmp_id))
			return -1;
	} else if (sysfs_write("/sys/bus/pci/drivers/ivshm/bind", d->pci)) {
		return -1;
	}
	return dev_find(d, 30000);
}

/*
 * A removal runs in a child process: a sysfs unbind that hangs in the
 * kernel cannot be interrupted, and the test must go on to report it.
 */
struct removal {
	pid_t pid;
	int status;		/* of the child; -1 while it runs */
	bool active;		/* started, not yet restored */
};

FIXTURE(rm) {
	struct dev db, plain;
	struct removal r[2];	/* of db, of plain */
};

static struct removal *removal_of(FIXTURE_DATA(rm) *self, struct dev *d)
{
	return &self->r[d == &self->plain];
}

static void rm_start(FIXTURE_DATA(rm) *self, struct dev *d)
{
	struct removal *r = removal_of(self, d);
	char ans[128];

	r->active = true;
	r->status = -1;
	r->pid = fork_flushed();
	if (r->pid)
		return;
	if (by_unplug())
		_exit(vt_host(ans, sizeof(ans), "unplug %s", d->qmp_id) ? 1 : 0);
	_exit(sysfs_write("/sys/bus/pci/drivers/ivshm/unbind", d->pci) ? 2 : 0);
}

/* Whether the removal of @d finished (successfully) within @ms. */
static bool rm_wait(FIXTURE_DATA(rm) *self, struct dev *d, int ms)
{
	struct removal *r = removal_of(self, d);

	if (r->status < 0)
		r->status = wait_child(r->pid, ms);
	return r->status == 0;
}

static int rm_restore(FIXTURE_DATA(rm) *self, struct dev *d)
{
	removal_of(self, d)->active = false;
	return restore(d);
}

static void remove_now(struct __test_metadata *_metadata,
		       FIXTURE_DATA(rm) *self, struct dev *d)
{
	rm_start(self, d);
	ASSERT_TRUE(rm_wait(self, d, remove_ms()))
		TH_LOG("removing %s (%s) did not finish within %d s",
		       d->name, d->pci, remove_ms() / 1000);
}

FIXTURE_SETUP(rm)
{
	self->db = (struct dev){ .mode = "doorbell", .size = DB_SIZE,
				 .qmp_id = "db0" };
	self->plain = (struct dev){ .mode = "plain", .size = PLAIN_SIZE,
				    .qmp_id = "plain0" };
	signal(SIGPIPE, SIG_IGN);
	ASSERT_EQ(0, dev_find(&self->db, 30000));
	ASSERT_EQ(0, dev_find(&self->plain, 30000));
}

/*
 * Put back what a test removed, if its removal ended.  One that still
 * hangs is left alone (binding would hang too); an unplug request still
 * waiting for the host's answer reads the console, so wait for it.
 */
FIXTURE_TEARDOWN(rm)
{
	for (int i = 0; i < 2; i++) {
		struct dev *d = i ? &self->plain : &self->db;
		struct removal *r = &self->r[i];
		struct dev probe = *d;

		if (!r->active)
			continue;
		if (r->status < 0)
			r->status = wait_child(r->pid,
					       by_unplug() ? 35000 : 1000);
		if (r->status < 0) {
			TH_LOG("removal of %s still hangs: left as it is",
			       d->name);
			continue;
		}
		if (!dev_find(&probe, 0))
			continue;
		if (restore(d))
			TH_LOG("could not put %s back", d->qmp_id);
	}
}

/*
 * A victim: a child process doing what races with the removal, and
 * telling the test how it goes through a pipe, so that a victim stuck in
 * the kernel cannot stop the test from reporting it.
 */
enum { V_READY = 1, V_STALLED, V_DONE, V_GO };

struct vmsg {
	int what;
	int ret;	/* the call's result */
	int err;	/* its errno */
	int ok;		/* iterations that went right, or a check's result */
	int bad;	/* iterations that went wrong */
};

struct victim {
	pid_t pid;
	int rd, wr;
};

static void vsend(int fd, int what, int ret, int err, int ok, int bad)
{
	struct vmsg m = { what, ret, err, ok, bad };

	if (write(fd, &m, sizeof(m)) != sizeof(m))
		_exit(90);
}

/* A victim's setup failed at @step: tell the test, and end. */
static void __attribute__((noreturn)) vfail(int wr, int step)
{
	int err = errno;

	vsend(wr, V_DONE, step, err, 0, 0);
	_exit(1);
}

/* The next message within @ms; 0, or -1 on timeout or a dead victim. */
static int vrecv(int fd, int ms, struct vmsg *m)
{
	struct pollfd p = { .fd = fd, .events = POLLIN };

	if (poll(&p, 1, ms) != 1)
		return -1;
	return read(fd, m, sizeof(*m)) == sizeof(*m) ? 0 : -1;
}

static int victim_start(struct victim *v,
			void (*fn)(int rd, int wr, const void *arg),
			const void *arg)
{
	int up[2], down[2];

	if (pipe(up) || pipe(down))
		return -1;
	v->pid = fork_flushed();
	if (v->pid < 0)
		return -1;
	if (v->pid == 0) {
		close(up[0]);
		close(down[1]);
		fn(down[0], up[1], arg);
		_exit(0);
	}
	close(up[1]);
	close(down[0]);
	v->rd = up[0];
	v->wr = down[1];
	return 0;
}

/* Wait for a victim briefly, kill it if needed; never block on it. */
static void victim_end(struct victim *v)
{
	close(v->rd);
	close(v->wr);
	if (wait_child(v->pid, 2000) < 0) {
		kill(v->pid, SIGKILL);
		wait_child(v->pid, 2000);
	}
}

/* --- ioctls whose user copy is stalled by userfaultfd --- */

struct stall {
	const char *path;
	unsigned long cmd;
	/*
	 * Whether the argument straddles the stalled page and an untouched
	 * page of the device's own mapping right after it: the copy goes on
	 * into the device once the stall is resolved.
	 */
	bool into_device;
	/*
	 * Whether to stall the copy out instead (GET_INFO): the argument
	 * is there, write-protected by userfaultfd.
	 */
	bool copy_out;
	unsigned long long size;
};

struct call {
	int fd;
	unsigned long cmd;
	void *arg;
	int ret, err;
};

static void *do_ioctl(void *p)
{
	struct call *c = p;

	c->ret = ioctl(c->fd, c->cmd, c->arg);
	c->err = errno;
	return NULL;
}

/* The argument @cmd will find once its page is filled in. */
static void fill_arg(void *at, unsigned long cmd, int efd, unsigned int peer)
{
	if (cmd == IVSHM_GET_INFO) {
		struct ivshm_info info = { .argsz = sizeof(info) };

		memcpy(at, &info, 8);	/* argsz, flags: the rest is output */
	} else if (cmd == IVSHM_SET_EVENTFDS) {
		struct {
			struct ivshm_eventfds h;
			int32_t fd;
		} a = { .h = { .argsz = sizeof(a), .count = 1 }, .fd = efd };

		memcpy(at, &a, sizeof(a));
	} else {
		struct ivshm_doorbell db = { .argsz = sizeof(db), .peer = peer };

		memcpy(at, &db, sizeof(db));
	}
}

static void stall_victim(int rd, int wr, const void *p)
{
	const struct stall *s = p;
	static char src[PAGE] __attribute__((aligned(PAGE)));
	struct uffdio_api api = { .api = UFFD_API };
	struct uffdio_register reg = {
		.mode = UFFDIO_REGISTER_MODE_MISSING,
	};
	struct uffdio_copy copy = { .len = PAGE };
	struct uffdio_writeprotect wp = { 0 };
	struct uffd_msg msg;
	struct ivshm_info info;
	struct call c = { .cmd = s->cmd };
	struct vmsg go;
	struct pollfd pu;
	pthread_t t;
	char *area;
	int uffd, efd, ok = 0;

	c.fd = open(s->path, O_RDWR);
	efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (c.fd < 0 || efd < 0 || vt_info(c.fd, &info))
		vfail(wr, -100);
	/* Not UFFD_USER_MODE_ONLY: the faults to stall are the kernel's. */
	uffd = syscall(SYS_userfaultfd, O_CLOEXEC);
	if (uffd < 0 || ioctl(uffd, UFFDIO_API, &api))
		vfail(wr, -101);
	area = mmap(NULL, 2 * PAGE, PROT_READ | PROT_WRITE,
		    MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (area == MAP_FAILED)
		vfail(wr, -102);
	if (s->into_device &&
	    mmap(area + PAGE, PAGE, PROT_READ | PROT_WRITE,
		 MAP_SHARED | MAP_FIXED, c.fd, s->size - PAGE) == MAP_FAILED)
		vfail(wr, -103);
	reg.range.start = (unsigned long)area;
	reg.range.len = PAGE;
	/* The header ends the stalled page; the rest is device memory. */
	c.arg = s->into_device ? area + PAGE - 8 : area;
	fill_arg(src + ((char *)c.arg - area), s->cmd, efd, info.peer_id);
	if (s->copy_out) {
		memcpy(area, src, PAGE);
		reg.mode = UFFDIO_REGISTER_MODE_WP;
		wp.range = reg.range;
		wp.mode = UFFDIO_WRITEPROTECT_MODE_WP;
	}
	if (ioctl(uffd, UFFDIO_REGISTER, &reg))
		vfail(wr, -104);
	if (s->copy_out && ioctl(uffd, UFFDIO_WRITEPROTECT, &wp))
		vfail(wr, -108);

	if (pthread_create(&t, NULL, do_ioctl, &c))
		vfail(wr, -105);
	pu = (struct pollfd){ .fd = uffd, .events = POLLIN };
	if (poll(&pu, 1, 5000) != 1 ||
	    read(uffd, &msg, sizeof(msg)) != sizeof(msg) ||
	    msg.event != UFFD_EVENT_PAGEFAULT)
		vfail(wr, -106);
	vsend(wr, V_STALLED, 0, 0, 0, 0);

	if (vrecv(rd, 600000, &go))
		_exit(2);
	copy.dst = (unsigned long)area;
	copy.src = (unsigned long)src;
	wp.mode = 0;	/* and wake the faulting ioctl */
	if (s->copy_out ? ioctl(uffd, UFFDIO_WRITEPROTECT, &wp) :
			  ioctl(uffd, UFFDIO_COPY, &copy))
		vfail(wr, -107);
	pthread_join(t, NULL);
	/* Completed: then it did its job. */
	if (c.ret == 0 && s->cmd == IVSHM_GET_INFO && !s->into_device) {
		memcpy(&info, area, sizeof(info));
		ok = info.argsz == sizeof(info) && info.size == s->size;
	} else if (c.ret == 0) {
		ok = 1;
	}
	vsend(wr, V_DONE, c.ret, c.err, ok, 0);
}

/*
 * Remove the device while an ioctl's copy from or to user memory is held
 * by userfaultfd: the removal finishes while the ioctl is still stalled;
 * once the fault is resolved, the ioctl returns ENODEV or completes.
 */
static void stalled_ioctl(struct __test_metadata *_metadata,
			  FIXTURE_DATA(rm) *self, unsigned long cmd,
			  bool into_device, bool copy_out)
{
	struct stall s = { .path = self->db.path, .cmd = cmd,
			   .into_device = into_device, .copy_out = copy_out,
			   .size = DB_SIZE };
	bool removed, returned;
	struct victim v;
	struct vmsg m;

	ASSERT_EQ(0, victim_start(&v, stall_victim, &s));
	ASSERT_EQ(0, vrecv(v.rd, 10000, &m));
	ASSERT_EQ(V_STALLED, m.what)
		TH_LOG("setup step %d failed: errno %d", m.ret, m.err);

	rm_start(self, &self->db);
	removed = rm_wait(self, &self->db, remove_ms());
	EXPECT_TRUE(removed)
		TH_LOG("removal did not finish within %d s while an ioctl's user copy was stalled",
		       remove_ms() / 1000);
	EXPECT_NE(0, vrecv(v.rd, 0, &m))
		TH_LOG("the ioctl returned while its copy was stalled");

	vsend(v.wr, V_GO, 0, 0, 0, 0);
	returned = !vrecv(v.rd, WAKE_MS, &m) && m.what == V_DONE;
	EXPECT_TRUE(returned)
		TH_LOG("the ioctl did not return within %d s of its fault being resolved",
		       WAKE_MS / 1000);
	if (returned && into_device) {
		/* The device page went with the device: EFAULT will do. */
		EXPECT_EQ(-1, m.ret);
		EXPECT_TRUE(m.err == ENODEV || m.err == EFAULT)
			TH_LOG("errno %d", m.err);
	} else if (returned) {
		EXPECT_TRUE(m.ret == -1 ? m.err == ENODEV : m.ok)
			TH_LOG("ioctl returned %d, errno %d, %s", m.ret, m.err,
			       m.ok ? "correct" : "wrong result");
	}
	if (!removed) {
		EXPECT_TRUE(rm_wait(self, &self->db, remove_ms()))
			TH_LOG("removal still not finished after the fault was resolved");
	}
	victim_end(&v);
}

TEST_F_TIMEOUT(rm, stalled_get_info, 120)
{
	stalled_ioctl(_metadata, self, IVSHM_GET_INFO, false, false);
}

TEST_F_TIMEOUT(rm, stalled_set_eventfds, 120)
{
	stalled_ioctl(_metadata, self, IVSHM_SET_EVENTFDS, false, false);
}

TEST_F_TIMEOUT(rm, stalled_ring, 120)
{
	stalled_ioctl(_metadata, self, IVSHM_RING, false, false);
}

/* The copy back of GET_INFO's result is the one stalled. */
TEST_F_TIMEOUT(rm, stalled_get_info_copy_out, 120)
{
	stalled_ioctl(_metadata, self, IVSHM_GET_INFO, false, true);
}

/* --- blocked read and poll --- */

struct waiter {
	const char *path;
	int how;	/* 0 read, 1 poll, 2 epoll */
};

static void wait_victim(int rd, int wr, const void *p)
{
	const struct waiter *w = p;
	struct ivshm_event ev;
	struct pollfd pf;
	struct epoll_event ee = { .events = EPOLLIN };
	int fd = open(w->path, O_RDWR), ep, r;

	if (fd < 0)
		vfail(wr, -100);
	vsend(wr, V_READY, 0, 0, 0, 0);
	if (w->how == 0) {
		r = read(fd, &ev, sizeof(ev));
		vsend(wr, V_DONE, r, errno, 0, 0);
	} else if (w->how == 1) {
		pf = (struct pollfd){ .fd = fd, .events = POLLIN };
		r = poll(&pf, 1, 60000);
		vsend(wr, V_DONE, r, errno, pf.revents, 0);
	} else {
		ep = epoll_create1(EPOLL_CLOEXEC);
		if (ep < 0 || epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ee))
			vfail(wr, -101);
		r = epoll_wait(ep, &ee, 1, 60000);
		vsend(wr, V_DONE, r, errno, r == 1 ? (int)ee.events : 0, 0);
	}
}

static const char *const how_name[] = { "read", "poll", "epoll" };

/*
 * Users blocked on @d (read only on a doorbell device) sleep while it
 * lives, and wake within a bound of its removal: read with ENODEV, poll
 * and epoll with hang-up and error.
 */
static void blocked_users(struct __test_metadata *_metadata,
			  FIXTURE_DATA(rm) *self, struct dev *d)
{
	int first = strcmp(d->mode, "plain") ? 0 : 1;
	bool early[3] = { false };
	struct waiter w[3];
	struct victim v[3];
	struct vmsg m;
	long long t0;

	for (int i = first; i < 3; i++) {
		w[i] = (struct waiter){ .path = d->path, .how = i };
		ASSERT_EQ(0, victim_start(&v[i], wait_victim, &w[i]));
		ASSERT_EQ(0, vrecv(v[i].rd, 5000, &m));
		ASSERT_EQ(V_READY, m.what) TH_LOG("open: errno %d", m.err);
	}
	usleep(500000);
	for (int i = first; i < 3; i++) {
		early[i] = !vrecv(v[i].rd, 0, &m);
		EXPECT_FALSE(early[i])
			TH_LOG("%s returned %d (events 0x%x) on a live %s device",
			       how_name[i], m.ret, m.ok, d->mode);
	}

	remove_now(_metadata, self, d);
	t0 = now_ms();
	for (int i = first; i < 3; i++) {
		int left = WAKE_MS - (int)(now_ms() - t0);

		if (early[i])
			continue;
		if (vrecv(v[i].rd, left > 0 ? left : 0, &m)) {
			EXPECT_TRUE(false)
				TH_LOG("%s still blocked %d s after removal",
				       how_name[i], WAKE_MS / 1000);
			continue;
		}
		if (i == 0) {
			EXPECT_EQ(-1, m.ret);
			EXPECT_EQ(ENODEV, m.err);
		} else {
			EXPECT_EQ(1, m.ret);
			EXPECT_EQ(POLLHUP | POLLERR, m.ok & (POLLHUP | POLLERR))
				TH_LOG("%s events 0x%x", how_name[i], m.ok);
		}
	}
	for (int i = first; i < 3; i++)
		victim_end(&v[i]);
}

TEST_F_TIMEOUT(rm, blocked_read_and_poll_wake, 120)
{
	blocked_users(_metadata, self, &self->db);
}

/* A plain device polls as nothing while alive, hang-up once removed. */
TEST_F_TIMEOUT(rm, plain_poll_sleeps_until_hangup, 120)
{
	blocked_users(_metadata, self, &self->plain);
}

/* --- page faults --- */

#define FAULT_WINDOW (64ul << 20)

/*
 * Fault 64 MiB of the memory in, 2 MiB at a time, over and over, each
 * round in a new mapping.  The previous mapping stays until the next one
 * exists: once the device is dead, mmap fails (ENODEV) and the victim
 * touches the mapping it still has, which must raise SIGBUS as soon as
 * removal has zapped it.
 */
static void fault_victim(int rd, int wr, const void *p)
{
	const struct dev *d = p;
	int fd = open(d->path, O_RDWR);
	long long end = now_ms() + 120000;
	volatile unsigned char *prev = NULL;
	unsigned long rounds = 0;

	if (fd < 0)
		vfail(wr, -100);
	while (now_ms() < end) {
		volatile unsigned char *m = mmap(NULL, FAULT_WINDOW, PROT_READ,
						 MAP_SHARED, fd, 0);

		if (m == MAP_FAILED) {
			if (errno != ENODEV || !prev)
				vfail(wr, -1);
			/*
			 * Removal has begun (the device is dead) but may not
			 * have zapped the mappings yet: keep reading.  The
			 * test's bound after removal ends decides.
			 */
			while (now_ms() < end)
				for (unsigned long off = 0; off < FAULT_WINDOW;
				     off += 2ul << 20)
					(void)prev[off];
			_exit(4);	/* a removed device's map still reads */
		}
		for (unsigned long off = 0; off < FAULT_WINDOW; off += 2ul << 20)
			(void)m[off];
		if (prev)
			munmap((void *)prev, FAULT_WINDOW);
		prev = m;
		if (!rounds++)
			vsend(wr, V_READY, 0, 0, 0, 0);
	}
	_exit(3);
}

/* Faults on a mapping as the device goes: SIGBUS, nothing else. */
TEST_F_TIMEOUT(rm, faults_get_sigbus, 120)
{
	struct victim v;
	struct vmsg m;
	int status;

	ASSERT_EQ(0, victim_start(&v, fault_victim, &self->plain));
	ASSERT_EQ(0, vrecv(v.rd, 30000, &m));
	ASSERT_EQ(V_READY, m.what) TH_LOG("errno %d", m.err);
	remove_now(_metadata, self, &self->plain);
	status = wait_child(v.pid, WAKE_MS);
	EXPECT_TRUE(status >= 0 && WIFSIGNALED(status) &&
		    WTERMSIG(status) == SIGBUS)
		TH_LOG("faulting process: status 0x%x, not SIGBUS", status);
	if (status < 0)
		victim_end(&v);
	else
		close(v.rd), close(v.wr);
}

/* --- files and mappings held across removal and re-adding --- */

static int touch_in_child(volatile unsigned char *p)
{
	int status;
	pid_t pid = fork_flushed();

	if (pid == 0) {
		(void)p[0];
		_exit(0);
	}
	status = pid < 0 ? -1 : wait_child(pid, 5000);
	return status < 0 ? -1 : WIFSIGNALED(status) ? WTERMSIG(status) : 0;
}

#define EXPECT_ERRNO(err, call) do {		\
		errno = 0;			\
		EXPECT_EQ(-1, (call));		\
		EXPECT_EQ(err, errno);		\
	} while (0)

/* Every call on a file of a removed device: ENODEV, or hang-up. */
static void expect_gone(struct __test_metadata *_metadata, int fd,
			bool doorbell)
{
	struct pollfd p = { .fd = fd, .events = POLLIN };
	struct ivshm_info info;
	struct ivshm_event ev;
	int efd = eventfd(0, EFD_CLOEXEC);

	EXPECT_ERRNO(ENODEV, vt_info(fd, &info));
	EXPECT_ERRNO(ENODEV, mmap(NULL, PAGE, PROT_READ, MAP_SHARED, fd, 0) ==
			     MAP_FAILED ? -1 : 0);
	EXPECT_EQ(1, poll(&p, 1, 0));
	EXPECT_EQ(POLLHUP | POLLERR, p.revents & (POLLHUP | POLLERR));
	if (doorbell) {
		EXPECT_ERRNO(ENODEV, vt_ring(fd, 0, 0));
		EXPECT_ERRNO(ENODEV, vt_bind(fd, 0, efd));
		EXPECT_ERRNO(ENODEV, read(fd, &ev, sizeof(ev)));
	}
	close(efd);
}

/*
 * Remove both devices while files (read-write and read-only), mappings
 * and a bound eventfd are open, put them back: old files get ENODEV and
 * stay dead, old mappings SIGBUS; the new device nodes work and map the
 * same memory.
 */
TEST_F_TIMEOUT(rm, readd_with_files_and_mappings_open, 180)
{
	int dfd, dro, pfd, efd, nfd;
	unsigned char *dmem, *pmem, *nmem;
	struct ivshm_info info;

	dfd = open(self->db.path, O_RDWR);
	dro = open(self->db.path, O_RDONLY);
	pfd = open(self->plain.path, O_RDWR);
	efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	ASSERT_LE(0, dfd);
	ASSERT_LE(0, dro);
	ASSERT_LE(0, pfd);
	ASSERT_LE(0, efd);
	dmem = mmap(NULL, DB_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED, dfd, 0);
	pmem = mmap(NULL, 4 * PAGE, PROT_READ | PROT_WRITE, MAP_SHARED, pfd,
		    SCRATCH);
	ASSERT_NE(MAP_FAILED, dmem);
	ASSERT_NE(MAP_FAILED, pmem);
	memcpy(dmem + 3 * PAGE, "dbdb", 4);
	memcpy(pmem + PAGE, "plpl", 4);
	ASSERT_EQ(0, vt_bind(dfd, 0, efd));

	remove_now(_metadata, self, &self->db);
	remove_now(_metadata, self, &self->plain);
	expect_gone(_metadata, dfd, true);
	expect_gone(_metadata, dro, false);
	expect_gone(_metadata, pfd, false);
	EXPECT_EQ(SIGBUS, touch_in_child(dmem));
	EXPECT_EQ(SIGBUS, touch_in_child(pmem));

	ASSERT_EQ(0, rm_restore(self, &self->db));
	ASSERT_EQ(0, rm_restore(self, &self->plain));
	nfd = open(self->db.path, O_RDWR);
	ASSERT_LE(0, nfd);
	ASSERT_EQ(0, vt_info(nfd, &info));
	EXPECT_EQ(DB_SIZE, info.size);
	EXPECT_EQ(IVSHM_IRQ_MSIX, info.irq_mode);
	nmem = mmap(NULL, DB_SIZE, PROT_READ, MAP_SHARED, nfd, 0);
	ASSERT_NE(MAP_FAILED, nmem);
	EXPECT_EQ(0, memcmp(nmem + 3 * PAGE, "dbdb", 4));
	munmap(nmem, DB_SIZE);
	ASSERT_EQ(0, vt_bind(nfd, 1, efd));
	ASSERT_EQ(0, vt_ring(nfd, info.peer_id, 1));
	EXPECT_EQ(1, vt_efd_wait(efd, 3000));
	close(nfd);

	nfd = open(self->plain.path, O_RDONLY);
	ASSERT_LE(0, nfd);
	ASSERT_EQ(0, vt_info(nfd, &info));
	EXPECT_EQ(PLAIN_SIZE, info.size);
	nmem = mmap(NULL, 4 * PAGE, PROT_READ, MAP_SHARED, nfd, SCRATCH);
	ASSERT_NE(MAP_FAILED, nmem);
	EXPECT_EQ(0, memcmp(nmem + PAGE, "plpl", 4));
	munmap(nmem, 4 * PAGE);
	close(nfd);

	/* The old files did not come back to life with the device. */
	expect_gone(_metadata, dfd, true);
	expect_gone(_metadata, pfd, false);
	EXPECT_EQ(SIGBUS, touch_in_child(dmem));
	munmap(dmem, DB_SIZE);
	munmap(pmem, 4 * PAGE);
	close(efd);
	close(dro);
	close(dfd);
	close(pfd);
}

/* Whether every number below that of @name is taken by a device. */
static bool lower_numbers_taken(const char *name)
{
	char path[64];

	for (int i = 0; i < atoi(name + 5); i++) {
		snprintf(path, sizeof(path), "/sys/class/ivshm/ivshm%d", i);
		if (access(path, F_OK))
			return false;
	}
	return true;
}

/*
 * A removed device's number is taken until its last file is closed: a
 * device added meanwhile gets another one; after the close, it is free
 * again, and the lowest free number is the one a new device gets.
 */
TEST_F_TIMEOUT(rm, number_reused_only_after_last_close, 180)
{
	char first[32];
	int fd;

	/* Start from the lowest free number: re-add the device once. */
	if (!lower_numbers_taken(self->db.name)) {
		remove_now(_metadata, self, &self->db);
		ASSERT_EQ(0, rm_restore(self, &self->db));
		ASSERT_TRUE(lower_numbers_taken(self->db.name))
			TH_LOG("%s: a lower number is free", self->db.name);
	}
	snprintf(first, sizeof(first), "%s", self->db.name);
	fd = open(self->db.path, O_RDWR);
	ASSERT_LE(0, fd);
	remove_now(_metadata, self, &self->db);
	ASSERT_EQ(0, rm_restore(self, &self->db));
	EXPECT_STRNE(first, self->db.name)
		TH_LOG("%s reused while a file of the removed one is open",
		       first);
	close(fd);

	remove_now(_metadata, self, &self->db);
	ASSERT_EQ(0, rm_restore(self, &self->db));
	EXPECT_STREQ(first, self->db.name)
		TH_LOG("the number of %s is still taken after its last close",
		       first);
}

/*
 * --- ioctls whose argument lies in the device's own mapping ---
 * These can leave a device wedged on a broken driver: they come last.
 */

struct own {
	const struct dev *d;
	bool mmap_thread;	/* another thread maps the device meanwhile */
};

struct loop {
	int fd;
	unsigned long long size;
	volatile int *stop;
	int ok, err, bad;	/* calls that worked, how the last failed */
};

static __thread sigjmp_buf *bus_jmp;

static void on_sigbus(int sig)
{
	if (bus_jmp)
		siglongjmp(*bus_jmp, 1);
	signal(sig, SIG_DFL);
	raise(sig);
}

/* GET_INFO on arguments in untouched pages of the device's memory. */
static void *own_page_ioctls(void *p)
{
	struct loop *l = p;
	sigjmp_buf jb;

	/* Reading the result races with the removal's zap: SIGBUS ends it. */
	signal(SIGBUS, on_sigbus);
	if (sigsetjmp(jb, 1)) {
		l->err = EFAULT;
		*l->stop = 1;
		return NULL;
	}
	bus_jmp = &jb;
	for (unsigned long i = 0; !*l->stop; i++) {
		off_t off = SCRATCH + (i % 4096) * PAGE;
		struct ivshm_info *info = mmap(NULL, PAGE, PROT_READ |
					       PROT_WRITE, MAP_SHARED, l->fd,
					       off);

		if (info == MAP_FAILED) {
			l->err = errno;
			l->bad = errno != ENODEV;
			break;
		}
		/* A fresh mapping: the ioctl's copy takes its first fault. */
		if (ioctl(l->fd, IVSHM_GET_INFO, info)) {
			l->err = errno;
			l->bad = errno != ENODEV && errno != EFAULT;
			munmap(info, PAGE);
			break;
		}
		if (info->size != l->size) {
			l->bad = 1;
			break;
		}
		l->ok++;
		munmap(info, PAGE);
	}
	*l->stop = 1;
	return NULL;
}

/* Map the device until it is gone (or for 60 s at most). */
static void *mmap_loop(void *p)
{
	struct loop *l = p;
	long long end = now_ms() + 60000;

	while (now_ms() < end) {
		void *m = mmap(NULL, 4 << 20, PROT_READ, MAP_SHARED, l->fd, 0);

		if (m == MAP_FAILED) {
			l->err = errno;
			l->bad = errno != ENODEV;
			break;
		}
		munmap(m, 4 << 20);
		l->ok++;
	}
	return NULL;
}

static void own_victim(int rd, int wr, const void *p)
{
	const struct own *o = p;
	volatile int stop = 0;
	struct loop a = { .size = o->d->size, .stop = &stop };
	struct loop b = a;
	struct ivshm_info *hdr;
	pthread_t ta, tb;

	a.fd = b.fd = open(o->d->path, O_RDWR);
	if (a.fd < 0)
		vfail(wr, -100);
	/* Each page starts with a valid header, written through another
	 * mapping: the ioctl's own mapping of it stays untouched. */
	hdr = mmap(NULL, 4096 * PAGE, PROT_READ | PROT_WRITE, MAP_SHARED,
		   a.fd, SCRATCH);
	if (hdr == MAP_FAILED)
		vfail(wr, -101);
	for (unsigned long i = 0; i < 4096; i++)
		*(struct ivshm_info *)((char *)hdr + i * PAGE) =
			(struct ivshm_info){ .argsz = sizeof(*hdr) };
	munmap(hdr, 4096 * PAGE);

	if (pthread_create(&ta, NULL, own_page_ioctls, &a) ||
	    (o->mmap_thread && pthread_create(&tb, NULL, mmap_loop, &b)))
		vfail(wr, -102);
	while (a.ok < 200 && !stop)
		usleep(10000);
	vsend(wr, V_READY, 0, 0, a.ok, 0);
	pthread_join(ta, NULL);
	if (o->mmap_thread)
		pthread_join(tb, NULL);
	vsend(wr, V_DONE, a.err, b.err, a.ok, a.bad | b.bad << 1);
}

static void own_mapping_race(struct __test_metadata *_metadata,
			     FIXTURE_DATA(rm) *self, bool mmap_thread)
{
	struct own o = { .d = &self->plain, .mmap_thread = mmap_thread };
	struct victim v;
	struct vmsg m;
	bool done;

	ASSERT_EQ(0, victim_start(&v, own_victim, &o));
	ASSERT_EQ(0, vrecv(v.rd, 30000, &m));
	ASSERT_EQ(V_READY, m.what) TH_LOG("setup: %d, errno %d", m.ret, m.err);
	rm_start(self, &self->plain);
	EXPECT_TRUE(rm_wait(self, &self->plain, remove_ms()))
		TH_LOG("removal did not finish within %d s beside ioctls faulting into the device",
		       remove_ms() / 1000);
	done = !vrecv(v.rd, WAKE_MS, &m) && m.what == V_DONE;
	EXPECT_TRUE(done) TH_LOG("the ioctls did not stop within %d s",
				 WAKE_MS / 1000);
	if (done) {
		TH_LOG("%d ioctls before removal; then errno %d (ioctl), %d (mmap)",
		       m.ok, m.ret, m.err);
		EXPECT_EQ(0, m.bad)
			TH_LOG("unexpected: ioctl errno %d, mmap errno %d",
			       m.ret, m.err);
		EXPECT_TRUE(m.ret == ENODEV || m.ret == EFAULT);
		if (mmap_thread) {
			EXPECT_EQ(ENODEV, m.err);
		}
	}
	victim_end(&v);
}

TEST_F_TIMEOUT(rm, ioctl_arg_in_untouched_device_page, 120)
{
	own_mapping_race(_metadata, self, false);
}

TEST_F_TIMEOUT(rm, mmap_beside_faulting_ioctls, 120)
{
	own_mapping_race(_metadata, self, true);
}

/*
 * The ioctl's copy is stalled at its argument's first bytes; the rest of
 * the argument lies in an untouched page of the device's own mapping.
 * The removal starts; then the copy goes on and faults into the device.
 * A driver that holds its liveness lock across the copy deadlocks here
 * for good (fault handler behind the waiting remover, behind the ioctl).
 */
TEST_F_TIMEOUT(rm, stalled_copy_into_device_page, 120)
{
	stalled_ioctl(_metadata, self, IVSHM_GET_INFO, true, false);
}

TEST_HARNESS_MAIN
