/*-------------------------------------------------------------------------
 *
 * json.h
 *	  The strict JSON layer under parse.c: the pre-scan, the per-parse
 *	  arena with the cJSON hooks, and typed accessors that report errors
 *	  with the path of the offending key.
 *
 * A body is read in three stages (parse.c runs them, one document kind
 * at a time):
 *
 *	1. zcrm_json_scan() (json_scan.c) reads the raw bytes once: strict
 *	   UTF-8, the strict grammar of RFC 8259 within cJSON's own limits,
 *	   \u0000 found before cJSON would truncate a string at it, values
 *	   counted against zcrm_parse_set_limits(), interrupts polled.
 *	2. zcrm_json_load_object() (json.c) runs stage 1, then has cJSON build
 *	   the tree, which it allocates from the tree arena installed by
 *	   zcrm_json_tree_begin() (json_arena.c).
 *	3. The document's builder walks the tree with the zcrm_json_get_*()
 *	   accessors (json.c), which check each value's type and copy what is
 *	   kept into the result's own arena (ZcrmJsonCtx.arena).
 *
 * This layer knows JSON, not Zoho: nothing here names a Zoho key.  It
 * reports in the vocabulary of parse.h (ZcrmParseStatus, ZcrmParseError,
 * ZcrmParseLimits), which is why it includes that header.  Like parse.c it
 * depends on cJSON and the C library alone (no PostgreSQL headers), so it
 * builds and runs outside the server; it never longjmps and never prints.
 *
 * Every external name starts with zcrm_json_ or zcrm_arena_: the module is
 * loaded into a server that exports json_* functions of its own.
 *
 * Copyright (c) 2026, zcrm_bulk developers
 *
 * IDENTIFICATION
 *	  src/json.h
 *
 *-------------------------------------------------------------------------
 */
#ifndef ZCRM_JSON_H
#define ZCRM_JSON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <cJSON.h>

#include "parse.h"

/* How often (in values or elements, a power of 2) interrupts are polled. */
#define ZCRM_INTERRUPT_EVERY	4096

/* Room for a JSON-like path while it is being built; err->path is smaller. */
#define ZCRM_PATH_BUFSIZE		256


/* ----------------------------------------------------------------
 * json_arena.c: the arena and cJSON's allocation hooks
 * ----------------------------------------------------------------
 */

/*
 * An arena is a list of blocks, newest first; a NULL pointer is an empty
 * arena.  Results (ZcrmJob.internal and the like) keep theirs as the
 * pointer to its newest block.
 */
typedef struct ZcrmArenaBlock ZcrmArenaBlock;

extern void *zcrm_arena_alloc0(ZcrmArenaBlock **arena, size_t size);
extern char *zcrm_arena_strdup(ZcrmArenaBlock **arena, const char *s);
extern void zcrm_arena_free(ZcrmArenaBlock *arena);

/*
 * Between zcrm_json_tree_begin() and zcrm_json_tree_end(), cJSON allocates
 * from the tree arena and frees nothing; the end releases the whole tree
 * and puts back malloc and free.  zcrm_json_tree_stopped() says whether an
 * allocation since the beginning failed because of an interrupt (rather
 * than a lack of memory).
 */
extern void zcrm_json_tree_begin(void);
extern void zcrm_json_tree_end(void);
extern bool zcrm_json_tree_stopped(void);


/* ----------------------------------------------------------------
 * json_scan.c: stage 1, and the limits of every parse
 * ----------------------------------------------------------------
 */

extern ZcrmParseStatus zcrm_json_scan(const char *body, size_t len,
									  ZcrmParseError *err);
extern size_t zcrm_json_skip_space(const unsigned char *s, size_t len,
								   size_t pos);
extern bool zcrm_json_interrupt_requested(void);

/*
 * zcrm_json_nth_number
 *	  In a body that zcrm_json_scan() accepted, find the n-th (from 0)
 *	  number token in source order and set body[*start..*end) to it.
 *	  False when there are not that many numbers.
 */
extern bool zcrm_json_nth_number(const char *body, size_t len, size_t n,
								 size_t *start, size_t *end);

/*
 * zcrm_json_poll_interrupt
 *	  Every ZCRM_INTERRUPT_EVERY-th "n", ask the caller's interrupt check
 *	  (zcrm_parse_set_limits); true means stop.
 */
static inline bool
zcrm_json_poll_interrupt(size_t n)
{
	return (n & (ZCRM_INTERRUPT_EVERY - 1)) == 0 &&
		zcrm_json_interrupt_requested();
}


/* ----------------------------------------------------------------
 * json.c: loading, errors, paths and typed accessors
 * ----------------------------------------------------------------
 */

/*
 * The state of one walk over a tree: the arena that the result owns, where
 * errors go, and the path of the value being read, for error messages.
 */
typedef struct ZcrmJsonCtx
{
	ZcrmArenaBlock *arena;
	ZcrmParseError *err;
	char		path[ZCRM_PATH_BUFSIZE];
	size_t		pathlen;
	const char *body;			/* the source text, for zcrm_json_number_text */
	size_t		len;
	const cJSON *root;			/* the tree built from it */
} ZcrmJsonCtx;

extern ZcrmParseStatus zcrm_json_set_error(ZcrmParseError *err,
										   ZcrmParseStatus status,
										   const char *path,
										   const char *message);
extern void zcrm_json_clear_error(ZcrmParseError *err);
extern ZcrmParseStatus zcrm_json_load_object(const char *body, size_t len,
											 cJSON **root,
											 ZcrmParseError *err);

extern const char *zcrm_json_type_name(const cJSON *item);
extern size_t zcrm_json_path_push_key(ZcrmJsonCtx *ctx, const char *key);
extern void zcrm_json_path_pop(ZcrmJsonCtx *ctx, size_t saved);
extern ZcrmParseStatus zcrm_json_shape_error(ZcrmJsonCtx *ctx,
											 const char *key,
											 const char *fmt,...)
			__attribute__((format(printf, 3, 4)));
extern ZcrmParseStatus zcrm_json_oom_error(ZcrmJsonCtx *ctx);

/*
 * The accessors.  Each reads member "key" of obj (obj may be NULL: every
 * member is then absent); a missing key and a JSON null are both absent
 * (NULL, or *has false), a value of another type than asked for is
 * ZCRM_PARSE_BAD_SHAPE at the path of the key.  Strings are copied into
 * ctx->arena.
 */
extern cJSON *zcrm_json_get_member(const cJSON *obj, const char *key);
extern ZcrmParseStatus zcrm_json_get_string(ZcrmJsonCtx *ctx,
											const cJSON *obj,
											const char *key,
											const char **out);
extern ZcrmParseStatus zcrm_json_get_bool(ZcrmJsonCtx *ctx, const cJSON *obj,
										  const char *key,
										  bool *has, bool *out);
extern ZcrmParseStatus zcrm_json_get_integer(ZcrmJsonCtx *ctx,
											 const cJSON *obj,
											 const char *key,
											 double lo, double hi,
											 bool *has, int64_t *out);
extern ZcrmParseStatus zcrm_json_get_int32(ZcrmJsonCtx *ctx,
										   const cJSON *obj, const char *key,
										   bool *has, int32_t *out);
extern ZcrmParseStatus zcrm_json_get_count(ZcrmJsonCtx *ctx,
										   const cJSON *obj, const char *key,
										   bool *has, int64_t *out);
extern ZcrmParseStatus zcrm_json_get_id(ZcrmJsonCtx *ctx, const cJSON *obj,
										const char *key, const char **out);

/*
 * zcrm_json_number_text
 *	  The source text of number node "item" of ctx->root (cJSON keeps only
 *	  a double), copied into ctx->arena; NULL when it cannot be found or
 *	  memory runs out.  Only before zcrm_json_get_json_text() has turned
 *	  numbers of the tree into raw nodes.
 */
extern const char *zcrm_json_number_text(ZcrmJsonCtx *ctx, const cJSON *item);

/*
 * zcrm_json_get_exact_id
 *	  Read id member "key" without loss: a non-empty string is copied as
 *	  it is; a number must be a non-negative integer written with digits
 *	  only (no sign, fraction or exponent), and its digits are copied from
 *	  the source text, however many there are.
 */
extern ZcrmParseStatus zcrm_json_get_exact_id(ZcrmJsonCtx *ctx,
											  const cJSON *obj,
											  const char *key,
											  const char **out);
extern ZcrmParseStatus zcrm_json_get_object(ZcrmJsonCtx *ctx,
											const cJSON *obj,
											const char *key, cJSON **out);
extern ZcrmParseStatus zcrm_json_get_array(ZcrmJsonCtx *ctx,
										   const cJSON *obj, const char *key,
										   cJSON **out, size_t *count);
extern ZcrmParseStatus zcrm_json_get_json_text(ZcrmJsonCtx *ctx,
											   const cJSON *obj,
											   const char *key, bool strict,
											   const char **out);

/* Fills one struct from one object element (zcrm_json_parse_elements). */
typedef ZcrmParseStatus (*ZcrmJsonFillElement) (ZcrmJsonCtx *ctx,
												const cJSON *obj,
												void *elem);

extern ZcrmParseStatus zcrm_json_parse_elements(ZcrmJsonCtx *ctx,
												const char *key,
												const cJSON *arr,
												size_t count,
												size_t elemsize, void **out,
												ZcrmJsonFillElement fill);

#endif							/* ZCRM_JSON_H */
