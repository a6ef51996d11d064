# The two commands of the README: `make serve` and `make test`.
SWIFT ?= swift
CONCORD_RELEASE := .build/release/concord

.PHONY: serve test build release bench format postgres stop-postgres

# Imports the demo reference data and the demo users (no-ops when already there), then serves. Without a master key in
# the environment, a development one is made once under .concord/ (production: docs/operations.md).
serve: postgres release
	$(CONCORD_RELEASE) reference import deploy/demo-reference.json
	$(CONCORD_RELEASE) user import deploy/demo-users.json
	@if [ -z "$$CONCORD_MASTER_KEY_FILE$$CONCORD_MASTER_KEY" ]; then \
		mkdir -p .concord; \
		[ -f .concord/master.key ] || $(CONCORD_RELEASE) subject keygen .concord/master.key; \
		export CONCORD_MASTER_KEY_FILE=.concord/master.key; \
	fi; \
	exec $(CONCORD_RELEASE) serve

# Suites that run PostgreSQL servers of their own and kill or pause them (failover, read replica, restore): run on
# their own after the rest, since their timings (a promotion, a replica catching up) mean nothing on two cores
# shared with the hundreds of tests of the main run.
DATABASE_FAULT_SUITES := DatabaseFailoverTests|ReadReplicaTests|BackupRestoreTests

# Builds every target first (the multi-process tests run the `concord` executable), then runs the suite. The tests
# run the Python of the docs (the operators' opener needs the `cryptography` package) and drive the web pages in
# a headless Chromium (BrowserTests: chromium, chromium-driver and Selenium, installed when missing).
test: postgres
	@python3 -c 'import cryptography' 2>/dev/null || python3 -m pip install --quiet cryptography
	@bash scripts/ensure-browser.sh
	$(SWIFT) build --build-tests
	$(SWIFT) test --skip-build --skip '$(DATABASE_FAULT_SUITES)'
	$(SWIFT) test --skip-build --filter '$(DATABASE_FAULT_SUITES)'

build:
	$(SWIFT) build

release:
	$(SWIFT) build -c release --product concord

bench: postgres release
	$(CONCORD_RELEASE) bench append --writers 1,4,16 --events 20000

format:
	$(SWIFT) format --in-place --recursive --configuration .swift-format Sources Tests Plugins Package.swift

postgres:
	@bash scripts/ensure-postgres.sh

# Stops the private cluster if a crashed process left it running.
stop-postgres:
	@for bin in /usr/lib/postgresql/*/bin; do \
		if [ -f .concord/postgres/PG_VERSION ]; then \
			if [ "$$(id -u)" = 0 ]; then runuser -u postgres -- $$bin/pg_ctl -D .concord/postgres -m fast stop || true; \
			else $$bin/pg_ctl -D .concord/postgres -m fast stop || true; fi; \
		fi; break; \
	done
