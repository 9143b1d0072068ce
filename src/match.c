/*-------------------------------------------------------------------------
 *
 * match.c
 *	  Match result rows to source rows: positionally when every row agrees,
 *	  else by unique echoed values, else not at all.
 *
 * See match.h for the rule.  The by-value pass builds an open-addressing
 * hash table (linear probing, a power of two at least twice the number of
 * distinct tuples) of the source tuples: each slot holds the first source
 * row with that tuple and how many source rows have it.  Each result row
 * then looks its tuple up; a tuple held by one source row is a candidate,
 * and a second pass keeps only the candidates claimed by one result row.
 *
 * Copyright (c) 2026, zcrm_bulk developers
 *
 * IDENTIFICATION
 *	  src/match.c
 *
 *-------------------------------------------------------------------------
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "match.h"

/* One slot of the hash table: a distinct source tuple. */
typedef struct ZcrmMatchSlot
{
	long		first;			/* first source row with it; -1: empty slot */
	size_t		count;			/* source rows with it */
	uint64_t	hash;
} ZcrmMatchSlot;

static const char *
value_of(const char *const *rows, size_t row, int k, int j)
{
	const char *v = rows[row * (size_t) k + (size_t) j];

	return v ? v : "";
}

/*
 * tuple_hash
 *	  FNV-1a over the k values, each followed by a 0xFF byte (which UTF-8
 *	  never holds), so that ("ab","c") and ("a","bc") differ.
 */
static uint64_t
tuple_hash(const char *const *rows, size_t row, int k)
{
	uint64_t	h = UINT64_C(14695981039346656037);

	for (int j = 0; j < k; j++)
	{
		for (const unsigned char *p = (const unsigned char *) value_of(rows, row, k, j); *p; p++)
		{
			h ^= *p;
			h *= UINT64_C(1099511628211);
		}
		h ^= 0xFF;
		h *= UINT64_C(1099511628211);
	}
	return h;
}

static bool
tuple_equal(const char *const *a, size_t ra, const char *const *b, size_t rb, int k)
{
	for (int j = 0; j < k; j++)
	{
		if (strcmp(value_of(a, ra, k, j), value_of(b, rb, k, j)) != 0)
			return false;
	}
	return true;
}

/*
 * lookup
 *	  The slot of the tuple of row "row" of "rows" (hash h): the slot that
 *	  holds it, or the empty slot where it would go.
 */
static ZcrmMatchSlot *
lookup(ZcrmMatchSlot *table, size_t mask, const char *const *source,
	   const char *const *rows, size_t row, int k, uint64_t h)
{
	for (size_t i = (size_t) h & mask;; i = (i + 1) & mask)
	{
		ZcrmMatchSlot *s = &table[i];

		if (s->first < 0)
			return s;
		if (s->hash == h && tuple_equal(source, (size_t) s->first, rows, row, k))
			return s;
	}
}

/*
 * by_value
 *	  Rules 2 and 3 of match.h; source_of[] is all -1 on entry.
 */
static bool
by_value(size_t nsource, size_t nresult, int k, const char *const *source,
		 const char *const *result, long *source_of)
{
	size_t		size = 16;
	ZcrmMatchSlot *table;
	uint32_t   *claims;

	while (size < 2 * nsource)
		size *= 2;
	table = malloc(size * sizeof(ZcrmMatchSlot));
	claims = calloc(nsource ? nsource : 1, sizeof(uint32_t));
	if (table == NULL || claims == NULL)
	{
		free(table);
		free(claims);
		return false;
	}
	for (size_t i = 0; i < size; i++)
		table[i].first = -1;

	for (size_t i = 0; i < nsource; i++)
	{
		uint64_t	h = tuple_hash(source, i, k);
		ZcrmMatchSlot *s = lookup(table, size - 1, source, source, i, k, h);

		if (s->first < 0)
		{
			s->first = (long) i;
			s->hash = h;
			s->count = 0;
		}
		s->count++;
	}

	/* candidates: a tuple held by exactly one source row */
	for (size_t r = 0; r < nresult; r++)
	{
		uint64_t	h = tuple_hash(result, r, k);
		ZcrmMatchSlot *s = lookup(table, size - 1, source, result, r, k, h);

		if (s->first >= 0 && s->count == 1)
		{
			source_of[r] = s->first;
			if (claims[s->first] < UINT32_MAX)
				claims[s->first]++;
		}
	}
	/* a source row claimed twice goes to neither */
	for (size_t r = 0; r < nresult; r++)
	{
		if (source_of[r] >= 0 && claims[source_of[r]] != 1)
			source_of[r] = -1;
	}
	free(table);
	free(claims);
	return true;
}

/*
 * zcrm_match_rows
 *	  See match.h.
 */
bool
zcrm_match_rows(size_t nsource, size_t nresult, int k,
				const char *const *source, const char *const *result,
				long *source_of, ZcrmMatchOutcome *outcome)
{
	bool		ok = true;

	for (size_t r = 0; r < nresult; r++)
		source_of[r] = -1;
	outcome->positional = false;
	outcome->unmatched = nresult;
	if (k < 0 || k > ZCRM_MATCH_MAX_K)
		return false;
	if (k == 0)
		return true;

	if (nsource == nresult)
	{
		size_t		r;

		for (r = 0; r < nresult; r++)
		{
			if (!tuple_equal(source, r, result, r, k))
				break;
		}
		if (r == nresult)
		{
			for (r = 0; r < nresult; r++)
				source_of[r] = (long) r;
			outcome->positional = true;
			outcome->unmatched = 0;
			return true;
		}
	}

	if (!by_value(nsource, nresult, k, source, result, source_of))
	{
		for (size_t r = 0; r < nresult; r++)
			source_of[r] = -1;
		ok = false;
	}
	outcome->unmatched = 0;
	for (size_t r = 0; r < nresult; r++)
	{
		if (source_of[r] < 0)
			outcome->unmatched++;
	}
	return ok;
}
