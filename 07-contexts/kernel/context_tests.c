/*
 * context_tests.c: chapter 07's checks in the running kernel, on every
 * CPU the machine has: the scenario `contexts` (every check below, one
 * KTEST line each), `context_stack_overflow` (the report that names
 * the context) and `bench_contexts` (figures for bench/contexts).
 */
#include "bootinfo.h"
#include "clock.h"
#include "context.h"
#include "fpu.h"
#include "frame.h"
#include "heap.h"
#include "kprintf.h"
#include "ktest.h"
#include "lapic.h"
#include "percpu.h"
#include "string.h"
#include "trap.h"
#include "x86.h"

/**
 * ## The kernel's context tests
 *
 * The host tests (tests/host/test_context.c) run context.c on threads;
 * these run it on the CPUs, with the real switch, the real FPU state,
 * the wake-up IPI and the frame allocator. Each check runs in a
 * *driver*, a context on CPU 0 (kmain's own context is CPU 0's idle
 * context, which may not wait in a join): `context_run_here()`. The
 * checks, in the order `contexts` runs them:
 *
 * - `join_errors`: joining oneself, id 0, a negative id, an id never
 *   given, an idle context, or a context already joined is an error
 *   with its own code; so is spawning on a CPU that does not exist.
 * - `join_returns_result`: a function that returns 42 exits with 42; one
 *   that calls context_exit(7) ten calls deep exits with 7; each
 *   starts with its stack aligned as the ABI wants (RBP, pushed by
 *   its first instruction, is a multiple of 16).
 * - `spawn_wakes_sleeping_cpu`: a CPU halted in its idle loop runs a
 *   context spawned on it from CPU 0, woken by one IPI on
 *   VEC_CTX_WAKE.
 * - `ping_pong`: two contexts on one CPU hand a turn back and forth
 *   10^5 times, each yield going straight to the other.
 * - `round_robin_on_every_cpu`: three contexts on every CPU, five
 *   rounds each: each always runs on its own CPU, and every window of
 *   three turns on a CPU holds each of its contexts once, in the same
 *   order every round.
 * - `fpu_kept_across_yields`: three contexts on each of two CPUs, each
 *   with its own XMM0-15, MXCSR and x87 control word, yield 500 times;
 *   each gets its own values back.
 * - `fpu_fresh_context_is_clean`: a context that dirtied every FPU
 *   register yields (and then exits); a new context then sees XMM0-15
 *   zero, MXCSR 0x1F80 and the control word 0x37F.
 * - `spawn_exit_join_cycles`: 10^4 spawn/exit/join cycles on up to
 *   four CPUs, then 10 batches of 16 at once: frames, heap, stack
 *   slots and live contexts back at the baseline. On a machine with
 *   more than four CPUs, 10^3 cycles (up to 8) or 10^2: each of the
 *   four TLB shootdowns of a freed stack interrupts every CPU, and at
 *   64 CPUs under QEMU a cycle costs 6 ms instead of 0.2.
 * - `spawn_out_of_memory`: with every frame taken, with a few left (the
 *   stack is half made, then undone), and with the heap full too,
 *   spawn fails with CTX_E_NOMEM and leaves everything as it was.
 * - `thousand_contexts_at_once`: 1,000 contexts alive together (100 on
 *   machines of more than four CPUs), all joined.
 */

/* The helpers of fpu_probe.asm: what they load and store. */
struct fpu_image {
	uint8_t xmm[16][16];
	uint32_t mxcsr;
	uint16_t fcw, pad;
	uint8_t rest[12];
};
void fpu_fill_call(const struct fpu_image *in, void (*fn)(void *),
		   void *arg, struct fpu_image *out);
void fpu_dump(struct fpu_image *out);

/* The last CPU: another CPU than the driver's when there are two. */
static unsigned last_cpu(void)
{
	return cpu_count() - 1;
}

/* ---- join_errors ---- */

static long return_arg(void *arg)
{
	return (long)(uintptr_t)arg;
}

static const char *join_errors(void)
{
	struct context *me = context_current();
	ctx_id_t id;
	long r;
	int e;

	if ((e = context_join(me->id, &r)) != CTX_E_SELF)
		return ktest_why("join self: %d", e);
	if ((e = context_join(0, &r)) != CTX_E_NOENT)
		return ktest_why("join 0: %d", e);
	if ((e = context_join(-5, &r)) != CTX_E_NOENT)
		return ktest_why("join -5: %d", e);
	if ((e = context_join(0x7fff1234, &r)) != CTX_E_NOENT)
		return ktest_why("join 0x7fff1234: %d", e);
	if ((e = context_join(1, &r)) != CTX_E_IDLE)   /* idle/0 */
		return ktest_why("join idle/0 (id 1): %d", e);
	if ((id = context_spawn(return_arg, NULL, "x", cpu_count())) !=
	    CTX_E_CPU)
		return ktest_why("spawn on CPU %u: %ld", cpu_count(), id);
	id = context_spawn(return_arg, (void *)5, "joined-twice", 0);
	if (id <= 0)
		return ktest_why("spawn: %ld", id);
	if ((e = context_join(id, &r)) != 0 || r != 5)
		return ktest_why("join: %d, result %ld", e, r);
	if ((e = context_join(id, &r)) != CTX_E_NOENT)
		return ktest_why("second join of %ld: %d", id, e);
	kprintf("contexts: join self: %s\n", context_strerror(CTX_E_SELF));
	kprintf("contexts: join idle/0: %s\n", context_strerror(CTX_E_IDLE));
	return NULL;
}

/* ---- join_returns_result ---- */

static volatile int misaligned;

/* With frame pointers, a function's first instruction pushes RBP: RBP
 * is then RSP at entry minus 8, a multiple of 16 iff the ABI holds. */
static void check_aligned(void)
{
	if ((uintptr_t)__builtin_frame_address(0) % 16 != 0)
		misaligned++;
}

static long forty_two(void *unused)
{
	(void)unused;
	check_aligned();
	return 42;
}

static long deep(unsigned n)
{
	if (n == 0)
		context_exit(7);
	return n > 100 ? 0 : deep(n - 1) + 1;   /* (a way out, for gcc) */
}

static long exit_deep(void *unused)
{
	(void)unused;
	check_aligned();
	return deep(10);
}

static const char *join_returns_result(void)
{
	ctx_id_t a = context_spawn(forty_two, NULL, "forty-two", last_cpu());
	ctx_id_t b = context_spawn(exit_deep, NULL, "exit-deep", 0);
	long ra = 0, rb = 0;

	if (a <= 0 || b <= 0)
		return ktest_why("spawn: %ld, %ld", a, b);
	if (context_join(a, &ra) != 0 || context_join(b, &rb) != 0)
		return ktest_why("join failed");
	if (ra != 42 || rb != 7)
		return ktest_why("results %ld and %ld, not 42 and 7", ra, rb);
	if (misaligned)
		return ktest_why("%d contexts started misaligned", misaligned);
	kprintf("contexts: 'forty-two' on CPU %u returned %ld\n",
		last_cpu(), ra);
	kprintf("contexts: 'exit-deep' called context_exit(%ld) 10 calls "
		"deep\n", rb);
	return NULL;
}

/* ---- spawn_wakes_sleeping_cpu ---- */

static long where_am_i(void *unused)
{
	(void)unused;
	return this_cpu()->index;
}

static const char *spawn_wakes_sleeping_cpu(void)
{
	struct cpu *c = cpu_get(last_cpu());
	uint64_t before, t0 = clock_ns();
	ctx_id_t id;
	long r = -1;

	if (cpu_count() < 2) {
		kprintf("contexts: one CPU: no other CPU to wake\n");
		return NULL;
	}
	while (!__atomic_load_n(&c->ctx->sleeping, __ATOMIC_SEQ_CST))
		if (clock_ns() - t0 > 1000000000ull)
			return ktest_why("CPU %u never went to sleep",
					 c->index);
	before = trap_count(VEC_CTX_WAKE);
	id = context_spawn(where_am_i, NULL, "wake-up", c->index);
	if (id <= 0 || context_join(id, &r) != 0)
		return ktest_why("spawn or join failed (%ld)", id);
	if (r != (long)c->index)
		return ktest_why("ran on CPU %ld, not %u", r, c->index);
	if (trap_count(VEC_CTX_WAKE) == before)
		return ktest_why("no wake-up IPI arrived");
	kprintf("contexts: CPU %u, halted, woken by IPI 0x%x, ran "
		"'wake-up'\n", c->index, VEC_CTX_WAKE);
	return NULL;
}

/* ---- ping_pong ---- */

#define PING_PONG 100000

static struct {
	volatile int turn;            /* 0: ping's; 1: pong's */
	volatile int started;
	unsigned long extra[2];       /* yields that found no turn */
	uint64_t t0, t1;
	unsigned rounds;
} pp;

static long player(void *arg)
{
	int me = (int)(uintptr_t)arg;

	__atomic_fetch_add(&pp.started, 1, __ATOMIC_SEQ_CST);
	while (pp.started < 2)
		context_yield();
	if (me == 0)
		pp.t0 = rdtsc();
	for (unsigned i = 0; i < pp.rounds; i++) {
		while (pp.turn != me) {
			context_yield();
			if (pp.turn != me)
				pp.extra[me]++;
		}
		pp.turn = !me;
	}
	if (me == 1)
		pp.t1 = rdtsc();
	return 0;
}

/* Round trips of ping-pong on CPU cpu: TSC ticks per round trip (two
 * switches), or 0 if a spawn failed. */
static uint64_t ping_pong_run(unsigned cpu, unsigned rounds)
{
	ctx_id_t a, b;

	memset(&pp, 0, sizeof pp);
	pp.rounds = rounds;
	a = context_spawn(player, (void *)0, "ping", cpu);
	b = context_spawn(player, (void *)1, "pong", cpu);
	if (a <= 0 || b <= 0)
		return 0;
	context_join(a, NULL);
	context_join(b, NULL);
	return (pp.t1 - pp.t0) / rounds;
}

static const char *ping_pong(void)
{
	uint64_t ticks = ping_pong_run(last_cpu(), PING_PONG);

	if (!ticks)
		return ktest_why("spawn failed");
	if (pp.extra[0] + pp.extra[1] > 2)
		return ktest_why("%lu and %lu yields found no turn",
				 pp.extra[0], pp.extra[1]);
	kprintf("contexts: ping-pong on CPU %u: %u round trips, each "
		"yield to the other\n", last_cpu(), PING_PONG);
	kprintf("contexts: %lu TSC ticks per round trip\n",
		(unsigned long)ticks);
	return NULL;
}

/* ---- round_robin_on_every_cpu ---- */

#define RR_CONTEXTS 3
#define RR_ROUNDS 5

static struct {
	volatile int go;
	unsigned len[CPU_MAX];
	uint8_t log[CPU_MAX][RR_CONTEXTS * RR_ROUNDS];
	volatile unsigned wrong_cpu;
} rr;

static long rr_worker(void *arg)
{
	unsigned home = (unsigned)(uintptr_t)arg / RR_CONTEXTS;
	unsigned me = (unsigned)(uintptr_t)arg % RR_CONTEXTS;

	while (!rr.go)
		context_yield();
	for (unsigned r = 0; r < RR_ROUNDS; r++) {
		if (this_cpu()->index != home)
			__atomic_fetch_add(&rr.wrong_cpu, 1, __ATOMIC_RELAXED);
		rr.log[home][rr.len[home]++] = (uint8_t)me;  /* its CPU's */
		context_yield();
	}
	return 0;
}

/* Each window of RR_CONTEXTS turns holds every context once, and turn
 * i + RR_CONTEXTS is the same context as turn i. */
static bool round_robin(const uint8_t *log, unsigned len)
{
	if (len != RR_CONTEXTS * RR_ROUNDS)
		return false;
	for (unsigned i = 0; i < len; i++) {
		if (i + RR_CONTEXTS < len && log[i + RR_CONTEXTS] != log[i])
			return false;
		for (unsigned j = i - i % RR_CONTEXTS; j < i; j++)
			if (log[j] == log[i])
				return false;
	}
	return true;
}

static const char *round_robin_on_every_cpu(void)
{
	static ctx_id_t ids[CPU_MAX * RR_CONTEXTS];
	unsigned n = cpu_count() * RR_CONTEXTS;
	char name[CTX_NAME_LEN], line[80];
	int at = 0;

	memset(&rr, 0, sizeof rr);
	for (unsigned i = 0; i < n; i++) {
		ksnprintf(name, sizeof name, "rr/%u.%u", i / RR_CONTEXTS,
			  i % RR_CONTEXTS);
		ids[i] = context_spawn(rr_worker, (void *)(uintptr_t)i, name,
				       i / RR_CONTEXTS);
		if (ids[i] <= 0)
			return ktest_why("spawn %u: %ld", i, ids[i]);
	}
	rr.go = 1;
	for (unsigned i = 0; i < n; i++)
		context_join(ids[i], NULL);
	if (rr.wrong_cpu)
		return ktest_why("%u turns on another CPU", rr.wrong_cpu);
	for (unsigned c = 0; c < cpu_count(); c++)
		if (!round_robin(rr.log[c], rr.len[c]))
			return ktest_why("CPU %u: %u turns, not in round robin",
					 c, rr.len[c]);
	for (unsigned i = 0; i < rr.len[0] && at < 60; i++)
		at += ksnprintf(line + at, sizeof line - at, " %c",
				'a' + rr.log[0][i]);
	kprintf("contexts: %u contexts x %u rounds on each of %u CPUs, each "
		"on its own\n", RR_CONTEXTS, RR_ROUNDS, cpu_count());
	kprintf("contexts: CPU 0 ran rr/0.a-c as%s\n", line);
	return NULL;
}

/* ---- fpu_kept_across_yields, fpu_fresh_context_is_clean ---- */

#define FPU_YIELDS 500

static struct fpu_image fpu_in[6], fpu_out[6];

static void yield_times(void *n)
{
	for (uintptr_t i = 0; i < (uintptr_t)n; i++)
		context_yield();
}

/* Context k's own values: every byte of XMM r is k * 16 + r + 1;
 * rounding control k % 4 in MXCSR (bits 13-14) and in the control
 * word (bits 10-11). */
static void fpu_pattern(struct fpu_image *img, unsigned k)
{
	memset(img, 0, sizeof *img);
	for (unsigned r = 0; r < 16; r++)
		memset(img->xmm[r], (int)(k * 16 + r + 1), 16);
	img->mxcsr = MXCSR_DEFAULT | (k % 4) << 13;
	img->fcw = (uint16_t)(FCW_DEFAULT | (k % 4) << 10);
}

static bool fpu_same(const struct fpu_image *a, const struct fpu_image *b)
{
	return memcmp(a->xmm, b->xmm, sizeof a->xmm) == 0 &&
	       a->mxcsr == b->mxcsr && a->fcw == b->fcw;
}

static long fpu_worker(void *arg)
{
	unsigned k = (unsigned)(uintptr_t)arg;

	fpu_fill_call(&fpu_in[k], yield_times, (void *)FPU_YIELDS,
		      &fpu_out[k]);
	return fpu_same(&fpu_in[k], &fpu_out[k]);
}

static const char *fpu_kept_across_yields(void)
{
	ctx_id_t ids[6];
	unsigned cpus[2] = { 0, last_cpu() }, kept = 0;

	for (unsigned k = 0; k < 6; k++) {
		fpu_pattern(&fpu_in[k], k + 1);
		ids[k] = context_spawn(fpu_worker, (void *)(uintptr_t)k,
				       "fpu-keeper", cpus[k / 3]);
		if (ids[k] <= 0)
			return ktest_why("spawn: %ld", ids[k]);
	}
	for (unsigned k = 0; k < 6; k++) {
		long same = 0;

		context_join(ids[k], &same);
		kept += same == 1;
	}
	if (kept != 6)
		return ktest_why("%u of 6 contexts lost FPU state (the first "
				 "XMM0 byte back: %u, MXCSR %x)", 6 - kept,
				 fpu_out[0].xmm[0][0], fpu_out[0].mxcsr);
	kprintf("contexts: 6 contexts on CPUs 0 and %u kept XMM0-15, MXCSR, "
		"FCW\n", last_cpu());
	kprintf("contexts: over %u yields each\n", FPU_YIELDS);
	return NULL;
}

static struct fpu_image fresh;

static void exit_now(void *result)
{
	context_exit((long)(uintptr_t)result);
}

static long fpu_dirty(void *how)
{
	fpu_pattern(&fpu_in[0], 3);
	fpu_fill_call(&fpu_in[0], how ? exit_now : yield_times, (void *)1,
		      &fpu_out[0]);
	return 0;
}

static long fpu_fresh(void *unused)
{
	(void)unused;
	fpu_dump(&fresh);
	return 0;
}

/* A dirty context, then a fresh one, on CPU cpu; how: 0 the dirty one
 * yields to the fresh one, 1 it exits first. */
static const char *fresh_after_dirty(unsigned cpu, int how)
{
	static const uint8_t zero[16][16];
	ctx_id_t d = context_spawn(fpu_dirty, (void *)(uintptr_t)how,
				   "fpu-dirty", cpu);
	ctx_id_t f;

	if (how)
		context_join(d, NULL);
	memset(&fresh, 0xAA, sizeof fresh);
	f = context_spawn(fpu_fresh, NULL, "fpu-fresh", cpu);
	if (d <= 0 || f <= 0)
		return ktest_why("spawn: %ld, %ld", d, f);
	context_join(f, NULL);
	if (!how)
		context_join(d, NULL);
	if (memcmp(fresh.xmm, zero, sizeof zero) != 0 ||
	    fresh.mxcsr != MXCSR_DEFAULT || fresh.fcw != FCW_DEFAULT)
		return ktest_why("a new context after one that %s saw XMM0 "
				 "byte %02x, MXCSR %x, FCW %x",
				 how ? "exited" : "yielded",
				 fresh.xmm[0][0], fresh.mxcsr, fresh.fcw);
	return NULL;
}

static const char *fpu_fresh_context_is_clean(void)
{
	const char *why;

	if ((why = fresh_after_dirty(last_cpu(), 0)) ||
	    (why = fresh_after_dirty(last_cpu(), 1)))
		return why;
	kprintf("contexts: after a dirty one yielded, then exited, a new "
		"context\n");
	kprintf("contexts: sees XMM0-15 zero, MXCSR %x, FCW %x\n",
		MXCSR_DEFAULT, FCW_DEFAULT);
	return NULL;
}

/* ---- spawn_exit_join_cycles, spawn_out_of_memory ---- */

struct usage {
	uint64_t frames, heap_bytes, heap_objects;
	uint32_t slots, live;
};

static void usage_now(struct usage *u)
{
	static struct heap_stats hs;      /* large: not on the stack */
	struct context_stats cs;

	heap_get_stats(&hs);
	context_get_stats(&cs);
	u->frames = frame_used_count();
	u->heap_bytes = hs.bytes_in_use;
	u->heap_objects = hs.objects;
	u->slots = kstack_slots_used();
	u->live = cs.live;
}

static const char *usage_differs(const struct usage *a,
				 const struct usage *b, const char *what)
{
	if (a->frames == b->frames && a->heap_bytes == b->heap_bytes &&
	    a->heap_objects == b->heap_objects && a->slots == b->slots &&
	    a->live == b->live)
		return NULL;
	return ktest_why("after %s: frames %lu -> %lu, heap %lu -> %lu "
			 "bytes, slots %u -> %u, contexts %u -> %u", what,
			 (unsigned long)a->frames, (unsigned long)b->frames,
			 (unsigned long)a->heap_bytes,
			 (unsigned long)b->heap_bytes, a->slots, b->slots,
			 a->live, b->live);
}

static const char *batch(unsigned count, unsigned cpus)
{
	static ctx_id_t ids[16];
	long r;

	for (unsigned i = 0; i < count; i++) {
		ids[i] = context_spawn(return_arg, (void *)(uintptr_t)i,
				       "cycle", i % cpus);
		if (ids[i] <= 0)
			return ktest_why("spawn %u: %ld", i, ids[i]);
	}
	for (unsigned i = 0; i < count; i++)
		if (context_join(ids[i], &r) != 0 || r != (long)i)
			return ktest_why("join %u: result %ld", i, r);
	return NULL;
}

static const char *spawn_exit_join_cycles(void)
{
	unsigned cpus = cpu_count() < 4 ? cpu_count() : 4;
	unsigned cycles = cpu_count() <= 4 ? 10000 :
			  cpu_count() <= 8 ? 1000 : 100;
	struct usage base, after;
	const char *why;

	if ((why = batch(16, cpus)))               /* warm the heap */
		return why;
	usage_now(&base);
	for (unsigned i = 0; i < cycles; i++) {
		ctx_id_t id = context_spawn(return_arg, (void *)(uintptr_t)i,
					    "cycle", i % cpus);
		long r = -1;

		if (id <= 0 || context_join(id, &r) != 0 || r != (long)i)
			return ktest_why("cycle %u: id %ld, result %ld", i,
					 id, r);
	}
	for (unsigned b = 0; b < 10; b++)
		if ((why = batch(16, cpus)))
			return why;
	usage_now(&after);
	if ((why = usage_differs(&base, &after, "the cycles")))
		return why;
	kprintf("contexts: %u spawn/exit/join cycles on %u CPU%s, 10 "
		"batches of 16\n", cycles, cpus, cpus == 1 ? "" : "s");
	kprintf("contexts: baseline kept: %lu frames, heap %lu B in %lu "
		"object%s,\n", (unsigned long)after.frames,
		(unsigned long)after.heap_bytes,
		(unsigned long)after.heap_objects,
		after.heap_objects == 1 ? "" : "s");
	kprintf("contexts: %u stack slots, %u contexts\n", after.slots,
		after.live);
	return NULL;
}

/* Frames taken, in blocks: each block's first word links the next,
 * its second says how many frames it has. */
static uint64_t hoard_frames(uint64_t keep_back)
{
	static const uint64_t sizes[] = { 1024, 64, 1 };
	uint64_t head = 0, pa;

	for (unsigned s = 0; s < 3; s++)
		while (frame_free_count() > keep_back + sizes[s] - 1 &&
		       frame_alloc(sizes[s], &pa) == 0) {
			uint64_t *w = phys_to_virt(pa);

			w[0] = head;
			w[1] = sizes[s];
			head = pa;
		}
	return head;
}

static void release_frames(uint64_t head)
{
	while (head) {
		uint64_t *w = phys_to_virt(head), next = w[0];

		frame_free(head, w[1]);
		head = next;
	}
}

static void *hoard_heap(void)
{
	void *head = NULL, **p;

	while ((p = kmalloc(256)) != NULL) {
		*p = head;
		head = p;
	}
	return head;
}

static void release_heap(void *head)
{
	while (head) {
		void *next = *(void **)head;

		kfree(head);
		head = next;
	}
}

static const char *spawn_out_of_memory(void)
{
	struct usage base, after;
	ctx_id_t none, few, full;
	const char *why;
	uint64_t frames;
	void *heap;

	heap_trim();          /* no free pages kept mapped, before or after */
	usage_now(&base);
	frames = hoard_frames(0);
	none = context_spawn(return_arg, NULL, "no-frames", 0);
	release_frames(frames);
	frames = hoard_frames(2);           /* half a stack's pages */
	few = context_spawn(return_arg, NULL, "two-frames", 0);
	heap = hoard_heap();
	full = context_spawn(return_arg, NULL, "heap-full", 0);
	release_heap(heap);
	release_frames(frames);
	heap_trim();
	if (none != CTX_E_NOMEM || few != CTX_E_NOMEM || full != CTX_E_NOMEM)
		return ktest_why("spawn with no frames: %ld, two frames: %ld, "
				 "heap full: %ld", none, few, full);
	usage_now(&after);
	if (context_join(none, NULL) != CTX_E_NOENT)
		return ktest_why("the failed spawn's id is joinable");
	if ((why = usage_differs(&base, &after, "failed spawns")))
		return why;
	kprintf("contexts: spawn with no frame, two frames, a full heap: "
		"%s\n", context_strerror(none));
	kprintf("contexts: and nothing leaked\n");
	return NULL;
}

/* ---- thousand_contexts_at_once ---- */

#define MANY 1000

static volatile int many_go;

static long wait_for_go(void *arg)
{
	while (!many_go)
		context_yield();
	return (long)(uintptr_t)arg;
}

/* Last, since the table keeps the chunks it grows (from the heap). */
static const char *thousand_contexts_at_once(void)
{
	static ctx_id_t ids[MANY];
	unsigned n = cpu_count() <= 4 ? MANY : MANY / 10;
	unsigned cpus = cpu_count() < 4 ? cpu_count() : 4;
	struct context_stats before, during;
	uint64_t t0, ticks;
	long r;

	many_go = 0;
	context_get_stats(&before);
	t0 = rdtsc();
	for (unsigned i = 0; i < n; i++) {
		ids[i] = context_spawn(wait_for_go, (void *)(uintptr_t)i,
				       "many", i % cpus);
		if (ids[i] <= 0) {
			many_go = 1;
			for (unsigned j = 0; j < i; j++)
				context_join(ids[j], NULL);
			return ktest_why("spawn %u of %u: %s", i, n,
					 context_strerror((int)ids[i]));
		}
	}
	ticks = (rdtsc() - t0) / n;
	context_get_stats(&during);
	many_go = 1;
	for (unsigned i = 0; i < n; i++)
		if (context_join(ids[i], &r) != 0 || r != (long)i)
			return ktest_why("join %u: result %ld", i, r);
	if (during.live != before.live + n)
		return ktest_why("%u contexts live, not %u", during.live,
				 before.live + n);
	kprintf("contexts: %u alive at once on %u CPU%s, %u KiB of stacks\n",
		n, cpus, cpus == 1 ? "" : "s",
		n * CTX_STACK_PAGES * 4);
	kprintf("contexts: %lu TSC ticks per spawn, table %u chunks\n",
		(unsigned long)ticks, during.chunks);
	return NULL;
}

/* ---- The self-test every boot test runs (scenario boot) ---- */

static long on_every_cpu(void *unused)
{
	static ctx_id_t ids[CPU_MAX];
	unsigned ran_home = 0, n = 0;
	long r;

	(void)unused;
	for (unsigned i = 0; i < cpu_count(); i++)
		if (cpu_get(i)->state == CPU_ONLINE)
			ids[n++] = context_spawn(where_am_i, NULL, "where", i);
	for (unsigned i = 0; i < n; i++)
		if (ids[i] > 0 && context_join(ids[i], &r) == 0 &&
		    r == (long)i)
			ran_home++;
	kprintf("contexts: a context on each of %u CPUs ran there and was "
		"joined\n", ran_home);
	return ran_home == n;
}

SELFTEST(contexts_run_on_every_cpu)
{
	long ok = 0;
	int e = context_run_here(on_every_cpu, NULL, "ktest", &ok);

	if (e)
		return ktest_why("%s", context_strerror(e));
	return ok ? NULL : ktest_why("a context ran elsewhere, or failed");
}

/* ---- The scenarios ---- */

static const struct selftest checks[] = {
	{ "join_errors", join_errors },
	{ "join_returns_result", join_returns_result },
	{ "spawn_wakes_sleeping_cpu", spawn_wakes_sleeping_cpu },
	{ "ping_pong", ping_pong },
	{ "round_robin_on_every_cpu", round_robin_on_every_cpu },
	{ "fpu_kept_across_yields", fpu_kept_across_yields },
	{ "fpu_fresh_context_is_clean", fpu_fresh_context_is_clean },
	{ "spawn_exit_join_cycles", spawn_exit_join_cycles },
	{ "spawn_out_of_memory", spawn_out_of_memory },
	{ "thousand_contexts_at_once", thousand_contexts_at_once },
};

static long run_checks(void *unused)
{
	char fpu[64];

	(void)unused;
	kprintf("contexts: %u CPU%s, FPU state by %s\n", cpu_count(),
		cpu_count() == 1 ? "" : "s", fpu_describe(fpu, sizeof fpu));
	for (unsigned i = 0; i < sizeof checks / sizeof checks[0]; i++)
		ktest_report(checks[i].name, checks[i].run());
	return 0;
}

SCENARIO(contexts, "chapter 07's checks: contexts on every CPU")
{
	int e = context_run_here(run_checks, NULL, "ktest", NULL);

	if (e)
		ktest_report("contexts", context_strerror(e));
}

/* ---- For gdb (tests/gdb/contexts.gdb, the README's session) ---- */

static volatile int hold;

static long held(void *unused)
{
	(void)unused;
	while (hold)
		context_yield();
	return 0;
}

static long joins(void *id)
{
	long r = -1;

	context_join((ctx_id_t)(uintptr_t)id, &r);
	return 1;
}

/* Where gdb stops: contexts in every state are around. */
void __attribute__((noinline)) contexts_gdb_stop(void)
{
	__asm__ volatile("" ::: "memory");
}

/* On CPU 0: 'held' yields until released; 'zombie' has exited and
 * waits for its join; 'first-joiner' waits in a join of 'held';
 * 'never-ran' has not run yet; the driver is running. */
static long every_state(void *unused)
{
	ctx_id_t h, z, j, n;

	(void)unused;
	hold = 1;
	h = context_spawn(held, NULL, "held", 0);
	z = context_spawn(return_arg, (void *)3, "zombie", 0);
	while (context_state(z) != CTX_EXITED)
		context_yield();
	j = context_spawn(joins, (void *)(uintptr_t)h, "first-joiner", 0);
	while (context_state(j) != CTX_BLOCKED)
		context_yield();
	n = context_spawn(return_arg, (void *)4, "never-ran", 0);
	contexts_gdb_stop();
	hold = 0;
	context_join(n, NULL);
	context_join(z, NULL);
	context_join(j, NULL);
	kprintf("contexts: every state shown; all joined\n");
	return 0;
}

SCENARIO(contexts_gdb, "contexts in every state, for gdb")
{
	context_run_here(every_state, NULL, "driver", NULL);
	ktest_report("contexts_gdb", NULL);
}

/* ---- bench_contexts: figures for bench/contexts ---- */

#define BENCH_BATCHES 7
#define BENCH_ROUNDS 5000
#define BENCH_SPAWNS 500

static uint64_t median(uint64_t *v, unsigned n)
{
	for (unsigned i = 1; i < n; i++)            /* insertion sort */
		for (unsigned j = i; j > 0 && v[j - 1] > v[j]; j--) {
			uint64_t t = v[j];

			v[j] = v[j - 1];
			v[j - 1] = t;
		}
	return v[n / 2];
}

/* TSC ticks per spawn + exit + join of a context on cpu. */
static uint64_t spawn_cost(unsigned cpu)
{
	uint64_t t0 = rdtsc();

	for (unsigned i = 0; i < BENCH_SPAWNS; i++)
		context_join(context_spawn(return_arg, NULL, "bench", cpu),
			     NULL);
	return (rdtsc() - t0) / BENCH_SPAWNS;
}

/*
 * The yield round trip (two switches) on CPU 0 in each FPU mode this
 * CPU has, the batches of the modes interleaved so that they share the
 * host's load; the median batch of each. Changing fpu_mode is safe
 * here: no context that uses the FPU is alive, and the driver, the
 * only one switched in both modes, never does (the kernel's C does not
 * touch the FPU registers; FXSAVE's image is the start of XSAVE's).
 */
static long bench_driver(void *unused)
{
	static const char *const names[] = { "none", "FXSAVE", "XSAVE" };
	uint32_t chosen = fpu_mode, modes = chosen == FPU_XSAVE ? 3 : 2;
	uint64_t ticks[3][BENCH_BATCHES], m[3], here, there;
	char fpu[64];

	(void)unused;
	for (unsigned b = 0; b < BENCH_BATCHES; b++)
		for (uint32_t mode = 0; mode < modes; mode++) {
			fpu_mode = mode;
			ticks[mode][b] = ping_pong_run(0, BENCH_ROUNDS);
		}
	fpu_mode = chosen;
	kprintf("BENCH FPU state by %s\n", fpu_describe(fpu, sizeof fpu));
	for (uint32_t mode = 0; mode < modes; mode++) {
		m[mode] = median(ticks[mode], BENCH_BATCHES);
		kprintf("BENCH yield round trip, %s: %lu TSC ticks (%lu.%02lu "
			"x none)\n", names[mode], (unsigned long)m[mode],
			(unsigned long)(m[mode] / m[0]),
			(unsigned long)(m[mode] * 100 / m[0] % 100));
	}
	here = spawn_cost(0);
	kprintf("BENCH spawn+exit+join, same CPU: %lu TSC ticks (%lu.%02lu "
		"x yield)\n", (unsigned long)here,
		(unsigned long)(here / m[chosen]),
		(unsigned long)(here * 100 / m[chosen] % 100));
	if (cpu_count() > 1) {
		there = spawn_cost(last_cpu());
		kprintf("BENCH spawn+exit+join, CPU %u: %lu TSC ticks\n",
			last_cpu(), (unsigned long)there);
	}
	return 0;
}

SCENARIO(bench_contexts, "switch and spawn costs, in TSC ticks")
{
	context_run_here(bench_driver, NULL, "bench", NULL);
	ktest_report("bench_contexts", NULL);
}

static unsigned depth;

static __attribute__((noinline)) unsigned recurse(unsigned n)
{
	volatile char pad[496];

	pad[0] = (char)n;
	depth = n;
	if (n == ~0u)                   /* never true; keeps gcc quiet */
		return 0;
	return recurse(n + 1) + pad[0];
}

static long overflow(void *unused)
{
	(void)unused;
	return recurse(0);
}

static long overflow_driver(void *unused)
{
	ctx_id_t id;

	(void)unused;
	kprintf("spawning 'recursive' on CPU %u, to overflow its stack\n",
		last_cpu());
	id = context_spawn(overflow, NULL, "recursive", last_cpu());
	context_join(id, NULL);
	kprintf("survived a stack overflow\n");
	return 0;
}

SCENARIO(context_stack_overflow,
	 "a context overflows its stack: a report naming it")
{
	context_run_here(overflow_driver, NULL, "ktest", NULL);
}
