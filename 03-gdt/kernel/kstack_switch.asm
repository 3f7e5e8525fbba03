; kstack_switch.asm: leave the current stack for good.
;
; _Noreturn void kstack_switch(uint64_t top, void (*fn)(void));
;
; System V arguments: RDI = the new stack's top, RSI = fn.

;; ### kstack_switch
;;
;; Moving to another stack is one instruction, `mov rsp, rdi`, but C
;; cannot say it: every local variable of the caller lives on the old
;; stack. So the caller hands over a function to run on the new stack,
;; and never gets control back. RBP = 0 ends the chain of frame pointers
;; there, as entry.asm does for the boot stack. The top is page-aligned,
;; and the `call` pushes 8 bytes, as the calling convention expects.

bits 64
default rel

section .text
global kstack_switch

kstack_switch:
        mov     rsp, rdi
        xor     ebp, ebp
        call    rsi
.halt:                                  ; fn never returns; if it did,
        cli                             ; stop here
        hlt
        jmp     .halt
