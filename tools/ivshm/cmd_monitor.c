// SPDX-License-Identifier: GPL-2.0-only
/*
 * ivshm monitor: follow a target live, one line per event (like
 * `ip monitor` or `gpiomon`): our doorbells per vector, peers joining and
 * leaving (unix:), channels created and removed and the ring region
 * (re-)formatted.  --json: one object per line.
 *
 * Doorbells and peer events come from fds in one poll(); the channel table
 * lives in shared memory that nobody announces changes of, so it is
 * re-read every --interval ms and compared with the last look.  The
 * command ends cleanly (exit 0) on SIGINT/SIGTERM, after --count events,
 * and when the target goes away (server gone, device removed, file
 * removed), which it reports as a last event.
 */
#include <errno.h>
#include <getopt.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"

#define DEFAULT_INTERVAL_MS	100

/* What the last look at the channel table saw. */
struct table {
	bool formatted;
	int n;
	struct ivshm_chan_info ci[IVSHM_CHAN_MAX];
};

struct mon {
	const char *target;
	struct ivshm_dev *dev;
	uint64_t count, max;	/* events printed, --count (0: no limit) */
	struct table last;
	bool server_gone;	/* unix: IVSHM_SERVER_GONE was seen */
	dev_t st_dev;		/* shm: the file we opened */
	ino_t st_ino;
};

/* "15:04:05.123 " before each text line; "time" (ms since the epoch) in
 * JSON. */
static uint64_t now_ms(char *buf, size_t len)
{
	struct timespec ts;
	struct tm tm;

	clock_gettime(CLOCK_REALTIME, &ts);
	localtime_r(&ts.tv_sec, &tm);
	snprintf(buf, len, "%02d:%02d:%02d.%03ld", tm.tm_hour, tm.tm_min,
		 tm.tm_sec, ts.tv_nsec / 1000000);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* Start an event: the JSON object with "time" and "event" keys, or the
 * text line's time stamp.  Finish with ev_end(). */
static void ev_begin(const char *event)
{
	char t[32];
	uint64_t ms = now_ms(t, sizeof(t));

	if (cli.json) {
		json_obj_begin();
		json_key("time");
		json_u64(ms);
		json_key("event");
		json_str(event);
	} else {
		printf("%s ", t);
	}
}

static void ev_end(struct mon *m)
{
	if (cli.json) {
		json_obj_end();
		json_end();
	} else {
		putchar('\n');
	}
	fflush(stdout);
	m->count++;
}

static bool done(const struct mon *m)
{
	return m->max && m->count >= m->max;
}

static void ev_doorbell(struct mon *m, unsigned int vector, uint64_t count)
{
	ev_begin("doorbell");
	if (cli.json) {
		json_key("vector");
		json_u64(vector);
		json_key("count");
		json_u64(count);
	} else {
		printf("doorbell vector %u (x%llu)", vector,
		       (unsigned long long)count);
	}
	ev_end(m);
}

static void ev_peer(struct mon *m, const char *what, int peer)
{
	ev_begin(what);
	if (cli.json) {
		json_key("peer");
		json_i64(peer);
	} else {
		printf("peer %d %s", peer, !strcmp(what, "join") ?
		       "joined" : "left");
	}
	ev_end(m);
}

static void ev_simple(struct mon *m, const char *event, const char *text)
{
	ev_begin(event);
	if (!cli.json)
		fputs(text, stdout);
	ev_end(m);
}

static void ev_gone(struct mon *m, const char *why)
{
	ev_begin("gone");
	if (cli.json) {
		json_key("reason");
		json_str(why);
	} else {
		printf("%s is gone (%s)", m->target, why);
	}
	ev_end(m);
}

/* Names come from shared memory: printable ASCII only in text. */
static void safe_name(const char *in, char *out)
{
	unsigned int k;

	for (k = 0; in[k] && k < IVSHM_CHAN_NAME_MAX - 1; k++)
		out[k] = in[k] >= 0x20 && in[k] < 0x7f ? in[k] : '?';
	out[k] = '\0';
}

static void ev_channel(struct mon *m, const char *event,
		       const struct ivshm_chan_info *c)
{
	char name[IVSHM_CHAN_NAME_MAX], sz[32];

	ev_begin(event);
	if (cli.json) {
		json_key("name");
		json_str(c->name);
		json_key("slot");
		json_u64(c->slot);
		json_key("generation");
		json_u64(c->generation);
		if (!strcmp(event, "channel-created")) {
			json_key("ring_size");
			json_u64(c->ring_size);
		}
	} else {
		safe_name(c->name, name);
		if (!strcmp(event, "channel-created"))
			printf("channel '%s' created (slot %u, %s ring)", name,
			       c->slot, human_size(c->ring_size, sz,
						   sizeof(sz)));
		else
			printf("channel '%s' removed (slot %u)", name,
			       c->slot);
	}
	ev_end(m);
}

/* The channel table now; READY entries only (others are in passing). */
static void table_read(struct ivshm_dev *dev, struct table *t)
{
	struct ivshm_chan_info ci[IVSHM_CHAN_MAX];
	struct ivshm_region *r;
	int i, n;

	t->formatted = false;
	t->n = 0;
	r = ivshm_region_open(ivshm_base(dev), ivshm_size(dev));
	if (!r)
		return;
	ci[0].size = sizeof(ci[0]);
	n = ivshm_region_channels(r, ci, IVSHM_CHAN_MAX);
	ivshm_region_close(r);
	if (n < 0)
		return;
	t->formatted = true;
	if (n > IVSHM_CHAN_MAX)
		n = IVSHM_CHAN_MAX;
	for (i = 0; i < n; i++)
		if (ci[i].state == IVSHM_CHAN_STATE_READY)
			t->ci[t->n++] = ci[i];
}

static const struct ivshm_chan_info *table_find(const struct table *t,
						const struct ivshm_chan_info *c)
{
	int i;

	for (i = 0; i < t->n; i++)
		if (t->ci[i].slot == c->slot &&
		    t->ci[i].generation == c->generation &&
		    !strcmp(t->ci[i].name, c->name))
			return &t->ci[i];
	return NULL;
}

/* Report what changed in the channel table since the last look. */
static void table_scan(struct mon *m)
{
	struct table now;
	int i;

	table_read(m->dev, &now);
	if (now.formatted && !m->last.formatted)
		ev_simple(m, "formatted", "ring region formatted");
	if (!now.formatted && m->last.formatted)
		ev_simple(m, "unformatted",
			  "ring region gone (not formatted or invalid)");
	for (i = 0; i < m->last.n && !done(m); i++)
		if (!table_find(&now, &m->last.ci[i]))
			ev_channel(m, "channel-removed", &m->last.ci[i]);
	for (i = 0; i < now.n && !done(m); i++)
		if (!table_find(&m->last, &now.ci[i]))
			ev_channel(m, "channel-created", &now.ci[i]);
	m->last = now;
}

static void on_peer_event(struct ivshm_dev *dev,
			  const struct ivshm_peer_event *ev, void *arg)
{
	struct mon *m = arg;

	(void)dev;
	if (ev->type == IVSHM_SERVER_GONE)
		m->server_gone = true;
	if (done(m))
		return;
	switch (ev->type) {
	case IVSHM_PEER_JOIN:
		ev_peer(m, "join", ev->peer);
		break;
	case IVSHM_PEER_LEAVE:
		ev_peer(m, "leave", ev->peer);
		break;
	case IVSHM_EVENTS_DROPPED:
		ev_simple(m, "dropped", "peer events were lost");
		break;
	default:	/* IVSHM_SERVER_GONE: the loop ends */
		break;
	}
}

/* Consume the fired vectors: false if the device went away. */
static bool doorbells(struct mon *m, struct ivshm_fired *ev, int nvec)
{
	int i, n;

	ev[0].size = sizeof(ev[0]);
	n = ivshm_wait_any(m->dev, ev, nvec, 0);
	if (n == -ENODEV) {
		ev_gone(m, "device removed");
		return false;
	}
	for (i = 0; i < n && !done(m); i++)
		ev_doorbell(m, ev[i].vector, ev[i].count);
	return true;
}

/* shm: the file was removed or replaced. */
static bool file_gone(const struct mon *m)
{
	struct stat st;

	return stat(m->target + 4, &st) < 0 || st.st_dev != m->st_dev ||
	       st.st_ino != m->st_ino;
}

static int monitor(struct mon *m, int interval)
{
	struct ivshm_fired *ev = NULL;
	struct pollfd p[3];
	int nvec, all_fd, evt_fd, sfd, r;

	nvec = ivshm_vectors(m->dev);
	all_fd = nvec > 0 ? ivshm_all_fd(m->dev) : -1;
	evt_fd = ivshm_event_fd(m->dev);
	if (evt_fd >= 0)
		ivshm_set_event_cb(m->dev, on_peer_event, m);
	if (all_fd >= 0) {
		ev = calloc(nvec, sizeof(*ev));
		if (!ev)
			return fail_errno(ENOMEM, "monitor");
	}
	/* signals as an fd: the loop ends cleanly, never in the middle of
	 * a line */
	sfd = stop_signal_fd();
	if (sfd < 0) {
		free(ev);
		return EX_FAIL;
	}
	table_read(m->dev, &m->last);	/* what exists now is no event */
	r = EX_OK;
	while (!done(m)) {
		p[0] = (struct pollfd){ .fd = sfd, .events = POLLIN };
		p[1] = (struct pollfd){ .fd = all_fd, .events = POLLIN };
		p[2] = (struct pollfd){ .fd = evt_fd, .events = POLLIN };
		if (poll(p, 3, interval) < 0 && errno != EINTR) {
			r = fail_errno(errno, "poll");
			break;
		}
		if (p[0].revents)
			break;		/* SIGINT, SIGTERM */
		if (p[1].revents && !doorbells(m, ev, nvec))
			break;
		if (p[2].revents && !done(m) &&
		    (ivshm_process_events(m->dev, 0) == -ECONNRESET ||
		     m->server_gone)) {
			if (!done(m))
				ev_gone(m, "server closed the connection");
			break;
		}
		if (!strcmp(backend_of(m->target), "shm") && file_gone(m)) {
			ev_gone(m, "file removed");
			break;
		}
		if (!done(m))
			table_scan(m);
	}
	close(sfd);
	free(ev);
	if (fflush(stdout) && r == EX_OK)
		r = fail_errno(errno, "write to stdout");
	return r;
}

int cmd_monitor(int argc, char **argv)
{
	static const struct option opts[] = {
		COMMON_LONGOPTS,
		{ "count", required_argument, NULL, 'n' },
		{ "interval", required_argument, NULL, 'i' },
		{ NULL, 0, NULL, 0 }
	};
	struct mon m = { 0 };
	unsigned int interval = DEFAULT_INTERVAL_MS;
	struct stat st;
	int opt, r;

	args_prepare(&argc, &argv, COMMON_SHORTOPTS "n:i:", opts);
	while ((opt = getopt_long(argc, argv, COMMON_SHORTOPTS "n:i:", opts,
				  NULL)) != -1) {
		switch (opt) {
		case 'n':
			if (parse_u64("count", optarg, false, &m.max))
				return EX_USAGE_ERR;
			break;
		case 'i':
			if (parse_uint("interval", optarg, 10, 60000,
				       &interval))
				return EX_USAGE_ERR;
			break;
		default:
			if ((r = common_opt(opt, argv[0])) >= 0)
				return r;
		}
	}
	if (argc - optind != 1)
		return usage_err("usage: ivshm monitor TARGET [--count N] [--interval MS]");
	m.target = argv[optind];
	m.dev = open_target(m.target);
	if (!m.dev)
		return EX_FAIL;
	if (!strcmp(backend_of(m.target), "shm") &&
	    stat(m.target + 4, &st) == 0) {
		m.st_dev = st.st_dev;
		m.st_ino = st.st_ino;
	}
	r = monitor(&m, (int)interval);
	ivshm_close(m.dev);
	return r;
}
