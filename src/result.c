/*-------------------------------------------------------------------------
 *
 * result.c
 *	  Read the CSV result file of a Zoho CRM Bulk Write job; turn its ERRORS
 *	  text into JSON.
 *
 * See result.h for the format.  The reader makes one pass: the bytes are
 * checked to be UTF-8 without NUL first, then split into records and
 * fields.  Every field is copied, unquoted, into one text buffer that can
 * never outgrow the input (each field takes at most the bytes it came from
 * plus its NUL, and a field ends at a byte that is not copied), and is
 * found through a 32-bit offset; a row is its first field and its field
 * count.  The header's fields come first.  Offset 0 is an empty string,
 * the value of a field a short row lacks.
 *
 * Copyright (c) 2026, zcrm_bulk developers
 *
 * IDENTIFICATION
 *	  src/result.c
 *
 *-------------------------------------------------------------------------
 */
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "match.h"
#include "result.h"

/* How often (in input bytes) limits->interrupted() is asked. */
#define ZCRM_RESULT_CHECK_EVERY	65536

typedef struct ZcrmResultRow
{
	uint32_t	first;			/* index of its first field in cells[] */
	uint32_t	nfields;		/* fields present, at most ncols */
} ZcrmResultRow;

struct ZcrmResultFile
{
	char	   *strings;		/* all fields, NUL-terminated, "" first */
	uint32_t   *cells;			/* offsets into strings: header, then rows */
	size_t		ncells;
	size_t		cellcap;
	ZcrmResultRow *rows;
	size_t		nrows;
	size_t		rowcap;
	size_t		ncols;			/* the header's fields, cells[0 .. ncols) */
	long		status_col;
	long		record_col;
	long		errors_col;
	size_t		ragged;
};

/* The reader's state while it runs. */
typedef struct ZcrmResultReader
{
	const unsigned char *data;
	size_t		len;
	size_t		pos;
	size_t		tpos;			/* next free byte of f->text */
	size_t		next_check;		/* pos at which to ask interrupted() */
	const ZcrmResultLimits *limits;
	ZcrmResultFile *f;
	ZcrmResultError *err;
} ZcrmResultReader;

static const char *const status_messages[] = {
	"success",
	"out of memory",
	"result file too large",
	"too many rows in the result file",
	"too many columns in the result file",
	"result file is not valid UTF-8",
	"result file is not valid CSV",
	"result file lacks a column",
	"result file has a column twice",
	"interrupted"
};

/*
 * zcrm_result_status_message
 *	  See result.h.
 */
const char *
zcrm_result_status_message(ZcrmResultStatus status)
{
	if ((int) status < 0 ||
		(size_t) status >= sizeof(status_messages) / sizeof(status_messages[0]))
		return "unknown status";
	return status_messages[status];
}

/*
 * line_at
 *	  The 1-based physical line of byte "pos" (CRLF, LF and CR end a line).
 */
static size_t
line_at(const unsigned char *data, size_t pos)
{
	size_t		line = 1;

	for (size_t i = 0; i < pos; i++)
	{
		if (data[i] == '\n' || (data[i] == '\r' && (i + 1 >= pos || data[i + 1] != '\n')))
			line++;
	}
	return line;
}

/*
 * fail
 *	  Set *err (when not NULL) and return its status.  "at" is the byte the
 *	  failure was found at, or (size_t) -1 for none.
 */
static ZcrmResultStatus fail(ZcrmResultReader *r, ZcrmResultStatus status,
							 size_t at, const char *fmt,...)
			__attribute__((format(printf, 4, 5)));

static ZcrmResultStatus
fail(ZcrmResultReader *r, ZcrmResultStatus status, size_t at, const char *fmt,...)
{
	va_list		ap;

	if (r->err == NULL)
		return status;
	r->err->status = status;
	r->err->line = (at == (size_t) -1) ? 0 : line_at(r->data, at);
	va_start(ap, fmt);
	vsnprintf(r->err->message, sizeof(r->err->message), fmt, ap);
	va_end(ap);
	/* a quoted header name may hold anything: keep the message ASCII */
	for (char *p = r->err->message; *p; p++)
	{
		if ((unsigned char) *p < 0x20 || (unsigned char) *p > 0x7E)
			*p = '?';
	}
	return status;
}

/*
 * stop_requested
 *	  Ask limits->interrupted() once every ZCRM_RESULT_CHECK_EVERY bytes.
 */
static bool
stop_requested(ZcrmResultReader *r)
{
	if (r->limits->interrupted == NULL || r->pos < r->next_check)
		return false;
	r->next_check = r->pos + ZCRM_RESULT_CHECK_EVERY;
	return r->limits->interrupted();
}

/*
 * check_utf8
 *	  OK when data[from .. len) is UTF-8 (no overlong forms, surrogates or
 *	  code points past U+10FFFF) without a NUL byte.
 */
static ZcrmResultStatus
check_utf8(ZcrmResultReader *r, size_t from)
{
	const unsigned char *s = r->data;
	size_t		len = r->len;
	size_t		i = from;

	while (i < len)
	{
		unsigned char c = s[i];
		size_t		n;
		uint32_t	cp;
		uint32_t	min;

		if (c >= 0x01 && c < 0x80)
		{
			i++;
			continue;
		}
		if (c == 0)
			return fail(r, ZCRM_RESULT_BAD_UTF8, i, "result file holds a NUL byte");
		if (c >= 0xC2 && c <= 0xDF)
			n = 2, cp = c & 0x1F, min = 0x80;
		else if (c >= 0xE0 && c <= 0xEF)
			n = 3, cp = c & 0x0F, min = 0x800;
		else if (c >= 0xF0 && c <= 0xF4)
			n = 4, cp = c & 0x07, min = 0x10000;
		else
			return fail(r, ZCRM_RESULT_BAD_UTF8, i, "result file holds an invalid UTF-8 byte 0x%02x", c);
		if (len - i < n)
			return fail(r, ZCRM_RESULT_BAD_UTF8, i, "result file ends inside a UTF-8 sequence");
		for (size_t k = 1; k < n; k++)
		{
			if ((s[i + k] & 0xC0) != 0x80)
				return fail(r, ZCRM_RESULT_BAD_UTF8, i, "result file holds an invalid UTF-8 sequence");
			cp = (cp << 6) | (s[i + k] & 0x3F);
		}
		if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
			return fail(r, ZCRM_RESULT_BAD_UTF8, i, "result file holds an invalid UTF-8 sequence");
		i += n;
	}
	return ZCRM_RESULT_OK;
}

/*
 * make_room
 *	  Make the array *data of *cap elements of "size" bytes hold at least
 *	  "used" + 1 of them, doubling it (from 64); false when realloc fails,
 *	  the array then unchanged.
 */
static bool
make_room(void **data, size_t *cap, size_t used, size_t size)
{
	size_t		newcap;
	void	   *p;

	if (used < *cap)
		return true;
	newcap = *cap ? *cap * 2 : 64;
	p = realloc(*data, newcap * size);
	if (p == NULL)
		return false;
	*data = p;
	*cap = newcap;
	return true;
}

/*
 * add_cell
 *	  Append the offset of a field to f->cells.
 */
static ZcrmResultStatus
add_cell(ZcrmResultReader *r, size_t offset)
{
	ZcrmResultFile *f = r->f;

	if (!make_room((void **) &f->cells, &f->cellcap, f->ncells, sizeof(uint32_t)))
		return fail(r, ZCRM_RESULT_NO_MEMORY, (size_t) -1, "out of memory");
	f->cells[f->ncells++] = (uint32_t) offset;
	return ZCRM_RESULT_OK;
}

/*
 * read_field
 *	  Copy the field at r->pos into the text buffer and record it; r->pos
 *	  is left on the byte after it (a comma, CR, LF or the end).
 */
static ZcrmResultStatus
read_field(ZcrmResultReader *r)
{
	const unsigned char *s = r->data;
	char	   *out = r->f->strings;
	size_t		start = r->tpos;

	if (r->pos < r->len && s[r->pos] == '"')
	{
		size_t		open = r->pos;

		r->pos++;
		for (;;)
		{
			if (r->pos >= r->len)
				return fail(r, ZCRM_RESULT_BAD_CSV, open,
							"quoted field never ends");
			if (s[r->pos] == '"')
			{
				if (r->pos + 1 < r->len && s[r->pos + 1] == '"')
				{
					out[r->tpos++] = '"';
					r->pos += 2;
					continue;
				}
				r->pos++;
				break;
			}
			out[r->tpos++] = (char) s[r->pos++];
		}
		if (r->pos < r->len && s[r->pos] != ',' && s[r->pos] != '\r' && s[r->pos] != '\n')
			return fail(r, ZCRM_RESULT_BAD_CSV, r->pos,
						"character after the closing quote of a field");
	}
	else
	{
		while (r->pos < r->len && s[r->pos] != ',' && s[r->pos] != '\r' && s[r->pos] != '\n')
			out[r->tpos++] = (char) s[r->pos++];
	}
	out[r->tpos++] = '\0';
	return add_cell(r, start);
}

/*
 * read_record
 *	  Read one record's fields at r->pos and its line end; *nfields is how
 *	  many it had, *blank whether it was an empty line.
 */
static ZcrmResultStatus
read_record(ZcrmResultReader *r, size_t *nfields, bool *blank)
{
	const unsigned char *s = r->data;
	ZcrmResultStatus st;

	*blank = (s[r->pos] == '\r' || s[r->pos] == '\n');
	*nfields = 0;
	for (;;)
	{
		if ((st = read_field(r)) != ZCRM_RESULT_OK)
			return st;
		(*nfields)++;
		if (r->pos < r->len && s[r->pos] == ',')
		{
			r->pos++;
			continue;
		}
		break;
	}
	if (r->pos < r->len && s[r->pos] == '\r')
	{
		r->pos++;
		if (r->pos < r->len && s[r->pos] == '\n')
			r->pos++;
	}
	else if (r->pos < r->len && s[r->pos] == '\n')
		r->pos++;
	return ZCRM_RESULT_OK;
}

/*
 * find_columns
 *	  Check the header (no name twice) and find STATUS, RECORD_ID, ERRORS.
 */
static ZcrmResultStatus
find_columns(ZcrmResultReader *r)
{
	ZcrmResultFile *f = r->f;
	static const char *const wanted[] = {"STATUS", "RECORD_ID", "ERRORS"};
	long	   *slots[] = {&f->status_col, &f->record_col, &f->errors_col};

	for (size_t c = 0; c < f->ncols; c++)
	{
		const char *name = f->strings + f->cells[c];

		for (size_t d = 0; d < c; d++)
		{
			if (strcmp(name, f->strings + f->cells[d]) == 0)
				return fail(r, ZCRM_RESULT_DUPLICATE_COLUMN, (size_t) -1,
							"the header names column \"%.64s\" twice", name);
		}
	}
	for (int w = 0; w < 3; w++)
	{
		*slots[w] = zcrm_result_find_column(f, wanted[w]);
		if (*slots[w] < 0)
			return fail(r, ZCRM_RESULT_MISSING_COLUMN, (size_t) -1,
						"the header has no %s column", wanted[w]);
	}
	return ZCRM_RESULT_OK;
}

/*
 * add_row
 *	  Record the data row whose "n" fields start at cell "first": at most
 *	  ncols of them are kept, and a row with another count is ragged.
 */
static ZcrmResultStatus
add_row(ZcrmResultReader *r, size_t first, size_t n, size_t at)
{
	ZcrmResultFile *f = r->f;

	if (f->nrows >= r->limits->max_rows)
		return fail(r, ZCRM_RESULT_TOO_MANY_ROWS, at,
					"result file has more than %zu rows", r->limits->max_rows);
	if (!make_room((void **) &f->rows, &f->rowcap, f->nrows, sizeof(ZcrmResultRow)))
		return fail(r, ZCRM_RESULT_NO_MEMORY, (size_t) -1, "out of memory");
	if (n != f->ncols)
		f->ragged++;
	if (n > f->ncols)
	{
		f->ncells = first + f->ncols;
		n = f->ncols;
	}
	f->rows[f->nrows].first = (uint32_t) first;
	f->rows[f->nrows].nfields = (uint32_t) n;
	f->nrows++;
	return ZCRM_RESULT_OK;
}

/*
 * read_all
 *	  The body of zcrm_result_read() once r and r->f are set up.
 */
static ZcrmResultStatus
read_all(ZcrmResultReader *r)
{
	ZcrmResultStatus st;
	bool		have_header = false;

	if (r->len >= 3 && memcmp(r->data, "\xEF\xBB\xBF", 3) == 0)
		r->pos = 3;
	if ((st = check_utf8(r, r->pos)) != ZCRM_RESULT_OK)
		return st;

	while (r->pos < r->len)
	{
		size_t		first = r->f->ncells;
		size_t		at = r->pos;
		size_t		n;
		bool		blank;

		if (stop_requested(r))
			return fail(r, ZCRM_RESULT_INTERRUPTED, (size_t) -1, "interrupted");
		if ((st = read_record(r, &n, &blank)) != ZCRM_RESULT_OK)
			return st;
		if (blank && n == 1)
		{
			r->f->ncells = first;	/* an empty line */
			r->tpos--;
			continue;
		}
		if (!have_header)
		{
			if (n > ZCRM_RESULT_MAX_COLUMNS)
				return fail(r, ZCRM_RESULT_TOO_MANY_COLUMNS, at,
							"the header has more than %d columns", ZCRM_RESULT_MAX_COLUMNS);
			r->f->ncols = n;
			have_header = true;
			if ((st = find_columns(r)) != ZCRM_RESULT_OK)
				return st;
			continue;
		}
		if ((st = add_row(r, first, n, at)) != ZCRM_RESULT_OK)
			return st;
	}
	if (!have_header)
		return fail(r, ZCRM_RESULT_BAD_CSV, (size_t) -1, "result file has no header row");
	return ZCRM_RESULT_OK;
}

/*
 * zcrm_result_read
 *	  See result.h.
 */
ZcrmResultStatus
zcrm_result_read(const char *data, size_t len, const ZcrmResultLimits *limits,
				 ZcrmResultFile **out, ZcrmResultError *err)
{
	ZcrmResultReader r;
	ZcrmResultStatus st;

	memset(&r, 0, sizeof(r));
	r.data = (const unsigned char *) data;
	r.len = len;
	r.limits = limits;
	r.err = err;
	r.next_check = ZCRM_RESULT_CHECK_EVERY;
	if (err)
	{
		err->status = ZCRM_RESULT_OK;
		err->line = 0;
		err->message[0] = '\0';
	}
	if (out == NULL)
		return ZCRM_RESULT_NO_MEMORY;	/* nowhere to put it: misuse */
	*out = NULL;
	if (limits == NULL || (data == NULL && len > 0))
		return fail(&r, ZCRM_RESULT_BAD_CSV, (size_t) -1, "no data or no limits given");
	if (len > limits->max_bytes || len > ZCRM_RESULT_MAX_BYTES)
		return fail(&r, ZCRM_RESULT_TOO_LARGE, (size_t) -1,
					"result file has %zu bytes, more than %zu", len,
					len > limits->max_bytes ? limits->max_bytes : ZCRM_RESULT_MAX_BYTES);

	r.f = calloc(1, sizeof(ZcrmResultFile));
	if (r.f == NULL)
		return fail(&r, ZCRM_RESULT_NO_MEMORY, (size_t) -1, "out of memory");
	/* each field takes at most its bytes and one separator: len + "" + 1 */
	r.f->strings = malloc(len + 2);
	if (r.f->strings == NULL)
	{
		free(r.f);
		return fail(&r, ZCRM_RESULT_NO_MEMORY, (size_t) -1, "out of memory");
	}
	r.f->strings[0] = '\0';
	r.tpos = 1;

	st = read_all(&r);
	if (st != ZCRM_RESULT_OK)
	{
		zcrm_result_free(r.f);
		return st;
	}
	*out = r.f;
	return ZCRM_RESULT_OK;
}

/*
 * zcrm_result_free
 *	  See result.h.
 */
void
zcrm_result_free(ZcrmResultFile *f)
{
	if (f == NULL)
		return;
	free(f->strings);
	free(f->cells);
	free(f->rows);
	free(f);
}

size_t
zcrm_result_nrows(const ZcrmResultFile *f)
{
	return f->nrows;
}

size_t
zcrm_result_ragged(const ZcrmResultFile *f)
{
	return f->ragged;
}

size_t
zcrm_result_ncolumns(const ZcrmResultFile *f)
{
	return f->ncols;
}

const char *
zcrm_result_column(const ZcrmResultFile *f, size_t col)
{
	return col < f->ncols ? f->strings + f->cells[col] : NULL;
}

long
zcrm_result_find_column(const ZcrmResultFile *f, const char *name)
{
	for (size_t c = 0; c < f->ncols; c++)
	{
		if (strcmp(f->strings + f->cells[c], name) == 0)
			return (long) c;
	}
	return -1;
}

bool
zcrm_result_is_echo(const ZcrmResultFile *f, size_t col)
{
	long		c = (long) col;

	return col < f->ncols && c != f->status_col && c != f->record_col &&
		c != f->errors_col;
}

const char *
zcrm_result_value(const ZcrmResultFile *f, size_t row, size_t col)
{
	const ZcrmResultRow *r;

	if (row >= f->nrows || col >= f->ncols)
		return NULL;
	r = &f->rows[row];
	if (col >= r->nfields)
		return f->strings;		/* "" */
	return f->strings + f->cells[r->first + col];
}

const char *
zcrm_result_echo(const ZcrmResultFile *f, size_t row, const char *name)
{
	long		col = zcrm_result_find_column(f, name);

	if (col < 0 || !zcrm_result_is_echo(f, (size_t) col))
		return NULL;
	return zcrm_result_value(f, row, (size_t) col);
}

const char *
zcrm_result_status(const ZcrmResultFile *f, size_t row)
{
	return zcrm_result_value(f, row, (size_t) f->status_col);
}

const char *
zcrm_result_record_id(const ZcrmResultFile *f, size_t row)
{
	const char *v = zcrm_result_value(f, row, (size_t) f->record_col);

	return (v && v[0]) ? v : NULL;
}

const char *
zcrm_result_errors(const ZcrmResultFile *f, size_t row)
{
	const char *v = zcrm_result_value(f, row, (size_t) f->errors_col);

	return (v && v[0]) ? v : NULL;
}

/* A growable string for zcrm_result_errors_json(). */
typedef struct ZcrmJsonBuf
{
	char	   *data;
	size_t		len;
	size_t		cap;
	bool		failed;
} ZcrmJsonBuf;

static void
buf_add(ZcrmJsonBuf *b, const char *s, size_t n)
{
	if (b->failed)
		return;
	if (b->len + n + 1 > b->cap)
	{
		size_t		newcap = b->cap ? b->cap : 64;
		char	   *p;

		while (newcap < b->len + n + 1)
			newcap *= 2;
		p = realloc(b->data, newcap);
		if (p == NULL)
		{
			b->failed = true;
			return;
		}
		b->data = p;
		b->cap = newcap;
	}
	memcpy(b->data + b->len, s, n);
	b->len += n;
	b->data[b->len] = '\0';
}

/*
 * buf_add_string
 *	  Append s[0 .. n) as a JSON string: '"' and '\\' escaped, control
 *	  characters as \u00XX; UTF-8 is copied as it is.
 */
static void
buf_add_string(ZcrmJsonBuf *b, const char *s, size_t n)
{
	buf_add(b, "\"", 1);
	for (size_t i = 0; i < n; i++)
	{
		unsigned char c = (unsigned char) s[i];
		char		esc[8];

		if (c == '"' || c == '\\')
		{
			esc[0] = '\\';
			esc[1] = (char) c;
			buf_add(b, esc, 2);
		}
		else if (c < 0x20)
		{
			snprintf(esc, sizeof(esc), "\\u%04x", c);
			buf_add(b, esc, 6);
		}
		else
			buf_add(b, (const char *) &s[i], 1);
	}
	buf_add(b, "\"", 1);
}

/*
 * trim
 *	  Narrow [*s, *e) past spaces and tabs at both ends.
 */
static void
trim(const char **s, const char **e)
{
	while (*s < *e && (**s == ' ' || **s == '\t'))
		(*s)++;
	while (*e > *s && ((*e)[-1] == ' ' || (*e)[-1] == '\t'))
		(*e)--;
}

/*
 * zcrm_result_errors_json
 *	  See result.h.
 */
ZcrmResultStatus
zcrm_result_errors_json(const char *errors, char **json)
{
	ZcrmJsonBuf b = {NULL, 0, 0, false};
	const char *p = errors;
	int			nentries = 0;

	*json = NULL;
	if (errors == NULL)
		return ZCRM_RESULT_OK;
	while (*p)
	{
		const char *end = strchr(p, ':');
		const char *code = p;
		const char *code_end;
		const char *dash;
		int			nfields = 0;

		if (end == NULL)
			end = p + strlen(p);
		dash = memchr(p, '-', (size_t) (end - p));
		code_end = dash ? dash : end;
		trim(&code, &code_end);
		if (code < code_end || dash != NULL)
		{
			buf_add(&b, nentries ? ",{\"code\":" : "[{\"code\":", 9);
			buf_add_string(&b, code, (size_t) (code_end - code));
			buf_add(&b, ",\"fields\":[", 11);
			for (const char *c = dash ? dash + 1 : end; c < end;)
			{
				const char *c_end = memchr(c, ',', (size_t) (end - c));
				const char *next;

				if (c_end == NULL)
					c_end = end;
				next = c_end + (c_end < end ? 1 : 0);
				trim(&c, &c_end);
				if (c < c_end)
				{
					if (nfields++)
						buf_add(&b, ",", 1);
					buf_add_string(&b, c, (size_t) (c_end - c));
				}
				c = next;
			}
			buf_add(&b, "]}", 2);
			nentries++;
		}
		p = *end ? end + 1 : end;
	}
	if (nentries)
		buf_add(&b, "]", 1);
	if (b.failed)
	{
		free(b.data);
		return ZCRM_RESULT_NO_MEMORY;
	}
	*json = b.data;				/* NULL when there was no entry */
	return ZCRM_RESULT_OK;
}

/*
 * zcrm_result_match
 *	  See result.h.
 */
bool
zcrm_result_match(const ZcrmResultFile *f, int k, const char *const *names,
				  size_t nsource, const char *const *source, long *source_of,
				  ZcrmMatchOutcome *outcome)
{
	size_t		nrows = f->nrows;
	long		cols[ZCRM_MATCH_MAX_K];
	const char **values;
	bool		ok;

	for (size_t r = 0; r < nrows; r++)
		source_of[r] = -1;
	outcome->positional = false;
	outcome->unmatched = nrows;
	if (k < 0 || k > ZCRM_MATCH_MAX_K)
		return false;
	for (int j = 0; j < k; j++)
	{
		cols[j] = zcrm_result_find_column(f, names[j]);
		if (cols[j] < 0 || !zcrm_result_is_echo(f, (size_t) cols[j]))
			return true;		/* not echoed: nothing to match by */
	}
	values = malloc((nrows * (size_t) k + 1) * sizeof(char *));
	if (values == NULL)
		return false;
	for (size_t r = 0; r < nrows; r++)
		for (int j = 0; j < k; j++)
			values[r * (size_t) k + (size_t) j] = zcrm_result_value(f, r, (size_t) cols[j]);
	ok = zcrm_match_rows(nsource, nrows, k, source, values, source_of, outcome);
	free(values);
	return ok;
}
