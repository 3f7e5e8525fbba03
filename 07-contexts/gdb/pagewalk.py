## # gdb/pagewalk.py: the `pagewalk` command
##
## Loaded by `make gdb` (tools/gdb-session sources every `gdb/*.py` of
## the chapter) and by the scripted gdb tests. For example, once the
## kernel's own tables are in use:
##
## <!-- gdb-session pagewalk-py -->
## ```text
## $ make gdb
## (gdb) break vm_print_layout
## (gdb) continue
## (gdb) pagewalk &kmain
## (gdb) pagewalk $rsp
## (gdb) pagewalk 0xffffff00000b8000
## ...
## physical address: 0xb8000 (offset 0x... in the page)
## ```
##
## The last is the VGA text buffer, through the window onto physical
## memory.
##
## It does by hand what the CPU does for every memory access: read CR3,
## then one entry from each level of the page tables, exactly as
## kernel/paging.c describes. For each level it prints the entry, its
## flags in the same columns as `pte_flags_str()` in paging.c, and where
## the entry leads; it stops at an entry that is not present or at a
## large page, and ends with the physical address. It is the tool for
## the question "why did this access fault?", and for checking that the
## tables the kernel built say what we meant.
##
## ## Where the numbers come from
##
## - **CR3**: QEMU's gdb stub reports the control registers of an x86-64
##   CPU, so gdb knows `$cr3`. Its low 12 bits are flags (PWT, PCD, or a
##   PCID); the PML4's address is the rest. Should a stub not offer
##   `$cr3`, the command falls back to the kernel variable `kernel_pml4`
##   (the PML4's physical address, if the kernel defines it) and says
##   so.
## - **The tables** are in *physical* memory, but gdb reads *virtual*
##   addresses, through the CPU's current tables. The kernel maps all
##   of physical memory at KERNEL_WINDOW (virtual = physical +
##   0xFFFFFF0000000000), so table entry `i` of the table at physical
##   `t` is read at `KERNEL_WINDOW + t + 8 * i`. Before the kernel loads
##   its own tables, the bootloader's map the first 1 GiB there too.
##   When the window does not cover a table (early in the boot, or a
##   table above what is mapped), the command asks QEMU's monitor
##   instead (`monitor xp`, which reads physical memory directly) and
##   says so.

import gdb

KERNEL_WINDOW = 0xFFFFFF0000000000
WINDOW_SIZE = 1 << 39             # one PML4 slot: 512 GiB at most
ADDR_MASK = 0x000FFFFFFFFFF000    # bits 51..12: a table or a 4 KiB frame
PTE_P = 1 << 0                    # P: present
PTE_PS = 1 << 7                   # PS: page size (PDPTE, PDE)

## The four levels: name, the lowest bit of va that indexes it, and the
## size of a page that an entry there maps with PS (None: PS is not
## allowed there; at the PT level every entry maps a 4 KiB page).
LEVELS = (
    ("PML4", 39, None),
    ("PDPT", 30, 1 << 30),
    ("PD", 21, 1 << 21),
    ("PT", 12, 1 << 12),
)
NEXT_NAME = {"PML4": "PDPT", "PDPT": "PD", "PD": "PT"}
SIZE_NAME = {1 << 30: "1 GiB", 1 << 21: "2 MiB", 1 << 12: "4 KiB"}

## Flag columns, the same as `pte_flags_str()` in kernel/paging.c: a
## clear flag is printed as dashes as wide as its name. The column "PS"
## is bit 7, which in a PTE (level PT) is the PAT bit instead.
FLAG_COLUMNS = ((0, "P"), (1, "W"), (2, "U"), (3, "PWT"), (4, "PCD"),
                (5, "A"), (6, "D"), (7, "PS"), (8, "G"), (63, "NX"))


def flags_str(entry):
    return " ".join(name if entry >> bit & 1 else "-" * len(name)
                    for bit, name in FLAG_COLUMNS)


def pat_note(entry, size):
    """Where a page entry keeps its PAT bit: bit 7 in a PTE, where the
    flag columns say "PS", bit 12 in a large page, where they say
    nothing. Point it out when it is set."""
    bit = 7 if size == 1 << 12 else 12
    return " (PAT: bit %d)" % bit if entry >> bit & 1 else ""


def canonical(va):
    top = va >> 47            # bits 63..47 must all be equal
    return top == 0 or top == 0x1FFFF


def to_u64(value):
    """A gdb value (number, pointer, function) as an unsigned 64-bit int."""
    if value.type.strip_typedefs().code == gdb.TYPE_CODE_FUNC:
        value = value.address
    return int(value.cast(gdb.lookup_type("unsigned long"))) & (2**64 - 1)


def read_cr3():
    """The PML4's physical address, and where it came from."""
    try:
        cr3 = gdb.parse_and_eval("$cr3")
        if cr3.type.code != gdb.TYPE_CODE_VOID:
            return to_u64(cr3) & ADDR_MASK, "CR3"
    except gdb.error:
        pass
    try:
        pml4 = to_u64(gdb.parse_and_eval("kernel_pml4"))
    except gdb.error:
        raise gdb.GdbError("pagewalk: this gdb stub gives no $cr3, and "
                           "the kernel has no variable kernel_pml4")
    print("(no $cr3 from this gdb stub: using kernel_pml4 instead)")
    return pml4 & ADDR_MASK, "kernel_pml4"


class PhysReader:
    """Reads 8-byte entries from physical memory: through the kernel's
    window if it covers them, else through QEMU's monitor."""

    def __init__(self):
        self.used_monitor = False

    def u64(self, phys):
        if phys < WINDOW_SIZE:
            try:
                mem = gdb.selected_inferior().read_memory(
                    KERNEL_WINDOW + phys, 8)
                return int.from_bytes(bytes(mem), "little")
            except gdb.MemoryError:
                pass
        try:
            out = gdb.execute("monitor xp /1gx 0x%x" % phys,
                              to_string=True)
            value = int(out.split()[-1], 16)
        except (gdb.error, ValueError, IndexError):
            raise gdb.GdbError("pagewalk: cannot read physical 0x%x, "
                               "neither through the window nor through "
                               "QEMU's monitor" % phys)
        if not self.used_monitor:
            print("(the window at 0x%x does not cover 0x%x:\n"
                  " reading physical memory through QEMU's monitor)"
                  % (KERNEL_WINDOW, phys))
            self.used_monitor = True
        return value


## ## The walk
##
## One line per level read, then a conclusion. The index is the 9 bits of
## the address that select the entry; the entry is printed in full, so
## that address, flags and the bits in between can all be checked by eye
## against the Intel manual's pictures of each entry format.
def walk(va):
    if not canonical(va):
        print("0x%x is not canonical: bits 63..47 differ,\n"
              "so an access raises #GP before paging is asked" % va)
        return
    table, source = read_cr3()
    reader = PhysReader()
    print("pagewalk 0x%016x, PML4 at 0x%x (from %s)" % (va, table, source))
    print("  %-4s %3s  %-18s  %-25s  %s"
          % ("lvl", "idx", "entry", "flags", "leads to"))
    for name, shift, large in LEVELS:
        index = va >> shift & 511
        entry = reader.u64(table + 8 * index)
        head = "  %-4s %3d  0x%016x  %s  " % (name, index, entry,
                                            flags_str(entry))
        if not entry & PTE_P:
            print(head + "not present")
            print("0x%x is not mapped: the %s entry has no P bit,\n"
                  "so an access raises #PF" % (va, name))
            return
        if name == "PT" or (large is not None and entry & PTE_PS):
            size = large
            frame = entry & ADDR_MASK & ~(size - 1)
            print(head + "%s page 0x%x%s" % (SIZE_NAME[size], frame,
                                             pat_note(entry, size)))
            print("physical address: 0x%x (offset 0x%x in the page)"
                  % (frame + (va & (size - 1)), va & (size - 1)))
            return
        table = entry & ADDR_MASK
        print(head + "%s 0x%x" % (NEXT_NAME[name], table))


class PageWalk(gdb.Command):
    """Walk the page tables for a virtual address: pagewalk ADDR

ADDR is any expression: pagewalk &kmain, pagewalk $rsp,
pagewalk 0xffffff00000b8000. Starting at CR3, prints for each level
(PML4, PDPT, PD, PT) the index taken from ADDR, the entry, its flags
(P W U PWT PCD A D PS G NX; '-' when clear; at the PT level the PS
column is the PAT bit) and the next table or the page. Stops at an
entry that is not present or at a 1 GiB or 2 MiB page, and prints the
physical address. Tables are read through the kernel's window at
0xffffff0000000000 (virtual = physical + window), or through QEMU's
monitor where the window does not reach."""

    def __init__(self):
        super().__init__("pagewalk", gdb.COMMAND_DATA,
                         gdb.COMPLETE_EXPRESSION)

    def invoke(self, arg, from_tty):
        if not arg.strip():
            print("usage: pagewalk ADDR   (e.g. pagewalk &kmain, "
                  "pagewalk $rsp)")
            return
        walk(to_u64(gdb.parse_and_eval(arg)))


PageWalk()
