// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * stream: zero-copy streaming of large payloads over a libivshm ring,
 * typically between two guests.
 *
 *   stream recv TARGET [MBYTES]        consume
 *   stream send TARGET [MBYTES]        produce
 *
 * (MBYTES: MiB to stream, default 64.)  The receiver formats the region
 * unless it is formatted already, registers as "stream-rx" in the
 * region's peer directory and creates channel "stream" with a 1 MiB ring;
 * the sender looks "stream-rx" up (whom to ring for data) and attaches.  Neither side copies a payload:
 *
 * - the sender reserves room for a whole chunk in the ring
 *   (ivshm_chan_reserve), generates the chunk directly there, and
 *   publishes it (ivshm_chan_commit);
 * - the receiver looks at the chunk where it lies (ivshm_chan_peek),
 *   checks it, and only then gives the room back (ivshm_chan_release).
 *
 * Each chunk is as large as the ring allows (a quarter of it).  The bytes
 * a peer shares can change while we read them, so the receiver reads each
 * byte once, into its checksum, and trusts nothing else in the chunk.
 * The stream ends when the sender detaches: the receiver then gets -EPIPE
 * once it has drained the ring.  Every chunk carries the sender's peer
 * id: the receiver learns from the first one whom to ring for room.
 *
 * Doorbells: both ends wait on vector 3 (the receiver for data, the
 * sender for room).  shm: targets have none: both sides poll.
 *
 * Build: cc stream.c $(pkg-config --cflags --libs libivshm)
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <ivshm.h>

#define RING_SIZE	(1u << 20)
#define VECTOR		3
#define WAIT_MS		10000
#define ATTACH_MS	30000
#define NAME		"stream-rx"	/* the receiver in the peer directory */

/* A chunk: this header, then len bytes. */
struct chunk {
	uint64_t seq;
	uint64_t len;
	uint64_t sum;		/* checksum of the bytes that follow */
	uint32_t sender;	/* the sender's peer id */
	uint32_t reserved;
	unsigned char data[];
};

/* The bytes of chunk @seq: cheap to make, and different in every chunk. */
static void generate(unsigned char *p, size_t n, uint64_t seq)
{
	uint64_t x = seq * 0x9e3779b97f4a7c15ull + 1;

	for (size_t i = 0; i < n; i++) {
		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		p[i] = (unsigned char)x;
	}
}

/* FNV-1a over 8-byte words (n is a multiple of 8 here). */
static uint64_t checksum(const unsigned char *p, size_t n)
{
	uint64_t h = 14695981039346656037ull, w;

	for (size_t i = 0; i + 8 <= n; i += 8) {
		memcpy(&w, p + i, 8);
		h = (h ^ w) * 1099511628211ull;
	}
	return h;
}

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static int receive(struct ivshm_region *reg, const struct ivshm_signal *sig,
		   struct ivshm_sigctx *ctx, unsigned int me, uint64_t total)
{
	struct ivshm_chan *rx;
	uint64_t seq = 0, bytes = 0;
	const struct chunk *c;
	const void *data;
	double t0 = 0;
	size_t len;
	int err;

	rx = ivshm_chan_create(reg, "stream", RING_SIZE,
			       IVSHM_CHAN_CONSUMER | IVSHM_CHAN_RESET, sig);
	if (!rx) {
		fprintf(stderr, "stream: create: %s\n", strerror(errno));
		return 1;
	}
	err = ivshm_peer_register(reg, NAME, me, 0, IVSHM_PEER_REPLACE);
	if (err < 0) {
		fprintf(stderr, "stream: register: %s\n", strerror(-err));
		goto fail;
	}
	printf("stream: receiving as \"%s\", peer %u\n", NAME, me);
	fflush(stdout);
	for (;;) {
		/* The first chunk may take a while: the sender starts later. */
		err = ivshm_chan_peek(rx, &data, &len, seq ? WAIT_MS : ATTACH_MS);
		if (err == -EPIPE)
			break;			/* sender done and drained */
		if (err < 0) {
			fprintf(stderr, "stream: peek: %s\n", strerror(-err));
			goto fail;
		}
		c = data;
		/* Validate what the peer wrote before using it. */
		if (len < sizeof(*c) || c->len != len - sizeof(*c) ||
		    c->len % 8 || c->seq != seq || c->sender > 65535 ||
		    c->sum != checksum(c->data, c->len)) {
			fprintf(stderr, "stream: chunk %llu is damaged\n",
				(unsigned long long)seq);
			goto fail;
		}
		if (!seq++) {
			t0 = now();
			ctx->peer = c->sender;	/* ring it for room */
		}
		bytes += c->len;
		err = ivshm_chan_release(rx);
		if (err < 0) {
			fprintf(stderr, "stream: release: %s\n", strerror(-err));
			goto fail;
		}
	}
	ivshm_chan_close(rx);
	if (bytes != total) {
		fprintf(stderr, "stream: got %llu of %llu bytes\n",
			(unsigned long long)bytes, (unsigned long long)total);
		return 1;
	}
	printf("stream: received %llu chunks, %llu MiB checked, %.1f MiB/s\n",
	       (unsigned long long)seq, (unsigned long long)(bytes >> 20),
	       bytes / 1048576.0 / (now() - t0));
	return 0;
fail:
	ivshm_chan_close(rx);
	return 1;
}

static int send_all(struct ivshm_region *reg, const struct ivshm_signal *sig,
		    struct ivshm_sigctx *ctx, unsigned int me, uint64_t total)
{
	struct ivshm_chan *tx = NULL;
	uint64_t seq = 0, left = total;
	int err, i, rx = -ENOENT;
	struct chunk *c;
	size_t max, n;
	void *room;

	/* The receiver registers, then creates the channel: wait for both. */
	for (i = 0; i < ATTACH_MS / 100 && !tx; i++, usleep(100000)) {
		if (rx < 0)
			rx = ivshm_peer_lookup(reg, NAME);
		if (rx >= 0) {
			ctx->peer = rx;		/* ring it for data */
			tx = ivshm_chan_attach(reg, "stream",
					       IVSHM_CHAN_PRODUCER, sig);
		}
	}
	if (!tx) {
		fprintf(stderr, "stream: %s: %s\n", rx < 0 ? NAME : "attach",
			strerror(rx < 0 ? -rx : errno));
		return 1;
	}
	max = (ivshm_chan_max_msg(tx) - sizeof(*c)) & ~(size_t)7;
	while (left) {
		n = left < max ? left : max;
		err = ivshm_chan_reserve(tx, sizeof(*c) + n, &room, WAIT_MS);
		if (err < 0) {
			fprintf(stderr, "stream: reserve: %s\n", strerror(-err));
			goto fail;
		}
		/* Build the chunk in place: the ring is the buffer. */
		c = room;
		c->seq = seq++;
		c->len = n;
		c->sender = me;
		c->reserved = 0;
		generate(c->data, n, c->seq);
		c->sum = checksum(c->data, n);
		err = ivshm_chan_commit(tx);
		if (err < 0) {
			fprintf(stderr, "stream: commit: %s\n", strerror(-err));
			goto fail;
		}
		left -= n;
	}
	printf("stream: sent %llu chunks of up to %zu bytes\n",
	       (unsigned long long)seq, max);
	ivshm_chan_close(tx);
	return 0;
fail:
	ivshm_chan_close(tx);
	return 1;
}

int main(int argc, char **argv)
{
	struct ivshm_sigctx ctx = { .size = sizeof(ctx) };
	struct ivshm_signal sig = { .size = sizeof(sig) };
	const struct ivshm_signal *psig = &sig;
	struct ivshm_region *reg = NULL;
	struct ivshm_dev *dev;
	int recv, err, ret = 1, i, me;
	const char *mbytes;
	uint64_t total;

	recv = argc > 1 && !strcmp(argv[1], "recv");
	if (argc < 3 || (!recv && strcmp(argv[1], "send"))) {
		fprintf(stderr, "usage: stream recv|send TARGET [MBYTES]\n");
		return 2;
	}
	mbytes = argv[3];
	total = (uint64_t)(mbytes ? atoi(mbytes) : 64) << 20;
	dev = ivshm_open(argv[2], 0);
	if (!dev) {
		fprintf(stderr, "stream: %s: %s\n", argv[2], strerror(errno));
		return 1;
	}
	/*
	 * Until it knows its peer, each side's signal points at itself: the
	 * receiver learns the sender from the first chunk, the sender looks
	 * the receiver up by name.
	 */
	me = ivshm_peer_id(dev) < 0 ? 0 : ivshm_peer_id(dev);
	err = ivshm_dev_signal(dev, me, VECTOR, VECTOR, &ctx, &sig);
	if (err == -EOPNOTSUPP)
		psig = NULL;		/* no doorbells: poll */
	else if (err < 0) {
		fprintf(stderr, "stream: signal: %s\n", strerror(-err));
		goto out;
	}
	/* The receiver formats if nobody did; the sender waits for it. */
	for (i = 0; i < ATTACH_MS / 100 && !reg; i++) {
		reg = ivshm_region_open(ivshm_base(dev), ivshm_size(dev));
		if (!reg && errno == EAGAIN && recv)
			reg = ivshm_region_format(ivshm_base(dev),
						  ivshm_size(dev));
		if (!reg && errno == EAGAIN)
			usleep(100000);
		else if (!reg)
			break;
	}
	if (!reg) {
		fprintf(stderr, "stream: region: %s\n", strerror(errno));
		goto out;
	}
	ret = recv ? receive(reg, psig, &ctx, me, total)
		   : send_all(reg, psig, &ctx, me, total);
out:
	ivshm_region_close(reg);
	ivshm_close(dev);
	return ret;
}
