// SPDX-License-Identifier: GPL-2.0-only
/*
 * The ivshm command-line tool, run as a program (build/tools/ivshm, found
 * relative to this test as ../../tools/ivshm, or $IVSHM_CLI): usage and
 * exit codes, info and dump of shm: files with known contents, dump bounds,
 * send | recv through shm: channels, and ring / wait / peers / send / recv
 * between peers of a real ivshm-server (unix:).  --json output is checked
 * with a small validator.
 */
#include <ctype.h>
#include <pthread.h>
#include <sys/eventfd.h>

#include "kselftest_harness.h"
#include "server_helpers.h"

#include <ivshm.h>

#define RUN_MS	20000

/* ---- running the tool ------------------------------------------------ */

static const char *cli_bin(void)
{
	static char path[PATH_MAX + 32];
	const char *env = getenv("IVSHM_CLI");
	char exe[PATH_MAX];
	char *slash;
	ssize_t n;

	if (env && *env)
		return env;
	n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	if (n < 0)
		return "ivshm";
	exe[n] = '\0';
	slash = strrchr(exe, '/');
	if (slash)
		*slash = '\0';
	snprintf(path, sizeof(path), "%s/../../tools/ivshm", exe);
	return path;
}

struct res {
	int status;		/* exit code, 128 + signal, or -1 (hung) */
	char *out, *err;	/* NUL-terminated */
	size_t out_len, err_len;
};

static void res_free(struct res *r)
{
	free(r->out);
	free(r->err);
	memset(r, 0, sizeof(*r));
}

static void append(char **buf, size_t *len, const char *p, size_t n)
{
	*buf = realloc(*buf, *len + n + 1);
	memcpy(*buf + *len, p, n);
	*len += n;
	(*buf)[*len] = '\0';
}

/* Run the tool with @argv (NULL-ended, without argv[0]), feeding @in. */
static int run_argv(struct res *r, const void *in, size_t in_len,
		    const char *const *args)
{
	int ip[2], op[2], ep[2], st, i, n = 0;
	const char *argv[64];
	uint64_t end = ms_now() + RUN_MS;
	size_t off = 0;
	bool out_open = true, err_open = true;
	char buf[65536];
	pid_t pid;

	memset(r, 0, sizeof(*r));
	append(&r->out, &r->out_len, "", 0);
	append(&r->err, &r->err_len, "", 0);
	argv[n++] = cli_bin();
	for (i = 0; args[i] && n < 63; i++)
		argv[n++] = args[i];
	argv[n] = NULL;
	if (pipe2(ip, O_CLOEXEC) || pipe2(op, O_CLOEXEC) ||
	    pipe2(ep, O_CLOEXEC))
		return r->status = -1;
	pid = fork();
	if (pid == 0) {
		dup2(ip[0], 0);
		dup2(op[1], 1);
		dup2(ep[1], 2);
		close_range(3, ~0U, 0);
		execv(argv[0], (char **)argv);
		fprintf(stderr, "exec %s: %m\n", argv[0]);
		_exit(127);
	}
	close(ip[0]);
	close(op[1]);
	close(ep[1]);
	fcntl(ip[1], F_SETFL, O_NONBLOCK);
	if (!in || !in_len) {
		close(ip[1]);
		ip[1] = -1;
	}
	while ((out_open || err_open) && ms_now() < end) {
		struct pollfd p[3] = {
			{ .fd = out_open ? op[0] : -1, .events = POLLIN },
			{ .fd = err_open ? ep[0] : -1, .events = POLLIN },
			{ .fd = ip[1], .events = POLLOUT },
		};
		ssize_t k;

		if (poll(p, 3, 100) <= 0)
			continue;
		if (p[0].revents) {
			k = read(op[0], buf, sizeof(buf));
			if (k <= 0)
				out_open = false;
			else
				append(&r->out, &r->out_len, buf, k);
		}
		if (p[1].revents) {
			k = read(ep[0], buf, sizeof(buf));
			if (k <= 0)
				err_open = false;
			else
				append(&r->err, &r->err_len, buf, k);
		}
		if (ip[1] >= 0 && p[2].revents) {
			k = write(ip[1], (const char *)in + off, in_len - off);
			if (k > 0)
				off += k;
			if (k < 0 && errno != EAGAIN)
				off = in_len;	/* the tool closed stdin */
			if (off == in_len) {
				close(ip[1]);
				ip[1] = -1;
			}
		}
	}
	if (ip[1] >= 0)
		close(ip[1]);
	close(op[0]);
	close(ep[0]);
	st = wait_exit(pid, out_open || err_open ? 0 : 5000);
	if (st == -1) {
		kill(pid, SIGKILL);
		waitpid(pid, NULL, 0);
		return r->status = -1;
	}
	r->status = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
	return r->status;
}

#define RUN(r, ...)	run_argv(r, NULL, 0, (const char *[]){ __VA_ARGS__, NULL })
#define RUN_IN(r, in, len, ...) \
	run_argv(r, in, len, (const char *[]){ __VA_ARGS__, NULL })

/* A run in a thread, for commands that must overlap. */
struct bg {
	pthread_t t;
	struct res r;
	const void *in;
	size_t in_len;
	const char *args[24];
};

static void *bg_main(void *arg)
{
	struct bg *b = arg;

	run_argv(&b->r, b->in, b->in_len, b->args);
	return NULL;
}

static void bg_start(struct bg *b)
{
	pthread_create(&b->t, NULL, bg_main, b);
}

static void bg_join(struct bg *b)
{
	pthread_join(b->t, NULL);
}

/* Start the tool with stdout on a pipe (*@out) and stderr discarded, for
 * tests that signal it: its pid. */
static pid_t spawn_cli(int *out, const char *const *args)
{
	const char *argv[24];
	int p[2], i, n = 0;
	pid_t pid;

	argv[n++] = cli_bin();
	for (i = 0; args[i] && n < 23; i++)
		argv[n++] = args[i];
	argv[n] = NULL;
	if (pipe2(p, O_CLOEXEC))
		return -1;
	pid = fork();
	if (pid == 0) {
		int null = open("/dev/null", O_RDWR);

		dup2(null, 0);
		dup2(p[1], 1);
		dup2(null, 2);
		close_range(3, ~0U, 0);
		execv(argv[0], (char **)argv);
		_exit(127);
	}
	close(p[1]);
	*out = p[0];
	return pid;
}

/* ---- a tiny JSON validator ---------------------------------------------- */

static const char *js_value(const char *p, int depth);

static const char *js_ws(const char *p)
{
	while (*p == ' ' || *p == '\n' || *p == '\t' || *p == '\r')
		p++;
	return p;
}

static const char *js_string(const char *p)
{
	int i;

	if (*p++ != '"')
		return NULL;
	while (*p != '"') {
		if (!*p || (unsigned char)*p < 0x20)
			return NULL;
		if (*p == '\\') {
			p++;
			if (*p == 'u') {
				for (i = 1; i <= 4; i++)
					if (!isxdigit((unsigned char)p[i]))
						return NULL;
				p += 4;
			} else if (!*p || !strchr("\"\\/bfnrt", *p)) {
				return NULL;
			}
		}
		p++;
	}
	return p + 1;
}

static const char *js_number(const char *p)
{
	if (*p == '-')
		p++;
	if (*p == '0')
		p++;
	else if (*p >= '1' && *p <= '9')
		while (isdigit((unsigned char)*p))
			p++;
	else
		return NULL;
	if (*p == '.') {
		if (!isdigit((unsigned char)*++p))
			return NULL;
		while (isdigit((unsigned char)*p))
			p++;
	}
	if (*p == 'e' || *p == 'E') {
		p++;
		if (*p == '+' || *p == '-')
			p++;
		if (!isdigit((unsigned char)*p))
			return NULL;
		while (isdigit((unsigned char)*p))
			p++;
	}
	return p;
}

static const char *js_value(const char *p, int depth)
{
	char close;

	if (depth > 32)
		return NULL;
	p = js_ws(p);
	if (*p == '"')
		return js_string(p);
	if (!strncmp(p, "true", 4) || !strncmp(p, "null", 4))
		return p + 4;
	if (!strncmp(p, "false", 5))
		return p + 5;
	if (*p != '{' && *p != '[')
		return js_number(p);
	close = *p == '{' ? '}' : ']';
	p = js_ws(p + 1);
	if (*p == close)
		return p + 1;
	for (;;) {
		if (close == '}') {
			p = js_string(js_ws(p));
			if (!p)
				return NULL;
			p = js_ws(p);
			if (*p++ != ':')
				return NULL;
		}
		p = js_value(p, depth + 1);
		if (!p)
			return NULL;
		p = js_ws(p);
		if (*p == close)
			return p + 1;
		if (*p++ != ',')
			return NULL;
	}
}

static bool json_valid(const char *s)
{
	const char *p = js_value(s, 0);

	return p && !*js_ws(p);
}

/* Every line of @s is one valid JSON value; the number of lines. */
static int json_lines(const char *s)
{
	char line[4096];
	int n = 0;

	while (*s) {
		const char *nl = strchr(s, '\n');
		size_t len = nl ? (size_t)(nl - s) : strlen(s);

		if (len >= sizeof(line))
			return -1;
		memcpy(line, s, len);
		line[len] = '\0';
		if (!json_valid(line))
			return -1;
		n++;
		s += len + (nl ? 1 : 0);
	}
	return n;
}

TEST(json_validator)
{
	EXPECT_TRUE(json_valid("{\"a\":[1,-2.5e3,true,null,\"x\\u0001\\n\"]}\n"));
	EXPECT_TRUE(json_valid("[]"));
	EXPECT_FALSE(json_valid("{\"a\":1,}"));
	EXPECT_FALSE(json_valid("{\"a\" 1}"));
	EXPECT_FALSE(json_valid("[\"tab\there\"]"));
	EXPECT_FALSE(json_valid("[1] x"));
	EXPECT_FALSE(json_valid(""));
}

/* ---- usage and exit codes ------------------------------------------------- */

TEST(usage)
{
	struct res r;

	ASSERT_EQ(0, access(cli_bin(), X_OK))
		TH_LOG("no ivshm binary at %s", cli_bin());

	EXPECT_EQ(2, RUN(&r, NULL));
	EXPECT_NE(NULL, strstr(r.err, "ivshm: no command"));
	res_free(&r);
	EXPECT_EQ(2, RUN(&r, "--json"));	/* --json: the error is JSON */
	EXPECT_NE(NULL, strstr(r.out, "\"error\":\"no command"));
	res_free(&r);
	EXPECT_EQ(2, RUN(&r, "frobnicate"));
	EXPECT_NE(NULL, strstr(r.err, "ivshm: unknown command 'frobnicate'"));
	res_free(&r);
	EXPECT_EQ(2, RUN(&r, "--no-such-option", "list"));
	res_free(&r);
	EXPECT_EQ(2, RUN(&r, "list", "--no-such-option"));
	EXPECT_NE(NULL, strstr(r.err, "ivshm list"));
	res_free(&r);
	EXPECT_EQ(2, RUN(&r, "list", "extra"));
	res_free(&r);
	EXPECT_EQ(2, RUN(&r, "ring", "shm:/nonexistent", "1"));
	res_free(&r);
	EXPECT_EQ(2, RUN(&r, "ring", "shm:/nonexistent", "70000", "0"));
	EXPECT_NE(NULL, strstr(r.err, "out of range"));
	res_free(&r);
	EXPECT_EQ(2, RUN(&r, "wait", "shm:/nonexistent", "--timeout", "x"));
	res_free(&r);
	EXPECT_EQ(2, RUN(&r, "info"));
	res_free(&r);
	EXPECT_EQ(2, RUN(&r, "send", "shm:/nonexistent"));
	res_free(&r);
	EXPECT_EQ(2, RUN(&r, "send", "shm:/x", "c", "--ring-size", "1000"));
	EXPECT_NE(NULL, strstr(r.err, "power of two"));
	res_free(&r);
	EXPECT_EQ(2, RUN(&r, "recv", "shm:/x", "c", "--bytes", "10"));
	res_free(&r);
	EXPECT_EQ(2, RUN(&r, "recv", "shm:/x",
			 "a-name-that-is-far-too-long-for-a-channel"));
	res_free(&r);
	EXPECT_EQ(2, RUN(&r, "send", "shm:/x", "c", "--tx-vector", "1"));
	res_free(&r);
	EXPECT_EQ(2, RUN(&r, "help", "nothing"));
	res_free(&r);

	EXPECT_EQ(0, RUN(&r, "--help"));
	EXPECT_NE(NULL, strstr(r.out, "Usage: ivshm"));
	EXPECT_NE(NULL, strstr(r.out, "channels"));
	res_free(&r);
	EXPECT_EQ(0, RUN(&r, "-h"));
	res_free(&r);
	EXPECT_EQ(0, RUN(&r, "dump", "--help"));
	EXPECT_NE(NULL, strstr(r.out, "Usage: ivshm dump TARGET"));
	res_free(&r);
	EXPECT_EQ(0, RUN(&r, "help", "wait"));
	EXPECT_NE(NULL, strstr(r.out, "Usage: ivshm wait"));
	res_free(&r);
	EXPECT_EQ(0, RUN(&r, "--version"));
	EXPECT_NE(NULL, strstr(r.out, "ivshm " IVSHM_VERSION_STRING));
	res_free(&r);

	/* operational errors: 1, with strerror */
	EXPECT_EQ(1, RUN(&r, "info", "shm:/nonexistent/file"));
	EXPECT_NE(NULL, strstr(r.err, "ivshm: cannot open shm:/nonexistent/file: No such file or directory"));
	res_free(&r);
	EXPECT_EQ(1, RUN(&r, "info", "bogus-target"));
	EXPECT_NE(NULL, strstr(r.err, "ivshm: "));
	res_free(&r);
}

/* Lines of @s that start with @prefix. */
static int count_lines(const char *s, const char *prefix)
{
	size_t len = strlen(prefix);
	int n = 0;

	while (*s) {
		if (!strncmp(s, prefix, len))
			n++;
		s = strchr(s, '\n');
		if (!s)
			break;
		s++;
	}
	return n;
}

/*
 * Numbers are numbers, negative ones too: one range message per value,
 * never getopt's "invalid option -- '1'", and the same ranges everywhere.
 */
TEST(negative_numbers)
{
	struct res r;

	EXPECT_EQ(2, RUN(&r, "ring", "unix:/nonexistent", "0", "-1"));
	EXPECT_NE(NULL, strstr(r.err, "ivshm: vector -1 is out of range (0..1023)"))
		TH_LOG("%s", r.err);
	EXPECT_EQ(NULL, strstr(r.err, "invalid option"));
	EXPECT_EQ(1, count_lines(r.err, "ivshm: "));
	res_free(&r);
	EXPECT_EQ(2, RUN(&r, "ring", "unix:/nonexistent", "-3", "0"));
	EXPECT_NE(NULL, strstr(r.err, "ivshm: peer id -3 is out of range (0..65535)"))
		TH_LOG("%s", r.err);
	res_free(&r);
	EXPECT_EQ(2, RUN(&r, "ring", "unix:/nonexistent", "0", "1024"));
	EXPECT_NE(NULL, strstr(r.err, "vector 1024 is out of range (0..1023)"))
		TH_LOG("%s", r.err);
	res_free(&r);
	EXPECT_EQ(2, RUN(&r, "wait", "unix:/nonexistent", "-1"));
	EXPECT_NE(NULL, strstr(r.err, "ivshm: vector -1 is out of range (0..1023)"))
		TH_LOG("%s", r.err);
	EXPECT_EQ(1, count_lines(r.err, "ivshm: "));
	res_free(&r);
	EXPECT_EQ(2, RUN(&r, "dump", "shm:/nonexistent", "-1"));
	EXPECT_NE(NULL, strstr(r.err, "ivshm: offset -1 is out of range"))
		TH_LOG("%s", r.err);
	EXPECT_EQ(1, count_lines(r.err, "ivshm: "));
	res_free(&r);
	EXPECT_EQ(2, RUN(&r, "dump", "shm:/nonexistent", "0", "-16"));
	EXPECT_NE(NULL, strstr(r.err, "ivshm: length -16 is out of range"))
		TH_LOG("%s", r.err);
	res_free(&r);
	EXPECT_EQ(2, RUN(&r, "wait", "unix:/x", "--timeout", "-5"));
	EXPECT_NE(NULL, strstr(r.err, "timeout -5 is out of range"))
		TH_LOG("%s", r.err);
	res_free(&r);
	/* -1 is still "forever" for --timeout */
	EXPECT_EQ(1, RUN(&r, "wait", "shm:/nonexistent", "--timeout", "-1"));
	res_free(&r);
	/* vector counts: 0..1024 in every message (0: the server's) */
	EXPECT_EQ(2, RUN(&r, "--vectors", "2000", "info", "unix:/x"));
	EXPECT_NE(NULL, strstr(r.err, "vector count 2000 is out of range (0..1024)"))
		TH_LOG("%s", r.err);
	EXPECT_EQ(1, count_lines(r.err, "ivshm: "));
	res_free(&r);
	EXPECT_EQ(2, RUN(&r, "--vectors", "-1", "info", "unix:/x"));
	EXPECT_NE(NULL, strstr(r.err, "vector count -1 is out of range (0..1024)"))
		TH_LOG("%s", r.err);
	res_free(&r);
	EXPECT_EQ(2, RUN(&r, "send", "shm:/x", "c", "--peer", "1",
			 "--tx-vector", "-2"));
	EXPECT_NE(NULL, strstr(r.err, "tx vector -2 is out of range (0..1023)"))
		TH_LOG("%s", r.err);
	res_free(&r);
}

/* --json: errors are one JSON object on stdout, with the errno's name. */
TEST(json_errors)
{
	struct res r;

	EXPECT_EQ(1, RUN(&r, "--json", "info", "shm:/nonexistent/file"));
	EXPECT_TRUE(json_valid(r.out)) TH_LOG("%s", r.out);
	EXPECT_NE(NULL, strstr(r.out, "{\"error\":\"cannot open shm:/nonexistent/file: No such file or directory\",\"errno\":\"ENOENT\"}\n"))
		TH_LOG("%s", r.out);
	EXPECT_STREQ("", r.err);
	res_free(&r);
	/* --json after the command, and a usage error */
	EXPECT_EQ(2, RUN(&r, "ring", "unix:/x", "0", "-1", "--json"));
	EXPECT_TRUE(json_valid(r.out)) TH_LOG("%s", r.out);
	EXPECT_NE(NULL, strstr(r.out, "\"errno\":\"EINVAL\""));
	EXPECT_NE(NULL, strstr(r.out, "\"error\":\"vector -1 is out of range"));
	EXPECT_STREQ("", r.err);
	res_free(&r);
	EXPECT_EQ(2, RUN(&r, "--json", "info", "--bogus", "x"));
	EXPECT_TRUE(json_valid(r.out)) TH_LOG("%s", r.out);
	EXPECT_NE(NULL, strstr(r.out, "unknown option '--bogus'"));
	EXPECT_STREQ("", r.err);
	res_free(&r);
	EXPECT_EQ(2, RUN(&r, "--json", "frobnicate"));
	EXPECT_TRUE(json_valid(r.out)) TH_LOG("%s", r.out);
	res_free(&r);
	EXPECT_EQ(1, RUN(&r, "--json", "channels", "shm:/nonexistent"));
	EXPECT_TRUE(json_valid(r.out)) TH_LOG("%s", r.out);
	EXPECT_NE(NULL, strstr(r.out, "\"errno\":\"ENOENT\""));
	res_free(&r);
	/* without --json: text on stderr, nothing on stdout */
	EXPECT_EQ(1, RUN(&r, "info", "shm:/nonexistent/file"));
	EXPECT_STREQ("", r.out);
	EXPECT_NE(NULL, strstr(r.err, "ivshm: cannot open"));
	res_free(&r);
}

/* Errors name the real cause, not the syntax of the target. */
TEST(blame_real_cause)
{
	char path[] = "/dev/shm/ivshm-cli-empty-XXXXXX", target[64];
	struct res r;
	int fd;

	EXPECT_EQ(1, RUN(&r, "info", "shm:/dev/null"));
	EXPECT_NE(NULL, strstr(r.err, "not a regular file")) TH_LOG("%s", r.err);
	EXPECT_EQ(NULL, strstr(r.err, "targets:"));
	res_free(&r);
	fd = mkstemp(path);
	ASSERT_LE(0, fd);
	close(fd);
	snprintf(target, sizeof(target), "shm:%s", path);
	EXPECT_EQ(1, RUN(&r, "info", target));
	EXPECT_NE(NULL, strstr(r.err, "is empty")) TH_LOG("%s", r.err);
	EXPECT_EQ(NULL, strstr(r.err, "targets:"));
	res_free(&r);
	unlink(path);

	setenv("IVSHM_VECTORS", "abc", 1);
	EXPECT_EQ(2, RUN(&r, "info", "unix:/nonexistent"));
	EXPECT_NE(NULL, strstr(r.err, "IVSHM_VECTORS")) TH_LOG("%s", r.err);
	EXPECT_EQ(NULL, strstr(r.err, "targets:"));
	res_free(&r);
	setenv("IVSHM_VECTORS", "5000", 1);
	EXPECT_EQ(2, RUN(&r, "info", "unix:/nonexistent"));
	EXPECT_NE(NULL, strstr(r.err, "IVSHM_VECTORS 5000 is out of range (0..1024)"))
		TH_LOG("%s", r.err);
	res_free(&r);
	unsetenv("IVSHM_VECTORS");
}

TEST(list_host)
{
	struct ivshm_devinfo *l = NULL;
	struct res r;
	int n = ivshm_list(&l, sizeof(*l)), lines = 0;
	char *p;

	ivshm_list_free(l);
	ASSERT_LE(0, n);
	ASSERT_EQ(0, RUN(&r, "list"));
	for (p = r.out; *p; p++)
		lines += *p == '\n';
	if (n == 0) {
		EXPECT_STREQ("", r.out);
	} else {
		EXPECT_EQ(n + 1, lines);
	}
	EXPECT_STREQ("", r.err);
	res_free(&r);
	ASSERT_EQ(0, RUN(&r, "--json", "list"));
	EXPECT_TRUE(json_valid(r.out));
	if (n == 0) {
		EXPECT_STREQ("[]\n", r.out);
	}
	res_free(&r);
}

/* ---- shm: targets ------------------------------------------------------ */

#define SHM_SIZE	(1u << 20)

FIXTURE(shm) {
	char path[128];
	char target[140];
	unsigned char *mem;
};

FIXTURE_SETUP(shm)
{
	static int seq;
	int fd, i;

	signal(SIGPIPE, SIG_IGN);
	snprintf(self->path, sizeof(self->path),
		 "/dev/shm/ivshm-cli-test-%d-%d", (int)getpid(), seq++);
	snprintf(self->target, sizeof(self->target), "shm:%s", self->path);
	fd = open(self->path, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	ASSERT_LE(0, fd);
	ASSERT_EQ(0, ftruncate(fd, SHM_SIZE));
	self->mem = mmap(NULL, SHM_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED,
			 fd, 0);
	close(fd);
	ASSERT_NE(MAP_FAILED, self->mem);
	memcpy(self->mem + 0x1000, "Hello, ivshm!\n", 14);
	for (i = 0; i < 256; i++)
		self->mem[0x2000 + i] = (unsigned char)i;
}

FIXTURE_TEARDOWN(shm)
{
	if (self->mem && self->mem != MAP_FAILED)
		munmap(self->mem, SHM_SIZE);
	unlink(self->path);
}

TEST_F(shm, info)
{
	struct ivshm_region *reg;
	struct ivshm_chan *c;
	struct res r;

	ASSERT_EQ(0, RUN(&r, "info", self->target));
	EXPECT_NE(NULL, strstr(r.out, "backend:  shm"));
	EXPECT_NE(NULL, strstr(r.out, "size:     1048576 (1 MiB)"));
	EXPECT_NE(NULL, strstr(r.out, "mode:     plain"));
	EXPECT_NE(NULL, strstr(r.out, "vectors:  0"));
	EXPECT_NE(NULL, strstr(r.out, "ring:     not formatted"));
	EXPECT_NE(NULL, strstr(r.out, "memory:   not sealed"));
	res_free(&r);
	ASSERT_EQ(0, RUN(&r, "info", "--json", self->target));
	EXPECT_TRUE(json_valid(r.out)) TH_LOG("%s", r.out);
	EXPECT_NE(NULL, strstr(r.out, "\"sealed\":false"));
	EXPECT_NE(NULL, strstr(r.out, "\"size\":1048576"));
	EXPECT_NE(NULL, strstr(r.out, "\"backend\":\"shm\""));
	EXPECT_NE(NULL, strstr(r.out, "\"peer_id\":null"));
	EXPECT_NE(NULL, strstr(r.out, "\"formatted\":false"));
	res_free(&r);

	/* a formatted region with two channels */
	reg = ivshm_region_format(self->mem, SHM_SIZE);
	ASSERT_NE(NULL, reg);
	c = ivshm_chan_create(reg, "one", 4096, IVSHM_CHAN_PRODUCER, NULL);
	ASSERT_NE(NULL, c);
	ivshm_chan_close(c);
	c = ivshm_chan_create(reg, "two", 4096, IVSHM_CHAN_CONSUMER, NULL);
	ASSERT_NE(NULL, c);
	ivshm_chan_close(c);
	ivshm_region_close(reg);
	ASSERT_EQ(0, RUN(&r, "info", self->target));
	EXPECT_NE(NULL, strstr(r.out, "ring:     formatted, version 3, 2 channels"));
	res_free(&r);
	ASSERT_EQ(0, RUN(&r, "--json", "info", self->target));
	EXPECT_TRUE(json_valid(r.out)) TH_LOG("%s", r.out);
	EXPECT_NE(NULL, strstr(r.out, "\"formatted\":true"));
	EXPECT_NE(NULL, strstr(r.out, "\"version\":3"));
	EXPECT_NE(NULL, strstr(r.out, "\"channels\":2"));
	res_free(&r);

	/* a damaged header */
	self->mem[0] ^= 0xff;
	ASSERT_EQ(0, RUN(&r, "info", self->target));
	EXPECT_NE(NULL, strstr(r.out, "ring:     invalid")) TH_LOG("%s", r.out);
	res_free(&r);
}

TEST_F(shm, dump)
{
	struct res r;

	ASSERT_EQ(0, RUN(&r, "dump", self->target, "0x1000", "32"));
	EXPECT_STREQ(
"00001000  48 65 6c 6c 6f 2c 20 69  76 73 68 6d 21 0a 00 00  |Hello, ivshm!...|\n"
"00001010  00 00 00 00 00 00 00 00  00 00 00 00 00 00 00 00  |................|\n"
"00001020\n", r.out);
	EXPECT_STREQ("", r.err);
	res_free(&r);

	/* K suffix, a partial line, printable and not */
	ASSERT_EQ(0, RUN(&r, "dump", self->target, "8K", "0x13"));
	EXPECT_STREQ(
"00002000  00 01 02 03 04 05 06 07  08 09 0a 0b 0c 0d 0e 0f  |................|\n"
"00002010  10 11 12                                          |...|\n"
"00002013\n", r.out);
	res_free(&r);
	ASSERT_EQ(0, RUN(&r, "dump", self->target, "0x207c", "8"));
	EXPECT_STREQ(
"0000207c  7c 7d 7e 7f 80 81 82 83                           ||}~.....|\n"
"00002084\n", r.out);
	res_free(&r);

	/* default: 256 bytes from 0, repeated lines squeezed */
	ASSERT_EQ(0, RUN(&r, "dump", self->target));
	EXPECT_STREQ(
"00000000  00 00 00 00 00 00 00 00  00 00 00 00 00 00 00 00  |................|\n"
"*\n"
"00000100\n", r.out);
	res_free(&r);
	/* -v: no squeezing */
	ASSERT_EQ(0, RUN(&r, "dump", "-v", self->target, "0", "32"));
	EXPECT_STREQ(
"00000000  00 00 00 00 00 00 00 00  00 00 00 00 00 00 00 00  |................|\n"
"00000010  00 00 00 00 00 00 00 00  00 00 00 00 00 00 00 00  |................|\n"
"00000020\n", r.out);
	res_free(&r);
	/* the default length stops at the end of the memory */
	self->mem[SHM_SIZE - 1] = 'Z';
	ASSERT_EQ(0, RUN(&r, "dump", self->target, "0xffff8"));
	EXPECT_STREQ(
"000ffff8  00 00 00 00 00 00 00 5a                           |.......Z|\n"
"00100000\n", r.out);
	res_free(&r);
	/* all of it, up to the last byte */
	ASSERT_EQ(0, RUN(&r, "dump", self->target, "0", "1M"));
	EXPECT_NE(NULL, strstr(r.out, "|...............Z|\n00100000\n"));
	res_free(&r);
}

TEST_F(shm, dump_bounds)
{
	struct res r;

	EXPECT_EQ(1, RUN(&r, "dump", self->target, "1M"));
	EXPECT_NE(NULL, strstr(r.err, "ivshm: ")) TH_LOG("%s", r.err);
	EXPECT_NE(NULL, strstr(r.err, "beyond the end"));
	EXPECT_STREQ("", r.out);
	res_free(&r);
	EXPECT_EQ(1, RUN(&r, "dump", self->target, "0xffff0", "17"));
	EXPECT_NE(NULL, strstr(r.err, "beyond the end"));
	res_free(&r);
	EXPECT_EQ(1, RUN(&r, "dump", self->target, "0", "2M"));
	res_free(&r);
	EXPECT_EQ(1, RUN(&r, "dump", self->target, "0x10000000000"));
	res_free(&r);
	EXPECT_EQ(2, RUN(&r, "dump", self->target, "12Q"));
	EXPECT_NE(NULL, strstr(r.err, "ivshm: invalid offset '12Q'"));
	res_free(&r);
	EXPECT_EQ(2, RUN(&r, "dump", self->target, "0", "0x"));
	EXPECT_NE(NULL, strstr(r.err, "invalid length"));
	res_free(&r);
	EXPECT_EQ(2, RUN(&r, "dump", self->target, "99999999999999999999"));
	res_free(&r);
	EXPECT_EQ(2, RUN(&r, "dump", self->target, "16G1"));
	res_free(&r);
	EXPECT_EQ(2, RUN(&r, "dump", self->target, "1", "2", "3"));
	res_free(&r);
	EXPECT_EQ(2, RUN(&r, "dump", self->target, "--", "-1"));
	res_free(&r);
}

TEST_F(shm, doorbells_unsupported)
{
	struct res r;

	EXPECT_EQ(1, RUN(&r, "ring", self->target, "0", "0"));
	EXPECT_NE(NULL, strstr(r.err, "no doorbells"));
	res_free(&r);
	EXPECT_EQ(1, RUN(&r, "wait", self->target, "--timeout", "10"));
	EXPECT_NE(NULL, strstr(r.err, "no doorbells"));
	res_free(&r);
	EXPECT_EQ(1, RUN(&r, "peers", self->target));
	EXPECT_NE(NULL, strstr(r.err, "unix:"));
	res_free(&r);
	EXPECT_EQ(1, RUN(&r, "send", self->target, "c", "--format",
			 "--peer", "1"));
	EXPECT_NE(NULL, strstr(r.err, "no doorbells"));
	res_free(&r);
}

/* The hint names an option that exists where it is given. */
TEST_F(shm, channels_hint)
{
	struct res r;

	EXPECT_EQ(1, RUN(&r, "channels", self->target));
	EXPECT_NE(NULL, strstr(r.err, "not formatted")) TH_LOG("%s", r.err);
	EXPECT_EQ(NULL, strstr(r.err, "(--format")) TH_LOG("%s", r.err);
	EXPECT_NE(NULL, strstr(r.err, "send or recv --format"));
	res_free(&r);
}

TEST_F(shm, info_label)
{
	struct ivshm_region *reg;
	struct res r;

	reg = ivshm_region_format(self->mem, SHM_SIZE);
	ASSERT_NE(NULL, reg);
	ASSERT_EQ(0, RUN(&r, "info", self->target));
	EXPECT_NE(NULL, strstr(r.out, "label:    -\n")) TH_LOG("%s", r.out);
	res_free(&r);
	ASSERT_EQ(0, ivshm_region_set_label(reg, "demo-1"));
	ivshm_region_close(reg);
	ASSERT_EQ(0, RUN(&r, "info", self->target));
	EXPECT_NE(NULL, strstr(r.out, "label:    demo-1\n")) TH_LOG("%s", r.out);
	res_free(&r);
	ASSERT_EQ(0, RUN(&r, "--json", "info", self->target));
	EXPECT_TRUE(json_valid(r.out)) TH_LOG("%s", r.out);
	EXPECT_NE(NULL, strstr(r.out, "\"label\":\"demo-1\"")) TH_LOG("%s", r.out);
	res_free(&r);
}

/* Every command takes --json and prints JSON. */
TEST_F(shm, json_every_command)
{
	struct res r;

	ASSERT_EQ(0, RUN(&r, "dump", "--json", self->target, "0x1000", "5"));
	EXPECT_STREQ("{\"offset\":4096,\"length\":5,\"hex\":\"48656c6c6f\"}\n",
		     r.out);
	res_free(&r);
	ASSERT_EQ(0, RUN_IN(&r, "a\nbc\n", 5, "--json", "send", self->target,
			    "ch", "--format"));
	EXPECT_STREQ("{\"channel\":\"ch\",\"messages\":2,\"bytes\":5}\n", r.out);
	res_free(&r);
	ASSERT_EQ(0, RUN_IN(&r, "\x01\xff", 2, "send", self->target, "ch",
			    "--bytes", "2"));
	res_free(&r);
	ASSERT_EQ(0, RUN(&r, "recv", "--json", self->target, "ch"));
	EXPECT_STREQ("{\"len\":2,\"text\":\"a\\n\"}\n"
		     "{\"len\":3,\"text\":\"bc\\n\"}\n"
		     "{\"len\":2,\"hex\":\"01ff\"}\n", r.out);
	res_free(&r);
	/* ring: the doorbell error is JSON too */
	EXPECT_EQ(1, RUN(&r, "--json", "ring", self->target, "0", "0"));
	EXPECT_TRUE(json_valid(r.out)) TH_LOG("%s", r.out);
	EXPECT_NE(NULL, strstr(r.out, "\"errno\":\"EOPNOTSUPP\""));
	res_free(&r);
}

/* monitor: the region being formatted and channels created, live. */
TEST_F(shm, monitor_channels)
{
	struct bg mon = { .args = { "--json", "monitor", self->target,
				    "--count", "3", "--interval", "20" } };
	struct res r;

	bg_start(&mon);
	usleep(500000);		/* its first look: what exists is no event */
	ASSERT_EQ(0, RUN_IN(&r, "x\n", 2, "send", self->target, "first",
			    "--format"));
	res_free(&r);
	ASSERT_EQ(0, RUN_IN(&r, "x\n", 2, "send", self->target, "second",
			    "--create", "--ring-size", "4K"));
	res_free(&r);
	bg_join(&mon);
	EXPECT_EQ(0, mon.r.status) TH_LOG("%s", mon.r.err);
	EXPECT_EQ(3, json_lines(mon.r.out)) TH_LOG("%s", mon.r.out);
	EXPECT_NE(NULL, strstr(mon.r.out, "\"event\":\"formatted\""));
	EXPECT_NE(NULL, strstr(mon.r.out, "\"event\":\"channel-created\",\"name\":\"first\",\"slot\":0,\"generation\":1,\"ring_size\":65536}"))
		TH_LOG("%s", mon.r.out);
	EXPECT_NE(NULL, strstr(mon.r.out, "\"event\":\"channel-created\",\"name\":\"second\",\"slot\":1,\"generation\":1,\"ring_size\":4096}"))
		TH_LOG("%s", mon.r.out);
	res_free(&mon.r);

	/* text: one line per event */
	{
		struct bg t = { .args = { "monitor", self->target,
					  "--count", "1", "-i", "20" } };

		bg_start(&t);
		usleep(500000);
		ASSERT_EQ(0, RUN_IN(&r, "x\n", 2, "send", self->target,
				    "third", "--create"));
		res_free(&r);
		bg_join(&t);
		EXPECT_EQ(0, t.r.status);
		EXPECT_NE(NULL, strstr(t.r.out, " channel 'third' created (slot 2, 64 KiB ring)\n"))
			TH_LOG("%s", t.r.out);
		EXPECT_EQ(1, count_lines(t.r.out, ""));
		res_free(&t.r);
	}
}

/* monitor ends cleanly: on SIGTERM, on SIGINT, when the file goes away. */
TEST_F(shm, monitor_ends)
{
	const char *args[] = { "monitor", self->target, NULL };
	const char *jargs[] = { "--json", "monitor", self->target, NULL };
	char buf[512];
	int sigs[] = { SIGTERM, SIGINT }, i, fd, st;
	ssize_t n;
	pid_t pid;

	for (i = 0; i < 2; i++) {
		pid = spawn_cli(&fd, args);
		ASSERT_LT(0, pid);
		usleep(300000);
		kill(pid, sigs[i]);
		st = wait_exit(pid, 3000);
		EXPECT_TRUE(WIFEXITED(st) && WEXITSTATUS(st) == 0)
			TH_LOG("signal %d: status 0x%x", sigs[i], st);
		close(fd);
	}
	pid = spawn_cli(&fd, jargs);
	ASSERT_LT(0, pid);
	usleep(300000);
	unlink(self->path);
	st = wait_exit(pid, 3000);
	EXPECT_TRUE(WIFEXITED(st) && WEXITSTATUS(st) == 0) TH_LOG("0x%x", st);
	if (st == -1) {
		kill(pid, SIGKILL);
		waitpid(pid, NULL, 0);
	}
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	ASSERT_LT(0, n);
	buf[n] = '\0';
	EXPECT_NE(NULL, strstr(buf, "\"event\":\"gone\",\"reason\":\"file removed\"}\n"))
		TH_LOG("%s", buf);
}

/* top: one frame with --json / --once, numbers from the shared memory. */
struct sleeper {
	struct ivshm_chan *c;
	ssize_t n;
};

static void *sleeper_main(void *arg)
{
	struct sleeper *s = arg;
	char buf[64];

	s->n = ivshm_chan_recv(s->c, buf, sizeof(buf), 5000);
	return NULL;
}

/* A doorbell between two handles of this process: an eventfd. */
static int efd_notify(void *ctx)
{
	uint64_t one = 1;

	return write(*(int *)ctx, &one, 8) == 8 ? 0 : -errno;
}

static int efd_wait(void *ctx, int timeout_ms)
{
	struct pollfd p = { .fd = *(int *)ctx, .events = POLLIN };
	uint64_t v;

	if (poll(&p, 1, timeout_ms) == 0)
		return -ETIMEDOUT;
	return read(*(int *)ctx, &v, 8) == 8 ? 0 : -errno;
}

TEST_F(shm, top)
{
	int efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	struct ivshm_signal sig = { .size = sizeof(sig), .notify = efd_notify,
				    .wait = efd_wait, .fd = efd, .ctx = &efd };
	struct ivshm_region *reg;
	struct ivshm_chan *tx, *rx;
	struct sleeper sl;
	struct res r;
	pthread_t t;
	const char *p;
	int i;

	reg = ivshm_region_format(self->mem, SHM_SIZE);
	ASSERT_NE(NULL, reg);
	ASSERT_EQ(0, ivshm_region_set_label(reg, "toplabel"));
	tx = ivshm_chan_create(reg, "pipe", 4096, IVSHM_CHAN_PRODUCER, &sig);
	ASSERT_NE(NULL, tx);
	rx = ivshm_chan_attach(reg, "pipe", IVSHM_CHAN_CONSUMER, &sig);
	ASSERT_NE(NULL, rx);
	/* the consumer sleeps on an empty ring; a message wakes it */
	sl.c = rx;
	pthread_create(&t, NULL, sleeper_main, &sl);
	usleep(300000);
	ASSERT_EQ(0, ivshm_chan_send(tx, "hello", 5, 0));
	pthread_join(t, NULL);
	ASSERT_EQ(5, sl.n);
	for (i = 0; i < 3; i++)
		ASSERT_EQ(0, ivshm_chan_send(tx, "0123456789", 10, 0));

	ASSERT_EQ(0, RUN(&r, "--json", "top", self->target, "-i", "50"));
	EXPECT_EQ(1, json_lines(r.out)) TH_LOG("%s", r.out);
	EXPECT_NE(NULL, strstr(r.out, "\"label\":\"toplabel\""));
	EXPECT_NE(NULL, strstr(r.out, "\"name\":\"pipe\",\"slot\":0,\"ring_size\":4096,"))
		TH_LOG("%s", r.out);
	/* 4 records of 8-byte header + payload rounded to 8: 16 + 3 * 24 */
	EXPECT_NE(NULL, strstr(r.out, "\"bytes_in\":88,\"bytes_out\":16,"))
		TH_LOG("%s", r.out);
	EXPECT_NE(NULL, strstr(r.out, "\"queued\":72,")) TH_LOG("%s", r.out);
	/* the consumer slept, the producer rang it once */
	EXPECT_NE(NULL, strstr(r.out, "\"producer\":{\"attached\":true,\"asleep\":false,\"sleeps\":0,\"doorbells\":1,"))
		TH_LOG("%s", r.out);
	p = strstr(r.out, "\"consumer\":{\"attached\":true,\"asleep\":false,\"sleeps\":");
	ASSERT_NE(NULL, p) TH_LOG("%s", r.out);
	p += strlen("\"consumer\":{\"attached\":true,\"asleep\":false,\"sleeps\":");
	EXPECT_LE(1, atoi(p)) TH_LOG("%s", r.out);	/* one wait: 1 or more */
	EXPECT_NE(NULL, strstr(p, ",\"doorbells\":0,")) TH_LOG("%s", r.out);
	res_free(&r);

	ASSERT_EQ(0, RUN(&r, "top", "--once", self->target, "-i", "20"));
	EXPECT_NE(NULL, strstr(r.out, "label toplabel  1 channel")) TH_LOG("%s", r.out);
	EXPECT_NE(NULL, strstr(r.out, "CHANNEL"));
	EXPECT_NE(NULL, strstr(r.out, "\npipe ")) TH_LOG("%s", r.out);
	EXPECT_EQ(NULL, strstr(r.out, "\033[")) TH_LOG("no ANSI codes off a terminal");
	res_free(&r);
	ASSERT_EQ(0, RUN(&r, "top", self->target, "-n", "3", "-i", "20"));
	EXPECT_EQ(3, count_lines(r.out, "CHANNEL")) TH_LOG("%s", r.out);
	res_free(&r);
	EXPECT_EQ(2, RUN(&r, "top", self->target, "-n", "0"));
	EXPECT_NE(NULL, strstr(r.err, "iterations 0 is out of range")) TH_LOG("%s", r.err);
	res_free(&r);
	ivshm_chan_close(tx);
	ivshm_chan_close(rx);
	ivshm_region_close(reg);
	close(efd);
}

static const char lines_in[] =
	"first line\n"
	"\n"
	"  spaces, tabs\tand \"quotes\" \\ \n"
	"utf-8: \xc3\xa9\xe2\x82\xac\n"
	"\n"
	"last line without a newline";

TEST_F(shm, send_then_recv)
{
	char expect[sizeof(lines_in) + 1];
	struct res r;

	/* no region yet, no channel yet */
	EXPECT_EQ(1, RUN(&r, "recv", self->target, "ch"));
	EXPECT_NE(NULL, strstr(r.err, "not formatted"));
	res_free(&r);
	EXPECT_EQ(1, RUN(&r, "channels", self->target));
	EXPECT_NE(NULL, strstr(r.err, "not formatted"));
	res_free(&r);

	ASSERT_EQ(0, RUN_IN(&r, lines_in, strlen(lines_in), "send",
			    self->target, "ch", "--format"));
	EXPECT_STREQ("", r.err);
	res_free(&r);
	EXPECT_EQ(1, RUN(&r, "recv", self->target, "other"));
	EXPECT_NE(NULL, strstr(r.err, "no channel 'other'"));
	res_free(&r);

	/* queued, producer gone */
	ASSERT_EQ(0, RUN(&r, "channels", self->target));
	EXPECT_NE(NULL, strstr(r.out, "ch ")) TH_LOG("%s", r.out);
	EXPECT_NE(NULL, strstr(r.out, "65536"));
	EXPECT_NE(NULL, strstr(r.out, "detached  never"));
	res_free(&r);
	ASSERT_EQ(0, RUN(&r, "channels", "--json", self->target));
	EXPECT_TRUE(json_valid(r.out)) TH_LOG("%s", r.out);
	EXPECT_NE(NULL, strstr(r.out, "\"name\":\"ch\""));
	EXPECT_NE(NULL, strstr(r.out, "\"ring_size\":65536"));
	EXPECT_NE(NULL, strstr(r.out, "\"producer\":\"detached\""));
	EXPECT_NE(NULL, strstr(r.out, "\"consumer\":\"never\""));
	EXPECT_EQ(NULL, strstr(r.out, "\"queued\":0,"));
	res_free(&r);

	/* recv drains and exits 0 once the producer is gone */
	ASSERT_EQ(0, RUN(&r, "recv", self->target, "ch"));
	snprintf(expect, sizeof(expect), "%s\n", lines_in);
	EXPECT_STREQ(expect, r.out);
	EXPECT_STREQ("", r.err);
	res_free(&r);
	ASSERT_EQ(0, RUN(&r, "--json", "channels", self->target));
	EXPECT_NE(NULL, strstr(r.out, "\"queued\":0,"));
	EXPECT_NE(NULL, strstr(r.out, "\"consumer\":\"detached\""));
	res_free(&r);

	/* again, raw: byte for byte */
	ASSERT_EQ(0, RUN_IN(&r, lines_in, strlen(lines_in), "send",
			    self->target, "ch"));
	res_free(&r);
	ASSERT_EQ(0, RUN(&r, "recv", "--raw", self->target, "ch"));
	EXPECT_EQ(strlen(lines_in), r.out_len);
	EXPECT_EQ(0, memcmp(lines_in, r.out, r.out_len));
	res_free(&r);

	/* --count stops early; the rest stays queued */
	ASSERT_EQ(0, RUN_IN(&r, "a\nb\nc\n", 6, "send", self->target, "ch"));
	res_free(&r);
	ASSERT_EQ(0, RUN(&r, "recv", self->target, "ch", "--count", "2"));
	EXPECT_STREQ("a\nb\n", r.out);
	res_free(&r);
	ASSERT_EQ(0, RUN(&r, "recv", self->target, "ch"));
	EXPECT_STREQ("c\n", r.out);
	res_free(&r);
}

TEST_F(shm, recv_timeout_and_limits)
{
	uint64_t t0;
	char *big;
	struct res r;

	ASSERT_EQ(0, RUN_IN(&r, "x\n", 2, "send", self->target, "small",
			    "--format", "--ring-size", "256"));
	res_free(&r);
	ASSERT_EQ(0, RUN(&r, "recv", self->target, "small"));
	res_free(&r);
	/* a producer that never comes: recv times out with 3 */
	EXPECT_EQ(3, RUN(&r, "recv", self->target, "idle", "--create",
			 "--timeout", "0"));
	res_free(&r);
	t0 = ms_now();
	EXPECT_EQ(3, RUN(&r, "recv", self->target, "idle", "--timeout",
			 "300"));
	EXPECT_LE(300, ms_now() - t0);
	EXPECT_NE(NULL, strstr(r.err, "no message within 300 ms"));
	res_free(&r);

	/* a line above the largest message (256 / 4 = 64 bytes) */
	big = malloc(200);
	memset(big, 'x', 199);
	big[199] = '\n';
	EXPECT_EQ(1, RUN_IN(&r, big, 200, "send", self->target, "small"));
	EXPECT_NE(NULL, strstr(r.err, "largest"));
	res_free(&r);
	free(big);
	EXPECT_EQ(1, RUN(&r, "send", self->target, "small", "--bytes", "65"));
	EXPECT_NE(NULL, strstr(r.err, "largest"));
	res_free(&r);

	/* a second consumer on an attached end: EBUSY */
	{
		struct bg b = { .args = { "recv", self->target, "idle",
					  "--timeout", "2000" } };

		bg_start(&b);
		usleep(300000);
		EXPECT_EQ(1, RUN(&r, "recv", self->target, "idle",
				 "--timeout", "10"));
		EXPECT_NE(NULL, strstr(r.err, "already has a consumer"));
		res_free(&r);
		bg_join(&b);
		EXPECT_EQ(3, b.r.status);
		res_free(&b.r);
	}
}

/* Many lines through a small ring: both sides block and wake. */
TEST_F(shm, stream_lines)
{
	struct bg rx = { .args = { "recv", self->target, "stream", "--create",
				   "--ring-size", "4K" } };
	struct ivshm_region *reg;
	size_t len = 0, cap = 8 << 20;
	char *in = malloc(cap);
	struct res r;
	int i, k;

	reg = ivshm_region_format(self->mem, SHM_SIZE);
	ASSERT_NE(NULL, reg);
	ivshm_region_close(reg);
	srand(7);
	for (i = 0; i < 30000; i++) {
		k = rand() % 300;
		while (k--)
			in[len++] = 0x20 + rand() % 95;
		in[len++] = '\n';
	}
	bg_start(&rx);
	ASSERT_EQ(0, RUN_IN(&r, in, len, "send", self->target, "stream",
			    "--create", "--ring-size", "4K"))
		TH_LOG("%s", r.err);
	res_free(&r);
	bg_join(&rx);
	EXPECT_EQ(0, rx.r.status) TH_LOG("%s", rx.r.err);
	EXPECT_EQ(len, rx.r.out_len);
	EXPECT_EQ(0, memcmp(in, rx.r.out, len));
	res_free(&rx.r);
	free(in);
}

/* Binary data in --bytes chunks, written back with --raw. */
TEST_F(shm, stream_bytes)
{
	struct bg rx = { .args = { "recv", "--raw", self->target, "bin",
				   "--create", "--format", "--ring-size",
				   "8K" } };
	size_t len = 3 << 20, i;
	unsigned char *in = malloc(len);
	struct res r;

	for (i = 0; i < len; i++)
		in[i] = (unsigned char)(i * 2654435761u >> 13);
	bg_start(&rx);
	/* wait for the region and channel recv creates */
	for (i = 0; i < 200; i++) {
		struct ivshm_region *reg = ivshm_region_open(self->mem,
							     SHM_SIZE);
		int n = reg ? ivshm_region_channels(reg, NULL, 0) : 0;

		ivshm_region_close(reg);
		if (n == 1)
			break;
		usleep(10000);
	}
	ASSERT_EQ(0, RUN_IN(&r, in, len, "send", self->target, "bin",
			    "--bytes", "2000"))
		TH_LOG("%s", r.err);
	res_free(&r);
	bg_join(&rx);
	EXPECT_EQ(0, rx.r.status) TH_LOG("%s", rx.r.err);
	ASSERT_EQ(len, rx.r.out_len);
	EXPECT_EQ(0, memcmp(in, rx.r.out, len));
	res_free(&rx.r);
	free(in);
}

/* ---- unix: targets (the real ivshm-server) -------------------------------- */

FIXTURE(srv) {
	struct srv s;
	char target[160];
	char file[160];		/* the server's memory, as a shm: target */
};

FIXTURE_SETUP(srv)
{
	char path[140];
	const char *args[] = { "-S", self->s.sock, "--shm-file", path,
			       "-l", "1M", "-n", "4", NULL };

	signal(SIGPIPE, SIG_IGN);
	ASSERT_EQ(0, srv_init(&self->s));
	ASSERT_EQ(0, access(server_bin(), X_OK))
		TH_LOG("no server binary at %s", server_bin());
	snprintf(path, sizeof(path), "%s/file", self->s.dir);
	snprintf(self->file, sizeof(self->file), "shm:%s", path);
	ASSERT_EQ(0, srv_start(&self->s, args));
	snprintf(self->target, sizeof(self->target), "unix:%s", self->s.sock);
}

FIXTURE_TEARDOWN(srv)
{
	srv_cleanup(&self->s);
}

/* The ids of the other peers, through `ivshm --json peers`. */
static int peers_of(const char *target, int *ids, int max)
{
	struct res r;
	char *p;
	int n = 0;

	if (RUN(&r, "--json", "peers", target) != 0 || !json_valid(r.out)) {
		res_free(&r);
		return -1;
	}
	p = strstr(r.out, "\"peers\":[");
	if (!p) {
		res_free(&r);
		return -1;
	}
	p += 9;
	while (*p != ']' && n < max) {
		ids[n++] = (int)strtol(p, &p, 10);
		if (*p == ',')
			p++;
	}
	res_free(&r);
	return n;
}

/* Wait until exactly @n other peers are connected: their ids. */
static int wait_peers(const char *target, int *ids, int n)
{
	uint64_t end = ms_now() + 5000;

	while (ms_now() < end) {
		if (peers_of(target, ids, 8) == n)
			return 0;
		usleep(20000);
	}
	return -1;
}

TEST_F(srv, info_and_peers)
{
	struct res r;
	char want[16];
	int ids[8];

	ASSERT_EQ(0, RUN(&r, "info", self->target));
	EXPECT_NE(NULL, strstr(r.out, "backend:  unix"));
	EXPECT_NE(NULL, strstr(r.out, "mode:     doorbell"));
	EXPECT_NE(NULL, strstr(r.out, "size:     1048576 (1 MiB)"));
	EXPECT_NE(NULL, strstr(r.out, "vectors:  4"));
	EXPECT_NE(NULL, strstr(r.out, "peer id:  0"));
	EXPECT_NE(NULL, strstr(r.out, "peers:    0 others connected"));
	res_free(&r);
	ASSERT_EQ(0, RUN(&r, "--json", "info", self->target));
	EXPECT_TRUE(json_valid(r.out)) TH_LOG("%s", r.out);
	EXPECT_NE(NULL, strstr(r.out, "\"backend\":\"unix\""));
	EXPECT_NE(NULL, strstr(r.out, "\"vectors\":4"));
	EXPECT_NE(NULL, strstr(r.out, "\"peers\":0"));
	EXPECT_NE(NULL, strstr(r.out, "\"peer_id\":"));
	res_free(&r);

	/* alone: no other peers */
	ASSERT_EQ(0, RUN(&r, "peers", self->target));
	EXPECT_STREQ("", r.out);
	res_free(&r);
	ASSERT_EQ(0, peers_of(self->target, ids, 8));
	/* with a waiter connected, it is listed */
	{
		struct bg b = { .args = { "wait", self->target, "--timeout",
					  "1500" } };

		bg_start(&b);
		ASSERT_EQ(0, wait_peers(self->target, ids, 1));
		ASSERT_EQ(0, RUN(&r, "peers", self->target));
		snprintf(want, sizeof(want), "%d\n", ids[0]);
		EXPECT_STREQ(want, r.out);
		res_free(&r);
		bg_join(&b);
		EXPECT_EQ(3, b.r.status);
		res_free(&b.r);
	}
}

/* A peer that registered a name in the region's directory shows it. */
TEST_F(srv, peers_show_names)
{
	struct ivshm_region *reg;
	struct ivshm_dev *dev;
	char want[64];
	struct res r;
	int id;

	dev = ivshm_open(self->target, 0);
	ASSERT_NE(NULL, dev);
	id = ivshm_peer_id(dev);
	reg = ivshm_region_format(ivshm_base(dev), ivshm_size(dev));
	ASSERT_NE(NULL, reg);
	ASSERT_EQ(0, ivshm_peer_register(reg, "host", (unsigned int)id, 42,
					 0));
	ASSERT_EQ(0, RUN(&r, "peers", self->target));
	snprintf(want, sizeof(want), "%d\thost\n", id);
	EXPECT_STREQ(want, r.out);
	res_free(&r);
	ASSERT_EQ(0, RUN(&r, "--json", "peers", self->target));
	EXPECT_TRUE(json_valid(r.out)) TH_LOG("%s", r.out);
	snprintf(want, sizeof(want),
		 "\"names\":[{\"name\":\"host\",\"id\":%d,\"boot\":42,", id);
	EXPECT_NE(NULL, strstr(r.out, want)) TH_LOG("%s", r.out);
	res_free(&r);
	ivshm_region_close(reg);
	ivshm_close(dev);
}

/* The server's default memory is a sealed memfd: info says so. */
TEST(info_sealed_default_server)
{
	const char *sargs[] = { "-S", NULL, "-l", "1M", NULL };
	char target[160];
	struct srv s;
	struct res r;

	ASSERT_EQ(0, srv_init(&s));
	sargs[1] = s.sock;
	ASSERT_EQ(0, srv_start(&s, sargs));
	snprintf(target, sizeof(target), "unix:%s", s.sock);
	EXPECT_EQ(0, RUN(&r, "info", target));
	EXPECT_NE(NULL, strstr(r.out, "memory:   sealed")) TH_LOG("%s", r.out);
	res_free(&r);
	EXPECT_EQ(0, RUN(&r, "--json", "info", target));
	EXPECT_TRUE(json_valid(r.out)) TH_LOG("%s", r.out);
	EXPECT_NE(NULL, strstr(r.out, "\"sealed\":true")) TH_LOG("%s", r.out);
	res_free(&r);
	srv_cleanup(&s);
}

TEST_F(srv, ring_and_wait)
{
	struct bg any = { .args = { "--json", "wait", self->target,
				    "--timeout", "10000" } };
	struct bg one = { .args = { "wait", self->target, "3", "--timeout",
				    "10000" } };
	struct res r;
	char id[16];
	int ids[8];

	/* any vector, JSON */
	bg_start(&any);
	ASSERT_EQ(0, wait_peers(self->target, ids, 1));
	snprintf(id, sizeof(id), "%d", ids[0]);
	ASSERT_EQ(0, RUN(&r, "ring", self->target, id, "2"))
		TH_LOG("%s", r.err);
	res_free(&r);
	bg_join(&any);
	EXPECT_EQ(0, any.r.status) TH_LOG("%s", any.r.err);
	EXPECT_TRUE(json_valid(any.r.out)) TH_LOG("%s", any.r.out);
	EXPECT_STREQ("{\"fired\":[{\"vector\":2,\"count\":1}]}\n", any.r.out);
	res_free(&any.r);

	/* one vector: others do not end the wait */
	bg_start(&one);
	ASSERT_EQ(0, wait_peers(self->target, ids, 1));
	snprintf(id, sizeof(id), "%d", ids[0]);
	ASSERT_EQ(0, RUN(&r, "ring", self->target, id, "1"));
	res_free(&r);
	ASSERT_EQ(0, RUN(&r, "ring", self->target, id, "3"));
	res_free(&r);
	bg_join(&one);
	EXPECT_EQ(0, one.r.status) TH_LOG("%s", one.r.err);
	EXPECT_STREQ("vector 3: 1\n", one.r.out);
	res_free(&one.r);

	/* errors */
	EXPECT_EQ(1, RUN(&r, "ring", self->target, "999", "0"));
	EXPECT_NE(NULL, strstr(r.err, "ivshm: ")) TH_LOG("%s", r.err);
	EXPECT_NE(NULL, strstr(r.err, "peer 999"));
	res_free(&r);
	EXPECT_EQ(1, RUN(&r, "wait", self->target, "9", "--timeout", "0"));
	EXPECT_NE(NULL, strstr(r.err, "out of range"));
	res_free(&r);
}

TEST_F(srv, wait_timeout)
{
	uint64_t t0 = ms_now();
	struct res r;

	EXPECT_EQ(3, RUN(&r, "wait", self->target, "--timeout", "300"));
	EXPECT_LE(300, ms_now() - t0);
	EXPECT_NE(NULL, strstr(r.err, "timed out"));
	EXPECT_STREQ("", r.out);
	res_free(&r);
	EXPECT_EQ(3, RUN(&r, "--json", "wait", self->target, "0",
			 "--timeout", "0"));
	res_free(&r);
}

/* send | recv between two server peers, woken by doorbells. */
TEST_F(srv, send_recv_doorbells)
{
	/* the first peer gets id 0, the second id 1 (lowest free) */
	struct bg rx = { .args = { "recv", self->target, "pipe", "--format",
				   "--ring-size", "4K", "--peer", "1",
				   "--tx-vector", "0", "--rx-vector", "1",
				   "--timeout", "10000" } };
	size_t len = 0, cap = 2 << 20;
	char *in = malloc(cap);
	struct res r;
	int i;

	for (i = 0; i < 20000; i++)
		len += sprintf(in + len, "message %d %.*s\n", i, i % 80,
			       "................................................................................");
	bg_start(&rx);
	/* the channel appears in the server's memory (seen through the file) */
	for (i = 0; i < 500; i++) {
		if (RUN(&r, "channels", self->file) == 0 &&
		    strstr(r.out, "pipe")) {
			res_free(&r);
			break;
		}
		res_free(&r);
		usleep(10000);
	}
	ASSERT_GT(500, i);
	ASSERT_EQ(0, RUN_IN(&r, in, len, "send", self->target, "pipe",
			    "--peer", "0", "--tx-vector", "1", "--rx-vector",
			    "0", "--timeout", "10000"))
		TH_LOG("%s", r.err);
	res_free(&r);
	bg_join(&rx);
	EXPECT_EQ(0, rx.r.status) TH_LOG("%s", rx.r.err);
	EXPECT_EQ(len, rx.r.out_len);
	EXPECT_EQ(0, memcmp(in, rx.r.out, len));
	res_free(&rx.r);
	free(in);
}

/* monitor: doorbells per vector and peers joining and leaving, until the
 * server goes away. */
TEST_F(srv, monitor_peers_and_doorbells)
{
	struct bg mon = { .args = { "--json", "monitor", self->target } };
	struct res r;
	char id[16], want[96];
	int ids[8];

	bg_start(&mon);
	ASSERT_EQ(0, wait_peers(self->target, ids, 1));
	snprintf(id, sizeof(id), "%d", ids[0]);
	ASSERT_EQ(0, RUN(&r, "ring", self->target, id, "3"));
	res_free(&r);
	usleep(200000);
	ASSERT_EQ(0, RUN(&r, "ring", self->target, id, "1"));
	res_free(&r);
	usleep(200000);
	EXPECT_EQ(0, srv_stop(&self->s));
	bg_join(&mon);
	EXPECT_EQ(0, mon.r.status) TH_LOG("%s", mon.r.err);
	EXPECT_LT(0, json_lines(mon.r.out)) TH_LOG("%s", mon.r.out);
	EXPECT_NE(NULL, strstr(mon.r.out, "\"event\":\"doorbell\",\"vector\":3,\"count\":1}"))
		TH_LOG("%s", mon.r.out);
	EXPECT_NE(NULL, strstr(mon.r.out, "\"event\":\"doorbell\",\"vector\":1,\"count\":1}"));
	EXPECT_NE(NULL, strstr(mon.r.out, "\"event\":\"join\",\"peer\":"));
	EXPECT_NE(NULL, strstr(mon.r.out, "\"event\":\"leave\",\"peer\":"));
	snprintf(want, sizeof(want), "\"event\":\"gone\",\"reason\":\"server closed the connection\"}\n");
	EXPECT_NE(NULL, strstr(mon.r.out, want)) TH_LOG("%s", mon.r.out);
	/* doorbell 3 came before doorbell 1 */
	EXPECT_LT(strstr(mon.r.out, "\"vector\":3"),
		  strstr(mon.r.out, "\"vector\":1"));
	res_free(&mon.r);
}

TEST_HARNESS_MAIN
