--
-- zcrm_write_calls: zcrm_upload_file() and zcrm_create_write_job(), the
-- arguments they refuse before any request, and the server option
-- upload_domain.  The calls themselves run against the local server in
-- test/test_write_send.py.
--
\i sql/include/prelude.psql
\getenv token ZCRM_TEST_TOKEN
SET client_min_messages = notice;

-- Not PUBLIC's; C functions that run no SQL.
SELECT p.proname, pg_get_function_arguments(p.oid) AS arguments, p.proacl
FROM pg_proc p
WHERE p.proname IN ('zcrm_upload_file', 'zcrm_create_write_job')
ORDER BY 1;

-- zcrm_upload_file: the zip is required and not empty; token or
-- connection, as for every call.
SELECT zcrm_upload_file(NULL, :'token');
SELECT zcrm_upload_file(''::bytea, :'token');
SELECT zcrm_upload_file('\x504b0304'::bytea, :'token', 'main');
SELECT zcrm_upload_file('\x504b0304'::bytea, 'bad token');
SELECT zcrm_upload_file('\x504b0304'::bytea, connection => 'no_such_server');

-- zcrm_create_write_job: names, operation, find_by, field_mappings.
SELECT zcrm_create_write_job(NULL, '1', token => :'token');
SELECT zcrm_create_write_job('Leads', NULL, token => :'token');
SELECT zcrm_create_write_job('Leads', '1', NULL, token => :'token');
SELECT zcrm_create_write_job('Leads', '1', ignore_empty => NULL, token => :'token');
SELECT zcrm_create_write_job('', '1', token => :'token');
SELECT zcrm_create_write_job('Leads; DROP', '1', token => :'token');
SELECT zcrm_create_write_job(repeat('L', 101), '1', token => :'token');
SELECT zcrm_create_write_job('Leads', '12a', token => :'token');
SELECT zcrm_create_write_job('Leads', '', token => :'token');
SELECT zcrm_create_write_job('Leads', '1', 'merge', token => :'token');
SELECT zcrm_create_write_job('Leads', '1', 'INSERT', token => :'token');
SELECT zcrm_create_write_job('Leads', '1', 'update', token => :'token');
SELECT zcrm_create_write_job('Leads', '1', 'upsert', token => :'token');
SELECT zcrm_create_write_job('Leads', '1', 'upsert', 'E-mail', token => :'token');
SELECT zcrm_create_write_job('Leads', '1', field_mappings => '{"api_name": "Last_Name"}', token => :'token');
SELECT zcrm_create_write_job('Leads', '1', field_mappings => '"Last_Name"', token => :'token');
SELECT zcrm_create_write_job('Leads', '1', field_mappings => '[{"api_name": "Last_Name"}, 0]', token => :'token');
SELECT zcrm_create_write_job('Leads', '1', field_mappings => '[[{"api_name": "Last_Name"}]]', token => :'token');
SELECT zcrm_create_write_job('Leads', '1', token => :'token', connection => 'main');
SELECT zcrm_create_write_job('Leads', '1', token => 'bad token');

-- upload_domain: a base URL, like api_domain; Zoho's own hosts for anyone,
-- any other host only for a superuser.
SELECT current_setting('zcrm_bulk.api_domain') AS local_api \gset
CREATE SERVER up_bad FOREIGN DATA WRAPPER zcrm_bulk
	OPTIONS (accounts_server 'https://accounts.zoho.eu', upload_domain 'content.zohoapis.eu');
CREATE SERVER up_bad FOREIGN DATA WRAPPER zcrm_bulk
	OPTIONS (accounts_server 'https://accounts.zoho.eu', upload_domain 'ftp://content.zohoapis.eu');
CREATE SERVER up_eu FOREIGN DATA WRAPPER zcrm_bulk
	OPTIONS (accounts_server 'https://accounts.zoho.eu', upload_domain 'https://content.zohoapis.eu/');
CREATE SERVER up_local FOREIGN DATA WRAPPER zcrm_bulk
	OPTIONS (accounts_server 'https://accounts.zoho.eu', upload_domain :'local_api');
ALTER SERVER up_eu OPTIONS (SET upload_domain 'https://content.zohoapis.com.au');
SELECT srvname, srvoptions FROM pg_foreign_server WHERE srvname = 'up_eu';
CREATE USER MAPPING FOR PUBLIC SERVER up_eu OPTIONS (upload_domain 'https://content.zohoapis.eu');

CREATE ROLE regress_zcrm_uploader;
GRANT USAGE ON FOREIGN DATA WRAPPER zcrm_bulk TO regress_zcrm_uploader;
SET ROLE regress_zcrm_uploader;
CREATE SERVER up_owned FOREIGN DATA WRAPPER zcrm_bulk
	OPTIONS (accounts_server 'https://accounts.zoho.eu', upload_domain 'https://uploads.example.com');
CREATE SERVER up_owned FOREIGN DATA WRAPPER zcrm_bulk
	OPTIONS (accounts_server 'https://accounts.zoho.eu', upload_domain 'https://content.zohoapis.eu');
ALTER SERVER up_owned OPTIONS (SET upload_domain 'https://content.zohoapis.eu.example.com');
ALTER SERVER up_owned OPTIONS (SET upload_domain 'https://www.zohoapis.eu');
DROP SERVER up_owned;
RESET ROLE;

-- A superuser's upload host cannot be lent: a server whose upload_domain is
-- not Zoho's stops working once a non-superuser owns it (before any request).
ALTER SERVER up_local OWNER TO regress_zcrm_uploader;
CREATE USER MAPPING FOR PUBLIC SERVER up_local
	OPTIONS (client_id 'id', client_secret 'hidden-value', refresh_token '1000.rt.x');
SELECT zcrm_upload_file('\x504b0304'::bytea, connection => 'up_local');
ALTER SERVER up_local OWNER TO CURRENT_USER;

DROP SERVER up_local CASCADE;
DROP SERVER up_eu;
REVOKE USAGE ON FOREIGN DATA WRAPPER zcrm_bulk FROM regress_zcrm_uploader;
DROP ROLE regress_zcrm_uploader;
