--
-- zcrm_seed: the seed document's job (API v2) and its four error responses,
-- replayed byte for byte (gzip, chunked) by the local API server.
--
\i sql/include/prelude.psql
\getenv token ZCRM_TEST_TOKEN
SET TimeZone = 'UTC';
SET DateStyle = 'ISO, YMD';
\pset null '(null)'

-- Every column of the job.
\x on
SELECT * FROM zcrm_write_job('4150868000005392002', :'token');
\x off

-- The five field mappings, in the order the API sent them.
SELECT * FROM zcrm_write_job_field_mappings('4150868000005392002', :'token');

-- The document as jsonb equals the seed's body exactly.
SELECT zcrm_write_job_json('4150868000005392002', :'token') = $json$
{
 "status": "INPROGRESS",
 "resource": [
  {
   "status": "INPROGRESS",
   "type": "data",
   "module": "Leads",
   "field_mappings": [
    {"api_name": "Owner", "index": 1, "format": null, "find_by": null, "module": null, "default_value": null},
    {"api_name": "Date_3", "index": 2, "format": "yyyy/MM/dd", "find_by": null, "module": null, "default_value": null},
    {"api_name": "Last_Name", "index": 0, "format": null, "find_by": null, "module": null, "default_value": null},
    {"api_name": "Layout", "index": 4, "format": null, "find_by": null, "module": null, "default_value": null},
    {"api_name": "Mobile", "index": 3, "format": null, "find_by": null, "module": null, "default_value": null}
   ],
   "code": "INPROGRESS"
  }
 ],
 "id": "4150868000005392002",
 "callback": {"url": "https://www.zoho.com/in/crm/", "method": "post"},
 "created_by": {"id": "4150868000000225013", "name": "Patricia Boyle"},
 "ignore_empty": true,
 "operation": "insert",
 "created_time": "2021-05-13T11:00:58+05:30"
}
$json$::jsonb AS same_as_seed;

-- The seed's four error responses, as users see them ...
SELECT * FROM zcrm_write_job('415086800000539200', :'token');
SELECT * FROM zcrm_write_job('2000000000000000405', :'token');
SELECT * FROM zcrm_write_job('2000000000000000406', :'token');
SELECT * FROM zcrm_write_job('2000000000000000407', :'token');

-- ... and with their SQLSTATEs, through each of the three functions.
SELECT job, fn, (zcrm_try(fn, job, :'token')).state
FROM (VALUES ('415086800000539200'), ('2000000000000000405'),
			 ('2000000000000000406'), ('2000000000000000407')) AS j(job),
	 (VALUES ('zcrm_write_job'), ('zcrm_write_job_field_mappings'),
			 ('zcrm_write_job_json')) AS f(fn)
ORDER BY 1, 2;
