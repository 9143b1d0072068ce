/*-------------------------------------------------------------------------
 *
 * oauth.h
 *	  Access tokens for connections: refresh grant, budget and caches.
 *
 * Copyright (c) 2026, zcrm_bulk developers
 *
 * IDENTIFICATION
 *	  src/oauth.h
 *
 *-------------------------------------------------------------------------
 */
#ifndef ZCRM_OAUTH_H
#define ZCRM_OAUTH_H

#include "connections.h"

/* Refreshes allowed per refresh token in ZCRM_REFRESH_WINDOW_S seconds. */
#define ZCRM_MAX_REFRESHES		5
#define ZCRM_REFRESH_WINDOW_S	600

/*
 * zcrm_oauth_access
 *		An access token for "conn" (*token) and the API domain its calls go
 *		to (*api_domain: the server's api_domain option, else the domain the
 *		token reply named, else zcrm_bulk.api_domain), both palloc'd.
 *
 *		Tokens are kept in backend memory and in a file per database and
 *		user mapping under the data directory, shared by all backends, and
 *		refreshed ahead of expiry; one backend refreshes while the others
 *		wait (interruptibly) and then use its token.  When "rejected" is not
 *		NULL, the API has just refused that token: a new one is fetched
 *		unless another backend already did.  At most ZCRM_MAX_REFRESHES
 *		refreshes per refresh token are made in ten minutes; every attempt
 *		is counted before its request is sent, and a refresh, once started,
 *		is not given up for a query cancel (it is bounded by a timeout of
 *		its own), so that no refresh is wasted.
 */
extern void zcrm_oauth_access(const ZcrmConnection *conn, const char *rejected,
							  char **token, char **api_domain);

#endif							/* ZCRM_OAUTH_H */
