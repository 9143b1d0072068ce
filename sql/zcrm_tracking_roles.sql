--
-- zcrm_tracking_roles: a tracked job belongs to the role that tracked it
-- (issue 10, item 2).  It is fetched with that role's rights (the
-- connections it may use, its EXECUTE), no other role can see, re-point or
-- re-track it, and its history is visible to that role only (and to the
-- roles it is a member of, superusers and the extension owner).
--
\i sql/include/prelude.psql
\getenv rt ZCRM_TEST_RT_SECRET
\getenv secret ZCRM_TEST_CLIENT_SECRET
SET zcrm_bulk.retry_delay = '1ms';

-- The one place that knows how a connection is made and granted:
-- zcrm_test_connection(name, client secret, refresh token, grantee) makes a
-- server of the local API server.  With a grantee: USAGE for it and a user
-- mapping of its own, none for anyone else.  Without: a mapping FOR PUBLIC
-- and no USAGE, so that only superusers may use it.
CREATE FUNCTION pg_temp.zcrm_test_connection(name text, secret text, rt text, grantee regrole)
RETURNS void LANGUAGE plpgsql AS $$
BEGIN
	EXECUTE format('CREATE SERVER %I FOREIGN DATA WRAPPER zcrm_bulk OPTIONS (accounts_server %L)',
				   name, current_setting('zcrm_bulk.api_domain'));
	IF grantee IS NOT NULL THEN
		EXECUTE format('GRANT USAGE ON FOREIGN SERVER %I TO %s', name, grantee);
	END IF;
	EXECUTE format('CREATE USER MAPPING FOR %s SERVER %I OPTIONS (client_id %L, client_secret %L, refresh_token %L)',
				   coalesce(grantee::text, 'PUBLIC'), name, '1000.CLIENTID', secret,
				   '1000.rt.' || name || '.' || rt);
END
$$;

CREATE ROLE regress_zcrm_alice;
CREATE ROLE regress_zcrm_bob;
CREATE ROLE regress_zcrm_carol;
CREATE ROLE regress_zcrm_poller IN ROLE regress_zcrm_alice;	-- may act as alice, not as bob
GRANT EXECUTE ON FUNCTION zcrm_track_job(text, text),
	zcrm_write_jobs(text[], text, text, text)
	TO regress_zcrm_alice, regress_zcrm_bob, regress_zcrm_carol;
-- Table privileges do not open other roles' rows: row-level security.
GRANT SELECT, INSERT, UPDATE, DELETE ON zcrm_tracked_job
	TO regress_zcrm_alice, regress_zcrm_bob, regress_zcrm_carol, regress_zcrm_poller;
GRANT SELECT ON zcrm_job_history TO regress_zcrm_alice, regress_zcrm_bob, regress_zcrm_poller;
GRANT INSERT ON zcrm_job_history TO regress_zcrm_poller;
GRANT USAGE ON SEQUENCE zcrm_job_history_id_seq TO regress_zcrm_poller;
GRANT EXECUTE ON PROCEDURE zcrm_poll_tracked_jobs(interval, integer, integer, integer)
	TO regress_zcrm_poller;

SELECT pg_temp.zcrm_test_connection('prod', :'secret', :'rt', NULL);	-- superusers only
SELECT pg_temp.zcrm_test_connection('alices', :'secret', :'rt', 'regress_zcrm_alice');
SELECT pg_temp.zcrm_test_connection('bobs', :'secret', :'rt', 'regress_zcrm_bob');
-- 'lent': a mapping FOR PUBLIC, USAGE for alice until it is revoked below
SELECT pg_temp.zcrm_test_connection('lent', :'secret', :'rt', NULL);
GRANT USAGE ON FOREIGN SERVER lent TO regress_zcrm_alice;

-- Alice may not track a job through a connection she may not use (nor
-- through one that does not exist) ...
SET ROLE regress_zcrm_alice;
SELECT zcrm_track_job('4150868000005392002', 'prod');
SELECT zcrm_track_job('4150868000005392002', 'nosuch');
-- ... so she tracks it through one she may use until a superuser revokes
-- it, and another job through her own; bob tracks one through his.
SELECT zcrm_track_job('4150868000005392002', 'lent');
SELECT zcrm_track_job('4150868000005350003', 'alices');
RESET ROLE;
REVOKE USAGE ON FOREIGN SERVER lent FROM regress_zcrm_alice;
SET ROLE regress_zcrm_bob;
SELECT zcrm_track_job('1000000000000000003', 'bobs');
-- Bob sees only his own job, and can neither re-track nor re-point
-- alice's, nor track one in her name.
SELECT job_id, connection, tracked_by FROM zcrm_tracked_job ORDER BY job_id;
SELECT zcrm_track_job('4150868000005350003', 'bobs');
UPDATE zcrm_tracked_job SET connection = 'bobs' WHERE job_id = '4150868000005350003' RETURNING job_id;
DELETE FROM zcrm_tracked_job WHERE job_id = '4150868000005350003' RETURNING job_id;
INSERT INTO zcrm_tracked_job (job_id, tracked_by) VALUES ('1000000000000000002', 'regress_zcrm_alice');
UPDATE zcrm_tracked_job SET tracked_by = 'regress_zcrm_alice' WHERE job_id = '1000000000000000003';
RESET ROLE;
SELECT job_id, connection, tracked_by FROM zcrm_tracked_job ORDER BY job_id;

-- A superuser's poll fetches each job as the role that tracked it: alice's
-- job through 'lent' fails as it would for her, and is not fetched.
CALL zcrm_poll_tracked_jobs(min_interval => '0');
SELECT job_id, tracked_by, last_status, finished_at IS NOT NULL AS finished,
	   last_sqlstate, last_error
FROM zcrm_tracked_job ORDER BY job_id;

-- Alice's other job was fetched with her own user mapping of 'alices': the
-- superuser who polled has none there.
DO $$
BEGIN
	PERFORM FROM zcrm_write_jobs(ARRAY['4150868000005350003'], connection => 'alices');
	RAISE NOTICE 'the superuser fetched through alices';
EXCEPTION WHEN OTHERS THEN
	RAISE NOTICE 'the superuser cannot fetch through alices: %', SQLSTATE;
END
$$;

-- Each role reads its own history only.
SET ROLE regress_zcrm_alice;
SELECT job_id, status FROM zcrm_job_history ORDER BY job_id;
SET ROLE regress_zcrm_bob;
SELECT job_id, status FROM zcrm_job_history ORDER BY job_id;
RESET ROLE;

-- The tracker can re-track (and re-point) its own job.
SET ROLE regress_zcrm_alice;
SELECT zcrm_track_job('4150868000005392002', 'alices');
RESET ROLE;

-- A poller that is not a superuser polls only the jobs of the roles it is
-- a member of (alice's), as session user ...
UPDATE zcrm_tracked_job SET last_checked = NULL, finished_at = NULL;
SET SESSION AUTHORIZATION regress_zcrm_poller;
SET statement_timeout = '10s';
CALL zcrm_poll_tracked_jobs(min_interval => '0');
RESET statement_timeout;
RESET SESSION AUTHORIZATION;
SELECT job_id, tracked_by, last_checked IS NOT NULL AS checked, last_status, last_sqlstate
FROM zcrm_tracked_job ORDER BY job_id;
-- ... and after SET ROLE in a superuser's session, which it keeps: after
-- each fetch as the tracker it returns to the session's role (not to the
-- session user, which 'none' would give).  A trigger of the test's notes
-- who writes the history rows.
CREATE TABLE public.zcrm_history_writers (who name);
GRANT INSERT ON public.zcrm_history_writers TO PUBLIC;
CREATE FUNCTION public.zcrm_note_writer() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
	INSERT INTO public.zcrm_history_writers VALUES (current_user);
	RETURN NEW;
END
$$;
CREATE TRIGGER zcrm_note_writer AFTER INSERT ON zcrm_job_history
	FOR EACH ROW EXECUTE FUNCTION public.zcrm_note_writer();
UPDATE zcrm_tracked_job SET last_checked = NULL, finished_at = NULL;
DELETE FROM zcrm_job_history;
SET ROLE regress_zcrm_poller;
CALL zcrm_poll_tracked_jobs(min_interval => '0');
SELECT current_user;
RESET ROLE;
SELECT job_id, last_checked IS NOT NULL AS checked FROM zcrm_tracked_job ORDER BY job_id;
SELECT who, count(*) FROM public.zcrm_history_writers GROUP BY who;
DROP TRIGGER zcrm_note_writer ON zcrm_job_history;
DROP FUNCTION public.zcrm_note_writer();
DROP TABLE public.zcrm_history_writers;

-- A dropped role leaves its jobs behind; polling them records an error.
SET ROLE regress_zcrm_carol;
SELECT zcrm_track_job('1000000000000000002');
RESET ROLE;
DROP OWNED BY regress_zcrm_carol;
DROP ROLE regress_zcrm_carol;
DELETE FROM zcrm_tracked_job WHERE job_id <> '1000000000000000002';
CALL zcrm_poll_tracked_jobs(min_interval => '0');
SELECT job_id, last_sqlstate, regexp_replace(last_error, '[0-9]+', 'N') AS last_error
FROM zcrm_tracked_job;

DELETE FROM zcrm_tracked_job;
DROP SERVER prod CASCADE;
DROP SERVER lent CASCADE;
DROP SERVER alices CASCADE;
DROP SERVER bobs CASCADE;
DROP OWNED BY regress_zcrm_alice, regress_zcrm_bob, regress_zcrm_poller;
DROP ROLE regress_zcrm_poller;
DROP ROLE regress_zcrm_alice;
DROP ROLE regress_zcrm_bob;

-- Jobs tracked before 2.0 belong to the extension owner after the update.
SELECT current_database() AS regress_db \gset
CREATE DATABASE regress_zcrm_upgrade;
\c regress_zcrm_upgrade
SET client_min_messages = warning;
CREATE ROLE regress_zcrm_extowner SUPERUSER;
SET ROLE regress_zcrm_extowner;
CREATE EXTENSION zcrm_bulk VERSION '1.3';
RESET ROLE;
SELECT zcrm_track_job('4150868000005392002');
ALTER EXTENSION zcrm_bulk UPDATE;
SELECT job_id, tracked_by FROM zcrm_tracked_job;
SELECT zcrm_track_job('4150868000005350003');
SELECT job_id, tracked_by::text = current_user AS tracked_by_me FROM zcrm_tracked_job ORDER BY job_id;
\c :regress_db
DROP DATABASE regress_zcrm_upgrade;
DROP ROLE regress_zcrm_extowner;
