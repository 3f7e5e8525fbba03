/*
 * switch.h: the contract between the C code (context.h's struct
 * context) and switch.asm, which saves and loads it.
 *
 * Both sides include this file: C directly, NASM through
 * build/switch.inc, which the Makefile makes by turning every
 * "#define NAME VALUE" line below into "%define NAME VALUE" (as it does
 * for bootinfo.h). So every value here is a plain number. context.c
 * checks the C struct against these offsets with _Static_assert.
 */
#ifndef SWITCH_H
#define SWITCH_H

/* Byte offsets in struct context of what switch_to() saves and loads.
 * The first six are the registers the System V calling convention
 * makes callee-saved, besides RSP. */
#define CTX_RSP 0
#define CTX_RBX 8
#define CTX_RBP 16
#define CTX_R12 24
#define CTX_R13 32
#define CTX_R14 40
#define CTX_R15 48
#define CTX_RFLAGS 56
#define CTX_CR3 64
#define CTX_KSTACK_TOP 72
/* The FPU/SSE save area: the last member, 64-byte aligned (XSAVE
 * needs 64, FXSAVE 16), fpu_size bytes long. */
#define CTX_FPU 192

/* How switch_to() saves the FPU/SSE state (the variable fpu_mode). */
#define FPU_NONE 0      /* not at all: only for the benchmark's baseline */
#define FPU_FXSAVE 1    /* FXSAVE64/FXRSTOR64: x87 and SSE, 512 bytes */
#define FPU_XSAVE 2     /* XSAVE64/XRSTOR64: what XCR0 enables */

/* Offset of RSP0 in the 64-bit TSS (gdt.h's struct tss): the stack the
 * CPU loads when an interrupt arrives in ring 3. */
#define TSS_RSP0 4

#ifndef __ASSEMBLER__
#include <stdint.h>

struct context;
struct tss;

/*
 * Save the running context's state into old, load new's, and go on
 * where new left off: inside its own call of switch_to(), or, for a
 * context that never ran, at context_start. Returns, in new, the
 * context that switched to it (not always the `new` of this call: the
 * context that resumes us later may be any other). tss: this CPU's
 * TSS, whose RSP0 becomes new's stack top (NULL in the host tests,
 * whose build leaves CR3 and the TSS out).
 *
 * Preconditions: interrupts off; no spinlock held; old is the running
 * context; new is not running anywhere.
 */
struct context *switch_to(struct context *old, struct context *new,
			  struct tss *tss);

/* Where a new context starts (switch.asm). Never called: a new
 * context's first switch_to() returns into it. */
void context_start(void);

/* fpu.c: how switch_to() saves FPU state, and the XSAVE mask (XCR0).
 * Written once, by the boot CPU, before any context exists. */
extern uint32_t fpu_mode;
extern uint64_t fpu_xcr0;
#endif

#endif /* SWITCH_H */
