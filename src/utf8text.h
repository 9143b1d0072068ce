/*-------------------------------------------------------------------------
 *
 * utf8text.h
 *	  Strings already known to be valid UTF-8, as values of the database.
 *
 * The JSON layer (json_scan.c), the result file reader (result.c) and the
 * CSV row writer (rowcsv.c, for the echoed values it keeps) check every
 * string they hand out: well-formed UTF-8, no NUL.  Turning one into
 * a value of the database needs no second check where no conversion is
 * needed, which is the case in a UTF-8 or an SQL_ASCII database; in any
 * other the string is converted with pg_any_to_server(), which raises an
 * error for a character the database encoding lacks.
 *
 * Copyright (c) 2026, zcrm_bulk developers
 *
 * IDENTIFICATION
 *	  src/utf8text.h
 *
 *-------------------------------------------------------------------------
 */
#ifndef ZCRM_UTF8TEXT_H
#define ZCRM_UTF8TEXT_H

#include "postgres.h"

/*
 * s[0..len), checked UTF-8, in the database encoding: s itself when no
 * conversion is needed, else a palloc'd conversion.
 */
extern char *zcrm_utf8_to_server(const char *s, size_t len);

/* The NUL-terminated checked UTF-8 string s as a text Datum. */
extern Datum zcrm_utf8_text_datum(const char *s);

#endif							/* ZCRM_UTF8TEXT_H */
