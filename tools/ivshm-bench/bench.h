/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * ivshm-bench internals: one case is a producer (the parent process) and a
 * consumer (a forked child) on two CPUs, sharing a memfd mapping.  The
 * runner (run.c) creates the memory and the process pair; each case file
 * supplies the two halves.  Every message carries a sequence number and a
 * checksum that the receiving side verifies (payload.h).
 */
#ifndef IVSHM_BENCH_H
#define IVSHM_BENCH_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include "ivshm.h"

#define MSG_SMALL	64
#define MSG_BIG		(64u << 10)
#define BATCH		32
#define FAIL_MAX	160

/* Blocking calls wait at most this long: a stuck peer is a failed check,
 * never a hung benchmark. */
#define BLOCK_MS	10000
/* A run that takes longer than this has failed. */
#define RUN_DEADLINE_S	120.0

/* Idle time before each ping of the wake-up cases, and the bursty case's
 * shape: long enough gaps for a blocking receiver to go to sleep (its
 * default spin is 50 us). */
#define WAKE_IDLE_NS	100000
#define BURST_MSGS	16384
#define BURST_GAP_NS	300000
#define BURSTS_MAX	4096

enum kind {
	K_RATE_MSGS,	/* messages per second, reported in M msg/s */
	K_RATE_BYTES,	/* payload bytes per second, reported in GB/s */
	K_LATENCY,	/* round trip, reported in ns, with percentiles */
};

/* Shared between the two processes of a run (first bytes of the memfd). */
struct ctl {
	_Atomic int ready;		/* consumer set up */
	_Atomic int abort;		/* either side failed: stop */
	double t_end;			/* consumer: last message verified */
	char fail[FAIL_MAX];		/* consumer's first failure */
	struct ivshm_chan_stats st;	/* consumer's ring counters, summed */
	double burst_start[BURSTS_MAX];	/* bursty: producer starts burst */
	double burst_end[BURSTS_MAX];	/* bursty: consumer verified it */
};

#define CTL_SIZE	((sizeof(struct ctl) + 4095) & ~(size_t)4095)

/* One run of one case. */
struct run {
	const struct bench_case *bc;
	uint64_t n;			/* messages, round trips or bursts */
	struct ctl *ctl;
	unsigned char *shm;		/* the case's shared memory */
	size_t shm_size;
	int child;			/* 1 in the consumer process */
	void *priv;			/* the case's state from setup */
	/* producer side results */
	double t0;			/* first message about to be sent */
	double t_end;			/* ctl->t_end, kept after the run */
	double value;			/* set by a teardown that computes it */
	double *lat;			/* latency samples in ns (n of them) */
	char fail[FAIL_MAX];		/* this process's first failure */
	struct ivshm_chan_stats st;	/* this process's ring counters */
	double extra;			/* bursty: polling rate */
};

struct bench_case {
	const char *name;
	enum kind kind;
	int blocking;			/* report sleeps and doorbells */
	double count;			/* work per run at scale 1 */
	uint64_t min_count;
	size_t shm;			/* shared bytes the case needs */
	/* NULL if the case can run, else why not (a missing library) */
	const char *(*unavailable)(void);
	int (*setup)(struct run *r);		/* parent, before fork */
	void (*producer)(struct run *r);	/* parent */
	void (*consumer)(struct run *r);	/* child */
	void (*teardown)(struct run *r);	/* parent, after the child */
};

extern const struct bench_case ring_cases[];
extern const struct bench_case sys_cases[];
extern const struct bench_case ck_cases[];
extern const struct bench_case rte_cases[];

/* run.c */
double now_s(void);
uint64_t now_ns(void);
void fail(struct run *r, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
int stopped(struct run *r);
int spin_check(struct run *r, unsigned int *k);
void consumer_ready(struct run *r);
void idle_ns(uint64_t ns);
/* --fifo: both sides run SCHED_FIFO once pinned (run.c) */
extern int bench_fifo;
int sched_fifo(int on);
int run_case(const struct bench_case *bc, struct run *r, int cpu_a,
	     int cpu_b);
void add_stats(struct ivshm_chan_stats *sum, const struct ivshm_chan *c);

/* eventfd doorbells for the ring cases: one pair of eventfds per channel */
struct efd_pair {
	int fd[2];	/* [0] the producer waits on it, [1] the consumer */
	struct efd_end {
		int mine, peer;
	} end[2];	/* the signals' contexts */
};
int efd_pair_open(struct efd_pair *p);
void efd_pair_close(struct efd_pair *p);
void efd_signal(struct efd_pair *p, int consumer, struct ivshm_signal *sig);

#endif
