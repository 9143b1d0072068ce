/*-------------------------------------------------------------------------
 *
 * test_write_replies.c
 *	  Unit tests for the org, upload and create reply documents of
 *	  src/parse.c (ids kept by their source digits, through
 *	  zcrm_json_get_exact_id of src/json.c) and for the upload host rule of
 *	  src/upload_host.c, run outside the server.
 *
 * The harness of harness.h.  Every body is handed to the parser in a heap
 * buffer of exactly its length, without a terminator, so that ASan catches
 * any read past the end; every out-of-memory path is walked with
 * alloc_fail_at.
 *
 * Copyright (c) 2026, zcrm_bulk developers
 *
 * IDENTIFICATION
 *	  test/unit/test_write_replies.c
 *
 *-------------------------------------------------------------------------
 */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"
#include "parse.h"
#include "upload_host.h"

typedef ZcrmParseStatus (*WriteParser) (const char *, size_t,
										ZcrmWriteReply **, ZcrmParseError *);

/* A heap copy of "json" with ' turned into " and no terminator. */
static char *
body_of(const char *json, size_t *len)
{
	size_t		n = strlen(json);
	char	   *copy = __real_malloc(n > 0 ? n : 1);

	for (size_t i = 0; i < n; i++)
		copy[i] = (json[i] == '\'') ? '"' : json[i];
	*len = n;
	return copy;
}

/* Parse "json" with fn; *id (malloc'd) is the id on ZCRM_PARSE_OK. */
static ZcrmParseStatus
write_reply(WriteParser fn, const char *json, char **id)
{
	size_t		len;
	char	   *body = body_of(json, &len);
	ZcrmWriteReply *reply = NULL;
	ZcrmParseError err;
	ZcrmParseStatus rc = fn(body, len, &reply, &err);

	*id = NULL;
	if (rc == ZCRM_PARSE_OK)
	{
		*id = strdup(reply->id);
		zcrm_write_reply_free(reply);
	}
	else
		CHECK(reply == NULL && err.status == rc);
	free(body);
	return rc;
}

static ZcrmParseStatus
org_reply(const char *json, char **zgid)
{
	size_t		len;
	char	   *body = body_of(json, &len);
	ZcrmOrgReply *reply = NULL;
	ZcrmParseError err;
	ZcrmParseStatus rc = zcrm_parse_org_reply(body, len, &reply, &err);

	*zgid = NULL;
	if (rc == ZCRM_PARSE_OK)
	{
		*zgid = strdup(reply->zgid);
		zcrm_org_reply_free(reply);
	}
	free(body);
	return rc;
}


static void
test_upload_reply(void)
{
	char	   *id;

	CHECK_INT(write_reply(zcrm_parse_upload_reply,
						  "{'status':'success','code':'FILE_UPLOAD_SUCCESS','message':'file uploaded.',"
						  "'details':{'file_id':'111111000001492610','created_time':'2026-01-01T00:00:00+00:00'}}",
						  &id), ZCRM_PARSE_OK);
	CHECK_STR(id, "111111000001492610");
	free(id);
	/* a 19-digit number keeps every digit (a double would not) */
	CHECK_INT(write_reply(zcrm_parse_upload_reply,
						  "{'status':'success','details':{'n':1.5e3,'file_id':7200000000000000001,'x':[1,-2]}}",
						  &id), ZCRM_PARSE_OK);
	CHECK_STR(id, "7200000000000000001");
	free(id);
	/* numbers inside strings and keys do not shift the count */
	CHECK_INT(write_reply(zcrm_parse_upload_reply,
						  "{'a':'12 34','9':[0,{'b':'-5'}],'status':'success',"
						  "'details':{'file_id':9223372036854775809123}}", &id), ZCRM_PARSE_OK);
	CHECK_STR(id, "9223372036854775809123");
	free(id);
	/* errors come with HTTP 200 as often as not: decided by the body */
	CHECK_INT(write_reply(zcrm_parse_upload_reply,
						  "{'status':'error','code':'INVALID_FILE_FORMAT','message':'invalid file format.'}",
						  &id), ZCRM_PARSE_API_ERROR);
	CHECK_INT(write_reply(zcrm_parse_upload_reply,
						  "{'status':'failure','code':'FILE_TOO_LARGE'}", &id), ZCRM_PARSE_API_ERROR);
	CHECK_INT(write_reply(zcrm_parse_upload_reply, "{'code':'FILE_UPLOAD_SUCCESS'}", &id),
			  ZCRM_PARSE_API_ERROR);
	CHECK_INT(write_reply(zcrm_parse_upload_reply, "{'details':{'file_id':'1'}}", &id),
			  ZCRM_PARSE_BAD_SHAPE);
	CHECK_INT(write_reply(zcrm_parse_upload_reply, "{'status':'success'}", &id),
			  ZCRM_PARSE_BAD_SHAPE);
	CHECK_INT(write_reply(zcrm_parse_upload_reply, "{'status':'success','details':{'file_id':''}}", &id),
			  ZCRM_PARSE_BAD_SHAPE);
	CHECK_INT(write_reply(zcrm_parse_upload_reply, "{'status':'success','details':{'file_id':-1}}", &id),
			  ZCRM_PARSE_BAD_SHAPE);
	CHECK_INT(write_reply(zcrm_parse_upload_reply, "{'status':'success','details':{'file_id':1.0}}", &id),
			  ZCRM_PARSE_BAD_SHAPE);
	CHECK_INT(write_reply(zcrm_parse_upload_reply, "{'status':'success','details':{'file_id':1e3}}", &id),
			  ZCRM_PARSE_BAD_SHAPE);
	CHECK_INT(write_reply(zcrm_parse_upload_reply, "{'status':'success','details':{'file_id':true}}", &id),
			  ZCRM_PARSE_BAD_SHAPE);
	CHECK_INT(write_reply(zcrm_parse_upload_reply, "{'status':'success','details':[]}", &id),
			  ZCRM_PARSE_BAD_SHAPE);
	/* the create key is not the upload key */
	CHECK_INT(write_reply(zcrm_parse_upload_reply, "{'status':'success','details':{'id':'1'}}", &id),
			  ZCRM_PARSE_BAD_SHAPE);
	CHECK_INT(write_reply(zcrm_parse_upload_reply, "<html>502</html>", &id), ZCRM_PARSE_NOT_JSON);
	CHECK_INT(write_reply(zcrm_parse_upload_reply, "", &id), ZCRM_PARSE_NOT_JSON);
}

static void
test_create_reply(void)
{
	char	   *id;

	CHECK_INT(write_reply(zcrm_parse_create_reply,
						  "{'status':'success','code':'SUCCESS','message':'success',"
						  "'details':{'id':'111111000000541958','created_by':{'id':42,'name':'P'}}}",
						  &id), ZCRM_PARSE_OK);
	CHECK_STR(id, "111111000000541958");
	free(id);
	/* created_by.id comes first in the source: the count must skip it */
	CHECK_INT(write_reply(zcrm_parse_create_reply,
						  "{'details':{'created_by':{'id':4150868000000225013},'id':7100000000000000001},"
						  "'status':'success'}", &id), ZCRM_PARSE_OK);
	CHECK_STR(id, "7100000000000000001");
	free(id);
	CHECK_INT(write_reply(zcrm_parse_create_reply,
						  "{'code':'MANDATORY_FIELDS_NOT_MAPPED','details':{'fields':['Last_Name']},"
						  "'message':'All mandatory fields are not mapped for the layout','status':'error'}",
						  &id), ZCRM_PARSE_API_ERROR);
	CHECK_INT(write_reply(zcrm_parse_create_reply,
						  "{'status':'success','details':{'file_id':'1'}}", &id), ZCRM_PARSE_BAD_SHAPE);
	CHECK_INT(write_reply(zcrm_parse_create_reply, "[1]", &id), ZCRM_PARSE_BAD_SHAPE);
}

static void
test_org_reply(void)
{
	char	   *zgid;

	CHECK_INT(org_reply("{'org':[{'id':'5725767000000020005','zgid':'808232144','domain_name':'org808232144'}]}",
						&zgid), ZCRM_PARSE_OK);
	CHECK_STR(zgid, "808232144");
	free(zgid);
	CHECK_INT(org_reply("{'org':[{'id':5725767000000020005,'zgid':80823214412345678901}]}", &zgid),
			  ZCRM_PARSE_OK);
	CHECK_STR(zgid, "80823214412345678901");
	free(zgid);
	CHECK_INT(org_reply("{'org':[]}", &zgid), ZCRM_PARSE_BAD_SHAPE);
	CHECK_INT(org_reply("{'org':{}}", &zgid), ZCRM_PARSE_BAD_SHAPE);
	CHECK_INT(org_reply("{'org':['x']}", &zgid), ZCRM_PARSE_BAD_SHAPE);
	CHECK_INT(org_reply("{'org':[{'id':'1'}]}", &zgid), ZCRM_PARSE_BAD_SHAPE);
	CHECK_INT(org_reply("{'org':[{'zgid':'80a'}]}", &zgid), ZCRM_PARSE_BAD_SHAPE);
	CHECK_INT(org_reply("{'org':[{'zgid':8.5}]}", &zgid), ZCRM_PARSE_BAD_SHAPE);
	CHECK_INT(org_reply("{}", &zgid), ZCRM_PARSE_BAD_SHAPE);
	CHECK_INT(org_reply("{'code':'OAUTH_SCOPE_MISMATCH','status':'error','message':'invalid oauth scope'}",
						&zgid), ZCRM_PARSE_API_ERROR);
}

/* Every allocation of a reply parse may fail: no leak, no crash. */
static void
test_write_reply_out_of_memory(void)
{
	const char *json = "{'status':'success','details':{'file_id':7200000000000000001}}";

	for (long k = 0; k < 200; k++)
	{
		char	   *id;
		ZcrmParseStatus rc;

		alloc_fail_at = k;
		alloc_count = 0;
		alloc_failed = false;
		rc = write_reply(zcrm_parse_upload_reply, json, &id);
		alloc_fail_at = -1;
		if (!alloc_failed)
		{
			CHECK_INT(rc, ZCRM_PARSE_OK);
			CHECK_STR(id, "7200000000000000001");
			free(id);
			break;
		}
		CHECK_INT(rc, ZCRM_PARSE_NO_MEMORY);
		free(id);
	}
}

static void
check_host(const char *api, const char *want, bool want_derived)
{
	bool		derived = !want_derived;
	char	   *got = zcrm_derive_upload_host(api, &derived);

	CHECK_STR(got, want);
	CHECK(derived == want_derived);
	free(got);
}

static void
test_upload_host(void)
{
	check_host("https://www.zohoapis.com", "https://content.zohoapis.com", true);
	check_host("https://www.zohoapis.eu/", "https://content.zohoapis.eu", true);
	check_host("https://www.zohoapis.com.au//", "https://content.zohoapis.com.au", true);
	check_host("HTTPS://WWW.ZOHOAPIS.JP", "https://content.zohoapis.JP", true);
	check_host("https://www.zohoapis.in", "https://content.zohoapis.in", true);
	/* not the www host of an API domain: the domain itself */
	check_host("https://sandbox.zohoapis.com", "https://sandbox.zohoapis.com", false);
	check_host("http://www.zohoapis.com", "http://www.zohoapis.com", false);
	check_host("http://127.0.0.1:18430/", "http://127.0.0.1:18430", false);
	check_host("https://www.zohoapis.com:8443", "https://www.zohoapis.com:8443", false);
	check_host("https://www.zohoapis.com/crm", "https://www.zohoapis.com/crm", false);
	check_host("https://www.zohoapis.", "https://www.zohoapis.", false);
	check_host("https://www.zohoapis..com", "https://www.zohoapis..com", false);
	check_host("", "", false);
}

static const TestCase tests[] = {
	TEST(test_upload_reply),
	TEST(test_create_reply),
	TEST(test_org_reply),
	TEST(test_write_reply_out_of_memory),
	TEST(test_upload_host),
};

int
main(void)
{
	return run_tests(tests, (int) (sizeof(tests) / sizeof(tests[0])), NULL);
}
