/*
 * fpu_host.h: what the host tests of switching (test_switch.c,
 * test_context.c) and the benchmark share about the FPU: the helpers
 * of fpu_probe.asm and the image they store, the host's own CPUID and
 * XCR0, and the check that a saved area holds the clean state.
 */
#ifndef FPU_HOST_H
#define FPU_HOST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* What fpu_probe.asm stores and loads (its IMG_ offsets). */
struct fpu_image {
	uint8_t xmm[16][16];
	uint32_t mxcsr;
	uint16_t fcw, pad;
	uint8_t rest[12];
};
_Static_assert(offsetof(struct fpu_image, mxcsr) == 256, "IMG_MXCSR");
_Static_assert(offsetof(struct fpu_image, fcw) == 260, "IMG_FCW");

struct context;

void fpu_switch(const struct fpu_image *in, struct context *old,
		struct context *new, struct fpu_image *out);
void ymm_switch(const uint8_t in[16][32], struct context *old,
		struct context *new, uint8_t out[16][32]);
void fpu_fill_call(const struct fpu_image *in, void (*fn)(void *),
		   void *arg, struct fpu_image *out);
void fninit_dump(struct fpu_image *out);
long fxsave_entry(void *area);
long rsp_misalignment(void *unused);
void callee_saved_call(const uint64_t in[6], void (*fn)(void *),
		       void *arg, uint64_t out[6]);
uint64_t flags_switch(struct context *old, struct context *new);

static __attribute__((unused))
struct cpuid_regs cpuid_host(uint32_t leaf, uint32_t subleaf)
{
	return cpuid(leaf, subleaf);
}

/* XGETBV 0: the XCR0 the host's kernel set. */
static __attribute__((unused)) uint64_t xgetbv0(void)
{
	uint32_t lo, hi;

	__asm__ volatile("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
	return (uint64_t)hi << 32 | lo;
}

/* fpu_choose() on this CPU, with XSAVE's mask cut to what the host's
 * XCR0 enables (in the kernel, fpu_cpu_init() sets XCR0 itself). */
static __attribute__((unused)) int fpu_host_config(struct fpu_config *c)
{
	if (fpu_choose(cpuid_host, c) != 0)
		return -1;
	if (c->mode == FPU_XSAVE) {
		c->xcr0 &= xgetbv0();
		c->size = fpu_xsave_size(cpuid_host, c->xcr0);
	}
	return 0;
}

/* Registers full of a pattern: XMM byte b of register r is seed +
 * 16 r + b. */
static __attribute__((unused))
void image_fill(struct fpu_image *p, uint8_t seed, uint32_t mxcsr,
		uint16_t fcw)
{
	for (int r = 0; r < 16; r++)
		for (int b = 0; b < 16; b++)
			p->xmm[r][b] = (uint8_t)(seed + r * 16 + b);
	p->mxcsr = mxcsr;
	p->fcw = fcw;
	p->pad = 0;
}

static __attribute__((unused))
bool image_same(const struct fpu_image *a, const struct fpu_image *b)
{
	for (int r = 0; r < 16; r++)
		for (int i = 0; i < 16; i++)
			if (a->xmm[r][i] != b->xmm[r][i])
				return false;
	return a->mxcsr == b->mxcsr && a->fcw == b->fcw;
}

#ifdef CHECK_H
/* area, in FXSAVE's layout, holds the clean state: FCW 0x37F, FSW 0,
 * every x87 register empty (abridged tag word 0), MXCSR 0x1F80, ST0-7
 * and XMM0-15 zero. */
static __attribute__((unused))
void check_clean(const uint8_t *a, const char *what)
{
	uint16_t fcw = (uint16_t)(a[0] | a[1] << 8);
	uint16_t fsw = (uint16_t)(a[2] | a[3] << 8);
	uint32_t mxcsr = (uint32_t)a[24] | (uint32_t)a[25] << 8 |
			 (uint32_t)a[26] << 16 | (uint32_t)a[27] << 24;
	bool zero = true;

	for (int i = 32; i < 416; i++)             /* ST0-7, XMM0-15 */
		zero = zero && a[i] == 0;
	CHECKF(fcw == FCW_DEFAULT && fsw == 0 && a[4] == 0,
	       "%s: FCW %#x FSW %#x FTW %#x", what, fcw, fsw, a[4]);
	CHECKF(mxcsr == MXCSR_DEFAULT, "%s: MXCSR %#x", what, mxcsr);
	CHECKF(zero, "%s: x87 or XMM registers not zero", what);
}
#endif

#endif /* FPU_HOST_H */
