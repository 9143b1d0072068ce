"""The prepare engine (zcrm_write_plan, zcrm_write_csv) where pg_regress
cannot look: the database encoding, the backend's memory, interrupts.

  1. in a LATIN1 database, the CSV is UTF-8: zcrm_write_plan's csv_bytes
     count the UTF-8 bytes of the values and the header (not the LATIN1
     ones), and zcrm_write_csv gives back exactly the text that was
     selected; in a SQL_ASCII database, bytes that are not UTF-8 are 22021
     naming the column and row;
  2. zcrm_write_plan over 1,000,000 rows x 10 columns (40 parts) grows the
     backend's peak memory (VmHWM, read from /proc) by at most 32 MB, and a
     run over 100,000 rows by about as much (memory does not grow with the
     row count);
  3. 100 calls whose query fails after a part was built do not grow the
     backend (the malloc'd CSV and zip buffers are freed on the error);
  4. a query cancel, and a statement_timeout, during a long zcrm_write_plan
     end it within 0.5 s, and the session's next statement works;
  5. statement_timeout lands within 0.25 s wherever it falls in the second
     half of a plan of one 23 MB part, zipping included (the deflate polls
     for interrupts every 64 kB: it took 0.36 s at once before).

Runs under pytest with test/conftest.py's fixtures (the cluster, the
local API server and ZCRM_TEST_TOKEN for the memory test's warm-up call, as
in test_limits.py).  Measured figures are printed as "# " lines.
"""

import os
import time

import pytest

from zcrmtest import ELAPSED_SQL, Session, check, elapsed_seconds, peak_growth, proc_kb, psql

DB = "zcrm_write_prepare_test"
LATIN1_DB = "zcrm_write_prepare_latin1"


@pytest.fixture(scope="module", autouse=True)
def utf8_client():
    """The module's sessions talk UTF-8 to every database."""
    saved = os.environ.get("PGCLIENTENCODING")
    os.environ["PGCLIENTENCODING"] = "UTF8"
    yield
    if saved is None:
        del os.environ["PGCLIENTENCODING"]
    else:
        os.environ["PGCLIENTENCODING"] = saved

# 10 columns of the common kinds; rows stream from a target-list
# generate_series (no tuplestore of the whole result).
TEN_COLUMNS = ("SELECT g AS \"Id\", 'Name ' || g AS \"Last_Name\", "
               "'user' || g || '@example.com' AS \"Email\", g * 1.25 AS \"Amount\", "
               "(g %% 2 = 0) AS \"Active\", DATE '2024-01-01' + (g %% 365) AS \"Day\", "
               "TIMESTAMPTZ '2024-01-01 00:00:00+00' + g * INTERVAL '1 second' AS \"Seen\", "
               "g::float8 / 7 AS \"Ratio\", ARRAY['a', 'b'] AS \"Tags\", "
               "md5(g::text) AS \"Hash\" FROM (SELECT generate_series(1, %d) AS g) s")


def latin1_test():
    """UTF-8 out of a LATIN1 database."""
    psql("DROP DATABASE IF EXISTS %s" % LATIN1_DB, db="postgres")
    psql("CREATE DATABASE %s ENCODING 'LATIN1' LC_COLLATE 'C' LC_CTYPE 'C' TEMPLATE template0"
         % LATIN1_DB, db="postgres")
    try:
        psql("CREATE EXTENSION zcrm_bulk", db=LATIN1_DB)
        enc = psql("SHOW server_encoding", db=LATIN1_DB)
        value = "Zoë Ærø, café ñ ÿ"
        header = "Nämé"
        expected = header.encode() + b"\r\n" + b'"' + value.encode() + b'"\r\n'
        latin1 = header.encode("latin-1") + b"\r\n" + b'"' + value.encode("latin-1") + b'"\r\n'
        query = "SELECT '%s'::text AS \"%s\"" % (value, header)
        out = psql("SELECT csv_bytes FROM zcrm_write_plan('Leads', $q$%s$q$)" % query,
                   db=LATIN1_DB)
        print("# LATIN1 database: csv_bytes %s (UTF-8: %d, LATIN1: %d)"
              % (out, len(expected), len(latin1)))
        check("a LATIN1 database (%s) writes UTF-8: csv_bytes %d, not %d"
              % (enc, len(expected), len(latin1)),
              enc == "LATIN1" and out == str(len(expected)), "got %r" % out)
        csv = psql("SELECT replace(zcrm_write_csv('Leads', $q$%s$q$), E'\\r\\n', '|')" % query,
                   db=LATIN1_DB)
        check("zcrm_write_csv in a LATIN1 database gives back the selected text",
              csv == '%s|"%s"|' % (header, value), "got %r" % csv)
        # an array of LATIN1 text, and a text value through an output function
        out = psql("SELECT csv_bytes FROM zcrm_write_plan('Leads', $q$SELECT ARRAY['é', 'ü']::text[] AS t, "
                   "'ñ'::varchar AS v, '\"ß\"'::json AS j$q$)", db=LATIN1_DB)
        want = len("t,v,j\r\n".encode()) + len('é;ü,ñ,"""ß"""\r\n'.encode())
        check("arrays, varchar and json of a LATIN1 database are written as UTF-8 (%d bytes)" % want,
              out == str(want), "got %r" % out)
    finally:
        psql("DROP DATABASE IF EXISTS %s" % LATIN1_DB, db="postgres")


def sql_ascii_test():
    """In a SQL_ASCII database, bytes that are not UTF-8 are refused
    (22021) instead of reaching Zoho as they are."""
    db = "zcrm_write_prepare_sqlascii"
    psql("DROP DATABASE IF EXISTS %s" % db, db="postgres")
    psql("CREATE DATABASE %s ENCODING 'SQL_ASCII' LC_COLLATE 'C' LC_CTYPE 'C' TEMPLATE template0"
         % db, db="postgres")
    try:
        psql("CREATE EXTENSION zcrm_bulk", db=db)
        out = Session("\\set VERBOSITY verbose\n"
                      "SELECT zcrm_write_csv('Leads', $q$SELECT 'ok' AS a, E'caf\\xe9' AS b$q$);\n"
                      "SELECT 'ascii=' || zcrm_write_csv('Leads', $q$SELECT 'plain' AS a$q$);\n",
                      "zcrm_wp_sqlascii", db=db).finish()
        check("a SQL_ASCII database: a value that is not UTF-8 is 22021 naming its column and row",
              "22021" in out and 'column "b" of row 1 is not valid UTF-8' in out and "ascii=a" in out, out[-2000:])
    finally:
        psql("DROP DATABASE IF EXISTS %s" % db, db="postgres")


def memory_test():
    """1,000,000 rows x 10 columns: peak growth <= 32 MB, and flat."""
    plan = "SELECT 'parts=' || count(*) || ' rows=' || sum(rows) FROM zcrm_write_plan('Leads', $q$%s$q$);\n"
    t0 = time.monotonic()
    big, out = peak_growth(plan % (TEN_COLUMNS % 1000000), "zcrm_wp_memory")
    elapsed = time.monotonic() - t0
    small, _ = peak_growth(plan % (TEN_COLUMNS % 100000), "zcrm_wp_memory")
    print("# zcrm_write_plan, 1,000,000 rows x 10 columns: VmHWM +%s kB (%.1f s); "
          "100,000 rows: +%s kB" % (big, elapsed, small))
    check("zcrm_write_plan over 1,000,000 rows x 10 columns returns 40 parts of every row",
          "parts=40 rows=1000000" in out, out[-2000:])
    check("zcrm_write_plan over 1,000,000 rows x 10 columns: backend peak grows by <= 32 MB",
          big is not None and big <= 32 * 1024, "growth %r kB" % big)
    check("memory does not grow with the row count (1,000,000 rows: at most 4 MB above 100,000)",
          big is not None and small is not None and big <= small + 4 * 1024,
          "growth %r kB against %r kB" % (big, small))


def error_leak_test():
    """A query that fails after a part was built leaves no CSV or zip
    buffer behind (they are malloc'd, and freed in PG_FINALLY): 100 such
    calls in one backend do not grow its VmRSS."""
    fail = ("SELECT count(*) FROM zcrm_write_plan('Leads', $q$SELECT g AS \"Id\", md5(g::text) AS \"Hash\", "
            "1 / (30000 - g) AS \"Q\" FROM (SELECT generate_series(1, 40000) AS g) s$q$);\n")
    loop = ("DO $$BEGIN FOR i IN 1..%d LOOP BEGIN PERFORM * FROM zcrm_write_plan('Leads', "
            "$q$SELECT g AS \"Id\", md5(g::text) AS \"Hash\", 1 / (30000 - g) AS \"Q\" "
            "FROM (SELECT generate_series(1, 40000) AS g) s$q$); "
            "EXCEPTION WHEN division_by_zero THEN NULL; END; END LOOP; END$$;\n")
    s = Session("SELECT 'pid=' || pg_backend_pid();\n" + (loop % 10) + "SELECT 'warm';\n",
                "zcrm_wp_error_leak", keep_open=True, db=DB)
    _, line = s.wait_line("pid=", 30)
    pid = int(line.split("=")[1]) if line else None
    s.wait_line("warm", 120)
    before = proc_kb(pid, "VmRSS") if pid else None
    s.send(loop % 100 + fail + "SELECT 'done';\n")
    s.wait_line("done", 300)
    after = proc_kb(pid, "VmRSS") if pid else None
    s.close()
    out = s.finish()
    growth = after - before if before and after else None
    print("# 100 zcrm_write_plan calls failing at row 30,000 (after part 1): VmRSS +%s kB" % growth)
    check("a query failing after a part was built raises its own error (22012)",
          "division by zero" in out, out[-2000:])
    check("100 calls failing mid-run leave no buffers behind (VmRSS + < 16 MB)",
          growth is not None and growth < 16 * 1024, "growth %r kB; %s" % (growth, out[-1000:]))


def wait_active(appname, timeout=20):
    """The pid of the session's backend once it runs zcrm_write_plan."""
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        pid = psql("SELECT pid FROM pg_stat_activity WHERE application_name = '%s' "
                   "AND state = 'active' AND query LIKE '%%zcrm_write_plan%%'" % appname, db=DB)
        if pid:
            return int(pid)
        time.sleep(0.02)
    return None


LONG_PLAN = ("SELECT count(*) FROM zcrm_write_plan('Leads', $q$%s$q$);\n"
             % (TEN_COLUMNS % 100000000))


def cancel_test():
    """pg_cancel_backend during a long plan: 57014 within 0.5 s."""
    app = "zcrm_wp_cancel"
    s = Session(LONG_PLAN + "SELECT 'after=' || count(*) FROM zcrm_write_plan('Leads', 'SELECT 1 AS a');\n",
                app, db=DB)
    # the cancel goes through a session already connected, so that the time
    # measured is the backend's, not a new psql's start-up
    ctl = Session("SELECT 'ctl=ready';\n", "zcrm_wp_cancel_ctl", keep_open=True, db=DB)
    ctl.wait_line("ctl=ready", 10)
    pid = wait_active(app)
    if pid is not None:
        time.sleep(1.0)         # well into the rows and parts
    t0 = time.monotonic()
    if pid is not None:
        ctl.send("SELECT pg_cancel_backend(%d);\n" % pid)
    t1, _ = s.wait_line("57014", 10)
    ctl.close()
    ctl.finish()
    out = s.finish(60)
    elapsed = (t1 - t0) if t1 else None
    print("# cancel during zcrm_write_plan: ended %s ms after pg_cancel_backend"
          % ("%.0f" % (elapsed * 1000) if elapsed is not None else "?"))
    check("a cancel during a long zcrm_write_plan raises 57014 within 0.5 s",
          pid is not None and elapsed is not None and elapsed < 0.5, out[-2000:])
    check("after the cancel the session's next zcrm_write_plan works",
          "after=1" in out, out[-2000:])


def timeout_test():
    """statement_timeout during a long plan lands within 0.5 s."""
    timeout_ms = 1500
    out = Session("SET statement_timeout = '%dms';\n"
                  "SELECT clock_timestamp() AS t0 \\gset\n" % timeout_ms + LONG_PLAN +
                  ELAPSED_SQL +
                  "RESET statement_timeout;\n"
                  "SELECT 'after=' || count(*) FROM zcrm_write_plan('Leads', 'SELECT 1 AS a');\n",
                  "zcrm_wp_timeout", db=DB).finish(60)
    elapsed = elapsed_seconds(out)
    late = elapsed * 1000 - timeout_ms if elapsed is not None else None
    print("# statement_timeout %d ms during zcrm_write_plan: ended %s ms past it"
          % (timeout_ms, "%.0f" % late if late is not None else "?"))
    check("statement_timeout ends a long zcrm_write_plan within 0.5 s",
          "canceling statement due to statement timeout" in out and
          late is not None and late < 500, out[-2000:])
    check("after the timeout the session's next zcrm_write_plan works",
          "after=1" in out, out[-2000:])


# One part of 24,000 rows of 960 hex digits (23 MB of CSV that deflates to
# about half): its zipping is a long step of its own.
ZIP_PLAN = ("SELECT count(*) FROM zcrm_write_plan('Leads', $q$SELECT 'x' AS \"Last_Name\", "
            + " || ".join("md5((g * %d)::text)" % k for k in (1, 3, 7, 11, 13, 17, 19, 23, 29, 31, 37, 41, 43, 47, 53, 59,
                                                               61, 67, 71, 73, 79, 83, 89, 97, 101, 103, 107, 109, 113, 127))
            + " AS \"Description\" FROM generate_series(1, 24000) g$q$)")


def zip_timeout_test():
    """statement_timeout anywhere in the second half of a one-part plan
    (the rows, then the zipping of 23 MB) ends it within 0.25 s."""
    out = Session("SELECT clock_timestamp() AS t0 \\gset\n%s;\n%s" % (ZIP_PLAN, ELAPSED_SQL),
                  "zcrm_wp_zip", db=DB).finish(120)
    full = elapsed_seconds(out)
    if full is None:
        check("a one-part plan of 23 MB runs", False, out[-2000:])
        return
    steps = [int(full * 1000 * (0.5 + 0.04 * i)) for i in range(12)]
    script = ""
    for ms in steps:
        script += ("SET statement_timeout = '%dms';\nSELECT clock_timestamp() AS t0 \\gset\n%s;\n"
                   "RESET statement_timeout;\nSELECT 'late_%d=' || round(extract(epoch FROM "
                   "clock_timestamp() - :'t0'::timestamptz) * 1000 - %d);\n" % (ms, ZIP_PLAN, ms, ms))
    out = Session(script + "SELECT 'after=' || count(*) FROM zcrm_write_plan('Leads', 'SELECT 1 AS a');\n",
                  "zcrm_wp_zip", db=DB).finish(300)
    # each step's lines end with its late_ line; a step timed out when its
    # lines hold the timeout's error (one that finished first tells nothing)
    late = {}
    timed = {}
    block = []
    for line in out.splitlines():
        block.append(line)
        if line.startswith("late_"):
            k, v = line[5:].split("=")
            late[int(k)] = float(v)
            timed[int(k)] = any("canceling statement due to statement timeout" in b for b in block)
            block = []
    landed = [late[ms] for ms in late if timed[ms]]
    worst = max(landed) if landed else None
    print("# one part, %.0f ms in all; statement_timeout at %s ms: ended %s ms past it (%d timed out)"
          % (full * 1000, steps, [late.get(ms) for ms in steps], len(landed)))
    check("statement_timeout in the second half of a one-part plan (zipping too) lands within 0.25 s",
          len(late) == len(steps) and len(landed) >= 6 and worst < 250,
          "worst %r; %s" % (worst, out[-1500:]))
    check("after the timeouts the session's next zcrm_write_plan works", "after=1" in out, out[-1000:])
