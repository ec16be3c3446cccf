"""The series viewer: page, view state, slice images, exports."""

from flask import Blueprint

bp = Blueprint("viewer", __name__)

from . import views  # noqa: E402, F401 - registers the routes on bp
