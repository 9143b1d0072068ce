/*-------------------------------------------------------------------------
 *
 * test_result.c
 *	  Unit tests of src/result.c (the result file reader and the ERRORS
 *	  syntax) and src/match.c (result rows to source rows), outside the
 *	  server.
 *
 * Every reader test feeds a heap copy of exactly the input's length (no
 * NUL after it), so AddressSanitizer catches a read past the end.  The
 * out-of-memory tests make each allocation fail in turn and check that
 * the failure is reported and nothing leaks (LeakSanitizer).
 *
 * Copyright (c) 2026, zcrm_bulk developers
 *
 * IDENTIFICATION
 *	  test/unit/test_result.c
 *
 *-------------------------------------------------------------------------
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"
#include "match.h"
#include "result.h"

#define HEADER "Last_Name,Email,Company,STATUS,RECORD_ID,ERRORS\r\n"

static const ZcrmResultLimits big = {1 << 24, 100000, NULL};

/* Read "len" bytes of "csv" from an exact-size heap copy. */
static ZcrmResultStatus
read_n(const char *csv, size_t len, const ZcrmResultLimits *limits,
	   ZcrmResultFile **f, ZcrmResultError *err)
{
	char	   *copy = malloc(len ? len : 1);
	ZcrmResultStatus st;

	memcpy(copy, csv, len);
	st = zcrm_result_read(copy, len, limits, f, err);
	free(copy);
	return st;
}

static ZcrmResultStatus
read_s(const char *csv, ZcrmResultFile **f, ZcrmResultError *err)
{
	return read_n(csv, strlen(csv), &big, f, err);
}

static void
test_basic_file(void)
{
	ZcrmResultFile *f = NULL;
	ZcrmResultError err;
	ZcrmResultStatus st = read_s(HEADER
								 "Smith,s@example.com,Acme,added,7300000000000000001,\r\n"
								 ",x@example.com,Acme,skipped,,MANDATORY_NOT_FOUND-Last_Name\r\n",
								 &f, &err);

	CHECK_INT(st, ZCRM_RESULT_OK);
	if (f == NULL)
		return;
	CHECK_INT(zcrm_result_nrows(f), 2);
	CHECK_INT(zcrm_result_ncolumns(f), 6);
	CHECK_INT(zcrm_result_ragged(f), 0);
	CHECK_STR(zcrm_result_status(f, 0), "added");
	CHECK_STR(zcrm_result_record_id(f, 0), "7300000000000000001");
	CHECK_STR(zcrm_result_errors(f, 0), NULL);
	CHECK_STR(zcrm_result_status(f, 1), "skipped");
	CHECK_STR(zcrm_result_record_id(f, 1), NULL);
	CHECK_STR(zcrm_result_errors(f, 1), "MANDATORY_NOT_FOUND-Last_Name");
	CHECK_STR(zcrm_result_echo(f, 0, "Last_Name"), "Smith");
	CHECK_STR(zcrm_result_echo(f, 1, "Last_Name"), "");
	CHECK_STR(zcrm_result_echo(f, 1, "Company"), "Acme");
	CHECK_STR(zcrm_result_echo(f, 1, "STATUS"), NULL);
	CHECK_STR(zcrm_result_echo(f, 1, "Nope"), NULL);
	CHECK(zcrm_result_is_echo(f, 0));
	CHECK(!zcrm_result_is_echo(f, 3));
	CHECK(!zcrm_result_is_echo(f, 6));
	CHECK_STR(zcrm_result_column(f, 5), "ERRORS");
	CHECK_STR(zcrm_result_column(f, 6), NULL);
	CHECK_STR(zcrm_result_value(f, 2, 0), NULL);
	CHECK_INT(zcrm_result_find_column(f, "RECORD_ID"), 4);
	CHECK_INT(zcrm_result_find_column(f, "record_id"), -1);
	zcrm_result_free(f);
}

/* Columns in any order, found by name; LF line ends, no final newline. */
static void
test_columns_by_name(void)
{
	ZcrmResultFile *f = NULL;
	ZcrmResultError err;

	CHECK_INT(read_s("ERRORS,RECORD_ID,Email,STATUS\n"
					 "INVALID_DATA-Email,,bad,skipped\n"
					 ",42,a@b.c,added", &f, &err), ZCRM_RESULT_OK);
	if (f == NULL)
		return;
	CHECK_INT(zcrm_result_nrows(f), 2);
	CHECK_STR(zcrm_result_status(f, 0), "skipped");
	CHECK_STR(zcrm_result_errors(f, 0), "INVALID_DATA-Email");
	CHECK_STR(zcrm_result_record_id(f, 1), "42");
	CHECK_STR(zcrm_result_echo(f, 1, "Email"), "a@b.c");
	CHECK(!zcrm_result_is_echo(f, 0));
	CHECK(zcrm_result_is_echo(f, 2));
	zcrm_result_free(f);
}

static void
test_quoting(void)
{
	ZcrmResultFile *f = NULL;
	ZcrmResultError err;
	const char *csv = ("\xEF\xBB\xBF" "Name,STATUS,RECORD_ID,ERRORS\r\n"
					   "\"Smith, \"\"Jr\"\"\r\nline2\nline3\rend\",added,1,\r\n"
					   "\"\",\"updated\",\"2\",\"\"\r\n"
					   "a\"b,added,3,\r\n"
					   "Zo\xC3\xAB \xF0\x9F\x98\x80,added,4,\r\n");

	CHECK_INT(read_s(csv, &f, &err), ZCRM_RESULT_OK);
	if (f == NULL)
		return;
	CHECK_STR(zcrm_result_column(f, 0), "Name");
	CHECK_INT(zcrm_result_nrows(f), 4);
	CHECK_STR(zcrm_result_echo(f, 0, "Name"), "Smith, \"Jr\"\r\nline2\nline3\rend");
	CHECK_STR(zcrm_result_status(f, 0), "added");
	CHECK_STR(zcrm_result_echo(f, 1, "Name"), "");
	CHECK_STR(zcrm_result_status(f, 1), "updated");
	CHECK_STR(zcrm_result_errors(f, 1), NULL);
	CHECK_STR(zcrm_result_echo(f, 2, "Name"), "a\"b");
	CHECK_STR(zcrm_result_echo(f, 3, "Name"), "Zo\xC3\xAB \xF0\x9F\x98\x80");
	zcrm_result_free(f);
}

/* Empty lines are skipped, whatever their line end; a lone CR ends a line. */
static void
test_blank_lines_and_cr(void)
{
	ZcrmResultFile *f = NULL;
	ZcrmResultError err;

	CHECK_INT(read_s("\r\n\nX,STATUS,RECORD_ID,ERRORS\r\r\n1,added,,\r\n\r\n2,added,,\r3,added,,\n\n",
					 &f, &err), ZCRM_RESULT_OK);
	if (f == NULL)
		return;
	CHECK_INT(zcrm_result_nrows(f), 3);
	CHECK_STR(zcrm_result_echo(f, 0, "X"), "1");
	CHECK_STR(zcrm_result_echo(f, 1, "X"), "2");
	CHECK_STR(zcrm_result_echo(f, 2, "X"), "3");
	zcrm_result_free(f);

	/* a header only: no rows */
	CHECK_INT(read_s("STATUS,RECORD_ID,ERRORS", &f, &err), ZCRM_RESULT_OK);
	if (f)
		CHECK_INT(zcrm_result_nrows(f), 0);
	zcrm_result_free(f);
}

static void
test_ragged_rows(void)
{
	ZcrmResultFile *f = NULL;
	ZcrmResultError err;

	CHECK_INT(read_s("A,STATUS,RECORD_ID,ERRORS\n"
					 "1,added\n"
					 "2,added,9,,extra,more\n"
					 "3,skipped,,X-A\n"
					 "4\n", &f, &err), ZCRM_RESULT_OK);
	if (f == NULL)
		return;
	CHECK_INT(zcrm_result_nrows(f), 4);
	CHECK_INT(zcrm_result_ragged(f), 3);
	CHECK_STR(zcrm_result_record_id(f, 0), NULL);
	CHECK_STR(zcrm_result_errors(f, 0), NULL);
	CHECK_STR(zcrm_result_value(f, 0, 3), "");
	CHECK_STR(zcrm_result_record_id(f, 1), "9");
	CHECK_STR(zcrm_result_value(f, 1, 3), "");
	CHECK_STR(zcrm_result_errors(f, 2), "X-A");
	CHECK_STR(zcrm_result_status(f, 3), "");
	CHECK_STR(zcrm_result_echo(f, 3, "A"), "4");
	zcrm_result_free(f);
}

static void
expect_fail(const char *csv, size_t len, const ZcrmResultLimits *limits,
			ZcrmResultStatus want, size_t line, const char *needle)
{
	ZcrmResultFile *f = (ZcrmResultFile *) &f;
	ZcrmResultError err;
	ZcrmResultStatus st = read_n(csv, len, limits, &f, &err);

	CHECK_INT(st, want);
	CHECK(f == NULL);
	CHECK_INT(err.status, want);
	CHECK_INT(err.line, line);
	if (needle && strstr(err.message, needle) == NULL)
	{
		test_failures++;
		diag("message \"%s\" lacks \"%s\"", err.message, needle);
	}
	if (f)
		zcrm_result_free(f);
}

#define EXPECT_FAIL(csv, want, line, needle) \
	expect_fail(csv, sizeof(csv) - 1, &big, want, line, needle)

static void
test_errors(void)
{
	ZcrmResultLimits small = {64, 100000, NULL};
	ZcrmResultLimits two = {1 << 20, 2, NULL};

	EXPECT_FAIL("A,B,ERRORS\r\n1,2,3\r\n", ZCRM_RESULT_MISSING_COLUMN, 0, "no STATUS column");
	EXPECT_FAIL("STATUS,ERRORS\n", ZCRM_RESULT_MISSING_COLUMN, 0, "no RECORD_ID column");
	EXPECT_FAIL("Status,RECORD_ID,ERRORS\n", ZCRM_RESULT_MISSING_COLUMN, 0, "STATUS");
	EXPECT_FAIL("STATUS,RECORD_ID\n", ZCRM_RESULT_MISSING_COLUMN, 0, "no ERRORS column");
	EXPECT_FAIL("A,STATUS,RECORD_ID,ERRORS,A\n", ZCRM_RESULT_DUPLICATE_COLUMN, 0, "\"A\" twice");
	EXPECT_FAIL("", ZCRM_RESULT_BAD_CSV, 0, "no header row");
	EXPECT_FAIL("\r\n\r\n", ZCRM_RESULT_BAD_CSV, 0, "no header row");
	EXPECT_FAIL("\xEF\xBB\xBF", ZCRM_RESULT_BAD_CSV, 0, "no header row");
	EXPECT_FAIL("STATUS,RECORD_ID,ERRORS\n\"added,1,\n", ZCRM_RESULT_BAD_CSV, 2, "never ends");
	EXPECT_FAIL("STATUS,RECORD_ID,ERRORS\nadded,1,\n\"x\"y,1,\n", ZCRM_RESULT_BAD_CSV, 3,
				"after the closing quote");
	EXPECT_FAIL("STATUS,RECORD_ID,ERRORS\nadded,\xC3\x28,\n", ZCRM_RESULT_BAD_UTF8, 2, "UTF-8");
	EXPECT_FAIL("STATUS,RECORD_ID,ERRORS\nadded,\xC0\x80,\n", ZCRM_RESULT_BAD_UTF8, 2, "UTF-8");
	EXPECT_FAIL("STATUS,RECORD_ID,ERRORS\nadded,\xED\xA0\x80,\n", ZCRM_RESULT_BAD_UTF8, 2, "UTF-8");
	EXPECT_FAIL("STATUS,RECORD_ID,ERRORS\nadded,\xF4\x90\x80\x80,\n", ZCRM_RESULT_BAD_UTF8, 2, "UTF-8");
	EXPECT_FAIL("STATUS,RECORD_ID,ERRORS\r\n\r\nadded,1,\xE2\x82", ZCRM_RESULT_BAD_UTF8, 3,
				"ends inside");
	EXPECT_FAIL("STATUS,RECORD_ID,ERRORS\nadded,1\0,\n", ZCRM_RESULT_BAD_UTF8, 2, "NUL");
	expect_fail("STATUS,RECORD_ID,ERRORS\n" "added,1234567890123456789,\n"
				"added,1234567890123456789,\n", 78, &small, ZCRM_RESULT_TOO_LARGE, 0,
				"more than 64");
	expect_fail("STATUS,RECORD_ID,ERRORS\na,,\nb,,\nc,,\n", 36, &two,
				ZCRM_RESULT_TOO_MANY_ROWS, 4, "more than 2 rows");
	/* the row cap counts data rows only: two rows pass */
	{
		ZcrmResultFile *f = NULL;

		CHECK_INT(read_n("STATUS,RECORD_ID,ERRORS\na,,\nb,,\n", 32, &two, &f, NULL), ZCRM_RESULT_OK);
		zcrm_result_free(f);
	}
	/* NULL err is accepted */
	{
		ZcrmResultFile *f = NULL;

		CHECK_INT(read_n("A\n", 2, &big, &f, NULL), ZCRM_RESULT_MISSING_COLUMN);
		CHECK(f == NULL);
	}
}

static void
test_too_many_columns(void)
{
	size_t		n = ZCRM_RESULT_MAX_COLUMNS + 1;
	char	   *csv = malloc(n * 8 + 32);
	size_t		len = 0;

	for (size_t i = 0; i + 3 < n; i++)
		len += sprintf(csv + len, "c%zu,", i);
	len += sprintf(csv + len, "STATUS,RECORD_ID,ERRORS\n");
	expect_fail(csv, len, &big, ZCRM_RESULT_TOO_MANY_COLUMNS, 1, "more than 1024 columns");
	free(csv);
}

static int	interrupt_calls;
static bool
interrupt_now(void)
{
	return ++interrupt_calls >= 2;
}

/* A big file: many rows, asked to stop midway by the interrupt callback. */
static void
test_big_and_interrupted(void)
{
	size_t		rows = 30000;
	char	   *csv = malloc(rows * 64 + 64);
	size_t		len = (size_t) sprintf(csv, HEADER);
	ZcrmResultFile *f = NULL;
	ZcrmResultLimits lim = {1 << 24, 25000, NULL};
	ZcrmResultLimits stop = {1 << 24, 100000, interrupt_now};

	for (size_t i = 0; i < rows; i++)
		len += (size_t) sprintf(csv + len, "N%zu,n%zu@example.com,,added,%zu,\r\n", i, i, 7300000000000000000 + i);
	expect_fail(csv, len, &lim, ZCRM_RESULT_TOO_MANY_ROWS, 25002, "more than 25000");
	lim.max_rows = 30000;
	CHECK_INT(read_n(csv, len, &lim, &f, NULL), ZCRM_RESULT_OK);
	if (f)
	{
		CHECK_INT(zcrm_result_nrows(f), rows);
		CHECK_STR(zcrm_result_echo(f, 29999, "Email"), "n29999@example.com");
		CHECK_STR(zcrm_result_record_id(f, 12345), "7300000000000012345");
	}
	zcrm_result_free(f);
	interrupt_calls = 0;
	expect_fail(csv, len, &stop, ZCRM_RESULT_INTERRUPTED, 0, "interrupted");
	CHECK_INT(interrupt_calls, 2);
	free(csv);
}

static void
test_out_of_memory(void)
{
	const char *csv = HEADER "a,b,c,added,1,X-a\r\n";
	int			failures = 0;
	bool		succeeded = false;

	for (long k = 0; k < 50 && !succeeded; k++)
	{
		ZcrmResultFile *f = NULL;
		ZcrmResultError err;
		ZcrmResultStatus st;

		alloc_count = 0;
		alloc_failed = false;
		alloc_fail_at = k + 1;	/* read_n's own copy is allocation 0 */
		st = read_n(csv, strlen(csv), &big, &f, &err);
		alloc_fail_at = -1;
		if (alloc_failed)
		{
			CHECK_INT(st, ZCRM_RESULT_NO_MEMORY);
			CHECK(f == NULL);
			failures++;
		}
		else
		{
			CHECK_INT(st, ZCRM_RESULT_OK);
			succeeded = true;
		}
		zcrm_result_free(f);
	}
	CHECK(succeeded);
	CHECK(failures >= 4);
}

static void
check_json(const char *errors, const char *want)
{
	char	   *json = (char *) &json;

	CHECK_INT(zcrm_result_errors_json(errors, &json), ZCRM_RESULT_OK);
	CHECK_STR(json, want);
	if (json != (char *) &json)
		free(json);
}

static void
test_errors_json(void)
{
	check_json("MANDATORY_NOT_FOUND-Company,Last_Name:DUPLICATE_DATA-Email",
			   "[{\"code\":\"MANDATORY_NOT_FOUND\",\"fields\":[\"Company\",\"Last_Name\"]},"
			   "{\"code\":\"DUPLICATE_DATA\",\"fields\":[\"Email\"]}]");
	check_json("INVALID_DATA-Email", "[{\"code\":\"INVALID_DATA\",\"fields\":[\"Email\"]}]");
	check_json("LIMIT_EXCEEDED", "[{\"code\":\"LIMIT_EXCEEDED\",\"fields\":[]}]");
	check_json("CANNOT_PROCESS-", "[{\"code\":\"CANNOT_PROCESS\",\"fields\":[]}]");
	check_json(" A - x , ,y :: B ,",
			   "[{\"code\":\"A\",\"fields\":[\"x\",\"y\"]},{\"code\":\"B ,\",\"fields\":[]}]");
	check_json("-Email", "[{\"code\":\"\",\"fields\":[\"Email\"]}]");
	check_json("X-a-b", "[{\"code\":\"X\",\"fields\":[\"a-b\"]}]");
	check_json("Q\"\\\x01-f\"", "[{\"code\":\"Q\\\"\\\\\\u0001\",\"fields\":[\"f\\\"\"]}]");
	check_json("", NULL);
	check_json(" : :", NULL);
	check_json(NULL, NULL);
	check_json(":A:", "[{\"code\":\"A\",\"fields\":[]}]");

	/* every allocation failure is reported and frees what it had */
	for (long k = 0; k < 20; k++)
	{
		char	   *json = NULL;
		ZcrmResultStatus st;

		alloc_count = 0;
		alloc_failed = false;
		alloc_fail_at = k;
		st = zcrm_result_errors_json("A-b,c:D-e:F", &json);
		alloc_fail_at = -1;
		if (!alloc_failed)
		{
			CHECK_INT(st, ZCRM_RESULT_OK);
			free(json);
			break;
		}
		CHECK_INT(st, ZCRM_RESULT_NO_MEMORY);
		CHECK(json == NULL);
	}
}

static void
test_status_messages(void)
{
	CHECK_STR(zcrm_result_status_message(ZCRM_RESULT_OK), "success");
	CHECK_STR(zcrm_result_status_message(ZCRM_RESULT_INTERRUPTED), "interrupted");
	CHECK_STR(zcrm_result_status_message((ZcrmResultStatus) 99), "unknown status");
}

/* ---- match.c ---------------------------------------------------------- */

/* n rows of k values "v<row>-<col>" (row numbers taken from ids[]). */
static const char **
make_rows(const int *ids, size_t n, int k)
{
	const char **rows = calloc(n * (size_t) k + 1, sizeof(char *));

	for (size_t i = 0; i < n; i++)
	{
		for (int j = 0; j < k; j++)
		{
			char	   *v = malloc(32);

			snprintf(v, 32, "v%d-%d", ids[i], j);
			rows[i * (size_t) k + (size_t) j] = v;
		}
	}
	return rows;
}

static void
free_rows(const char **rows, size_t n, int k)
{
	for (size_t i = 0; i < n * (size_t) k; i++)
		free((char *) rows[i]);
	free(rows);
}

static void
run_match(const int *src, size_t ns, const int *res, size_t nr, int k,
		  const long *want, size_t want_unmatched, bool want_positional)
{
	const char **s = make_rows(src, ns, k);
	const char **r = make_rows(res, nr, k);
	long	   *got = malloc((nr + 1) * sizeof(long));
	ZcrmMatchOutcome o;

	CHECK(zcrm_match_rows(ns, nr, k, s, r, got, &o));
	for (size_t i = 0; i < nr; i++)
	{
		if (got[i] != want[i])
		{
			test_failures++;
			diag("result row %zu matched %ld, expected %ld", i, got[i], want[i]);
		}
	}
	CHECK_INT(o.unmatched, want_unmatched);
	CHECK_INT(o.positional, want_positional);
	free(got);
	free_rows(s, ns, k);
	free_rows(r, nr, k);
}

static void
test_match_positional(void)
{
	int			src[] = {1, 2, 3, 4};
	long		want[] = {0, 1, 2, 3};

	/* duplicates in the source do not stop a positional match */
	int			dup[] = {1, 1, 2, 2};

	run_match(src, 4, src, 4, 3, want, 0, true);
	run_match(src, 4, src, 4, 1, want, 0, true);
	run_match(dup, 4, dup, 4, 2, want, 0, true);
	run_match(src, 0, src, 0, 3, want, 0, true);
}

static void
test_match_shuffled(void)
{
	int			src[] = {10, 11, 12, 13, 14};
	int			res[] = {14, 12, 10, 13, 11};
	long		want[] = {4, 2, 0, 3, 1};

	run_match(src, 5, res, 5, 3, want, 0, false);
}

static void
test_match_duplicates(void)
{
	/* source rows 1 and 3 share a tuple: whichever comes back is unmatched */
	int			src[] = {1, 2, 1, 3};
	int			res[] = {3, 1, 2, 1};
	long		want[] = {3, -1, 1, -1};

	/* a result tuple twice: neither gets the source row */
	int			src2[] = {1, 2, 3};
	int			res2[] = {2, 2, 1};
	long		want2[] = {-1, -1, 0};

	run_match(src, 4, res, 4, 2, want, 2, false);
	run_match(src2, 3, res2, 3, 3, want2, 2, false);
}

static void
test_match_missing_and_extra(void)
{
	/* a missing row: counts differ, so by value even in order */
	int			src[] = {1, 2, 3, 4};
	int			res[] = {1, 2, 4};
	long		want[] = {0, 1, 3};

	/* an extra row no source has */
	int			res2[] = {1, 2, 3, 9, 4};
	long		want2[] = {0, 1, 2, -1, 3};

	/* same count, one row differs: the others still match by value */
	int			res3[] = {1, 2, 8, 4};
	long		want3[] = {0, 1, -1, 3};

	/* no source rows: every result row is unmatched */
	long		want_none[] = {-1, -1, -1};

	run_match(src, 4, res, 3, 3, want, 0, false);
	run_match(src, 4, res2, 5, 3, want2, 1, false);
	run_match(src, 4, res3, 4, 3, want3, 1, false);
	run_match(src, 0, res, 3, 3, want_none, 3, false);
	run_match(src, 4, res, 0, 3, want, 0, false);
}

static void
test_match_k0(void)
{
	int			src[] = {1, 2, 3};
	long		want[] = {-1, -1, -1};
	ZcrmMatchOutcome o;
	long		got[2] = {7, 7};

	run_match(src, 3, src, 3, 0, want, 3, false);
	CHECK(!zcrm_match_rows(1, 2, ZCRM_MATCH_MAX_K + 1, NULL, NULL, got, &o));
	CHECK_INT(got[0], -1);
	CHECK_INT(got[1], -1);
	CHECK(!zcrm_match_rows(1, 2, -1, NULL, NULL, got, &o));
}

/* ("ab","c") and ("a","bc") are different tuples; NULL is "" */
static void
test_match_tuple_edges(void)
{
	const char *s[] = {"ab", "c", "a", "bc", NULL, "x"};
	const char *r[] = {"a", "bc", "", "x", "ab", "c"};
	long		got[3];
	ZcrmMatchOutcome o;

	CHECK(zcrm_match_rows(3, 3, 2, s, r, got, &o));
	CHECK_INT(got[0], 1);
	CHECK_INT(got[1], 2);
	CHECK_INT(got[2], 0);
	CHECK_INT(o.unmatched, 0);
	CHECK(!o.positional);
}

/* 100,000 rows reversed, with every 7th source tuple doubled */
static void
test_match_large(void)
{
	size_t		n = 100000;
	int		   *src = malloc(n * sizeof(int));
	int		   *res = malloc(n * sizeof(int));
	long	   *want = malloc(n * sizeof(long));
	size_t		unmatched = 0;

	for (size_t i = 0; i < n; i++)
		src[i] = (i % 7 == 6) ? (int) (i - 1) : (int) i;
	for (size_t i = 0; i < n; i++)
	{
		size_t		s = n - 1 - i;

		res[i] = src[s];
		if (s % 7 == 6 || s % 7 == 5)
		{
			want[i] = -1;
			unmatched++;
		}
		else
			want[i] = (long) s;
	}
	run_match(src, n, res, n, 3, want, unmatched, false);
	free(src);
	free(res);
	free(want);
}

static void
test_match_out_of_memory(void)
{
	int			src[] = {1, 2};
	int			res[] = {2, 1};
	const char **s = make_rows(src, 2, 1);
	const char **r = make_rows(res, 2, 1);
	long		got[2];
	ZcrmMatchOutcome o;

	for (long k = 0; k < 2; k++)
	{
		alloc_count = 0;
		alloc_fail_at = k;
		CHECK(!zcrm_match_rows(2, 2, 1, s, r, got, &o));
		alloc_fail_at = -1;
		CHECK_INT(got[0], -1);
		CHECK_INT(got[1], -1);
		CHECK_INT(o.unmatched, 2);
	}
	CHECK(zcrm_match_rows(2, 2, 1, s, r, got, &o));
	CHECK_INT(got[0], 1);
	free_rows(s, 2, 1);
	free_rows(r, 2, 1);
}

/* zcrm_result_match: a shuffled file against its source, by column name */
static void
test_result_match(void)
{
	ZcrmResultFile *f = NULL;
	const char *source[] = {"Ann", "a@x.y", "Bob", "b@x.y", "Cid", "c@x.y", "Ann", "a@x.y"};
	const char *names[] = {"Last_Name", "Email"};
	const char *wrong[] = {"Last_Name", "Phone"};
	const char *status[] = {"Last_Name", "STATUS"};
	long		got[3];
	ZcrmMatchOutcome o;

	CHECK_INT(read_s("STATUS,Email,RECORD_ID,Last_Name,ERRORS\r\n"
					 "added,c@x.y,3,Cid,\r\nadded,a@x.y,1,Ann,\r\nadded,b@x.y,2,Bob,\r\n",
					 &f, NULL), ZCRM_RESULT_OK);
	if (f == NULL)
		return;
	/* three source rows: each result row by value */
	CHECK(zcrm_result_match(f, 2, names, 3, source, got, &o));
	CHECK_INT(got[0], 2);
	CHECK_INT(got[1], 0);
	CHECK_INT(got[2], 1);
	CHECK_INT(o.unmatched, 0);
	CHECK(!o.positional);
	/* four source rows, Ann twice: her row cannot be told apart */
	CHECK(zcrm_result_match(f, 2, names, 4, source, got, &o));
	CHECK_INT(got[1], -1);
	CHECK_INT(o.unmatched, 1);
	/* a column the file does not echo, or STATUS: nothing matched */
	CHECK(zcrm_result_match(f, 2, wrong, 3, source, got, &o));
	CHECK_INT(o.unmatched, 3);
	CHECK_INT(got[0], -1);
	CHECK(zcrm_result_match(f, 2, status, 3, source, got, &o));
	CHECK_INT(o.unmatched, 3);
	CHECK(!zcrm_result_match(f, ZCRM_MATCH_MAX_K + 1, names, 3, source, got, &o));
	alloc_count = 0;
	alloc_fail_at = 0;
	CHECK(!zcrm_result_match(f, 2, names, 3, source, got, &o));
	alloc_fail_at = -1;
	CHECK_INT(got[2], -1);
	zcrm_result_free(f);
}

static const TestCase tests[] = {
	TEST(test_basic_file),
	TEST(test_columns_by_name),
	TEST(test_quoting),
	TEST(test_blank_lines_and_cr),
	TEST(test_ragged_rows),
	TEST(test_errors),
	TEST(test_too_many_columns),
	TEST(test_big_and_interrupted),
	TEST(test_out_of_memory),
	TEST(test_errors_json),
	TEST(test_status_messages),
	TEST(test_match_positional),
	TEST(test_match_shuffled),
	TEST(test_match_duplicates),
	TEST(test_match_missing_and_extra),
	TEST(test_match_k0),
	TEST(test_match_tuple_edges),
	TEST(test_match_large),
	TEST(test_match_out_of_memory),
	TEST(test_result_match),
};

int
main(void)
{
	return run_tests(tests, (int) (sizeof(tests) / sizeof(tests[0])), NULL);
}
