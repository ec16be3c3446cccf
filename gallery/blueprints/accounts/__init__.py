"""Accounts: signing in and out (user management is in the admin blueprint)."""

from flask import Blueprint

bp = Blueprint("accounts", __name__)

from . import views  # noqa: E402, F401 - registers the routes on bp
