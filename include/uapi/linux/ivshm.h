/* SPDX-License-Identifier: GPL-2.0-only WITH Linux-syscall-note */
/*
 * ivshm: userspace ABI of the ivshm driver for QEMU's ivshmem PCI device.
 *
 * Each device is /dev/ivshmN.  The file supports:
 *
 *  mmap(2)  offset 0 .. size of BAR2 (the shared memory), MAP_SHARED only,
 *           page-aligned sub-ranges allowed, mapped write-back cached
 *           (x86 downgrades to UC- where firmware MTRRs make the range
 *           uncached, e.g. SeaBIOS's 32-bit PCI hole; the driver logs
 *           when it cannot map write-back at all).
 *           After the device is removed, accesses raise SIGBUS.
 *  ioctl(2) the calls below; unknown commands fail with ENOTTY.
 *           IVSHM_EXPORT_DMABUF makes a range a dma-buf, with the same
 *           mapping and revocation rules.
 *  poll(2)  EPOLLIN when a vector fired since this file last read(2) it;
 *           EPOLLHUP | EPOLLERR once the device is gone.  A device without
 *           interrupts (plain, or MSI-X unavailable) polls as 0 while it
 *           lives, so an event loop can watch it for removal.
 *  read(2)  an array of struct ivshm_event, one per vector that fired
 *           since this file last read it (as many as fit in the buffer,
 *           lowest vector first); blocks unless O_NONBLOCK (then EAGAIN);
 *           EINVAL if the buffer holds less than one record; ENODEV after
 *           removal; EOPNOTSUPP on a plain device; ENXIO if the device has
 *           doorbells but MSI-X could not be enabled.  An O_NONBLOCK read
 *           never sleeps, not even behind another reader of the same file
 *           (EAGAIN).
 *
 * Access: receiving (read(2), poll(2), IVSHM_SET_EVENTFDS) needs a file
 * opened for reading, ringing (IVSHM_RING) one opened for writing; EBADF
 * otherwise.  A read-only open maps the memory read-only.
 *
 * Every open file has its own eventfd bindings and its own read(2)
 * position; an interrupt on vector v signals the eventfd bound to v in
 * every open file, and makes v readable in every open file.
 *
 * Every ioctl argument starts with argsz (the size the caller passes, at
 * least the end of the last field of the structure's first version,
 * EINVAL otherwise)
 * and flags (unknown flags are refused with EINVAL).  Where a structure may
 * grow, bytes the driver does not know must be zero and argsz at most a
 * page (E2BIG otherwise).  Numbers never change once released.
 */
#ifndef _UAPI_LINUX_IVSHM_H
#define _UAPI_LINUX_IVSHM_H

#include <linux/types.h>
#include <linux/ioctl.h>

#define IVSHM_ABI_VERSION	1

#define IVSHM_TYPE		0xB9
#define IVSHM_BASE		0x00

/* Largest values the device can encode in a doorbell write. */
#define IVSHM_MAX_PEER		0xffff
#define IVSHM_MAX_VECTOR	0xff

/* struct ivshm_info.mode */
#define IVSHM_MODE_PLAIN	0	/* memory only (ivshmem-plain) */
#define IVSHM_MODE_DOORBELL	1	/* memory and doorbells */

/* struct ivshm_info.irq_mode */
#define IVSHM_IRQ_NONE		0	/* no interrupts can be received */
#define IVSHM_IRQ_MSIX		1
#define IVSHM_IRQ_INTX		2	/* reserved: never reported */

/* At most this many eventfds are bound to one vector, over all files. */
#define IVSHM_MAX_BINDINGS	64

/**
 * IVSHM_GET_INFO - _IO(IVSHM_TYPE, IVSHM_BASE + 0), struct ivshm_info
 *
 * Fills in the device's description.  The caller sets argsz and flags (0);
 * the driver writes back min(argsz, its own size) bytes and sets argsz to
 * the size it knows.  Errors: EFAULT, EINVAL (argsz too small, flags set),
 * E2BIG (non-zero bytes past the known structure, argsz above a page),
 * ENODEV (device removed).
 */
struct ivshm_info {
	__u32 argsz;
	__u32 flags;
	__u64 size;		/* bytes of shared memory (BAR2) */
	__u32 peer_id;		/* IVPosition; meaningful in doorbell mode */
	__u32 vectors;		/* vectors this guest receives (at most 256) */
	__u32 mode;		/* IVSHM_MODE_* */
	__u32 irq_mode;		/* IVSHM_IRQ_* */
	__u32 revision;		/* PCI revision of the device */
	__u32 abi_version;	/* IVSHM_ABI_VERSION */
};

#define IVSHM_GET_INFO		_IO(IVSHM_TYPE, IVSHM_BASE + 0)

/**
 * IVSHM_SET_EVENTFDS - _IO(IVSHM_TYPE, IVSHM_BASE + 1), struct ivshm_eventfds
 *
 * Binds eventfds to vectors start .. start + count - 1 for this open file:
 * fds[i] is bound to vector start + i, replacing what was bound; -1 unbinds.
 * All or nothing: on error no binding changes.
 * argsz covers the header and the fds; bytes after the fds are ignored.
 * Errors: EFAULT; EINVAL (argsz smaller than the header plus count fds,
 * flags set, count 0, range beyond the device's vectors, fd below -1, fd
 * not an eventfd); EBADF (fd not open, or this file not open for
 * reading); ENOSPC (a vector would have more than IVSHM_MAX_BINDINGS
 * eventfds bound); EOPNOTSUPP (plain device); ENXIO (MSI-X unavailable);
 * ENOMEM; ENODEV (removed).
 */
struct ivshm_eventfds {
	__u32 argsz;
	__u32 flags;
	__u32 start;
	__u32 count;
	__s32 fds[];
};

#define IVSHM_SET_EVENTFDS	_IO(IVSHM_TYPE, IVSHM_BASE + 1)

/**
 * IVSHM_RING - _IO(IVSHM_TYPE, IVSHM_BASE + 2), struct ivshm_doorbell
 *
 * Rings vector on peer.  Stores to the shared memory made before the call
 * are visible to the peer before its interrupt.  Fire and forget: the
 * device drops doorbells to absent peers or vectors without telling.
 * Works without MSI-X (sending needs no interrupt of our own).
 * Errors: EBADF (file not open for writing); EFAULT; EINVAL (argsz, flags,
 * peer above IVSHM_MAX_PEER, vector above IVSHM_MAX_VECTOR); E2BIG
 * (non-zero bytes past the known structure, argsz above a page);
 * EOPNOTSUPP (plain device); ENODEV (removed).
 */
struct ivshm_doorbell {
	__u32 argsz;
	__u32 flags;
	__u32 peer;
	__u32 vector;
};

#define IVSHM_RING		_IO(IVSHM_TYPE, IVSHM_BASE + 2)

/**
 * IVSHM_EXPORT_DMABUF - _IO(IVSHM_TYPE, IVSHM_BASE + 3), struct ivshm_dmabuf
 *
 * Exports the page-aligned range [offset, offset + length) of the shared
 * memory as a dma-buf, and returns its file descriptor.  Other drivers
 * import it (DRM PRIME, V4L2, ...); mmap(2) of the fd (MAP_SHARED) maps
 * the range write-back, as mmap of the device does.  Needs BAR2's struct
 * pages (sysfs map_mode "pages", module parameter struct_pages=1) and a
 * file open for reading and writing.
 *
 * The dma-buf holds the device, not the file: it outlives the file's
 * close.  On removal of the device its CPU mappings are revoked as the
 * device's are (SIGBUS), mmap(2) of it fails with ENODEV, and importers
 * that map it anew get ENODEV.  The memory's struct pages outlive every
 * export, so an importer's mapping made before the removal never points
 * at freed kernel memory; what a device importer's DMA to the removed
 * range reaches is up to the platform.
 *
 * flags: IVSHM_DMABUF_CLOEXEC sets close-on-exec on the new fd.
 * Errors: EBADF (file not open for both reading and writing); EFAULT;
 * EINVAL (argsz, flags, offset or length not page-aligned, length 0,
 * range past the shared memory); E2BIG (non-zero bytes past the known
 * structure, argsz above a page); EOPNOTSUPP (no struct pages); ENODEV
 * (removed); EMFILE, ENFILE, ENOMEM.
 */
struct ivshm_dmabuf {
	__u32 argsz;
	__u32 flags;
	__u64 offset;
	__u64 length;
};

#define IVSHM_DMABUF_CLOEXEC	0x1

#define IVSHM_EXPORT_DMABUF	_IO(IVSHM_TYPE, IVSHM_BASE + 3)

/* The record read(2) returns: vector fired count times since last read. */
struct ivshm_event {
	__u32 vector;
	__u32 reserved;		/* 0 */
	__u64 count;
};

#endif /* _UAPI_LINUX_IVSHM_H */
