/*
 * fpu.h: the FPU and SSE registers of a thread: how big their save
 * area is, how switch_to() saves them, the clean state a new thread
 * starts from, and the control bits every CPU needs. fpu.c explains
 * them; tests/host/test_switch.c tests them.
 */
#ifndef FPU_H
#define FPU_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "switch.h"
#include "x86.h"

/* CPUID leaf 1 (Intel SDM vol. 2, "CPUID"): the features used here. */
#define CPUID_01_EDX_FXSR (1u << 24)   /* FXSAVE/FXRSTOR */
#define CPUID_01_EDX_SSE2 (1u << 26)
#define CPUID_01_ECX_XSAVE (1u << 26)  /* XSAVE/XRSTOR, XSETBV, XCR0 */
#define CPUID_XSAVE_LEAF 0x0D          /* sizes of the XSAVE parts */

/* XCR0 bits: the parts of the state XSAVE handles (SDM vol. 1, "XSAVE-
 * Supported Features and State-Component Bitmaps"). */
#define XCR0_X87 (1ull << 0)
#define XCR0_SSE (1ull << 1)          /* XMM0-15 and MXCSR */
#define XCR0_AVX (1ull << 2)          /* upper halves of YMM0-15 */
#define XCR0_OPMASK (1ull << 5)       /* AVX-512: k0-k7 */
#define XCR0_ZMM_HI256 (1ull << 6)    /* AVX-512: upper halves of ZMM */
#define XCR0_HI16_ZMM (1ull << 7)     /* AVX-512: ZMM16-31 */
#define XCR0_AVX512 (XCR0_OPMASK | XCR0_ZMM_HI256 | XCR0_HI16_ZMM)
/* What this kernel enables when the CPU has it: the registers code
 * built by a compiler may use. Not MPX (bits 3-4, withdrawn), not
 * PKRU (bit 9, user-mode protection keys), nor supervisor state. */
#define FPU_XCR0_WANTED (XCR0_X87 | XCR0_SSE | XCR0_AVX | XCR0_AVX512)

/* The save areas (SDM vol. 1, "FXSAVE Area" and "XSAVE Area"). */
#define FPU_FXSAVE_SIZE 512        /* the legacy area */
#define FPU_XSAVE_MIN 576          /* legacy area + 64-byte header */
#define FPU_AREA_ALIGN 64          /* XSAVE's; FXSAVE needs 16 */
#define FPU_AREA_MAX 4096          /* larger: fall back to FXSAVE */
#define FPU_OFF_FCW 0              /* x87 control word, 16 bits */
#define FPU_OFF_MXCSR 24           /* SSE control and status, 32 */
#define FPU_OFF_XMM 160            /* XMM0-15, 16 bytes each */
#define FPU_OFF_XSTATE_BV 512      /* header: parts present, 64 */
#define FCW_DEFAULT 0x037F         /* all exceptions masked, 64-bit
				      precision, round to nearest */
#define MXCSR_DEFAULT 0x1F80       /* all masked, round to nearest */

/* Control-register bits (SDM vol. 3, "Control Registers"). */
#define CR0_MP (1ull << 1)     /* monitor coprocessor: WAIT obeys TS */
#define CR0_EM (1ull << 2)     /* emulation: x87/SSE raise #UD/#NM */
#define CR0_NE (1ull << 5)     /* x87 errors as #MF, not an IRQ */
#define CR4_OSFXSR (1ull << 9)      /* FXSAVE saves SSE; SSE allowed */
#define CR4_OSXMMEXCPT (1ull << 10) /* SSE errors raise #XM */
#define CR4_OSXSAVE (1ull << 18)    /* XSAVE and XCR0 enabled */

/* What fpu_choose() decided. */
struct fpu_config {
	uint32_t mode;       /* FPU_FXSAVE or FPU_XSAVE */
	uint32_t size;       /* bytes of a save area */
	uint64_t xcr0;       /* parts saved (XSAVE); x87|SSE for FXSAVE */
};

/* CPUID as a function, so the host test can play other CPUs. */
typedef struct cpuid_regs (*cpuid_fn)(uint32_t leaf, uint32_t subleaf);

/* The save area's size, in the standard layout, for the parts in mask
 * (XCR0 bits), from CPUID leaf 0Dh: at least FPU_XSAVE_MIN, a
 * multiple of 64. */
uint32_t fpu_xsave_size(cpuid_fn cpuid, uint64_t mask);

/* XSAVE if the CPU has it, with the parts of FPU_XCR0_WANTED it has,
 * else FXSAVE. Returns 0, or -1 if the CPU lacks FXSAVE or SSE2 (no
 * x86-64 CPU does). Pure: reads only what cpuid returns. */
int fpu_choose(cpuid_fn cpuid, struct fpu_config *out);

/* Make c the configuration: fpu_mode, fpu_xcr0, fpu_size, and the
 * clean image. Once, by the boot CPU, before any context exists (the
 * host tests and the benchmark call it between cases). */
void fpu_apply(const struct fpu_config *c);

/* Bytes in a save area now (0 before fpu_apply()). */
extern uint32_t fpu_size;

/* Write the state a new thread starts with into area (fpu_size bytes,
 * 64-byte aligned): the x87 control word 0x37F, MXCSR 0x1F80,
 * everything else zero; for XSAVE, a header that says "every part in
 * its initial state". */
void fpu_clean_image(void *area);

/* Load area into this CPU's FPU/SSE registers, as switch_to() does:
 * FXRSTOR64 or XRSTOR64 (nothing under FPU_NONE). */
void fpu_load(const void *area);

/* Every CPU, for itself, interrupts off: the CR0/CR4 bits (and XCR0)
 * that make the FPU and SSE usable and saveable, then the clean state
 * loaded. The first CPU to call it (the boot CPU) chooses the
 * configuration; the others must find the same, or it panics. */
void fpu_cpu_init(void);

/* "XSAVE (x87 SSE AVX), 832 bytes per context", into buf. */
const char *fpu_describe(char *buf, size_t len);

#endif /* FPU_H */
