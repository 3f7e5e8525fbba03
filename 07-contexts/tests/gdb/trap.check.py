## # Checks for the README's `trap` session (tools/gdb/session.py)
##
## The printed session shows `bt` from inside `trap_dispatch`. Here the
## unwinder (gdb/trapframe.py) is also checked on the way out of the
## interrupt: after `finish`, at every instruction of `isr_common` that
## pops the trap frame, the backtrace must still reach the interrupted
## `int3_returns`, and after `iretq` the CPU must be back in it, at the
## RIP the frame held.


def caller_of(level):
    out = gdb.execute("bt %d" % (level + 1), to_string=True)
    rows = [l for l in out.split("\n") if l.startswith("#%d " % level)]
    return rows[0] if rows else out


def after(s, cmd, out):
    if cmd == "bt":
        s.check("bt-reaches-kmain", " in kmain_continue " in out, out)
    if cmd != "info registers rip":
        return
    gdb.execute("frame 0", to_string=True)
    rip = int(gdb.parse_and_eval("f->rip"))
    gdb.execute("finish", to_string=True)
    bad = []
    for step in range(20):
        pc = int(gdb.parse_and_eval("$pc"))
        insn = gdb.execute("x/i $pc", to_string=True)
        row = caller_of(1)
        if "int3_returns" not in row:
            bad.append("at %s: %s" % (insn.strip(), row))
        if "iretq" in insn:
            break
        gdb.execute("stepi", to_string=True)
    s.check("bt-through-isr-common-pops", not bad and "iretq" in insn,
            "; ".join(bad) or "no iretq in 20 steps")
    gdb.execute("stepi", to_string=True)
    pc = int(gdb.parse_and_eval("$pc"))
    s.check("iretq-returns-to-unwound-rip", pc == rip,
            "pc 0x%x, frame said 0x%x" % (pc, rip))
