/*-------------------------------------------------------------------------
 *
 * transport_policy.c
 *	  The transport's decisions that need no libcurl: retry and backoff,
 *	  the batch's request queue, latch sleeps and form encoding.
 *
 * A failure that a retry may cure (no connection, a connection lost
 * mid-response, HTTP 429 or 5xx) is retried up to zcrm_bulk.retries times
 * after a jittered exponential backoff, so that sessions failing together
 * do not retry in lockstep; zcrm_bulk.timeout bounds each request, retries
 * and waits included.  Waits are spent on the process latch, so interrupts
 * end them at once.  transport.c classifies libcurl's failures and asks
 * here what follows.
 *
 * Copyright (c) 2026, zcrm_bulk developers
 *
 * IDENTIFICATION
 *	  src/transport_policy.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "common/pg_prng.h"
#include "lib/stringinfo.h"
#include "miscadmin.h"
#include "storage/latch.h"
#include "utils/timestamp.h"
#include "utils/wait_event.h"

#include "settings.h"
#include "transport_policy.h"

/* Longest single backoff wait between retries. */
#define ZCRM_MAX_BACKOFF_MS		60000.0

/*
 * zcrm_queue_next
 *		See transport_policy.h.
 */
int
zcrm_queue_next(ZcrmQueue *q, TimestampTz now)
{
	if (q->nbackoff > 0)
	{
		for (int i = 0; i < q->next_new; i++)
		{
			if (q->track[i].state == ZCRM_REQ_BACKOFF && q->track[i].not_before <= now)
			{
				q->nbackoff--;
				return i;
			}
		}
	}
	if (q->next_new < q->nreqs)
		return q->next_new++;
	return -1;
}

/*
 * zcrm_queue_again
 *		See transport_policy.h: as a request whose backoff is over.
 */
void
zcrm_queue_again(ZcrmQueue *q, int i)
{
	Assert(q->track[i].state == ZCRM_REQ_DONE && i < q->next_new);
	q->track[i].state = ZCRM_REQ_BACKOFF;
	q->track[i].not_before = 0;
	q->nbackoff++;
	q->ndone--;
}

/*
 * zcrm_queue_wait_ms
 *		See transport_policy.h.
 */
long
zcrm_queue_wait_ms(const ZcrmQueue *q, long max_ms)
{
	long		ms = max_ms;

	if (q->nbackoff > 0)
	{
		TimestampTz now = GetCurrentTimestamp();

		for (int i = 0; i < q->next_new; i++)
		{
			if (q->track[i].state == ZCRM_REQ_BACKOFF)
				ms = Min(ms, TimestampDifferenceMilliseconds(now, q->track[i].not_before));
		}
	}
	return Max(ms, 0);
}

/*
 * zcrm_status_is_retryable
 *		See transport_policy.h.  Any other status is final.
 */
bool
zcrm_status_is_retryable(long status)
{
	return status == 429 || (status >= 500 && status <= 599);
}

/*
 * backoff_delay_ms
 *		The wait before retry number "retry" (0 for the first): the base
 *		delay doubled per retry, capped at ZCRM_MAX_BACKOFF_MS, of which a
 *		random half is taken off ("equal jitter").
 */
static long
backoff_delay_ms(int retry)
{
	double		base = (double) zcrm_retry_delay_ms;
	uint64		half;

	for (int i = 0; i < retry && base < ZCRM_MAX_BACKOFF_MS; i++)
		base *= 2;
	if (base > ZCRM_MAX_BACKOFF_MS)
		base = ZCRM_MAX_BACKOFF_MS;
	half = (uint64) (base / 2);
	return (long) (base - half + pg_prng_uint64_range(&pg_global_prng_state, 0, half));
}

/*
 * retry_after
 *		Whether a request that failed in a way a retry may cure gets another
 *		attempt: not when it is "once", not after zcrm_bulk.retries retries
 *		("attempts" were made), and not when the backoff would outlast its
 *		deadline.  When it does, *delay_ms is the jittered backoff to wait.
 */
static bool
retry_after(bool once, int attempts, TimestampTz deadline, long *delay_ms)
{
	if (once || attempts > zcrm_retries)
		return false;
	*delay_ms = backoff_delay_ms(attempts - 1);
	return *delay_ms < TimestampDifferenceMilliseconds(GetCurrentTimestamp(), deadline);
}

/*
 * zcrm_queue_backoff
 *		See transport_policy.h.
 */
bool
zcrm_queue_backoff(ZcrmQueue *q, int i, const ZcrmRequest *req, int attempts,
				   const char *reason, long status)
{
	ZcrmTrack  *t = &q->track[i];
	long		delay;

	if (!retry_after(req->once, attempts, t->deadline, &delay))
		return false;
	if (reason == NULL)
		ereport(DEBUG1,
				(errmsg_internal("zcrm_bulk: %s: HTTP status %ld, retry %d of %d in %ld ms",
								 req->what, status, attempts, zcrm_retries, delay)));
	else
		ereport(DEBUG1,
				(errmsg_internal("zcrm_bulk: %s: %s, retry %d of %d in %ld ms",
								 req->what, reason, attempts, zcrm_retries, delay)));
	t->state = ZCRM_REQ_BACKOFF;
	t->not_before = TimestampTzPlusMilliseconds(GetCurrentTimestamp(), delay);
	q->nbackoff++;
	return true;
}

/*
 * zcrm_body_append
 *		See transport_policy.h.  The buffer grows by doubling, never past
 *		limit + 1 bytes.
 */
bool
zcrm_body_append(ZcrmBody *body, const char *ptr, size_t n)
{
	if (n > body->limit - body->len)
	{
		body->too_large = true;
		return false;
	}
	if (body->len + n + 1 > body->cap)
	{
		size_t		newcap = Max(body->cap * 2, 16384);
		char	   *p;

		if (newcap < body->len + n + 1)
			newcap = body->len + n + 1;
		if (newcap > body->limit + 1)
			newcap = body->limit + 1;
		p = realloc(body->data, newcap);
		if (p == NULL)
		{
			body->no_memory = true;
			return false;
		}
		body->data = p;
		body->cap = newcap;
	}
	memcpy(body->data + body->len, ptr, n);
	body->len += n;
	body->data[body->len] = '\0';
	return true;
}

/*
 * zcrm_outcome_set_response
 *		See transport_policy.h.
 */
void
zcrm_outcome_set_response(ZcrmOutcome *o, const ZcrmBody *body, long status,
						  const char *content_type)
{
	ZcrmHttpResponse *resp = &o->resp;

	resp->status = status;
	resp->content_type = content_type ? pstrdup(content_type) : NULL;
	resp->body_len = body->len;
	resp->body = palloc_extended(body->len + 1, MCXT_ALLOC_NO_OOM);
	if (resp->body != NULL)
	{
		if (body->len > 0)
			memcpy(resp->body, body->data, body->len);
		resp->body[body->len] = '\0';
		o->complete = true;
	}
	else
	{
		o->kind = ZCRM_FAIL_NO_MEMORY;
		o->reason = pstrdup("out of memory");
		o->limit = 0;
	}
}

/*
 * zcrm_sleep
 *		See transport_policy.h.
 */
void
zcrm_sleep(long ms)
{
	TimestampTz end = TimestampTzPlusMilliseconds(GetCurrentTimestamp(), ms);

	for (;;)
	{
		long		remaining;

		CHECK_FOR_INTERRUPTS();
		remaining = TimestampDifferenceMilliseconds(GetCurrentTimestamp(), end);
		if (remaining <= 0)
			break;
		(void) WaitLatch(MyLatch, WL_LATCH_SET | WL_TIMEOUT | WL_EXIT_ON_PM_DEATH,
						 remaining, PG_WAIT_EXTENSION);
		ResetLatch(MyLatch);
	}
}

/*
 * zcrm_form_encode
 *		See transport_policy.h: the encoding curl_easy_escape() makes, done
 *		in place so that no temporary copy of a secret value is left.
 */
char *
zcrm_form_encode(const char *const *pairs, int npairs)
{
	static const char hex[] = "0123456789ABCDEF";
	StringInfoData buf;

	initStringInfo(&buf);
	for (int i = 0; i < npairs; i++)
	{
		const char *name = pairs[2 * i];
		const unsigned char *v = (const unsigned char *) pairs[2 * i + 1];

		/* room for the worst case first: no partial copy is left behind */
		enlargeStringInfo(&buf, strlen(name) + 2 + 3 * strlen((const char *) v));
		if (i > 0)
			appendStringInfoChar(&buf, '&');
		appendStringInfoString(&buf, name);
		appendStringInfoChar(&buf, '=');
		for (; *v; v++)
		{
			if ((*v >= 'A' && *v <= 'Z') || (*v >= 'a' && *v <= 'z') ||
				(*v >= '0' && *v <= '9') ||
				*v == '-' || *v == '.' || *v == '_' || *v == '~')
				appendStringInfoChar(&buf, (char) *v);
			else
			{
				appendStringInfoChar(&buf, '%');
				appendStringInfoChar(&buf, hex[*v >> 4]);
				appendStringInfoChar(&buf, hex[*v & 0x0f]);
			}
		}
	}
	return buf.data;
}
