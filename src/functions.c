/*-------------------------------------------------------------------------
 *
 * functions.c
 *	  The SQL-callable functions of zcrm_bulk.
 *
 * Arguments in, rows out: each function checks its arguments, opens a
 * call and fetches its jobs through zoho.c (which holds every rule of
 * Zoho's API: tokens, URLs, the retry after INVALID_TOKEN, what a response
 * means) and turns the parsed jobs into rows (materialize mode: one call
 * fills the whole tuplestore).  Failures are raised through errors.c.  The
 * batch functions (zcrm_write_jobs and zcrm_write_jobs_field_mappings)
 * fetch all their jobs at once and, unless on_error is 'raise', turn a
 * job's failure into a row from errors.c's description of it.
 * zcrm_write_job_wait() is in wait.c, which shares the argument handling
 * and row building declared in functions.h.  Nothing here builds a URL,
 * looks at an HTTP status, talks to libcurl or reads JSON, and no request
 * state outlives the call.
 *
 * Copyright (c) 2026, zcrm_bulk developers
 *
 * IDENTIFICATION
 *	  src/functions.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "catalog/pg_type_d.h"
#include "fmgr.h"
#include "funcapi.h"
#include "lib/stringinfo.h"
#include "mb/pg_wchar.h"
#include "miscadmin.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/hsearch.h"
#include "utils/jsonb.h"
#include "utils/memutils.h"

#include "errors.h"
#include "functions.h"
#include "parse.h"
#include "utf8text.h"
#include "validate.h"
#include "zoho.h"

PG_FUNCTION_INFO_V1(zcrm_write_job);
PG_FUNCTION_INFO_V1(zcrm_write_job_field_mappings);
PG_FUNCTION_INFO_V1(zcrm_write_job_json);
PG_FUNCTION_INFO_V1(zcrm_write_jobs);
PG_FUNCTION_INFO_V1(zcrm_write_jobs_field_mappings);

/* Columns of zcrm_write_job(), in the order of the SQL type. */
enum
{
	JOB_COL_JOB_ID,
	JOB_COL_STATUS,
	JOB_COL_OPERATION,
	JOB_COL_IGNORE_EMPTY,
	JOB_COL_CHARACTER_ENCODING,
	JOB_COL_CREATED_TIME,
	JOB_COL_CREATED_BY_ID,
	JOB_COL_CREATED_BY_NAME,
	JOB_COL_CALLBACK_URL,
	JOB_COL_CALLBACK_METHOD,
	JOB_COL_DOWNLOAD_URL,
	JOB_COL_RESOURCE_INDEX,
	JOB_COL_RESOURCE_TYPE,
	JOB_COL_RESOURCE_MODULE,
	JOB_COL_RESOURCE_MODULE_ID,
	JOB_COL_RESOURCE_STATUS,
	JOB_COL_RESOURCE_CODE,
	JOB_COL_FILE_NAME,
	JOB_COL_FILE_STATUS,
	JOB_COL_ADDED_COUNT,
	JOB_COL_UPDATED_COUNT,
	JOB_COL_SKIPPED_COUNT,
	JOB_COL_TOTAL_COUNT,
	JOB_NCOLS
};

/* Columns of zcrm_write_job_field_mappings(). */
enum
{
	MAP_COL_JOB_ID,
	MAP_COL_RESOURCE_INDEX,
	MAP_COL_RESOURCE_MODULE,
	MAP_COL_API_NAME,
	MAP_COL_INDEX,
	MAP_COL_FORMAT,
	MAP_COL_FIND_BY,
	MAP_COL_MODULE,
	MAP_COL_DEFAULT_VALUE,
	MAP_COL_PARENT_COLUMN_INDEX,
	MAP_NCOLS
};

/*
 * The batch functions' row types append three columns to the single-job
 * ones: error_sqlstate, error_code, error_message.
 */
#define ZCRM_ERROR_NCOLS	3

/*
 * required_text_arg
 *		Argument "argno" as a C string; NULL is an error (22004) naming the
 *		argument.
 */
static char *
required_text_arg(FunctionCallInfo fcinfo, int argno, const char *name)
{
	if (PG_ARGISNULL(argno))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("%s must not be null", name),
				 errhint("Pass a value for %s.", name)));
	return text_to_cstring(PG_GETARG_TEXT_PP(argno));
}

/*
 * optional_text_arg
 *		Argument "argno" as a C string, or NULL when it is NULL.
 */
static char *
optional_text_arg(FunctionCallInfo fcinfo, int argno)
{
	return PG_ARGISNULL(argno) ? NULL : text_to_cstring(PG_GETARG_TEXT_PP(argno));
}

/*
 * open_call
 *		Open the call with arguments 1 (token) and 2 (connection); see
 *		zcrm_call_open().  The 1.0 SQL definitions pass two arguments; the
 *		token is then required.
 */
static void
open_call(FunctionCallInfo fcinfo, ZcrmCall *call)
{
	if (PG_NARGS() < 3)
		zcrm_call_open(call, required_text_arg(fcinfo, 1, "token"), NULL);
	else
		zcrm_call_open(call, optional_text_arg(fcinfo, 1),
					   optional_text_arg(fcinfo, 2));
}

/*
 * zcrm_resolve_call
 *		Validate the arguments job_id (0), token (1) and connection (2) and
 *		open the call: the job id is checked before anything is requested
 *		(a connection's token refresh is the only request made here).
 */
void
zcrm_resolve_call(FunctionCallInfo fcinfo, ZcrmCall *call)
{
	char	   *job_id = required_text_arg(fcinfo, 0, "job_id");

	zcrm_check_job_id(job_id);
	open_call(fcinfo, call);
	call->job_id = job_id;
}

/*
 * text_or_null / int8_or_null / int4_or_null
 *		Store one value into values[]/nulls[].  Strings from parse.c are
 *		valid UTF-8 and are converted to the database encoding.
 */
static void
text_or_null(Datum *values, bool *nulls, int col, const char *s)
{
	if (s == NULL)
	{
		nulls[col] = true;
		return;
	}
	values[col] = zcrm_utf8_text_datum(s);
	nulls[col] = false;
}

static void
int8_or_null(Datum *values, bool *nulls, int col, bool has, int64 v)
{
	values[col] = has ? Int64GetDatum(v) : (Datum) 0;
	nulls[col] = !has;
}

static void
int4_or_null(Datum *values, bool *nulls, int col, bool has, int32 v)
{
	values[col] = has ? Int32GetDatum(v) : (Datum) 0;
	nulls[col] = !has;
}

/* See functions.h. */
void
zcrm_check_result_columns(ReturnSetInfo *rsinfo, int ncols, bool batch)
{
	int			want = ncols + (batch ? ZCRM_ERROR_NCOLS : 0);

	if (rsinfo->setDesc->natts != want)
		ereport(ERROR,
				(errcode(ERRCODE_DATATYPE_MISMATCH),
				 errmsg("function returning a set has %d result columns, this library returns %d",
						rsinfo->setDesc->natts, want),
				 errhint("Run ALTER EXTENSION zcrm_bulk UPDATE.")));
}

/*
 * zcrm_emit_job_rows
 *		One row per resource (or one row with NULL resource columns when the
 *		job has none), the job columns repeated on each.  A batch function
 *		passes the requested "job_id" (the job_id column then holds it, and
 *		the error columns are NULL); single-job functions pass NULL.  The
 *		resource columns are built in a context reset per row, so memory
 *		stays flat however many resources a job has.
 */
void
zcrm_emit_job_rows(ReturnSetInfo *rsinfo, const ZcrmJob *job, const ZcrmCall *call,
				   const char *job_id)
{
	Datum		values[JOB_NCOLS + ZCRM_ERROR_NCOLS] = {0};
	bool		nulls[JOB_NCOLS + ZCRM_ERROR_NCOLS] = {0};
	int			nrows = Max(job->nresources, 1);
	MemoryContext rowcxt;
	MemoryContext oldcxt;

	zcrm_check_result_columns(rsinfo, JOB_NCOLS, job_id != NULL);
	for (int col = JOB_NCOLS; col < JOB_NCOLS + ZCRM_ERROR_NCOLS; col++)
		nulls[col] = true;

	text_or_null(values, nulls, JOB_COL_JOB_ID, job_id ? job_id : job->id);
	text_or_null(values, nulls, JOB_COL_STATUS, job->status);
	text_or_null(values, nulls, JOB_COL_OPERATION, job->operation);
	values[JOB_COL_IGNORE_EMPTY] = BoolGetDatum(job->ignore_empty);
	nulls[JOB_COL_IGNORE_EMPTY] = !job->has_ignore_empty;
	text_or_null(values, nulls, JOB_COL_CHARACTER_ENCODING, job->character_encoding);
	if (job->created_time)
		values[JOB_COL_CREATED_TIME] =
			DirectFunctionCall3(timestamptz_in,
								CStringGetDatum(job->created_time),
								ObjectIdGetDatum(InvalidOid),
								Int32GetDatum(-1));
	nulls[JOB_COL_CREATED_TIME] = (job->created_time == NULL);
	text_or_null(values, nulls, JOB_COL_CREATED_BY_ID, job->created_by_id);
	text_or_null(values, nulls, JOB_COL_CREATED_BY_NAME, job->created_by_name);
	text_or_null(values, nulls, JOB_COL_CALLBACK_URL, job->callback_url);
	text_or_null(values, nulls, JOB_COL_CALLBACK_METHOD, job->callback_method);
	text_or_null(values, nulls, JOB_COL_DOWNLOAD_URL,
				 job->download_url ? zcrm_download_url(call, job->download_url) : NULL);

	rowcxt = AllocSetContextCreate(CurrentMemoryContext,
								   "zcrm_bulk job row", ALLOCSET_SMALL_SIZES);
	oldcxt = MemoryContextSwitchTo(rowcxt);
	for (int i = 0; i < nrows; i++)
	{
		const ZcrmResource *r = (i < job->nresources) ? &job->resources[i] : NULL;

		if (r == NULL)
		{
			for (int col = JOB_COL_RESOURCE_INDEX; col < JOB_NCOLS; col++)
				nulls[col] = true;
		}
		else
		{
			int4_or_null(values, nulls, JOB_COL_RESOURCE_INDEX, true, i);
			text_or_null(values, nulls, JOB_COL_RESOURCE_TYPE, r->type);
			text_or_null(values, nulls, JOB_COL_RESOURCE_MODULE, r->module);
			text_or_null(values, nulls, JOB_COL_RESOURCE_MODULE_ID, r->module_id);
			text_or_null(values, nulls, JOB_COL_RESOURCE_STATUS, r->status);
			text_or_null(values, nulls, JOB_COL_RESOURCE_CODE, r->code);
			text_or_null(values, nulls, JOB_COL_FILE_NAME, r->file_name);
			text_or_null(values, nulls, JOB_COL_FILE_STATUS, r->file_status);
			int8_or_null(values, nulls, JOB_COL_ADDED_COUNT, r->has_added_count, r->added_count);
			int8_or_null(values, nulls, JOB_COL_UPDATED_COUNT, r->has_updated_count, r->updated_count);
			int8_or_null(values, nulls, JOB_COL_SKIPPED_COUNT, r->has_skipped_count, r->skipped_count);
			int8_or_null(values, nulls, JOB_COL_TOTAL_COUNT, r->has_total_count, r->total_count);
		}
		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
		MemoryContextReset(rowcxt);
		CHECK_FOR_INTERRUPTS();
	}
	MemoryContextSwitchTo(oldcxt);
	MemoryContextDelete(rowcxt);
}

/*
 * emit_mapping_rows
 *		One row per field mapping of every resource, in document order.  Row
 *		values are built in a context reset per row, so memory stays flat
 *		however many mappings a job has.  "job_id" as for zcrm_emit_job_rows().
 */
static void
emit_mapping_rows(ReturnSetInfo *rsinfo, const ZcrmJob *job, const ZcrmCall *call,
				  const char *job_id)
{
	MemoryContext rowcxt;
	MemoryContext oldcxt;

	zcrm_check_result_columns(rsinfo, MAP_NCOLS, job_id != NULL);

	rowcxt = AllocSetContextCreate(CurrentMemoryContext,
								   "zcrm_bulk field mapping row",
								   ALLOCSET_SMALL_SIZES);
	oldcxt = MemoryContextSwitchTo(rowcxt);

	for (int i = 0; i < job->nresources; i++)
	{
		const ZcrmResource *r = &job->resources[i];

		for (int m = 0; m < r->nmappings; m++)
		{
			const ZcrmFieldMapping *fm = &r->mappings[m];
			Datum		values[MAP_NCOLS + ZCRM_ERROR_NCOLS] = {0};
			bool		nulls[MAP_NCOLS + ZCRM_ERROR_NCOLS] = {0};

			for (int col = MAP_NCOLS; col < MAP_NCOLS + ZCRM_ERROR_NCOLS; col++)
				nulls[col] = true;
			text_or_null(values, nulls, MAP_COL_JOB_ID, job_id ? job_id : job->id);
			int4_or_null(values, nulls, MAP_COL_RESOURCE_INDEX, true, i);
			text_or_null(values, nulls, MAP_COL_RESOURCE_MODULE, r->module);
			text_or_null(values, nulls, MAP_COL_API_NAME, fm->api_name);
			int4_or_null(values, nulls, MAP_COL_INDEX, fm->has_index, fm->index);
			text_or_null(values, nulls, MAP_COL_FORMAT, fm->format);
			text_or_null(values, nulls, MAP_COL_FIND_BY, fm->find_by);
			text_or_null(values, nulls, MAP_COL_MODULE, fm->module);
			if (fm->default_value)
			{
				char	   *json = zcrm_utf8_to_server(fm->default_value,
													   strlen(fm->default_value));

				values[MAP_COL_DEFAULT_VALUE] =
					DirectFunctionCall1(jsonb_in, CStringGetDatum(json));
			}
			nulls[MAP_COL_DEFAULT_VALUE] = (fm->default_value == NULL);
			int4_or_null(values, nulls, MAP_COL_PARENT_COLUMN_INDEX,
						 fm->has_parent_column_index, fm->parent_column_index);

			tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
			MemoryContextReset(rowcxt);
			CHECK_FOR_INTERRUPTS();
		}
		CHECK_FOR_INTERRUPTS();
	}

	MemoryContextSwitchTo(oldcxt);
	MemoryContextDelete(rowcxt);
}

/* zcrm_emit_job_rows or emit_mapping_rows */
typedef void (*ZcrmEmitRows) (ReturnSetInfo *rsinfo, const ZcrmJob *job,
							  const ZcrmCall *call, const char *job_id);

/*
 * materialize_job
 *		The body of the two set-returning functions: fetch and parse the job,
 *		then let "emit" fill the tuplestore.  The parsed job is freed even
 *		when emitting rows raises an error.
 */
static Datum
materialize_job(FunctionCallInfo fcinfo,
				ZcrmEmitRows emit)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	ZcrmCall	call;
	ZcrmJob    *job;

	InitMaterializedSRF(fcinfo, MAT_SRF_USE_EXPECTED_DESC);
	zcrm_resolve_call(fcinfo, &call);
	job = zcrm_fetch_job(&call);

	PG_TRY();
	{
		emit(rsinfo, job, &call, NULL);
	}
	PG_FINALLY();
	{
		zcrm_job_free(job);
	}
	PG_END_TRY();

	return (Datum) 0;
}

/*
 * zcrm_write_job(job_id text, token text, connection text)
 *		RETURNS SETOF zcrm_write_job_row
 */
Datum
zcrm_write_job(PG_FUNCTION_ARGS)
{
	return materialize_job(fcinfo, zcrm_emit_job_rows);
}

/*
 * zcrm_write_job_field_mappings(job_id text, token text, connection text)
 *		RETURNS SETOF zcrm_field_mapping_row
 */
Datum
zcrm_write_job_field_mappings(PG_FUNCTION_ARGS)
{
	return materialize_job(fcinfo, emit_mapping_rows);
}

/*
 * zcrm_write_job_json(job_id text, token text, connection text) RETURNS jsonb
 *		The document exactly as sent (numbers keep every digit), once it is
 *		known to be a JSON object that is not a Zoho error.
 */
Datum
zcrm_write_job_json(PG_FUNCTION_ARGS)
{
	ZcrmCall	call;
	ZcrmHttpResponse resp;
	char	   *json;

	zcrm_resolve_call(fcinfo, &call);
	zcrm_fetch_job_document(&call, &resp);
	json = zcrm_utf8_to_server(resp.body, resp.body_len);
	PG_RETURN_DATUM(DirectFunctionCall1(jsonb_in, CStringGetDatum(json)));
}

/* One element of a batch function's job_ids, and what became of it. */
typedef struct ZcrmBatchJob
{
	char	   *job_id;			/* as passed; NULL for a NULL element */
	bool		duplicate;		/* an earlier element has the same id */
	int			req;			/* its request, or -1 when none is made */
	ZcrmError	err;			/* why it failed (message NULL: it did not) */
} ZcrmBatchJob;

/* What the batch functions' hash of job ids holds. */
typedef struct ZcrmJobIdEntry
{
	char		job_id[ZCRM_MAX_JOB_ID_LEN + 1];	/* the key */
	int			req;
} ZcrmJobIdEntry;

/*
 * batch_on_error
 *		The on_error argument (3): true for 'raise', false for 'row'.
 */
static bool
batch_on_error(FunctionCallInfo fcinfo)
{
	char	   *on_error = required_text_arg(fcinfo, 3, "on_error");

	if (strcmp(on_error, "raise") == 0)
		return true;
	if (strcmp(on_error, "row") != 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("invalid value for on_error: \"%s\"", on_error),
				 errdetail("on_error is 'row' (a failed job yields a row with its error) or 'raise' (the first failed job raises its error)."),
				 errhint("Pass on_error => 'row' or on_error => 'raise'.")));
	return false;
}

/*
 * batch_jobs
 *		The job_ids argument (0) as ZcrmBatchJob entries, in array order (a
 *		multi-dimensional array is read in storage order).  NULL elements
 *		and invalid ids become failed entries without a request; a repeated
 *		id is marked duplicate and shares the first one's request.  Returns
 *		the number of entries and sets *nreqs to the number of distinct
 *		valid ids, numbered 0.. in order of first appearance, and (*ids_out)
 *		to those ids by that number.
 */
static int
batch_jobs(FunctionCallInfo fcinfo, ZcrmBatchJob **jobs_out, char ***ids_out,
		   int *nreqs)
{
	ArrayType  *arr;
	Datum	   *elems;
	bool	   *elnulls;
	int			n;
	HASHCTL		ctl;
	HTAB	   *seen;
	ZcrmBatchJob *jobs;
	char	  **ids;

	if (PG_ARGISNULL(0))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("job_ids must not be null"),
				 errhint("Pass an array of job ids, for example ARRAY['4150868000005392002'].")));
	arr = PG_GETARG_ARRAYTYPE_P(0);
	deconstruct_array(arr, TEXTOID, -1, false, TYPALIGN_INT, &elems, &elnulls, &n);

	memset(&ctl, 0, sizeof(ctl));
	ctl.keysize = ZCRM_MAX_JOB_ID_LEN + 1;
	ctl.entrysize = sizeof(ZcrmJobIdEntry);
	ctl.hcxt = CurrentMemoryContext;
	seen = hash_create("zcrm_bulk job ids", Max(n, 16), &ctl,
					   HASH_ELEM | HASH_STRINGS | HASH_CONTEXT);

	jobs = palloc0(sizeof(ZcrmBatchJob) * Max(n, 1));
	ids = palloc0(sizeof(char *) * Max(n, 1));
	*nreqs = 0;
	for (int i = 0; i < n; i++)
	{
		ZcrmBatchJob *bj = &jobs[i];
		ZcrmJobIdEntry *entry;
		bool		found;

		bj->req = -1;
		if (elnulls[i])
		{
			bj->err.sqlstate = ERRCODE_NULL_VALUE_NOT_ALLOWED;
			bj->err.message = "job id must not be null";
			bj->err.detail = psprintf("Element %d of job_ids is null.", i + 1);
			bj->err.hint = "Leave null ids out of job_ids.";
			continue;
		}
		bj->job_id = TextDatumGetCString(elems[i]);
		if (zcrm_bad_job_id(bj->job_id, &bj->err))
			continue;
		entry = hash_search(seen, bj->job_id, HASH_ENTER, &found);
		if (found)
			bj->duplicate = true;
		else
		{
			entry->req = (*nreqs)++;
			ids[entry->req] = bj->job_id;
		}
		bj->req = entry->req;
	}
	hash_destroy(seen);
	*jobs_out = jobs;
	*ids_out = ids;
	return n;
}

/*
 * emit_error_row
 *		The row of a job that could not be fetched: its job_id (as passed)
 *		and the error columns after the "ncols" columns of a single-job row;
 *		every other column NULL.
 */
static void
emit_error_row(ReturnSetInfo *rsinfo, int ncols, const char *job_id,
			   const ZcrmError *err)
{
	Datum	   *values = palloc0(sizeof(Datum) * (ncols + ZCRM_ERROR_NCOLS));
	bool	   *nulls = palloc(sizeof(bool) * (ncols + ZCRM_ERROR_NCOLS));

	zcrm_check_result_columns(rsinfo, ncols, true);
	memset(nulls, true, sizeof(bool) * (ncols + ZCRM_ERROR_NCOLS));
	if (job_id)
	{
		values[0] = CStringGetTextDatum(job_id);
		nulls[0] = false;
	}
	values[ncols] = CStringGetTextDatum(unpack_sql_state(err->sqlstate));
	nulls[ncols] = false;
	if (err->api_code)
	{
		values[ncols + 1] = CStringGetTextDatum(err->api_code);
		nulls[ncols + 1] = false;
	}
	values[ncols + 2] = CStringGetTextDatum(err->message);
	nulls[ncols + 2] = false;
	tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
	pfree(values);
	pfree(nulls);
}

/*
 * materialize_batch
 *		The body of the batch functions: check every argument, fetch every
 *		distinct valid job concurrently, then, in the order of job_ids (a
 *		repeated id only the first time), let "emit" add each job's rows, or
 *		add an error row (on_error 'row') or raise the job's error (on_error
 *		'raise') for a job that failed.  Each job is parsed, emitted and
 *		freed in turn, so at most one parsed job is held at a time.
 */
static Datum
materialize_batch(FunctionCallInfo fcinfo, ZcrmEmitRows emit, int ncols)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	ZcrmCall	call;
	ZcrmBatchJob *jobs;
	char	  **ids;
	ZcrmFetched *fetched;
	int			njobs;
	int			nreqs;
	bool		raise;

	InitMaterializedSRF(fcinfo, MAT_SRF_USE_EXPECTED_DESC);
	zcrm_check_result_columns(rsinfo, ncols, true);
	raise = batch_on_error(fcinfo);
	njobs = batch_jobs(fcinfo, &jobs, &ids, &nreqs);
	open_call(fcinfo, &call);
	fetched = zcrm_fetch_jobs(&call, ids, nreqs);

	for (int i = 0; i < njobs; i++)
	{
		ZcrmBatchJob *bj = &jobs[i];
		ZcrmJob    *job = NULL;

		CHECK_FOR_INTERRUPTS();
		if (bj->duplicate)
			continue;
		if (bj->err.message == NULL)
			job = zcrm_fetched_job(&call, fetched, bj->req, &bj->err);
		if (job == NULL)
		{
			if (raise)
				zcrm_raise_error(&bj->err);
			emit_error_row(rsinfo, ncols, bj->job_id, &bj->err);
		}
		else
		{
			PG_TRY();
			{
				emit(rsinfo, job, &call, bj->job_id);
			}
			PG_FINALLY();
			{
				zcrm_job_free(job);
			}
			PG_END_TRY();
		}
		if (bj->req >= 0)
			zcrm_fetched_release(fetched, bj->req);
	}
	return (Datum) 0;
}

/*
 * zcrm_write_jobs(job_ids text[], token text, connection text, on_error text)
 *		RETURNS SETOF zcrm_write_jobs_row
 */
Datum
zcrm_write_jobs(PG_FUNCTION_ARGS)
{
	return materialize_batch(fcinfo, zcrm_emit_job_rows, JOB_NCOLS);
}

/*
 * zcrm_write_jobs_field_mappings(job_ids text[], token text, connection text,
 *								  on_error text)
 *		RETURNS SETOF zcrm_jobs_field_mapping_row
 */
Datum
zcrm_write_jobs_field_mappings(PG_FUNCTION_ARGS)
{
	return materialize_batch(fcinfo, emit_mapping_rows, MAP_NCOLS);
}
