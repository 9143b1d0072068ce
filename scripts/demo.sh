#!/usr/bin/env bash
# scripts/demo.sh: the main job (README command 1).
#
# As root on a fresh Debian 12 machine: installs what is missing, builds and
# installs zcrm_bulk, starts a throwaway PostgreSQL cluster and the bundled
# local Zoho API server, and runs the example queries of examples/demo.sql,
# printing their rows.  Everything is stopped again at the end.

ZCRM_PGPORT=${ZCRM_PGPORT:-54328}
ZCRM_MOCK_PORT=${ZCRM_MOCK_PORT:-18088}
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

DIR=${ZCRM_DEMO_DIR:-/tmp/zcrm_bulk.demo}
trap 'zcrm_cleanup "$DIR"' EXIT

zcrm_install_packages
zcrm_build_install
zcrm_cleanup "$DIR"
zcrm_start_cluster "$DIR"
zcrm_start_mock "$DIR"

zcrm_log "running examples/demo.sql"
psql -X -d postgres -v ON_ERROR_STOP=1 -f "$ZCRM_ROOT/examples/demo.sql"
