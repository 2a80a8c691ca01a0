#!/usr/bin/env python3
"""Fills a DynamoDB table (an emulator on loopback) with N available sandboxes as the original
service writes them (`SBX#<id>` / `META`, no broker items), 25 to a BatchWriteItem: a large
pool in seconds, where the broker's `import` (a conditional write, a counter write and a
history item per sandbox) takes minutes on the emulator.

Usage: dynamodb_fill.py ENDPOINT TABLE N
The emulator checks that a request is signed, not the signature: a fixed one is sent."""
import http.client
import json
import sys
import time
import urllib.parse


def main():
    endpoint, table, n = sys.argv[1], sys.argv[2], int(sys.argv[3])
    url = urllib.parse.urlparse(endpoint)
    if url.hostname not in ("127.0.0.1", "localhost"):
        sys.exit("dynamodb_fill.py writes to a loopback emulator only")
    conn = http.client.HTTPConnection(url.hostname, url.port, timeout=60)
    now = int(time.time())
    stamp = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime())
    headers = {
        "Content-Type": "application/x-amz-json-1.0",
        "X-Amz-Target": "DynamoDB_20120810.BatchWriteItem",
        "X-Amz-Date": stamp,
        "Authorization": "AWS4-HMAC-SHA256 Credential=bench/" + stamp[:8] +
        "/us-east-1/dynamodb/aws4_request, SignedHeaders=host;x-amz-date, Signature=" + "0" * 64,
    }

    def item(i):
        sid = "fill-%08d" % i
        return {"PutRequest": {"Item": {
            "PK": {"S": "SBX#" + sid}, "SK": {"S": "META"}, "sandbox_id": {"S": sid},
            "name": {"S": "lab-" + sid}, "external_id": {"S": "identity/accounts/" + sid},
            "status": {"S": "available"}, "lab_duration_hours": {"N": "48"},
            "deletion_retry_count": {"N": "0"}, "allocated_at": {"N": "0"},
            "created_at": {"N": str(now)}, "updated_at": {"N": str(now)}}}}

    for start in range(0, n, 25):
        pending = [item(i) for i in range(start, min(n, start + 25))]
        for _ in range(20):
            conn.request("POST", "/", json.dumps({"RequestItems": {table: pending}}), headers)
            answer = json.loads(conn.getresponse().read())
            if "__type" in answer:
                sys.exit("BatchWriteItem failed: %s" % answer)
            pending = answer.get("UnprocessedItems", {}).get(table, [])
            if not pending:
                break
        else:
            sys.exit("BatchWriteItem: items left unprocessed")


if __name__ == "__main__":
    main()
