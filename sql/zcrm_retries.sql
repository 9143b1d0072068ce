--
-- zcrm_retries: 429, 5xx and connection failures are retried with a
-- jittered exponential backoff; other failures never are.  (The local API
-- server's request log, checked by test/test_backend.py, counts the
-- requests; here we see the outcome.)
--
\i sql/include/prelude.psql
\getenv token ZCRM_TEST_TOKEN
LOAD 'zcrm_bulk';
SET zcrm_bulk.retry_delay = '10ms';

SHOW zcrm_bulk.retries;
SHOW zcrm_bulk.retry_delay;

-- Jobs 3000000000000000010 and ...011 fail (503, then 429) on every other
-- request.  Without retries, two calls in a row give one error and one
-- success, whichever comes first ...
SET zcrm_bulk.retries = 0;
SELECT job, count(*) FILTER (WHERE state = '00000') AS succeeded,
	   string_agg(DISTINCT state, ',') FILTER (WHERE state <> '00000') AS failed_with
FROM (VALUES ('3000000000000000010'), ('3000000000000000011')) AS v(job),
	 generate_series(1, 2) AS g,
	 LATERAL zcrm_try('zcrm_write_job', job || substr(g::text, 1, 0), :'token') AS t
GROUP BY job ORDER BY job;

-- ... and with one retry every call succeeds.  (The job id is built from g
-- so that the function is called again for every row.)
SET zcrm_bulk.retries = 1;
SELECT job, count(*) FILTER (WHERE state = '00000') AS succeeded, count(*) AS calls
FROM (VALUES ('3000000000000000010'), ('3000000000000000011')) AS v(job),
	 generate_series(1, 4) AS g,
	 LATERAL zcrm_try('zcrm_write_job', job || substr(g::text, 1, 0), :'token') AS t
GROUP BY job ORDER BY job;
RESET zcrm_bulk.retries;

-- A failure that persists is reported after the last retry, with the same
-- SQLSTATE as without retries; connection failures say how many attempts
-- were made.
SELECT * FROM zcrm_write_job('2000000000000000429', :'token');
SELECT * FROM zcrm_write_job('2000000000000000503', :'token');
SET zcrm_bulk.api_domain = 'http://127.0.0.1:1';
SELECT zcrm_state('zcrm_write_job', '4150868000005392002', :'token');
SELECT (zcrm_try('zcrm_write_job', '4150868000005392002', :'token')).detail LIKE '%(the last of 3 attempts).' AS three_attempts;
RESET zcrm_bulk.api_domain;

-- zcrm_bulk.timeout bounds the whole call: no retry is started that could
-- not finish in time, so a 1s backoff inside a 300ms budget means one try.
SET zcrm_bulk.timeout = '300ms';
SET zcrm_bulk.retry_delay = '1s';
SELECT clock_timestamp() AS t0 \gset
SELECT zcrm_state('zcrm_write_job', '2000000000000000503', :'token');
SELECT clock_timestamp() - :'t0'::timestamptz < interval '1 second' AS returned_within_budget;
RESET zcrm_bulk.timeout;
RESET zcrm_bulk.retry_delay;

-- The settings.
SET zcrm_bulk.retries = 11;
SET zcrm_bulk.retries = -1;
SET zcrm_bulk.retry_delay = '2min';
SET zcrm_bulk.retries = 10;
SET zcrm_bulk.retry_delay = '250ms';
SHOW zcrm_bulk.retry_delay;
RESET zcrm_bulk.retries;
RESET zcrm_bulk.retry_delay;

-- The backend is fine.
SELECT job_id, status FROM zcrm_write_job('4150868000005392002', :'token');
