/*-------------------------------------------------------------------------
 *
 * errors.h
 *	  Turn API, transport and parse failures into SQL errors.
 *
 * Every SQLSTATE that zcrm_bulk raises for a failed request is chosen in
 * errors.c.  The zcrm_describe_* functions describe a failure without
 * raising it (for the batch functions' error columns); the zcrm_raise_*
 * functions never return.  None of them ever puts an access token, refresh
 * token or client secret into a message, detail or hint: strings that came
 * from a server are scrubbed of every secret the caller names, in any
 * encoding (see scrub.h), before they are cut and reported.  The failure
 * kinds of the transport are transport.h's (ZcrmTransportFailure); this
 * header includes it for them, and parse.h for the parse failures.
 *
 * Copyright (c) 2026, zcrm_bulk developers
 *
 * IDENTIFICATION
 *	  src/errors.h
 *
 *-------------------------------------------------------------------------
 */
#ifndef ZCRM_ERRORS_H
#define ZCRM_ERRORS_H

#include "parse.h"
#include "transport.h"
#include "zip.h"

/*
 * A failure described but not (yet) raised: the batch functions return it
 * in a row, everything else raises it with zcrm_raise_error().  Strings are
 * palloc'd; detail and hint may be NULL.
 */
typedef struct ZcrmError
{
	int			sqlstate;		/* an ERRCODE_* value */
	char	   *api_code;		/* the API's error code (scrubbed), or NULL */
	char	   *message;
	char	   *detail;
	char	   *hint;
} ZcrmError;

/*
 * zcrm_describe_transport_error
 *		Describe a request that got no complete HTTP response.  "what" names
 *		the request ("bulk write job 41508...", "the token refresh of
 *		connection \"prod\""), "reason" is libcurl's own description (may be
 *		empty), "limit" the size limit in bytes for ZCRM_FAIL_TOO_LARGE,
 *		"attempts" how many requests were made (1 when nothing was retried).
 */
extern void zcrm_describe_transport_error(ZcrmTransportFailure kind,
										  const char *reason,
										  const char *what,
										  long limit,
										  int attempts,
										  ZcrmError *err);

/*
 * zcrm_describe_http_error
 *		Describe a complete response that is not a job: any status outside
 *		2xx, a 204, or a 2xx whose body is a Zoho error object.  The API
 *		code in the body decides the SQLSTATE; the HTTP status decides only
 *		when the body carries no known code.  Server text is scrubbed of
 *		every secret of "secrets" (NULL-terminated): every token the call
 *		used.
 */
extern void zcrm_describe_http_error(long http_status, const char *body,
									 size_t body_len, const char *content_type,
									 const char *job_id,
									 const char *const *secrets,
									 ZcrmError *err);

/*
 * zcrm_describe_api_reply
 *		zcrm_describe_http_error() for a request that is not a job fetch:
 *		"what" names it in the detail ("the upload of a zip file").
 */
extern void zcrm_describe_api_reply(long http_status, const char *body,
									size_t body_len, const char *content_type,
									const char *what,
									const char *const *secrets,
									ZcrmError *err);

/*
 * zcrm_describe_parse_error
 *		Describe a 2xx body that parse.c rejected.
 */
extern void zcrm_describe_parse_error(const ZcrmParseError *perr,
									  const char *job_id, ZcrmError *err);

/*
 * zcrm_describe_reply_parse_error
 *		The same for the reply to any request, named by "what".
 */
extern void zcrm_describe_reply_parse_error(const ZcrmParseError *perr,
											const char *what, ZcrmError *err);

/*
 * zcrm_parse_stopped
 *		True when parse.c stopped for a pending interrupt (status
 *		ZCRM_PARSE_INTERRUPTED), after servicing it with
 *		CHECK_FOR_INTERRUPTS(), which raises a cancel or timeout; the parse
 *		must then be run again.  Every parse in the server is run as
 *		do st = zcrm_parse_...(...); while (zcrm_parse_stopped(st));
 */
extern bool zcrm_parse_stopped(ZcrmParseStatus st);

/*
 * zcrm_zip_stopped
 *		zcrm_parse_stopped() for zip.c (status ZCRM_ZIP_INTERRUPTED): every
 *		deflate and inflate in the server is run as
 *		do st = zcrm_zip_...(...); while (zcrm_zip_stopped(st));
 */
extern bool zcrm_zip_stopped(ZcrmZipStatus st);

/*
 * zcrm_raise_error
 *		Raise a described failure as an ERROR.
 */
extern void zcrm_raise_error(const ZcrmError *err) pg_attribute_noreturn();

/*
 * zcrm_error_add_context
 *		Append "sentence" (a full sentence, e.g. "The request was for part
 *		2, rows 25001 to 50000.") to err->detail on a line of its own, so
 *		that the error can be recorded and raised with it.  NULL or empty:
 *		nothing changes.
 */
extern void zcrm_error_add_context(ZcrmError *err, const char *sentence);

/*
 * zcrm_raise_error_context
 *		Raise a described failure with "sentence" added to its detail as
 *		zcrm_error_add_context() adds it; *err is not changed.
 */
extern void zcrm_raise_error_context(const ZcrmError *err,
									 const char *sentence) pg_attribute_noreturn();

/*
 * zcrm_raise_transport_error / zcrm_raise_http_error / zcrm_raise_parse_error
 *		Describe, then raise.
 */
extern void zcrm_raise_transport_error(ZcrmTransportFailure kind,
									   const char *reason,
									   const char *what,
									   long limit,
									   int attempts) pg_attribute_noreturn();
extern void zcrm_raise_http_error(long http_status, const char *body,
								  size_t body_len, const char *content_type,
								  const char *job_id,
								  const char *const *secrets) pg_attribute_noreturn();
extern void zcrm_raise_parse_error(const ZcrmParseError *perr,
								   const char *job_id) pg_attribute_noreturn();

/*
 * zcrm_raise_token_error
 *		Raise the error for a token refresh of connection "connection" that
 *		did not yield an access token: a reply with an "error" (error and
 *		description as sent), a body that is not a token reply (perr says
 *		why), or an HTTP status other than 200.  "secrets" (NULL-terminated)
 *		are scrubbed from anything quoted.
 */
extern void zcrm_raise_token_error(const char *connection, long http_status,
								   const char *error, const char *description,
								   const char *body, size_t body_len,
								   const ZcrmParseError *perr,
								   const char *const *secrets) pg_attribute_noreturn();

#endif							/* ZCRM_ERRORS_H */
