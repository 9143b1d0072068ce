/*-------------------------------------------------------------------------
 *
 * zcrm_bulk.c
 *	  Module entry point of zcrm_bulk: Zoho CRM Bulk Write jobs as SQL rows.
 *
 * The module needs no shared memory and no preloading.  _PG_init only
 * defines the settings; libcurl is initialised later, on first use, in the
 * backend that needs it (see transport.c).
 *
 * Copyright (c) 2026, zcrm_bulk developers
 *
 * IDENTIFICATION
 *	  src/zcrm_bulk.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "fmgr.h"

#include "settings.h"

PG_MODULE_MAGIC;

extern PGDLLEXPORT void _PG_init(void);

/*
 * _PG_init
 *		Called when the library is loaded.
 */
void
_PG_init(void)
{
	zcrm_define_settings();
}
