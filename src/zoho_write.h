/*-------------------------------------------------------------------------
 *
 * zoho_write.h
 *	  Zoho CRM API policy of the Bulk Write calls that make things: the
 *	  organisation id, the upload of a zip file and the creation of a job.
 *
 * A call is opened with zcrm_call_open() (zoho.h) and then:
 *
 *	- zcrm_write_org_id(): GET {api domain}/crm/{version}/org -> org[0].zgid,
 *	  the X-CRM-ORG header of uploads, cached per backend;
 *	- zcrm_write_upload(): POST {upload host}/crm/{version}/upload, the zip
 *	  as multipart part "file", headers feature: bulk-write and X-CRM-ORG;
 *	  success is decided by the body, whatever the HTTP status; retried by
 *	  the transport like any request (an upload makes nothing on its own);
 *	- zcrm_write_create(): POST {api domain}/crm/bulk/{version}/write,
 *	  never retried on a transport failure or 5xx (a retry after a lost
 *	  response could create a second job); HTTP 201 -> the job id.
 *
 * Through a connection, INVALID_TOKEN (the request was refused, so nothing
 * was made) refreshes the token once and sends the request again.
 *
 * Failures come in two kinds, for callers that commit between steps:
 *	- a definite refusal by Zoho (the reply is a Zoho error object with a
 *	  code and an HTTP status below 500) is RETURNED: false, with *err
 *	  filled (errors.h; scrubbed of the call's secrets), so that the caller
 *	  can record it before raising it with zcrm_raise_error() or
 *	  zcrm_raise_error_context();
 *	- anything else (no response, a timeout, a lost connection, a 5xx, an
 *	  unparseable or unexpected answer) is RAISED: it is not known what
 *	  Zoho did.
 *
 * The org id cache: one entry per (server oid, user mapping oid, API
 * domain) for a connection, per (SHA-256 of the token, API domain) for a
 * token; at most ZCRM_ORG_CACHE_SIZE entries (the oldest is replaced), in
 * TopMemoryContext.  Any change of a server, user mapping or role
 * (connections.c's syscache callbacks) drops every connection entry.
 *
 * Copyright (c) 2026, zcrm_bulk developers
 *
 * IDENTIFICATION
 *	  src/zoho_write.h
 *
 *-------------------------------------------------------------------------
 */
#ifndef ZCRM_ZOHO_WRITE_H
#define ZCRM_ZOHO_WRITE_H

#include "zoho.h"

#define ZCRM_ORG_CACHE_SIZE		16

/* What a job is created with; NULL members are left out of the request. */
typedef struct ZcrmWriteJobSpec
{
	const char *module;			/* the module's API name */
	const char *file_id;		/* from zcrm_write_upload() */
	const char *operation;		/* insert, update or upsert */
	const char *find_by;		/* or NULL */
	const char *field_mappings; /* JSON text of an array, or NULL */
	bool		ignore_empty;
} ZcrmWriteJobSpec;

/* How one request of a batch of uploads or creates ended. */
typedef enum ZcrmSendResult
{
	ZCRM_SEND_OK,				/* done: file id or job id set */
	ZCRM_SEND_REFUSED,			/* Zoho refused it for good: nothing made */
	ZCRM_SEND_FAILED			/* anything else: what Zoho did is unknown */
} ZcrmSendResult;

/* One upload of a batch: the zip (in), how it ended (out). */
typedef struct ZcrmUploadItem
{
	const char *zip;
	size_t		len;
	const char *file_name;
	ZcrmSendResult result;
	char	   *file_id;		/* ZCRM_SEND_OK: palloc'd, as Zoho sent it */
	ZcrmError	err;			/* otherwise: why (scrubbed) */
} ZcrmUploadItem;

/* One create of a batch: what the job is made of (in), how it ended. */
typedef struct ZcrmCreateItem
{
	const ZcrmWriteJobSpec *spec;
	ZcrmSendResult result;
	char	   *job_id;			/* ZCRM_SEND_OK: palloc'd, a valid job id */
	ZcrmError	err;			/* otherwise: why (scrubbed) */
} ZcrmCreateItem;

/*
 * zcrm_write_org_id
 *		The organisation id (zgid, digits) of the call's token, palloc'd,
 *		from the cache or from the org call; NULL with *err filled when Zoho
 *		refused the org call.
 */
extern char *zcrm_write_org_id(ZcrmCall *call, ZcrmError *err);

/*
 * zcrm_write_org_prefetch
 *		When the call's org id is not cached, start the org call in the
 *		background (transport.h), for zcrm_write_org_id() to take when it
 *		is next asked for the same key: a caller overlaps the call with
 *		other work (prepare.c zips rows meanwhile and lets it progress).
 *		Raises nothing the org call itself would not.
 */
extern void zcrm_write_org_prefetch(ZcrmCall *call);

/*
 * zcrm_write_org_key
 *		For a call through a connection whose server has no org_id: the key
 *		under which its org id may be remembered beyond this backend,
 *		palloc'd: the server's and the user mapping's OIDs, each with the
 *		xmin of its catalog row (any ALTER SERVER or ALTER USER MAPPING makes
 *		another key), and the API domain.  NULL for a token, whose org id is
 *		never stored, or a server with org_id, which needs none.
 */
extern char *zcrm_write_org_key(const ZcrmCall *call);

/*
 * zcrm_write_org_known
 *		The org id this backend has for the call without any request (the
 *		server's org_id, or the cache), palloc'd; NULL when it has none.
 */
extern char *zcrm_write_org_known(const ZcrmCall *call);

/*
 * zcrm_write_org_remember
 *		Cache zgid as the call's org id, as if the org call had answered
 *		it, so that no org call is made for it; one that is not an org id
 *		(validate.h) is ignored.
 */
extern void zcrm_write_org_remember(const ZcrmCall *call, const char *zgid);

/*
 * zcrm_write_org_forget
 *		Drop the cached org id of the call (its uploads were all refused:
 *		the next one asks Zoho again).
 */
extern void zcrm_write_org_forget(const ZcrmCall *call);

/*
 * zcrm_write_upload_host
 *		Where the call uploads, palloc'd, without a trailing slash: the
 *		connection's upload_domain when set, else the content host of a Zoho
 *		API domain (www.zohoapis.X -> content.zohoapis.X), else the call's
 *		API domain itself.
 */
extern char *zcrm_write_upload_host(const ZcrmCall *call);

/*
 * zcrm_write_upload
 *		Upload len bytes of zip as file "file_name" and set *file_id
 *		(palloc'd, exactly as Zoho sent it).  Returns false with *err filled
 *		when Zoho refused the org call or the upload; raises any other
 *		failure.  Query cancel and statement_timeout interrupt the transfer.
 */
extern bool zcrm_write_upload(ZcrmCall *call, const char *zip, size_t len,
							  const char *file_name, char **file_id,
							  ZcrmError *err);

/*
 * zcrm_write_create
 *		Create the job *spec describes and set *job_id (palloc'd, a valid
 *		job id).  Returns false with *err filled when Zoho refused it (HTTP
 *		4xx with an error code: nothing was created); raises any other
 *		failure, after which the job may or may not exist.
 */
extern bool zcrm_write_create(ZcrmCall *call, const ZcrmWriteJobSpec *spec,
							  char **job_id, ZcrmError *err);

/*
 * zcrm_write_upload_many / zcrm_write_create_many
 *		The same for n items at once, at most zcrm_bulk.max_concurrency in
 *		flight, each item's outcome in the item: nothing but an interrupt
 *		(cancel, statement_timeout) or libcurl's setup failing raises, so
 *		that a caller can record what was made before it raises what was
 *		not.  The uploads share one org call; a refused org call refuses
 *		every upload.
 */
extern void zcrm_write_upload_many(ZcrmCall *call, ZcrmUploadItem *items, int n);
extern void zcrm_write_create_many(ZcrmCall *call, ZcrmCreateItem *items, int n);

/* What an upload request is built from. */
typedef struct ZcrmUploadArg
{
	const char *zip;
	size_t		len;
	const char *file_name;
	const char *zgid;			/* X-CRM-ORG: zcrm_write_org_id() */
} ZcrmUploadArg;

/*
 * The requests and outcomes of the batches above, for a caller that sends
 * them in chains (write_chain.c):
 *	- zcrm_write_upload_request(): ZcrmBuildRequest of an upload, from a
 *	  ZcrmUploadArg;
 *	- zcrm_write_upload_outcome(): how an upload ended, into item (its zip
 *	  members are not used): file_id, or why not; frees the body;
 *	- zcrm_write_create_request(): ZcrmBuildRequest of a create, from the
 *	  body zcrm_write_create_body() made: never retried by the transport;
 *	- zcrm_write_create_outcome(): how a create ended, into item (its spec
 *	  is not used): job_id, or why not; frees the body.
 */
extern void zcrm_write_upload_request(const ZcrmCall *call, const void *arg,
									  ZcrmRequest *req);
extern void zcrm_write_upload_outcome(const ZcrmCall *call, ZcrmOutcome *o,
									  ZcrmUploadItem *item);
extern void zcrm_write_create_request(const ZcrmCall *call, const void *arg,
									  ZcrmRequest *req);
extern void zcrm_write_create_outcome(const ZcrmCall *call, ZcrmOutcome *o,
									  ZcrmCreateItem *item);

/*
 * zcrm_write_create_body
 *		The JSON body of the create request for *spec in the API version of
 *		zcrm_bulk.api_version (v2: "module" is the API name; v2.1 and later:
 *		{"api_name": ...}); palloc'd.
 */
extern char *zcrm_write_create_body(const ZcrmWriteJobSpec *spec);

#endif							/* ZCRM_ZOHO_WRITE_H */
