## # runqueues: the gdb command `runqueues`, in the kernel
##
## Two CPUs, the scenario runqueues_gdb (kernel/sched_tests.c): at
## sched_gdb_stop() the driver runs on CPU 0 with three CPU-bound
## 'busy' contexts queued behind it (pinned there), 'napper' sleeps on
## CPU 0's sleep list, 'waiter' is blocked on a semaphore (in no
## queue), and CPU 1 runs its idle context, on its slow tick. Checks
## what `runqueues` prints, and that `contexts` reads chapter 08's
## scheduling state.
# qemu: --smp 2 --test runqueues_gdb
python
import re
def check(name, ok, why=""):
    print("GDBCHECK %s %s%s" % ("PASS" if ok else "FAIL", name,
                                "" if ok else ": " + why))
end
break sched_gdb_stop
continue
python
out = gdb.execute("runqueues", to_string=True)
print(out)
lines = out.splitlines()
cpu0 = [l for l in lines if l.startswith("CPU 0:")]
cpu1 = [l for l in lines if l.startswith("CPU 1:")]
check("cpu0-driver", len(cpu0) == 1 and
      re.search(r"running \d+ 'gdb-driver'; 3 queued", cpu0[0]) is not None,
      out)
check("cpu0-busy-queued",
      len([l for l in lines if re.match(r"\s+queued\s+\d+ 'busy'", l)])
      == 3, out)
check("cpu0-napper-sleeps",
      any(re.match(r"\s+sleeping \d+ 'napper', until \d+ ms", l)
          for l in lines), out)
check("cpu1-idle", len(cpu1) == 1 and
      cpu1[0].startswith("CPU 1: running idle; 0 queued"), out)
check("figures", all(re.search(r"idle \d+ ms, \d+ switches, \d+ ticks",
                               l) for l in cpu0 + cpu1), out)
check("cpu1-slow-tick", len(cpu1) == 1 and "(slow tick)" in cpu1[0], out)
check("cpu0-full-tick", len(cpu0) == 1 and "(slow tick)" not in cpu0[0],
      out)
check("waiter-not-queued", "'waiter'" not in out, out)
ctx = gdb.execute("contexts", to_string=True)
print(ctx)
check("contexts-waiter-blocked",
      re.search(r"waiter\s+blocked\s+1 ", ctx) is not None, ctx)
check("contexts-napper-blocked",
      re.search(r"napper\s+blocked\s+0 ", ctx) is not None, ctx)
end
python print("GDBCHECK END")
