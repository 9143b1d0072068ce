/* zcrm_bulk--1.0.sql */

-- complain if script is sourced in psql, rather than via CREATE EXTENSION
\echo Use "CREATE EXTENSION zcrm_bulk" to load this file. \quit

-- One row of zcrm_write_job(): the job, and one of its resources.
-- Columns may be appended in later versions, never reordered.
CREATE TYPE zcrm_write_job_row AS (
	job_id text,
	status text,
	operation text,
	ignore_empty boolean,
	character_encoding text,
	created_time timestamptz,
	created_by_id text,
	created_by_name text,
	callback_url text,
	callback_method text,
	download_url text,
	resource_index integer,
	resource_type text,
	resource_module text,
	resource_module_id text,
	resource_status text,
	resource_code text,
	file_name text,
	file_status text,
	added_count bigint,
	updated_count bigint,
	skipped_count bigint,
	total_count bigint
);

-- One row of zcrm_write_job_field_mappings().
CREATE TYPE zcrm_field_mapping_row AS (
	job_id text,
	resource_index integer,
	resource_module text,
	api_name text,
	index integer,
	format text,
	find_by text,
	module text,
	default_value jsonb,
	parent_column_index integer
);

CREATE FUNCTION zcrm_write_job(job_id text, token text)
RETURNS SETOF zcrm_write_job_row
AS 'MODULE_PATHNAME', 'zcrm_write_job'
LANGUAGE C VOLATILE PARALLEL UNSAFE ROWS 1;

COMMENT ON FUNCTION zcrm_write_job(text, text) IS
'details of a Zoho CRM bulk write job, one row per resource';

CREATE FUNCTION zcrm_write_job_field_mappings(job_id text, token text)
RETURNS SETOF zcrm_field_mapping_row
AS 'MODULE_PATHNAME', 'zcrm_write_job_field_mappings'
LANGUAGE C VOLATILE PARALLEL UNSAFE ROWS 20;

COMMENT ON FUNCTION zcrm_write_job_field_mappings(text, text) IS
'field mappings of every resource of a Zoho CRM bulk write job';

CREATE FUNCTION zcrm_write_job_json(job_id text, token text)
RETURNS jsonb
AS 'MODULE_PATHNAME', 'zcrm_write_job_json'
LANGUAGE C VOLATILE PARALLEL UNSAFE;

COMMENT ON FUNCTION zcrm_write_job_json(text, text) IS
'the Zoho CRM bulk write job details document as jsonb';

-- These functions make outbound requests: nobody may call them until granted.
REVOKE ALL ON FUNCTION zcrm_write_job(text, text) FROM PUBLIC;
REVOKE ALL ON FUNCTION zcrm_write_job_field_mappings(text, text) FROM PUBLIC;
REVOKE ALL ON FUNCTION zcrm_write_job_json(text, text) FROM PUBLIC;
