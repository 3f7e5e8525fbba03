/*
 * context.h: contexts, the kernel's threads of execution: creating one
 * (spawn), giving the CPU to another (yield), ending one (exit) and
 * collecting its result (join). context.c explains them. From chapter
 * 08 on, which context runs where and when is the scheduler's
 * (scheduler.h): a context embeds its `struct sched_entity`.
 *
 * The code is pure logic over a few environment hooks (end of this
 * file and of scheduler.h).
 */
#ifndef CONTEXT_H
#define CONTEXT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "context_table.h"
#include "kstack.h"
#include "scheduler.h"       /* enum ctx_state, struct sched_entity */
#include "switch.h"

#define CTX_NAME_LEN 24
#define CTX_STACK_PAGES 4      /* 16 KiB, below it a guard page */
#define CTX_MAX_CPUS 256
/* context_spawn()'s cpu: not pinned, on the least loaded CPU. */
#define CTX_ANY_CPU ((unsigned)SCHED_ANY_CPU)

/* Errors, negative (an id is positive). */
#define CTX_E_NOMEM (-1)       /* no memory for the context or stack */
#define CTX_E_FULL (-2)        /* the table has no free slot */
#define CTX_E_NOENT (-3)       /* no such context (or a stale id) */
#define CTX_E_SELF (-4)        /* joining oneself would never end */
#define CTX_E_BUSY (-5)        /* another context is joining it */
#define CTX_E_CPU (-6)         /* no such CPU, or contexts not set up */
#define CTX_E_IDLE (-7)        /* an idle context cannot wait, and
				  never ends: nobody can join it */

typedef long (*context_fn)(void *arg);

/**
 * ## The context
 *
 * The first ten fields are switch_to()'s (switch.h gives their
 * offsets; context.c checks them); the rest is context.c's, except
 * `se`, the scheduler's part. The FPU area is the last member, as long
 * as the CPU's save area (`fpu_size`, fpu.c), 64-byte aligned for
 * XSAVE. Invariants:
 *
 * - its state, CPU and queue links are `se`'s, and follow the rules of
 *   scheduler.h (the scheduler changes them, under run-queue locks);
 * - its registers change only on the CPU that runs it, and it runs on
 *   one CPU at a time (se.on_cpu);
 * - it stays in the table, with its stack, from spawn until the join
 *   that reaps it; a CPU's first context (first) is never reaped.
 */
struct context {
	uint64_t rsp;             /* saved while not running */
	uint64_t rbx, rbp, r12, r13, r14, r15;
	uint64_t rflags;
	uint64_t cr3;             /* its address space: a PML4's address */
	uint64_t kstack_top;      /* TSS.RSP0 while it runs */

	ctx_id_t id;
	struct sched_entity se;   /* the scheduler's part: state, CPU,
				     run-queue links, slice, figures */
	struct context *joiner;   /* atomic: who waits in join; or
				     CTX_JOIN_DONE once it has exited */
	long result;              /* fn's return value, or exit's */
	context_fn fn;            /* what it runs, and with what */
	void *arg;
	struct kstack kstack;     /* its stack; a first context's is the
				     CPU's own, which is never freed */
	uint64_t switches;        /* times switched to */
	char name[CTX_NAME_LEN];  /* for reports and gdb */
	bool first;               /* its CPU's first (idle) context */
	uint8_t fpu[] __attribute__((aligned(64)));  /* fpu_size bytes */
};

#define CTX_JOIN_DONE ((struct context *)1)

/**
 * ## A CPU's contexts
 *
 * One `struct ctx_cpu` per CPU, reached through `this_cpu()->ctx`,
 * written once, when the CPU's first context is made: what
 * switch_to() needs of the CPU (its TSS) and which context is its idle
 * one. Chapter 07's ring, inbox and current context have become the
 * scheduler's run queue (`struct runqueue`, `this_cpu()->rq`), which
 * decides what runs.
 */
struct ctx_cpu {
	struct tss *tss;          /* its TSS (NULL in the host tests) */
	unsigned index;           /* the CPU's dense index */
	struct context *first;    /* its first context: its idle one */
} __attribute__((aligned(64)));

/**
 * ## The interface
 *
 * `context_init()` starts contexts on CPU cpu: the code running there
 * (or, for a CPU not started yet, the code it will run first) becomes
 * its first context, named name, on stack (the CPU's own kernel stack,
 * recorded for reports). It is the CPU's idle context: it must end up
 * in context_idle(). tss: that CPU's TSS. Returns the CPU's struct,
 * which the environment must return from ctx_cpu_this() on that CPU
 * from now on; NULL when there is no memory. Once per CPU, interrupts
 * off. The CPU's FPU registers must hold the clean state
 * (fpu_cpu_init()). Its `se` is the scheduler's to set up next
 * (sched_cpu_init()). The rest of the interface, one comment each
 * below: spawn (pinned or placed), exit, join, yield, the idle loop,
 * and what reports and tests ask.
 */
struct ctx_cpu *context_init(unsigned cpu, struct tss *tss,
			     const struct kstack *stack, const char *name);

/*
 * A new context, which runs fn(arg) with interrupts on, and exits with
 * fn's return value if fn returns: pinned to CPU cpu, or, with
 * CTX_ANY_CPU, on the least loaded CPU and free to move. Returns its
 * id (> 0), or CTX_E_NOMEM, CTX_E_FULL (nothing is left allocated),
 * CTX_E_CPU. The caller must join it: its stack is freed only then.
 */
ctx_id_t context_spawn(context_fn fn, void *arg, const char *name,
		       unsigned cpu);

/* End the running context with result. Never returns. Panics in a
 * CPU's idle context. */
_Noreturn void context_exit(long result);

/*
 * Wait until context id has exited, store its result in *result (if
 * not NULL), and free it. 0, or CTX_E_NOENT (no such context, or
 * joined already), CTX_E_SELF, CTX_E_BUSY (another context is joining
 * it), CTX_E_IDLE (called from an idle context, or id is one).
 */
int context_join(ctx_id_t id, long *result);

/* Let the next runnable context of this CPU run, if there is one.
 * Returns true if another context ran in between. */
bool context_yield(void);

/* One round of a CPU's idle loop, in its idle context: run what is
 * runnable, take work from a busy CPU, or halt until an interrupt. */
void context_idle_once(void);

/* The idle loop, forever: where a CPU's first context ends up. */
_Noreturn void context_idle(void);

/*
 * From a CPU's idle context, which may not block: run fn(arg) in a new
 * context on this CPU, named name, wait for it in the idle loop, reap
 * it and return its result. How kmain runs work that needs a context
 * (a join, say). CTX_E_* if it could not be spawned (*result then
 * unchanged); 0 otherwise.
 */
int context_run_here(context_fn fn, void *arg, const char *name,
		     long *result);

/* The state of context id (enum ctx_state), or CTX_E_NOENT. A snapshot:
 * it may change as soon as it is read. */
int context_state(ctx_id_t id);

/* The running context (NULL before context_init on this CPU). */
struct context *context_current(void);

/* The context an entity belongs to. */
struct context *ctx_of(struct sched_entity *se);

/* Where switch.asm's context_start goes first, in a new context:
 * finish the switch from prev, then turn interrupts on. */
void context_first_run(struct context *prev);

/* If va lies in a context's stack or in the guard page below it,
 * say so, naming the context: "the guard page below the stack of
 * context 5 'worker' (CPU 1)". NULL otherwise, and for a CPU's first
 * context, whose stack is the CPU's own (kstack.c names those). The
 * running context is looked at first; for exception reports. */
const char *context_describe_addr(uint64_t va, char *buf, size_t len);

const char *context_strerror(int err);
const char *context_state_name(int state);

struct context_stats {
	uint64_t spawned;         /* contexts spawned */
	uint64_t reaped;          /* and joined */
	uint32_t live;            /* in the table now, first ones too */
	uint32_t chunks;          /* chunks of the table */
};

void context_get_stats(struct context_stats *s);

/*
 * The environment: provided by the kernel (context_setup.c) or by the
 * host test. Memory comes from kmalloc_aligned()/kfree() (heap.h) and
 * kstack_alloc()/kstack_free() (kstack.h).
 */

/* This CPU's struct ctx_cpu, as context_init() returned it; NULL
 * before. In the kernel: this_cpu()->ctx. */
struct ctx_cpu *ctx_cpu_this(void);

/* Interrupts off; returns non-zero if they were on. */
uint64_t ctx_irq_save(void);
/* Interrupts on if saved is non-zero. */
void ctx_irq_restore(uint64_t saved);

/* Called with interrupts off: sleep until an interrupt (or a kick)
 * arrives, and return with interrupts off again. */
void ctx_idle_wait(void);

/* Memory that lives as long as the machine: a CPU's struct ctx_cpu
 * and first context, and the table's chunks. Zeroed, 64-byte aligned;
 * NULL if there is none. In the kernel it comes from the frame
 * allocator, not the heap, so that the heap holds only what comes and
 * goes (its self-tests check that it empties). ctx_free_lasting()
 * gives back what a failed set-up took (bytes: what it asked for). */
void *ctx_alloc_lasting(size_t bytes);
void ctx_free_lasting(void *p, size_t bytes);

/* The address space (CR3) new contexts run in: the kernel's. */
uint64_t ctx_kernel_cr3(void);

/* Report a misuse (exit from an idle context, a switch with a lock
 * held) and stop. */
_Noreturn void ctx_panic(const char *fmt, ...)
	__attribute__((format(printf, 1, 2)));

/*
 * The kernel's side (context_setup.c).
 */

/* The boot CPU, before the other CPUs run (interrupts off): cpu's first
 * context (context_init), reached from then on through cpu->ctx; for
 * the boot CPU itself (which also prints how FPU state is saved), then
 * for each other CPU, once its stacks and tables exist. Then
 * context_setup_done(): the other CPUs may run. */
struct cpu;
void context_setup_cpu(struct cpu *cpu);
void context_setup_done(void);

/* A CPU that never came online: nothing may be spawned on it (spawn
 * returns CTX_E_CPU), and the scheduler forgets its run queue
 * (sched_cpu_gone()). Before any context is spawned. */
void context_cpu_gone(unsigned cpu);

#endif /* CONTEXT_H */
