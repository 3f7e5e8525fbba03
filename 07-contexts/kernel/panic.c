/*
 * panic.c: how the kernel stops: halt_forever, qemu_exit and panic,
 * which from chapter 06 on also stops every other CPU.
 */
#include "panic.h"
#include "bootinfo.h"
#include "console.h"
#include "kprintf.h"
#include "lapic.h"
#include "percpu.h"
#include "x86.h"
#include <stdarg.h>

/* Interrupts off, then HLT in a loop: HLT alone would return after an
 * NMI or a system-management interrupt. */
_Noreturn void halt_forever(void)
{
	for (;;) {
		cli();
		hlt();
	}
}

/**
 * ## Leaving QEMU from inside the guest
 *
 * The tests start QEMU with an `isa-debug-exit` device on port 0xF4.
 * Writing a byte v to it ends QEMU with exit status `(v << 1) | 1`, so
 * the test runner learns the verdict from QEMU's exit status: 33 means
 * "passed", 35 "failed". Outside the tests the device is absent, the
 * write goes nowhere, and we halt with the last message on the screen.
 * Any CPU may write it.
 */
_Noreturn void qemu_exit(bool pass)
{
	outb(DEBUG_EXIT_PORT, pass ? DEBUG_EXIT_PASS : DEBUG_EXIT_FAIL);
	halt_forever();
}

/**
 * ## A panic on one CPU stops them all
 *
 * When one CPU panics, the others must stop too: they may be in the
 * middle of using the very state that is broken, and their output
 * would mix with the report. The interrupt that stops them must work
 * even on a CPU that has interrupts off, which a CPU stuck waiting
 * for a lock has: that is the *non-maskable interrupt* (NMI), which
 * the local APIC sends as an IPI with delivery mode 4 (lapic.c).
 *
 * 1. The first CPU to panic claims the panic, with an atomic
 *    compare-and-exchange on `panic_cpu`. A second CPU that panics
 *    meanwhile (it happens: one bug often trips two CPUs) finds it
 *    claimed and halts; the first one's NMI reaches it there.
 * 2. It sends an NMI to every other online CPU. The NMI handler
 *    (trap.c) sees the panic, marks its CPU `stopped` and halts with
 *    interrupts off, for good: NMIs are blocked until an `iretq` that
 *    never comes.
 * 3. It waits, briefly, until each has marked itself (a CPU without a
 *    working NMI path would not), and counts them.
 * 4. It takes the console over (console.c): from here its lines go out
 *    without the console lock, which a stopped CPU may hold forever.
 * 5. The report, and the verdict through isa-debug-exit.
 *
 * A panic inside the panic (the report itself faults) finds the panic
 * claimed by its own CPU and goes on.
 */
static volatile int panic_cpu = -1;

bool panic_in_progress(void)
{
	return panic_cpu >= 0;
}

/* Steps 1-4. Returns how many CPUs were stopped. Interrupts off. */
unsigned panic_begin(void)
{
	int me = percpu_ready ? (int)this_cpu()->index : 0, was = -1;
	unsigned stopped = 0, sent = 0;
	uint64_t start;

	if (!__atomic_compare_exchange_n(&panic_cpu, &was, me, false,  /* 1. */
					 __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE)) {
		if (was != me)
			halt_forever();
		return 0;                          /* a panic in the panic */
	}
	for (unsigned i = 0; percpu_ready && i < cpu_count(); i++) { /* 2. */
		struct cpu *c = cpu_get(i);

		if ((int)i != me && c->state == CPU_ONLINE) {
			lapic_send_nmi(c->apic_id);
			sent++;
		}
	}
	start = rdtsc();                                         /* 3. */
	while (stopped < sent && rdtsc() - start < 2000000000ull) {
		stopped = 0;
		for (unsigned i = 0; i < cpu_count(); i++)
			stopped += cpu_get(i)->stopped != 0;
		cpu_relax();
	}
	console_panic();                                         /* 4. */
	return stopped;
}

/* The NMI handler's side of step 2, on every other CPU. */
_Noreturn void panic_stop_this_cpu(void)
{
	if (percpu_ready)
		this_cpu()->stopped = 1;
	halt_forever();
}

/* Print where the panic came from and why, then stop with "failed".
 * Interrupts go off first, so nothing else runs on this CPU. */
_Noreturn void panic_at(const char *file, int line, const char *fmt, ...)
{
	va_list ap;
	unsigned stopped;

	cli();
	stopped = panic_begin();
	kprintf("\nPANIC at %s:%d: ", file, line);
	va_start(ap, fmt);
	kvprintf(fmt, ap);
	va_end(ap);
	kprintf("\n");
	if (percpu_ready && cpu_count() > 1)
		kprintf("  on CPU %u; %u other CPU%s stopped\n",
			this_cpu()->index, stopped, stopped == 1 ? "" : "s");
	qemu_exit(false);
}
