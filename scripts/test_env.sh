#!/usr/bin/env bash
# scripts/test_env.sh: start or stop one piece of the test environment for
# test/conftest.py, when pytest runs without scripts/test.sh (which starts
# them all itself), with scripts/lib.sh's functions and scripts/test.sh's
# settings:
#   test_env.sh cluster DIR   the test cluster in DIR (PGPORT = $ZCRM_PGPORT)
#   test_env.sh mock DIR      the local API server on $ZCRM_MOCK_PORT
#   test_env.sh tls DIR       test certificates in DIR/certs and the three
#                             HTTPS instances ($ZCRM_TLS_PORT and the next two)
#   test_env.sh h2 DIR        nginx (HTTP/2) on $ZCRM_H2_PORT, its files in
#                             $ZCRM_H2_DIR
#   test_env.sh stop DIR      stop all of them; remove DIR, $ZCRM_H2_DIR and
#                             $ZCRM_RESTORE_DIR
# Runs as root, like scripts/test.sh; the cluster runs as postgres.

source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

what=${1:?usage: test_env.sh cluster|mock|tls|h2|stop DIR}
dir=${2:?usage: test_env.sh cluster|mock|tls|h2|stop DIR}
case $what in
cluster) zcrm_start_test_cluster "$dir" ;;
mock)
	mkdir -p "$dir"
	zcrm_start_mock "$dir"
	;;
tls)
	zcrm_make_certs "$dir"
	zcrm_start_tls_mocks "$dir"
	;;
h2)
	zcrm_make_certs "$dir"
	zcrm_start_nginx "$ZCRM_H2_DIR" "$ZCRM_H2_PORT" "$dir/certs/server.pem" "$dir/certs/server.key"
	;;
stop)
	zcrm_cleanup "$dir"
	zcrm_stop_nginx "$ZCRM_H2_DIR"
	rm -rf "$dir" "$ZCRM_H2_DIR" "${ZCRM_RESTORE_DIR:-$dir.restore}"
	;;
*)
	zcrm_log "unknown piece: $what"
	exit 2
	;;
esac
