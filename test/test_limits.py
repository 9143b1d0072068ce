"""Limits: what a server sends, or a caller passes, cannot make a call use
memory, time or requests without bound.

  1. zcrm_write_job_wait() with a poll_interval under 10 ms is refused
     (22023) before any request, instead of polling the API in a tight loop
     that never reaches its timeout; at 10 ms it makes at most one request
     per interval and ends with 55000 at its timeout;
  2. a long zcrm_write_job_wait() does not grow the backend: its VmRSS,
     read from /proc while it polls, stays flat from the 100th poll to the
     1000th;
  3. a body of about 15 MB of tiny resources or tiny field mappings (under
     the 16 MB zcrm_bulk.max_response_size) is refused with 54000 naming
     zcrm_bulk.max_json_values, and the backend's peak memory (VmHWM)
     grows by a bounded multiple of the body size, not by a gigabyte;
     just under the limit every row comes, with the peak as bounded;
  4. with that limit raised, statement_timeout still ends the call while
     its rows are built, within the generous bound of zcrmtest.BOUND.
Measured figures are printed as "# " lines; the bounds asserted are
generous (timing ones shared with zcrmtest.py).  Needs the same
environment (test/conftest.py); prints "N passed, N failed" last.
"""

import os
import time

from zcrmtest import (BOUND, ELAPSED_SQL, SEED_JOB, Session,
                      check, elapsed_seconds, mock_admin, peak_growth, proc_kb)

# Jobs of the local server: about 15 MiB of {} as resources, as mappings.
TINY_RESOURCES = "5300000000000015000"
TINY_MAPPINGS = "5400000000000015000"
WAIT_POLLS = 1000


def job_requests(job):
    return len([r for r in mock_admin("/__admin/requests") if r.get("job_id") == job])


def wait_spin_test():
    """poll_interval '0' is refused before any request; '10 ms' polls at
    most once per 10 ms and reaches its timeout."""
    mock_admin("/__admin/reset", "POST")
    out = Session("SET statement_timeout = '5s';\n"
                  "SELECT * FROM zcrm_write_job_wait('%s', :'token', timeout => '1 s', "
                  "poll_interval => '0');\n" % SEED_JOB, "zcrm_wait_spin").finish()
    n = job_requests(SEED_JOB)
    print("# zcrm_write_job_wait(poll_interval => '0', timeout => '1 s'): %d request(s)" % n)
    check("poll_interval '0' is refused with 22023 before any request",
          "22023" in out and "poll_interval must be at least 10 milliseconds" in out and n == 0,
          "requests %d; %s" % (n, out))

    mock_admin("/__admin/reset", "POST")
    out = Session("SELECT clock_timestamp() AS t0 \\gset\n"
                  "SELECT * FROM zcrm_write_job_wait('%s', :'token', timeout => '1 s', "
                  "poll_interval => '10 ms');\n" % SEED_JOB + ELAPSED_SQL,
                  "zcrm_wait_10ms").finish()
    n = job_requests(SEED_JOB)
    elapsed = elapsed_seconds(out)
    print("# zcrm_write_job_wait(poll_interval => '10 ms', timeout => '1 s'): %d requests, "
          "ended after %s ms" % (n, "%.0f" % (elapsed * 1000) if elapsed else "?"))
    check("poll_interval '10 ms', timeout '1 s': 55000 at the timeout, at most 101 requests",
          "55000" in out and 1 <= n <= 101 and elapsed is not None and elapsed - 1.0 < BOUND,
          "requests %d; %s" % (n, out))


def wait_memory_test():
    """VmRSS of a backend in a wait of 10 ms polls, after 100 polls and
    after WAIT_POLLS: a leak of about 1.4 kB per poll would add 1.2 MB."""
    mock_admin("/__admin/reset", "POST")
    s = Session("SELECT 'pid=' || pg_backend_pid();\n"
                "SELECT * FROM zcrm_write_job_wait('%s', :'token', timeout => '60 s', "
                "poll_interval => '10 ms');\n" % SEED_JOB, "zcrm_wait_memory", keep_open=True)
    _, line = s.wait_line("pid=", 10)
    pid = int(line.split("=")[1]) if line else None
    samples = {}
    end = time.monotonic() + 60
    while pid and time.monotonic() < end and len(samples) < 2:
        n = job_requests(SEED_JOB)
        for mark in (100, WAIT_POLLS):
            if n >= mark and mark not in samples:
                samples[mark] = proc_kb(pid, "VmRSS")
        time.sleep(0.05)
    if pid:
        os.kill(pid, 2)             # SIGINT: cancel the wait
    s.close()
    s.finish()
    growth = samples[WAIT_POLLS] - samples[100] if len(samples) == 2 else None
    print("# zcrm_write_job_wait, 10 ms polls: VmRSS %s kB after 100 polls, %s kB after %d "
          "(%s kB more)" % (samples.get(100), samples.get(WAIT_POLLS), WAIT_POLLS, growth))
    check("a wait of %d polls does not grow the backend (VmRSS + < 256 kB from poll 100)"
          % WAIT_POLLS, growth is not None and growth < 256, "samples %r" % samples)


def size_cap_test():
    """15 MiB of tiny resources, and of tiny field mappings: 54000 naming
    the setting, and a peak of at most 4 x the body size (60 MB) more."""
    for fn, job in (("zcrm_write_job", TINY_RESOURCES),
                    ("zcrm_write_job_field_mappings", TINY_MAPPINGS),
                    ("zcrm_write_job_json", TINY_RESOURCES)):
        growth, out = peak_growth("SELECT count(*) FROM %s('%s', :'token');\n" % (fn, job),
                                  "zcrm_size_cap")
        print("# %s on 15 MiB of tiny elements: backend peak (VmHWM) +%s kB" % (fn, growth))
        check("%s on 15 MiB of tiny elements: 54000 naming zcrm_bulk.max_json_values" % fn,
              "54000" in out and "zcrm_bulk.max_json_values" in out, out[-2000:])
        check("%s on 15 MiB of tiny elements: backend peak grows by less than 60 MB" % fn,
              growth is not None and growth < 60 * 1024, "growth %r kB" % growth)


def at_limit_test():
    """Just under the limit (about 99,000 tiny resources or mappings in
    290 KiB) the rows come, and the peak stays as bounded."""
    for fn, job in (("zcrm_write_job", "5300000000000000290"),
                    ("zcrm_write_job_field_mappings", "5400000000000000290")):
        growth, out = peak_growth("SELECT 'rows=' || count(*) FROM %s('%s', :'token');\n"
                                  % (fn, job), "zcrm_at_limit")
        rows = [int(line[5:]) for line in out.splitlines() if line.startswith("rows=")]
        print("# %s on 290 KiB of tiny elements: %s rows, backend peak (VmHWM) +%s kB"
              % (fn, rows, growth))
        # 290 KiB of "{}," less the job's own keys: 98,900 and more
        check("%s just under zcrm_bulk.max_json_values: every row, peak + < 60 MB" % fn,
              rows and 98900 < rows[0] < 100000 and growth is not None and growth < 60 * 1024,
              "growth %r kB; %s" % (growth, out[-2000:]))


def row_timeout_test():
    """With zcrm_bulk.max_json_values raised, statement_timeout ends a call
    while it builds the rows of 15 MiB of tiny resources (or mappings)."""
    # the timeouts land while the document is parsed and while rows are built
    for fn, job, timeout_ms in (("zcrm_write_job", TINY_RESOURCES, 400),
                                ("zcrm_write_job", TINY_RESOURCES, 1500),
                                ("zcrm_write_job_field_mappings", TINY_MAPPINGS, 1500)):
        out = Session("SET zcrm_bulk.max_json_values = 10000000;\n"
                      "SET statement_timeout = '%dms';\n"
                      "SELECT clock_timestamp() AS t0 \\gset\n"
                      "SELECT count(*) FROM %s('%s', :'token');\n" % (timeout_ms, fn, job) +
                      ELAPSED_SQL, "zcrm_row_timeout").finish()
        elapsed = elapsed_seconds(out)
        late = elapsed * 1000 - timeout_ms if elapsed is not None else None
        print("# statement_timeout %d ms, %s on 15 MiB of tiny elements: ended %s ms past it"
              % (timeout_ms, fn, "%.0f" % late if late is not None else "?"))
        check("%s on 15 MiB of tiny elements: a %d ms statement_timeout lands within 0.5 s"
              % (fn, timeout_ms),
              "canceling statement due to statement timeout" in out and
              late is not None and late < 500, out[-2000:])
