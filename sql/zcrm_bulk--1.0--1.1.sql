/* zcrm_bulk--1.0--1.1.sql */

-- complain if script is sourced in psql, rather than via ALTER EXTENSION
\echo Use "ALTER EXTENSION zcrm_bulk UPDATE TO '1.1'" to load this file. \quit

-- Named connections: OAuth client credentials and a refresh token, from
-- which access tokens are obtained and cached.  Nobody but superusers can
-- read these tables; the functions below manage them and never return a
-- secret.
CREATE TABLE zcrm_connection (
	name text PRIMARY KEY,
	owner oid NOT NULL,
	client_id text NOT NULL,
	client_secret text NOT NULL,
	refresh_token text NOT NULL,
	accounts_server text NOT NULL,
	api_domain text
);

CREATE TABLE zcrm_connection_grant (
	connection text NOT NULL REFERENCES zcrm_connection (name)
		ON DELETE CASCADE ON UPDATE CASCADE,
	grantee oid NOT NULL,
	PRIMARY KEY (connection, grantee)
);

REVOKE ALL ON zcrm_connection, zcrm_connection_grant FROM PUBLIC;
SELECT pg_catalog.pg_extension_config_dump('zcrm_connection', '');
SELECT pg_catalog.pg_extension_config_dump('zcrm_connection_grant', '');

CREATE FUNCTION zcrm_connection_create(name text, client_id text,
									   client_secret text, refresh_token text,
									   accounts_server text DEFAULT 'https://accounts.zoho.com',
									   api_domain text DEFAULT NULL)
RETURNS void
AS 'MODULE_PATHNAME', 'zcrm_connection_create'
LANGUAGE C VOLATILE PARALLEL UNSAFE;

CREATE FUNCTION zcrm_connection_alter(name text, client_id text DEFAULT NULL,
									  client_secret text DEFAULT NULL,
									  refresh_token text DEFAULT NULL,
									  accounts_server text DEFAULT NULL,
									  api_domain text DEFAULT NULL)
RETURNS void
AS 'MODULE_PATHNAME', 'zcrm_connection_alter'
LANGUAGE C VOLATILE PARALLEL UNSAFE;

CREATE FUNCTION zcrm_connection_drop(name text)
RETURNS void
AS 'MODULE_PATHNAME', 'zcrm_connection_drop'
LANGUAGE C VOLATILE PARALLEL UNSAFE;

CREATE FUNCTION zcrm_connection_grant(name text, grantee regrole)
RETURNS void
AS 'MODULE_PATHNAME', 'zcrm_connection_grant'
LANGUAGE C VOLATILE PARALLEL UNSAFE;

CREATE FUNCTION zcrm_connection_revoke(name text, grantee regrole)
RETURNS void
AS 'MODULE_PATHNAME', 'zcrm_connection_revoke'
LANGUAGE C VOLATILE PARALLEL UNSAFE;

-- The connections the caller may use (all of them for a superuser), without
-- secrets.
CREATE FUNCTION zcrm_connections(OUT name text, OUT owner regrole,
								 OUT client_id text, OUT accounts_server text,
								 OUT api_domain text, OUT grantees regrole[])
RETURNS SETOF record
AS 'MODULE_PATHNAME', 'zcrm_connections'
LANGUAGE C STABLE PARALLEL UNSAFE;

-- Creating a connection needs a grant; the other functions check ownership.
REVOKE ALL ON FUNCTION zcrm_connection_create(text, text, text, text, text, text) FROM PUBLIC;

-- The API functions gain "connection" and their token becomes optional:
-- zcrm_write_job('4150868000005392002', connection => 'prod').
ALTER EXTENSION zcrm_bulk DROP FUNCTION zcrm_write_job(text, text);
DROP FUNCTION zcrm_write_job(text, text);
ALTER EXTENSION zcrm_bulk DROP FUNCTION zcrm_write_job_field_mappings(text, text);
DROP FUNCTION zcrm_write_job_field_mappings(text, text);
ALTER EXTENSION zcrm_bulk DROP FUNCTION zcrm_write_job_json(text, text);
DROP FUNCTION zcrm_write_job_json(text, text);

CREATE FUNCTION zcrm_write_job(job_id text, token text DEFAULT NULL,
							   connection text DEFAULT NULL)
RETURNS SETOF zcrm_write_job_row
AS 'MODULE_PATHNAME', 'zcrm_write_job'
LANGUAGE C VOLATILE PARALLEL UNSAFE ROWS 1;

COMMENT ON FUNCTION zcrm_write_job(text, text, text) IS
'details of a Zoho CRM bulk write job, one row per resource';

CREATE FUNCTION zcrm_write_job_field_mappings(job_id text, token text DEFAULT NULL,
											  connection text DEFAULT NULL)
RETURNS SETOF zcrm_field_mapping_row
AS 'MODULE_PATHNAME', 'zcrm_write_job_field_mappings'
LANGUAGE C VOLATILE PARALLEL UNSAFE ROWS 20;

COMMENT ON FUNCTION zcrm_write_job_field_mappings(text, text, text) IS
'field mappings of every resource of a Zoho CRM bulk write job';

CREATE FUNCTION zcrm_write_job_json(job_id text, token text DEFAULT NULL,
									connection text DEFAULT NULL)
RETURNS jsonb
AS 'MODULE_PATHNAME', 'zcrm_write_job_json'
LANGUAGE C VOLATILE PARALLEL UNSAFE;

COMMENT ON FUNCTION zcrm_write_job_json(text, text, text) IS
'the Zoho CRM bulk write job details document as jsonb';

REVOKE ALL ON FUNCTION zcrm_write_job(text, text, text) FROM PUBLIC;
REVOKE ALL ON FUNCTION zcrm_write_job_field_mappings(text, text, text) FROM PUBLIC;
REVOKE ALL ON FUNCTION zcrm_write_job_json(text, text, text) FROM PUBLIC;
