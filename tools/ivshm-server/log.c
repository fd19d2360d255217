// SPDX-License-Identifier: GPL-2.0-only
/*
 * ivshm-server: logging, to stderr (-F) or syslog (once detached).
 * Every line is prefixed "ivshm-server:" on stderr.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <syslog.h>

#include "ivshm-server.h"

int log_verbose;
static bool use_syslog;

void log_use_syslog(void)
{
	openlog(PROG, LOG_PID | LOG_NDELAY, LOG_DAEMON);
	use_syslog = true;
}

static void vlog(int prio, const char *fmt, va_list ap)
{
	int saved = errno;

	if (use_syslog) {
		vsyslog(prio, fmt, ap);
	} else {
		char buf[1024];

		vsnprintf(buf, sizeof(buf), fmt, ap);
		fprintf(stderr, PROG ": %s\n", buf);
	}
	errno = saved;
}

void log_err(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vlog(LOG_ERR, fmt, ap);
	va_end(ap);
}

void log_warn(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vlog(LOG_WARNING, fmt, ap);
	va_end(ap);
}

void log_info(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vlog(LOG_INFO, fmt, ap);
	va_end(ap);
}

void log_dbg(const char *fmt, ...)
{
	va_list ap;

	if (!log_verbose)
		return;
	va_start(ap, fmt);
	vlog(LOG_INFO, fmt, ap);
	va_end(ap);
}
