// SPDX-License-Identifier: GPL-2.0-only
/*
 * ivshm-demo: messages between the host and guests over libivshm rings,
 * woken by doorbell interrupts.
 *
 *   ivshm-demo host unix:SOCK [-g GUESTS] [-n MESSAGES] [-s BYTES]
 *   ivshm-demo guest /dev/ivshm0
 *
 * The host formats the shared memory and, for each guest that joins the
 * server, creates channels "h2g.ID" and "g2h.ID"; it sends numbered,
 * checksummed messages, the guest checks and echoes each one, the host
 * checks the echo.  The host rings guest ID on vector 0; guest number i
 * (in join order) rings the host on vector i + 1.
 */
#include <errno.h>
#include <getopt.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "ivshm.h"

#define MAX_GUESTS	3
#define RING_SIZE	(256u << 10)
#define WAIT_MS		10000
/*
 * A guest "joins" when its QEMU connects to the server, before its kernel
 * boots: the first echo may take a whole boot (half a minute for a TCG
 * guest on a debug kernel), later ones WAIT_MS.
 */
#define BOOT_WAIT_MS	600000
#define BURSTS		20	/* host pauses between bursts */

struct msg {
	uint64_t seq;
	uint32_t len;
	uint32_t sum;
	unsigned char payload[];
};

static uint32_t checksum(const unsigned char *p, size_t n, uint64_t seq)
{
	uint32_t h = 2166136261u ^ (uint32_t)seq;

	while (n--)
		h = (h ^ *p++) * 16777619u;
	return h;
}

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

/* ---- guest ------------------------------------------------------------ */

/* Interrupts the ivshm driver took so far (from /proc/interrupts). */
static unsigned long long driver_interrupts(void)
{
	unsigned long long total = 0, v;
	char line[512], *p, *end;
	FILE *f = fopen("/proc/interrupts", "r");

	while (f && fgets(line, sizeof(line), f)) {
		if (!strstr(line, "ivshm"))
			continue;
		p = strchr(line, ':');
		for (p = p ? p + 1 : line; (v = strtoull(p, &end, 10)), end != p;
		     p = end)
			total += v;
	}
	if (f)
		fclose(f);
	return total;
}

static int run_guest(const char *target)
{
	struct ivshm_chan *rx = NULL, *tx = NULL;
	struct ivshm_region *reg = NULL;
	unsigned char buf[65536];
	struct ivshm_chan_stats st = { .size = sizeof(st) };
	char name[32];
	uint64_t n = 0, expect = 0;
	struct ivshm_dev *dev;
	struct ivshm_signal sig = { .size = sizeof(sig) };
	struct ivshm_sigctx l = { .size = sizeof(l) };
	int r;
	double t0 = 0;
	int id, host;
	ssize_t len;

	dev = ivshm_open(target, 0);
	if (!dev) {
		fprintf(stderr, "guest: cannot open %s: %m\n", target);
		return 1;
	}
	id = ivshm_peer_id(dev);
	printf("guest: %s is peer %d, %zu MiB shared, %d vectors\n", target,
	       id, ivshm_size(dev) >> 20, ivshm_vectors(dev));
	fflush(stdout);

	/*
	 * The host formats the region and creates our channels; its peer id
	 * and the vector to ring it on come in the first message, so the
	 * signal's target is filled in then.
	 */
	ivshm_dev_signal(dev, 0, 0, 0, &l, &sig);
	snprintf(name, sizeof(name), "h2g.%d", id);
	for (int i = 0; i < 3000 && !rx; i++) {
		if (!reg)
			reg = ivshm_region_open(ivshm_base(dev), ivshm_size(dev));
		if (reg)
			rx = ivshm_chan_attach(reg, name, IVSHM_CHAN_CONSUMER,
					       &sig);
		if (!rx)
			usleep(100000);
	}
	if (!rx) {
		fprintf(stderr, "guest: no channel %s from the host\n", name);
		return 1;
	}
	len = ivshm_chan_recv(rx, buf, sizeof(buf), WAIT_MS);
	if (len != 2 * sizeof(uint32_t)) {
		fprintf(stderr, "guest: bad hello from the host: %zd\n", len);
		return 1;
	}
	memcpy(&host, buf, sizeof(host));
	memcpy(&l.tx_vector, buf + 4, sizeof(l.tx_vector));
	l.peer = host;
	snprintf(name, sizeof(name), "g2h.%d", id);
	tx = ivshm_chan_attach(reg, name, IVSHM_CHAN_PRODUCER, &sig);
	if (!tx) {
		fprintf(stderr, "guest: cannot attach %s: %m\n", name);
		return 1;
	}
	printf("guest: attached h2g.%d and %s; host is peer %d, vector %u\n",
	       id, name, host, l.tx_vector);
	fflush(stdout);

	for (;;) {
		struct msg *m = (struct msg *)buf;

		len = ivshm_chan_recv(rx, buf, sizeof(buf), WAIT_MS);
		if (len == -EPIPE)
			break;	/* the host closed: done */
		if (len < 0) {
			fprintf(stderr, "guest: recv: %s\n", strerror(-len));
			return 1;
		}
		if (!n)
			t0 = now();
		if ((size_t)len < sizeof(*m) || m->len != len - sizeof(*m) ||
		    m->seq != expect ||
		    m->sum != checksum(m->payload, m->len, m->seq)) {
			fprintf(stderr, "guest: message %llu corrupt\n",
				(unsigned long long)expect);
			return 1;
		}
		expect++;
		r = ivshm_chan_send(tx, buf, len, WAIT_MS);
		if (r) {
			fprintf(stderr, "guest: send: %s\n", strerror(-r));
			return 1;
		}
		n++;
	}
	ivshm_chan_stats(tx, &st);
	printf("guest: peer %d echoed %llu messages in %.2f s, all in order with good checksums; rang the host %llu times, took %llu doorbell interrupts (MSI-X)\n",
	       id, (unsigned long long)n, now() - t0,
	       (unsigned long long)st.notifies, driver_interrupts());
	ivshm_chan_close(tx);
	ivshm_chan_close(rx);
	ivshm_region_close(reg);
	ivshm_close(dev);
	return 0;
}

/* ---- host ------------------------------------------------------------- */

struct guest {
	struct ivshm_dev *dev;
	struct ivshm_region *reg;
	unsigned int index;
	int peer;
	uint64_t messages;
	size_t size;
	struct ivshm_sigctx link;
	struct ivshm_chan *tx, *rx;
	double seconds;
	uint64_t echoed;
	int err;
};

static void *host_guest_thread(void *arg)
{
	struct guest *g = arg;
	unsigned char out[65536], in[65536];
	struct msg *m = (struct msg *)out;
	uint64_t sent = 0, per_burst, burst_end;
	uint32_t hello[2] = { ivshm_peer_id(g->dev), g->link.rx_vector };
	double t0;
	int ret;

	ret = ivshm_chan_send(g->tx, hello, sizeof(hello), WAIT_MS);
	if (ret) {
		g->err = -ret;
		return NULL;
	}
	t0 = 0;
	per_burst = g->messages / BURSTS ? g->messages / BURSTS : 1;
	burst_end = per_burst;
	while (g->echoed < g->messages) {
		int r = -EAGAIN;
		ssize_t len;

		/*
		 * Bursts: once a burst is all echoed, pause so that the guest
		 * goes to sleep and the next burst must wake it with a
		 * doorbell interrupt.
		 */
		if (sent == burst_end && g->echoed == sent &&
		    sent < g->messages) {
			usleep(50000);
			burst_end += per_burst;
		}
		if (sent < burst_end && sent < g->messages) {
			m->seq = sent;
			m->len = g->size;
			for (size_t i = 0; i < g->size; i++)
				m->payload[i] = (unsigned char)(sent * 31 + i);
			m->sum = checksum(m->payload, m->len, m->seq);
			r = ivshm_chan_send(g->tx, out, sizeof(*m) + g->size, 0);
			if (!r)
				sent++;
			else if (r != -EAGAIN) {
				g->err = -r;
				return NULL;
			}
		}
		/* Collect echoes; block only when we cannot send. */
		len = ivshm_chan_recv(g->rx, in, sizeof(in),
				      r != -EAGAIN ? 0 :
				      g->echoed ? WAIT_MS : BOOT_WAIT_MS);
		if (len == -EAGAIN)
			continue;
		if (len < 0) {
			g->err = -len;
			return NULL;
		}
		/* The echo comes from the guest: check it before use. */
		if (len != (ssize_t)(sizeof(*m) + g->size) ||
		    ((struct msg *)in)->len != g->size ||
		    ((struct msg *)in)->seq != g->echoed ||
		    ((struct msg *)in)->sum !=
		    checksum(((struct msg *)in)->payload, g->size, g->echoed)) {
			g->err = EBADMSG;
			return NULL;
		}
		if (!g->echoed++)
			t0 = now();	/* the guest is up and attached */
	}
	g->seconds = now() - t0;
	return NULL;
}

static void on_peer(struct ivshm_dev *dev, const struct ivshm_peer_event *ev,
		    void *arg)
{
	int *joined = arg;

	(void)dev;
	if (ev->type == IVSHM_PEER_JOIN && joined[0] < MAX_GUESTS) {
		joined[1 + joined[0]++] = ev->peer;
		printf("host: peer %d joined\n", ev->peer);
	} else if (ev->type == IVSHM_PEER_LEAVE) {
		printf("host: peer %d left\n", ev->peer);
	}
	fflush(stdout);
}

static int run_host(const char *target, int nguests, uint64_t messages,
		    size_t size)
{
	struct guest g[MAX_GUESTS] = { 0 };
	pthread_t t[MAX_GUESTS];
	int joined[1 + MAX_GUESTS] = { 0 };
	struct ivshm_region *reg;
	struct ivshm_dev *dev;
	double deadline;
	int ret = 0;

	dev = ivshm_open(target, 0);
	if (!dev) {
		fprintf(stderr, "host: cannot open %s: %m\n", target);
		return 1;
	}
	reg = ivshm_region_format(ivshm_base(dev), ivshm_size(dev));
	if (!reg) {
		fprintf(stderr, "host: cannot format the region: %m\n");
		return 1;
	}
	printf("host: peer %d on %s, %zu MiB shared, %d vectors; waiting for %d guest(s)\n",
	       ivshm_peer_id(dev), target, ivshm_size(dev) >> 20,
	       ivshm_vectors(dev), nguests);
	fflush(stdout);
	if (ivshm_vectors(dev) < nguests + 1) {
		fprintf(stderr, "host: need %d vectors\n", nguests + 1);
		return 1;
	}

	/* Guests already connected came with the handshake, not as joins. */
	{
		uint16_t ids[MAX_GUESTS];
		int n = ivshm_peers(dev, ids, MAX_GUESTS);

		for (int i = 0; i < n && i < MAX_GUESTS; i++) {
			joined[1 + joined[0]++] = ids[i];
			printf("host: peer %d already connected\n", ids[i]);
		}
	}
	ivshm_set_event_cb(dev, on_peer, joined);
	deadline = now() + 600;
	while (joined[0] < nguests && now() < deadline)
		if (ivshm_process_events(dev, 1000) < 0)
			break;
	if (joined[0] < nguests) {
		fprintf(stderr, "host: only %d guest(s) joined\n", joined[0]);
		return 1;
	}

	for (int i = 0; i < nguests; i++) {
		struct ivshm_signal sig = { .size = sizeof(sig) };
		char name[32];

		g[i] = (struct guest){ .dev = dev, .reg = reg, .index = i,
				       .peer = joined[1 + i],
				       .messages = messages, .size = size,
				       .link.size = sizeof(g[i].link) };
		ivshm_dev_signal(dev, g[i].peer, 0, 1 + i, &g[i].link, &sig);
		snprintf(name, sizeof(name), "g2h.%d", g[i].peer);
		g[i].rx = ivshm_chan_create(reg, name, RING_SIZE,
					    IVSHM_CHAN_CONSUMER, &sig);
		snprintf(name, sizeof(name), "h2g.%d", g[i].peer);
		g[i].tx = ivshm_chan_create(reg, name, RING_SIZE,
					    IVSHM_CHAN_PRODUCER, &sig);
		if (!g[i].rx || !g[i].tx) {
			fprintf(stderr, "host: cannot create channels: %m\n");
			return 1;
		}
		printf("host: channels h2g.%d and g2h.%d ready (%u KiB rings)\n",
		       g[i].peer, g[i].peer, RING_SIZE >> 10);
	}
	fflush(stdout);
	for (int i = 0; i < nguests; i++)
		pthread_create(&t[i], NULL, host_guest_thread, &g[i]);
	for (int i = 0; i < nguests; i++) {
		struct ivshm_chan_stats tx = { .size = sizeof(tx) };
		struct ivshm_chan_stats rx = { .size = sizeof(rx) };

		pthread_join(t[i], NULL);
		ivshm_chan_stats(g[i].tx, &tx);
		ivshm_chan_stats(g[i].rx, &rx);
		if (g[i].err) {
			printf("host: guest peer %d FAILED after %llu echoes: %s\n",
			       g[i].peer, (unsigned long long)g[i].echoed,
			       strerror(g[i].err));
			ret = 1;
		} else {
			printf("host: guest peer %d: %llu messages of %zu bytes sent and echoed back intact in %.2f s (%d bursts, 50 ms apart): %.0f messages/s, %.2f MB/s each way; doorbells rung %llu, sleeps %llu\n",
			       g[i].peer, (unsigned long long)g[i].echoed,
			       sizeof(struct msg) + size, g[i].seconds, BURSTS,
			       g[i].echoed / g[i].seconds,
			       g[i].echoed * (sizeof(struct msg) + size) /
			       g[i].seconds / 1e6,
			       (unsigned long long)(tx.notifies + rx.notifies),
			       (unsigned long long)(tx.sleeps + rx.sleeps));
		}
		ivshm_chan_close(g[i].tx);
		ivshm_chan_close(g[i].rx);
	}
	fflush(stdout);
	/* Let the guests see the close before we leave the server. */
	sleep(1);
	ivshm_region_close(reg);
	ivshm_close(dev);
	return ret;
}

static void usage(void)
{
	fprintf(stderr,
		"usage: ivshm-demo host unix:SOCK [-g GUESTS] [-n MESSAGES] [-s BYTES]\n"
		"       ivshm-demo guest /dev/ivshmN\n");
	exit(2);
}

int main(int argc, char **argv)
{
	unsigned long long messages = 20000;
	unsigned long size = 64;
	int guests = 1, c;

	if (argc < 3)
		usage();
	optind = 3;
	while ((c = getopt(argc, argv, "g:n:s:")) != -1) {
		switch (c) {
		case 'g':
			guests = atoi(optarg);
			break;
		case 'n':
			messages = strtoull(optarg, NULL, 0);
			break;
		case 's':
			size = strtoul(optarg, NULL, 0);
			break;
		default:
			usage();
		}
	}
	if (guests < 1 || guests > MAX_GUESTS || size > 60000 || !messages)
		usage();
	if (!strcmp(argv[1], "host"))
		return run_host(argv[2], guests, messages, size);
	if (!strcmp(argv[1], "guest"))
		return run_guest(argv[2]);
	usage();
	return 2;
}
