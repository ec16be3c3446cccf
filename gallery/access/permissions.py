"""Every view declares what it needs; one hook in create_app enforces it.

A view without a declaration is refused (fail closed), and a test walks the
URL map to make sure each endpoint has one.
"""

from __future__ import annotations

from collections.abc import Callable
from enum import StrEnum
from typing import TypeVar

F = TypeVar("F", bound=Callable)


class Permission(StrEnum):
    PUBLIC = "public"  # login page, static files, health check
    VIEW = "view"  # browse pages and images
    DOWNLOAD = "download"  # original DICOM, archives and exports
    UPLOAD = "upload"
    SHARE = "share"  # create share links
    ADMIN = "admin"  # delete, users, share links of others, audit log


def requires(permission: Permission) -> Callable[[F], F]:
    """Mark a view with the permission it needs."""

    def mark(view: F) -> F:
        view.permission = permission  # type: ignore[attr-defined]
        return view

    return mark


def permission_of(view: Callable | None) -> Permission | None:
    return getattr(view, "permission", None)


#: URL arguments naming Orthanc resources, most specific first. Views use these names,
#: so share-link scope and the audit log can tell which resource a request is about.
RESOURCE_ARGS = ("instance", "series", "study", "patient")


def resource_of(view_args: dict | None) -> tuple[str, str] | None:
    """(level, Orthanc ID) of the resource a request addresses, if any."""
    for level in RESOURCE_ARGS:
        value = (view_args or {}).get(f"{level}_id")
        if value:
            return level, value
    return None
