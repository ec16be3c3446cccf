"""The language switch in the page header."""

from flask import Blueprint

bp = Blueprint("language", __name__)

from . import views  # noqa: E402, F401 - registers the routes on bp
