/*
 * lapic.c: the local APIC in xAPIC mode: finding and enabling it, its
 * interrupts (timer, error, spurious), end of interrupt, and messages
 * to other CPUs.
 */
#include "lapic.h"
#include "acpi_setup.h"
#include "clock.h"
#include "fwmap.h"
#include "intr.h"
#include "kprintf.h"
#include "panic.h"
#include "percpu.h"
#include "trap.h"
#include "x86.h"

/**
 * # The local APIC
 *
 * ## What it is
 *
 * Every x86 CPU has its own interrupt controller, the *local APIC*
 * (Advanced Programmable Interrupt Controller). It decides which
 * interrupt the CPU takes next, by priority; it receives interrupts
 * from devices (through the I/O APIC) and from its own sources, the
 * *local vector table* (LVT): a timer, two pins called LINT0 and LINT1,
 * and an error signal; and it sends and receives *inter-processor
 * interrupts* (IPIs), the only way one CPU can interrupt another. The
 * 8259 PICs of chapter 03 stay masked: from here on, interrupts come
 * through the local APIC.
 *
 * Its registers are 32 bits wide, one per 16 bytes, in a 4 KiB page
 * of physical address space, at 0xFEE00000 unless firmware moved it.
 * Every CPU sees *its own* local APIC at that address: the same load
 * on two CPUs reads two different registers. This is the *xAPIC*
 * interface. Newer CPUs also have the *x2APIC*, which is reached with
 * `rdmsr`/`wrmsr` instead of memory and has 32-bit ids, needed beyond
 * 255 CPUs; QEMU's emulator (TCG) in version 7.2 has none (CPUID.1:ECX
 * bit 21 stays 0 even for `-cpu max`), so this kernel drives the xAPIC
 * only, and stops with a message if firmware left the x2APIC on.
 *
 * ## Finding it, and three slips Redox 0.3.5 makes
 *
 * The MSR IA32_APIC_BASE (0x1B) says where the registers are, in its
 * bits 12 and up (to the CPU's physical-address width), whether the
 * APIC is enabled (bit 11), whether it is in x2APIC mode (bit 10) and
 * whether this CPU is the boot CPU (bit 8). QEMU's boot CPU reads
 * 0xFEE00900: base 0xFEE00000, enabled, boot CPU.
 *
 * 1. **The base's mask.** The base is bits 12-51 of the MSR: the mask
 *    is 0x000FFFFFFFFFF000. Redox masks with 0xFFFF0000, which drops
 *    bits 12-15 (a base of 0xFEE01000 would be read as 0xFEE00000)
 *    and every bit above 31.
 * 2. **The APIC id.** The ID register (offset 0x20) holds the id in
 *    its bits 24-31; the rest is reserved. Redox takes the register's
 *    low byte, which is always 0, so every CPU believes it is CPU 0;
 *    on a machine whose boot CPU has another id, Redox would send the
 *    start-up message to itself. Here `lapic_id()` shifts by 24, and
 *    acpi_setup() looks the boot CPU up in the MADT by that id.
 * 3. **The spurious vector.** When an interrupt goes away between the
 *    moment the local APIC signals the CPU and the moment the CPU
 *    acknowledges it, the APIC delivers a *spurious* interrupt, on the
 *    vector in its spurious-interrupt vector register (SVR, 0xF0).
 *    Redox sets it to 0, the vector of the divide error (#DE), so a
 *    spurious interrupt would look like a division by zero. Here it is
 *    0xFF, and the handler counts it and returns. It must *not* send an
 *    end of interrupt: a spurious interrupt was never in service.
 *
 * ## Vectors and priorities
 *
 * The local APIC ranks interrupts by vector: the upper four bits are
 * the *priority class*, and a class-15 vector (0xF0-0xFF) interrupts a
 * handler of a lower class. This kernel gives its own vectors the top
 * classes: errors 0xEF; the timer 0xF0, the wake-up IPI 0xFB, the
 * self-tests' IPI 0xFC, the TLB shootdown 0xFD, the spurious vector
 * 0xFF. Class 15 is kept for handlers that take no lock, which lets a
 * waiting CPU halt with only those let in ("Halting until woken"). Vectors 0-31 are the CPU's exceptions, and the
 * local APIC refuses to deliver 0-15 at all: that is an *illegal
 * vector* error.
 *
 * ## End of interrupt
 *
 * While a handler for vector v runs, v's bit is set in the in-service
 * register (ISR), and the local APIC holds back every interrupt of the
 * same or a lower class. A write of 0 to the EOI register (0xB0) clears
 * the highest in-service bit. Every handler for a local APIC interrupt
 * writes it before it returns (the spurious vector excepted); forget
 * it, and that CPU never sees another interrupt of that class.
 *
 * ## Errors
 *
 * The local APIC records what went wrong, such as a message it could
 * not deliver or an illegal vector, in its error status register (ESR,
 * 0x280), and raises the interrupt its LVT error entry names (0xEF).
 * The ESR is odd: a write (of anything) copies the errors seen so far
 * into it and clears the internal record, and only then does a read
 * show them. The handler prints them, by name, and counts them.
 *
 * QEMU 7.2 implements less of this than the manual describes: it sets
 * the "illegal register address" bit when software touches a reserved
 * register, but never raises the error interrupt, never clears the
 * ESR, and delivers an IPI with an illegal vector (below 16) as if it
 * were legal (an IPI on vector 3 arrives as a breakpoint). So the
 * self-test `lapic_error_reported` reads a reserved register, and if
 * no error interrupt follows, raises vector 0xEF itself, to see the
 * handler report the bit.
 */
static volatile uint32_t *regs;    /* the registers, in the window */
static uint64_t base;              /* their physical address */

uint32_t lapic_read(uint32_t reg)
{
	return regs[reg / 4];
}

void lapic_write(uint32_t reg, uint32_t value)
{
	regs[reg / 4] = value;
}

bool lapic_ready(void)
{
	return regs != NULL;
}

uint64_t lapic_base(void)
{
	return base;
}

uint32_t lapic_id(void)
{
	return lapic_read(LAPIC_ID) >> 24;
}

void lapic_eoi(void)
{
	lapic_write(LAPIC_EOI, 0);
}

static const char *const esr_names[8] = {
	"send checksum", "receive checksum", "send accept", "receive accept",
	"redirectable IPI", "send illegal vector", "received illegal vector",
	"illegal register address",
};

static void error_interrupt(struct trap_frame *f)
{
	uint32_t esr;

	(void)f;
	lapic_write(LAPIC_ESR, 0);         /* latch the errors, then read */
	esr = lapic_read(LAPIC_ESR);
	this_cpu()->lapic_errors++;
	this_cpu()->lapic_esr = esr;
	kprintf("LAPIC: error interrupt on CPU %u: ESR %x", this_cpu()->index,
		esr);
	for (int i = 0; i < 8; i++)
		if (esr & (1u << i))
			kprintf(", %s", esr_names[i]);
	kprintf("\n");
	lapic_eoi();
}

static void spurious_interrupt(struct trap_frame *f)
{
	(void)f;
	this_cpu()->lapic_spurious++;      /* and no EOI */
}

static void timer_interrupt(struct trap_frame *f)
{
	(void)f;
	this_cpu()->timer_ticks++;
	lapic_eoi();
}

/**
 * ## Setting it up, step by step
 *
 * Once, on the boot CPU (`lapic_setup`):
 *
 * 1. CPUID.01H:EDX bit 9 says there is a local APIC at all.
 * 2. IA32_APIC_BASE: refuse x2APIC mode, set the global enable bit if
 *    firmware cleared it, and take the base with the right mask.
 * 3. Map the 4 KiB of registers uncached in the firmware window, and
 *    install the handlers for the three vectors above.
 *
 * Then every CPU, for itself (`lapic_cpu_init`, from percpu_setup()
 * on the boot CPU, and from ap_main() in smp.c on the others):
 *
 * 1. Its own IA32_APIC_BASE: enabled, not x2APIC, the same base.
 * 2. The task priority (TPR) 0: accept every class.
 * 3. The timer masked (clock.c starts it), divide by 16.
 * 4. LINT0 masked: under a PC's firmware it carries the 8259's
 *    interrupts ("ExtINT"), which we do not want. LINT1, or whichever
 *    pin the MADT's NMI records name for this CPU, delivers the
 *    non-maskable interrupt.
 * 5. The error entry on vector 0xEF, and the ESR cleared.
 * 6. The SVR: software enable (bit 8) and the spurious vector 0xFF.
 *    Until this write the local APIC is *software-disabled* and takes
 *    no interrupts; QEMU's other CPUs are in that state after SeaBIOS.
 * 7. An EOI for anything left in service from before.
 *
 * Precondition: interrupts off.
 */
void lapic_setup(void)
{
	uint64_t msr;

	if (!(cpuid(1, 0).edx & (1u << 9)))                      /* 1. */
		panic("lapic: this CPU has no local APIC "
		      "(CPUID 01h:EDX.9)");
	msr = rdmsr(MSR_IA32_APIC_BASE);                         /* 2. */
	if (msr & APIC_BASE_EXTD)
		panic("lapic: firmware left the local APIC in x2APIC mode; "
		      "this kernel drives the xAPIC only");
	if (!(msr & APIC_BASE_ENABLE))
		wrmsr(MSR_IA32_APIC_BASE, msr | APIC_BASE_ENABLE);
	base = msr & APIC_BASE_ADDR;
	regs = fw_map_mmio(base, 4096);                          /* 3. */
	if (regs == NULL)
		panic("lapic: cannot map its registers at %lx",
		      (unsigned long)base);
	trap_set_handler(VEC_LAPIC_TIMER, timer_interrupt);
	trap_set_handler(VEC_LAPIC_ERROR, error_interrupt);
	trap_set_handler(VEC_SPURIOUS, spurious_interrupt);
	kprintf("LAPIC: registers at %lx (IA32_APIC_BASE %lx%s)\n",
		(unsigned long)base, (unsigned long)msr,
		msr & APIC_BASE_BSP ? ", boot CPU" : "");
	kprintf("LAPIC: version 0x%x, %u LVT entries; this CPU's APIC id "
		"%u\n", lapic_read(LAPIC_VERSION) & 0xFF,
		((lapic_read(LAPIC_VERSION) >> 16) & 0xFF) + 1, lapic_id());
}

/* The LVT entry for one MADT NMI record: NMI delivery; active low if
 * its polarity bits (MPS INTI flags 0-1) say 3. NMIs are always
 * edge-triggered, whatever the trigger bits say. */
static uint32_t nmi_entry(uint16_t flags)
{
	return LVT_NMI | ((flags & 3) == 3 ? 1u << 13 : 0);
}

static void program_nmi_pins(void)
{
	const struct madt *m = acpi_madt();
	uint32_t uid = this_cpu()->acpi_uid;
	uint32_t lint1 = LVT_NMI;                 /* the PC's usual wiring */

	lapic_write(LAPIC_LVT_LINT0, LVT_MASKED);
	for (size_t i = 0; m != NULL && i < m->nnmi; i++) {
		const struct madt_nmi *n = &m->nmi[i];

		if (n->uid != MADT_NMI_ALL_CPUS && n->uid != uid)
			continue;
		if (n->lint == 0)
			lapic_write(LAPIC_LVT_LINT0, nmi_entry(n->flags));
		else
			lint1 = nmi_entry(n->flags);
	}
	lapic_write(LAPIC_LVT_LINT1, lint1);
}

void lapic_cpu_init(void)
{
	uint64_t msr = rdmsr(MSR_IA32_APIC_BASE);                /* 1. */

	if (msr & APIC_BASE_EXTD)
		panic("lapic: CPU in x2APIC mode");
	if (!(msr & APIC_BASE_ENABLE))
		wrmsr(MSR_IA32_APIC_BASE, msr | APIC_BASE_ENABLE);
	if ((msr & APIC_BASE_ADDR) != base)
		panic("lapic: this CPU's local APIC is at %lx, not %lx",
		      (unsigned long)(msr & APIC_BASE_ADDR),
		      (unsigned long)base);
	lapic_write(LAPIC_TPR, 0);                               /* 2. */
	lapic_write(LAPIC_LVT_TIMER, LVT_MASKED | VEC_LAPIC_TIMER); /* 3. */
	lapic_write(LAPIC_TIMER_DIV, TIMER_DIV_16);
	program_nmi_pins();                                      /* 4. */
	lapic_write(LAPIC_LVT_ERROR, VEC_LAPIC_ERROR);           /* 5. */
	lapic_write(LAPIC_ESR, 0);
	lapic_write(LAPIC_ESR, 0);
	lapic_write(LAPIC_SVR, SVR_ENABLE | VEC_SPURIOUS);       /* 6. */
	for (int i = 0; i < 16; i++) {                           /* 7. */
		bool in_service = false;

		for (int r = 0; r < 8; r++)
			in_service |= lapic_read(LAPIC_ISR + 16 * r) != 0;
		if (!in_service)
			break;
		lapic_eoi();
	}
}

/**
 * ## Messages to other CPUs
 *
 * An IPI is sent by writing the *interrupt command register* (ICR),
 * 64 bits at 0x300 (low half) and 0x310 (high half). The high half
 * holds the destination APIC id in bits 24-31 (xAPIC). Writing the low
 * half sends the message, so it is written last. The low half says
 * what to send:
 *
 * | bits | field | values used here |
 * |---|---|---|
 * | 0-7 | vector | the interrupt; for a SIPI, the start page |
 * | 8-10 | delivery mode | 0 fixed, 4 NMI, 5 INIT, 6 start-up (SIPI) |
 * | 12 | delivery status | 1 while the message is pending (read-only) |
 * | 14 | level | 1 (assert) for everything here |
 * | 15 | trigger mode | 0, edge |
 * | 18-19 | shorthand | 0: the id in the high half; 1 self |
 *
 * A *fixed* IPI raises an ordinary interrupt on that vector; *NMI*
 * raises the non-maskable interrupt, which arrives even with
 * interrupts off (panic.c uses it to stop the other CPUs on a
 * panic); *INIT* resets a CPU into a wait-for-start-up
 * state; a *start-up IPI* (SIPI) with vector v then starts it in real
 * mode at physical address v * 4096. The SDM's example sequence sends
 * INIT as 0x4500 plus a shorthand (assert, edge); Linux sends it
 * level-triggered and then de-asserts it, for the external APICs of
 * CPUs older than the Pentium 4; neither matters to QEMU.
 *
 * `lapic_send_ipi` waits for the delivery status bit to clear, before
 * writing (a message still pending would be overwritten) and after,
 * so that "sent" means the local APIC has passed the message on. The
 * wait has a time limit, 100 ms on the calibrated clock: a local APIC
 * that never clears the bit is reported, not waited for forever.
 * (QEMU never sets the bit; real hardware clears it within
 * microseconds.) These messages are addressed by APIC id, and an id is
 * never taken to be a CPU's index (percpu.c).
 */
uint32_t lapic_icr(uint32_t mode, uint8_t vector)
{
	uint32_t v = mode == ICR_FIXED || mode == ICR_STARTUP ? vector : 0;

	return mode | ICR_ASSERT | v;
}

/* Wait until the ICR is idle: 0, or -1 after 100 ms (about 2 * 10^8
 * TSC ticks before the clock is calibrated). */
static int icr_wait(void)
{
	uint64_t start = clock_ready() ? clock_ns() : rdtsc();

	while (lapic_read(LAPIC_ICR_LOW) & ICR_PENDING) {
		if (clock_ready() ? clock_ns() - start > 100000000ull
				  : rdtsc() - start > 200000000ull)
			return -1;
		cpu_relax();
	}
	return 0;
}

/* Interrupts are off from the first write to the second: a handler
 * that sent an IPI of its own in between would leave its destination
 * in the high half for ours. */
int lapic_send_ipi(uint32_t apic_id, uint32_t icr_low)
{
	bool was_on = intr_enabled();
	int err;

	cli();
	err = icr_wait();
	if (err == 0) {
		lapic_write(LAPIC_ICR_HIGH, apic_id << 24);
		lapic_write(LAPIC_ICR_LOW, icr_low);
		err = icr_wait();
	}
	if (was_on)
		sti();
	return err;
}

int lapic_send_fixed(uint32_t apic_id, uint8_t vector)
{
	return lapic_send_ipi(apic_id, lapic_icr(ICR_FIXED, vector));
}

/* One message, delivered by the APIC bus (or QEMU) to every local
 * APIC but this CPU's: the destination field is ignored. */
int lapic_send_others(uint8_t vector)
{
	return lapic_send_ipi(0, lapic_icr(ICR_FIXED, vector) |
			      ICR_ALL_BUT_SELF);
}

int lapic_send_nmi(uint32_t apic_id)
{
	return lapic_send_ipi(apic_id, lapic_icr(ICR_NMI, 0));
}

int lapic_send_init(uint32_t apic_id)
{
	return lapic_send_ipi(apic_id, lapic_icr(ICR_INIT, 0));
}

int lapic_send_sipi(uint32_t apic_id, uint8_t page)
{
	return lapic_send_ipi(apic_id, lapic_icr(ICR_STARTUP, page));
}

/**
 * ## The timer
 *
 * The local APIC's timer counts down from an *initial count* (0x380)
 * at the rate of its input clock divided by the *divide configuration*
 * (0x3E0, here 16), and raises the interrupt in its LVT entry (0x320)
 * when it reaches 0: once, or, in periodic mode, again and again from
 * the initial count. Writing the initial count starts it; writing 0
 * stops it. Its input clock is the CPU's bus or crystal clock, which
 * differs between models, and nothing architectural says how fast it
 * is (some CPUs report it in CPUID leaf 0x15; QEMU 7.2's do not). So
 * the rate is measured against a clock of known rate: clock.c.
 */
void lapic_timer_oneshot(uint32_t count)
{
	lapic_write(LAPIC_LVT_TIMER, VEC_LAPIC_TIMER);
	lapic_write(LAPIC_TIMER_INIT, count);
}

void lapic_timer_periodic(uint32_t count)
{
	lapic_write(LAPIC_LVT_TIMER, VEC_LAPIC_TIMER | LVT_TIMER_PERIODIC);
	lapic_write(LAPIC_TIMER_INIT, count);
}

void lapic_timer_stop(void)
{
	lapic_write(LAPIC_LVT_TIMER, LVT_MASKED | VEC_LAPIC_TIMER);
	lapic_write(LAPIC_TIMER_INIT, 0);
}

uint32_t lapic_timer_count(void)
{
	return lapic_read(LAPIC_TIMER_COUNT);
}

/**
 * ## Halting until woken
 *
 * A CPU that must wait for another, for a lock, for a TLB flush to be
 * answered, for work to finish, could spin, reading memory until it
 * changes. Under QEMU every CPU is a thread of the host, and a spinning
 * CPU keeps a host core busy doing nothing: with more CPUs than host
 * cores (this chapter's tests boot 255 CPUs on a machine with two),
 * the very CPU it waits for may not get a core to run on. A ticket
 * lock suffers worst, since only the CPU holding the next ticket can
 * take the lock (spinlock.c, "Waiting without spinning"). On real
 * hardware the same happens to virtual machines, and Linux answers it
 * the same way: after a short spin, the waiter halts, and the CPU it
 * waits for sends it an IPI (VEC_WAKE) when it is done.
 *
 * The waiter has interrupts off: it may hold other locks, and a handler
 * that took the lock it waits for would deadlock it. So it halts with
 * interrupts on only for the handlers that take no lock at all: it
 * raises its *task priority* (TPR) to 0xE0, which holds back every
 * interrupt of classes 0-14 (they stay pending, and come once the TPR
 * is lowered), and lets class 15 in: the wake-up, the TLB shootdown
 * (whose handler answers the flush, so a halted CPU answers too), the
 * timer. `sti; hlt` is one step (intr.h): a wake-up that arrives
 * between the caller's last look and the halt ends the halt at once.
 *
 * A wake-up that never comes must not leave the CPU halted for good:
 * if the local APIC's timer is not in use, it is set to fire once in
 * 100 ms, and the caller looks again (this is how a waiter still
 * notices, after SPIN_LIMIT_SECONDS, a lock that never changes hands).
 */
void lapic_wait_kick(void)
{
	uint32_t tpr = lapic_read(LAPIC_TPR);
	bool timer = clock_ready() &&
		     (lapic_read(LAPIC_LVT_TIMER) & LVT_MASKED);

	lapic_write(LAPIC_TPR, TPR_CLASS_15_ONLY);
	if (timer)
		lapic_timer_oneshot((uint32_t)(clock_lapic_hz() / 10));
	intr_wait();
	cli();
	if (timer)
		lapic_timer_stop();
	lapic_write(LAPIC_TPR, tpr);
}
