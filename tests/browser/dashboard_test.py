"""The /dashboard page in headless Chromium against the real binary: a `sandbox-broker run`
whose jobs sync a pool from `sandbox-broker csp-sim`. Usage: dashboard_test.py BINARY OUTPUT_DIR
(screenshots of each main view are saved in OUTPUT_DIR)."""
import csv
import io
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import threading
import time
import unittest
import urllib.error
import urllib.parse
import urllib.request

from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.common.exceptions import NoSuchElementException, StaleElementReferenceException
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import Select, WebDriverWait

BINARY = OUTPUT = None
API_TOKEN = "browser-test-api-token-0123456789"
ADMIN_TOKEN = "browser-test-admin-token-0123456789"
VIEWER_TOKEN = "browser-test-viewer-token-0123456789"
SIM_TOKEN = "browser-test-sim-token"
POOL = 30


class Process:
    """A child process whose stdout is read on a thread; `url` is its `listening on` address."""

    def __init__(self, argv, env, cwd):
        self.lines = []
        self.proc = subprocess.Popen(argv, env=env, cwd=cwd, stdout=subprocess.PIPE,
                                     stderr=subprocess.STDOUT, text=True)
        self.listening = threading.Event()
        self.url = None
        threading.Thread(target=self._read, daemon=True).start()
        if not self.listening.wait(20):
            self.stop()
            raise RuntimeError("%s did not start:\n%s" % (argv[1], "".join(self.lines)))

    def _read(self):
        for line in self.proc.stdout:
            self.lines.append(line)
            match = re.search(r"listening on (http://\S+)", line)
            if match and not self.url:
                self.url = match.group(1)
                self.listening.set()

    def stop(self):
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


def request(url, method="GET", token=ADMIN_TOKEN, headers=None, body=None):
    data = None if body is None else json.dumps(body).encode()
    req = urllib.request.Request(url, method=method, headers=dict(headers or {}), data=data)
    if data is not None:
        req.add_header("Content-Type", "application/json")
    if token:
        req.add_header("Authorization", "Bearer " + token)
    try:
        with urllib.request.urlopen(req, timeout=10) as res:
            return res.status, res.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode()


def wait_for(condition, timeout=10.0, interval=0.1):
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() >= deadline:
            return value
        time.sleep(interval)


class DashboardTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.mkdtemp(prefix="broker-browser-")
        env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": cls.tmp}
        cls.sim = Process([BINARY, "csp-sim", "--listen", "127.0.0.1:0", "--sandboxes", str(POOL),
                           "--name-prefix", "dash-", "--token", SIM_TOKEN, "--log-level", "warn"], env, cls.tmp)
        broker_env = dict(env, **{
            "BROKER_LISTEN": "127.0.0.1:0", "BROKER_STORE": "sqlite:" + os.path.join(cls.tmp, "broker.db"),
            "BROKER_API_TOKEN": API_TOKEN, "BROKER_ADMIN_TOKEN": ADMIN_TOKEN, "BROKER_VIEWER_TOKEN": VIEWER_TOKEN,
            "CSP_BASE_URL": cls.sim.url + "/v2", "CSP_API_TOKEN": SIM_TOKEN, "LOG_LEVEL": "warn",
            "SYNC_INTERVAL_SEC": "600", "CLEANUP_INTERVAL_SEC": "2", "AUTO_EXPIRY_INTERVAL_SEC": "5",
            "CLEANUP_BATCH_DELAY_SEC": "0", "CLEANUP_PER_SANDBOX_DELAY_SEC": "0",
            "PROVIDER_RATE_LIMIT_RPS": "0", "WORKER_POLL_MS": "200",
        })
        cls.broker = Process([BINARY, "run"], broker_env, cls.tmp)
        cls.base = cls.broker.url
        # What this broker serves of the dashboard's data endpoints (its OpenAPI document): a
        # part the broker lacks shows as unavailable on the page, and its case is skipped.
        _, document = request(cls.base + "/v1/openapi.json", token=None)
        cls.paths = json.loads(document)["paths"]
        listing = cls.paths["/v1/admin/sandboxes"]["get"].get("parameters", [])
        cls.filters = {p["name"] for p in listing} >= {"q", "track", "prefix"}
        pooled = wait_for(lambda: cls.stats().get("available") == POOL, timeout=20)
        if not pooled:
            raise RuntimeError("the pool was not synced: %s" % cls.stats())

        cls.downloads = os.path.join(cls.tmp, "downloads")
        os.makedirs(cls.downloads)
        options = webdriver.ChromeOptions()
        options.binary_location = "/usr/bin/chromium"
        for argument in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu",
                         "--window-size=1280,900", "--no-first-run", "--disable-background-networking",
                         "--disable-component-update", "--disable-sync", "--disable-default-apps",
                         "--user-data-dir=" + os.path.join(cls.tmp, "profile")):
            options.add_argument(argument)
        options.add_experimental_option("prefs", {"download.default_directory": cls.downloads,
                                                  "download.prompt_for_download": False})
        options.set_capability("goog:loggingPrefs", {"browser": "ALL", "performance": "ALL"})
        cls.driver = webdriver.Chrome(service=Service("/usr/bin/chromedriver"), options=options)
        cls.driver.implicitly_wait(0)

    @classmethod
    def tearDownClass(cls):
        for name in ("driver",):
            if getattr(cls, name, None):
                cls.driver.quit()
        for name in ("broker", "sim"):
            if getattr(cls, name, None):
                getattr(cls, name).stop()
        shutil.rmtree(cls.tmp, ignore_errors=True)

    @classmethod
    def stats(cls):
        status, body = request(cls.base + "/v1/admin/stats")
        return json.loads(body) if status == 200 else {}

    # ---- helpers ----
    def setUp(self):
        # (path, status) this test expects the browser to see: its own refusals, and 404 for a
        # data endpoint this broker does not serve (the page shows that part as unavailable).
        self.allowed_network_errors = [(path, 404) for path in
                                       ("/v1/admin/timeseries", "/v1/admin/cleanup/failures")
                                       if path not in self.paths]

    def tearDown(self):
        self.check_logs()

    def check_logs(self):
        """No request left the page's origin, and the console holds no error but the ones the
        test provoked (a refused sign-in, a refused button)."""
        origin = self.base
        for entry in self.driver.get_log("performance"):
            message = json.loads(entry["message"])["message"]
            if message["method"] == "Network.requestWillBeSent":
                url = message["params"]["request"]["url"]
                # Network requests (the browser's own chrome:// pages are not the page's).
                if re.match(r"(https?|wss?|ftp)://", url):
                    self.assertTrue(url.startswith(origin + "/"), "request to another origin: " + url)
                else:
                    self.assertTrue(url.startswith(("data:", "chrome:", "about:")), "unexpected request: " + url)
        for entry in self.driver.get_log("browser"):
            if entry["level"] != "SEVERE":
                continue
            text = entry["message"]
            expected = any(path in text and ("status of %d" % status) in text
                           for path, status in self.allowed_network_errors)
            self.assertTrue(expected, "console error: " + text)

    def screenshot(self, name):
        self.driver.save_screenshot(os.path.join(OUTPUT, name + ".png"))

    def wait(self, condition, timeout=10):
        return WebDriverWait(self.driver, timeout, poll_frequency=0.1).until(lambda d: condition())

    def element(self, element_id):
        return self.driver.find_element(By.ID, element_id)

    def sign_in(self, token):
        self.driver.delete_all_cookies()
        self.driver.get(self.base + "/dashboard")
        self.wait(lambda: self.element("sign-in").is_displayed())
        self.element("token").send_keys(token)
        self.element("sign-in-form").submit()
        self.wait(lambda: self.element("dashboard").is_displayed())

    def kpis(self):
        # Read in one script: the page re-renders its numbers every few seconds.
        pairs = self.driver.execute_script(
            "return Array.from(document.querySelectorAll('#kpis .kpi'))"
            ".map(n => [n.dataset.kpi, n.querySelector('.value').textContent]);")
        return {name: int(value) if value.isdigit() else value for name, value in pairs}

    def click(self, selector):
        """Clicks what `selector` finds, again when a refresh replaced it in between."""
        def clicked():
            try:
                self.driver.find_element(By.CSS_SELECTOR, selector).click()
                return True
            except (StaleElementReferenceException, NoSuchElementException):
                return False
        self.wait(clicked)

    def text(self, selector):
        return self.driver.execute_script(
            "const n = document.querySelector(arguments[0]); return n ? n.textContent : null;", selector)

    def show(self, view):
        self.click('#tabs button[data-view="%s"]' % view)
        self.wait(lambda: self.element("view-" + view).is_displayed())

    def allocate(self, participant, track):
        status, body = request(self.base + "/v1/allocate", "POST", API_TOKEN,
                               {"X-Instruqt-Sandbox-ID": participant, "X-Instruqt-Track-ID": track})
        self.assertEqual(status, 201, body)
        return json.loads(body)

    def table_ids(self):
        return sorted(self.driver.execute_script(
            "return Array.from(document.querySelectorAll('#sandboxes tbody tr')).map(r => r.dataset.id);"))

    def listed(self, **params):
        """Every sandbox the admin API lists for these filters, following the cursor."""
        ids, cursor = [], None
        while True:
            query = dict(params, limit=1000)
            if cursor:
                query["cursor"] = cursor
            status, body = request(self.base + "/v1/admin/sandboxes?" + urllib.parse.urlencode(query))
            self.assertEqual(status, 200, body)
            page = json.loads(body)
            ids += [s["sandbox_id"] for s in page["sandboxes"]]
            cursor = page["next_cursor"]
            if not cursor:
                return sorted(ids)

    def apply_filter(self, q="", status="", track="", prefix=""):
        for element_id, value in (("f-q", q), ("f-track", track), ("f-prefix", prefix)):
            self.element(element_id).clear()
            if value:
                self.element(element_id).send_keys(value)
        Select(self.element("f-status")).select_by_value(status)
        self.element("filters").submit()

    # ---- the cases, in order ----
    def test_1_sign_in(self):
        self.driver.get(self.base + "/dashboard")
        self.wait(lambda: self.element("sign-in").is_displayed())
        self.screenshot("sign-in")
        self.element("token").send_keys("not-the-right-token-at-all")
        self.element("sign-in-form").submit()
        self.wait(lambda: self.element("sign-in-error").is_displayed())
        self.assertIn("Wrong token", self.element("sign-in-error").text)
        self.assertFalse(self.element("dashboard").is_displayed())
        self.allowed_network_errors.append(("/dashboard/session", 401))

        self.element("token").clear()
        self.sign_in(ADMIN_TOKEN)
        self.assertEqual(self.element("who").text, "admin")
        cookie = self.driver.get_cookie("broker_session")
        self.assertTrue(cookie["httpOnly"])
        self.assertEqual(cookie.get("sameSite"), "Strict")

    def test_2_kpis_equal_stats(self):
        self.sign_in(ADMIN_TOKEN)
        self.wait(lambda: len(self.kpis()) == 7)
        stats = self.stats()
        for status in ("available", "allocated", "pending_deletion", "stale", "deletion_failed", "deleted", "total"):
            self.assertEqual(self.kpis()[status], stats[status], status)
        self.screenshot("overview")
        self.driver.set_window_size(390, 844)
        self.screenshot("overview-phone")
        self.driver.set_window_size(1280, 900)

    def test_3_allocation_shows_up_without_reload(self):
        self.sign_in(ADMIN_TOKEN)
        self.wait(lambda: self.kpis().get("allocated") == self.stats()["allocated"])
        before = self.kpis()["allocated"]
        self.driver.execute_script("window.__notReloaded = true;")
        started = time.monotonic()
        self.allocate("lab-browser-1", "dns-basics")
        self.wait(lambda: self.kpis().get("allocated") == before + 1, timeout=5)
        self.assertLess(time.monotonic() - started, 5.0)
        self.assertTrue(self.driver.execute_script("return window.__notReloaded === true;"))

    def test_3b_live_update_comes_from_the_event_stream(self):
        """With the event stream open the page polls only every 30 s: an allocation shown within
        a few seconds was announced by its event (the stream's EventSource), without a reload."""
        self.sign_in(ADMIN_TOKEN)
        self.wait(lambda: self.element("updated").get_attribute("data-live") == "true")
        self.wait(lambda: self.kpis().get("allocated") == self.stats()["allocated"])
        before = self.kpis()["allocated"]
        self.driver.execute_script("window.__notReloaded = true;")
        self.allocate("lab-browser-live", "live-updates")
        self.wait(lambda: self.kpis().get("allocated") == before + 1, timeout=5)
        self.wait(lambda: "sandbox.allocated" in self.element("updated").text)
        self.assertTrue(self.driver.execute_script("return window.__notReloaded === true;"))

    def test_4_search_and_filters(self):
        if not self.filters:
            self.skipTest("this broker's sandbox list has no q/track/prefix filters")
        first = self.allocate("lab-browser-2", "ipam-advanced")
        self.allocate("lab-browser-3", "ipam-advanced")
        self.sign_in(ADMIN_TOKEN)
        self.show("sandboxes")
        self.wait(lambda: len(self.table_ids()) > 0)
        self.screenshot("sandboxes")
        cases = [
            (dict(prefix="dash-000"), dict(prefix="dash-000")),
            (dict(status="allocated"), dict(status="allocated")),
            (dict(track="ipam-advanced"), dict(track="ipam-advanced")),
            (dict(q="lab-browser-2"), dict(q="lab-browser-2")),
            (dict(q=first["name"]), dict(q=first["name"])),
        ]
        for filters, params in cases:
            expected = self.listed(**params)
            self.assertTrue(expected, params)
            self.apply_filter(**filters)
            self.wait(lambda: self.table_ids() == expected)
        self.assertEqual(self.table_ids(), [first["sandbox_id"]])
        self.click("#sandboxes tbody tr")
        self.wait(lambda: self.element("detail").is_displayed())
        self.assertIn("allocated", self.element("detail-history").text)
        self.screenshot("sandbox-detail")

    def test_5_csv_holds_every_row_of_the_filter(self):
        if not self.filters or "/v1/admin/sandboxes.csv" not in self.paths:
            self.skipTest("this broker serves no /v1/admin/sandboxes.csv or no list filters")
        self.sign_in(ADMIN_TOKEN)
        self.show("sandboxes")
        self.apply_filter(prefix="dash-00")
        expected = self.listed(prefix="dash-00")
        self.wait(lambda: self.table_ids() == expected)
        self.assertIn("prefix=dash-00", self.element("csv").get_attribute("href"))
        for name in os.listdir(self.downloads):
            os.remove(os.path.join(self.downloads, name))
        self.element("csv").click()
        done = wait_for(lambda: [n for n in os.listdir(self.downloads) if n.endswith(".csv")], timeout=10)
        self.assertTrue(done, "no CSV was downloaded")
        with open(os.path.join(self.downloads, done[0]), newline="") as f:
            rows = list(csv.DictReader(f))
        self.assertEqual(sorted(row["sandbox_id"] for row in rows), expected)

    def test_6_pause_cleanup_from_the_page(self):
        self.sign_in(ADMIN_TOKEN)
        self.show("jobs")
        button = '#jobs tr[data-job="cleanup"] button[data-action="%s"]'
        self.click(button % "pause")

        def cleanup_paused():
            _, body = request(self.base + "/v1/admin/jobs")
            return [job for job in json.loads(body)["jobs"] if job["name"] == "cleanup"][0]["paused"]

        self.assertTrue(wait_for(cleanup_paused, timeout=5))
        self.wait(lambda: "paused" in (self.text('#jobs tr[data-job="cleanup"] .job-state') or ""))
        self.screenshot("jobs")
        self.click(button % "resume")
        self.assertTrue(wait_for(lambda: not cleanup_paused(), timeout=5))

    def test_7_viewer_sees_the_page_but_cannot_pause(self):
        self.sign_in(VIEWER_TOKEN)
        self.assertEqual(self.element("who").text, "viewer")
        self.wait(lambda: self.kpis().get("total") == self.stats()["total"])
        self.show("jobs")
        button = '#jobs tr[data-job="cleanup"] button[data-action="pause"]'
        self.click(button)
        self.wait(lambda: self.element("action-error").is_displayed())
        self.assertIn("read-only", self.element("action-error").text)
        self.allowed_network_errors.append(("/jobs/cleanup/pause", 403))
        _, body = request(self.base + "/v1/admin/jobs")
        self.assertFalse([job for job in json.loads(body)["jobs"] if job["name"] == "cleanup"][0]["paused"])
        self.screenshot("jobs-viewer")

    def test_8_cleanup_view(self):
        self.sign_in(ADMIN_TOKEN)
        self.show("cleanup")
        self.wait(lambda: self.element("cleanup-stats").text != "")
        self.screenshot("cleanup")

    def test_9_reservations_and_limits_for_the_viewer(self):
        if "/v1/admin/reservations" not in self.paths:
            self.skipTest("this broker has no reservations")
        # Tomorrow's class, larger than the pool: the shortfall is highlighted.
        now = int(time.time())
        status, body = request(self.base + "/v1/admin/reservations", "POST",
                               body={"track": "class-thursday", "count": POOL + 10,
                                     "starts_at": now + 86400, "ends_at": now + 90000})
        self.assertEqual(status, 201, body)
        reservation = json.loads(body)
        self.assertGreater(reservation["shortfall"], 0, body)
        status, body = request(self.base + "/v1/admin/tracks/self-paced/limit", "PUT", body={"max_active": 4})
        self.assertEqual(status, 200, body)
        try:
            self.sign_in(VIEWER_TOKEN)
            self.show("quota")
            row = '#reservations tr[data-id="%s"]' % reservation["id"]
            self.wait(lambda: self.text(row) is not None)
            cells = self.driver.execute_script(
                "return Array.from(document.querySelectorAll(arguments[0] + ' td')).map(c => c.textContent);", row)
            self.assertEqual(cells[0], "class-thursday")
            self.assertEqual(cells[2:], [str(POOL + 10), "0", "0", str(reservation["shortfall"])])
            self.assertIn("short", self.driver.find_element(By.CSS_SELECTOR, row + " td.shortfall")
                          .get_attribute("class").split())
            limit = '#limits tr[data-track="self-paced"]'
            self.wait(lambda: self.text(limit) is not None)
            self.assertEqual(self.driver.execute_script(
                "return Array.from(document.querySelectorAll(arguments[0] + ' td')).map(c => c.textContent);", limit),
                ["self-paced", "4", "0"])
            self.screenshot("reservations")

            # Cancelled through the API: the next refresh takes it off the page.
            status, body = request(self.base + "/v1/admin/reservations/" + reservation["id"], "DELETE")
            self.assertEqual(status, 200, body)
            self.wait(lambda: self.text(row) is None)
            self.assertTrue(self.element("reservations-note").is_displayed())
        finally:
            request(self.base + "/v1/admin/reservations/" + reservation["id"], "DELETE")
            request(self.base + "/v1/admin/tracks/self-paced/limit", "DELETE")


if __name__ == "__main__":
    BINARY, OUTPUT = os.path.abspath(sys.argv[1]), os.path.abspath(sys.argv[2])
    os.makedirs(OUTPUT, exist_ok=True)
    unittest.main(argv=[sys.argv[0], "-v"])
