/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * libivshm message rings: the wire format (private to the library).
 *
 * Everything here lives in memory shared with a peer that may be buggy or
 * hostile.  Every field is described in docs/wire-format.md; the offsets are
 * pinned below and must never change for a given IVSHM_RING_VERSION.
 * All multi-byte fields are little-endian (both sides run the same
 * architecture family: x86-64 host and guest, or aarch64 host and guest).
 */
#ifndef IVSHM_RING_LAYOUT_H
#define IVSHM_RING_LAYOUT_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#define IVSHM_RGN_MAGIC		0x4e47524d48535649ULL	/* "IVSHMRGN" */
#define IVSHM_CHN_MAGIC		0x4e48434d48535649ULL	/* "IVSHMCHN" */
#define IVSHM_LBL_MAGIC		0x4c424c4d48535649ULL	/* "IVSHMLBL" */
#define IVSHM_PDR_MAGIC		0x5244504d48535649ULL	/* "IVSHMPDR" */
#define IVSHM_RING_VERSION	3u

#define IVSHM_RGN_MAX_CHANS	64u
#define IVSHM_RGN_NAME_LEN	32u
#define IVSHM_RGN_LABEL_LEN	32u
#define IVSHM_RGN_HDR_SIZE	(64u + IVSHM_RGN_MAX_CHANS * 64u)	/* 4160 */
#define IVSHM_RGN_ALIGN		64u

/* Channel descriptor state word: generation << 8 | state. */
#define IVSHM_DESC_FREE		0u
#define IVSHM_DESC_INIT		1u
#define IVSHM_DESC_READY	2u
#define IVSHM_DESC_DYING	3u	/* both sides left: being freed */
#define IVSHM_DESC_ST(w)	((w) & 0xffu)
#define IVSHM_DESC_GEN(w)	((w) >> 8)
#define IVSHM_DESC_WORD(g, s)	((((g) & 0xffffffu) << 8) | (s))

#define IVSHM_CHN_HDR_SIZE	512u
#define IVSHM_CHN_F_AUTODELETE	1u	/* header flags: delete when both left */
#define IVSHM_CHN_MIN_RING	256u
#define IVSHM_CHN_MAX_RING	(1u << 30)

/*
 * Records: an 8-byte header (len | flags << 32), the payload, padding to 8.
 * The header is also the publication: the producer keeps a zero word (no
 * record yet) at its position and release-stores a record's header only
 * after its payload and the zero word that follows it.
 */
#define IVSHM_REC_PAD		1u	/* flags: skip to the end of the ring */
#define IVSHM_REC_HDR		8u
#define IVSHM_REC_NONE		0ull	/* header word: nothing published */

/* One entry of the region's channel table: 64 bytes. */
struct ivshm_rgn_desc {
	char name[IVSHM_RGN_NAME_LEN];	/* NUL-terminated, NUL-padded */
	uint64_t offset;		/* channel header, from region base */
	uint64_t size;			/* header + ring bytes */
	_Atomic uint32_t state;		/* gen << 8 | FREE/INIT/READY/DYING */
	uint32_t reserved0;
	/*
	 * The space this entry owns at offset, >= size; 0: none.  A FREE
	 * entry keeps it for the next channel that fits (deletion).
	 */
	uint64_t extent;
};

/* The region header at offset 0 of the shared memory: 64 bytes + table. */
struct ivshm_rgn_hdr {
	_Atomic uint64_t magic;		/* IVSHM_RGN_MAGIC, stored last */
	uint32_t version;		/* IVSHM_RING_VERSION */
	uint32_t hdr_size;		/* IVSHM_RGN_HDR_SIZE */
	uint64_t region_size;		/* bytes usable by the format */
	uint32_t max_chans;		/* IVSHM_RGN_MAX_CHANS */
	uint32_t desc_size;		/* sizeof(struct ivshm_rgn_desc) */
	_Atomic uint64_t alloc_next;	/* first unallocated byte offset */
	_Atomic uint64_t label_off;	/* label block or 0 (was reserved) */
	/*
	 * Region generation: the formatter stores the old value + 1, so a
	 * re-format is visible to every handle made before it (-ESTALE).
	 */
	_Atomic uint32_t gen;
	uint32_t reserved0;
	_Atomic uint64_t peers_off;	/* peer directory block or 0 */
	struct ivshm_rgn_desc desc[IVSHM_RGN_MAX_CHANS];
};

/*
 * The region label (ivshm_region_set_label): 64 bytes allocated from
 * alloc_next like a channel, written once, then published by a release
 * store of its offset in label_off.  A new label is a new block.
 */
struct ivshm_rgn_label {
	uint64_t magic;			/* IVSHM_LBL_MAGIC */
	/* [A-Za-z0-9._-]{1,31}, not "." or "..", NUL-terminated and -padded */
	char label[IVSHM_RGN_LABEL_LEN];
	uint64_t reserved[3];
};

/*
 * The peer directory (ring_peers.c): a 64-byte header and 64 entries of
 * 64 bytes, allocated from alloc_next by the first peer that registers,
 * zeroed, then published by a release CAS of peers_off from 0.  Each
 * entry is written only by the peer that claimed it, seqlock-style: seq
 * odd while it writes, even when stable; a stable entry with an empty
 * name is free.  The heartbeat is a lone atomic counter, outside the
 * seqlock, bumped by its owner.
 */
#define IVSHM_PDR_ENTRIES	64u
#define IVSHM_PDR_NAME_LEN	32u
#define IVSHM_PDR_MAX_ID	0xffffu		/* ivshmem peer ids are 16-bit */

struct ivshm_pdr_ent {
	_Atomic uint32_t seq;		/* odd: being written by its owner */
	uint32_t peer_id;		/* 0..IVSHM_PDR_MAX_ID */
	uint64_t boot;			/* the registrant's boot/generation */
	_Atomic uint64_t heartbeat;	/* bumped by the owner */
	char name[IVSHM_PDR_NAME_LEN];	/* "" free, else like a label */
	uint64_t reserved;
};

struct ivshm_pdr {
	uint64_t magic;			/* IVSHM_PDR_MAGIC */
	uint32_t entries;		/* IVSHM_PDR_ENTRIES */
	uint32_t entry_size;		/* 64 */
	uint64_t reserved[6];
	struct ivshm_pdr_ent ent[IVSHM_PDR_ENTRIES];
};

/* Per-side event/liveness line: written by its owner only. */
struct ivshm_chn_evt {
	_Atomic uint32_t sleep;		/* odd: owner announced it is asleep */
	_Atomic uint32_t epoch;		/* 0 never, odd attached, even detached */
	_Atomic uint64_t want;		/* producer: wake when cons_idx >= want */
	/*
	 * reserved0 was a heartbeat, bumped after each sleep and read by
	 * nobody: it could not tell a dead peer from an idle one.  Never
	 * written now; readers must ignore it (older writers may bump it).
	 */
	uint64_t reserved0;
	/*
	 * Doorbells this side rang for its peer, for observers such as
	 * `ivshm top` (the library never reads it).  A takeover goes on
	 * counting; older writers leave it 0.
	 */
	_Atomic uint64_t rings;
	/*
	 * Consumer only: what it released, when that is ahead of cons_idx
	 * (a consumer without a doorbell returns space to the producer in
	 * steps: "Indices" in docs/wire-format.md).  A consumer that
	 * attaches resumes here if the records from cons_idx lead here,
	 * else at cons_idx.  Older writers leave it 0; the producer's is
	 * unused.
	 */
	_Atomic uint64_t done_idx;
	uint64_t reserved[3];
};

/* Channel header: 512 bytes, then the ring (ring_size bytes). */
struct ivshm_chn_hdr {
	/* line 0: written by the creator before publication, then read-only */
	uint64_t magic;			/* IVSHM_CHN_MAGIC */
	uint32_t version;		/* IVSHM_RING_VERSION */
	uint32_t hdr_size;		/* IVSHM_CHN_HDR_SIZE */
	uint64_t ring_size;		/* power of two */
	uint32_t max_msg;		/* ring_size / 4 */
	_Atomic uint32_t gen;		/* == descriptor generation */
	uint32_t flags;			/* IVSHM_CHN_F_*, others 0 */
	uint32_t reserved0[23];
	/*
	 * line 2 (128): producer index, written by the producer only; read
	 * at attach and by enumeration (record headers publish records)
	 */
	_Atomic uint64_t prod_idx;
	uint64_t pad1[15];
	/* line 4 (256): consumer index, written by the consumer only */
	_Atomic uint64_t cons_idx;
	uint64_t pad2[15];
	/* line 6 (384): producer events; line 7 (448): consumer events */
	struct ivshm_chn_evt prod_evt;
	struct ivshm_chn_evt cons_evt;
};

_Static_assert(sizeof(struct ivshm_rgn_desc) == 64, "desc size");
_Static_assert(offsetof(struct ivshm_rgn_desc, name) == 0, "desc.name");
_Static_assert(offsetof(struct ivshm_rgn_desc, offset) == 32, "desc.offset");
_Static_assert(offsetof(struct ivshm_rgn_desc, size) == 40, "desc.size");
_Static_assert(offsetof(struct ivshm_rgn_desc, state) == 48, "desc.state");
_Static_assert(offsetof(struct ivshm_rgn_desc, extent) == 56, "desc.extent");

_Static_assert(offsetof(struct ivshm_rgn_hdr, magic) == 0, "rgn.magic");
_Static_assert(offsetof(struct ivshm_rgn_hdr, version) == 8, "rgn.version");
_Static_assert(offsetof(struct ivshm_rgn_hdr, hdr_size) == 12, "rgn.hdr_size");
_Static_assert(offsetof(struct ivshm_rgn_hdr, region_size) == 16, "rgn.size");
_Static_assert(offsetof(struct ivshm_rgn_hdr, max_chans) == 24, "rgn.max");
_Static_assert(offsetof(struct ivshm_rgn_hdr, desc_size) == 28, "rgn.dsize");
_Static_assert(offsetof(struct ivshm_rgn_hdr, alloc_next) == 32, "rgn.alloc");
_Static_assert(offsetof(struct ivshm_rgn_hdr, label_off) == 40, "rgn.label");
_Static_assert(offsetof(struct ivshm_rgn_hdr, gen) == 48, "rgn.gen");
_Static_assert(offsetof(struct ivshm_rgn_hdr, peers_off) == 56, "rgn.peers");
_Static_assert(offsetof(struct ivshm_rgn_hdr, desc) == 64, "rgn.desc");
_Static_assert(sizeof(struct ivshm_rgn_hdr) == IVSHM_RGN_HDR_SIZE, "rgn size");

_Static_assert(sizeof(struct ivshm_rgn_label) == 64, "label size");
_Static_assert(offsetof(struct ivshm_rgn_label, magic) == 0, "label.magic");
_Static_assert(offsetof(struct ivshm_rgn_label, label) == 8, "label.label");

_Static_assert(sizeof(struct ivshm_pdr_ent) == 64, "pdr entry size");
_Static_assert(offsetof(struct ivshm_pdr_ent, seq) == 0, "pdr.seq");
_Static_assert(offsetof(struct ivshm_pdr_ent, peer_id) == 4, "pdr.peer_id");
_Static_assert(offsetof(struct ivshm_pdr_ent, boot) == 8, "pdr.boot");
_Static_assert(offsetof(struct ivshm_pdr_ent, heartbeat) == 16, "pdr.hb");
_Static_assert(offsetof(struct ivshm_pdr_ent, name) == 24, "pdr.name");
_Static_assert(offsetof(struct ivshm_pdr, ent) == 64, "pdr.ent");
_Static_assert(sizeof(struct ivshm_pdr) == 64 + 64 * 64, "pdr size");

_Static_assert(sizeof(struct ivshm_chn_evt) == 64, "evt size");
_Static_assert(offsetof(struct ivshm_chn_evt, sleep) == 0, "evt.sleep");
_Static_assert(offsetof(struct ivshm_chn_evt, epoch) == 4, "evt.epoch");
_Static_assert(offsetof(struct ivshm_chn_evt, want) == 8, "evt.want");
_Static_assert(offsetof(struct ivshm_chn_evt, reserved0) == 16, "evt.rsv0");
_Static_assert(offsetof(struct ivshm_chn_evt, rings) == 24, "evt.rings");
_Static_assert(offsetof(struct ivshm_chn_evt, done_idx) == 32, "evt.done");
_Static_assert(offsetof(struct ivshm_chn_evt, reserved) == 40, "evt.rsv");

_Static_assert(offsetof(struct ivshm_chn_hdr, magic) == 0, "chn.magic");
_Static_assert(offsetof(struct ivshm_chn_hdr, version) == 8, "chn.version");
_Static_assert(offsetof(struct ivshm_chn_hdr, hdr_size) == 12, "chn.hdr_size");
_Static_assert(offsetof(struct ivshm_chn_hdr, ring_size) == 16, "chn.ring");
_Static_assert(offsetof(struct ivshm_chn_hdr, max_msg) == 24, "chn.max_msg");
_Static_assert(offsetof(struct ivshm_chn_hdr, gen) == 28, "chn.gen");
_Static_assert(offsetof(struct ivshm_chn_hdr, flags) == 32, "chn.flags");
_Static_assert(offsetof(struct ivshm_chn_hdr, prod_idx) == 128, "chn.prod");
_Static_assert(offsetof(struct ivshm_chn_hdr, cons_idx) == 256, "chn.cons");
_Static_assert(offsetof(struct ivshm_chn_hdr, prod_evt) == 384, "chn.pevt");
_Static_assert(offsetof(struct ivshm_chn_hdr, cons_evt) == 448, "chn.cevt");
_Static_assert(sizeof(struct ivshm_chn_hdr) == IVSHM_CHN_HDR_SIZE, "chn size");

_Static_assert(sizeof(_Atomic uint64_t) == 8 && sizeof(_Atomic uint32_t) == 4,
	       "atomics must not change the layout");

#endif /* IVSHM_RING_LAYOUT_H */
