/*-------------------------------------------------------------------------
 *
 * parse.c
 *	  Turn Zoho CRM Bulk Write API response bodies into C structs.
 *
 * The Zoho documents of parse.h, built on the strict JSON layer of json.h:
 * a job-details document (job, resources, field mappings), a Zoho error
 * object, a Zoho Accounts token reply, the check of a body that
 * zcrm_write_job_json stores, and the replies of the org, upload and
 * create calls (whose ids keep their source digits).  What is Zoho's lives here: the keys, the
 * "IN PROGRESS" spelling, the created_time format, what makes a body an
 * error object.  What is JSON's (the pre-scan, the arenas, typed access
 * with error paths) lives in json.h's files.
 *
 * Every entry point is parse_document() with a DocumentKind: load the body
 * (stages 1 and 2), require a top-level object, build the result from the
 * tree (stage 3) into an arena the result owns, and release the tree.
 *
 * Copyright (c) 2026, zcrm_bulk developers
 *
 * IDENTIFICATION
 *	  src/parse.c
 *
 *-------------------------------------------------------------------------
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cJSON.h>

#include "json.h"
#include "parse.h"


/* ----------------------------------------------------------------
 * Zoho's conventions: statuses, timestamps, error objects
 * ----------------------------------------------------------------
 */

/* zcrm_json_get_string(), with "IN PROGRESS" normalised to "INPROGRESS". */
static ZcrmParseStatus
get_status(ZcrmJsonCtx *ctx, const cJSON *obj, const char *key,
		   const char **out)
{
	cJSON	   *item = zcrm_json_get_member(obj, key);

	if (item != NULL && cJSON_IsString(item) && item->valuestring != NULL &&
		strcmp(item->valuestring, "IN PROGRESS") == 0)
	{
		*out = "INPROGRESS";
		return ZCRM_PARSE_OK;
	}
	return zcrm_json_get_string(ctx, obj, key, out);
}

/* Is y a leap year of the proleptic Gregorian calendar? */
static bool
is_leap_year(int y)
{
	return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

/* Read n decimal digits at s into *out; false unless all are digits. */
static bool
read_digits(const char *s, int n, int *out)
{
	int			value = 0;
	int			k;

	for (k = 0; k < n; k++)
	{
		if (s[k] < '0' || s[k] > '9')
			return false;
		value = value * 10 + (s[k] - '0');
	}
	*out = value;
	return true;
}

/*
 * valid_timestamp
 *	  True when s is YYYY-MM-DDTHH:MM:SS, then optionally '.' and one or
 *	  more digits, then 'Z' or +HH:MM or -HH:MM, and every field is in
 *	  range (the day for its month and year; the year 0001 or later, as
 *	  PostgreSQL has no year 0; offsets up to 15:59).
 */
static bool
valid_timestamp(const char *s)
{
	static const int mdays[12] = {31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
	int			year,
				month,
				day,
				hour,
				minute,
				second,
				oh,
				om;
	size_t		len = strlen(s);
	size_t		i;

	if (len < 20)
		return false;
	if (!read_digits(s, 4, &year) || s[4] != '-' ||
		!read_digits(s + 5, 2, &month) || s[7] != '-' ||
		!read_digits(s + 8, 2, &day) || s[10] != 'T' ||
		!read_digits(s + 11, 2, &hour) || s[13] != ':' ||
		!read_digits(s + 14, 2, &minute) || s[16] != ':' ||
		!read_digits(s + 17, 2, &second))
		return false;
	if (year < 1 || month < 1 || month > 12 || day < 1 ||
		day > mdays[month - 1] ||
		(month == 2 && day == 29 && !is_leap_year(year)) ||
		hour > 23 || minute > 59 || second > 59)
		return false;

	i = 19;
	if (s[i] == '.')
	{
		i++;
		if (s[i] < '0' || s[i] > '9')
			return false;
		while (s[i] >= '0' && s[i] <= '9')
			i++;
	}
	if (s[i] == 'Z')
		return s[i + 1] == '\0';
	if (s[i] != '+' && s[i] != '-')
		return false;
	if (len - i != 6 || !read_digits(s + i + 1, 2, &oh) || s[i + 3] != ':' ||
		!read_digits(s + i + 4, 2, &om))
		return false;
	return oh <= 15 && om <= 59;
}

/* Read member "key" as a validated ISO 8601 timestamp string. */
static ZcrmParseStatus
get_timestamp(ZcrmJsonCtx *ctx, const cJSON *obj, const char *key,
			  const char **out)
{
	cJSON	   *item = zcrm_json_get_member(obj, key);

	*out = NULL;
	if (item == NULL)
		return ZCRM_PARSE_OK;
	if (!cJSON_IsString(item) || item->valuestring == NULL)
		return zcrm_json_shape_error(ctx, key,
									 "expected a timestamp string, found %s",
									 zcrm_json_type_name(item));
	if (!valid_timestamp(item->valuestring))
		return zcrm_json_shape_error(ctx, key,
									 "expected an ISO 8601 timestamp with a time zone offset, found a string in another format");
	return zcrm_json_get_string(ctx, obj, key, out);
}

/*
 * is_api_error_object
 *	  True when root is a Zoho error object: "status" is the string
 *	  "error" and "code" is a string.
 */
static bool
is_api_error_object(const cJSON *root)
{
	cJSON	   *status = zcrm_json_get_member(root, "status");
	cJSON	   *code = zcrm_json_get_member(root, "code");

	return cJSON_IsObject(root) &&
		status != NULL && cJSON_IsString(status) &&
		status->valuestring != NULL &&
		strcmp(status->valuestring, "error") == 0 &&
		code != NULL && cJSON_IsString(code);
}


/* ----------------------------------------------------------------
 * The job document
 * ----------------------------------------------------------------
 */

/* Fill *m from one field_mappings element (NULL for a null element). */
static ZcrmParseStatus
parse_mapping(ZcrmJsonCtx *ctx, const cJSON *obj, ZcrmFieldMapping *m)
{
	ZcrmParseStatus rc;

	if (obj == NULL)
		return ZCRM_PARSE_OK;
	if ((rc = zcrm_json_get_string(ctx, obj, "api_name",
								   &m->api_name)) != ZCRM_PARSE_OK ||
		(rc = zcrm_json_get_int32(ctx, obj, "index", &m->has_index,
								  &m->index)) != ZCRM_PARSE_OK ||
		(rc = zcrm_json_get_string(ctx, obj, "format",
								   &m->format)) != ZCRM_PARSE_OK ||
		(rc = zcrm_json_get_string(ctx, obj, "find_by",
								   &m->find_by)) != ZCRM_PARSE_OK ||
		(rc = zcrm_json_get_string(ctx, obj, "module",
								   &m->module)) != ZCRM_PARSE_OK ||
		(rc = zcrm_json_get_json_text(ctx, obj, "default_value", true,
									  &m->default_value)) != ZCRM_PARSE_OK ||
		(rc = zcrm_json_get_int32(ctx, obj, "parent_column_index",
								  &m->has_parent_column_index,
								  &m->parent_column_index)) != ZCRM_PARSE_OK)
		return rc;
	return ZCRM_PARSE_OK;
}

/*
 * parse_resource_module
 *	  Fill r->module and r->module_id from "module", which is a string
 *	  (API v2) or an object with api_name and id (v2.1 and later).
 */
static ZcrmParseStatus
parse_resource_module(ZcrmJsonCtx *ctx, const cJSON *obj, ZcrmResource *r)
{
	cJSON	   *item = zcrm_json_get_member(obj, "module");
	ZcrmParseStatus rc;
	size_t		saved;

	if (item == NULL)
		return ZCRM_PARSE_OK;
	if (cJSON_IsString(item))
		return zcrm_json_get_string(ctx, obj, "module", &r->module);
	if (!cJSON_IsObject(item))
		return zcrm_json_shape_error(ctx, "module",
									 "expected a string or an object, found %s",
									 zcrm_json_type_name(item));
	saved = zcrm_json_path_push_key(ctx, "module");
	if ((rc = zcrm_json_get_string(ctx, item, "api_name",
								   &r->module)) == ZCRM_PARSE_OK)
		rc = zcrm_json_get_id(ctx, item, "id", &r->module_id);
	zcrm_json_path_pop(ctx, saved);
	return rc;
}

/* Fill the file_* fields and counts of r from the "file" object. */
static ZcrmParseStatus
parse_resource_file(ZcrmJsonCtx *ctx, const cJSON *obj, ZcrmResource *r)
{
	cJSON	   *file;
	ZcrmParseStatus rc;
	size_t		saved;

	if ((rc = zcrm_json_get_object(ctx, obj, "file",
								   &file)) != ZCRM_PARSE_OK ||
		file == NULL)
		return rc;
	saved = zcrm_json_path_push_key(ctx, "file");
	if ((rc = zcrm_json_get_string(ctx, file, "name",
								   &r->file_name)) != ZCRM_PARSE_OK ||
		(rc = get_status(ctx, file, "status",
						 &r->file_status)) != ZCRM_PARSE_OK ||
		(rc = zcrm_json_get_count(ctx, file, "added_count",
								  &r->has_added_count,
								  &r->added_count)) != ZCRM_PARSE_OK ||
		(rc = zcrm_json_get_count(ctx, file, "updated_count",
								  &r->has_updated_count,
								  &r->updated_count)) != ZCRM_PARSE_OK ||
		(rc = zcrm_json_get_count(ctx, file, "skipped_count",
								  &r->has_skipped_count,
								  &r->skipped_count)) != ZCRM_PARSE_OK ||
		(rc = zcrm_json_get_count(ctx, file, "total_count",
								  &r->has_total_count,
								  &r->total_count)) != ZCRM_PARSE_OK)
	{
		zcrm_json_path_pop(ctx, saved);
		return rc;
	}
	zcrm_json_path_pop(ctx, saved);
	return ZCRM_PARSE_OK;
}

/* zcrm_json_parse_elements() callback for one field mapping. */
static ZcrmParseStatus
fill_mapping(ZcrmJsonCtx *ctx, const cJSON *obj, void *elem)
{
	return parse_mapping(ctx, obj, (ZcrmFieldMapping *) elem);
}

/* zcrm_json_parse_elements() callback for one resource. */
static ZcrmParseStatus
fill_resource(ZcrmJsonCtx *ctx, const cJSON *obj, void *elem)
{
	ZcrmResource *r = (ZcrmResource *) elem;
	cJSON	   *arr;
	size_t		count;
	void	   *mappings;
	ZcrmParseStatus rc;

	if ((rc = zcrm_json_get_string(ctx, obj, "type",
								   &r->type)) != ZCRM_PARSE_OK ||
		(rc = parse_resource_module(ctx, obj, r)) != ZCRM_PARSE_OK ||
		(rc = get_status(ctx, obj, "status", &r->status)) != ZCRM_PARSE_OK ||
		(rc = zcrm_json_get_string(ctx, obj, "code",
								   &r->code)) != ZCRM_PARSE_OK ||
		(rc = parse_resource_file(ctx, obj, r)) != ZCRM_PARSE_OK ||
		(rc = zcrm_json_get_array(ctx, obj, "field_mappings", &arr,
								  &count)) != ZCRM_PARSE_OK)
		return rc;
	rc = zcrm_json_parse_elements(ctx, "field_mappings", arr, count,
								  sizeof(ZcrmFieldMapping), &mappings,
								  fill_mapping);
	r->mappings = mappings;
	r->nmappings = (int) count;
	return rc;
}

/* Fill *job from the top-level object root. */
static ZcrmParseStatus
fill_job(ZcrmJsonCtx *ctx, const cJSON *root, ZcrmJob *job)
{
	cJSON	   *created_by;
	cJSON	   *callback;
	cJSON	   *result;
	cJSON	   *arr;
	size_t		count;
	size_t		saved;
	void	   *resources;
	ZcrmParseStatus rc;

	if ((rc = zcrm_json_get_id(ctx, root, "id", &job->id)) != ZCRM_PARSE_OK ||
		(rc = get_status(ctx, root, "status",
						 &job->status)) != ZCRM_PARSE_OK ||
		(rc = zcrm_json_get_string(ctx, root, "operation",
								   &job->operation)) != ZCRM_PARSE_OK ||
		(rc = zcrm_json_get_bool(ctx, root, "ignore_empty",
								 &job->has_ignore_empty,
								 &job->ignore_empty)) != ZCRM_PARSE_OK ||
		(rc = zcrm_json_get_string(ctx, root, "character_encoding",
								   &job->character_encoding)) != ZCRM_PARSE_OK ||
		(rc = get_timestamp(ctx, root, "created_time",
							&job->created_time)) != ZCRM_PARSE_OK ||
		(rc = zcrm_json_get_object(ctx, root, "created_by",
								   &created_by)) != ZCRM_PARSE_OK ||
		(rc = zcrm_json_get_object(ctx, root, "callback",
								   &callback)) != ZCRM_PARSE_OK ||
		(rc = zcrm_json_get_object(ctx, root, "result",
								   &result)) != ZCRM_PARSE_OK)
		return rc;

	saved = zcrm_json_path_push_key(ctx, "created_by");
	if ((rc = zcrm_json_get_id(ctx, created_by, "id",
							   &job->created_by_id)) == ZCRM_PARSE_OK)
		rc = zcrm_json_get_string(ctx, created_by, "name",
								  &job->created_by_name);
	zcrm_json_path_pop(ctx, saved);
	if (rc != ZCRM_PARSE_OK)
		return rc;

	saved = zcrm_json_path_push_key(ctx, "callback");
	if ((rc = zcrm_json_get_string(ctx, callback, "url",
								   &job->callback_url)) == ZCRM_PARSE_OK)
		rc = zcrm_json_get_string(ctx, callback, "method",
								  &job->callback_method);
	zcrm_json_path_pop(ctx, saved);
	if (rc != ZCRM_PARSE_OK)
		return rc;

	saved = zcrm_json_path_push_key(ctx, "result");
	rc = zcrm_json_get_string(ctx, result, "download_url", &job->download_url);
	zcrm_json_path_pop(ctx, saved);
	if (rc != ZCRM_PARSE_OK)
		return rc;

	if ((rc = zcrm_json_get_array(ctx, root, "resource", &arr,
								  &count)) != ZCRM_PARSE_OK)
		return rc;
	rc = zcrm_json_parse_elements(ctx, "resource", arr, count,
								  sizeof(ZcrmResource), &resources,
								  fill_resource);
	job->resources = resources;
	job->nresources = (int) count;
	return rc;
}


/* ----------------------------------------------------------------
 * The driver and the entry points
 * ----------------------------------------------------------------
 */

/*
 * DocumentKind
 *	  What parse_document() needs to know about one kind of document.
 *
 * "build" allocates the result struct from ctx->arena, points *result at
 * it as soon as it exists, and fills it from the top-level object; on
 * failure it returns the status with ctx->err filled, and the driver frees
 * whatever was allocated.  A kind without "build" only checks the body.
 */
typedef struct DocumentKind
{
	bool		refuse_api_error;	/* a Zoho error object is API_ERROR */
	ZcrmParseStatus (*build) (ZcrmJsonCtx *ctx, const cJSON *root,
							  void **result);
	size_t		internal_offset;	/* offsetof(result type, internal) */
} DocumentKind;

/*
 * parse_document
 *	  The one driver behind every entry point of parse.h.
 *
 * Loads body[0..len) with cJSON allocating from the tree arena
 * (zcrm_json_tree_begin), requires a top-level object, refuses a Zoho
 * error object when the kind says so, and runs kind->build.  On
 * ZCRM_PARSE_OK with "out" not NULL, *out is the result, which owns its
 * arena through its "internal" field; in every other case nothing is kept
 * and *out (when "out" is not NULL) is NULL.  "err" may be NULL; otherwise it is cleared
 * first and filled on failure.  The tree is released before returning,
 * whatever the outcome.
 */
static ZcrmParseStatus
parse_document(const char *body, size_t len, const DocumentKind *kind,
			   void **out, ZcrmParseError *err)
{
	ZcrmParseError localerr;
	ZcrmJsonCtx ctx;
	cJSON	   *root;
	void	   *result = NULL;
	ZcrmParseStatus rc;

	if (err == NULL)
		err = &localerr;
	zcrm_json_clear_error(err);
	if (out != NULL)
		*out = NULL;

	zcrm_json_tree_begin();
	rc = zcrm_json_load_object(body, len, &root, err);
	if (rc == ZCRM_PARSE_OK && kind->refuse_api_error &&
		is_api_error_object(root))
		rc = zcrm_json_set_error(err, ZCRM_PARSE_API_ERROR, NULL,
								 "the body is a Zoho error object");
	if (rc == ZCRM_PARSE_OK && kind->build != NULL)
	{
		memset(&ctx, 0, sizeof(ctx));
		ctx.err = err;
		ctx.body = body;
		ctx.len = len;
		ctx.root = root;
		rc = kind->build(&ctx, root, &result);
		if (rc == ZCRM_PARSE_OK && out != NULL)
		{
			*(void **) ((char *) result + kind->internal_offset) = ctx.arena;
			*out = result;
		}
		else
			zcrm_arena_free(ctx.arena);
	}
	zcrm_json_tree_end();
	return rc;
}

/* DocumentKind.build for a job-details body. */
static ZcrmParseStatus
build_job(ZcrmJsonCtx *ctx, const cJSON *root, void **result)
{
	ZcrmJob    *job = zcrm_arena_alloc0(&ctx->arena, sizeof(ZcrmJob));

	if (job == NULL)
		return zcrm_json_oom_error(ctx);
	*result = job;
	return fill_job(ctx, root, job);
}

/*
 * build_api_error
 *	  DocumentKind.build for a Zoho error body.  "code" must be a string
 *	  (it is checked before anything is allocated); a "message" that is not
 *	  a string is ignored; a null "details" counts as missing.
 */
static ZcrmParseStatus
build_api_error(ZcrmJsonCtx *ctx, const cJSON *root, void **result)
{
	cJSON	   *code = cJSON_GetObjectItemCaseSensitive(root, "code");
	cJSON	   *message = zcrm_json_get_member(root, "message");
	ZcrmApiError *apierr;
	ZcrmParseStatus rc;

	if (code == NULL || !cJSON_IsString(code))
		return zcrm_json_shape_error(ctx, "code",
									 "expected a string, found %s",
									 zcrm_json_type_name(code));
	if ((apierr = zcrm_arena_alloc0(&ctx->arena,
									sizeof(ZcrmApiError))) == NULL)
		return zcrm_json_oom_error(ctx);
	*result = apierr;
	if ((rc = zcrm_json_get_string(ctx, root, "code",
								   &apierr->code)) != ZCRM_PARSE_OK)
		return rc;
	if (message != NULL && cJSON_IsString(message) &&
		(rc = zcrm_json_get_string(ctx, root, "message",
								   &apierr->message)) != ZCRM_PARSE_OK)
		return rc;
	return zcrm_json_get_json_text(ctx, root, "details", false,
								   &apierr->details);
}

/*
 * build_token_reply
 *	  DocumentKind.build for a token reply.  A string "error" makes a
 *	  complete reply on its own; otherwise "access_token" must be a string.
 *	  expires_in_sec, when present, wins over expires_in (which Zoho then
 *	  sends in milliseconds); both must be positive integers of at most ten
 *	  years.
 */
static ZcrmParseStatus
build_token_reply(ZcrmJsonCtx *ctx, const cJSON *root, void **result)
{
	const double max_seconds = 10.0 * 366 * 24 * 3600;
	ZcrmTokenReply *reply;
	cJSON	   *token;
	ZcrmParseStatus rc;
	bool		has_sec = false;
	int64_t		sec = 0;

	if ((reply = zcrm_arena_alloc0(&ctx->arena,
								   sizeof(ZcrmTokenReply))) == NULL)
		return zcrm_json_oom_error(ctx);
	*result = reply;
	if ((rc = zcrm_json_get_string(ctx, root, "error",
								   &reply->error)) != ZCRM_PARSE_OK ||
		(rc = zcrm_json_get_string(ctx, root, "error_description",
								   &reply->error_description)) != ZCRM_PARSE_OK ||
		reply->error != NULL)
		return rc;

	if ((rc = zcrm_json_get_string(ctx, root, "access_token",
								   &reply->access_token)) != ZCRM_PARSE_OK)
		return rc;
	if (reply->access_token == NULL)
	{
		token = zcrm_json_get_member(root, "access_token");
		return zcrm_json_shape_error(ctx, "access_token",
									 "expected a string, found %s",
									 zcrm_json_type_name(token));
	}
	if ((rc = zcrm_json_get_string(ctx, root, "api_domain",
								   &reply->api_domain)) != ZCRM_PARSE_OK ||
		(rc = zcrm_json_get_integer(ctx, root, "expires_in_sec", 1,
									max_seconds, &has_sec,
									&sec)) != ZCRM_PARSE_OK)
		return rc;
	if (has_sec)
	{
		reply->has_expires_in = true;
		reply->expires_in = sec;
		return ZCRM_PARSE_OK;
	}
	return zcrm_json_get_integer(ctx, root, "expires_in", 1, max_seconds,
								 &reply->has_expires_in, &reply->expires_in);
}

/* DocumentKind.build for the org document. */
static ZcrmParseStatus
build_org_reply(ZcrmJsonCtx *ctx, const cJSON *root, void **result)
{
	ZcrmOrgReply *reply;
	cJSON	   *arr;
	cJSON	   *first;
	size_t		count;
	size_t		saved;
	ZcrmParseStatus rc;

	if ((reply = zcrm_arena_alloc0(&ctx->arena, sizeof(ZcrmOrgReply))) == NULL)
		return zcrm_json_oom_error(ctx);
	*result = reply;
	if ((rc = zcrm_json_get_array(ctx, root, "org", &arr, &count)) != ZCRM_PARSE_OK)
		return rc;
	if (arr == NULL || count == 0)
		return zcrm_json_shape_error(ctx, "org", "expected a non-empty array");
	first = cJSON_GetArrayItem(arr, 0);
	saved = zcrm_json_path_push_key(ctx, "org[0]");
	if (!cJSON_IsObject(first))
		rc = zcrm_json_shape_error(ctx, NULL, "expected an object, found %s",
								   zcrm_json_type_name(first));
	else if ((rc = zcrm_json_get_exact_id(ctx, first, "zgid",
										  &reply->zgid)) == ZCRM_PARSE_OK &&
			 (reply->zgid == NULL ||
			  strspn(reply->zgid, "0123456789") != strlen(reply->zgid)))
		rc = zcrm_json_shape_error(ctx, "zgid", "expected an organisation id of digits");
	zcrm_json_path_pop(ctx, saved);
	return rc;
}

/*
 * build_write_reply
 *	  The upload and create replies: "status" must be "success" (another
 *	  status with a string code is the API's refusal), and details.<key>
 *	  an exact id.
 */
static ZcrmParseStatus
build_write_reply(ZcrmJsonCtx *ctx, const cJSON *root, void **result,
				  const char *key)
{
	ZcrmWriteReply *reply;
	const char *status;
	cJSON	   *details;
	size_t		saved;
	ZcrmParseStatus rc;

	if ((reply = zcrm_arena_alloc0(&ctx->arena, sizeof(ZcrmWriteReply))) == NULL)
		return zcrm_json_oom_error(ctx);
	*result = reply;
	if ((rc = zcrm_json_get_string(ctx, root, "status", &status)) != ZCRM_PARSE_OK ||
		(rc = zcrm_json_get_string(ctx, root, "code", &reply->code)) != ZCRM_PARSE_OK)
		return rc;
	if (status == NULL || strcmp(status, "success") != 0)
	{
		if (reply->code != NULL)
			return zcrm_json_set_error(ctx->err, ZCRM_PARSE_API_ERROR, "status",
									   "the body is a Zoho error object");
		return zcrm_json_shape_error(ctx, "status", "expected \"success\"");
	}
	if ((rc = zcrm_json_get_object(ctx, root, "details", &details)) != ZCRM_PARSE_OK)
		return rc;
	saved = zcrm_json_path_push_key(ctx, "details");
	rc = zcrm_json_get_exact_id(ctx, details, key, &reply->id);
	if (rc == ZCRM_PARSE_OK && reply->id == NULL)
		rc = zcrm_json_shape_error(ctx, key, "expected an id, found nothing");
	zcrm_json_path_pop(ctx, saved);
	return rc;
}

static ZcrmParseStatus
build_upload_reply(ZcrmJsonCtx *ctx, const cJSON *root, void **result)
{
	return build_write_reply(ctx, root, result, "file_id");
}

static ZcrmParseStatus
build_create_reply(ZcrmJsonCtx *ctx, const cJSON *root, void **result)
{
	return build_write_reply(ctx, root, result, "id");
}

static const DocumentKind org_document = {
	true, build_org_reply, offsetof(ZcrmOrgReply, internal)
};
static const DocumentKind upload_document = {
	true, build_upload_reply, offsetof(ZcrmWriteReply, internal)
};
static const DocumentKind create_document = {
	true, build_create_reply, offsetof(ZcrmWriteReply, internal)
};
static const DocumentKind job_document = {
	true, build_job, offsetof(ZcrmJob, internal)
};
static const DocumentKind api_error_document = {
	false, build_api_error, offsetof(ZcrmApiError, internal)
};
static const DocumentKind token_reply_document = {
	false, build_token_reply, offsetof(ZcrmTokenReply, internal)
};
static const DocumentKind checked_document = {true, NULL, 0};

/*
 * zcrm_parse_job / zcrm_parse_api_error / zcrm_parse_token_reply /
 * zcrm_check_document
 *	  The entry points of parse.h: parse_document() with their kind.
 */
ZcrmParseStatus
zcrm_parse_job(const char *body, size_t len, ZcrmJob **job,
			   ZcrmParseError *err)
{
	void	   *result;
	ZcrmParseStatus rc;

	rc = parse_document(body, len, &job_document, job ? &result : NULL, err);
	if (job != NULL)
		*job = result;
	return rc;
}

ZcrmParseStatus
zcrm_parse_api_error(const char *body, size_t len, ZcrmApiError **out,
					 ZcrmParseError *err)
{
	void	   *result;
	ZcrmParseStatus rc;

	rc = parse_document(body, len, &api_error_document, out ? &result : NULL,
						err);
	if (out != NULL)
		*out = result;
	return rc;
}

ZcrmParseStatus
zcrm_parse_token_reply(const char *body, size_t len, ZcrmTokenReply **out,
					   ZcrmParseError *err)
{
	void	   *result;
	ZcrmParseStatus rc;

	rc = parse_document(body, len, &token_reply_document,
						out ? &result : NULL, err);
	if (out != NULL)
		*out = result;
	return rc;
}

ZcrmParseStatus
zcrm_parse_org_reply(const char *body, size_t len, ZcrmOrgReply **out,
					 ZcrmParseError *err)
{
	void	   *result;
	ZcrmParseStatus rc;

	rc = parse_document(body, len, &org_document, out ? &result : NULL, err);
	if (out != NULL)
		*out = result;
	return rc;
}

ZcrmParseStatus
zcrm_parse_upload_reply(const char *body, size_t len, ZcrmWriteReply **out,
						ZcrmParseError *err)
{
	void	   *result;
	ZcrmParseStatus rc;

	rc = parse_document(body, len, &upload_document, out ? &result : NULL, err);
	if (out != NULL)
		*out = result;
	return rc;
}

ZcrmParseStatus
zcrm_parse_create_reply(const char *body, size_t len, ZcrmWriteReply **out,
						ZcrmParseError *err)
{
	void	   *result;
	ZcrmParseStatus rc;

	rc = parse_document(body, len, &create_document, out ? &result : NULL, err);
	if (out != NULL)
		*out = result;
	return rc;
}

ZcrmParseStatus
zcrm_check_document(const char *body, size_t len, ZcrmParseError *err)
{
	return parse_document(body, len, &checked_document, NULL, err);
}

/*
 * zcrm_org_reply_free / zcrm_write_reply_free
 *	  Release a reply and everything it owns; NULL is allowed.
 */
void
zcrm_org_reply_free(ZcrmOrgReply *reply)
{
	if (reply != NULL)
		zcrm_arena_free(reply->internal);
}

void
zcrm_write_reply_free(ZcrmWriteReply *reply)
{
	if (reply != NULL)
		zcrm_arena_free(reply->internal);
}

/*
 * zcrm_job_free
 *	  Release a job and everything it owns; NULL is allowed.
 */
void
zcrm_job_free(ZcrmJob *job)
{
	if (job != NULL)
		zcrm_arena_free(job->internal);
}

/*
 * zcrm_api_error_free
 *	  Release an API error and everything it owns; NULL is allowed.
 */
void
zcrm_api_error_free(ZcrmApiError *apierr)
{
	if (apierr != NULL)
		zcrm_arena_free(apierr->internal);
}

/*
 * zcrm_token_reply_free
 *	  Release a token reply and everything it owns; NULL is allowed.
 */
void
zcrm_token_reply_free(ZcrmTokenReply *reply)
{
	if (reply != NULL)
		zcrm_arena_free(reply->internal);
}
