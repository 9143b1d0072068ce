/*-------------------------------------------------------------------------
 *
 * csv.c
 *	  An append-only CSV writer with a hard memory cap.
 *
 * Used by the 2.1 write functions (issue 11); no SQL function calls it
 * yet.  See csv.h for the contract.
 *
 * The file is one buffer: bytes [0, committed) are complete rows, bytes
 * [committed, used) the row being written.  Rolling a row back is setting
 * used back to committed.  Each field is checked (UTF-8, NUL) and sized in
 * one pass before a byte of it is written, so that a refused field never
 * leaves half of itself behind, and the buffer is grown once per field.
 *
 * Copyright (c) 2026, zcrm_bulk developers
 *
 * IDENTIFICATION
 *	  src/csv.c
 *
 *-------------------------------------------------------------------------
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "csv.h"

/* First allocation of the buffer (less when the cap is smaller). */
#define CSV_INITIAL_ALLOC	4096

struct ZcrmCsv
{
	char	   *buf;
	size_t		alloc;			/* bytes allocated at buf, <= cap */
	size_t		cap;			/* hard limit on alloc */
	size_t		used;			/* bytes written, open row included */
	size_t		committed;		/* bytes of the complete rows */
	size_t		header_len;		/* bytes of the header row, 0 if none */
	size_t		rows;			/* complete data rows */
	size_t		row_fields;		/* fields of the open row so far */
	bool		row_open;
	bool		row_is_header;
};

ZcrmCsv *
zcrm_csv_create(size_t cap)
{
	ZcrmCsv    *csv;

	if (cap == 0)
		return NULL;
	csv = calloc(1, sizeof(ZcrmCsv));
	if (csv == NULL)
		return NULL;
	csv->cap = cap;
	return csv;
}

void
zcrm_csv_free(ZcrmCsv *csv)
{
	if (csv == NULL)
		return;
	free(csv->buf);
	free(csv);
}

/*
 * csv_reserve
 *	  Make room for "extra" more bytes after csv->used.  FULL when that
 *	  would pass the cap (checked without overflow), NO_MEMORY when realloc
 *	  fails (the buffer is then unchanged).
 */
static ZcrmCsvStatus
csv_reserve(ZcrmCsv *csv, size_t extra)
{
	size_t		need;
	size_t		newalloc;
	char	   *p;

	if (extra > csv->cap - csv->used)
		return ZCRM_CSV_FULL;
	need = csv->used + extra;
	if (need <= csv->alloc)
		return ZCRM_CSV_OK;

	newalloc = csv->alloc > 0 ? csv->alloc : CSV_INITIAL_ALLOC;
	while (newalloc < need)
	{
		if (newalloc > SIZE_MAX / 2)
		{
			newalloc = need;
			break;
		}
		newalloc *= 2;
	}
	if (newalloc > csv->cap)
		newalloc = csv->cap;

	p = realloc(csv->buf, newalloc);
	if (p == NULL)
		return ZCRM_CSV_NO_MEMORY;
	csv->buf = p;
	csv->alloc = newalloc;
	return ZCRM_CSV_OK;
}

/*
 * utf8_sequence_length
 *	  The length of the valid UTF-8 sequence at s[0..n), or 0 when it is not
 *	  one: no overlong forms, no surrogates, nothing above U+10FFFF.
 */
static size_t
utf8_sequence_length(const unsigned char *s, size_t n)
{
	unsigned char c = s[0];

	if (c < 0x80)
		return 1;
	if (c >= 0xC2 && c <= 0xDF)
		return (n >= 2 && (s[1] & 0xC0) == 0x80) ? 2 : 0;
	if (c >= 0xE0 && c <= 0xEF)
	{
		if (n < 3 || (s[1] & 0xC0) != 0x80 || (s[2] & 0xC0) != 0x80)
			return 0;
		if (c == 0xE0 && s[1] < 0xA0)
			return 0;			/* overlong */
		if (c == 0xED && s[1] >= 0xA0)
			return 0;			/* UTF-16 surrogate */
		return 3;
	}
	if (c >= 0xF0 && c <= 0xF4)
	{
		if (n < 4 || (s[1] & 0xC0) != 0x80 || (s[2] & 0xC0) != 0x80 ||
			(s[3] & 0xC0) != 0x80)
			return 0;
		if (c == 0xF0 && s[1] < 0x90)
			return 0;			/* overlong */
		if (c == 0xF4 && s[1] >= 0x90)
			return 0;			/* above U+10FFFF */
		return 4;
	}
	return 0;					/* continuation byte, C0, C1, F5..FF */
}

/*
 * field_scan
 *	  Check one field and compute how it is written: *quote says whether it
 *	  needs double quotes, *size the bytes it takes (quotes and doubled
 *	  quotes included, the comma before it not).  Returns OK, BAD_UTF8 or
 *	  NUL; never overflows (a field that would take more than SIZE_MAX
 *	  bytes is reported FULL).
 */
static ZcrmCsvStatus
field_scan(const char *data, size_t len, bool *quote, size_t *size)
{
	const unsigned char *s = (const unsigned char *) data;
	size_t		quotes = 0;
	bool		q = false;
	size_t		i = 0;

	if (len > 0 && data == NULL)
		return ZCRM_CSV_MISUSE;
	while (i < len)
	{
		unsigned char c = s[i];
		size_t		n;

		if (c == '\0')
			return ZCRM_CSV_NUL;
		if (c == '"')
		{
			quotes++;
			q = true;
		}
		else if (c == ',' || c == '\r' || c == '\n')
			q = true;
		n = utf8_sequence_length(s + i, len - i);
		if (n == 0)
			return ZCRM_CSV_BAD_UTF8;
		i += n;
	}
	if (len > 0 && (s[0] == ' ' || s[0] == '\t' ||
					s[len - 1] == ' ' || s[len - 1] == '\t'))
		q = true;

	/* len + quotes + 2 without overflow */
	if (quotes > SIZE_MAX - len || len + quotes > SIZE_MAX - 2)
		return ZCRM_CSV_FULL;
	*quote = q;
	*size = len + (q ? quotes + 2 : 0);
	return ZCRM_CSV_OK;
}

void
zcrm_csv_rollback_row(ZcrmCsv *csv)
{
	if (csv == NULL)
		return;
	csv->used = csv->committed;
	csv->row_open = false;
	csv->row_is_header = false;
	csv->row_fields = 0;
}

ZcrmCsvStatus
zcrm_csv_begin_row(ZcrmCsv *csv, bool header)
{
	if (csv == NULL || csv->row_open)
		return ZCRM_CSV_MISUSE;
	if (header && csv->committed > 0)
		return ZCRM_CSV_MISUSE;
	csv->row_open = true;
	csv->row_is_header = header;
	csv->row_fields = 0;
	return ZCRM_CSV_OK;
}

ZcrmCsvStatus
zcrm_csv_field(ZcrmCsv *csv, const char *data, size_t len)
{
	ZcrmCsvStatus st;
	bool		quote;
	size_t		size;
	size_t		comma;
	char	   *out;

	if (csv == NULL || !csv->row_open)
		return ZCRM_CSV_MISUSE;
	st = field_scan(data, len, &quote, &size);
	comma = csv->row_fields > 0 ? 1 : 0;
	if (st == ZCRM_CSV_OK && size > SIZE_MAX - comma)
		st = ZCRM_CSV_FULL;
	if (st == ZCRM_CSV_OK)
		st = csv_reserve(csv, size + comma);
	if (st != ZCRM_CSV_OK)
	{
		zcrm_csv_rollback_row(csv);
		return st;
	}

	out = csv->buf + csv->used;
	if (comma)
		*out++ = ',';
	if (!quote)
	{
		if (len > 0)
			memcpy(out, data, len);
		out += len;
	}
	else
	{
		*out++ = '"';
		for (size_t i = 0; i < len; i++)
		{
			if (data[i] == '"')
				*out++ = '"';
			*out++ = data[i];
		}
		*out++ = '"';
	}
	csv->used = (size_t) (out - csv->buf);
	csv->row_fields++;
	return ZCRM_CSV_OK;
}

ZcrmCsvStatus
zcrm_csv_end_row(ZcrmCsv *csv)
{
	ZcrmCsvStatus st;

	if (csv == NULL || !csv->row_open)
		return ZCRM_CSV_MISUSE;
	st = csv_reserve(csv, 2);
	if (st != ZCRM_CSV_OK)
	{
		zcrm_csv_rollback_row(csv);
		return st;
	}
	csv->buf[csv->used++] = '\r';
	csv->buf[csv->used++] = '\n';
	csv->committed = csv->used;
	if (csv->row_is_header)
		csv->header_len = csv->committed;
	else
		csv->rows++;
	csv->row_open = false;
	csv->row_is_header = false;
	csv->row_fields = 0;
	return ZCRM_CSV_OK;
}

ZcrmCsvStatus
zcrm_csv_write_row(ZcrmCsv *csv, bool header, const char *const *fields,
				   const size_t *lens, size_t nfields)
{
	ZcrmCsvStatus st;

	if (nfields > 0 && (fields == NULL || lens == NULL))
		return ZCRM_CSV_MISUSE;
	st = zcrm_csv_begin_row(csv, header);
	if (st != ZCRM_CSV_OK)
		return st;
	for (size_t i = 0; i < nfields; i++)
	{
		st = zcrm_csv_field(csv, fields[i], lens[i]);
		if (st != ZCRM_CSV_OK)
		{
			zcrm_csv_rollback_row(csv); /* MISUSE does not roll back */
			return st;
		}
	}
	return zcrm_csv_end_row(csv);
}

ZcrmCsvStatus
zcrm_csv_row_size(const char *const *fields, const size_t *lens,
				  size_t nfields, size_t *size)
{
	size_t		total = 2;		/* CRLF */

	if (size == NULL || (nfields > 0 && (fields == NULL || lens == NULL)))
		return ZCRM_CSV_MISUSE;
	for (size_t i = 0; i < nfields; i++)
	{
		ZcrmCsvStatus st;
		bool		quote;
		size_t		fsize;

		st = field_scan(fields[i], lens[i], &quote, &fsize);
		if (st != ZCRM_CSV_OK)
			return st;
		if (i > 0 && fsize == SIZE_MAX)
			return ZCRM_CSV_FULL;
		if (i > 0)
			fsize++;			/* the comma */
		if (fsize > SIZE_MAX - total)
			return ZCRM_CSV_FULL;
		total += fsize;
	}
	*size = total;
	return ZCRM_CSV_OK;
}

bool
zcrm_csv_fits(const ZcrmCsv *csv, size_t size)
{
	return csv != NULL && size <= csv->cap - csv->committed;
}

void
zcrm_csv_reset(ZcrmCsv *csv)
{
	if (csv == NULL)
		return;
	csv->committed = csv->header_len;
	csv->rows = 0;
	zcrm_csv_rollback_row(csv);
}

size_t
zcrm_csv_rows(const ZcrmCsv *csv)
{
	return csv != NULL ? csv->rows : 0;
}

size_t
zcrm_csv_len(const ZcrmCsv *csv)
{
	return csv != NULL ? csv->committed : 0;
}

size_t
zcrm_csv_header_len(const ZcrmCsv *csv)
{
	return csv != NULL ? csv->header_len : 0;
}

size_t
zcrm_csv_allocated(const ZcrmCsv *csv)
{
	return csv != NULL ? csv->alloc : 0;
}

const char *
zcrm_csv_data(const ZcrmCsv *csv)
{
	return csv != NULL ? csv->buf : NULL;
}

const char *
zcrm_csv_status_message(ZcrmCsvStatus status)
{
	switch (status)
	{
		case ZCRM_CSV_OK:
			return "no error";
		case ZCRM_CSV_FULL:
			return "the row does not fit in the CSV file's size limit";
		case ZCRM_CSV_BAD_UTF8:
			return "a field is not valid UTF-8";
		case ZCRM_CSV_NUL:
			return "a field contains a NUL byte";
		case ZCRM_CSV_NO_MEMORY:
			return "out of memory";
		case ZCRM_CSV_MISUSE:
			return "CSV writer called out of order";
	}
	return "unknown CSV error";
}
