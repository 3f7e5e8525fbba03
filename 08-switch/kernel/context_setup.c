/*
 * context_setup.c: the kernel's side of contexts: the hooks context.c
 * calls (this CPU's contexts, interrupts, the wake-up IPI, the idle
 * wait, the kernel's address space, panics) and the per-CPU set-up.
 */
#include <stdarg.h>

#include "boot_alloc.h"
#include "context.h"
#include "fpu.h"
#include "heap.h"
#include "gdt.h"
#include "intr.h"
#include "kprintf.h"
#include "lapic.h"
#include "panic.h"
#include "percpu.h"
#include "string.h"
#include "trap.h"
#include "vm.h"
#include "x86.h"

/**
 * ## The kernel's side of contexts
 *
 * context.c is pure logic: what it needs from the machine it asks for
 * through a few hooks (end of context.h), and this file answers them
 * for the kernel (the host test answers them with threads).
 *
 * - This CPU's contexts are `this_cpu()->ctx`: one load through GS.
 * - Interrupts off and on are CLI and STI, with the old state kept by
 *   the caller, in its own local variable: so the state never has to
 *   cross a switch, and each context gets back the state it had.
 * - Waking a CPU is the scheduler's reschedule IPI on vector 0xF8
 *   (`VEC_RESCHED`, lapic.h; chapter 07's wake-up IPI), sent and
 *   handled by sched_setup.c.
 * - Sleeping is `sti; hlt` as one step (intr.h): an IPI that arrives
 *   after the idle loop last looked at its run queue is pending at the
 *   STI and ends the HLT at once, so it is never lost.
 *
 * Each CPU's first context is made by the boot CPU, for itself and
 * then, in smp_start()'s first step, for each other CPU before it
 * starts: a CPU that has just woken should need no lock and no memory
 * (smp.c). With 63 CPUs queued on the table's lock, one after another,
 * under a loaded host, some missed the 1 s start-up limit of smp.c and
 * were started a second time while holding it.
 */

/* switch.asm writes TSS.RSP0 at this offset. */
_Static_assert(__builtin_offsetof(struct tss, rsp) == TSS_RSP0, "RSP0");

struct ctx_cpu *ctx_cpu_this(void)
{
	return this_cpu()->ctx;
}

uint64_t ctx_irq_save(void)
{
	bool on = intr_enabled();

	cli();
	return on;
}

void ctx_irq_restore(uint64_t saved)
{
	if (saved)
		sti();
}

/* `sti; hlt` as one step (intr.h), then interrupts off again: an IPI
 * that arrived after the idle loop last looked at its run queue is
 * pending and ends the HLT at once. */
void ctx_idle_wait(void)
{
	intr_wait();
	cli();
}

/**
 * ### Memory that lasts
 *
 * The boot CPU makes every CPU's first context before any other CPU
 * runs (context_setup_cpu(), from kmain and from smp_start()'s step 1),
 * so until context_setup_done() it is alone and takes the memory from
 * boot_alloc(): each CPU's struct ctx_cpu and first context, and the
 * table's first chunk (256 ids), are the boot's memory, as each struct
 * cpu is, and the heap holds only what comes and goes (its self-tests
 * check that it empties). A chunk needed later (more than 255 contexts
 * alive) comes from the heap, and stays.
 */
static bool setup_done;                 /* other CPUs may run now */

void *ctx_alloc_lasting(size_t bytes)
{
	void *p;

	bytes = (bytes + 63) & ~(size_t)63;
	if (!setup_done)                    /* the boot CPU, alone */
		return boot_alloc(bytes, 64);
	p = kmalloc_aligned(bytes, 64);
	if (p)
		memset(p, 0, bytes);
	return p;
}

/* Only heap memory goes back: the boot's is never freed (and a failed
 * set-up of a first context stops the boot). */
void ctx_free_lasting(void *p, size_t bytes)
{
	uint64_t va = (uint64_t)p;

	(void)bytes;
	if (va >= HEAP_BASE && va < HEAP_BASE + HEAP_WINDOW)
		kfree(p);
}

uint64_t ctx_kernel_cr3(void)
{
	return kernel_pml4;
}

_Noreturn void ctx_panic(const char *fmt, ...)
{
	char msg[160];
	va_list ap;

	va_start(ap, fmt);
	kvsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	panic("%s", msg);
}

/**
 * ### A CPU's first context
 *
 * `context_setup_cpu(cpu)` runs on the boot CPU, for itself and then
 * for each other CPU before it starts (smp.c, step 1), so that a CPU
 * that has just woken needs no lock and no memory: cpu's first
 * context, named idle/N, on cpu's own kernel stack, which that CPU
 * runs as soon as it enters its idle loop, and its run queue
 * (sched_setup_cpu()), with that context as its idle context, never
 * queued. `context_setup_done()` follows the last one: from then on
 * other CPUs run, and lasting memory comes from the heap.
 */
void context_setup_cpu(struct cpu *cpu)
{
	char name[CTX_NAME_LEN], fpu[64];

	ksnprintf(name, sizeof name, "idle/%u", cpu->index);
	cpu->ctx = context_init(cpu->index, &cpu->tables->tss, &cpu->kstack,
				name);
	if (!cpu->ctx)
		panic("no memory for CPU %u's first context", cpu->index);
	sched_setup_cpu(cpu, &cpu->ctx->first->se);   /* its run queue */
	if (cpu->index == 0)
		kprintf("contexts: FPU state by %s\n",
			fpu_describe(fpu, sizeof fpu));
}

void context_setup_done(void)
{
	setup_done = true;
}
