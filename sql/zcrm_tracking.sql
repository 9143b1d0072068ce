--
-- zcrm_tracking: tracked jobs, the poller, and waiting for a job.
-- (Jobs that move from ADDED to COMPLETED across polls, NOTIFY, pg_cron,
-- overlapping and interrupted runs are in test/test_schedule.py, which can
-- reset the local API server.)
--
\i sql/include/prelude.psql
\getenv rt ZCRM_TEST_RT_SECRET
\getenv secret ZCRM_TEST_CLIENT_SECRET
\getenv token ZCRM_TEST_TOKEN
SET zcrm_bulk.retry_delay = '1ms';
SELECT current_setting('zcrm_bulk.api_domain') AS accounts \gset
SELECT '1000.rt.track.' || :'rt' AS rt_track \gset
CREATE SERVER track FOREIGN DATA WRAPPER zcrm_bulk OPTIONS (accounts_server :'accounts');
CREATE USER MAPPING FOR PUBLIC SERVER track
	OPTIONS (client_id '1000.CLIENTID', client_secret :'secret', refresh_token :'rt_track');

SELECT zcrm_track_job('4150868000005392002', 'track');	-- INPROGRESS
SELECT zcrm_track_job('4150868000005350003', 'track');	-- COMPLETED
SELECT zcrm_track_job('415086800000539200', 'track');	-- deleted: RESOURCE_NOT_FOUND
SELECT zcrm_track_job('1000000000000000003', 'track');	-- COMPLETED, 3 resources
SELECT zcrm_track_job('not-a-job', 'track');

CALL zcrm_poll_tracked_jobs();

SELECT job_id, connection, last_status, last_checked IS NOT NULL AS checked,
	   finished_at IS NOT NULL AS finished, last_sqlstate, last_error
FROM zcrm_tracked_job ORDER BY job_id;

SELECT job_id, status, resources FROM zcrm_job_history ORDER BY job_id, id;

-- A second run right after the first skips every job (polled less than
-- min_interval, 30 seconds by default, ago) ...
CALL zcrm_poll_tracked_jobs();
-- ... unless min_interval allows it: then it polls only the unfinished jobs
-- and records no change.
CALL zcrm_poll_tracked_jobs(min_interval => '0');
SELECT job_id, count(*) AS history_rows FROM zcrm_job_history GROUP BY job_id ORDER BY job_id;

-- Tracking a job again restarts it; the default connection is used when
-- none is given.
SELECT zcrm_track_job('4150868000005350003');
SET zcrm_bulk.default_connection = 'track';
CALL zcrm_poll_tracked_jobs(min_interval => '0');
RESET zcrm_bulk.default_connection;
SELECT job_id, connection, last_status, finished_at IS NOT NULL AS finished
FROM zcrm_tracked_job WHERE job_id = '4150868000005350003';

-- A negative min_interval is refused (1.3 re-polled the unfinished jobs in
-- a tight loop until the clock passed the start of the run minus
-- min_interval); NULL means 0.
SET statement_timeout = '10s';
CALL zcrm_poll_tracked_jobs(min_interval => '-1 s');
CALL zcrm_poll_tracked_jobs(min_interval => NULL);
RESET statement_timeout;

-- The procedure commits per batch: not inside a transaction block.
BEGIN;
CALL zcrm_poll_tracked_jobs(min_interval => '0');
ROLLBACK;

-- Waiting: a finished job returns its rows at once.
SELECT job_id, status, resource_module, added_count, total_count
FROM zcrm_write_job_wait('4150868000005350003', connection => 'track');

-- A job that does not finish in time: a NOTICE per poll, then 55000 with
-- the last status.
SELECT * FROM zcrm_write_job_wait('4150868000005392002', :'token',
								  timeout => '250 ms', poll_interval => '100 ms');
SELECT * FROM zcrm_write_job_wait('1000000000000000001', :'token',
								  timeout => '0', poll_interval => '1 s');

-- Argument checks; errors of the job itself come through.
SELECT * FROM zcrm_write_job_wait('4150868000005392002', :'token', timeout => NULL);
SELECT * FROM zcrm_write_job_wait('4150868000005392002', :'token', poll_interval => '-1 s');
-- A poll_interval under 10 ms would poll the API in a tight loop.
SELECT * FROM zcrm_write_job_wait('4150868000005392002', :'token', timeout => '1 s', poll_interval => '0');
SELECT * FROM zcrm_write_job_wait('4150868000005392002', :'token', poll_interval => '900 microseconds');
SELECT * FROM zcrm_write_job_wait('4150868000005392002', :'token', poll_interval => '9 ms');
SELECT * FROM zcrm_write_job_wait('415086800000539200', :'token');

DELETE FROM zcrm_tracked_job;
SELECT count(*) FROM zcrm_job_history;
DROP SERVER track CASCADE;
