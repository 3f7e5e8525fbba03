## # gdb/cpus.py: the `cpus` command
##
## Loaded by `make gdb` and the scripted gdb tests. Stop anywhere after
## `percpu_setup()` and type:
##
##     (gdb) cpus          every CPU: index, APIC id, state, GS base,
##                         stacks
##     (gdb) cpus 3        CPU index 3 only
##
## The list comes from the kernel's own variables (`cpus`, `ncpus` in
## kernel/percpu.c). The GS base does not: it is read from the CPU
## itself. gdb sees each of QEMU's CPUs as a thread (`info threads`),
## and QEMU numbers its CPUs, and so gdb's threads, in the order of
## their APIC ids; so the CPU with the k-th lowest APIC id is thread k.
## The command switches to that thread, reads its `$gs_base` register,
## and says whether it points at the CPU's `struct cpu`, as it must for
## every CPU that runs kernel code. A CPU that has not been started
## still has the firmware's 0 there. For a CPU that runs, it also says
## where the thread is (its RIP, as a function) and what the CPU is
## doing by its own counts: locks held, interrupts taken, TLB flushes
## asked for and answered, work done.

import gdb

STATES = ["offline", "starting", "online", "failed"]
IST_NAMES = {1: "double fault", 2: "NMI", 3: "machine check"}


def threads_by_apic_id(apic_ids):
    """{APIC id: gdb thread} for the CPUs QEMU created."""
    threads = sorted(gdb.selected_inferior().threads(), key=lambda t: t.num)
    return dict(zip(sorted(apic_ids), threads))


def regs_of(thread):
    """(GS base, RIP) of a gdb thread."""
    here = gdb.selected_thread()
    try:
        thread.switch()
        return (int(gdb.parse_and_eval("$gs_base")) & (2 ** 64 - 1),
                int(gdb.parse_and_eval("$pc")) & (2 ** 64 - 1))
    finally:
        here.switch()


def symbol(pc):
    """'function+0x1c', or the bare address outside the kernel."""
    out = gdb.execute("info symbol %#x" % pc, to_string=True).strip()
    if out.startswith("No symbol"):
        return "%#x" % pc
    name = out.split(" in section")[0]
    return name.replace(" + ", "+")


def stacks(c):
    """(name, bottom, top) of the CPU's kernel and IST stacks."""
    out = []
    ks = c["kstack"]
    if int(ks["top"]):
        out.append(("stack", int(ks["bottom"]), int(ks["top"])))
    t = c["tables"]
    if int(t):
        for i in (1, 2, 3):
            lo, hi = int(t["ist_bottom"][i]), int(t["ist_top"][i])
            if hi:
                out.append(("IST%d" % i, lo, hi))
    return out


class Cpus(gdb.Command):
    """The CPUs of the kernel's per-CPU list: cpus [INDEX]

For each CPU: its index, APIC id and state, the address of its struct
cpu, the GS base its gdb thread really has (it must be that address on
a running CPU), and its kernel and interrupt stacks."""

    def __init__(self):
        super().__init__("cpus", gdb.COMMAND_DATA)

    def invoke(self, arg, from_tty):
        n = int(gdb.parse_and_eval("'percpu.c'::ncpus"))
        lst = gdb.parse_and_eval("'percpu.c'::cpus")
        cpu = [lst[i].dereference() for i in range(n)]
        by_id = threads_by_apic_id([int(c["apic_id"]) for c in cpu])
        want = [int(arg)] if arg.strip() else range(n)
        print("cpus: %d CPUs, struct cpu %d bytes" %
              (n, cpu[0].type.sizeof if n else 0))
        for i in want:
            if not 0 <= i < n:
                print("cpus: no CPU %d (there are %d)" % (i, n))
                continue
            self.show(cpu[i], by_id.get(int(cpu[i]["apic_id"])))

    def show(self, c, thread):
        addr = int(c.address)
        state = int(c["state"])
        print("CPU %3d  APIC id %3d  %-8s struct cpu %#x" % (
            int(c["index"]), int(c["apic_id"]),
            STATES[state] if 0 <= state < 4 else "?", addr))
        if thread is None:
            print("         GS base: no gdb thread for this CPU")
        else:
            gs, pc = regs_of(thread)
            verdict = "its struct cpu" if gs == addr else \
                "not set up" if gs == 0 else "WRONG: not its struct cpu"
            print("         GS base %#x (gdb thread %d): %s" % (
                gs, thread.num, verdict))
            if STATES[state] == "online":
                print("         at %s; %d locks held, %d traps, TLB "
                      "flushes %d asked, %d answered, %d works done" % (
                          symbol(pc), int(c["lock_depth"]),
                          int(c["traps"]), int(c["tlb_sent"]),
                          int(c["tlb_answered"]), int(c["work_done"])))
        for name, lo, hi in stacks(c):
            print("         %-5s %#x-%#x %s" % (
                name, lo, hi, IST_NAMES.get(int(name[3:]), "")
                if name.startswith("IST") else "(kernel)"))


Cpus()
