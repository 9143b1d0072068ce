--
-- zcrm_shapes: the response shapes of the API versions and job states.
--
\i sql/include/prelude.psql
\getenv token ZCRM_TEST_TOKEN
SET TimeZone = 'UTC';
SET DateStyle = 'ISO, YMD';
\pset null '(null)'
\x on

-- v2.1 COMPLETED (real sample): module as an object, file counts, absolute
-- download_url, character_encoding.
SELECT * FROM zcrm_write_job('4150868000005350003', :'token');

-- v7 ADDED: module object, file status only, no counts, callback or result.
SELECT * FROM zcrm_write_job('111111000000541958', :'token');

-- The spelling "IN PROGRESS" is normalised at job, resource and file level.
SELECT * FROM zcrm_write_job('1000000000000000001', :'token');
SELECT zcrm_write_job_json('1000000000000000001', :'token') ->> 'status' AS status_as_sent;

-- A relative download_url is made absolute against the API domain.
SELECT job_id, status,
	   replace(download_url, current_setting('zcrm_bulk.api_domain'), '<api_domain>') AS download_url,
	   zcrm_write_job_json(job_id, :'token') -> 'result' ->> 'download_url' AS as_sent
FROM zcrm_write_job('1000000000000000002', :'token');

-- FAILED.
SELECT * FROM zcrm_write_job('1000000000000000007', :'token');

-- Ids sent as small JSON numbers become their exact decimal text.
SELECT job_id, created_by_id, resource_module, resource_module_id
FROM zcrm_write_job('1000000000000000008', :'token');

-- Multi-byte UTF-8 names arrive intact.
SELECT created_by_name, file_name, length(created_by_name) AS chars,
	   octet_length(created_by_name) AS bytes
FROM zcrm_write_job('1000000000000000019', :'token');
\x off

-- Several resources (parent and children): one row each, job columns repeated.
SELECT job_id, status, resource_index, resource_type, resource_module,
	   resource_module_id, resource_status, resource_code, file_name,
	   file_status, added_count, updated_count, skipped_count, total_count
FROM zcrm_write_job('1000000000000000003', :'token');

SELECT * FROM zcrm_write_job_field_mappings('1000000000000000003', :'token');

-- default_value keeps its JSON type.
SELECT api_name, default_value, jsonb_typeof(default_value) AS json_type
FROM zcrm_write_job_field_mappings('1000000000000000003', :'token')
WHERE default_value IS NOT NULL;

-- v2: module as a string, default_value and format on the mappings.
SELECT job_id, resource_module, resource_module_id
FROM zcrm_write_job('1000000000000000020', :'token');
SELECT * FROM zcrm_write_job_field_mappings('1000000000000000020', :'token');

-- An empty resource array and a missing resource key each give exactly one
-- row with the resource columns NULL, and no field mappings.
SELECT job_id, status, resource_index, resource_type, resource_module,
	   resource_status, file_status, added_count
FROM zcrm_write_job('1000000000000000004', :'token');
SELECT count(*) AS mappings FROM zcrm_write_job_field_mappings('1000000000000000004', :'token');

\x on
SELECT * FROM zcrm_write_job('1000000000000000005', :'token');

-- Every optional key present with JSON null: all NULL, nothing invented.
SELECT * FROM zcrm_write_job('1000000000000000006', :'token');
\x off
SELECT * FROM zcrm_write_job_field_mappings('1000000000000000006', :'token');

-- Which columns of the seed job are NULL: exactly those the document lacks.
SELECT key AS column_name
FROM zcrm_write_job('4150868000005392002', :'token') AS j, jsonb_each(to_jsonb(j))
WHERE value = 'null'
ORDER BY key;
