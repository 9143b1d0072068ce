--
-- zcrm_results: zcrm_write_job_results() without a prepared job: its row
-- type, its privileges, argument errors, and jobs that have no result file
-- (yet).  The result files of real jobs, created by hand through the local
-- server's lifecycle API, are tested by test/test_write_results.py.
--
\i sql/include/prelude.psql
\getenv token ZCRM_TEST_TOKEN

-- The row type, column by column.
SELECT a.attnum, a.attname, format_type(a.atttypid, a.atttypmod) AS type
FROM pg_attribute a
WHERE a.attrelid = 'zcrm_write_job_result_row'::regclass AND a.attnum > 0
ORDER BY a.attnum;

SELECT pg_get_function_arguments('zcrm_write_job_results'::regproc) AS arguments,
	   pg_get_function_result('zcrm_write_job_results'::regproc) AS result;

-- Argument errors, before any request.
SELECT * FROM zcrm_write_job_results(NULL, :'token');
SELECT * FROM zcrm_write_job_results('41508680000053920O2', :'token');
SELECT * FROM zcrm_write_job_results('', :'token');
SELECT * FROM zcrm_write_job_results('4150868000005392002', :'token', 'prod');
SELECT * FROM zcrm_write_job_results('4150868000005392002');
SELECT * FROM zcrm_write_job_results('4150868000005392002', 'not a token');
SELECT * FROM zcrm_write_job_results('4150868000005392002', connection => 'no_such_server');

-- The settings that cap the download and each CSV in it
-- (defined once the library is loaded, by the calls above).
SHOW zcrm_bulk.max_result_size;
SHOW zcrm_bulk.max_result_uncompressed_size;
SET zcrm_bulk.max_result_size = '512';
SET zcrm_bulk.max_result_uncompressed_size = '1kB';
SHOW zcrm_bulk.max_result_uncompressed_size;
RESET zcrm_bulk.max_result_size;
RESET zcrm_bulk.max_result_uncompressed_size;

-- Wrong types: there is no such function.
SELECT * FROM zcrm_write_job_results(4150868000005392002);
SELECT * FROM zcrm_write_job_results('4150868000005392002', :'token', 42);

-- A job that is not complete: 55000 naming its status.
SELECT * FROM zcrm_write_job_results('4150868000005392002', :'token');
SELECT job, t.state, t.message, t.detail, t.hint
FROM (VALUES ('4150868000005392002'), ('1000000000000000001'), ('1000000000000000005'),
			 ('1000000000000000007')) AS v(job),
	 LATERAL zcrm_try('zcrm_write_job_results', job, :'token') AS t
ORDER BY job;

-- A COMPLETED job whose result file the server does not have (its
-- download_url is relative, so it goes to the local server): the API's
-- RESOURCE_NOT_FOUND, as for a job.
SELECT t.state, t.message FROM zcrm_try('zcrm_write_job_results', '1000000000000000002', :'token') AS t;

-- Failures of the job fetch are those of zcrm_write_job().
SELECT t.state, t.message FROM zcrm_try('zcrm_write_job_results', '1000000000000000013', :'token') AS t;
SELECT t.state FROM zcrm_try('zcrm_write_job_results', '9999999999999999999', :'token') AS t;

-- Not PUBLIC's: a role needs EXECUTE.
CREATE ROLE regress_zcrm_results;
SET ROLE regress_zcrm_results;
SELECT * FROM zcrm_write_job_results('4150868000005392002', :'token');
RESET ROLE;
GRANT EXECUTE ON FUNCTION zcrm_write_job_results(text, text, text) TO regress_zcrm_results;
SET ROLE regress_zcrm_results;
SELECT t.state FROM zcrm_try('zcrm_write_job_results', '4150868000005392002', :'token') AS t;
-- the caps are a superuser's to change
SET zcrm_bulk.max_result_size = '1GB';
SET zcrm_bulk.max_result_uncompressed_size = '1GB';
RESET ROLE;
REVOKE ALL ON FUNCTION zcrm_write_job_results(text, text, text) FROM regress_zcrm_results;
DROP ROLE regress_zcrm_results;
