#!/usr/bin/env python3
# A webhook receiver for bench/run-events-bench.sh: answers every POST 204 at once, on
# 127.0.0.1 and a port the kernel chooses (printed as "listening on PORT"), one thread per
# connection, keep-alive. Counts what it received and prints the count when stopped.
import http.server
import signal
import sys
import threading

received = 0
lock = threading.Lock()


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def do_POST(self):
        global received
        self.rfile.read(int(self.headers.get("Content-Length", "0")))
        with lock:
            received += 1
        self.send_response(204)
        self.end_headers()

    def log_message(self, *args):
        pass


server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
server.daemon_threads = True


def stop(*_):
    print(f"received {received}", flush=True)
    sys.exit(0)


signal.signal(signal.SIGTERM, stop)
print(f"listening on {server.server_address[1]}", flush=True)
server.serve_forever()
