/*-------------------------------------------------------------------------
 *
 * zoho.c
 *	  Zoho CRM API policy: credentials and API domain of a call, request
 *	  URLs, the retry after INVALID_TOKEN, and what a response means.
 *
 * Everything here is a rule of Zoho's API rather than of SQL: which token
 * a call uses and which data centre's API domain it goes to, the URL of a
 * job ({api domain}/crm/bulk/{version}/write/{job id}), that a rejected
 * token of a connection is refreshed once and only the rejected requests
 * are made again, that only a 2xx other than 204 carries a job, and that a
 * download_url may be relative.  transport.c makes the requests (it is the
 * only file that talks to libcurl), parse.c reads the bodies, errors.c
 * describes the failures, oauth.c obtains the tokens of connections.  See
 * zoho.h for where the calls of 2.1 go.
 *
 * Copyright (c) 2026, zcrm_bulk developers
 *
 * IDENTIFICATION
 *	  src/zoho.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "common/sha2.h"
#include "utils/memutils.h"
#include "utils/timestamp.h"

#include "connections.h"
#include "errors.h"
#include "oauth.h"
#include "parse.h"
#include "settings.h"
#include "transport.h"
#include "validate.h"
#include "zoho.h"

/* A batch of job requests; see zcrm_fetch_jobs(). */
struct ZcrmFetched
{
	int			n;
	char	   *const *job_ids;
	ZcrmRequest *reqs;
	ZcrmOutcome *outcomes;
};

/*
 * Finished jobs fetched lately: a job's document as a fetch found it
 * COMPLETED or FAILED with a download_url, with who fetched it (server and
 * user mapping, or the SHA-256 of the token) and where (the API domain),
 * so that zcrm_take_recent_job() can spare the collect step of a run a
 * second fetch of a job the poller has just fetched.  Only documents the
 * API sent are kept (nothing a caller passes in), each is taken at most
 * once, by a call of the same identity, within RECENT_JOB_MS.  In
 * TopMemoryContext, RECENT_JOBS entries, the oldest replaced.
 */
#define RECENT_JOBS			16
#define RECENT_JOB_MS		30000
#define RECENT_JOB_MAX_BODY	65536

typedef struct RecentJob
{
	char	   *job_id;			/* NULL: a free entry */
	bool		by_conn;
	Oid			serverid;
	Oid			umid;
	char		token_sha[PG_SHA256_DIGEST_STRING_LENGTH];
	char	   *base;
	char	   *body;
	size_t		len;
	TimestampTz at;
} RecentJob;

static RecentJob recent_jobs[RECENT_JOBS];
static int	recent_next = 0;

/* Free entry e. */
static void
recent_clear(RecentJob *e)
{
	if (e->job_id)
	{
		pfree(e->job_id);
		pfree(e->base);
		pfree(e->body);
	}
	memset(e, 0, sizeof(*e));
}

/* Whether entry e was fetched by the identity of "call". */
static bool
recent_same_caller(const RecentJob *e, const ZcrmCall *call)
{
	char		sha[PG_SHA256_DIGEST_STRING_LENGTH];

	if (e->by_conn != (call->conn != NULL) || strcmp(e->base, call->base) != 0)
		return false;
	if (call->conn)
		return e->serverid == call->conn->serverid && e->umid == call->conn->umid;
	zcrm_sha256_hex(call->token, strlen(call->token), sha);
	return strcmp(sha, e->token_sha) == 0;
}

/*
 * recent_remember
 *		Keep the document "body" of job job_id, just fetched and parsed as
 *		"job", when it is finished with a result file.
 */
static void
recent_remember(const ZcrmCall *call, const char *job_id, const ZcrmJob *job,
				const char *body, size_t len)
{
	MemoryContext old;
	RecentJob  *e = NULL;

	if (job->download_url == NULL || job->status == NULL ||
		(strcmp(job->status, "COMPLETED") != 0 && strcmp(job->status, "FAILED") != 0) ||
		len > RECENT_JOB_MAX_BODY)
		return;
	for (int i = 0; i < RECENT_JOBS && e == NULL; i++)
		if (recent_jobs[i].job_id && strcmp(recent_jobs[i].job_id, job_id) == 0 &&
			recent_same_caller(&recent_jobs[i], call))
			e = &recent_jobs[i];
	if (e == NULL)
	{
		e = &recent_jobs[recent_next];
		recent_next = (recent_next + 1) % RECENT_JOBS;
	}
	recent_clear(e);
	old = MemoryContextSwitchTo(TopMemoryContext);
	e->job_id = pstrdup(job_id);
	e->by_conn = (call->conn != NULL);
	if (call->conn)
	{
		e->serverid = call->conn->serverid;
		e->umid = call->conn->umid;
	}
	else
		zcrm_sha256_hex(call->token, strlen(call->token), e->token_sha);
	e->base = pstrdup(call->base);
	e->body = palloc(len + 1);
	memcpy(e->body, body, len);
	e->body[len] = '\0';
	e->len = len;
	e->at = GetCurrentTimestamp();
	MemoryContextSwitchTo(old);
}

/*
 * zcrm_take_recent_job
 *		See zoho.h.
 */
ZcrmJob *
zcrm_take_recent_job(const ZcrmCall *call, const char *job_id)
{
	TimestampTz now = GetCurrentTimestamp();

	for (int i = 0; i < RECENT_JOBS; i++)
	{
		RecentJob  *e = &recent_jobs[i];
		ZcrmJob    *job = NULL;
		ZcrmParseError perr;
		ZcrmParseStatus st;

		if (e->job_id == NULL || strcmp(e->job_id, job_id) != 0 ||
			!recent_same_caller(e, call))
			continue;
		if (!TimestampDifferenceExceeds(e->at, now, RECENT_JOB_MS))
		{
			do
				st = zcrm_parse_job(e->body, e->len, &job, &perr);
			while (zcrm_parse_stopped(st));
			if (st != ZCRM_PARSE_OK)
				job = NULL;
		}
		recent_clear(e);
		return job;
	}
	return NULL;
}

/*
 * remember_secrets
 *		Set call->secrets from the call's token, "replaced" (the token it
 *		took over from, or NULL) and its connection.
 */
static void
remember_secrets(ZcrmCall *call, const char *replaced)
{
	int			n = 0;

	call->secrets[n++] = call->token;
	if (replaced)
		call->secrets[n++] = replaced;
	if (call->conn)
	{
		call->secrets[n++] = call->conn->client_secret;
		call->secrets[n++] = call->conn->refresh_token;
	}
	call->secrets[n] = NULL;
}

/*
 * zcrm_call_open
 *		See zoho.h.  The token argument wins, then the connection argument,
 *		then zcrm_bulk.default_connection; a token goes to
 *		zcrm_bulk.api_domain, a connection's token to the domain
 *		zcrm_oauth_access() names for it.
 */
void
zcrm_call_open(ZcrmCall *call, const char *token, const char *connection)
{
	memset(call, 0, sizeof(*call));
	call->cxt = CurrentMemoryContext;
	if (token && connection)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("pass either a token or a connection, not both")));
	if (!token && !connection)
	{
		if (zcrm_default_connection == NULL || zcrm_default_connection[0] == '\0')
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("no access token and no connection given"),
					 errhint("Pass token => or connection =>, or set zcrm_bulk.default_connection.")));
		connection = zcrm_default_connection;
	}

	if (token)
	{
		zcrm_check_access_token(token);
		call->token = pstrdup(token);
		call->base = zcrm_without_slash(zcrm_api_domain);
	}
	else
	{
		call->conn = zcrm_connection_lookup(connection);
		zcrm_oauth_access(call->conn, NULL, &call->token, &call->base);
		call->base = zcrm_without_slash(call->base);
	}
	remember_secrets(call, NULL);
}

/*
 * zcrm_call_refresh
 *		See zoho.h.
 */
void
zcrm_call_refresh(ZcrmCall *call)
{
	char	   *replaced = call->token;
	char	   *base;
	MemoryContext oldcxt = MemoryContextSwitchTo(call->cxt);

	Assert(call->conn != NULL);
	zcrm_oauth_access(call->conn, replaced, &call->token, &base);
	call->base = zcrm_without_slash(base);
	MemoryContextSwitchTo(oldcxt);
	remember_secrets(call, replaced);
}

/*
 * zcrm_job_request
 *		See zoho.h: the request with the call's token, to the call's API
 *		domain in the API version of zcrm_bulk.api_version.
 */
void
zcrm_job_request(const ZcrmCall *call, const void *arg, ZcrmRequest *req)
{
	const char *job_id = (const char *) arg;

	memset(req, 0, sizeof(*req));
	req->url = psprintf("%s/crm/bulk/%s/write/%s",
						call->base, zcrm_api_version_name(), job_id);
	req->token = call->token;
	req->form = NULL;
	req->what = psprintf("bulk write job %s", job_id);
}

/*
 * zcrm_is_invalid_token
 *		See zoho.h.
 */
bool
zcrm_is_invalid_token(const ZcrmHttpResponse *resp)
{
	ZcrmApiError *apierr = NULL;
	ZcrmParseStatus st;
	bool		result;

	if (resp->status != 401)
		return false;
	do
		st = zcrm_parse_api_error(resp->body, resp->body_len, &apierr, NULL);
	while (zcrm_parse_stopped(st));
	if (st != ZCRM_PARSE_OK)
		return false;
	result = (strcmp(apierr->code, "INVALID_TOKEN") == 0);
	zcrm_api_error_free(apierr);
	return result;
}

/* What chain_done() needs: see zcrm_send_chain(). */
typedef struct ChainState
{
	ZcrmCall   *call;
	ZcrmBuildRequest *builds;
	const void **args;
	ZcrmNextRequest next;
	void	   *state;
	const int  *index;			/* request k of the batch is item index[k] */
	bool		refreshed;		/* the token has been refreshed once */
} ChainState;

/*
 * chain_done
 *		The transport's ZcrmRequestDone of zcrm_send_chain(): the chain of
 *		item i goes on as the caller's "next" says, except after
 *		INVALID_TOKEN through a connection before the refresh, when it
 *		stops there to be sent again once the token is refreshed.
 */
static bool
chain_done(void *arg, int k, ZcrmOutcome *out, ZcrmRequest *req)
{
	ChainState *cs = (ChainState *) arg;
	int			i = cs->index ? cs->index[k] : k;

	if (cs->call->conn && !cs->refreshed && out->complete &&
		zcrm_is_invalid_token(&out->resp))
		return false;
	if (!cs->next(cs->call, cs->state, i, req, out, &cs->builds[i], &cs->args[i]))
		return false;
	cs->builds[i] (cs->call, cs->args[i], req);
	return true;
}

/*
 * zcrm_send_chain
 *		See zoho.h.
 */
void
zcrm_send_chain(ZcrmCall *call, ZcrmBuildRequest *builds, const void **args,
				int n, ZcrmRequest *reqs, ZcrmOutcome *outcomes,
				ZcrmNextRequest next, void *state)
{
	ChainState	cs = {call, builds, args, next, state, NULL, false};
	ZcrmRequestDone done = next ? chain_done : NULL;
	int		   *again;
	int			nagain = 0;

	if (n == 0)
		return;					/* no request: libcurl is not even set up */
	for (int i = 0; i < n; i++)
		builds[i] (call, args[i], &reqs[i]);
	zcrm_http_request_chain(reqs, n, zcrm_max_concurrency, outcomes, done, &cs);
	if (call->conn == NULL)
		return;

	/* the requests whose token was rejected */
	again = palloc(sizeof(int) * n);
	for (int i = 0; i < n; i++)
	{
		if (outcomes[i].complete && zcrm_is_invalid_token(&outcomes[i].resp))
			again[nagain++] = i;
	}
	if (nagain > 0)
	{
		ZcrmRequest *retry = palloc0(sizeof(ZcrmRequest) * nagain);
		ZcrmOutcome *retried = palloc0(sizeof(ZcrmOutcome) * nagain);

		zcrm_call_refresh(call);
		cs.index = again;
		cs.refreshed = true;
		for (int k = 0; k < nagain; k++)
			builds[again[k]] (call, args[again[k]], &retry[k]);
		zcrm_http_request_chain(retry, nagain, zcrm_max_concurrency, retried, done, &cs);
		for (int k = 0; k < nagain; k++)
		{
			pfree(outcomes[again[k]].resp.body);
			reqs[again[k]] = retry[k];
			outcomes[again[k]] = retried[k];
		}
		pfree(retry);
		pfree(retried);
	}
	pfree(again);
}

/*
 * zcrm_send_many
 *		See zoho.h: chains of one request each.
 */
void
zcrm_send_many(ZcrmCall *call, ZcrmBuildRequest build, const void *const *args,
			   int n, ZcrmRequest *reqs, ZcrmOutcome *outcomes)
{
	ZcrmBuildRequest *builds = palloc(sizeof(ZcrmBuildRequest) * Max(n, 1));
	const void **argv = palloc(sizeof(void *) * Max(n, 1));

	for (int i = 0; i < n; i++)
	{
		builds[i] = build;
		argv[i] = args[i];
	}
	zcrm_send_chain(call, builds, argv, n, reqs, outcomes, NULL, NULL);
	pfree(builds);
	pfree(argv);
}

/*
 * zcrm_fetch_jobs
 *		See zoho.h.  With a connection, the jobs the API answered
 *		INVALID_TOKEN are requested once more, after one refresh of the
 *		token for all of them (zcrm_send_many); the call's secrets then hold
 *		the old token as well as the new one, since the outcomes that were
 *		not requested again were answered to the old one.  Every call of a
 *		job function fetches through here, a single job as a batch of one.
 */
ZcrmFetched *
zcrm_fetch_jobs(ZcrmCall *call, char *const *job_ids, int n)
{
	ZcrmFetched *f = palloc0(sizeof(ZcrmFetched));

	f->n = n;
	f->job_ids = job_ids;
	f->reqs = palloc0(sizeof(ZcrmRequest) * Max(n, 1));
	f->outcomes = palloc0(sizeof(ZcrmOutcome) * Max(n, 1));
	zcrm_send_many(call, zcrm_job_request, (const void *const *) job_ids, n,
				   f->reqs, f->outcomes);
	return f;
}

/*
 * response_failed
 *		False when outcome "o" of request "req" for job_id is a 2xx response
 *		other than 204; otherwise true, with *err describing the failure:
 *		no complete response, or an API error of any status.
 */
static bool
response_failed(const ZcrmCall *call, const char *job_id, const ZcrmRequest *req,
				const ZcrmOutcome *o, ZcrmError *err)
{
	const ZcrmHttpResponse *resp = &o->resp;

	if (!o->complete)
	{
		zcrm_describe_transport_error(o->kind, o->reason, req->what,
									  o->limit, o->attempts, err);
		return true;
	}
	if (resp->status < 200 || resp->status > 299 || resp->status == 204)
	{
		zcrm_describe_http_error(resp->status, resp->body, resp->body_len,
								 resp->content_type, job_id, call->secrets, err);
		return true;
	}
	return false;
}

/*
 * zcrm_fetched_job
 *		See zoho.h.  A job cannot be had when response_failed() says so,
 *		when its 2xx body is a Zoho error object, or when parse.c rejects
 *		the document.
 */
ZcrmJob *
zcrm_fetched_job(const ZcrmCall *call, const ZcrmFetched *f, int i,
				 ZcrmError *err)
{
	Assert(i >= 0 && i < f->n);
	return zcrm_job_of_outcome(call, f->job_ids[i], &f->reqs[i], &f->outcomes[i], err);
}

/*
 * zcrm_job_finished
 *		See zoho.h.
 */
bool
zcrm_job_finished(const ZcrmJob *job)
{
	return job->status && (strcmp(job->status, "COMPLETED") == 0 ||
						   strcmp(job->status, "FAILED") == 0);
}

/*
 * zcrm_job_of_outcome
 *		See zoho.h.
 */
ZcrmJob *
zcrm_job_of_outcome(const ZcrmCall *call, const char *job_id,
					const ZcrmRequest *req, const ZcrmOutcome *o, ZcrmError *err)
{
	const ZcrmHttpResponse *resp = &o->resp;
	ZcrmParseError perr;
	ZcrmParseStatus st;
	ZcrmJob    *job = NULL;

	if (response_failed(call, job_id, req, o, err))
		return NULL;
	do
		st = zcrm_parse_job(resp->body, resp->body_len, &job, &perr);
	while (zcrm_parse_stopped(st));
	if (st == ZCRM_PARSE_API_ERROR)
		zcrm_describe_http_error(resp->status, resp->body, resp->body_len,
								 resp->content_type, job_id, call->secrets, err);
	else if (st != ZCRM_PARSE_OK)
		zcrm_describe_parse_error(&perr, job_id, err);
	else
		recent_remember(call, job_id, job, resp->body, resp->body_len);
	return job;					/* NULL unless ZCRM_PARSE_OK */
}

/*
 * zcrm_fetched_release
 *		See zoho.h.  Releasing twice is harmless.
 */
void
zcrm_fetched_release(ZcrmFetched *f, int i)
{
	ZcrmOutcome *o = &f->outcomes[i];

	if (o->complete)
	{
		pfree(o->resp.body);
		o->complete = false;
	}
}

/*
 * zcrm_fetch_job
 *		See zoho.h.
 */
ZcrmJob *
zcrm_fetch_job(ZcrmCall *call)
{
	ZcrmFetched *f = zcrm_fetch_jobs(call, &call->job_id, 1);
	ZcrmError	err;
	ZcrmJob    *job;

	job = zcrm_fetched_job(call, f, 0, &err);
	if (job == NULL)
		zcrm_raise_error(&err);
	zcrm_fetched_release(f, 0);
	return job;
}

/*
 * zcrm_fetch_job_document
 *		See zoho.h.  The document is checked, not parsed into a job, so that
 *		zcrm_write_job_json() returns it exactly as sent.
 */
void
zcrm_fetch_job_document(ZcrmCall *call, ZcrmHttpResponse *resp)
{
	ZcrmFetched *f = zcrm_fetch_jobs(call, &call->job_id, 1);
	ZcrmParseError perr;
	ZcrmParseStatus st;
	ZcrmError	err;

	if (response_failed(call, call->job_id, &f->reqs[0], &f->outcomes[0], &err))
		zcrm_raise_error(&err);
	*resp = f->outcomes[0].resp;
	do
		st = zcrm_check_document(resp->body, resp->body_len, &perr);
	while (zcrm_parse_stopped(st));
	if (st == ZCRM_PARSE_API_ERROR)
		zcrm_raise_http_error(resp->status, resp->body, resp->body_len,
							  resp->content_type, call->job_id, call->secrets);
	if (st != ZCRM_PARSE_OK)
		zcrm_raise_parse_error(&perr, call->job_id);
}

/*
 * zcrm_download_url
 *		See zoho.h: absolute URLs are returned unchanged, a path is appended
 *		to the call's API domain, and a scheme-relative "//host/..." takes
 *		the domain's scheme.
 */
char *
zcrm_download_url(const ZcrmCall *call, const char *url)
{
	const char *base = call->base;

	if (pg_strncasecmp(url, "https://", 8) == 0 ||
		pg_strncasecmp(url, "http://", 7) == 0)
		return pstrdup(url);

	if (url[0] == '/' && url[1] == '/')
		return psprintf("%s%s", pg_strncasecmp(base, "https:", 6) == 0 ?
						"https:" : "http:", url);
	if (url[0] == '/')
		return psprintf("%s%s", base, url);
	return psprintf("%s/%s", base, url);
}
