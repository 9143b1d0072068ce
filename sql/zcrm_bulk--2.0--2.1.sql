/* zcrm_bulk--2.0--2.1.sql */

-- complain if script is sourced in psql, rather than via ALTER EXTENSION
\echo Use "ALTER EXTENSION zcrm_bulk UPDATE TO '2.1'" to load this file. \quit

-- Release 2.1: a query's rows become Bulk Write jobs, and every row's
-- result comes back as a SQL row joined to its source row.  Every object
-- below is safe under a hostile search_path, as in 2.0: functions and
-- operators are schema-qualified and search_path is pinned where SQL
-- allows (a procedure that commits cannot have a SET clause).

-----------------------------------------------------------------------
-- 1. The runs: what was submitted, each part's state, each row's result
-----------------------------------------------------------------------

-- One row per zcrm_write_submit() / zcrm_write() call.  state: preparing
-- (the query is being read), prepared (every part is stored), sending,
-- submitted (every part has a job), completed (every job's result is in
-- zcrm_write_result), failed (last_error says why).
CREATE TABLE @extschema@.zcrm_write_run (
	run_id pg_catalog.int8 GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	submitted_by pg_catalog.regrole NOT NULL,
	submitted_at pg_catalog.timestamptz NOT NULL DEFAULT pg_catalog.now(),
	connection pg_catalog.text,
	module pg_catalog.text NOT NULL,
	operation pg_catalog.text NOT NULL
		CHECK (operation OPERATOR(pg_catalog.=) ANY ('{insert,update,upsert}'::pg_catalog.text[])),
	state pg_catalog.text NOT NULL DEFAULT 'preparing'
		CHECK (state OPERATOR(pg_catalog.=) ANY
			   ('{preparing,prepared,sending,submitted,completed,failed}'::pg_catalog.text[])),
	rows pg_catalog.int8,
	parts pg_catalog.int4,
	find_by pg_catalog.text,
	key_column pg_catalog.text,
	ignore_empty pg_catalog.bool NOT NULL DEFAULT true,
	field_mappings pg_catalog.jsonb,	-- as sent with each job
	finished_at pg_catalog.timestamptz,
	last_error pg_catalog.text
);

-- One row per part (one zip, one job).  state: prepared, uploading,
-- uploaded, creating, created, completed, failed, uncertain.  Each state
-- is committed before the request that makes the next one real.
CREATE TABLE @extschema@.zcrm_write_run_job (
	run_id pg_catalog.int8 NOT NULL
		REFERENCES @extschema@.zcrm_write_run ON DELETE CASCADE,
	part pg_catalog.int4 NOT NULL CHECK (part OPERATOR(pg_catalog.>=) 1),
	first_row pg_catalog.int8 NOT NULL,
	last_row pg_catalog.int8 NOT NULL,
	file_id pg_catalog.text,
	job_id pg_catalog.text UNIQUE,
	state pg_catalog.text NOT NULL DEFAULT 'prepared'
		CHECK (state OPERATOR(pg_catalog.=) ANY
			   ('{prepared,uploading,uploaded,creating,created,completed,failed,uncertain}'::pg_catalog.text[])),
	last_error pg_catalog.text,
	csv_bytes pg_catalog.int8,
	zip_bytes pg_catalog.int8,
	zip pg_catalog.bytea,				-- dropped once the job is created
	updated_at pg_catalog.timestamptz NOT NULL DEFAULT pg_catalog.now(),
	PRIMARY KEY (run_id, part)
);

-- Each source row of a run as stored at prepare time: its key (the
-- key_column, never sent) and the values of the first three sent columns,
-- as sent, which Zoho's result file echoes and the results are matched by.
CREATE TABLE @extschema@.zcrm_write_source (
	run_id pg_catalog.int8 NOT NULL,
	part pg_catalog.int4 NOT NULL,
	row_number pg_catalog.int8 NOT NULL,	-- 1-based, query order, whole run
	source_key pg_catalog.text,
	echo pg_catalog.text[] NOT NULL,
	PRIMARY KEY (run_id, row_number),
	FOREIGN KEY (run_id, part) REFERENCES @extschema@.zcrm_write_run_job ON DELETE CASCADE
);

-- One row per row of a part's result file.  row_number and source_key are
-- the matched source row's, NULL when the result row could not be matched.
CREATE TABLE @extschema@.zcrm_write_result (
	run_id pg_catalog.int8 NOT NULL,
	part pg_catalog.int4 NOT NULL,
	job_id pg_catalog.text NOT NULL,
	row_number pg_catalog.int8,
	source_key pg_catalog.text,
	status pg_catalog.text NOT NULL,
	record_id pg_catalog.text,
	errors pg_catalog.jsonb,
	result_row pg_catalog.int8 NOT NULL,	-- the row's place in the result file
	PRIMARY KEY (run_id, part, result_row),
	FOREIGN KEY (run_id, part) REFERENCES @extschema@.zcrm_write_run_job ON DELETE CASCADE
);
CREATE INDEX zcrm_write_result_source ON @extschema@.zcrm_write_result (run_id, row_number);

-- Not PUBLIC's: the owner grants them with EXECUTE on the write functions.
-- Each role sees and changes its own runs only (and those of the roles it
-- is a member of), as with zcrm_tracked_job.
REVOKE ALL ON @extschema@.zcrm_write_run, @extschema@.zcrm_write_run_job,
	@extschema@.zcrm_write_source, @extschema@.zcrm_write_result FROM PUBLIC;
ALTER TABLE @extschema@.zcrm_write_run ENABLE ROW LEVEL SECURITY;
ALTER TABLE @extschema@.zcrm_write_run_job ENABLE ROW LEVEL SECURITY;
ALTER TABLE @extschema@.zcrm_write_source ENABLE ROW LEVEL SECURITY;
ALTER TABLE @extschema@.zcrm_write_result ENABLE ROW LEVEL SECURITY;
CREATE POLICY zcrm_write_run_by_submitter ON @extschema@.zcrm_write_run
	USING (pg_catalog.pg_has_role(submitted_by::pg_catalog.oid, 'MEMBER'))
	WITH CHECK (pg_catalog.pg_has_role(submitted_by::pg_catalog.oid, 'MEMBER'));
CREATE POLICY zcrm_write_run_job_by_submitter ON @extschema@.zcrm_write_run_job
	USING (EXISTS (SELECT FROM @extschema@.zcrm_write_run AS r
				   WHERE r.run_id OPERATOR(pg_catalog.=) zcrm_write_run_job.run_id));
CREATE POLICY zcrm_write_source_by_submitter ON @extschema@.zcrm_write_source
	USING (EXISTS (SELECT FROM @extschema@.zcrm_write_run AS r
				   WHERE r.run_id OPERATOR(pg_catalog.=) zcrm_write_source.run_id));
CREATE POLICY zcrm_write_result_by_submitter ON @extschema@.zcrm_write_result
	USING (EXISTS (SELECT FROM @extschema@.zcrm_write_run AS r
				   WHERE r.run_id OPERATOR(pg_catalog.=) zcrm_write_result.run_id));

-- pg_dump dumps their rows (the extension's own objects are recreated by
-- CREATE EXTENSION).
SELECT pg_catalog.pg_extension_config_dump('@extschema@.zcrm_write_run', '');
SELECT pg_catalog.pg_extension_config_dump('@extschema@.zcrm_write_run_job', '');
SELECT pg_catalog.pg_extension_config_dump('@extschema@.zcrm_write_source', '');
SELECT pg_catalog.pg_extension_config_dump('@extschema@.zcrm_write_result', '');
SELECT pg_catalog.pg_extension_config_dump('@extschema@.zcrm_write_run_run_id_seq', '');

-----------------------------------------------------------------------
-- 2. Results of any completed job (zcrm_write_job_results)
-----------------------------------------------------------------------

-----------------------------------------------------------------------
-- 3. Rows to CSV parts, without the network (zcrm_write_plan, zcrm_write_csv)
-----------------------------------------------------------------------

-- Both run the caller's query, as the caller and with the caller's
-- search_path (which is why they have no SET search_path clause); they run
-- no other SQL.  No request is made.

-- One row per part, i.e. per job a write of this query would create.
CREATE FUNCTION @extschema@.zcrm_write_plan(module pg_catalog.text, query pg_catalog.text,
		operation pg_catalog.text DEFAULT 'insert', find_by pg_catalog.text DEFAULT NULL,
		key_column pg_catalog.text DEFAULT NULL, mappings pg_catalog.jsonb DEFAULT NULL,
		ignore_empty pg_catalog.bool DEFAULT true)
RETURNS TABLE (part pg_catalog.int4, rows pg_catalog.int8, csv_bytes pg_catalog.int8,
			   zip_bytes pg_catalog.int8, field_mappings pg_catalog.jsonb,
			   credits pg_catalog.int4)
AS 'MODULE_PATHNAME', 'zcrm_write_plan'
LANGUAGE C VOLATILE PARALLEL UNSAFE ROWS 10;

-- The CSV of one part, exactly as it would be uploaded; NULL past the last.
CREATE FUNCTION @extschema@.zcrm_write_csv(module pg_catalog.text, query pg_catalog.text,
		operation pg_catalog.text DEFAULT 'insert', find_by pg_catalog.text DEFAULT NULL,
		key_column pg_catalog.text DEFAULT NULL, mappings pg_catalog.jsonb DEFAULT NULL,
		part pg_catalog.int4 DEFAULT 1)
RETURNS pg_catalog.text
AS 'MODULE_PATHNAME', 'zcrm_write_csv'
LANGUAGE C VOLATILE PARALLEL UNSAFE;

REVOKE ALL ON FUNCTION @extschema@.zcrm_write_plan(pg_catalog.text, pg_catalog.text,
	pg_catalog.text, pg_catalog.text, pg_catalog.text, pg_catalog.jsonb, pg_catalog.bool) FROM PUBLIC;
REVOKE ALL ON FUNCTION @extschema@.zcrm_write_csv(pg_catalog.text, pg_catalog.text,
	pg_catalog.text, pg_catalog.text, pg_catalog.text, pg_catalog.jsonb, pg_catalog.int4) FROM PUBLIC;

-----------------------------------------------------------------------
-- 4. Upload and create, one call each (zcrm_upload_file, zcrm_create_write_job)
-----------------------------------------------------------------------

-----------------------------------------------------------------------
-- 5. Submit, write and the poller (zcrm_write_submit, zcrm_write)
-----------------------------------------------------------------------
