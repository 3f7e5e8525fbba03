; gdt_load.asm: load a GDT and make every segment register use it.
;
; void gdt_load(const void *gdtr, uint16_t code, uint16_t data);
;
; System V arguments: RDI = gdtr, SI = code, DX = data.

;; ### gdt_load
;;
;; The only way to load CS in 64-bit mode is a far control transfer. We
;; push the new CS and the address of the next instruction and execute
;; `retfq`, a far return: it pops RIP, then CS, exactly as if a far call
;; had brought us here. The data segment registers can be loaded with
;; `mov`. FS and GS get the null selector; a later chapter gives GS a
;; base through an MSR for per-CPU data. `lea rax, [.reload]` computes
;; the address in the brackets without reading memory there (here
;; RIP-relative, see `default rel`), and `ltr cx` loads the task
;; register with the TSS selector (chapter 03's `gdt.c`).

bits 64
default rel

section .text
global gdt_load

gdt_load:
        lgdt    [rdi]
        movzx   rsi, si
        push    rsi                     ; new CS
        lea     rax, [.reload]
        push    rax                     ; new RIP
        retfq
.reload:
        mov     ss, dx
        mov     ds, dx
        mov     es, dx
        xor     eax, eax
        mov     fs, ax
        mov     gs, ax
        ret
