"""gunicorn settings for Orthanc Gallery (`gunicorn -c gunicorn.conf.py wsgi:app`).

Work per request is mostly waiting on Orthanc, so threads (gthread) carry the load
and the GIL is rarely the limit. Each worker process keeps its own list index and,
with the default SimpleCache, its own cache: run ONE worker with SimpleCache, and
several (about 2 per core) only with a shared cache (CACHE_TYPE=RedisCache).
"""

import os

bind = os.environ.get("GALLERY_BIND", "127.0.0.1:5000")
_shared_cache = os.environ.get("CACHE_TYPE", "SimpleCache") != "SimpleCache"
workers = int(os.environ.get("GUNICORN_WORKERS", 2 * (os.cpu_count() or 1) if _shared_cache else 1))
worker_class = "gthread"
threads = int(os.environ.get("GUNICORN_THREADS", 16))
# Uploads of large ZIPs are processed within one request.
timeout = int(os.environ.get("GUNICORN_TIMEOUT", 600))
graceful_timeout = 30
keepalive = 5
# Access log without query strings: searches carry patient names (PHI).
accesslog = "-"
access_log_format = '%(h)s "%(m)s %(U)s" %(s)s %(B)s %(M)sms'
errorlog = "-"
loglevel = os.environ.get("GUNICORN_LOGLEVEL", "info")


def post_worker_init(worker) -> None:  # noqa: ANN001 - gunicorn's Worker
    """Build the worker's list index at once, in the background (GALLERY_WARM_INDEX=0 turns this off).

    Otherwise the first list page of each worker waits for the build (about a second per
    10,000 patients). If Orthanc is down the warm-up only logs it.
    """
    if os.environ.get("GALLERY_WARM_INDEX", "1") == "0":
        return
    index = getattr(worker.wsgi, "extensions", {}).get("catalog")
    if index is not None:
        index.build_in_background()
