## # The scripted gdb session of chapter 01
##
## tools/gdbtest runs this in batch mode, connected to a paused QEMU:
## stop at `kmain` by name, look at the boot record the bootloader made,
## step one source line. Each step checks its result in Python and prints
## GDBCHECK PASS or FAIL. Try the same commands by hand after `make gdb`.
python
def check(name, ok, why=""):
    print("GDBCHECK %s %s%s" % ("PASS" if ok else "FAIL", name,
                                "" if ok else ": " + why))
end

break kmain
continue

python
frame = gdb.selected_frame()
sal = frame.find_sal()
check("stopped-in-kmain", frame.name() == "kmain", "in %s" % frame.name())
check("source-is-main.c", sal.symtab.filename.endswith("kernel/main.c"),
      sal.symtab.filename)
check("higher-half-pc", frame.pc() >= 0xffffff0000100000, hex(frame.pc()))
start_line = sal.line
end

print/x boot_info_phys
print/x ((struct boot_info *)(0xffffff0000000000 + boot_info_phys))->magic
python
bi = gdb.parse_and_eval(
    "*(struct boot_info *)(0xffffff0000000000 + boot_info_phys)")
check("boot-record-magic", int(bi["magic"]) == 0x544F424B,
      hex(int(bi["magic"])))
check("boot-record-kernel-start", int(bi["kernel_start"]) == 0x100000,
      hex(int(bi["kernel_start"])))
check("boot-record-e820-count", 1 <= int(bi["e820_count"]) <= 128,
      str(int(bi["e820_count"])))
end

next
python
sal = gdb.selected_frame().find_sal()
check("next-steps-one-line", sal.line > start_line and
      gdb.selected_frame().name() == "kmain",
      "line %d after %d" % (sal.line, start_line))
end
python print("GDBCHECK END")
