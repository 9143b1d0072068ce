"""Load: 16 concurrent sessions call zcrm_bulk for 60 s (pgbench, custom
scripts, token as a bind parameter) against the local API server.

Passing: pgbench completes with every transaction processed and none failed
or aborted, no backend crashed (the server log has no "terminated by signal"
and the postmaster is still accepting connections), and afterwards a new
session gets the seed job.  The calls per second are reported as a "# " line.
ZCRM_LOAD_SECONDS and ZCRM_LOAD_CLIENTS change the defaults (60, 16).
Prints "N passed, N failed" last.
"""

import os
import re
import subprocess
import tempfile

from zcrmtest import DB, SEED_JOB, Session, check

SECONDS = int(os.environ.get("ZCRM_LOAD_SECONDS", "60"))
CLIENTS = int(os.environ.get("ZCRM_LOAD_CLIENTS", "16"))

# weight: script
SCRIPTS = {
    "job.sql@6": "SELECT count(*) FROM zcrm_write_job(:job, :token);\n",
    "mappings.sql@3": "SELECT count(*) FROM zcrm_write_job_field_mappings(:multi, :token);\n",
    "json.sql@1": "SELECT zcrm_write_job_json(:completed, :token) -> 'result';\n",
}


def load_test():
    log = os.environ.get("ZCRM_SERVER_LOG")
    log_size = os.path.getsize(log) if log else 0
    with tempfile.TemporaryDirectory() as d:
        args = ["pgbench", "-n", "-M", "prepared", "-c", str(CLIENTS),
                "-j", str(min(CLIENTS, 4)), "-T", str(SECONDS),
                "-D", "job=" + SEED_JOB, "-D", "multi=1000000000000000003",
                "-D", "completed=4150868000005350003",
                "-D", "token=" + os.environ["ZCRM_TEST_TOKEN"]]
        for name, body in SCRIPTS.items():
            path = os.path.join(d, name.split("@")[0])
            with open(path, "w") as f:
                f.write(body)
            args += ["-f", path + "@" + name.split("@")[1]]
        args.append(DB)
        p = subprocess.run(args, capture_output=True, text=True,
                           timeout=SECONDS + 120)
    out = p.stdout + p.stderr
    processed = re.search(r"number of transactions actually processed: (\d+)", out)
    failed = re.search(r"number of failed transactions: (\d+)", out)
    tps = re.search(r"tps = ([0-9.]+) \(without initial connection time\)", out)
    latency = re.search(r"latency average = ([0-9.]+) ms", out)
    if processed and tps:
        print("# %d sessions for %d s: %s calls, %.0f calls/s, average latency %s ms"
              % (CLIENTS, SECONDS, processed.group(1), float(tps.group(1)),
                 latency.group(1) if latency else "?"))
    check("pgbench ran %d sessions for %d s without an aborted client" % (CLIENTS, SECONDS),
          p.returncode == 0 and "aborted" not in out and processed is not None
          and int(processed.group(1)) > 0, out[-3000:])
    check("zero failed transactions",
          failed is not None and int(failed.group(1)) == 0, out[-3000:])
    crashed = ""
    if log:
        with open(log, errors="replace") as f:
            f.seek(log_size)
            crashed = "\n".join(l for l in f.read().splitlines()
                                if "terminated by signal" in l or "PANIC" in l)
    check("no backend crashed", crashed == "", crashed)
    after = Session("SELECT job_id || ' ' || status FROM zcrm_write_job('%s', :'token');\n"
                    % SEED_JOB, "zcrm_after_load").finish()
    check("a new session works after the load", SEED_JOB + " INPROGRESS" in after, after)
