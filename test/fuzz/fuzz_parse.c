/*-------------------------------------------------------------------------
 *
 * fuzz_parse.c
 *	  libFuzzer harness for src/parse.c, built with ASan and UBSan.
 *
 * Each input is copied into a heap buffer of exactly its length, with no
 * NUL terminator, so that any read past the end is caught, and handed to
 * all three entry points: zcrm_parse_job(), zcrm_parse_api_error() and
 * zcrm_check_document().  The results are then checked against the
 * contract in parse.h; any violation calls abort(), which libFuzzer
 * reports as a crash and saves as an artifact.
 *
 * Checked for every call:
 *	- the status is one of the ZcrmParseStatus values, and never
 *	  ZCRM_PARSE_NO_MEMORY (no allocation fails under the fuzzer);
 *	- on ZCRM_PARSE_OK the out pointer is set, otherwise it is NULL;
 *	- err->path and err->message are NUL-terminated within their arrays,
 *	  hold printable ASCII only (they never carry body data), and on
 *	  failure err->status is the returned status and the message is set.
 *
 * Checked across the three entry points, which share stage 1:
 *	- all three agree on ZCRM_PARSE_NOT_JSON and ZCRM_PARSE_NUL_CHAR;
 *	- ZCRM_PARSE_NUL_CHAR comes exactly with valid JSON holding a \u0000
 *	  escape (found by a scan of the raw text), whatever passes stage 1
 *	  is valid UTF-8 (checked by a second, independent decoder), and a
 *	  body that is not is refused as "not valid UTF-8";
 *	- zcrm_check_document() OK implies zcrm_parse_job() OK or BAD_SHAPE
 *	  (never NOT_JSON, NUL_CHAR or API_ERROR), and zcrm_parse_job() OK
 *	  implies zcrm_check_document() OK; both say API_ERROR together, and
 *	  then zcrm_parse_api_error() is OK;
 *	- zcrm_parse_job() with NULL out and err pointers returns the same.
 *
 * Checked on every parsed job and API error, against an independent
 * cJSON tree of the same input:
 *	- every string reachable (every field, every resource, every field
 *	  mapping) is NUL-terminated, valid UTF-8 and equal to the string in
 *	  the document (status fields after "IN PROGRESS" normalisation; ids
 *	  sent as numbers as their decimal text);
 *	- counts, indexes and flags equal the document's numbers and lie in
 *	  their documented ranges; array lengths match;
 *	- default_value and details re-parse with cJSON to a value equal to
 *	  the original one, number for number (exactly, as parse.c promises;
 *	  a details number too large for a double may come back as null), and
 *	  zcrm_check_document() accepts the text when it is an object (unless
 *	  that object is itself shaped as a Zoho error object) and otherwise
 *	  calls it BAD_SHAPE, never NOT_JSON or NUL_CHAR.
 *
 * Everything allocated is freed, so LeakSanitizer catches leaks in
 * parse.c.  cJSON is the system library and is not instrumented: ASan
 * checks its reads only through the interceptors (memcpy, strlen...).
 *
 * Copyright (c) 2026, zcrm_bulk developers
 *
 * IDENTIFICATION
 *	  test/fuzz/fuzz_parse.c
 *
 *-------------------------------------------------------------------------
 */
#include <math.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cJSON.h>

#include "parse.h"

/* The largest integer a double holds exactly; parse.c's limit for ids. */
#define FUZZ_MAX_SAFE_INTEGER	9007199254740991.0

extern int	LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/*
 * A pointer value that no parse function can produce, stored in the out
 * argument before each call so that "set to NULL on failure" is checked.
 */
static char poison_target;
#define POISON_PTR	((void *) &poison_target)


/* ----------------------------------------------------------------
 * Failure reporting
 * ----------------------------------------------------------------
 */

static void fail(const char *expr, const char *file, int line)
			__attribute__((noreturn));

/* Print the violated invariant and abort; libFuzzer saves the input. */
static void
fail(const char *expr, const char *file, int line)
{
	fprintf(stderr, "fuzz_parse: invariant violated at %s:%d: %s\n",
			file, line, expr);
	abort();
}

#define REQUIRE(cond) \
	do { \
		if (!(cond)) \
			fail(#cond, __FILE__, __LINE__); \
	} while (0)


/* ----------------------------------------------------------------
 * Generic checks
 * ----------------------------------------------------------------
 */

/*
 * utf8_ok
 *	  True when str[0..len) is well-formed UTF-8: shortest form, no UTF-16
 *	  surrogates, nothing above U+10FFFF, no sequence cut short.  Written
 *	  by decoding code points, independently of parse.c's table-driven
 *	  check.
 */
static bool
utf8_ok(const char *str, size_t len)
{
	const unsigned char *s = (const unsigned char *) str;
	const unsigned char *end = s + len;

	while (s < end)
	{
		uint32_t	cp;
		uint32_t	min;
		int			ntrail;
		int			k;

		if (*s < 0x80)
		{
			s++;
			continue;
		}
		if ((*s & 0xE0) == 0xC0)
		{
			cp = *s & 0x1F;
			ntrail = 1;
			min = 0x80;
		}
		else if ((*s & 0xF0) == 0xE0)
		{
			cp = *s & 0x0F;
			ntrail = 2;
			min = 0x800;
		}
		else if ((*s & 0xF8) == 0xF0)
		{
			cp = *s & 0x07;
			ntrail = 3;
			min = 0x10000;
		}
		else
			return false;
		if (end - s <= ntrail)
			return false;
		for (k = 1; k <= ntrail; k++)
		{
			if ((s[k] & 0xC0) != 0x80)
				return false;
			cp = (cp << 6) | (s[k] & 0x3F);
		}
		if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
			return false;
		s += ntrail + 1;
	}
	return true;
}

/* True when st is one of the values of ZcrmParseStatus. */
static bool
status_known(ZcrmParseStatus st)
{
	switch (st)
	{
		case ZCRM_PARSE_OK:
		case ZCRM_PARSE_NOT_JSON:
		case ZCRM_PARSE_BAD_SHAPE:
		case ZCRM_PARSE_NUL_CHAR:
		case ZCRM_PARSE_API_ERROR:
		case ZCRM_PARSE_NO_MEMORY:
		case ZCRM_PARSE_TOO_MANY_VALUES:
		case ZCRM_PARSE_INTERRUPTED:
			return true;
	}
	return false;
}

/*
 * has_nul_escape
 *	  True when body[0..len) holds the escape \u0000: a backslash, then
 *	  "u0000", where the backslash follows an even number (maybe zero) of
 *	  other backslashes, so that it starts an escape of its own.  In
 *	  valid JSON backslashes occur only inside strings, so for a body that
 *	  passed stage 1 this says, independently of parse.c, whether some
 *	  string (or key) decodes to U+0000.
 */
static bool
has_nul_escape(const char *body, size_t len)
{
	size_t		i;

	for (i = 0; i + 6 <= len; i++)
	{
		size_t		run = 0;

		if (memcmp(body + i, "\\u0000", 6) != 0)
			continue;
		while (run < i && body[i - 1 - run] == '\\')
			run++;
		if (run % 2 == 0)
			return true;
	}
	return false;
}

/* True when buf[0..size) holds a NUL and only printable ASCII before it. */
static bool
printable_cstring(const char *buf, size_t size)
{
	size_t		i;

	for (i = 0; i < size; i++)
	{
		if (buf[i] == '\0')
			return true;
		if (buf[i] < 0x20 || buf[i] > 0x7E)
			return false;
	}
	return false;
}

/*
 * check_result
 *	  The checks made on the outcome of every parse call: a known status,
 *	  never out of memory, the out pointer set exactly on success, and an
 *	  error record that is well formed and agrees with the status.
 */
static void
check_result(ZcrmParseStatus rc, const void *out, bool has_out,
			 const ZcrmParseError *err)
{
	REQUIRE(status_known(rc));
	REQUIRE(rc != ZCRM_PARSE_NO_MEMORY);
	if (has_out)
		REQUIRE((rc == ZCRM_PARSE_OK) == (out != NULL));
	REQUIRE(printable_cstring(err->path, sizeof(err->path)));
	REQUIRE(printable_cstring(err->message, sizeof(err->message)));
	if (rc != ZCRM_PARSE_OK)
	{
		REQUIRE(err->status == rc);
		REQUIRE(err->message[0] != '\0');
	}
}

/* Fill *err with non-zero bytes, so that a missing terminator shows. */
static void
poison_error(ZcrmParseError *err)
{
	memset(err, 0x5A, sizeof(*err));
}

/* Copy s (NUL-terminated) into a malloc'd buffer of exactly strlen(s). */
static char *
exact_copy(const char *s, size_t *len)
{
	char	   *copy;

	*len = strlen(s);
	copy = malloc(*len > 0 ? *len : 1);
	REQUIRE(copy != NULL);
	memcpy(copy, s, *len);
	return copy;
}


/* ----------------------------------------------------------------
 * The independent view of the document
 * ----------------------------------------------------------------
 */

/*
 * Member "key" of obj as parse.c sees it: NULL when obj is NULL, or when
 * the key is missing or null.
 */
static const cJSON *
member(const cJSON *obj, const char *key)
{
	const cJSON *item;

	if (obj == NULL)
		return NULL;
	item = cJSON_GetObjectItemCaseSensitive(obj, key);
	if (item == NULL || cJSON_IsNull(item))
		return NULL;
	return item;
}

/* The element that follows elem in its array, or NULL at the end. */
static const cJSON *
next_elem(const cJSON *elem)
{
	return elem != NULL ? elem->next : NULL;
}

/* An array element as parse.c sees it: a null element reads as absent. */
static const cJSON *
elem_object(const cJSON *elem)
{
	return (elem == NULL || cJSON_IsNull(elem)) ? NULL : elem;
}

/* True when root is shaped as a Zoho error object (see parse.h). */
static bool
looks_like_api_error(const cJSON *root)
{
	const cJSON *status = member(root, "status");
	const cJSON *code = member(root, "code");

	return cJSON_IsObject(root) &&
		status != NULL && cJSON_IsString(status) &&
		strcmp(status->valuestring, "error") == 0 &&
		code != NULL && cJSON_IsString(code);
}

/*
 * same_json
 *	  True when copy, read back from parse.c's compact text, is the same
 *	  JSON value as orig: same types, same keys in the same order (so
 *	  duplicate keys count), equal strings, and numbers equal as doubles
 *	  including the sign of zero.  Without "strict", a number that is not
 *	  finite in orig must come back as null (cJSON prints it so).
 */
static bool
same_json(const cJSON *orig, const cJSON *copy, bool strict)
{
	const cJSON *a;
	const cJSON *b;

	if (cJSON_IsNumber(orig))
	{
		double		d = orig->valuedouble;

		if (!isfinite(d))
			return !strict && cJSON_IsNull(copy);
		return cJSON_IsNumber(copy) && copy->valuedouble == d &&
			!signbit(copy->valuedouble) == !signbit(d);
	}
	if ((orig->type & 0xFF) != (copy->type & 0xFF))
		return false;
	if (cJSON_IsString(orig))
		return strcmp(orig->valuestring, copy->valuestring) == 0;
	if (!cJSON_IsArray(orig) && !cJSON_IsObject(orig))
		return true;
	for (a = orig->child, b = copy->child; a != NULL && b != NULL;
		 a = a->next, b = b->next)
	{
		if (cJSON_IsObject(orig) && strcmp(a->string, b->string) != 0)
			return false;
		if (!same_json(a, b, strict))
			return false;
	}
	return a == NULL && b == NULL;
}


/* ----------------------------------------------------------------
 * Checks on parsed values
 * ----------------------------------------------------------------
 */

/* A string reachable from a result: NUL-terminated (strlen) and UTF-8. */
static void
check_text(const char *s)
{
	if (s != NULL)
		REQUIRE(utf8_ok(s, strlen(s)));
}

/* got must be the string member "key" of obj, or NULL when absent. */
static void
expect_string(const char *got, const cJSON *obj, const char *key)
{
	const cJSON *item = member(obj, key);

	check_text(got);
	if (item == NULL)
	{
		REQUIRE(got == NULL);
		return;
	}
	REQUIRE(cJSON_IsString(item));
	REQUIRE(got != NULL);
	REQUIRE(strcmp(got, item->valuestring) == 0);
}

/* Like expect_string(), for a status field normalised by parse.c. */
static void
expect_status(const char *got, const cJSON *obj, const char *key)
{
	const cJSON *item = member(obj, key);

	if (item != NULL && cJSON_IsString(item) &&
		strcmp(item->valuestring, "IN PROGRESS") == 0)
	{
		REQUIRE(got != NULL);
		REQUIRE(strcmp(got, "INPROGRESS") == 0);
		return;
	}
	expect_string(got, obj, key);
}

/* got must be the id member "key" of obj: its string, or its decimal text. */
static void
expect_id(const char *got, const cJSON *obj, const char *key)
{
	const cJSON *item = member(obj, key);
	char		want[32];

	if (item == NULL || cJSON_IsString(item))
	{
		expect_string(got, obj, key);
		return;
	}
	REQUIRE(cJSON_IsNumber(item));
	REQUIRE(item->valuedouble >= -FUZZ_MAX_SAFE_INTEGER &&
			item->valuedouble <= FUZZ_MAX_SAFE_INTEGER);
	REQUIRE(item->valuedouble == floor(item->valuedouble));
	snprintf(want, sizeof(want), "%lld", (long long) item->valuedouble);
	REQUIRE(got != NULL);
	REQUIRE(strcmp(got, want) == 0);
}

/*
 * expect_integer
 *	  has/value must be the integer member "key" of obj, within [lo, hi];
 *	  has false when it is absent.
 */
static void
expect_integer(bool has, int64_t value, const cJSON *obj, const char *key,
			   double lo, double hi)
{
	const cJSON *item = member(obj, key);

	if (item == NULL)
	{
		REQUIRE(!has);
		return;
	}
	REQUIRE(has);
	REQUIRE(cJSON_IsNumber(item));
	REQUIRE((double) value == item->valuedouble);
	REQUIRE((double) value >= lo && (double) value <= hi);
}

/* expect_integer() for a count. */
static void
expect_count(bool has, int64_t value, const cJSON *obj, const char *key)
{
	expect_integer(has, value, obj, key, -FUZZ_MAX_SAFE_INTEGER,
				   FUZZ_MAX_SAFE_INTEGER);
}

/* expect_integer() for an int32_t field. */
static void
expect_int32(bool has, int32_t value, const cJSON *obj, const char *key)
{
	expect_integer(has, value, obj, key, (double) INT32_MIN,
				   (double) INT32_MAX);
}

/* Length of array member "key" of obj as parse.c counts it (0 if absent). */
static int
array_length(const cJSON *obj, const char *key)
{
	const cJSON *arr = member(obj, key);

	if (arr == NULL)
		return 0;
	REQUIRE(cJSON_IsArray(arr));
	return cJSON_GetArraySize(arr);
}

/*
 * check_json_text
 *	  "json" is parse.c's compact JSON text of the value orig ("strict" as
 *	  for default_value, else as for details).  It must re-parse, in full,
 *	  to the same value; zcrm_check_document() must accept it when it is
 *	  an object that is not itself a Zoho error object, call it API_ERROR
 *	  when it is one, and call any other value BAD_SHAPE.
 */
static void
check_json_text(const char *json, const cJSON *orig, bool strict)
{
	char	   *buf;
	size_t		len;
	const char *end = NULL;
	cJSON	   *copy;
	ZcrmParseError err;
	ZcrmParseStatus rc;
	ZcrmParseStatus want;

	REQUIRE(json != NULL);
	check_text(json);
	buf = exact_copy(json, &len);

	copy = cJSON_ParseWithLengthOpts(buf, len, &end, false);
	REQUIRE(copy != NULL);
	REQUIRE(end == buf + len);
	REQUIRE(same_json(orig, copy, strict));

	if (!cJSON_IsObject(copy))
		want = ZCRM_PARSE_BAD_SHAPE;
	else if (looks_like_api_error(copy))
		want = ZCRM_PARSE_API_ERROR;
	else
		want = ZCRM_PARSE_OK;
	poison_error(&err);
	rc = zcrm_check_document(buf, len, &err);
	check_result(rc, NULL, false, &err);
	REQUIRE(rc == want);

	cJSON_Delete(copy);
	free(buf);
}

/* Check one field mapping against its element (NULL for a null one). */
static void
check_mapping(const ZcrmFieldMapping *m, const cJSON *obj)
{
	const cJSON *dv = member(obj, "default_value");

	expect_string(m->api_name, obj, "api_name");
	expect_int32(m->has_index, m->index, obj, "index");
	expect_string(m->format, obj, "format");
	expect_string(m->find_by, obj, "find_by");
	expect_string(m->module, obj, "module");
	expect_int32(m->has_parent_column_index, m->parent_column_index,
				 obj, "parent_column_index");
	if (dv == NULL)
		REQUIRE(m->default_value == NULL);
	else
		check_json_text(m->default_value, dv, true);
}

/* Check one resource against its element (NULL for a null one). */
static void
check_resource(const ZcrmResource *r, const cJSON *obj)
{
	const cJSON *module = member(obj, "module");
	const cJSON *file = member(obj, "file");
	const cJSON *elem;
	int			i;

	expect_string(r->type, obj, "type");
	if (module == NULL || cJSON_IsString(module))
	{
		expect_string(r->module, obj, "module");
		REQUIRE(r->module_id == NULL);
	}
	else
	{
		REQUIRE(cJSON_IsObject(module));
		expect_string(r->module, module, "api_name");
		expect_id(r->module_id, module, "id");
	}
	expect_status(r->status, obj, "status");
	expect_string(r->code, obj, "code");

	REQUIRE(file == NULL || cJSON_IsObject(file));
	expect_string(r->file_name, file, "name");
	expect_status(r->file_status, file, "status");
	expect_count(r->has_added_count, r->added_count, file, "added_count");
	expect_count(r->has_updated_count, r->updated_count, file, "updated_count");
	expect_count(r->has_skipped_count, r->skipped_count, file, "skipped_count");
	expect_count(r->has_total_count, r->total_count, file, "total_count");

	REQUIRE(r->nmappings == array_length(obj, "field_mappings"));
	REQUIRE(r->nmappings == 0 || r->mappings != NULL);
	elem = r->nmappings > 0 ? member(obj, "field_mappings")->child : NULL;
	for (i = 0; i < r->nmappings; i++, elem = next_elem(elem))
	{
		REQUIRE(elem != NULL);
		check_mapping(&r->mappings[i], elem_object(elem));
	}
}

/* Check a parsed job against the document root. */
static void
check_job(const ZcrmJob *job, const cJSON *root)
{
	const cJSON *created_by = member(root, "created_by");
	const cJSON *callback = member(root, "callback");
	const cJSON *result = member(root, "result");
	const cJSON *ignore_empty = member(root, "ignore_empty");
	const cJSON *elem;
	int			i;

	expect_id(job->id, root, "id");
	expect_status(job->status, root, "status");
	expect_string(job->operation, root, "operation");
	if (ignore_empty == NULL)
		REQUIRE(!job->has_ignore_empty);
	else
	{
		REQUIRE(cJSON_IsBool(ignore_empty));
		REQUIRE(job->has_ignore_empty);
		REQUIRE(job->ignore_empty == (bool) cJSON_IsTrue(ignore_empty));
	}
	expect_string(job->character_encoding, root, "character_encoding");
	expect_string(job->created_time, root, "created_time");
	REQUIRE(job->created_time == NULL || strlen(job->created_time) >= 20);

	REQUIRE(created_by == NULL || cJSON_IsObject(created_by));
	REQUIRE(callback == NULL || cJSON_IsObject(callback));
	REQUIRE(result == NULL || cJSON_IsObject(result));
	expect_id(job->created_by_id, created_by, "id");
	expect_string(job->created_by_name, created_by, "name");
	expect_string(job->callback_url, callback, "url");
	expect_string(job->callback_method, callback, "method");
	expect_string(job->download_url, result, "download_url");

	REQUIRE(job->nresources == array_length(root, "resource"));
	REQUIRE(job->nresources == 0 || job->resources != NULL);
	elem = job->nresources > 0 ? member(root, "resource")->child : NULL;
	for (i = 0; i < job->nresources; i++, elem = next_elem(elem))
	{
		REQUIRE(elem != NULL);
		check_resource(&job->resources[i], elem_object(elem));
	}
}

/* Check a parsed API error against the document root. */
static void
check_api_error(const ZcrmApiError *apierr, const cJSON *root)
{
	const cJSON *code = cJSON_GetObjectItemCaseSensitive(root, "code");
	const cJSON *message = member(root, "message");
	const cJSON *details = member(root, "details");

	REQUIRE(apierr->code != NULL);
	REQUIRE(code != NULL && cJSON_IsString(code));
	expect_string(apierr->code, root, "code");
	if (message != NULL && cJSON_IsString(message))
		expect_string(apierr->message, root, "message");
	else
		REQUIRE(apierr->message == NULL);
	if (details == NULL)
		REQUIRE(apierr->details == NULL);
	else
		check_json_text(apierr->details, details, false);
}

/* The status as stage 1 sees it: NOT_JSON, NUL_CHAR, or OK for "passed". */
static ZcrmParseStatus
stage1(ZcrmParseStatus rc)
{
	return (rc == ZCRM_PARSE_NOT_JSON || rc == ZCRM_PARSE_NUL_CHAR) ?
		rc : ZCRM_PARSE_OK;
}


/* ----------------------------------------------------------------
 * Entry point
 * ----------------------------------------------------------------
 */

/*
 * LLVMFuzzerTestOneInput
 *	  Run one input through the three parse functions and check every
 *	  invariant listed at the top of this file.  Returns 0; a violation
 *	  aborts instead.
 */
int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char	   *body;
	ZcrmJob    *job = POISON_PTR;
	ZcrmApiError *apierr = POISON_PTR;
	ZcrmParseError job_err;
	ZcrmParseError api_err;
	ZcrmParseError doc_err;
	ZcrmParseStatus job_rc;
	ZcrmParseStatus api_rc;
	ZcrmParseStatus doc_rc;
	cJSON	   *root = NULL;

	/* exactly size bytes, no terminator: over-reads hit the redzone */
	body = malloc(size);
	REQUIRE(body != NULL || size == 0);
	if (size > 0)
		memcpy(body, data, size);

	poison_error(&job_err);
	job_rc = zcrm_parse_job(body, size, &job, &job_err);
	check_result(job_rc, job, true, &job_err);

	poison_error(&api_err);
	api_rc = zcrm_parse_api_error(body, size, &apierr, &api_err);
	check_result(api_rc, apierr, true, &api_err);

	poison_error(&doc_err);
	doc_rc = zcrm_check_document(body, size, &doc_err);
	check_result(doc_rc, NULL, false, &doc_err);

	/* parse.c accepts NULL out and err pointers; the outcome is the same */
	REQUIRE(zcrm_parse_job(body, size, NULL, NULL) == job_rc);

	/* stage 1 is shared, so all three agree on NOT_JSON and NUL_CHAR */
	REQUIRE(stage1(job_rc) == stage1(api_rc));
	REQUIRE(stage1(job_rc) == stage1(doc_rc));

	/* the document check and the job parser agree */
	if (doc_rc == ZCRM_PARSE_OK)
		REQUIRE(job_rc == ZCRM_PARSE_OK || job_rc == ZCRM_PARSE_BAD_SHAPE);
	if (job_rc == ZCRM_PARSE_OK)
		REQUIRE(doc_rc == ZCRM_PARSE_OK);
	REQUIRE((job_rc == ZCRM_PARSE_API_ERROR) == (doc_rc == ZCRM_PARSE_API_ERROR));
	if (job_rc == ZCRM_PARSE_API_ERROR)
		REQUIRE(api_rc == ZCRM_PARSE_OK);

	/*
	 * NUL_CHAR is reported exactly for valid JSON with a \u0000 escape, and
	 * whatever passes stage 1 is valid UTF-8.
	 */
	if (job_rc != ZCRM_PARSE_NOT_JSON)
		REQUIRE((job_rc == ZCRM_PARSE_NUL_CHAR) == has_nul_escape(body, size));
	if (stage1(job_rc) == ZCRM_PARSE_OK)
		REQUIRE(utf8_ok(body, size));

	/*
	 * UTF-8 is checked in the grammar's pass, yet a body that is not UTF-8
	 * (so not blank either) is refused for that, wherever the bad byte is.
	 */
	if (!utf8_ok(body, size))
	{
		REQUIRE(job_rc == ZCRM_PARSE_NOT_JSON);
		REQUIRE(strcmp(job_err.message, "the body is not valid UTF-8") == 0);
	}

	/* past stage 1, cJSON reads the text as well and the values must match */
	if (stage1(job_rc) == ZCRM_PARSE_OK)
	{
		root = cJSON_ParseWithLength(body, size);
		REQUIRE(root != NULL);
		if (!cJSON_IsObject(root))
		{
			REQUIRE(job_rc == ZCRM_PARSE_BAD_SHAPE);
			REQUIRE(api_rc == ZCRM_PARSE_BAD_SHAPE);
			REQUIRE(doc_rc == ZCRM_PARSE_BAD_SHAPE);
		}
		else
			REQUIRE((doc_rc == ZCRM_PARSE_API_ERROR) == looks_like_api_error(root));
		if (job_rc == ZCRM_PARSE_OK)
			check_job(job, root);
		if (api_rc == ZCRM_PARSE_OK)
			check_api_error(apierr, root);
	}

	zcrm_job_free(job);
	zcrm_api_error_free(apierr);
	cJSON_Delete(root);
	free(body);
	return 0;
}
