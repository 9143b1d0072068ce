/*-------------------------------------------------------------------------
 *
 * transport.c
 *	  The one file that talks to libcurl.
 *
 * Design:
 *	- libcurl is initialised lazily, in the backend that first makes a
 *	  request, never in the postmaster (so preloading the library is safe).
 *	- One easy handle, one multi handle and one share handle live for the
 *	  whole backend.  The easy handle keeps its fixed options
 *	  (configure_handle) between calls and is reset only when
 *	  zcrm_bulk.ca_file changes; every option that depends on the request
 *	  or on another setting is set for every request (configure_request).
 *	  The multi handle keeps its connection cache and the share handle the
 *	  TLS sessions and DNS cache, so consecutive calls reuse a keep-alive
 *	  connection.
 *	- Every request runs through one engine, zcrm_http_request_many(): a
 *	  batch of requests spread over up to zcrm_bulk.max_concurrency "slots"
 *	  (slot 0 uses the backend's easy handle, the others get easy handles
 *	  made for that call).  A single request is a batch of one.  Over
 *	  HTTPS, libcurl negotiates HTTP/2 and CURLOPT_PIPEWAIT makes
 *	  concurrent requests share one multiplexed connection.
 *	- A batch may carry chains (zcrm_http_request_chain()): when a
 *	  request's outcome is final, the caller's "done" is shown it from the
 *	  engine's loop, outside libcurl's callbacks, and may put the next
 *	  request of its chain in its place, which is queued ahead of the
 *	  requests not started yet (write_chain.c sends each part's upload,
 *	  create, poll and download this way).
 *	- The engine waits on curl's sockets (or, when only backoff waits are
 *	  left, on the latch) for at most ZCRM_POLL_INTERVAL_MS at a time and
 *	  calls CHECK_FOR_INTERRUPTS() in between, so query cancel,
 *	  statement_timeout and pg_terminate_backend() take effect within that
 *	  interval and surface as PostgreSQL's own errors (57014, 57P01).
 *	- Callbacks never call ereport or palloc.  The body is collected into
 *	  malloc'd memory by write_body(), which enforces max_response_size on
 *	  the decompressed bytes as they arrive and aborts the transfer as soon
 *	  as the limit is passed.
 *	- PG_TRY/PG_CATCH releases the header lists and bodies, detaches every
 *	  easy handle from the multi handle and frees the batch's own easy
 *	  handles when an ERROR (an interrupt, say) is raised mid-transfer; the
 *	  backend's handles stay usable.
 *	- What a retry may cure, the backoff, the order of a batch's requests
 *	  (ZcrmQueue), latch sleeps and form encoding are transport_policy.c's;
 *	  a request waiting for its retry frees its slot for others.
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

#include "lib/stringinfo.h"
#include "miscadmin.h"
#include "storage/latch.h"
#include "utils/memutils.h"
#include "utils/timestamp.h"
#include "utils/wait_event.h"

#include "errors.h"
#include "settings.h"
#include "transport.h"
#include "transport_policy.h"

#ifndef ZCRM_BULK_VERSION
#define ZCRM_BULK_VERSION "unknown"
#endif

/* Longest wait on curl's sockets before interrupts are checked again. */
#define ZCRM_POLL_INTERVAL_MS	50

static CURL *zcrm_easy = NULL;
static CURLM *zcrm_multi = NULL;
static CURLSH *zcrm_share = NULL;

/*
 * Whether the backend's easy handle has its fixed options, and the
 * zcrm_bulk.ca_file it got them for.
 */
static bool zcrm_easy_ready = false;
static char zcrm_easy_ca[MAXPGPATH] = "";

/* Whether a zcrm_http_request_chain() is running (they do not nest). */
static bool zcrm_batch_running = false;

/* One error buffer per slot of a batch; libcurl writes into it. */
static char zcrm_errbufs[ZCRM_MAX_CONCURRENCY][CURL_ERROR_SIZE];

/* An upload being sent from the request's buffer. */
typedef struct ZcrmUploadCursor
{
	const char *data;
	size_t		len;
	size_t		pos;
} ZcrmUploadCursor;

/* An easy handle and what one attempt on it owns. */
typedef struct ZcrmSlot
{
	CURL	   *easy;			/* zcrm_easy for slot 0, else made per batch */
	CURLM	   *attached;		/* the multi handle it is added to, or NULL */
	int			req;			/* the request it carries, or -1 */
	struct curl_slist *headers;
	curl_mime  *mime;			/* an upload's form, or NULL */
	ZcrmUploadCursor upload;	/* how far the upload has been read */
	ZcrmBody	body;
	char	   *errbuf;
} ZcrmSlot;

/* One call of zcrm_http_request_many(), or a background request. */
typedef struct ZcrmBatch
{
	CURLM	   *multi;			/* zcrm_multi, or a background request's own */
	ZcrmRequest *reqs;			/* written only by "done" */
	ZcrmOutcome *out;
	ZcrmQueue	q;				/* which request stands where */
	ZcrmSlot   *slots;
	int			nslots;
	int			running;		/* slots carrying a request */
	ZcrmRequestDone done;		/* a chain's next request, or NULL */
	void	   *done_arg;
	int		   *ended;			/* with done: requests whose outcome is final */
	int			nended;			/* and done has not seen yet */
} ZcrmBatch;

/*
 * ensure_handles
 *		Initialise libcurl and create the backend's handles on first use: the
 *		easy handle single requests use, the multi handle that owns the
 *		connection cache, and the share handle through which every easy
 *		handle shares TLS sessions and the DNS cache.
 */
static void
ensure_handles(void)
{
	static bool global_done = false;

	if (zcrm_easy != NULL && zcrm_multi != NULL && zcrm_share != NULL)
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
	if (zcrm_share == NULL)
	{
		zcrm_share = curl_share_init();
		if (zcrm_share != NULL &&
			(curl_share_setopt(zcrm_share, CURLSHOPT_SHARE, CURL_LOCK_DATA_SSL_SESSION) != CURLSHE_OK ||
			 curl_share_setopt(zcrm_share, CURLSHOPT_SHARE, CURL_LOCK_DATA_DNS) != CURLSHE_OK))
		{
			curl_share_cleanup(zcrm_share);
			zcrm_share = NULL;
		}
	}
	if (zcrm_easy == NULL || zcrm_multi == NULL || zcrm_share == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_OUT_OF_MEMORY),
				 errmsg("out of memory"),
				 errdetail("libcurl could not create its handles.")));
}

/*
 * write_body
 *		CURLOPT_WRITEFUNCTION: zcrm_body_append(); a short count makes
 *		libcurl abort the transfer.  Never raises.
 */
static size_t
write_body(char *ptr, size_t size, size_t nmemb, void *userdata)
{
	return zcrm_body_append((ZcrmBody *) userdata, ptr, size * nmemb) ?
		size * nmemb : 0;
}

/*
 * append_header
 *		curl_slist_append() that frees the whole list when it fails.
 */
static struct curl_slist *
append_header(struct curl_slist *list, const char *line)
{
	struct curl_slist *next;

	if (list == NULL)
		return NULL;
	next = curl_slist_append(list, line);
	if (next == NULL)
		curl_slist_free_all(list);
	return next;
}

/*
 * build_headers
 *		The request's headers, or NULL when libcurl runs out of memory: the
 *		Authorization header when there is a token, the Content-Type of a
 *		form or JSON body, an empty Expect for every POST, and the
 *		request's own lines.  The temporary string holding the token is
 *		made before the list (so a palloc failure leaks nothing) and wiped
 *		before it is freed.
 */
static struct curl_slist *
build_headers(const ZcrmRequest *req)
{
	struct curl_slist *list;
	char	   *auth = (req->token ?
						psprintf("Authorization: Zoho-oauthtoken %s", req->token) : NULL);

	list = curl_slist_append(NULL, "Accept: application/json");
	if (req->form)
		list = append_header(list, "Content-Type: application/x-www-form-urlencoded");
	else if (req->json)
		list = append_header(list, "Content-Type: application/json");
	if (req->form || req->json || req->upload)
		list = append_header(list, "Expect:");
	for (int i = 0; req->headers && req->headers[i]; i++)
		list = append_header(list, req->headers[i]);
	if (auth)
	{
		list = append_header(list, auth);
		explicit_bzero(auth, strlen(auth));
		pfree(auth);
	}
	return list;
}

/*
 * read_upload / seek_upload
 *		The mime part's data callbacks: copy the next bytes of the upload
 *		out of the request's buffer, and rewind it when libcurl sends the
 *		body again.  Never raise.
 */
static size_t
read_upload(char *buf, size_t size, size_t nitems, void *arg)
{
	ZcrmUploadCursor *u = (ZcrmUploadCursor *) arg;
	size_t		n = Min(size * nitems, u->len - u->pos);

	memcpy(buf, u->data + u->pos, n);
	u->pos += n;
	return n;
}

static int
seek_upload(void *arg, curl_off_t offset, int origin)
{
	ZcrmUploadCursor *u = (ZcrmUploadCursor *) arg;

	if (origin != SEEK_SET || offset < 0 || (size_t) offset > u->len)
		return CURL_SEEKFUNC_CANTSEEK;
	u->pos = (size_t) offset;
	return CURL_SEEKFUNC_OK;
}

/*
 * attach_upload
 *		Give the slot's request its multipart/form-data body: one part
 *		named "file" with the upload's file name, read by read_upload().
 */
static CURLcode
attach_upload(ZcrmSlot *slot, const ZcrmRequest *req)
{
	curl_mimepart *part;

	slot->upload.data = req->upload;
	slot->upload.len = req->upload_len;
	slot->upload.pos = 0;
	slot->mime = curl_mime_init(slot->easy);
	if (slot->mime == NULL || (part = curl_mime_addpart(slot->mime)) == NULL)
		return CURLE_OUT_OF_MEMORY;
	if (curl_mime_name(part, "file") != CURLE_OK ||
		curl_mime_filename(part, req->upload_name ? req->upload_name : "upload.zip") != CURLE_OK ||
		curl_mime_data_cb(part, (curl_off_t) req->upload_len, read_upload,
						  seek_upload, NULL, &slot->upload) != CURLE_OK)
		return CURLE_OUT_OF_MEMORY;
	return curl_easy_setopt(slot->easy, CURLOPT_MIMEPOST, slot->mime);
}

/*
 * configure_handle
 *		Set the options of a freshly reset easy handle that are the same for
 *		every request: identity, protocol and TLS policy, the share handle,
 *		the error buffer and the body callback.  Returns the first setopt
 *		failure, or CURLE_OK.
 */
static CURLcode
configure_handle(CURL *easy, char *errbuf)
{
	CURLcode	rc = CURLE_OK;

#define ZCRM_SETOPT(opt, val) \
	do { \
		if (rc == CURLE_OK) \
			rc = curl_easy_setopt(easy, opt, val); \
	} while (0)

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
	ZCRM_SETOPT(CURLOPT_TCP_KEEPALIVE, 1L);
	ZCRM_SETOPT(CURLOPT_SSL_VERIFYPEER, 1L);
	ZCRM_SETOPT(CURLOPT_SSL_VERIFYHOST, 2L);
	if (zcrm_ca_file != NULL && zcrm_ca_file[0] != '\0')
		ZCRM_SETOPT(CURLOPT_CAINFO, zcrm_ca_file);
	ZCRM_SETOPT(CURLOPT_SHARE, zcrm_share);
	ZCRM_SETOPT(CURLOPT_ERRORBUFFER, errbuf);
	ZCRM_SETOPT(CURLOPT_WRITEFUNCTION, write_body);

	return rc;
}

/*
 * configure_request
 *		Set the options of one request, which may take at most timeout_ms,
 *		on the easy handle of "slot" (configured by configure_handle()).
 *		Every option set here is set for every request, so nothing of the
 *		previous request on the handle carries over.  Returns the first
 *		setopt failure, or CURLE_OK.
 */
static CURLcode
configure_request(ZcrmSlot *slot, const ZcrmRequest *req, long timeout_ms)
{
	CURL	   *easy = slot->easy;
	CURLcode	rc = CURLE_OK;

	ZCRM_SETOPT(CURLOPT_URL, req->url);
	if (req->form)
	{
		ZCRM_SETOPT(CURLOPT_POST, 1L);
		ZCRM_SETOPT(CURLOPT_POSTFIELDSIZE, (long) strlen(req->form));
		ZCRM_SETOPT(CURLOPT_POSTFIELDS, req->form);
	}
	else if (req->json)
	{
		ZCRM_SETOPT(CURLOPT_POST, 1L);
		ZCRM_SETOPT(CURLOPT_POSTFIELDSIZE, (long) strlen(req->json));
		ZCRM_SETOPT(CURLOPT_POSTFIELDS, req->json);
	}
	else if (req->upload)
	{
		if (rc == CURLE_OK)
			rc = attach_upload(slot, req);
	}
	else
		ZCRM_SETOPT(CURLOPT_HTTPGET, 1L);
	ZCRM_SETOPT(CURLOPT_HTTPHEADER, slot->headers);

	/*
	 * libcurl itself sends a request again, on a new connection, when a
	 * reused keep-alive connection dies before any answer arrives; a request
	 * that must never be sent twice gets a connection of its own.
	 */
	ZCRM_SETOPT(CURLOPT_FRESH_CONNECT, (long) req->once);
	ZCRM_SETOPT(CURLOPT_TIMEOUT_MS, timeout_ms);
	ZCRM_SETOPT(CURLOPT_CONNECTTIMEOUT_MS, Min((long) zcrm_connect_timeout_ms, timeout_ms));
	ZCRM_SETOPT(CURLOPT_MAXFILESIZE_LARGE, (curl_off_t) slot->body.limit);

	/*
	 * Over HTTPS, concurrent requests wait for the first connection's ALPN to
	 * learn whether they can share it over HTTP/2.  Plain http:// is always
	 * HTTP/1.1 here, and waiting would cost a whole response time.
	 */
	ZCRM_SETOPT(CURLOPT_PIPEWAIT, (long) (pg_strncasecmp(req->url, "https://", 8) == 0));
	ZCRM_SETOPT(CURLOPT_WRITEDATA, &slot->body);

#undef ZCRM_SETOPT
	return rc;
}

/*
 * classify_failure
 *		Sort a failed transfer on "easy" into the kinds errors.c reports.
 */
static ZcrmTransportFailure
classify_failure(CURLcode rc, const ZcrmBody *body, CURL *easy)
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
			if (curl_easy_getinfo(easy, CURLINFO_PRETRANSFER_TIME_T,
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
 * failure_is_retryable
 *		What a retry may cure: failing to connect (but not a certificate
 *		that does not verify) or a connection lost mid-response.  A request
 *		that used up its time or a body over the size limit is final.
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

/*
 * release_slot
 *		Detach the slot's easy handle, free its header list and body, and
 *		mark it free.  Safe on a slot that carries nothing.
 */
static void
release_slot(ZcrmSlot *slot)
{
	if (slot->attached)
		curl_multi_remove_handle(slot->attached, slot->easy);
	slot->attached = NULL;
	curl_slist_free_all(slot->headers);
	slot->headers = NULL;
	if (slot->mime)
	{
		/* the handle keeps a copy of the form until told otherwise */
		(void) curl_easy_setopt(slot->easy, CURLOPT_MIMEPOST, NULL);
		curl_mime_free(slot->mime);
		slot->mime = NULL;
	}
	free(slot->body.data);
	memset(&slot->body, 0, sizeof(slot->body));
	slot->req = -1;
}

/*
 * release_batch
 *		Release every slot and free the easy handles made for this batch;
 *		zcrm_easy, zcrm_multi and zcrm_share stay for the next call.  Runs on
 *		success and, from PG_CATCH, when an ERROR (an interrupt, say) ends
 *		the batch midway.
 */
static void
release_batch(ZcrmBatch *b)
{
	for (int s = 0; s < b->nslots; s++)
	{
		ZcrmSlot   *slot = &b->slots[s];

		release_slot(slot);
		if (slot->easy != NULL && slot->easy != zcrm_easy)
			curl_easy_cleanup(slot->easy);
		slot->easy = NULL;
	}
	pgstat_report_wait_end();
}

/*
 * finish_attempt
 *		The attempt in "slot" ended with "rc" (setup_failed: it never got to
 *		run).  Either schedule another attempt, when the failure or status is
 *		one a retry may cure, retries are left and the backoff fits in the
 *		request's time, or make the outcome final.  Frees the slot.
 */
static void
finish_attempt(ZcrmBatch *b, ZcrmSlot *slot, CURLcode rc, bool setup_failed)
{
	int			i = slot->req;
	const ZcrmRequest *req = &b->reqs[i];
	ZcrmOutcome *o = &b->out[i];
	ZcrmTrack  *t = &b->q.track[i];
	bool		retry;
	long		status = 0;

	if (rc == CURLE_OK)
	{
		curl_easy_getinfo(slot->easy, CURLINFO_RESPONSE_CODE, &status);
		retry = zcrm_status_is_retryable(status);
	}
	else
	{
		if (setup_failed)
			o->kind = (rc == CURLE_OUT_OF_MEMORY) ?
				ZCRM_FAIL_NO_MEMORY : ZCRM_FAIL_INTERNAL;
		else
			o->kind = classify_failure(rc, &slot->body, slot->easy);
		retry = !setup_failed && failure_is_retryable(o->kind, rc);
		if (o->reason)
			pfree(o->reason);
		o->reason = pstrdup(slot->errbuf[0] ? slot->errbuf : curl_easy_strerror(rc));
		o->limit = (long) slot->body.limit;
	}

	if (retry && zcrm_queue_backoff(&b->q, i, req, o->attempts,
									rc == CURLE_OK ? NULL : o->reason, status))
	{
		release_slot(slot);
		b->running--;
		return;
	}

	if (rc == CURLE_OK)
	{
		char	   *content_type = NULL;

		if (curl_easy_getinfo(slot->easy, CURLINFO_CONTENT_TYPE, &content_type) != CURLE_OK)
			content_type = NULL;
		zcrm_outcome_set_response(o, &slot->body, status, content_type);
	}

	release_slot(slot);
	b->running--;
	t->state = ZCRM_REQ_DONE;
	b->q.ndone++;
	if (b->done)
		b->ended[b->nended++] = i;
}

/*
 * chain_next
 *		Show each request whose outcome became final to the batch's "done"
 *		(outside libcurl's callbacks: it may raise), and queue again each
 *		one it replaced with the next request of its chain.
 */
static void
chain_next(ZcrmBatch *b)
{
	while (b->nended > 0)
	{
		int			i = b->ended[--b->nended];
		bool		again;

		/* (its SQL may report wait events of its own) */
		pgstat_report_wait_end();
		again = b->done(b->done_arg, i, &b->out[i], &b->reqs[i]);
		pgstat_report_wait_start(PG_WAIT_EXTENSION);
		if (again)
		{
			memset(&b->out[i], 0, sizeof(ZcrmOutcome));
			zcrm_queue_again(&b->q, i);
		}
	}
}

/*
 * easy_configured
 *		Whether the backend's easy handle still has the options
 *		configure_handle() gave it for the current zcrm_bulk.ca_file (the
 *		only setting among them; CURLOPT_CAINFO cannot be put back to
 *		libcurl's default except by a reset).  Only a configured handle is
 *		ever recorded, so a failed configuration is redone next time.
 */
static bool
easy_configured(void)
{
	return zcrm_easy_ready &&
		strcmp(zcrm_easy_ca, zcrm_ca_file ? zcrm_ca_file : "") == 0;
}

/*
 * start_attempt
 *		Start the next attempt of request i in the free "slot".  The first
 *		attempt starts the request's zcrm_bulk.timeout clock.
 */
static void
start_attempt(ZcrmBatch *b, ZcrmSlot *slot, int i)
{
	const ZcrmRequest *req = &b->reqs[i];
	ZcrmTrack  *t = &b->q.track[i];
	TimestampTz now = GetCurrentTimestamp();
	CURLcode	setup = CURLE_OK;
	long		remaining;

	if (b->out[i].attempts == 0)
		t->deadline = TimestampTzPlusMilliseconds(now, req->timeout_ms > 0 ?
												  Min(req->timeout_ms, (long) zcrm_timeout_ms) :
												  zcrm_timeout_ms);
	b->out[i].attempts++;
	remaining = TimestampDifferenceMilliseconds(now, t->deadline);

	t->state = ZCRM_REQ_RUNNING;
	slot->req = i;
	b->running++;
	memset(&slot->body, 0, sizeof(slot->body));
	slot->body.limit = req->max_body > 0 ? req->max_body :
		(size_t) zcrm_max_response_size;
	slot->errbuf[0] = '\0';

	if (slot->easy == NULL)
	{
		slot->easy = curl_easy_init();
		if (slot->easy == NULL)
			setup = CURLE_OUT_OF_MEMORY;
		else
			setup = configure_handle(slot->easy, slot->errbuf);
	}
	else if (slot->easy == zcrm_easy && !easy_configured())
	{
		zcrm_easy_ready = false;
		curl_easy_reset(zcrm_easy);
		setup = configure_handle(zcrm_easy, slot->errbuf);
		if (setup == CURLE_OK)
		{
			strlcpy(zcrm_easy_ca, zcrm_ca_file ? zcrm_ca_file : "", MAXPGPATH);
			zcrm_easy_ready = true;
		}
	}
	if (setup == CURLE_OK)
	{
		slot->headers = build_headers(req);
		if (slot->headers == NULL)
			setup = CURLE_OUT_OF_MEMORY;
	}
	if (setup == CURLE_OK)
		setup = configure_request(slot, req, Max(remaining, 1));
	if (setup == CURLE_OK)
	{
		if (curl_multi_add_handle(b->multi, slot->easy) == CURLM_OK)
			slot->attached = b->multi;
		else
			setup = CURLE_FAILED_INIT;
	}
	if (setup != CURLE_OK)
		finish_attempt(b, slot, setup, true);
}

/*
 * fill_slots
 *		Start attempts in free slots while there is something to start.
 */
static void
fill_slots(ZcrmBatch *b)
{
	TimestampTz now = GetCurrentTimestamp();

	for (int s = 0; s < b->nslots; s++)
	{
		int			i;

		if (b->slots[s].req >= 0)
			continue;
		i = zcrm_queue_next(&b->q, now);
		if (i < 0)
			break;
		start_attempt(b, &b->slots[s], i);
	}
}

/*
 * run_batch
 *		Drive the multi handle until every request of the batch has its
 *		final outcome.  CHECK_FOR_INTERRUPTS() runs at least every
 *		ZCRM_POLL_INTERVAL_MS; if it raises, the caller's PG_CATCH releases
 *		everything.
 */
static void
run_batch(ZcrmBatch *b)
{
	for (;;)
	{
		CHECK_FOR_INTERRUPTS();
		if (b->done)
			chain_next(b);
		fill_slots(b);
		if (b->q.ndone == b->q.nreqs && b->nended == 0)
			break;

		if (b->running > 0)
		{
			CURLMcode	mc;
			CURLMsg    *msg;
			int			still;
			int			left;
			bool		finished;

			mc = curl_multi_perform(b->multi, &still);
			if (mc != CURLM_OK)
			{
				/* the multi handle is unusable: every transfer fails */
				for (int s = 0; s < b->nslots; s++)
				{
					if (b->slots[s].req >= 0)
					{
						strlcpy(b->slots[s].errbuf, curl_multi_strerror(mc), CURL_ERROR_SIZE);
						finish_attempt(b, &b->slots[s], CURLE_FAILED_INIT, true);
					}
				}
				continue;
			}
			finished = false;
			while ((msg = curl_multi_info_read(b->multi, &left)) != NULL)
			{
				if (msg->msg != CURLMSG_DONE)
					continue;
				for (int s = 0; s < b->nslots; s++)
				{
					if (b->slots[s].req >= 0 && b->slots[s].easy == msg->easy_handle)
					{
						finish_attempt(b, &b->slots[s], msg->data.result, false);
						finished = true;
						break;
					}
				}
			}

			/*
			 * Give the freed slots their next requests before waiting: the
			 * wait could otherwise last until one of the transfers still
			 * running ends, leaving the slots idle meanwhile.
			 */
			if (finished)
				continue;
			if (b->running > 0)
			{
				/* A signal may cut the wait short; either way we loop back. */
				(void) curl_multi_poll(b->multi, NULL, 0, (int) zcrm_queue_wait_ms(&b->q, ZCRM_POLL_INTERVAL_MS), NULL);
			}
		}
		else
		{
			/* nothing in flight: only backoff waits are left */
			(void) WaitLatch(MyLatch, WL_LATCH_SET | WL_TIMEOUT | WL_EXIT_ON_PM_DEATH,
							 zcrm_queue_wait_ms(&b->q, ZCRM_POLL_INTERVAL_MS), PG_WAIT_EXTENSION);
			ResetLatch(MyLatch);
		}
	}
}

/*
 * zcrm_http_request_many
 *		See transport.h: a batch without chains.
 */
void
zcrm_http_request_many(const ZcrmRequest *reqs, int nreqs, int concurrency,
					   ZcrmOutcome *outcomes)
{
	zcrm_http_request_chain((ZcrmRequest *) reqs, nreqs, concurrency, outcomes,
							NULL, NULL);
}

/*
 * zcrm_http_request_chain
 *		See transport.h.
 */
void
zcrm_http_request_chain(ZcrmRequest *reqs, int nreqs, int concurrency,
						ZcrmOutcome *outcomes, ZcrmRequestDone done, void *arg)
{
	ZcrmBatch	b;

	/*
	 * A chain's "done" runs SQL, and so perhaps a trigger that calls a
	 * zcrm_bulk function: its requests would take the backend's handles from
	 * under the transfers in flight.
	 */
	if (zcrm_batch_running)
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("zcrm_bulk cannot make a request while its own requests are in flight"),
				 errdetail("A zcrm_bulk function that makes requests was called by SQL that zcrm_bulk ran between its requests, such as a trigger on zcrm_write_result."),
				 errhint("Do not call zcrm_bulk's request functions from triggers on its tables.")));
	ensure_handles();
	memset(outcomes, 0, sizeof(ZcrmOutcome) * nreqs);
	if (nreqs <= 0)
		return;

	memset(&b, 0, sizeof(b));
	b.multi = zcrm_multi;
	b.reqs = reqs;
	b.out = outcomes;
	b.done = done;
	b.done_arg = arg;
	if (done)
		b.ended = palloc(sizeof(int) * nreqs);
	b.q.nreqs = nreqs;
	b.q.track = palloc0(sizeof(ZcrmTrack) * nreqs);
	b.nslots = Max(1, Min(Min(concurrency, nreqs), ZCRM_MAX_CONCURRENCY));
	b.slots = palloc0(sizeof(ZcrmSlot) * b.nslots);
	for (int s = 0; s < b.nslots; s++)
	{
		b.slots[s].req = -1;
		b.slots[s].errbuf = zcrm_errbufs[s];
	}
	b.slots[0].easy = zcrm_easy;

	/*
	 * Keep as many idle connections as there may be requests in flight;
	 * libcurl's default (four per attached handle) would close one as the
	 * last transfers of a batch finish.
	 */
	(void) curl_multi_setopt(zcrm_multi, CURLMOPT_MAXCONNECTS,
							 (long) Max(b.nslots, zcrm_max_concurrency));

	pgstat_report_wait_start(PG_WAIT_EXTENSION);
	zcrm_batch_running = true;
	PG_TRY();
	{
		run_batch(&b);
	}
	PG_CATCH();
	{
		zcrm_batch_running = false;
		release_batch(&b);
		PG_RE_THROW();
	}
	PG_END_TRY();
	zcrm_batch_running = false;
	release_batch(&b);

	pfree(b.slots);
	pfree(b.q.track);
	if (b.ended)
		pfree(b.ended);
}

/*
 * zcrm_http_request
 *		See transport.h: a batch of one, whose failure is raised.
 */
void
zcrm_http_request(const ZcrmRequest *req, ZcrmHttpResponse *resp)
{
	ZcrmOutcome out;

	zcrm_http_request_many(req, 1, 1, &out);
	if (!out.complete)
		zcrm_raise_transport_error(out.kind, out.reason, req->what,
								   out.limit, out.attempts);
	*resp = out.resp;
}

/*
 * The background request (zcrm_http_begin): a batch of one on a multi handle
 * of its own, so that the batches run meanwhile never see its transfer, kept
 * in TopMemoryContext since it outlives the call that starts it.  At most
 * one at a time.
 */
struct ZcrmBackground
{
	ZcrmBatch	b;
	ZcrmRequest req;
	ZcrmOutcome out;
	ZcrmTrack	track;
	ZcrmSlot	slot;
	char		errbuf[CURL_ERROR_SIZE];
};

static ZcrmBackground *zcrm_background = NULL;

/*
 * background_step
 *		Let libcurl do what it can for the background request without
 *		waiting, and take its result when it is done (or start its retry).
 */
static void
background_step(ZcrmBackground *bg)
{
	MemoryContext old = MemoryContextSwitchTo(TopMemoryContext);
	CURLMsg    *msg;
	int			still;
	int			left;

	fill_slots(&bg->b);
	if (bg->b.running > 0)
	{
		if (curl_multi_perform(bg->b.multi, &still) != CURLM_OK)
			finish_attempt(&bg->b, &bg->slot, CURLE_FAILED_INIT, true);
		else
			while ((msg = curl_multi_info_read(bg->b.multi, &left)) != NULL)
				if (msg->msg == CURLMSG_DONE && bg->slot.req >= 0)
					finish_attempt(&bg->b, &bg->slot, msg->data.result, false);
	}
	MemoryContextSwitchTo(old);
}

/*
 * zcrm_http_abandon
 *		See transport.h.
 */
void
zcrm_http_abandon(ZcrmBackground *bg)
{
	if (bg == NULL)
		return;
	release_batch(&bg->b);
	curl_multi_cleanup(bg->b.multi);
	if (bg->out.complete)
	{
		pfree(bg->out.resp.body);
		if (bg->out.resp.content_type)
			pfree(bg->out.resp.content_type);
	}
	if (bg->out.reason)
		pfree(bg->out.reason);
	pfree((char *) bg->req.url);
	if (bg->req.token)
		pfree((char *) bg->req.token);
	pfree((char *) bg->req.what);
	if (zcrm_background == bg)
		zcrm_background = NULL;
	pfree(bg);
}

/*
 * zcrm_http_begin
 *		See transport.h.
 */
ZcrmBackground *
zcrm_http_begin(const ZcrmRequest *req)
{
	MemoryContext old;
	ZcrmBackground *bg;

	Assert(req->form == NULL && req->json == NULL && req->upload == NULL &&
		   req->headers == NULL);
	ensure_handles();
	zcrm_http_abandon(zcrm_background);
	old = MemoryContextSwitchTo(TopMemoryContext);
	bg = palloc0(sizeof(ZcrmBackground));
	bg->req = *req;
	bg->req.url = pstrdup(req->url);
	bg->req.token = req->token ? pstrdup(req->token) : NULL;
	bg->req.what = pstrdup(req->what);
	bg->b.multi = curl_multi_init();
	bg->b.reqs = &bg->req;
	bg->b.out = &bg->out;
	bg->b.q.nreqs = 1;
	bg->b.q.track = &bg->track;
	bg->b.nslots = 1;
	bg->b.slots = &bg->slot;
	bg->slot.req = -1;
	bg->slot.errbuf = bg->errbuf;
	MemoryContextSwitchTo(old);
	if (bg->b.multi == NULL)
	{
		pfree(bg);
		return NULL;
	}
	zcrm_background = bg;
	PG_TRY();
	{
		background_step(bg);
	}
	PG_CATCH();
	{
		zcrm_http_abandon(bg);
		PG_RE_THROW();
	}
	PG_END_TRY();
	return bg;
}

/*
 * zcrm_http_step
 *		See transport.h.
 */
void
zcrm_http_step(void)
{
	static TimestampTz last = 0;
	TimestampTz now;

	if (zcrm_background == NULL || zcrm_background->b.q.ndone > 0)
		return;
	/* cheap enough for every row of a query: libcurl at most every 2 ms */
	now = GetCurrentTimestamp();
	if (now - last < 2000)
		return;
	last = now;
	background_step(zcrm_background);
}

/*
 * zcrm_http_end
 *		See transport.h.
 */
void
zcrm_http_end(ZcrmBackground *bg, ZcrmOutcome *out)
{
	MemoryContext old = MemoryContextSwitchTo(TopMemoryContext);

	PG_TRY();
	{
		run_batch(&bg->b);
	}
	PG_CATCH();
	{
		MemoryContextSwitchTo(old);
		zcrm_http_abandon(bg);
		PG_RE_THROW();
	}
	PG_END_TRY();
	MemoryContextSwitchTo(old);
	*out = bg->out;
	if (out->complete)
	{
		out->resp.body = palloc(bg->out.resp.body_len + 1);
		memcpy(out->resp.body, bg->out.resp.body, bg->out.resp.body_len + 1);
		out->resp.content_type = bg->out.resp.content_type ?
			pstrdup(bg->out.resp.content_type) : NULL;
	}
	out->reason = bg->out.reason ? pstrdup(bg->out.reason) : NULL;
	zcrm_http_abandon(bg);
}
