"""Configuration defaults for Orthanc Gallery.

Every setting has a default here. `create_app()` starts from these defaults, then
reads the environment variables named in `ENV_KEYS` (and any `CACHE_*` key), then
applies the `test_config` mapping, so tests never depend on the environment.
"""

from __future__ import annotations

from collections.abc import Mapping

#: Orthanc's REST root. Empty means "not configured": `make run` then starts an
#: embedded Orthanc and sets this. May carry a path prefix (https://host/orthanc/),
#: or several comma-separated URLs of Orthanc nodes sharing one database.
ORTHANC_URL = ""
ORTHANC_USER = ""
ORTHANC_PASSWORD = ""
#: Seconds to wait for a TCP connection, then for an answer. A stopped Orthanc is
#: reported as 503 after at most ORTHANC_CONNECT_TIMEOUT (plus two quick retries).
ORTHANC_CONNECT_TIMEOUT = 3.0
ORTHANC_READ_TIMEOUT = 60.0
#: Retries for idempotent GETs on connection errors and 502/503 answers.
ORTHANC_RETRIES = 2
#: Circuit breaker, per Orthanc node and per gallery process: after this many consecutive
#: failures to reach a node (refused, reset, timed out, or 502/503/504), calls to it are
#: refused at once (503 with Retry-After) for ORTHANC_BREAKER_COOLDOWN seconds; then one
#: trial call goes through, and its success closes the breaker again.
ORTHANC_BREAKER_FAILURES = 5
ORTHANC_BREAKER_COOLDOWN = 5.0
#: Bulkhead: calls to Orthanc in flight at once per process (0: no cap). A call that finds
#: no place within ORTHANC_QUEUE_WAIT seconds is answered 503, so a slow Orthanc cannot hold
#: every worker thread. gunicorn.conf.py sets it to 3/4 of the threads unless it is given.
ORTHANC_MAX_CONCURRENT = 0
ORTHANC_QUEUE_WAIT = 0.5
#: Read timeout of the /healthz check of Orthanc: a load balancer wants a prompt answer.
HEALTH_ORTHANC_TIMEOUT = 2.0

#: Flask's session signing key. `make run` generates one under instance/.
SECRET_KEY = "dev-only-change-me"

#: Flask-Caching. SimpleCache suits one process; use RedisCache
#: (CACHE_REDIS_URL=redis://...) when several gallery processes run.
CACHE_TYPE = "SimpleCache"
CACHE_DEFAULT_TIMEOUT = 300
CACHE_THRESHOLD = 5000
CACHE_KEY_PREFIX = "gallery:"

#: Seconds that hierarchy data (patient, study and series JSON) is cached.
HIERARCHY_TTL = 30
#: Seconds that rendered images and instance tags are cached (content is
#: immutable under its Orthanc ID, so this only bounds cache memory).
IMAGE_TTL = 24 * 3600
#: After a rendering call's connection dropped and Orthanc stopped answering, how long (s) to
#: wait for it to answer again (a supervisor restarting it) before calling it a crash the
#: image caused; and how long (s) each process trusts its copy of the list of such images.
RENDER_CRASH_WAIT = 15.0
RENDER_FAILURES_MEMO = 10.0
#: The archive index (gallery/archive/index/): "auto" runs the one syncer inside the gallery
#: processes (whichever holds the lease in the database); "off" when a separate
#: `flask index sync` process keeps the index current.
INDEX_SYNC = "auto"
#: Seconds between two polls of Orthanc's change feed and /statistics by the syncer.
INDEX_POLL_SECONDS = 1.0
#: Lifetime of the syncer's lease: a syncer that dies is replaced within about this many
#: seconds (plus a third of it). Epoch seconds: hosts sharing one database need NTP.
INDEX_LEASE_SECONDS = 5.0
#: Studies or series per Orthanc answer during the initial sync, and IDs per answer
#: while a sweep looks for studies deleted outside the gallery.
INDEX_PAGE_SIZE = 250
INDEX_SWEEP_PAGE_SIZE = 10_000
#: List pages say the index may be behind once the last successful poll is this old.
INDEX_BEHIND_SECONDS = 10.0

#: Folder of compiled templates shared by the gallery's processes ("": a private folder of this
#: user under the system's temporary directory). A new worker loads them instead of compiling.
TEMPLATE_CACHE_DIR = ""

#: Rows per page on the patient and study lists, thumbnails per page on a series.
PAGE_SIZE = 50
SERIES_PAGE_SIZE = 100
#: Bounding box of thumbnails and the largest preview side, in pixels.
THUMBNAIL_SIZE = 256
PREVIEW_MAX_SIZE = 2048
#: JPEG quality asked of Orthanc for thumbnails.
THUMBNAIL_QUALITY = 85

#: Series viewer: largest side of viewer images and exports (px), their JPEG quality, and
#: how many evenly spread slices the `auto` / `full` windows are computed from.
VIEWER_MAX_SIZE = 1024
VIEWER_QUALITY = 92
VIEWER_STATS_SAMPLES = 16
#: Reformatting (MPR): fewest slices, most voxels (64 Mi = 256 MB as float32 while
#: loading), and the bytes of volumes each gallery process keeps in memory (an LRU).
MPR_MIN_SLICES = 5
MPR_MAX_VOXELS = 64 * 1024**2
MPR_CACHE_BYTES = 512 * 1024**2

#: Flask-WTF: tokens are checked by gallery.web.guards (which exempts clients that
#: authenticate with an Authorization header) and stay valid for a working day.
WTF_CSRF_CHECK_DEFAULT = False
WTF_CSRF_TIME_LIMIT = 8 * 3600

#: Users, share links and the audit log. Empty: SQLite at instance/gallery.db.
#: Set DATABASE_URL=postgresql://user:pass@host/db when several gallery hosts share them.
SQLALCHEMY_DATABASE_URI = ""
SQLALCHEMY_ENGINE_OPTIONS = {"pool_pre_ping": True}

#: Created at start when no admin exists (`make run` generates them on first start).
GALLERY_ADMIN_USER = ""
GALLERY_ADMIN_PASSWORD = ""

#: Sessions: HttpOnly, SameSite=Lax, and Secure whenever the request came over HTTPS
#: (see TRUSTED_PROXIES); set SESSION_COOKIE_SECURE=True to force it.
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
SESSION_COOKIE_SECURE = False
SESSION_COOKIE_NAME = "gallery_session"
PERMANENT_SESSION_LIFETIME = 12 * 3600
#: Number of reverse proxies in front of the gallery whose X-Forwarded-For/-Proto/-Host
#: headers are trusted (0: none; set 1 behind nginx or a load balancer).
TRUSTED_PROXIES = 0

#: Failed sign-ins allowed before a pause, per account and per client address, and
#: where they are counted: memory:// for one process, redis://host:6379 for several.
LOGIN_LIMIT_PER_ACCOUNT = "5 per 15 minutes"
LOGIN_LIMIT_PER_ADDRESS = "20 per 15 minutes"
RATELIMIT_STORAGE_URI = "memory://"

#: Share-link lifetimes offered on the share form (label, seconds), and the preselected one.
SHARE_EXPIRY_CHOICES = (("1 hour", 3600), ("1 day", 86400), ("7 days", 7 * 86400), ("30 days", 30 * 86400))
SHARE_DEFAULT_EXPIRY = 86400

#: Largest accepted request body, in bytes: the total of one upload (all its files
#: and ZIPs). Larger requests get a 413 page (or JSON) naming the limit. Uploaded
#: files are spooled to a temporary file (see gallery/web/spool.py), never held in memory.
MAX_CONTENT_LENGTH = 2 * 1024**3
#: Files in one upload request (Flask's default of 1,000 would refuse a large folder
#: sent by the plain form; the page sends small batches when JavaScript is on).
MAX_FORM_PARTS = 100_000
#: ZIP archives in an upload (ZIP bombs): the most entries in one ZIP, the largest
#: unpacked size of one entry and of a whole ZIP, and the highest compression ratio of
#: an entry of 1 MB or more (DICOM rarely compresses past 20:1; a deflate bomb reaches
#: ~1,000:1). All are checked from the ZIP's directory before anything is unpacked: an
#: entry over a limit is refused with the reason, an archive over one is refused whole.
#: A ZIP inside a ZIP is never unpacked (reported as skipped).
UPLOAD_ZIP_MAX_ENTRIES = 50_000
UPLOAD_ZIP_MAX_ENTRY_SIZE = 2 * 1024**3
UPLOAD_ZIP_MAX_TOTAL_SIZE = 16 * 1024**3
UPLOAD_ZIP_MAX_RATIO = 200
#: Where the one spool file of each upload request lives ("": the system temporary
#: directory). It is anonymous (unlinked at once) and closed when the request ends.
UPLOAD_SPOOL_DIR = ""
#: Files of one upload posted to Orthanc at the same time.
UPLOAD_WORKERS = 4

#: Environment variables read by create_app(), besides CACHE_*.
ENV_KEYS = (
    "ORTHANC_URL",
    "ORTHANC_USER",
    "ORTHANC_PASSWORD",
    "ORTHANC_CONNECT_TIMEOUT",
    "ORTHANC_READ_TIMEOUT",
    "ORTHANC_RETRIES",
    "ORTHANC_BREAKER_FAILURES",
    "ORTHANC_BREAKER_COOLDOWN",
    "ORTHANC_MAX_CONCURRENT",
    "ORTHANC_QUEUE_WAIT",
    "SECRET_KEY",
    "DATABASE_URL",
    "GALLERY_ADMIN_USER",
    "GALLERY_ADMIN_PASSWORD",
    "RATELIMIT_STORAGE_URI",
    "TRUSTED_PROXIES",
    "SESSION_COOKIE_SECURE",
    "MAX_CONTENT_LENGTH",
    "UPLOAD_SPOOL_DIR",
    "RENDER_CRASH_WAIT",
    "INDEX_SYNC",
    "INDEX_POLL_SECONDS",
    "INDEX_LEASE_SECONDS",
    "INDEX_PAGE_SIZE",
    "INDEX_SWEEP_PAGE_SIZE",
    "INDEX_BEHIND_SECONDS",
)


def from_environment(environ: Mapping[str, str], defaults: Mapping[str, object]) -> dict[str, object]:
    """Settings given in the environment, converted to the type of their default.

    Only ENV_KEYS and Flask-Caching's CACHE_* keys are read.
    """
    settings: dict[str, object] = {}
    for key, raw in environ.items():
        if key not in ENV_KEYS and not key.startswith("CACHE_"):
            continue
        if key == "DATABASE_URL":
            key = "SQLALCHEMY_DATABASE_URI"
        default = defaults.get(key)
        if isinstance(default, bool):
            settings[key] = raw.strip().lower() in {"1", "true", "yes", "on"}
        elif isinstance(default, int | float):
            settings[key] = type(default)(raw)
        else:
            settings[key] = raw
    return settings
