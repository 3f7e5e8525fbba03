## # tools/gdb/realmode.py: `rdis` and `rstep`, disassembly in any mode
##
## gdb cannot disassemble 16-bit code once connected to QEMU (it only
## accepts the 64-bit architecture QEMU describes), and in real mode its
## `$pc` is IP without the CS base. These commands ask QEMU's monitor
## for the CPU's real state (`info registers`: CS with its base, and
## whether CS is a 16-, 32- or 64-bit segment), read the bytes at
## CS base + IP, and disassemble them with objdump in that mode, in
## Intel syntax like NASM's listings:
##
## - `rdis [N]`: show the next N instructions (default 8);
## - `rstep [N]`: execute N instructions (default 1), then show the
##   next three.
##
## Each line gives the linear address, the label it belongs to (from
## build/boot.elf, the bootloader's labels, or the kernel's symbols) and
## the instruction; `=>` marks the one the CPU executes next.
import gdb
import os
import re
import subprocess
import tempfile


def cpu_state():
    """(linear address of the next instruction, bits of CS: 16/32/64)."""
    out = gdb.execute("monitor info registers", to_string=True)
    out = out.replace("\r", "")
    cs = re.search(r"^CS =[0-9a-f]{4} ([0-9a-f]+) [0-9a-f]+ ([0-9a-f]+)"
                   r"(?: DPL=\d (CS16|CS32|CS64))?", out, re.M)
    ip = re.search(r"^(?:RIP|EIP)=([0-9a-f]+)", out, re.M)
    cr0 = re.search(r"^CR0=([0-9a-f]+)", out, re.M)
    if not (cs and ip and cr0):
        raise gdb.GdbError("rdis: cannot read CS and IP from QEMU")
    if cs.group(3):                 # QEMU names the segment's size
        bits = int(cs.group(3)[2:])
    elif not int(cr0.group(1), 16) & 1:
        bits = 16                   # CR0.PE clear: real mode
    else:                           # the D bit of the descriptor's flags
        bits = 32 if int(cs.group(2), 16) & 0x400000 else 16
    return int(cs.group(1), 16) + int(ip.group(1), 16), bits


def disassemble(addr, bits, count):
    mem = bytes(gdb.selected_inferior().read_memory(addr, 16 * count))
    machine = {16: "i8086", 32: "i386", 64: "i386:x86-64"}[bits]
    with tempfile.NamedTemporaryFile(suffix=".bin") as f:
        f.write(mem)
        f.flush()
        out = subprocess.run(
            ["objdump", "-D", "-b", "binary", "-m", machine, "-M", "intel",
             "--adjust-vma=0x%x" % addr, f.name],
            capture_output=True, text=True, check=True).stdout
    lines = []
    for line in out.splitlines():
        m = re.match(r"\s*([0-9a-f]+):\t(?:[0-9a-f]{2} )+\s*\t(.*)", line)
        if m:
            lines.append((int(m.group(1), 16), m.group(2).strip()))
    return lines[:count]


def show(count):
    addr, bits = cpu_state()
    print("%d-bit code:" % bits)
    for i, (a, text) in enumerate(disassemble(addr, bits, count)):
        # "0x7c05 <start.cs_ok+3>": the address with its label
        print("%s %-30s %s" % ("=>" if i == 0 else "  ",
                               gdb.format_address(a), text))


class RDis(gdb.Command):
    """Disassemble at CS:IP in the CPU's current mode: rdis [N]"""

    def __init__(self):
        super().__init__("rdis", gdb.COMMAND_DATA)

    def invoke(self, arg, from_tty):
        show(int(gdb.parse_and_eval(arg)) if arg.strip() else 8)


class RStep(gdb.Command):
    """Execute N instructions (default 1), then show the next three:
rstep [N]"""

    def __init__(self):
        super().__init__("rstep", gdb.COMMAND_RUNNING)

    def invoke(self, arg, from_tty):
        gdb.execute("stepi %s" % arg.strip(), to_string=True)
        show(3)


RDis()
RStep()
