--
-- zcrm_setup: create the extension and the helpers the other tests use.
--
-- The access token comes from the environment (ZCRM_TEST_TOKEN) through
-- \getenv, so no test file or expected output ever contains it.
--
\getenv token ZCRM_TEST_TOKEN

-- Version 1.0 first: its two-argument functions work with this library ...
CREATE EXTENSION zcrm_bulk VERSION '1.0';
SELECT job_id, status FROM zcrm_write_job('4150868000005392002', :'token');
SELECT * FROM zcrm_write_job('4150868000005392002', NULL);

-- ... and the update to the current version keeps the row types.
ALTER EXTENSION zcrm_bulk UPDATE;
SELECT extname, extversion FROM pg_extension WHERE extname = 'zcrm_bulk';
SELECT job_id, status FROM zcrm_write_job('4150868000005392002', :'token');

-- What the extension installs.
SELECT pg_describe_object(classid, objid, objsubid) AS object
FROM pg_depend
WHERE refobjid = (SELECT oid FROM pg_extension WHERE extname = 'zcrm_bulk')
  AND deptype = 'e'
ORDER BY 1;

SELECT p.proname, pg_get_function_arguments(p.oid) AS arguments,
	   pg_get_function_result(p.oid) AS result, p.provolatile, p.proisstrict,
	   p.proretset, p.proparallel, p.proacl
FROM pg_proc p
WHERE p.proname LIKE 'zcrm%'
ORDER BY 1;

-- Every column of the four row types, with its type, in contract order.
SELECT attrelid::regclass AS row_type, attnum, attname,
	   format_type(atttypid, atttypmod) AS type
FROM pg_attribute
WHERE attrelid IN ('zcrm_write_job_row'::regclass, 'zcrm_field_mapping_row'::regclass,
				   'zcrm_write_jobs_row'::regclass, 'zcrm_jobs_field_mapping_row'::regclass)
  AND attnum > 0
ORDER BY 1, 2;

-- zcrm_try(function, job_id, token): call one of the three functions and
-- return the SQLSTATE, message, detail and hint of the error it raises
-- ('00000' when it raises none).  Written in PL/pgSQL because that is how
-- users catch these errors.
CREATE FUNCTION zcrm_try(fn text, job text, tok text,
						 OUT state text, OUT message text,
						 OUT detail text, OUT hint text)
LANGUAGE plpgsql AS $$
BEGIN
	EXECUTE format('SELECT count(*) FROM %I($1, $2)', fn) USING job, tok;
	state := '00000';
	message := 'no error';
EXCEPTION WHEN OTHERS THEN
	GET STACKED DIAGNOSTICS state = RETURNED_SQLSTATE,
							message = MESSAGE_TEXT,
							detail = PG_EXCEPTION_DETAIL,
							hint = PG_EXCEPTION_HINT;
END
$$;

-- zcrm_state(function, job_id, token): SQLSTATE and message only, for
-- transport failures whose detail carries libcurl's timing-dependent text.
CREATE FUNCTION zcrm_state(fn text, job text, tok text) RETURNS text
LANGUAGE sql AS $$
	SELECT state || ': ' || message FROM zcrm_try(fn, job, tok)
$$;
