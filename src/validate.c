/*-------------------------------------------------------------------------
 *
 * validate.c
 *	  The input rules of zcrm_bulk, each written once.
 *
 * Three rules, used by every caller:
 *
 *	- a job id is 1 to 32 ASCII digits (zcrm_bad_job_id): the job
 *	  functions, the batch functions' job_ids, and, through the SQL
 *	  function zcrm_valid_job_id(), zcrm_track_job() and the CHECK of
 *	  zcrm_tracked_job.job_id;
 *	- an access token passed from SQL is an RFC 6750 b64token of 1 to 4096
 *	  characters (zcrm_check_access_token);
 *	- an access token in a token reply, and a client id, client secret or
 *	  refresh token of a user mapping, is 1 to N visible ASCII characters
 *	  (zcrm_visible_ascii: N is 4096 for a token, 1024 for a credential).
 *
 * The two token rules differ on purpose.  A token from SQL is whatever a
 * caller typed or pasted, and is checked strictly, against the grammar of
 * the Authorization header's credentials (RFC 6750 section 2.1), with a
 * detail that says which character is wrong; Zoho's tokens ("1000.<hex>.
 * <hex>") keep it.  A token from a reply comes from the accounts server,
 * and a stricter rule there would only turn a token Zoho might issue in
 * another spelling into a failure of every call through the connection,
 * with nothing the caller could do about it: it is held to what a header
 * line can carry safely (no space, no control character, no byte outside
 * ASCII, so no header injection), as are the credentials that go into the
 * token request's form.
 *
 * Where the rules live: not in zoho.c, although a job id's shape is Zoho's,
 * because connections.c and oauth.c, which zoho.c calls, need them too, and
 * so does the SQL of the extension; validate.c depends on errors.h alone.
 *
 * Copyright (c) 2026, zcrm_bulk developers
 *
 * IDENTIFICATION
 *	  src/validate.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "fmgr.h"
#include "utils/builtins.h"

#include "errors.h"
#include "validate.h"

PG_FUNCTION_INFO_V1(zcrm_valid_job_id);

/*
 * zcrm_bad_job_id
 *		See validate.h.  The first character that is not a digit is named
 *		before a wrong length.
 */
bool
zcrm_bad_job_id(const char *job_id, ZcrmError *err)
{
	size_t		len = strlen(job_id);
	size_t		bad = len;
	char	   *detail;

	for (size_t i = 0; i < len && bad == len; i++)
	{
		if (job_id[i] < '0' || job_id[i] > '9')
			bad = i;
	}
	if (bad == len && len > 0 && len <= ZCRM_MAX_JOB_ID_LEN)
		return false;
	if (err == NULL)
		return true;

	if (bad < len)
		detail = psprintf("A job id consists of ASCII digits only; character %zu is not one.", bad + 1);
	else
		detail = psprintf("A job id has 1 to %d digits; this one has %zu.",
						  ZCRM_MAX_JOB_ID_LEN, len);
	memset(err, 0, sizeof(*err));
	err->sqlstate = ERRCODE_INVALID_PARAMETER_VALUE;
	err->message = "invalid bulk write job id";
	err->detail = detail;
	err->hint = "Pass the id exactly as Zoho returned it, for example '4150868000005392002'.";
	return true;
}

/*
 * zcrm_check_job_id
 *		See validate.h.
 */
void
zcrm_check_job_id(const char *job_id)
{
	ZcrmError	err;

	if (zcrm_bad_job_id(job_id, &err))
		zcrm_raise_error(&err);
}

/*
 * zcrm_valid_job_id(job_id text) RETURNS boolean
 *		The job id rule for SQL: IMMUTABLE, STRICT and PARALLEL SAFE, so
 *		that it can serve in a CHECK constraint.  It runs no SQL, so no
 *		search_path can change what it does.
 */
Datum
zcrm_valid_job_id(PG_FUNCTION_ARGS)
{
	char	   *job_id = text_to_cstring(PG_GETARG_TEXT_PP(0));
	bool		valid = !zcrm_bad_job_id(job_id, NULL);

	pfree(job_id);
	PG_RETURN_BOOL(valid);
}

/*
 * zcrm_check_access_token
 *		See validate.h: letters, digits and - . _ ~ + / with optional
 *		trailing '=' padding.  This keeps control characters and spaces
 *		(header injection) out of the request.
 */
void
zcrm_check_access_token(const char *token)
{
	size_t		len = strlen(token);
	size_t		i = 0;

	if (len == 0 || len > ZCRM_MAX_TOKEN_LEN)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("invalid access token"),
				 errdetail("An access token has 1 to %d characters; this one has %zu.",
						   ZCRM_MAX_TOKEN_LEN, len),
				 errhint("Pass the access_token value of a Zoho OAuth token response.")));

	while (i < len && ((token[i] >= 'A' && token[i] <= 'Z') ||
					   (token[i] >= 'a' && token[i] <= 'z') ||
					   (token[i] >= '0' && token[i] <= '9') ||
					   strchr("-._~+/", token[i]) != NULL))
		i++;
	while (i < len && token[i] == '=')
		i++;
	if (i < len)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("invalid access token"),
				 errdetail("An access token may contain only ASCII letters, digits and the characters - . _ ~ + / followed by optional = padding; character %zu is not allowed.", i + 1),
				 errhint("Pass the access_token value of a Zoho OAuth token response.")));
}

/*
 * zcrm_is_org_id
 *		See validate.h.
 */
bool
zcrm_is_org_id(const char *value)
{
	size_t		len = strlen(value);

	return len > 0 && len <= ZCRM_MAX_ORG_ID_LEN &&
		strspn(value, "0123456789") == len;
}

/*
 * zcrm_visible_ascii
 *		See validate.h.
 */
bool
zcrm_visible_ascii(const char *value, size_t max_len)
{
	size_t		len = strlen(value);

	for (size_t i = 0; i < len; i++)
	{
		unsigned char c = (unsigned char) value[i];

		if (c <= ' ' || c > '~')
			return false;
	}
	return len > 0 && len <= max_len;
}
