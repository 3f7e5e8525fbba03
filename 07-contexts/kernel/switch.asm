; switch.asm: the context switch, and where a new context begins.
;
; struct context *switch_to(struct context *old, struct context *new,
;                           struct tss *tss);
; void context_start(void);      (entered by switch_to's ret, not called)
;
; System V arguments: RDI = old, RSI = new, RDX = tss. Returns, in RAX,
; the context that switched to the one now running. The offsets CTX_*
; and the FPU_* modes come from kernel/switch.h (build/switch.inc).
; Assembled with -DHOST_TEST for the host tests, it leaves out CR3 and
; the TSS, which user space can neither read nor write.

;; ## switch_to: one context in, another out
;;
;; The C side (context.c) decides which context runs next; this routine
;; only moves the CPU from one to the other. It is called like any
;; function, by the old context, and "returns" in the new one. In
;; between, the CPU saves everything the old context will need to go
;; on and loads what the new one saved when it last stopped here:
;;
;;     old context's stack                 new context's stack
;;     +------------------------+          +------------------------+
;;     | schedule()'s frame ... |          | schedule()'s frame ... |
;;     | return address into    |          | return address into    |
;;     | schedule()             |          | schedule(), or         |
;;     +------------------------+ <- RSP   | context_start (new)    |
;;       saved into old->rsp               +------------------------+
;;                                           <- new->rsp, loaded
;;
;; 1. **The old context's registers.** The callee-saved registers go
;;    into the old context's struct (context.c says why these six);
;;    the flags too: `pushfq` pushes RFLAGS onto the stack, and `pop`
;;    with a memory operand moves it from there into the struct.
;; 2. **Its FPU and SSE registers**, eagerly, on every switch (fpu.c
;;    says why). `fxsave64 [mem]` writes the x87 and SSE registers into
;;    512 bytes at mem (the 64 makes it save the full 64-bit
;;    instruction and data pointers of the x87 unit). `xsave64 [mem]`
;;    writes every part of the state named in the mask EDX:EAX that
;;    XCR0 enables; the mask is fpu_xcr0. Both take the area inside the
;;    struct, at CTX_FPU.
;; 3. **The old stack pointer.** From here on, nothing is pushed on the
;;    old stack: the old context is complete in its struct.
;; 4. **The address space.** Load CR3 only when the new context's
;;    differs from the one in use: writing CR3 throws away every
;;    translation the TLB holds that is not global, and all kernel
;;    threads share the kernel's tables.
;; 5. **TSS.RSP0**, the stack the CPU takes when an interrupt comes
;;    while user code runs: the new context's stack top.
;; 6. **The new context's FPU and SSE registers**: `fxrstor64 [mem]`
;;    and `xrstor64 [mem]` are the loads matching the saves of step 2.
;; 7. **The new stack and registers**, then its flags: `push` of its
;;    saved RFLAGS and `popfq`, which pops the top of the stack into
;;    RFLAGS. The flags come last, so that nothing after them can
;;    change them, and interrupts stay off all through (Redox 0.3.5
;;    loads the new flags in the middle, before its registers).
;; 8. RAX = old, the return value; `ret` pops the new context's return
;;    address. For a context that ran before, that is the instruction
;;    after its own `call switch_to`: it returns from its switch_to(),
;;    with the context that switched to it in RAX. For a new one, it is
;;    context_start.
;;
;; The FPU mode is read from fpu_mode each time: two compares, which a
;; CPU predicts perfectly, as the mode never changes after start-up.

bits 64
default rel

%include "switch.inc"

section .text
global switch_to
global context_start
extern fpu_mode
extern fpu_xcr0
extern context_first_run
extern context_exit

switch_to:
        mov     [rdi + CTX_RBX], rbx    ; 1. the old context's registers
        mov     [rdi + CTX_RBP], rbp
        mov     [rdi + CTX_R12], r12
        mov     [rdi + CTX_R13], r13
        mov     [rdi + CTX_R14], r14
        mov     [rdi + CTX_R15], r15
        pushfq
        pop     qword [rdi + CTX_RFLAGS]
        mov     r10, rdx                ; tss: EDX is XSAVE's mask
        mov     r9d, [rel fpu_mode]     ; 2. its FPU/SSE registers
        mov     eax, [rel fpu_xcr0]
        mov     edx, [rel fpu_xcr0 + 4]
        cmp     r9d, FPU_XSAVE
        je      .xsave
        cmp     r9d, FPU_FXSAVE
        jne     .saved
        fxsave64 [rdi + CTX_FPU]
        jmp     .saved
.xsave:
        xsave64 [rdi + CTX_FPU]
.saved:
        mov     [rdi + CTX_RSP], rsp    ; 3. the old stack pointer
%ifndef HOST_TEST
        mov     r8, [rsi + CTX_CR3]     ; 4. the address space
        mov     rcx, cr3
        cmp     rcx, r8
        je      .same_space
        mov     cr3, r8
.same_space:
        mov     r8, [rsi + CTX_KSTACK_TOP]
        mov     [r10 + TSS_RSP0], r8    ; 5. TSS.RSP0
%endif
        cmp     r9d, FPU_XSAVE          ; 6. the new FPU/SSE registers
        je      .xrstor
        cmp     r9d, FPU_FXSAVE
        jne     .loaded
        fxrstor64 [rsi + CTX_FPU]
        jmp     .loaded
.xrstor:
        xrstor64 [rsi + CTX_FPU]
.loaded:
        mov     rsp, [rsi + CTX_RSP]    ; 7. the new stack and registers
        mov     rbx, [rsi + CTX_RBX]
        mov     rbp, [rsi + CTX_RBP]
        mov     r12, [rsi + CTX_R12]
        mov     r13, [rsi + CTX_R13]
        mov     r14, [rsi + CTX_R14]
        mov     r15, [rsi + CTX_R15]
        push    qword [rsi + CTX_RFLAGS]
        popfq
        mov     rax, rdi                ; 8. the context we came from
        ret

;; ## context_start: a new context's first instructions
;;
;; switch_to's `ret` lands here in a context that has never run, on the
;; stack spawn prepared (context.c draws it): RSP is the stack's top
;; minus 8, where a return address of 0 ends every backtrace; R12 holds
;; fn, R13 its argument, RBP 0, and RAX the context we came from.
;;
;; 1. Push RBP (0), so that RSP is a multiple of 16 for the calls below,
;;    as the calling convention requires, and the chain of saved frame
;;    pointers ends here; RBP then points at this frame.
;; 2. context_first_run(prev): finish the switch (context.c), then
;;    interrupts on.
;; 3. fn(arg). It starts with RSP 8 bytes off a multiple of 16, as every
;;    function does after a `call`.
;; 4. context_exit(fn's result), which switches away for good and never
;;    returns. If it did, `ud2` (an instruction defined to be invalid:
;;    it raises #UD, "invalid opcode") stops the CPU with an exception
;;    report rather than letting it run into whatever follows.
;;
;; R12 and R13 are callee-saved, so fn and arg survive the first call.

context_start:
        push    rbp                     ; 1. 0: the frame chain ends
        mov     rbp, rsp
        mov     rdi, rax                ; 2. the context we came from
        call    context_first_run
        mov     rdi, r13                ; 3. fn(arg)
        call    r12
        mov     rdi, rax                ; 4. context_exit(result)
        call    context_exit
        ud2
