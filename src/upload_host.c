/*-------------------------------------------------------------------------
 *
 * upload_host.c
 *	  The upload host of a Zoho data centre, derived from its API domain.
 *
 * See upload_host.h.  Pure C with the C library only.
 *
 * Copyright (c) 2026, zcrm_bulk developers
 *
 * IDENTIFICATION
 *	  src/upload_host.c
 *
 *-------------------------------------------------------------------------
 */
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "upload_host.h"

#define API_PREFIX		"https://www.zohoapis."
#define UPLOAD_PREFIX	"https://content.zohoapis."

/* True when s is a non-empty run of host-suffix characters. */
static bool
is_host_suffix(const char *s, size_t len)
{
	if (len == 0 || s[0] == '.' || s[len - 1] == '.')
		return false;
	for (size_t i = 0; i < len; i++)
	{
		char		c = s[i];

		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
			  (c >= '0' && c <= '9') || c == '.' || c == '-'))
			return false;
	}
	return true;
}

/*
 * zcrm_derive_upload_host
 *		See upload_host.h.
 */
char *
zcrm_derive_upload_host(const char *api_domain, bool *derived)
{
	size_t		len = strlen(api_domain);
	size_t		plen = strlen(API_PREFIX);
	char	   *out;

	while (len > 0 && api_domain[len - 1] == '/')
		len--;
	*derived = len > plen && strncasecmp(api_domain, API_PREFIX, plen) == 0 &&
		is_host_suffix(api_domain + plen, len - plen);
	if (!*derived)
	{
		out = malloc(len + 1);
		if (out != NULL)
		{
			memcpy(out, api_domain, len);
			out[len] = '\0';
		}
		return out;
	}
	out = malloc(strlen(UPLOAD_PREFIX) + (len - plen) + 1);
	if (out != NULL)
	{
		strcpy(out, UPLOAD_PREFIX);
		memcpy(out + strlen(UPLOAD_PREFIX), api_domain + plen, len - plen);
		out[strlen(UPLOAD_PREFIX) + (len - plen)] = '\0';
	}
	return out;
}
