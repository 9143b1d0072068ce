/*-------------------------------------------------------------------------
 *
 * test_csvzip.c
 *	  Unit tests for src/csv.c and src/zip.c, run outside the server.
 *
 * The TAP-style harness of harness.h, as test_parse.c: "ok N - name" or
 * "not ok N - name", diagnostics as "# " lines, and a final "N passed, N
 * failed" line (the Makefile's check target adds it to test_parse's into
 * one line); exits non-zero on any failure.
 *
 * The binary is linked with --wrap=malloc/calloc/realloc: harness.c's
 * wrappers make the k-th allocation of csv.c or zip.c fail, to test every
 * out-of-memory path (minizip's own allocations, made inside the shared
 * library, are not wrapped).  Under ASan, a leak on any path fails the run.
 *
 * Copyright (c) 2026, zcrm_bulk developers
 *
 * IDENTIFICATION
 *	  test/unit/test_csvzip.c
 *
 *-------------------------------------------------------------------------
 */
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <zlib.h>

#include "csv.h"
#include "harness.h"
#include "zip.h"


/* ----------------------------------------------------------------
 * Allocation failure injection
 * ----------------------------------------------------------------
 */

/* Fail allocation k from now on (k < 0: none). */
static void
fail_allocation(long k)
{
	alloc_fail_at = k;
	alloc_count = 0;
	alloc_failed = false;
}


/* ----------------------------------------------------------------
 * Helpers
 * ----------------------------------------------------------------
 */

/* Does the writer hold exactly these bytes? */
static bool
csv_is(const ZcrmCsv *csv, const char *want)
{
	size_t		n = strlen(want);

	if (zcrm_csv_len(csv) != n)
	{
		diag("CSV has %zu bytes, expected %zu (\"%s\")", zcrm_csv_len(csv), n, want);
		return false;
	}
	return n == 0 || memcmp(zcrm_csv_data(csv), want, n) == 0;
}

static uint32_t
crc_of(const void *data, size_t len)
{
	return (uint32_t) crc32(crc32(0L, Z_NULL, 0), data, (uInt) len);
}

static void
put_le32(unsigned char *p, uint32_t v)
{
	p[0] = v & 0xFF;
	p[1] = (v >> 8) & 0xFF;
	p[2] = (v >> 16) & 0xFF;
	p[3] = (v >> 24) & 0xFF;
}

/* Offset of the first 4-byte signature "PK" c d in buf, or -1. */
static long
find_sig(const unsigned char *buf, size_t len, int c, int d)
{
	for (size_t i = 0; i + 4 <= len; i++)
		if (buf[i] == 'P' && buf[i + 1] == 'K' && buf[i + 2] == c && buf[i + 3] == d)
			return (long) i;
	return -1;
}

/*
 * Open the archive and read entry 0 with the cap; return the status, and
 * the data (caller frees) in *out.
 */
static ZcrmZipStatus
read_first(const void *zip, size_t ziplen, size_t cap, void **out,
		   size_t *outlen, ZcrmZipError *err)
{
	ZcrmUnzip  *u = zcrm_unzip_open(zip, ziplen, err);
	ZcrmZipStatus st;

	*out = NULL;
	*outlen = 0;
	if (u == NULL)
		return err->status;
	if (zcrm_unzip_count(u) < 1)
	{
		zcrm_unzip_close(u);
		return ZCRM_ZIP_MISUSE;
	}
	st = zcrm_unzip_read(u, 0, cap, out, outlen, err);
	zcrm_unzip_close(u);
	return st;
}


/* ----------------------------------------------------------------
 * CSV
 * ----------------------------------------------------------------
 */

static void
test_csv_quoting(void)
{
	static const struct
	{
		const char *in;
		const char *out;
	}			cases[] = {
		{"abc", "abc\r\n"},
		{"", "\r\n"},
		{"a\"b", "\"a\"\"b\"\r\n"},
		{"\"", "\"\"\"\"\r\n"},
		{"a,b", "\"a,b\"\r\n"},
		{"a\rb", "\"a\rb\"\r\n"},
		{"a\nb", "\"a\nb\"\r\n"},
		{"a\r\nb", "\"a\r\nb\"\r\n"},
		{" a", "\" a\"\r\n"},
		{"a ", "\"a \"\r\n"},
		{"\ta", "\"\ta\"\r\n"},
		{"a b", "a b\r\n"},
		{"a;b|c:d", "a;b|c:d\r\n"},
		{"caf\xC3\xA9 \xE2\x82\xAC \xF0\x9F\x98\x80", "caf\xC3\xA9 \xE2\x82\xAC \xF0\x9F\x98\x80\r\n"},
		{"\"\"x\"\"", "\"\"\"\"\"x\"\"\"\"\"\r\n"},
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
	{
		ZcrmCsv    *csv = zcrm_csv_create(1024);
		const char *f = cases[i].in;
		size_t		flen = strlen(f);
		size_t		size = 0;

		CHECK_INT(zcrm_csv_write_row(csv, false, &f, &flen, 1), ZCRM_CSV_OK);
		if (!csv_is(csv, cases[i].out))
		{
			test_failures++;
			diag("case %zu: \"%s\"", i, cases[i].in);
		}
		CHECK_INT(zcrm_csv_row_size(&f, &flen, 1, &size), ZCRM_CSV_OK);
		CHECK_INT(size, strlen(cases[i].out));
		CHECK_INT(zcrm_csv_rows(csv), 1);
		zcrm_csv_free(csv);
	}

	/* several fields, a header, NULL data for an empty field */
	{
		ZcrmCsv    *csv = zcrm_csv_create(1024);
		const char *h[] = {"Last_Name", "Account_Name.id", "Description"};
		size_t		hl[] = {9, 15, 11};
		const char *r[] = {"O'Brien, Jr.", "4150868000000224005", NULL};
		size_t		rl[] = {12, 19, 0};
		size_t		size;

		CHECK_INT(zcrm_csv_write_row(csv, true, h, hl, 3), ZCRM_CSV_OK);
		CHECK_INT(zcrm_csv_rows(csv), 0);
		CHECK_INT(zcrm_csv_header_len(csv), 9 + 1 + 15 + 1 + 11 + 2);
		CHECK_INT(zcrm_csv_write_row(csv, false, r, rl, 3), ZCRM_CSV_OK);
		CHECK_INT(zcrm_csv_row_size(r, rl, 3, &size), ZCRM_CSV_OK);
		CHECK_INT(size, zcrm_csv_len(csv) - zcrm_csv_header_len(csv));
		CHECK(csv_is(csv, "Last_Name,Account_Name.id,Description\r\n"
					 "\"O'Brien, Jr.\",4150868000000224005,\r\n"));
		CHECK_INT(zcrm_csv_rows(csv), 1);
		/* a row without fields is an empty line */
		CHECK_INT(zcrm_csv_write_row(csv, false, NULL, NULL, 0), ZCRM_CSV_OK);
		CHECK_INT(zcrm_csv_rows(csv), 2);
		zcrm_csv_free(csv);
	}
}

static void
test_csv_misuse(void)
{
	ZcrmCsv    *csv = zcrm_csv_create(100);
	const char *f = "x";
	size_t		one = 1;
	size_t		size;

	CHECK(zcrm_csv_create(0) == NULL);
	CHECK_INT(zcrm_csv_field(csv, "a", 1), ZCRM_CSV_MISUSE);
	CHECK_INT(zcrm_csv_end_row(csv), ZCRM_CSV_MISUSE);
	CHECK_INT(zcrm_csv_begin_row(csv, false), ZCRM_CSV_OK);
	CHECK_INT(zcrm_csv_begin_row(csv, false), ZCRM_CSV_MISUSE);
	CHECK_INT(zcrm_csv_field(csv, NULL, 3), ZCRM_CSV_MISUSE);
	CHECK_INT(zcrm_csv_len(csv), 0);
	CHECK_INT(zcrm_csv_write_row(csv, false, &f, &one, 1), ZCRM_CSV_OK);
	/* the header must come first */
	CHECK_INT(zcrm_csv_write_row(csv, true, &f, &one, 1), ZCRM_CSV_MISUSE);
	CHECK_INT(zcrm_csv_write_row(csv, false, NULL, &one, 1), ZCRM_CSV_MISUSE);
	CHECK_INT(zcrm_csv_row_size(&f, &one, 1, NULL), ZCRM_CSV_MISUSE);
	CHECK_INT(zcrm_csv_row_size(NULL, NULL, 0, &size), ZCRM_CSV_OK);
	CHECK_INT(size, 2);
	CHECK(csv_is(csv, "x\r\n"));
	zcrm_csv_free(csv);

	/* NULL writers are harmless */
	zcrm_csv_free(NULL);
	zcrm_csv_reset(NULL);
	zcrm_csv_rollback_row(NULL);
	CHECK_INT(zcrm_csv_begin_row(NULL, false), ZCRM_CSV_MISUSE);
	CHECK(!zcrm_csv_fits(NULL, 0));
	CHECK(zcrm_csv_data(NULL) == NULL);
	CHECK(strlen(zcrm_csv_status_message(ZCRM_CSV_FULL)) > 0);
}

static void
test_csv_caps(void)
{
	ZcrmCsv    *csv;

	/* a row of exactly the cap fits; the next byte does not */
	csv = zcrm_csv_create(10);
	CHECK(zcrm_csv_fits(csv, 10));
	CHECK(!zcrm_csv_fits(csv, 11));
	CHECK_INT(zcrm_csv_begin_row(csv, false), ZCRM_CSV_OK);
	CHECK_INT(zcrm_csv_field(csv, "abcdefgh", 8), ZCRM_CSV_OK);
	CHECK_INT(zcrm_csv_end_row(csv), ZCRM_CSV_OK);
	CHECK(csv_is(csv, "abcdefgh\r\n"));
	CHECK_INT(zcrm_csv_allocated(csv), 10);
	CHECK(!zcrm_csv_fits(csv, 1));
	CHECK(zcrm_csv_fits(csv, 0));
	CHECK_INT(zcrm_csv_begin_row(csv, false), ZCRM_CSV_OK);
	CHECK_INT(zcrm_csv_field(csv, "", 0), ZCRM_CSV_OK);
	CHECK_INT(zcrm_csv_end_row(csv), ZCRM_CSV_FULL);
	CHECK(csv_is(csv, "abcdefgh\r\n"));
	CHECK_INT(zcrm_csv_rows(csv), 1);
	/* the writer can still be used after FULL */
	zcrm_csv_reset(csv);
	CHECK_INT(zcrm_csv_len(csv), 0);
	CHECK_INT(zcrm_csv_rows(csv), 0);
	zcrm_csv_free(csv);

	/* the CRLF does not fit: the row is rolled back by end_row */
	csv = zcrm_csv_create(9);
	CHECK_INT(zcrm_csv_begin_row(csv, false), ZCRM_CSV_OK);
	CHECK_INT(zcrm_csv_field(csv, "abcdefgh", 8), ZCRM_CSV_OK);
	CHECK_INT(zcrm_csv_end_row(csv), ZCRM_CSV_FULL);
	CHECK_INT(zcrm_csv_len(csv), 0);
	CHECK_INT(zcrm_csv_rows(csv), 0);
	/* quoting counts against the cap: 7 bytes become 9 */
	CHECK_INT(zcrm_csv_begin_row(csv, false), ZCRM_CSV_OK);
	CHECK_INT(zcrm_csv_field(csv, "abc,def", 7), ZCRM_CSV_OK);
	CHECK_INT(zcrm_csv_end_row(csv), ZCRM_CSV_FULL);
	/* a field larger than the cap */
	CHECK_INT(zcrm_csv_begin_row(csv, false), ZCRM_CSV_OK);
	CHECK_INT(zcrm_csv_field(csv, "0123456789", 10), ZCRM_CSV_FULL);
	CHECK_INT(zcrm_csv_field(csv, "0", 1), ZCRM_CSV_MISUSE);	/* rolled back */
	CHECK(zcrm_csv_allocated(csv) <= 9);
	zcrm_csv_free(csv);

	/* a huge declared length is FULL, not an overflow */
	csv = zcrm_csv_create(SIZE_MAX);
	CHECK_INT(zcrm_csv_begin_row(csv, false), ZCRM_CSV_OK);
	CHECK_INT(zcrm_csv_field(csv, "\"\"", 2), ZCRM_CSV_OK);
	CHECK_INT(zcrm_csv_end_row(csv), ZCRM_CSV_OK);
	CHECK(csv_is(csv, "\"\"\"\"\"\"\r\n"));
	zcrm_csv_free(csv);
}

static void
test_csv_rollback(void)
{
	ZcrmCsv    *csv = zcrm_csv_create(1000);
	const char *r[] = {"1", "bad\xFF", "3"};
	size_t		rl[] = {1, 4, 1};
	const char *ok[] = {"1", "2", "3"};

	CHECK_INT(zcrm_csv_write_row(csv, true, ok, rl, 1), ZCRM_CSV_OK);
	CHECK_INT(zcrm_csv_write_row(csv, false, ok, rl, 1), ZCRM_CSV_OK);
	/* explicit rollback of a partly written row */
	CHECK_INT(zcrm_csv_begin_row(csv, false), ZCRM_CSV_OK);
	CHECK_INT(zcrm_csv_field(csv, "half", 4), ZCRM_CSV_OK);
	CHECK_INT(zcrm_csv_field(csv, "row", 3), ZCRM_CSV_OK);
	zcrm_csv_rollback_row(csv);
	CHECK(csv_is(csv, "1\r\n1\r\n"));
	/* a bad field in the middle: nothing of the row is left */
	CHECK_INT(zcrm_csv_write_row(csv, false, r, rl, 3), ZCRM_CSV_BAD_UTF8);
	CHECK(csv_is(csv, "1\r\n1\r\n"));
	CHECK_INT(zcrm_csv_rows(csv), 1);
	/* and the next row goes right after the last complete one */
	rl[1] = 1;
	CHECK_INT(zcrm_csv_write_row(csv, false, ok, rl, 3), ZCRM_CSV_OK);
	CHECK(csv_is(csv, "1\r\n1\r\n1,2,3\r\n"));
	CHECK_INT(zcrm_csv_rows(csv), 2);
	/* reset keeps the header only */
	zcrm_csv_reset(csv);
	CHECK(csv_is(csv, "1\r\n"));
	CHECK_INT(zcrm_csv_rows(csv), 0);
	CHECK_INT(zcrm_csv_write_row(csv, true, ok, rl, 1), ZCRM_CSV_MISUSE);
	CHECK_INT(zcrm_csv_write_row(csv, false, ok + 1, rl, 1), ZCRM_CSV_OK);
	CHECK(csv_is(csv, "1\r\n2\r\n"));
	zcrm_csv_free(csv);
}

static void
test_csv_invalid_utf8(void)
{
	static const char *const bad[] = {
		"\x80", "\xBF", "\xC0\x80", "\xC1\xBF", "\xC2", "\xC2\x41",
		"\xE0\x80\x80", "\xE0\x9F\xBF", "\xE2\x82", "\xED\xA0\x80",
		"\xED\xBF\xBF", "\xF0\x80\x80\x80", "\xF0\x8F\xBF\xBF",
		"\xF4\x90\x80\x80", "\xF5\x80\x80\x80", "\xF8\x88\x80\x80\x80",
		"\xFE", "\xFF", "ok\xE2\x82", "\xF0\x9F\x98",
	};
	static const char *const good[] = {
		"\x7F", "\xC2\x80", "\xDF\xBF", "\xE0\xA0\x80", "\xED\x9F\xBF",
		"\xEE\x80\x80", "\xEF\xBF\xBF", "\xF0\x90\x80\x80", "\xF4\x8F\xBF\xBF",
	};
	ZcrmCsv    *csv = zcrm_csv_create(1000);
	size_t		size;

	CHECK_INT(zcrm_csv_write_row(csv, false, NULL, NULL, 0), ZCRM_CSV_OK);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
	{
		const char *f = bad[i];
		size_t		n = strlen(f);

		CHECK_INT(zcrm_csv_begin_row(csv, false), ZCRM_CSV_OK);
		CHECK_INT(zcrm_csv_field(csv, "x", 1), ZCRM_CSV_OK);
		if (zcrm_csv_field(csv, f, n) != ZCRM_CSV_BAD_UTF8)
		{
			test_failures++;
			diag("bad UTF-8 case %zu accepted", i);
			zcrm_csv_rollback_row(csv);
		}
		CHECK_INT(zcrm_csv_row_size(&f, &n, 1, &size), ZCRM_CSV_BAD_UTF8);
		CHECK_INT(zcrm_csv_len(csv), 2);
	}
	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++)
	{
		const char *f = good[i];
		size_t		n = strlen(f);

		if (zcrm_csv_write_row(csv, false, &f, &n, 1) != ZCRM_CSV_OK)
		{
			test_failures++;
			diag("good UTF-8 case %zu refused", i);
		}
	}
	zcrm_csv_free(csv);

	/* NUL anywhere in a field */
	csv = zcrm_csv_create(1000);
	{
		const char *f = "a\0b";
		size_t		n = 3;

		CHECK_INT(zcrm_csv_write_row(csv, false, &f, &n, 1), ZCRM_CSV_NUL);
		CHECK_INT(zcrm_csv_row_size(&f, &n, 1, &size), ZCRM_CSV_NUL);
		n = 1;
		f = "";
		CHECK_INT(zcrm_csv_write_row(csv, false, &f, &n, 1), ZCRM_CSV_NUL);
		CHECK_INT(zcrm_csv_len(csv), 0);
		CHECK_INT(zcrm_csv_rows(csv), 0);
	}
	zcrm_csv_free(csv);
}

/*
 * 100,000 rows split into parts as 2.1 will: a part is closed when it holds
 * 25,000 rows or the next row would pass the cap.  Memory never passes the
 * cap, every part starts with the header, and no row is lost.
 */
static void
split_rows(size_t cap, size_t nrows, size_t *parts, size_t *total_rows,
		   size_t *max_alloc)
{
	ZcrmCsv    *csv = zcrm_csv_create(cap);
	const char *h[] = {"Id", "Last_Name", "Description"};
	size_t		hl[] = {2, 9, 11};
	char		id[32];
	char		desc[64];

	*parts = 0;
	*total_rows = 0;
	*max_alloc = 0;
	CHECK_INT(zcrm_csv_write_row(csv, true, h, hl, 3), ZCRM_CSV_OK);
	for (size_t i = 0; i < nrows; i++)
	{
		const char *r[3];
		size_t		rl[3];
		size_t		size;

		rl[0] = (size_t) snprintf(id, sizeof(id), "%zu", i);
		rl[2] = (size_t) snprintf(desc, sizeof(desc), "row %zu, \"quoted\"%s", i,
								  (i % 7) == 0 ? "\r\nsecond line" : "");
		r[0] = id;
		r[1] = "Smith";
		rl[1] = 5;
		r[2] = desc;
		CHECK_INT(zcrm_csv_row_size(r, rl, 3, &size), ZCRM_CSV_OK);
		if (zcrm_csv_rows(csv) == ZCRM_CSV_MAX_ROWS || !zcrm_csv_fits(csv, size))
		{
			/* the part goes; it must start with the header */
			CHECK(memcmp(zcrm_csv_data(csv), "Id,Last_Name,Description\r\n", 26) == 0);
			(*parts)++;
			*total_rows += zcrm_csv_rows(csv);
			zcrm_csv_reset(csv);
		}
		if (zcrm_csv_write_row(csv, false, r, rl, 3) != ZCRM_CSV_OK)
		{
			test_failures++;
			diag("row %zu refused", i);
			break;
		}
		if (zcrm_csv_allocated(csv) > *max_alloc)
			*max_alloc = zcrm_csv_allocated(csv);
	}
	(*parts)++;
	*total_rows += zcrm_csv_rows(csv);
	zcrm_csv_free(csv);
}

static void
test_csv_100k_rows(void)
{
	size_t		parts;
	size_t		rows;
	size_t		max_alloc;
	ZcrmCsv    *csv;
	size_t		written = 0;
	ZcrmCsvStatus st = ZCRM_CSV_OK;
	const char *const row[] = {"0123456789"};
	const size_t lens[] = {10};

	/* 25 MB: the row limit splits */
	split_rows(25 * 1024 * 1024, 100000, &parts, &rows, &max_alloc);
	CHECK_INT(parts, 4);
	CHECK_INT(rows, 100000);
	CHECK(max_alloc <= 25 * 1024 * 1024);

	/* 256 kB: the byte cap splits */
	split_rows(256 * 1024, 100000, &parts, &rows, &max_alloc);
	CHECK(parts > 4);
	CHECK_INT(rows, 100000);
	CHECK(max_alloc <= 256 * 1024);

	/* without splitting, the writer stops at the cap and stays there */
	csv = zcrm_csv_create(100000);
	for (size_t i = 0; i < 100000; i++)
	{
		st = zcrm_csv_write_row(csv, false, row, lens, 1);
		if (st != ZCRM_CSV_OK)
			break;
		written++;
	}
	CHECK_INT(st, ZCRM_CSV_FULL);
	CHECK_INT(written, 100000 / 12);
	CHECK_INT(zcrm_csv_rows(csv), written);
	CHECK_INT(zcrm_csv_len(csv), written * 12);
	CHECK_INT(zcrm_csv_allocated(csv), 100000);
	zcrm_csv_free(csv);
}

static void
test_csv_out_of_memory(void)
{
	long		k;
	long		failures = 0;

	for (k = 0; k < 1000; k++)
	{
		ZcrmCsv    *csv;
		ZcrmCsvStatus st = ZCRM_CSV_OK;
		size_t		i;
		bool		failed;
		const char *const row[] = {"a,b", "c"};
		const size_t lens[] = {3, 1};
		const char *const one[] = {"x"};
		const size_t one_len[] = {1};

		fail_allocation(k);
		csv = zcrm_csv_create(1024 * 1024);
		if (csv == NULL)
		{
			CHECK(alloc_failed);
			failures++;
			continue;
		}
		for (i = 0; i < 5000; i++)
		{
			st = zcrm_csv_write_row(csv, false, row, lens, 2);
			if (st != ZCRM_CSV_OK)
				break;
		}
		failed = alloc_failed;
		fail_allocation(-1);
		if (!failed)
		{
			CHECK_INT(st, ZCRM_CSV_OK);
			zcrm_csv_free(csv);
			break;
		}
		failures++;
		CHECK_INT(st, ZCRM_CSV_NO_MEMORY);
		/* what is there is complete rows, and the writer still works */
		CHECK_INT(zcrm_csv_rows(csv), i);
		CHECK_INT(zcrm_csv_len(csv), i * 9);	/* "a,b",c CRLF */
		CHECK_INT(zcrm_csv_write_row(csv, false, one, one_len, 1), ZCRM_CSV_OK);
		zcrm_csv_free(csv);
	}
	fail_allocation(-1);
	CHECK(k < 1000);
	CHECK(failures >= 3);
}


/* ----------------------------------------------------------------
 * Zip
 * ----------------------------------------------------------------
 */

/* Some CSV text, malloc'd. */
static char *
sample_csv(size_t nrows, size_t *len)
{
	ZcrmCsv    *csv = zcrm_csv_create(64 * 1024 * 1024);
	char		buf[64];
	char	   *out;

	for (size_t i = 0; i < nrows; i++)
	{
		const char *f = buf;
		size_t		n = (size_t) snprintf(buf, sizeof(buf), "%zu,Smith %zu,\"x\"", i, i * 7919 % 1000);

		zcrm_csv_write_row(csv, false, &f, &n, 1);
	}
	*len = zcrm_csv_len(csv);
	out = malloc(*len + 1);
	memcpy(out, zcrm_csv_data(csv), *len);
	zcrm_csv_free(csv);
	return out;
}

static void
test_zip_round_trip(void)
{
	size_t		len;
	char	   *csv = sample_csv(2000, &len);
	static const int levels[] = {-1, 0, 1, 6, 9};

	for (size_t l = 0; l < sizeof(levels) / sizeof(levels[0]); l++)
	{
		void	   *zip = NULL;
		size_t		ziplen = 0;
		ZcrmZipError err;
		ZcrmUnzip  *u;
		const ZcrmZipEntry *e;
		void	   *data = NULL;
		size_t		datalen = 0;

		CHECK_INT(zcrm_zip_one("data.csv", csv, len, levels[l], ZCRM_ZIP_MAX_UPLOAD,
							   &zip, &ziplen, &err), ZCRM_ZIP_OK);
		CHECK_INT(err.status, ZCRM_ZIP_OK);
		CHECK(zip != NULL);
		if (levels[l] != 0)
			CHECK(ziplen < len / 2);
		else
			CHECK(ziplen > len);
		u = zcrm_unzip_open(zip, ziplen, &err);
		CHECK(u != NULL);
		if (u == NULL)
		{
			diag("%s", err.message);
			free(zip);
			continue;
		}
		CHECK_INT(zcrm_unzip_count(u), 1);
		e = zcrm_unzip_entry(u, 0);
		CHECK(zcrm_unzip_entry(u, 1) == NULL);
		CHECK(strcmp(e->name, "data.csv") == 0);
		CHECK_INT(e->uncompressed_size, len);
		CHECK_INT(e->crc, crc_of(csv, len));
		CHECK_INT(e->method, levels[l] == 0 ? 0 : 8);
		CHECK(!e->encrypted);
		CHECK_INT(zcrm_unzip_find(u, "data.csv"), 0);
		CHECK_INT(zcrm_unzip_find(u, "other.csv"), -1);
		/* exactly the cap is fine, one byte less is not */
		CHECK_INT(zcrm_unzip_read(u, 0, len, &data, &datalen, &err), ZCRM_ZIP_OK);
		CHECK_INT(datalen, len);
		CHECK(data != NULL && memcmp(data, csv, len) == 0);
		free(data);
		CHECK_INT(zcrm_unzip_read(u, 0, len - 1, &data, &datalen, &err),
				  ZCRM_ZIP_ENTRY_TOO_LARGE);
		CHECK(data == NULL);
		CHECK_INT(zcrm_unzip_read(u, 1, len, &data, &datalen, &err), ZCRM_ZIP_MISUSE);
		/* read twice */
		CHECK_INT(zcrm_unzip_read(u, 0, len, &data, &datalen, &err), ZCRM_ZIP_OK);
		free(data);
		zcrm_unzip_close(u);
		free(zip);
	}

	/* an empty entry, and several entries through the writer */
	{
		ZcrmZipError err;
		ZcrmZipWriter *w = zcrm_zip_writer_create(1024 * 1024, &err);
		void	   *zip;
		size_t		ziplen;
		ZcrmUnzip  *u;
		void	   *data;
		size_t		datalen;

		CHECK_INT(zcrm_zip_writer_add(w, "empty.csv", NULL, 0, 6, &err), ZCRM_ZIP_OK);
		CHECK_INT(zcrm_zip_writer_add(w, "Contacts.csv", csv, len, 6, &err), ZCRM_ZIP_OK);
		CHECK_INT(zcrm_zip_writer_add(w, "caf\xC3\xA9.csv", "a\r\n", 3, 9, &err), ZCRM_ZIP_OK);
		CHECK_INT(zcrm_zip_writer_finish(w, &zip, &ziplen, &err), ZCRM_ZIP_OK);
		CHECK_INT(zcrm_zip_writer_add(w, "late.csv", "a", 1, 6, &err), ZCRM_ZIP_MISUSE);
		CHECK_INT(zcrm_zip_writer_finish(w, &data, &datalen, &err), ZCRM_ZIP_MISUSE);
		zcrm_zip_writer_free(w);

		u = zcrm_unzip_open(zip, ziplen, &err);
		CHECK(u != NULL);
		if (u != NULL)
		{
			CHECK_INT(zcrm_unzip_count(u), 3);
			CHECK_INT(zcrm_unzip_find(u, "caf\xC3\xA9.csv"), 2);
			CHECK_INT(zcrm_unzip_read(u, 0, 0, &data, &datalen, &err), ZCRM_ZIP_OK);
			CHECK(data != NULL);
			CHECK_INT(datalen, 0);
			free(data);
			CHECK_INT(zcrm_unzip_read(u, 2, 3, &data, &datalen, &err), ZCRM_ZIP_OK);
			CHECK(datalen == 3 && memcmp(data, "a\r\n", 3) == 0);
			free(data);
			CHECK_INT(zcrm_unzip_read(u, 1, len, &data, &datalen, &err), ZCRM_ZIP_OK);
			CHECK(datalen == len && memcmp(data, csv, len) == 0);
			free(data);
			zcrm_unzip_close(u);
		}
		free(zip);
	}
	free(csv);
}

static void
test_zip_writer_limits(void)
{
	ZcrmZipError err;
	void	   *zip;
	size_t		ziplen;
	size_t		exact;
	unsigned char *noise = malloc(100000);
	uint32_t	x = 12345;
	char		longname[300];

	for (size_t i = 0; i < 100000; i++)
	{
		x = x * 1103515245 + 12345;
		noise[i] = (unsigned char) (x >> 24);
	}

	/* incompressible data over the cap */
	CHECK_INT(zcrm_zip_one("n.bin", noise, 100000, 9, 50000, &zip, &ziplen, &err),
			  ZCRM_ZIP_TOO_LARGE);
	CHECK(zip == NULL);
	CHECK(strstr(err.message, "50000") != NULL);

	/* the cap is inclusive */
	CHECK_INT(zcrm_zip_one("n.bin", noise, 100000, 9, 1000000, &zip, &ziplen, &err),
			  ZCRM_ZIP_OK);
	exact = ziplen;
	free(zip);
	CHECK_INT(zcrm_zip_one("n.bin", noise, 100000, 9, exact, &zip, &ziplen, &err),
			  ZCRM_ZIP_OK);
	CHECK_INT(ziplen, exact);
	free(zip);
	CHECK_INT(zcrm_zip_one("n.bin", noise, 100000, 9, exact - 1, &zip, &ziplen, &err),
			  ZCRM_ZIP_TOO_LARGE);
	/* every cap below fails cleanly */
	for (size_t cap = 1; cap < exact; cap += 997)
		CHECK_INT(zcrm_zip_one("n.bin", noise, 100000, 9, cap, &zip, &ziplen, &err),
				  ZCRM_ZIP_TOO_LARGE);

	/* bad arguments */
	memset(longname, 'a', 256);
	longname[256] = '\0';
	CHECK_INT(zcrm_zip_one("", "a", 1, 6, 1000, &zip, &ziplen, &err), ZCRM_ZIP_MISUSE);
	CHECK_INT(zcrm_zip_one(NULL, "a", 1, 6, 1000, &zip, &ziplen, &err), ZCRM_ZIP_MISUSE);
	CHECK_INT(zcrm_zip_one(longname, "a", 1, 6, 1000, &zip, &ziplen, &err), ZCRM_ZIP_MISUSE);
	longname[255] = '\0';
	CHECK_INT(zcrm_zip_one(longname, "a", 1, 6, 1000, &zip, &ziplen, &err), ZCRM_ZIP_OK);
	free(zip);
	CHECK_INT(zcrm_zip_one("a", "a", 1, 10, 1000, &zip, &ziplen, &err), ZCRM_ZIP_MISUSE);
	CHECK_INT(zcrm_zip_one("a", "a", 1, -2, 1000, &zip, &ziplen, &err), ZCRM_ZIP_MISUSE);
	CHECK_INT(zcrm_zip_one("a", NULL, 1, 6, 1000, &zip, &ziplen, &err), ZCRM_ZIP_MISUSE);
	CHECK_INT(zcrm_zip_one("a", "a", 1, 6, 0, &zip, &ziplen, &err), ZCRM_ZIP_MISUSE);
	CHECK_INT(zcrm_zip_one("a", "a", 1, 6, 0, &zip, &ziplen, NULL), ZCRM_ZIP_MISUSE);
	CHECK_INT(zcrm_zip_one("a", "a", 1, 6, 1000, NULL, &ziplen, NULL), ZCRM_ZIP_MISUSE);
	CHECK_INT(zcrm_zip_writer_add(NULL, "a", "a", 1, 6, NULL), ZCRM_ZIP_MISUSE);
	zcrm_zip_writer_free(NULL);
	zcrm_unzip_close(NULL);
	CHECK(strlen(zcrm_zip_status_message(ZCRM_ZIP_CORRUPT)) > 0);

	/* a writer freed without finishing */
	{
		ZcrmZipWriter *w = zcrm_zip_writer_create(1000000, NULL);

		CHECK_INT(zcrm_zip_writer_add(w, "n.bin", noise, 100000, 6, NULL), ZCRM_ZIP_OK);
		zcrm_zip_writer_free(w);
		w = zcrm_zip_writer_create(1000, NULL);
		CHECK_INT(zcrm_zip_writer_add(w, "n.bin", noise, 100000, 6, &err), ZCRM_ZIP_TOO_LARGE);
		CHECK_INT(zcrm_zip_writer_add(w, "n.bin", noise, 10, 6, &err), ZCRM_ZIP_MISUSE);
		zcrm_zip_writer_free(w);
	}
	free(noise);
}

static void
test_zip_bomb(void)
{
	size_t		big = 8 * 1024 * 1024;
	char	   *zeros = calloc(big, 1);
	void	   *zip;
	size_t		ziplen;
	ZcrmZipError err;
	void	   *data;
	size_t		datalen;
	long		cen;
	long		loc;

	/* 8 MB of zeros deflate to a few kB */
	CHECK_INT(zcrm_zip_one("bomb.csv", zeros, big, 9, ZCRM_ZIP_MAX_UPLOAD,
						   &zip, &ziplen, &err), ZCRM_ZIP_OK);
	CHECK(ziplen < 64 * 1024);
	CHECK_INT(read_first(zip, ziplen, 1024 * 1024, &data, &datalen, &err),
			  ZCRM_ZIP_ENTRY_TOO_LARGE);
	CHECK(data == NULL);
	CHECK(strstr(err.message, "declares") != NULL);
	CHECK_INT(read_first(zip, ziplen, big, &data, &datalen, &err), ZCRM_ZIP_OK);
	CHECK_INT(datalen, big);
	free(data);

	/*
	 * The same archive declaring 1000 bytes (local header and central
	 * directory agree): the data inflates past that and is refused, and
	 * nothing near 8 MB is ever allocated for it.
	 */
	cen = find_sig(zip, ziplen, 1, 2);
	loc = find_sig(zip, ziplen, 3, 4);
	CHECK(cen > 0 && loc == 0);
	put_le32((unsigned char *) zip + cen + 24, 1000);
	put_le32((unsigned char *) zip + loc + 22, 1000);
	CHECK_INT(read_first(zip, ziplen, 1024 * 1024, &data, &datalen, &err),
			  ZCRM_ZIP_CORRUPT);
	CHECK(data == NULL);
	free(zip);
	free(zeros);

	/* an entry declaring more than it holds */
	CHECK_INT(zcrm_zip_one("short.csv", "abc\r\n", 5, 6, 1000, &zip, &ziplen, &err),
			  ZCRM_ZIP_OK);
	cen = find_sig(zip, ziplen, 1, 2);
	put_le32((unsigned char *) zip + cen + 24, 500);
	put_le32((unsigned char *) zip + 22, 500);
	CHECK_INT(read_first(zip, ziplen, 1000, &data, &datalen, &err), ZCRM_ZIP_CORRUPT);
	CHECK(data == NULL);
	/* and one whose CRC is wrong */
	put_le32((unsigned char *) zip + cen + 24, 5);
	put_le32((unsigned char *) zip + 22, 5);
	CHECK_INT(read_first(zip, ziplen, 1000, &data, &datalen, &err), ZCRM_ZIP_OK);
	free(data);
	((unsigned char *) zip)[cen + 16] ^= 1;
	((unsigned char *) zip)[14] ^= 1;
	CHECK_INT(read_first(zip, ziplen, 1000, &data, &datalen, &err), ZCRM_ZIP_CORRUPT);
	CHECK(strstr(err.message, "CRC") != NULL);
	CHECK(data == NULL);
	free(zip);
}

static void
test_zip_corrupt(void)
{
	static const char garbage[] = "PK\3\4 this is not a zip archive at all";
	size_t		len;
	char	   *csv = sample_csv(50, &len);
	void	   *zip;
	size_t		ziplen;
	ZcrmZipError err;
	void	   *data;
	size_t		datalen;
	int			refused = 0;
	int			same = 0;

	CHECK(zcrm_unzip_open(garbage, sizeof(garbage) - 1, &err) == NULL);
	CHECK_INT(err.status, ZCRM_ZIP_CORRUPT);
	CHECK(zcrm_unzip_open("", 0, &err) == NULL);
	CHECK(zcrm_unzip_open(NULL, 0, &err) == NULL);
	CHECK(zcrm_unzip_open(NULL, 5, &err) == NULL);
	CHECK_INT(err.status, ZCRM_ZIP_MISUSE);

	CHECK_INT(zcrm_zip_one("data.csv", csv, len, 6, 100000, &zip, &ziplen, &err),
			  ZCRM_ZIP_OK);

	/* every truncation is refused, at open or at read; each copy exact-sized */
	for (size_t n = 0; n < ziplen; n++)
	{
		void	   *copy = malloc(n > 0 ? n : 1);

		memcpy(copy, zip, n);
		if (read_first(copy, n, 100000, &data, &datalen, &err) == ZCRM_ZIP_OK)
		{
			test_failures++;
			diag("prefix of %zu bytes accepted", n);
			free(data);
		}
		free(copy);
	}

	/* every single-byte change: refused, or the very same data */
	for (size_t i = 0; i < ziplen; i++)
	{
		unsigned char *copy = malloc(ziplen);

		memcpy(copy, zip, ziplen);
		copy[i] ^= 0x5A;
		if (read_first(copy, ziplen, 100000, &data, &datalen, &err) == ZCRM_ZIP_OK)
		{
			if (datalen == len && memcmp(data, csv, len) == 0)
				same++;
			else
			{
				test_failures++;
				diag("byte %zu changed: different data accepted", i);
			}
			free(data);
		}
		else
			refused++;
		free(copy);
	}
	CHECK(refused > 0);
	diag("single-byte changes of a %zu-byte zip: %d refused, %d harmless",
		 ziplen, refused, same);
	free(zip);
	free(csv);
}

static void
test_zip_out_of_memory(void)
{
	size_t		len;
	char	   *csv = sample_csv(3000, &len);
	long		k;
	long		failures = 0;

	for (k = 0; k < 1000; k++)
	{
		void	   *zip = NULL;
		size_t		ziplen = 0;
		void	   *data = NULL;
		size_t		datalen = 0;
		ZcrmZipError err;
		ZcrmZipStatus st;
		bool		failed;

		fail_allocation(k);
		st = zcrm_zip_one("data.csv", csv, len, 6, ZCRM_ZIP_MAX_UPLOAD, &zip, &ziplen, &err);
		if (st == ZCRM_ZIP_OK)
			st = read_first(zip, ziplen, len, &data, &datalen, &err);
		failed = alloc_failed;
		fail_allocation(-1);
		free(zip);
		free(data);
		if (!failed)
		{
			CHECK_INT(st, ZCRM_ZIP_OK);
			CHECK_INT(datalen, len);
			break;
		}
		failures++;
		if (st != ZCRM_ZIP_NO_MEMORY && st != ZCRM_ZIP_CORRUPT)
		{
			test_failures++;
			diag("allocation %ld failed: status %d (%s)", k, st, err.message);
		}
	}
	CHECK(k < 1000);
	CHECK(failures >= 3);
	free(csv);
}

/* Python's zipfile, if there is one, reads what we write, and we read its. */
static void
test_zip_python(void)
{
	char		zpath[] = "/tmp/zcrm_zip_test_XXXXXX";
	char		cmd[1024];
	size_t		len;
	char	   *csv = sample_csv(500, &len);
	void	   *zip;
	size_t		ziplen;
	ZcrmZipError err;
	FILE	   *f;
	int			fd;
	int			rc;

	/* python3 is one of the suite's dependencies: its absence is a failure */
	if (system("python3 -c 'import zipfile' >/dev/null 2>&1") != 0)
	{
		CHECK(!"python3 with zipfile is available for the cross-check");
		free(csv);
		return;
	}
	CHECK_INT(zcrm_zip_one("data.csv", csv, len, 6, ZCRM_ZIP_MAX_UPLOAD, &zip, &ziplen, &err),
			  ZCRM_ZIP_OK);
	fd = mkstemp(zpath);
	CHECK(fd >= 0);
	f = fdopen(fd, "wb");
	CHECK(fwrite(zip, 1, ziplen, f) == ziplen);
	fclose(f);
	free(zip);

	/* theirs reads ours: CRC check (testzip), name, size, a prefix */
	snprintf(cmd, sizeof(cmd),
			 "python3 -c 'import sys, zipfile, zlib\n"
			 "z = zipfile.ZipFile(sys.argv[1])\n"
			 "assert z.testzip() is None\n"
			 "assert z.namelist() == [\"data.csv\"]\n"
			 "d = z.read(\"data.csv\")\n"
			 "assert len(d) == %zu and zlib.crc32(d) == %u, (len(d), zlib.crc32(d))\n"
			 "assert d.startswith(b\"\\\"0,Smith 0,\\\"\\\"x\\\"\\\"\\\"\\r\\n\")\n"
			 "' %s", len, (unsigned) crc_of(csv, len), zpath);
	rc = system(cmd);
	CHECK_INT(rc, 0);

	/* ours reads theirs */
	snprintf(cmd, sizeof(cmd),
			 "python3 -c 'import sys, zipfile\n"
			 "with zipfile.ZipFile(sys.argv[1], \"w\", zipfile.ZIP_DEFLATED) as z:\n"
			 "    z.writestr(\"result.csv\", b\"RECORD_ID,STATUS\\r\\n\" * 1000)\n"
			 "' %s", zpath);
	rc = system(cmd);
	CHECK_INT(rc, 0);
	f = fopen(zpath, "rb");
	if (f != NULL)
	{
		unsigned char *buf = malloc(1 << 20);
		size_t		n = fread(buf, 1, 1 << 20, f);
		ZcrmUnzip  *u;
		void	   *data;
		size_t		datalen;

		fclose(f);
		u = zcrm_unzip_open(buf, n, &err);
		CHECK(u != NULL);
		if (u != NULL)
		{
			long		i = zcrm_unzip_find(u, "result.csv");

			CHECK_INT(i, 0);
			CHECK_INT(zcrm_unzip_read(u, 0, 1 << 20, &data, &datalen, &err), ZCRM_ZIP_OK);
			CHECK_INT(datalen, 18 * 1000);
			CHECK(datalen > 18 && memcmp(data, "RECORD_ID,STATUS\r\n", 18) == 0);
			free(data);
			CHECK_INT(zcrm_unzip_read(u, 0, 17999, &data, &datalen, &err),
					  ZCRM_ZIP_ENTRY_TOO_LARGE);
			zcrm_unzip_close(u);
		}
		free(buf);
	}
	unlink(zpath);
	free(csv);
}

/* The interrupt check of test_zip_interrupt: true from its Nth poll on. */
static int	polls = 0;
static int	stop_at = 0;

static bool
stop_after_polls(void)
{
	return ++polls >= stop_at;
}

/*
 * Deflating and inflating poll the interrupt check between 64 kB chunks: a
 * true answer stops the step with ZCRM_ZIP_INTERRUPTED, nothing returned
 * and nothing leaked (ASan), and the same step then runs to its end.
 */
static void
test_zip_interrupt(void)
{
	size_t		len = 1024 * 1024;
	char	   *csv = malloc(len);
	void	   *zip = NULL;
	size_t		ziplen = 0;
	void	   *out = NULL;
	size_t		outlen = 0;
	ZcrmZipError err;

	for (size_t i = 0; i < len; i++)
		csv[i] = (char) ('a' + (i * 7919) % 26);

	/* deflate: stopped at the 1st and at the 5th poll of 16 */
	for (int at = 1; at <= 5; at += 4)
	{
		polls = 0;
		stop_at = at;
		zcrm_zip_set_interrupt(stop_after_polls);
		CHECK_INT(zcrm_zip_one("big.csv", csv, len, 1, ZCRM_ZIP_MAX_UPLOAD, &zip, &ziplen, &err),
				  ZCRM_ZIP_INTERRUPTED);
		CHECK(zip == NULL && ziplen == 0);
		CHECK_INT(polls, at);
		CHECK_STR(err.message, "interrupted");
	}

	/* never true: every chunk polled, the archive whole */
	polls = 0;
	stop_at = 1000;
	CHECK_INT(zcrm_zip_one("big.csv", csv, len, 1, ZCRM_ZIP_MAX_UPLOAD, &zip, &ziplen, &err),
			  ZCRM_ZIP_OK);
	CHECK_INT(polls, 16);

	/* inflate: stopped at the 3rd poll, then read whole */
	polls = 0;
	stop_at = 3;
	CHECK_INT(read_first(zip, ziplen, len, &out, &outlen, &err), ZCRM_ZIP_INTERRUPTED);
	CHECK(out == NULL && outlen == 0);
	CHECK_INT(polls, 3);
	zcrm_zip_set_interrupt(NULL);
	CHECK_INT(read_first(zip, ziplen, len, &out, &outlen, &err), ZCRM_ZIP_OK);
	CHECK(outlen == len && out != NULL && memcmp(out, csv, len) == 0);
	CHECK(strlen(zcrm_zip_status_message(ZCRM_ZIP_INTERRUPTED)) > 0);
	free(out);
	free(zip);
	free(csv);
}

static const TestCase tests[] = {
	TEST(test_csv_quoting),
	TEST(test_csv_misuse),
	TEST(test_csv_caps),
	TEST(test_csv_rollback),
	TEST(test_csv_invalid_utf8),
	TEST(test_csv_100k_rows),
	TEST(test_csv_out_of_memory),
	TEST(test_zip_round_trip),
	TEST(test_zip_writer_limits),
	TEST(test_zip_bomb),
	TEST(test_zip_corrupt),
	TEST(test_zip_out_of_memory),
	TEST(test_zip_python),
	TEST(test_zip_interrupt),
};

int
main(void)
{
	return run_tests(tests, (int) (sizeof(tests) / sizeof(tests[0])), NULL);
}
