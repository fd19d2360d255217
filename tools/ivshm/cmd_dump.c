// SPDX-License-Identifier: GPL-2.0-only
/*
 * ivshm dump: hex dump of shared memory in the format of hexdump -C.
 */
#include <errno.h>
#include <getopt.h>
#include <string.h>

#include "cli.h"

#define DEFAULT_LEN	256

/* One line: offset, 16 hex bytes in two groups, the printable bytes. */
static void dump_line(uint64_t off, const unsigned char *b, size_t n)
{
	size_t i;

	printf("%08llx ", (unsigned long long)off);
	for (i = 0; i < 16; i++) {
		if (i == 8)
			putchar(' ');
		if (i < n)
			printf(" %02x", b[i]);
		else
			fputs("   ", stdout);
	}
	fputs("  |", stdout);
	for (i = 0; i < n; i++)
		putchar(b[i] >= 0x20 && b[i] < 0x7f ? b[i] : '.');
	puts("|");
}

static void dump(const volatile unsigned char *base, uint64_t off,
		 uint64_t len, bool squeeze)
{
	unsigned char cur[16], prev[16];
	bool have_prev = false, starred = false;
	uint64_t pos = 0;
	size_t i, n;

	if (!len)
		return;	/* like hexdump -n 0 */
	while (pos < len) {
		n = len - pos < 16 ? (size_t)(len - pos) : 16;
		/* one read of each byte: the peer may be writing */
		for (i = 0; i < n; i++)
			cur[i] = base[off + pos + i];
		if (squeeze && have_prev && n == 16 && !memcmp(cur, prev, 16)) {
			if (!starred)
				puts("*");
			starred = true;
		} else {
			dump_line(off + pos, cur, n);
			starred = false;
		}
		memcpy(prev, cur, n);
		have_prev = n == 16;
		pos += n;
	}
	printf("%08llx\n", (unsigned long long)(off + len));
}

/* {"offset": N, "length": N, "hex": "0011..."} */
static void dump_json(const volatile unsigned char *base, uint64_t off,
		      uint64_t len)
{
	json_obj_begin();
	json_key("offset");
	json_u64(off);
	json_key("length");
	json_u64(len);
	json_key("hex");
	json_hex(base + off, len);
	json_obj_end();
	json_end();
}

int cmd_dump(int argc, char **argv)
{
	static const struct option opts[] = {
		COMMON_LONGOPTS,
		{ "no-squeeze", no_argument, NULL, 'v' },
		{ NULL, 0, NULL, 0 }
	};
	uint64_t off = 0, len = DEFAULT_LEN, size;
	bool squeeze = true, len_given = false;
	struct ivshm_dev *dev;
	const char *target;
	int opt, r;

	args_prepare(&argc, &argv, COMMON_SHORTOPTS "v", opts);
	while ((opt = getopt_long(argc, argv, COMMON_SHORTOPTS "v", opts,
				  NULL)) != -1) {
		if (opt == 'v') {
			squeeze = false;
			continue;
		}
		if ((r = common_opt(opt, argv[0])) >= 0)
			return r;
	}
	if (argc - optind < 1 || argc - optind > 3)
		return usage_err("usage: ivshm dump TARGET [OFFSET [LENGTH]]");
	target = argv[optind];
	if (argc - optind >= 2 &&
	    parse_u64("offset", argv[optind + 1], true, &off))
		return EX_USAGE_ERR;
	if (argc - optind == 3) {
		if (parse_u64("length", argv[optind + 2], true, &len))
			return EX_USAGE_ERR;
		len_given = true;
	}
	dev = open_target(target);
	if (!dev)
		return EX_FAIL;
	size = ivshm_size(dev);
	if (off >= size) {
		err_errno(ERANGE, "%s: offset 0x%llx is beyond the end of the shared memory (size 0x%llx)",
			target, (unsigned long long)off,
			(unsigned long long)size);
		ivshm_close(dev);
		return EX_FAIL;
	}
	if (len > size - off) {
		if (len_given) {
			err_errno(ERANGE, "%s: 0x%llx bytes at offset 0x%llx go beyond the end of the shared memory (size 0x%llx)",
				target, (unsigned long long)len,
				(unsigned long long)off,
				(unsigned long long)size);
			ivshm_close(dev);
			return EX_FAIL;
		}
		len = size - off;
	}
	if (cli.json)
		dump_json(ivshm_base(dev), off, len);
	else
		dump(ivshm_base(dev), off, len, squeeze);
	ivshm_close(dev);
	if (fflush(stdout) || ferror(stdout))
		return fail_errno(errno, "write");
	return EX_OK;
}
