/*-------------------------------------------------------------------------
 *
 * connections.c
 *	  Named connections: create, alter, drop, grant, list, look up.
 *
 * The credentials live in the extension's tables zcrm_connection and
 * zcrm_connection_grant, on which PUBLIC has no privileges.  The functions
 * here check the caller's rights themselves (GetUserId(): the role that
 * calls, whatever SET ROLE made it) and then run their statements through
 * SPI as the owner of those tables, with search_path pinned to pg_catalog
 * so that no object of the caller's can take part.  No function returns a
 * client secret or a refresh token, and no error quotes one: arguments are
 * validated before anything is written, so no constraint violation can
 * print a failing row.
 *
 * Who may do what:
 *	- create: whoever has EXECUTE on zcrm_connection_create (not PUBLIC);
 *	  the creator becomes the owner;
 *	- alter, drop, grant, revoke: the owner (or a member of the owner role)
 *	  and superusers;
 *	- use: the owner, the roles it was granted to (and their members) and
 *	  superusers;
 *	- an accounts server or API domain other than Zoho's own can only be
 *	  set by a superuser, so that nobody else can aim requests carrying
 *	  secrets at a host of their choosing.
 *
 * Copyright (c) 2026, zcrm_bulk developers
 *
 * IDENTIFICATION
 *	  src/connections.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/genam.h"
#include "access/htup_details.h"
#include "access/skey.h"
#include "access/table.h"
#include "catalog/indexing.h"
#include "catalog/pg_class.h"
#include "catalog/pg_extension.h"
#include "catalog/pg_type.h"
#include "commands/extension.h"
#include "executor/spi.h"
#include "fmgr.h"
#include "funcapi.h"
#include "miscadmin.h"
#include "utils/acl.h"
#include "utils/array.h"
#include "utils/fmgroids.h"
#include "utils/builtins.h"
#include "utils/guc.h"
#include "utils/inval.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/syscache.h"

#include "connections.h"
#include "settings.h"

PG_FUNCTION_INFO_V1(zcrm_connection_create);
PG_FUNCTION_INFO_V1(zcrm_connection_alter);
PG_FUNCTION_INFO_V1(zcrm_connection_drop);
PG_FUNCTION_INFO_V1(zcrm_connection_grant);
PG_FUNCTION_INFO_V1(zcrm_connection_revoke);
PG_FUNCTION_INFO_V1(zcrm_connections);

#define ZCRM_MAX_NAME_LEN		63
#define ZCRM_MAX_SECRET_LEN		1024

/* Zoho's accounts servers, one per data centre. */
static const char *const zoho_accounts_servers[] = {
	"https://accounts.zoho.com", "https://accounts.zoho.eu",
	"https://accounts.zoho.in", "https://accounts.zoho.com.au",
	"https://accounts.zoho.jp", "https://accounts.zoho.com.cn",
	"https://accounts.zohocloud.ca", "https://accounts.zoho.sa",
	"https://accounts.zoho.uk",
};

/* Top-level domains of Zoho's API domains. */
static const char *const zoho_api_tlds[] = {
	"com", "eu", "in", "com.au", "jp", "com.cn", "ca", "sa", "uk",
};

/* A stored row as the SPI callbacks see it. */
typedef void (*ZcrmRowCallback) (HeapTuple tuple, TupleDesc desc, void *arg);

/*
 * strip_slash
 *		A palloc'd copy of a URL without its trailing slash.
 */
static char *
strip_slash(const char *url)
{
	char	   *copy = pstrdup(url);
	size_t		len = strlen(copy);

	if (len > 0 && copy[len - 1] == '/')
		copy[len - 1] = '\0';
	return copy;
}

/*
 * zcrm_is_zoho_accounts_server
 *		See connections.h.
 */
bool
zcrm_is_zoho_accounts_server(const char *url)
{
	char	   *u = strip_slash(url);

	for (int i = 0; i < lengthof(zoho_accounts_servers); i++)
	{
		if (pg_strcasecmp(u, zoho_accounts_servers[i]) == 0)
			return true;
	}
	return false;
}

/*
 * zcrm_is_zoho_api_domain
 *		See connections.h.
 */
bool
zcrm_is_zoho_api_domain(const char *url)
{
	static const char *const hosts[] = {"www", "sandbox", "developer"};
	char	   *u = strip_slash(url);

	for (int h = 0; h < lengthof(hosts); h++)
	{
		for (int t = 0; t < lengthof(zoho_api_tlds); t++)
		{
			char	   *candidate = psprintf("https://%s.zohoapis.%s",
											 hosts[h], zoho_api_tlds[t]);

			if (pg_strcasecmp(u, candidate) == 0)
				return true;
		}
	}
	return false;
}

/*
 * extension_schema
 *		The schema zcrm_bulk is installed in (PostgreSQL 15 exports no
 *		function for this, so pg_extension is read directly).
 */
static Oid
extension_schema(void)
{
	Oid			extoid = get_extension_oid("zcrm_bulk", false);
	Oid			nspid = InvalidOid;
	Relation	rel;
	ScanKeyData key;
	SysScanDesc scan;
	HeapTuple	tuple;

	rel = table_open(ExtensionRelationId, AccessShareLock);
	ScanKeyInit(&key, Anum_pg_extension_oid, BTEqualStrategyNumber, F_OIDEQ,
				ObjectIdGetDatum(extoid));
	scan = systable_beginscan(rel, ExtensionOidIndexId, true, NULL, 1, &key);
	tuple = systable_getnext(scan);
	if (HeapTupleIsValid(tuple))
		nspid = ((Form_pg_extension) GETSTRUCT(tuple))->extnamespace;
	systable_endscan(scan);
	table_close(rel, AccessShareLock);
	if (!OidIsValid(nspid))
		elog(ERROR, "could not find the schema of extension zcrm_bulk");
	return nspid;
}

/*
 * Where the extension's tables are, who owns them, and the prepared plans
 * of the two statements that every call through a connection runs, cached
 * for the backend's life: looking them up anew (two scans of pg_extension,
 * and parsing and planning both statements) cost more than the rest of
 * such a call.  A relcache invalidation of either table (DROP EXTENSION,
 * ALTER TABLE ... OWNER TO, a cache reset) marks the cache stale, and the
 * next use rebuilds it; "generation" tells a rebuild whether an
 * invalidation arrived while it was reading the catalogs.
 */
typedef struct TableCache
{
	bool		valid;
	uint64		generation;
	Oid			conn_relid;
	Oid			grant_relid;
	Oid			owner;			/* owner of zcrm_connection */
	MemoryContext cxt;			/* holds the four strings below */
	char	   *conn_table;		/* quoted, schema-qualified */
	char	   *grant_table;
	char	   *read_sql;		/* the row of one connection ... */
	SPIPlanPtr	read_plan;		/* ... prepared on first use */
	char	   *grantee_sql;	/* the grantees of one connection ... */
	SPIPlanPtr	grantee_plan;	/* ... prepared on first use */
} TableCache;

static TableCache table_cache;

/* Relcache invalidation callback: forget the tables if either is touched. */
static void
table_cache_invalidate(Datum arg, Oid relid)
{
	if (relid == InvalidOid || relid == table_cache.conn_relid ||
		relid == table_cache.grant_relid)
	{
		table_cache.valid = false;
		table_cache.generation++;
	}
}

/*
 * extension_relid
 *		The OID of the extension's table "relname" in schema nspid.
 */
static Oid
extension_relid(const char *relname, Oid nspid)
{
	Oid			relid = get_relname_relid(relname, nspid);

	if (!OidIsValid(relid))
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_TABLE),
				 errmsg("table %s of extension zcrm_bulk does not exist", relname),
				 errhint("Run ALTER EXTENSION zcrm_bulk UPDATE.")));
	return relid;
}

/*
 * load_table_cache
 *		Make table_cache valid, reading the catalogs when it is not.
 */
static void
load_table_cache(void)
{
	static bool callback_registered = false;

	if (!callback_registered)
	{
		CacheRegisterRelcacheCallback(table_cache_invalidate, (Datum) 0);
		callback_registered = true;
	}

	while (!table_cache.valid)
	{
		uint64		generation = table_cache.generation;
		Oid			nspid;
		char	   *nspname;
		HeapTuple	tuple;

		/* drop what the stale cache held */
		if (table_cache.read_plan)
			SPI_freeplan(table_cache.read_plan);
		if (table_cache.grantee_plan)
			SPI_freeplan(table_cache.grantee_plan);
		table_cache.read_plan = NULL;
		table_cache.grantee_plan = NULL;
		if (table_cache.cxt == NULL)
			table_cache.cxt = AllocSetContextCreate(TopMemoryContext,
													"zcrm_bulk connection tables",
													ALLOCSET_SMALL_SIZES);
		else
			MemoryContextReset(table_cache.cxt);
		table_cache.conn_table = NULL;
		table_cache.grant_table = NULL;
		table_cache.read_sql = NULL;
		table_cache.grantee_sql = NULL;

		nspid = extension_schema();
		nspname = get_namespace_name(nspid);
		table_cache.conn_relid = extension_relid("zcrm_connection", nspid);
		table_cache.grant_relid = extension_relid("zcrm_connection_grant", nspid);
		tuple = SearchSysCache1(RELOID, ObjectIdGetDatum(table_cache.conn_relid));
		if (!HeapTupleIsValid(tuple))
			elog(ERROR, "cache lookup failed for relation %u", table_cache.conn_relid);
		table_cache.owner = ((Form_pg_class) GETSTRUCT(tuple))->relowner;
		ReleaseSysCache(tuple);
		table_cache.conn_table =
			MemoryContextStrdup(table_cache.cxt,
								quote_qualified_identifier(nspname, "zcrm_connection"));
		table_cache.grant_table =
			MemoryContextStrdup(table_cache.cxt,
								quote_qualified_identifier(nspname, "zcrm_connection_grant"));
		table_cache.read_sql =
			MemoryContextStrdup(table_cache.cxt,
								psprintf("SELECT name, owner, client_id, client_secret, refresh_token,"
										 " accounts_server, api_domain FROM %s"
										 " WHERE name OPERATOR(pg_catalog.=) $1",
										 table_cache.conn_table));
		table_cache.grantee_sql =
			MemoryContextStrdup(table_cache.cxt,
								psprintf("SELECT grantee FROM %s WHERE connection OPERATOR(pg_catalog.=) $1",
										 table_cache.grant_table));

		/* an invalidation while reading means: read again */
		table_cache.valid = (table_cache.generation == generation);
	}
}

/*
 * extension_table
 *		The schema-qualified, quoted name of one of the extension's tables.
 */
static const char *
extension_table(const char *relname)
{
	load_table_cache();
	return strcmp(relname, "zcrm_connection") == 0 ?
		table_cache.conn_table : table_cache.grant_table;
}

/*
 * exec_as_owner
 *		Run one SQL statement through SPI as the owner of the extension's
 *		tables, with search_path set to "pg_catalog, pg_temp", calling "fn"
 *		for each row returned.  "sql" must name tables with
 *		extension_table().  With "plan", the statement is prepared once and
 *		kept in *plan (a member of table_cache, so that it is dropped with
 *		the cache), and "sql" is its text in table_cache.
 *		Returns the number of rows processed.
 */
static uint64
exec_as_owner(SPIPlanPtr *plan, const char *sql, int nargs, Oid *argtypes,
			  Datum *args, const char *nulls, bool read_only,
			  ZcrmRowCallback fn, void *arg)
{
	Oid			owner;
	Oid			saved_userid;
	int			saved_sec_context;
	int			save_nestlevel;
	uint64		processed = 0;

	load_table_cache();
	owner = table_cache.owner;
	GetUserIdAndSecContext(&saved_userid, &saved_sec_context);
	SetUserIdAndSecContext(owner, saved_sec_context | SECURITY_LOCAL_USERID_CHANGE);
	save_nestlevel = NewGUCNestLevel();

	PG_TRY();
	{
		int			rc;

		(void) set_config_option("search_path", "pg_catalog, pg_temp",
								 PGC_USERSET, PGC_S_SESSION,
								 GUC_ACTION_SAVE, true, 0, false);
		if (SPI_connect() != SPI_OK_CONNECT)
			elog(ERROR, "SPI_connect failed");
		if (plan == NULL)
			rc = SPI_execute_with_args(sql, nargs, argtypes, args, nulls,
									   read_only, 0);
		else
		{
			if (*plan == NULL)
			{
				SPIPlanPtr	prepared = SPI_prepare(sql, nargs, argtypes);

				if (prepared == NULL)
					elog(ERROR, "SPI_prepare failed: %s",
						 SPI_result_code_string(SPI_result));
				if (SPI_keepplan(prepared) != 0)
					elog(ERROR, "SPI_keepplan failed");
				*plan = prepared;
			}
			rc = SPI_execute_plan(*plan, args, nulls, read_only, 0);
		}
		if (rc < 0)
			elog(ERROR, "SPI statement failed: %s", SPI_result_code_string(rc));
		processed = SPI_processed;
		if (fn && SPI_tuptable)
		{
			for (uint64 i = 0; i < SPI_processed; i++)
				fn(SPI_tuptable->vals[i], SPI_tuptable->tupdesc, arg);
		}
		SPI_finish();
	}
	PG_FINALLY();
	{
		SetUserIdAndSecContext(saved_userid, saved_sec_context);
	}
	PG_END_TRY();

	AtEOXact_GUC(true, save_nestlevel);
	return processed;
}

/*
 * text_arg
 *		Argument "argno" as a C string, or NULL when it is SQL NULL.
 */
static char *
text_arg(FunctionCallInfo fcinfo, int argno)
{
	return PG_ARGISNULL(argno) ? NULL : text_to_cstring(PG_GETARG_TEXT_PP(argno));
}

/*
 * check_name
 *		A connection name: 1 to 63 ASCII letters, digits and _ . -
 */
static void
check_name(const char *name)
{
	size_t		len;

	if (name == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("connection name must not be null")));
	len = strlen(name);
	for (size_t i = 0; i < len; i++)
	{
		char		c = name[i];

		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
			  (c >= '0' && c <= '9') || c == '_' || c == '.' || c == '-'))
			len = 0;
	}
	if (len == 0 || len > ZCRM_MAX_NAME_LEN)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("invalid connection name"),
				 errdetail("A connection name has 1 to %d ASCII letters, digits and the characters _ . -.",
						   ZCRM_MAX_NAME_LEN)));
}

/*
 * check_credential
 *		A client id, client secret or refresh token: 1 to 1024 visible ASCII
 *		characters.  The value is never echoed.
 */
static void
check_credential(const char *value, const char *what, bool required)
{
	size_t		len;

	if (value == NULL)
	{
		if (required)
			ereport(ERROR,
					(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
					 errmsg("%s must not be null", what)));
		return;
	}
	len = strlen(value);
	for (size_t i = 0; i < len; i++)
	{
		if (value[i] <= ' ' || value[i] > '~')
			len = 0;
	}
	if (len == 0 || len > ZCRM_MAX_SECRET_LEN)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("invalid %s", what),
				 errdetail("It must be 1 to %d visible ASCII characters, as Zoho's API console shows it.",
						   ZCRM_MAX_SECRET_LEN)));
}

/*
 * check_url
 *		An accounts server or API domain: a base URL, and one of Zoho's own
 *		unless the caller is a superuser.
 */
static char *
check_url(const char *url, const char *what, bool (*is_zoho) (const char *))
{
	const char *detail;

	if (!zcrm_valid_base_url(url, &detail))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("invalid %s \"%s\"", what, url),
				 errdetail("%s", detail)));
	if (!is_zoho(url) && !superuser())
		ereport(ERROR,
				(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
				 errmsg("only a superuser can set %s \"%s\"", what, url),
				 errdetail("Other roles can only use the servers of Zoho's data centres."),
				 errhint("See the data centre table in the zcrm_bulk README.")));
	return strip_slash(url);
}

/* Collects one connection row (all columns, in table order). */
static void
collect_connection(HeapTuple tuple, TupleDesc desc, void *arg)
{
	ZcrmConnection *conn = (ZcrmConnection *) arg;

	conn->name = SPI_getvalue(tuple, desc, 1);
	conn->client_id = SPI_getvalue(tuple, desc, 3);
	conn->client_secret = SPI_getvalue(tuple, desc, 4);
	conn->refresh_token = SPI_getvalue(tuple, desc, 5);
	conn->accounts_server = SPI_getvalue(tuple, desc, 6);
	conn->api_domain = SPI_getvalue(tuple, desc, 7);
}

/* State for reading a connection with its owner and grantees. */
typedef struct ConnectionRead
{
	MemoryContext cxt;			/* where results are copied to */
	bool		found;
	Oid			owner;
	ZcrmConnection conn;
	List	   *grantees;		/* of Oid */
} ConnectionRead;

static void
read_connection_row(HeapTuple tuple, TupleDesc desc, void *arg)
{
	ConnectionRead *r = (ConnectionRead *) arg;
	MemoryContext old = MemoryContextSwitchTo(r->cxt);
	bool		isnull;

	r->found = true;
	r->owner = DatumGetObjectId(SPI_getbinval(tuple, desc, 2, &isnull));
	collect_connection(tuple, desc, &r->conn);
	MemoryContextSwitchTo(old);
}

static void
read_grantee_row(HeapTuple tuple, TupleDesc desc, void *arg)
{
	ConnectionRead *r = (ConnectionRead *) arg;
	MemoryContext old = MemoryContextSwitchTo(r->cxt);
	bool		isnull;

	r->grantees = lappend_oid(r->grantees,
							  DatumGetObjectId(SPI_getbinval(tuple, desc, 1, &isnull)));
	MemoryContextSwitchTo(old);
}

/*
 * read_connection
 *		Read connection "name", its owner and its grantees into *r.
 */
static void
read_connection(const char *name, ConnectionRead *r)
{
	Oid			argtypes[1] = {TEXTOID};
	Datum		args[1] = {CStringGetTextDatum(name)};

	memset(r, 0, sizeof(*r));
	r->cxt = CurrentMemoryContext;
	load_table_cache();
	exec_as_owner(&table_cache.read_plan, table_cache.read_sql,
				  1, argtypes, args, NULL, true, read_connection_row, r);
	if (r->found)
	{
		load_table_cache();
		exec_as_owner(&table_cache.grantee_plan, table_cache.grantee_sql,
					  1, argtypes, args, NULL, true, read_grantee_row, r);
	}
}

/*
 * may_use / may_manage
 *		The access rules of the file header comment.
 */
static bool
may_manage(const ConnectionRead *r)
{
	return superuser() || has_privs_of_role(GetUserId(), r->owner);
}

static bool
may_use(const ConnectionRead *r)
{
	ListCell   *lc;

	if (may_manage(r))
		return true;
	foreach(lc, r->grantees)
	{
		if (has_privs_of_role(GetUserId(), lfirst_oid(lc)))
			return true;
	}
	return false;
}

/*
 * read_for_manage
 *		Read a connection the caller must own; errors otherwise.
 */
static void
read_for_manage(const char *name, ConnectionRead *r)
{
	check_name(name);
	read_connection(name, r);
	if (!r->found)
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_OBJECT),
				 errmsg("Zoho CRM connection \"%s\" does not exist", name)));
	if (!may_manage(r))
		ereport(ERROR,
				(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
				 errmsg("must be owner of Zoho CRM connection \"%s\"", name)));
}

/*
 * zcrm_connection_lookup
 *		See connections.h.
 */
ZcrmConnection *
zcrm_connection_lookup(const char *name)
{
	ConnectionRead r;
	ZcrmConnection *conn;

	check_name(name);
	read_connection(name, &r);
	if (!r.found)
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_OBJECT),
				 errmsg("Zoho CRM connection \"%s\" does not exist", name),
				 errhint("Create it with zcrm_connection_create().")));
	if (!may_use(&r))
		ereport(ERROR,
				(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
				 errmsg("permission denied for Zoho CRM connection \"%s\"", name),
				 errhint("The owner of the connection can grant its use with zcrm_connection_grant().")));
	conn = palloc(sizeof(ZcrmConnection));
	*conn = r.conn;
	conn->zoho_accounts = zcrm_is_zoho_accounts_server(conn->accounts_server);
	return conn;
}

/*
 * write_connection
 *		Store connection c: INSERT it with owner "owner", or, when owner is
 *		InvalidOid, UPDATE the row of c->name with every value of c (a NULL
 *		api_domain clears the override).
 */
static void
write_connection(const ZcrmConnection *c, Oid owner)
{
	bool		insert = OidIsValid(owner);
	Oid			argtypes[7] = {TEXTOID, TEXTOID, TEXTOID, TEXTOID, TEXTOID, TEXTOID, OIDOID};
	Datum		args[7];
	char		nulls[7];

	memset(nulls, ' ', sizeof(nulls));
	args[0] = CStringGetTextDatum(c->name);
	args[1] = CStringGetTextDatum(c->client_id);
	args[2] = CStringGetTextDatum(c->client_secret);
	args[3] = CStringGetTextDatum(c->refresh_token);
	args[4] = CStringGetTextDatum(c->accounts_server);
	args[5] = c->api_domain ? CStringGetTextDatum(c->api_domain) : (Datum) 0;
	nulls[5] = c->api_domain ? ' ' : 'n';
	args[6] = ObjectIdGetDatum(owner);
	if (insert)
		exec_as_owner(NULL, psprintf("INSERT INTO %s (name, client_id, client_secret,"
									 " refresh_token, accounts_server, api_domain, owner)"
									 " VALUES ($1, $2, $3, $4, $5, $6, $7)",
									 extension_table("zcrm_connection")),
					  7, argtypes, args, nulls, false, NULL, NULL);
	else
		exec_as_owner(NULL, psprintf("UPDATE %s SET client_id = $2, client_secret = $3,"
									 " refresh_token = $4, accounts_server = $5, api_domain = $6"
									 " WHERE name OPERATOR(pg_catalog.=) $1",
									 extension_table("zcrm_connection")),
					  6, argtypes, args, nulls, false, NULL, NULL);
}

/*
 * zcrm_connection_create(name, client_id, client_secret, refresh_token,
 *						  accounts_server, api_domain) RETURNS void
 */
Datum
zcrm_connection_create(PG_FUNCTION_ARGS)
{
	char	   *name = text_arg(fcinfo, 0);
	char	   *client_id = text_arg(fcinfo, 1);
	char	   *client_secret = text_arg(fcinfo, 2);
	char	   *refresh_token = text_arg(fcinfo, 3);
	char	   *accounts = text_arg(fcinfo, 4);
	char	   *api_domain = text_arg(fcinfo, 5);
	ConnectionRead r;
	ZcrmConnection c = {0};

	check_name(name);
	check_credential(client_id, "client_id", true);
	check_credential(client_secret, "client_secret", true);
	check_credential(refresh_token, "refresh_token", true);
	if (accounts == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("accounts_server must not be null")));
	accounts = check_url(accounts, "accounts server", zcrm_is_zoho_accounts_server);
	if (api_domain)
		api_domain = check_url(api_domain, "API domain", zcrm_is_zoho_api_domain);

	read_connection(name, &r);
	if (r.found)
		ereport(ERROR,
				(errcode(ERRCODE_DUPLICATE_OBJECT),
				 errmsg("Zoho CRM connection \"%s\" already exists", name)));

	c.name = name;
	c.client_id = client_id;
	c.client_secret = client_secret;
	c.refresh_token = refresh_token;
	c.accounts_server = accounts;
	c.api_domain = api_domain;
	write_connection(&c, GetUserId());
	PG_RETURN_VOID();
}

/*
 * zcrm_connection_alter(name, client_id, client_secret, refresh_token,
 *						 accounts_server, api_domain) RETURNS void
 *		NULL leaves a value as it is; api_domain '' removes the override.
 */
Datum
zcrm_connection_alter(PG_FUNCTION_ARGS)
{
	char	   *name = text_arg(fcinfo, 0);
	char	   *client_id = text_arg(fcinfo, 1);
	char	   *client_secret = text_arg(fcinfo, 2);
	char	   *refresh_token = text_arg(fcinfo, 3);
	char	   *accounts = text_arg(fcinfo, 4);
	char	   *api_domain = text_arg(fcinfo, 5);
	ConnectionRead r;
	ZcrmConnection c;

	read_for_manage(name, &r);
	check_credential(client_id, "client_id", false);
	check_credential(client_secret, "client_secret", false);
	check_credential(refresh_token, "refresh_token", false);
	if (accounts)
		accounts = check_url(accounts, "accounts server", zcrm_is_zoho_accounts_server);
	if (api_domain && api_domain[0] != '\0')
		api_domain = check_url(api_domain, "API domain", zcrm_is_zoho_api_domain);

	c = r.conn;
	if (client_id)
		c.client_id = client_id;
	if (client_secret)
		c.client_secret = client_secret;
	if (refresh_token)
		c.refresh_token = refresh_token;
	if (accounts)
		c.accounts_server = accounts;
	if (api_domain)
		c.api_domain = (api_domain[0] != '\0') ? api_domain : NULL;
	write_connection(&c, InvalidOid);
	PG_RETURN_VOID();
}

/*
 * zcrm_connection_drop(name) RETURNS void
 */
Datum
zcrm_connection_drop(PG_FUNCTION_ARGS)
{
	char	   *name = text_arg(fcinfo, 0);
	ConnectionRead r;
	Oid			argtypes[1] = {TEXTOID};
	Datum		args[1];

	read_for_manage(name, &r);
	args[0] = CStringGetTextDatum(name);
	exec_as_owner(NULL, psprintf("DELETE FROM %s WHERE name OPERATOR(pg_catalog.=) $1",
						   extension_table("zcrm_connection")),
				  1, argtypes, args, NULL, false, NULL, NULL);
	PG_RETURN_VOID();
}

/*
 * set_grant
 *		Grant (or revoke) the use of a connection to a role.
 */
static void
set_grant(FunctionCallInfo fcinfo, bool grant)
{
	char	   *name = text_arg(fcinfo, 0);
	ConnectionRead r;
	Oid			argtypes[2] = {TEXTOID, OIDOID};
	Datum		args[2];

	if (PG_ARGISNULL(1))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("grantee must not be null")));
	read_for_manage(name, &r);
	args[0] = CStringGetTextDatum(name);
	args[1] = PG_GETARG_DATUM(1);
	if (grant)
		exec_as_owner(NULL, psprintf("INSERT INTO %s (connection, grantee) VALUES ($1, $2)"
							   " ON CONFLICT DO NOTHING",
							   extension_table("zcrm_connection_grant")),
					  2, argtypes, args, NULL, false, NULL, NULL);
	else
		exec_as_owner(NULL, psprintf("DELETE FROM %s WHERE connection OPERATOR(pg_catalog.=) $1"
							   " AND grantee OPERATOR(pg_catalog.=) $2",
							   extension_table("zcrm_connection_grant")),
					  2, argtypes, args, NULL, false, NULL, NULL);
}

/*
 * zcrm_connection_grant(name, grantee regrole) RETURNS void
 */
Datum
zcrm_connection_grant(PG_FUNCTION_ARGS)
{
	set_grant(fcinfo, true);
	PG_RETURN_VOID();
}

/*
 * zcrm_connection_revoke(name, grantee regrole) RETURNS void
 */
Datum
zcrm_connection_revoke(PG_FUNCTION_ARGS)
{
	set_grant(fcinfo, false);
	PG_RETURN_VOID();
}

/* State for listing connections. */
typedef struct ListState
{
	MemoryContext cxt;
	List	   *names;			/* of char * */
} ListState;

static void
list_name_row(HeapTuple tuple, TupleDesc desc, void *arg)
{
	ListState  *l = (ListState *) arg;
	MemoryContext old = MemoryContextSwitchTo(l->cxt);

	l->names = lappend(l->names, SPI_getvalue(tuple, desc, 1));
	MemoryContextSwitchTo(old);
}

/*
 * zcrm_connections() RETURNS SETOF (name, owner, client_id,
 *		accounts_server, api_domain, grantees)
 *		The connections the caller may use, without secrets.
 */
Datum
zcrm_connections(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	ListState	l = {CurrentMemoryContext, NIL};
	ListCell   *lc;

	InitMaterializedSRF(fcinfo, 0);
	exec_as_owner(NULL, psprintf("SELECT name FROM %s ORDER BY name",
						   extension_table("zcrm_connection")),
				  0, NULL, NULL, NULL, true, list_name_row, &l);

	foreach(lc, l.names)
	{
		ConnectionRead r;
		Datum		values[6] = {0};
		bool		nulls[6] = {0};
		Datum	   *grantees;
		int			n = 0;
		ListCell   *gc;

		read_connection((char *) lfirst(lc), &r);
		if (!r.found || !may_use(&r))
			continue;
		grantees = palloc(sizeof(Datum) * (list_length(r.grantees) + 1));
		foreach(gc, r.grantees)
			grantees[n++] = ObjectIdGetDatum(lfirst_oid(gc));
		values[0] = CStringGetTextDatum(r.conn.name);
		values[1] = ObjectIdGetDatum(r.owner);
		values[2] = CStringGetTextDatum(r.conn.client_id);
		values[3] = CStringGetTextDatum(r.conn.accounts_server);
		if (r.conn.api_domain)
			values[4] = CStringGetTextDatum(r.conn.api_domain);
		else
			nulls[4] = true;
		values[5] = PointerGetDatum(construct_array(grantees, n, REGROLEOID,
													sizeof(Oid), true, TYPALIGN_INT));
		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
		explicit_bzero(r.conn.client_secret, strlen(r.conn.client_secret));
		explicit_bzero(r.conn.refresh_token, strlen(r.conn.refresh_token));
	}
	return (Datum) 0;
}
