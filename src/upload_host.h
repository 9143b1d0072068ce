/*-------------------------------------------------------------------------
 *
 * upload_host.h
 *	  The upload host of a Zoho data centre, derived from its API domain.
 *
 * Zoho takes uploads for Bulk Write on a separate host per data centre:
 * the API domain https://www.zohoapis.X uploads to
 * https://content.zohoapis.X.  This is the pure string rule, without
 * PostgreSQL headers, so that it is unit-tested outside the server
 * (test/unit/test_write_replies.c); zoho_write.c decides when it applies
 * (the server option upload_domain wins, and only Zoho's own API domains
 * are derived).
 *
 * Copyright (c) 2026, zcrm_bulk developers
 *
 * IDENTIFICATION
 *	  src/upload_host.h
 *
 *-------------------------------------------------------------------------
 */
#ifndef ZCRM_UPLOAD_HOST_H
#define ZCRM_UPLOAD_HOST_H

#include <stdbool.h>

/*
 * zcrm_derive_upload_host
 *		A malloc'd copy of api_domain without trailing slashes, in which
 *		"https://www.zohoapis." (any letter case) followed by a host suffix
 *		(letters, digits, dots and hyphens only: no port, no path) becomes
 *		"https://content.zohoapis."; *derived says whether it did.  NULL
 *		when memory runs out.
 */
extern char *zcrm_derive_upload_host(const char *api_domain, bool *derived);

#endif							/* ZCRM_UPLOAD_HOST_H */
