#!/usr/bin/env python3
"""Holds N clients of the live event stream open and reads (and drops) what they are sent, for
bench/run-sse-bench.sh. Usage: sse_clients.py URL TOKEN N [QUERY]. Prints `connected N` once
every stream has answered 200 and its first bytes arrived, then reads until SIGTERM and prints
one JSON line: {"clients", "bytes", "events", "ended"} (`ended`: streams the server closed)."""
import json
import selectors
import signal
import socket
import sys
import urllib.parse


def main():
    url, token, count = sys.argv[1], sys.argv[2], int(sys.argv[3])
    query = sys.argv[4] if len(sys.argv) > 4 else ""
    parsed = urllib.parse.urlparse(url)
    target = "/v1/admin/events" + ("?" + query if query else "")
    request = ("GET %s HTTP/1.1\r\nHost: %s\r\nAccept: text/event-stream\r\nAuthorization: Bearer %s\r\n\r\n"
               % (target, parsed.netloc, token)).encode()
    sel = selectors.DefaultSelector()
    pending = set()
    for _ in range(count):
        s = socket.create_connection((parsed.hostname, parsed.port))
        s.sendall(request)
        s.setblocking(False)
        sel.register(s, selectors.EVENT_READ)
        pending.add(s)
    stop = []
    signal.signal(signal.SIGTERM, lambda *_: stop.append(True))
    total_bytes = events = ended = 0
    announced = False
    while not stop:
        for key, _ in sel.select(timeout=0.5):
            s = key.fileobj
            try:
                data = s.recv(65536)
            except (BlockingIOError, InterruptedError):
                continue
            if not data:
                sel.unregister(s)
                s.close()
                ended += 1
                continue
            if s in pending:
                if not data.startswith(b"HTTP/1.1 200"):
                    sys.exit("stream refused: %r" % data[:200])
                pending.discard(s)
            total_bytes += len(data)
            events += data.count(b"\nid: ") + data.startswith(b"id: ")
        if not pending and not announced:
            print("connected %d" % count, flush=True)
            announced = True
    print(json.dumps({"clients": count, "bytes": total_bytes, "events": events, "ended": ended}), flush=True)


if __name__ == "__main__":
    main()
