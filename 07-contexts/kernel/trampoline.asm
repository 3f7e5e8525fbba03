; trampoline.asm: the first code another CPU runs, in real mode, below
; 1 MiB; it goes to long mode on the kernel's own page tables and jumps
; into the kernel. smp.c copies it to its page and starts the CPUs.

;; # The trampoline
;;
;; A start-up message (SIPI) starts a CPU in *real mode*, the 16-bit
;; mode of the 8086, at address v * 4096, where v is the message's
;; 8-bit vector: so the first instruction must lie in one 4 KiB page
;; below 1 MiB. The kernel lives far above, in 64-bit code. This file is
;; the bridge, a *trampoline*: a page of code that takes the CPU from
;; real mode through 32-bit protected mode into long mode, with the
;; kernel's page tables, and jumps into the kernel. It is the same
;; journey the bootloader made for the boot CPU (chapter 01's
;; `boot/longmode.inc`), made again by each CPU for itself, since each
;; CPU has its own registers.
;;
;; The code is assembled into the kernel's read-only data and copied by
;; smp.c to physical TRAMPOLINE_ADDR, 0x70000, a page of conventional
;; memory that nothing else uses: the bootloader's layout (bootinfo.h)
;; leaves 0x20000-0x7FFFF free, the frame allocator never hands out
;; memory below 1 MiB, and memmap.c carves the page out of the memory
;; map as the kernel's from the first line of the boot on. So the SIPI
;; vector is 0x70. Redox 0.3.5 uses 0x8000, which its bootloader's
;; second stage may also have used.
;;
;; ## The page, drawn
;;
;;     0x70000  trampoline_start: 16-bit code (real mode)
;;              ...               32-bit code (protected mode)
;;              ...               64-bit code: the jump into the kernel
;;              tgdt              a GDT of four descriptors
;;              tgdtr             its limit and base, for lgdt
;;              trampoline_params, written by smp.c before any SIPI:
;;                +0  cr3         the kernel's PML4 (below 4 GiB)
;;                +4  xd_clear    1: clear IA32_MISC_ENABLE.XD_DISABLE
;;                +8  entry       ap_entry's address in the kernel
;;     ...      trampoline_end, a few hundred bytes on; the rest of the
;;              page stays zero
;;
;; Every CPU runs the same copy at the same time (the start-up is
;; parallel, smp.c), so the page holds nothing that differs from CPU to
;; CPU, and no CPU writes to it: the parameters are the same for all.
;; What *does* differ, the stack, each CPU finds for itself once it is
;; in 64-bit mode, from its APIC id (`ap_entry`, below).
;;
;; ## Addresses
;;
;; The code is linked into the kernel at a high address but runs at
;; 0x70000, so every address it uses is computed: `T(label)` is where
;; `label` lies in the copy (its distance from trampoline_start, plus
;; 0x70000). In real mode the CPU starts with CS = 0x7000 and IP = 0,
;; and a real-mode address is segment * 16 + offset, so there the code
;; uses offsets from trampoline_start with DS = CS.

%define TRAMPOLINE_ADDR 0x70000
%define T(label) (TRAMPOLINE_ADDR + (label) - trampoline_start)

IA32_EFER       equ 0xC0000080
EFER_LME        equ 1 << 8              ; long mode enable
EFER_NXE        equ 1 << 11             ; no-execute enable
IA32_MISC_ENABLE equ 0x1A0
MISC_XD_DISABLE_HI equ 1 << 2           ; bit 34: bit 2 of EDX
CR0_PE          equ 1 << 0
CR0_PG          equ 1 << 31
CR4_PAE         equ 1 << 5
SEL_CODE32      equ 0x08
SEL_DATA        equ 0x10
SEL_CODE64      equ 0x18

section .rodata
global trampoline_start, trampoline_end, trampoline_params
global trampoline_base

align 8
trampoline_base:
        dq      TRAMPOLINE_ADDR         ; for C: smp.h, memmap.c

;; ## Step 1: real mode to protected mode
;;
;; 1. Interrupts off, and the direction flag clear (`cld`), as the C
;;    code expects it; DS = CS, so that offsets reach the page.
;; 2. Load the trampoline's GDT and set CR0.PE.
;; 3. A far jump to the 32-bit code descriptor: `jmp dword` takes a
;;    32-bit offset, which a 16-bit jump could not hold.
bits 16
align 16
trampoline_start:
        cli                                     ; 1.
        cld
        mov     ax, cs
        mov     ds, ax
        lgdt    [tgdtr - trampoline_start]      ; 2.
        mov     eax, cr0
        or      eax, CR0_PE
        mov     cr0, eax
        jmp     dword SEL_CODE32:T(pm32)        ; 3.

;; ## Step 2: protected mode to long mode, on the kernel's tables
;;
;; 4. The data segments, from the GDT (base 0, limit 4 GiB).
;; 5. On an Intel CPU, clear the *XD disable* bit of IA32_MISC_ENABLE,
;;    if smp.c says so: with it set the CPU refuses EFER.NXE, and the
;;    kernel's page tables are full of NX bits, which would then be
;;    reserved bits and fault on the first walk. (cpu_init_features()
;;    does the same again, for the record; this is the one that
;;    matters, before paging.) `cmp` compares, and `je` jumps when the
;;    two were equal.
;; 6. CR4.PAE, then CR3 = the kernel's own PML4. The load takes 32 bits
;;    here, so the PML4 must lie below 4 GiB; smp.c checks that it does
;;    (it was one of the first frames allocated, below 1 GiB).
;; 7. EFER.LME and EFER.NXE.
;; 8. CR0.PG: paging on, and long mode with it. The next instruction is
;;    fetched at its physical address, 0x70000 and a bit, through the
;;    kernel's tables: smp.c maps this page there, at its own address,
;;    for as long as CPUs are starting (an *identity mapping*), and
;;    removes it afterwards.
;; 9. A far jump to the 64-bit code descriptor.
;;
;; Redox 0.3.5 loads its bootloader's tables here (at 0x70000, which
;; must therefore survive) and moves to the kernel's own only later; a
;; CPU on those tables can only use memory below 4 GiB. Here the CPU is
;; on the kernel's tables from its first 64-bit instruction on.
bits 32
pm32:
        mov     ax, SEL_DATA                    ; 4.
        mov     ds, ax
        mov     es, ax
        mov     ss, ax
        cmp     dword [T(tp_xd_clear)], 0       ; 5.
        je      .no_xd
        mov     ecx, IA32_MISC_ENABLE
        rdmsr
        and     edx, ~MISC_XD_DISABLE_HI
        wrmsr
.no_xd:
        mov     eax, cr4                        ; 6.
        or      eax, CR4_PAE
        mov     cr4, eax
        mov     eax, [T(tp_cr3)]
        mov     cr3, eax
        mov     ecx, IA32_EFER                  ; 7.
        rdmsr
        or      eax, EFER_LME | EFER_NXE
        wrmsr
        mov     eax, cr0                        ; 8.
        or      eax, CR0_PG
        mov     cr0, eax
        jmp     SEL_CODE64:T(lm64)              ; 9.

;; ## Step 3: into the kernel
;;
;; 10. Load the kernel's entry address from the parameters, and jump
;;     there: to ap_entry, in the kernel's code, at its high address.
;;     From here on the identity mapping is no longer needed.
bits 64
lm64:
        mov     rax, [abs T(tp_entry)]          ; 10.
        jmp     rax

;; ### The trampoline's GDT
;;
;; The same four descriptors as the bootloader's, with one difference:
;; each has its *accessed* bit set (access bytes 0x9B and 0x93, not
;; 0x9A and 0x92). The CPU sets that bit itself the first time it loads
;; a descriptor, by writing to the GDT; the page is mapped read-only
;; once paging is on, and with the bit already set the CPU never
;; writes. The kernel's own GDT replaces this one at the CPU's first C
;; function (smp.c).
align 8
tgdt:
        dq      0
        dq      0x00CF9B000000FFFF      ; 0x08: 32-bit code
        dq      0x00CF93000000FFFF      ; 0x10: data
        dq      0x00AF9B000000FFFF      ; 0x18: 64-bit code
tgdt_end:
tgdtr:
        dw      tgdt_end - tgdt - 1
        dd      T(tgdt)

align 8
trampoline_params:
tp_cr3:         dd      0
tp_xd_clear:    dd      0
tp_entry:       dq      0
trampoline_end:

;; ## The CPU's first kernel code: ap_entry
;;
;; Every CPU arrives here at the same time, on no stack. Each finds its
;; own `struct cpu` by its APIC id: `cpuid` with EAX = 1 returns, in
;; bits 24-31 of EBX, the *initial APIC id*, the id the hardware gave
;; this CPU's local APIC, which is the one the MADT lists; `shr`
;; shifts it down. `cpu_by_apic` (percpu.c) is the table from APIC id
;; to struct, filled before any CPU was started. The struct gives the
;; CPU its kernel stack, made by smp.c with a guard page below. A CPU
;; that has no struct (which only a CPU smp.c never started could be)
;; stops. Then, as kstack_switch does for the boot CPU, two zero words
;; end the backtrace, and `ap_main(c)` (smp.c) takes over in C, never
;; to return. `test rdi, rdi` sets the flags from RDI AND RDI, so `jz`
;; jumps when RDI is 0.
section .text
bits 64
default rel
global ap_entry
extern cpu_by_apic, cpu_kstack_top_offset, ap_main

ap_entry:
        mov     eax, 1
        cpuid
        shr     ebx, 24                         ; the initial APIC id
        lea     rax, [cpu_by_apic]
        mov     rdi, [rax + rbx * 8]            ; its struct cpu
        test    rdi, rdi
        jz      .stop
        mov     rax, [cpu_kstack_top_offset]
        mov     rsp, [rdi + rax]                ; c->kstack.top
        xor     ebp, ebp
        push    rbp
        push    rbp
        call    ap_main
.stop:
        cli
        hlt
        jmp     .stop
