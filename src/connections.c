/*-------------------------------------------------------------------------
 *
 * connections.c
 *	  Connections as foreign servers: the wrapper's option validator and
 *	  the lookup of a server's credentials for the current user.
 *
 * The extension creates FOREIGN DATA WRAPPER zcrm_bulk with the validator
 * below (no handler: its servers hold no tables).  A server carries where
 * tokens come from and where calls go; a user mapping carries the OAuth
 * client and the refresh token:
 *
 *	- server options: accounts_server (required), api_domain, upload_domain,
 *	  org_id;
 *	- user mapping options: client_id, client_secret, refresh_token (all
 *	  required).
 *
 * PostgreSQL does the rest: ownership and role dependencies (DROP ROLE of
 * a server's owner is refused), GRANT USAGE ON FOREIGN SERVER, options of
 * mappings hidden from other roles in pg_user_mappings, and pg_dump.  The
 * rule that keeps secrets from being aimed at a host of someone's choosing
 * is kept in two places: the validator lets only superusers name a host
 * that is not Zoho's, and a lookup refuses a server that names such a host
 * unless its owner is a superuser (ALTER SERVER ... OWNER TO cannot lend a
 * superuser's choice to anyone else).
 *
 * Resolved connections are cached per backend, keyed by server name and
 * user; any change of a server, a user mapping or a role empties the cache
 * (syscache invalidation callbacks, as postgres_fdw's connection.c does).
 * USAGE is checked on every call, cached or not.
 *
 * Copyright (c) 2026, zcrm_bulk developers
 *
 * IDENTIFICATION
 *	  src/connections.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/htup_details.h"
#include "access/reloptions.h"
#include "catalog/pg_foreign_data_wrapper.h"
#include "catalog/pg_foreign_server.h"
#include "catalog/pg_foreign_table.h"
#include "catalog/pg_user_mapping.h"
#include "commands/defrem.h"
#include "common/cryptohash.h"
#include "fmgr.h"
#include "foreign/foreign.h"
#include "lib/stringinfo.h"
#include "miscadmin.h"
#include "utils/acl.h"
#include "utils/builtins.h"
#include "utils/hsearch.h"
#include "utils/inval.h"
#include "utils/memutils.h"
#include "utils/syscache.h"

#include "connections.h"
#include "settings.h"
#include "validate.h"

PG_FUNCTION_INFO_V1(zcrm_bulk_fdw_validator);

#define ZCRM_FDW_NAME			"zcrm_bulk"

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

/* The options of the wrapper's objects, and where each belongs. */
typedef struct ZcrmOption
{
	const char *name;
	Oid			context;		/* ForeignServerRelationId or
								 * UserMappingRelationId */
	bool		required;
	bool		secret;			/* never echoed */
} ZcrmOption;

static const ZcrmOption zcrm_options[] = {
	{"accounts_server", ForeignServerRelationId, true, false},
	{"api_domain", ForeignServerRelationId, false, false},
	{"upload_domain", ForeignServerRelationId, false, false},
	{"org_id", ForeignServerRelationId, false, false},
	{"client_id", UserMappingRelationId, true, false},
	{"client_secret", UserMappingRelationId, true, true},
	{"refresh_token", UserMappingRelationId, true, true},
};

/*
 * zcrm_is_zoho_accounts_server
 *		See connections.h.
 */
bool
zcrm_is_zoho_accounts_server(const char *url)
{
	char	   *u = zcrm_without_slash(url);

	for (int i = 0; i < lengthof(zoho_accounts_servers); i++)
	{
		if (pg_strcasecmp(u, zoho_accounts_servers[i]) == 0)
			return true;
	}
	return false;
}

static bool is_zohoapis_host(const char *url, const char *const *hosts,
							 int nhosts);

/*
 * zcrm_is_zoho_api_domain
 *		See connections.h.
 */
bool
zcrm_is_zoho_api_domain(const char *url)
{
	static const char *const hosts[] = {"www", "sandbox", "developer"};

	return is_zohoapis_host(url, hosts, lengthof(hosts));
}

/*
 * zcrm_is_zoho_upload_domain
 *		See connections.h.
 */
bool
zcrm_is_zoho_upload_domain(const char *url)
{
	static const char *const hosts[] = {"content", "www", "sandbox", "developer"};

	return is_zohoapis_host(url, hosts, lengthof(hosts));
}

/*
 * is_zohoapis_host
 *		True when "url" is https://<one of hosts>.zohoapis.<a Zoho TLD>.
 */
static bool
is_zohoapis_host(const char *url, const char *const *hosts, int nhosts)
{
	char	   *u = zcrm_without_slash(url);

	for (int h = 0; h < nhosts; h++)
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
 * zcrm_sha256_hex
 *		See connections.h.
 */
void
zcrm_sha256_hex(const char *data, size_t len, char *out)
{
	pg_cryptohash_ctx *ctx = pg_cryptohash_create(PG_SHA256);
	uint8		digest[PG_SHA256_DIGEST_LENGTH];

	if (ctx == NULL || pg_cryptohash_init(ctx) < 0 ||
		pg_cryptohash_update(ctx, (const uint8 *) data, len) < 0 ||
		pg_cryptohash_final(ctx, digest, sizeof(digest)) < 0)
		elog(ERROR, "could not compute SHA-256: %s", pg_cryptohash_error(ctx));
	pg_cryptohash_free(ctx);
	for (int i = 0; i < PG_SHA256_DIGEST_LENGTH; i++)
		sprintf(out + 2 * i, "%02x", digest[i]);
	out[PG_SHA256_DIGEST_STRING_LENGTH - 1] = '\0';
}

/*
 * valid_options_list
 *		The names of the options valid in "context", comma-separated, for
 *		hints; "none" when there are none.
 */
static char *
valid_options_list(Oid context)
{
	StringInfoData buf;

	initStringInfo(&buf);
	for (int i = 0; i < lengthof(zcrm_options); i++)
	{
		if (zcrm_options[i].context != context)
			continue;
		if (buf.len > 0)
			appendStringInfoString(&buf, ", ");
		appendStringInfoString(&buf, zcrm_options[i].name);
	}
	return buf.len > 0 ? buf.data : "none";
}

/* The object a catalog OID stands for, for messages. */
static const char *
context_name(Oid context)
{
	switch (context)
	{
		case ForeignServerRelationId:
			return "a server of foreign-data wrapper zcrm_bulk";
		case UserMappingRelationId:
			return "a user mapping of foreign-data wrapper zcrm_bulk";
		case ForeignDataWrapperRelationId:
			return "foreign-data wrapper zcrm_bulk";
		default:
			return "a foreign table of foreign-data wrapper zcrm_bulk";
	}
}

/* The short name of that object, for details and hints. */
static const char *
context_short_name(Oid context)
{
	return context == ForeignServerRelationId ? "a server" :
		context == UserMappingRelationId ? "a user mapping" : "the wrapper";
}

/*
 * check_credential
 *		A client id, client secret or refresh token: 1 to 1024 visible ASCII
 *		characters (validate.c's rule).  The value is never echoed.
 */
static void
check_credential(const char *value, const char *what)
{
	if (!zcrm_visible_ascii(value, ZCRM_MAX_SECRET_LEN))
		ereport(ERROR,
				(errcode(ERRCODE_FDW_INVALID_ATTRIBUTE_VALUE),
				 errmsg("invalid value for option \"%s\"", what),
				 errdetail("It must be 1 to %d visible ASCII characters, as Zoho's API console shows it.",
						   ZCRM_MAX_SECRET_LEN),
				 errhint("Copy the value again from Zoho's API console.")));
}

/*
 * check_org_id
 *		The server option org_id: the organisation's zgid, digits only, as
 *		GET /crm/{version}/org answers it.
 */
static void
check_org_id(const char *value)
{
	if (!zcrm_is_org_id(value))
		ereport(ERROR,
				(errcode(ERRCODE_FDW_INVALID_ATTRIBUTE_VALUE),
				 errmsg("invalid value for option \"org_id\": \"%s\"", value),
				 errdetail("It must be the organisation's zgid: 1 to %d digits.",
						   ZCRM_MAX_ORG_ID_LEN),
				 errhint("SELECT zcrm_org_id(connection => '<server>') shows it.")));
}

/*
 * check_url
 *		An accounts server or API domain: a base URL, and one of Zoho's own
 *		unless the current user is a superuser.
 */
static void
check_url(const char *option, const char *url, bool (*is_zoho) (const char *))
{
	const char *detail;

	if (!zcrm_valid_base_url(url, &detail))
		ereport(ERROR,
				(errcode(ERRCODE_FDW_INVALID_ATTRIBUTE_VALUE),
				 errmsg("invalid value for option \"%s\": \"%s\"", option, url),
				 errdetail("%s", detail),
				 errhint("Give a scheme and a host, for example 'https://accounts.zoho.eu'.")));
	if (!is_zoho(url) && !superuser())
		ereport(ERROR,
				(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
				 errmsg("only a superuser can set option \"%s\" to \"%s\"", option, url),
				 errdetail("Other roles can only use the servers of Zoho's data centres."),
				 errhint("Use one of the hosts of the data centre table in the zcrm_bulk README.")));
}

/*
 * zcrm_bulk_fdw_validator(options text[], catalog oid) RETURNS void
 *		The validator of FOREIGN DATA WRAPPER zcrm_bulk: every option must
 *		be one of zcrm_options and belong to the object it is given on;
 *		values are checked; required options must be present.  Called by
 *		CREATE/ALTER SERVER and USER MAPPING with the complete new option
 *		list.  Secrets are never quoted.
 */
Datum
zcrm_bulk_fdw_validator(PG_FUNCTION_ARGS)
{
	List	   *options = untransformRelOptions(PG_GETARG_DATUM(0));
	Oid			catalog = PG_GETARG_OID(1);
	bool		seen[lengthof(zcrm_options)] = {0};
	ListCell   *cell;

	foreach(cell, options)
	{
		DefElem    *def = (DefElem *) lfirst(cell);
		const ZcrmOption *opt = NULL;
		char	   *value;

		for (int i = 0; i < lengthof(zcrm_options); i++)
		{
			if (strcmp(def->defname, zcrm_options[i].name) == 0)
			{
				opt = &zcrm_options[i];
				seen[i] = true;
			}
		}
		if (opt == NULL || opt->context != catalog)
			ereport(ERROR,
					(errcode(ERRCODE_FDW_INVALID_OPTION_NAME),
					 errmsg("invalid option \"%s\" for %s",
							def->defname, context_name(catalog)),
					 opt ? errdetail("Option \"%s\" belongs on %s.", opt->name,
									 context_short_name(opt->context)) : 0,
					 errhint("Valid options in this context are: %s.",
							 valid_options_list(catalog))));

		value = defGetString(def);
		if (strcmp(opt->name, "accounts_server") == 0)
			check_url(opt->name, value, zcrm_is_zoho_accounts_server);
		else if (strcmp(opt->name, "api_domain") == 0)
			check_url(opt->name, value, zcrm_is_zoho_api_domain);
		else if (strcmp(opt->name, "upload_domain") == 0)
			check_url(opt->name, value, zcrm_is_zoho_upload_domain);
		else if (strcmp(opt->name, "org_id") == 0)
			check_org_id(value);
		else
			check_credential(value, opt->name);
	}

	for (int i = 0; i < lengthof(zcrm_options); i++)
	{
		if (zcrm_options[i].context == catalog && zcrm_options[i].required && !seen[i])
			ereport(ERROR,
					(errcode(ERRCODE_FDW_OPTION_NAME_NOT_FOUND),
					 errmsg("option \"%s\" is required for %s",
							zcrm_options[i].name, context_name(catalog)),
					 errhint("Options of %s: %s.", context_short_name(catalog),
							 valid_options_list(catalog))));
	}
	PG_RETURN_VOID();
}

/* A cached connection, by server name and user. */
typedef struct ConnKey
{
	NameData	server;
	Oid			userid;
} ConnKey;

typedef struct ConnEntry
{
	ConnKey		key;
	ZcrmConnection conn;		/* strings in conn_cxt */
} ConnEntry;

static HTAB *conn_hash = NULL;
static MemoryContext conn_cxt = NULL;
static bool conn_stale = false;
static ZcrmConnectionsChanged changed_callbacks[4];
static int	nchanged_callbacks = 0;

/*
 * connections_changed
 *		Syscache callback for servers, user mappings and roles: forget every
 *		resolved connection (the next lookup empties the cache; pointers
 *		handed out before stay valid until then).
 */
static void
connections_changed(Datum arg, int cacheid, uint32 hashvalue)
{
	conn_stale = true;
	for (int i = 0; i < nchanged_callbacks; i++)
		changed_callbacks[i] ();
}

/*
 * zcrm_on_connections_changed
 *		See connections.h.
 */
void
zcrm_on_connections_changed(ZcrmConnectionsChanged fn)
{
	for (int i = 0; i < nchanged_callbacks; i++)
	{
		if (changed_callbacks[i] == fn)
			return;
	}
	if (nchanged_callbacks >= lengthof(changed_callbacks))
		elog(ERROR, "too many zcrm_bulk connection callbacks");
	changed_callbacks[nchanged_callbacks++] = fn;
}

/*
 * conn_cache
 *		The connection cache, created (with its callbacks) on first use and
 *		emptied when stale.
 */
static HTAB *
conn_cache(void)
{
	HASHCTL		ctl;

	if (conn_cxt == NULL)
	{
		conn_cxt = AllocSetContextCreate(CacheMemoryContext,
										 "zcrm_bulk connections",
										 ALLOCSET_SMALL_SIZES);
		CacheRegisterSyscacheCallback(FOREIGNSERVEROID, connections_changed, (Datum) 0);
		CacheRegisterSyscacheCallback(USERMAPPINGOID, connections_changed, (Datum) 0);
		CacheRegisterSyscacheCallback(AUTHOID, connections_changed, (Datum) 0);
	}
	if (conn_stale && conn_hash != NULL)
	{
		/* secrets are not left behind in freed memory */
		HASH_SEQ_STATUS seq;
		ConnEntry  *e;

		hash_seq_init(&seq, conn_hash);
		while ((e = hash_seq_search(&seq)) != NULL)
		{
			explicit_bzero(e->conn.client_secret, strlen(e->conn.client_secret));
			explicit_bzero(e->conn.refresh_token, strlen(e->conn.refresh_token));
		}
		MemoryContextReset(conn_cxt);
		conn_hash = NULL;
	}
	conn_stale = false;
	if (conn_hash == NULL)
	{
		ctl.keysize = sizeof(ConnKey);
		ctl.entrysize = sizeof(ConnEntry);
		ctl.hcxt = conn_cxt;
		conn_hash = hash_create("zcrm_bulk connections", 8, &ctl,
								HASH_ELEM | HASH_BLOBS | HASH_CONTEXT);
	}
	return conn_hash;
}

/*
 * option_value
 *		The value of option "name" in a DefElem list, or NULL.
 */
static char *
option_value(List *options, const char *name)
{
	ListCell   *cell;

	foreach(cell, options)
	{
		DefElem    *def = (DefElem *) lfirst(cell);

		if (strcmp(def->defname, name) == 0)
			return defGetString(def);
	}
	return NULL;
}

/*
 * find_user_mapping
 *		The user mapping of "userid" on "serverid", else PUBLIC's: its OID,
 *		options and row's raw xmin (as server_xmin()); InvalidOid when there
 *		is neither.
 */
static Oid
find_user_mapping(Oid userid, Oid serverid, List **options, TransactionId *xmin)
{
	HeapTuple	tp;
	Datum		datum;
	bool		isnull;
	Oid			umid;

	tp = SearchSysCache2(USERMAPPINGUSERSERVER, ObjectIdGetDatum(userid),
						 ObjectIdGetDatum(serverid));
	if (!HeapTupleIsValid(tp))
		tp = SearchSysCache2(USERMAPPINGUSERSERVER, ObjectIdGetDatum(InvalidOid),
							 ObjectIdGetDatum(serverid));
	if (!HeapTupleIsValid(tp))
		return InvalidOid;
	umid = ((Form_pg_user_mapping) GETSTRUCT(tp))->oid;
	*xmin = HeapTupleHeaderGetRawXmin(tp->t_data);
	datum = SysCacheGetAttr(USERMAPPINGUSERSERVER, tp,
							Anum_pg_user_mapping_umoptions, &isnull);
	*options = isnull ? NIL : untransformRelOptions(datum);
	ReleaseSysCache(tp);
	return umid;
}

/*
 * zcrm_user_mapping_exists
 *		See connections.h.
 */
bool
zcrm_user_mapping_exists(Oid umid)
{
	return SearchSysCacheExists1(USERMAPPINGOID, ObjectIdGetDatum(umid));
}

/*
 * server_xmin
 *		The xmin of foreign server "serverid"'s catalog row: it changes with
 *		every ALTER SERVER.  The raw xmin, which freezing keeps (the frozen
 *		xmin of every frozen row is the same).
 */
static TransactionId
server_xmin(Oid serverid)
{
	HeapTuple	tp = SearchSysCache1(FOREIGNSERVEROID, ObjectIdGetDatum(serverid));
	TransactionId xmin;

	if (!HeapTupleIsValid(tp))
		elog(ERROR, "cache lookup failed for foreign server %u", serverid);
	xmin = HeapTupleHeaderGetRawXmin(tp->t_data);
	ReleaseSysCache(tp);
	return xmin;
}

/*
 * check_usage
 *		The user must have USAGE on the server (42501 otherwise).
 */
static void
check_usage(Oid serverid, const char *name, Oid userid)
{
	if (pg_foreign_server_aclcheck(serverid, userid, ACL_USAGE) != ACLCHECK_OK)
		ereport(ERROR,
				(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
				 errmsg("permission denied for foreign server %s", name),
				 errhint("The server's owner can allow it with GRANT USAGE ON FOREIGN SERVER %s TO %s.",
						 quote_identifier(name),
						 quote_identifier(GetUserNameFromId(userid, false)))));
}

/*
 * resolve
 *		Fill *conn (strings in the caller's memory context) for server
 *		"name" and user "userid", raising the errors zcrm_connection_lookup()
 *		lists.
 */
static void
resolve(const char *name, Oid userid, ZcrmConnection *conn)
{
	ForeignServer *server = GetForeignServerByName(name, true);
	ForeignDataWrapper *fdw;
	List	   *umoptions = NIL;
	char	   *accounts;
	char	   *api_domain;
	char	   *upload_domain;
	char	   *client_id;
	char	   *client_secret;
	char	   *refresh_token;
	bool		zoho_accounts;
	StringInfoData buf;

	if (server == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_OBJECT),
				 errmsg("server \"%s\" does not exist", name),
				 errhint("Create it with CREATE SERVER %s FOREIGN DATA WRAPPER zcrm_bulk OPTIONS (accounts_server 'https://accounts.zoho.com').",
						 quote_identifier(name))));
	fdw = GetForeignDataWrapper(server->fdwid);
	if (strcmp(fdw->fdwname, ZCRM_FDW_NAME) != 0)
		ereport(ERROR,
				(errcode(ERRCODE_WRONG_OBJECT_TYPE),
				 errmsg("server \"%s\" is not a zcrm_bulk server", name),
				 errdetail("It belongs to foreign-data wrapper \"%s\".", fdw->fdwname),
				 errhint("Name a server created with FOREIGN DATA WRAPPER zcrm_bulk.")));
	check_usage(server->serverid, name, userid);
	conn->umid = find_user_mapping(userid, server->serverid, &umoptions, &conn->um_xmin);
	if (!OidIsValid(conn->umid))
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_OBJECT),
				 errmsg("user mapping for \"%s\" on server \"%s\" does not exist",
						GetUserNameFromId(userid, false), name),
				 errdetail("Neither a user mapping for the role nor one for PUBLIC exists."),
				 errhint("Create one with CREATE USER MAPPING FOR %s SERVER %s OPTIONS (client_id '...', client_secret '...', refresh_token '...'), or FOR PUBLIC to share one.",
						 quote_identifier(GetUserNameFromId(userid, false)),
						 quote_identifier(name))));

	accounts = option_value(server->options, "accounts_server");
	api_domain = option_value(server->options, "api_domain");
	upload_domain = option_value(server->options, "upload_domain");
	if (accounts == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_FDW_OPTION_NAME_NOT_FOUND),
				 errmsg("server \"%s\" has no option \"accounts_server\"", name),
				 errhint("Add it with ALTER SERVER %s OPTIONS (ADD accounts_server 'https://accounts.zoho.com').",
						 quote_identifier(name))));
	zoho_accounts = zcrm_is_zoho_accounts_server(accounts);
	if (!superuser_arg(server->owner) &&
		(!zoho_accounts ||
		 (api_domain && !zcrm_is_zoho_api_domain(api_domain)) ||
		 (upload_domain && !zcrm_is_zoho_upload_domain(upload_domain))))
		ereport(ERROR,
				(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
				 errmsg("server \"%s\" names a host that is not Zoho's and is not owned by a superuser", name),
				 errdetail("Credentials are sent to other hosts only through servers that a superuser owns."),
				 errhint("Let a superuser own the server, or name the hosts of a Zoho data centre.")));

	client_id = option_value(umoptions, "client_id");
	client_secret = option_value(umoptions, "client_secret");
	refresh_token = option_value(umoptions, "refresh_token");
	if (client_id == NULL || client_secret == NULL || refresh_token == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_FDW_OPTION_NAME_NOT_FOUND),
				 errmsg("the user mapping for server \"%s\" lacks client_id, client_secret or refresh_token", name),
				 errhint("Set them with ALTER USER MAPPING ... SERVER %s OPTIONS (...).",
						 quote_identifier(name))));
	conn->name = pstrdup(name);
	conn->serverid = server->serverid;
	conn->client_id = pstrdup(client_id);
	conn->client_secret = pstrdup(client_secret);
	conn->refresh_token = pstrdup(refresh_token);
	conn->accounts_server = zcrm_without_slash(accounts);
	conn->api_domain = api_domain ? zcrm_without_slash(api_domain) : NULL;
	conn->upload_domain = upload_domain ? zcrm_without_slash(upload_domain) : NULL;
	conn->org_id = option_value(server->options, "org_id");
	if (conn->org_id)
		conn->org_id = pstrdup(conn->org_id);
	conn->zoho_accounts = zoho_accounts;
	conn->server_xmin = server_xmin(server->serverid);

	initStringInfo(&buf);
	appendStringInfo(&buf, "%s\n%s\n%s\n%s", conn->client_id, conn->client_secret,
					 conn->refresh_token, conn->accounts_server);
	zcrm_sha256_hex(buf.data, buf.len, conn->fingerprint);
	resetStringInfo(&buf);
	appendStringInfo(&buf, "%s\n%s\n%s", conn->accounts_server, conn->client_id,
					 conn->refresh_token);
	zcrm_sha256_hex(buf.data, buf.len, conn->refresh_key);
	explicit_bzero(buf.data, buf.maxlen);
	pfree(buf.data);
}

/*
 * copy_connection
 *		*dst = *src with every string copied into "cxt".  The copies are
 *		made before anything is assigned, so that an out-of-memory ERROR
 *		leaves *dst as it was.
 */
static void
copy_connection(ZcrmConnection *dst, const ZcrmConnection *src, MemoryContext cxt)
{
	ZcrmConnection c = *src;

	c.name = MemoryContextStrdup(cxt, src->name);
	c.client_id = MemoryContextStrdup(cxt, src->client_id);
	c.client_secret = MemoryContextStrdup(cxt, src->client_secret);
	c.refresh_token = MemoryContextStrdup(cxt, src->refresh_token);
	c.accounts_server = MemoryContextStrdup(cxt, src->accounts_server);
	c.api_domain = src->api_domain ? MemoryContextStrdup(cxt, src->api_domain) : NULL;
	c.upload_domain = src->upload_domain ? MemoryContextStrdup(cxt, src->upload_domain) : NULL;
	c.org_id = src->org_id ? MemoryContextStrdup(cxt, src->org_id) : NULL;
	*dst = c;
}

/*
 * zcrm_connection_lookup
 *		See connections.h.  Returns a palloc'd copy in the caller's memory
 *		context.
 */
ZcrmConnection *
zcrm_connection_lookup(const char *name)
{
	Oid			userid = GetUserId();
	ConnKey		key;
	ConnEntry  *entry;
	bool		found;
	ZcrmConnection *conn;

	if (strlen(name) >= NAMEDATALEN)
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_OBJECT),
				 errmsg("server \"%s\" does not exist", name),
				 errdetail("A server name has at most %d bytes.", NAMEDATALEN - 1)));
	memset(&key, 0, sizeof(key));
	namestrcpy(&key.server, name);
	key.userid = userid;

	for (;;)
	{
		ZcrmConnection resolved;
		ZcrmConnection cached;

		entry = hash_search(conn_cache(), &key, HASH_FIND, &found);
		if (found)
		{
			/* grants and role memberships may have changed since */
			check_usage(entry->conn.serverid, name, userid);
			break;
		}
		memset(&resolved, 0, sizeof(resolved));
		resolve(name, userid, &resolved);
		/* an invalidation while resolving: resolve again */
		if (conn_stale)
			continue;
		copy_connection(&cached, &resolved, conn_cxt);
		entry = hash_search(conn_hash, &key, HASH_ENTER, &found);
		entry->conn = cached;
		break;
	}

	conn = palloc(sizeof(ZcrmConnection));
	copy_connection(conn, &entry->conn, CurrentMemoryContext);
	return conn;
}

/*
 * The named-connection functions of versions 1.1 to 1.3.  Their SQL
 * definitions exist between the 1.1 and the 2.0 update scripts (an update
 * from 1.0 creates them, then drops them), so the library keeps their
 * symbols; called, they say what replaced them.
 */
PG_FUNCTION_INFO_V1(zcrm_connection_create);
PG_FUNCTION_INFO_V1(zcrm_connection_alter);
PG_FUNCTION_INFO_V1(zcrm_connection_drop);
PG_FUNCTION_INFO_V1(zcrm_connection_grant);
PG_FUNCTION_INFO_V1(zcrm_connection_revoke);
PG_FUNCTION_INFO_V1(zcrm_connections);

/*
 * removed_in_2_0
 *		Raise the error of a connection function that 2.0 removed.
 */
static void
removed_in_2_0(void)
{
	ereport(ERROR,
			(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
			 errmsg("named connections were replaced by foreign servers in zcrm_bulk 2.0"),
			 errdetail("The SQL definitions are older than the installed library."),
			 errhint("Run ALTER EXTENSION zcrm_bulk UPDATE, then use CREATE SERVER ... FOREIGN DATA WRAPPER zcrm_bulk and CREATE USER MAPPING.")));
}

Datum
zcrm_connection_create(PG_FUNCTION_ARGS)
{
	removed_in_2_0();
	PG_RETURN_VOID();
}

Datum
zcrm_connection_alter(PG_FUNCTION_ARGS)
{
	removed_in_2_0();
	PG_RETURN_VOID();
}

Datum
zcrm_connection_drop(PG_FUNCTION_ARGS)
{
	removed_in_2_0();
	PG_RETURN_VOID();
}

Datum
zcrm_connection_grant(PG_FUNCTION_ARGS)
{
	removed_in_2_0();
	PG_RETURN_VOID();
}

Datum
zcrm_connection_revoke(PG_FUNCTION_ARGS)
{
	removed_in_2_0();
	PG_RETURN_VOID();
}

Datum
zcrm_connections(PG_FUNCTION_ARGS)
{
	removed_in_2_0();
	PG_RETURN_VOID();
}
