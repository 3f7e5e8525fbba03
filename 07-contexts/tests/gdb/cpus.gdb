## # cpus: the gdb command agrees with the kernel and with the CPUs
##
## Six CPUs in two sockets of three cores, so the APIC ids are sparse:
## 0, 1, 2, 4, 5, 6. Runs to clock_setup(), after the per-CPU list is
## made, and checks what `cpus` prints: one entry per enabled CPU, with
## dense indices and the MADT's APIC ids; CPU 0 online, with the live GS
## base of gdb thread 1 equal to its struct's address; the others
## offline, with the GS base 0 of a CPU never started; the boot CPU's
## stack and IST stacks as the kernel recorded them. Then on to
## vm_print_layout(), after smp_start(): every CPU online, every GS base
## its own struct, every CPU in kernel code, the others in their idle
## loop (one may still be in the interrupt that woke it). From chapter
## 07 on the idle loop halts in the contexts' ctx_idle_wait().
# qemu: --smp 6,sockets=2,cores=3
python
import re
def check(name, ok, why=""):
    print("GDBCHECK %s %s%s" % ("PASS" if ok else "FAIL", name,
                                "" if ok else ": " + why))
def value(expr):
    return int(gdb.parse_and_eval(expr))
end
break clock_setup
continue
python
out = gdb.execute("cpus", to_string=True)
print(out)
rows = re.findall(r"^CPU +(\d+)  APIC id +(\d+)  (\w+) +struct cpu "
                  r"(0x[0-9a-f]+)$", out, re.M)
check("cpus-six-rows", len(rows) == 6, out)
check("cpus-apic-ids-sparse",
      [int(r[1]) for r in rows] == [0, 1, 2, 4, 5, 6], str(rows))
check("cpus-index-dense", [int(r[0]) for r in rows] == list(range(6)),
      str(rows))
check("cpus-states", [r[2] for r in rows] == ["online"] + ["offline"] * 5,
      str(rows))
boot = value("(unsigned long)&cpu_boot")
check("cpus-boot-struct", bool(rows) and int(rows[0][3], 16) == boot,
      "%s vs %#x" % (rows[:1], boot))
gs = re.findall(r"GS base (0x[0-9a-f]+|0) \(gdb thread (\d+)\): (.*)$",
                out, re.M)
check("cpus-gs-boot-live", bool(gs) and int(gs[0][0], 16) == boot and
      gs[0][1] == "1" and gs[0][2] == "its struct cpu", str(gs[:1]))
check("cpus-gs-others-unset", len(gs) == 6 and all(
      int(g[0], 16) == 0 and g[2] == "not set up" for g in gs[1:]), str(gs))
check("cpus-threads-distinct", len(set(g[1] for g in gs)) == 6, str(gs))
stack = "stack %#x-%#x" % (value("cpu_boot.kstack.bottom"),
                           value("cpu_boot.kstack.top"))
check("cpus-boot-stack", stack in out and value("cpu_boot.kstack.top") > 0,
      out)
ist1 = "IST1  0x[0-9a-f]+-%#x double fault" % value("cpu0_tables.ist_top[1]")
check("cpus-ist-stacks", re.search(ist1, out) is not None and "IST3" in out,
      out)
one = gdb.execute("cpus 3", to_string=True)
check("cpus-one", "APIC id   4" in one and one.count("CPU ") == 1, one)
end
break vm_print_layout
continue
python
out = gdb.execute("cpus", to_string=True)
print(out)
rows = re.findall(r"^CPU +(\d+)  APIC id +(\d+)  (\w+) +struct cpu "
                  r"(0x[0-9a-f]+)$", out, re.M)
check("cpus-all-online", [r[2] for r in rows] == ["online"] * 6, str(rows))
gs = re.findall(r"GS base (0x[0-9a-f]+|0) \(gdb thread (\d+)\): (.*)$",
                out, re.M)
check("cpus-gs-all-live", len(gs) == 6 and all(
      g[2] == "its struct cpu" and int(g[0], 16) == int(r[3], 16)
      for g, r in zip(gs, rows)), str(gs))
at = re.findall(r"^         at (\S+); (\d+) locks held", out, re.M)
check("cpus-others-in-kernel", len(at) == 6 and all(
      not a[0].startswith("0x") for a in at) and any(
      a[0].startswith(("ap_idle", "ctx_idle_wait")) for a in at[1:]),
      str(at))
end
python print("GDBCHECK END")
