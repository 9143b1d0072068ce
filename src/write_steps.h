/*-------------------------------------------------------------------------
 *
 * write_steps.h
 *	  What the SQL-callable steps of a bulk write run share: their
 *	  arguments, the parts they open and how a failed request is kept.
 *
 * The steps are in write_run.c (prepare, upload, create, the org call in
 * the background) and write_send.c (collect, and zcrm_write()'s send end
 * to end).  The helpers are defined in write_run.c.
 *
 * Copyright (c) 2026, zcrm_bulk developers
 *
 * IDENTIFICATION
 *	  src/write_steps.h
 *
 *-------------------------------------------------------------------------
 */
#ifndef ZCRM_WRITE_STEPS_H
#define ZCRM_WRITE_STEPS_H

#include "fmgr.h"

#include "run_store.h"
#include "zoho_write.h"

/*
 * The first part of a send step that did not succeed, for the step's
 * outcome: Zoho's refusal (recorded) or a failure whose effect is not
 * known (the part left in the state committed before the request).
 */
typedef struct ZcrmStepFailure
{
	bool		any;
	ZcrmError	err;
	char	   *context;
} ZcrmStepFailure;

/*
 * zcrm_step_schema
 *		The extension's schema, quoted, as the schema of the called
 *		function: the tables are qualified with it, whatever search_path.
 */
extern char *zcrm_step_schema(FunctionCallInfo fcinfo);

/* Argument argno as a C string, or NULL. */
extern char *zcrm_step_text(FunctionCallInfo fcinfo, int argno);

/*
 * zcrm_step_parts
 *		Arguments run_id and parts (integer[]; neither may be NULL, nor may
 *		an element): the run into *run_id, the parts into a palloc'd array.
 *		Returns how many parts.
 */
extern int	zcrm_step_parts(FunctionCallInfo fcinfo, int64 *run_id, int32 **parts);

/*
 * zcrm_step_require_state
 *		A step runs on a part in one state only: anything else is 55000
 *		(another call moved the part on, or the step was called by hand).
 */
extern void zcrm_step_require_state(const ZcrmRunPart *rp, const char *state,
									const char *step);

/*
 * zcrm_step_open_part
 *		Part "part" of run_id, which must be in state "state" for step
 *		"step", into *rp, with its zip when want_zip.
 */
extern void zcrm_step_open_part(const char *schema, int64 run_id, int32 part,
								const char *state, const char *step, bool want_zip,
								ZcrmRunPart *rp);

/*
 * zcrm_step_open_upload
 *		zcrm_step_open_part() of a part "uploading" for step "step", which
 *		must have its zip (55000 otherwise): the zip's bytes and the file
 *		name it is uploaded as into the other arguments.
 */
extern void zcrm_step_open_upload(const char *schema, int64 run_id, int32 part,
								  const char *step, ZcrmRunPart *rp,
								  const char **zip, size_t *len, const char **file_name);

/*
 * zcrm_step_job_spec
 *		What part rp's job is created with, from its run's settings and its
 *		file id (NULL before the upload).
 */
extern void zcrm_step_job_spec(const ZcrmRunPart *rp, ZcrmWriteJobSpec *spec);

/* A part that lacks what its step needs ("zip to upload", "file id"): 55000. */
extern void zcrm_step_part_lacks(const ZcrmRunPart *rp, const char *what);

/*
 * zcrm_step_part_context
 *		"Part 2 of bulk write run 7, rows 25001 to 50000.": what a
 *		refusal's DETAIL adds, so that the user knows which rows failed.
 */
extern char *zcrm_step_part_context(const ZcrmRunPart *rp);

/*
 * zcrm_step_failed
 *		Part rp's request ended with "result" and err: record a refusal
 *		(the part and its run become failed) and keep the first failure.
 */
extern void zcrm_step_failed(const char *schema, const ZcrmRunPart *rp,
							 ZcrmSendResult result, const ZcrmError *err,
							 ZcrmStepFailure *first);

/*
 * zcrm_step_record_org
 *		Through a connection, record on run run_id the key of the call's
 *		org id and, when an upload was accepted, the org id it went with
 *		(NULL otherwise), for zcrm_write_step_prefetch() of later sessions;
 *		when none was accepted, also forget the backend's cached org id.
 */
extern void zcrm_step_record_org(const char *schema, int64 run_id,
								 const ZcrmCall *call, bool accepted);

#endif							/* ZCRM_WRITE_STEPS_H */
