--
-- zcrm_plpgsql: calling the functions from PL/pgSQL and catching their
-- errors by condition name.
--
\i sql/include/prelude.psql
\getenv token ZCRM_TEST_TOKEN
-- 429, 5xx and connection failures are retried (see zcrm_retries): quickly here.
SET zcrm_bulk.retry_delay = '1ms';

-- A checker that classifies each job the way an unattended job would.
CREATE FUNCTION check_job(job text, tok text) RETURNS text
LANGUAGE plpgsql AS $$
DECLARE
	r record;
	result text := '';
BEGIN
	FOR r IN SELECT * FROM zcrm_write_job(job, tok) ORDER BY resource_index LOOP
		result := result || coalesce(r.resource_module, '-') || ':' || coalesce(r.resource_status, r.status) || ' ';
	END LOOP;
	RETURN trim(result);
EXCEPTION
	WHEN no_data_found THEN
		RETURN 'gone (' || SQLSTATE || ')';
	WHEN invalid_authorization_specification THEN
		RETURN 'token rejected (' || SQLSTATE || ')';
	WHEN insufficient_privilege THEN
		RETURN 'not allowed (' || SQLSTATE || ')';
	WHEN configuration_limit_exceeded THEN
		RETURN 'rate limited, try later (' || SQLSTATE || ')';
	WHEN system_error THEN
		RETURN 'Zoho failed (' || SQLSTATE || ')';
	WHEN invalid_json_text THEN
		RETURN 'bad response (' || SQLSTATE || ')';
	WHEN data_exception THEN
		-- class 22 also holds invalid arguments (22023, 22004): keep those
		IF SQLSTATE = '22000' THEN
			RETURN 'bad response (' || SQLSTATE || ')';
		END IF;
		RAISE;
	WHEN connection_failure OR sqlclient_unable_to_establish_sqlconnection THEN
		RETURN 'network (' || SQLSTATE || ')';
END
$$;

SET zcrm_bulk.timeout = '1s';
SELECT job, check_job(job, :'token')
FROM (VALUES ('4150868000005392002'), ('1000000000000000003'), ('415086800000539200'),
			 ('2000000000000000402'), ('2000000000000000403'), ('2000000000000000429'),
			 ('2000000000000000500'), ('2000000000000000201'), ('1000000000000000012'),
			 ('3000000000000000001')) AS v(job)
ORDER BY job;
RESET zcrm_bulk.timeout;

-- Invalid arguments are re-raised, not mistaken for API errors.
SELECT check_job('not-a-job', :'token');
SELECT check_job(NULL, :'token');

-- RETURN QUERY over several jobs.
CREATE FUNCTION job_modules(jobs text[], tok text)
RETURNS TABLE (job text, module text, status text)
LANGUAGE plpgsql AS $$
DECLARE
	j text;
BEGIN
	FOREACH j IN ARRAY jobs LOOP
		RETURN QUERY SELECT w.job_id, w.resource_module, w.resource_status
					 FROM zcrm_write_job(j, tok) AS w;
	END LOOP;
END
$$;

SELECT * FROM job_modules(ARRAY['4150868000005392002', '1000000000000000003'], :'token');

-- A failing call inside a subtransaction leaves the transaction usable.
BEGIN;
SAVEPOINT s;
SELECT * FROM zcrm_write_job('415086800000539200', :'token');
ROLLBACK TO SAVEPOINT s;
SELECT job_id FROM zcrm_write_job('4150868000005392002', :'token');
COMMIT;

DROP FUNCTION job_modules(text[], text);
DROP FUNCTION check_job(text, text);
