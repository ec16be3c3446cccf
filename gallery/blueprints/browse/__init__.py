"""Browse: patient, study, series and instance pages and lists."""

from flask import Blueprint

bp = Blueprint("browse", __name__)

from . import views  # noqa: E402, F401 - registers the routes on bp
