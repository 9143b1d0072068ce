--
-- zcrm_write_plan / zcrm_write_csv: a query's rows as CSV parts, without
-- the network.  Every value format under several DateStyle, TimeZone,
-- extra_float_digits and lc_* settings, RFC 4180 quoting, every local
-- error with its SQLSTATE, the split into parts, the field mappings.
--

-- wp_err(sql): the SQLSTATE and message of the error "sql" raises.
\i sql/include/prelude.psql
CREATE FUNCTION wp_err(sql text) RETURNS text
LANGUAGE plpgsql AS $$
DECLARE
	st text;
	msg text;
BEGIN
	EXECUTE sql;
	RETURN 'no error';
EXCEPTION WHEN OTHERS THEN
	GET STACKED DIAGNOSTICS st = RETURNED_SQLSTATE, msg = MESSAGE_TEXT;
	RETURN st || ': ' || msg;
END $$;

-- wp_csv(query): part 1 of the query's CSV, CRLF shown as a line break.
CREATE FUNCTION wp_csv(query text) RETURNS text
LANGUAGE sql AS $$
	SELECT replace(zcrm_write_csv('Leads', query), E'\r\n', E'\n')
$$;

CREATE DOMAIN wp_posint AS integer CHECK (VALUE > 0);
CREATE DOMAIN wp_day AS date;
CREATE DOMAIN wp_tags AS text[];
CREATE TYPE wp_mood AS ENUM ('sad', 'happy');
CREATE TYPE wp_pair AS (a int, b int);

-- One row of every formatted type, and one of NULLs.
CREATE TABLE wp_vals (
	n int, t text, vc varchar(10), i2 int2, i4 int4, i8 int8, num numeric,
	f4 float4, f8 float8, b boolean, d date, ts timestamp, tz timestamptz,
	ta text[], ia int[], da date[], u uuid, e wp_mood, j jsonb, dp wp_posint,
	dd wp_day, dt wp_tags
);
INSERT INTO wp_vals VALUES
	(1, 'plain', 'varchar', -32768, -2147483648, -9223372036854775808,
	 '123456789012345678901234567890.000000001', 0.1, 0.1, true,
	 '2024-02-29', '1999-12-31 23:59:59.999999', '2024-02-29 23:59:59.5+14',
	 '{a,"b c",NULL,d}', '{1,-2,3}', '{2024-01-02,0001-01-01}',
	 'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11', 'happy', '{"k": [1, 2]}', 7,
	 '9999-12-31', '{x,y}'),
	(2, 'Zoë ✓', '', 32767, 2147483647, 9223372036854775807,
	 '-0.000000000000000000001', 3.4028235e38, 1e20, false,
	 '0001-01-01', '1900-01-01 00:00:00.5', '1970-01-01 00:00:00-08',
	 '{}', '{42}', '{}', NULL, 'sad', '"s"', 1, '2000-01-01', '{}'),
	(3, NULL, NULL, 0, 0, 0, '0', -1.5e-7, 5e-324, NULL,
	 NULL, '0001-01-01 00:00:00', '9999-12-31 23:59:59+00',
	 NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL),
	(4, NULL, NULL, NULL, NULL, NULL, NULL, -0.0, 1.7976931348623157e308, NULL,
	 NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL),
	(5, NULL, NULL, NULL, NULL, NULL, 1e-20, 123456.7, 123456789.125, NULL,
	 NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL);

-- The same bytes under three sets of settings.
SET DateStyle = 'ISO, MDY';
SET TimeZone = 'UTC';
SET extra_float_digits = 1;
SET lc_monetary = 'C';
SET lc_numeric = 'C';
SET lc_time = 'C';
SELECT wp_csv('SELECT * FROM wp_vals ORDER BY n');
SELECT zcrm_write_csv('Leads', 'SELECT * FROM wp_vals ORDER BY n') AS csv_iso \gset

SET DateStyle = 'SQL, DMY';
SET TimeZone = 'Asia/Kolkata';
SET extra_float_digits = -15;
SET lc_monetary = 'C.utf8';
SET lc_numeric = 'C.utf8';
SET lc_time = 'C.utf8';
SELECT zcrm_write_csv('Leads', 'SELECT * FROM wp_vals ORDER BY n') = :'csv_iso' AS same_bytes;

SET DateStyle = 'German';
SET TimeZone = 'America/St_Johns';
SET extra_float_digits = 3;
SET IntervalStyle = 'sql_standard';
SELECT zcrm_write_csv('Leads', 'SELECT * FROM wp_vals ORDER BY n') = :'csv_iso' AS same_bytes;
SET DateStyle = 'Postgres, YMD';
SET TimeZone = 'Pacific/Kiritimati';
SET extra_float_digits = 0;
SELECT zcrm_write_csv('Leads', 'SELECT * FROM wp_vals ORDER BY n') = :'csv_iso' AS same_bytes;
-- (the session's own output functions do differ here)
SELECT d, ts, tz, f8 FROM wp_vals WHERE n = 1;
RESET DateStyle;
RESET TimeZone;
RESET extra_float_digits;
RESET IntervalStyle;
RESET lc_monetary;
RESET lc_numeric;
RESET lc_time;

-- Rows end with CRLF; the header row holds the API names.
SELECT position(E'\r\n' IN zcrm_write_csv('Leads', 'SELECT 1 AS "Last_Name"')) AS crlf_at,
	   zcrm_write_csv('Leads', 'SELECT 1 AS "Last_Name"') = E'Last_Name\r\n1\r\n' AS exact;

-- RFC 4180 quoting: commas, quotes, line breaks, leading and trailing spaces.
SELECT wp_csv($q$SELECT * FROM (VALUES
	(1, 'a,b', 'say "hi"', E'two\nlines', ' lead', 'trail ', E'\ttab', E'cr\rx', ''),
	(2, 'x', '"', E'\r\n', '  ', 'ok', 'semi;colon', '''', NULL)) AS v("Id", c1, c2, c3, c4, c5, c6, c7, c8)
	ORDER BY 1$q$);
-- column names are quoted by the same rules
SELECT wp_csv('SELECT 1 AS "a,b", 2 AS "say ""x""", 3 AS " sp"');

-- Other types through their output function; domains follow their base type.
SELECT wp_csv($q$SELECT '10.1.2.3/32'::inet AS ip, '1 day 2 hours'::interval AS iv,
	'12:34:56.7'::time AS tm, 'abc'::char(5) AS ch, int4range(1, 5) AS r,
	'<a>x</a>'::xml AS x, 'a b'::tsvector AS tsv, 42::wp_posint AS dom$q$);

-- Arrays of domains, domains over arrays, NULL elements left out.
SELECT wp_csv($q$SELECT ARRAY[1, NULL, 3]::wp_posint[] AS a, '{p,q}'::wp_tags AS b,
	ARRAY['2024-01-01'::wp_day] AS c, ARRAY[NULL]::text[] AS d, ARRAY[0.5::float8, 1e21, '-0'] AS e,
	ARRAY[true, false] AS f, ARRAY['a,b', 'c"d'] AS g$q$);

-- Values with no faithful CSV form: errors naming the column and the row.
SELECT wp_err($q$SELECT zcrm_write_csv('Leads', 'SELECT g AS n, CASE WHEN g = 3 THEN ''infinity''::date ELSE current_date END AS d FROM generate_series(1, 5) g')$q$);
SELECT wp_err($q$SELECT zcrm_write_csv('Leads', 'SELECT ''-infinity''::timestamp AS ts')$q$);
SELECT wp_err($q$SELECT zcrm_write_csv('Leads', 'SELECT ''infinity''::timestamptz AS tz')$q$);
SELECT zcrm_write_csv('Leads', $q$SELECT 1 AS a, '0044-03-15 BC'::date AS ides$q$);
SELECT wp_err($q$SELECT zcrm_write_csv('Leads', 'SELECT ''10000-01-01''::date AS far')$q$);
SELECT wp_err($q$SELECT zcrm_write_csv('Leads', 'SELECT ''0001-12-31 23:00:00 BC''::timestamptz AS bc')$q$);
SELECT wp_err($q$SELECT zcrm_write_csv('Leads', 'SELECT ''NaN''::float8 AS f')$q$);
SELECT wp_err($q$SELECT zcrm_write_csv('Leads', 'SELECT ''-Infinity''::float4 AS f')$q$);
SELECT wp_err($q$SELECT zcrm_write_csv('Leads', 'SELECT ''NaN''::numeric AS n')$q$);
SELECT wp_err($q$SELECT zcrm_write_csv('Leads', 'SELECT ''Infinity''::numeric AS n')$q$);
SELECT wp_err($q$SELECT zcrm_write_csv('Leads', 'SELECT 1 AS a, ''{{1,2},{3,4}}''::int[] AS m')$q$);
SELECT zcrm_write_csv('Leads', $q$SELECT ARRAY['a;b'] AS tags$q$);
SELECT wp_err($q$SELECT zcrm_write_csv('Leads', 'SELECT ARRAY[''infinity''::date] AS ds')$q$);

-- Types with no CSV form: 22023 naming the column, before any row is read
-- (the query would fail at its first row).
SELECT * FROM zcrm_write_plan('Leads', $q$SELECT 1 / (g - g) AS a, '\x00'::bytea AS raw FROM generate_series(1, 3) g$q$);
SELECT wp_err($q$SELECT zcrm_write_plan('Leads', 'SELECT 1 / (g - g) AS a, ROW(1, 2) AS r FROM generate_series(1, 3) g')$q$);
SELECT wp_err($q$SELECT zcrm_write_plan('Leads', 'SELECT 1 / (g - g) AS a, ROW(1, 2)::wp_pair AS p FROM generate_series(1, 3) g')$q$);
SELECT wp_err($q$SELECT zcrm_write_plan('Leads', 'SELECT 1 / (n - n) AS a, v FROM wp_vals v')$q$);
SELECT wp_err($q$SELECT zcrm_write_plan('Leads', 'SELECT 1 / (g - g) AS a, ARRAY[''\x00''::bytea] AS raws FROM generate_series(1, 3) g')$q$);
SELECT wp_err($q$SELECT zcrm_write_plan('Leads', 'SELECT 1 / (g - g) AS a, ARRAY[ROW(1, 2)::wp_pair] AS ps FROM generate_series(1, 3) g')$q$);
SELECT wp_err($q$SELECT zcrm_write_plan('Leads', 'SELECT 1 / (g - g) AS a, pg_sleep(0) AS v FROM generate_series(1, 3) g')$q$);
-- ... whereas a type that is fine lets the query's own error through
SELECT wp_err($q$SELECT zcrm_write_plan('Leads', 'SELECT 1 / (g - g) AS a FROM generate_series(1, 3) g')$q$);
SELECT wp_err($q$SELECT zcrm_write_plan('Leads', 'SELECT g AS n, 10 / (3 - g) AS q FROM generate_series(1, 5) g')$q$);

-- The spec's own checks.
SELECT wp_err($q$SELECT zcrm_write_plan(NULL, 'SELECT 1 AS a')$q$);
SELECT wp_err($q$SELECT zcrm_write_plan('Leads', NULL)$q$);
SELECT wp_err($q$SELECT zcrm_write_plan('Leads', 'SELECT 1 AS a', NULL)$q$);
SELECT wp_err($q$SELECT zcrm_write_plan('', 'SELECT 1 AS a')$q$);
SELECT wp_err($q$SELECT zcrm_write_plan('Le ads', 'SELECT 1 AS a')$q$);
SELECT wp_err($q$SELECT zcrm_write_plan('Leads', 'SELECT 1 AS a', 'merge')$q$);
SELECT * FROM zcrm_write_plan('Leads', 'SELECT 1 AS a', 'update');
SELECT wp_err($q$SELECT zcrm_write_plan('Leads', 'SELECT 1 AS a', 'upsert', find_by => '')$q$);
SELECT wp_err($q$SELECT zcrm_write_plan('Leads', 'SELECT 1 AS a', 'upsert', find_by => 'Email')$q$);
SELECT wp_err($q$SELECT zcrm_write_plan('Leads', '')$q$);
SELECT wp_err($q$SELECT zcrm_write_plan('Leads', 'SELEC 1')$q$);
SELECT wp_err($q$SELECT zcrm_write_plan('Leads', 'SELECT 1 AS a; SELECT 2 AS a')$q$);
SELECT wp_err($q$SELECT zcrm_write_plan('Leads', 'INSERT INTO wp_vals (n) VALUES (9) RETURNING n')$q$);
SELECT wp_err($q$SELECT zcrm_write_plan('Leads', 'WITH d AS (DELETE FROM wp_vals RETURNING n) SELECT n FROM d')$q$);
SELECT wp_err($q$SELECT zcrm_write_plan('Leads', 'SELECT n FROM wp_vals FOR UPDATE')$q$);
SELECT * FROM zcrm_write_plan('Leads', 'SELECT n INTO wp_new FROM wp_vals');
SELECT count(*) AS still_5 FROM wp_vals;
SELECT wp_err($q$SELECT zcrm_write_plan('Leads', 'SELECT FROM wp_vals')$q$);
SELECT wp_err($q$SELECT zcrm_write_plan('Leads', 'SELECT n FROM wp_vals', key_column => 'n')$q$);
SELECT wp_err($q$SELECT zcrm_write_plan('Leads', 'SELECT n FROM wp_vals', key_column => 'id')$q$);
SELECT * FROM zcrm_write_plan('Leads', 'SELECT n, t AS n FROM wp_vals');
SELECT wp_err($q$SELECT zcrm_write_plan('Leads', 'SELECT 1 AS a, 2 AS b, 3 AS a', key_column => 'b')$q$);
SELECT wp_err($q$SELECT zcrm_write_csv('Leads', 'SELECT 1 AS a', part => 0)$q$);
SELECT wp_err($q$SELECT zcrm_write_csv('Leads', 'SELECT 1 AS a', part => NULL)$q$);

-- 200 sent columns are fine, 201 are 54011; key_column is not counted.
SELECT 'SELECT ' || string_agg(g || ' AS c' || g, ', ') AS q201 FROM generate_series(1, 201) g \gset
SELECT 'SELECT ' || string_agg(g || ' AS c' || g, ', ') AS q200 FROM generate_series(1, 200) g \gset
SELECT part, rows, jsonb_array_length(field_mappings) AS mapped FROM zcrm_write_plan('Leads', :'q200');
SELECT wp_err(format('SELECT zcrm_write_plan(%L, %L)', 'Leads', :'q201'));
SELECT part, rows, jsonb_array_length(field_mappings) AS mapped
FROM zcrm_write_plan('Leads', :'q201', key_column => 'c201');

-- Mappings: their shape, fields that are not columns, formats.
SELECT wp_err($q$SELECT zcrm_write_plan('Leads', 'SELECT 1 AS a', mappings => '[1]')$q$);
SELECT wp_err($q$SELECT zcrm_write_plan('Leads', 'SELECT 1 AS a', mappings => '"a"')$q$);
SELECT wp_err($q$SELECT zcrm_write_plan('Leads', 'SELECT 1 AS a', mappings => '{"a": "email"}')$q$);
SELECT * FROM zcrm_write_plan('Leads', 'SELECT 1 AS a', mappings => '{"a": {"findby": "email"}}');
SELECT wp_err($q$SELECT zcrm_write_plan('Leads', 'SELECT 1 AS a', mappings => '{"a": {"find_by": 1}}')$q$);
SELECT wp_err($q$SELECT zcrm_write_plan('Leads', 'SELECT 1 AS a', mappings => '{"a": {"default_value": null}}')$q$);
SELECT wp_err($q$SELECT zcrm_write_plan('Leads', 'SELECT 1 AS a', mappings => '{"": {"format": "x"}}')$q$);
SELECT * FROM zcrm_write_plan('Leads', 'SELECT 1 AS a', mappings => '{"Owner": {"find_by": "email"}}');
SELECT wp_err($q$SELECT zcrm_write_plan('Leads', 'SELECT 1 AS a', mappings => '{"Owner": {"find_by": "email", "default_value": {"value": "x"}}}')$q$);
SELECT wp_err($q$SELECT zcrm_write_plan('Leads', 'SELECT 1 AS k, 2 AS a', key_column => 'k', mappings => '{"k": {"module": "Accounts"}}')$q$);
SELECT wp_err($q$SELECT zcrm_write_plan('Leads', 'SELECT current_date AS "Date_1"', mappings => '{"Date_1": {"format": "MM/dd/yyyy"}}')$q$);
SELECT jsonb_pretty(field_mappings) FROM zcrm_write_plan('Contacts',
	$q$SELECT 'k1' AS src, 'Doe' AS "Last_Name", 'a@example.com' AS "Email",
		'boss@example.com' AS "Owner", 'Acme' AS "Account_Name",
		current_date AS "Date_1", localtimestamp AS "Reminder", now() AS "Seen",
		'31/12/2024' AS "Text_Date", ARRAY[current_date] AS "Dates"$q$,
	operation => 'upsert', find_by => 'Email', key_column => 'src',
	mappings => '{"Owner": {"find_by": "email"},
				  "Account_Name": {"find_by": "Account_Name", "module": "Accounts"},
				  "Date_1": {"format": "yyyy-MM-dd"},
				  "Text_Date": {"format": "dd/MM/yyyy"},
				  "Email": {"default_value": {"value": "none@example.com"}},
				  "Lead_Source": {"default_value": {"value": "Web"}},
				  "Rating": {"default_value": {"value": 5}}}');
-- key_column is neither sent nor mapped
SELECT wp_csv($q$SELECT 'k1' AS src, 'Doe' AS "Last_Name"$q$) AS without_key,
	   replace(zcrm_write_csv('Leads', $q$SELECT 'k1' AS src, 'Doe' AS "Last_Name"$q$,
							  key_column => 'src'), E'\r\n', '|') AS with_key;

-- Splitting: 60,000 rows are 25,000 + 25,000 + 10,000; credits per job.
SELECT part, rows, csv_bytes > zip_bytes AS compressed, credits
FROM zcrm_write_plan('Leads', 'SELECT g AS "Id", ''Name '' || g AS "Last_Name" FROM generate_series(1, 60000) g');
SELECT sum(credits) AS credits FROM zcrm_write_plan('Leads', 'SELECT g AS "Id" FROM generate_series(1, 60000) g');
-- part 3 starts with row 50,001; its size is what zcrm_write_plan reports
SELECT split_part(zcrm_write_csv('Leads', 'SELECT g AS "Id" FROM generate_series(1, 60000) g', part => 3), E'\r\n', 2) AS first_of_part_3,
	   octet_length(zcrm_write_csv('Leads', 'SELECT g AS "Id" FROM generate_series(1, 60000) g', part => 3)) =
	   (SELECT csv_bytes FROM zcrm_write_plan('Leads', 'SELECT g AS "Id" FROM generate_series(1, 60000) g') WHERE part = 3) AS same_size;
SELECT zcrm_write_csv('Leads', 'SELECT g AS "Id" FROM generate_series(1, 60000) g', part => 4) IS NULL AS no_part_4;
-- the rows after the wanted part are not read: a query failing at row
-- 40,000 still gives part 1, while its plan reaches the error
SELECT split_part(zcrm_write_csv('Leads', 'SELECT g AS "Id", 1 / (40000 - g) AS "Q" FROM (SELECT generate_series(1, 60000) AS g) s'), E'\r\n', 2) AS first_row;
SELECT wp_err($q$SELECT zcrm_write_plan('Leads', 'SELECT g AS "Id", 1 / (40000 - g) AS "Q" FROM (SELECT generate_series(1, 60000) AS g) s')$q$);

-- zcrm_bulk.max_part_rows lowers the row limit; 25,000 is its maximum.
SET zcrm_bulk.max_part_rows = 1000;
SELECT part, rows FROM zcrm_write_plan('Leads', 'SELECT g AS "Id" FROM generate_series(1, 2500) g');
SELECT wp_err('SET zcrm_bulk.max_part_rows = 25001');
RESET zcrm_bulk.max_part_rows;

-- zcrm_bulk.max_part_bytes splits by bytes (the header row counts).
SET zcrm_bulk.max_part_bytes = '1kB';
SELECT part, rows, csv_bytes, csv_bytes <= 1024 AS fits
FROM zcrm_write_plan('Leads', $q$SELECT g AS "Id", lpad(g::text, 40, 'x') AS "Last_Name" FROM generate_series(1, 60) g$q$);
SELECT split_part(zcrm_write_csv('Leads', $q$SELECT g AS "Id", lpad(g::text, 40, 'x') AS "Last_Name" FROM generate_series(1, 60) g$q$, part => 2), E'\r\n', 2) AS first_of_part_2;
-- a row too large for a part by itself: 54000 naming it
SELECT * FROM zcrm_write_plan('Leads', $q$SELECT g AS "Id", repeat('y', CASE WHEN g = 7 THEN 1100 ELSE 10 END) AS "Last_Name" FROM generate_series(1, 10) g$q$);
-- a header row too large
SELECT wp_err(format('SELECT zcrm_write_plan(%L, %L)', 'Leads', 'SELECT ' || (SELECT string_agg(g || ' AS ' || repeat('h', 60) || g, ', ') FROM generate_series(10, 30) g)));
SELECT wp_err($q$SET zcrm_bulk.max_part_bytes = '100B'$q$);
SELECT wp_err($q$SET zcrm_bulk.max_part_bytes = '25MB'$q$);
RESET zcrm_bulk.max_part_bytes;
SELECT current_setting('zcrm_bulk.max_part_bytes') AS max_part_bytes,
	   current_setting('zcrm_bulk.max_part_rows') AS max_part_rows;

-- An empty result makes no part.
SELECT count(*) AS parts FROM zcrm_write_plan('Leads', 'SELECT 1 AS a WHERE false');
SELECT zcrm_write_csv('Leads', 'SELECT 1 AS a WHERE false') IS NULL AS no_csv;

-- The query runs as the caller, with the caller's search_path.
CREATE SCHEMA wp_s;
CREATE TABLE wp_s.wp_t AS SELECT 'from wp_s' AS "Last_Name";
SET search_path = wp_s, public;
SELECT wp_csv('SELECT * FROM wp_t');
RESET search_path;
SELECT wp_err($q$SELECT zcrm_write_plan('Leads', 'SELECT * FROM wp_t')$q$);
CREATE ROLE wp_nobody;
GRANT USAGE ON SCHEMA wp_s TO wp_nobody;
GRANT EXECUTE ON FUNCTION zcrm_write_csv(text, text, text, text, text, jsonb, integer) TO wp_nobody;
SET ROLE wp_nobody;
SELECT wp_err($q$SELECT zcrm_write_csv('Leads', 'SELECT * FROM wp_s.wp_t')$q$);
SELECT wp_err($q$SELECT zcrm_write_plan('Leads', 'SELECT 1 AS a')$q$);
RESET ROLE;
REVOKE ALL ON FUNCTION zcrm_write_csv(text, text, text, text, text, jsonb, integer) FROM wp_nobody;
REVOKE ALL ON SCHEMA wp_s FROM wp_nobody;
DROP ROLE wp_nobody;
DROP SCHEMA wp_s CASCADE;

-- The source rows a prepare stores are compressed with lz4, not pglz
-- (Debian's PostgreSQL has lz4; the install keeps pglz where it does not).
SELECT attname, attcompression
FROM pg_attribute
WHERE attrelid = 'zcrm_write_source_part'::regclass AND attnum > 0
  AND format_type(atttypid, atttypmod) = 'text[]'
ORDER BY attnum;

-- A part's zip, deflated already, is stored as it is (storage external).
SELECT attname, attstorage
FROM pg_attribute
WHERE attrelid = 'zcrm_write_run_job'::regclass AND attname = 'zip';

DROP TABLE wp_vals;
DROP DOMAIN wp_tags;
DROP DOMAIN wp_day;
DROP DOMAIN wp_posint;
DROP TYPE wp_mood;
DROP TYPE wp_pair;
DROP FUNCTION wp_csv(text);
DROP FUNCTION wp_err(text);
