/*-------------------------------------------------------------------------
 *
 * settings.h
 *	  The zcrm_bulk.* configuration parameters.
 *
 * Every setting of the extension is defined in settings.c and read from
 * the variables declared here; no other file defines a GUC.
 *
 * Copyright (c) 2026, zcrm_bulk developers
 *
 * IDENTIFICATION
 *	  src/settings.h
 *
 *-------------------------------------------------------------------------
 */
#ifndef ZCRM_SETTINGS_H
#define ZCRM_SETTINGS_H

/* zcrm_bulk.api_domain: scheme://host[:port], no path (superuser only) */
extern char *zcrm_api_domain;

/* zcrm_bulk.timeout (whole call, retries included), connect_timeout; ms */
extern int	zcrm_timeout_ms;
extern int	zcrm_connect_timeout_ms;

/* zcrm_bulk.retries and zcrm_bulk.retry_delay (milliseconds) */
extern int	zcrm_retries;
extern int	zcrm_retry_delay_ms;

/* zcrm_bulk.max_concurrency: requests a batch function keeps in flight */
#define ZCRM_MAX_CONCURRENCY 50
extern int	zcrm_max_concurrency;

/* zcrm_bulk.max_response_size, in bytes (superuser only) */
extern int	zcrm_max_response_size;

/* zcrm_bulk.max_json_values: values a document may hold (superuser only) */
extern int	zcrm_max_json_values;

/* zcrm_bulk.ca_file: CA bundle path, empty for the system store (superuser only) */
extern char *zcrm_ca_file;

/* zcrm_bulk.default_connection: connection used when none is passed */
extern char *zcrm_default_connection;

/* zcrm_bulk.max_result_size (the zip) and _uncompressed_size (each CSV), bytes */
extern int	zcrm_max_result_size;
extern int	zcrm_max_result_uncompressed_size;

/* zcrm_bulk.max_part_rows and max_part_bytes: the split of a write (prepare.c) */
extern int	zcrm_max_part_rows;
extern int	zcrm_max_part_bytes;

extern void zcrm_define_settings(void);
extern bool zcrm_valid_base_url(const char *url, const char **detail);

/* A palloc'd copy of a base URL without its trailing slash ("" for NULL). */
extern char *zcrm_without_slash(const char *url);
extern const char *zcrm_api_version_name(void);

#endif							/* ZCRM_SETTINGS_H */
