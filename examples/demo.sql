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

-- 8. Release 2.1: load a local table into Zoho and get every row's result
--    back.  Twelve leads, three of them bad on purpose: no Last_Name (3),
--    a malformed Email (6), an Email already used by row 1 (9).
--    (The local server keeps the records it has added until it restarts:
--    run this part twice against the same server and every row of the
--    insert is skipped as DUPLICATE_DATA.  scripts/demo.sh starts a new one.)
CREATE TABLE leads (id integer PRIMARY KEY, first_name text, last_name text,
					email text, company text);
INSERT INTO leads VALUES
	(1, 'Ada', 'Lovelace', 'ada@example.com', 'Analytical Engines'),
	(2, 'Grace', 'Hopper', 'grace@example.com', 'US Navy'),
	(3, 'Linus', NULL, 'linus@example.com', 'Kernel Co'),
	(4, 'Alan', 'Turing', 'alan@example.com', 'Bletchley Park'),
	(5, 'Edsger', 'Dijkstra', 'edsger@example.com', 'Mathematisch Centrum'),
	(6, 'Barbara', 'Liskov', 'barbara.example.com', 'MIT'),
	(7, 'Donald', 'Knuth', 'don@example.com', 'Stanford'),
	(8, 'Frances', 'Allen', 'fran@example.com', 'IBM'),
	(9, 'Augusta', 'King', 'ada@example.com', 'Analytical Engines'),
	(10, 'John', 'Backus', 'john@example.com', 'IBM'),
	(11, 'Margaret', 'Hamilton', 'margaret@example.com', 'MIT'),
	(12, 'Dennis', 'Ritchie', 'dennis@example.com', 'Bell Labs');

-- The query's columns are the CSV's columns, named by the Zoho field's API
-- name; key_column => 'id' keeps the id locally to join the results back
-- (it is never sent).
\set leads_query 'SELECT id, last_name AS "Last_Name", first_name AS "First_Name", email AS "Email", company AS "Company" FROM leads ORDER BY id'

-- 8a. What a load would do, without any request: the parts (jobs), their
--     size and the credits they cost.
SELECT part, rows, csv_bytes, zip_bytes, credits,
	   jsonb_array_length(field_mappings) AS mapped_fields
FROM zcrm_write_plan('Leads', :'leads_query', key_column => 'id');

-- 8b. The CSV exactly as it would be uploaded (inside the part's zip; its
--     lines end in CRLF, as RFC 4180 says, which psql shows as \r).
SELECT zcrm_write_csv('Leads', :'leads_query', key_column => 'id') AS csv;

-- 8c. The unattended path, through the connection "demo" of step 7: the run
--     is prepared, uploaded and its job created, each step committed.
CALL zcrm_write_submit('Leads', :'leads_query', key_column => 'id',
					   connection => 'demo') \gset
SELECT run_id, connection, module, operation, state, rows, parts
FROM zcrm_write_run WHERE run_id = :run_id;

-- 8d. The poller (what pg_cron runs every minute) follows the job; the
--     local server reports it in progress once, then completed, and the
--     poller then downloads its result file into zcrm_write_result.
CALL zcrm_poll_tracked_jobs('0');
SELECT run_id, part, first_row, last_row, state FROM zcrm_write_run_job
WHERE run_id = :run_id;
CALL zcrm_poll_tracked_jobs('0');
SELECT r.run_id, r.state AS run_state, j.part, j.first_row, j.last_row,
	   j.job_id IS NOT NULL AS has_job, j.state AS part_state
FROM zcrm_write_run r JOIN zcrm_write_run_job j USING (run_id)
WHERE run_id = :run_id;

-- 8e. Every row's result, joined back to the row it came from.
SELECT l.*, r.status, r.record_id, r.errors
FROM leads l
JOIN zcrm_write_result r ON r.source_key = l.id::text
WHERE r.run_id = :run_id
ORDER BY l.id;

-- 9. Interactive: fix the three bad rows and load them again with
--    zcrm_write(), which waits for the job and returns the results (here
--    with the token: the job is not tracked and the token not stored; the
--    run is recorded in the run tables like any other).
UPDATE leads SET last_name = 'Torvalds' WHERE id = 3;
UPDATE leads SET email = 'barbara@example.com' WHERE id = 6;
UPDATE leads SET email = 'augusta@example.com' WHERE id = 9;
SELECT l.id, l.email, w.status, w.record_id, w.errors
FROM zcrm_write('Leads',
		'SELECT id, last_name AS "Last_Name", first_name AS "First_Name", email AS "Email", company AS "Company" FROM leads WHERE id IN (3, 6, 9) ORDER BY id',
		key_column => 'id', token => :'token') w
JOIN leads l ON l.id::text = w.source_key
ORDER BY l.id;
