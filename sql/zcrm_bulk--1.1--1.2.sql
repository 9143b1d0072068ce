/* zcrm_bulk--1.1--1.2.sql */

-- complain if script is sourced in psql, rather than via ALTER EXTENSION
\echo Use "ALTER EXTENSION zcrm_bulk UPDATE TO '1.2'" to load this file. \quit

-- Tracked jobs: what zcrm_poll_tracked_jobs() keeps an eye on.
CREATE TABLE zcrm_tracked_job (
	job_id text PRIMARY KEY CHECK (job_id ~ '^[0-9]{1,32}$'),
	connection text,			-- NULL: the poller's zcrm_bulk.default_connection
	added_at timestamptz NOT NULL DEFAULT now(),
	last_status text,
	last_checked timestamptz,
	finished_at timestamptz,	-- when COMPLETED or FAILED was first seen
	last_error text,
	last_sqlstate text
);

-- One row per observed change of a tracked job's status or counts.
CREATE TABLE zcrm_job_history (
	id bigserial PRIMARY KEY,
	job_id text NOT NULL REFERENCES zcrm_tracked_job (job_id) ON DELETE CASCADE,
	observed_at timestamptz NOT NULL DEFAULT now(),
	status text,
	resources jsonb NOT NULL	-- [{"module", "status", "added", "updated", "skipped", "total"}]
);
CREATE INDEX zcrm_job_history_job_id_idx ON zcrm_job_history (job_id, id);

REVOKE ALL ON zcrm_tracked_job, zcrm_job_history FROM PUBLIC;
SELECT pg_catalog.pg_extension_config_dump('zcrm_tracked_job', '');
SELECT pg_catalog.pg_extension_config_dump('zcrm_job_history', '');
SELECT pg_catalog.pg_extension_config_dump('zcrm_job_history_id_seq', '');

-- Start (or restart) tracking a job.
CREATE FUNCTION zcrm_track_job(job_id text, connection text DEFAULT NULL)
RETURNS void
LANGUAGE plpgsql VOLATILE
AS $$
#variable_conflict use_column
BEGIN
	IF zcrm_track_job.job_id IS NULL OR zcrm_track_job.job_id !~ '^[0-9]{1,32}$' THEN
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
-- error of a job that fails without stopping the others.  Each job is
-- committed on its own, so an interrupted run loses nothing.  A job another
-- run is polling (row locked) is skipped, and so is one polled less than
-- min_interval before this run started or during it, so that overlapping
-- runs never poll the same job twice.  Call it with CALL, outside an
-- explicit transaction block.
CREATE PROCEDURE zcrm_poll_tracked_jobs(min_interval interval DEFAULT '30 seconds',
										INOUT polled integer DEFAULT NULL,
										INOUT changed integer DEFAULT NULL,
										INOUT failed integer DEFAULT NULL)
LANGUAGE plpgsql
AS $$
DECLARE
	run_start timestamptz := clock_timestamp();
	j record;
	job_rows @extschema@.zcrm_write_job_row[];
	new_status text;
	res jsonb;
	old_res jsonb;
BEGIN
	polled := 0;
	changed := 0;
	failed := 0;
	LOOP
		SELECT * INTO j FROM @extschema@.zcrm_tracked_job AS t
		WHERE t.finished_at IS NULL
		  AND (t.last_checked IS NULL
			   OR t.last_checked < run_start - coalesce(min_interval, interval '0'))
		ORDER BY t.last_checked NULLS FIRST, t.job_id
		LIMIT 1
		FOR UPDATE SKIP LOCKED;
		EXIT WHEN NOT FOUND;
		polled := polled + 1;
		BEGIN
			IF j.connection IS NULL THEN
				job_rows := ARRAY(SELECT w FROM @extschema@.zcrm_write_job(j.job_id) AS w
								  ORDER BY w.resource_index);
			ELSE
				job_rows := ARRAY(SELECT w FROM @extschema@.zcrm_write_job(j.job_id, connection => j.connection) AS w
								  ORDER BY w.resource_index);
			END IF;
			new_status := job_rows[1].status;
			SELECT coalesce(jsonb_agg(jsonb_build_object(
						'module', r.resource_module, 'status', r.resource_status,
						'added', r.added_count, 'updated', r.updated_count,
						'skipped', r.skipped_count, 'total', r.total_count)
						ORDER BY r.resource_index)
					FILTER (WHERE r.resource_index IS NOT NULL), '[]'::jsonb)
			INTO res FROM unnest(job_rows) AS r;
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
		COMMIT;
	END LOOP;
END
$$;

REVOKE ALL ON FUNCTION zcrm_track_job(text, text) FROM PUBLIC;
REVOKE ALL ON PROCEDURE zcrm_poll_tracked_jobs(interval, integer, integer, integer) FROM PUBLIC;

-- Block until a job is COMPLETED or FAILED, polling every poll_interval
-- and raising a NOTICE with its progress; then return its rows.
CREATE FUNCTION zcrm_write_job_wait(job_id text, token text DEFAULT NULL,
									connection text DEFAULT NULL,
									timeout interval DEFAULT '1 hour',
									poll_interval interval DEFAULT '10 seconds')
RETURNS SETOF zcrm_write_job_row
AS 'MODULE_PATHNAME', 'zcrm_write_job_wait'
LANGUAGE C VOLATILE PARALLEL UNSAFE ROWS 1;

REVOKE ALL ON FUNCTION zcrm_write_job_wait(text, text, text, interval, interval) FROM PUBLIC;
