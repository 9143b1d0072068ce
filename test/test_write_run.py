"""Bulk write runs end to end through the local Zoho API server.

  1. 60,000 rows of a local table -> zcrm_write_submit() -> 3 parts, 3
     uploads, 3 jobs, tracked; the poller collects every result file into
     zcrm_write_result and sends NOTIFY with the run id; every result row is
     matched to its source row, joined back by source_key, and its status
     and error codes are the ones the data calls for (added, skipped with
     MANDATORY_NOT_FOUND, INVALID_DATA and DUPLICATE_DATA);
  2. the same rows with shuffled result files: the same results;
  3. echoed values that are not unique, shuffled: those rows are left
     unmatched (NULL row_number and source_key, never a wrong one) and a
     WARNING gives the count;
  4. upsert (updated with the stored record id, added) and a job that
     fails midway (unprocessed rows, the part completed with a note);
  5. zcrm_write() with a token: submit, wait, results as rows;
  6. errors: a module Zoho does not have and unmapped mandatory fields
     (22023, the part and its rows in the DETAIL, the run and part failed);
     a query that fails at a row (its own error, the run failed, nothing
     uploaded); an empty query (a NOTICE, no job); no connection (22023);
  7. interruptions and resumes, with the server's counts proving that no
     part was created twice and nothing was lost: a cancel mid-prepare, a
     cancel mid-upload, a part left between upload and create, a backend
     terminated during the create call (the part becomes uncertain, with a
     WARNING naming its file id, and is left alone; retry_uncertain
     uploads and creates it again), parts already created (never created
     again).
Prints "N passed, N failed" last.
"""

import json
import os
import re
import time
import urllib.request

import pytest

import zcrmtest
from zcrmtest import check, create_server, mock_admin

# The local server keeps the records of every job, and its unique fields
# (Email) make a second load of the same rows DUPLICATE_DATA: every email
# of this run is made unique to it.
DOMAIN = "@%s.example.org" % os.urandom(4).hex()


def psql(sql, *args, **kwargs):
    return zcrmtest.psql(sql.replace("@example.org", DOMAIN), *args, **kwargs)


class Session(zcrmtest.Session):
    def __init__(self, script, *args, **kwargs):
        super().__init__(script.replace("@example.org", DOMAIN), *args, **kwargs)

SERVER = "zoho_w"
MOCK = "http://127.0.0.1:%s" % os.environ.get("ZCRM_MOCK_PORT", "18089")


# The order of a full run (a test selected alone needs none of the others).
ORDER = ["end_to_end_test", "shuffle_test", "unmatched_test", "upsert_and_failure_test",
         "interactive_test", "pipelined_test", "pipelined_refresh_test", "pipelined_failures_test",
         "stored_results_test", "errors_test", "interrupt_prepare_test", "interrupt_upload_test",
         "between_upload_and_create_test", "interrupt_create_test", "interrupt_create_cancel_test",
         "concurrent_send_test", "prefetch_test", "org_remembered_test", "poller_collects_together_test",
         "concurrent_collect_test", "interrupt_upload_group_test", "interrupt_create_group_test",
         "terminate_prepare_test", "after_create_test", "search_path_restored_test",
         "privileges_test", "nightly_recipe_test"]


@pytest.fixture(scope="module", autouse=True)
def write_server(database):
    """The server and PUBLIC user mapping the runs go through."""
    create_server(SERVER, "'1000.rt.write.%s.' || :'rt'" % zcrmtest.RUN_NONCE, "zcrm_write_setup")
    return SERVER


@pytest.fixture(autouse=True)
def timed(request):
    """A "# NAME: N s" line after each test."""
    t0 = time.monotonic()
    yield
    print("# %s: %.1f s" % (request.node.name, time.monotonic() - t0))


def lifecycle(changes=None):
    """GET (or, with changes, POST) /__admin/lifecycle."""
    if changes is None:
        return mock_admin("/__admin/lifecycle")
    req = urllib.request.Request(MOCK + "/__admin/lifecycle", method="POST",
                                 data=json.dumps(changes).encode(),
                                 headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=10) as r:
        return json.load(r)


BASE = [0, 0]


def reset():
    """Start counting uploads and creates afresh and put the server's
    lifecycle settings back to their defaults.  The server itself is not
    reset: its job ids must stay unique, as Zoho's are, across the tests."""
    lifecycle({"shuffle": False, "fail_after": None, "upload_read_bytes_per_s": None,
               "create_reply_delay_ms": None, "create_fault": None})
    # a request an interrupted test left behind (a throttled upload the
    # server still reads) must not be counted in the next test
    end = time.monotonic() + 30
    while mock_admin("/__admin/stats")["in_flight"] > 0 and time.monotonic() < end:
        time.sleep(0.05)
    s = lifecycle()
    BASE[:] = [s["uploads"], s["creates"]]


def counts():
    """Uploads and creates since the last reset()."""
    s = lifecycle()
    return s["uploads"] - BASE[0], s["creates"] - BASE[1]


def run(sql, appname="zcrm_write_run"):
    """Run a script in a new session (verbose errors); return its output."""
    return Session(sql, appname).finish(120)


def poll_until_done(run_id, rounds=10):
    """CALL the poller until run_id is completed; return its state."""
    state = None
    for _ in range(rounds):
        psql("CALL zcrm_poll_tracked_jobs('0')")
        state = psql("SELECT state FROM zcrm_write_run WHERE run_id = %d" % run_id)
        if state == "completed":
            break
    return state


# The source table: row i gets an email u<i>@example.org and a last name;
# every 97th row has no last name (MANDATORY_NOT_FOUND), every 89th an
# email that is not one (INVALID_DATA), every 83rd the email of the row
# before it (DUPLICATE_DATA).  The expected outcome follows the local
# server's rules in that order.
SOURCE_SQL = """
CREATE TABLE %(t)s (id integer PRIMARY KEY, last_name text, email text, company text);
INSERT INTO %(t)s
SELECT i,
       CASE WHEN i %% 97 = 0 THEN NULL ELSE 'Last ' || i END,
       CASE WHEN i %% 89 = 0 THEN 'not-an-email-' || i
            WHEN i %% 83 = 0 THEN '%(p)s' || (i - 1) || '@example.org'
            ELSE '%(p)s' || i || '@example.org' END,
       'Company ' || (i %% 50)
FROM generate_series(1, %(n)d) AS i;
CREATE VIEW %(t)s_expected AS
SELECT id,
       CASE WHEN last_name IS NULL OR email NOT LIKE '%%@%%' THEN 'skipped'
            WHEN id %% 83 = 0 AND (id - 1) %% 97 <> 0 AND (id - 1) %% 89 <> 0 THEN 'skipped'
            ELSE 'added' END AS status,
       CASE WHEN last_name IS NULL THEN 'MANDATORY_NOT_FOUND'
            WHEN email NOT LIKE '%%@%%' THEN 'INVALID_DATA'
            WHEN id %% 83 = 0 AND (id - 1) %% 97 <> 0 AND (id - 1) %% 89 <> 0 THEN 'DUPLICATE_DATA'
       END AS code
FROM %(t)s;
"""


def source_table(name, n, prefix):
    psql(SOURCE_SQL % {"t": name, "n": n, "p": prefix})


def query_of(table):
    return ("SELECT id, email AS \"Email\", last_name AS \"Last_Name\", company AS \"Company\" "
            "FROM %s ORDER BY id" % table)


def submit(query, extra="", appname="zcrm_write_submit"):
    """CALL zcrm_write_submit for Leads through SERVER; return (run_id, output)."""
    out = run("CALL zcrm_write_submit('Leads', %s, key_column => 'id', connection => '%s'%s);\n"
              % (psql_literal(query), SERVER, extra), appname)
    m = re.search(r"^(\d+)$", out, re.M)
    return (int(m.group(1)) if m else None), out


def psql_literal(s):
    return "'" + s.replace("'", "''") + "'"


def results_agree(table, run_id):
    """How many source rows have a result row with the expected status and
    code, and how many result rows are there."""
    agree = psql("""SELECT count(*) FROM %s_expected AS e
                    JOIN zcrm_write_result AS r ON r.run_id = %d AND r.source_key = e.id::text
                    WHERE r.status = e.status
                      AND (e.code IS NULL AND r.errors IS NULL
                           OR r.errors -> 0 ->> 'code' = e.code)
                      AND (r.status <> 'added' OR r.record_id ~ '^[0-9]{19}$')
                      AND r.row_number = e.id"""
                 % (table, run_id))      # the ids are 1..n, in query order
    total = psql("SELECT count(*) FROM zcrm_write_result WHERE run_id = %d" % run_id)
    return int(agree), int(total)


def end_to_end_test():
    reset()
    source_table("leads_a", 60000, "a")
    listener = Session("LISTEN zcrm_bulk_write_job;\nSELECT 'listening';\n", "zcrm_listener",
                       keep_open=True)
    listener.wait_line("listening", 10)
    run_id, out = submit(query_of("leads_a"))
    check("submit: a run id", run_id is not None, out[-500:])
    parts = psql("SELECT string_agg(part || ':' || state || ':' || (last_row - first_row + 1), ',' "
                 "ORDER BY part) FROM zcrm_write_run_job WHERE run_id = %d" % run_id)
    check("submit: 3 parts of 25,000, 25,000 and 10,000 rows, created",
          parts == "1:created:25000,2:created:25000,3:created:10000", parts)
    check("submit: the run is submitted",
          psql("SELECT state || ' ' || rows || ' ' || parts FROM zcrm_write_run WHERE run_id = %d"
               % run_id) == "submitted 60000 3")
    check("submit: 3 uploads and 3 creates reached the server", counts() == (3, 3), str(counts()))
    check("submit: each job is tracked",
          psql("SELECT count(*) FROM zcrm_tracked_job t JOIN zcrm_write_run_job j USING (job_id) "
               "WHERE j.run_id = %d AND t.connection = '%s'" % (run_id, SERVER)) == "3")
    check("submit: the zips are dropped once their jobs exist",
          psql("SELECT count(*) FROM zcrm_write_run_job WHERE run_id = %d AND zip IS NULL"
               % run_id) == "3")
    state = poll_until_done(run_id)
    check("poller: the run is completed", state == "completed", str(state))
    agree, total = results_agree("leads_a", run_id)
    check("results: 60,000 result rows, each matched to its source row with the expected "
          "status, error code, record id and row_number", (agree, total) == (60000, 60000),
          "%d agree of %d" % (agree, total))
    statuses = psql("SELECT string_agg(DISTINCT coalesce(errors -> 0 ->> 'code', status), ',') "
                    "FROM zcrm_write_result WHERE run_id = %d" % run_id)
    check("results: every outcome is present",
          statuses == "DUPLICATE_DATA,INVALID_DATA,MANDATORY_NOT_FOUND,added", statuses)
    fields = psql("SELECT string_agg(DISTINCT (errors -> 0)::text, ' ') FROM zcrm_write_result "
                  "WHERE run_id = %d AND errors -> 0 ->> 'code' = 'MANDATORY_NOT_FOUND'" % run_id)
    check("results: MANDATORY_NOT_FOUND names its field",
          fields == '{"code": "MANDATORY_NOT_FOUND", "fields": ["Last_Name"]}', fields)
    listener.send("SELECT 'flushed';\n")
    listener.wait_line("flushed", 30)
    listener.close()
    out = listener.finish(10)
    payloads = [json.loads(p) for p in
                re.findall(r'Asynchronous notification "zcrm_bulk_write_job" with payload "(.*)" received', out)]
    done = [p for p in payloads if p.get("new_status") == "COMPLETED" and p.get("run_id") == run_id]
    check("NOTIFY: one COMPLETED payload per part, naming the run and the part",
          sorted(p["part"] for p in done) == [1, 2, 3], str(payloads)[:300])
    check("nothing created twice: still 3 uploads and 3 creates", counts() == (3, 3))


def shuffle_test():
    reset()
    lifecycle({"shuffle": True})
    source_table("leads_s", 30000, "s")
    run_id, out = submit(query_of("leads_s"))
    check("shuffled result files: submitted", run_id is not None, out[-600:])
    if run_id is None:
        return
    state = poll_until_done(run_id)
    agree, total = results_agree("leads_s", run_id)
    diag = psql("SELECT count(*) FILTER (WHERE r.row_number IS NULL) || ' unmatched, ' || "
                "count(*) FILTER (WHERE r.status <> e.status) || ' other status' "
                "FROM zcrm_write_result r LEFT JOIN leads_s_expected e ON e.id::text = r.source_key "
                "WHERE r.run_id = %d" % run_id)
    check("shuffled result files: every row matched by its echoed values",
          state == "completed" and (agree, total) == (30000, 30000),
          "%s %d of %d: %s" % (state, agree, total, diag))
    positions = psql("SELECT count(*) FROM zcrm_write_result WHERE run_id = %d "
                     "AND row_number <> (part - 1) * 25000 + result_row" % run_id)
    check("shuffled result files: the file order was not the source order", int(positions) > 1000,
          positions)
    lifecycle({"shuffle": False})


def unmatched_test():
    reset()
    lifecycle({"shuffle": True})
    psql("CREATE TABLE dups (id integer PRIMARY KEY, last_name text, email text, company text);"
         "INSERT INTO dups SELECT i, 'Same', 'd' || (i % 10) || '@example.org', 'Same' "
         "FROM generate_series(1, 40) AS i;"
         "INSERT INTO dups SELECT i, 'Last ' || i, 'u' || i || '@example.org', 'C' "
         "FROM generate_series(41, 100) AS i")
    run_id, out = submit(query_of("dups"))
    out = run("CALL zcrm_poll_tracked_jobs('0');\nCALL zcrm_poll_tracked_jobs('0');\n")
    m = re.search(r"WARNING:  \S*\s*(\d+) of 100 result rows of bulk write job \d+ could not be matched", out)
    check("repeated echoed values: a WARNING counts the unmatched rows", m is not None, out[-400:])
    wrong = psql("SELECT count(*) FROM zcrm_write_result r JOIN dups d ON d.id::text = r.source_key "
                 "WHERE r.run_id = %d AND (r.row_number <> d.id)" % run_id)
    unmatched = psql("SELECT count(*) FROM zcrm_write_result WHERE run_id = %d "
                     "AND row_number IS NULL AND source_key IS NULL" % run_id)
    check("repeated echoed values: no wrong match, the 40 ambiguous rows unmatched, the 60 others matched",
          wrong == "0" and unmatched == "40" and (m is None or m.group(1) == "40"),
          "wrong %s unmatched %s" % (wrong, unmatched))
    lifecycle({"shuffle": False})


def upsert_and_failure_test():
    reset()
    psql("CREATE TABLE ups (id integer PRIMARY KEY, last_name text, email text, company text);"
         "INSERT INTO ups SELECT i, 'Last ' || i, 'p' || i || '@example.org', 'C' "
         "FROM generate_series(1, 20) AS i")
    first, out = submit(query_of("ups") + " LIMIT 10")
    poll_until_done(first)
    second, out = submit(query_of("ups"), ", operation => 'upsert', find_by => 'Email'")
    state = poll_until_done(second)
    got = psql("SELECT string_agg(r.status, ',' ORDER BY r.row_number) FROM zcrm_write_result r "
               "WHERE r.run_id = %d" % second)
    same_ids = psql("SELECT count(*) FROM zcrm_write_result a JOIN zcrm_write_result b "
                    "ON a.source_key = b.source_key AND a.record_id = b.record_id "
                    "WHERE a.run_id = %d AND b.run_id = %d AND b.status = 'updated'" % (first, second))
    check("upsert: the 10 stored rows updated with their record ids, the 10 others added",
          state == "completed" and got == ",".join(["updated"] * 10 + ["added"] * 10)
          and same_ids == "10", "%s %s %s" % (state, got, same_ids))

    reset()
    lifecycle({"fail_after": 5})
    psql("CREATE TABLE fails (LIKE ups); INSERT INTO fails SELECT i, 'Last ' || i, "
         "'q' || i || '@example.org', 'C' FROM generate_series(1, 20) AS i")
    run_id, out = submit(query_of("fails"))
    state = poll_until_done(run_id)
    got = psql("SELECT string_agg(status, ',' ORDER BY row_number) FROM zcrm_write_result "
               "WHERE run_id = %d" % run_id)
    note = psql("SELECT state || ': ' || last_error FROM zcrm_write_run_job WHERE run_id = %d" % run_id)
    check("a job that fails midway: 5 added, 15 unprocessed, the part completed with a note",
          state == "completed" and got == ",".join(["added"] * 5 + ["unprocessed"] * 15)
          and note == "completed: the job ended FAILED", "%s %s %s" % (state, got, note))
    lifecycle({"fail_after": None})


def interactive_test():
    reset()
    source_table("leads_i", 1000, "i")
    out = run("LISTEN zcrm_bulk_write_job;\n"
              "SELECT count(*) AS n, count(*) FILTER (WHERE status = 'added') AS added, "
              "count(DISTINCT run_id) AS runs, count(*) FILTER (WHERE row_number::text = source_key) AS joined "
              "FROM zcrm_write('Leads', %s, key_column => 'id', token => :'token');\n"
              % psql_literal(query_of("leads_i")))
    m = re.search(r"^(\d+)\|(\d+)\|(\d+)\|(\d+)$", out, re.M)
    check("zcrm_write with a token: 1,000 result rows of one run, each joined to its source row",
          m is not None and m.group(1) == "1000" and m.group(3) == "1" and m.group(4) == "1000",
          out[-400:])
    notes = [json.loads(p) for p in re.findall(
        r'Asynchronous notification "zcrm_bulk_write_job" with payload "(.*)" received', out)]
    check("zcrm_write: a NOTIFY naming the run once its job's result is collected",
          len(notes) == 1 and notes[0].get("new_status") == "COMPLETED"
          and isinstance(notes[0].get("run_id"), int) and notes[0].get("part") == 1, str(notes))
    check("zcrm_write: a progress NOTICE while the job runs",
          re.search(r"NOTICE:  \S*\s*bulk write job \d+: INPROGRESS", out) is not None, out[-400:])
    tracked = psql("SELECT count(*) FROM zcrm_write_run_job j JOIN zcrm_write_run r USING (run_id) "
                   "JOIN zcrm_tracked_job t USING (job_id) WHERE r.connection IS NULL")
    token = os.environ["ZCRM_TEST_TOKEN"]
    stored = psql("SELECT count(*) FROM zcrm_write_run r JOIN zcrm_write_run_job j USING (run_id) "
                  "WHERE strpos(r::text || j::text, '%s') > 0" % token.replace("'", "''"))
    check("zcrm_write with a token: its jobs are not tracked and the token is stored nowhere",
          tracked == "0" and stored == "0", "%s %s" % (tracked, stored))


def log_since(seen):
    """The server's request log entries after the first seen ones, in the
    order they were routed (an upload is routed once its body is read)."""
    return [r for r in mock_admin("/__admin/requests")[seen:] if r.get("kind") == "api"]


def pipelined_test():
    """zcrm_write() sends each part's calls end to end: a part's create,
    poll and result download go out as soon as its own previous call ends,
    while the other parts' uploads are still being read.  Parts of 4,000,
    4,000 and 2,000 rows, uploads read at 150 kB/s: the 2,000-row part's
    upload ends first, and its create, poll and download reach the server
    before the two larger uploads have been read.  (Before, every create
    waited for every upload.)"""
    reset()
    source_table("pipe", 10000, "pp")
    lifecycle({"upload_read_bytes_per_s": 150000})
    seen = len(mock_admin("/__admin/requests"))
    try:
        out = run("SET zcrm_bulk.max_part_rows = 4000;\n"
                  "SELECT count(*) AS n, count(*) FILTER (WHERE row_number::text = source_key) AS joined "
                  "FROM zcrm_write('Leads', %s, key_column => 'id', token => :'token');\n"
                  % psql_literal(query_of("pipe")), "zcrm_w_pipe")
    finally:
        lifecycle({"upload_read_bytes_per_s": None})
    log = log_since(seen)
    order = [r["scenario"] for r in log]
    uploads = [k for k, sc in enumerate(order) if sc == "upload"]
    creates = [k for k, sc in enumerate(order) if sc == "create"]
    check("pipelined zcrm_write: 10,000 result rows, each joined to its source row",
          re.search(r"^10000\|10000$", out, re.M) is not None, out[-400:])
    check("pipelined zcrm_write: the smallest part's create reaches the server before the "
          "larger parts' uploads are read", len(uploads) == 3 and len(creates) == 3
          and creates[0] < uploads[-1] and creates[0] < uploads[1], str(order))
    check("pipelined zcrm_write: its first poll follows its create before the larger uploads end",
          "lifecycle_job" in order[:uploads[-1]], str(order))


def pipelined_refresh_test():
    """Through a connection, a call of a part's chain answered
    INVALID_TOKEN (the server revokes every token when the first result
    download comes in) is sent again after one refresh of the token, and
    the part's chain goes on: every row's result, one token call."""
    reset()
    source_table("piper", 3000, "pr")
    seen = len(mock_admin("/__admin/requests"))
    lifecycle({"polls_in_progress": 0, "result_fault": "revoke_token"})
    try:
        out = run("SET zcrm_bulk.max_part_rows = 1000;\n"
                  "SELECT count(*) AS n, count(*) FILTER (WHERE row_number::text = source_key) AS joined "
                  "FROM zcrm_write('Leads', %s, key_column => 'id', connection => '%s');\n"
                  % (psql_literal(query_of("piper")), SERVER), "zcrm_w_piper")
    finally:
        lifecycle({"polls_in_progress": 1, "result_fault": None})
    order = [r["scenario"] for r in mock_admin("/__admin/requests")[seen:]]
    cut = order.index("result_fault:revoke_token") if "result_fault:revoke_token" in order else 0
    tokens = [sc for sc in order[cut:] if sc.startswith("token")]
    check("pipelined zcrm_write after INVALID_TOKEN on a download: every row's result",
          re.search(r"^3000\|3000$", out, re.M) is not None and "ERROR" not in out, out[-400:])
    check("pipelined zcrm_write after INVALID_TOKEN: one token refresh, the download made again",
          len(tokens) == 1 and order.count("result_fault:revoke_token") == 1
          and order.count("result") == 3 and tokens and order.index(tokens[0], cut) < order.index("result"),
          str(order))


def pipelined_failures_test():
    """zcrm_write()'s end-to-end send raises Zoho's refusal naming the
    part, with nothing left behind (its transaction rolls back); a
    statement_timeout while the uploads are read ends it within a fraction
    of a second, and the backend goes on working."""
    reset()
    psql("CREATE TABLE fewer (id integer PRIMARY KEY, last_name text);"
         "INSERT INTO fewer SELECT i, 'L' || i FROM generate_series(1, 30) AS i")
    out = run("SELECT count(*) FROM zcrm_write('Nope', 'SELECT id, last_name AS \"Last_Name\" "
              "FROM fewer', key_column => 'id', token => :'token');\n")
    check("zcrm_write, a module Zoho does not have: 22023 MODULE_NOT_AVAILABLE with the part and rows",
          "ERROR:  22023" in out and "MODULE_NOT_AVAILABLE" in out and "Part 1 of bulk write run" in out
          and "rows 1 to 30" in out, out[-500:])
    lifecycle({"create_fault": "500"})
    out = run("SELECT count(*) FROM zcrm_write('Leads', 'SELECT id, last_name AS \"Last_Name\" "
              "FROM fewer', key_column => 'id', token => :'token');\n"
              "SELECT 'still here ' || count(*) FROM zcrm_write_run;\n")
    lifecycle({"create_fault": None})
    check("zcrm_write, a create answered HTTP 500: raised naming the part (never sent twice)",
          "ERROR:  58000" in out and "INTERNAL_ERROR" in out and "HTTP status 500" in out
          and "Part 1 of bulk write run" in out and "still here" in out, out[-700:])
    # a create that fails after another part's job was created: the
    # error names that job (the 2,000-row part's upload ends first)
    source_table("pipec", 10000, "pc")
    lifecycle({"upload_read_bytes_per_s": 20000})
    try:
        before = counts()
        sess = Session("SET zcrm_bulk.max_part_rows = 4000;\n"
                       "SELECT count(*) FROM zcrm_write('Leads', %s, key_column => 'id', token => :'token');\n"
                       % psql_literal(query_of("pipec")), "zcrm_w_pipec")
        end = time.monotonic() + 60
        while counts()[1] - before[1] < 1 and time.monotonic() < end:
            time.sleep(0.02)
        lifecycle({"create_fault": "500"})
        out = sess.finish(120)
    finally:
        lifecycle({"upload_read_bytes_per_s": None, "create_fault": None})
        settle()
    # (which parts' creates were sent before the fault depends on when their
    # uploads ended: the 2,000-row part's always was, the failing one's never)
    failing = re.search(r"Part (\d) of bulk write run", out)
    listed = re.search(r"jobs this call created, which Zoho runs whatever happens to this "
                       r"transaction: ((?:\d+ \(part \d\)(?:, )?)+)\.", out)
    listed_parts = re.findall(r"\(part (\d)\)", listed.group(1)) if listed else []
    check("zcrm_write, a create that fails after another part's job exists: the error names that job",
          "ERROR:  58000" in out and failing is not None and "3" in listed_parts
          and failing.group(1) not in listed_parts, out[-700:])
    source_table("pipet", 10000, "pt")
    lifecycle({"upload_read_bytes_per_s": 20000})
    try:
        out = run("SET zcrm_bulk.max_part_rows = 4000;\n"
                  "SET statement_timeout = '1500ms';\n"
                  "SELECT clock_timestamp() AS t0 \\gset\n"
                  "SELECT count(*) FROM zcrm_write('Leads', %s, key_column => 'id', token => :'token');\n"
                  "SELECT round(extract(epoch FROM clock_timestamp() - :'t0'::timestamptz) * 1000) "
                  "AS took_ms;\n"
                  "RESET statement_timeout;\n"
                  "SELECT 'still here ' || count(*) FROM zcrm_write_run;\n"
                  % psql_literal(query_of("pipet")), "zcrm_w_pipet")
    finally:
        lifecycle({"upload_read_bytes_per_s": None})
        settle()
    took = re.search(r"^(\d+)$", out, re.M)
    check("zcrm_write: statement_timeout during the uploads: 57014 within 0.5 s of the timeout",
          "ERROR:  57014" in out and took is not None and int(took.group(1)) < 2000, out[-500:])
    check("zcrm_write: the backend works after the timeout", "still here" in out, out[-300:])


def stored_results_test():
    """A part's result rows are stored with table_multi_insert() when that
    has the INSERT's effect, and through the INSERT otherwise: a trigger
    on zcrm_write_result (here one that counts rows) makes zcrm_bulk take
    the INSERT, and fires for every row.  Either way every row is stored
    with the status, error code, record id, row_number and source_key the
    data calls for (added, MANDATORY_NOT_FOUND, INVALID_DATA,
    DUPLICATE_DATA)."""
    reset()
    got = {}
    for name in ("stored_direct", "stored_insert"):
        source_table(name, 500, name)
        if name == "stored_insert":
            psql("CREATE TABLE stored_seen (n bigint);"
                 "INSERT INTO stored_seen VALUES (0);"
                 "CREATE FUNCTION stored_count() RETURNS trigger LANGUAGE plpgsql AS "
                 "$$BEGIN UPDATE stored_seen SET n = n + 1; RETURN NULL; END$$;"
                 "CREATE TRIGGER stored_count AFTER INSERT ON zcrm_write_result "
                 "FOR EACH ROW EXECUTE FUNCTION stored_count()")
        try:
            out = run("SELECT DISTINCT run_id FROM zcrm_write('Leads', %s, key_column => 'id', "
                      "token => :'token');\n" % psql_literal(query_of(name)), "zcrm_w_stored")
        finally:
            if name == "stored_insert":
                got["seen"] = psql("SELECT n FROM stored_seen")
                psql("DROP TRIGGER stored_count ON zcrm_write_result; DROP FUNCTION stored_count();"
                     "DROP TABLE stored_seen")
        m = re.search(r"^(\d+)$", out, re.M)
        got[name] = results_agree(name, int(m.group(1))) if m else out[-300:]
    check("result rows stored by table_multi_insert(): each with the status, code, record id "
          "and row_number the data calls for", got["stored_direct"] == (500, 500),
          str(got["stored_direct"]))
    check("with a trigger on zcrm_write_result: stored through the INSERT, the same rows, "
          "the trigger fired for each", got["stored_insert"] == (500, 500) and got.get("seen") == "500",
          "%s %s" % (got["stored_insert"], got.get("seen")))
    # a trigger that makes a request while zcrm_bulk's own are in flight
    source_table("stored_nested", 20, "stored_nested")
    psql("CREATE FUNCTION stored_nested() RETURNS trigger LANGUAGE plpgsql AS "
         "$$BEGIN PERFORM zcrm_write_job('7100000000000000001', '1000.nested.request'); "
         "RETURN NULL; END$$;"
         "CREATE TRIGGER stored_nested AFTER INSERT ON zcrm_write_result "
         "FOR EACH ROW EXECUTE FUNCTION stored_nested()")
    lifecycle({"polls_in_progress": 0})     # stored as soon as downloaded, mid-send
    try:
        out = run("SELECT count(*) FROM zcrm_write('Leads', %s, key_column => 'id', token => :'token');\n"
                  "SELECT 'still here ' || count(*) FROM zcrm_write_run;\n"
                  % psql_literal(query_of("stored_nested")), "zcrm_w_stored")
    finally:
        lifecycle({"polls_in_progress": 1})
        psql("DROP TRIGGER stored_nested ON zcrm_write_result; DROP FUNCTION stored_nested()")
    check("a trigger on zcrm_write_result that makes a request mid-send: 55000, clearly, "
          "and the backend goes on", "ERROR:  55000" in out and "while its own requests are in flight" in out
          and "still here" in out, out[-500:])


def errors_test():
    reset()
    psql("CREATE TABLE few (id integer PRIMARY KEY, last_name text, email text, company text);"
         "INSERT INTO few SELECT i, 'L' || i, 'f' || i || '@example.org', 'C' "
         "FROM generate_series(1, 30) AS i")
    out = run("CALL zcrm_write_submit('Nope', 'SELECT id, last_name AS \"Last_Name\" FROM few', "
              "key_column => 'id', connection => '%s');\n" % SERVER)
    check("module Zoho does not have: 22023 MODULE_NOT_AVAILABLE with the part and rows",
          "ERROR:  22023" in out and "Part 1 of bulk write run" in out and "rows 1 to 30" in out,
          out[-500:])
    check("module Zoho does not have: the run and its part are failed",
          psql("SELECT r.state || ' ' || j.state FROM zcrm_write_run r JOIN zcrm_write_run_job j "
               "USING (run_id) WHERE r.module = 'Nope'") == "failed failed")
    out = run("CALL zcrm_write_submit('Leads', 'SELECT id, email AS \"Email\" FROM few', "
              "key_column => 'id', connection => '%s');\n" % SERVER)
    check("mandatory fields not mapped: 22023", "ERROR:  22023" in out and "mandatory" in out.lower(),
          out[-500:])
    before = counts()
    out = run("CALL zcrm_write_submit('Leads', 'SELECT id, last_name AS \"Last_Name\", "
              "10 / (20 - id) AS \"Rating\" FROM few ORDER BY id', key_column => 'id', "
              "connection => '%s');\n" % SERVER)
    check("a query that fails at row 20: its own error (22012), nothing uploaded",
          "ERROR:  22012" in out and counts() == before, out[-300:])
    check("a query that fails: the run is recorded as failed with the error",
          psql("SELECT state || ': ' || last_error FROM zcrm_write_run ORDER BY run_id DESC LIMIT 1")
          == "failed: division by zero")
    out = run("CALL zcrm_write_submit('Leads', 'SELECT id, last_name AS \"Last_Name\" FROM few "
              "WHERE false', key_column => 'id', connection => '%s');\n" % SERVER)
    check("an empty query: a NOTICE, no job, the run completed with no parts",
          "no bulk write job was created" in out and counts() == before
          and psql("SELECT state || ' ' || parts FROM zcrm_write_run ORDER BY run_id DESC LIMIT 1")
          == "completed 0", out[-300:])
    out = run("CALL zcrm_write_submit('Leads', 'SELECT 1 AS \"Last_Name\"');\n")
    check("no connection and no default: 22023 before anything",
          "ERROR:  22023" in out and "no connection" in out, out[-300:])


def settle():
    """Wait until the local server's upload count has stood still for a
    second: an upload whose client was interrupted may still be read (it
    sits in the socket buffer) and counted after its client is gone."""
    last, since = None, time.monotonic()
    end = since + 30
    while time.monotonic() < end:
        now = lifecycle()["uploads"]
        if now != last:
            last, since = now, time.monotonic()
        elif time.monotonic() - since >= 1.0:
            return
        time.sleep(0.1)


def readme_recipe(name):
    """The SQL of the README's recipe "name" (between its markers), or None."""
    readme = open(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "README.md")).read()
    m = re.search(r"<!-- recipe: %s -->\n```sql\n(.*?)```" % re.escape(name), readme, re.S)
    return m.group(1) if m else None


def wait_for(sql, want, timeout=20):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if psql(sql) == want:
            return True
        time.sleep(0.02)
    return False


def backend_of(appname):
    return psql("SELECT pid FROM pg_stat_activity WHERE application_name = '%s' "
                "AND state = 'active'" % appname)


def last_run():
    return int(psql("SELECT max(run_id) FROM zcrm_write_run"))


def part_states(run_id):
    return psql("SELECT string_agg(state, ',' ORDER BY part) FROM zcrm_write_run_job "
                "WHERE run_id = %d" % run_id)


def resume(run_id, extra=""):
    return run("CALL zcrm_write_submit(NULL, NULL, run_id => %d%s);\n" % (run_id, extra),
               "zcrm_write_resume")


# three parts of 10 rows, sent one at a time (a group of one: the steps of
# each part in turn), or all three together (GROUP_PARTS, the default
# max_concurrency of 5: uploaded together, then created together)
GROUP_PARTS = "SET zcrm_bulk.max_part_rows = 10;\n"
SMALL_PARTS = GROUP_PARTS + "SET zcrm_bulk.max_concurrency = 1;\n"


def thirty_table():
    """The 30 rows the interrupt tests load, in three parts of 10."""
    psql("CREATE TABLE IF NOT EXISTS thirty (id integer PRIMARY KEY, last_name text, email text, company text);"
         "INSERT INTO thirty SELECT i, 'L' || i, 't' || i || '@example.org', 'C' "
         "FROM generate_series(1, 30) AS i ON CONFLICT DO NOTHING")


def interrupt_prepare_test(how="cancel"):
    reset()
    psql("CREATE TABLE IF NOT EXISTS slow (id integer PRIMARY KEY, last_name text);"
         "INSERT INTO slow SELECT i, 'L' || i FROM generate_series(1, 3000) AS i "
         "ON CONFLICT DO NOTHING")
    s = Session("CALL zcrm_write_submit('Leads', 'SELECT id, last_name AS \"Last_Name\", "
                "pg_sleep(0.005)::text AS \"Description\" FROM slow ORDER BY id', key_column => 'id', "
                "connection => '%s');\n" % SERVER, "zcrm_w_prep")
    ok = wait_for("SELECT count(*) FROM pg_stat_activity WHERE application_name = 'zcrm_w_prep' "
                  "AND wait_event = 'PgSleep'", "1")
    time.sleep(0.5)
    t0 = time.monotonic()
    psql("SELECT pg_%s_backend(pid) FROM pg_stat_activity WHERE application_name = 'zcrm_w_prep'"
         % ("cancel" if how == "cancel" else "terminate"))
    out = s.finish(30)
    took = time.monotonic() - t0
    run_id = last_run()
    check("%s mid-prepare: %s at once, the run left preparing, nothing stored or uploaded"
          % (how, "57014" if how == "cancel" else "57P01"),
          ok and ("57014" if how == "cancel" else "57P01") in out and took < 2.0
          and part_states(run_id) == ""
          and psql("SELECT state FROM zcrm_write_run WHERE run_id = %d" % run_id) == "preparing"
          and counts() == (0, 0), "%s %.2f s %s" % (ok, took, out[-300:]))
    out = resume(run_id)
    check("resume after a %s mid-prepare: 55000, the run recorded as failed, nothing uploaded" % how,
          "55000" in out and psql("SELECT state FROM zcrm_write_run WHERE run_id = %d" % run_id)
          == "failed" and counts() == (0, 0), "%s %s" % (counts(), out[-300:]))


def interrupt_upload_test(group=False):
    """Cancel mid-upload.  One part at a time, the upload is read slowly
    (the server never sees it once the client has gone, unless all of it
    is already in the socket); a group is held by the server after it has
    read the uploads, so that what the server has is known: three files,
    none of them read late by the next test."""
    reset()
    thirty_table()
    lifecycle({"call_delay_ms": 2000} if group else {"upload_read_bytes_per_s": 40})
    s = Session((GROUP_PARTS if group else SMALL_PARTS) + "CALL zcrm_write_submit('Leads', %s, key_column => 'id', "
                "connection => '%s');\n" % (psql_literal(query_of("thirty")), SERVER), "zcrm_w_up")
    run_id = None
    ok = wait_for("SELECT count(*) FROM zcrm_write_run_job j JOIN zcrm_write_run r USING (run_id) "
                  "WHERE r.state = 'sending' AND j.part = 1 AND j.state = 'uploading'", "1")
    if group:
        # the three uploads are at the server, held (the org call before them too)
        end = time.monotonic() + 15
        while lifecycle()["uploads"] - BASE[0] < 3 and time.monotonic() < end:
            time.sleep(0.05)
        ok = ok and lifecycle()["uploads"] - BASE[0] == 3
    time.sleep(0.3)
    t0 = time.monotonic()
    psql("SELECT pg_cancel_backend(pid) FROM pg_stat_activity WHERE application_name = 'zcrm_w_up'")
    out = s.finish(30)
    took = time.monotonic() - t0
    lifecycle({"upload_read_bytes_per_s": None, "call_delay_ms": None})
    settle()
    run_id = last_run()
    if group:
        label, want = "the three parts uploading together left uploading", "uploading,uploading,uploading"
    else:
        label, want = "part 1 left uploading, the others prepared", "uploading,prepared,prepared"
    check("cancel mid-upload: 57014 at once, %s, no job" % label,
          ok and "57014" in out and took < 2.0
          and part_states(run_id) == want and counts()[1] == 0,
          "%s %.2f %s %s" % (ok, took, part_states(run_id), out[-300:]))
    out = resume(run_id)
    check("resume after a cancel mid-upload%s: every part uploaded and created once"
          % (" of a group" if group else ""),
          part_states(run_id) == "created,created,created" and counts()[1] == 3
          and psql("SELECT count(DISTINCT job_id) FROM zcrm_write_run_job WHERE run_id = %d" % run_id)
          == "3", "%s %s %s" % (part_states(run_id), counts(), out[-300:]))
    if group:
        return
    out = resume(run_id)
    check("resume of a run whose parts are all created: no request at all",
          counts()[1] == 3 and part_states(run_id) == "created,created,created", out[-300:])
    state = poll_until_done(run_id)
    check("the resumed run's results: 30 rows, each matched once",
          state == "completed" and psql("SELECT count(DISTINCT row_number) FROM zcrm_write_result "
                                        "WHERE run_id = %d" % run_id) == "30")


def between_upload_and_create_test():
    """A part whose upload was committed and whose create was never started
    (a crash between the two): set up by uploading part 1's stored zip by
    hand and committing 'uploaded' with its file id, as the upload step
    does.  Resuming creates it from the stored file id without uploading it
    again."""
    reset()
    thirty_table()
    lifecycle({"upload_read_bytes_per_s": 40})
    s = Session(SMALL_PARTS + "CALL zcrm_write_submit('Leads', %s, key_column => 'id', "
                "connection => '%s');\n" % (psql_literal(query_of("thirty")), SERVER), "zcrm_w_up2")
    wait_for("SELECT count(*) FROM zcrm_write_run_job j JOIN zcrm_write_run r USING (run_id) "
             "WHERE r.run_id = (SELECT max(run_id) FROM zcrm_write_run) AND j.part = 1 "
             "AND j.state = 'uploading'", "1")
    psql("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = 'zcrm_w_up2'")
    s.finish(30)
    lifecycle({"upload_read_bytes_per_s": None})
    settle()
    run_id = last_run()
    reset()
    psql("UPDATE zcrm_write_run_job SET state = 'uploaded', "
         "file_id = zcrm_upload_file(zip, connection => '%s') WHERE run_id = %d AND part = 1"
         % (SERVER, run_id))
    check("a part left uploaded (the server has its file)", counts() == (1, 0), str(counts()))
    out = resume(run_id)
    check("resume from uploaded: part 1 created from its file id, not uploaded again; "
          "the other two uploaded and created",
          counts() == (3, 3) and part_states(run_id) == "created,created,created",
          "%s %s %s" % (counts(), part_states(run_id), out[-300:]))


def interrupt_create_test(how="terminate", group=False):
    reset()
    thirty_table()
    lifecycle({"create_reply_delay_ms": 2500})
    s = Session((GROUP_PARTS if group else SMALL_PARTS) + "CALL zcrm_write_submit('Leads', %s, key_column => 'id', "
                "connection => '%s');\n" % (psql_literal(query_of("thirty")), SERVER), "zcrm_w_cr")
    ok = wait_for("SELECT count(*) FROM zcrm_write_run_job j "
                  "WHERE j.run_id = (SELECT max(run_id) FROM zcrm_write_run) AND j.part = 1 "
                  "AND j.state = 'creating'", "1")
    time.sleep(0.3)
    psql("SELECT pg_%s_backend(pid) FROM pg_stat_activity WHERE application_name = 'zcrm_w_cr'" % how)
    s.finish(30)
    time.sleep(2.7)     # the server creates the job, then its reply finds no one
    lifecycle({"create_reply_delay_ms": None})
    run_id = last_run()
    file_id = psql("SELECT file_id FROM zcrm_write_run_job WHERE run_id = %d AND part = 1" % run_id)
    if group:
        interrupted_group(how, ok, run_id)
        return
    check("%s during the create call: part 1 left creating (the server did create it)" % how,
          ok and part_states(run_id) == "creating,prepared,prepared" and counts()[1] == 1,
          "%s %s %s" % (ok, part_states(run_id), counts()))
    out = resume(run_id)
    check("resume after a %s during create: part 1 uncertain with a WARNING naming its file id, "
          "left alone; the others created" % how,
          part_states(run_id) == "uncertain,created,created" and counts()[1] == 3
          and re.search(r"WARNING:  .*part 1 of bulk write run %d may or may not have a job" % run_id, out)
          is not None and file_id in out, "%s %s %s" % (part_states(run_id), counts(), out[-500:]))
    out = resume(run_id)
    check("resume again: the uncertain part is still left alone (no create)",
          part_states(run_id) == "uncertain,created,created" and counts()[1] == 3
          and "is uncertain and left alone" in out, out[-300:])
    out = resume(run_id, ", retry_uncertain => true")
    check("resume with retry_uncertain: part 1 uploaded and created again, on purpose",
          part_states(run_id) == "created,created,created" and counts()[1] == 4, str(counts()))


def interrupted_group(how, ok, run_id):
    """After an interrupt while a group of three parts was being created
    together: each of them may have a job, so each becomes uncertain."""
    files = psql("SELECT string_agg(file_id, ',' ORDER BY part) FROM zcrm_write_run_job "
                 "WHERE run_id = %d" % run_id).split(",")
    check("%s during the create calls of a group: the three parts left creating "
          "(the server created all three)" % how,
          ok and part_states(run_id) == "creating,creating,creating" and counts()[1] == 3,
          "%s %s %s" % (ok, part_states(run_id), counts()))
    out = resume(run_id)
    warned = all(re.search(r"WARNING:  .*part %d of bulk write run %d may or may not have a job"
                           % (p, run_id), out) for p in (1, 2, 3))
    check("resume after a %s during a group's creates: every part uncertain with a WARNING "
          "naming its file id, none created again" % how,
          part_states(run_id) == "uncertain,uncertain,uncertain" and counts()[1] == 3
          and warned and all(f in out for f in files),
          "%s %s %s" % (part_states(run_id), counts(), out[-500:]))
    out = resume(run_id, ", retry_uncertain => true")
    check("resume of the group with retry_uncertain: all three uploaded and created again, on purpose",
          part_states(run_id) == "created,created,created" and counts() == (6, 6), str(counts()))


def after_create_test():
    """Terminated after part 1's job was created, while part 2 uploads:
    resuming never creates part 1 again."""
    reset()
    thirty_table()
    lifecycle({"upload_read_bytes_per_s": 400})
    s = Session(SMALL_PARTS + "CALL zcrm_write_submit('Leads', %s, key_column => 'id', "
                "connection => '%s');\n" % (psql_literal(query_of("thirty")), SERVER), "zcrm_w_after")
    ok = wait_for("SELECT count(*) FROM zcrm_write_run_job j "
                  "WHERE j.run_id = (SELECT max(run_id) FROM zcrm_write_run) "
                  "AND (j.part, j.state) IN ((1, 'created'), (2, 'uploading'))", "2", 60)
    psql("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = 'zcrm_w_after'")
    s.finish(30)
    lifecycle({"upload_read_bytes_per_s": None})
    settle()
    run_id = last_run()
    check("terminated after part 1 was created: part 1 created, part 2 uploading, one job",
          ok and part_states(run_id) == "created,uploading,prepared" and counts()[1] == 1,
          "%s %s %s" % (ok, part_states(run_id), counts()))
    out = resume(run_id)
    check("resume after create: part 1 is never created again, parts 2 and 3 once each",
          part_states(run_id) == "created,created,created" and counts()[1] == 3,
          "%s %s %s" % (part_states(run_id), counts(), out[-300:]))


def nightly_recipe_test():
    """The README's nightly pg_cron recipe (all but the cron.schedule
    calls), taken from the README itself: the first night loads every lead,
    the second finds nothing new, the third loads only the rows added."""
    recipe = readme_recipe("nightly load")
    check("the README has the nightly recipe", recipe is not None)
    if recipe is None:
        return
    reset()
    psql("CREATE TABLE public.leads (id integer PRIMARY KEY, last_name text, email text, company text);"
         "INSERT INTO public.leads SELECT i, 'L' || i, 'n' || i || '@example.org', 'C' "
         "FROM generate_series(1, 40) AS i")
    psql("CREATE SERVER zoho_prod FOREIGN DATA WRAPPER zcrm_bulk OPTIONS (accounts_server '%s');"
         "CREATE USER MAPPING FOR PUBLIC SERVER zoho_prod OPTIONS (client_id 'x', "
         "client_secret 'y', refresh_token 'z')" % MOCK)
    # the recipe's server, through the suite's working mapping
    psql("ALTER USER MAPPING FOR PUBLIC SERVER zoho_prod OPTIONS (SET refresh_token '%s')"
         % psql("SELECT option_value FROM pg_options_to_table((SELECT umoptions FROM pg_user_mapping "
                "m JOIN pg_foreign_server s ON s.oid = m.umserver WHERE s.srvname = '%s')) "
                "WHERE option_name = 'refresh_token'" % SERVER))
    psql("ALTER USER MAPPING FOR PUBLIC SERVER zoho_prod OPTIONS (SET client_secret '%s')"
         % os.environ["ZCRM_TEST_CLIENT_SECRET"])
    psql("CREATE SCHEMA IF NOT EXISTS zcrm_bulk")
    recipe = recipe.replace("zcrm_bulk.", "public.")
    psql(recipe)
    out = run("CALL load_new_leads();\n")
    first = counts()
    out2 = run("CALL load_new_leads();\n")
    second = counts()
    psql("INSERT INTO public.leads SELECT i, 'L' || i, 'n' || i || '@example.org', 'C' "
         "FROM generate_series(41, 45) AS i")
    out3 = run("CALL load_new_leads();\n")
    third = counts()
    rows = psql("SELECT string_agg(rows::text, ',' ORDER BY run_id) FROM zcrm_write_run "
                "WHERE connection = 'zoho_prod'")
    check("nightly recipe: 40 rows the first night, none the second, the 5 new ones the third",
          first == (1, 1) and second == (1, 1) and third == (2, 2) and rows == "40,0,5"
          and "no bulk write job was created" in out2,
          "%s %s %s %s %s" % (first, second, third, rows, (out + out2 + out3)[-1500:]))


def search_path_restored_test():
    """The procedures pin search_path for their own statements and give the
    caller's back when they return (a DO block or a procedure goes on in
    the same transaction): before, the caller's next unqualified name
    failed with 42P01."""
    reset()
    psql("CREATE TABLE IF NOT EXISTS few_sp (id integer PRIMARY KEY, last_name text);"
         "INSERT INTO few_sp SELECT i, 'L' || i FROM generate_series(1, 3) AS i ON CONFLICT DO NOTHING")
    out = run("SET search_path = public;\n"
              "DO $$DECLARE r bigint; p int; c int; f int; BEGIN\n"
              "  CALL zcrm_poll_tracked_jobs('0', p, c, f);\n"
              "  RAISE NOTICE 'after poll: %', current_setting('search_path');\n"
              "  CALL zcrm_write_submit('Leads', 'SELECT id, last_name AS \"Last_Name\" FROM few_sp', "
              "key_column => 'id', connection => '" + SERVER + "', run_id => r);\n"
              "  RAISE NOTICE 'after submit: %', current_setting('search_path');\n"
              "  r := NULL;\n"
              "  CALL zcrm_write_submit('Leads', 'SELECT 1 AS \"Last_Name\" WHERE false', "
              "connection => '" + SERVER + "', run_id => r);\n"
              "  RAISE NOTICE 'after empty submit: %', current_setting('search_path');\n"
              "END $$;\n")
    check("the caller's search_path is back after the poller and after zcrm_write_submit",
          "after poll: public" in out and "after submit: public" in out
          and "after empty submit: public" in out, out[-600:])


def privileges_test(roles):
    """The README's grants let an ordinary role load rows; the poller
    collects its results as that role; another role sees none of its run."""
    grants = readme_recipe("loader grants")
    check("the README has the loader grants", grants is not None)
    if grants is None:
        return
    reset()
    roles("regress_zcrm_loader", "regress_zcrm_other")
    psql("CREATE TABLE loads (id integer PRIMARY KEY, last_name text, email text, company text);"
         "INSERT INTO loads SELECT i, 'L' || i, 'g' || i || '@example.org', 'C' "
         "FROM generate_series(1, 8) AS i;"
         "GRANT SELECT ON loads TO regress_zcrm_loader")
    for role in ("regress_zcrm_loader", "regress_zcrm_other"):
        psql(grants.replace("zoho_prod", SERVER).replace(" TO loader", " TO " + role))
    out = run("SET ROLE regress_zcrm_loader;\n"
              "CALL zcrm_write_submit('Leads', %s, key_column => 'id', connection => '%s');\n"
              % (psql_literal(query_of("loads")), SERVER))
    m2 = re.search(r"^(\d+)$", out, re.M)
    run_id = int(m2.group(1)) if m2 else None
    check("an ordinary role with the README's grants submits a run", run_id is not None, out[-400:])
    if run_id is None:
        return
    state = poll_until_done(run_id)
    mine = psql("SET ROLE regress_zcrm_loader; SELECT count(*) FROM zcrm_write_result "
                "WHERE run_id = %d AND status = 'added'" % run_id).splitlines()[-1]
    theirs = psql("SET ROLE regress_zcrm_other; SELECT count(*) FROM zcrm_write_run r "
                  "FULL JOIN zcrm_write_result w USING (run_id) WHERE run_id = %d"
                  % run_id).splitlines()[-1]
    check("the poller collects the role's results; the role reads them, another role sees nothing",
          state == "completed" and mine == "8" and theirs == "0", "%s %s %s" % (state, mine, theirs))
    # deleting a run deletes its parts (foreign key) and their source and
    # result rows (the trigger on zcrm_write_run_job), and nothing else
    count = ("SELECT (SELECT count(*) FROM zcrm_write_source WHERE run_id %s %d) || ',' || "
             "(SELECT count(*) FROM zcrm_write_result WHERE run_id %s %d)")
    if psql(count % ("<>", run_id, "<>", run_id)) == "0,0":
        # selected alone: a second run of the same rows (its rows must stay)
        other, _ = submit(query_of("loads"))
        if other is not None:
            poll_until_done(other)
    others = psql(count % ("<>", run_id, "<>", run_id))
    before = psql(count % ("=", run_id, "=", run_id))
    psql("DELETE FROM zcrm_write_run WHERE run_id = %d" % run_id)
    check("deleting a run deletes its source and result rows, and no other run's",
          before == "8,8" and psql(count % ("=", run_id, "=", run_id)) == "0,0"
          and psql(count % ("<>", run_id, "<>", run_id)) == others and others != "0,0",
          "%s %s" % (before, others))


def interrupt_create_cancel_test():
    interrupt_create_test("cancel")


def concurrent_send_test():
    """A group of three parts is uploaded together and created together:
    while the parts are uploading and while they are creating (the server
    delays every lifecycle call), the server has three requests in flight
    at once."""
    reset()
    thirty_table()
    lifecycle({"call_delay_ms": 1500})
    before = int(psql("SELECT coalesce(max(run_id), 0) FROM zcrm_write_run"))
    s = Session(GROUP_PARTS + "CALL zcrm_write_submit('Leads', %s, key_column => 'id', "
                "connection => '%s');\n" % (psql_literal(query_of("thirty")), SERVER), "zcrm_w_conc")
    seen = {"uploading": 0, "creating": 0}
    end = time.monotonic() + 30
    while time.monotonic() < end:
        flying = mock_admin("/__admin/stats")["in_flight"]
        # (only the new run: the one before is all created)
        states = psql("SELECT string_agg(DISTINCT j.state, ',') FROM zcrm_write_run_job j "
                      "WHERE j.run_id = (SELECT max(run_id) FROM zcrm_write_run) "
                      "AND j.run_id > %d" % before)
        if states in seen:
            seen[states] = max(seen[states], flying)
        if states == "created":
            break
        time.sleep(0.02)
    out = s.finish(30)
    lifecycle({"call_delay_ms": None})
    run_id = last_run()
    check("the three parts of a group: uploaded together and created together (3 requests in flight)",
          seen == {"uploading": 3, "creating": 3} and part_states(run_id) == "created,created,created"
          and counts() == (3, 3), "%s %s %s" % (seen, counts(), out[-300:]))


def prefetch_test():
    """The org call is made in the background while the rows are prepared.
    In a new session (nothing cached): after zcrm_write_step_prefetch(),
    the org request reaches the server while zcrm_write_step_prepare() is
    still turning 60,000 rows into CSV and zips; and zcrm_write() and
    zcrm_write_submit() each make one org call, not two."""
    reset()
    query = ("SELECT g AS id, 'Name ' || g AS \"Last_Name\", 'q' || g || '.%s@example.org' AS \"Email\", "
             "md5(g::text) AS \"Description\" FROM generate_series(1, %d) AS g")
    seen = len(mock_admin("/__admin/requests"))
    stamp = "to_char(clock_timestamp() AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.MS\"Z\"')"
    out = run("SELECT zcrm_write_step_prefetch(:'token', NULL);\n"
              "SELECT 'prepare from ' || %s;\n"
              "SELECT zcrm_write_step_prepare(zcrm_write_new_run('Leads', 'q', 'insert', NULL, 'id', "
              "NULL, true, false), %s, NULL);\n"
              "SELECT 'prepare to ' || %s;\n" % (stamp, psql_literal(query % ("pre", 60000)), stamp),
              "zcrm_w_prefetch")
    orgs = [r for r in mock_admin("/__admin/requests")[seen:] if r.get("path", "").endswith("/org")]
    a, b = re.search(r"prepare from (\S+)", out), re.search(r"prepare to (\S+)", out)
    check("the org call in the background reaches the server while the rows are prepared",
          a is not None and b is not None and len(orgs) == 1 and a.group(1) < orgs[0]["time"] < b.group(1),
          "%s %s %s %s" % (a and a.group(1), b and b.group(1), [o.get("time") for o in orgs], out[-300:]))
    # (the run prepared by hand is never sent: drop it, or the nightly
    # recipe would try to resume it)
    psql("DELETE FROM zcrm_write_run WHERE state = 'prepared' AND connection IS NULL")
    new_org_key()       # (earlier runs through SERVER recorded its org id)
    for how, call in (("zcrm_write", "SELECT count(*) FROM zcrm_write('Leads', %s, key_column => 'id', "
                       "token => :'token');\n"),
                      ("zcrm_write_submit", "CALL zcrm_write_submit('Leads', %s, key_column => 'id', "
                       "connection => '" + SERVER + "');\n")):
        seen = len(mock_admin("/__admin/requests"))
        out = run(call % psql_literal(query % (how, 30)), "zcrm_w_prefetch")
        orgs = [r for r in mock_admin("/__admin/requests")[seen:] if r.get("path", "").endswith("/org")]
        check("%s in a new session: one org call" % how, len(orgs) == 1 and "ERROR" not in out,
              "%d %s" % (len(orgs), out[-300:]))


# The local server's organisation id (test/server/lifecycle.py ZGID).
ZGID = "808232144"


def new_org_key(mapping=False):
    """Make SERVER's org id key new: ALTER SERVER (its version), or with
    mapping ALTER USER MAPPING (an option set to the value it has)."""
    if mapping:
        psql("DO $$BEGIN EXECUTE format('ALTER USER MAPPING FOR PUBLIC SERVER %%I OPTIONS (SET client_id %%L)', "
             "'%s', (SELECT o.option_value FROM pg_user_mapping AS m JOIN pg_foreign_server AS s "
             "ON s.oid = m.umserver, pg_options_to_table(m.umoptions) AS o "
             "WHERE s.srvname = '%s' AND m.umuser = 0 AND o.option_name = 'client_id')); END$$"
             % (SERVER, SERVER))
    else:
        psql("ALTER SERVER %s VERSION '%s'" % (SERVER, os.urandom(4).hex()))


def org_calls_of(how, rows):
    """Submit a run of rows through SERVER in a new session; return its
    run id, the org calls it made and its org_id."""
    query = ("SELECT g AS id, 'Name ' || g AS \"Last_Name\", 'o' || g || '.%s.%s@example.org' AS \"Email\" "
             "FROM generate_series(1, %d) AS g" % (how, os.urandom(3).hex(), rows))
    seen = len(mock_admin("/__admin/requests"))
    run_id, out = submit(query, appname="zcrm_w_org")
    orgs = [r for r in mock_admin("/__admin/requests")[seen:] if r.get("path", "").endswith("/org")]
    org_id = psql("SELECT coalesce(org_id, 'NULL') FROM zcrm_write_run WHERE run_id = %d" % run_id) \
        if run_id else None
    return run_id, len(orgs), org_id, out


def org_remembered_test():
    """A run through a connection records the org id its uploads were
    accepted with; a run in a later session through the same server and
    user mapping sends it without the org call.  ALTER SERVER or ALTER
    USER MAPPING makes the org call again; a recorded value that is not
    an org id (a run's row is its submitter's to change) is never sent."""
    reset()
    new_org_key()
    r1, n1, o1, out1 = org_calls_of("first", 5)
    check("the first run after ALTER SERVER makes one org call and records its answer",
          r1 is not None and n1 == 1 and o1 == ZGID, "%s %s %s %s" % (r1, n1, o1, out1[-300:]))
    key = psql("SELECT org_key FROM zcrm_write_run WHERE run_id = %d" % r1) if r1 else ""
    check("the run's org_key names the server, the user mapping and the API domain, no secret",
          re.fullmatch(r"\d+\.\d+/\d+\.\d+ http://127\.0\.0\.1:\d+", key or "") is not None, key)
    r2, n2, o2, out2 = org_calls_of("second", 5)
    check("a run in a new session through the same server: no org call, the same org id sent",
          r2 is not None and n2 == 0 and o2 == ZGID and "ERROR" not in out2,
          "%s %s %s %s" % (r2, n2, o2, out2[-300:]))
    new_org_key(mapping=True)
    r3, n3, o3, out3 = org_calls_of("mapping", 5)
    check("after ALTER USER MAPPING: the org call again", r3 is not None and n3 == 1 and o3 == ZGID,
          "%s %s %s %s" % (r3, n3, o3, out3[-300:]))
    psql("UPDATE zcrm_write_run SET org_id = E'808232144\\r\\nX-Evil: 1' WHERE run_id = %d" % r3)
    r4, n4, o4, out4 = org_calls_of("tampered", 5)
    check("a recorded org id that is not digits is not sent: the org call instead",
          r4 is not None and n4 == 1 and o4 == ZGID and "ERROR" not in out4,
          "%s %s %s %s" % (r4, n4, o4, out4[-300:]))
    headers = [u.get("x_crm_org") for u in lifecycle().get("upload_requests", [])[-4:]]
    check("every upload of these runs went with the org call's X-CRM-ORG",
          headers == [ZGID] * 4, str(headers))
    # freezing the catalog rows keeps the key (the raw xmin, not the frozen one)
    key4 = psql("SELECT org_key FROM zcrm_write_run WHERE run_id = %d" % r4) if r4 else ""
    psql("VACUUM (FREEZE) pg_catalog.pg_user_mapping")
    psql("VACUUM (FREEZE) pg_catalog.pg_foreign_server")
    r5, n5, o5, out5 = org_calls_of("frozen", 5)
    key5 = psql("SELECT org_key FROM zcrm_write_run WHERE run_id = %d" % r5) if r5 else ""
    check("after VACUUM FREEZE of the catalogs: the same key, no org call",
          r5 is not None and n5 == 0 and key5 == key4 and o5 == ZGID, "%s %s %s %s" % (n5, key4, key5, o5))
    # another role's run is never taken, even one the user may see
    psql("INSERT INTO zcrm_write_run (submitted_by, connection, module, operation, state, org_key, org_id) "
         "VALUES ('pg_monitor', '%s', 'Leads', 'insert', 'completed', '%s', '999')" % (SERVER, key5))
    r6, n6, o6, out6 = org_calls_of("other_role", 5)
    check("a run of another role with the same key is not taken: the user's own org id is sent",
          r6 is not None and n6 == 0 and o6 == ZGID and "ERROR" not in out6,
          "%s %s %s" % (n6, o6, out6[-300:]))
    psql("DELETE FROM zcrm_write_run WHERE submitted_by = 'pg_monitor'::regrole")
    # a remembered org id that Zoho refuses: the run fails and records none,
    # the session forgets it, and its next run asks Zoho again
    psql("UPDATE zcrm_write_run SET org_id = '999' WHERE run_id = %d" % r6)
    seen = len(mock_admin("/__admin/requests"))
    query = ("SELECT g AS id, 'Name ' || g AS \"Last_Name\", 'o' || g || '.%s.%s@example.org' AS \"Email\" "
             "FROM generate_series(1, 5) AS g")
    out = run("CALL zcrm_write_submit('Leads', %s, key_column => 'id', connection => '%s');\n"
              "CALL zcrm_write_submit('Leads', %s, key_column => 'id', connection => '%s');\n"
              % (psql_literal(query % ("refused", os.urandom(3).hex())), SERVER,
                 psql_literal(query % ("again", os.urandom(3).hex())), SERVER), "zcrm_w_org")
    orgs = [r for r in mock_admin("/__admin/requests")[seen:] if r.get("path", "").endswith("/org")]
    last2 = psql("SELECT string_agg(state || ':' || coalesce(org_id, 'NULL'), ',' ORDER BY run_id) "
                 "FROM (SELECT * FROM zcrm_write_run ORDER BY run_id DESC LIMIT 2) AS x")
    check("a remembered org id Zoho refuses: that run fails recording none, the same session's "
          "next run makes the org call and goes through",
          "INVALID_REQUEST" in out and len(orgs) == 1 and last2 == "failed:NULL,submitted:%s" % ZGID,
          "%d %s %s" % (len(orgs), last2, out[-400:]))


def poller_collects_together_test():
    """The poller collects the finished jobs of one run together: when it
    finds the three jobs of a run finished in the same poll, it fetches
    them again together and then downloads the three result files
    together (one after another job by job would interleave fetches and
    downloads)."""
    reset()
    thirty_table()
    # the jobs earlier tests left unfinished are collected first
    for _ in range(10):
        if psql("SELECT count(*) FROM zcrm_tracked_job WHERE finished_at IS NULL") == "0":
            break
        psql("CALL zcrm_poll_tracked_jobs('0')")
    out = run(GROUP_PARTS + "CALL zcrm_write_submit('Leads', %s, key_column => 'id', "
              "connection => '%s');\n" % (psql_literal(query_of("thirty")), SERVER))
    run_id = last_run()
    seen = len(mock_admin("/__admin/requests"))
    state = poll_until_done(run_id)
    kinds = []
    fetches = {}
    for r in mock_admin("/__admin/requests")[seen:]:
        path = r.get("path", "")
        if "bulk-write" in path:
            kinds.append("download")
        elif "/crm/bulk/" in path and "/write/" in path:
            kinds.append("fetch")
            fetches[path.rsplit("/", 1)[-1]] = fetches.get(path.rsplit("/", 1)[-1], 0) + 1
    last = "".join("d" if k == "download" else "f" for k in kinds)
    check("the poller collects a run's three finished jobs together: fetched together, then "
          "their three result files downloaded together",
          state == "completed" and last.endswith("fffddd") and last.count("d") == 3,
          "%s %s %s" % (state, last, out[-300:]))
    # (the server answers a job's first poll INPROGRESS, its second COMPLETED)
    check("the poller's fetch that found the jobs finished is what they are collected from: "
          "each job fetched twice, not three times",
          sorted(fetches.values()) == [2, 2, 2], str(fetches))


def concurrent_collect_test():
    """Two sessions collecting the same finished part at once store its
    results once: the second waits for the first (the part's row is
    locked) and finds the part completed."""
    reset()
    thirty_table()
    run("CALL zcrm_write_submit('Leads', %s, key_column => 'id', connection => '%s');\n"
        % (psql_literal(query_of("thirty").replace("@example.org", "@cc.example.org")), SERVER))
    run_id = last_run()
    job = psql("SELECT job_id FROM zcrm_write_run_job WHERE run_id = %d" % run_id)
    # poll the job until the server has finished it, without collecting it
    for _ in range(10):
        if psql("SELECT status FROM zcrm_write_job('%s', connection => '%s')" % (job, SERVER)) == "COMPLETED":
            break
    lifecycle({"call_delay_ms": 500})
    collect = ("SELECT collected, result_rows FROM zcrm_write_step_collect(%d, ARRAY[1], NULL, '%s');\n"
               % (run_id, SERVER))
    a = Session(collect, "zcrm_w_cc1")
    b = Session(collect, "zcrm_w_cc2")
    out = a.finish(30) + b.finish(30)
    lifecycle({"call_delay_ms": None})
    stored = psql("SELECT count(*) || ',' || count(DISTINCT result_row) FROM zcrm_write_result "
                  "WHERE run_id = %d" % run_id)
    check("two sessions collecting one part at once: its 30 results stored once",
          stored == "30,30" and out.count("t|30") == 2 and "ERROR" not in out,
          "%s %s" % (stored, out[-400:]))


def interrupt_upload_group_test():
    interrupt_upload_test(group=True)


def interrupt_create_group_test():
    interrupt_create_test("cancel", group=True)


def terminate_prepare_test():
    interrupt_prepare_test("terminate")
