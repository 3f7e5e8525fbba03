; stage2.asm: the second stage of the bootloader. Stage 1 loads it to
; 0x7E00. It checks the CPU, enables A20, collects the memory map, loads
; the kernel ELF to 1 MiB, builds temporary page tables, switches to
; long mode and jumps to the kernel. The steps live in the .inc files.

;; # Stage 2: from real mode to the kernel
;;
;; Stage 2 does everything that needs the BIOS, because once the CPU
;; leaves real mode the BIOS services are gone. It clears the boot
;; record and sets up the serial port, so that every message also
;; reaches a terminal (`print16.inc`, in the chapter's support code).
;; Then it goes on with the boot's numbered steps, where stage 1 ended:
;;
;; 5. Check that the CPU can run 64-bit code at all (CPUID), below.
;; 6. Enable the A20 line and prove that it is on (`a20.inc`).
;; 7. Ask the BIOS for the memory map with INT 15h, E820 (`e820.inc`).
;; 8. Load the kernel, an ELF file, segment by segment to the physical
;;    addresses it was linked for (`elf.inc`, reading through
;;    `disk.inc`). `bootinfo_fill`, below, then completes the boot
;;    record for the kernel.
;; 9. Build temporary page tables (`longmode.inc`).
;; 10. Enter long mode and jump to the kernel's entry point
;;     (`longmode.inc`).
;;
;; Each step that can fail prints why and stops (`fatal` in
;; `print16.inc`): "no E820", "disk read error", "kernel too large" and
;; so on. A bootloader that hangs in silence is the worst thing a student
;; can meet on the first day.

bits 16
%include "bootinfo.inc"
org STAGE2_ADDR

;; ### The header stage 1 reads
;;
;; A signature, then the length of stage 2 in 512-byte sectors.
;; NASM computes the length from the labels at both ends of the
;; file, so it is always right, however the code grows.
;;
;; The code then clears the boot record: `rep stosb` stores AL (here 0)
;; at ES:DI and adds 1 to DI, CX times over (`rep` repeats the string
;; instruction after it while CX, counted down, is not zero). Then come
;; the steps, one `call` each.
header:
        dw      0x3253                  ; "S2", checked by stage 1
        dw      (stage2_end - header + 511) / 512

stage2_start:
        mov     [boot_drive], dl
        mov     di, BOOTINFO_ADDR       ; start from an all-zero record
        mov     cx, BI_SIZE
        xor     al, al
        rep stosb
        call    serial_init
        mov     si, msg_hello
        call    print

        call    cpu_check               ; step 5
        call    a20_enable              ; step 6
        call    e820_collect            ; step 7
        call    low_memory_check
        call    kernel_load             ; step 8
        call    bootinfo_fill           ; completes the boot record
        call    print_summary
        jmp     longmode_enter          ; steps 9 and 10, never returns

;; ## Step 5: can this CPU run 64-bit code?
;;
;; CPUID with EAX = 0x80000000 returns the highest "extended" function
;; the CPU supports. If 0x80000001 exists, bit 29 of the EDX it returns
;; is LM, "Intel 64 / long mode available". (Every CPU that has CPUID
;; extended functions also has CPUID itself, so we skip the older test
;; of toggling EFLAGS.ID: a CPU without CPUID cannot run this kernel.)
;;
;; `cpuid` takes its question in EAX and answers in EAX, EBX, ECX and
;; EDX. The 32-bit registers work in 16-bit code too: NASM adds a prefix
;; byte to each such instruction. `jb` jumps if below (unsigned), and
;; `1 << 29` is computed by NASM, not by the CPU.
cpu_check:
        mov     eax, 0x80000000
        cpuid
        cmp     eax, 0x80000001
        jb      .no_long_mode
        mov     eax, 0x80000001
        cpuid
        test    edx, 1 << 29            ; CPUID.80000001h:EDX.LM
        jz      .no_long_mode
        ret
.no_long_mode:
        mov     si, msg_no_lm
        jmp     fatal

;; ## Completing the boot record (after step 8)
;;
;; `kernel_load` already stored the kernel's physical range and entry
;; point, and `e820_collect` the map's count. The rest is constants.
;; `dword [...]` marks a 32-bit memory operand; a `\` at the end of a line
;; continues it on the next. `movzx eax, byte [boot_drive]` loads one
;; byte and fills the rest of EAX with zeros.
bootinfo_fill:
        mov     dword [BOOTINFO_ADDR + BI_MAGIC], BOOTINFO_MAGIC
        mov     dword [BOOTINFO_ADDR + BI_VERSION], BOOTINFO_VERSION
        mov     dword [BOOTINFO_ADDR + BI_STACK_BASE], BOOT_STACK_BASE
        mov     dword [BOOTINFO_ADDR + BI_STACK_SIZE], \
                BOOT_STACK_TOP - BOOT_STACK_BASE
        mov     dword [BOOTINFO_ADDR + BI_BOOT_DATA_START], BOOTINFO_ADDR
        mov     dword [BOOTINFO_ADDR + BI_BOOT_DATA_END], BOOT_DATA_END
        mov     dword [BOOTINFO_ADDR + BI_E820_ADDR], E820_BUF_ADDR
        mov     dword [BOOTINFO_ADDR + BI_E820_ENTRY_SIZE], E820_ENTRY_SIZE
        movzx   eax, byte [boot_drive]
        mov     [BOOTINFO_ADDR + BI_BOOT_DRIVE], eax
        ret

;; Before leaving real mode for good, say what we are about to do: the
;; kernel's physical range and its entry point. These are the numbers to
;; compare with `objdump -h build/kernel.elf` when something goes wrong.
print_summary:
        mov     si, msg_kernel
        call    print
        mov     eax, [BOOTINFO_ADDR + BI_KERNEL_START]
        call    print_hex32
        mov     al, '-'
        call    print_char
        mov     eax, [BOOTINFO_ADDR + BI_KERNEL_END]
        call    print_hex32
        mov     si, msg_entry
        call    print
        mov     eax, [BOOTINFO_ADDR + BI_KERNEL_ENTRY + 4]
        call    print_hex32
        mov     eax, [BOOTINFO_ADDR + BI_KERNEL_ENTRY]
        call    print_hex32
        mov     si, msg_crlf
        jmp     print

msg_hello:      db "boot: stage 2 running", 13, 10, 0
msg_no_lm:      db "this CPU has no long mode (64-bit); cannot boot", 13, 10, 0
msg_kernel:     db "boot: kernel at ", 0
msg_entry:      db ", entry ", 0
msg_crlf:       db 13, 10, 0
boot_drive:     db 0

%include "print16.inc"
%include "a20.inc"
%include "e820.inc"
%include "disk.inc"
%include "elf.inc"
%include "longmode.inc"

        align   512, db 0               ; the kernel starts on a sector
stage2_end:
