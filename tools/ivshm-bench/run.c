// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * One run of one case: a memfd mapped shared by two processes, the parent
 * as producer (or pinger) on one CPU, a forked child as consumer (or
 * ponger) on another.  Nothing waits forever: blocking calls have
 * timeouts, spin loops check a deadline and the other side's abort flag,
 * and a consumer that does not finish is told to stop, then killed.
 */
#include <errno.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "bench.h"

static double deadline;

double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

void idle_ns(uint64_t ns)
{
	uint64_t end = now_ns() + ns;

	while (now_ns() < end)
		;
}

void fail(struct run *r, const char *fmt, ...)
{
	va_list ap;

	if (!r->fail[0]) {
		va_start(ap, fmt);
		vsnprintf(r->fail, sizeof(r->fail), fmt, ap);
		va_end(ap);
	}
	atomic_store(&r->ctl->abort, 1);
}

int stopped(struct run *r)
{
	return atomic_load_explicit(&r->ctl->abort, memory_order_relaxed);
}

/* Call in every spin loop; 1 means give up (the failure is recorded). */
int spin_check(struct run *r, unsigned int *k)
{
	if (++*k & 0x3fff)
		return 0;
	if (stopped(r)) {
		if (!r->fail[0])
			snprintf(r->fail, sizeof(r->fail), "stopped by the %s",
				 r->child ? "producer" : "consumer");
		return 1;
	}
	if (now_s() > deadline) {
		fail(r, "timed out");
		return 1;
	}
	return 0;
}

void consumer_ready(struct run *r)
{
	atomic_store(&r->ctl->ready, 1);
}

void add_stats(struct ivshm_chan_stats *sum, const struct ivshm_chan *c)
{
	struct ivshm_chan_stats s = { .size = sizeof(s) };

	if (c && !ivshm_chan_stats(c, &s)) {
		sum->notifies += s.notifies;
		sum->waits += s.waits;
		sum->sleeps += s.sleeps;
	}
}

int bench_fifo;

/*
 * --fifo: SCHED_FIFO priority 1, so that other load on the machine cannot
 * preempt a side in the middle of a round trip.  Each side switches only
 * once it is pinned to its own CPU: a spinning FIFO task never yields,
 * so two on one CPU would stall until the kernel's RT throttling.
 * 0 or -errno.
 */
int sched_fifo(int on)
{
	struct sched_param sp = { .sched_priority = on ? 1 : 0 };

	if (sched_setscheduler(0, on ? SCHED_FIFO : SCHED_OTHER, &sp))
		return -errno;
	return 0;
}

static void pin(int cpu)
{
	cpu_set_t set;

	if (cpu < 0)
		return;
	CPU_ZERO(&set);
	CPU_SET(cpu, &set);
	sched_setaffinity(0, sizeof(set), &set);
}

/* ---- eventfd doorbells ------------------------------------------------ */

static int efd_notify(void *ctx)
{
	struct efd_end *e = ctx;
	uint64_t one = 1;

	return write(e->peer, &one, 8) == 8 ? 0 : -errno;
}

static int efd_wait(void *ctx, int timeout_ms)
{
	struct efd_end *e = ctx;
	struct pollfd p = { .fd = e->mine, .events = POLLIN };
	uint64_t v;
	int n = poll(&p, 1, timeout_ms);

	if (n < 0)
		return -errno;
	if (n == 0)
		return -ETIMEDOUT;
	if (read(e->mine, &v, 8) < 0 && errno != EAGAIN)
		return -errno;
	return 0;
}

int efd_pair_open(struct efd_pair *p)
{
	p->fd[0] = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	p->fd[1] = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (p->fd[0] < 0 || p->fd[1] < 0) {
		efd_pair_close(p);
		return -1;
	}
	p->end[0] = (struct efd_end){ p->fd[0], p->fd[1] };
	p->end[1] = (struct efd_end){ p->fd[1], p->fd[0] };
	return 0;
}

void efd_pair_close(struct efd_pair *p)
{
	if (p->fd[0] >= 0)
		close(p->fd[0]);
	if (p->fd[1] >= 0)
		close(p->fd[1]);
	p->fd[0] = p->fd[1] = -1;
}

void efd_signal(struct efd_pair *p, int consumer, struct ivshm_signal *sig)
{
	*sig = (struct ivshm_signal){
		.size = sizeof(*sig),
		.notify = efd_notify,
		.wait = efd_wait,
		.fd = p->fd[consumer],
		.ctx = &p->end[consumer],
	};
}

/* ---- the process pair ------------------------------------------------- */

static void child_main(const struct bench_case *bc, struct run *r, int cpu)
{
	pid_t parent = getppid();

	prctl(PR_SET_PDEATHSIG, SIGKILL);
	if (getppid() != parent)
		_exit(1);
	r->child = 1;
	r->fail[0] = 0;
	memset(&r->st, 0, sizeof(r->st));
	pin(cpu);
	if (bench_fifo)
		sched_fifo(1);
	bc->consumer(r);
	memcpy(r->ctl->fail, r->fail, sizeof(r->fail));
	r->ctl->st = r->st;
	_exit(0);
}

/* Wait for the consumer: it normally ends right after the producer; after
 * a while tell it to stop, later kill it.  After a failure on our side it
 * gets a second to record its own view, then is killed (it may be blocked
 * in a wait for a message that will not come). */
static void reap(struct run *r, pid_t pid)
{
	double t = now_s(), stop = t + BLOCK_MS / 1000.0 + 5, kill_at = stop + 5;
	int status, told = 0;
	pid_t w;

	if (r->fail[0])
		stop = kill_at = t + 1;
	for (;;) {
		w = waitpid(pid, &status, WNOHANG);
		if (w == pid)
			break;
		if (w < 0 && errno != EINTR) {
			fail(r, "waitpid: %s", strerror(errno));
			return;
		}
		t = now_s();
		if (!told && t > stop) {
			atomic_store(&r->ctl->abort, 1);
			told = 1;
		} else if (t > kill_at) {
			kill(pid, SIGKILL);
			kill_at = 1e300;
		}
		usleep(1000);
	}
	if (WIFSIGNALED(status))
		fail(r, "consumer killed by signal %d", WTERMSIG(status));
	else if (WEXITSTATUS(status))
		fail(r, "consumer exited with status %d", WEXITSTATUS(status));
}

int run_case(const struct bench_case *bc, struct run *r, int cpu_a,
	     int cpu_b)
{
	size_t size = CTL_SIZE + bc->shm;
	unsigned int k = 0;
	void *mem;
	pid_t pid;
	int fd;

	fd = memfd_create("ivshm-bench", MFD_CLOEXEC);
	if (fd < 0 || ftruncate(fd, (off_t)size)) {
		snprintf(r->fail, sizeof(r->fail), "memfd: %s",
			 strerror(errno));
		if (fd >= 0)
			close(fd);
		return -1;
	}
	mem = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	close(fd);
	if (mem == MAP_FAILED) {
		snprintf(r->fail, sizeof(r->fail), "mmap: %s", strerror(errno));
		return -1;
	}
	r->ctl = mem;
	r->shm = (unsigned char *)mem + CTL_SIZE;
	r->shm_size = bc->shm;
	deadline = now_s() + RUN_DEADLINE_S;
	if (bc->setup && bc->setup(r)) {
		if (!r->fail[0])
			snprintf(r->fail, sizeof(r->fail), "setup failed");
		if (bc->teardown)
			bc->teardown(r);	/* frees what setup got */
		munmap(mem, size);
		return -1;
	}
	fflush(NULL);
	pid = fork();
	if (pid < 0) {
		fail(r, "fork: %s", strerror(errno));
	} else if (pid == 0) {
		child_main(bc, r, cpu_b);
	} else {
		pin(cpu_a);
		while (!atomic_load(&r->ctl->ready) && !stopped(r)) {
			if (spin_check(r, &k))
				break;
			if (waitpid(pid, NULL, WNOHANG) == pid) {
				pid = -1;
				fail(r, "consumer exited before it was ready");
			}
		}
		/* the child is pinned and FIFO once it is ready */
		if (bench_fifo)
			sched_fifo(1);
		r->t0 = now_s();
		if (!stopped(r))
			bc->producer(r);
		if (bench_fifo)
			sched_fifo(0);
		if (pid > 0)
			reap(r, pid);
	}
	/* both sides' failures: often one is the consequence of the other;
	 * "stopped" only says the other side failed */
	if (r->ctl->fail[0] && !strncmp(r->ctl->fail, "stopped", 7) &&
	    r->fail[0]) {
		/* ours says it all */
	} else if (r->ctl->fail[0] && r->fail[0] &&
		   strncmp(r->fail, "stopped", 7)) {
		char mine[FAIL_MAX];

		memcpy(mine, r->fail, sizeof(mine));
		snprintf(r->fail, sizeof(r->fail),
			 "consumer: %.66s; producer: %.66s", r->ctl->fail,
			 mine);
	} else if (r->ctl->fail[0]) {
		snprintf(r->fail, sizeof(r->fail), "consumer: %.140s",
			 r->ctl->fail);
	}
	r->st.notifies += r->ctl->st.notifies;
	r->st.waits += r->ctl->st.waits;
	r->st.sleeps += r->ctl->st.sleeps;
	r->t_end = r->ctl->t_end;
	if (bc->teardown)
		bc->teardown(r);
	munmap(mem, size);
	return r->fail[0] ? -1 : 0;
}
