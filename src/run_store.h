/*-------------------------------------------------------------------------
 *
 * run_store.h
 *	  The tables of bulk write runs, read and written through SPI.
 *
 * zcrm_write_run, zcrm_write_run_job, zcrm_write_source_part and
 * zcrm_write_result (sql/zcrm_bulk--2.0--2.1.sql) are reached only through
 * these functions, which write_run.c's steps glue together.  Every
 * statement is qualified with the extension's schema ("schema", quoted, as
 * write_run.c finds it) and runs as the calling role, so row-level
 * security applies: a run the caller cannot see does not exist.  Each
 * function connects to SPI and finishes before it returns (the prepare
 * callback runs inside prepare.c's connection), and nothing here commits.
 *
 * Copyright (c) 2026, zcrm_bulk developers
 *
 * IDENTIFICATION
 *	  src/run_store.h
 *
 *-------------------------------------------------------------------------
 */
#ifndef ZCRM_RUN_STORE_H
#define ZCRM_RUN_STORE_H

#include "prepare.h"
#include "result.h"

/* A part of a run and the run's job settings, as the steps read them. */
typedef struct ZcrmRunPart
{
	int64		run_id;
	int32		part;
	char	   *state;
	int64		first_row;
	int64		last_row;
	char	   *file_id;		/* NULL until uploaded */
	char	   *job_id;			/* NULL until created */
	bytea	   *zip;			/* when asked for; NULL once created */
	char	   *module;			/* of the run */
	char	   *operation;
	char	   *find_by;
	bool		ignore_empty;
	char	   *field_mappings; /* JSON text; NULL before prepare */
	char	   *connection;		/* of the run; NULL with a token */
} ZcrmRunPart;

/* What zcrm_run_store_part() needs, passed as its callback argument. */
typedef struct ZcrmRunStore
{
	const char *schema;
	int64		run_id;
} ZcrmRunStore;

/*
 * zcrm_run_read_spec
 *		The stored settings of run run_id (module, operation, find_by,
 *		key_column, ignore_empty) into *spec, locking the run row, and its
 *		state; 42704 when the caller cannot see it.
 */
extern void zcrm_run_read_spec(const char *schema, int64 run_id,
							   ZcrmWriteSpec *spec, char **state);

/*
 * zcrm_run_store_part
 *		The prepare callback (arg: a ZcrmRunStore): one zcrm_write_run_job
 *		row in state prepared, with its zip, and one zcrm_write_source_part
 *		row with the part's source keys and echoed values (in the database
 *		encoding) as arrays, one element per row of the part.
 */
extern bool zcrm_run_store_part(const ZcrmWritePart *p, void *arg);

/*
 * zcrm_run_finish_prepare
 *		Record a prepared run: its rows, parts and field mappings, and its
 *		state (prepared, or completed when it has no parts).
 */
extern void zcrm_run_finish_prepare(const char *schema, int64 run_id,
									const ZcrmPrepareResult *result);

/*
 * zcrm_run_read_part
 *		Part "part" of run "run_id", with the run's settings, into *rp
 *		(allocated in the caller's context), with its zip when want_zip,
 *		its row locked FOR UPDATE when lock (a part being collected: a
 *		second collector waits, then finds it completed); 42704 when the
 *		caller cannot see it.
 */
extern void zcrm_run_read_part(const char *schema, int64 run_id, int32 part,
							   bool want_zip, bool lock, ZcrmRunPart *rp);

/*
 * zcrm_run_set_part
 *		Move part rp to "state", setting text column "column" to "value"
 *		(none when column is NULL) and, with drop_zip, dropping its zip,
 *		if it is in one of the states "from" (an array literal such as
 *		"{creating,uncertain}").  Returns whether it was.
 */
extern bool zcrm_run_set_part(const char *schema, const ZcrmRunPart *rp,
							  const char *from, const char *state,
							  const char *column, const char *value,
							  bool drop_zip);

/*
 * zcrm_run_record_refusal
 *		Zoho refused part rp for good: the part and its run become failed,
 *		with "error" as their last_error.
 */
extern void zcrm_run_record_refusal(const char *schema, const ZcrmRunPart *rp,
									const char *error);

/*
 * zcrm_run_track
 *		Track job_id through "connection" as the calling role, with
 *		zcrm_track_job(), for the poller.
 */
extern void zcrm_run_track(const char *schema, const char *job_id,
						   const char *connection);

/*
 * zcrm_run_store_results
 *		Match the rows of part rp's result file f to the part's source rows
 *		(match.c, by the values of the first three sent columns, which the
 *		file repeats) and insert one zcrm_write_result row per result row.
 *		Returns the number of rows; *unmatched is set to those that could
 *		not be matched (NULL row_number and source_key).
 */
extern int64 zcrm_run_store_results(const char *schema, const ZcrmRunPart *rp,
									const ZcrmResultFile *f, size_t *unmatched);

/* The number of zcrm_write_result rows of part rp. */
extern int64 zcrm_run_count_results(const char *schema, const ZcrmRunPart *rp);

/*
 * zcrm_run_mark_collected
 *		Part rp's results are stored: it becomes completed (last_error set
 *		to "note", or cleared when note is NULL) and, when it was the last
 *		part, so does its run.
 */
extern void zcrm_run_mark_collected(const char *schema, const ZcrmRunPart *rp,
									const char *note);

/*
 * zcrm_run_find_org
 *		The org id recorded by the current user's own latest run whose
 *		org_key is "org_key" (not another role's, even one the user may
 *		see), palloc'd; NULL when there is none, or when that run's uploads
 *		were not accepted with it.
 */
extern char *zcrm_run_find_org(const char *schema, const char *org_key);

/*
 * zcrm_run_record_org
 *		Record on run run_id the key of its connection's org id and the org
 *		id its uploads were accepted with (NULL: none was).
 */
extern void zcrm_run_record_org(const char *schema, int64 run_id,
								const char *org_key, const char *org_id);

#endif							/* ZCRM_RUN_STORE_H */
