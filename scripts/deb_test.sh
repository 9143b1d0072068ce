#!/usr/bin/env bash
# scripts/deb_test.sh: the Debian package, built and tested as installed.
#
# Run by scripts/test.sh (step 21), with its cluster, local API server and
# environment, as root.  From a copy of the commit's files (git archive):
#   1. dpkg-buildpackage -us -uc -b builds postgresql-15-zcrm-bulk
#      (debian/, pg_buildext, no vendored code);
#   2. the package depends on libcurl, cJSON's and minizip's libraries;
#   3. what `make install` put in place is removed (make uninstall), and
#      the server no longer has the extension;
#   4. the package is installed (apt-get resolves its dependencies) and owns
#      the library, the control file and every SQL script;
#   5. the pg_regress suite runs against the installed package, in a new
#      cluster (the suite's has the earlier steps' roles and refresh budgets).
# Prints "N passed, N failed" and exits non-zero on any failure.  The
# package stays installed: it holds the same build as `make install`.

source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
set +e -u +o pipefail	# (lib.sh sets -e: every failure here is a check)
PASSED=0
FAILED=0
WORK=$(mktemp -d --suffix=.zcrm_deb)

check() {
	if [ "$2" = 0 ]; then
		PASSED=$((PASSED + 1))
		echo "ok $((PASSED + FAILED)) - $1"
	else
		FAILED=$((FAILED + 1))
		echo "not ok $((PASSED + FAILED)) - $1${3:+ # $3}"
	fi
}

finish() {
	echo "$PASSED passed, $FAILED failed"
	[ "$FAILED" -eq 0 ] && rm -rf "$WORK"
	[ "$FAILED" -eq 0 ]
	exit
}

LIBDIR=$($ZCRM_PGBIN/pg_config --pkglibdir)
SHAREDIR=$($ZCRM_PGBIN/pg_config --sharedir)/extension

# (a package a previous run left installed is removed first, and make
# install done again, so that what follows starts from make install alone)
if dpkg-query -W -f='${Status}' postgresql-15-zcrm-bulk 2>/dev/null | grep -q 'install ok installed'; then
	dpkg --purge postgresql-15-zcrm-bulk >/dev/null 2>&1
	make -C "$ZCRM_ROOT" -s PG_CONFIG=$ZCRM_PGBIN/pg_config install >/dev/null 2>&1
fi

# 1. build from the commit's files, outside the checkout
mkdir -p "$WORK/src"
git -C "$ZCRM_ROOT" archive HEAD | tar -x -C "$WORK/src"
# (no debug symbols package, both CPUs: the test needs the package only)
(cd "$WORK/src" && DEB_BUILD_OPTIONS="noddebs parallel=$(nproc)" dpkg-buildpackage -us -uc -b) \
	>"$WORK/build.log" 2>&1
rc=$?
DEB=$(ls "$WORK"/postgresql-15-zcrm-bulk_*_*.deb 2>/dev/null | head -n 1)
check "dpkg-buildpackage -us -uc -b builds postgresql-15-zcrm-bulk" \
	$([ $rc = 0 ] && [ -n "$DEB" ] && echo 0 || echo 1) "see $WORK/build.log"
[ -n "$DEB" ] || { tail -n 40 "$WORK/build.log"; finish; }

# 2. its run-time dependencies
depends=$(dpkg-deb -f "$DEB" Depends)
for lib in libcurl4 libcjson1 libminizip1 postgresql-15; do
	echo "$depends" | grep -q "\b$lib\b"
	check "the package depends on $lib" $? "$depends"
done

# 3. remove what make install put in place
make -C "$ZCRM_ROOT" -s PG_CONFIG=$ZCRM_PGBIN/pg_config uninstall >/dev/null 2>&1
[ ! -e "$LIBDIR/zcrm_bulk.so" ] && [ ! -e "$SHAREDIR/zcrm_bulk.control" ]
check "make uninstall removes the library and the control file" $?
out=$(psql -X -At -d postgres -c "SELECT count(*) FROM pg_available_extensions WHERE name = 'zcrm_bulk'" 2>&1)
[ "$out" = 0 ]
check "the server no longer offers zcrm_bulk" $? "$out"

# 4. install the package
apt-get install -y -qq --no-install-recommends "$DEB" >"$WORK/install.log" 2>&1
check "apt-get installs the package with its dependencies" $? "see $WORK/install.log"
owned=0
files=("$LIBDIR/zcrm_bulk.so" "$SHAREDIR/zcrm_bulk.control")
for f in "$ZCRM_ROOT"/sql/zcrm_bulk--*.sql; do
	files+=("$SHAREDIR/$(basename "$f")")
done
for f in "${files[@]}"; do
	dpkg -S "$f" 2>/dev/null | grep -q '^postgresql-15-zcrm-bulk:' || owned=1
done
check "the package owns the library, the control file and every SQL script" $owned
out=$(psql -X -At -d postgres -c "SELECT default_version FROM pg_available_extensions WHERE name = 'zcrm_bulk'" 2>&1)
[ "$out" = "$(sed -n "s/^default_version *= *'\(.*\)'/\1/p" "$ZCRM_ROOT/zcrm_bulk.control")" ]
check "the server offers zcrm_bulk again, at the control file's version" $? "$out"

# 5. the pg_regress suite against the installed package, in a cluster of
# its own: the suite's cluster has the earlier steps' roles and refresh
# budgets (a file per refresh token in the data directory), which the
# regress files, run a second time, would meet
CLUSTER="$WORK-cluster"
(
	ZCRM_PGPORT=$((ZCRM_PGPORT + 11))
	zcrm_start_cluster "$CLUSTER" "shared_preload_libraries = 'pg_cron'" \
		"cron.database_name = 'postgres'" "cron.host = '$CLUSTER'" >/dev/null
	make -C "$ZCRM_ROOT" -s PG_CONFIG=$ZCRM_PGBIN/pg_config installcheck >"$WORK/regress.out" 2>&1
	rc=$?
	zcrm_stop_cluster "$CLUSTER"
	exit $rc
)
rc=$?
rm -rf "$CLUSTER"
zcrm_regress_counts "$WORK/regress.out"
ok=$ZCRM_REGRESS_OK bad=$ZCRM_REGRESS_BAD
[ $rc = 0 ] && [ "$bad" = 0 ] && [ "$ok" -gt 10 ]
check "the pg_regress suite passes against the installed package ($ok tests)" $? \
	"$bad failed; see $WORK/regress.out"
[ $rc = 0 ] || tail -n 30 "$WORK/regress.out"
finish
