"""Security tests for zcrm_bulk that pg_regress cannot express.

1. Hostile arguments (job ids and tokens with path characters, control
   characters, spaces, non-ASCII digits, huge lengths) are rejected before
   any request is sent: the local API server's request log stays empty.
2. TLS: an HTTPS server whose certificate the system store does not trust is
   rejected (08001) by default and accepted once zcrm_bulk.ca_file names its
   CA; a certificate for another host name, or one not issued by that CA, is
   rejected even then.  No setting turns verification off.
3. Tokens passed as bind parameters (pgbench -M extended), with errors
   raised and logged at log_min_error_statement = error: the server log
   shows the statement with $n placeholders and never the token.

Needs the environment test/conftest.py provides, with ZCRM_TLS_PORT,
ZCRM_TLS_WRONG_HOST_PORT, ZCRM_TLS_SELF_SIGNED_PORT (HTTPS instances of the
local API server with the certificates of test/server/make_certs.sh),
ZCRM_CA_FILE and ZCRM_SERVER_LOG.  Prints "N passed, N failed" last.
"""

import os
import subprocess
import tempfile

from zcrmtest import (DB, SEED_JOB, TRY_STATE, Session, check,
                      mock_admin, psql)

HOSTILE_JOB_IDS = [
    "", "abc", "../4150868000005392002", "4150868000005392002/../../x",
    "4150868000005392002?x=1", "4150868000005392002#x", "4150868000005392002%2F",
    "4150868000005392002 ", " 4150868000005392002", "41508680 00005392002",
    "4150868000005392002\r\nX-Injected: 1", "4150868000005392002\t", "415\x01",
    "\u0664\u0661\u0665", "\uff14\uff11\uff15", "\u00b9\u00b2\u00b3", "-1", "+1", "1e3", "0x1F",
    "9" * 33, "1" * 100000,
]
HOSTILE_TOKENS = [
    "", " ", "1000.abc def", "1000.abc\r\nHost: evil.example", "1000.abc\nX: y",
    "1000.abc\tdef", "1000.\x7f", "1000.abcé", "1000.\u0664",
    "1000.a/../b?c", "1000.a#b", "1000.a%0d%0ab", "1000.\"abc\"", "1000.ab=c",
    "Zoho-oauthtoken 1000.abc", "a" * 4097, "a" * 100000,
]


def sql_literal(s):
    return "'" + s.replace("'", "''") + "'"


def hostile_arguments_test():
    mock_admin("/__admin/reset", "POST")
    token = os.environ["ZCRM_TEST_TOKEN"]
    lines = []
    for fn in ("zcrm_write_job", "zcrm_write_job_field_mappings", "zcrm_write_job_json"):
        for job in HOSTILE_JOB_IDS:
            lines.append("SELECT 'job', %s, pg_temp.state_of(%s, %s, :'token');"
                         % (sql_literal(fn), sql_literal(fn), sql_literal(job)))
        for tok in HOSTILE_TOKENS:
            lines.append("SELECT 'token', %s, pg_temp.state_of(%s, %s, %s);"
                         % (sql_literal(fn), sql_literal(fn), sql_literal(SEED_JOB),
                            sql_literal(tok)))
    prelude = """CREATE FUNCTION pg_temp.state_of(fn text, job text, tok text) RETURNS text
LANGUAGE plpgsql AS $$
DECLARE
    msg text; det text; hnt text;
BEGIN
    EXECUTE format('SELECT count(*) FROM %I($1, $2)', fn) USING job, tok;
    RETURN '00000';
EXCEPTION WHEN OTHERS THEN
    -- the SQLSTATE, then everything the error says, on one line
    GET STACKED DIAGNOSTICS msg = MESSAGE_TEXT, det = PG_EXCEPTION_DETAIL,
                            hnt = PG_EXCEPTION_HINT;
    RETURN SQLSTATE || ' ' || translate(concat_ws(' ', msg, det, hnt), E'|\\n', '/ ');
END $$;
"""
    out = Session("\n".join(lines) + "\n", "zcrm_hostile", prelude=prelude).finish()
    reported = [line.split("|", 2)[2] for line in out.splitlines() if line.count("|") >= 2]
    states = [r.split(" ", 1)[0] for r in reported]
    requests = mock_admin("/__admin/requests")
    print("# %d hostile calls: SQLSTATEs %s; requests that reached the server: %d"
          % (len(states), sorted(set(states)), len(requests)))
    check("every hostile job id and token is rejected with 22023",
          len(states) == len(lines) and set(states) == {"22023"}, out[-3000:])
    check("no request left for any hostile argument", requests == [], repr(requests[:3]))
    echoed = [t for t in HOSTILE_TOKENS if len(t) > 6 and any(t in r for r in reported)]
    check("no error message, detail or hint echoes a hostile token",
          len(reported) == len(lines) and not echoed and token not in out,
          "echoed %r" % echoed)


def tls_test(tls_mocks):
    ca = os.environ["ZCRM_CA_FILE"]
    port = os.environ["ZCRM_TLS_PORT"]
    wrong = os.environ["ZCRM_TLS_WRONG_HOST_PORT"]
    selfsigned = os.environ["ZCRM_TLS_SELF_SIGNED_PORT"]

    def state(domain, ca_file):
        script = ("SET zcrm_bulk.api_domain = '%s';\n" % domain
                  + ("SET zcrm_bulk.ca_file = '%s';\n" % ca_file if ca_file else "")
                  + "SELECT 'state=' || pg_temp.zcrm_try_state('%s', :'token');\n" % SEED_JOB)
        out = Session(script, "zcrm_tls", prelude=TRY_STATE).finish()
        for line in out.splitlines():
            if line.startswith("state="):
                return line[6:]
        return out

    cases = [
        ("CA-signed certificate, system store only", "https://127.0.0.1:%s" % port, None, "08001"),
        ("CA-signed certificate, zcrm_bulk.ca_file names the CA", "https://127.0.0.1:%s" % port, ca, "00000"),
        ("CA-signed certificate via host name localhost", "https://localhost:%s" % port, ca, "00000"),
        ("certificate for another host name, CA trusted", "https://127.0.0.1:%s" % wrong, ca, "08001"),
        ("self-signed certificate not issued by the CA", "https://127.0.0.1:%s" % selfsigned, ca, "08001"),
        ("CA file that does not exist", "https://127.0.0.1:%s" % port, "/nonexistent/ca.pem", "08001"),
    ]
    for label, domain, ca_file, want in cases:
        got = state(domain, ca_file)
        check("TLS: %s -> %s" % (label, want), got == want, "got %r" % got)
    # 100 calls over HTTPS in one session: one TCP connection, so one full
    # TLS handshake.
    base = "https://127.0.0.1:%s" % port
    mock_admin("/__admin/reset", "POST", base=base)
    script = ("SET zcrm_bulk.api_domain = '%s';\nSET zcrm_bulk.ca_file = '%s';\n" % (base, ca)
              + "SELECT job_id FROM zcrm_write_job('%s', :'token');\n" % SEED_JOB * 100)
    out = Session(script, "zcrm_tls_reuse").finish()
    # the server's own count of accepted connections, each a full TLS
    # handshake; less the one this stats request came on
    accepted = mock_admin("/__admin/stats", base=base)["connections"] - 1
    reqs = mock_admin("/__admin/requests", base=base)
    conns = {r["connection"] for r in reqs}
    print("# 100 calls over HTTPS in one session: %d requests on %d TLS connection(s); "
          "the server accepted %d connection(s)" % (len(reqs), len(conns), accepted))
    check("100 HTTPS calls in one session reuse one connection (one TLS handshake)",
          out.count(SEED_JOB) == 100 and len(reqs) == 100 and len(conns) == 1
          and accepted == 1,
          "requests %d connections %d accepted %d" % (len(reqs), len(conns), accepted))
    names = psql("SELECT string_agg(name, ',') FROM pg_settings WHERE name LIKE 'zcrm\\_bulk.%' "
                 "AND (name ~ 'verif|insecure|ssl' OR short_desc ~* 'verif.* off')")
    check("no zcrm_bulk setting turns TLS verification off", names == "", names)


def bind_parameter_test():
    """Calls with the token as a bind parameter, succeeding and failing, with
    errors logged with their statement: the token never reaches the log."""
    token = os.environ["ZCRM_TEST_TOKEN"]
    log = os.environ["ZCRM_SERVER_LOG"]
    size_before = os.path.getsize(log)
    with tempfile.TemporaryDirectory() as d:
        script = os.path.join(d, "calls.sql")
        with open(script, "w") as f:
            f.write("SELECT count(*) FROM zcrm_write_job(:job, :token);\n")
        results_ = {}
        for job in (SEED_JOB, "415086800000539200", "2000000000000000402"):
            env = dict(os.environ, PGOPTIONS="-c log_min_error_statement=error "
                       "-c log_error_verbosity=verbose -c client_min_messages=debug5")
            p = subprocess.run(["pgbench", "-n", "-M", "extended", "-t", "3", "-f", script,
                                "-D", "job=" + job, "-D", "token=" + token, DB],
                               env=env, capture_output=True, text=True)
            results_[job] = (p.returncode, p.stdout + p.stderr)
    ok = results_[SEED_JOB][0] == 0 and all(results_[j][0] != 0 for j in results_ if j != SEED_JOB)
    check("pgbench with the token as a bind parameter: success and failures as expected",
          ok, repr(results_))
    with open(log, errors="replace") as f:
        f.seek(size_before)
        text = f.read()
    logged = [l for l in text.splitlines() if "zcrm_write_job($1, $2)" in l]
    check("failed calls were logged with their statement ($n placeholders)", len(logged) >= 2,
          text[-2000:])
    check("the token is not in the server log nor in pgbench's output",
          token not in text and all(token not in out for _, out in results_.values()))
