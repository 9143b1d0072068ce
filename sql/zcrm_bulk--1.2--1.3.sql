/* zcrm_bulk--1.2--1.3.sql */

-- complain if script is sourced in psql, rather than via ALTER EXTENSION
\echo Use "ALTER EXTENSION zcrm_bulk UPDATE TO '1.3'" to load this file. \quit

-- One row of zcrm_write_jobs(): zcrm_write_job_row's columns, then the
-- error of a job that could not be fetched (its other columns NULL).
-- Columns may be appended in later versions, never reordered.
CREATE TYPE zcrm_write_jobs_row AS (
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
	total_count bigint,
	error_sqlstate text,
	error_code text,
	error_message text
);

-- One row of zcrm_write_jobs_field_mappings(): zcrm_field_mapping_row's
-- columns, then the error of a job that could not be fetched.
CREATE TYPE zcrm_jobs_field_mapping_row AS (
	job_id text,
	resource_index integer,
	resource_module text,
	api_name text,
	index integer,
	format text,
	find_by text,
	module text,
	default_value jsonb,
	parent_column_index integer,
	error_sqlstate text,
	error_code text,
	error_message text
);

CREATE FUNCTION zcrm_write_jobs(job_ids text[], token text DEFAULT NULL,
								connection text DEFAULT NULL,
								on_error text DEFAULT 'row')
RETURNS SETOF zcrm_write_jobs_row
AS 'MODULE_PATHNAME', 'zcrm_write_jobs'
LANGUAGE C VOLATILE PARALLEL UNSAFE ROWS 10;

COMMENT ON FUNCTION zcrm_write_jobs(text[], text, text, text) IS
'details of many Zoho CRM bulk write jobs, fetched concurrently';

CREATE FUNCTION zcrm_write_jobs_field_mappings(job_ids text[], token text DEFAULT NULL,
											   connection text DEFAULT NULL,
											   on_error text DEFAULT 'row')
RETURNS SETOF zcrm_jobs_field_mapping_row
AS 'MODULE_PATHNAME', 'zcrm_write_jobs_field_mappings'
LANGUAGE C VOLATILE PARALLEL UNSAFE ROWS 100;

COMMENT ON FUNCTION zcrm_write_jobs_field_mappings(text[], text, text, text) IS
'field mappings of many Zoho CRM bulk write jobs, fetched concurrently';

REVOKE ALL ON FUNCTION zcrm_write_jobs(text[], text, text, text) FROM PUBLIC;
REVOKE ALL ON FUNCTION zcrm_write_jobs_field_mappings(text[], text, text, text) FROM PUBLIC;

-- Poll every tracked job not yet COMPLETED or FAILED, once: record what
-- changed, NOTIFY zcrm_bulk_write_job on each status change, record the
-- error of a job that fails without stopping the others.  Due jobs are
-- taken in batches of up to 100 (oldest check first), fetched with one
-- zcrm_write_jobs() call per connection (zcrm_bulk.max_concurrency at a
-- time), and each batch is committed on its own, so an interrupted run
-- loses at most the batch in hand.  A job another run is polling (row
-- locked) is skipped, and so is one polled less than min_interval before
-- this run started or during it, so that overlapping runs never poll the
-- same job twice.  Call it with CALL, outside an explicit transaction block.
CREATE OR REPLACE PROCEDURE zcrm_poll_tracked_jobs(min_interval interval DEFAULT '30 seconds',
												   INOUT polled integer DEFAULT NULL,
												   INOUT changed integer DEFAULT NULL,
												   INOUT failed integer DEFAULT NULL)
LANGUAGE plpgsql
AS $$
DECLARE
	run_start timestamptz := clock_timestamp();
	batch text[];
	conn text;
	ids text[];
	job_rows @extschema@.zcrm_write_jobs_row[];
	j record;
	mine @extschema@.zcrm_write_jobs_row[];
	new_status text;
	res jsonb;
	old_res jsonb;
BEGIN
	polled := 0;
	changed := 0;
	failed := 0;
	LOOP
		batch := ARRAY(
			SELECT t.job_id FROM @extschema@.zcrm_tracked_job AS t
			WHERE t.finished_at IS NULL
			  AND (t.last_checked IS NULL
				   OR t.last_checked < run_start - coalesce(min_interval, interval '0'))
			ORDER BY t.last_checked NULLS FIRST, t.job_id
			LIMIT 100
			FOR UPDATE SKIP LOCKED);
		EXIT WHEN cardinality(batch) = 0;
		polled := polled + cardinality(batch);

		FOR conn IN
			SELECT DISTINCT t.connection FROM @extschema@.zcrm_tracked_job AS t
			WHERE t.job_id = ANY (batch)
		LOOP
			ids := ARRAY(SELECT t.job_id FROM @extschema@.zcrm_tracked_job AS t
						 WHERE t.job_id = ANY (batch)
						   AND t.connection IS NOT DISTINCT FROM conn
						 ORDER BY t.job_id);
			BEGIN
				-- a NULL connection means zcrm_bulk.default_connection
				job_rows := ARRAY(SELECT w FROM @extschema@.zcrm_write_jobs(ids, connection => conn) AS w);
			EXCEPTION WHEN OTHERS THEN
				-- the connection itself failed (a revoked refresh token, say)
				UPDATE @extschema@.zcrm_tracked_job AS t
				SET last_checked = clock_timestamp(), last_error = SQLERRM,
					last_sqlstate = SQLSTATE
				WHERE t.job_id = ANY (ids);
				failed := failed + cardinality(ids);
				CONTINUE;
			END;

			FOR j IN SELECT * FROM @extschema@.zcrm_tracked_job AS t
					 WHERE t.job_id = ANY (ids) ORDER BY t.job_id
			LOOP
				mine := ARRAY(SELECT r FROM unnest(job_rows) AS r
							  WHERE r.job_id = j.job_id ORDER BY r.resource_index);
				BEGIN
					IF cardinality(mine) = 0 THEN
						RAISE EXCEPTION 'zcrm_write_jobs() returned no row for bulk write job %', j.job_id
							USING ERRCODE = 'no_data_found';
					ELSIF mine[1].error_sqlstate IS NOT NULL THEN
						RAISE EXCEPTION USING ERRCODE = mine[1].error_sqlstate,
											  MESSAGE = mine[1].error_message;
					END IF;
					new_status := mine[1].status;
					SELECT coalesce(jsonb_agg(jsonb_build_object(
								'module', r.resource_module, 'status', r.resource_status,
								'added', r.added_count, 'updated', r.updated_count,
								'skipped', r.skipped_count, 'total', r.total_count)
								ORDER BY r.resource_index)
							FILTER (WHERE r.resource_index IS NOT NULL), '[]'::jsonb)
					INTO res FROM unnest(mine) AS r;
					SELECT h.resources INTO old_res FROM @extschema@.zcrm_job_history AS h
					WHERE h.job_id = j.job_id ORDER BY h.id DESC LIMIT 1;
					IF new_status IS DISTINCT FROM j.last_status OR old_res IS DISTINCT FROM res THEN
						INSERT INTO @extschema@.zcrm_job_history (job_id, status, resources)
						VALUES (j.job_id, new_status, res);
						changed := changed + 1;
					END IF;
					IF new_status IS DISTINCT FROM j.last_status THEN
						PERFORM pg_catalog.pg_notify('zcrm_bulk_write_job',
							jsonb_build_object('job_id', j.job_id, 'old_status', j.last_status,
											   'new_status', new_status, 'resources', res)::text);
					END IF;
					UPDATE @extschema@.zcrm_tracked_job AS t
					SET last_status = new_status, last_checked = clock_timestamp(),
						last_error = NULL, last_sqlstate = NULL,
						finished_at = CASE WHEN new_status IN ('COMPLETED', 'FAILED')
										   THEN clock_timestamp() END
					WHERE t.job_id = j.job_id;
				EXCEPTION WHEN OTHERS THEN
					-- a deleted job or a revoked token must not stop the others
					UPDATE @extschema@.zcrm_tracked_job AS t
					SET last_checked = clock_timestamp(), last_error = SQLERRM,
						last_sqlstate = SQLSTATE
					WHERE t.job_id = j.job_id;
					failed := failed + 1;
				END;
			END LOOP;
		END LOOP;
		COMMIT;
	END LOOP;
END
$$;
