--
-- zcrm_settings: the zcrm_bulk.* settings, their checks and who may set them.
--
\i sql/include/prelude.psql
\getenv token ZCRM_TEST_TOKEN

-- Before the library is loaded in a session, SET by an ordinary role only
-- makes a placeholder; loading the library rejects it for a superuser-only
-- setting, and the request still goes where the superuser said.
CREATE ROLE regress_zcrm_early;
GRANT EXECUTE ON FUNCTION zcrm_write_job(text, text, text) TO regress_zcrm_early;
SET ROLE regress_zcrm_early;
SET zcrm_bulk.api_domain = 'http://127.0.0.1:9';
SET zcrm_bulk.ca_file = '/tmp/evil.pem';
SET zcrm_bulk.timeout = '20s';
SELECT job_id, status FROM zcrm_write_job('4150868000005392002', :'token');
SHOW zcrm_bulk.ca_file;
SHOW zcrm_bulk.timeout;
RESET ROLE;
REVOKE ALL ON FUNCTION zcrm_write_job(text, text, text) FROM regress_zcrm_early;
DROP ROLE regress_zcrm_early;
RESET zcrm_bulk.timeout;

SELECT name, unit, context, vartype, boot_val, min_val, max_val, enumvals
FROM pg_settings
WHERE name LIKE 'zcrm\_bulk.%'
ORDER BY name;

SHOW zcrm_bulk.timeout;
SHOW zcrm_bulk.connect_timeout;
SHOW zcrm_bulk.max_response_size;
SHOW zcrm_bulk.api_version;

-- The prefix is reserved: a misspelt setting is an error.
SET zcrm_bulk.time_out = '5s';

-- api_domain: a scheme and a host, an optional port, no path.
SET zcrm_bulk.api_domain = 'ftp://www.zohoapis.com';
SET zcrm_bulk.api_domain = 'https://www.zohoapis.com/crm/bulk';
SET zcrm_bulk.api_domain = 'https://user:secret@www.zohoapis.com';
SET zcrm_bulk.api_domain = 'https://www.zohoapis.com:0';
SET zcrm_bulk.api_domain = 'https://www.zohoapis.com:99999';
SET zcrm_bulk.api_domain = 'https://';
SET zcrm_bulk.api_domain = 'https://www.zohoapis.com?x=1';
SET zcrm_bulk.api_domain = 'https://www.zohoapis.eu/';
SET zcrm_bulk.api_domain = 'HTTPS://www.zohoapis.com.au:443';
SET zcrm_bulk.api_domain = 'http://[::1]:8080';
RESET zcrm_bulk.api_domain;

-- A trailing slash on the domain does not double the slash in the path.
SELECT count(*) AS rows
FROM (SELECT set_config('zcrm_bulk.api_domain', current_setting('zcrm_bulk.api_domain') || '/', false)) AS s,
	 zcrm_write_job('4150868000005392002', :'token');
RESET zcrm_bulk.api_domain;

-- api_version: the path segment of the request (the local server's job
-- 1000000000000000021 reports the version it was asked with).
SET zcrm_bulk.api_version = 'v9';
SELECT operation AS version_requested FROM zcrm_write_job('1000000000000000021', :'token');
SET zcrm_bulk.api_version = 'v2.1';
SELECT operation AS version_requested FROM zcrm_write_job('1000000000000000021', :'token');
SET zcrm_bulk.api_version = 'v8';
SELECT operation AS version_requested FROM zcrm_write_job('1000000000000000021', :'token');
RESET zcrm_bulk.api_version;

-- Timeouts take units; nonsense is refused.
SET zcrm_bulk.timeout = '2min';
SHOW zcrm_bulk.timeout;
SET zcrm_bulk.timeout = 0;
SET zcrm_bulk.timeout = 'soon';
RESET zcrm_bulk.timeout;

-- max_response_size takes memory units, at least 1kB.
SET zcrm_bulk.max_response_size = '64MB';
SHOW zcrm_bulk.max_response_size;
SET zcrm_bulk.max_response_size = 100;
RESET zcrm_bulk.max_response_size;
-- max_json_values: at least 1000; a document with more values is 54000.
SET zcrm_bulk.max_json_values = 999;
SET zcrm_bulk.max_json_values = 1000;
SELECT * FROM zcrm_try('zcrm_write_job', '5400000000000000010', :'token');
SELECT * FROM zcrm_try('zcrm_write_job_json', '5300000000000000010', :'token');
RESET zcrm_bulk.max_json_values;
SELECT count(*) FROM zcrm_write_job_field_mappings('5400000000000000010', :'token');

-- ca_file: an absolute path (or empty for the system store).
SET zcrm_bulk.ca_file = 'certs/ca.pem';
SET zcrm_bulk.ca_file = '/nonexistent/ca.pem';
SELECT zcrm_state('zcrm_write_job', '4150868000005392002', :'token') AS plain_http_ignores_ca_file;
RESET zcrm_bulk.ca_file;

-- Privileges.  An ordinary role can neither call the functions until
-- granted EXECUTE nor change the superuser-only settings.
CREATE ROLE regress_zcrm_user;
CREATE ROLE regress_zcrm_reader;
GRANT EXECUTE ON FUNCTION zcrm_write_job(text, text, text) TO regress_zcrm_reader;

SET ROLE regress_zcrm_user;
SELECT * FROM zcrm_write_job('4150868000005392002', :'token');
SELECT zcrm_write_job_json('4150868000005392002', :'token');
SELECT * FROM zcrm_write_job_field_mappings('4150868000005392002', :'token');
SET zcrm_bulk.api_domain = 'http://127.0.0.1:9';
SET zcrm_bulk.max_response_size = '1GB';
SET zcrm_bulk.max_json_values = 100000000;
SET zcrm_bulk.ca_file = '/tmp/evil.pem';
ALTER ROLE regress_zcrm_user SET zcrm_bulk.api_domain = 'http://127.0.0.1:9';
SELECT set_config('zcrm_bulk.api_domain', 'http://127.0.0.1:9', false);
-- The user-level settings are allowed.
SET zcrm_bulk.timeout = '5s';
SET zcrm_bulk.api_version = 'v2.1';
RESET zcrm_bulk.timeout;
RESET zcrm_bulk.api_version;
RESET ROLE;

SET ROLE regress_zcrm_reader;
SELECT job_id, status FROM zcrm_write_job('4150868000005392002', :'token');
SELECT zcrm_write_job_json('4150868000005392002', :'token') ->> 'id' AS not_granted;
RESET ROLE;

-- A superuser can set them per role.
ALTER ROLE regress_zcrm_reader SET zcrm_bulk.api_version = 'v2.1';
SELECT unnest(setconfig) FROM pg_db_role_setting
WHERE setrole = 'regress_zcrm_reader'::regrole;

DROP ROLE regress_zcrm_user;
REVOKE ALL ON FUNCTION zcrm_write_job(text, text, text) FROM regress_zcrm_reader;
DROP ROLE regress_zcrm_reader;
