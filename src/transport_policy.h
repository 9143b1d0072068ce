/*-------------------------------------------------------------------------
 *
 * transport_policy.h
 *	  What the transport decides without libcurl: which statuses a retry
 *	  may cure, how long to back off, the order in which a batch's
 *	  requests are started, latch sleeps and form encoding.
 *
 * transport.c drives libcurl and asks this file what to do next; nothing
 * here includes curl.h or holds curl state.  The request queue
 * (ZcrmQueue) is the part of a batch that knows which request is waiting,
 * backing off, running or done, and when the next backoff ends.
 *
 * Copyright (c) 2026, zcrm_bulk developers
 *
 * IDENTIFICATION
 *	  src/transport_policy.h
 *
 *-------------------------------------------------------------------------
 */
#ifndef ZCRM_TRANSPORT_POLICY_H
#define ZCRM_TRANSPORT_POLICY_H

#include "datatype/timestamp.h"

#include "transport.h"

/* Where one request of a batch stands. */
typedef enum ZcrmReqState
{
	ZCRM_REQ_QUEUED,			/* not started yet */
	ZCRM_REQ_BACKOFF,			/* failed; the next attempt waits */
	ZCRM_REQ_RUNNING,			/* an attempt is in flight in some slot */
	ZCRM_REQ_DONE				/* its outcome is final */
} ZcrmReqState;

typedef struct ZcrmTrack
{
	ZcrmReqState state;
	TimestampTz deadline;		/* zcrm_bulk.timeout after the first attempt */
	TimestampTz not_before;		/* ZCRM_REQ_BACKOFF: earliest next attempt */
} ZcrmTrack;

/* The requests of one batch, by state. */
typedef struct ZcrmQueue
{
	ZcrmTrack  *track;			/* one per request */
	int			nreqs;
	int			next_new;		/* lowest request never started */
	int			nbackoff;		/* requests in ZCRM_REQ_BACKOFF */
	int			ndone;			/* requests in ZCRM_REQ_DONE */
} ZcrmQueue;

/*
 * zcrm_queue_next
 *		The request a free slot should carry next: one whose backoff is
 *		over (lowest index first), else the next one never started, else
 *		-1.  The request returned leaves the backoff count.
 */
extern int	zcrm_queue_next(ZcrmQueue *q, TimestampTz now);

/*
 * zcrm_queue_again
 *		Request i, whose outcome was final, carries the next request of its
 *		chain: it is queued again, ahead of the requests never started.
 */
extern void zcrm_queue_again(ZcrmQueue *q, int i);

/*
 * zcrm_queue_wait_ms
 *		How long the batch may wait for sockets or the latch: at most
 *		max_ms, and no longer than until the earliest backoff ends.
 */
extern long zcrm_queue_wait_ms(const ZcrmQueue *q, long max_ms);

/*
 * zcrm_queue_backoff
 *		Request i (req), after "attempts" attempts, failed in a way a retry
 *		may cure: with libcurl's "reason", or (reason NULL) with HTTP
 *		"status".  When a retry is
 *		left (not "once", at most zcrm_bulk.retries, and the backoff
 *		ends before the request's deadline), put it into
 *		ZCRM_REQ_BACKOFF until its backoff is over, log that at DEBUG1 and
 *		return true; otherwise change nothing and return false.
 */
extern bool zcrm_queue_backoff(ZcrmQueue *q, int i, const ZcrmRequest *req,
							   int attempts, const char *reason, long status);

/*
 * zcrm_status_is_retryable
 *		True for the HTTP statuses a retry may cure: 429 and 5xx.
 */
extern bool zcrm_status_is_retryable(long status);

/* The response body as it streams in; malloc'd, owned by one request. */
typedef struct ZcrmBody
{
	char	   *data;
	size_t		len;
	size_t		cap;
	size_t		limit;			/* max_body, else zcrm_bulk.max_response_size */
	bool		too_large;		/* the limit was passed: transfer aborted */
	bool		no_memory;		/* malloc failed: transfer aborted */
} ZcrmBody;

/*
 * zcrm_body_append
 *		Append n received (decompressed) bytes to *body, keeping it
 *		NUL-terminated.  False, with too_large or no_memory set, when the
 *		body would pass its limit or memory runs out.  Never raises: it
 *		runs inside libcurl's write callback.
 */
extern bool zcrm_body_append(ZcrmBody *body, const char *ptr, size_t n);

/*
 * zcrm_outcome_set_response
 *		Make *o a complete response with "status", a palloc'd copy of the
 *		body and of content_type (may be NULL); if the copy cannot be had,
 *		o is instead the failure ZCRM_FAIL_NO_MEMORY.
 */
extern void zcrm_outcome_set_response(ZcrmOutcome *o, const ZcrmBody *body,
									  long status, const char *content_type);

/*
 * zcrm_form_encode
 *		"name=value&..." from npairs (name, value) pairs, the values
 *		percent-encoded (every byte but ALPHA, DIGIT, "-", ".", "_" and
 *		"~" as %XX); palloc'd.  Names are used as they are.
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

#endif							/* ZCRM_TRANSPORT_POLICY_H */
