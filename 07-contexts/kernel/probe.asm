; probe.asm: read a word that may not be mapped, and learn whether it
; faulted, instead of getting an exception report. For the self-tests
; of the TLB shootdown (smp_tests.c).
;
; int probe_read(const uint64_t *p, uint64_t *out);
;
; System V arguments: RDI = p, RSI = out. Returns 0 and stores *p in
; *out, or returns -1 if the load faulted.

;; ### probe_read
;;
;; The load at `probe_read_load` is the only instruction that may
;; fault. A page-fault handler that knows this (the self-test installs
;; one) sees the fault's RIP equal that label, and instead of reporting
;; it, changes the saved RIP to `probe_read_fixup`, which returns -1:
;; the `iretq` at the end of the handler resumes there. Linux reads
;; user memory the same way, with a table of such pairs (its
;; "exception table"). `mov eax, -1` writes all ones into EAX, the
;; return value.

bits 64
default rel

section .text
global probe_read, probe_read_load, probe_read_fixup

probe_read:
probe_read_load:
        mov     rax, [rdi]                      ; may fault
        mov     [rsi], rax
        xor     eax, eax
        ret
probe_read_fixup:
        mov     eax, -1
        ret
