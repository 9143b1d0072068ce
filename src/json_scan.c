/*-------------------------------------------------------------------------
 *
 * json_scan.c
 *	  Stage 1 of every parse: decide, from the raw bytes alone and without
 *	  allocating, whether a body is a JSON text that cJSON may be given.
 *
 * zcrm_json_scan() reads the body once, checking strict UTF-8 (no
 * overlongs, no encoded surrogates, nothing above U+10FFFF, no truncated
 * sequence) and the strict JSON grammar of RFC 8259 in the same pass, with
 * cJSON's own limits (nesting depth, number length) applied, no trailing
 * text, and every \u escape decoded so that \u0000 is found before cJSON
 * turns it into a silently truncated C string.  Outside strings the grammar
 * allows ASCII only, so UTF-8 sequences are decoded where strings hold
 * them.  A body that fails for any reason is checked for UTF-8 as a whole
 * before the reason is reported, so that bad UTF-8 is always reported as
 * such, wherever it is.  It is iterative and linear in time.  It accepts
 * only text that cJSON accepts too, so that a NULL from cJSON afterwards
 * can only mean that malloc failed.
 *
 * It also counts the values, so that a body with more of them than the
 * caller's limit is refused before a tree or a struct is built, and polls
 * the caller's interrupt check as it goes.  Both come from
 * zcrm_parse_set_limits(), whose state lives here.
 *
 * Copyright (c) 2026, zcrm_bulk developers
 *
 * IDENTIFICATION
 *	  src/json_scan.c
 *
 *-------------------------------------------------------------------------
 */
#include <stdbool.h>
#include <stddef.h>
#include <string.h>

#include <cJSON.h>

#include "json.h"

/* cJSON copies at most this many characters of a number (64-byte buffer). */
#define ZCRM_MAX_NUMBER_CHARS	63

/* The limits of every parse (zcrm_parse_set_limits). */
static ZcrmParseLimits limits = {0, NULL};

/*
 * zcrm_parse_set_limits
 *	  See parse.h.
 */
void
zcrm_parse_set_limits(const ZcrmParseLimits *l)
{
	if (l == NULL)
		memset(&limits, 0, sizeof(limits));
	else
		limits = *l;
}

/*
 * zcrm_json_interrupt_requested
 *	  Ask the caller's interrupt check, if there is one (see
 *	  zcrm_json_poll_interrupt, which calls this every few thousand steps).
 */
bool
zcrm_json_interrupt_requested(void)
{
	return limits.interrupted != NULL && limits.interrupted();
}


/* Is c one of the four whitespace characters JSON allows? */
static inline bool
is_json_space(unsigned char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

/*
 * zcrm_json_skip_space
 *	  The first position at or after pos that is not JSON whitespace.
 */
size_t
zcrm_json_skip_space(const unsigned char *s, size_t len, size_t pos)
{
	while (pos < len && is_json_space(s[pos]))
		pos++;
	return pos;
}

/*
 * utf8_sequence
 *	  The length of the well-formed UTF-8 sequence that starts with the
 *	  non-ASCII byte s[i], as defined by Unicode (Table 3-7): shortest form
 *	  only, no UTF-16 surrogates, at most U+10FFFF, not cut short by the end
 *	  of s[0..len); 0 when it is not one.
 */
static inline size_t
utf8_sequence(const unsigned char *s, size_t len, size_t i)
{
	unsigned char c = s[i];
	unsigned char lo = 0x80;
	unsigned char hi = 0xBF;
	size_t		ntrail;
	size_t		k;

	if (c >= 0xC2 && c <= 0xDF)
		ntrail = 1;
	else if (c == 0xE0)
	{
		ntrail = 2;
		lo = 0xA0;
	}
	else if (c == 0xED)
	{
		ntrail = 2;
		hi = 0x9F;
	}
	else if (c >= 0xE1 && c <= 0xEF)
		ntrail = 2;
	else if (c == 0xF0)
	{
		ntrail = 3;
		lo = 0x90;
	}
	else if (c >= 0xF1 && c <= 0xF3)
		ntrail = 3;
	else if (c == 0xF4)
	{
		ntrail = 3;
		hi = 0x8F;
	}
	else
		return 0;

	if (len - i - 1 < ntrail)
		return 0;
	if (s[i + 1] < lo || s[i + 1] > hi)
		return 0;
	for (k = 2; k <= ntrail; k++)
	{
		if (s[i + k] < 0x80 || s[i + k] > 0xBF)
			return 0;
	}
	return ntrail + 1;
}

/*
 * utf8_valid
 *	  True when s[0..len) is well-formed UTF-8 (see utf8_sequence).  Only
 *	  the failure paths of zcrm_json_scan() need the whole body checked.
 */
static bool
utf8_valid(const unsigned char *s, size_t len)
{
	size_t		i = 0;

	while (i < len)
	{
		size_t		n = 1;

		if (s[i] >= 0x80 && (n = utf8_sequence(s, len, i)) == 0)
			return false;
		i += n;
	}
	return true;
}

/* Read four hex digits at s[pos]; false when they are not all there. */
static bool
read_hex4(const unsigned char *s, size_t len, size_t pos, unsigned int *out)
{
	unsigned int value = 0;
	size_t		k;

	if (pos > len || len - pos < 4)
		return false;
	for (k = 0; k < 4; k++)
	{
		unsigned char c = s[pos + k];

		value <<= 4;
		if (c >= '0' && c <= '9')
			value |= (unsigned int) (c - '0');
		else if (c >= 'a' && c <= 'f')
			value |= (unsigned int) (c - 'a' + 10);
		else if (c >= 'A' && c <= 'F')
			value |= (unsigned int) (c - 'A' + 10);
		else
			return false;
	}
	*out = value;
	return true;
}

/*
 * scan_string
 *	  Check the JSON string starting with the quote at s[*pos].  On success
 *	  advance *pos past the closing quote and return true.  Sets *found_nul
 *	  when an escape decodes to U+0000.
 *
 * Beyond RFC 8259 this rejects \u escapes that are not valid Unicode (a
 * lone or reversed surrogate), exactly as cJSON does.  Raw control
 * characters are rejected as RFC 8259 says (cJSON would take them), and so
 * is a raw byte that does not begin a well-formed UTF-8 sequence.
 */
static bool
scan_string(const unsigned char *s, size_t len, size_t *pos, bool *found_nul)
{
	size_t		i = *pos + 1;

	while (i < len)
	{
		unsigned char c = s[i];
		unsigned int code;
		unsigned int low;

		if (c == '"')
		{
			*pos = i + 1;
			return true;
		}
		if (c < 0x20)
			return false;
		if (c >= 0x80)
		{
			size_t		n = utf8_sequence(s, len, i);

			if (n == 0)
				return false;
			i += n;
			continue;
		}
		if (c != '\\')
		{
			i++;
			continue;
		}
		if (len - i < 2)
			return false;
		switch (s[i + 1])
		{
			case '"':
			case '\\':
			case '/':
			case 'b':
			case 'f':
			case 'n':
			case 'r':
			case 't':
				i += 2;
				break;
			case 'u':
				if (!read_hex4(s, len, i + 2, &code))
					return false;
				if (code >= 0xDC00 && code <= 0xDFFF)
					return false;
				if (code >= 0xD800 && code <= 0xDBFF)
				{
					if (len - i < 12 || s[i + 6] != '\\' || s[i + 7] != 'u')
						return false;
					if (!read_hex4(s, len, i + 8, &low) ||
						low < 0xDC00 || low > 0xDFFF)
						return false;
					i += 12;
				}
				else
				{
					if (code == 0)
						*found_nul = true;
					i += 6;
				}
				break;
			default:
				return false;
		}
	}
	return false;
}

/*
 * scan_number
 *	  Check the JSON number starting at s[*pos] against the RFC 8259
 *	  grammar and advance *pos past it.  Returns NULL on success, else the
 *	  error message.  Numbers longer than cJSON can read are refused.
 */
static const char *
scan_number(const unsigned char *s, size_t len, size_t *pos)
{
	size_t		start = *pos;
	size_t		i = start;

	if (i < len && s[i] == '-')
		i++;
	if (i < len && s[i] == '0')
		i++;
	else if (i < len && s[i] >= '1' && s[i] <= '9')
	{
		while (i < len && s[i] >= '0' && s[i] <= '9')
			i++;
	}
	else
		return "the body is not valid JSON";

	if (i < len && s[i] == '.')
	{
		i++;
		if (i >= len || s[i] < '0' || s[i] > '9')
			return "the body is not valid JSON";
		while (i < len && s[i] >= '0' && s[i] <= '9')
			i++;
	}
	if (i < len && (s[i] == 'e' || s[i] == 'E'))
	{
		i++;
		if (i < len && (s[i] == '+' || s[i] == '-'))
			i++;
		if (i >= len || s[i] < '0' || s[i] > '9')
			return "the body is not valid JSON";
		while (i < len && s[i] >= '0' && s[i] <= '9')
			i++;
	}
	if (i - start > ZCRM_MAX_NUMBER_CHARS)
		return "the body holds a number written with too many characters";
	*pos = i;
	return NULL;
}

/* True when s[pos..] starts with the literal "word". */
static bool
scan_literal(const unsigned char *s, size_t len, size_t *pos, const char *word)
{
	size_t		n = strlen(word);

	if (len - *pos < n || memcmp(s + *pos, word, n) != 0)
		return false;
	*pos += n;
	return true;
}

/*
 * scan_failed
 *	  Report why zcrm_json_scan() stopped, unless the body is not UTF-8
 *	  at all: that is reported first, wherever in the body it is, as it was
 *	  when UTF-8 was checked in a pass of its own before the grammar.
 */
static ZcrmParseStatus
scan_failed(const unsigned char *s, size_t len, ZcrmParseError *err,
			ZcrmParseStatus status, const char *why)
{
	if (!utf8_valid(s, len))
		return zcrm_json_set_error(err, ZCRM_PARSE_NOT_JSON, NULL,
								   "the body is not valid UTF-8");
	return zcrm_json_set_error(err, status, NULL, why);
}

/*
 * zcrm_json_scan
 *	  Stage 1: decide whether body[0..len) is a JSON text this module will
 *	  hand to cJSON.  Returns ZCRM_PARSE_OK, ZCRM_PARSE_NOT_JSON (empty,
 *	  bad UTF-8, bad grammar, too deep, trailing text) or
 *	  ZCRM_PARSE_NUL_CHAR (valid JSON, but a string holds \u0000), with
 *	  *err filled on failure; ZCRM_PARSE_TOO_MANY_VALUES as soon as the
 *	  body has more values than limits.max_values, ZCRM_PARSE_INTERRUPTED
 *	  when the caller's interrupt check says stop.
 *
 * The walk is a loop over a small state machine; the kind of each open
 * container lives in a bit array sized by cJSON's nesting limit, so no
 * recursion and no allocation is involved.
 */
ZcrmParseStatus
zcrm_json_scan(const char *body, size_t len, ZcrmParseError *err)
{
	const unsigned char *s = (const unsigned char *) body;
	unsigned char is_object[(CJSON_NESTING_LIMIT + 7) / 8] = {0};
	size_t		depth = 0;
	size_t		pos;
	size_t		nvalues = 0;
	bool		found_nul = false;
	const char *why = "the body is not valid JSON";
	enum
	{
		WANT_VALUE,
		WANT_KEY,
		AFTER_VALUE
	}			state = WANT_VALUE;

	if (body == NULL || zcrm_json_skip_space(s, len, 0) == len)
		return zcrm_json_set_error(err, ZCRM_PARSE_NOT_JSON, NULL,
								   "the body is empty");
	pos = zcrm_json_skip_space(s, len, 0);
	for (;;)
	{
		if (state == AFTER_VALUE)
		{
			bool		in_object;

			pos = zcrm_json_skip_space(s, len, pos);
			if (depth == 0)
			{
				if (pos != len)
				{
					why = "the body has text after the JSON value";
					goto bad;
				}
				break;
			}
			if (pos >= len)
				goto bad;
			in_object = (is_object[(depth - 1) / 8] >> ((depth - 1) % 8)) & 1;
			if (s[pos] == ',')
			{
				pos = zcrm_json_skip_space(s, len, pos + 1);
				state = in_object ? WANT_KEY : WANT_VALUE;
			}
			else if (s[pos] == (in_object ? '}' : ']'))
			{
				depth--;
				pos++;
			}
			else
				goto bad;
		}
		else if (state == WANT_KEY)
		{
			if (pos >= len || s[pos] != '"' ||
				!scan_string(s, len, &pos, &found_nul))
				goto bad;
			pos = zcrm_json_skip_space(s, len, pos);
			if (pos >= len || s[pos] != ':')
				goto bad;
			pos = zcrm_json_skip_space(s, len, pos + 1);
			state = WANT_VALUE;
		}
		else
		{
			unsigned char c;

			if (pos >= len)
				goto bad;
			if (++nvalues > limits.max_values && limits.max_values > 0)
				return scan_failed(s, len, err, ZCRM_PARSE_TOO_MANY_VALUES,
								   "the body holds more JSON values than the limit allows");

			/*
			 * Not through scan_failed(): a whole-body pass here would delay
			 * the interrupt.  The caller services it and, when it returns,
			 * scans again, which reports bad UTF-8 as before.
			 */
			if (zcrm_json_poll_interrupt(nvalues))
				return zcrm_json_set_error(err, ZCRM_PARSE_INTERRUPTED, NULL,
										   "interrupted");
			c = s[pos];
			if (c == '{' || c == '[')
			{
				unsigned char bit = (unsigned char) (1u << (depth % 8));

				if (depth >= CJSON_NESTING_LIMIT)
				{
					why = "the body is nested too deeply";
					goto bad;
				}
				if (c == '{')
					is_object[depth / 8] |= bit;
				else
					is_object[depth / 8] &= (unsigned char) ~bit;
				depth++;
				pos = zcrm_json_skip_space(s, len, pos + 1);
				if (pos < len && s[pos] == (c == '{' ? '}' : ']'))
				{
					depth--;
					pos++;
					state = AFTER_VALUE;
				}
				else
					state = (c == '{') ? WANT_KEY : WANT_VALUE;
			}
			else if (c == '"')
			{
				if (!scan_string(s, len, &pos, &found_nul))
					goto bad;
				state = AFTER_VALUE;
			}
			else if (c == '-' || (c >= '0' && c <= '9'))
			{
				why = scan_number(s, len, &pos);
				if (why != NULL)
					goto bad;
				why = "the body is not valid JSON";
				state = AFTER_VALUE;
			}
			else if (scan_literal(s, len, &pos, "true") ||
					 scan_literal(s, len, &pos, "false") ||
					 scan_literal(s, len, &pos, "null"))
				state = AFTER_VALUE;
			else
				goto bad;
		}
	}

	if (found_nul)
		return zcrm_json_set_error(err, ZCRM_PARSE_NUL_CHAR, NULL,
								   "a string holds \\u0000, which text cannot store");
	return ZCRM_PARSE_OK;

bad:
	return scan_failed(s, len, err, ZCRM_PARSE_NOT_JSON, why);
}

/*
 * zcrm_json_nth_number
 *	  See json.h.  Outside strings, a token that starts with '-' or a digit
 *	  is a number (the literals hold no digits), so skipping strings is all
 *	  the grammar needed in a body the scan has accepted.
 */
bool
zcrm_json_nth_number(const char *body, size_t len, size_t n, size_t *start,
					 size_t *end)
{
	const unsigned char *s = (const unsigned char *) body;
	size_t		seen = 0;
	size_t		i = 0;

	while (i < len)
	{
		if (s[i] == '"')
		{
			for (i++; i < len && s[i] != '"'; i++)
			{
				if (s[i] == '\\')
					i++;
			}
			i++;
		}
		else if (s[i] == '-' || (s[i] >= '0' && s[i] <= '9'))
		{
			size_t		j = i;

			while (j < len && (s[j] == '-' || s[j] == '+' || s[j] == '.' ||
							   s[j] == 'e' || s[j] == 'E' ||
							   (s[j] >= '0' && s[j] <= '9')))
				j++;
			if (seen++ == n)
			{
				*start = i;
				*end = j;
				return true;
			}
			i = j;
		}
		else
			i++;
	}
	return false;
}
