// SPDX-License-Identifier: GPL-2.0-only
/*
 * ivshm send / recv: stdin to a ring channel, a ring channel to stdout.
 *
 * Line mode (default): each line of stdin, with its newline, is one
 * message; recv writes each message and adds a newline if it has none.
 * --bytes N (send) sends chunks of at most N bytes as they are read;
 * --raw (recv) writes the messages exactly as they are.
 *
 * Doorbells: with --peer, through ivshm_dev_signal(); otherwise the ring
 * calls poll.  Waits run in slices so that SIGINT/SIGTERM detach cleanly
 * (the peer then sees us leave) before the signal is re-raised.
 */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"

#define DEFAULT_RING	(64u << 10)
#define SLICE_MS	200
#define ATTACH_MS	2000	/* retry while a channel is being created */

struct chan_opts {
	bool create, format, raw, takeover;
	bool has_peer;
	unsigned int peer, tx_vector, rx_vector;
	uint64_t ring_size;
	uint64_t bytes;		/* send: chunk size, 0 = lines */
	uint64_t count;		/* recv: stop after this many, 0 = all */
	int timeout;		/* ms per message, -1 forever */
};

enum {
	OPT_FORMAT = 0x100, OPT_TX, OPT_RX, OPT_RAW, OPT_TAKEOVER,
};

static volatile sig_atomic_t stop_sig;

static void on_signal(int sig)
{
	stop_sig = sig;
}

static void catch_signals(void)
{
	struct sigaction sa = { .sa_handler = on_signal };

	/* no SA_RESTART: a read of stdin returns EINTR */
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
}

/* After cleaning up: die of the signal that stopped us. */
static int reraise(void)
{
	int sig = stop_sig;

	signal(sig, SIG_DFL);
	raise(sig);
	return 128 + sig;
}

static uint64_t ms_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* Time left of @timeout from @start for the next slice, or 0 if over. */
static int slice(int timeout, uint64_t start)
{
	uint64_t used;

	if (timeout < 0)
		return SLICE_MS;
	used = ms_now() - start;
	if (used >= (uint64_t)timeout)
		return 0;
	return timeout - used < SLICE_MS ? (int)(timeout - used) : SLICE_MS;
}

static int parse_chan_opts(int *argcp, char ***argvp, bool send,
			   struct chan_opts *o)
{
	static const struct option opts[] = {
		COMMON_LONGOPTS,
		{ "create", no_argument, NULL, 'c' },
		{ "format", no_argument, NULL, OPT_FORMAT },
		{ "ring-size", required_argument, NULL, 's' },
		{ "bytes", required_argument, NULL, 'b' },
		{ "raw", no_argument, NULL, OPT_RAW },
		{ "count", required_argument, NULL, 'n' },
		{ "timeout", required_argument, NULL, 't' },
		{ "peer", required_argument, NULL, 'p' },
		{ "tx-vector", required_argument, NULL, OPT_TX },
		{ "rx-vector", required_argument, NULL, OPT_RX },
		{ "takeover", no_argument, NULL, OPT_TAKEOVER },
		{ NULL, 0, NULL, 0 }
	};
	bool vec_given = false;
	int opt, r, argc;
	char **argv;

	memset(o, 0, sizeof(*o));
	o->ring_size = DEFAULT_RING;
	o->timeout = -1;
	args_prepare(argcp, argvp, COMMON_SHORTOPTS "cs:b:n:t:p:", opts);
	argc = *argcp;
	argv = *argvp;
	while ((opt = getopt_long(argc, argv, COMMON_SHORTOPTS "cs:b:n:t:p:",
				  opts, NULL)) != -1) {
		switch (opt) {
		case 'c':
			o->create = true;
			break;
		case OPT_FORMAT:
			o->format = o->create = true;
			break;
		case 's':
			if (parse_u64("ring size", optarg, true, &o->ring_size))
				return EX_USAGE_ERR;
			if (o->ring_size < IVSHM_CHAN_MIN_RING ||
			    o->ring_size > IVSHM_CHAN_MAX_RING ||
			    (o->ring_size & (o->ring_size - 1)))
				return usage_err("ring size %s must be a power of two, %u..%u",
						 optarg, IVSHM_CHAN_MIN_RING,
						 IVSHM_CHAN_MAX_RING);
			break;
		case 'b':
			if (!send)
				return usage_err("--bytes is for send (recv --raw writes messages as they are)");
			if (parse_u64("chunk size", optarg, true, &o->bytes))
				return EX_USAGE_ERR;
			if (!o->bytes || o->bytes > IVSHM_CHAN_MAX_RING / 4)
				return usage_err("chunk size %s out of range",
						 optarg);
			break;
		case OPT_RAW:
			if (send)
				return usage_err("--raw is for recv (send --bytes N sends chunks)");
			o->raw = true;
			break;
		case 'n':
			if (send)
				return usage_err("--count is for recv");
			if (parse_u64("count", optarg, false, &o->count))
				return EX_USAGE_ERR;
			break;
		case 't':
			if (parse_timeout(optarg, &o->timeout))
				return EX_USAGE_ERR;
			break;
		case 'p':
			if (parse_uint("peer id", optarg, 0, CLI_MAX_PEER, &o->peer))
				return EX_USAGE_ERR;
			o->has_peer = true;
			break;
		case OPT_TX:
			if (parse_uint("tx vector", optarg, 0,
				       CLI_MAX_VECTORS - 1,
				       &o->tx_vector))
				return EX_USAGE_ERR;
			vec_given = true;
			break;
		case OPT_RX:
			if (parse_uint("rx vector", optarg, 0,
				       CLI_MAX_VECTORS - 1,
				       &o->rx_vector))
				return EX_USAGE_ERR;
			vec_given = true;
			break;
		case OPT_TAKEOVER:
			o->takeover = true;
			break;
		default:
			if ((r = common_opt(opt, argv[0])) >= 0)
				return r;
		}
	}
	if (vec_given && !o->has_peer)
		return usage_err("--tx-vector and --rx-vector need --peer");
	if (argc - optind != 2)
		return usage_err("usage: %s TARGET CHANNEL [OPTIONS]",
				 argv[0]);
	if (!argv[optind + 1][0] ||
	    strlen(argv[optind + 1]) >= IVSHM_CHAN_NAME_MAX)
		return usage_err("channel name '%s' must be 1..%d bytes",
				 argv[optind + 1], IVSHM_CHAN_NAME_MAX - 1);
	if (o->bytes && o->bytes > o->ring_size / 4 && o->create)
		return usage_err("chunk size %llu is above the largest message of a %llu-byte ring (%llu)",
				 (unsigned long long)o->bytes,
				 (unsigned long long)o->ring_size,
				 (unsigned long long)o->ring_size / 4);
	return -1;
}

struct endpoint {
	struct ivshm_dev *dev;
	struct ivshm_region *reg;
	struct ivshm_chan *chan;
	struct ivshm_sigctx ctx;
	struct ivshm_signal sig;
};

static void ep_close(struct endpoint *ep)
{
	ivshm_chan_close(ep->chan);
	ivshm_region_close(ep->reg);
	ivshm_close(ep->dev);
}

/* Open the target, the region and the channel as @role: exit code. */
static int ep_open(struct endpoint *ep, const char *target, const char *name,
		   unsigned int role, const struct chan_opts *o)
{
	const struct ivshm_signal *sig = NULL;
	unsigned int flags = role | (o->takeover ? IVSHM_CHAN_TAKEOVER : 0);
	uint64_t end = ms_now() + ATTACH_MS;
	int r;

	memset(ep, 0, sizeof(*ep));
	ep->ctx.size = sizeof(ep->ctx);
	ep->sig.size = sizeof(ep->sig);
	ep->dev = open_target(target);
	if (!ep->dev)
		return EX_FAIL;
	if (o->has_peer) {
		r = ivshm_dev_signal(ep->dev, o->peer, o->tx_vector,
				     o->rx_vector, &ep->ctx, &ep->sig);
		if (r == -EOPNOTSUPP) {
			err_errno(EOPNOTSUPP, "%s has no doorbells: drop --peer to poll",
				target);
			return EX_FAIL;
		}
		if (r < 0)
			return fail_errno(r, "%s: doorbells for peer %u (tx vector %u, rx vector %u)",
					  target, o->peer, o->tx_vector,
					  o->rx_vector);
		sig = &ep->sig;
	}
	ep->reg = open_region(ep->dev, target, o->format);
	if (!ep->reg)
		return EX_FAIL;
	for (;;) {
		ep->chan = ivshm_chan_attach(ep->reg, name, flags, sig);
		if (ep->chan)
			break;
		r = errno;
		if (r == ENOENT && o->create) {
			ep->chan = ivshm_chan_create(ep->reg, name,
						     o->ring_size, role, sig);
			if (ep->chan)
				break;
			r = errno;
			if (r == EEXIST)	/* the peer was quicker */
				continue;
			if (r == ENOSPC) {
				err_errno(r, "%s: no room for channel '%s' with a %llu-byte ring: %s",
					target, name,
					(unsigned long long)o->ring_size,
					strerror(r));
				return EX_FAIL;
			}
		}
		if (r == EAGAIN && ms_now() < end && !stop_sig) {
			usleep(1000);
			continue;
		}
		if (r == ENOENT) {
			err_errno(ENOENT, "%s: no channel '%s'%s", target, name,
				o->create ? "" : " (--create creates it)");
			return EX_FAIL;
		}
		if (r == EBUSY) {
			err_errno(EBUSY, "%s: channel '%s' already has a %s (--takeover replaces a dead one)",
				target, name, role == IVSHM_CHAN_PRODUCER ?
				"producer" : "consumer");
			return EX_FAIL;
		}
		return fail_errno(r, "%s: cannot attach to channel '%s'",
				  target, name);
	}
	return -1;
}

/* Send one message, waiting in slices.  0 or an exit code. */
static int send_one(struct endpoint *ep, const char *target, const char *name,
		    const void *buf, size_t len, const struct chan_opts *o)
{
	uint64_t start = ms_now();
	int r, ms;

	if (len > ivshm_chan_max_msg(ep->chan)) {
		err_errno(EMSGSIZE, "%s: a %zu-byte message is above channel '%s''s largest (%zu bytes)%s",
			target, len, name, ivshm_chan_max_msg(ep->chan),
			o->bytes ? "" : "; use --bytes N for binary data");
		return EX_FAIL;
	}
	for (;;) {
		r = ivshm_chan_send(ep->chan, buf, len, 0);
		if (r != -EAGAIN)
			break;
		ms = slice(o->timeout, start);
		if (!ms || stop_sig) {
			r = -ETIMEDOUT;
			break;
		}
		r = ivshm_chan_send(ep->chan, buf, len, ms);
		if (r != -ETIMEDOUT)
			break;
		if (stop_sig)
			break;
	}
	if (!r)
		return 0;
	if (stop_sig)
		return -1;
	if (r == -EPIPE) {
		err_errno(EPIPE, "%s: channel '%s': the consumer detached", target,
			name);
		return EX_FAIL;
	}
	if (r == -ETIMEDOUT) {
		err_errno(ETIMEDOUT, "%s: channel '%s': no room within %d ms", target,
			name, o->timeout);
		return EX_TIMEOUT;
	}
	return fail_errno(r, "%s: channel '%s': send", target, name);
}

int cmd_send(int argc, char **argv)
{
	uint64_t sent = 0, sent_bytes = 0;
	const char *target, *name;
	struct chan_opts o;
	struct endpoint ep;
	char *buf = NULL;
	size_t cap = 0;
	ssize_t n;
	int r;

	r = parse_chan_opts(&argc, &argv, true, &o);
	if (r >= 0)
		return r;
	target = argv[optind];
	name = argv[optind + 1];
	catch_signals();
	r = ep_open(&ep, target, name, IVSHM_CHAN_PRODUCER, &o);
	if (r >= 0)
		goto out;
	if (o.bytes) {
		if (o.bytes > ivshm_chan_max_msg(ep.chan)) {
			err_errno(EMSGSIZE, "%s: chunk size %llu is above channel '%s''s largest message (%zu bytes)",
				target, (unsigned long long)o.bytes, name,
				ivshm_chan_max_msg(ep.chan));
			r = EX_FAIL;
			goto out;
		}
		cap = o.bytes;
		buf = malloc(cap);
		if (!buf) {
			r = fail_errno(ENOMEM, "send");
			goto out;
		}
	}
	for (r = EX_OK; !stop_sig;) {
		if (o.bytes) {
			n = read(STDIN_FILENO, buf, cap);
			if (n < 0 && errno == EINTR)
				continue;	/* stop_sig, if it was ours */
			if (n < 0) {
				r = fail_errno(errno, "read from stdin");
				break;
			}
		} else {
			n = getline(&buf, &cap, stdin);
			if (n < 0 && ferror(stdin)) {
				if (errno == EINTR) {
					clearerr(stdin);
					continue;
				}
				r = fail_errno(errno, "read from stdin");
				break;
			}
		}
		if (n <= 0)
			break;	/* EOF: close the channel */
		r = send_one(&ep, target, name, buf, (size_t)n, &o);
		if (r)
			break;
		sent++;
		sent_bytes += (uint64_t)n;
	}
	if (r < 0)
		r = EX_OK;
	if (r == EX_OK && cli.json) {
		json_obj_begin();
		json_key("channel");
		json_str(name);
		json_key("messages");
		json_u64(sent);
		json_key("bytes");
		json_u64(sent_bytes);
		json_obj_end();
		json_end();
	}
out:
	free(buf);
	ep_close(&ep);
	if (stop_sig)
		return reraise();
	return r;
}

/* Writing stdout failed: a reader that went away (EPIPE) ends us the way
 * it ends other filters, by SIGPIPE (after detaching); else an error. */
static int stdout_error(void)
{
	if (errno == EPIPE) {
		stop_sig = SIGPIPE;
		return EX_FAIL;
	}
	return fail_errno(errno, "write to stdout");
}

/*
 * --json: one object per message and line, {"len": N, "text": "..."} if
 * the message is printable ASCII (tabs and newlines included), else
 * {"len": N, "hex": "..."}, so that no byte is lost or re-interpreted.
 */
static void msg_json(const unsigned char *buf, size_t n)
{
	bool text = true;
	size_t i;

	for (i = 0; i < n && text; i++)
		text = (buf[i] >= 0x20 && buf[i] < 0x7f) || buf[i] == '\t' ||
		       buf[i] == '\n' || buf[i] == '\r';
	json_obj_begin();
	json_key("len");
	json_u64(n);
	json_key(text ? "text" : "hex");
	if (text)
		json_strn((const char *)buf, n);
	else
		json_hex(buf, n);
	json_obj_end();
	json_end();
}

#define STDOUT_FAILED	(-100000)	/* recv_one: fflush(stdout) failed */

/* Receive one message into @buf, waiting in slices: length or -errno. */
static ssize_t recv_one(struct endpoint *ep, void *buf, size_t cap,
			const struct chan_opts *o)
{
	uint64_t start = ms_now();
	ssize_t n;
	int ms;

	n = ivshm_chan_recv(ep->chan, buf, cap, 0);
	if (n != -EAGAIN)
		return n;
	/* nothing queued: show what we have before sleeping */
	if (fflush(stdout))
		return STDOUT_FAILED;
	for (;;) {
		ms = slice(o->timeout, start);
		if (!ms)
			return -ETIMEDOUT;
		n = ivshm_chan_recv(ep->chan, buf, cap, ms);
		if (n != -ETIMEDOUT && n != -EAGAIN)
			return n;
		if (stop_sig)
			return -EINTR;
	}
}

int cmd_recv(int argc, char **argv)
{
	const char *target, *name;
	unsigned char *buf = NULL;
	uint64_t got = 0;
	struct chan_opts o;
	struct endpoint ep;
	size_t cap;
	ssize_t n;
	int r;

	r = parse_chan_opts(&argc, &argv, false, &o);
	if (r >= 0)
		return r;
	target = argv[optind];
	name = argv[optind + 1];
	catch_signals();
	r = ep_open(&ep, target, name, IVSHM_CHAN_CONSUMER, &o);
	if (r >= 0)
		goto out;
	cap = ivshm_chan_max_msg(ep.chan);
	buf = malloc(cap);
	if (!buf) {
		r = fail_errno(ENOMEM, "recv");
		goto out;
	}
	r = EX_OK;
	while (!o.count || got < o.count) {
		n = recv_one(&ep, buf, cap, &o);
		if (n == -EPIPE)
			break;	/* the producer left and all is drained */
		if (n == -EINTR && stop_sig)
			break;
		if (n == -ETIMEDOUT) {
			err_errno(ETIMEDOUT, "%s: channel '%s': no message within %d ms",
				target, name, o.timeout);
			r = EX_TIMEOUT;
			break;
		}
		if (n == STDOUT_FAILED) {
			r = stdout_error();
			break;
		}
		if (n < 0) {
			r = fail_errno((int)n, "%s: channel '%s': receive",
				       target, name);
			break;
		}
		if (cli.json) {
			msg_json(buf, (size_t)n);
		} else if (fwrite(buf, 1, n, stdout) != (size_t)n ||
			   (!o.raw && (!n || buf[n - 1] != '\n') &&
			    putchar('\n') == EOF)) {
			r = stdout_error();
			break;
		}
		got++;
	}
	if (fflush(stdout) && r == EX_OK)
		r = stdout_error();
out:
	free(buf);
	ep_close(&ep);
	if (stop_sig)
		return reraise();
	return r;
}
