/*-------------------------------------------------------------------------
 *
 * zip.h
 *	  Zip archives in memory, on minizip: write one for an upload, read
 *	  the entries of a downloaded one with a cap on their size.
 *
 * Used by the 2.1 write functions: the CSV of a Bulk Write job is uploaded
 * as a zip (prepare.c), and the job's result file is downloaded as one
 * (results.c).
 *
 * The zip format itself is minizip's (libminizip, Debian's libminizip-dev);
 * this file gives minizip I/O callbacks over memory instead of files: a
 * growable buffer that never grows past a hard cap for writing, the
 * caller's bytes for reading.  Reading an entry refuses one whose declared
 * or actual uncompressed size is above a cap (zip-bomb guard), inflates
 * it in chunks, and checks its size and CRC-32.  Between chunks of 64 kB,
 * writing and inflating alike, the caller's interrupt check is polled
 * (zcrm_zip_set_interrupt), so that a long step can be stopped.
 *
 * Memory: plain malloc/free (here and inside minizip).  No function here
 * longjmps, aborts or prints: every failure is a ZcrmZipStatus and a
 * message in a ZcrmZipError, and everything allocated is freed on every
 * error path.  Inside the server the caller frees writers, readers and
 * returned buffers on its own error paths too (e.g. in PG_FINALLY).  Like
 * parse.c, this depends on the C library, zlib and minizip alone (no
 * PostgreSQL headers), so that it builds and runs outside the server for
 * unit tests.
 *
 * Copyright (c) 2026, zcrm_bulk developers
 *
 * IDENTIFICATION
 *	  src/zip.h
 *
 *-------------------------------------------------------------------------
 */
#ifndef ZCRM_ZIP_H
#define ZCRM_ZIP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Zoho's limit on an uploaded zip file. */
#define ZCRM_ZIP_MAX_UPLOAD		(25 * 1024 * 1024)

/* Most entries a read archive may list. */
#define ZCRM_UNZIP_MAX_ENTRIES	1024

typedef enum ZcrmZipStatus
{
	ZCRM_ZIP_OK = 0,
	ZCRM_ZIP_NO_MEMORY,			/* malloc failed */
	ZCRM_ZIP_TOO_LARGE,			/* the archive being written passes its cap */
	ZCRM_ZIP_ENTRY_TOO_LARGE,	/* an entry inflates past the cap */
	ZCRM_ZIP_CORRUPT,			/* not a zip, truncated, bad size or CRC */
	ZCRM_ZIP_UNSUPPORTED,		/* encrypted, unknown method, too many entries */
	ZCRM_ZIP_MISUSE,			/* bad arguments or call out of order */
	ZCRM_ZIP_INTERRUPTED,		/* the interrupt check said stop */
	ZCRM_ZIP_ERROR				/* any other minizip failure */
} ZcrmZipStatus;

/* A failure: its status and a one-line English message. */
typedef struct ZcrmZipError
{
	ZcrmZipStatus status;
	char		message[160];
} ZcrmZipError;

/* One entry of a read archive, as its central directory declares it. */
typedef struct ZcrmZipEntry
{
	char	   *name;			/* NUL-terminated, as stored */
	uint64_t	compressed_size;
	uint64_t	uncompressed_size;
	uint32_t	crc;
	int			method;			/* 0 stored, 8 deflated, other: unsupported */
	bool		encrypted;
} ZcrmZipEntry;

typedef struct ZcrmZipWriter ZcrmZipWriter;
typedef struct ZcrmUnzip ZcrmUnzip;

/*
 * In every function below, "err" may be NULL; when it is not, it is set on
 * failure and its status is ZCRM_ZIP_OK on success.
 */

/*
 * zcrm_zip_writer_create
 *	  A new, empty archive in memory that will never take more than "cap"
 *	  bytes.  NULL (and err set) when cap is 0 or malloc fails.
 */
extern ZcrmZipWriter *zcrm_zip_writer_create(size_t cap, ZcrmZipError *err);

/*
 * zcrm_zip_writer_add
 *	  Add one entry "name" (UTF-8, 1 to 255 bytes, marked as UTF-8 in the
 *	  archive) holding the "len" bytes at "data", deflated at "level" (1 to
 *	  9, or -1 for zlib's default; 0 stores it uncompressed).  Entries are
 *	  limited to 4 GiB - 1 (no zip64).  TOO_LARGE when the archive would
 *	  pass its cap.  After any failure the writer can only be freed.
 */
extern ZcrmZipStatus zcrm_zip_writer_add(ZcrmZipWriter *w, const char *name,
										 const void *data, size_t len,
										 int level, ZcrmZipError *err);

/*
 * zcrm_zip_writer_finish
 *	  Write the central directory and hand the archive over: *out is a
 *	  malloc'd buffer of *outlen bytes that the caller frees with free().
 *	  The writer must still be freed, and accepts nothing more.
 */
extern ZcrmZipStatus zcrm_zip_writer_finish(ZcrmZipWriter *w, void **out,
											size_t *outlen,
											ZcrmZipError *err);

/* Free a writer in any state (NULL is accepted). */
extern void zcrm_zip_writer_free(ZcrmZipWriter *w);

/*
 * zcrm_zip_set_interrupt
 *	  The check polled between chunks while an entry is deflated or
 *	  inflated (NULL: none).  When it returns true, the call stops with
 *	  ZCRM_ZIP_INTERRUPTED, a writer accepts nothing more (as after any
 *	  failure) and nothing is returned; the caller services the interrupt
 *	  and, if it returns, may start the step again.
 */
extern void zcrm_zip_set_interrupt(bool (*interrupted) (void));

/*
 * zcrm_zip_one
 *	  The archive of a single entry, in one call: create, add, finish and
 *	  free.  *out as zcrm_zip_writer_finish; on failure *out is NULL.
 */
extern ZcrmZipStatus zcrm_zip_one(const char *name, const void *data,
								  size_t len, int level, size_t cap,
								  void **out, size_t *outlen,
								  ZcrmZipError *err);

/*
 * zcrm_unzip_open
 *	  Read the central directory of the "len" bytes at "data" (which must
 *	  stay unchanged until zcrm_unzip_close) and list its entries.  NULL
 *	  and err set when it is not a zip (CORRUPT; minizip does not tell a
 *	  failed malloc of its own from a bad archive), lists more than
 *	  ZCRM_UNZIP_MAX_ENTRIES (UNSUPPORTED), or malloc fails.
 */
extern ZcrmUnzip *zcrm_unzip_open(const void *data, size_t len,
								  ZcrmZipError *err);

/* Free a reader (NULL is accepted).  Entries' names go with it. */
extern void zcrm_unzip_close(ZcrmUnzip *u);

/* The number of entries, and entry i (NULL when i is out of range). */
extern size_t zcrm_unzip_count(const ZcrmUnzip *u);
extern const ZcrmZipEntry *zcrm_unzip_entry(const ZcrmUnzip *u, size_t i);

/* The index of the first entry called "name", or -1. */
extern long zcrm_unzip_find(const ZcrmUnzip *u, const char *name);

/*
 * zcrm_unzip_read
 *	  Inflate entry "index" into a malloc'd buffer (*out, *outlen; free it
 *	  with free(); never NULL on success, even for an empty entry) of at
 *	  most "cap" bytes.  ENTRY_TOO_LARGE, before inflating anything, when
 *	  the declared uncompressed size is above cap, and while inflating when
 *	  the data passes cap; CORRUPT when the data does not inflate, or its
 *	  size or CRC-32 is not the declared one; UNSUPPORTED for an encrypted
 *	  entry or a method other than stored and deflated.  The buffer grows
 *	  as data arrives, so a lying declared size cannot make it big.
 */
extern ZcrmZipStatus zcrm_unzip_read(ZcrmUnzip *u, size_t index, size_t cap,
									 void **out, size_t *outlen,
									 ZcrmZipError *err);

/* A short English description of a status. */
extern const char *zcrm_zip_status_message(ZcrmZipStatus status);

#endif							/* ZCRM_ZIP_H */
