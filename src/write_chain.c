/*-------------------------------------------------------------------------
 *
 * write_chain.c
 *	  Parts sent end to end: upload, create, first poll, result download.
 *
 * See write_chain.h.  zoho.c's zcrm_send_chain() runs the chains (and the
 * one token refresh); the requests and the reading of their outcomes are
 * zoho_write.c's (upload, create), zoho.c's (the poll) and results.c's
 * (the download); chain_next() only decides what each part sends next.
 * Nothing here talks to libcurl or runs SQL.
 *
 * Copyright (c) 2026, zcrm_bulk developers
 *
 * IDENTIFICATION
 *	  src/write_chain.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "parse.h"
#include "results.h"
#include "write_chain.h"

/* The state of one zcrm_write_chain(). */
typedef struct ChainRun
{
	ZcrmChainPart *parts;
	ZcrmUploadArg *uploads;
	bool		stop;			/* an upload or create has not ended OK */
	ZcrmChainCollected collected;
	void	   *collected_arg;
} ChainRun;

/*
 * chain_next
 *		ZcrmNextRequest of zcrm_write_chain(): read how part i's last call
 *		ended into the part and pick its next call, if any.
 */
static bool
chain_next(ZcrmCall *call, void *state, int i, const ZcrmRequest *req,
		   ZcrmOutcome *o, ZcrmBuildRequest *build, const void **arg)
{
	ChainRun   *cr = (ChainRun *) state;
	ZcrmChainPart *p = &cr->parts[i];

	switch (p->step)
	{
		case ZCRM_CHAIN_UPLOAD:
			{
				ZcrmUploadItem u;

				memset(&u, 0, sizeof(u));
				zcrm_write_upload_outcome(call, o, &u);
				p->result = u.result;
				p->err = u.err;
				p->file_id = u.file_id;
				if (u.result != ZCRM_SEND_OK)
					cr->stop = true;
				if (cr->stop)
					return false;
				p->spec.file_id = p->file_id;
				*build = zcrm_write_create_request;
				*arg = zcrm_write_create_body(&p->spec);
				p->step = ZCRM_CHAIN_CREATE;
				return true;
			}
		case ZCRM_CHAIN_CREATE:
			{
				ZcrmCreateItem c;

				memset(&c, 0, sizeof(c));
				c.spec = &p->spec;
				zcrm_write_create_outcome(call, o, &c);
				p->result = c.result;
				p->err = c.err;
				p->job_id = c.job_id;
				if (c.result != ZCRM_SEND_OK)
				{
					cr->stop = true;
					return false;
				}
				*build = zcrm_job_request;
				*arg = p->job_id;
				p->step = ZCRM_CHAIN_POLL;
				return true;
			}
		case ZCRM_CHAIN_POLL:
			p->job = zcrm_job_of_outcome(call, p->job_id, req, o, &p->err);
			if (o->complete)
			{
				pfree(o->resp.body);
				o->complete = false;
			}
			p->result = p->job ? ZCRM_SEND_OK : ZCRM_SEND_FAILED;
			if (p->job == NULL || !zcrm_job_finished(p->job) ||
				p->job->download_url == NULL)
				return false;
			*build = zcrm_result_request;
			*arg = p->job;
			p->step = ZCRM_CHAIN_RESULT;
			return true;
		case ZCRM_CHAIN_RESULT:
			if (o->complete && o->resp.status >= 200 && o->resp.status <= 299 &&
				o->resp.status != 204)
			{
				p->zip_resp = o->resp;	/* the part's now */
				p->result = ZCRM_SEND_OK;
				o->complete = false;
				cr->collected(cr->collected_arg, i, p);
			}
			else
			{
				if (o->complete)
					pfree(o->resp.body);
				p->result = ZCRM_SEND_FAILED;
			}
			o->complete = false;
			return false;
	}
	return false;				/* keep compiler quiet */
}

/*
 * zcrm_write_chain
 *		See write_chain.h.  Every part's uploads share one org call; a
 *		refused org call refuses every upload, and nothing is sent.
 */
void
zcrm_write_chain(ZcrmCall *call, ZcrmChainPart *parts, int n,
				 ZcrmChainCollected collected, void *arg)
{
	ChainRun	cr;
	ZcrmBuildRequest *builds;
	const void **args;
	ZcrmRequest *reqs;
	ZcrmOutcome *outcomes;
	ZcrmError	err;
	char	   *zgid;

	if (n == 0)
		return;
	for (int i = 0; i < n; i++)
	{
		parts[i].step = ZCRM_CHAIN_UPLOAD;
		parts[i].job = NULL;
	}
	zgid = zcrm_write_org_id(call, &err);
	if (zgid == NULL)
	{
		for (int i = 0; i < n; i++)
		{
			parts[i].result = ZCRM_SEND_REFUSED;	/* the org call was */
			parts[i].err = err;
		}
		return;
	}

	memset(&cr, 0, sizeof(cr));
	cr.parts = parts;
	cr.collected = collected;
	cr.collected_arg = arg;
	cr.uploads = palloc0(sizeof(ZcrmUploadArg) * n);
	builds = palloc(sizeof(ZcrmBuildRequest) * n);
	args = palloc(sizeof(void *) * n);
	reqs = palloc0(sizeof(ZcrmRequest) * n);
	outcomes = palloc0(sizeof(ZcrmOutcome) * n);
	for (int i = 0; i < n; i++)
	{
		cr.uploads[i].zip = parts[i].zip;
		cr.uploads[i].len = parts[i].len;
		cr.uploads[i].file_name = parts[i].file_name;
		cr.uploads[i].zgid = zgid;
		builds[i] = zcrm_write_upload_request;
		args[i] = &cr.uploads[i];
	}
	PG_TRY();
	{
		zcrm_send_chain(call, builds, args, n, reqs, outcomes, chain_next, &cr);
	}
	PG_CATCH();
	{
		zcrm_write_chain_free(parts, n);
		PG_RE_THROW();
	}
	PG_END_TRY();
	pfree(cr.uploads);
	pfree(builds);
	pfree(args);
	pfree(reqs);
	pfree(outcomes);
}

/*
 * zcrm_write_chain_free
 *		See write_chain.h.
 */
void
zcrm_write_chain_free(ZcrmChainPart *parts, int n)
{
	for (int i = 0; i < n; i++)
	{
		zcrm_job_free(parts[i].job);
		parts[i].job = NULL;
	}
}
