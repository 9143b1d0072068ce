/*-------------------------------------------------------------------------
 *
 * scrub.h
 *	  Find every copy of a secret in text, whatever its encoding.
 *
 * Server text (an API error's message and details, the start of a body
 * that is not JSON, a token endpoint's error_description) may echo an
 * access token, a refresh token or a client secret back, and not always
 * verbatim: JSON-escaped ("\/" for "/", "\u0031" for "1", also escaped
 * twice, "\\/"), percent-encoded ("%2F", "%2f", "%2B", "%3D", any byte as
 * %XX in either case), or folded across a line break (CR and/or LF, as
 * such or escaped, followed by any indentation of spaces and tabs)
 * anywhere inside.  zcrm_find_secrets() decodes a view of the text and
 * searches that, and reports the byte ranges of the original text that
 * hold each copy, so that errors.c can redact exactly those.
 *
 * Like parse.c, this depends on the C library alone (no PostgreSQL
 * headers), so that it builds and runs outside the server for unit tests;
 * it never longjmps and never prints.
 *
 * Copyright (c) 2026, zcrm_bulk developers
 *
 * IDENTIFICATION
 *	  src/scrub.h
 *
 *-------------------------------------------------------------------------
 */
#ifndef ZCRM_SCRUB_H
#define ZCRM_SCRUB_H

#include <stdbool.h>
#include <stddef.h>

/* Bytes [start, end) of a text. */
typedef struct ZcrmSpan
{
	size_t		start;
	size_t		end;
} ZcrmSpan;

/*
 * zcrm_find_secrets
 *	  Find every copy of every secret of "secrets" (NULL-terminated; NULL
 *	  and empty entries are ignored) in the "len" bytes of "str", in any
 *	  of the encodings above.  On success, returns true and sets *spans to
 *	  a malloc'd array (free it with free(); NULL when *nspans is 0) of
 *	  *nspans byte ranges, sorted, not overlapping and not adjacent, that
 *	  cover every copy and nothing that is not part of one.  Returns false
 *	  (and *spans NULL) when malloc fails: the caller must then treat the
 *	  whole text as secret.  Time is linear in len for each secret.
 */
extern bool zcrm_find_secrets(const char *str, size_t len,
							  const char *const *secrets,
							  ZcrmSpan **spans, size_t *nspans);

#endif							/* ZCRM_SCRUB_H */
