// SPDX-License-Identifier: GPL-2.0-only
/*
 * ivshm: messages, number parsing and target opening.
 */
#include <ctype.h>
#include <errno.h>
#include <getopt.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <sys/stat.h>

#include "cli.h"

/* "ENOENT" for ENOENT; NULL for 0 or an unknown number. */
static const char *errno_name(int err)
{
	return err > 0 ? strerrorname_np(err) : NULL;
}

/*
 * Every message goes through here.  Text: "ivshm: MESSAGE" on stderr.
 * With --json: {"error": "MESSAGE", "errno": "ENOENT"} on stdout (errno
 * null when there is none), so that a script reading the JSON output
 * always gets one JSON value per line, results or errors, and can tell
 * them apart by the "error" key; the exit status is the same as without
 * --json.
 */
static void report(int err, const char *fmt, va_list ap)
{
	char msg[1024];

	vsnprintf(msg, sizeof(msg), fmt, ap);
	if (cli.json) {
		json_reset();
		json_obj_begin();
		json_key("error");
		json_str(msg);
		json_key("errno");
		json_str(errno_name(err));
		json_obj_end();
		json_end();
		fflush(stdout);
		return;
	}
	fflush(stdout);
	fprintf(stderr, "ivshm: %s\n", msg);
}

void err_msg(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	report(0, fmt, ap);
	va_end(ap);
}

int err_errno(int err, const char *fmt, ...)
{
	va_list ap;

	if (err < 0)
		err = -err;
	va_start(ap, fmt);
	report(err, fmt, ap);
	va_end(ap);
	return err == ETIMEDOUT ? EX_TIMEOUT : EX_FAIL;
}

int usage_err(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	report(EINVAL, fmt, ap);
	va_end(ap);
	if (!cli.json)
		fputs("Try 'ivshm --help' for more information.\n", stderr);
	return EX_USAGE_ERR;
}

int fail_errno(int err, const char *fmt, ...)
{
	char msg[1024];
	va_list ap;

	if (err < 0)
		err = -err;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	return err_errno(err, "%s: %s", msg, strerror(err));
}

/* A range for messages: "1..1024", "at least 0". */
static const char *range_text(uint64_t min, uint64_t max, char *buf,
			      size_t len)
{
	if (max == UINT64_MAX)
		snprintf(buf, len, "at least %llu", (unsigned long long)min);
	else
		snprintf(buf, len, "%llu..%llu", (unsigned long long)min,
			 (unsigned long long)max);
	return buf;
}

/*
 * The one parser of numbers: decimal or 0x hex, optional K/M/G (binary)
 * suffix if @suffixes, a sign allowed so that "-1" is a number out of
 * range rather than an option or garbage.  One message per bad value.
 */
int parse_range(const char *what, const char *s, bool suffixes, uint64_t min,
		uint64_t max, uint64_t *v)
{
	unsigned long long n;
	unsigned int shift = 0;
	bool neg = false;
	const char *p = s;
	char *end, rng[64];

	if (!s || !*s)
		goto bad;
	if (*p == '-' || *p == '+')
		neg = *p++ == '-';
	if (!isdigit((unsigned char)*p))
		goto bad;
	errno = 0;
	n = strtoull(p, &end, 0);
	if (end == p)
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
	if (errno == ERANGE || (shift && n > (UINT64_MAX >> shift)) ||
	    (neg && n) || ((uint64_t)n << shift) < min ||
	    ((uint64_t)n << shift) > max) {
		usage_err("%s %s is out of range (%s)", what, s,
			  range_text(min, max, rng, sizeof(rng)));
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

int parse_u64(const char *what, const char *s, bool suffixes, uint64_t *v)
{
	return parse_range(what, s, suffixes, 0, UINT64_MAX, v);
}

int parse_uint(const char *what, const char *s, unsigned int min,
	       unsigned int max, unsigned int *v)
{
	uint64_t n;

	if (parse_range(what, s, false, min, max, &n))
		return -1;
	*v = (unsigned int)n;
	return 0;
}

/* Milliseconds, or -1 (also "inf") for forever. */
int parse_timeout(const char *s, int *ms)
{
	uint64_t n;

	if (!strcmp(s, "-1") || !strcmp(s, "inf")) {
		*ms = -1;
		return 0;
	}
	if (parse_range("timeout", s, false, 0, INT32_MAX, &n))
		return -1;
	*ms = (int)n;
	return 0;
}

/*
 * Reorder a command's arguments as GNU getopt would (options first, then
 * the operands), but with a "--" between them, so that an operand such as
 * "-1" reaches the number parser instead of being taken for option -1.
 * An argument is an operand if it is not an option or the value of one,
 * and either does not start with '-' or is a negative number.
 */
static char **cur_argv;

static bool takes_value(const char *arg, const char *shortopts,
			const struct option *longopts)
{
	const struct option *o, *hit = NULL;
	size_t len;
	const char *c;

	if (arg[1] == '-') {
		arg += 2;
		if (strchr(arg, '='))
			return false;
		len = strlen(arg);
		for (o = longopts; o->name; o++) {
			if (!strcmp(o->name, arg))
				return o->has_arg == required_argument;
			if (!hit && !strncmp(o->name, arg, len))
				hit = o;
		}
		return hit && hit->has_arg == required_argument;
	}
	/* a cluster such as -vt: the last letter may take the next arg */
	for (arg++; *arg; arg++) {
		c = strchr(shortopts, *arg);
		if (c && *arg != ':' && c[1] == ':')
			return !arg[1];	/* else the value is attached */
	}
	return false;
}

static bool is_negative_number(const char *a)
{
	return a[0] == '-' && (isdigit((unsigned char)a[1]) ||
			       (a[1] == '.' && isdigit((unsigned char)a[2])));
}

void args_prepare(int *argc, char ***argv, const char *shortopts,
		  const struct option *longopts)
{
	int n = *argc, i, no = 1, np = 0;
	char **in = *argv, **opt, **pos;
	bool dangling = false;

	opt = calloc(n + 2, sizeof(*opt));
	pos = calloc(n + 1, sizeof(*pos));
	if (!opt || !pos) {
		free(opt);
		free(pos);
		cur_argv = in;
		return;		/* getopt copes, with less helpful messages */
	}
	opt[0] = in[0];
	for (i = 1; i < n; i++) {
		const char *a = in[i];

		if (!strcmp(a, "--")) {
			while (++i < n)
				pos[np++] = in[i];
			break;
		}
		if (a[0] != '-' || !a[1] || is_negative_number(a)) {
			pos[np++] = in[i];
			continue;
		}
		opt[no++] = in[i];
		if (takes_value(a, shortopts, longopts)) {
			if (i + 1 == n)
				dangling = true;	/* getopt says so */
			else
				opt[no++] = in[++i];
		}
	}
	if (dangling) {
		/* operands first: the option's missing value stays missing */
		memmove(opt + 1 + np, opt + 1, (no - 1) * sizeof(*opt));
		memcpy(opt + 1, pos, np * sizeof(*pos));
	} else {
		opt[no++] = "--";
		memcpy(opt + no, pos, np * sizeof(*pos));
	}
	free(pos);
	*argc = no + np;
	opt[*argc] = NULL;
	*argv = opt;	/* lives as long as the process */
	cur_argv = opt;
}

void args_remember(char **argv)
{
	cur_argv = argv;
}

/* getopt (with a leading ':' in its string) found a bad option. */
int bad_option(int opt)
{
	char name[8];
	const char *arg = cur_argv && optind > 0 ? cur_argv[optind - 1] : "?";

	if (optopt) {
		snprintf(name, sizeof(name), "-%c", optopt);
		if (strncmp(arg, "--", 2))
			arg = name;
	}
	if (opt == ':')
		err_errno(EINVAL, "option '%s' needs a value", arg);
	else
		err_errno(EINVAL, "unknown option '%s'", arg);
	if (!cli.json)
		fprintf(stderr, "Try '%s --help' for more information.\n",
			cur_argv ? cur_argv[0] : "ivshm");
	return EX_USAGE_ERR;
}

int stop_signal_fd(void)
{
	sigset_t sigs;
	int fd;

	sigemptyset(&sigs);
	sigaddset(&sigs, SIGINT);
	sigaddset(&sigs, SIGTERM);
	sigprocmask(SIG_BLOCK, &sigs, NULL);
	fd = signalfd(-1, &sigs, SFD_CLOEXEC);
	if (fd < 0)
		fail_errno(errno, "signalfd");
	return fd;
}

int env_vectors(unsigned int *n)
{
	const char *env = getenv("IVSHM_VECTORS");
	const char *p;

	*n = 0;
	if (!env || !*env)
		return 0;
	/* the library reads it as plain decimal: say so before it fails */
	for (p = env; *p; p++)
		if (!isdigit((unsigned char)*p) && !(p == env && *p == '-'))
			break;
	if (*p || !strcmp(env, "-")) {
		usage_err("invalid IVSHM_VECTORS '%s' (a decimal vector count, 0..%u; 0 or unset: as many as the server has)",
			  env, CLI_MAX_VECTORS);
		return -1;
	}
	if (strlen(env) > 5 || *env == '-' || atoi(env) > CLI_MAX_VECTORS) {
		usage_err("IVSHM_VECTORS %s is out of range (0..%u)", env,
			  CLI_MAX_VECTORS);
		return -1;
	}
	*n = (unsigned int)atoi(env);
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

/* ivshm_open() said EINVAL: find what is really wrong with @target. */
static void explain_einval(const char *target)
{
	const char *be = backend_of(target);
	struct stat st;

	if (!strcmp(be, "shm")) {
		const char *path = target + 4;

		if (!*path)
			err_errno(EINVAL, "cannot open %s: no file name after shm:",
				  target);
		else if (stat(path, &st) == 0 && !S_ISREG(st.st_mode))
			err_errno(EINVAL, "cannot open %s: %s is not a regular file (shm: needs a file such as /dev/shm/NAME)",
				  target, path);
		else if (stat(path, &st) == 0 && st.st_size == 0)
			err_errno(EINVAL, "cannot open %s: %s is empty (give it a size first, e.g. truncate -s 4M %s)",
				  target, path, path);
		else
			err_errno(EINVAL, "cannot open %s: %s", target,
				  strerror(EINVAL));
		return;
	}
	if (!strcmp(be, "unix") && !target[5]) {
		err_errno(EINVAL, "cannot open %s: no socket path after unix:",
			  target);
		return;
	}
	err_errno(EINVAL, "cannot open %s: %s (targets: /dev/ivshmN, unix:SOCKET, shm:FILE)",
		  target, strerror(EINVAL));
}

struct ivshm_dev *open_target(const char *target)
{
	struct ivshm_dev *dev = ivshm_open(target, cli.open_flags);
	int err = errno;

	if (dev)
		return dev;
	switch (err) {
	case EINVAL:
		explain_einval(target);
		break;
	case ENODEV:
		err_errno(err, "cannot open %s: %s (not an ivshm device)",
			  target, strerror(err));
		break;
	case EUSERS:
		err_msg("cannot open %s: server is full (--max-peers)", target);
		break;
	case EMFILE: {
		struct rlimit rl = { 0, 0 };

		getrlimit(RLIMIT_NOFILE, &rl);
		err_errno(err, "cannot open %s: %s: a peer of ivshm-server holds one fd per peer and vector, more than the hard limit of %llu open files allows; raise it (ulimit -Hn, LimitNOFILE=)",
			  target, strerror(err),
			  (unsigned long long)rl.rlim_max);
		break;
	}
	default:
		err_errno(err, "cannot open %s: %s", target, strerror(err));
		break;
	}
	return NULL;
}
