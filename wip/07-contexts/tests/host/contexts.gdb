## # contexts: the gdb commands, on the host test program
##
## `make gdbtest` runs `gdb -batch -x tests/host/contexts.gdb
## build/host/test_context`: the program runs its cases in one process
## (CHECK_NOFORK=1) until contexts_in_every_state() stops in
## gdb_stop_here(), with contexts in every state. Each check prints a
## GDBCHECK PASS or FAIL line. In the kernel, tests/gdb/contexts.gdb
## will do the same at a scenario's breakpoint.
set pagination off
set confirm off
set environment CHECK_NOFORK=1
set environment ASAN_OPTIONS=detect_leaks=0
source gdb/contexts.py
break gdb_stop_here
run
python
import re
def check(name, ok, why=""):
    print("GDBCHECK %s %s%s" % ("PASS" if ok else "FAIL", name,
                                "" if ok else ": " + why))

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
check("contexts-idle", row("idle/0")[0] == 1 and
      row("idle/0")[1] == "runnable" and
      row("idle/0")[3].startswith("schedule+0x"), str(row("idle/0")))
check("contexts-driver-running", row("driver")[1] == "running" and
      row("driver")[3] == "(on the CPU)", str(row("driver")))
check("contexts-held", row("held")[1] == "runnable" and
      row("held")[3].startswith("schedule+0x"), str(row("held")))
check("contexts-joiner-blocked", row("first-joiner")[1] == "blocked",
      str(row("first-joiner")))
check("contexts-never-ran", row("never-ran")[1] == "runnable" and
      row("never-ran")[3] == "context_start", str(row("never-ran")))
check("contexts-zombie", row("zombie")[1] == "exited" and
      row("zombie")[3].startswith("schedule+0x"), str(row("zombie")))
check("contexts-all-cpu-0", all(r[2] == 0 for r in rows.values()) and
      len(rows) == 6, str(rows))

bt = gdb.execute("ctxbt %d" % row("first-joiner")[0], to_string=True)
print(bt)
names = [l.split()[1].split("+")[0] for l in bt.splitlines() if l]
check("ctxbt-joiner", names[:1] == ["schedule"] and
      "context_join" in names and "joins" in names and
      names[-1] == "context_start", bt)
bt = gdb.execute("ctxbt %d" % row("never-ran")[0], to_string=True)
check("ctxbt-never-ran", bt.strip() == "#0  context_start", bt)
bt = gdb.execute("ctxbt %d" % row("driver")[0], to_string=True)
check("ctxbt-running", "is running on CPU 0" in bt, bt)
bt = gdb.execute("ctxbt 99999", to_string=True)
check("ctxbt-no-such", bt.strip() == "ctxbt: no context 99999", bt)
end
kill
quit
