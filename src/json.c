/*-------------------------------------------------------------------------
 *
 * json.c
 *	  Load a body into a cJSON tree (stages 1 and 2), and read the tree
 *	  with typed accessors that report errors at a JSON path (stage 3).
 *
 * zcrm_json_load_object() runs zcrm_json_scan() and then cJSON, whose tree
 * lives in the tree arena (json_arena.c), and requires a top-level object.
 * The accessors check every value they are asked for and copy what is kept
 * into the result's arena, so the result holds no cJSON storage at all;
 * each error names the offending key ("resource[0].file.added_count") and
 * the JSON type found, never any data from the body.
 *
 * Numbers inside JSON text that is kept verbatim (zcrm_json_get_json_text)
 * are not left to cJSON's printer, which in 1.7.15 may drop the last digit
 * of a 16- or 17-digit number (9007199254740991 prints as
 * 9.00719925474099e+15): each number node is turned into a cJSON_Raw node
 * holding a text that reads back as the very same double.
 *
 * Copyright (c) 2026, zcrm_bulk developers
 *
 * IDENTIFICATION
 *	  src/json.c
 *
 *-------------------------------------------------------------------------
 */
#include <float.h>
#include <inttypes.h>
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cJSON.h>

#include "json.h"

/* The largest integer a double holds exactly, with all its neighbours. */
#define ZCRM_MAX_SAFE_INTEGER	9007199254740991.0

/* Outcome of reading a JSON number as an integer. */
typedef enum NumberClass
{
	NUMBER_INTEGRAL,
	NUMBER_FRACTIONAL,
	NUMBER_OUT_OF_RANGE
} NumberClass;


/* ----------------------------------------------------------------
 * Errors, and stages 1 and 2
 * ----------------------------------------------------------------
 */

/*
 * zcrm_json_set_error
 *	  Fill *err with a status, a path and a message; return the status.
 *
 * "path" may be NULL for the whole document.  Both strings are truncated
 * to fit their buffers.
 */
ZcrmParseStatus
zcrm_json_set_error(ZcrmParseError *err, ZcrmParseStatus status,
					const char *path,
					const char *message)
{
	err->status = status;
	if (snprintf(err->path, sizeof(err->path), "%s",
				 path != NULL ? path : "") < 0)
		err->path[0] = '\0';
	if (snprintf(err->message, sizeof(err->message), "%s", message) < 0)
		err->message[0] = '\0';
	return status;
}

/* Clear *err to the state that means "no error". */
void
zcrm_json_clear_error(ZcrmParseError *err)
{
	err->status = ZCRM_PARSE_OK;
	err->path[0] = '\0';
	err->message[0] = '\0';
}

/*
 * load_document
 *	  Stages 1 and 2: check the body and build its cJSON tree in *root.
 *	  On anything but ZCRM_PARSE_OK, *root is NULL and *err is filled.
 */
static ZcrmParseStatus
load_document(const char *body, size_t len, cJSON **root, ZcrmParseError *err)
{
	ZcrmParseStatus rc;
	const char *end = NULL;
	cJSON	   *tree;

	*root = NULL;
	rc = zcrm_json_scan(body, len, err);
	if (rc != ZCRM_PARSE_OK)
		return rc;

	/*
	 * cJSON accepts every text zcrm_json_scan() accepts, so a failure here is
	 * a failed allocation.  The end check below cannot fail either; it is
	 * kept so that a future cJSON that disagrees fails safe.
	 */
	tree = cJSON_ParseWithLengthOpts(body, len, &end, false);
	if (tree == NULL && zcrm_json_tree_stopped())
		return zcrm_json_set_error(err, ZCRM_PARSE_INTERRUPTED, NULL,
								   "interrupted");
	if (tree == NULL)
		return zcrm_json_set_error(err, ZCRM_PARSE_NO_MEMORY, NULL,
								   "out of memory");
	if (end == NULL || end < body || end > body + len ||
		zcrm_json_skip_space((const unsigned char *) body, len,
							 (size_t) (end - body)) != len)
		return zcrm_json_set_error(err, ZCRM_PARSE_NOT_JSON, NULL,
								   "the body has text after the JSON value");
	*root = tree;
	return ZCRM_PARSE_OK;
}

/* Report that the top level of the document is not an object. */
static ZcrmParseStatus
top_level_error(ZcrmParseError *err, const cJSON *root)
{
	char		message[64];

	snprintf(message, sizeof(message), "expected an object, found %s",
			 zcrm_json_type_name(root));
	return zcrm_json_set_error(err, ZCRM_PARSE_BAD_SHAPE, NULL, message);
}

/*
 * zcrm_json_load_object
 *	  load_document() for a body whose top level must be a JSON object: any
 *	  other top level is ZCRM_PARSE_BAD_SHAPE (and *root NULL).
 */
ZcrmParseStatus
zcrm_json_load_object(const char *body, size_t len, cJSON **root,
					  ZcrmParseError *err)
{
	ZcrmParseStatus rc = load_document(body, len, root, err);

	if (rc == ZCRM_PARSE_OK && !cJSON_IsObject(*root))
	{
		rc = top_level_error(err, *root);
		*root = NULL;
	}
	return rc;
}


/* ----------------------------------------------------------------
 * Stage 3: values and paths
 * ----------------------------------------------------------------
 */

/* The phrase naming the JSON type of item, for error messages. */
const char *
zcrm_json_type_name(const cJSON *item)
{
	if (item == NULL)
		return "nothing";
	if (cJSON_IsString(item))
		return "a string";
	if (cJSON_IsNumber(item))
		return "a number";
	if (cJSON_IsObject(item))
		return "an object";
	if (cJSON_IsArray(item))
		return "an array";
	if (cJSON_IsBool(item))
		return "a boolean";
	if (cJSON_IsNull(item))
		return "null";
	return "an unknown value";
}

/*
 * classify_number
 *	  Decide whether d is an integer within [lo, hi] and store it in *out
 *	  if so.  The range is checked before any cast, so NaN, infinities and
 *	  huge values never reach one.  lo and hi must lie within +-2^53.
 */
static NumberClass
classify_number(double d, double lo, double hi, int64_t *out)
{
	int64_t		v;

	if (!(d >= lo && d <= hi))
		return NUMBER_OUT_OF_RANGE;
	v = (int64_t) d;
	if ((double) v != d)
		return NUMBER_FRACTIONAL;
	*out = v;
	return NUMBER_INTEGRAL;
}

/* Append "name" to the current path, truncating safely. */
static void
path_append(ZcrmJsonCtx *ctx, const char *name)
{
	size_t		room = sizeof(ctx->path) - 1 - ctx->pathlen;
	size_t		n = strlen(name);

	if (n > room)
		n = room;
	memcpy(ctx->path + ctx->pathlen, name, n);
	ctx->pathlen += n;
	ctx->path[ctx->pathlen] = '\0';
}

/* Descend into key; returns what zcrm_json_path_pop() needs. */
size_t
zcrm_json_path_push_key(ZcrmJsonCtx *ctx, const char *key)
{
	size_t		saved = ctx->pathlen;

	if (ctx->pathlen > 0)
		path_append(ctx, ".");
	path_append(ctx, key);
	return saved;
}

/* Descend into array element index; the same. */
static size_t
path_push_index(ZcrmJsonCtx *ctx, size_t index)
{
	size_t		saved = ctx->pathlen;
	char		digits[32];
	char	   *p = digits + sizeof(digits) - 1;

	*p = '\0';
	*--p = ']';
	do
	{
		*--p = (char) ('0' + index % 10);
		index /= 10;
	} while (index > 0);
	*--p = '[';
	path_append(ctx, p);
	return saved;
}

/* Return to the path as it was before the matching push. */
void
zcrm_json_path_pop(ZcrmJsonCtx *ctx, size_t saved)
{
	ctx->pathlen = saved;
	ctx->path[saved] = '\0';
}

/*
 * zcrm_json_shape_error
 *	  Report ZCRM_PARSE_BAD_SHAPE at the current path, extended by key
 *	  unless key is NULL, with a printf-style message.
 */
ZcrmParseStatus
zcrm_json_shape_error(ZcrmJsonCtx *ctx, const char *key, const char *fmt,...)
{
	ZcrmParseError *err = ctx->err;
	va_list		ap;
	size_t		saved = ctx->pathlen;

	if (key != NULL)
		zcrm_json_path_push_key(ctx, key);
	zcrm_json_set_error(err, ZCRM_PARSE_BAD_SHAPE, ctx->path, "");
	zcrm_json_path_pop(ctx, saved);

	va_start(ap, fmt);
	if (vsnprintf(err->message, sizeof(err->message), fmt, ap) < 0)
		err->message[0] = '\0';
	va_end(ap);
	return ZCRM_PARSE_BAD_SHAPE;
}

/* Report a failed allocation. */
ZcrmParseStatus
zcrm_json_oom_error(ZcrmJsonCtx *ctx)
{
	if (zcrm_json_tree_stopped())
		return zcrm_json_set_error(ctx->err, ZCRM_PARSE_INTERRUPTED, NULL,
								   "interrupted");
	return zcrm_json_set_error(ctx->err, ZCRM_PARSE_NO_MEMORY, NULL,
							   "out of memory");
}

/* Member "key" of obj; NULL when obj is NULL, or key is missing or null. */
cJSON *
zcrm_json_get_member(const cJSON *obj, const char *key)
{
	cJSON	   *item;

	if (obj == NULL)
		return NULL;
	item = cJSON_GetObjectItemCaseSensitive(obj, key);
	if (item == NULL || cJSON_IsNull(item))
		return NULL;
	return item;
}

/* Store in *out a copy of string member "key", or NULL when absent. */
ZcrmParseStatus
zcrm_json_get_string(ZcrmJsonCtx *ctx, const cJSON *obj, const char *key,
					 const char **out)
{
	cJSON	   *item = zcrm_json_get_member(obj, key);

	*out = NULL;
	if (item == NULL)
		return ZCRM_PARSE_OK;
	if (!cJSON_IsString(item) || item->valuestring == NULL)
		return zcrm_json_shape_error(ctx, key, "expected a string, found %s",
									 zcrm_json_type_name(item));
	*out = zcrm_arena_strdup(&ctx->arena, item->valuestring);
	return *out != NULL ? ZCRM_PARSE_OK : zcrm_json_oom_error(ctx);
}

/* Read boolean member "key" into *has and *out. */
ZcrmParseStatus
zcrm_json_get_bool(ZcrmJsonCtx *ctx, const cJSON *obj, const char *key,
				   bool *has, bool *out)
{
	cJSON	   *item = zcrm_json_get_member(obj, key);

	*has = false;
	*out = false;
	if (item == NULL)
		return ZCRM_PARSE_OK;
	if (!cJSON_IsBool(item))
		return zcrm_json_shape_error(ctx, key, "expected a boolean, found %s",
									 zcrm_json_type_name(item));
	*has = true;
	*out = cJSON_IsTrue(item);
	return ZCRM_PARSE_OK;
}

/*
 * zcrm_json_get_integer
 *	  Read integer member "key", which must lie within [lo, hi], into *has
 *	  and *out.
 */
ZcrmParseStatus
zcrm_json_get_integer(ZcrmJsonCtx *ctx, const cJSON *obj, const char *key,
					  double lo, double hi, bool *has, int64_t *out)
{
	cJSON	   *item = zcrm_json_get_member(obj, key);

	*has = false;
	*out = 0;
	if (item == NULL)
		return ZCRM_PARSE_OK;
	if (!cJSON_IsNumber(item))
		return zcrm_json_shape_error(ctx, key, "expected an integer, found %s",
									 zcrm_json_type_name(item));
	switch (classify_number(item->valuedouble, lo, hi, out))
	{
		case NUMBER_INTEGRAL:
			*has = true;
			return ZCRM_PARSE_OK;
		case NUMBER_FRACTIONAL:
			*out = 0;
			return zcrm_json_shape_error(ctx, key,
										 "expected an integer, found a fractional number");
		case NUMBER_OUT_OF_RANGE:
			break;
	}
	return zcrm_json_shape_error(ctx, key,
								 "expected an integer, found a number out of range");
}

/* zcrm_json_get_integer() for an int32_t field. */
ZcrmParseStatus
zcrm_json_get_int32(ZcrmJsonCtx *ctx, const cJSON *obj, const char *key,
					bool *has, int32_t *out)
{
	int64_t		value;
	ZcrmParseStatus rc;

	rc = zcrm_json_get_integer(ctx, obj, key, (double) INT32_MIN,
							   (double) INT32_MAX, has, &value);
	*out = *has ? (int32_t) value : 0;
	return rc;
}

/* zcrm_json_get_integer() for a count: an int64_t a double holds exactly. */
ZcrmParseStatus
zcrm_json_get_count(ZcrmJsonCtx *ctx, const cJSON *obj, const char *key,
					bool *has, int64_t *out)
{
	return zcrm_json_get_integer(ctx, obj, key, -ZCRM_MAX_SAFE_INTEGER,
								 ZCRM_MAX_SAFE_INTEGER, has, out);
}

/*
 * zcrm_json_get_id
 *	  Read id member "key": a string is copied; a number is accepted when
 *	  it is an integer no larger in magnitude than 2^53 - 1, and is then
 *	  rendered as decimal text.
 */
ZcrmParseStatus
zcrm_json_get_id(ZcrmJsonCtx *ctx, const cJSON *obj, const char *key,
				 const char **out)
{
	cJSON	   *item = zcrm_json_get_member(obj, key);
	int64_t		value;
	char		buf[32];

	*out = NULL;
	if (item == NULL)
		return ZCRM_PARSE_OK;
	if (cJSON_IsString(item))
		return zcrm_json_get_string(ctx, obj, key, out);
	if (!cJSON_IsNumber(item))
		return zcrm_json_shape_error(ctx, key,
									 "expected a string or an integer, found %s",
									 zcrm_json_type_name(item));
	switch (classify_number(item->valuedouble, -ZCRM_MAX_SAFE_INTEGER,
							ZCRM_MAX_SAFE_INTEGER, &value))
	{
		case NUMBER_INTEGRAL:
			snprintf(buf, sizeof(buf), "%" PRId64, value);
			*out = zcrm_arena_strdup(&ctx->arena, buf);
			return *out != NULL ? ZCRM_PARSE_OK : zcrm_json_oom_error(ctx);
		case NUMBER_FRACTIONAL:
			return zcrm_json_shape_error(ctx, key,
										 "expected an integer id, found a fractional number");
		case NUMBER_OUT_OF_RANGE:
			break;
	}
	return zcrm_json_shape_error(ctx, key,
								 "a numeric id above 2^53-1 cannot be held exactly; it must be sent as a string");
}

/*
 * number_ordinal
 *	  Count into *count the number nodes before "target" in a pre-order walk
 *	  of node (cJSON keeps members and elements in source order, so this
 *	  is the target's place among the body's number tokens); true once it
 *	  is found.
 */
static bool
number_ordinal(const cJSON *node, const cJSON *target, size_t *count)
{
	if (node == target)
		return true;
	if (cJSON_IsNumber(node))
		(*count)++;
	for (const cJSON *child = node->child; child != NULL; child = child->next)
	{
		if (number_ordinal(child, target, count))
			return true;
	}
	return false;
}

/*
 * zcrm_json_number_text
 *	  See json.h.
 */
const char *
zcrm_json_number_text(ZcrmJsonCtx *ctx, const cJSON *item)
{
	size_t		n = 0;
	size_t		start;
	size_t		end;
	char	   *copy;

	if (ctx->body == NULL || ctx->root == NULL ||
		!number_ordinal(ctx->root, item, &n) ||
		!zcrm_json_nth_number(ctx->body, ctx->len, n, &start, &end))
		return NULL;
	copy = zcrm_arena_alloc0(&ctx->arena, end - start + 1);
	if (copy != NULL)
		memcpy(copy, ctx->body + start, end - start);
	return copy;
}

/*
 * zcrm_json_get_exact_id
 *	  See json.h.
 */
ZcrmParseStatus
zcrm_json_get_exact_id(ZcrmJsonCtx *ctx, const cJSON *obj, const char *key,
					   const char **out)
{
	cJSON	   *item = zcrm_json_get_member(obj, key);
	const char *digits;

	*out = NULL;
	if (item == NULL)
		return ZCRM_PARSE_OK;
	if (cJSON_IsString(item) && item->valuestring != NULL)
	{
		if (item->valuestring[0] == '\0')
			return zcrm_json_shape_error(ctx, key, "expected an id, found an empty string");
		return zcrm_json_get_string(ctx, obj, key, out);
	}
	if (!cJSON_IsNumber(item))
		return zcrm_json_shape_error(ctx, key,
									 "expected a string or an integer, found %s",
									 zcrm_json_type_name(item));
	if ((digits = zcrm_json_number_text(ctx, item)) == NULL)
		return zcrm_json_oom_error(ctx);
	if (strspn(digits, "0123456789") != strlen(digits))
		return zcrm_json_shape_error(ctx, key,
									 "expected an integer id written with digits only, found another number");
	*out = digits;
	return ZCRM_PARSE_OK;
}

/*
 * zcrm_json_get_object
 *	  Set *out to object member "key", or NULL when it is missing or null.
 *	  Any other type is an error.
 */
ZcrmParseStatus
zcrm_json_get_object(ZcrmJsonCtx *ctx, const cJSON *obj, const char *key,
					 cJSON **out)
{
	cJSON	   *item = zcrm_json_get_member(obj, key);

	*out = NULL;
	if (item == NULL)
		return ZCRM_PARSE_OK;
	if (!cJSON_IsObject(item))
		return zcrm_json_shape_error(ctx, key, "expected an object, found %s",
									 zcrm_json_type_name(item));
	*out = item;
	return ZCRM_PARSE_OK;
}

/*
 * zcrm_json_get_array
 *	  Set *out to array member "key" and *count to its length, or NULL and
 *	  0 when it is missing or null.  Any other type is an error, and so is
 *	  a length that does not fit an int.
 */
ZcrmParseStatus
zcrm_json_get_array(ZcrmJsonCtx *ctx, const cJSON *obj, const char *key,
					cJSON **out, size_t *count)
{
	cJSON	   *item = zcrm_json_get_member(obj, key);
	cJSON	   *child;
	size_t		n = 0;

	*out = NULL;
	*count = 0;
	if (item == NULL)
		return ZCRM_PARSE_OK;
	if (!cJSON_IsArray(item))
		return zcrm_json_shape_error(ctx, key, "expected an array, found %s",
									 zcrm_json_type_name(item));
	for (child = item->child; child != NULL; child = child->next)
		n++;
	if (n > INT_MAX)
		return zcrm_json_shape_error(ctx, key,
									 "the array has too many elements");
	*out = item;
	*count = n;
	return ZCRM_PARSE_OK;
}

/*
 * exact_number_text
 *	  Write into buf a JSON text that reads back as exactly d: plain
 *	  digits for an integer a double holds exactly, else the first of
 *	  %.15g, %.16g, %.17g that round-trips.  Returns false for NaN and
 *	  infinities, which JSON cannot express.
 *
 * snprintf() and strtod() agree on the locale's decimal point; whatever it
 * is, it is then written as '.'.
 */
static bool
exact_number_text(double d, char *buf, size_t bufsize)
{
	char		tmp[40];
	int64_t		v;
	int			prec;
	size_t		i;
	size_t		o = 0;
	bool		point_done = false;

	if (classify_number(d, -ZCRM_MAX_SAFE_INTEGER, ZCRM_MAX_SAFE_INTEGER,
						&v) == NUMBER_INTEGRAL)
	{
		snprintf(buf, bufsize, "%s%" PRId64, (v == 0 && signbit(d)) ? "-" : "",
				 v);
		return true;
	}
	if (!(d >= -DBL_MAX && d <= DBL_MAX))
		return false;
	for (prec = 15; prec <= 17; prec++)
	{
		snprintf(tmp, sizeof(tmp), "%.*g", prec, d);
		if (strtod(tmp, NULL) == d)
			break;
	}
	for (i = 0; tmp[i] != '\0' && o + 1 < bufsize; i++)
	{
		char		c = tmp[i];

		if ((c >= '0' && c <= '9') || c == '-' || c == '+' || c == 'e' || c == 'E')
			buf[o++] = c;
		else if (!point_done)
		{
			buf[o++] = '.';
			point_done = true;
		}
	}
	buf[o] = '\0';
	return true;
}

/*
 * make_numbers_exact
 *	  Turn every number node in the subtree at node into a cJSON_Raw node
 *	  holding exact_number_text(), so that cJSON_PrintUnformatted() prints
 *	  each number without loss.  With "strict", a number whose magnitude
 *	  exceeds 2^53-1 (or is not finite) is refused: ZCRM_PARSE_BAD_SHAPE,
 *	  with *err left for the caller to fill.  Without it, large numbers are
 *	  written as the double they were read into, and infinities (from
 *	  1e400 and the like) are left to cJSON, which prints null.
 *
 * The recursion follows the JSON nesting, which zcrm_json_scan() bounds to
 * CJSON_NESTING_LIMIT; "depth" enforces that bound once more.
 */
static ZcrmParseStatus
make_numbers_exact(cJSON *node, bool strict, int depth)
{
	cJSON	   *child;

	if (depth > CJSON_NESTING_LIMIT)
		return ZCRM_PARSE_BAD_SHAPE;
	if (cJSON_IsNumber(node))
	{
		double		d = node->valuedouble;
		char		buf[40];
		char	   *raw;

		if (!(d >= -ZCRM_MAX_SAFE_INTEGER && d <= ZCRM_MAX_SAFE_INTEGER))
		{
			/* beyond 2^53 every double is an integer, held inexactly */
			if (strict)
				return ZCRM_PARSE_BAD_SHAPE;
			if (!(d >= -DBL_MAX && d <= DBL_MAX))
				return ZCRM_PARSE_OK;
		}
		if (!exact_number_text(d, buf, sizeof(buf)))
			return ZCRM_PARSE_OK;
		raw = cJSON_malloc(strlen(buf) + 1);
		if (raw == NULL)
			return ZCRM_PARSE_NO_MEMORY;
		memcpy(raw, buf, strlen(buf) + 1);
		node->type = cJSON_Raw;
		node->valuestring = raw;
		return ZCRM_PARSE_OK;
	}
	if (!cJSON_IsArray(node) && !cJSON_IsObject(node))
		return ZCRM_PARSE_OK;
	for (child = node->child; child != NULL; child = child->next)
	{
		ZcrmParseStatus rc = make_numbers_exact(child, strict, depth + 1);

		if (rc != ZCRM_PARSE_OK)
			return rc;
	}
	return ZCRM_PARSE_OK;
}

/*
 * zcrm_json_get_json_text
 *	  Store in *out the compact JSON text of member "key", or NULL when it
 *	  is missing or null.  "strict" is passed to make_numbers_exact().
 *	  The member's subtree is modified (numbers become raw text).
 */
ZcrmParseStatus
zcrm_json_get_json_text(ZcrmJsonCtx *ctx, const cJSON *obj, const char *key,
						bool strict,
						const char **out)
{
	cJSON	   *item = zcrm_json_get_member(obj, key);
	char	   *printed;
	ZcrmParseStatus rc;

	*out = NULL;
	if (item == NULL)
		return ZCRM_PARSE_OK;
	rc = make_numbers_exact(item, strict, 0);
	if (rc == ZCRM_PARSE_NO_MEMORY)
		return zcrm_json_oom_error(ctx);
	if (rc != ZCRM_PARSE_OK)
		return zcrm_json_shape_error(ctx, key,
									 "holds an integer above 2^53-1 that cannot be held exactly");
	printed = cJSON_PrintUnformatted(item);
	if (printed == NULL)
		return zcrm_json_oom_error(ctx);
	*out = zcrm_arena_strdup(&ctx->arena, printed);
	return *out != NULL ? ZCRM_PARSE_OK : zcrm_json_oom_error(ctx);
}

/*
 * zcrm_json_parse_elements
 *	  Allocate *out as an array of count elements of elemsize bytes and
 *	  fill each from the matching element of arr with fill(), under the
 *	  path key[i].  A null element leaves its struct zeroed; any other
 *	  non-object is an error.
 */
ZcrmParseStatus
zcrm_json_parse_elements(ZcrmJsonCtx *ctx, const char *key, const cJSON *arr,
						 size_t count,
						 size_t elemsize, void **out,
						 ZcrmJsonFillElement fill)
{
	char	   *elems;
	cJSON	   *child;
	size_t		i = 0;
	size_t		saved;
	ZcrmParseStatus rc = ZCRM_PARSE_OK;

	*out = NULL;
	if (count == 0)
		return ZCRM_PARSE_OK;
	if (count > SIZE_MAX / elemsize)
		return zcrm_json_oom_error(ctx);
	elems = zcrm_arena_alloc0(&ctx->arena, count * elemsize);
	if (elems == NULL)
		return zcrm_json_oom_error(ctx);

	saved = zcrm_json_path_push_key(ctx, key);
	for (child = arr->child; child != NULL && i < count; child = child->next,
		 i++)
	{
		size_t		saved_elem = path_push_index(ctx, i);

		if (zcrm_json_poll_interrupt(i + 1))
			rc = zcrm_json_set_error(ctx->err, ZCRM_PARSE_INTERRUPTED, NULL,
									 "interrupted");
		else if (cJSON_IsNull(child))
			rc = ZCRM_PARSE_OK;
		else if (!cJSON_IsObject(child))
			rc = zcrm_json_shape_error(ctx, NULL,
									   "expected an object, found %s",
									   zcrm_json_type_name(child));
		else
			rc = fill(ctx, child, elems + i * elemsize);
		zcrm_json_path_pop(ctx, saved_elem);
		if (rc != ZCRM_PARSE_OK)
			break;
	}
	zcrm_json_path_pop(ctx, saved);
	*out = elems;
	return rc;
}
