/*
 * lapic_tests.c: self-tests of the local APIC: its registers as
 * lapic_cpu_init() left them, IPIs to this CPU, the error interrupt,
 * the ICR encodings; a scenario that sends an IPI to another CPU.
 */
#include "acpi_setup.h"
#include "clock.h"
#include "intr.h"
#include "kprintf.h"
#include "ktest.h"
#include "lapic.h"
#include "percpu.h"
#include "trap.h"
#include "x86.h"

/* The registers say what lapic.c meant: enabled on 0xFF, errors on
 * 0xEF, LINT0 masked, LINT1 an NMI (the MADT's NMI record), all
 * classes accepted; the base is the MSR's with the right mask. */
SELFTEST(lapic_registers)
{
	uint64_t msr = rdmsr(MSR_IA32_APIC_BASE);

	if ((msr & APIC_BASE_ADDR) != lapic_base() ||
	    !(msr & APIC_BASE_ENABLE) || !(msr & APIC_BASE_BSP))
		return ktest_why("IA32_APIC_BASE %lx, base %lx",
				 (unsigned long)msr,
				 (unsigned long)lapic_base());
	if (lapic_read(LAPIC_SVR) != (SVR_ENABLE | VEC_SPURIOUS))
		return ktest_why("SVR %x", lapic_read(LAPIC_SVR));
	if ((lapic_read(LAPIC_LVT_ERROR) & (LVT_MASKED | 0xFF)) !=
	    VEC_LAPIC_ERROR)
		return ktest_why("LVT error %x",
				 lapic_read(LAPIC_LVT_ERROR));
	if (!(lapic_read(LAPIC_LVT_LINT0) & LVT_MASKED))
		return ktest_why("LINT0 %x", lapic_read(LAPIC_LVT_LINT0));
	if ((lapic_read(LAPIC_LVT_LINT1) & (LVT_MASKED | 0x700)) !=
	    LVT_NMI)
		return ktest_why("LINT1 %x", lapic_read(LAPIC_LVT_LINT1));
	if (lapic_read(LAPIC_TPR) != 0)
		return ktest_why("TPR %x", lapic_read(LAPIC_TPR));
	return NULL;
}

/* The ICR values of the SDM's examples (vol. 3, "Interrupt Command
 * Register" and the MP initialisation sequence), destination field
 * apart. */
SELFTEST(lapic_icr_encodings)
{
	if (lapic_icr(ICR_FIXED, 0xFC) != 0x40FC ||
	    lapic_icr(ICR_NMI, 0xFC) != 0x4400 ||
	    lapic_icr(ICR_INIT, 0) != 0x4500 ||
	    lapic_icr(ICR_STARTUP, 0x08) != 0x4608)
		return ktest_why("fixed %x, NMI %x, INIT %x, SIPI %x",
				 lapic_icr(ICR_FIXED, 0xFC),
				 lapic_icr(ICR_NMI, 0xFC),
				 lapic_icr(ICR_INIT, 0),
				 lapic_icr(ICR_STARTUP, 0x08));
	return NULL;
}

/* The PIC's lines stay masked from chapter 03 on. */
SELFTEST(pic_stays_masked)
{
	uint8_t master = inb(0x21), slave = inb(0xA1);

	if (master != 0xFF || slave != 0xFF)
		return ktest_why("PIC masks %02x %02x", master, slave);
	return NULL;
}

static volatile uint64_t ipis, nmis;

static void count_ipi(struct trap_frame *f)
{
	(void)f;
	ipis++;
	lapic_eoi();
}

static void count_nmi(struct trap_frame *f)
{
	(void)f;
	nmis++;
}

/* A fixed IPI addressed to this CPU's APIC id arrives once interrupts
 * are on, exactly once, and leaves nothing in service after its EOI;
 * an NMI arrives with interrupts off. */
SELFTEST(lapic_ipi_to_self)
{
	trap_handler old_ipi = trap_set_handler(VEC_IPI_TEST, count_ipi);
	trap_handler old_nmi = trap_set_handler(T_NMI, count_nmi);
	const char *why = NULL;
	int sent_fixed, sent_nmi;

	ipis = nmis = 0;
	cli();
	sent_fixed = lapic_send_fixed(lapic_id(), VEC_IPI_TEST);
	if (ipis != 0)
		why = "the IPI arrived with interrupts off";
	clock_wait_change(&ipis, 0, IRQ_WAIT_MS);
	sent_nmi = lapic_send_nmi(lapic_id());
	clock_wait_change(&nmis, 0, IRQ_WAIT_MS);
	trap_set_handler(VEC_IPI_TEST, old_ipi);
	trap_set_handler(T_NMI, old_nmi);
	if (why)
		return why;
	if (sent_fixed != 0 || sent_nmi != 0)
		return ktest_why("send returned %d, %d", sent_fixed,
				 sent_nmi);
	if (ipis != 1 || nmis != 1)
		return ktest_why("fixed IPI %lu times, NMI %lu times",
				 (unsigned long)ipis, (unsigned long)nmis);
	for (int r = 0; r < 8; r++)
		if (lapic_read(LAPIC_ISR + 16 * r) != 0)
			return ktest_why("ISR %d is %x after the EOI", r,
					 lapic_read(LAPIC_ISR + 16 * r));
	return NULL;
}

/* A read of a reserved register (offset 0x3F0) is an "illegal
 * register address" error (ESR bit 7). Hardware raises the error
 * interrupt; QEMU 7.2 only sets the bit (lapic.c), so after 10 ms
 * without an interrupt the test raises vector 0xEF itself. Either way
 * the handler must run once and report bit 7. */
SELFTEST(lapic_error_reported)
{
	struct cpu *c = this_cpu();
	uint64_t errors = c->lapic_errors;
	bool by_hardware;

	(void)lapic_read(0x3F0);
	by_hardware = clock_wait_change(&c->lapic_errors, errors, 10);
	if (!by_hardware) {
		lapic_send_fixed(lapic_id(), VEC_LAPIC_ERROR);
		clock_wait_change(&c->lapic_errors, errors, IRQ_WAIT_MS);
	}
	kprintf("LAPIC: the error interrupt was raised by %s\n",
		by_hardware ? "the local APIC" : "the test");
	if (c->lapic_errors != errors + 1)
		return ktest_why("%lu error interrupts",
				 (unsigned long)(c->lapic_errors - errors));
	if (!(c->lapic_esr & (1u << 7)))
		return ktest_why("ESR %x", c->lapic_esr);
	return NULL;
}

/* -smp 4 or more: a fixed IPI on vector 0xFC to CPU 3, addressed by
 * its APIC id (4 with `-smp 6,sockets=2,cores=3`). CPU 3 is online and
 * idle, so it takes the interrupt at once; the handler notes which CPU
 * it ran on, by its struct cpu, and only CPU 3 may be the one. A gdb
 * test (tests/gdb/ipi.gdb) stops in the handler and finds itself in
 * gdb's thread 4, QEMU's fourth vCPU. */
static volatile int ipi_cpu = -1, ipi_count;

static void ipi_taken(struct trap_frame *f)
{
	(void)f;
	ipi_cpu = (int)this_cpu()->index;
	__atomic_fetch_add(&ipi_count, 1, __ATOMIC_RELAXED);
	lapic_eoi();
}

SCENARIO(ipi_to_ap, "a fixed IPI to CPU 3 by its APIC id (-smp 4 and up)")
{
	struct cpu *c = cpu_get(3);
	trap_handler old;
	int err;

	if (c == NULL || c->state != CPU_ONLINE) {
		ktest_report("ipi_to_ap", "there is no CPU 3 online");
		return;
	}
	old = trap_set_handler(VEC_IPI_TEST, ipi_taken);
	err = lapic_send_fixed(c->apic_id, VEC_IPI_TEST);
	for (int i = 0; i < 1000 && ipi_count == 0; i++)
		mdelay(1);
	mdelay(10);                   /* time for a second, wrong one */
	trap_set_handler(VEC_IPI_TEST, old);
	kprintf("sent IPI 0x%x to CPU 3, APIC id %u: %s; taken by CPU %d, "
		"%d time%s\n", VEC_IPI_TEST, c->apic_id,
		err == 0 ? "delivered" : "still pending", ipi_cpu, ipi_count,
		ipi_count == 1 ? "" : "s");
	ktest_report("ipi_to_ap", err != 0 ? "not delivered"
		     : ipi_cpu != 3 || ipi_count != 1 ? "taken by the wrong CPU"
		     : NULL);
}
