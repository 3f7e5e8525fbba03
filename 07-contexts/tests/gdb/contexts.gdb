## # contexts: the gdb commands `contexts` and `ctxbt`, in the kernel
##
## Two CPUs, the scenario contexts_gdb (kernel/context_tests.c): at
## contexts_gdb_stop() CPU 0 has a context in every state: the driver
## running, 'held' runnable (it yielded), 'first-joiner' blocked in a
## join of 'held', 'never-ran' not yet run, 'zombie' exited and not yet
## joined; idle/0 waits outside the ring, idle/1 runs on CPU 1. Checks
## what `contexts` lists and what `ctxbt` walks from saved registers.
# qemu: --smp 2 --test contexts_gdb
python
import re
def check(name, ok, why=""):
    print("GDBCHECK %s %s%s" % ("PASS" if ok else "FAIL", name,
                                "" if ok else ": " + why))
end
break contexts_gdb_stop
continue
python
out = gdb.execute("contexts", to_string=True)
print(out)
rows = {}
for line in out.splitlines()[1:]:
    m = re.match(r"\s*(\d+)\s+(\S+)\s+(\S+)\s+(\d+)\s+(.*)$", line)
    if m:
        rows[m.group(2)] = (int(m.group(1)), m.group(3), int(m.group(4)),
                            m.group(5))
def row(name):
    return rows.get(name, (0, "missing", -1, ""))
check("contexts-header", out.split("\n")[0].split() ==
      ["id", "name", "state", "CPU", "saved", "RIP"], out)
check("contexts-seven", len(rows) == 7, str(rows))
check("contexts-idle0", row("idle/0")[0] == 1 and
      row("idle/0")[1] == "runnable" and
      row("idle/0")[3].startswith("schedule+0x"), str(row("idle/0")))
check("contexts-idle1-running", row("idle/1")[1] == "running" and
      row("idle/1")[2] == 1 and row("idle/1")[3] == "(on the CPU)",
      str(row("idle/1")))
check("contexts-driver-running", row("driver")[1] == "running" and
      row("driver")[2] == 0 and row("driver")[3] == "(on the CPU)",
      str(row("driver")))
check("contexts-held", row("held")[1] == "runnable" and
      row("held")[3].startswith("schedule+0x"), str(row("held")))
check("contexts-joiner-blocked", row("first-joiner")[1] == "blocked" and
      row("first-joiner")[3].startswith("schedule+0x"),
      str(row("first-joiner")))
check("contexts-never-ran", row("never-ran")[1] == "runnable" and
      row("never-ran")[3] == "context_start", str(row("never-ran")))
check("contexts-zombie", row("zombie")[1] == "exited" and
      row("zombie")[3].startswith("schedule+0x"), str(row("zombie")))

bt = gdb.execute("ctxbt %d" % row("first-joiner")[0], to_string=True)
print(bt)
names = [l.split()[1].split("+")[0] for l in bt.splitlines() if l]
check("ctxbt-joiner", names[:1] == ["schedule"] and
      "context_join" in names and "joins" in names and
      names[-1] == "context_start", bt)
bt = gdb.execute("ctxbt %d" % row("idle/0")[0], to_string=True)
print(bt)
names = [l.split()[1].split("+")[0] for l in bt.splitlines() if l]
check("ctxbt-idle0", names[:1] == ["schedule"] and
      "context_run_here" in names and "kmain_continue" in names, bt)
bt = gdb.execute("ctxbt %d" % row("never-ran")[0], to_string=True)
check("ctxbt-never-ran", bt.strip() == "#0  context_start", bt)
bt = gdb.execute("ctxbt %d" % row("driver")[0], to_string=True)
check("ctxbt-running", "is running on CPU 0" in bt, bt)
bt = gdb.execute("ctxbt 99999", to_string=True)
check("ctxbt-no-such", bt.strip() == "ctxbt: no context 99999", bt)
end
python print("GDBCHECK END")
