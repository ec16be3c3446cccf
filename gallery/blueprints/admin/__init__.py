"""Administration: users, the audit log, deletions."""

from flask import Blueprint

bp = Blueprint("admin", __name__, url_prefix="")

from . import views  # noqa: E402, F401 - registers the routes on bp
