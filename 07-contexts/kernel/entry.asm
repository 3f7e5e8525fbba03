; entry.asm: the kernel's first instructions. The bootloader jumps here
; in 64-bit mode, with RSP at the top of the boot stack and RDI holding
; the boot record's physical address; we call kmain(RDI).

;; # The kernel's entry point
;;
;; The linker script names `kernel_entry` as the ELF entry point, so its
;; address is what the bootloader finds in the ELF header and jumps to.
;; There is little to do before C can run: the bootloader gave us a
;; stack, and the System V calling convention that gcc follows wants
;; RSP to be a multiple of 16 just before a `call`, which the top of the
;; boot stack (0x9F000 through the window) already is; we align it
;; anyway, because the cost is one instruction and a misaligned stack
;; fails in confusing ways later. RBP = 0 marks the outermost frame for
;; backtraces. CLD clears the direction flag, as C code assumes. The
;; stack pointer we arrived with is kept in `entry_rsp`, for the
;; self-test that checks the boot record's stack (later chapters leave
;; the boot stack early). It lives in `.data`, not `.bss`: kmain checks
;; that `.bss` is still all zero.

bits 64
default rel                     ; RIP-relative addressing (see linker.ld)

section .text.entry
global kernel_entry
extern kmain

kernel_entry:
        cld
        mov     [entry_rsp], rsp
        xor     ebp, ebp
        and     rsp, -16
        call    kmain           ; kmain(boot record physical address)
.halt:                          ; kmain never returns; if it did,
        cli                     ; stop here rather than run off into
        hlt                     ; whatever follows in memory
        jmp     .halt

section .data
global entry_rsp
align 8
entry_rsp:      dq 0
