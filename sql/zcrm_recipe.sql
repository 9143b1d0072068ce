--
-- zcrm_recipe: the pg_cron recipe of README.md works as written.  The
-- recipe is read from the README (see the Makefile); only the
-- cron.schedule() call is left out, pg_cron itself being tested elsewhere.
-- Its server 'prod' points at the local API server here.
--
\i sql/include/prelude.psql
\getenv rt ZCRM_TEST_RT_SECRET
\getenv secret ZCRM_TEST_CLIENT_SECRET
SELECT current_setting('zcrm_bulk.api_domain') AS accounts \gset
SELECT '1000.rt.recipe.' || :'rt' AS rt_prod \gset
CREATE SERVER prod FOREIGN DATA WRAPPER zcrm_bulk OPTIONS (accounts_server :'accounts');
CREATE USER MAPPING FOR PUBLIC SERVER prod
	OPTIONS (client_id '1000.CLIENTID', client_secret :'secret', refresh_token :'rt_prod');
\i test/readme_recipe.sql

INSERT INTO bulk_jobs VALUES
	('4150868000005392002'), ('4150868000005350003'), ('415086800000539200');

SELECT poll_bulk_jobs();

-- One log row per resource, the error of a deleted job recorded, the others
-- unaffected; only the finished job is marked done.
SELECT job_id, status, resource_module, added_count, skipped_count, total_count, error
FROM bulk_job_log ORDER BY job_id;
SELECT * FROM bulk_jobs ORDER BY job_id;

-- A second run polls only the unfinished jobs.
SELECT poll_bulk_jobs();
SELECT job_id, count(*) AS checks FROM bulk_job_log GROUP BY job_id ORDER BY job_id;

DROP FUNCTION poll_bulk_jobs();
DROP TABLE bulk_job_log, bulk_jobs;
DROP SERVER prod CASCADE;
