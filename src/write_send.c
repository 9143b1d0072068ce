/*-------------------------------------------------------------------------
 *
 * write_send.c
 *	  The steps of a bulk write run that follow its jobs: collect, and
 *	  zcrm_write()'s send end to end.
 *
 * See write_run.c for the steps, their states and their failures.  collect
 * polls the jobs of created parts and stores the result file of each
 * finished one (store_result(): results.c reads it, run_store.c matches
 * and stores its rows); send, for zcrm_write() only, since it commits
 * nothing between the calls, sends each part's upload, create, first poll
 * and result download end to end (write_chain.c) and stores each result
 * file as soon as it is here, while the other parts' calls go on.
 *
 * Copyright (c) 2026, zcrm_bulk developers
 *
 * IDENTIFICATION
 *	  src/write_send.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "funcapi.h"
#include "lib/stringinfo.h"
#include "utils/builtins.h"
#include "utils/tuplestore.h"

#include "errors.h"
#include "results.h"
#include "run_store.h"
#include "settings.h"
#include "write_chain.h"
#include "write_steps.h"
#include "zoho.h"
#include "zoho_write.h"

PG_FUNCTION_INFO_V1(zcrm_write_step_collect);
PG_FUNCTION_INFO_V1(zcrm_write_step_send);

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
		call->job_id = NULL;	/* (it named this job) */
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
						   zcrm_step_part_context(rp)),
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
	char	   *schema = zcrm_step_schema(fcinfo);
	int64		run_id;
	int32	   *parts;
	int			n = zcrm_step_parts(fcinfo, &run_id, &parts);
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
		zcrm_step_require_state(&rps[i], "created", "collect");
		of[nwait] = i;
		ids[nwait++] = rps[i].job_id;
	}
	if (nwait == 0)
		PG_RETURN_NULL();

	zcrm_call_open(&call, zcrm_step_text(fcinfo, 2), zcrm_step_text(fcinfo, 3));
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
				zcrm_raise_error_context(&err, zcrm_step_part_context(&rps[of[k]]));
			zcrm_fetched_release(f, m);
		}
		for (int k = 0; k < nwait; k++)
		{
			const ZcrmRunPart *rp = &rps[of[k]];

			if (!zcrm_job_finished(jobs[k]))
				collect_row(fcinfo, rp, jobs[k], false, 0);
			else if (jobs[k]->download_url == NULL)
				ereport(ERROR,
						(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
						 errmsg("bulk write job %s is finished and has no result file", rp->job_id),
						 errdetail("Its status is %s, without a download_url.  %s",
								   jobs[k]->status, zcrm_step_part_context(rp))));
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

/* What send_collected() needs: one group of zcrm_write_step_send(). */
typedef struct SendGroup
{
	FunctionCallInfo fcinfo;
	const char *schema;
	ZcrmCall   *call;
	ZcrmRunPart *rps;
	bool	   *recorded;		/* record_sent() has run for the part */
	ZcrmStepFailure *first;
} SendGroup;

/*
 * record_sent
 *		Record how far part k of a send group got before its poll: uploaded
 *		with its file id, created with its job id (its zip dropped), or
 *		failed (zcrm_step_failed()).  Runs once per part.
 */
static void
record_sent(SendGroup *g, int k, const ZcrmChainPart *cp)
{
	ZcrmRunPart *rp = &g->rps[k];
	bool		ok = true;

	if (g->recorded[k])
		return;
	g->recorded[k] = true;
	if (cp->step == ZCRM_CHAIN_UPLOAD && cp->result != ZCRM_SEND_OK)
	{
		zcrm_step_failed(g->schema, rp, cp->result, &cp->err, g->first);
		return;
	}
	ok = zcrm_run_set_part(g->schema, rp, "{uploading}", "uploaded", "file_id",
						   cp->file_id, false);
	rp->file_id = cp->file_id;
	if (ok && cp->step != ZCRM_CHAIN_UPLOAD)
		ok = zcrm_run_set_part(g->schema, rp, "{uploaded}", "creating", NULL, NULL, false);
	if (ok && cp->step == ZCRM_CHAIN_CREATE && cp->result != ZCRM_SEND_OK)
		zcrm_step_failed(g->schema, rp, cp->result, &cp->err, g->first);
	else if (ok && cp->step != ZCRM_CHAIN_UPLOAD)
	{
		ok = zcrm_run_set_part(g->schema, rp, "{creating}", "created", "job_id",
							   cp->job_id, true);
		rp->job_id = cp->job_id;
	}
	if (!ok)
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("part %d of bulk write run " INT64_FORMAT " changed state while it was sent",
						rp->part, rp->run_id)));
}

/*
 * send_collected
 *		ZcrmChainCollected of zcrm_write_step_send(): part k's result zip is
 *		here while the other parts' calls go on: record the part as sent and
 *		store its results (store_result()) at once.
 */
static void
send_collected(void *arg, int k, ZcrmChainPart *cp)
{
	SendGroup  *g = (SendGroup *) arg;
	int64		nrows;

	record_sent(g, k, cp);
	nrows = store_result(g->schema, g->call, &g->rps[k], cp->job, &cp->zip_resp);
	collect_row(g->fcinfo, &g->rps[k], cp->job, true, nrows);
}

/*
 * zcrm_write_step_send(run_id bigint, parts integer[], token text,
 *						connection text)
 *		RETURNS TABLE (the columns of zcrm_write_step_collect())
 *		zcrm_write()'s send: the given parts, each "uploading", in groups of
 *		zcrm_bulk.max_concurrency, end to end (write_chain.h): each part is
 *		uploaded, created as soon as its upload is accepted, polled once as
 *		soon as it is created, and collected (store_result()) as soon as its
 *		result file is downloaded, whatever the other parts are doing.  It
 *		commits nothing, so a caller's transaction records the states
 *		("uploaded" with the file id, then "created" with the job id, its
 *		zip dropped; a refused part "failed").  One row per part that was
 *		polled, as zcrm_write_step_collect() gives it; a part whose poll or
 *		download failed, or whose job is not finished, stays "created" for
 *		the collect step.  Once a group has a failure of an upload or a
 *		create, no further create or group is sent, and when every part's
 *		calls have ended the first failure is raised, naming its part and
 *		the jobs created meanwhile (they exist whatever happens to the
 *		caller's transaction).  The
 *		run records its org id as zcrm_write_step_upload() does.
 */
Datum
zcrm_write_step_send(PG_FUNCTION_ARGS)
{
	char	   *schema = zcrm_step_schema(fcinfo);
	int64		run_id;
	int32	   *parts;
	int			n = zcrm_step_parts(fcinfo, &run_id, &parts);
	int			group = Max(zcrm_max_concurrency, 1);
	ZcrmCall	call;
	ZcrmStepFailure first;
	bool		accepted = false;
	StringInfoData created;		/* the jobs made, for a failure's DETAIL */

	InitMaterializedSRF(fcinfo, MAT_SRF_USE_EXPECTED_DESC);
	initStringInfo(&created);
	memset(&first, 0, sizeof(first));
	zcrm_call_open(&call, zcrm_step_text(fcinfo, 2), zcrm_step_text(fcinfo, 3));
	for (int start = 0; start < n && !first.any; start += group)
	{
		int			m = Min(group, n - start);
		ZcrmChainPart *cps = palloc0(sizeof(ZcrmChainPart) * m);
		SendGroup	g;

		g.fcinfo = fcinfo;
		g.schema = schema;
		g.call = &call;
		g.rps = palloc0(sizeof(ZcrmRunPart) * m);
		g.recorded = palloc0(sizeof(bool) * m);
		g.first = &first;
		for (int k = 0; k < m; k++)
		{
			ZcrmRunPart *rp = &g.rps[k];

			zcrm_step_open_upload(schema, run_id, parts[start + k], "send", rp,
								  &cps[k].zip, &cps[k].len, &cps[k].file_name);
			zcrm_step_job_spec(rp, &cps[k].spec);
		}
		PG_TRY();
		{
			zcrm_write_chain(&call, cps, m, send_collected, &g);
			for (int k = 0; k < m; k++)
			{
				ZcrmChainPart *cp = &cps[k];

				accepted |= (cp->file_id != NULL);
				record_sent(&g, k, cp);
				if (cp->job_id != NULL)
					appendStringInfo(&created, "%s%s (part %d)", created.len > 0 ? ", " : "",
									 cp->job_id, g.rps[k].part);
				if (cp->step == ZCRM_CHAIN_POLL && cp->job != NULL &&
					!zcrm_job_finished(cp->job))
					collect_row(fcinfo, &g.rps[k], cp->job, false, 0);
			}
		}
		PG_FINALLY();
		{
			zcrm_write_chain_free(cps, m);
		}
		PG_END_TRY();
		for (int k = 0; k < m; k++)
		{
			if (g.rps[k].zip)
				pfree(g.rps[k].zip);
		}
	}
	zcrm_step_record_org(schema, run_id, &call, accepted);
	if (first.any && created.len > 0)
		first.context = psprintf("%s  Bulk write jobs this call created, which Zoho runs whatever happens to this transaction: %s.",
								 first.context, created.data);
	if (first.any)
		zcrm_raise_error_context(&first.err, first.context);
	PG_RETURN_NULL();
}
