--
-- zcrm_connections: named connections with automatic OAuth token refresh.
--
-- The local API server is also the accounts server here; what it answers to
-- a refresh token depends on the token's prefix (test/server/README.md).
-- The secret part of every refresh token and the client secret come from
-- the environment, so no test file or expected output contains them.
--
\getenv rt ZCRM_TEST_RT_SECRET
\getenv secret ZCRM_TEST_CLIENT_SECRET
\getenv token ZCRM_TEST_TOKEN
SELECT current_setting('zcrm_bulk.api_domain') AS accounts \gset
\pset null '(null)'

-- Creating connections (as a superuser, since the local server is not one
-- of Zoho's accounts servers).
SELECT zcrm_connection_create('main', '1000.CLIENTID', :'secret', '1000.rt.' || :'rt', :'accounts');
SELECT zcrm_connection_create('short', '1000.CLIENTID', :'secret', '1000.rt.short.' || :'rt', :'accounts');
SELECT zcrm_connection_create('sec', '1000.CLIENTID', :'secret', '1000.rt.sec.' || :'rt', :'accounts');
SELECT zcrm_connection_create('noexp', '1000.CLIENTID', :'secret', '1000.rt.noexp.' || :'rt', :'accounts');
SELECT zcrm_connection_create('otherdc', '1000.CLIENTID', :'secret', '1000.rt.otherdc.' || :'rt', :'accounts');
SELECT zcrm_connection_create('revoked', '1000.CLIENTID', :'secret', '1000.rt.revoked', :'accounts');
SELECT zcrm_connection_create('denied', '1000.CLIENTID', :'secret', '1000.rt.denied.' || :'rt', :'accounts');
SELECT zcrm_connection_create('denied_html', '1000.CLIENTID', :'secret', '1000.rt.html.' || :'rt', :'accounts');
SELECT zcrm_connection_create('broken', '1000.CLIENTID', :'secret', '1000.rt.500.' || :'rt', :'accounts');
SELECT zcrm_connection_create('badclient', '1000.CLIENTID', 'wrong-secret', '1000.rt.' || :'rt', :'accounts');

-- Listing shows no secret.
SELECT name, owner, client_id, replace(accounts_server, :'accounts', '<local>') AS accounts_server,
	   api_domain, grantees
FROM zcrm_connections() ORDER BY name;

-- Calls by connection, by default connection; both or neither is an error.
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

-- expires_in_sec (then expires_in is in milliseconds), no expires_in at all:
-- both give a working token.
SELECT job_id FROM zcrm_write_job('4150868000005392002', connection => 'sec');
SELECT job_id FROM zcrm_write_job('4150868000005392002', connection => 'noexp');

-- The api_domain of the token reply is used (it points nowhere here: 08001).
SELECT zcrm_state('zcrm_write_job', '4150868000005392002', NULL) AS no_default;
SET zcrm_bulk.default_connection = 'otherdc';
SELECT state, message FROM zcrm_try('zcrm_write_job', '4150868000005392002', NULL);
RESET zcrm_bulk.default_connection;

-- An API domain override wins over the token reply's.
SELECT zcrm_connection_alter('otherdc', api_domain => :'accounts');
SELECT job_id FROM zcrm_write_job('4150868000005392002', connection => 'otherdc');
SELECT zcrm_connection_alter('otherdc', api_domain => '');
SELECT api_domain FROM zcrm_connections() WHERE name = 'otherdc';

-- Failed refreshes.
SELECT * FROM zcrm_write_job('4150868000005392002', connection => 'revoked');
SELECT * FROM zcrm_write_job('4150868000005392002', connection => 'denied');
SELECT * FROM zcrm_write_job('4150868000005392002', connection => 'denied_html');
SELECT * FROM zcrm_write_job('4150868000005392002', connection => 'badclient');
SET zcrm_bulk.retries = 0;
SELECT * FROM zcrm_write_job('4150868000005392002', connection => 'broken');
RESET zcrm_bulk.retries;

-- A call inside a read-only transaction works.
BEGIN TRANSACTION READ ONLY;
SELECT job_id FROM zcrm_write_job('4150868000005392002', connection => 'short');
COMMIT;

-- An expired token (this one lives 2 s) is refreshed.
SELECT pg_sleep(2.5);
SELECT job_id FROM zcrm_write_job('4150868000005392002', connection => 'short');

-- Argument checks.
SELECT zcrm_connection_create('main', '1000.CLIENTID', :'secret', '1000.rt.' || :'rt', :'accounts');
SELECT zcrm_connection_create('x y', 'id', 'secret', 'rt');
SELECT zcrm_connection_create('nulls', NULL, 'secret', 'rt');
SELECT zcrm_connection_create('spaces', 'id', 'se cret', 'rt');
SELECT zcrm_connection_create('ftp', 'id', 'secret', 'rt', 'ftp://accounts.zoho.com');
SELECT zcrm_connection_alter('nonexistent', client_id => 'x');
SELECT zcrm_connection_drop('nonexistent');

-- Privileges.  A role may create connections only once granted EXECUTE;
-- it owns what it creates; others need a grant to use it; only Zoho's own
-- servers are allowed to ordinary roles; no route reveals a secret.
CREATE ROLE regress_zcrm_owner;
CREATE ROLE regress_zcrm_user;
CREATE ROLE regress_zcrm_other;
GRANT regress_zcrm_user TO regress_zcrm_other;
GRANT EXECUTE ON FUNCTION zcrm_write_job(text, text, text) TO regress_zcrm_owner, regress_zcrm_user, regress_zcrm_other;

SET ROLE regress_zcrm_owner;
SELECT zcrm_connection_create('owned', '1000.CLIENTID', :'secret', '1000.rt.' || :'rt');
RESET ROLE;
GRANT EXECUTE ON FUNCTION zcrm_connection_create(text, text, text, text, text, text) TO regress_zcrm_owner;
SET ROLE regress_zcrm_owner;
-- (any host that is not Zoho's; not the local server, whose port varies)
SELECT zcrm_connection_create('owned', '1000.CLIENTID', :'secret', '1000.rt.' || :'rt', 'https://accounts.example.com');
SELECT zcrm_connection_create('owned', '1000.CLIENTID', :'secret', '1000.rt.' || :'rt',
							  'https://accounts.zoho.eu', api_domain => 'http://127.0.0.1:18089');
SELECT zcrm_connection_create('owned', '1000.CLIENTID', :'secret', '1000.rt.' || :'rt',
							  'https://accounts.zoho.eu/', api_domain => 'https://www.zohoapis.eu');
SELECT name, owner, accounts_server, api_domain FROM zcrm_connections();
SELECT zcrm_connection_alter('main', client_id => 'stolen');
SELECT zcrm_connection_drop('main');
SELECT zcrm_connection_grant('main', 'regress_zcrm_owner');
SELECT * FROM zcrm_write_job('4150868000005392002', connection => 'main');
SELECT zcrm_connection_grant('owned', 'regress_zcrm_user');
RESET ROLE;
-- Superusers own the 'main' connection; grant it to regress_zcrm_user.
SELECT zcrm_connection_grant('main', 'regress_zcrm_user');

SET ROLE regress_zcrm_user;
SELECT name, owner, grantees FROM zcrm_connections() ORDER BY name;
SELECT job_id FROM zcrm_write_job('4150868000005392002', connection => 'main');
SELECT * FROM zcrm_write_job('4150868000005392002', connection => 'short');
SELECT zcrm_connection_alter('main', refresh_token => 'x');
-- No route to a secret: the tables, and the functions' results and errors.
SELECT * FROM zcrm_connection;
SELECT * FROM zcrm_connection_grant;
SELECT count(*) FROM zcrm_connections() AS c
WHERE row(c.*)::text LIKE '%' || :'secret' || '%' OR row(c.*)::text LIKE '%' || :'rt' || '%';
RESET ROLE;

-- Membership counts: a member of a grantee may use the connection.
SET ROLE regress_zcrm_other;
SELECT job_id FROM zcrm_write_job('4150868000005392002', connection => 'main');
RESET ROLE;

-- Revoking takes effect at once.
SELECT zcrm_connection_revoke('main', 'regress_zcrm_user');
SET ROLE regress_zcrm_user;
SELECT * FROM zcrm_write_job('4150868000005392002', connection => 'main');
RESET ROLE;

-- A superuser can read the secrets (and only a superuser).
SELECT count(*) AS rows_with_secret FROM zcrm_connection WHERE client_secret = :'secret';

-- Clean up.
SELECT zcrm_connection_drop(name) FROM zcrm_connections();
SELECT count(*) FROM zcrm_connection_grant;
REVOKE ALL ON FUNCTION zcrm_write_job(text, text, text) FROM regress_zcrm_owner, regress_zcrm_user, regress_zcrm_other;
REVOKE ALL ON FUNCTION zcrm_connection_create(text, text, text, text, text, text) FROM regress_zcrm_owner;
DROP ROLE regress_zcrm_other;
DROP ROLE regress_zcrm_user;
DROP ROLE regress_zcrm_owner;
