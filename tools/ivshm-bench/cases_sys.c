// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * References built from the kernel's primitives, doing the same work per
 * message as our cases (the same payload written in full and verified):
 *   ref_shm_pingpong       one cache line each way in the shared memory,
 *                          busy polling: the floor for a polling round trip
 *   ref_eventfd_rtt        the same lines, each side blocking in read(2)
 *                          on an eventfd, 100 us idle before each ping
 *   ref_seqpacket_64       AF_UNIX SOCK_SEQPACKET, one message per syscall
 *   ref_seqpacket_64_mmsg  the same with sendmmsg/recvmmsg by 32
 *   ref_uds_stream_64k     AF_UNIX SOCK_STREAM, 64 KiB messages
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include "payload.h"

static struct {
	int fd[2];			/* sockets or eventfds: [0] parent's */
	const struct pset *ps;
	unsigned char *buf;		/* private message buffers */
} st;

static int sys_setup(struct run *r, size_t msg, size_t bufs)
{
	st.fd[0] = st.fd[1] = -1;
	st.ps = pset_get(msg);
	st.buf = aligned_alloc(64, bufs * msg);
	if (!st.buf) {
		fail(r, "out of memory");
		return -1;
	}
	return 0;
}

static void sys_teardown(struct run *r)
{
	(void)r;
	if (st.fd[0] >= 0)
		close(st.fd[0]);
	if (st.fd[1] >= 0)
		close(st.fd[1]);
	free(st.buf);
	st.buf = NULL;
}

/* ---- one cache line each way ------------------------------------------ */

#define PING_LINE(r)	((r)->shm)
#define PONG_LINE(r)	((r)->shm + 128)	/* not the adjacent line */

/* Write message @seq into @line, the sequence number last. */
static inline void line_put(unsigned char *line, uint64_t seq)
{
	unsigned char m[MSG_SMALL];

	payload_write(m, MSG_SMALL, seq, st.ps);
	memcpy(line + 8, m + 8, MSG_SMALL - 8);
	atomic_store_explicit((_Atomic uint64_t *)(void *)line, seq,
			      memory_order_release);
}

static inline int line_get(struct run *r, unsigned char *line, uint64_t seq)
{
	_Atomic uint64_t *s = (_Atomic uint64_t *)(void *)line;
	unsigned int k = 0;

	while (atomic_load_explicit(s, memory_order_acquire) != seq)
		if (spin_check(r, &k))
			return -1;
	return payload_check(r, line, MSG_SMALL, MSG_SMALL, seq, st.ps);
}

static int s_line(struct run *r)
{
	if (sys_setup(r, MSG_SMALL, 1))
		return -1;
	/* no message has this number */
	memset(PING_LINE(r), 0xff, 8);
	memset(PONG_LINE(r), 0xff, 8);
	return 0;
}

static void p_pingpong(struct run *r)
{
	uint64_t i, t;

	for (i = 0; i < r->n; i++) {
		t = now_ns();
		line_put(PING_LINE(r), 2 * i);
		if (line_get(r, PONG_LINE(r), 2 * i + 1))
			return;
		r->lat[i] = (double)(now_ns() - t);
	}
}

static void c_pingpong(struct run *r)
{
	uint64_t i;

	consumer_ready(r);
	for (i = 0; i < r->n; i++) {
		if (line_get(r, PING_LINE(r), 2 * i))
			return;
		line_put(PONG_LINE(r), 2 * i + 1);
	}
}

/* ---- the same lines, woken by eventfds -------------------------------- */

static int s_eventfd(struct run *r)
{
	if (s_line(r))
		return -1;
	st.fd[0] = eventfd(0, EFD_CLOEXEC);	/* the parent blocks on it */
	st.fd[1] = eventfd(0, EFD_CLOEXEC);
	if (st.fd[0] < 0 || st.fd[1] < 0) {
		fail(r, "eventfd: %s", strerror(errno));
		return -1;
	}
	return 0;
}

static int efd_ring(struct run *r, int fd)
{
	uint64_t one = 1;

	if (write(fd, &one, 8) == 8)
		return 0;
	fail(r, "eventfd write: %s", strerror(errno));
	return -1;
}

static int efd_block(struct run *r, int fd)
{
	uint64_t v;

	if (read(fd, &v, 8) == 8)
		return 0;
	fail(r, "eventfd read: %s", errno == EINTR ? "timed out" :
	     strerror(errno));
	return -1;
}

static void p_eventfd(struct run *r)
{
	uint64_t i, t;

	for (i = 0; i < r->n; i++) {
		idle_ns(WAKE_IDLE_NS);
		t = now_ns();
		line_put(PING_LINE(r), 2 * i);
		if (efd_ring(r, st.fd[1]) || efd_block(r, st.fd[0]) ||
		    line_get(r, PONG_LINE(r), 2 * i + 1))
			return;
		r->lat[i] = (double)(now_ns() - t);
	}
}

static void c_eventfd(struct run *r)
{
	uint64_t i;

	consumer_ready(r);
	for (i = 0; i < r->n; i++) {
		if (efd_block(r, st.fd[1]) ||
		    line_get(r, PING_LINE(r), 2 * i))
			return;
		line_put(PONG_LINE(r), 2 * i + 1);
		if (efd_ring(r, st.fd[0]))
			return;
	}
}

/* ---- Unix sockets --------------------------------------------------------- */

static int s_sock(struct run *r, int type, size_t msg, size_t bufs)
{
	if (sys_setup(r, msg, bufs))
		return -1;
	if (socketpair(AF_UNIX, type | SOCK_CLOEXEC, 0, st.fd)) {
		fail(r, "socketpair: %s", strerror(errno));
		return -1;
	}
	return 0;
}

static int s_seqpacket(struct run *r)
{
	return s_sock(r, SOCK_SEQPACKET, MSG_SMALL, BATCH);
}

static int s_stream(struct run *r)
{
	return s_sock(r, SOCK_STREAM, MSG_BIG, 1);
}

/* Each process keeps its own end only, so a dead peer reads as EOF. */
static void own_end(int parent)
{
	close(st.fd[parent]);
	st.fd[parent] = -1;
}

static const char *io_err(ssize_t n)
{
	return n == 0 ? "peer closed" : errno == EINTR ? "timed out" :
	       strerror(errno);
}

static void p_seqpacket(struct run *r)
{
	uint64_t seq;
	ssize_t n;

	own_end(1);
	for (seq = 0; seq < r->n; seq++) {
		payload_write(st.buf, MSG_SMALL, seq, st.ps);
		n = send(st.fd[0], st.buf, MSG_SMALL, 0);
		if (n != MSG_SMALL) {
			fail(r, "send: %s", io_err(n));
			return;
		}
	}
}

static void c_seqpacket(struct run *r)
{
	uint64_t seq;
	ssize_t n;

	own_end(0);
	consumer_ready(r);
	for (seq = 0; seq < r->n; seq++) {
		/* room for a longer message, so that one shows */
		n = recv(st.fd[1], st.buf, 2 * MSG_SMALL, 0);
		if (n <= 0) {
			fail(r, "recv: %s", io_err(n));
			return;
		}
		if (payload_check(r, st.buf, (size_t)n, MSG_SMALL, seq,
				  st.ps))
			return;
	}
	r->ctl->t_end = now_s();
}

static void p_mmsg(struct run *r)
{
	struct mmsghdr mh[BATCH];
	struct iovec iov[BATCH];
	unsigned int i, k;
	uint64_t seq = 0;
	int n;

	own_end(1);
	while (seq < r->n) {
		k = r->n - seq < BATCH ? (unsigned int)(r->n - seq) : BATCH;
		for (i = 0; i < k; i++) {
			payload_write(st.buf + i * MSG_SMALL, MSG_SMALL,
				      seq + i, st.ps);
			iov[i] = (struct iovec){ st.buf + i * MSG_SMALL,
						 MSG_SMALL };
			mh[i] = (struct mmsghdr){ .msg_hdr = {
				.msg_iov = &iov[i], .msg_iovlen = 1 } };
		}
		for (i = 0; i < k; i += (unsigned int)n) {
			n = sendmmsg(st.fd[0], mh + i, k - i, 0);
			if (n <= 0) {
				fail(r, "sendmmsg: %s", io_err(n));
				return;
			}
		}
		seq += k;
	}
}

static void c_mmsg(struct run *r)
{
	/* room for a longer message each, so that one shows */
	static unsigned char big[BATCH][2 * MSG_SMALL];
	struct mmsghdr mh[BATCH];
	struct iovec iov[BATCH];
	uint64_t seq = 0;
	int i, n;

	own_end(0);
	consumer_ready(r);
	for (i = 0; i < BATCH; i++)
		iov[i] = (struct iovec){ big[i], sizeof(big[i]) };
	while (seq < r->n) {
		for (i = 0; i < BATCH; i++)
			mh[i] = (struct mmsghdr){ .msg_hdr = {
				.msg_iov = &iov[i], .msg_iovlen = 1 } };
		n = recvmmsg(st.fd[1], mh, BATCH, MSG_WAITFORONE, NULL);
		if (n <= 0) {
			fail(r, "recvmmsg: %s", io_err(n));
			return;
		}
		for (i = 0; i < n; i++, seq++)
			if (payload_check(r, big[i], mh[i].msg_len,
					  MSG_SMALL, seq, st.ps))
				return;
	}
	r->ctl->t_end = now_s();
}

static void p_stream(struct run *r)
{
	uint64_t seq;
	size_t done;
	ssize_t n;

	own_end(1);
	for (seq = 0; seq < r->n; seq++) {
		payload_write(st.buf, MSG_BIG, seq, st.ps);
		for (done = 0; done < MSG_BIG; done += (size_t)n) {
			n = write(st.fd[0], st.buf + done, MSG_BIG - done);
			if (n <= 0) {
				fail(r, "write: %s", io_err(n));
				return;
			}
		}
	}
}

static void c_stream(struct run *r)
{
	uint64_t seq;
	size_t done;
	ssize_t n;

	own_end(0);
	consumer_ready(r);
	for (seq = 0; seq < r->n; seq++) {
		for (done = 0; done < MSG_BIG; done += (size_t)n) {
			n = read(st.fd[1], st.buf + done, MSG_BIG - done);
			if (n <= 0) {
				fail(r, "read: %s", io_err(n));
				return;
			}
		}
		if (payload_check(r, st.buf, MSG_BIG, MSG_BIG, seq, st.ps))
			return;
	}
	r->ctl->t_end = now_s();
}

const struct bench_case sys_cases[] = {
	{ "ref_shm_pingpong", K_LATENCY, 0, 3e5, 1000, 4096, NULL,
	  s_line, p_pingpong, c_pingpong, sys_teardown },
	{ "ref_eventfd_rtt", K_LATENCY, 0, 3000, 50, 4096, NULL,
	  s_eventfd, p_eventfd, c_eventfd, sys_teardown },
	{ "ref_seqpacket_64", K_RATE_MSGS, 0, 3e5, 1000, 4096, NULL,
	  s_seqpacket, p_seqpacket, c_seqpacket, sys_teardown },
	{ "ref_seqpacket_64_mmsg", K_RATE_MSGS, 0, 1e6, 1000, 4096, NULL,
	  s_seqpacket, p_mmsg, c_mmsg, sys_teardown },
	{ "ref_uds_stream_64k", K_RATE_BYTES, 0, 1e4, 100, 4096, NULL,
	  s_stream, p_stream, c_stream, sys_teardown },
	{ NULL },
};
