--
-- zcrm_upgrade: the updates to 2.0 from 1.0 and from 1.3, in databases of
-- their own.  From 1.3, every stored connection becomes a server owned by
-- its owner (by the extension's owner, with a WARNING, when that role is
-- gone) with a user mapping FOR PUBLIC, every grant becomes GRANT USAGE,
-- and the old tables and functions go.  The stored rows are written
-- directly: the 1.3 functions that wrote them are not in this library.
-- The secrets here are made up for this test.
--
\pset null '(null)'
SELECT current_database() AS regress_db \gset
CREATE ROLE regress_zcrm_upg_owner;
CREATE ROLE regress_zcrm_upg_user;
CREATE ROLE regress_zcrm_upg_gone;
SELECT oid AS gone_oid FROM pg_roles WHERE rolname = 'regress_zcrm_upg_gone' \gset
DROP ROLE regress_zcrm_upg_gone;

CREATE DATABASE zcrm_upgrade_13;
\c zcrm_upgrade_13
CREATE EXTENSION zcrm_bulk VERSION '1.3';
INSERT INTO zcrm_connection (name, owner, client_id, client_secret, refresh_token,
							 accounts_server, api_domain) VALUES
	('eu', 'regress_zcrm_upg_owner'::regrole, '1000.EU', 'upgrade-secret-eu', '1000.upgrade-rt-eu',
	 'https://accounts.zoho.eu', 'https://www.zohoapis.eu'),
	('orphan', :gone_oid, '1000.OR', 'upgrade-secret-or', '1000.upgrade-rt-or',
	 'https://accounts.zoho.com', NULL),
	('Mixed Case', 'regress_zcrm_upg_owner'::regrole, '1000.MC', 'upgrade-secret-mc', '1000.upgrade-rt-mc',
	 'https://accounts.zoho.in', NULL);
INSERT INTO zcrm_connection_grant (connection, grantee) VALUES
	('eu', 'regress_zcrm_upg_user'::regrole), ('eu', :gone_oid);
SELECT zcrm_track_job('4150868000005392002', 'eu');

ALTER EXTENSION zcrm_bulk UPDATE TO '2.0';

-- Servers with their owners, options and grants; mappings FOR PUBLIC.
SELECT srvname, srvowner::regrole, srvoptions, srvacl FROM pg_foreign_server ORDER BY 1;
SELECT srvname, usename, umoptions FROM pg_user_mappings ORDER BY 1;
-- Neither the servers nor the mappings belong to the extension.
SELECT pg_describe_object(classid, objid, objsubid) AS extension_member
FROM pg_depend
WHERE refobjid = (SELECT oid FROM pg_extension WHERE extname = 'zcrm_bulk') AND deptype = 'e'
  AND classid IN ('pg_foreign_server'::regclass, 'pg_user_mapping'::regclass,
				  'pg_foreign_data_wrapper'::regclass);
-- The old objects are gone; tracked jobs stay.
SELECT count(*) AS old_objects FROM pg_class WHERE relname LIKE 'zcrm_connection%';
SELECT count(*) AS old_functions FROM pg_proc WHERE proname LIKE 'zcrm_connection%';
SELECT job_id, connection FROM zcrm_tracked_job;
-- The owner of a converted server cannot be dropped.
DROP ROLE regress_zcrm_upg_owner;
\c :regress_db
DROP DATABASE zcrm_upgrade_13;

-- From 1.0: the wrapper exists and nothing else is left behind.
CREATE DATABASE zcrm_upgrade_10;
\c zcrm_upgrade_10
CREATE EXTENSION zcrm_bulk VERSION '1.0';
ALTER EXTENSION zcrm_bulk UPDATE;
SELECT extversion FROM pg_extension WHERE extname = 'zcrm_bulk';
SELECT fdwname, fdwacl FROM pg_foreign_data_wrapper;
SELECT count(*) AS servers FROM pg_foreign_server;
SELECT count(*) AS old_objects FROM pg_class WHERE relname LIKE 'zcrm_connection%';
\c :regress_db
DROP DATABASE zcrm_upgrade_10;

DROP ROLE regress_zcrm_upg_owner;
DROP ROLE regress_zcrm_upg_user;
