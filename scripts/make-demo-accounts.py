#!/usr/bin/env python3
"""Writes examples/demo-accounts.json: a demo pool in the CSP account-list format.

50 active sandboxes (demo-sandbox-0000 ...), some with an sfdc_account_id, plus a few
accounts that `sandbox-broker import` must ignore (not sandboxes, or not active).
Deterministic (fixed seed), so re-running it gives the same file.
"""
import json
import random
import sys
import uuid
from datetime import datetime, timedelta, timezone

SANDBOXES = 50
FIRST_CSP_ID = 2009521


def main(out_path: str) -> None:
    rng = random.Random(20250327)
    start = datetime(2025, 3, 27, 16, 53, 47, 605459, tzinfo=timezone.utc)

    def account(n: int, csp_id: int, name: str, account_type: str, state: str, sfdc: bool) -> dict:
        created = start + timedelta(seconds=n * 37, microseconds=rng.randrange(1_000_000))
        entry = {
            "account_type": account_type,
            "state": state,
            "id": f"identity/accounts/{uuid.UUID(int=rng.getrandbits(128), version=4)}",
            "name": name,
            "csp_id": csp_id,
            "created_at": created.strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
        }
        if sfdc:
            entry["sfdc_account_id"] = "001" + "".join(rng.choice("ABCDEFGHJKLMNPQRSTUVWXYZ0123456789") for _ in range(15))
        return entry

    results = []
    for i in range(SANDBOXES):
        results.append(account(i, FIRST_CSP_ID + i, f"demo-sandbox-{i:04d}", "sandbox", "active", sfdc=i % 3 != 2))
    # Accounts import must skip: the organisation's own account, a deleted and a suspended sandbox.
    results.append(account(50, 1000001, "demo-organisation", "regular", "active", sfdc=True))
    results.append(account(51, FIRST_CSP_ID + 1000, "demo-sandbox-retired-0001", "sandbox", "deleted", sfdc=False))
    results.append(account(52, FIRST_CSP_ID + 1001, "demo-sandbox-suspended-0002", "sandbox", "inactive", sfdc=True))
    # Interleave the ignored ones so an importer cannot assume they come last.
    for position, index in ((5, 50), (20, 51), (40, 52)):
        results.insert(position, results.pop(index))

    with open(out_path, "w", encoding="utf-8") as out:
        json.dump({"results": results}, out, indent=2)
        out.write("\n")


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "examples/demo-accounts.json")
