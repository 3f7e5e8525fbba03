## # acpi: the gdb command reads the tables the kernel read
##
## Six CPUs in two sockets, on pc. At kmain, before the kernel has
## mapped or read any table, `acpi` finds the RSDP and the tables in
## guest memory; after acpi_setup() the kernel's own results must agree
## with it: the same RSDP, the same tables at the same addresses and
## lengths, every checksum right, and a MADT with the same enabled APIC
## ids (0-2,4-6) and the records QEMU builds.
# qemu: --machine pc --smp 6,sockets=2,cores=3
python
import re
def check(name, ok, why=""):
    print("GDBCHECK %s %s%s" % ("PASS" if ok else "FAIL", name,
                                "" if ok else ": " + why))
def value(expr):
    return int(gdb.parse_and_eval(expr))
end
break kmain
continue
python
early = gdb.execute("acpi", to_string=True)
print(early)
end
break percpu_setup
continue
python
out = gdb.execute("acpi", to_string=True)
check("acpi-same-before-and-after", out == early, out)
rsdp = re.search(r"^RSDP (0x[0-9a-f]+) rev 0 BOCHS -> RSDT (0x[0-9a-f]+)$",
                 out, re.M)
check("acpi-rsdp", rsdp is not None and
      int(rsdp.group(1), 16) == value("'acpi_setup.c'::acpi.rsdp.phys"), out)
rows = re.findall(r"^(\w{4}) (0x[0-9a-f]+) +(\d+) bytes rev \d+ .* "
                  r"(checksum ok|BAD CHECKSUM)$", out, re.M)
check("acpi-table-list", [r[0] for r in rows] ==
      ["RSDT", "FACP", "APIC", "HPET", "WAET"], str(rows))
check("acpi-checksums", rows and all(r[3] == "checksum ok" for r in rows),
      str(rows))
n = value("'acpi_setup.c'::acpi.count")
kernel = [(value("'acpi_setup.c'::acpi.table[%d].phys" % i),
           value("'acpi_setup.c'::acpi.table[%d].hdr.length" % i))
          for i in range(n)]
check("acpi-kernel-agrees", kernel ==
      [(int(r[1], 16), int(r[2])) for r in rows[1:]], "%s vs %s" %
      (kernel, rows))
check("acpi-madt-summary", "MADT: 6 CPUs enabled, 0 disabled, "
      "APIC ids 0-2,4-6" in out, out)
ids = [value("'acpi_setup.c'::madt.cpu[%d].apic_id" % i) for i in range(6)]
check("acpi-madt-kernel-ids", ids == [0, 1, 2, 4, 5, 6], str(ids))
check("acpi-madt-records", "IOAPIC    id 0 at 0xfec00000, GSI base 0" in out
      and "OVERRIDE  IRQ 0 -> GSI 2, flags 0x0" in out and
      "LAPIC NMI all CPUs, LINT1, flags 0x0" in out, out)
end
python print("GDBCHECK END")
