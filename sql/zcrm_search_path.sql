--
-- zcrm_search_path: the poller and zcrm_track_job() are immune to a
-- hostile search_path (issue 10, item 1).
--
-- A role that may create objects in a schema on a superuser's search_path
-- (public, here) defines exact-type overloads of what the 1.3 poller called
-- unqualified: functions, an aggregate, operators and a domain.  Each one
-- records that it ran and tries to make its owner a superuser.  Then a
-- superuser tracks jobs and polls them, first with search_path
-- 'public, pg_catalog' and then with the default '"$user", public' (where
-- pg_catalog comes first but an exact-type overload still beats a
-- polymorphic built-in).  Nothing of the attacker's may run.
--
\i sql/include/prelude.psql
\getenv rt ZCRM_TEST_RT_SECRET
\getenv secret ZCRM_TEST_CLIENT_SECRET
SET zcrm_bulk.retry_delay = '1ms';
SELECT current_setting('zcrm_bulk.api_domain') AS accounts \gset
SELECT '1000.rt.sp.' || :'rt' AS rt_sp \gset
CREATE SERVER sp FOREIGN DATA WRAPPER zcrm_bulk OPTIONS (accounts_server :'accounts');
CREATE USER MAPPING FOR PUBLIC SERVER sp
	OPTIONS (client_id '1000.CLIENTID', client_secret :'secret', refresh_token :'rt_sp');

-- What an SQL-language object of the extension may not do: run with the
-- caller's search_path (a procedure that commits cannot carry SET: it pins
-- search_path itself) or be SECURITY DEFINER.
SELECT p.oid::regprocedure AS object, p.prokind, p.prosecdef, p.proconfig
FROM pg_proc AS p
JOIN pg_depend AS d ON d.classid = 'pg_proc'::regclass AND d.objid = p.oid AND d.deptype = 'e'
JOIN pg_extension AS e ON e.oid = d.refobjid AND e.extname = 'zcrm_bulk'
JOIN pg_language AS l ON l.oid = p.prolang
WHERE l.lanname <> 'c'
ORDER BY 1::text;

CREATE ROLE regress_zcrm_attacker;
GRANT CREATE ON SCHEMA public TO regress_zcrm_attacker;
SET ROLE regress_zcrm_attacker;
CREATE TABLE public.zcrm_evil_log (what text);
GRANT INSERT ON public.zcrm_evil_log TO PUBLIC;
CREATE FUNCTION public.zcrm_evil(what text) RETURNS boolean
LANGUAGE plpgsql AS $$
BEGIN
	INSERT INTO public.zcrm_evil_log VALUES (what);
	BEGIN
		EXECUTE 'ALTER ROLE regress_zcrm_attacker SUPERUSER';
	EXCEPTION WHEN OTHERS THEN
		NULL;
	END;
	RETURN true;
END
$$;
GRANT EXECUTE ON FUNCTION public.zcrm_evil(text) TO PUBLIC;

-- functions
CREATE FUNCTION public.cardinality(a text[]) RETURNS integer LANGUAGE sql
AS $$ SELECT public.zcrm_evil('cardinality(text[])'); SELECT pg_catalog.cardinality(a) $$;
CREATE FUNCTION public.clock_timestamp() RETURNS timestamptz LANGUAGE sql
AS $$ SELECT public.zcrm_evil('clock_timestamp()'); SELECT pg_catalog.clock_timestamp() $$;
CREATE FUNCTION public.unnest(a public.zcrm_write_jobs_row[]) RETURNS SETOF public.zcrm_write_jobs_row
LANGUAGE sql AS $$ SELECT public.zcrm_evil('unnest(zcrm_write_jobs_row[])'); SELECT * FROM pg_catalog.unnest(a) $$;
CREATE FUNCTION public.jsonb_build_object(text, text, text, text, text, bigint, text, bigint,
										  text, bigint, text, bigint) RETURNS jsonb LANGUAGE sql
AS $$ SELECT public.zcrm_evil('jsonb_build_object(resource)');
	  SELECT pg_catalog.jsonb_build_object($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12) $$;
CREATE FUNCTION public.jsonb_build_object(text, text, text, text, text, text, text, jsonb)
RETURNS jsonb LANGUAGE sql
AS $$ SELECT public.zcrm_evil('jsonb_build_object(payload)');
	  SELECT pg_catalog.jsonb_build_object($1, $2, $3, $4, $5, $6, $7, $8) $$;
-- an aggregate
CREATE FUNCTION public.zcrm_evil_agg(s jsonb, v jsonb) RETURNS jsonb LANGUAGE sql
AS $$ SELECT public.zcrm_evil('jsonb_agg(jsonb)');
	  SELECT pg_catalog.jsonb_insert(s, '{-1}', v, true) $$;
CREATE AGGREGATE public.jsonb_agg(jsonb) (SFUNC = public.zcrm_evil_agg, STYPE = jsonb,
										  INITCOND = '[]');
-- operators
CREATE FUNCTION public.zcrm_evil_texteq(a text, b text) RETURNS boolean LANGUAGE sql
AS $$ SELECT public.zcrm_evil('=(text, text)'); SELECT pg_catalog.texteq(a, b) $$;
CREATE OPERATOR public.= (LEFTARG = text, RIGHTARG = text, FUNCTION = public.zcrm_evil_texteq);
CREATE FUNCTION public.zcrm_evil_int4eq(a integer, b integer) RETURNS boolean LANGUAGE sql
AS $$ SELECT public.zcrm_evil('=(integer, integer)'); SELECT pg_catalog.int4eq(a, b) $$;
CREATE OPERATOR public.= (LEFTARG = integer, RIGHTARG = integer, FUNCTION = public.zcrm_evil_int4eq);
CREATE FUNCTION public.zcrm_evil_int4pl(a integer, b integer) RETURNS integer LANGUAGE sql
AS $$ SELECT public.zcrm_evil('+(integer, integer)'); SELECT pg_catalog.int4pl(a, b) $$;
CREATE OPERATOR public.+ (LEFTARG = integer, RIGHTARG = integer, FUNCTION = public.zcrm_evil_int4pl);
CREATE FUNCTION public.zcrm_evil_tslt(a timestamptz, b timestamptz) RETURNS boolean LANGUAGE sql
AS $$ SELECT public.zcrm_evil('<(timestamptz, timestamptz)'); SELECT pg_catalog.timestamptz_lt(a, b) $$;
CREATE OPERATOR public.< (LEFTARG = timestamptz, RIGHTARG = timestamptz, FUNCTION = public.zcrm_evil_tslt);
CREATE FUNCTION public.zcrm_evil_tsmi(a timestamptz, b interval) RETURNS timestamptz LANGUAGE sql
AS $$ SELECT public.zcrm_evil('-(timestamptz, interval)'); SELECT pg_catalog.timestamptz_mi_interval(a, b) $$;
CREATE OPERATOR public.- (LEFTARG = timestamptz, RIGHTARG = interval, FUNCTION = public.zcrm_evil_tsmi);
CREATE FUNCTION public.zcrm_evil_nregex(a text, b text) RETURNS boolean LANGUAGE sql
AS $$ SELECT public.zcrm_evil('!~(text, text)'); SELECT pg_catalog.textregexne(a, b) $$;
CREATE OPERATOR public.!~ (LEFTARG = text, RIGHTARG = text, FUNCTION = public.zcrm_evil_nregex);
-- a type: a domain over jsonb whose check runs the attacker's function
CREATE DOMAIN public.jsonb AS pg_catalog.jsonb CHECK (public.zcrm_evil('domain jsonb'));
RESET ROLE;

-- The attacker also tracks a job of its own, so that the poller switches
-- to the attacker's role to fetch it: nothing of the attacker's may run
-- then either.
GRANT EXECUTE ON FUNCTION zcrm_track_job(text, text), zcrm_write_jobs(text[], text, text, text)
	TO regress_zcrm_attacker;
GRANT SELECT, INSERT, UPDATE ON zcrm_tracked_job TO regress_zcrm_attacker;
GRANT USAGE ON FOREIGN SERVER sp TO regress_zcrm_attacker;
SET ROLE regress_zcrm_attacker;
SET search_path = public, pg_catalog;
SELECT zcrm_track_job('1000000000000000002', 'sp');	-- COMPLETED
RESET search_path;
RESET ROLE;

-- The attack: a superuser tracks and polls with public first ...
SET search_path = public, pg_catalog;
SELECT zcrm_track_job('4150868000005350003', 'sp');	-- COMPLETED
SELECT zcrm_track_job('4150868000005392002', 'sp');	-- INPROGRESS
CALL zcrm_poll_tracked_jobs(min_interval => '0');
RESET search_path;
-- ... and with the default search_path.
SELECT zcrm_track_job('1000000000000000003', 'sp');	-- COMPLETED, 3 resources
CALL zcrm_poll_tracked_jobs(min_interval => '0');

-- Nothing of the attacker's ran, and the polls did their work.
SELECT rolsuper FROM pg_roles WHERE rolname = 'regress_zcrm_attacker';
SELECT what, count(*) FROM public.zcrm_evil_log GROUP BY what ORDER BY what;
SELECT job_id, CASE WHEN tracked_by::text = current_user THEN '(me)' ELSE tracked_by::text END AS tracked_by,
	   last_status, finished_at IS NOT NULL AS finished, last_sqlstate
FROM zcrm_tracked_job ORDER BY job_id;
SELECT job_id, status, jsonb_array_length(resources) AS resources
FROM zcrm_job_history ORDER BY job_id, id;

DELETE FROM zcrm_tracked_job;
DROP OWNED BY regress_zcrm_attacker;
REVOKE CREATE ON SCHEMA public FROM regress_zcrm_attacker;
DROP ROLE regress_zcrm_attacker;
DROP SERVER sp CASCADE;
