#!/usr/bin/python3
"""The Instruqt lab author's kit (examples/instruqt) against the real broker.

Each test starts `sandbox-broker csp-sim` and `sandbox-broker run` (SQLite, in a temp dir) on
loopback ports, and runs the kit's setup and cleanup scripts in one language (bash or python,
the second argument) as a track would: the happy path, an idempotent repeat, cleanup twice, a
burst of 503s from a fault-injecting proxy, a 401 that stops at once, and an empty pool that
fills while the script waits.

usage: kit_test.py BROKER_BINARY KIT_DIR bash|python [unittest args]
"""
import http.server
import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
import unittest
import urllib.error
import urllib.request

BINARY, KIT, LANGUAGE = os.path.abspath(sys.argv[1]), os.path.abspath(sys.argv[2]), sys.argv[3]
API_TOKEN = "kit-participant-token-0123456789"
ADMIN_TOKEN = "kit-admin-token-9876543210"
SIM_TOKEN = "kit-sim-token-42"


def request(method, url, headers=None, body=None, timeout=30):
    data = None if body is None else json.dumps(body).encode()
    req = urllib.request.Request(url, data=data, method=method, headers=headers or {})
    try:
        with urllib.request.urlopen(req, timeout=timeout) as answer:
            return answer.status, json.loads(answer.read() or b"{}")
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read() or b"{}")


def start_listening(command, env, cwd):
    """Starts a process that prints `listening on URL`; returns (process, URL)."""
    process = subprocess.Popen(command, env=env, cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                               text=True)
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        line = process.stdout.readline()
        if not line:
            break
        if line.startswith("listening on "):
            threading.Thread(target=process.stdout.read, daemon=True).start()  # keep the pipe drained
            return process, line.split()[-1].strip()
    process.kill()
    raise RuntimeError("%s did not start listening" % command[1])


class FaultProxy(http.server.ThreadingHTTPServer):
    """Forwards to the broker; the first `failures` allocations are answered 503 Retry-After: 1."""

    def __init__(self, upstream, failures):
        self.upstream, self.failures, self.allocations = upstream, failures, 0
        self.lock = threading.Lock()
        super().__init__(("127.0.0.1", 0), ProxyHandler)

    @property
    def url(self):
        return "http://127.0.0.1:%d" % self.server_address[1]


class ProxyHandler(http.server.BaseHTTPRequestHandler):
    def log_message(self, *args):
        pass

    def do_POST(self):
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        if self.path.endswith("/allocate"):
            with self.server.lock:
                self.server.allocations += 1
                fail = self.server.allocations <= self.server.failures
            if fail:
                payload = b'{"error":{"code":"SERVICE_UNAVAILABLE","message":"overloaded"}}'
                self.send_response(503)
                self.send_header("Retry-After", "1")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)
                return
        headers = {k: v for k, v in self.headers.items() if k.lower() not in ("host", "content-length")}
        req = urllib.request.Request(self.server.upstream + self.path, data=body, method="POST", headers=headers)
        try:
            with urllib.request.urlopen(req, timeout=60) as answer:
                status, payload, answer_headers = answer.status, answer.read(), answer.headers
        except urllib.error.HTTPError as error:
            status, payload, answer_headers = error.code, error.read(), error.headers
        self.send_response(status)
        for name in ("Content-Type", "Retry-After"):
            if answer_headers.get(name):
                self.send_header(name, answer_headers[name])
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)


class KitTest(unittest.TestCase):
    broker_env = {}  # settings of the broker beyond the ones every test uses

    def setUp(self):
        self.dir = tempfile.mkdtemp(prefix="instruqt-kit-")
        self.addCleanup(shutil.rmtree, self.dir, True)
        base = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": self.dir}
        self.sim, self.sim_url = start_listening(
            [BINARY, "csp-sim", "--listen", "127.0.0.1:0", "--sandboxes", "0", "--name-prefix", "kit-",
             "--token", SIM_TOKEN, "--log-level", "off"], base, self.dir)
        self.addCleanup(self.stop, self.sim)
        env = dict(base, BROKER_LISTEN="127.0.0.1:0", BROKER_API_TOKEN=API_TOKEN, BROKER_ADMIN_TOKEN=ADMIN_TOKEN,
                   CSP_BASE_URL=self.sim_url + "/v2", CSP_API_TOKEN=SIM_TOKEN, SYNC_INTERVAL_SEC="600",
                   NO_SANDBOXES_RETRY_AFTER_SEC="1", RATE_LIMIT_ENABLED="false", LOG_LEVEL="warning",
                   WORKER_POLL_MS="100", PROVIDER_RATE_LIMIT_RPS="0", **self.broker_env)
        self.broker, self.url = start_listening(
            [BINARY, "run", "--store", "sqlite:" + os.path.join(self.dir, "broker.db")], env, self.dir)
        self.addCleanup(self.stop, self.broker)
        self.participant = "kit-%s-%s" % (LANGUAGE, self.id().rsplit(".", 1)[-1])
        self.out = os.path.join(self.dir, "sandbox")

    @staticmethod
    def stop(process):
        process.terminate()
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        if process.stdout:
            process.stdout.close()

    def fill_pool(self, count):
        status, _ = request("POST", self.sim_url + "/_sim/accounts", body={"count": count})
        self.assertIn(status, (200, 201))
        status, run = request("POST", self.url + "/v1/admin/sync?wait=20",
                              {"Authorization": "Bearer " + ADMIN_TOKEN})
        self.assertEqual(status, 200, run)

    def script_command(self, name):
        if LANGUAGE == "bash":
            return ["bash", os.path.join(KIT, "broker-%s.sh" % name)]
        return ["/usr/bin/python3", os.path.join(KIT, "broker_%s.py" % name)]

    def script_env(self, url=None, token=API_TOKEN, **extra):
        env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": self.dir, "BROKER_URL": url or self.url,
               "BROKER_API_TOKEN": token, "INSTRUQT_PARTICIPANT_ID": self.participant,
               "INSTRUQT_TRACK_SLUG": "kit-track", "BROKER_OUTPUT_DIR": self.out, "BROKER_BUDGET_SEC": "30",
               "BROKER_WAIT_SEC": "5"}
        env.update(extra)
        return env

    def run_script(self, name, **env):
        started = time.monotonic()
        done = subprocess.run(self.script_command(name), env=self.script_env(**env), capture_output=True, text=True,
                              timeout=120)
        output = done.stdout + done.stderr
        self.assertNotIn(API_TOKEN, output)
        self.assertNotIn(env.get("token", API_TOKEN), output)
        return done.returncode, output, time.monotonic() - started

    def read(self, field):
        with open(os.path.join(self.out, field)) as f:
            return f.read().strip()

    def sandbox(self, sandbox_id):
        return request("GET", "%s/v1/sandboxes/%s" % (self.url, sandbox_id),
                       {"Authorization": "Bearer " + API_TOKEN, "X-Instruqt-Sandbox-ID": self.participant})

    def test_setup_writes_the_sandbox_and_a_repeat_gets_the_same_one(self):
        self.fill_pool(3)
        code, output, _ = self.run_script("setup")
        self.assertEqual(code, 0, output)
        sandbox_id = self.read("sandbox_id")
        status, held = self.sandbox(sandbox_id)
        self.assertEqual(status, 200, held)
        self.assertEqual(held["status"], "allocated")
        self.assertEqual(held["track_name"], "kit-track")
        self.assertEqual(self.read("name"), held["name"])
        self.assertEqual(self.read("expires_at"), str(held["expires_at"]))
        sourced = subprocess.run(["bash", "-c", 'source "$1" && echo "$SANDBOX_SANDBOX_ID $SANDBOX_NAME"', "-",
                                  os.path.join(self.out, "sandbox.env")], capture_output=True, text=True)
        self.assertEqual(sourced.stdout.strip(), "%s %s" % (sandbox_id, held["name"]))
        with open(os.path.join(self.out, "sandbox.json")) as f:
            self.assertEqual(json.load(f)["sandbox_id"], sandbox_id)

        code, output, _ = self.run_script("setup")
        self.assertEqual(code, 0, output)
        self.assertEqual(self.read("sandbox_id"), sandbox_id)

    def test_cleanup_returns_it_and_a_second_run_ends_zero(self):
        code, output, _ = self.run_script("cleanup")
        self.assertEqual(code, 0, output)
        self.assertIn("nothing to do", output)
        self.fill_pool(2)
        self.assertEqual(self.run_script("setup")[0], 0)
        sandbox_id = self.read("sandbox_id")
        code, output, _ = self.run_script("cleanup")
        self.assertEqual(code, 0, output)
        self.assertIn("returned", output)
        self.assertEqual(self.sandbox(sandbox_id)[1]["status"], "pending_deletion")
        code, output, _ = self.run_script("cleanup")
        self.assertEqual(code, 0, output)
        self.assertIn(sandbox_id, output)

    def test_a_burst_of_503_is_retried_after_retry_after(self):
        self.fill_pool(2)
        proxy = FaultProxy(self.url, failures=3)
        threading.Thread(target=proxy.serve_forever, daemon=True).start()
        self.addCleanup(proxy.server_close)
        self.addCleanup(proxy.shutdown)
        code, output, took = self.run_script("setup", url=proxy.url)
        self.assertEqual(code, 0, output)
        self.assertEqual(proxy.allocations, 4)
        self.assertGreaterEqual(took, 3.0)
        self.assertIn("503", output)
        self.assertEqual(self.sandbox(self.read("sandbox_id"))[1]["status"], "allocated")

    def test_a_wrong_token_stops_at_once(self):
        self.fill_pool(1)
        code, output, took = self.run_script("setup", token="wrong-token-" + "x" * 20, BROKER_BUDGET_SEC="60")
        self.assertEqual(code, 2, output)
        self.assertIn("401", output)
        self.assertLess(took, 10)
        self.assertNotIn("wrong-token-", output)
        self.assertFalse(os.path.exists(os.path.join(self.out, "sandbox_id")))

    def fill_while_waiting(self, **env):
        script = subprocess.Popen(self.script_command("setup"), env=self.script_env(**env), stdout=subprocess.PIPE,
                                  stderr=subprocess.STDOUT, text=True)
        self.addCleanup(lambda: script.poll() is None and script.kill())
        time.sleep(2.5)
        self.assertIsNone(script.poll(), "the script gave up on an empty pool")
        self.fill_pool(2)
        output, _ = script.communicate(timeout=30)
        script.stdout.close()
        self.assertEqual(script.returncode, 0, output)
        self.assertNotIn(API_TOKEN, output)
        self.assertEqual(self.sandbox(self.read("sandbox_id"))[1]["status"], "allocated")
        return output

    def test_an_empty_pool_that_fills_while_the_script_waits(self):
        # The broker holds the request (Prefer: wait) and answers once the sync brings sandboxes.
        self.fill_while_waiting(BROKER_WAIT_SEC="20")

    def test_an_empty_pool_that_fills_while_the_script_retries(self):
        # Without waiting at the broker: 409 NO_SANDBOXES_AVAILABLE, retried after retry_after.
        output = self.fill_while_waiting(BROKER_WAIT_SEC="0")
        self.assertIn("NO_SANDBOXES_AVAILABLE", output)

    def test_a_track_at_its_limit_is_waited_out_not_given_up(self):
        self.fill_pool(2)
        admin = {"Authorization": "Bearer " + ADMIN_TOKEN}
        status, answer = request("PUT", self.url + "/v1/admin/tracks/kit-track/limit", admin, {"max_active": 1})
        self.assertEqual(status, 200, answer)
        status, held = request("POST", self.url + "/v1/allocate",
                               {"Authorization": "Bearer " + API_TOKEN, "X-Instruqt-Sandbox-ID": "someone-else",
                                "X-Instruqt-Track-ID": "kit-track"})
        self.assertEqual(status, 201, held)
        code, output, took = self.run_script("setup", BROKER_BUDGET_SEC="4", BROKER_WAIT_SEC="1")
        self.assertEqual(code, 1, output)  # the budget ran out: retried, not refused (2)
        self.assertIn("TRACK_LIMIT_REACHED", output)
        self.assertGreaterEqual(took, 3.0)


class ShortLeaseKitTest(KitTest):
    """A one-second lease without grace: cleanup after it ran out still ends 0."""

    broker_env = {"LAB_DURATION_SEC": "1", "GRACE_PERIOD_SEC": "0"}

    def test_cleanup_after_the_lease_ran_out_ends_zero(self):
        self.fill_pool(1)
        self.assertEqual(self.run_script("setup")[0], 0)
        time.sleep(2.2)  # Unix seconds are whole: the 1 s lease is over whatever the fraction
        code, output, _ = self.run_script("cleanup")
        self.assertEqual(code, 0, output)
        # Refused as expired (403 ALLOCATION_EXPIRED), or already taken back by the expiry job.
        self.assertTrue("ran out" in output or "returned" in output, output)


def load_tests(loader, tests, pattern):
    # The short-lease class runs only its own test, not the inherited ones again.
    suite = unittest.TestSuite()
    suite.addTests(loader.loadTestsFromTestCase(KitTest))
    suite.addTest(ShortLeaseKitTest("test_cleanup_after_the_lease_ran_out_ends_zero"))
    return suite


if __name__ == "__main__":
    unittest.main(argv=[sys.argv[0]] + sys.argv[4:], verbosity=2)
