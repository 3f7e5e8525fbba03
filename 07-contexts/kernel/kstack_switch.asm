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
;; there, as entry.asm does for the boot stack. The two zero words
;; pushed first give gdb a defined end: it reads the lower one as
;; `kstack_switch`'s own return address, 0, instead of reading the
;; unmapped page above the stack (gdb/trapframe.py hides that frame). The top is page-aligned; two pushes and the `call` leave RSP
;; 8 bytes below a multiple of 16 at `fn`'s entry, as the calling
;; convention expects.

bits 64
default rel

section .text
global kstack_switch

kstack_switch:
        mov     rsp, rdi
        xor     ebp, ebp
        push    rbp                     ; a zero return address, and a
        push    rbp                     ; zero frame pointer under it
        call    rsi
        cli                             ; fn never returns; if it did,
.halt:                                  ; stop here
        hlt
        jmp     .halt
