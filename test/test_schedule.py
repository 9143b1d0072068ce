"""Scheduled checks: tracked jobs, the poller, NOTIFY, waiting, pg_cron.

  1. a tracked job moves ADDED -> INPROGRESS -> COMPLETED across three polls
     on the local server: three history rows with the counts, three NOTIFY
     payloads on zcrm_bulk_write_job, then it is no longer polled;
  2. two overlapping runs never poll the same job twice: of 110 due jobs
     the first run takes a batch of 100, the second (started while the first
     is fetching) the other 10, and each job is requested exactly once
     between them (min_interval, 30 s by default, keeps a run that starts
     late from polling again what the other run just polled);
  3. a run interrupted in its second batch (statement_timeout) keeps the
     first, committed batch;
  4. zcrm_write_job_wait() reports progress and returns the final rows; a
     cancel during its wait ends it at once;
  5. a job whose full NOTIFY payload would pass 8000 bytes (80 resources)
     gets the compact payload ("truncated": true, the resource count), is
     recorded with every resource and marked finished, and is not polled
     again; a job with 3 resources gets the full payload;
  6. under real pg_cron (preloaded by scripts/test.sh, cron.database_name =
     postgres): the poll is scheduled, pg_cron runs it within two minutes,
     cron.job_run_details says 'succeeded' and the history has the row.
Prints "N passed, N failed" last.
"""

import json
import re
import threading
import time

import pytest

from zcrmtest import (BOUND, RUN_NONCE, SEED_JOB, Session, cancel_when_waiting,
                      check, create_server, mock_admin, psql, slow_ids,
                      sql_array, wait_for_request)

PROGRESSING = "4000000000000000001"


def requests_for(job):
    """Authorized requests for a job.  (/__admin/reset also forgets issued
    access tokens, so a cached one is refused once with INVALID_TOKEN and
    replaced: that request is not a poll of the job.)"""
    return len([r for r in mock_admin("/__admin/requests")
                if r.get("job_id") == job and r.get("auth") == "ok"])


def setup_connection(db=None):
    create_server("sched", "'1000.rt.sched.%s.' || :'rt'" % RUN_NONCE, "zcrm_sched_setup", db=db)


@pytest.fixture(scope="module", autouse=True)
def sched_server(database):
    """The server "sched" the module's tracked jobs and waits go through."""
    setup_connection()


def progression_test():
    mock_admin("/__admin/reset", "POST")
    psql("SELECT zcrm_track_job('%s', 'sched')" % PROGRESSING)
    listener = Session("LISTEN zcrm_bulk_write_job;\nSELECT 'listening';\n", "zcrm_listener",
                       keep_open=True)
    listener.wait_line("listening", 30)
    summaries = [psql("CALL zcrm_poll_tracked_jobs(min_interval => '0')") for _ in range(4)]
    listener.send("SELECT 'flushed';\n")
    listener.wait_line("flushed", 30)
    listener.close()
    out = listener.finish()
    payloads = [json.loads(m) for m in
                re.findall(r'Asynchronous notification "zcrm_bulk_write_job" with payload "(.*)" received', out)]
    history = psql("SELECT string_agg(status || ':' || coalesce((resources->0->>'added'), '-') || '/' || "
                   "coalesce((resources->0->>'total'), '-'), ' ' ORDER BY id) FROM zcrm_job_history "
                   "WHERE job_id = '%s'" % PROGRESSING)
    finished = psql("SELECT finished_at IS NOT NULL FROM zcrm_tracked_job WHERE job_id = '%s'" % PROGRESSING)
    print("# polls: %s; history: %s" % (" ".join(summaries), history))
    check("a job moves ADDED -> INPROGRESS -> COMPLETED across polls, with its counts in the history",
          history == "ADDED:-/- INPROGRESS:1200/25000 COMPLETED:24990/25000" and finished == "t",
          "history %r finished %r" % (history, finished))
    transitions = [(p.get("old_status"), p.get("new_status")) for p in payloads]
    check("each status change sends NOTIFY zcrm_bulk_write_job with old and new status and counts",
          transitions == [(None, "ADDED"), ("ADDED", "INPROGRESS"), ("INPROGRESS", "COMPLETED")]
          and payloads[-1]["job_id"] == PROGRESSING
          and payloads[-1]["resources"][0]["added"] == 24990, out)
    check("a finished job is not polled again", requests_for(PROGRESSING) == 3
          and summaries[3] == "0|0|0", "requests %d, last run %r" % (requests_for(PROGRESSING), summaries[3]))


def notifications(out):
    return [json.loads(m) for m in
            re.findall(r'Asynchronous notification "zcrm_bulk_write_job" with payload "(.*)" received', out)]


def big_payload_test():
    """Issue 10, item 8: 1.3 raised "payload string too long" for the job
    of 80 resources, recorded it as an error and polled it forever."""
    psql("DELETE FROM zcrm_tracked_job")
    big, small = "5500000000000000080", "5500000000000000003"
    psql("SELECT zcrm_track_job(j, 'sched') FROM unnest(%s) AS j" % sql_array([big, small]))
    listener = Session("LISTEN zcrm_bulk_write_job;\nSELECT 'listening';\n", "zcrm_listener",
                       keep_open=True)
    listener.wait_line("listening", 30)
    first = psql("CALL zcrm_poll_tracked_jobs(min_interval => '0')")
    second = psql("CALL zcrm_poll_tracked_jobs(min_interval => '0')")
    listener.send("SELECT 'flushed';\n")
    listener.wait_line("flushed", 30)
    listener.close()
    out = listener.finish()
    raw = re.findall(r'Asynchronous notification "zcrm_bulk_write_job" with payload "(.*)" received', out)
    payloads = {p["job_id"]: p for p in notifications(out)}
    state = psql("SELECT string_agg(job_id || ':' || coalesce(last_status, '-') || ':' || "
                 "(finished_at IS NOT NULL) || ':' || coalesce(last_sqlstate, '-'), ' ' ORDER BY job_id) "
                 "FROM zcrm_tracked_job")
    history = psql("SELECT string_agg(job_id || ':' || status || ':' || jsonb_array_length(resources) "
                   "|| ':' || (resources->-1->>'total'), ' ' ORDER BY job_id, id) FROM zcrm_job_history")
    print("# polls %s then %s; jobs %s; history %s; payload sizes %s"
          % (first, second, state, history, [len(p.encode()) for p in raw]))
    check("a job of 80 resources is recorded with all of them and marked finished",
          state == "%s:COMPLETED:true:- %s:COMPLETED:true:-" % (small, big)
          and history == "%s:COMPLETED:3:3 %s:COMPLETED:80:80" % (small, big),
          "jobs %r history %r" % (state, history))
    check("a finished job of 80 resources is not polled again", second == "0|0|0", second)
    b = payloads.get(big, {})
    check("its NOTIFY payload is compact: job, statuses, resource count, truncated",
          b == {"job_id": big, "old_status": None, "new_status": "COMPLETED",
                "resource_count": 80, "truncated": True}
          and all(len(p.encode()) < 8000 for p in raw), out[-2000:])
    m = payloads.get(small, {})
    check("a job of 3 resources gets the full payload",
          m.get("new_status") == "COMPLETED" and "truncated" not in m
          and [r["total"] for r in m.get("resources", [])] == [1, 2, 3], repr(m))
    psql("DELETE FROM zcrm_tracked_job")


def track(jobs):
    psql("SELECT zcrm_track_job(j, 'sched') FROM unnest(%s) AS j" % sql_array(jobs))


def request_counts(jobs):
    wanted = set(jobs)
    counts = dict.fromkeys(jobs, 0)
    for r in mock_admin("/__admin/requests"):
        if r.get("job_id") in wanted and r.get("auth") == "ok":
            counts[r["job_id"]] += 1
    return counts


def overlapping_test():
    """110 jobs of 100 ms: the first run takes a batch of 100, the second,
    started while the first is fetching, takes the other 10; between them
    each job is requested exactly once."""
    psql("DELETE FROM zcrm_tracked_job")
    jobs = slow_ids(110, 100, series=70)
    track(jobs)
    mock_admin("/__admin/reset", "POST")
    results_ = [None, None]

    def run(i):
        results_[i] = psql("CALL zcrm_poll_tracked_jobs()", appname="zcrm_poller_%d" % i)

    # The second run starts while the first is fetching its first batch.
    threads = [threading.Thread(target=run, args=(i,)) for i in range(2)]
    threads[0].start()
    wait_for_request("zcrm_poller_0")
    threads[1].start()
    for t in threads:
        t.join(60)
    counts = request_counts(jobs)
    polled = [int(r.split("|")[0]) for r in results_ if r]
    print("# two overlapping runs over 110 due jobs polled %s jobs; requests per job: %s"
          % ("+".join(map(str, polled)), sorted(set(counts.values()))))
    check("two overlapping runs never poll the same job twice",
          all(n == 1 for n in counts.values()) and sum(polled) == len(jobs)
          and sorted(polled) == [10, 100], "counts %r runs %r" % (set(counts.values()), results_))
    psql("DELETE FROM zcrm_tracked_job")


def interrupted_test():
    """100 quick jobs and 6 of 2 s: the first batch (the quick ones) is
    committed, the second is cut short by statement_timeout and loses only
    itself."""
    quick = slow_ids(100, 0, series=71)
    slow = slow_ids(6, 2000, series=72)
    track(quick + slow)
    out = Session("SET statement_timeout = '1500ms';\nCALL zcrm_poll_tracked_jobs(min_interval => '0');\n",
                  "zcrm_interrupted").finish()
    done = int(psql("SELECT count(*) FROM zcrm_tracked_job WHERE last_checked IS NOT NULL"))
    print("# a run cut short by statement_timeout after 1.5 s had recorded %d of %d jobs"
          % (done, len(quick) + len(slow)))
    check("a run interrupted in its second batch keeps the first batch (100 jobs)",
          "canceling statement due to statement timeout" in out and done == len(quick),
          "done %d: %s" % (done, out))
    rest = psql("CALL zcrm_poll_tracked_jobs(min_interval => '0')")
    check("the next run polls the tracked jobs again", rest.startswith("%d|" % (len(quick) + len(slow))), rest)
    psql("DELETE FROM zcrm_tracked_job")


def wait_test():
    mock_admin("/__admin/reset", "POST")
    out = Session("SELECT job_id || ' ' || status || ' ' || added_count FROM "
                  "zcrm_write_job_wait('4000000000000000002', connection => 'sched', "
                  "poll_interval => '100 ms');\n", "zcrm_wait").finish()
    print("# zcrm_write_job_wait: %s" % " | ".join(l for l in out.splitlines() if "NOTICE" in l))
    check("zcrm_write_job_wait reports progress on each poll and returns the final rows",
          "Leads: 1200 of 25000 records processed" in out
          and "4000000000000000002 COMPLETED 24990" in out and out.count("NOTICE") == 3, out)

    app = "zcrm_wait_cancel"
    s = Session("SELECT * FROM zcrm_write_job_wait('%s', connection => 'sched', "
                "poll_interval => '30 s');\n" % SEED_JOB, app)
    _, elapsed, out = cancel_when_waiting(s, app, "zcrm_write_job_wait", settle=0.2)
    check("cancel during zcrm_write_job_wait ends it with 57014 at once",
          elapsed is not None and elapsed < BOUND and "57014" in out, out)


def pg_cron_test():
    if psql("SELECT count(*) FROM pg_settings WHERE name = 'cron.database_name'", db="postgres") != "1":
        check("pg_cron is preloaded in the test cluster", False, "cron.database_name is not set")
        return
    mock_admin("/__admin/reset", "POST")
    psql("CREATE EXTENSION IF NOT EXISTS pg_cron", db="postgres")
    psql("CREATE EXTENSION IF NOT EXISTS zcrm_bulk", db="postgres")
    setup_connection(db="postgres")
    psql("SELECT zcrm_track_job('%s', 'sched')" % PROGRESSING, db="postgres")
    jobid = psql("SELECT cron.schedule('zcrm-bulk-poll', '* * * * *', "
                 "'CALL zcrm_poll_tracked_jobs()')", db="postgres")
    t0 = time.monotonic()
    status = ""
    while time.monotonic() - t0 < 150:
        status = psql("SELECT string_agg(status, ',') FROM cron.job_run_details WHERE jobid = %s"
                      % jobid, db="postgres")
        if "succeeded" in status or "failed" in status:
            break
        time.sleep(2)
    history = psql("SELECT string_agg(status, ',' ORDER BY id) FROM zcrm_job_history "
                   "WHERE job_id = '%s'" % PROGRESSING, db="postgres")
    print("# pg_cron ran the poll after %.0f s: run status %s, history %s"
          % (time.monotonic() - t0, status or "(none)", history or "(none)"))
    check("pg_cron runs the scheduled poll and it succeeds", "succeeded" in status, status)
    check("the scheduled poll recorded the job's history", (history or "").startswith("ADDED"), history)
    psql("SELECT cron.unschedule(%s)" % jobid, db="postgres")
    psql("DELETE FROM zcrm_tracked_job", db="postgres")
    psql("DROP SERVER sched CASCADE", db="postgres")
