--
-- zcrm_faults: transport failures.  Each is followed by a call that must
-- succeed in the same session.  Details carry libcurl's own text, which
-- varies with timing, so only SQLSTATE and message are shown.
--
\i sql/include/prelude.psql
\getenv token ZCRM_TEST_TOKEN
-- 429, 5xx and connection failures are retried (see zcrm_retries): quickly here.
SET zcrm_bulk.retry_delay = '1ms';
SET zcrm_bulk.timeout = '1s';
SET zcrm_bulk.connect_timeout = '2s';

SELECT job, zcrm_state('zcrm_write_job', job, :'token') AS error,
	   (SELECT status FROM zcrm_write_job('4150868000005392002', :'token')) AS next_call
FROM (VALUES
	('3000000000000000001'),	-- stall before headers: timeout
	('3000000000000000002'),	-- stall mid-body: timeout
	('3000000000000000003'),	-- connection reset mid-body
	('3000000000000000007'),	-- truncated gzip
	('3000000000000000008')	-- drip-fed body outlasting zcrm_bulk.timeout
) AS v(job)
ORDER BY job;

-- Bodies over zcrm_bulk.max_response_size (16MB by default), aborted while
-- they stream in: chunked, with an honest Content-Length, and a gzip bomb.
SELECT job, zcrm_state('zcrm_write_job', job, :'token') AS error,
	   (SELECT status FROM zcrm_write_job('4150868000005392002', :'token')) AS next_call
FROM (VALUES ('3000000000000000004'), ('3000000000000000005'), ('3000000000000000006')) AS v(job)
ORDER BY job;

-- The limit counts decompressed bytes: the seed job (gzip) passes at 2kB
-- but not at 1kB.
SET zcrm_bulk.max_response_size = '2kB';
SELECT job_id FROM zcrm_write_job('4150868000005392002', :'token');
SET zcrm_bulk.max_response_size = '1kB';
SELECT * FROM zcrm_write_job('4150868000005392002', :'token');
RESET zcrm_bulk.max_response_size;

-- Cannot connect: refused, unresolvable host, TLS against a plain-HTTP port.
SET zcrm_bulk.api_domain = 'http://127.0.0.1:1';
SELECT zcrm_state('zcrm_write_job', '4150868000005392002', :'token');
SET zcrm_bulk.api_domain = 'http://zcrm-bulk-test.invalid';
SELECT zcrm_state('zcrm_write_job', '4150868000005392002', :'token');
RESET zcrm_bulk.api_domain;
SELECT set_config('zcrm_bulk.api_domain',
				  replace(current_setting('zcrm_bulk.api_domain'), 'http:', 'https:'),
				  false) IS NOT NULL AS switched_to_https;
SELECT zcrm_state('zcrm_write_job', '4150868000005392002', :'token');
RESET zcrm_bulk.api_domain;
SELECT job_id, status FROM zcrm_write_job('4150868000005392002', :'token');

-- statement_timeout interrupts a stalled request with PostgreSQL's own
-- error, and the session goes on.
RESET zcrm_bulk.timeout;
SET statement_timeout = '300ms';
SELECT * FROM zcrm_write_job('3000000000000000001', :'token');
SELECT * FROM zcrm_write_job_field_mappings('3000000000000000002', :'token');
SELECT zcrm_write_job_json('3000000000000000008', :'token');
RESET statement_timeout;
SELECT job_id, status FROM zcrm_write_job('4150868000005392002', :'token');
