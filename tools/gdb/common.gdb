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
## `rdis` and `rstep` (tools/gdb/realmode.py, loaded after this file)
## disassemble in the CPU's current mode, 16-bit included, where gdb's
## own `x/i` cannot. Breakpoints in real mode are set on linear
## addresses: `break *0x7c00` for the first instruction of the boot
## sector, or by a label of the bootloader: `break *e820_collect`
## (build/boot.elf holds the labels; the NASM listings
## `build/stage1.lst` and `build/stage2.lst` show the code around them).
