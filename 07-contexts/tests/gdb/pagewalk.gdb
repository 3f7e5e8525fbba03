## # pagewalk: the gdb page-table walk agrees with the kernel's tables
##
## Runs to the point after vm_init (the scenario lookup), then walks a
## text address, a data address, a 2 MiB direct-map page and a low
## address that the identity map used to cover.
python
def check(name, ok, why=""):
    print("GDBCHECK %s %s%s" % ("PASS" if ok else "FAIL", name,
                                "" if ok else ": " + why))
end
break ktest_scenario_name
continue
python
out = gdb.execute("pagewalk &kmain", to_string=True)
print(out)
kmain = int(gdb.parse_and_eval("&kmain").cast(
    gdb.lookup_type("unsigned long")))
want = "physical address: 0x%x " % (kmain - 0xffffff0000000000)
check("pagewalk-kmain-phys", want in out, out)
check("pagewalk-kmain-4k-text", "4 KiB page" in out and
      "NX" not in out.splitlines()[-2], out)

def columns(line):
    """The entry and its ten flag columns (P W U PWT PCD A D PS G NX)."""
    f = line.split()
    return int(f[2], 16), f[3:13]

# The G column: kernel mappings are global (bit 8) in the leaf, and the
# column shows exactly bit 8 of the entry at every level.
rows = [l for l in out.splitlines() if l.split()[:1] and
        l.split()[0] in ("PML4", "PDPT", "PD", "PT")]
check("pagewalk-kmain-global", rows and columns(rows[-1])[1][8] == "G",
      out)
check("pagewalk-g-column-is-bit-8", len(rows) == 4 and all(
      (columns(r)[1][8] == "G") == bool(columns(r)[0] >> 8 & 1)
      for r in rows), out)
out = gdb.execute("pagewalk &boot_record", to_string=True)
data = int(gdb.parse_and_eval("&boot_record").cast(
    gdb.lookup_type("unsigned long")))
check("pagewalk-data-phys",
      ("physical address: 0x%x " % (data - 0xffffff0000000000)) in out, out)
leaf = out.splitlines()[-2]
check("pagewalk-data-rw-nx", " W " in leaf and "NX" in leaf, leaf)
out = gdb.execute("pagewalk 0xffffff0000300000", to_string=True)
check("pagewalk-2m-page", "2 MiB page 0x200000" in out and
      "physical address: 0x300000 " in out, out)
out = gdb.execute("pagewalk 0x1000", to_string=True)
check("pagewalk-identity-gone", "not mapped" in out, out)
end
python print("GDBCHECK END")
