/*-------------------------------------------------------------------------
 *
 * test_parse.c
 *	  Unit tests for src/parse.c, the JSON layer under it (src/json*.c) and
 *	  src/scrub.c, run outside the server.
 *
 * The TAP-style harness of harness.h: each test is a function; the runner
 * prints "ok N - name" or "not ok N - name", diagnostics as "# " lines,
 * and a final "N passed, N failed" line, and exits non-zero on any
 * failure.
 *
 * Every body is handed to the parser in a heap buffer of exactly its
 * length, without a NUL terminator, so that ASan and valgrind catch any
 * read past the end.
 *
 * The binary is linked with --wrap=malloc/calloc/realloc: the wrappers
 * in harness.c count allocations made by parse.c (and, through cJSON_InitHooks,
 * by cJSON) and can make the k-th one fail, to test every out-of-memory
 * path.
 *
 * Copyright (c) 2026, zcrm_bulk developers
 *
 * IDENTIFICATION
 *	  test/unit/test_parse.c
 *
 *-------------------------------------------------------------------------
 */
#include <inttypes.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cJSON.h>

#include "harness.h"
#include "json.h"
#include "parse.h"
#include "scrub.h"


/* ----------------------------------------------------------------
 * Allocation failure injection
 * ----------------------------------------------------------------
 */

static long alloc_failures_total;	/* injected failures, for the report */

/* Allocation for the harness itself, never made to fail. */
static void *
xmalloc(size_t size)
{
	void	   *p = __real_malloc(size > 0 ? size : 1);

	if (p == NULL)
	{
		fprintf(stderr, "out of memory in the test harness\n");
		exit(2);
	}
	return p;
}

/* cJSON's hook: the same counting malloc. */
static void *
hook_malloc(size_t size)
{
	return __wrap_malloc(size);
}


/* ----------------------------------------------------------------
 * Harness
 * ----------------------------------------------------------------
 */

/* Strings made by J() and bodies made by body(), freed after each test. */
static void *scratch[4096];
static int	nscratch;

static void *
keep(void *p)
{
	if (p == NULL)
	{
		fprintf(stderr, "out of memory in the test harness\n");
		exit(2);
	}
	if (nscratch >= (int) (sizeof(scratch) / sizeof(scratch[0])))
	{
		fprintf(stderr, "scratch overflow in the test harness\n");
		exit(2);
	}
	scratch[nscratch++] = p;
	return p;
}

static void
free_scratch(void)
{
	while (nscratch > 0)
		free(scratch[--nscratch]);
}


static const char *
status_name(ZcrmParseStatus st)
{
	switch (st)
	{
		case ZCRM_PARSE_OK:
			return "OK";
		case ZCRM_PARSE_NOT_JSON:
			return "NOT_JSON";
		case ZCRM_PARSE_BAD_SHAPE:
			return "BAD_SHAPE";
		case ZCRM_PARSE_NUL_CHAR:
			return "NUL_CHAR";
		case ZCRM_PARSE_API_ERROR:
			return "API_ERROR";
		case ZCRM_PARSE_NO_MEMORY:
			return "NO_MEMORY";
		case ZCRM_PARSE_TOO_MANY_VALUES:
			return "TOO_MANY_VALUES";
		case ZCRM_PARSE_INTERRUPTED:
			return "INTERRUPTED";
	}
	return "?";
}

static void
check_status_impl(ZcrmParseStatus got, ZcrmParseStatus want, const char *expr,
				  const char *file, int line)
{
	if (got != want)
	{
		test_failures++;
		diag("%s:%d: %s is %s, expected %s", file, line, expr,
			 status_name(got), status_name(want));
	}
}

#define CHECK_STATUS(got, want) \
	check_status_impl((got), (want), #got, __FILE__, __LINE__)

/*
 * J
 *	  Return a scratch copy of s with every ' turned into ", so that test
 *	  documents can be written without backslashes.
 */
static const char *
J(const char *s)
{
	size_t		len = strlen(s);
	char	   *copy = keep(xmalloc(len + 1));
	size_t		i;

	for (i = 0; i <= len; i++)
		copy[i] = (s[i] == '\'') ? '"' : s[i];
	return copy;
}

/* A heap copy of len bytes with no terminator (one byte for len 0). */
static char *
exact_copy(const char *bytes, size_t len)
{
	char	   *copy = xmalloc(len);

	if (len > 0)
		memcpy(copy, bytes, len);
	return copy;
}

/* Parse len bytes as a job; the job must be freed by the caller. */
static ZcrmParseStatus
job_bytes(const char *bytes, size_t len, ZcrmJob **job, ZcrmParseError *err)
{
	char	   *copy = exact_copy(bytes, len);
	ZcrmParseStatus rc = zcrm_parse_job(copy, len, job, err);

	free(copy);
	return rc;
}

static ZcrmParseStatus
job_text(const char *json, ZcrmJob **job, ZcrmParseError *err)
{
	return job_bytes(json, strlen(json), job, err);
}

static ZcrmParseStatus
apierr_bytes(const char *bytes, size_t len, ZcrmApiError **out,
			 ZcrmParseError *err)
{
	char	   *copy = exact_copy(bytes, len);
	ZcrmParseStatus rc = zcrm_parse_api_error(copy, len, out, err);

	free(copy);
	return rc;
}

static ZcrmParseStatus
apierr_text(const char *json, ZcrmApiError **out, ZcrmParseError *err)
{
	return apierr_bytes(json, strlen(json), out, err);
}

static ZcrmParseStatus
check_bytes(const char *bytes, size_t len, ZcrmParseError *err)
{
	char	   *copy = exact_copy(bytes, len);
	ZcrmParseStatus rc = zcrm_check_document(copy, len, err);

	free(copy);
	return rc;
}

static ZcrmParseStatus
check_text(const char *json, ZcrmParseError *err)
{
	return check_bytes(json, strlen(json), err);
}

/*
 * expect_job_fails
 *	  Parse text as a job, expect status "want" and, unless path is NULL,
 *	  that exact error path; also check the error is well-formed and that
 *	  no text from the body ("secret", if given) leaks into the message.
 */
static void
expect_job_fails_at(const char *json, ZcrmParseStatus want, const char *path,
					const char *secret, const char *file, int line)
{
	ZcrmJob    *job = (ZcrmJob *) &job;
	ZcrmParseError err;
	ZcrmParseStatus rc = job_text(json, &job, &err);

	if (rc != want)
	{
		test_failures++;
		diag("%s:%d: status %s, expected %s (path \"%s\", message \"%s\")",
			 file, line, status_name(rc), status_name(want), err.path,
			 err.message);
	}
	if (job != NULL)
	{
		test_failures++;
		diag("%s:%d: job is not NULL after a failure", file, line);
		if (rc == ZCRM_PARSE_OK)
			zcrm_job_free(job);
	}
	if (err.status != rc)
	{
		test_failures++;
		diag("%s:%d: err.status %s differs from the result", file, line,
			 status_name(err.status));
	}
	if (err.message[0] == '\0')
	{
		test_failures++;
		diag("%s:%d: empty error message", file, line);
	}
	if (path != NULL && strcmp(err.path, path) != 0)
	{
		test_failures++;
		diag("%s:%d: error path \"%s\", expected \"%s\"", file, line,
			 err.path, path);
	}
	if (secret != NULL && (strstr(err.message, secret) || strstr(err.path, secret)))
	{
		test_failures++;
		diag("%s:%d: body text leaked into the error", file, line);
	}
}

#define expect_job_fails(json, want, path) \
	expect_job_fails_at((json), (want), (path), NULL, __FILE__, __LINE__)
#define expect_job_fails_secret(json, want, path, secret) \
	expect_job_fails_at((json), (want), (path), (secret), __FILE__, __LINE__)

/* Parse text as a job and expect success; the caller frees the job. */
static ZcrmJob *
expect_job_ok_at(const char *json, const char *file, int line)
{
	ZcrmJob    *job = NULL;
	ZcrmParseError err;
	ZcrmParseStatus rc = job_text(json, &job, &err);

	if (rc != ZCRM_PARSE_OK || job == NULL)
	{
		test_failures++;
		diag("%s:%d: status %s (path \"%s\", message \"%s\")", file, line,
			 status_name(rc), err.path, err.message);
		return NULL;
	}
	if (err.status != ZCRM_PARSE_OK || err.path[0] != '\0' ||
		err.message[0] != '\0')
	{
		test_failures++;
		diag("%s:%d: err not cleared on success", file, line);
	}
	return job;
}

#define expect_job_ok(json) expect_job_ok_at((json), __FILE__, __LINE__)

/*
 * The value of the default_value of the only mapping of a one-resource job
 * {"resource":[{"field_mappings":[{"default_value": <dv>}]}]}; the
 * returned string is scratch memory.  NULL when the parse fails.
 */
static const char *
default_value_of(const char *dv, ZcrmParseStatus *rc, ZcrmParseError *err)
{
	char	   *json;
	size_t		size = strlen(dv) + 100;
	ZcrmJob    *job = NULL;
	const char *result = NULL;

	json = keep(xmalloc(size));
	snprintf(json, size,
			 "{\"resource\":[{\"field_mappings\":[{\"default_value\":%s}]}]}",
			 dv);
	*rc = job_text(json, &job, err);
	if (*rc == ZCRM_PARSE_OK)
	{
		if (job->resources[0].mappings[0].default_value != NULL)
			result = J(job->resources[0].mappings[0].default_value);
		zcrm_job_free(job);
	}
	return result;
}


/* ----------------------------------------------------------------
 * Sample documents
 * ----------------------------------------------------------------
 */

/* The v2 sample of the issue, with three more mappings (five in all). */
static const char *const SAMPLE_V2 =
"{\"status\":\"INPROGRESS\",\"resource\":[{\"status\":\"INPROGRESS\","
"\"type\":\"data\",\"module\":\"Leads\",\"field_mappings\":["
"{\"api_name\":\"Owner\",\"index\":1,\"format\":null,\"find_by\":null,"
"\"module\":null,\"default_value\":null},"
"{\"api_name\":\"Date_3\",\"index\":2,\"format\":\"yyyy/MM/dd\","
"\"find_by\":null,\"module\":null,\"default_value\":null},"
"{\"api_name\":\"Last_Name\",\"index\":0,\"format\":null,\"find_by\":null,"
"\"module\":null,\"default_value\":null},"
"{\"api_name\":\"Company\",\"index\":3,\"format\":null,\"find_by\":null,"
"\"module\":null,\"default_value\":null},"
"{\"api_name\":\"Lookup_1\",\"index\":4,\"format\":null,\"find_by\":\"Email\","
"\"module\":\"Contacts\",\"default_value\":null}],"
"\"code\":\"INPROGRESS\"}],\"id\":\"4150868000005392002\","
"\"callback\":{\"url\":\"https://www.zoho.com/in/crm/\",\"method\":\"post\"},"
"\"created_by\":{\"id\":\"4150868000000225013\",\"name\":\"Patricia Boyle\"},"
"\"ignore_empty\":true,\"operation\":\"insert\","
"\"created_time\":\"2021-05-13T11:00:58+05:30\"}";

/* The v2.1 completed sample of the issue, verbatim. */
static const char *const SAMPLE_V21 =
"{\"status\":\"COMPLETED\",\"character_encoding\":\"UTF-8\",\"resource\":["
"{\"status\":\"COMPLETED\",\"type\":\"data\",\"module\":"
"{\"id\":\"4150868000000002175\",\"api_name\":\"Leads\"},\"field_mappings\":["
"{\"api_name\":\"Owner\",\"index\":2,\"format\":null,\"find_by\":null,"
"\"module\":null,\"default_value\":null}],\"file\":{\"status\":\"COMPLETED\","
"\"name\":\"Fil2.csv\",\"added_count\":9,\"skipped_count\":2,"
"\"updated_count\":0,\"total_count\":11},\"code\":\"COMPLETED\"}],"
"\"id\":\"4150868000005350003\",\"callback\":{\"url\":\"https://www.zoho.com/\","
"\"method\":\"post\"},\"result\":{\"download_url\":"
"\"https://download-accl.zoho.com/v2/crm/694902309/bulk-write/"
"4150868000005350003/4150868000005350003.zip\"},\"created_by\":"
"{\"id\":\"4150868000000225013\",\"name\":\"Patricia Boyle\"},"
"\"ignore_empty\":true,\"operation\":\"insert\","
"\"created_time\":\"2021-05-11T12:38:29+05:30\"}";

/* Three resources in the v5 shape. */
static const char *const SAMPLE_V5 =
"{\"status\":\"COMPLETED\",\"id\":\"111\",\"operation\":\"upsert\","
"\"created_time\":\"2024-01-31T23:59:59.123Z\",\"resource\":["
"{\"type\":\"data\",\"status\":\"COMPLETED\",\"code\":\"COMPLETED\","
"\"module\":{\"api_name\":\"Contacts\",\"id\":\"5000\"},"
"\"file\":{\"name\":\"a.csv\",\"status\":\"COMPLETED\",\"added_count\":1,"
"\"updated_count\":2,\"skipped_count\":3,\"total_count\":6},"
"\"field_mappings\":[{\"api_name\":\"Last_Name\",\"index\":0,"
"\"parent_column_index\":null},"
"{\"api_name\":\"Account_Name\",\"index\":1,\"find_by\":\"id\","
"\"module\":\"Accounts\",\"default_value\":{ \"value\" : \"x\" }}]},"
"{\"type\":\"data\",\"status\":\"FAILED\",\"code\":\"FAILED\","
"\"module\":{\"api_name\":\"Quotes\",\"id\":5001},"
"\"field_mappings\":[{\"api_name\":\"Subject\",\"index\":0},"
"{\"api_name\":\"Product_Name\",\"index\":1,\"parent_column_index\":0,"
"\"default_value\":{\"name\":\"Widget\",\"module\":\"Products\","
"\"value\":\"42\"}},"
"{\"api_name\":\"Quantity\",\"index\":2,\"parent_column_index\":0,"
"\"default_value\":[1, 2.5, true, null, \"s\"]}]},"
"{\"type\":\"data\",\"status\":\"IN PROGRESS\",\"code\":\"IN PROGRESS\","
"\"module\":\"Leads\",\"file\":{\"status\":\"IN PROGRESS\"},"
"\"field_mappings\":[]}]}";

static const char *const ERR_URL =
"{\"code\":\"INVALID_URL_PATTERN\",\"details\":{},\"message\":"
"\"Please check if the URL trying to access is a correct one\","
"\"status\":\"error\"}";
static const char *const ERR_NOT_FOUND =
"{\"status\":\"error\",\"code\":\"RESOURCE_NOT_FOUND\",\"message\":"
"\"The requested resource doesn't exist.\",\"details\":{}}";
static const char *const ERR_AUTH =
"{\"code\":\"AUTHENTICATION_FAILURE\",\"details\":{},\"message\":"
"\"Authentication failed\",\"status\":\"error\"}";


/* ----------------------------------------------------------------
 * Tests
 * ----------------------------------------------------------------
 */

static void
test_v2_sample(void)
{
	ZcrmJob    *job = expect_job_ok(SAMPLE_V2);
	const ZcrmResource *r;
	static const char *const names[] = {"Owner", "Date_3", "Last_Name", "Company", "Lookup_1"};
	static const int indexes[] = {1, 2, 0, 3, 4};
	int			i;

	if (job == NULL)
		return;
	CHECK_STR(job->id, "4150868000005392002");
	CHECK_STR(job->status, "INPROGRESS");
	CHECK_STR(job->operation, "insert");
	CHECK(job->has_ignore_empty);
	CHECK(job->ignore_empty);
	CHECK_STR(job->character_encoding, NULL);
	CHECK_STR(job->created_time, "2021-05-13T11:00:58+05:30");
	CHECK_STR(job->created_by_id, "4150868000000225013");
	CHECK_STR(job->created_by_name, "Patricia Boyle");
	CHECK_STR(job->callback_url, "https://www.zoho.com/in/crm/");
	CHECK_STR(job->callback_method, "post");
	CHECK_STR(job->download_url, NULL);
	CHECK_INT(job->nresources, 1);
	if (job->nresources == 1)
	{
		r = &job->resources[0];
		CHECK_STR(r->type, "data");
		CHECK_STR(r->module, "Leads");
		CHECK_STR(r->module_id, NULL);
		CHECK_STR(r->status, "INPROGRESS");
		CHECK_STR(r->code, "INPROGRESS");
		CHECK_STR(r->file_name, NULL);
		CHECK_STR(r->file_status, NULL);
		CHECK(!r->has_added_count && !r->has_updated_count &&
			  !r->has_skipped_count && !r->has_total_count);
		CHECK_INT(r->nmappings, 5);
		for (i = 0; i < r->nmappings && i < 5; i++)
		{
			const ZcrmFieldMapping *m = &r->mappings[i];

			CHECK_STR(m->api_name, names[i]);
			CHECK(m->has_index);
			CHECK_INT(m->index, indexes[i]);
			CHECK_STR(m->default_value, NULL);
			CHECK(!m->has_parent_column_index);
		}
		if (r->nmappings == 5)
		{
			CHECK_STR(r->mappings[0].format, NULL);
			CHECK_STR(r->mappings[1].format, "yyyy/MM/dd");
			CHECK_STR(r->mappings[1].find_by, NULL);
			CHECK_STR(r->mappings[1].module, NULL);
			CHECK_STR(r->mappings[4].find_by, "Email");
			CHECK_STR(r->mappings[4].module, "Contacts");
		}
	}
	zcrm_job_free(job);
}

static void
test_v21_sample(void)
{
	ZcrmJob    *job = expect_job_ok(SAMPLE_V21);
	const ZcrmResource *r;

	if (job == NULL)
		return;
	CHECK_STR(job->id, "4150868000005350003");
	CHECK_STR(job->status, "COMPLETED");
	CHECK_STR(job->character_encoding, "UTF-8");
	CHECK_STR(job->operation, "insert");
	CHECK(job->has_ignore_empty && job->ignore_empty);
	CHECK_STR(job->created_time, "2021-05-11T12:38:29+05:30");
	CHECK_STR(job->created_by_id, "4150868000000225013");
	CHECK_STR(job->created_by_name, "Patricia Boyle");
	CHECK_STR(job->callback_url, "https://www.zoho.com/");
	CHECK_STR(job->callback_method, "post");
	CHECK_STR(job->download_url,
			  "https://download-accl.zoho.com/v2/crm/694902309/bulk-write/"
			  "4150868000005350003/4150868000005350003.zip");
	CHECK_INT(job->nresources, 1);
	if (job->nresources != 1)
	{
		zcrm_job_free(job);
		return;
	}
	r = &job->resources[0];
	CHECK_STR(r->type, "data");
	CHECK_STR(r->module, "Leads");
	CHECK_STR(r->module_id, "4150868000000002175");
	CHECK_STR(r->status, "COMPLETED");
	CHECK_STR(r->code, "COMPLETED");
	CHECK_STR(r->file_name, "Fil2.csv");
	CHECK_STR(r->file_status, "COMPLETED");
	CHECK(r->has_added_count);
	CHECK_INT(r->added_count, 9);
	CHECK(r->has_skipped_count);
	CHECK_INT(r->skipped_count, 2);
	CHECK(r->has_updated_count);
	CHECK_INT(r->updated_count, 0);
	CHECK(r->has_total_count);
	CHECK_INT(r->total_count, 11);
	CHECK_INT(r->nmappings, 1);
	if (r->nmappings == 1)
	{
		CHECK_STR(r->mappings[0].api_name, "Owner");
		CHECK_INT(r->mappings[0].index, 2);
	}
	zcrm_job_free(job);
}

static void
test_in_progress_normalised(void)
{
	ZcrmJob    *job;

	job = expect_job_ok(J("{'status':'IN PROGRESS','resource':[{'status':'IN PROGRESS',"
						  "'code':'IN PROGRESS','file':{'status':'IN PROGRESS'}}]}"));
	if (job != NULL)
	{
		CHECK_STR(job->status, "INPROGRESS");
		CHECK_STR(job->resources[0].status, "INPROGRESS");
		CHECK_STR(job->resources[0].file_status, "INPROGRESS");
		/* code is not a status field: kept as sent */
		CHECK_STR(job->resources[0].code, "IN PROGRESS");
		zcrm_job_free(job);
	}

	/* only that exact spelling is changed */
	job = expect_job_ok(J("{'status':'in progress','resource':[{'status':'IN  PROGRESS',"
						  "'file':{'status':' IN PROGRESS'}}]}"));
	if (job != NULL)
	{
		CHECK_STR(job->status, "in progress");
		CHECK_STR(job->resources[0].status, "IN  PROGRESS");
		CHECK_STR(job->resources[0].file_status, " IN PROGRESS");
		zcrm_job_free(job);
	}
}

static void
test_added_shape_without_counts(void)
{
	ZcrmJob    *job = expect_job_ok(J("{'status':'ADDED','id':'1','resource':[{'type':'data',"
									  "'module':{'api_name':'Leads','id':'2'},'status':'ADDED',"
									  "'file':{'status':'ADDED','name':'x.csv'}}]}"));

	if (job == NULL)
		return;
	CHECK_STR(job->status, "ADDED");
	CHECK_STR(job->resources[0].file_status, "ADDED");
	CHECK_STR(job->resources[0].file_name, "x.csv");
	CHECK(!job->resources[0].has_added_count);
	CHECK(!job->resources[0].has_updated_count);
	CHECK(!job->resources[0].has_skipped_count);
	CHECK(!job->resources[0].has_total_count);
	CHECK_INT(job->resources[0].nmappings, 0);
	CHECK(job->resources[0].mappings == NULL);
	zcrm_job_free(job);
}

static void
test_resource_missing_null_empty(void)
{
	static const char *const docs[] = {
		"{'id':'1'}", "{'id':'1','resource':null}", "{'id':'1','resource':[]}",
		"{'id':'1','resource':[ ]}"
	};
	size_t		i;

	for (i = 0; i < sizeof(docs) / sizeof(docs[0]); i++)
	{
		ZcrmJob    *job = expect_job_ok(J(docs[i]));

		if (job == NULL)
			continue;
		CHECK_INT(job->nresources, 0);
		CHECK(job->resources == NULL);
		CHECK_STR(job->id, "1");
		zcrm_job_free(job);
	}
}

static void
test_v5_multiple_resources(void)
{
	ZcrmJob    *job = expect_job_ok(SAMPLE_V5);
	const ZcrmResource *r;

	if (job == NULL)
		return;
	CHECK_STR(job->created_time, "2024-01-31T23:59:59.123Z");
	CHECK_STR(job->operation, "upsert");
	CHECK(!job->has_ignore_empty);
	CHECK_INT(job->nresources, 3);
	if (job->nresources != 3)
	{
		zcrm_job_free(job);
		return;
	}

	r = &job->resources[0];
	CHECK_STR(r->module, "Contacts");
	CHECK_STR(r->module_id, "5000");
	CHECK_INT(r->added_count, 1);
	CHECK_INT(r->updated_count, 2);
	CHECK_INT(r->skipped_count, 3);
	CHECK_INT(r->total_count, 6);
	CHECK_INT(r->nmappings, 2);
	CHECK(!r->mappings[0].has_parent_column_index);
	CHECK_STR(r->mappings[0].default_value, NULL);
	CHECK_STR(r->mappings[1].find_by, "id");
	CHECK_STR(r->mappings[1].module, "Accounts");
	CHECK_STR(r->mappings[1].default_value, "{\"value\":\"x\"}");

	r = &job->resources[1];
	CHECK_STR(r->status, "FAILED");
	CHECK_STR(r->module, "Quotes");
	CHECK_STR(r->module_id, "5001");
	CHECK_INT(r->nmappings, 3);
	CHECK(!r->mappings[0].has_parent_column_index);
	CHECK(r->mappings[1].has_parent_column_index);
	CHECK_INT(r->mappings[1].parent_column_index, 0);
	CHECK_STR(r->mappings[1].default_value,
			  "{\"name\":\"Widget\",\"module\":\"Products\",\"value\":\"42\"}");
	CHECK(r->mappings[2].has_parent_column_index);
	CHECK_STR(r->mappings[2].default_value, "[1,2.5,true,null,\"s\"]");

	r = &job->resources[2];
	CHECK_STR(r->status, "INPROGRESS");
	CHECK_STR(r->file_status, "INPROGRESS");
	CHECK_STR(r->module, "Leads");
	CHECK_STR(r->module_id, NULL);
	CHECK_INT(r->nmappings, 0);
	zcrm_job_free(job);
}

static void
test_object_keys_null(void)
{
	ZcrmJob    *job = expect_job_ok(J("{'id':'9','created_by':null,'callback':null,'result':null,"
									  "'resource':[null,{'module':null,'file':null,"
									  "'field_mappings':[null,{'api_name':'A'}]}]}"));

	if (job == NULL)
		return;
	CHECK_STR(job->created_by_id, NULL);
	CHECK_STR(job->created_by_name, NULL);
	CHECK_STR(job->callback_url, NULL);
	CHECK_STR(job->callback_method, NULL);
	CHECK_STR(job->download_url, NULL);
	CHECK_INT(job->nresources, 2);
	if (job->nresources == 2)
	{
		const ZcrmResource *r0 = &job->resources[0];
		const ZcrmResource *r1 = &job->resources[1];

		CHECK(r0->type == NULL && r0->module == NULL && r0->status == NULL &&
			  r0->code == NULL && r0->file_name == NULL && r0->nmappings == 0);
		CHECK_STR(r1->module, NULL);
		CHECK_STR(r1->module_id, NULL);
		CHECK_STR(r1->file_name, NULL);
		CHECK_STR(r1->file_status, NULL);
		CHECK(!r1->has_total_count);
		CHECK_INT(r1->nmappings, 2);
		if (r1->nmappings == 2)
		{
			CHECK_STR(r1->mappings[0].api_name, NULL);
			CHECK(!r1->mappings[0].has_index);
			CHECK_STR(r1->mappings[1].api_name, "A");
		}
	}
	zcrm_job_free(job);

	/* objects present but empty */
	job = expect_job_ok(J("{'created_by':{},'callback':{},'result':{},"
						  "'resource':[{'module':{},'file':{}}]}"));
	if (job != NULL)
	{
		CHECK_STR(job->created_by_id, NULL);
		CHECK_STR(job->download_url, NULL);
		CHECK_STR(job->resources[0].module, NULL);
		CHECK_STR(job->resources[0].module_id, NULL);
		zcrm_job_free(job);
	}
}

static void
test_scalar_keys_null(void)
{
	ZcrmJob    *job = expect_job_ok(J("{'id':null,'status':null,'operation':null,'ignore_empty':null,"
									  "'character_encoding':null,'created_time':null,"
									  "'created_by':{'id':null,'name':null},"
									  "'callback':{'url':null,'method':null},"
									  "'result':{'download_url':null},"
									  "'resource':[{'type':null,'status':null,'code':null,"
									  "'module':{'api_name':null,'id':null},"
									  "'file':{'name':null,'status':null,'added_count':null,"
									  "'updated_count':null,'skipped_count':null,'total_count':null},"
									  "'field_mappings':[{'api_name':null,'index':null,'format':null,"
									  "'find_by':null,'module':null,'default_value':null,"
									  "'parent_column_index':null}]}]}"));
	const ZcrmResource *r;
	const ZcrmFieldMapping *m;

	if (job == NULL)
		return;
	CHECK(job->id == NULL && job->status == NULL && job->operation == NULL);
	CHECK(!job->has_ignore_empty && !job->ignore_empty);
	CHECK(job->character_encoding == NULL && job->created_time == NULL);
	CHECK(job->created_by_id == NULL && job->created_by_name == NULL);
	CHECK(job->callback_url == NULL && job->callback_method == NULL);
	CHECK(job->download_url == NULL);
	CHECK_INT(job->nresources, 1);
	r = &job->resources[0];
	CHECK(r->type == NULL && r->status == NULL && r->code == NULL);
	CHECK(r->module == NULL && r->module_id == NULL);
	CHECK(r->file_name == NULL && r->file_status == NULL);
	CHECK(!r->has_added_count && !r->has_updated_count &&
		  !r->has_skipped_count && !r->has_total_count);
	CHECK_INT(r->nmappings, 1);
	m = &r->mappings[0];
	CHECK(m->api_name == NULL && !m->has_index && m->format == NULL &&
		  m->find_by == NULL && m->module == NULL && m->default_value == NULL &&
		  !m->has_parent_column_index);
	zcrm_job_free(job);
}

static void
test_numeric_ids(void)
{
	ZcrmJob    *job = expect_job_ok(J("{'id':12345,'created_by':{'id':7,'name':'N'},"
									  "'resource':[{'module':{'api_name':'Leads','id':9007199254740991}},"
									  "{'module':{'id':-5}},{'module':{'id':1.0E2}},{'module':{'id':-0}}]}"));

	if (job == NULL)
		return;
	CHECK_STR(job->id, "12345");
	CHECK_STR(job->created_by_id, "7");
	CHECK_STR(job->resources[0].module_id, "9007199254740991");
	CHECK_STR(job->resources[1].module_id, "-5");
	CHECK_STR(job->resources[2].module_id, "100");
	CHECK_STR(job->resources[3].module_id, "0");
	zcrm_job_free(job);

	job = expect_job_ok(J("{'id':0}"));
	if (job != NULL)
	{
		CHECK_STR(job->id, "0");
		zcrm_job_free(job);
	}
}

static void
test_numeric_id_too_big(void)
{
	ZcrmParseError err;
	ZcrmJob    *job = NULL;

	expect_job_fails(J("{'id':4150868000005392002}"), ZCRM_PARSE_BAD_SHAPE, "id");
	CHECK_STATUS(job_text(J("{'id':4150868000005392002}"), &job, &err),
				 ZCRM_PARSE_BAD_SHAPE);
	CHECK(strstr(err.message, "exactly") != NULL);
	expect_job_fails(J("{'id':9007199254740992}"), ZCRM_PARSE_BAD_SHAPE, "id");
	expect_job_fails(J("{'id':-9007199254740992}"), ZCRM_PARSE_BAD_SHAPE, "id");
	expect_job_fails(J("{'id':1e300}"), ZCRM_PARSE_BAD_SHAPE, "id");
	expect_job_fails(J("{'id':1e400}"), ZCRM_PARSE_BAD_SHAPE, "id");
	expect_job_fails(J("{'id':1.5}"), ZCRM_PARSE_BAD_SHAPE, "id");
	expect_job_fails(J("{'id':true}"), ZCRM_PARSE_BAD_SHAPE, "id");
	expect_job_fails(J("{'id':{}}"), ZCRM_PARSE_BAD_SHAPE, "id");
	expect_job_fails(J("{'created_by':{'id':4150868000000225013}}"),
					 ZCRM_PARSE_BAD_SHAPE, "created_by.id");
	expect_job_fails(J("{'resource':[{},{'module':{'id':4150868000000002175}}]}"),
					 ZCRM_PARSE_BAD_SHAPE, "resource[1].module.id");
	expect_job_fails(J("{'resource':[{'module':{'id':[]}}]}"),
					 ZCRM_PARSE_BAD_SHAPE, "resource[0].module.id");
}

static void
test_count_fractional(void)
{
	ZcrmParseError err;
	ZcrmJob    *job = NULL;

	expect_job_fails(J("{'resource':[{'file':{'added_count':9.5}}]}"),
					 ZCRM_PARSE_BAD_SHAPE, "resource[0].file.added_count");
	CHECK_STATUS(job_text(J("{'resource':[{'file':{'added_count':9.5}}]}"), &job, &err),
				 ZCRM_PARSE_BAD_SHAPE);
	CHECK_STR(err.message, "expected an integer, found a fractional number");
	expect_job_fails(J("{'resource':[{'file':{'total_count':0.1}}]}"),
					 ZCRM_PARSE_BAD_SHAPE, "resource[0].file.total_count");
}

static void
test_count_string(void)
{
	ZcrmParseError err;
	ZcrmJob    *job = NULL;

	expect_job_fails(J("{'resource':[{},{'file':{'name':'f','skipped_count':'9'}}]}"),
					 ZCRM_PARSE_BAD_SHAPE, "resource[1].file.skipped_count");
	CHECK_STATUS(job_text(J("{'resource':[{'file':{'updated_count':'9'}}]}"), &job, &err),
				 ZCRM_PARSE_BAD_SHAPE);
	CHECK_STR(err.path, "resource[0].file.updated_count");
	CHECK_STR(err.message, "expected an integer, found a string");
	expect_job_fails(J("{'resource':[{'file':{'added_count':true}}]}"),
					 ZCRM_PARSE_BAD_SHAPE, "resource[0].file.added_count");
}

static void
test_count_limits(void)
{
	ZcrmJob    *job = expect_job_ok(J("{'resource':[{'file':{'added_count':9007199254740991,"
									  "'updated_count':-9007199254740991,'skipped_count':1e3,"
									  "'total_count':2.0}}]}"));

	if (job != NULL)
	{
		CHECK_INT(job->resources[0].added_count, INT64_C(9007199254740991));
		CHECK_INT(job->resources[0].updated_count, -INT64_C(9007199254740991));
		CHECK_INT(job->resources[0].skipped_count, 1000);
		CHECK_INT(job->resources[0].total_count, 2);
		zcrm_job_free(job);
	}
	expect_job_fails(J("{'resource':[{'file':{'added_count':9007199254740992}}]}"),
					 ZCRM_PARSE_BAD_SHAPE, "resource[0].file.added_count");
	expect_job_fails(J("{'resource':[{'file':{'added_count':1e19}}]}"),
					 ZCRM_PARSE_BAD_SHAPE, "resource[0].file.added_count");
	expect_job_fails(J("{'resource':[{'file':{'added_count':-1e400}}]}"),
					 ZCRM_PARSE_BAD_SHAPE, "resource[0].file.added_count");
}

static void
test_index_int32(void)
{
	ZcrmJob    *job = expect_job_ok(J("{'resource':[{'field_mappings':[{'index':2147483647,"
									  "'parent_column_index':-2147483648}]}]}"));

	if (job != NULL)
	{
		CHECK_INT(job->resources[0].mappings[0].index, INT32_MAX);
		CHECK_INT(job->resources[0].mappings[0].parent_column_index, INT32_MIN);
		zcrm_job_free(job);
	}
	expect_job_fails(J("{'resource':[{'field_mappings':[{'index':2147483648}]}]}"),
					 ZCRM_PARSE_BAD_SHAPE, "resource[0].field_mappings[0].index");
	expect_job_fails(J("{'resource':[{},{},{'field_mappings':[{},{},{'index':1.5}]}]}"),
					 ZCRM_PARSE_BAD_SHAPE, "resource[2].field_mappings[2].index");
	expect_job_fails(J("{'resource':[{},{'field_mappings':[{},{},{'index':'1'}]}]}"),
					 ZCRM_PARSE_BAD_SHAPE, "resource[1].field_mappings[2].index");
	expect_job_fails(J("{'resource':[{'field_mappings':[{'parent_column_index':-2147483649}]}]}"),
					 ZCRM_PARSE_BAD_SHAPE, "resource[0].field_mappings[0].parent_column_index");
	expect_job_fails(J("{'resource':[{'field_mappings':[{'parent_column_index':'0'}]}]}"),
					 ZCRM_PARSE_BAD_SHAPE, "resource[0].field_mappings[0].parent_column_index");
}

static void
test_wrong_types(void)
{
	ZcrmParseError err;
	ZcrmJob    *job = NULL;

	expect_job_fails(J("{'ignore_empty':'yes'}"), ZCRM_PARSE_BAD_SHAPE, "ignore_empty");
	expect_job_fails(J("{'ignore_empty':1}"), ZCRM_PARSE_BAD_SHAPE, "ignore_empty");
	CHECK_STATUS(job_text(J("{'status':5}"), &job, &err), ZCRM_PARSE_BAD_SHAPE);
	CHECK_STR(err.path, "status");
	CHECK_STR(err.message, "expected a string, found a number");
	expect_job_fails(J("{'operation':[]}"), ZCRM_PARSE_BAD_SHAPE, "operation");
	expect_job_fails(J("{'character_encoding':{}}"), ZCRM_PARSE_BAD_SHAPE, "character_encoding");
	expect_job_fails(J("{'created_by':'someone'}"), ZCRM_PARSE_BAD_SHAPE, "created_by");
	expect_job_fails(J("{'created_by':{'name':1}}"), ZCRM_PARSE_BAD_SHAPE, "created_by.name");
	expect_job_fails(J("{'callback':[]}"), ZCRM_PARSE_BAD_SHAPE, "callback");
	expect_job_fails(J("{'callback':{'url':false}}"), ZCRM_PARSE_BAD_SHAPE, "callback.url");
	expect_job_fails(J("{'callback':{'method':0}}"), ZCRM_PARSE_BAD_SHAPE, "callback.method");
	expect_job_fails(J("{'result':3}"), ZCRM_PARSE_BAD_SHAPE, "result");
	expect_job_fails(J("{'result':{'download_url':{}}}"), ZCRM_PARSE_BAD_SHAPE,
					 "result.download_url");
	expect_job_fails(J("{'resource':[{'file':'a.csv'}]}"), ZCRM_PARSE_BAD_SHAPE,
					 "resource[0].file");
	expect_job_fails(J("{'resource':[{'file':{'name':1}}]}"), ZCRM_PARSE_BAD_SHAPE,
					 "resource[0].file.name");
	expect_job_fails(J("{'resource':[{'file':{'status':true}}]}"), ZCRM_PARSE_BAD_SHAPE,
					 "resource[0].file.status");
	expect_job_fails(J("{'resource':[{'type':1}]}"), ZCRM_PARSE_BAD_SHAPE, "resource[0].type");
	expect_job_fails(J("{'resource':[{'status':1}]}"), ZCRM_PARSE_BAD_SHAPE, "resource[0].status");
	expect_job_fails(J("{'resource':[{'code':1}]}"), ZCRM_PARSE_BAD_SHAPE, "resource[0].code");
	expect_job_fails(J("{'resource':[{'module':{'api_name':7}}]}"), ZCRM_PARSE_BAD_SHAPE,
					 "resource[0].module.api_name");
	expect_job_fails(J("{'resource':[{'field_mappings':[{'api_name':1}]}]}"),
					 ZCRM_PARSE_BAD_SHAPE, "resource[0].field_mappings[0].api_name");
	expect_job_fails(J("{'resource':[{'field_mappings':[{'format':1}]}]}"),
					 ZCRM_PARSE_BAD_SHAPE, "resource[0].field_mappings[0].format");
	expect_job_fails(J("{'resource':[{'field_mappings':[{'find_by':[]}]}]}"),
					 ZCRM_PARSE_BAD_SHAPE, "resource[0].field_mappings[0].find_by");
	expect_job_fails(J("{'resource':[{'field_mappings':[{'module':{}}]}]}"),
					 ZCRM_PARSE_BAD_SHAPE, "resource[0].field_mappings[0].module");
	expect_job_fails(J("{'resource':[{'field_mappings':{}}]}"),
					 ZCRM_PARSE_BAD_SHAPE, "resource[0].field_mappings");
	expect_job_fails(J("{'resource':[{'field_mappings':[{},'x']}]}"),
					 ZCRM_PARSE_BAD_SHAPE, "resource[0].field_mappings[1]");
}

static void
test_module_shapes(void)
{
	ZcrmParseError err;
	ZcrmJob    *job = NULL;

	CHECK_STATUS(job_text(J("{'resource':[{'module':42}]}"), &job, &err),
				 ZCRM_PARSE_BAD_SHAPE);
	CHECK_STR(err.path, "resource[0].module");
	CHECK_STR(err.message, "expected a string or an object, found a number");
	expect_job_fails(J("{'resource':[{'module':['Leads']}]}"), ZCRM_PARSE_BAD_SHAPE,
					 "resource[0].module");
	expect_job_fails(J("{'resource':[{'module':true}]}"), ZCRM_PARSE_BAD_SHAPE,
					 "resource[0].module");
}

static void
test_resource_shapes(void)
{
	ZcrmParseError err;
	ZcrmJob    *job = NULL;

	CHECK_STATUS(job_text(J("{'resource':{'type':'data'}}"), &job, &err),
				 ZCRM_PARSE_BAD_SHAPE);
	CHECK_STR(err.path, "resource");
	CHECK_STR(err.message, "expected an array, found an object");
	expect_job_fails(J("{'resource':'data'}"), ZCRM_PARSE_BAD_SHAPE, "resource");
	CHECK_STATUS(job_text(J("{'resource':['data']}"), &job, &err), ZCRM_PARSE_BAD_SHAPE);
	CHECK_STR(err.path, "resource[0]");
	CHECK_STR(err.message, "expected an object, found a string");
	expect_job_fails(J("{'resource':[{},{},[]]}"), ZCRM_PARSE_BAD_SHAPE, "resource[2]");
	expect_job_fails(J("{'resource':[{}, 1]}"), ZCRM_PARSE_BAD_SHAPE, "resource[1]");
}

static void
test_top_level_not_object(void)
{
	static const char *const docs[] = {"[]", "[{}]", "\"x\"", "12", "-1.5e3", "null",
	"true", "false", " [1] "};
	size_t		i;

	for (i = 0; i < sizeof(docs) / sizeof(docs[0]); i++)
	{
		ZcrmParseError err;
		ZcrmApiError *ae = NULL;

		expect_job_fails(docs[i], ZCRM_PARSE_BAD_SHAPE, "");
		CHECK_STATUS(apierr_text(docs[i], &ae, &err), ZCRM_PARSE_BAD_SHAPE);
		CHECK(ae == NULL);
		CHECK_STR(err.path, "");
		CHECK_STATUS(check_text(docs[i], &err), ZCRM_PARSE_BAD_SHAPE);
		CHECK_STR(err.path, "");
	}
	{
		ZcrmParseError err;
		ZcrmJob    *job = NULL;

		CHECK_STATUS(job_text("[1,2]", &job, &err), ZCRM_PARSE_BAD_SHAPE);
		CHECK_STR(err.message, "expected an object, found an array");
	}
}

static void
test_empty_body(void)
{
	static const char *const docs[] = {"", " ", "\t\r\n  \n"};
	size_t		i;
	ZcrmParseError err;
	ZcrmJob    *job = (ZcrmJob *) &job;

	for (i = 0; i < sizeof(docs) / sizeof(docs[0]); i++)
	{
		expect_job_fails(docs[i], ZCRM_PARSE_NOT_JSON, "");
		CHECK_STATUS(job_text(docs[i], &job, &err), ZCRM_PARSE_NOT_JSON);
		CHECK_STR(err.message, "the body is empty");
		CHECK_STATUS(check_text(docs[i], &err), ZCRM_PARSE_NOT_JSON);
	}
	/* a NULL body is empty, whatever the length says */
	CHECK_STATUS(zcrm_parse_job(NULL, 0, &job, &err), ZCRM_PARSE_NOT_JSON);
	CHECK(job == NULL);
	CHECK_STATUS(zcrm_parse_job(NULL, 10, &job, &err), ZCRM_PARSE_NOT_JSON);
	CHECK_STATUS(zcrm_check_document(NULL, 3, NULL), ZCRM_PARSE_NOT_JSON);
}

static void
test_invalid_json(void)
{
	static const char *const docs[] = {
		"{", "{\"id\":", "{\"id\":\"1\"", "{\"id\":\"1\",}", "{\"id\" \"1\"}",
		"{'id':'1'}", "{id:1}", "{\"id\":01}", "{\"id\":1.}", "{\"id\":.5}",
		"{\"id\":+1}", "{\"id\":-}", "{\"id\":1e}", "{\"id\":0x10}",
		"{\"id\":NaN}", "{\"id\":Infinity}", "{\"id\":tru}", "{\"id\":nul}",
		"{\"a\":[1,]}", "{\"a\":[1 2]}", "{\"a\":]", "{\"a\":[}", "{\"a\":{]}",
		"{} x", "{}{}", "{} {", "{\"a\":1}]", "{\"a\":1} // c",
		"/* c */ {}", "{\"a\":\"x\ty\"}", "{\"a\":\"x\ny\"}",
		"{\"a\":\"\\x\"}", "{\"a\":\"\\u12\"}", "{\"a\":\"\\u12g4\"}",
		"{\"a\":\"\\ud800\"}", "{\"a\":\"\\udc00\"}", "{\"a\":\"\\ud800\\u0041\"}",
		"{\"a\":\"\\ud800x\"}", "{\"a\":\"\\udc00\\ud800\"}", "{\"a\":\"abc",
		"{\"a\":\"abc\\", "{\"a\":\"abc\\\"}", "\xEF\xBB\xBF{}", "{\x0c}",
		"<html><body>502 Bad Gateway</body></html>", "\"unterminated",
		"{\"a\":1,\"b\"}", "{,}", "[,]", "{\"a\"::1}"
	};
	size_t		i;

	for (i = 0; i < sizeof(docs) / sizeof(docs[0]); i++)
	{
		ZcrmParseError err;
		ZcrmApiError *ae = NULL;
		ZcrmJob    *job = NULL;
		ZcrmParseStatus rc = job_text(docs[i], &job, &err);

		if (rc != ZCRM_PARSE_NOT_JSON)
		{
			test_failures++;
			diag("document %zu: status %s, expected NOT_JSON", i, status_name(rc));
			zcrm_job_free(job);
		}
		CHECK_STR(err.path, "");
		CHECK(err.message[0] != '\0');
		CHECK_STATUS(apierr_text(docs[i], &ae, &err), ZCRM_PARSE_NOT_JSON);
		CHECK_STATUS(check_text(docs[i], &err), ZCRM_PARSE_NOT_JSON);
	}

	/* raw NUL bytes are not JSON either */
	CHECK_STATUS(check_bytes("{\"a\":\"x\0y\"}", 11, NULL), ZCRM_PARSE_NOT_JSON);
	CHECK_STATUS(check_bytes("{}\0", 3, NULL), ZCRM_PARSE_NOT_JSON);
	CHECK_STATUS(check_bytes("\0{}", 3, NULL), ZCRM_PARSE_NOT_JSON);

	/* the body length is respected: a valid prefix before len is not enough */
	CHECK_STATUS(check_bytes("{}", 1, NULL), ZCRM_PARSE_NOT_JSON);
	CHECK_STATUS(check_bytes("{}  garbage", 2, NULL), ZCRM_PARSE_OK);
}

static void
test_valid_json_edges(void)
{
	ZcrmParseError err;

	/* whitespace everywhere JSON allows it */
	CHECK_STATUS(check_text(" \t\r\n{ \"a\" : [ 1 , { } , [ ] , \"\" ] , \"b\" : -0.5e-3 } \n", &err),
				 ZCRM_PARSE_OK);
	CHECK_STATUS(check_text("{\"a\":\"\\\"\\\\\\/\\b\\f\\n\\r\\t\\u00e9\\uD83D\\uDE00\"}", &err),
				 ZCRM_PARSE_OK);
	CHECK_STATUS(check_text("{\"\":0,\"x\":-0,\"y\":0E+0,\"z\":1e-0}", &err), ZCRM_PARSE_OK);
}

/* Nesting: 100,000 levels fail cleanly; cJSON's limit of 1000 is the edge. */
static void
test_deep_nesting(void)
{
	size_t		depth = 100000;
	char	   *json = keep(xmalloc(2 * depth + 16));
	ZcrmParseError err;
	ZcrmJob    *job = NULL;
	size_t		i;
	size_t		n;

	memset(json, '[', depth);
	memset(json + depth, ']', depth);
	CHECK_STATUS(job_bytes(json, 2 * depth, &job, &err), ZCRM_PARSE_NOT_JSON);
	CHECK_STR(err.message, "the body is nested too deeply");
	CHECK_STATUS(check_bytes(json, 2 * depth, &err), ZCRM_PARSE_NOT_JSON);
	CHECK_STATUS(check_bytes(json, depth, &err), ZCRM_PARSE_NOT_JSON);

	memset(json, '{', depth);
	CHECK_STATUS(check_bytes(json, depth, &err), ZCRM_PARSE_NOT_JSON);

	/* {"a": followed by 999 arrays: 1000 levels in all, which cJSON takes */
	n = 0;
	n += (size_t) sprintf(json, "{\"a\":");
	for (i = 0; i < 999; i++)
		json[n++] = '[';
	for (i = 0; i < 999; i++)
		json[n++] = ']';
	json[n++] = '}';
	CHECK_STATUS(check_bytes(json, n, &err), ZCRM_PARSE_OK);
	CHECK_STATUS(job_bytes(json, n, &job, &err), ZCRM_PARSE_OK);
	zcrm_job_free(job);

	/* one more level is too deep */
	n = 0;
	n += (size_t) sprintf(json, "{\"a\":");
	for (i = 0; i < 1000; i++)
		json[n++] = '[';
	for (i = 0; i < 1000; i++)
		json[n++] = ']';
	json[n++] = '}';
	CHECK_STATUS(check_bytes(json, n, &err), ZCRM_PARSE_NOT_JSON);

	/* a default_value nested to the limit is printed */
	{
		ZcrmParseStatus rc;
		const char *prefix = "{\"resource\":[{\"field_mappings\":[{\"default_value\":";
		size_t		levels = 1000 - 5;
		const char *dv;

		n = strlen(prefix);
		memcpy(json, prefix, n);
		for (i = 0; i < levels; i++)
			json[n++] = '[';
		json[n++] = '7';
		for (i = 0; i < levels; i++)
			json[n++] = ']';
		memcpy(json + n, "}]}]}", 5);
		n += 5;
		job = NULL;
		rc = job_bytes(json, n, &job, &err);
		CHECK_STATUS(rc, ZCRM_PARSE_OK);
		if (rc == ZCRM_PARSE_OK)
		{
			dv = job->resources[0].mappings[0].default_value;
			CHECK(dv != NULL && strlen(dv) == 2 * levels + 1 && dv[levels] == '7');
			zcrm_job_free(job);
		}
	}
}

static void
test_invalid_utf8(void)
{
	static const struct
	{
		const char *bytes;
		size_t		len;
	}			docs[] = {
		{"{\"a\":\"\xC3\"}", 9},	/* lead byte then a quote */
		{"{\"a\":\"x\"}\xC3", 10},	/* lone lead byte at the very end */
		{"{\"a\":\"\xFF\"}", 9},
		{"{\"a\":\"\xFE\"}", 9},
		{"{\"a\":\"\xC0\xAF\"}", 10},	/* overlong '/' */
		{"{\"a\":\"\xC1\xBF\"}", 10},	/* overlong */
		{"{\"a\":\"\xE0\x80\xAF\"}", 11},	/* overlong, 3 bytes */
		{"{\"a\":\"\xF0\x80\x80\xAF\"}", 12},	/* overlong, 4 bytes */
		{"{\"a\":\"\xED\xA0\x80\"}", 11},	/* U+D800 */
		{"{\"a\":\"\xED\xBF\xBF\"}", 11},	/* U+DFFF */
		{"{\"a\":\"\xF4\x90\x80\x80\"}", 12},	/* U+110000 */
		{"{\"a\":\"\xF5\x80\x80\x80\"}", 12},
		{"{\"a\":\"\xE6\x97\"}", 10},	/* truncated 3-byte */
		{"{\"a\":\"\xF0\x9F\x98\"}", 11},	/* truncated 4-byte */
		{"{\"a\":\"\x80\"}", 9},	/* lone continuation */
		{"{\"a\":\"\xC3\x28\"}", 10},	/* bad continuation */
		{"{\"a\":\"\xE6\x97\xA5", 9},	/* cut at the end of the body */
		{"\xC3\xA9{}", 4},		/* valid UTF-8, not JSON */
	};
	size_t		i;

	for (i = 0; i < sizeof(docs) / sizeof(docs[0]); i++)
	{
		ZcrmParseError err;
		ZcrmApiError *ae = NULL;
		ZcrmJob    *job = NULL;

		CHECK_STATUS(job_bytes(docs[i].bytes, docs[i].len, &job, &err),
					 ZCRM_PARSE_NOT_JSON);
		if (i < sizeof(docs) / sizeof(docs[0]) - 2)
			CHECK_STR(err.message, "the body is not valid UTF-8");
		CHECK_STATUS(apierr_bytes(docs[i].bytes, docs[i].len, &ae, &err),
					 ZCRM_PARSE_NOT_JSON);
		CHECK_STATUS(check_bytes(docs[i].bytes, docs[i].len, &err),
					 ZCRM_PARSE_NOT_JSON);
	}
}

/*
 * UTF-8 is checked in the same pass as the grammar, inside strings (the
 * only place the grammar allows non-ASCII bytes).  Bad UTF-8 is still
 * reported as such wherever it is: in a key, outside any string, after a
 * grammar error that comes first, after the value limit is passed.
 */
#define UTF8_DOC(bytes, message) {bytes, sizeof(bytes) - 1, message}

static void
test_invalid_utf8_first(void)
{
	static const struct
	{
		const char *bytes;
		size_t		len;
		const char *message;
	}			docs[] = {
		UTF8_DOC("{\"\xC3\x28\":1}", "the body is not valid UTF-8"),	/* in a key */
		UTF8_DOC("{\"a\":1} \x80", "the body is not valid UTF-8"),	/* after the value */
		UTF8_DOC("{\"a\":\xC3\xA9}", "the body is not valid JSON"), /* not in a string */
		UTF8_DOC("{\"a\":\xC3}", "the body is not valid UTF-8"),	/* neither */
		UTF8_DOC("{\"a\":1,}\"\xFF\"", "the body is not valid UTF-8"),	/* grammar first */
		UTF8_DOC("{\"a\":[1,2,3,\"x\",\"\xE6\x97\"]}", "the body is not valid UTF-8"),
		UTF8_DOC("{\"a\":[1,2,3,\"x\",\"\xE6\x97\xA5\"]}", NULL),	/* the limit */
		UTF8_DOC("\xEF\xBB\xBF{}", "the body is not valid JSON"),	/* a BOM is UTF-8 */
	};
	ZcrmParseLimits limits = {0, NULL};
	size_t		i;

	/*
	 * five values at most: the sixth, "x", passes the limit before the last
	 * string
	 */
	limits.max_values = 5;
	zcrm_parse_set_limits(&limits);
	for (i = 0; i < sizeof(docs) / sizeof(docs[0]); i++)
	{
		ZcrmParseError err;
		ZcrmJob    *job = NULL;
		ZcrmParseStatus rc = job_bytes(docs[i].bytes, docs[i].len, &job, &err);

		CHECK(job == NULL);
		if (docs[i].message == NULL)
		{
			CHECK_STATUS(rc, ZCRM_PARSE_TOO_MANY_VALUES);
			continue;
		}
		CHECK_STATUS(rc, ZCRM_PARSE_NOT_JSON);
		CHECK_STR(err.message, docs[i].message);
		CHECK_STATUS(check_bytes(docs[i].bytes, docs[i].len, &err),
					 ZCRM_PARSE_NOT_JSON);
		CHECK_STR(err.message, docs[i].message);
	}
	zcrm_parse_set_limits(NULL);
}

static void
test_valid_utf8_kept(void)
{
	ZcrmJob    *job = expect_job_ok("{\"created_by\":{\"name\":\"Zo\xC3\xAB\"},"
									"\"operation\":\"\xE6\x97\xA5\xE6\x9C\xAC\","
									"\"status\":\"\xF0\x9F\x98\x80 \xEF\xBF\xBF \xF4\x8F\xBF\xBF\","
									"\"resource\":[{\"module\":\"Zo\\u00eb\","
									"\"type\":\"\\ud83d\\ude00\",\"code\":\"\\u65e5\\u672C\"}]}");

	if (job == NULL)
		return;
	CHECK_STR(job->created_by_name, "Zo\xC3\xAB");
	CHECK_STR(job->operation, "\xE6\x97\xA5\xE6\x9C\xAC");
	CHECK_STR(job->status, "\xF0\x9F\x98\x80 \xEF\xBF\xBF \xF4\x8F\xBF\xBF");
	CHECK_STR(job->resources[0].module, "Zo\xC3\xAB");
	CHECK_STR(job->resources[0].type, "\xF0\x9F\x98\x80");
	CHECK_STR(job->resources[0].code, "\xE6\x97\xA5\xE6\x9C\xAC");
	zcrm_job_free(job);
}

static void
test_nul_escape(void)
{
	static const char *const nul_docs[] = {
		"{\"id\":\"a\\u0000b\"}",
		"{\"ignored\":\"\\u0000\"}",
		"{\"k\\u0000\":1}",
		"{\"x\":[\"\\\\\\u0000\"]}",	/* escaped backslash, then \u0000 */
		"{\"resource\":[{\"field_mappings\":[{\"default_value\":{\"v\":\"\\u0000\"}}]}]}",
		"{\"status\":\"error\",\"code\":\"X\\u0000\"}",
	};
	size_t		i;
	ZcrmParseError err;
	ZcrmApiError *ae = NULL;
	ZcrmJob    *job;

	for (i = 0; i < sizeof(nul_docs) / sizeof(nul_docs[0]); i++)
	{
		expect_job_fails(nul_docs[i], ZCRM_PARSE_NUL_CHAR, "");
		CHECK_STATUS(check_text(nul_docs[i], &err), ZCRM_PARSE_NUL_CHAR);
		CHECK_STATUS(apierr_text(nul_docs[i], &ae, &err), ZCRM_PARSE_NUL_CHAR);
	}

	/* "\\u0000" is a backslash followed by the text u0000 */
	job = expect_job_ok("{\"id\":\"a\\\\u0000b\",\"status\":\"\\\\\\\\u0000\"}");
	if (job != NULL)
	{
		CHECK_STR(job->id, "a\\u0000b");
		CHECK_STR(job->status, "\\\\u0000");
		zcrm_job_free(job);
	}
	/* other \u escapes of control characters are fine */
	expect_job_fails("{\"id\":\"\\u0001\\u001f\\u0000a\"}", ZCRM_PARSE_NUL_CHAR, "");
	job = expect_job_ok("{\"id\":\"\\u0001\\u001F\"}");
	if (job != NULL)
	{
		CHECK_STR(job->id, "\x01\x1F");
		zcrm_job_free(job);
	}
	/* a syntax error wins over \u0000 */
	CHECK_STATUS(check_text("{\"a\":\"\\u0000\",}", &err), ZCRM_PARSE_NOT_JSON);
}

static void
test_created_time(void)
{
	static const char *const good[] = {
		"2021-05-13T11:00:58+05:30", "2021-05-11T12:38:29Z", "2021-05-11T12:38:29-12:00",
		"2021-05-11T12:38:29.5Z", "2021-05-11T12:38:29.123456789+00:00",
		"2020-02-29T00:00:00Z", "2000-02-29T23:59:59Z", "2021-12-31T23:59:59+15:59",
		"2021-04-30T00:00:00-00:00", "0001-01-01T00:00:00Z", "9999-12-31T23:59:59Z",
	};
	static const char *const bad[] = {
		"2021-13-01T00:00:00Z", "2021-00-10T00:00:00Z", "2021-02-29T00:00:00Z",
		"1900-02-29T00:00:00Z", "2021-04-31T00:00:00Z", "2021-01-00T00:00:00Z",
		"2021-01-32T00:00:00Z", "2021-01-01T24:00:00Z", "2021-01-01T00:60:00Z",
		"2021-01-01T00:00:60Z", "2021-01-01T00:00:00", "2021-01-01T00:00:00+05",
		"2021-01-01T00:00:00+0530", "2021-01-01T00:00:00+16:00",
		"2021-01-01T00:00:00+05:60", "2021-01-01T00:00:00.Z", "2021-01-01 00:00:00Z",
		"2021-01-01t00:00:00Z", "2021-01-01T00:00:00z", "2021-1-01T00:00:00Z",
		"21-01-01T00:00:00Z", "2021-01-01T00:00:00Zx", "2021-01-01T00:00:00+05:30x",
		"2021-01-01T00:00:00.12a+05:30", "yesterday", "", "0000-01-01T00:00:00Z",
		"2021-01-01T00:00:00 Z", "+2021-01-01T00:00:00Z", "2021-01-01T0a:00:00Z",
	};
	size_t		i;
	char		doc[256];

	for (i = 0; i < sizeof(good) / sizeof(good[0]); i++)
	{
		ZcrmJob    *job;

		snprintf(doc, sizeof(doc), "{\"created_time\":\"%s\"}", good[i]);
		job = expect_job_ok(doc);
		if (job != NULL)
		{
			CHECK_STR(job->created_time, good[i]);
			zcrm_job_free(job);
		}
	}
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
	{
		snprintf(doc, sizeof(doc), "{\"created_time\":\"%s\"}", bad[i]);
		expect_job_fails(doc, ZCRM_PARSE_BAD_SHAPE, "created_time");
	}
	expect_job_fails("{\"created_time\":1620716309}", ZCRM_PARSE_BAD_SHAPE, "created_time");
	expect_job_fails("{\"created_time\":{}}", ZCRM_PARSE_BAD_SHAPE, "created_time");
	expect_job_fails_secret("{\"created_time\":\"SECRET-TOKEN\"}", ZCRM_PARSE_BAD_SHAPE,
							"created_time", "SECRET");
}

static void
test_error_bodies(void)
{
	static const struct
	{
		const char *body;
		const char *code;
		const char *message;
	}			seeds[] = {
		{NULL, "INVALID_URL_PATTERN", "Please check if the URL trying to access is a correct one"},
		{NULL, "RESOURCE_NOT_FOUND", "The requested resource doesn't exist."},
		{NULL, "AUTHENTICATION_FAILURE", "Authentication failed"},
	};
	const char *bodies[3];
	size_t		i;

	bodies[0] = ERR_URL;
	bodies[1] = ERR_NOT_FOUND;
	bodies[2] = ERR_AUTH;
	for (i = 0; i < 3; i++)
	{
		ZcrmApiError *ae = NULL;
		ZcrmParseError err;
		ZcrmParseStatus rc = apierr_text(bodies[i], &ae, &err);

		CHECK_STATUS(rc, ZCRM_PARSE_OK);
		if (rc != ZCRM_PARSE_OK || ae == NULL)
			continue;
		CHECK_STR(ae->code, seeds[i].code);
		CHECK_STR(ae->message, seeds[i].message);
		CHECK_STR(ae->details, "{}");
		zcrm_api_error_free(ae);
	}
}

static void
test_api_error_in_parse_job(void)
{
	ZcrmJob    *job = (ZcrmJob *) &job;
	ZcrmParseError err;

	expect_job_fails(ERR_URL, ZCRM_PARSE_API_ERROR, "");
	expect_job_fails(ERR_NOT_FOUND, ZCRM_PARSE_API_ERROR, "");
	expect_job_fails(ERR_AUTH, ZCRM_PARSE_API_ERROR, "");
	CHECK_STATUS(job_text(ERR_AUTH, &job, &err), ZCRM_PARSE_API_ERROR);
	CHECK(job == NULL);
	CHECK_INT(err.status, ZCRM_PARSE_API_ERROR);
	CHECK_STR(err.path, "");

	/* minimal error object */
	expect_job_fails(J("{'status':'error','code':'X'}"), ZCRM_PARSE_API_ERROR, "");

	/* no string code: not an error object, parsed as a job */
	job = expect_job_ok(J("{'status':'error'}"));
	if (job != NULL)
	{
		CHECK_STR(job->status, "error");
		zcrm_job_free(job);
	}
	job = expect_job_ok(J("{'status':'error','code':null}"));
	zcrm_job_free(job);
	/* a numeric code makes it neither an error object nor a valid job */
	job = expect_job_ok(J("{'status':'error','code':5}"));
	zcrm_job_free(job);
	/* "status" must be exactly "error" */
	job = expect_job_ok(J("{'status':'ERROR','code':'X'}"));
	zcrm_job_free(job);
	/* an error-looking object nested inside is not an error */
	job = expect_job_ok(J("{'resource':[{'status':'error','code':'X'}]}"));
	if (job != NULL)
	{
		CHECK_STR(job->resources[0].status, "error");
		zcrm_job_free(job);
	}
}

static void
test_api_error_parse_failures(void)
{
	ZcrmApiError *ae = (ZcrmApiError *) &ae;
	ZcrmParseError err;

	CHECK_STATUS(apierr_text("<html><head><title>502</title></head></html>", &ae, &err),
				 ZCRM_PARSE_NOT_JSON);
	CHECK(ae == NULL);
	CHECK_STATUS(apierr_text("", &ae, &err), ZCRM_PARSE_NOT_JSON);
	CHECK_STR(err.message, "the body is empty");
	CHECK_STATUS(apierr_text("Service Unavailable", &ae, &err), ZCRM_PARSE_NOT_JSON);

	CHECK_STATUS(apierr_text(J("{'status':'error'}"), &ae, &err), ZCRM_PARSE_BAD_SHAPE);
	CHECK(ae == NULL);
	CHECK_STR(err.path, "code");
	CHECK_STR(err.message, "expected a string, found nothing");
	CHECK_STATUS(apierr_text(J("{'code':null}"), &ae, &err), ZCRM_PARSE_BAD_SHAPE);
	CHECK_STR(err.message, "expected a string, found null");
	CHECK_STATUS(apierr_text(J("{'code':401}"), &ae, &err), ZCRM_PARSE_BAD_SHAPE);
	CHECK_STR(err.path, "code");
	CHECK_STR(err.message, "expected a string, found a number");
	CHECK_STATUS(apierr_text(J("[{'code':'X'}]"), &ae, &err), ZCRM_PARSE_BAD_SHAPE);
	CHECK_STATUS(apierr_text(J("{'Code':'X'}"), &ae, &err), ZCRM_PARSE_BAD_SHAPE);
}

static void
test_api_error_optional_fields(void)
{
	ZcrmApiError *ae = NULL;
	ZcrmParseError err;

	/* code only, whatever the status */
	CHECK_STATUS(apierr_text(J("{'code':'INVALID_TOKEN'}"), &ae, &err), ZCRM_PARSE_OK);
	if (ae != NULL)
	{
		CHECK_STR(ae->code, "INVALID_TOKEN");
		CHECK_STR(ae->message, NULL);
		CHECK_STR(ae->details, NULL);
		zcrm_api_error_free(ae);
		ae = NULL;
	}
	/* a non-string message is ignored; a null details is missing */
	CHECK_STATUS(apierr_text(J("{'code':'X','message':42,'details':null,'status':'success'}"),
							 &ae, &err), ZCRM_PARSE_OK);
	if (ae != NULL)
	{
		CHECK_STR(ae->message, NULL);
		CHECK_STR(ae->details, NULL);
		zcrm_api_error_free(ae);
		ae = NULL;
	}
	/* details of any type, compacted, numbers exact */
	CHECK_STATUS(apierr_text(J("{'code':'X','details': { 'api_name' : 'Email', 'max': 9007199254740991,"
							   " 'list':[ 1 , 'a' ] , 'n': null, 'big': 12345678901234567890 } }"),
							 &ae, &err), ZCRM_PARSE_OK);
	if (ae != NULL)
	{
		CHECK_STR(ae->details,
				  "{\"api_name\":\"Email\",\"max\":9007199254740991,\"list\":[1,\"a\"],"
				  "\"n\":null,\"big\":1.2345678901234567e+19}");
		zcrm_api_error_free(ae);
		ae = NULL;
	}
	CHECK_STATUS(apierr_text(J("{'code':'X','details':'text'}"), &ae, &err), ZCRM_PARSE_OK);
	if (ae != NULL)
	{
		CHECK_STR(ae->details, "\"text\"");
		zcrm_api_error_free(ae);
		ae = NULL;
	}
	CHECK_STATUS(apierr_text(J("{'code':'X','details':1e400}"), &ae, &err), ZCRM_PARSE_OK);
	if (ae != NULL)
	{
		CHECK_STR(ae->details, "null");
		zcrm_api_error_free(ae);
		ae = NULL;
	}
	/* a NULL err is allowed */
	CHECK_STATUS(apierr_text(ERR_AUTH, &ae, NULL), ZCRM_PARSE_OK);
	zcrm_api_error_free(ae);
}

static void
test_check_document(void)
{
	ZcrmParseError err;

	CHECK_STATUS(check_text(SAMPLE_V21, &err), ZCRM_PARSE_OK);
	CHECK_INT(err.status, ZCRM_PARSE_OK);
	CHECK_STR(err.path, "");
	CHECK_STR(err.message, "");
	CHECK_STATUS(check_text("{}", &err), ZCRM_PARSE_OK);
	CHECK_STATUS(check_text("[]", &err), ZCRM_PARSE_BAD_SHAPE);
	CHECK_STR(err.message, "expected an object, found an array");
	CHECK_STATUS(check_text(ERR_NOT_FOUND, &err), ZCRM_PARSE_API_ERROR);
	CHECK_STATUS(check_text(J("{'status':'error','code':'X'}"), &err), ZCRM_PARSE_API_ERROR);
	CHECK_STATUS(check_text(J("{'status':'error'}"), &err), ZCRM_PARSE_OK);
	CHECK_STATUS(check_text("{\"a\":", &err), ZCRM_PARSE_NOT_JSON);
	CHECK_STR(err.message, "the body is not valid JSON");
	CHECK_STATUS(check_text("{} []", &err), ZCRM_PARSE_NOT_JSON);
	CHECK_STR(err.message, "the body has text after the JSON value");
	/* shape is not checked beyond the top level */
	CHECK_STATUS(check_text(J("{'id':4150868000005392002,'resource':'x'}"), &err), ZCRM_PARSE_OK);
	CHECK_STATUS(check_text("{\"a\":\"\\u0000\"}", &err), ZCRM_PARSE_NUL_CHAR);
	CHECK_STATUS(check_text("{\"a\":\"\\\\u0000\"}", &err), ZCRM_PARSE_OK);
}

static void
test_ten_thousand_mappings(void)
{
	const int	nmap = 10000;
	size_t		size = (size_t) nmap * 160 + 512;
	char	   *json = keep(xmalloc(size));
	size_t		n = 0;
	int			i;
	struct timespec t0,
				t1;
	ZcrmJob    *job = NULL;
	ZcrmParseError err;
	ZcrmParseStatus rc;
	double		ms;

	n += (size_t) snprintf(json + n, size - n,
						   "{\"id\":\"1\",\"status\":\"COMPLETED\",\"resource\":[{\"type\":\"data\","
						   "\"module\":{\"api_name\":\"Leads\",\"id\":\"2\"},\"field_mappings\":[");
	for (i = 0; i < nmap; i++)
		n += (size_t) snprintf(json + n, size - n,
							   "%s{\"api_name\":\"Field_%d\",\"index\":%d,\"format\":null,"
							   "\"find_by\":null,\"module\":null,\"default_value\":%s,"
							   "\"parent_column_index\":%d}",
							   i ? "," : "", i, i, (i % 100) ? "null" : "{\"value\":\"d\"}",
							   i % 7);
	n += (size_t) snprintf(json + n, size - n, "]}]}");
	CHECK(n < size);

	clock_gettime(CLOCK_MONOTONIC, &t0);
	rc = job_bytes(json, n, &job, &err);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	ms = (double) (t1.tv_sec - t0.tv_sec) * 1000.0 +
		(double) (t1.tv_nsec - t0.tv_nsec) / 1e6;
	diag("10000 field mappings (%zu bytes) parsed in %.2f ms", n, ms);

	CHECK_STATUS(rc, ZCRM_PARSE_OK);
	if (rc != ZCRM_PARSE_OK)
		return;
	CHECK_INT(job->nresources, 1);
	CHECK_INT(job->resources[0].nmappings, nmap);
	if (job->resources[0].nmappings == nmap)
	{
		int			bad = 0;

		for (i = 0; i < nmap; i++)
		{
			const ZcrmFieldMapping *m = &job->resources[0].mappings[i];
			char		name[32];

			snprintf(name, sizeof(name), "Field_%d", i);
			if (m->api_name == NULL || strcmp(m->api_name, name) != 0 ||
				!m->has_index || m->index != i ||
				!m->has_parent_column_index || m->parent_column_index != i % 7 ||
				((i % 100) == 0) != (m->default_value != NULL) ||
				(m->default_value && strcmp(m->default_value, "{\"value\":\"d\"}") != 0))
				bad++;
		}
		CHECK_INT(bad, 0);
	}
	zcrm_job_free(job);
}

static void
test_default_value_numbers(void)
{
	ZcrmParseStatus rc;
	ZcrmParseError err;
	const char *dv;

	dv = default_value_of("12345678901234567890", &rc, &err);
	CHECK_STATUS(rc, ZCRM_PARSE_BAD_SHAPE);
	CHECK_STR(err.path, "resource[0].field_mappings[0].default_value");
	dv = default_value_of("{\"a\":[1,{\"b\":-12345678901234567890}]}", &rc, &err);
	CHECK_STATUS(rc, ZCRM_PARSE_BAD_SHAPE);
	CHECK_STR(err.path, "resource[0].field_mappings[0].default_value");
	dv = default_value_of("9007199254740992", &rc, &err);
	CHECK_STATUS(rc, ZCRM_PARSE_BAD_SHAPE);
	dv = default_value_of("1e400", &rc, &err);
	CHECK_STATUS(rc, ZCRM_PARSE_BAD_SHAPE);
	dv = default_value_of("[1e300]", &rc, &err);
	CHECK_STATUS(rc, ZCRM_PARSE_BAD_SHAPE);

	dv = default_value_of("1.5", &rc, &err);
	CHECK_STATUS(rc, ZCRM_PARSE_OK);
	CHECK_STR(dv, "1.5");
	dv = default_value_of("{\"value\" : 1.5}", &rc, &err);
	CHECK_STR(dv, "{\"value\":1.5}");

	/* exact where cJSON's own printer is not (it gives 9.00719925474099e+15) */
	dv = default_value_of("9007199254740991", &rc, &err);
	CHECK_STR(dv, "9007199254740991");
	dv = default_value_of("[-9007199254740991, 9000000000000001, 4150868000005392]", &rc, &err);
	CHECK_STR(dv, "[-9007199254740991,9000000000000001,4150868000005392]");
	dv = default_value_of("[1.0000000000000002, 0.1, 123456789012345.6, 1e-7, 2.5E+3, -0, 0.0]",
						  &rc, &err);
	CHECK_STR(dv, "[1.0000000000000002,0.1,123456789012345.6,1e-07,2500,-0,0]");
	dv = default_value_of("[5e-324, 2.2250738585072014e-308, 0.30000000000000004]", &rc, &err);
	CHECK_STR(dv, "[4.94065645841247e-324,2.2250738585072014e-308,0.30000000000000004]");

	/* other JSON is kept as compact text */
	dv = default_value_of("\"text\"", &rc, &err);
	CHECK_STR(dv, "\"text\"");
	dv = default_value_of("true", &rc, &err);
	CHECK_STR(dv, "true");
	dv = default_value_of("[]", &rc, &err);
	CHECK_STR(dv, "[]");
	dv = default_value_of("{ \"name\" : \"A \\\"q\\\" \\u00e9\\n\" , \"v\" : [ ] }", &rc, &err);
	CHECK_STR(dv, "{\"name\":\"A \\\"q\\\" \xC3\xA9\\n\",\"v\":[]}");
	dv = default_value_of("null", &rc, &err);
	CHECK_STATUS(rc, ZCRM_PARSE_OK);
	CHECK_STR(dv, NULL);
}

static void
test_messages_hold_no_body_text(void)
{
	expect_job_fails_secret(J("{'id':'1','status':{'SECRET':1}}"), ZCRM_PARSE_BAD_SHAPE,
							"status", "SECRET");
	expect_job_fails_secret(J("{'resource':[{'file':{'added_count':'SECRET'}}]}"),
							ZCRM_PARSE_BAD_SHAPE, "resource[0].file.added_count", "SECRET");
	expect_job_fails_secret(J("{'SECRET':1,'id':[]}"), ZCRM_PARSE_BAD_SHAPE, "id", "SECRET");
	expect_job_fails_secret(J("{'a':'SECRET' x}"), ZCRM_PARSE_NOT_JSON, "", "SECRET");
}

static void
test_unknown_keys_and_duplicates(void)
{
	ZcrmJob    *job = expect_job_ok(J("{'extra':{'deep':[[{'x':[1,2,{'y':null}]}]]},'id':'1',"
									  "'ID':'2','Status':5,'resource':[{'extra':true,'Module':1,"
									  "'field_mappings':[{'x':1}]}]}"));

	if (job != NULL)
	{
		CHECK_STR(job->id, "1");
		CHECK_STR(job->status, NULL);
		CHECK_STR(job->resources[0].module, NULL);
		zcrm_job_free(job);
	}

	/* cJSON keeps duplicate keys; the lookup sees the first one */
	job = expect_job_ok(J("{'id':'first','id':'second'}"));
	if (job != NULL)
	{
		CHECK_STR(job->id, "first");
		zcrm_job_free(job);
	}
	/* ... even when a later duplicate has a type that would be refused */
	job = expect_job_ok(J("{'id':'first','id':[]}"));
	if (job != NULL)
	{
		CHECK_STR(job->id, "first");
		zcrm_job_free(job);
	}
}

static void
test_number_length_limit(void)
{
	char		doc[256];
	char		digits[80];
	ZcrmParseError err;

	/* 63 characters is what cJSON reads; 64 would be misread by it */
	memset(digits, '1', sizeof(digits));
	snprintf(doc, sizeof(doc), "{\"x\":%.63s}", digits);
	CHECK_STATUS(check_text(doc, &err), ZCRM_PARSE_OK);
	snprintf(doc, sizeof(doc), "{\"x\":%.64s}", digits);
	CHECK_STATUS(check_text(doc, &err), ZCRM_PARSE_NOT_JSON);
	CHECK_STR(err.message, "the body holds a number written with too many characters");
	snprintf(doc, sizeof(doc), "{\"x\":[-0.%.60se1]}", digits);
	CHECK_STATUS(check_text(doc, &err), ZCRM_PARSE_NOT_JSON);
	snprintf(doc, sizeof(doc), "{\"x\":[-0.%.58se1]}", digits);
	CHECK_STATUS(check_text(doc, &err), ZCRM_PARSE_OK);
}

static void
test_null_arguments(void)
{
	ZcrmParseError err;

	zcrm_job_free(NULL);
	zcrm_api_error_free(NULL);
	/* a NULL out pointer: the result is computed and dropped */
	CHECK_STATUS(zcrm_parse_job("{}", 2, NULL, &err), ZCRM_PARSE_OK);
	CHECK_STATUS(zcrm_parse_job("{}", 2, NULL, NULL), ZCRM_PARSE_OK);
	CHECK_STATUS(zcrm_parse_api_error("{\"code\":\"X\"}", 12, NULL, NULL), ZCRM_PARSE_OK);
	CHECK_STATUS(zcrm_parse_job("{\"id\":1.5}", 10, NULL, NULL), ZCRM_PARSE_BAD_SHAPE);
	CHECK_STATUS(zcrm_check_document("{}", 2, NULL), ZCRM_PARSE_OK);
}

/* Every prefix of the samples: no crash, and only the expected statuses. */
static void
test_every_prefix(void)
{
	const char *samples[4];
	size_t		s;

	samples[0] = SAMPLE_V21;
	samples[1] = SAMPLE_V5;
	samples[2] = ERR_NOT_FOUND;
	samples[3] = "{\"created_by\":{\"name\":\"Zo\xC3\xAB \xE6\x97\xA5 \xF0\x9F\x98\x80\"}}";

	for (s = 0; s < 4; s++)
	{
		size_t		full = strlen(samples[s]);
		size_t		len;
		int			bad = 0;

		for (len = 0; len <= full; len++)
		{
			ZcrmJob    *job = NULL;
			ZcrmApiError *ae = NULL;
			ZcrmParseError err;
			ZcrmParseStatus rj = job_bytes(samples[s], len, &job, &err);
			ZcrmParseStatus ra = apierr_bytes(samples[s], len, &ae, &err);
			ZcrmParseStatus rc = check_bytes(samples[s], len, &err);

			zcrm_job_free(job);
			zcrm_api_error_free(ae);
			if (len < full)
			{
				if (rj != ZCRM_PARSE_NOT_JSON || ra != ZCRM_PARSE_NOT_JSON ||
					rc != ZCRM_PARSE_NOT_JSON)
				{
					bad++;
					diag("sample %zu prefix %zu: %s %s %s", s, len,
						 status_name(rj), status_name(ra), status_name(rc));
				}
			}
			else
			{
				bool		is_error = (s == 2);

				CHECK_STATUS(rj, is_error ? ZCRM_PARSE_API_ERROR : ZCRM_PARSE_OK);
				CHECK_STATUS(ra, is_error ? ZCRM_PARSE_OK : ZCRM_PARSE_BAD_SHAPE);
				CHECK_STATUS(rc, is_error ? ZCRM_PARSE_API_ERROR : ZCRM_PARSE_OK);
			}
		}
		CHECK_INT(bad, 0);
	}
}

/* Touch every string of a job so that ASan/valgrind vet the memory. */
static size_t
walk_job(const ZcrmJob *job)
{
	size_t		total = 0;
	int			i,
				k;

#define TOUCH(p) (total += (p) != NULL ? strlen(p) : 0)
	TOUCH(job->id);
	TOUCH(job->status);
	TOUCH(job->operation);
	TOUCH(job->character_encoding);
	TOUCH(job->created_time);
	TOUCH(job->created_by_id);
	TOUCH(job->created_by_name);
	TOUCH(job->callback_url);
	TOUCH(job->callback_method);
	TOUCH(job->download_url);
	for (i = 0; i < job->nresources; i++)
	{
		const ZcrmResource *r = &job->resources[i];

		TOUCH(r->type);
		TOUCH(r->module);
		TOUCH(r->module_id);
		TOUCH(r->status);
		TOUCH(r->code);
		TOUCH(r->file_name);
		TOUCH(r->file_status);
		for (k = 0; k < r->nmappings; k++)
		{
			TOUCH(r->mappings[k].api_name);
			TOUCH(r->mappings[k].format);
			TOUCH(r->mappings[k].find_by);
			TOUCH(r->mappings[k].module);
			TOUCH(r->mappings[k].default_value);
		}
	}
#undef TOUCH
	return total;
}

static uint32_t rng_state = 12345;

static uint32_t
rng(void)
{
	rng_state = rng_state * 1103515245u + 12345u;
	return rng_state >> 8;
}

/*
 * Mutate the samples at random (fixed seed): whatever comes out, the
 * three functions must agree with cJSON (never accept what cJSON rejects),
 * never report NO_MEMORY, and leave memory clean.
 */
static void
test_mutations(void)
{
	static const char pieces[] = "{}[]\":,0123456789-+.eE\\u nulltruefalse\x00\xff\xc3\xa9\xed\xf4";
	const char *samples[4];
	char		buf[4096];
	int			iter;
	int			ok_jobs = 0;
	int			bad = 0;

	samples[0] = SAMPLE_V21;
	samples[1] = SAMPLE_V5;
	samples[2] = ERR_URL;
	samples[3] = SAMPLE_V2;

	for (iter = 0; iter < 20000; iter++)
	{
		const char *src = samples[iter % 4];
		size_t		len = strlen(src);
		int			nmut = 1 + (int) (rng() % 4);
		int			k;
		ZcrmJob    *job = NULL;
		ZcrmApiError *ae = NULL;
		ZcrmParseError err;
		ZcrmParseStatus rj,
					ra,
					rc;
		cJSON	   *tree;
		const char *end = NULL;
		bool		cjson_ok;

		memcpy(buf, src, len);
		for (k = 0; k < nmut && len > 2; k++)
		{
			size_t		pos = rng() % len;
			char		c = pieces[rng() % (sizeof(pieces) - 1)];

			switch (rng() % 4)
			{
				case 0:			/* replace */
					buf[pos] = c;
					break;
				case 1:			/* delete */
					memmove(buf + pos, buf + pos + 1, len - pos - 1);
					len--;
					break;
				case 2:			/* insert */
					if (len + 1 < sizeof(buf))
					{
						memmove(buf + pos + 1, buf + pos, len - pos);
						buf[pos] = c;
						len++;
					}
					break;
				default:		/* truncate */
					len = pos + 1;
					break;
			}
		}

		rj = job_bytes(buf, len, &job, &err);
		ra = apierr_bytes(buf, len, &ae, &err);
		rc = check_bytes(buf, len, &err);
		if (rj == ZCRM_PARSE_OK)
		{
			ok_jobs++;
			(void) walk_job(job);
			zcrm_job_free(job);
		}
		if (ra == ZCRM_PARSE_OK)
		{
			if (ae->code == NULL)
				bad++;
			zcrm_api_error_free(ae);
		}
		if (rj == ZCRM_PARSE_NO_MEMORY || ra == ZCRM_PARSE_NO_MEMORY ||
			rc == ZCRM_PARSE_NO_MEMORY)
			bad++;

		/* the three functions see the same text the same way */
		if ((rj == ZCRM_PARSE_NOT_JSON) != (rc == ZCRM_PARSE_NOT_JSON) ||
			(rj == ZCRM_PARSE_NOT_JSON) != (ra == ZCRM_PARSE_NOT_JSON) ||
			(rj == ZCRM_PARSE_NUL_CHAR) != (rc == ZCRM_PARSE_NUL_CHAR))
			bad++;

		/* what we accept as JSON, cJSON accepts too */
		tree = cJSON_ParseWithLengthOpts(buf, len, &end, 0);
		cjson_ok = tree != NULL;
		if (cjson_ok)
		{
			size_t		p = (size_t) (end - buf);

			while (p < len && (buf[p] == ' ' || buf[p] == '\n' ||
							   buf[p] == '\r' || buf[p] == '\t'))
				p++;
			cjson_ok = (p == len);
		}
		cJSON_Delete(tree);
		if (rc != ZCRM_PARSE_NOT_JSON && !cjson_ok)
			bad++;
	}
	diag("20000 mutations, %d parsed as jobs", ok_jobs);
	CHECK_INT(bad, 0);
	CHECK(ok_jobs > 0);
}

/* Functions run under allocation failure injection. */
typedef ZcrmParseStatus (*RunFn) (const char *json);

static ZcrmParseStatus
run_job(const char *json)
{
	ZcrmJob    *job = NULL;
	ZcrmParseError err;
	ZcrmParseStatus rc = job_text(json, &job, &err);

	if (rc == ZCRM_PARSE_OK)
	{
		(void) walk_job(job);
		zcrm_job_free(job);
	}
	else if (job != NULL || err.status != rc)
		return (ZcrmParseStatus) -1;
	return rc;
}

static ZcrmParseStatus
run_apierr(const char *json)
{
	ZcrmApiError *ae = NULL;
	ZcrmParseError err;
	ZcrmParseStatus rc = apierr_text(json, &ae, &err);

	if (rc == ZCRM_PARSE_OK)
		zcrm_api_error_free(ae);
	else if (ae != NULL || err.status != rc)
		return (ZcrmParseStatus) -1;
	return rc;
}

static ZcrmParseStatus
run_check(const char *json)
{
	return check_text(json, NULL);
}

/*
 * Fail the 1st, 2nd, ... allocation in turn until a run makes no
 * allocation fail; each failing run must report NO_MEMORY, and the leak
 * checkers see that nothing is left behind.
 */
static void
expect_clean_failures_at(RunFn fn, const char *json, ZcrmParseStatus want,
						 const char *file, int line)
{
	cJSON_Hooks hooks = {hook_malloc, free};
	char	   *copy = keep(xmalloc(strlen(json) + 1));
	long		k;
	long		runs = 0;
	int			bad = 0;

	strcpy(copy, json);
	cJSON_InitHooks(&hooks);
	for (k = 0; k < 100000; k++)
	{
		ZcrmParseStatus rc;

		alloc_count = 0;
		alloc_failed = false;
		alloc_fail_at = k;
		rc = fn(copy);
		alloc_fail_at = -1;
		runs++;
		if (!alloc_failed)
		{
			if (rc != want)
			{
				bad++;
				diag("%s:%d: without failures: %s, expected %s", file, line,
					 status_name(rc), status_name(want));
			}
			break;
		}
		alloc_failures_total++;
		if (rc != ZCRM_PARSE_NO_MEMORY)
		{
			bad++;
			diag("%s:%d: allocation %ld failed: %s, expected NO_MEMORY",
				 file, line, k, status_name(rc));
		}
	}
	cJSON_InitHooks(NULL);
	if (bad)
		test_failures++;
	if (runs < 2 && want != ZCRM_PARSE_NOT_JSON)
	{
		test_failures++;
		diag("%s:%d: no allocation was seen", file, line);
	}
}

#define expect_clean_failures(fn, json, want) \
	expect_clean_failures_at((fn), (json), (want), __FILE__, __LINE__)

static void
test_out_of_memory(void)
{
	expect_clean_failures(run_job, SAMPLE_V21, ZCRM_PARSE_OK);
	expect_clean_failures(run_job, SAMPLE_V5, ZCRM_PARSE_OK);
	expect_clean_failures(run_job, SAMPLE_V2, ZCRM_PARSE_OK);
	expect_clean_failures(run_job, J("{'resource':[{'field_mappings':[{},{'index':1.5}]}]}"),
						  ZCRM_PARSE_BAD_SHAPE);
	expect_clean_failures(run_job, J("{'resource':[{'field_mappings':[{'default_value':"
									 "[1,2,{'a':123456789012345678901}]}]}]}"),
						  ZCRM_PARSE_BAD_SHAPE);
	expect_clean_failures(run_job, ERR_URL, ZCRM_PARSE_API_ERROR);
	expect_clean_failures(run_job, "[1,2,3]", ZCRM_PARSE_BAD_SHAPE);
	expect_clean_failures(run_apierr, ERR_URL, ZCRM_PARSE_OK);
	expect_clean_failures(run_apierr, J("{'code':'X','message':'m','details':{'a':[1,2.5,'x']}}"),
						  ZCRM_PARSE_OK);
	expect_clean_failures(run_apierr, J("{'code':1}"), ZCRM_PARSE_BAD_SHAPE);
	expect_clean_failures(run_check, SAMPLE_V21, ZCRM_PARSE_OK);
	expect_clean_failures(run_check, ERR_AUTH, ZCRM_PARSE_API_ERROR);

	/* a large document needs several arena blocks */
	{
		size_t		size = 300 * 120 + 100;
		char	   *json = keep(xmalloc(size));
		size_t		n = 0;
		int			i;

		n += (size_t) snprintf(json + n, size - n, "{\"resource\":[{\"field_mappings\":[");
		for (i = 0; i < 300; i++)
			n += (size_t) snprintf(json + n, size - n,
								   "%s{\"api_name\":\"Field_%d_with_a_long_name_to_fill_blocks\","
								   "\"default_value\":[%d]}", i ? "," : "", i, i);
		snprintf(json + n, size - n, "]}]}");
		expect_clean_failures(run_job, json, ZCRM_PARSE_OK);
	}
	diag("%ld allocation failures injected", alloc_failures_total);
}


/* ----------------------------------------------------------------
 * Runner
 * ----------------------------------------------------------------
 */

/* "n" tiny resources: {"id":"1","resource":[{},...]}, n + 3 JSON values. */
static char *
tiny_resources(int n, size_t *len)
{
	char	   *json = keep(xmalloc((size_t) n * 3 + 64));
	size_t		k = (size_t) sprintf(json, "{\"id\":\"1\",\"resource\":[");

	for (int i = 0; i < n; i++)
		k += (size_t) sprintf(json + k, "%s{}", i ? "," : "");
	k += (size_t) sprintf(json + k, "]}");
	*len = k;
	return json;
}

static int	interrupt_calls;
static int	interrupt_at;

static bool
interrupt_after(void)
{
	return ++interrupt_calls >= interrupt_at;
}

/* zcrm_parse_set_limits(): the value limit, then the interrupt check */
static void
test_parse_limits(void)
{
	ZcrmParseLimits limits = {10003, NULL};
	size_t		len;
	size_t		len2;
	char	   *json = tiny_resources(10000, &len);
	char	   *text2 = tiny_resources(20000, &len2);
	ZcrmJob    *job = NULL;
	ZcrmParseError err;

	zcrm_parse_set_limits(&limits);
	CHECK_STATUS(job_bytes(json, len, &job, &err), ZCRM_PARSE_OK);
	CHECK(job != NULL && job->nresources == 10000);
	zcrm_job_free(job);
	limits.max_values = 10002;
	zcrm_parse_set_limits(&limits);
	CHECK_STATUS(job_bytes(json, len, &job, &err), ZCRM_PARSE_TOO_MANY_VALUES);
	CHECK(job == NULL);
	CHECK_INT(err.status, ZCRM_PARSE_TOO_MANY_VALUES);
	CHECK_STATUS(zcrm_check_document(json, len, &err), ZCRM_PARSE_TOO_MANY_VALUES);

	/*
	 * 20003 values, 20006 tree allocations, 20000 resources: 4 + 4 + 4 polls.
	 * Stopped at the 1st (in the scan), the 6th (in cJSON) and the 10th (in
	 * the fill loop): nothing returned, nothing leaked.
	 */
	limits.max_values = 0;
	limits.interrupted = interrupt_after;
	zcrm_parse_set_limits(&limits);
	for (interrupt_at = 1; interrupt_at <= 10; interrupt_at += interrupt_at < 6 ? 5 : 4)
	{
		interrupt_calls = 0;
		CHECK_STATUS(job_bytes(text2, len2, &job, &err), ZCRM_PARSE_INTERRUPTED);
		CHECK(job == NULL);
		CHECK_INT(interrupt_calls, interrupt_at);
	}
	interrupt_calls = 0;
	interrupt_at = 1000;
	CHECK_STATUS(job_bytes(text2, len2, &job, &err), ZCRM_PARSE_OK);
	CHECK_INT(interrupt_calls, 4 + 4 + 4);
	zcrm_job_free(job);
	zcrm_parse_set_limits(NULL);
}

/* text with every copy of the secrets redacted, per zcrm_find_secrets */
static char *
redacted(const char *json, const char *const *secrets)
{
	ZcrmSpan   *spans;
	size_t		nspans;
	size_t		len = strlen(json);
	char	   *out = keep(xmalloc(len * 10 + 1));
	size_t		k = 0;
	size_t		s = 0;

	if (!zcrm_find_secrets(json, len, secrets, &spans, &nspans))
		return "(out of memory)";
	for (size_t i = 0; i < len;)
	{
		if (s < nspans && spans[s].start == i)
		{
			k += (size_t) sprintf(out + k, "[R]");
			i = spans[s++].end;
		}
		else
			out[k++] = json[i++];
	}
	out[k] = '\0';
	free(spans);
	return out;
}

/* ----------------------------------------------------------------
 * The JSON layer (json.h) on its own
 * ----------------------------------------------------------------
 */

/* A tree loaded with zcrm_json_load_object() and a context to read it. */
typedef struct JsonFixture
{
	char	   *body;
	cJSON	   *root;
	ZcrmJsonCtx ctx;
	ZcrmParseError err;
} JsonFixture;

static ZcrmParseStatus
json_open(JsonFixture *fx, const char *json)
{
	size_t		len = strlen(json);
	ZcrmParseStatus rc;

	memset(fx, 0, sizeof(*fx));
	fx->body = exact_copy(json, len);
	fx->ctx.err = &fx->err;
	zcrm_json_tree_begin();
	rc = zcrm_json_load_object(fx->body, len, &fx->root, &fx->err);
	return rc;
}

static void
json_close(JsonFixture *fx)
{
	zcrm_arena_free(fx->ctx.arena);
	zcrm_json_tree_end();
	free(fx->body);
}

/* Expect the last accessor to have failed with this path and message. */
#define CHECK_SHAPE(rc, want_path, want_message) \
	do { \
		CHECK_STATUS((rc), ZCRM_PARSE_BAD_SHAPE); \
		CHECK_INT(fx.err.status, ZCRM_PARSE_BAD_SHAPE); \
		CHECK_STR(fx.err.path, (want_path)); \
		CHECK_STR(fx.err.message, (want_message)); \
	} while (0)

/* Typed accessors: absent, null, the right type, the wrong one. */
static void
test_json_accessors(void)
{
	JsonFixture fx;
	ZcrmJsonCtx *ctx = &fx.ctx;
	const char *s;
	bool		has;
	bool		b;
	int64_t		i64;
	int32_t		i32;
	cJSON	   *item;
	size_t		count;

	CHECK_STATUS(json_open(&fx, J("{'s':'x','n':null,'b':true,'i':42,"
								  "'f':1.5,'big':9007199254740992,"
								  "'neg':-9007199254740991,'id':123,"
								  "'o':{'k':[1,2]},'a':[1,null]}")),
				 ZCRM_PARSE_OK);

	CHECK_STATUS(zcrm_json_get_string(ctx, fx.root, "s", &s), ZCRM_PARSE_OK);
	CHECK_STR(s, "x");
	CHECK_STATUS(zcrm_json_get_string(ctx, fx.root, "n", &s), ZCRM_PARSE_OK);
	CHECK(s == NULL);
	CHECK_STATUS(zcrm_json_get_string(ctx, fx.root, "gone", &s), ZCRM_PARSE_OK);
	CHECK(s == NULL);
	CHECK_STATUS(zcrm_json_get_string(ctx, NULL, "s", &s), ZCRM_PARSE_OK);
	CHECK(s == NULL);
	CHECK_SHAPE(zcrm_json_get_string(ctx, fx.root, "b", &s), "b",
				"expected a string, found a boolean");
	CHECK(s == NULL);

	CHECK_STATUS(zcrm_json_get_bool(ctx, fx.root, "b", &has, &b), ZCRM_PARSE_OK);
	CHECK(has && b);
	CHECK_STATUS(zcrm_json_get_bool(ctx, fx.root, "n", &has, &b), ZCRM_PARSE_OK);
	CHECK(!has && !b);
	CHECK_SHAPE(zcrm_json_get_bool(ctx, fx.root, "i", &has, &b), "i",
				"expected a boolean, found a number");

	CHECK_STATUS(zcrm_json_get_integer(ctx, fx.root, "i", 0, 100, &has, &i64),
				 ZCRM_PARSE_OK);
	CHECK(has);
	CHECK_INT(i64, 42);
	CHECK_SHAPE(zcrm_json_get_integer(ctx, fx.root, "i", 0, 10, &has, &i64),
				"i", "expected an integer, found a number out of range");
	CHECK(!has);
	CHECK_SHAPE(zcrm_json_get_integer(ctx, fx.root, "f", 0, 10, &has, &i64),
				"f", "expected an integer, found a fractional number");
	CHECK(!has);
	CHECK_INT(i64, 0);
	CHECK_SHAPE(zcrm_json_get_int32(ctx, fx.root, "big", &has, &i32), "big",
				"expected an integer, found a number out of range");
	CHECK_INT(i32, 0);
	CHECK_SHAPE(zcrm_json_get_count(ctx, fx.root, "big", &has, &i64), "big",
				"expected an integer, found a number out of range");
	CHECK_STATUS(zcrm_json_get_count(ctx, fx.root, "neg", &has, &i64),
				 ZCRM_PARSE_OK);
	CHECK_INT(i64, -9007199254740991LL);

	CHECK_STATUS(zcrm_json_get_id(ctx, fx.root, "id", &s), ZCRM_PARSE_OK);
	CHECK_STR(s, "123");
	CHECK_STATUS(zcrm_json_get_id(ctx, fx.root, "s", &s), ZCRM_PARSE_OK);
	CHECK_STR(s, "x");
	CHECK_SHAPE(zcrm_json_get_id(ctx, fx.root, "big", &s), "big",
				"a numeric id above 2^53-1 cannot be held exactly; it must be sent as a string");
	CHECK_SHAPE(zcrm_json_get_id(ctx, fx.root, "o", &s), "o",
				"expected a string or an integer, found an object");

	CHECK_STATUS(zcrm_json_get_object(ctx, fx.root, "o", &item), ZCRM_PARSE_OK);
	CHECK(item != NULL && cJSON_IsObject(item));
	CHECK_SHAPE(zcrm_json_get_object(ctx, fx.root, "a", &item), "a",
				"expected an object, found an array");
	CHECK(item == NULL);
	CHECK_STATUS(zcrm_json_get_array(ctx, fx.root, "a", &item, &count),
				 ZCRM_PARSE_OK);
	CHECK(item != NULL);
	CHECK_INT(count, 2);
	CHECK_STATUS(zcrm_json_get_array(ctx, fx.root, "n", &item, &count),
				 ZCRM_PARSE_OK);
	CHECK(item == NULL);
	CHECK_INT(count, 0);
	CHECK_SHAPE(zcrm_json_get_array(ctx, fx.root, "s", &item, &count), "s",
				"expected an array, found a string");
	json_close(&fx);
}

/* Exact JSON text: strict refuses what a double cannot hold exactly. */
static void
test_json_text(void)
{
	JsonFixture fx;
	const char *s;

	CHECK_STATUS(json_open(&fx, J("{'t':{'v':9007199254740991,'w':[0.1,-0]},"
								  "'u':[9007199254740993],'n':null}")),
				 ZCRM_PARSE_OK);
	CHECK_STATUS(zcrm_json_get_json_text(&fx.ctx, fx.root, "t", true, &s),
				 ZCRM_PARSE_OK);
	CHECK_STR(s, J("{'v':9007199254740991,'w':[0.1,-0]}"));
	CHECK_STATUS(zcrm_json_get_json_text(&fx.ctx, fx.root, "n", true, &s),
				 ZCRM_PARSE_OK);
	CHECK(s == NULL);
	CHECK_SHAPE(zcrm_json_get_json_text(&fx.ctx, fx.root, "u", true, &s), "u",
				"holds an integer above 2^53-1 that cannot be held exactly");
	CHECK_STATUS(zcrm_json_get_json_text(&fx.ctx, fx.root, "u", false, &s),
				 ZCRM_PARSE_OK);
	CHECK_STR(s, "[9007199254740992]");
	json_close(&fx);
}

typedef struct JsonElem
{
	const char *x;
} JsonElem;

static ZcrmParseStatus
fill_json_elem(ZcrmJsonCtx *ctx, const cJSON *obj, void *elem)
{
	return zcrm_json_get_string(ctx, obj, "x", &((JsonElem *) elem)->x);
}

/* Fill JsonElem structs from the array at fx->root.o.<key>. */
static ZcrmParseStatus
fill_json_elems(JsonFixture *fx, const char *key, void **elems, size_t *count)
{
	cJSON	   *arr;
	ZcrmParseStatus rc;

	rc = zcrm_json_get_array(&fx->ctx, cJSON_GetObjectItem(fx->root, "o"), key,
							 &arr, count);
	if (rc != ZCRM_PARSE_OK)
		return rc;
	return zcrm_json_parse_elements(&fx->ctx, key, arr, *count,
									sizeof(JsonElem), elems, fill_json_elem);
}

/* Paths: keys and indexes nest, and pop back to where they were. */
static void
test_json_paths(void)
{
	JsonFixture fx;
	size_t		count;
	void	   *elems;
	JsonElem   *e;
	size_t		saved;
	bool		has;
	int64_t		v;

	CHECK_STATUS(json_open(&fx, J("{'o':{'a':[{'x':'1'},null,{'x':'3'}],"
								  "'b':[{'x':'1'},{'x':2}],'c':[{},7]}}")),
				 ZCRM_PARSE_OK);
	saved = zcrm_json_path_push_key(&fx.ctx, "o");
	CHECK_INT(saved, 0);
	CHECK_STR(fx.ctx.path, "o");

	CHECK_STATUS(fill_json_elems(&fx, "a", &elems, &count), ZCRM_PARSE_OK);
	e = elems;
	CHECK_INT(count, 3);
	CHECK_STR(e[0].x, "1");
	CHECK(e[1].x == NULL);		/* a null element stays zeroed */
	CHECK_STR(e[2].x, "3");
	CHECK_STR(fx.ctx.path, "o");

	CHECK_SHAPE(fill_json_elems(&fx, "b", &elems, &count),
				"o.b[1].x", "expected a string, found a number");
	CHECK_STR(fx.ctx.path, "o");

	CHECK_SHAPE(fill_json_elems(&fx, "c", &elems, &count),
				"o.c[1]", "expected an object, found a number");

	CHECK_SHAPE(zcrm_json_get_integer(&fx.ctx, fx.root, "o", 0, 1, &has, &v),
				"o.o", "expected an integer, found an object");
	CHECK_SHAPE(zcrm_json_shape_error(&fx.ctx, NULL, "%s %d", "at", 1),
				"o", "at 1");
	zcrm_json_path_pop(&fx.ctx, saved);
	CHECK_STR(fx.ctx.path, "");
	CHECK_SHAPE(zcrm_json_shape_error(&fx.ctx, "k", "here"), "k", "here");
	json_close(&fx);
}

/* Stages 1 and 2 on their own: the scan takes any value, loading an object. */
static void
test_json_scan_and_load(void)
{
	static const struct
	{
		const char *json;
		ZcrmParseStatus scan;
		ZcrmParseStatus load;
		const char *message;	/* of the load */
	}			cases[] = {
		{"{}", ZCRM_PARSE_OK, ZCRM_PARSE_OK, ""},
		{"'s'", ZCRM_PARSE_OK, ZCRM_PARSE_BAD_SHAPE, "expected an object, found a string"},
		{"[1]", ZCRM_PARSE_OK, ZCRM_PARSE_BAD_SHAPE, "expected an object, found an array"},
		{"null", ZCRM_PARSE_OK, ZCRM_PARSE_BAD_SHAPE, "expected an object, found null"},
		{" \n", ZCRM_PARSE_NOT_JSON, ZCRM_PARSE_NOT_JSON, "the body is empty"},
		{"{} x", ZCRM_PARSE_NOT_JSON, ZCRM_PARSE_NOT_JSON, "the body has text after the JSON value"},
		{"{'a':'\\u0000'}", ZCRM_PARSE_NUL_CHAR, ZCRM_PARSE_NUL_CHAR, "a string holds \\u0000, which text cannot store"},
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
	{
		const char *json = J(cases[i].json);
		char	   *copy = exact_copy(json, strlen(json));
		ZcrmParseError err;
		JsonFixture fx;

		CHECK_STATUS(zcrm_json_scan(copy, strlen(json), &err), cases[i].scan);
		free(copy);
		CHECK_STATUS(json_open(&fx, json), cases[i].load);
		CHECK_STR(fx.err.message, cases[i].message);
		CHECK(cases[i].load == ZCRM_PARSE_OK ? fx.root != NULL : fx.root == NULL);
		json_close(&fx);
	}
}

/* The arena: zeroed blocks, small and large, and copies of strings. */
static void
test_json_arena(void)
{
	ZcrmArenaBlock *arena = NULL;
	unsigned char *small;
	unsigned char *large;
	char	   *copy;
	bool		zeroed = true;

	small = zcrm_arena_alloc0(&arena, 40);
	large = zcrm_arena_alloc0(&arena, 100000);
	CHECK(small != NULL && large != NULL);
	if (small == NULL || large == NULL)
	{
		zcrm_arena_free(arena);
		return;
	}
	for (size_t i = 0; i < 40; i++)
		zeroed = zeroed && small[i] == 0;
	for (size_t i = 0; i < 100000; i++)
		zeroed = zeroed && large[i] == 0;
	CHECK(zeroed);
	CHECK((uintptr_t) small % _Alignof(max_align_t) == 0);
	copy = zcrm_arena_strdup(&arena, "kept");
	CHECK_STR(copy, "kept");
	CHECK(zcrm_arena_alloc0(&arena, SIZE_MAX - 16) == NULL);
	zcrm_arena_free(arena);
	zcrm_arena_free(NULL);
}

static void
test_scrub_forms(void)
{
	const char *const tok[] = {"1000.ab/cd+ef==", NULL};
	const char *const two[] = {"1000.ab/cd+ef==", "cs1234", NULL};

	static const struct
	{
		const char *json;
		const char *want;
	}			cases[] = {
		{"x 1000.ab/cd+ef== y", "x [R] y"},
		{"1000.ab\\/cd+ef==;1000.ab\\\\/cd+ef==", "[R];[R]"},
		{"\\u003100\\u0030.a\\u0062/c\\u0064+e\\u0066==", "[R]"},
		{"1000.ab%2fcd%2bef%3d%3d 1000.ab%2Fcd%2Bef%3D%3D", "[R] [R]"},
		{"%31%30%30%30%2E%61%62%2F%63%64%2B%65%66%3D%3D", "[R]"},
		{"<1000.ab\r\n    /cd+ef=\r\n\t=>", "<[R]>"},
		{"<1000.\\n\\tab/cd\\r\\n+ef==>", "<[R]>"},
		/* a blank without a line break is no fold; a prefix alone is kept */
		{"1000.ab /cd+ef== 1000.ab/cd+ef=", "1000.ab /cd+ef== 1000.ab/cd+ef="},
		{"1000.1000.ab/cd+ef==", "1000.[R]"},
		{"", ""},
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		CHECK_STR(redacted(cases[i].json, tok), cases[i].want);
	/* every secret, every copy, overlapping ones merged */
	CHECK_STR(redacted("cs1234 1000.ab/cd+ef==cs1234 cs12cs1234", two), "[R] [R] cs12[R]");
	CHECK_STR(redacted("no secret here", NULL), "no secret here");
}

static const TestCase tests[] = {
	TEST(test_v2_sample),
	TEST(test_v21_sample),
	TEST(test_in_progress_normalised),
	TEST(test_added_shape_without_counts),
	TEST(test_resource_missing_null_empty),
	TEST(test_v5_multiple_resources),
	TEST(test_object_keys_null),
	TEST(test_scalar_keys_null),
	TEST(test_numeric_ids),
	TEST(test_numeric_id_too_big),
	TEST(test_count_fractional),
	TEST(test_count_string),
	TEST(test_count_limits),
	TEST(test_index_int32),
	TEST(test_wrong_types),
	TEST(test_module_shapes),
	TEST(test_resource_shapes),
	TEST(test_top_level_not_object),
	TEST(test_empty_body),
	TEST(test_invalid_json),
	TEST(test_valid_json_edges),
	TEST(test_deep_nesting),
	TEST(test_invalid_utf8),
	TEST(test_invalid_utf8_first),
	TEST(test_valid_utf8_kept),
	TEST(test_nul_escape),
	TEST(test_created_time),
	TEST(test_error_bodies),
	TEST(test_api_error_in_parse_job),
	TEST(test_api_error_parse_failures),
	TEST(test_api_error_optional_fields),
	TEST(test_check_document),
	TEST(test_ten_thousand_mappings),
	TEST(test_default_value_numbers),
	TEST(test_messages_hold_no_body_text),
	TEST(test_unknown_keys_and_duplicates),
	TEST(test_number_length_limit),
	TEST(test_null_arguments),
	TEST(test_every_prefix),
	TEST(test_mutations),
	TEST(test_out_of_memory),
	TEST(test_parse_limits),
	TEST(test_json_accessors),
	TEST(test_json_text),
	TEST(test_json_paths),
	TEST(test_json_scan_and_load),
	TEST(test_json_arena),
	TEST(test_scrub_forms),
};

int
main(void)
{
	return run_tests(tests, (int) (sizeof(tests) / sizeof(tests[0])), free_scratch);
}
