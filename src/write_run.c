/*-------------------------------------------------------------------------
 *
 * write_run.c
 *	  The steps of a bulk write run: prepare, upload, create, collect.
 *
 * A run (zcrm_write_submit() and zcrm_write(), in
 * sql/zcrm_bulk--2.0--2.1.sql) is a sequence of steps over its rows in
 * zcrm_write_run, zcrm_write_run_job, zcrm_write_source and
 * zcrm_write_result.  Each step here is one SQL-callable function that
 * reads what the previous step stored, makes at most one kind of request,
 * stores what it learnt, and commits nothing: the procedure commits
 * between the steps, so that a crash or a cancel at any point leaves each
 * part in the state committed before the request that would have changed
 * it.
 *
 *	- prepare: runs the query through prepare.c (CSV, split, zip) and
 *	  stores each part's zip and each row's source key and echoed values;
 *	- upload: uploads a part's zip (zoho_write.c) and stores the file id;
 *	- create: creates the part's job, stores its id, drops the zip and,
 *	  when asked, tracks the job for the poller;
 *	- collect: downloads a finished job's result file (results.c),
 *	  matches its rows to the part's source rows (match.c) and stores one
 *	  row per result row.
 *
 * Zoho's definite refusal of an upload or a create is recorded (the part
 * and the run become failed, with the error) and returned as a
 * zcrm_write_step_outcome, for the caller to raise once that record is
 * committed; anything else (a transport failure, a cancel) is raised here
 * and leaves the part as it was.  The tables are read and written by
 * run_store.c, as the calling role (so row-level security applies),
 * qualified with the extension's schema, which is the schema of the
 * called function.
 *
 * Copyright (c) 2026, zcrm_bulk developers
 *
 * IDENTIFICATION
 *	  src/write_run.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "fmgr.h"
#include "funcapi.h"
#include "utils/builtins.h"
#include "utils/jsonb.h"
#include "utils/lsyscache.h"

#include "errors.h"
#include "prepare.h"
#include "results.h"
#include "run_store.h"
#include "zoho.h"
#include "zoho_write.h"

PG_FUNCTION_INFO_V1(zcrm_write_step_prepare);
PG_FUNCTION_INFO_V1(zcrm_write_step_upload);
PG_FUNCTION_INFO_V1(zcrm_write_step_create);
PG_FUNCTION_INFO_V1(zcrm_write_step_collect);

/* Columns of zcrm_write_step_outcome. */
enum
{
	OUT_OK,
	OUT_SQLSTATE,
	OUT_MESSAGE,
	OUT_DETAIL,
	OUT_HINT,
	OUT_NCOLS
};


/*
 * ext_schema
 *		The extension's schema, quoted, as the schema of the called
 *		function: the tables are qualified with it, whatever search_path.
 */
static char *
ext_schema(FunctionCallInfo fcinfo)
{
	Oid			nsp = get_func_namespace(fcinfo->flinfo->fn_oid);
	char	   *name = get_namespace_name(nsp);

	if (name == NULL)
		elog(ERROR, "cache lookup failed for namespace %u", nsp);
	return pstrdup(quote_identifier(name));
}





/*
 * require_state
 *		A step runs on a part in one state only: anything else is 55000
 *		(another call moved the part on, or the step was called by hand).
 */
static void
require_state(const ZcrmRunPart *rp, const char *state, const char *step)
{
	if (strcmp(rp->state, state) != 0)
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("part %d of bulk write run " INT64_FORMAT " is %s, not %s",
						rp->part, rp->run_id, rp->state, state),
				 errdetail("The %s step runs on a part that is %s.", step, state),
				 errhint("Resume the run with CALL zcrm_write_submit(NULL, NULL, run_id => " INT64_FORMAT ").",
						 rp->run_id)));
}

/*
 * part_context
 *		"part 2 of run 7, rows 25001 to 50000": what a refusal's DETAIL
 *		adds, so that the user knows which rows Zoho refused.
 */
static char *
part_context(const ZcrmRunPart *rp)
{
	return psprintf("Part %d of bulk write run " INT64_FORMAT ", rows " INT64_FORMAT
					" to " INT64_FORMAT ".", rp->part, rp->run_id,
					rp->first_row, rp->last_row);
}

/*
 * refusal_text
 *		What a part's last_error says of Zoho's refusal: "CODE: message".
 */
static char *
refusal_text(const ZcrmError *err)
{
	return err->api_code ? psprintf("%s: %s", err->api_code, err->message)
		: pstrdup(err->message);
}

/*
 * outcome
 *		The zcrm_write_step_outcome datum: ok, or the refusal err.
 */
static Datum
outcome(FunctionCallInfo fcinfo, const ZcrmError *err, const char *context)
{
	TupleDesc	tupdesc;
	Datum		values[OUT_NCOLS];
	bool		nulls[OUT_NCOLS];

	if (get_call_result_type(fcinfo, NULL, &tupdesc) != TYPEFUNC_COMPOSITE)
		elog(ERROR, "return type must be a row type");
	tupdesc = BlessTupleDesc(tupdesc);
	memset(nulls, true, sizeof(nulls));
	values[OUT_OK] = BoolGetDatum(err == NULL);
	nulls[OUT_OK] = false;
	if (err != NULL)
	{
		char	   *detail;

		values[OUT_SQLSTATE] = CStringGetTextDatum(unpack_sql_state(err->sqlstate));
		nulls[OUT_SQLSTATE] = false;
		values[OUT_MESSAGE] = CStringGetTextDatum(err->message);
		nulls[OUT_MESSAGE] = false;
		detail = err->detail ? psprintf("%s %s", err->detail, context) : pstrdup(context);
		values[OUT_DETAIL] = CStringGetTextDatum(detail);
		nulls[OUT_DETAIL] = false;
		if (err->hint)
		{
			values[OUT_HINT] = CStringGetTextDatum(err->hint);
			nulls[OUT_HINT] = false;
		}
	}
	return HeapTupleGetDatum(heap_form_tuple(tupdesc, values, nulls));
}



/* Argument argno as a C string, or NULL. */
static char *
opt_text(FunctionCallInfo fcinfo, int argno)
{
	return PG_ARGISNULL(argno) ? NULL : text_to_cstring(PG_GETARG_TEXT_PP(argno));
}

/* Arguments run_id and part: neither may be NULL. */
static void
run_and_part(FunctionCallInfo fcinfo, int64 *run_id, int32 *part)
{
	if (PG_ARGISNULL(0) || PG_ARGISNULL(1))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("run_id and part must not be null")));
	*run_id = PG_GETARG_INT64(0);
	*part = PG_GETARG_INT32(1);
}

/*
 * open_part
 *		The part named by arguments 0 and 1, which must be in state "state"
 *		for step "step", into *rp, with its zip when want_zip.
 */
static void
open_part(FunctionCallInfo fcinfo, const char *schema, const char *state,
		  const char *step, bool want_zip, ZcrmRunPart *rp)
{
	int64		run_id;
	int32		part;

	run_and_part(fcinfo, &run_id, &part);
	zcrm_run_read_part(schema, run_id, part, want_zip, rp);
	require_state(rp, state, step);
}

/* A part that lacks what its step needs ("zip to upload", "file id"). */
static void
part_lacks(const ZcrmRunPart *rp, const char *what)
{
	ereport(ERROR,
			(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
			 errmsg("part %d of bulk write run " INT64_FORMAT " has no %s",
					rp->part, rp->run_id, what)));
}

/*
 * refused
 *		Record Zoho's refusal err of part rp (the part and its run become
 *		failed) and return it as the step's outcome.
 */
static Datum
refused(FunctionCallInfo fcinfo, const char *schema, const ZcrmRunPart *rp,
		const ZcrmError *err)
{
	zcrm_run_record_refusal(schema, rp, refusal_text(err));
	return outcome(fcinfo, err, part_context(rp));
}

/*
 * zcrm_write_step_upload(run_id bigint, part integer, token text,
 *						  connection text) RETURNS zcrm_write_step_outcome
 *		Upload the zip of a part in state "uploading" and make it
 *		"uploaded" with its file id; a refusal makes it "failed" and is
 *		returned.  A transport failure is raised and leaves it uploading.
 */
Datum
zcrm_write_step_upload(PG_FUNCTION_ARGS)
{
	char	   *schema = ext_schema(fcinfo);
	ZcrmRunPart rp;
	ZcrmCall	call;
	ZcrmError	err;
	char	   *file_id = NULL;
	char	   *name;

	open_part(fcinfo, schema, "uploading", "upload", true, &rp);
	if (rp.zip == NULL)
		part_lacks(&rp, "zip to upload");
	zcrm_call_open(&call, opt_text(fcinfo, 2), opt_text(fcinfo, 3));
	name = psprintf("zcrm_bulk-" INT64_FORMAT "-%d.zip", rp.run_id, rp.part);
	if (!zcrm_write_upload(&call, VARDATA(rp.zip), VARSIZE(rp.zip) - VARHDRSZ, name,
						   &file_id, &err))
		PG_RETURN_DATUM(refused(fcinfo, schema, &rp, &err));
	if (!zcrm_run_set_part(schema, &rp, "{uploading}", "uploaded", "file_id", file_id, false))
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("part %d of bulk write run " INT64_FORMAT " changed state during its upload",
						rp.part, rp.run_id)));
	PG_RETURN_DATUM(outcome(fcinfo, NULL, NULL));
}

/*
 * zcrm_write_step_create(run_id bigint, part integer, token text,
 *						  connection text, track boolean)
 *		RETURNS zcrm_write_step_outcome
 *		Create the job of a part in state "creating" (or "uncertain") from
 *		its file id and the run's settings, make it "created" with the job
 *		id, drop its zip, and with track, track the job as the caller
 *		(zcrm_track_job(), through the run's connection) for the poller.
 *		A refusal makes it "failed" and is returned.  Anything else is
 *		raised and leaves it "creating": the job may or may not exist.
 */
Datum
zcrm_write_step_create(PG_FUNCTION_ARGS)
{
	char	   *schema = ext_schema(fcinfo);
	ZcrmRunPart rp;
	ZcrmCall	call;
	ZcrmError	err;
	ZcrmWriteJobSpec spec;
	char	   *job_id = NULL;
	char	   *connection = opt_text(fcinfo, 3);
	bool		track = !PG_ARGISNULL(4) && PG_GETARG_BOOL(4);

	open_part(fcinfo, schema, "creating", "create", false, &rp);
	if (rp.file_id == NULL)
		part_lacks(&rp, "file id");
	zcrm_call_open(&call, opt_text(fcinfo, 2), connection);
	memset(&spec, 0, sizeof(spec));
	spec.module = rp.module;
	spec.operation = rp.operation;
	spec.find_by = rp.find_by;
	spec.field_mappings = rp.field_mappings;
	spec.ignore_empty = rp.ignore_empty;
	spec.file_id = rp.file_id;
	if (!zcrm_write_create(&call, &spec, &job_id, &err))
		PG_RETURN_DATUM(refused(fcinfo, schema, &rp, &err));
	if (!zcrm_run_set_part(schema, &rp, "{creating,uncertain}", "created", "job_id", job_id, true))
		ereport(WARNING,
				(errcode(ERRCODE_WARNING),
				 errmsg("part %d of bulk write run " INT64_FORMAT " changed state while its job %s was created",
						rp.part, rp.run_id, job_id),
				 errdetail("Bulk write job %s exists in Zoho CRM for file %s.", job_id, rp.file_id),
				 errhint("Track it by hand with zcrm_track_job() if no other call recorded it.")));
	if (track)
		zcrm_run_track(schema, job_id, connection);
	PG_RETURN_DATUM(outcome(fcinfo, NULL, NULL));
}

/*
 * zcrm_write_step_collect(run_id bigint, part integer, token text,
 *						   connection text) RETURNS bigint
 *		Collect the result file of a part whose job is finished: one
 *		zcrm_write_result row per result row, matched to the part's source
 *		rows (a WARNING counts the rows that could not be), the part
 *		"completed" (last_error noting a job that FAILED) and, with its
 *		last part, the run.  A part already collected is left as it is.
 *		Returns the part's number of result rows.  A job not finished is
 *		55000, from results.c.
 */
Datum
zcrm_write_step_collect(PG_FUNCTION_ARGS)
{
	char	   *schema = ext_schema(fcinfo);
	int64		run_id;
	int32		part;
	ZcrmRunPart rp;
	ZcrmCall	call;
	ZcrmJobResults *volatile results = NULL;
	int64		nrows = 0;
	size_t		unmatched = 0;
	char	   *job_status = NULL;

	run_and_part(fcinfo, &run_id, &part);
	zcrm_run_read_part(schema, run_id, part, false, &rp);
	if (strcmp(rp.state, "completed") == 0)
		PG_RETURN_INT64(zcrm_run_count_results(schema, &rp));
	require_state(&rp, "created", "collect");
	zcrm_call_open(&call, opt_text(fcinfo, 2), opt_text(fcinfo, 3));
	PG_TRY();
	{
		results = zcrm_fetch_job_results(&call, rp.job_id);
		job_status = pstrdup(results->status);
		if (results->nparts < 1)
			ereport(ERROR,
					(errcode(ERRCODE_PROTOCOL_VIOLATION),
					 errmsg("the result file of bulk write job %s holds no CSV file", rp.job_id),
					 errdetail("%s", part_context(&rp))));
		nrows = zcrm_run_store_results(schema, &rp, results->parts[0].file,
									   &unmatched);
	}
	PG_FINALLY();
	{
		zcrm_job_results_free(results);
	}
	PG_END_TRY();

	if (unmatched > 0)
		ereport(WARNING,
				(errcode(ERRCODE_WARNING),
				 errmsg("%zu of " INT64_FORMAT " result rows of bulk write job %s could not be matched to their source rows",
						unmatched, nrows, rp.job_id),
				 errdetail("Their row_number and source_key are NULL in zcrm_write_result.  %s",
						   part_context(&rp)),
				 errhint("Zoho's result file repeats the first three columns sent: make them unique within a part (put a unique column first) so that every row can be matched.")));
	zcrm_run_mark_collected(schema, &rp,
							strcmp(job_status, "COMPLETED") == 0 ? NULL
							: psprintf("the job ended %s", job_status));
	PG_RETURN_INT64(nrows);
}

/*
 * zcrm_write_step_prepare(run_id bigint, query text, mappings jsonb)
 *		RETURNS bigint
 *		Run the query of a run in state "preparing" through prepare.c and
 *		store its parts and source rows; the run becomes "prepared" with
 *		its rows, parts and field mappings ("completed" with no parts when
 *		the query returns no rows).  Returns the number of rows.  Any error
 *		(the query's own, a local check) is raised; the caller records it.
 */
Datum
zcrm_write_step_prepare(PG_FUNCTION_ARGS)
{
	char	   *schema = ext_schema(fcinfo);
	int64		run_id;
	ZcrmWriteSpec spec;
	ZcrmPrepareResult result;
	ZcrmRunStore st;
	char	   *state;

	if (PG_ARGISNULL(0) || PG_ARGISNULL(1))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("run_id and query must not be null")));
	run_id = PG_GETARG_INT64(0);
	memset(&spec, 0, sizeof(spec));
	zcrm_run_read_spec(schema, run_id, &spec, &state);
	if (strcmp(state, "preparing") != 0)
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("bulk write run " INT64_FORMAT " is %s, not preparing", run_id, state)));
	spec.query = text_to_cstring(PG_GETARG_TEXT_PP(1));
	spec.mappings = PG_ARGISNULL(2) ? NULL : PG_GETARG_JSONB_P(2);
	spec.zip = true;

	st.schema = schema;
	st.run_id = run_id;
	zcrm_prepare(&spec, zcrm_run_store_part, &st, &result);
	zcrm_run_finish_prepare(schema, run_id, &result);
	PG_RETURN_INT64(result.rows);
}
