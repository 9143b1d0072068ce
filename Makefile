# zcrm_bulk: Zoho CRM Bulk Write jobs as SQL rows (PGXS build)

EXTENSION = zcrm_bulk
EXTVERSION = $(shell sed -n "s/^default_version *= *'\(.*\)'/\1/p" $(EXTENSION).control)

MODULE_big = zcrm_bulk
OBJS = \
	src/zcrm_bulk.o \
	src/settings.o \
	src/transport.o \
	src/transport_policy.o \
	src/json_scan.o \
	src/json_arena.o \
	src/json.o \
	src/parse.o \
	src/upload_host.o \
	src/scrub.o \
	src/csv.o \
	src/zip.o \
	src/errors.o \
	src/validate.o \
	src/zoho.o \
	src/zoho_write.o \
	src/utf8text.o \
	src/functions.o \
	src/write_calls.o \
	src/wait.o \
	src/connections.o \
	src/oauth.o \
	src/result.o \
	src/match.o \
	src/results.o \
	src/rowcsv.o \
	src/prepare.o \
	src/writeplan.o \
	src/run_store.o \
	src/write_chain.o \
	src/write_run.o \
	src/write_send.o
PGFILEDESC = "zcrm_bulk - Zoho CRM Bulk Write jobs as SQL rows"

# sql/ holds both the install scripts and the regression tests: the
# install scripts always match zcrm_bulk--*.sql, the tests never do.
DATA = $(wildcard sql/$(EXTENSION)--*.sql)

REGRESS = zcrm_setup zcrm_seed zcrm_shapes zcrm_errors zcrm_scrub zcrm_faults zcrm_input \
	zcrm_settings zcrm_retries zcrm_wrongtypes zcrm_connections zcrm_upgrade zcrm_tracking \
	zcrm_tracking_roles zcrm_search_path zcrm_batch zcrm_lateral zcrm_plpgsql zcrm_recipe \
	zcrm_write_calls zcrm_results zcrm_write_plan zcrm_encodings
REGRESS_OPTS = --inputdir=.

# src/csv.o and src/zip.o (minizip) are used by the 2.1 write functions;
# src/zip.c includes <minizip/zip.h>, never a bare <zip.h>, which would be
# src/zip.h itself.
PKG_CONFIG ?= pkg-config
PG_CPPFLAGS = -DZCRM_BULK_VERSION='"$(EXTVERSION)"' \
	$(shell $(PKG_CONFIG) --cflags libcurl libcjson minizip zlib)
SHLIB_LINK = $(shell $(PKG_CONFIG) --libs libcurl libcjson minizip zlib)

EXTRA_CLEAN = results regression.diffs regression.out test/readme_recipe.sql $(EXTENSION)-*.zip

PG_CONFIG ?= pg_config
PGXS := $(shell $(PG_CONFIG) --pgxs)
include $(PGXS)

.PHONY: unittest
unittest:
	$(MAKE) -C test/unit check

# zcrm_recipe runs the pg_cron recipe of README.md (all but the
# cron.schedule call), taken from the README itself so the two cannot drift.
installcheck: test/readme_recipe.sql
test/readme_recipe.sql: README.md
	sed -n '/^CREATE TABLE bulk_jobs/,/^END \$$\$$;/p' $< > $@
	test -s $@

# make dist: the PGXN distribution, zcrm_bulk-<version>.zip with every file
# of the commit checked out (git archive), under zcrm_bulk-<version>/, as
# pgvector and pg_cron ship theirs.  <version> is META.json's (semantic:
# 2.1.0 for the extension's 2.1); test/test_packaging.py checks that the two
# agree.
DISTVERSION = $(shell sed -n 's/^   "version": "\(.*\)",$$/\1/p' META.json)

.PHONY: dist
dist:
	git archive --format zip --prefix=$(EXTENSION)-$(DISTVERSION)/ \
		--output $(EXTENSION)-$(DISTVERSION).zip HEAD

# make indent: lay the C sources out as PostgreSQL's pgindent does
# (pg_bsd_indent from Debian's pg-bsd-indent, pgindent's options and the
# type names of typedefs.list, which scripts/typedefs.sh regenerates);
# make indent-check writes nothing and fails on any file not so laid out.
.PHONY: indent indent-check
indent:
	bash scripts/indent.sh

indent-check:
	bash scripts/indent.sh --check

# make installcheck-each: every regress file alone, each in a new database,
# as make installcheck REGRESS=<file> runs it; scripts/test.sh runs this
# after the whole suite, so that no file depends on another.
.PHONY: installcheck-each
installcheck-each: test/readme_recipe.sql
	@passed=0; failed=0; \
	for t in $(REGRESS); do \
		if $(MAKE) -s installcheck REGRESS=$$t >/dev/null 2>&1; then \
			passed=$$((passed + 1)); echo "ok $$t alone"; \
		else \
			failed=$$((failed + 1)); echo "not ok $$t alone"; \
			cat regression.diffs 2>/dev/null | head -n 40; \
		fi; \
	done; \
	echo "$$passed passed, $$failed failed"; \
	[ $$failed -eq 0 ]


# make installcheck-local: make installcheck against the cluster PGHOST and
# PGPORT name, with the local Zoho API server started for the run
# (scripts/installcheck_local.sh).
.PHONY: installcheck-local
installcheck-local:
	bash scripts/installcheck_local.sh
