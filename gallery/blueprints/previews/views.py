"""Proxied images: the browser asks the gallery, the gallery asks Orthanc."""

from __future__ import annotations

from flask import Response, current_app

from ...access.permissions import Permission, requires
from ...archive.loaders import frame_count, middle_slice
from ...imaging.render import MIN_BOX, Image, Rendering, clamp_box, placeholder_svg, render
from ...web.params import frame_arg, int_arg
from ...web.responses import YEAR, image_response, not_modified
from . import bp

THUMBNAIL_MAX = 512


def serve(spec: Rendering, max_age: int = YEAR) -> Response:
    return not_modified(spec.etag) or image_response(render(spec), max_age)


@bp.get("/instances/<oid:instance_id>/thumbnail")
@requires(Permission.VIEW)
def thumbnail(instance_id: str) -> Response:
    """A JPEG fitted in THUMBNAIL_SIZE (or `?size=`, 16–512), `?frame=N` for multi-frame objects."""
    config = current_app.config
    size = thumbnail_size()  # before the frame: a malformed size costs no Orthanc call
    frame = frame_arg(lambda: frame_count(instance_id))
    spec = Rendering(instance_id, frame, box=size, fmt="jpeg", quality=config["THUMBNAIL_QUALITY"])
    return serve(spec)


def thumbnail_size() -> int:
    """`?size=N`, from MIN_BOX to THUMBNAIL_MAX (or PREVIEW_MAX_SIZE if lower): a 400 outside, never clamped."""
    config = current_app.config
    largest = min(THUMBNAIL_MAX, config["PREVIEW_MAX_SIZE"])
    return int_arg("size", min(clamp_box(config["THUMBNAIL_SIZE"]), largest), minimum=MIN_BOX, maximum=largest)


@bp.get("/instances/<oid:instance_id>/preview")
@requires(Permission.VIEW)
def preview(instance_id: str) -> Response:
    """The frame at native size (at most PREVIEW_MAX_SIZE), lossless PNG."""
    return serve(Rendering(instance_id, frame_arg(lambda: frame_count(instance_id)), box=None, fmt="png"))


@bp.get("/series/<oid:series_id>/thumbnail")
@requires(Permission.VIEW)
def series_thumbnail(series_id: str) -> Response:
    """The thumbnail of the series' middle slice; short-lived, as a series can grow."""
    middle = middle_slice(series_id)
    if middle is None:
        image = Image(placeholder_svg(256, "empty"), "image/svg+xml", "empty", True)
        return image_response(image, 60)
    config = current_app.config
    spec = Rendering(
        middle.instance, middle.frame, box=config["THUMBNAIL_SIZE"], fmt="jpeg", quality=config["THUMBNAIL_QUALITY"]
    )
    return serve(spec, max_age=60)
