/*-------------------------------------------------------------------------
 *
 * fuzz_result.c
 *	  libFuzzer harness for src/result.c (the result file reader and the
 *	  ERRORS syntax) and src/match.c, built with ASan and UBSan.
 *
 * Each input is copied into a heap buffer of exactly its length, with no
 * NUL terminator, so that any read past the end is caught, and read with
 * zcrm_result_read() under small caps (64 kB, 2,000 rows).  Any violated
 * invariant calls abort(), which libFuzzer reports as a crash:
 *	- the status is a ZcrmResultStatus other than NO_MEMORY and
 *	  INTERRUPTED; *out is set exactly on OK; err->status matches and
 *	  err->message is NUL-terminated printable ASCII;
 *	- on OK: STATUS, RECORD_ID and ERRORS are found by name, no header
 *	  name is there twice, rows are within the cap, every value is a
 *	  NUL-terminated string without NUL inside the input's length; record
 *	  id and errors are NULL exactly when empty;
 *	- round trip: the file written back as CSV (every field quoted, CRLF)
 *	  reads back to the same header and values;
 *	- every row's ERRORS text gives JSON that cJSON parses into an array
 *	  of objects {"code": string, "fields": [strings]} with the code and
 *	  fields free of ':' (and fields of ',');
 *	- match.c, with the echoed columns as the tuple: the file against
 *	  itself is positional with nothing unmatched, against itself reversed
 *	  every match carries the same tuple and no source row is matched
 *	  twice.
 * Everything is freed, so LeakSanitizer catches leaks.
 *
 * Copyright (c) 2026, zcrm_bulk developers
 *
 * IDENTIFICATION
 *	  test/fuzz/fuzz_result.c
 *
 *-------------------------------------------------------------------------
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cJSON.h>

#include "match.h"
#include "result.h"

extern int	LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FUZZ_MAX_BYTES	65536
#define FUZZ_MAX_ROWS	2000

#define REQUIRE(cond) \
	do { \
		if (!(cond)) \
		{ \
			fprintf(stderr, "fuzz_result: %s:%d: %s\n", __FILE__, __LINE__, #cond); \
			abort(); \
		} \
	} while (0)

static const ZcrmResultLimits limits = {FUZZ_MAX_BYTES, FUZZ_MAX_ROWS, NULL};

/* Append the quoted CSV form of s to buf (grown with realloc). */
static void
put_quoted(char **buf, size_t *len, size_t *cap, const char *s, const char *end)
{
	size_t		need = *len + 2 * strlen(s) + 8;

	if (need > *cap)
	{
		*cap = need * 2;
		*buf = realloc(*buf, *cap);
		REQUIRE(*buf != NULL);
	}
	(*buf)[(*len)++] = '"';
	for (; *s; s++)
	{
		if (*s == '"')
			(*buf)[(*len)++] = '"';
		(*buf)[(*len)++] = *s;
	}
	(*buf)[(*len)++] = '"';
	for (; *end; end++)
		(*buf)[(*len)++] = *end;
}

static void
check_errors_json(const char *errors)
{
	char	   *json = NULL;
	cJSON	   *tree;
	const cJSON *entry;

	REQUIRE(zcrm_result_errors_json(errors, &json) == ZCRM_RESULT_OK);
	if (json == NULL)
	{
		/* no entry: nothing but separators and blanks */
		for (const char *p = errors; p && *p; p++)
			REQUIRE(*p == ':' || *p == ' ' || *p == '\t');
		return;
	}
	tree = cJSON_Parse(json);
	REQUIRE(tree != NULL && cJSON_IsArray(tree) && cJSON_GetArraySize(tree) > 0);
	cJSON_ArrayForEach(entry, tree)
	{
		const cJSON *code = cJSON_GetObjectItemCaseSensitive(entry, "code");
		const cJSON *fields = cJSON_GetObjectItemCaseSensitive(entry, "fields");
		const cJSON *field;

		REQUIRE(cJSON_IsObject(entry) && cJSON_GetArraySize(entry) == 2);
		REQUIRE(cJSON_IsString(code) && strchr(code->valuestring, ':') == NULL);
		REQUIRE(strchr(code->valuestring, '-') == NULL);
		REQUIRE(cJSON_IsArray(fields));
		cJSON_ArrayForEach(field, fields)
		{
			REQUIRE(cJSON_IsString(field) && field->valuestring[0] != '\0');
			REQUIRE(strchr(field->valuestring, ':') == NULL);
			REQUIRE(strchr(field->valuestring, ',') == NULL);
		}
	}
	cJSON_Delete(tree);
	free(json);
}

/* The file written back as CSV reads back the same. */
static void
check_round_trip(const ZcrmResultFile *f)
{
	size_t		ncols = zcrm_result_ncolumns(f);
	size_t		nrows = zcrm_result_nrows(f);
	char	   *buf = NULL;
	size_t		len = 0;
	size_t		cap = 0;
	ZcrmResultFile *g = NULL;
	ZcrmResultLimits lim = {ZCRM_RESULT_MAX_BYTES, FUZZ_MAX_ROWS, NULL};

	for (size_t c = 0; c < ncols; c++)
		put_quoted(&buf, &len, &cap, zcrm_result_column(f, c), c + 1 < ncols ? "," : "\r\n");
	for (size_t r = 0; r < nrows; r++)
		for (size_t c = 0; c < ncols; c++)
			put_quoted(&buf, &len, &cap, zcrm_result_value(f, r, c), c + 1 < ncols ? "," : "\r\n");
	REQUIRE(zcrm_result_read(buf, len, &lim, &g, NULL) == ZCRM_RESULT_OK);
	REQUIRE(zcrm_result_ncolumns(g) == ncols && zcrm_result_nrows(g) == nrows);
	REQUIRE(zcrm_result_ragged(g) == 0);
	for (size_t c = 0; c < ncols; c++)
		REQUIRE(strcmp(zcrm_result_column(f, c), zcrm_result_column(g, c)) == 0);
	for (size_t r = 0; r < nrows; r++)
		for (size_t c = 0; c < ncols; c++)
			REQUIRE(strcmp(zcrm_result_value(f, r, c), zcrm_result_value(g, r, c)) == 0);
	zcrm_result_free(g);
	free(buf);
}

/* match.c on the file's echoed columns. */
static void
check_match(const ZcrmResultFile *f)
{
	size_t		ncols = zcrm_result_ncolumns(f);
	size_t		n = zcrm_result_nrows(f);
	size_t		echo[3];
	int			k = 0;
	const char **fwd;
	const char **rev;
	long	   *got;
	char	   *used;
	ZcrmMatchOutcome o;

	for (size_t c = 0; c < ncols && k < 3; c++)
	{
		if (zcrm_result_is_echo(f, c))
			echo[k++] = c;
	}
	fwd = calloc(n * (size_t) k + 1, sizeof(char *));
	rev = calloc(n * (size_t) k + 1, sizeof(char *));
	got = calloc(n + 1, sizeof(long));
	used = calloc(n + 1, 1);
	REQUIRE(fwd && rev && got && used);
	for (size_t r = 0; r < n; r++)
		for (int j = 0; j < k; j++)
		{
			fwd[r * k + j] = zcrm_result_value(f, r, echo[j]);
			rev[(n - 1 - r) * k + j] = fwd[r * k + j];
		}

	REQUIRE(zcrm_match_rows(n, n, k, fwd, fwd, got, &o));
	REQUIRE(k == 0 ? (o.unmatched == n && !o.positional) : (o.unmatched == 0 && o.positional));

	REQUIRE(zcrm_match_rows(n, n, k, fwd, rev, got, &o));
	for (size_t r = 0; r < n; r++)
	{
		if (got[r] < 0)
			continue;
		REQUIRE((size_t) got[r] < n && !used[got[r]]);
		used[got[r]] = 1;
		for (int j = 0; j < k; j++)
			REQUIRE(strcmp(fwd[got[r] * k + j], rev[r * k + j]) == 0);
	}
	free(fwd);
	free(rev);
	free(got);
	free(used);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char	   *copy = malloc(size ? size : 1);
	ZcrmResultFile *f = (ZcrmResultFile *) &copy;
	ZcrmResultError err;
	ZcrmResultStatus st;

	REQUIRE(copy != NULL);
	memcpy(copy, data, size);
	st = zcrm_result_read(copy, size, &limits, &f, &err);
	REQUIRE(st >= ZCRM_RESULT_OK && st <= ZCRM_RESULT_INTERRUPTED);
	REQUIRE(st != ZCRM_RESULT_NO_MEMORY && st != ZCRM_RESULT_INTERRUPTED);
	REQUIRE(err.status == st);
	REQUIRE(memchr(err.message, '\0', sizeof(err.message)) != NULL);
	for (const char *p = err.message; *p; p++)
		REQUIRE(*p >= 0x20 && *p < 0x7F);
	if (st != ZCRM_RESULT_OK)
	{
		REQUIRE(f == NULL && err.message[0] != '\0');
		free(copy);
		return 0;
	}
	REQUIRE(f != NULL && f != (ZcrmResultFile *) &copy);
	REQUIRE(zcrm_result_nrows(f) <= FUZZ_MAX_ROWS);
	REQUIRE(zcrm_result_find_column(f, "STATUS") >= 0);
	REQUIRE(zcrm_result_find_column(f, "RECORD_ID") >= 0);
	REQUIRE(zcrm_result_find_column(f, "ERRORS") >= 0);
	for (size_t c = 0; c < zcrm_result_ncolumns(f); c++)
		REQUIRE(zcrm_result_find_column(f, zcrm_result_column(f, c)) == (long) c);
	for (size_t r = 0; r < zcrm_result_nrows(f); r++)
	{
		const char *rid = zcrm_result_record_id(f, r);
		const char *errors = zcrm_result_errors(f, r);

		REQUIRE(zcrm_result_status(f, r) != NULL);
		REQUIRE(rid == NULL || rid[0] != '\0');
		REQUIRE(errors == NULL || errors[0] != '\0');
		for (size_t c = 0; c < zcrm_result_ncolumns(f); c++)
			REQUIRE(strlen(zcrm_result_value(f, r, c)) <= size);
		check_errors_json(errors);
	}
	check_round_trip(f);
	check_match(f);
	zcrm_result_free(f);
	free(copy);
	return 0;
}
