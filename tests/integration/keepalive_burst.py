#!/usr/bin/env python3
"""A burst of requests on idle keep-alive connections, for test_server_burst.sh
(not a test itself).

    python3 keepalive_burst.py PORT PID CONNECTIONS DEADLINE_S

Opens CONNECTIONS keep-alive connections to 127.0.0.1:PORT and makes one
GET /healthz on each, so that the server has them all open and idle. Then
it stops the server (SIGSTOP, PID), sends one more GET /healthz on every
connection and resumes the server (SIGCONT): when the server next looks,
every connection has a request waiting at once. Prints how many of the
second requests were answered 200 within DEADLINE_S seconds; exits 0 when
all were, 1 otherwise.
"""
import os
import selectors
import signal
import socket
import sys
import time

REQUEST = b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"


def response_done(buf):
    """True once buf holds a whole response (headers and Content-Length body)."""
    head, sep, body = buf.partition(b"\r\n\r\n")
    if not sep:
        return False
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            return len(body) >= int(value.strip())
    return True


def read_all(socks, deadline):
    """Reads one response from each socket until the deadline; returns the
    number of 200 answers."""
    sel = selectors.DefaultSelector()
    bufs = {}
    for s in socks:
        sel.register(s, selectors.EVENT_READ)
        bufs[s] = b""
    answered = 0
    while bufs and time.monotonic() < deadline:
        for key, _ in sel.select(timeout=max(0.0, deadline - time.monotonic())):
            s = key.fileobj
            chunk = s.recv(65536)
            bufs[s] += chunk
            if not chunk or response_done(bufs[s]):
                if bufs[s].startswith(b"HTTP/1.1 200"):
                    answered += 1
                sel.unregister(s)
                del bufs[s]
    sel.close()
    return answered


def wait_stopped(pid):
    for _ in range(500):
        with open(f"/proc/{pid}/stat") as f:
            if f.read().rsplit(")", 1)[1].split()[0] == "T":
                return
        time.sleep(0.01)
    raise SystemExit("server did not stop")


def main():
    port, pid, n, deadline_s = (int(a) for a in sys.argv[1:5])
    socks = []
    for _ in range(n):
        s = socket.create_connection(("127.0.0.1", port), timeout=10)
        s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        s.sendall(REQUEST)
        socks.append(s)
    first = read_all(socks, time.monotonic() + 30)
    if first != n:
        print(f"first requests: {first} of {n} answered")
        return 1
    os.kill(pid, signal.SIGSTOP)
    try:
        wait_stopped(pid)
        for s in socks:
            s.sendall(REQUEST)
    finally:
        os.kill(pid, signal.SIGCONT)
    second = read_all(socks, time.monotonic() + deadline_s)
    print(f"burst: {second} of {n} answered within {deadline_s} s")
    for s in socks:
        s.close()
    return 0 if second == n else 1


if __name__ == "__main__":
    sys.exit(main())
