;; # tools/acpi-halt.asm: a boot sector that only stops the CPU
;;
;; tools/acpi-dump boots this sector to read the ACPI tables that the
;; firmware (SeaBIOS) left in memory. The CPU must stay out of the way:
;; `cli` masks interrupts, `hlt` stops it until the next one, and the
;; jump stops it again if a non-maskable interrupt wakes it. The tool
;; knows the sector has run when the CPU is at 0000:7C00-7DFF.
        bits    16
        org     0x7C00

        cli                             ; no more interrupts
halt:   hlt                             ; stop until an NMI
        jmp     halt

        times   510 - ($ - $$) db 0
        dw      0xAA55                  ; the BIOS's boot signature
