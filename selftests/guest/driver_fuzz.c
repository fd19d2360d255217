// SPDX-License-Identifier: GPL-2.0-only
/*
 * In-guest fuzzer of the driver's file operations, run while the devices
 * are unbound and rebound through sysfs (from here) and unplugged and
 * re-plugged through QMP (by the host harness), with a host peer ringing
 * the guest's vectors (selftests/vm/scenarios.py, scenario "fuzz").
 *
 * Worker processes, each with a few threads, make random sequences of
 * open, close, dup, fork, every ioctl with random sizes, flags, fds and
 * pointers (NULL, unmapped, read-only, the device's own mapping), unknown
 * ioctls, mmap/munmap/mprotect/mremap at random offsets, touches of the
 * mappings (SIGBUS after removal is caught), read, poll and epoll, and
 * eventfds closed while bound.  Errors are expected and counted by kind.
 * What fails the test:
 *  - a process still there after it was killed at the end of the run: it
 *    is stuck in the kernel (its kernel stack is printed);
 *  - a fuzzer process dying of anything but that kill;
 *  - a result the ABI rules out (a call that succeeds with arguments
 *    uapi/linux/ivshm.h says it refuses, a malformed read record,
 *    GET_INFO writing past argsz, a fault on a live mapping);
 *  - devices that do not work afterwards: bind, open, GET_INFO, mmap of
 *    the right memory, a doorbell round trip with the host peer.
 * Kernel reports (BUG, WARNING, KASAN, lockdep, hung task) fail the
 * scenario through the harness's check of the kernel log.
 *
 * Knobs (kernel command line, else environment, else the default):
 *   ivshmtest.fuzz_secs, IVSHM_FUZZ_SECS: how long to fuzz (60 s)
 *   ivshmtest.fuzz_seed, IVSHM_FUZZ_SEED: the PRNG seed (clock)
 * The seed is printed.  Each thread's choices follow from it; the timing
 * of removals and interrupts does not, so a replay is likely, not certain,
 * to take the same path.
 */
#include <limits.h>
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <time.h>
#include <sys/epoll.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/wait.h>

#include "kselftest_harness.h"
#include "vmtest.h"

#define WORKERS		3	/* processes */
#define THREADS		2	/* threads in each: one mm, concurrent calls */
#define MAX_FDS		24	/* per thread */
#define MAX_MAPS	8	/* per thread */
#define MAX_DEVS	8
#define MAX_SLOTS	128	/* threads and forked children tracked */
#define MAX_CHILDREN	2	/* forked children alive per worker */
#define PAGE		4096u
#define MB		(1u << 20)
/* Touches write only past here: the plain device's label stays intact. */
#define WRITE_FROM	(64u << 10)
/* After the run, a killed process must be gone within this. */
#define KILL_BOUND_S	15
/* The churn processes finish their cycle: the host waits 30 s at most
 * for an unplug to complete. */
#define CHURN_BOUND_S	50
/* No host unplug/plug cycle starts with less than this left (one takes
 * about a second here, unless the guest does not let the device go). */
#define HOST_CYCLE_S	3
#define FINAL_BOUND_S	90
#define REBOOT_AFTER_S	20
/* Threads dup2() onto their own numbers, far above what open() returns. */
#define DUP2_BASE	1000
#define NOFILE		(DUP2_BASE + MAX_SLOTS * 5)

enum op {
	OP_OPEN, OP_CLOSE, OP_DUP, OP_FCNTL, OP_FORK, OP_GET_INFO,
	OP_SET_EVENTFDS, OP_RING, OP_BAD_IOCTL, OP_BIND_CLOSE, OP_MMAP,
	OP_MUNMAP, OP_MPROTECT, OP_MREMAP, OP_TOUCH, OP_READ, OP_POLL,
	OP_EPOLL, OP_EVENTFD, OP_PIPE, OP_SYSFS_READ,
	/* churn */
	OP_UNBIND, OP_BIND, OP_UNPLUG, OP_PLUG,
	NOPS
};

static const char *const op_name[NOPS] = {
	"open", "close", "dup", "fcntl", "fork", "get_info", "set_eventfds",
	"ring", "bad_ioctl", "efd_close_bound", "mmap", "munmap", "mprotect",
	"mremap", "touch", "read", "poll", "epoll", "eventfd", "pipe",
	"sysfs_read", "unbind", "bind", "host_unplug", "host_plug",
};

/* Fuzzer ops and how often each is drawn (out of their sum). */
static const unsigned char weight[OP_UNBIND] = {
	[OP_OPEN] = 8, [OP_CLOSE] = 6, [OP_DUP] = 3, [OP_FCNTL] = 2,
	[OP_FORK] = 1, [OP_GET_INFO] = 10, [OP_SET_EVENTFDS] = 10,
	[OP_RING] = 10, [OP_BAD_IOCTL] = 5, [OP_BIND_CLOSE] = 4,
	[OP_MMAP] = 8, [OP_MUNMAP] = 4, [OP_MPROTECT] = 2, [OP_MREMAP] = 2,
	[OP_TOUCH] = 12, [OP_READ] = 8, [OP_POLL] = 5, [OP_EPOLL] = 4,
	[OP_EVENTFD] = 3, [OP_PIPE] = 1, [OP_SYSFS_READ] = 2,
};

/* Outcomes: success, each errno, then signals caught while touching. */
#define OUT_OK		0
#define OUT_OTHER	134	/* errno values above EHWPOISON */
#define OUT_SIGBUS	135
#define OUT_SIGSEGV	136
#define NOUT		137

struct slot {
	int pid, tid, op;		/* op: -1 between calls */
	uint64_t ops;
};

/* Shared by every process of the run (MAP_SHARED anonymous). */
struct shared {
	uint64_t out[NOPS][NOUT];
	uint64_t max_us[NOPS];
	struct slot slot[MAX_SLOTS];
	int stop;			/* churn: finish the cycle and exit */
	uint64_t forks, violations, crashes, nwhy;
	char why[8][200];		/* the first violations and crashes */
	char host_err[200];
};

static struct shared *sh;

enum kind { K_DEV = 1, K_EFD, K_PIPE, K_EPOLL };

struct fd_ent {
	int fd, kind, nb;
	int writable;		/* a device opened O_WRONLY or O_RDWR */
	int readable;
	/* From a successful GET_INFO on this very fd; -1 until then. */
	int64_t vectors, mode, peer;
	uint64_t size;
};

struct map_ent {
	char *addr;
	size_t len;
	int prot;
	int writable;		/* its fd was open for writing */
	uint64_t off;		/* device offset of addr */
};

/* One fuzzing thread (or forked child): its own fds and mappings. */
struct th {
	uint64_t rng;
	int slot, id, is_child;
	struct fd_ent fd[MAX_FDS];
	int nfd;
	struct map_ent map[MAX_MAPS];
	int nmap;
	int closed[8];		/* numbers recently closed */
	char dev[MAX_DEVS][32];
	int ndev;
	unsigned int ops;
	timer_t timer;
	uint64_t t0;
	char *ro;		/* a read-only page */
	char *hole;		/* a PROT_NONE page (an unmapped one could be
				 * reused by the next mmap) */
	char *buf;		/* two read-write pages, then a PROT_NONE page */
};

static __thread sigjmp_buf fault_jmp;
static __thread volatile sig_atomic_t fault_guard;
static int children;	/* forked and not yet reaped, per worker */

static uint64_t now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000000ull + ts.tv_nsec / 1000;
}

static void sleep_ms(unsigned int ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000l };

	while (nanosleep(&ts, &ts) && errno == EINTR)
		;
}

/* splitmix64: small, seedable, good enough to pick calls. */
static uint64_t rnd64(uint64_t *s)
{
	uint64_t z = (*s += 0x9e3779b97f4a7c15ull);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

static uint64_t rnd(struct th *t, uint64_t n)
{
	return n ? rnd64(&t->rng) % n : 0;
}

static int chance(struct th *t, unsigned int pct)
{
	return rnd(t, 100) < pct;
}

#define PICK(t, a) ((a)[rnd(t, ARRAY_SIZE(a))])

/* Count a failure in *counter and keep its description if there is room. */
static void note(uint64_t *counter, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
static void note(uint64_t *counter, const char *fmt, ...)
{
	uint64_t n = __atomic_fetch_add(&sh->nwhy, 1, __ATOMIC_RELAXED);
	va_list ap;

	__atomic_fetch_add(counter, 1, __ATOMIC_RELAXED);
	if (n >= ARRAY_SIZE(sh->why))
		return;
	va_start(ap, fmt);
	vsnprintf(sh->why[n], sizeof(sh->why[n]), fmt, ap);
	va_end(ap);
}

/* A call that the ABI says must fail succeeded, or a result it rules out. */
#define VIOLATION(fmt, ...) note(&sh->violations, "violation: " fmt, \
				 ##__VA_ARGS__)
/* A fuzzer process died of something else than the final kill. */
#define CRASH(fmt, ...) note(&sh->crashes, "crash: " fmt, ##__VA_ARGS__)

static int slot_get(void)
{
	for (int i = 0; i < MAX_SLOTS; i++) {
		int zero = 0;

		if (__atomic_compare_exchange_n(&sh->slot[i].pid, &zero,
						getpid(), false,
						__ATOMIC_RELAXED,
						__ATOMIC_RELAXED)) {
			sh->slot[i].tid = gettid();
			sh->slot[i].op = -1;
			sh->slot[i].ops = 0;
			return i;
		}
	}
	return -1;
}

static void begin(struct th *t, int op)
{
	if (t->slot >= 0)
		__atomic_store_n(&sh->slot[t->slot].op, op, __ATOMIC_RELAXED);
	t->t0 = now_us();
}

static void end(struct th *t, int op, int out)
{
	uint64_t us = now_us() - t->t0;
	uint64_t old = __atomic_load_n(&sh->max_us[op], __ATOMIC_RELAXED);

	while (us > old &&
	       !__atomic_compare_exchange_n(&sh->max_us[op], &old, us, false,
					    __ATOMIC_RELAXED, __ATOMIC_RELAXED))
		;
	__atomic_fetch_add(&sh->out[op][out], 1, __ATOMIC_RELAXED);
	if (t->slot >= 0) {
		__atomic_store_n(&sh->slot[t->slot].op, -1, __ATOMIC_RELAXED);
		__atomic_fetch_add(&sh->slot[t->slot].ops, 1, __ATOMIC_RELAXED);
	}
}

static int outcome(long ret)
{
	if (ret >= 0)
		return OUT_OK;
	return errno > 0 && errno < OUT_OTHER ? errno : OUT_OTHER;
}

/* Do the call, account it under op, keep errno. */
#define CALL(t, op, expr) ({				\
	long __r;					\
	int __e;					\
	begin(t, op);					\
	__r = (long)(expr);				\
	__e = errno;					\
	end(t, op, outcome(__r));			\
	errno = __e;					\
	__r;						\
})

/* Signals: faults on mappings are caught while touching them. */

static void on_fault(int sig, siginfo_t *si, void *uc)
{
	if (fault_guard) {
		fault_guard = 0;
		siglongjmp(fault_jmp, sig);
	}
	/* Not ours to catch: die of it, the parent reports the crash. */
	signal(sig, SIG_DFL);
}

static void on_timer(int sig)
{
}

static void setup_signals(void)
{
	struct sigaction sa = { .sa_sigaction = on_fault,
				.sa_flags = SA_SIGINFO };
	struct sigaction tm = { .sa_handler = on_timer };

	sigaction(SIGBUS, &sa, NULL);
	sigaction(SIGSEGV, &sa, NULL);
	/* No SA_RESTART: a blocking read ends with EINTR. */
	sigaction(SIGUSR1, &tm, NULL);
	signal(SIGPIPE, SIG_IGN);
}

/* A per-thread timer that interrupts a blocking call with SIGUSR1. */
static void timer_setup(struct th *t)
{
	struct sigevent sev = {
		.sigev_notify = SIGEV_THREAD_ID,
		.sigev_signo = SIGUSR1,
	};

	/* glibc before 2.41 names the field only in its internal union. */
	sev._sigev_un._tid = gettid();
	if (timer_create(CLOCK_MONOTONIC, &sev, &t->timer))
		t->timer = NULL;
}

static void timer_arm(struct th *t, unsigned int ms)
{
	struct itimerspec it = {
		.it_value = { ms / 1000, (ms % 1000) * 1000000l },
	};

	if (t->timer)
		timer_settime(t->timer, 0, &it, NULL);
}

/* The thread's tables. */

static void scan_devs(struct th *t)
{
	DIR *d = opendir("/sys/class/ivshm");
	struct dirent *de;

	t->ndev = 0;
	while (d && (de = readdir(d)) && t->ndev < MAX_DEVS)
		if (!strncmp(de->d_name, "ivshm", 5))
			snprintf(t->dev[t->ndev++], sizeof(t->dev[0]), "%s",
				 de->d_name);
	if (d)
		closedir(d);
}

static struct fd_ent *fd_add(struct th *t, int fd, int kind)
{
	struct fd_ent *f;

	if (t->nfd >= MAX_FDS) {
		close(fd);
		return NULL;
	}
	f = &t->fd[t->nfd++];
	memset(f, 0, sizeof(*f));
	f->fd = fd;
	f->kind = kind;
	f->vectors = f->mode = f->peer = -1;
	f->readable = 1;
	return f;
}

static void fd_forget(struct th *t, struct fd_ent *f)
{
	t->closed[rnd(t, ARRAY_SIZE(t->closed))] = f->fd;
	*f = t->fd[--t->nfd];
}

/* An fd of the table, of kind @kind with probability pct (if any). */
static struct fd_ent *pick_fd(struct th *t, int kind, unsigned int pct)
{
	int idx[MAX_FDS], n = 0;

	if (!t->nfd)
		return NULL;
	if (chance(t, pct)) {
		for (int i = 0; i < t->nfd; i++)
			if (t->fd[i].kind == kind)
				idx[n++] = i;
		if (n)
			return &t->fd[idx[rnd(t, n)]];
	}
	return &t->fd[rnd(t, t->nfd)];
}

/* Any fd number: valid ones of every kind, closed ones, nonsense. */
static int rnd_fdnum(struct th *t)
{
	static const int odd[] = { -1, -1, -2, INT_MIN, INT_MAX, 4095, 100000 };
	struct fd_ent *f;

	switch (rnd(t, 8)) {
	case 0:
		return PICK(t, odd);
	case 1:
		return t->closed[rnd(t, ARRAY_SIZE(t->closed))];
	case 2:
		f = pick_fd(t, K_DEV, 100);
		return f ? f->fd : -1;
	case 3:
		f = pick_fd(t, K_PIPE, 100);
		return f ? f->fd : -1;
	default:
		f = pick_fd(t, K_EFD, 100);
		return f ? f->fd : -1;
	}
}

/*
 * A pointer for the kernel to read or write: mostly @valid, else NULL,
 * small, unmapped, PROT_NONE, read-only, a kernel address, one that runs
 * into a PROT_NONE page, or one inside a device mapping (maybe never
 * touched yet, so that the kernel's copy faults into the driver).
 */
static void *rnd_ptr(struct th *t, void *valid)
{
	struct map_ent *m;

	switch (rnd(t, 14)) {
	case 0:
		return NULL;
	case 1:
		return (void *)(uintptr_t)rnd(t, PAGE);
	case 2:
		return t->hole + rnd(t, PAGE);
	case 3:
		return t->ro + rnd(t, PAGE);
	case 4:
		/* A kernel address, or user space far above any mmap. */
		return (void *)(chance(t, 50) ? 0xffff888000000000ull :
				0x100000000000ull + rnd(t, PAGE));
	case 5:
		return t->buf + 2 * PAGE - 1 - rnd(t, 40);
	case 6:
	case 7:
	case 8:
		if (t->nmap) {
			m = &t->map[rnd(t, t->nmap)];
			return m->addr + (rnd(t, m->len) & ~7ul);
		}
		return valid;
	default:
		return valid;
	}
}

static uint32_t rnd_argsz(struct th *t, uint32_t good)
{
	switch (rnd(t, 12)) {
	case 0:
		return 0;
	case 1:
		return rnd(t, good);
	case 2:
		return good + 4 * rnd(t, 16);
	case 3:
		return PICK(t, ((const uint32_t[]){ PAGE, PAGE + 1, ~0u }));
	case 4:
		return rnd64(&t->rng);
	default:
		return good;
	}
}

static uint32_t rnd_flags(struct th *t)
{
	return chance(t, 90) ? 0 : 1u << rnd(t, 32);
}

/* The ops. */

static void op_open(struct th *t)
{
	static const int acc[] = { O_RDONLY, O_WRONLY, O_RDWR, O_RDWR };
	char path[64];
	struct fd_ent *f;
	int flags, fd;

	if (!t->ndev || ++t->ops % 64 == 0)
		scan_devs(t);
	if (!t->ndev)
		return;
	if (t->nfd >= MAX_FDS) {
		close(t->fd[0].fd);
		fd_forget(t, &t->fd[0]);
	}
	flags = PICK(t, acc) | (chance(t, 30) ? O_NONBLOCK : 0) |
		(chance(t, 50) ? O_CLOEXEC : 0);
	snprintf(path, sizeof(path), "/dev/%s", t->dev[rnd(t, t->ndev)]);
	fd = CALL(t, OP_OPEN, open(path, flags));
	if (fd < 0) {
		if (errno == ENOENT || errno == ENXIO || errno == ENODEV)
			t->ndev = 0;
		return;
	}
	f = fd_add(t, fd, K_DEV);
	if (f) {
		f->nb = !!(flags & O_NONBLOCK);
		f->writable = (flags & O_ACCMODE) != O_RDONLY;
		f->readable = (flags & O_ACCMODE) != O_WRONLY;
	}
}

static void op_close(struct th *t)
{
	struct fd_ent *f = pick_fd(t, K_DEV, 50);

	if (!f)
		return;
	CALL(t, OP_CLOSE, close(f->fd));
	fd_forget(t, f);
}

static void op_dup(struct th *t)
{
	struct fd_ent *f = pick_fd(t, K_DEV, 80), copy;
	/* dup2 targets: numbers only this thread uses (see NOFILE). */
	int target = DUP2_BASE + (t->slot < 0 ? 0 : t->slot) * 5 + rnd(t, 5);
	int fd;

	if (!f || t->nfd >= MAX_FDS)
		return;
	copy = *f;
	switch (rnd(t, 3)) {
	case 0:
		fd = CALL(t, OP_DUP, dup(f->fd));
		break;
	case 1:
		fd = CALL(t, OP_DUP, fcntl(f->fd, F_DUPFD_CLOEXEC, 0));
		break;
	default:
		for (int i = 0; i < t->nfd; i++)
			if (t->fd[i].fd == target) {
				if (&t->fd[i] == f)
					return;
				fd_forget(t, &t->fd[i]);
				break;
			}
		fd = CALL(t, OP_DUP, dup2(copy.fd, target));
		break;
	}
	if (fd >= 0 && (f = fd_add(t, fd, copy.kind))) {
		*f = copy;
		f->fd = fd;
	}
}

static void op_fcntl(struct th *t)
{
	struct fd_ent *f = pick_fd(t, K_DEV, 80);
	int fl;

	if (!f)
		return;
	fl = fcntl(f->fd, F_GETFL);
	if (fl < 0)
		fl = 0;
	if (CALL(t, OP_FCNTL, fcntl(f->fd, F_SETFL, fl ^ O_NONBLOCK)) == 0)
		f->nb = !f->nb;
}

static void fuzz_loop(struct th *t, uint64_t until_us, unsigned int max_ops);

/* A child that goes on fuzzing with a copy of this thread's tables. */
static void op_fork(struct th *t)
{
	uint64_t seed = rnd64(&t->rng);
	pid_t pid;

	if (t->is_child ||
	    __atomic_load_n(&children, __ATOMIC_RELAXED) >= MAX_CHILDREN)
		return;
	begin(t, OP_FORK);
	pid = fork();
	if (pid) {
		end(t, OP_FORK, outcome(pid));
		if (pid > 0) {
			__atomic_fetch_add(&children, 1, __ATOMIC_RELAXED);
			__atomic_fetch_add(&sh->forks, 1, __ATOMIC_RELAXED);
		}
		return;
	}
	prctl(PR_SET_PDEATHSIG, SIGKILL);
	t->is_child = 1;
	t->rng = seed;
	t->slot = slot_get();
	timer_setup(t);
	fuzz_loop(t, now_us() + 50000 + rnd(t, 400000), 50 + rnd(t, 1000));
	if (t->slot >= 0)
		__atomic_store_n(&sh->slot[t->slot].pid, 0, __ATOMIC_RELAXED);
	_exit(0);
}

static void reap(void)
{
	int st;
	pid_t pid;

	while ((pid = waitpid(-1, &st, WNOHANG)) > 0) {
		__atomic_fetch_sub(&children, 1, __ATOMIC_RELAXED);
		if (WIFSIGNALED(st) && WTERMSIG(st) != SIGKILL)
			CRASH("forked child %d died of signal %d (%s)",
			      pid, WTERMSIG(st), strsignal(WTERMSIG(st)));
		else if (WIFEXITED(st) && WEXITSTATUS(st))
			CRASH("forked child %d exited %d", pid,
			      WEXITSTATUS(st));
	}
}

static void op_get_info(struct th *t)
{
	struct fd_ent *f = pick_fd(t, K_DEV, 90);
	struct ivshm_info *in = (struct ivshm_info *)t->buf;
	unsigned char before[256];
	uint32_t argsz, flags, known;
	int dirty = 0;
	void *p;
	long r;

	if (!f)
		return;
	argsz = rnd_argsz(t, sizeof(*in));
	flags = rnd_flags(t);
	/* Zeros up to argsz (a newer caller's unknown fields), then a canary. */
	memset(t->buf, 0xa5, sizeof(before));
	memset(t->buf, 0, argsz < sizeof(before) ? argsz : sizeof(before));
	if (argsz > sizeof(*in) && chance(t, 10)) {
		t->buf[sizeof(*in) + rnd(t, argsz - sizeof(*in)) %
		       (sizeof(before) - sizeof(*in))] = 1;
		dirty = 1;
	}
	in->argsz = argsz;
	in->flags = flags;
	memcpy(before, t->buf, sizeof(before));
	p = rnd_ptr(t, t->buf);
	r = CALL(t, OP_GET_INFO, ioctl(f->fd, IVSHM_GET_INFO, p));
	if (r || p != t->buf)
		return;
	if (argsz < sizeof(*in) || argsz > PAGE || flags || dirty)
		VIOLATION("GET_INFO took argsz %u flags %#x%s", argsz, flags,
			  dirty ? " and non-zero unknown bytes" : "");
	known = argsz < sizeof(*in) ? argsz : sizeof(*in);
	if (memcmp(t->buf + known, before + known, sizeof(before) - known))
		VIOLATION("GET_INFO wrote past argsz %u", argsz);
	if (in->argsz < sizeof(*in) || in->abi_version != IVSHM_ABI_VERSION ||
	    in->mode > IVSHM_MODE_DOORBELL || in->irq_mode > IVSHM_IRQ_INTX ||
	    in->size < PAGE || (in->size & (in->size - 1)) ||
	    in->vectors > 4096 || (in->mode == IVSHM_MODE_PLAIN &&
				   in->irq_mode != IVSHM_IRQ_NONE))
		VIOLATION("GET_INFO returned argsz %u abi %u mode %u irq %u size %llu vectors %u",
			  in->argsz, in->abi_version, in->mode, in->irq_mode,
			  (unsigned long long)in->size, in->vectors);
	f->vectors = in->vectors;
	f->mode = in->mode;
	f->peer = in->peer_id;
	f->size = in->size;
}

static void op_set_eventfds(struct th *t)
{
	static const uint32_t starts[] = { 0, 0, 1, 2, 3, 4, 255, 256,
					   0x7fffffff, ~0u };
	static const uint32_t counts[] = { 0, 1, 1, 2, 3, 4, 4, 5, 16,
					   0x40000000, ~0u };
	struct ivshm_eventfds *e = (struct ivshm_eventfds *)t->buf;
	struct fd_ent *f = pick_fd(t, K_DEV, 90);
	uint32_t start, count, argsz, flags, n;
	void *p;
	long r;

	if (!f)
		return;
	start = chance(t, 80) ? rnd(t, 4) : PICK(t, starts);
	count = chance(t, 70) ? 1 + rnd(t, 4) : PICK(t, counts);
	n = count < 64 ? count : 64;
	argsz = rnd_argsz(t, sizeof(*e) + n * sizeof(e->fds[0]));
	flags = rnd_flags(t);
	e->argsz = argsz;
	e->flags = flags;
	e->start = start;
	e->count = count;
	for (uint32_t i = 0; i < n; i++)
		e->fds[i] = rnd_fdnum(t);
	p = rnd_ptr(t, t->buf);
	r = CALL(t, OP_SET_EVENTFDS, ioctl(f->fd, IVSHM_SET_EVENTFDS, p));
	if (r || p != t->buf)
		return;
	if (flags || !count || n != count ||
	    argsz < sizeof(*e) + count * sizeof(e->fds[0]) ||
	    f->mode == IVSHM_MODE_PLAIN ||
	    (f->vectors >= 0 && (start >= f->vectors ||
				 count > f->vectors - start)))
		VIOLATION("SET_EVENTFDS took argsz %u flags %#x start %u count %u (mode %lld vectors %lld)",
			  argsz, flags, start, count, (long long)f->mode,
			  (long long)f->vectors);
}

static void op_ring(struct th *t)
{
	static const uint32_t peers[] = { 0, 1, 2, 3, 4, 5, 0xffff, 0x10000,
					  ~0u };
	static const uint32_t vecs[] = { 0, 1, 2, 3, 4, 255, 256, 0x10000,
					 ~0u };
	struct ivshm_doorbell *db = (struct ivshm_doorbell *)t->buf;
	struct fd_ent *f = pick_fd(t, K_DEV, 90);
	void *p;
	long r;

	if (!f)
		return;
	memset(t->buf, 0, 64);
	db->argsz = rnd_argsz(t, sizeof(*db));
	db->flags = rnd_flags(t);
	db->peer = f->peer >= 0 && chance(t, 50) ? f->peer : PICK(t, peers);
	db->vector = chance(t, 70) ? rnd(t, 4) : PICK(t, vecs);
	p = rnd_ptr(t, t->buf);
	r = CALL(t, OP_RING, ioctl(f->fd, IVSHM_RING, p));
	if (r || p != t->buf)
		return;
	if (db->argsz < sizeof(*db) || db->argsz > PAGE || db->flags ||
	    db->peer > IVSHM_MAX_PEER || db->vector > IVSHM_MAX_VECTOR ||
	    f->mode == IVSHM_MODE_PLAIN)
		VIOLATION("RING took argsz %u flags %#x peer %u vector %u (mode %lld)",
			  db->argsz, db->flags, db->peer, db->vector,
			  (long long)f->mode);
}

static void op_bad_ioctl(struct th *t)
{
	struct fd_ent *f = pick_fd(t, K_DEV, 90);
	unsigned int cmd;
	long r;

	if (!f)
		return;
	switch (rnd(t, 5)) {
	case 0:
		cmd = _IO(IVSHM_TYPE, 3 + rnd(t, 253));
		break;
	case 1:
		cmd = _IOC(1 + rnd(t, 3), IVSHM_TYPE, rnd(t, 3),
			   PICK(t, ((const unsigned int[]){ 4, 8, 16, 32 })));
		break;
	case 2:
		cmd = _IOC(rnd(t, 4), rnd(t, 256), rnd(t, 256), rnd(t, 64));
		break;
	default:
		cmd = rnd64(&t->rng);
		break;
	}
	/* Leave the generic fd ioctls alone (FIONBIO and friends). */
	if (_IOC_TYPE(cmd) == 'T' || _IOC_TYPE(cmd) == 'f' ||
	    _IOC_TYPE(cmd) == 'X' || _IOC_TYPE(cmd) == 0x94)
		return;
	memset(t->buf, 0, 64);
	r = CALL(t, OP_BAD_IOCTL,
		 ioctl(f->fd, cmd, rnd_ptr(t, t->buf)));
	if (!r && f->kind == K_DEV && _IOC_TYPE(cmd) == IVSHM_TYPE)
		VIOLATION("unknown ioctl %#x succeeded", cmd);
}

/* Bind a new eventfd properly, then close it while bound. */
static void op_bind_close(struct th *t)
{
	struct fd_ent *f = pick_fd(t, K_DEV, 100);
	int efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);

	if (!f || efd < 0) {
		if (efd >= 0)
			close(efd);
		return;
	}
	CALL(t, OP_BIND_CLOSE, vt_bind(f->fd, rnd(t, 4), efd));
	close(efd);
	t->closed[rnd(t, ARRAY_SIZE(t->closed))] = efd;
}

static void map_add(struct th *t, char *addr, size_t len, int prot,
		    struct fd_ent *f, uint64_t off)
{
	struct map_ent *m;

	if (t->nmap >= MAX_MAPS) {
		munmap(addr, len);
		return;
	}
	m = &t->map[t->nmap++];
	m->addr = addr;
	m->len = len;
	m->prot = prot;
	m->writable = f->writable;
	m->off = off;
}

static void map_forget(struct th *t, struct map_ent *m)
{
	*m = t->map[--t->nmap];
}

static void op_munmap(struct th *t);

static void op_mmap(struct th *t)
{
	static const int prots[] = { PROT_READ, PROT_READ | PROT_WRITE,
		PROT_READ | PROT_WRITE, PROT_WRITE, PROT_NONE,
		PROT_READ | PROT_EXEC };
	struct fd_ent *f = pick_fd(t, K_DEV, 90);
	uint64_t size, pages, len, off;
	int prot = PICK(t, prots), flags = MAP_SHARED;
	struct map_ent *fixed = NULL;
	void *hint = NULL, *p;

	if (!f)
		return;
	if (t->nmap >= MAX_MAPS)
		op_munmap(t);
	size = f->size ? f->size : 4 * MB;
	pages = size / PAGE;
	switch (rnd(t, 8)) {
	case 0:
		len = size;		/* whole */
		break;
	case 1:
		len = (1 + rnd(t, 512)) * PAGE;
		break;
	case 2:
		len = PICK(t, ((const uint64_t[]){ 0, size + PAGE, 3000 }));
		break;
	default:
		len = (1 + rnd(t, 16)) * PAGE;
		break;
	}
	switch (rnd(t, 6)) {
	case 0:
		off = 0;
		break;
	case 1:
		off = PICK(t, ((const uint64_t[]){ size - PAGE, size, 1ull << 40,
						   100 }));
		break;
	default:
		off = rnd(t, pages) * PAGE;
		break;
	}
	switch (rnd(t, 10)) {
	case 0:
		flags = MAP_PRIVATE;
		break;
	case 1:
		flags = MAP_SHARED_VALIDATE;
		break;
	case 2:
		if (len <= 8 * MB)
			flags |= MAP_POPULATE;
		break;
	case 3:
	case 4:
		if (t->nmap) {
			fixed = &t->map[rnd(t, t->nmap)];
			hint = fixed->addr;
			len = (1 + rnd(t, fixed->len / PAGE)) * PAGE;
			flags |= MAP_FIXED;
		}
		break;
	}
	p = (void *)CALL(t, OP_MMAP, mmap(hint, len, prot, flags, f->fd, off));
	if (fixed) {
		/* The old mapping is gone from hint to hint + len, either way. */
		if (len < fixed->len) {
			fixed->addr += len;
			fixed->len -= len;
			fixed->off += len;
		} else {
			map_forget(t, fixed);
		}
	}
	if (p == MAP_FAILED)
		return;
	if (f->kind == K_DEV && f->size &&
	    (!(flags & MAP_SHARED) || off % PAGE || off >= size ||
	     ((len + PAGE - 1) & ~(uint64_t)(PAGE - 1)) > size - off ||
	     (!f->writable && (prot & PROT_WRITE)) || !f->readable))
		VIOLATION("mmap took len %llu off %#llx prot %#x flags %#x of a %llu-byte device opened %s",
			  (unsigned long long)len, (unsigned long long)off,
			  prot, flags, (unsigned long long)size,
			  f->writable ? (f->readable ? "rw" : "w") : "r");
	if (f->kind != K_DEV) {
		munmap(p, len);
		return;
	}
	map_add(t, p, (len + PAGE - 1) & ~(uint64_t)(PAGE - 1), prot, f, off);
}

static void op_munmap(struct th *t)
{
	struct map_ent *m;
	size_t k;

	if (!t->nmap)
		return;
	m = &t->map[rnd(t, t->nmap)];
	k = (1 + rnd(t, m->len / PAGE)) * PAGE;
	switch (rnd(t, 4)) {
	case 0:		/* the head */
		if (CALL(t, OP_MUNMAP, munmap(m->addr, k)) == 0 &&
		    k < m->len) {
			m->addr += k;
			m->len -= k;
			m->off += k;
			return;
		}
		break;
	case 1:		/* a hole in the middle: forget the tail */
		k = k < m->len ? k : 0;
		if (CALL(t, OP_MUNMAP, munmap(m->addr + k, PAGE)) == 0 && k) {
			m->len = k;
			return;
		}
		break;
	default:
		CALL(t, OP_MUNMAP, munmap(m->addr, m->len));
		break;
	}
	map_forget(t, m);
}

static void op_mprotect(struct th *t)
{
	static const int prots[] = { PROT_READ, PROT_READ | PROT_WRITE,
		PROT_NONE, PROT_WRITE };
	struct map_ent *m;
	int prot = PICK(t, prots);

	if (!t->nmap)
		return;
	m = &t->map[rnd(t, t->nmap)];
	if (CALL(t, OP_MPROTECT, mprotect(m->addr, m->len, prot)))
		return;
	if ((prot & PROT_WRITE) && !m->writable)
		VIOLATION("mprotect(PROT_WRITE) of a read-only open's mapping");
	m->prot = prot;
}

static void op_mremap(struct th *t)
{
	struct map_ent *m;
	size_t nlen;
	void *p;

	if (!t->nmap)
		return;
	m = &t->map[rnd(t, t->nmap)];
	nlen = chance(t, 50) ? m->len : (1 + rnd(t, 2 * m->len / PAGE)) * PAGE;
	p = (void *)CALL(t, OP_MREMAP, mremap(m->addr, m->len, nlen,
					      MREMAP_MAYMOVE));
	if (p == MAP_FAILED)
		return;
	m->addr = p;
	m->len = nlen;
}

/*
 * Read or write a mapping.  On a live device this works; after removal
 * it raises SIGBUS, caught here and counted.
 */
static void op_touch(struct th *t)
{
	struct map_ent *m;
	/* Live across siglongjmp: volatile. */
	char *volatile addr;
	volatile size_t off;
	volatile int store, prot;
	int sig;

	if (!t->nmap)
		return;
	m = &t->map[rnd(t, t->nmap)];
	addr = m->addr;
	prot = m->prot;
	off = rnd(t, m->len) & ~7ul;
	store = (prot & PROT_WRITE) && m->off + off >= WRITE_FROM &&
		chance(t, 50);
	begin(t, OP_TOUCH);
	sig = sigsetjmp(fault_jmp, 1);
	if (sig) {
		end(t, OP_TOUCH, sig == SIGBUS ? OUT_SIGBUS : OUT_SIGSEGV);
		if (sig == SIGSEGV && prot != PROT_NONE)
			VIOLATION("SIGSEGV %s offset %#zx of a mapping with prot %#x",
				  store ? "writing" : "reading", (size_t)off,
				  prot);
		return;
	}
	fault_guard = 1;
	if (store)
		*(volatile uint64_t *)(addr + off) = rnd64(&t->rng);
	else if (chance(t, 20))
		memcpy(t->buf, addr + (off & ~(size_t)(PAGE - 1)), PAGE);
	else
		(void)*(volatile uint64_t *)(addr + off);
	fault_guard = 0;
	end(t, OP_TOUCH, OUT_OK);
}

static void check_events(struct th *t, struct fd_ent *f, long r, size_t len)
{
	struct ivshm_event *ev = (struct ivshm_event *)t->buf;
	long n = r / (long)sizeof(*ev);

	if (r % sizeof(*ev) || (size_t)r > len || !n ||
	    f->mode == IVSHM_MODE_PLAIN) {
		VIOLATION("read returned %ld for %zu bytes (mode %lld)", r, len,
			  (long long)f->mode);
		return;
	}
	for (long i = 0; i < n; i++)
		if (ev[i].reserved || !ev[i].count ||
		    (f->vectors >= 0 && ev[i].vector >= f->vectors) ||
		    (i && ev[i].vector <= ev[i - 1].vector))
			VIOLATION("read record %ld: vector %u reserved %u count %llu",
				  i, ev[i].vector, ev[i].reserved,
				  (unsigned long long)ev[i].count);
}

static void op_read(struct th *t)
{
	static const size_t sizes[] = { 0, 1, 15, 16, 17, 32, 48, 64, 4096,
					8192, 1 << 30 };
	struct fd_ent *f = pick_fd(t, K_DEV, 85);
	size_t len = PICK(t, sizes);
	void *p;
	long r;

	if (!f)
		return;
	p = rnd_ptr(t, t->buf);
	/*
	 * Whatever f->nb says (O_NONBLOCK belongs to the open file, which
	 * dup and fork share), a blocking read ends with EINTR in time.
	 */
	timer_arm(t, 20 + rnd(t, 200));
	r = CALL(t, OP_READ, read(f->fd, p, len));
	timer_arm(t, 0);
	if (r > 0 && p == t->buf && f->kind == K_DEV)
		check_events(t, f, r, len);
}

static void op_poll(struct th *t)
{
	struct pollfd p[4];
	int n = 1 + rnd(t, 4);

	for (int i = 0; i < n; i++) {
		struct fd_ent *f = pick_fd(t, K_DEV, 70);

		p[i].fd = f && chance(t, 85) ? f->fd : rnd_fdnum(t);
		p[i].events = chance(t, 70) ? POLLIN : rnd(t, 0x10000);
		p[i].revents = 0;
	}
	CALL(t, OP_POLL, poll(p, n, chance(t, 50) ? 0 : rnd(t, 50)));
}

static void op_epoll(struct th *t)
{
	struct fd_ent *ep = pick_fd(t, K_EPOLL, 100), *f;
	struct epoll_event ev[4];
	int fd;

	if (!ep || ep->kind != K_EPOLL || chance(t, 5)) {
		fd = CALL(t, OP_EPOLL, epoll_create1(EPOLL_CLOEXEC));
		if (fd >= 0)
			fd_add(t, fd, K_EPOLL);
		return;
	}
	switch (rnd(t, 4)) {
	case 0:
	case 1:
		f = pick_fd(t, K_DEV, 80);
		ev[0].events = EPOLLIN | (chance(t, 30) ? EPOLLET : 0) |
			       (chance(t, 10) ? EPOLLONESHOT : 0);
		ev[0].data.u64 = 0;
		CALL(t, OP_EPOLL, epoll_ctl(ep->fd, PICK(t,
			((const int[]){ EPOLL_CTL_ADD, EPOLL_CTL_ADD,
					EPOLL_CTL_MOD, EPOLL_CTL_DEL })),
			f && chance(t, 90) ? f->fd : rnd_fdnum(t), ev));
		break;
	default:
		CALL(t, OP_EPOLL, epoll_wait(ep->fd, ev, 4, rnd(t, 20)));
		break;
	}
}

static void op_eventfd(struct th *t)
{
	int fd = CALL(t, OP_EVENTFD,
		      eventfd(rnd(t, 3), EFD_CLOEXEC |
			      (chance(t, 70) ? EFD_NONBLOCK : 0) |
			      (chance(t, 20) ? EFD_SEMAPHORE : 0)));

	if (fd >= 0)
		fd_add(t, fd, K_EFD);
}

static void op_pipe(struct th *t)
{
	int p[2];

	if (CALL(t, OP_PIPE, pipe2(p, O_CLOEXEC | O_NONBLOCK)))
		return;
	fd_add(t, p[0], K_PIPE);
	fd_add(t, p[1], K_PIPE);
}

static void op_sysfs_read(struct th *t)
{
	static const char *const attrs[] = { "size", "peer_id", "vectors",
		"mode", "irq_mode", "revision", "dev", "uevent", "device/enable" };
	char path[128], buf[256];
	int fd;

	if (!t->ndev)
		scan_devs(t);
	if (!t->ndev)
		return;
	snprintf(path, sizeof(path), "/sys/class/ivshm/%s/%s",
		 t->dev[rnd(t, t->ndev)], PICK(t, attrs));
	fd = CALL(t, OP_SYSFS_READ, open(path, O_RDONLY));
	if (fd < 0)
		return;
	CALL(t, OP_SYSFS_READ, read(fd, buf, sizeof(buf)));
	close(fd);
}

static void (*const ops[OP_UNBIND])(struct th *) = {
	[OP_OPEN] = op_open, [OP_CLOSE] = op_close, [OP_DUP] = op_dup,
	[OP_FCNTL] = op_fcntl, [OP_FORK] = op_fork,
	[OP_GET_INFO] = op_get_info, [OP_SET_EVENTFDS] = op_set_eventfds,
	[OP_RING] = op_ring, [OP_BAD_IOCTL] = op_bad_ioctl,
	[OP_BIND_CLOSE] = op_bind_close, [OP_MMAP] = op_mmap,
	[OP_MUNMAP] = op_munmap, [OP_MPROTECT] = op_mprotect,
	[OP_MREMAP] = op_mremap, [OP_TOUCH] = op_touch, [OP_READ] = op_read,
	[OP_POLL] = op_poll, [OP_EPOLL] = op_epoll, [OP_EVENTFD] = op_eventfd,
	[OP_PIPE] = op_pipe, [OP_SYSFS_READ] = op_sysfs_read,
};

static void fuzz_loop(struct th *t, uint64_t until_us, unsigned int max_ops)
{
	unsigned int total = 0;

	for (int i = 0; i < OP_UNBIND; i++)
		total += weight[i];
	for (unsigned int n = 0; n < max_ops && now_us() < until_us; n++) {
		unsigned int w = rnd(t, total);
		int op = 0;

		while (w >= weight[op])
			w -= weight[op++];
		ops[op](t);
		if (!t->is_child)
			reap();
	}
}

/* A fuzzing thread's state, with its scratch pages. */
static struct th *th_new(uint64_t seed, int id)
{
	struct th *t = mmap(NULL, sizeof(*t), PROT_READ | PROT_WRITE,
			    MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	char *pages = mmap(NULL, 5 * PAGE, PROT_READ | PROT_WRITE,
			   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	if (t == MAP_FAILED || pages == MAP_FAILED)
		return NULL;
	memset(t, 0, sizeof(*t));
	t->rng = seed;
	t->id = id;
	t->ro = pages;
	t->hole = pages + PAGE;
	t->buf = pages + 2 * PAGE;
	mprotect(t->ro, PAGE, PROT_READ);
	mprotect(t->hole, PAGE, PROT_NONE);
	mprotect(t->buf + 2 * PAGE, PAGE, PROT_NONE);
	for (size_t i = 0; i < ARRAY_SIZE(t->closed); i++)
		t->closed[i] = 200 + i;
	return t;
}

static void *thread_main(void *arg)
{
	struct th *t = arg;

	t->slot = slot_get();
	timer_setup(t);
	fuzz_loop(t, UINT64_MAX, UINT_MAX);
	return NULL;
}

/* A worker: THREADS threads fuzzing in one process, until killed. */
static void worker(uint64_t seed, int w)
{
	pthread_t tid;

	setpgid(0, 0);
	prctl(PR_SET_PDEATHSIG, SIGKILL);
	setup_signals();
	for (int i = 0; i < THREADS; i++) {
		struct th *t = th_new(rnd64(&seed), w * THREADS + i);

		if (!t) {
			CRASH("worker %d: no memory", w);
			_exit(1);
		}
		if (i == THREADS - 1)
			thread_main(t);
		else if (pthread_create(&tid, NULL, thread_main, t))
			CRASH("worker %d: pthread_create", w);
	}
	_exit(0);
}

/* Removal churn. */

#define PCI_DRV "/sys/bus/pci/drivers/ivshm"

static int write_str(const char *path, const char *s)
{
	int fd = open(path, O_WRONLY);
	int ret = -1;

	if (fd < 0)
		return -1;
	if (write(fd, s, strlen(s)) == (ssize_t)strlen(s))
		ret = 0;
	close(fd);
	return ret;
}

/* Does /sys/bus/pci/devices/DEV/ATTR start with want? */
static bool pci_attr_is(const char *dev, const char *attr, const char *want)
{
	char path[300], buf[16] = "";
	int fd;
	ssize_t n;

	snprintf(path, sizeof(path), "/sys/bus/pci/devices/%s/%s", dev, attr);
	fd = open(path, O_RDONLY);
	if (fd < 0)
		return false;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	return n >= (ssize_t)strlen(want) && !strncmp(buf, want, strlen(want));
}

/* Names (0000:bb:dd.f) of the ivshmem PCI devices, bound or not. */
static int ivshm_pci(char names[][16], int max, int unbound_only)
{
	DIR *d = opendir("/sys/bus/pci/devices");
	struct dirent *de;
	int n = 0;

	while (d && (de = readdir(d)) && n < max) {
		char path[300];

		if (de->d_name[0] == '.' ||
		    !pci_attr_is(de->d_name, "vendor", "0x1af4") ||
		    !pci_attr_is(de->d_name, "device", "0x1110"))
			continue;
		snprintf(path, sizeof(path), "/sys/bus/pci/devices/%s/driver",
			 de->d_name);
		if (unbound_only && !access(path, F_OK))
			continue;
		snprintf(names[n++], 16, "%s", de->d_name);
	}
	if (d)
		closedir(d);
	return n;
}

/* Bind every ivshmem PCI device that has no driver; failures counted. */
static int rebind_all(struct th *t)
{
	char names[8][16];
	int n = ivshm_pci(names, 8, 1), bad = 0;

	for (int i = 0; i < n; i++)
		bad += CALL(t, OP_BIND, write_str(PCI_DRV "/bind", names[i])) < 0;
	return bad;
}

/* In the guest: unbind and rebind devices through sysfs, until stopped. */
static void churn_sysfs(uint64_t seed)
{
	struct th *t = th_new(seed, -1);

	prctl(PR_SET_PDEATHSIG, SIGKILL);
	t->slot = slot_get();
	while (!__atomic_load_n(&sh->stop, __ATOMIC_RELAXED)) {
		char names[8][16];
		int n = ivshm_pci(names, 8, 0);

		if (n) {
			int all = chance(t, 20);

			for (int i = 0; i < n; i++)
				if (all || i == (int)rnd(t, n))
					CALL(t, OP_UNBIND,
					     write_str(PCI_DRV "/unbind",
						       names[i]));
			sleep_ms(rnd(t, 150));
			rebind_all(t);
		}
		sleep_ms(rnd(t, 300));
	}
	rebind_all(t);
	_exit(0);
}

/* "unplug ID" or "plug ID" to the host harness; an error counts as EIO. */
static int host_req(struct th *t, int op, char *ans, size_t len,
		    const char *id)
{
	int r;

	begin(t, op);
	r = vt_host(ans, len, "%s %s", op == OP_UNPLUG ? "unplug" : "plug",
		    id);
	end(t, op, r ? EIO : OUT_OK);
	return r;
}

/*
 * From the host: QMP hot-unplug and re-plug of the plain and the
 * doorbell device, until stopped or too little time is left for a cycle.
 * Whatever it unplugged, it plugs back.
 */
static void churn_host(uint64_t seed, uint64_t until_us)
{
	static const char *const ids[] = { "plain0", "db0" };
	struct th *t = th_new(seed, -1);
	char ans[256];

	prctl(PR_SET_PDEATHSIG, SIGKILL);
	t->slot = slot_get();
	sleep_ms(500 + rnd(t, 1500));
	for (int i = rnd(t, 2);
	     !__atomic_load_n(&sh->stop, __ATOMIC_RELAXED) &&
	     now_us() + HOST_CYCLE_S * 1000000ull < until_us; i++) {
		const char *id = ids[i % 2];

		if (host_req(t, OP_UNPLUG, ans, sizeof(ans), id))
			snprintf(sh->host_err, sizeof(sh->host_err),
				 "unplug %s: %s", id, ans);
		sleep_ms(rnd(t, 500));
		/* An unplug that failed may still complete later. */
		for (int tries = 0; tries < 3; tries++) {
			if (!host_req(t, OP_PLUG, ans, sizeof(ans), id))
				break;
			snprintf(sh->host_err, sizeof(sh->host_err),
				 "plug %s: %s", id, ans);
			if (!strstr(ans, "Duplicate"))
				break;
			sleep_ms(3000);
		}
		sleep_ms(200 + rnd(t, 800));
	}
	_exit(0);
}

/* The end: everything stops, in time, and the devices still work. */

/* Print the state and kernel stack of every task of pid. */
static void show_stuck(pid_t pid, const char *what)
{
	char path[64], buf[4096];
	DIR *d;
	struct dirent *de;

	snprintf(path, sizeof(path), "/proc/%d/task", pid);
	d = opendir(path);
	while (d && (de = readdir(d))) {
		int tid = atoi(de->d_name), fd, op = -1;
		ssize_t n;

		if (tid <= 0)
			continue;
		for (int i = 0; i < MAX_SLOTS; i++)
			if (sh->slot[i].tid == tid && sh->slot[i].pid)
				op = sh->slot[i].op;
		snprintf(path, sizeof(path), "/proc/%d/task/%d/stat", pid, tid);
		fd = open(path, O_RDONLY);
		n = fd >= 0 ? read(fd, buf, sizeof(buf) - 1) : -1;
		if (fd >= 0)
			close(fd);
		buf[n > 0 ? n : 0] = 0;
		/* pid (comm) state ...: zombies wait for a stuck parent. */
		if (strstr(buf, ") Z "))
			continue;
		printf("# stuck %s %d task %d in %s: %s", what, pid, tid,
		       op >= 0 ? op_name[op] : "-", buf);
		snprintf(path, sizeof(path), "/proc/%d/task/%d/stack", pid,
			 tid);
		fd = open(path, O_RDONLY);
		n = fd >= 0 ? read(fd, buf, sizeof(buf) - 1) : -1;
		if (fd >= 0)
			close(fd);
		buf[n > 0 ? n : 0] = 0;
		for (char *s = buf, *nl; *s; s = nl + 1) {
			nl = strchrnul(s, '\n');
			printf("#   %.*s\n", (int)(nl - s), s);
			if (!*nl)
				break;
		}
	}
	if (d)
		closedir(d);
}

/* Steps of the final check, in a child so that a hang cannot stop us. */
static int final_check(uint64_t host_id)
{
	struct ivshm_info info;
	char name[64], ans[128], want[40];
	unsigned char *mem;
	struct th *t = th_new(1, -1);
	uint64_t v = 0x1234567890abcdefull ^ now_us();
	int fd, efd;

	t->slot = -1;
	if (rebind_all(t))
		printf("# final: binding a device failed\n");
	/* Plain: bound, opens, maps the memory the host sees. */
	if (vt_find("plain", 0, name, sizeof(name), 30000))
		return 1;
	fd = vt_open("plain", 0, O_RDWR);
	if (fd < 0 || vt_info(fd, &info) || info.mode != IVSHM_MODE_PLAIN)
		return 2;
	mem = mmap(NULL, PAGE, PROT_READ | PROT_WRITE, MAP_SHARED, fd,
		   info.size - PAGE);
	if (mem == MAP_FAILED)
		return 3;
	memcpy(mem + 64, &v, sizeof(v));
	vt_hex(want, (unsigned char *)&v, sizeof(v));
	if (vt_host(ans, sizeof(ans), "shm-read plain %llu 8",
		    (unsigned long long)info.size - PAGE + 64) ||
	    strcmp(ans, want)) {
		printf("# final: host reads %s, guest wrote %s\n", ans, want);
		return 4;
	}
	munmap(mem, PAGE);
	close(fd);

	/* Doorbell: the same, then an interrupt each way. */
	if (vt_find("doorbell", 0, name, sizeof(name), 30000))
		return 5;
	fd = vt_open("doorbell", 0, O_RDWR);
	if (fd < 0 || vt_info(fd, &info) ||
	    info.mode != IVSHM_MODE_DOORBELL ||
	    info.irq_mode != IVSHM_IRQ_MSIX || info.vectors < 1)
		return 6;
	mem = mmap(NULL, PAGE, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (mem == MAP_FAILED)
		return 7;
	memcpy(mem + 64, &v, sizeof(v));
	if (vt_host(ans, sizeof(ans), "shm-read server 64 8") ||
	    strcmp(ans, want)) {
		printf("# final: host reads %s, guest wrote %s\n", ans, want);
		return 8;
	}
	efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (efd < 0 || vt_bind(fd, 0, efd))
		return 9;
	/* Vector 0: the host ringer only rings the others. */
	if (vt_host(ans, sizeof(ans), "ring %u 0", info.peer_id)) {
		printf("# final: host ring: %s\n", ans);
		return 10;
	}
	if (!vt_efd_wait(efd, 5000))
		return 11;
	/* Drain what the fuzzer rang the host peer, then ring it. */
	vt_host(ans, sizeof(ans), "wait 0 1");
	if (vt_ring(fd, host_id, 0))
		return 12;
	if (vt_host(ans, sizeof(ans), "wait 0 5000") || !atoi(ans))
		return 13;
	close(efd);
	munmap(mem, PAGE);
	close(fd);
	return 0;
}

static const char *const final_step[] = {
	"ok", "no plain device", "plain: open or GET_INFO",
	"plain: mmap", "plain: memory differs from the host's",
	"no doorbell device", "doorbell: open or GET_INFO",
	"doorbell: mmap", "doorbell: memory differs from the host's",
	"doorbell: binding an eventfd", "host ring request",
	"doorbell: no interrupt from the host", "doorbell: RING",
	"host: no doorbell from the guest",
};

static void print_stats(double secs)
{
	uint64_t total = 0;

	for (int op = 0; op < NOPS; op++)
		for (int o = 0; o < NOUT; o++)
			total += sh->out[op][o];
	printf("# %llu operations in %.1f s (%.0f/s), %d processes x %d threads, %llu forked children\n",
	       (unsigned long long)total, secs, total / secs, WORKERS, THREADS,
	       (unsigned long long)sh->forks);
	for (int op = 0; op < NOPS; op++) {
		char line[1024];
		uint64_t n = 0;
		int k = 0;

		for (int o = 0; o < NOUT; o++)
			n += sh->out[op][o];
		k += snprintf(line + k, sizeof(line) - k,
			      "# %-16s %9llu:", op_name[op],
			      (unsigned long long)n);
		for (int o = 0; o < NOUT && k < (int)sizeof(line) - 40; o++) {
			const char *what;

			if (!sh->out[op][o])
				continue;
			what = o == OUT_OK ? "ok" : o == OUT_OTHER ? "other" :
			       o == OUT_SIGBUS ? "SIGBUS" :
			       o == OUT_SIGSEGV ? "SIGSEGV" : strerrorname_np(o);
			k += snprintf(line + k, sizeof(line) - k, " %s %llu",
				      what ? what : "?",
				      (unsigned long long)sh->out[op][o]);
		}
		printf("%s; longest %.1f ms\n", line, sh->max_us[op] / 1000.0);
	}
}

static unsigned long long knob(const char *key, const char *env,
			       unsigned long long def)
{
	char buf[64];
	const char *v = vt_cmdline(key, buf, sizeof(buf));

	if (!v)
		v = getenv(env);
	return v && *v ? strtoull(v, NULL, 0) : def;
}

FIXTURE(fuzz) {
	unsigned int secs;
	uint64_t seed;
};

FIXTURE_SETUP(fuzz)
{
	self->secs = knob("ivshmtest.fuzz_secs", "IVSHM_FUZZ_SECS", 60);
	self->seed = knob("ivshmtest.fuzz_seed", "IVSHM_FUZZ_SEED",
			  now_us() ^ ((uint64_t)getpid() << 32));
}

FIXTURE_TEARDOWN(fuzz)
{
}

/* Tasks of pid that are not zombies (a dead leader may have live threads). */
static int live_tasks(int pid)
{
	char path[64], buf[512];
	struct dirent *de;
	DIR *d;
	int n = 0;

	snprintf(path, sizeof(path), "/proc/%d/task", pid);
	d = opendir(path);
	while (d && (de = readdir(d))) {
		int fd;
		ssize_t len;
		char *p;

		if (de->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "/proc/%d/task/%s/stat", pid,
			 de->d_name);
		fd = open(path, O_RDONLY);
		len = fd >= 0 ? read(fd, buf, sizeof(buf) - 1) : -1;
		if (fd >= 0)
			close(fd);
		if (len <= 0)
			continue;
		buf[len] = 0;
		p = strrchr(buf, ')');
		n += p && p[1] == ' ' && p[2] != 'Z';
	}
	if (d)
		closedir(d);
	return n;
}

/* Processes of the workers' groups (forked children included) still there. */
static int left_in_groups(const pid_t *groups, int n, bool show)
{
	DIR *d = opendir("/proc");
	struct dirent *de;
	int left = 0;

	while (d && (de = readdir(d))) {
		char path[64], buf[512], *p;
		int pid = atoi(de->d_name), fd, pgrp = 0;
		ssize_t len;

		if (pid <= 0)
			continue;
		snprintf(path, sizeof(path), "/proc/%d/stat", pid);
		fd = open(path, O_RDONLY);
		len = fd >= 0 ? read(fd, buf, sizeof(buf) - 1) : -1;
		if (fd >= 0)
			close(fd);
		if (len <= 0)
			continue;
		buf[len] = 0;
		/* pid (comm) state ppid pgrp ... */
		p = strrchr(buf, ')');
		if (!p || sscanf(p + 2, "%*c %*d %d", &pgrp) != 1)
			continue;
		for (int i = 0; i < n; i++)
			if (pgrp == groups[i] && live_tasks(pid)) {
				left++;
				if (show)
					show_stuck(pid, "fuzzer");
			}
	}
	if (d)
		closedir(d);
	return left;
}

/*
 * A guest with a task stuck in the driver cannot power off: shutdown
 * waits for the device lock that a stuck unbind holds.  Once this test
 * and /init have printed their results and the kernel log, reboot it
 * (the harness's QEMU exits on reboot) instead of leaving the harness
 * to time out.
 */
static void reboot_later(void)
{
	fflush(NULL);
	if (fork() == 0) {
		setsid();
		sleep_ms(REBOOT_AFTER_S * 1000);
		write_str("/proc/sysrq-trigger", "b");
		_exit(0);
	}
}

/* The harness's own timeout is only a backstop for ours. */
TEST_F_TIMEOUT(fuzz, ops_while_removed, 1200)
{
	struct rlimit nofile = { NOFILE, NOFILE };
	pid_t workers[WORKERS], sysfs_pid, host_pid, pid;
	int churning = 2, hung = 0, final = -1, st;
	uint64_t t0, t_end, t_stop = 0, seed = self->seed;
	char ans[64], name[64];
	unsigned long long host_id;

	printf("# seed %llu (replay: ivshmtest.fuzz_seed=%llu), %u s, %d processes x %d threads\n",
	       (unsigned long long)seed, (unsigned long long)seed, self->secs,
	       WORKERS, THREADS);
	ASSERT_EQ(0, vt_find("plain", 0, name, sizeof(name), 10000));
	ASSERT_EQ(0, vt_find("doorbell", 0, name, sizeof(name), 10000));
	ASSERT_EQ(0, vt_host(ans, sizeof(ans), "host-id"));
	host_id = strtoull(ans, NULL, 0);
	sh = mmap(NULL, sizeof(*sh), PROT_READ | PROT_WRITE,
		  MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(MAP_FAILED, sh);
	ASSERT_EQ(0, setrlimit(RLIMIT_NOFILE, &nofile));
	/* Orphans of killed workers come to us, to be reaped. */
	ASSERT_EQ(0, prctl(PR_SET_CHILD_SUBREAPER, 1));

	t0 = now_us();
	t_end = t0 + self->secs * 1000000ull;
	fflush(NULL);
	sysfs_pid = fork();
	if (sysfs_pid == 0)
		churn_sysfs(rnd64(&seed));
	rnd64(&seed);
	host_pid = fork();
	if (host_pid == 0)
		churn_host(rnd64(&seed), t_end);
	rnd64(&seed);
	for (int w = 0; w < WORKERS; w++) {
		uint64_t s = rnd64(&seed);

		workers[w] = fork();
		if (workers[w] == 0)
			worker(s, w);
		/* Both sides, so that the kill at the end cannot miss it. */
		setpgid(workers[w], workers[w]);
	}
	ASSERT_LT(0, sysfs_pid);
	ASSERT_LT(0, host_pid);

	/*
	 * Fuzz until the end, then kill the workers (and their children)
	 * and let the churn finish its cycle.  Whoever is still there past
	 * its bound is stuck in the kernel.
	 */
	for (;;) {
		uint64_t now = now_us();

		if (!t_stop && now >= t_end) {
			t_stop = now;
			__atomic_store_n(&sh->stop, 1, __ATOMIC_RELAXED);
			for (int w = 0; w < WORKERS; w++)
				kill(-workers[w], SIGKILL);
		}
		pid = waitpid(-1, &st, WNOHANG);
		if (pid < 0)
			break;		/* ECHILD: all gone */
		if (pid > 0) {
			if (pid == sysfs_pid || pid == host_pid) {
				churning--;
				if (!WIFEXITED(st) || WEXITSTATUS(st))
					CRASH("%s churn ended with status %#x",
					      pid == sysfs_pid ? "sysfs" :
					      "host", st);
			} else if (!t_stop || !WIFSIGNALED(st) ||
				   WTERMSIG(st) != SIGKILL) {
				CRASH("worker or child %d ended with status %#x",
				      pid, st);
			}
			continue;
		}
		if (t_stop &&
		    ((now > t_stop + KILL_BOUND_S * 1000000ull &&
		      left_in_groups(workers, WORKERS, false)) ||
		     now > t_stop + CHURN_BOUND_S * 1000000ull)) {
			hung = 1;
			break;
		}
		sleep_ms(50);
	}
	if (hung) {
		left_in_groups(workers, WORKERS, true);
		if (churning) {
			show_stuck(sysfs_pid, "sysfs churn");
			show_stuck(host_pid, "host churn");
		}
		/* Every blocked task's stack into the kernel log. */
		write_str("/proc/sysrq-trigger", "w");
		reboot_later();
	}

	print_stats((t_stop ? t_stop - t0 : now_us() - t0) / 1e6);
	if (sh->host_err[0])
		printf("# last host error: %s\n", sh->host_err);
	for (uint64_t i = 0; i < sh->nwhy && i < ARRAY_SIZE(sh->why); i++)
		printf("# %s\n", sh->why[i]);

	if (!hung) {
		fflush(NULL);
		pid = fork();
		if (pid == 0)
			_exit(final_check(host_id));
		for (int i = 0; i < FINAL_BOUND_S * 20; i++) {
			if (waitpid(pid, &st, WNOHANG) == pid) {
				final = WIFEXITED(st) ? WEXITSTATUS(st) : 100;
				break;
			}
			sleep_ms(50);
		}
		if (final < 0)
			show_stuck(pid, "final check");
		printf("# final check: %s\n", final < 0 ? "stuck" :
		       final < (int)ARRAY_SIZE(final_step) ?
		       final_step[final] : "died");
	}
	printf("# ran %.1f s in all for %u s of fuzzing\n",
	       (now_us() - t0) / 1e6, self->secs);
	EXPECT_EQ(0, hung) TH_LOG("processes stuck in the kernel after the run");
	EXPECT_EQ(0, sh->crashes) TH_LOG("the fuzzer crashed");
	EXPECT_EQ(0, sh->violations) TH_LOG("results the ABI rules out");
	EXPECT_EQ(0, final) TH_LOG("the devices do not work after the run");
}

TEST_HARNESS_MAIN
