# The two commands people need: `make demo` and `make test`. Everything else supports them.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
PORT ?= 8000

.PHONY: demo test test-fast smoke install lint browser lock bench bench-scale clean-data face-samples vendor-echarts

## Set up everything (virtualenv, embedded PostgreSQL and Redis, demo building) and run it.
demo: install
	$(BIN)/python manage.py demo --port $(PORT)

## Run the whole test suite: lint, types, migrations check, then pytest.
test: install browser lint face-samples
	$(BIN)/pytest

## The first command, checked end to end as a newcomer would run it: the demo on a fresh data
## folder with nothing configured (embedded PostgreSQL and Redis), a pass presented at the
## simulated turnstile, a texted link opened. CI runs it after `make test`.
smoke: install
	env -u DATABASE_URL -u REDIS_URL $(BIN)/python .ci/smoke.py

## The same without the slow stress tests.
test-fast: install lint face-samples
	$(BIN)/pytest -m "not slow and not browser"

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy .
	$(BIN)/lint-imports
	$(BIN)/python manage.py makemigrations --check --dry-run

install: $(VENV)/.installed

$(VENV)/.installed: requirements.lock pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --disable-pip-version-check -r requirements.lock
	touch $@

## Headless Chromium and CJK fonts for the browser tests, and the TrueType CJK font that PDF
## visitor slips embed (Debian packages; never a download).
browser:
	@command -v chromium >/dev/null 2>&1 && fc-list 2>/dev/null | grep -qi "Noto Sans CJK" && \
		fc-list 2>/dev/null | grep -qi "WenQuanYi Zen Hei" || \
		{ apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium fonts-noto-cjk fonts-wqy-zenhei >/dev/null; }

## Real photos of faces for the face matcher's tests: the demo photos of the npm package
## @vladmandic/face-api, downloaded from the npm registry into .data/ (git-ignored) and checked
## against the registry's integrity hash, pinned here. Python does both, so neither npm nor
## curl nor openssl needs to be on the machine.
FACE_SAMPLES := .data/face-samples
FACE_API_TARBALL := https://registry.npmjs.org/@vladmandic/face-api/-/face-api-1.7.15.tgz
FACE_API_INTEGRITY := sha512-WDMmK3CfNLo8jylWqMoQgf4nIst3M0fzx1dnac96wv/dvMTN4DxC/Pq1DGtduDk1lktCamQ3MIDXFnvrdHTXDw==
face-samples: $(FACE_SAMPLES)/package/demo/sample6.jpg

$(FACE_SAMPLES)/package/demo/sample6.jpg:
	mkdir -p $(FACE_SAMPLES)
	$(PYTHON) -c 'import base64, hashlib, sys, tarfile, io, urllib.request; \
		data = urllib.request.urlopen(sys.argv[1], timeout=120).read(); \
		digest = "sha512-" + base64.b64encode(hashlib.sha512(data).digest()).decode(); \
		digest == sys.argv[2] or sys.exit("face samples: integrity check failed"); \
		archive = tarfile.open(fileobj=io.BytesIO(data)); \
		photos = [m for m in archive.getmembers() if m.name.startswith("package/demo/sample") and m.name.endswith(".jpg")]; \
		archive.extractall(sys.argv[3], members=photos, filter="data")' \
		$(FACE_API_TARBALL) $(FACE_API_INTEGRITY) $(FACE_SAMPLES)
	touch $@

## Apache ECharts for the statistics dashboard, vendored (committed) from its npm package: the
## tarball is checked against the registry's sha512 integrity and the one pinned here. To
## upgrade, change both lines and run this target.
ECHARTS_VERSION := 5.6.0
ECHARTS_INTEGRITY := sha512-oTbVTsXfKuEhxftHqL5xprgLoc0k7uScAwtryCgWF6hPYFLRwOUHiFmHGCBKP5NPFNkDVopOieyUqYGH8Fa3kA==
vendor-echarts:
	$(PYTHON) scripts/vendor_echarts.py $(ECHARTS_VERSION) $(ECHARTS_INTEGRITY) \
		visit_platform/reports/static/reports/vendor/echarts

## Re-resolve requirements.lock from pyproject.toml.
lock:
	rm -rf /tmp/visit-lock && $(PYTHON) -m venv /tmp/visit-lock
	/tmp/visit-lock/bin/pip install --quiet -e ".[dev]"
	/tmp/visit-lock/bin/pip freeze --exclude-editable | grep -v '^-e' > requirements.lock

## The benchmarks whose figures docs/performance.md records (a few minutes; not part of CI).
bench: install
	$(BIN)/python bench/provision.py
	$(BIN)/python bench/gate_decision.py
	$(BIN)/python bench/gate_latency.py
	$(BIN)/python bench/bulk_import.py
	$(BIN)/python bench/wechat_callback.py
	$(BIN)/python bench/reports.py

## A thousand buildings: provisioning, a release under gate load, periodic jobs (about 40 min).
bench-scale: install
	$(BIN)/python bench/scale.py --buildings 1000

clean-data:
	rm -rf .data
