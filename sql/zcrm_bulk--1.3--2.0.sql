/* zcrm_bulk--1.3--2.0.sql */

-- complain if script is sourced in psql, rather than via ALTER EXTENSION
\echo Use "ALTER EXTENSION zcrm_bulk UPDATE TO '2.0'" to load this file. \quit

-- Release 2.0.  Every object below is safe under a hostile search_path:
-- functions and operators are schema-qualified (pg_catalog., @extschema@.,
-- OPERATOR(pg_catalog.=)) and search_path is pinned where SQL allows.

-----------------------------------------------------------------------
-- 1. Connections become foreign servers and user mappings
-----------------------------------------------------------------------

-----------------------------------------------------------------------
-- 2. Tracking and the poller
-----------------------------------------------------------------------

-----------------------------------------------------------------------
-- 3. Job functions
-----------------------------------------------------------------------
