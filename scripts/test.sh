#!/usr/bin/env bash
# scripts/test.sh: run the whole zcrm_bulk test suite (README command 2).
#
# As root on a fresh Debian 12 machine: installs what is missing, builds and
# installs the extension, starts a throwaway cluster and the local Zoho API
# server, then runs
#   1. the C unit tests of the parser under AddressSanitizer + UBSan,
#   2. the local API server's self-test (seed replayed byte for byte),
#   3. the pg_regress suite (sql/ + expected/),
#   4. the backend tests: cancel, statement_timeout, pg_terminate_backend
#      and connection reuse (test/backend_test.py),
#   5. a scan of every log and test output for the access token.
# Prints one closing line "N passed, N failed" and exits non-zero on any
# failure.

source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
set +e

DIR=${ZCRM_TEST_DIR:-/tmp/zcrm_bulk.test}
PASSED=0
FAILED=0
trap 'zcrm_cleanup "$DIR"' EXIT

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
	if [ "$rc" -ne 0 ]; then
		zcrm_log "$name FAILED (exit $rc); its output:"
		tail -n 80 "$log" >&2
	else
		zcrm_log "$name: $line"
	fi
}

set -e
# The extension must build without a single warning.
ZCRM_CFLAGS="-Wall -Wextra -Werror -Wno-unused-parameter -Wno-missing-field-initializers -Wno-sign-compare"
zcrm_install_packages
zcrm_build_install
zcrm_cleanup "$DIR"
# The tests pass the token with psql's :'token' interpolation, which puts it
# into the statement text as a literal; PostgreSQL's own statement logging
# (log_statement, log_min_error_statement) would record that text, as the
# README warns.  Those are switched off so that the token scan (step 5)
# checks what zcrm_bulk itself logs, at debug1 with verbose error fields.
zcrm_start_cluster "$DIR" "log_min_messages = debug1" "log_error_verbosity = verbose" \
	"log_statement = 'none'" "log_min_error_statement = panic"
zcrm_start_mock "$DIR"
set +e

zcrm_log "1/5 parser unit tests (AddressSanitizer, UBSan)"
make -C "$ZCRM_ROOT/test/unit" -s check >"$DIR/unit.log" 2>&1
add_counts "unit tests" "$DIR/unit.log" $?

zcrm_log "2/5 local API server self-test"
"$ZCRM_PY" "$ZCRM_ROOT/test/server/test_server.py" >"$DIR/server-test.log" 2>&1
add_counts "server self-test" "$DIR/server-test.log" $?

zcrm_log "3/5 pg_regress suite"
make -C "$ZCRM_ROOT" -s PG_CONFIG=$ZCRM_PGBIN/pg_config installcheck >"$DIR/regress.log" 2>&1
rc=$?
ok=$(grep -cE '\.\.\. ok' "$DIR/regress.log")
bad=$(grep -cE '\.\.\. FAILED|\.\.\. failed' "$DIR/regress.log")
PASSED=$((PASSED + ok))
FAILED=$((FAILED + bad))
if [ $rc -ne 0 ]; then
	[ "$bad" -eq 0 ] && FAILED=$((FAILED + 1))
	cat "$DIR/regress.log" >&2
	[ -f "$ZCRM_ROOT/regression.diffs" ] && head -c 20000 "$ZCRM_ROOT/regression.diffs" >&2
fi
zcrm_log "pg_regress: $ok passed, $bad failed"

zcrm_log "4/5 backend tests (cancel, statement_timeout, terminate, connection reuse)"
"$ZCRM_PY" "$ZCRM_ROOT/test/backend_test.py" >"$DIR/backend.log" 2>&1
add_counts "backend tests" "$DIR/backend.log" $?
grep -E '^# ' "$DIR/backend.log" >&2

zcrm_log "5/5 no access token in logs or test outputs"
# The suite's own logs plus the server's, checked after a clean shutdown so
# everything is flushed.
runuser -u postgres -- "$ZCRM_PGBIN/pg_ctl" -D "$DIR/data" -m fast -w stop >/dev/null 2>&1
hits=$(grep -rlF -- "$ZCRM_TEST_TOKEN" "$DIR"/*.log "$DIR"/*.jsonl \
	"$ZCRM_ROOT/results" "$ZCRM_ROOT/expected" "$ZCRM_ROOT/regression.out" 2>/dev/null)
if [ -z "$hits" ]; then
	PASSED=$((PASSED + 1))
	zcrm_log "token scan: no hits"
else
	FAILED=$((FAILED + 1))
	zcrm_log "token scan: the access token appears in: $hits"
fi

echo "$PASSED passed, $FAILED failed"
[ "$FAILED" -eq 0 ] && [ "$PASSED" -gt 0 ]
