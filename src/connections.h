/*-------------------------------------------------------------------------
 *
 * connections.h
 *	  Connections: foreign servers of the zcrm_bulk wrapper and their user
 *	  mappings.
 *
 * A connection is a foreign server of FOREIGN DATA WRAPPER zcrm_bulk
 * (options accounts_server, api_domain and upload_domain) together with the user mapping
 * that applies to the current user: the user's own, else PUBLIC's (options
 * client_id, client_secret, refresh_token).  PostgreSQL keeps them: it
 * records owners and role dependencies, checks USAGE, hides mapping options
 * in pg_user_mappings and dumps them with pg_dump.  connections.c validates
 * the options (the wrapper's validator) and resolves a server name to the
 * credentials a call may use; it never hands a secret back to SQL.
 *
 * Copyright (c) 2026, zcrm_bulk developers
 *
 * IDENTIFICATION
 *	  src/connections.h
 *
 *-------------------------------------------------------------------------
 */
#ifndef ZCRM_CONNECTIONS_H
#define ZCRM_CONNECTIONS_H

#include "common/sha2.h"

/*
 * What a call through a server uses.  zcrm_connection_lookup() returns a
 * copy in the caller's memory context; the backend's cache keeps its own.
 */
typedef struct ZcrmConnection
{
	char	   *name;			/* the server's name */
	Oid			serverid;
	Oid			umid;			/* the user mapping used */
	char	   *client_id;
	char	   *client_secret;
	char	   *refresh_token;
	char	   *accounts_server;	/* without trailing slash */
	char	   *api_domain;		/* override, or NULL */
	bool		zoho_accounts;	/* accounts_server is one of Zoho's own */

	/* SHA-256 (hex) of the credentials and accounts server */
	char		fingerprint[PG_SHA256_DIGEST_STRING_LENGTH];
	/* SHA-256 (hex) of the refresh token with its client and server */
	char		refresh_key[PG_SHA256_DIGEST_STRING_LENGTH];
	char	   *upload_domain;	/* override of the upload host, or NULL */
	char	   *org_id;			/* the zgid, sparing the org call, or NULL */

	/* the xmin of the server's and the user mapping's catalog rows */
	TransactionId server_xmin;
	TransactionId um_xmin;
} ZcrmConnection;

/*
 * zcrm_connection_lookup
 *		The connection through server "name" for the current user
 *		(GetUserId()): the server must exist and belong to the zcrm_bulk
 *		wrapper (42704, 42809), the user must have USAGE on it (42501), and
 *		a user mapping for the user or PUBLIC must exist (42704, with a hint
 *		that shows the CREATE USER MAPPING statement).  A server owned by a
 *		non-superuser must name only Zoho's own hosts (42501).  Resolved
 *		connections are cached per backend and dropped on any change of a
 *		server, a user mapping or a role.
 */
extern ZcrmConnection *zcrm_connection_lookup(const char *name);

/* True when "url" is one of Zoho's accounts servers. */
extern bool zcrm_is_zoho_accounts_server(const char *url);

/* True when "url" is one of Zoho's API domains (www, sandbox, developer). */
extern bool zcrm_is_zoho_api_domain(const char *url);

/*
 * True when "url" is one of Zoho's upload hosts (content.zohoapis.X) or API
 * domains: what a server that a non-superuser owns may name as its
 * upload_domain.
 */
extern bool zcrm_is_zoho_upload_domain(const char *url);

/*
 * zcrm_sha256_hex
 *		Hex SHA-256 of "len" bytes into out (PG_SHA256_DIGEST_STRING_LENGTH).
 */
extern void zcrm_sha256_hex(const char *data, size_t len, char *out);

/*
 * zcrm_user_mapping_exists
 *		True when user mapping "umid" exists in the current database.
 */
extern bool zcrm_user_mapping_exists(Oid umid);

/* Registered callback for a change of servers or user mappings. */
typedef void (*ZcrmConnectionsChanged) (void);

/*
 * zcrm_on_connections_changed
 *		Call "fn" whenever a server or user mapping changes (from the
 *		syscache invalidation callbacks), so that oauth.c can drop the
 *		access tokens and zoho_write.c the organisation ids it keeps in
 *		memory.  Up to four callbacks; registering one twice is harmless.
 */
extern void zcrm_on_connections_changed(ZcrmConnectionsChanged fn);

#endif							/* ZCRM_CONNECTIONS_H */
