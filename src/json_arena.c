/*-------------------------------------------------------------------------
 *
 * json_arena.c
 *	  The per-parse arena, and the cJSON allocation hooks built on it.
 *
 * An arena hands out memory from a list of malloc'ed blocks and frees
 * them all at once.  Two kinds of arena live through a parse: the tree
 * arena, from which cJSON builds the document's tree (see
 * zcrm_json_tree_begin), released as soon as the document is read; and the
 * result's arena (ZcrmJsonCtx.arena), which holds the result struct and
 * every string it points to, and which the result owns until
 * zcrm_job_free() and the like.
 *
 * Copyright (c) 2026, zcrm_bulk developers
 *
 * IDENTIFICATION
 *	  src/json_arena.c
 *
 *-------------------------------------------------------------------------
 */
#include <stdalign.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cJSON.h>

#include "json.h"

/* Default size of one arena block. */
#define ZCRM_ARENA_BLOCK		8192

/* Alignment of arena allocations that hold structs. */
#define ZCRM_ARENA_ALIGN		alignof(max_align_t)

/*
 * One block of an arena.  Blocks form a singly linked list, newest first;
 * an arena is the pointer to its newest block.
 */
struct ZcrmArenaBlock
{
	struct ZcrmArenaBlock *next;
	size_t		size;			/* usable bytes in data[] */
	size_t		used;			/* bytes of data[] handed out */
	max_align_t data[];
};

static void *arena_alloc_block(ZcrmArenaBlock **arena, size_t size,
							   bool zeroed);

/*
 * arena_alloc
 *	  Return "size" bytes from the arena, or NULL when malloc fails or the
 *	  size is absurd.  With "aligned", the memory is suitably aligned for
 *	  any type; strings are packed without alignment.  The memory is not
 *	  zeroed.
 */
static void *
arena_alloc(ZcrmArenaBlock **arena, size_t size, bool aligned)
{
	ZcrmArenaBlock *block = *arena;

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
arena_alloc_block(ZcrmArenaBlock **arena, size_t size, bool zeroed)
{
	ZcrmArenaBlock *block = *arena;
	ZcrmArenaBlock *fresh;
	size_t		blocksize;

	if (size > SIZE_MAX - sizeof(ZcrmArenaBlock) - ZCRM_ARENA_BLOCK)
		return NULL;
	blocksize = size > ZCRM_ARENA_BLOCK / 4 ? size : ZCRM_ARENA_BLOCK;
	if (zeroed)
		fresh = calloc(1, sizeof(ZcrmArenaBlock) + blocksize);
	else
		fresh = malloc(sizeof(ZcrmArenaBlock) + blocksize);
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

/*
 * zcrm_arena_alloc0
 *	  "size" bytes from the arena, aligned for any type and zeroed; NULL
 *	  when malloc fails or the size is absurd.
 */
void *
zcrm_arena_alloc0(ZcrmArenaBlock **arena, size_t size)
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
char *
zcrm_arena_strdup(ZcrmArenaBlock **arena, const char *s)
{
	size_t		len = strlen(s);
	char	   *copy = arena_alloc(arena, len + 1, false);

	if (copy != NULL)
		memcpy(copy, s, len + 1);
	return copy;
}

/* Release every block of an arena; NULL is allowed. */
void
zcrm_arena_free(ZcrmArenaBlock *block)
{
	while (block != NULL)
	{
		ZcrmArenaBlock *next = block->next;

		free(block);
		block = next;
	}
}


/*
 * The cJSON tree of the document being parsed.  While a document is parsed,
 * cJSON allocates from this arena (zcrm_json_tree_begin() installs the
 * hooks) and frees nothing; zcrm_json_tree_end() releases the whole tree at
 * once and puts back malloc and free.  One block allocation per 8 kB of
 * tree instead of one malloc and one free per JSON value makes a parse
 * markedly cheaper in a long-lived backend whose heap is busy.  Nothing here can longjmp, so the
 * hooks are always restored; nobody else in the process parses JSON while
 * they are installed.
 */
static ZcrmArenaBlock *tree_arena = NULL;
static size_t tree_allocs = 0;	/* allocations since zcrm_json_tree_begin() */
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
	if (tree_stopped || zcrm_json_poll_interrupt(++tree_allocs))
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

/*
 * zcrm_json_tree_begin
 *	  Start a tree: an empty tree arena, no allocation counted, and cJSON's
 *	  hooks pointed at tree_malloc/tree_free.  Must be paired with
 *	  zcrm_json_tree_end() before anyone else in the process uses cJSON.
 */
void
zcrm_json_tree_begin(void)
{
	cJSON_Hooks hooks = {tree_malloc, tree_free};

	tree_arena = NULL;
	tree_allocs = 0;
	tree_stopped = false;
	cJSON_InitHooks(&hooks);
}

/*
 * zcrm_json_tree_end
 *	  Release every node built since zcrm_json_tree_begin(), and put back
 *	  cJSON's default malloc and free.
 */
void
zcrm_json_tree_end(void)
{
	cJSON_InitHooks(NULL);
	zcrm_arena_free(tree_arena);
	tree_arena = NULL;
}

/*
 * zcrm_json_tree_stopped
 *	  True when an allocation since zcrm_json_tree_begin() failed because
 *	  the caller's interrupt check said stop, not for lack of memory.
 */
bool
zcrm_json_tree_stopped(void)
{
	return tree_stopped;
}
