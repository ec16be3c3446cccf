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
#: Minimum seconds between two checks of Orthanc's change feed by the list index.
INDEX_POLL_SECONDS = 1.0
#: More new studies/series than this in one poll triggers a full index rebuild.
INDEX_INCREMENTAL_LIMIT = 200

#: Rows per page on the patient and study lists, thumbnails per page on a series.
PAGE_SIZE = 50
SERIES_PAGE_SIZE = 100
#: Bounding box of thumbnails and the largest preview side, in pixels.
THUMBNAIL_SIZE = 256
PREVIEW_MAX_SIZE = 2048
#: JPEG quality asked of Orthanc for thumbnails.
THUMBNAIL_QUALITY = 85

#: Flask-WTF: tokens are checked by gallery.security (which exempts clients that
#: authenticate with an Authorization header) and stay valid for a working day.
WTF_CSRF_CHECK_DEFAULT = False
WTF_CSRF_TIME_LIMIT = 8 * 3600

#: Largest accepted request body (uploads), in bytes.
MAX_CONTENT_LENGTH = 2 * 1024**3

#: Environment variables read by create_app(), besides CACHE_*.
ENV_KEYS = (
    "ORTHANC_URL",
    "ORTHANC_USER",
    "ORTHANC_PASSWORD",
    "SECRET_KEY",
)


def from_environment(environ: Mapping[str, str], defaults: Mapping[str, object]) -> dict[str, object]:
    """Settings given in the environment, converted to the type of their default.

    Only ENV_KEYS and Flask-Caching's CACHE_* keys are read.
    """
    settings: dict[str, object] = {}
    for key, raw in environ.items():
        if key not in ENV_KEYS and not key.startswith("CACHE_"):
            continue
        default = defaults.get(key)
        if isinstance(default, bool):
            settings[key] = raw.strip().lower() in {"1", "true", "yes", "on"}
        elif isinstance(default, int | float):
            settings[key] = type(default)(raw)
        else:
            settings[key] = raw
    return settings
