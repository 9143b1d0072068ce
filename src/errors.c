/*-------------------------------------------------------------------------
 *
 * errors.c
 *	  Map Zoho CRM API errors, transport failures and malformed responses
 *	  to SQL errors with meaningful SQLSTATEs.
 *
 * The table api_codes is the single place where an API error code gets its
 * SQLSTATE and hint.  When a response carries no code we know, the HTTP
 * status decides (http_status_sqlstate).  Text that came from the server
 * (the API's message and details, or the start of a non-JSON body) is
 * reported only after scrub_text() has removed every copy of every secret
 * of the call from it (in any encoding scrub.c finds), and only then cut it
 * to a sane length and made it safe for the database encoding.
 *
 * Copyright (c) 2026, zcrm_bulk developers
 *
 * IDENTIFICATION
 *	  src/errors.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "lib/stringinfo.h"
#include "mb/pg_wchar.h"
#include "miscadmin.h"
#include "utils/builtins.h"
#include "utils/elog.h"

#include "errors.h"
#include "parse.h"
#include "scrub.h"
#include "settings.h"

/* How much server-provided text an error may quote. */
#define ZCRM_MAX_QUOTED_TEXT	512
#define ZCRM_MAX_BODY_SNIPPET	120

typedef struct ZcrmApiCode
{
	const char *code;
	int			sqlstate;
	const char *hint;
} ZcrmApiCode;

static const ZcrmApiCode api_codes[] = {
	{"AUTHENTICATION_FAILURE", ERRCODE_INVALID_AUTHORIZATION_SPECIFICATION,
	"Pass a valid Zoho OAuth access token; access tokens expire one hour after they are issued."},
	{"INVALID_TOKEN", ERRCODE_INVALID_AUTHORIZATION_SPECIFICATION,
	"The access token is invalid or has expired: generate a new one from the refresh token and pass that."},
	{"OAUTH_SCOPE_MISMATCH", ERRCODE_INSUFFICIENT_PRIVILEGE,
	"Generate the access token with the scope ZohoCRM.bulk.CREATE or ZohoCRM.bulk.ALL."},
	{"NO_PERMISSION", ERRCODE_INSUFFICIENT_PRIVILEGE,
	"Ask the Zoho CRM administrator to give the token's user the permission named in the details."},
	{"AUTHORIZATION_FAILED", ERRCODE_INSUFFICIENT_PRIVILEGE,
	"Use a token of a Zoho CRM user who has the privilege to read this bulk write job."},
	{"RESOURCE_NOT_FOUND", ERRCODE_NO_DATA_FOUND,
	"Check the job id, and that zcrm_bulk.api_domain is the data centre of the organisation the token belongs to."},
	{"INVALID_URL_PATTERN", ERRCODE_INVALID_PARAMETER_VALUE,
	"Check zcrm_bulk.api_domain and zcrm_bulk.api_version."},
	{"INVALID_REQUEST_METHOD", ERRCODE_INVALID_PARAMETER_VALUE,
	"Check zcrm_bulk.api_domain: a proxy or gateway in between may have changed the request."},
	{"TOO_MANY_REQUESTS", ERRCODE_CONFIGURATION_LIMIT_EXCEEDED,
	"Wait before calling again, and poll less often or with fewer concurrent sessions."},
	{"INTERNAL_ERROR", ERRCODE_SYSTEM_ERROR,
	"This is a fault on Zoho's side: retry later."},
	/* 2.1: the upload and create calls */
	{"INVALID_FILE_FORMAT", ERRCODE_INVALID_PARAMETER_VALUE,
	"Upload a zip archive that holds the CSV file, with a header row of field API names."},
	{"MISSING_REQUIRED_KEY", ERRCODE_INVALID_PARAMETER_VALUE,
	"Pass the key the message names: find_by for update and upsert, an api_name and an index in every field mapping."},
	{"COLUMN_INDEX_NOT_FOUND", ERRCODE_INVALID_PARAMETER_VALUE,
	"Give every field mapping without a default_value the 0-based index of a column of the CSV."},
	{"INVALID_FIELD", ERRCODE_INVALID_PARAMETER_VALUE,
	"Name the field by its API name, exactly as the CSV header row names it."},
	{"MODULE_NOT_AVAILABLE", ERRCODE_INVALID_PARAMETER_VALUE,
	"Name the module by its API name (Leads, Contacts, ...), one that the token's user can access."},
	{"MANDATORY_FIELDS_NOT_MAPPED", ERRCODE_INVALID_PARAMETER_VALUE,
	"Add a column, or a mapping with a default_value, for every mandatory field the details name."},
	{"INVALID_FILE_ID", ERRCODE_INVALID_PARAMETER_VALUE,
	"Create the job with the file id the upload returned, in the organisation it was uploaded to; upload the file again if it has expired."},
	{"FILE_TOO_LARGE", ERRCODE_PROGRAM_LIMIT_EXCEEDED,
	"Split the rows into smaller parts: Zoho takes at most 25 MB of zip per upload."},
	{"HEADER_LIMIT_EXCEEDED", ERRCODE_PROGRAM_LIMIT_EXCEEDED,
	"Send at most 200 columns per job: leave out the columns that are not needed."},
};

/*
 * find_api_code
 *		The table entry for an API error code, or NULL when it is unknown.
 */
static const ZcrmApiCode *
find_api_code(const char *code)
{
	for (int i = 0; i < lengthof(api_codes); i++)
	{
		if (strcmp(api_codes[i].code, code) == 0)
			return &api_codes[i];
	}
	return NULL;
}

/*
 * http_status_sqlstate
 *		SQLSTATE for a failed response that carries no known API code, and
 *		the hint to go with it.
 */
static int
http_status_sqlstate(long status, const char **hint)
{
	if (status == 401)
	{
		*hint = api_codes[0].hint;
		return ERRCODE_INVALID_AUTHORIZATION_SPECIFICATION;
	}
	if (status == 403)
	{
		*hint = "Check that the token's user may use the Bulk Write API.";
		return ERRCODE_INSUFFICIENT_PRIVILEGE;
	}
	if (status == 429)
	{
		*hint = find_api_code("TOO_MANY_REQUESTS")->hint;
		return ERRCODE_CONFIGURATION_LIMIT_EXCEEDED;
	}
	if (status >= 500)
	{
		*hint = "The server or a proxy in front of it failed: retry later.";
		return ERRCODE_SYSTEM_ERROR;
	}
	if (status >= 400)
	{
		*hint = "Check the job id, zcrm_bulk.api_domain and zcrm_bulk.api_version.";
		return ERRCODE_INVALID_PARAMETER_VALUE;
	}
	if (status >= 300)
	{
		*hint = "Set zcrm_bulk.api_domain to the API domain of the organisation's data centre; redirects are never followed.";
		return ERRCODE_PROTOCOL_VIOLATION;
	}
	*hint = "The server reported an error in a successful response: retry later.";
	return ERRCODE_SYSTEM_ERROR;
}

/*
 * scrub_text
 *		Return a palloc'd copy of "len" bytes of server-provided text that is
 *		safe to put in an error report: every copy of every secret of
 *		"secrets" (NULL-terminated), in any encoding scrub.c knows, is
 *		replaced by "[redacted]" first, over the whole text, and only then
 *		are at most "maxlen" bytes kept, cut on a character boundary, so no
 *		part of a secret survives the cut.  Should scrub.c run out of memory,
 *		the whole text is redacted.  Control characters become spaces.
 *		Bytes that are not printable ASCII are kept only when "utf8_ok" says
 *		the input is known-valid UTF-8 and the database encoding is UTF-8;
 *		otherwise they become '?'.
 */
static char *
scrub_text(const char *str, size_t len, const char *const *secrets,
		   size_t maxlen, bool utf8_ok)
{
	StringInfoData out;
	bool		keep_utf8 = utf8_ok && GetDatabaseEncoding() == PG_UTF8;
	ZcrmSpan   *found;
	ZcrmSpan   *spans = NULL;
	size_t		nspans;
	size_t		next = 0;		/* the next span not yet passed */
	size_t		i;

	if (!zcrm_find_secrets(str, len, secrets, &found, &nspans))
		return pstrdup("[redacted]");
	/* palloc'd at once, so that an error raised below leaks nothing */
	if (nspans > 0)
	{
		spans = palloc_extended(nspans * sizeof(ZcrmSpan),
								MCXT_ALLOC_HUGE | MCXT_ALLOC_NO_OOM);
		if (spans != NULL)
			memcpy(spans, found, nspans * sizeof(ZcrmSpan));
		free(found);
		if (spans == NULL)
			return pstrdup("[redacted]");
	}

	initStringInfo(&out);
	for (i = 0; i < len;)
	{
		unsigned char c = (unsigned char) str[i];
		size_t		stop = next < nspans ? spans[next].start : len;
		int			clen = 1;

		if (next < nspans && i == spans[next].start)
		{
			if (out.len + strlen("[redacted]") > maxlen)
			{
				appendStringInfoString(&out, "...");
				break;
			}
			appendStringInfoString(&out, "[redacted]");
			i = spans[next++].end;
			continue;
		}
		if (c >= 0x80 && keep_utf8)
		{
			clen = pg_utf_mblen((const unsigned char *) &str[i]);
			if (i + clen > stop)
				clen = 1;
		}
		if (out.len + clen > maxlen)
		{
			appendStringInfoString(&out, "...");
			break;
		}
		if (c < 0x20 || c == 0x7f)
			appendStringInfoChar(&out, ' ');
		else if (c >= 0x80 && (!keep_utf8 || clen == 1))
			appendStringInfoChar(&out, '?');
		else
			appendBinaryStringInfo(&out, &str[i], clen);
		i += clen;
	}
	if (spans)
		pfree(spans);
	return out.data;
}

/*
 * copy_api_error
 *		Copy the code, message and details of a parsed API error into
 *		scrubbed palloc'd strings (message and details stay NULL when the
 *		body had none) and look its code up in api_codes.  The parse is
 *		freed in every case, also when copying raises an error.
 */
static void
copy_api_error(ZcrmApiError *apierr, const char *const *secrets,
			   const ZcrmApiCode **known, char **code, char **message,
			   char **details)
{
	PG_TRY();
	{
		*known = find_api_code(apierr->code);
		*code = scrub_text(apierr->code, strlen(apierr->code), secrets, 64, true);
		if (apierr->message)
			*message = scrub_text(apierr->message, strlen(apierr->message),
								  secrets, ZCRM_MAX_QUOTED_TEXT, true);
		if (apierr->details)
			*details = scrub_text(apierr->details, strlen(apierr->details),
								  secrets, ZCRM_MAX_QUOTED_TEXT, true);
	}
	PG_FINALLY();
	{
		zcrm_api_error_free(apierr);
	}
	PG_END_TRY();
}

/*
 * set_error
 *		Fill *err.  "message" and "detail" are palloc'd (detail may be NULL),
 *		"hint" is a constant or palloc'd string (may be NULL).
 */
static void
set_error(ZcrmError *err, int sqlstate, char *message, char *detail,
		  const char *hint)
{
	err->sqlstate = sqlstate;
	err->message = message;
	err->detail = detail;
	err->hint = hint ? pstrdup(hint) : NULL;
}

/*
 * zcrm_describe_http_error
 *		See errors.h.  The message names the API code and the API's own
 *		message; the detail gives the HTTP status, the job id and the
 *		details object; the hint says what to do.
 */
void
zcrm_describe_http_error(long http_status, const char *body, size_t body_len,
						 const char *content_type, const char *job_id,
						 const char *const *secrets, ZcrmError *err)
{
	zcrm_describe_api_reply(http_status, body, body_len, content_type,
							psprintf("bulk write job %s", job_id), secrets, err);
}

/*
 * zcrm_describe_api_reply
 *		See errors.h: zcrm_describe_http_error() for any request, named by
 *		"what".
 */
void
zcrm_describe_api_reply(long http_status, const char *body, size_t body_len,
						const char *content_type, const char *what,
						const char *const *secrets, ZcrmError *err)
{
	ZcrmApiError *apierr = NULL;
	ZcrmParseError perr;
	ZcrmParseStatus st;
	const ZcrmApiCode *known = NULL;
	const char *hint;
	int			sqlstate;
	char	   *code = NULL;
	char	   *message = NULL;
	char	   *details = NULL;
	char	   *snippet = NULL;
	char	   *ctype;

	memset(err, 0, sizeof(*err));
	if (http_status == 204)
	{
		set_error(err, ERRCODE_NO_DATA_FOUND,
				  psprintf("Zoho CRM API returned no content for %s", what),
				  pstrdup("The API answered HTTP status 204 with an empty body."),
				  "Check the job id, and that zcrm_bulk.api_domain is the data centre of the organisation the token belongs to.");
		return;
	}

	do
		st = zcrm_parse_api_error(body, body_len, &apierr, &perr);
	while (zcrm_parse_stopped(st));
	if (st == ZCRM_PARSE_OK)
		copy_api_error(apierr, secrets, &known, &code, &message, &details);
	else if (body_len > 0)
		snippet = scrub_text(body, body_len, secrets, ZCRM_MAX_BODY_SNIPPET, false);

	if (known)
	{
		sqlstate = known->sqlstate;
		hint = known->hint;
	}
	else
		sqlstate = http_status_sqlstate(http_status, &hint);

	if (code)
	{
		set_error(err, sqlstate,
				  message ?
				  psprintf("Zoho CRM API error %s: %s", code, message) :
				  psprintf("Zoho CRM API error %s", code),
				  psprintf("The API answered HTTP status %ld for %s with details %s.",
						   http_status, what, details ? details : "null"),
				  hint);
		err->api_code = code;
		return;
	}

	ctype = content_type ?
		scrub_text(content_type, strlen(content_type), secrets, 100, false) :
		pstrdup("none");
	if (http_status >= 300 && http_status < 400)
		set_error(err, sqlstate,
				  psprintf("Zoho CRM API redirected the request (HTTP status %ld), and redirects are not followed",
						   http_status),
				  psprintf("The request for %s was answered with a redirect instead of %s.",
						   what, strncmp(what, "bulk write job ", 15) == 0 ?
						   "the job" : "the API's answer"),
				  hint);
	else if (snippet)
		set_error(err, sqlstate,
				  psprintf("Zoho CRM API request failed with HTTP status %ld", http_status),
				  psprintf("The response for %s is not a Zoho error object (Content-Type %s, %zu bytes): \"%s\".",
						   what, ctype, body_len, snippet),
				  hint);
	else
		set_error(err, sqlstate,
				  psprintf("Zoho CRM API request failed with HTTP status %ld", http_status),
				  psprintf("The response for %s has an empty body.", what),
				  hint);
}

/*
 * zcrm_parse_stopped
 *		See errors.h.
 */
bool
zcrm_parse_stopped(ZcrmParseStatus st)
{
	if (st != ZCRM_PARSE_INTERRUPTED)
		return false;
	CHECK_FOR_INTERRUPTS();
	return true;
}

/*
 * zcrm_zip_stopped
 *		See errors.h.
 */
bool
zcrm_zip_stopped(ZcrmZipStatus st)
{
	if (st != ZCRM_ZIP_INTERRUPTED)
		return false;
	CHECK_FOR_INTERRUPTS();
	return true;
}

/*
 * zcrm_describe_parse_error
 *		See errors.h.  Invalid JSON is 22032, a JSON value of the wrong shape
 *		or type 22000, a \u0000 escape 22P05 (as jsonb reports it).
 */
void
zcrm_describe_parse_error(const ZcrmParseError *perr, const char *job_id,
						  ZcrmError *err)
{
	zcrm_describe_reply_parse_error(perr, psprintf("bulk write job %s", job_id), err);
}

/*
 * zcrm_describe_reply_parse_error
 *		See errors.h.
 */
void
zcrm_describe_reply_parse_error(const ZcrmParseError *perr, const char *what,
								ZcrmError *err)
{
	const char *where = perr->path[0] ? perr->path : "the top level";

	memset(err, 0, sizeof(*err));
	switch (perr->status)
	{
		case ZCRM_PARSE_NOT_JSON:
			set_error(err, ERRCODE_INVALID_JSON_TEXT,
					  psprintf("Zoho CRM API response for %s is not valid JSON", what),
					  psprintf("The parser reported: %s.", perr->message),
					  "A proxy or gateway between PostgreSQL and Zoho may have answered instead of the API; check zcrm_bulk.api_domain.");
			break;
		case ZCRM_PARSE_NUL_CHAR:
			set_error(err, ERRCODE_UNTRANSLATABLE_CHARACTER,
					  psprintf("Zoho CRM API response for %s contains a \\u0000 escape", what),
					  perr->path[0] ?
					  psprintf("The string at %s contains a NUL character, which text cannot hold.", perr->path) :
					  pstrdup("A string in the response contains a NUL character, which text cannot hold."),
					  "Neither text nor jsonb can hold this value; inspect the job in Zoho CRM itself.");
			break;
		case ZCRM_PARSE_TOO_MANY_VALUES:
			set_error(err, ERRCODE_PROGRAM_LIMIT_EXCEEDED,
					  psprintf("Zoho CRM API response for %s holds too many JSON values", what),
					  psprintf("The document holds more than zcrm_bulk.max_json_values (%d) values; it was not parsed.",
							   zcrm_max_json_values),
					  "A superuser can raise zcrm_bulk.max_json_values; a call may then take up to about 1 kB of memory per value.");
			break;
		case ZCRM_PARSE_NO_MEMORY:
			set_error(err, ERRCODE_OUT_OF_MEMORY,
					  psprintf("out of memory while parsing the Zoho CRM API response for %s", what),
					  NULL, NULL);
			break;
		default:
			set_error(err, ERRCODE_DATA_EXCEPTION,
					  psprintf("unexpected Zoho CRM API response for %s", what),
					  psprintf("At %s: %s.", where, perr->message),
					  "Use zcrm_write_job_json() to see the whole document.");
			break;
	}
}

/*
 * zcrm_describe_transport_error
 *		See errors.h.  Failing to connect is 08001; losing the connection
 *		or running out of time once connected is 08006.
 */
void
zcrm_describe_transport_error(ZcrmTransportFailure kind, const char *reason,
							  const char *what, long limit, int attempts,
							  ZcrmError *err)
{
	const char *why = (reason && reason[0]) ? reason : "no further information";

	if (attempts > 1)
		why = psprintf("%s (the last of %d attempts)", why, attempts);

	memset(err, 0, sizeof(*err));
	switch (kind)
	{
		case ZCRM_FAIL_CONNECT:
			set_error(err, ERRCODE_SQLCLIENT_UNABLE_TO_ESTABLISH_SQLCONNECTION,
					  pstrdup("could not connect to the Zoho CRM API"),
					  psprintf("The request for %s failed: %s.", what, why),
					  "Check zcrm_bulk.api_domain, the network and DNS, and zcrm_bulk.ca_file if the server's certificate is not in the system store.");
			break;
		case ZCRM_FAIL_CONNECT_TIMEOUT:
			set_error(err, ERRCODE_SQLCLIENT_UNABLE_TO_ESTABLISH_SQLCONNECTION,
					  pstrdup("could not connect to the Zoho CRM API"),
					  psprintf("No connection for %s within zcrm_bulk.connect_timeout: %s.", what, why),
					  "Check the network path to zcrm_bulk.api_domain, or raise zcrm_bulk.connect_timeout.");
			break;
		case ZCRM_FAIL_TIMEOUT:
			set_error(err, ERRCODE_CONNECTION_FAILURE,
					  pstrdup("Zoho CRM API request timed out"),
					  psprintf("The request for %s did not complete within zcrm_bulk.timeout: %s.", what, why),
					  "Retry later, or raise zcrm_bulk.timeout.");
			break;
		case ZCRM_FAIL_LOST:
			set_error(err, ERRCODE_CONNECTION_FAILURE,
					  pstrdup("connection to the Zoho CRM API was lost"),
					  psprintf("The response for %s was cut short: %s.", what, why),
					  "Retry the call.");
			break;
		case ZCRM_FAIL_TOO_LARGE:
			set_error(err, ERRCODE_PROGRAM_LIMIT_EXCEEDED,
					  pstrdup("Zoho CRM API response is larger than zcrm_bulk.max_response_size"),
					  psprintf("The response for %s was aborted after %ld bytes.", what, limit),
					  "A superuser can raise zcrm_bulk.max_response_size.");
			break;
		case ZCRM_FAIL_PROTOCOL:
			set_error(err, ERRCODE_PROTOCOL_VIOLATION,
					  pstrdup("Zoho CRM API server sent a malformed HTTP response"),
					  psprintf("The response for %s could not be read: %s.", what, why),
					  "Check zcrm_bulk.api_domain: it may point at something other than the Zoho CRM API.");
			break;
		case ZCRM_FAIL_NO_MEMORY:
			set_error(err, ERRCODE_OUT_OF_MEMORY,
					  pstrdup("out of memory while receiving the Zoho CRM API response"),
					  psprintf("The response for %s could not be stored.", what),
					  NULL);
			break;
		case ZCRM_FAIL_INTERNAL:
			set_error(err, ERRCODE_INTERNAL_ERROR,
					  pstrdup("could not set up the Zoho CRM API request"),
					  psprintf("libcurl reported: %s.", why),
					  NULL);
			break;
	}
}

/*
 * zcrm_raise_error
 *		See errors.h.
 */
void
zcrm_raise_error(const ZcrmError *err)
{
	ereport(ERROR,
			(errcode(err->sqlstate),
			 errmsg_internal("%s", err->message),
			 err->detail ? errdetail_internal("%s", err->detail) : 0,
			 err->hint ? errhint("%s", err->hint) : 0));
	pg_unreachable();
}

/*
 * zcrm_error_add_context
 *		See errors.h.
 */
void
zcrm_error_add_context(ZcrmError *err, const char *sentence)
{
	if (sentence == NULL || sentence[0] == '\0')
		return;
	err->detail = err->detail ? psprintf("%s\n%s", err->detail, sentence) :
		pstrdup(sentence);
}

/*
 * zcrm_raise_error_context
 *		See errors.h.
 */
void
zcrm_raise_error_context(const ZcrmError *err, const char *sentence)
{
	ZcrmError	copy = *err;

	zcrm_error_add_context(&copy, sentence);
	zcrm_raise_error(&copy);
}

/*
 * zcrm_raise_http_error / zcrm_raise_parse_error / zcrm_raise_transport_error
 *		See errors.h: describe, then raise.
 */
void
zcrm_raise_http_error(long http_status, const char *body, size_t body_len,
					  const char *content_type, const char *job_id,
					  const char *const *secrets)
{
	ZcrmError	err;

	zcrm_describe_http_error(http_status, body, body_len, content_type,
							 job_id, secrets, &err);
	zcrm_raise_error(&err);
}

void
zcrm_raise_parse_error(const ZcrmParseError *perr, const char *job_id)
{
	ZcrmError	err;

	zcrm_describe_parse_error(perr, job_id, &err);
	zcrm_raise_error(&err);
}

void
zcrm_raise_transport_error(ZcrmTransportFailure kind, const char *reason,
						   const char *what, long limit, int attempts)
{
	ZcrmError	err;

	zcrm_describe_transport_error(kind, reason, what, limit, attempts, &err);
	zcrm_raise_error(&err);
}

/*
 * zcrm_raise_token_error
 *		See errors.h.  Zoho Accounts answers most errors with HTTP 200 and
 *		an "error" key: "invalid_code" for a refresh token that is wrong or
 *		revoked, "invalid_client" for a wrong client id or secret, and
 *		"Access Denied" (also as an HTML page) once more than ten access
 *		tokens were asked for in ten minutes.
 */
void
zcrm_raise_token_error(const char *connection, long http_status,
					   const char *error, const char *description,
					   const char *body, size_t body_len,
					   const ZcrmParseError *perr,
					   const char *const *secrets)
{
	bool		denied = false;
	char	   *desc;

	/* a token reply parse stopped by an interrupt: raise the interrupt */
	if (perr)
		(void) zcrm_parse_stopped(perr->status);
	desc = description ?
		scrub_text(description, strlen(description), secrets, ZCRM_MAX_QUOTED_TEXT, true) : NULL;

	/* The detail adds its own full stop. */
	while (desc && desc[0] && desc[strlen(desc) - 1] == '.')
		desc[strlen(desc) - 1] = '\0';

	if (error)
		denied = (pg_strcasecmp(error, "Access Denied") == 0);
	else if (body_len > 0)
		denied = (strstr(pnstrdup(body, body_len), "Access Denied") != NULL);

	if (denied)
		ereport(ERROR,
				(errcode(ERRCODE_CONFIGURATION_LIMIT_EXCEEDED),
				 errmsg("Zoho accounts server refused an access token for connection \"%s\": Access Denied",
						connection),
				 errdetail("Zoho issues at most ten access tokens per refresh token in ten minutes and answers \"Access Denied\" beyond that%s%s.",
						   desc ? ": " : "", desc ? desc : ""),
				 errhint("Wait ten minutes; let every job share this connection instead of refreshing the same refresh token elsewhere.")));

	if (error && strcmp(error, "invalid_code") == 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_AUTHORIZATION_SPECIFICATION),
				 errmsg("the refresh token of Zoho CRM connection \"%s\" was rejected", connection),
				 errdetail("The accounts server answered \"invalid_code\": the refresh token is wrong, was revoked, or belongs to another data centre."),
				 errhint("Generate a new refresh token in Zoho's API console and set it with ALTER USER MAPPING ... SERVER %s OPTIONS (SET refresh_token '...').",
						 quote_identifier(connection))));

	if (error && (strcmp(error, "invalid_client") == 0 ||
				  strcmp(error, "invalid_client_secret") == 0))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_AUTHORIZATION_SPECIFICATION),
				 errmsg("the client id or secret of Zoho CRM connection \"%s\" was rejected", connection),
				 errdetail("The accounts server answered \"%s\".",
						   scrub_text(error, strlen(error), secrets, 64, true)),
				 errhint("Check the client id and secret in Zoho's API console and set them with ALTER USER MAPPING ... SERVER %s OPTIONS (SET client_id '...', SET client_secret '...').",
						 quote_identifier(connection))));

	if (error)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_AUTHORIZATION_SPECIFICATION),
				 errmsg("Zoho accounts server refused an access token for connection \"%s\"", connection),
				 errdetail("It answered HTTP status %ld with error \"%s\"%s%s.", http_status,
						   scrub_text(error, strlen(error), secrets, 64, true),
						   desc ? ": " : "", desc ? desc : ""),
				 errhint("Check the accounts_server option of server %s and the credentials of its user mapping.",
						 quote_identifier(connection))));

	if (http_status < 200 || http_status > 299)
	{
		const char *hint;
		int			sqlstate = http_status_sqlstate(http_status, &hint);

		ereport(ERROR,
				(errcode(sqlstate),
				 errmsg("Zoho accounts server answered HTTP status %ld to the token refresh of connection \"%s\"",
						http_status, connection),
				 body_len > 0 ?
				 errdetail("The body begins \"%s\".",
						   scrub_text(body, body_len, secrets, ZCRM_MAX_BODY_SNIPPET, false)) :
				 errdetail("The body is empty."),
				 errhint("%s", hint)));
	}

	ereport(ERROR,
			(errcode(perr && perr->status == ZCRM_PARSE_NOT_JSON ?
					 ERRCODE_INVALID_JSON_TEXT : ERRCODE_DATA_EXCEPTION),
			 errmsg("unexpected token reply from the Zoho accounts server for connection \"%s\"",
					connection),
			 errdetail("%s%s%s.", perr && perr->path[0] ? perr->path : "the reply",
					   perr ? ": " : "", perr ? perr->message : ""),
			 errhint("Check the accounts_server option of server %s.", quote_identifier(connection))));
	pg_unreachable();
}
