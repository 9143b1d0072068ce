/*-------------------------------------------------------------------------
 *
 * oauth.h
 *	  Access tokens for named connections: refresh grant and shared cache.
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

/*
 * zcrm_oauth_access
 *		An access token for "conn" (*token) and the API domain its calls go
 *		to (*api_domain: the connection's override, else the domain the
 *		token reply named, else zcrm_bulk.api_domain), both palloc'd.
 *
 *		Tokens are cached in files under the data directory, shared by all
 *		backends, and refreshed ahead of expiry; one backend refreshes while
 *		the others wait (interruptibly) and then use its token.  When
 *		"rejected" is not NULL, the API has just refused that token: a new
 *		one is fetched unless another backend already did.  At most
 *		ZCRM_MAX_REFRESHES refreshes per connection are made in ten minutes.
 */
extern void zcrm_oauth_access(const ZcrmConnection *conn, const char *rejected,
							  char **token, char **api_domain);

#endif							/* ZCRM_OAUTH_H */
