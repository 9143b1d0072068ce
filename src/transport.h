/*-------------------------------------------------------------------------
 *
 * transport.h
 *	  HTTP(S) requests to the Zoho CRM API through libcurl.
 *
 * transport.c is the only file that includes curl.h.  It keeps one easy
 * handle and one multi handle per backend, created on first use, so that
 * keep-alive connections, TLS sessions and the DNS cache survive between
 * calls.  No other curl state outlives a call.
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

/* A complete HTTP response; all strings palloc'd in the caller's context. */
typedef struct ZcrmHttpResponse
{
	long		status;			/* HTTP status code */
	char	   *body;			/* NUL-terminated; body_len excludes the NUL */
	size_t		body_len;
	char	   *content_type;	/* NULL when the server sent none */
} ZcrmHttpResponse;

/* One HTTP request. */
typedef struct ZcrmRequest
{
	const char *url;
	const char *token;			/* Authorization: Zoho-oauthtoken, or NULL */
	const char *form;			/* POST this urlencoded form, or GET if NULL */
	const char *what;			/* names the request in errors and logs */
} ZcrmRequest;

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
 * zcrm_form_encode
 *		"name=value&..." from npairs (name, value) pairs, the values
 *		percent-encoded; palloc'd.  Names are used as they are.
 */
extern char *zcrm_form_encode(const char *const *pairs, int npairs);

/*
 * zcrm_sleep
 *		Sleep "ms" milliseconds on the process latch, so that query cancel,
 *		statement_timeout and termination end the wait at once (through
 *		CHECK_FOR_INTERRUPTS) and postmaster death ends the backend.  Used
 *		for backoff between retries and between polls of a job.
 */
extern void zcrm_sleep(long ms);

#endif							/* ZCRM_TRANSPORT_H */
