/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Helpers for the in-guest tests: finding ivshm devices, the driver's
 * ioctls, and requests to the host harness (selftests/vm) over ttyS0.
 */
#ifndef IVSHM_VMTEST_H
#define IVSHM_VMTEST_H

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/klog.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <unistd.h>

#include <linux/ivshm.h>

/* Read /sys/class/ivshm/NAME/ATTR into buf (newline stripped); 0 or -1. */
static inline int vt_sysfs(const char *name, const char *attr, char *buf,
			   size_t len)
{
	char path[256];
	ssize_t n;
	int fd;

	snprintf(path, sizeof(path), "/sys/class/ivshm/%s/%s", name, attr);
	fd = open(path, O_RDONLY);
	if (fd < 0)
		return -1;
	n = read(fd, buf, len - 1);
	close(fd);
	if (n < 0)
		return -1;
	buf[n] = 0;
	if (n && buf[n - 1] == '\n')
		buf[n - 1] = 0;
	return 0;
}

/*
 * Name ("ivshmN") of the index-th device whose mode is @mode ("plain" or
 * "doorbell") and, unless @size is 0, whose memory is @size bytes, waiting
 * up to @wait_ms for it to appear; 0 or -1.
 */
static inline int vt_find_size(const char *mode, unsigned long long size,
			       int index, char *name, size_t len, int wait_ms)
{
	for (;;) {
		struct dirent *de;
		char m[32];
		int found = -1, seen = 0;
		DIR *d = opendir("/sys/class/ivshm");

		while (d && (de = readdir(d))) {
			char dev[64];

			if (strncmp(de->d_name, "ivshm", 5))
				continue;
			if (vt_sysfs(de->d_name, "mode", m, sizeof(m)) ||
			    strcmp(m, mode))
				continue;
			if (size && (vt_sysfs(de->d_name, "size", m, sizeof(m)) ||
				     strtoull(m, NULL, 10) != size))
				continue;
			snprintf(dev, sizeof(dev), "/dev/%s", de->d_name);
			if (access(dev, F_OK))
				continue;
			if (seen++ == index) {
				snprintf(name, len, "%s", de->d_name);
				found = 0;
				break;
			}
		}
		if (d)
			closedir(d);
		if (!found || wait_ms <= 0)
			return found;
		usleep(100000);
		wait_ms -= 100;
	}
}

static inline int vt_find(const char *mode, int index, char *name,
			  size_t len, int wait_ms)
{
	return vt_find_size(mode, 0, index, name, len, wait_ms);
}

/* Open the index-th device of @mode; -1 if there is none. */
static inline int vt_open(const char *mode, int index, int flags)
{
	char name[64], path[80];

	if (vt_find(mode, index, name, sizeof(name), 5000))
		return -1;
	snprintf(path, sizeof(path), "/dev/%s", name);
	return open(path, flags);
}

static inline int vt_info(int fd, struct ivshm_info *info)
{
	memset(info, 0, sizeof(*info));
	info->argsz = sizeof(*info);
	return ioctl(fd, IVSHM_GET_INFO, info);
}

static inline int vt_ring(int fd, unsigned int peer, unsigned int vector)
{
	struct ivshm_doorbell db = {
		.argsz = sizeof(db), .peer = peer, .vector = vector,
	};

	return ioctl(fd, IVSHM_RING, &db);
}

/* Bind @efd (or -1 to unbind) to one vector. */
static inline int vt_bind(int fd, unsigned int vector, int efd)
{
	struct {
		struct ivshm_eventfds h;
		int32_t fd;
	} a = {
		.h = { .argsz = sizeof(a), .start = vector, .count = 1 },
		.fd = efd,
	};

	return ioctl(fd, IVSHM_SET_EVENTFDS, &a);
}

/* Eventfd counter after waiting up to @ms for it; 0 if it did not fire. */
static inline uint64_t vt_efd_wait(int efd, int ms)
{
	struct pollfd p = { .fd = efd, .events = POLLIN };
	uint64_t v = 0;

	if (poll(&p, 1, ms) != 1)
		return 0;
	if (read(efd, &v, sizeof(v)) != sizeof(v))
		return 0;
	return v;
}

/*
 * Ask the host harness something (see selftests/vm/vm.py, class Requests)
 * and copy its answer into @out.  Returns 0, or -1 if the host answered
 * "error ..." (the answer is still copied).
 */
static inline int vt_host(char *out, size_t len, const char *fmt, ...)
{
	static unsigned int seq;
	char req[512], line[8192], tag[32];
	size_t n = 0, tl;
	va_list ap;
	int k;

	k = snprintf(req, sizeof(req), "#REQ %u-%u ", getpid(), ++seq);
	snprintf(tag, sizeof(tag), "#REP %u-%u ", getpid(), seq);
	tl = strlen(tag);
	va_start(ap, fmt);
	vsnprintf(req + k, sizeof(req) - k - 1, fmt, ap);
	va_end(ap);
	strcat(req, "\n");
	fflush(stdout);
	if (write(1, req, strlen(req)) < 0)
		return -1;
	for (;;) {
		char c;

		if (read(0, &c, 1) != 1)
			return -1;
		if (c == '\r')
			continue;
		if (c != '\n') {
			if (n < sizeof(line) - 1)
				line[n++] = c;
			continue;
		}
		line[n] = 0;
		n = 0;
		if (strncmp(line, tag, tl))
			continue;
		snprintf(out, len, "%s", line + tl);
		return strncmp(out, "error", 5) ? 0 : -1;
	}
}

static inline void vt_hex(char *out, const unsigned char *p, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		sprintf(out + 2 * i, "%02x", p[i]);
	out[2 * n] = 0;
}

/*
 * Does this kernel map BAR2 with huge PFN entries (2 MiB; 1 GiB too when
 * *pud is set)?  6.12 has them (a "special" bit in PMDs and PUDs), with
 * PUDs on x86-64 only, where it has transparent huge pages (PREEMPT_RT
 * kernels have none); 6.1 does not.
 */
static inline int vt_huge_pfn_kernel(int *pud)
{
	struct utsname u;
	int maj = 0, min = 0;

	uname(&u);
	sscanf(u.release, "%d.%d", &maj, &min);
	*pud = !strcmp(u.machine, "x86_64");
	return (maj > 6 || (maj == 6 && min >= 12)) &&
	       !access("/sys/kernel/mm/transparent_hugepage", F_OK);
}

/* The device's sysfs "faults": PTE, PMD and PUD counts, -1 if unread. */
static inline void vt_faults(const char *name, long long f[3])
{
	char buf[96];

	f[0] = f[1] = f[2] = -1;
	if (!vt_sysfs(name, "faults", buf, sizeof(buf)))
		sscanf(buf, "%lld %lld %lld", &f[0], &f[1], &f[2]);
}

/* Exit signal of a child that reads *p: SIGBUS once revoked, else 0. */
static inline int vt_touch_in_child(volatile unsigned char *p)
{
	int status;
	pid_t pid = fork();

	if (pid == 0) {
		(void)p[0];
		_exit(0);
	}
	if (pid < 0 || waitpid(pid, &status, 0) != pid)
		return -1;
	return WIFSIGNALED(status) ? WTERMSIG(status) : 0;
}

/* Has the kernel log a line with both @a and @b? */
static inline int vt_klog_has(const char *a, const char *b)
{
	int n = klogctl(10, NULL, 0), found = 0;	/* SYSLOG_ACTION_SIZE_BUFFER */
	char *buf, *line, *save = NULL;

	buf = n > 0 ? malloc(n + 1) : NULL;
	if (!buf)
		return 0;
	n = klogctl(3, buf, n);				/* SYSLOG_ACTION_READ_ALL */
	buf[n > 0 ? n : 0] = 0;
	for (line = strtok_r(buf, "\n", &save); line && !found;
	     line = strtok_r(NULL, "\n", &save))
		found = strstr(line, a) && strstr(line, b);
	free(buf);
	return found;
}

/* Value of name=... on the kernel command line, or NULL. */
static inline const char *vt_cmdline(const char *key, char *buf, size_t len)
{
	char line[1024], *p, *tok, *save = NULL;
	FILE *f = fopen("/proc/cmdline", "r");

	if (!f || !fgets(line, sizeof(line), f)) {
		if (f)
			fclose(f);
		return NULL;
	}
	fclose(f);
	for (p = line; (tok = strtok_r(p, " \n", &save)); p = NULL) {
		size_t kl = strlen(key);

		if (!strncmp(tok, key, kl) && tok[kl] == '=') {
			snprintf(buf, len, "%s", tok + kl + 1);
			return buf;
		}
	}
	return NULL;
}

/*
 * How many times slower than a Debian kernel this guest's kernel is: the
 * harness passes ivshmtest.slow=N for the debug lane (KASAN, lockdep and
 * kmemleak under TCG), 1 for others.
 */
static inline int vt_slow(void)
{
	char buf[16];
	int n = vt_cmdline("ivshmtest.slow", buf, sizeof(buf)) ? atoi(buf) : 1;

	return n > 1 ? n : 1;
}

#ifdef TEST_HARNESS_MAIN
/* Every test's timeout, TEST_F_TIMEOUT's included, times vt_slow(). */
static inline void vt_scale_timeouts(void)
{
	struct __fixture_metadata *f;
	struct __test_metadata *t;

	for (f = __fixture_list; f; f = f->next)
		for (t = f->tests; t; t = t->next)
			t->timeout *= vt_slow();
}

#undef TEST_HARNESS_MAIN
#define TEST_HARNESS_MAIN \
	static void __attribute__((constructor)) \
	__constructor_order_last(void) \
	{ \
		if (!__constructor_order) \
			__constructor_order = _CONSTRUCTOR_ORDER_BACKWARD; \
	} \
	int main(int argc, char **argv) { \
		vt_scale_timeouts(); \
		return test_harness_run(argc, argv); \
	}
#endif

#endif /* IVSHM_VMTEST_H */
