/*
 * sched.c: the scheduler's decisions: which context runs next on a
 * CPU, when the running one must make way, what the idle context does,
 * how a context sleeps and is woken. Pure logic over the hooks at the
 * end of scheduler.h and over runqueue.c and balance.c.
 */
#include "kprintf.h"
#include "scheduler.h"

/**
 * ## What a scheduler decides, and when
 *
 * Chapter 07 gave every CPU contexts to run and a way to switch
 * between them. A context switched only when it chose to: it yielded,
 * waited or ended. A context that computes for a minute kept its CPU
 * for that minute, and every other context of that CPU waited. The
 * *scheduler* makes three decisions that chapter 07 left to the
 * contexts themselves:
 *
 * 1. **Which context runs next** on a CPU, each time the running one
 *    stops: the oldest one waiting in that CPU's *run queue* (round
 *    robin: everybody in turn), or the CPU's *idle context* when the
 *    queue is empty.
 * 2. **When the running context must stop.** Every CPU's local APIC
 *    timer interrupts it SCHED_HZ times a second (a *tick*). Each
 *    context gets a *time slice* of SCHED_SLICE_TICKS ticks; the tick
 *    that uses up the slice, with another context waiting, asks for a
 *    switch. The switch happens as the interrupt returns: the context
 *    is *preempted*, stopped without having asked.
 * 3. **On which CPU a context runs**: a new one goes to the least
 *    loaded CPU, a CPU with nothing to do takes work from the busiest,
 *    and a context may be *pinned* to one CPU (balance.c).
 *
 * Everything else a context does with the scheduler is an event it
 * reports: "I wait" (it is BLOCKED and comes off the CPU), "this one
 * may go on" (a wake-up makes it RUNNABLE and puts it in a queue), "I
 * am done" (EXITED). The states are chapter 07's (scheduler.h).
 *
 * ## One queue per CPU
 *
 * Redox 0.3.5 keeps every context in one map, shared by all CPUs, and
 * guards switching with one global lock. Each switch, on any CPU,
 * takes that lock, then *updates* every context in the system, taking
 * each one's own lock to do so (waking sleepers whose time has come,
 * among other things), then searches the map for the next runnable
 * context after the current one, by id, and from the start if none.
 * So a switch costs time in proportion to the number of contexts,
 * and while one CPU does it, every other CPU that wants to switch
 * waits for the lock. The lock is a plain test-and-set, which is not
 * fair: a CPU can lose the race for it again and again.
 *
 * Here every CPU has its own run queue, with its own lock
 * (`struct runqueue`, runqueue.c). A switch touches only this CPU's
 * queue: take the front context, maybe put the current one at the
 * back. That costs the same with ten contexts or ten thousand, and
 * another CPU takes this lock only to hand this CPU work (a new
 * context, a wake-up) or to take some away, both rare next to
 * switches. Nothing is updated on a switch: a sleeper sits on its
 * CPU's sleep list, sorted by wake-up time, and the tick looks at the
 * front of it only. The lock is chapter 06's ticket lock, so waiters
 * are served in turn.
 *
 * ## The idle context
 *
 * Each CPU's first context (chapter 07's, the code the CPU was running
 * when contexts began) is its *idle context*. It is never in a run
 * queue: it runs exactly when the queue is empty, and whatever is
 * queued goes before it. In Redox 0.3.5 the idle context is runnable
 * like any other and takes its turn in the round robin, so a CPU with
 * work still spends one slice of every round halting.
 *
 * The idle context's loop (sched_idle_once): if the queue is empty,
 * try to take a context from a busy CPU; if there is none, *halt*
 * until an interrupt comes, with `sti; hlt`. HLT stops the CPU until
 * an interrupt arrives; STI (set the interrupt flag) turns interrupts
 * on. The pair has a subtlety, the *STI shadow*: STI takes effect
 * only after the *next* instruction. So no interrupt can be taken
 * between the two, and an interrupt that is already pending (a wake-up
 * IPI sent after the idle loop last looked at its queue) is taken
 * while HLT waits, which ends the halt at once. Without the shadow, the
 * interrupt could be taken between STI and HLT, its handler would
 * return to the HLT, and the CPU would sleep with work in its queue
 * until the next tick. The idle context's time in the CPU's figures is
 * the CPU's idle time (its `runtime`).
 *
 * ## The time slice and the tick
 *
 * A tick costs a few hundred nanoseconds on real hardware (an
 * interrupt, the charge below, the return); a thousand a second is
 * well under one percent of a CPU, the usual figure for 1000 Hz. It
 * also sets the precision of `sleep_ms`: a sleeper wakes at the first
 * tick after its time, at most one millisecond late. The slice, 10
 * ticks, is long next to a switch (a few hundred nanoseconds) and
 * short next to a person watching: ten contexts on one CPU each run
 * ten times a second. Redox 0.3.5 uses the PIT, on the boot CPU only,
 * and switches every 10 ticks of 2.25 ms, about every 25 ms; the
 * count is one global shared by all CPUs, so any CPU's switch resets
 * every CPU's count.
 *
 * ## An idle CPU's tick
 *
 * A CPU in its idle loop has nothing to charge and no slice to end,
 * yet at 1000 Hz its tick wakes it from HLT a thousand times a second,
 * to find nothing and halt again. On real hardware each wake-up pulls
 * the CPU out of a deep sleep state, which costs power; under QEMU
 * each one is work for the host: 64 idle virtual CPUs kept this
 * machine's two cores busy doing nothing (6.9 CPU-seconds for a
 * 3 s sleep on CPU 0). So a CPU whose tick has found it idle, with an
 * empty queue and an empty sleep list, SCHED_BALANCE_TICKS times in a
 * row slows its tick to SCHED_IDLE_HZ (10 Hz, sched_tick); the first
 * switch away from its idle context sets it back to SCHED_HZ
 * (sched_next). Not at the first halt: reprogramming the timer
 * restarts its period, and a CPU woken again and again within a
 * millisecond (a wake-up ping-pong) would then take no tick at all,
 * so no balancing and no watchdog look. The same 3 s then cost 1.7
 * CPU-seconds, and the 64-CPU run of the `sched` scenario 5 instead
 * of 20.
 *
 * The slow tick is not stopped, as Linux's tickless idle (NO_HZ) stops
 * it: at 10 Hz the CPU still takes a look for work to steal, and its
 * tick count still moves for the watchdog. What it no longer does is
 * notice new work within a millisecond, so the CPU with the work
 * tells it, with the reschedule IPI, in two cases: a context woken on
 * a busy CPU (sched_wake), and, every SCHED_BALANCE_TICKS, a busy CPU
 * whose queue is not empty (its tick). (A context started free to
 * move goes to the least loaded CPU, a halted one if there is one,
 * and that CPU is sent the IPI anyway.) A CPU with a sleeper keeps
 * its fast tick, since the tick is what wakes sleepers on time.
 */
static struct runqueue *runqueues[SCHED_MAX_CPUS];   /* written once */
static unsigned n_cpus;             /* atomic: highest index + 1 */
static unsigned halted_cpus;        /* atomic: idle in `sti; hlt` */

static int load_state(const struct sched_entity *se)
{
	return __atomic_load_n(&se->state, __ATOMIC_SEQ_CST);
}

static void set_state(struct sched_entity *se, int state)
{
	__atomic_store_n(&se->state, state, __ATOMIC_SEQ_CST);
}

static void set_flag(bool *p, bool v)
{
	__atomic_store_n(p, v, __ATOMIC_SEQ_CST);
}

struct runqueue *sched_rq(unsigned index)
{
	return index < SCHED_MAX_CPUS ?
		__atomic_load_n(&runqueues[index], __ATOMIC_ACQUIRE) : NULL;
}

unsigned sched_ncpus(void)
{
	return __atomic_load_n(&n_cpus, __ATOMIC_ACQUIRE);
}

unsigned sched_halted_cpus(void)
{
	return __atomic_load_n(&halted_cpus, __ATOMIC_RELAXED);
}

void sched_entity_init(struct sched_entity *se, int affinity)
{
	*se = (struct sched_entity){ .state = CTX_NEW,
				     .affinity = affinity,
				     .slice = SCHED_SLICE_TICKS };
}

void sched_cpu_init(struct runqueue *rq, unsigned index,
		    struct sched_entity *idle)
{
	unsigned n = sched_ncpus();

	if (index >= SCHED_MAX_CPUS || sched_rq(index))
		ctx_panic("sched: CPU %u set up twice, or out of range",
			  index);
	rq_init(rq, index);
	sched_entity_init(idle, (int)index);
	idle->is_idle = true;
	idle->state = CTX_RUNNING;
	idle->on_cpu = 1;
	idle->cpu = index;
	idle->exec_start = sched_env_now();
	rq->idle = idle;
	rq_set_curr(rq, idle);
	__atomic_store_n(&runqueues[index], rq, __ATOMIC_RELEASE);
	while (n < index + 1 &&
	       !__atomic_compare_exchange_n(&n_cpus, &n, index + 1, false,
					    __ATOMIC_SEQ_CST,
					    __ATOMIC_SEQ_CST))
		;
}

void sched_cpu_gone(unsigned index)
{
	if (index < SCHED_MAX_CPUS)
		__atomic_store_n(&runqueues[index], NULL, __ATOMIC_RELEASE);
}

struct sched_entity *sched_current(void)
{
	struct runqueue *rq = sched_env_this_rq();

	return rq ? rq->curr : NULL;
}

unsigned sched_cpu(void)
{
	return sched_env_this_rq()->index;
}

/* The lock of se's run queue, held; se->cpu cannot change until it is
 * released (it changes only with that lock held). */
static struct runqueue *lock_home(struct sched_entity *se)
{
	for (;;) {
		unsigned cpu = __atomic_load_n(&se->cpu, __ATOMIC_ACQUIRE);
		struct runqueue *rq = sched_rq(cpu);

		spin_lock(&rq->lock);
		if (__atomic_load_n(&se->cpu, __ATOMIC_RELAXED) == cpu)
			return rq;
		spin_unlock(&rq->lock);
	}
}

/* Add the time since se last started (or was last charged) to it; for
 * the idle context that is idle time. Holds rq->lock. */
static void charge(struct runqueue *rq, struct sched_entity *se,
		   uint64_t now)
{
	uint64_t ran = now - se->exec_start;

	se->runtime += ran;
	se->exec_start = now;
	if (se == rq->idle)
		rq->st.idle_ns += ran;
}

/*
 * Make se (BLOCKED) runnable on rq, its CPU. Holds rq->lock. Returns
 * true if rq's CPU must be sent the reschedule IPI: it is another
 * CPU, halted in its idle loop. If se is still rq's running context
 * (it made itself BLOCKED and has not switched away yet), it simply
 * goes on RUNNING, and its sched_block() returns at once.
 */
static bool wake_locked(struct runqueue *rq, struct sched_entity *se)
{
	if (se->sleeping)
		rq_sleep_remove(rq, se);
	if (rq->curr == se) {
		set_state(se, CTX_RUNNING);
		rq->st.raced++;
		return false;
	}
	set_state(se, CTX_RUNNABLE);
	rq_enqueue(rq, se);
	rq->st.wakeups++;
	if (rq->curr != rq->idle)
		return false;
	set_flag(&rq->need_resched, true);
	if (rq == sched_env_this_rq() ||
	    !__atomic_load_n(&rq->halted, __ATOMIC_SEQ_CST))
		return false;
	rq->st.kicks++;
	return true;
}

bool sched_wake(struct sched_entity *se)
{
	uint64_t irq = ctx_irq_save();
	struct runqueue *rq = lock_home(se);
	bool kick = false, woke = load_state(se) == CTX_BLOCKED, busy;

	if (woke)
		kick = wake_locked(rq, se);
	busy = woke && se->queued && rq->curr != rq->idle;
	spin_unlock(&rq->lock);
	if (kick)
		sched_env_kick(rq);
	else if (busy && sched_halted_cpus() > 0)
		sched_kick_thief(rq);
	ctx_irq_restore(irq);
	return woke;
}

unsigned sched_start(struct sched_entity *se, int cpu)
{
	uint64_t irq = ctx_irq_save();
	unsigned target = sched_place(se, cpu);
	struct runqueue *rq = sched_rq(target);
	bool kick = false;

	if (load_state(se) != CTX_NEW)
		ctx_panic("sched: starting a context that is not new");
	spin_lock(&rq->lock);
	se->slice = SCHED_SLICE_TICKS;
	set_state(se, CTX_RUNNABLE);
	rq_enqueue(rq, se);
	if (rq->curr == rq->idle && rq != sched_env_this_rq() &&
	    __atomic_load_n(&rq->halted, __ATOMIC_SEQ_CST)) {
		rq->st.kicks++;
		kick = true;
	}
	spin_unlock(&rq->lock);
	if (kick)
		sched_env_kick(rq);
	ctx_irq_restore(irq);
	return target;
}

/**
 * ## Fair turns on a late tick
 *
 * A slice is counted in ticks, but a context is charged by the clock,
 * and the two can disagree: a tick can come late. Under QEMU each
 * virtual CPU is a host thread, and a host with fewer cores than
 * virtual CPUs lets some wait, often for several milliseconds; the
 * missed ticks are not made up, so a slice of 10 ticks may last 30 ms
 * by the clock, while the next context's lasts 10. Round robin alone
 * never evens that out: measured on 4 CPUs here, two contexts sharing
 * a CPU for 600 ms got 407 and 214 ms. So each context keeps its
 * *overrun*, the time its turns lasted past a slice, and its next
 * turns are that much shorter (at least one tick), until the overrun
 * is repaid; a turn that ends early, by a yield, repays it too.
 * This is *deficit round robin* (Shreedhar and Varghese, 1995): still
 * O(1) at every step, and over a run each context of a queue gets its
 * share to within about one slice, whatever the ticks did.
 */
static void new_turn(struct sched_entity *se)
{
	se->slice = SCHED_SLICE_TICKS;
	se->overrun_ns = 0;                /* alone: nobody to repay */
	se->turn_start = se->runtime;
}

static void end_turn(struct sched_entity *se)
{
	const uint64_t slice_ns = SCHED_SLICE_TICKS * SCHED_TICK_NS;
	uint64_t owed = se->overrun_ns + (se->runtime - se->turn_start);
	uint64_t ticks;

	se->overrun_ns = owed > slice_ns ? owed - slice_ns : 0;
	ticks = se->overrun_ns / SCHED_TICK_NS;
	se->slice = ticks >= SCHED_SLICE_TICKS ? 1 :
		    SCHED_SLICE_TICKS - (int)ticks;
}

/**
 * ## Choosing the next context
 *
 * `sched_next()` is the decision, made under this CPU's run-queue
 * lock. What happens to the running context depends on why it
 * stopped:
 *
 * - **It yields, or its slice ran out** (RUNNING): it goes to the back
 *   of the queue with a fresh slice. If the queue is empty it simply
 *   goes on: there is nobody to make way for.
 * - **It waits** (it made itself BLOCKED): it stays out of the queue,
 *   until a wake-up puts it back. If the wake-up came first, its state
 *   is RUNNING again, and it goes on without a switch.
 * - **It ended** (EXITED): out of the queue for good.
 * - **It moves to another CPU** (its affinity changed): out of this
 *   queue; sched_finish() queues it on the other CPU once its
 *   registers are saved (balance.c).
 *
 * Then the front of the queue runs next, or the idle context if the
 * queue is empty. Before a context that waits or ends leaves an empty
 * queue behind, this CPU first tries to take a context from a busy
 * CPU, so it goes straight to that one rather than through its idle
 * context.
 */
static bool requeue_current(struct runqueue *rq, struct sched_entity *cur,
			    enum sched_why why)
{
	if (rq->nr_queued == 0) {
		new_turn(cur);
		return true;               /* nobody waits: it goes on */
	}
	end_turn(cur);
	set_state(cur, CTX_RUNNABLE);
	rq_enqueue(rq, cur);
	if (why == SCHED_PREEMPT) {
		cur->preempted++;
		rq->st.preemptions++;
	}
	return false;
}

struct sched_entity *sched_next(struct runqueue *rq, enum sched_why why)
{
	struct sched_entity *cur = rq->curr, *next;
	uint64_t now;
	int state = load_state(cur);      /* a hint: read again below */
	bool stays = cur == rq->idle, fast = false;

	if ((why == SCHED_EXIT || (why == SCHED_BLOCK &&
				   state == CTX_BLOCKED)) &&
	    __atomic_load_n(&rq->nr_queued, __ATOMIC_RELAXED) == 0)
		sched_steal(rq);
	spin_lock(&rq->lock);
	state = load_state(cur);          /* a waker changes it only
					     with this lock held */
	if (!stays && state == CTX_RUNNING && why == SCHED_BLOCK) {
		spin_unlock(&rq->lock);             /* woken already */
		return cur;
	}
	now = sched_env_now();
	charge(rq, cur, now);
	set_flag(&rq->need_resched, false);
	if (!stays && state == CTX_RUNNING) {
		if (why == SCHED_MIGRATE) {
			cur->moving = true;
			set_state(cur, CTX_RUNNABLE);
		} else {
			stays = requeue_current(rq, cur, why);
		}
	} else if (!stays && state != CTX_BLOCKED && state != CTX_EXITED) {
		ctx_panic("sched: CPU %u's context switches away %s",
			  rq->index, sched_state_name(state));
	}
	next = rq_pop(rq);
	if (!next)
		next = stays ? cur : rq->idle;
	if (next == cur) {
		set_state(cur, CTX_RUNNING);
		spin_unlock(&rq->lock);
		return cur;
	}
#ifndef SCHED_BROKEN_ONCPU   /* the test's broken variant skips this */
	if (__atomic_load_n(&next->on_cpu, __ATOMIC_ACQUIRE))
		ctx_panic("sched: CPU %u would run a context whose "
			  "registers another CPU is still saving",
			  rq->index);
#endif
	if (cur == rq->idle) {
		set_state(cur, CTX_RUNNABLE);
		fast = rq->tick_slow;          /* work: the full tick again */
		rq->tick_slow = false;
		rq->idle_ticks = 0;
	}
	set_state(next, CTX_RUNNING);
	__atomic_store_n(&next->on_cpu, 1, __ATOMIC_RELAXED);
	next->exec_start = now;
	next->turn_start = next->runtime;
	next->switches++;
	rq->st.switches++;
	rq_set_curr(rq, next);
	spin_unlock(&rq->lock);
	if (fast)
		sched_env_tick_rate(false);
	return next;
}

/**
 * ## After the switch
 *
 * `sched_finish(prev)` runs in the context that now runs, right after
 * switch_to() (chapter 07) has moved the CPU off prev. Only now are
 * prev's registers, its FPU state included, all saved in its struct:
 * until the very end of switch_to() this CPU was still writing them.
 * So only now may another CPU load them. prev's `on_cpu` says which
 * side of that moment it is on: 1 from the switch to it until here,
 * 0 from here on, written with *release* ordering (every store of the
 * switch is visible before the 0 is) and read with *acquire* ordering
 * by a CPU that wants to take prev (no load of prev's registers moves
 * before it sees the 0). Linux's scheduler keeps the same flag, for
 * the same reason. Then the two cases where prev must go somewhere:
 * it moves to another CPU (balance.c), or it has exited and its
 * joiner may free it (chapter 07's join).
 *
 * Why not keep the run-queue lock across the switch instead, so that
 * nobody could take prev until the switch is over? That is Linux's
 * other half: it hands the lock from the old context to the new one
 * across the switch. Here the rule is simpler to state and to check:
 * no context switches with a lock held (schedule() panics if one
 * does), and `on_cpu` covers the moment in between.
 */
void sched_finish(struct sched_entity *prev)
{
	bool moving = prev->moving;
	int state = load_state(prev);

	prev->moving = false;
	__atomic_store_n(&prev->on_cpu, 0, __ATOMIC_RELEASE);
	if (moving)
		sched_move_finish(prev);
	else if (state == CTX_EXITED)
		sched_env_exited(prev);
}

/**
 * ## schedule() turns interrupts off itself
 *
 * Every switch happens with interrupts off: a timer interrupt in the
 * middle of one would call the scheduler again, on a CPU whose
 * current context is half switched. In Redox 0.3.5 the *callers* must
 * turn interrupts off before they call `switch()`, and its idle loop
 * does, with `cli`, before each call. There are two reasons, both in
 * how its switch is built:
 *
 * - Its locks (the global switch lock, each context's lock) leave
 *   interrupts as they are. If the timer interrupted a CPU holding one,
 *   and the handler called `switch()`, the handler would spin for a
 *   lock held by the code it interrupted, which cannot run again until
 *   the handler returns: the CPU would wait for itself forever. So all
 *   of the kernel runs with interrupts off, and is never preempted.
 * - Its `switch_to` loads the next context's flags, the interrupt flag
 *   among them, in the middle, before the next context's stack. A
 *   caller with interrupts on would let an interrupt in at that point,
 *   on the old stack with the new context's flags.
 *
 * Here a caller need not remember anything: schedule() saves the
 * interrupt flag, turns interrupts off, switches, and puts the flag
 * back as it found it when the context comes back. It can, because
 * chapter 05's locks turn interrupts off while they are held (so an
 * interrupt can never spin on a lock its own CPU holds), and because
 * chapter 07's switch_to() loads the flags last, after everything
 * else. The cost is two instructions per switch. A context that
 * switches from an interrupt handler (a preemption) arrives with
 * interrupts already off, and schedule() leaves them off.
 *
 * It also checks what must hold at a switch, and panics, naming the
 * CPU, when it does not: no spinlock held (a context that sleeps with
 * one would leave every other CPU spinning for it), preemption not
 * disabled, interrupts still off after the switch.
 */
static void schedule(enum sched_why why)
{
	uint64_t irq = ctx_irq_save();
	struct runqueue *rq = sched_env_this_rq();
	struct sched_entity *cur = rq->curr, *next, *prev;

	if (spin_depth() != 0)
		ctx_panic("sched: CPU %u switches holding %u spinlocks",
			  rq->index, spin_depth());
	if (preempt_count() != 0)
		ctx_panic("sched: CPU %u switches with preemption "
			  "disabled (count %u)", rq->index, preempt_count());
	next = sched_next(rq, why);
	if (next != cur) {
		prev = sched_env_switch(cur, next);
		if (sched_env_irq_enabled())
			ctx_panic("sched: interrupts on after a switch");
		sched_finish(prev);
	}
	ctx_irq_restore(irq);
}

void sched_yield_cpu(void)
{
	schedule(SCHED_YIELD);
}

void sched_set_blocked(void)
{
	struct sched_entity *cur = sched_current();

	if (sched_env_irq_enabled())
		ctx_panic("sched: blocking with interrupts on");
	if (cur->is_idle)
		ctx_panic("sched: an idle context cannot wait");
	set_state(cur, CTX_BLOCKED);
}

void sched_block(void)
{
	schedule(SCHED_BLOCK);
}

_Noreturn void sched_exit(void)
{
	struct sched_entity *cur;

	ctx_irq_save();
	cur = sched_current();
	if (cur->is_idle)
		ctx_panic("sched: an idle context cannot exit");
	set_state(cur, CTX_EXITED);
	schedule(SCHED_EXIT);
	ctx_panic("sched: a context ran after it exited");
}

/**
 * ## Sleeping for a time
 *
 * `sleep_ms(ms)` puts the context on its CPU's sleep list with the
 * time it must wake, makes it BLOCKED, and switches away; the tick
 * that finds the time has come wakes it. It becomes BLOCKED and joins
 * the list under the run-queue lock, so a waker sees both or neither;
 * and interrupts stay off from then until it has switched away, since
 * a tick in between would find a BLOCKED context still running. A wake-up
 * from elsewhere (sched_wake) may end a sleep early, so the loop goes
 * back to sleep until the time has really come.
 */
bool sched_sleep_prepare(uint64_t until)
{
	struct runqueue *rq = sched_env_this_rq();

	if (sched_env_now() >= until)
		return true;
	spin_lock(&rq->lock);
	sched_set_blocked();
	rq->curr->wake_at = until;
	rq_sleep_insert(rq, rq->curr);
	spin_unlock(&rq->lock);
	return false;
}

void sched_sleep_ns(uint64_t ns)
{
	uint64_t irq = ctx_irq_save();
	uint64_t until = sched_env_now() + ns;

	while (!sched_sleep_prepare(until))
		schedule(SCHED_BLOCK);
	ctx_irq_restore(irq);
}

void sleep_ms(unsigned ms)
{
	sched_sleep_ns((uint64_t)ms * 1000000ull);
}

bool sched_set_affinity(int cpu)
{
	uint64_t irq;
	struct runqueue *rq;

	if (cpu != SCHED_ANY_CPU && (cpu < 0 || !sched_rq((unsigned)cpu)))
		return false;
	irq = ctx_irq_save();
	rq = sched_env_this_rq();
	if (rq->curr->is_idle)
		ctx_panic("sched: the idle context of CPU %u cannot move",
			  rq->index);
	spin_lock(&rq->lock);
	rq->curr->affinity = cpu;
	spin_unlock(&rq->lock);
	if (cpu != SCHED_ANY_CPU && (unsigned)cpu != rq->index)
		schedule(SCHED_MIGRATE);
	ctx_irq_restore(irq);
	return true;
}

/**
 * ## Preemption and its rules
 *
 * A context may be preempted anywhere, except in three places:
 *
 * - **With interrupts off**, for there is no tick. That includes every
 *   moment a spinlock is held, since chapter 05's locks turn
 *   interrupts off: a context is never preempted holding a spinlock,
 *   which would leave other CPUs spinning for a lock whose holder does
 *   not run.
 * - **With the preempt count raised.** Each CPU counts how many
 *   reasons it has not to switch: every spinlock held adds one, and
 *   `preempt_disable()` adds one, for code that must stay on this CPU
 *   without turning interrupts off (it uses this CPU's data, say). A
 *   tick in such code still charges the context and still asks for the
 *   switch (`need_resched`); the switch waits until the count falls
 *   back to 0: `preempt_enable()` does it then, or the next interrupt.
 *   The count belongs to the CPU, and is raised with one instruction
 *   that an interrupt cannot split (`incl %gs:...`), because the
 *   context could otherwise be moved to another CPU between reading
 *   the count's address and adding to it.
 * - **In the idle context**, which has nothing to lose: its loop
 *   looks at the queue after every interrupt anyway.
 *
 * A *sleeping* lock (wait.c's mutex) is different: its holder may be
 * preempted, and may even wait, because a context that wants a held
 * mutex sleeps instead of spinning.
 */
void preempt_disable(void)
{
	sched_env_preempt_add(1);
	__asm__ volatile("" : : : "memory");
}

bool sched_preempt_due(struct runqueue *rq)
{
	return __atomic_load_n(&rq->need_resched, __ATOMIC_RELAXED) &&
	       preempt_count() == 0 && rq->curr != rq->idle;
}

void preempt_enable(void)
{
	__asm__ volatile("" : : : "memory");
	sched_env_preempt_add(-1);
	if (sched_env_irq_enabled() &&
	    sched_preempt_due(sched_env_this_rq()))
		schedule(SCHED_PREEMPT);
}

/**
 * ## A tick, from the interrupt to the switch
 *
 * 1. The local APIC timer raises its vector; the CPU, if interrupts
 *    are on, stops the running context between two instructions,
 *    pushes where it was onto that context's stack and enters the
 *    interrupt handler (chapter 03), with interrupts off.
 * 2. The handler sends the end of interrupt first (a switch may not
 *    come back here for a long time, and the timer must go on), then
 *    calls `sched_tick()`: under this CPU's run-queue lock it charges
 *    the running context the time since it was last charged, wakes
 *    the sleepers whose time has come (onto this queue), and counts
 *    down the slice. When it reaches 0 with others waiting, it sets
 *    `need_resched`; with nobody waiting the context gets a new
 *    slice. Every SCHED_BALANCE_TICKS ticks it also compares loads
 *    with the other CPUs (balance.c).
 * 3. On the way out, once the handler's own bookkeeping is done,
 *    `sched_irq_exit()`: if a switch is due and allowed (the rules
 *    above), it calls schedule(), still on the interrupted context's
 *    stack, under the interrupt's frame. The context goes to the back
 *    of the queue; switch_to() saves it there and runs the next one.
 * 4. Much later a CPU picks it again, perhaps another CPU: its
 *    switch_to() returns into schedule(), schedule() into the
 *    interrupt handler, and the handler's IRETQ restores where the
 *    context was, with interrupts on as they were.
 *
 * With ticks on every CPU, each CPU shares itself out on its own; no
 * CPU tells another when to switch. In Redox 0.3.5 only the boot
 * CPU's PIT ticks, and the other CPUs are sent an IPI to run the same
 * check.
 */
void sched_tick(void)
{
	struct runqueue *rq = sched_env_this_rq();
	struct sched_entity *cur, *se;
	uint64_t now;
	bool balance, waiting, slow;

	spin_lock(&rq->lock);
	now = sched_env_now();
	cur = rq->curr;
	rq->st.ticks++;
	charge(rq, cur, now);
	while ((se = rq_sleep_expired(rq, now)))
		if (load_state(se) == CTX_BLOCKED)
			wake_locked(rq, se);
	if (cur != rq->idle && --cur->slice <= 0) {
		if (rq->nr_queued)
			set_flag(&rq->need_resched, true);
		else
			new_turn(cur);
	} else if (cur == rq->idle && rq->nr_queued) {
		set_flag(&rq->need_resched, true);
	}
	balance = rq->st.ticks % SCHED_BALANCE_TICKS ==
		  rq->index % SCHED_BALANCE_TICKS;
	waiting = balance && cur != rq->idle && rq->nr_queued;
	/* SCHED_BALANCE_TICKS ticks in a row that find nothing to do:
	 * the slow tick (a CPU that halts and wakes again within a tick
	 * keeps the full one, and its ticks) */
	if (cur == rq->idle && !rq->nr_queued && !rq->sleepers)
		rq->idle_ticks++;
	else
		rq->idle_ticks = 0;
	slow = !rq->tick_slow && rq->idle_ticks >= SCHED_BALANCE_TICKS;
	if (slow) {
		rq->tick_slow = true;
		rq->st.slowed++;
	}
	spin_unlock(&rq->lock);
	if (slow)
		sched_env_tick_rate(true);
	if (balance)
		sched_balance(rq);
	if (waiting && sched_halted_cpus() > 0)
		sched_kick_thief(rq);     /* a CPU on its slow idle tick */
}

void sched_resched_interrupt(void)
{
	set_flag(&sched_env_this_rq()->need_resched, true);
}

void sched_irq_exit(void)
{
	if (sched_preempt_due(sched_env_this_rq()))
		schedule(SCHED_PREEMPT);
}

bool sched_idle_prepare(struct runqueue *rq)
{
	if (rq->curr != rq->idle)
		ctx_panic("sched: CPU %u ran its idle loop outside its "
			  "idle context", rq->index);
	if (__atomic_load_n(&rq->nr_queued, __ATOMIC_RELAXED) == 0)
		sched_steal(rq);
	spin_lock(&rq->lock);
	if (rq->nr_queued) {
		spin_unlock(&rq->lock);
		return false;
	}
	set_flag(&rq->halted, true);
	__atomic_fetch_add(&halted_cpus, 1, __ATOMIC_SEQ_CST);
	rq->st.halts++;
	spin_unlock(&rq->lock);
	return true;
}

void sched_idle_woken(struct runqueue *rq)
{
	set_flag(&rq->halted, false);
	__atomic_fetch_sub(&halted_cpus, 1, __ATOMIC_SEQ_CST);
}

/* The idle loop sets `halted` under the queue's lock after finding the
 * queue empty, and a waker reads it under the same lock after adding
 * to the queue: one of the two sees the other, so the waker sends the
 * IPI whenever the idle loop could have missed the new context. */
void sched_idle_once(void)
{
	uint64_t irq = ctx_irq_save();
	struct runqueue *rq = sched_env_this_rq();

	if (sched_idle_prepare(rq)) {
		ctx_idle_wait();                 /* sti; hlt; cli */
		sched_idle_woken(rq);
	} else {
		schedule(SCHED_YIELD);
	}
	ctx_irq_restore(irq);
}

_Noreturn void sched_idle(void)
{
	for (;;)
		sched_idle_once();
}

/**
 * ## Redox 0.3.5's switch, point by point
 *
 * What a careful reading of Redox 0.3.5's scheduler finds, and what
 * this one does instead:
 *
 * - **One lock for every switch in the system, and not a fair one.**
 *   Its `CONTEXT_SWITCH_LOCK` is taken with a plain compare-and-swap
 *   loop: when it is released, whichever CPU's swap lands first wins,
 *   and a CPU can lose again and again. Here each CPU's queue has its
 *   own lock, which only that CPU takes to switch, and the lock is
 *   chapter 06's ticket lock, which serves waiters in turn.
 * - **Every switch visits every context.** Its update pass takes each
 *   context's lock to wake sleepers and claim unowned contexts, and
 *   its two searches walk the contexts by id; with n contexts a switch
 *   costs n lock round trips. Here a switch takes the front of one
 *   queue, and the tick looks at the front of one sleep list. On the
 *   host (bench/bench_runqueue.c), the decision costs about 33 ns with
 *   10 contexts and the same with 10,000; a re-creation of Redox's
 *   costs 80 ns with 10 and 67 us with 10,000, about 190 times ours at
 *   1,000.
 * - **The lock is let go before the switch.** The comment in its
 *   `switch_to` says the switch releases the lock; the code releases
 *   it before the call. By then it has marked the old context as not
 *   running, though its registers are not saved yet. That is safe
 *   only because no other CPU ever runs that context. Here contexts
 *   do move between CPUs, and `on_cpu` says when a context's registers
 *   are all saved: no CPU takes one before (sched_finish, balance.c).
 * - **Pointers outlive their locks.** It keeps raw pointers to the old
 *   and new contexts after dropping the guards that protected them.
 *   Here an entity's queue links and state change only under its run
 *   queue's lock, and a context is freed only after the CPU that ran
 *   it has reported it off (sched_env_exited, after switch_to()).
 * - **Interrupts must already be off, and the kernel is never
 *   preempted.** Its locks leave interrupts on, so an interrupt
 *   handler that switched could spin for a lock its own CPU holds;
 *   and its `switch_to` loads the new flags mid-way. So every caller
 *   turns interrupts off first, and kernel code is never interrupted
 *   by a switch. Here schedule() manages the flag, locks turn
 *   interrupts off, switch_to() loads the flags last, and a tick may
 *   preempt kernel code anywhere the rules above allow.
 * - **A context belongs for ever to the first CPU that saw it.** Its
 *   update pass claims every unowned context for the CPU running it,
 *   and nothing ever moves. Here a new context goes to the least
 *   loaded CPU, idle CPUs steal, loads are evened out, and affinity
 *   pins a context where it is wanted (balance.c).
 * - **One tick counter for all CPUs, and the idle context takes
 *   turns.** Its `PIT_TICKS` is a global that any CPU's switch resets,
 *   so one CPU's switch restarts every other CPU's slice; only the
 *   boot CPU's PIT ticks, and the others get an IPI. Its idle context
 *   is runnable like any other, so it takes a slice in each round even
 *   when there is work. Here every CPU has its own local APIC timer,
 *   every context its own slice, and the idle context runs only when
 *   the queue is empty.
 * - **One CPU by default.** Its other CPUs start only when the kernel
 *   is built with `multi_core`, and otherwise halt for good. Here
 *   every CPU chapter 06 started schedules.
 *
 * The advantage of per-CPU queues is in the cost per switch as
 * contexts grow, and in CPUs not waiting for each other. With two CPUs
 * and a few contexts a single well-made lock costs little: another
 * hobby kernel measured its global run-queue lock at about 55 cycles
 * and 0.01% of the time at two CPUs. Differences show at many CPUs or
 * many contexts, which is where this chapter's benchmark looks.
 */

/* ---- Figures ---- */

bool sched_cpu_stats(unsigned index, struct sched_cpu_stats *out)
{
	struct runqueue *rq = sched_rq(index);
	uint64_t irq;

	if (!rq)
		return false;
	irq = ctx_irq_save();
	spin_lock(&rq->lock);
	*out = rq->st;
	out->queued = rq->nr_queued;
	if (rq->curr == rq->idle)
		out->idle_ns += sched_env_now() - rq->idle->exec_start;
	spin_unlock(&rq->lock);
	ctx_irq_restore(irq);
	return true;
}

int sched_format_status(char *buf, size_t len,
			struct sched_cpu_stats *prev, unsigned first,
			unsigned ncpus, uint64_t interval_ns)
{
	int n = 0;

	for (unsigned i = first; i < first + ncpus; i++) {
		struct sched_cpu_stats s, *p = &prev[i - first];
		uint64_t idle, pct;

		if (!sched_cpu_stats(i, &s))
			continue;
		idle = s.idle_ns - p->idle_ns;
		pct = interval_ns ? idle * 100 / interval_ns : 0;
		n += ksnprintf(buf + n, (size_t)n < len ? len - n : 0,
			       "%scpu%u %lu sw %lu%% idle q%u",
			       i > first ? " | " : "", i,
			       (unsigned long)(s.switches - p->switches),
			       (unsigned long)(pct > 100 ? 100 : pct),
			       s.queued);
		*p = s;
	}
	return n;
}

const char *sched_state_name(int state)
{
	static const char *const names[] = {
		"new", "runnable", "running", "blocked", "exited",
	};

	return state >= 0 && state <= CTX_EXITED ? names[state] : "bad";
}
