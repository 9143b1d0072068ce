"""Backend-level tests for zcrm_bulk: cancel, statement_timeout,
pg_terminate_backend and connection reuse.

pg_regress cannot send a cancel from a second connection, time a statement
or look at the server's side of the connection, so these run here, driving
psql and the local API server's admin endpoints.  They need a running cluster
with zcrm_bulk installed (PGHOST/PGPORT/PGUSER), the local Zoho API server
the cluster points at, and ZCRM_TEST_TOKEN.  Each test asserts the SQLSTATE,
a generous upper bound on how long the interruption took (the requirement is
0.5 s; the bound only guards against "never"), and that the next call in the
same session succeeds.  Measured figures are printed as "# " lines.  Run
under pytest (test/conftest.py: fixtures, the closing "N passed, N
failed" line).
"""

import time

import pytest

from zcrmtest import (BOUND, DRIP_FEED, ELAPSED_SQL, SEED_JOB, STALL_BEFORE_HEADERS,
                      STALL_MID_BODY, TRY_STATE, Session, cancel_when_waiting, check,
                      elapsed_seconds, mock_admin, psql, wait_for_request)

CANCEL_CASES = [(STALL_BEFORE_HEADERS, "stall-before-headers"),
                (STALL_MID_BODY, "stall-mid-body"),
                (DRIP_FEED, "drip-feed")]


@pytest.mark.parametrize("job_id,label", CANCEL_CASES, ids=[c[1] for c in CANCEL_CASES])
def cancel_test(job_id, label):
    app = "zcrm_cancel_" + label
    s = Session("SELECT * FROM zcrm_write_job('%s', :'token');\n"
                "SELECT job_id || ' ' || status FROM zcrm_write_job('%s', :'token');\n"
                % (job_id, SEED_JOB), app)
    _, elapsed, out = cancel_when_waiting(s, app, label)
    check("cancel during %s raises 57014 'canceling statement due to user request'" % label,
          elapsed is not None and "canceling statement due to user request" in out, out)
    check("cancel during %s ends within %.1f s" % (label, BOUND),
          elapsed is not None and elapsed < BOUND, "elapsed %r" % elapsed)
    check("after cancel during %s the next call in the session works" % label,
          SEED_JOB + " INPROGRESS" in out, out)


@pytest.mark.parametrize("job_id,label", CANCEL_CASES[:2], ids=[c[1] for c in CANCEL_CASES[:2]])
def statement_timeout_test(job_id, label, timeout_ms=400):
    app = "zcrm_timeout_" + label
    s = Session(("SET statement_timeout = '%dms';\n"
                 "SELECT clock_timestamp() AS t0 \\gset\n"
                 "SELECT * FROM zcrm_write_job('%s', :'token');\n"
                 % (timeout_ms, job_id)) + ELAPSED_SQL +
                "RESET statement_timeout;\n"
                "SELECT job_id || ' ' || status FROM zcrm_write_job('%s', :'token');\n"
                % SEED_JOB, app)
    out = s.finish()
    elapsed = elapsed_seconds(out)
    if elapsed is not None:
        print("# statement_timeout %d ms during %s: statement ended after %.0f ms (%.0f ms past the timeout)"
              % (timeout_ms, label, elapsed * 1000, elapsed * 1000 - timeout_ms))
    check("statement_timeout during %s raises 57014 'canceling statement due to statement timeout'" % label,
          "57014" in out and "canceling statement due to statement timeout" in out, out)
    check("statement_timeout during %s ends within %.1f s of the timeout" % (label, BOUND),
          elapsed is not None and elapsed - timeout_ms / 1000 < BOUND, "elapsed %r" % elapsed)
    check("after statement_timeout during %s the next call in the session works" % label,
          SEED_JOB + " INPROGRESS" in out, out)


def terminate_test():
    app = "zcrm_terminate"
    s = Session("SELECT * FROM zcrm_write_job('%s', :'token');\n" % STALL_BEFORE_HEADERS, app)
    pid = wait_for_request(app)
    if pid is None:
        s.proc.kill()
        check("pg_terminate_backend during a request: request seen", False)
        return
    t0 = time.monotonic()
    psql("SELECT pg_terminate_backend(%d)" % pid)
    t1, _ = s.wait_line("57P01", BOUND + 5)
    out = s.finish()
    if t1:
        print("# pg_terminate_backend during a stalled request: backend gone after %.0f ms"
              % ((t1 - t0) * 1000))
    check("pg_terminate_backend during a request ends the backend with 57P01",
          t1 is not None and t1 - t0 < BOUND, out)
    after = Session("SELECT job_id || ' ' || status FROM zcrm_write_job('%s', :'token');\n"
                    % SEED_JOB, app + "_after").finish()
    check("a new session works after pg_terminate_backend",
          SEED_JOB + " INPROGRESS" in after, after)


def connection_reuse_test(calls=100):
    """Consecutive calls in one backend reuse one keep-alive connection,
    whatever the function and however the previous call ended."""
    mock_admin("/__admin/reset", "POST")
    script = "".join(
        "SELECT job_id || ' ' || status FROM zcrm_write_job('%s', :'token');\n" % SEED_JOB
        if i % 2 == 0 else
        "SELECT count(*) FROM zcrm_write_job_field_mappings('%s', :'token');\n" % SEED_JOB
        for i in range(calls))
    out = Session(script, "zcrm_reuse").finish()
    # the server's own count of accepted connections, less the one this
    # stats request came on
    accepted = mock_admin("/__admin/stats")["connections"] - 1
    requests = [r for r in mock_admin("/__admin/requests") if r.get("job_id") == SEED_JOB]
    connections = {r["connection"] for r in requests}
    print("# %d calls in one session: %d requests on %d TCP connection(s); the server "
          "accepted %d connection(s)" % (calls, len(requests), len(connections), accepted))
    lines = out.splitlines()
    check("%d calls in one session all succeed" % calls,
          lines.count(SEED_JOB + " INPROGRESS") == calls // 2 and
          lines.count("5") == calls - calls // 2, out)
    check("%d calls in one session use one TCP connection" % calls,
          len(requests) == calls and len(connections) == 1 and accepted == 1,
          "requests %d, connections %r, accepted %d" % (len(requests), connections, accepted))


def retry_count_test():
    """Each job is called once with zcrm_bulk.retries = 2; the local API
    server's request log shows how many requests each call made."""
    expected = {
        "2000000000000000429": 3,   # 429 every time: retried twice
        "2000000000000000503": 3,   # 503 every time
        "2000000000000000500": 3,   # 500 INTERNAL_ERROR
        "3000000000000000003": 3,   # connection reset mid-body
        "3000000000000000010": 2,   # 503, then 200
        "3000000000000000011": 2,   # 429, then 200
        "2000000000000000400": 1,   # 400: never retried
        "2000000000000000402": 1,   # 401
        "2000000000000000403": 1,   # 403
        "2000000000000000404": 1,   # 404
        "2000000000000000201": 1,   # 200 with invalid JSON
        "2000000000000000301": 1,   # redirect: not followed, not retried
        "3000000000000000004": 1,   # body over the size limit
        "4150868000005392002": 1,   # success
    }
    mock_admin("/__admin/reset", "POST")
    script = "SET zcrm_bulk.retries = 2;\nSET zcrm_bulk.retry_delay = '5ms';\n" + "".join(
        "SELECT '%s', pg_temp.zcrm_try_state('%s', :'token');\n" % (job, job) for job in expected)
    out = Session(script, "zcrm_retry_count", prelude=TRY_STATE).finish()
    seen = {}
    for r in mock_admin("/__admin/requests"):
        seen[r.get("job_id")] = seen.get(r.get("job_id"), 0) + 1
    for job, n in expected.items():
        check("job %s is requested %d time(s) with zcrm_bulk.retries = 2" % (job, n),
              seen.get(job) == n, "requests: %r; psql: %s" % (seen.get(job), out))


def backoff_cancel_test():
    """Cancel and statement_timeout end a backoff wait at once."""
    job = "2000000000000000503"
    mock_admin("/__admin/reset", "POST")
    app = "zcrm_backoff_cancel"
    s = Session("SET zcrm_bulk.retries = 5;\nSET zcrm_bulk.retry_delay = '20s';\n"
                "SELECT * FROM zcrm_write_job('%s', :'token');\n"
                "SELECT job_id || ' ' || status FROM zcrm_write_job('%s', :'token');\n"
                % (job, SEED_JOB), app)
    # the first attempt fails at once; the cancel comes during the backoff
    pid, elapsed, out = cancel_when_waiting(s, app, "a backoff wait", settle=0.3)
    requests = len([r for r in mock_admin("/__admin/requests") if r.get("job_id") == job])
    check("cancel during a backoff wait raises 57014 within %.1f s, with no retry made" % BOUND,
          pid is not None and elapsed is not None and elapsed < BOUND and requests == 1,
          "pid %r, requests %r, output %s" % (pid, requests, out))
    check("after cancel during a backoff wait the next call works",
          SEED_JOB + " INPROGRESS" in out, out)

    s = Session("SET zcrm_bulk.retries = 5;\nSET zcrm_bulk.retry_delay = '20s';\n"
                "SET statement_timeout = '400ms';\n"
                "SELECT clock_timestamp() AS t0 \\gset\n"
                "SELECT * FROM zcrm_write_job('%s', :'token');\n"
                % job + ELAPSED_SQL, "zcrm_backoff_timeout")
    out = s.finish()
    elapsed = elapsed_seconds(out)
    if elapsed is not None:
        print("# statement_timeout 400 ms during a backoff wait: statement ended after %.0f ms"
              % (elapsed * 1000))
    check("statement_timeout during a backoff wait raises 57014 within %.1f s of the timeout" % BOUND,
          "canceling statement due to statement timeout" in out and elapsed is not None
          and elapsed - 0.4 < BOUND, out)


def oversize_abort_test():
    """A body over zcrm_bulk.max_response_size is aborted as the limit is
    passed, not after it has all been received: the server's request log
    shows how much of the 24 MiB body left before the client hung up."""
    full = 24 * 1024 * 1024
    mock_admin("/__admin/reset", "POST")
    out = Session("SET zcrm_bulk.max_response_size = '1MB';\n"
                  "SELECT 'chunked=' || pg_temp.zcrm_try_state('3000000000000000004', :'token');\n"
                  "SELECT 'length=' || pg_temp.zcrm_try_state('3000000000000000005', :'token');\n",
                  "zcrm_oversize", prelude=TRY_STATE).finish()
    entries = {}
    end = time.monotonic() + 10
    while time.monotonic() < end:
        entries = {r["job_id"]: r for r in mock_admin("/__admin/requests")}
        if all(entries.get(j, {}).get("complete") is not None
               for j in ("3000000000000000004", "3000000000000000005")):
            break
        time.sleep(0.05)
    for job, label in (("3000000000000000004", "chunked"), ("3000000000000000005", "length")):
        e = entries.get(job, {})
        print("# %s body of 24 MiB, limit 1 MB: %s bytes left the server before the client hung up"
              % (label, e.get("bytes_sent")))
        check("%s oversize body: 54000, aborted after less than half of it was sent" % label,
              "%s=54000" % label in out and e.get("complete") is False
              and e.get("bytes_sent") is not None and e["bytes_sent"] < full // 2,
              "entry %r, output %s" % (e, out))
