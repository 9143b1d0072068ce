--
-- zcrm_wrongtypes: a JSON value of the wrong type in any field the parser
-- reads is a clear error (22000) naming the field, never a crash or a guess.
-- Job 1100000000000000000 is a complete document with every field of the
-- right type; each job 11000000000000000NN differs from it in one field
-- (test/server/zoho_mock.py --list-wrong-types).
--
\i sql/include/prelude.psql
\getenv token ZCRM_TEST_TOKEN

SELECT count(*) AS rows, min(status) AS status FROM zcrm_write_job('1100000000000000000', :'token');
SELECT count(*) AS mappings FROM zcrm_write_job_field_mappings('1100000000000000000', :'token');

SELECT job, t.state, t.detail
FROM generate_series(1, 39) AS n,
	 LATERAL (SELECT '11000000000000000' || lpad(n::text, 2, '0') AS job) AS j,
	 LATERAL zcrm_try('zcrm_write_job', job, :'token') AS t
ORDER BY job;

-- The field mappings function reads the same document and fails the same way.
SELECT count(*) FILTER (WHERE t.state = '22000') AS failed_with_22000, count(*) AS jobs
FROM generate_series(1, 39) AS n,
	 LATERAL zcrm_try('zcrm_write_job_field_mappings',
					  '11000000000000000' || lpad(n::text, 2, '0'), :'token') AS t;

-- Top-level values other than an object: a number, null, true (and, in
-- zcrm_errors, an array and a string).
SELECT job, t.state, t.detail
FROM (VALUES ('1000000000000000022'), ('1000000000000000023'), ('1000000000000000024')) AS v(job),
	 LATERAL zcrm_try('zcrm_write_job', job, :'token') AS t
ORDER BY job;
SELECT job, (zcrm_try('zcrm_write_job_json', job, :'token')).state AS json_state
FROM (VALUES ('1000000000000000022'), ('1000000000000000023'), ('1000000000000000024')) AS v(job)
ORDER BY job;

-- The backend is fine.
SELECT job_id FROM zcrm_write_job('4150868000005392002', :'token');
