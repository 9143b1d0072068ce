/*-------------------------------------------------------------------------
 *
 * zoho_write.c
 *	  The org, upload and create calls of the Bulk Write lifecycle.
 *
 * See zoho_write.h for the calls, which failures are returned and which
 * raised, and the org id cache.  zoho.c opens the calls and refreshes a
 * connection's token; transport.c sends the requests (the create with
 * ZcrmRequest.once, so that it is never retried); parse.c reads the
 * replies, keeping every id by its source digits; errors.c describes the
 * failures.  Nothing here talks to libcurl.
 *
 * Copyright (c) 2026, zcrm_bulk developers
 *
 * IDENTIFICATION
 *	  src/zoho_write.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "lib/stringinfo.h"
#include "utils/json.h"
#include "utils/memutils.h"

#include "connections.h"
#include "errors.h"
#include "parse.h"
#include "settings.h"
#include "transport.h"
#include "upload_host.h"
#include "validate.h"
#include "zoho.h"
#include "zoho_write.h"

#define WHAT_ORG	"the organisation call (X-CRM-ORG)"
#define WHAT_UPLOAD "the upload of a zip file"
#define WHAT_CREATE "the creation of a bulk write job"

/* One cached organisation id; strings in TopMemoryContext. */
typedef struct OrgEntry
{
	bool		used;
	bool		by_conn;		/* keyed by server and user mapping */
	Oid			serverid;
	Oid			umid;
	char		token_sha[PG_SHA256_DIGEST_STRING_LENGTH];	/* !by_conn */
	char	   *base;			/* the API domain */
	char	   *zgid;
} OrgEntry;

static OrgEntry org_cache[ZCRM_ORG_CACHE_SIZE];
static int	org_next = 0;		/* the entry replaced next when all are used */
static bool org_stale = false;	/* a server or user mapping changed */
static bool org_registered = false;

/* A parse of parse.h's write replies. */
typedef ZcrmParseStatus (*ParseReply) (const char *body, size_t len,
									   ZcrmWriteReply **out,
									   ZcrmParseError *err);

/*
 * org_changed
 *		connections.c's callback: a server, user mapping or role changed.
 *		Only a flag is set here; org_entry_find() drops the entries.
 */
static void
org_changed(void)
{
	org_stale = true;
}

static void
org_entry_clear(OrgEntry *e)
{
	if (e->base)
		pfree(e->base);
	if (e->zgid)
		pfree(e->zgid);
	memset(e, 0, sizeof(*e));
}

/*
 * org_key
 *		Fill the key fields of *key for the call: its connection's server
 *		and user mapping, or the SHA-256 of its token; and its API domain.
 */
static void
org_key(const ZcrmCall *call, OrgEntry *key)
{
	memset(key, 0, sizeof(*key));
	key->by_conn = (call->conn != NULL);
	if (call->conn)
	{
		key->serverid = call->conn->serverid;
		key->umid = call->conn->umid;
	}
	else
		zcrm_sha256_hex(call->token, strlen(call->token), key->token_sha);
	key->base = call->base;
}

/*
 * org_entry_find
 *		The cached entry with the key of *key, or NULL; first drops every
 *		connection entry when a server or user mapping changed.
 */
static OrgEntry *
org_entry_find(const OrgEntry *key)
{
	if (!org_registered)
	{
		zcrm_on_connections_changed(org_changed);
		org_registered = true;
	}
	if (org_stale)
	{
		org_stale = false;
		for (int i = 0; i < ZCRM_ORG_CACHE_SIZE; i++)
		{
			if (org_cache[i].used && org_cache[i].by_conn)
				org_entry_clear(&org_cache[i]);
		}
	}
	for (int i = 0; i < ZCRM_ORG_CACHE_SIZE; i++)
	{
		OrgEntry   *e = &org_cache[i];

		if (e->used && e->by_conn == key->by_conn &&
			strcmp(e->base, key->base) == 0 &&
			(key->by_conn ?
			 (e->serverid == key->serverid && e->umid == key->umid) :
			 strcmp(e->token_sha, key->token_sha) == 0))
			return e;
	}
	return NULL;
}

/*
 * org_entry_store
 *		Cache zgid under *key: in a free entry, else in place of the entry
 *		stored longest ago.  The strings are copied before anything is
 *		changed, so that running out of memory leaves the cache as it was.
 */
static void
org_entry_store(const OrgEntry *key, const char *zgid)
{
	char	   *base = MemoryContextStrdup(TopMemoryContext, key->base);
	char	   *id = MemoryContextStrdup(TopMemoryContext, zgid);
	OrgEntry   *e = NULL;

	for (int i = 0; i < ZCRM_ORG_CACHE_SIZE && e == NULL; i++)
	{
		if (!org_cache[i].used)
			e = &org_cache[i];
	}
	if (e == NULL)
	{
		e = &org_cache[org_next];
		org_next = (org_next + 1) % ZCRM_ORG_CACHE_SIZE;
	}
	org_entry_clear(e);
	*e = *key;
	e->base = base;
	e->zgid = id;
	e->used = true;
}

/*
 * send_request
 *		Build the call's request with "build", send it and fill *resp
 *		(raising a transport failure).  Through a connection, after
 *		INVALID_TOKEN, the token is refreshed once and the request built
 *		and sent again.
 */
static void
send_request(ZcrmCall *call, ZcrmBuildRequest build, const void *arg,
			 ZcrmHttpResponse *resp)
{
	ZcrmRequest req;

	build(call, arg, &req);
	zcrm_http_request(&req, resp);
	if (call->conn != NULL && zcrm_is_invalid_token(resp))
	{
		pfree(resp->body);
		zcrm_call_refresh(call);
		build(call, arg, &req);
		zcrm_http_request(&req, resp);
	}
}

/*
 * reply_failure
 *		After a reply that parse.c did not accept with status "st" (and
 *		*perr): describe it in *err and say whether it is a definite refusal
 *		(a Zoho error object with an HTTP status below 500: nothing was
 *		made) or a failure whose effect is unknown (an unreadable 2xx, an
 *		error status without a Zoho error, a 5xx).
 */
static ZcrmSendResult
reply_failure(const ZcrmCall *call, const ZcrmHttpResponse *resp, const char *what,
			  ZcrmParseStatus st, const ZcrmParseError *perr, ZcrmError *err)
{
	if (st == ZCRM_PARSE_API_ERROR && resp->status < 500)
	{
		zcrm_describe_api_reply(resp->status, resp->body, resp->body_len,
								resp->content_type, what, call->secrets, err);
		return ZCRM_SEND_REFUSED;
	}
	if (st != ZCRM_PARSE_API_ERROR && resp->status >= 200 && resp->status <= 299)
		zcrm_describe_reply_parse_error(perr, what, err);
	else
		zcrm_describe_api_reply(resp->status, resp->body, resp->body_len,
								resp->content_type, what, call->secrets, err);
	return ZCRM_SEND_FAILED;
}

/*
 * refused
 *		reply_failure(), raising anything that is not a definite refusal.
 */
static void
refused(const ZcrmCall *call, const ZcrmHttpResponse *resp, const char *what,
		ZcrmParseStatus st, const ZcrmParseError *perr, ZcrmError *err)
{
	if (reply_failure(call, resp, what, st, perr, err) != ZCRM_SEND_REFUSED)
		zcrm_raise_error(err);
}

/*
 * send_many
 *		zcrm_send_many() for requests whose reqs[] the caller does not keep.
 */
static void
send_many(ZcrmCall *call, ZcrmBuildRequest build, const void *const *args, int n,
		  ZcrmOutcome *outcomes)
{
	ZcrmRequest *reqs = palloc0(sizeof(ZcrmRequest) * Max(n, 1));

	zcrm_send_many(call, build, args, n, reqs, outcomes);
	pfree(reqs);
}

/* ZcrmBuildRequest of the org call. */
static void
org_request(const ZcrmCall *call, const void *arg, ZcrmRequest *req)
{
	memset(req, 0, sizeof(*req));
	req->url = psprintf("%s/crm/%s/org", call->base, zcrm_api_version_name());
	req->token = call->token;
	req->what = WHAT_ORG;
}

/*
 * The org call started in the background by zcrm_write_org_prefetch(), and
 * the cache key it is for (base in TopMemoryContext).
 */
static ZcrmBackground *org_pending = NULL;
static OrgEntry org_pending_key;

/* Whether two cache keys name the same entry. */
static bool
org_key_equal(const OrgEntry *a, const OrgEntry *b)
{
	if (a->by_conn != b->by_conn || strcmp(a->base, b->base) != 0)
		return false;
	return a->by_conn ? (a->serverid == b->serverid && a->umid == b->umid)
		: strcmp(a->token_sha, b->token_sha) == 0;
}

/* Drop the org call in the background, if any. */
static void
org_pending_drop(void)
{
	zcrm_http_abandon(org_pending);
	org_pending = NULL;
	if (org_pending_key.base)
		pfree(org_pending_key.base);
	memset(&org_pending_key, 0, sizeof(org_pending_key));
}

/*
 * zcrm_write_org_prefetch
 *		See zoho_write.h.
 */
void
zcrm_write_org_prefetch(ZcrmCall *call)
{
	OrgEntry	key;
	ZcrmRequest req;

	if (call->conn && call->conn->org_id)
		return;
	org_key(call, &key);
	if (org_entry_find(&key) != NULL)
		return;
	org_pending_drop();
	org_request(call, NULL, &req);
	org_pending = zcrm_http_begin(&req);
	if (org_pending == NULL)
		return;
	org_pending_key = key;
	org_pending_key.base = MemoryContextStrdup(TopMemoryContext, key.base);
}

/*
 * org_take_pending
 *		The zgid from the org call in the background, when there is one for
 *		key and it was answered with an org document; NULL otherwise (the
 *		caller then makes the call itself, with every failure handled as
 *		usual).  The background call is gone either way.
 */
static char *
org_take_pending(const ZcrmCall *call, const OrgEntry *key)
{
	ZcrmOutcome out;
	ZcrmOrgReply *reply = NULL;
	ZcrmParseError perr;
	ZcrmParseStatus st;
	char	   *zgid = NULL;

	if (org_pending == NULL || !org_key_equal(key, &org_pending_key))
	{
		org_pending_drop();
		return NULL;
	}
	zcrm_http_end(org_pending, &out);
	org_pending = NULL;			/* ended: released */
	org_pending_drop();
	if (!out.complete)
		return NULL;
	if (out.resp.status >= 200 && out.resp.status <= 299)
	{
		do
			st = zcrm_parse_org_reply(out.resp.body, out.resp.body_len, &reply, &perr);
		while (zcrm_parse_stopped(st));
		if (st == ZCRM_PARSE_OK)
		{
			PG_TRY();
			{
				zgid = pstrdup(reply->zgid);
			}
			PG_FINALLY();
			{
				zcrm_org_reply_free(reply);
			}
			PG_END_TRY();
		}
		else
			zcrm_org_reply_free(reply);
	}
	pfree(out.resp.body);
	return zgid;
}

/*
 * zcrm_write_org_id
 *		See zoho_write.h.
 */
char *
zcrm_write_org_id(ZcrmCall *call, ZcrmError *err)
{
	ZcrmHttpResponse resp;
	ZcrmOrgReply *reply = NULL;
	ZcrmParseError perr;
	ZcrmParseStatus st;
	OrgEntry	key;
	char	   *zgid;

	/* the server's org_id (no call), or the cache */
	if ((zgid = zcrm_write_org_known(call)) != NULL)
		return zgid;
	org_key(call, &key);
	if ((zgid = org_take_pending(call, &key)) != NULL)
	{
		org_entry_store(&key, zgid);
		return zgid;
	}

	send_request(call, org_request, NULL, &resp);
	do
		st = zcrm_parse_org_reply(resp.body, resp.body_len, &reply, &perr);
	while (zcrm_parse_stopped(st));
	if (st != ZCRM_PARSE_OK || resp.status < 200 || resp.status > 299)
	{
		zcrm_org_reply_free(reply);
		if (st == ZCRM_PARSE_OK)
			st = ZCRM_PARSE_API_ERROR;	/* an error status: not a zgid */
		refused(call, &resp, WHAT_ORG, st, &perr, err);
		pfree(resp.body);
		return NULL;
	}
	PG_TRY();
	{
		zgid = pstrdup(reply->zgid);
	}
	PG_FINALLY();
	{
		zcrm_org_reply_free(reply);
	}
	PG_END_TRY();
	pfree(resp.body);

	/* the refresh after INVALID_TOKEN may have moved the API domain */
	org_key(call, &key);
	org_entry_store(&key, zgid);
	return zgid;
}

/*
 * zcrm_write_org_key
 *		See zoho_write.h.
 */
char *
zcrm_write_org_key(const ZcrmCall *call)
{
	const ZcrmConnection *c = call->conn;

	if (c == NULL || c->org_id != NULL)
		return NULL;
	return psprintf("%u.%u/%u.%u %s", c->serverid, c->server_xmin, c->umid,
					c->um_xmin, call->base);
}

/*
 * zcrm_write_org_known
 *		See zoho_write.h.
 */
char *
zcrm_write_org_known(const ZcrmCall *call)
{
	OrgEntry	key;
	OrgEntry   *hit;

	if (call->conn && call->conn->org_id)
		return pstrdup(call->conn->org_id);
	org_key(call, &key);
	hit = org_entry_find(&key);
	return hit ? pstrdup(hit->zgid) : NULL;
}

/*
 * zcrm_write_org_remember
 *		See zoho_write.h.
 */
void
zcrm_write_org_remember(const ZcrmCall *call, const char *zgid)
{
	OrgEntry	key;

	if (zgid == NULL || !zcrm_is_org_id(zgid))
		return;
	org_key(call, &key);
	if (org_entry_find(&key) == NULL)
		org_entry_store(&key, zgid);
}

/*
 * zcrm_write_org_forget
 *		See zoho_write.h.
 */
void
zcrm_write_org_forget(const ZcrmCall *call)
{
	OrgEntry	key;
	OrgEntry   *hit;

	org_key(call, &key);
	if ((hit = org_entry_find(&key)) != NULL)
		org_entry_clear(hit);
}

/*
 * zcrm_write_upload_host
 *		See zoho_write.h.  Only Zoho's own www API domains are derived.
 */
char *
zcrm_write_upload_host(const ZcrmCall *call)
{
	bool		derived;
	char	   *host;
	char	   *result;

	if (call->conn && call->conn->upload_domain)
		return zcrm_without_slash(call->conn->upload_domain);
	if (!zcrm_is_zoho_api_domain(call->base))
		return zcrm_without_slash(call->base);
	host = zcrm_derive_upload_host(call->base, &derived);
	if (host == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_OUT_OF_MEMORY),
				 errmsg("out of memory")));
	PG_TRY();
	{
		result = pstrdup(host);
	}
	PG_FINALLY();
	{
		free(host);
	}
	PG_END_TRY();
	return result;
}

/*
 * zcrm_write_upload_request
 *		See zoho_write.h.
 */
void
zcrm_write_upload_request(const ZcrmCall *call, const void *arg, ZcrmRequest *req)
{
	const ZcrmUploadArg *u = (const ZcrmUploadArg *) arg;
	const char **headers = palloc0(sizeof(char *) * 3);

	headers[0] = "feature: bulk-write";
	headers[1] = psprintf("X-CRM-ORG: %s", u->zgid);
	memset(req, 0, sizeof(*req));
	req->url = psprintf("%s/crm/%s/upload", zcrm_write_upload_host(call),
						zcrm_api_version_name());
	req->token = call->token;
	req->what = WHAT_UPLOAD;
	req->upload = u->zip;
	req->upload_len = u->len;
	req->upload_name = u->file_name ? u->file_name : "upload.zip";
	req->headers = headers;
}

/*
 * reply_id
 *		Parse a write reply with "parse"; on ZCRM_PARSE_OK set *id to a
 *		palloc'd copy of its id.  Returns the parse status, *perr filled.
 */
static ZcrmParseStatus
reply_id(ParseReply parse, const ZcrmHttpResponse *resp, char **id,
		 ZcrmParseError *perr)
{
	ZcrmWriteReply *reply = NULL;
	ZcrmParseStatus st;

	do
		st = parse(resp->body, resp->body_len, &reply, perr);
	while (zcrm_parse_stopped(st));
	if (st != ZCRM_PARSE_OK)
		return st;
	PG_TRY();
	{
		*id = pstrdup(reply->id);
	}
	PG_FINALLY();
	{
		zcrm_write_reply_free(reply);
	}
	PG_END_TRY();
	return st;
}

/*
 * transport_failed
 *		Outcome o got no complete response: describe it in *err.
 */
static ZcrmSendResult
transport_failed(const ZcrmOutcome *o, const char *what, ZcrmError *err)
{
	zcrm_describe_transport_error(o->kind, o->reason, what, o->limit,
								  o->attempts, err);
	return ZCRM_SEND_FAILED;
}

/*
 * zcrm_write_upload_many
 *		See zoho_write.h.  Success is the body's "status":"success" with a
 *		file id, whatever the HTTP status; Zoho sends its errors with 200 as
 *		often as with 4xx.
 */
void
zcrm_write_upload_many(ZcrmCall *call, ZcrmUploadItem *items, int n)
{
	ZcrmUploadArg *args = palloc0(sizeof(ZcrmUploadArg) * Max(n, 1));
	const void **argp = palloc0(sizeof(void *) * Max(n, 1));
	ZcrmOutcome *outcomes = palloc0(sizeof(ZcrmOutcome) * Max(n, 1));
	ZcrmError	err;
	char	   *zgid = zcrm_write_org_id(call, &err);

	for (int i = 0; i < n; i++)
	{
		items[i].file_id = NULL;
		if (zgid == NULL)
		{
			items[i].result = ZCRM_SEND_REFUSED;	/* the org call was */
			items[i].err = err;
			continue;
		}
		args[i].zip = items[i].zip;
		args[i].len = items[i].len;
		args[i].file_name = items[i].file_name;
		args[i].zgid = zgid;
		argp[i] = &args[i];
	}
	if (zgid == NULL)
		return;

	send_many(call, zcrm_write_upload_request, argp, n, outcomes);
	for (int i = 0; i < n; i++)
		zcrm_write_upload_outcome(call, &outcomes[i], &items[i]);
}

/*
 * zcrm_write_upload_outcome
 *		See zoho_write.h.
 */
void
zcrm_write_upload_outcome(const ZcrmCall *call, ZcrmOutcome *o, ZcrmUploadItem *item)
{
	ZcrmParseError perr;
	ZcrmParseStatus st;

	item->file_id = NULL;
	if (!o->complete)
	{
		item->result = transport_failed(o, WHAT_UPLOAD, &item->err);
		return;
	}
	st = reply_id(zcrm_parse_upload_reply, &o->resp, &item->file_id, &perr);
	item->result = st == ZCRM_PARSE_OK ? ZCRM_SEND_OK
		: reply_failure(call, &o->resp, WHAT_UPLOAD, st, &perr, &item->err);
	pfree(o->resp.body);
	o->complete = false;
}

/*
 * zcrm_write_upload
 *		See zoho_write.h: a batch of one, whose failure is raised.
 */
bool
zcrm_write_upload(ZcrmCall *call, const char *zip, size_t len,
				  const char *file_name, char **file_id, ZcrmError *err)
{
	ZcrmUploadItem item;

	memset(&item, 0, sizeof(item));
	item.zip = zip;
	item.len = len;
	item.file_name = file_name;
	zcrm_write_upload_many(call, &item, 1);
	if (item.result == ZCRM_SEND_FAILED)
		zcrm_raise_error(&item.err);
	*file_id = item.file_id;
	if (item.result == ZCRM_SEND_REFUSED)
		*err = item.err;
	return item.result == ZCRM_SEND_OK;
}

/*
 * zcrm_write_create_body
 *		See zoho_write.h.
 */
char *
zcrm_write_create_body(const ZcrmWriteJobSpec *spec)
{
	StringInfoData buf;

	initStringInfo(&buf);
	appendStringInfoString(&buf, "{\"operation\":");
	escape_json(&buf, spec->operation);
	appendStringInfo(&buf, ",\"ignore_empty\":%s,\"character_encoding\":\"UTF-8\","
					 "\"resource\":[{\"type\":\"data\",\"module\":",
					 spec->ignore_empty ? "true" : "false");
	if (strcmp(zcrm_api_version_name(), "v2") == 0)
		escape_json(&buf, spec->module);
	else
	{
		appendStringInfoString(&buf, "{\"api_name\":");
		escape_json(&buf, spec->module);
		appendStringInfoChar(&buf, '}');
	}
	appendStringInfoString(&buf, ",\"file_id\":");
	escape_json(&buf, spec->file_id);
	if (spec->find_by)
	{
		appendStringInfoString(&buf, ",\"find_by\":");
		escape_json(&buf, spec->find_by);
	}
	if (spec->field_mappings)
		appendStringInfo(&buf, ",\"field_mappings\":%s", spec->field_mappings);
	appendStringInfoString(&buf, "}]}");
	return buf.data;
}

/*
 * zcrm_write_create_request
 *		See zoho_write.h.
 */
void
zcrm_write_create_request(const ZcrmCall *call, const void *arg, ZcrmRequest *req)
{
	memset(req, 0, sizeof(*req));
	req->url = psprintf("%s/crm/bulk/%s/write", call->base, zcrm_api_version_name());
	req->token = call->token;
	req->what = WHAT_CREATE;
	req->json = (const char *) arg;
	req->once = true;
}

/*
 * zcrm_write_create_outcome
 *		See zoho_write.h: a 2xx with a valid job id is success; a Zoho error
 *		below 500 a refusal; anything else a failure after which the job may
 *		exist.
 */
void
zcrm_write_create_outcome(const ZcrmCall *call, ZcrmOutcome *o, ZcrmCreateItem *item)
{
	ZcrmParseError perr;
	ZcrmParseStatus st;
	ZcrmError	bad;

	item->job_id = NULL;
	if (!o->complete)
	{
		item->result = transport_failed(o, WHAT_CREATE, &item->err);
		return;
	}
	st = reply_id(zcrm_parse_create_reply, &o->resp, &item->job_id, &perr);
	if (st == ZCRM_PARSE_OK && (o->resp.status < 200 || o->resp.status > 299))
		st = ZCRM_PARSE_API_ERROR;	/* a success body with an error status */
	if (st != ZCRM_PARSE_OK)
	{
		item->job_id = NULL;
		item->result = reply_failure(call, &o->resp, WHAT_CREATE, st, &perr, &item->err);
	}
	else if (zcrm_bad_job_id(item->job_id, &bad))
	{
		memset(&item->err, 0, sizeof(item->err));
		item->err.sqlstate = ERRCODE_DATA_EXCEPTION;
		item->err.message = pstrdup("Zoho CRM API answered the creation of a bulk write job with an id that is not a job id");
		item->err.detail = pstrdup(bad.detail ? bad.detail : bad.message);
		item->err.hint = pstrdup("The job may exist: look for it in Zoho CRM (Setup > Data Administration > Import History) before creating it again.");
		item->job_id = NULL;
		item->result = ZCRM_SEND_FAILED;
	}
	else
		item->result = ZCRM_SEND_OK;
	pfree(o->resp.body);
	o->complete = false;
}

/*
 * zcrm_write_create_many
 *		See zoho_write.h.
 */
void
zcrm_write_create_many(ZcrmCall *call, ZcrmCreateItem *items, int n)
{
	const void **bodies = palloc0(sizeof(void *) * Max(n, 1));
	ZcrmOutcome *outcomes = palloc0(sizeof(ZcrmOutcome) * Max(n, 1));

	for (int i = 0; i < n; i++)
		bodies[i] = zcrm_write_create_body(items[i].spec);
	send_many(call, zcrm_write_create_request, bodies, n, outcomes);
	for (int i = 0; i < n; i++)
		zcrm_write_create_outcome(call, &outcomes[i], &items[i]);
}

/*
 * zcrm_write_create
 *		See zoho_write.h: a batch of one, whose failure is raised.
 */
bool
zcrm_write_create(ZcrmCall *call, const ZcrmWriteJobSpec *spec, char **job_id,
				  ZcrmError *err)
{
	ZcrmCreateItem item;

	memset(&item, 0, sizeof(item));
	item.spec = spec;
	zcrm_write_create_many(call, &item, 1);
	if (item.result == ZCRM_SEND_FAILED)
		zcrm_raise_error(&item.err);
	*job_id = item.job_id;
	if (item.result == ZCRM_SEND_REFUSED)
		*err = item.err;
	return item.result == ZCRM_SEND_OK;
}
