/*-------------------------------------------------------------------------
 *
 * csv.h
 *	  An append-only CSV writer with a hard memory cap.
 *
 * Used by the 2.1 write functions (issue 11) to turn a query's rows into
 * the CSV file of a Zoho CRM Bulk Write job; no SQL function calls it yet.
 *
 * The writer builds one CSV file in one growable buffer that never grows
 * past the cap given at creation: memory is bounded by the caller's limit,
 * never by the data.  Fields are quoted as RFC 4180 says (a field that
 * holds '"', ',', CR or LF, or starts or ends with a space or a tab, is
 * put in double quotes, with every '"' doubled); rows end with CRLF.  The
 * first row may be a header, which is kept when the writer is reset for
 * the next part.  Data rows and bytes are counted, so that a caller can
 * split its rows into parts of at most 25,000 rows and a byte budget, and
 * zcrm_csv_row_size() / zcrm_csv_fits() say beforehand whether a row fits.
 *
 * Input is UTF-8 (the caller converts from the database encoding): a field
 * with invalid UTF-8 or a NUL byte is refused with an error code.
 *
 * Memory: plain malloc/realloc/free, as parse.c and scrub.c.  No function
 * here longjmps, aborts or prints; a failed allocation is reported as
 * ZCRM_CSV_NO_MEMORY and leaves the writer usable and freeable.  Inside
 * the server the caller must free the writer (zcrm_csv_free) on its error
 * paths too, e.g. in PG_FINALLY, since the buffer is not in a memory
 * context.  Like parse.c, this depends on the C library alone (no
 * PostgreSQL headers), so that it builds and runs outside the server for
 * unit tests.
 *
 * Copyright (c) 2026, zcrm_bulk developers
 *
 * IDENTIFICATION
 *	  src/csv.h
 *
 *-------------------------------------------------------------------------
 */
#ifndef ZCRM_CSV_H
#define ZCRM_CSV_H

#include <stdbool.h>
#include <stddef.h>

/* Zoho's limit on the data rows of one Bulk Write CSV. */
#define ZCRM_CSV_MAX_ROWS	25000

typedef enum ZcrmCsvStatus
{
	ZCRM_CSV_OK = 0,
	ZCRM_CSV_FULL,				/* the row would take the file past its cap */
	ZCRM_CSV_BAD_UTF8,			/* a field is not valid UTF-8 */
	ZCRM_CSV_NUL,				/* a field holds a NUL byte */
	ZCRM_CSV_NO_MEMORY,			/* malloc or realloc failed */
	ZCRM_CSV_MISUSE				/* call out of order, or NULL arguments */
} ZcrmCsvStatus;

typedef struct ZcrmCsv ZcrmCsv;

/*
 * zcrm_csv_create
 *	  A new, empty writer whose buffer will never exceed "cap" bytes (at
 *	  least 1).  Returns NULL when cap is 0 or malloc fails.  The buffer
 *	  starts small and doubles as needed, up to cap.
 */
extern ZcrmCsv *zcrm_csv_create(size_t cap);

/* Free the writer and its buffer; NULL is accepted. */
extern void zcrm_csv_free(ZcrmCsv *csv);

/*
 * zcrm_csv_begin_row
 *	  Start a row.  With "header", the row is the file's header row: only
 *	  allowed as the first row, it is not counted in zcrm_csv_rows(), and
 *	  zcrm_csv_reset() keeps it.  MISUSE when a row is already open.
 */
extern ZcrmCsvStatus zcrm_csv_begin_row(ZcrmCsv *csv, bool header);

/*
 * zcrm_csv_field
 *	  Append one field ("len" bytes at "data"; data may be NULL when len is
 *	  0) to the open row, after a comma unless it is the row's first field.
 *	  On any error (FULL, BAD_UTF8, NUL, NO_MEMORY, or MISUSE for NULL data
 *	  with a length) the whole open row is rolled back: the file holds
 *	  exactly its complete rows again and no row is open.  MISUSE, with
 *	  nothing rolled back, when no row is open.
 */
extern ZcrmCsvStatus zcrm_csv_field(ZcrmCsv *csv, const char *data, size_t len);

/*
 * zcrm_csv_end_row
 *	  End the open row with CRLF and count it.  FULL or NO_MEMORY roll the
 *	  row back as zcrm_csv_field does.
 */
extern ZcrmCsvStatus zcrm_csv_end_row(ZcrmCsv *csv);

/* Drop the open row, if any: the file holds its complete rows only. */
extern void zcrm_csv_rollback_row(ZcrmCsv *csv);

/*
 * zcrm_csv_write_row
 *	  One whole row of "nfields" fields (fields[i], lens[i]) at once: begin,
 *	  fields, end.  All or nothing: on error nothing of the row is left.
 */
extern ZcrmCsvStatus zcrm_csv_write_row(ZcrmCsv *csv, bool header,
										const char *const *fields,
										const size_t *lens, size_t nfields);

/*
 * zcrm_csv_row_size
 *	  The bytes the row would take once written (quotes, commas and CRLF
 *	  included) in *size.  Checks the fields as zcrm_csv_field does and
 *	  returns BAD_UTF8 or NUL for a field it would refuse.  Allocates
 *	  nothing.
 */
extern ZcrmCsvStatus zcrm_csv_row_size(const char *const *fields,
									   const size_t *lens, size_t nfields,
									   size_t *size);

/*
 * zcrm_csv_fits
 *	  Would a row of "size" bytes (see zcrm_csv_row_size) fit under the cap
 *	  after the complete rows written so far?  A caller with a smaller byte
 *	  budget compares zcrm_csv_len() + size with it instead.
 */
extern bool zcrm_csv_fits(const ZcrmCsv *csv, size_t size);

/*
 * zcrm_csv_reset
 *	  Start the next part: drop every data row (and any open row), keep the
 *	  header row if there is one.  The buffer keeps its allocation.
 */
extern void zcrm_csv_reset(ZcrmCsv *csv);

/* Data rows written (the header is not counted). */
extern size_t zcrm_csv_rows(const ZcrmCsv *csv);

/* Bytes of the complete rows, the header included. */
extern size_t zcrm_csv_len(const ZcrmCsv *csv);

/* Bytes of the header row (0 without one). */
extern size_t zcrm_csv_header_len(const ZcrmCsv *csv);

/* Bytes allocated for the buffer: never more than the cap. */
extern size_t zcrm_csv_allocated(const ZcrmCsv *csv);

/*
 * zcrm_csv_data
 *	  The complete rows, zcrm_csv_len() bytes, not NUL-terminated; valid
 *	  until the next call that writes, resets or frees the writer.  NULL
 *	  when nothing was ever allocated.
 */
extern const char *zcrm_csv_data(const ZcrmCsv *csv);

/* A short English description of a status, for error messages. */
extern const char *zcrm_csv_status_message(ZcrmCsvStatus status);

#endif							/* ZCRM_CSV_H */
