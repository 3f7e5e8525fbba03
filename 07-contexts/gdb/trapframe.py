## # gdb/trapframe.py: backtraces through an interrupt
##
## Loaded by `make gdb` (tools/gdb-session sources every `gdb/*.py` of
## the chapter) and by the scripted gdb tests. Without it, a backtrace
## taken inside `trap_dispatch` ends in nonsense:
##
##     #0  trap_dispatch (f=0xffffff000009eed0) at kernel/trap.c:38
##     #1  0xffffff00001051ca in isr_common () at kernel/isr.asm:81
##     #2  0x0000000000000000 in ?? ()
##
## gdb unwinds a C function with the call-frame information (CFI) that
## gcc writes for it: where the function keeps its return address and
## the caller's registers. `isr.asm` has none, and it is not an ordinary
## function anyway: nobody called it. The CPU pushed an interrupt frame,
## the stub and `isr_common` pushed the rest of `struct trap_frame`
## (trap.h), and the interrupted code's registers are all in there.
##
## This file teaches gdb that, with an *unwinder* in Python: for a frame
## whose PC is in a stub or in `isr_common`, it works out where the
## `struct trap_frame` is (by counting the pushes and pops between the
## start of the code and the PC), and gives gdb the interrupted code's
## RIP, RSP, RFLAGS and general registers from it. The backtrace then
## goes on into the code that was running when the interrupt came:
##
##     #0  trap_dispatch (f=0xffffff000009eed0) at kernel/trap.c:38
##     #1  0xffffff00001051ca in isr_common () at kernel/isr.asm:81
##     #2  0xffffff00001044d0 in int3_returns () at kernel/trap_tests.c:24
##     #3  ... in ktest_run_all () ...
##
## `up 2` then selects the interrupted function, and `info registers`
## shows its registers as they were. (A fault's RIP is the faulting
## instruction itself; gdb looks up the line of RIP - 1 for every frame
## but the innermost, so a fault on a function's very first instruction
## would be shown in the function before it.)
import re

import gdb
from gdb.unwinder import Unwinder, register_unwinder

FRAME_WORDS = 22                  # sizeof(struct trap_frame) / 8
VECTOR_OFFSET = 15 * 8            # where the stub's pushes end
REGS = ("r15", "r14", "r13", "r12", "r11", "r10", "r9", "r8", "rbp", "rdi",
        "rsi", "rdx", "rcx", "rbx", "rax")


def address(name):
    try:
        return int(gdb.parse_and_eval("(unsigned long)&" + name))
    except gdb.error:
        return None


class TrapFrameId:
    def __init__(self, sp, pc):
        self.sp, self.pc = sp, pc


class TrapFrameUnwinder(Unwinder):
    def __init__(self):
        super().__init__("struct trap_frame")
        self.code = None              # (start, end, [(addr, asm text)])

    def load(self):
        """The stubs and isr_common, disassembled once. None while they
        cannot be read yet: at the reset vector, before the bootloader
        has loaded the kernel and mapped it, their addresses are not
        mapped, and gdb asks every unwinder about that first frame."""
        first, common = address("isr_0"), address("isr_common")
        if first is None or common is None:
            return None
        arch = gdb.selected_inferior().architecture()
        insns, pc = [], first
        while True:
            try:
                i = arch.disassemble(pc)[0]
            except gdb.MemoryError:
                return None
            insns.append((pc, i["asm"]))
            if i["asm"].startswith("iretq"):
                break
            pc += i["length"]
        self.code = (first, pc + 1, common, insns)
        return self.code

    def offset(self, pc):
        """Bytes from RSP to the trap frame's start, with PC about to run."""
        first, end, common, insns = self.code
        if pc >= common:
            start, off = common, VECTOR_OFFSET
        else:                          # a stub: from its symbol to its jmp
            name = gdb.execute("info symbol 0x%x" % pc, to_string=True)
            start = address(name.split()[0])
            pushes = 0
            for a, t in insns:
                if a < start:
                    continue
                if t.startswith("jmp"):
                    break
                pushes += t.startswith("push")
            off = VECTOR_OFFSET + 8 * pushes
        for a, t in insns:
            if a < start:
                continue
            if a >= pc:
                break
            if t.startswith("push"):
                off -= 8
            elif t.startswith("pop"):
                off += 8
            elif re.match(r"add\s+rsp,\s*(0x[0-9a-f]+|\d+)", t):
                off += int(t.split(",")[1], 0)
        return off

    def __call__(self, pending):
        pc = int(pending.read_register("rip"))
        if self.code is None and self.load() is None:
            return None
        first, end = self.code[0], self.code[1]
        if not first <= pc < end:
            return None
        sp = int(pending.read_register("rsp"))
        base = sp - self.offset(pc)
        mem = bytes(gdb.selected_inferior().read_memory(base,
                                                        FRAME_WORDS * 8))
        word = [int.from_bytes(mem[i:i + 8], "little")
                for i in range(0, len(mem), 8)]
        info = pending.create_unwind_info(TrapFrameId(
            gdb.Value(base), gdb.Value(self.code[2])))
        values = dict(zip(REGS, word))
        values.update(rip=word[17], cs=word[18], eflags=word[19],
                      rsp=word[20], ss=word[21])
        for reg, v in values.items():
            t = pending.read_register(reg).type  # int, pointer, flags
            raw = (v & ((1 << 8 * t.sizeof) - 1)).to_bytes(t.sizeof,
                                                            "little")
            info.add_saved_register(reg, gdb.Value(raw, t))
        return info


register_unwinder(None, TrapFrameUnwinder(), replace=True)


## ### Where a backtrace ends
##
## The boot CPU leaves the bootloader's stack for a guarded kernel stack
## (`kstack_switch.asm`), and a backtrace taken there would go on past
## `kstack_switch`, the first function on the new stack, into whatever
## lies above the stack's top. `kstack_switch` pushes a zero return
## address for exactly this reason, and gdb would show it as a last
## frame `0x0000000000000000 in ?? ()`. This *frame filter* leaves that
## frame out: a zero PC above the innermost frame is where the chain of
## calls begins, not a place the CPU ran.
class EndAtZeroPc:
    def __init__(self):
        self.name, self.priority, self.enabled = "zero-pc", 100, True
        gdb.frame_filters[self.name] = self

    def filter(self, frames):
        for f in frames:
            frame = f.inferior_frame()
            if frame.level() > 0 and frame.pc() == 0:
                return
            yield f


EndAtZeroPc()
