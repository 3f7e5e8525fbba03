; fpu_probe.asm: helpers for the tests of switch_to() and of contexts
; (the host's, tests/host/test_switch.c and test_context.c, and the
; kernel's, context_tests.c), in assembly because C cannot hold a value
; in a chosen register across a call, nor keep the compiler's own use
; of XMM registers out of the way. The kernel's C is built without SSE
; (-mgeneral-regs-only): this file is the only kernel code that touches
; the XMM registers, besides switch.asm's saves and loads.
;
; struct fpu_image { u8 xmm[16][16]; u32 mxcsr; u16 fcw; u16 pad; ... }
; (tests/host/fpu_host.h and context_tests.c define it; offsets
; below).

;; ## Test helpers: registers across a switch
;;
;; Each helper loads known values into registers, calls something that
;; switches to another context and back, and writes what the registers
;; hold afterwards to memory, where the C test compares. The
;; instructions:
;;
;; - `movdqu xmm, [mem]` and `movdqu [mem], xmm` load and store the 16
;;   bytes of an XMM register ("unaligned": any address will do);
;;   `vmovdqu` does the same for the 32 bytes of a YMM register (AVX),
;;   and `vzeroupper` clears the upper halves of all of them again.
;; - `ldmxcsr [mem]` and `stmxcsr [mem]` load and store MXCSR;
;;   `fldcw [mem]` and `fnstcw [mem]` the x87 control word.
;; - `fninit` resets the x87 unit (control word 0x37F, its registers
;;   empty) and nothing else: what Redox 0.3.5 does for a context's
;;   first FPU load.
;; - `stc` sets the carry flag, `std` the direction flag, `cld` clears
;;   it: flags to see through a switch. `lea reg, [mem]` puts the
;;   address mem into reg without reading it, and `and` is a bitwise
;;   AND.

bits 64
default rel

%define IMG_XMM 0
%define IMG_MXCSR 256
%define IMG_FCW 260

section .text
global fpu_switch
global ymm_switch
global fpu_fill_call
global fpu_dump
global fninit_dump
global fxsave_entry
global rsp_misalignment
global callee_saved_call
global flags_switch
extern switch_to

; void fpu_switch(const struct fpu_image *in, struct context *old,
;                 struct context *new, struct fpu_image *out);
; Load in's XMM0-15, MXCSR and x87 control word, switch_to(old, new,
; NULL), and when old runs again, store the registers into out.
fpu_switch:
        push    rcx                     ; out (and RSP 16-aligned)
        call    load_image
        mov     rdi, rsi
        mov     rsi, rdx
        xor     edx, edx
        call    switch_to
        pop     rdi
        jmp     fpu_dump

; void fpu_fill_call(const struct fpu_image *in, void (*fn)(void *),
;                    void *arg, struct fpu_image *out);
; The same around fn(arg): for context_yield() and context_exit(),
; whose C code is built without SSE, so it leaves the registers alone.
fpu_fill_call:
        push    rcx
        call    load_image
        mov     rdi, rdx
        call    rsi
        pop     rdi
        jmp     fpu_dump

load_image:
        movdqu  xmm0, [rdi + IMG_XMM + 0 * 16]
        movdqu  xmm1, [rdi + IMG_XMM + 1 * 16]
        movdqu  xmm2, [rdi + IMG_XMM + 2 * 16]
        movdqu  xmm3, [rdi + IMG_XMM + 3 * 16]
        movdqu  xmm4, [rdi + IMG_XMM + 4 * 16]
        movdqu  xmm5, [rdi + IMG_XMM + 5 * 16]
        movdqu  xmm6, [rdi + IMG_XMM + 6 * 16]
        movdqu  xmm7, [rdi + IMG_XMM + 7 * 16]
        movdqu  xmm8, [rdi + IMG_XMM + 8 * 16]
        movdqu  xmm9, [rdi + IMG_XMM + 9 * 16]
        movdqu  xmm10, [rdi + IMG_XMM + 10 * 16]
        movdqu  xmm11, [rdi + IMG_XMM + 11 * 16]
        movdqu  xmm12, [rdi + IMG_XMM + 12 * 16]
        movdqu  xmm13, [rdi + IMG_XMM + 13 * 16]
        movdqu  xmm14, [rdi + IMG_XMM + 14 * 16]
        movdqu  xmm15, [rdi + IMG_XMM + 15 * 16]
        ldmxcsr [rdi + IMG_MXCSR]
        fldcw   [rdi + IMG_FCW]
        ret

; void fpu_dump(struct fpu_image *out): the registers, as they are.
fpu_dump:
        movdqu  [rdi + IMG_XMM + 0 * 16], xmm0
        movdqu  [rdi + IMG_XMM + 1 * 16], xmm1
        movdqu  [rdi + IMG_XMM + 2 * 16], xmm2
        movdqu  [rdi + IMG_XMM + 3 * 16], xmm3
        movdqu  [rdi + IMG_XMM + 4 * 16], xmm4
        movdqu  [rdi + IMG_XMM + 5 * 16], xmm5
        movdqu  [rdi + IMG_XMM + 6 * 16], xmm6
        movdqu  [rdi + IMG_XMM + 7 * 16], xmm7
        movdqu  [rdi + IMG_XMM + 8 * 16], xmm8
        movdqu  [rdi + IMG_XMM + 9 * 16], xmm9
        movdqu  [rdi + IMG_XMM + 10 * 16], xmm10
        movdqu  [rdi + IMG_XMM + 11 * 16], xmm11
        movdqu  [rdi + IMG_XMM + 12 * 16], xmm12
        movdqu  [rdi + IMG_XMM + 13 * 16], xmm13
        movdqu  [rdi + IMG_XMM + 14 * 16], xmm14
        movdqu  [rdi + IMG_XMM + 15 * 16], xmm15
        stmxcsr [rdi + IMG_MXCSR]
        fnstcw  [rdi + IMG_FCW]
        ret

; void fninit_dump(struct fpu_image *out): FNINIT, then fpu_dump.
fninit_dump:
        fninit
        jmp     fpu_dump

; void ymm_switch(const u8 in[16][32], struct context *old,
;                 struct context *new, u8 out[16][32]);
; As fpu_switch, for the 32 bytes of each of YMM0-15 (AVX).
ymm_switch:
        push    rcx
        vmovdqu ymm0, [rdi + 0 * 32]
        vmovdqu ymm1, [rdi + 1 * 32]
        vmovdqu ymm2, [rdi + 2 * 32]
        vmovdqu ymm3, [rdi + 3 * 32]
        vmovdqu ymm4, [rdi + 4 * 32]
        vmovdqu ymm5, [rdi + 5 * 32]
        vmovdqu ymm6, [rdi + 6 * 32]
        vmovdqu ymm7, [rdi + 7 * 32]
        vmovdqu ymm8, [rdi + 8 * 32]
        vmovdqu ymm9, [rdi + 9 * 32]
        vmovdqu ymm10, [rdi + 10 * 32]
        vmovdqu ymm11, [rdi + 11 * 32]
        vmovdqu ymm12, [rdi + 12 * 32]
        vmovdqu ymm13, [rdi + 13 * 32]
        vmovdqu ymm14, [rdi + 14 * 32]
        vmovdqu ymm15, [rdi + 15 * 32]
        mov     rdi, rsi
        mov     rsi, rdx
        xor     edx, edx
        call    switch_to
        pop     rdi
        vmovdqu [rdi + 0 * 32], ymm0
        vmovdqu [rdi + 1 * 32], ymm1
        vmovdqu [rdi + 2 * 32], ymm2
        vmovdqu [rdi + 3 * 32], ymm3
        vmovdqu [rdi + 4 * 32], ymm4
        vmovdqu [rdi + 5 * 32], ymm5
        vmovdqu [rdi + 6 * 32], ymm6
        vmovdqu [rdi + 7 * 32], ymm7
        vmovdqu [rdi + 8 * 32], ymm8
        vmovdqu [rdi + 9 * 32], ymm9
        vmovdqu [rdi + 10 * 32], ymm10
        vmovdqu [rdi + 11 * 32], ymm11
        vmovdqu [rdi + 12 * 32], ymm12
        vmovdqu [rdi + 13 * 32], ymm13
        vmovdqu [rdi + 14 * 32], ymm14
        vmovdqu [rdi + 15 * 32], ymm15
        vzeroupper
        ret

; long fxsave_entry(void *area): a context's function that saves, as
; its very first act, the FPU/SSE state it was started with into area
; (512 bytes, 16-aligned), and returns 0.
fxsave_entry:
        fxsave64 [rdi]
        xor     eax, eax
        ret

; long rsp_misalignment(void *unused): a context's function that
; returns (RSP + 8) % 16 at its entry: 0 if the caller kept the
; System V rule (RSP a multiple of 16 before the call).
rsp_misalignment:
        lea     rax, [rsp + 8]
        and     eax, 15
        ret

; void callee_saved_call(const u64 in[6], void (*fn)(void *), void *arg,
;                        u64 out[6]);
; Load RBX, RBP, R12-R15 from in, call fn(arg), store the six into out.
callee_saved_call:
        push    rbx
        push    rbp
        push    r12
        push    r13
        push    r14
        push    r15
        push    rcx                     ; out
        mov     rbx, [rdi + 0]
        mov     rbp, [rdi + 8]
        mov     r12, [rdi + 16]
        mov     r13, [rdi + 24]
        mov     r14, [rdi + 32]
        mov     r15, [rdi + 40]
        mov     rdi, rdx
        call    rsi                     ; RSP: 8 pushes, 16-aligned
        pop     rcx
        mov     [rcx + 0], rbx
        mov     [rcx + 8], rbp
        mov     [rcx + 16], r12
        mov     [rcx + 24], r13
        mov     [rcx + 32], r14
        mov     [rcx + 40], r15
        pop     r15
        pop     r14
        pop     r13
        pop     r12
        pop     rbp
        pop     rbx
        ret

; uint64_t flags_switch(struct context *old, struct context *new):
; set CF and DF, switch_to(old, new, NULL), and when old runs again
; return RFLAGS as it is then, with DF cleared again at once.
flags_switch:
        sub     rsp, 8
        xor     edx, edx
        stc
        std
        call    switch_to
        pushfq
        cld
        pop     rax
        add     rsp, 8
        ret
