/*
 * context_table.c: ids for contexts. An array of slots, grown a chunk
 * at a time; an id is a slot number and a generation; a lookup is one
 * compare-and-swap on the slot, with no lock.
 *
 * Pure logic: memory comes from the alloc/free given to
 * ctx_table_init(), and the one lock is spinlock.h's, so the host test
 * (tests/host/test_context_table.c) runs this very file on threads.
 */
#include "context_table.h"

/**
 * ## One lock for everything, and what replaces it
 *
 * Redox 0.3.5 keeps every context in one ordered map (a B-tree) from
 * id to context, and the whole map behind one reader-writer lock.
 * Everything takes it: creating a context, looking one up, and, worst,
 * every context switch, which reads the whole map to pick the next
 * context while holding it. With several CPUs that is one lock that
 * all of them take on every switch; a writer (a CPU creating a
 * context) waits until no reader is left, and readers that keep
 * arriving can starve it. The map has to be ordered by id because the
 * scheduler walks it in id order.
 *
 * This kernel separates the three uses:
 *
 * 1. **Switching needs no ids.** Each CPU links its own contexts by
 *    pointer (context.c); a switch follows pointers that only that
 *    CPU touches, and takes no lock at all.
 * 2. **A lookup takes no lock.** The table is an array of *slots*. An
 *    id names a slot directly (its low 16 bits are the slot's index),
 *    so finding it is an index, not a search, and the lookup takes a
 *    reference with one atomic compare-and-swap on that slot's own
 *    8-byte word. Two CPUs looking up different contexts touch
 *    different words.
 * 3. **Creating and removing** take a small lock, only to take a slot
 *    from the list of free ones or put it back: a few instructions,
 *    never while switching or waiting.
 *
 * ## Ids that cannot come back: generations
 *
 * Slots are reused, so something must stop an old id from finding the
 * slot's next occupant. Picture a thread that remembers id 7, whose
 * context exits and is reaped; slot 7 is handed to a new context; the
 * thread now joins "7" and would wait for a stranger. So each slot
 * counts its *generation*, which grows by one every time the slot is
 * freed, and an id carries the generation it was made with:
 *
 *     id = generation << 16 | index          slot 7, generation 0: 7
 *                                            slot 7, generation 1: 65543
 *
 * A lookup compares the generation in the id with the slot's; a stale
 * id differs and finds nothing. The generation has 43 bits: a slot
 * reused every microsecond, without a pause, would last 100 days. A
 * slot whose generation does run out is *retired*, never used again:
 * one slot lost, rather than one id repeated. (Redox counts ids up to
 * isize::MAX instead and never reuses one, which is why it needs a map
 * rather than an array.)
 *
 * ## A lookup must not return a context being freed
 *
 * Without a lock, a CPU could look up id 7 just as another CPU frees
 * context 7, and then read freed memory. So a lookup takes a
 * *reference*: the slot's word holds, besides the generation, a LIVE
 * bit and a count of references:
 *
 *     63                     21   20   19                0
 *     |      generation       | LIVE |    references     |
 *
 * `ctx_table_get` reads the word, checks the generation and LIVE, and
 * writes it back with one more reference, with compare-and-swap: the
 * write happens only if the word is still the one it read, as one
 * indivisible step (`__atomic_compare_exchange_n`, LOCK CMPXCHG on
 * x86). If anything changed in between, it reads again. The owner
 * removing the context first clears LIVE, the same way, so from that
 * moment no new reference can be taken; then waits until the count
 * drops to zero; only then bumps the generation and frees the slot.
 * The caller frees its object after that, when nobody can reach it.
 * Holders of a reference keep it briefly (join holds one while it
 * waits, but only the joiner ever removes a context).
 *
 * ## Memory: chunks that never move
 *
 * The slots come in chunks of 256 (4 KiB), allocated when the table
 * first needs them, through a directory of 256 chunk pointers: 65,536
 * slots at most. A chunk never moves (a lookup without a lock could
 * not follow a move) and is never freed, because its generations must
 * outlive every context that used it. Freed slots go to the back of a
 * first-in, first-out list and are reused before any new slot, so the
 * memory follows the number of contexts alive at once, not the number
 * ever made, and a slot rests as long as possible before its next
 * generation.
 */
#define SLOT_GEN(w) ((w) >> CTX_GEN_SHIFT)

static uint64_t load(const uint64_t *w)
{
	return __atomic_load_n(w, __ATOMIC_ACQUIRE);
}

/* Slot index of a table whose chunk is there. */
static struct ctx_slot *slot_of(const struct ctx_table *t, uint32_t index)
{
	struct ctx_slot *c = __atomic_load_n(&t->chunk[index /
						       CTX_CHUNK_SLOTS],
					     __ATOMIC_ACQUIRE);

	return c ? &c[index % CTX_CHUNK_SLOTS] : NULL;
}

/* The slot an id names, or NULL if it cannot name one. */
static struct ctx_slot *slot_of_id(const struct ctx_table *t, ctx_id_t id)
{
	uint32_t index = ctx_id_index(id);

	if (id <= 0 || index == 0)
		return NULL;
	return slot_of(t, index);
}

void ctx_table_init(struct ctx_table *t, void *(*alloc)(size_t),
		    void (*free)(void *))
{
	*t = (struct ctx_table){
		.lock = SPINLOCK_INIT("contexts"),
		.fresh = 1,
		.alloc = alloc,
		.free = free,
	};
}

/* Make sure the chunk of slot index exists. Called and returns with
 * the lock held, but drops it to allocate: no other lock is ever taken
 * inside this one, so it needs no place in the lock order. 0 or -1. */
static int chunk_ensure(struct ctx_table *t, uint32_t index)
{
	uint32_t n = index / CTX_CHUNK_SLOTS;
	struct ctx_slot *c;
	size_t bytes = CTX_CHUNK_SLOTS * sizeof(struct ctx_slot);

	if (t->chunk[n])
		return 0;
	spin_unlock(&t->lock);
	c = t->alloc(bytes);
	if (c)
		for (size_t i = 0; i < CTX_CHUNK_SLOTS; i++)
			c[i] = (struct ctx_slot){ .word = 0 };
	spin_lock(&t->lock);
	if (!c)
		return -1;
	if (t->chunk[n]) {                 /* another CPU was quicker */
		spin_unlock(&t->lock);
		t->free(c);
		spin_lock(&t->lock);
		return 0;
	}
	__atomic_store_n(&t->chunk[n], c, __ATOMIC_RELEASE);
	t->chunks++;
	return 0;
}

ctx_id_t ctx_table_reserve(struct ctx_table *t)
{
	uint32_t index;
	struct ctx_slot *s;

	spin_lock(&t->lock);
	while (t->free_head == 0 && t->fresh < CTX_SLOTS &&
	       !t->chunk[t->fresh / CTX_CHUNK_SLOTS])
		if (chunk_ensure(t, t->fresh) != 0) {
			spin_unlock(&t->lock);
			return CTX_TABLE_NOMEM;
		}
	if (t->free_head != 0) {           /* the oldest freed slot */
		index = t->free_head;
		s = slot_of(t, index);
		t->free_head = s->next;
		if (t->free_head == 0)
			t->free_tail = 0;
	} else if (t->fresh < CTX_SLOTS) { /* a slot never used */
		index = t->fresh++;
		s = slot_of(t, index);
	} else {
		spin_unlock(&t->lock);
		return CTX_TABLE_FULL;
	}
	s->ptr = NULL;
	t->live++;
	spin_unlock(&t->lock);
	return (ctx_id_t)(SLOT_GEN(load(&s->word)) << CTX_INDEX_BITS |
			  index);
}

void ctx_table_publish(struct ctx_table *t, ctx_id_t id, void *p)
{
	struct ctx_slot *s = slot_of_id(t, id);

	s->ptr = p;                        /* visible before LIVE is */
	__atomic_store_n(&s->word, ctx_id_gen(id) << CTX_GEN_SHIFT |
			 CTX_LIVE, __ATOMIC_RELEASE);
}

/* Bump the slot's generation and put it on the free list (or retire
 * it). Nobody can reach the slot any more. */
static void slot_release(struct ctx_table *t, uint32_t index,
			 struct ctx_slot *s, uint64_t gen)
{
	spin_lock(&t->lock);
	t->live--;
	if (gen >= CTX_GEN_MAX) {          /* the last id of this slot */
		t->retired++;
		spin_unlock(&t->lock);
		return;
	}
	s->next = 0;
	__atomic_store_n(&s->word, (gen + 1) << CTX_GEN_SHIFT,
			 __ATOMIC_RELEASE);
	if (t->free_tail)
		slot_of(t, t->free_tail)->next = index;
	else
		t->free_head = index;
	t->free_tail = index;
	spin_unlock(&t->lock);
}

void ctx_table_cancel(struct ctx_table *t, ctx_id_t id)
{
	slot_release(t, ctx_id_index(id), slot_of_id(t, id), ctx_id_gen(id));
}

void *ctx_table_get(struct ctx_table *t, ctx_id_t id)
{
	struct ctx_slot *s = slot_of_id(t, id);
	uint64_t w;

	if (!s)
		return NULL;
	w = load(&s->word);
	do {
		if (SLOT_GEN(w) != ctx_id_gen(id) || !(w & CTX_LIVE) ||
		    (w & CTX_REFS_MASK) == CTX_REFS_MASK)
			return NULL;
	} while (!__atomic_compare_exchange_n(&s->word, &w, w + 1, true,
					      __ATOMIC_ACQUIRE,
					      __ATOMIC_ACQUIRE));
	return s->ptr;
}

void ctx_table_put(struct ctx_table *t, ctx_id_t id)
{
	__atomic_fetch_sub(&slot_of_id(t, id)->word, 1, __ATOMIC_RELEASE);
}

int ctx_table_remove(struct ctx_table *t, ctx_id_t id)
{
	struct ctx_slot *s = slot_of_id(t, id);
	uint64_t w;

	if (!s)
		return -1;
	w = load(&s->word);
	do {                               /* 1. no new references */
		if (SLOT_GEN(w) != ctx_id_gen(id) || !(w & CTX_LIVE))
			return -1;
	} while (!__atomic_compare_exchange_n(&s->word, &w, w & ~CTX_LIVE,
					      true, __ATOMIC_ACQ_REL,
					      __ATOMIC_ACQUIRE));
	while (load(&s->word) & CTX_REFS_MASK)  /* 2. the old ones go */
		__builtin_ia32_pause();
	slot_release(t, ctx_id_index(id), s, ctx_id_gen(id));   /* 3. */
	return 0;
}

void *ctx_table_at(const struct ctx_table *t, uint32_t index,
		   ctx_id_t *id)
{
	const struct ctx_slot *s;
	uint64_t w;

	if (index == 0 || index >= CTX_SLOTS ||
	    !(s = slot_of(t, index)))
		return NULL;
	w = load(&s->word);
	if (!(w & CTX_LIVE))
		return NULL;
	if (id)
		*id = (ctx_id_t)(SLOT_GEN(w) << CTX_INDEX_BITS | index);
	return s->ptr;
}
