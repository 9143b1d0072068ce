/*-------------------------------------------------------------------------
 *
 * parse.c
 *	  Turn Zoho CRM Bulk Write API response bodies into C structs.
 *
 * Every body goes through three stages:
 *
 *	1. scan_body() reads the raw bytes once: strict UTF-8 (no overlongs, no
 *	   encoded surrogates, nothing above U+10FFFF, no truncated sequence),
 *	   then the strict JSON grammar of RFC 8259 with cJSON's own limits
 *	   (nesting depth, number length) applied, no trailing text, and every
 *	   \u escape decoded so that \u0000 is found before cJSON turns it into
 *	   a silently truncated C string.  It is iterative and linear in time.
 *	2. cJSON builds a tree, in an arena of its own (tree_begin).  Stage 1
 *	   accepts only text that cJSON accepts too, so a NULL from cJSON here
 *	   can only mean that malloc failed.
 *	3. The tree is walked, every value kept is checked and copied into an
 *	   arena owned by the result, and the tree's arena is freed.  The result thus
 *	   holds no cJSON storage at all.
 *
 * Stage 1 also counts the values, so that a body with more of them than
 * the caller's limit (zcrm_parse_set_limits) is refused before stages 2
 * and 3 spend memory on it; all three stages poll the caller's interrupt
 * check as they go (stage 2 through cJSON's allocation hook).
 *
 * Numbers inside JSON text that is kept verbatim (default_value, details)
 * are not left to cJSON's printer, which in 1.7.15 may drop the last digit
 * of a 16- or 17-digit number (9007199254740991 prints as
 * 9.00719925474099e+15): each number node is turned into a cJSON_Raw node
 * holding a text that reads back as the very same double.
 *
 * Copyright (c) 2026, zcrm_bulk developers
 *
 * IDENTIFICATION
 *	  src/parse.c
 *
 *-------------------------------------------------------------------------
 */
#include <float.h>
#include <inttypes.h>
#include <limits.h>
#include <math.h>
#include <stdalign.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cJSON.h>

#include "parse.h"

/* The largest integer a double holds exactly, with all its neighbours. */
#define ZCRM_MAX_SAFE_INTEGER	9007199254740991.0

/* cJSON copies at most this many characters of a number (64-byte buffer). */
#define ZCRM_MAX_NUMBER_CHARS	63

/* Room for a JSON-like path while it is being built; err->path is smaller. */
#define ZCRM_PATH_BUFSIZE		256

/* How often (in values or elements, a power of 2) interrupts are polled. */
#define ZCRM_INTERRUPT_EVERY	4096

/* Default size of one arena block. */
#define ZCRM_ARENA_BLOCK		8192

/* Alignment of arena allocations that hold structs. */
#define ZCRM_ARENA_ALIGN		alignof(max_align_t)

/*
 * One block of an arena.  Blocks form a singly linked list, newest first;
 * ZcrmJob.internal and ZcrmApiError.internal point to the newest block.
 */
typedef struct ArenaBlock
{
	struct ArenaBlock *next;
	size_t		size;			/* usable bytes in data[] */
	size_t		used;			/* bytes of data[] handed out */
	max_align_t data[];
} ArenaBlock;

/* State of one parse: the arena being filled and where errors go. */
typedef struct ParseCtx
{
	ArenaBlock *arena;
	ZcrmParseError *err;
	char		path[ZCRM_PATH_BUFSIZE];
	size_t		pathlen;
} ParseCtx;

/* Outcome of reading a JSON number as an integer. */
typedef enum NumberClass
{
	NUMBER_INTEGRAL,
	NUMBER_FRACTIONAL,
	NUMBER_OUT_OF_RANGE
} NumberClass;


/* The limits of every parse (zcrm_parse_set_limits). */
static ZcrmParseLimits limits = {0, NULL};

/*
 * zcrm_parse_set_limits
 *	  See parse.h.
 */
void
zcrm_parse_set_limits(const ZcrmParseLimits *l)
{
	if (l == NULL)
		memset(&limits, 0, sizeof(limits));
	else
		limits = *l;
}

/*
 * poll_interrupt
 *	  Every ZCRM_INTERRUPT_EVERY-th "n", ask the caller's interrupt check.
 */
static bool
poll_interrupt(size_t n)
{
	return (n & (ZCRM_INTERRUPT_EVERY - 1)) == 0 &&
		limits.interrupted != NULL && limits.interrupted();
}

/*
 * set_error
 *	  Fill *err with a status, a path and a message; return the status.
 *
 * "path" may be NULL for the whole document.  Both strings are truncated
 * to fit their buffers.
 */
static ZcrmParseStatus
set_error(ZcrmParseError *err, ZcrmParseStatus status, const char *path,
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
static void
clear_error(ZcrmParseError *err)
{
	err->status = ZCRM_PARSE_OK;
	err->path[0] = '\0';
	err->message[0] = '\0';
}

static void *arena_alloc_block(ArenaBlock **arena, size_t size, bool zeroed);

/*
 * arena_alloc
 *	  Return "size" bytes from the arena, or NULL when malloc fails or the
 *	  size is absurd.  With "aligned", the memory is suitably aligned for
 *	  any type; strings are packed without alignment.  The memory is not
 *	  zeroed.
 */
static void *
arena_alloc(ArenaBlock **arena, size_t size, bool aligned)
{
	ArenaBlock *block = *arena;

	if (block != NULL)
	{
		size_t		offset = block->used;

		if (aligned)
			offset = (offset + ZCRM_ARENA_ALIGN - 1) & ~(ZCRM_ARENA_ALIGN - 1);
		if (offset <= block->size && block->size - offset >= size)
		{
			block->used = offset + size;
			return (char *) block->data + offset;
		}
	}

	return arena_alloc_block(arena, size, false);
}

/*
 * arena_alloc_block
 *	  arena_alloc()'s slow path: a new block for "size" bytes, zeroed when
 *	  "zeroed" says so.  A request of more than a quarter of a block gets a
 *	  block of its own, from calloc when zeroed: the kernel's zeroed pages
 *	  are then faulted in as the caller fills them, not all at once here.
 */
static void *
arena_alloc_block(ArenaBlock **arena, size_t size, bool zeroed)
{
	ArenaBlock *block = *arena;
	ArenaBlock *fresh;
	size_t		blocksize;

	if (size > SIZE_MAX - sizeof(ArenaBlock) - ZCRM_ARENA_BLOCK)
		return NULL;
	blocksize = size > ZCRM_ARENA_BLOCK / 4 ? size : ZCRM_ARENA_BLOCK;
	if (zeroed)
		fresh = calloc(1, sizeof(ArenaBlock) + blocksize);
	else
		fresh = malloc(sizeof(ArenaBlock) + blocksize);
	if (fresh == NULL)
		return NULL;
	fresh->size = blocksize;
	fresh->used = size;

	/*
	 * A block made for one big request goes behind the current one, which
	 * probably still has room for the small requests that follow.
	 */
	if (blocksize == size && block != NULL)
	{
		fresh->next = block->next;
		block->next = fresh;
	}
	else
	{
		fresh->next = block;
		*arena = fresh;
	}
	return fresh->data;
}

/* Like arena_alloc(), aligned and zeroed. */
static void *
arena_alloc0(ArenaBlock **arena, size_t size)
{
	void	   *p;

	if (size > ZCRM_ARENA_BLOCK / 4)
		return arena_alloc_block(arena, size, true);
	p = arena_alloc(arena, size, true);
	if (p != NULL)
		memset(p, 0, size);
	return p;
}

/* Copy a NUL-terminated string into the arena; NULL when out of memory. */
static char *
arena_strdup(ArenaBlock **arena, const char *s)
{
	size_t		len = strlen(s);
	char	   *copy = arena_alloc(arena, len + 1, false);

	if (copy != NULL)
		memcpy(copy, s, len + 1);
	return copy;
}

/* Release every block of an arena; NULL is allowed. */
static void
arena_free(ArenaBlock *block)
{
	while (block != NULL)
	{
		ArenaBlock *next = block->next;

		free(block);
		block = next;
	}
}


/*
 * The cJSON tree of the document being parsed.  While an entry point runs,
 * cJSON allocates from this arena (tree_begin() installs the hooks) and
 * frees nothing; tree_end() releases the whole tree at once and puts back
 * malloc and free.  One block allocation per 8 kB of tree instead of one
 * malloc and one free per JSON value makes a parse markedly cheaper in a
 * long-lived backend whose heap is busy.  Nothing here can longjmp, so the
 * hooks are always restored; nobody else in the process parses JSON while
 * they are installed.
 */
static ArenaBlock *tree_arena = NULL;
static size_t tree_allocs = 0;	/* allocations since tree_begin() */
static bool tree_stopped = false;	/* an allocation failed for an interrupt */

/*
 * tree_malloc
 *	  cJSON's allocator.  cJSON itself cannot be interrupted, but it
 *	  allocates for every value it builds: every ZCRM_INTERRUPT_EVERY-th
 *	  allocation polls the caller's interrupt check, and fails when it says
 *	  stop (tree_stopped then tells the failure from a real lack of memory).
 */
static void *
tree_malloc(size_t size)
{
	if (tree_stopped || poll_interrupt(++tree_allocs))
	{
		tree_stopped = true;
		return NULL;
	}
	return arena_alloc(&tree_arena, size, true);
}

static void
tree_free(void *ptr)
{
	(void) ptr;					/* released with the arena */
}

static void
tree_begin(void)
{
	cJSON_Hooks hooks = {tree_malloc, tree_free};

	tree_arena = NULL;
	tree_allocs = 0;
	tree_stopped = false;
	cJSON_InitHooks(&hooks);
}

static void
tree_end(void)
{
	cJSON_InitHooks(NULL);
	arena_free(tree_arena);
	tree_arena = NULL;
}


/* ----------------------------------------------------------------
 * Stage 1: raw text checks
 * ----------------------------------------------------------------
 */

/* Is c one of the four whitespace characters JSON allows? */
static inline bool
is_json_space(unsigned char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

/* Return the first position at or after pos that is not JSON whitespace. */
static size_t
skip_space(const unsigned char *s, size_t len, size_t pos)
{
	while (pos < len && is_json_space(s[pos]))
		pos++;
	return pos;
}

/*
 * utf8_valid
 *	  True when s[0..len) is well-formed UTF-8 as defined by Unicode
 *	  (Table 3-7): shortest form only, no UTF-16 surrogates, at most
 *	  U+10FFFF, no sequence cut short.
 */
static bool
utf8_valid(const unsigned char *s, size_t len)
{
	size_t		i = 0;

	while (i < len)
	{
		unsigned char c = s[i];
		unsigned char lo = 0x80;
		unsigned char hi = 0xBF;
		size_t		ntrail;
		size_t		k;

		if (c < 0x80)
		{
			i++;
			continue;
		}
		if (c >= 0xC2 && c <= 0xDF)
			ntrail = 1;
		else if (c == 0xE0)
		{
			ntrail = 2;
			lo = 0xA0;
		}
		else if (c == 0xED)
		{
			ntrail = 2;
			hi = 0x9F;
		}
		else if (c >= 0xE1 && c <= 0xEF)
			ntrail = 2;
		else if (c == 0xF0)
		{
			ntrail = 3;
			lo = 0x90;
		}
		else if (c >= 0xF1 && c <= 0xF3)
			ntrail = 3;
		else if (c == 0xF4)
		{
			ntrail = 3;
			hi = 0x8F;
		}
		else
			return false;

		if (len - i - 1 < ntrail)
			return false;
		if (s[i + 1] < lo || s[i + 1] > hi)
			return false;
		for (k = 2; k <= ntrail; k++)
		{
			if (s[i + k] < 0x80 || s[i + k] > 0xBF)
				return false;
		}
		i += ntrail + 1;
	}
	return true;
}

/* Read four hex digits at s[pos]; false when they are not all there. */
static bool
read_hex4(const unsigned char *s, size_t len, size_t pos, unsigned int *out)
{
	unsigned int value = 0;
	size_t		k;

	if (pos > len || len - pos < 4)
		return false;
	for (k = 0; k < 4; k++)
	{
		unsigned char c = s[pos + k];

		value <<= 4;
		if (c >= '0' && c <= '9')
			value |= (unsigned int) (c - '0');
		else if (c >= 'a' && c <= 'f')
			value |= (unsigned int) (c - 'a' + 10);
		else if (c >= 'A' && c <= 'F')
			value |= (unsigned int) (c - 'A' + 10);
		else
			return false;
	}
	*out = value;
	return true;
}

/*
 * scan_string
 *	  Check the JSON string starting with the quote at s[*pos].  On success
 *	  advance *pos past the closing quote and return true.  Sets *found_nul
 *	  when an escape decodes to U+0000.
 *
 * Beyond RFC 8259 this rejects \u escapes that are not valid Unicode (a
 * lone or reversed surrogate), exactly as cJSON does.  Raw control
 * characters are rejected as RFC 8259 says (cJSON would take them).
 */
static bool
scan_string(const unsigned char *s, size_t len, size_t *pos, bool *found_nul)
{
	size_t		i = *pos + 1;

	while (i < len)
	{
		unsigned char c = s[i];
		unsigned int code;
		unsigned int low;

		if (c == '"')
		{
			*pos = i + 1;
			return true;
		}
		if (c < 0x20)
			return false;
		if (c != '\\')
		{
			i++;
			continue;
		}
		if (len - i < 2)
			return false;
		switch (s[i + 1])
		{
			case '"':
			case '\\':
			case '/':
			case 'b':
			case 'f':
			case 'n':
			case 'r':
			case 't':
				i += 2;
				break;
			case 'u':
				if (!read_hex4(s, len, i + 2, &code))
					return false;
				if (code >= 0xDC00 && code <= 0xDFFF)
					return false;
				if (code >= 0xD800 && code <= 0xDBFF)
				{
					if (len - i < 12 || s[i + 6] != '\\' || s[i + 7] != 'u')
						return false;
					if (!read_hex4(s, len, i + 8, &low) ||
						low < 0xDC00 || low > 0xDFFF)
						return false;
					i += 12;
				}
				else
				{
					if (code == 0)
						*found_nul = true;
					i += 6;
				}
				break;
			default:
				return false;
		}
	}
	return false;
}

/*
 * scan_number
 *	  Check the JSON number starting at s[*pos] against the RFC 8259
 *	  grammar and advance *pos past it.  Returns NULL on success, else the
 *	  error message.  Numbers longer than cJSON can read are refused.
 */
static const char *
scan_number(const unsigned char *s, size_t len, size_t *pos)
{
	size_t		start = *pos;
	size_t		i = start;

	if (i < len && s[i] == '-')
		i++;
	if (i < len && s[i] == '0')
		i++;
	else if (i < len && s[i] >= '1' && s[i] <= '9')
	{
		while (i < len && s[i] >= '0' && s[i] <= '9')
			i++;
	}
	else
		return "the body is not valid JSON";

	if (i < len && s[i] == '.')
	{
		i++;
		if (i >= len || s[i] < '0' || s[i] > '9')
			return "the body is not valid JSON";
		while (i < len && s[i] >= '0' && s[i] <= '9')
			i++;
	}
	if (i < len && (s[i] == 'e' || s[i] == 'E'))
	{
		i++;
		if (i < len && (s[i] == '+' || s[i] == '-'))
			i++;
		if (i >= len || s[i] < '0' || s[i] > '9')
			return "the body is not valid JSON";
		while (i < len && s[i] >= '0' && s[i] <= '9')
			i++;
	}
	if (i - start > ZCRM_MAX_NUMBER_CHARS)
		return "the body holds a number written with too many characters";
	*pos = i;
	return NULL;
}

/* True when s[pos..] starts with the literal "word". */
static bool
scan_literal(const unsigned char *s, size_t len, size_t *pos, const char *word)
{
	size_t		n = strlen(word);

	if (len - *pos < n || memcmp(s + *pos, word, n) != 0)
		return false;
	*pos += n;
	return true;
}

/*
 * scan_body
 *	  Stage 1: decide whether body[0..len) is a JSON text this module will
 *	  hand to cJSON.  Returns ZCRM_PARSE_OK, ZCRM_PARSE_NOT_JSON (empty,
 *	  bad UTF-8, bad grammar, too deep, trailing text) or
 *	  ZCRM_PARSE_NUL_CHAR (valid JSON, but a string holds \u0000), with
 *	  *err filled on failure; ZCRM_PARSE_TOO_MANY_VALUES as soon as the
 *	  body has more values than limits.max_values, ZCRM_PARSE_INTERRUPTED
 *	  when the caller's interrupt check says stop.
 *
 * The walk is a loop over a small state machine; the kind of each open
 * container lives in a bit array sized by cJSON's nesting limit, so no
 * recursion and no allocation is involved.
 */
static ZcrmParseStatus
scan_body(const char *body, size_t len, ZcrmParseError *err)
{
	const unsigned char *s = (const unsigned char *) body;
	unsigned char is_object[(CJSON_NESTING_LIMIT + 7) / 8] = {0};
	size_t		depth = 0;
	size_t		pos;
	size_t		nvalues = 0;
	bool		found_nul = false;
	const char *why = "the body is not valid JSON";
	enum
	{
		WANT_VALUE,
		WANT_KEY,
		AFTER_VALUE
	}			state = WANT_VALUE;

	if (body == NULL || skip_space(s, len, 0) == len)
		return set_error(err, ZCRM_PARSE_NOT_JSON, NULL, "the body is empty");
	if (!utf8_valid(s, len))
		return set_error(err, ZCRM_PARSE_NOT_JSON, NULL,
						 "the body is not valid UTF-8");

	pos = skip_space(s, len, 0);
	for (;;)
	{
		if (state == AFTER_VALUE)
		{
			bool		in_object;

			pos = skip_space(s, len, pos);
			if (depth == 0)
			{
				if (pos != len)
				{
					why = "the body has text after the JSON value";
					goto bad;
				}
				break;
			}
			if (pos >= len)
				goto bad;
			in_object = (is_object[(depth - 1) / 8] >> ((depth - 1) % 8)) & 1;
			if (s[pos] == ',')
			{
				pos = skip_space(s, len, pos + 1);
				state = in_object ? WANT_KEY : WANT_VALUE;
			}
			else if (s[pos] == (in_object ? '}' : ']'))
			{
				depth--;
				pos++;
			}
			else
				goto bad;
		}
		else if (state == WANT_KEY)
		{
			if (pos >= len || s[pos] != '"' ||
				!scan_string(s, len, &pos, &found_nul))
				goto bad;
			pos = skip_space(s, len, pos);
			if (pos >= len || s[pos] != ':')
				goto bad;
			pos = skip_space(s, len, pos + 1);
			state = WANT_VALUE;
		}
		else
		{
			unsigned char c;

			if (pos >= len)
				goto bad;
			if (++nvalues > limits.max_values && limits.max_values > 0)
				return set_error(err, ZCRM_PARSE_TOO_MANY_VALUES, NULL,
								 "the body holds more JSON values than the limit allows");
			if (poll_interrupt(nvalues))
				return set_error(err, ZCRM_PARSE_INTERRUPTED, NULL, "interrupted");
			c = s[pos];
			if (c == '{' || c == '[')
			{
				unsigned char bit = (unsigned char) (1u << (depth % 8));

				if (depth >= CJSON_NESTING_LIMIT)
				{
					why = "the body is nested too deeply";
					goto bad;
				}
				if (c == '{')
					is_object[depth / 8] |= bit;
				else
					is_object[depth / 8] &= (unsigned char) ~bit;
				depth++;
				pos = skip_space(s, len, pos + 1);
				if (pos < len && s[pos] == (c == '{' ? '}' : ']'))
				{
					depth--;
					pos++;
					state = AFTER_VALUE;
				}
				else
					state = (c == '{') ? WANT_KEY : WANT_VALUE;
			}
			else if (c == '"')
			{
				if (!scan_string(s, len, &pos, &found_nul))
					goto bad;
				state = AFTER_VALUE;
			}
			else if (c == '-' || (c >= '0' && c <= '9'))
			{
				why = scan_number(s, len, &pos);
				if (why != NULL)
					goto bad;
				why = "the body is not valid JSON";
				state = AFTER_VALUE;
			}
			else if (scan_literal(s, len, &pos, "true") ||
					 scan_literal(s, len, &pos, "false") ||
					 scan_literal(s, len, &pos, "null"))
				state = AFTER_VALUE;
			else
				goto bad;
		}
	}

	if (found_nul)
		return set_error(err, ZCRM_PARSE_NUL_CHAR, NULL,
						 "a string holds \\u0000, which text cannot store");
	return ZCRM_PARSE_OK;

bad:
	return set_error(err, ZCRM_PARSE_NOT_JSON, NULL, why);
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
	rc = scan_body(body, len, err);
	if (rc != ZCRM_PARSE_OK)
		return rc;

	/*
	 * cJSON accepts every text scan_body() accepts, so a failure here is a
	 * failed allocation.  The end check below cannot fail either; it is
	 * kept so that a future cJSON that disagrees fails safe.
	 */
	tree = cJSON_ParseWithLengthOpts(body, len, &end, false);
	if (tree == NULL && tree_stopped)
		return set_error(err, ZCRM_PARSE_INTERRUPTED, NULL, "interrupted");
	if (tree == NULL)
		return set_error(err, ZCRM_PARSE_NO_MEMORY, NULL, "out of memory");
	if (end == NULL || end < body || end > body + len ||
		skip_space((const unsigned char *) body, len,
				   (size_t) (end - body)) != len)
		return set_error(err, ZCRM_PARSE_NOT_JSON, NULL,
						 "the body has text after the JSON value");
	*root = tree;
	return ZCRM_PARSE_OK;
}

static ZcrmParseStatus top_level_error(ZcrmParseError *err, const cJSON *root);

/*
 * load_object
 *	  load_document() for a body whose top level must be a JSON object: any
 *	  other top level is ZCRM_PARSE_BAD_SHAPE (and *root NULL).
 */
static ZcrmParseStatus
load_object(const char *body, size_t len, cJSON **root, ZcrmParseError *err)
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
 * Stage 3 helpers: values and paths
 * ----------------------------------------------------------------
 */

/* The phrase naming the JSON type of item, for error messages. */
static const char *
type_name(const cJSON *item)
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

/* Append "text" to the current path, truncating safely. */
static void
path_append(ParseCtx *ctx, const char *text)
{
	size_t		room = sizeof(ctx->path) - 1 - ctx->pathlen;
	size_t		n = strlen(text);

	if (n > room)
		n = room;
	memcpy(ctx->path + ctx->pathlen, text, n);
	ctx->pathlen += n;
	ctx->path[ctx->pathlen] = '\0';
}

/* Descend into key; returns the length to give back to path_pop(). */
static size_t
path_push_key(ParseCtx *ctx, const char *key)
{
	size_t		saved = ctx->pathlen;

	if (ctx->pathlen > 0)
		path_append(ctx, ".");
	path_append(ctx, key);
	return saved;
}

/* Descend into array element index; returns what path_pop() needs. */
static size_t
path_push_index(ParseCtx *ctx, size_t index)
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
static void
path_pop(ParseCtx *ctx, size_t saved)
{
	ctx->pathlen = saved;
	ctx->path[saved] = '\0';
}

/*
 * shape_error
 *	  Report ZCRM_PARSE_BAD_SHAPE at the current path, extended by key
 *	  unless key is NULL, with a printf-style message.
 */
static ZcrmParseStatus
shape_error(ParseCtx *ctx, const char *key, const char *fmt, ...)
__attribute__((format(printf, 3, 4)));

static ZcrmParseStatus
shape_error(ParseCtx *ctx, const char *key, const char *fmt, ...)
{
	ZcrmParseError *err = ctx->err;
	va_list		ap;
	size_t		saved = ctx->pathlen;

	if (key != NULL)
		path_push_key(ctx, key);
	set_error(err, ZCRM_PARSE_BAD_SHAPE, ctx->path, "");
	path_pop(ctx, saved);

	va_start(ap, fmt);
	if (vsnprintf(err->message, sizeof(err->message), fmt, ap) < 0)
		err->message[0] = '\0';
	va_end(ap);
	return ZCRM_PARSE_BAD_SHAPE;
}

/* Report a failed allocation. */
static ZcrmParseStatus
oom_error(ParseCtx *ctx)
{
	if (tree_stopped)
		return set_error(ctx->err, ZCRM_PARSE_INTERRUPTED, NULL, "interrupted");
	return set_error(ctx->err, ZCRM_PARSE_NO_MEMORY, NULL, "out of memory");
}

/* The member "key" of obj, or NULL when obj is NULL, or key is missing or null. */
static cJSON *
get_member(const cJSON *obj, const char *key)
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
static ZcrmParseStatus
get_string(ParseCtx *ctx, const cJSON *obj, const char *key, const char **out)
{
	cJSON	   *item = get_member(obj, key);

	*out = NULL;
	if (item == NULL)
		return ZCRM_PARSE_OK;
	if (!cJSON_IsString(item) || item->valuestring == NULL)
		return shape_error(ctx, key, "expected a string, found %s",
						   type_name(item));
	*out = arena_strdup(&ctx->arena, item->valuestring);
	return *out != NULL ? ZCRM_PARSE_OK : oom_error(ctx);
}

/* Like get_string(), with "IN PROGRESS" normalised to "INPROGRESS". */
static ZcrmParseStatus
get_status(ParseCtx *ctx, const cJSON *obj, const char *key, const char **out)
{
	cJSON	   *item = get_member(obj, key);

	if (item != NULL && cJSON_IsString(item) && item->valuestring != NULL &&
		strcmp(item->valuestring, "IN PROGRESS") == 0)
	{
		*out = "INPROGRESS";
		return ZCRM_PARSE_OK;
	}
	return get_string(ctx, obj, key, out);
}

/* Read boolean member "key" into *has and *out. */
static ZcrmParseStatus
get_bool(ParseCtx *ctx, const cJSON *obj, const char *key,
		 bool *has, bool *out)
{
	cJSON	   *item = get_member(obj, key);

	*has = false;
	*out = false;
	if (item == NULL)
		return ZCRM_PARSE_OK;
	if (!cJSON_IsBool(item))
		return shape_error(ctx, key, "expected a boolean, found %s",
						   type_name(item));
	*has = true;
	*out = cJSON_IsTrue(item);
	return ZCRM_PARSE_OK;
}

/*
 * get_integer
 *	  Read integer member "key", which must lie within [lo, hi], into *has
 *	  and *out.
 */
static ZcrmParseStatus
get_integer(ParseCtx *ctx, const cJSON *obj, const char *key,
			double lo, double hi, bool *has, int64_t *out)
{
	cJSON	   *item = get_member(obj, key);

	*has = false;
	*out = 0;
	if (item == NULL)
		return ZCRM_PARSE_OK;
	if (!cJSON_IsNumber(item))
		return shape_error(ctx, key, "expected an integer, found %s",
						   type_name(item));
	switch (classify_number(item->valuedouble, lo, hi, out))
	{
		case NUMBER_INTEGRAL:
			*has = true;
			return ZCRM_PARSE_OK;
		case NUMBER_FRACTIONAL:
			*out = 0;
			return shape_error(ctx, key,
							   "expected an integer, found a fractional number");
		case NUMBER_OUT_OF_RANGE:
			break;
	}
	return shape_error(ctx, key, "expected an integer, found a number out of range");
}

/* get_integer() for an int32_t field. */
static ZcrmParseStatus
get_int32(ParseCtx *ctx, const cJSON *obj, const char *key,
		  bool *has, int32_t *out)
{
	int64_t		value;
	ZcrmParseStatus rc;

	rc = get_integer(ctx, obj, key, (double) INT32_MIN, (double) INT32_MAX,
					 has, &value);
	*out = *has ? (int32_t) value : 0;
	return rc;
}

/* get_integer() for a count: an int64_t that a double holds exactly. */
static ZcrmParseStatus
get_count(ParseCtx *ctx, const cJSON *obj, const char *key,
		  bool *has, int64_t *out)
{
	return get_integer(ctx, obj, key, -ZCRM_MAX_SAFE_INTEGER,
					   ZCRM_MAX_SAFE_INTEGER, has, out);
}

/*
 * get_id
 *	  Read id member "key": a string is copied; a number is accepted when
 *	  it is an integer no larger in magnitude than 2^53 - 1, and is then
 *	  rendered as decimal text.
 */
static ZcrmParseStatus
get_id(ParseCtx *ctx, const cJSON *obj, const char *key, const char **out)
{
	cJSON	   *item = get_member(obj, key);
	int64_t		value;
	char		buf[32];

	*out = NULL;
	if (item == NULL)
		return ZCRM_PARSE_OK;
	if (cJSON_IsString(item))
		return get_string(ctx, obj, key, out);
	if (!cJSON_IsNumber(item))
		return shape_error(ctx, key, "expected a string or an integer, found %s",
						   type_name(item));
	switch (classify_number(item->valuedouble, -ZCRM_MAX_SAFE_INTEGER,
							ZCRM_MAX_SAFE_INTEGER, &value))
	{
		case NUMBER_INTEGRAL:
			snprintf(buf, sizeof(buf), "%" PRId64, value);
			*out = arena_strdup(&ctx->arena, buf);
			return *out != NULL ? ZCRM_PARSE_OK : oom_error(ctx);
		case NUMBER_FRACTIONAL:
			return shape_error(ctx, key,
							   "expected an integer id, found a fractional number");
		case NUMBER_OUT_OF_RANGE:
			break;
	}
	return shape_error(ctx, key,
					   "a numeric id above 2^53-1 cannot be held exactly; it must be sent as a string");
}

/*
 * get_object
 *	  Set *out to object member "key", or NULL when it is missing or null.
 *	  Any other type is an error.
 */
static ZcrmParseStatus
get_object(ParseCtx *ctx, const cJSON *obj, const char *key, cJSON **out)
{
	cJSON	   *item = get_member(obj, key);

	*out = NULL;
	if (item == NULL)
		return ZCRM_PARSE_OK;
	if (!cJSON_IsObject(item))
		return shape_error(ctx, key, "expected an object, found %s",
						   type_name(item));
	*out = item;
	return ZCRM_PARSE_OK;
}

/*
 * get_array
 *	  Set *out to array member "key" and *count to its length, or NULL and
 *	  0 when it is missing or null.  Any other type is an error, and so is
 *	  a length that does not fit an int.
 */
static ZcrmParseStatus
get_array(ParseCtx *ctx, const cJSON *obj, const char *key,
		  cJSON **out, size_t *count)
{
	cJSON	   *item = get_member(obj, key);
	cJSON	   *child;
	size_t		n = 0;

	*out = NULL;
	*count = 0;
	if (item == NULL)
		return ZCRM_PARSE_OK;
	if (!cJSON_IsArray(item))
		return shape_error(ctx, key, "expected an array, found %s",
						   type_name(item));
	for (child = item->child; child != NULL; child = child->next)
		n++;
	if (n > INT_MAX)
		return shape_error(ctx, key, "the array has too many elements");
	*out = item;
	*count = n;
	return ZCRM_PARSE_OK;
}

/* Is y a leap year of the proleptic Gregorian calendar? */
static bool
is_leap_year(int y)
{
	return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

/* Read n decimal digits at s into *out; false unless all are digits. */
static bool
read_digits(const char *s, int n, int *out)
{
	int			value = 0;
	int			k;

	for (k = 0; k < n; k++)
	{
		if (s[k] < '0' || s[k] > '9')
			return false;
		value = value * 10 + (s[k] - '0');
	}
	*out = value;
	return true;
}

/*
 * valid_timestamp
 *	  True when s is YYYY-MM-DDTHH:MM:SS, then optionally '.' and one or
 *	  more digits, then 'Z' or +HH:MM or -HH:MM, and every field is in
 *	  range (the day for its month and year; the year 0001 or later, as
 *	  PostgreSQL has no year 0; offsets up to 15:59).
 */
static bool
valid_timestamp(const char *s)
{
	static const int mdays[12] = {31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
	int			year,
				month,
				day,
				hour,
				minute,
				second,
				oh,
				om;
	size_t		len = strlen(s);
	size_t		i;

	if (len < 20)
		return false;
	if (!read_digits(s, 4, &year) || s[4] != '-' ||
		!read_digits(s + 5, 2, &month) || s[7] != '-' ||
		!read_digits(s + 8, 2, &day) || s[10] != 'T' ||
		!read_digits(s + 11, 2, &hour) || s[13] != ':' ||
		!read_digits(s + 14, 2, &minute) || s[16] != ':' ||
		!read_digits(s + 17, 2, &second))
		return false;
	if (year < 1 || month < 1 || month > 12 || day < 1 ||
		day > mdays[month - 1] ||
		(month == 2 && day == 29 && !is_leap_year(year)) ||
		hour > 23 || minute > 59 || second > 59)
		return false;

	i = 19;
	if (s[i] == '.')
	{
		i++;
		if (s[i] < '0' || s[i] > '9')
			return false;
		while (s[i] >= '0' && s[i] <= '9')
			i++;
	}
	if (s[i] == 'Z')
		return s[i + 1] == '\0';
	if (s[i] != '+' && s[i] != '-')
		return false;
	if (len - i != 6 || !read_digits(s + i + 1, 2, &oh) || s[i + 3] != ':' ||
		!read_digits(s + i + 4, 2, &om))
		return false;
	return oh <= 15 && om <= 59;
}

/* Read member "key" as a validated ISO 8601 timestamp string. */
static ZcrmParseStatus
get_timestamp(ParseCtx *ctx, const cJSON *obj, const char *key,
			  const char **out)
{
	cJSON	   *item = get_member(obj, key);

	*out = NULL;
	if (item == NULL)
		return ZCRM_PARSE_OK;
	if (!cJSON_IsString(item) || item->valuestring == NULL)
		return shape_error(ctx, key, "expected a timestamp string, found %s",
						   type_name(item));
	if (!valid_timestamp(item->valuestring))
		return shape_error(ctx, key,
						   "expected an ISO 8601 timestamp with a time zone offset, found a string in another format");
	return get_string(ctx, obj, key, out);
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
		snprintf(buf, bufsize, "%s%" PRId64, (v == 0 && signbit(d)) ? "-" : "", v);
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
 * The recursion follows the JSON nesting, which scan_body() bounds to
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
		char		text[40];
		char	   *raw;

		if (!(d >= -ZCRM_MAX_SAFE_INTEGER && d <= ZCRM_MAX_SAFE_INTEGER))
		{
			/* beyond 2^53 every double is an integer, held inexactly */
			if (strict)
				return ZCRM_PARSE_BAD_SHAPE;
			if (!(d >= -DBL_MAX && d <= DBL_MAX))
				return ZCRM_PARSE_OK;
		}
		if (!exact_number_text(d, text, sizeof(text)))
			return ZCRM_PARSE_OK;
		raw = cJSON_malloc(strlen(text) + 1);
		if (raw == NULL)
			return ZCRM_PARSE_NO_MEMORY;
		memcpy(raw, text, strlen(text) + 1);
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
 * get_json_text
 *	  Store in *out the compact JSON text of member "key", or NULL when it
 *	  is missing or null.  "strict" is passed to make_numbers_exact().
 *	  The member's subtree is modified (numbers become raw text).
 */
static ZcrmParseStatus
get_json_text(ParseCtx *ctx, const cJSON *obj, const char *key, bool strict,
			  const char **out)
{
	cJSON	   *item = get_member(obj, key);
	char	   *printed;
	ZcrmParseStatus rc;

	*out = NULL;
	if (item == NULL)
		return ZCRM_PARSE_OK;
	rc = make_numbers_exact(item, strict, 0);
	if (rc == ZCRM_PARSE_NO_MEMORY)
		return oom_error(ctx);
	if (rc != ZCRM_PARSE_OK)
		return shape_error(ctx, key,
						   "holds an integer above 2^53-1 that cannot be held exactly");
	printed = cJSON_PrintUnformatted(item);
	if (printed == NULL)
		return oom_error(ctx);
	*out = arena_strdup(&ctx->arena, printed);
	return *out != NULL ? ZCRM_PARSE_OK : oom_error(ctx);
}

/*
 * is_api_error_object
 *	  True when root is a Zoho error object: "status" is the string
 *	  "error" and "code" is a string.
 */
static bool
is_api_error_object(const cJSON *root)
{
	cJSON	   *status = get_member(root, "status");
	cJSON	   *code = get_member(root, "code");

	return cJSON_IsObject(root) &&
		status != NULL && cJSON_IsString(status) &&
		status->valuestring != NULL &&
		strcmp(status->valuestring, "error") == 0 &&
		code != NULL && cJSON_IsString(code);
}

/* Report that the top level of the document is not an object. */
static ZcrmParseStatus
top_level_error(ZcrmParseError *err, const cJSON *root)
{
	char		message[64];

	snprintf(message, sizeof(message), "expected an object, found %s",
			 type_name(root));
	return set_error(err, ZCRM_PARSE_BAD_SHAPE, NULL, message);
}


/* ----------------------------------------------------------------
 * Stage 3: the job document
 * ----------------------------------------------------------------
 */

/* Fill *m from one field_mappings element (NULL for a null element). */
static ZcrmParseStatus
parse_mapping(ParseCtx *ctx, const cJSON *obj, ZcrmFieldMapping *m)
{
	ZcrmParseStatus rc;

	if (obj == NULL)
		return ZCRM_PARSE_OK;
	if ((rc = get_string(ctx, obj, "api_name", &m->api_name)) != ZCRM_PARSE_OK ||
		(rc = get_int32(ctx, obj, "index", &m->has_index,
						&m->index)) != ZCRM_PARSE_OK ||
		(rc = get_string(ctx, obj, "format", &m->format)) != ZCRM_PARSE_OK ||
		(rc = get_string(ctx, obj, "find_by", &m->find_by)) != ZCRM_PARSE_OK ||
		(rc = get_string(ctx, obj, "module", &m->module)) != ZCRM_PARSE_OK ||
		(rc = get_json_text(ctx, obj, "default_value", true,
							&m->default_value)) != ZCRM_PARSE_OK ||
		(rc = get_int32(ctx, obj, "parent_column_index",
						&m->has_parent_column_index,
						&m->parent_column_index)) != ZCRM_PARSE_OK)
		return rc;
	return ZCRM_PARSE_OK;
}

/*
 * parse_resource_module
 *	  Fill r->module and r->module_id from "module", which is a string
 *	  (API v2) or an object with api_name and id (v2.1 and later).
 */
static ZcrmParseStatus
parse_resource_module(ParseCtx *ctx, const cJSON *obj, ZcrmResource *r)
{
	cJSON	   *item = get_member(obj, "module");
	ZcrmParseStatus rc;
	size_t		saved;

	if (item == NULL)
		return ZCRM_PARSE_OK;
	if (cJSON_IsString(item))
		return get_string(ctx, obj, "module", &r->module);
	if (!cJSON_IsObject(item))
		return shape_error(ctx, "module",
						   "expected a string or an object, found %s",
						   type_name(item));
	saved = path_push_key(ctx, "module");
	if ((rc = get_string(ctx, item, "api_name", &r->module)) == ZCRM_PARSE_OK)
		rc = get_id(ctx, item, "id", &r->module_id);
	path_pop(ctx, saved);
	return rc;
}

/* Fill the file_* fields and counts of r from the "file" object. */
static ZcrmParseStatus
parse_resource_file(ParseCtx *ctx, const cJSON *obj, ZcrmResource *r)
{
	cJSON	   *file;
	ZcrmParseStatus rc;
	size_t		saved;

	if ((rc = get_object(ctx, obj, "file", &file)) != ZCRM_PARSE_OK ||
		file == NULL)
		return rc;
	saved = path_push_key(ctx, "file");
	if ((rc = get_string(ctx, file, "name", &r->file_name)) != ZCRM_PARSE_OK ||
		(rc = get_status(ctx, file, "status", &r->file_status)) != ZCRM_PARSE_OK ||
		(rc = get_count(ctx, file, "added_count", &r->has_added_count,
						&r->added_count)) != ZCRM_PARSE_OK ||
		(rc = get_count(ctx, file, "updated_count", &r->has_updated_count,
						&r->updated_count)) != ZCRM_PARSE_OK ||
		(rc = get_count(ctx, file, "skipped_count", &r->has_skipped_count,
						&r->skipped_count)) != ZCRM_PARSE_OK ||
		(rc = get_count(ctx, file, "total_count", &r->has_total_count,
						&r->total_count)) != ZCRM_PARSE_OK)
	{
		path_pop(ctx, saved);
		return rc;
	}
	path_pop(ctx, saved);
	return ZCRM_PARSE_OK;
}

/*
 * parse_elements
 *	  Allocate *out as an array of count elements of elemsize bytes and
 *	  fill each from the matching element of arr with fill(), under the
 *	  path key[i].  A null element leaves its struct zeroed; any other
 *	  non-object is an error.
 */
static ZcrmParseStatus
parse_elements(ParseCtx *ctx, const char *key, const cJSON *arr, size_t count,
			   size_t elemsize, void **out,
			   ZcrmParseStatus (*fill) (ParseCtx *, const cJSON *, void *))
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
		return oom_error(ctx);
	elems = arena_alloc0(&ctx->arena, count * elemsize);
	if (elems == NULL)
		return oom_error(ctx);

	saved = path_push_key(ctx, key);
	for (child = arr->child; child != NULL && i < count; child = child->next, i++)
	{
		size_t		saved_elem = path_push_index(ctx, i);

		if (poll_interrupt(i + 1))
			rc = set_error(ctx->err, ZCRM_PARSE_INTERRUPTED, NULL, "interrupted");
		else if (cJSON_IsNull(child))
			rc = ZCRM_PARSE_OK;
		else if (!cJSON_IsObject(child))
			rc = shape_error(ctx, NULL, "expected an object, found %s",
							 type_name(child));
		else
			rc = fill(ctx, child, elems + i * elemsize);
		path_pop(ctx, saved_elem);
		if (rc != ZCRM_PARSE_OK)
			break;
	}
	path_pop(ctx, saved);
	*out = elems;
	return rc;
}

/* parse_elements() callback for one field mapping. */
static ZcrmParseStatus
fill_mapping(ParseCtx *ctx, const cJSON *obj, void *elem)
{
	return parse_mapping(ctx, obj, (ZcrmFieldMapping *) elem);
}

/* parse_elements() callback for one resource. */
static ZcrmParseStatus
fill_resource(ParseCtx *ctx, const cJSON *obj, void *elem)
{
	ZcrmResource *r = (ZcrmResource *) elem;
	cJSON	   *arr;
	size_t		count;
	void	   *mappings;
	ZcrmParseStatus rc;

	if ((rc = get_string(ctx, obj, "type", &r->type)) != ZCRM_PARSE_OK ||
		(rc = parse_resource_module(ctx, obj, r)) != ZCRM_PARSE_OK ||
		(rc = get_status(ctx, obj, "status", &r->status)) != ZCRM_PARSE_OK ||
		(rc = get_string(ctx, obj, "code", &r->code)) != ZCRM_PARSE_OK ||
		(rc = parse_resource_file(ctx, obj, r)) != ZCRM_PARSE_OK ||
		(rc = get_array(ctx, obj, "field_mappings", &arr,
						&count)) != ZCRM_PARSE_OK)
		return rc;
	rc = parse_elements(ctx, "field_mappings", arr, count,
						sizeof(ZcrmFieldMapping), &mappings, fill_mapping);
	r->mappings = mappings;
	r->nmappings = (int) count;
	return rc;
}

/* Fill *job from the top-level object root. */
static ZcrmParseStatus
fill_job(ParseCtx *ctx, const cJSON *root, ZcrmJob *job)
{
	cJSON	   *created_by;
	cJSON	   *callback;
	cJSON	   *result;
	cJSON	   *arr;
	size_t		count;
	size_t		saved;
	void	   *resources;
	ZcrmParseStatus rc;

	if ((rc = get_id(ctx, root, "id", &job->id)) != ZCRM_PARSE_OK ||
		(rc = get_status(ctx, root, "status", &job->status)) != ZCRM_PARSE_OK ||
		(rc = get_string(ctx, root, "operation", &job->operation)) != ZCRM_PARSE_OK ||
		(rc = get_bool(ctx, root, "ignore_empty", &job->has_ignore_empty,
					   &job->ignore_empty)) != ZCRM_PARSE_OK ||
		(rc = get_string(ctx, root, "character_encoding",
						 &job->character_encoding)) != ZCRM_PARSE_OK ||
		(rc = get_timestamp(ctx, root, "created_time",
							&job->created_time)) != ZCRM_PARSE_OK ||
		(rc = get_object(ctx, root, "created_by", &created_by)) != ZCRM_PARSE_OK ||
		(rc = get_object(ctx, root, "callback", &callback)) != ZCRM_PARSE_OK ||
		(rc = get_object(ctx, root, "result", &result)) != ZCRM_PARSE_OK)
		return rc;

	saved = path_push_key(ctx, "created_by");
	if ((rc = get_id(ctx, created_by, "id", &job->created_by_id)) == ZCRM_PARSE_OK)
		rc = get_string(ctx, created_by, "name", &job->created_by_name);
	path_pop(ctx, saved);
	if (rc != ZCRM_PARSE_OK)
		return rc;

	saved = path_push_key(ctx, "callback");
	if ((rc = get_string(ctx, callback, "url", &job->callback_url)) == ZCRM_PARSE_OK)
		rc = get_string(ctx, callback, "method", &job->callback_method);
	path_pop(ctx, saved);
	if (rc != ZCRM_PARSE_OK)
		return rc;

	saved = path_push_key(ctx, "result");
	rc = get_string(ctx, result, "download_url", &job->download_url);
	path_pop(ctx, saved);
	if (rc != ZCRM_PARSE_OK)
		return rc;

	if ((rc = get_array(ctx, root, "resource", &arr, &count)) != ZCRM_PARSE_OK)
		return rc;
	rc = parse_elements(ctx, "resource", arr, count, sizeof(ZcrmResource),
						&resources, fill_resource);
	job->resources = resources;
	job->nresources = (int) count;
	return rc;
}

/* ----------------------------------------------------------------
 * The driver and the entry points
 * ----------------------------------------------------------------
 */

/*
 * DocumentKind
 *	  What parse_document() needs to know about one kind of document.
 *
 * "build" allocates the result struct from ctx->arena, points *result at
 * it as soon as it exists, and fills it from the top-level object; on
 * failure it returns the status with ctx->err filled, and the driver frees
 * whatever was allocated.  A kind without "build" only checks the body.
 */
typedef struct DocumentKind
{
	bool		refuse_api_error;	/* a Zoho error object is API_ERROR */
	ZcrmParseStatus (*build) (ParseCtx *ctx, const cJSON *root,
							  void **result);
	size_t		internal_offset;	/* offsetof(result type, internal) */
} DocumentKind;

/*
 * parse_document
 *	  The one driver behind every entry point of parse.h.
 *
 * Loads body[0..len) with cJSON allocating from the tree arena
 * (tree_begin), requires a top-level object, refuses a Zoho error object
 * when the kind says so, and runs kind->build.  On ZCRM_PARSE_OK with
 * "out" not NULL, *out is the result, which owns its arena through its
 * "internal" field; in every other case nothing is kept and *out (when
 * "out" is not NULL) is NULL.  "err" may be NULL; otherwise it is cleared
 * first and filled on failure.  The tree is released before returning,
 * whatever the outcome.
 */
static ZcrmParseStatus
parse_document(const char *body, size_t len, const DocumentKind *kind,
			   void **out, ZcrmParseError *err)
{
	ZcrmParseError localerr;
	ParseCtx	ctx;
	cJSON	   *root;
	void	   *result = NULL;
	ZcrmParseStatus rc;

	if (err == NULL)
		err = &localerr;
	clear_error(err);
	if (out != NULL)
		*out = NULL;

	tree_begin();
	rc = load_object(body, len, &root, err);
	if (rc == ZCRM_PARSE_OK && kind->refuse_api_error &&
		is_api_error_object(root))
		rc = set_error(err, ZCRM_PARSE_API_ERROR, NULL,
					   "the body is a Zoho error object");
	if (rc == ZCRM_PARSE_OK && kind->build != NULL)
	{
		memset(&ctx, 0, sizeof(ctx));
		ctx.err = err;
		rc = kind->build(&ctx, root, &result);
		if (rc == ZCRM_PARSE_OK && out != NULL)
		{
			*(void **) ((char *) result + kind->internal_offset) = ctx.arena;
			*out = result;
		}
		else
			arena_free(ctx.arena);
	}
	tree_end();
	return rc;
}

/* DocumentKind.build for a job-details body. */
static ZcrmParseStatus
build_job(ParseCtx *ctx, const cJSON *root, void **result)
{
	ZcrmJob    *job = arena_alloc0(&ctx->arena, sizeof(ZcrmJob));

	if (job == NULL)
		return oom_error(ctx);
	*result = job;
	return fill_job(ctx, root, job);
}

/*
 * build_api_error
 *	  DocumentKind.build for a Zoho error body.  "code" must be a string
 *	  (it is checked before anything is allocated); a "message" that is not
 *	  a string is ignored; a null "details" counts as missing.
 */
static ZcrmParseStatus
build_api_error(ParseCtx *ctx, const cJSON *root, void **result)
{
	cJSON	   *code = cJSON_GetObjectItemCaseSensitive(root, "code");
	cJSON	   *message = get_member(root, "message");
	ZcrmApiError *apierr;
	ZcrmParseStatus rc;

	if (code == NULL || !cJSON_IsString(code))
		return shape_error(ctx, "code", "expected a string, found %s",
						   type_name(code));
	if ((apierr = arena_alloc0(&ctx->arena, sizeof(ZcrmApiError))) == NULL)
		return oom_error(ctx);
	*result = apierr;
	if ((rc = get_string(ctx, root, "code", &apierr->code)) != ZCRM_PARSE_OK)
		return rc;
	if (message != NULL && cJSON_IsString(message) &&
		(rc = get_string(ctx, root, "message",
						 &apierr->message)) != ZCRM_PARSE_OK)
		return rc;
	return get_json_text(ctx, root, "details", false, &apierr->details);
}

/*
 * build_token_reply
 *	  DocumentKind.build for a token reply.  A string "error" makes a
 *	  complete reply on its own; otherwise "access_token" must be a string.
 *	  expires_in_sec, when present, wins over expires_in (which Zoho then
 *	  sends in milliseconds); both must be positive integers of at most ten
 *	  years.
 */
static ZcrmParseStatus
build_token_reply(ParseCtx *ctx, const cJSON *root, void **result)
{
	const double max_seconds = 10.0 * 366 * 24 * 3600;
	ZcrmTokenReply *reply;
	ZcrmParseStatus rc;
	bool		has_sec = false;
	int64_t		sec = 0;

	if ((reply = arena_alloc0(&ctx->arena, sizeof(ZcrmTokenReply))) == NULL)
		return oom_error(ctx);
	*result = reply;
	if ((rc = get_string(ctx, root, "error", &reply->error)) != ZCRM_PARSE_OK ||
		(rc = get_string(ctx, root, "error_description",
						 &reply->error_description)) != ZCRM_PARSE_OK ||
		reply->error != NULL)
		return rc;

	if ((rc = get_string(ctx, root, "access_token",
						 &reply->access_token)) != ZCRM_PARSE_OK)
		return rc;
	if (reply->access_token == NULL)
		return shape_error(ctx, "access_token", "expected a string, found %s",
						   type_name(get_member(root, "access_token")));
	if ((rc = get_string(ctx, root, "api_domain",
						 &reply->api_domain)) != ZCRM_PARSE_OK ||
		(rc = get_integer(ctx, root, "expires_in_sec", 1, max_seconds,
						  &has_sec, &sec)) != ZCRM_PARSE_OK)
		return rc;
	if (has_sec)
	{
		reply->has_expires_in = true;
		reply->expires_in = sec;
		return ZCRM_PARSE_OK;
	}
	return get_integer(ctx, root, "expires_in", 1, max_seconds,
					   &reply->has_expires_in, &reply->expires_in);
}

static const DocumentKind job_document = {
	true, build_job, offsetof(ZcrmJob, internal)
};
static const DocumentKind api_error_document = {
	false, build_api_error, offsetof(ZcrmApiError, internal)
};
static const DocumentKind token_reply_document = {
	false, build_token_reply, offsetof(ZcrmTokenReply, internal)
};
static const DocumentKind checked_document = {true, NULL, 0};

/*
 * zcrm_parse_job / zcrm_parse_api_error / zcrm_parse_token_reply /
 * zcrm_check_document
 *	  The entry points of parse.h: parse_document() with their kind.
 */
ZcrmParseStatus
zcrm_parse_job(const char *body, size_t len, ZcrmJob **job, ZcrmParseError *err)
{
	void	   *result;
	ZcrmParseStatus rc;

	rc = parse_document(body, len, &job_document, job ? &result : NULL, err);
	if (job != NULL)
		*job = result;
	return rc;
}

ZcrmParseStatus
zcrm_parse_api_error(const char *body, size_t len, ZcrmApiError **out,
					 ZcrmParseError *err)
{
	void	   *result;
	ZcrmParseStatus rc;

	rc = parse_document(body, len, &api_error_document, out ? &result : NULL,
						err);
	if (out != NULL)
		*out = result;
	return rc;
}

ZcrmParseStatus
zcrm_parse_token_reply(const char *body, size_t len, ZcrmTokenReply **out,
					   ZcrmParseError *err)
{
	void	   *result;
	ZcrmParseStatus rc;

	rc = parse_document(body, len, &token_reply_document,
						out ? &result : NULL, err);
	if (out != NULL)
		*out = result;
	return rc;
}

ZcrmParseStatus
zcrm_check_document(const char *body, size_t len, ZcrmParseError *err)
{
	return parse_document(body, len, &checked_document, NULL, err);
}

/*
 * zcrm_job_free
 *	  Release a job and everything it owns; NULL is allowed.
 */
void
zcrm_job_free(ZcrmJob *job)
{
	if (job != NULL)
		arena_free((ArenaBlock *) job->internal);
}

/*
 * zcrm_api_error_free
 *	  Release an API error and everything it owns; NULL is allowed.
 */
void
zcrm_api_error_free(ZcrmApiError *apierr)
{
	if (apierr != NULL)
		arena_free((ArenaBlock *) apierr->internal);
}

/*
 * zcrm_token_reply_free
 *	  Release a token reply and everything it owns; NULL is allowed.
 */
void
zcrm_token_reply_free(ZcrmTokenReply *reply)
{
	if (reply != NULL)
		arena_free((ArenaBlock *) reply->internal);
}
