/*
 * test_context_table.c: host unit tests for kernel/context_table.c,
 * the table from ids to contexts, alone and from several threads.
 *
 * The file under test is included whole, so this is one program built
 * by one command (`make hosttest` runs it):
 *
 *   gcc -std=gnu11 -g -O1 -fsanitize=address,undefined \
 *       -fno-sanitize-recover=all -Wall -Wextra -Werror -DHOST_TEST \
 *       -I kernel -o build/host/test_context_table \
 *       tests/host/test_context_table.c -lpthread
 *
 * The test plays the kernel: spin_lock() is a real spin lock between
 * threads (each thread is a "CPU" for spin_held()), and the chunks
 * come from malloc, with a switch that makes the next allocation fail.
 * The objects in the table are small records that carry their own id,
 * so a lookup that returns the wrong object, or a freed one (which
 * AddressSanitizer catches), fails the test.
 */
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "check.h"
#include "../../kernel/context_table.c"

/* ---- The environment: a spin lock between threads, and memory ---- */

#include "host_spinlock.h"

static long chunk_allocs, chunk_frees;
static int fail_next_alloc;

static void *chunk_alloc(size_t n)
{
	if (fail_next_alloc) {
		fail_next_alloc = 0;
		return NULL;
	}
	__atomic_fetch_add(&chunk_allocs, 1, __ATOMIC_RELAXED);
	return malloc(n);
}

static void chunk_free(void *p)
{
	__atomic_fetch_add(&chunk_frees, 1, __ATOMIC_RELAXED);
	free(p);
}

static struct ctx_table t;

/* Free every live object and every chunk, for the next case. */
static void reset(void)
{
	for (uint32_t i = 0; i < CTX_SLOTS; i++)
		free(ctx_table_at(&t, i, NULL));
	for (uint32_t i = 0; i < CTX_CHUNKS; i++)
		free(t.chunk[i]);
	ctx_table_init(&t, chunk_alloc, chunk_free);
	fail_next_alloc = 0;
	host_lock_errors = 0;
	chunk_allocs = chunk_frees = 0;
}

/* An object of the table: it knows its id. */
struct obj {
	ctx_id_t id;
	uint64_t magic;
};
#define MAGIC 0x6f626a656374ull

static struct obj *obj_new(ctx_id_t id)
{
	struct obj *o = malloc(sizeof *o);

	o->id = id;
	o->magic = MAGIC;
	return o;
}

static ctx_id_t add(void)
{
	ctx_id_t id = ctx_table_reserve(&t);

	if (id > 0)
		ctx_table_publish(&t, id, obj_new(id));
	return id;
}

/* Look id up and check the object; drop the reference. */
static bool found(ctx_id_t id)
{
	struct obj *o = ctx_table_get(&t, id);

	if (!o)
		return false;
	CHECKF(o->id == id && o->magic == MAGIC,
	       "get(%ld) found object of id %ld", id, o->id);
	ctx_table_put(&t, id);
	return true;
}

/* Remove id and free its object. */
static int removed(ctx_id_t id)
{
	struct obj *o = ctx_table_get(&t, id);

	if (o)
		ctx_table_put(&t, id);
	if (ctx_table_remove(&t, id) != 0)
		return -1;
	free(o);
	return 0;
}

/* ---- Cases ---- */

static void first_ids_are_small(void)
{
	reset();
	for (ctx_id_t i = 1; i <= 300; i++)
		CHECKF(add() == i, "id %ld out of order", i);
	for (ctx_id_t i = 1; i <= 300; i++)
		CHECK(found(i));
	CHECK(!found(301));
	CHECK(t.live == 300 && t.chunks == 2);
	for (ctx_id_t i = 1; i <= 300; i++)
		CHECK(removed(i) == 0);
	CHECK(t.live == 0 && host_lock_errors == 0);
}

static void bad_ids_find_nothing(void)
{
	reset();
	add();
	CHECK(ctx_table_get(&t, 0) == NULL);
	CHECK(ctx_table_get(&t, -5) == NULL);
	CHECK(ctx_table_get(&t, (ctx_id_t)1 << CTX_INDEX_BITS) == NULL);
	CHECK(ctx_table_get(&t, 2) == NULL);           /* never handed out */
	CHECK(ctx_table_get(&t, 60000) == NULL);       /* no chunk there */
	CHECK(ctx_table_get(&t, INT64_MAX) == NULL);
	CHECK(ctx_table_remove(&t, 2) == -1);
	CHECK(ctx_table_remove(&t, 60000) == -1);
	CHECK(ctx_table_remove(&t, 0) == -1);
	CHECK(ctx_table_at(&t, 0, NULL) == NULL);
	CHECK(ctx_table_at(&t, CTX_SLOTS, NULL) == NULL);
	CHECK(removed(1) == 0);
	CHECK(removed(1) == -1);                       /* twice */
}

static void reserved_is_invisible_until_published(void)
{
	ctx_id_t id, again;
	struct obj *o;

	reset();
	id = ctx_table_reserve(&t);
	CHECK(id == 1);
	CHECK(ctx_table_get(&t, id) == NULL);
	CHECK(ctx_table_at(&t, 1, NULL) == NULL);
	CHECK(ctx_table_remove(&t, id) == -1);         /* not live yet */
	o = obj_new(id);
	ctx_table_publish(&t, id, o);
	CHECK(ctx_table_at(&t, 1, &again) == o && again == id);
	CHECK(found(id));
	CHECK(removed(id) == 0);
	id = ctx_table_reserve(&t);                    /* slot 1, gen 1 */
	CHECKF(id == ((ctx_id_t)1 << CTX_INDEX_BITS | 1), "id %#lx", id);
	ctx_table_cancel(&t, id);
	CHECK(t.live == 0);
	CHECK(ctx_table_get(&t, id) == NULL);
	again = add();                                 /* slot 1, gen 2 */
	CHECKF(again == ((ctx_id_t)2 << CTX_INDEX_BITS | 1), "id %#lx",
	       again);
	CHECK(!found(id) && found(again));
}

static void stale_id_never_finds_the_new_context(void)
{
	ctx_id_t a, b;

	reset();
	a = add();
	CHECK(removed(a) == 0);
	b = add();
	CHECK(ctx_id_index(a) == ctx_id_index(b));     /* the same slot */
	CHECK(ctx_id_gen(b) == ctx_id_gen(a) + 1);
	CHECK(!found(a));
	CHECK(found(b));
	CHECK(ctx_table_remove(&t, a) == -1);          /* stale: refused */
	CHECK(found(b));
}

static void freed_slots_come_back_oldest_first(void)
{
	ctx_id_t id[6];

	reset();
	for (int i = 0; i < 6; i++)
		id[i] = add();
	removed(id[3]);
	removed(id[0]);
	removed(id[5]);
	CHECK(ctx_id_index(add()) == 4);
	CHECK(ctx_id_index(add()) == 1);
	CHECK(ctx_id_index(add()) == 6);
	CHECK(ctx_id_index(add()) == 7);               /* then new slots */
}

static void chunk_failure_changes_nothing(void)
{
	struct ctx_table before;

	reset();
	for (int i = 0; i < 256 - 1; i++)              /* slots 1..255 */
		add();
	before = t;
	fail_next_alloc = 1;
	CHECK(ctx_table_reserve(&t) == CTX_TABLE_NOMEM);
	CHECK(t.live == before.live && t.fresh == before.fresh &&
	      t.chunks == before.chunks && t.chunk[1] == NULL);
	CHECK(add() == 256);                           /* then it works */
	CHECK(t.chunks == 2);
}

static void full_table_says_so(void)
{
	reset();
	for (uint32_t i = 1; i < CTX_SLOTS; i++)
		if (ctx_table_reserve(&t) <= 0) {
			CHECKF(0, "reserve %u failed", i);
			return;
		}
	CHECK(ctx_table_reserve(&t) == CTX_TABLE_FULL);
	CHECK(t.chunks == CTX_CHUNKS && t.live == CTX_SLOTS - 1);
	ctx_table_cancel(&t, 77);
	CHECK(ctx_table_reserve(&t) == ((ctx_id_t)1 << CTX_INDEX_BITS | 77));
	CHECK(ctx_table_reserve(&t) == CTX_TABLE_FULL);
}

static void exhausted_generation_retires_the_slot(void)
{
	struct ctx_slot *s;
	ctx_id_t a, b;

	reset();
	a = add();                                     /* slot 1 */
	CHECK(removed(a) == 0);
	s = slot_of(&t, 1);                            /* age it */
	s->word = (CTX_GEN_MAX - 1) << CTX_GEN_SHIFT;
	a = add();
	CHECK(ctx_id_gen(a) == CTX_GEN_MAX - 1 && a > 0);
	CHECK(removed(a) == 0);
	a = add();
	CHECK(ctx_id_gen(a) == CTX_GEN_MAX && ctx_id_index(a) == 1);
	CHECK(a > 0 && found(a));
	CHECK(removed(a) == 0);
	CHECK(t.retired == 1 && t.live == 0);
	b = add();                                     /* never slot 1 */
	CHECKF(ctx_id_index(b) == 2, "got slot %u", ctx_id_index(b));
	CHECK(!found(a));
}

static void memory_follows_live_contexts(void)
{
	ctx_id_t live[8];

	reset();
	for (int i = 0; i < 8; i++)
		live[i] = add();
	for (int i = 0; i < 100000; i++) {
		int k = (int)below(8);

		CHECK(removed(live[k]) == 0);
		live[k] = add();
	}
	CHECKF(t.chunks == 1 && chunk_allocs == 1, "%u chunks", t.chunks);
	CHECK(t.fresh == 9 && t.live == 8);
}

/* The remover of remove_waits_for_references(). */
static volatile int remove_done;

static void *remover(void *arg)
{
	host_cpu_index = 1;
	remove_done = ctx_table_remove(&t, (ctx_id_t)(uintptr_t)arg) == 0
		      ? 1 : -1;
	return NULL;
}

static void remove_waits_for_references(void)
{
	pthread_t th;
	ctx_id_t id;
	struct obj *o;

	reset();
	id = add();
	o = ctx_table_get(&t, id);             /* our reference */
	remove_done = 0;
	pthread_create(&th, NULL, remover, (void *)(uintptr_t)id);
	while (__atomic_load_n(&slot_of(&t, 1)->word, __ATOMIC_ACQUIRE) &
	       CTX_LIVE)
		__builtin_ia32_pause();        /* until LIVE is clear */
	CHECK(ctx_table_get(&t, id) == NULL);  /* no new references */
	usleep(50000);
	CHECKF(remove_done == 0, "remove returned with a reference held");
	CHECK(o->id == id && o->magic == MAGIC);
	ctx_table_put(&t, id);
	pthread_join(th, NULL);
	CHECK(remove_done == 1 && t.live == 0);
	free(o);
}

/**
 * ## A million operations against a model
 *
 * The model is plain arrays: for each slot, its generation and whether
 * it is free, reserved or live; the queue of freed slots in order; the
 * live ids; and a window of old ids, all stale. Each random operation
 * is done on the table and on the model, and the answers compared:
 *
 * - reserve must give the slot at the head of the model's queue, or
 *   the next new slot, with a generation greater than any before it
 *   (so an id is never handed out twice);
 * - every live id is found, with its own object; a reserved one, or
 *   any stale one, is not; removing a stale id is refused;
 * - the counters agree, and chunks are only made for new slots.
 *
 * The number of live ids wanders up to some twenty thousand and back
 * down, so slots are reused a hundred thousand times and more.
 */
enum { M_FREE, M_RESERVED, M_LIVE };

#define STALE_WINDOW 4096

static uint8_t m_state[CTX_SLOTS];
static uint64_t m_gen[CTX_SLOTS];
static uint32_t m_queue[CTX_SLOTS], m_qhead, m_qlen;
static uint32_t m_fresh;
static ctx_id_t m_live[CTX_SLOTS], m_reserved[CTX_SLOTS];
static uint32_t m_nlive, m_nreserved;
static ctx_id_t m_stale[STALE_WINDOW];
static uint32_t m_nstale;

static void model_reset(void)
{
	for (uint32_t i = 0; i < CTX_SLOTS; i++)
		m_state[i] = M_FREE, m_gen[i] = 0;
	m_qhead = m_qlen = m_nlive = m_nreserved = m_nstale = 0;
	m_fresh = 1;
}

static void model_free(ctx_id_t id)
{
	uint32_t i = ctx_id_index(id);

	m_state[i] = M_FREE;
	m_gen[i]++;
	m_queue[(m_qhead + m_qlen++) % CTX_SLOTS] = i;
	m_stale[m_nstale++ % STALE_WINDOW] = id;
}

/* Take element k of an array of n, by moving the last one there. */
static ctx_id_t take(ctx_id_t *a, uint32_t *n, uint32_t k)
{
	ctx_id_t id = a[k];

	a[k] = a[--*n];
	return id;
}

static void model_reserve(void)
{
	ctx_id_t id = ctx_table_reserve(&t);
	uint32_t want;

	if (m_qlen > 0) {
		want = m_queue[m_qhead];
		m_qhead = (m_qhead + 1) % CTX_SLOTS;
		m_qlen--;
	} else {
		want = m_fresh++;
	}
	CHECKF(id > 0 && ctx_id_index(id) == want &&
	       ctx_id_gen(id) == m_gen[want] && m_state[want] == M_FREE,
	       "reserve gave %#lx, want slot %u generation %lu", id, want,
	       m_gen[want]);
	m_state[want] = M_RESERVED;
	m_reserved[m_nreserved++] = id;
}

static void random_against_model(void)
{
	long lookups = 0, stale_lookups = 0, reuses = 0;
	uint32_t high = 0;

	reset();
	model_reset();
	check_seed(0x7461626c65ull);
	for (long op = 0; op < 1000000 && !check_case_failed; op++) {
		bool grow = (op / 20000) % 2 == 0;
		uint64_t r = below(100);

		if (r < (grow ? 30u : 12u)) {
			if (m_qlen > 0)
				reuses++;
			model_reserve();
		} else if (r < 40 && m_nreserved > 0) {
			uint32_t k = (uint32_t)below(m_nreserved);
			ctx_id_t id = take(m_reserved, &m_nreserved, k);

			CHECK(ctx_table_get(&t, id) == NULL);
			if (below(8) == 0) {
				ctx_table_cancel(&t, id);
				model_free(id);
				continue;
			}
			ctx_table_publish(&t, id, obj_new(id));
			m_state[ctx_id_index(id)] = M_LIVE;
			m_live[m_nlive++] = id;
		} else if (r < 65 && m_nlive > 0) {
			lookups++;
			CHECKF(found(m_live[below(m_nlive)]), "op %ld: a live "
			       "id was not found", op);
		} else if (r < 80 && m_nstale > 0) {
			uint32_t n = m_nstale < STALE_WINDOW ? m_nstale
							     : STALE_WINDOW;
			ctx_id_t id = m_stale[below(n)];

			stale_lookups++;
			CHECKF(!found(id), "op %ld: stale id %#lx found", op,
			       id);
			if (below(4) == 0)
				CHECK(ctx_table_remove(&t, id) == -1);
		} else if (m_nlive > 0) {
			ctx_id_t id = take(m_live, &m_nlive,
					   (uint32_t)below(m_nlive));

			CHECKF(removed(id) == 0, "op %ld: remove refused", op);
			model_free(id);
		}
		if (m_nlive + m_nreserved > high)
			high = m_nlive + m_nreserved;
		CHECKF(t.live == m_nlive + m_nreserved && t.fresh == m_fresh,
		       "op %ld: live %u fresh %u, model %u %u", op, t.live,
		       t.fresh, m_nlive + m_nreserved, m_fresh);
	}
	CHECK(t.chunks == (m_fresh + CTX_CHUNK_SLOTS - 1) / CTX_CHUNK_SLOTS);
	CHECK(host_lock_errors == 0);
	printf("  (1000000 operations: %ld lookups, %ld of stale ids, %ld "
	       "slot reuses, at most %u live, %u chunks)\n", lookups,
	       stale_lookups, reuses, high, t.chunks);
	while (m_nlive > 0)
		removed(take(m_live, &m_nlive, 0));
}

/**
 * ## Threads: lookups while others remove
 *
 * Four threads share the table. Each creates objects, publishes their
 * ids in a shared array of recent ids, looks up ids from that array at
 * random (many of them removed already, some reused), and removes and
 * frees its own objects. A lookup that succeeds must return the object
 * of exactly that id, still alive: the remover frees an object only
 * after ctx_table_remove() returned, so a reference taken too late, or
 * not waited for, is a use after free that AddressSanitizer reports.
 * The holder keeps its reference across a few hundred instructions, so
 * removers really do wait.
 */
#define THREADS 4
#define RECENT 256
#define THREAD_OPS 150000

static ctx_id_t recent[RECENT];
static long hits, misses, wrong;

static void *stress_thread(void *arg)
{
	ctx_id_t mine[64];
	int n = 0;
	uint64_t rng = 0x9E3779B97F4A7C15ull * (uintptr_t)arg + 1;

	host_cpu_index = (int)(uintptr_t)arg;
	for (int op = 0; op < THREAD_OPS; op++) {
		uint64_t r;

		rng ^= rng >> 12, rng ^= rng << 25, rng ^= rng >> 27;
		r = rng * 0x2545F4914F6CDD1Dull;
		if (r % 8 == 0 && n < 64) {
			ctx_id_t id = ctx_table_reserve(&t);

			if (id <= 0)
				continue;
			ctx_table_publish(&t, id, obj_new(id));
			mine[n++] = id;
			__atomic_store_n(&recent[(r >> 8) % RECENT], id,
					 __ATOMIC_RELAXED);
		} else if (r % 8 == 1 && n > 0) {
			int k = (int)((r >> 8) % (uint64_t)n);
			struct obj *o = ctx_table_get(&t, mine[k]);

			ctx_table_put(&t, mine[k]);
			if (ctx_table_remove(&t, mine[k]) != 0)
				__atomic_fetch_add(&wrong, 1, __ATOMIC_RELAXED);
			o->magic = 0;
			free(o);
			mine[k] = mine[--n];
		} else {
			ctx_id_t id = __atomic_load_n(&recent[(r >> 8) %
							     RECENT],
						      __ATOMIC_RELAXED);
			volatile struct obj *o = ctx_table_get(&t, id);

			if (!o) {
				__atomic_fetch_add(&misses, 1,
						   __ATOMIC_RELAXED);
				continue;
			}
			for (int spin = 0; spin < 50; spin++)
				if (o->magic != MAGIC || o->id != id)
					break;
			if (o->magic != MAGIC || o->id != id)
				__atomic_fetch_add(&wrong, 1, __ATOMIC_RELAXED);
			ctx_table_put(&t, id);
			__atomic_fetch_add(&hits, 1, __ATOMIC_RELAXED);
		}
	}
	while (n > 0) {
		struct obj *o = ctx_table_get(&t, mine[--n]);

		ctx_table_put(&t, mine[n]);
		ctx_table_remove(&t, mine[n]);
		free(o);
	}
	return NULL;
}

static void threads_look_up_while_others_remove(void)
{
	pthread_t th[THREADS];

	reset();
	for (uintptr_t i = 0; i < THREADS; i++)
		pthread_create(&th[i], NULL, stress_thread, (void *)(i + 1));
	for (int i = 0; i < THREADS; i++)
		pthread_join(th[i], NULL);
	CHECKF(wrong == 0, "%ld lookups found the wrong object", wrong);
	CHECK(t.live == 0 && host_lock_errors == 0);
	CHECKF(hits > 10000 && misses > 10000, "hits %ld misses %ld", hits,
	       misses);
	printf("  (%d threads x %d operations: %ld lookups found their "
	       "object, %ld found nothing, %u chunks)\n", THREADS,
	       THREAD_OPS, hits, misses, t.chunks);
}

int main(void)
{
	RUN(first_ids_are_small);
	RUN(bad_ids_find_nothing);
	RUN(reserved_is_invisible_until_published);
	RUN(stale_id_never_finds_the_new_context);
	RUN(freed_slots_come_back_oldest_first);
	RUN(chunk_failure_changes_nothing);
	RUN(full_table_says_so);
	RUN(exhausted_generation_retires_the_slot);
	RUN(memory_follows_live_contexts);
	RUN(remove_waits_for_references);
	RUN(random_against_model);
	RUN(threads_look_up_while_others_remove);
	reset();
	return check_done("test_context_table");
}
