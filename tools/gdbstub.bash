## # tools/gdbstub.bash: start QEMU with a gdb stub on a port that is ours
##
## Sourced by tools/gdb-session (`make gdb`) and tools/gdbtest. A gdb
## stub is a TCP port on 127.0.0.1. Two things can go wrong with it:
##
## - **The port is taken** (another `make gdb`, another test run). QEMU
##   then cannot listen and exits, and a gdb told to connect to that
##   port would attach to somebody else's QEMU. So we never assume a
##   port is free: we wait until *our* QEMU process holds a listening
##   socket on it (its socket inode appears in /proc/net/tcp as LISTEN),
##   and only then start gdb. If QEMU exits first, the port was taken.
## - **Ctrl-C in the terminal.** The terminal sends SIGINT to every
##   process of its foreground group, and QEMU dies of it ("terminating
##   on signal 2"). QEMU therefore runs in a session of its own
##   (`setsid`): Ctrl-C reaches gdb only, which stops the guest through
##   the stub, and the session goes on.

# free_port: a port that no socket of this machine is bound to now
# (none of /proc/net/tcp and tcp6 has it as its local port), picked at
# random from 20000-31999, below the range Linux hands out to outgoing
# connections. (Not a Python bind to port 0: where python3 is a pyenv
# shim, starting it costs 0.7 CPU-s, more than the rest of a session's
# set-up.) Someone may take the port before QEMU binds it, as with
# port 0: start_gdbstub then fails, and start_gdbstub_anywhere tries
# another.
free_port() {
	local p tables=()
	[ -r /proc/net/tcp ] && tables+=(/proc/net/tcp)
	[ -r /proc/net/tcp6 ] && tables+=(/proc/net/tcp6)
	while :; do
		p=$(( 20000 + (RANDOM * 32768 + RANDOM) % 12000 ))
		[ ${#tables[@]} -eq 0 ] && break
		awk -v port="$(printf ':%04X' "$p")" '
			substr($2, length($2) - 4) == port { used = 1 }
			END { exit used }' "${tables[@]}" && break
	done
	echo "$p"
}

# listening PID PORT: PID holds a socket listening on 127.0.0.1:PORT
listening() {
	local inodes
	inodes=$(ls -l "/proc/$1/fd" 2>/dev/null |
		sed -n 's/.*socket:\[\([0-9]*\)\]$/\1/p' | tr '\n' ' ')
	[ -n "$inodes" ] || return 1
	awk -v port="$(printf ':%04X' "$2")" -v inodes="$inodes" '
		BEGIN {
			n = split(inodes, a, " ")
			for (i = 1; i <= n; i++) s[a[i]]
		}
		substr($2, length($2) - 4) == port && $4 == "0A" && ($10 in s) {
			found = 1
		}
		END { exit !found }' /proc/net/tcp /proc/net/tcp6 2>/dev/null
}

# start_gdbstub PORT QEMU-OPTION...: start tools/qemu paused with its gdb
# stub on PORT, in its own session, and wait (up to 20 s) until it
# listens there. Sets qemu_pid. Fails (status 1) if QEMU exits first.
start_gdbstub() {
	local port=$1 i; shift
	# (QEMU's note that it was stopped when gdb ended is left out.)
	setsid "$GDBSTUB_TOOLS/qemu" --gdb "$port" "$@" </dev/null \
		2> >(grep --line-buffered -v 'terminating on signal' >&2) &
	qemu_pid=$!
	for i in $(seq 200); do
		listening "$qemu_pid" "$port" && return 0
		kill -0 "$qemu_pid" 2>/dev/null ||
			{ wait "$qemu_pid"; return 1; }
		sleep 0.1
	done
	kill "$qemu_pid" 2>/dev/null
	return 1
}

# start_gdbstub_anywhere QEMU-OPTION...: the same on a free port, trying
# again (five times) if someone takes it between our choice and QEMU's
# bind. Sets qemu_pid and port.
start_gdbstub_anywhere() {
	local try
	for try in 1 2 3 4 5; do
		port=$(free_port)
		start_gdbstub "$port" "$@" && return 0
	done
	return 1
}

# gdb_connect_args CHAPTER_DIR PORT: sets gdb_args, gdb's options for a
# session on the chapter's kernel through PORT: the shared settings and
# commands (tools/gdb), the chapter's own (its gdb/ directory), the
# kernel's symbols and the bootloader's labels, then the connection.
gdb_connect_args() {
	local f
	gdb_args=(-q -nx -x "$GDBSTUB_TOOLS/gdb/common.gdb"
		  -x "$GDBSTUB_TOOLS/gdb/realmode.py")
	for f in "$1"/gdb/*.py "$1"/gdb/*.gdb; do
		[ -f "$f" ] && gdb_args+=(-x "$f")
	done
	gdb_args+=(-ex "file $1/build/kernel.elf"
		   -ex "add-symbol-file $1/build/boot.elf"
		   -ex "target remote 127.0.0.1:$2")
}

GDBSTUB_TOOLS=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
