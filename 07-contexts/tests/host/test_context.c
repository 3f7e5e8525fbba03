/*
 * test_context.c: host tests of kernel/context.c: spawn, yield, exit
 * and join, on real stacks, with real switches (switch.asm built for
 * user space), on up to four "CPUs" that are threads (ctx_env.h).
 *
 * Built by the Makefile (`make hosttest` runs it):
 *
 *   gcc -std=gnu11 -g -O1 -fsanitize=address,undefined ... \
 *       -mgeneral-regs-only -fno-omit-frame-pointer \
 *       -o build/host/test_context tests/host/test_context.c \
 *       build/host/switch.o build/host/fpu_probe.o
 *
 * As the kernel is, this file is built without SSE
 * (-mgeneral-regs-only), so the only code that touches an XMM
 * register is fpu_probe.asm's: what a test puts there stays there
 * unless a switch fails to save it. Each case runs in a *driver*, a
 * context spawned on CPU 0 (an idle context may not wait, so the
 * cases cannot run in the main thread's own); the main thread runs
 * CPU 0's idle loop until the driver has exited, then frees it.
 * Contexts on the other CPUs must not call CHECK (its counters are not
 * shared between threads): they record what they see, and the driver
 * checks.
 */
#define _GNU_SOURCE                       /* pthread_getattr_np */
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include "check.h"
#include "panic_hook.h"
#include "format.c"
#include "../../kernel/fpu.c"
#include "../../kernel/context_table.c"
#include "../../kernel/context.c"
#include "ctx_env.h"
#include "fpu_host.h"

/* Let this program's SIGSEGV handler run (stack_overflow_...). */
const char *__asan_default_options(void)
{
	return "allow_user_segv_handler=1";
}

#define N(a) ((int)(sizeof(a) / sizeof((a)[0])))

/* ---- Running a case in a driver context ---- */

static long driver(void *arg)
{
	((void (*)(void))arg)();
	return 0;
}

/* Whether the context id has exited and is off its CPU: its joiner
 * word says DONE. */
static bool gone(ctx_id_t id)
{
	struct context *t = ctx_table_get(&all_contexts, id);
	bool done;

	if (!t)
		return true;
	done = __atomic_load_n(&t->joiner, __ATOMIC_SEQ_CST) == CTX_JOIN_DONE;
	ctx_table_put(&all_contexts, id);
	return done;
}

static void host_run(void (*fn)(void))
{
	ctx_id_t id = context_spawn(driver, (void *)fn, "driver", 0);
	struct context *t;

	if (id <= 0) {
		CHECKF(0, "spawn of the driver: %s", context_strerror((int)id));
		return;
	}
	while (!gone(id))
		context_idle_once();
	t = ctx_table_get(&all_contexts, id);     /* reap it, as a join would */
	ctx_table_put(&all_contexts, id);
	reap(t);
}

#define RUN_CTX(fn)                                                    \
	do {                                                           \
		if (check_begin("%s", #fn)) {                          \
			host_run(fn);                                  \
			check_end();                                   \
		}                                                      \
	} while (0)

/* ---- Functions for contexts ---- */

static long give_back(void *arg)
{
	return (long)(uintptr_t)arg;
}

static volatile int after_exit, exit_now = 1;

static void deep(int n)
{
	if (n > 0)
		deep(n - 1);
	else if (exit_now)       /* (gcc would call the recursion endless) */
		context_exit(7);
	after_exit = 1;
}

static long exits_from_deep(void *arg)
{
	(void)arg;
	deep(10);
	after_exit = 1;
	return 99;
}

static uintptr_t frame_at_entry;

static long records_frame(void *arg)
{
	(void)arg;
	frame_at_entry = (uintptr_t)__builtin_frame_address(0);
	return 0;
}

static void yield_fn(void *arg)
{
	(void)arg;
	context_yield();
}

/* ---- The idle context ---- */

static void idle_context_is_the_first(void)
{
	struct ctx_cpu *cpu = ctx_cpu_this();
	struct context *c = context_current();

	CHECK(c && c == cpu->idle && c->first && c->cpu == 0);
	CHECK(c->state == CTX_RUNNING && c->id == 1);
	CHECK(!context_yield());                  /* nothing else to run */
	CHECK(context_join(c->id, NULL) == CTX_E_SELF);
	CHECK(context_join(12345, NULL) == CTX_E_NOENT);
	EXPECT_PANIC(context_exit(0),
		     "the idle context of CPU 0 cannot exit");
	host_irq_off = 0;
}

/* ---- Spawn, exit, join ---- */

static void spawn_runs_fn_and_join_returns_its_result(void)
{
	long r = 0;
	ctx_id_t id = context_spawn(give_back, (void *)42, "answer", 0);

	CHECK(id > 0);
	CHECK(context_join(id, &r) == 0 && r == 42);
	CHECK(context_join(id, &r) == CTX_E_NOENT);  /* reaped: stale */
}

static void exit_from_deep_inside_ends_the_context(void)
{
	long r = 0;
	ctx_id_t id = context_spawn(exits_from_deep, NULL, "deep", 0);

	CHECK(context_join(id, &r) == 0 && r == 7);
	CHECK(after_exit == 0);
}

static void new_context_starts_on_an_aligned_stack(void)
{
	long r = -1;
	ctx_id_t a = context_spawn(rsp_misalignment, NULL, "rsp", 0);
	ctx_id_t b = context_spawn(records_frame, NULL, "frame", 0);

	CHECK(context_join(a, &r) == 0);
	CHECKF(r == 0, "RSP + 8 at fn's entry is %ld mod 16", r);
	CHECK(context_join(b, NULL) == 0);
	CHECKF(frame_at_entry % 16 == 0, "frame pointer %#lx",
	       frame_at_entry);
}

static ctx_id_t joined_by_other;

static long joins(void *arg)
{
	long r = -1;

	(void)arg;
	return context_join(joined_by_other, &r) == 0 ? r : -1;
}

static volatile int hold;

static long held(void *arg)
{
	(void)arg;
	while (hold)
		context_yield();
	return 1;
}

static void join_errors(void)
{
	struct context *self = context_current(), *j;
	ctx_id_t z, jid;
	long r;

	CHECK(context_join(self->id, NULL) == CTX_E_SELF);
	CHECK(context_join(0, NULL) == CTX_E_NOENT);
	CHECK(context_join(-3, NULL) == CTX_E_NOENT);
	CHECK(context_join(777, NULL) == CTX_E_NOENT);
	CHECK(context_join(ctx_cpu_this()->idle->id, NULL) == CTX_E_IDLE);
	z = context_spawn(give_back, (void *)5, "zombie", 0);
	while (!gone(z))                         /* let it exit first */
		context_yield();
	CHECK(context_join(z, &r) == 0 && r == 5);  /* no waiting */
	hold = 1;                                /* two joiners: */
	joined_by_other = context_spawn(held, NULL, "held", 0);
	jid = context_spawn(joins, NULL, "first-joiner", 0);
	j = ctx_table_get(&all_contexts, jid);
	while (j->state != CTX_BLOCKED)          /* it waits in join */
		context_yield();
	ctx_table_put(&all_contexts, jid);
	CHECK(context_join(joined_by_other, NULL) == CTX_E_BUSY);
	hold = 0;
	CHECK(context_join(jid, &r) == 0 && r == 1);
	CHECK(context_join(joined_by_other, NULL) == CTX_E_NOENT);
}

static void strerror_names_every_error(void)
{
	for (int e = CTX_E_IDLE; e <= CTX_E_NOMEM; e++)
		CHECK(context_strerror(e)[0] != 'u');
	CHECK(context_strerror(0)[0] == 'u');
	CHECK(context_state_name(CTX_BLOCKED)[0] == 'b');
	CHECK(context_state_name(9)[0] == 'b' &&
	      context_state_name(9)[1] == 'a');
}

/* ---- Cooperative switching on one CPU ---- */

#define PINGS 100000

static int last_turn = -1;
static long turn_errors, turns, locks_in_loop;

/* Strict turns, and no lock taken anywhere while they run: the switch
 * path takes none (any CPU's spin_lock counts). */
static long ping(void *arg)
{
	int me = (int)(uintptr_t)arg;
	long locks;

	context_yield();                  /* both are in the loop now */
	locks = __atomic_load_n(&host_lock_acquires, __ATOMIC_SEQ_CST);
	for (int i = 0; i < PINGS; i++) {
		if (last_turn == me)
			turn_errors++;
		last_turn = me;
		turns++;
		context_yield();
	}
	locks_in_loop += __atomic_load_n(&host_lock_acquires,
					 __ATOMIC_SEQ_CST) - locks;
	return me;
}

static void two_contexts_ping_pong(void)
{
	uint64_t before = ctx_cpu_this()->switches;
	ctx_id_t a = context_spawn(ping, (void *)0, "ping", 0);
	ctx_id_t b = context_spawn(ping, (void *)1, "pong", 0);

	CHECK(context_join(a, NULL) == 0 && context_join(b, NULL) == 0);
	CHECKF(turns == 2 * PINGS && turn_errors == 0, "%ld turns, %ld "
	       "out of turn", turns, turn_errors);
	CHECKF(locks_in_loop == 0, "%ld spinlocks taken while switching",
	       locks_in_loop);
	printf("  (%d round trips, %lu switches on CPU 0)\n", PINGS,
	       ctx_cpu_this()->switches - before);
}

#define RR 6
#define ROUNDS 5

static int rr_log[RR * ROUNDS], rr_len;

static long round_robin(void *arg)
{
	for (int i = 0; i < ROUNDS; i++) {
		rr_log[rr_len++] = (int)(uintptr_t)arg;
		context_yield();
	}
	return 0;
}

static void contexts_take_turns_in_order(void)
{
	ctx_id_t id[RR];

	for (int i = 0; i < RR; i++)
		id[i] = context_spawn(round_robin, (void *)(uintptr_t)i,
				      "rr", 0);
	for (int i = 0; i < RR; i++)
		CHECK(context_join(id[i], NULL) == 0);
	CHECK(rr_len == RR * ROUNDS);
	for (int i = 0; i < rr_len; i++)
		CHECKF(rr_log[i] == i % RR, "turn %d went to %d", i,
		       rr_log[i]);
}

static const uint64_t regs_of[3][6] = {
	{ 1, 2, 3, 4, 5, 6 },
	{ 0x1111, 0x2222, 0x3333, 0x4444, 0x5555, 0x6666 },
	{ ~0ull, ~1ull, ~2ull, ~3ull, ~4ull, ~5ull },
};

static long keeps_registers(void *arg)
{
	int k = (int)(uintptr_t)arg;
	uint64_t out[6];
	long bad = 0;

	for (int i = 0; i < 1000; i++) {
		callee_saved_call(regs_of[k], yield_fn, NULL, out);
		for (int r = 0; r < 6; r++)
			bad += out[r] != regs_of[k][r];
	}
	return bad;
}

static void callee_saved_registers_survive_yields(void)
{
	ctx_id_t id[3];
	long bad;

	for (int k = 0; k < 3; k++)
		id[k] = context_spawn(keeps_registers, (void *)(uintptr_t)k,
				      "regs", 0);
	for (int k = 0; k < 3; k++) {
		CHECK(context_join(id[k], &bad) == 0);
		CHECKF(bad == 0, "context %d: %ld registers changed", k, bad);
	}
}

/* ---- The FPU ---- */

/* Each context keeps its own XMM registers, MXCSR and x87 control word
 * across 500 yields while the others change theirs. */
static long keeps_fpu(void *arg)
{
	static const uint32_t mxcsr[3] = { 0x1F80, 0x7F80, 0x3F80 };
	static const uint16_t fcw[3] = { 0x037F, 0x027F, 0x0F7F };
	int k = (int)(uintptr_t)arg;
	struct fpu_image in, out;
	long bad = 0;

	image_fill(&in, (uint8_t)(0x11 * (k + 1)), mxcsr[k], fcw[k]);
	for (int i = 0; i < 500; i++) {
		fpu_fill_call(&in, yield_fn, NULL, &out);
		bad += !image_same(&in, &out);
	}
	return bad;
}

static void fpu_state_survives_yields(void)
{
	ctx_id_t id[3];
	long bad;

	for (int k = 0; k < 3; k++)
		id[k] = context_spawn(keeps_fpu, (void *)(uintptr_t)k, "fpu",
				      0);
	for (int k = 0; k < 3; k++) {
		CHECK(context_join(id[k], &bad) == 0);
		CHECKF(bad == 0, "context %d: FPU state changed %ld times",
		       k, bad);
	}
}

static uint8_t fresh[2][512] __attribute__((aligned(16)));

static void exit_fn(void *arg)
{
	(void)arg;
	context_exit(0);
}

/* Dirty every XMM register, MXCSR (round toward zero, status flags)
 * and the x87 control word, then yield or exit with them so. */
static long dirties(void *arg)
{
	struct fpu_image in, out;

	image_fill(&in, 0xA5, 0x7F80 | 0x3F, 0x027F);
	fpu_fill_call(&in, arg ? exit_fn : yield_fn, NULL, &out);
	return image_same(&in, &out) ? 0 : 1;            /* after the yield */
}

static void new_context_never_sees_another_s_fpu_state(void)
{
	ctx_id_t d1, f1, d2, f2;
	long r = -1;

	memset(fresh, 0xEE, sizeof fresh);
	d1 = context_spawn(dirties, NULL, "dirty-yield", 0);
	f1 = context_spawn(fxsave_entry, fresh[0], "fresh", 0);
	CHECK(context_join(d1, &r) == 0);
	CHECKF(r == 0, "the dirty context's own state changed");
	CHECK(context_join(f1, NULL) == 0);
	check_clean(fresh[0], "after a yield");
	d2 = context_spawn(dirties, (void *)1, "dirty-exit", 0);
	f2 = context_spawn(fxsave_entry, fresh[1], "fresh", 0);
	CHECK(context_join(d2, NULL) == 0 && context_join(f2, NULL) == 0);
	check_clean(fresh[1], "after an exit");
}

/* ---- Several CPUs ---- */

#define PER_CPU 3
#define CPU_ROUNDS 20

struct seen {
	unsigned cpu;            /* the CPU it belongs to */
	unsigned wrong_cpu;      /* turns it found itself elsewhere */
	pthread_t wrong_thread;  /* nonzero: it ran on another thread */
};

static struct seen seen[HOST_MAX_CPUS][PER_CPU];
static int cpu_log[HOST_MAX_CPUS][PER_CPU * CPU_ROUNDS];
static int cpu_log_len[HOST_MAX_CPUS];
static volatile int arrived[HOST_MAX_CPUS];

/* Each waits until all three of its CPU are there, then logs its
 * turns: the CPU's log must repeat one cycle of its three contexts
 * (the cycle's order is the order in which they reached the CPU, which
 * spawns from another CPU do not fix). */
static long on_its_cpu(void *arg)
{
	int k = (int)(uintptr_t)arg % PER_CPU;
	unsigned cpu = (unsigned)(uintptr_t)arg / PER_CPU;
	struct seen *s = &seen[cpu][k];

	arrived[cpu]++;                 /* only this CPU's contexts */
	while (arrived[cpu] < PER_CPU)
		context_yield();
	for (int i = 0; i < CPU_ROUNDS; i++) {
		if (ctx_cpu_this()->index != cpu)
			s->wrong_cpu++;
		if (!pthread_equal(pthread_self(), host_thread_of[cpu]))
			s->wrong_thread = pthread_self();
		cpu_log[cpu][cpu_log_len[cpu]++] = k;
		context_yield();
	}
	return (long)cpu;
}

static void contexts_on_every_cpu_run_there_in_turn(void)
{
	ctx_id_t id[HOST_MAX_CPUS][PER_CPU];
	int ncpu = 4;

	host_cpus_start(ncpu);
	for (int c = 0; c < ncpu; c++)
		for (int k = 0; k < PER_CPU; k++)
			id[c][k] = context_spawn(on_its_cpu,
				(void *)(uintptr_t)(c * PER_CPU + k), "cpu", c);
	for (int c = 0; c < ncpu; c++)
		for (int k = 0; k < PER_CPU; k++) {
			long r = -1;

			CHECK(context_join(id[c][k], &r) == 0 && r == c);
			CHECKF(seen[c][k].wrong_cpu == 0 &&
			       seen[c][k].wrong_thread == 0,
			       "CPU %d's context %d ran elsewhere", c, k);
		}
	for (int c = 0; c < ncpu; c++) {           /* a fixed cycle */
		int in_first[PER_CPU] = { 0 };

		CHECK(cpu_log_len[c] == PER_CPU * CPU_ROUNDS);
		for (int i = 0; i < PER_CPU; i++)
			in_first[cpu_log[c][i]]++;
		for (int k = 0; k < PER_CPU; k++)
			CHECKF(in_first[k] == 1, "CPU %d: context %d had %d "
			       "of the first %d turns", c, k, in_first[k],
			       PER_CPU);
		for (int i = PER_CPU; i < cpu_log_len[c]; i++)
			CHECKF(cpu_log[c][i] == cpu_log[c][i % PER_CPU],
			       "CPU %d: turn %d went to %d, not %d", c, i,
			       cpu_log[c][i], cpu_log[c][i % PER_CPU]);
	}
}

/* A joiner on CPU 0 waits for a context on CPU 2, which waits for one
 * on CPU 3: the wake-ups cross CPUs through inboxes and kicks. */
static volatile int released;

static long waits_for_release(void *arg)
{
	(void)arg;
	while (!released)
		context_yield();
	return 2;
}

static long releases_later(void *arg)
{
	(void)arg;
	for (int i = 0; i < 1000; i++)
		context_yield();
	released = 1;
	return 3;
}

static void join_across_cpus_wakes_the_joiner(void)
{
	long before = host_kicks, r2 = 0, r3 = 0;
	ctx_id_t a, b;

	host_cpus_start(4);
	a = context_spawn(waits_for_release, NULL, "waiter", 2);
	b = context_spawn(releases_later, NULL, "releaser", 3);
	CHECK(context_join(a, &r2) == 0 && r2 == 2);
	CHECK(context_join(b, &r3) == 0 && r3 == 3);
	CHECK(context_current()->state == CTX_RUNNING);
	printf("  (%ld kicks)\n", host_kicks - before);
}

/* ---- Leaks and failures ---- */

struct baseline {
	long allocs, stacks;
	uint32_t live, chunks;
};

static struct baseline now(void)
{
	struct context_stats s;

	context_get_stats(&s);
	return (struct baseline){ host_allocs, host_stacks, s.live,
				  s.chunks };
}

static bool at(struct baseline a, struct baseline b)
{
	CHECKF(a.allocs == b.allocs && a.stacks == b.stacks &&
	       a.live == b.live && a.chunks == b.chunks,
	       "allocations %ld, stacks %ld, ids %u, chunks %u; were %ld "
	       "%ld %u %u", b.allocs, b.stacks, b.live, b.chunks, a.allocs,
	       a.stacks, a.live, a.chunks);
	return a.allocs == b.allocs;
}

#define CYCLES 10000

static void spawn_exit_join_cycles_leave_nothing(void)
{
	struct baseline before;
	long bad = 0;
	ctx_id_t batch[16];

	host_cpus_start(4);
	for (int i = 0; i < 16; i++)               /* warm up the table */
		batch[i] = context_spawn(give_back, NULL, "warm", 0);
	for (int i = 0; i < 16; i++)
		context_join(batch[i], NULL);
	before = now();
	for (int i = 0; i < CYCLES; i++) {
		long r = -1;
		ctx_id_t id = context_spawn(give_back, (void *)(uintptr_t)i,
					    "cycle", (unsigned)(i % 4));

		bad += id <= 0 || context_join(id, &r) != 0 || r != i;
		if (i % 1000 == 999) {             /* and a batch */
			for (int k = 0; k < 16; k++)
				batch[k] = context_spawn(give_back, NULL,
					"batch", (unsigned)(k % 4));
			for (int k = 0; k < 16; k++)
				bad += context_join(batch[k], NULL) != 0;
		}
	}
	CHECKF(bad == 0, "%ld cycles went wrong", bad);
	at(before, now());
	printf("  (%d spawn/exit/join cycles, and %d batches of 16, on 4 "
	       "CPUs)\n", CYCLES, CYCLES / 1000);
}

#define MANY 1000

static void a_thousand_contexts_at_once(void)
{
	static ctx_id_t id[MANY];
	struct baseline before = now();
	long sum = 0, r;

	hold = 1;
	for (int i = 0; i < MANY; i++)
		id[i] = context_spawn(held, NULL, "many",
				      (unsigned)(i % host_ncpus));
	for (int i = 0; i < MANY; i++)
		CHECK(id[i] > 0);
	CHECK(host_stacks == before.stacks + MANY);
	hold = 0;
	for (int i = 0; i < MANY; i++)
		if (context_join(id[i], &r) == 0)
			sum += r;
	CHECK(sum == MANY);
	CHECK(host_stacks == before.stacks);
}

static void spawn_without_memory_leaves_nothing(void)
{
	static ctx_id_t id[300];
	struct baseline before = now(), full;
	int n = 0;

	host_fail_in = 0;                          /* the context */
	CHECK(context_spawn(give_back, NULL, "x", 0) == CTX_E_NOMEM);
	at(before, now());
	host_fail_stack_in = 0;                    /* its stack */
	CHECK(context_spawn(give_back, NULL, "x", 0) == CTX_E_NOMEM);
	at(before, now());
	CHECK(context_spawn(give_back, NULL, "x", 999) == CTX_E_CPU);
	CHECK(context_spawn(give_back, NULL, "x", 7) == CTX_E_CPU);
	at(before, now());
	/* A new chunk of the table: fill the slots there are first. */
	hold = 1;
	while (now().live < CTX_CHUNK_SLOTS * now().chunks - 1 && n < 300)
		id[n++] = context_spawn(held, NULL, "fill", 0);
	full = now();
	host_fail_in = 1;                          /* the chunk */
	CHECK(context_spawn(give_back, NULL, "x", 0) == CTX_E_NOMEM);
	at(full, now());
	hold = 0;
	for (int i = 0; i < n; i++)
		context_join(id[i], NULL);
	host_fail_in = host_fail_stack_in = -1;
}

static struct spinlock some_lock = SPINLOCK_INIT("some");

static void yield_holding_a_lock_panics(void)
{
	spin_lock(&some_lock);
	EXPECT_PANIC(context_yield(), "context %ld 'driver' switches "
		     "holding 1 spinlocks", context_current()->id);
	host_irq_off = 0;
	spin_unlock(&some_lock);
}

/* ---- A stack overflow names the context ---- */

static int overflow_pipe = -1;

static void on_segv(int sig, siginfo_t *info, void *uc)
{
	char buf[160];
	const char *d = context_describe_addr(
		(uint64_t)(uintptr_t)info->si_addr, buf, sizeof buf);

	(void)sig;
	(void)uc;
	if (!d)
		d = "(no context's stack)";
	if (write(overflow_pipe, d, strlen(d)) < 0)
		_exit(2);
	_exit(0);
}

static int recurse(int n)
{
	volatile char pad[200];

	pad[0] = (char)n;
	if (n > 1000000)                 /* never: the guard comes first */
		return 0;
	return recurse(n + 1) + pad[0];
}

static long overflows(void *arg)
{
	(void)arg;
	return recurse(0);
}

static void stack_overflow_report_names_the_context(void)
{
	int fds[2], status;
	char got[160] = "";
	ssize_t n;
	pid_t pid;
	ctx_id_t id;

	CHECK(pipe(fds) == 0);
	pid = fork();
	if (pid == 0) {                            /* only CPU 0 here */
		static char alt[65536];
		stack_t ss = { .ss_sp = alt, .ss_size = sizeof alt };
		struct sigaction sa = { .sa_sigaction = on_segv,
					.sa_flags = SA_SIGINFO | SA_ONSTACK };

		close(fds[0]);
		overflow_pipe = fds[1];
		sigaltstack(&ss, NULL);
		sigaction(SIGSEGV, &sa, NULL);
		id = context_spawn(overflows, NULL, "recursive", 0);
		context_join(id, NULL);
		_exit(3);                          /* not reached */
	}
	close(fds[1]);
	n = read(fds[0], got, sizeof got - 1);
	got[n > 0 ? n : 0] = '\0';
	close(fds[0]);
	waitpid(pid, &status, 0);
	CHECKF(WIFEXITED(status) && WEXITSTATUS(status) == 0,
	       "child status %#x", status);
	CHECKF(check_has(got, "the guard page below the stack of context ")
	       && check_has(got, "'recursive' (CPU 0)"), "report: %s", got);
	printf("  (the report: %s)\n", got);
}

static void describe_names_stacks_and_guards(void)
{
	ctx_id_t id;
	struct context *c;
	char buf[120], want[120];

	hold = 1;
	id = context_spawn(held, NULL, "sleeper", 0);
	c = ctx_table_get(&all_contexts, id);
	snprintf(want, sizeof want, "in the stack of context %ld 'sleeper' "
		 "(CPU 0)", id);
	CHECK(context_describe_addr(c->kstack.top - 8, buf, sizeof buf) &&
	      strcmp(buf, want) == 0);
	snprintf(want, sizeof want, "the guard page below the stack of "
		 "context %ld 'sleeper' (CPU 0)", id);
	CHECK(context_describe_addr(c->kstack.bottom - 1, buf, sizeof buf)
	      && strcmp(buf, want) == 0);
	CHECK(context_describe_addr(c->kstack.bottom - 4097, buf,
				    sizeof buf) == NULL ||
	      !check_has(buf, "'sleeper'"));
	CHECK(context_describe_addr(12, buf, sizeof buf) == NULL);
	ctx_table_put(&all_contexts, id);
	hold = 0;
	CHECK(context_join(id, NULL) == 0);
}

/**
 * ## Contexts in every state, for gdb
 *
 * `make gdbtest` stops this program in gdb_stop_here() and checks what
 * gdb/contexts.py says. The case builds: a context that has yielded
 * ("held", RUNNABLE), one blocked in join ("first-joiner"), one that
 * never ran ("never-ran"), one that exited and waits to be joined
 * ("zombie"), besides the driver (RUNNING) and the idle context. The
 * case checks the states itself too, and then lets them all end.
 */
__attribute__((noinline)) void gdb_stop_here(void)
{
	__asm__ volatile("" : : : "memory");
}

static int state_of(ctx_id_t id)
{
	struct context *c = ctx_table_get(&all_contexts, id);
	int state = c ? c->state : -1;

	if (c)
		ctx_table_put(&all_contexts, id);
	return state;
}

static void contexts_in_every_state(void)
{
	ctx_id_t held_id, zombie, joiner, never;
	long r = 0;

	hold = 1;
	held_id = context_spawn(held, NULL, "held", 0);
	zombie = context_spawn(give_back, (void *)3, "zombie", 0);
	while (!gone(zombie))
		context_yield();
	joined_by_other = held_id;
	joiner = context_spawn(joins, NULL, "first-joiner", 0);
	while (state_of(joiner) != CTX_BLOCKED)
		context_yield();
	never = context_spawn(give_back, (void *)4, "never-ran", 0);
	CHECK(state_of(held_id) == CTX_RUNNABLE);
	CHECK(state_of(zombie) == CTX_EXITED);
	CHECK(state_of(joiner) == CTX_BLOCKED);
	CHECK(state_of(never) == CTX_RUNNABLE);
	CHECK(context_current()->state == CTX_RUNNING);
	CHECK(ctx_cpu_this()->idle->state == CTX_RUNNABLE);
	gdb_stop_here();
	hold = 0;
	CHECK(context_join(never, &r) == 0 && r == 4);
	CHECK(context_join(zombie, &r) == 0 && r == 3);
	CHECK(context_join(joiner, &r) == 0 && r == 1);
}

/* ---- The FPU modes ---- */

/* The host's choice, before any context exists: every area has room
 * for XSAVE. */
static void fpu_setup_host(void)
{
	struct fpu_config c;

	if (fpu_host_config(&c) != 0)
		abort();
	fpu_apply(&c);
}

/* Run the FPU cases with mode (the areas are large enough for both:
 * FXSAVE's layout is the first 512 bytes of XSAVE's). */
static void fpu_cases(uint32_t mode, const char *name)
{
	uint32_t chosen = fpu_mode;

	if (mode == FPU_XSAVE && chosen != FPU_XSAVE) {
		printf("  (this CPU has no XSAVE: the %s cases are left "
		       "out)\n", name);
		return;
	}
	fpu_mode = mode;
	CASE("fpu_state_survives_yields_%s", name)
		host_run(fpu_state_survives_yields);
	CASE("new_context_never_sees_another_s_fpu_state_%s", name)
		host_run(new_context_never_sees_another_s_fpu_state);
	fpu_mode = chosen;
}

int main(void)
{
	fpu_setup_host();
	host_cpu0();
	RUN(idle_context_is_the_first);
	RUN_CTX(spawn_runs_fn_and_join_returns_its_result);
	RUN_CTX(exit_from_deep_inside_ends_the_context);
	RUN_CTX(new_context_starts_on_an_aligned_stack);
	RUN_CTX(join_errors);
	RUN_CTX(contexts_in_every_state);
	RUN(strerror_names_every_error);
	RUN_CTX(two_contexts_ping_pong);
	RUN_CTX(contexts_take_turns_in_order);
	RUN_CTX(callee_saved_registers_survive_yields);
	fpu_cases(FPU_FXSAVE, "fxsave");
	fpu_cases(FPU_XSAVE, "xsave");
	RUN_CTX(describe_names_stacks_and_guards);
	RUN_CTX(yield_holding_a_lock_panics);
	RUN_CTX(spawn_without_memory_leaves_nothing);
	RUN_CTX(stack_overflow_report_names_the_context);
	RUN_CTX(contexts_on_every_cpu_run_there_in_turn);
	RUN_CTX(join_across_cpus_wakes_the_joiner);
	RUN_CTX(spawn_exit_join_cycles_leave_nothing);
	RUN_CTX(a_thousand_contexts_at_once);
	host_cpus_stop();
	return check_done("test_context");
}
