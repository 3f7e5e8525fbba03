; isr.asm: the first instructions of every interrupt and exception
; handler. Each stub makes the stack look the same, then the common
; code saves every general register and calls the C dispatcher:
;
;     void trap_dispatch(struct trap_frame *f);        (trap.c)

;; ## Interrupt entry
;;
;; When an interrupt or exception arrives in ring 0, the CPU aligns RSP
;; down to 16 bytes (or switches to an IST stack), then pushes five
;; values: SS, RSP, RFLAGS, CS and RIP, the *interrupt frame* that
;; `iretq` pops at the end. Some exceptions then push an *error code*
;; as well: vectors 8, 10-14, 17, 21, 29 and 30. Others do not.
;;
;; So that one C function can handle them all, every stub makes the
;; frame uniform. A stub for a vector without an error code pushes a 0
;; in its place. Then every stub pushes its vector number and jumps to
;; `isr_common`. That pushes the fifteen general registers, and the stack
;; then holds, from low addresses to high, exactly `struct trap_frame`
;; (trap.h):
;;
;;     r15 r14 ... rbx rax | vector error | rip cs rflags rsp ss
;;     (isr_common)          (stub)         (CPU)
;;
;; RSP then points at the structure, and it goes to `trap_dispatch` as
;; its argument in RDI. The stack stays 16-byte aligned for the call:
;; 5 + 1 + 1 + 15 = 22 eight-byte values, 176 bytes, a multiple of 16.
;; On return, `isr_common` pops the registers, drops vector and error
;; code, and executes `iretq`.
;;
;; There is a stub for each of the 256 vectors (chapter 03 had 48): the
;; local APIC's interrupts live at the top, 0xF0-0xFF, and any vector
;; that arrives unexpectedly is reported by its number.

bits 64
default rel

section .text
extern trap_dispatch
global isr_stubs

; A stub for vector %1, which pushes no error code of its own.
%macro stub_no_error 1
isr_%1:
        push    0
        push    %1
        jmp     isr_common
%endmacro

; A stub for vector %1, for which the CPU pushed an error code.
%macro stub_error 1
isr_%1:
        push    %1
        jmp     isr_common
%endmacro

;; The 48 stubs are written by the assembler, not by hand: `%macro` ...
;; `%endmacro` above define the two kinds of stub, `%assign` sets an
;; assembly-time variable, `%rep 48` ... `%endrep` repeats the lines
;; between them 48 times, and `%if` ... `%else` ... `%endif` picks the
;; kind from the vector number. None of this is an instruction: NASM
;; runs it while assembling.
%assign v 0
%rep 256
%if v == 8 || (v >= 10 && v <= 14) || v == 17 || v == 21 || v == 29 || v == 30
        stub_error v
%else
        stub_no_error v
%endif
%assign v v + 1
%endrep

isr_common:
        push    rax
        push    rbx
        push    rcx
        push    rdx
        push    rsi
        push    rdi
        push    rbp
        push    r8
        push    r9
        push    r10
        push    r11
        push    r12
        push    r13
        push    r14
        push    r15
        mov     rdi, rsp                ; struct trap_frame *
        cld                             ; C expects DF = 0
        call    trap_dispatch
        pop     r15
        pop     r14
        pop     r13
        pop     r12
        pop     r11
        pop     r10
        pop     r9
        pop     r8
        pop     rbp
        pop     rdi
        pop     rsi
        pop     rdx
        pop     rcx
        pop     rbx
        pop     rax
        add     rsp, 16                 ; vector and error code
        iretq

;; `isr_stubs` lists the stubs' addresses in vector order, for idt.c.
section .rodata
align 8
isr_stubs:
%assign v 0
%rep 256
        dq      isr_ %+ v
%assign v v + 1
%endrep
