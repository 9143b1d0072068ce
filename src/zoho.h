/*-------------------------------------------------------------------------
 *
 * zoho.h
 *	  Zoho CRM API policy: what a call is sent with, where it is sent and
 *	  what Zoho's answer means.
 *
 * A call is opened with a token, or a connection, or neither (then
 * zcrm_bulk.default_connection is used), and so gets its access token, the
 * API domain of its data centre and the secrets its server texts are
 * scrubbed of.  zoho.c builds the URL of each request from that domain and
 * zcrm_bulk.api_version, hands the requests to transport.c, and reads the
 * answers: after INVALID_TOKEN a connection's token is refreshed once and
 * the rejected jobs only are requested again; a 2xx other than 204 is a
 * response, anything else an error described by errors.c; a job's
 * download_url is made absolute against the domain the call went to.
 * functions.c and wait.c turn arguments into a call and jobs into rows and
 * never look at a URL, a status code or a token.
 *
 * The org, upload and create-job calls of 2.1 are zoho_write.c's (see
 * zoho_write.h); they are opened the same way and use zcrm_call_refresh()
 * and zcrm_is_invalid_token().  Like every other file but transport.c,
 * zoho.c never talks to libcurl.
 *
 * Copyright (c) 2026, zcrm_bulk developers
 *
 * IDENTIFICATION
 *	  src/zoho.h
 *
 *-------------------------------------------------------------------------
 */
#ifndef ZCRM_ZOHO_H
#define ZCRM_ZOHO_H

#include "connections.h"
#include "errors.h"
#include "parse.h"
#include "transport.h"

/* One call: the job, and the token and API domain it is made with. */
typedef struct ZcrmCall
{
	char	   *job_id;			/* single-job calls; NULL for a batch */
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
 * zcrm_call_refresh
 *		After INVALID_TOKEN: refresh the token of the call's connection
 *		once (oauth.c; the API domain may change with it), in call->cxt.
 *		The call's secrets then hold the old token as well as the new one.
 *		Only for a call with a connection.
 */
extern void zcrm_call_refresh(ZcrmCall *call);

/*
 * zcrm_is_invalid_token
 *		True when a response is the API's INVALID_TOKEN error (HTTP 401 with
 *		that code): the request was refused, so nothing of it was done.
 */
extern bool zcrm_is_invalid_token(const ZcrmHttpResponse *resp);

/* Builds the request of a call from "arg" (again, after a token refresh). */
typedef void (*ZcrmBuildRequest) (const ZcrmCall *call, const void *arg,
								  ZcrmRequest *req);

/*
 * zcrm_send_many
 *		Build request i of a batch from args[i] with "build" into reqs[i],
 *		send all n, at most zcrm_bulk.max_concurrency at a time, and fill
 *		outcomes[i].  Through a connection, the requests answered
 *		INVALID_TOKEN (refused: nothing was made) are built and sent once
 *		more after one refresh of the token for all of them, and reqs[]
 *		and outcomes[] then hold the requests sent again and their
 *		outcomes.  A request that fails does not raise: its outcome says
 *		why.  The one place where zcrm_bulk refreshes and resends a batch.
 */
extern void zcrm_send_many(ZcrmCall *call, ZcrmBuildRequest build,
						   const void *const *args, int n, ZcrmRequest *reqs,
						   ZcrmOutcome *outcomes);

/*
 * What comes after request *req of item i of a chain of zcrm_send_chain(),
 * whose final outcome is *out: return false to end the chain there (*out
 * is then the item's outcome), or consume *out (free its body), set *build
 * and *arg to the next request of item i and return true.  It is called
 * outside libcurl's callbacks and may raise.
 */
typedef bool (*ZcrmNextRequest) (ZcrmCall *call, void *state, int i,
								 const ZcrmRequest *req, ZcrmOutcome *out,
								 ZcrmBuildRequest *build, const void **arg);

/*
 * zcrm_send_chain
 *		zcrm_send_many() for chains of requests: item i starts with request
 *		builds[i](args[i]) and goes on as "next" says, each request sent as
 *		soon as the one before it ends (transport.h), at most
 *		zcrm_bulk.max_concurrency at a time; outcomes[i] and reqs[i] are
 *		those of its last request.  Through a connection, a request
 *		answered INVALID_TOKEN ends its chain for the moment; after one
 *		refresh of the token for all of them, each is built (builds[i] and
 *		args[i] are then its own) and sent again, and its chain goes on.
 *		With next NULL, it is zcrm_send_many().
 */
extern void zcrm_send_chain(ZcrmCall *call, ZcrmBuildRequest *builds,
							const void **args, int n, ZcrmRequest *reqs,
							ZcrmOutcome *outcomes, ZcrmNextRequest next,
							void *state);

/*
 * zcrm_job_request
 *		ZcrmBuildRequest of a job's details (arg: the job id, which must
 *		outlive the request).
 */
extern void zcrm_job_request(const ZcrmCall *call, const void *arg, ZcrmRequest *req);

/*
 * zcrm_job_of_outcome
 *		The job job_id parsed from outcome *o of its request *req, or NULL
 *		with *err describing why it could not be had, as zcrm_fetched_job()
 *		says.  Free the job with zcrm_job_free(), under PG_TRY.
 */
extern ZcrmJob *zcrm_job_of_outcome(const ZcrmCall *call, const char *job_id,
									const ZcrmRequest *req, const ZcrmOutcome *o,
									ZcrmError *err);

/* Whether a fetched job is finished: COMPLETED or FAILED. */
extern bool zcrm_job_finished(const ZcrmJob *job);

/* The requests of a batch of jobs and how each ended; see zoho.c. */
typedef struct ZcrmFetched ZcrmFetched;

/*
 * zcrm_call_open
 *		Set up *call (job_id NULL) from the token and connection arguments
 *		as passed (NULL when not passed): a token is checked and used with
 *		zcrm_bulk.api_domain; a connection, or else
 *		zcrm_bulk.default_connection, is looked up and its access token
 *		obtained (which may refresh it).  Passing both, or neither without a
 *		default connection, is 22023.  Token and API domain are allocated in
 *		the current memory context, which must outlive the call.
 */
extern void zcrm_call_open(ZcrmCall *call, const char *token,
						   const char *connection);

/*
 * zcrm_fetch_jobs
 *		GET the n jobs job_ids[] (distinct and valid; the array must outlive
 *		the result) at most zcrm_bulk.max_concurrency at a time.  A job that
 *		fails does not raise: zcrm_fetched_job() says why.  n may be 0.
 */
extern ZcrmFetched *zcrm_fetch_jobs(ZcrmCall *call, char *const *job_ids, int n);

/*
 * zcrm_fetched_job
 *		The parsed job i of a batch, or NULL with *err describing why it
 *		could not be had.  Free the job with zcrm_job_free(), under PG_TRY.
 */
extern ZcrmJob *zcrm_fetched_job(const ZcrmCall *call, const ZcrmFetched *f,
								 int i, ZcrmError *err);

/*
 * zcrm_fetched_release
 *		Free the response body of job i of a batch, once its rows are made.
 */
extern void zcrm_fetched_release(ZcrmFetched *f, int i);

/*
 * zcrm_take_recent_job
 *		The document of job_id as a fetch of this backend found it
 *		finished (COMPLETED or FAILED, with a download_url) less than 30 s
 *		ago, parsed, when that fetch was made with the call's identity (its
 *		connection, or the same token) and API domain; NULL otherwise.  The
 *		document is taken: a second call returns NULL.  Free the job with
 *		zcrm_job_free().
 */
extern ZcrmJob *zcrm_take_recent_job(const ZcrmCall *call, const char *job_id);

/*
 * zcrm_fetch_job
 *		Fetch and parse the call's job; any failure is raised.  Free the
 *		result with zcrm_job_free(), under PG_TRY.
 */
extern ZcrmJob *zcrm_fetch_job(ZcrmCall *call);

/*
 * zcrm_fetch_job_document
 *		Fetch the call's job and return its body in *resp once it is known
 *		to be a JSON object that is not a Zoho error; any failure is raised.
 */
extern void zcrm_fetch_job_document(ZcrmCall *call, ZcrmHttpResponse *resp);

/*
 * zcrm_download_url
 *		A job's download_url, made absolute against the API domain the call
 *		was made to; palloc'd.
 */
extern char *zcrm_download_url(const ZcrmCall *call, const char *url);

#endif							/* ZCRM_ZOHO_H */
