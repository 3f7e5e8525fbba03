/*
 * scheduler.h: the scheduler. Each CPU has a run queue of the contexts
 * ready to run there, with a lock of its own; the timer tick shares a
 * CPU between them, idle CPUs take work from busy ones, and contexts
 * that wait for something sleep until it happens. sched.c explains
 * the decisions, runqueue.c the queue, balance.c the moves between
 * CPUs; wait.h builds wait queues, mutexes and semaphores on it.
 *
 * The code is pure logic over a few environment hooks (end of this
 * file), so that host tests run it: on threads standing in for CPUs
 * (tests/host/test_wakeup.c) and in a simulator with virtual CPUs and
 * virtual time (tests/host/test_sim.c).
 */
#ifndef SCHEDULER_H
#define SCHEDULER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "spinlock.h"

/* What a context is doing: chapter 07's states, names and values
 * unchanged (08 moves the enum here from context.h). Transitions:
 * NEW -> RUNNABLE (started) -> RUNNING (picked) -> RUNNABLE
 * (preempted, yielded) or BLOCKED (waits) or EXITED; BLOCKED ->
 * RUNNABLE (woken), or straight back to RUNNING when the wake-up comes
 * before it could switch away. */
enum ctx_state {
	CTX_NEW,          /* being built */
	CTX_RUNNABLE,     /* waiting for its CPU, in its run queue */
	CTX_RUNNING,      /* on its CPU now */
	CTX_BLOCKED,      /* waiting for an event, in no run queue */
	CTX_EXITED,       /* finished; waits to be reaped */
};

/* The most CPUs the scheduler knows (chapter 06's CPU_MAX). */
#define SCHED_MAX_CPUS 256

/* The tick: 1,000 per second on every CPU's local APIC timer. A time
 * slice is SCHED_SLICE_TICKS ticks; a CPU compares its load with the
 * others every SCHED_BALANCE_TICKS ticks (sched.c says why these). */
#define SCHED_HZ 1000
#define SCHED_TICK_NS (1000000000ull / SCHED_HZ)
#define SCHED_SLICE_TICKS 10
#define SCHED_BALANCE_TICKS 8
/* A CPU whose tick found it idle, with no sleeper to wake,
 * SCHED_BALANCE_TICKS times in a row ticks only SCHED_IDLE_HZ times a
 * second (sched.c, "An idle CPU's tick"). */
#define SCHED_IDLE_HZ 10
#define SCHED_IDLE_TICK_NS (1000000000ull / SCHED_IDLE_HZ)
/* How far from the tail a thief looks for a context it may take. */
#define SCHED_STEAL_SCAN 8

/* affinity: any CPU. */
#define SCHED_ANY_CPU (-1)

/* Two links: a doubly linked ring with a head that is not an entry,
 * so that adding at either end and taking out any entry are a few
 * pointer moves each, whatever the length. */
struct sched_link {
	struct sched_link *next, *prev;
};

/*
 * What the scheduler keeps of one context (08's struct context embeds
 * one, as `se`). Invariants:
 * - queued: RUNNABLE and in the run queue of CPU `cpu` (link in use);
 *   RUNNING: its CPU's curr; BLOCKED, EXITED, NEW: in no run queue;
 * - a CPU's idle context is never in a run queue;
 * - on_cpu is 1 from the moment a CPU switches to it until its
 *   registers are saved again (sched_finish on that CPU); a context is
 *   in the run queue of a CPU other than the last one it ran on only
 *   while on_cpu is 0, so no CPU ever loads half-saved registers;
 * - cpu, link, slice and the sleep fields change only under the lock
 *   of the run queue of `cpu` (a move between CPUs holds both); state
 *   changes there too, except that a running context sets itself
 *   BLOCKED (wait.c says why that is safe).
 */
struct sched_entity {
	struct sched_link link;   /* in its run queue, while queued */
	int state;                /* enum ctx_state; atomic */
	unsigned cpu;             /* the run queue it belongs to */
	int affinity;             /* SCHED_ANY_CPU, or the only CPU */
	uint32_t on_cpu;          /* atomic: see above */
	bool queued;              /* in a run queue */
	bool is_idle;             /* a CPU's idle context */
	bool moving;              /* switched away to change CPU */
	bool sleeping;            /* on its CPU's sleep list */
	int slice;                /* ticks left of its time slice */
	uint64_t turn_start;      /* runtime when its turn began */
	uint64_t overrun_ns;      /* how far its turns ran past their
				     slices: taken off the next ones */
	uint64_t wake_at;         /* sleeping: when to wake, in ns */
	struct sched_entity *sleep_next;  /* the sleep list, by wake_at */
	uint64_t exec_start;      /* ns: when it last began to run */
	uint64_t runtime;         /* ns of CPU time, in all */
	uint64_t switches;        /* times switched to */
	uint64_t migrations;      /* times moved to another CPU */
	uint64_t preempted;       /* times its slice ran out */
};

/* A CPU's figures, for the status line, gdb and the benchmarks. */
struct sched_cpu_stats {
	uint64_t switches;        /* context switches on this CPU */
	uint64_t ticks;           /* timer ticks taken */
	uint64_t idle_ns;         /* time in its idle context */
	uint64_t preemptions;     /* slices that ran out, with others
				     waiting */
	uint64_t steals;          /* contexts it took from other CPUs */
	uint64_t given;           /* contexts other CPUs took from it */
	uint64_t wakeups;         /* contexts woken onto this CPU */
	uint64_t kicks;           /* reschedule IPIs sent to it */
	uint64_t halts;           /* times its idle context halted */
	uint64_t slowed;          /* times its tick went to SCHED_IDLE_HZ */
	uint64_t raced;           /* wake-ups that came before the
				     waiter had switched away */
	unsigned queued;          /* run queue length now */
	unsigned max_queued;      /* the longest it has been */
	unsigned sleepers;        /* on its sleep list now */
};

/*
 * One CPU's run queue. Everything in it is guarded by `lock`, except
 * what other CPUs read without it to choose where to put or take work
 * (load, nr_queued, halted: single words, read atomically, possibly
 * a moment old, which only costs a less good choice).
 */
struct runqueue {
	struct spinlock lock;
	struct sched_link queue;  /* RUNNABLE contexts, oldest first */
	unsigned nr_queued;       /* atomic: contexts in queue */
	unsigned load;            /* atomic: nr_queued, plus one if a
				     context other than idle runs */
	struct sched_entity *curr;   /* running now (maybe idle) */
	struct sched_entity *idle;   /* its idle context */
	struct sched_entity *sleepers;  /* sleeping, soonest first */
	unsigned index;           /* the CPU's dense index */
	bool need_resched;        /* atomic: switch at the next chance */
	bool halted;              /* atomic: idle in `sti; hlt` */
	bool tick_slow;           /* its tick is at SCHED_IDLE_HZ; only
				     its own CPU reads or writes it */
	unsigned idle_ticks;      /* ticks in a row that found it idle */
	struct sched_cpu_stats st;
} __attribute__((aligned(64)));

/* Why the running context calls the scheduler. */
enum sched_why {
	SCHED_YIELD,      /* it lets the others go first */
	SCHED_PREEMPT,    /* its slice ran out (or an IPI asks) */
	SCHED_BLOCK,      /* it waits (state BLOCKED, set by itself) */
	SCHED_EXIT,       /* it has ended (state EXITED) */
	SCHED_MIGRATE,    /* it moves to the CPU of its affinity */
};

/* ---- Setting up ---- */

/* This CPU's run queue, with idle (the code running now, chapter 07's
 * first context) as its current and idle context. Once per CPU, on
 * the CPU, interrupts off, before other CPUs can send it work. */
void sched_cpu_init(struct runqueue *rq, unsigned index,
		    struct sched_entity *idle);

/* A CPU that was set up but never came online: its run queue is
 * forgotten, so that nothing is placed there or taken from there.
 * Before any context is started. */
void sched_cpu_gone(unsigned index);

/* A fresh entity, NEW, for any CPU or pinned to affinity. */
void sched_entity_init(struct sched_entity *se, int affinity);

/* ---- Starting, switching, ending (the running context) ---- */

/* Make a NEW context RUNNABLE, on its affinity's CPU if pinned, else
 * on cpu if cpu >= 0, else on the least loaded CPU. Returns the CPU. */
unsigned sched_start(struct sched_entity *se, int cpu);

/* Give the CPU to the next queued context, if any. */
void sched_yield_cpu(void);

/* Waiting, in two steps, with interrupts off from the first to the
 * second (a tick between would find a BLOCKED context running):
 * sched_set_blocked() makes the running context BLOCKED, before it
 * tells a waker where to find it (wait.c); sched_block() switches away
 * until woken, and returns at once if the wake-up came first. It may
 * also return early for no reason the caller knows of: callers look
 * again at what they wait for. No spinlock held at sched_block(). */
void sched_set_blocked(void);
void sched_block(void);

/* Make a BLOCKED context RUNNABLE on its CPU; the CPU is asked (IPI)
 * to reschedule if it is idle. Returns false if it was not BLOCKED.
 * Any context or interrupt handler, any CPU. */
bool sched_wake(struct sched_entity *se);

/* End the running context: EXITED, and switch away for good. The
 * context that runs next reports it (sched_env_exited). */
_Noreturn void sched_exit(void);

/* Sleep at least ns nanoseconds (woken by this CPU's tick). */
void sched_sleep_ns(uint64_t ns);
void sleep_ms(unsigned ms);

/* sched_sleep_ns's first half, for callers that switch themselves
 * (the simulator): interrupts off; returns true if the time `until`
 * (ns) has come, else makes the running context BLOCKED on the sleep
 * list: sched_block(), then call it again. */
bool sched_sleep_prepare(uint64_t until);

/* Pin the running context to cpu (SCHED_ANY_CPU: unpin), moving it
 * there now if it runs elsewhere. Returns false for a CPU that does
 * not exist. */
bool sched_set_affinity(int cpu);

/* Preemption off and on again (counted, per CPU); enabling it may
 * switch at once if a reschedule is due. */
void preempt_disable(void);
void preempt_enable(void);

/* The running context's entity, and this CPU's index. */
struct sched_entity *sched_current(void);
unsigned sched_cpu(void);

/* ---- Interrupts (interrupts off, on the CPU itself) ---- */

/* The timer tick: charge the running context, wake sleepers whose
 * time has come, ask for a reschedule when the slice is used up, and
 * now and then even out the load with the other CPUs. */
void sched_tick(void);

/* The reschedule IPI: this CPU has work it may not know of. */
void sched_resched_interrupt(void);

/* At the end of every interrupt handler, once the CPU is back at the
 * interrupted context's level (no handler frames left to finish):
 * switch if a reschedule is due and preemption is allowed. */
void sched_irq_exit(void);

/* ---- The idle context ---- */

/* One round of a CPU's idle loop: run what is queued, take work from
 * a busy CPU, or halt until an interrupt. */
void sched_idle_once(void);
_Noreturn void sched_idle(void);

/* ---- The decision itself: for schedule() and the simulator ---- */

/* Choose the context to run next on this CPU (which may be the one
 * running now) and make it the current one. Interrupts off, no lock
 * held; rq is this CPU's. */
struct sched_entity *sched_next(struct runqueue *rq, enum sched_why why);

/* In the context that now runs, right after the switch: prev is off
 * the CPU for good (its registers saved). Interrupts off. */
void sched_finish(struct sched_entity *prev);

/* The idle loop's two halves: returns true when the idle context must
 * halt (nothing queued, nothing to steal; `halted` set), false when
 * there is work (call sched_next). sched_idle_woken() after the halt. */
bool sched_idle_prepare(struct runqueue *rq);
void sched_idle_woken(struct runqueue *rq);

/* Is a preemption due now: need_resched, preemption allowed, not in
 * the idle context, interrupts were on? */
bool sched_preempt_due(struct runqueue *rq);

/* ---- Placement and balancing (balance.c) ---- */

/* The CPU a new or moving context should go to. */
unsigned sched_place(const struct sched_entity *se, int cpu);
/* Take one context from the busiest CPU into rq (idle rq). Returns
 * true if one came. No lock held. */
bool sched_steal(struct runqueue *rq);
/* Every SCHED_BALANCE_TICKS: pull one context from a CPU with at
 * least two more than this one. No lock held. */
void sched_balance(struct runqueue *rq);
/* sched_finish, for a context that switched away to move: queue it
 * on its new CPU. */
void sched_move_finish(struct sched_entity *se);
/* A CPU busy's queue grew while some CPU is halted: wake one halted
 * CPU (not this one) so that it steals. */
void sched_kick_thief(struct runqueue *busy);
/* How many CPUs are halted in their idle loop now. */
unsigned sched_halted_cpus(void);

/* ---- The run queue itself (runqueue.c; caller holds rq->lock) ---- */

void rq_init(struct runqueue *rq, unsigned index);
void rq_enqueue(struct runqueue *rq, struct sched_entity *se);
void rq_dequeue(struct runqueue *rq, struct sched_entity *se);
struct sched_entity *rq_pop(struct runqueue *rq);
struct sched_entity *rq_steal_candidate(struct runqueue *rq);
void rq_set_curr(struct runqueue *rq, struct sched_entity *se);
void rq_sleep_insert(struct runqueue *rq, struct sched_entity *se);
struct sched_entity *rq_sleep_expired(struct runqueue *rq,
				      uint64_t now);
void rq_sleep_remove(struct runqueue *rq, struct sched_entity *se);

/* ---- Looking at it ---- */

/* CPU index's run queue; NULL if it has none. */
struct runqueue *sched_rq(unsigned index);
/* How many CPUs have run queues (they are 0 .. n-1). */
unsigned sched_ncpus(void);
/* A copy of CPU index's figures (its lock held for the copy). */
bool sched_cpu_stats(unsigned index, struct sched_cpu_stats *out);

/* A status line for CPUs first .. first + n - 1: "cpu0 412 sw 3% idle
 * q1 | cpu1 ...": for CPU i, switches and idle time since prev[i -
 * first] (updated) over interval_ns, and its queue's length now.
 * Two CPUs a line fit in 80 columns. */
int sched_format_status(char *buf, size_t len,
			struct sched_cpu_stats *prev, unsigned first,
			unsigned n, uint64_t interval_ns);

const char *sched_state_name(int state);

/*
 * The environment: the kernel's (08's context_setup.c) or a host
 * test's. The first four are chapter 07's hooks (context.h), declared
 * again here, identically, so that this header stands alone.
 */
uint64_t ctx_irq_save(void);         /* interrupts off; were they on? */
void ctx_irq_restore(uint64_t saved); /* on again if saved != 0 */
void ctx_idle_wait(void);            /* `sti; hlt`, then interrupts off */
_Noreturn void ctx_panic(const char *fmt, ...)
	__attribute__((format(printf, 1, 2)));

/* This CPU's run queue (in the kernel: this_cpu()->rq). */
struct runqueue *sched_env_this_rq(void);
/* Are interrupts on? */
bool sched_env_irq_enabled(void);
/* Nanoseconds since boot, from the calibrated TSC. */
uint64_t sched_env_now(void);
/* Send rq's CPU the reschedule IPI (never to this CPU). */
void sched_env_kick(struct runqueue *rq);
/* This CPU's tick from now on: SCHED_IDLE_HZ if idle, else SCHED_HZ,
 * the first one a full period away (interrupts off, no lock held;
 * nothing if the tick has not been started). */
void sched_env_tick_rate(bool idle);
/* switch_to() (chapter 07) from prev's context to next's; returns, in
 * prev, when something switches back, with what it switched from. */
struct sched_entity *sched_env_switch(struct sched_entity *prev,
				      struct sched_entity *next);
/* prev has exited and is off its CPU for good (its joiner may now
 * free it). Interrupts off, no lock held. */
void sched_env_exited(struct sched_entity *prev);
/* Add delta to this CPU's preempt count, in one instruction that an
 * interrupt cannot split (the count spinlocks raise too). */
void sched_env_preempt_add(int delta);

/*
 * The kernel's side (sched_setup.c).
 */

/* The reschedule IPI's vector: chapter 07's wake-up IPI (VEC_CTX_WAKE),
 * which in chapter 08 asks for a reschedule; among chapter 06's local
 * APIC vectors, below the timer's class. Redox 0.3.5 uses 0x40. */
#define VEC_RESCHED 0xF8

/* The boot CPU, for each CPU right after its context_init(), before
 * that CPU runs (interrupts off): its run queue, with first, its first
 * context, as its idle context; for CPU 0 also the tick's, the IPI's
 * and the watchdog's handlers. */
struct cpu;
void sched_setup_cpu(struct cpu *c, struct sched_entity *first);

/* This CPU's local APIC timer, periodic at SCHED_HZ (interrupts
 * off); and every online CPU's, from CPU 0 once the others run
 * (kmain; the boot scenario's self-test, after chapter 06's timer
 * self-tests, which borrow the timer). Starting it twice is harmless. */
void sched_tick_start(void);
void sched_tick_start_all(void);

/* A kernel thread's body: the status line, each second, on the
 * console (two CPUs a line), for seconds seconds (0: for ever). */
long sched_status_main(void *seconds);

#endif /* SCHEDULER_H */
