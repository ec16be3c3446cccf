"""Upload of DICOM files and ZIP archives."""

from flask import Blueprint

bp = Blueprint("upload", __name__)

from . import views  # noqa: E402, F401 - registers the routes on bp
