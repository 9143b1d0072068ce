#!/usr/bin/env bash
# bench/run.sh: the zcrm_bulk benchmark (see bench/README.md).
#
# As root on a fresh Debian 12 machine: installs what is missing (nginx and
# PL/Python on top of the project's build and test dependencies), builds and
# installs zcrm_bulk, starts a throwaway PostgreSQL cluster, nginx as a fast
# static server (plain HTTP, HTTPS with HTTP/2 and keep-alive, HTTPS with a
# new connection per call, HTTPS with a full handshake per call) and the
# local Zoho API mock with a fixed delay, measures
#
#   1. single calls: zcrm_write_job vs. the same lookup in PL/Python vs. the
#      floor (SELECT 1 + a raw libcurl fetch), 1 and 8 clients;
#   2. HTTPS: connection reuse vs. a new connection vs. a full handshake;
#   3. 100 jobs: zcrm_write_jobs (batch) vs. a LATERAL join vs. the limit
#      ceil(100 / max_concurrency) x delay;
#   4. field mappings: 1, 100 and 10,000 mappings, time and memory;
#   5./6. a call through a server and user mapping against one with a token;
#   7. CSV+zip of 1,000,000 rows x 10 columns by zcrm_write_plan against
#      COPY (same query) TO STDOUT (FORMAT csv) deflated by zlib at the
#      same level, and the backend's peak memory growth;
#   8. end to end (bench/part8.sh): 100,000 rows into the local server with
#      a fixed delay per call, zcrm_write and zcrm_write_submit + poller
#      against CSV+zip + ceil(parts / max_concurrency) x the server's
#      per-part latency measured directly;
#
# and prints one Markdown table of the results and their ratios, also
# written to $BENCH_WORK/results.md.  Everything it started is stopped on
# exit, failure and Ctrl-C included.  Not part of CI.
#
# Settings (environment):
#   BENCH_SECONDS    length of each pgbench / raw fetch run (default 10)
#   BENCH_RUNS       timed runs of each part-3 query, after a warm-up (default 3)
#   BENCH_PART1_ROUNDS  rounds of part 1 (each measurement once per round;
#                    medians reported; default 3)
#   BENCH_DELAY_MS   the mock's --delay-ms in part 3 (default 50)
#   BENCH_CONCURRENCY  zcrm_bulk.max_concurrency values of part 3 (default "5 1 10";
#                    the first is the headline)
#   BENCH_PARTS      which parts to run (default "1 2 3 4 5 6 7 8")
#   BENCH_PART7_ROUNDS  interleaved rounds of part 7 (default 3)
#   BENCH_PART7_ROWS rows of part 7's query (default 1000000)
#   BENCH_PART8_ROUNDS  interleaved rounds of part 8 (default 3), after a
#                    warm-up round unless BENCH_PART8_WARMUP=0
#   BENCH_PART8_ROWS rows of part 8's query (default 100000)
#   BENCH_PART8_DELAY_MS  the server's call_delay_ms in part 8 (default 100)
#   BENCH_WORK       work dir (default /tmp/zcrm_bulk.bench)
#   BENCH_PGPORT     PostgreSQL port, of the Unix socket only (default 54340)
#   BENCH_NGINX_PORT first of nginx's four ports (default 18180)
#   BENCH_MOCK_PORT  mock port (default 18190)
#   BENCH_NGINX_WORKERS  nginx worker processes (default 1)
#   BENCH_NEWCONN_HTTP2  1: HTTP/2 on the new-connection listeners too (default 0)
#   BENCH_SKIP_INSTALL=1 / BENCH_SKIP_BUILD=1  skip the apt step / the build
#                    (for working on the benchmark itself)

set -euo pipefail

# ---------------------------------------------------------------------------
# Configuration
# ---------------------------------------------------------------------------

BENCH_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
WORK=${BENCH_WORK:-/tmp/zcrm_bulk.bench}
SECONDS_PER_RUN=${BENCH_SECONDS:-10}
RUNS=${BENCH_RUNS:-3}
PART1_ROUNDS=${BENCH_PART1_ROUNDS:-3}
DELAY_MS=${BENCH_DELAY_MS:-50}
CONCURRENCY=${BENCH_CONCURRENCY:-5 1 10}
PARTS=${BENCH_PARTS:-1 2 3 4 5 6 7 8}
NGINX_WORKERS=${BENCH_NGINX_WORKERS:-1}
NGINX_PORT=${BENCH_NGINX_PORT:-18180}
PORT_HTTP=$NGINX_PORT
PORT_H2=$((NGINX_PORT + 1))
PORT_TLS_NEW=$((NGINX_PORT + 2))
PORT_TLS_FULL=$((NGINX_PORT + 3))

# lib.sh reads these two; ours, so the benchmark never meets a test run.
ZCRM_PGPORT=${BENCH_PGPORT:-54340}
ZCRM_MOCK_PORT=${BENCH_MOCK_PORT:-18190}
source "$BENCH_ROOT/../scripts/lib.sh"

PGDIR=$WORK/pg                  # zcrm_start_cluster's DIR (made 700, postgres)
NGINX_DIR=$WORK/nginx
CERTS=$WORK/certs
WWW=$WORK/www
RESULTS=$WORK/results.md
PSQL=$ZCRM_PGBIN/psql
PGBENCH=$ZCRM_PGBIN/pgbench
NGINX=/usr/sbin/nginx
RAWFETCH=$WORK/rawfetch
NPROC=$(nproc)
TOKEN=$ZCRM_TEST_TOKEN
# zcrm_bulk.api_version, set in the cluster (the extension's default is v2):
# nginx serves /crm/bulk/v8/write/<id> only.
API_VERSION=v8

# Job ids.  The seed document under its own id; generated documents with
# 1, 100 and 10,000 field mappings under ids of their own.
SEED_ID=4150868000005392002
MAP_IDS=(5300000000000000001 5300000000000000100 5300000000000010000)
MAP_SIZES=(1 100 10000)
MAP_LABELS=(1 100 10,000)

# The table: one "| a | b | c | d |" line per row.
ROWS=()

die() {
	zcrm_log "FAILED: $*"
	exit 1
}

# ---------------------------------------------------------------------------
# Starting and stopping
# ---------------------------------------------------------------------------

# stop_nginx: stop our nginx (found by its pid file), and wait until it is gone.
stop_nginx() {
	local pidfile=$NGINX_DIR/nginx.pid pid i
	[ -f "$pidfile" ] || return 0
	pid=$(cat "$pidfile" 2>/dev/null || true)
	if [ -n "$pid" ] && [ "$(cat /proc/"$pid"/comm 2>/dev/null)" = nginx ]; then
		kill -TERM "$pid" 2>/dev/null || true   # fast shutdown, workers too
		for i in $(seq 1 50); do
			kill -0 "$pid" 2>/dev/null || break
			sleep 0.1
		done
		if kill -0 "$pid" 2>/dev/null; then
			pkill -KILL -P "$pid" 2>/dev/null || true   # its workers, by parent pid
			kill -KILL "$pid" 2>/dev/null || true
		fi
	fi
	rm -f "$pidfile"
}

# run_child CMD...: run CMD in the background and wait for it.  A signal
# then reaches our traps at once (bash runs a trap only after a foreground
# command has finished, and ignores a Ctrl-C that the command survived),
# and cleanup stops CMD.
CHILD=
run_child() {
	local rc=0
	"$@" &
	CHILD=$!
	wait "$CHILD" || rc=$?
	CHILD=
	return $rc
}

# cleanup: stop everything this script may have started (EXIT trap).
cleanup() {
	local rc=$?
	set +e
	# A trap may fire inside a function whose output goes to a file:
	# back to the script's own stdout and stderr.
	exec 1>&8 2>&9
	trap - EXIT INT TERM
	if [ -n "$CHILD" ]; then
		kill "$CHILD" 2>/dev/null
		wait "$CHILD" 2>/dev/null
	fi
	stop_nginx
	zcrm_stop_mock "$WORK"
	zcrm_stop_cluster "$PGDIR"
	[ $rc -eq 0 ] || zcrm_log "stopped everything after a failure (exit status $rc); logs in $WORK"
	exit $rc
}

# wait_http URL [CAFILE]: wait until a fetch of URL succeeds (10 s at most).
wait_http() {
	local url=$1 ca=${2:-} i
	for i in $(seq 1 100); do
		if "$RAWFETCH" -n 1 -w 0 ${ca:+-k "$ca"} "$url" >/dev/null 2>&1; then
			return 0
		fi
		sleep 0.1
	done
	"$RAWFETCH" -n 1 -w 0 ${ca:+-k "$ca"} "$url" || true
	die "no answer from $url"
}

# start_nginx: write the config from bench/nginx.conf.in and start nginx as
# a daemon with its own prefix, pid file and logs.
start_nginx() {
	local h2=""
	[ "${BENCH_NEWCONN_HTTP2:-0}" = 1 ] && h2=http2
	mkdir -p "$NGINX_DIR/tmp"
	sed -e "s|@WORK@|$WORK|g" \
		-e "s|@NGINX_WORKERS@|$NGINX_WORKERS|g" \
		-e "s|@PORT_HTTP@|$PORT_HTTP|g" \
		-e "s|@PORT_H2@|$PORT_H2|g" \
		-e "s|@PORT_TLS_NEW@|$PORT_TLS_NEW|g" \
		-e "s|@PORT_TLS_FULL@|$PORT_TLS_FULL|g" \
		-e "s|@TLS_NEW_HTTP2@|$h2|g" \
		"$BENCH_ROOT/nginx.conf.in" >"$NGINX_DIR/nginx.conf"
	zcrm_log "starting nginx on 127.0.0.1:$PORT_HTTP-$PORT_TLS_FULL"
	"$NGINX" -p "$NGINX_DIR/" -c "$NGINX_DIR/nginx.conf" -e "$NGINX_DIR/error.log" ||
		die "nginx did not start (see $NGINX_DIR/error.log)"
	local u=/crm/bulk/$API_VERSION/write/$SEED_ID
	wait_http "http://127.0.0.1:$PORT_HTTP$u"
	wait_http "https://127.0.0.1:$PORT_H2$u" "$CERTS/ca.pem"
	wait_http "https://127.0.0.1:$PORT_TLS_NEW$u" "$CERTS/ca.pem"
	wait_http "https://127.0.0.1:$PORT_TLS_FULL$u" "$CERTS/ca.pem"
}

# ---------------------------------------------------------------------------
# Measuring and formatting
# ---------------------------------------------------------------------------

# calc FORMAT EXPR: evaluate an arithmetic expression with awk.
calc() {
	awk "BEGIN { printf \"$1\", ($2) }"
}

# met VALUE OP LIMIT: "yes" when VALUE OP LIMIT holds (OP: <= >= <), else "NO".
met() {
	awk -v v="$1" -v l="$3" -v op="$2" 'BEGIN {
		ok = (op == "<=") ? v <= l : (op == ">=") ? v >= l : v < l
		print ok ? "yes" : "NO" }'
}

# median NUMBER...: the median (the mean of the middle two for an even count).
median() {
	printf '%s\n' "$@" | sort -g | awk '{ v[NR] = $1 }
		END { if (NR % 2) print v[(NR + 1) / 2]; else print (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}

# list2 NUMBER...: the numbers with two decimals, comma-separated.
list2() {
	local out="" x
	for x in "$@"; do out+="${out:+, }$(calc %.2f "$x")"; done
	printf '%s' "$out"
}

# row MEASUREMENT VALUE RATIO MET: add a table row.
row() {
	ROWS+=("| $1 | $2 | $3 | $4 |")
}

# q DB SQL: run SQL in DB, unaligned tuples only; stops on an error.
q() {
	"$PSQL" -X -A -t -q -v ON_ERROR_STOP=1 -d "$1" -c "$2"
}

# run_pgbench LABEL DB SCRIPT CLIENTS [pgbench options...]
# Runs SCRIPT for SECONDS_PER_RUN seconds (prepared statements, so :id and
# :token travel as bind parameters) and sets PGB_TPS and PGB_LAT (ms).
run_pgbench() {
	local label=$1 db=$2 script=$3 clients=$4
	shift 4
	local jobs=$((clients < NPROC ? clients : NPROC))
	local out=$WORK/pgbench-$label.out
	zcrm_log "pgbench $label: $clients client(s), ${SECONDS_PER_RUN}s"
	if ! run_child "$PGBENCH" -n -M prepared -c "$clients" -j "$jobs" -T "$SECONDS_PER_RUN" \
		-f "$script" "$@" "$db" >"$out" 2>&1; then
		tail -20 "$out" >&2
		die "pgbench $label"
	fi
	PGB_TPS=$(sed -n 's/^tps = \([0-9.]*\) .*/\1/p' "$out")
	PGB_LAT=$(sed -n 's/^latency average = \([0-9.]*\) ms.*/\1/p' "$out")
	if [ -z "$PGB_TPS" ] || [ -z "$PGB_LAT" ] ||
		grep -q '^number of failed transactions: [1-9]' "$out"; then
		tail -20 "$out" >&2
		die "pgbench $label: no result or failed transactions"
	fi
}

# run_rawfetch LABEL WORKERS SECONDS URL [rawfetch options...]
# WORKERS processes (like backends), each with one reused easy handle.
# Sets RAW_RATE (fetches/s) and RAW_LAT (mean ms per fetch).
run_rawfetch() {
	local label=$1 workers=$2 secs=$3 url=$4
	shift 4
	local out=$WORK/rawfetch-$label.out
	zcrm_log "raw libcurl fetch $label: $workers worker(s), ${secs}s"
	run_child "$RAWFETCH" -p -c "$workers" -t "$secs" "$@" "$url" >"$out" 2>&1 ||
		{ cat "$out" >&2; die "rawfetch $label"; }
	RAW_RATE=$(sed -n 's/.*fetches_per_s=\([0-9.]*\).*/\1/p' "$out")
	RAW_LAT=$(sed -n 's/.*mean_latency_ms=\([0-9.]*\).*/\1/p' "$out")
}

# log_mark: the number of lines in nginx's access log, once its buffer
# (flush=1s) has been written out.
log_mark() {
	sleep 1.2
	wc -l <"$NGINX_DIR/access.log"
}

# conn_stats FROM TO PORT: "calls connections resumed" of the access log
# lines FROM+1..TO on PORT (resumed: connections whose TLS session was
# resumed, from nginx's $ssl_session_reused).
conn_stats() {
	sed -n "$(($1 + 1)),$2p" "$NGINX_DIR/access.log" | awk -v port="$3" '
		$1 == port { calls++; if (!($2 in seen)) { seen[$2] = 1; conns++; if ($6 == "r") res++ } }
		END { printf "%d %d %d\n", calls, conns, res }'
}

# median_best FILE: "best median" (ms) of the numbers in FILE, one a line.
median_best() {
	sort -g "$1" | awk '{ v[NR] = $1 } END {
		m = (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2
		printf "%.1f %.1f\n", v[1], m }'
}

# time_query DB LABEL SETUP QUERY EXPECTED: run QUERY once to warm up and then
# RUNS times in one session (after SETUP), timed with clock_timestamp() in
# the backend; checks that it returns EXPECTED; sets BEST and MEDIAN (ms).
time_query() {
	local db=$1 label=$2 setup=$3 query=$4 expected=$5 i
	local out=$WORK/time-$label.out
	zcrm_log "timing $label: 1 + $RUNS runs"
	{
		echo "$setup"
		for i in $(seq 0 "$RUNS"); do
			echo "SELECT ms, n FROM bench_time_ms(\$q\$$query\$q\$);"
		done
	} >"$WORK/time-$label.sql"
	run_child "$PSQL" -X -A -t -q -F ' ' -v ON_ERROR_STOP=1 -d "$db" -f "$WORK/time-$label.sql" >"$out" 2>&1 ||
		{ cat "$out" >&2; die "timing $label"; }
	awk -v n="$expected" '$2 != n { exit 1 }' "$out" ||
		{ cat "$out" >&2; die "timing $label: not $expected rows"; }
	tail -n +2 "$out" | awk '{ print $1 }' >"$out.ms"
	read -r BEST MEDIAN < <(median_best "$out.ms")
}

# ---------------------------------------------------------------------------
# Setup
# ---------------------------------------------------------------------------

[ "$(id -u)" = 0 ] || die "run as root (PostgreSQL runs as the postgres user)"

exec 8>&1 9>&2                  # the script's stdout and stderr, for cleanup
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# Leftovers of an earlier run that was killed: stop them, start afresh.
stop_nginx
zcrm_stop_mock "$WORK"
zcrm_stop_cluster "$PGDIR"
rm -rf "$WORK"
mkdir -p "$WORK"
chmod 755 "$WORK"               # the backends (user postgres) read certs/ca.pem

if [ "${BENCH_SKIP_INSTALL:-0}" != 1 ]; then
	zcrm_install_packages nginx postgresql-plpython3-15 valgrind
fi
# PL/Python must be the server's version (installing the server headers may
# have upgraded the server; apt keeps the two in step, but check).
server_v=$(dpkg-query -W -f='${Version}' postgresql-$ZCRM_PG_VERSION)
plpy_v=$(dpkg-query -W -f='${Version}' postgresql-plpython3-$ZCRM_PG_VERSION 2>/dev/null || true)
[ "$server_v" = "$plpy_v" ] ||
	die "postgresql-plpython3-$ZCRM_PG_VERSION ($plpy_v) does not match postgresql-$ZCRM_PG_VERSION ($server_v)"
[ -x "$NGINX" ] || die "$NGINX is missing"

if [ "${BENCH_SKIP_BUILD:-0}" != 1 ]; then
	zcrm_build_install
fi

zcrm_log "building bench/rawfetch.c"
gcc -O2 -Wall -Wextra -o "$RAWFETCH" "$BENCH_ROOT/rawfetch.c" -lcurl -lpthread

zcrm_log "making certificates and documents"
sh "$ZCRM_ROOT/test/server/make_certs.sh" "$CERTS" >/dev/null
doc_args=("$SEED_ID=seed")
for i in "${!MAP_IDS[@]}"; do
	doc_args+=("${MAP_IDS[$i]}=maps:${MAP_SIZES[$i]}")
done
"$ZCRM_PY" "$BENCH_ROOT/make_docs.py" "$ZCRM_ROOT/test/server/fixtures/seed_collection.json" \
	"$WWW" "$API_VERSION" "${doc_args[@]}" >"$WORK/docs.txt"
chmod -R a+rX "$WWW"
declare -A DOC_BYTES
while read -r id bytes _; do DOC_BYTES[$id]=$bytes; done <"$WORK/docs.txt"

start_nginx

# Clients use the Unix socket only: no TCP listener, so no clash with an
# ephemeral port that a busy machine's other clients happen to hold.
zcrm_start_cluster "$PGDIR" \
	"listen_addresses = ''" \
	"zcrm_bulk.api_version = '$API_VERSION'" \
	"zcrm_bulk.ca_file = '$CERTS/ca.pem'"

# One database per server, each with its own zcrm_bulk.api_domain; all are
# copies of bench_tpl, which holds the extension, the PL/Python lookup and
# the timing function of part 3.
zcrm_log "creating the databases"
q postgres "CREATE DATABASE bench_tpl" >/dev/null
"$PSQL" -X -q -v ON_ERROR_STOP=1 -d bench_tpl >/dev/null <<'EOF'
CREATE EXTENSION zcrm_bulk;
-- bench_time_ms(query): run a query returning one count, time it in the backend
CREATE FUNCTION bench_time_ms(query text, OUT ms float8, OUT n bigint)
LANGUAGE plpgsql AS $$
DECLARE
	t0 timestamptz := clock_timestamp();
BEGIN
	EXECUTE query INTO n;
	ms := extract(epoch FROM clock_timestamp() - t0) * 1000;
END $$;
EOF
# PL/Python serves part 1 only (so that a run of other parts needs no
# PL/Python in the server's directories).
NEED_PLPY=no
case " $PARTS " in *" 1 "*) NEED_PLPY=yes ;; esac
if [ $NEED_PLPY = yes ]; then
	"$PSQL" -X -q -v ON_ERROR_STOP=1 -d bench_tpl -f "$BENCH_ROOT/plpython_lookup.sql" >/dev/null
fi
for db in http:"http://127.0.0.1:$PORT_HTTP" h2:"https://127.0.0.1:$PORT_H2" \
	tls_new:"https://127.0.0.1:$PORT_TLS_NEW" tls_full:"https://127.0.0.1:$PORT_TLS_FULL" \
	mock:"http://127.0.0.1:$ZCRM_MOCK_PORT"; do
	q postgres "CREATE DATABASE bench_${db%%:*} TEMPLATE bench_tpl" >/dev/null
	q postgres "LOAD 'zcrm_bulk'; ALTER DATABASE bench_${db%%:*} SET zcrm_bulk.api_domain = '${db#*:}'" >/dev/null
done

# pgbench scripts: the job id and the token are bind parameters (-D).
mkdir -p "$WORK/scripts"
echo 'SELECT count(*) FROM zcrm_write_job(:id, token => :token);' >"$WORK/scripts/zcrm.sql"
echo 'SELECT count(*) FROM bench_py_write_job(:id, token => :token);' >"$WORK/scripts/plpython.sql"
echo 'SELECT 1;' >"$WORK/scripts/select1.sql"
echo 'SELECT count(*) FROM generate_series(1, 1);' >"$WORK/scripts/srf.sql"
echo 'SELECT count(*) FROM zcrm_write_job_field_mappings(:id, token => :token);' >"$WORK/scripts/maps.sql"
ARGS=(-D "id=$SEED_ID" -D "token=$TOKEN")

# Sanity: each server answers zcrm_write_job, and the PL/Python lookup
# returns exactly the extension's rows.
for db in bench_http bench_h2 bench_tls_new bench_tls_full; do
	[ "$(q $db "SELECT count(*) FROM zcrm_write_job('$SEED_ID', token => '$TOKEN')")" = 1 ] ||
		die "zcrm_write_job through $db"
done
if [ $NEED_PLPY = yes ]; then
	same=$(q bench_http "SELECT (SELECT array_agg(w::text) FROM zcrm_write_job('$SEED_ID', token => '$TOKEN') w)
		IS NOT DISTINCT FROM (SELECT array_agg(p::text) FROM bench_py_write_job('$SEED_ID', token => '$TOKEN') p)")
	[ "$same" = t ] || die "bench_py_write_job() does not return zcrm_write_job()'s rows"
fi

# ---------------------------------------------------------------------------
# Part 1: single calls against nginx over plain HTTP with keep-alive
# ---------------------------------------------------------------------------

part1() {
	local c url=http://127.0.0.1:$PORT_HTTP/crm/bulk/$API_VERSION/write/$SEED_ID
	local round z_tps z_lat p_tps p_lat s_tps s_lat raw_lat raw_rate floor r
	local -a zt zl pt pl st sl rl rr fl rp rf
	for c in 1 8; do
		local who="$c client"
		[ "$c" = 1 ] || who="$c clients"
		zt=() zl=() pt=() pl=() st=() sl=() rl=() rr=() fl=() rp=() rf=()
		# The four measurements run in turn, PART1_ROUNDS times, so that a
		# slow spell of the (virtual) machine hits all of them alike; each
		# figure and ratio reported is the median over the rounds.
		for round in $(seq 1 "$PART1_ROUNDS"); do
			run_pgbench "zcrm-c$c-r$round" bench_http "$WORK/scripts/zcrm.sql" $c "${ARGS[@]}"
			zt+=("$PGB_TPS") zl+=("$PGB_LAT")
			run_pgbench "select1-c$c-r$round" bench_http "$WORK/scripts/select1.sql" $c
			st+=("$PGB_TPS") sl+=("$PGB_LAT")
			run_rawfetch "http-c$c-r$round" $c "$SECONDS_PER_RUN" "$url" -a "$TOKEN" -b "${DOC_BYTES[$SEED_ID]}"
			rl+=("$RAW_LAT") rr+=("$RAW_RATE")
			run_pgbench "plpython-c$c-r$round" bench_http "$WORK/scripts/plpython.sql" $c "${ARGS[@]}"
			pt+=("$PGB_TPS") pl+=("$PGB_LAT")
			floor=$(calc %.4f "${sl[-1]} + ${rl[-1]}")
			fl+=("$floor")
			rp+=("$(calc %.4f "${zt[-1]} / ${pt[-1]}")")
			rf+=("$(calc %.4f "${zl[-1]} / $floor")")
		done
		z_tps=$(median "${zt[@]}") z_lat=$(median "${zl[@]}")
		p_tps=$(median "${pt[@]}") p_lat=$(median "${pl[@]}")
		s_tps=$(median "${st[@]}") s_lat=$(median "${sl[@]}")
		raw_lat=$(median "${rl[@]}") raw_rate=$(median "${rr[@]}")
		floor=$(median "${fl[@]}")

		row "1a. zcrm_write_job, HTTP keep-alive, $who" \
			"$(calc %.0f "$z_tps") calls/s, $(calc %.3f "$z_lat") ms/call" "" ""
		row "1b. PL/Python (urllib.request + json), $who" \
			"$(calc %.0f "$p_tps") calls/s, $(calc %.3f "$p_lat") ms/call" "" ""
		row "1c. floor: SELECT 1 + raw libcurl fetch, $who" \
			"$(calc %.3f "$s_lat") + $(calc %.3f "$raw_lat") = $(calc %.3f "$floor") ms/call ($(calc %.0f "$s_tps") SELECT 1/s; $(calc %.0f "$raw_rate") fetches/s)" "" ""
		r=$(calc %.2f "$(median "${rp[@]}")")
		row "1. zcrm_write_job ÷ PL/Python, calls/s, $who" "rounds: $(list2 "${rp[@]}")" "$r (target ≥ 3)" "$(met "$r" '>=' 3)"
		r=$(calc %.2f "$(median "${rf[@]}")")
		# targets: ≤ 1.5 with one client, ≤ 1.3 with eight
		local target=1.5
		[ "$c" = 1 ] || target=1.3
		row "1. zcrm_write_job ÷ floor, ms/call, $who" "rounds: $(list2 "${rf[@]}")" "$r (target ≤ $target)" "$(met "$r" '<=' "$target")"
		# Information: the SQL shape of 1a (count(*) over a set-returning
		# function) costs more than SELECT 1 before any fetch.
		run_pgbench "srf-c$c" bench_http "$WORK/scripts/srf.sql" $c
		row "1d. (info) SELECT count(*) FROM generate_series(1, 1), $who" \
			"$(calc %.3f "$PGB_LAT") ms/call: + raw fetch = $(calc %.3f "$PGB_LAT + $raw_lat") ms/call" \
			"zcrm_write_job ÷ that = $(calc %.2f "$z_lat / ($PGB_LAT + $raw_lat)") (no target)" "–"
	done
}

# ---------------------------------------------------------------------------
# Part 2: HTTPS, connection reuse vs. a new connection vs. a full handshake
# ---------------------------------------------------------------------------

part2() {
	local kind db port label from to calls conns res
	local -A tps lat info raw
	for kind in h2 tls_new tls_full; do
		db=bench_$kind
		case $kind in
		h2) port=$PORT_H2 ;;
		tls_new) port=$PORT_TLS_NEW ;;
		tls_full) port=$PORT_TLS_FULL ;;
		esac
		from=$(log_mark)
		run_pgbench "$kind-c1" "$db" "$WORK/scripts/zcrm.sql" 1 "${ARGS[@]}"
		to=$(log_mark)
		tps[$kind]=$PGB_TPS lat[$kind]=$PGB_LAT
		read -r calls conns res < <(conn_stats "$from" "$to" "$port")
		info[$kind]="$calls requests on $conns connection(s), $res resumed"
		run_rawfetch "$kind-c1" 1 "$SECONDS_PER_RUN" "https://127.0.0.1:$port/crm/bulk/$API_VERSION/write/$SEED_ID" \
			-k "$CERTS/ca.pem" -a "$TOKEN" -b "${DOC_BYTES[$SEED_ID]}"
		raw[$kind]=$RAW_RATE
	done
	for kind in h2 tls_new tls_full; do
		case $kind in
		h2) label="2b. HTTPS, HTTP/2, keep-alive (reuse), 1 client" ;;
		tls_new) label="2c. HTTPS, new connection per call, session resumption, 1 client" ;;
		tls_full) label="2d. HTTPS, new connection + full handshake per call, 1 client" ;;
		esac
		row "$label" "$(calc %.0f "${tps[$kind]}") calls/s, $(calc %.3f "${lat[$kind]}") ms/call (${info[$kind]}; raw libcurl: $(calc %.0f "${raw[$kind]}") fetches/s)" "" ""
	done
	row "2. reuse ÷ new connection, calls/s" "" "$(calc %.1f "${tps[h2]} / ${tps[tls_new]}") (no target)" "–"
	row "2. reuse ÷ full handshake, calls/s" "" "$(calc %.1f "${tps[h2]} / ${tps[tls_full]}") (no target)" "–"
}

# mock_stats: "max_in_flight connections" from the mock's /__admin/stats
# (requests it held at once, and TCP connections it accepted, since the last
# reset; the admin request's own connection not counted).
mock_stats() {
	"$ZCRM_PY" - "http://127.0.0.1:$ZCRM_MOCK_PORT/__admin/stats" <<'EOF'
import json, sys, urllib.request
stats = json.load(urllib.request.urlopen(sys.argv[1], timeout=10))
print(stats.get("max_in_flight", "?"), stats["connections"] - 1)
EOF
}

# mock_reset: POST /__admin/reset (clears the counts of mock_stats).
mock_reset() {
	"$ZCRM_PY" - "http://127.0.0.1:$ZCRM_MOCK_PORT/__admin/reset" <<'EOF' >/dev/null
import sys, urllib.request
urllib.request.urlopen(urllib.request.Request(sys.argv[1], data=b"", method="POST"), timeout=10).read()
EOF
}

# time_mock_query: time_query between mock_reset and mock_stats; also sets
# MOCK_INFO.
time_mock_query() {
	local inflight conns
	mock_reset
	time_query "$@"
	read -r inflight conns < <(mock_stats)
	MOCK_INFO="at most $inflight in flight at the mock, $conns TCP connection(s) in $((RUNS + 1)) runs"
}

# ---------------------------------------------------------------------------
# Part 3: 100 jobs from the mock with --delay-ms: batch vs. LATERAL vs. limit
# ---------------------------------------------------------------------------

part3() {
	local ids=() i arr have_batch have_mc mc limit lat_best lat_median r first
	if ! "$ZCRM_PY" "$ZCRM_ROOT/test/server/zoho_mock.py" --help 2>/dev/null | grep -q -- '--delay-ms'; then
		row "3. 100 jobs, batch vs. LATERAL" "skipped: zoho_mock.py has no --delay-ms" "" "skipped"
		return 0
	fi
	zcrm_start_mock "$WORK" mock "$ZCRM_MOCK_PORT" --delay-ms "$DELAY_MS"

	# 100 distinct ids of the mock's 51xxxxxxxxxxxxDDDDD family with D = 0:
	# the seed success document (its "id" the requested one), no delay of
	# its own, so each answer takes --delay-ms.
	for i in $(seq 1 100); do
		ids+=("'51$(printf %012d "$i")00000'")
	done
	first=${ids[0]//\'/}
	if ! q bench_mock "SELECT count(*) FROM zcrm_write_job('$first', token => '$TOKEN')" >/dev/null 2>&1; then
		# An older mock without the family: the seed job, 100 times.
		zcrm_log "the mock does not know job $first: using the seed job 100 times"
		ids=()
		for i in $(seq 1 100); do ids+=("'$SEED_ID'"); done
	fi
	arr="ARRAY[$(
		IFS=,
		echo "${ids[*]}"
	)]"

	time_mock_query bench_mock single "" "SELECT count(*) FROM zcrm_write_job('$first', token => '$TOKEN')" 1
	row "3. one zcrm_write_job call, mock with --delay-ms $DELAY_MS" "best $BEST ms, median $MEDIAN ms" "" ""

	time_mock_query bench_mock lateral "" \
		"SELECT count(*) FROM unnest($arr) AS j(id) CROSS JOIN LATERAL zcrm_write_job(j.id, token => '$TOKEN') w" 100
	lat_best=$BEST lat_median=$MEDIAN
	row "3. LATERAL zcrm_write_job, 100 jobs" "best $lat_best ms, median $lat_median ms ($MOCK_INFO)" "" ""

	have_batch=$(q bench_mock "SELECT count(*) FROM pg_proc WHERE proname = 'zcrm_write_jobs'")
	if [ "$have_batch" = 0 ]; then
		zcrm_log "skipped: zcrm_write_jobs not available"
		row "3. zcrm_write_jobs, 100 jobs" "skipped: zcrm_write_jobs not available" "" "skipped"
		return 0
	fi
	have_mc=$(q bench_mock "LOAD 'zcrm_bulk'; SELECT current_setting('zcrm_bulk.max_concurrency', true) IS NOT NULL")
	[ "$have_mc" = t ] || CONCURRENCY=default
	first=yes
	for mc in $CONCURRENCY; do
		local setup="" mcv
		if [ "$mc" = default ]; then
			mcv=5
		else
			setup="SET zcrm_bulk.max_concurrency = $mc;"
			mcv=$mc
		fi
		limit=$(((100 + mcv - 1) / mcv * DELAY_MS))
		time_mock_query bench_mock "batch-mc$mc" "$setup" \
			"SELECT count(*) FROM zcrm_write_jobs($arr, token => '$TOKEN')" 100
		r=$(calc %.2f "$MEDIAN / $limit")
		row "3. zcrm_write_jobs, 100 jobs, max_concurrency $mcv" \
			"best $BEST ms, median $MEDIAN ms; limit ceil(100/$mcv) × $DELAY_MS ms = $limit ms ($MOCK_INFO)" \
			"median ÷ limit = $r (target ≤ 1.3)" "$(met "$r" '<=' 1.3)"
		if [ $first = yes ]; then
			row "3. LATERAL ÷ zcrm_write_jobs (max_concurrency $mcv), median" "" \
				"$(calc %.1f "$lat_median / $MEDIAN") (no target)" "–"
			first=no
		fi
	done
}

# ---------------------------------------------------------------------------
# Part 4: field mappings, 1 / 100 / 10,000 per document
# ---------------------------------------------------------------------------

# memory_of_call ID: in a fresh backend, warm up with the 1-mapping document
# (loads the library, initialises libcurl, connects), then read VmHWM and
# VmRSS of the backend from /proc before and after one call on document ID.
# Sets HWM_GROWTH, PEAK_OVER_RSS, COLD_GROWTH (kB; COLD: the warm-up call).
memory_of_call() {
	local id=$1 memfile=$WORK/mem-$1.txt
	local cold_hwm0 hwm0 rss0 hwm1 rss1
	rm -f "$memfile"
	# psql runs memsnap.sh (as root) between the statements, with the
	# backend's pid in BENCH_PID.
	if ! "$PSQL" -X -A -t -q -v ON_ERROR_STOP=1 -d bench_http >"$WORK/mem-$id.out" 2>&1 <<EOF; then
SELECT pg_backend_pid() AS pid \gset
\setenv BENCH_PID :pid
\setenv BENCH_MEM $memfile
\! sh $WORK/memsnap.sh cold
SELECT count(*) FROM zcrm_write_job_field_mappings('${MAP_IDS[0]}', token => '$TOKEN');
\! sh $WORK/memsnap.sh before
SELECT count(*) FROM zcrm_write_job_field_mappings('$id', token => '$TOKEN');
\! sh $WORK/memsnap.sh after
EOF
		cat "$WORK/mem-$id.out" >&2
		die "memory of $id"
	fi
	read -r _ cold_hwm0 _ < <(grep '^cold' "$memfile")
	read -r _ hwm0 rss0 < <(grep '^before' "$memfile")
	read -r _ hwm1 rss1 < <(grep '^after' "$memfile")
	[ -n "$hwm1" ] || die "no memory figures in $memfile"
	HWM_GROWTH=$((hwm1 - hwm0))
	PEAK_OVER_RSS=$((hwm1 - rss0))
	COLD_GROWTH=$((hwm0 - cold_hwm0))
}

part4() {
	# memsnap.sh LABEL: append "LABEL VmHWM VmRSS" (kB) of process
	# $BENCH_PID to $BENCH_MEM.
	cat >"$WORK/memsnap.sh" <<'EOF'
awk -v l="$1" '/^VmHWM:/ { h = $2 } /^VmRSS:/ { r = $2 } END { print l, h, r }' \
	"/proc/$BENCH_PID/status" >>"$BENCH_MEM"
EOF
	local i id n t1 t r per100 per10k mem100 mem10k
	local -A ms growth peak
	for i in "${!MAP_IDS[@]}"; do
		id=${MAP_IDS[$i]} n=${MAP_SIZES[$i]}
		[ "$(q bench_http "SELECT count(*) FROM zcrm_write_job_field_mappings('$id', token => '$TOKEN')")" = "$n" ] ||
			die "zcrm_write_job_field_mappings('$id') does not return $n rows"
		run_pgbench "maps-$n" bench_http "$WORK/scripts/maps.sql" 1 -D "id=$id" -D "token=$TOKEN"
		ms[$n]=$PGB_LAT
		memory_of_call "$id"
		growth[$n]=$HWM_GROWTH peak[$n]=$PEAK_OVER_RSS
		row "4. field mappings: ${MAP_LABELS[$i]} per document ($(calc %.0f "${DOC_BYTES[$id]} / 1024") kB)" \
			"$(calc %.3f "$PGB_LAT") ms/call ($(calc %.0f "$PGB_TPS") calls/s); VmHWM +${HWM_GROWTH} kB, peak $PEAK_OVER_RSS kB above VmRSS" \
			"$([ "$n" = 10000 ] && echo "target < 50 ms")" \
			"$([ "$n" = 10000 ] && met "$PGB_LAT" '<' 50)"
	done
	row "4. first call in a fresh backend (library, libcurl, TLS init, connect)" "VmHWM +$COLD_GROWTH kB" "" ""

	# Linearity: the cost of a mapping beyond the 1-mapping document.
	t1=${ms[1]}
	per100=$(calc %.3f "(${ms[100]} - $t1) * 1000 / 99")
	per10k=$(calc %.3f "(${ms[10000]} - $t1) * 1000 / 9999")
	r=$(calc %.2f "$per10k / ($per100 > 0 ? $per100 : 0.001)")
	row "4. time per mapping, 10,000 vs. 100 (beyond the 1-mapping call)" \
		"$per10k µs vs. $per100 µs" "$r (target ≤ 2; 1 = linear)" "$(met "$r" '<=' 2)"
	mem10k=$(calc %.3f "${peak[10000]} / 10000")
	mem100=$(calc %.3f "${peak[100]} / 100")
	row "4. peak memory per mapping, 10,000 vs. 100" \
		"$mem10k kB vs. $mem100 kB (VmHWM growth: ${growth[10000]} kB vs. ${growth[100]} kB)" \
		"$(calc %.2f "$mem10k / ($mem100 > 0 ? $mem100 : 0.001)") (≤ 1: no worse than linear)" \
		"$(met "$mem10k" '<=' "$mem100")"
}

# ---------------------------------------------------------------------------
# Run, then print the table
# ---------------------------------------------------------------------------

START=$(date +%s)
# ---------------------------------------------------------------------------
# Part 5: a call through a server and user mapping against one with a
# token (target: at most 1.1 times as long).  The server's accounts server
# is a mock without delay on BENCH_MOCK_PORT + 1; its API domain is nginx
# over plain HTTP, so both calls fetch the same document from the same
# server.  The access token is obtained once and then kept in backend
# memory, as in production.
# ---------------------------------------------------------------------------

part5() {
	local accounts_port=$((ZCRM_MOCK_PORT + 1)) round
	local -a tl cl rt
	zcrm_start_mock "$WORK" accounts "$accounts_port"
	q bench_http "DROP SERVER IF EXISTS bench CASCADE" >/dev/null
	q bench_http "CREATE SERVER bench FOREIGN DATA WRAPPER zcrm_bulk OPTIONS (accounts_server 'http://127.0.0.1:$accounts_port', api_domain 'http://127.0.0.1:$PORT_HTTP')" >/dev/null
	q bench_http "CREATE USER MAPPING FOR PUBLIC SERVER bench OPTIONS (client_id '1000.BENCH', client_secret 'benchsecret0123', refresh_token '1000.rt.bench0123')" >/dev/null
	echo 'SELECT count(*) FROM zcrm_write_job(:id, connection => '"'bench'"');' >"$WORK/scripts/conn.sql"
	for round in $(seq 1 "$PART1_ROUNDS"); do
		run_pgbench "token-r$round" bench_http "$WORK/scripts/zcrm.sql" 1 "${ARGS[@]}"
		tl+=("$PGB_LAT")
		run_pgbench "conn-r$round" bench_http "$WORK/scripts/conn.sql" 1 -D "id=$SEED_ID"
		cl+=("$PGB_LAT")
		rt+=("$(calc %.4f "${cl[-1]} / ${tl[-1]}")")
	done
	row "5. zcrm_write_job through a server and user mapping, 1 client" \
		"$(calc %.3f "$(median "${cl[@]}")") ms/call against $(calc %.3f "$(median "${tl[@]}")") ms/call with a token (rounds: $(list2 "${rt[@]}"))" \
		"$(calc %.2f "$(median "${rt[@]}")") (target ≤ 1.1)" "$(met "$(median "${rt[@]}")" "<=" 1.1)"
	zcrm_stop_mock "$WORK" accounts
}

# ---------------------------------------------------------------------------
# Part 6: the same comparison as part 5 in instructions, which do not
# depend on what else the machine is doing: a stand-alone backend
# (postgres --single, on a data directory of its own) runs N calls with a
# token, or through a server, under valgrind's callgrind; a run with no loop
# is subtracted.  Target: at most 1.1.
# ---------------------------------------------------------------------------

part6() {
	local dir=$WORK/vg n=400 k accounts_port=$((ZCRM_MOCK_PORT + 1)) call
	local -A ins
	zcrm_start_mock "$WORK" accounts "$accounts_port"
	rm -rf "$dir"
	mkdir -p "$dir"
	chown postgres "$dir"
	runuser -u postgres -- "$ZCRM_PGBIN/initdb" -D "$dir/data" -U postgres -A trust --no-sync >/dev/null
	echo "zcrm_bulk.api_domain = 'http://127.0.0.1:$PORT_HTTP'" >>"$dir/data/postgresql.conf"
	echo "zcrm_bulk.api_version = '$API_VERSION'" >>"$dir/data/postgresql.conf"
	printf '%s\n' "CREATE EXTENSION zcrm_bulk" \
		"CREATE SERVER bench FOREIGN DATA WRAPPER zcrm_bulk OPTIONS (accounts_server 'http://127.0.0.1:$accounts_port', api_domain 'http://127.0.0.1:$PORT_HTTP')" \
		"CREATE USER MAPPING FOR PUBLIC SERVER bench OPTIONS (client_id '1000.BENCH', client_secret 'benchsecret0123', refresh_token '1000.rt.bench6')" \
		>"$dir/setup.sql"
	for k in none token server; do
		{
			# both kinds once, so that the library, the connection and the
			# token are warm in every run
			echo "SELECT count(*) FROM zcrm_write_job('$SEED_ID', '$TOKEN')"
			echo "SELECT count(*) FROM zcrm_write_job('$SEED_ID', connection => 'bench')"
			case $k in
			token) call="'$SEED_ID', '$TOKEN'" ;;
			server) call="'$SEED_ID', connection => 'bench'" ;;
			none) call="" ;;
			esac
			[ -n "$call" ] && echo "DO \$\$BEGIN FOR i IN 1..$n LOOP PERFORM count(*) FROM zcrm_write_job($call); END LOOP; END\$\$"
		} >"$dir/$k.sql"
	done
	chmod 644 "$dir"/*.sql
	runuser -u postgres -- "$ZCRM_PGBIN/postgres" --single -D "$dir/data" postgres <"$dir/setup.sql" >"$dir/setup.out" 2>&1
	for k in none token server; do
		runuser -u postgres -- valgrind --tool=callgrind --callgrind-out-file="$dir/cg.$k" \
			"$ZCRM_PGBIN/postgres" --single -D "$dir/data" postgres <"$dir/$k.sql" >"$dir/$k.out" 2>&1
		ins[$k]=$(sed -n 's/.*Collected : \([0-9]*\).*/\1/p' "$dir/$k.out")
		if grep -q ERROR "$dir/$k.out" || [ -z "${ins[$k]}" ]; then
			zcrm_log "part 6: the $k run failed, see $dir/$k.out"
			return 1
		fi
	done
	local tok srv
	tok=$(calc %.0f "(${ins[token]} - ${ins[none]}) / $n")
	srv=$(calc %.0f "(${ins[server]} - ${ins[none]}) / $n")
	row "6. instructions per zcrm_write_job call (callgrind, stand-alone backend): through a server against with a token" \
		"$srv against $tok instructions/call ($n calls each)" \
		"$(calc %.3f "$srv / $tok") (target ≤ 1.1)" "$(met "$(calc %.3f "$srv / $tok")" "<=" 1.1)"
	zcrm_stop_mock "$WORK" accounts
}

# ---------------------------------------------------------------------------
# Part 7: the prepare engine.  zcrm_write_plan over PART7_ROWS rows x 10
# columns (the CSV of every part, each zipped at level 1) against the floor
# of PostgreSQL's own COPY (same query) TO STDOUT (FORMAT csv, HEADER)
# deflated by zlib at the same level (python3's zlib.compressobj(1), raw
# deflate as in a zip entry, 1 MiB chunks).  The floor is taken two ways:
# serial (COPY into a file, then deflate the file: the same work on one
# CPU, the headline) and piped (COPY | deflate: two processes in parallel,
# for information).  All three are timed from the client in interleaved
# rounds; medians are compared.  Target: at most 1.5 times the serial
# floor.  Then the backend's VmHWM over one call, after a warm-up.
# ---------------------------------------------------------------------------

# now_ms: milliseconds since the epoch.
now_ms() {
	echo $(($(date +%s%N) / 1000000))
}

part7() {
	local rounds=${BENCH_PART7_ROUNDS:-3} nrows=${BENCH_PART7_ROWS:-1000000}
	local round t0 t1 t2 n memfile=$WORK/mem-part7.txt
	local -a zt st pt rs rp
	local query="SELECT g AS \"Id\", 'Name ' || g AS \"Last_Name\", 'user' || g || '@example.com' AS \"Email\", g * 1.25 AS \"Amount\", (g % 2 = 0) AS \"Active\", DATE '2024-01-01' + (g % 365) AS \"Day\", TIMESTAMPTZ '2024-01-01 00:00:00+00' + g * INTERVAL '1 second' AS \"Seen\", g::float8 / 7 AS \"Ratio\", ARRAY['a', 'b'] AS \"Tags\", md5(g::text) AS \"Hash\" FROM (SELECT generate_series(1, $nrows) AS g) s"
	local plan="SELECT sum(rows) FROM zcrm_write_plan('Leads', \$q\$$query\$q\$)"
	local copy="COPY ($query) TO STDOUT (FORMAT csv, HEADER)"
	printf '%s\n' "# deflate stdin (or the file argv[1]) at level 1, print the compressed size" \
		"import sys, zlib" \
		"c = zlib.compressobj(1, zlib.DEFLATED, -15)" \
		"f = open(sys.argv[1], 'rb') if len(sys.argv) > 1 else sys.stdin.buffer" \
		"n = 0" \
		"while True:" \
		"    b = f.read(1 << 20)" \
		"    if not b:" \
		"        break" \
		"    n += len(c.compress(b))" \
		"print(n + len(c.flush()))" >"$WORK/deflate1.py"
	# warm-up: the library, and the query once each way
	q bench_http "$plan" >/dev/null
	"$PSQL" -X -q -v ON_ERROR_STOP=1 -d bench_http -c "$copy" >/dev/null || die "COPY"
	for round in $(seq 1 "$rounds"); do
		zcrm_log "part 7, round $round: zcrm_write_plan, COPY then deflate, COPY | deflate"
		t0=$(now_ms)
		n=$(q bench_http "$plan")
		t1=$(now_ms)
		[ "$n" = "$nrows" ] || die "zcrm_write_plan returned $n rows, not $nrows"
		zt+=($((t1 - t0)))
		t0=$(now_ms)
		"$PSQL" -X -q -v ON_ERROR_STOP=1 -d bench_http -c "$copy" >"$WORK/part7.csv" || die "COPY"
		"$ZCRM_PY" "$WORK/deflate1.py" "$WORK/part7.csv" >"$WORK/part7.deflated" || die "deflate"
		t1=$(now_ms)
		st+=($((t1 - t0)))
		rm -f "$WORK/part7.csv"
		t0=$(now_ms)
		"$PSQL" -X -q -v ON_ERROR_STOP=1 -d bench_http -c "$copy" | "$ZCRM_PY" "$WORK/deflate1.py" >/dev/null ||
			die "COPY | deflate"
		t1=$(now_ms)
		pt+=($((t1 - t0)))
		rs+=("$(calc %.4f "${zt[-1]} / ${st[-1]}")")
		rp+=("$(calc %.4f "${zt[-1]} / ${pt[-1]}")")
	done

	# memory: the backend's VmHWM before and after one call, after a warm-up
	printf '%s\n' "awk -v l=\"\$1\" '/^VmHWM:/ { h = \$2 } /^VmRSS:/ { r = \$2 } END { print l, h, r }' \"/proc/\$BENCH_PID/status\" >>\"\$BENCH_MEM\"" \
		>"$WORK/memsnap7.sh"
	rm -f "$memfile"
	printf '%s\n' "SELECT pg_backend_pid() AS pid \\gset" "\\setenv BENCH_PID :pid" \
		"\\setenv BENCH_MEM $memfile" \
		"SELECT count(*) FROM zcrm_write_plan('Leads', 'SELECT 1 AS a');" \
		"\\! sh $WORK/memsnap7.sh before" "$plan;" "\\! sh $WORK/memsnap7.sh after" >"$WORK/part7-mem.sql"
	"$PSQL" -X -A -t -q -v ON_ERROR_STOP=1 -d bench_http -f "$WORK/part7-mem.sql" >"$WORK/part7-mem.out" 2>&1 ||
		{ cat "$WORK/part7-mem.out" >&2; die "memory of part 7"; }
	local hwm0 hwm1 rss0 growth sizes
	read -r _ hwm0 rss0 < <(grep '^before' "$memfile")
	read -r _ hwm1 _ < <(grep '^after' "$memfile")
	[ -n "$hwm1" ] || die "no memory figures in $memfile"
	growth=$((hwm1 - hwm0))
	sizes=$(q bench_http "SELECT count(*) || ' parts, ' || round(sum(csv_bytes) / 1048576.0, 1) || ' MiB of CSV, ' || round(sum(zip_bytes) / 1048576.0, 1) || ' MiB zipped' FROM zcrm_write_plan('Leads', \$q\$$query\$q\$)")

	row "7a. zcrm_write_plan, $nrows rows x 10 columns ($sizes)" \
		"$(calc %.0f "$(median "${zt[@]}")") ms (rounds: ${zt[*]} ms)" "" ""
	row "7b. floor, serial: COPY … TO STDOUT (FORMAT csv) into a file, then zlib level 1" \
		"$(calc %.0f "$(median "${st[@]}")") ms (rounds: ${st[*]} ms; $(calc %.1f "$(cat "$WORK/part7.deflated") / 1048576") MiB deflated)" "" ""
	row "7c. floor, piped: COPY … TO STDOUT (FORMAT csv) piped into zlib level 1 (two processes)" \
		"$(calc %.0f "$(median "${pt[@]}")") ms (rounds: ${pt[*]} ms)" "" ""
	row "7. zcrm_write_plan ÷ serial floor" "rounds: $(list2 "${rs[@]}")" \
		"$(calc %.2f "$(median "${rs[@]}")") (target ≤ 1.5)" "$(met "$(median "${rs[@]}")" '<=' 1.5)"
	row "7. zcrm_write_plan ÷ piped floor" "rounds: $(list2 "${rp[@]}")" \
		"$(calc %.2f "$(median "${rp[@]}")") (no target)" "–"
	row "7. backend peak memory growth over one zcrm_write_plan call of $nrows rows" \
		"VmHWM +$growth kB (from $hwm0 kB; VmRSS before: $rss0 kB)" "target ≤ 32768 kB" "$(met "$growth" '<=' 32768)"
}

# Part 8: end to end against the local server with a fixed delay
source "$BENCH_ROOT/part8.sh"

for p in $PARTS; do
	zcrm_log "part $p"
	"part$p"
done

pg_version=$("$ZCRM_PGBIN/postgres" --version)
curl_version=$(pkg-config --modversion libcurl)
nginx_version=$("$NGINX" -v 2>&1)
{
	echo "# zcrm_bulk benchmark, $(date -u '+%Y-%m-%d %H:%M UTC')"
	echo
	echo "- Machine: $NPROC CPUs ($(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -1)), $(awk '/^MemTotal/ { printf "%.1f GiB", $2 / 1048576 }' /proc/meminfo) RAM, Linux $(uname -r)"
	echo "- Software: $pg_version; libcurl $curl_version ($(openssl version | cut -d' ' -f1-2)); ${nginx_version#nginx version: }"
	echo "- Runs: pgbench -M prepared -T $SECONDS_PER_RUN per figure; part 3: $RUNS timed runs after a warm-up, mock --delay-ms $DELAY_MS; nginx: $NGINX_WORKERS worker(s); everything on loopback, sharing the CPUs"
	echo "- Took $(($(date +%s) - START)) s"
	echo
	echo "| Measurement | Value | Ratio / target | Met? |"
	echo "|---|---|---|---|"
	printf '%s\n' "${ROWS[@]}"
} >"$RESULTS"
cat "$RESULTS"
zcrm_log "results written to $RESULTS"
