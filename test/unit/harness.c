/*-------------------------------------------------------------------------
 *
 * harness.c
 *	  The unit tests' harness: checks, the test runner, and allocation
 *	  failure injection (see harness.h).
 *
 * Copyright (c) 2026, zcrm_bulk developers
 *
 * IDENTIFICATION
 *	  test/unit/harness.c
 *
 *-------------------------------------------------------------------------
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "harness.h"

long		alloc_fail_at = -1;
long		alloc_count;
bool		alloc_failed;
int			test_failures;

/* Decide whether the allocation being made now must fail. */
static bool
inject_failure(void)
{
	long		index = alloc_count++;

	if (alloc_fail_at >= 0 && index == alloc_fail_at)
	{
		alloc_failed = true;
		return true;
	}
	return false;
}

void *
__wrap_malloc(size_t size)
{
	return inject_failure() ? NULL : __real_malloc(size);
}

void *
__wrap_calloc(size_t nmemb, size_t size)
{
	return inject_failure() ? NULL : __real_calloc(nmemb, size);
}

void *
__wrap_realloc(void *ptr, size_t size)
{
	return inject_failure() ? NULL : __real_realloc(ptr, size);
}

void
diag(const char *fmt,...)
{
	va_list		ap;

	printf("# ");
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf("\n");
}

void
check_impl(bool ok, const char *expr, const char *file, int line)
{
	if (!ok)
	{
		test_failures++;
		diag("%s:%d: check failed: %s", file, line, expr);
	}
}

void
check_str_impl(const char *got, const char *want, const char *expr,
			   const char *file, int line)
{
	if (got == NULL && want == NULL)
		return;
	if (got != NULL && want != NULL && strcmp(got, want) == 0)
		return;
	test_failures++;
	diag("%s:%d: %s is %s%s%s, expected %s%s%s", file, line, expr,
		 got ? "\"" : "", got ? got : "NULL", got ? "\"" : "",
		 want ? "\"" : "", want ? want : "NULL", want ? "\"" : "");
}

void
check_int_impl(long long got, long long want, const char *expr,
			   const char *file, int line)
{
	if (got != want)
	{
		test_failures++;
		diag("%s:%d: %s is %lld, expected %lld", file, line, expr, got, want);
	}
}

int
run_tests(const TestCase *tests, int ntests, void (*after_each) (void))
{
	int			passed = 0;
	int			failed = 0;

	setvbuf(stdout, NULL, _IOLBF, 0);
	printf("1..%d\n", ntests);
	for (int i = 0; i < ntests; i++)
	{
		test_failures = 0;
		tests[i].fn();
		if (after_each != NULL)
			after_each();
		if (test_failures == 0)
		{
			passed++;
			printf("ok %d - %s\n", i + 1, tests[i].name);
		}
		else
		{
			failed++;
			printf("not ok %d - %s\n", i + 1, tests[i].name);
		}
	}
	printf("%d passed, %d failed\n", passed, failed);
	return failed == 0 ? 0 : 1;
}
