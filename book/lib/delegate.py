## # book/lib/delegate.py: hand this command to the render server
##
##     import delegate; delegate.to_server()
##
## Called first thing by book/lib/render and book/lib/assemble. When
## BOOK_RENDER_SERVER names the socket of a running book/lib/render-server
## (the book's Makefile starts one for a build), the command (this script,
## its arguments, directory, environment, standard input, output and
## error) is run by a child of the server, which has WeasyPrint imported
## already; this process waits for it and exits with its status. Without
## a server, or when it cannot be reached, this returns and the script
## runs the command itself.
import json
import os
import socket
import struct
import sys


def to_server():
    path = os.environ.get("BOOK_RENDER_SERVER")
    if not path or not os.path.exists(path):
        return
    conn = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        conn.connect(path)
    except OSError:
        conn.close()
        return
    req = json.dumps({"argv": [os.path.abspath(sys.argv[0])] + sys.argv[1:],
                      "cwd": os.getcwd(), "env": dict(os.environ)})
    req = req.encode("utf-8", "surrogateescape")
    socket.send_fds(conn, [struct.pack("I", len(req)) + req], [0, 1, 2])
    status = b""
    while len(status) < 4:
        more = conn.recv(4 - len(status))
        if not more:
            print("book: %s: the render server's child ended without a status"
                  % os.path.basename(sys.argv[0]), file=sys.stderr)
            sys.exit(1)
        status += more
    sys.exit(struct.unpack("i", status)[0])
