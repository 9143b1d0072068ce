/*-------------------------------------------------------------------------
 *
 * harness.h
 *	  The unit tests' harness: checks, the test runner, and allocation
 *	  failure injection.
 *
 * A tiny TAP-style harness shared by test_parse.c and test_csvzip.c: each
 * test is a function; run_tests() prints "ok N - name" or "not ok N -
 * name", diagnostics as "# " lines, and a final "N passed, N failed" line.
 *
 * Every binary is linked with --wrap=malloc/calloc/realloc: the wrappers
 * in harness.c count the allocations made by the code under test and can
 * make the k-th one fail (alloc_fail_at), to test every out-of-memory
 * path.  Allocations made inside shared libraries (minizip) are not
 * wrapped.
 *
 * Copyright (c) 2026, zcrm_bulk developers
 *
 * IDENTIFICATION
 *	  test/unit/harness.h
 *
 *-------------------------------------------------------------------------
 */
#ifndef ZCRM_TEST_HARNESS_H
#define ZCRM_TEST_HARNESS_H

#include <stdbool.h>
#include <stddef.h>

extern void *__real_malloc(size_t size);
extern void *__real_calloc(size_t nmemb, size_t size);
extern void *__real_realloc(void *ptr, size_t size);
extern void *__wrap_malloc(size_t size);
extern void *__wrap_calloc(size_t nmemb, size_t size);
extern void *__wrap_realloc(void *ptr, size_t size);

extern long alloc_fail_at;		/* index of the allocation to fail; -1 none */
extern long alloc_count;		/* allocations seen since the last reset */
extern bool alloc_failed;		/* did an injected failure happen? */

extern int	test_failures;		/* failed checks in the current test */

typedef struct TestCase
{
	const char *name;
	void		(*fn) (void);
} TestCase;

#define TEST(f) {#f, f}

extern void diag(const char *fmt,...) __attribute__((format(printf, 1, 2)));
extern void check_impl(bool ok, const char *expr, const char *file, int line);
extern void check_str_impl(const char *got, const char *want, const char *expr,
						   const char *file, int line);
extern void check_int_impl(long long got, long long want, const char *expr,
						   const char *file, int line);

#define CHECK(cond) check_impl((cond), #cond, __FILE__, __LINE__)
#define CHECK_STR(got, want) check_str_impl((got), (want), #got, __FILE__, __LINE__)
#define CHECK_INT(got, want) \
	check_int_impl((long long) (got), (long long) (want), #got, __FILE__, __LINE__)

/*
 * run_tests
 *	  Run the "ntests" tests, calling after_each (if not NULL) after each
 *	  one; print the TAP lines and the closing line.  Returns the exit
 *	  status: 0 when every test passed, 1 otherwise.
 */
extern int	run_tests(const TestCase *tests, int ntests, void (*after_each) (void));

#endif							/* ZCRM_TEST_HARNESS_H */
