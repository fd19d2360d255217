/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * libivshm: shared memory, doorbells and message rings over QEMU's ivshmem
 * device, with one API on the host and in Linux guests.
 *
 * Conventions (libivshm(7) states them once, in full):
 * - Calls returning int or ssize_t give 0 (or a count, or an fd) on
 *   success and a negative errno on failure, and leave errno alone: it is
 *   neither set nor clobbered, whatever the call does inside.
 * - Constructors (ivshm_open, ivshm_region_format, ivshm_region_open,
 *   ivshm_chan_create, ivshm_chan_attach) return a handle, or NULL with
 *   errno set; errno changes only when they return NULL.
 * - Destructors accept NULL and leave errno alone.
 * - Every struct the library fills (or hands to a callback) starts with
 *   uint32_t size, so it can grow.  Caller's memory: the caller sets size
 *   to sizeof(its struct), at least the struct's IVSHM_*_SIZE_V1; the
 *   library fills min(that, its own size) bytes and sets size to that
 *   number.  An array is one size for all: the first element's size is
 *   the stride, and every element filled gets the size filled.  Library's
 *   memory: size is the bytes valid; test a field with IVSHM_HAS_FIELD().
 * - Symbols are versioned (IVSHM_0.1, ...); IVSHM_VERSION_* give the
 *   version compiled against, ivshm_version_check() the one running.
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

/*
 * The version of this header, the one source of the project's version
 * (the Makefile, pkg-config file and packages read it from here).  The
 * shared library's soname (libivshm.so.1) is the ABI: it changes only if
 * a released symbol ever changes incompatibly, which the versioned
 * symbol nodes are there to avoid.
 */
#define IVSHM_VERSION_MAJOR	0
#define IVSHM_VERSION_MINOR	2
#define IVSHM_VERSION_PATCH	0

#define IVSHM_STR_(x)	#x
#define IVSHM_STR(x)	IVSHM_STR_(x)
#define IVSHM_VERSION_STRING	IVSHM_STR(IVSHM_VERSION_MAJOR) "." \
				IVSHM_STR(IVSHM_VERSION_MINOR) "." \
				IVSHM_STR(IVSHM_VERSION_PATCH)

/* True (at compile time) if this header is at least @major.@minor. */
#define IVSHM_CHECK_VERSION(major, minor)				\
	(IVSHM_VERSION_MAJOR > (major) ||				\
	 (IVSHM_VERSION_MAJOR == (major) && IVSHM_VERSION_MINOR >= (minor)))

/* The running library's version string, e.g. "0.1.0". */
IVSHM_EXPORT const char *ivshm_version(void);

/* The running library's major and minor version numbers. */
IVSHM_EXPORT int ivshm_version_major(void);
IVSHM_EXPORT int ivshm_version_minor(void);

/*
 * ivshm_version_check - whether the running library provides what the
 * caller was built for: the same major version and at least @minor.
 * Pass IVSHM_VERSION_MAJOR and IVSHM_VERSION_MINOR to check that the
 * library loaded at run time is not older than the header compiled with.
 * @return 0, -EINVAL (negative number), or -ENOTSUP (the running library
 * is older, or of another major version).
 */
IVSHM_EXPORT int ivshm_version_check(int major, int minor);

/*
 * Whether @p, a struct of the library's memory that starts with its
 * size (such as the event handed to an ivshm_event_cb), has @field.
 */
#define IVSHM_HAS_FIELD(p, field)					\
	((p)->size >= offsetof(__typeof__(*(p)), field) + sizeof((p)->field))

/* ---- device layer ---------------------------------------------------- */

/*
 * A device handle: one shared-memory region, mapped whole (MAP_SHARED) at
 * open, plus this peer's doorbells when the backend has them.
 *
 * Targets (one syntax for the library and the tools):
 *   /dev/ivshmN, /dev/ivshm/by-path/...  guest: the ivshm driver's device
 *   unix:PATH   host: a peer of an ivshm-server (QEMU's protocol), with
 *               doorbells and join/leave notifications
 *   shm:PATH    host: an existing file (e.g. in /dev/shm) mapped as is;
 *               memory only, no doorbells (like ivshmem-plain)
 *
 * Which calls each backend supports:
 *                       guest doorbell  guest plain  unix:   shm:
 *   size/base           yes             yes          yes     yes
 *   peer_id             yes             -EOPNOTSUPP  yes     -EOPNOTSUPP
 *   vectors             yes             0            yes     0
 *   ring                yes             -EOPNOTSUPP  yes     -EOPNOTSUPP
 *   wait, vector/all fd yes (*)         -EOPNOTSUPP  yes     -EOPNOTSUPP
 *   peers, events       -EOPNOTSUPP     -EOPNOTSUPP  yes     -EOPNOTSUPP
 * (*) -ENXIO if the guest could not enable MSI-X.  A guest cannot know
 * which peers are connected: the device does not tell it.
 *
 * Doorbells are fire and forget and counts coalesce: after every wake-up,
 * re-check the shared data.  Make data visible before ringing (the calls
 * here include the needed barrier).
 *
 * Threads: ivshm_ring(), ivshm_wait() and ivshm_wait_any() may be called
 * from several threads at once on one handle; the rest of the calls, and
 * ivshm_close(), need the caller's serialisation.
 */
struct ivshm_dev;

/*
 * ivshm_open() flags.  IVSHM_OPEN_VECTORS(n) (1..1024) tells a unix:
 * target how many vectors this peer uses (the server's count): the
 * handshake then ends as soon as our n eventfds arrived (if the server
 * has fewer vectors: 100 ms after the last message), and extra ones are
 * closed.  Without it, the environment variable IVSHM_VECTORS is used;
 * without that, the handshake ends 100 ms after the last message once our
 * first own eventfd arrived (QEMU's protocol has no end-of-setup marker),
 * and the count is the number of own eventfds received.  Other targets
 * ignore the vector count.
 */
#define IVSHM_OPEN_VECTORS(n)	(((unsigned int)(n) & 0x7ffu) << 16)
#define IVSHM_OPEN_VECTORS_MASK	(0x7ffu << 16)

/* The unix: handshake must complete within this time (-ETIMEDOUT). */
#define IVSHM_HANDSHAKE_TIMEOUT_MS	5000
/* Quiet period ending an auto-counted handshake (see above). */
#define IVSHM_HANDSHAKE_QUIET_MS	100

/*
 * ivshm_open - open a target and map its shared memory.
 * @target: see above.  @flags: 0 or IVSHM_OPEN_VECTORS(n).
 * @return a handle owned by the caller (free it with ivshm_close()), or
 * NULL with errno: EINVAL (NULL, empty or unknown target, unknown flags,
 * empty shm: file), ENOENT/EACCES/... (from open/connect), ENODEV (not an
 * ivshm device), EPROTO (server broke the protocol: wrong version, id out
 * of range, missing or unexpected fd, bad memory size), EMFILE (unix: the
 * server's peers need one fd per peer and vector, more than the hard
 * RLIMIT_NOFILE allows; the soft limit is raised toward the hard one as
 * needed, process-wide), EUSERS (unix: the server is full, it refused
 * us for its --max-peers), ECONNRESET (server
 * closed the connection during the handshake), ETIMEDOUT (no complete
 * handshake within IVSHM_HANDSHAKE_TIMEOUT_MS), ENOMEM.
 */
IVSHM_EXPORT struct ivshm_dev *ivshm_open(const char *target,
					  unsigned int flags);

/*
 * ivshm_close - unmap, close every fd the handle owns, free it.  Accepts
 * NULL.  Pointers from ivshm_base() and fds from the *_fd() calls become
 * invalid.  A unix: peer leaves the server (the others see it leave).
 */
IVSHM_EXPORT void ivshm_close(struct ivshm_dev *dev);

/* Bytes of shared memory (> 0). */
IVSHM_EXPORT size_t ivshm_size(const struct ivshm_dev *dev);

/*
 * Start of the mapping of the whole shared memory (owned by the handle,
 * valid until ivshm_close()).  A guest mapping raises SIGBUS once the
 * device has been removed.
 */
IVSHM_EXPORT void *ivshm_base(const struct ivshm_dev *dev);

/* Backends (struct ivshm_dev_info). */
#define IVSHM_BACKEND_GUEST	1	/* /dev/ivshmN */
#define IVSHM_BACKEND_UNIX	2	/* unix: */
#define IVSHM_BACKEND_SHM	3	/* shm: */

/* Flags of struct ivshm_dev_info. */
#define IVSHM_INFO_DOORBELLS	0x1u	/* we can ring peers */
#define IVSHM_INFO_SEALED	0x2u	/* host memory sealed against
					 * shrinking (F_SEAL_SHRINK) */

/*
 * What the library knows about a handle.  The caller sets @size to
 * sizeof(struct ivshm_dev_info) (at least IVSHM_INFO_SIZE_V1); the library
 * fills min(size, its own) bytes and sets @size to that (see the top).
 */
struct ivshm_dev_info {
	uint32_t size;		/* in: caller's size; out: bytes filled */
	uint32_t flags;		/* IVSHM_INFO_* */
	uint32_t backend;	/* IVSHM_BACKEND_* */
	uint32_t seals;		/* host: F_GET_SEALS of the memory at open,
				 * 0 if it has none (guest: 0) */
	uint64_t mem_size;	/* bytes of shared memory */
};
#define IVSHM_INFO_SIZE_V1	24

/*
 * ivshm_dev_info - fill *@info (see struct ivshm_dev_info).  A host mapping
 * without IVSHM_INFO_SEALED can be truncated by any process that can
 * open the memory, and this process then dies of SIGBUS at its next
 * access past the new end: ivshm-server's default memory is sealed; QEMU's
 * own server and plain files are not.
 * @return 0, or -EINVAL (@info NULL or @info->size too small).
 */
IVSHM_EXPORT int ivshm_dev_info(const struct ivshm_dev *dev,
			    struct ivshm_dev_info *info);

/* Our peer id (0..65535), or -EOPNOTSUPP without doorbells. */
IVSHM_EXPORT int ivshm_peer_id(const struct ivshm_dev *dev);

/* Number of vectors we receive on (0 without doorbells). */
IVSHM_EXPORT int ivshm_vectors(const struct ivshm_dev *dev);

/*
 * ivshm_peers - the other peers known to be connected (unix: only), as
 * far as the server's notifications processed so far tell.
 * @ids: filled with up to @max ids, lowest first (may be NULL if @max 0).
 * @return the number of known peers (may exceed @max), or -EOPNOTSUPP
 * (guest, shm:).
 */
IVSHM_EXPORT int ivshm_peers(struct ivshm_dev *dev, uint16_t *ids,
			     unsigned int max);

/*
 * ivshm_ring - ring @vector of @peer (ourselves included).  Fire and
 * forget.  @return 0, or -EINVAL (peer above 65535, vector above 255 in a
 * guest), -EOPNOTSUPP (no doorbells), -ENXIO (unix: the peer or vector is
 * not connected, after catching up with pending server messages; a guest
 * cannot tell and returns 0), -EPROTO (unix: the server sent this peer a
 * non-eventfd; the peer is ignored), -EMFILE (unix: no fd slot was left
 * for this peer's eventfds when it joined; ignored too), -ENODEV (guest
 * device removed), or
 * another errno from the write.  Never blocks: unix: peer fds are checked
 * to be eventfds and made non-blocking on arrival.
 */
IVSHM_EXPORT int ivshm_ring(struct ivshm_dev *dev, unsigned int peer,
			    unsigned int vector);

/*
 * ivshm_wait - wait up to @timeout_ms (-1: forever, 0: just check) for
 * @vector to fire, and consume it.
 * @return the number of doorbells coalesced (>= 1), or -ETIMEDOUT,
 * -EINVAL (vector out of range), -EOPNOTSUPP (no doorbells), -ENXIO (guest
 * without MSI-X), -ENODEV (guest device removed), -EINTR (signal).
 */
IVSHM_EXPORT int ivshm_wait(struct ivshm_dev *dev, unsigned int vector,
			    int timeout_ms);

/* One fired vector reported by ivshm_wait_any(). */
struct ivshm_fired {
	uint32_t size;		/* in (first record): the caller's
				 * sizeof(struct ivshm_fired); out: filled */
	uint32_t vector;
	uint64_t count;		/* doorbells coalesced since last consumed */
};
#define IVSHM_FIRED_SIZE_V1	16

/*
 * ivshm_wait_any - wait up to @timeout_ms for any vector, then consume
 * every fired vector: up to @max records, lowest vector first (vectors
 * that did not fit stay pending).  Set @ev[0].size to sizeof(*ev) first:
 * it is the stride of the array (see the top).
 * @return the number of records (>= 1), or the errors of ivshm_wait(),
 * -EINVAL (@ev NULL, @max 0, @ev[0].size below IVSHM_FIRED_SIZE_V1).
 */
IVSHM_EXPORT int ivshm_wait_any(struct ivshm_dev *dev, struct ivshm_fired *ev,
				unsigned int max, int timeout_ms);

/*
 * ivshm_vector_fd - an fd that becomes readable (POLLIN) when @vector
 * fires, for the caller's own poll/epoll loop: an eventfd (guest: bound
 * to the vector through the driver; unix: the one the server gave us).
 * Consume it with ivshm_wait(dev, vector, 0) or by read(2)ing 8 bytes
 * (it is non-blocking).  Owned by the handle: do not close it.
 * @return the fd, or -EINVAL, -EOPNOTSUPP, -ENXIO.
 */
IVSHM_EXPORT int ivshm_vector_fd(struct ivshm_dev *dev, unsigned int vector);

/*
 * ivshm_all_fd - one fd readable while any vector is pending (an epoll
 * fd over the vector fds; in a guest it also reports EPOLLIN|EPOLLHUP when
 * the device is removed).  Consume with ivshm_wait_any(dev, ..., 0) or by
 * the vector calls.  Owned by the handle: do not close it.
 * @return the fd, or -EOPNOTSUPP, -ENXIO.
 */
IVSHM_EXPORT int ivshm_all_fd(struct ivshm_dev *dev);

/* Peer events (unix: only). */
enum ivshm_peer_event_type {
	IVSHM_PEER_JOIN = 1,		/* peer connected, all vectors known */
	IVSHM_PEER_LEAVE = 2,		/* peer disconnected */
	IVSHM_SERVER_GONE = 3,	/* server connection lost: known
					 * peers keep working, no new ones */
	IVSHM_EVENTS_DROPPED = 4,	/* the queue overflowed: older events
					 * were lost; re-read ivshm_peers() */
};

/*
 * Events queued while nobody processes them: beyond this, the oldest are
 * dropped, and the next ivshm_process_events() starts with one
 * IVSHM_EVENTS_DROPPED (peer -1).  The queue is also fed while channels
 * sleep (they ask the server whether their peer still lives), so an
 * application that never processes events uses a bounded amount of
 * memory (IVSHM_EVENTS_MAX * sizeof(struct ivshm_peer_event)).
 */
#define IVSHM_EVENTS_MAX	1024

/* The library's memory: @size is the bytes valid (IVSHM_HAS_FIELD). */
struct ivshm_peer_event {
	uint32_t size;
	int type;			/* enum ivshm_peer_event_type */
	int peer;			/* peer id; -1 for SERVER_GONE and
					 * EVENTS_DROPPED */
};
#define IVSHM_PEER_EVENT_SIZE_V1	12

typedef void (*ivshm_event_cb)(struct ivshm_dev *dev,
			       const struct ivshm_peer_event *ev, void *arg);

/*
 * ivshm_set_event_cb - call @cb(dev, event, @arg) for every peer event,
 * from ivshm_process_events() only.  NULL stops the calls (events are
 * still processed).  @return 0 or -EOPNOTSUPP (guest, shm:).
 */
IVSHM_EXPORT int ivshm_set_event_cb(struct ivshm_dev *dev, ivshm_event_cb cb,
				    void *arg);

/*
 * ivshm_event_fd - an fd readable while peer events are pending (server
 * messages or events queued by ivshm_ring()); call ivshm_process_events()
 * then.  Owned by the handle.  @return the fd or -EOPNOTSUPP.
 */
IVSHM_EXPORT int ivshm_event_fd(struct ivshm_dev *dev);

/*
 * ivshm_process_events - wait up to @timeout_ms (-1: forever, 0: not at
 * all) for peer events, then handle all pending ones: update the peer
 * table and call the callback for each.
 * @return the number of events handled (0 if none came in time), or
 * -ECONNRESET once the server connection is gone and its
 * IVSHM_SERVER_GONE was handled, -EOPNOTSUPP (guest, shm:), -EINTR.
 */
IVSHM_EXPORT int ivshm_process_events(struct ivshm_dev *dev, int timeout_ms);

/* Description of a guest device found by ivshm_list(). */
struct ivshm_devinfo {
	uint32_t size;			/* bytes filled (see ivshm_list) */
	const char *name;		/* "ivshm0" */
	const char *node;		/* "/dev/ivshm0", or NULL if none yet */
	const char *pci;		/* PCI address "0000:00:03.0", or NULL */
	const char *mode;		/* "plain" or "doorbell" */
	const char *irq_mode;		/* "none", "msix" or "intx" */
	uint64_t mem_size;		/* bytes of shared memory */
	int peer_id;			/* doorbell mode; -1 if unknown */
	unsigned int vectors;
	const char *const *links;	/* stable names (udev devlinks, e.g.
					 * /dev/ivshm/by-path/...), NULL-ended */
};
#define IVSHM_DEVINFO_SIZE_V1	72

/*
 * ivshm_list - the ivshm devices of this system (libudev, subsystem
 * "ivshm"), in order of their number.
 * @list: set to an array of the returned count entries plus one zeroed
 * entry (name NULL); owned by the caller, free it with ivshm_list_free().
 * @entry_size: sizeof(struct ivshm_devinfo) as the caller knows it (at
 * least IVSHM_DEVINFO_SIZE_V1): the array's stride; each entry's size
 * says how many bytes of it the library filled (see the top).
 * @return the number of devices (0 on a host without any, not an error),
 * or -EINVAL, -ENOMEM, or another errno from libudev.
 */
IVSHM_EXPORT int ivshm_list(struct ivshm_devinfo **list, size_t entry_size);

/* Free a list from ivshm_list() (NULL accepted). */
IVSHM_EXPORT void ivshm_list_free(struct ivshm_devinfo *list);

/*
 * Adapter for the message rings (struct ivshm_signal, below): a channel
 * whose peer is @peer, ringing it on @tx_vector and waiting on our
 * @rx_vector.  @ctx is caller-owned storage that must outlive the channel;
 * @sig is filled (notify rings, wait waits on rx_vector and consumes it,
 * fd is rx_vector's fd, peer_alive on unix: says 0 once the server
 * announced @peer gone, 1 while it is connected, -1 if unknown; NULL in a
 * guest).  Give every channel its own rx vector: a wait consumes the
 * vector's doorbell.  The caller sets @ctx->size and @sig->size to their
 * sizeof first (see the top).
 * @return 0, or -EINVAL (vector out of range, a size below its
 * IVSHM_*_SIZE_V1), -EOPNOTSUPP (no doorbells: pass a NULL signal to the
 * ring calls to poll instead), -ENXIO (guest without MSI-X).
 */
struct ivshm_signal;
struct ivshm_sigctx {
	uint32_t size;			/* the caller's sizeof */
	struct ivshm_dev *dev;
	unsigned int peer;
	unsigned int tx_vector;
	unsigned int rx_vector;
};
#define IVSHM_SIGCTX_SIZE_V1	32

IVSHM_EXPORT int ivshm_dev_signal(struct ivshm_dev *dev, unsigned int peer,
				  unsigned int tx_vector,
				  unsigned int rx_vector,
				  struct ivshm_sigctx *ctx,
				  struct ivshm_signal *sig);

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
 * our side was taken over by another attach; sticky, from the next call
 * on, and nothing is published after it), -EPIPE (the peer
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
#define IVSHM_CHAN_AUTODELETE	0x400u	/* create: free it once both sides
					 * have detached */
#define IVSHM_CHAN_TAKEOVER	0x200u	/* attach: replace a dead attachment */

struct ivshm_region;
struct ivshm_chan;

/*
 * How one side wakes its peer and waits for it.  Set @size to
 * sizeof(struct ivshm_signal) (ivshm_dev_signal() does it when it fills
 * one); a channel uses the fields that fit in min(size, its own), the
 * others are NULL.  The library copies the struct; ctx must stay valid
 * while the channel is open.  The library keeps errno across the calls
 * it makes to these callbacks.
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
	uint32_t size;
	int (*notify)(void *ctx);
	int (*wait)(void *ctx, int timeout_ms);
	int (*peer_alive)(void *ctx);
	int fd;
	void *ctx;
};
#define IVSHM_SIGNAL_SIZE_V1	48

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

/* Longest region label, including the terminating NUL. */
#define IVSHM_REGION_LABEL_MAX	32

/*
 * ivshm_region_set_label - give the region a human name (normally by the
 * side that formatted it), e.g. for /dev/ivshm/by-name/@label in guests.
 * @label: 1..31 characters of [A-Za-z0-9._-], not "." or "..".
 * The label is written into a new 64-byte block allocated like a channel
 * (it uses 64 bytes of the region; setting the same label again uses
 * none), then published with one release store, so a reader sees the old
 * label or the new one, never a mix.  ivshm_region_format() removes it.
 * @return 0, or -EINVAL (bad argument or label), -ENOSPC (no room), -EAGAIN
 * (region not formatted), -EPROTO (bad region header), -EPROTONOSUPPORT.
 */
IVSHM_EXPORT int ivshm_region_set_label(struct ivshm_region *r,
					const char *label);

/*
 * ivshm_region_label - copy the region's label into @buf (@cap bytes,
 * IVSHM_REGION_LABEL_MAX is always enough), NUL-terminated.  The shared
 * memory is only read; the label is copied once, then validated (block
 * within the region, magic, a NUL within bounds, the characters allowed
 * by ivshm_region_set_label), so what is returned is safe to use as a file
 * name.
 * @return the label's length (1..31), or -EINVAL, -ERANGE (@cap too small),
 * -ENODATA (no label), -EPROTO (malformed label or region header), -EAGAIN
 * (region not formatted), -EPROTONOSUPPORT (other layout version).
 */
IVSHM_EXPORT ssize_t ivshm_region_label(struct ivshm_region *r, char *buf,
					size_t cap);

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
 * IVSHM_CHAN_AUTODELETE: the channel is deleted, its slot and space
 * reused by later channels, when both sides have attached and then
 * detached (closed); what is still queued then is dropped.  A region
 * with client churn uses it so that it never runs out of slots or
 * space.  Without it a channel lives until the region is formatted.
 * @sig may be NULL (polling).  When both sides create the same name at
 * once, exactly one succeeds; the other gets EEXIST (attach then).
 * Return: a new handle (close with ivshm_chan_close), or NULL with errno
 * EINVAL (also @sig->size below IVSHM_SIGNAL_SIZE_V1), EEXIST, ENOSPC (no free slot or space), EPROTO (corrupt
 * region), EAGAIN (region not formatted, or a concurrent creation of the
 * name did not settle within a second), EPROTONOSUPPORT, ENOMEM.
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
 * during the call.  Like a pointer from ivshm_chan_peek, @data points into
 * shared memory: a hostile peer may change the bytes while you read them.
 * Read each byte you use once, validate what you read, and copy what you
 * keep (decide on the copy, not on a second read).  Return 0 to go on,
 * non-zero to stop after this one.
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
	uint32_t size;		/* in: the caller's sizeof; out: filled */
	uint32_t reserved;
	uint64_t notifies;	/* doorbells rung for the peer */
	uint64_t waits;		/* calls that had to wait (spin or sleep) */
	uint64_t sleeps;	/* waits that slept (on the doorbell, or in
				 * polling sleeps): one per wait, however
				 * many slices or early wakes it took */
	uint64_t backstops;	/* sleeps ended by their re-check timeout with
				 * the ring ready: a lost doorbell (never, if
				 * the protocol is right) */
};
#define IVSHM_CHAN_STATS_SIZE_V1	40

/*
 * Copy the counters into *@st; set @st->size to sizeof(*st) first (see the
 * top).  Return: 0 or -EINVAL (NULL, size below IVSHM_CHAN_STATS_SIZE_V1).
 */
IVSHM_EXPORT int ivshm_chan_stats(const struct ivshm_chan *c,
				  struct ivshm_chan_stats *st);

/* States of struct ivshm_chan_info. */
#define IVSHM_CHAN_STATE_INIT	1	/* being created (or deleted): only
					 * name/slot */
#define IVSHM_CHAN_STATE_READY	2	/* published and fully validated */
#define IVSHM_CHAN_STATE_BAD	3	/* entry or header fails validation */

/* Flags of struct ivshm_chan_info (READY channels only). */
#define IVSHM_CHAN_INFO_PRODUCER	0x1u	/* a producer is attached */
#define IVSHM_CHAN_INFO_CONSUMER	0x2u	/* a consumer is attached */
#define IVSHM_CHAN_INFO_PRODUCER_LEFT	0x4u	/* one was, and detached */
#define IVSHM_CHAN_INFO_CONSUMER_LEFT	0x8u	/* one was, and detached */

/* One channel of a region, as seen by ivshm_region_channels(). */
struct ivshm_chan_info {
	uint32_t size;			/* in (first entry): the caller's
					 * sizeof; out: bytes filled */
	uint32_t slot;			/* index in the channel table */
	uint32_t state;			/* IVSHM_CHAN_STATE_* */
	uint32_t flags;			/* IVSHM_CHAN_INFO_* */
	uint32_t generation;		/* bumped by every (re-)creation */
	uint32_t reserved;
	char name[IVSHM_CHAN_NAME_MAX];	/* NUL-terminated; "" if the entry's
					 * name is not terminated */
	uint64_t offset;		/* channel header, from the region base */
	uint64_t ring_size;		/* ring bytes (0 unless READY) */
	uint64_t max_msg;		/* largest message (0 unless READY) */
	uint64_t queued;		/* ring bytes in use: committed records
					 * with their headers and padding */
};
#define IVSHM_CHAN_INFO_SIZE_V1	88

/*
 * ivshm_region_channels - list the channels of a region, read-only (the
 * shared memory is not written).  Every entry in use (state not free) is
 * reported, lowest slot first; a READY entry has passed the checks of
 * ivshm_chan_attach() (name, geometry, no overlap, header, indices), or is
 * reported as BAD instead.  Each entry is a consistent snapshot of itself,
 * not of the whole table.
 * @out: filled with up to @max entries (may be NULL if @max is 0); set
 * @out[0].size to sizeof(*out) first: it is the stride (see the top).
 * @return the number of channels in use (may exceed @max), or -EINVAL
 * (also @out[0].size below IVSHM_CHAN_INFO_SIZE_V1),
 * -EAGAIN (region not formatted), -EPROTO (bad region header),
 * -EPROTONOSUPPORT (other layout version).
 */
IVSHM_EXPORT int ivshm_region_channels(struct ivshm_region *r,
				       struct ivshm_chan_info *out,
				       unsigned int max);

/* ---- peer directory --------------------------------------------------- */

/*
 * Peers find each other by name: each peer registers a name with its
 * peer id (ivshm_peer_id() of its device) in a directory inside the ring
 * region, and others look the name up.  An entry also carries a boot
 * number (tells a restarted peer from the old one) and a heartbeat, a
 * counter its owner bumps: a reader that sees it stand still for longer
 * than the owner's period may judge the peer gone.  Everything read from
 * the directory is validated: a hostile entry is skipped, never trusted.
 * The layout is in docs/wire-format.md ("Peer directory").
 */

/* Longest peer name, including the terminating NUL. */
#define IVSHM_PEER_NAME_MAX	32
/* Peer directory entries per region. */
#define IVSHM_PEER_MAX		64

/* ivshm_peer_register: take over an entry of the same name (a restart). */
#define IVSHM_PEER_REPLACE	0x1u

/* Flags of struct ivshm_peer_info. */
#define IVSHM_PEER_INFO_SELF	0x1u	/* registered through this handle */

/* One registered peer, as seen by ivshm_peer_list(). */
struct ivshm_peer_info {
	uint32_t size;			/* in (first entry): the caller's
					 * sizeof; out: bytes filled */
	uint32_t slot;			/* index in the directory */
	uint32_t peer_id;		/* 0..65535 */
	uint32_t flags;			/* IVSHM_PEER_INFO_* */
	uint64_t boot;			/* as registered */
	uint64_t heartbeat;		/* owner's counter, now */
	char name[IVSHM_PEER_NAME_MAX];	/* NUL-terminated */
};
#define IVSHM_PEER_INFO_SIZE_V1	64

/*
 * ivshm_peer_register - publish @name for @peer_id in the region's peer
 * directory (allocating the directory, 4160 bytes, the first time).  One
 * entry per region handle; ivshm_peer_unregister() or
 * ivshm_region_close() removes it.
 * @name: 1..31 characters of [A-Za-z0-9._-], not "." or "..".
 * @peer_id: 0..65535.
 * @boot: any number that changes when the registrant restarts (0: the
 * library uses the current CLOCK_REALTIME in nanoseconds).
 * @flags: 0 or IVSHM_PEER_REPLACE (reuse the entry of an existing peer of
 * that name, which then gets -ECONNRESET from its next heartbeat).
 * @return the directory slot (>= 0), or -EINVAL, -EBUSY (this handle is
 * registered already), -EEXIST (the name is taken; also when two peers
 * register it at once, for all but one of them), -ENOSPC (directory
 * full, or no room for it), -EAGAIN (an entry stayed busy for a second,
 * or the region is not formatted), -ESTALE (the region was formatted
 * again since @r was opened), -EPROTO (bad region header or directory),
 * -EPROTONOSUPPORT.
 */
IVSHM_EXPORT int ivshm_peer_register(struct ivshm_region *r, const char *name,
				     unsigned int peer_id, uint64_t boot,
				     unsigned int flags);

/*
 * ivshm_peer_unregister - remove this handle's directory entry.
 * @return 0, or -ENOENT (not registered), -ECONNRESET (another peer
 * replaced the entry; nothing written), -ESTALE (the region was formatted
 * again; nothing written).  The handle is unregistered in every case.
 */
IVSHM_EXPORT int ivshm_peer_unregister(struct ivshm_region *r);

/*
 * ivshm_peer_heartbeat - bump this handle's heartbeat counter (call it
 * periodically; readers judge staleness by its progress).
 * @return 0, or -ENOENT (not registered), -ECONNRESET (replaced),
 * -ESTALE (region formatted again).
 */
IVSHM_EXPORT int ivshm_peer_heartbeat(struct ivshm_region *r);

/*
 * ivshm_peer_lookup - the peer id registered under @name.
 * @return the peer id (0..65535), or -ENOENT (no such name, or no
 * directory yet), -EINVAL, -EAGAIN, -ESTALE, -EPROTO (bad region header
 * or directory), -EPROTONOSUPPORT.
 */
IVSHM_EXPORT int ivshm_peer_lookup(struct ivshm_region *r, const char *name);

/*
 * ivshm_peer_list - the registered peers, lowest slot first; read-only.
 * Entries that are being written for too long or fail validation are left
 * out.
 * @out: filled with up to @max entries (may be NULL if @max is 0); set
 * @out[0].size to sizeof(*out) first: it is the stride (see the top).
 * @return the number of peers registered (may exceed @max), or -EINVAL
 * (also @out[0].size below IVSHM_PEER_INFO_SIZE_V1), -EAGAIN, -ESTALE,
 * -EPROTO, -EPROTONOSUPPORT.  No directory yet: 0.
 */
IVSHM_EXPORT int ivshm_peer_list(struct ivshm_region *r,
				 struct ivshm_peer_info *out,
				 unsigned int max);

#ifdef __cplusplus
}
#endif

#endif /* IVSHM_H */
