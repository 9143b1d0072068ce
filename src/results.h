/*-------------------------------------------------------------------------
 *
 * results.h
 *	  The result file of a finished Bulk Write job, downloaded, unzipped
 *	  and parsed, for zcrm_write_job_results() and the 2.1 write functions.
 *
 * A job that is COMPLETED (or FAILED with a download_url: a job that
 * stopped midway marks the rest of its rows "unprocessed") has a result
 * zip at result.download_url, relative or absolute, fetched with the
 * call's Authorization header and capped at zcrm_bulk.max_result_size.
 * The zip holds one CSV per resource, named "<module>-<uploaded file
 * name>"; each entry is inflated (refused before inflating when it
 * declares more than zcrm_bulk.max_result_uncompressed_size, cut off when
 * it inflates past it) and read by result.c, by header name.
 *
 * Entries are mapped to the job's resources, in this order of preference:
 * the entry named exactly "<module>-<file name>" of a resource; else the
 * first resource not yet mapped whose "<module>-" prefixes the entry's
 * name; else the resource at the entry's position among the zip's files,
 * if not yet mapped; else none (resource_index -1, module the part of the name
 * before its first '-', or NULL).  Directory entries are skipped.  Parts
 * are ordered by resource_index, unmapped ones last, in zip order.
 *
 * Memory: the parsed files are malloc'd (result.c).  A ZcrmJobResults is
 * palloc'd in the caller's memory context and frees its files when that
 * context is reset or deleted (a reset callback), so an ERROR cannot leak
 * them; zcrm_job_results_free() frees them earlier, and is safe to call
 * more than once.  Every failure is raised with a specific SQLSTATE, and
 * no message holds a token or a connection's secret.
 *
 * Copyright (c) 2026, zcrm_bulk developers
 *
 * IDENTIFICATION
 *	  src/results.h
 *
 *-------------------------------------------------------------------------
 */
#ifndef ZCRM_RESULTS_H
#define ZCRM_RESULTS_H

#include "parse.h"
#include "result.h"
#include "zoho.h"

/* Data rows one CSV of a result zip may have (4 x Zoho's 25,000). */
#define ZCRM_RESULTS_MAX_ROWS	100000

/* One CSV file of a job's result zip. */
typedef struct ZcrmResultPart
{
	int			resource_index; /* 0-based, as in zcrm_write_job(); -1: none */
	char	   *module;			/* the resource's module, else see above */
	char	   *entry_name;		/* the zip entry's name, as stored */
	ZcrmResultFile *file;		/* read with result.h's accessors */
} ZcrmResultPart;

/* The result of one job. */
typedef struct ZcrmJobResults
{
	char	   *job_id;
	char	   *status;			/* the job's status: COMPLETED or FAILED */
	int			nparts;
	ZcrmResultPart *parts;
} ZcrmJobResults;

/*
 * zcrm_fetch_job_results
 *		Fetch job "job_id" (valid: checked by the caller) with the open
 *		"call" (whose job_id it sets), then its result as
 *		zcrm_download_job_results() does.  A job without a result file yet
 *		(ADDED, INPROGRESS, or COMPLETED/FAILED without download_url) is
 *		55000 naming its status.
 */
extern ZcrmJobResults *zcrm_fetch_job_results(ZcrmCall *call,
											  const char *job_id);

/*
 * zcrm_download_job_results
 *		Download, unzip and read the result file of the already fetched
 *		"job" (which must have a download_url; 55000 otherwise), mapping
 *		entries to job->resources as described above.  Raises on any
 *		failure: transport and HTTP errors as errors.c describes them, a
 *		zip over zcrm_bulk.max_result_size or an entry over
 *		zcrm_bulk.max_result_uncompressed_size 54000, a zip that is not
 *		one 22P03, an encrypted or unknown-method entry 0A000, a CSV that
 *		is not CSV 22P04, not UTF-8 22021, without STATUS, RECORD_ID or
 *		ERRORS 22000, with too many rows or columns 54000.
 */
extern ZcrmJobResults *zcrm_download_job_results(ZcrmCall *call,
												 const ZcrmJob *job);

/*
 * zcrm_download_result_zips
 *		GET the result zips of the n fetched jobs (each must have a
 *		download_url: 55000 otherwise) at most zcrm_bulk.max_concurrency at
 *		a time, each capped at zcrm_bulk.max_result_size, into resps[i]
 *		(palloc'd bodies).  The first failure (by position) is raised, as
 *		zcrm_download_job_results() raises it, after freeing the others'
 *		bodies.  The jobs are named by call->job_id when it is set (a call
 *		opened for one job), else by their ids.  Through a connection, the
 *		downloads answered INVALID_TOKEN are made again after one refresh
 *		of the token.
 */
extern void zcrm_download_result_zips(ZcrmCall *call, ZcrmJob *const *jobs, int n,
									  ZcrmHttpResponse *resps);

/*
 * zcrm_result_request
 *		ZcrmBuildRequest of a finished job's result file (arg: the ZcrmJob,
 *		with a download_url), capped at zcrm_bulk.max_result_size.
 */
extern void zcrm_result_request(const ZcrmCall *call, const void *arg,
								ZcrmRequest *req);

/*
 * zcrm_read_job_results
 *		Unzip and read the downloaded result zip *resp of "job" as
 *		zcrm_download_job_results() does (freeing resp->body), naming the
 *		job by call->job_id, which is set to the job's id when NULL.
 */
extern ZcrmJobResults *zcrm_read_job_results(ZcrmCall *call, const ZcrmJob *job,
											 ZcrmHttpResponse *resp);

/* Free the parsed files now (NULL and repeated calls are accepted). */
extern void zcrm_job_results_free(ZcrmJobResults *r);

/*
 * zcrm_result_errors_datum
 *		Row "row"'s ERRORS as jsonb ([{"code":..,"fields":[..]}, ...]);
 *		*isnull when the row has none.
 */
extern Datum zcrm_result_errors_datum(const ZcrmResultFile *f, size_t row,
									  bool *isnull);

/*
 * zcrm_result_columns_datum
 *		Row "row"'s echoed columns as a jsonb object, by header name (the
 *		columns other than STATUS, RECORD_ID and ERRORS), values as text.
 */
extern Datum zcrm_result_columns_datum(const ZcrmResultFile *f, size_t row);

#endif							/* ZCRM_RESULTS_H */
