// SPDX-License-Identifier: GPL-2.0-only
/*
 * ivshm-server: command-line options.  Accepts QEMU's contrib
 * ivshmem-server options (-S -M -m -l -n -F -p -v -h) so its recipes keep
 * working, plus long options of our own.
 */
#include <ctype.h>
#include <errno.h>
#include <getopt.h>
#include <grp.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ivshm-server.h"

enum {
	OPT_SHM_FILE = 0x100,
	OPT_MEMFD,
	OPT_MAX_PEERS,
	OPT_SOCKET_MODE,
	OPT_SOCKET_GROUP,
	OPT_SHM_MODE,
	OPT_ROUND_UP,
	OPT_KEEP_SHM,
	OPT_QUEUE_LIMIT,
	OPT_VERSION,
};

static const struct option long_opts[] = {
	{ "socket",	 required_argument, NULL, 'S' },
	{ "shm-name",	 required_argument, NULL, 'M' },
	{ "shm-dir",	 required_argument, NULL, 'm' },
	{ "shm-file",	 required_argument, NULL, OPT_SHM_FILE },
	{ "memfd",	 no_argument,	    NULL, OPT_MEMFD },
	{ "size",	 required_argument, NULL, 'l' },
	{ "round-up",	 no_argument,	    NULL, OPT_ROUND_UP },
	{ "vectors",	 required_argument, NULL, 'n' },
	{ "max-peers",	 required_argument, NULL, OPT_MAX_PEERS },
	{ "queue-limit", required_argument, NULL, OPT_QUEUE_LIMIT },
	{ "socket-mode", required_argument, NULL, OPT_SOCKET_MODE },
	{ "socket-group", required_argument, NULL, OPT_SOCKET_GROUP },
	{ "shm-mode",	 required_argument, NULL, OPT_SHM_MODE },
	{ "keep-shm",	 no_argument,	    NULL, OPT_KEEP_SHM },
	{ "pidfile",	 required_argument, NULL, 'p' },
	{ "daemon",	 no_argument,	    NULL, 'D' },
	{ "foreground",	 no_argument,	    NULL, 'F' },
	{ "verbose",	 no_argument,	    NULL, 'v' },
	{ "help",	 no_argument,	    NULL, 'h' },
	{ "version",	 no_argument,	    NULL, OPT_VERSION },
	{ NULL, 0, NULL, 0 }
};

static void usage(FILE *f)
{
	fprintf(f,
"Usage: " PROG " [OPTION]...\n"
"Serve shared memory and doorbell eventfds to QEMU ivshmem-doorbell devices\n"
"and host peers, speaking QEMU's ivshmem server protocol.\n"
"\n"
"  -S, --socket=PATH       UNIX socket to listen on (" DEFAULT_SOCKET ")\n"
"      --memfd             anonymous memory from memfd_create(), sealed\n"
"                          against resizing (the default; QEMU's server\n"
"                          uses -M ivshmem instead)\n"
"  -M, --shm-name=NAME     POSIX shared memory object NAME (not sealed)\n"
"                          (--memfd, -M, -m and --shm-file: one at most)\n"
"  -m, --shm-dir=DIR       unlinked temporary file in DIR (e.g. hugetlbfs;\n"
"                          not sealed)\n"
"      --shm-file=FILE     use (or create) FILE, never unlinked (not sealed)\n"
"  -l, --size=SIZE         memory size, suffixes K M G T (default 4M);\n"
"                          must be a power of two\n"
"      --round-up          round SIZE up to a power of two instead of failing\n"
"  -n, --vectors=N         interrupt vectors per peer, 1..%d (default %d);\n"
"                          QEMU guests can ring vectors 0..%d only\n"
"      --max-peers=N       refuse clients beyond N, 1..%d (default %d)\n"
"      --queue-limit=N     drop a client with more than N unsent messages\n"
"                          (default: twice a full handshake plus 256)\n"
"      --socket-mode=MODE  chmod the socket to octal MODE\n"
"      --socket-group=GRP  chgrp the socket to GRP (name or number)\n"
"      --shm-mode=MODE     octal mode of created memory (default 0600)\n"
"      --keep-shm          do not remove the POSIX object on exit\n"
"  -p, --pidfile=FILE      write the server's pid to FILE (once detached)\n"
"  -F, --foreground        stay in the foreground, log to stderr; without\n"
"                          it, detach once listening and log to syslog\n"
"  -D, --daemon            detach (the default, as for QEMU's server)\n"
"  -v, --verbose           log connects and disconnects\n"
"  -h, --help              show this help\n"
"      --version           show the version\n",
		MAX_VECTORS, DEFAULT_VECTORS, QEMU_MAX_VECTORS - 1,
		MAX_PEERS, DEFAULT_MAX_PEERS);
}

/*
 * Parse a size: decimal digits, then an optional unit K, M, G, T, P or E
 * (any case, powers of 1024), optionally followed by "B" or "iB"; a bare
 * "B" means bytes.
 */
int parse_size(const char *s, uint64_t *out)
{
	unsigned long long v;
	unsigned int shift = 0;
	char *end;

	if (!isdigit((unsigned char)*s))
		return -EINVAL;
	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno)
		return -ERANGE;
	switch (toupper((unsigned char)*end)) {
	case 'K': shift = 10; break;
	case 'M': shift = 20; break;
	case 'G': shift = 30; break;
	case 'T': shift = 40; break;
	case 'P': shift = 50; break;
	case 'E': shift = 60; break;
	case 'B': case '\0': break;
	default:
		return -EINVAL;
	}
	if (shift) {
		end++;
		if (!strcasecmp(end, "iB"))
			end += 2;
		else if (!strcasecmp(end, "B"))
			end++;
	} else if (*end) {
		end++;		/* the bare "B" */
	}
	if (*end)
		return -EINVAL;
	if (shift && v > (UINT64_MAX >> shift))
		return -ERANGE;
	*out = (uint64_t)v << shift;
	return 0;
}

static int parse_uint(const char *s, unsigned long min, unsigned long max,
		      int base, unsigned long *out)
{
	unsigned long v;
	char *end;

	if (!*s || *s == '-' || *s == '+' || isspace((unsigned char)*s))
		return -EINVAL;
	errno = 0;
	v = strtoul(s, &end, base);
	if (errno || *end)
		return -EINVAL;
	if (v < min || v > max)
		return -ERANGE;
	*out = v;
	return 0;
}

/* A size in its largest exact unit: 4194304 -> "4M". */
void fmt_size(uint64_t size, char *buf, size_t len)
{
	static const char units[] = "KMGTPE";
	int u = -1;

	while (u < 5 && size >= 1024 && !(size & 1023)) {
		size >>= 10;
		u++;
	}
	if (u < 0)
		snprintf(buf, len, "%llu", (unsigned long long)size);
	else
		snprintf(buf, len, "%llu%c", (unsigned long long)size,
			 units[u]);
}

static bool is_pow2(uint64_t v)
{
	return v && !(v & (v - 1));
}

static int parse_group(const char *s, gid_t *gid)
{
	unsigned long v;
	struct group *gr;

	if (!parse_uint(s, 0, UINT_MAX - 1, 10, &v)) {
		*gid = v;
		return 0;
	}
	errno = 0;
	gr = getgrnam(s);
	if (!gr)
		return -1;
	*gid = gr->gr_gid;
	return 0;
}

/*
 * The memory options choose one thing: a second, different one is an
 * error (not last-wins), so that "--memfd --shm-file F" never silently
 * serves F or the memfd.  Names as the help spells them.
 */
static const char *const kind_opt[] = {
	[SHM_MEMFD] = "--memfd",
	[SHM_POSIX] = "-M",
	[SHM_DIR] = "-m",
	[SHM_FILE] = "--shm-file",
};

static int set_memory(struct config *cfg, bool *given, enum shm_kind kind,
		      const char *name)
{
	if (*given && cfg->shm_kind != kind) {
		log_err("%s and %s both choose the shared memory: give one of --memfd, -M, -m, --shm-file",
			kind_opt[cfg->shm_kind], kind_opt[kind]);
		return -1;
	}
	*given = true;
	cfg->shm_kind = kind;
	cfg->shm_name = name;
	return 0;
}

int parse_options(struct config *cfg, int argc, char **argv)
{
	bool mem_given = false;
	const char *size_arg = NULL;
	unsigned long v;
	int c;

	memset(cfg, 0, sizeof(*cfg));
	cfg->socket_path = DEFAULT_SOCKET;
	cfg->shm_kind = SHM_MEMFD;
	cfg->shm_name = NULL;
	cfg->size = DEFAULT_SIZE;
	cfg->vectors = DEFAULT_VECTORS;
	cfg->max_peers = DEFAULT_MAX_PEERS;
	cfg->shm_mode = 0600;
	cfg->daemonize = true;		/* like QEMU's server: -F to stay */

	opterr = 0;		/* our own messages, with our prefix */
	while ((c = getopt_long(argc, argv, ":S:M:m:l:n:p:DFvh", long_opts,
				NULL)) != -1) {
		switch (c) {
		case 'S':
			if (!*optarg) {
				log_err("empty socket path");
				return -1;
			}
			cfg->socket_path = optarg;
			break;
		case 'M':
			if (set_memory(cfg, &mem_given, SHM_POSIX, optarg))
				return -1;
			break;
		case 'm':
			if (set_memory(cfg, &mem_given, SHM_DIR, optarg))
				return -1;
			break;
		case OPT_SHM_FILE:
			if (set_memory(cfg, &mem_given, SHM_FILE, optarg))
				return -1;
			break;
		case OPT_MEMFD:
			if (set_memory(cfg, &mem_given, SHM_MEMFD, NULL))
				return -1;
			break;
		case 'l':
			size_arg = optarg;
			if (parse_size(optarg, &cfg->size)) {
				log_err("invalid size '%s': expected a number with an optional unit K, M, G, T (e.g. 4M)",
					optarg);
				return -1;
			}
			cfg->size_given = true;
			break;
		case OPT_ROUND_UP:
			cfg->round_up = true;
			break;
		case 'n':
			if (parse_uint(optarg, 1, MAX_VECTORS, 10, &v)) {
				log_err("invalid vector count '%s': expected 1..%d",
					optarg, MAX_VECTORS);
				return -1;
			}
			cfg->vectors = v;
			break;
		case OPT_MAX_PEERS:
			if (parse_uint(optarg, 1, MAX_PEERS, 10, &v)) {
				log_err("invalid --max-peers '%s': expected 1..%d",
					optarg, MAX_PEERS);
				return -1;
			}
			cfg->max_peers = v;
			break;
		case OPT_QUEUE_LIMIT:
			if (parse_uint(optarg, 1, 1U << 30, 10, &v)) {
				log_err("invalid --queue-limit '%s'", optarg);
				return -1;
			}
			cfg->queue_limit = v;
			break;
		case OPT_SOCKET_MODE:
			if (parse_uint(optarg, 0, 07777, 8, &v)) {
				log_err("invalid --socket-mode '%s': expected an octal mode",
					optarg);
				return -1;
			}
			cfg->socket_mode = v;
			cfg->socket_mode_given = true;
			break;
		case OPT_SOCKET_GROUP:
			if (parse_group(optarg, &cfg->socket_gid)) {
				log_err("unknown group '%s'", optarg);
				return -1;
			}
			cfg->socket_group_given = true;
			break;
		case OPT_SHM_MODE:
			if (parse_uint(optarg, 0, 07777, 8, &v)) {
				log_err("invalid --shm-mode '%s': expected an octal mode",
					optarg);
				return -1;
			}
			cfg->shm_mode = v;
			break;
		case OPT_KEEP_SHM:
			cfg->keep_shm = true;
			break;
		case 'p':
			cfg->pidfile = optarg;
			break;
		case 'D':
			cfg->daemonize = true;
			break;
		case 'F':
			cfg->daemonize = false;
			break;
		case 'v':
			cfg->verbose++;
			break;
		case 'h':
			usage(stdout);
			exit(0);
		case OPT_VERSION:
			printf(PROG " " IVSHM_SERVER_VERSION "\n");
			exit(0);
		case ':':
			log_err("option '%s' needs an argument",
				argv[optind - 1]);
			fprintf(stderr, "Try '" PROG " --help' for more information.\n");
			return -1;
		default:
			if (optopt)
				log_err("unknown option '-%c'", optopt);
			else
				log_err("unknown option '%s'", argv[optind - 1]);
			fprintf(stderr, "Try '" PROG " --help' for more information.\n");
			return -1;
		}
	}
	if (optind < argc) {
		log_err("unexpected argument '%s'", argv[optind]);
		return -1;
	}
	if (cfg->shm_kind != SHM_MEMFD && !*cfg->shm_name) {
		log_err("empty shared memory name");
		return -1;
	}
	if (cfg->size == 0 || cfg->size > MAX_SIZE) {
		log_err("size %s out of range: expected 4K .. 4E", size_arg);
		return -1;
	}
	if (cfg->size_given && !is_pow2(cfg->size)) {
		uint64_t p = 1;
		char sz[32];

		while (p < cfg->size && p < MAX_SIZE)
			p <<= 1;
		fmt_size(p, sz, sizeof(sz));
		if (!cfg->round_up) {
			log_err("size %s (%llu bytes) is not a power of two, which QEMU requires; use -l %s or --round-up",
				size_arg, (unsigned long long)cfg->size, sz);
			return -1;
		}
		log_info("rounding size %s up to %llu bytes (a power of two)",
			 size_arg, (unsigned long long)p);
		cfg->size = p;
	}
	if (cfg->size < 4096 || cfg->size > MAX_SIZE) {
		log_err("size %s out of range: expected 4K .. 4E",
			size_arg ? size_arg : "?");
		return -1;
	}
	if (cfg->vectors > QEMU_CLIENT_MAX_VECTORS)
		log_warn("warning: QEMU's ivshmem-client accepts at most %d vectors: with -n %u it cannot join (QEMU guests and libivshm can)",
			 QEMU_CLIENT_MAX_VECTORS, cfg->vectors);
	if (cfg->vectors > QEMU_MAX_VECTORS)
		log_warn("note: QEMU guests can ring vectors 0..%d only",
			 QEMU_MAX_VECTORS - 1);
	return 0;
}
