"""Share links: revocable, expiring, read-only grants on one study or series."""

from flask import Blueprint

bp = Blueprint("shares", __name__)

from . import views  # noqa: E402, F401 - registers the routes on bp
