/*-------------------------------------------------------------------------
 *
 * functions.h
 *	  What the SQL-callable functions of functions.c share with wait.c.
 *
 * A call is resolved from its arguments (job id, token or connection),
 * its job fetched and parsed, and the job's rows emitted by functions.c;
 * wait.c (zcrm_write_job_wait) polls with the same three steps.
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

#include "connections.h"
#include "parse.h"

/* One call: the job, and the token and API domain it is made with. */
typedef struct ZcrmCall
{
	char	   *job_id;
	char	   *token;
	char	   *base;			/* API domain without a trailing slash */
	ZcrmConnection *conn;		/* when the token came from a connection */
	MemoryContext cxt;			/* where token and base live */

	/*
	 * What every server text of the call is scrubbed of (NULL-terminated):
	 * the token, the token it replaced after INVALID_TOKEN, and a
	 * connection's client secret and refresh token.
	 */
	const char *secrets[5];
} ZcrmCall;

/*
 * zcrm_resolve_call
 *		Validate the arguments job_id (0), token (1) and connection (2) and
 *		find the token and API domain of the call; see functions.c.
 */
extern void zcrm_resolve_call(FunctionCallInfo fcinfo, ZcrmCall *call);

/*
 * zcrm_fetch_job
 *		Fetch and parse the call's job; any failure is raised.  Free the
 *		result with zcrm_job_free(), under PG_TRY.
 */
extern ZcrmJob *zcrm_fetch_job(ZcrmCall *call);

/*
 * zcrm_emit_job_rows
 *		Put the rows of zcrm_write_job() for "job" into the tuplestore of
 *		a materialize-mode set-returning function; "job_id" NULL for the
 *		single-job row type.
 */
extern void zcrm_emit_job_rows(ReturnSetInfo *rsinfo, const ZcrmJob *job,
							   const ZcrmCall *call, const char *job_id);

#endif							/* ZCRM_FUNCTIONS_H */
