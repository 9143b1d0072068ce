"""Backend tests of the batch functions zcrm_write_jobs() and
zcrm_write_jobs_field_mappings(), and of the poller that uses them.

pg_regress checks their rows (sql/zcrm_batch.sql); what it cannot see is
checked here, against the local API server's counters (/__admin/stats:
connections accepted, requests in flight at most) and request log:
  1. at most zcrm_bulk.max_concurrency requests are in flight, and exactly
     that many when there is enough work (1, 3, the default 5, 8);
  2. the requests of a batch reuse the keep-alive connections of the session:
     two batches and 20 single calls after them open no more than
     max_concurrency TCP connections, over HTTP and over HTTPS;
  3. each request of a batch is retried on its own;
  4. query cancel and statement_timeout end a batch midway within the
     bound, free its connections (the backend holds no more descriptors than
     before), and the next call works;
  5. a named connection whose access token the API rejects is refreshed
     once for the whole batch, not once per job; the jobs that were not
     requested again echo the old token back in no form;
  6. zcrm_poll_tracked_jobs() fetches the due jobs concurrently, one request
     per job;
  7. against an HTTP/2 server (nginx, started by scripts/test.sh on
     ZCRM_H2_PORT with its files in ZCRM_H2_DIR, or by the h2 fixture), the requests of a batch are
     multiplexed over one connection (nginx's access log).
Jobs 51xxxxxxxxxxxxDDDDD of the local server answer after DDDDD ms.  Timings
are printed as "# " lines, never asserted (except the generous bound on
interruptions shared with zcrmtest.py).  Prints "N passed, N failed".
"""

import os
import time

import pytest

from zcrmtest import (BOUND, ELAPSED_SQL, SEED_JOB, Session,
                      cancel_when_waiting, check, create_server, elapsed_seconds,
                      mock_admin, psql, slow_ids, sql_array,
                      wait_for_request)

RT = os.environ["ZCRM_TEST_RT_SECRET"]


def batch_sql(ids, extra=""):
    return ("SELECT 'rows=' || count(*) || ' errors=' || count(error_sqlstate) "
            "FROM zcrm_write_jobs(%s, :'token'%s);\n" % (sql_array(ids), extra))


def stats(base=None):
    return mock_admin("/__admin/stats", base=base)


def requests_for(ids, base=None):
    wanted = set(ids)
    return [r for r in mock_admin("/__admin/requests", base=base) if r.get("job_id") in wanted]


def concurrency_test():
    """max_in_flight at the server equals max_concurrency (12 jobs of 200 ms
    each, so every slot is busy at once)."""
    for conc in (1, 3, None, 8):
        ids = slow_ids(12, 200, series=conc or 5)
        mock_admin("/__admin/reset", "POST")
        setting = "SET zcrm_bulk.max_concurrency = %d;\n" % conc if conc else ""
        out = Session(setting + "SELECT clock_timestamp() AS t0 \\gset\n" + batch_sql(ids) +
                      ELAPSED_SQL, "zcrm_batch_conc").finish()
        st = stats()
        n = len(requests_for(ids))
        want = conc or 5
        elapsed = elapsed_seconds(out)
        print("# 12 jobs of 200 ms, max_concurrency %d: %s ms, %d in flight at most, %d connection(s)"
              % (want, "%.0f" % (elapsed * 1000) if elapsed else "?", st["max_in_flight"],
                 st["connections"] - 1))
        check("max_concurrency %d%s: 12 rows, no error, one request per job"
              % (want, "" if conc else " (the default)"),
              "rows=12 errors=0" in out and n == 12, "requests %d; %s" % (n, out))
        check("max_concurrency %d: exactly %d requests in flight at most" % (want, want),
              st["max_in_flight"] == want, "stats %r" % st)


@pytest.mark.parametrize("label", ["HTTP", "HTTPS"])
def reuse_test(label, request):
    """Two batches of 12 and 20 single calls in one session open at most
    max_concurrency (5) connections between them, over HTTP and over HTTPS
    (the local server's TLS instance)."""
    base = request.getfixturevalue("tls_mocks") if label == "HTTPS" else None
    ids = slow_ids(12, 50, series=20 if base else 10)
    more = slow_ids(12, 50, series=21 if base else 11)
    prelude = ""
    if base:
        prelude = ("SET zcrm_bulk.api_domain = '%s';\nSET zcrm_bulk.ca_file = '%s';\n"
                   % (base, os.environ["ZCRM_CA_FILE"]))
    mock_admin("/__admin/reset", "POST", base=base)
    script = (prelude + batch_sql(ids) + batch_sql(more) +
              "SELECT 'single ' || job_id FROM zcrm_write_job('%s', :'token');\n" % SEED_JOB * 20)
    out = Session(script, "zcrm_batch_reuse").finish()
    st = stats(base)
    conns = {r["connection"] for r in requests_for(ids + more + [SEED_JOB], base)}
    # the stats request itself came on a connection of its own
    accepted = st["connections"] - 1
    print("# %s: 2 batches of 12 and 20 single calls in one session: %d connection(s) accepted"
          % (label, accepted))
    check("%s: two batches and 20 single calls all succeed" % label,
          out.count("rows=12 errors=0") == 2 and out.count("single " + SEED_JOB) == 20, out)
    check("%s: they open at most max_concurrency (5) connections" % label,
          1 <= accepted <= 5 and len(conns) == accepted,
          "stats %r, connections in the log %r" % (st, conns))


def retry_test():
    """A batch retries each failed request on its own."""
    flaky = "3000000000000000010"       # 503, then 200
    broken = "2000000000000000503"      # 503 every time
    ids = [SEED_JOB, flaky, broken, "4150868000005350003"]
    mock_admin("/__admin/reset", "POST")
    out = Session("SET zcrm_bulk.retries = 2;\nSET zcrm_bulk.retry_delay = '5ms';\n"
                  "SELECT job_id || ' ' || coalesce(error_sqlstate, status) "
                  "FROM zcrm_write_jobs(%s, :'token');\n" % sql_array(ids),
                  "zcrm_batch_retry").finish()
    seen = {}
    for r in requests_for(ids):
        seen[r["job_id"]] = seen.get(r["job_id"], 0) + 1
    check("batch with retries: the flaky job succeeds, the broken one is a 58000 row",
          "%s INPROGRESS" % flaky in out and "%s 58000" % broken in out
          and "%s INPROGRESS" % SEED_JOB in out and "4150868000005350003 COMPLETED" in out, out)
    check("batch with retries = 2: requests per job 1, 2, 3, 1",
          seen == {SEED_JOB: 1, flaky: 2, broken: 3, "4150868000005350003": 1}, repr(seen))


def backend_fds(pid):
    return len(os.listdir("/proc/%d/fd" % pid))


def cancel_test():
    """Cancel a batch of 20 one-second jobs midway."""
    app = "zcrm_batch_cancel"
    ids = slow_ids(20, 1000, series=30)
    mock_admin("/__admin/reset", "POST")
    s = Session(batch_sql(ids) +
                "SELECT 'after ' || job_id FROM zcrm_write_job('%s', :'token');\n" % SEED_JOB,
                app)
    _, elapsed, out = cancel_when_waiting(s, app, "a batch of 20 jobs", settle=0.3)
    check("cancel during a batch raises 57014 within %.1f s" % BOUND,
          elapsed is not None and elapsed < BOUND
          and "canceling statement due to user request" in out, out)
    check("after cancel during a batch the next call works", "after " + SEED_JOB in out, out)
    sent = len(requests_for(ids))
    # the server sees the client hang up on the requests in flight
    end = time.monotonic() + 5
    while time.monotonic() < end and stats()["in_flight"] > 0:
        time.sleep(0.05)
    st = stats()
    print("# cancel during a batch of 20: %d of 20 requests had been sent; %d still in flight at "
          "the server afterwards" % (sent, st["in_flight"]))
    check("cancel during a batch: no more than max_concurrency requests were sent, and the "
          "server sees none left in flight", 1 <= sent <= 5 and st["in_flight"] == 0,
          "sent %d, stats %r" % (sent, st))


def cancel_fds_test():
    """The descriptors a batch opens are closed when it is cancelled."""
    app = "zcrm_batch_fds"
    ids = slow_ids(20, 1000, series=31)
    s = Session("SELECT 'pid=' || pg_backend_pid();\n"
                "SELECT 'single ' || job_id FROM zcrm_write_job('%s', :'token');\n" % SEED_JOB,
                app, keep_open=True)
    t, _ = s.wait_line("single " + SEED_JOB, 10)
    pid = int(next(l for _, l in s.lines if l.startswith("pid="))[4:]) if t else None
    before = backend_fds(pid) if pid else None
    s.send(batch_sql(ids))
    during = None
    if wait_for_request(app):
        time.sleep(0.3)
        during = backend_fds(pid)
        psql("SELECT pg_cancel_backend(%d)" % pid)
    s.wait_line("57014", BOUND + 5)
    s.send("SELECT 'single2 ' || job_id FROM zcrm_write_job('%s', :'token');\n" % SEED_JOB)
    s.wait_line("single2 " + SEED_JOB, 10)
    after = backend_fds(pid) if pid else None
    s.close()
    out = s.finish()
    print("# backend descriptors: %s before a batch, %s during it, %s after its cancel"
          % (before, during, after))
    check("a cancelled batch leaves no descriptor behind (before %s, during %s, after %s)"
          % (before, during, after),
          before is not None and during is not None and after is not None
          and during > before and after <= before, out)


def statement_timeout_test():
    ids = slow_ids(20, 1000, series=32)
    out = Session("SET statement_timeout = '500ms';\nSELECT clock_timestamp() AS t0 \\gset\n" +
                  batch_sql(ids) + ELAPSED_SQL + "RESET statement_timeout;\n"
                  "SELECT 'after ' || job_id FROM zcrm_write_job('%s', :'token');\n" % SEED_JOB,
                  "zcrm_batch_timeout").finish()
    elapsed = elapsed_seconds(out)
    if elapsed is not None:
        print("# statement_timeout 500 ms during a batch of 20 one-second jobs: ended after %.0f ms"
              % (elapsed * 1000))
    check("statement_timeout during a batch raises 57014 within %.1f s of the timeout" % BOUND,
          "canceling statement due to statement timeout" in out and elapsed is not None
          and elapsed - 0.5 < BOUND, out)
    check("after statement_timeout during a batch the next call works",
          "after " + SEED_JOB in out, out)


def refresh_once_test():
    """All tokens revoked: the batch's INVALID_TOKEN answers lead to one
    refresh, and every job then succeeds."""
    import hashlib
    ids = slow_ids(8, 0, series=40)
    rt = "1000.rt.batch." + RT
    create_server("batchconn", "'1000.rt.batch.' || :'rt'", "zcrm_batch_setup")
    sha = hashlib.sha256(rt.encode()).hexdigest()[:12]
    call = ("SELECT 'rows=' || count(*) || ' errors=' || count(error_sqlstate) "
            "FROM zcrm_write_jobs(%s, connection => 'batchconn');\n" % sql_array(ids))
    first = Session(call, "zcrm_batch_conn").finish()
    n1 = mock_admin("/__admin/token-stats")["refreshes"].get(sha, 0)
    mock_admin("/__admin/revoke-access-tokens", "POST")
    second = Session(call, "zcrm_batch_conn").finish()
    n2 = mock_admin("/__admin/token-stats")["refreshes"].get(sha, 0)
    print("# batch of 8 through a connection: %d refresh(es) for the first call, %d more after "
          "every token was revoked" % (n1, n2 - n1))
    check("a batch through a connection succeeds with one refresh",
          "rows=8 errors=0" in first and n1 == 1, "%s; refreshes %d" % (first, n1))
    check("after the API rejects the token, one refresh serves the whole batch",
          "rows=8 errors=0" in second and n2 - n1 == 1, "%s; refreshes %d" % (second, n2 - n1))
    psql("DROP SERVER batchconn CASCADE")


def create_connection(name, prefix):
    """A server whose PUBLIC mapping's refresh token is prefix + the run's
    secret, the local server its accounts server; returns the refresh
    token."""
    create_server(name, "'%s' || :'rt'" % prefix, "zcrm_batch_setup")
    return prefix + RT


# What job 2000000000000000497 (every form of the token, twice over) and
# 2000000000000000499 (the token as is) leave of their message, redacted.
ECHO_FORMS_MESSAGE = ("Zoho CRM API error INVALID_DATA: token " +
                      " ; ".join(["[redacted]"] * 16))
ECHO_MESSAGE = "Zoho CRM API error INVALID_DATA: the token [redacted] is not valid here"


def rotated_token_test():
    """One job of a batch answers INVALID_TOKEN, so the connection's token
    is refreshed and that job requested again; the other jobs had already
    been answered to the old token, and echo it back (also in every encoded
    form).  Their error rows must hold no part of the old token: every
    description is scrubbed of every token the call used."""
    import hashlib
    rt = create_connection("rotate", "1000.rt.rotate.")
    sha = hashlib.sha256(rt.encode()).hexdigest()[:12]
    ids = ["2000000000000000497", "2000000000000000499", "2000000000000000402"]
    before = mock_admin("/__admin/token-stats")["refreshes"].get(sha, 0)
    out = Session("SELECT job_id || '|' || error_code || '|' || error_message "
                  "FROM zcrm_write_jobs(%s, connection => 'rotate');\n" % sql_array(ids),
                  "zcrm_batch_rotate").finish()
    refreshes = mock_admin("/__admin/token-stats")["refreshes"].get(sha, 0) - before
    rows = dict(line.split("|", 1) for line in out.splitlines() if "|" in line)
    print("# batch through a connection, one job answering INVALID_TOKEN: %d refresh(es)"
          % refreshes)
    check("a batch whose token is refreshed midway: refreshed once more after INVALID_TOKEN",
          refreshes == 2 and rows.get("2000000000000000402", "").startswith("INVALID_TOKEN|"),
          "refreshes %d; %s" % (refreshes, out))
    check("the jobs answered to the old token echo it in no form: it is redacted",
          rows.get("2000000000000000497") == "INVALID_DATA|" + ECHO_FORMS_MESSAGE and
          rows.get("2000000000000000499") == "INVALID_DATA|" + ECHO_MESSAGE,
          "rows %r" % ({k: v.count("[redacted]") for k, v in rows.items()},))
    psql("DROP SERVER rotate CASCADE")


def poller_test():
    """The poller fetches due jobs concurrently: 10 jobs of 300 ms, tracked
    through a server."""
    ids = slow_ids(10, 300, series=50)
    create_server("pollconn", "'1000.rt.poll.' || :'rt'", "zcrm_batch_setup")
    psql("SELECT zcrm_track_job(id, 'pollconn') FROM unnest(%s) AS id" % sql_array(ids))
    mock_admin("/__admin/reset", "POST")
    out = Session("SELECT clock_timestamp() AS t0 \\gset\n"
                  "CALL zcrm_poll_tracked_jobs(min_interval => '0');\n" + ELAPSED_SQL +
                  "SELECT 'tracked ' || count(*) FILTER (WHERE last_status = 'INPROGRESS') "
                  "|| ' ' || count(last_error) FROM zcrm_tracked_job;\n",
                  "zcrm_batch_poller").finish()
    st = stats()
    n = len(requests_for(ids))
    elapsed = elapsed_seconds(out)
    print("# poller, 10 due jobs of 300 ms: %s ms, %d requests, %d in flight at most"
          % ("%.0f" % (elapsed * 1000) if elapsed else "?", n, st["max_in_flight"]))
    check("the poller records all 10 jobs (INPROGRESS, no error)", "tracked 10 0" in out, out)
    check("the poller makes one request per due job, 5 at a time",
          n == 10 and st["max_in_flight"] == 5, "requests %d, stats %r; %s" % (n, st, out))
    psql("DELETE FROM zcrm_tracked_job WHERE job_id = ANY (%s)" % sql_array(ids))
    psql("DROP SERVER pollconn CASCADE")


def http2_test(h2):
    """Against nginx with HTTP/2 (the h2 fixture), a batch of 20 is
    multiplexed over one connection, and a second batch and single calls
    in the same session add no connection."""
    port = h2
    log = os.path.join(os.environ["ZCRM_H2_DIR"], "access.log")
    ids = slow_ids(20, 0, series=60)
    more = slow_ids(20, 0, series=61)
    start = os.path.getsize(log) if os.path.exists(log) else 0
    out = Session("SET zcrm_bulk.api_domain = 'https://127.0.0.1:%s';\n"
                  "SET zcrm_bulk.ca_file = '%s';\n" % (port, os.environ["ZCRM_CA_FILE"]) +
                  batch_sql(ids) + batch_sql(more, ", on_error => 'raise'") +
                  "SELECT 'single ' || status FROM zcrm_write_job('%s', :'token');\n" % SEED_JOB * 5,
                  "zcrm_batch_h2").finish()
    entries = []
    end = time.monotonic() + 5
    while time.monotonic() < end:
        with open(log) as f:
            f.seek(start)
            entries = [line.split() for line in f if line.strip()]
        if len(entries) >= 45:
            break
        time.sleep(0.05)
    conns = {e[0] for e in entries}
    protocols = {e[1] for e in entries}
    print("# HTTP/2 server: 2 batches of 20 and 5 single calls: %d requests over %d connection(s), %s"
          % (len(entries), len(conns), " ".join(sorted(protocols))))
    check("HTTP/2: both batches and the single calls succeed",
          out.count("rows=20 errors=0") == 2 and out.count("single INPROGRESS") == 5, out)
    check("HTTP/2: 45 requests, all HTTP/2, multiplexed over one connection",
          len(entries) == 45 and protocols == {"HTTP/2.0"} and len(conns) == 1,
          "entries %r" % entries[:50])
