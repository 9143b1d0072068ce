/*-------------------------------------------------------------------------
 *
 * write_calls.c
 *	  SQL functions zcrm_upload_file() and zcrm_create_write_job(): the
 *	  upload and create calls of zoho_write.c, one call each.
 *
 * Low-level building blocks for users who make their own zip, and the
 * window through which the tests see those calls.  Arguments in, the file
 * id or job id out; every rule of the API is zoho_write.c's.  Both run no
 * SQL, so no search_path can change what they do.
 *
 * Copyright (c) 2026, zcrm_bulk developers
 *
 * IDENTIFICATION
 *	  src/write_calls.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "fmgr.h"
#include "utils/builtins.h"
#include "utils/jsonb.h"

#include "errors.h"
#include "zoho.h"
#include "zoho_write.h"

PG_FUNCTION_INFO_V1(zcrm_upload_file);
PG_FUNCTION_INFO_V1(zcrm_create_write_job);
PG_FUNCTION_INFO_V1(zcrm_org_id);

/* Longest module, field or file id name accepted. */
#define ZCRM_MAX_NAME_LEN	100

/*
 * required_arg
 *		Raise 22004 naming the argument when argument "argno" is NULL.
 */
static void
required_arg(FunctionCallInfo fcinfo, int argno, const char *name)
{
	if (PG_ARGISNULL(argno))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("%s must not be null", name),
				 errhint("Pass a value for %s.", name)));
}

static char *
optional_text(FunctionCallInfo fcinfo, int argno)
{
	return PG_ARGISNULL(argno) ? NULL : text_to_cstring(PG_GETARG_TEXT_PP(argno));
}

/*
 * check_name
 *		An API name (module, find_by field) or a file id: 1 to
 *		ZCRM_MAX_NAME_LEN ASCII letters, digits and underscores (a file id:
 *		digits only), else 22023 naming the argument.
 */
static void
check_name(const char *value, const char *name, bool digits)
{
	size_t		len = strlen(value);
	size_t		ok = strspn(value, digits ? "0123456789" :
							"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_");

	if (len == 0 || len > ZCRM_MAX_NAME_LEN || ok != len)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("invalid %s", name),
				 len == 0 ? errdetail("The %s is empty.", name) :
				 len > ZCRM_MAX_NAME_LEN ?
				 errdetail("The %s has %zu characters; at most %d are allowed.",
						   name, len, ZCRM_MAX_NAME_LEN) :
				 errdetail("Character %zu of the %s is not %s.", ok + 1, name,
						   digits ? "a digit" : "an ASCII letter, digit or underscore"),
				 digits ? errhint("Pass the file id that zcrm_upload_file() returned.") :
				 errhint("Pass the API name as Zoho CRM shows it (Setup > Developer Space > APIs).")));
}

/*
 * zcrm_upload_file(zip bytea, token text DEFAULT NULL,
 *					connection text DEFAULT NULL) RETURNS text
 *		Upload a zip file for Bulk Write and return its file id.
 */
Datum
zcrm_upload_file(PG_FUNCTION_ARGS)
{
	bytea	   *zip;
	ZcrmCall	call;
	ZcrmError	err;
	char	   *file_id;

	required_arg(fcinfo, 0, "zip");
	zip = PG_GETARG_BYTEA_PP(0);
	if (VARSIZE_ANY_EXHDR(zip) == 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("zip is empty"),
				 errhint("Pass a zip archive that holds the CSV file.")));
	zcrm_call_open(&call, optional_text(fcinfo, 1), optional_text(fcinfo, 2));
	if (!zcrm_write_upload(&call, VARDATA_ANY(zip), VARSIZE_ANY_EXHDR(zip),
						   "zcrm_bulk.zip", &file_id, &err))
		zcrm_raise_error_context(&err,
								 psprintf("The zip file had %zu bytes.",
										  (size_t) VARSIZE_ANY_EXHDR(zip)));
	PG_RETURN_TEXT_P(cstring_to_text(file_id));
}

/*
 * zcrm_create_write_job(module text, file_id text,
 *						 operation text DEFAULT 'insert',
 *						 find_by text DEFAULT NULL,
 *						 field_mappings jsonb DEFAULT NULL,
 *						 ignore_empty boolean DEFAULT true,
 *						 token text DEFAULT NULL,
 *						 connection text DEFAULT NULL) RETURNS text
 *		Create a bulk write job for an uploaded file and return its id.
 *		Checked before any request: the names, the operation, find_by for
 *		update and upsert, field_mappings a JSON array of objects.
 */
Datum
zcrm_create_write_job(PG_FUNCTION_ARGS)
{
	ZcrmWriteJobSpec spec;
	ZcrmCall	call;
	ZcrmError	err;
	char	   *job_id;

	required_arg(fcinfo, 0, "module");
	required_arg(fcinfo, 1, "file_id");
	required_arg(fcinfo, 2, "operation");
	required_arg(fcinfo, 5, "ignore_empty");
	memset(&spec, 0, sizeof(spec));
	spec.module = text_to_cstring(PG_GETARG_TEXT_PP(0));
	spec.file_id = text_to_cstring(PG_GETARG_TEXT_PP(1));
	spec.operation = text_to_cstring(PG_GETARG_TEXT_PP(2));
	spec.find_by = optional_text(fcinfo, 3);
	spec.ignore_empty = PG_GETARG_BOOL(5);

	check_name(spec.module, "module", false);
	check_name(spec.file_id, "file id", true);
	if (strcmp(spec.operation, "insert") != 0 &&
		strcmp(spec.operation, "update") != 0 &&
		strcmp(spec.operation, "upsert") != 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("invalid operation \"%s\"", spec.operation),
				 errhint("Pass 'insert', 'update' or 'upsert'.")));
	if (spec.find_by)
		check_name(spec.find_by, "find_by", false);
	else if (strcmp(spec.operation, "insert") != 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("operation \"%s\" needs find_by", spec.operation),
				 errdetail("Zoho matches the records to %s by the field find_by names.",
						   strcmp(spec.operation, "update") == 0 ? "update" : "update or add"),
				 errhint("Pass find_by => the API name of a unique field, or 'id'.")));
	if (!PG_ARGISNULL(4))
	{
		Jsonb	   *jb = PG_GETARG_JSONB_P(4);
		JsonbIterator *it = JsonbIteratorInit(&jb->root);
		JsonbValue	v;
		JsonbIteratorToken tok;
		int			depth = 0;
		bool		objects = true;

		if (!JB_ROOT_IS_ARRAY(jb) || JB_ROOT_IS_SCALAR(jb))
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("field_mappings must be a JSON array"),
					 errhint("Pass an array of objects such as '[{\"api_name\": \"Last_Name\", \"index\": 0}]'.")));
		while ((tok = JsonbIteratorNext(&it, &v, false)) != WJB_DONE)
		{
			if (tok == WJB_BEGIN_ARRAY || tok == WJB_BEGIN_OBJECT)
				depth++;
			else if (tok == WJB_END_ARRAY || tok == WJB_END_OBJECT)
				depth--;
			if ((tok == WJB_ELEM && depth == 1) ||
				(tok == WJB_BEGIN_ARRAY && depth == 2))
				objects = false;
		}
		if (!objects)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("field_mappings must be an array of objects"),
					 errhint("Pass one object per field, such as '{\"api_name\": \"Last_Name\", \"index\": 0}'.")));
		spec.field_mappings = JsonbToCString(NULL, &jb->root, VARSIZE(jb));
	}

	zcrm_call_open(&call, optional_text(fcinfo, 6), optional_text(fcinfo, 7));
	if (!zcrm_write_create(&call, &spec, &job_id, &err))
		zcrm_raise_error_context(&err,
								 psprintf("The job was for module %s, file id %s, operation %s.",
										  spec.module, spec.file_id, spec.operation));
	PG_RETURN_TEXT_P(cstring_to_text(job_id));
}

/*
 * zcrm_org_id(token text, connection text) RETURNS text
 *		The organisation id (zgid) uploads are sent with (X-CRM-ORG): the
 *		connection's server option org_id when set, else what the org call
 *		answers (cached per backend).  Zoho's refusal of the org call (a
 *		token without the scope ZohoCRM.org.READ, say) is raised.
 */
Datum
zcrm_org_id(PG_FUNCTION_ARGS)
{
	ZcrmCall	call;
	ZcrmError	err;
	char	   *zgid;

	zcrm_call_open(&call, optional_text(fcinfo, 0), optional_text(fcinfo, 1));
	zgid = zcrm_write_org_id(&call, &err);
	if (zgid == NULL)
		zcrm_raise_error(&err);
	PG_RETURN_TEXT_P(cstring_to_text(zgid));
}
