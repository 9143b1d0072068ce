/*-------------------------------------------------------------------------
 *
 * oauth.c
 *	  Access tokens for named connections: refresh grant and shared cache.
 *
 * Zoho access tokens live an hour, and Zoho issues at most ten per refresh
 * token in ten minutes, so a token must be shared by every session that
 * uses a connection (pg_cron starts a new one for each run) and refreshed
 * once per lifetime, not once per session.  The cache is a small file per
 * database and connection under $PGDATA/zcrm_bulk/, mode 0600:
 *
 *	- it needs no shared_preload_libraries and no shared memory;
 *	- it works in read-only transactions and on standbys (nothing is
 *	  written to a table);
 *	- a refresh is single-flight: the refresher holds flock() on a lock
 *	  file; the others poll for the lock on the process latch (so cancel
 *	  works while they wait), then find the fresh token and use it.  The
 *	  kernel releases the lock if the refresher dies, and PostgreSQL closes
 *	  the file (releasing the lock) when an ERROR aborts the refresh.
 *
 * The cache records the fingerprint (SHA-256) of the credentials it was
 * obtained with, so altering a connection invalidates it, and the times of
 * the last refreshes, so that no more than ZCRM_MAX_REFRESHES happen in ten
 * minutes whatever goes wrong.  Tokens are refreshed once less than a tenth
 * of their lifetime (at most five minutes) is left.
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
#include <unistd.h>

#include "common/cryptohash.h"
#include "common/file_perm.h"
#include "common/sha2.h"
#include "lib/stringinfo.h"
#include "miscadmin.h"
#include "storage/fd.h"
#include "storage/latch.h"
#include "utils/timestamp.h"
#include "utils/wait_event.h"

#include "connections.h"
#include "errors.h"
#include "oauth.h"
#include "parse.h"
#include "settings.h"
#include "transport.h"

/* Refreshes allowed per connection in ZCRM_REFRESH_WINDOW_S seconds. */
#define ZCRM_MAX_REFRESHES		5
#define ZCRM_REFRESH_WINDOW_S	600
/* Lifetime assumed when a token reply has no expires_in. */
#define ZCRM_DEFAULT_LIFETIME_S 3600
/* Longest a token is refreshed ahead of its expiry. */
#define ZCRM_MAX_MARGIN_S		300
#define ZCRM_CACHE_DIR			"zcrm_bulk"
#define ZCRM_CACHE_VERSION		"zcrm_bulk token cache 1"

/* The cache file's content. */
typedef struct TokenCache
{
	bool		present;
	char		fingerprint[PG_SHA256_DIGEST_STRING_LENGTH];
	TimestampTz expires_at;
	int64		lifetime_s;
	char	   *api_domain;		/* "" when the reply named none */
	char	   *token;
	int			nrefreshes;
	TimestampTz refreshes[ZCRM_MAX_REFRESHES];	/* most recent last */
} TokenCache;

/*
 * sha256_hex
 *		Hex SHA-256 of "len" bytes into out (PG_SHA256_DIGEST_STRING_LENGTH).
 */
static void
sha256_hex(const char *data, size_t len, char *out)
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
 * credentials_fingerprint
 *		What a cached token was obtained with; any change of credentials or
 *		accounts server makes the cache stale.
 */
static void
credentials_fingerprint(const ZcrmConnection *conn, char *out)
{
	StringInfoData buf;

	initStringInfo(&buf);
	appendStringInfo(&buf, "%s\n%s\n%s\n%s", conn->client_id,
					 conn->client_secret, conn->refresh_token,
					 conn->accounts_server);
	sha256_hex(buf.data, buf.len, out);
	explicit_bzero(buf.data, buf.len);
	pfree(buf.data);
}

/*
 * cache_path
 *		$PGDATA/zcrm_bulk/<database oid>-<sha256 of name>.<suffix>, creating
 *		the directory when needed.
 */
static char *
cache_path(const char *name, const char *suffix)
{
	/* the name's hash, remembered for the connection used last */
	static char last_name[NAMEDATALEN * 2];
	static char last_hash[PG_SHA256_DIGEST_STRING_LENGTH];
	char		hash[PG_SHA256_DIGEST_STRING_LENGTH];
	char	   *dir = psprintf("%s/%s", DataDir, ZCRM_CACHE_DIR);

	if (MakePGDirectory(dir) < 0 && errno != EEXIST)
		ereport(ERROR,
				(errcode_for_file_access(),
				 errmsg("could not create directory \"%s\": %m", dir)));
	if (last_name[0] == '\0' || strcmp(name, last_name) != 0)
	{
		last_name[0] = '\0';
		sha256_hex(name, strlen(name), last_hash);
		strlcpy(last_name, name, sizeof(last_name));
	}
	memcpy(hash, last_hash, sizeof(hash));
	return psprintf("%s/%u-%.32s.%s", dir, MyDatabaseId, hash, suffix);
}

/*
 * read_cache
 *		Load the cache file at "path" into *c; a missing or unreadable file
 *		is an empty cache.
 */
static void
read_cache(const char *path, TokenCache *c)
{
	char		buf[16384];
	int			fd;
	ssize_t		n;
	char	   *lines[8];
	int			nlines = 0;
	char	   *p;

	memset(c, 0, sizeof(*c));
	fd = OpenTransientFile(path, O_RDONLY | PG_BINARY);
	if (fd < 0)
		return;
	n = read(fd, buf, sizeof(buf) - 1);
	CloseTransientFile(fd);
	if (n <= 0)
		return;
	buf[n] = '\0';

	for (p = buf; nlines < lengthof(lines) && p != NULL; nlines++)
	{
		lines[nlines] = p;
		p = strchr(p, '\n');
		if (p)
			*p++ = '\0';
	}
	if (nlines < 7 || strcmp(lines[0], ZCRM_CACHE_VERSION) != 0 ||
		strlen(lines[1]) != PG_SHA256_DIGEST_STRING_LENGTH - 1)
		return;

	strlcpy(c->fingerprint, lines[1], sizeof(c->fingerprint));
	c->expires_at = strtoll(lines[2], NULL, 10);
	c->lifetime_s = strtoll(lines[3], NULL, 10);
	for (p = lines[4]; *p && c->nrefreshes < ZCRM_MAX_REFRESHES;)
	{
		char	   *end;

		c->refreshes[c->nrefreshes++] = strtoll(p, &end, 10);
		p = (*end == ',') ? end + 1 : end;
		if (end == p && *p)
			break;
	}
	c->api_domain = pstrdup(lines[5]);
	c->token = pstrdup(lines[6]);
	c->present = (c->token[0] != '\0');
	explicit_bzero(buf, sizeof(buf));
}

/*
 * write_cache
 *		Replace the cache file atomically (write a temporary file, rename).
 *		The caller holds the lock.
 */
static void
write_cache(const char *path, const TokenCache *c)
{
	StringInfoData buf;
	char	   *tmp = psprintf("%s.tmp", path);
	int			fd;

	initStringInfo(&buf);
	appendStringInfo(&buf, "%s\n%s\n" INT64_FORMAT "\n" INT64_FORMAT "\n",
					 ZCRM_CACHE_VERSION, c->fingerprint, (int64) c->expires_at,
					 c->lifetime_s);
	for (int i = 0; i < c->nrefreshes; i++)
		appendStringInfo(&buf, "%s" INT64_FORMAT, i ? "," : "", (int64) c->refreshes[i]);
	appendStringInfo(&buf, "\n%s\n%s\n", c->api_domain, c->token);

	fd = OpenTransientFilePerm(tmp, O_WRONLY | O_CREAT | O_TRUNC | PG_BINARY,
							   S_IRUSR | S_IWUSR);
	if (fd < 0)
		ereport(ERROR,
				(errcode_for_file_access(),
				 errmsg("could not create file \"%s\": %m", tmp)));
	if (write(fd, buf.data, buf.len) != buf.len)
	{
		int			save_errno = errno;

		CloseTransientFile(fd);
		errno = save_errno ? save_errno : ENOSPC;
		ereport(ERROR,
				(errcode_for_file_access(),
				 errmsg("could not write file \"%s\": %m", tmp)));
	}
	explicit_bzero(buf.data, buf.len);
	if (CloseTransientFile(fd) != 0 || rename(tmp, path) != 0)
		ereport(ERROR,
				(errcode_for_file_access(),
				 errmsg("could not write file \"%s\": %m", path)));
}

/*
 * cache_is_fresh
 *		True when the cache holds a token for these credentials that has more
 *		than a tenth of its lifetime (at most five minutes) left.
 */
static bool
cache_is_fresh(const TokenCache *c, const char *fingerprint)
{
	int64		margin_s = Min(ZCRM_MAX_MARGIN_S, c->lifetime_s / 10);

	return c->present && strcmp(c->fingerprint, fingerprint) == 0 &&
		GetCurrentTimestamp() < c->expires_at - margin_s * USECS_PER_SEC;
}

/*
 * cache_is_usable
 *		A fresh token that is not the one the API just rejected.
 */
static bool
cache_is_usable(const TokenCache *c, const char *fingerprint,
				const char *rejected)
{
	return cache_is_fresh(c, fingerprint) &&
		!(rejected && c->token && strcmp(c->token, rejected) == 0);
}

/*
 * lock_cache
 *		Take the exclusive lock of a connection's cache, waiting on the
 *		process latch so that cancel and statement_timeout interrupt the
 *		wait.  Returns the lock file's descriptor; closing it unlocks (and
 *		an ERROR closes it).
 */
static int
lock_cache(const char *lockpath)
{
	int			fd = OpenTransientFilePerm(lockpath, O_RDWR | O_CREAT | PG_BINARY,
										   S_IRUSR | S_IWUSR);

	if (fd < 0)
		ereport(ERROR,
				(errcode_for_file_access(),
				 errmsg("could not open file \"%s\": %m", lockpath)));
	for (;;)
	{
		if (flock(fd, LOCK_EX | LOCK_NB) == 0)
			return fd;
		if (errno != EWOULDBLOCK && errno != EINTR)
			ereport(ERROR,
					(errcode_for_file_access(),
					 errmsg("could not lock file \"%s\": %m", lockpath)));
		(void) WaitLatch(MyLatch, WL_LATCH_SET | WL_TIMEOUT | WL_EXIT_ON_PM_DEATH,
						 10, PG_WAIT_EXTENSION);
		ResetLatch(MyLatch);
		CHECK_FOR_INTERRUPTS();
	}
}

/*
 * valid_access_token
 *		A token fit to put in a header: 1 to 4096 visible ASCII characters.
 */
static bool
valid_access_token(const char *token)
{
	size_t		len = strlen(token);

	for (size_t i = 0; i < len; i++)
	{
		if (token[i] <= ' ' || token[i] > '~')
			return false;
	}
	return len > 0 && len <= 4096;
}

/*
 * refresh_token
 *		Ask the accounts server for a new access token and store it in *c
 *		(the caller holds the lock and writes the cache).
 */
static void
refresh_token(const ZcrmConnection *conn, TokenCache *c)
{
	const char *pairs[8] = {
		"grant_type", "refresh_token",
		"client_id", conn->client_id,
		"client_secret", conn->client_secret,
		"refresh_token", conn->refresh_token,
	};
	const char *secrets[] = {conn->client_secret, conn->refresh_token, NULL};
	ZcrmRequest req;
	ZcrmHttpResponse resp;
	ZcrmTokenReply *reply = NULL;
	ZcrmParseError perr;
	ZcrmParseStatus st;
	char	   *form = zcrm_form_encode(pairs, 4);
	TimestampTz now = GetCurrentTimestamp();
	int64		lifetime_s;

	req.url = psprintf("%s/oauth/v2/token", conn->accounts_server);
	req.token = NULL;
	req.form = form;
	req.what = psprintf("the token refresh of connection \"%s\"", conn->name);

	/* Count the attempt before it is made: a failed one may still count. */
	if (c->nrefreshes == ZCRM_MAX_REFRESHES)
	{
		memmove(c->refreshes, c->refreshes + 1,
				sizeof(TimestampTz) * (ZCRM_MAX_REFRESHES - 1));
		c->nrefreshes--;
	}
	c->refreshes[c->nrefreshes++] = now;

	zcrm_http_request(&req, &resp);
	explicit_bzero(form, strlen(form));

	st = zcrm_parse_token_reply(resp.body, resp.body_len, &reply, &perr);
	if (st != ZCRM_PARSE_OK || reply->error != NULL ||
		resp.status < 200 || resp.status > 299)
	{
		char	   *error = (st == ZCRM_PARSE_OK && reply->error) ? pstrdup(reply->error) : NULL;
		char	   *desc = (st == ZCRM_PARSE_OK && reply->error_description) ?
		pstrdup(reply->error_description) : NULL;

		zcrm_token_reply_free(reply);
		zcrm_raise_token_error(conn->name, resp.status, error, desc,
							   resp.body, resp.body_len,
							   st == ZCRM_PARSE_OK ? NULL : &perr, secrets);
	}

	lifetime_s = reply->has_expires_in ? reply->expires_in : ZCRM_DEFAULT_LIFETIME_S;
	c->token = pstrdup(reply->access_token);
	c->api_domain = pstrdup(reply->api_domain ? reply->api_domain : "");
	zcrm_token_reply_free(reply);
	explicit_bzero(resp.body, resp.body_len);

	if (!valid_access_token(c->token))
		ereport(ERROR,
				(errcode(ERRCODE_DATA_EXCEPTION),
				 errmsg("unexpected token reply from the Zoho accounts server for connection \"%s\"",
						conn->name),
				 errdetail("The access token it sent is not 1 to 4096 visible ASCII characters.")));
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
	c->lifetime_s = lifetime_s;
	c->expires_at = now + lifetime_s * USECS_PER_SEC;
	c->present = true;
	ereport(DEBUG1,
			(errmsg_internal("zcrm_bulk: refreshed the access token of connection \"%s\"; it expires in " INT64_FORMAT " s",
							 conn->name, lifetime_s)));
}

/*
 * zcrm_oauth_access
 *		See oauth.h.
 */
void
zcrm_oauth_access(const ZcrmConnection *conn, const char *rejected,
				  char **token, char **api_domain)
{
	char		fingerprint[PG_SHA256_DIGEST_STRING_LENGTH];
	char	   *path = cache_path(conn->name, "token");
	TokenCache	c;

	credentials_fingerprint(conn, fingerprint);

	/* The common case: a fresh token, read without taking the lock. */
	read_cache(path, &c);
	if (!cache_is_usable(&c, fingerprint, rejected))
	{
		int			lockfd = lock_cache(cache_path(conn->name, "lock"));
		TimestampTz window_start;
		int			recent = 0;

		/* Someone may have refreshed while we waited for the lock. */
		read_cache(path, &c);
		if (!cache_is_usable(&c, fingerprint, rejected))
		{
			window_start = GetCurrentTimestamp() - ZCRM_REFRESH_WINDOW_S * USECS_PER_SEC;
			for (int i = 0; i < c.nrefreshes; i++)
				recent += (c.refreshes[i] > window_start);
			if (recent >= ZCRM_MAX_REFRESHES)
				ereport(ERROR,
						(errcode(ERRCODE_CONFIGURATION_LIMIT_EXCEEDED),
						 errmsg("access token of Zoho CRM connection \"%s\" was refreshed %d times in ten minutes",
								conn->name, recent),
						 errdetail("zcrm_bulk refreshes a token at most %d times in ten minutes, to stay clear of Zoho's limit of ten.",
								   ZCRM_MAX_REFRESHES),
						 errhint("The API keeps rejecting fresh tokens: check the scope and data centre of the connection's refresh token.")));
			strlcpy(c.fingerprint, fingerprint, sizeof(c.fingerprint));
			PG_TRY();
			{
				refresh_token(conn, &c);
			}
			PG_CATCH();
			{
				/* Record the attempt (it counts against Zoho's limit). */
				c.present = false;
				c.token = "";
				c.api_domain = "";
				write_cache(path, &c);
				PG_RE_THROW();
			}
			PG_END_TRY();
			write_cache(path, &c);
		}
		CloseTransientFile(lockfd);
	}

	*token = c.token;
	if (conn->api_domain)
		*api_domain = pstrdup(conn->api_domain);
	else if (c.api_domain[0] != '\0')
		*api_domain = c.api_domain;
	else
		*api_domain = pstrdup(zcrm_api_domain);
}
