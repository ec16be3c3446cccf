"""Failed sign-in throttling, per account and per client address.

Only failures count, so a user who types the password right is never slowed down.
Counters live in a `limits` storage (memory, or Redis shared by every process). `limits`
is the library under Flask-Limiter; it is used directly because nothing else is rate
limited, and Flask-Limiter's per-request hooks cost 0.2 ms on every thumbnail.
"""

from __future__ import annotations

import math
import time

from flask import Flask, current_app, request
from flask_babel import ngettext
from limits import RateLimitItem, parse
from limits.storage import storage_from_string
from limits.strategies import MovingWindowRateLimiter


def init_throttle(app: Flask) -> None:
    app.extensions["login_throttle"] = MovingWindowRateLimiter(storage_from_string(app.config["RATELIMIT_STORAGE_URI"]))


def _limiter() -> MovingWindowRateLimiter:
    return current_app.extensions["login_throttle"]


def _limits() -> list[tuple[RateLimitItem, str]]:
    config = current_app.config
    return [
        (parse(config["LOGIN_LIMIT_PER_ACCOUNT"]), "account"),
        (parse(config["LOGIN_LIMIT_PER_ADDRESS"]), "address"),
    ]


def _keys(account: str) -> dict[str, str]:
    return {"account": f"login-account:{account.casefold()}", "address": f"login-address:{request.remote_addr}"}


def retry_after(account: str) -> int | None:
    """Seconds to wait before `account` may try again from this address, or None."""
    keys = _keys(account)
    for item, scope in _limits():
        if not _limiter().test(item, keys[scope]):
            reset, _ = _limiter().get_window_stats(item, keys[scope])
            return max(1, math.ceil(reset - time.time()))
    return None


def record_failure(account: str) -> None:
    keys = _keys(account)
    for item, scope in _limits():
        _limiter().hit(item, keys[scope])


def wait_message(seconds: int) -> str:
    minutes = max(1, math.ceil(seconds / 60))
    return ngettext(
        "Too many failed sign-in attempts for this account or from this address. Try again in %(num)s minute.",
        "Too many failed sign-in attempts for this account or from this address. Try again in %(num)s minutes.",
        minutes,
    )
