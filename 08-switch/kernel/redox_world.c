/*
 * redox_world.c: the benchmarks' baseline, Redox 0.3.5's switching,
 * run with real register switches on the kernel's CPUs (redox_world.h):
 * contexts of its own, the re-created decision (redox_sched.c), then
 * chapter 07's switch_to().
 */
#include "clock.h"
#include "context.h"
#include "fpu.h"
#include "heap.h"
#include "intr.h"
#include "kstack.h"
#include "percpu.h"
#include "redox_world.h"
#include "string.h"
#include "x86.h"

/**
 * ## A world inside a context
 *
 * The baseline must switch for real, stacks, registers, FPU state and
 * all, or its figures would leave out what ours include. So its
 * contexts are real: each has a struct context (the layout switch_to()
 * reads: registers, stack top, FPU area) and a stack of its own, and
 * switches by calling switch_to(), exactly as ours do. What differs is
 * only who decides: redox_pick(), Redox's steps 1 to 8.
 *
 * The world lives inside one context of ours per CPU, its *driver*,
 * pinned to that CPU. To our scheduler the driver is simply running;
 * while it runs a batch, its CPU switches between the world's contexts
 * behind our scheduler's back. That is safe because of two rules:
 *
 * - **Interrupts stay off** in the world's contexts, as Redox's rules
 *   say (its kernel code never runs with interrupts on; its idle
 *   context opens a window of one instruction, `sti; nop`, and so does
 *   the driver here: `sti; pause; cli`). A tick can then arrive only
 *   in the driver, which is what our scheduler thinks is running.
 * - **Our preemption is off** in the driver for the whole batch, so
 *   that a tick in that window never switches our way: the driver
 *   stays where the world can come back to it.
 *
 * The driver is also the world's idle context for its CPU (Redox gives
 * every CPU one; here they take the lowest ids), and takes its turn in
 * the round robin like any other, as Redox's does.
 *
 * A world context starts in `world_entry()`: its first switch_to()
 * "returns" there, as a new context of ours returns into
 * context_start (context.c draws the frame). It learns who it is from
 * its CPU's current index, which redox_pick() set before the switch
 * (Redox's CONTEXT_ID), then yields for ever.
 *
 * **Batches.** A batch is a number of switches on one CPU, timed by the
 * TSC. The context that makes the last switch of a batch notes the
 * time and hands the CPU straight back to the driver (*parks*), outside
 * Redox's rules; the next batch starts with a switch straight back to
 * it, so the round robin goes on where it stopped. Without this a
 * batch would end only when the round robin came back to the driver:
 * with 10,000 contexts, 10,000 switches of 10,000 lock round trips.
 */
#define NONE (~0u)

struct world_cpu {
	struct redox_cpu rc;      /* current context, counters */
	unsigned driver;          /* its driver's index */
	unsigned parked;          /* handed back the CPU, or NONE */
	uint64_t goal;            /* rc.switches at which the batch ends */
	uint64_t t0, t1;          /* the batch's start, its last switch */
	bool reached;             /* the goal: reached in this batch */
} __attribute__((aligned(64)));

static struct {
	struct redox_world w;     /* every context; ctx[i].env its struct */
	unsigned ncpu;
	bool wait_all;            /* a batch ends on every CPU at once */
	unsigned reached;         /* atomic: CPUs past their goal */
	struct world_cpu cpu[REDOX_WORLD_CPUS];
} world;

static struct context *ctx_at(unsigned i)
{
	return world.w.ctx[i].env;
}

static void switch_between(unsigned from, unsigned to)
{
	switch_to(ctx_at(from), ctx_at(to), ctx_cpu_this()->tss);
}

/* One yield of context self: Redox's switch(). Interrupts off. */
static void yield_in_world(struct world_cpu *wc, unsigned self)
{
	unsigned to = redox_pick(&world.w, &wc->rc, clock_ns());

	if (to != world.w.n)
		switch_between(self, to);
}

/* In a context of wc's CPU that has just been switched to: note the end
 * of the batch; true once it is over here (and everywhere, with
 * wait_all). */
static bool arrived(struct world_cpu *wc)
{
	if (!wc->reached && wc->rc.switches >= wc->goal) {
		wc->t1 = rdtsc();
		wc->reached = true;
		if (world.wait_all)
			__atomic_fetch_add(&world.reached, 1, __ATOMIC_SEQ_CST);
	}
	return wc->reached &&
	       (!world.wait_all || __atomic_load_n(&world.reached,
						   __ATOMIC_SEQ_CST) >=
				   world.ncpu);
}

/* Hand the CPU straight to context to, outside Redox's decision (the
 * benchmark's own step: parking and resuming). */
static void hand_over(struct world_cpu *wc, unsigned from, unsigned to)
{
	world.w.ctx[from].running = false;
	world.w.ctx[to].running = true;
	wc->rc.current = to;
	switch_between(from, to);
}

static _Noreturn void world_entry(void)
{
	struct world_cpu *wc = &world.cpu[this_cpu()->index];
	unsigned self = wc->rc.current;

	for (;;) {
		if (arrived(wc)) {
			wc->parked = self;
			hand_over(wc, self, wc->driver);
		}
		yield_in_world(wc, self);
	}
}

/* A world context's first frame: switch_to()'s `ret` enters
 * world_entry() with the stack as a call would leave it, above it a
 * return address of 0 where backtraces end; interrupts off. */
static struct context *world_context(void)
{
	struct context *c = kmalloc_aligned(CTX_FPU + fpu_size,
					    FPU_AREA_ALIGN);
	uint64_t *top;

	if (!c)
		return NULL;
	memset(c, 0, CTX_FPU);
	fpu_clean_image(c->fpu);
	if (kstack_alloc(2, NULL, &c->kstack) != 0) {
		kfree(c);
		return NULL;
	}
	top = (uint64_t *)c->kstack.top;
	top[-1] = 0;
	top[-2] = (uint64_t)(uintptr_t)world_entry;
	c->rsp = (uint64_t)(uintptr_t)&top[-2];
	c->rflags = 0x2;                   /* bit 1 is always set; IF 0 */
	c->cr3 = ctx_kernel_cr3();
	c->kstack_top = c->kstack.top;
	return c;
}

static void free_contexts(unsigned from, unsigned to)
{
	for (unsigned i = from; i < to; i++) {
		struct context *c = ctx_at(i);

		kstack_free(&c->kstack);
		kfree(c);
	}
}

int redox_world_init(unsigned ncpu, unsigned yielders, unsigned runnable,
		     bool wait_all)
{
	unsigned n = ncpu + ncpu * yielders;
	struct redox_ctx *ctx;

	if (ncpu == 0 || ncpu > REDOX_WORLD_CPUS || n < ncpu)
		return -1;
	ctx = kmalloc(n * sizeof *ctx);
	if (!ctx)
		return -1;
	memset(&world, 0, sizeof world);
	memset(ctx, 0, n * sizeof *ctx);
	world.w.ctx = ctx;
	world.ncpu = ncpu;
	world.wait_all = wait_all;
	for (unsigned i = 0; i < n; i++) {
		ctx[i].id = i + 1;
		ctx[i].status = i < ncpu || (i - ncpu) / ncpu < runnable ?
				REDOX_RUNNABLE : REDOX_BLOCKED;
		ctx[i].cpu = i < ncpu ? (int)i : ncpu == 1 ? REDOX_NO_CPU :
			     (int)((i - ncpu) % ncpu);
		if (i >= ncpu && !(ctx[i].env = world_context())) {
			world.w.n = i;
			free_contexts(ncpu, i);
			kfree(ctx);
			return -1;
		}
	}
	world.w.n = n;
	for (unsigned c = 0; c < ncpu; c++) {
		world.cpu[c].rc.index = (int)c;
		world.cpu[c].rc.current = c;
		world.cpu[c].driver = c;
		world.cpu[c].parked = NONE;
		ctx[c].running = true;
	}
	return 0;
}

uint64_t redox_world_batch(uint64_t switches)
{
	struct world_cpu *wc = &world.cpu[this_cpu()->index];
	unsigned me = wc->driver;
	uint64_t irq;

	preempt_disable();
	irq = ctx_irq_save();
	world.w.ctx[me].env = context_current();
	wc->goal = wc->rc.switches + switches;
	wc->reached = false;
	wc->t0 = rdtsc();
	if (wc->parked != NONE) {
		unsigned to = wc->parked;

		wc->parked = NONE;
		hand_over(wc, me, to);
	} else {
		yield_in_world(wc, me);
	}
	while (!arrived(wc)) {
		sti();                 /* Redox's idle: a one-instruction */
		cpu_relax();           /* window for an interrupt */
		cli();
		yield_in_world(wc, me);
	}
	ctx_irq_restore(irq);
	preempt_enable();
	return wc->t1 - wc->t0;
}

struct redox_cpu redox_world_stats(unsigned cpu)
{
	return world.cpu[cpu < REDOX_WORLD_CPUS ? cpu : 0].rc;
}

void redox_world_free(void)
{
	free_contexts(world.ncpu, world.w.n);
	kfree(world.w.ctx);
	world.w.ctx = NULL;
	world.w.n = 0;
}
