/*-------------------------------------------------------------------------
 *
 * zip.c
 *	  Zip archives in memory, on minizip.
 *
 * Used by the 2.1 write functions (issue 11); no SQL function calls it
 * yet.  See zip.h for the contract.
 *
 * minizip reads and writes through a zlib_filefunc64_def, a table of
 * open/read/write/tell/seek/close callbacks.  MemStream below implements
 * them over memory: for writing, a buffer that grows by doubling up to a
 * hard cap (a write that would pass it writes nothing and marks the stream
 * over_cap, which minizip reports as ZIP_ERRNO and we as TOO_LARGE); for
 * reading, the caller's bytes.  minizip's "file name" is unused.
 *
 * Two minizip 1.1 quirks are worked around here.  Its byte reader treats a
 * short read as success (UNZ_EOF is 0) unless the stream reports an error,
 * and then uses an uninitialised byte: so a read that hits the end of the
 * data marks the stream, and mem_error reports it.  And
 * zipOpenNewFileInZip4_64 leaks its central header copy when writing the
 * local header fails: so room for that header is reserved before calling
 * it, and its writes cannot fail.
 *
 * Copyright (c) 2026, zcrm_bulk developers
 *
 * IDENTIFICATION
 *	  src/zip.c
 *
 *-------------------------------------------------------------------------
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <zlib.h>
#include <minizip/unzip.h>
#include <minizip/zip.h>

#include "zip.h"

/* Bytes handed to minizip per zipWriteInFileInZip / unzReadCurrentFile. */
#define ZIP_CHUNK		(64 * 1024)

/* First allocation of a writer's buffer (less when the cap is smaller). */
#define ZIP_INITIAL_ALLOC	(64 * 1024)

/* Longest entry name we write. */
#define ZIP_MAX_NAME	255

/* The caller's interrupt check (zcrm_zip_set_interrupt), or NULL. */
static bool (*zip_interrupted) (void) = NULL;

/* minizip's "file name": unused by our callbacks, but must not be NULL. */
static const char mem_name[] = "memory";

/* An archive in memory, seen by minizip as a file. */
typedef struct MemStream
{
	unsigned char *buf;			/* writing: owned buffer */
	const unsigned char *rbuf;	/* reading: the caller's bytes */
	size_t		len;			/* bytes of the file */
	size_t		alloc;			/* writing: bytes allocated at buf */
	size_t		cap;			/* writing: hard limit on len and alloc */
	size_t		pos;			/* current offset, <= len */
	bool		over_cap;		/* a write would have passed the cap */
	bool		no_memory;		/* a realloc failed */
	bool		short_read;		/* a read hit the end of the file */
} MemStream;

struct ZcrmZipWriter
{
	MemStream	ms;
	zlib_filefunc64_def ff;
	zipFile		zf;				/* NULL once closed */
	bool		failed;			/* a call failed: only free is allowed */
};

/* Where an entry starts, to go back to it. */
typedef struct EntryPos
{
	unz64_file_pos pos;
} EntryPos;

struct ZcrmUnzip
{
	MemStream	ms;
	zlib_filefunc64_def ff;
	unzFile		uf;
	size_t		n;
	ZcrmZipEntry *entries;
	EntryPos   *positions;
};

/* Set err (if any) to status and a formatted message; return status. */
static ZcrmZipStatus set_error(ZcrmZipError *err, ZcrmZipStatus status,
							   const char *fmt,...)
			__attribute__((format(printf, 3, 4)));

static ZcrmZipStatus
set_error(ZcrmZipError *err, ZcrmZipStatus status, const char *fmt,...)
{
	va_list		ap;

	if (err == NULL)
		return status;
	err->status = status;
	va_start(ap, fmt);
	vsnprintf(err->message, sizeof(err->message), fmt, ap);
	va_end(ap);
	return status;
}

static void
clear_error(ZcrmZipError *err)
{
	if (err != NULL)
	{
		err->status = ZCRM_ZIP_OK;
		err->message[0] = '\0';
	}
}


/* ----------------------------------------------------------------
 * minizip I/O callbacks over a MemStream
 * ----------------------------------------------------------------
 */

static voidpf ZCALLBACK
mem_open(voidpf opaque, const void *filename, int mode)
{
	MemStream  *ms = (MemStream *) opaque;

	(void) filename;
	(void) mode;
	ms->pos = 0;
	return ms;
}

static uLong ZCALLBACK
mem_read(voidpf opaque, voidpf stream, void *buf, uLong size)
{
	MemStream  *ms = (MemStream *) stream;
	const unsigned char *src = ms->rbuf != NULL ? ms->rbuf : ms->buf;
	size_t		n = ms->len - ms->pos;

	(void) opaque;
	if (n > size)
		n = size;
	if (n > 0)
		memcpy(buf, src + ms->pos, n);
	ms->pos += n;
	if (n < size)
		ms->short_read = true;
	return (uLong) n;
}

/*
 * mem_reserve
 *	  Make the buffer hold at least "end" bytes (doubling, up to the cap).
 *	  False, with over_cap or no_memory set, when it cannot.
 */
static bool
mem_reserve(MemStream *ms, size_t end)
{
	size_t		newalloc;
	unsigned char *p;

	if (end > ms->cap)
	{
		ms->over_cap = true;
		return false;
	}
	if (end <= ms->alloc)
		return true;
	newalloc = ms->alloc > 0 ? ms->alloc : ZIP_INITIAL_ALLOC;
	while (newalloc < end && newalloc <= ms->cap / 2)
		newalloc *= 2;
	if (newalloc < end || newalloc > ms->cap)
		newalloc = ms->cap;
	p = realloc(ms->buf, newalloc);
	if (p == NULL)
	{
		ms->no_memory = true;
		return false;
	}
	ms->buf = p;
	ms->alloc = newalloc;
	return true;
}

/*
 * mem_write
 *	  Write at the current offset, growing the buffer.  Writes nothing and
 *	  returns 0 when the stream is read-only, the write would pass the cap,
 *	  or realloc fails.
 */
static uLong ZCALLBACK
mem_write(voidpf opaque, voidpf stream, const void *buf, uLong size)
{
	MemStream  *ms = (MemStream *) stream;
	size_t		end;

	(void) opaque;
	if (ms->rbuf != NULL)
		return 0;
	if ((size_t) size > ms->cap - ms->pos)
	{
		ms->over_cap = true;
		return 0;
	}
	end = ms->pos + (size_t) size;
	if (!mem_reserve(ms, end))
		return 0;
	if (size > 0)
		memcpy(ms->buf + ms->pos, buf, size);
	ms->pos = end;
	if (end > ms->len)
		ms->len = end;
	return size;
}

static ZPOS64_T ZCALLBACK
mem_tell(voidpf opaque, voidpf stream)
{
	(void) opaque;
	return (ZPOS64_T) ((MemStream *) stream)->pos;
}

/* Seek within the file; offsets past its end are refused (-1). */
static long ZCALLBACK
mem_seek(voidpf opaque, voidpf stream, ZPOS64_T offset, int origin)
{
	MemStream  *ms = (MemStream *) stream;
	ZPOS64_T	base;

	(void) opaque;
	switch (origin)
	{
		case ZLIB_FILEFUNC_SEEK_SET:
			base = 0;
			break;
		case ZLIB_FILEFUNC_SEEK_CUR:
			base = ms->pos;
			break;
		case ZLIB_FILEFUNC_SEEK_END:
			base = ms->len;
			break;
		default:
			return -1;
	}
	if (offset > (ZPOS64_T) ms->len - base)
		return -1;
	ms->pos = (size_t) (base + offset);
	return 0;
}

static int	ZCALLBACK
mem_close(voidpf opaque, voidpf stream)
{
	(void) opaque;
	(void) stream;
	return 0;
}

static int	ZCALLBACK
mem_error(voidpf opaque, voidpf stream)
{
	MemStream  *ms = (MemStream *) stream;

	(void) opaque;
	return (ms->over_cap || ms->no_memory || ms->short_read) ? 1 : 0;
}

static void
mem_fill_filefunc(zlib_filefunc64_def *ff, MemStream *ms)
{
	ff->zopen64_file = mem_open;
	ff->zread_file = mem_read;
	ff->zwrite_file = mem_write;
	ff->ztell64_file = mem_tell;
	ff->zseek64_file = mem_seek;
	ff->zclose_file = mem_close;
	ff->zerror_file = mem_error;
	ff->opaque = ms;
}


/* ----------------------------------------------------------------
 * Writing
 * ----------------------------------------------------------------
 */

/* The status of a failed minizip write call, from the stream's flags. */
static ZcrmZipStatus
writer_failure(ZcrmZipWriter *w, ZcrmZipError *err, const char *what, int rc)
{
	w->failed = true;
	if (w->ms.over_cap)
		return set_error(err, ZCRM_ZIP_TOO_LARGE,
						 "zip archive would exceed its limit of %zu bytes",
						 w->ms.cap);
	if (w->ms.no_memory)
		return set_error(err, ZCRM_ZIP_NO_MEMORY,
						 "out of memory while writing a zip archive");
	return set_error(err, ZCRM_ZIP_ERROR, "minizip %s failed (error %d)",
					 what, rc);
}

ZcrmZipWriter *
zcrm_zip_writer_create(size_t cap, ZcrmZipError *err)
{
	ZcrmZipWriter *w;

	clear_error(err);
	if (cap == 0)
	{
		set_error(err, ZCRM_ZIP_MISUSE, "zip archive limit must be positive");
		return NULL;
	}
	w = calloc(1, sizeof(ZcrmZipWriter));
	if (w == NULL)
	{
		set_error(err, ZCRM_ZIP_NO_MEMORY, "out of memory creating a zip archive");
		return NULL;
	}
	w->ms.cap = cap;
	mem_fill_filefunc(&w->ff, &w->ms);
	w->zf = zipOpen2_64(mem_name, APPEND_STATUS_CREATE, NULL, &w->ff);
	if (w->zf == NULL)
	{
		/* zipOpen2_64 writes nothing: it can only fail in malloc */
		free(w->ms.buf);
		free(w);
		set_error(err, ZCRM_ZIP_NO_MEMORY, "out of memory creating a zip archive");
		return NULL;
	}
	return w;
}

ZcrmZipStatus
zcrm_zip_writer_add(ZcrmZipWriter *w, const char *name, const void *data,
					size_t len, int level, ZcrmZipError *err)
{
	zip_fileinfo zi;
	size_t		namelen;
	size_t		done = 0;
	int			rc;

	clear_error(err);
	if (w == NULL || w->zf == NULL || w->failed)
		return set_error(err, ZCRM_ZIP_MISUSE,
						 "zip archive is finished or failed");
	if (name == NULL || (namelen = strlen(name)) == 0 || namelen > ZIP_MAX_NAME)
		return set_error(err, ZCRM_ZIP_MISUSE,
						 "zip entry name must have 1 to %d bytes", ZIP_MAX_NAME);
	if (level < -1 || level > 9)
		return set_error(err, ZCRM_ZIP_MISUSE,
						 "zip compression level %d is not between -1 and 9",
						 level);
	if (len > 0 && data == NULL)
		return set_error(err, ZCRM_ZIP_MISUSE, "zip entry data is NULL");
	if ((uint64_t) len >= UINT64_C(0xFFFFFFFF))
		return set_error(err, ZCRM_ZIP_UNSUPPORTED,
						 "zip entry of %zu bytes needs zip64", len);

	/*
	 * Room for the local header (30 bytes and the name), so that
	 * zipOpenNewFileInZip4_64 cannot fail writing it (see the top).
	 */
	if (!mem_reserve(&w->ms, w->ms.pos + 30 + namelen))
		return writer_failure(w, err, "zipOpenNewFileInZip4_64", ZIP_ERRNO);

	/* A fixed time stamp (1980-01-01 00:00), so that output is reproducible */
	memset(&zi, 0, sizeof(zi));
	zi.tmz_date.tm_mday = 1;
	zi.tmz_date.tm_year = 1980;

	/* bit 11 of the general purpose flags: the name is UTF-8 */
	rc = zipOpenNewFileInZip4_64(w->zf, name, &zi, NULL, 0, NULL, 0, NULL,
								 level == 0 ? 0 : Z_DEFLATED, level, 0,
								 -MAX_WBITS, DEF_MEM_LEVEL, Z_DEFAULT_STRATEGY,
								 NULL, 0, 0, 1 << 11, 0);
	if (rc != ZIP_OK)
		return writer_failure(w, err, "zipOpenNewFileInZip4_64", rc);

	while (done < len)
	{
		size_t		n = len - done;

		if (zip_interrupted != NULL && zip_interrupted())
		{
			w->failed = true;
			return set_error(err, ZCRM_ZIP_INTERRUPTED, "interrupted");
		}
		if (n > ZIP_CHUNK)
			n = ZIP_CHUNK;
		rc = zipWriteInFileInZip(w->zf, (const char *) data + done, (unsigned) n);
		if (rc != ZIP_OK)
			return writer_failure(w, err, "zipWriteInFileInZip", rc);
		done += n;
	}

	rc = zipCloseFileInZip(w->zf);
	if (rc != ZIP_OK)
		return writer_failure(w, err, "zipCloseFileInZip", rc);
	return ZCRM_ZIP_OK;
}

ZcrmZipStatus
zcrm_zip_writer_finish(ZcrmZipWriter *w, void **out, size_t *outlen,
					   ZcrmZipError *err)
{
	int			rc;

	clear_error(err);
	if (out != NULL)
		*out = NULL;
	if (outlen != NULL)
		*outlen = 0;
	if (w == NULL || w->zf == NULL || w->failed || out == NULL || outlen == NULL)
		return set_error(err, ZCRM_ZIP_MISUSE,
						 "zip archive is finished or failed");

	rc = zipClose(w->zf, NULL);
	w->zf = NULL;				/* zipClose frees minizip's state, even on
								 * error */
	if (rc != ZIP_OK)
		return writer_failure(w, err, "zipClose", rc);

	*out = w->ms.buf;
	*outlen = w->ms.len;
	w->ms.buf = NULL;
	w->ms.len = w->ms.alloc = w->ms.pos = 0;
	w->failed = true;			/* nothing more can be added */
	return ZCRM_ZIP_OK;
}

void
zcrm_zip_writer_free(ZcrmZipWriter *w)
{
	if (w == NULL)
		return;
	if (w->zf != NULL)
	{
		/* frees minizip's state; its writes may fail, which does not matter */
		zipClose(w->zf, NULL);
	}
	free(w->ms.buf);
	free(w);
}

void
zcrm_zip_set_interrupt(bool (*interrupted) (void))
{
	zip_interrupted = interrupted;
}

ZcrmZipStatus
zcrm_zip_one(const char *name, const void *data, size_t len, int level,
			 size_t cap, void **out, size_t *outlen, ZcrmZipError *err)
{
	ZcrmZipError local;
	ZcrmZipWriter *w;
	ZcrmZipStatus st;

	if (err == NULL)
		err = &local;			/* for the status of a failed create */
	clear_error(err);
	if (out == NULL || outlen == NULL)
		return set_error(err, ZCRM_ZIP_MISUSE, "no place for the zip archive");
	*out = NULL;
	*outlen = 0;
	w = zcrm_zip_writer_create(cap, err);
	if (w == NULL)
		return err->status;
	st = zcrm_zip_writer_add(w, name, data, len, level, err);
	if (st == ZCRM_ZIP_OK)
		st = zcrm_zip_writer_finish(w, out, outlen, err);
	zcrm_zip_writer_free(w);
	return st;
}


/* ----------------------------------------------------------------
 * Reading
 * ----------------------------------------------------------------
 */

void
zcrm_unzip_close(ZcrmUnzip *u)
{
	if (u == NULL)
		return;
	if (u->uf != NULL)
		unzClose(u->uf);
	for (size_t i = 0; i < u->n; i++)
		free(u->entries[i].name);
	free(u->entries);
	free(u->positions);
	free(u);
}

ZcrmUnzip *
zcrm_unzip_open(const void *data, size_t len, ZcrmZipError *err)
{
	ZcrmUnzip  *u;
	unz_global_info64 gi;
	int			rc;

	clear_error(err);
	if (data == NULL && len > 0)
	{
		set_error(err, ZCRM_ZIP_MISUSE, "zip archive data is NULL");
		return NULL;
	}
	u = calloc(1, sizeof(ZcrmUnzip));
	if (u == NULL)
		goto no_memory;
	u->ms.rbuf = data != NULL ? data : (const unsigned char *) "";
	u->ms.len = len;
	mem_fill_filefunc(&u->ff, &u->ms);
	u->uf = unzOpen2_64(mem_name, &u->ff);
	if (u->uf == NULL)
	{
		set_error(err, ZCRM_ZIP_CORRUPT,
				  "not a zip archive, or a truncated one (%zu bytes)", len);
		goto fail;
	}
	if (unzGetGlobalInfo64(u->uf, &gi) != UNZ_OK)
	{
		set_error(err, ZCRM_ZIP_CORRUPT, "unreadable zip central directory");
		goto fail;
	}
	if (gi.number_entry > ZCRM_UNZIP_MAX_ENTRIES)
	{
		set_error(err, ZCRM_ZIP_UNSUPPORTED,
				  "zip archive lists %llu entries, more than %d",
				  (unsigned long long) gi.number_entry, ZCRM_UNZIP_MAX_ENTRIES);
		goto fail;
	}
	if (gi.number_entry > 0)
	{
		u->entries = calloc((size_t) gi.number_entry, sizeof(ZcrmZipEntry));
		u->positions = calloc((size_t) gi.number_entry, sizeof(EntryPos));
		if (u->entries == NULL || u->positions == NULL)
			goto no_memory;
	}

	/* Each entry's name, sizes, CRC, method and position */
	rc = unzGoToFirstFile(u->uf);
	while (rc == UNZ_OK && u->n < (size_t) gi.number_entry)
	{
		unz_file_info64 fi;
		ZcrmZipEntry *e;
		char	   *name;

		if (unzGetCurrentFileInfo64(u->uf, &fi, NULL, 0, NULL, 0, NULL, 0) != UNZ_OK)
			break;
		name = malloc(fi.size_filename + 1);
		if (name == NULL)
			goto no_memory;
		if (unzGetCurrentFileInfo64(u->uf, &fi, name, fi.size_filename + 1,
									NULL, 0, NULL, 0) != UNZ_OK ||
			unzGetFilePos64(u->uf, &u->positions[u->n].pos) != UNZ_OK)
		{
			free(name);
			break;
		}
		name[fi.size_filename] = '\0';
		e = &u->entries[u->n++];
		e->name = name;
		e->compressed_size = fi.compressed_size;
		e->uncompressed_size = fi.uncompressed_size;
		e->crc = (uint32_t) fi.crc;
		e->method = (int) fi.compression_method;
		e->encrypted = (fi.flag & 1) != 0;
		rc = unzGoToNextFile(u->uf);
	}
	if (u->n != (size_t) gi.number_entry)
	{
		set_error(err, ZCRM_ZIP_CORRUPT,
				  "zip central directory lists %llu entries, %zu readable",
				  (unsigned long long) gi.number_entry, u->n);
		goto fail;
	}
	return u;

no_memory:
	set_error(err, ZCRM_ZIP_NO_MEMORY, "out of memory reading a zip archive");
fail:
	zcrm_unzip_close(u);
	return NULL;
}

size_t
zcrm_unzip_count(const ZcrmUnzip *u)
{
	return u != NULL ? u->n : 0;
}

const ZcrmZipEntry *
zcrm_unzip_entry(const ZcrmUnzip *u, size_t i)
{
	return (u != NULL && i < u->n) ? &u->entries[i] : NULL;
}

long
zcrm_unzip_find(const ZcrmUnzip *u, const char *name)
{
	if (u == NULL || name == NULL)
		return -1;
	for (size_t i = 0; i < u->n; i++)
		if (strcmp(u->entries[i].name, name) == 0)
			return (long) i;
	return -1;
}

ZcrmZipStatus
zcrm_unzip_read(ZcrmUnzip *u, size_t index, size_t cap, void **out,
				size_t *outlen, ZcrmZipError *err)
{
	const ZcrmZipEntry *e;
	unsigned char *buf = NULL;
	size_t		alloc;
	size_t		total = 0;
	ZcrmZipStatus st = ZCRM_ZIP_OK;
	int			rc;

	clear_error(err);
	if (out != NULL)
		*out = NULL;
	if (outlen != NULL)
		*outlen = 0;
	if (u == NULL || out == NULL || outlen == NULL || index >= u->n)
		return set_error(err, ZCRM_ZIP_MISUSE, "no such zip entry");
	e = &u->entries[index];
	if (e->encrypted)
		return set_error(err, ZCRM_ZIP_UNSUPPORTED,
						 "zip entry is encrypted");
	if (e->method != 0 && e->method != Z_DEFLATED)
		return set_error(err, ZCRM_ZIP_UNSUPPORTED,
						 "zip entry uses compression method %d", e->method);
	if (e->uncompressed_size > (uint64_t) cap)
		return set_error(err, ZCRM_ZIP_ENTRY_TOO_LARGE,
						 "zip entry declares %llu bytes, more than the limit of %zu",
						 (unsigned long long) e->uncompressed_size, cap);

	if (unzGoToFilePos64(u->uf, &u->positions[index].pos) != UNZ_OK)
		return set_error(err, ZCRM_ZIP_CORRUPT, "zip entry cannot be found");
	rc = unzOpenCurrentFile(u->uf);
	if (rc != UNZ_OK)
		return set_error(err, ZCRM_ZIP_CORRUPT,
						 "zip entry cannot be opened (error %d)", rc);

	/* Start from the declared size but never trust it beyond one chunk */
	alloc = (size_t) e->uncompressed_size;
	if (alloc > ZIP_CHUNK)
		alloc = ZIP_CHUNK;
	if (alloc == 0)
		alloc = 1;
	buf = malloc(alloc);
	if (buf == NULL)
	{
		st = set_error(err, ZCRM_ZIP_NO_MEMORY, "out of memory reading a zip entry");
		goto done;
	}

	for (;;)
	{
		size_t		want;

		if (total == alloc)
		{
			size_t		newalloc;
			unsigned char *p;

			/* room for one byte past the cap, to see that it is passed */
			if (alloc > cap)
			{
				st = set_error(err, ZCRM_ZIP_ENTRY_TOO_LARGE,
							   "zip entry inflates past the limit of %zu bytes",
							   cap);
				goto done;
			}
			newalloc = alloc <= cap / 2 ? alloc * 2 : cap + 1;
			p = realloc(buf, newalloc);
			if (p == NULL)
			{
				st = set_error(err, ZCRM_ZIP_NO_MEMORY,
							   "out of memory reading a zip entry");
				goto done;
			}
			buf = p;
			alloc = newalloc;
		}
		want = alloc - total;
		if (want > ZIP_CHUNK)
			want = ZIP_CHUNK;
		if (zip_interrupted != NULL && zip_interrupted())
		{
			st = set_error(err, ZCRM_ZIP_INTERRUPTED, "interrupted");
			goto done;
		}
		rc = unzReadCurrentFile(u->uf, buf + total, (unsigned) want);
		if (rc < 0)
		{
			st = set_error(err, ZCRM_ZIP_CORRUPT,
						   "zip entry does not inflate (error %d)", rc);
			goto done;
		}
		if (rc == 0)
			break;
		total += (size_t) rc;
		if (total > cap)
		{
			st = set_error(err, ZCRM_ZIP_ENTRY_TOO_LARGE,
						   "zip entry inflates past the limit of %zu bytes",
						   cap);
			goto done;
		}
	}

	if ((uint64_t) total != e->uncompressed_size)
	{
		st = set_error(err, ZCRM_ZIP_CORRUPT,
					   "zip entry inflates to %zu bytes, not the declared %llu",
					   total, (unsigned long long) e->uncompressed_size);
		goto done;
	}
	if ((uint32_t) crc32(crc32(0L, Z_NULL, 0), buf, (uInt) total) != e->crc)
	{
		st = set_error(err, ZCRM_ZIP_CORRUPT, "zip entry fails its CRC-32 check");
		goto done;
	}

done:
	rc = unzCloseCurrentFile(u->uf);
	if (st == ZCRM_ZIP_OK && rc != UNZ_OK)
		st = set_error(err, ZCRM_ZIP_CORRUPT,
					   "zip entry fails its CRC-32 check (error %d)", rc);
	if (st != ZCRM_ZIP_OK)
	{
		free(buf);
		return st;
	}
	*out = buf;
	*outlen = total;
	return ZCRM_ZIP_OK;
}

const char *
zcrm_zip_status_message(ZcrmZipStatus status)
{
	switch (status)
	{
		case ZCRM_ZIP_OK:
			return "no error";
		case ZCRM_ZIP_NO_MEMORY:
			return "out of memory";
		case ZCRM_ZIP_TOO_LARGE:
			return "zip archive too large";
		case ZCRM_ZIP_ENTRY_TOO_LARGE:
			return "zip entry too large";
		case ZCRM_ZIP_CORRUPT:
			return "corrupt zip archive";
		case ZCRM_ZIP_UNSUPPORTED:
			return "unsupported zip archive";
		case ZCRM_ZIP_MISUSE:
			return "zip functions called with bad arguments";
		case ZCRM_ZIP_INTERRUPTED:
			return "interrupted";
		case ZCRM_ZIP_ERROR:
			return "zip error";
	}
	return "unknown zip error";
}
