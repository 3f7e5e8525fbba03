/*
 * test_switch.c: host tests of switch_to() and context_start
 * (kernel/switch.asm) and of the FPU choices of kernel/fpu.c: real
 * switches between contexts on stacks of this program's own memory.
 *
 * Built by the Makefile with the switch assembled for user space and
 * the helpers of fpu_probe.asm (`make hosttest` runs it):
 *
 *   nasm -f elf64 -DHOST_TEST -I build/ -o build/host/switch.o \
 *       kernel/switch.asm
 *   nasm -f elf64 -o build/host/fpu_probe.o kernel/fpu_probe.asm
 *   gcc -std=gnu11 -g -O1 -fsanitize=address,undefined ... \
 *       -o build/host/test_switch tests/host/test_switch.c \
 *       build/host/switch.o build/host/fpu_probe.o
 *
 * The host build of switch.asm leaves out CR3 and the TSS (user space
 * can touch neither); everything else is the kernel's code. A context
 * here is a struct context from the heap and a 64 KiB stack, started
 * the way context.c starts one; the test plays context.c's part for
 * context_first_run() and context_exit(), which context_start calls.
 * Each FPU case runs in both modes the host has: FXSAVE, and XSAVE
 * with the parts FPU_XCR0_WANTED names (on this machine's CPU, XCR0
 * decides).
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "format.c"
#include "../../kernel/fpu.c"
#include "../../kernel/context.h"
#include "fpu_host.h"

/* ---- Contexts of this program ---- */

#define STACK_BYTES (64 * 1024)

struct host_ctx {
	struct context *c;
	void *stack;
};

static struct context *make(void)
{
	struct context *c = aligned_alloc(64, CTX_FPU + FPU_AREA_MAX);

	memset(c, 0, CTX_FPU + FPU_AREA_MAX);
	fpu_clean_image(c->fpu);
	return c;
}

/* What context.c's first_frame() does, on a stack from the heap. */
static struct context *spawn(long (*fn)(void *), void *arg, void **stack)
{
	struct context *c = make();
	uint64_t *top;

	*stack = aligned_alloc(4096, STACK_BYTES);
	top = (uint64_t *)((uint8_t *)*stack + STACK_BYTES);
	top[-1] = 0;
	top[-2] = (uint64_t)(uintptr_t)context_start;
	c->rsp = (uint64_t)(uintptr_t)&top[-2];
	c->r12 = (uint64_t)(uintptr_t)fn;
	c->r13 = (uint64_t)(uintptr_t)arg;
	c->rflags = 0x2;
	return c;
}

/* context.c's part, as context_start sees it. A context that exits
 * goes back to exit_to, for good. */
static struct context *first_prev;     /* context_first_run's prev */
static int first_runs;
static struct context *exiting, *exit_to;
static long exit_result;
static int exits;

void context_first_run(struct context *prev)
{
	first_prev = prev;
	first_runs++;
}

_Noreturn void context_exit(long result)
{
	exit_result = result;
	exits++;
	switch_to(exiting, exit_to, NULL);
	abort();                         /* nothing switches back to it */
}

static struct context *me;           /* the test's own context */

static void reset(void)
{
	first_prev = exiting = exit_to = NULL;
	first_runs = exits = 0;
	exit_result = -1;
	free(me);
	me = make();
}

/* Run context c, started by spawn(), until it exits back to us. */
static void run_to_exit(struct context *c)
{
	exiting = c;
	exit_to = me;
	switch_to(me, c, NULL);
}

/* ---- The first switch ---- */

static void *seen_arg;
static uintptr_t seen_frame;

static long entry_records(void *arg)
{
	seen_arg = arg;
	seen_frame = (uintptr_t)__builtin_frame_address(0);
	return 1234;
}

static void first_switch_enters_fn_and_exits(void)
{
	void *stack;
	struct context *b;
	int x;

	reset();
	b = spawn(entry_records, &x, &stack);
	run_to_exit(b);
	CHECK(first_runs == 1 && first_prev == me);
	CHECK(seen_arg == &x);
	CHECKF(seen_frame % 16 == 0, "frame pointer %#lx", seen_frame);
	CHECK(exits == 1 && exit_result == 1234);
	free(b);
	free(stack);
}

static void entry_stack_is_aligned(void)
{
	void *stack;
	struct context *b;

	reset();
	b = spawn(rsp_misalignment, NULL, &stack);
	run_to_exit(b);
	CHECKF(exits == 1 && exit_result == 0, "RSP + 8 at entry is %ld "
	       "mod 16", exit_result);
	free(b);
	free(stack);
}

/* B switches to C, C back to the test: the test's switch_to returns
 * C, the context that switched to it, not B. */
static struct context *ring[3];

static long hop(void *arg)
{
	int i = (int)(uintptr_t)arg;

	switch_to(ring[i], ring[(i + 1) % 3], NULL);
	return 0;
}

static void switch_returns_the_context_we_came_from(void)
{
	void *s1, *s2;
	struct context *got;

	reset();
	ring[0] = me;
	ring[1] = spawn(hop, (void *)1, &s1);
	ring[2] = spawn(hop, (void *)2, &s2);
	got = switch_to(me, ring[1], NULL);
	CHECK(got == ring[2]);
	CHECK(first_runs == 2);
	free(ring[1]);
	free(ring[2]);
	free(s1);
	free(s2);
}

/* ---- Registers ---- */

struct pair {
	struct context *from, *to;
};

static void do_switch(void *arg)
{
	struct pair *p = arg;

	switch_to(p->from, p->to, NULL);
}

static const uint64_t regs_a[6] = {
	0x1111111111111111, 0x2222222222222222, 0x3333333333333333,
	0x4444444444444444, 0x5555555555555555, 0x6666666666666666,
};
static const uint64_t regs_b[6] = {
	0xaaaaaaaaaaaaaaaa, 0xbbbbbbbbbbbbbbbb, 0xcccccccccccccccc,
	0xdddddddddddddddd, 0xeeeeeeeeeeeeeeee, 0x0123456789abcdef,
};
static uint64_t out_b[6];
static struct context *reg_b;

static long regs_entry(void *arg)
{
	struct pair back = { reg_b, me };

	(void)arg;
	callee_saved_call(regs_b, do_switch, &back, out_b);
	return 0;
}

static void callee_saved_registers_survive(void)
{
	static const char *const name[6] = {
		"rbx", "rbp", "r12", "r13", "r14", "r15",
	};
	uint64_t out_a[6];
	void *stack;
	struct pair go;

	reset();
	reg_b = spawn(regs_entry, NULL, &stack);
	go = (struct pair){ me, reg_b };
	callee_saved_call(regs_a, do_switch, &go, out_a);
	run_to_exit(reg_b);                  /* B stores its registers */
	for (int i = 0; i < 6; i++) {
		CHECKF(out_a[i] == regs_a[i], "A's %s: %#lx", name[i],
		       out_a[i]);
		CHECKF(out_b[i] == regs_b[i], "B's %s: %#lx", name[i],
		       out_b[i]);
	}
	free(reg_b);
	free(stack);
}

#define RFLAGS_CF (1ull << 0)
#define RFLAGS_DF (1ull << 10)

static uint64_t b_flags;

static long flags_entry(void *arg)
{
	(void)arg;
	b_flags = __builtin_ia32_readeflags_u64();
	switch_to(exiting, me, NULL);
	return 0;
}

static void flags_survive_and_do_not_leak(void)
{
	void *stack;
	struct context *b;
	uint64_t flags;

	reset();
	b = spawn(flags_entry, NULL, &stack);
	exiting = b;
	exit_to = me;
	flags = flags_switch(me, b);         /* CF and DF set, then back */
	CHECKF((flags & RFLAGS_CF) && (flags & RFLAGS_DF),
	       "RFLAGS after the switch back: %#lx", flags);
	CHECKF(!(b_flags & RFLAGS_DF), "the new context's DF is set");
	switch_to(me, b, NULL);              /* let it finish */
	CHECK(exits == 1);
	free(b);
	free(stack);
}

/* ---- The FPU, in each mode ---- */

/* The host's own choice, or FXSAVE. */
static bool use_mode(uint32_t mode)
{
	struct fpu_config c;

	if (fpu_host_config(&c) != 0)
		return false;
	if (mode == FPU_FXSAVE)
		c = (struct fpu_config){ FPU_FXSAVE, FPU_FXSAVE_SIZE,
					 XCR0_X87 | XCR0_SSE };
	else if (c.mode != FPU_XSAVE)
		return false;
	fpu_apply(&c);
	return true;
}

/* MXCSR 0x7F80: round toward zero; 0x3F80: round down. x87 control
 * word 0x27F: 53-bit precision; 0xF7F: round toward zero. */
static struct fpu_image img_a, img_b, out_a, out_b2;
static struct context *fpu_b;

static long fpu_entry(void *arg)
{
	(void)arg;
	fpu_switch(&img_b, fpu_b, me, &out_b2);
	return 0;
}

static void fpu_isolated(uint32_t mode)
{
	void *stack;

	reset();
	image_fill(&img_a, 0x10, 0x7F80, 0x027F);
	image_fill(&img_b, 0x80, 0x3F80, 0x0F7F);
	fpu_b = spawn(fpu_entry, NULL, &stack);
	fpu_switch(&img_a, me, fpu_b, &out_a);   /* B sets its own, back */
	CHECKF(image_same(&out_a, &img_a), "mode %u: A's registers changed "
	       "(MXCSR %#x, FCW %#x, XMM0[0] %#x)", mode, out_a.mxcsr,
	       out_a.fcw, out_a.xmm[0][0]);
	run_to_exit(fpu_b);                      /* B stores its own */
	CHECKF(image_same(&out_b2, &img_b), "mode %u: B's registers "
	       "changed (MXCSR %#x, XMM0[0] %#x)", mode, out_b2.mxcsr,
	       out_b2.xmm[0][0]);
	free(fpu_b);
	free(stack);
}

static uint8_t ymm_a[16][32], ymm_b[16][32], ymm_out_a[16][32],
	ymm_out_b[16][32];

static long ymm_entry(void *arg)
{
	(void)arg;
	ymm_switch(ymm_b, fpu_b, me, ymm_out_b);
	return 0;
}

static void ymm_isolated_under_xsave(void)
{
	void *stack;

	reset();
	if (!(fpu_xcr0 & XCR0_AVX)) {
		printf("  (no AVX in XCR0: nothing to check)\n");
		return;
	}
	for (int r = 0; r < 16; r++)
		for (int b = 0; b < 32; b++) {
			ymm_a[r][b] = (uint8_t)(r * 32 + b);
			ymm_b[r][b] = (uint8_t)(0xFF - r * 32 - b);
		}
	fpu_b = spawn(ymm_entry, NULL, &stack);
	ymm_switch(ymm_a, me, fpu_b, ymm_out_a);
	run_to_exit(fpu_b);
	CHECK(memcmp(ymm_a, ymm_out_a, sizeof ymm_a) == 0);
	CHECK(memcmp(ymm_b, ymm_out_b, sizeof ymm_b) == 0);
	free(fpu_b);
	free(stack);
}

/* The state a fresh context saw, FXSAVE's layout. */
static uint8_t fresh[512] __attribute__((aligned(16)));

static void new_context_starts_clean(uint32_t mode)
{
	struct fpu_image dirty, after;
	void *stack;
	struct context *b;
	char what[40];

	reset();
	image_fill(&dirty, 0xA5, 0x7F80 | 0x3F, 0x027F);  /* flags set too */
	memset(fresh, 0xEE, sizeof fresh);
	b = spawn(fxsave_entry, fresh, &stack);
	exiting = b;
	exit_to = me;
	fpu_switch(&dirty, me, b, &after);       /* B saves what it got */
	snprintf(what, sizeof what, "mode %u", mode);
	check_clean(fresh, what);
	CHECK(image_same(&after, &dirty));       /* and ours came back */
	free(b);
	free(stack);
}

static void nothing(void *arg)
{
	(void)arg;
}

/**
 * ## What FNINIT leaves behind
 *
 * Redox 0.3.5 gives a context that never ran `FNINIT` instead of a
 * saved state. This case fills the registers as a previous thread
 * would, runs FNINIT, and looks: the x87 control word is reset, but
 * every XMM register and MXCSR still hold the previous thread's
 * values. The case passes when the leak is there, which is what shows
 * that the check of new_context_starts_clean() can see one.
 */
static void fninit_alone_leaks_xmm_and_mxcsr(void)
{
	struct fpu_image dirty, out, after;

	image_fill(&dirty, 0x5A, 0x7F80, 0x027F);
	fpu_fill_call(&dirty, nothing, NULL, &out);
	fninit_dump(&after);
	CHECK(after.fcw == FCW_DEFAULT);
	CHECK(memcmp(after.xmm, dirty.xmm, sizeof dirty.xmm) == 0);
	CHECK(after.mxcsr == dirty.mxcsr);
}

/* FPU_NONE, the benchmark's baseline, saves nothing: a new context
 * sees the old one's values. */
static void no_fpu_mode_leaks(void)
{
	struct fpu_image dirty, after;
	void *stack;
	struct context *b;

	reset();
	fpu_mode = FPU_NONE;
	image_fill(&dirty, 0x33, 0x7F80, 0x027F);
	b = spawn(fxsave_entry, fresh, &stack);
	exiting = b;
	exit_to = me;
	fpu_switch(&dirty, me, b, &after);
	CHECK(memcmp(fresh + 160, dirty.xmm, sizeof dirty.xmm) == 0);
	free(b);
	free(stack);
}

static bool use_mode_or_say(uint32_t mode)
{
	if (use_mode(mode))
		return true;
	printf("  (this CPU has no XSAVE: nothing to check)\n");
	return false;
}

static void run_fpu_cases(uint32_t mode, const char *name)
{
	CASE("fpu_isolated_%s", name)
		if (use_mode_or_say(mode))
			fpu_isolated(mode);
	CASE("new_context_starts_clean_%s", name)
		if (use_mode_or_say(mode))
			new_context_starts_clean(mode);
}

/* ---- fpu_choose, on made-up CPUs and on this one ---- */

struct fake_cpu {
	uint32_t l1_ecx, l1_edx;     /* leaf 1 */
	uint32_t d0_eax, d0_edx;     /* leaf 0Dh, subleaf 0 */
	uint32_t size[64], offset[64];   /* leaf 0Dh, subleaf i */
};

static const struct fake_cpu *fake;

static struct cpuid_regs cpuid_fake(uint32_t leaf, uint32_t subleaf)
{
	struct cpuid_regs r = { 0, 0, 0, 0 };

	if (leaf == 1)
		r.ecx = fake->l1_ecx, r.edx = fake->l1_edx;
	else if (leaf == CPUID_XSAVE_LEAF && subleaf == 0)
		r.eax = fake->d0_eax, r.edx = fake->d0_edx;
	else if (leaf == CPUID_XSAVE_LEAF && subleaf < 64)
		r.eax = fake->size[subleaf], r.ebx = fake->offset[subleaf];
	return r;
}

#define FX_SSE2 (CPUID_01_EDX_FXSR | CPUID_01_EDX_SSE2)

/* The offsets and sizes of a real AVX-512 CPU (and of the SDM). */
static struct fake_cpu avx512_cpu(uint32_t d0_eax)
{
	struct fake_cpu c = { CPUID_01_ECX_XSAVE, FX_SSE2, d0_eax, 0,
			      { 0 }, { 0 } };

	c.size[2] = 256, c.offset[2] = 576;      /* AVX */
	c.size[3] = 64, c.offset[3] = 960;       /* MPX */
	c.size[4] = 64, c.offset[4] = 1024;
	c.size[5] = 64, c.offset[5] = 1088;      /* opmask */
	c.size[6] = 512, c.offset[6] = 1152;     /* ZMM_Hi256 */
	c.size[7] = 1024, c.offset[7] = 1664;    /* Hi16_ZMM */
	c.size[9] = 8, c.offset[9] = 2688;       /* PKRU */
	return c;
}

static void choose(const struct fake_cpu *c, int want_ret, uint32_t mode,
		   uint64_t xcr0, uint32_t size)
{
	struct fpu_config got = { 99, 99, 99 };
	int ret;

	fake = c;
	ret = fpu_choose(cpuid_fake, &got);
	CHECKF(ret == want_ret, "returned %d", ret);
	if (ret == 0)
		CHECKF(got.mode == mode && got.xcr0 == xcr0 &&
		       got.size == size, "mode %u xcr0 %#lx size %u; want "
		       "%u %#lx %u", got.mode, got.xcr0, got.size, mode,
		       xcr0, size);
}

static void fpu_choose_on_made_up_cpus(void)
{
	struct fake_cpu qemu64 = { 0, FX_SSE2, 0, 0, { 0 }, { 0 } };
	struct fake_cpu no_sse2 = { 0, CPUID_01_EDX_FXSR, 0, 0, { 0 },
				    { 0 } };
	struct fake_cpu avx = avx512_cpu(0x07);
	struct fake_cpu all = avx512_cpu(0x2FF);  /* MPX, PKRU as well */
	struct fake_cpu half = avx512_cpu(0x67);  /* no Hi16_ZMM */
	struct fake_cpu broken = avx512_cpu(0x01);
	struct fake_cpu huge = avx512_cpu(0xE7);

	huge.size[7] = 8192;
	choose(&qemu64, 0, FPU_FXSAVE, XCR0_X87 | XCR0_SSE, 512);
	choose(&no_sse2, -1, 0, 0, 0);
	choose(&avx, 0, FPU_XSAVE, 0x07, 832);
	choose(&all, 0, FPU_XSAVE, 0xE7, 2688);
	choose(&half, 0, FPU_XSAVE, 0x07, 832);
	choose(&broken, 0, FPU_FXSAVE, XCR0_X87 | XCR0_SSE, 512);
	choose(&huge, 0, FPU_FXSAVE, XCR0_X87 | XCR0_SSE, 512);
	fake = &all;
	CHECK(fpu_xsave_size(cpuid_fake, 0x03) == FPU_XSAVE_MIN);
	CHECK(fpu_xsave_size(cpuid_fake, 0x207) == 2688 + 64);
}

static void fpu_choose_on_this_cpu(void)
{
	struct fpu_config c;
	uint64_t xcr0 = xgetbv0();
	uint32_t ebx = cpuid(CPUID_XSAVE_LEAF, 0).ebx;
	char buf[80];

	CHECK(fpu_choose(cpuid_host, &c) == 0);
	CHECK(c.mode == FPU_XSAVE);              /* every recent x86 */
	/* leaf 0Dh's EBX: the size for what XCR0 enables right now */
	CHECKF(fpu_xsave_size(cpuid_host, xcr0) == ebx,
	       "computed %u for XCR0 %#lx, CPUID says %u",
	       fpu_xsave_size(cpuid_host, xcr0), xcr0, ebx);
	fpu_apply(&c);
	printf("  (this CPU: XCR0 %#lx; %s)\n", xcr0,
	       fpu_describe(buf, sizeof buf));
	CHECK(memcmp(buf, "XSAVE (x87 SSE", 14) == 0);
}

static void clean_image_holds_the_defaults(void)
{
	uint8_t area[FPU_AREA_MAX] __attribute__((aligned(64)));
	uint16_t fcw;
	uint32_t mxcsr;
	bool zero = true;

	use_mode(FPU_XSAVE);
	memset(area, 0xEE, sizeof area);
	fpu_clean_image(area);
	memcpy(&fcw, area + FPU_OFF_FCW, 2);
	memcpy(&mxcsr, area + FPU_OFF_MXCSR, 4);
	for (uint32_t i = 0; i < fpu_size; i++)
		if (i != 0 && i != 1 && (i < 24 || i > 27))
			zero = zero && area[i] == 0;
	CHECK(fcw == FCW_DEFAULT && mxcsr == MXCSR_DEFAULT && zero);
	CHECK(area[fpu_size] == 0xEE);           /* and no further */
}

int main(void)
{
	RUN(first_switch_enters_fn_and_exits);
	RUN(entry_stack_is_aligned);
	RUN(switch_returns_the_context_we_came_from);
	RUN(callee_saved_registers_survive);
	RUN(flags_survive_and_do_not_leak);
	RUN(fpu_choose_on_made_up_cpus);
	RUN(fpu_choose_on_this_cpu);
	RUN(clean_image_holds_the_defaults);
	run_fpu_cases(FPU_FXSAVE, "fxsave");
	run_fpu_cases(FPU_XSAVE, "xsave");
	CASE("ymm_isolated_xsave")
		if (use_mode_or_say(FPU_XSAVE))
			ymm_isolated_under_xsave();
	RUN(fninit_alone_leaks_xmm_and_mxcsr);
	RUN(no_fpu_mode_leaks);
	free(me);
	return check_done("test_switch");
}
