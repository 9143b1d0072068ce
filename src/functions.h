/*-------------------------------------------------------------------------
 *
 * functions.h
 *	  What the SQL-callable functions of functions.c share with wait.c.
 *
 * A call is resolved from its arguments (job id, token or connection) by
 * functions.c, its job fetched and parsed by zoho.c (zcrm_fetch_job), and
 * the job's rows emitted by functions.c; wait.c (zcrm_write_job_wait)
 * polls with the same three steps.
 *
 * Copyright (c) 2026, zcrm_bulk developers
 *
 * IDENTIFICATION
 *	  src/functions.h
 *
 *-------------------------------------------------------------------------
 */
#ifndef ZCRM_FUNCTIONS_H
#define ZCRM_FUNCTIONS_H

#include "fmgr.h"
#include "funcapi.h"

#include "parse.h"
#include "zoho.h"

/*
 * zcrm_resolve_call
 *		Validate the arguments job_id (0), token (1) and connection (2) and
 *		open the call (zcrm_call_open) with them; see functions.c.
 */
extern void zcrm_resolve_call(FunctionCallInfo fcinfo, ZcrmCall *call);

/*
 * zcrm_check_result_columns
 *		A materialize-mode function's result type must have the "ncols"
 *		columns this library fills (plus the error columns for a batch
 *		function); a mismatch means the SQL definitions and the library are
 *		of different versions: 42804 with a hint to update the extension.
 */
extern void zcrm_check_result_columns(ReturnSetInfo *rsinfo, int ncols, bool batch);

/*
 * zcrm_emit_job_rows
 *		Put the rows of zcrm_write_job() for "job" into the tuplestore of
 *		a materialize-mode set-returning function; "job_id" NULL for the
 *		single-job row type.
 */
extern void zcrm_emit_job_rows(ReturnSetInfo *rsinfo, const ZcrmJob *job,
							   const ZcrmCall *call, const char *job_id);

#endif							/* ZCRM_FUNCTIONS_H */
