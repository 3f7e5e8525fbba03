## # ipi: an IPI sent by APIC id reaches that CPU's local APIC alone
##
## Six CPUs in two sockets: CPU index 3 has APIC id 4. The scenario
## ipi_to_ap sends it a fixed IPI on vector 0xFC (252). Its local APIC
## is still software-disabled, as the firmware left it, so the IPI
## stays in its interrupt request register (IRR); QEMU's monitor shows
## each local APIC by APIC id (`monitor info lapic ID`). Before the
## send no IRR holds 252; after it, APIC id 4's does, and no other's.
# qemu: --smp 6,sockets=2,cores=3 --test ipi_to_ap
python
import re
def check(name, ok, why=""):
    print("GDBCHECK %s %s%s" % ("PASS" if ok else "FAIL", name,
                                "" if ok else ": " + why))
def irr(apic_id):
    out = gdb.execute("monitor info lapic %d" % apic_id, to_string=True)
    m = re.search(r"^IRR\s+(.*)$", out, re.M)
    return m.group(1).split() if m else ["?"]
IDS = [0, 1, 2, 4, 5, 6]
end
break lapic_send_fixed
continue
python
before = {i: irr(i) for i in IDS}
check("ipi-none-before", all("252" not in v for v in before.values()),
      str(before))
end
break ktest_report
continue
python
after = {i: irr(i) for i in IDS}
print(after)
check("ipi-reached-apic-id-4", "252" in after[4], str(after))
check("ipi-no-other-cpu", all("252" not in after[i] for i in IDS if i != 4),
      str(after))
end
python print("GDBCHECK END")
