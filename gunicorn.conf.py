"""gunicorn settings for Orthanc Gallery (`gunicorn -c gunicorn.conf.py wsgi:app`).

Threads (gthread): a request mostly waits for Orthanc, so 16 threads per worker keep
Orthanc busy while Python holds the GIL only for rendering templates and copying bytes.

Workers: every worker serves pages from the shared archive index in the database (one of
them, holding the lease, keeps it current; memory does not grow with the archive) and, with the
default SimpleCache, keeps its own cache. So run ONE worker with SimpleCache: several would serve
pages that are stale for up to HIERARCHY_TTL after an upload through a sibling. With a shared
cache (CACHE_TYPE=RedisCache) the default is 2 workers per core, so that Python runs on every
core (one process uses one at a time).
"""

import os

bind = os.environ.get("GALLERY_BIND", "127.0.0.1:5000")
_shared_cache = os.environ.get("CACHE_TYPE", "SimpleCache") != "SimpleCache"
workers = int(os.environ.get("GUNICORN_WORKERS", 2 * (os.cpu_count() or 1) if _shared_cache else 1))
worker_class = "gthread"
threads = int(os.environ.get("GUNICORN_THREADS", 16))
# The bulkhead (config.py ORTHANC_MAX_CONCURRENT): with a slow Orthanc, at most 3/4 of the threads
# wait for it, and the others still answer health checks, static files and sign-in.
os.environ.setdefault("ORTHANC_MAX_CONCURRENT", str(max(1, threads * 3 // 4)))
# Uploads of large ZIPs are processed within one request.
timeout = int(os.environ.get("GUNICORN_TIMEOUT", 600))
graceful_timeout = 30
# Browsers load a page's thumbnails over a few kept-alive connections.
keepalive = 5
# Access log without query strings: searches carry patient names (PHI).
accesslog = "-"
access_log_format = '%(h)s "%(m)s %(U)s" %(s)s %(B)s %(M)sms'
errorlog = "-"
loglevel = os.environ.get("GUNICORN_LOGLEVEL", "info")


def post_worker_init(worker) -> None:  # noqa: ANN001 - gunicorn's Worker
    """Start the worker's index syncer thread (after the fork: the master's threads would not survive it).

    The syncer only works while its process holds the lease in the database, so of all workers (and
    hosts) one syncs and the others wait to take over. INDEX_SYNC=off leaves it to `flask index sync`.
    """
    from gallery.archive.index.worker import start_syncer

    start_syncer(worker.wsgi)
