/*
 * context.c: the kernel's threads. Spawn builds a context whose first
 * switch enters a trampoline; each CPU keeps a ring of its runnable
 * contexts and switches between them when one yields, waits or ends;
 * join waits for a context to end and frees it.
 *
 * Pure logic over the hooks at the end of context.h, and over
 * switch_to() (switch.asm): the host test runs this file on pthreads,
 * one per "CPU", with real switches between real stacks.
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
 * A context's *state* says what it is doing (context.h). Each CPU has
 * a `struct ctx_cpu`, found through `this_cpu()`: its *current*
 * context, its *idle* context (the first one, made by context_init()
 * from the code that was running), and its *run ring*, the contexts of
 * this CPU that are ready to run, oldest first. A context belongs to
 * one CPU for its whole life (chapter 08 adds moving between CPUs).
 * Redox 0.3.5 keeps, per CPU, only the *id* of the current context
 * (`CONTEXT_ID`), so finding the current context means a lookup in
 * its global map, under its global lock; here `this_cpu()` leads to
 * the context itself, in two loads.
 *
 * ## Nothing on the switch path takes a lock
 *
 * The ring is touched only by its own CPU, with interrupts off, so it
 * needs no lock at all: a yield pushes the current context to the back
 * of the ring and pops the front one. Another CPU never writes the
 * ring; to give this CPU a context (a new one, or one it woke up) it
 * pushes the context onto the CPU's *inbox* (below). Nothing on this
 * path waits for another CPU. The table of ids (context_table.c) is
 * used only by spawn and join, never to switch. Redox 0.3.5, by
 * contrast, takes a global lock and walks every context on every
 * switch.
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

static int load_state(const struct context *c)
{
	return __atomic_load_n(&c->state, __ATOMIC_SEQ_CST);
}

static void set_state(struct context *c, int state)
{
	__atomic_store_n(&c->state, state, __ATOMIC_SEQ_CST);
}

/* ---- The run ring and the inbox ---- */

static void ring_push(struct ctx_cpu *cpu, struct context *c)
{
	c->next = NULL;
	if (cpu->tail)
		cpu->tail->next = c;
	else
		cpu->head = c;
	cpu->tail = c;
}

static struct context *ring_pop(struct ctx_cpu *cpu)
{
	struct context *c = cpu->head;

	if (c) {
		cpu->head = c->next;
		if (!cpu->head)
			cpu->tail = NULL;
		c->next = NULL;
	}
	return c;
}

/**
 * ### The inbox
 *
 * The inbox is a list with a single atomic head. A pusher, on any
 * CPU, links the context in front with compare-and-swap (CAS: "store
 * this if the word still holds what I read", retried when another CPU
 * was quicker). The owner takes the whole list at once with an atomic
 * exchange, reverses it into arrival order, and appends it to its
 * ring. Since the owner never takes single entries out, the list
 * cannot suffer the classic trap of a CAS stack (the ABA problem: a
 * head that was popped and pushed again between a read and a CAS).
 *
 * A CPU that has nothing to run sleeps in its idle context (`sti;
 * hlt`). A CPU that puts a context into a sleeping CPU's inbox sends it
 * an interrupt (an IPI) to wake it; *sleeping* is a flag the sleeper
 * sets before it looks at its inbox a last time, and the pusher reads
 * after pushing, both with full memory barriers (sequentially
 * consistent atomics), so that one of the two always sees the other:
 * no wake-up is lost.
 */

/* Another CPU's inbox (or this one's: it works for any). */
static void inbox_push(struct ctx_cpu *cpu, struct context *c)
{
	struct context *head = __atomic_load_n(&cpu->inbox,
					       __ATOMIC_RELAXED);

	do
		c->next = head;
	while (!__atomic_compare_exchange_n(&cpu->inbox, &head, c, true,
					    __ATOMIC_SEQ_CST,
					    __ATOMIC_RELAXED));
	if (__atomic_load_n(&cpu->sleeping, __ATOMIC_SEQ_CST))
		ctx_kick(cpu);
}

/* Move everything in this CPU's inbox to the back of its ring, in the
 * order it arrived. A context that finds itself there was woken before
 * it had gone to sleep: it is running, so it just stays RUNNING. */
static void inbox_drain(struct ctx_cpu *cpu)
{
	struct context *c, *next, *in_order = NULL;

	c = __atomic_exchange_n(&cpu->inbox, NULL, __ATOMIC_ACQUIRE);
	for (; c; c = next) {              /* reverse: oldest first */
		next = c->next;
		c->next = in_order;
		in_order = c;
	}
	for (c = in_order; c; c = next) {
		next = c->next;
		if (c == cpu->current)
			set_state(c, CTX_RUNNING);
		else
			ring_push(cpu, c);
	}
}

/* Make a BLOCKED context RUNNABLE, on its own CPU. Does nothing if it
 * is not blocked (it has not gone to sleep yet, and will look at what
 * it waits for before it does). Interrupts off. */
static void wake(struct context *c)
{
	int blocked = CTX_BLOCKED;
	struct ctx_cpu *home = ctx_cpus[c->cpu];

	if (!__atomic_compare_exchange_n(&c->state, &blocked, CTX_RUNNABLE,
					 false, __ATOMIC_SEQ_CST,
					 __ATOMIC_SEQ_CST))
		return;
	if (home == ctx_cpu_this())
		ring_push(home, c);
	else
		inbox_push(home, c);
}

/* ---- Switching ---- */

/**
 * ## Switching
 *
 * `schedule()` is where the current context stops running: it is
 * RUNNING (a yield: it goes to the back of the ring), BLOCKED (it
 * waits to be woken) or EXITED (it never comes back). It runs the next
 * context of the ring, or the idle context when the ring is empty, and
 * returns true if it switched (and the context has now come back),
 * false if the current context simply goes on. Interrupts are off and
 * no spinlock may be held: a context that switched away holding one
 * would leave it held for as long as it is away, and the next context
 * to want it on this CPU would spin forever, with interrupts off.
 *
 * `switch_done()` is what the context that now runs does first, after
 * every switch: if the one it replaced, prev, has exited, prev is now
 * off the CPU for good, and its joiner may free it. Marking it done
 * and waking the joiner happens here, not in context_exit(): until
 * switch_to() has left prev's stack, freeing that stack would pull the
 * floor from under the CPU. After the exchange below, prev is the
 * joiner's: this CPU does not touch it again.
 */
static void switch_done(struct ctx_cpu *cpu, struct context *prev)
{
	struct context *joiner;

	if (load_state(prev) != CTX_EXITED)
		return;
	__atomic_fetch_sub(&cpu->contexts, 1, __ATOMIC_SEQ_CST);
	joiner = __atomic_exchange_n(&prev->joiner, CTX_JOIN_DONE,
				     __ATOMIC_SEQ_CST);
	if (joiner)
		wake(joiner);
}

/* Interrupts off; no spinlock held. */
static bool schedule(struct ctx_cpu *cpu)
{
	struct context *cur = cpu->current, *next, *prev;

	if (spin_depth() != 0)
		ctx_panic("context %ld '%s' switches holding %u spinlocks",
			  cur->id, cur->name, spin_depth());
	inbox_drain(cpu);
	if (load_state(cur) == CTX_RUNNING) {
		set_state(cur, CTX_RUNNABLE);
		if (cur != cpu->idle)      /* idle waits outside the ring */
			ring_push(cpu, cur);
	}
	next = ring_pop(cpu);
	if (!next)
		next = cpu->idle;
	if (next == cur) {
		set_state(cur, CTX_RUNNING);
		return false;
	}
	set_state(next, CTX_RUNNING);
	next->switches++;
	cpu->switches++;
	cpu->current = next;
	prev = switch_to(cur, next, cpu->tss);
	switch_done(ctx_cpu_this(), prev);  /* we are cur again */
	return true;
}

bool context_yield(void)
{
	uint64_t irq = ctx_irq_save();
	bool switched = schedule(ctx_cpu_this());

	ctx_irq_restore(irq);
	return switched;
}

void context_idle_once(void)
{
	struct ctx_cpu *cpu = ctx_cpu_this();
	uint64_t irq = ctx_irq_save();

	if (cpu->current != cpu->idle)
		ctx_panic("context %ld '%s' ran the idle loop of CPU %u",
			  cpu->current->id, cpu->current->name, cpu->index);
	__atomic_store_n(&cpu->sleeping, true, __ATOMIC_SEQ_CST);
	if (cpu->head || __atomic_load_n(&cpu->inbox, __ATOMIC_SEQ_CST)) {
		__atomic_store_n(&cpu->sleeping, false, __ATOMIC_SEQ_CST);
		schedule(cpu);
	} else {
		ctx_idle_wait();
		__atomic_store_n(&cpu->sleeping, false, __ATOMIC_SEQ_CST);
	}
	ctx_irq_restore(irq);
}

_Noreturn void context_idle(void)
{
	for (;;)
		context_idle_once();
}

struct context *context_current(void)
{
	struct ctx_cpu *cpu = ctx_cpu_this();

	return cpu ? cpu->current : NULL;
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
	*cpu = (struct ctx_cpu){ .current = c, .idle = c, .tss = tss,
				 .index = index };
	c->id = id;
	c->state = CTX_RUNNING;
	c->cpu = index;
	c->first = true;
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
	switch_done(ctx_cpu_this(), prev);
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
 * 6. Onto its CPU's ring (this CPU) or inbox (another), RUNNABLE.
 *
 * Each step that fails undoes the ones before it, so running out of
 * memory leaves everything as it was: the host test fails every
 * allocation in turn and checks.
 */
ctx_id_t context_spawn(context_fn fn, void *arg, const char *name,
		       unsigned cpu)
{
	struct ctx_cpu *home = cpu < CTX_MAX_CPUS ?             /* 1. */
		__atomic_load_n(&ctx_cpus[cpu], __ATOMIC_ACQUIRE) : NULL;
	struct context *c;
	ctx_id_t id;
	uint64_t irq;

	if (!home)
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
	c->cpu = cpu;
	c->state = CTX_NEW;
	first_frame(c, fn, arg);
	__atomic_fetch_add(&home->contexts, 1, __ATOMIC_SEQ_CST);
	__atomic_fetch_add(&n_spawned, 1, __ATOMIC_RELAXED);
	ctx_table_publish(&all_contexts, id, c);
	irq = ctx_irq_save();                                   /* 6. */
	set_state(c, CTX_RUNNABLE);
	if (home == ctx_cpu_this())
		ring_push(home, c);
	else
		inbox_push(home, c);
	ctx_irq_restore(irq);
	return id;
}

/* ---- Ending: exit, join, reaping ---- */

_Noreturn void context_exit(long result)
{
	struct ctx_cpu *cpu = ctx_cpu_this();
	struct context *self = cpu->current;

	if (self == cpu->idle)
		ctx_panic("the idle context of CPU %u cannot exit",
			  cpu->index);
	ctx_irq_save();
	self->result = result;
	set_state(self, CTX_EXITED);
	schedule(cpu);
	ctx_panic("context %ld '%s' ran after it exited", self->id,
		  self->name);
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
 * of the target, `joiner`, and the moment switch_done() runs on the
 * target's CPU, when the target is off that CPU for good:
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
 * away, which inbox_drain() handles. The joiner looks at the word
 * again each time it runs, so it never sleeps once the target is done.
 */
int context_join(ctx_id_t id, long *result)
{
	struct ctx_cpu *cpu = ctx_cpu_this();
	struct context *self = cpu->current, *t, *claim = NULL;
	uint64_t irq;
	long r;

	if (id == self->id)
		return CTX_E_SELF;
	t = ctx_table_get(&all_contexts, id);                          /* 1. */
	if (!t)
		return CTX_E_NOENT;
	if (self == cpu->idle || t->first) {
		ctx_table_put(&all_contexts, id);
		return CTX_E_IDLE;
	}
	irq = ctx_irq_save();
	set_state(self, CTX_BLOCKED);                           /* 2. */
	if (!__atomic_compare_exchange_n(&t->joiner, &claim, self, false,
					 __ATOMIC_SEQ_CST,
					 __ATOMIC_SEQ_CST) &&
	    claim != CTX_JOIN_DONE) {
		set_state(self, CTX_RUNNING);
		ctx_irq_restore(irq);
		ctx_table_put(&all_contexts, id);
		return CTX_E_BUSY;
	}
	while (__atomic_load_n(&t->joiner, __ATOMIC_SEQ_CST) !=     /* 3. */
	       CTX_JOIN_DONE) {
		schedule(cpu);
		set_state(self, CTX_BLOCKED);
	}
	set_state(self, CTX_RUNNING);
	ctx_irq_restore(irq);
	r = t->result;                                          /* 4. */
	ctx_table_put(&all_contexts, id);
	reap(t);
	if (result)
		*result = r;
	return 0;
}

/* The idle context cannot block in a join, so it waits the way it
 * always does, in the idle loop, until switch_done() has marked the
 * context done; then it reaps it, as join would. */
int context_run_here(context_fn fn, void *arg, const char *name,
		     long *result)
{
	struct ctx_cpu *cpu = ctx_cpu_this();
	struct context *t;
	ctx_id_t id;

	if (!cpu || cpu->current != cpu->idle)
		return CTX_E_IDLE;
	id = context_spawn(fn, arg, name, cpu->index);
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
 * stack did. A CPU's first context is left to kstack.c, whose names
 * ("the boot CPU's kernel stack") say more.
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
		  c->name, c->cpu);
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
