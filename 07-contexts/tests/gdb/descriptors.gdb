## # The gdt and idt commands read the tables the CPU really uses
##
## Runs to the scenario lookup (after gdt_init and idt_init), then
## checks what `gdt` and `idt` print against what chapter 03 built.
python
import re
def check(name, ok, why=""):
    print("GDBCHECK %s %s%s" % ("PASS" if ok else "FAIL", name,
                                "" if ok else ": " + why))
end
break ktest_scenario_name
continue
python
import re
out = gdb.execute("gdt", to_string=True)
print(out)
check("gdt-kernel-code", "0x08  code 64-bit" in out and "DPL 0" in out,
      out)
check("gdt-user-code-dpl3", re.search(r"0x20  code 64-bit\s+DPL 3", out)
      is not None, out)
m = re.search(r"0x28  TSS \(busy\)\s+base 0x([0-9a-f]+) limit 0x67 DPL 0",
              out)
check("gdt-tss", m is not None, out)
# The base must be the kernel's own TSS, and the one the CPU's task
# register holds (QEMU's register dump: "TR =0028 <base> <limit> ...").
tss = int(gdb.parse_and_eval("(unsigned long)&cpu0_tables.tss"))
regs = gdb.execute("monitor info registers", to_string=True)
tr = re.search(r"^TR =0028 ([0-9a-f]+) ", regs, re.M)
check("gdt-tss-base-is-cpu0-tss", m is not None and
      int(m.group(1), 16) == tss and tr is not None and
      int(tr.group(1), 16) == tss,
      "gdt says %s, &cpu0_tables.tss is 0x%x, TR %s"
      % (m and m.group(1), tss, tr and tr.group(1)))
check("gdt-accessed-bit-explained",
      re.search(r"0x10  data segment .*\(access 0x93: 0x92 \+ the "
                r"accessed bit", out) is not None, out)
out = gdb.execute("idt 0 20", to_string=True)
print(out)
check("idt-page-fault-stub", re.search(r"14  [0-9a-f]{16} <isr_14\+0x0>",
                                       out) is not None, out)
check("idt-double-fault-ist1", re.search(r"\n\s+8 .* IST1", out)
      is not None, out)
check("idt-breakpoint-dpl3", re.search(r"\n\s+3 .* DPL 3", out)
      is not None, out)
end
python print("GDBCHECK END")
