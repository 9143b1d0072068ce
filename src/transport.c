/*-------------------------------------------------------------------------
 *
 * transport.c
 *	  The one file that talks to libcurl.
 *
 * Design:
 *	- libcurl is initialised lazily, in the backend that first makes a
 *	  request, never in the postmaster (so preloading the library is safe).
 *	- One easy handle and one multi handle live for the whole backend.  The
 *	  easy handle is reset and configured afresh for every request (so a
 *	  changed setting always takes effect), but the multi handle keeps its
 *	  connection cache and the easy handle its TLS session and DNS caches,
 *	  so consecutive calls reuse a keep-alive connection.
 *	- Even a single request runs through the multi interface: we wait on
 *	  curl's sockets for at most ZCRM_POLL_INTERVAL_MS at a time and call
 *	  CHECK_FOR_INTERRUPTS() in between, so query cancel, statement_timeout
 *	  and pg_terminate_backend() take effect within that interval and
 *	  surface as PostgreSQL's own errors (57014, 57P01).
 *	- Callbacks never call ereport or palloc.  The body is collected into
 *	  malloc'd memory by write_body(), which enforces max_response_size on
 *	  the decompressed bytes as they arrive and aborts the transfer as soon
 *	  as the limit is passed.
 *	- PG_TRY/PG_CATCH releases the header list and the body and detaches the
 *	  easy handle from the multi handle when an ERROR (an interrupt, say)
 *	  is raised mid-transfer; the handles themselves stay usable.
 *	- A failure that a retry may cure (no connection, a connection lost
 *	  mid-response, HTTP 429 or 5xx) is retried up to zcrm_bulk.retries
 *	  times after a jittered exponential backoff spent on the process latch,
 *	  so interrupts end the wait at once.  zcrm_bulk.timeout bounds the
 *	  whole call, retries and waits included.
 *	- CURLOPT_NOSIGNAL is set: libcurl must not use alarm(), which belongs
 *	  to PostgreSQL's timeouts.  Redirects are not followed, only http and
 *	  https are allowed, TLS peer and host verification stay on, and
 *	  CURLOPT_VERBOSE is never set (it would log the Authorization header).
 *
 * Copyright (c) 2026, zcrm_bulk developers
 *
 * IDENTIFICATION
 *	  src/transport.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <curl/curl.h>

#include "common/pg_prng.h"
#include "lib/stringinfo.h"
#include "miscadmin.h"
#include "storage/latch.h"
#include "utils/timestamp.h"
#include "utils/wait_event.h"

#include "errors.h"
#include "settings.h"
#include "transport.h"

#ifndef ZCRM_BULK_VERSION
#define ZCRM_BULK_VERSION "unknown"
#endif

/* Longest wait on curl's sockets before interrupts are checked again. */
#define ZCRM_POLL_INTERVAL_MS	50

/* Longest single backoff wait between retries. */
#define ZCRM_MAX_BACKOFF_MS		60000.0

/* The response body as it streams in; malloc'd, owned by one request. */
typedef struct ZcrmBody
{
	char	   *data;
	size_t		len;
	size_t		cap;
	size_t		limit;			/* zcrm_bulk.max_response_size */
	bool		too_large;		/* the limit was passed: transfer aborted */
	bool		no_memory;		/* malloc failed: transfer aborted */
} ZcrmBody;

static CURL *zcrm_easy = NULL;
static CURLM *zcrm_multi = NULL;
static char zcrm_errbuf[CURL_ERROR_SIZE];

/*
 * ensure_handles
 *		Initialise libcurl and create the backend's handles on first use.
 */
static void
ensure_handles(void)
{
	static bool global_done = false;

	if (zcrm_easy != NULL && zcrm_multi != NULL)
		return;

	if (!global_done)
	{
		CURLcode	rc = curl_global_init(CURL_GLOBAL_ALL);

		if (rc != CURLE_OK)
			zcrm_raise_transport_error(ZCRM_FAIL_INTERNAL,
									   curl_easy_strerror(rc), "(none)", 0, 1);
		global_done = true;
	}
	if (zcrm_multi == NULL)
		zcrm_multi = curl_multi_init();
	if (zcrm_easy == NULL)
		zcrm_easy = curl_easy_init();
	if (zcrm_easy == NULL || zcrm_multi == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_OUT_OF_MEMORY),
				 errmsg("out of memory"),
				 errdetail("libcurl could not create its handles.")));
}

/*
 * write_body
 *		CURLOPT_WRITEFUNCTION: append decompressed bytes to the ZcrmBody.
 *		Returns a short count (which makes libcurl abort the transfer) when
 *		the body would pass its limit or memory runs out.  Never raises.
 */
static size_t
write_body(char *ptr, size_t size, size_t nmemb, void *userdata)
{
	ZcrmBody   *body = (ZcrmBody *) userdata;
	size_t		n = size * nmemb;

	if (n > body->limit - body->len)
	{
		body->too_large = true;
		return 0;
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
			return 0;
		}
		body->data = p;
		body->cap = newcap;
	}
	memcpy(body->data + body->len, ptr, n);
	body->len += n;
	body->data[body->len] = '\0';
	return n;
}

/*
 * build_headers
 *		The request headers, or NULL when libcurl runs out of memory: the
 *		Authorization header when there is a token, the Content-Type of a
 *		form when there is a form body.  The temporary string holding the
 *		token is wiped before it is freed.
 */
static struct curl_slist *
build_headers(const char *token, bool form)
{
	struct curl_slist *list;
	struct curl_slist *next;

	list = curl_slist_append(NULL, "Accept: application/json");
	if (list == NULL)
		return NULL;
	if (form)
	{
		next = curl_slist_append(list, "Content-Type: application/x-www-form-urlencoded");
		if (next == NULL)
		{
			curl_slist_free_all(list);
			return NULL;
		}
	}
	if (token)
	{
		char	   *auth = psprintf("Authorization: Zoho-oauthtoken %s", token);

		next = curl_slist_append(list, auth);
		explicit_bzero(auth, strlen(auth));
		pfree(auth);
		if (next == NULL)
		{
			curl_slist_free_all(list);
			return NULL;
		}
	}
	return list;
}

/*
 * configure_request
 *		Set every option of the (freshly reset) easy handle for one request
 *		that may take at most timeout_ms.  Returns the first setopt failure, or
 *		CURLE_OK.
 */
static CURLcode
configure_request(CURL *easy, const ZcrmRequest *req, struct curl_slist *headers,
				  ZcrmBody *body, long timeout_ms)
{
	CURLcode	rc = CURLE_OK;

#define ZCRM_SETOPT(opt, val) \
	do { \
		if (rc == CURLE_OK) \
			rc = curl_easy_setopt(easy, opt, val); \
	} while (0)

	ZCRM_SETOPT(CURLOPT_URL, req->url);
	if (req->form)
	{
		ZCRM_SETOPT(CURLOPT_POST, 1L);
		ZCRM_SETOPT(CURLOPT_POSTFIELDSIZE, (long) strlen(req->form));
		ZCRM_SETOPT(CURLOPT_POSTFIELDS, req->form);
	}
	else
		ZCRM_SETOPT(CURLOPT_HTTPGET, 1L);
	ZCRM_SETOPT(CURLOPT_HTTPHEADER, headers);
	ZCRM_SETOPT(CURLOPT_USERAGENT, "zcrm_bulk/" ZCRM_BULK_VERSION);
	ZCRM_SETOPT(CURLOPT_ACCEPT_ENCODING, "");
	ZCRM_SETOPT(CURLOPT_NOSIGNAL, 1L);
	ZCRM_SETOPT(CURLOPT_FOLLOWLOCATION, 0L);
#if LIBCURL_VERSION_NUM >= 0x075500
	ZCRM_SETOPT(CURLOPT_PROTOCOLS_STR, "http,https");
	ZCRM_SETOPT(CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
#else
	ZCRM_SETOPT(CURLOPT_PROTOCOLS, (long) (CURLPROTO_HTTP | CURLPROTO_HTTPS));
	ZCRM_SETOPT(CURLOPT_REDIR_PROTOCOLS, (long) (CURLPROTO_HTTP | CURLPROTO_HTTPS));
#endif
	ZCRM_SETOPT(CURLOPT_TIMEOUT_MS, timeout_ms);
	ZCRM_SETOPT(CURLOPT_CONNECTTIMEOUT_MS, Min((long) zcrm_connect_timeout_ms, timeout_ms));
	ZCRM_SETOPT(CURLOPT_MAXFILESIZE_LARGE, (curl_off_t) body->limit);
	ZCRM_SETOPT(CURLOPT_TCP_KEEPALIVE, 1L);
	ZCRM_SETOPT(CURLOPT_SSL_VERIFYPEER, 1L);
	ZCRM_SETOPT(CURLOPT_SSL_VERIFYHOST, 2L);
	if (zcrm_ca_file != NULL && zcrm_ca_file[0] != '\0')
		ZCRM_SETOPT(CURLOPT_CAINFO, zcrm_ca_file);
	ZCRM_SETOPT(CURLOPT_ERRORBUFFER, zcrm_errbuf);
	ZCRM_SETOPT(CURLOPT_WRITEFUNCTION, write_body);
	ZCRM_SETOPT(CURLOPT_WRITEDATA, body);

#undef ZCRM_SETOPT
	return rc;
}

/*
 * run_transfer
 *		Drive the multi handle until the easy handle's transfer is done and
 *		return its result.  CHECK_FOR_INTERRUPTS() runs at least every
 *		ZCRM_POLL_INTERVAL_MS; if it raises, the caller's PG_CATCH cleans up.
 */
static CURLcode
run_transfer(void)
{
	CURLcode	result = CURLE_OK;
	CURLMsg    *msg;
	int			running = 1;
	int			left;

	for (;;)
	{
		CURLMcode	mc;

		CHECK_FOR_INTERRUPTS();
		mc = curl_multi_perform(zcrm_multi, &running);
		if (mc != CURLM_OK)
		{
			strlcpy(zcrm_errbuf, curl_multi_strerror(mc), sizeof(zcrm_errbuf));
			return CURLE_FAILED_INIT;
		}
		if (running == 0)
			break;
		/* A signal may cut the wait short; either way we loop back. */
		(void) curl_multi_poll(zcrm_multi, NULL, 0, ZCRM_POLL_INTERVAL_MS, NULL);
	}

	while ((msg = curl_multi_info_read(zcrm_multi, &left)) != NULL)
	{
		if (msg->msg == CURLMSG_DONE && msg->easy_handle == zcrm_easy)
			result = msg->data.result;
	}
	return result;
}

/*
 * classify_failure
 *		Sort a failed transfer into the kinds errors.c reports.
 */
static ZcrmTransportFailure
classify_failure(CURLcode rc, const ZcrmBody *body)
{
	curl_off_t	pretransfer = 0;

	switch (rc)
	{
		case CURLE_WRITE_ERROR:
			if (body->too_large)
				return ZCRM_FAIL_TOO_LARGE;
			if (body->no_memory)
				return ZCRM_FAIL_NO_MEMORY;
			return ZCRM_FAIL_LOST;
		case CURLE_FILESIZE_EXCEEDED:
			return ZCRM_FAIL_TOO_LARGE;
		case CURLE_OUT_OF_MEMORY:
			return ZCRM_FAIL_NO_MEMORY;
		case CURLE_UNSUPPORTED_PROTOCOL:
		case CURLE_URL_MALFORMAT:
		case CURLE_COULDNT_RESOLVE_PROXY:
		case CURLE_COULDNT_RESOLVE_HOST:
		case CURLE_COULDNT_CONNECT:
		case CURLE_SSL_CONNECT_ERROR:
		case CURLE_PEER_FAILED_VERIFICATION:
		case CURLE_SSL_CERTPROBLEM:
		case CURLE_SSL_CIPHER:
		case CURLE_SSL_CACERT_BADFILE:
		case CURLE_SSL_CRL_BADFILE:
		case CURLE_SSL_ISSUER_ERROR:
		case CURLE_SSL_PINNEDPUBKEYNOTMATCH:
		case CURLE_USE_SSL_FAILED:
			return ZCRM_FAIL_CONNECT;
		case CURLE_OPERATION_TIMEDOUT:
			/* No pre-transfer time means we never got past connecting. */
			if (curl_easy_getinfo(zcrm_easy, CURLINFO_PRETRANSFER_TIME_T,
								  &pretransfer) == CURLE_OK &&
				pretransfer == 0)
				return ZCRM_FAIL_CONNECT_TIMEOUT;
			return ZCRM_FAIL_TIMEOUT;
		case CURLE_WEIRD_SERVER_REPLY:
		case CURLE_HTTP_RETURNED_ERROR:
			return ZCRM_FAIL_PROTOCOL;
		case CURLE_FAILED_INIT:
		case CURLE_BAD_FUNCTION_ARGUMENT:
		case CURLE_UNKNOWN_OPTION:
		case CURLE_NOT_BUILT_IN:
			return ZCRM_FAIL_INTERNAL;
		default:
			/* recv/send errors, partial file, empty reply, bad gzip, ... */
			return ZCRM_FAIL_LOST;
	}
}

/*
 * release_request
 *		Detach the easy handle and free the header list.  Safe to call with
 *		either already released.
 */
static void
release_request(bool attached, struct curl_slist *headers)
{
	if (attached)
		curl_multi_remove_handle(zcrm_multi, zcrm_easy);
	curl_slist_free_all(headers);
	pgstat_report_wait_end();
}

/* Why one attempt got no complete response. */
typedef struct ZcrmFailure
{
	ZcrmTransportFailure kind;
	bool		retryable;		/* might a new attempt succeed? */
	char	   *reason;			/* libcurl's description, palloc'd */
	long		limit;			/* body limit, for ZCRM_FAIL_TOO_LARGE */
} ZcrmFailure;

static bool failure_is_retryable(ZcrmTransportFailure kind, CURLcode rc);

/*
 * perform_once
 *		One request with at most "timeout_ms" for the whole transfer.
 *		Returns true and fills *resp when a complete response (any status)
 *		arrived; returns false and fills *failure otherwise.  Raises only
 *		for interrupts, after releasing every curl resource of the attempt.
 */
static bool
perform_once(const ZcrmRequest *req, long timeout_ms,
			 ZcrmHttpResponse *resp, ZcrmFailure *failure)
{
	ZcrmBody   *body = palloc0(sizeof(ZcrmBody));
	struct curl_slist *volatile headers = NULL;
	volatile bool attached = false;
	volatile CURLcode setup = CURLE_OK;
	volatile CURLcode result = CURLE_OK;
	char	   *content_type = NULL;

	body->limit = (size_t) zcrm_max_response_size;
	zcrm_errbuf[0] = '\0';

	PG_TRY();
	{
		curl_easy_reset(zcrm_easy);
		headers = build_headers(req->token, req->form != NULL);
		if (headers == NULL)
			setup = CURLE_OUT_OF_MEMORY;
		else
			setup = configure_request(zcrm_easy, req, headers, body, timeout_ms);
		if (setup == CURLE_OK)
		{
			if (curl_multi_add_handle(zcrm_multi, zcrm_easy) != CURLM_OK)
				setup = CURLE_FAILED_INIT;
			else
			{
				attached = true;
				pgstat_report_wait_start(PG_WAIT_EXTENSION);
				result = run_transfer();
			}
		}
	}
	PG_CATCH();
	{
		release_request(attached, headers);
		free(body->data);
		PG_RE_THROW();
	}
	PG_END_TRY();

	release_request(attached, headers);

	if (setup != CURLE_OK || result != CURLE_OK)
	{
		CURLcode	rc = (setup != CURLE_OK) ? setup : result;

		if (setup != CURLE_OK)
			failure->kind = (setup == CURLE_OUT_OF_MEMORY) ?
				ZCRM_FAIL_NO_MEMORY : ZCRM_FAIL_INTERNAL;
		else
			failure->kind = classify_failure(result, body);
		failure->retryable = failure_is_retryable(failure->kind, rc);
		failure->reason = pstrdup(zcrm_errbuf[0] ? zcrm_errbuf : curl_easy_strerror(rc));
		failure->limit = (long) body->limit;
		free(body->data);
		pfree(body);
		return false;
	}

	resp->status = 0;
	curl_easy_getinfo(zcrm_easy, CURLINFO_RESPONSE_CODE, &resp->status);
	if (curl_easy_getinfo(zcrm_easy, CURLINFO_CONTENT_TYPE, &content_type) == CURLE_OK &&
		content_type != NULL)
		resp->content_type = pstrdup(content_type);
	else
		resp->content_type = NULL;

	resp->body_len = body->len;
	resp->body = palloc_extended(body->len + 1, MCXT_ALLOC_NO_OOM);
	if (resp->body == NULL)
	{
		free(body->data);
		pfree(body);
		failure->kind = ZCRM_FAIL_NO_MEMORY;
		failure->reason = pstrdup("out of memory");
		failure->limit = 0;
		return false;
	}
	if (body->len > 0)
		memcpy(resp->body, body->data, body->len);
	resp->body[body->len] = '\0';
	free(body->data);
	pfree(body);
	return true;
}

/*
 * failure_is_retryable / status_is_retryable
 *		What a retry may cure: failing to connect (but not a certificate
 *		that does not verify), a connection lost mid-response, 429 and 5xx.
 *		A request that used up its time, a body over the size limit, or any
 *		other status is final.
 */
static bool
failure_is_retryable(ZcrmTransportFailure kind, CURLcode rc)
{
	switch (rc)
	{
			/* a certificate or configuration problem stays what it is */
		case CURLE_PEER_FAILED_VERIFICATION:
		case CURLE_SSL_CERTPROBLEM:
		case CURLE_SSL_CACERT_BADFILE:
		case CURLE_SSL_CRL_BADFILE:
		case CURLE_SSL_ISSUER_ERROR:
		case CURLE_SSL_PINNEDPUBKEYNOTMATCH:
		case CURLE_UNSUPPORTED_PROTOCOL:
		case CURLE_URL_MALFORMAT:
			return false;
		default:
			break;
	}
	return kind == ZCRM_FAIL_CONNECT || kind == ZCRM_FAIL_CONNECT_TIMEOUT ||
		kind == ZCRM_FAIL_LOST;
}

static bool
status_is_retryable(long status)
{
	return status == 429 || (status >= 500 && status <= 599);
}

/*
 * backoff_delay_ms
 *		The wait before retry number "retry" (0 for the first): the base
 *		delay doubled per retry, capped at ZCRM_MAX_BACKOFF_MS, of which a
 *		random half is taken off ("equal jitter"), so that sessions failing
 *		together do not retry in lockstep.
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
 * zcrm_sleep
 *		See transport.h.
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
 * zcrm_http_request
 *		See transport.h.  Up to zcrm_bulk.retries retries follow a retryable
 *		failure, each after an interruptible, jittered, exponential backoff;
 *		zcrm_bulk.timeout bounds the whole call, waits included, so no retry
 *		is attempted that could not finish in time.
 */
void
zcrm_http_request(const ZcrmRequest *req, ZcrmHttpResponse *resp)
{
	TimestampTz deadline;
	ZcrmFailure failure = {0};
	bool		complete = false;
	int			attempt;

	ensure_handles();
	deadline = TimestampTzPlusMilliseconds(GetCurrentTimestamp(), zcrm_timeout_ms);

	for (attempt = 1;; attempt++)
	{
		long		remaining = TimestampDifferenceMilliseconds(GetCurrentTimestamp(), deadline);
		long		delay;

		complete = perform_once(req, Max(remaining, 1), resp, &failure);
		if (complete ? !status_is_retryable(resp->status) : !failure.retryable)
			break;
		if (attempt > zcrm_retries)
			break;

		delay = backoff_delay_ms(attempt - 1);
		remaining = TimestampDifferenceMilliseconds(GetCurrentTimestamp(), deadline);
		if (delay >= remaining)
			break;

		if (complete)
			ereport(DEBUG1,
					(errmsg_internal("zcrm_bulk: %s: HTTP status %ld, retry %d of %d in %ld ms",
									 req->what, resp->status, attempt, zcrm_retries, delay)));
		else
			ereport(DEBUG1,
					(errmsg_internal("zcrm_bulk: %s: %s, retry %d of %d in %ld ms",
									 req->what, failure.reason, attempt, zcrm_retries, delay)));
		if (complete)
			pfree(resp->body);
		zcrm_sleep(delay);
	}

	if (!complete)
		zcrm_raise_transport_error(failure.kind, failure.reason, req->what,
								   failure.limit, attempt);
}

/*
 * zcrm_form_encode
 *		See transport.h.
 */
char *
zcrm_form_encode(const char *const *pairs, int npairs)
{
	StringInfoData buf;

	ensure_handles();
	initStringInfo(&buf);
	for (int i = 0; i < npairs; i++)
	{
		const char *name = pairs[2 * i];
		const char *value = pairs[2 * i + 1];
		char	   *escaped;

		/*
		 * Make room for the worst case first, so that nothing between
		 * curl_easy_escape() and curl_free() can raise an error.
		 */
		enlargeStringInfo(&buf, strlen(name) + 2 + 3 * strlen(value));
		escaped = curl_easy_escape(zcrm_easy, value, 0);
		if (escaped == NULL)
			ereport(ERROR,
					(errcode(ERRCODE_OUT_OF_MEMORY),
					 errmsg("out of memory")));
		if (i > 0)
			appendStringInfoChar(&buf, '&');
		appendStringInfoString(&buf, name);
		appendStringInfoChar(&buf, '=');
		appendStringInfoString(&buf, escaped);
		explicit_bzero(escaped, strlen(escaped));
		curl_free(escaped);
	}
	return buf.data;
}
