/*-------------------------------------------------------------------------
 *
 * write_run.c
 *	  The steps of a bulk write run: prepare, upload, create, collect.
 *
 * A run (zcrm_write_submit() and zcrm_write(), in
 * sql/zcrm_bulk--2.0--2.1.sql) is a sequence of steps over its rows in
 * zcrm_write_run, zcrm_write_run_job, zcrm_write_source_part and
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
#include "utils/tuplestore.h"
#include "utils/builtins.h"
#include "utils/jsonb.h"
#include "catalog/pg_type_d.h"
#include "utils/array.h"
#include "utils/lsyscache.h"

#include "errors.h"
#include "prepare.h"
#include "results.h"
#include "run_store.h"
#include "settings.h"
#include "zoho.h"
#include "zoho_write.h"

PG_FUNCTION_INFO_V1(zcrm_write_step_prepare);
PG_FUNCTION_INFO_V1(zcrm_write_step_upload);
PG_FUNCTION_INFO_V1(zcrm_write_step_create);
PG_FUNCTION_INFO_V1(zcrm_write_step_collect);
PG_FUNCTION_INFO_V1(zcrm_write_step_prefetch);

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

/*
 * run_and_parts
 *		Arguments run_id and parts (integer[]; neither may be NULL, nor may
 *		an element): the run into *run_id, the parts into a palloc'd array.
 *		Returns how many parts.
 */
static int
run_and_parts(FunctionCallInfo fcinfo, int64 *run_id, int32 **parts)
{
	ArrayType  *a;
	Datum	   *elems;
	bool	   *nulls;
	int			n;

	if (PG_ARGISNULL(0) || PG_ARGISNULL(1))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("run_id and parts must not be null")));
	*run_id = PG_GETARG_INT64(0);
	a = PG_GETARG_ARRAYTYPE_P(1);
	deconstruct_array(a, INT4OID, 4, true, TYPALIGN_INT, &elems, &nulls, &n);
	*parts = palloc(sizeof(int32) * Max(n, 1));
	for (int i = 0; i < n; i++)
	{
		if (nulls[i])
			ereport(ERROR,
					(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
					 errmsg("parts must not hold a null")));
		(*parts)[i] = DatumGetInt32(elems[i]);
	}
	return n;
}

/*
 * open_part
 *		Part "part" of run_id, which must be in state "state" for step
 *		"step", into *rp, with its zip when want_zip.
 */
static void
open_part(const char *schema, int64 run_id, int32 part, const char *state,
		  const char *step, bool want_zip, ZcrmRunPart *rp)
{
	zcrm_run_read_part(schema, run_id, part, want_zip, false, rp);
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
 * SendFailure
 *		The first part of a send step that did not succeed, for the step's
 *		outcome: Zoho's refusal (recorded) or a failure whose effect is not
 *		known (the part left in the state committed before the request).
 */
typedef struct SendFailure
{
	bool		any;
	ZcrmError	err;
	char	   *context;
} SendFailure;

/*
 * send_failed
 *		Part rp's request ended with "result" and err: record a refusal
 *		(the part and its run become failed) and keep the first failure.
 */
static void
send_failed(const char *schema, const ZcrmRunPart *rp, ZcrmSendResult result,
			const ZcrmError *err, SendFailure *first)
{
	if (result == ZCRM_SEND_REFUSED)
		zcrm_run_record_refusal(schema, rp, refusal_text(err));
	if (!first->any)
	{
		first->any = true;
		first->err = *err;
		first->context = part_context(rp);
	}
}

/*
 * zcrm_write_step_upload(run_id bigint, parts integer[], token text,
 *						  connection text) RETURNS zcrm_write_step_outcome
 *		Upload the zips of the given parts, each in state "uploading", at
 *		most zcrm_bulk.max_concurrency at once (and so at most that many
 *		zips in memory), and make each "uploaded" with its file id.  A part
 *		Zoho refused becomes "failed"; a part whose upload failed otherwise
 *		stays "uploading".  Once a group has a failure no further group is
 *		sent.  Through a connection, the run records the key of its org id
 *		and the org id its uploads were accepted with (NULL when none was),
 *		for zcrm_write_step_prefetch() of later sessions.  Returns ok, or
 *		the first failure, for the caller to raise once what was recorded
 *		is committed.
 */
Datum
zcrm_write_step_upload(PG_FUNCTION_ARGS)
{
	char	   *schema = ext_schema(fcinfo);
	int64		run_id;
	int32	   *parts;
	int			n = run_and_parts(fcinfo, &run_id, &parts);
	int			group = Max(zcrm_max_concurrency, 1);
	ZcrmCall	call;
	SendFailure first;
	bool		accepted = false;
	char	   *key;

	memset(&first, 0, sizeof(first));
	zcrm_call_open(&call, opt_text(fcinfo, 2), opt_text(fcinfo, 3));
	for (int start = 0; start < n && !first.any; start += group)
	{
		int			m = Min(group, n - start);
		ZcrmRunPart *rps = palloc0(sizeof(ZcrmRunPart) * m);
		ZcrmUploadItem *items = palloc0(sizeof(ZcrmUploadItem) * m);

		for (int k = 0; k < m; k++)
		{
			ZcrmRunPart *rp = &rps[k];

			open_part(schema, run_id, parts[start + k], "uploading", "upload", true, rp);
			if (rp->zip == NULL)
				part_lacks(rp, "zip to upload");
			items[k].zip = VARDATA(rp->zip);
			items[k].len = VARSIZE(rp->zip) - VARHDRSZ;
			items[k].file_name = psprintf("zcrm_bulk-" INT64_FORMAT "-%d.zip",
										  rp->run_id, rp->part);
		}
		zcrm_write_upload_many(&call, items, m);
		for (int k = 0; k < m; k++)
		{
			ZcrmRunPart *rp = &rps[k];

			accepted |= (items[k].result == ZCRM_SEND_OK);
			if (items[k].result != ZCRM_SEND_OK)
				send_failed(schema, rp, items[k].result, &items[k].err, &first);
			else if (!zcrm_run_set_part(schema, rp, "{uploading}", "uploaded", "file_id",
										items[k].file_id, false))
				ereport(ERROR,
						(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
						 errmsg("part %d of bulk write run " INT64_FORMAT " changed state during its upload",
								rp->part, rp->run_id)));
			pfree(rp->zip);
			rp->zip = NULL;
		}
	}
	/* (after the uploads: a token refresh may have moved the API domain) */
	if ((key = zcrm_write_org_key(&call)) != NULL)
		zcrm_run_record_org(schema, run_id, key,
							accepted ? zcrm_write_org_known(&call) : NULL);
	PG_RETURN_DATUM(outcome(fcinfo, first.any ? &first.err : NULL, first.context));
}

/*
 * zcrm_write_step_create(run_id bigint, parts integer[], token text,
 *						  connection text, track boolean)
 *		RETURNS zcrm_write_step_outcome
 *		Create the jobs of the given parts, each in state "creating", from
 *		their file ids and the run's settings, at most
 *		zcrm_bulk.max_concurrency at once; make each "created" with its job
 *		id, drop its zip and, with track, track the job as the caller
 *		(zcrm_track_job(), through the run's connection) for the poller.  A
 *		part Zoho refused becomes "failed"; a part whose create failed
 *		otherwise stays "creating" (its job may or may not exist).  Once a
 *		group has a failure no further group is sent.  Returns ok or the
 *		first failure, as zcrm_write_step_upload() does.
 */
Datum
zcrm_write_step_create(PG_FUNCTION_ARGS)
{
	char	   *schema = ext_schema(fcinfo);
	int64		run_id;
	int32	   *parts;
	int			n = run_and_parts(fcinfo, &run_id, &parts);
	int			group = Max(zcrm_max_concurrency, 1);
	char	   *connection = opt_text(fcinfo, 3);
	bool		track = !PG_ARGISNULL(4) && PG_GETARG_BOOL(4);
	ZcrmCall	call;
	SendFailure first;

	memset(&first, 0, sizeof(first));
	zcrm_call_open(&call, opt_text(fcinfo, 2), connection);
	for (int start = 0; start < n && !first.any; start += group)
	{
		int			m = Min(group, n - start);
		ZcrmRunPart *rps = palloc0(sizeof(ZcrmRunPart) * m);
		ZcrmWriteJobSpec *specs = palloc0(sizeof(ZcrmWriteJobSpec) * m);
		ZcrmCreateItem *items = palloc0(sizeof(ZcrmCreateItem) * m);

		for (int k = 0; k < m; k++)
		{
			ZcrmRunPart *rp = &rps[k];

			open_part(schema, run_id, parts[start + k], "creating", "create", false, rp);
			if (rp->file_id == NULL)
				part_lacks(rp, "file id");
			specs[k].module = rp->module;
			specs[k].operation = rp->operation;
			specs[k].find_by = rp->find_by;
			specs[k].field_mappings = rp->field_mappings;
			specs[k].ignore_empty = rp->ignore_empty;
			specs[k].file_id = rp->file_id;
			items[k].spec = &specs[k];
		}
		zcrm_write_create_many(&call, items, m);
		for (int k = 0; k < m; k++)
		{
			ZcrmRunPart *rp = &rps[k];
			const char *job_id = items[k].job_id;

			if (items[k].result != ZCRM_SEND_OK)
			{
				send_failed(schema, rp, items[k].result, &items[k].err, &first);
				continue;
			}
			if (!zcrm_run_set_part(schema, rp, "{creating,uncertain}", "created", "job_id",
								   job_id, true))
				ereport(WARNING,
						(errcode(ERRCODE_WARNING),
						 errmsg("part %d of bulk write run " INT64_FORMAT " changed state while its job %s was created",
								rp->part, rp->run_id, job_id),
						 errdetail("Bulk write job %s exists in Zoho CRM for file %s.", job_id, rp->file_id),
						 errhint("Track it by hand with zcrm_track_job() if no other call recorded it.")));
			if (track)
				zcrm_run_track(schema, job_id, connection);
		}
	}
	PG_RETURN_DATUM(outcome(fcinfo, first.any ? &first.err : NULL, first.context));
}

/* Columns of zcrm_write_step_collect(). */
enum
{
	COL_PART,
	COL_JOB_ID,
	COL_STATUS,
	COL_MODULE,
	COL_PROCESSED,
	COL_TOTAL,
	COL_COLLECTED,
	COL_RESULT_ROWS,
	COL_NCOLS
};

/*
 * collect_row
 *		One row of zcrm_write_step_collect(): part rp, the job's status and
 *		progress when it was fetched (job NULL: the part was collected
 *		before), whether its results are stored and how many.
 */
static void
collect_row(FunctionCallInfo fcinfo, const ZcrmRunPart *rp, const ZcrmJob *job,
			bool collected, int64 result_rows)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	Datum		values[COL_NCOLS];
	bool		nulls[COL_NCOLS];

	memset(nulls, true, sizeof(nulls));
	values[COL_PART] = Int32GetDatum(rp->part);
	nulls[COL_PART] = false;
	values[COL_JOB_ID] = CStringGetTextDatum(rp->job_id);
	nulls[COL_JOB_ID] = false;
	if (job != NULL && job->status)
	{
		values[COL_STATUS] = CStringGetTextDatum(job->status);
		nulls[COL_STATUS] = false;
	}
	if (job != NULL && job->nresources > 0)
	{
		int64		processed = 0;
		int64		total = 0;
		bool		has_total = false;

		if (job->resources[0].module)
		{
			values[COL_MODULE] = CStringGetTextDatum(job->resources[0].module);
			nulls[COL_MODULE] = false;
		}
		for (int i = 0; i < job->nresources; i++)
		{
			const ZcrmResource *r = &job->resources[i];

			processed += (r->has_added_count ? r->added_count : 0) +
				(r->has_updated_count ? r->updated_count : 0) +
				(r->has_skipped_count ? r->skipped_count : 0);
			if (r->has_total_count)
			{
				total += r->total_count;
				has_total = true;
			}
		}
		values[COL_PROCESSED] = Int64GetDatum(processed);
		nulls[COL_PROCESSED] = false;
		values[COL_TOTAL] = Int64GetDatum(total);
		nulls[COL_TOTAL] = !has_total;
	}
	values[COL_COLLECTED] = BoolGetDatum(collected);
	nulls[COL_COLLECTED] = false;
	if (collected)
	{
		values[COL_RESULT_ROWS] = Int64GetDatum(result_rows);
		nulls[COL_RESULT_ROWS] = false;
	}
	tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
}

/* Whether a fetched job is finished: COMPLETED or FAILED. */
static bool
job_finished(const ZcrmJob *job)
{
	return job->status && (strcmp(job->status, "COMPLETED") == 0 ||
						   strcmp(job->status, "FAILED") == 0);
}

/*
 * store_result
 *		Store the downloaded result zip *resp of part rp's finished job:
 *		one zcrm_write_result row per result row (a WARNING counts the rows
 *		that could not be matched), the part "completed" (last_error noting
 *		a job that FAILED) and, with its last part, the run.  Returns the
 *		number of result rows.
 */
static int64
store_result(const char *schema, ZcrmCall *call, const ZcrmRunPart *rp,
			 const ZcrmJob *job, ZcrmHttpResponse *resp)
{
	ZcrmJobResults *volatile results = NULL;
	int64		nrows = 0;
	size_t		unmatched = 0;

	call->job_id = NULL;		/* name the job by its own id */
	PG_TRY();
	{
		results = zcrm_read_job_results(call, job, resp);
		nrows = zcrm_run_store_results(schema, rp, results->parts[0].file,
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
						unmatched, nrows, rp->job_id),
				 errdetail("Their row_number and source_key are NULL in zcrm_write_result.  %s",
						   part_context(rp)),
				 errhint("Zoho's result file repeats the first three columns sent: make them unique within a part (put a unique column first) so that every row can be matched.")));
	zcrm_run_mark_collected(schema, rp,
							strcmp(job->status, "COMPLETED") == 0 ? NULL
							: psprintf("the job ended %s", job->status));
	return nrows;
}

/*
 * zcrm_write_step_collect(run_id bigint, parts integer[], token text,
 *						   connection text)
 *		RETURNS TABLE (part integer, job_id text, status text,
 *					   resource_module text, processed bigint, total bigint,
 *					   collected boolean, result_rows bigint)
 *		Poll the jobs of the given parts (each "created", or "completed":
 *		already collected, not polled again) together (a job this backend
 *		has just fetched and found finished is taken as it was fetched:
 *		zcrm_take_recent_job()), and collect the
 *		result file of each finished one: the files are downloaded at most
 *		zcrm_bulk.max_concurrency at once and stored one after another
 *		(store_result()).  One row per part: the job's status and progress
 *		as polled, whether its results are stored and how many rows.  A job
 *		that cannot be fetched, or is finished without a result file, is
 *		raised, naming the part.
 */
Datum
zcrm_write_step_collect(PG_FUNCTION_ARGS)
{
	char	   *schema = ext_schema(fcinfo);
	int64		run_id;
	int32	   *parts;
	int			n = run_and_parts(fcinfo, &run_id, &parts);
	int			group = Max(zcrm_max_concurrency, 1);
	ZcrmRunPart *rps = palloc0(sizeof(ZcrmRunPart) * Max(n, 1));
	char	  **ids = palloc0(sizeof(char *) * Max(n, 1));
	int		   *of = palloc0(sizeof(int) * Max(n, 1));
	ZcrmJob   **jobs = palloc0(sizeof(ZcrmJob *) * Max(n, 1));
	int			nwait = 0;
	ZcrmCall	call;
	ZcrmFetched *f;

	InitMaterializedSRF(fcinfo, MAT_SRF_USE_EXPECTED_DESC);
	for (int i = 0; i < n; i++)
	{
		zcrm_run_read_part(schema, run_id, parts[i], false, true, &rps[i]);
		if (strcmp(rps[i].state, "completed") == 0)
		{
			collect_row(fcinfo, &rps[i], NULL, true,
						zcrm_run_count_results(schema, &rps[i]));
			continue;
		}
		require_state(&rps[i], "created", "collect");
		of[nwait] = i;
		ids[nwait++] = rps[i].job_id;
	}
	if (nwait == 0)
		PG_RETURN_NULL();

	zcrm_call_open(&call, opt_text(fcinfo, 2), opt_text(fcinfo, 3));
	PG_TRY();
	{
		ZcrmJob   **done = palloc0(sizeof(ZcrmJob *) * nwait);
		int		   *done_of = palloc0(sizeof(int) * nwait);
		int			ndone = 0;
		char	  **fetch_ids = palloc0(sizeof(char *) * nwait);
		int		   *fetch_of = palloc0(sizeof(int) * nwait);
		int			nfetch = 0;

		/* a job this backend has just seen finished is not fetched again */
		for (int k = 0; k < nwait; k++)
			if ((jobs[k] = zcrm_take_recent_job(&call, ids[k])) == NULL)
			{
				fetch_of[nfetch] = k;
				fetch_ids[nfetch++] = ids[k];
			}
		f = zcrm_fetch_jobs(&call, fetch_ids, nfetch);
		for (int m = 0; m < nfetch; m++)
		{
			int			k = fetch_of[m];
			ZcrmError	err;

			jobs[k] = zcrm_fetched_job(&call, f, m, &err);
			if (jobs[k] == NULL)
				zcrm_raise_error_context(&err, part_context(&rps[of[k]]));
			zcrm_fetched_release(f, m);
		}
		for (int k = 0; k < nwait; k++)
		{
			const ZcrmRunPart *rp = &rps[of[k]];

			if (!job_finished(jobs[k]))
				collect_row(fcinfo, rp, jobs[k], false, 0);
			else if (jobs[k]->download_url == NULL)
				ereport(ERROR,
						(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
						 errmsg("bulk write job %s is finished and has no result file", rp->job_id),
						 errdetail("Its status is %s, without a download_url.  %s",
								   jobs[k]->status, part_context(rp))));
			else
			{
				done_of[ndone] = of[k];
				done[ndone++] = jobs[k];
			}
		}
		for (int start = 0; start < ndone; start += group)
		{
			int			m = Min(group, ndone - start);
			ZcrmHttpResponse *resps = palloc0(sizeof(ZcrmHttpResponse) * m);

			call.job_id = NULL;
			zcrm_download_result_zips(&call, &done[start], m, resps);
			for (int j = 0; j < m; j++)
			{
				const ZcrmRunPart *rp = &rps[done_of[start + j]];
				int64		nrows = store_result(schema, &call, rp, done[start + j],
												 &resps[j]);

				collect_row(fcinfo, rp, done[start + j], true, nrows);
			}
			pfree(resps);
		}
	}
	PG_FINALLY();
	{
		for (int k = 0; k < nwait; k++)
			if (jobs[k] != NULL)
				zcrm_job_free(jobs[k]);
	}
	PG_END_TRY();
	PG_RETURN_NULL();
}

/*
 * zcrm_write_step_prefetch(token text, connection text) RETURNS void
 *		Start the org call of the token or connection in the background
 *		(zoho_write.h) unless its org id is cached, so that it runs while
 *		the next step prepares the rows; the upload step takes its answer.
 *		Through a connection, an org id that the caller's latest run with
 *		the same key recorded (zcrm_write_org_key(): the same server and
 *		user mapping, unaltered since, and API domain) is taken instead: a
 *		new session makes no org call.
 *		The callers ignore its errors: the upload step meets them again and
 *		handles them.
 */
Datum
zcrm_write_step_prefetch(PG_FUNCTION_ARGS)
{
	ZcrmCall	call;
	char	   *key;

	zcrm_call_open(&call, opt_text(fcinfo, 0), opt_text(fcinfo, 1));
	key = zcrm_write_org_key(&call);
	if (key != NULL && zcrm_write_org_known(&call) == NULL)
		zcrm_write_org_remember(&call, zcrm_run_find_org(ext_schema(fcinfo), key));
	zcrm_write_org_prefetch(&call);
	PG_RETURN_VOID();
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
