/*-------------------------------------------------------------------------
 *
 * writeplan.c
 *	  zcrm_write_plan() and zcrm_write_csv(): a write's parts, without the
 *	  network.
 *
 * Both run the prepare engine (prepare.c) exactly as zcrm_write_submit()
 * does, so what they show is what would be uploaded: zcrm_write_plan()
 * one row per part (the job it would create), zcrm_write_csv() the CSV of
 * one part.  Neither makes a request.  The query is the caller's: it runs
 * as the caller, with the caller's search_path (these functions have no SET
 * clause), and nothing else is run through SPI.
 *
 * Copyright (c) 2026, zcrm_bulk developers
 *
 * IDENTIFICATION
 *	  src/writeplan.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "fmgr.h"
#include "funcapi.h"
#include "mb/pg_wchar.h"
#include "utils/builtins.h"
#include "utils/jsonb.h"
#include "utils/tuplestore.h"

#include "functions.h"
#include "prepare.h"

PG_FUNCTION_INFO_V1(zcrm_write_plan);
PG_FUNCTION_INFO_V1(zcrm_write_csv);

/* Columns of zcrm_write_plan() */
enum
{
	PLAN_COL_PART,
	PLAN_COL_ROWS,
	PLAN_COL_CSV_BYTES,
	PLAN_COL_ZIP_BYTES,
	PLAN_COL_FIELD_MAPPINGS,
	PLAN_COL_CREDITS,
	PLAN_NCOLS
};

/*
 * spec_from_args
 *	  Arguments 0..5 (module, query, operation, find_by, key_column,
 *	  mappings) as a spec; module, query and operation must not be NULL
 *	  (22004).
 */
static void
spec_from_args(FunctionCallInfo fcinfo, ZcrmWriteSpec *spec)
{
	static const char *const required[] = {"module", "query", "operation"};

	for (int i = 0; i < 3; i++)
		if (PG_ARGISNULL(i))
			ereport(ERROR,
					(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
					 errmsg("%s must not be null", required[i]),
					 errhint("Pass a value for %s.", required[i])));
	memset(spec, 0, sizeof(ZcrmWriteSpec));
	spec->module = text_to_cstring(PG_GETARG_TEXT_PP(0));
	spec->query = text_to_cstring(PG_GETARG_TEXT_PP(1));
	spec->operation = text_to_cstring(PG_GETARG_TEXT_PP(2));
	spec->find_by = PG_ARGISNULL(3) ? NULL : text_to_cstring(PG_GETARG_TEXT_PP(3));
	spec->key_column = PG_ARGISNULL(4) ? NULL : text_to_cstring(PG_GETARG_TEXT_PP(4));
	spec->mappings = PG_ARGISNULL(5) ? NULL : PG_GETARG_JSONB_P(5);
	spec->ignore_empty = true;
}

/*
 * plan_part
 *	  zcrm_write_plan's callback: one row per part.
 */
static bool
plan_part(const ZcrmWritePart *part, void *arg)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) arg;
	Datum		values[PLAN_NCOLS];
	bool		nulls[PLAN_NCOLS] = {0};

	values[PLAN_COL_PART] = Int32GetDatum(part->part);
	values[PLAN_COL_ROWS] = Int64GetDatum(part->rows);
	values[PLAN_COL_CSV_BYTES] = Int64GetDatum((int64) part->csv_len);
	values[PLAN_COL_ZIP_BYTES] = Int64GetDatum((int64) part->zip_len);
	values[PLAN_COL_FIELD_MAPPINGS] = JsonbPGetDatum(part->field_mappings);
	values[PLAN_COL_CREDITS] = Int32GetDatum(ZCRM_CREDITS_PER_JOB);
	tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
	return true;
}

/*
 * zcrm_write_plan(module text, query text, operation text, find_by text,
 *				   key_column text, mappings jsonb, ignore_empty boolean)
 *		RETURNS TABLE (part integer, rows bigint, csv_bytes bigint,
 *					   zip_bytes bigint, field_mappings jsonb,
 *					   credits integer)
 */
Datum
zcrm_write_plan(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	ZcrmWriteSpec spec;
	ZcrmPrepareResult result;

	InitMaterializedSRF(fcinfo, MAT_SRF_USE_EXPECTED_DESC);
	zcrm_check_result_columns(rsinfo, PLAN_NCOLS, false);
	spec_from_args(fcinfo, &spec);
	spec.ignore_empty = PG_ARGISNULL(6) ? true : PG_GETARG_BOOL(6);
	spec.zip = true;
	zcrm_prepare(&spec, plan_part, rsinfo, &result);
	return (Datum) 0;
}

/* zcrm_write_csv's callback state */
typedef struct CsvWanted
{
	int			part;
	MemoryContext cxt;			/* where the result is built */
	text	   *csv;
} CsvWanted;

/*
 * csv_part
 *	  zcrm_write_csv's callback: keep the wanted part, then stop.
 */
static bool
csv_part(const ZcrmWritePart *part, void *arg)
{
	CsvWanted  *w = (CsvWanted *) arg;
	MemoryContext old;
	char	   *s;

	if (part->part < w->part)
		return true;
	old = MemoryContextSwitchTo(w->cxt);
	/* validates the UTF-8 and converts it to the database encoding */
	s = pg_any_to_server(part->csv, (int) part->csv_len, PG_UTF8);
	w->csv = (s == part->csv) ? cstring_to_text_with_len(s, (int) part->csv_len) :
		cstring_to_text(s);
	MemoryContextSwitchTo(old);
	return false;
}

/*
 * zcrm_write_csv(module text, query text, operation text, find_by text,
 *				  key_column text, mappings jsonb, part integer)
 *		RETURNS text
 *
 * The CSV of one part as it would be uploaded (converted to the database
 * encoding), or NULL when the query has fewer parts.  The rows after that
 * part are not read.
 */
Datum
zcrm_write_csv(PG_FUNCTION_ARGS)
{
	ZcrmWriteSpec spec;
	ZcrmPrepareResult result;
	CsvWanted	w;

	spec_from_args(fcinfo, &spec);
	if (PG_ARGISNULL(6) || PG_GETARG_INT32(6) < 1)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("part must be 1 or more"),
				 errhint("Pass the number of a part as zcrm_write_plan() lists them, from 1.")));
	spec.zip = false;
	w.part = PG_GETARG_INT32(6);
	w.cxt = CurrentMemoryContext;
	w.csv = NULL;
	zcrm_prepare(&spec, csv_part, &w, &result);
	if (w.csv == NULL)
		PG_RETURN_NULL();
	PG_RETURN_TEXT_P(w.csv);
}
