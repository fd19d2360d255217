// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * ivshm-bench: libivshm's rings against the best SPSC rings and the
 * kernel's IPC, message for message, in the same run.
 *
 * Every case runs as two processes pinned to two physical cores, sharing
 * a memfd; every message is written in full and verified by its receiver
 * (sequence number and checksum).  The cases run in interleaved rounds
 * (round 1 runs every case, then round 2, ...) so that a noisy moment hits
 * all of them; each figure is the median of the rounds, with min and max.
 * The targets are ratios of medians from the same run.
 */
#include <errno.h>
#include <fnmatch.h>
#include <getopt.h>
#include <math.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <time.h>
#include <unistd.h>

#include "payload.h"

#define MAX_ROUNDS	99
#define MAX_CASES	32

struct result {
	const struct bench_case *bc;
	const char *skip;		/* why it did not run */
	char checks[FAIL_MAX + 32];	/* first failure, or "" */
	double v[MAX_ROUNDS], extra[MAX_ROUNDS];
	int runs;
	double *lat;			/* every latency sample, all rounds */
	size_t nlat;
	uint64_t sleeps, doorbells;
	/* the medians etc. (4 significant digits) */
	double median, min, max, p50, p99, p999, poll_median;
};

static struct result res[MAX_CASES];
static int nres;

/* ---- numbers -------------------------------------------------------------- */

/* Every figure is rounded to 4 significant digits once, here; the JSON
 * carries these values and every printed figure is formatted from them,
 * so the saved text, the JSON and README agree digit for digit. */
static double sig4(double x)
{
	char b[32];

	if (!isfinite(x))
		return x;
	snprintf(b, sizeof(b), "%.4g", x);
	return strtod(b, NULL);
}

static const char *fmt(char *b, size_t n, double x)
{
	double a = fabs(x);

	if (isnan(x))
		snprintf(b, n, "-");
	else if (a >= 100)
		snprintf(b, n, "%.0f", x);
	else if (a >= 10)
		snprintf(b, n, "%.1f", x);
	else
		snprintf(b, n, "%.2f", x);
	return b;
}

static int cmp_d(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

static double median_of(double *v, size_t n)
{
	if (!n)
		return NAN;
	qsort(v, n, sizeof(*v), cmp_d);
	return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

/* Nearest-rank percentile of sorted @v. */
static double pct(const double *v, size_t n, double p)
{
	size_t i = (size_t)ceil(p / 100 * (double)n);

	if (!n)
		return NAN;
	return v[i ? i - 1 : 0];
}

static const char *unit_of(const struct bench_case *bc)
{
	return bc->kind == K_LATENCY ? "ns" :
	       bc->kind == K_RATE_BYTES ? "GB/s" : "Mmsg/s";
}

/* ---- CPUs ------------------------------------------------------------------ */

struct cpu {
	int id, pkg, core;
};

static struct cpu cpus[CPU_SETSIZE];
static int ncpus, cpu_a = -1, cpu_b = -1;
static char cpu_model[128] = "unknown";
static const char *pin_note = "";

static int topology(int cpu, const char *leaf)
{
	char path[128];
	FILE *f;
	int v = -1;

	snprintf(path, sizeof(path), "/sys/devices/system/cpu/cpu%d/topology/%s",
		 cpu, leaf);
	f = fopen(path, "r");
	if (f) {
		if (fscanf(f, "%d", &v) != 1)
			v = -1;
		fclose(f);
	}
	return v;
}

static void read_topology(void)
{
	char line[256], *p;
	cpu_set_t set;
	FILE *f;
	int c;

	f = fopen("/proc/cpuinfo", "r");
	while (f && fgets(line, sizeof(line), f)) {
		if (strncmp(line, "model name", 10))
			continue;
		p = strchr(line, ':');
		if (p) {
			p += strspn(p + 1, " \t") + 1;
			p[strcspn(p, "\n")] = 0;
			snprintf(cpu_model, sizeof(cpu_model), "%s", p);
		}
		break;
	}
	if (f)
		fclose(f);
	if (sched_getaffinity(0, sizeof(set), &set))
		return;
	for (c = 0; c < CPU_SETSIZE; c++) {
		if (!CPU_ISSET(c, &set))
			continue;
		cpus[ncpus].id = c;
		cpus[ncpus].pkg = topology(c, "physical_package_id");
		cpus[ncpus].core = topology(c, "core_id");
		ncpus++;
	}
}

/* Two CPUs on distinct physical cores, sharing a package if possible. */
static void choose_cpus(void)
{
	int i, same_pkg = -1, other_pkg = -1, sibling = -1;

	if (cpu_a >= 0) {
		pin_note = " (chosen with --cpus)";
		return;
	}
	if (ncpus < 2) {
		pin_note = " (one CPU: not pinned, the processes share it)";
		cpu_a = cpu_b = -1;
		return;
	}
	cpu_a = cpus[0].id;
	for (i = 1; i < ncpus; i++) {
		if (cpus[i].pkg == cpus[0].pkg && cpus[i].core != cpus[0].core) {
			if (same_pkg < 0)
				same_pkg = i;
		} else if (cpus[i].pkg != cpus[0].pkg) {
			if (other_pkg < 0)
				other_pkg = i;
		} else if (sibling < 0) {
			sibling = i;
		}
	}
	if (same_pkg >= 0) {
		cpu_b = cpus[same_pkg].id;
		pin_note = " (distinct physical cores, same package)";
	} else if (other_pkg >= 0) {
		cpu_b = cpus[other_pkg].id;
		pin_note = " (distinct physical cores, other package)";
	} else {
		cpu_b = cpus[sibling].id;
		pin_note = " (SMT siblings of one core: no two cores allowed)";
	}
}

/* ---- running ---------------------------------------------------------------- */

static double scale = 1;
static int verbose;

static void on_alarm(int sig)
{
	(void)sig;	/* only interrupts a blocking syscall */
}

static void run_one(struct result *rs, int round)
{
	const struct bench_case *bc = rs->bc;
	struct run r = { .bc = bc, .value = -1 };
	double n = bc->count * scale;
	double *grow;

	r.n = n < (double)bc->min_count ? bc->min_count : (uint64_t)n;
	if (bc->kind == K_LATENCY) {
		r.lat = calloc(r.n, sizeof(double));
		if (!r.lat) {
			fprintf(stderr, "ivshm-bench: out of memory\n");
			exit(2);
		}
	}
	alarm((unsigned int)RUN_DEADLINE_S + 30);
	run_case(bc, &r, cpu_a, cpu_b);
	alarm(0);
	if (r.fail[0]) {
		if (!rs->checks[0])
			snprintf(rs->checks, sizeof(rs->checks),
				 "round %d: %s", round + 1, r.fail);
		free(r.lat);
		return;
	}
	if (r.value < 0) {
		double t = r.t_end - r.t0;

		if (bc->kind == K_LATENCY) {
			qsort(r.lat, r.n, sizeof(double), cmp_d);
			r.value = pct(r.lat, r.n, 50);
		} else if (bc->kind == K_RATE_BYTES) {
			r.value = t > 0 ? (double)r.n * MSG_BIG / t / 1e9 : NAN;
		} else {
			r.value = t > 0 ? (double)r.n / t / 1e6 : NAN;
		}
	} else if (bc->kind == K_RATE_MSGS) {
		r.value /= 1e6;
		r.extra /= 1e6;
	}
	rs->v[rs->runs] = r.value;
	rs->extra[rs->runs] = r.extra;
	rs->runs++;
	rs->sleeps += r.st.sleeps;
	rs->doorbells += r.st.notifies;
	if (r.lat) {
		grow = realloc(rs->lat, (rs->nlat + r.n) * sizeof(double));
		if (!grow) {
			fprintf(stderr, "ivshm-bench: out of memory\n");
			exit(2);
		}
		rs->lat = grow;
		memcpy(rs->lat + rs->nlat, r.lat, r.n * sizeof(double));
		rs->nlat += r.n;
		free(r.lat);
	}
	if (verbose)
		fprintf(stderr, "  %-24s %10.4g %s\n", bc->name, r.value,
			unit_of(bc));
}

static void summarise(struct result *rs)
{
	double v[MAX_ROUNDS];
	int i;

	rs->median = rs->min = rs->max = NAN;
	rs->p50 = rs->p99 = rs->p999 = rs->poll_median = NAN;
	if (!rs->runs)
		return;
	memcpy(v, rs->v, sizeof(v));
	rs->median = sig4(median_of(v, (size_t)rs->runs));
	rs->min = sig4(v[0]);
	rs->max = sig4(v[rs->runs - 1]);
	if (rs->nlat) {
		qsort(rs->lat, rs->nlat, sizeof(double), cmp_d);
		rs->p50 = sig4(pct(rs->lat, rs->nlat, 50));
		rs->p99 = sig4(pct(rs->lat, rs->nlat, 99));
		rs->p999 = sig4(pct(rs->lat, rs->nlat, 99.9));
	}
	if (!strcmp(rs->bc->name, "ring_stream_64_bursty")) {
		for (i = 0; i < rs->runs; i++)
			v[i] = rs->extra[i];
		rs->poll_median = sig4(median_of(v, (size_t)rs->runs));
	}
}

static struct result *find(const char *name)
{
	int i;

	for (i = 0; i < nres; i++)
		if (!strcmp(res[i].bc->name, name))
			return &res[i];
	return NULL;
}

/* ---- targets ------------------------------------------------------------------ */

enum { T_RATIO, T_DOORBELLS, T_POLL };

static const struct target {
	int type;
	const char *a, *b;
	double bound;
	int le;			/* a/b <= bound (else >=) */
} targets[] = {
	{ T_RATIO, "ring_stream_64", "ref_ck_ring_64", 1.0, 0 },
	{ T_RATIO, "ring_stream_64k", "ref_rte_ring_64k", 1.0, 0 },
	{ T_RATIO, "ring_rtt_poll_64", "ref_shm_pingpong", 1.1, 1 },
	{ T_RATIO, "ring_rtt_wake_64", "ref_eventfd_rtt", 0.9, 1 },
	{ T_DOORBELLS, "ring_rtt_block_64", NULL, 1.05, 1 },
	{ T_DOORBELLS, "ring_rtt_wake_64", NULL, 1.05, 1 },
	{ T_DOORBELLS, "ring_stream_64_bursty", NULL, 1.05, 1 },
	{ T_POLL, "ring_stream_64_bursty", NULL, 0.9, 0 },
};

#define NTARGETS (sizeof(targets) / sizeof(targets[0]))

struct verdict {
	double value;		/* ratio or doorbells per sleep; NAN if none */
	double ref;		/* the reference's median (T_RATIO, T_POLL) */
	const char *status;	/* "ok", "MISS", "n/a" */
	char why[96];		/* for n/a */
};

static struct verdict judge(const struct target *t)
{
	struct verdict v = { NAN, NAN, "n/a", "" };
	struct result *a = find(t->a), *b = t->b ? find(t->b) : NULL;
	int ok;

	if (!a || (t->b && !b)) {
		snprintf(v.why, sizeof(v.why), "not run (--case)");
		return v;
	}
	if (!a->runs || a->checks[0] || (b && (!b->runs || b->checks[0]))) {
		snprintf(v.why, sizeof(v.why), "%s did not pass its checks",
			 !a->runs || a->checks[0] ? a->bc->name : b->bc->name);
		return v;
	}
	if (t->type == T_DOORBELLS) {
		if (a->sleeps)
			v.value = sig4((double)a->doorbells / (double)a->sleeps);
		ok = (double)a->doorbells <= t->bound * (double)a->sleeps;
	} else {
		v.ref = t->type == T_POLL ? a->poll_median : b->median;
		v.value = sig4(a->median / v.ref);
		ok = t->le ? v.value <= t->bound : v.value >= t->bound;
	}
	v.status = ok ? "ok" : "MISS";
	return v;
}

static void target_name(char *buf, size_t n, const struct target *t)
{
	if (t->type == T_RATIO)
		snprintf(buf, n, "%s / %s", t->a, t->b);
	else if (t->type == T_POLL)
		snprintf(buf, n, "%s / same bursts polling", t->a);
	else
		snprintf(buf, n, "%s doorbells per sleep", t->a);
}

/* ---- output ---------------------------------------------------------------------- */

static char header[1024];

static void make_header(int rounds, const double load[2][3])
{
	char when[64], *p = header, *end = header + sizeof(header);
	struct utsname u;
	time_t t = time(NULL);
	int i;

	strftime(when, sizeof(when), "%Y-%m-%d %H:%M UTC", gmtime(&t));
	uname(&u);
	p += snprintf(p, (size_t)(end - p),
		      "ivshm-bench %s: %d interleaved rounds, scale %g; each figure is the median (min, max) of the rounds;\n"
		      "latency: per round the median round trip, p50/p99/p999 over all round trips of all rounds\n"
		      "cpu: %s\ntopology:",
		      ivshm_version(), rounds, scale, cpu_model);
	for (i = 0; i < ncpus && p < end; i++)
		p += snprintf(p, (size_t)(end - p), " cpu%d=package %d core %d;",
			      cpus[i].id, cpus[i].pkg, cpus[i].core);
	if (p < end)
		p += snprintf(p, (size_t)(end - p),
			      "\npinned: producer/pinger cpu%d, consumer/ponger cpu%d%s%s\n"
			      "date: %s; kernel %s\n"
			      "load average: %.2f %.2f %.2f before, %.2f %.2f %.2f after\n",
			      cpu_a, cpu_b, pin_note,
			      bench_fifo ? "; both SCHED_FIFO 1 (--fifo)" : "",
			      when, u.release,
			      load[0][0], load[0][1], load[0][2],
			      load[1][0], load[1][1], load[1][2]);
}

static void print_table(FILE *f)
{
	char m[16], lo[16], hi[16], a[16], b[16], c[16], d[16];
	struct verdict v;
	unsigned int t;
	int i;

	fprintf(f, "%s\n%-24s %-6s %8s %8s %8s %8s %8s %8s %7s %9s %8s  %s\n",
		header, "case", "unit", "median", "min", "max", "p50", "p99",
		"p999", "sleeps", "doorbells", "db/sleep", "checks");
	for (i = 0; i < nres; i++) {
		struct result *rs = &res[i];

		fprintf(f, "%-24s %-6s %8s %8s %8s ", rs->bc->name,
			unit_of(rs->bc), fmt(m, sizeof(m), rs->median),
			fmt(lo, sizeof(lo), rs->min), fmt(hi, sizeof(hi), rs->max));
		fprintf(f, "%8s %8s %8s ", fmt(a, sizeof(a), rs->p50),
			fmt(b, sizeof(b), rs->p99), fmt(c, sizeof(c), rs->p999));
		if (rs->bc->blocking && rs->runs) {
			if (rs->sleeps)
				snprintf(d, sizeof(d), "%.3f",
					 sig4((double)rs->doorbells /
					      (double)rs->sleeps));
			else
				snprintf(d, sizeof(d), "-");
			fprintf(f, "%7llu %9llu %8s  ",
				(unsigned long long)rs->sleeps,
				(unsigned long long)rs->doorbells, d);
		} else {
			fprintf(f, "%7s %9s %8s  ", "-", "-", "-");
		}
		if (rs->skip)
			fprintf(f, "skipped: %s\n", rs->skip);
		else
			fprintf(f, "%s\n", rs->checks[0] ? rs->checks : "ok");
		if (!isnan(rs->poll_median))
			fprintf(f, "%-24s %-6s %8s  (the same bursts to a busy-polling consumer)\n",
				"  polling consumer", unit_of(rs->bc),
				fmt(m, sizeof(m), rs->poll_median));
	}
	fprintf(f, "\n%-56s %8s %8s %9s  %s\n", "target", "value", "of", "bound",
		"status");
	for (t = 0; t < NTARGETS; t++) {
		char name[96], bound[16], of[32];
		const struct target *tg = &targets[t];

		v = judge(tg);
		target_name(name, sizeof(name), tg);
		if (tg->type == T_DOORBELLS) {
			struct result *rs = find(tg->a);

			snprintf(m, sizeof(m), isnan(v.value) ? "-" : "%.3f",
				 v.value);
			snprintf(of, sizeof(of), "%llu/%llu",
				 rs ? (unsigned long long)rs->doorbells : 0ull,
				 rs ? (unsigned long long)rs->sleeps : 0ull);
			snprintf(bound, sizeof(bound), "%s %.2f",
				 tg->le ? "<=" : ">=", tg->bound);
		} else {
			struct result *ra = find(tg->a);

			snprintf(m, sizeof(m), isnan(v.value) ? "-" : "%.2fx",
				 v.value);
			snprintf(of, sizeof(of), "%s/%s",
				 fmt(a, sizeof(a), ra ? ra->median : NAN),
				 fmt(b, sizeof(b), v.ref));
			snprintf(bound, sizeof(bound), "%s %.2fx",
				 tg->le ? "<=" : ">=", tg->bound);
		}
		fprintf(f, "%-56s %8s %15s %9s  %s%s%s\n", name, m, of, bound,
			v.status, v.why[0] ? ": " : "", v.why);
	}
}

static void json_num(FILE *f, const char *key, double x)
{
	if (isnan(x))
		fprintf(f, ", \"%s\": null", key);
	else
		fprintf(f, ", \"%s\": %.4g", key, x);
}

static void json_str(FILE *f, const char *s)
{
	fputc('"', f);
	for (; *s; s++) {
		if (*s == '"' || *s == '\\')
			fprintf(f, "\\%c", *s);
		else if ((unsigned char)*s < 0x20)
			fprintf(f, "\\u%04x", *s);
		else
			fputc(*s, f);
	}
	fputc('"', f);
}

static void print_json(FILE *f)
{
	unsigned int t;
	int i, first;

	fprintf(f, "[\n");
	for (i = 0; i < nres; i++) {
		struct result *rs = &res[i];
		char checks[sizeof(rs->checks) + 16];

		if (rs->skip)
			snprintf(checks, sizeof(checks), "skipped: %s", rs->skip);
		else
			snprintf(checks, sizeof(checks), "%s",
				 rs->checks[0] ? rs->checks : "ok");
		fprintf(f, "  {\"case\": \"%s\", \"unit\": \"%s\"",
			rs->bc->name, unit_of(rs->bc));
		json_num(f, "median", rs->median);
		json_num(f, "min", rs->min);
		json_num(f, "max", rs->max);
		if (rs->bc->kind == K_LATENCY) {
			json_num(f, "p50", rs->p50);
			json_num(f, "p99", rs->p99);
			json_num(f, "p999", rs->p999);
		}
		fprintf(f, ", \"runs\": %d, \"checks\": ", rs->runs);
		json_str(f, checks);
		if (rs->bc->blocking) {
			fprintf(f, ", \"sleeps\": %llu, \"doorbells\": %llu",
				(unsigned long long)rs->sleeps,
				(unsigned long long)rs->doorbells);
			json_num(f, "doorbells_per_sleep", rs->sleeps ?
				 sig4((double)rs->doorbells /
				      (double)rs->sleeps) : NAN);
		}
		if (!isnan(rs->poll_median))
			json_num(f, "poll_median", rs->poll_median);
		fprintf(f, ", \"targets\": [");
		for (t = 0, first = 1; t < NTARGETS; t++) {
			const struct target *tg = &targets[t];
			struct verdict v;
			char name[96];

			if (strcmp(tg->a, rs->bc->name))
				continue;
			v = judge(tg);
			target_name(name, sizeof(name), tg);
			fprintf(f, "%s{\"target\": ", first ? "" : ", ");
			json_str(f, name);
			fprintf(f, ", \"reference\": ");
			if (tg->b)
				json_str(f, tg->b);
			else
				fprintf(f, tg->type == T_POLL ?
					"\"poll_median\"" : "null");
			json_num(f, tg->type == T_DOORBELLS ?
				 "doorbells_per_sleep" : "ratio", v.value);
			fprintf(f, ", \"op\": \"%s\"", tg->le ? "<=" : ">=");
			json_num(f, "bound", tg->bound);
			fprintf(f, ", \"status\": \"%s\"}", v.status);
			first = 0;
		}
		fprintf(f, "]}%s\n", i + 1 < nres ? "," : "");
	}
	fprintf(f, "]\n");
}

static int save(const char *dir)
{
	char path[4096];
	FILE *f;

	mkdir(dir, 0755);
	snprintf(path, sizeof(path), "%s/RESULT.json", dir);
	f = fopen(path, "w");
	if (!f)
		goto err;
	print_json(f);
	if (fclose(f))
		goto err;
	snprintf(path, sizeof(path), "%s/RESULT.txt", dir);
	f = fopen(path, "w");
	if (!f)
		goto err;
	print_table(f);
	if (fclose(f))
		goto err;
	return 0;
err:
	fprintf(stderr, "ivshm-bench: %s: %s\n", path, strerror(errno));
	return -1;
}

/* ---- main ------------------------------------------------------------------------- */

static void usage(FILE *f, const char *argv0)
{
	fprintf(f,
		"usage: %s [-r rounds] [-s scale] [--case PATTERN[,PATTERN...]]\n"
		"       [--cpus A,B] [--fifo] [--json] [--save DIR] [--strict] [--list]\n"
		"       [--corrupt-at SEQ] [-v]\n", argv0);
}

int main(int argc, char **argv)
{
	static const struct option lo[] = {
		{ "rounds", required_argument, NULL, 'r' },
		{ "scale", required_argument, NULL, 's' },
		{ "case", required_argument, NULL, 'c' },
		{ "cpus", required_argument, NULL, 'C' },
		{ "fifo", no_argument, NULL, 'F' },
		{ "json", no_argument, NULL, 'j' },
		{ "save", required_argument, NULL, 'o' },
		{ "strict", no_argument, NULL, 'S' },
		{ "list", no_argument, NULL, 'l' },
		{ "corrupt-at", required_argument, NULL, 'X' },
		{ "verbose", no_argument, NULL, 'v' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	static const struct bench_case *const groups[] = {
		ring_cases, sys_cases, ck_cases, rte_cases,
	};
	const char *pattern = NULL, *save_dir = NULL;
	int rounds = 5, json = 0, strict = 0, list = 0, opt, i, g, failed = 0;
	double load[2][3] = { { 0 } };
	struct sigaction sa = { .sa_handler = on_alarm };
	const struct bench_case *bc;
	unsigned int t;
	char *end;

	while ((opt = getopt_long(argc, argv, "r:s:c:jvh", lo, NULL)) != -1) {
		switch (opt) {
		case 'r':
			rounds = (int)strtol(optarg, &end, 10);
			if (*end || rounds < 1 || rounds > MAX_ROUNDS)
				goto bad;
			break;
		case 's':
			scale = strtod(optarg, &end);
			if (*end || !(scale > 0))
				goto bad;
			break;
		case 'c':
			pattern = optarg;
			break;
		case 'C':
			if (sscanf(optarg, "%d,%d", &cpu_a, &cpu_b) != 2 ||
			    cpu_a < 0 || cpu_b < 0 || cpu_a >= CPU_SETSIZE ||
			    cpu_b >= CPU_SETSIZE)
				goto bad;
			break;
		case 'F':
			bench_fifo = 1;
			break;
		case 'j':
			json = 1;
			break;
		case 'o':
			save_dir = optarg;
			break;
		case 'S':
			strict = 1;
			break;
		case 'l':
			list = 1;
			break;
		case 'X':
			corrupt_seq = strtoull(optarg, &end, 10);
			if (*end)
				goto bad;
			break;
		case 'v':
			verbose = 1;
			break;
		case 'h':
			usage(stdout, argv[0]);
			return 0;
		default:
			goto bad;
		}
	}
	if (optind != argc)
		goto bad;

	for (g = 0; g < (int)(sizeof(groups) / sizeof(groups[0])); g++) {
		for (bc = groups[g]; bc->name; bc++) {
			char pats[256], *tok, *save_ptr;
			int hit = !pattern;

			if (pattern) {
				snprintf(pats, sizeof(pats), "%s", pattern);
				for (tok = strtok_r(pats, ",", &save_ptr); tok;
				     tok = strtok_r(NULL, ",", &save_ptr))
					hit |= !fnmatch(tok, bc->name, 0);
			}
			if (!hit)
				continue;
			if (list) {
				printf("%s\n", bc->name);
				continue;
			}
			res[nres].bc = bc;
			res[nres].skip = bc->unavailable ? bc->unavailable() :
					 NULL;
			nres++;
		}
	}
	if (list)
		return 0;
	if (!nres) {
		fprintf(stderr, "ivshm-bench: no case matches %s\n", pattern);
		return 2;
	}

	sigaction(SIGALRM, &sa, NULL);	/* no SA_RESTART: EINTR ends a wait */
	signal(SIGPIPE, SIG_IGN);
	read_topology();
	choose_cpus();
	if (bench_fifo && (sched_fifo(1) || sched_fifo(0))) {
		fprintf(stderr, "ivshm-bench: --fifo: cannot use SCHED_FIFO: %s\n",
			strerror(errno));
		return 2;
	}
	getloadavg(load[0], 3);
	for (i = 0; i < rounds; i++) {
		double t0 = now_s();

		for (g = 0; g < nres; g++)
			if (!res[g].skip)
				run_one(&res[g], i);
		fprintf(stderr, "ivshm-bench: round %d/%d done in %.1f s\n",
			i + 1, rounds, now_s() - t0);
	}
	getloadavg(load[1], 3);
	for (g = 0; g < nres; g++) {
		summarise(&res[g]);
		failed |= res[g].checks[0] != 0;
	}
	make_header(rounds, load);
	if (json) {
		fputs(header, stderr);
		print_json(stdout);
	} else {
		print_table(stdout);
	}
	if (save_dir && save(save_dir))
		return 2;
	if (failed)
		return 1;
	for (t = 0; strict && t < NTARGETS; t++)
		if (strcmp(judge(&targets[t]).status, "ok"))
			return 1;
	return 0;
bad:
	usage(stderr, argv[0]);
	return 2;
}
