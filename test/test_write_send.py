"""The org, upload and create calls (zcrm_upload_file, zcrm_create_write_job)
against the local Zoho API server.

The server's lifecycle (test/server/lifecycle.py) checks what it is sent:
the upload's headers and multipart part, the create body per API version;
its request log and /__admin/lifecycle count what arrived.  Asserted:
  1. an upload returns the file id, sent as a string or as a 19-digit JSON
     number (exact digits; a double would round them);
  2. an upload error comes as HTTP 200 or as 4xx: the same SQL error, with
     the API's code, message and a hint; FILE_TOO_LARGE is 54000;
  3. the upload carries feature: bulk-write, X-CRM-ORG, a part named "file"
     with a file name and no Content-Type, and no Expect header (even past
     1 MB); the server refuses an upload without the headers (shown with a
     request made by hand);
  4. the org call is made once for many uploads in a backend, per token and
     per connection, and again after ALTER USER MAPPING and ALTER SERVER;
  5. a create for API v2 sends "module" as a string, for v8 as an object,
     with operation, ignore_empty, character_encoding, file_id, find_by
     and field_mappings; it returns the job id;
  6. each create error the server can produce gives its SQLSTATE;
  7. a create is never retried (zcrm_bulk.retries = 3): a 500 or a lost
     connection is one request and an SQL error, and after the lost
     connection the job exists (the reason it must not be retried);
  8. INVALID_TOKEN on a create through a connection: one refresh, one job;
  9. cancel and statement_timeout during a slow upload end it within 0.5 s
     and the backend keeps working;
 10. upload_domain sends the upload (only) to that host, and without it
     the local server's API domain takes the upload itself;
 11. no output holds the access token, refresh token or client secret.
Prints "N passed, N failed" last.
"""

import gzip
import io
import json
import os
import random
import time
import urllib.error
import urllib.request
import zipfile

from zcrmtest import (Session, cancel_when_waiting, check, create_server,
                      elapsed_seconds, ELAPSED_SQL, leaked, mock_admin, psql)

TOKEN = os.environ["ZCRM_TEST_TOKEN"]
RT = os.environ["ZCRM_TEST_RT_SECRET"]
SECRET = os.environ["ZCRM_TEST_CLIENT_SECRET"]
MOCK = "http://127.0.0.1:%s" % os.environ.get("ZCRM_MOCK_PORT", "18089")
LIMIT = 0.5                 # seconds: how fast cancel and statement_timeout act
OUTPUTS = []                # every session's output, for the secret check

LEADS_CSV = ("Last_Name,Email,Company\r\nSmith,smith@example.com,Acme\r\n"
             "Jones,jones@example.com,Beta\r\n")


def zip_bytes(files, stored=False):
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_STORED if stored else zipfile.ZIP_DEFLATED) as zf:
        for name, text in files.items():
            zf.writestr(name, text)
    return buf.getvalue()


def hexa(data):
    """An SQL bytea literal of data."""
    return "'\\x%s'::bytea" % data.hex()


LEADS_ZIP = hexa(zip_bytes({"leads.csv": LEADS_CSV}))


def run(script, app="zcrm_write_send"):
    out = Session(script, app).finish()
    OUTPUTS.append(out)
    return out


def lifecycle(changes=None):
    if changes is None:
        return mock_admin("/__admin/lifecycle")
    req = urllib.request.Request(MOCK + "/__admin/lifecycle", method="POST",
                                 data=json.dumps(changes).encode())
    with urllib.request.urlopen(req, timeout=10) as r:
        return json.load(r)


def reset():
    mock_admin("/__admin/reset", "POST")


def scenarios(prefix=""):
    return [r["scenario"] for r in mock_admin("/__admin/requests")
            if r["scenario"] and r["scenario"].startswith(prefix)]


def lines_with(out, needle):
    return [ln for ln in out.splitlines() if needle in ln]


def upload_sql(zip_literal=LEADS_ZIP, args="token => :'token'"):
    return "SELECT 'file ' || zcrm_upload_file(%s, %s);\n" % (zip_literal, args)


def file_ids(out):
    return [ln.split()[1] for ln in out.splitlines() if ln.startswith("file ")]


def upload_file_id_test():
    reset()
    out = run(upload_sql())
    files = lifecycle()["files"]
    check("an upload returns the file id the server sent as a string",
          file_ids(out) == files and len(files) == 1 and len(files[0]) == 19, out)
    lifecycle({"file_id_as_number": True})
    out = run(upload_sql() + upload_sql())
    files = lifecycle()["files"]
    # (a double would round them: 7200000000000000002 reads back as ...000)
    check("a file id sent as a 19-digit JSON number keeps its exact digits",
          len(files) == 3 and file_ids(out) == files[1:] and
          all(str(int(float(f))) != f for f in files[1:]), "%s %s" % (out, files))


def upload_error_test():
    bad = hexa(b"this is not a zip file")
    results = {}
    for status in (200, "4xx"):
        reset()
        lifecycle({"upload_error_status": status})
        out = run(upload_sql(bad))
        logged = [r for r in mock_admin("/__admin/requests") if r["scenario"].startswith("upload")]
        results[status] = (lines_with(out, "ERROR:"), lines_with(out, "HINT:"), len(logged))
    err200, hint200, n200 = results[200]
    err4xx, hint4xx, n4xx = results["4xx"]
    check("an upload error with HTTP 200 raises 22023 with the API's code and message",
          len(err200) == 1 and "22023" in err200[0] and "INVALID_FILE_FORMAT" in err200[0]
          and "only zip format is supported" in err200[0] and hint200, results)
    check("the error's detail has the caller's context on a line of its own",
          "The zip file had 22 bytes." in out.splitlines(), out)
    check("the same upload error with HTTP 400 raises the same SQL error",
          err4xx == err200 and hint4xx == hint200 and n200 == n4xx == 1, results)
    reset()
    lifecycle({"upload_error_status": "4xx"})
    out = run("SELECT 'file ' || zcrm_upload_file(pg_catalog.convert_to(pg_catalog.repeat('x', 26500000), 'UTF8'), "
              "token => :'token');\n")
    check("FILE_TOO_LARGE raises 54000", any("54000" in ln and "FILE_TOO_LARGE" in ln
                                             for ln in lines_with(out, "ERROR:")), out[-2000:])


def headers_test():
    reset()
    big = "".join("Row%d,r%d@example.com,%s\r\n" % (i, i, "%032x" % random.getrandbits(128))
                  for i in range(25000))
    large = zip_bytes({"leads.csv": "Last_Name,Email,Company\r\n" + big}, stored=True)
    out = run(upload_sql() + upload_sql(hexa(large)))
    reqs = lifecycle()["upload_requests"]
    ok = len(reqs) == 2 and all(
        r["feature"] == "bulk-write" and r["x_crm_org"] == "808232144" and r["expect"] is None
        and r["file_name"] == "zcrm_bulk.zip" and r["part_content_type"] is None
        and r["content_type"] == "multipart/form-data" for r in reqs)
    check("uploads send feature, X-CRM-ORG, part \"file\" with a file name and no part Content-Type, "
          "and no Expect (also for %d bytes)" % len(large),
          ok and reqs[1]["bytes"] > len(large) > 1024 * 1024 and len(file_ids(out)) == 2,
          "%s %s" % (reqs, out))
    # The server refuses an upload without the headers: a request by hand.
    boundary = "zcrmhandmade"
    body = (("--%s\r\nContent-Disposition: form-data; name=\"file\"; filename=\"x.zip\"\r\n\r\n"
             % boundary).encode() + zip_bytes({"leads.csv": LEADS_CSV}) +
            ("\r\n--%s--\r\n" % boundary).encode())
    req = urllib.request.Request(MOCK + "/crm/v2/upload", data=body, method="POST", headers={
        "Authorization": "Zoho-oauthtoken " + TOKEN,
        "Content-Type": "multipart/form-data; boundary=" + boundary})
    try:
        with urllib.request.urlopen(req, timeout=10) as r:
            raw, encoding = r.read(), r.headers.get("Content-Encoding")
    except urllib.error.HTTPError as e:
        raw, encoding = e.read(), e.headers.get("Content-Encoding")
    doc = json.loads(gzip.decompress(raw) if encoding == "gzip" else raw)
    check("the server refuses an upload made without feature and X-CRM-ORG",
          doc.get("status") == "error" and "feature, X-CRM-ORG" in doc.get("message", ""), doc)


def org_cache_test():
    reset()
    create_server("wsend_org", "'1000.rt.wsend.' || :'rt'", "zcrm_write_send_setup")
    script = (upload_sql() * 3 +
              upload_sql(args="connection => 'wsend_org'") * 3 +
              "ALTER USER MAPPING FOR PUBLIC SERVER wsend_org OPTIONS (SET client_id '1000.OTHERID');\n" +
              upload_sql(args="connection => 'wsend_org'") * 2 +
              "ALTER SERVER wsend_org OPTIONS (ADD upload_domain '%s');\n" % MOCK +
              upload_sql(args="connection => 'wsend_org'") * 2 +
              upload_sql())
    out = run(script)
    orgs = len(scenarios("org"))
    check("the org call is made once per token and once per connection for many uploads, "
          "and again after ALTER USER MAPPING and ALTER SERVER",
          len(file_ids(out)) == 11 and orgs == 4, "org calls %d: %s" % (orgs, out))
    psql("DROP SERVER wsend_org CASCADE")


def create_sql(module="Leads", file_id=":'fid'", extra="", args="token => :'token'"):
    return ("SELECT 'job ' || zcrm_create_write_job('%s', %s%s, %s);\n"
            % (module, file_id, extra, args))


def upload_gset(zip_literal=LEADS_ZIP, args="token => :'token'"):
    return "SELECT zcrm_upload_file(%s, %s) AS fid \\gset\n" % (zip_literal, args)


def create_body_test():
    reset()
    mappings = '[{"api_name":"Last_Name","index":0},{"api_name":"Email","index":1}]'
    out = run("SET zcrm_bulk.api_version = 'v2';\n" + upload_gset() + create_sql() +
              "SET zcrm_bulk.api_version = 'v8';\n" + upload_gset() +
              create_sql(extra=", 'upsert', 'Email', '%s', false" % mappings))
    life = lifecycle()
    creates = life["create_requests"]
    jobs = [ln.split()[1] for ln in out.splitlines() if ln.startswith("job ")]
    ok = len(creates) == 2 and len(jobs) == 2 and sorted(jobs) == sorted(life["jobs"])
    if ok:
        v2, v8 = creates[0], creates[1]
        ok = (v2["version"] == "v2" and v2["body"] == {
            "operation": "insert", "ignore_empty": True, "character_encoding": "UTF-8",
            "resource": [{"type": "data", "module": "Leads", "file_id": life["files"][0]}]}
            and v8["version"] == "v8" and v8["body"] == {
            "operation": "upsert", "ignore_empty": False, "character_encoding": "UTF-8",
            "resource": [{"type": "data", "module": {"api_name": "Leads"},
                          "file_id": life["files"][1], "find_by": "Email",
                          "field_mappings": json.loads(mappings)}]}
            and life["jobs"][jobs[1]]["operation"] == "upsert")
    check("create sends module as a string for v2 and as an object for v8, with every key, "
          "and returns the job id", ok, "%s %s" % (json.dumps(creates), out))


def create_errors_test():
    reset()
    no_last = hexa(zip_bytes({"c.csv": "Email,Company\r\na@example.com,Acme\r\n"}))
    many = hexa(zip_bytes({"m.csv": ",".join("F%d" % i for i in range(201)) + "\r\n" +
                           ",".join("v" for _ in range(201)) + "\r\n"}))
    cases = [
        ("MODULE_NOT_AVAILABLE", "22023", create_sql(module="Widgets")),
        ("INVALID_FILE_ID", "22023", create_sql(file_id="'123'")),
        ("COLUMN_INDEX_NOT_FOUND", "22023",
         create_sql(extra=", field_mappings => '[{\"api_name\":\"Last_Name\",\"index\":9}]'")),
        ("INVALID_FIELD", "22023",
         create_sql(extra=", field_mappings => '[{\"api_name\":\"Last_Nme\",\"index\":0}]'")),
        ("MISSING_REQUIRED_KEY", "22023",
         create_sql(extra=", field_mappings => '[{\"index\":0}]'")),
        ("MANDATORY_FIELDS_NOT_MAPPED", "22023",
         upload_gset(no_last) + create_sql()),
        ("HEADER_LIMIT_EXCEEDED", "54000",
         upload_gset(many) + create_sql(extra=", field_mappings => (SELECT jsonb_agg(jsonb_build_object("
                                        "'api_name', 'F' || i, 'index', i)) FROM generate_series(0, 200) i)")),
    ]
    for code, state, sql in cases:
        out = run("SET zcrm_bulk.api_version = 'v8';\n" + upload_gset() + sql)
        errors = lines_with(out, "ERROR:")
        check("create error %s raises %s with the API's message and a hint" % (code, state),
              len(errors) == 1 and ("%s: Zoho CRM API error %s:" % (state, code)) in errors[0]
              and lines_with(out, "HINT:") and lines_with(out, "The API answered HTTP status 400")
              and lines_with(out, "The job was for module "), out)


def create_once_test():
    for fault, state, scenario in (("500", "58000", "create_fault:500"),
                                   ("drop", "08006", "create_fault:drop")):
        reset()
        lifecycle({"create_fault": fault})
        out = run("SET zcrm_bulk.retries = 3;\nSET zcrm_bulk.retry_delay = 10;\n" +
                  upload_gset() + create_sql())
        creates = [r for r in mock_admin("/__admin/requests") if r["path"].endswith("/write")]
        check("a create answered %s is not retried (retries = 3): one request, SQL error %s"
              % (fault, state),
              len(creates) == 1 and creates[0]["scenario"] == scenario and
              any(state in ln for ln in lines_with(out, "ERROR:")), "%s %s" % (creates, out))
        if fault == "drop":
            check("after the lost create response the job exists in the server (why a retry is wrong)",
                  lifecycle()["creates"] == 1, json.dumps(lifecycle()["jobs"]))


def create_invalid_token_test():
    reset()
    create_server("wsend_tok", "'1000.rt.wsendtok.' || :'rt'", "zcrm_write_send_setup")
    rt_sha = __import__("hashlib").sha256(("1000.rt.wsendtok." + RT).encode()).hexdigest()[:12]
    s = Session(upload_gset(args="connection => 'wsend_tok'"), "zcrm_write_send_tok",
                keep_open=True)
    time.sleep(0.1)
    # the upload has run once its org and upload requests are logged
    end = time.monotonic() + 10
    while time.monotonic() < end and "upload" not in scenarios():
        time.sleep(0.05)
    mock_admin("/__admin/revoke-access-tokens", "POST")
    s.send(create_sql(args="connection => 'wsend_tok'"))
    s.close()
    out = s.finish()
    OUTPUTS.append(out)
    refreshes = mock_admin("/__admin/token-stats")["refreshes"].get(rt_sha, 0)
    creates = [r["scenario"] for r in mock_admin("/__admin/requests") if r["path"].endswith("/write")]
    check("INVALID_TOKEN on a create through a connection: one refresh, the create sent again, one job",
          lines_with(out, "job ") and refreshes == 2 and creates == ["INVALID_TOKEN", "create"]
          and lifecycle()["creates"] == 1, "refreshes %d, creates %s: %s" % (refreshes, creates, out))
    psql("DROP SERVER wsend_tok CASCADE")


SLOW = "pg_catalog.decode(pg_catalog.repeat('ab', 4000000), 'hex')"     # 4 MB


def cancel_upload_test():
    reset()
    lifecycle({"upload_read_bytes_per_s": 1000000})
    app = "zcrm_write_send_cancel"
    s = Session("SELECT zcrm_upload_file(%s, token => :'token');\n" % SLOW +
                "SELECT 'after ' || zcrm_upload_file(%s, token => :'token');\n" % LEADS_ZIP, app)
    time.sleep(0.3)
    pid, elapsed, out = cancel_when_waiting(s, app, "a slow upload", settle=0.5)
    OUTPUTS.append(out)
    lifecycle({"upload_read_bytes_per_s": None})
    check("cancel during a slow upload raises 57014 within %.1f s" % LIMIT,
          elapsed is not None and elapsed < LIMIT and "57014" in out, "elapsed %r: %s" % (elapsed, out))
    check("after the cancelled upload the next upload in the session works and nothing half-sent "
          "was taken", lines_with(out, "after ") and lifecycle()["uploads"] == 1, out)


def timeout_upload_test(timeout_ms=800):
    reset()
    lifecycle({"upload_read_bytes_per_s": 1000000})
    out = run("SET statement_timeout = '%dms';\nSELECT clock_timestamp() AS t0 \\gset\n"
              "SELECT zcrm_upload_file(%s, token => :'token');\n" % (timeout_ms, SLOW) +
              ELAPSED_SQL + "RESET statement_timeout;\n" + upload_sql(), "zcrm_write_send_timeout")
    lifecycle({"upload_read_bytes_per_s": None})
    elapsed = elapsed_seconds(out)
    if elapsed is not None:
        print("# statement_timeout %d ms during a slow upload: ended after %.0f ms"
              % (timeout_ms, elapsed * 1000))
    check("statement_timeout during a slow upload raises 57014 within %.1f s of the timeout" % LIMIT,
          "canceling statement due to statement timeout" in out and elapsed is not None
          and elapsed - timeout_ms / 1000.0 < LIMIT, out)
    check("after statement_timeout during an upload the next upload works", len(file_ids(out)) == 1, out)


def upload_domain_test():
    port = os.environ.get("ZCRM_MOCK_PORT", "18089")
    reset()
    create_server("wsend_up", "'1000.rt.wsendup.' || :'rt'", "zcrm_write_send_setup")
    psql("ALTER SERVER wsend_up OPTIONS (ADD upload_domain 'http://localhost:%s/')" % port)
    out = run(upload_sql(args="connection => 'wsend_up'"))
    hosts = [r["host"] for r in lifecycle()["upload_requests"]]
    check("with upload_domain the upload goes to that host (the org call to the API domain)",
          len(file_ids(out)) == 1 and hosts == ["localhost:%s" % port] and
          scenarios() == ["token_normal", "org", "upload"], "%s %s: %s" % (hosts, scenarios(), out))
    psql("DROP SERVER wsend_up CASCADE")
    reset()
    out = run(upload_sql())
    hosts = [r["host"] for r in lifecycle()["upload_requests"]]
    check("without upload_domain a non-Zoho API domain (the local server) takes the upload itself",
          len(file_ids(out)) == 1 and hosts == ["127.0.0.1:%s" % port], "%s %s" % (hosts, out))


def org_id_option_test():
    """The server option org_id is sent as X-CRM-ORG without any org call;
    zcrm_org_id() shows it, or without it the org call's answer."""
    reset()
    create_server("wsend_oid", "'1000.rt.wsendoid.' || :'rt'", "zcrm_write_send_setup")
    out = run("SELECT 'asked ' || zcrm_org_id(connection => 'wsend_oid');\n" +
              "ALTER SERVER wsend_oid OPTIONS (ADD org_id '4242');\n" +
              "SELECT 'set ' || zcrm_org_id(connection => 'wsend_oid');\n")
    check("zcrm_org_id(): the org call's zgid, then the server's org_id",
          "asked 808232144" in out and "set 4242" in out and scenarios("org") == ["org"],
          "%s %s" % (scenarios(), out[-400:]))
    reset()
    psql("ALTER SERVER wsend_oid OPTIONS (SET org_id '808232144')")
    out = run(upload_sql(args="connection => 'wsend_oid'") * 2)
    reqs = lifecycle()["upload_requests"]
    check("with org_id (a new session) the uploads send it as X-CRM-ORG and make no org call",
          len(reqs) == 2 and all(r["x_crm_org"] == "808232144" for r in reqs)
          and scenarios("org") == [] and len(file_ids(out)) == 2,
          "%s %s %s" % ([r["x_crm_org"] for r in reqs], scenarios(), out[-400:]))
    out = run("ALTER SERVER wsend_oid OPTIONS (SET org_id '42x');\n")
    check("org_id must be digits: HV024, naming the option",
          "HV024" in out and 'invalid value for option "org_id"' in out, out[-300:])
    psql("DROP SERVER wsend_oid CASCADE")


def no_secret_test():
    # Selected alone (pytest -k), it first runs the module's calls that
    # hand out tokens and secrets, for outputs to scan (their checks count).
    for test in (upload_file_id_test, upload_error_test, headers_test, org_cache_test,
                 create_errors_test, create_invalid_token_test, upload_domain_test,
                 org_id_option_test):
        if len(OUTPUTS) > 10:
            break
        test()
    found = [leaked(out, [TOKEN, RT, SECRET]) for out in OUTPUTS]
    check("no output holds the access token, a refresh token or the client secret (%d outputs)"
          % len(OUTPUTS), not any(found) and len(OUTPUTS) > 10, found)
