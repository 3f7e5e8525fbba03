## # gdb settings shared by `make gdb`, `make gdb-boot` and the gdb tests
##
## Loaded with `-x` before gdb connects to QEMU. The kernel's symbols
## come from `build/kernel.elf`, which gdb loads as the program file:
## being a 64-bit ELF, it also tells gdb to expect a 64-bit CPU before it
## connects. (Telling gdb "i8086" or loading a 32-bit ELF instead makes
## the connection fail with "Remote 'g' packet reply is too long": QEMU
## always describes a 64-bit CPU, even in real mode.)
set pagination off
set confirm off
set print pretty on
set disassembly-flavor intel

## ## Real mode
##
## gdb cannot disassemble 16-bit code once connected, and in real mode
## its `$pc` is IP without the CS base. QEMU's own monitor can: `x/8i $pc`
## there follows the CPU's mode and adds the CS base. These two commands
## wrap it:
##
## - `rdis`: show the next eight instructions;
## - `rstep`: execute one instruction and show the next three.
##
## Breakpoints in real mode are set on linear addresses: `break *0x7c00`
## for the first instruction of the boot sector. The NASM listings
## `build/stage1.lst` and `build/stage2.lst` give every instruction's
## offset (add 0x7c00 or 0x7e00).
define rdis
  monitor x/8i $pc
end
document rdis
Disassemble 8 instructions at CS:IP, in the CPU's current mode (QEMU).
end

define rstep
  stepi
  monitor x/3i $pc
end
document rstep
Execute one instruction, then show the next three (real-mode safe).
end
