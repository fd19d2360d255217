// SPDX-License-Identifier: GPL-2.0-only
/*
 * ivshm top: per-channel throughput, fill level, sleeps and doorbells,
 * refreshed every --interval ms (plain ANSI: clear and redraw when stdout
 * is a terminal, frames one after another otherwise).  --json, --once or
 * -n N: that many frames (one with --json unless -n says otherwise), each
 * over one interval; with --json one object per line.
 *
 * Everything comes from shared memory, read only, so top watches channels
 * of other processes, even of other machines (docs/wire-format.md):
 * prod_idx and cons_idx (bytes since creation: rates), each side's sleep
 * word (+2 per sleep; odd while asleep) and rings (doorbells it rang for
 * its peer).  The channel table itself is read through the library, which
 * validates it; the header fields read here are counters whose worst case
 * is a wrong number on the screen.
 */
#include <errno.h>
#include <getopt.h>
#include <poll.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"

#define DEFAULT_INTERVAL_MS	1000

/* Channel header offsets (docs/wire-format.md). */
#define CHN_PROD_IDX	128
#define CHN_CONS_IDX	256
#define CHN_PROD_EVT	384
#define CHN_CONS_EVT	448
#define EVT_SLEEP	0
#define EVT_RINGS	24

struct side {
	uint32_t sleep;		/* odd: asleep now */
	uint64_t rings;		/* doorbells rung for the peer */
};

struct sample {
	struct ivshm_chan_info ci;
	uint64_t prod_idx, cons_idx;
	struct side prod, cons;
};

struct frame {
	int n;
	uint64_t ms;		/* CLOCK_MONOTONIC */
	struct sample s[IVSHM_CHAN_MAX];
	char label[IVSHM_REGION_LABEL_MAX];
	int err;		/* why there is no table: errno, 0 if there is */
};

static uint64_t mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static uint64_t ld64(const unsigned char *p)
{
	return atomic_load_explicit((const _Atomic uint64_t *)p,
				    memory_order_relaxed);
}

static uint32_t ld32(const unsigned char *p)
{
	return atomic_load_explicit((const _Atomic uint32_t *)p,
				    memory_order_relaxed);
}

static void read_side(const unsigned char *evt, struct side *s)
{
	s->sleep = ld32(evt + EVT_SLEEP);
	s->rings = ld64(evt + EVT_RINGS);
}

static void take(struct ivshm_dev *dev, struct frame *f)
{
	struct ivshm_chan_info ci[IVSHM_CHAN_MAX];
	const unsigned char *base = ivshm_base(dev);
	size_t size = ivshm_size(dev);
	struct ivshm_region *r;
	int i, n;

	memset(f, 0, sizeof(*f));
	f->ms = mono_ms();
	r = ivshm_region_open(ivshm_base(dev), size);
	if (!r) {
		f->err = errno;
		return;
	}
	if (ivshm_region_label(r, f->label, sizeof(f->label)) < 0)
		f->label[0] = '\0';
	ci[0].size = sizeof(ci[0]);
	n = ivshm_region_channels(r, ci, IVSHM_CHAN_MAX);
	ivshm_region_close(r);
	if (n < 0) {
		f->err = -n;
		return;
	}
	if (n > IVSHM_CHAN_MAX)
		n = IVSHM_CHAN_MAX;
	for (i = 0; i < n; i++) {
		struct sample *s = &f->s[f->n];
		const unsigned char *h = base + ci[i].offset;

		/* READY entries passed the library's checks; still, never
		 * read outside the memory */
		if (ci[i].state != IVSHM_CHAN_STATE_READY ||
		    ci[i].offset > size || size - ci[i].offset <
		    IVSHM_CHAN_HDR_SIZE || ci[i].offset % 64)
			continue;
		s->ci = ci[i];
		s->prod_idx = ld64(h + CHN_PROD_IDX);
		s->cons_idx = ld64(h + CHN_CONS_IDX);
		read_side(h + CHN_PROD_EVT, &s->prod);
		read_side(h + CHN_CONS_EVT, &s->cons);
		f->n++;
	}
}

static const struct sample *find(const struct frame *f,
				 const struct sample *s)
{
	int i;

	for (i = 0; i < f->n; i++)
		if (f->s[i].ci.slot == s->ci.slot &&
		    f->s[i].ci.generation == s->ci.generation)
			return &f->s[i];
	return NULL;
}

/* Per second, over the frames' distance; the counters wrap like the
 * wire format's (unsigned differences). */
static double rate(uint64_t now, uint64_t then, uint64_t ms)
{
	return ms ? (double)(now - then) * 1000.0 / (double)ms : 0.0;
}

/* Sleeps begun: the sleep word goes +1 asleep, +1 awake. */
static uint64_t sleeps(uint32_t w)
{
	return (w + 1) / 2;
}

static const char *state(const struct side *s, uint32_t flags,
			 uint32_t attached)
{
	if (!(flags & attached))
		return "-";
	return s->sleep & 1 ? "sleep" : "run";
}

/* "1.5M" style for rates in a narrow column. */
static const char *short_rate(double v, char *buf, size_t len)
{
	static const char unit[] = " KMGT";
	int u = 0;

	while (v >= 999.5 && u < 4) {
		v /= 1024.0;
		u++;
	}
	if (u == 0)
		snprintf(buf, len, "%.0f", v);
	else
		snprintf(buf, len, "%.1f%c", v, unit[u]);
	return buf;
}

static void print_text(const char *target, const struct frame *prev,
		       const struct frame *f, bool tty)
{
	uint64_t ms = f->ms - prev->ms;
	char name[IVSHM_CHAN_NAME_MAX], a[16], b[16], c[16], d[16], e[16],
	     g[16];
	int i;
	unsigned int k;

	if (tty)
		fputs("\033[H\033[2J", stdout);	/* home, clear screen */
	printf("%s  label %s  %d channel%s  every %llu ms\n", target,
	       f->label[0] ? f->label : "-", f->n, f->n == 1 ? "" : "s",
	       (unsigned long long)ms);
	if (f->err) {
		printf("no ring region: %s\n", f->err == EAGAIN ?
		       "not formatted" : strerror(f->err));
		return;
	}
	printf("%-20s %5s %7s %7s %-5s %-5s %7s %7s %7s %7s\n", "CHANNEL",
	       "FILL%", "IN B/s", "OUT B/s", "PROD", "CONS", "P-SLP/s",
	       "C-SLP/s", "P-DB/s", "C-DB/s");
	for (i = 0; i < f->n; i++) {
		const struct sample *s = &f->s[i], *p = find(prev, s);

		for (k = 0; s->ci.name[k] && k < 20; k++)
			name[k] = s->ci.name[k] >= 0x20 &&
				  s->ci.name[k] < 0x7f ? s->ci.name[k] : '?';
		name[k] = '\0';
		printf("%-20s %5.1f ", name, s->ci.ring_size ?
		       100.0 * (double)s->ci.queued /
		       (double)s->ci.ring_size : 0.0);
		if (!p) {	/* new since the last frame */
			printf("%7s %7s %-5s %-5s %7s %7s %7s %7s\n", "-", "-",
			       state(&s->prod, s->ci.flags,
				     IVSHM_CHAN_INFO_PRODUCER),
			       state(&s->cons, s->ci.flags,
				     IVSHM_CHAN_INFO_CONSUMER),
			       "-", "-", "-", "-");
			continue;
		}
		printf("%7s %7s %-5s %-5s %7s %7s %7s %7s\n",
		       short_rate(rate(s->prod_idx, p->prod_idx, ms), a, 16),
		       short_rate(rate(s->cons_idx, p->cons_idx, ms), b, 16),
		       state(&s->prod, s->ci.flags, IVSHM_CHAN_INFO_PRODUCER),
		       state(&s->cons, s->ci.flags, IVSHM_CHAN_INFO_CONSUMER),
		       short_rate(rate(sleeps(s->prod.sleep),
				       sleeps(p->prod.sleep), ms), c, 16),
		       short_rate(rate(sleeps(s->cons.sleep),
				       sleeps(p->cons.sleep), ms), d, 16),
		       short_rate(rate(s->prod.rings, p->prod.rings, ms), e,
				  16),
		       short_rate(rate(s->cons.rings, p->cons.rings, ms), g,
				  16));
	}
}

static void json_side(const char *key, const struct side *s,
		      const struct side *p, uint64_t ms, uint32_t flags,
		      uint32_t attached)
{
	json_key(key);
	json_obj_begin();
	json_key("attached");
	json_bool(flags & attached);
	json_key("asleep");
	json_bool(s->sleep & 1);
	json_key("sleeps");
	json_u64(sleeps(s->sleep));
	json_key("doorbells");
	json_u64(s->rings);
	if (p) {
		json_key("sleeps_per_s");
		json_u64((uint64_t)(rate(sleeps(s->sleep), sleeps(p->sleep),
					 ms) + 0.5));
		json_key("doorbells_per_s");
		json_u64((uint64_t)(rate(s->rings, p->rings, ms) + 0.5));
	}
	json_obj_end();
}

static void print_json(const char *target, const struct frame *prev,
		       const struct frame *f)
{
	uint64_t ms = f->ms - prev->ms;
	int i;

	json_obj_begin();
	json_key("target");
	json_str(target);
	json_key("interval_ms");
	json_u64(ms);
	json_key("label");
	json_str(f->label[0] ? f->label : NULL);
	json_key("channels");
	json_arr_begin();
	for (i = 0; i < f->n; i++) {
		const struct sample *s = &f->s[i], *p = find(prev, s);

		json_obj_begin();
		json_key("name");
		json_str(s->ci.name);
		json_key("slot");
		json_u64(s->ci.slot);
		json_key("ring_size");
		json_u64(s->ci.ring_size);
		json_key("queued");
		json_u64(s->ci.queued);
		json_key("bytes_in");
		json_u64(s->prod_idx);
		json_key("bytes_out");
		json_u64(s->cons_idx);
		if (p) {
			json_key("in_bytes_per_s");
			json_u64((uint64_t)(rate(s->prod_idx, p->prod_idx,
						 ms) + 0.5));
			json_key("out_bytes_per_s");
			json_u64((uint64_t)(rate(s->cons_idx, p->cons_idx,
						 ms) + 0.5));
		}
		json_side("producer", &s->prod, p ? &p->prod : NULL, ms,
			  s->ci.flags, IVSHM_CHAN_INFO_PRODUCER);
		json_side("consumer", &s->cons, p ? &p->cons : NULL, ms,
			  s->ci.flags, IVSHM_CHAN_INFO_CONSUMER);
		json_obj_end();
	}
	json_arr_end();
	json_obj_end();
	json_end();
}

int cmd_top(int argc, char **argv)
{
	static const struct option opts[] = {
		COMMON_LONGOPTS,
		{ "interval", required_argument, NULL, 'i' },
		{ "iterations", required_argument, NULL, 'n' },
		{ "once", no_argument, NULL, 'o' },
		{ NULL, 0, NULL, 0 }
	};
	unsigned int interval = DEFAULT_INTERVAL_MS;
	struct frame *f[2];
	struct ivshm_dev *dev;
	uint64_t frames = 0, i;
	const char *target;
	int opt, r, sfd, cur = 0;
	bool tty;

	args_prepare(&argc, &argv, COMMON_SHORTOPTS "i:n:", opts);
	while ((opt = getopt_long(argc, argv, COMMON_SHORTOPTS "i:n:", opts,
				  NULL)) != -1) {
		switch (opt) {
		case 'i':
			if (parse_uint("interval", optarg, 10, 3600000,
				       &interval))
				return EX_USAGE_ERR;
			break;
		case 'n':
			if (parse_range("iterations", optarg, false, 1,
					UINT64_MAX, &frames))
				return EX_USAGE_ERR;
			break;
		case 'o':	/* long only: "-1" is a number */
			frames = 1;
			break;
		default:
			if ((r = common_opt(opt, argv[0])) >= 0)
				return r;
		}
	}
	if (argc - optind != 1)
		return usage_err("usage: ivshm top TARGET [--interval MS] [--once | -n N]");
	if (!frames && cli.json)
		frames = 1;
	target = argv[optind];
	dev = open_target(target);
	if (!dev)
		return EX_FAIL;
	f[0] = malloc(sizeof(*f[0]));
	f[1] = malloc(sizeof(*f[1]));
	if (!f[0] || !f[1]) {
		free(f[0]);
		free(f[1]);
		ivshm_close(dev);
		return fail_errno(ENOMEM, "top");
	}
	sfd = stop_signal_fd();
	if (sfd < 0) {
		free(f[0]);
		free(f[1]);
		ivshm_close(dev);
		return EX_FAIL;
	}
	tty = !cli.json && isatty(STDOUT_FILENO);
	take(dev, f[cur]);
	r = EX_OK;
	for (i = 0; !frames || i < frames; i++) {
		struct pollfd p = { .fd = sfd, .events = POLLIN };

		if (poll(&p, 1, (int)interval) > 0)
			break;	/* SIGINT, SIGTERM: end cleanly */
		take(dev, f[!cur]);
		if (cli.json)
			print_json(target, f[cur], f[!cur]);
		else
			print_text(target, f[cur], f[!cur], tty);
		cur = !cur;
		if (!tty && !cli.json && (!frames || i + 1 < frames))
			putchar('\n');
		if (fflush(stdout)) {
			r = fail_errno(errno, "write to stdout");
			break;
		}
	}
	close(sfd);
	free(f[0]);
	free(f[1]);
	ivshm_close(dev);
	return r;
}
