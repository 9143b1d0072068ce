/*-------------------------------------------------------------------------
 *
 * write_chain.h
 *	  Zoho CRM API policy of sending parts end to end: each part's upload,
 *	  then, as soon as Zoho accepts it, its create, then a first poll of
 *	  its job and, when that finds the job finished, the download of its
 *	  result file; each part's next call is sent as soon as its own
 *	  previous call ends, whatever the other parts' calls are doing.
 *
 * zcrm_write() sends its parts this way: its transaction records them, so
 * nothing is committed between the calls.  zcrm_write_submit(), which
 * commits each state before the call that makes it real, sends a group's
 * uploads and then its creates through zoho_write.h.
 *
 * Copyright (c) 2026, zcrm_bulk developers
 *
 * IDENTIFICATION
 *	  src/write_chain.h
 *
 *-------------------------------------------------------------------------
 */
#ifndef ZCRM_WRITE_CHAIN_H
#define ZCRM_WRITE_CHAIN_H

#include "zoho_write.h"

/* The calls of a part, in order. */
typedef enum ZcrmChainStep
{
	ZCRM_CHAIN_UPLOAD,
	ZCRM_CHAIN_CREATE,
	ZCRM_CHAIN_POLL,
	ZCRM_CHAIN_RESULT
} ZcrmChainStep;

/* One part of zcrm_write_chain(): what it sends (in), how far it got. */
typedef struct ZcrmChainPart
{
	const char *zip;
	size_t		len;
	const char *file_name;
	ZcrmWriteJobSpec spec;		/* its file_id is set by the chain */

	ZcrmChainStep step;			/* the last call made */
	ZcrmSendResult result;		/* how that call ended */
	ZcrmError	err;			/* unless ZCRM_SEND_OK: why (scrubbed) */
	char	   *file_id;		/* the upload ended OK */
	char	   *job_id;			/* the create ended OK */
	ZcrmJob    *job;			/* the poll ended OK: the job as fetched */
	ZcrmHttpResponse zip_resp;	/* the download ended OK: the result zip */
} ZcrmChainPart;

/*
 * Called when part i's result zip has been downloaded (part->zip_resp), as
 * soon as it is, while the other parts' calls are still in flight: outside
 * libcurl's callbacks, so it may run SQL and raise.  It takes the zip.
 */
typedef void (*ZcrmChainCollected) (void *arg, int i, ZcrmChainPart *part);

/*
 * zcrm_write_chain
 *		Send the n parts end to end, handing each downloaded result zip to
 *		"collected", the calls of at most
 *		zcrm_bulk.max_concurrency parts in flight at once.  After a part's
 *		upload or create has ended other than OK, no further create is sent
 *		(the calls in flight end as they do).  A poll that finds the job
 *		not finished (or finished without a download_url) ends the part's
 *		calls with step ZCRM_CHAIN_POLL and result ZCRM_SEND_OK; a poll or
 *		download that fails ends them with ZCRM_SEND_FAILED (the job
 *		exists: its caller polls it again).  Nothing raises but interrupts,
 *		libcurl's setup, the token refresh after INVALID_TOKEN (through a
 *		connection, once for all parts, as zcrm_send_chain() does) and
 *		"collected", after freeing the polled jobs.
 */
extern void zcrm_write_chain(ZcrmCall *call, ZcrmChainPart *parts, int n,
							 ZcrmChainCollected collected, void *arg);

/* Free the parts' polled jobs (repeated calls are harmless). */
extern void zcrm_write_chain_free(ZcrmChainPart *parts, int n);

#endif							/* ZCRM_WRITE_CHAIN_H */
