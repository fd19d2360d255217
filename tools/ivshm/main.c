// SPDX-License-Identifier: GPL-2.0-only
/*
 * ivshm: command-line access to ivshmem shared memory, doorbells and
 * message rings, on the host (unix:, shm:) and in guests (/dev/ivshmN).
 *
 * main.c: global options and command dispatch.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

struct cli_opts cli;

static const struct command commands[] = {
	{ "list", cmd_list, "",
	  "list the ivshm devices of this system (guest)" },
	{ "info", cmd_info, "TARGET",
	  "size, peer id, vectors, backend and ring region of a target" },
	{ "ring", cmd_ring, "TARGET PEER VECTOR",
	  "ring a doorbell: VECTOR of PEER" },
	{ "wait", cmd_wait, "TARGET [VECTOR] [--timeout MS]",
	  "wait for VECTOR (or any) to fire; print which and how often" },
	{ "peers", cmd_peers, "TARGET",
	  "the other peers connected to the server (unix: only)" },
	{ "dump", cmd_dump, "TARGET [OFFSET [LENGTH]] [-v]",
	  "hex dump of shared memory (default 256 bytes from 0)" },
	{ "channels", cmd_channels, "TARGET",
	  "the ring region's channels and their state" },
	{ "send", cmd_send,
	  "TARGET CHANNEL [--create] [--format] [--ring-size N] [--bytes N]\n"
	  "      [--peer ID [--tx-vector V] [--rx-vector V]] [--timeout MS] [--takeover]",
	  "send stdin to a channel, one message per line (or per chunk)" },
	{ "recv", cmd_recv,
	  "TARGET CHANNEL [--create] [--format] [--ring-size N] [--raw]\n"
	  "      [--count N] [--peer ID [--tx-vector V] [--rx-vector V]] [--timeout MS]\n"
	  "      [--takeover]",
	  "write a channel's messages to stdout until the producer leaves" },
	{ "monitor", cmd_monitor, "TARGET [--count N] [--interval MS]",
	  "follow doorbells, peers and channels live, one line per event" },
	{ "top", cmd_top, "TARGET [--interval MS] [--once | -n N]",
	  "per-channel rates, fill, sleeps and doorbells, refreshed" },
	{ NULL, NULL, NULL, NULL }
};

const struct command *find_command(const char *name)
{
	const struct command *c;

	for (c = commands; c->name; c++)
		if (!strcmp(c->name, name))
			return c;
	return NULL;
}

static void usage(FILE *f)
{
	const struct command *c;

	fprintf(f,
		"Usage: ivshm [--json] [--vectors N] COMMAND [ARGS]...\n"
		"Shared memory, doorbells and message rings of QEMU's ivshmem device.\n"
		"\n"
		"Targets: /dev/ivshmN (guest), unix:SOCKET (host, ivshm-server peer),\n"
		"         shm:FILE (host, plain file such as /dev/shm/NAME).\n"
		"\n"
		"Commands:\n");
	for (c = commands; c->name; c++)
		fprintf(f, "  %-9s %s\n", c->name, c->help);
	fprintf(f,
		"\n"
		"Options:\n"
		"  -j, --json        JSON output; errors too: {\"error\": ..., \"errno\": ...}\n"
		"                    on stdout\n"
		"      --vectors N   unix: targets: this peer uses N vectors, 0..1024\n"
		"                    (0: as many as the server has; default\n"
		"                    $IVSHM_VECTORS or 0)\n"
		"  -h, --help        this help; 'ivshm COMMAND --help' for a command\n"
		"      --version     the version\n"
		"\n"
		"Numbers accept 0x (hex) and, for offsets and sizes, K, M, G suffixes.\n"
		"Exit status: 0 ok, 1 error, 2 usage error, 3 timeout.\n");
}

void command_usage(FILE *f, const struct command *c)
{
	fprintf(f, "Usage: ivshm %s%s%s\n%s\n", c->name, *c->args ? " " : "",
		c->args, c->help);
}

int common_opt(int opt, const char *cmd)
{
	if (!strncmp(cmd, "ivshm ", 6))
		cmd += 6;
	switch (opt) {
	case 'j':
		cli.json = true;
		return -1;
	case 'h':
		command_usage(stdout, find_command(cmd));
		return EX_OK;
	default:
		return bad_option(opt);
	}
}

enum { OPT_VERSION = 0x100, OPT_VECTORS };

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "json", no_argument, NULL, 'j' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, OPT_VERSION },
		{ "vectors", required_argument, NULL, OPT_VECTORS },
		{ NULL, 0, NULL, 0 }
	};
	const struct command *c;
	char argv0[32];
	bool vectors_given = false;
	unsigned int n;
	int opt, i;

	/* errors before the command's own --json are JSON too */
	for (i = 1; i < argc && strcmp(argv[i], "--"); i++)
		if (!strcmp(argv[i], "--json") || !strcmp(argv[i], "-j"))
			cli.json = true;
	args_remember(argv);
	while ((opt = getopt_long(argc, argv, "+:jh", opts, NULL)) != -1) {
		switch (opt) {
		case 'j':
			cli.json = true;
			break;
		case 'h':
			usage(stdout);
			return EX_OK;
		case OPT_VERSION:
			printf("ivshm %s (libivshm %s)\n", IVSHM_VERSION_STRING,
			       ivshm_version());
			return EX_OK;
		case OPT_VECTORS:
			if (parse_uint("vector count", optarg, 0,
				       CLI_MAX_VECTORS, &n))
				return EX_USAGE_ERR;
			cli.open_flags = IVSHM_OPEN_VECTORS(n);
			vectors_given = true;
			break;
		default:
			return bad_option(opt);
		}
	}
	/* a bad IVSHM_VECTORS is its own error, not the target's */
	if (!vectors_given && env_vectors(&n))
		return EX_USAGE_ERR;
	if (optind >= argc)
		return usage_err("no command given");
	if (!strcmp(argv[optind], "help")) {
		if (optind + 1 < argc) {
			c = find_command(argv[optind + 1]);
			if (!c)
				return usage_err("unknown command '%s'",
						 argv[optind + 1]);
			command_usage(stdout, c);
			return EX_OK;
		}
		usage(stdout);
		return EX_OK;
	}
	c = find_command(argv[optind]);
	if (!c)
		return usage_err("unknown command '%s'", argv[optind]);
	argc -= optind;
	argv += optind;
	/* getopt's messages then read "ivshm CMD: invalid option ..." */
	snprintf(argv0, sizeof(argv0), "ivshm %s", c->name);
	argv[0] = argv0;
	optind = 0;	/* re-initialise getopt: the command parses argv[1..] */
	return c->run(argc, argv);
}
