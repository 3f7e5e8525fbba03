/*
 * context_table.h: the table that turns a context's id into the
 * context. Ids are unique and reused safely (a stale id never finds a
 * newer context); looking one up takes no lock. context_table.c
 * explains it; tests/host/test_context_table.c tests it.
 *
 * The table stores `void *` and knows nothing of contexts, so the
 * host test runs it alone, on any objects, from many threads.
 */
#ifndef CONTEXT_TABLE_H
#define CONTEXT_TABLE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "spinlock.h"

/* An id: slot index in the low 16 bits, the slot's generation above.
 * Always > 0; 0 is "no context", and negative values are errors. */
typedef int64_t ctx_id_t;

#define CTX_INDEX_BITS 16
#define CTX_SLOTS (1u << CTX_INDEX_BITS)     /* 65,536; slot 0 unused */
#define CTX_CHUNK_SLOTS 256u                 /* slots per chunk: 4 KiB */
#define CTX_CHUNKS (CTX_SLOTS / CTX_CHUNK_SLOTS)

/* A slot's word: generation << 21 | LIVE | references (20 bits). */
#define CTX_REF_BITS 20
#define CTX_REFS_MASK ((1ull << CTX_REF_BITS) - 1)
#define CTX_LIVE (1ull << CTX_REF_BITS)
#define CTX_GEN_SHIFT (CTX_REF_BITS + 1)
#define CTX_GEN_MAX ((1ull << (64 - CTX_GEN_SHIFT)) - 1)

/* Errors, negative as ids are positive. */
#define CTX_TABLE_FULL  (-1)    /* every slot in use (or retired) */
#define CTX_TABLE_NOMEM (-2)    /* no memory for a new chunk */

struct ctx_slot {
	uint64_t word;           /* atomic; see above */
	union {
		void *ptr;       /* the object, while LIVE */
		uint32_t next;   /* next free slot (0: none), while free */
	};
};

/*
 * Invariants (context_table.c says why each holds):
 * - a slot is free (on the list, not LIVE, 0 references), reserved
 *   (off the list, not LIVE), live (LIVE), dying (not LIVE, waiting
 *   for its references to drop) or retired (its generation ran out);
 * - the id of a slot is its index and its current generation, and the
 *   generation only grows, so an id is handed out once;
 * - a chunk, once there, stays, at the same address, forever: lookups
 *   read it without the lock.
 */
struct ctx_table {
	struct spinlock lock;    /* reserve/cancel/remove: the free list */
	struct ctx_slot *chunk[CTX_CHUNKS];   /* atomic pointers */
	uint32_t free_head;      /* oldest freed slot, 0 if none */
	uint32_t free_tail;      /* newest freed slot */
	uint32_t fresh;          /* lowest slot never used (starts at 1) */
	uint32_t live;           /* slots reserved or live */
	uint32_t retired;        /* slots whose generation ran out */
	uint32_t chunks;         /* chunks allocated */
	void *(*alloc)(size_t);  /* a chunk's memory; NULL when out */
	void (*free)(void *);    /* undo an allocation that lost a race */
};

/* Set up t, empty. alloc/free: the kernel's kmalloc/kfree. */
void ctx_table_init(struct ctx_table *t, void *(*alloc)(size_t),
		    void (*free)(void *));

/* A new id, its slot reserved but not yet visible to lookups: the
 * caller builds its object, then publishes it. Or an error. */
ctx_id_t ctx_table_reserve(struct ctx_table *t);

/* Make the reserved id find p. */
void ctx_table_publish(struct ctx_table *t, ctx_id_t id, void *p);

/* Give back a reserved id that was never published. */
void ctx_table_cancel(struct ctx_table *t, ctx_id_t id);

/* The object id names, with one more reference held, which keeps it
 * from being removed until ctx_table_put(); NULL if the id is not live
 * (never handed out, removed, or a stale id of a reused slot), or in
 * the unreachable case of 2^20 - 1 references held. Takes no lock: one
 * atomic compare-and-swap on the slot's word. A reference is held
 * briefly, never across a switch: ctx_table_remove() spins until the
 * last one is dropped. (context.c's join is the one exception: it
 * holds its reference while it waits, and it is the remover.) */
void *ctx_table_get(struct ctx_table *t, ctx_id_t id);

/* Drop the reference a successful ctx_table_get(t, id) took. */
void ctx_table_put(struct ctx_table *t, ctx_id_t id);

/* The owner's last word: lookups of id fail from now on; waits until
 * the references still held are dropped, then frees the slot for a new
 * generation. Returns 0, or -1 if id was not live. The caller must not
 * hold a reference of its own. */
int ctx_table_remove(struct ctx_table *t, ctx_id_t id);

/* The object in slot index and its id, if it is live; NULL otherwise.
 * No reference is taken: for reports and debuggers only (a stopped
 * machine, or a best guess while the machine is going down). */
void *ctx_table_at(const struct ctx_table *t, uint32_t index,
		   ctx_id_t *id);

/* The slot index and generation an id is made of. */
static inline uint32_t ctx_id_index(ctx_id_t id)
{
	return (uint32_t)((uint64_t)id & (CTX_SLOTS - 1));
}

static inline uint64_t ctx_id_gen(ctx_id_t id)
{
	return (uint64_t)id >> CTX_INDEX_BITS;
}

#endif /* CONTEXT_TABLE_H */
