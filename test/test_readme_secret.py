"""The README's user mapping recipe keeps the secrets out of the server log
(issue 10, item 10), even when its statement fails.

The recipe is read from README.md (between "<!-- recipe: user mapping -->"
and "<!-- end recipe -->") and run twice in one psql session whose logging
is set as a production server's often is (log_statement = 'ddl',
log_min_error_statement = error): the second CREATE USER MAPPING fails.
Asserted:
  1. the first run created the mapping with the secrets from the
     environment;
  2. the failure reached the log, but neither secret did, in any form the
     log holds them (as given, or percent- or JSON-escaped);
  3. the control: the same failing statement without the recipe's SET LOCAL
     lines is logged with its text, secrets included, so check 2 can fail.
The secrets are made up for this test (never the run's real ones).  Needs
the test cluster, ZCRM_SERVER_LOG.  Prints "N passed, N failed" last.
"""

import os
import re
import secrets
import subprocess
import time
import urllib.parse

from zcrmtest import check, psql

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DBNAME = "zcrm_readme_secret"
DB = DBNAME              # test/conftest.py creates it, with zcrm_bulk
LOG = os.environ["ZCRM_SERVER_LOG"]
CLIENT_SECRET = "readme-cs-" + secrets.token_hex(8)
REFRESH_TOKEN = "1000.readme-rt-" + secrets.token_hex(8)
SESSION_LOGGING = "SET log_statement = 'ddl';\nSET log_min_error_statement = error;\n"


def recipe():
    text = open(os.path.join(ROOT, "README.md"), encoding="utf-8").read()
    m = re.search(r"<!-- recipe: user mapping -->\n```sql\n(.*?)```\n<!-- end recipe -->", text, re.S)
    if not m:
        raise RuntimeError("README.md has no user mapping recipe")
    return m.group(1)


def run_psql(script):
    env = dict(os.environ, ZOHO_CLIENT_SECRET=CLIENT_SECRET, ZOHO_REFRESH_TOKEN=REFRESH_TOKEN,
               PGAPPNAME="zcrm_readme_secret")
    out = subprocess.run(["psql", "-X", "-d", DBNAME], input=script, env=env,
                         capture_output=True, text=True)
    return out.stdout + out.stderr


def log_since(offset):
    time.sleep(0.5)             # let the logging collector write it out
    with open(LOG, encoding="utf-8", errors="replace") as f:
        f.seek(offset)
        return f.read()


def forms(secret):
    return {secret, urllib.parse.quote(secret, safe=""), secret.replace("/", "\\/")}


def readme_secret_test():
    """The README recipe, run twice, and the control without its SET LOCAL lines."""
    psql("CREATE SERVER prod FOREIGN DATA WRAPPER zcrm_bulk "
         "OPTIONS (accounts_server 'https://accounts.zoho.eu')", db=DBNAME)
    block = recipe()
    start = os.path.getsize(LOG)
    out = run_psql(SESSION_LOGGING + block + block)
    logged = log_since(start)
    made = psql("SELECT count(*) FROM pg_user_mappings WHERE srvname = 'prod' "
                "AND umoptions @> ARRAY['client_secret=%s', 'refresh_token=%s']"
                % (CLIENT_SECRET, REFRESH_TOKEN), db=DBNAME)
    check("the README recipe creates the user mapping with the secrets from the environment",
          made == "1", out)
    check("the recipe's second run fails, and the failure is logged",
          "already exists" in out and "already exists" in logged, out)
    leaked = [s for s in forms(CLIENT_SECRET) | forms(REFRESH_TOKEN) if s in logged]
    check("no form of either secret reaches the log", not leaked, repr(leaked))

    create = [line for line in block.splitlines(True)
              if line.startswith("\\getenv") or not line.startswith(("BEGIN", "SET LOCAL", "COMMIT"))]
    start = os.path.getsize(LOG)
    out = run_psql(SESSION_LOGGING + "".join(create))
    logged = log_since(start)
    check("control: the same failing statement without the recipe's SET LOCAL lines is logged "
          "with the secrets", "already exists" in out and CLIENT_SECRET in logged, out)
