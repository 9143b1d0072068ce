/*-------------------------------------------------------------------------
 *
 * oauth.c
 *	  Access tokens for connections: refresh grant, budget and caches.
 *
 * Zoho access tokens live an hour, and Zoho issues at most ten per refresh
 * token in ten minutes, so a token must be shared by every session that
 * uses a user mapping (pg_cron starts a new one for each run) and refreshed
 * once per lifetime, not once per session.  Three layers keep it:
 *
 *	- backend memory, by user mapping OID: a call through a server then
 *	  costs no more than one with a token; emptied when any server or user
 *	  mapping changes;
 *	- a token file per database and user mapping under $PGDATA/zcrm_bulk/
 *	  ("<database oid>-<mapping oid>.token", mode 0600), shared by all
 *	  backends; it records the fingerprint (SHA-256) of the credentials it
 *	  was obtained with, so that changing an option makes it stale;
 *	- a budget file per refresh token ("rt-<sha256>.budget"): the times of
 *	  the last refresh attempts, whichever database or mapping made them,
 *	  since Zoho counts per refresh token.  It is also the lock that makes
 *	  a refresh single-flight: the refresher holds flock() on it; the others
 *	  poll for the lock on the process latch (so cancel works while they
 *	  wait), then find the fresh token and use it.  The kernel releases the
 *	  lock if the refresher dies.
 *
 * The budget: an attempt is written to the budget file before its request
 * is sent, so that one whose backend is terminated still counts; it is
 * taken back only when the request could not have reached the server (no
 * connection was made).  The token POST is made once (zcrm_bulk.retries
 * does not apply) and with query cancel held off, within a timeout of its
 * own, so that a cancelled call cannot waste a refresh: the token it
 * obtains is stored for everyone, then the cancel takes effect.  A refresh
 * that fails leaves a cached token that is still valid in place.
 *
 * After each refresh the directory is swept: token files of user mappings
 * or databases that no longer exist, files of versions before 2.0, and
 * budget files unused for a day are removed.
 *
 * Copyright (c) 2026, zcrm_bulk developers
 *
 * IDENTIFICATION
 *	  src/oauth.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "common/file_perm.h"
#include "lib/stringinfo.h"
#include "miscadmin.h"
#include "storage/fd.h"
#include "storage/latch.h"
#include "utils/builtins.h"
#include "utils/hsearch.h"
#include "utils/memutils.h"
#include "utils/syscache.h"
#include "utils/timestamp.h"
#include "utils/wait_event.h"

#include "connections.h"
#include "errors.h"
#include "oauth.h"
#include "parse.h"
#include "settings.h"
#include "transport.h"
#include "transport_policy.h"
#include "validate.h"

/* Lifetime assumed when a token reply has no expires_in. */
#define ZCRM_DEFAULT_LIFETIME_S 3600
/* Longest a token is refreshed ahead of its expiry. */
#define ZCRM_MAX_MARGIN_S		300
/* Longest a token POST may take (query cancel waits at most this long). */
#define ZCRM_TOKEN_TIMEOUT_MS	10000
/* Budget files unused this long are swept. */
#define ZCRM_BUDGET_SWEEP_S		86400
#define ZCRM_CACHE_DIR			"zcrm_bulk"
#define ZCRM_TOKEN_VERSION		"zcrm_bulk token cache 2"
#define ZCRM_BUDGET_VERSION		"zcrm_bulk refresh budget 1"

/* A cached token (file or memory). */
typedef struct TokenCache
{
	bool		present;
	char		fingerprint[PG_SHA256_DIGEST_STRING_LENGTH];
	TimestampTz expires_at;
	int64		lifetime_s;
	char	   *api_domain;		/* "" when the reply named none */
	char	   *token;
} TokenCache;

/* The refresh attempts of one refresh token, most recent last. */
typedef struct Budget
{
	int			n;
	TimestampTz at[ZCRM_MAX_REFRESHES];
} Budget;

/* Backend memory: one TokenCache per user mapping. */
typedef struct MemToken
{
	Oid			umid;
	TokenCache	c;				/* strings in mem_cxt */
} MemToken;

static HTAB *mem_tokens = NULL;
static MemoryContext mem_cxt = NULL;
static bool mem_stale = false;

/* Called when a server or user mapping changes: forget the tokens. */
static void
mem_tokens_changed(void)
{
	mem_stale = true;
}

/*
 * mem_token
 *		The backend's token entry of user mapping "umid" (created empty).
 */
static MemToken *
mem_token(Oid umid)
{
	bool		found;
	MemToken   *m;

	if (mem_cxt == NULL)
	{
		mem_cxt = AllocSetContextCreate(TopMemoryContext, "zcrm_bulk tokens",
										ALLOCSET_SMALL_SIZES);
		zcrm_on_connections_changed(mem_tokens_changed);
	}
	if (mem_stale && mem_tokens != NULL)
	{
		HASH_SEQ_STATUS seq;

		hash_seq_init(&seq, mem_tokens);
		while ((m = hash_seq_search(&seq)) != NULL)
		{
			if (m->c.token)
				explicit_bzero(m->c.token, strlen(m->c.token));
		}
		MemoryContextReset(mem_cxt);
		mem_tokens = NULL;
	}
	mem_stale = false;
	if (mem_tokens == NULL)
	{
		HASHCTL		ctl;

		ctl.keysize = sizeof(Oid);
		ctl.entrysize = sizeof(MemToken);
		ctl.hcxt = mem_cxt;
		mem_tokens = hash_create("zcrm_bulk tokens", 8, &ctl,
								 HASH_ELEM | HASH_BLOBS | HASH_CONTEXT);
	}
	m = hash_search(mem_tokens, &umid, HASH_ENTER, &found);
	if (!found)
		memset(&m->c, 0, sizeof(m->c));
	return m;
}

/*
 * remember
 *		Keep a copy of token cache "c" in backend memory for "umid".
 */
static void
remember(Oid umid, const TokenCache *c)
{
	MemToken   *m = mem_token(umid);
	TokenCache	kept = *c;

	/* copies first: an out-of-memory ERROR leaves the entry as it was */
	kept.token = MemoryContextStrdup(mem_cxt, c->token);
	kept.api_domain = MemoryContextStrdup(mem_cxt, c->api_domain);
	if (m->c.token)
	{
		explicit_bzero(m->c.token, strlen(m->c.token));
		pfree(m->c.token);
		pfree(m->c.api_domain);
	}
	m->c = kept;
}

/*
 * cache_dir
 *		$PGDATA/zcrm_bulk, created when needed.
 */
static char *
cache_dir(void)
{
	char	   *dir = psprintf("%s/%s", DataDir, ZCRM_CACHE_DIR);

	if (MakePGDirectory(dir) < 0 && errno != EEXIST)
		ereport(ERROR,
				(errcode_for_file_access(),
				 errmsg("could not create directory \"%s\": %m", dir)));
	return dir;
}

static char *
token_path(const ZcrmConnection *conn)
{
	return psprintf("%s/%u-%u.token", cache_dir(), MyDatabaseId, conn->umid);
}

static char *
budget_path(const ZcrmConnection *conn)
{
	return psprintf("%s/rt-%.32s.budget", cache_dir(), conn->refresh_key);
}

/*
 * split_lines
 *		Split buf in place at newlines into at most max lines; returns how
 *		many.
 */
static int
split_lines(char *buf, char **lines, int max)
{
	int			n = 0;
	char	   *p = buf;

	while (n < max && p != NULL)
	{
		lines[n++] = p;
		p = strchr(p, '\n');
		if (p)
			*p++ = '\0';
	}
	return n;
}

/*
 * read_token_file
 *		Load a token file into *c; a missing or unreadable file, or one of
 *		another version, is an empty cache.
 */
static void
read_token_file(const char *path, TokenCache *c)
{
	char		buf[8192];
	int			fd;
	ssize_t		n;
	char	   *lines[6];

	memset(c, 0, sizeof(*c));
	fd = OpenTransientFile(path, O_RDONLY | PG_BINARY);
	if (fd < 0)
		return;
	n = read(fd, buf, sizeof(buf) - 1);
	CloseTransientFile(fd);
	if (n <= 0)
		return;
	buf[n] = '\0';
	if (split_lines(buf, lines, lengthof(lines)) >= 6 &&
		strcmp(lines[0], ZCRM_TOKEN_VERSION) == 0 &&
		strlen(lines[1]) == PG_SHA256_DIGEST_STRING_LENGTH - 1)
	{
		strlcpy(c->fingerprint, lines[1], sizeof(c->fingerprint));
		c->expires_at = strtoll(lines[2], NULL, 10);
		c->lifetime_s = strtoll(lines[3], NULL, 10);
		c->api_domain = pstrdup(lines[4]);
		c->token = pstrdup(lines[5]);
		c->present = (c->token[0] != '\0');
	}
	explicit_bzero(buf, sizeof(buf));
}

/*
 * write_file_atomically
 *		Replace the file at "path" with "len" bytes of "data" (mode 0600):
 *		write a temporary file, rename it.
 */
static void
write_file_atomically(const char *path, const char *data, size_t len)
{
	char	   *tmp = psprintf("%s.%d.tmp", path, MyProcPid);
	int			fd;

	fd = OpenTransientFilePerm(tmp, O_WRONLY | O_CREAT | O_TRUNC | PG_BINARY,
							   S_IRUSR | S_IWUSR);
	if (fd < 0)
		ereport(ERROR,
				(errcode_for_file_access(),
				 errmsg("could not create file \"%s\": %m", tmp)));
	if (write(fd, data, len) != len)
	{
		int			save_errno = errno;

		CloseTransientFile(fd);
		unlink(tmp);
		errno = save_errno ? save_errno : ENOSPC;
		ereport(ERROR,
				(errcode_for_file_access(),
				 errmsg("could not write file \"%s\": %m", tmp)));
	}
	if (CloseTransientFile(fd) != 0 || rename(tmp, path) != 0)
	{
		int			save_errno = errno;

		unlink(tmp);
		errno = save_errno;
		ereport(ERROR,
				(errcode_for_file_access(),
				 errmsg("could not write file \"%s\": %m", path)));
	}
}

/*
 * write_token_file
 *		Store token cache "c" in the file at "path".
 */
static void
write_token_file(const char *path, const TokenCache *c)
{
	StringInfoData buf;

	initStringInfo(&buf);
	appendStringInfo(&buf, "%s\n%s\n" INT64_FORMAT "\n" INT64_FORMAT "\n%s\n%s\n",
					 ZCRM_TOKEN_VERSION, c->fingerprint, (int64) c->expires_at,
					 c->lifetime_s, c->api_domain, c->token);
	write_file_atomically(path, buf.data, buf.len);
	explicit_bzero(buf.data, buf.len);
	pfree(buf.data);
}

/*
 * open_budget
 *		Open (creating) the budget file of a refresh token and take its
 *		exclusive lock, waiting on the process latch so that cancel and
 *		statement_timeout interrupt the wait.  Returns the descriptor;
 *		closing it unlocks (and an ERROR closes it).
 */
static int
open_budget(const char *path)
{
	int			fd = OpenTransientFilePerm(path, O_RDWR | O_CREAT | PG_BINARY,
										   S_IRUSR | S_IWUSR);

	if (fd < 0)
		ereport(ERROR,
				(errcode_for_file_access(),
				 errmsg("could not open file \"%s\": %m", path)));
	for (;;)
	{
		if (flock(fd, LOCK_EX | LOCK_NB) == 0)
			return fd;
		if (errno != EWOULDBLOCK && errno != EINTR)
			ereport(ERROR,
					(errcode_for_file_access(),
					 errmsg("could not lock file \"%s\": %m", path)));
		(void) WaitLatch(MyLatch, WL_LATCH_SET | WL_TIMEOUT | WL_EXIT_ON_PM_DEATH,
						 10, PG_WAIT_EXTENSION);
		ResetLatch(MyLatch);
		CHECK_FOR_INTERRUPTS();
	}
}

/*
 * read_budget
 *		The attempts recorded in the (locked) budget file "fd".
 */
static void
read_budget(int fd, Budget *b)
{
	char		buf[512];
	ssize_t		n = pread(fd, buf, sizeof(buf) - 1, 0);
	char	   *lines[2];
	char	   *p;

	memset(b, 0, sizeof(*b));
	if (n <= 0)
		return;
	buf[n] = '\0';
	if (split_lines(buf, lines, 2) < 2 || strcmp(lines[0], ZCRM_BUDGET_VERSION) != 0)
		return;
	for (p = lines[1]; *p && b->n < ZCRM_MAX_REFRESHES;)
	{
		char	   *end;

		b->at[b->n++] = strtoll(p, &end, 10);
		if (end == p)
			break;
		p = (*end == ',') ? end + 1 : end;
	}
}

/*
 * write_budget
 *		Rewrite the (locked) budget file "fd" in place (it is the lock, so
 *		it is not replaced).
 */
static void
write_budget(int fd, const char *path, const Budget *b)
{
	StringInfoData buf;

	initStringInfo(&buf);
	appendStringInfo(&buf, "%s\n", ZCRM_BUDGET_VERSION);
	for (int i = 0; i < b->n; i++)
		appendStringInfo(&buf, "%s" INT64_FORMAT, i ? "," : "", (int64) b->at[i]);
	appendStringInfoChar(&buf, '\n');
	if (pwrite(fd, buf.data, buf.len, 0) != buf.len || ftruncate(fd, buf.len) != 0)
		ereport(ERROR,
				(errcode_for_file_access(),
				 errmsg("could not write file \"%s\": %m", path)));
	pfree(buf.data);
}

/* Attempts of a budget within the last ZCRM_REFRESH_WINDOW_S seconds. */
static int
budget_recent(const Budget *b)
{
	TimestampTz window_start = (GetCurrentTimestamp() -
								(TimestampTz) ZCRM_REFRESH_WINDOW_S * USECS_PER_SEC);
	int			recent = 0;

	for (int i = 0; i < b->n; i++)
		recent += (b->at[i] > window_start);
	return recent;
}

/* Record an attempt at "when", dropping the oldest when full. */
static void
budget_add(Budget *b, TimestampTz when)
{
	if (b->n == ZCRM_MAX_REFRESHES)
	{
		memmove(b->at, b->at + 1, sizeof(TimestampTz) * (ZCRM_MAX_REFRESHES - 1));
		b->n--;
	}
	b->at[b->n++] = when;
}

/* Take back the attempt recorded at "when". */
static void
budget_remove(Budget *b, TimestampTz when)
{
	for (int i = b->n - 1; i >= 0; i--)
	{
		if (b->at[i] == when)
		{
			memmove(b->at + i, b->at + i + 1, sizeof(TimestampTz) * (b->n - i - 1));
			b->n--;
			return;
		}
	}
}

/*
 * token_is_fresh
 *		True when "c" holds a token for these credentials with more than a
 *		tenth of its lifetime (at most five minutes) left.
 */
static bool
token_is_fresh(const TokenCache *c, const char *fingerprint)
{
	int64		margin_s = Min(ZCRM_MAX_MARGIN_S, c->lifetime_s / 10);

	return c->present && strcmp(c->fingerprint, fingerprint) == 0 &&
		GetCurrentTimestamp() < c->expires_at - margin_s * USECS_PER_SEC;
}

/* True when "c" holds the token the API just rejected. */
static bool
is_rejected(const TokenCache *c, const char *rejected)
{
	return rejected != NULL && strcmp(c->token, rejected) == 0;
}

/*
 * token_is_valid
 *		True when "c" holds a token for these credentials that has not
 *		expired and is not the one the API just rejected: what a failed
 *		refresh ahead of expiry falls back on.
 */
static bool
token_is_valid(const TokenCache *c, const char *fingerprint, const char *rejected)
{
	return c->present && strcmp(c->fingerprint, fingerprint) == 0 &&
		GetCurrentTimestamp() < c->expires_at && !is_rejected(c, rejected);
}

/* A fresh token that is not the one the API just rejected. */
static bool
token_is_usable(const TokenCache *c, const char *fingerprint, const char *rejected)
{
	return token_is_fresh(c, fingerprint) && !is_rejected(c, rejected);
}

/*
 * post_token_request
 *		POST the refresh grant once, with query cancel held off until the
 *		exchange is over (termination still ends it at once), and fill *o.
 */
static void
post_token_request(const ZcrmConnection *conn, ZcrmOutcome *o)
{
	const char *pairs[8] = {
		"grant_type", "refresh_token",
		"client_id", conn->client_id,
		"client_secret", conn->client_secret,
		"refresh_token", conn->refresh_token,
	};
	ZcrmRequest req;
	char	   *form = zcrm_form_encode(pairs, 4);

	memset(&req, 0, sizeof(req));
	req.url = psprintf("%s/oauth/v2/token", conn->accounts_server);
	req.form = form;
	req.what = psprintf("the token refresh of connection \"%s\"", conn->name);
	req.once = true;
	req.timeout_ms = ZCRM_TOKEN_TIMEOUT_MS;

	HOLD_CANCEL_INTERRUPTS();
	PG_TRY();
	{
		zcrm_http_request_many(&req, 1, 1, o);
	}
	PG_FINALLY();
	{
		RESUME_CANCEL_INTERRUPTS();
		explicit_bzero(form, strlen(form));
	}
	PG_END_TRY();
}

/*
 * take_reply
 *		Turn the token endpoint's response into *c, or raise the error it
 *		amounts to.
 */
static void
take_reply(const ZcrmConnection *conn, const ZcrmHttpResponse *resp, TokenCache *c)
{
	const char *secrets[] = {conn->client_secret, conn->refresh_token, NULL};
	ZcrmTokenReply *reply = NULL;
	ZcrmParseError perr;
	ZcrmParseStatus st;
	int64		lifetime_s;

	st = zcrm_parse_token_reply(resp->body, resp->body_len, &reply, &perr);
	if (st != ZCRM_PARSE_OK || reply->error != NULL ||
		resp->status < 200 || resp->status > 299)
	{
		char	   *error = (st == ZCRM_PARSE_OK && reply->error) ? pstrdup(reply->error) : NULL;
		char	   *desc = (st == ZCRM_PARSE_OK && reply->error_description) ?
		pstrdup(reply->error_description) : NULL;

		zcrm_token_reply_free(reply);
		zcrm_raise_token_error(conn->name, resp->status, error, desc,
							   resp->body, resp->body_len,
							   st == ZCRM_PARSE_OK ? NULL : &perr, secrets);
	}

	lifetime_s = reply->has_expires_in ? reply->expires_in : ZCRM_DEFAULT_LIFETIME_S;
	c->token = pstrdup(reply->access_token);
	c->api_domain = pstrdup(reply->api_domain ? reply->api_domain : "");
	zcrm_token_reply_free(reply);

	if (!zcrm_visible_ascii(c->token, ZCRM_MAX_TOKEN_LEN))
		ereport(ERROR,
				(errcode(ERRCODE_DATA_EXCEPTION),
				 errmsg("unexpected token reply from the Zoho accounts server for connection \"%s\"",
						conn->name),
				 errdetail("The access token it sent is not 1 to %d visible ASCII characters.",
						   ZCRM_MAX_TOKEN_LEN)));
	if (c->api_domain[0] != '\0')
	{
		const char *detail;

		if (!zcrm_valid_base_url(c->api_domain, &detail) ||
			(conn->zoho_accounts && !zcrm_is_zoho_api_domain(c->api_domain)))
			ereport(ERROR,
					(errcode(ERRCODE_PROTOCOL_VIOLATION),
					 errmsg("token reply for connection \"%s\" names an API domain that is not Zoho's",
							conn->name),
					 errdetail("Access tokens from Zoho's accounts servers are only sent to Zoho's API domains.")));
	}
	strlcpy(c->fingerprint, conn->fingerprint, sizeof(c->fingerprint));
	c->lifetime_s = lifetime_s;
	c->expires_at = GetCurrentTimestamp() + lifetime_s * USECS_PER_SEC;
	c->present = true;
}

/*
 * sweep
 *		Remove token files of user mappings (of this database) or databases
 *		that no longer exist, files of versions before 2.0, and budget files
 *		unused for a day.  Best effort: nothing here raises.
 */
static void
sweep(void)
{
	char	   *dir = cache_dir();
	DIR		   *d = AllocateDir(dir);
	struct dirent *de;
	time_t		now = time(NULL);

	while ((de = ReadDirExtended(d, dir, LOG)) != NULL)
	{
		const char *name = de->d_name;
		char	   *path;
		unsigned int db,
					umid;
		char		rest[16];
		bool		remove = false;
		struct stat st;

		if (name[0] == '.')
			continue;
		path = psprintf("%s/%s", dir, name);
		if (sscanf(name, "%u-%u.%15s", &db, &umid, rest) == 3 &&
			strcmp(rest, "token") == 0 && strspn(name, "0123456789-") + 6 == strlen(name))
		{
			if (db == MyDatabaseId)
				remove = !zcrm_user_mapping_exists((Oid) umid);
			else
				remove = !SearchSysCacheExists1(DATABASEOID, ObjectIdGetDatum((Oid) db));
		}
		else if (strncmp(name, "rt-", 3) == 0 && strstr(name, ".tmp") == NULL)
			remove = (stat(path, &st) == 0 && now - st.st_mtime > ZCRM_BUDGET_SWEEP_S);
		else if (strstr(name, ".tmp") != NULL)
			remove = (stat(path, &st) == 0 && now - st.st_mtime > 3600);
		else
			remove = true;		/* a file of zcrm_bulk 1.x */
		if (remove && unlink(path) == 0)
			ereport(DEBUG1,
					(errmsg_internal("zcrm_bulk: removed stale token cache file \"%s\"", name)));
		pfree(path);
	}
	FreeDir(d);
}

/*
 * refresh_locked
 *		With the budget file "fd" locked: count the attempt, make it, and
 *		store its token in *c (and the token file).  "fallback" is the token
 *		to keep using when the refresh fails while it is still valid.
 */
static void
refresh_locked(const ZcrmConnection *conn, int fd, const char *bpath,
			   const char *tpath, const char *rejected, TokenCache *c)
{
	TokenCache	old = *c;
	Budget		b;
	int			recent;
	TimestampTz now = GetCurrentTimestamp();
	MemoryContext cxt = CurrentMemoryContext;
	ZcrmOutcome o;

	read_budget(fd, &b);
	recent = budget_recent(&b);
	if (recent >= ZCRM_MAX_REFRESHES)
	{
		if (token_is_valid(&old, conn->fingerprint, rejected))
			return;
		ereport(ERROR,
				(errcode(ERRCODE_CONFIGURATION_LIMIT_EXCEEDED),
				 errmsg("access token of Zoho CRM connection \"%s\" was refreshed %d times in ten minutes",
						conn->name, recent),
				 errdetail("zcrm_bulk refreshes a token at most %d times in ten minutes per refresh token, to stay clear of Zoho's limit of ten.",
						   ZCRM_MAX_REFRESHES),
				 errhint("The API keeps rejecting fresh tokens: check the scope and data centre of the refresh token, or set a new one with ALTER USER MAPPING ... SERVER %s OPTIONS (SET refresh_token '...').",
						 quote_identifier(conn->name))));
	}

	/* counted before it is sent: a terminated backend's attempt counts too */
	budget_add(&b, now);
	write_budget(fd, bpath, &b);
	post_token_request(conn, &o);

	if (!o.complete)
	{
		/* nothing reached the server: the attempt is taken back */
		if (o.kind == ZCRM_FAIL_CONNECT || o.kind == ZCRM_FAIL_CONNECT_TIMEOUT)
		{
			budget_remove(&b, now);
			write_budget(fd, bpath, &b);
		}
		if (token_is_valid(&old, conn->fingerprint, rejected))
			return;
		zcrm_raise_transport_error(o.kind, o.reason, psprintf("the token refresh of connection \"%s\"", conn->name),
								   o.limit, o.attempts);
	}

	PG_TRY();
	{
		take_reply(conn, &o.resp, c);
	}
	PG_CATCH();
	{
		ErrorData  *edata;

		MemoryContextSwitchTo(cxt);
		explicit_bzero(o.resp.body, o.resp.body_len);
		/* a query cancel raised while reading the reply is never swallowed */
		edata = CopyErrorData();
		if (edata->sqlerrcode == ERRCODE_QUERY_CANCELED ||
			!token_is_valid(&old, conn->fingerprint, rejected))
			PG_RE_THROW();
		FreeErrorData(edata);
		/* a refresh ahead of expiry failed: the old token is still good */
		FlushErrorState();
		*c = old;
		return;
	}
	PG_END_TRY();
	explicit_bzero(o.resp.body, o.resp.body_len);

	write_token_file(tpath, c);
	ereport(DEBUG1,
			(errmsg_internal("zcrm_bulk: refreshed the access token of connection \"%s\"; it expires in " INT64_FORMAT " s",
							 conn->name, c->lifetime_s)));
	sweep();
}

/*
 * zcrm_oauth_access
 *		See oauth.h.
 */
void
zcrm_oauth_access(const ZcrmConnection *conn, const char *rejected,
				  char **token, char **api_domain)
{
	MemToken   *m = mem_token(conn->umid);
	TokenCache	c;

	if (token_is_usable(&m->c, conn->fingerprint, rejected))
		c = m->c;
	else
	{
		char	   *tpath = token_path(conn);

		/* another backend may have a fresh one: read without the lock */
		read_token_file(tpath, &c);
		if (!token_is_usable(&c, conn->fingerprint, rejected))
		{
			char	   *bpath = budget_path(conn);
			int			fd = open_budget(bpath);

			/* someone may have refreshed while we waited for the lock */
			read_token_file(tpath, &c);
			if (!token_is_usable(&c, conn->fingerprint, rejected))
				refresh_locked(conn, fd, bpath, tpath, rejected, &c);
			CloseTransientFile(fd);
		}
		remember(conn->umid, &c);
	}

	*token = pstrdup(c.token);
	if (conn->api_domain)
		*api_domain = pstrdup(conn->api_domain);
	else if (c.api_domain[0] != '\0')
		*api_domain = pstrdup(c.api_domain);
	else
		*api_domain = pstrdup(zcrm_api_domain);
}
