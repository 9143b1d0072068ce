/*-------------------------------------------------------------------------
 *
 * rowcsv.h
 *	  The CSV form of a query's values: per-column checks and formatting.
 *
 * Used by prepare.c (issue 11) to turn the rows of a query into the CSV
 * of a Zoho CRM Bulk Write job.  A column is classified once, from the
 * query's TupleDesc, before any row is read (zcrm_rowcsv_column: 22023 for
 * a type with no sensible CSV form); each value is then formatted by the
 * column's rule (zcrm_rowcsv_value), always in UTF-8 and independently of
 * DateStyle, TimeZone, extra_float_digits and the locale:
 *
 *	 text, varchar, char	the characters as they are
 *	 int2, int4, int8		decimal digits
 *	 numeric				its output (every digit, never an exponent)
 *	 float4, float8			the shortest decimal that reads back as the same
 *							value, written without an exponent
 *	 boolean				true / false
 *	 date					yyyy-MM-dd
 *	 timestamp				yyyy-MM-ddTHH:mm:ss+00:00 (taken to be UTC)
 *	 timestamptz			yyyy-MM-ddTHH:mm:ss+00:00 (in UTC)
 *	 1-D arrays				the elements by these rules, joined with ';'
 *	 any other type			its output function (uuid, citext, enums, json…)
 *	 NULL					empty
 *
 * Fractions of a second are dropped (truncated, not rounded).  Domains
 * follow their base type.  Values with no faithful CSV form are errors
 * naming the column and the row: NaN and infinite numbers (22003),
 * infinite dates and timestamps, years before 1 or after 9999 (22008),
 * arrays of more than one dimension and array elements holding ';'
 * (22023), characters the conversion to UTF-8 cannot map (as
 * pg_server_to_any raises them).
 *
 * Copyright (c) 2026, zcrm_bulk developers
 *
 * IDENTIFICATION
 *	  src/rowcsv.h
 *
 *-------------------------------------------------------------------------
 */
#ifndef ZCRM_ROWCSV_H
#define ZCRM_ROWCSV_H

#include "access/tupdesc.h"
#include "fmgr.h"
#include "lib/stringinfo.h"
#include "utils/array.h"

/*
 * The Zoho "format" of the values written for date and timestamp columns,
 * in Zoho's (Java SimpleDateFormat) pattern letters: in the second, "XXX"
 * is the ISO 8601 offset ("+00:00"), not a marker of unfinished work.
 */
#define ZCRM_DATE_FORMAT		"yyyy-MM-dd"
#define ZCRM_DATETIME_FORMAT	"yyyy-MM-dd'T'HH:mm:ssXXX"

/* How the values of a column (or of its array's elements) are written. */
typedef enum ZcrmValueKind
{
	ZCRM_VALUE_TEXT,			/* text, varchar, bpchar: the bytes */
	ZCRM_VALUE_INT2,
	ZCRM_VALUE_INT4,
	ZCRM_VALUE_INT8,
	ZCRM_VALUE_FLOAT4,
	ZCRM_VALUE_FLOAT8,
	ZCRM_VALUE_NUMERIC,
	ZCRM_VALUE_BOOL,
	ZCRM_VALUE_DATE,
	ZCRM_VALUE_TIMESTAMP,
	ZCRM_VALUE_TIMESTAMPTZ,
	ZCRM_VALUE_OUTPUT			/* any other type: its output function */
} ZcrmValueKind;

/* One column of the query, as classified by zcrm_rowcsv_column(). */
typedef struct ZcrmColumn
{
	char	   *name;			/* the column's name, database encoding */
	int			attno;			/* 1-based in the query's TupleDesc */
	ZcrmValueKind kind;			/* of the value, or of the elements */
	bool		is_array;
	FmgrInfo	outfunc;		/* ZCRM_VALUE_OUTPUT only */
	/* arrays only: the element type's storage, for array_create_iterator */
	ArrayMetaState elem;
} ZcrmColumn;

/*
 * zcrm_rowcsv_column
 *	  Classify attribute "attno" (1-based) of "tupdesc" into *col, in
 *	  CurrentMemoryContext.  22023 naming the column for bytea, composite
 *	  and record types, pseudo-types, and arrays of those.
 */
extern void zcrm_rowcsv_column(ZcrmColumn *col, TupleDesc tupdesc, int attno);

/*
 * zcrm_rowcsv_format
 *	  The Zoho "format" a column's values are written in: ZCRM_DATE_FORMAT,
 *	  ZCRM_DATETIME_FORMAT, or NULL for every other column (arrays of dates
 *	  and timestamps included: Zoho has no format for multi-select values).
 */
extern const char *zcrm_rowcsv_format(const ZcrmColumn *col);

/*
 * zcrm_rowcsv_value
 *	  Append the CSV text of one value (UTF-8, unquoted) to "out"; nothing
 *	  for NULL.  "row" (1-based, the query's order) only names the row in
 *	  errors.  Allocates in CurrentMemoryContext (a per-batch context).
 */
extern void zcrm_rowcsv_value(const ZcrmColumn *col, Datum value, bool isnull,
							  int64 row, StringInfo out);

/*
 * zcrm_rowcsv_key
 *	  The text of a value by its type's output function, in the database
 *	  encoding, or NULL for NULL: the local source key of a row.  "fn" is
 *	  the output function of the key column's type (see
 *	  zcrm_rowcsv_key_function).
 */
extern void zcrm_rowcsv_key_function(TupleDesc tupdesc, int attno, FmgrInfo *fn);
extern char *zcrm_rowcsv_key(FmgrInfo *fn, Datum value, bool isnull);

#endif							/* ZCRM_ROWCSV_H */
