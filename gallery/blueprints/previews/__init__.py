"""Previews: thumbnails and rendered images of instances and series."""

from flask import Blueprint

bp = Blueprint("previews", __name__)

from . import views  # noqa: E402, F401 - registers the routes on bp
