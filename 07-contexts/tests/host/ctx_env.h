/*
 * ctx_env.h: the kernel's part, for kernel/context.c on the host. The
 * host test (test_context.c) and the benchmark (bench_switch.c)
 * include it after context.c.
 *
 * - CPUs are threads: the program's main thread is CPU 0, and
 *   host_cpus_start(n) starts CPUs 1..n-1, each running context_init()
 *   and then its idle loop. ctx_cpu_this() is a thread-local variable;
 *   "interrupts off" is a thread-local flag, checked where context.c
 *   requires it; a kick is a semaphore post, the idle wait a wait on
 *   the CPU's semaphore (what `sti; hlt` and an IPI are in the kernel).
 * - Memory: kmalloc()/kmalloc_aligned()/kfree() are the C library's,
 *   counted, with a switch that makes the Nth allocation from now fail.
 * - Stacks: kstack_alloc() maps pages with mmap, the lowest one
 *   PROT_NONE, the guard page: an overflow faults, as in the kernel.
 * - Spinlocks: real ones between threads (the context table uses one),
 *   each thread a "CPU" of its own for spin_held().
 * - ctx_panic() jumps back into a case that expected it
 *   (panic_hook.h), or fails the case.
 *
 * AddressSanitizer is not told about the stack switches (its fiber
 * calls would have to sit in context.c). It says so once per program,
 * "ASan is ignoring requested __asan_handle_no_return", when a context
 * calls a function that does not return (context_exit) on a stack it
 * does not know; kstack_free() below clears what such a context left
 * in ASan's shadow memory, which is the one thing that could follow.
 */
#ifndef CTX_ENV_H
#define CTX_ENV_H

#include <pthread.h>
#include <semaphore.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>

#ifdef __SANITIZE_ADDRESS__
#include <sanitizer/asan_interface.h>
#endif

#include "host_spinlock.h"

#define HOST_PAGE 4096ul
#define HOST_MAX_CPUS 8

static __thread struct ctx_cpu *host_cpu;   /* ctx_cpu_this() */
static __thread int host_irq_off;           /* "IF clear" */
static sem_t host_wake[HOST_MAX_CPUS];
static long host_kicks, host_irq_errors;    /* atomic */

struct ctx_cpu *ctx_cpu_this(void)
{
	return host_cpu;
}

uint64_t ctx_irq_save(void)
{
	uint64_t was_on = !host_irq_off;

	host_irq_off = 1;
	return was_on;
}

void ctx_irq_restore(uint64_t saved)
{
	if (saved)
		host_irq_off = 0;
}

void ctx_kick(struct ctx_cpu *cpu)
{
	__atomic_fetch_add(&host_kicks, 1, __ATOMIC_RELAXED);
	sem_post(&host_wake[cpu->index]);
}

void ctx_idle_wait(void)
{
	if (!host_irq_off)
		__atomic_fetch_add(&host_irq_errors, 1, __ATOMIC_RELAXED);
	while (sem_wait(&host_wake[host_cpu->index]) != 0)
		;                              /* EINTR: wait again */
}

uint64_t ctx_kernel_cr3(void)
{
	return 0x1000;       /* any value: the host build never loads it */
}

/* ---- Memory, counted, with failures on demand ---- */

static long host_allocs, host_stacks;       /* live now; atomic */
static long host_fail_in = -1;              /* fail the allocation after
					       this many more (0: next) */
static long host_fail_stack_in = -1;        /* the same for stacks */

static bool host_fail(long *countdown)
{
	long n = __atomic_load_n(countdown, __ATOMIC_RELAXED);

	if (n < 0)
		return false;
	__atomic_store_n(countdown, n - 1, __ATOMIC_RELAXED);
	return n == 0;
}

void *kmalloc_aligned(size_t size, size_t align)
{
	void *p;

	if (host_fail(&host_fail_in))
		return NULL;
	p = aligned_alloc(align, (size + align - 1) / align * align);
	if (p)
		__atomic_fetch_add(&host_allocs, 1, __ATOMIC_RELAXED);
	return p;
}

void *kmalloc(size_t size)
{
	return kmalloc_aligned(size, 16);
}

void kfree(void *p)
{
	if (!p)
		return;
	__atomic_fetch_sub(&host_allocs, 1, __ATOMIC_RELAXED);
	free(p);
}

/* Lasting memory is the same counted memory on the host. */
void *ctx_alloc_lasting(size_t bytes)
{
	void *p = kmalloc_aligned(bytes, 64);

	if (p)
		memset(p, 0, bytes);
	return p;
}

void ctx_free_lasting(void *p, size_t bytes)
{
	(void)bytes;
	kfree(p);
}

/* The benchmark can keep freed stacks for reuse, one CPU only: then
 * it measures context.c, not mmap and munmap (which cost this host
 * more than a hundred microseconds a pair). */
static bool host_stack_cache;
static struct kstack host_cached[64];
static int host_ncached;

int kstack_alloc(unsigned pages, const char *name, struct kstack *out)
{
	size_t bytes = (pages + 1) * HOST_PAGE;
	uint8_t *base;

	(void)name;
	if (host_fail(&host_fail_stack_in))
		return -1;
	if (host_stack_cache && host_ncached > 0) {
		*out = host_cached[--host_ncached];
		__atomic_fetch_add(&host_stacks, 1, __ATOMIC_RELAXED);
		return 0;
	}
	base = mmap(NULL, bytes, PROT_READ | PROT_WRITE,
		    MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (base == MAP_FAILED || mprotect(base, HOST_PAGE, PROT_NONE))
		return -1;
	out->bottom = (uint64_t)(uintptr_t)base + HOST_PAGE;
	out->top = (uint64_t)(uintptr_t)base + bytes;
	__atomic_fetch_add(&host_stacks, 1, __ATOMIC_RELAXED);
	return 0;
}

void kstack_free(const struct kstack *ks)
{
	void *base = (void *)(uintptr_t)(ks->bottom - HOST_PAGE);
	size_t bytes = ks->top - ks->bottom + HOST_PAGE;

	if (host_stack_cache && host_ncached < 64) {
		host_cached[host_ncached++] = *ks;
		__atomic_fetch_sub(&host_stacks, 1, __ATOMIC_RELAXED);
		return;
	}

#ifdef __SANITIZE_ADDRESS__
	/* Frames of a context that exited never returned, and left their
	 * redzones marked in ASan's shadow memory: clear them, or the
	 * next mapping at this address would inherit them. */
	__asan_unpoison_memory_region((void *)(uintptr_t)ks->bottom,
				      ks->top - ks->bottom);
#endif
	munmap(base, bytes);
	__atomic_fetch_sub(&host_stacks, 1, __ATOMIC_RELAXED);
}

/* ---- Panics ---- */

#ifdef PANIC_HOOK_H
_Noreturn void ctx_panic(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	panic_hook(fmt, ap);
}
#else
_Noreturn void ctx_panic(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	abort();
}
#endif

/* ---- CPUs ---- */

/* The current thread's stack, as a struct kstack (for reports). */
static struct kstack host_thread_stack(void)
{
	pthread_attr_t a;
	void *base;
	size_t size;
	struct kstack ks = { 0, 0 };

	if (pthread_getattr_np(pthread_self(), &a) == 0) {
		pthread_attr_getstack(&a, &base, &size);
		ks.bottom = (uint64_t)(uintptr_t)base;
		ks.top = ks.bottom + size;
		pthread_attr_destroy(&a);
	}
	return ks;
}

/* Make the running thread CPU index: context_init(), interrupts off
 * while it runs, as on a real CPU. */
static void host_cpu_become(int index, const char *name)
{
	struct kstack ks = host_thread_stack();

	host_cpu_index = index;
	sem_init(&host_wake[index], 0, 0);
	host_irq_off = 1;
	host_cpu = context_init((unsigned)index, NULL, &ks, name);
	host_irq_off = 0;
	if (!host_cpu) {
		fprintf(stderr, "context_init(%d) failed\n", index);
		abort();
	}
}

static int host_ncpus = 1;
static volatile int host_stop;
static pthread_t host_threads[HOST_MAX_CPUS];
static int host_ready;                      /* atomic */
static pthread_t host_thread_of[HOST_MAX_CPUS];

static void *host_cpu_main(void *arg)
{
	static const char *const names[HOST_MAX_CPUS] = {
		"idle/0", "idle/1", "idle/2", "idle/3",
		"idle/4", "idle/5", "idle/6", "idle/7",
	};
	int index = (int)(uintptr_t)arg;

	host_cpu_become(index, names[index]);
	__atomic_fetch_add(&host_ready, 1, __ATOMIC_SEQ_CST);
	while (!host_stop)
		context_idle_once();
	return NULL;
}

/* CPU 0, on the main thread. Once, before the first case. */
static void host_cpu0(void)
{
	host_thread_of[0] = pthread_self();
	host_cpu_become(0, "idle/0");
}

/* CPUs 1 .. n-1, each a thread in its idle loop, for good. */
static __attribute__((unused)) void host_cpus_start(int n)
{
	for (int i = host_ncpus; i < n; i++) {
		pthread_create(&host_threads[i], NULL, host_cpu_main,
			       (void *)(uintptr_t)i);
		host_thread_of[i] = host_threads[i];
	}
	while (__atomic_load_n(&host_ready, __ATOMIC_SEQ_CST) < n - 1)
		sched_yield();
	if (n > host_ncpus)
		host_ncpus = n;
}

/* Stop them (their idle loops end at the next kick). */
static __attribute__((unused)) void host_cpus_stop(void)
{
	host_stop = 1;
	for (int i = 1; i < host_ncpus; i++) {
		sem_post(&host_wake[i]);
		pthread_join(host_threads[i], NULL);
	}
	host_ncpus = 1;
}

#endif /* CTX_ENV_H */
