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

/* Builds the request of a call (again, after a token refresh). */
typedef void (*BuildRequest) (const ZcrmCall *call, const void *arg,
							  ZcrmRequest *req);

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
send_request(ZcrmCall *call, BuildRequest build, const void *arg,
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
 * refused
 *		After a reply that parse.c did not accept with status "st" (and
 *		*perr): when it is a definite refusal (a Zoho error object with an
 *		HTTP status below 500), describe it in *err and return; raise
 *		anything else: an unreadable 2xx, or an error status without a Zoho
 *		error, or a 5xx.
 */
static void
refused(const ZcrmCall *call, const ZcrmHttpResponse *resp, const char *what,
		ZcrmParseStatus st, const ZcrmParseError *perr, ZcrmError *err)
{
	if (st == ZCRM_PARSE_API_ERROR && resp->status < 500)
	{
		zcrm_describe_api_reply(resp->status, resp->body, resp->body_len,
								resp->content_type, what, call->secrets, err);
		return;
	}
	if (st != ZCRM_PARSE_API_ERROR && resp->status >= 200 && resp->status <= 299)
	{
		zcrm_describe_reply_parse_error(perr, what, err);
		zcrm_raise_error(err);
	}
	zcrm_describe_api_reply(resp->status, resp->body, resp->body_len,
							resp->content_type, what, call->secrets, err);
	zcrm_raise_error(err);
}

/* BuildRequest of the org call. */
static void
org_request(const ZcrmCall *call, const void *arg, ZcrmRequest *req)
{
	memset(req, 0, sizeof(*req));
	req->url = psprintf("%s/crm/%s/org", call->base, zcrm_api_version_name());
	req->token = call->token;
	req->what = WHAT_ORG;
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
	OrgEntry   *hit;
	char	   *zgid;

	org_key(call, &key);
	if ((hit = org_entry_find(&key)) != NULL)
		return pstrdup(hit->zgid);

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

/* What an upload request is built from. */
typedef struct UploadArg
{
	const char *zip;
	size_t		len;
	const char *file_name;
	const char *zgid;
} UploadArg;

/* BuildRequest of the upload. */
static void
upload_request(const ZcrmCall *call, const void *arg, ZcrmRequest *req)
{
	const UploadArg *u = (const UploadArg *) arg;
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
 * zcrm_write_upload
 *		See zoho_write.h.  Success is the body's "status":"success" with a
 *		file id, whatever the HTTP status; Zoho sends its errors with 200 as
 *		often as with 4xx.
 */
bool
zcrm_write_upload(ZcrmCall *call, const char *zip, size_t len,
				  const char *file_name, char **file_id, ZcrmError *err)
{
	UploadArg	arg;
	ZcrmHttpResponse resp;
	ZcrmParseError perr;
	ZcrmParseStatus st;

	*file_id = NULL;
	arg.zip = zip;
	arg.len = len;
	arg.file_name = file_name;
	arg.zgid = zcrm_write_org_id(call, err);
	if (arg.zgid == NULL)
		return false;

	send_request(call, upload_request, &arg, &resp);
	st = reply_id(zcrm_parse_upload_reply, &resp, file_id, &perr);
	if (st != ZCRM_PARSE_OK)
		refused(call, &resp, WHAT_UPLOAD, st, &perr, err);
	pfree(resp.body);
	return st == ZCRM_PARSE_OK;
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

/* BuildRequest of the create call: never retried by the transport. */
static void
create_request(const ZcrmCall *call, const void *arg, ZcrmRequest *req)
{
	memset(req, 0, sizeof(*req));
	req->url = psprintf("%s/crm/bulk/%s/write", call->base, zcrm_api_version_name());
	req->token = call->token;
	req->what = WHAT_CREATE;
	req->json = (const char *) arg;
	req->once = true;
}

/*
 * zcrm_write_create
 *		See zoho_write.h.  A 2xx with the job id is success; a Zoho error
 *		below 500 a refusal; a 5xx or anything unreadable is raised, since
 *		the job may exist.
 */
bool
zcrm_write_create(ZcrmCall *call, const ZcrmWriteJobSpec *spec, char **job_id,
				  ZcrmError *err)
{
	char	   *body = zcrm_write_create_body(spec);
	ZcrmHttpResponse resp;
	ZcrmParseError perr;
	ZcrmParseStatus st;
	ZcrmError	bad;

	*job_id = NULL;
	send_request(call, create_request, body, &resp);
	st = reply_id(zcrm_parse_create_reply, &resp, job_id, &perr);
	if (st == ZCRM_PARSE_OK && (resp.status < 200 || resp.status > 299))
		st = ZCRM_PARSE_API_ERROR;	/* a success body with an error status */
	if (st != ZCRM_PARSE_OK)
	{
		*job_id = NULL;
		refused(call, &resp, WHAT_CREATE, st, &perr, err);
		pfree(resp.body);
		return false;
	}
	pfree(resp.body);
	if (zcrm_bad_job_id(*job_id, &bad))
		ereport(ERROR,
				(errcode(ERRCODE_DATA_EXCEPTION),
				 errmsg("Zoho CRM API answered the creation of a bulk write job with an id that is not a job id"),
				 errdetail("%s", bad.detail ? bad.detail : bad.message),
				 errhint("The job may exist: look for it in Zoho CRM (Setup > Data Administration > Import History) before creating it again.")));
	return true;
}
