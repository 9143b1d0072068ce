#!/usr/bin/env python3
"""Token refresh of named connections, counted at the accounts server.

The local API server doubles as the accounts server; /__admin/token-stats
counts refresh requests per refresh token.  Asserted:
  1. 50 sessions in a row make 1 refresh;
  2. 8 concurrent sessions with a cold cache make 1 refresh between them
     (the accounts server takes 1 s to answer, so they all overlap);
  3. an expired token (lifetime 2 s) is refreshed, and one with less than
     five minutes left is refreshed ahead of expiry; expires_in_sec and a
     missing expires_in give the right lifetime;
  4. a cached token the API rejects (INVALID_TOKEN) is refreshed once and the
     call retried once, and succeeds;
  5. however often the API rejects fresh tokens, no more than 5 refreshes
     happen in ten minutes (Zoho allows 10);
  6. a revoked refresh token gives 28000; a token endpoint that quotes the
     refresh token and the client secret back (also encoded, and many
     times over) gets them redacted;
  7. a non-superuser cannot read the cache file; the secrets appear in no
     output (the final scan of scripts/test.sh checks the logs);
  8. the backend's cache of the connection tables' location and of the
     plans that read them follows DROP EXTENSION, CREATE EXTENSION in
     another schema and a change of the tables' owner in the same session.
Prints "N passed, N failed" last.
"""

import hashlib
import os
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from backend_test import (SEED_JOB, Session, check, leaked,  # noqa: E402
                          mock_admin, psql, run_suite)

RT = os.environ["ZCRM_TEST_RT_SECRET"]
SECRET = os.environ["ZCRM_TEST_CLIENT_SECRET"]
PRELUDE = ("\\getenv rt ZCRM_TEST_RT_SECRET\n\\getenv secret ZCRM_TEST_CLIENT_SECRET\n"
           "SELECT current_setting('zcrm_bulk.api_domain') AS accounts \\gset\n")


def refreshes(refresh_token):
    sha = hashlib.sha256(refresh_token.encode()).hexdigest()[:12]
    return mock_admin("/__admin/token-stats")["refreshes"].get(sha, 0)


def create(name, prefix, repeat=1):
    """A connection whose refresh token is prefix + the run's secret
    (repeated "repeat" times)."""
    Session("SELECT zcrm_connection_create('%s', '1000.CLIENTID', :'secret', '%s'%s, :'accounts');\n"
            % (name, prefix, " || :'rt'" * repeat), "zcrm_oauth_setup", prelude=PRELUDE).finish()
    return prefix + RT * repeat


def call(name, appname="zcrm_oauth"):
    return Session("SELECT 'ok ' || job_id FROM zcrm_write_job('%s', connection => '%s');\n"
                   % (SEED_JOB, name), appname).finish()


def sequential_test():
    rt = create("seq", "1000.rt.seq.")
    outs = [call("seq") for _ in range(50)]
    ok = sum(("ok " + SEED_JOB) in o for o in outs)
    n = refreshes(rt)
    print("# 50 sessions in a row: %d succeeded, %d refresh(es)" % (ok, n))
    check("50 sessions in a row all succeed", ok == 50, outs[-1])
    check("50 sessions in a row make 1 refresh", n == 1, "refreshes %d" % n)


def concurrent_test():
    rt = create("cold", "1000.rt.slow.")
    outs = [None] * 8

    def run(i):
        outs[i] = call("cold", "zcrm_oauth_cold_%d" % i)

    threads = [threading.Thread(target=run, args=(i,)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    ok = sum(o is not None and ("ok " + SEED_JOB) in o for o in outs)
    n = refreshes(rt)
    print("# 8 concurrent sessions, cold cache, 1 s refresh: %d succeeded, %d refresh(es)" % (ok, n))
    check("8 concurrent sessions with a cold cache all succeed", ok == 8, repr(outs))
    check("8 concurrent sessions with a cold cache make 1 refresh", n == 1, "refreshes %d" % n)


def expiry_test():
    rt = create("expiring", "1000.rt.short.")
    first = call("expiring")
    time.sleep(2.5)
    second = call("expiring")
    n = refreshes(rt)
    check("an expired token is refreshed and the call succeeds",
          ("ok " + SEED_JOB) in first and ("ok " + SEED_JOB) in second and n == 2,
          "refreshes %d: %s %s" % (n, first, second))


def rejected_token_test():
    rt = create("rejected", "1000.rt.rej.")
    first = call("rejected")
    mock_admin("/__admin/revoke-access-tokens", "POST")
    before = len([r for r in mock_admin("/__admin/requests") if r.get("kind") == "api"])
    second = call("rejected")
    api = len([r for r in mock_admin("/__admin/requests") if r.get("kind") == "api"]) - before
    n = refreshes(rt)
    check("a cached token the API rejects is refreshed once and the call retried once",
          ("ok " + SEED_JOB) in first and ("ok " + SEED_JOB) in second and n == 2 and api == 2,
          "refreshes %d, API requests %d: %s" % (n, api, second))


def refresh_limit_test():
    rt = create("limited", "1000.rt.lim.")
    outs = []
    for _ in range(7):
        outs.append(call("limited"))
        mock_admin("/__admin/revoke-access-tokens", "POST")
    n = refreshes(rt)
    limited = [o for o in outs if "53400" in o or "refreshed 5 times in ten minutes" in o]
    print("# 7 calls whose tokens are all revoked: %d refreshes, %d calls stopped by the limit"
          % (n, len(limited)))
    check("no more than 5 refreshes in ten minutes, whatever the API says",
          n == 5 and len(limited) >= 1, "refreshes %d, outputs %r" % (n, outs))


def revoked_test():
    Session("SELECT zcrm_connection_create('gone', '1000.CLIENTID', :'secret', '1000.rt.revoked', :'accounts');\n",
            "zcrm_oauth_setup", prelude=PRELUDE).finish()
    out = Session("\\set VERBOSITY verbose\nSELECT * FROM zcrm_write_job('%s', connection => 'gone');\n"
                  % SEED_JOB, "zcrm_oauth").finish()
    check("a revoked refresh token gives 28000", "ERROR:  28000" in out, out)


def echo_test():
    """A token endpoint whose error description quotes the refresh token
    40 times over (so that a cut made before every secret is scrubbed
    leaves part of one), then in every encoded form, and the client secret
    in every form: the 28000 error holds neither, in no form and not in
    part."""
    rt = create("echo", "1000.rt.echo.", repeat=2)
    out = call("echo", "zcrm_oauth_echo")
    found = leaked(out, [rt, SECRET])
    check("a token error quoting the refresh token and client secret: 28000, [redacted]",
          "28000" in out and "[redacted]" in out and "invalid_scope" in out,
          out if not found else "(output withheld: it holds a secret)")
    check("a token error quoting the secrets holds no copy of them, in no form and not in part",
          not found, "%d copies found" % len(found))


def cache_file(name):
    datadir = psql("SHOW data_directory")
    dboid = psql("SELECT oid FROM pg_database WHERE datname = current_database()")
    return "%s/zcrm_bulk/%s-%s.token" % (datadir, dboid,
                                         hashlib.sha256(name.encode()).hexdigest()[:32])


def ahead_of_expiry_test():
    """A token with less than five minutes left is refreshed before it
    expires: the cache file is edited to say the token has 200 s left."""
    rt = create("ahead", "1000.rt.ahead.")
    call("ahead")
    path = cache_file("ahead")
    with open(path) as f:
        lines = f.read().split("\n")
    lines[2] = str(int((time.time() + 200 - 946684800) * 1e6))
    with open(path, "r+") as f:
        f.seek(0)
        f.write("\n".join(lines))
        f.truncate()
    second = call("ahead")
    third = call("ahead")
    n = refreshes(rt)
    check("a token with 200 s left is refreshed ahead of expiry, then reused",
          ("ok " + SEED_JOB) in second and ("ok " + SEED_JOB) in third and n == 2,
          "refreshes %d" % n)


def cached_lifetime(name):
    """Seconds until the cached token of connection "name" expires, read
    from the cache file (as root)."""
    with open(cache_file(name)) as f:
        lines = f.read().split("\n")
    # expires_at is in PostgreSQL microseconds since 2000-01-01
    expires_unix = int(lines[2]) / 1e6 + 946684800
    return expires_unix - time.time()


def lifetime_test():
    """expires_in_sec wins (expires_in is then in milliseconds); a reply
    without expires_in is taken to last an hour."""
    for name, prefix in (("sec", "1000.rt.sec."), ("noexp", "1000.rt.noexp."), ("normal", "1000.rt.n.")):
        create(name, prefix)
        out = call(name)
        left = cached_lifetime(name)
        print("# connection %s: cached token expires in %.0f s" % (name, left))
        check("token lifetime of a %s reply is taken as one hour" % prefix,
              ("ok " + SEED_JOB) in out and 3500 < left <= 3600, "%r %s" % (left, out))


def no_secret_test():
    out = Session("CREATE ROLE regress_zcrm_reader LOGIN;\n"
                  "GRANT EXECUTE ON FUNCTION zcrm_write_job(text, text, text) TO regress_zcrm_reader;\n"
                  "SET ROLE regress_zcrm_reader;\n"
                  "SELECT pg_ls_dir('zcrm_bulk');\n"
                  "SELECT pg_read_file('zcrm_bulk/' || (SELECT min(f) FROM pg_ls_dir('zcrm_bulk') AS f));\n"
                  "SELECT * FROM zcrm_connection;\n"
                  "SELECT * FROM zcrm_write_job('%s', connection => 'seq');\n"
                  "RESET ROLE;\n"
                  "REVOKE ALL ON FUNCTION zcrm_write_job(text, text, text) FROM regress_zcrm_reader;\n"
                  "DROP ROLE regress_zcrm_reader;\n" % SEED_JOB, "zcrm_oauth_reader").finish()
    denied = out.count("permission denied")
    check("a non-superuser can read neither the cache files nor the tables nor use an ungranted connection",
          denied >= 4 and RT not in out and SECRET not in out, out)


def table_cache_test():
    """A backend caches where the connection tables are and keeps the plans
    that read them; DROP EXTENSION and CREATE EXTENSION in another schema,
    in the same session, must be followed (a stale cache would look in the
    old schema, or run a dropped plan)."""
    script = (PRELUDE +
              "SELECT zcrm_connection_create('cachea', '1000.CLIENTID', :'secret', "
              "'1000.rt.' || :'rt', :'accounts');\n"
              "SELECT 'first ' || job_id FROM zcrm_write_job('%s', connection => 'cachea');\n"
              "DROP EXTENSION zcrm_bulk;\n"
              "CREATE SCHEMA zcrm_elsewhere;\n"
              "CREATE EXTENSION zcrm_bulk SCHEMA zcrm_elsewhere;\n"
              "SELECT 'gone ' || count(*) FROM zcrm_elsewhere.zcrm_connections();\n"
              "SELECT zcrm_elsewhere.zcrm_connection_create('cacheb', '1000.CLIENTID', :'secret', "
              "'1000.rt.' || :'rt', :'accounts');\n"
              "SELECT 'second ' || job_id FROM zcrm_elsewhere.zcrm_write_job('%s', connection => 'cacheb');\n"
              "SELECT 'old ' || job_id FROM zcrm_elsewhere.zcrm_write_job('%s', connection => 'cachea');\n"
              "ALTER TABLE zcrm_elsewhere.zcrm_connection OWNER TO regress_zcrm_cache_owner;\n"
              "SELECT 'third ' || job_id FROM zcrm_elsewhere.zcrm_write_job('%s', connection => 'cacheb');\n"
              "DROP EXTENSION zcrm_bulk;\n"
              "DROP SCHEMA zcrm_elsewhere;\n"
              "CREATE EXTENSION zcrm_bulk;\n" % (SEED_JOB, SEED_JOB, SEED_JOB, SEED_JOB))
    psql("CREATE ROLE regress_zcrm_cache_owner")
    try:
        out = Session(script, "zcrm_oauth_cache").finish()
    finally:
        psql("DROP ROLE regress_zcrm_cache_owner")
    check("one session: a connection call, DROP EXTENSION, CREATE EXTENSION in another "
          "schema, a new connection works and the dropped one is unknown",
          ("first " + SEED_JOB) in out and "gone 0" in out and ("second " + SEED_JOB) in out
          and 'Zoho CRM connection "cachea" does not exist' in out, out)
    # The statements now run as the new owner, who may not use the schema:
    # a cache that missed the change would still run them as postgres.
    check("after ALTER TABLE ... OWNER TO in the same session, the connection tables "
          "are read as their new owner",
          ("third " + SEED_JOB) not in out
          and "permission denied for schema zcrm_elsewhere" in out, out)


if __name__ == "__main__":
    mock_admin("/__admin/reset", "POST")
    sys.exit(run_suite([sequential_test, concurrent_test, expiry_test, rejected_token_test, echo_test,
                        refresh_limit_test, revoked_test, lifetime_test, ahead_of_expiry_test,
                        no_secret_test, table_cache_test]))
