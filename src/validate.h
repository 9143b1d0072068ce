/*-------------------------------------------------------------------------
 *
 * validate.h
 *	  One function per input rule: job ids, access tokens, credentials.
 *
 * Every check of a value that zcrm_bulk takes from SQL or from a server
 * before it goes into a request is one of the rules below, and each rule
 * is written once, in validate.c.  The SQL objects use the job id rule
 * through zcrm_valid_job_id(text), so that zcrm_track_job() and the CHECK
 * of zcrm_tracked_job.job_id accept exactly what the job functions accept.
 * No function here ever echoes the value it checks: it may be a secret or
 * hold control characters.
 *
 * Copyright (c) 2026, zcrm_bulk developers
 *
 * IDENTIFICATION
 *	  src/validate.h
 *
 *-------------------------------------------------------------------------
 */
#ifndef ZCRM_VALIDATE_H
#define ZCRM_VALIDATE_H

#include "errors.h"

/* Job ids are 1 to this many ASCII digits. */
#define ZCRM_MAX_JOB_ID_LEN		32
/* Longest access token accepted, from SQL or from a token reply. */
#define ZCRM_MAX_TOKEN_LEN		4096
/* Longest client id, client secret or refresh token accepted. */
#define ZCRM_MAX_SECRET_LEN		1024

/*
 * zcrm_bad_job_id
 *		The job id rule: 1 to ZCRM_MAX_JOB_ID_LEN ASCII digits.  Returns
 *		false for a valid id; otherwise true, and when err is not NULL
 *		describes the problem (22023, with a detail naming the first bad
 *		character or the length) in *err.
 */
extern bool zcrm_bad_job_id(const char *job_id, ZcrmError *err);

/*
 * zcrm_check_job_id
 *		Raise zcrm_bad_job_id()'s error for an invalid job id.
 */
extern void zcrm_check_job_id(const char *job_id);

/* An organisation id (zgid) is 1 to this many ASCII digits. */
#define ZCRM_MAX_ORG_ID_LEN		20

/*
 * zcrm_is_org_id
 *		The organisation id rule (a zgid, as the org call answers it and as
 *		X-CRM-ORG carries it): 1 to ZCRM_MAX_ORG_ID_LEN ASCII digits.
 */
extern bool zcrm_is_org_id(const char *value);

/*
 * zcrm_check_access_token
 *		The rule for an access token passed to a job function: an RFC 6750
 *		b64token of 1 to ZCRM_MAX_TOKEN_LEN characters.  Raises 22023 with
 *		a detail naming the length or the first character not allowed.
 */
extern void zcrm_check_access_token(const char *token);

/*
 * zcrm_visible_ascii
 *		The rule for a value taken from a token reply or a user mapping: 1
 *		to max_len visible ASCII characters (0x21 to 0x7E).  Returns true
 *		when "value" keeps it.
 */
extern bool zcrm_visible_ascii(const char *value, size_t max_len);

#endif							/* ZCRM_VALIDATE_H */
