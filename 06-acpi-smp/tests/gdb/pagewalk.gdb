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
