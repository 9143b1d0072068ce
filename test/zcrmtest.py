"""test/zcrmtest.py: helpers shared by the Python suites (test/test_*.py).

A plain module, not a test module: importing it never makes pytest collect
another file's tests.  The suites drive psql and the local API server's
admin endpoints; they need a running cluster with zcrm_bulk installed
(PGHOST/PGPORT/PGUSER), the local Zoho API server the cluster points at,
and ZCRM_TEST_TOKEN, which test/conftest.py's fixtures provide (reusing
what scripts/test.sh started, or starting their own).

check() records a soft check: it prints "ok N - name" or "not ok N - name",
and test/conftest.py fails the test that recorded a failing one (after the
test has run all its checks) and counts the checks in the closing line
"N passed, N failed".
"""

import json
import os
import subprocess
import urllib.request
import sys
import threading
import time

STALL_BEFORE_HEADERS = "3000000000000000001"
STALL_MID_BODY = "3000000000000000002"
DRIP_FEED = "3000000000000000008"
SEED_JOB = "4150868000005392002"
DB = os.environ.get("ZCRM_TEST_DB", "zcrm_cancel_test")
BOUND = 2.0          # generous bound in seconds; the target is 0.5 s
# New for each pytest process: a module whose fixture makes a server gives
# its refresh token this part, so that runs of it one after another (a test
# selected alone, then another) do not share one refresh budget (5
# refreshes in 10 minutes per refresh token).
RUN_NONCE = os.urandom(4).hex()

# Every check of the run: (name, ok, the test that recorded it); the
# test is set by test/conftest.py before each test's setup.
results = []
current_test = [None]

# A session-local function returning the SQLSTATE of a call ('00000' if none).
TRY_STATE = """CREATE FUNCTION pg_temp.zcrm_try_state(job text, tok text) RETURNS text
LANGUAGE plpgsql AS $$
BEGIN
    PERFORM * FROM zcrm_write_job(job, tok);
    RETURN '00000';
EXCEPTION WHEN OTHERS THEN
    RETURN SQLSTATE;
END $$;
"""


def psql(sql, appname="zcrm_cancel_ctl", db=None):
    """Run one SQL string in a new session; return stdout (raises on error)."""
    env = dict(os.environ, PGAPPNAME=appname)
    out = subprocess.run(["psql", "-X", "-At", "-v", "ON_ERROR_STOP=1",
                          "-d", db or DB, "-c", sql],
                         env=env, capture_output=True, text=True, check=True)
    return out.stdout.strip()


class Session:
    """A psql session fed from a script; its output is collected with the
    time each line arrived."""

    def __init__(self, script, appname, prelude="", keep_open=False, db=None):
        env = dict(os.environ, PGAPPNAME=appname)
        self.proc = subprocess.Popen(
            ["psql", "-X", "-At", "-v", "VERBOSITY=verbose", "-d", db or DB],
            env=env, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT, text=True, bufsize=1)
        self.lines = []
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()
        self.proc.stdin.write("\\getenv token ZCRM_TEST_TOKEN\n" + prelude + script)
        if keep_open:
            self.proc.stdin.flush()
        else:
            self.proc.stdin.close()

    def send(self, script):
        """More input for a session started with keep_open."""
        self.proc.stdin.write(script)
        self.proc.stdin.flush()

    def close(self):
        self.proc.stdin.close()

    def _read(self):
        for line in self.proc.stdout:
            self.lines.append((time.monotonic(), line.rstrip("\n")))

    def wait_line(self, needle, timeout):
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            for t, line in list(self.lines):
                if needle in line:
                    return t, line
            time.sleep(0.005)
        return None, None

    def finish(self, timeout=30):
        self.proc.wait(timeout)
        self.reader.join(5)
        return "\n".join(line for _, line in self.lines)


def create_server(name, rt_sql, appname="zcrm_server_setup", db=None):
    """CREATE SERVER name (the local server is its accounts server) with a
    user mapping FOR PUBLIC whose refresh token is the SQL expression
    rt_sql (which may use :'rt', the run's secret); the secrets come from
    the environment and never appear in the script's text."""
    Session("\\getenv rt ZCRM_TEST_RT_SECRET\n\\getenv secret ZCRM_TEST_CLIENT_SECRET\n"
            "SELECT current_setting('zcrm_bulk.api_domain') AS accounts \\gset\n"
            "SELECT %s AS rt_value \\gset\n"
            "CREATE SERVER %s FOREIGN DATA WRAPPER zcrm_bulk OPTIONS (accounts_server :'accounts');\n"
            "CREATE USER MAPPING FOR PUBLIC SERVER %s OPTIONS (client_id '1000.CLIENTID', "
            "client_secret :'secret', refresh_token :'rt_value');\n" % (rt_sql, name, name),
            appname, db=db).finish()


def wait_for_request(appname, timeout=10):
    """The backend pid once it is waiting inside a zcrm_bulk transfer."""
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        pid = psql("SELECT pid FROM pg_stat_activity WHERE application_name = '%s' "
                   "AND state = 'active' AND wait_event_type = 'Extension'" % appname)
        if pid:
            return int(pid)
        time.sleep(0.02)
    return None



ELAPSED_SQL = ("SELECT 'elapsed_ms=' || round(extract(epoch FROM "
               "clock_timestamp() - :'t0'::timestamptz) * 1000);\n")


def elapsed_seconds(out):
    for line in out.splitlines():
        if line.startswith("elapsed_ms="):
            return float(line.split("=")[1]) / 1000
    return None


def cancel_when_waiting(session, appname, label, settle=0.0):
    """Once the session's backend waits inside zcrm_bulk (wait event
    Extension), cancel it; return (pid, seconds from pg_cancel_backend to
    the 57014 line, the session's whole output).  "settle" waits a little
    longer first (to be sure a backoff or poll wait has begun)."""
    pid = wait_for_request(appname)
    if pid is None:
        session.proc.kill()
        return None, None, session.finish()
    time.sleep(settle)
    t0 = time.monotonic()
    psql("SELECT pg_cancel_backend(%d)" % pid)
    t1, _ = session.wait_line("57014", BOUND + 5)
    out = session.finish()
    elapsed = (t1 - t0) if t1 else None
    if elapsed is not None:
        print("# cancel during %s: ended %.0f ms after pg_cancel_backend was sent"
              % (label, elapsed * 1000))
    return pid, elapsed, out


def slow_ids(n, delay_ms, series=1):
    """n distinct job ids of the local server's 51 family, answering the
    seed's success after delay_ms; "series" keeps the ids of different
    tests apart."""
    return ["51%05d%07d%05d" % (series, i, delay_ms) for i in range(n)]


def sql_array(ids):
    """An SQL ARRAY[...] literal of the ids."""
    return "ARRAY[%s]" % ", ".join("'%s'" % i for i in ids)


def leaked(text, secrets):
    """The copies of the secrets found in text, in any form the local API
    server's secret_forms() echoes (sent as is, JSON-escaped, percent-
    encoded, folded) and, for each secret, any 8 of its characters in a row
    (the part of a copy that a cut would leave)."""
    sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "server"))
    from zoho_mock import secret_forms
    found = []
    for secret in secrets:
        forms = secret_forms(secret) + [secret[i:i + 8] for i in range(len(secret) - 7)]
        found += [f for f in forms if f in text]
    return found


def check(name, ok, note=""):
    """Record a soft check; print "ok N - name" or "not ok N - name # note"."""
    ok = bool(ok)
    results.append((name, ok, current_test[0]))
    print("%s %d - %s%s" % ("ok" if ok else "not ok", len(results), name,
                            (" # " + note) if note and not ok else ""))


def mock_admin(path, method="GET", base=None):
    """Call an admin endpoint of the local API server (or of the instance
    at "base", with the test CA trusted); return its JSON."""
    import ssl
    base = base or "http://127.0.0.1:%s" % os.environ.get("ZCRM_MOCK_PORT", "18089")
    ctx = ssl.create_default_context(cafile=os.environ["ZCRM_CA_FILE"]) \
        if base.startswith("https:") else None
    with urllib.request.urlopen(urllib.request.Request(base + path, method=method),
                                timeout=10, context=ctx) as r:
        return json.load(r)


def proc_kb(pid, field):
    """A field of /proc/<pid>/status, in kB."""
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    return None


def peak_growth(call, appname):
    """Run `call` in a session whose library is loaded; return (the growth
    of the backend's VmHWM over the call in kB, the session's output)."""
    s = Session("SELECT 'pid=' || pg_backend_pid() FROM zcrm_write_job('%s', :'token');\n"
                % SEED_JOB, appname, keep_open=True)
    _, line = s.wait_line("pid=", 10)
    pid = int(line.split("=")[1]) if line else None
    before = proc_kb(pid, "VmHWM") if pid else None
    s.send(call + "SELECT 'done';\n")
    s.wait_line("done", 120)
    after = proc_kb(pid, "VmHWM") if pid else None
    s.close()
    out = s.finish()
    return (after - before if before and after else None), out
