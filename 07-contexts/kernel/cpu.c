/*
 * cpu.c: switches on the features of the processor that the kernel
 * relies on. It is one function, run by every CPU for itself: by the
 * boot CPU early in kmain, and from chapter 06 on by each of the other
 * CPUs as it starts, so that no CPU can miss a step.
 */
#include "cpu.h"
#include "fpu.h"
#include "panic.h"
#include "pat.h"
#include "x86.h"

/**
 * ## The features, one CPU at a time
 *
 * Control registers and model-specific registers belong to one CPU: a
 * bit that the boot CPU sets means nothing to the others. So everything
 * of that kind happens here, in this order:
 *
 * 1. Program the PAT (pat.c), so the write-combining type exists.
 * 2. On an Intel CPU, clear the *XD disable* bit (bit 34) of the MSR
 *    IA32_MISC_ENABLE (0x1A0). Firmware may set it, and then the CPU
 *    hides its NX bit from CPUID and refuses EFER.NXE; Linux clears it
 *    for the same reason. Only Intel CPUs have this MSR (reading it on
 *    another CPU raises #GP), so we first read CPUID's vendor string.
 * 3. Check for NX (CPUID 80000001h, EDX bit 20), and stop if it is
 *    missing: every data page of the kernel is marked no-execute.
 * 4. EFER.NXE: without it, bit 63 of a page-table entry is a *reserved*
 *    bit, and any entry setting it faults.
 * 5. CR4.PGE, so the G (global) bit of the kernel's pages means
 *    something: their TLB entries survive a CR3 switch.
 * 6. CR0.WP, so that read-only pages are read-only for the kernel too.
 *    Without it ring 0 may write anywhere, and W^X would be a fiction.
 * 7. CR4.MCE, now that there is an interrupt table: a *machine check*
 *    (the hardware reporting an error it could not correct, in memory
 *    or in the CPU) then raises exception 18, which idt.c sends to its
 *    own stack, IST3, and report.c describes. With the bit clear, the
 *    CPU simply shuts down, as after a triple fault, without a word.
 * 8. The FPU and SSE (fpu.c): CR0.MP and CR0.NE set, CR0.EM and
 *    CR0.TS clear, CR4.OSFXSR and CR4.OSXMMEXCPT set, and with XSAVE
 *    CR4.OSXSAVE and XCR0; then the clean FPU state. The boot CPU's
 *    call also decides how every context's FPU state is saved.
 *
 * Setting a bit that is set already changes nothing, so running the
 * function twice is harmless. Precondition: interrupts off.
 */
#define CPUID_80000001_EDX_NX (1u << 20)

/* CPUID leaf 0: the vendor string in EBX, EDX, ECX, "GenuineIntel". */
bool cpu_is_intel(void)
{
	struct cpuid_regs r = cpuid(0, 0);

	return r.ebx == 0x756E6547 && r.edx == 0x49656E69 &&
	       r.ecx == 0x6C65746E;          /* "Genu" "ineI" "ntel" */
}

void cpu_init_features(void)
{
	pat_init();                                          /* 1. */
	if (cpu_is_intel())                                  /* 2. */
		wrmsr(MSR_IA32_MISC_ENABLE,
		      rdmsr(MSR_IA32_MISC_ENABLE) & ~MISC_ENABLE_XD_DISABLE);
	if (!(cpuid(0x80000001, 0).edx & CPUID_80000001_EDX_NX)) /* 3. */
		panic("this CPU has no NX bit (CPUID 80000001h:EDX.20)");
	wrmsr(MSR_IA32_EFER, rdmsr(MSR_IA32_EFER) | EFER_NXE);   /* 4. */
	write_cr4(read_cr4() | CR4_PGE);                         /* 5. */
	write_cr0(read_cr0() | CR0_WP);                          /* 6. */
	write_cr4(read_cr4() | CR4_MCE);                         /* 7. */
	fpu_cpu_init();                                          /* 8. */
}
