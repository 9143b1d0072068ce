/*-------------------------------------------------------------------------
 *
 * utf8text.c
 *	  Strings already known to be valid UTF-8, as values of the database
 *	  (see utf8text.h).
 *
 * pg_any_to_server(s, len, PG_UTF8) in a UTF-8 or SQL_ASCII database only
 * checks s again and returns it; for strings that have been checked once,
 * on every row of every call, that second check is skipped here.
 *
 * Copyright (c) 2026, zcrm_bulk developers
 *
 * IDENTIFICATION
 *	  src/utf8text.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "mb/pg_wchar.h"
#include "utils/builtins.h"

#include "utf8text.h"

/*
 * zcrm_utf8_to_server
 *		See utf8text.h.
 */
char *
zcrm_utf8_to_server(const char *s, size_t len)
{
	int			enc = GetDatabaseEncoding();

	if (enc == PG_UTF8 || enc == PG_SQL_ASCII)
		return unconstify(char *, s);
	return pg_any_to_server(s, (int) len, PG_UTF8);
}

/*
 * zcrm_utf8_text_datum
 *		See utf8text.h.
 */
Datum
zcrm_utf8_text_datum(const char *s)
{
	size_t		len = strlen(s);
	char	   *conv = zcrm_utf8_to_server(s, len);

	if (conv == s)
		return PointerGetDatum(cstring_to_text_with_len(s, (int) len));
	return CStringGetTextDatum(conv);
}
