/*-------------------------------------------------------------------------
 *
 * rowcsv.c
 *	  The CSV form of a query's values: per-column checks and formatting.
 *
 * See rowcsv.h for the rules.  Numbers, booleans, dates and timestamps are
 * written here digit by digit, never through the session's output
 * functions, so that DateStyle, TimeZone, extra_float_digits and lc_*
 * cannot change a byte of the file.  Other types go through their output
 * function and then, like text, through pg_server_to_any() to UTF-8 (which
 * returns its argument unchanged when the database is UTF-8).
 *
 * Copyright (c) 2026, zcrm_bulk developers
 *
 * IDENTIFICATION
 *	  src/rowcsv.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <math.h>

#include "catalog/pg_type_d.h"
#include "common/shortest_dec.h"
#include "mb/pg_wchar.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/date.h"
#include "utils/datetime.h"
#include "utils/lsyscache.h"
#include "utils/numeric.h"
#include "utils/timestamp.h"

#include "rowcsv.h"

/*
 * kind_of
 *	  The value kind of base type "typid"; ZCRM_VALUE_OUTPUT for the types
 *	  written by their output function.
 */
static ZcrmValueKind
kind_of(Oid typid)
{
	switch (typid)
	{
		case TEXTOID:
		case VARCHAROID:
		case BPCHAROID:
			return ZCRM_VALUE_TEXT;
		case INT2OID:
			return ZCRM_VALUE_INT2;
		case INT4OID:
			return ZCRM_VALUE_INT4;
		case INT8OID:
			return ZCRM_VALUE_INT8;
		case FLOAT4OID:
			return ZCRM_VALUE_FLOAT4;
		case FLOAT8OID:
			return ZCRM_VALUE_FLOAT8;
		case NUMERICOID:
			return ZCRM_VALUE_NUMERIC;
		case BOOLOID:
			return ZCRM_VALUE_BOOL;
		case DATEOID:
			return ZCRM_VALUE_DATE;
		case TIMESTAMPOID:
			return ZCRM_VALUE_TIMESTAMP;
		case TIMESTAMPTZOID:
			return ZCRM_VALUE_TIMESTAMPTZ;
	}
	return ZCRM_VALUE_OUTPUT;
}

/*
 * unsupported_type
 *	  Why base type "typid" has no CSV form, or NULL when it has one.
 */
static const char *
unsupported_type(Oid typid)
{
	char		typtype = get_typtype(typid);

	if (typid == BYTEAOID)
		return "Binary data (bytea) has no text form that Zoho CRM reads.";
	if (typtype == TYPTYPE_COMPOSITE || typid == RECORDOID)
		return "A composite value (a row) is not one field of a CSV file.";
	if (typtype == TYPTYPE_PSEUDO)
		return "A pseudo-type has no value that can be written.";
	return NULL;
}

void
zcrm_rowcsv_column(ZcrmColumn *col, TupleDesc tupdesc, int attno)
{
	Form_pg_attribute att = TupleDescAttr(tupdesc, attno - 1);
	Oid			typid = getBaseType(att->atttypid);
	Oid			elemtype = get_element_type(typid);
	const char *why;

	memset(col, 0, sizeof(ZcrmColumn));
	col->name = pstrdup(NameStr(att->attname));
	col->attno = attno;
	if (OidIsValid(elemtype))
	{
		col->is_array = true;
		col->elem.element_type = elemtype;
		get_typlenbyvalalign(elemtype, &col->elem.typlen, &col->elem.typbyval,
							 &col->elem.typalign);
		typid = getBaseType(elemtype);
	}

	why = unsupported_type(typid);
	if (why)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("column \"%s\" of the query has type %s, which cannot be written to a CSV file",
						col->name, format_type_be(att->atttypid)),
				 errdetail("%s", why),
				 errhint("Cast the column to text in the query, or leave it out.")));

	col->kind = kind_of(typid);
	if (col->kind == ZCRM_VALUE_OUTPUT)
	{
		Oid			outfn;
		bool		varlena;

		getTypeOutputInfo(typid, &outfn, &varlena);
		fmgr_info(outfn, &col->outfunc);
	}
}

const char *
zcrm_rowcsv_format(const ZcrmColumn *col)
{
	if (col->is_array)
		return NULL;
	if (col->kind == ZCRM_VALUE_DATE)
		return ZCRM_DATE_FORMAT;
	if (col->kind == ZCRM_VALUE_TIMESTAMP || col->kind == ZCRM_VALUE_TIMESTAMPTZ)
		return ZCRM_DATETIME_FORMAT;
	return NULL;
}

/*
 * append_utf8
 *	  Append "len" bytes in the database encoding, converted to UTF-8.  In a
 *	  SQL_ASCII database, which has no encoding to convert from, the bytes
 *	  must already be UTF-8 (22021 naming the column and row otherwise).
 */
static void
append_utf8(StringInfo out, const char *s, int len, const ZcrmColumn *col,
			int64 row)
{
	char	   *u;

	if (len == 0)
		return;
	if (GetDatabaseEncoding() == PG_SQL_ASCII &&
		!pg_verify_mbstr(PG_UTF8, s, len, true))
		ereport(ERROR,
				(errcode(ERRCODE_CHARACTER_NOT_IN_REPERTOIRE),
				 errmsg("column \"%s\" of row " INT64_FORMAT " is not valid UTF-8",
						col->name, row),
				 errdetail("The database encoding is SQL_ASCII, so values are sent as they are stored, and Zoho CRM reads UTF-8."),
				 errhint("Convert such values to UTF-8 in the query (with convert() from their real encoding), or use a database with a real encoding.")));
	u = pg_server_to_any(s, len, PG_UTF8);
	if (u == s)
		appendBinaryStringInfo(out, s, len);
	else
	{
		appendStringInfoString(out, u);
		pfree(u);
	}
}

/*
 * append_positional
 *	  Append the shortest decimal "s" (as double_to_shortest_decimal_buf
 *	  writes it: [-]digits[.digits][e(+|-)digits]) without an exponent:
 *	  1e+20 becomes 100000000000000000000, 1.5e-07 becomes 0.00000015.
 */
static void
append_positional(StringInfo out, const char *s)
{
	char		digits[DOUBLE_SHORTEST_DECIMAL_LEN];
	int			ndigits = 0;
	int			point = -1;		/* digits before the decimal point */
	int			exp10 = 0;
	int			pos;
	const char *p = s;

	if (*p == '-')
		appendStringInfoChar(out, *p++);
	for (; *p && *p != 'e'; p++)
	{
		if (*p == '.')
			point = ndigits;
		else
			digits[ndigits++] = *p;
	}
	if (point < 0)
		point = ndigits;
	if (*p == 'e')
		exp10 = atoi(p + 1);
	if (exp10 == 0)
	{
		/* already positional: copy it as it is */
		appendStringInfoString(out, s[0] == '-' ? s + 1 : s);
		return;
	}

	pos = point + exp10;		/* where the point goes in digits[] */
	if (pos <= 0)
	{
		appendStringInfoString(out, "0.");
		appendStringInfoSpaces(out, -pos);
		memset(out->data + out->len + pos, '0', -pos);
		appendBinaryStringInfo(out, digits, ndigits);
	}
	else if (pos >= ndigits)
	{
		appendBinaryStringInfo(out, digits, ndigits);
		appendStringInfoSpaces(out, pos - ndigits);
		memset(out->data + out->len - (pos - ndigits), '0', pos - ndigits);
	}
	else
	{
		appendBinaryStringInfo(out, digits, pos);
		appendStringInfoChar(out, '.');
		appendBinaryStringInfo(out, digits + pos, ndigits - pos);
	}
}

/*
 * append_2 / append_4
 *	  Zero-padded decimal digits of a small non-negative number.
 */
static inline void
append_2(char *p, int v)
{
	p[0] = '0' + v / 10;
	p[1] = '0' + v % 10;
}

static inline void
append_4(char *p, int v)
{
	append_2(p, v / 100);
	append_2(p + 2, v % 100);
}

/*
 * value_error
 *	  The error for a value with no faithful CSV form: "sqlstate", naming
 *	  the column, the row and what the value holds.
 */
static void
value_error(const ZcrmColumn *col, int64 row, int sqlstate, const char *what,
			const char *detail)
{
	ereport(ERROR,
			(errcode(sqlstate),
			 errmsg("column \"%s\" of row " INT64_FORMAT " holds %s, which Zoho CRM cannot take",
					col->name, row, what),
			 errdetail("%s", detail),
			 errhint("Filter or replace such values in the query, for example with NULLIF or CASE.")));
}

/* 22008 for a date or timestamp that has no yyyy-MM-dd form */
static void
datetime_error(const ZcrmColumn *col, int64 row, const char *what)
{
	value_error(col, row, ERRCODE_DATETIME_FIELD_OVERFLOW, what,
				"Dates and timestamps are written as yyyy-MM-dd, with years from 1 to 9999.");
}

/*
 * append_date_parts
 *	  yyyy-MM-dd of a Julian day number; 22008 outside years 1 to 9999.
 */
static void
append_date_parts(StringInfo out, const ZcrmColumn *col, int64 row, int jd)
{
	int			y,
				m,
				d;
	char		buf[10];

	j2date(jd, &y, &m, &d);
	if (y < 1 || y > 9999)
		datetime_error(col, row, y < 1 ? "a date before the year 1 (BC)" :
					   "a date after the year 9999");
	append_4(buf, y);
	buf[4] = '-';
	append_2(buf + 5, m);
	buf[7] = '-';
	append_2(buf + 8, d);
	appendBinaryStringInfo(out, buf, 10);
}

/*
 * append_timestamp
 *	  yyyy-MM-ddTHH:mm:ss+00:00 of a timestamp (UTC), fraction dropped.
 */
static void
append_timestamp(StringInfo out, const ZcrmColumn *col, int64 row,
				 Timestamp ts)
{
	int64		days;
	int64		usecs;
	int			secs;
	char		buf[15];

	if (TIMESTAMP_NOT_FINITE(ts))
		datetime_error(col, row, TIMESTAMP_IS_NOBEGIN(ts) ? "-infinity" : "infinity");
	/* floor division: times before 2000-01-01 are negative */
	days = ts / USECS_PER_DAY;
	usecs = ts % USECS_PER_DAY;
	if (usecs < 0)
	{
		days--;
		usecs += USECS_PER_DAY;
	}
	append_date_parts(out, col, row, (int) (days + POSTGRES_EPOCH_JDATE));
	secs = (int) (usecs / USECS_PER_SEC);
	buf[0] = 'T';
	append_2(buf + 1, secs / 3600);
	buf[3] = ':';
	append_2(buf + 4, secs / 60 % 60);
	buf[6] = ':';
	append_2(buf + 7, secs % 60);
	memcpy(buf + 9, "+00:00", 6);
	appendBinaryStringInfo(out, buf, 15);
}

/* 22003 for NaN and infinite numbers */
static void
not_finite_error(const ZcrmColumn *col, int64 row, const char *what)
{
	value_error(col, row, ERRCODE_NUMERIC_VALUE_OUT_OF_RANGE, what,
				"Numbers are written as decimal digits; NaN and infinity have none.");
}

/*
 * append_scalar
 *	  Append one non-NULL value of kind col->kind.
 */
static void
append_scalar(StringInfo out, const ZcrmColumn *col, Datum value, int64 row)
{
	char		buf[DOUBLE_SHORTEST_DECIMAL_LEN + 8];

	switch (col->kind)
	{
		case ZCRM_VALUE_TEXT:
			{
				text	   *t = DatumGetTextPP(value);

				append_utf8(out, VARDATA_ANY(t), VARSIZE_ANY_EXHDR(t), col, row);
				break;
			}
		case ZCRM_VALUE_INT2:
			appendBinaryStringInfo(out, buf, pg_ltoa(DatumGetInt16(value), buf));
			break;
		case ZCRM_VALUE_INT4:
			appendBinaryStringInfo(out, buf, pg_ltoa(DatumGetInt32(value), buf));
			break;
		case ZCRM_VALUE_INT8:
			appendBinaryStringInfo(out, buf, pg_lltoa(DatumGetInt64(value), buf));
			break;
		case ZCRM_VALUE_FLOAT4:
			{
				float4		f = DatumGetFloat4(value);

				if (isnan(f) || isinf(f))
					not_finite_error(col, row, isnan(f) ? "NaN" : "an infinite number");
				float_to_shortest_decimal_buf(f, buf);
				append_positional(out, buf);
				break;
			}
		case ZCRM_VALUE_FLOAT8:
			{
				float8		f = DatumGetFloat8(value);

				if (isnan(f) || isinf(f))
					not_finite_error(col, row, isnan(f) ? "NaN" : "an infinite number");
				double_to_shortest_decimal_buf(f, buf);
				append_positional(out, buf);
				break;
			}
		case ZCRM_VALUE_NUMERIC:
			{
				Numeric		n = DatumGetNumeric(value);

				if (numeric_is_nan(n) || numeric_is_inf(n))
					not_finite_error(col, row, numeric_is_nan(n) ? "NaN" : "an infinite number");
				/* numeric_out is plain ASCII digits, whatever the locale */
				appendStringInfoString(out, DatumGetCString(DirectFunctionCall1(numeric_out, value)));
				break;
			}
		case ZCRM_VALUE_BOOL:
			if (DatumGetBool(value))
				appendBinaryStringInfo(out, "true", 4);
			else
				appendBinaryStringInfo(out, "false", 5);
			break;
		case ZCRM_VALUE_DATE:
			{
				DateADT		d = DatumGetDateADT(value);

				if (DATE_NOT_FINITE(d))
					datetime_error(col, row, DATE_IS_NOBEGIN(d) ? "-infinity" : "infinity");
				append_date_parts(out, col, row, d + POSTGRES_EPOCH_JDATE);
				break;
			}
		case ZCRM_VALUE_TIMESTAMP:
			append_timestamp(out, col, row, DatumGetTimestamp(value));
			break;
		case ZCRM_VALUE_TIMESTAMPTZ:
			append_timestamp(out, col, row, DatumGetTimestampTz(value));
			break;
		case ZCRM_VALUE_OUTPUT:
			{
				char	   *s = OutputFunctionCall((FmgrInfo *) &col->outfunc, value);

				append_utf8(out, s, strlen(s), col, row);
				pfree(s);
				break;
			}
	}
}

/*
 * append_array
 *	  The non-NULL elements of a 1-D array, each by its kind, joined with
 *	  ';'.  22023 for more dimensions, or an element holding ';'.
 */
static void
append_array(StringInfo out, const ZcrmColumn *col, Datum value, int64 row)
{
	ArrayType  *arr = DatumGetArrayTypeP(value);
	ArrayIterator it;
	Datum		elem;
	bool		isnull;
	bool		first = true;

	if (ARR_NDIM(arr) > 1)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("column \"%s\" of row " INT64_FORMAT " is an array of %d dimensions",
						col->name, row, ARR_NDIM(arr)),
				 errdetail("Arrays are written as multi-select values, which have one dimension."),
				 errhint("Flatten the array in the query, for example with array(SELECT unnest(...)).")));

	it = array_create_iterator(arr, 0, (ArrayMetaState *) &col->elem);
	while (array_iterate(it, &elem, &isnull))
	{
		int			start;

		if (isnull)
			continue;
		if (!first)
			appendStringInfoChar(out, ';');
		start = out->len;
		append_scalar(out, col, elem, row);
		if (memchr(out->data + start, ';', out->len - start) != NULL)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("an element of array column \"%s\" of row " INT64_FORMAT " contains \";\"",
							col->name, row),
					 errdetail("Array elements are joined with \";\" into one multi-select value, so an element cannot contain one."),
					 errhint("Replace \";\" in the elements, or send the column as text.")));
		first = false;
	}
	array_free_iterator(it);
}

void
zcrm_rowcsv_value(const ZcrmColumn *col, Datum value, bool isnull, int64 row,
				  StringInfo out)
{
	if (isnull)
		return;
	if (col->is_array)
		append_array(out, col, value, row);
	else
		append_scalar(out, col, value, row);
}

void
zcrm_rowcsv_key_function(TupleDesc tupdesc, int attno, FmgrInfo *fn)
{
	Oid			outfn;
	bool		varlena;

	getTypeOutputInfo(TupleDescAttr(tupdesc, attno - 1)->atttypid, &outfn, &varlena);
	fmgr_info(outfn, fn);
}

char *
zcrm_rowcsv_key(FmgrInfo *fn, Datum value, bool isnull)
{
	return isnull ? NULL : OutputFunctionCall(fn, value);
}
