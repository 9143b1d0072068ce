"""Nothing is lost across pg_dump and restore (issue 10, item 9).

A database holding servers (one owned by a role), user mappings (FOR
PUBLIC and for a role), grants, tracked jobs and their history is dumped
with pg_dump; a second, fresh cluster gets the same role names (from
pg_dumpall --roles-only) and the dump is restored into it with pg_restore.
Asserted there:
  1. the servers keep their owners, options and grants, the mappings their
     options, and the tracked jobs and history their rows;
  2. a call through the restored server works (a new token is fetched: the
     token cache lives in the first cluster's data directory);
  3. polling carries on: a poll of the restored tracked jobs succeeds and
     the history grows;
  4. DROP ROLE of a server's owner is refused in both clusters;
  5. a job tracked by a role keeps its tracker by role name (tracked_by is
     a regrole: the role's OID in the second cluster differs), and that
     role sees it there (grants and row-level security restored).
Needs the test cluster (PGHOST, PGPORT), ZCRM_PGBIN, and the local API
server; the second cluster runs on PGPORT + 7 in ZCRM_RESTORE_DIR.
Prints "N passed, N failed" last.
"""

import os
import shutil
import subprocess

from zcrmtest import SEED_JOB, check, create_server, psql

DBNAME = "zcrm_dump_test"
DB = DBNAME              # test/conftest.py creates it, with zcrm_bulk
PGBIN = os.environ.get("ZCRM_PGBIN", "/usr/lib/postgresql/15/bin")
RESTORE_DIR = os.environ.get("ZCRM_RESTORE_DIR", "/tmp/zcrm_bulk.restore")
RESTORE_PORT = str(int(os.environ.get("PGPORT", "54329")) + 7)
SECRETS = ("ZCRM_TEST_TOKEN", "ZCRM_TEST_SLASH_TOKEN", "ZCRM_TEST_RT_SECRET", "ZCRM_TEST_CLIENT_SECRET")


def run(cmd, env=None, check_rc=True):
    """Run a command as the postgres OS user, without the test secrets in
    its environment; return its output."""
    e = dict(env or os.environ)
    for k in SECRETS:
        e.pop(k, None)
    out = subprocess.run(["runuser", "-u", "postgres", "--"] + cmd, env=e,
                         capture_output=True, text=True)
    if check_rc and out.returncode != 0:
        raise RuntimeError("%s failed: %s%s" % (cmd[0], out.stdout, out.stderr))
    return out.stdout + out.stderr


def restored_env():
    return dict(os.environ, PGHOST=RESTORE_DIR, PGPORT=RESTORE_PORT)


def psql2(sql, db=DBNAME):
    """One statement in the restored cluster; its output (errors included)."""
    env = restored_env()
    out = subprocess.run(["psql", "-X", "-At", "-d", db, "-c", sql], env=env,
                         capture_output=True, text=True)
    return (out.stdout + out.stderr).strip()


def start_restore_cluster():
    stop_restore_cluster()
    shutil.rmtree(RESTORE_DIR, ignore_errors=True)
    os.makedirs(RESTORE_DIR)
    shutil.chown(RESTORE_DIR, "postgres", "postgres")
    os.chmod(RESTORE_DIR, 0o700)
    run([PGBIN + "/initdb", "-D", RESTORE_DIR + "/data", "-U", "postgres", "-A", "trust",
         "-E", "UTF8", "--locale=C.UTF-8", "--no-sync"])
    api = psql("SHOW zcrm_bulk.api_domain", db="postgres")
    conf = ("port = %s\nlisten_addresses = ''\nunix_socket_directories = '%s'\n"
            "fsync = off\nzcrm_bulk.api_domain = '%s'\n" % (RESTORE_PORT, RESTORE_DIR, api))
    with open(RESTORE_DIR + "/data/postgresql.conf", "a") as f:
        f.write(conf)
    run([PGBIN + "/pg_ctl", "-D", RESTORE_DIR + "/data", "-l", RESTORE_DIR + "/postgres.log",
         "-w", "-t", "60", "start"])


def stop_restore_cluster():
    if os.path.exists(RESTORE_DIR + "/data/postmaster.pid"):
        run([PGBIN + "/pg_ctl", "-D", RESTORE_DIR + "/data", "-m", "immediate", "-w", "stop"],
            check_rc=False)


STATE_SQL = ("SELECT string_agg(format('%s|%s|%s|%s', srvname, srvowner::regrole, "
             "array_to_string(srvoptions, ','), array_to_string(srvacl, ',')), ';' ORDER BY srvname) "
             "FROM pg_foreign_server")
MAPPINGS_SQL = ("SELECT string_agg(format('%s|%s|%s', srvname, usename, md5(umoptions::text)), ';' "
                "ORDER BY srvname, usename) FROM pg_user_mappings")
TRACKERS_SQL = ("SELECT string_agg(job_id || '|' || tracked_by::text, ';' ORDER BY job_id) "
                "FROM zcrm_tracked_job")
ROLE_OID_SQL = "SELECT oid FROM pg_roles WHERE rolname = 'regress_zcrm_dump_user'"
AS_USER_SQL = ("SET ROLE regress_zcrm_dump_user; "
               "SELECT string_agg(job_id, ';' ORDER BY job_id) FROM zcrm_tracked_job")
TRACK_SQL = ("SELECT format('%s jobs %s history', (SELECT count(*) FROM zcrm_tracked_job), "
             "(SELECT count(*) FROM zcrm_job_history))")


def dump_test(roles):
    """Servers, mappings and tracked jobs through pg_dump/pg_dumpall --roles-only
    and pg_restore into a second cluster."""
    roles("regress_zcrm_dump_owner", "regress_zcrm_dump_user")
    create_server("dumped", "'1000.rt.dump.' || :'rt'", "zcrm_dump_setup", db=DBNAME)
    psql("GRANT USAGE ON FOREIGN SERVER dumped TO regress_zcrm_dump_user", db=DBNAME)
    psql("GRANT USAGE ON FOREIGN DATA WRAPPER zcrm_bulk TO regress_zcrm_dump_owner", db=DBNAME)
    psql("SET ROLE regress_zcrm_dump_owner; "
         "CREATE SERVER zoho_eu FOREIGN DATA WRAPPER zcrm_bulk "
         "OPTIONS (accounts_server 'https://accounts.zoho.eu', api_domain 'https://www.zohoapis.eu'); "
         "CREATE USER MAPPING FOR regress_zcrm_dump_owner SERVER zoho_eu "
         "OPTIONS (client_id '1000.EU', client_secret 'dump-test-secret', refresh_token '1000.dump-test-rt')",
         db=DBNAME)
    psql("SELECT zcrm_track_job('%s', 'dumped')" % SEED_JOB, db=DBNAME)
    psql("SELECT zcrm_track_job('4150868000005350003', 'dumped')", db=DBNAME)
    psql("GRANT EXECUTE ON FUNCTION zcrm_track_job(text, text), "
         "zcrm_write_jobs(text[], text, text, text) TO regress_zcrm_dump_user; "
         "GRANT SELECT, INSERT, UPDATE ON zcrm_tracked_job TO regress_zcrm_dump_user; "
         "GRANT SELECT ON zcrm_job_history TO regress_zcrm_dump_user", db=DBNAME)
    psql("SET ROLE regress_zcrm_dump_user; SELECT zcrm_track_job('1000000000000000003', 'dumped')",
         db=DBNAME)
    psql("CALL zcrm_poll_tracked_jobs(min_interval => '0')", db=DBNAME)
    before = [psql(q, db=DBNAME) for q in (STATE_SQL, MAPPINGS_SQL, TRACK_SQL, TRACKERS_SQL,
                                           ROLE_OID_SQL, AS_USER_SQL)]

    dump = RESTORE_DIR + ".dump"
    roles_sql = RESTORE_DIR + ".roles.sql"
    for path in (dump, roles_sql):
        if os.path.exists(path):
            os.unlink(path)
    subprocess.run([PGBIN + "/pg_dump", "-Fc", "-d", DBNAME, "-f", dump], check=True)
    subprocess.run([PGBIN + "/pg_dumpall", "--roles-only", "-f", roles_sql], check=True)
    os.chmod(dump, 0o644)
    os.chmod(roles_sql, 0o644)

    start_restore_cluster()
    try:
        env = restored_env()
        subprocess.run(["psql", "-X", "-q", "-d", "postgres", "-f", roles_sql], env=env,
                       capture_output=True, text=True)
        psql2("CREATE DATABASE %s" % DBNAME, db="postgres")
        restore = subprocess.run([PGBIN + "/pg_restore", "-d", DBNAME, dump], env=env,
                                 capture_output=True, text=True)
        after = [psql2(q) for q in (STATE_SQL, MAPPINGS_SQL, TRACK_SQL, TRACKERS_SQL,
                                    ROLE_OID_SQL, AS_USER_SQL)]
        print("# before: %s" % before[0])
        check("pg_restore reports no error", restore.returncode == 0, restore.stderr)
        check("servers keep their owners, options and grants", before[0] == after[0] and before[0],
              "%r / %r" % (before[0], after[0]))
        check("user mappings keep their options (compared by hash)", before[1] == after[1] and before[1],
              "%r / %r" % (before[1], after[1]))
        check("tracked jobs and their history are restored", before[2] == after[2], "%r / %r" % (before[2], after[2]))
        print("# trackers: %s; regress_zcrm_dump_user's OID %s, then %s" % (before[3], before[4], after[4]))
        check("a tracked job keeps its tracker by role name, and that role sees it",
              before[3] == after[3] and "1000000000000000003|regress_zcrm_dump_user" in before[3]
              and before[4] != after[4]
              and after[5].split()[-1] == before[5].split()[-1] == "1000000000000000003",
              "%r / %r; %r / %r" % (before[3], after[3], before[5], after[5]))
        out = psql2("SELECT 'ok ' || job_id FROM zcrm_write_job('%s', connection => 'dumped')" % SEED_JOB)
        check("a call through the restored server works", ("ok " + SEED_JOB) in out, out)
        out = psql2("CALL zcrm_poll_tracked_jobs(min_interval => '0')")
        track = psql2("SELECT format('%s polled, %s errors', count(last_checked), count(last_error)) "
                      "FROM zcrm_tracked_job")
        history = psql2("SELECT count(*) FROM zcrm_job_history")
        check("polling carries on in the restored database",
              "ERROR" not in out and int(history) >= int(before[2].split()[2]),
              "%s; %s; history %s" % (out, track, history))
        refused = subprocess.run(["psql", "-X", "-At", "-d", "postgres", "-c",
                                  "DROP ROLE regress_zcrm_dump_owner"],
                                 capture_output=True, text=True).stderr
        refused2 = psql2("DROP ROLE regress_zcrm_dump_owner", db="postgres")
        check("DROP ROLE of a server's owner is refused, before and after the restore",
              "cannot be dropped because some objects depend on it" in refused
              and "cannot be dropped because some objects depend on it" in refused2,
              "%s / %s" % (refused, refused2))
    finally:
        stop_restore_cluster()
        for path in (dump, roles_sql):
            if os.path.exists(path):
                os.unlink(path)
