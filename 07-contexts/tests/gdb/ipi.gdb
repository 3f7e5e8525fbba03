## # ipi: an IPI sent by APIC id reaches that CPU, and gdb shows where
##
## Six CPUs in two sockets: CPU index 3 has APIC id 4. The scenario
## ipi_to_ap sends it a fixed IPI on vector 0xFC (252). CPU 3 is online
## and idle, so it takes the interrupt: the breakpoint in the handler
## is hit by gdb's thread 4 (QEMU's vCPU 3: gdb numbers threads from 1,
## in QEMU's CPU order, which is the index order here), and the GS base
## of that thread is CPU 3's struct cpu, with APIC id 4. The monitor's
## `info lapic 4` is APIC id 4's local APIC, whichever thread gdb has
## selected.
# qemu: --smp 6,sockets=2,cores=3 --test ipi_to_ap
python
import re
def check(name, ok, why=""):
    print("GDBCHECK %s %s%s" % ("PASS" if ok else "FAIL", name,
                                "" if ok else ": " + why))
end
break ipi_taken
continue
python
thread = gdb.selected_thread().num
check("ipi-taken-by-thread-4", thread == 4, "thread %d" % thread)
c = gdb.parse_and_eval("(struct cpu *)$gs_base")
check("ipi-gs-base-cpu-3", int(c["index"]) == 3 and int(c["apic_id"]) == 4,
      "index %d, APIC id %d" % (int(c["index"]), int(c["apic_id"])))
isr = gdb.execute("monitor info lapic 4", to_string=True)
m = re.search(r"^ISR\s+(.*)$", isr, re.M)
check("ipi-in-service-at-apic-id-4", m is not None and "252" in m.group(1),
      isr)
end
break ktest_report
continue
python
out = gdb.execute("monitor info lapic 0", to_string=True)
m = re.search(r"^ISR\s+(.*)$", out, re.M)
check("ipi-not-at-boot-cpu", m is None or "252" not in m.group(1), out)
end
python print("GDBCHECK END")
