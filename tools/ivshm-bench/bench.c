// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * ivshm-bench: message ring benchmarks against Unix socket references,
 * measured in the same run, two threads on two CPUs, medians of several
 * runs.  The blocking/polling figure is the median of the ratios of
 * neighbouring runs (polling right before and right after).
 *
 *   64 B streaming msg/s         vs SOCK_SEQPACKET socketpair  (>= 40x)
 *   64 KiB streaming throughput  vs SOCK_STREAM socketpair     (>= 2.5x)
 *   blocking consumer: doorbells per message                   (<= 1/100)
 *   blocking consumer: rate vs a busy-polling consumer         (>= 90%)
 *
 * Usage: ivshm-bench [-r runs] [-s seconds-scale] [--strict]
 * --strict exits 1 if a target is missed.
 */
#include <errno.h>
#include <getopt.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "ivshm.h"

#define SMALL		64
#define BIG		(64u << 10)
#define BATCH		32
#define MAXRUNS		31

static double scale = 1.0;
static int ncpu;

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static void pin(int cpu)
{
	cpu_set_t set;

	if (ncpu < 2)
		return;
	CPU_ZERO(&set);
	CPU_SET(cpu % ncpu, &set);
	sched_setaffinity(0, sizeof(set), &set);
}

static int cmp_d(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

static double median(double *v, int n)
{
	qsort(v, (size_t)n, sizeof(*v), cmp_d);
	return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

static void die(const char *what, int err)
{
	fprintf(stderr, "ivshm-bench: %s: %s\n", what, strerror(err));
	exit(2);
}

/* ---- eventfd doorbells --------------------------------------------- */

struct efd_sig {
	int mine, peer;
};

static int efd_notify(void *ctx)
{
	struct efd_sig *s = ctx;
	uint64_t one = 1;

	return write(s->peer, &one, 8) == 8 ? 0 : -errno;
}

static int efd_wait(void *ctx, int timeout_ms)
{
	struct efd_sig *s = ctx;
	struct pollfd p = { .fd = s->mine, .events = POLLIN };
	uint64_t v;
	int r = poll(&p, 1, timeout_ms);

	if (r < 0)
		return -errno;
	if (r == 0)
		return -ETIMEDOUT;
	if (read(s->mine, &v, 8) < 0 && errno != EAGAIN)
		return -errno;
	return 0;
}

/* ---- ring runs ------------------------------------------------------- */

struct ring_run {
	struct ivshm_chan *p, *c;
	size_t msg;
	uint64_t n;
	int cons_timeout;	/* 0: busy poll; -1: blocking */
	double t;
	uint64_t sum;
};

static int drain_cb(const void *d, size_t len, void *arg)
{
	static __thread unsigned char dst[BIG];
	struct ring_run *rr = arg;

	memcpy(dst, d, len);
	rr->sum += dst[len - 1];
	return 0;
}

static void *ring_consumer(void *arg)
{
	struct ring_run *rr = arg;
	static __thread unsigned char dst[BIG];
	uint64_t got = 0;
	ssize_t r;

	pin(1);
	if (rr->msg == SMALL) {
		while (got < rr->n) {
			r = ivshm_chan_recv_many(rr->c, drain_cb, rr, 4096,
						 rr->cons_timeout);
			if (r > 0)
				got += (uint64_t)r;
			else if (r != -EAGAIN)
				die("recv_many", (int)-r);
		}
	} else {
		while (got < rr->n) {
			r = ivshm_chan_recv(rr->c, dst, sizeof(dst),
					    rr->cons_timeout);
			if (r > 0) {
				got++;
				rr->sum += dst[r - 1];
			} else if (r != -EAGAIN) {
				die("recv", (int)-r);
			}
		}
	}
	return NULL;
}

static double ring_once(struct ring_run *rr)
{
	static unsigned char src[BIG];
	struct iovec iov[BATCH];
	pthread_t t;
	uint64_t sent = 0;
	double t0;
	int i, r;

	memset(src, 7, sizeof(src));
	for (i = 0; i < BATCH; i++) {
		iov[i].iov_base = src;
		iov[i].iov_len = rr->msg;
	}
	pin(0);
	pthread_create(&t, NULL, ring_consumer, rr);
	t0 = now_s();
	while (sent < rr->n) {
		if (rr->msg == SMALL) {
			unsigned int k = rr->n - sent < BATCH ?
					 (unsigned int)(rr->n - sent) : BATCH;

			r = ivshm_chan_send_many(rr->p, iov, k, -1);
			if (r < 0)
				die("send_many", -r);
			sent += (uint64_t)r;
		} else {
			r = ivshm_chan_send(rr->p, src, rr->msg, -1);
			if (r < 0)
				die("send", -r);
			sent++;
		}
	}
	pthread_join(t, NULL);
	rr->t = now_s() - t0;
	return (double)rr->n / rr->t;
}

struct ring_env {
	void *mem;
	size_t size;
	struct ivshm_region *r;
	struct efd_sig ps, cs;
	struct ivshm_signal psig, csig;
};

static void ring_setup(struct ring_env *e, struct ring_run *rr,
		       size_t ring, int signalled, const char *name)
{
	rr->p = ivshm_chan_create(e->r, name, ring, IVSHM_CHAN_PRODUCER,
				  signalled ? &e->psig : NULL);
	if (!rr->p)
		die("chan_create", errno);
	rr->c = ivshm_chan_attach(e->r, name, IVSHM_CHAN_CONSUMER,
				  signalled ? &e->csig : NULL);
	if (!rr->c)
		die("chan_attach", errno);
}

/* ---- socket references --------------------------------------------- */

struct sock_run {
	int fd[2];
	size_t msg;
	uint64_t n;
	int stream;
};

static void *sock_consumer(void *arg)
{
	static __thread unsigned char dst[BIG];
	struct sock_run *sr = arg;
	uint64_t got = 0;
	size_t have;
	ssize_t r;

	pin(1);
	while (got < sr->n) {
		have = 0;
		do {
			r = recv(sr->fd[1], dst + have, sr->msg - have, 0);
			if (r <= 0)
				die("recv", r ? errno : EPIPE);
			have += (size_t)r;
		} while (sr->stream && have < sr->msg);
		got++;
	}
	return NULL;
}

static double sock_once(struct sock_run *sr)
{
	static unsigned char src[BIG];
	pthread_t t;
	uint64_t i;
	size_t done;
	ssize_t r;
	double t0;

	if (socketpair(AF_UNIX, sr->stream ? SOCK_STREAM : SOCK_SEQPACKET, 0,
		       sr->fd))
		die("socketpair", errno);
	memset(src, 7, sizeof(src));
	pin(0);
	pthread_create(&t, NULL, sock_consumer, sr);
	t0 = now_s();
	for (i = 0; i < sr->n; i++) {
		done = 0;
		do {
			r = send(sr->fd[0], src + done, sr->msg - done, 0);
			if (r <= 0)
				die("send", errno);
			done += (size_t)r;
		} while (done < sr->msg);
	}
	pthread_join(t, NULL);
	t0 = now_s() - t0;
	close(sr->fd[0]);
	close(sr->fd[1]);
	return (double)sr->n / t0;
}

/* ---- main ------------------------------------------------------------ */

static uint64_t scaled(double n)
{
	uint64_t v = (uint64_t)(n * scale);

	return v ? v : 1;
}

int main(int argc, char **argv)
{
	static const struct option lo[] = {
		{ "runs", required_argument, NULL, 'r' },
		{ "scale", required_argument, NULL, 's' },
		{ "strict", no_argument, NULL, 'S' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	double r64[MAXRUNS], s64[MAXRUNS], rbig[MAXRUNS], sbig[MAXRUNS];
	double rblk[MAXRUNS], rpoll[MAXRUNS], dpm[MAXRUNS], ratio[MAXRUNS];
	double m_ratio;
	double m_r64, m_s64, m_rbig, m_sbig, m_blk, m_poll, m_dpm;
	struct ivshm_chan_stats st0, st1;
	struct ring_env e = { 0 };
	struct ring_run small = { 0 }, big = { 0 }, blk = { 0 };
	struct sock_run ss = { 0 }, sb = { 0 };
	int runs = 7, strict = 0, opt, i, miss = 0;

	while ((opt = getopt_long(argc, argv, "r:s:Sh", lo, NULL)) != -1) {
		switch (opt) {
		case 'r':
			runs = atoi(optarg);
			break;
		case 's':
			scale = atof(optarg);
			break;
		case 'S':
			strict = 1;
			break;
		default:
			fprintf(stderr, "usage: %s [-r runs] [-s scale] [--strict]\n",
				argv[0]);
			return opt == 'h' ? 0 : 2;
		}
	}
	if (runs < 1 || runs > MAXRUNS || scale <= 0) {
		fprintf(stderr, "ivshm-bench: bad -r or -s\n");
		return 2;
	}
	ncpu = (int)sysconf(_SC_NPROCESSORS_ONLN);

	e.size = 8u << 20;
	e.mem = mmap(NULL, e.size, PROT_READ | PROT_WRITE,
		     MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (e.mem == MAP_FAILED)
		die("mmap", errno);
	e.r = ivshm_region_format(e.mem, e.size);
	if (!e.r)
		die("region_format", errno);
	e.ps.mine = eventfd(0, EFD_NONBLOCK);
	e.cs.mine = eventfd(0, EFD_NONBLOCK);
	e.ps.peer = e.cs.mine;
	e.cs.peer = e.ps.mine;
	e.psig = (struct ivshm_signal){ efd_notify, efd_wait, NULL,
					e.ps.mine, &e.ps };
	e.csig = (struct ivshm_signal){ efd_notify, efd_wait, NULL,
					e.cs.mine, &e.cs };

	ring_setup(&e, &small, 256u << 10, 0, "small");
	small.msg = SMALL;
	small.n = scaled(2e7);
	small.cons_timeout = 0;		/* busy polling */
	ring_setup(&e, &big, 1u << 20, 0, "big");
	big.msg = BIG;
	big.n = scaled(4e4);
	big.cons_timeout = -1;
	ring_setup(&e, &blk, 256u << 10, 1, "blocking");
	blk.msg = SMALL;
	blk.n = scaled(2e7);
	blk.cons_timeout = -1;		/* spin 50 us, then doorbell */
	ss = (struct sock_run){ .msg = SMALL, .n = scaled(4e5), .stream = 0 };
	sb = (struct sock_run){ .msg = BIG, .n = scaled(2e4), .stream = 1 };

	printf("ivshm-bench: %d runs each, medians; %d CPUs; ring sizes 256 KiB (64 B) and 1 MiB (64 KiB)\n",
	       runs, ncpu);
	for (i = 0; i < runs; i++) {
		r64[i] = ring_once(&small);
		s64[i] = sock_once(&ss);
		rbig[i] = ring_once(&big) * BIG;
		sbig[i] = sock_once(&sb) * BIG;
		/* blocking next to polling, before and after: the ratio of
		 * neighbours cancels most of the machine's noise */
		ivshm_chan_stats(blk.p, &st0);
		rblk[i] = ring_once(&blk);
		ivshm_chan_stats(blk.p, &st1);
		dpm[i] = (double)(st1.notifies - st0.notifies) / (double)blk.n;
		rpoll[i] = ring_once(&small);
		ratio[i] = rblk[i] / ((r64[i] + rpoll[i]) / 2);
		fprintf(stderr, "run %d: 64B %.1fM/s vs %.2fM/s; 64KiB %.2f vs %.2f GB/s; blocking %.1fM/s %.2g doorbells/msg, polling %.1fM/s\n",
			i + 1, r64[i] / 1e6, s64[i] / 1e6, rbig[i] / 1e9,
			sbig[i] / 1e9, rblk[i] / 1e6, dpm[i], rpoll[i] / 1e6);
	}
	m_r64 = median(r64, runs);
	m_s64 = median(s64, runs);
	m_rbig = median(rbig, runs);
	m_sbig = median(sbig, runs);
	m_blk = median(rblk, runs);
	m_poll = median(rpoll, runs);
	m_dpm = median(dpm, runs);
	m_ratio = median(ratio, runs);

	printf("\n%-34s %14s %16s %9s %9s\n", "benchmark", "ivshm ring",
	       "reference", "ratio", "target");
#define ROW(name, a, b, ratio, tgt, ok) do {				\
		printf("%-34s %14s %16s %9s %9s %s\n", name, a, b, ratio, \
		       tgt, (ok) ? "ok" : "MISS");			\
		miss += !(ok);						\
	} while (0)
	{
		char a[32], b[32], c[32];

		snprintf(a, sizeof(a), "%.2f M/s", m_r64 / 1e6);
		snprintf(b, sizeof(b), "%.3f M/s", m_s64 / 1e6);
		snprintf(c, sizeof(c), "%.1fx", m_r64 / m_s64);
		ROW("64 B msg/s vs SOCK_SEQPACKET", a, b, c, ">= 40x",
		    m_r64 / m_s64 >= 40);
		snprintf(a, sizeof(a), "%.2f GB/s", m_rbig / 1e9);
		snprintf(b, sizeof(b), "%.2f GB/s", m_sbig / 1e9);
		snprintf(c, sizeof(c), "%.2fx", m_rbig / m_sbig);
		ROW("64 KiB stream vs SOCK_STREAM", a, b, c, ">= 2.5x",
		    m_rbig / m_sbig >= 2.5);
		snprintf(a, sizeof(a), "%.2g", m_dpm);
		snprintf(b, sizeof(b), "-");
		if (m_dpm > 1e-9)
			snprintf(c, sizeof(c), "1/%.3g", 1 / m_dpm);
		else
			snprintf(c, sizeof(c), "0");
		ROW("blocking: doorbells per message", a, b, c, "<= 1/100",
		    m_dpm <= 0.01);
		snprintf(a, sizeof(a), "%.2f M/s", m_blk / 1e6);
		snprintf(b, sizeof(b), "%.2f M/s poll", m_poll / 1e6);
		snprintf(c, sizeof(c), "%.0f%%", 100 * m_ratio);
		ROW("blocking rate vs polling", a, b, c, ">= 90%",
		    m_ratio >= 0.9);
	}
	ivshm_chan_close(small.p);
	ivshm_chan_close(small.c);
	ivshm_chan_close(big.p);
	ivshm_chan_close(big.c);
	ivshm_chan_close(blk.p);
	ivshm_chan_close(blk.c);
	ivshm_region_close(e.r);
	munmap(e.mem, e.size);
	return strict && miss ? 1 : 0;
}
