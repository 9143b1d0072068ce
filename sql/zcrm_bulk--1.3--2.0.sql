/* zcrm_bulk--1.3--2.0.sql */

-- complain if script is sourced in psql, rather than via ALTER EXTENSION
\echo Use "ALTER EXTENSION zcrm_bulk UPDATE TO '2.0'" to load this file. \quit

-- Release 2.0.  Every object below is safe under a hostile search_path:
-- functions and operators are schema-qualified (pg_catalog., @extschema@.,
-- OPERATOR(pg_catalog.=)) and search_path is pinned where SQL allows.

-----------------------------------------------------------------------
-- 1. Connections become foreign servers and user mappings
-----------------------------------------------------------------------

-- The wrapper.  Server options: accounts_server, api_domain; user mapping
-- options: client_id, client_secret, refresh_token (see the validator in
-- src/connections.c).  Its USAGE (needed to CREATE SERVER) is not PUBLIC's.
CREATE FUNCTION zcrm_bulk_fdw_validator(options text[], catalog oid)
RETURNS void
AS 'MODULE_PATHNAME', 'zcrm_bulk_fdw_validator'
LANGUAGE C STRICT;

CREATE FOREIGN DATA WRAPPER zcrm_bulk VALIDATOR @extschema@.zcrm_bulk_fdw_validator;
REVOKE ALL ON FOREIGN DATA WRAPPER zcrm_bulk FROM PUBLIC;
COMMENT ON FOREIGN DATA WRAPPER zcrm_bulk IS
'Zoho CRM connections: servers name a data centre, user mappings hold OAuth credentials';

-- Every stored connection becomes a server of the same name, owned by the
-- connection's owner (or, when that role is gone, by the extension's owner,
-- with a WARNING), with a user mapping FOR PUBLIC holding its credentials;
-- every grant becomes GRANT USAGE ON FOREIGN SERVER.  The servers are not
-- members of the extension: pg_dump dumps them, DROP EXTENSION keeps them
-- (it needs CASCADE).  A failing statement is reported without its text,
-- which would quote the secrets.
DO $migrate$
DECLARE
	c record;
	g record;
	owner_name text;
	ext_owner text;
BEGIN
	SELECT pg_catalog.quote_ident(r.rolname) INTO ext_owner
	FROM pg_catalog.pg_extension AS e
	JOIN pg_catalog.pg_roles AS r ON r.oid OPERATOR(pg_catalog.=) e.extowner
	WHERE e.extname OPERATOR(pg_catalog.=) 'zcrm_bulk';

	FOR c IN SELECT * FROM @extschema@.zcrm_connection ORDER BY name LOOP
		SELECT pg_catalog.quote_ident(r.rolname) INTO owner_name
		FROM pg_catalog.pg_roles AS r WHERE r.oid OPERATOR(pg_catalog.=) c.owner;
		IF owner_name IS NULL THEN
			RAISE WARNING 'the owner of Zoho CRM connection "%" no longer exists', c.name
				USING DETAIL = pg_catalog.format('Server %s is owned by %s, the owner of extension zcrm_bulk.',
												 pg_catalog.quote_ident(c.name), ext_owner),
					  HINT = 'Give it the right owner with ALTER SERVER ... OWNER TO.';
			owner_name := ext_owner;
		END IF;
		BEGIN
			EXECUTE pg_catalog.format('CREATE SERVER %I FOREIGN DATA WRAPPER zcrm_bulk OPTIONS (accounts_server %L%s)',
									  c.name, c.accounts_server,
									  CASE WHEN c.api_domain IS NOT NULL
										   THEN pg_catalog.format(', api_domain %L', c.api_domain)
										   ELSE '' END);
			EXECUTE pg_catalog.format('ALTER EXTENSION zcrm_bulk DROP SERVER %I', c.name);
			EXECUTE pg_catalog.format('ALTER SERVER %I OWNER TO %s', c.name, owner_name);
			EXECUTE pg_catalog.format('CREATE USER MAPPING FOR PUBLIC SERVER %I OPTIONS (client_id %L, client_secret %L, refresh_token %L)',
									  c.name, c.client_id, c.client_secret, c.refresh_token);
		EXCEPTION WHEN OTHERS THEN
			RAISE EXCEPTION 'could not turn Zoho CRM connection "%" into a server: %', c.name, SQLERRM
				USING ERRCODE = SQLSTATE,
					  HINT = 'A server of that name may exist already: rename it, then run the update again.';
		END;
		FOR g IN SELECT r.rolname FROM @extschema@.zcrm_connection_grant AS cg
				 JOIN pg_catalog.pg_roles AS r ON r.oid OPERATOR(pg_catalog.=) cg.grantee
				 WHERE cg.connection OPERATOR(pg_catalog.=) c.name ORDER BY 1 LOOP
			EXECUTE pg_catalog.format('GRANT USAGE ON FOREIGN SERVER %I TO %I', c.name, g.rolname);
		END LOOP;
	END LOOP;

	-- user mappings created in an extension script become its members;
	-- they belong to their servers, not to the extension
	DELETE FROM pg_catalog.pg_depend AS d
	WHERE d.classid OPERATOR(pg_catalog.=) 'pg_catalog.pg_user_mapping'::pg_catalog.regclass
	  AND d.refclassid OPERATOR(pg_catalog.=) 'pg_catalog.pg_extension'::pg_catalog.regclass
	  AND d.refobjid OPERATOR(pg_catalog.=) (SELECT e.oid FROM pg_catalog.pg_extension AS e
											 WHERE e.extname OPERATOR(pg_catalog.=) 'zcrm_bulk')
	  AND d.deptype OPERATOR(pg_catalog.=) 'e';
END
$migrate$;

DROP FUNCTION @extschema@.zcrm_connection_create(text, text, text, text, text, text);
DROP FUNCTION @extschema@.zcrm_connection_alter(text, text, text, text, text, text);
DROP FUNCTION @extschema@.zcrm_connection_drop(text);
DROP FUNCTION @extschema@.zcrm_connection_grant(text, regrole);
DROP FUNCTION @extschema@.zcrm_connection_revoke(text, regrole);
DROP FUNCTION @extschema@.zcrm_connections();
DROP TABLE @extschema@.zcrm_connection_grant;
DROP TABLE @extschema@.zcrm_connection;

-----------------------------------------------------------------------
-- 2. Tracking and the poller
-----------------------------------------------------------------------

-----------------------------------------------------------------------
-- 3. Job functions
-----------------------------------------------------------------------
