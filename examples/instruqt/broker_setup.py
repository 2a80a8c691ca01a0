#!/usr/bin/env python3
"""sandbox-broker setup for an Instruqt track, in Python 3 (standard library only).

Asks the broker for this participant's sandbox and writes its fields to files; the same
settings, behaviour and exit codes as broker-setup.sh (see README.md):

  BROKER_URL, BROKER_API_TOKEN (never printed), INSTRUQT_PARTICIPANT_ID (or
  BROKER_PARTICIPANT_ID), INSTRUQT_TRACK_SLUG / INSTRUQT_TRACK_ID (BROKER_TRACK overrides), BROKER_NAME_PREFIX,
  BROKER_BUDGET_SEC (300), BROKER_WAIT_SEC (60), BROKER_OUTPUT_DIR ($HOME/sandbox).

Exit: 0 with the files written; 1 when the budget ran out; 2 when the broker refused.
"""
import json
import os
import shlex
import sys
import time
import urllib.error
import urllib.request

FIELDS = ("sandbox_id", "name", "external_id", "sfdc_account_id", "allocated_at", "expires_at")


def say(message):
    print("broker-setup: " + message, file=sys.stderr)


def stop(code, message):
    say(message)
    sys.exit(code)


def whole_seconds(name, default):
    text = os.environ.get(name, str(default))
    if not text.isdigit():
        stop(2, name + " must be a whole number of seconds")
    return int(text)


def post(url, headers, timeout):
    """One POST without a body: (status, headers, parsed JSON or {}); status 0 on a transport failure."""
    request = urllib.request.Request(url, data=b"", method="POST", headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=timeout) as answer:
            status, answer_headers, raw = answer.status, answer.headers, answer.read()
    except urllib.error.HTTPError as error:
        status, answer_headers, raw = error.code, error.headers, error.read()
    except (urllib.error.URLError, OSError):
        return 0, {}, {}
    try:
        body = json.loads(raw.decode("utf-8")) if raw else {}
    except ValueError:
        body = {}
    return status, answer_headers, body if isinstance(body, dict) else {}


def retry_after(headers, body):
    value = headers.get("Retry-After") if headers else None
    if value and value.strip().isdigit():
        return int(value.strip())
    error = body.get("error") if isinstance(body.get("error"), dict) else {}
    seconds = error.get("retry_after")
    return seconds if isinstance(seconds, int) and seconds > 0 else 0


def write_files(out_dir, sandbox):
    os.makedirs(out_dir, exist_ok=True)
    with open(os.path.join(out_dir, "sandbox.json"), "w") as f:
        json.dump(sandbox, f)
        f.write("\n")
    with open(os.path.join(out_dir, "sandbox.env"), "w") as env:
        for field in FIELDS:
            value = sandbox.get(field)
            text = "" if value is None else str(value)
            with open(os.path.join(out_dir, field), "w") as f:
                f.write(text + "\n")
            env.write("export SANDBOX_%s=%s\n" % (field.upper(), shlex.quote(text)))


def main():
    url = os.environ.get("BROKER_URL", "")
    token = os.environ.get("BROKER_API_TOKEN", "")
    participant = os.environ.get("BROKER_PARTICIPANT_ID") or os.environ.get("INSTRUQT_PARTICIPANT_ID", "")
    track = (os.environ.get("BROKER_TRACK") or os.environ.get("INSTRUQT_TRACK_SLUG")
             or os.environ.get("INSTRUQT_TRACK_ID", ""))
    prefix = os.environ.get("BROKER_NAME_PREFIX", "")
    if not url:
        stop(2, "BROKER_URL is required")
    if not token:
        stop(2, "BROKER_API_TOKEN is required")
    if not participant:
        stop(2, "INSTRUQT_PARTICIPANT_ID (or BROKER_PARTICIPANT_ID) is required")
    budget = whole_seconds("BROKER_BUDGET_SEC", 300)
    wait_max = whole_seconds("BROKER_WAIT_SEC", 60)
    out_dir = os.environ.get("BROKER_OUTPUT_DIR") or os.path.join(os.path.expanduser("~"), "sandbox")

    deadline = time.monotonic() + budget
    status, code, attempt = None, "", 0
    while True:
        left = int(deadline - time.monotonic())
        if left <= 0:
            stop(1, "no sandbox within %d s (last answer: HTTP %s %s); try again later" % (budget, status, code))
        wait = min(wait_max, left)
        headers = {"Authorization": "Bearer " + token, "X-Instruqt-Sandbox-ID": participant}
        if track:
            headers["X-Instruqt-Track-ID"] = track
        if prefix:
            headers["X-Sandbox-Name-Prefix"] = prefix
        if wait > 0:
            headers["Prefer"] = "wait=%d" % wait
        attempt += 1
        status, answer_headers, body = post(url.rstrip("/") + "/v1/allocate", headers, wait + 30)
        error = body.get("error") if isinstance(body.get("error"), dict) else {}
        code = error.get("code", "")
        if status in (200, 201):
            write_files(out_dir, body)
            say("sandbox %s (%s) written to %s" % (body.get("sandbox_id"), body.get("name"), out_dir))
            return 0
        if status in (400, 401, 403) or (
                status == 409 and code not in ("NO_SANDBOXES_AVAILABLE", "TRACK_LIMIT_REACHED")):
            stop(2, "the broker refused the request: HTTP %d %s %s" % (status, code, error.get("message", "")))
        if status == 409:
            pause = retry_after(answer_headers, body) or 5
        elif status == 429 or 500 <= status <= 599:
            pause = retry_after(answer_headers, body) or 2
        elif status == 0:
            pause = 2
        else:
            stop(2, "unexpected answer from the broker: HTTP %d" % status)
        left = deadline - time.monotonic()
        if left <= 0:
            stop(1, "no sandbox within %d s (last answer: HTTP %s %s); try again later" % (budget, status, code))
        pause = min(pause, left)
        say("attempt %d: HTTP %s %s; retrying in %d s" % (attempt, status, code, pause))
        time.sleep(pause)


if __name__ == "__main__":
    sys.exit(main())
