/*-------------------------------------------------------------------------
 *
 * settings.c
 *	  Definition and validation of the zcrm_bulk.* configuration parameters.
 *
 * Settings that decide where requests go, which certificates are trusted
 * or how much memory a response may take are PGC_SUSET: only a superuser
 * can change them (SET, ALTER ROLE, ALTER DATABASE or postgresql.conf).
 * The others are PGC_USERSET.  The prefix "zcrm_bulk" is reserved, so a
 * misspelt setting is an error rather than a silent placeholder.
 *
 * Copyright (c) 2026, zcrm_bulk developers
 *
 * IDENTIFICATION
 *	  src/settings.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <ctype.h>
#include <limits.h>

#include "miscadmin.h"
#include "utils/guc.h"

#include "parse.h"
#include "prepare.h"
#include "settings.h"
#include "zip.h"

/* Largest response body we ever agree to hold: 1 GB, PostgreSQL's limit. */
#define ZCRM_MAX_RESPONSE_LIMIT (1024 * 1024 * 1024 - 1)

char	   *zcrm_api_domain = NULL;
int			zcrm_timeout_ms = 30000;
int			zcrm_connect_timeout_ms = 10000;
int			zcrm_retries = 2;
int			zcrm_retry_delay_ms = 500;
int			zcrm_max_concurrency = 5;
int			zcrm_max_response_size = 16 * 1024 * 1024;
int			zcrm_max_json_values = 100000;
char	   *zcrm_ca_file = NULL;
char	   *zcrm_default_connection = NULL;
int			zcrm_max_result_size = 16 * 1024 * 1024;
int			zcrm_max_result_uncompressed_size = 64 * 1024 * 1024;
int			zcrm_max_part_rows = ZCRM_PART_MAX_ROWS;
int			zcrm_max_part_bytes = ZCRM_PART_MAX_BYTES;

static int	zcrm_api_version = 0;

/* The API versions Zoho serves the Bulk Write API under. */
static const struct config_enum_entry api_version_options[] = {
	{"v2", 0, false},
	{"v2.1", 1, false},
	{"v3", 2, false},
	{"v4", 3, false},
	{"v5", 4, false},
	{"v6", 5, false},
	{"v7", 6, false},
	{"v8", 7, false},
	{NULL, 0, false}
};

static bool check_api_domain(char **newval, void **extra, GucSource source);
static bool check_ca_file(char **newval, void **extra, GucSource source);
static void assign_max_json_values(int newval, void *extra);

/*
 * zcrm_api_version_name
 *		The path segment of the configured API version ("v2", "v2.1", ...).
 */
const char *
zcrm_api_version_name(void)
{
	return api_version_options[zcrm_api_version].name;
}

/*
 * check_api_domain
 *		Accept "http://" or "https://" followed by a host name, an IPv4
 *		address or a bracketed IPv6 address, an optional port and an
 *		optional single trailing slash; nothing else (no user info, path,
 *		query or fragment), so that the request URL can be built by plain
 *		concatenation.
 */
static bool
check_api_domain(char **newval, void **extra, GucSource source)
{
	const char *p = *newval;
	const char *host;

	if (p == NULL)
		return true;

	if (pg_strncasecmp(p, "https://", 8) == 0)
		p += 8;
	else if (pg_strncasecmp(p, "http://", 7) == 0)
		p += 7;
	else
	{
		GUC_check_errdetail("The API domain must start with \"https://\" or \"http://\".");
		return false;
	}

	host = p;
	if (*p == '[')
	{
		p++;
		while (isxdigit((unsigned char) *p) || *p == ':' || *p == '.')
			p++;
		if (*p != ']' || p == host + 1)
		{
			GUC_check_errdetail("The bracketed IPv6 address in the API domain is malformed.");
			return false;
		}
		p++;
	}
	else
	{
		/* ASCII only, whatever the server's locale makes of isalnum() */
		while ((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
			   (*p >= '0' && *p <= '9') || *p == '-' || *p == '.')
			p++;
		if (p == host)
		{
			GUC_check_errdetail("The API domain has no host name.");
			return false;
		}
	}

	if (*p == ':')
	{
		long		port = 0;
		const char *digits = ++p;

		while (isdigit((unsigned char) *p) && p - digits < 6)
			port = port * 10 + (*p++ - '0');
		if (p == digits || port < 1 || port > 65535)
		{
			GUC_check_errdetail("The port in the API domain must be a number from 1 to 65535.");
			return false;
		}
	}

	if (*p == '/')
		p++;
	if (*p != '\0')
	{
		GUC_check_errdetail("The API domain must be a scheme and a host, with an optional port and no path, for example \"https://www.zohoapis.eu\".");
		return false;
	}
	return true;
}

/*
 * zcrm_valid_base_url
 *		True when "url" is acceptable as zcrm_bulk.api_domain: a scheme and a
 *		host with an optional port and trailing slash.  On false, *detail
 *		says why (a full sentence).
 */
bool
zcrm_valid_base_url(const char *url, const char **detail)
{
	char	   *copy = pstrdup(url);
	bool		ok;
	char	   *saved = GUC_check_errdetail_string;

	GUC_check_errdetail_string = NULL;
	ok = check_api_domain(&copy, NULL, PGC_S_SESSION);
	*detail = GUC_check_errdetail_string ? GUC_check_errdetail_string :
		"The URL must be a scheme and a host with an optional port.";
	GUC_check_errdetail_string = saved;
	pfree(copy);
	return ok;
}

/*
 * zcrm_without_slash
 *		See settings.h.  Base URLs (zcrm_bulk.api_domain, a server's
 *		accounts_server and api_domain, a token reply's api_domain) are
 *		compared and joined to paths without their trailing slash.
 */
char *
zcrm_without_slash(const char *url)
{
	char	   *copy = pstrdup(url ? url : "");
	size_t		len = strlen(copy);

	if (len > 0 && copy[len - 1] == '/')
		copy[len - 1] = '\0';
	return copy;
}

/*
 * interrupt_pending
 *		parse.c's and zip.c's interrupt check: true when
 *		CHECK_FOR_INTERRUPTS() would act, so that a parse, a deflate or an
 *		inflate stops, frees what it built and lets its caller service the
 *		interrupt (see zcrm_parse_stopped()).
 */
static bool
interrupt_pending(void)
{
	return INTERRUPTS_PENDING_CONDITION() && INTERRUPTS_CAN_BE_PROCESSED();
}

/*
 * assign_max_json_values
 *		Hand zcrm_bulk.max_json_values, and the interrupt check, to parse.c.
 */
static void
assign_max_json_values(int newval, void *extra)
{
	ZcrmParseLimits limits = {(size_t) newval, interrupt_pending};

	zcrm_parse_set_limits(&limits);
}

/*
 * check_ca_file
 *		An empty string (use the system store) or an absolute path.
 */
static bool
check_ca_file(char **newval, void **extra, GucSource source)
{
	if (*newval == NULL || (*newval)[0] == '\0')
		return true;
	if (!is_absolute_path(*newval))
	{
		GUC_check_errdetail("The CA file must be given as an absolute path.");
		return false;
	}
	return true;
}

/*
 * zcrm_define_settings
 *		Define every zcrm_bulk.* setting and reserve the prefix.  Called once,
 *		from _PG_init.
 */
void
zcrm_define_settings(void)
{
	/* zip.c polls the same interrupt check as the JSON layer */
	zcrm_zip_set_interrupt(interrupt_pending);

	DefineCustomStringVariable("zcrm_bulk.api_domain",
							   "Zoho CRM API domain that requests are sent to.",
							   "A scheme and a host with an optional port, for example https://www.zohoapis.eu for the EU data centre.",
							   &zcrm_api_domain,
							   "https://www.zohoapis.com",
							   PGC_SUSET,
							   0,
							   check_api_domain, NULL, NULL);

	DefineCustomEnumVariable("zcrm_bulk.api_version",
							 "Version segment of the Bulk Write API path.",
							 NULL,
							 &zcrm_api_version,
							 0,
							 api_version_options,
							 PGC_USERSET,
							 0,
							 NULL, NULL, NULL);

	DefineCustomIntVariable("zcrm_bulk.timeout",
							"Maximum time a whole API call may take.",
							"Retries and the waits between them count too.",
							&zcrm_timeout_ms,
							30000, 1, INT_MAX,
							PGC_USERSET,
							GUC_UNIT_MS,
							NULL, NULL, NULL);

	DefineCustomIntVariable("zcrm_bulk.connect_timeout",
							"Maximum time to establish the connection to the API, TLS handshake included.",
							NULL,
							&zcrm_connect_timeout_ms,
							10000, 1, INT_MAX,
							PGC_USERSET,
							GUC_UNIT_MS,
							NULL, NULL, NULL);

	DefineCustomIntVariable("zcrm_bulk.retries",
							"How often a failed request is retried.",
							"Only failures a retry may cure are retried: no connection, a connection lost mid-response, HTTP 429 and 5xx.",
							&zcrm_retries,
							2, 0, 10,
							PGC_USERSET,
							0,
							NULL, NULL, NULL);

	DefineCustomIntVariable("zcrm_bulk.retry_delay",
							"Wait before the first retry; each further retry doubles it.",
							"A random part of up to half of each wait is taken off, so that failing sessions do not retry in step.",
							&zcrm_retry_delay_ms,
							500, 1, 60000,
							PGC_USERSET,
							GUC_UNIT_MS,
							NULL, NULL, NULL);

	DefineCustomIntVariable("zcrm_bulk.max_concurrency",
							"Most requests zcrm_write_jobs() and zcrm_write_jobs_field_mappings() keep in flight at once.",
							"The default, 5, is the lowest number of concurrent API calls Zoho grants an organisation.  Over HTTP/2 the requests share one connection.",
							&zcrm_max_concurrency,
							5, 1, ZCRM_MAX_CONCURRENCY,
							PGC_USERSET,
							0,
							NULL, NULL, NULL);

	DefineCustomIntVariable("zcrm_bulk.max_response_size",
							"Largest response body accepted; larger ones are aborted while they stream in.",
							"The limit applies to the decompressed body.",
							&zcrm_max_response_size,
							16 * 1024 * 1024, 1024, ZCRM_MAX_RESPONSE_LIMIT,
							PGC_SUSET,
							GUC_UNIT_BYTE,
							NULL, NULL, NULL);

	DefineCustomIntVariable("zcrm_bulk.max_json_values",
							"Most JSON values a response may hold; a document with more is refused before it is parsed.",
							"Values are objects, arrays, strings, numbers and literals at any depth.  With zcrm_bulk.max_response_size, this bounds the memory a document takes.",
							&zcrm_max_json_values,
							100000, 1000, INT_MAX,
							PGC_SUSET,
							0,
							NULL, assign_max_json_values, NULL);

	DefineCustomStringVariable("zcrm_bulk.ca_file",
							   "File of CA certificates used to verify the API server.",
							   "Empty means the system's certificate store.  Peer and host name verification are always on.",
							   &zcrm_ca_file,
							   "",
							   PGC_SUSET,
							   0,
							   check_ca_file, NULL, NULL);

	DefineCustomStringVariable("zcrm_bulk.default_connection",
							   "Server used when a call passes neither a token nor a connection.",
							   "The name of a foreign server of the zcrm_bulk wrapper.",
							   &zcrm_default_connection,
							   "",
							   PGC_USERSET,
							   0,
							   NULL, NULL, NULL);

	/*
	 * A result file holds at most 25,000 rows per resource (Zoho's limit on a
	 * job's CSV), each with up to three echoed columns, STATUS, a 19-digit
	 * RECORD_ID and ERRORS: a few MB for ordinary rows.  64 MB uncompressed
	 * leaves about 2.5 kB per row of a full part; CSV compresses at least
	 * 4:1, so 16 MB (zcrm_bulk.max_response_size's default) of zip holds it.
	 */
	DefineCustomIntVariable("zcrm_bulk.max_result_size",
							"Largest result zip of a bulk write job that zcrm_write_job_results() downloads; a larger one is aborted while it streams in.",
							NULL,
							&zcrm_max_result_size,
							16 * 1024 * 1024, 1024, ZCRM_MAX_RESPONSE_LIMIT,
							PGC_SUSET,
							GUC_UNIT_BYTE,
							NULL, NULL, NULL);

	DefineCustomIntVariable("zcrm_bulk.max_result_uncompressed_size",
							"Largest uncompressed CSV file in a result zip; a larger one is refused before it is inflated.",
							"An entry that declares a smaller size but inflates to more is cut off at this size and refused too (zip bomb).",
							&zcrm_max_result_uncompressed_size,
							64 * 1024 * 1024, 1024, ZCRM_MAX_RESPONSE_LIMIT,
							PGC_SUSET,
							GUC_UNIT_BYTE,
							NULL, NULL, NULL);

	DefineCustomIntVariable("zcrm_bulk.max_part_rows",
							"Most rows of one part (one Bulk Write job) of a write.",
							"Zoho CRM takes at most 25000 records per job, the default and the maximum.",
							&zcrm_max_part_rows,
							ZCRM_PART_MAX_ROWS, 1, ZCRM_PART_MAX_ROWS,
							PGC_USERSET,
							0,
							NULL, NULL, NULL);

	DefineCustomIntVariable("zcrm_bulk.max_part_bytes",
							"Largest CSV file of one part of a write, its header row included.",
							"The default and maximum, 25,000,000 bytes less 64 kB, keeps the zip under Zoho CRM's 25 MB.",
							&zcrm_max_part_bytes,
							ZCRM_PART_MAX_BYTES, 1024, ZCRM_PART_MAX_BYTES,
							PGC_USERSET,
							GUC_UNIT_BYTE,
							NULL, NULL, NULL);

	MarkGUCPrefixReserved("zcrm_bulk");
}
