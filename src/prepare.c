/*-------------------------------------------------------------------------
 *
 * prepare.c
 *	  The prepare engine: a query's rows become zipped CSV parts.
 *
 * See prepare.h for the contract.  The run, in order:
 *
 *	 1. the spec's own checks (module, operation, find_by, mappings' shape),
 *		before anything is parsed;
 *	 2. the query is parsed and planned (SPI_prepare) as the caller, with
 *		the caller's search_path, and must be a single SELECT; it is opened
 *		as a read-only cursor, which starts the executor but reads no row;
 *	 3. the result columns are checked (duplicate names, key_column, the
 *		types, the column limit, mappings against columns, find_by) and the
 *		field_mappings array is built, all before the first fetch;
 *	 4. rows are fetched in batches; each row is formatted (rowcsv.c) into
 *		one buffer, then written to the CSV writer (csv.c, malloc'd, capped
 *		at zcrm_bulk.max_part_bytes); a row that does not fit, or the row
 *		after zcrm_bulk.max_part_rows, first closes the part: it is zipped
 *		(zip.c, malloc'd) and handed to the callback, then both buffers are
 *		reused for the next part.
 *
 * Memory: values are formatted in a context reset per row, the per-row
 * echo and keys live in a context reset per part, the batch's tuples are
 * freed per batch (whose size shrinks when rows are wide), and the CSV and
 * zip buffers are bounded by the part limits.  They are malloc'd, so they
 * are freed in PG_FINALLY when anything raises an error.
 *
 * The zip is deflated at level 1 (ZCRM_PART_ZIP_LEVEL).  Parts are split by
 * their CSV size, so the level never changes how many jobs (and credits) a
 * load takes; it only trades upload bytes for backend time.  On CSV, level 1
 * deflates about three times as fast as zlib's default 6 for files about
 * 20% larger, and it keeps zipping a full 25 MB part to about a quarter of
 * a second.  The deflate polls for interrupts every 64 kB of CSV (zip.c).
 *
 * Copyright (c) 2026, zcrm_bulk developers
 *
 * IDENTIFICATION
 *	  src/prepare.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/htup_details.h"
#include "executor/spi.h"
#include "lib/stringinfo.h"
#include "mb/pg_wchar.h"
#include "miscadmin.h"
#include "nodes/parsenodes.h"
#include "utils/builtins.h"
#include "utils/json.h"
#include "utils/memutils.h"
#include "utils/plancache.h"
#include "utils/snapmgr.h"

#include "csv.h"
#include "errors.h"
#include "prepare.h"
#include "transport.h"
#include "rowcsv.h"
#include "settings.h"
#include "zip.h"

/* Rows per fetch, and the tuple bytes a batch aims to stay under */
#define BATCH_ROWS			1000
#define BATCH_TARGET_BYTES	(8 * 1024 * 1024)

/* Longest module API name accepted */
#define MAX_MODULE_LEN		100

/* One entry of the mappings argument. */
typedef struct Mapping
{
	char	   *field;
	char	   *find_by;
	char	   *format;
	char	   *module;
	char	   *default_value;	/* JSON text, or NULL */
	bool		is_column;
} Mapping;

/* The state of one run. */
typedef struct Engine
{
	const ZcrmWriteSpec *spec;
	ZcrmPartCallback cb;
	void	   *arg;
	ZcrmPrepareResult *result;

	TupleDesc	tupdesc;
	Datum	   *values;			/* [natts], one deformed row */
	bool	   *nulls;
	ZcrmColumn *cols;			/* [nsent], the sent columns */
	int			nsent;
	int			key_attno;		/* 0: no key_column */
	FmgrInfo	keyfn;
	int			necho;
	Jsonb	   *field_mappings;
	char	   *zip_entry;		/* UTF-8 */

	int			max_rows;
	size_t		max_bytes;
	ZcrmCsv    *csv;			/* malloc'd */
	void	   *zip;			/* malloc'd, while a part is handed over */

	StringInfoData rowbuf;		/* one row's formatted fields */
	int		   *offs;
	const char **fields;
	size_t	   *lens;

	int			part;			/* the part being filled, from 1 */
	int64		first_row;		/* its first row */
	int64		part_rows;
	char	  **keys;			/* [max_rows] */
	char	  **echo;			/* [max_rows * necho] */

	MemoryContext cxt;			/* the run's */
	MemoryContext partcxt;		/* reset per part */
	MemoryContext rowcxt;		/* reset per row */
} Engine;

/*
 * check_spec
 *	  The checks that need no query: module, operation, find_by.
 */
static void
check_spec(const ZcrmWriteSpec *spec)
{
	size_t		len = spec->module ? strlen(spec->module) : 0;

	if (len == 0 || len > MAX_MODULE_LEN ||
		strspn(spec->module, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_") != len)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("invalid module name \"%s\"", spec->module ? spec->module : ""),
				 errdetail("A module is given by its API name: 1 to %d letters, digits and underscores.",
						   MAX_MODULE_LEN),
				 errhint("Pass the module's API name, for example 'Leads' or 'Contacts'.")));
	if (strcmp(spec->operation, "insert") != 0 &&
		strcmp(spec->operation, "update") != 0 &&
		strcmp(spec->operation, "upsert") != 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("invalid operation \"%s\"", spec->operation),
				 errdetail("The operation is insert, update or upsert."),
				 errhint("Pass operation => 'insert', 'update' or 'upsert'.")));
	if (strcmp(spec->operation, "insert") != 0 &&
		(spec->find_by == NULL || spec->find_by[0] == '\0'))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("operation %s needs find_by", spec->operation),
				 errdetail("Zoho CRM finds the records to %s by the field named in find_by.",
						   spec->operation),
				 errhint("Pass find_by => the API name of a unique field that is a column of the query, or 'id'.")));
	if (spec->query == NULL || spec->query[0] == '\0')
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("query must not be empty"),
				 errhint("Pass a SELECT whose columns are the fields to write.")));
}

/*
 * mapping_error
 *	  22023 for a mappings argument of the wrong shape.
 */
static void
mapping_error(const char *field, const char *detail)
{
	ereport(ERROR,
			(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
			 field ? errmsg("invalid mapping for field \"%s\"", field) :
			 errmsg("invalid mappings"),
			 errdetail("%s", detail),
			 errhint("Pass mappings as {\"Field\": {\"find_by\": \"email\"}, \"Lead_Source\": {\"default_value\": {\"value\": \"Web\"}}}.")));
}

/*
 * json_value_text
 *	  The JSON text of a value found by an iterator (scalar or container).
 */
static char *
json_value_text(JsonbValue *v)
{
	Jsonb	   *jb = JsonbValueToJsonb(v);

	return JsonbToCString(NULL, &jb->root, VARSIZE(jb));
}

/*
 * parse_mappings
 *	  The mappings argument as Mapping entries: an object of objects whose
 *	  keys are find_by, format, module (strings) and default_value (any
 *	  JSON but null).  Else 22023 naming the field or the key.
 */
static Mapping *
parse_mappings(Jsonb *jb, int *n)
{
	JsonbIterator *it;
	JsonbValue	v;
	JsonbIteratorToken tok;
	Mapping    *maps;
	int			count = 0;

	*n = 0;
	if (jb == NULL)
		return NULL;
	if (!JB_ROOT_IS_OBJECT(jb) || JB_ROOT_IS_SCALAR(jb))
		mapping_error(NULL, "mappings must be a JSON object, with one key per field.");
	maps = palloc0(sizeof(Mapping) * Max(JB_ROOT_COUNT(jb), 1));
	it = JsonbIteratorInit(&jb->root);
	while ((tok = JsonbIteratorNext(&it, &v, true)) != WJB_DONE)
	{
		Mapping    *m;
		JsonbIterator *fit;
		JsonbValue	fv;
		JsonbIteratorToken ftok;
		char	   *key = NULL;

		if (tok != WJB_KEY)
			continue;
		m = &maps[count++];
		m->field = pnstrdup(v.val.string.val, v.val.string.len);
		if (m->field[0] == '\0')
			mapping_error(NULL, "A field name in mappings is empty.");
		tok = JsonbIteratorNext(&it, &v, true);
		if (tok != WJB_VALUE || v.type != jbvBinary ||
			!JsonContainerIsObject(v.val.binary.data))
			mapping_error(m->field, "Each field's mapping must be a JSON object.");

		fit = JsonbIteratorInit(v.val.binary.data);
		while ((ftok = JsonbIteratorNext(&fit, &fv, true)) != WJB_DONE)
		{
			if (ftok == WJB_KEY)
			{
				key = pnstrdup(fv.val.string.val, fv.val.string.len);
				if (strcmp(key, "find_by") != 0 && strcmp(key, "format") != 0 &&
					strcmp(key, "module") != 0 && strcmp(key, "default_value") != 0)
					mapping_error(m->field,
								  psprintf("Key \"%s\" is not one of find_by, format, module, default_value.", key));
			}
			else if (ftok == WJB_VALUE)
			{
				if (strcmp(key, "default_value") == 0)
				{
					if (fv.type == jbvNull)
						mapping_error(m->field, "default_value must not be null.");
					m->default_value = json_value_text(&fv);
					continue;
				}
				if (fv.type != jbvString)
					mapping_error(m->field, psprintf("%s must be a JSON string.", key));
				if (strcmp(key, "find_by") == 0)
					m->find_by = pnstrdup(fv.val.string.val, fv.val.string.len);
				else if (strcmp(key, "format") == 0)
					m->format = pnstrdup(fv.val.string.val, fv.val.string.len);
				else
					m->module = pnstrdup(fv.val.string.val, fv.val.string.len);
			}
		}
	}
	*n = count;
	return maps;
}

/*
 * check_select
 *	  The query must be one SELECT (or VALUES, TABLE, a set operation),
 *	  without INTO, FOR UPDATE/SHARE or a data-modifying WITH.  The cursor
 *	  is opened read-only as well, which catches anything left.
 */
static void
check_select(SPIPlanPtr plan)
{
	List	   *sources = SPI_plan_get_plan_sources(plan);
	CachedPlanSource *src;
	SelectStmt *sel;
	SelectStmt *leftmost;
	const char *why = NULL;

	if (list_length(sources) != 1)
		why = "The query holds more than one statement.";
	else
	{
		src = (CachedPlanSource *) linitial(sources);
		sel = (src->raw_parse_tree && IsA(src->raw_parse_tree->stmt, SelectStmt)) ?
			(SelectStmt *) src->raw_parse_tree->stmt : NULL;
		for (leftmost = sel; leftmost && leftmost->larg; leftmost = leftmost->larg)
			;
		if (sel == NULL)
			why = "The query is not a SELECT.";
		else if (leftmost->intoClause)
			why = "SELECT INTO creates a table.";
		else if (sel->lockingClause)
			why = "FOR UPDATE and FOR SHARE lock rows.";
		else if (sel->withClause)
		{
			ListCell   *lc;

			foreach(lc, sel->withClause->ctes)
			{
				CommonTableExpr *cte = lfirst_node(CommonTableExpr, lc);

				if (!IsA(cte->ctequery, SelectStmt))
					why = "A WITH clause of the query changes data.";
			}
		}
	}
	if (why)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("query must be a single read-only SELECT"),
				 errdetail("%s", why),
				 errhint("Pass one SELECT, VALUES or TABLE statement whose columns are the fields to write.")));
}

/*
 * find_mapping
 *	  The entry of mappings for "field", or NULL.
 */
static Mapping *
find_mapping(Mapping *maps, int nmaps, const char *field)
{
	for (int i = 0; i < nmaps; i++)
		if (strcmp(maps[i].field, field) == 0)
			return &maps[i];
	return NULL;
}

/*
 * json_member
 *	  Append ,"key":"value" (value a string in the database encoding).
 */
static void
json_member(StringInfo buf, const char *key, const char *value)
{
	if (value == NULL)
		return;
	appendStringInfo(buf, ",\"%s\":", key);
	escape_json(buf, value);
}

/*
 * setup_columns
 *	  Step 3 of the run: check the result columns against the spec and
 *	  build the field_mappings array (in the caller's context "callercxt").
 */
static void
setup_columns(Engine *e, MemoryContext callercxt)
{
	const ZcrmWriteSpec *spec = e->spec;
	TupleDesc	td = e->tupdesc;
	Mapping    *maps;
	int			nmaps;
	StringInfoData fm;
	int			idx = 0;
	MemoryContext old;

	maps = parse_mappings(spec->mappings, &nmaps);
	for (int i = 0; i < td->natts; i++)
		for (int j = 0; j < i; j++)
			if (strcmp(NameStr(TupleDescAttr(td, i)->attname),
					   NameStr(TupleDescAttr(td, j)->attname)) == 0)
				ereport(ERROR,
						(errcode(ERRCODE_DUPLICATE_COLUMN),
						 errmsg("column name \"%s\" appears more than once in the query",
								NameStr(TupleDescAttr(td, i)->attname)),
						 errdetail("Each column is a field of the CSV file, named by its API name."),
						 errhint("Give the columns distinct names with AS.")));

	if (spec->key_column)
	{
		for (int i = 0; i < td->natts; i++)
			if (strcmp(NameStr(TupleDescAttr(td, i)->attname), spec->key_column) == 0)
				e->key_attno = i + 1;
		if (e->key_attno == 0)
			ereport(ERROR,
					(errcode(ERRCODE_UNDEFINED_COLUMN),
					 errmsg("key_column \"%s\" is not a column of the query", spec->key_column),
					 errhint("Name a column of the query, or pass key_column => NULL.")));
		zcrm_rowcsv_key_function(td, e->key_attno, &e->keyfn);
	}

	e->nsent = td->natts - (e->key_attno ? 1 : 0);
	if (e->nsent == 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("query has no column to send"),
				 errdetail("Every column of the query except key_column is a field of the CSV file."),
				 errhint("Select at least one field.")));
	if (e->nsent > ZCRM_MAX_SENT_COLUMNS)
		ereport(ERROR,
				(errcode(ERRCODE_TOO_MANY_COLUMNS),
				 errmsg("query has %d columns to send, more than the %d Zoho CRM takes",
						e->nsent, ZCRM_MAX_SENT_COLUMNS),
				 errdetail("A Bulk Write CSV file has at most %d columns; key_column is not counted.",
						   ZCRM_MAX_SENT_COLUMNS),
				 errhint("Send fewer columns, or split the load into jobs over different fields.")));

	e->cols = palloc0(sizeof(ZcrmColumn) * e->nsent);
	for (int i = 0; i < td->natts; i++)
		if (i + 1 != e->key_attno)
			zcrm_rowcsv_column(&e->cols[idx++], td, i + 1);

	if (spec->find_by && spec->find_by[0] != '\0')
	{
		bool		found = false;

		for (int i = 0; i < e->nsent; i++)
			found |= strcmp(e->cols[i].name, spec->find_by) == 0;
		if (!found)
			ereport(ERROR,
					(errcode(ERRCODE_UNDEFINED_COLUMN),
					 errmsg("find_by \"%s\" is not a column of the query", spec->find_by),
					 errdetail("Zoho CRM finds each record by the value of the find_by field in its row."),
					 errhint("Select the find_by field as a column (not as key_column).")));
	}

	initStringInfo(&fm);
	appendStringInfoChar(&fm, '[');
	for (int i = 0; i < e->nsent; i++)
	{
		const ZcrmColumn *col = &e->cols[i];
		Mapping    *m = find_mapping(maps, nmaps, col->name);
		const char *ours = zcrm_rowcsv_format(col);
		const char *format = m ? m->format : NULL;

		if (m)
			m->is_column = true;
		if (ours && format && strcmp(format, ours) != 0)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("invalid mapping for field \"%s\"", col->name),
					 errdetail("Column \"%s\" is written as \"%s\", so its format is always \"%s\".",
							   col->name, ours, ours),
					 errhint("Leave format out for date and timestamp columns; to send another form, cast the column to text in the query.")));
		if (ours)
			format = ours;
		appendStringInfo(&fm, "%s{\"api_name\":", i > 0 ? "," : "");
		escape_json(&fm, col->name);
		appendStringInfo(&fm, ",\"index\":%d", i);
		json_member(&fm, "find_by", m ? m->find_by : NULL);
		json_member(&fm, "format", format);
		json_member(&fm, "module", m ? m->module : NULL);
		if (m && m->default_value)
			appendStringInfo(&fm, ",\"default_value\":%s", m->default_value);
		appendStringInfoChar(&fm, '}');
	}
	for (int i = 0; i < nmaps; i++)
	{
		Mapping    *m = &maps[i];

		if (m->is_column)
			continue;
		if (m->default_value == NULL || m->find_by || m->format || m->module)
			ereport(ERROR,
					(errcode(ERRCODE_UNDEFINED_COLUMN),
					 errmsg("mapping for field \"%s\", which is not a column of the query", m->field),
					 errdetail("Only an entry with default_value alone may name a field that is not a column."),
					 errhint("Select the field as a column, or give the entry default_value only.")));
		appendStringInfoString(&fm, ",{\"api_name\":");
		escape_json(&fm, m->field);
		appendStringInfo(&fm, ",\"default_value\":%s}", m->default_value);
	}
	appendStringInfoChar(&fm, ']');

	old = MemoryContextSwitchTo(callercxt);
	e->field_mappings = DatumGetJsonbP(DirectFunctionCall1(jsonb_in, CStringGetDatum(fm.data)));
	MemoryContextSwitchTo(old);
	pfree(fm.data);
	e->necho = Min(ZCRM_MAX_ECHO, e->nsent);
}

/*
 * write_header
 *	  The header row (the API names, in UTF-8).  54000 when it alone is
 *	  larger than zcrm_bulk.max_part_bytes.
 */
static void
write_header(Engine *e)
{
	ZcrmCsvStatus st;

	st = zcrm_csv_begin_row(e->csv, true);
	for (int i = 0; i < e->nsent && st == ZCRM_CSV_OK; i++)
	{
		const char *name = e->cols[i].name;
		char	   *u = pg_server_to_any(name, strlen(name), PG_UTF8);

		st = zcrm_csv_field(e->csv, u, strlen(u));
	}
	if (st == ZCRM_CSV_OK)
		st = zcrm_csv_end_row(e->csv);
	if (st == ZCRM_CSV_FULL)
		ereport(ERROR,
				(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
				 errmsg("the CSV header row is larger than zcrm_bulk.max_part_bytes (%zu bytes)",
						e->max_bytes),
				 errhint("Raise zcrm_bulk.max_part_bytes.")));
	if (st != ZCRM_CSV_OK)
		ereport(ERROR,
				(errcode(st == ZCRM_CSV_NO_MEMORY ? ERRCODE_OUT_OF_MEMORY : ERRCODE_INTERNAL_ERROR),
				 errmsg("could not write the CSV header row: %s", zcrm_csv_status_message(st))));
}

/*
 * flush_part
 *	  Zip the part's CSV, hand it to the callback, and start the next part.
 *	  Returns what the callback returned.
 */
static bool
flush_part(Engine *e)
{
	ZcrmWritePart p;
	MemoryContext old;
	bool		more;

	memset(&p, 0, sizeof(p));
	p.part = e->part;
	p.first_row = e->first_row;
	p.rows = e->part_rows;
	p.last_row = e->first_row + e->part_rows - 1;
	p.csv = zcrm_csv_data(e->csv);
	p.csv_len = zcrm_csv_len(e->csv);
	p.zip_entry = e->zip_entry;
	p.necho = e->necho;
	p.source_keys = e->keys;
	p.echo = e->echo;
	p.field_mappings = e->field_mappings;

	if (e->spec->zip)
	{
		ZcrmZipError zerr;
		size_t		ziplen = 0;
		ZcrmZipStatus st;

		zcrm_http_step();

		CHECK_FOR_INTERRUPTS();
		do
			st = zcrm_zip_one(e->zip_entry, p.csv, p.csv_len, ZCRM_PART_ZIP_LEVEL,
							  ZCRM_PART_MAX_ZIP, &e->zip, &ziplen, &zerr);
		while (zcrm_zip_stopped(st));
		if (st != ZCRM_ZIP_OK)
			ereport(ERROR,
					(errcode(st == ZCRM_ZIP_NO_MEMORY ? ERRCODE_OUT_OF_MEMORY :
							 st == ZCRM_ZIP_TOO_LARGE ? ERRCODE_PROGRAM_LIMIT_EXCEEDED :
							 ERRCODE_INTERNAL_ERROR),
					 errmsg("could not zip part %d: %s", e->part, zerr.message)));
		p.zip = e->zip;
		p.zip_len = ziplen;
		CHECK_FOR_INTERRUPTS();
	}

	old = MemoryContextSwitchTo(e->partcxt);
	more = e->cb(&p, e->arg);
	MemoryContextSwitchTo(old);

	free(e->zip);
	e->zip = NULL;
	MemoryContextReset(e->partcxt);
	zcrm_csv_reset(e->csv);
	e->result->parts++;
	e->result->rows += e->part_rows;
	e->part++;
	e->first_row += e->part_rows;
	e->part_rows = 0;
	return more;
}

/*
 * row_error
 *	  The error for a row the CSV writer refused (st is not OK).
 */
static void
row_error(Engine *e, ZcrmCsvStatus st, int64 row)
{
	if (st == ZCRM_CSV_FULL)
		ereport(ERROR,
				(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
				 errmsg("row " INT64_FORMAT " of the query is too large for a part", row),
				 errdetail("A part's CSV file, its header row included, is at most zcrm_bulk.max_part_bytes (%zu bytes), so that its zip stays under Zoho CRM's 25 MB.",
						   e->max_bytes),
				 errhint("Leave out or shorten the row's largest values.")));
	if (st == ZCRM_CSV_BAD_UTF8 || st == ZCRM_CSV_NUL)
	{
		for (int i = 0; i < e->nsent; i++)
		{
			size_t		size;

			if (zcrm_csv_row_size(&e->fields[i], &e->lens[i], 1, &size) != ZCRM_CSV_OK)
				ereport(ERROR,
						(errcode(ERRCODE_CHARACTER_NOT_IN_REPERTOIRE),
						 errmsg("column \"%s\" of row " INT64_FORMAT " is not valid UTF-8",
								e->cols[i].name, row),
						 errdetail("%s.", zcrm_csv_status_message(st)),
						 errhint("In a SQL_ASCII database, convert the value in the query, for example with convert_from().")));
		}
	}
	ereport(ERROR,
			(errcode(st == ZCRM_CSV_NO_MEMORY ? ERRCODE_OUT_OF_MEMORY : ERRCODE_INTERNAL_ERROR),
			 errmsg("could not write row " INT64_FORMAT " to the CSV file: %s",
					row, zcrm_csv_status_message(st))));
}

/*
 * add_row
 *	  Format one fetched row and write it to the part, closing the part
 *	  first when it is full.  Returns false when a callback asked to stop.
 */
static bool
add_row(Engine *e, HeapTuple tuple, int64 row)
{
	MemoryContext old;
	ZcrmCsvStatus st;
	int			slot;
	int			idx = 0;

	CHECK_FOR_INTERRUPTS();
	zcrm_http_step();			/* a request in the background goes on */
	old = MemoryContextSwitchTo(e->rowcxt);
	heap_deform_tuple(tuple, e->tupdesc, e->values, e->nulls);
	resetStringInfo(&e->rowbuf);
	for (int i = 0; i < e->tupdesc->natts; i++)
	{
		if (i + 1 == e->key_attno)
			continue;
		e->offs[idx] = e->rowbuf.len;
		zcrm_rowcsv_value(&e->cols[idx], e->values[i], e->nulls[i], row, &e->rowbuf);
		e->lens[idx] = e->rowbuf.len - e->offs[idx];
		idx++;
	}
	for (int i = 0; i < e->nsent; i++)
		e->fields[i] = e->rowbuf.data + e->offs[i];

	if (e->part_rows == e->max_rows && !flush_part(e))
	{
		MemoryContextSwitchTo(old);
		return false;
	}
	st = zcrm_csv_write_row(e->csv, false, e->fields, e->lens, e->nsent);
	if (st == ZCRM_CSV_FULL && e->part_rows > 0)
	{
		if (!flush_part(e))
		{
			MemoryContextSwitchTo(old);
			return false;
		}
		st = zcrm_csv_write_row(e->csv, false, e->fields, e->lens, e->nsent);
	}
	if (st != ZCRM_CSV_OK)
		row_error(e, st, row);

	/* the row's echo and key, kept until the part is handed over */
	MemoryContextSwitchTo(e->partcxt);
	slot = (int) e->part_rows;
	for (int i = 0; i < e->necho; i++)
		e->echo[slot * e->necho + i] = pnstrdup(e->fields[i], e->lens[i]);
	e->keys[slot] = NULL;
	if (e->key_attno)
	{
		MemoryContextSwitchTo(e->rowcxt);
		e->keys[slot] = zcrm_rowcsv_key(&e->keyfn, e->values[e->key_attno - 1],
										e->nulls[e->key_attno - 1]);
		if (e->keys[slot])
			e->keys[slot] = MemoryContextStrdup(e->partcxt, e->keys[slot]);
	}
	e->part_rows++;
	MemoryContextSwitchTo(old);
	MemoryContextReset(e->rowcxt);
	return true;
}

/*
 * run_cursor
 *	  Step 4: fetch every row (in batches that shrink for wide rows) and
 *	  write it; then hand over the last part.
 */
static void
run_cursor(Engine *e, Portal portal)
{
	long		batch = BATCH_ROWS;
	int64		row = 0;

	for (;;)
	{
		SPITupleTable *tuptable;
		uint64		n;
		Size		bytes = 0;

		SPI_cursor_fetch(portal, true, batch);
		tuptable = SPI_tuptable;
		n = SPI_processed;
		if (n == 0)
			break;
		for (uint64 i = 0; i < n; i++)
		{
			bytes += tuptable->vals[i]->t_len;
			if (!add_row(e, tuptable->vals[i], ++row))
			{
				e->result->stopped = true;
				SPI_freetuptable(tuptable);
				return;
			}
		}
		SPI_freetuptable(tuptable);
		if (bytes > BATCH_TARGET_BYTES)
			batch = Max(1, (long) ((double) batch * BATCH_TARGET_BYTES / bytes));
		else if (batch < BATCH_ROWS)
			batch = Min(BATCH_ROWS, batch * 2);
	}
	if (e->part_rows > 0 && !flush_part(e))
		e->result->stopped = true;
}

void
zcrm_prepare(const ZcrmWriteSpec *spec, ZcrmPartCallback cb, void *arg,
			 ZcrmPrepareResult *result)
{
	MemoryContext callercxt = CurrentMemoryContext;
	Engine	   *e;
	SPIPlanPtr	plan;
	Portal		portal;
	int			rc;

	memset(result, 0, sizeof(ZcrmPrepareResult));
	check_spec(spec);

	e = palloc0(sizeof(Engine));
	e->spec = spec;
	e->cb = cb;
	e->arg = arg;
	e->result = result;
	e->part = 1;
	e->first_row = 1;
	e->max_rows = zcrm_max_part_rows;
	e->max_bytes = (size_t) zcrm_max_part_bytes;
	e->cxt = AllocSetContextCreate(callercxt, "zcrm_bulk prepare",
								   ALLOCSET_DEFAULT_SIZES);

	if ((rc = SPI_connect()) != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed: %s", SPI_result_code_string(rc));

	PG_TRY();
	{
		MemoryContext old;
		bool		pushed = false;

		/*
		 * A procedure (CALL) may run without an active snapshot; the query is
		 * then planned and opened on a new one, which the portal keeps.
		 */
		if (!ActiveSnapshotSet())
		{
			PushActiveSnapshot(GetTransactionSnapshot());
			pushed = true;
		}
		plan = SPI_prepare(spec->query, 0, NULL);
		if (plan == NULL)
			elog(ERROR, "SPI_prepare failed: %s", SPI_result_code_string(SPI_result));
		check_select(plan);
		portal = SPI_cursor_open(NULL, plan, NULL, NULL, true);
		if (pushed)
			PopActiveSnapshot();

		old = MemoryContextSwitchTo(e->cxt);
		e->tupdesc = CreateTupleDescCopy(portal->tupDesc);
		setup_columns(e, callercxt);
		e->zip_entry = pg_server_to_any(psprintf("%s.csv", spec->module),
										strlen(spec->module) + 4, PG_UTF8);
		e->values = palloc(sizeof(Datum) * e->tupdesc->natts);
		e->nulls = palloc(sizeof(bool) * e->tupdesc->natts);
		e->offs = palloc(sizeof(int) * e->nsent);
		e->fields = palloc(sizeof(char *) * e->nsent);
		e->lens = palloc(sizeof(size_t) * e->nsent);
		e->keys = palloc(sizeof(char *) * e->max_rows);
		e->echo = palloc(sizeof(char *) * e->max_rows * Max(e->necho, 1));
		initStringInfo(&e->rowbuf);
		e->partcxt = AllocSetContextCreate(e->cxt, "zcrm_bulk prepare part",
										   ALLOCSET_DEFAULT_SIZES);
		e->rowcxt = AllocSetContextCreate(e->cxt, "zcrm_bulk prepare row",
										  ALLOCSET_DEFAULT_SIZES);
		result->nsent = e->nsent;
		result->field_mappings = e->field_mappings;
		MemoryContextSwitchTo(old);

		e->csv = zcrm_csv_create(e->max_bytes);
		if (e->csv == NULL)
			ereport(ERROR,
					(errcode(ERRCODE_OUT_OF_MEMORY),
					 errmsg("out of memory for the CSV writer")));
		write_header(e);

		run_cursor(e, portal);
		SPI_cursor_close(portal);
	}
	PG_FINALLY();
	{
		zcrm_csv_free(e->csv);
		e->csv = NULL;
		free(e->zip);
		e->zip = NULL;
	}
	PG_END_TRY();

	if ((rc = SPI_finish()) != SPI_OK_FINISH)
		elog(ERROR, "SPI_finish failed: %s", SPI_result_code_string(rc));
	MemoryContextDelete(e->cxt);
	pfree(e);
}
