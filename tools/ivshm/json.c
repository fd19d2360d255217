// SPDX-License-Identifier: GPL-2.0-only
/*
 * ivshm: a minimal streaming JSON writer (stdout, compact, one line).
 */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "cli.h"

#define MAX_DEPTH 16

static bool need_comma[MAX_DEPTH];
static int depth;
static bool after_key;

/* Separator before a value (not after a key). */
static void sep(void)
{
	if (after_key) {
		after_key = false;
		return;
	}
	if (depth > 0 && need_comma[depth - 1])
		putchar(',');
	if (depth > 0)
		need_comma[depth - 1] = true;
}

static void open_(char c)
{
	sep();
	putchar(c);
	if (depth < MAX_DEPTH)
		need_comma[depth] = false;
	depth++;
}

static void close_(char c)
{
	depth--;
	putchar(c);
}

void json_obj_begin(void)
{
	open_('{');
}

void json_obj_end(void)
{
	close_('}');
}

void json_arr_begin(void)
{
	open_('[');
}

void json_arr_end(void)
{
	close_(']');
}

/* @n bytes of @s, or up to its NUL if @n is SIZE_MAX. */
static void put_string(const char *s, size_t n)
{
	const unsigned char *p = (const unsigned char *)s;
	const unsigned char *end = p + (n == SIZE_MAX ? strlen(s) : n);

	putchar('"');
	for (; p < end; p++) {
		switch (*p) {
		case '"':
			fputs("\\\"", stdout);
			break;
		case '\\':
			fputs("\\\\", stdout);
			break;
		case '\n':
			fputs("\\n", stdout);
			break;
		case '\r':
			fputs("\\r", stdout);
			break;
		case '\t':
			fputs("\\t", stdout);
			break;
		default:
			/* control characters and non-ASCII bytes (which may
			 * not be valid UTF-8: names come from shared memory)
			 */
			if (*p < 0x20 || *p >= 0x7f)
				printf("\\u%04x", *p);
			else
				putchar(*p);
		}
	}
	putchar('"');
}

void json_key(const char *key)
{
	sep();
	put_string(key, SIZE_MAX);
	putchar(':');
	after_key = true;
}

void json_str(const char *s)
{
	if (!s) {
		json_null();
		return;
	}
	sep();
	put_string(s, SIZE_MAX);
}

void json_strn(const char *s, size_t n)
{
	sep();
	put_string(s, n);
}

void json_hex(const volatile unsigned char *p, size_t n)
{
	static const char digits[] = "0123456789abcdef";
	size_t i;

	sep();
	putchar('"');
	for (i = 0; i < n; i++) {
		unsigned char b = p[i];	/* once: it may be shared memory */

		putchar(digits[b >> 4]);
		putchar(digits[b & 15]);
	}
	putchar('"');
}

void json_u64(uint64_t v)
{
	sep();
	printf("%" PRIu64, v);
}

void json_i64(int64_t v)
{
	sep();
	printf("%" PRId64, v);
}

void json_bool(bool v)
{
	sep();
	fputs(v ? "true" : "false", stdout);
}

void json_null(void)
{
	sep();
	fputs("null", stdout);
}

void json_end(void)
{
	putchar('\n');
	depth = 0;
	after_key = false;
}

/* Before an error object: end a value cut short, so each line stays one
 * value (the cut one is invalid, and the error says why). */
void json_reset(void)
{
	if (depth > 0 || after_key)
		json_end();
}
