/*
 * sim_env.h: a deterministic simulator for the scheduler's code. One
 * host thread; virtual CPUs (host_cpu.h's struct host_cpu, each with a
 * clock of its own) and virtual time. Include it after the kernel
 * files and host_cpu.h.
 *
 * - Time advances in steps of sim_dt; in each step every CPU in turn
 *   runs until its clock reaches the step's end. So events on
 *   different CPUs are ordered to within one step (20 us).
 * - Each CPU's local APIC timer ticks every SCHED_TICK_NS (its slow
 *   idle tick: SCHED_IDLE_TICK_NS), the CPUs'
 *   ticks spread over the period; a tick and the reschedule IPI are
 *   taken between two operations of the running task, as the kernel's
 *   would be between two instructions, and run the kernel's interrupt
 *   path: sched_tick(), sched_resched_interrupt(), sched_irq_exit().
 * - A task is a small program of operations (struct sim_op): compute
 *   for a time, sleep, yield, a semaphore's down and up, a mutex's
 *   lock and unlock, preemption off and on, pin to a CPU, loop, exit.
 *   Each calls the kernel code that the operation is (sleep_ms's and
 *   sem_down's halves, sched_yield_cpu, preempt_enable, ...).
 * - A switch (sched_env_switch) cannot run another task's C code in
 *   the middle of this one's, as switch_to() does: it records the
 *   switch and returns at once, so schedule() finishes it as usual
 *   and the operation that switched returns to the simulator, which
 *   from then on runs whatever the run queue says is current. So each
 *   operation calls the scheduler last; one that must wait calls the
 *   first half of the wait again when its task runs next (the kernel's
 *   loops do the same). A task's exit jumps back into the simulator.
 */
#ifndef SIM_ENV_H
#define SIM_ENV_H

#include <setjmp.h>

enum sim_op_kind {
	OP_RUN,        /* compute for arg ns */
	OP_SLEEP,      /* sleep_ms(arg / 1e6): arg ns */
	OP_YIELD,
	OP_DOWN,       /* sem_down(&sim_sem[arg]) */
	OP_UP,         /* sem_up(&sim_sem[arg]) */
	OP_LOCK,       /* mutex_lock(&sim_mutex[arg]) */
	OP_UNLOCK,
	OP_NOPREEMPT,  /* preempt_disable() */
	OP_PREEMPT,    /* preempt_enable() */
	OP_PIN,        /* sched_set_affinity(arg) */
	OP_MARK,       /* note the time in sim_mark[arg] */
	OP_LOOP,       /* back to op arg, arg2 times (0: for ever) */
	OP_EXIT,
};

struct sim_op {
	enum sim_op_kind kind;
	uint64_t arg, arg2;
};

#define SIM_MAX_TASKS 64
#define SIM_OP_NS 1000          /* what an operation other than RUN
				   costs its CPU: 1 us */

struct sim_task {
	struct sched_entity se;       /* first */
	const struct sim_op *prog;
	int pc;
	bool in_op;                   /* the operation at pc has begun */
	uint64_t left;                /* RUN: ns still to compute */
	uint64_t until;               /* SLEEP: when to wake */
	struct waiter w;              /* DOWN, LOCK */
	uint64_t iter;                /* LOOP's count */
	char name[16];
	/* figures */
	uint64_t cpus_seen;           /* bit i: ran on CPU i */
	uint64_t run_start;           /* when it last got a CPU */
	uint64_t longest_run;         /* longest time on a CPU at once */
	uint64_t loops;               /* LOOPs taken */
	uint64_t sleeps, late_sum, late_max;   /* SLEEP's lateness */
	uint64_t waits, wait_sum, wait_max;    /* DOWN/LOCK: from MARK
						  0 to the wake, ns */
	bool exited;
};

static struct sim_task sim_idle[HOST_MAX_CPUS];
static struct sim_task *sim_task[SIM_MAX_TASKS];
static int sim_ntasks;
static unsigned sim_ncpus;
static uint64_t sim_time, sim_dt = 20000;
static struct semaphore sim_sem[8];
static struct mutex sim_mutex[4];
static uint64_t sim_mark[4];
static jmp_buf sim_exit_jump;
static char sim_panic[256];

static struct sim_task *sim_of(struct sched_entity *se)
{
	return (struct sim_task *)se;
}

/* A panic fails the case, unless the test expects it (SIM_PANIC_HOOK:
 * then sim_panic_hook(), the test's, decides). */
#ifdef SIM_PANIC_HOOK
static _Noreturn void sim_panic_hook(const char *msg);
#endif

_Noreturn void ctx_panic(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(sim_panic, sizeof sim_panic, fmt, ap);
	va_end(ap);
#ifdef SIM_PANIC_HOOK
	sim_panic_hook(sim_panic);
#else
	check_fail(__FILE__, __LINE__, "panic: %s", sim_panic);
	check_abandon();
#endif
}

uint64_t sched_env_now(void)
{
	return host_cpu ? host_cpu->clock : sim_time;
}

void sched_env_kick(struct runqueue *rq)
{
	host_cpus[rq->index].kicked = true;
}

void sched_env_tick_rate(bool idle)
{
	host_cpu->tick_ns = idle ? SCHED_IDLE_TICK_NS : SCHED_TICK_NS;
	host_cpu->next_tick = host_cpu->clock + host_cpu->tick_ns;
}

static void sim_note_run(struct sim_task *t, uint64_t now)
{
	uint64_t ran = now - t->run_start;

	if (ran > t->longest_run)
		t->longest_run = ran;
}

struct sched_entity *sched_env_switch(struct sched_entity *prev,
				      struct sched_entity *next)
{
	uint64_t now = host_cpu->clock;

	sim_note_run(sim_of(prev), now);
	sim_of(next)->run_start = now;
	sim_of(next)->cpus_seen |= 1ull << host_cpu->index;
	if (__atomic_load_n(&prev->state, __ATOMIC_RELAXED) == CTX_EXITED) {
		sched_finish(prev);          /* as schedule() would */
		longjmp(sim_exit_jump, 1);
	}
	return prev;
}

void sched_env_exited(struct sched_entity *prev)
{
	sim_of(prev)->exited = true;
}

void ctx_idle_wait(void)
{
	ctx_panic("the simulator halts CPUs itself");
}

static void host_take_interrupts(void)
{
	/* the simulator delivers interrupts between operations */
}

/* ---- Setting up ---- */

/* A fresh scheduler with n CPUs, at time 0. (The scheduler's own
 * statics are reset here: the test includes sched.c.) */
static void sim_setup(unsigned n)
{
	for (int i = 0; i < sim_ntasks; i++)
		free(sim_task[i]);
	sim_ntasks = 0;
	sim_time = 0;
	for (unsigned i = 0; i < SCHED_MAX_CPUS; i++)
		runqueues[i] = NULL;
	n_cpus = 0;
	halted_cpus = 0;
	host_single_thread = true;
	sim_ncpus = n;
	for (unsigned i = 0; i < 4; i++)
		sim_mark[i] = 0;
	for (unsigned k = 0; k < n; k++) {
		struct host_cpu *c = &host_cpus[k];

		*c = (struct host_cpu){ .index = k };
		c->next_tick = SCHED_TICK_NS * (k + 1) / n;
		c->tick_ns = SCHED_TICK_NS;
		sim_idle[k] = (struct sim_task){ .name = "idle" };
		host_cpu = c;
		sched_cpu_init(&c->rq, k, &sim_idle[k].se);
		sim_idle[k].cpus_seen = 1ull << k;
	}
	host_cpu = NULL;
}

/* A task running prog, started on cpu (-1: least loaded), pinned to
 * affinity (SCHED_ANY_CPU: not). */
static struct sim_task *sim_spawn(const struct sim_op *prog,
				  const char *name, int cpu, int affinity)
{
	struct sim_task *t = calloc(1, sizeof *t);

	if (!t || sim_ntasks == SIM_MAX_TASKS)
		ctx_panic("simulator: too many tasks");
	sched_entity_init(&t->se, affinity);
	t->prog = prog;
	t->w.se = &t->se;
	snprintf(t->name, sizeof t->name, "%s", name);
	sim_task[sim_ntasks++] = t;
	sched_start(&t->se, cpu);
	return t;
}

/* ---- Running ---- */

static void sim_interrupts(struct host_cpu *c)
{
	bool tick = c->clock >= c->next_tick, kick = c->kicked;

	if (!tick && !kick)
		return;
	if (c->halted) {
		c->halted = false;
		sched_idle_woken(&c->rq);
	}
	c->kicked = false;
	c->irq_off = 1;
	c->irq_depth++;
	if (kick)
		sched_resched_interrupt();
	if (tick) {
		c->next_tick += c->tick_ns;
		sched_tick();
	}
	c->irq_depth--;
	sched_irq_exit();
	c->irq_off = 0;
}

/* A wait's first half: true if done (the task goes on), false if the
 * task is now BLOCKED and has been switched away. */
static bool sim_wait(struct sim_task *t, struct waitq *q, wait_try_fn try,
		     void *arg)
{
	uint64_t irq = ctx_irq_save();
	bool done = waitq_prepare(q, &t->w, try, arg);

	if (!done)
		sched_block();
	ctx_irq_restore(irq);
	if (done) {
		uint64_t d = host_cpu->clock - sim_mark[0];

		if (t->w.sleeps) {
			t->waits++;
			t->wait_sum += d;
			t->wait_max = d > t->wait_max ? d : t->wait_max;
		}
		t->w.granted = false;
		t->w.sleeps = 0;
	}
	return done;
}

/* Run the task's operations until its CPU's clock reaches t1 or the
 * CPU switches to another task. */
static void sim_task_step(struct host_cpu *c, struct sim_task *t,
			  uint64_t t1)
{
	const struct sim_op *op = &t->prog[t->pc];
	uint64_t d, irq;

	if (op->kind != OP_RUN)
		c->clock += SIM_OP_NS;
	switch (op->kind) {
	case OP_RUN:
		if (!t->in_op) {
			t->left = op->arg;
			t->in_op = true;
		}
		d = t->left;
		if (d > t1 - c->clock)
			d = t1 - c->clock;
		if (d > c->next_tick - c->clock)
			d = c->next_tick - c->clock;
		c->clock += d;
		t->left -= d;
		if (t->left == 0) {
			t->in_op = false;
			t->pc++;
		}
		break;
	case OP_SLEEP:
		if (!t->in_op) {
			t->until = c->clock + op->arg;
			t->in_op = true;
		}
		irq = ctx_irq_save();
		if (sched_sleep_prepare(t->until)) {
			d = c->clock - t->until;
			t->sleeps++;
			t->late_sum += d;
			t->late_max = d > t->late_max ? d : t->late_max;
			t->in_op = false;
			t->pc++;
		} else {
			sched_block();
		}
		ctx_irq_restore(irq);
		break;
	case OP_YIELD:
		t->pc++;
		sched_yield_cpu();
		break;
	case OP_DOWN:
		if (sim_wait(t, &sim_sem[op->arg].q, sem_try,
			     &sim_sem[op->arg]))
			t->pc++;
		break;
	case OP_UP:
		t->pc++;
		sem_up(&sim_sem[op->arg]);
		break;
	case OP_LOCK:
		if (sim_wait(t, &sim_mutex[op->arg].q, mutex_try,
			     &sim_mutex[op->arg])) {
			sim_mutex[op->arg].acquired++;
			t->pc++;
		}
		break;
	case OP_UNLOCK:
		t->pc++;
		mutex_unlock(&sim_mutex[op->arg]);
		break;
	case OP_NOPREEMPT:
		t->pc++;
		preempt_disable();
		break;
	case OP_PREEMPT:
		t->pc++;
		preempt_enable();
		break;
	case OP_PIN:
		t->pc++;
		sched_set_affinity((int)op->arg);
		break;
	case OP_MARK:
		t->pc++;
		sim_mark[op->arg] = c->clock;
		break;
	case OP_LOOP:
		t->loops++;
		if (op->arg2 == 0 || ++t->iter < op->arg2) {
			t->pc = (int)op->arg;
		} else {
			t->iter = 0;
			t->pc++;
		}
		break;
	case OP_EXIT:
		sched_exit();
	}
}

static void sim_cpu_step(unsigned k, uint64_t t1)
{
	struct host_cpu *volatile c = &host_cpus[k];

	host_cpu = c;
	if (setjmp(sim_exit_jump)) {        /* a task exited */
		host_cpu = c;
		c->irq_off = 0;
	}
	while (c->clock < t1) {
		struct sched_entity *cur;

		sim_interrupts(c);
		if (c->halted) {             /* until the tick, or a kick
						seen at the next step */
			c->clock = c->next_tick < t1 ? c->next_tick : t1;
			continue;
		}
		cur = c->rq.curr;
		if (cur == c->rq.idle) {
			uint64_t irq = ctx_irq_save();

			c->clock += SIM_OP_NS;
			if (sched_idle_prepare(&c->rq))
				c->halted = true;
			else
				sched_yield_cpu();
			ctx_irq_restore(irq);
			continue;
		}
		sim_task_step(c, sim_of(cur), t1);
	}
	host_cpu = NULL;
}

/* Run every CPU for duration ns of virtual time. */
static __attribute__((unused)) void sim_run(uint64_t duration)
{
	uint64_t end = sim_time + duration;

	for (; sim_time < end; sim_time += sim_dt)
		for (unsigned k = 0; k < sim_ncpus; k++)
			sim_cpu_step(k, sim_time + sim_dt);
	for (unsigned k = 0; k < sim_ncpus; k++) {    /* figures so far */
		struct sched_entity *cur = host_cpus[k].rq.curr;

		host_cpu = &host_cpus[k];
		spin_lock(&host_cpus[k].rq.lock);
		charge(&host_cpus[k].rq, cur, host_cpu->clock);   /* sched.c */
		sim_note_run(sim_of(cur), host_cpu->clock);
		sim_of(cur)->run_start = host_cpu->clock;
		spin_unlock(&host_cpus[k].rq.lock);
		host_cpu = NULL;
	}
}

#endif /* SIM_ENV_H */
