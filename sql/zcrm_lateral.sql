--
-- zcrm_lateral: the functions in LATERAL joins over a local table of jobs,
-- and their rows joined against local tables.
--
\i sql/include/prelude.psql
\getenv token ZCRM_TEST_TOKEN
\pset null '(null)'

CREATE TABLE imports (
	job_id text PRIMARY KEY,
	source_file text NOT NULL
);
INSERT INTO imports VALUES
	('4150868000005392002', 'leads_may_13.zip'),
	('4150868000005350003', 'leads_may_11.zip'),
	('1000000000000000003', 'products.zip'),
	('1000000000000000004', 'empty.zip');

-- One row per resource of every job; the empty job still has its row.
SELECT i.source_file, j.job_id, j.status, j.resource_index, j.resource_module,
	   j.file_status, j.added_count, j.total_count
FROM imports i
CROSS JOIN LATERAL zcrm_write_job(i.job_id, :'token') AS j
ORDER BY i.source_file, j.resource_index;

-- LEFT JOIN LATERAL keeps jobs without field mappings.
SELECT i.source_file, count(m.api_name) AS mappings
FROM imports i
LEFT JOIN LATERAL zcrm_write_job_field_mappings(i.job_id, :'token') AS m ON true
GROUP BY i.source_file
ORDER BY i.source_file;

-- The jsonb function too.
SELECT i.source_file, d ->> 'status' AS status, jsonb_array_length(coalesce(d -> 'resource', '[]')) AS resources
FROM imports i
CROSS JOIN LATERAL zcrm_write_job_json(i.job_id, :'token') AS d
ORDER BY i.source_file;

-- Field mappings joined against the local description of each CSV file:
-- which columns of the upload went to which CRM field.
CREATE TABLE csv_columns (
	source_file text,
	position integer,
	header text
);
INSERT INTO csv_columns VALUES
	('leads_may_13.zip', 0, 'last name'),
	('leads_may_13.zip', 1, 'owner'),
	('leads_may_13.zip', 2, 'date'),
	('leads_may_13.zip', 3, 'mobile'),
	('leads_may_13.zip', 4, 'layout'),
	('leads_may_13.zip', 5, 'notes');

SELECT c.position, c.header, m.api_name, m.format
FROM csv_columns c
JOIN imports i USING (source_file)
LEFT JOIN LATERAL zcrm_write_job_field_mappings(i.job_id, :'token') AS m
	   ON m.index = c.position
ORDER BY c.position;

-- A summary a data engineer would write: progress per job.
SELECT i.source_file, max(j.status) AS status,
	   sum(j.added_count + j.updated_count) AS written,
	   sum(j.skipped_count) AS skipped, sum(j.total_count) AS total
FROM imports i
CROSS JOIN LATERAL zcrm_write_job(i.job_id, :'token') AS j
GROUP BY i.source_file
ORDER BY i.source_file;

-- The function is called once per outer row (VOLATILE), in a subquery too.
SELECT source_file,
	   (SELECT count(*) FROM zcrm_write_job(imports.job_id, :'token')) AS resources
FROM imports
ORDER BY source_file;

DROP TABLE csv_columns;
DROP TABLE imports;
