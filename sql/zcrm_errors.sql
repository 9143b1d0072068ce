--
-- zcrm_errors: every row of the errors table.  API error codes and HTTP
-- statuses become SQL errors; the API code in the body decides the
-- SQLSTATE, the HTTP status only when the body carries no known code.
--
\i sql/include/prelude.psql
\getenv token ZCRM_TEST_TOKEN
-- 429, 5xx and connection failures are retried (see zcrm_retries): quickly here.
SET zcrm_bulk.retry_delay = '1ms';
\pset null '(null)'

-- As users see them: message, detail and hint.
SELECT * FROM zcrm_write_job('2000000000000000401', :'token');
SELECT * FROM zcrm_write_job('2000000000000000403', :'token');
SELECT * FROM zcrm_write_job('2000000000000000429', :'token');
SELECT * FROM zcrm_write_job('2000000000000000501', :'token');
SELECT * FROM zcrm_write_job('2000000000000000502', :'token');
SELECT * FROM zcrm_write_job('2000000000000000204', :'token');
SELECT * FROM zcrm_write_job('2000000000000000301', :'token');

-- A token the API does not accept: INVALID_TOKEN, 28000.
SELECT * FROM zcrm_write_job('4150868000005392002', :'token' || 'x');

-- The whole table, through zcrm_try() (PL/pgSQL catching the error).
\x on
SELECT job, (zcrm_try('zcrm_write_job', job, :'token')).*
FROM (VALUES
	('2000000000000000400'),	-- 400 AUTHORIZATION_FAILED
	('2000000000000000401'),	-- 401 OAUTH_SCOPE_MISMATCH
	('2000000000000000402'),	-- 401 INVALID_TOKEN
	('2000000000000000403'),	-- 403 NO_PERMISSION
	('2000000000000000404'),	-- 404 RESOURCE_NOT_FOUND
	('2000000000000000408'),	-- 400 unknown code
	('2000000000000000409'),	-- 418 JSON without a code
	('2000000000000000410'),	-- 401 HTML
	('2000000000000000411'),	-- 403 HTML
	('2000000000000000429'),	-- 429 TOO_MANY_REQUESTS
	('2000000000000000430'),	-- 429 text/plain
	('2000000000000000500'),	-- 500 INTERNAL_ERROR
	('2000000000000000501'),	-- 500 HTML
	('2000000000000000502'),	-- 502 empty body
	('2000000000000000503'),	-- 503 text/plain
	('2000000000000000200'),	-- 200 carrying an error body
	('2000000000000000201'),	-- 200 invalid JSON
	('2000000000000000202'),	-- 200 empty body
	('2000000000000000204'),	-- 204 No Content
	('2000000000000000301')	-- 302 redirect to another host, not followed
) AS v(job)
ORDER BY job;

-- Responses of an unexpected shape or type, and bodies that are not JSON.
SELECT job, (zcrm_try('zcrm_write_job', job, :'token')).*
FROM (VALUES
	('1000000000000000009'),	-- id as a number a double cannot hold
	('1000000000000000010'),	-- ignore_empty as a string
	('1000000000000000011'),	-- resource as an object
	('1000000000000000012'),	-- a count as a string
	('1000000000000000013'),	-- top level is an array
	('1000000000000000014'),	-- top level is a string
	('1000000000000000015'),	-- created_time not a timestamp
	('1000000000000000016'),	-- invalid UTF-8
	('1000000000000000017'),	-- a count with a fraction
	('1000000000000000018'),	-- \u0000 inside a string
	('3000000000000000009')	-- JSON nested 100,000 levels deep
) AS v(job)
ORDER BY job;
\x off

-- The same SQLSTATEs from the other two functions.  zcrm_write_job_json()
-- accepts any JSON object, so only wrong top-level types fail there.
SELECT job, (zcrm_try('zcrm_write_job_field_mappings', job, :'token')).state AS mappings,
	   (zcrm_try('zcrm_write_job_json', job, :'token')).state AS json
FROM (VALUES ('2000000000000000400'), ('2000000000000000402'), ('2000000000000000404'),
			 ('2000000000000000408'), ('2000000000000000429'), ('2000000000000000500'),
			 ('2000000000000000201'), ('2000000000000000204'), ('1000000000000000009'),
			 ('1000000000000000013'), ('1000000000000000016'), ('1000000000000000018')) AS v(job)
ORDER BY job;

-- The backend is still healthy.
SELECT job_id, status FROM zcrm_write_job('4150868000005392002', :'token');

-- A server that echoes the token back in its error: the token is redacted
-- from everything zcrm_bulk reports.
SELECT * FROM zcrm_write_job('2000000000000000499', :'token');
SELECT strpos(concat(message, detail, hint), :'token') = 0 AS token_absent
FROM zcrm_try('zcrm_write_job', '2000000000000000499', :'token');
