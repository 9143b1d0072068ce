/*-------------------------------------------------------------------------
 *
 * run_store.c
 *	  The tables of bulk write runs, read and written through SPI.
 *
 * See run_store.h.  Arrays go to the server whole (one INSERT ... SELECT
 * FROM unnest() per part), so that storing a part of 25,000 rows is one
 * statement, not 25,000; a part's result rows go into zcrm_write_result
 * with table_multi_insert(), as COPY does, when that has the INSERT's
 * effect (insert_results_direct()).  Values from Zoho (UTF-8) and from prepare.c's
 * CSV (UTF-8) are stored in the database encoding.
 *
 * Copyright (c) 2026, zcrm_bulk developers
 *
 * IDENTIFICATION
 *	  src/run_store.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/heapam.h"
#include "access/table.h"
#include "access/tableam.h"
#include "access/xact.h"
#include "catalog/namespace.h"
#include "catalog/pg_type_d.h"
#include "executor/executor.h"
#include "executor/spi.h"
#include "mb/pg_wchar.h"
#include "miscadmin.h"
#include "nodes/makefuncs.h"
#include "utils/acl.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/jsonb.h"
#include "utils/regproc.h"
#include "utils/rel.h"
#include "utils/rls.h"

#include "match.h"
#include "run_store.h"
#include "utf8text.h"

/*
 * spi_exec
 *		Run sql with nargs parameters (NULL where nulls[i] == 'n') through
 *		SPI, which must be connected, and check the result code; returns
 *		SPI_processed.
 */
static uint64
spi_exec(const char *sql, int nargs, Oid *types, Datum *values,
		 const char *nulls, bool read_only)
{
	int			rc;

	rc = SPI_execute_with_args(sql, nargs, types, values, nulls, read_only, 0);
	if (rc < 0)
		elog(ERROR, "SPI_execute_with_args failed: %s", SPI_result_code_string(rc));
	return SPI_processed;
}

/*
 * spi_text
 *		Column col of row 0 of SPI_tuptable as text, copied to the context
 *		current at SPI_connect() (so it outlives SPI_finish()); NULL for
 *		NULL.
 */
static char *
spi_text(int col)
{
	char	   *s = SPI_getvalue(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, col);
	char	   *copy;

	if (s == NULL)
		return NULL;
	copy = SPI_palloc(strlen(s) + 1);
	strcpy(copy, s);
	return copy;
}

/* Column col of row 0 of SPI_tuptable as a datum; *isnull set. */
static Datum
spi_datum(int col, bool *isnull)
{
	return SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, col, isnull);
}

/*
 * SPI_copy_cstring
 *		A copy of s in the memory of the procedure that called SPI_connect()
 *		(it outlives SPI_finish()).
 */
static char *
SPI_copy_cstring(const char *s)
{
	size_t		len = strlen(s);
	char	   *copy = SPI_palloc(len + 1);

	memcpy(copy, s, len + 1);
	return copy;
}

/* A text datum as a C string, copied as SPI_copy_cstring() copies. */
static char *
SPI_text(Datum d)
{
	text	   *t = DatumGetTextPP(d);
	size_t		len = VARSIZE_ANY_EXHDR(t);
	char	   *copy = SPI_palloc(len + 1);

	memcpy(copy, VARDATA_ANY(t), len);
	copy[len] = '\0';
	return copy;
}

/*
 * text_array
 *		A 1-D text[] of the n C strings vals[] (NULL elements where vals[i]
 *		is NULL).
 */
static Datum
text_array(char **vals, int n)
{
	Datum	   *elems = palloc(sizeof(Datum) * (n > 0 ? n : 1));
	bool	   *nulls = palloc(sizeof(bool) * (n > 0 ? n : 1));
	int			dims[1] = {n};
	int			lbs[1] = {1};

	for (int i = 0; i < n; i++)
	{
		nulls[i] = (vals[i] == NULL);
		elems[i] = nulls[i] ? (Datum) 0 : CStringGetTextDatum(vals[i]);
	}
	if (n == 0)
		return PointerGetDatum(construct_empty_array(TEXTOID));
	return PointerGetDatum(construct_md_array(elems, nulls, 1, dims, lbs,
											  TEXTOID, -1, false, TYPALIGN_INT));
}

/* A 1-D int8[] of the n values vals[], NULL where vals[i] < 0. */
static Datum
int8_array(const int64 *vals, int n)
{
	Datum	   *elems = palloc(sizeof(Datum) * (n > 0 ? n : 1));
	bool	   *nulls = palloc(sizeof(bool) * (n > 0 ? n : 1));
	int			dims[1] = {n};
	int			lbs[1] = {1};

	if (n == 0)
		return PointerGetDatum(construct_empty_array(INT8OID));
	for (int i = 0; i < n; i++)
	{
		nulls[i] = (vals[i] < 0);
		elems[i] = Int64GetDatum(vals[i]);
	}
	return PointerGetDatum(construct_md_array(elems, nulls, 1, dims, lbs,
											  INT8OID, 8, FLOAT8PASSBYVAL, TYPALIGN_DOUBLE));
}

/*
 * to_server
 *		A value of a result file or a prepared row's echo (UTF-8, checked
 *		by result.c and rowcsv.c) in the database encoding, or NULL.
 */
static char *
to_server(const char *s)
{
	if (s == NULL)
		return NULL;
	return zcrm_utf8_to_server(s, strlen(s));
}

/*
 * echo_columns
 *		The names of the columns Zoho echoes in a result file, in order:
 *		the first three of the run's field mappings by index.  Returns how
 *		many (0 to 3) and fills names[].
 */
static int
echo_columns(const char *schema, int64 run_id, char **names)
{
	Oid			types[1] = {INT8OID};
	Datum		values[1] = {Int64GetDatum(run_id)};
	uint64		n;

	SPI_connect();
	n = spi_exec(psprintf("SELECT e OPERATOR(pg_catalog.->>) 'api_name' "
						  "FROM %s.zcrm_write_run AS r, "
						  "pg_catalog.jsonb_array_elements(r.field_mappings) AS e "
						  "WHERE r.run_id OPERATOR(pg_catalog.=) $1 "
						  "AND e OPERATOR(pg_catalog.?) 'index' "
						  "ORDER BY (e OPERATOR(pg_catalog.->>) 'index')::pg_catalog.int4 LIMIT 3",
						  schema), 1, types, values, NULL, true);
	for (uint64 i = 0; i < n; i++)
	{
		char	   *s = SPI_getvalue(SPI_tuptable->vals[i], SPI_tuptable->tupdesc, 1);

		names[i] = SPI_palloc(strlen(s) + 1);
		strcpy(names[i], s);
	}
	SPI_finish();
	return (int) n;
}

/* See run_store.h. */
void
zcrm_run_read_spec(const char *schema, int64 run_id, ZcrmWriteSpec *spec,
				   char **state)
{
	Oid			types[1] = {INT8OID};
	Datum		values[1] = {Int64GetDatum(run_id)};
	bool		isnull;

	SPI_connect();
	if (spi_exec(psprintf("SELECT r.state, r.module, r.operation, r.find_by, r.key_column, r.ignore_empty "
						  "FROM %s.zcrm_write_run AS r WHERE r.run_id OPERATOR(pg_catalog.=) $1 FOR UPDATE",
						  schema), 1, types, values, NULL, false) != 1)
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_OBJECT),
				 errmsg("bulk write run " INT64_FORMAT " does not exist", run_id),
				 errhint("Look the run up in zcrm_write_run, as the role that submitted it.")));
	*state = spi_text(1);
	spec->module = spi_text(2);
	spec->operation = spi_text(3);
	spec->find_by = spi_text(4);
	spec->key_column = spi_text(5);
	spec->ignore_empty = DatumGetBool(spi_datum(6, &isnull));
	SPI_finish();
}

/* See run_store.h. */
void
zcrm_run_finish_prepare(const char *schema, int64 run_id,
						const ZcrmPrepareResult *result)
{
	Oid			types[4] = {INT8OID, INT8OID, INT4OID, JSONBOID};
	Datum		values[4];

	values[0] = Int64GetDatum(run_id);
	values[1] = Int64GetDatum(result->rows);
	values[2] = Int32GetDatum(result->parts);
	values[3] = JsonbPGetDatum(result->field_mappings);
	SPI_connect();
	spi_exec(psprintf("UPDATE %s.zcrm_write_run AS r SET rows = $2, parts = $3, field_mappings = $4, "
					  "state = CASE WHEN $3 OPERATOR(pg_catalog.=) 0 THEN 'completed' ELSE 'prepared' END, "
					  "finished_at = CASE WHEN $3 OPERATOR(pg_catalog.=) 0 THEN pg_catalog.clock_timestamp() END "
					  "WHERE r.run_id OPERATOR(pg_catalog.=) $1", schema),
			 4, types, values, NULL, false);
	SPI_finish();
}

/* See run_store.h. */
void
zcrm_run_track(const char *schema, const char *job_id, const char *connection)
{
	Oid			types[2] = {TEXTOID, TEXTOID};
	Datum		values[2];
	char		nulls[2] = {' ', connection ? ' ' : 'n'};

	values[0] = CStringGetTextDatum(job_id);
	values[1] = connection ? CStringGetTextDatum(connection) : (Datum) 0;
	SPI_connect();
	spi_exec(psprintf("SELECT %s.zcrm_track_job($1, $2)", schema),
			 2, types, values, nulls, false);
	SPI_finish();
}

/* See run_store.h. */
int64
zcrm_run_count_results(const char *schema, const ZcrmRunPart *rp)
{
	Oid			types[2] = {INT8OID, INT4OID};
	Datum		values[2] = {Int64GetDatum(rp->run_id), Int32GetDatum(rp->part)};
	bool		isnull;
	int64		n;

	SPI_connect();
	/* (not read-only: a fresh snapshot sees what a collector just committed) */
	spi_exec(psprintf("SELECT pg_catalog.count(*) FROM %s.zcrm_write_result AS w "
					  "WHERE w.run_id OPERATOR(pg_catalog.=) $1 AND w.part OPERATOR(pg_catalog.=) $2",
					  schema), 2, types, values, NULL, false);
	n = DatumGetInt64(spi_datum(1, &isnull));
	SPI_finish();
	return n;
}

/* See run_store.h. */
void
zcrm_run_mark_collected(const char *schema, const ZcrmRunPart *rp, const char *note)
{
	Oid			types[3] = {INT8OID, INT4OID, TEXTOID};
	Datum		values[3];
	char		nulls[3] = {' ', ' ', note ? ' ' : 'n'};

	values[0] = Int64GetDatum(rp->run_id);
	values[1] = Int32GetDatum(rp->part);
	values[2] = note ? CStringGetTextDatum(note) : (Datum) 0;
	SPI_connect();
	spi_exec(psprintf("UPDATE %s.zcrm_write_run_job AS j SET state = 'completed', last_error = $3, "
					  "updated_at = pg_catalog.clock_timestamp() "
					  "WHERE j.run_id OPERATOR(pg_catalog.=) $1 AND j.part OPERATOR(pg_catalog.=) $2",
					  schema), 3, types, values, nulls, false);
	spi_exec(psprintf("UPDATE %s.zcrm_write_run AS r SET state = 'completed', "
					  "finished_at = pg_catalog.clock_timestamp() "
					  "WHERE r.run_id OPERATOR(pg_catalog.=) $1 "
					  "AND r.state OPERATOR(pg_catalog.=) ANY ('{sending,submitted}'::pg_catalog.text[]) "
					  "AND NOT EXISTS (SELECT FROM %s.zcrm_write_run_job AS j "
					  "WHERE j.run_id OPERATOR(pg_catalog.=) $1 "
					  "AND j.state OPERATOR(pg_catalog.<>) 'completed')",
					  schema, schema), 1, types, values, NULL, false);
	SPI_finish();
}

/* See run_store.h. */
bool
zcrm_run_store_part(const ZcrmWritePart *p, void *arg)
{
	ZcrmRunStore *st = (ZcrmRunStore *) arg;
	Oid			types[8] = {INT8OID, INT4OID, INT8OID, INT8OID, INT8OID, BYTEAOID,
	TEXTARRAYOID, TEXTARRAYOID};
	Datum		values[8];
	bytea	   *zip;
	char	  **echo[ZCRM_MAX_ECHO];
	int			n = (int) p->rows;
	Datum		e[ZCRM_MAX_ECHO];

	zip = palloc(p->zip_len + VARHDRSZ);
	SET_VARSIZE(zip, p->zip_len + VARHDRSZ);
	memcpy(VARDATA(zip), p->zip, p->zip_len);
	values[0] = Int64GetDatum(st->run_id);
	values[1] = Int32GetDatum(p->part);
	values[2] = Int64GetDatum(p->first_row);
	values[3] = Int64GetDatum(p->last_row);
	values[4] = Int64GetDatum((int64) p->csv_len);
	values[5] = PointerGetDatum(zip);
	spi_exec(psprintf("INSERT INTO %s.zcrm_write_run_job AS j "
					  "(run_id, part, first_row, last_row, csv_bytes, zip_bytes, zip) "
					  "VALUES ($1, $2, $3, $4, $5, pg_catalog.length($6), $6)", st->schema),
			 6, types, values, NULL, false);
	pfree(zip);

	for (int j = 0; j < ZCRM_MAX_ECHO; j++)
	{
		echo[j] = palloc(sizeof(char *) * (n > 0 ? n : 1));
		for (int i = 0; i < n; i++)
			echo[j][i] = j < p->necho ? to_server(p->echo[(size_t) i * p->necho + j]) : NULL;
		e[j] = text_array(echo[j], j < p->necho ? n : 0);
		CHECK_FOR_INTERRUPTS();
	}
	values[2] = Int64GetDatum(p->first_row);
	values[3] = text_array(p->source_keys, n);
	values[4] = e[0];
	values[5] = e[1];
	values[6] = e[2];
	values[7] = Int32GetDatum(p->necho);
	types[3] = TEXTARRAYOID;
	types[4] = TEXTARRAYOID;
	types[5] = TEXTARRAYOID;
	types[6] = TEXTARRAYOID;
	types[7] = INT4OID;
	spi_exec(psprintf("INSERT INTO %s.zcrm_write_source_part AS s "
					  "(run_id, part, first_row, source_keys, echo1, echo2, echo3, necho) "
					  "VALUES ($1, $2, $3, $4, $5, $6, $7, $8)", st->schema),
			 8, types, values, NULL, false);
	return true;
}

/* See run_store.h. */
void
zcrm_run_read_part(const char *schema, int64 run_id, int32 part, bool want_zip, bool lock,
				   ZcrmRunPart *rp)
{
	Oid			types[2] = {INT8OID, INT4OID};
	Datum		values[2] = {Int64GetDatum(run_id), Int32GetDatum(part)};
	char	   *sql;
	bool		isnull;
	Datum		d;

	memset(rp, 0, sizeof(*rp));
	rp->run_id = run_id;
	rp->part = part;
	sql = psprintf("SELECT j.state, j.first_row, j.last_row, j.file_id, j.job_id, %s, "
				   "r.module, r.operation, r.find_by, r.ignore_empty, r.field_mappings, r.connection "
				   "FROM %s.zcrm_write_run_job AS j JOIN %s.zcrm_write_run AS r "
				   "ON r.run_id OPERATOR(pg_catalog.=) j.run_id "
				   "WHERE j.run_id OPERATOR(pg_catalog.=) $1 AND j.part OPERATOR(pg_catalog.=) $2%s",
				   want_zip ? "j.zip" : "NULL::pg_catalog.bytea", schema, schema,
				   lock ? " FOR UPDATE OF j" : "");
	SPI_connect();
	if (spi_exec(sql, 2, types, values, NULL, !lock) != 1)
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_OBJECT),
				 errmsg("part %d of bulk write run " INT64_FORMAT " does not exist", part, run_id),
				 errhint("Look the run up in zcrm_write_run_job, as the role that submitted it.")));
	rp->state = spi_text(1);
	rp->first_row = DatumGetInt64(spi_datum(2, &isnull));
	rp->last_row = DatumGetInt64(spi_datum(3, &isnull));
	rp->file_id = spi_text(4);
	rp->job_id = spi_text(5);
	d = spi_datum(6, &isnull);
	if (!isnull)
	{
		bytea	   *zip = DatumGetByteaPP(d);
		Size		len = VARSIZE_ANY_EXHDR(zip);

		rp->zip = SPI_palloc(len + VARHDRSZ);
		SET_VARSIZE(rp->zip, len + VARHDRSZ);
		memcpy(VARDATA(rp->zip), VARDATA_ANY(zip), len);
	}
	rp->module = spi_text(7);
	rp->operation = spi_text(8);
	rp->find_by = spi_text(9);
	rp->ignore_empty = DatumGetBool(spi_datum(10, &isnull));
	rp->field_mappings = spi_text(11);
	rp->connection = spi_text(12);
	SPI_finish();
}

/* See run_store.h. */
bool
zcrm_run_set_part(const char *schema, const ZcrmRunPart *rp, const char *from, const char *state,
				  const char *column, const char *value, bool drop_zip)
{
	Oid			types[3] = {INT8OID, INT4OID, TEXTOID};
	Datum		values[3];
	uint64		n;

	values[0] = Int64GetDatum(rp->run_id);
	values[1] = Int32GetDatum(rp->part);
	values[2] = value ? CStringGetTextDatum(value) : (Datum) 0;
	SPI_connect();
	n = spi_exec(psprintf("UPDATE %s.zcrm_write_run_job AS j SET state = %s%s%s, "
						  "updated_at = pg_catalog.clock_timestamp() "
						  "WHERE j.run_id OPERATOR(pg_catalog.=) $1 AND j.part OPERATOR(pg_catalog.=) $2 "
						  "AND j.state OPERATOR(pg_catalog.=) ANY (%s::pg_catalog.text[])",
						  schema, quote_literal_cstr(state),
						  column ? psprintf(", %s = $3", column) : "",
						  drop_zip ? ", zip = NULL" : "",
						  quote_literal_cstr(from)),
				 column ? 3 : 2, types, values, NULL, false);
	SPI_finish();
	return n == 1;
}

/* See run_store.h. */
void
zcrm_run_record_refusal(const char *schema, const ZcrmRunPart *rp, const char *error)
{
	Oid			types[3] = {INT8OID, INT4OID, TEXTOID};
	Datum		values[3];

	values[0] = Int64GetDatum(rp->run_id);
	values[1] = Int32GetDatum(rp->part);
	values[2] = CStringGetTextDatum(error);
	SPI_connect();
	spi_exec(psprintf("UPDATE %s.zcrm_write_run_job AS j SET state = 'failed', last_error = $3, "
					  "updated_at = pg_catalog.clock_timestamp() "
					  "WHERE j.run_id OPERATOR(pg_catalog.=) $1 AND j.part OPERATOR(pg_catalog.=) $2",
					  schema), 3, types, values, NULL, false);
	spi_exec(psprintf("UPDATE %s.zcrm_write_run AS r SET state = 'failed', "
					  "last_error = pg_catalog.format('part %%s: %%s', $2, $3) "
					  "WHERE r.run_id OPERATOR(pg_catalog.=) $1",
					  schema), 3, types, values, NULL, false);
	SPI_finish();
}

/* The columns of zcrm_write_result, in order, for insert_results_direct(). */
static const struct
{
	const char *name;
	Oid			type;
	bool		notnull;
}			result_columns[] =

{
	{"run_id", INT8OID, true},
	{"part", INT4OID, true},
	{"job_id", TEXTOID, true},
	{"row_number", INT8OID, false},
	{"source_key", TEXTOID, false},
	{"status", TEXTOID, true},
	{"record_id", TEXTOID, false},
	{"errors", JSONBOID, false},
	{"result_row", INT8OID, true}
};

#define RESULT_NCOLS	lengthof(result_columns)

/* Rows handed to table_multi_insert() at a time. */
#define RESULT_BATCH	1000

/*
 * direct_insert_allowed
 *		Whether the rows of zcrm_write_result may be inserted without the
 *		executor (insert_results_direct()) with the same effect as the
 *		INSERT: the table is a plain table, not a partition, with exactly
 *		the columns above (their NOT NULL as shipped, no identity, nothing
 *		generated), no trigger, no rule, no CHECK constraint and no
 *		row-level security that applies to the current user, who may
 *		INSERT into it; the transaction is not read-only and no hook checks
 *		the executor's permissions.  Otherwise the caller runs the INSERT.
 */
static bool
direct_insert_allowed(Relation rel)
{
	TupleDesc	desc = RelationGetDescr(rel);

	if (rel->rd_rel->relkind != RELKIND_RELATION || rel->rd_rel->relispartition ||
		rel->rd_rel->relhasrules || rel->trigdesc != NULL ||
		(desc->constr && desc->constr->num_check > 0) ||
		desc->natts != (int) RESULT_NCOLS || XactReadOnly ||
		ExecutorCheckPerms_hook != NULL)
		return false;
	for (int i = 0; i < desc->natts; i++)
	{
		Form_pg_attribute a = TupleDescAttr(desc, i);

		if (a->attisdropped || a->atttypid != result_columns[i].type ||
			strcmp(NameStr(a->attname), result_columns[i].name) != 0 ||
			a->attnotnull != result_columns[i].notnull ||
			a->attidentity != '\0' || a->attgenerated != '\0')
			return false;
	}
	return pg_class_aclcheck(RelationGetRelid(rel), GetUserId(), ACL_INSERT) == ACLCHECK_OK &&
		check_enable_rls(RelationGetRelid(rel), InvalidOid, true) != RLS_ENABLED;
}

/*
 * insert_results_direct
 *		Insert part rp's n result rows into zcrm_write_result with
 *		table_multi_insert() and the table's indexes, as COPY does, when
 *		direct_insert_allowed() (a few times faster than the INSERT ...
 *		SELECT FROM unnest(), whose function scan stores every array in a
 *		tuplestore first); returns false, having done nothing, otherwise.
 *		row_numbers[i] is -1 for NULL; the errors are JSON text or NULL.
 */
static bool
insert_results_direct(const char *schema, const ZcrmRunPart *rp, int n,
					  const int64 *row_numbers, char **keys, char **statuses,
					  char **record_ids, char **errors)
{
	RangeVar   *rv = makeRangeVarFromNameList(stringToQualifiedNameList(
																		psprintf("%s.zcrm_write_result", schema)));
	Relation	rel = table_openrv(rv, RowExclusiveLock);
	EState	   *estate;
	ResultRelInfo *rri;
	BulkInsertState bistate;
	TupleTableSlot *slots[RESULT_BATCH];
	CommandId	cid;
	Datum		job_id;

	if (!direct_insert_allowed(rel))
	{
		table_close(rel, RowExclusiveLock);
		return false;
	}
	estate = CreateExecutorState();
	rri = makeNode(ResultRelInfo);
	InitResultRelInfo(rri, rel, 1, NULL, 0);
	ExecOpenIndices(rri, false);
	bistate = GetBulkInsertState();
	cid = GetCurrentCommandId(true);
	job_id = CStringGetTextDatum(rp->job_id);
	for (int s = 0; s < RESULT_BATCH; s++)
		slots[s] = table_slot_create(rel, NULL);

	for (int start = 0; start < n; start += RESULT_BATCH)
	{
		int			m = Min(RESULT_BATCH, n - start);
		MemoryContext old;

		CHECK_FOR_INTERRUPTS();
		ResetPerTupleExprContext(estate);
		old = MemoryContextSwitchTo(GetPerTupleMemoryContext(estate));
		for (int k = 0; k < m; k++)
		{
			int			r = start + k;
			TupleTableSlot *slot = slots[k];
			Datum	   *v = slot->tts_values;
			bool	   *isnull = slot->tts_isnull;

			ExecClearTuple(slot);
			v[0] = Int64GetDatum(rp->run_id);
			v[1] = Int32GetDatum(rp->part);
			v[2] = job_id;
			v[3] = Int64GetDatum(row_numbers[r]);
			v[4] = keys[r] ? CStringGetTextDatum(keys[r]) : (Datum) 0;
			v[5] = CStringGetTextDatum(statuses[r]);
			v[6] = record_ids[r] ? CStringGetTextDatum(record_ids[r]) : (Datum) 0;
			v[7] = errors[r] ? DirectFunctionCall1(jsonb_in, CStringGetDatum(errors[r]))
				: (Datum) 0;
			v[8] = Int64GetDatum((int64) r + 1);
			memset(isnull, false, sizeof(bool) * RESULT_NCOLS);
			isnull[3] = (row_numbers[r] < 0);
			isnull[4] = (keys[r] == NULL);
			isnull[6] = (record_ids[r] == NULL);
			isnull[7] = (errors[r] == NULL);
			ExecStoreVirtualTuple(slot);
		}
		/* (as COPY: what the insert allocates goes with the batch) */
		table_multi_insert(rel, slots, m, cid, 0, bistate);
		for (int k = 0; k < m; k++)
			(void) ExecInsertIndexTuples(rri, slots[k], estate, false, false, NULL, NIL);
		MemoryContextSwitchTo(old);
	}

	for (int s = 0; s < RESULT_BATCH; s++)
		ExecDropSingleTupleTableSlot(slots[s]);
	FreeBulkInsertState(bistate);
	ExecCloseIndices(rri);
	FreeExecutorState(estate);
	table_close(rel, NoLock);
	CommandCounterIncrement();
	return true;
}

/* See run_store.h. */
int64
zcrm_run_store_results(const char *schema, const ZcrmRunPart *rp, const ZcrmResultFile *f,
					   size_t *unmatched)
{
	char	   *names[3];
	int			k = echo_columns(schema, rp->run_id, names);
	size_t		nres = zcrm_result_nrows(f);
	size_t		nsrc;
	const char **src;
	int64	   *src_rows;
	char	  **src_keys;
	long	   *source_of;
	ZcrmMatchOutcome mo;
	Oid			types[8] = {INT8OID, INT4OID, TEXTOID, INT8ARRAYOID, TEXTARRAYOID,
	TEXTARRAYOID, TEXTARRAYOID, TEXTARRAYOID};
	Datum		values[8];
	int64	   *row_numbers;
	char	  **keys;
	char	  **statuses;
	char	  **record_ids;
	char	  **errors;

	/* the part's source rows, in order: one row of per-part arrays */
	{
		Oid			t[2] = {INT8OID, INT4OID};
		Datum		v[2] = {Int64GetDatum(rp->run_id), Int32GetDatum(rp->part)};
		TupleDesc	td;
		HeapTuple	tup;
		bool		isnull;
		int64		first;
		Datum	   *kelems;
		bool	   *knulls;
		int			nkeys;
		Datum	   *eelems[ZCRM_MAX_ECHO];
		bool	   *enulls[ZCRM_MAX_ECHO];
		int			neelems[ZCRM_MAX_ECHO];

		SPI_connect();
		if (spi_exec(psprintf("SELECT s.first_row, s.source_keys, s.echo1, s.echo2, s.echo3 "
							  "FROM %s.zcrm_write_source_part AS s "
							  "WHERE s.run_id OPERATOR(pg_catalog.=) $1 "
							  "AND s.part OPERATOR(pg_catalog.=) $2",
							  schema), 2, t, v, NULL, true) != 1)
			ereport(ERROR,
					(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
					 errmsg("part %d of bulk write run " INT64_FORMAT " has no source rows",
							rp->part, rp->run_id)));
		td = SPI_tuptable->tupdesc;
		tup = SPI_tuptable->vals[0];
		first = DatumGetInt64(SPI_getbinval(tup, td, 1, &isnull));
		deconstruct_array(DatumGetArrayTypeP(SPI_getbinval(tup, td, 2, &isnull)),
						  TEXTOID, -1, false, TYPALIGN_INT, &kelems, &knulls, &nkeys);
		for (int j = 0; j < k; j++)
		{
			Datum		d = SPI_getbinval(tup, td, 3 + j, &isnull);

			neelems[j] = 0;
			if (!isnull)
				deconstruct_array(DatumGetArrayTypeP(d), TEXTOID, -1, false, TYPALIGN_INT,
								  &eelems[j], &enulls[j], &neelems[j]);
		}
		nsrc = (size_t) nkeys;
		src = SPI_palloc(sizeof(char *) * (nsrc * k + 1));
		src_rows = SPI_palloc(sizeof(int64) * (nsrc + 1));
		src_keys = SPI_palloc(sizeof(char *) * (nsrc + 1));
		for (size_t i = 0; i < nsrc; i++)
		{
			if ((i & 1023) == 0)
				CHECK_FOR_INTERRUPTS();
			src_rows[i] = first + (int64) i;
			src_keys[i] = knulls[i] ? NULL : SPI_text(kelems[i]);
			for (int j = 0; j < k; j++)
			{
				bool		has = (int) i < neelems[j] && !enulls[j][i];
				char	   *e = has ? TextDatumGetCString(eelems[j][i]) : "";
				char	   *conv = pg_server_to_any(e, strlen(e), PG_UTF8);

				src[i * k + j] = (conv == e && has) ? SPI_copy_cstring(e)
					: SPI_copy_cstring(conv);
			}
		}
		SPI_finish();
	}

	source_of = palloc(sizeof(long) * (nres + 1));
	if (!zcrm_result_match(f, k, (const char *const *) names, nsrc, src, source_of, &mo))
		ereport(ERROR,
				(errcode(ERRCODE_OUT_OF_MEMORY),
				 errmsg("out of memory while matching a result file to its source rows")));

	row_numbers = palloc(sizeof(int64) * (nres + 1));
	keys = palloc(sizeof(char *) * (nres + 1));
	statuses = palloc(sizeof(char *) * (nres + 1));
	record_ids = palloc(sizeof(char *) * (nres + 1));
	errors = palloc(sizeof(char *) * (nres + 1));
	for (size_t r = 0; r < nres; r++)
	{
		const char *status = zcrm_result_status(f, r);
		const char *rid = zcrm_result_record_id(f, r);
		const char *etext = zcrm_result_errors(f, r);
		char	   *json = NULL;

		CHECK_FOR_INTERRUPTS();
		row_numbers[r] = source_of[r] >= 0 ? src_rows[source_of[r]] : -1;
		keys[r] = source_of[r] >= 0 ? src_keys[source_of[r]] : NULL;
		statuses[r] = to_server(status ? status : "");
		record_ids[r] = (rid && *rid) ? to_server(rid) : NULL;
		errors[r] = NULL;
		if (etext && *etext)
		{
			if (zcrm_result_errors_json(etext, &json) != ZCRM_RESULT_OK)
				ereport(ERROR,
						(errcode(ERRCODE_OUT_OF_MEMORY),
						 errmsg("out of memory while reading the errors of a result row")));
			if (json)
			{
				/* (to_server() may return its argument) */
				errors[r] = pstrdup(to_server(json));
				free(json);
			}
		}
	}

	if (insert_results_direct(schema, rp, (int) nres, row_numbers, keys, statuses,
							  record_ids, errors))
	{
		*unmatched = mo.unmatched;
		return (int64) nres;
	}
	values[0] = Int64GetDatum(rp->run_id);
	values[1] = Int32GetDatum(rp->part);
	values[2] = CStringGetTextDatum(rp->job_id);
	values[3] = int8_array(row_numbers, (int) nres);
	values[4] = text_array(keys, (int) nres);
	values[5] = text_array(statuses, (int) nres);
	values[6] = text_array(record_ids, (int) nres);
	values[7] = text_array(errors, (int) nres);
	SPI_connect();
	spi_exec(psprintf("INSERT INTO %s.zcrm_write_result AS w "
					  "(run_id, part, job_id, row_number, source_key, status, record_id, errors, result_row) "
					  "SELECT $1, $2, $3, u.rn, u.sk, u.st, u.rid, u.err::pg_catalog.jsonb, u.o "
					  "FROM ROWS FROM (pg_catalog.unnest($4), pg_catalog.unnest($5), pg_catalog.unnest($6), "
					  "pg_catalog.unnest($7), pg_catalog.unnest($8)) WITH ORDINALITY AS u(rn, sk, st, rid, err, o)",
					  schema), 8, types, values, NULL, false);
	SPI_finish();
	*unmatched = mo.unmatched;
	return (int64) nres;
}

/* See run_store.h. */
char *
zcrm_run_find_org(const char *schema, const char *org_key)
{
	Oid			types[1] = {TEXTOID};
	Datum		values[1] = {CStringGetTextDatum(org_key)};
	char	   *org_id = NULL;

	SPI_connect();
	if (spi_exec(psprintf("SELECT r.org_id FROM %s.zcrm_write_run AS r "
						  "WHERE r.org_key OPERATOR(pg_catalog.=) $1 "
						  "AND r.submitted_by OPERATOR(pg_catalog.=) "
						  "pg_catalog.current_user()::pg_catalog.regrole "
						  "ORDER BY r.run_id DESC LIMIT 1",
						  schema), 1, types, values, NULL, true) == 1)
		org_id = spi_text(1);
	SPI_finish();
	return org_id;
}

/* See run_store.h. */
void
zcrm_run_record_org(const char *schema, int64 run_id, const char *org_key,
					const char *org_id)
{
	Oid			types[3] = {INT8OID, TEXTOID, TEXTOID};
	Datum		values[3];
	char		nulls[3] = {' ', ' ', org_id ? ' ' : 'n'};

	values[0] = Int64GetDatum(run_id);
	values[1] = CStringGetTextDatum(org_key);
	values[2] = org_id ? CStringGetTextDatum(org_id) : (Datum) 0;
	SPI_connect();
	spi_exec(psprintf("UPDATE %s.zcrm_write_run AS r SET org_key = $2, org_id = $3 "
					  "WHERE r.run_id OPERATOR(pg_catalog.=) $1",
					  schema), 3, types, values, nulls, false);
	SPI_finish();
}
