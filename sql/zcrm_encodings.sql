--
-- zcrm_encodings: the strings of a job (UTF-8 from the JSON layer, checked
-- there once) in databases of other encodings.  In a UTF-8 or SQL_ASCII
-- database they are stored as they are; in any other they are converted,
-- and a character the encoding lacks is an error, not a wrong byte.
-- Job 1000000000000000019 of the local server is named "données.csv" and
-- was created by "Zoë Ōkubo 日本 😀".
--
\i sql/include/prelude.psql
\getenv token ZCRM_TEST_TOKEN
\set regress_db :DBNAME
-- the databases of a run that was cut short, if any
SET client_min_messages = warning;
DROP DATABASE IF EXISTS zcrm_enc_ascii;
DROP DATABASE IF EXISTS zcrm_enc_latin1;
RESET client_min_messages;

-- UTF-8 (the suite's database)
SELECT created_by_name, octet_length(created_by_name) AS bytes,
	   file_name, octet_length(file_name) AS file_bytes
FROM zcrm_write_job('1000000000000000019', :'token');

-- SQL_ASCII: the same bytes
CREATE DATABASE zcrm_enc_ascii ENCODING 'SQL_ASCII' LC_COLLATE 'C' LC_CTYPE 'C' TEMPLATE template0;
\c zcrm_enc_ascii
SET client_min_messages = warning;
CREATE EXTENSION zcrm_bulk;
RESET client_min_messages;
SELECT created_by_name, octet_length(created_by_name) AS bytes,
	   file_name, octet_length(file_name) AS file_bytes
FROM zcrm_write_job('1000000000000000019', :'token');

-- LATIN1: "Ōkubo 日本 😀" has no LATIN1 form, so the row is refused whole
-- with the conversion's error (were the UTF-8 stored unconverted, it would
-- be read back as other characters)
CREATE DATABASE zcrm_enc_latin1 ENCODING 'LATIN1' LC_COLLATE 'C' LC_CTYPE 'C' TEMPLATE template0;
\c zcrm_enc_latin1
SET client_encoding = 'UTF8';
SET client_min_messages = warning;
CREATE EXTENSION zcrm_bulk;
RESET client_min_messages;
\set VERBOSITY default
SELECT created_by_name FROM zcrm_write_job('1000000000000000019', :'token');
-- the field mappings of the same job hold ASCII only
SELECT api_name, octet_length(api_name) AS bytes
FROM zcrm_write_job_field_mappings('1000000000000000019', :'token');

\c :regress_db
DROP DATABASE zcrm_enc_ascii;
DROP DATABASE zcrm_enc_latin1;
