/*-------------------------------------------------------------------------
 *
 * match.h
 *	  Match the rows of one part's result file to the part's source rows.
 *
 * Zoho does not document whether a result file keeps the input order
 * (zoho-bulk-write-lifecycle.md, section 4).  What it does say is that the
 * file echoes the first (up to three) mapped columns of the uploaded file.
 * So each source row is stored at prepare time with those k values as
 * sent, and each result row is read with the same k columns (by header
 * name), and the rule of issue 11 decides:
 *
 *	1. positional: when the file has exactly as many rows as the part and
 *	   every result row i echoes the values of source row i, row i is
 *	   source row i;
 *	2. otherwise by value: a result row whose k-tuple belongs to exactly
 *	   one source row, and that no other result row also claims, is that
 *	   source row;
 *	3. anything else is unmatched (-1): a tuple shared by several source
 *	   rows, a tuple no source row has, or a tuple two result rows claim.
 *
 * A wrong match is never made: a result row is only given a source row
 * whose echoed values it carries, and no source row is given to two
 * result rows.  With k = 0 nothing is echoed, so there is nothing to check
 * a match against: every row is unmatched, whatever the counts (a
 * positional match by count alone would be a guess).
 *
 * Values are compared byte for byte.  O(n + m) time with one hash table
 * over the source tuples; memory O(n).  Pure C (malloc, no PostgreSQL
 * headers), never longjmps or prints, so that it is unit-tested outside
 * the server (test/unit/test_result.c).
 *
 * Copyright (c) 2026, zcrm_bulk developers
 *
 * IDENTIFICATION
 *	  src/match.h
 *
 *-------------------------------------------------------------------------
 */
#ifndef ZCRM_MATCH_H
#define ZCRM_MATCH_H

#include <stdbool.h>
#include <stddef.h>

/* Most echoed columns of a row (Zoho echoes three). */
#define ZCRM_MATCH_MAX_K	16

/* How a match went. */
typedef struct ZcrmMatchOutcome
{
	size_t		unmatched;		/* result rows given -1 */
	bool		positional;		/* rule 1 was used */
} ZcrmMatchOutcome;

/*
 * zcrm_match_rows
 *	  Match "nresult" result rows to "nsource" source rows, each with k
 *	  (0 to ZCRM_MATCH_MAX_K) values, row-major: source[i * k + j] is
 *	  value j of source row i, result[r * k + j] value j of result row r
 *	  (NUL-terminated; a NULL value is taken as "").  Fills
 *	  source_of[0 .. nresult) with the 0-based source row of each result
 *	  row or -1, and *outcome.  Returns false, with source_of all -1, only
 *	  when k is out of range or malloc fails.
 */
extern bool zcrm_match_rows(size_t nsource, size_t nresult, int k,
							const char *const *source,
							const char *const *result,
							long *source_of, ZcrmMatchOutcome *outcome);

#endif							/* ZCRM_MATCH_H */
