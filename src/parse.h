/*-------------------------------------------------------------------------
 *
 * parse.h
 *	  Turn Zoho CRM Bulk Write API response bodies into C structs.
 *
 * This is the only part of zcrm_bulk that looks at JSON.  It depends on
 * cJSON and the C library alone (no PostgreSQL headers), so that it builds
 * and runs outside the server for unit tests, valgrind and fuzzing.
 *
 * Ownership: everything reachable from a ZcrmJob or ZcrmApiError (strings,
 * arrays) lives in one arena owned by that object and is released by
 * zcrm_job_free() / zcrm_api_error_free(); no cJSON tree outlives a call.
 * The functions never longjmp and never print.
 *
 * Conventions for every parsed value:
 *	- a missing key and a JSON null both become "absent" (NULL pointer, or
 *	  the matching has_* flag false);
 *	- a key of an unexpected JSON type is an error (ZCRM_PARSE_BAD_SHAPE),
 *	  never a guess;
 *	- an id sent as a JSON number is accepted only when it is an integer
 *	  that a double holds exactly (|n| <= 2^53 - 1); it is then rendered as
 *	  decimal text.  Any larger number is an error, never a rounded id;
 *	- integer fields (counts, index, parent_column_index) must be integral
 *	  numbers within range, else ZCRM_PARSE_BAD_SHAPE;
 *	- the status spelling "IN PROGRESS" is normalised to "INPROGRESS" in
 *	  the job, resource and file status fields.
 *
 * Copyright (c) 2026, zcrm_bulk developers
 *
 * IDENTIFICATION
 *	  src/parse.h
 *
 *-------------------------------------------------------------------------
 */
#ifndef ZCRM_PARSE_H
#define ZCRM_PARSE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Result of every parse function. */
typedef enum ZcrmParseStatus
{
	ZCRM_PARSE_OK = 0,
	ZCRM_PARSE_NOT_JSON,		/* empty, not JSON, invalid UTF-8, too deep */
	ZCRM_PARSE_BAD_SHAPE,		/* valid JSON, unexpected structure or type */
	ZCRM_PARSE_NUL_CHAR,		/* a string holds \u0000, which text cannot */
	ZCRM_PARSE_API_ERROR,		/* a Zoho error object ("status":"error") */
	ZCRM_PARSE_NO_MEMORY,		/* malloc failed */
	ZCRM_PARSE_TOO_MANY_VALUES, /* more JSON values than the limit allows */
	ZCRM_PARSE_INTERRUPTED		/* the caller's interrupt check said stop */
} ZcrmParseStatus;

/*
 * Limits every parse obeys, so that what a document costs is bounded by
 * the caller's settings and not by what a server sends.  max_values (0: no
 * limit) caps the JSON values (objects, arrays, strings, numbers and
 * literals, at any depth) a body may hold: it is counted in the first,
 * allocation-free pass, before any tree or struct is built, and a body
 * above it is ZCRM_PARSE_TOO_MANY_VALUES.  The cost of a parse is then at
 * most about 64 bytes of tree and 150 bytes of structs per value, plus
 * the body's own size.  interrupted (may be NULL) is called every few
 * thousand values or elements; when it returns true, the parse frees what
 * it built and returns ZCRM_PARSE_INTERRUPTED, so the caller can service
 * the interrupt (it must not longjmp out of the parse itself).
 */
typedef struct ZcrmParseLimits
{
	size_t		max_values;
	bool		(*interrupted) (void);
} ZcrmParseLimits;

/* Set the limits of every following parse (NULL: none, the default). */
extern void zcrm_parse_set_limits(const ZcrmParseLimits *limits);

/*
 * Describes why a parse failed.  "path" names the offending key in a
 * JSONPath-like form ("resource[0].file.added_count"), empty when the
 * problem is the document as a whole; "message" is one lower-case phrase
 * without a full stop ("expected a number, found a string").  Neither ever
 * contains data taken from the body beyond key names and JSON type names.
 */
typedef struct ZcrmParseError
{
	ZcrmParseStatus status;
	char		path[128];
	char		message[160];
} ZcrmParseError;

/* One element of resource[].field_mappings. */
typedef struct ZcrmFieldMapping
{
	const char *api_name;
	bool		has_index;
	int32_t		index;
	const char *format;
	const char *find_by;
	const char *module;			/* the mapping's own lookup module */
	const char *default_value;	/* compact JSON text, NULL when null/missing */
	bool		has_parent_column_index;
	int32_t		parent_column_index;
} ZcrmFieldMapping;

/* One element of the job's resource array. */
typedef struct ZcrmResource
{
	const char *type;
	const char *module;			/* api_name, from a string or an object */
	const char *module_id;		/* module.id when module is an object */
	const char *status;			/* normalised */
	const char *code;
	const char *file_name;
	const char *file_status;	/* normalised */
	bool		has_added_count;
	int64_t		added_count;
	bool		has_updated_count;
	int64_t		updated_count;
	bool		has_skipped_count;
	int64_t		skipped_count;
	bool		has_total_count;
	int64_t		total_count;
	int			nmappings;
	ZcrmFieldMapping *mappings;
} ZcrmResource;

/* A job-details document. */
typedef struct ZcrmJob
{
	const char *id;
	const char *status;			/* normalised */
	const char *operation;
	bool		has_ignore_empty;
	bool		ignore_empty;
	const char *character_encoding;
	const char *created_time;	/* validated ISO 8601 with offset or Z */
	const char *created_by_id;
	const char *created_by_name;
	const char *callback_url;
	const char *callback_method;
	const char *download_url;	/* as sent: may be relative */
	int			nresources;		/* 0 when resource is missing, null or [] */
	ZcrmResource *resources;
	void	   *internal;		/* owned storage; do not touch */
} ZcrmJob;

/* A Zoho error body: {"code":..,"details":{..},"message":..,"status":"error"} */
typedef struct ZcrmApiError
{
	const char *code;			/* never NULL when parsed OK */
	const char *message;		/* NULL when missing */
	const char *details;		/* compact JSON text, NULL when missing/null */
	void	   *internal;
} ZcrmApiError;

/*
 * A Zoho Accounts token reply, to a refresh-token grant:
 * {"access_token":..,"api_domain":..,"token_type":"Bearer","expires_in":3600}
 * or {"error":"invalid_code"} (Zoho answers errors with HTTP 200 too).
 */
typedef struct ZcrmTokenReply
{
	const char *access_token;	/* NULL when error is set */
	const char *api_domain;		/* NULL when missing */
	const char *error;			/* the "error" string, NULL on success */
	const char *error_description;
	bool		has_expires_in;
	int64_t		expires_in;		/* seconds: expires_in_sec if present (then
								 * expires_in is in milliseconds), else
								 * expires_in */
	void	   *internal;
} ZcrmTokenReply;

/* The org document: {"org":[{"zgid":"808232144", ...}]}. */
typedef struct ZcrmOrgReply
{
	const char *zgid;			/* org[0].zgid: digits, string or number */
	void	   *internal;
} ZcrmOrgReply;

/*
 * The reply to an upload ({"status":"success","code":"FILE_UPLOAD_SUCCESS",
 * "details":{"file_id":..}}) or to a job creation ({"status":"success",
 * "code":"SUCCESS","details":{"id":..}}).  The id is kept exactly as sent:
 * a string as it is, a number (of any length) by its digits.
 */
typedef struct ZcrmWriteReply
{
	const char *id;				/* details.file_id or details.id */
	const char *code;			/* NULL when missing */
	void	   *internal;
} ZcrmWriteReply;

/*
 * zcrm_parse_job
 *	  Parse a job-details body of "len" bytes (need not be NUL-terminated).
 *
 * On ZCRM_PARSE_OK, *job is set and must be freed with zcrm_job_free().
 * On any other status *job is NULL and *err says why.  A body that is a
 * Zoho error object (top-level "status":"error" with a string "code")
 * yields ZCRM_PARSE_API_ERROR; use zcrm_parse_api_error() to read it.
 */
extern ZcrmParseStatus zcrm_parse_job(const char *body, size_t len,
									  ZcrmJob **job, ZcrmParseError *err);

/*
 * zcrm_parse_api_error
 *	  Read a Zoho error body.  Returns ZCRM_PARSE_OK when the body is a JSON
 *	  object with a string "code" (whatever the HTTP status), and sets *out,
 *	  to be freed with zcrm_api_error_free().  Otherwise *out is NULL and the
 *	  status says why: ZCRM_PARSE_NOT_JSON (an HTML page, an empty body),
 *	  ZCRM_PARSE_BAD_SHAPE (JSON without a string code), ZCRM_PARSE_NUL_CHAR
 *	  or ZCRM_PARSE_NO_MEMORY.
 */
extern ZcrmParseStatus zcrm_parse_api_error(const char *body, size_t len,
											ZcrmApiError **out,
											ZcrmParseError *err);

/*
 * zcrm_check_document
 *	  Validate a body for zcrm_write_job_json: valid UTF-8 JSON whose top
 *	  level is an object, no \u0000 in any string, and not a Zoho error
 *	  object.  Returns ZCRM_PARSE_OK or the reason (with *err filled).
 */
extern ZcrmParseStatus zcrm_check_document(const char *body, size_t len,
										   ZcrmParseError *err);

/*
 * zcrm_parse_token_reply
 *	  Read a token reply.  ZCRM_PARSE_OK means a JSON object that carries
 *	  either a string "error" (reply->error set) or a string "access_token";
 *	  anything else is ZCRM_PARSE_NOT_JSON or ZCRM_PARSE_BAD_SHAPE.  Free
 *	  *out with zcrm_token_reply_free().
 */
extern ZcrmParseStatus zcrm_parse_token_reply(const char *body, size_t len,
											  ZcrmTokenReply **out,
											  ZcrmParseError *err);

/*
 * zcrm_parse_org_reply
 *	  Read the org document: "org" a non-empty array whose first element
 *	  has a "zgid" of digits (a string, or a number by its source digits).
 *	  A Zoho error object is ZCRM_PARSE_API_ERROR.  Free *out with
 *	  zcrm_org_reply_free().
 */
extern ZcrmParseStatus zcrm_parse_org_reply(const char *body, size_t len,
											ZcrmOrgReply **out,
											ZcrmParseError *err);

/*
 * zcrm_parse_upload_reply / zcrm_parse_create_reply
 *	  Read the reply to an upload or a job creation.  ZCRM_PARSE_OK needs
 *	  "status":"success" and details.file_id (upload) or details.id
 *	  (create), a non-empty string or an integer number; a Zoho error
 *	  object, or any other "status" with a string "code", is
 *	  ZCRM_PARSE_API_ERROR (read it with zcrm_parse_api_error()), whatever
 *	  the HTTP status.  Free *out with zcrm_write_reply_free().
 */
extern ZcrmParseStatus zcrm_parse_upload_reply(const char *body, size_t len,
											   ZcrmWriteReply **out,
											   ZcrmParseError *err);
extern ZcrmParseStatus zcrm_parse_create_reply(const char *body, size_t len,
											   ZcrmWriteReply **out,
											   ZcrmParseError *err);

/* Release a job, an API error or a token reply; NULL is allowed. */
extern void zcrm_org_reply_free(ZcrmOrgReply *reply);
extern void zcrm_write_reply_free(ZcrmWriteReply *reply);
extern void zcrm_job_free(ZcrmJob *job);
extern void zcrm_api_error_free(ZcrmApiError *apierr);
extern void zcrm_token_reply_free(ZcrmTokenReply *reply);

#endif							/* ZCRM_PARSE_H */
