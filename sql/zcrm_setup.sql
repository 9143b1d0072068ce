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

-- The helpers the other files use, zcrm_try() and zcrm_state(): each file
-- makes them itself with the same include, so that it also runs alone.
\i sql/include/prelude.psql
