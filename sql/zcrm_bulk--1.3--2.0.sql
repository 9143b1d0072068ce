/* zcrm_bulk--1.3--2.0.sql */

-- complain if script is sourced in psql, rather than via ALTER EXTENSION
\echo Use "ALTER EXTENSION zcrm_bulk UPDATE TO '2.0'" to load this file. \quit

-- Release 2.0.  Every object below is safe under a hostile search_path:
-- functions and operators are schema-qualified (pg_catalog., @extschema@.,
-- OPERATOR(pg_catalog.=)) and search_path is pinned where SQL allows.

-----------------------------------------------------------------------
-- 1. Connections become foreign servers and user mappings
-----------------------------------------------------------------------

-- The wrapper.  Server options: accounts_server, api_domain; user mapping
-- options: client_id, client_secret, refresh_token (see the validator in
-- src/connections.c).  Its USAGE (needed to CREATE SERVER) is not PUBLIC's.
CREATE FUNCTION zcrm_bulk_fdw_validator(options text[], catalog oid)
RETURNS void
AS 'MODULE_PATHNAME', 'zcrm_bulk_fdw_validator'
LANGUAGE C STRICT;

CREATE FOREIGN DATA WRAPPER zcrm_bulk VALIDATOR @extschema@.zcrm_bulk_fdw_validator;
REVOKE ALL ON FOREIGN DATA WRAPPER zcrm_bulk FROM PUBLIC;
COMMENT ON FOREIGN DATA WRAPPER zcrm_bulk IS
'Zoho CRM connections: servers name a data centre, user mappings hold OAuth credentials';

-- Every stored connection becomes a server of the same name, owned by the
-- connection's owner (or, when that role is gone, by the extension's owner,
-- with a WARNING), with a user mapping FOR PUBLIC holding its credentials;
-- every grant becomes GRANT USAGE ON FOREIGN SERVER.  The servers are not
-- members of the extension: pg_dump dumps them, DROP EXTENSION keeps them
-- (it needs CASCADE).  A failing statement is reported without its text,
-- which would quote the secrets.
DO $migrate$
DECLARE
	c record;
	g record;
	owner_name text;
	ext_owner text;
BEGIN
	SELECT pg_catalog.quote_ident(r.rolname) INTO ext_owner
	FROM pg_catalog.pg_extension AS e
	JOIN pg_catalog.pg_roles AS r ON r.oid OPERATOR(pg_catalog.=) e.extowner
	WHERE e.extname OPERATOR(pg_catalog.=) 'zcrm_bulk';

	FOR c IN SELECT * FROM @extschema@.zcrm_connection ORDER BY name LOOP
		SELECT pg_catalog.quote_ident(r.rolname) INTO owner_name
		FROM pg_catalog.pg_roles AS r WHERE r.oid OPERATOR(pg_catalog.=) c.owner;
		IF owner_name IS NULL THEN
			RAISE WARNING 'the owner of Zoho CRM connection "%" no longer exists', c.name
				USING DETAIL = pg_catalog.format('Server %s is owned by %s, the owner of extension zcrm_bulk.',
												 pg_catalog.quote_ident(c.name), ext_owner),
					  HINT = 'Give it the right owner with ALTER SERVER ... OWNER TO.';
			owner_name := ext_owner;
		END IF;
		BEGIN
			EXECUTE pg_catalog.format('CREATE SERVER %I FOREIGN DATA WRAPPER zcrm_bulk OPTIONS (accounts_server %L%s)',
									  c.name, c.accounts_server,
									  CASE WHEN c.api_domain IS NOT NULL
										   THEN pg_catalog.format(', api_domain %L', c.api_domain)
										   ELSE '' END);
			EXECUTE pg_catalog.format('ALTER EXTENSION zcrm_bulk DROP SERVER %I', c.name);
			EXECUTE pg_catalog.format('ALTER SERVER %I OWNER TO %s', c.name, owner_name);
			EXECUTE pg_catalog.format('CREATE USER MAPPING FOR PUBLIC SERVER %I OPTIONS (client_id %L, client_secret %L, refresh_token %L)',
									  c.name, c.client_id, c.client_secret, c.refresh_token);
		EXCEPTION WHEN OTHERS THEN
			RAISE EXCEPTION 'could not turn Zoho CRM connection "%" into a server: %', c.name, SQLERRM
				USING ERRCODE = SQLSTATE,
					  HINT = 'A server of that name may exist already: rename it, then run the update again.';
		END;
		FOR g IN SELECT r.rolname FROM @extschema@.zcrm_connection_grant AS cg
				 JOIN pg_catalog.pg_roles AS r ON r.oid OPERATOR(pg_catalog.=) cg.grantee
				 WHERE cg.connection OPERATOR(pg_catalog.=) c.name ORDER BY 1 LOOP
			EXECUTE pg_catalog.format('GRANT USAGE ON FOREIGN SERVER %I TO %I', c.name, g.rolname);
		END LOOP;
	END LOOP;

	-- user mappings created in an extension script become its members;
	-- they belong to their servers, not to the extension
	DELETE FROM pg_catalog.pg_depend AS d
	WHERE d.classid OPERATOR(pg_catalog.=) 'pg_catalog.pg_user_mapping'::pg_catalog.regclass
	  AND d.refclassid OPERATOR(pg_catalog.=) 'pg_catalog.pg_extension'::pg_catalog.regclass
	  AND d.refobjid OPERATOR(pg_catalog.=) (SELECT e.oid FROM pg_catalog.pg_extension AS e
											 WHERE e.extname OPERATOR(pg_catalog.=) 'zcrm_bulk')
	  AND d.deptype OPERATOR(pg_catalog.=) 'e';
END
$migrate$;

DROP FUNCTION @extschema@.zcrm_connection_create(text, text, text, text, text, text);
DROP FUNCTION @extschema@.zcrm_connection_alter(text, text, text, text, text, text);
DROP FUNCTION @extschema@.zcrm_connection_drop(text);
DROP FUNCTION @extschema@.zcrm_connection_grant(text, regrole);
DROP FUNCTION @extschema@.zcrm_connection_revoke(text, regrole);
DROP FUNCTION @extschema@.zcrm_connections();
DROP TABLE @extschema@.zcrm_connection_grant;
DROP TABLE @extschema@.zcrm_connection;

-----------------------------------------------------------------------
-- 2. Tracking and the poller
-----------------------------------------------------------------------

-- Each tracked job records the role that tracked it (issue 10, item 2): the
-- poller fetches it with that role's rights, and row-level security lets a
-- role see and change only its own tracking and history (and that of the
-- roles it is a member of).  regrole is dumped and restored by role name.
-- Jobs tracked before 2.0 are taken to be the extension owner's.  A dropped
-- role leaves its jobs behind: polling them records an error (42704) until
-- they are tracked again or deleted.
ALTER TABLE @extschema@.zcrm_tracked_job ADD COLUMN tracked_by pg_catalog.regrole;
UPDATE @extschema@.zcrm_tracked_job
SET tracked_by = (SELECT e.extowner FROM pg_catalog.pg_extension AS e
				  WHERE e.extname OPERATOR(pg_catalog.=) 'zcrm_bulk')::pg_catalog.regrole;
ALTER TABLE @extschema@.zcrm_tracked_job
	ALTER COLUMN tracked_by SET DEFAULT pg_catalog.quote_ident(CURRENT_USER)::pg_catalog.regrole,
	ALTER COLUMN tracked_by SET NOT NULL;

ALTER TABLE @extschema@.zcrm_tracked_job ENABLE ROW LEVEL SECURITY;
ALTER TABLE @extschema@.zcrm_job_history ENABLE ROW LEVEL SECURITY;

CREATE POLICY zcrm_tracked_job_by_tracker ON @extschema@.zcrm_tracked_job
	USING (pg_catalog.pg_has_role(tracked_by::pg_catalog.oid, 'MEMBER'))
	WITH CHECK (pg_catalog.pg_has_role(tracked_by::pg_catalog.oid, 'MEMBER'));

-- A history row is visible when its job is (the subquery is itself under
-- zcrm_tracked_job's policy).
CREATE POLICY zcrm_job_history_by_tracker ON @extschema@.zcrm_job_history
	USING (EXISTS (SELECT FROM @extschema@.zcrm_tracked_job AS t
				   WHERE t.job_id OPERATOR(pg_catalog.=) zcrm_job_history.job_id))
	WITH CHECK (EXISTS (SELECT FROM @extschema@.zcrm_tracked_job AS t
						WHERE t.job_id OPERATOR(pg_catalog.=) zcrm_job_history.job_id));

-- Start (or restart) tracking a job, as the calling role.  The caller must
-- have USAGE on the connection's server (checked again, as the tracking
-- role, on every poll).  Re-tracking a job tracked by a role the caller is
-- not a member of is refused.  The job id is checked by
-- zcrm_valid_job_id() (section 3), the rule of the job functions.
CREATE OR REPLACE FUNCTION @extschema@.zcrm_track_job(job_id pg_catalog.text,
													  connection pg_catalog.text DEFAULT NULL)
RETURNS void
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $$
#variable_conflict use_column
DECLARE
	me pg_catalog.regrole := pg_catalog.quote_ident(CURRENT_USER)::pg_catalog.regrole;
	attempt pg_catalog.int4;
BEGIN
	IF zcrm_track_job.job_id IS NULL
	   OR NOT @extschema@.zcrm_valid_job_id(zcrm_track_job.job_id) THEN
		RAISE EXCEPTION 'invalid bulk write job id'
			USING ERRCODE = 'invalid_parameter_value',
				  DETAIL = 'A job id consists of 1 to 32 ASCII digits.';
	END IF;
	-- (a server that does not exist raises 42704 here)
	IF zcrm_track_job.connection IS NOT NULL
	   AND NOT pg_catalog.has_server_privilege(zcrm_track_job.connection, 'USAGE') THEN
		RAISE EXCEPTION 'permission denied for foreign server %', zcrm_track_job.connection
			USING ERRCODE = 'insufficient_privilege',
				  DETAIL = 'A job is fetched with the rights of the role that tracks it.',
				  HINT = 'Track the job through a server you have USAGE on, or ask the server''s owner to grant USAGE on it to you.';
	END IF;
	FOR attempt IN 1 .. 2 LOOP
		-- ours (or a role's we are a member of): restart it, as ours
		UPDATE @extschema@.zcrm_tracked_job AS t
		SET connection = zcrm_track_job.connection, tracked_by = me,
			finished_at = NULL, last_error = NULL, last_sqlstate = NULL
		WHERE t.job_id OPERATOR(pg_catalog.=) zcrm_track_job.job_id
		  AND pg_catalog.pg_has_role(t.tracked_by::pg_catalog.oid, 'MEMBER');
		IF FOUND THEN
			RETURN;
		END IF;
		INSERT INTO @extschema@.zcrm_tracked_job AS t (job_id, connection, tracked_by)
		VALUES (zcrm_track_job.job_id, zcrm_track_job.connection, me)
		ON CONFLICT ON CONSTRAINT zcrm_tracked_job_pkey DO NOTHING;
		IF FOUND THEN
			RETURN;
		END IF;
		-- it exists: tracked by another role, or by one of ours in a
		-- transaction that committed between the two statements (look again)
	END LOOP;
	RAISE EXCEPTION 'bulk write job % is tracked by another role', zcrm_track_job.job_id
		USING ERRCODE = 'insufficient_privilege',
			  DETAIL = 'Only the role that tracks a job, and the members of that role, can track it again.',
			  HINT = 'Track it as a member of the role that tracks it, or ask that role or a superuser to stop tracking it.';
END
$$;

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
-- one would not fit (8000 bytes).  Call it with CALL, outside an explicit
-- transaction block.
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

-- The job id rule of the job functions (src/validate.c: 1 to 32 ASCII
-- digits), for SQL: zcrm_track_job() and the CHECK of
-- zcrm_tracked_job.job_id use it, so that all of them accept the same ids.
-- It runs no SQL, so no search_path can change what it does.  EXECUTE
-- stays PUBLIC's: a CHECK needs it of every role that writes the table,
-- and the function tells nothing but whether a text is a job id.
CREATE FUNCTION @extschema@.zcrm_valid_job_id(job_id pg_catalog.text)
RETURNS pg_catalog.bool
AS 'MODULE_PATHNAME', 'zcrm_valid_job_id'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

-- The regular expression of 1.2 gives way to the same rule in C; the
-- constraint keeps its name, so that a violation reads as before.
ALTER TABLE @extschema@.zcrm_tracked_job
	DROP CONSTRAINT zcrm_tracked_job_job_id_check,
	ADD CONSTRAINT zcrm_tracked_job_job_id_check
		CHECK (@extschema@.zcrm_valid_job_id(job_id));
