/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * libivshm: shared memory, doorbells and message rings over QEMU's ivshmem
 * device, with one API on the host and in Linux guests.
 *
 * Conventions: opaque handles; calls returning int give 0 (or a count) on
 * success and a negative errno on failure, with errno set too;
 * constructors return NULL and set errno; destructors accept NULL.
 */
#ifndef IVSHM_H
#define IVSHM_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#if defined(IVSHM_BUILDING_LIB) || defined(__GNUC__)
#define IVSHM_EXPORT __attribute__((visibility("default")))
#else
#define IVSHM_EXPORT
#endif

#define IVSHM_VERSION_STRING "0.1.0"

/* The library's version string, e.g. "0.1.0". */
IVSHM_EXPORT const char *ivshm_version(void);

/* ---- device layer ---------------------------------------------------- */

/* ---- message rings ---------------------------------------------------- */

/*
 * Single-producer single-consumer message channels inside a shared memory
 * region (BAR2 of an ivshmem device, a shm file, any MAP_SHARED memory).
 * The wire format is in docs/wire-format.md.  The peer is untrusted: every
 * index and length read from shared memory is validated, and a violation
 * makes the handle fail with -EPROTO from then on, never a crash or an
 * access outside the channel.
 *
 * One side formats the region and creates channels by name; the other
 * opens the region and attaches by name.  A handle is either the producer
 * or the consumer end and must be used by one thread at a time.  The memory
 * must stay mapped while region or channel handles exist.
 *
 * Common errors of the channel calls: -EINVAL (bad argument, wrong role),
 * -EAGAIN (non-blocking and nothing to do), -ETIMEDOUT, -EPROTO (the peer
 * broke the protocol; sticky), -ECONNRESET (the channel was re-created or
 * our side was taken over by another attach; sticky), -EPIPE (the peer
 * detached, or signal->peer_alive said it is gone, and we would block).
 *
 * Timeouts: timeout_ms 0 never blocks, > 0 waits at most that long, -1
 * waits until the peer acts or goes away.  A waiting side spins for the
 * spin time (ivshm_chan_set_spin, default 50 us), then announces that it
 * sleeps in the channel header and blocks in signal->wait; the peer rings
 * the doorbell only for such an announcement, so a busy stream rings
 * almost never.  Without a signal it polls with an exponential back-off
 * (1 us .. 1 ms).
 */

#include <sys/types.h>
#include <sys/uio.h>

#define IVSHM_CHAN_NAME_MAX	32	/* including the terminating NUL */
#define IVSHM_CHAN_MAX		64	/* channels per region */
#define IVSHM_CHAN_MIN_RING	256	/* ring bytes, power of two */
#define IVSHM_CHAN_MAX_RING	(1u << 30)
#define IVSHM_REGION_HDR_SIZE	4160	/* header + channel table */
#define IVSHM_CHAN_HDR_SIZE	512	/* per-channel header before its ring */

/* Bytes of region used by a channel with a ring of ring_size bytes. */
#define IVSHM_CHAN_FOOTPRINT(ring_size) (IVSHM_CHAN_HDR_SIZE + (ring_size))

/* Flags of ivshm_chan_create and ivshm_chan_attach. */
#define IVSHM_CHAN_PRODUCER	0x1u	/* this handle sends */
#define IVSHM_CHAN_CONSUMER	0x2u	/* this handle receives */
#define IVSHM_CHAN_RESET	0x100u	/* create: re-create an existing one */
#define IVSHM_CHAN_TAKEOVER	0x200u	/* attach: replace a dead attachment */

struct ivshm_region;
struct ivshm_chan;

/*
 * How one side wakes its peer and waits for it.  The library copies the
 * struct; ctx must stay valid while the channel is open.
 * @notify:	ring the peer's doorbell; 0 or a negative errno (ignored).
 * @wait:	block until our doorbell rings or timeout_ms passes; return 0
 *		on a ring, -ETIMEDOUT, -EINTR (retried) or another negative
 *		errno (returned to the caller).  Spurious returns are fine, and
 *		it must consume (reset) the doorbell it reports.
 * @peer_alive:	optional: > 0 the peer is alive, 0 it is gone (waiters get
 *		-EPIPE), < 0 unknown.
 * @fd:		pollable fd that becomes readable when our doorbell rings, or
 *		-1; returned by ivshm_chan_fd for epoll users.
 */
struct ivshm_signal {
	int (*notify)(void *ctx);
	int (*wait)(void *ctx, int timeout_ms);
	int (*peer_alive)(void *ctx);
	int fd;
	void *ctx;
};

/*
 * Format @size bytes at @base (64-byte aligned, at least
 * IVSHM_REGION_HDR_SIZE) as an empty ring region.  Destroys any channels
 * in it; only the header and table are written (the magic last, with a
 * release store).  Return: a new handle owned by the caller (free with
 * ivshm_region_close), or NULL with errno EINVAL or ENOMEM.
 */
IVSHM_EXPORT struct ivshm_region *ivshm_region_format(void *base, size_t size);

/*
 * Open a region formatted by a peer.  Validates magic, version, header
 * and table sizes, and that the region fits in @size.  Return: a new
 * handle, or NULL with errno EAGAIN (not formatted yet: magic is 0),
 * EPROTO (bad header), EPROTONOSUPPORT (other layout version), EINVAL,
 * ENOMEM.
 */
IVSHM_EXPORT struct ivshm_region *ivshm_region_open(void *base, size_t size);

/* Free a region handle (not the memory; open channels stay usable). */
IVSHM_EXPORT void ivshm_region_close(struct ivshm_region *r);

/* Bytes still free for new channels, or a negative errno (EPROTO). */
IVSHM_EXPORT ssize_t ivshm_region_avail(struct ivshm_region *r);

/*
 * Create channel @name (1..31 bytes) with a ring of @ring_size bytes (power
 * of two, IVSHM_CHAN_MIN_RING..IVSHM_CHAN_MAX_RING), and attach to it as
 * the role in @flags (IVSHM_CHAN_PRODUCER or IVSHM_CHAN_CONSUMER).  The
 * largest message is ring_size / 4 bytes.  The channel is published with a
 * release store after its header is initialised, so a concurrent attach
 * sees either nothing (-ENOENT / -EAGAIN) or the whole channel.
 * IVSHM_CHAN_RESET: if @name exists with the same ring size, re-initialise
 * it (empty, new generation): handles still attached to the old one get
 * -ECONNRESET; use it only when the peer is gone too (to resume after a
 * restart while the peer lives, attach with IVSHM_CHAN_TAKEOVER instead).
 * @sig may be NULL (polling).
 * Return: a new handle (close with ivshm_chan_close), or NULL with errno
 * EINVAL, EEXIST, ENOSPC (no free slot or space), EPROTO (corrupt
 * region), ENOMEM.
 */
IVSHM_EXPORT struct ivshm_chan *ivshm_chan_create(struct ivshm_region *r,
		const char *name, size_t ring_size, unsigned int flags,
		const struct ivshm_signal *sig);

/*
 * Attach to channel @name as the role in @flags.  Validates the table
 * entry and the channel header completely (name termination, offset,
 * size and alignment within the region, no overlap with other channels,
 * magic, version, sizes, generation, indices); later accesses use only
 * the private copies made here.  Fails with EBUSY if that role is already
 * attached, unless IVSHM_CHAN_TAKEOVER (re-attach after a crash: the
 * epoch is bumped, a consumer resumes at the shared consumer index, so
 * messages peeked but not released by the dead one are delivered again).
 * Return: a new handle, or NULL with errno ENOENT, EAGAIN (being
 * created), EBUSY, EPROTO, EPROTONOSUPPORT, EINVAL, ENOMEM.
 */
IVSHM_EXPORT struct ivshm_chan *ivshm_chan_attach(struct ivshm_region *r,
		const char *name, unsigned int flags,
		const struct ivshm_signal *sig);

/*
 * Detach (the peer's waits then fail with -EPIPE once the ring is empty
 * or it would block), ring the peer once and free the handle.  Uncommitted
 * reservations are dropped; peeked but unreleased messages stay in the
 * ring.  NULL is ignored.
 */
IVSHM_EXPORT void ivshm_chan_close(struct ivshm_chan *c);

/*
 * Producer: reserve room for a message of @len bytes (1..max_msg) after
 * any reservations not yet committed, and return a pointer to it in
 * *@data (8-byte aligned, contiguous, valid until commit).  Write the
 * message there, then commit.  Several reservations may precede one
 * commit (batching).  Waits for space per @timeout_ms, but never while
 * earlier reservations are uncommitted (then -EAGAIN: commit first).
 * Return: 0; -EINVAL (len 0), -EMSGSIZE (len > max_msg), common errors.
 */
IVSHM_EXPORT int ivshm_chan_reserve(struct ivshm_chan *c, size_t len,
				    void **data, int timeout_ms);

/* Producer: publish all reserved messages (one release store) and ring the
 * consumer if it announced sleep.  Return: 0 or a sticky error. */
IVSHM_EXPORT int ivshm_chan_commit(struct ivshm_chan *c);

/* Producer: drop all uncommitted reservations.  Return: 0 or error. */
IVSHM_EXPORT int ivshm_chan_abort(struct ivshm_chan *c);

/* Producer: copy one message in (reserve + memcpy + commit); also commits
 * earlier reservations.  Return: 0 or as ivshm_chan_reserve. */
IVSHM_EXPORT int ivshm_chan_send(struct ivshm_chan *c, const void *data,
				 size_t len, int timeout_ms);

/*
 * Producer: send @n messages (each iov is one message) with one commit.
 * Blocks (per @timeout_ms) only until the first one fits; then sends as
 * many as fit.  Return: the number sent (>= 1), or a negative errno if
 * none was (a bad length at msgs[k], k > 0, ends the batch at k).
 */
IVSHM_EXPORT int ivshm_chan_send_many(struct ivshm_chan *c,
		const struct iovec *msgs, unsigned int n, int timeout_ms);

/*
 * Consumer: return the next message not yet peeked in *@data / *@len.
 * The pointer stays valid until ivshm_chan_release, which frees every
 * message peeked so far (peek N times + release once = batch).  The
 * bytes are in shared memory: a hostile peer may change them while you
 * read; copy them (ivshm_chan_recv) if that matters.  Waits per
 * @timeout_ms only if no peeked message is held (else -EAGAIN when
 * empty).  Return: 0 or a common error.
 */
IVSHM_EXPORT int ivshm_chan_peek(struct ivshm_chan *c, const void **data,
				 size_t *len, int timeout_ms);

/* Consumer: free all peeked messages (one release store) and ring the
 * producer if it sleeps waiting for that space.  Return: 0 or error. */
IVSHM_EXPORT int ivshm_chan_release(struct ivshm_chan *c);

/*
 * Consumer: copy the next message into @buf and free it (and everything
 * peeked before).  Return: its length; -EMSGSIZE if @cap is too small
 * (the message stays queued); or a common error.
 */
IVSHM_EXPORT ssize_t ivshm_chan_recv(struct ivshm_chan *c, void *buf,
				     size_t cap, int timeout_ms);

/*
 * Called by ivshm_chan_recv_many for each message; the data is valid only
 * during the call.  Return 0 to go on, non-zero to stop after this one.
 */
typedef int (*ivshm_chan_cb)(const void *data, size_t len, void *arg);

/*
 * Consumer: drain up to @max messages through @cb, releasing the space in
 * large steps.  Blocks (per @timeout_ms) only for the first message.
 * Return: the number consumed (>= 1) or a negative errno if none was.
 */
IVSHM_EXPORT int ivshm_chan_recv_many(struct ivshm_chan *c, ivshm_chan_cb cb,
				      void *arg, unsigned int max,
				      int timeout_ms);

/* The signal's pollable fd (>= 0), or -EOPNOTSUPP if it has none. */
IVSHM_EXPORT int ivshm_chan_fd(struct ivshm_chan *c);

/*
 * For event loops: announce that this side is about to sleep on
 * ivshm_chan_fd, so the peer rings.  Return: 0 armed (poll the fd, drain
 * it, then call the non-blocking operations), 1 ready now (a consumer has
 * a message / a producer has space freed since its last look; do not
 * sleep), or an error.
 */
IVSHM_EXPORT int ivshm_chan_arm(struct ivshm_chan *c);

/* Set the busy-wait time before sleeping (0 .. 1000000 us; default 50). */
IVSHM_EXPORT int ivshm_chan_set_spin(struct ivshm_chan *c, unsigned int spin_us);

/* Largest message (ring_size / 4) in bytes, or 0 for NULL. */
IVSHM_EXPORT size_t ivshm_chan_max_msg(const struct ivshm_chan *c);

/* Counters kept in the handle (process-local). */
struct ivshm_chan_stats {
	uint64_t notifies;	/* doorbells rung for the peer */
	uint64_t waits;		/* calls that had to wait (spin or sleep) */
	uint64_t sleeps;	/* signal->wait calls (or polling sleeps) */
};

/* Copy the counters into *@st.  Return: 0 or -EINVAL. */
IVSHM_EXPORT int ivshm_chan_stats(const struct ivshm_chan *c,
				  struct ivshm_chan_stats *st);

#ifdef __cplusplus
}
#endif

#endif /* IVSHM_H */
