#!/usr/bin/env bash
# scripts/installcheck_local.sh (make installcheck-local): the pg_regress
# suite against a running cluster of your own, with the bundled local Zoho
# API server started for the run and stopped after it.
#
# PGHOST, PGPORT and PGUSER name the cluster (PGUSER a superuser: the suite
# creates roles); zcrm_bulk must be installed in it (make install, or the
# package).  The local API server listens on 127.0.0.1:$ZCRM_MOCK_PORT
# (18089 unless set), and every session of the suite is pointed at it with
# PGOPTIONS (-c zcrm_bulk.api_domain=...), so the cluster's configuration is
# left alone.  make installcheck-local REGRESS='zcrm_errors zcrm_seed' runs
# some files only (each file also runs alone).  Ends with the line "N
# passed, N failed" (pg_regress's files, and a check that the local server
# started for the run answered the suite's requests) and exits non-zero on
# any failure.

source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
set +e
DIR=$(mktemp -d --suffix=.zcrm_installcheck)
trap 'zcrm_stop_mock "$DIR"; rm -rf "$DIR"' EXIT
zcrm_start_mock "$DIR" || exit 1
export PGOPTIONS="${PGOPTIONS:-} -c zcrm_bulk.api_domain=http://127.0.0.1:$ZCRM_MOCK_PORT"
make -C "$ZCRM_ROOT" -s PG_CONFIG=$ZCRM_PGBIN/pg_config installcheck ${REGRESS:+REGRESS="$REGRESS"} \
	>"$DIR/regress.out" 2>&1
rc=$?
cat "$DIR/regress.out"
zcrm_regress_counts "$DIR/regress.out"
passed=$ZCRM_REGRESS_OK failed=$ZCRM_REGRESS_BAD
[ $rc -ne 0 ] && [ "$failed" -eq 0 ] && failed=1
# the suite's calls reached the server started here, not another one
answered=$(grep -c '"event": "end"' "$DIR/mock-requests.jsonl" 2>/dev/null)
if [ "${answered:-0}" -gt 0 ]; then
	passed=$((passed + 1))
	echo "ok - the local API server started for the run (port $ZCRM_MOCK_PORT) answered $answered requests"
else
	failed=$((failed + 1))
	echo "not ok - the local API server started for the run (port $ZCRM_MOCK_PORT) answered no request"
fi
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
