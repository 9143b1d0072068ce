--
-- zcrm_scrub: a server that echoes the caller's token back gets every copy
-- redacted, in every encoding, before anything is cut.
--
-- Jobs 2000000000000000497 (an API error) and ...498 (a text/plain page)
-- echo the token twice in each form of the local server's secret_forms():
-- as sent, JSON-escaped (\/ and \u0041-style), percent-encoded (lower- and
-- upper-case hex, every byte), and folded across CR LF or LF with
-- indentation.  The second token (ZCRM_TEST_SLASH_TOKEN, new for every
-- run) holds / + and =, so that each form differs from the plain one.  No
-- token is in this file or its expected output: any part of one that
-- survived would show as a difference.
--
\i sql/include/prelude.psql
\getenv token ZCRM_TEST_TOKEN
SET zcrm_bulk.retries = 0;	-- 498's 500 is not worth retrying here
\getenv slash_token ZCRM_TEST_SLASH_TOKEN
SELECT :'slash_token' ~ '^1000\.[0-9a-f]+/[0-9a-f]+\+[0-9a-f]+==$' AS slash_plus_equals;

\x on
SELECT * FROM zcrm_try('zcrm_write_job', '2000000000000000497', :'token');
SELECT * FROM zcrm_try('zcrm_write_job', '2000000000000000497', :'slash_token');
SELECT * FROM zcrm_try('zcrm_write_job_field_mappings', '2000000000000000497', :'slash_token');
SELECT * FROM zcrm_try('zcrm_write_job_json', '2000000000000000497', :'slash_token');
SELECT * FROM zcrm_try('zcrm_write_job', '2000000000000000498', :'slash_token');

\x off
-- The batch functions' error columns.
SELECT job_id, error_sqlstate, error_code, error_message
FROM zcrm_write_jobs(ARRAY['2000000000000000497', '2000000000000000498'], :'slash_token');
SELECT job_id, error_sqlstate, error_code, error_message
FROM zcrm_write_jobs_field_mappings(ARRAY['2000000000000000497'], :'slash_token');
