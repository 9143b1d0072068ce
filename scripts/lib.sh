#!/usr/bin/env bash
# scripts/lib.sh: shared steps of the demo and the test suite.
#
# Sourced by scripts/demo.sh and scripts/test.sh.  Everything runs as root on
# a fresh Debian 12 machine: missing packages are installed with apt-get,
# the extension is built and installed with PGXS, and a throwaway PostgreSQL
# cluster (run as the postgres OS user, on a port of its own) and the local
# Zoho API server are started.  zcrm_cleanup stops both again.

set -euo pipefail

ZCRM_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
ZCRM_PG_VERSION=15
# ZCRM_PGBIN may name a relocated copy of the server (one per developer, so
# that parallel runs do not install into the same directories).
ZCRM_PGBIN=${ZCRM_PGBIN:-/usr/lib/postgresql/$ZCRM_PG_VERSION/bin}
ZCRM_PY=/usr/bin/python3
ZCRM_PGPORT=${ZCRM_PGPORT:-54329}
ZCRM_MOCK_PORT=${ZCRM_MOCK_PORT:-18089}
ZCRM_TEST_TOKEN=${ZCRM_TEST_TOKEN:-1000.zcrmtest.accesstoken}
# A second accepted token, new for every run, with every character that has
# an escaped or percent-encoded form (/ + =): the scrubbing tests use it.
ZCRM_TEST_SLASH_TOKEN=${ZCRM_TEST_SLASH_TOKEN:-1000.$(od -An -N6 -tx1 /dev/urandom | tr -d ' \n')/$(od -An -N4 -tx1 /dev/urandom | tr -d ' \n')+$(od -An -N4 -tx1 /dev/urandom | tr -d ' \n')==}
# Secrets of the test connections: new for every run, never written in a
# test file, and looked for in every log by the token scan.
ZCRM_TEST_RT_SECRET=${ZCRM_TEST_RT_SECRET:-$(od -An -N12 -tx1 /dev/urandom | tr -d ' \n')}
ZCRM_TEST_CLIENT_SECRET=${ZCRM_TEST_CLIENT_SECRET:-cs$(od -An -N12 -tx1 /dev/urandom | tr -d ' \n')}
export ZCRM_TEST_TOKEN ZCRM_TEST_SLASH_TOKEN ZCRM_TEST_RT_SECRET ZCRM_TEST_CLIENT_SECRET

zcrm_log() { printf '==> %s\n' "$*" >&2; }

# zcrm_regress_counts FILE: the tests pg_regress reported as ok and as
# failed in its output FILE, in ZCRM_REGRESS_OK and ZCRM_REGRESS_BAD.
zcrm_regress_counts() {
	ZCRM_REGRESS_OK=$(grep -cE '\.\.\. ok' "$1" || true)
	ZCRM_REGRESS_BAD=$(grep -cE '\.\.\. FAILED|\.\.\. failed' "$1" || true)
}

# Install whatever of the build and test dependencies is missing.
zcrm_install_packages() {
	local want=(gcc make pkg-config libcurl4-openssl-dev libcjson-dev libminizip-dev
		postgresql-$ZCRM_PG_VERSION postgresql-server-dev-$ZCRM_PG_VERSION
		postgresql-$ZCRM_PG_VERSION-cron python3 openssl clang libclang-rt-14-dev nginx
		debhelper postgresql-server-dev-all dpkg-dev pg-bsd-indent python3-pytest "$@")
	local missing=()
	local p
	for p in "${want[@]}"; do
		dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' ||
			missing+=("$p")
	done
	if [ ${#missing[@]} -gt 0 ]; then
		zcrm_log "installing ${missing[*]}"
		export DEBIAN_FRONTEND=noninteractive
		apt-get update -qq
		apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
	fi
	# Debian's postgresql package may start a cluster of its own; we never use it.
}

# Build and install the extension into the server's directories.  Extra
# compiler flags (the test suite passes -Werror and more) go in ZCRM_CFLAGS.
zcrm_build_install() {
	zcrm_log "building and installing zcrm_bulk"
	make -C "$ZCRM_ROOT" -s clean >/dev/null
	make -C "$ZCRM_ROOT" -s PG_CONFIG=$ZCRM_PGBIN/pg_config PG_CFLAGS="${ZCRM_CFLAGS:-}" >/dev/null
	make -C "$ZCRM_ROOT" -s PG_CONFIG=$ZCRM_PGBIN/pg_config install >/dev/null
}

# zcrm_start_cluster DIR [extra postgresql.conf lines...]
# A new cluster in DIR, owned by postgres, listening on a Unix socket in DIR
# and on 127.0.0.1:$ZCRM_PGPORT.  Exports PGHOST, PGPORT, PGUSER.
zcrm_start_cluster() {
	local dir=$1
	shift
	zcrm_stop_cluster "$dir"
	rm -rf "$dir"
	mkdir -p "$dir"
	chown postgres:postgres "$dir"
	chmod 700 "$dir"
	zcrm_log "starting a throwaway PostgreSQL $ZCRM_PG_VERSION cluster on port $ZCRM_PGPORT"
	runuser -u postgres -- "$ZCRM_PGBIN/initdb" -D "$dir/data" -U postgres -A trust \
		-E UTF8 --locale=C.UTF-8 --no-sync >"$dir/initdb.log" 2>&1
	{
		echo "port = $ZCRM_PGPORT"
		echo "listen_addresses = '127.0.0.1'"
		echo "unix_socket_directories = '$dir'"
		echo "fsync = off"
		echo "max_connections = 60"
		echo "zcrm_bulk.api_domain = 'http://127.0.0.1:$ZCRM_MOCK_PORT'"
		local line
		for line in "$@"; do echo "$line"; done
	} >>"$dir/data/postgresql.conf"
	# The postmaster logs its whole environment at debug3 and below: start it
	# without the test token in it.
	env -u ZCRM_TEST_TOKEN -u ZCRM_TEST_SLASH_TOKEN -u ZCRM_TEST_RT_SECRET -u ZCRM_TEST_CLIENT_SECRET runuser -u postgres -- "$ZCRM_PGBIN/pg_ctl" -D "$dir/data" \
		-l "$dir/postgres.log" -w -t 60 start >/dev/null
	export PGHOST=$dir PGPORT=$ZCRM_PGPORT PGUSER=postgres
}

zcrm_stop_cluster() {
	local dir=$1
	if [ -f "$dir/data/postmaster.pid" ]; then
		runuser -u postgres -- "$ZCRM_PGBIN/pg_ctl" -D "$dir/data" -m immediate -w stop \
			>/dev/null 2>&1 || true
	fi
}

# zcrm_start_mock DIR [NAME PORT [extra zoho_mock.py options...]]
# Start an instance of the local Zoho API server on 127.0.0.1:PORT (default:
# the plain-HTTP instance "mock" on $ZCRM_MOCK_PORT), with its pid, ready file,
# request log and output in DIR/NAME.*.
zcrm_start_mock() {
	local dir=$1 name=${2:-mock} port=${3:-$ZCRM_MOCK_PORT}
	shift $(($# < 3 ? $# : 3))
	zcrm_stop_mock "$dir" "$name"
	rm -f "$dir/$name.ready"
	zcrm_log "starting the local Zoho API server ($name) on port $port"
	"$ZCRM_PY" "$ZCRM_ROOT/test/server/zoho_mock.py" --host 127.0.0.1 --port "$port" \
		--token "$ZCRM_TEST_TOKEN" --token "$ZCRM_TEST_SLASH_TOKEN" --log "$dir/$name-requests.jsonl" \
		--pidfile "$dir/$name.pid" --ready-file "$dir/$name.ready" "$@" \
		>"$dir/$name.log" 2>&1 &
	local i
	for i in $(seq 1 100); do
		[ -f "$dir/$name.ready" ] && return 0
		sleep 0.1
	done
	cat "$dir/$name.log" >&2
	zcrm_log "the local Zoho API server ($name) did not start"
	return 1
}

# zcrm_stop_mock DIR [NAME]: stop one instance, or every instance in DIR.
zcrm_stop_mock() {
	local dir=$1 name=${2:-} pidfile
	for pidfile in "$dir"/${name:-*}.pid; do
		[ -f "$pidfile" ] || continue
		kill "$(cat "$pidfile")" 2>/dev/null || true
		rm -f "$pidfile"
	done
}

# zcrm_start_nginx DIR PORT CERT KEY
# An HTTP/2 server (test/nginx/h2.conf.in) on 127.0.0.1:PORT over HTTPS with
# CERT/KEY, answering every job-details request with the seed's successful
# body; its files (world-readable, for nginx's unprivileged worker) live in
# DIR, which must not be inside a private directory.  Debian's nginx
# package may start a server of its own on port 80; it is stopped, as this
# one needs nothing of it.
zcrm_start_nginx() {
	local dir=$1 port=$2 cert=$3 key=$4
	zcrm_stop_nginx "$dir"
	systemctl stop nginx >/dev/null 2>&1 || true
	rm -rf "$dir"
	mkdir -p "$dir/www" "$dir/tmp"
	cp "$cert" "$dir/server.pem"
	cp "$key" "$dir/server.key"
	chmod 600 "$dir/server.key"
	"$ZCRM_PY" -c 'import json, sys
r = [r for r in json.load(open(sys.argv[1]))["response"] if r["code"] == 200][0]
open(sys.argv[2], "w", encoding="utf-8").write(r["body"])' \
		"$ZCRM_ROOT/test/server/fixtures/seed_collection.json" "$dir/www/job.json"
	sed -e "s|@DIR@|$dir|g" -e "s|@PORT@|$port|g" \
		"$ZCRM_ROOT/test/nginx/h2.conf.in" >"$dir/nginx.conf"
	chmod -R a+rX "$dir/www"
	chmod a+rx "$dir"
	zcrm_log "starting nginx (HTTP/2 over HTTPS) on port $port"
	/usr/sbin/nginx -p "$dir/" -c "$dir/nginx.conf" -e "$dir/error.log"
}

zcrm_stop_nginx() {
	local dir=$1
	if [ -f "$dir/nginx.pid" ]; then
		kill "$(cat "$dir/nginx.pid")" 2>/dev/null || true
		rm -f "$dir/nginx.pid"
	fi
}

zcrm_cleanup() {
	local dir=$1
	zcrm_stop_nginx "$dir.nginx"
	zcrm_stop_mock "$dir"
	zcrm_stop_cluster "$dir"
}

# zcrm_start_test_cluster DIR: the test suite's cluster, as scripts/test.sh
# and test/conftest.py start it: logging at debug5 with verbose error fields,
# no statement logging (see scripts/test.sh), pg_cron preloaded.
zcrm_start_test_cluster() {
	local dir=$1
	zcrm_start_cluster "$dir" "log_min_messages = debug5" "log_error_verbosity = verbose" \
		"log_statement = 'none'" "log_min_error_statement = panic" \
		"shared_preload_libraries = 'pg_cron'" "cron.database_name = 'postgres'" \
		"cron.host = '$dir'"
}

# zcrm_make_certs DIR: the test certificates (test/server/make_certs.sh) in
# DIR/certs, unless they are there already.
zcrm_make_certs() {
	local dir=$1
	[ -f "$dir/certs/ca.pem" ] && return 0
	mkdir -p "$dir/certs"
	bash "$ZCRM_ROOT/test/server/make_certs.sh" "$dir/certs" >"$dir/certs.log" 2>&1
	chmod 755 "$dir/certs"
}

# zcrm_start_tls_mocks DIR: the local API server over HTTPS with DIR/certs'
# certificates on ZCRM_TLS_PORT, and with a certificate for the wrong host
# and a self-signed one on ZCRM_TLS_WRONG_HOST_PORT and
# ZCRM_TLS_SELF_SIGNED_PORT.
zcrm_start_tls_mocks() {
	local dir=$1
	zcrm_start_mock "$dir" tls "$ZCRM_TLS_PORT" \
		--tls-cert "$dir/certs/server.pem" --tls-key "$dir/certs/server.key"
	zcrm_start_mock "$dir" tls-wrong-host "$ZCRM_TLS_WRONG_HOST_PORT" \
		--tls-cert "$dir/certs/wrong-host.pem" --tls-key "$dir/certs/wrong-host.key"
	zcrm_start_mock "$dir" tls-self-signed "$ZCRM_TLS_SELF_SIGNED_PORT" \
		--tls-cert "$dir/certs/self-signed.pem" --tls-key "$dir/certs/self-signed.key"
}
