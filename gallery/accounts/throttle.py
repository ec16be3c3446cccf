"""Failed sign-in throttling, per account and per client address.

Only failures count, so a user who types the password right is never slowed down.
Counters live in Flask-Limiter's storage (memory, or Redis shared by every process).
"""

from __future__ import annotations

import math
import time

from flask import current_app, request
from limits import RateLimitItem, parse

from ..extensions import limiter


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
        if not limiter.limiter.test(item, keys[scope]):
            reset, _ = limiter.limiter.get_window_stats(item, keys[scope])
            return max(1, math.ceil(reset - time.time()))
    return None


def record_failure(account: str) -> None:
    keys = _keys(account)
    for item, scope in _limits():
        limiter.limiter.hit(item, keys[scope])


def wait_message(seconds: int) -> str:
    minutes = max(1, math.ceil(seconds / 60))
    return (
        f"Too many failed sign-in attempts for this account or from this address. "
        f"Try again in {minutes} minute{'s' if minutes != 1 else ''}."
    )
