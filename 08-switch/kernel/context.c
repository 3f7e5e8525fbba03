/*
 * context.c: the kernel's threads. Spawn builds a context whose first
 * switch enters a trampoline and hands it to the scheduler (sched.c),
 * which decides when and where it runs; the scheduler's switch hook
 * comes back here for the registers; join waits for a context to end
 * and frees it.
 *
 * Pure logic over the hooks at the end of context.h and scheduler.h,
 * and over switch_to() (switch.asm).
 */
#include "context.h"
#include "fpu.h"
#include "heap.h"
#include "kprintf.h"
#include "spinlock.h"
#include "string.h"

/**
 * ## What a context is
 *
 * A *context* (a *thread*, in most books) is one line of execution: a
 * place in the code, a stack of calls that led there, and the values
 * its registers hold. A CPU runs one context at a time. To run another
 * one, it must put the first one's registers away somewhere, so that
 * the context can later go on exactly where it stopped, as if nothing
 * had happened, and load the other one's. That is a *context switch*,
 * and `switch_to()` (switch.asm) does it. What must be saved:
 *
 * - **The stack pointer, RSP.** Every context has a stack of its own.
 *   The stack holds the context's whole history of calls: local
 *   variables, saved registers and return addresses. Loading another
 *   RSP *is* moving to that history.
 * - **The callee-saved registers**: RBX, RBP, R12-R15. A context
 *   switches by calling `switch_to()`, a function. The System V
 *   calling convention, which gcc follows, says that a function may
 *   change RAX, RCX, RDX, RSI, RDI and R8-R11 (*caller-saved*: a
 *   caller that still needs them saved them on its stack before the
 *   call) but must give RBX, RBP and R12-R15 back as it found them
 *   (*callee-saved*). So those six are all of the general registers a
 *   switch must keep; the rest are already on the stack, or dead.
 *   RIP, the place in the code, need not be saved either: it is the
 *   return address that the `call` of `switch_to()` pushed, on top of
 *   the saved stack.
 * - **RFLAGS.** Besides the results of comparisons, it holds the
 *   interrupt flag IF and the direction flag DF. Interrupts are off
 *   during a switch, and a context that called switch_to() with some
 *   flags must get them back; the next context, its own.
 * - **The FPU/SSE registers** (fpu.c): not callee-saved, but they
 *   belong to the thread, and a thread must never see another's.
 * - **CR3**, its address space. All kernel threads share the kernel's
 *   page tables, so switch_to() loads CR3 only when it differs (a
 *   load throws away the TLB's cached translations).
 * - **TSS.RSP0**: the stack the CPU switches to when an interrupt
 *   arrives while user code runs, which must be the running context's
 *   kernel stack. This book's kernel runs no user code, but a kernel
 *   that does must not forget it.
 *
 * A context's *state* says what it is doing (scheduler.h, in its
 * `struct sched_entity se`). Each CPU's first context, made by
 * context_init() from the code that was running, is its *idle*
 * context. Which context runs next, on which CPU, is the scheduler's
 * decision (sched.c): a run queue per CPU, preemption by the tick,
 * moves between CPUs. Redox 0.3.5 keeps, per CPU, only the *id* of the
 * current context (`CONTEXT_ID`), so finding the current context means
 * a lookup in its global map, under its global lock; here `this_cpu()`
 * leads to the run queue and its current context, in three loads. The
 * table of ids (context_table.c) is used only by spawn and join, never
 * to switch.
 */
static struct ctx_table all_contexts;   /* every context, by id */
static struct ctx_cpu *ctx_cpus[CTX_MAX_CPUS];  /* written once each */
static uint64_t n_spawned, n_reaped;         /* atomic */

#define GUARD_BYTES 4096ull         /* kstack.c's guard page */
#define RFLAGS_RESERVED 0x2ull      /* bit 1 of RFLAGS is always set */

/* The layout switch.asm relies on (switch.h). */
_Static_assert(offsetof(struct context, rsp) == CTX_RSP, "rsp");
_Static_assert(offsetof(struct context, rbx) == CTX_RBX, "rbx");
_Static_assert(offsetof(struct context, rbp) == CTX_RBP, "rbp");
_Static_assert(offsetof(struct context, r12) == CTX_R12, "r12");
_Static_assert(offsetof(struct context, r13) == CTX_R13, "r13");
_Static_assert(offsetof(struct context, r14) == CTX_R14, "r14");
_Static_assert(offsetof(struct context, r15) == CTX_R15, "r15");
_Static_assert(offsetof(struct context, rflags) == CTX_RFLAGS, "rflags");
_Static_assert(offsetof(struct context, cr3) == CTX_CR3, "cr3");
_Static_assert(offsetof(struct context, kstack_top) == CTX_KSTACK_TOP,
	       "kstack_top");
_Static_assert(offsetof(struct context, fpu) == CTX_FPU, "fpu");
_Static_assert(CTX_FPU % FPU_AREA_ALIGN == 0, "fpu alignment");

struct context *ctx_of(struct sched_entity *se)
{
	return (struct context *)((char *)se -
				  offsetof(struct context, se));
}

static int load_state(const struct context *c)
{
	return __atomic_load_n(&c->se.state, __ATOMIC_SEQ_CST);
}

/* ---- Switching: the scheduler's two hooks ---- */

/**
 * ## Switching
 *
 * Chapter 07 kept a ring of runnable contexts per CPU, touched only by
 * that CPU, and an inbox for the others. From this chapter on, what
 * runs next is the scheduler's decision (sched.c): a run queue per CPU
 * with a lock, which other CPUs may also take work from. The current
 * context stops running in the scheduler's `schedule()`: it is RUNNING
 * (a yield, or a preemption: it goes back into a run queue), BLOCKED
 * (it waits to be woken) or EXITED (it never comes back). schedule()
 * turns interrupts off itself, and panics if a spinlock is held or
 * preemption is disabled: a context that switched away holding a lock
 * would leave it held for as long as it is away, and every other
 * context that wants it would spin.
 *
 * This file keeps what only it knows, the registers, in two hooks the
 * scheduler calls:
 *
 * - `sched_env_switch()`, with the entity it leaves and the one it
 *   picked: this file turns them back into contexts for `switch_to()`;
 * - `sched_env_exited()`, from `sched_finish()` in the context that
 *   runs next, when the one it replaced has exited and is now off its
 *   CPU for good: now its joiner may free it. Marking it done and
 *   waking the joiner happens here, not in context_exit(): until
 *   switch_to() has left the old stack, freeing that stack would pull
 *   the floor from under the CPU. After the exchange below, the exited
 *   context is the joiner's: this CPU does not touch it again.
 */
struct sched_entity *sched_env_switch(struct sched_entity *prev,
				      struct sched_entity *next)
{
	struct context *from;

	ctx_of(next)->switches++;      /* before: once switch_to() returns,
					  next may long since be gone */
	from = switch_to(ctx_of(prev), ctx_of(next), ctx_cpu_this()->tss);
	return &from->se;
}

/* Interrupts off. */
void sched_env_exited(struct sched_entity *se)
{
	struct context *prev = ctx_of(se), *joiner;

	joiner = __atomic_exchange_n(&prev->joiner, CTX_JOIN_DONE,
				     __ATOMIC_SEQ_CST);
	if (joiner && joiner != CTX_JOIN_DONE)
		sched_wake(&joiner->se);
}

bool context_yield(void)
{
	struct context *me = context_current();
	uint64_t before = me->switches;

	sched_yield_cpu();
	return me->switches != before;
}

void context_idle_once(void)
{
	sched_idle_once();
}

_Noreturn void context_idle(void)
{
	sched_idle();
}

struct context *context_current(void)
{
	struct sched_entity *se = sched_current();

	return se ? ctx_of(se) : NULL;
}

/* ---- Making contexts ---- */

static void copy_name(char *dst, const char *src)
{
	size_t i = 0;

	for (; src && src[i] && i < CTX_NAME_LEN - 1; i++)
		dst[i] = src[i];
	dst[i] = '\0';
}

/* A zeroed context with a clean FPU area, or NULL. A CPU's first
 * context lasts as long as the machine, so it does not come from the
 * heap (ctx_alloc_lasting()). */
static struct context *context_alloc(const char *name, bool lasting)
{
	size_t bytes = CTX_FPU + fpu_size;
	struct context *c = lasting ? ctx_alloc_lasting(bytes) :
		kmalloc_aligned(bytes, FPU_AREA_ALIGN);

	if (!c)
		return NULL;
	memset(c, 0, CTX_FPU);
	copy_name(c->name, name);
	fpu_clean_image(c->fpu);
	return c;
}

/* The table's chunks are never freed (their generations must persist),
 * except one that lost a race to another CPU's. */
static void chunk_free(void *chunk)
{
	ctx_free_lasting(chunk, CTX_CHUNK_SLOTS * sizeof(struct ctx_slot));
}

static void table_init_once(void)
{
	static bool done;            /* boot CPU, before any other CPU */

	if (!done) {
		ctx_table_init(&all_contexts, ctx_alloc_lasting, chunk_free);
		done = true;
	}
}

struct ctx_cpu *context_init(unsigned index, struct tss *tss,
			     const struct kstack *stack, const char *name)
{
	struct ctx_cpu *cpu;
	struct context *c;
	ctx_id_t id;

	if (index >= CTX_MAX_CPUS || ctx_cpus[index])
		return NULL;
	table_init_once();
	cpu = ctx_alloc_lasting(sizeof *cpu);
	c = context_alloc(name, true);
	id = cpu && c ? ctx_table_reserve(&all_contexts) : CTX_E_NOMEM;
	if (id <= 0) {
		if (cpu)
			ctx_free_lasting(cpu, sizeof *cpu);
		if (c)
			ctx_free_lasting(c, CTX_FPU + fpu_size);
		return NULL;
	}
	*cpu = (struct ctx_cpu){ .tss = tss, .index = index, .first = c };
	c->id = id;
	c->first = true;            /* se: sched_cpu_init(), next */
	c->kstack = *stack;
	c->kstack_top = stack->top;
	c->cr3 = ctx_kernel_cr3();
	ctx_table_publish(&all_contexts, id, c);
	__atomic_store_n(&ctx_cpus[index], cpu, __ATOMIC_RELEASE);
	return cpu;
}

/**
 * ## A new context's first frame
 *
 * A context that has never run has no call of `switch_to()` to return
 * from, so spawn makes its stack look as if it had one. switch_to()
 * ends by loading the saved RSP and executing `ret`, which pops the
 * return address from the stack into RIP. So spawn puts the address
 * where the new context must begin on top of its stack, and the saved
 * registers hold what that code needs:
 *
 *     kstack.top   -> +------------------+  (page-aligned)
 *                     | 0                |  top - 8: a return address
 *                     |                  |  of 0, where backtraces end
 *     saved RSP    -> | context_start    |  top - 16: popped by `ret`
 *                     +------------------+
 *                     | (free stack)     |
 *                     ~                  ~
 *     kstack.bottom -> +-----------------+
 *                     | guard page       |  unmapped: an overflow
 *                     +------------------+  faults here
 *
 *     saved R12 = fn, R13 = arg, RBP = 0, RFLAGS = 0x2 (IF clear)
 *
 * After the `ret`, RSP is top - 8, just as if context_start had been
 * *called*: a call pushes 8 bytes, and the System V convention wants
 * RSP to be a multiple of 16 before a call, so a function starts with
 * RSP 8 bytes off a multiple of 16. `context_start` (switch.asm) then
 * pushes RBP (0: the end of the chain of frame pointers, for gdb and
 * for backtraces), which makes RSP a multiple of 16 again; calls
 * `context_first_run()` with the context it came from; and calls
 * fn(arg). When fn returns, its result goes to `context_exit()`, which
 * never returns. Interrupts are off (RFLAGS = 0x2) until
 * context_first_run() has finished the switch.
 *
 * Redox 0.3.5 does the first half of this: the function's address on
 * top of a fresh stack, so that the first switch's `ret` jumps into it.
 * But nothing lies above it. If the function returns, its own `ret`
 * pops whatever is next on the stack, past the end of the stack (there
 * is no guard page either), and jumps there. Here the function returns
 * into context_start, which ends the context properly.
 *
 * And the new context's address space: Redox sets it to
 * `ActivePageTable::new()`, which looks as if it made new, empty page
 * tables. It does not: it wraps the tables that are active now, the
 * ones CR3 points at, so the new context shares the kernel's. That is
 * what `ctx_kernel_cr3()` gives here, said plainly.
 */
static void first_frame(struct context *c, context_fn fn, void *arg)
{
	uint64_t *top = (uint64_t *)c->kstack.top;

	top[-1] = 0;
	top[-2] = (uint64_t)(uintptr_t)context_start;
	c->rsp = (uint64_t)(uintptr_t)&top[-2];
	c->rbp = 0;
	c->r12 = (uint64_t)(uintptr_t)fn;
	c->r13 = (uint64_t)(uintptr_t)arg;
	c->rflags = RFLAGS_RESERVED;
	c->cr3 = ctx_kernel_cr3();
	c->kstack_top = c->kstack.top;
	c->fn = fn;
	c->arg = arg;
}

void context_first_run(struct context *prev)
{
	sched_finish(&prev->se);
	ctx_irq_restore(1);
}

/**
 * ## Spawn
 *
 * 1. The CPU must have run context_init().
 * 2. The context and its FPU area, in one allocation from the heap
 *    (64-byte aligned, for XSAVE), the area a copy of the clean image.
 * 3. A stack: CTX_STACK_PAGES fresh frames in a slot of the
 *    kernel-stack area, with the guard page below (kstack.c).
 * 4. An id from the table, reserved: nobody can find it yet.
 * 5. The first frame, then the id published: from now on join finds
 *    it.
 * 6. To the scheduler: RUNNABLE, in the run queue of the CPU it is
 *    pinned to, or of the least loaded one (sched_start()).
 *
 * Each step that fails undoes the ones before it, so running out of
 * memory leaves everything as it was: the host test fails every
 * allocation in turn and checks.
 */
ctx_id_t context_spawn(context_fn fn, void *arg, const char *name,
		       unsigned cpu)
{
	bool any = cpu == CTX_ANY_CPU;                          /* 1. */
	struct ctx_cpu *home = cpu < CTX_MAX_CPUS ?
		__atomic_load_n(&ctx_cpus[cpu], __ATOMIC_ACQUIRE) : NULL;
	struct context *c;
	ctx_id_t id;

	if (any ? sched_ncpus() == 0 : !home || !sched_rq(cpu))
		return CTX_E_CPU;
	c = context_alloc(name, false);                         /* 2. */
	if (!c)
		return CTX_E_NOMEM;
	if (kstack_alloc(CTX_STACK_PAGES, NULL, &c->kstack) != 0) { /* 3. */
		kfree(c);
		return CTX_E_NOMEM;
	}
	id = ctx_table_reserve(&all_contexts);                         /* 4. */
	if (id <= 0) {
		kstack_free(&c->kstack);
		kfree(c);
		return id == CTX_TABLE_FULL ? CTX_E_FULL : CTX_E_NOMEM;
	}
	c->id = id;                                             /* 5. */
	sched_entity_init(&c->se, any ? SCHED_ANY_CPU : (int)cpu);
	first_frame(c, fn, arg);
	__atomic_fetch_add(&n_spawned, 1, __ATOMIC_RELAXED);
	ctx_table_publish(&all_contexts, id, c);
	sched_start(&c->se, SCHED_ANY_CPU);                     /* 6. */
	return id;
}

/* ---- Ending: exit, join, reaping ---- */

_Noreturn void context_exit(long result)
{
	struct context *self = context_current();

	if (self->first)
		ctx_panic("the idle context of CPU %u cannot exit",
			  sched_cpu());
	self->result = result;
	sched_exit();
}

/* Free an exited context that is off its CPU for good: its id, its
 * stack, its memory. The caller holds no reference to it. */
static void reap(struct context *c)
{
	if (ctx_table_remove(&all_contexts, c->id) != 0)
		ctx_panic("context %ld '%s' was reaped twice", c->id,
			  c->name);
	kstack_free(&c->kstack);
	kfree(c);
	__atomic_fetch_add(&n_reaped, 1, __ATOMIC_RELAXED);
}

/**
 * ## Join: waiting for a context to end
 *
 * A context cannot free its own stack: it is standing on it, and
 * switch_to() still pushes and pops there on the way out. So a context
 * that exits only says so, and another context frees it: the one that
 * *joins* it, which also wants its result. The handshake is one word
 * of the target, `joiner`, and the moment sched_env_exited() runs on
 * the target's CPU, when the target is off that CPU for good:
 *
 * 1. The joiner takes a reference (the table's), so that nobody can
 *    free the target while it looks at it.
 * 2. It marks itself BLOCKED *first*, then claims `joiner` with
 *    compare-and-swap, from empty to itself. If the word says DONE,
 *    the target has gone already: no waiting. If another context is
 *    in it, that one joins: CTX_E_BUSY.
 * 3. It switches away, until woken. On the target's CPU, the context
 *    that runs after the target has exited exchanges `joiner` for DONE
 *    and, finding the joiner there, wakes it.
 * 4. Woken (or if the word said DONE at once), the joiner reads the
 *    result, drops its reference and reaps the target.
 *
 * Step 2's order is what makes it safe across CPUs. A wake-up can only
 * come after the claim, and the claim comes after BLOCKED, so the
 * waker always finds the joiner BLOCKED, or at worst not yet switched
 * away, which the scheduler handles (sched_block() then returns at
 * once). The joiner looks at the word again each time it runs, so it
 * never sleeps once the target is done.
 */
static void still_running(struct context *self)
{
	/* Blocked, but it never switched away (the target was done, or
	 * another joiner was there): the running context is RUNNING. A
	 * waker that came meanwhile found it current and did the same. */
	__atomic_store_n(&self->se.state, CTX_RUNNING, __ATOMIC_SEQ_CST);
}

int context_join(ctx_id_t id, long *result)
{
	struct context *self = context_current(), *t, *claim = NULL;
	uint64_t irq;
	long r;

	if (id == self->id)
		return CTX_E_SELF;
	t = ctx_table_get(&all_contexts, id);                          /* 1. */
	if (!t)
		return CTX_E_NOENT;
	if (self->first || t->first) {
		ctx_table_put(&all_contexts, id);
		return CTX_E_IDLE;
	}
	irq = ctx_irq_save();
	sched_set_blocked();                                    /* 2. */
	if (!__atomic_compare_exchange_n(&t->joiner, &claim, self, false,
					 __ATOMIC_SEQ_CST,
					 __ATOMIC_SEQ_CST) &&
	    claim != CTX_JOIN_DONE) {
		still_running(self);
		ctx_irq_restore(irq);
		ctx_table_put(&all_contexts, id);
		return CTX_E_BUSY;
	}
	while (__atomic_load_n(&t->joiner, __ATOMIC_SEQ_CST) !=     /* 3. */
	       CTX_JOIN_DONE) {
		sched_block();                 /* RUNNING when it returns */
		if (__atomic_load_n(&t->joiner, __ATOMIC_SEQ_CST) ==
		    CTX_JOIN_DONE)
			break;
		sched_set_blocked();
	}
	still_running(self);
	ctx_irq_restore(irq);
	r = t->result;                                          /* 4. */
	ctx_table_put(&all_contexts, id);
	reap(t);
	if (result)
		*result = r;
	return 0;
}

/* The idle context cannot block in a join, so it waits the way it
 * always does, in the idle loop, until sched_env_exited() has marked the
 * context done; then it reaps it, as join would. */
int context_run_here(context_fn fn, void *arg, const char *name,
		     long *result)
{
	struct context *self = context_current();
	struct context *t;
	ctx_id_t id;

	if (!self || !self->first)
		return CTX_E_IDLE;
	id = context_spawn(fn, arg, name, sched_cpu());
	if (id < 0)
		return (int)id;
	t = ctx_table_get(&all_contexts, id);
	while (__atomic_load_n(&t->joiner, __ATOMIC_SEQ_CST) !=
	       CTX_JOIN_DONE)
		context_idle_once();
	ctx_table_put(&all_contexts, id);
	if (result)
		*result = t->result;
	reap(t);
	return 0;
}

void context_cpu_gone(unsigned cpu)
{
	if (cpu < CTX_MAX_CPUS)
		__atomic_store_n(&ctx_cpus[cpu], NULL, __ATOMIC_RELEASE);
	sched_cpu_gone(cpu);
}

int context_state(ctx_id_t id)
{
	struct context *c = ctx_table_get(&all_contexts, id);
	int state;

	if (!c)
		return CTX_E_NOENT;
	state = load_state(c);
	ctx_table_put(&all_contexts, id);
	return state;
}

/* ---- Reports ---- */

/**
 * ## Naming a context in a report
 *
 * When a context overflows its stack, it writes into the guard page
 * below it and takes a page fault. To deliver it the CPU must push the
 * fault's frame on the very stack that is full, which faults again, so
 * it raises a double fault instead, on its own stack (IST1, chapter
 * 03). CR2 still holds the address in the guard page. The report
 * (report.c) asks `context_describe_addr(CR2)` first, which looks at
 * the running context and then at every context of the table, and
 * prints "the guard page below the stack of context 5 'worker' (CPU
 * 1)": the student learns which thread overflowed, not only that a
 * stack did. The CPU named is the one the context last ran on (or is
 * queued on), since contexts move between CPUs from this chapter on. A
 * CPU's first context is left to kstack.c, whose names ("the boot
 * CPU's kernel stack") say more.
 */

static const char *describe(const struct context *c, uint64_t va,
			    char *buf, size_t len)
{
	const char *what;

	if (c->first)
		return NULL;
	if (va >= c->kstack.bottom && va < c->kstack.top)
		what = "in the stack";
	else if (va >= c->kstack.bottom - GUARD_BYTES &&
		 va < c->kstack.bottom)
		what = "the guard page below the stack";
	else
		return NULL;
	ksnprintf(buf, len, "%s of context %ld '%s' (CPU %u)", what, c->id,
		  c->name, c->se.cpu);
	return buf;
}

const char *context_describe_addr(uint64_t va, char *buf, size_t len)
{
	struct context *cur = context_current();

	if (cur && describe(cur, va, buf, len))
		return buf;
	for (uint32_t i = 1; i < CTX_SLOTS; i++) {
		struct context *c = ctx_table_at(&all_contexts, i, NULL);

		if (c && describe(c, va, buf, len))
			return buf;
	}
	return NULL;
}

const char *context_strerror(int err)
{
	switch (err) {
	case CTX_E_NOMEM: return "out of memory";
	case CTX_E_FULL:  return "no free context slot";
	case CTX_E_NOENT: return "no such context";
	case CTX_E_SELF:  return "a context cannot join itself";
	case CTX_E_BUSY:  return "another context is joining it";
	case CTX_E_CPU:   return "no such CPU, or no contexts on it";
	case CTX_E_IDLE:  return "idle contexts neither wait nor end";
	default:          return "unknown error";
	}
}

const char *context_state_name(int state)
{
	static const char *const names[] = {
		"new", "runnable", "running", "blocked", "exited",
	};

	return state >= 0 && state <= CTX_EXITED ? names[state] : "bad";
}

void context_get_stats(struct context_stats *s)
{
	s->spawned = __atomic_load_n(&n_spawned, __ATOMIC_RELAXED);
	s->reaped = __atomic_load_n(&n_reaped, __ATOMIC_RELAXED);
	s->live = __atomic_load_n(&all_contexts.live, __ATOMIC_RELAXED);
	s->chunks = __atomic_load_n(&all_contexts.chunks, __ATOMIC_RELAXED);
}
