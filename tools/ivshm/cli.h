/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * ivshm command-line tool: shared declarations.
 */
#ifndef IVSHM_CLI_H
#define IVSHM_CLI_H

#include <getopt.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "ivshm.h"

/* Exit codes (documented in ivshm(1)). */
#define EX_OK		0	/* success */
#define EX_FAIL		1	/* operational error, message on stderr */
#define EX_USAGE_ERR	2	/* bad command line */
#define EX_TIMEOUT	3	/* timed out */

/* Global options. */
struct cli_opts {
	bool json;
	unsigned int open_flags;	/* IVSHM_OPEN_VECTORS(n) or 0 */
};
extern struct cli_opts cli;

struct command {
	const char *name;
	int (*run)(int argc, char **argv);
	const char *args;	/* usage after the command name */
	const char *help;	/* one line */
};

const struct command *find_command(const char *name);

/*
 * Messages: "ivshm: ..." on stderr, or with --json one object
 * {"error": "...", "errno": "ENOENT"} on stdout (see report() in util.c).
 */
void __attribute__((format(printf, 1, 2))) err_msg(const char *fmt, ...);
/* the message as is, with @err (positive or negative) as its errno;
 * returns the exit code for @err */
int __attribute__((format(printf, 2, 3)))
	err_errno(int err, const char *fmt, ...);
int __attribute__((format(printf, 1, 2))) usage_err(const char *fmt, ...);
/* print "ivshm: <what>: strerror(err)"; return the exit code for err */
int __attribute__((format(printf, 2, 3)))
	fail_errno(int err, const char *fmt, ...);
void command_usage(FILE *f, const struct command *c);

/* Common per-command options (-j/--json, -h/--help).  The leading ':'
 * makes getopt quiet: bad_option() says what is wrong (JSON or text). */
#define COMMON_LONGOPTS \
	{ "json", no_argument, NULL, 'j' }, \
	{ "help", no_argument, NULL, 'h' }
#define COMMON_SHORTOPTS ":jh"
/* Handle a common option or report a bad one: -1 go on, else exit code. */
int common_opt(int opt, const char *cmd);
/* Report the option getopt returned '?' or ':' for: EX_USAGE_ERR. */
int bad_option(int opt);
/* Call first in a command: negative numbers become operands, not options
 * (see util.c); may replace *@argv. */
void args_prepare(int *argc, char ***argv, const char *shortopts,
		  const struct option *longopts);
/* The argv bad_option() reads (args_prepare() sets it too). */
void args_remember(char **argv);

/* Ranges the messages quote, the same everywhere. */
#define CLI_MAX_VECTORS	1024	/* vectors per peer (ivshm-server's limit) */
#define CLI_MAX_PEER	65535	/* peer ids 0..65535 */

/* Numbers: 0 on success, -1 (after printing a usage error) otherwise.
 * A value outside min..max, negative ones included, gets one message:
 * "WHAT VALUE is out of range (MIN..MAX)". */
int parse_range(const char *what, const char *s, bool suffixes, uint64_t min,
		uint64_t max, uint64_t *v);
int parse_u64(const char *what, const char *s, bool suffixes, uint64_t *v);
int parse_uint(const char *what, const char *s, unsigned int min,
	       unsigned int max, unsigned int *v);
int parse_timeout(const char *s, int *ms);
/* Block SIGINT and SIGTERM and return a signalfd for them (-1 on
 * failure, after a message), so that a loop ends cleanly, between two
 * lines of output. */
int stop_signal_fd(void);
/* The vector count of IVSHM_VECTORS (0 if unset), checked like
 * --vectors: 0 or, after a message, -1. */
int env_vectors(unsigned int *n);
/* "4 MiB", "1.5 KiB", "100 B" */
const char *human_size(uint64_t n, char *buf, size_t len);

/* Targets. */
struct ivshm_dev *open_target(const char *target);
const char *backend_of(const char *target);	/* "guest", "unix", "shm" */
/* The target's ring region; @format: format it if it is not; NULL after
 * printing why. */
struct ivshm_region *open_region(struct ivshm_dev *dev, const char *target,
				 bool format);

/* Minimal JSON writer to stdout. */
void json_obj_begin(void);
void json_obj_end(void);
void json_arr_begin(void);
void json_arr_end(void);
void json_key(const char *key);
void json_str(const char *s);		/* NULL: null */
void json_strn(const char *s, size_t n);	/* @n bytes, NULs escaped */
void json_hex(const volatile unsigned char *p, size_t n); /* "00ff.." */
void json_u64(uint64_t v);
void json_i64(int64_t v);
void json_bool(bool v);
void json_null(void);
void json_end(void);			/* newline after the top value */
void json_reset(void);			/* end a value cut short */

/* Commands. */
int cmd_list(int argc, char **argv);
int cmd_info(int argc, char **argv);
int cmd_ring(int argc, char **argv);
int cmd_wait(int argc, char **argv);
int cmd_peers(int argc, char **argv);
int cmd_dump(int argc, char **argv);
int cmd_channels(int argc, char **argv);
int cmd_send(int argc, char **argv);
int cmd_recv(int argc, char **argv);
int cmd_monitor(int argc, char **argv);
int cmd_top(int argc, char **argv);

#endif /* IVSHM_CLI_H */
