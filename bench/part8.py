#!/usr/bin/env python3
"""bench/part8.py: the local Zoho API server's side of bench/run.sh part 8.

Usage:
  part8.py configure PORT JSON
      POST /__admin/lifecycle JSON (e.g. {"call_delay_ms": 100,
      "polls_in_progress": 0}); POST /__admin/reset first when JSON has
      "reset": true (that key is not sent on).
  part8.py latency PORT CSV_FILE [N]
      The server's per-part latency, measured directly: zip CSV_FILE (one
      part's CSV, as zcrm_write_csv() printed it) at level 1, then, on one
      keep-alive connection, upload it, create its job, poll the job until
      it is COMPLETED or FAILED and download its result zip.  Prints one
      line "total_ms=T org_ms=O upload_ms=U create_ms=C poll_ms=P polls=N
      result_ms=R zip_bytes=Z" (the org call is timed first, on its own,
      and is not part of total_ms).  The access token comes from the
      environment, ZCRM_TEST_TOKEN.  With N > 1, N threads do the same at
      once, each on its own connection (the best any client could do with
      N parts against this server); the line then also has
      "together_ms=T" (from before the first upload to after the last
      download) and the figures are the first thread's.
  part8.py timeline LOG FROM_MS TO_MS
      Where the time of one end-to-end run went, from the server's request
      log (--log: a "start" and an "end" line per request): the requests
      that started between FROM_MS and TO_MS (ms since the epoch, the
      client's clock: the same machine).  Prints one line of key=value
      pairs (ms): wall, before_first (session start + prepare, until the
      first request), per call kind (org, upload, create, poll, result,
      token) its count and its time (from the previous request's end to
      its own end: see timeline()), with the polls after the first result
      download counted as collect_poll (the collect step polls the job
      again) and the time from a result's end to the next poll's start as
      store (storing that result), poll_busy (the union of the polls'
      intervals), after_last (last request end to TO_MS: storing the last
      result and returning).  before_first + the times + after_last =
      wall.

Python 3 standard library only.
"""

import calendar
import gzip
import http.client
import io
import json
import os
import sys
import time
import zipfile

BOUNDARY = "zcrmbench8boundary"
ORG_HEADERS = {"feature": "bulk-write", "X-CRM-ORG": "808232144"}
VERSION = "v8"


def now_ms():
    return time.time() * 1000.0


def configure(port, changes):
    changes = dict(changes)
    reset = changes.pop("reset", False)
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    if reset:
        c.request("POST", "/__admin/reset", body=b"")
        r = c.getresponse()
        r.read()
        if r.status != 200:
            raise SystemExit("part8.py: reset answered %d" % r.status)
    c.request("POST", "/__admin/lifecycle", body=json.dumps(changes).encode())
    r = c.getresponse()
    body = r.read()
    if r.status != 200:
        raise SystemExit("part8.py: /__admin/lifecycle answered %d: %s" % (r.status, body[:200]))
    print(json.dumps(json.loads(body)["config"], sort_keys=True))


def call(c, method, path, token, body=None, headers=None):
    """One request on connection c; returns (ms, status, body)."""
    h = {"Authorization": "Zoho-oauthtoken " + token, "Accept-Encoding": "gzip"}
    h.update(headers or {})
    t0 = now_ms()
    c.request(method, path, body=body, headers=h)
    r = c.getresponse()
    data = r.read()
    if r.getheader("Content-Encoding") == "gzip":
        data = gzip.decompress(data)
    return now_ms() - t0, r.status, data


def latency(port, token, csv_file, together=1):
    if together > 1:
        import threading
        lines = [None] * together
        start = threading.Barrier(together)

        def one(i):
            start.wait()
            lines[i] = part_latency(port, token, csv_file)
        threads = [threading.Thread(target=one, args=(i,)) for i in range(together)]
        t0 = now_ms()
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        if None in lines:
            raise SystemExit("part8.py: a thread failed")
        print("%s together_ms=%.1f" % (lines[0], now_ms() - t0))
        return
    print(part_latency(port, token, csv_file))


def part_latency(port, token, csv_file):
    """One part's upload, create, polls and download; returns the line."""
    with open(csv_file, "rb") as f:
        text = f.read()
    if text.endswith(b"\n") and not text.endswith(b"\r\n"):
        text = text[:-1]                        # psql's own newline
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED, compresslevel=1) as zf:
        zf.writestr("part1.csv", text)
    data = buf.getvalue()
    header = text.split(b"\r\n", 1)[0].decode().split(",")
    form = (("--%s\r\nContent-Disposition: form-data; name=\"file\"; filename=\"part1.zip\"\r\n\r\n"
             % BOUNDARY).encode() + data + ("\r\n--%s--\r\n" % BOUNDARY).encode())

    c = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
    org_ms, st, _ = call(c, "GET", "/crm/%s/org" % VERSION, token)
    if st != 200:
        raise SystemExit("part8.py: org answered %d" % st)
    t0 = now_ms()
    up_ms, st, body = call(c, "POST", "/crm/%s/upload" % VERSION, token, form,
                           dict(ORG_HEADERS, **{"Content-Type": "multipart/form-data; boundary=" + BOUNDARY}))
    doc = json.loads(body)
    if doc.get("code") != "FILE_UPLOAD_SUCCESS":
        raise SystemExit("part8.py: upload failed: %s" % body[:300])
    create = {"operation": "insert", "ignore_empty": True,
              "resource": [{"type": "data", "module": {"api_name": "Leads"},
                            "file_id": str(doc["details"]["file_id"]),
                            "field_mappings": [{"api_name": h, "index": i} for i, h in enumerate(header)]}]}
    cr_ms, st, body = call(c, "POST", "/crm/bulk/%s/write" % VERSION, token, json.dumps(create).encode(),
                           {"Content-Type": "application/json"})
    if st != 201:
        raise SystemExit("part8.py: create answered %d: %s" % (st, body[:300]))
    job = json.loads(body)["details"]["id"]
    poll_ms = 0.0
    polls = 0
    while True:
        ms, st, body = call(c, "GET", "/crm/bulk/%s/write/%s" % (VERSION, job), token)
        poll_ms += ms
        polls += 1
        doc = json.loads(body)
        if doc.get("status") in ("COMPLETED", "FAILED"):
            break
        if polls >= 100:
            raise SystemExit("part8.py: job %s not done after 100 polls" % job)
    res_ms, st, body = call(c, "GET", doc["result"]["download_url"], token)
    if st != 200 or not body.startswith(b"PK"):
        raise SystemExit("part8.py: result download answered %d" % st)
    total = now_ms() - t0
    c.close()
    return ("total_ms=%.1f org_ms=%.1f upload_ms=%.1f create_ms=%.1f poll_ms=%.1f polls=%d "
            "result_ms=%.1f zip_bytes=%d" % (total, org_ms, up_ms, cr_ms, poll_ms, polls, res_ms, len(data)))


def epoch_ms(stamp):
    """"2026-11-28T16:03:57.174Z" -> ms since the epoch."""
    base, frac = stamp.rstrip("Z").split(".")
    return calendar.timegm(time.strptime(base, "%Y-%m-%dT%H:%M:%S")) * 1000.0 + float("0." + frac) * 1000


KINDS = {"org": "org", "upload": "upload", "create": "create", "lifecycle_job": "poll",
         "result": "result"}


def union(intervals):
    total, end = 0.0, None
    for a, b in sorted(intervals):
        if end is None or a > end:
            total += b - a
            end = b
        elif b > end:
            total += b - end
            end = b
    return total


def timeline(log, from_ms, to_ms):
    starts, ends = {}, {}
    with open(log) as f:
        for line in f:
            e = json.loads(line)
            if e.get("event") == "start":
                starts[e["request"]] = e
            elif e.get("event") == "end":
                ends[e["request"]] = e
    reqs = []
    for n, s in starts.items():
        t = epoch_ms(s["time"])
        if not (from_ms <= t <= to_ms) or n not in ends:
            continue
        kind = "token" if s.get("kind") == "token" else KINDS.get(s["scenario"], "other")
        reqs.append((t, epoch_ms(ends[n]["time"]), kind))
    if not reqs:
        raise SystemExit("part8.py: no request between %s and %s" % (from_ms, to_ms))
    # Each request's server stamp "start" is taken once it has been read
    # and the server has done its own work (parsing an upload, processing a
    # create's rows, building a result zip), so starts are not used except
    # for the first request (the org call, which has no such work); ends
    # are exact.  The time from one request's end to the next one's end is
    # the next one's: its transfer, the server's work, the delay and the
    # client's own work before it (commits, reading a stored part, storing
    # the previous result).
    reqs.sort(key=lambda r: r[1])
    out = {"wall": to_ms - from_ms, "requests": len(reqs),
           "before_first": min(r[0] for r in reqs) - from_ms, "after_last": to_ms - reqs[-1][1]}
    kinds = ("org", "upload", "create", "poll", "collect_poll", "result", "store", "token", "other")
    for kind in kinds:
        out[kind + "_n"] = 0
        out[kind + "_ms"] = 0.0
    prev, prev_kind, collecting = min(r[0] for r in reqs), None, False
    for a, b, kind in reqs:
        if kind == "result":
            collecting = True
        if kind == "poll" and collecting:
            kind = "collect_poll"               # the collect step's own poll
        if kind in ("poll", "collect_poll") and prev_kind == "result" and a > prev:
            # a poll's start is exact: the gap after a result is storing it
            out["store_n"] += 1
            out["store_ms"] += a - prev
            prev = a
        out[kind + "_n"] += 1
        out[kind + "_ms"] += b - prev
        prev, prev_kind = b, kind
    out["poll_busy"] = union([(a, b) for a, b, k in reqs if k == "poll"])
    print(" ".join("%s=%s" % (k, ("%.0f" % v) if isinstance(v, float) else v) for k, v in out.items()))


def main(argv):
    if len(argv) == 4 and argv[1] == "configure":
        configure(int(argv[2]), json.loads(argv[3]))
    elif len(argv) in (4, 5) and argv[1] == "latency":
        latency(int(argv[2]), os.environ["ZCRM_TEST_TOKEN"], argv[3],
                int(argv[4]) if len(argv) == 5 else 1)
    elif len(argv) == 5 and argv[1] == "timeline":
        timeline(argv[2], float(argv[3]), float(argv[4]))
    else:
        raise SystemExit(__doc__)


if __name__ == "__main__":
    main(sys.argv)
