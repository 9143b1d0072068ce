-- examples/demo.sql: the queries README command 1 runs against the bundled
-- local Zoho API server.  The access token comes from the environment, so
-- it is never written in a query.
\getenv token ZCRM_TEST_TOKEN
\getenv client_secret ZCRM_TEST_CLIENT_SECRET
\getenv refresh_token ZCRM_TEST_RT_SECRET
\set ECHO all
\pset null '(null)'

CREATE EXTENSION IF NOT EXISTS zcrm_bulk;

-- 1. The seed's job: one row per resource, the job columns on each.
\x on
SELECT * FROM zcrm_write_job('4150868000005392002', :'token');
\x off

-- 2. Its five field mappings, in the order the API sent them.
SELECT resource_module, api_name, index, format, find_by, module, default_value
FROM zcrm_write_job_field_mappings('4150868000005392002', :'token');

-- 3. The same mappings sorted by CSV column, as the upload file is laid out.
SELECT index AS csv_column, api_name
FROM zcrm_write_job_field_mappings('4150868000005392002', :'token')
ORDER BY index;

-- 4. A local table of imports, joined LATERAL against the API.
CREATE TEMP TABLE my_imports (job_id text PRIMARY KEY, source_file text);
INSERT INTO my_imports VALUES
	('4150868000005392002', 'leads_2021_05_13.zip'),
	('4150868000005350003', 'leads_2021_05_11.zip'),
	('1000000000000000003', 'products_with_price_books.zip');

SELECT i.source_file, j.status, j.resource_module, j.file_status,
	   j.added_count, j.skipped_count, j.total_count
FROM my_imports i
CROSS JOIN LATERAL zcrm_write_job(i.job_id, :'token') j
ORDER BY i.source_file, j.resource_index;

-- 4b. The same jobs in one call, fetched concurrently; a job that does not
--     exist is a row with its error instead of the end of the query.
INSERT INTO my_imports VALUES ('415086800000539200', 'typo_in_the_job_id.zip');
SELECT i.source_file, j.status, j.resource_module, j.added_count, j.total_count,
	   j.error_sqlstate, j.error_code
FROM my_imports i
JOIN zcrm_write_jobs(ARRAY(SELECT job_id FROM my_imports), :'token') j USING (job_id)
ORDER BY i.source_file, j.resource_index;

-- 5. Anything the typed functions do not cover: the document as jsonb.
SELECT zcrm_write_job_json('4150868000005350003', :'token') -> 'result' AS result;

-- 6. API errors are SQL errors with meaningful SQLSTATEs, catchable in PL/pgSQL.
CREATE FUNCTION pg_temp.job_status_or_null(job text, tok text) RETURNS text
LANGUAGE plpgsql AS $$
BEGIN
	RETURN (SELECT status FROM zcrm_write_job(job, tok) LIMIT 1);
EXCEPTION WHEN no_data_found THEN
	RAISE NOTICE 'job % does not exist (SQLSTATE %: %)', job, SQLSTATE, SQLERRM;
	RETURN NULL;
END
$$;

SELECT job_id, pg_temp.job_status_or_null(job_id, :'token') AS status
FROM (VALUES ('4150868000005392002'), ('415086800000539200')) AS v(job_id);

-- 7. A connection: a foreign server names the data centre, a user mapping
--    holds the OAuth client and refresh token, and the extension gets and
--    caches access tokens itself (the local API server is also the
--    accounts server here).
SELECT current_setting('zcrm_bulk.api_domain') AS accounts,
	   '1000.rt.' || :'refresh_token' AS demo_refresh_token \gset
CREATE SERVER demo FOREIGN DATA WRAPPER zcrm_bulk OPTIONS (accounts_server :'accounts');
CREATE USER MAPPING FOR PUBLIC SERVER demo
	OPTIONS (client_id '1000.DEMOCLIENT', client_secret :'client_secret',
			 refresh_token :'demo_refresh_token');
SELECT srvname, srvowner::regrole AS owner, srvoptions FROM pg_foreign_server
WHERE srvname = 'demo';
SELECT job_id, status, resource_module
FROM zcrm_write_job('4150868000005392002', connection => 'demo');
