; stage1.asm: the boot sector. The BIOS loads these 512 bytes to 0x7C00
; and jumps here; we load stage 2 from the next sectors and jump to it.

;; # Stage 1: the boot sector
;;
;; When the PC is switched on, the CPU starts in *real mode*: 16-bit code,
;; 1 MiB of address space, addresses formed as `segment * 16 + offset`.
;; The BIOS tests the machine, then reads the first sector of the boot
;; disk (512 bytes) to physical address 0x7C00 and jumps to it with the
;; disk's BIOS number in DL. The sector counts as bootable only if its
;; last two bytes are 0x55 0xaa.
;;
;; 512 bytes is too small for a bootloader, so this sector does one job:
;; it reads *stage 2* from the sectors that follow it and jumps there.
;; Stage 2 starts with a small header (a signature and its own length in
;; sectors), so nothing here hard-codes how big stage 2 is.
;;
;; The BIOS promises very little about the state it leaves us in. CS:IP
;; may be 0x0000:0x7c00 or 0x07c0:0x0000 (both are physical 0x7C00), and
;; DS, ES and SS hold whatever the BIOS last used. Real machines really
;; differ here, so the first steps put every segment register into a
;; known state.
;;
;; This is the book's first assembly file. The front matter's x86 primer
;; shows how to read a NASM line (label, instruction, destination first,
;; then source); here each step names the instructions it uses for the
;; first time. Before the code come directives, which the CPU never sees:
;; `bits 16` makes NASM produce real-mode code, `org 0x7c00` tells it the
;; address the code will run at, `%include` inserts a file of shared
;; constants, and `equ` gives a number a name.

bits 16
org 0x7c00

%include "bootinfo.inc"

STAGE2_MAGIC    equ 0x3253          ; "S2" as a little-endian word

start:
;; ## Step 1: a known CS, DS, ES, SS and stack
;;
;; A far jump (`jmp segment:offset`) loads CS and IP together, so after
;; it CS is 0 and IP is an offset from 0, which is what `org 0x7c00`
;; assumed. Interrupts stay off while SS and SP are changed, so that no
;; interrupt can push onto a half-built stack: `cli` disables them and
;; `sti` enables them again.
;;
;; `mov` copies its second operand into its first. A segment register
;; cannot be loaded with a constant, so `xor ax, ax` first clears AX (a
;; value XOR itself is 0, and the instruction is shorter than `mov ax,
;; 0`), and then AX is copied into DS, ES and SS. `cld` clears the
;; direction flag, so that string instructions such as `lodsb` below walk
;; forward through memory. `mov [boot_drive], dl` stores DL in memory:
;; square brackets mean "the memory at this address".
        jmp     0x0000:.cs_ok
.cs_ok:
        cli
        xor     ax, ax
        mov     ds, ax
        mov     es, ax
        mov     ss, ax
        mov     sp, 0x7c00          ; the stack grows down from us
        sti
        cld                         ; string instructions count upward
        mov     [boot_drive], dl

;; ## Step 2: are the INT 13h extensions there?
;;
;; The old BIOS disk call (INT 13h AH=02h) addresses sectors by
;; cylinder, head and sector, which tops out at 8 GiB and needs the
;; disk geometry. The *extensions* (AH=42h) take a plain 64-bit
;; sector number, a Logical Block Address. AH=41h asks whether
;; they exist: on success the carry flag is clear, BX comes back
;; as 0xaa55 and bit 0 of CX says the packet interface works.
;;
;; AH, the high byte of AX, selects the BIOS function, and `int 0x13`
;; calls the BIOS's disk service through the interrupt table. `jc`
;; jumps if the carry flag is set. `cmp` subtracts without keeping the
;; result, only the flags, and `jne` jumps if the two were not equal.
;; `test cl, 1` ANDs without keeping the result, and `jz` jumps if that
;; result was zero, here if bit 0 of CL is clear.
        mov     ah, 0x41
        mov     bx, 0x55aa
        mov     dl, [boot_drive]
        int     0x13
        jc      .no_ext
        cmp     bx, 0xaa55
        jne     .no_ext
        test    cl, 1
        jz      .no_ext

;; ## Step 3: read stage 2
;;
;; First one sector, to learn stage 2's length from its header,
;; then the whole of it (reading sector 1 again is harmless).
;; `call read_stage2` pushes the return address and jumps to the
;; routine, whose `ret` pops it and jumps back. `word [dap.count]` says
;; that the memory operand is 16 bits wide, which a constant alone does
;; not tell NASM. `ja` jumps if the first operand of the last `cmp` was
;; above the second, comparing them as unsigned numbers.
        mov     word [dap.count], 1
        call    read_stage2
        cmp     word [STAGE2_ADDR], STAGE2_MAGIC
        jne     .bad_stage2
        mov     ax, [STAGE2_ADDR + 2]   ; stage 2 length in sectors
        test    ax, ax
        jz      .bad_stage2
        cmp     ax, (DISK_BUF_ADDR - STAGE2_ADDR) / 512
        ja      .bad_stage2             ; would overrun the bounce buffer
        mov     [dap.count], ax
        call    read_stage2

;; ## Step 4: jump to stage 2
;;
;; Stage 2's code starts after its 4-byte header. DL carries the
;; drive number on, as the BIOS gave it to us.
        mov     dl, [boot_drive]
        jmp     0x0000:STAGE2_ADDR + 4

.no_ext:
        mov     si, msg_no_ext
        jmp     fatal
.bad_stage2:
        mov     si, msg_bad_stage2
        jmp     fatal

;; ### The disk address packet
;;
;; INT 13h AH=42h reads sectors described by this 16-byte packet, which
;; DS:SI points at: its size, a zero byte, the number of sectors, the
;; buffer as offset then segment, and the 64-bit number of the first
;; sector. Stage 2 goes to 0:STAGE2_ADDR, from sector 1 (sector 0 is us).
read_stage2:
        mov     si, dap
        mov     ah, 0x42
        mov     dl, [boot_drive]
        int     0x13
        jc      .failed
        ret
.failed:
        mov     si, msg_read
        ; fall through to fatal

;; ### When something goes wrong
;;
;; `fatal` prints the message at DS:SI twice, on the screen through the
;; BIOS (INT 10h AH=0Eh, "teletype output") and on the first serial
;; port, then asks QEMU's isa-debug-exit device to stop the machine. On a
;; machine without that device the port write does nothing, and we halt
;; for good. Either way the user sees why the boot stopped: it never
;; just hangs.
;;
;; `push si` saves SI on the stack and `pop si` takes it back. `out
;; port, al` writes AL to an I/O port, the x86's separate address space
;; for devices. `hlt` stops the CPU until the next interrupt; with
;; interrupts off (`cli`) none comes, and the `jmp` back is only there
;; for the non-maskable ones.
fatal:
        push    si
        mov     si, msg_prefix
        call    print
        pop     si
        call    print
        mov     al, DEBUG_EXIT_FAIL
        out     DEBUG_EXIT_PORT, al
.halt:
        cli
        hlt
        jmp     .halt

;; `print` writes the NUL-terminated string at DS:SI. `lodsb` loads the
;; byte at DS:SI into AL and adds 1 to SI, so each turn of the loop
;; reads the next character; `test al, al` sets the zero flag when it is
;; the final 0. The serial port is
;; used without initialising it: QEMU's 16550 accepts bytes at any
;; speed, and on real hardware a wrong speed only garbles the copy on
;; the wire, never the one on the screen. Stage 2 sets the port up
;; properly.
print:
        lodsb
        test    al, al
        jz      .done
        mov     dx, 0x3f8           ; COM1 data register
        out     dx, al
        mov     ah, 0x0e            ; INT 10h teletype output
        xor     bx, bx              ; page 0
        int     0x10
        jmp     print
.done:
        ret

;; The data: `db` places bytes (a string is a list of bytes), `dw` a
;; 16-bit word, `dq` a 64-bit quadword, and `align 4` pads with zeros up
;; to a multiple of 4. The disk address packet is the structure
;; described above, field by field.
msg_prefix:     db "boot: ", 0
msg_no_ext:     db "no INT 13h extensions; cannot read the disk", 13, 10, 0
msg_read:       db "disk read error while loading stage 2", 13, 10, 0
msg_bad_stage2: db "stage 2 is missing or damaged", 13, 10, 0

boot_drive:     db 0

align 4
dap:
.size:          db 16
.zero:          db 0
.count:         dw 0
.offset:        dw STAGE2_ADDR
.segment:       dw 0
.lba:           dq 1

;; The sector must be exactly 512 bytes with the signature last.
;; `$ - $$` is the number of bytes so far, and `times N db 0` places N
;; zero bytes. If the code above grows too big, `times` gets a negative
;; count and NASM stops with an error instead of building a broken disk.
        times 510 - ($ - $$) db 0
        dw 0xaa55
