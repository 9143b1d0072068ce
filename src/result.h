/*-------------------------------------------------------------------------
 *
 * result.h
 *	  The CSV result file of a Zoho CRM Bulk Write job, read by header name.
 *
 * Each resource of a finished job has one CSV file in the job's result
 * zip: the first (up to three) mapped columns of the uploaded file, as
 * sent, then STATUS (added, updated, skipped, unprocessed), RECORD_ID and
 * ERRORS.  Neither the column order nor the row order is documented
 * (zoho-bulk-write-lifecycle.md, section 4), so columns are found by their
 * header name, never by position: STATUS, RECORD_ID and ERRORS exactly as
 * spelt here (case matters: "Status" may be a field's API name), and every
 * other column is an echoed input column, looked up by its API name.
 *
 * The reader follows RFC 4180: fields in double quotes may hold commas,
 * CR, LF and doubled quotes; records end with CRLF, LF or a lone CR; a
 * UTF-8 byte order mark before the header is skipped; a quote inside an
 * unquoted field is taken literally.  Empty lines are skipped (a data row
 * of a file with one column would need a field, and Zoho's files have
 * six).  A row with fewer fields than the header reads as empty in the
 * missing ones, and fields past the header's are dropped; such rows are
 * counted (zcrm_result_ragged) for the caller to report.  The file must be
 * valid UTF-8 without NUL bytes; a field with a quote that is not doubled
 * after its opening one, or an unterminated quoted field, is BAD_CSV.
 *
 * ERRORS holds "CODE-col,col" entries joined by ':' (for example
 * "MANDATORY_NOT_FOUND-Company,Last_Name:DUPLICATE_DATA-Email"), and a code
 * may come without columns; zcrm_result_errors_json() turns it into JSON.
 *
 * Memory is bounded by the caller's limits, never by the data: the file's
 * bytes and rows are capped, the header's columns too
 * (ZCRM_RESULT_MAX_COLUMNS), and the reader keeps one copy of the text
 * plus 4 bytes per field and 8 per row.  Plain malloc/free; no function
 * longjmps, aborts or prints, and everything is freed on every error
 * path.  Like csv.c, this depends on the C library alone (no PostgreSQL
 * headers), so that it builds and runs outside the server for unit tests
 * and the fuzzer (test/fuzz/fuzz_result.c).
 *
 * Copyright (c) 2026, zcrm_bulk developers
 *
 * IDENTIFICATION
 *	  src/result.h
 *
 *-------------------------------------------------------------------------
 */
#ifndef ZCRM_RESULT_H
#define ZCRM_RESULT_H

#include <stdbool.h>
#include <stddef.h>

/* Most columns a result file's header may have. */
#define ZCRM_RESULT_MAX_COLUMNS	1024

/* Largest file the reader takes at all (its offsets are 32-bit). */
#define ZCRM_RESULT_MAX_BYTES	((size_t) 0x7FFFFFF0)

typedef enum ZcrmResultStatus
{
	ZCRM_RESULT_OK = 0,
	ZCRM_RESULT_NO_MEMORY,		/* malloc or realloc failed */
	ZCRM_RESULT_TOO_LARGE,		/* more bytes than limits->max_bytes */
	ZCRM_RESULT_TOO_MANY_ROWS,	/* more data rows than limits->max_rows */
	ZCRM_RESULT_TOO_MANY_COLUMNS,	/* header past ZCRM_RESULT_MAX_COLUMNS */
	ZCRM_RESULT_BAD_UTF8,		/* invalid UTF-8 or a NUL byte */
	ZCRM_RESULT_BAD_CSV,		/* broken quoting, no header row */
	ZCRM_RESULT_MISSING_COLUMN, /* no STATUS, RECORD_ID or ERRORS column */
	ZCRM_RESULT_DUPLICATE_COLUMN,	/* a header name appears twice */
	ZCRM_RESULT_INTERRUPTED		/* limits->interrupted() said stop */
} ZcrmResultStatus;

/* What the caller allows. */
typedef struct ZcrmResultLimits
{
	size_t		max_bytes;		/* the file, BOM included */
	size_t		max_rows;		/* data rows, header not counted */

	/*
	 * When not NULL, called every 64 kB or so; returning true stops the read
	 * with ZCRM_RESULT_INTERRUPTED (everything freed), so that the server can
	 * service an interrupt and read again.
	 */
	bool		(*interrupted) (void);
} ZcrmResultLimits;

/* A failure: its status, where it was found, and a one-line message. */
typedef struct ZcrmResultError
{
	ZcrmResultStatus status;
	size_t		line;			/* 1-based physical line, 0 when unknown */
	char		message[200];	/* English, printable ASCII; never quotes the
								 * data except the name of a duplicate column
								 * (64 bytes at most, any byte outside
								 * printable ASCII as '?') */
} ZcrmResultError;

typedef struct ZcrmResultFile ZcrmResultFile;

/*
 * zcrm_result_read
 *	  Read the "len" bytes at "data" (not NUL-terminated; not kept) as a
 *	  result file.  On success *out is set (free it with
 *	  zcrm_result_free); otherwise *out is NULL and err (which may be NULL)
 *	  says why.
 */
extern ZcrmResultStatus zcrm_result_read(const char *data, size_t len,
										 const ZcrmResultLimits *limits,
										 ZcrmResultFile **out,
										 ZcrmResultError *err);

/* Free a file (NULL is accepted). */
extern void zcrm_result_free(ZcrmResultFile *f);

/* Data rows (0-based below; row i is line i + 2 of a plain file). */
extern size_t zcrm_result_nrows(const ZcrmResultFile *f);

/* Rows that had fewer or more fields than the header. */
extern size_t zcrm_result_ragged(const ZcrmResultFile *f);

/* Header columns, and the name of column "col" (NULL out of range). */
extern size_t zcrm_result_ncolumns(const ZcrmResultFile *f);
extern const char *zcrm_result_column(const ZcrmResultFile *f, size_t col);

/* The index of the column named "name" (exact match), or -1. */
extern long zcrm_result_find_column(const ZcrmResultFile *f, const char *name);

/*
 * Whether column "col" is an echoed input column (not STATUS, RECORD_ID
 * or ERRORS).
 */
extern bool zcrm_result_is_echo(const ZcrmResultFile *f, size_t col);

/*
 * zcrm_result_value
 *	  The field of row "row" in column "col", NUL-terminated UTF-8; "" for
 *	  a field the row lacks; NULL when row or col is out of range.
 */
extern const char *zcrm_result_value(const ZcrmResultFile *f, size_t row,
									 size_t col);

/*
 * zcrm_result_echo
 *	  The echoed value of row "row" in the column named "name", or NULL
 *	  when there is no such column (or it is STATUS, RECORD_ID or ERRORS).
 */
extern const char *zcrm_result_echo(const ZcrmResultFile *f, size_t row,
									const char *name);

/*
 * The row's STATUS as written (never NULL for a row in range), its
 * RECORD_ID (NULL when empty) and its ERRORS text (NULL when empty).
 */
extern const char *zcrm_result_status(const ZcrmResultFile *f, size_t row);
extern const char *zcrm_result_record_id(const ZcrmResultFile *f, size_t row);
extern const char *zcrm_result_errors(const ZcrmResultFile *f, size_t row);

/*
 * zcrm_result_errors_json
 *	  The ERRORS text "errors" (NUL-terminated UTF-8, may be NULL) as a JSON
 *	  array, one object per entry:
 *		[{"code":"MANDATORY_NOT_FOUND","fields":["Company","Last_Name"]}]
 *	  Entries are split at ':', code and columns at the first '-', columns
 *	  at ','; spaces and tabs around each part are dropped, and so are
 *	  empty entries and empty column names ("CODE" alone gets "fields":[]).
 *	  *json is a malloc'd NUL-terminated string (free with free()), or NULL
 *	  when the text holds no entry.  Returns OK or NO_MEMORY.
 */
extern ZcrmResultStatus zcrm_result_errors_json(const char *errors, char **json);

/*
 * zcrm_result_match
 *	  Match the file's rows to "nsource" source rows whose k echoed values
 *	  (row-major, source[i * k + j], as in match.h) were sent in the
 *	  columns named names[0 .. k): a result row's tuple is its values in
 *	  the columns of those names (looked up by header name).  Fills
 *	  source_of[0 .. zcrm_result_nrows(f)) and *outcome as
 *	  zcrm_match_rows() does.  When a name is not an echoed column of the
 *	  file, nothing can be checked: every row is unmatched.  Returns false
 *	  (every row unmatched) only when k is out of range or malloc fails.
 */
struct ZcrmMatchOutcome;
extern bool zcrm_result_match(const ZcrmResultFile *f, int k,
							  const char *const *names, size_t nsource,
							  const char *const *source, long *source_of,
							  struct ZcrmMatchOutcome *outcome);

/* A short English description of a status. */
extern const char *zcrm_result_status_message(ZcrmResultStatus status);

#endif							/* ZCRM_RESULT_H */
