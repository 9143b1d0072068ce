/*-------------------------------------------------------------------------
 *
 * prepare.h
 *	  The prepare engine of the write functions: a query's rows become
 *	  zipped CSV parts, one part at a time, without any request.
 *
 * Shared by zcrm_write_plan() and zcrm_write_csv() (writeplan.c) and by
 * zcrm_write_submit() / zcrm_write() (issue 11).  zcrm_prepare() checks the
 * spec locally, runs the query once, as the caller, through a read-only SPI
 * cursor, formats each row (rowcsv.c) into the CSV writer (csv.c), and
 * each time a part is complete zips it (zip.c) and hands it to the
 * caller's callback.  Parts hold at most zcrm_bulk.max_part_rows rows and
 * zcrm_bulk.max_part_bytes bytes of CSV, header included; the byte limit
 * is at most ZCRM_PART_MAX_BYTES, which keeps the zip under Zoho's 25 MB
 * whichever way a MB is counted (deflate adds at most about 0.03% and the
 * zip's headers a few hundred bytes).  At most one part is in memory at a
 * time.
 *
 * Copyright (c) 2026, zcrm_bulk developers
 *
 * IDENTIFICATION
 *	  src/prepare.h
 *
 *-------------------------------------------------------------------------
 */
#ifndef ZCRM_PREPARE_H
#define ZCRM_PREPARE_H

#include "utils/jsonb.h"

/* Zoho's limit of columns (mapped fields) per CSV */
#define ZCRM_MAX_SENT_COLUMNS	200

/* Zoho's limit of rows per CSV: the maximum of zcrm_bulk.max_part_rows */
#define ZCRM_PART_MAX_ROWS		25000

/*
 * Largest CSV of a part (the maximum and default of zcrm_bulk.max_part_bytes):
 * 25,000,000 bytes less a 64 KiB margin for deflate's worst case and the
 * zip's headers; ZCRM_PART_MAX_ZIP is the cap the zip is built under.
 */
#define ZCRM_PART_MAX_ZIP		25000000
#define ZCRM_PART_MAX_BYTES		(ZCRM_PART_MAX_ZIP - 65536)

/* Echoed columns per row: Zoho's result file repeats the first three */
#define ZCRM_MAX_ECHO			3

/* Zoho bills each Bulk Write job this many API credits */
#define ZCRM_CREDITS_PER_JOB	500

/* The deflate level of the parts' zips (see prepare.c) */
#define ZCRM_PART_ZIP_LEVEL		1

/*
 * What to prepare: the arguments of zcrm_write_plan() and friends.  Strings
 * are in the database encoding; NULL means not given.  module, query and
 * operation are required (the SQL functions pass operation 'insert' by
 * default).
 */
typedef struct ZcrmWriteSpec
{
	const char *module;			/* Zoho module API name, e.g. "Leads" */
	const char *query;			/* a single SELECT, run as the caller */
	const char *operation;		/* insert, update or upsert */
	const char *find_by;		/* required for update and upsert */
	const char *key_column;		/* kept locally as source_key, never sent */
	/* {"Field": {"find_by"|"format"|"module"|"default_value": …}} */
	Jsonb	   *mappings;
	bool		ignore_empty;	/* passed through for the create call */
	bool		zip;			/* zip each part (false: CSV only) */
} ZcrmWriteSpec;

/*
 * One finished part, as the callback sees it.  Everything it points to is
 * owned by the engine and valid only during the callback: the CSV and the
 * zip are freed, and the arrays reset, once the callback returns (copy
 * what must outlive it into a longer-lived memory context).
 */
typedef struct ZcrmWritePart
{
	int			part;			/* from 1 */
	int64		first_row;		/* 1-based, the query's order, whole run */
	int64		last_row;
	int64		rows;			/* last_row - first_row + 1 */
	const char *csv;			/* UTF-8, header row included, not
								 * NUL-terminated */
	size_t		csv_len;
	const void *zip;			/* the zip of the CSV (NULL when !spec->zip) */
	size_t		zip_len;
	const char *zip_entry;		/* the CSV's name in the zip: "<module>.csv" */
	int			necho;			/* min(3, sent columns) */
	char	  **source_keys;	/* [rows]: key_column's text (database
								 * encoding), NULL for NULL or no key_column */
	char	  **echo;			/* [rows * necho], row-major: the first necho
								 * fields as written (UTF-8, unquoted) */
	Jsonb	   *field_mappings; /* the same for every part; see below */
} ZcrmWritePart;

/*
 * The callback: called once per part, in order, inside the engine's SPI
 * connection (it may use SPI_execute and friends, but must not commit or
 * roll back), in a memory context that is reset after it returns.  Return
 * false to stop: the rest of the query is not read.  An ERROR it raises
 * propagates; the engine frees its buffers on the way out.
 */
typedef bool (*ZcrmPartCallback) (const ZcrmWritePart *part, void *arg);

/* What zcrm_prepare() reports, allocated in the caller's memory context. */
typedef struct ZcrmPrepareResult
{
	int64		rows;			/* rows handed to callbacks */
	int			parts;			/* callbacks made */
	int			nsent;			/* sent columns (key_column excluded) */
	bool		stopped;		/* a callback returned false */

	/*
	 * The field_mappings array of the create call, as jsonb: one entry per
	 * sent column {"api_name": name, "index": i} with the mapping's find_by,
	 * format and module (format always set for date and timestamp columns),
	 * then one entry per default_value-only mapping.  Known before the first
	 * row is read: set even when the query has no rows.
	 */
	Jsonb	   *field_mappings;
} ZcrmPrepareResult;

/*
 * zcrm_prepare
 *	  Check "spec" (22023, 42703, 42701, 54011: see prepare.c), run its
 *	  query and call "cb" for each part.  An empty result makes no call.
 *	  Raises the query's own errors as they come, and 54000 for a row that
 *	  does not fit in a part by itself.
 */
extern void zcrm_prepare(const ZcrmWriteSpec *spec, ZcrmPartCallback cb,
						 void *arg, ZcrmPrepareResult *result);

#endif							/* ZCRM_PREPARE_H */
