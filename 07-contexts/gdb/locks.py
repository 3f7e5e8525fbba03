## # gdb/locks.py: the `locks` command
##
## Loaded by `make gdb` and the scripted gdb tests. Stop anywhere and
## type:
##
##     (gdb) locks         every lock the kernel has taken so far
##
## The list is the kernel's own (`lock_list` in kernel/spinlock.c): each
## lock in the kernel's data joins it the first time it is taken. For
## each lock: its name; free, or which CPU holds it and where that CPU
## called spin_lock(); how many tickets are out (CPUs waiting, when it
## is held); then its counters: acquisitions, how many of them had to
## wait (contended, with the share), the turns of the waiting loops,
## how often a waiter halted, and the longest wait in TSC ticks.

import gdb


def symbol(pc):
    out = gdb.execute("info symbol %#x" % pc, to_string=True).strip()
    if out.startswith("No symbol"):
        return "%#x" % pc
    return out.split(" in section")[0].replace(" + ", "+")


class Locks(gdb.Command):
    """The kernel's spinlocks and their counters: locks"""

    def __init__(self):
        super().__init__("locks", gdb.COMMAND_DATA)

    def invoke(self, arg, from_tty):
        l = gdb.parse_and_eval("'spinlock.c'::lock_list")
        rows = []
        while int(l):
            rows.append(l.dereference())
            l = l["list_next"]
        print("locks: %d taken since boot" % len(rows))
        for s in rows:
            name = s["name"].string()
            waiting = (int(s["next"]) - int(s["serving"])) % 2 ** 32
            if int(s["locked"]):
                who = "held by CPU %d since %s, %d waiting" % (
                    int(s["cpu"]), symbol(int(s["caller"])),
                    max(waiting - 1, 0))
            else:
                who = "free"
            taken, busy = int(s["acquired"]), int(s["contended"])
            print("%-18s %s" % (name, who))
            print("%-18s %d acquired, %d contended (%.1f %%), %d spins, "
                  "%d halts, longest wait %d ticks" % (
                      "", taken, busy, 100.0 * busy / taken if taken
                      else 0, int(s["spins"]), int(s["halts"]),
                      int(s["longest"])))


Locks()
