/* zcrm_bulk--1.3--2.0.sql */

-- complain if script is sourced in psql, rather than via ALTER EXTENSION
\echo Use "ALTER EXTENSION zcrm_bulk UPDATE TO '2.0'" to load this file. \quit

-- Release 2.0.  Every object below is safe under a hostile search_path:
-- functions and operators are schema-qualified (pg_catalog., @extschema@.,
-- OPERATOR(pg_catalog.=)) and search_path is pinned where SQL allows.

-----------------------------------------------------------------------
-- 1. Connections become foreign servers and user mappings
-----------------------------------------------------------------------

-----------------------------------------------------------------------
-- 2. Tracking and the poller
-----------------------------------------------------------------------

-- Start (or restart) tracking a job.
CREATE OR REPLACE FUNCTION @extschema@.zcrm_track_job(job_id pg_catalog.text,
													  connection pg_catalog.text DEFAULT NULL)
RETURNS void
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $$
#variable_conflict use_column
BEGIN
	IF zcrm_track_job.job_id IS NULL
	   OR zcrm_track_job.job_id OPERATOR(pg_catalog.!~) '^[0-9]{1,32}$' THEN
		RAISE EXCEPTION 'invalid bulk write job id'
			USING ERRCODE = 'invalid_parameter_value',
				  DETAIL = 'A job id consists of 1 to 32 ASCII digits.';
	END IF;
	INSERT INTO @extschema@.zcrm_tracked_job AS t (job_id, connection)
	VALUES (zcrm_track_job.job_id, zcrm_track_job.connection)
	ON CONFLICT ON CONSTRAINT zcrm_tracked_job_pkey
	DO UPDATE SET connection = EXCLUDED.connection, finished_at = NULL,
				  last_error = NULL, last_sqlstate = NULL;
END
$$;

-- Poll every tracked job not yet COMPLETED or FAILED, once: record what
-- changed, NOTIFY zcrm_bulk_write_job on each status change, record the
-- error of a job that fails without stopping the others.  Due jobs are
-- taken in batches of up to 100 (oldest check first), fetched with one
-- zcrm_write_jobs() call per connection (zcrm_bulk.max_concurrency at a
-- time), and each batch is committed on its own, so an interrupted run
-- loses at most the batch in hand.  A job another run is polling (row
-- locked) is skipped, and so is one polled less than min_interval before
-- this run started or polled by this run, so that no run polls a job twice
-- and overlapping runs never poll the same job twice.  The NOTIFY payload
-- is compacted when the full one would not fit (8000 bytes).  Call it with
-- CALL, outside an explicit transaction block.
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
	max_payload pg_catalog.int4;
	batch pg_catalog.text[];
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
			ORDER BY t.last_checked NULLS FIRST, t.job_id
			LIMIT 100
			FOR UPDATE SKIP LOCKED);
		EXIT WHEN pg_catalog.cardinality(batch) OPERATOR(pg_catalog.=) 0;
		polled := polled OPERATOR(pg_catalog.+) pg_catalog.cardinality(batch);

		FOR conn IN
			SELECT DISTINCT t.connection FROM @extschema@.zcrm_tracked_job AS t
			WHERE t.job_id OPERATOR(pg_catalog.=) ANY (batch)
		LOOP
			ids := ARRAY(SELECT t.job_id FROM @extschema@.zcrm_tracked_job AS t
						 WHERE t.job_id OPERATOR(pg_catalog.=) ANY (batch)
						   AND (t.connection OPERATOR(pg_catalog.=) conn
								OR (t.connection IS NULL AND conn IS NULL))
						 ORDER BY t.job_id);
			BEGIN
				-- a NULL connection means zcrm_bulk.default_connection
				job_rows := ARRAY(SELECT w FROM @extschema@.zcrm_write_jobs(ids, connection => conn) AS w);
			EXCEPTION WHEN OTHERS THEN
				-- the connection itself failed (a revoked refresh token, say)
				UPDATE @extschema@.zcrm_tracked_job AS t
				SET last_checked = GREATEST(pg_catalog.clock_timestamp(), run_start),
					last_error = SQLERRM, last_sqlstate = SQLSTATE
				WHERE t.job_id OPERATOR(pg_catalog.=) ANY (ids);
				failed := failed OPERATOR(pg_catalog.+) pg_catalog.cardinality(ids);
				CONTINUE;
			END;

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
					IF status_changed THEN
						payload := pg_catalog.jsonb_build_object(
							'job_id', j.job_id, 'old_status', j.last_status,
							'new_status', new_status, 'resources', res)::pg_catalog.text;
						IF pg_catalog.octet_length(payload) OPERATOR(pg_catalog.>=) max_payload THEN
							-- too many resources (or huge statuses): the counts
							-- are in zcrm_job_history
							payload := pg_catalog.jsonb_build_object(
								'job_id', j.job_id,
								'old_status', pg_catalog.left(j.last_status, 100),
								'new_status', pg_catalog.left(new_status, 100),
								'resource_count', pg_catalog.jsonb_array_length(res),
								'truncated', true)::pg_catalog.text;
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
END
$$;

-----------------------------------------------------------------------
-- 3. Job functions
-----------------------------------------------------------------------
