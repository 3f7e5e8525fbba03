/*
 * fpu.c: the floating-point and SSE state of threads. It chooses how
 * switch_to() saves that state (FXSAVE or XSAVE, and how many bytes),
 * makes the clean image a new thread starts from, and turns on, on
 * every CPU, the control bits without which SSE cannot be used.
 *
 * The choice is pure logic over what CPUID says, tested on the host
 * with real and made-up CPUs (tests/host/test_switch.c); the control
 * registers are written only by fpu_cpu_init(), in the kernel.
 */
#include "fpu.h"
#include "kprintf.h"
#include "string.h"

/**
 * ## The registers the kernel does not use, and must still save
 *
 * Besides its 16 general registers, an x86-64 CPU has a second set
 * for arithmetic on fractions and vectors: the eight x87 registers
 * with their control and status words (the old floating-point unit,
 * the *FPU*), the sixteen 128-bit XMM registers of SSE with their
 * control and status register MXCSR, and on newer CPUs the wider YMM
 * (AVX) and ZMM (AVX-512) registers that extend the XMM ones. MXCSR
 * and the x87 control word are *modes*: how to round, and which errors
 * (division by zero, overflow, ...) raise an exception rather than
 * give infinity or NaN.
 *
 * The kernel itself never touches them: it is compiled with
 * `-mgeneral-regs-only` (tools/chapter.mk). But threads may. Code
 * built with SSE (a test here, a program in a later chapter) keeps
 * values in XMM registers and sets MXCSR's rounding mode. All of that
 * belongs to the thread, exactly like RBX does: a thread that is
 * switched away and back must find its values again, and must never
 * see another thread's. So every context has a save area, and
 * switch_to() saves the old thread's registers into it and loads the
 * new thread's from its own, on every switch.
 *
 * The CPU saves them all with one instruction. `FXSAVE64` writes the
 * x87 and SSE state into 512 bytes aligned to 16, and `FXRSTOR64`
 * loads it back. `XSAVE64` and `XRSTOR64` do the same for every part
 * named in a mask, each part at the offset CPUID gives it, after a
 * 512-byte legacy area (the FXSAVE layout) and a 64-byte header; the
 * area must be aligned to 64.
 *
 * ## Eager, not lazy
 *
 * Saving costs time. On the machine this chapter was written on, a
 * switch that keeps only the general registers took 25 to 30 ns, and
 * six to seven times as long with FXSAVE64 and FXRSTOR64, more with
 * XSAVE over AVX-512's registers (bench/bench_switch.c prints the
 * figures for yours). So kernels used to save *lazily*:
 * leave the old thread's values in the registers, set CR0.TS so that
 * the new thread's first SSE instruction faults (#NM, "device not
 * available"), and save and load only then, if ever. In 2018 that
 * turned out to leak: a CPU executes *speculatively* past the faulting
 * instruction, with the old thread's values, and the results leave
 * traces in the cache that the new thread can measure (CVE-2018-3665,
 * "LazyFP"). Linux has switched eagerly since version 4.9; so do we.
 * Chapter 08, which switches from interrupts, needs it anyway: there
 * every register of the interrupted thread is live.
 *
 * ## A new thread's first state
 *
 * A new thread must start from a known state, not from whatever the
 * previous thread left in the registers. Redox 0.3.5 runs `FNINIT`
 * for a context's first load. That resets the x87 unit only: the XMM
 * registers and MXCSR keep the previous thread's values, so the new
 * thread can read another thread's data (and inherits its rounding
 * mode). Here every new context's area is a copy of a *clean image*,
 * made once: x87 control word 0x37F and MXCSR 0x1F80 (the values after
 * a reset: all exceptions masked, round to nearest), everything else
 * zero, and for XSAVE a header whose XSTATE_BV field is zero, which
 * tells XRSTOR64 to put every part in its initial state. The first
 * switch into the context loads that image like any other: nothing of
 * the previous thread survives. The host test shows both: a thread
 * that fills every XMM register and changes MXCSR, then a new thread
 * that must see zeros and the defaults; and that FNINIT alone lets the
 * values through.
 *
 * ## How big the area is: CPUID leaf 0Dh
 *
 * XSAVE is there if CPUID leaf 1 says so (ECX bit 26; QEMU's default
 * CPU, `qemu64`, does not have it, `-cpu max` does). Leaf 0Dh, subleaf
 * 0, lists the parts the CPU supports (EDX:EAX); subleaf i gives part
 * i's size (EAX) and offset (EBX) in the area. We enable the parts of
 * FPU_XCR0_WANTED that the CPU has (x87, SSE, AVX, AVX-512) and the
 * area ends where the last of them ends: 832 bytes with AVX, 2,688 with
 * AVX-512. The three AVX-512 parts go together or not at all, as the
 * XCR0 rules require. Without XSAVE, FXSAVE's 512 bytes hold x87 and
 * SSE.
 */
uint32_t fpu_mode = FPU_NONE;
uint64_t fpu_xcr0;
uint32_t fpu_size;

/* The clean image, made by fpu_apply(): a new context's area starts
 * as a copy (fpu_clean_image()), and fpu_cpu_init() loads it. */
static uint8_t clean[FPU_AREA_MAX] __attribute__((aligned(FPU_AREA_ALIGN)));

static uint32_t round_up64(uint32_t n)
{
	return (n + 63) & ~63u;
}

uint32_t fpu_xsave_size(cpuid_fn cpuid, uint64_t mask)
{
	uint32_t end = FPU_XSAVE_MIN;

	for (uint32_t i = 2; i < 63; i++) {     /* 0, 1: the legacy area */
		struct cpuid_regs r;

		if (!(mask >> i & 1))
			continue;
		r = cpuid(CPUID_XSAVE_LEAF, i);
		if (r.ebx + r.eax > end)        /* offset + size */
			end = r.ebx + r.eax;
	}
	return round_up64(end);
}

int fpu_choose(cpuid_fn cpuid, struct fpu_config *out)
{
	struct cpuid_regs one = cpuid(1, 0), d;
	uint64_t have;

	if (!(one.edx & CPUID_01_EDX_FXSR) || !(one.edx & CPUID_01_EDX_SSE2))
		return -1;
	*out = (struct fpu_config){ FPU_FXSAVE, FPU_FXSAVE_SIZE,
				    XCR0_X87 | XCR0_SSE };
	if (!(one.ecx & CPUID_01_ECX_XSAVE))
		return 0;
	d = cpuid(CPUID_XSAVE_LEAF, 0);
	have = ((uint64_t)d.edx << 32 | d.eax) & FPU_XCR0_WANTED;
	if ((have & (XCR0_X87 | XCR0_SSE)) != (XCR0_X87 | XCR0_SSE))
		return 0;                        /* a broken leaf: keep FX */
	if (!(have & XCR0_AVX) || (have & XCR0_AVX512) != XCR0_AVX512)
		have &= ~XCR0_AVX512;            /* all three, on AVX */
	if (fpu_xsave_size(cpuid, have) > FPU_AREA_MAX)
		return 0;
	*out = (struct fpu_config){ FPU_XSAVE, fpu_xsave_size(cpuid, have),
				    have };
	return 0;
}

static void put16(uint8_t *p, uint16_t v)
{
	memcpy(p, &v, sizeof v);
}

static void put32(uint8_t *p, uint32_t v)
{
	memcpy(p, &v, sizeof v);
}

void fpu_apply(const struct fpu_config *c)
{
	fpu_mode = c->mode;
	fpu_xcr0 = c->xcr0;
	fpu_size = c->size;
	memset(clean, 0, sizeof clean);         /* XSTATE_BV = 0, too */
	put16(clean + FPU_OFF_FCW, FCW_DEFAULT);
	put32(clean + FPU_OFF_MXCSR, MXCSR_DEFAULT);
}

void fpu_clean_image(void *area)
{
	memcpy(area, clean, fpu_size);
}

/**
 * The loads, one instruction each. XRSTOR64 takes the mask of parts to
 * load in EDX:EAX; a part whose XSTATE_BV bit is clear in the area is
 * put in its initial state instead of being read.
 */
static void fxrstor64(const void *area)
{
	__asm__ volatile("fxrstor64 %0" : : "m"(*(const uint8_t *)area));
}

static void xrstor64(const void *area, uint64_t mask)
{
	__asm__ volatile("xrstor64 %0" : : "m"(*(const uint8_t *)area),
			 "a"((uint32_t)mask), "d"((uint32_t)(mask >> 32)));
}

void fpu_load(const void *area)
{
	if (fpu_mode == FPU_FXSAVE)
		fxrstor64(area);
	else if (fpu_mode == FPU_XSAVE)
		xrstor64(area, fpu_xcr0);
}

const char *fpu_describe(char *buf, size_t len)
{
	static const struct {
		uint64_t bit;
		const char *name;
	} part[] = {
		{ XCR0_X87, " x87" }, { XCR0_SSE, " SSE" },
		{ XCR0_AVX, " AVX" }, { XCR0_AVX512, " AVX-512" },
	};
	char names[32] = "";
	size_t n = 0;

	for (size_t i = 0; i < sizeof part / sizeof part[0]; i++)
		if ((fpu_xcr0 & part[i].bit) == part[i].bit)
			n += (size_t)ksnprintf(names + n, sizeof names - n,
					       "%s", part[i].name);
	ksnprintf(buf, len, "%s (%s), %u bytes per context",
		  fpu_mode == FPU_XSAVE ? "XSAVE" :
		  fpu_mode == FPU_FXSAVE ? "FXSAVE" : "not saved",
		  names[0] ? names + 1 : "none", fpu_size);
	return buf;
}

#ifndef HOST_TEST
#include "panic.h"

/* XSETBV: write extended control register xcr (0: XCR0) from EDX:EAX.
 * Allowed only with CR4.OSXSAVE set. */
static void xsetbv(uint32_t xcr, uint64_t v)
{
	__asm__ volatile("xsetbv" : : "c"(xcr), "a"((uint32_t)v),
			 "d"((uint32_t)(v >> 32)) : "memory");
}

static struct cpuid_regs cpuid_insn(uint32_t leaf, uint32_t subleaf)
{
	return cpuid(leaf, subleaf);
}

/**
 * ## Every CPU: the control bits
 *
 * Control registers belong to one CPU, so each CPU runs this for
 * itself, from cpu_init_features() (cpu.c), in this order:
 *
 * 1. Find what this CPU has (fpu_choose). The boot CPU's answer
 *    becomes the configuration; another CPU that finds a different
 *    one stops the machine, since every context's area has the boot
 *    CPU's size and a context may run on any CPU.
 * 2. CR0: MP set and EM clear (x87 and SSE instructions execute, not
 *    emulated), NE set (x87 errors raise #MF, not the PC's old IRQ 13),
 *    TS clear (no lazy switching: nothing ever faults with #NM).
 * 3. CR4: OSFXSR (the kernel saves SSE state with FXSAVE, which
 *    allows SSE instructions at all: without it they raise #UD) and
 *    OSXMMEXCPT (unmasked SSE errors raise #XM, not #UD).
 * 4. With XSAVE: CR4.OSXSAVE, then `XSETBV` to load XCR0 with the
 *    parts to enable. A part not in XCR0 is not usable: AVX
 *    instructions raise #UD without bit 2.
 * 5. Load the clean image, so this CPU's first context starts from
 *    the same state as every other.
 */
void fpu_cpu_init(void)
{
	struct fpu_config c;

	if (fpu_choose(cpuid_insn, &c) != 0)                       /* 1. */
		panic("this CPU has no FXSAVE or SSE2 (CPUID 1:EDX)");
	if (fpu_mode == FPU_NONE)
		fpu_apply(&c);
	else if (c.mode != fpu_mode || c.xcr0 != fpu_xcr0 ||
		 c.size != fpu_size)
		panic("this CPU's FPU state (mode %u, XCR0 0x%lx, %u bytes) "
		      "differs from the boot CPU's", c.mode, c.xcr0, c.size);
	write_cr0((read_cr0() | CR0_MP | CR0_NE) & ~(CR0_EM | CR0_TS)); /* 2. */
	write_cr4(read_cr4() | CR4_OSFXSR | CR4_OSXMMEXCPT);        /* 3. */
	if (fpu_mode == FPU_XSAVE) {                                /* 4. */
		write_cr4(read_cr4() | CR4_OSXSAVE);
		xsetbv(0, fpu_xcr0);
	}
	fpu_load(clean);                                            /* 5. */
}
#endif
