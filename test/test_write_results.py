"""zcrm_write_job_results() on jobs created by hand through the local
server's Bulk Write lifecycle (test/server/lifecycle.py): the org call, a
multipart upload of a zip made here with zipfile, the create call, polls,
then the SQL function.

Covers every row STATUS (added; updated by an upsert; skipped with
MANDATORY_NOT_FOUND, INVALID_DATA and DUPLICATE_DATA, alone and together;
unprocessed after fail_after), the errors and columns jsonb, relative and
absolute download URLs, a shuffled file, values that need CSV quoting, a job
not complete yet (55000 naming its status), a connection instead of a
token, a download answered INVALID_TOKEN (refreshed once through a
connection), every broken result file of the server's result_variant (not a zip,
truncated, zip bombs, no STATUS column, bad CSV, no entry, an entry of
another name, a ragged row, an encrypted entry), the two size caps, flat
backend memory over repeated calls, and no token in any output.  Needs the
cluster and local server of scripts/test.sh.  Prints "N passed, N failed".
"""

import gzip
import io
import json
import os
import re
import urllib.error
import urllib.request
import zipfile

import pytest

from zcrmtest import RUN_NONCE, Session, check, create_server, mock_admin

TOKEN = os.environ["ZCRM_TEST_TOKEN"]
BASE = "http://127.0.0.1:%s" % os.environ.get("ZCRM_MOCK_PORT", "18089")
OUTPUTS = []            # every psql output, for the token check


@pytest.fixture(scope="module", autouse=True)
def lifecycle_defaults(database):
    """After the module, the local server's lifecycle settings are put back
    to their defaults."""
    yield
    try:
        reset()
    except OSError:
        pass


def api(method, path, body=None, headers=None):
    """One request to the local server as a Zoho client would make it;
    returns (status, parsed JSON body)."""
    h = {"Authorization": "Zoho-oauthtoken " + TOKEN}
    h.update(headers or {})
    req = urllib.request.Request(BASE + path, data=body, method=method, headers=h)
    try:
        with urllib.request.urlopen(req, timeout=10) as r:
            return r.status, body_json(r)
    except urllib.error.HTTPError as e:
        return e.code, body_json(e)


def body_json(r):
    data = r.read()
    if r.headers.get("Content-Encoding") == "gzip":
        data = gzip.decompress(data)
    return json.loads(data or b"null")


def lifecycle(changes):
    req = urllib.request.Request(BASE + "/__admin/lifecycle", data=json.dumps(changes).encode(),
                                 method="POST")
    with urllib.request.urlopen(req, timeout=10) as r:
        return json.load(r)


def reset(**changes):
    mock_admin("/__admin/reset", "POST")
    if changes:
        lifecycle(changes)


def csv_text(rows):
    """RFC 4180 CSV of rows (lists of str), CRLF, quoting what needs it."""
    def field(v):
        return '"%s"' % v.replace('"', '""') if re.search(r'[",\r\n]', v) else v
    return "".join(",".join(field(v) for v in row) + "\r\n" for row in rows)


def create_job(rows, module="Leads", operation="insert", find_by=None, name="part1.csv"):
    """Upload rows (header first) as a zipped CSV and create a job of it;
    returns the job id.  The org call gives the X-CRM-ORG header."""
    status, org = api("GET", "/crm/v8/org")
    assert status == 200, org
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr(name, csv_text(rows))
    boundary = "zcrmresultstestboundary"
    body = (("--%s\r\nContent-Disposition: form-data; name=\"file\"; filename=\"part.zip\"\r\n"
             "Content-Type: application/zip\r\n\r\n" % boundary).encode()
            + buf.getvalue() + ("\r\n--%s--\r\n" % boundary).encode())
    status, up = api("POST", "/crm/v8/upload", body,
                     {"Content-Type": "multipart/form-data; boundary=" + boundary,
                      "feature": "bulk-write", "X-CRM-ORG": org["org"][0]["zgid"]})
    assert status == 200 and up.get("code") == "FILE_UPLOAD_SUCCESS", up
    resource = {"type": "data", "module": {"api_name": module},
                "file_id": up["details"]["file_id"],
                "field_mappings": [{"api_name": h, "index": i} for i, h in enumerate(rows[0])]}
    if find_by:
        resource["find_by"] = find_by
    status, doc = api("POST", "/crm/bulk/v8/write",
                      json.dumps({"operation": operation, "resource": [resource]}).encode(),
                      {"Content-Type": "application/json"})
    assert status == 201, doc
    return doc["details"]["id"]


def finish(job_id):
    """Poll the job by hand until it is COMPLETED or FAILED; its status."""
    for _ in range(20):
        status, doc = api("GET", "/crm/bulk/v8/write/" + job_id)
        if doc["status"] in ("COMPLETED", "FAILED"):
            return doc["status"]
    raise AssertionError("job %s never finished" % job_id)


def sql(script):
    """Run a psql script (the token as :'token'); returns its output."""
    out = Session(script, "zcrm_results_test").finish(timeout=120)
    OUTPUTS.append(out)
    return out


def results(job_id, args=":'token'", prelude=""):
    """zcrm_write_job_results(job_id) as a list of dicts, or the error's
    (sqlstate, message) line."""
    out = sql(prelude + "SELECT coalesce(jsonb_agg(r ORDER BY r.resource_index, r.row_number), '[]') "
              "FROM zcrm_write_job_results('%s', %s) AS r;\n" % (job_id, args))
    m = re.search(r"^ERROR:\s+([0-9A-Z]{5}): (.*)$", out, re.M)
    if m:
        return (m.group(1), out)
    for line in out.splitlines():
        if line.startswith("["):
            return json.loads(line)
    raise AssertionError("no result in: " + out)


LEADS = [["Last_Name", "Email", "Company"],
         ["Smith", "smith@example.com", "Acme"],
         ["", "nobody@example.com", "Acme"],
         ["Jones", "not-an-address", "Initech"],
         ["Twin", "smith@example.com", "Acme"],
         ["", "bad", "Both"]]


def statuses_test():
    """added, skipped for each reason (one with two errors), updated by an
    upsert, unprocessed after fail_after: status, record_id, errors,
    columns, row_number, resource_index and module of every row."""
    reset()
    job = create_job(LEADS)
    finish(job)
    rows = results(job)
    ok = isinstance(rows, list) and len(rows) == 5
    check("insert job: one row per row of the file", ok, repr(rows)[:300])
    if not ok:
        return
    want = [("added", None), ("skipped", [{"code": "MANDATORY_NOT_FOUND", "fields": ["Last_Name"]}]),
            ("skipped", [{"code": "INVALID_DATA", "fields": ["Email"]}]),
            ("skipped", [{"code": "DUPLICATE_DATA", "fields": ["Email"]}]),
            ("skipped", [{"code": "MANDATORY_NOT_FOUND", "fields": ["Last_Name"]},
                         {"code": "INVALID_DATA", "fields": ["Email"]}])]
    got = [(r["status"], r["errors"]) for r in rows]
    check("statuses and errors jsonb of an insert", got == want, repr(got))
    check("record_id: 19 digits when added, NULL when skipped",
          re.fullmatch(r"[0-9]{19}", rows[0]["record_id"] or "") is not None
          and all(r["record_id"] is None for r in rows[1:]), repr([r["record_id"] for r in rows]))
    check("columns: the echoed input columns by header name",
          [r["columns"] for r in rows] == [dict(zip(LEADS[0], v)) for v in LEADS[1:]],
          repr([r["columns"] for r in rows]))
    check("job_id, resource_index 0, module Leads, row_number 1..5",
          [(r["job_id"], r["resource_index"], r["resource_module"], r["row_number"]) for r in rows]
          == [(job, 0, "Leads", n) for n in range(1, 6)], repr(rows[0]))
    first_id = rows[0]["record_id"]

    job = create_job([["Last_Name", "Email"], ["Smith", "smith@example.com"], ["New", "new@example.com"]],
                     operation="upsert", find_by="Email")
    finish(job)
    rows = results(job)
    check("upsert: an existing record is updated (same record id), a new one added",
          [(r["status"], r["record_id"] == first_id, r["errors"]) for r in rows]
          == [("updated", True, None), ("added", False, None)], repr(rows))

    job = create_job([["Deal_Name", "Stage", "Amount"], ["", "", "5"], ["Big", "Won", "9"]], module="Deals")
    finish(job)
    rows = results(job)
    check("several columns of one error: fields in order; module Deals",
          [(r["status"], r["errors"], r["resource_module"]) for r in rows]
          == [("skipped", [{"code": "MANDATORY_NOT_FOUND", "fields": ["Deal_Name", "Stage"]}], "Deals"),
              ("added", None, "Deals")], repr(rows))

    lifecycle({"fail_after": 2})
    job = create_job([["Last_Name", "Email"]] + [["N%d" % i, "n%d@example.com" % i] for i in range(4)])
    status = finish(job)
    rows = results(job)
    check("a FAILED job with a result: the rows after fail_after are unprocessed",
          status == "FAILED" and [r["status"] for r in rows] == ["added", "added", "unprocessed", "unprocessed"]
          and rows[3]["record_id"] is None and rows[3]["errors"] is None, "%s %r" % (status, rows))


def not_complete_test():
    """A job still INPROGRESS is 55000 naming its status; once done, rows."""
    reset(polls_in_progress=2)
    job = create_job(LEADS[:3])
    got = results(job)
    check("INPROGRESS job: 55000 naming its status",
          isinstance(got, tuple) and got[0] == "55000" and "is not complete" in got[1]
          and "Its status is INPROGRESS." in got[1] and "zcrm_write_job_wait" in got[1], repr(got))
    results(job)        # the second poll: still INPROGRESS
    rows = results(job)
    check("the same job once COMPLETED: its rows", isinstance(rows, list) and len(rows) == 2, repr(rows))


def download_url_test():
    """Relative and absolute download_url, both fetched with the token."""
    for absolute in (False, True):
        reset(absolute_download_url=absolute)
        job = create_job(LEADS[:3])
        finish(job)
        _, doc = api("GET", "/crm/bulk/v8/write/" + job)
        url = doc["result"]["download_url"]
        before = len(mock_admin("/__admin/requests"))
        rows = results(job)
        log = [r for r in mock_admin("/__admin/requests")[before:] if r["scenario"] == "result"]
        check("%s download_url (%s): rows, the zip fetched once with the token"
              % ("absolute" if absolute else "relative", url[:30]),
              url.startswith(BASE if absolute else "/v") and isinstance(rows, list) and len(rows) == 2
              and len(log) == 1 and log[0]["auth"] == "ok", "%r %r" % (rows, log))


def shuffled_test():
    """A shuffled result file: each row keeps its own values and status."""
    reset(shuffle=True)
    data = [["Last_Name", "Email", "Company"]]
    for i in range(40):
        data.append(["" if i % 5 == 0 else "N%02d" % i, "n%02d@example.com" % i, "C%02d" % i])
    job = create_job(data)
    finish(job)
    rows = results(job)
    companies = [r["columns"]["Company"] for r in rows] if isinstance(rows, list) else []
    check("shuffled: the file is not in input order", companies != sorted(companies) and
          sorted(companies) == ["C%02d" % i for i in range(40)], repr(companies[:5]))
    right = all((r["status"] == "skipped") == (r["columns"]["Last_Name"] == "") and
                r["columns"]["Email"] == "n%s@example.com" % r["columns"]["Company"][1:]
                for r in rows)
    check("shuffled: every row's status goes with its own echoed values", right and
          [r["row_number"] for r in rows] == list(range(1, 41)), repr(rows[:2]))


def quoting_test():
    """Values that need quoting come back exactly, UTF-8 included."""
    reset()
    names = ['O"Brien, Jr.', "two\r\nlines", "Zoë Ōkubo 日本 😀", "semi;colon", " padded "]
    data = [["Last_Name", "Email", "Company"]] + [[n, "q%d@example.com" % i, "c,%d" % i]
                                                  for i, n in enumerate(names)]
    job = create_job(data)
    finish(job)
    rows = results(job)
    check("quoted values, embedded CR LF and UTF-8 echoed exactly",
          isinstance(rows, list) and [r["columns"]["Last_Name"] for r in rows] == names
          and [r["columns"]["Company"] for r in rows] == ["c,%d" % i for i in range(5)], repr(rows))


def connection_test():
    """A connection instead of a token."""
    create_server("zcrm_results_conn", "'1000.rt.' || :'rt'")
    reset()
    job = create_job(LEADS[:2])
    finish(job)
    rows = results(job, "connection => 'zcrm_results_conn'")
    check("through a connection (refreshed token)", isinstance(rows, list) and len(rows) == 1
          and rows[0]["status"] == "added", repr(rows))


def download_refresh_test():
    """The access token expires between the job's fetch and its result's
    download (the server's result_fault revokes it as it answers the download
    INVALID_TOKEN): through a connection, the token is refreshed once and the
    download made again, so the rows come back; with a token, the error is
    28000, as for any call."""
    create_server("zcrm_results_dl", "'1000.rt.dl.%s.' || :'rt'" % RUN_NONCE)
    reset()
    job = create_job(LEADS[:2])
    finish(job)
    first = results(job, "connection => 'zcrm_results_dl'")
    before = len(mock_admin("/__admin/requests"))
    lifecycle({"result_fault": "revoke_token"})
    rows = results(job, "connection => 'zcrm_results_dl'")
    log = [e for e in mock_admin("/__admin/requests")[before:] if e.get("event") != "end"]
    kinds = [e.get("scenario") if e.get("kind") != "token" else "token" for e in log]
    check("download answered INVALID_TOKEN: one refresh, the download again, the rows",
          isinstance(first, list) and rows == first
          and kinds.count("token") == 1 and kinds.count("result_fault:revoke_token") == 1
          and kinds.index("result_fault:revoke_token") < kinds.index("token")
          < len(kinds) - 1 - kinds[::-1].index("result"),
          "%r; %r" % (kinds, rows))
    lifecycle({"result_fault": "revoke_token"})
    err = results(job)
    check("with a token the same download is 28000",
          isinstance(err, tuple) and err[0] == "28000", repr(err)[:300])


VARIANTS = [
    ("not_zip", "22P03", "is not a valid zip archive"),
    ("truncated", "22P03", "is not a valid zip archive"),
    ("bomb", "54000", "declares 83886080 bytes"),
    # minizip inflates no more than the declared size: a lying entry fails its CRC
    ("bomb_lying", "22P03", "fails its CRC-32 check"),
    ("no_status", "22000", "the header has no STATUS column"),
    ("bad_csv", "22P04", "quoted field never ends"),
    ("only_directory", "22000", "holds no CSV file"),
    ("encrypted", "0A000", "encrypted"),
]


def broken_files_test():
    """Each broken result file of the server's result_variant is a clear
    error with its own SQLSTATE; the recoverable ones give rows."""
    reset()
    job = create_job(LEADS[:3])
    finish(job)
    for variant, state, needle in VARIANTS:
        lifecycle({"result_variant": variant})
        got = results(job)
        check("result_variant %s: %s" % (variant, state),
              isinstance(got, tuple) and got[0] == state and needle in got[1], repr(got)[:400])
    lifecycle({"result_variant": "renamed"})
    rows = results(job)
    check("an entry of another name (after a directory entry) goes to the resource by order",
          isinstance(rows, list) and len(rows) == 2 and rows[0]["resource_index"] == 0
          and rows[0]["resource_module"] == "Leads", repr(rows))
    lifecycle({"result_variant": "ragged"})
    out = sql("SELECT r.row_number, r.status, r.columns FROM zcrm_write_job_results('%s', :'token') AS r "
              "ORDER BY r.row_number;\n" % job)
    check("a ragged row: a WARNING with the count, and the row read with empty fields",
          "WARNING:  01000: result file of bulk write job %s has 1 rows whose field count" % job in out
          and '3||{"Email": "", "Company": "", "Last_Name": "short"}' in out, out)
    lifecycle({"result_variant": None})


def caps_test():
    """zcrm_bulk.max_result_size and max_result_uncompressed_size."""
    reset()
    data = [["Last_Name", "Email", "Company"]] + [["N%d" % i, "n%d@example.com" % i, os.urandom(8).hex()]
                                                  for i in range(300)]
    job = create_job(data)
    finish(job)
    got = results(job, prelude="SET zcrm_bulk.max_result_size = '2kB';\n")
    check("a zip over zcrm_bulk.max_result_size: 54000, aborted",
          isinstance(got, tuple) and got[0] == "54000" and "larger than zcrm_bulk.max_result_size" in got[1]
          and "aborted after 2048 bytes" in got[1], repr(got)[:400])
    got = results(job, prelude="SET zcrm_bulk.max_result_uncompressed_size = '4kB';\n")
    check("a CSV over zcrm_bulk.max_result_uncompressed_size: 54000 before inflating",
          isinstance(got, tuple) and got[0] == "54000" and "more than the limit of 4096" in got[1],
          repr(got)[:400])
    rows = results(job)
    check("the same job with the default caps: 300 rows", isinstance(rows, list) and len(rows) == 300,
          repr(rows)[:200])


def memory_test():
    """Backend memory stays flat over 200 successful and 200 failed calls
    (the parsed files and inflated entries live in malloc)."""
    reset()
    data = [["Last_Name", "Email", "Company"]] + [["N%d" % i, "n%d@example.com" % i, "x" * 40]
                                                  for i in range(500)]
    job = create_job(data)
    finish(job)
    call = "SELECT count(*) FROM zcrm_write_job_results('%s', :'token');\n" % job
    bad = ("DO $$ BEGIN PERFORM count(*) FROM zcrm_write_job_results('%s', current_setting('my.token'));"
           " EXCEPTION WHEN data_exception THEN NULL; END $$;\n" % job)
    rss = ("SELECT 'rss=' || (regexp_match(pg_read_file('/proc/' || pg_backend_pid() || '/status'),"
           " 'VmRSS:\\s+(\\d+)'))[1];\n")
    script = ("SELECT set_config('my.token', :'token', false) IS NOT NULL AS set;\n" + call * 20 + rss
              + call * 200 + "SELECT pg_catalog.pg_sleep(0);\n" + rss)
    out = sql(script)
    lifecycle({"result_variant": "no_status"})
    out2 = sql("SELECT set_config('my.token', :'token', false) IS NOT NULL AS set;\n" + bad * 20 + rss
               + bad * 200 + rss)
    lifecycle({"result_variant": None})
    for label, text, calls in (("successful", out, "500"), ("failed", out2, None)):
        vals = [int(v) for v in re.findall(r"^rss=(\d+)$", text, re.M)]
        grew = vals[1] - vals[0] if len(vals) == 2 else None
        print("# %s calls: backend RSS %s kB" % (label, vals))
        check("200 %s calls: backend RSS grows by less than 4 MB" % label,
              grew is not None and grew < 4096 and (calls is None or text.count(calls) >= 220),
              "%r" % vals)


def no_token_test():
    # Selected alone (pytest -k), it first runs the module's calls, for
    # outputs to scan (their checks count).
    for test in (statuses_test, not_complete_test, download_url_test, shuffled_test,
                 quoting_test, connection_test, broken_files_test, caps_test):
        if len(OUTPUTS) > 20:
            break
        test()
    check("no access token in any output of this suite (%d outputs)" % len(OUTPUTS),
          all(TOKEN not in o for o in OUTPUTS) and len(OUTPUTS) > 20)
