## # gdb/acpi.py: the `acpi` command
##
## Loaded by `make gdb` (tools/gdb-session sources every `gdb/*.py` of
## the chapter) and by the scripted gdb tests. Stop anywhere after the
## firmware has run (at `kmain`, say) and type:
##
##     (gdb) acpi          the tables, then the MADT's records decoded
##     (gdb) acpi tables   the tables only
##
## It reads *physical* memory through QEMU's monitor (`monitor xp`), not
## through the kernel's page tables or its variables: it finds the RSDP
## itself (the EBDA's first KiB, then 0xE0000-0xFFFFF, on 16-byte
## boundaries), checks every checksum itself, and decodes the MADT
## itself. So it works before the kernel has mapped or parsed anything,
## and when it agrees with what the kernel printed, the two readings are
## independent evidence (tests/gdb/acpi.gdb compares them).

import gdb

MADT_TYPES = {0: "LAPIC", 1: "IOAPIC", 2: "OVERRIDE", 3: "NMI source",
              4: "LAPIC NMI", 5: "LAPIC address", 9: "x2APIC"}


def phys(addr, size):
    """size bytes of guest physical memory at addr, via `monitor xp`."""
    data = bytearray()
    start = addr & ~7
    while len(data) < addr - start + size:
        words = min(512, (addr - start + size - len(data) + 7) // 8)
        out = gdb.execute("monitor xp/%dgx %#x" % (words, start + len(data)),
                          to_string=True)
        for line in out.splitlines():
            for w in line.split(":", 1)[1].split():
                data += int(w, 16).to_bytes(8, "little")
    return bytes(data[addr - start:addr - start + size])


def u16(b, o):
    return int.from_bytes(b[o:o + 2], "little")


def u32(b, o):
    return int.from_bytes(b[o:o + 4], "little")


def u64(b, o):
    return int.from_bytes(b[o:o + 8], "little")


def text(b):
    return "".join(chr(c) if 32 <= c < 127 else "?" for c in b).rstrip()


def ok(b):
    return "checksum ok" if sum(b) % 256 == 0 else "BAD CHECKSUM"


def find_rsdp():
    """(address, bytes) of the first RSDP whose checksum is right."""
    ebda = u16(phys(0x40E, 2), 0) << 4
    areas = [(ebda, 1024)] if 0x500 <= ebda < 0xA0000 else []
    areas.append((0xE0000, 0x20000))
    for base, size in areas:
        area = phys(base, size)
        for off in range((16 - base % 16) % 16, size - 20, 16):
            if area[off:off + 8] == b"RSD PTR " and \
                    sum(area[off:off + 20]) % 256 == 0:
                return base + off, area[off:off + 36]
    return None, None


def tables():
    """The RSDP line, and (signature, address, bytes) for the root
    table and each table it lists."""
    addr, rsdp = find_rsdp()
    if addr is None:
        return "no RSDP with a good checksum", []
    rev = rsdp[15]
    xsdt = u64(rsdp, 24) if rev >= 2 else 0
    root, size = (xsdt, 8) if xsdt else (u32(rsdp, 16), 4)
    head = "RSDP %#x rev %d %s -> %s %#x" % (
        addr, rev, text(rsdp[9:15]), "XSDT" if xsdt else "RSDT", root)
    found = []
    hdr = phys(root, 36)
    rt = phys(root, u32(hdr, 4))
    found.append((text(rt[0:4]), root, rt))
    for i in range((len(rt) - 36) // size):
        a = u64(rt, 36 + 8 * i) if size == 8 else u32(rt, 36 + 4 * i)
        length = u32(phys(a, 36), 4)
        b = phys(a, min(length, 1 << 20))
        found.append((text(b[0:4]), a, b))
    return head, found


def madt_lines(b):
    """The MADT's fields and records, one line each, and a summary."""
    lines = ["MADT: local APIC at %#x, flags %#x%s" % (
        u32(b, 36), u32(b, 40),
        " (8259 PICs present)" if u32(b, 40) & 1 else "")]
    enabled, disabled, off = [], 0, 44
    while off + 2 <= len(b):
        t, n = b[off], b[off + 1]
        if n < 2 or off + n > len(b):
            lines.append("  bad record at offset %d (type %d, length %d)"
                         % (off, t, n))
            break
        r = b[off:off + n]
        name = MADT_TYPES.get(t, "type %d" % t)
        if t in (0, 9):
            uid, aid, flags = (r[2], r[3], u32(r, 4)) if t == 0 else \
                (u32(r, 12), u32(r, 4), u32(r, 8))
            state = "enabled" if flags & 1 else "disabled"
            lines.append("  %-9s uid %3d  APIC id %3d  %s"
                         % (name, uid, aid, state))
            if flags & 1:
                enabled.append(aid)
            else:
                disabled += 1
        elif t == 1:
            lines.append("  %-9s id %d at %#x, GSI base %d"
                         % (name, r[2], u32(r, 4), u32(r, 8)))
        elif t == 2:
            lines.append("  %-9s IRQ %d -> GSI %d, flags %#x"
                         % (name, r[3], u32(r, 4), u16(r, 8)))
        elif t == 4:
            who = "all CPUs" if r[2] == 0xFF else "uid %d" % r[2]
            lines.append("  %-9s %s, LINT%d, flags %#x"
                         % (name, who, r[5], u16(r, 3)))
        elif t == 5:
            lines.append("  %-9s %#x" % (name, u64(r, 4)))
        else:
            lines.append("  %-9s %d bytes, skipped" % (name, n))
        off += n
    lines.append("MADT: %d CPUs enabled, %d disabled, APIC ids %s"
                 % (len(enabled), disabled, runs(enabled)))
    return lines


def runs(ids):
    """[0, 1, 2, 4, 5, 6] as "0-2,4-6"."""
    out, i = [], 0
    while i < len(ids):
        j = i
        while j + 1 < len(ids) and ids[j + 1] == ids[j] + 1:
            j += 1
        out.append(str(ids[i]) if i == j else "%d-%d" % (ids[i], ids[j]))
        i = j + 1
    return ",".join(out)


class Acpi(gdb.Command):
    """The firmware's ACPI tables, from guest memory: acpi [tables]

Finds the RSDP, lists the root table and every table it points at with
its length, revision, OEM and checksum, and decodes the MADT's records:
the CPUs (ACPI uid, APIC id, enabled or not), I/O APICs, interrupt
source overrides and NMI lines."""

    def __init__(self):
        super().__init__("acpi", gdb.COMMAND_DATA)

    def invoke(self, arg, from_tty):
        head, found = tables()
        print(head)
        madt = None
        for sig, addr, b in found:
            print("%-4s %#010x %5d bytes rev %d %-6s %-8s %s" % (
                sig, addr, len(b), b[8], text(b[10:16]), text(b[16:24]),
                ok(b)))
            if sig == "APIC" and madt is None:
                madt = b
        if arg.strip() == "tables":
            return
        if madt is None:
            print("no MADT")
            return
        for line in madt_lines(madt):
            print(line)


Acpi()
