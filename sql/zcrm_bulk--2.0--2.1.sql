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
	last_error pg_catalog.text,
	-- through a connection: the X-CRM-ORG its uploads were accepted with
	-- (NULL: none was), and what it was for (the server's and the user
	-- mapping's OIDs and versions, the API domain); a later run with the
	-- same org_key sends it without asking Zoho again
	org_id pg_catalog.text,
	org_key pg_catalog.text
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

-- The source rows of each part as stored at prepare time, one row per part
-- (a part has up to 25,000 rows: one insert instead of 25,000): each row's
-- key (the key_column, never sent) and the values of the first three sent
-- columns (necho of them), as sent, which Zoho's result file echoes and the
-- results are matched by; element i is the part's row first_row + i - 1.
CREATE TABLE @extschema@.zcrm_write_source_part (
	run_id pg_catalog.int8 NOT NULL,
	part pg_catalog.int4 NOT NULL,
	first_row pg_catalog.int8 NOT NULL,	-- 1-based, query order, whole run
	source_keys pg_catalog.text[] NOT NULL,
	echo1 pg_catalog.text[] NOT NULL,
	echo2 pg_catalog.text[] NOT NULL,
	echo3 pg_catalog.text[] NOT NULL,
	necho pg_catalog.int4 NOT NULL,
	PRIMARY KEY (run_id, part)
);

-- A part's zip is deflated already: stored as it is, never compressed again
-- (pglz gave up on it only after trying).
ALTER TABLE @extschema@.zcrm_write_run_job ALTER COLUMN zip SET STORAGE EXTERNAL;

-- A part's arrays (about 1.7 MB for 25,000 rows) are compressed with lz4
-- where the server has it: pglz took a sixth of a prepare's time for the
-- same size within a fifth.  A server built without lz4 keeps pglz.
DO $$
BEGIN
	ALTER TABLE @extschema@.zcrm_write_source_part
		ALTER COLUMN source_keys SET COMPRESSION lz4,
		ALTER COLUMN echo1 SET COMPRESSION lz4,
		ALTER COLUMN echo2 SET COMPRESSION lz4,
		ALTER COLUMN echo3 SET COMPRESSION lz4;
EXCEPTION WHEN feature_not_supported THEN
	NULL;
END
$$;

-- Each source row of a run: zcrm_write_source_part a row per element.
-- security_invoker: the caller's privileges and row-level security apply.
CREATE VIEW @extschema@.zcrm_write_source WITH (security_invoker = true) AS
	SELECT s.run_id, s.part,
		   s.first_row OPERATOR(pg_catalog.+) u.o OPERATOR(pg_catalog.-) 1 AS row_number,
		   u.k AS source_key,
		   (ARRAY[u.e1, u.e2, u.e3])[1:s.necho] AS echo
	FROM @extschema@.zcrm_write_source_part AS s,
		 ROWS FROM (pg_catalog.unnest(s.source_keys), pg_catalog.unnest(s.echo1),
					pg_catalog.unnest(s.echo2), pg_catalog.unnest(s.echo3))
			 WITH ORDINALITY AS u(k, e1, e2, e3, o);

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
	result_row pg_catalog.int8 NOT NULL	-- the row's place in the result file
);
-- Rows are appended a part at a time (100,000 for a run of 100,000 rows)
-- and read by run: a BRIN index costs a fraction of a B-tree's per insert.
-- Nothing needs a unique index: a part's rows are inserted once, by the
-- collect step, which locks the part and finds it completed if it was.
CREATE INDEX zcrm_write_result_run ON @extschema@.zcrm_write_result USING brin (run_id, part);

-- zcrm_write_source_part and zcrm_write_result are written only by the
-- run's steps, zcrm_write_result a row per result row.  They have no
-- foreign key to zcrm_write_run_job: its check costs a query per inserted
-- row (about 8 us, more than the insert itself).  Deleting a part (or its run,
-- which cascades to its parts) deletes their rows instead, by this
-- trigger.  It is SECURITY DEFINER because the run's row, which their
-- row-level security policies look for, may already be gone when it runs;
-- it deletes only the rows of the parts just deleted.
CREATE FUNCTION @extschema@.zcrm_write_run_job_deleted()
RETURNS trigger
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
	DELETE FROM @extschema@.zcrm_write_source_part AS s USING gone AS g
	WHERE s.run_id OPERATOR(pg_catalog.=) g.run_id AND s.part OPERATOR(pg_catalog.=) g.part;
	DELETE FROM @extschema@.zcrm_write_result AS w USING gone AS g
	WHERE w.run_id OPERATOR(pg_catalog.=) g.run_id AND w.part OPERATOR(pg_catalog.=) g.part;
	RETURN NULL;
END
$$;
REVOKE ALL ON FUNCTION @extschema@.zcrm_write_run_job_deleted() FROM PUBLIC;
CREATE TRIGGER zcrm_write_run_job_deleted AFTER DELETE ON @extschema@.zcrm_write_run_job
	REFERENCING OLD TABLE AS gone
	FOR EACH STATEMENT EXECUTE FUNCTION @extschema@.zcrm_write_run_job_deleted();

-- Not PUBLIC's: the owner grants them with EXECUTE on the write functions.
-- Each role sees and changes its own runs only (and those of the roles it
-- is a member of), as with zcrm_tracked_job.
REVOKE ALL ON @extschema@.zcrm_write_run, @extschema@.zcrm_write_run_job,
	@extschema@.zcrm_write_source_part, @extschema@.zcrm_write_source,
	@extschema@.zcrm_write_result FROM PUBLIC;
ALTER TABLE @extschema@.zcrm_write_run ENABLE ROW LEVEL SECURITY;
ALTER TABLE @extschema@.zcrm_write_run_job ENABLE ROW LEVEL SECURITY;
ALTER TABLE @extschema@.zcrm_write_source_part ENABLE ROW LEVEL SECURITY;
ALTER TABLE @extschema@.zcrm_write_result ENABLE ROW LEVEL SECURITY;
CREATE POLICY zcrm_write_run_by_submitter ON @extschema@.zcrm_write_run
	USING (pg_catalog.pg_has_role(submitted_by::pg_catalog.oid, 'MEMBER'))
	WITH CHECK (pg_catalog.pg_has_role(submitted_by::pg_catalog.oid, 'MEMBER'));
CREATE POLICY zcrm_write_run_job_by_submitter ON @extschema@.zcrm_write_run_job
	USING (EXISTS (SELECT FROM @extschema@.zcrm_write_run AS r
				   WHERE r.run_id OPERATOR(pg_catalog.=) zcrm_write_run_job.run_id));
CREATE POLICY zcrm_write_source_part_by_submitter ON @extschema@.zcrm_write_source_part
	USING (EXISTS (SELECT FROM @extschema@.zcrm_write_run AS r
				   WHERE r.run_id OPERATOR(pg_catalog.=) zcrm_write_source_part.run_id));
CREATE POLICY zcrm_write_result_by_submitter ON @extschema@.zcrm_write_result
	USING (EXISTS (SELECT FROM @extschema@.zcrm_write_run AS r
				   WHERE r.run_id OPERATOR(pg_catalog.=) zcrm_write_result.run_id));

-- pg_dump dumps their rows (the extension's own objects are recreated by
-- CREATE EXTENSION).
SELECT pg_catalog.pg_extension_config_dump('@extschema@.zcrm_write_run', '');
SELECT pg_catalog.pg_extension_config_dump('@extschema@.zcrm_write_run_job', '');
SELECT pg_catalog.pg_extension_config_dump('@extschema@.zcrm_write_source_part', '');
SELECT pg_catalog.pg_extension_config_dump('@extschema@.zcrm_write_result', '');
SELECT pg_catalog.pg_extension_config_dump('@extschema@.zcrm_write_run_run_id_seq', '');

-----------------------------------------------------------------------
-- 2. Results of any completed job (zcrm_write_job_results)
-----------------------------------------------------------------------

-- One row of zcrm_write_job_results(): one row of a result file.
-- row_number is the row's place in its file (1-based); record_id is NULL
-- when empty, errors NULL when there are none; columns holds the echoed
-- input columns by header name.  Columns may be appended, never reordered.
CREATE TYPE @extschema@.zcrm_write_job_result_row AS (
	job_id pg_catalog.text,
	resource_index pg_catalog.int4,
	resource_module pg_catalog.text,
	row_number pg_catalog.int8,
	status pg_catalog.text,
	record_id pg_catalog.text,
	errors pg_catalog.jsonb,
	columns pg_catalog.jsonb
);

-- The result file of any finished job (COMPLETED, or FAILED with a
-- result), including jobs created elsewhere.  It runs no SQL, so no
-- search_path can change what it does.
CREATE FUNCTION @extschema@.zcrm_write_job_results(job_id pg_catalog.text,
												   token pg_catalog.text DEFAULT NULL,
												   connection pg_catalog.text DEFAULT NULL)
RETURNS SETOF @extschema@.zcrm_write_job_result_row
AS 'MODULE_PATHNAME', 'zcrm_write_job_results'
LANGUAGE C VOLATILE PARALLEL UNSAFE ROWS 1000;

COMMENT ON FUNCTION @extschema@.zcrm_write_job_results(pg_catalog.text, pg_catalog.text, pg_catalog.text) IS
'the result file of a finished Zoho CRM bulk write job, one row per row of the file';

REVOKE ALL ON FUNCTION @extschema@.zcrm_write_job_results(pg_catalog.text, pg_catalog.text, pg_catalog.text) FROM PUBLIC;

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

-- Low-level building blocks: a zip made elsewhere is uploaded (its file id
-- returned) and a job created for it (its job id returned).  C functions
-- that run no SQL, so no search_path can change what they do; not PUBLIC's.
CREATE FUNCTION @extschema@.zcrm_upload_file(zip pg_catalog.bytea,
											 token pg_catalog.text DEFAULT NULL,
											 connection pg_catalog.text DEFAULT NULL)
RETURNS pg_catalog.text
AS 'MODULE_PATHNAME', 'zcrm_upload_file'
LANGUAGE C VOLATILE PARALLEL UNSAFE;

COMMENT ON FUNCTION @extschema@.zcrm_upload_file(pg_catalog.bytea, pg_catalog.text, pg_catalog.text) IS
'upload a zip file for Zoho CRM Bulk Write; returns its file id';

CREATE FUNCTION @extschema@.zcrm_create_write_job(module pg_catalog.text,
												  file_id pg_catalog.text,
												  operation pg_catalog.text DEFAULT 'insert',
												  find_by pg_catalog.text DEFAULT NULL,
												  field_mappings pg_catalog.jsonb DEFAULT NULL,
												  ignore_empty pg_catalog.bool DEFAULT true,
												  token pg_catalog.text DEFAULT NULL,
												  connection pg_catalog.text DEFAULT NULL)
RETURNS pg_catalog.text
AS 'MODULE_PATHNAME', 'zcrm_create_write_job'
LANGUAGE C VOLATILE PARALLEL UNSAFE;

COMMENT ON FUNCTION @extschema@.zcrm_create_write_job(pg_catalog.text, pg_catalog.text, pg_catalog.text, pg_catalog.text, pg_catalog.jsonb, pg_catalog.bool, pg_catalog.text, pg_catalog.text) IS
'create a Zoho CRM bulk write job for an uploaded file; returns its job id';

-- The organisation id uploads are sent with: the server's org_id, or the
-- org call's answer.  Setting org_id on a server spares every session the
-- org call (and its scope, ZohoCRM.org.READ).
CREATE FUNCTION @extschema@.zcrm_org_id(token pg_catalog.text DEFAULT NULL,
										connection pg_catalog.text DEFAULT NULL)
RETURNS pg_catalog.text
AS 'MODULE_PATHNAME', 'zcrm_org_id'
LANGUAGE C VOLATILE PARALLEL UNSAFE;
COMMENT ON FUNCTION @extschema@.zcrm_org_id(pg_catalog.text, pg_catalog.text) IS
'The organisation id (zgid) sent as X-CRM-ORG with uploads';
REVOKE ALL ON FUNCTION @extschema@.zcrm_org_id(pg_catalog.text, pg_catalog.text) FROM PUBLIC;
REVOKE ALL ON FUNCTION @extschema@.zcrm_upload_file(pg_catalog.bytea, pg_catalog.text, pg_catalog.text) FROM PUBLIC;
REVOKE ALL ON FUNCTION @extschema@.zcrm_create_write_job(pg_catalog.text, pg_catalog.text, pg_catalog.text, pg_catalog.text, pg_catalog.jsonb, pg_catalog.bool, pg_catalog.text, pg_catalog.text) FROM PUBLIC;

-----------------------------------------------------------------------
-- 5. Submit, write and the poller (zcrm_write_submit, zcrm_write)
-----------------------------------------------------------------------

-- What a send step of a run ended with: ok, or Zoho's definite refusal
-- (recorded in the run's tables by the step, raised by the caller once
-- that record is committed).  A transport failure is raised by the step
-- itself and leaves the part in the state committed before the request.
CREATE TYPE @extschema@.zcrm_write_step_outcome AS (
	ok pg_catalog.bool,
	sqlstate pg_catalog.text,
	message pg_catalog.text,
	detail pg_catalog.text,
	hint pg_catalog.text
);

-- The steps of a run, in C (src/write_run.c).  Each works on the run's
-- rows as the calling role (row-level security applies) and commits
-- nothing: zcrm_write_submit() commits between them, zcrm_write() runs
-- them in its own transaction.  The send and collect steps take several
-- parts and make their requests together, at most
-- zcrm_bulk.max_concurrency at once.
CREATE FUNCTION @extschema@.zcrm_write_step_prepare(run_id pg_catalog.int8, query pg_catalog.text,
													mappings pg_catalog.jsonb)
RETURNS pg_catalog.int8
AS 'MODULE_PATHNAME', 'zcrm_write_step_prepare'
LANGUAGE C VOLATILE PARALLEL UNSAFE;

CREATE FUNCTION @extschema@.zcrm_write_step_upload(run_id pg_catalog.int8, parts pg_catalog.int4[],
												   token pg_catalog.text, connection pg_catalog.text)
RETURNS @extschema@.zcrm_write_step_outcome
AS 'MODULE_PATHNAME', 'zcrm_write_step_upload'
LANGUAGE C VOLATILE PARALLEL UNSAFE;

CREATE FUNCTION @extschema@.zcrm_write_step_create(run_id pg_catalog.int8, parts pg_catalog.int4[],
												   token pg_catalog.text, connection pg_catalog.text,
												   track pg_catalog.bool)
RETURNS @extschema@.zcrm_write_step_outcome
AS 'MODULE_PATHNAME', 'zcrm_write_step_create'
LANGUAGE C VOLATILE PARALLEL UNSAFE;

CREATE FUNCTION @extschema@.zcrm_write_step_collect(run_id pg_catalog.int8, parts pg_catalog.int4[],
													token pg_catalog.text, connection pg_catalog.text)
RETURNS TABLE (part pg_catalog.int4, job_id pg_catalog.text, status pg_catalog.text,
			   resource_module pg_catalog.text, processed pg_catalog.int8, total pg_catalog.int8,
			   collected pg_catalog.bool, result_rows pg_catalog.int8)
AS 'MODULE_PATHNAME', 'zcrm_write_step_collect'
LANGUAGE C VOLATILE PARALLEL UNSAFE;

-- zcrm_write()'s send: each part uploaded, created, polled once and
-- collected, every call as soon as the part's previous one ends.
CREATE FUNCTION @extschema@.zcrm_write_step_send(run_id pg_catalog.int8, parts pg_catalog.int4[],
												 token pg_catalog.text, connection pg_catalog.text)
RETURNS TABLE (part pg_catalog.int4, job_id pg_catalog.text, status pg_catalog.text,
			   resource_module pg_catalog.text, processed pg_catalog.int8, total pg_catalog.int8,
			   collected pg_catalog.bool, result_rows pg_catalog.int8)
AS 'MODULE_PATHNAME', 'zcrm_write_step_send'
LANGUAGE C VOLATILE PARALLEL UNSAFE;

-- The org call (X-CRM-ORG) in the background, while prepare zips the rows.
CREATE FUNCTION @extschema@.zcrm_write_step_prefetch(token pg_catalog.text, connection pg_catalog.text)
RETURNS void
AS 'MODULE_PATHNAME', 'zcrm_write_step_prefetch'
LANGUAGE C VOLATILE PARALLEL UNSAFE;

REVOKE ALL ON FUNCTION @extschema@.zcrm_write_step_prepare(pg_catalog.int8, pg_catalog.text, pg_catalog.jsonb),
	@extschema@.zcrm_write_step_prefetch(pg_catalog.text, pg_catalog.text),
	@extschema@.zcrm_write_step_upload(pg_catalog.int8, pg_catalog.int4[], pg_catalog.text, pg_catalog.text),
	@extschema@.zcrm_write_step_create(pg_catalog.int8, pg_catalog.int4[], pg_catalog.text, pg_catalog.text, pg_catalog.bool),
	@extschema@.zcrm_write_step_send(pg_catalog.int8, pg_catalog.int4[], pg_catalog.text, pg_catalog.text),
	@extschema@.zcrm_write_step_collect(pg_catalog.int8, pg_catalog.int4[], pg_catalog.text, pg_catalog.text)
	FROM PUBLIC;

-- Raise a recorded error again: its SQLSTATE, message, detail and hint.
CREATE FUNCTION @extschema@.zcrm_write_raise(sqlstate pg_catalog.text, message pg_catalog.text,
											 detail pg_catalog.text, hint pg_catalog.text)
RETURNS void
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
	-- GET STACKED DIAGNOSTICS gives '' for an absent detail or hint
	IF detail OPERATOR(pg_catalog.=) '' THEN
		detail := NULL;
	END IF;
	IF hint OPERATOR(pg_catalog.=) '' THEN
		hint := NULL;
	END IF;
	IF detail IS NOT NULL AND hint IS NOT NULL THEN
		RAISE EXCEPTION USING ERRCODE = sqlstate, MESSAGE = message, DETAIL = detail, HINT = hint;
	ELSIF detail IS NOT NULL THEN
		RAISE EXCEPTION USING ERRCODE = sqlstate, MESSAGE = message, DETAIL = detail;
	ELSIF hint IS NOT NULL THEN
		RAISE EXCEPTION USING ERRCODE = sqlstate, MESSAGE = message, HINT = hint;
	ELSE
		RAISE EXCEPTION USING ERRCODE = sqlstate, MESSAGE = message;
	END IF;
END
$$;

-- zcrm_bulk.default_connection, or NULL when it is not set.
CREATE FUNCTION @extschema@.zcrm_write_default_connection()
RETURNS pg_catalog.text
LANGUAGE sql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
	SELECT CASE WHEN s.v OPERATOR(pg_catalog.=) '' THEN NULL ELSE s.v END
	FROM (SELECT pg_catalog.current_setting('zcrm_bulk.default_connection', true) AS v) AS s
$$;

-- A new run, as the calling role, after the checks that need no rows:
-- the connection (a server the caller has USAGE on), the operation.
CREATE FUNCTION @extschema@.zcrm_write_new_run(module pg_catalog.text, query pg_catalog.text,
											   operation pg_catalog.text, find_by pg_catalog.text,
											   key_column pg_catalog.text, connection pg_catalog.text,
											   ignore_empty pg_catalog.bool, needs_connection pg_catalog.bool)
RETURNS pg_catalog.int8
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
#variable_conflict use_variable
DECLARE
	id pg_catalog.int8;
BEGIN
	IF module IS NULL OR query IS NULL OR operation IS NULL THEN
		RAISE EXCEPTION '% must not be null',
			CASE WHEN module IS NULL THEN 'module' WHEN query IS NULL THEN 'query' ELSE 'operation' END
			USING ERRCODE = 'null_value_not_allowed',
				  HINT = 'Pass a module, a query and an operation.';
	END IF;
	IF needs_connection AND connection IS NULL THEN
		RAISE EXCEPTION 'no connection to submit with'
			USING ERRCODE = 'invalid_parameter_value',
				  DETAIL = 'zcrm_write_submit() runs unattended, so it takes a connection, never a token, and zcrm_bulk.default_connection is not set.',
				  HINT = 'Pass connection => ''<server name>'', or set zcrm_bulk.default_connection.';
	END IF;
	-- (a server that does not exist raises 42704 here)
	IF connection IS NOT NULL AND NOT pg_catalog.has_server_privilege(connection, 'USAGE') THEN
		RAISE EXCEPTION 'permission denied for foreign server %', connection
			USING ERRCODE = 'insufficient_privilege',
				  HINT = pg_catalog.format('Ask the server''s owner to run GRANT USAGE ON FOREIGN SERVER %I TO %I.',
										   connection, CURRENT_USER);
	END IF;
	INSERT INTO @extschema@.zcrm_write_run AS r
		(submitted_by, connection, module, operation, find_by, key_column, ignore_empty)
	VALUES (pg_catalog.quote_ident(CURRENT_USER)::pg_catalog.regrole, connection, module,
			pg_catalog.lower(operation), find_by, key_column, coalesce(ignore_empty, true))
	RETURNING r.run_id INTO id;
	RETURN id;
EXCEPTION WHEN check_violation THEN
	RAISE EXCEPTION 'invalid operation "%"', operation
		USING ERRCODE = 'invalid_parameter_value',
			  HINT = 'Pass insert, update or upsert.';
END
$$;

-- zcrm_write_raise() and zcrm_write_default_connection() stay PUBLIC's:
-- one raises the error it is given, the other reads a setting.
REVOKE ALL ON FUNCTION @extschema@.zcrm_write_new_run(pg_catalog.text, pg_catalog.text, pg_catalog.text, pg_catalog.text,
								   pg_catalog.text, pg_catalog.text, pg_catalog.bool, pg_catalog.bool)
	FROM PUBLIC;

-- Load a query's rows into Zoho CRM, unattended: prepare every part (the
-- query runs once, as the caller; a failure records the run as failed and
-- raises the query's own error, with nothing uploaded), then for each part
-- upload it and create its job, committing each state before the request
-- that makes the next one real, and track the job (the poller collects its
-- result).  With the run_id of an existing run, resume it from its stored
-- parts: prepared, uploading and uploaded parts are redone, created ones
-- never again; a part found in "creating" may exist in Zoho and becomes
-- "uncertain" (WARNING, left alone) unless retry_uncertain says to upload
-- and create it again.  Call it with CALL, outside a transaction block.
-- search_path is pinned at the start and after every COMMIT (a procedure
-- that commits cannot have a SET clause).
CREATE PROCEDURE @extschema@.zcrm_write_submit(module pg_catalog.text, query pg_catalog.text,
											   operation pg_catalog.text DEFAULT 'insert',
											   find_by pg_catalog.text DEFAULT NULL,
											   key_column pg_catalog.text DEFAULT NULL,
											   mappings pg_catalog.jsonb DEFAULT NULL,
											   connection pg_catalog.text DEFAULT NULL,
											   ignore_empty pg_catalog.bool DEFAULT true,
											   INOUT run_id pg_catalog.int8 DEFAULT NULL,
											   retry_uncertain pg_catalog.bool DEFAULT false)
LANGUAGE plpgsql
AS $$
#variable_conflict use_variable
DECLARE
	r @extschema@.zcrm_write_run;
	p record;
	o @extschema@.zcrm_write_step_outcome;
	n pg_catalog.int8;
	st pg_catalog.text;
	msg pg_catalog.text;
	det pg_catalog.text;
	hnt pg_catalog.text;
	failed pg_catalog.bool := false;
	left_over pg_catalog.int4;
	todo pg_catalog.int4[];
	batch pg_catalog.int4[];
	-- parts sent together: zcrm_bulk.max_concurrency (5, its default, when
	-- the library is not loaded yet and the setting was never set)
	grp pg_catalog.int4 := GREATEST(coalesce(NULLIF(pg_catalog.current_setting(
		'zcrm_bulk.max_concurrency', true), '')::pg_catalog.int4, 5), 1);
	-- the query runs with the caller's search_path, everything else with
	-- a pinned one
	caller_path pg_catalog.text := pg_catalog.current_setting('search_path');
BEGIN
	PERFORM pg_catalog.set_config('search_path', 'pg_catalog, pg_temp', true);
	IF run_id IS NULL THEN
		run_id := @extschema@.zcrm_write_new_run(module, query, operation, find_by, key_column,
			coalesce(connection, @extschema@.zcrm_write_default_connection()),
			ignore_empty, true);
		COMMIT;
		PERFORM pg_catalog.set_config('search_path', 'pg_catalog, pg_temp', true);
		BEGIN
			-- the org call runs while the rows are prepared
			PERFORM @extschema@.zcrm_write_step_prefetch(NULL,
				coalesce(connection, @extschema@.zcrm_write_default_connection()));
		EXCEPTION WHEN OTHERS THEN
			NULL;	-- met again, and handled, when the parts are uploaded
		END;
		BEGIN
			PERFORM pg_catalog.set_config('search_path', caller_path, true);
			n := @extschema@.zcrm_write_step_prepare(run_id, query, mappings);
			PERFORM pg_catalog.set_config('search_path', 'pg_catalog, pg_temp', true);
		EXCEPTION WHEN OTHERS THEN
			GET STACKED DIAGNOSTICS st = RETURNED_SQLSTATE, msg = MESSAGE_TEXT,
									det = PG_EXCEPTION_DETAIL, hnt = PG_EXCEPTION_HINT;
			failed := true;
		END;
		IF failed THEN
			UPDATE @extschema@.zcrm_write_run AS w
			SET state = 'failed', last_error = msg, finished_at = pg_catalog.clock_timestamp()
			WHERE w.run_id OPERATOR(pg_catalog.=) zcrm_write_submit.run_id;
			COMMIT;
			PERFORM pg_catalog.set_config('search_path', 'pg_catalog, pg_temp', true);
			PERFORM @extschema@.zcrm_write_raise(st, msg, det, hnt);
		END IF;
		COMMIT;
		PERFORM pg_catalog.set_config('search_path', 'pg_catalog, pg_temp', true);
		IF n OPERATOR(pg_catalog.=) 0 THEN
			RAISE NOTICE 'the query returned no rows: no bulk write job was created'
				USING DETAIL = pg_catalog.format('Run %s is recorded as completed with no parts.', run_id);
			PERFORM pg_catalog.set_config('search_path', caller_path, true);
			RETURN;
		END IF;
	END IF;

	SELECT w.* INTO r FROM @extschema@.zcrm_write_run AS w
	WHERE w.run_id OPERATOR(pg_catalog.=) zcrm_write_submit.run_id;
	IF NOT FOUND THEN
		RAISE EXCEPTION 'bulk write run % does not exist', run_id
			USING ERRCODE = 'undefined_object',
				  HINT = 'Look the run up in zcrm_write_run, as the role that submitted it.';
	END IF;
	IF r.state OPERATOR(pg_catalog.=) 'preparing' THEN
		-- the backend that prepared it is gone (a run in preparation is
		-- committed as prepared or failed by the call that prepares it)
		UPDATE @extschema@.zcrm_write_run AS w
		SET state = 'failed', last_error = 'preparation was interrupted',
			finished_at = pg_catalog.clock_timestamp()
		WHERE w.run_id OPERATOR(pg_catalog.=) r.run_id
		  AND w.state OPERATOR(pg_catalog.=) 'preparing';
		COMMIT;
		PERFORM pg_catalog.set_config('search_path', 'pg_catalog, pg_temp', true);
		r.state := 'failed';
	END IF;
	IF r.state OPERATOR(pg_catalog.=) 'failed' AND r.parts IS NULL THEN
		RAISE EXCEPTION 'bulk write run % failed before its parts were stored', r.run_id
			USING ERRCODE = 'object_not_in_prerequisite_state',
				  DETAIL = pg_catalog.format('It failed with: %s', coalesce(r.last_error, 'no error recorded')),
				  HINT = 'Submit the query again as a new run.';
	END IF;

	UPDATE @extschema@.zcrm_write_run AS w SET state = 'sending', last_error = NULL
	WHERE w.run_id OPERATOR(pg_catalog.=) r.run_id
	  AND w.state OPERATOR(pg_catalog.<>) 'completed';
	COMMIT;
	PERFORM pg_catalog.set_config('search_path', 'pg_catalog, pg_temp', true);

	-- first the parts whose create was interrupted, and the uncertain ones
	FOR p IN SELECT j.part, j.state, j.file_id FROM @extschema@.zcrm_write_run_job AS j
			 WHERE j.run_id OPERATOR(pg_catalog.=) r.run_id
			   AND j.state OPERATOR(pg_catalog.=) ANY ('{creating,uncertain}'::pg_catalog.text[])
			 ORDER BY j.part
	LOOP
		IF p.state OPERATOR(pg_catalog.=) 'creating' THEN
			UPDATE @extschema@.zcrm_write_run_job AS j
			SET state = 'uncertain', updated_at = pg_catalog.clock_timestamp(),
				last_error = 'the create call was interrupted: the job may or may not exist in Zoho'
			WHERE j.run_id OPERATOR(pg_catalog.=) r.run_id AND j.part OPERATOR(pg_catalog.=) p.part
			  AND j.state OPERATOR(pg_catalog.=) 'creating';
			COMMIT;
			PERFORM pg_catalog.set_config('search_path', 'pg_catalog, pg_temp', true);
			RAISE WARNING 'part % of bulk write run % may or may not have a job in Zoho', p.part, r.run_id
				USING DETAIL = pg_catalog.format('Its create call was interrupted; it was uploaded as file %s.', p.file_id),
					  HINT = 'Look for a bulk write job of that file in Zoho CRM (Setup, Data Administration, Import History); if there is none, resume with retry_uncertain => true.';
			CONTINUE;
		END IF;
		IF p.state OPERATOR(pg_catalog.=) 'uncertain' THEN
			IF NOT retry_uncertain THEN
				RAISE WARNING 'part % of bulk write run % is uncertain and left alone', p.part, r.run_id
					USING DETAIL = pg_catalog.format('It was uploaded as file %s; its create call may or may not have made a job.', p.file_id),
						  HINT = 'If Zoho CRM has no job for it, resume with retry_uncertain => true.';
				CONTINUE;
			END IF;
			UPDATE @extschema@.zcrm_write_run_job AS j
			SET state = 'prepared', file_id = NULL, last_error = NULL,
				updated_at = pg_catalog.clock_timestamp()
			WHERE j.run_id OPERATOR(pg_catalog.=) r.run_id AND j.part OPERATOR(pg_catalog.=) p.part
			  AND j.state OPERATOR(pg_catalog.=) 'uncertain';
			COMMIT;
			PERFORM pg_catalog.set_config('search_path', 'pg_catalog, pg_temp', true);
		END IF;
	END LOOP;

	-- then the others, in part order, a group of up to max_concurrency at
	-- a time: upload the group's parts together, then create their jobs
	-- together, each state committed before the requests that change it
	LOOP
		todo := ARRAY(SELECT j.part FROM @extschema@.zcrm_write_run_job AS j
					  WHERE j.run_id OPERATOR(pg_catalog.=) r.run_id
						AND j.state OPERATOR(pg_catalog.=) ANY
							('{prepared,uploading,failed,uploaded}'::pg_catalog.text[])
					  ORDER BY j.part LIMIT grp);
		EXIT WHEN pg_catalog.cardinality(todo) OPERATOR(pg_catalog.=) 0;
		WITH u AS (
			UPDATE @extschema@.zcrm_write_run_job AS j
			SET state = 'uploading', last_error = NULL, updated_at = pg_catalog.clock_timestamp()
			WHERE j.run_id OPERATOR(pg_catalog.=) r.run_id
			  AND j.part OPERATOR(pg_catalog.=) ANY (todo)
			  AND j.state OPERATOR(pg_catalog.=) ANY ('{prepared,uploading,failed}'::pg_catalog.text[])
			RETURNING j.part)
		SELECT ARRAY(SELECT u.part FROM u ORDER BY u.part) INTO batch;
		COMMIT;
		PERFORM pg_catalog.set_config('search_path', 'pg_catalog, pg_temp', true);
		IF pg_catalog.cardinality(batch) OPERATOR(pg_catalog.>) 0 THEN
			o := @extschema@.zcrm_write_step_upload(r.run_id, batch, NULL, r.connection);
			COMMIT;
			PERFORM pg_catalog.set_config('search_path', 'pg_catalog, pg_temp', true);
			IF NOT o.ok THEN
				PERFORM @extschema@.zcrm_write_raise(o.sqlstate, o.message, o.detail, o.hint);
			END IF;
		END IF;
		-- (a part another call has taken is not in the batch)
		WITH u AS (
			UPDATE @extschema@.zcrm_write_run_job AS j
			SET state = 'creating', updated_at = pg_catalog.clock_timestamp()
			WHERE j.run_id OPERATOR(pg_catalog.=) r.run_id
			  AND j.part OPERATOR(pg_catalog.=) ANY (todo)
			  AND j.state OPERATOR(pg_catalog.=) 'uploaded'
			RETURNING j.part)
		SELECT ARRAY(SELECT u.part FROM u ORDER BY u.part) INTO batch;
		COMMIT;
		PERFORM pg_catalog.set_config('search_path', 'pg_catalog, pg_temp', true);
		IF pg_catalog.cardinality(batch) OPERATOR(pg_catalog.>) 0 THEN
			o := @extschema@.zcrm_write_step_create(r.run_id, batch, NULL, r.connection, true);
			COMMIT;
			PERFORM pg_catalog.set_config('search_path', 'pg_catalog, pg_temp', true);
			IF NOT o.ok THEN
				PERFORM @extschema@.zcrm_write_raise(o.sqlstate, o.message, o.detail, o.hint);
			END IF;
		END IF;
	END LOOP;

	SELECT pg_catalog.count(*) INTO left_over FROM @extschema@.zcrm_write_run_job AS j
	WHERE j.run_id OPERATOR(pg_catalog.=) r.run_id
	  AND j.state OPERATOR(pg_catalog.<>) ALL ('{created,completed}'::pg_catalog.text[]);
	IF left_over OPERATOR(pg_catalog.=) 0 THEN
		-- (the poller may have collected every part already)
		UPDATE @extschema@.zcrm_write_run AS w
		SET state = CASE WHEN EXISTS (SELECT FROM @extschema@.zcrm_write_run_job AS j
									  WHERE j.run_id OPERATOR(pg_catalog.=) r.run_id
										AND j.state OPERATOR(pg_catalog.<>) 'completed')
						 THEN 'submitted' ELSE 'completed' END
		WHERE w.run_id OPERATOR(pg_catalog.=) r.run_id
		  AND w.state OPERATOR(pg_catalog.=) 'sending';
	END IF;
	COMMIT;
	-- the caller (a DO block, a procedure) goes on with its own search_path
	PERFORM pg_catalog.set_config('search_path', caller_path, true);
END
$$;

REVOKE ALL ON PROCEDURE @extschema@.zcrm_write_submit(pg_catalog.text, pg_catalog.text, pg_catalog.text,
	pg_catalog.text, pg_catalog.text, pg_catalog.jsonb, pg_catalog.text, pg_catalog.bool,
	pg_catalog.int8, pg_catalog.bool) FROM PUBLIC;

-- Submit, wait and return every row's result, in one call and in the
-- caller's transaction (for interactive use).  The jobs it creates exist in
-- Zoho whatever happens to that transaction: if it rolls back (an error, a
-- cancel, a timeout), the records of the run are gone but Zoho has, or
-- will have, loaded the rows of every job created so far.  Use
-- zcrm_write_submit() when that matters.  With a token, nothing is
-- tracked and no token is stored.  Jobs are polled together, every 0.5 s
-- at first and then less often (up to 10 s), with a NOTICE of each job's
-- progress, until all are done or the timeout is reached (55000).  It has
-- no SET search_path clause because the query runs with the caller's
-- search_path; everything else in it is schema-qualified.
CREATE FUNCTION @extschema@.zcrm_write(module pg_catalog.text, query pg_catalog.text,
									   operation pg_catalog.text DEFAULT 'insert',
									   find_by pg_catalog.text DEFAULT NULL,
									   key_column pg_catalog.text DEFAULT NULL,
									   mappings pg_catalog.jsonb DEFAULT NULL,
									   token pg_catalog.text DEFAULT NULL,
									   connection pg_catalog.text DEFAULT NULL,
									   ignore_empty pg_catalog.bool DEFAULT true,
									   timeout pg_catalog.interval DEFAULT '1 hour')
RETURNS TABLE (run_id pg_catalog.int8, job_id pg_catalog.text, row_number pg_catalog.int8,
			   source_key pg_catalog.text, status pg_catalog.text, record_id pg_catalog.text,
			   errors pg_catalog.jsonb)
LANGUAGE plpgsql VOLATILE PARALLEL UNSAFE
AS $$
#variable_conflict use_variable
DECLARE
	run pg_catalog.int8;
	conn pg_catalog.text := connection;
	n pg_catalog.int8;
	p record;
	deadline pg_catalog.timestamptz;
	pause pg_catalog.float8 := 0.5;
	waiting pg_catalog.int4[];
	step pg_catalog.text;
	c record;
BEGIN
	IF timeout IS NULL OR timeout OPERATOR(pg_catalog.<) '0'::pg_catalog.interval THEN
		RAISE EXCEPTION 'timeout must not be null or negative'
			USING ERRCODE = 'invalid_parameter_value',
				  HINT = 'Pass an interval such as ''1 hour''.';
	END IF;
	deadline := pg_catalog.clock_timestamp() OPERATOR(pg_catalog.+) timeout;
	IF token IS NOT NULL AND conn IS NOT NULL THEN
		RAISE EXCEPTION 'token and connection cannot both be given'
			USING ERRCODE = 'invalid_parameter_value',
				  HINT = 'Pass either a token or a connection.';
	END IF;
	IF token IS NULL THEN
		conn := coalesce(conn, @extschema@.zcrm_write_default_connection());
	END IF;
	run := @extschema@.zcrm_write_new_run(module, query, operation, find_by, key_column, conn,
										  ignore_empty, token IS NULL);
	BEGIN
		-- the org call runs while the rows are prepared
		PERFORM @extschema@.zcrm_write_step_prefetch(token, conn);
	EXCEPTION WHEN OTHERS THEN
		NULL;	-- met again, and handled, when the parts are uploaded
	END;
	n := @extschema@.zcrm_write_step_prepare(run, query, mappings);
	IF n OPERATOR(pg_catalog.=) 0 THEN
		RAISE NOTICE 'the query returned no rows: no bulk write job was created';
		RETURN;
	END IF;
	UPDATE @extschema@.zcrm_write_run AS x SET state = 'sending'
	WHERE x.run_id OPERATOR(pg_catalog.=) run;
	-- First every part end to end, a group of up to max_concurrency at a
	-- time (zcrm_write_step_send: each part's upload, create, first poll
	-- and result download as soon as its own previous call ends; nothing
	-- here commits, so the states are recorded as the calls end, and it
	-- raises the first refusal itself).  Then the wait for the jobs not
	-- finished yet, all polled together (zcrm_write_step_collect), each
	-- finished one's result collected as soon as a poll finds it finished.
	UPDATE @extschema@.zcrm_write_run_job AS j SET state = 'uploading'
	WHERE j.run_id OPERATOR(pg_catalog.=) run AND j.state OPERATOR(pg_catalog.=) 'prepared';
	step := 'zcrm_write_step_send';
	LOOP
		waiting := ARRAY(SELECT j.part FROM @extschema@.zcrm_write_run_job AS j
						 WHERE j.run_id OPERATOR(pg_catalog.=) run
						   AND j.state OPERATOR(pg_catalog.=) CASE step
							   WHEN 'zcrm_write_step_send' THEN 'uploading' ELSE 'created' END
						 ORDER BY j.part);
		EXIT WHEN pg_catalog.cardinality(waiting) OPERATOR(pg_catalog.=) 0;
		-- (step is one of the two names: nothing here comes from the caller)
		FOR c IN EXECUTE 'SELECT x.* FROM @extschema@.' OPERATOR(pg_catalog.||) step
						 OPERATOR(pg_catalog.||) '($1, $2, $3, $4) AS x ORDER BY x.part'
				 USING run, waiting, token, conn
		LOOP
			IF c.collected THEN
				PERFORM pg_catalog.pg_notify('zcrm_bulk_write_job',
					pg_catalog.jsonb_build_object('job_id', c.job_id, 'new_status', c.status,
												  'run_id', run, 'part', c.part)::pg_catalog.text);
			ELSE
				RAISE NOTICE 'bulk write job %: % (%: % of % records processed)', c.job_id, c.status,
					coalesce(c.resource_module, 'resource'), coalesce(c.processed, 0),
					coalesce(c.total::pg_catalog.text, 'an unknown number');
			END IF;
		END LOOP;
		IF step OPERATOR(pg_catalog.=) 'zcrm_write_step_send' THEN
			step := 'zcrm_write_step_collect';
			UPDATE @extschema@.zcrm_write_run AS x SET state = 'submitted'
			WHERE x.run_id OPERATOR(pg_catalog.=) run AND x.state OPERATOR(pg_catalog.=) 'sending';
		END IF;
		CONTINUE WHEN NOT EXISTS (SELECT FROM @extschema@.zcrm_write_run_job AS j
								  WHERE j.run_id OPERATOR(pg_catalog.=) run
									AND j.state OPERATOR(pg_catalog.=) 'created');
		IF pg_catalog.clock_timestamp() OPERATOR(pg_catalog.+)
		   pg_catalog.make_interval(secs => pause) OPERATOR(pg_catalog.>) deadline THEN
			RAISE EXCEPTION 'bulk write run % did not finish within the timeout', run
				USING ERRCODE = 'object_not_in_prerequisite_state',
					  DETAIL = pg_catalog.format('Jobs still running: %s.',
						  (SELECT pg_catalog.string_agg(j.job_id, ', ' ORDER BY j.part)
						   FROM @extschema@.zcrm_write_run_job AS j
						   WHERE j.run_id OPERATOR(pg_catalog.=) run
							 AND j.state OPERATOR(pg_catalog.=) 'created')),
					  HINT = 'Pass a longer timeout, or use zcrm_write_submit(), which does not wait.';
		END IF;
		PERFORM pg_catalog.pg_sleep(pause);
		pause := LEAST(pause OPERATOR(pg_catalog.*) 2, 10);
	END LOOP;

	RETURN QUERY
		SELECT x.run_id, x.job_id, x.row_number, x.source_key, x.status, x.record_id, x.errors
		FROM @extschema@.zcrm_write_result AS x
		WHERE x.run_id OPERATOR(pg_catalog.=) run
		ORDER BY x.row_number NULLS LAST, x.part, x.result_row;
END
$$;

REVOKE ALL ON FUNCTION @extschema@.zcrm_write(pg_catalog.text, pg_catalog.text, pg_catalog.text,
	pg_catalog.text, pg_catalog.text, pg_catalog.jsonb, pg_catalog.text, pg_catalog.text,
	pg_catalog.bool, pg_catalog.interval) FROM PUBLIC;

-- Poll every tracked job not yet COMPLETED or FAILED, once: record what
-- changed, NOTIFY zcrm_bulk_write_job on each status change, record the
-- error of a job that fails without stopping the others.  Due jobs are
-- taken in batches of up to 100 (oldest check first) and fetched with one
-- zcrm_write_jobs() call per tracking role and connection, as that role
-- (SET ROLE for the call only), so that each job is fetched with the rights
-- of the role that tracked it; jobs of a role the poller (current and
-- session user) is not a member of are left alone.  Each batch is committed
-- on its own.  A job another run is polling (row locked) is skipped, and so
-- is one polled less than min_interval before this run started or polled
-- by this run, so that no run polls a job twice and overlapping runs never
-- poll the same job twice.  The NOTIFY payload is compacted when the full
-- one would not fit (8000 bytes).  (2.1) When a job of a run created by
-- zcrm_write_submit() is finished, its result file is collected into
-- zcrm_write_result, as the tracking role, before the NOTIFY, whose payload
-- then names the run and the part; a failed collection is recorded like a
-- failed fetch and retried on the next poll.  The finished jobs of one run
-- in a batch are collected together (their fetches and downloads
-- concurrent).  Call it with CALL, outside an explicit transaction block.
--
-- The caller's search_path is never used: it is pinned at the start and
-- after every COMMIT (a procedure that commits cannot have a SET clause),
-- and every function, operator and type is schema-qualified anyway (IS
-- DISTINCT FROM, IN, NULLIF and simple CASE look "=" up in search_path, so
-- none of them appears below).  OPERATOR() binds tighter than comparisons
-- and as tight as any other operator: mixed expressions are parenthesised.
CREATE OR REPLACE PROCEDURE @extschema@.zcrm_poll_tracked_jobs(min_interval pg_catalog.interval DEFAULT '30 seconds',
															   INOUT polled pg_catalog.int4 DEFAULT NULL,
															   INOUT changed pg_catalog.int4 DEFAULT NULL,
															   INOUT failed pg_catalog.int4 DEFAULT NULL)
LANGUAGE plpgsql
AS $$
DECLARE
	run_start pg_catalog.timestamptz;
	min_age pg_catalog.interval;
	caller_role pg_catalog.text;
	max_payload pg_catalog.int4;
	batch pg_catalog.text[];
	tracker pg_catalog.oid;
	tracker_name pg_catalog.name;
	conn pg_catalog.text;
	ids pg_catalog.text[];
	job_rows @extschema@.zcrm_write_jobs_row[];
	j @extschema@.zcrm_tracked_job;
	mine @extschema@.zcrm_write_jobs_row[];
	new_status pg_catalog.text;
	status_changed pg_catalog.bool;
	res_changed pg_catalog.bool;
	res pg_catalog.jsonb;
	old_res pg_catalog.jsonb;
	payload pg_catalog.text;
	caller_path pg_catalog.text := pg_catalog.current_setting('search_path');
	wr_run pg_catalog.int8;
	wr_part pg_catalog.int4;
	wr_parts pg_catalog.int4[];
BEGIN
	PERFORM pg_catalog.set_config('search_path', 'pg_catalog, pg_temp', true);
	run_start := pg_catalog.clock_timestamp();
	IF min_interval OPERATOR(pg_catalog.<) '0'::pg_catalog.interval THEN
		RAISE EXCEPTION 'min_interval must not be negative'
			USING ERRCODE = 'invalid_parameter_value',
				  DETAIL = pg_catalog.format('min_interval was %s.', min_interval),
				  HINT = 'Pass 0 to poll every unfinished job, or a positive interval to skip the jobs polled less than that long ago.';
	END IF;
	min_age := coalesce(min_interval, '0'::pg_catalog.interval);	-- NULL: 0
	-- the role to return to after each fetch: the session's SET ROLE, if any
	caller_role := pg_catalog.current_setting('role');
	-- pg_notify() refuses a payload of BLCKSZ - NAMEDATALEN - 128 bytes or more
	max_payload := (pg_catalog.current_setting('block_size')::pg_catalog.int4
					OPERATOR(pg_catalog.-) pg_catalog.current_setting('max_identifier_length')::pg_catalog.int4)
		OPERATOR(pg_catalog.-) 129;
	polled := 0;
	changed := 0;
	failed := 0;
	LOOP
		-- Every job polled by this run gets a last_checked of run_start or
		-- later, so it is never due again in this run, whatever min_interval
		-- or the clock says.
		batch := ARRAY(
			SELECT t.job_id FROM @extschema@.zcrm_tracked_job AS t
			WHERE t.finished_at IS NULL
			  AND (t.last_checked IS NULL
				   OR (t.last_checked OPERATOR(pg_catalog.<) run_start
					   AND t.last_checked OPERATOR(pg_catalog.<)
						   (run_start OPERATOR(pg_catalog.-) min_age)))
			  AND pg_catalog.pg_has_role(t.tracked_by::pg_catalog.oid, 'MEMBER')
			  AND pg_catalog.pg_has_role(SESSION_USER, t.tracked_by::pg_catalog.oid, 'MEMBER')
			ORDER BY t.last_checked NULLS FIRST, t.job_id
			LIMIT 100
			FOR UPDATE SKIP LOCKED);
		EXIT WHEN pg_catalog.cardinality(batch) OPERATOR(pg_catalog.=) 0;
		polled := polled OPERATOR(pg_catalog.+) pg_catalog.cardinality(batch);

		FOR tracker, conn IN
			SELECT t.tracked_by::pg_catalog.oid, t.connection
			FROM @extschema@.zcrm_tracked_job AS t
			WHERE t.job_id OPERATOR(pg_catalog.=) ANY (batch)
			GROUP BY 1, 2
			ORDER BY 1, 2
		LOOP
			ids := ARRAY(SELECT t.job_id FROM @extschema@.zcrm_tracked_job AS t
						 WHERE t.job_id OPERATOR(pg_catalog.=) ANY (batch)
						   AND t.tracked_by::pg_catalog.oid OPERATOR(pg_catalog.=) tracker
						   AND (t.connection OPERATOR(pg_catalog.=) conn
								OR (t.connection IS NULL AND conn IS NULL))
						 ORDER BY t.job_id);
			tracker_name := (SELECT r.rolname FROM pg_catalog.pg_roles AS r
							 WHERE r.oid OPERATOR(pg_catalog.=) tracker);
			BEGIN
				IF tracker_name IS NULL THEN
					RAISE EXCEPTION 'role with OID % does not exist', tracker
						USING ERRCODE = 'undefined_object',
							  DETAIL = 'The role that tracked these bulk write jobs was dropped.',
							  HINT = 'Track the jobs again as an existing role, or delete them from zcrm_tracked_job.';
				END IF;
				-- fetch as the tracking role: its connection grants, its EXECUTE
				PERFORM pg_catalog.set_config('role', tracker_name, true);
				-- a NULL connection means zcrm_bulk.default_connection
				job_rows := ARRAY(SELECT w FROM @extschema@.zcrm_write_jobs(ids, connection => conn) AS w);
				PERFORM pg_catalog.set_config('role', caller_role, true);
			EXCEPTION WHEN OTHERS THEN
				-- the connection itself failed (a revoked refresh token, a
				-- connection the tracking role may not use, say); the
				-- subtransaction's rollback has already restored the role
				PERFORM pg_catalog.set_config('role', caller_role, true);
				UPDATE @extschema@.zcrm_tracked_job AS t
				SET last_checked = GREATEST(pg_catalog.clock_timestamp(), run_start),
					last_error = SQLERRM, last_sqlstate = SQLSTATE
				WHERE t.job_id OPERATOR(pg_catalog.=) ANY (ids);
				failed := failed OPERATOR(pg_catalog.+) pg_catalog.cardinality(ids);
				CONTINUE;
			END;

			-- (2.1) the finished jobs of a run are collected together, a run
			-- at a time, as the tracking role; whatever fails here is
			-- collected again below, job by job, with its error recorded
			PERFORM pg_catalog.set_config('role', tracker_name, true);
			IF pg_catalog.has_table_privilege('@extschema@.zcrm_write_run_job', 'SELECT') THEN
				FOR wr_run, wr_parts IN
					SELECT rj.run_id, pg_catalog.array_agg(rj.part ORDER BY rj.part)
					FROM @extschema@.zcrm_write_run_job AS rj
					WHERE rj.state OPERATOR(pg_catalog.=) 'created'
					  AND rj.job_id OPERATOR(pg_catalog.=) ANY (ARRAY(
						  SELECT r.job_id FROM pg_catalog.unnest(job_rows) AS r
						  WHERE r.status OPERATOR(pg_catalog.=) ANY ('{COMPLETED,FAILED}'::pg_catalog.text[])))
					GROUP BY rj.run_id
					HAVING pg_catalog.count(*) OPERATOR(pg_catalog.>) 1
					ORDER BY rj.run_id
				LOOP
					BEGIN
						PERFORM @extschema@.zcrm_write_step_collect(wr_run, wr_parts, NULL, conn);
					EXCEPTION WHEN OTHERS THEN
						NULL;
					END;
				END LOOP;
			END IF;
			PERFORM pg_catalog.set_config('role', caller_role, true);

			FOR j IN SELECT t.* FROM @extschema@.zcrm_tracked_job AS t
					 WHERE t.job_id OPERATOR(pg_catalog.=) ANY (ids) ORDER BY t.job_id
			LOOP
				mine := ARRAY(SELECT r FROM pg_catalog.unnest(job_rows) AS r
							  WHERE r.job_id OPERATOR(pg_catalog.=) j.job_id
							  ORDER BY r.resource_index);
				BEGIN
					IF pg_catalog.cardinality(mine) OPERATOR(pg_catalog.=) 0 THEN
						RAISE EXCEPTION 'zcrm_write_jobs() returned no row for bulk write job %', j.job_id
							USING ERRCODE = 'no_data_found';
					ELSIF mine[1].error_sqlstate IS NOT NULL THEN
						RAISE EXCEPTION USING ERRCODE = mine[1].error_sqlstate,
											  MESSAGE = mine[1].error_message;
					END IF;
					new_status := mine[1].status;
					SELECT coalesce(pg_catalog.jsonb_agg(pg_catalog.jsonb_build_object(
								'module', r.resource_module, 'status', r.resource_status,
								'added', r.added_count, 'updated', r.updated_count,
								'skipped', r.skipped_count, 'total', r.total_count)
								ORDER BY r.resource_index)
							FILTER (WHERE r.resource_index IS NOT NULL), '[]'::pg_catalog.jsonb)
					INTO res FROM pg_catalog.unnest(mine) AS r;
					SELECT h.resources INTO old_res FROM @extschema@.zcrm_job_history AS h
					WHERE h.job_id OPERATOR(pg_catalog.=) j.job_id ORDER BY h.id DESC LIMIT 1;
					status_changed := CASE WHEN new_status IS NULL THEN j.last_status IS NOT NULL
										   WHEN j.last_status IS NULL THEN true
										   ELSE new_status OPERATOR(pg_catalog.<>) j.last_status END;
					-- (res is never NULL)
					res_changed := CASE WHEN old_res IS NULL THEN true
										ELSE old_res OPERATOR(pg_catalog.<>) res END;
					IF status_changed OR res_changed THEN
						INSERT INTO @extschema@.zcrm_job_history (job_id, status, resources)
						VALUES (j.job_id, new_status, res);
						changed := changed OPERATOR(pg_catalog.+) 1;
					END IF;
					-- a finished job of a run: collect its result (as the tracking role)
					wr_run := NULL;
					wr_part := NULL;
					IF new_status OPERATOR(pg_catalog.=) ANY ('{COMPLETED,FAILED}'::pg_catalog.text[]) THEN
						PERFORM pg_catalog.set_config('role', tracker_name, true);
						-- (a role that may not read the runs has submitted none)
						IF pg_catalog.has_table_privilege('@extschema@.zcrm_write_run_job', 'SELECT') THEN
							SELECT rj.run_id, rj.part INTO wr_run, wr_part
							FROM @extschema@.zcrm_write_run_job AS rj
							WHERE rj.job_id OPERATOR(pg_catalog.=) j.job_id;
						END IF;
						IF wr_run IS NOT NULL THEN
							PERFORM @extschema@.zcrm_write_step_collect(wr_run, ARRAY[wr_part], NULL, conn);
						END IF;
						PERFORM pg_catalog.set_config('role', caller_role, true);
					END IF;
					IF status_changed THEN
						payload := (pg_catalog.jsonb_build_object(
							'job_id', j.job_id, 'old_status', j.last_status,
							'new_status', new_status, 'resources', res)
							OPERATOR(pg_catalog.||) CASE WHEN wr_run IS NULL THEN '{}'::pg_catalog.jsonb
							ELSE pg_catalog.jsonb_build_object('run_id', wr_run, 'part', wr_part) END)::pg_catalog.text;
						IF pg_catalog.octet_length(payload) OPERATOR(pg_catalog.>=) max_payload THEN
							-- too many resources (or huge statuses): the counts
							-- are in zcrm_job_history
							payload := (pg_catalog.jsonb_build_object(
								'job_id', j.job_id,
								'old_status', pg_catalog.left(j.last_status, 100),
								'new_status', pg_catalog.left(new_status, 100),
								'resource_count', pg_catalog.jsonb_array_length(res),
								'truncated', true)
								OPERATOR(pg_catalog.||) CASE WHEN wr_run IS NULL THEN '{}'::pg_catalog.jsonb
								ELSE pg_catalog.jsonb_build_object('run_id', wr_run, 'part', wr_part) END)::pg_catalog.text;
						END IF;
						PERFORM pg_catalog.pg_notify('zcrm_bulk_write_job', payload);
					END IF;
					UPDATE @extschema@.zcrm_tracked_job AS t
					SET last_status = new_status,
						last_checked = GREATEST(pg_catalog.clock_timestamp(), run_start),
						last_error = NULL, last_sqlstate = NULL,
						finished_at = CASE WHEN new_status OPERATOR(pg_catalog.=)
													ANY ('{COMPLETED,FAILED}'::pg_catalog.text[])
										   THEN pg_catalog.clock_timestamp() END
					WHERE t.job_id OPERATOR(pg_catalog.=) j.job_id;
				EXCEPTION WHEN OTHERS THEN
					-- a deleted job or a revoked token must not stop the others
					UPDATE @extschema@.zcrm_tracked_job AS t
					SET last_checked = GREATEST(pg_catalog.clock_timestamp(), run_start),
						last_error = SQLERRM, last_sqlstate = SQLSTATE
					WHERE t.job_id OPERATOR(pg_catalog.=) j.job_id;
					failed := failed OPERATOR(pg_catalog.+) 1;
				END;
			END LOOP;
		END LOOP;
		COMMIT;
		-- COMMIT ended the SET LOCAL: pin search_path again before anything else
		PERFORM pg_catalog.set_config('search_path', 'pg_catalog, pg_temp', true);
	END LOOP;
	-- (2.1) the caller (a DO block, a procedure) goes on with its own search_path
	PERFORM pg_catalog.set_config('search_path', caller_path, true);
END
$$;

