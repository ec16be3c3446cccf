"""Accounts: users and roles, sign-in, throttling of failed sign-ins."""

from flask import Blueprint

bp = Blueprint("accounts", __name__)

from . import views  # noqa: E402, F401 - registers the routes on bp
