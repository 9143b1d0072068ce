/*-------------------------------------------------------------------------
 *
 * results.c
 *	  zcrm_write_job_results(): the result file of a finished job as SQL
 *	  rows; and the download, unzip and read behind it (see results.h),
 *	  which the 2.1 write functions use too.
 *
 * The job is fetched through zoho.c; the zip is downloaded by
 * transport.c with the call's token and its own size limit
 * (ZcrmRequest.max_body = zcrm_bulk.max_result_size), opened and inflated
 * by zip.c (on minizip) with zcrm_bulk.max_result_uncompressed_size per
 * entry, and each CSV read by result.c.  Those three keep their memory in
 * malloc; everything malloc'd here is freed in PG_CATCH when an ERROR
 * (an interrupt, a bad entry) ends the call midway, and the parsed files
 * are tied to the caller's memory context by a reset callback.
 *
 * Copyright (c) 2026, zcrm_bulk developers
 *
 * IDENTIFICATION
 *	  src/results.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "fmgr.h"
#include "funcapi.h"
#include "lib/stringinfo.h"
#include "mb/pg_wchar.h"
#include "miscadmin.h"
#include "utils/builtins.h"
#include "utils/json.h"
#include "utils/jsonb.h"
#include "utils/memutils.h"

#include "errors.h"
#include "functions.h"
#include "result.h"
#include "results.h"
#include "scrub.h"
#include "settings.h"
#include "transport.h"
#include "utf8text.h"
#include "zip.h"
#include "zoho.h"

PG_FUNCTION_INFO_V1(zcrm_write_job_results);

/* Columns of zcrm_write_job_result_row, in the order of the SQL type. */
enum
{
	RES_COL_JOB_ID,
	RES_COL_RESOURCE_INDEX,
	RES_COL_RESOURCE_MODULE,
	RES_COL_ROW_NUMBER,
	RES_COL_STATUS,
	RES_COL_RECORD_ID,
	RES_COL_ERRORS,
	RES_COL_COLUMNS,
	RES_NCOLS
};

/* What one download holds in malloc while it runs. */
typedef struct ZcrmDownload
{
	ZcrmUnzip  *unzip;
	void	   *csv;			/* the entry being read */
	ZcrmResultFile *file;		/* the file being read, not yet in a part */
} ZcrmDownload;

/*
 * free_parts
 *		Free every part's file; the reset callback of a ZcrmJobResults.
 */
static void
free_parts(void *arg)
{
	ZcrmJobResults *r = (ZcrmJobResults *) arg;

	for (int i = 0; i < r->nparts; i++)
	{
		zcrm_result_free(r->parts[i].file);
		r->parts[i].file = NULL;
	}
}

/*
 * zcrm_job_results_free
 *		See results.h.  The reset callback stays registered and then finds
 *		nothing left to free.
 */
void
zcrm_job_results_free(ZcrmJobResults *r)
{
	if (r != NULL)
		free_parts(r);
}

/*
 * result_interrupted
 *		result.c's interrupt check: true when CHECK_FOR_INTERRUPTS() would
 *		act, so that a long read stops, frees what it built, and lets the
 *		interrupt be serviced.
 */
static bool
result_interrupted(void)
{
	return INTERRUPTS_PENDING_CONDITION() && INTERRUPTS_CAN_BE_PROCESSED();
}

/*
 * safe_name
 *		An entry name for a message: at most 100 bytes, bytes outside
 *		printable ASCII as '?', and "[redacted]" if it holds a secret of
 *		the call (a server could put anything into a name).
 */
static char *
safe_name(const ZcrmCall *call, const char *name)
{
	size_t		len = strlen(name);
	ZcrmSpan   *spans = NULL;
	size_t		nspans = 0;
	char	   *out;

	if (!zcrm_find_secrets(name, len, call->secrets, &spans, &nspans) || nspans > 0)
	{
		free(spans);
		return pstrdup("[redacted]");
	}
	out = pnstrdup(name, Min(len, 100));
	for (char *p = out; *p; p++)
	{
		if ((unsigned char) *p < 0x20 || (unsigned char) *p > 0x7E)
			*p = '?';
	}
	return out;
}

/*
 * raise_zip_error
 *		Raise the error for a zip.c failure "zerr" on the result of job_id
 *		("entry" the entry's safe name, or NULL for the archive).
 */
static void
raise_zip_error(const char *job_id, const char *entry, const ZcrmZipError *zerr)
{
	switch (zerr->status)
	{
		case ZCRM_ZIP_ENTRY_TOO_LARGE:
			ereport(ERROR,
					(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
					 errmsg("result file of bulk write job %s inflates past zcrm_bulk.max_result_uncompressed_size", job_id),
					 errdetail("Entry \"%s\" was refused: %s.", entry ? entry : "?", zerr->message),
					 errhint("A superuser can raise zcrm_bulk.max_result_uncompressed_size (now %d bytes).",
							 zcrm_max_result_uncompressed_size)));
			break;
		case ZCRM_ZIP_UNSUPPORTED:
			ereport(ERROR,
					(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
					 errmsg("result file of bulk write job %s uses an unsupported zip feature", job_id),
					 errdetail("%s%s%s: %s.", entry ? "Entry \"" : "The archive", entry ? entry : "",
							   entry ? "\"" : "", zerr->message)));
			break;
		case ZCRM_ZIP_NO_MEMORY:
			ereport(ERROR,
					(errcode(ERRCODE_OUT_OF_MEMORY),
					 errmsg("out of memory while unzipping the result file of bulk write job %s", job_id)));
			break;
		default:
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_BINARY_REPRESENTATION),
					 errmsg("result file of bulk write job %s is not a valid zip archive", job_id),
					 errdetail("%s%s%s: %s.", entry ? "Entry \"" : "The archive", entry ? entry : "",
							   entry ? "\"" : "", zerr->message),
					 errhint("Download it again later; if it stays broken, look at the job in Zoho CRM itself.")));
			break;
	}
}

/*
 * raise_csv_error
 *		Raise the error for a result.c failure on entry "entry" (safe name).
 */
static void
raise_csv_error(const char *job_id, const char *entry, const ZcrmResultError *rerr)
{
	int			sqlstate;
	const char *what;

	switch (rerr->status)
	{
		case ZCRM_RESULT_NO_MEMORY:
			ereport(ERROR,
					(errcode(ERRCODE_OUT_OF_MEMORY),
					 errmsg("out of memory while reading the result file of bulk write job %s", job_id)));
			return;
		case ZCRM_RESULT_TOO_LARGE:
		case ZCRM_RESULT_TOO_MANY_ROWS:
		case ZCRM_RESULT_TOO_MANY_COLUMNS:
			sqlstate = ERRCODE_PROGRAM_LIMIT_EXCEEDED;
			what = "is too large";
			break;
		case ZCRM_RESULT_BAD_UTF8:
			sqlstate = ERRCODE_CHARACTER_NOT_IN_REPERTOIRE;
			what = "is not valid UTF-8";
			break;
		case ZCRM_RESULT_BAD_CSV:
			sqlstate = ERRCODE_BAD_COPY_FILE_FORMAT;
			what = "is not valid CSV";
			break;
		default:
			sqlstate = ERRCODE_DATA_EXCEPTION;
			what = "does not have the columns of a result file";
			break;
	}
	if (rerr->line > 0)
		ereport(ERROR,
				(errcode(sqlstate),
				 errmsg("result file of bulk write job %s %s", job_id, what),
				 errdetail("Entry \"%s\", line %zu: %s.", entry, rerr->line, rerr->message)));
	ereport(ERROR,
			(errcode(sqlstate),
			 errmsg("result file of bulk write job %s %s", job_id, what),
			 errdetail("Entry \"%s\": %s.", entry, rerr->message),
			 rerr->status == ZCRM_RESULT_MISSING_COLUMN ?
			 errhint("A result file has the columns STATUS, RECORD_ID and ERRORS.") : 0));
}

static void no_result_file(const ZcrmJob *job);

/*
 * result_job_id
 *		The id a job's result file is named by in errors: the call's job id
 *		when it was opened for one job, else the job's own.
 */
static const char *
result_job_id(const ZcrmCall *call, const ZcrmJob *job)
{
	return call->job_id ? call->job_id : job->id;
}

/*
 * zcrm_result_request
 *		See results.h: to the job's download_url resolved against the call's
 *		API domain, which a token refresh may have moved.
 */
void
zcrm_result_request(const ZcrmCall *call, const void *arg, ZcrmRequest *req)
{
	const ZcrmJob *job = (const ZcrmJob *) arg;

	memset(req, 0, sizeof(*req));
	req->url = zcrm_download_url(call, job->download_url);
	req->token = call->token;
	req->what = psprintf("the result file of bulk write job %s",
						 result_job_id(call, job));
	req->max_body = (size_t) zcrm_max_result_size;
}

/*
 * zcrm_download_result_zips
 *		See results.h.  Through a connection, downloads answered
 *		INVALID_TOKEN are made once more after one refresh of the token
 *		(zcrm_send_many).
 */
void
zcrm_download_result_zips(ZcrmCall *call, ZcrmJob *const *jobs, int n,
						  ZcrmHttpResponse *resps)
{
	ZcrmRequest *reqs = palloc0(sizeof(ZcrmRequest) * Max(n, 1));
	ZcrmOutcome *outs = palloc0(sizeof(ZcrmOutcome) * Max(n, 1));
	int			bad = -1;
	const char **ids = palloc0(sizeof(char *) * Max(n, 1));

	for (int i = 0; i < n; i++)
	{
		no_result_file(jobs[i]);
		ids[i] = result_job_id(call, jobs[i]);
	}
	zcrm_send_many(call, zcrm_result_request, (const void *const *) jobs, n, reqs, outs);
	for (int i = 0; i < n && bad < 0; i++)
		if (!outs[i].complete || outs[i].resp.status < 200 ||
			outs[i].resp.status > 299 || outs[i].resp.status == 204)
			bad = i;
	if (bad >= 0)
	{
		ZcrmOutcome out = outs[bad];

		for (int i = 0; i < n; i++)
			if (i != bad && outs[i].complete)
				pfree(outs[i].resp.body);
		if (!out.complete && out.kind == ZCRM_FAIL_TOO_LARGE)
			ereport(ERROR,
					(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
					 errmsg("result file of bulk write job %s is larger than zcrm_bulk.max_result_size", ids[bad]),
					 errdetail("The download was aborted after %ld bytes.", out.limit),
					 errhint("A superuser can raise zcrm_bulk.max_result_size.")));
		if (!out.complete)
			zcrm_raise_transport_error(out.kind, out.reason, reqs[bad].what, out.limit,
									   out.attempts);
		zcrm_raise_http_error(out.resp.status, out.resp.body, out.resp.body_len,
							  out.resp.content_type, ids[bad], call->secrets);
	}
	for (int i = 0; i < n; i++)
		resps[i] = outs[i].resp;
	pfree(reqs);
	pfree(outs);
	pfree(ids);
}

/*
 * map_entries
 *		Set each part's resource_index and module from the job's resources
 *		(see results.h), then sort the parts.
 */
static void
map_entries(const ZcrmJob *job, ZcrmJobResults *r)
{
	bool	   *taken = palloc0(sizeof(bool) * Max(job->nresources, 1));
	int			pass;

	for (int i = 0; i < r->nparts; i++)
		r->parts[i].resource_index = -1;
	for (pass = 0; pass < 3; pass++)
	{
		for (int i = 0; i < r->nparts; i++)
		{
			ZcrmResultPart *p = &r->parts[i];

			if (p->resource_index >= 0)
				continue;
			for (int k = 0; k < job->nresources; k++)
			{
				const ZcrmResource *res = &job->resources[k];
				bool		fits = false;

				if (taken[k])
					continue;
				if (pass == 0 && res->module && res->file_name)
					fits = strcmp(p->entry_name, psprintf("%s-%s", res->module, res->file_name)) == 0;
				else if (pass == 1 && res->module)
					fits = strncmp(p->entry_name, res->module, strlen(res->module)) == 0 &&
						p->entry_name[strlen(res->module)] == '-';
				else if (pass == 2)
					fits = (k == i);
				if (fits)
				{
					taken[k] = true;
					p->resource_index = k;
					p->module = res->module ? pstrdup(res->module) : NULL;
					break;
				}
			}
		}
	}
	for (int i = 0; i < r->nparts; i++)
	{
		ZcrmResultPart *p = &r->parts[i];
		const char *dash = strchr(p->entry_name, '-');

		if (p->resource_index < 0 && dash != NULL && dash > p->entry_name)
			p->module = pnstrdup(p->entry_name, dash - p->entry_name);
	}
	/* by resource_index, unmapped last; a stable insertion sort */
	for (int i = 1; i < r->nparts; i++)
	{
		ZcrmResultPart p = r->parts[i];
		unsigned	key = (unsigned) p.resource_index;	/* -1: the largest */
		int			j = i - 1;

		while (j >= 0 && (unsigned) r->parts[j].resource_index > key)
		{
			r->parts[j + 1] = r->parts[j];
			j--;
		}
		r->parts[j + 1] = p;
	}
	pfree(taken);
}

/*
 * read_entries
 *		Inflate and read every file entry of the open zip into r->parts.
 */
static void
read_entries(ZcrmCall *call, ZcrmDownload *d, ZcrmJobResults *r)
{
	size_t		n = zcrm_unzip_count(d->unzip);
	ZcrmResultLimits limits = {(size_t) zcrm_max_result_uncompressed_size,
	ZCRM_RESULTS_MAX_ROWS, result_interrupted};

	r->parts = palloc0(sizeof(ZcrmResultPart) * Max(n, 1));
	for (size_t i = 0; i < n; i++)
	{
		const ZcrmZipEntry *e = zcrm_unzip_entry(d->unzip, i);
		size_t		len = strlen(e->name);
		ZcrmZipError zerr;
		ZcrmResultError rerr;
		ZcrmResultStatus st;
		ZcrmZipStatus zst;
		size_t		csvlen;

		CHECK_FOR_INTERRUPTS();
		if (len == 0 || e->name[len - 1] == '/')
			continue;			/* a directory */
		do
			zst = zcrm_unzip_read(d->unzip, i, (size_t) zcrm_max_result_uncompressed_size,
								  &d->csv, &csvlen, &zerr);
		while (zcrm_zip_stopped(zst));
		if (zst != ZCRM_ZIP_OK)
			raise_zip_error(call->job_id, safe_name(call, e->name), &zerr);
		for (;;)
		{
			st = zcrm_result_read(d->csv, csvlen, &limits, &d->file, &rerr);
			if (st != ZCRM_RESULT_INTERRUPTED)
				break;
			CHECK_FOR_INTERRUPTS();
		}
		free(d->csv);
		d->csv = NULL;
		if (st != ZCRM_RESULT_OK)
			raise_csv_error(call->job_id, safe_name(call, e->name), &rerr);
		r->parts[r->nparts].entry_name = pstrdup(e->name);
		r->parts[r->nparts].file = d->file;
		d->file = NULL;
		r->nparts++;
	}
	if (r->nparts == 0)
		ereport(ERROR,
				(errcode(ERRCODE_DATA_EXCEPTION),
				 errmsg("result file of bulk write job %s holds no CSV file", call->job_id),
				 errdetail("The zip archive has %zu entries, none of them a file.", n)));
}

/*
 * no_result_file
 *		A job without a download_url has no result file to download: 55000.
 */
static void
no_result_file(const ZcrmJob *job)
{
	if (job->download_url == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("bulk write job %s has no result file", job->id),
				 errdetail("Its status is %s and it has no download_url.",
						   job->status ? job->status : "unknown"),
				 errhint("Wait until the job is COMPLETED, for example with zcrm_write_job_wait().")));
}

/*
 * zcrm_read_job_results
 *		See results.h.
 */
ZcrmJobResults *
zcrm_read_job_results(ZcrmCall *call, const ZcrmJob *job, ZcrmHttpResponse *resp)
{
	ZcrmJobResults *r = palloc0(sizeof(ZcrmJobResults));
	MemoryContextCallback *cb = palloc0(sizeof(MemoryContextCallback));
	ZcrmDownload *d = palloc0(sizeof(ZcrmDownload));	/* not a local: set
														 * inside PG_TRY */
	ZcrmZipError zerr;

	if (call->job_id == NULL)
		call->job_id = pstrdup(job->id);
	r->job_id = pstrdup(call->job_id);
	r->status = pstrdup(job->status ? job->status : "");
	cb->func = free_parts;
	cb->arg = r;
	MemoryContextRegisterResetCallback(CurrentMemoryContext, cb);

	PG_TRY();
	{
		d->unzip = zcrm_unzip_open(resp->body, resp->body_len, &zerr);
		if (d->unzip == NULL)
			raise_zip_error(r->job_id, NULL, &zerr);
		read_entries(call, d, r);
	}
	PG_CATCH();
	{
		zcrm_unzip_close(d->unzip);
		free(d->csv);
		zcrm_result_free(d->file);
		free_parts(r);
		PG_RE_THROW();
	}
	PG_END_TRY();
	zcrm_unzip_close(d->unzip);
	pfree(d);
	pfree(resp->body);
	resp->body = NULL;
	map_entries(job, r);
	return r;
}

/*
 * zcrm_download_job_results
 *		See results.h.
 */
ZcrmJobResults *
zcrm_download_job_results(ZcrmCall *call, const ZcrmJob *job)
{
	ZcrmHttpResponse resp;
	ZcrmJob    *jobs[1] = {(ZcrmJob *) job};

	zcrm_download_result_zips(call, jobs, 1, &resp);
	return zcrm_read_job_results(call, job, &resp);
}

/*
 * zcrm_fetch_job_results
 *		See results.h.
 */
ZcrmJobResults *
zcrm_fetch_job_results(ZcrmCall *call, const char *job_id)
{
	ZcrmJob    *job;
	ZcrmJobResults *r = NULL;

	call->job_id = pstrdup(job_id);
	job = zcrm_fetch_job(call);
	PG_TRY();
	{
		const char *status = job->status ? job->status : "unknown";
		bool		done = job->status && (strcmp(job->status, "COMPLETED") == 0 ||
										   strcmp(job->status, "FAILED") == 0);

		if (!done || job->download_url == NULL)
			ereport(ERROR,
					(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
					 errmsg("bulk write job %s is %s and has no result file", call->job_id,
							done ? "finished" : "not complete"),
					 errdetail("Its status is %s%s.", status,
							   done ? ", without a download_url" : ""),
					 done ? 0 :
					 errhint("Wait until it is COMPLETED, for example with zcrm_write_job_wait().")));
		r = zcrm_download_job_results(call, job);
	}
	PG_FINALLY();
	{
		zcrm_job_free(job);
	}
	PG_END_TRY();
	return r;
}

/*
 * text_datum
 *		A UTF-8 string of result.c as text in the database encoding.
 */
static Datum
text_datum(const char *s)
{
	return zcrm_utf8_text_datum(s);
}

/*
 * zcrm_result_errors_datum
 *		See results.h.
 */
Datum
zcrm_result_errors_datum(const ZcrmResultFile *f, size_t row, bool *isnull)
{
	char	   *json = NULL;
	char	   *copy;

	if (zcrm_result_errors_json(zcrm_result_errors(f, row), &json) != ZCRM_RESULT_OK)
		ereport(ERROR,
				(errcode(ERRCODE_OUT_OF_MEMORY),
				 errmsg("out of memory")));
	*isnull = (json == NULL);
	if (json == NULL)
		return (Datum) 0;
	copy = pstrdup(json);
	free(json);
	copy = zcrm_utf8_to_server(copy, strlen(copy));
	return DirectFunctionCall1(jsonb_in, CStringGetDatum(copy));
}

/*
 * zcrm_result_columns_datum
 *		See results.h.
 */
Datum
zcrm_result_columns_datum(const ZcrmResultFile *f, size_t row)
{
	StringInfoData buf;
	bool		first = true;

	initStringInfo(&buf);
	appendStringInfoChar(&buf, '{');
	for (size_t c = 0; c < zcrm_result_ncolumns(f); c++)
	{
		const char *name = zcrm_result_column(f, c);
		const char *value = zcrm_result_value(f, row, c);

		if (!zcrm_result_is_echo(f, c))
			continue;
		if (!first)
			appendStringInfoChar(&buf, ',');
		first = false;
		escape_json(&buf, zcrm_utf8_to_server(name, strlen(name)));
		appendStringInfoChar(&buf, ':');
		escape_json(&buf, zcrm_utf8_to_server(value, strlen(value)));
	}
	appendStringInfoChar(&buf, '}');
	return DirectFunctionCall1(jsonb_in, CStringGetDatum(buf.data));
}

/*
 * emit_rows
 *		One row per row of every part's file, in part order; a WARNING per
 *		part whose rows do not all have the header's field count.  Values
 *		are built in a context reset per row, so memory stays flat however
 *		many rows there are.
 */
static void
emit_rows(ReturnSetInfo *rsinfo, const ZcrmJobResults *r)
{
	MemoryContext rowcxt = AllocSetContextCreate(CurrentMemoryContext,
												 "zcrm_bulk result row",
												 ALLOCSET_DEFAULT_SIZES);
	MemoryContext oldcxt = MemoryContextSwitchTo(rowcxt);

	for (int p = 0; p < r->nparts; p++)
	{
		const ZcrmResultPart *part = &r->parts[p];
		const ZcrmResultFile *f = part->file;
		size_t		nrows = zcrm_result_nrows(f);

		if (zcrm_result_ragged(f) > 0)
			ereport(WARNING,
					(errmsg("result file of bulk write job %s has %zu rows whose field count is not the header's",
							r->job_id, zcrm_result_ragged(f)),
					 errdetail("Missing fields were read as empty and extra ones dropped.")));
		for (size_t i = 0; i < nrows; i++)
		{
			Datum		values[RES_NCOLS] = {0};
			bool		nulls[RES_NCOLS] = {0};
			const char *record_id = zcrm_result_record_id(f, i);

			values[RES_COL_JOB_ID] = CStringGetTextDatum(r->job_id);
			values[RES_COL_RESOURCE_INDEX] = Int32GetDatum(part->resource_index);
			nulls[RES_COL_RESOURCE_INDEX] = (part->resource_index < 0);
			if (part->module)
				values[RES_COL_RESOURCE_MODULE] = text_datum(part->module);
			nulls[RES_COL_RESOURCE_MODULE] = (part->module == NULL);
			values[RES_COL_ROW_NUMBER] = Int64GetDatum((int64) i + 1);
			values[RES_COL_STATUS] = text_datum(zcrm_result_status(f, i));
			if (record_id)
				values[RES_COL_RECORD_ID] = text_datum(record_id);
			nulls[RES_COL_RECORD_ID] = (record_id == NULL);
			values[RES_COL_ERRORS] = zcrm_result_errors_datum(f, i, &nulls[RES_COL_ERRORS]);
			values[RES_COL_COLUMNS] = zcrm_result_columns_datum(f, i);
			tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
			MemoryContextReset(rowcxt);
			CHECK_FOR_INTERRUPTS();
		}
	}
	MemoryContextSwitchTo(oldcxt);
	MemoryContextDelete(rowcxt);
}

/*
 * zcrm_write_job_results(job_id text, token text, connection text)
 *		RETURNS SETOF zcrm_write_job_result_row
 */
Datum
zcrm_write_job_results(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	ZcrmCall	call;
	ZcrmJobResults *r;

	InitMaterializedSRF(fcinfo, MAT_SRF_USE_EXPECTED_DESC);
	zcrm_check_result_columns(rsinfo, RES_NCOLS, false);
	zcrm_resolve_call(fcinfo, &call);
	r = zcrm_fetch_job_results(&call, call.job_id);
	PG_TRY();
	{
		emit_rows(rsinfo, r);
	}
	PG_FINALLY();
	{
		zcrm_job_results_free(r);
	}
	PG_END_TRY();
	return (Datum) 0;
}
