/*
 * thread_env.h: the scheduler's environment as host threads. Include
 * it after the kernel files (and host_cpu.h).
 *
 * - A CPU is a thread running its idle context's loop. A context is a
 *   thread too; at any moment at most one thread runs "on" a CPU: the
 *   one that CPU's run queue says is current. The others wait on a
 *   futex each.
 * - The switch (sched_env_switch, switch_to() in the kernel) hands the
 *   CPU to the next context's thread (its futex word `go`, with the
 *   CPU's number) and waits on its own word until some CPU hands it
 *   one again, perhaps another CPU: the thread then points host_cpu at
 *   that CPU. An exiting context's thread ends instead.
 * - Each hand-over checks that the context is not running anywhere
 *   already (`running_on`): two CPUs running one context at once is
 *   what the on_cpu handshake (balance.c) prevents, and this would see
 *   it. The old context counts as running until its "registers are
 *   saved", a moment the test may stretch (SCHED_TEST_WINDOW) as a
 *   real switch_to() takes time to save them.
 * - Interrupts are pending flags: a tick when the CPU's next tick time
 *   has passed, the reschedule IPI a futex word (sched_env_kick). They
 *   are taken where code turns interrupts back on, at a context's
 *   preemption points (host_preempt_point, as if an interrupt could
 *   come there), and in the idle loop's halt (a futex wait until the
 *   IPI or the next tick: `sti; hlt`).
 * - Each test case builds a fresh world in a child process (fork),
 *   which exits with a code saying how it ended (WORLD_*).
 */
#ifndef THREAD_ENV_H
#define THREAD_ENV_H

#include <linux/futex.h>
#include <pthread.h>
#include <sched.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#define WORLD_OK 0
#define WORLD_STALLED 2      /* no progress: a lost wake-up, or worse */
#define WORLD_PANIC 3        /* ctx_panic: a broken invariant */
#define WORLD_ERROR 4        /* host_error: a context on two CPUs */
#define WORLD_FAILED 5       /* the workload's own checks failed */

struct host_ctx {
	struct sched_entity se;      /* first: the entity is the context */
	uint32_t go;                 /* futex: 1 when handed a CPU */
	unsigned run_cpu;            /* the CPU it was handed */
	struct sched_entity *from;   /* the context that handed it */
	int running_on;              /* atomic: a CPU, or -1 */
	pthread_t thread;
	long (*fn)(void *);
	void *arg;
	struct waitq exit_q;         /* its joiners wait here */
	bool done;                   /* exited and off its CPU */
	long result;
	uint64_t cpus_seen;          /* bit i: it ran on CPU i */
	char name[24];
};

static struct host_ctx host_idle[HOST_MAX_CPUS];
static unsigned host_ncpus;
static volatile int host_stop;
static pthread_t host_cpu_thread[HOST_MAX_CPUS];
static unsigned host_ready;                  /* atomic */
static long host_progress;                   /* atomic: workload's */
static long host_live;                       /* atomic: host_ctx */

static long futex(uint32_t *word, int op, uint32_t val,
		  const struct timespec *timeout)
{
	return syscall(SYS_futex, word, op, val, timeout, NULL, 0);
}

static struct host_ctx *host_ctx_of(struct sched_entity *se)
{
	return (struct host_ctx *)se;
}

_Noreturn void ctx_panic(const char *fmt, ...)
{
	va_list ap;

	printf("  world panic: ");
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf("\n");
	fflush(stdout);
	_exit(WORLD_PANIC);
}

uint64_t sched_env_now(void)
{
	return host_now_ns();
}

void sched_env_kick(struct runqueue *rq)
{
	struct host_cpu *c = &host_cpus[rq->index];

	__atomic_store_n(&c->ipi_pending, 1, __ATOMIC_SEQ_CST);
	futex(&c->ipi_pending, FUTEX_WAKE_PRIVATE, 1, NULL);
}

/* The period only: the next tick a full period from now. */
void sched_env_tick_rate(bool idle)
{
	struct host_cpu *c = host_cpu;

	c->tick_ns = idle ? SCHED_IDLE_TICK_NS : SCHED_TICK_NS;
	c->next_tick = host_now_ns() + c->tick_ns;
}

/* Wait until handed a CPU; then we are on it. */
static void host_wait_go(struct host_ctx *c)
{
	while (__atomic_exchange_n(&c->go, 0, __ATOMIC_SEQ_CST) == 0)
		futex(&c->go, FUTEX_WAIT_PRIVATE, 0, NULL);
	host_cpu = &host_cpus[c->run_cpu];
	c->cpus_seen |= 1ull << c->run_cpu;
}

struct sched_entity *sched_env_switch(struct sched_entity *prev,
				      struct sched_entity *next)
{
	struct host_ctx *p = host_ctx_of(prev), *n = host_ctx_of(next);
	unsigned cpu = host_cpu->index;
	bool exiting = __atomic_load_n(&prev->state, __ATOMIC_SEQ_CST) ==
		       CTX_EXITED;
	int was = -1;

	if (!__atomic_compare_exchange_n(&n->running_on, &was, (int)cpu,
					 false, __ATOMIC_SEQ_CST,
					 __ATOMIC_SEQ_CST))
		host_error("context '%s' switched to on CPU %u while it "
			   "runs on CPU %d", n->name, cpu, was);
	n->from = prev;
	n->run_cpu = cpu;
	SCHED_TEST_WINDOW("switch_to: saving prev's registers");
	__atomic_store_n(&p->running_on, -1, __ATOMIC_SEQ_CST);
	__atomic_store_n(&n->go, 1, __ATOMIC_SEQ_CST);
	futex(&n->go, FUTEX_WAKE_PRIVATE, 1, NULL);
	if (exiting)
		pthread_exit(NULL);  /* p is its joiner's from now on */
	host_wait_go(p);
	return p->from;
}

void sched_env_exited(struct sched_entity *prev)
{
	struct host_ctx *c = host_ctx_of(prev);

	spin_lock(&c->exit_q.lock);
	c->done = true;
	waitq_wake_all_locked(&c->exit_q);
	spin_unlock(&c->exit_q.lock);
}

/* `sti; hlt`: sleep until the reschedule IPI or the next tick, take
 * the interrupt, and come back with interrupts off. */
void ctx_idle_wait(void)
{
	struct host_cpu *c = host_cpu;
	uint64_t now = host_now_ns();

	if (now < c->next_tick &&
	    !__atomic_load_n(&c->ipi_pending, __ATOMIC_SEQ_CST)) {
		uint64_t ns = c->next_tick - now;
		struct timespec ts = { (time_t)(ns / 1000000000ull),
				       (long)(ns % 1000000000ull) };

		futex(&c->ipi_pending, FUTEX_WAIT_PRIVATE, 0, &ts);
	}
	c->irq_off = 0;
	host_take_interrupts();
	c->irq_off = 1;
}

/* The interrupt entry: the IPI, then the tick, then the exit path,
 * which may preempt (and come back here later, maybe on another CPU). */
static void host_take_interrupts(void)
{
	struct host_cpu *c = host_cpu;
	bool ipi, tick;
	uint64_t now;

	if (!c || c->irq_off || c->irq_depth)
		return;
	now = host_now_ns();
	ipi = __atomic_load_n(&c->ipi_pending, __ATOMIC_RELAXED) &&
	      __atomic_exchange_n(&c->ipi_pending, 0, __ATOMIC_SEQ_CST);
	tick = now >= c->next_tick;
	if (!ipi && !tick)
		return;
	c->irq_off = 1;
	c->irq_depth++;
	if (ipi)
		sched_resched_interrupt();
	if (tick) {
		c->next_tick = now + c->tick_ns;
		sched_tick();
	}
	c->irq_depth--;
	sched_irq_exit();
	host_cpu->irq_off = 0;          /* IRETQ, on whatever CPU */
}

/* Where an interrupt may come in a context's loop. */
static __attribute__((unused)) void host_preempt_point(void)
{
	host_take_interrupts();
}

/* ---- Contexts ---- */

static void *host_ctx_main(void *arg)
{
	struct host_ctx *c = arg;
	long r;

	host_wait_go(c);
	sched_finish(c->from);
	ctx_irq_restore(1);
	r = c->fn(c->arg);
	c->result = r;
	sched_exit();
}

/* A context running fn(arg), started on cpu (-1: the least loaded),
 * pinned to affinity (SCHED_ANY_CPU: not pinned). */
static struct host_ctx *host_spawn(long (*fn)(void *), void *arg,
				   const char *name, int cpu, int affinity)
{
	struct host_ctx *c = calloc(1, sizeof *c);
	pthread_attr_t a;

	if (!c)
		ctx_panic("out of memory");
	sched_entity_init(&c->se, affinity);
	c->running_on = -1;
	c->fn = fn;
	c->arg = arg;
	snprintf(c->name, sizeof c->name, "%s", name);
	waitq_init(&c->exit_q, "exit");
	pthread_attr_init(&a);
	pthread_attr_setstacksize(&a, 256 << 10);
	if (pthread_create(&c->thread, &a, host_ctx_main, c) != 0)
		ctx_panic("pthread_create failed");
	pthread_attr_destroy(&a);
	__atomic_fetch_add(&host_live, 1, __ATOMIC_SEQ_CST);
	sched_start(&c->se, cpu);
	return c;
}

static bool host_done_try(void *arg, struct waiter *w)
{
	(void)w;
	return ((struct host_ctx *)arg)->done;
}

/* Wait for c to end (sleeping, from a context; polling, from the
 * test's main thread), then free it. Returns its result. */
static long host_join(struct host_ctx *c)
{
	long r;

	if (sched_current())
		waitq_wait(&c->exit_q, host_done_try, c);
	else
		while (!__atomic_load_n(&c->done, __ATOMIC_SEQ_CST))
			usleep(200);
	pthread_join(c->thread, NULL);
	r = c->result;
	free(c);
	__atomic_fetch_sub(&host_live, 1, __ATOMIC_SEQ_CST);
	return r;
}

/* ---- CPUs ---- */

static void *host_cpu_main(void *arg)
{
	unsigned i = (unsigned)(uintptr_t)arg;
	struct host_cpu *c = &host_cpus[i];

	c->index = i;
	host_cpu = c;
	c->irq_off = 1;
	host_idle[i].running_on = (int)i;
	snprintf(host_idle[i].name, sizeof host_idle[i].name, "idle/%u", i);
	sched_cpu_init(&c->rq, i, &host_idle[i].se);
	c->tick_ns = SCHED_TICK_NS;
	c->next_tick = host_now_ns() + SCHED_TICK_NS;
	__atomic_fetch_add(&host_ready, 1, __ATOMIC_SEQ_CST);
	while (!host_stop)
		sched_idle_once();
	return NULL;
}

static void host_cpus_start(unsigned n)
{
	for (unsigned i = 0; i < n; i++)
		pthread_create(&host_cpu_thread[i], NULL, host_cpu_main,
			       (void *)(uintptr_t)i);
	while (__atomic_load_n(&host_ready, __ATOMIC_SEQ_CST) < n)
		usleep(100);
	host_ncpus = n;
}

/* Once every context has been joined: stop the idle loops. */
static void host_cpus_stop(void)
{
	host_stop = 1;
	for (unsigned i = 0; i < host_ncpus; i++)
		sched_env_kick(&host_cpus[i].rq);
	for (unsigned i = 0; i < host_ncpus; i++)
		pthread_join(host_cpu_thread[i], NULL);
}

/* What each CPU and context is doing, for a stalled world. */
static void host_dump(struct host_ctx **ctx, int n)
{
	for (unsigned i = 0; i < host_ncpus; i++) {
		struct runqueue *rq = &host_cpus[i].rq;

		printf("  cpu%u: running '%s', %u queued, %lu switches\n",
		       i, host_ctx_of(rq->curr)->name, rq->nr_queued,
		       (unsigned long)rq->st.switches);
	}
	for (int i = 0; i < n; i++)
		if (ctx[i])
			printf("  '%s': %s on cpu%u\n", ctx[i]->name,
			       sched_state_name(ctx[i]->se.state),
			       ctx[i]->se.cpu);
}

/*
 * Run world() in a child process with its own threads; wait at most
 * limit seconds. The world's main thread watches host_progress: if it
 * stops moving for stall_s seconds, the world reports WORLD_STALLED.
 * Returns the child's exit code (or -1 if it had to be killed, or
 * died of a signal).
 */
static int host_world(int (*world)(void), int limit)
{
	pid_t pid;
	int status = 0;
	uint64_t until = host_now_ns() + (uint64_t)limit * 1000000000ull;

	fflush(stdout);
	pid = fork();
	if (pid == 0) {
		int code = world();

		fflush(stdout);
		_exit(code ? code
			   : __atomic_load_n(&host_errors, __ATOMIC_SEQ_CST)
			   ? WORLD_ERROR : WORLD_OK);
	}
	while (waitpid(pid, &status, WNOHANG) == 0) {
		if (host_now_ns() > until) {
			kill(pid, SIGKILL);
			waitpid(pid, &status, 0);
			printf("  world killed after %d s\n", limit);
			return -1;
		}
		usleep(10000);
	}
	return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

/* The world's main thread: wait until *done, or until progress stops
 * for stall_s seconds (then dump and return WORLD_STALLED). */
static int host_watch(const volatile int *done, int stall_s,
		      struct host_ctx **ctx, int n)
{
	long last = -1;
	uint64_t moved = host_now_ns();

	while (!*done) {
		long p = __atomic_load_n(&host_progress, __ATOMIC_SEQ_CST);

		if (host_errors) {
			printf("  %s\n", host_first_error);
			return WORLD_ERROR;
		}
		if (p != last) {
			last = p;
			moved = host_now_ns();
		} else if (host_now_ns() - moved >
			   (uint64_t)stall_s * 1000000000ull) {
			printf("  stalled at progress %ld:\n", p);
			host_dump(ctx, n);
			return WORLD_STALLED;
		}
		usleep(20000);
	}
	return WORLD_OK;
}

#endif /* THREAD_ENV_H */
