--
-- zcrm_connections: connections as foreign servers of the zcrm_bulk
-- wrapper, their user mappings, and automatic OAuth token refresh.
--
-- The local API server is also the accounts server here; what it answers to
-- a refresh token depends on the token's prefix (test/server/README.md).
-- The secret part of every refresh token and the client secret come from
-- the environment, so no test file or expected output contains them.
--
\i sql/include/prelude.psql
\getenv rt ZCRM_TEST_RT_SECRET
\getenv secret ZCRM_TEST_CLIENT_SECRET
\getenv token ZCRM_TEST_TOKEN
SELECT current_setting('zcrm_bulk.api_domain') AS accounts \gset
\pset null '(null)'
SELECT '1000.rt.' || :'rt' AS rt_main, '1000.rt.short.' || :'rt' AS rt_short,
	   '1000.rt.sec.' || :'rt' AS rt_sec, '1000.rt.noexp.' || :'rt' AS rt_noexp,
	   '1000.rt.otherdc.' || :'rt' AS rt_otherdc, '1000.rt.denied.' || :'rt' AS rt_denied,
	   '1000.rt.html.' || :'rt' AS rt_html, '1000.rt.500.' || :'rt' AS rt_500,
	   '1000.rt.wrongsecret.' || :'rt' AS rt_wrongsecret \gset

-- Servers (as a superuser, since the local server is not one of Zoho's
-- accounts servers), each with a user mapping FOR PUBLIC.
CREATE SERVER main FOREIGN DATA WRAPPER zcrm_bulk OPTIONS (accounts_server :'accounts');
CREATE USER MAPPING FOR PUBLIC SERVER main
	OPTIONS (client_id '1000.CLIENTID', client_secret :'secret', refresh_token :'rt_main');
CREATE SERVER short FOREIGN DATA WRAPPER zcrm_bulk OPTIONS (accounts_server :'accounts');
CREATE USER MAPPING FOR PUBLIC SERVER short
	OPTIONS (client_id '1000.CLIENTID', client_secret :'secret', refresh_token :'rt_short');
CREATE SERVER sec FOREIGN DATA WRAPPER zcrm_bulk OPTIONS (accounts_server :'accounts');
CREATE USER MAPPING FOR PUBLIC SERVER sec
	OPTIONS (client_id '1000.CLIENTID', client_secret :'secret', refresh_token :'rt_sec');
CREATE SERVER noexp FOREIGN DATA WRAPPER zcrm_bulk OPTIONS (accounts_server :'accounts');
CREATE USER MAPPING FOR PUBLIC SERVER noexp
	OPTIONS (client_id '1000.CLIENTID', client_secret :'secret', refresh_token :'rt_noexp');
CREATE SERVER otherdc FOREIGN DATA WRAPPER zcrm_bulk OPTIONS (accounts_server :'accounts');
CREATE USER MAPPING FOR PUBLIC SERVER otherdc
	OPTIONS (client_id '1000.CLIENTID', client_secret :'secret', refresh_token :'rt_otherdc');
CREATE SERVER revoked FOREIGN DATA WRAPPER zcrm_bulk OPTIONS (accounts_server :'accounts');
CREATE USER MAPPING FOR PUBLIC SERVER revoked
	OPTIONS (client_id '1000.CLIENTID', client_secret :'secret', refresh_token '1000.rt.revoked.1');
CREATE SERVER denied FOREIGN DATA WRAPPER zcrm_bulk OPTIONS (accounts_server :'accounts');
CREATE USER MAPPING FOR PUBLIC SERVER denied
	OPTIONS (client_id '1000.CLIENTID', client_secret :'secret', refresh_token :'rt_denied');
CREATE SERVER denied_html FOREIGN DATA WRAPPER zcrm_bulk OPTIONS (accounts_server :'accounts');
CREATE USER MAPPING FOR PUBLIC SERVER denied_html
	OPTIONS (client_id '1000.CLIENTID', client_secret :'secret', refresh_token :'rt_html');
CREATE SERVER broken FOREIGN DATA WRAPPER zcrm_bulk OPTIONS (accounts_server :'accounts');
CREATE USER MAPPING FOR PUBLIC SERVER broken
	OPTIONS (client_id '1000.CLIENTID', client_secret :'secret', refresh_token :'rt_500');
CREATE SERVER badclient FOREIGN DATA WRAPPER zcrm_bulk OPTIONS (accounts_server :'accounts');
CREATE USER MAPPING FOR PUBLIC SERVER badclient
	OPTIONS (client_id '1000.CLIENTID', client_secret 'wrong-secret', refresh_token :'rt_wrongsecret');

-- The wrapper: USAGE is not PUBLIC's; its servers are not the extension's.
SELECT fdwname, fdwowner::regrole, fdwacl, fdwvalidator::regproc FROM pg_foreign_data_wrapper
WHERE fdwname = 'zcrm_bulk';
SELECT count(*) AS servers_in_extension FROM pg_depend
WHERE classid = 'pg_foreign_server'::regclass AND deptype = 'e';

-- Calls by server, by default connection; both or neither is an error.
SELECT job_id, status FROM zcrm_write_job('4150868000005392002', connection => 'main');
SELECT count(*) AS mappings FROM zcrm_write_job_field_mappings('4150868000005392002', connection => 'main');
SELECT zcrm_write_job_json('4150868000005392002', connection => 'main') ->> 'id' AS id;
SET zcrm_bulk.default_connection = 'main';
SELECT job_id, status FROM zcrm_write_job('4150868000005392002');
RESET zcrm_bulk.default_connection;
SELECT * FROM zcrm_write_job('4150868000005392002');
SELECT * FROM zcrm_write_job('4150868000005392002', :'token', 'main');
SELECT * FROM zcrm_write_job('4150868000005392002', connection => 'nonexistent');
SELECT * FROM zcrm_write_job('4150868000005392002', connection => 'bad name!');

-- A server of another wrapper is not a connection.
CREATE FOREIGN DATA WRAPPER regress_other_fdw;
CREATE SERVER regress_other FOREIGN DATA WRAPPER regress_other_fdw;
SELECT * FROM zcrm_write_job('4150868000005392002', connection => 'regress_other');
DROP SERVER regress_other;
DROP FOREIGN DATA WRAPPER regress_other_fdw;

-- expires_in_sec (then expires_in is in milliseconds), no expires_in at all:
-- both give a working token.
SELECT job_id FROM zcrm_write_job('4150868000005392002', connection => 'sec');
SELECT job_id FROM zcrm_write_job('4150868000005392002', connection => 'noexp');

-- The api_domain of the token reply is used (it points nowhere here: 08001).
SELECT zcrm_state('zcrm_write_job', '4150868000005392002', NULL) AS no_default;
SET zcrm_bulk.default_connection = 'otherdc';
SELECT state, message FROM zcrm_try('zcrm_write_job', '4150868000005392002', NULL);
RESET zcrm_bulk.default_connection;

-- The server's api_domain wins over the token reply's, at once.
ALTER SERVER otherdc OPTIONS (ADD api_domain :'accounts');
SELECT job_id FROM zcrm_write_job('4150868000005392002', connection => 'otherdc');
ALTER SERVER otherdc OPTIONS (DROP api_domain);
SET zcrm_bulk.default_connection = 'otherdc';
SELECT state FROM zcrm_try('zcrm_write_job', '4150868000005392002', NULL);
RESET zcrm_bulk.default_connection;

-- Failed refreshes.
SELECT * FROM zcrm_write_job('4150868000005392002', connection => 'revoked');
SELECT * FROM zcrm_write_job('4150868000005392002', connection => 'denied');
SELECT * FROM zcrm_write_job('4150868000005392002', connection => 'denied_html');
SELECT * FROM zcrm_write_job('4150868000005392002', connection => 'badclient');
SELECT * FROM zcrm_write_job('4150868000005392002', connection => 'broken');

-- Changing an option discards the cached token: 'main' now has a revoked
-- refresh token, and the next call must refresh (and fail) ...
ALTER USER MAPPING FOR PUBLIC SERVER main OPTIONS (SET refresh_token '1000.rt.revoked.2');
SELECT * FROM zcrm_write_job('4150868000005392002', connection => 'main');
-- ... and setting the good one back works at once.
ALTER USER MAPPING FOR PUBLIC SERVER main OPTIONS (SET refresh_token :'rt_main');
SELECT job_id FROM zcrm_write_job('4150868000005392002', connection => 'main');

-- A call inside a read-only transaction works.
BEGIN TRANSACTION READ ONLY;
SELECT job_id FROM zcrm_write_job('4150868000005392002', connection => 'short');
COMMIT;

-- An expired token (this one lives 2 s) is refreshed.
SELECT pg_sleep(2.5);
SELECT job_id FROM zcrm_write_job('4150868000005392002', connection => 'short');

-- The validator: unknown options, options on the wrong object, missing
-- required options and bad values are errors that list the valid options;
-- no secret is echoed.
CREATE SERVER v1 FOREIGN DATA WRAPPER zcrm_bulk OPTIONS (accounts_server :'accounts', host 'x');
CREATE SERVER v1 FOREIGN DATA WRAPPER zcrm_bulk OPTIONS (accounts_server :'accounts', client_secret 'hidden-value');
CREATE SERVER v1 FOREIGN DATA WRAPPER zcrm_bulk;
CREATE SERVER v1 FOREIGN DATA WRAPPER zcrm_bulk OPTIONS (accounts_server 'ftp://accounts.zoho.com');
CREATE SERVER v1 FOREIGN DATA WRAPPER zcrm_bulk OPTIONS (accounts_server 'https://accounts.zoho.eu', api_domain 'https://www.zohoapis.eu/crm');
CREATE SERVER v1 FOREIGN DATA WRAPPER zcrm_bulk OPTIONS (accounts_server 'https://accounts.zoho.eu');
CREATE USER MAPPING FOR PUBLIC SERVER v1 OPTIONS (client_id 'id', client_secret 'hidden-value', refresh_token 'rt', api_domain 'https://www.zohoapis.eu');
CREATE USER MAPPING FOR PUBLIC SERVER v1 OPTIONS (client_id 'id', client_secret 'hidden-value');
CREATE USER MAPPING FOR PUBLIC SERVER v1 OPTIONS (client_id 'id', client_secret 'hidden value', refresh_token 'rt');
CREATE USER MAPPING FOR PUBLIC SERVER v1 OPTIONS (client_id 'id', client_secret 'hidden-value', refresh_token '');
ALTER SERVER v1 OPTIONS (DROP accounts_server);
ALTER FOREIGN DATA WRAPPER zcrm_bulk OPTIONS (ADD accounts_server 'https://accounts.zoho.eu');
DROP SERVER v1;

-- Privileges.  CREATE SERVER needs USAGE on the wrapper; a non-superuser
-- may name only Zoho's own hosts; the owner's servers need USAGE granted
-- to be used by others; a role's own mapping wins over PUBLIC's; no route
-- reveals a secret to a grantee.
CREATE ROLE regress_zcrm_owner;
CREATE ROLE regress_zcrm_user;
CREATE ROLE regress_zcrm_other;
GRANT regress_zcrm_user TO regress_zcrm_other;
GRANT EXECUTE ON FUNCTION zcrm_write_job(text, text, text) TO regress_zcrm_owner, regress_zcrm_user, regress_zcrm_other;

SET ROLE regress_zcrm_owner;
CREATE SERVER owned FOREIGN DATA WRAPPER zcrm_bulk OPTIONS (accounts_server 'https://accounts.zoho.eu');
RESET ROLE;
GRANT USAGE ON FOREIGN DATA WRAPPER zcrm_bulk TO regress_zcrm_owner;
SET ROLE regress_zcrm_owner;
-- (any host that is not Zoho's; not the local server, whose port varies)
CREATE SERVER owned FOREIGN DATA WRAPPER zcrm_bulk OPTIONS (accounts_server 'https://accounts.example.com');
CREATE SERVER owned FOREIGN DATA WRAPPER zcrm_bulk
	OPTIONS (accounts_server 'https://accounts.zoho.eu', api_domain 'http://127.0.0.1:18089');
CREATE SERVER owned FOREIGN DATA WRAPPER zcrm_bulk
	OPTIONS (accounts_server 'https://accounts.zoho.eu/', api_domain 'https://www.zohoapis.eu');
ALTER SERVER owned OPTIONS (SET accounts_server 'https://accounts.example.com');
ALTER SERVER main OPTIONS (SET accounts_server 'https://accounts.zoho.eu');
ALTER USER MAPPING FOR PUBLIC SERVER main OPTIONS (SET client_id 'stolen');
DROP SERVER main;
GRANT USAGE ON FOREIGN SERVER main TO regress_zcrm_owner;
SELECT * FROM zcrm_write_job('4150868000005392002', connection => 'main');
SELECT * FROM zcrm_write_job('4150868000005392002', connection => 'owned');
RESET ROLE;

-- A superuser's choice of host cannot be lent: a server that is not Zoho's
-- stops working once a non-superuser owns it.
ALTER SERVER short OWNER TO regress_zcrm_owner;
SELECT * FROM zcrm_write_job('4150868000005392002', connection => 'short');
ALTER SERVER short OWNER TO CURRENT_USER;

-- The owner of a server cannot be dropped.
DROP ROLE regress_zcrm_owner;

-- Superusers own 'main'; its mapping is PUBLIC's.  Without USAGE: 42501.
SET ROLE regress_zcrm_user;
SELECT * FROM zcrm_write_job('4150868000005392002', connection => 'main');
RESET ROLE;
GRANT USAGE ON FOREIGN SERVER main TO regress_zcrm_user;

SET ROLE regress_zcrm_user;
SELECT job_id FROM zcrm_write_job('4150868000005392002', connection => 'main');
-- No route to a secret: the catalogs and views, and the functions' errors.
SELECT srvname, usename, umoptions FROM pg_user_mappings WHERE srvname = 'main';
SELECT * FROM pg_user_mapping;
SELECT count(*) AS visible_secrets FROM pg_foreign_server AS s
WHERE array_to_string(s.srvoptions, ',') LIKE '%' || :'secret' || '%';
ALTER USER MAPPING FOR PUBLIC SERVER main OPTIONS (SET client_id 'x');
RESET ROLE;

-- Membership counts: a member of a grantee may use the server.
SET ROLE regress_zcrm_other;
SELECT job_id FROM zcrm_write_job('4150868000005392002', connection => 'main');
RESET ROLE;

-- A role's own mapping wins over PUBLIC's (here: a revoked refresh token),
-- and a server without a mapping for the role is a clear error.
CREATE USER MAPPING FOR regress_zcrm_user SERVER main
	OPTIONS (client_id '1000.CLIENTID', client_secret :'secret', refresh_token '1000.rt.revoked.3');
SET ROLE regress_zcrm_user;
SELECT * FROM zcrm_write_job('4150868000005392002', connection => 'main');
RESET ROLE;
DROP USER MAPPING FOR regress_zcrm_user SERVER main;
DROP USER MAPPING FOR PUBLIC SERVER main;
SET ROLE regress_zcrm_user;
SELECT * FROM zcrm_write_job('4150868000005392002', connection => 'main');
RESET ROLE;
CREATE USER MAPPING FOR PUBLIC SERVER main
	OPTIONS (client_id '1000.CLIENTID', client_secret :'secret', refresh_token :'rt_main');

-- Revoking takes effect at once.
REVOKE USAGE ON FOREIGN SERVER main FROM regress_zcrm_user;
SET ROLE regress_zcrm_user;
SELECT * FROM zcrm_write_job('4150868000005392002', connection => 'main');
RESET ROLE;

-- A superuser can read the secrets (and only a superuser).
SELECT count(*) AS mappings_with_secret FROM pg_user_mappings
WHERE array_to_string(umoptions, ',') LIKE '%' || :'secret' || '%';

-- Clean up.
DROP SERVER owned CASCADE;
DROP SERVER main, short, sec, noexp, otherdc, revoked, denied, denied_html, broken, badclient CASCADE;
REVOKE ALL ON FUNCTION zcrm_write_job(text, text, text) FROM regress_zcrm_owner, regress_zcrm_user, regress_zcrm_other;
REVOKE ALL ON FOREIGN DATA WRAPPER zcrm_bulk FROM regress_zcrm_owner;
DROP ROLE regress_zcrm_other;
DROP ROLE regress_zcrm_user;
DROP ROLE regress_zcrm_owner;
