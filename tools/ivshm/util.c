// SPDX-License-Identifier: GPL-2.0-only
/*
 * ivshm: messages, number parsing and target opening.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

#include "cli.h"

void err_msg(const char *fmt, ...)
{
	va_list ap;

	fflush(stdout);
	fputs("ivshm: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

int usage_err(const char *fmt, ...)
{
	va_list ap;

	fflush(stdout);
	fputs("ivshm: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputs("\nTry 'ivshm --help' for more information.\n", stderr);
	return EX_USAGE_ERR;
}

int fail_errno(int err, const char *fmt, ...)
{
	va_list ap;

	if (err < 0)
		err = -err;
	fflush(stdout);
	fputs("ivshm: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, ": %s\n", strerror(err));
	return err == ETIMEDOUT ? EX_TIMEOUT : EX_FAIL;
}

/* Decimal or 0x hex, optional K/M/G (binary) suffix if @suffixes. */
int parse_u64(const char *what, const char *s, bool suffixes, uint64_t *v)
{
	unsigned long long n;
	unsigned int shift = 0;
	char *end;

	if (!s || !*s || *s == '-' || *s == '+' || *s == ' ')
		goto bad;
	errno = 0;
	n = strtoull(s, &end, 0);
	if (errno || end == s)
		goto bad;
	if (suffixes && *end) {
		switch (*end) {
		case 'k': case 'K':
			shift = 10;
			break;
		case 'm': case 'M':
			shift = 20;
			break;
		case 'g': case 'G':
			shift = 30;
			break;
		default:
			goto bad;
		}
		end++;
		if (*end == 'i' && end[1] == 'B')
			end += 2;
		else if (*end == 'B')
			end++;
	}
	if (*end)
		goto bad;
	if (shift && n > (UINT64_MAX >> shift)) {
		usage_err("%s '%s' is too large", what, s);
		return -1;
	}
	*v = (uint64_t)n << shift;
	return 0;
bad:
	usage_err("invalid %s '%s'%s", what, s ? s : "",
		  suffixes ? " (a number, 0x for hex, K/M/G suffixes)" :
		  " (a number, 0x for hex)");
	return -1;
}

int parse_uint(const char *what, const char *s, unsigned int max,
	       unsigned int *v)
{
	uint64_t n;

	if (parse_u64(what, s, false, &n))
		return -1;
	if (n > max) {
		usage_err("%s %s is out of range (0..%u)", what, s, max);
		return -1;
	}
	*v = (unsigned int)n;
	return 0;
}

/* Milliseconds, or -1 for forever. */
int parse_timeout(const char *s, int *ms)
{
	uint64_t n;

	if (!strcmp(s, "-1") || !strcmp(s, "inf")) {
		*ms = -1;
		return 0;
	}
	if (parse_u64("timeout", s, false, &n))
		return -1;
	if (n > INT32_MAX) {
		usage_err("timeout %s is too large", s);
		return -1;
	}
	*ms = (int)n;
	return 0;
}

const char *human_size(uint64_t n, char *buf, size_t len)
{
	static const char *const unit[] = { "B", "KiB", "MiB", "GiB", "TiB" };
	unsigned int u = 0;
	uint64_t d = 1;

	while (u < 4 && n >= d << 10) {
		d <<= 10;
		u++;
	}
	if (n % d == 0)
		snprintf(buf, len, "%llu %s", (unsigned long long)(n / d),
			 unit[u]);
	else
		snprintf(buf, len, "%.1f %s", (double)n / (double)d, unit[u]);
	return buf;
}

const char *backend_of(const char *target)
{
	if (!strncmp(target, "unix:", 5))
		return "unix";
	if (!strncmp(target, "shm:", 4))
		return "shm";
	return "guest";
}

struct ivshm_dev *open_target(const char *target)
{
	struct ivshm_dev *dev = ivshm_open(target, cli.open_flags);
	int err = errno;

	if (dev)
		return dev;
	switch (err) {
	case EINVAL:
		err_msg("cannot open %s: %s (targets: /dev/ivshmN, unix:SOCKET, shm:FILE)",
			target, strerror(err));
		break;
	case ENODEV:
		err_msg("cannot open %s: %s (not an ivshm device)", target,
			strerror(err));
		break;
	case EUSERS:
		err_msg("cannot open %s: server is full (--max-peers)", target);
		break;
	case EMFILE: {
		struct rlimit rl = { 0, 0 };

		getrlimit(RLIMIT_NOFILE, &rl);
		err_msg("cannot open %s: %s: a peer of ivshm-server holds one fd per peer and vector, more than the hard limit of %llu open files allows; raise it (ulimit -Hn, LimitNOFILE=)",
			target, strerror(err),
			(unsigned long long)rl.rlim_max);
		break;
	}
	default:
		err_msg("cannot open %s: %s", target, strerror(err));
		break;
	}
	return NULL;
}
