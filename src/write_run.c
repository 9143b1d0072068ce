/*-------------------------------------------------------------------------
 *
 * write_run.c
 *	  The steps of a bulk write run: prepare, upload, create; and what
 *	  every step shares (write_steps.h).
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
 *	- collect (write_send.c): downloads a finished job's result file
 *	  (results.c), matches its rows to the part's source rows (match.c)
 *	  and stores one row per result row;
 *	- send (write_send.c): zcrm_write()'s parts end to end, each part's
 *	  upload, create, first poll and collect as soon as its own previous
 *	  call ends (write_chain.c).
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
#include "write_steps.h"
#include "zoho.h"
#include "zoho_write.h"

PG_FUNCTION_INFO_V1(zcrm_write_step_prepare);
PG_FUNCTION_INFO_V1(zcrm_write_step_upload);
PG_FUNCTION_INFO_V1(zcrm_write_step_create);
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
 * zcrm_step_schema
 *		See write_steps.h.
 */
char *
zcrm_step_schema(FunctionCallInfo fcinfo)
{
	Oid			nsp = get_func_namespace(fcinfo->flinfo->fn_oid);
	char	   *name = get_namespace_name(nsp);

	if (name == NULL)
		elog(ERROR, "cache lookup failed for namespace %u", nsp);
	return pstrdup(quote_identifier(name));
}





/*
 * zcrm_step_require_state
 *		See write_steps.h.
 */
void
zcrm_step_require_state(const ZcrmRunPart *rp, const char *state, const char *step)
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
 * zcrm_step_part_context
 *		See write_steps.h.
 */
char *
zcrm_step_part_context(const ZcrmRunPart *rp)
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



/*
 * zcrm_step_text
 *		See write_steps.h.
 */
char *
zcrm_step_text(FunctionCallInfo fcinfo, int argno)
{
	return PG_ARGISNULL(argno) ? NULL : text_to_cstring(PG_GETARG_TEXT_PP(argno));
}

/*
 * zcrm_step_parts
 *		See write_steps.h.
 */
int
zcrm_step_parts(FunctionCallInfo fcinfo, int64 *run_id, int32 **parts)
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
 * zcrm_step_open_part
 *		See write_steps.h.
 */
void
zcrm_step_open_part(const char *schema, int64 run_id, int32 part, const char *state,
					const char *step, bool want_zip, ZcrmRunPart *rp)
{
	zcrm_run_read_part(schema, run_id, part, want_zip, false, rp);
	zcrm_step_require_state(rp, state, step);
}

/*
 * zcrm_step_part_lacks
 *		See write_steps.h.
 */
void
zcrm_step_part_lacks(const ZcrmRunPart *rp, const char *what)
{
	ereport(ERROR,
			(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
			 errmsg("part %d of bulk write run " INT64_FORMAT " has no %s",
					rp->part, rp->run_id, what)));
}

/*
 * zcrm_step_open_upload
 *		See write_steps.h.
 */
void
zcrm_step_open_upload(const char *schema, int64 run_id, int32 part, const char *step,
					  ZcrmRunPart *rp, const char **zip, size_t *len, const char **file_name)
{
	zcrm_step_open_part(schema, run_id, part, "uploading", step, true, rp);
	if (rp->zip == NULL)
		zcrm_step_part_lacks(rp, "zip to upload");
	*zip = VARDATA(rp->zip);
	*len = VARSIZE(rp->zip) - VARHDRSZ;
	*file_name = psprintf("zcrm_bulk-" INT64_FORMAT "-%d.zip", rp->run_id, rp->part);
}

/*
 * zcrm_step_job_spec
 *		See write_steps.h.
 */
void
zcrm_step_job_spec(const ZcrmRunPart *rp, ZcrmWriteJobSpec *spec)
{
	memset(spec, 0, sizeof(*spec));
	spec->module = rp->module;
	spec->operation = rp->operation;
	spec->find_by = rp->find_by;
	spec->field_mappings = rp->field_mappings;
	spec->ignore_empty = rp->ignore_empty;
	spec->file_id = rp->file_id;
}

/*
 * zcrm_step_failed
 *		See write_steps.h.
 */
void
zcrm_step_failed(const char *schema, const ZcrmRunPart *rp, ZcrmSendResult result,
				 const ZcrmError *err, ZcrmStepFailure *first)
{
	if (result == ZCRM_SEND_REFUSED)
		zcrm_run_record_refusal(schema, rp, refusal_text(err));
	if (!first->any)
	{
		first->any = true;
		first->err = *err;
		first->context = zcrm_step_part_context(rp);
	}
}

/*
 * zcrm_step_record_org
 *		See write_steps.h.  (After the uploads: a token refresh may have
 *		moved the API domain.)
 */
void
zcrm_step_record_org(const char *schema, int64 run_id, const ZcrmCall *call,
					 bool accepted)
{
	char	   *key = zcrm_write_org_key(call);

	if (!accepted)
		zcrm_write_org_forget(call);
	if (key != NULL)
		zcrm_run_record_org(schema, run_id, key,
							accepted ? zcrm_write_org_known(call) : NULL);
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
	char	   *schema = zcrm_step_schema(fcinfo);
	int64		run_id;
	int32	   *parts;
	int			n = zcrm_step_parts(fcinfo, &run_id, &parts);
	int			group = Max(zcrm_max_concurrency, 1);
	ZcrmCall	call;
	ZcrmStepFailure first;
	bool		accepted = false;

	memset(&first, 0, sizeof(first));
	zcrm_call_open(&call, zcrm_step_text(fcinfo, 2), zcrm_step_text(fcinfo, 3));
	for (int start = 0; start < n && !first.any; start += group)
	{
		int			m = Min(group, n - start);
		ZcrmRunPart *rps = palloc0(sizeof(ZcrmRunPart) * m);
		ZcrmUploadItem *items = palloc0(sizeof(ZcrmUploadItem) * m);

		for (int k = 0; k < m; k++)
		{
			ZcrmRunPart *rp = &rps[k];

			zcrm_step_open_upload(schema, run_id, parts[start + k], "upload", rp,
								  &items[k].zip, &items[k].len, &items[k].file_name);
		}
		zcrm_write_upload_many(&call, items, m);
		for (int k = 0; k < m; k++)
		{
			ZcrmRunPart *rp = &rps[k];

			accepted |= (items[k].result == ZCRM_SEND_OK);
			if (items[k].result != ZCRM_SEND_OK)
				zcrm_step_failed(schema, rp, items[k].result, &items[k].err, &first);
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
	zcrm_step_record_org(schema, run_id, &call, accepted);
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
	char	   *schema = zcrm_step_schema(fcinfo);
	int64		run_id;
	int32	   *parts;
	int			n = zcrm_step_parts(fcinfo, &run_id, &parts);
	int			group = Max(zcrm_max_concurrency, 1);
	char	   *connection = zcrm_step_text(fcinfo, 3);
	bool		track = !PG_ARGISNULL(4) && PG_GETARG_BOOL(4);
	ZcrmCall	call;
	ZcrmStepFailure first;

	memset(&first, 0, sizeof(first));
	zcrm_call_open(&call, zcrm_step_text(fcinfo, 2), connection);
	for (int start = 0; start < n && !first.any; start += group)
	{
		int			m = Min(group, n - start);
		ZcrmRunPart *rps = palloc0(sizeof(ZcrmRunPart) * m);
		ZcrmWriteJobSpec *specs = palloc0(sizeof(ZcrmWriteJobSpec) * m);
		ZcrmCreateItem *items = palloc0(sizeof(ZcrmCreateItem) * m);

		for (int k = 0; k < m; k++)
		{
			ZcrmRunPart *rp = &rps[k];

			zcrm_step_open_part(schema, run_id, parts[start + k], "creating", "create", false, rp);
			if (rp->file_id == NULL)
				zcrm_step_part_lacks(rp, "file id");
			zcrm_step_job_spec(rp, &specs[k]);
			items[k].spec = &specs[k];
		}
		zcrm_write_create_many(&call, items, m);
		for (int k = 0; k < m; k++)
		{
			ZcrmRunPart *rp = &rps[k];
			const char *job_id = items[k].job_id;

			if (items[k].result != ZCRM_SEND_OK)
			{
				zcrm_step_failed(schema, rp, items[k].result, &items[k].err, &first);
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

	zcrm_call_open(&call, zcrm_step_text(fcinfo, 0), zcrm_step_text(fcinfo, 1));
	key = zcrm_write_org_key(&call);
	if (key != NULL && zcrm_write_org_known(&call) == NULL)
		zcrm_write_org_remember(&call, zcrm_run_find_org(zcrm_step_schema(fcinfo), key));
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
	char	   *schema = zcrm_step_schema(fcinfo);
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
