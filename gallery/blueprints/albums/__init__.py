"""Albums: named sets of studies, curated by uploaders, seen by everyone signed in, shared as one link."""

from flask import Blueprint

bp = Blueprint("albums", __name__)

from . import views  # noqa: E402, F401 - registers the routes on bp
