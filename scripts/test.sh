#!/usr/bin/env bash
# scripts/test.sh: run the whole zcrm_bulk test suite (README command 2).
#
# As root on a fresh Debian 12 machine: installs what is missing, builds and
# installs the extension with -Werror, starts a throwaway cluster (logging at
# debug5 with verbose error fields), the local Zoho API server over HTTP
# and, with test certificates, over HTTPS, and nginx serving the seed's job
# over HTTPS with HTTP/2, then runs
#   1. the C unit tests of the parser, the CSV and zip writers, the result
#      file reader and the row matcher under
#      AddressSanitizer + UBSan,
#   2. the libFuzzer harness: regression inputs, then ZCRM_FUZZ_SECONDS (60),
#   3. the local API server's self-test (seed replayed byte for byte),
#   4. the pg_regress suite (sql/ + expected/), then each of its files
#      alone in a new database (make installcheck-each), then some of them
#      through make installcheck-local (its own local API server),
#   5. backend tests: cancel, statement_timeout, terminate, connection reuse,
#      retries and cancel during backoff (test/test_backend.py),
#   6. the leak test: 10,000 mixed calls in one backend (test/test_leak.py),
#   7. security tests: hostile arguments, TLS verification, tokens as bind
#      parameters (test/test_security.py),
#   8. the load test: 16 sessions for ZCRM_LOAD_SECONDS (60) (test/test_load.py),
#   9. token refresh through servers and user mappings, counted, the
#      refresh budget and the cache sweep (test/test_oauth.py),
#  10. scheduled checks: the poller, NOTIFY, waiting, and the poll run by
#      real pg_cron (preloaded in the test cluster) (test/test_schedule.py),
#  11. the batch functions: concurrency limit, connection reuse, per-job
#      retries, cancel and statement_timeout mid-batch, one token refresh
#      per batch, the poller's concurrent fetch (test/test_batch.py),
#  12. limits: no tight loop and no growth in zcrm_write_job_wait(), memory
#      and statement_timeout on hostile documents (test/test_limits.py),
#  13. pg_dump of servers, mappings and tracked jobs restored into a second
#      cluster (test/test_dump.py),
#  14. the README's user mapping recipe keeps its secrets out of the log
#      (test/test_readme_secret.py),
#  15. the prepare engine of 2.1: UTF-8 from a LATIN1 database, memory over
#      1,000,000 rows, cancel (test/test_write_prepare.py),
#  16. the upload and create calls (test/test_write_send.py),
#  17. zcrm_write_job_results() on jobs created by hand, broken result zips
#      (test/test_write_results.py),
#  18. bulk write runs end to end: 60,000 rows, shuffled results, errors,
#      cancel and termination at every step and the resumes, privileges,
#      the README's nightly recipe (test/test_write_run.py),
#  19. README command 1's demo (test/test_demo.py),
#  20. packaging: META.json against PGXN's meta spec and the control file,
#      and `make dist` (test/test_packaging.py),
#  21. the Debian package: dpkg-buildpackage, make uninstall, the package
#      installed, pg_regress against it (scripts/deb_test.sh),
#  22. the pgindent layout: every C file as scripts/indent.sh writes it
#      (pg_bsd_indent with pgindent's options and typedefs.list),
#  23. a scan of every log and test output for the access tokens and the
#      test connections' secrets.
# Prints one closing line "N passed, N failed" and exits non-zero on any
# failure.  ZCRM_QUICK=1 shortens the fuzz and load runs to 10 s each.

source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
set +e

DIR=${ZCRM_TEST_DIR:-/tmp/zcrm_bulk.test}
if [ "${ZCRM_QUICK:-0}" = 1 ]; then
	: "${ZCRM_FUZZ_SECONDS:=10}" "${ZCRM_LOAD_SECONDS:=10}"
fi
export ZCRM_FUZZ_SECONDS=${ZCRM_FUZZ_SECONDS:-60}
export ZCRM_LOAD_SECONDS=${ZCRM_LOAD_SECONDS:-60}
export ZCRM_TLS_PORT=$((ZCRM_MOCK_PORT + 1))
export ZCRM_TLS_WRONG_HOST_PORT=$((ZCRM_MOCK_PORT + 2))
export ZCRM_TLS_SELF_SIGNED_PORT=$((ZCRM_MOCK_PORT + 3))
# nginx, for HTTP/2: its files cannot live in $DIR, which only postgres may enter
export ZCRM_H2_PORT=$((ZCRM_MOCK_PORT + 4)) ZCRM_H2_DIR=$DIR.nginx
export ZCRM_MOCK_PORT ZCRM_SERVER_LOG=$DIR/postgres.log ZCRM_CA_FILE=$DIR/certs/ca.pem
export ZCRM_PGBIN ZCRM_RESTORE_DIR=$DIR.restore
PASSED=0
FAILED=0
trap 'zcrm_cleanup "$DIR"; zcrm_stop_cluster "$DIR-each"' EXIT

# add_counts NAME LOG RC: take "N passed, N failed" from LOG's last such line;
# a suite that exits non-zero without failing tests counts as one failure.
add_counts() {
	local name=$1 log=$2 rc=$3 line p f
	line=$(grep -E '^[0-9]+ passed, [0-9]+ failed' "$log" | tail -n 1)
	if [ -n "$line" ]; then
		p=${line%% passed*}
		f=${line#*passed, }
		f=${f%% failed*}
		PASSED=$((PASSED + p))
		FAILED=$((FAILED + f))
		if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then FAILED=$((FAILED + 1)); fi
	else
		FAILED=$((FAILED + 1))
	fi
	grep -E '^# ' "$log" >&2
	if [ "$rc" -ne 0 ]; then
		zcrm_log "$name FAILED (exit $rc); its output:"
		grep -vE '^ok ' "$log" | tail -n 60 >&2
	else
		zcrm_log "$name: $line"
	fi
}

# run_suite NAME COMMAND...: run one suite with its output in $DIR/NAME.out.
run_suite() {
	local name=$1
	shift
	"$@" >"$DIR/$name.out" 2>&1
	add_counts "$name" "$DIR/$name.out" $?
}

set -e
# The extension must build without a single warning.
# (-Wclobbered is off: PG_FINALLY's own _do_rethrow variable trips it.)
ZCRM_CFLAGS="-Wall -Wextra -Werror -Wno-unused-parameter -Wno-missing-field-initializers -Wno-sign-compare -Wno-clobbered"
zcrm_install_packages
zcrm_build_install
zcrm_cleanup "$DIR"
# The tests pass the token with psql's :'token' interpolation, which puts it
# into the statement text as a literal; PostgreSQL's own statement logging
# (log_statement, log_min_error_statement) would record that text, as the
# README warns.  Those are switched off so that the token scan (step 15)
# checks what zcrm_bulk itself logs, at debug5 with verbose error fields;
# test/test_security.py turns log_min_error_statement back on for its calls that
# pass the token as a bind parameter.
zcrm_start_test_cluster "$DIR"
zcrm_make_certs "$DIR"
zcrm_start_mock "$DIR"
zcrm_start_tls_mocks "$DIR"
zcrm_start_nginx "$ZCRM_H2_DIR" "$ZCRM_H2_PORT" "$DIR/certs/server.pem" "$DIR/certs/server.key"
set +e

zcrm_log "1/23 unit tests: parser, CSV and zip writers (AddressSanitizer, UBSan)"
run_suite unit make -C "$ZCRM_ROOT/test/unit" -s check

zcrm_log "2/23 parser fuzzing (libFuzzer, ASan, UBSan): regressions, then $ZCRM_FUZZ_SECONDS s"
run_suite fuzz make -C "$ZCRM_ROOT/test/fuzz" -s regress run FUZZ_SECONDS="$ZCRM_FUZZ_SECONDS"

zcrm_log "3/23 local API server self-test"
run_suite server "$ZCRM_PY" "$ZCRM_ROOT/test/server/test_server.py"

zcrm_log "4/23 pg_regress suite"
make -C "$ZCRM_ROOT" -s PG_CONFIG=$ZCRM_PGBIN/pg_config installcheck >"$DIR/regress.out" 2>&1
rc=$?
zcrm_regress_counts "$DIR/regress.out"
ok=$ZCRM_REGRESS_OK bad=$ZCRM_REGRESS_BAD
PASSED=$((PASSED + ok))
FAILED=$((FAILED + bad))
if [ $rc -ne 0 ]; then
	[ "$bad" -eq 0 ] && FAILED=$((FAILED + 1))
	cat "$DIR/regress.out" >&2
	[ -f "$ZCRM_ROOT/regression.diffs" ] && head -c 20000 "$ZCRM_ROOT/regression.diffs" >&2
fi
zcrm_log "pg_regress: $ok passed, $bad failed"
# Each file alone, and files through make installcheck-local, run in a
# cluster of their own: the refresh budgets they spend (a file per refresh
# token in the data directory) must not be the later suites' (a CI run
# failed oauth_test when they shared the suite's cluster).
EACH_DIR="$DIR-each"
SAVED_PGHOST=$PGHOST SAVED_PGPORT=$PGPORT SAVED_ZCRM_PGPORT=$ZCRM_PGPORT
ZCRM_PGPORT=$((ZCRM_PGPORT + 12))
zcrm_start_cluster "$EACH_DIR" "shared_preload_libraries = 'pg_cron'" \
	"cron.database_name = 'postgres'" "cron.host = '$EACH_DIR'"
zcrm_log "4/23 (continued) each pg_regress file alone, in a new database (make installcheck-each)"
run_suite regress_each make -C "$ZCRM_ROOT" -s PG_CONFIG=$ZCRM_PGBIN/pg_config installcheck-each
zcrm_log "4/23 (continued) make installcheck-local: files of the suite against a running cluster, with a local API server of the target's own"
run_suite installcheck_local env ZCRM_MOCK_PORT=$((ZCRM_MOCK_PORT + 20)) \
	make -C "$ZCRM_ROOT" -s PG_CONFIG=$ZCRM_PGBIN/pg_config installcheck-local \
	REGRESS="zcrm_seed zcrm_errors zcrm_connections zcrm_write_calls zcrm_results"
zcrm_stop_cluster "$EACH_DIR"
rm -rf "$EACH_DIR"
export PGHOST=$SAVED_PGHOST PGPORT=$SAVED_PGPORT
ZCRM_PGPORT=$SAVED_ZCRM_PGPORT

zcrm_log "5/23 backend tests (cancel, statement_timeout, terminate, reuse, retries)"
run_suite backend "$ZCRM_PY" -m pytest -q -s "$ZCRM_ROOT/test/test_backend.py"

zcrm_log "6/23 leak test (10,000 mixed calls in one backend)"
run_suite leak "$ZCRM_PY" -m pytest -q -s "$ZCRM_ROOT/test/test_leak.py"

zcrm_log "7/23 security tests (hostile arguments, TLS, tokens as bind parameters)"
run_suite security "$ZCRM_PY" -m pytest -q -s "$ZCRM_ROOT/test/test_security.py"

zcrm_log "8/23 load test (16 sessions, $ZCRM_LOAD_SECONDS s)"
# debug5 would log a quarter of a million transactions: keep this run quiet.
PGOPTIONS="-c log_min_messages=warning" run_suite load "$ZCRM_PY" -m pytest -q -s "$ZCRM_ROOT/test/test_load.py"

zcrm_log "9/23 token refresh through servers and user mappings (test/test_oauth.py)"
run_suite oauth "$ZCRM_PY" -m pytest -q -s "$ZCRM_ROOT/test/test_oauth.py"

zcrm_log "10/23 scheduled checks and pg_cron (test/test_schedule.py)"
run_suite schedule "$ZCRM_PY" -m pytest -q -s "$ZCRM_ROOT/test/test_schedule.py"

zcrm_log "11/23 batch functions (test/test_batch.py)"
run_suite batch "$ZCRM_PY" -m pytest -q -s "$ZCRM_ROOT/test/test_batch.py"

zcrm_log "12/23 limits: waits, memory and interrupts on hostile documents (test/test_limits.py)"
run_suite limits "$ZCRM_PY" -m pytest -q -s "$ZCRM_ROOT/test/test_limits.py"

zcrm_log "13/23 pg_dump and restore into a second cluster (test/test_dump.py)"
run_suite dump "$ZCRM_PY" -m pytest -q -s "$ZCRM_ROOT/test/test_dump.py"

zcrm_log "14/23 the README's user mapping recipe keeps secrets out of the log"
run_suite readme_secret "$ZCRM_PY" -m pytest -q -s "$ZCRM_ROOT/test/test_readme_secret.py"

zcrm_log "15/23 the prepare engine: UTF-8 from LATIN1, memory over 1,000,000 rows, cancel (test/test_write_prepare.py)"
run_suite write_prepare "$ZCRM_PY" -m pytest -q -s "$ZCRM_ROOT/test/test_write_prepare.py"

zcrm_log "16/23 upload and create calls through the local server (test/test_write_send.py)"
run_suite write_send "$ZCRM_PY" -m pytest -q -s "$ZCRM_ROOT/test/test_write_send.py"

zcrm_log "17/23 zcrm_write_job_results on jobs created by hand (test/test_write_results.py)"
run_suite write_results "$ZCRM_PY" -m pytest -q -s "$ZCRM_ROOT/test/test_write_results.py"

zcrm_log "18/23 bulk write runs end to end: submit, poll, results, interruptions and resumes (test/test_write_run.py)"
run_suite write_run "$ZCRM_PY" -m pytest -q -s "$ZCRM_ROOT/test/test_write_run.py"

zcrm_log "19/23 README command 1: the demo loads a local table and joins the results back (test/test_demo.py)"
run_suite demo "$ZCRM_PY" -m pytest -q -s "$ZCRM_ROOT/test/test_demo.py"

zcrm_log "20/23 packaging: META.json and make dist (test/test_packaging.py)"
run_suite packaging "$ZCRM_PY" -m pytest -q -s "$ZCRM_ROOT/test/test_packaging.py"

zcrm_log "21/23 the Debian package: built, installed in place of make install, pg_regress against it (scripts/deb_test.sh)"
run_suite deb bash "$ZCRM_ROOT/scripts/deb_test.sh"

zcrm_log "22/23 pgindent layout: every C file as scripts/indent.sh writes it"
run_suite indent bash "$ZCRM_ROOT/scripts/indent.sh" --check

zcrm_log "23/23 no access token or connection secret in logs or test outputs"
# Checked after a clean shutdown, so that everything is flushed.
runuser -u postgres -- "$ZCRM_PGBIN/pg_ctl" -D "$DIR/data" -m fast -w stop >/dev/null 2>&1
zcrm_stop_mock "$DIR"
hits=$(grep -rlF -e "$ZCRM_TEST_TOKEN" -e "$ZCRM_TEST_SLASH_TOKEN" -e "$ZCRM_TEST_RT_SECRET" -e "$ZCRM_TEST_CLIENT_SECRET" \
	"$DIR"/*.log "$DIR"/*.out "$DIR"/*.jsonl "$DIR.restore"/*.log \
	"$ZCRM_ROOT/results" "$ZCRM_ROOT/expected" "$ZCRM_ROOT/regression.out" 2>/dev/null)
lines=$(cat "$DIR"/postgres.log | wc -l)
if [ -z "$hits" ] && [ "$lines" -gt 1000 ]; then
	PASSED=$((PASSED + 1))
	zcrm_log "secret scan: no hits in $lines lines of server log (debug5) and every test output"
else
	FAILED=$((FAILED + 1))
	zcrm_log "secret scan: a token or secret appears in: ${hits:-(none; but the server log is too short: $lines lines)}"
fi

echo "# the suite took $SECONDS s"
echo "$PASSED passed, $FAILED failed"
[ "$FAILED" -eq 0 ] && [ "$PASSED" -gt 0 ]
