/*-------------------------------------------------------------------------
 *
 * connections.h
 *	  Named connections: stored OAuth credentials and who may use them.
 *
 * A connection holds a client id, a client secret, a refresh token, the
 * Zoho accounts server that issues access tokens and an optional API
 * domain override.  They live in the extension's table zcrm_connection,
 * which only superusers can read; connections.c reads and writes it on the
 * caller's behalf after checking the caller's rights, and never hands a
 * secret back to SQL.
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

/* One stored connection; every string palloc'd. */
typedef struct ZcrmConnection
{
	char	   *name;
	char	   *client_id;
	char	   *client_secret;
	char	   *refresh_token;
	char	   *accounts_server;
	char	   *api_domain;		/* override, or NULL */
	bool		zoho_accounts;	/* accounts_server is one of Zoho's own */
} ZcrmConnection;

/*
 * zcrm_connection_lookup
 *		The connection "name" of the current database, if the current user
 *		may use it: its owner (or a member of the owner role), a role it was
 *		granted to (or a member), or a superuser.  A missing connection is
 *		42704, one the user may not use 42501.
 */
extern ZcrmConnection *zcrm_connection_lookup(const char *name);

/* True when "url" is one of Zoho's accounts servers. */
extern bool zcrm_is_zoho_accounts_server(const char *url);

/* True when "url" is one of Zoho's API domains (www, sandbox, developer). */
extern bool zcrm_is_zoho_api_domain(const char *url);

#endif							/* ZCRM_CONNECTIONS_H */
