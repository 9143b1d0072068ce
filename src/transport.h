/*-------------------------------------------------------------------------
 *
 * transport.h
 *	  HTTP(S) requests to the Zoho CRM API through libcurl.
 *
 * transport.c is the only file that includes curl.h.  It keeps one easy
 * handle, one multi handle and one share handle per backend, created on
 * first use, so that keep-alive connections, TLS sessions and the DNS cache
 * survive between calls.  A batch makes its further easy handles for the
 * call only.  No other curl state outlives a call.
 *
 * This header owns the transport's failure kinds (ZcrmTransportFailure) and
 * includes no other zcrm_bulk header: errors.h includes it to describe
 * those failures, never the other way round.  Like every PostgreSQL header
 * it expects postgres.h to have been included first.
 *
 * Copyright (c) 2026, zcrm_bulk developers
 *
 * IDENTIFICATION
 *	  src/transport.h
 *
 *-------------------------------------------------------------------------
 */
#ifndef ZCRM_TRANSPORT_H
#define ZCRM_TRANSPORT_H

/* What went wrong below HTTP, as classified by transport.c. */
typedef enum ZcrmTransportFailure
{
	ZCRM_FAIL_CONNECT,			/* DNS, refused, TLS handshake or verification */
	ZCRM_FAIL_CONNECT_TIMEOUT,	/* no connection within connect_timeout */
	ZCRM_FAIL_LOST,				/* connection lost or reset mid-response */
	ZCRM_FAIL_TIMEOUT,			/* the whole request outlasted the timeout */
	ZCRM_FAIL_TOO_LARGE,		/* body over zcrm_bulk.max_response_size */
	ZCRM_FAIL_PROTOCOL,			/* the server did not speak HTTP correctly */
	ZCRM_FAIL_NO_MEMORY,		/* out of memory while receiving */
	ZCRM_FAIL_INTERNAL			/* libcurl refused the request setup */
} ZcrmTransportFailure;

/* A complete HTTP response; all strings palloc'd in the caller's context. */
typedef struct ZcrmHttpResponse
{
	long		status;			/* HTTP status code */
	char	   *body;			/* NUL-terminated; body_len excludes the NUL;
								 * binary-safe (may hold NULs) */
	size_t		body_len;
	char	   *content_type;	/* NULL when the server sent none */
} ZcrmHttpResponse;

/*
 * One HTTP request: a GET, or a POST of a form, a JSON body or an upload
 * (at most one of form, json and upload).  Every POST is sent with an
 * empty "Expect:", so libcurl never waits for a 100 Continue.  The upload
 * is read from the caller's buffer as it is sent (never copied), which
 * must live until the request is done.
 */
typedef struct ZcrmRequest
{
	const char *url;
	const char *token;			/* Authorization: Zoho-oauthtoken, or NULL */
	const char *form;			/* POST this urlencoded form, or GET if NULL */
	const char *what;			/* names the request in errors and logs */
	bool		once;			/* never sent twice: no retry, and a new
								 * connection (see configure_request) */
	long		timeout_ms;		/* when > 0: a limit below zcrm_bulk.timeout */
	const char *json;			/* POST this JSON body instead (or NULL) */
	const char *upload;			/* POST these upload_len bytes as the */
	size_t		upload_len;		/* multipart/form-data part "file", named */
	const char *upload_name;	/* upload_name, without a part Content-Type */
	const char *const *headers; /* more header lines, NULL-terminated */
	size_t		max_body;		/* when > 0: the body limit instead of
								 * zcrm_bulk.max_response_size */
} ZcrmRequest;

/* How one request of a batch ended. */
typedef struct ZcrmOutcome
{
	bool		complete;		/* a complete response arrived (any status) */
	ZcrmHttpResponse resp;		/* when complete */
	ZcrmTransportFailure kind;	/* when not: why */
	char	   *reason;			/* libcurl's description, palloc'd */
	long		limit;			/* the body limit, for ZCRM_FAIL_TOO_LARGE */
	int			attempts;		/* requests made, retries included */
} ZcrmOutcome;

/*
 * zcrm_http_request_many
 *		Make nreqs requests with at most "concurrency" of them in flight at
 *		once (capped at ZCRM_MAX_CONCURRENCY), over HTTP/2 multiplexed on
 *		one connection where the server offers it, and fill outcomes[i] for
 *		reqs[i].  Each request is retried on its own as zcrm_http_request()
 *		retries, and zcrm_bulk.timeout bounds each request from its first
 *		attempt.  A request that fails does not raise: its outcome says why.
 *		Raises only for interrupts (query cancel, statement_timeout,
 *		termination: within about 50 ms) and when libcurl cannot be set up,
 *		after releasing every curl resource of the batch.
 */
extern void zcrm_http_request_many(const ZcrmRequest *reqs, int nreqs,
								   int concurrency, ZcrmOutcome *outcomes);

/*
 * What comes after request i of a chain, whose outcome *out is final
 * (retries done): return false to end the chain there (*out is then the
 * outcome the caller gets), or consume *out (free what it holds), put the
 * next request into *req and return true.
 */
typedef bool (*ZcrmRequestDone) (void *arg, int i, ZcrmOutcome *out,
								 ZcrmRequest *req);

/*
 * zcrm_http_request_chain
 *		zcrm_http_request_many() for chains: request i is the first of a
 *		chain of requests, each sent as soon as the one before it ends, in
 *		the slot that request had or the next free one, ahead of requests
 *		not started yet; outcomes[i] gets the outcome of the chain's last
 *		request.  "done" is called from the loop that drives the transfers,
 *		never from a libcurl callback, so it may raise (everything of the
 *		batch is then released) and may run SQL.  reqs[] must be writable
 *		and live until the call returns.
 */
extern void zcrm_http_request_chain(ZcrmRequest *reqs, int nreqs, int concurrency,
									ZcrmOutcome *outcomes, ZcrmRequestDone done,
									void *arg);

/*
 * zcrm_http_request
 *		Make the request and fill *resp.  Any response with a status line
 *		counts as complete, whatever its status.  A request that gets no
 *		complete response (after the retries zcrm_bulk.retries allows)
 *		raises an ERROR through errors.c.  Query cancel, statement_timeout
 *		and backend termination interrupt the transfer within about 50 ms
 *		and raise PostgreSQL's own error.  Every curl resource of the
 *		request is released before any ERROR propagates.
 */
extern void zcrm_http_request(const ZcrmRequest *req, ZcrmHttpResponse *resp);

/*
 * A request made in the background while the backend does something else
 * (the org call while a query's rows are zipped): zcrm_http_begin() starts
 * it (a GET: no form, body or upload) and returns at once, NULL when it
 * could not be set up; zcrm_http_step(), called from long loops, lets it
 * progress without waiting (at most every 2 ms; cheap to call per row)
 * and never raises; zcrm_http_end() waits for it
 * as zcrm_http_request_many() would (interruptible, retried, within
 * zcrm_bulk.timeout) and fills *out in the caller's context;
 * zcrm_http_abandon() drops it.  At most one is in the background: begin
 * abandons the one before.  It lives in TopMemoryContext, so it survives
 * commits and errors until ended or abandoned.
 */
typedef struct ZcrmBackground ZcrmBackground;

extern ZcrmBackground *zcrm_http_begin(const ZcrmRequest *req);
extern void zcrm_http_step(void);
extern void zcrm_http_end(ZcrmBackground *bg, ZcrmOutcome *out);
extern void zcrm_http_abandon(ZcrmBackground *bg);

#endif							/* ZCRM_TRANSPORT_H */
