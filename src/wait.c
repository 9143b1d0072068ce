/*-------------------------------------------------------------------------
 *
 * wait.c
 *	  zcrm_write_job_wait(): poll a job until it is finished.
 *
 * Each poll fetches the job as zcrm_write_job() does (zoho.c), reports its
 * progress in a NOTICE and sleeps poll_interval on the process latch.
 * A poll allocates in a memory context of its own, reset before the next,
 * so a wait of any length does not grow the backend; a poll_interval under
 * ZCRM_MIN_POLL_INTERVAL_MS is refused, so a wait never spins and always
 * reaches its timeout.
 *
 * Copyright (c) 2026, zcrm_bulk developers
 *
 * IDENTIFICATION
 *	  src/wait.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <limits.h>

#include "fmgr.h"
#include "funcapi.h"
#include "lib/stringinfo.h"
#include "mb/pg_wchar.h"
#include "utils/memutils.h"
#include "utils/timestamp.h"

#include "functions.h"
#include "transport.h"
#include "transport_policy.h"
#include "zoho.h"

PG_FUNCTION_INFO_V1(zcrm_write_job_wait);

/* Shortest poll_interval of zcrm_write_job_wait(). */
#define ZCRM_MIN_POLL_INTERVAL_MS	10

/*
 * interval_ms
 *		An interval argument in milliseconds (months count as 30 days); NULL
 *		and negative values are errors.
 */
static int64
interval_ms(FunctionCallInfo fcinfo, int argno, const char *name)
{
	Interval   *iv;
	int64		ms;

	if (PG_ARGISNULL(argno))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("%s must not be null", name)));
	iv = PG_GETARG_INTERVAL_P(argno);
	ms = iv->time / 1000 + (int64) iv->day * 86400000 +
		(int64) iv->month * 30 * 86400000;
	if (ms < 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("%s must not be negative", name)));
	return ms;
}

/*
 * job_progress
 *		"INPROGRESS (Leads: 1200 of 25000 records processed)": the status and,
 *		per resource, the records processed (added, updated and skipped) of
 *		the total, or the resource's status when there are no counts yet.
 */
static char *
job_progress(const ZcrmJob *job)
{
	StringInfoData buf;

	initStringInfo(&buf);
	appendStringInfoString(&buf, job->status ? job->status : "no status");
	for (int i = 0; i < job->nresources; i++)
	{
		const ZcrmResource *r = &job->resources[i];

		appendStringInfoString(&buf, i == 0 ? " (" : "; ");
		appendStringInfo(&buf, "%s: ", r->module ? r->module : "resource");
		if (r->has_total_count)
			appendStringInfo(&buf, INT64_FORMAT " of " INT64_FORMAT " records processed",
							 (r->has_added_count ? r->added_count : 0) +
							 (r->has_updated_count ? r->updated_count : 0) +
							 (r->has_skipped_count ? r->skipped_count : 0),
							 r->total_count);
		else
			appendStringInfoString(&buf, r->status ? r->status : "no status");
		if (i == job->nresources - 1)
			appendStringInfoChar(&buf, ')');
	}
	return pg_any_to_server(buf.data, buf.len, PG_UTF8);
}

/*
 * zcrm_write_job_wait(job_id text, token text, connection text,
 *					   timeout interval, poll_interval interval)
 *		RETURNS SETOF zcrm_write_job_row
 *		Poll until the job is COMPLETED or FAILED, with a NOTICE per poll,
 *		then return its rows as zcrm_write_job() does.  Running out of time
 *		raises 55000 with the last status seen; a poll_interval under
 *		ZCRM_MIN_POLL_INTERVAL_MS is 22023, so that the wait never spins and
 *		its timeout is always reached.  Each poll runs in a memory context
 *		of its own, reset before the next, so a long wait does not grow.
 */
Datum
zcrm_write_job_wait(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	ZcrmCall	call;
	int64		timeout_ms = interval_ms(fcinfo, 3, "timeout");
	int64		poll_ms = interval_ms(fcinfo, 4, "poll_interval");
	TimestampTz deadline;
	MemoryContext pollcxt;

	if (poll_ms < ZCRM_MIN_POLL_INTERVAL_MS)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("poll_interval must be at least %d milliseconds",
						ZCRM_MIN_POLL_INTERVAL_MS),
				 errdetail("The job is polled once per poll_interval; a shorter interval would poll the API in a tight loop."),
				 errhint("Pass a poll_interval of %d ms or more, for example '10 seconds'.",
						 ZCRM_MIN_POLL_INTERVAL_MS)));
	InitMaterializedSRF(fcinfo, MAT_SRF_USE_EXPECTED_DESC);
	zcrm_resolve_call(fcinfo, &call);
	deadline = TimestampTzPlusMilliseconds(GetCurrentTimestamp(), timeout_ms);

	/* everything a poll allocates is released before the next one */
	pollcxt = AllocSetContextCreate(CurrentMemoryContext, "zcrm_bulk poll",
									ALLOCSET_DEFAULT_SIZES);
	for (;;)
	{
		MemoryContext oldcxt = MemoryContextSwitchTo(pollcxt);
		ZcrmJob    *job = zcrm_fetch_job(&call);
		volatile bool finished = false;
		char	   *volatile progress = NULL;

		PG_TRY();
		{
			finished = job->status != NULL &&
				(strcmp(job->status, "COMPLETED") == 0 ||
				 strcmp(job->status, "FAILED") == 0);
			progress = job_progress(job);
			ereport(NOTICE,
					(errmsg("bulk write job %s: %s", call.job_id, progress)));
			if (finished)
				zcrm_emit_job_rows(rsinfo, job, &call, NULL);
		}
		PG_FINALLY();
		{
			zcrm_job_free(job);
		}
		PG_END_TRY();

		if (!finished &&
			TimestampDifferenceMilliseconds(GetCurrentTimestamp(), deadline) < poll_ms)
			ereport(ERROR,
					(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
					 errmsg("bulk write job %s did not finish within the timeout", call.job_id),
					 errdetail("Its last status was %s.", progress),
					 errhint("Call zcrm_write_job_wait() again, or pass a longer timeout.")));
		MemoryContextSwitchTo(oldcxt);
		MemoryContextReset(pollcxt);
		if (finished)
			return (Datum) 0;
		zcrm_sleep((long) Min(poll_ms, (int64) LONG_MAX));
	}
}
