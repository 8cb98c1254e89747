#!/usr/bin/env python3
"""A loopback HTTP proxy for the agent's integration tests (not a test itself).

    python3 http_proxy.py DIR

Listens on 127.0.0.1 (a free port, written to DIR/port) and forwards each
request to 127.0.0.1:UPSTREAM, one request per connection (it asks both sides
for "Connection: close"), so that what the agent fetches can be counted and a
connection cut where a test wants it. DIR/ctl is read again for every
request, so a test changes the proxy's behaviour (or the server's port after
a restart) by rewriting it. Its lines:

    upstream PORT            where the server listens
    cut N BYTES              the N-th ranged GET since the start: relay the
                             head and BYTES of the body, then close (once)
    hold N BYTES             the same, but wait until DIR/release exists
                             before closing (the test kills the server then)
    drop_install             the next check-in answer with "action":"install"
                             becomes 503 + Retry-After: 1 (once)
    replay_install           the next check-in answer with "action":"install"
                             is replaced by the one before it (once)
    replace_install FILE     the next check-in answer with "action":"install"
                             is replaced by FILE's bytes (once)

A rule fires once (the same line never fires twice). DIR/log gets one line
per request:

    SEQ METHOD PATH RANGE OUTCOME

RANGE is "first-last" or "-"; OUTCOME is "ok STATUS", "cut STATUS BYTES",
"dropped", "replayed",
"replaced" or "upstream-down". DIR/checkin-SEQ.json holds the
server's answer to every check-in.
"""
import os
import socket
import sys
import threading
import time

DIR = sys.argv[1]
lock = threading.Lock()
seq = 0
ranged = 0
fired = set()
last_install = None


def read_ctl():
    rules = {}
    try:
        with open(os.path.join(DIR, "ctl")) as f:
            for line in f:
                words = line.split()
                if words:
                    rules.setdefault(words[0], []).append((line.strip(), words[1:]))
    except FileNotFoundError:
        pass
    return rules


def fire(rule):
    """True the first time a rule line is used."""
    with lock:
        if rule in fired:
            return False
        fired.add(rule)
        return True


def log(line):
    with lock:
        with open(os.path.join(DIR, "log"), "a") as f:
            f.write(line + "\n")


def read_head(sock, buf=b""):
    while b"\r\n\r\n" not in buf:
        data = sock.recv(65536)
        if not data:
            return None, buf
        buf += data
    head, rest = buf.split(b"\r\n\r\n", 1)
    return head.decode("latin-1").split("\r\n"), rest


def header(lines, name):
    for line in lines[1:]:
        k, _, v = line.partition(":")
        if k.strip().lower() == name:
            return v.strip()
    return None


def without(lines, names):
    return [lines[0]] + [l for l in lines[1:] if l.partition(":")[0].strip().lower() not in names]


def recv_all(sock):
    chunks = []
    while True:
        data = sock.recv(65536)
        if not data:
            return b"".join(chunks)
        chunks.append(data)


def answer(client, status, body, extra=()):
    head = ["HTTP/1.1 %d Proxy" % status, "Content-Type: application/json",
            "Content-Length: %d" % len(body), "Connection: close"] + list(extra)
    client.sendall(("\r\n".join(head) + "\r\n\r\n").encode() + body)


def handle(client):
    global seq, ranged, last_install
    try:
        lines, rest = read_head(client)
        if lines is None:
            return
        n = int(header(lines, "content-length") or 0)
        while len(rest) < n:
            data = client.recv(65536)
            if not data:
                return
            rest += data
        method, path = lines[0].split(" ")[:2]
        rng = header(lines, "range")
        rules = read_ctl()
        with lock:
            seq += 1
            me = seq
            if method == "GET" and rng is not None:
                ranged += 1
            nth = ranged if method == "GET" and rng is not None else 0
        where = (rng or "-").replace("bytes=", "")
        up = socket.socket()
        try:
            up.connect(("127.0.0.1", int(rules["upstream"][0][1][0])))
        except (OSError, KeyError, IndexError, ValueError):
            log("%d %s %s %s upstream-down" % (me, method, path, where))
            return
        fwd = without(lines, ("connection",)) + ["Connection: close"]
        up.sendall(("\r\n".join(fwd) + "\r\n\r\n").encode("latin-1") + rest)
        resp = recv_all(up)
        up.close()
        rhead, _, body = resp.partition(b"\r\n\r\n")
        rlines = rhead.decode("latin-1").split("\r\n")
        status = int(rlines[0].split(" ")[1]) if rlines and " " in rlines[0] else 0
        if path.endswith("/device/checkin"):
            with open(os.path.join(DIR, "checkin-%d.json" % me), "wb") as f:
                f.write(body)
            if b'"action":"install"' in body.replace(b" ", b""):
                previous, last_install = last_install, body
                for rule, _ in rules.get("drop_install", []):
                    if fire(rule):
                        answer(client, 503, b'{"error":{"code":"E_BUSY"}}', ["Retry-After: 1"])
                        log("%d %s %s - dropped" % (me, method, path))
                        return
                for rule, _ in rules.get("replay_install", []):
                    if previous is not None and fire(rule):
                        answer(client, 200, previous)
                        log("%d %s %s - replayed" % (me, method, path))
                        return
                for rule, args in rules.get("replace_install", []):
                    if fire(rule):
                        with open(args[0], "rb") as f:
                            answer(client, 200, f.read())
                        log("%d %s %s - replaced" % (me, method, path))
                        return
        for kind in ("cut", "hold"):
            for rule, args in rules.get(kind, []):
                if nth == int(args[0]) and fire(rule):
                    keep = int(args[1])
                    client.sendall(rhead + b"\r\n\r\n" + body[:keep])
                    log("%d %s %s %s %s %d %d" % (me, method, path, where, kind, status, keep))
                    while kind == "hold" and not os.path.exists(os.path.join(DIR, "release")):
                        time.sleep(0.02)
                    return
        client.sendall(resp)
        log("%d %s %s %s ok %d" % (me, method, path, where, status))
    except OSError as e:
        log("%d error %s" % (seq, e))
    finally:
        client.close()


def main():
    srv = socket.socket()
    srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    srv.bind(("127.0.0.1", 0))
    srv.listen(64)
    tmp = os.path.join(DIR, "port.tmp")
    with open(tmp, "w") as f:
        f.write("%d\n" % srv.getsockname()[1])
    os.rename(tmp, os.path.join(DIR, "port"))
    while True:
        client, _ = srv.accept()
        threading.Thread(target=handle, args=(client,), daemon=True).start()


main()
