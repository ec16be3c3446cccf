"""`/healthz` for load balancers and monitoring: public, and says nothing about Orthanc's address."""

from __future__ import annotations

from flask import Response, current_app, jsonify
from sqlalchemy import text

from ...access.permissions import Permission, requires
from ...archive.index.status import current_status
from ...extensions import db, orthanc
from ...orthanc.errors import OrthancError
from . import bp


@bp.get("/healthz")
@requires(Permission.PUBLIC)
def healthz() -> Response:
    """200 when the gallery can serve pages; `orthanc` and `database` tell what it can reach.

    `index` is the archive index's sync status (phase, counts, rate, lag; the holder and last error
    only on /admin/index): monitoring can alert on a syncer that stopped or fell behind, which does
    not make this gallery unhealthy.

    Orthanc gets a short read timeout: a load balancer wants a prompt answer, even from a slow Orthanc.
    """
    try:
        client = orthanc()
        client.get_json("/system", timeout=(client.timeout[0], current_app.config["HEALTH_ORTHANC_TIMEOUT"]))
        orthanc_ok = True
    except OrthancError:
        orthanc_ok = False
    try:
        db.session.execute(text("SELECT 1"))
        database_ok = True
    except Exception:  # noqa: BLE001 - any failure means "not reachable"
        db.session.rollback()
        database_ok = False
    index = None
    if database_ok:
        try:
            index = current_status().public()
        except Exception:  # noqa: BLE001 - the index tables may not exist yet; health still answers
            db.session.rollback()
    response = jsonify(
        status="ok" if orthanc_ok and database_ok else "degraded",
        orthanc=orthanc_ok,
        database=database_ok,
        index=index,
    )
    response.status_code = 200 if orthanc_ok and database_ok else 503
    return response
