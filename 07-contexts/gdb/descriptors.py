## # gdb commands: `gdt` and `idt`
##
## Decode the descriptor tables the CPU is really using. QEMU's monitor
## command `info registers` reports GDTR and IDTR (base and limit);
## these commands read them there, then read the tables from memory and
## print each entry in words:
##
## - `gdt`: every descriptor: selector, base, limit, type, DPL, flags;
##   a 16-byte TSS descriptor is shown as one entry.
## - `idt [FIRST [COUNT]]`: gates FIRST..FIRST+COUNT-1 (default 0-47):
##   handler address and symbol, selector, gate type, DPL, IST index.
##
## The access byte `gdt` prints can differ from the one the kernel wrote
## by its lowest bit, the *accessed* bit: the CPU sets it in a code or
## data descriptor the first time it loads the descriptor into a segment
## register. So the kernel data segment that gdt.c writes as 0x92 reads
## back 0x93 once DS or SS holds it; `gdt` shows both then:
## `(access 0x93: 0x92 + the accessed bit, set by the CPU)`. Under QEMU
## the code segment still reads 0x9A after CS was loaded, and the user
## segments, never loaded yet, read as written.
import gdb
import re

def _table_register(name):
    """Base and limit of GDTR or IDTR, from QEMU's `info registers`."""
    out = gdb.execute("monitor info registers", to_string=True)
    m = re.search(r"^%s=\s+([0-9a-f]+)\s+([0-9a-f]+)" % name, out, re.M)
    if not m:
        raise gdb.GdbError("no %s in QEMU's register dump" % name)
    return int(m.group(1), 16), int(m.group(2), 16)

def _read(addr, size):
    mem = gdb.selected_inferior().read_memory(addr, size)
    return int.from_bytes(bytes(mem), "little")

def _symbol(addr):
    """<name+0xoff> from gdb's symbol table, C and assembly alike."""
    out = gdb.execute("info symbol 0x%x" % addr, to_string=True)
    m = re.match(r"(\S+)(?: \+ (\d+))? in section", out)
    if not m:
        return ""
    return "<%s+0x%x>" % (m.group(1), int(m.group(2) or 0))

_SYSTEM_TYPES = {0x2: "LDT", 0x9: "TSS (available)", 0xB: "TSS (busy)",
                 0xC: "call gate", 0xE: "interrupt gate",
                 0xF: "trap gate"}

class Gdt(gdb.Command):
    """Decode the live GDT: gdt"""
    def __init__(self):
        super().__init__("gdt", gdb.COMMAND_DATA)

    def invoke(self, arg, from_tty):
        base, limit = _table_register("GDT")
        print("GDT at 0x%x, limit 0x%x (%d bytes)" % (base, limit,
                                                      limit + 1))
        off = 0
        while off + 8 <= limit + 1:
            d = _read(base + off, 8)
            present = (d >> 47) & 1
            access = (d >> 40) & 0xFF
            dpl = (d >> 45) & 3
            seg_base = ((d >> 16) & 0xFFFFFF) | ((d >> 56) & 0xFF) << 24
            seg_limit = (d & 0xFFFF) | ((d >> 48) & 0xF) << 16
            flags = (d >> 52) & 0xF
            sel = "0x%02x" % off
            if d == 0:
                print("  %s  null" % sel)
                off += 8
                continue
            if not (access & 0x10):              # system descriptor
                kind = _SYSTEM_TYPES.get(access & 0xF, "system %x" %
                                         (access & 0xF))
                high = _read(base + off + 8, 8)
                seg_base |= (high & 0xFFFFFFFF) << 32
                print("  %s  %-14s base 0x%x limit 0x%x DPL %d %s"
                      % (sel, kind, seg_base, seg_limit, dpl,
                         "present" if present else "NOT present"))
                off += 16
                continue
            code = access & 0x08
            kind = "code" if code else "data"
            if code:
                bits = "64-bit" if flags & 0x2 else (
                    "32-bit" if flags & 0x4 else "16-bit")
            else:
                bits = "segment"
            rights = ("readable" if access & 2 else "execute-only") \
                if code else ("writable" if access & 2 else "read-only")
            accessed = ""
            if access & 1:
                accessed = ": 0x%02x + the accessed bit, set by the CPU" \
                    % (access & ~1)
            print("  %s  %-14s DPL %d %s, %s%s (access 0x%02x%s)"
                  % (sel, kind + " " + bits, dpl, rights,
                     "present" if present else "NOT present",
                     ", 4 KiB granularity" if flags & 0x8 else "",
                     access, accessed))
            off += 8

class Idt(gdb.Command):
    """Decode gates of the live IDT: idt [FIRST [COUNT]]"""
    def __init__(self):
        super().__init__("idt", gdb.COMMAND_DATA)

    def invoke(self, arg, from_tty):
        argv = gdb.string_to_argv(arg)
        first = int(gdb.parse_and_eval(argv[0])) if argv else 0
        count = int(gdb.parse_and_eval(argv[1])) if len(argv) > 1 else 48
        base, limit = _table_register("IDT")
        print("IDT at 0x%x, limit 0x%x (%d gates)" % (base, limit,
                                                      (limit + 1) // 16))
        for v in range(first, first + count):
            if v * 16 + 15 > limit:
                print("  %3d  beyond the limit" % v)
                break
            lo = _read(base + v * 16, 8)
            hi = _read(base + v * 16 + 8, 8)
            handler = (lo & 0xFFFF) | ((lo >> 48) & 0xFFFF) << 16 | \
                (hi & 0xFFFFFFFF) << 32
            selector = (lo >> 16) & 0xFFFF
            ist = (lo >> 32) & 7
            attr = (lo >> 40) & 0xFF
            if not attr & 0x80:
                print("  %3d  not present" % v)
                continue
            print("  %3d  %016x %-14s sel 0x%02x %s DPL %d%s"
                  % (v, handler, _symbol(handler), selector,
                     _SYSTEM_TYPES.get(attr & 0xF, "type %x" % (attr & 0xF)),
                     (attr >> 5) & 3, " IST%d" % ist if ist else ""))

Gdt()
Idt()
