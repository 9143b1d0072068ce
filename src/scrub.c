/*-------------------------------------------------------------------------
 *
 * scrub.c
 *	  Find every copy of a secret in text, whatever its encoding.
 *
 * The text is read as a sequence of units, each one decoded character
 * and the bytes it came from:
 *
 *	- a run of backslashes followed by "/", "\"", "n", "r", "t", or "u" and
 *	  four hex digits, is one JSON escape (escaped once or many times
 *	  over), decoding to that character ("\u0031" is "1"; a \u escape
 *	  above U+007F decodes to something no secret matches);
 *	- "%" and two hex digits (either case) is one percent-encoded byte;
 *	- anything else is one byte as it is.
 *
 * Units that decode to CR or LF, and the spaces and tabs that follow them,
 * are a line fold: they are skipped, so that a secret folded across a line
 * break (with indentation) still matches.  Each secret is searched for in
 * the remaining units with Knuth-Morris-Pratt, so the search is linear
 * however hostile the text; a match covers the bytes from its first
 * unit's start to its last unit's end, folds inside it included.
 *
 * Copyright (c) 2026, zcrm_bulk developers
 *
 * IDENTIFICATION
 *	  src/scrub.c
 *
 *-------------------------------------------------------------------------
 */
#include <stdlib.h>
#include <string.h>

#include "scrub.h"

/* What a unit decodes to when no secret can match it. */
#define NO_MATCH	(-1)

/* One decoded unit of the text. */
typedef struct Unit
{
	int			c;				/* the decoded byte, or NO_MATCH */
	size_t		len;			/* bytes of the text it came from */
} Unit;

/* Growing array of spans. */
typedef struct SpanList
{
	ZcrmSpan   *items;
	size_t		n;
	size_t		cap;
} SpanList;

/* The value of a hex digit, or -1. */
static int
hex_value(unsigned char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* The value of the 4 hex digits at s[0..3], or -1. */
static int
hex4_value(const unsigned char *s)
{
	int			v = 0;

	for (int i = 0; i < 4; i++)
	{
		int			h = hex_value(s[i]);

		if (h < 0)
			return -1;
		v = v * 16 + h;
	}
	return v;
}

/* What a JSON escape (a backslash, then c) stands for; -1 for any other c. */
static int
escaped_char(unsigned char c)
{
	switch (c)
	{
		case '/':
		case '"':
			return c;
		case 'n':
			return '\n';
		case 'r':
			return '\r';
		case 't':
			return '\t';
		default:
			return -1;
	}
}

/*
 * next_unit
 *	  Decode the unit that starts at str[pos] (pos < len).
 */
static Unit
next_unit(const unsigned char *str, size_t len, size_t pos)
{
	Unit		u = {str[pos], 1};

	if (str[pos] == '\\')
	{
		size_t		q = pos;

		while (q < len && str[q] == '\\')
			q++;
		if (q < len && escaped_char(str[q]) >= 0)
		{
			u.c = escaped_char(str[q]);
			u.len = q + 1 - pos;
		}
		else if (q < len && str[q] == 'u' && len - q > 4 &&
				 hex4_value(str + q + 1) >= 0)
		{
			int			v = hex4_value(str + q + 1);

			u.c = v < 0x80 ? v : NO_MATCH;
			u.len = q + 5 - pos;
		}
	}
	else if (str[pos] == '%' && len - pos > 2 &&
			 hex_value(str[pos + 1]) >= 0 && hex_value(str[pos + 2]) >= 0)
	{
		u.c = hex_value(str[pos + 1]) * 16 + hex_value(str[pos + 2]);
		u.len = 3;
	}
	return u;
}

/* Append [start, end) to the list; false when malloc fails. */
static bool
span_add(SpanList *list, size_t start, size_t end)
{
	if (list->n == list->cap)
	{
		size_t		cap = list->cap ? list->cap * 2 : 16;
		ZcrmSpan   *items = realloc(list->items, cap * sizeof(ZcrmSpan));

		if (items == NULL)
			return false;
		list->items = items;
		list->cap = cap;
	}
	list->items[list->n].start = start;
	list->items[list->n].end = end;
	list->n++;
	return true;
}

/*
 * find_one
 *	  Add the span of every copy of "secret" (m > 0 bytes) in "str" to list.
 *	  "fail" and "starts" are scratch arrays of m entries each.
 */
static bool
find_one(const unsigned char *str, size_t len, const unsigned char *secret,
		 size_t m, size_t *fail, size_t *starts, SpanList *list)
{
	size_t		q = 0;			/* secret bytes matched so far */
	size_t		nunits = 0;		/* units that took part in matching */
	bool		folding = false;	/* just after a CR or LF */

	/* KMP failure function: fail[i] = longest proper border of secret[0..i] */
	fail[0] = 0;
	for (size_t i = 1, k = 0; i < m; i++)
	{
		while (k > 0 && secret[i] != secret[k])
			k = fail[k - 1];
		if (secret[i] == secret[k])
			k++;
		fail[i] = k;
	}

	for (size_t pos = 0; pos < len;)
	{
		Unit		u = next_unit(str, len, pos);
		size_t		start = pos;

		pos += u.len;
		if (u.c == '\r' || u.c == '\n')
		{
			folding = true;
			continue;
		}
		if (folding && (u.c == ' ' || u.c == '\t'))
			continue;
		folding = false;

		starts[nunits++ % m] = start;
		while (q > 0 && (u.c == NO_MATCH || secret[q] != (unsigned char) u.c))
			q = fail[q - 1];
		if (u.c != NO_MATCH && secret[q] == (unsigned char) u.c)
			q++;
		if (q == m)
		{
			if (!span_add(list, starts[(nunits - m) % m], pos))
				return false;
			q = fail[m - 1];
		}
	}
	return true;
}

/* qsort comparator: by start, then by end. */
static int
span_cmp(const void *a, const void *b)
{
	const ZcrmSpan *x = a;
	const ZcrmSpan *y = b;

	if (x->start != y->start)
		return x->start < y->start ? -1 : 1;
	if (x->end != y->end)
		return x->end < y->end ? -1 : 1;
	return 0;
}

/*
 * zcrm_find_secrets
 *	  See scrub.h.
 */
bool
zcrm_find_secrets(const char *str, size_t len, const char *const *secrets,
				  ZcrmSpan **spans, size_t *nspans)
{
	SpanList	list = {NULL, 0, 0};
	size_t		n = 0;

	*spans = NULL;
	*nspans = 0;
	for (int i = 0; secrets && secrets[i]; i++)
	{
		size_t		m = strlen(secrets[i]);
		size_t	   *scratch;
		bool		ok;

		if (m == 0)
			continue;
		scratch = malloc(2 * m * sizeof(size_t));
		if (scratch == NULL)
		{
			free(list.items);
			return false;
		}
		ok = find_one((const unsigned char *) str, len,
					  (const unsigned char *) secrets[i], m,
					  scratch, scratch + m, &list);
		free(scratch);
		if (!ok)
		{
			free(list.items);
			return false;
		}
	}

	/* sort, then merge overlapping and adjacent spans */
	if (list.n > 1)
		qsort(list.items, list.n, sizeof(ZcrmSpan), span_cmp);
	for (size_t i = 0; i < list.n; i++)
	{
		if (n > 0 && list.items[i].start <= list.items[n - 1].end)
		{
			if (list.items[i].end > list.items[n - 1].end)
				list.items[n - 1].end = list.items[i].end;
		}
		else
			list.items[n++] = list.items[i];
	}
	if (n == 0)
	{
		free(list.items);
		return true;
	}
	*spans = list.items;
	*nspans = n;
	return true;
}
