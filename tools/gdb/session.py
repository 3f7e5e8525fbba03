## # tools/gdb/session.py: run one of the book's gdb sessions as a test
##
## Loaded by gdb in batch mode (tools/gdbtest, through the session's own
## `make gdb ...` line) with GDB_SESSION_JSON naming the session that
## tools/gdb-sessions extracted from the book. It types each command as
## printed, and prints one line per check, which tools/gdbtest counts:
##
##     GDBCHECK PASS <line>: (gdb) <command>          the command worked
##     GDBCHECK PASS <line>: prints "<text>"           a printed output line
##     GDBCHECK FAIL <what>: <why>
##     GDBCHECK END                                   the session finished
##
## A line `^C` in the printed output of a command means "press Ctrl-C":
## 5 seconds after the command starts, the runner sends gdb a SIGINT,
## which is what the terminal does, and gdb stops the guest. Any other
## command that runs longer than 60 s is stopped the same way and fails.
##
## Checks beyond the printed text go in the chapter's
## `tests/gdb/NAME.check.py`, a Python file defining
##
##     def after(s, cmd, out):     called after every command
##
## where `cmd` is the command as printed, `out` what it printed, and
## `s.check(name, ok, why)` records a check; `s.seen(cmd)` counts how
## often `cmd` ran so far, for sessions that repeat a command.
import json
import os
import re
import signal
import tempfile
import threading

import gdb


LOG = tempfile.NamedTemporaryFile(prefix="gdb-session-", suffix=".log")


STOPS = []
SIGNALS = {"SIGINT": "Interrupt", "SIGTRAP": "Trace/breakpoint trap"}


def on_stop(event):
    """What gdb prints when the guest stops, which neither `to_string`
    nor gdb's logging captures in batch mode: rebuilt from the event and
    the frame, as gdb prints them."""
    frame = gdb.execute("frame", to_string=True).split("\n")
    where = frame[0].split("  ", 1)[-1]
    if isinstance(event, gdb.BreakpointEvent):
        head = "Breakpoint %d, %s" % (event.breakpoints[0].number, where)
    elif isinstance(event, gdb.SignalEvent):
        sig = event.stop_signal
        head = "Program received signal %s, %s.\n%s" % (
            sig, SIGNALS.get(sig, sig), where)
    else:
        head = where
    STOPS.append("\n" + head + "\n" + "\n".join(frame[1:]))


gdb.events.stop.connect(on_stop)


def capture(cmd):
    """Run a command and return all it printed."""
    for c in ("file " + LOG.name, "overwrite on", "redirect on",
              "enabled on"):
        gdb.execute("set logging " + c)
    del STOPS[:]
    try:
        gdb.execute(cmd)
    finally:
        gdb.execute("set logging enabled off")
    return open(LOG.name).read() + "".join(STOPS)


# (gdb runs every sourced Python file in one namespace: the chapter's
# gdb/*.py helpers have a REGS of their own, so this name must differ.)
SNAPSHOT_REGS = ("rax rbx rcx rdx rsi rdi rbp rsp r8 r9 r10 r11 r12 r13 "
                 "r14 r15 rip eflags").split()


def registers():
    """The general registers, RIP and RFLAGS, or None if the guest has
    no frame (not started, or gone)."""
    try:
        return tuple(int(gdb.parse_and_eval("$" + r))
                     for r in SNAPSHOT_REGS)
    except gdb.error:
        return None


def repeated_stop(before, out):
    """A `continue` from a breakpoint that reports the same breakpoint
    with not one register changed: the guest did not run. QEMU's gdb
    stub does this now and then on a busy host (the step over the
    breakpoint is reported before it has run). A breakpoint hit again by
    a new call always differs in some register (RSP, a counter, RAX), so
    this is never taken for a real second hit. The book's gdb primer
    tells the reader to continue once more; the runner does the same,
    once, and says so."""
    return (before is not None and "Breakpoint " in out
            and registers() == before)


class Session:
    def __init__(self, path):
        self.s = json.load(open(path))
        self.name = self.s["name"]
        self.counts = {}
        self.failed = 0
        self.hook = None
        check = os.path.join(self.s["cwd"], "tests", "gdb",
                             self.name + ".check.py")
        if os.path.isfile(check):
            env = {"gdb": gdb, "re": re}
            exec(compile(open(check).read(), check, "exec"), env)
            self.hook = env.get("after")

    def check(self, what, ok, why=""):
        print("GDBCHECK %s %s%s" % ("PASS" if ok else "FAIL", what,
                                    "" if ok else ": " + why))
        if not ok:
            self.failed += 1

    def seen(self, cmd):
        return self.counts.get(cmd, 0)

    def run_step(self, step):
        cmd, expect = step["cmd"], step["expect"]
        ctrl_c = "^C" in expect
        expect = [e for e in expect if e != "^C"]
        fired = []

        def interrupt():
            fired.append(True)
            os.kill(os.getpid(), signal.SIGINT)
        timer = threading.Timer(5 if ctrl_c else 60, interrupt)
        timer.start()
        try:
            before = registers() if cmd in ("continue", "c") else None
            out, err = capture(cmd), None
            if repeated_stop(before, out):
                print("GDBNOTE %d: the same stop was reported twice; "
                      "continuing once more, as you would" % step["line"])
                out = capture(cmd)
        except gdb.error as e:
            out, err = "", str(e)
        finally:
            timer.cancel()
        where = "%d: (gdb) %s" % (step["line"], cmd)
        if err is None and fired and not ctrl_c:
            err = "still running after 60 s (stopped with Ctrl-C)"
        if ctrl_c and not fired:
            err = "returned before the Ctrl-C"
        self.check(where, err is None, err or "")
        print(out, end="" if out.endswith("\n") or not out else "\n")
        self.counts[cmd] = self.counts.get(cmd, 0) + 1
        self.match_output(step["line"], out, expect)
        if self.hook:
            try:
                self.hook(self, cmd, out)
            except Exception as e:       # a broken check fails, loudly
                self.check("%d: checks after %s" % (step["line"], cmd),
                           False, "%s: %s" % (type(e).__name__, e))

    def match_output(self, line, out, expect):
        """Each printed line, in order, must be a line of the output.
        Runs of spaces and tabs count as one space (gdb aligns columns
        with tabs), and `...` stands for any text."""
        squash = lambda t: " ".join(t.split())
        lines = [squash(l) for l in out.replace("\r", "").split("\n")]
        pos = 0
        for e in expect:
            if e.strip() == "...":
                continue
            pattern = "^" + ".*".join(re.escape(p) for p in
                                      squash(e).split("...")) + "$"
            hit = next((i for i in range(pos, len(lines))
                        if re.match(pattern, lines[i])), None)
            self.check("%d: prints \"%s\"" % (line, e), hit is not None,
                       "not in the output (in this order)")
            if hit is not None:
                pos = hit + 1

    def run(self):
        for step in self.s["steps"]:
            self.run_step(step)
        print("GDBCHECK END")


if os.environ.get("GDB_SESSION_JSON"):
    Session(os.environ["GDB_SESSION_JSON"]).run()
