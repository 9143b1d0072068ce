"""README command 1's demo works and shows what it claims (issue 11, "Done
when": the demo loads a local table into the local server and shows the
results joined back).

examples/demo.sql is run as scripts/demo.sh runs it (psql -X -v
ON_ERROR_STOP=1 -f), in a new database of the test cluster, after resetting
the local Zoho API server (whose records persist between jobs).  Asserted:
  1. psql exits 0 and no line of its output is an ERROR;
  2. the plan (step 8a) is one part of 12 rows costing 500 credits;
  3. the run (step 8d) ends completed, its one part completed;
  4. the joined results (step 8e) are the 12 source rows, each with its own
     outcome: rows 3, 6 and 9 skipped with MANDATORY_NOT_FOUND,
     INVALID_DATA and DUPLICATE_DATA, the nine others added with a 19-digit
     record id, no two alike;
  5. those printed rows are what zcrm_write_result holds for the run;
  6. the fixed rows loaded again with zcrm_write (step 9) are all added;
  7. the README's excerpt of the output (Quick start) is what it printed;
  8. no access token or connection secret appears in the output.
Needs the test cluster and the local API server.  Prints "N passed, N
failed" last.
"""

import os
import re
import subprocess
import time

from zcrmtest import check, mock_admin, psql

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DB = "zcrm_demo_test"
EXTENSION = False        # the demo creates it
SECRETS = ("ZCRM_TEST_TOKEN", "ZCRM_TEST_SLASH_TOKEN", "ZCRM_TEST_RT_SECRET",
           "ZCRM_TEST_CLIENT_SECRET")
EXPECTED_SKIPS = {3: "MANDATORY_NOT_FOUND", 6: "INVALID_DATA", 9: "DUPLICATE_DATA"}


def section(text, start, end):
    """The output between the echoed comment lines starting start and end."""
    i = text.find("\n" + start)
    j = text.find("\n" + end, i + 1) if i >= 0 else -1
    return text[i:j] if i >= 0 and j >= 0 else ""


def table_rows(text, ncols):
    """The data rows of psql's aligned tables in text with ncols columns,
    each as a list of stripped fields."""
    rows = []
    for line in text.splitlines():
        fields = [f.strip() for f in line.split("|")]
        if len(fields) == ncols and re.match(r"^\s*\d+\s*$", fields[0]):
            rows.append(fields)
    return rows


def demo_test():
    """examples/demo.sql in a database of its own (the demo creates zcrm_bulk)."""
    mock_admin("/__admin/reset", "POST")
    started = time.monotonic()
    run = subprocess.run(["psql", "-X", "-v", "ON_ERROR_STOP=1", "-d", DB,
                          "-f", os.path.join(ROOT, "examples", "demo.sql")],
                         env=dict(os.environ, PGAPPNAME="zcrm_demo_test"),
                         capture_output=True, text=True, timeout=120)
    took = time.monotonic() - started
    out = run.stdout + run.stderr
    print("# the demo took %.1f s" % took)
    errors = [line for line in out.splitlines() if "ERROR:" in line]
    check("the demo exits 0", run.returncode == 0, "exit %d" % run.returncode)
    check("no ERROR line in its output", not errors, "; ".join(errors[:3]))

    plan = table_rows(section(out, "-- 8a.", "-- 8b."), 6)
    check("the plan: one part of 12 rows, 500 credits",
          [[p[0], p[1], p[4]] for p in plan] == [["1", "12", "500"]], repr(plan))

    runs = table_rows(section(out, "-- 8d.", "-- 8e."), 7)
    check("the run ends completed, its one part completed",
          bool(runs) and [r[1] for r in runs[-1:]] == ["completed"]
          and runs[-1][6] == "completed", repr(runs))

    joined = table_rows(section(out, "-- 8e.", "-- 9."), 8)
    by_id = {int(r[0]): r for r in joined}
    check("the joined results are the 12 source rows, once each",
          sorted(by_id) == list(range(1, 13)) and len(joined) == 12, repr(sorted(by_id)))
    for rid, code in sorted(EXPECTED_SKIPS.items()):
        r = by_id.get(rid, [""] * 8)
        check("row %d: skipped with %s, no record id" % (rid, code),
              r[5] == "skipped" and r[6] == "(null)" and ('"code": "%s"' % code) in r[7],
              repr(r))
    added = [r for i, r in by_id.items() if i not in EXPECTED_SKIPS]
    ids = [r[6] for r in added]
    check("the nine other rows: added, each with its own 19-digit record id, no errors",
          len(added) == 9 and all(r[5] == "added" and r[7] == "(null)" for r in added)
          and all(re.fullmatch(r"[0-9]{19}", i) for i in ids) and len(set(ids)) == 9,
          repr(added))

    stored = psql("SELECT source_key || ' ' || status || ' ' || coalesce(record_id, '-') "
                  "FROM zcrm_write_result WHERE run_id = (SELECT run_id FROM zcrm_write_run "
                  "WHERE connection = 'demo') ORDER BY source_key::int", db=DB).splitlines()
    shown = ["%s %s %s" % (r[0], r[5], r[6] if r[6] != "(null)" else "-")
             for r in sorted(joined, key=lambda r: int(r[0]))]
    check("the printed rows are what zcrm_write_result holds for the run",
          bool(stored) and stored == shown, "stored %r, shown %r" % (stored[:3], shown[:3]))

    i = out.find("\n-- 9.")
    again = table_rows(out[i:], 5) if i >= 0 else []
    check("zcrm_write loads the three fixed rows: all added, each with a new record id",
          [(r[0], r[2]) for r in again] == [("3", "added"), ("6", "added"), ("9", "added")]
          and all(re.fullmatch(r"[0-9]{19}", r[3]) and r[3] not in ids for r in again),
          repr(again))

    readme = open(os.path.join(ROOT, "README.md"), encoding="utf-8").read()
    i = readme.find("Real output of `bash scripts/demo.sh`")
    excerpt = readme[i:readme.find("\n```\n", readme.find("```", i) + 3)] if i >= 0 else ""
    check("the README's excerpt is the demo's real output (plan and joined rows)",
          bool(joined) and table_rows(excerpt, 8) == joined
          and table_rows(excerpt, 6) == plan, "README has %d joined rows"
          % len(table_rows(excerpt, 8)))

    leaked = [name for name in SECRETS if os.environ.get(name) and os.environ[name] in out]
    check("no token or connection secret in the output", not leaked, ", ".join(leaked))
    check("the demo takes less than 30 s against the test cluster", took < 30,
          "%.1f s" % took)
