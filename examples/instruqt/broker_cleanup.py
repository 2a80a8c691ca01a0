#!/usr/bin/env python3
"""sandbox-broker cleanup for an Instruqt track, in Python 3 (standard library only).

Gives this participant's sandbox back for deletion; the same settings, behaviour and exit
codes as broker-cleanup.sh (see README.md; self-contained, like broker_setup.py): BROKER_URL, BROKER_API_TOKEN (never printed),
INSTRUQT_PARTICIPANT_ID (or BROKER_PARTICIPANT_ID), BROKER_SANDBOX_ID (default: the
sandbox_id file setup wrote), BROKER_OUTPUT_DIR ($HOME/sandbox), BROKER_BUDGET_SEC (120).
Running it again, or after the lease ran out, ends 0 with a message.
"""
import json
import os
import re
import sys
import time
import urllib.error
import urllib.request


def say(message):
    print("broker-cleanup: " + message, file=sys.stderr)


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


def main():
    url = os.environ.get("BROKER_URL", "")
    token = os.environ.get("BROKER_API_TOKEN", "")
    participant = os.environ.get("BROKER_PARTICIPANT_ID") or os.environ.get("INSTRUQT_PARTICIPANT_ID", "")
    if not url:
        stop(2, "BROKER_URL is required")
    if not token:
        stop(2, "BROKER_API_TOKEN is required")
    if not participant:
        stop(2, "INSTRUQT_PARTICIPANT_ID (or BROKER_PARTICIPANT_ID) is required")
    budget = whole_seconds("BROKER_BUDGET_SEC", 120)
    out_dir = os.environ.get("BROKER_OUTPUT_DIR") or os.path.join(os.path.expanduser("~"), "sandbox")
    sandbox_id = os.environ.get("BROKER_SANDBOX_ID", "")
    id_file = os.path.join(out_dir, "sandbox_id")
    if not sandbox_id and os.path.isfile(id_file):
        with open(id_file) as f:
            sandbox_id = f.read().strip()
    if not sandbox_id:
        say("no sandbox to return (no BROKER_SANDBOX_ID, no %s): nothing to do" % id_file)
        return 0
    if not re.fullmatch(r"[A-Za-z0-9._-]+", sandbox_id):
        stop(2, "sandbox id %r is not a sandbox id" % sandbox_id)

    deadline = time.monotonic() + budget
    target = "%s/v1/sandboxes/%s/mark-for-deletion" % (url.rstrip("/"), sandbox_id)
    headers = {"Authorization": "Bearer " + token, "X-Instruqt-Sandbox-ID": participant}
    while True:
        status, answer_headers, body = post(target, headers, 30)
        error = body.get("error") if isinstance(body.get("error"), dict) else {}
        code = error.get("code", "")
        if status == 200:
            say("sandbox %s returned for deletion" % sandbox_id)
            return 0
        if status == 404:
            say("sandbox %s is not known to the broker any more (already deleted): nothing to do" % sandbox_id)
            return 0
        if status == 403 and code == "ALLOCATION_EXPIRED":
            say("the lease of sandbox %s ran out; the broker takes it back itself: nothing to do" % sandbox_id)
            return 0
        if status in (400, 401, 403):
            stop(2, "the broker refused: HTTP %d %s %s" % (status, code, error.get("message", "")))
        if status == 429 or status == 0 or 500 <= status <= 599:
            pause = retry_after(answer_headers, body) or 2
        else:
            stop(2, "unexpected answer from the broker: HTTP %d" % status)
        left = deadline - time.monotonic()
        if left <= 0:
            stop(1, "could not return sandbox %s within %d s (last answer: HTTP %s)" % (sandbox_id, budget, status))
        pause = min(pause, left)
        say("HTTP %s %s; retrying in %d s" % (status, code, pause))
        time.sleep(pause)


if __name__ == "__main__":
    sys.exit(main())
