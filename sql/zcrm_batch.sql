--
-- zcrm_batch: zcrm_write_jobs() and zcrm_write_jobs_field_mappings(), many
-- jobs fetched concurrently in one call, a failed job as a row.
--
\i sql/include/prelude.psql
\getenv token ZCRM_TEST_TOKEN
\getenv rt ZCRM_TEST_RT_SECRET
\getenv secret ZCRM_TEST_CLIENT_SECRET
\pset null '(null)'
-- no retries: every failure below is final at once
SET zcrm_bulk.retries = 0;

-- Every job's rows; job_id is the id passed.
SELECT job_id, status, resource_index, resource_module, file_status,
	   added_count, total_count, error_sqlstate
FROM zcrm_write_jobs(ARRAY['4150868000005392002', '4150868000005350003',
						   '1000000000000000003', '1000000000000000004',
						   '1000000000000000005'], :'token')
ORDER BY job_id, resource_index;

-- The rows equal zcrm_write_job()'s, column for column, in both directions.
CREATE TEMP TABLE batch_ids (job_id text PRIMARY KEY);
INSERT INTO batch_ids VALUES ('4150868000005392002'), ('4150868000005350003'),
	('111111000000541958'), ('1000000000000000001'), ('1000000000000000002'),
	('1000000000000000003'), ('1000000000000000004'), ('1000000000000000006'),
	('1000000000000000019'), ('1000000000000000020'), ('1100000000000000000');
WITH single AS (
	SELECT i.job_id, to_jsonb(w) - 'job_id' AS cols
	FROM batch_ids i, LATERAL zcrm_write_job(i.job_id, :'token') AS w
), batch AS (
	SELECT b.job_id, to_jsonb(b) - 'job_id' - 'error_sqlstate' - 'error_code' - 'error_message' AS cols
	FROM zcrm_write_jobs(ARRAY(SELECT job_id FROM batch_ids), :'token') AS b
)
SELECT (SELECT count(*) FROM single) AS single_rows,
	   (SELECT count(*) FROM batch) AS batch_rows,
	   (SELECT count(*) FROM (SELECT * FROM single EXCEPT ALL SELECT * FROM batch) d) AS only_single,
	   (SELECT count(*) FROM (SELECT * FROM batch EXCEPT ALL SELECT * FROM single) d) AS only_batch;

-- The same for field mappings.
WITH single AS (
	SELECT i.job_id, to_jsonb(m) - 'job_id' AS cols
	FROM batch_ids i, LATERAL zcrm_write_job_field_mappings(i.job_id, :'token') AS m
), batch AS (
	SELECT b.job_id, to_jsonb(b) - 'job_id' - 'error_sqlstate' - 'error_code' - 'error_message' AS cols
	FROM zcrm_write_jobs_field_mappings(ARRAY(SELECT job_id FROM batch_ids), :'token') AS b
)
SELECT (SELECT count(*) FROM single) AS single_rows,
	   (SELECT count(*) FROM batch) AS batch_rows,
	   (SELECT count(*) FROM (SELECT * FROM single EXCEPT ALL SELECT * FROM batch) d) AS only_single,
	   (SELECT count(*) FROM (SELECT * FROM batch EXCEPT ALL SELECT * FROM single) d) AS only_batch;

-- A failed job is a row with its error; the others are unaffected.  One of
-- each kind: API error codes, HTTP statuses without a code, malformed
-- documents, a connection reset mid-body, a body over the size limit.
SET zcrm_bulk.max_response_size = '1MB';
SELECT job_id, status, error_sqlstate, error_code, error_message
FROM zcrm_write_jobs(ARRAY['4150868000005392002', '999', '2000000000000000401',
						   '2000000000000000403', '2000000000000000402',
						   '2000000000000000429', '2000000000000000502',
						   '2000000000000000204', '2000000000000000200',
						   '2000000000000000301', '1000000000000000012',
						   '1000000000000000016', '1000000000000000018',
						   '2000000000000000201', '3000000000000000003',
						   '3000000000000000004', '1100000000000000038'], :'token')
ORDER BY job_id;
RESET zcrm_bulk.max_response_size;

-- A server that echoes the token back: the error row holds no token.
SELECT job_id, error_sqlstate, error_code,
	   position(:'token' IN error_message) AS token_at,
	   error_message LIKE '%[redacted]%' AS redacted
FROM zcrm_write_jobs(ARRAY['2000000000000000499'], :'token');

-- Elements: NULL and invalid ids are error rows without a request; a
-- repeated id is fetched and returned once, in the order of first
-- appearance; a two-dimensional array is read in storage order.
SELECT job_id, status, error_sqlstate, error_message
FROM zcrm_write_jobs(ARRAY['4150868000005350003', NULL, 'abc', '',
						   '4150868000005350003', '123456789012345678901234567890123',
						   '1000000000000000005'], :'token');
SELECT job_id, status
FROM zcrm_write_jobs(ARRAY[['1000000000000000005', '4150868000005392002'],
						   ['1000000000000000004', '1000000000000000005']], :'token');
SELECT count(*) FROM zcrm_write_jobs('{}', :'token');
SELECT count(*) FROM zcrm_write_jobs_field_mappings('{}', :'token');

-- on_error => 'raise': the first failed job, in array order, raises the
-- error zcrm_write_job() would raise.
SELECT job_id FROM zcrm_write_jobs(ARRAY['4150868000005392002', '2000000000000000401', '999'],
								   :'token', on_error => 'raise');
SELECT job_id FROM zcrm_write_jobs(ARRAY['4150868000005392002', NULL], :'token', on_error => 'raise');
SELECT job_id FROM zcrm_write_jobs_field_mappings(ARRAY['999'], :'token', on_error => 'raise');
SELECT count(*) FROM zcrm_write_jobs(ARRAY['4150868000005392002', '4150868000005350003'],
									 :'token', on_error => 'raise');

-- Bad arguments are errors, checked before any request.
SELECT * FROM zcrm_write_jobs(NULL, :'token');
SELECT * FROM zcrm_write_jobs(ARRAY['1'], :'token', on_error => 'ignore');
SELECT * FROM zcrm_write_jobs(ARRAY['1'], :'token', on_error => NULL);
SELECT * FROM zcrm_write_jobs(ARRAY['1'], 'bad token');
SELECT * FROM zcrm_write_jobs(ARRAY['1'], :'token', connection => 'x');
SELECT * FROM zcrm_write_jobs(ARRAY['1']);
SET zcrm_bulk.max_concurrency = 0;
SET zcrm_bulk.max_concurrency = 51;

-- Nothing listening: every job is a 08001 row, the statement succeeds.
SET zcrm_bulk.api_domain = 'http://127.0.0.1:1';
SELECT job_id, error_sqlstate, error_message
FROM zcrm_write_jobs(ARRAY['4150868000005392002', '4150868000005350003'], :'token');
RESET zcrm_bulk.api_domain;

-- Any concurrency gives the same rows.
SET zcrm_bulk.max_concurrency = 1;
SELECT count(*), count(DISTINCT job_id), count(error_sqlstate)
FROM zcrm_write_jobs(ARRAY(SELECT job_id FROM batch_ids), :'token');
SET zcrm_bulk.max_concurrency = 50;
SELECT count(*), count(DISTINCT job_id), count(error_sqlstate)
FROM zcrm_write_jobs(ARRAY(SELECT job_id FROM batch_ids), :'token');
RESET zcrm_bulk.max_concurrency;

-- Joined against a local table, and the failures picked out.
CREATE TEMP TABLE loads (job_id text PRIMARY KEY, source_file text NOT NULL);
INSERT INTO loads VALUES ('4150868000005392002', 'leads_may_13.zip'),
	('4150868000005350003', 'leads_may_11.zip'), ('999', 'lost.zip');
SELECT l.source_file, w.status, w.resource_module, w.total_count,
	   w.error_sqlstate
FROM loads l
JOIN zcrm_write_jobs(ARRAY(SELECT job_id FROM loads), :'token') AS w USING (job_id)
ORDER BY l.source_file;
SELECT m.job_id, count(*) AS mappings, count(*) FILTER (WHERE m.default_value IS NOT NULL) AS defaults
FROM zcrm_write_jobs_field_mappings(ARRAY(SELECT job_id FROM loads), :'token') AS m
WHERE m.error_sqlstate IS NULL
GROUP BY m.job_id ORDER BY m.job_id;

-- A job with 10,000 field mappings, and one with none (which has no rows).
SELECT job_id, count(*) AS mappings, min(index), max(index),
	   count(default_value) AS defaults, count(format) AS formats,
	   count(find_by) AS find_bys
FROM zcrm_write_jobs_field_mappings(ARRAY['5200000000000010000', '5200000000000000000'], :'token')
GROUP BY job_id;

-- PL/pgSQL: on_error => 'raise' is caught by SQLSTATE; 'row' needs no
-- handler.
CREATE FUNCTION batch_summary(ids text[], tok text, mode text) RETURNS text
LANGUAGE plpgsql AS $$
DECLARE
	ok integer;
	bad integer;
BEGIN
	SELECT count(*) FILTER (WHERE error_sqlstate IS NULL),
		   count(*) FILTER (WHERE error_sqlstate IS NOT NULL)
	INTO ok, bad
	FROM zcrm_write_jobs(ids, tok, on_error => mode);
	RETURN format('%s rows, %s failed', ok, bad);
EXCEPTION WHEN no_data_found THEN
	RETURN format('caught %s: %s', SQLSTATE, SQLERRM);
END
$$;
SELECT batch_summary(ARRAY['4150868000005392002', '999'], :'token', 'raise');
SELECT batch_summary(ARRAY['4150868000005392002', '999'], :'token', 'row');
DROP FUNCTION batch_summary(text[], text, text);

-- Through a server (the local server is the accounts server too).
SELECT current_setting('zcrm_bulk.api_domain') AS accounts \gset
SELECT '1000.rt.batch.' || :'rt' AS rt_batch \gset
CREATE SERVER batch FOREIGN DATA WRAPPER zcrm_bulk OPTIONS (accounts_server :'accounts');
CREATE USER MAPPING FOR PUBLIC SERVER batch
	OPTIONS (client_id '1000.CLIENTID', client_secret :'secret', refresh_token :'rt_batch');
SELECT job_id, status, error_sqlstate
FROM zcrm_write_jobs(ARRAY['4150868000005392002', '999'], connection => 'batch')
ORDER BY job_id;
SET zcrm_bulk.default_connection = 'batch';
SELECT count(*) FROM zcrm_write_jobs_field_mappings(ARRAY['4150868000005392002']);
RESET zcrm_bulk.default_connection;
DROP SERVER batch CASCADE;
