--
-- zcrm_input: bad arguments are rejected before any request is made.
--
\i sql/include/prelude.psql
\getenv token ZCRM_TEST_TOKEN

-- NULL arguments are errors (22004), not empty results.
SELECT * FROM zcrm_write_job(NULL, :'token');
SELECT * FROM zcrm_write_job('4150868000005392002', NULL);
SELECT * FROM zcrm_write_job_field_mappings(NULL, :'token');
SELECT zcrm_write_job_json('4150868000005392002', NULL);

-- job_id must be 1 to 32 ASCII digits (22023).
SELECT * FROM zcrm_write_job('', :'token');
SELECT * FROM zcrm_write_job('41508680000053920O2', :'token');
SELECT * FROM zcrm_write_job(repeat('1', 33), :'token');

SELECT label, zcrm_state('zcrm_write_job', job, :'token') AS error
FROM (VALUES
	('empty', ''),
	('letter', 'abc'),
	('negative', '-4150868000005392002'),
	('leading space', ' 4150868000005392002'),
	('trailing newline', E'4150868000005392002\n'),
	('path traversal', '../../4150868000005392002'),
	('query string', '4150868000005392002?x=1'),
	('percent-encoded', '4150868000005392002%2F'),
	('arabic-indic digits', '٤١٥٠'),
	('fullwidth digits', '４１５'),
	('33 digits', repeat('9', 33)),
	('huge', repeat('1', 100000))
) AS v(label, job);

-- 32 digits is a well-formed id: the request is made (and the job is unknown).
SELECT zcrm_state('zcrm_write_job', repeat('1', 32), :'token');

-- The token must be a non-empty b64token (22023), never echoed back.
SELECT * FROM zcrm_write_job('4150868000005392002', '');
SELECT * FROM zcrm_write_job('4150868000005392002', E'abc\r\nX-Injected: 1');

SELECT label, zcrm_state('zcrm_write_job', '4150868000005392002', tok) AS error
FROM (VALUES
	('empty', ''),
	('space', '1000.abc def'),
	('CR LF', E'1000.abc\r\nHost: evil'),
	('tab', E'1000.abc\tdef'),
	('non-ASCII', '1000.abcé'),
	('quote', '1000."abc"'),
	('padding in the middle', '1000.ab=c'),
	('too long', repeat('a', 4097))
) AS v(label, tok);

-- Token characters allowed by RFC 6750: the API is asked (and says no).
SELECT zcrm_state('zcrm_write_job', '4150868000005392002', 'A-z.0_9~+/==');

-- The backend is fine.
SELECT job_id FROM zcrm_write_job('4150868000005392002', :'token');

-- SQL has the same job id rule, from the same C function: zcrm_track_job()
-- and the CHECK of zcrm_tracked_job.job_id call zcrm_valid_job_id().
SELECT label, zcrm_valid_job_id(job) AS valid
FROM (VALUES
	('seed job', '4150868000005392002'),
	('one digit', '0'),
	('32 digits', repeat('1', 32)),
	('empty', ''),
	('letter', 'abc'),
	('negative', '-4150868000005392002'),
	('trailing newline', E'4150868000005392002\n'),
	('arabic-indic digits', '٤١٥٠'),
	('fullwidth digits', '４１５'),
	('33 digits', repeat('9', 33)),
	('null', NULL)
) AS v(label, job);
\set VERBOSITY terse
INSERT INTO zcrm_tracked_job (job_id) VALUES ('4150868000005392002/x');
\set VERBOSITY default
