/*-------------------------------------------------------------------------
 *
 * rawfetch.c
 *	  The transport floor of the zcrm_bulk benchmark: fetch one URL again
 *	  and again with plain libcurl and print the mean latency per fetch.
 *
 * Each of K workers (threads, or with -p processes, like PostgreSQL's
 * backends) owns one easy handle, configured once the way
 * zcrm_bulk configures its own (Accept and Authorization headers, any
 * Accept-Encoding, no signals, TCP keep-alive, peer and host verification,
 * an optional CA file), and calls curl_easy_perform() on it N times (or
 * for T seconds), so keep-alive connections and TLS sessions are reused
 * exactly as the handle allows.  The body is collected into memory and
 * its length checked, but not parsed: what is left is the cost of the HTTP
 * exchange itself, which is what zcrm_bulk cannot go below.
 *
 * Usage:
 *	  rawfetch [-p] [-c workers] [-n fetches] [-t seconds] [-w warmup]
 *			   [-k cafile] [-a token] [-b expected_body_bytes] URL
 *
 *	  -p	 workers are processes (fork) rather than threads
 *	  -c K	 workers (default 1), started together once all have warmed up
 *	  -n N	 fetches per worker (default 1000); ignored with -t
 *	  -t T	 fetch for T seconds per worker instead of N times
 *	  -w W	 untimed warm-up fetches per worker (default 1: connects)
 *	  -k F	 CA bundle to verify the server with (CURLOPT_CAINFO)
 *	  -a T	 send "Authorization: Zoho-oauthtoken T"
 *	  -b B	 fail unless every body is exactly B bytes
 *
 * Output, one line of key=value pairs on stdout:
 *	  workers=K fetches=TOTAL seconds=S fetches_per_s=R mean_latency_ms=L
 * where L is the time all workers spent fetching divided by the fetches
 * they made (the mean time a fetch took; with T seconds this is
 * K / R, as pgbench computes its "latency average").  Exit status 1 when any fetch fails or gets a
 * status other than 200.
 *
 * Build: gcc -O2 -Wall -o rawfetch rawfetch.c -lcurl -lpthread
 *
 * Copyright (c) 2026, zcrm_bulk developers
 *
 * IDENTIFICATION
 *	  bench/rawfetch.c
 *
 *-------------------------------------------------------------------------
 */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/wait.h>

#include <curl/curl.h>

/* The response body of one fetch; reused across a worker's fetches. */
typedef struct Body
{
	char	   *data;
	size_t		len;
	size_t		cap;
} Body;

/* One worker: its results out. */
typedef struct Worker
{
	pthread_t	thread;			/* thread mode only */
	long		fetches;		/* out: timed fetches made */
	double		elapsed;		/* out: seconds spent on them */
	char		error[CURL_ERROR_SIZE + 64];	/* out: first failure */
} Worker;

/* Options, shared read-only by every worker. */
static const char *opt_url = NULL;
static const char *opt_cafile = NULL;
static const char *opt_token = NULL;
static long opt_fetches = 1000;
static double opt_seconds = 0;
static long opt_warmup = 1;
static long opt_body_bytes = -1;

/* Start gate: a barrier for threads, two pipes for processes. */
static bool opt_processes = false;
static pthread_barrier_t start_barrier;
static int	ready_pipe[2];		/* a child writes one byte when warmed up */
static int	gate_pipe[2];		/* closed by the parent: start */

/*
 * now_seconds
 *		Monotonic clock in seconds.
 */
static double
now_seconds(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

/*
 * write_body
 *		CURLOPT_WRITEFUNCTION: append to the worker's Body.
 */
static size_t
write_body(char *ptr, size_t size, size_t nmemb, void *userdata)
{
	Body	   *body = (Body *) userdata;
	size_t		n = size * nmemb;

	if (body->len + n + 1 > body->cap)
	{
		size_t		newcap = body->cap ? body->cap * 2 : 16384;
		char	   *p;

		while (newcap < body->len + n + 1)
			newcap *= 2;
		p = realloc(body->data, newcap);
		if (p == NULL)
			return 0;
		body->data = p;
		body->cap = newcap;
	}
	memcpy(body->data + body->len, ptr, n);
	body->len += n;
	body->data[body->len] = '\0';
	return n;
}

/*
 * fetch_once
 *		One GET on the worker's handle.  Returns false, with a message in
 *		w->error, when it fails or the answer is not the expected one.
 */
static bool
fetch_once(CURL *easy, Body *body, char *errbuf, Worker *w)
{
	CURLcode	rc;
	long		status = 0;

	body->len = 0;
	errbuf[0] = '\0';
	rc = curl_easy_perform(easy);
	if (rc != CURLE_OK)
	{
		snprintf(w->error, sizeof(w->error), "curl error %d: %s", (int) rc,
				 errbuf[0] ? errbuf : curl_easy_strerror(rc));
		return false;
	}
	curl_easy_getinfo(easy, CURLINFO_RESPONSE_CODE, &status);
	if (status != 200)
	{
		snprintf(w->error, sizeof(w->error), "HTTP status %ld", status);
		return false;
	}
	if (opt_body_bytes >= 0 && (long) body->len != opt_body_bytes)
	{
		snprintf(w->error, sizeof(w->error), "body of %zu bytes, expected %ld",
				 body->len, opt_body_bytes);
		return false;
	}
	return true;
}

/*
 * wait_for_start
 *		Block until every worker has warmed up.
 */
static void
wait_for_start(void)
{
	if (opt_processes)
	{
		char		c = 1;
		ssize_t		n;

		if (write(ready_pipe[1], &c, 1) != 1)
			_exit(1);
		/* so that the parent sees EOF should a worker die before this */
		close(ready_pipe[1]);
		/* the parent closes the gate's write end: read() returns 0 */
		do
			n = read(gate_pipe[0], &c, 1);
		while (n < 0 && errno == EINTR);
	}
	else
		pthread_barrier_wait(&start_barrier);
}

/*
 * worker_main
 *		Configure one easy handle, warm it up, wait for the other workers,
 *		then fetch until the count or the time is used up.
 */
static void *
worker_main(void *arg)
{
	Worker	   *w = (Worker *) arg;
	CURL	   *easy = curl_easy_init();
	struct curl_slist *headers = NULL;
	char		errbuf[CURL_ERROR_SIZE];
	char		auth[4200];
	Body		body = {0};
	bool		ok = (easy != NULL);
	double		start;

	w->error[0] = '\0';
	headers = curl_slist_append(headers, "Accept: application/json");
	if (opt_token)
	{
		snprintf(auth, sizeof(auth), "Authorization: Zoho-oauthtoken %s", opt_token);
		headers = curl_slist_append(headers, auth);
	}
	if (ok)
	{
		curl_easy_setopt(easy, CURLOPT_URL, opt_url);
		curl_easy_setopt(easy, CURLOPT_HTTPGET, 1L);
		curl_easy_setopt(easy, CURLOPT_HTTPHEADER, headers);
		curl_easy_setopt(easy, CURLOPT_USERAGENT, "rawfetch");
		curl_easy_setopt(easy, CURLOPT_ACCEPT_ENCODING, "");
		curl_easy_setopt(easy, CURLOPT_NOSIGNAL, 1L);
		curl_easy_setopt(easy, CURLOPT_FOLLOWLOCATION, 0L);
		curl_easy_setopt(easy, CURLOPT_TIMEOUT_MS, 30000L);
		curl_easy_setopt(easy, CURLOPT_TCP_KEEPALIVE, 1L);
		curl_easy_setopt(easy, CURLOPT_SSL_VERIFYPEER, 1L);
		curl_easy_setopt(easy, CURLOPT_SSL_VERIFYHOST, 2L);
		if (opt_cafile)
			curl_easy_setopt(easy, CURLOPT_CAINFO, opt_cafile);
		curl_easy_setopt(easy, CURLOPT_ERRORBUFFER, errbuf);
		curl_easy_setopt(easy, CURLOPT_WRITEFUNCTION, write_body);
		curl_easy_setopt(easy, CURLOPT_WRITEDATA, &body);
	}
	else
		snprintf(w->error, sizeof(w->error), "curl_easy_init failed");

	for (long i = 0; ok && i < opt_warmup; i++)
		ok = fetch_once(easy, &body, errbuf, w);

	/* Every worker must reach the gate, failed or not. */
	wait_for_start();

	w->fetches = 0;
	start = now_seconds();
	while (ok)
	{
		if (opt_seconds > 0 ? now_seconds() - start >= opt_seconds
			: w->fetches >= opt_fetches)
			break;
		ok = fetch_once(easy, &body, errbuf, w);
		if (ok)
			w->fetches++;
	}
	w->elapsed = now_seconds() - start;

	curl_slist_free_all(headers);
	if (easy)
		curl_easy_cleanup(easy);
	free(body.data);
	return NULL;
}

/*
 * run_processes
 *		Fork nworkers children, each running worker_main() and sending its
 *		Worker back through a pipe; start them together; collect results.
 *		Returns false when a fork or a pipe fails.
 */
static bool
run_processes(Worker *workers, long nworkers)
{
	int			result_pipe[2];
	pid_t	   *pids = calloc(nworkers, sizeof(pid_t));

	if (pids == NULL || pipe(ready_pipe) != 0 || pipe(gate_pipe) != 0 ||
		pipe(result_pipe) != 0)
	{
		perror("rawfetch: pipe");
		return false;
	}
	fflush(NULL);
	for (long i = 0; i < nworkers; i++)
	{
		pids[i] = fork();
		if (pids[i] < 0)
		{
			perror("rawfetch: fork");
			for (long j = 0; j < i; j++)
				kill(pids[j], SIGKILL);
			return false;
		}
		if (pids[i] == 0)
		{
			Worker		w = {0};

			close(gate_pipe[1]);
			close(ready_pipe[0]);
			close(result_pipe[0]);
			worker_main(&w);
			/* smaller than PIPE_BUF: written in one piece */
			if (write(result_pipe[1], &w, sizeof(w)) != (ssize_t) sizeof(w))
				_exit(1);
			_exit(0);
		}
	}
	close(ready_pipe[1]);
	close(result_pipe[1]);
	close(gate_pipe[0]);

	/* every child has warmed up (or failed and gone) */
	for (long i = 0; i < nworkers; i++)
	{
		char		c;

		if (read(ready_pipe[0], &c, 1) != 1)
			break;
	}
	close(gate_pipe[1]);

	for (long i = 0; i < nworkers; i++)
	{
		ssize_t		n = read(result_pipe[0], &workers[i], sizeof(Worker));

		if (n != (ssize_t) sizeof(Worker))
			snprintf(workers[i].error, sizeof(workers[i].error),
					 "worker process ended without a result");
	}
	for (long i = 0; i < nworkers; i++)
		waitpid(pids[i], NULL, 0);
	free(pids);
	return true;
}

static void
usage(void)
{
	fprintf(stderr,
			"usage: rawfetch [-p] [-c workers] [-n fetches] [-t seconds] [-w warmup]\n"
			"                [-k cafile] [-a token] [-b body_bytes] URL\n");
	exit(2);
}

int
main(int argc, char **argv)
{
	long		nworkers = 1;
	Worker	   *workers;
	long		total = 0;
	double		elapsed_sum = 0;
	double		longest = 0;
	bool		failed = false;
	int			c;

	while ((c = getopt(argc, argv, "pc:n:t:w:k:a:b:")) != -1)
	{
		switch (c)
		{
			case 'p':
				opt_processes = true;
				break;
			case 'c':
				nworkers = atol(optarg);
				break;
			case 'n':
				opt_fetches = atol(optarg);
				break;
			case 't':
				opt_seconds = atof(optarg);
				break;
			case 'w':
				opt_warmup = atol(optarg);
				break;
			case 'k':
				opt_cafile = optarg;
				break;
			case 'a':
				opt_token = optarg;
				break;
			case 'b':
				opt_body_bytes = atol(optarg);
				break;
			default:
				usage();
		}
	}
	if (optind != argc - 1 || nworkers < 1 || opt_fetches < 1 || opt_warmup < 0)
		usage();
	opt_url = argv[optind];

	if (curl_global_init(CURL_GLOBAL_ALL) != CURLE_OK)
	{
		fprintf(stderr, "rawfetch: curl_global_init failed\n");
		return 1;
	}
	workers = calloc(nworkers, sizeof(Worker));
	if (workers == NULL)
	{
		fprintf(stderr, "rawfetch: out of memory\n");
		return 1;
	}
	if (opt_processes)
	{
		if (!run_processes(workers, nworkers))
			return 1;
	}
	else
	{
		pthread_barrier_init(&start_barrier, NULL, (unsigned) nworkers);
		for (long i = 0; i < nworkers; i++)
		{
			int			rc = pthread_create(&workers[i].thread, NULL,
											worker_main, &workers[i]);

			if (rc != 0)
			{
				fprintf(stderr, "rawfetch: pthread_create: %s\n", strerror(rc));
				return 1;
			}
		}
		for (long i = 0; i < nworkers; i++)
			pthread_join(workers[i].thread, NULL);
		pthread_barrier_destroy(&start_barrier);
	}

	for (long i = 0; i < nworkers; i++)
	{
		Worker	   *w = &workers[i];

		if (w->error[0])
		{
			fprintf(stderr, "rawfetch: worker %ld: %s\n", i, w->error);
			failed = true;
		}
		else if (w->fetches > 0)
		{
			total += w->fetches;
			elapsed_sum += w->elapsed;
			if (w->elapsed > longest)
				longest = w->elapsed;
		}
	}
	if (failed || total == 0)
		return 1;

	printf("workers=%ld fetches=%ld seconds=%.3f fetches_per_s=%.1f mean_latency_ms=%.4f\n",
		   nworkers, total, longest, total / longest,
		   elapsed_sum / total * 1000.0);

	free(workers);
	curl_global_cleanup();
	return 0;
}
