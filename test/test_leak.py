"""No leaks: 10,000 calls in one backend, successes mixed with every kind of
error, must not grow the backend's memory or its open file descriptors.

One psql session runs a warm-up round, then 10,000 calls cycling through
every outcome zcrm_bulk has (rows, API errors of every SQLSTATE, bodies that
are not JSON or of the wrong shape, oversized and gzip-bomb bodies aborted at
the limit, connection resets, refused connections, request timeouts,
statement_timeout and invalid arguments), single calls and batches.  The backend's VmRSS and RssAnon
(from /proc) and its descriptor count are read after the warm-up and at the
end.  Passing: RSS grows by less than 5 MB and the descriptor count does not
grow.  Needs the environment test/conftest.py provides; prints
"N passed, N failed" last.
"""

import os
import time

from zcrmtest import Session, check

CALLS = int(os.environ.get("ZCRM_LEAK_CALLS", "10000"))
RSS_LIMIT_KB = 5 * 1024

# One statement per outcome; each is one call of a zcrm_bulk function.
STATEMENTS = [
    "SELECT count(*) FROM zcrm_write_job('4150868000005392002', :'token');",
    "SELECT count(*) FROM zcrm_write_job_field_mappings('1000000000000000003', :'token');",
    "SELECT zcrm_write_job_json('4150868000005350003', :'token') IS NOT NULL;",
    "SELECT count(*) FROM zcrm_write_job('1000000000000000006', :'token');",
] + [
    "SELECT count(*) FROM zcrm_write_job('%s', :'token');" % job for job in (
        "415086800000539200",                       # RESOURCE_NOT_FOUND
        "2000000000000000400", "2000000000000000401", "2000000000000000402",
        "2000000000000000403", "2000000000000000404", "2000000000000000405",
        "2000000000000000406", "2000000000000000407", "2000000000000000408",
        "2000000000000000409", "2000000000000000410", "2000000000000000429",
        "2000000000000000430", "2000000000000000500", "2000000000000000501",
        "2000000000000000502", "2000000000000000503", "2000000000000000200",
        "2000000000000000201", "2000000000000000202", "2000000000000000204",
        "2000000000000000301", "2000000000000000499",
        "1000000000000000009", "1000000000000000010", "1000000000000000011",
        "1000000000000000012", "1000000000000000013", "1000000000000000015",
        "1000000000000000016", "1000000000000000017", "1000000000000000018",
        "3000000000000000003",                      # reset mid-body
        "3000000000000000004",                      # oversize, chunked
        "3000000000000000005",                      # oversize, Content-Length
        "3000000000000000006",                      # gzip bomb
        "3000000000000000007",                      # truncated gzip
        "3000000000000000009",                      # nested 100,000 deep
    )
] + [
    "SELECT count(*) FROM zcrm_write_job_field_mappings('1000000000000000012', :'token');",
    "SELECT zcrm_write_job_json('2000000000000000429', :'token');",
    "SELECT count(*) FROM zcrm_write_job('4150868000005392002', :'token' || 'x');",
    "SELECT count(*) FROM zcrm_write_job('not-a-job', :'token');",
    "SELECT count(*) FROM zcrm_write_job(NULL, :'token');",
    "SET zcrm_bulk.timeout = '20ms'; SELECT count(*) FROM zcrm_write_job('3000000000000000001', :'token'); RESET zcrm_bulk.timeout;",
    "SET statement_timeout = '20ms'; SELECT count(*) FROM zcrm_write_job('3000000000000000002', :'token'); RESET statement_timeout;",
    "SET zcrm_bulk.api_domain = 'http://127.0.0.1:1'; SELECT count(*) FROM zcrm_write_job('4150868000005392002', :'token'); RESET zcrm_bulk.api_domain;",
    # batches: error rows of every kind beside successes, and the raise mode
    "SELECT count(*), count(error_sqlstate) FROM zcrm_write_jobs(ARRAY['4150868000005392002', "
    "'1000000000000000003', '2000000000000000401', '2000000000000000502', '1000000000000000012', "
    "'1000000000000000018', '3000000000000000003', '3000000000000000006', NULL, 'x', "
    "'4150868000005392002'], :'token');",
    "SELECT count(*) FROM zcrm_write_jobs_field_mappings(ARRAY['1000000000000000003', "
    "'4150868000005350003', '2000000000000000201'], :'token');",
    "SELECT count(*) FROM zcrm_write_jobs(ARRAY['4150868000005392002', '2000000000000000404'], "
    ":'token', on_error => 'raise');",
    "SET statement_timeout = '20ms'; SELECT count(*) FROM zcrm_write_jobs(ARRAY['3000000000000000001', "
    "'3000000000000000002', '4150868000005392002'], :'token'); RESET statement_timeout;",
]


def proc_status(pid):
    fields = {}
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            key, _, value = line.partition(":")
            if key in ("VmRSS", "RssAnon"):
                fields[key] = int(value.split()[0])
    fields["fds"] = len(os.listdir("/proc/%d/fd" % pid))
    return fields


# Before a checkpoint: a batch leaves up to max_concurrency keep-alive
# connections in the backend's connection cache, which libcurl trims by one
# per finished transfer once max_concurrency is lower.  Five single calls at
# max_concurrency 1 leave exactly one open connection, whatever came before,
# so that both checkpoints count the same descriptors.
SETTLE = ("SET zcrm_bulk.max_concurrency = 1;\n" + (STATEMENTS[0] + "\n") * 5 +
          "RESET zcrm_bulk.max_concurrency;\n")


def block(n):
    """n statements cycling through STATEMENTS, then SETTLE, so that both
    checkpoints are taken with exactly one keep-alive connection open."""
    return "".join(STATEMENTS[i % len(STATEMENTS)] + "\n" for i in range(n)) + SETTLE


def leak_test():
    s = Session("SET zcrm_bulk.retries = 0;\n"
                "SET zcrm_bulk.max_response_size = '64kB';\n"
                "SELECT 'pid=' || pg_backend_pid();\n"
                + block(5 * len(STATEMENTS)) + "SELECT 'checkpoint-1';\n",
                "zcrm_leak", keep_open=True)
    _, line = s.wait_line("pid=", 60)
    pid = int(line.split("=")[1])
    s.wait_line("checkpoint-1", 300)
    before = proc_status(pid)
    t0 = time.monotonic()
    s.send(block(CALLS) + "SELECT 'checkpoint-2';\n")
    t2, _ = s.wait_line("checkpoint-2", 1200)
    after = proc_status(pid) if t2 else None
    s.close()
    out = s.finish(60)
    calls_done = t2 is not None
    if calls_done:
        print("# %d calls in %.1f s (%.0f calls/s); VmRSS %d -> %d kB (%+d kB), "
              "RssAnon %d -> %d kB (%+d kB), open fds %d -> %d"
              % (CALLS, t2 - t0, CALLS / (t2 - t0), before["VmRSS"], after["VmRSS"],
                 after["VmRSS"] - before["VmRSS"], before["RssAnon"], after["RssAnon"],
                 after["RssAnon"] - before["RssAnon"], before["fds"], after["fds"]))
    check("%d mixed calls complete in one backend" % CALLS, calls_done, out[-2000:])
    check("backend RSS grows by less than 5 MB over %d calls" % CALLS,
          calls_done and after["VmRSS"] - before["VmRSS"] < RSS_LIMIT_KB,
          "before %r after %r" % (before, after))
    check("backend open file descriptors do not grow over %d calls" % CALLS,
          calls_done and after["fds"] <= before["fds"],
          "before %r after %r" % (before, after))
    kinds = set()
    for line in out.splitlines():
        if line.startswith("ERROR:"):
            kinds.add(line.split()[1].rstrip(":"))
    print("# SQLSTATEs seen: %s" % " ".join(sorted(kinds)))
    check("every kind of error occurred",
          {"28000", "42501", "P0002", "22023", "53400", "58000", "08001", "08006",
           "22032", "22000", "22P05", "54000", "08P01", "22004", "57014"} <= kinds,
          "seen %r" % sorted(kinds))
