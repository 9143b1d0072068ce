"""Token refresh through servers and user mappings, counted at the
accounts server.

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
  7. a non-superuser can read neither the cache files nor the mappings'
     secrets; the secrets appear in no output (the final scan of
     scripts/test.sh checks the logs);
  8. the token kept in backend memory follows ALTER USER MAPPING and DROP
     USER MAPPING made by another session;
  9. (issue 10, item 5) zcrm_bulk.retries does not apply to the token POST;
 10. (item 5) a cancelled refresh is finished and its token kept, so
     cancelling calls cannot use up the budget;
 11. (item 5) a failed refresh ahead of expiry leaves the still-valid token
     in use;
 12. (item 5) a terminated backend's refresh is counted;
 13. (item 12) the budget counts per refresh token: replacing a revoked one
     works at once;
 14. token files of dropped user mappings, of dropped databases and of
     zcrm_bulk 1.x are swept after the next refresh.
Prints "N passed, N failed" last.
"""

import hashlib
import os
import threading
import time

from zcrmtest import (RUN_NONCE, SEED_JOB, Session, check, create_server,
                      leaked, mock_admin, psql, wait_for_request)

RT = os.environ["ZCRM_TEST_RT_SECRET"]
SECRET = os.environ["ZCRM_TEST_CLIENT_SECRET"]
def refreshes(refresh_token):
    sha = hashlib.sha256(refresh_token.encode()).hexdigest()[:12]
    return mock_admin("/__admin/token-stats")["refreshes"].get(sha, 0)


def create(name, prefix, db=None, secret_suffix=True, repeat=1):
    """A server with a user mapping FOR PUBLIC whose refresh token is
    prefix + the run's secret (repeated "repeat" times), or prefix alone."""
    create_server(name, ("'%s'%s" % (prefix, " || :'rt'" * repeat)) if secret_suffix
                  else ("'%s'" % prefix), "zcrm_oauth_setup", db=db)
    return prefix + RT * repeat if secret_suffix else prefix


def call(name, appname="zcrm_oauth", db=None, prelude=""):
    return Session(prelude + "SELECT 'ok ' || job_id FROM zcrm_write_job('%s', connection => '%s');\n"
                   % (SEED_JOB, name), appname, db=db).finish()


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
    create("gone", "1000.rt.revoked.gone.%s" % RUN_NONCE, secret_suffix=False)
    out = call("gone")
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


def cache_dir():
    return "%s/zcrm_bulk" % psql("SHOW data_directory")


def cache_file(name, db=None):
    """The token file of server "name"'s PUBLIC mapping in database db."""
    dboid = psql("SELECT oid FROM pg_database WHERE datname = current_database()", db=db)
    umid = psql("SELECT umid FROM pg_user_mappings WHERE srvname = '%s' AND usename = 'public'"
                % name, db=db)
    return "%s/%s-%s.token" % (cache_dir(), dboid, umid)


def budget_entries(refresh_token):
    """How many refresh attempts the budget file of a refresh token holds."""
    accounts = psql("SHOW zcrm_bulk.api_domain").rstrip("/")
    key = hashlib.sha256(("%s\n1000.CLIENTID\n%s" % (accounts, refresh_token)).encode()).hexdigest()
    try:
        with open("%s/rt-%s.budget" % (cache_dir(), key[:32])) as f:
            lines = f.read().split("\n")
    except FileNotFoundError:
        return 0
    return len([x for x in lines[1].split(",") if x]) if len(lines) > 1 else 0


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


def no_secret_test(roles):
    create("noaccess", "1000.rt.noaccess.")
    roles("regress_zcrm_reader", options="LOGIN")
    out = Session("GRANT EXECUTE ON FUNCTION zcrm_write_job(text, text, text) TO regress_zcrm_reader;\n"
                  "SET ROLE regress_zcrm_reader;\n"
                  "SELECT pg_ls_dir('zcrm_bulk');\n"
                  "SELECT pg_read_file('zcrm_bulk/' || (SELECT min(f) FROM pg_ls_dir('zcrm_bulk') AS f));\n"
                  "SELECT * FROM pg_user_mapping;\n"
                  "SELECT 'options ' || coalesce(umoptions::text, 'hidden') FROM pg_user_mappings;\n"
                  "SELECT * FROM zcrm_write_job('%s', connection => 'noaccess');\n"
                  % SEED_JOB, "zcrm_oauth_reader").finish()
    denied = out.count("permission denied")
    check("a non-superuser can read neither the cache files nor pg_user_mapping nor use an ungranted server",
          denied >= 4 and RT not in out and SECRET not in out and "options hidden" in out, out)


def memory_cache_test():
    """The token a backend keeps in memory follows changes made by another
    session: ALTER USER MAPPING (the next call refreshes with the new
    refresh token, here a revoked one: 28000) and DROP USER MAPPING."""
    create("memo", "1000.rt.memo.")
    s = Session("SELECT 'first ' || job_id FROM zcrm_write_job('%s', connection => 'memo');\n"
                % SEED_JOB, "zcrm_oauth_memo", keep_open=True)
    s.wait_line("first ", 10)
    psql("ALTER USER MAPPING FOR PUBLIC SERVER memo OPTIONS (SET refresh_token '1000.rt.revoked.memo.%s')"
         % RUN_NONCE)
    s.send("SELECT 'second ' || job_id FROM zcrm_write_job('%s', connection => 'memo');\n" % SEED_JOB)
    s.wait_line("28000", 10)
    psql("DROP USER MAPPING FOR PUBLIC SERVER memo")
    s.send("SELECT 'third ' || job_id FROM zcrm_write_job('%s', connection => 'memo');\n" % SEED_JOB)
    s.close()
    out = s.finish()
    check("one session: the token in memory is dropped when another session alters the mapping",
          ("first " + SEED_JOB) in out and "ERROR:  28000" in out and ("second " + SEED_JOB) not in out, out)
    check("one session: a mapping dropped by another session is gone at once",
          'user mapping for "postgres" on server "memo" does not exist' in out
          and ("third " + SEED_JOB) not in out, out)


def token_post_once_test():
    """Item 5: zcrm_bulk.retries (which any role may set) does not apply to
    the token POST; a failing accounts server is asked once per call."""
    rt = create("once", "1000.rt.500.once.")
    out = call("once", prelude="SET zcrm_bulk.retries = 5;\nSET zcrm_bulk.retry_delay = '10ms';\n")
    n = refreshes(rt)
    check("with zcrm_bulk.retries = 5, a failing token POST is made once", n == 1 and "ERROR:  " in out,
          "refreshes %d: %s" % (n, out))


def cancelled_refresh_test(roles):
    """Item 5: a call cancelled during its refresh (the accounts server
    takes 1 s) still stores the token it obtained, so six cancelled calls
    make one refresh and another role's call then works without one.  The
    cancel takes effect once the refresh is over."""
    rt = create("cancelme", "1000.rt.slow.cancel.")
    lates = []
    for i in range(6):
        app = "zcrm_oauth_cancel_%d" % i
        s = Session("SELECT 'done ' || job_id FROM zcrm_write_job('%s', connection => 'cancelme');\n"
                    % SEED_JOB, app)
        pid = wait_for_request(app, 5)
        if pid is not None:
            t0 = time.monotonic()
            psql("SELECT pg_cancel_backend(%d)" % pid)
            t1, _ = s.wait_line("57014", 15)
            if t1 is not None:
                lates.append(t1 - t0)
        s.finish()
    n = refreshes(rt)
    roles("regress_zcrm_other_user")
    psql("GRANT EXECUTE ON FUNCTION zcrm_write_job(text, text, text) TO regress_zcrm_other_user")
    psql("GRANT USAGE ON FOREIGN SERVER cancelme TO regress_zcrm_other_user")
    out = call("cancelme", prelude="SET ROLE regress_zcrm_other_user;\n")
    after = refreshes(rt)
    print("# 6 calls cancelled during a 1 s refresh: %d refresh(es), cancels landed after %s s"
          % (n, ", ".join("%.2f" % x for x in lates)))
    check("calls cancelled during their refresh make one refresh between them", n == 1,
          "refreshes %d" % n)
    check("after six cancelled refreshes another role's call works without refreshing",
          ("ok " + SEED_JOB) in out and after == 1, "refreshes %d: %s" % (after, out))
    check("a cancel during a refresh lands once the refresh is over (under 3 s)",
          len(lates) >= 1 and max(lates) < 3.0, repr(lates))


def failed_refresh_keeps_token_test():
    """Item 5: a refresh ahead of expiry that fails (here: it outlasts
    zcrm_bulk.timeout) leaves the cached token, still valid for 200 s, in
    place and in use."""
    rt = create("keep", "1000.rt.slow.keep.")
    first = call("keep")
    path = cache_file("keep")
    with open(path) as f:
        lines = f.read().split("\n")
    token_before = hashlib.sha256(lines[5].encode()).hexdigest()
    lines[2] = str(int((time.time() + 200 - 946684800) * 1e6))
    with open(path, "w") as f:
        f.write("\n".join(lines))
    second = call("keep", prelude="SET zcrm_bulk.timeout = '300ms';\n")
    with open(path) as f:
        token_after = hashlib.sha256(f.read().split("\n")[5].encode()).hexdigest()
    n = refreshes(rt)
    check("a failed refresh ahead of expiry keeps the still-valid token: the call works",
          ("ok " + SEED_JOB) in first and ("ok " + SEED_JOB) in second and n == 2
          and token_before == token_after, "refreshes %d: %s" % (n, second))


def terminated_refresh_test():
    """Item 5: the refresh of a backend terminated while it waits for the
    accounts server is counted: with it, four more refreshes exhaust the
    budget of five."""
    rt = create("term", "1000.rt.slow.term.")
    s = Session("SELECT 'done ' || job_id FROM zcrm_write_job('%s', connection => 'term');\n"
                % SEED_JOB, "zcrm_oauth_term")
    pid = wait_for_request("zcrm_oauth_term", 5)
    if pid is not None:
        psql("SELECT pg_terminate_backend(%d)" % pid)
    s.finish()
    recorded = budget_entries(rt)
    outs = []
    for _ in range(6):
        mock_admin("/__admin/revoke-access-tokens", "POST")
        outs.append(call("term"))
    n = refreshes(rt)
    limited = [o for o in outs if "53400" in o]
    print("# a terminated refresh, then 6 forced ones: %d refreshes reached the server, %d calls stopped"
          % (n, len(limited)))
    check("a terminated backend's refresh is recorded in the budget", pid is not None and recorded == 1,
          "pid %r, budget entries %d" % (pid, recorded))
    check("a terminated backend's refresh counts: 5 refreshes in all reach the server",
          n == 5 and len(limited) == 2, "refreshes %d, %r" % (n, outs))


def replaced_refresh_token_test():
    """Item 12: the budget counts per refresh token, as Zoho does: after a
    revoked refresh token used it up, the replacement works at once."""
    create("replaced", "1000.rt.revoked.replaced.%s" % RUN_NONCE, secret_suffix=False)
    outs = [call("replaced") for _ in range(6)]
    rejected = sum("28000" in o for o in outs)
    limited = sum("53400" in o for o in outs)
    psql("ALTER USER MAPPING FOR PUBLIC SERVER replaced OPTIONS (SET refresh_token '1000.rt.replaced.%s')" % RT)
    out = call("replaced")
    check("a revoked refresh token is refused 5 times, then the budget stops it",
          rejected == 5 and limited == 1, repr(outs))
    check("the replacement refresh token works at once (its own budget)",
          ("ok " + SEED_JOB) in out, out)


def sweep_test():
    """Token files of dropped user mappings and databases, and files of
    zcrm_bulk 1.x, are removed after the next refresh."""
    create("sweep1", "1000.rt.sweep1.")
    call("sweep1")
    gone_mapping = cache_file("sweep1")
    psql("DROP SERVER sweep1 CASCADE")
    psql("DROP DATABASE IF EXISTS zcrm_sweep_db", db="postgres")
    psql("CREATE DATABASE zcrm_sweep_db", db="postgres")
    psql("CREATE EXTENSION zcrm_bulk", db="zcrm_sweep_db")
    create("sweep2", "1000.rt.sweep2.", db="zcrm_sweep_db")
    call("sweep2", db="zcrm_sweep_db")
    gone_db = cache_file("sweep2", db="zcrm_sweep_db")
    psql("DROP DATABASE zcrm_sweep_db", db="postgres")
    legacy = "%s/%s-%s.token" % (cache_dir(), psql("SELECT oid FROM pg_database WHERE datname = current_database()"),
                                 "0123456789abcdef0123456789abcdef")
    with open(legacy, "w") as f:
        f.write("zcrm_bulk token cache 1\n")
    existed = [os.path.exists(p) for p in (gone_mapping, gone_db, legacy)]
    create("sweep3", "1000.rt.sweep3.")
    call("sweep3")
    kept = cache_file("sweep3")
    left = [os.path.exists(p) for p in (gone_mapping, gone_db, legacy)]
    check("after a refresh, token files of a dropped mapping, a dropped database and 1.x are gone",
          existed == [True, True, True] and left == [False, False, False] and os.path.exists(kept),
          "before %r, after %r" % (existed, left))
