"""Rendered images of DICOM frames, fetched from Orthanc and cached.

An image is identified by its instance ID, frame and rendering parameters;
instance content never changes under its ID, so the key doubles as a strong
ETag and the browser can be told to keep the image for a year.
"""

from __future__ import annotations

from dataclasses import dataclass

from flask import current_app

from ..archive.cache import cache_get, cache_set
from ..archive.loaders import instance_tags
from ..dicom.values import tag_int
from ..extensions import orthanc
from ..orthanc.errors import OrthancUnavailable, OrthancUnsupported, require_id
from .etag import RENDERED_VERSION, etag_of
from .failures import CRASH, UNSUPPORTED, crashed, known, remember

MIN_BOX = 16


@dataclass(frozen=True)
class Rendering:
    """What to draw: a frame fitted in a square box, in JPEG or PNG, optionally windowed."""

    instance: str
    frame: int = 0
    box: int | None = None  # None: native size, clamped to PREVIEW_MAX_SIZE
    fmt: str = "jpeg"
    quality: int = 90
    window: tuple[float, float] | None = None  # (centre, width)

    @property
    def key(self) -> str:
        window = f"{self.window[0]:g},{self.window[1]:g}" if self.window else "file"
        return f"img{RENDERED_VERSION}:{self.instance}:{self.frame}:{self.box}:{self.fmt}:{self.quality}:{window}"

    @property
    def etag(self) -> str:
        return etag_of(self.key)


@dataclass(frozen=True)
class Image:
    content: bytes
    content_type: str
    etag: str
    placeholder: bool = False


def clamp_box(size: int | None) -> int:
    """A bounding box between MIN_BOX and PREVIEW_MAX_SIZE: Orthanc upscales without limit."""
    limit = current_app.config["PREVIEW_MAX_SIZE"]
    return max(MIN_BOX, min(size or limit, limit))


def _native_box(instance_id: str) -> int | None:
    """A box only when the image is larger than PREVIEW_MAX_SIZE (never upscale)."""
    tags = instance_tags(instance_id)
    sides = [side for side in (tag_int(tags, "0028,0010"), tag_int(tags, "0028,0011")) if side]
    limit = current_app.config["PREVIEW_MAX_SIZE"]
    return limit if sides and max(sides) > limit else None


def render(spec: Rendering, store: bool = True) -> Image:
    """The image for `spec`, from the cache or Orthanc; a placeholder if Orthanc cannot render it.

    An image recorded as failing (gallery/imaging/failures.py) is never asked of Orthanc again.
    `store=False` reads the cache but does not fill it (exports of whole series).
    Raises OrthancNotFound for an unknown instance or frame.
    """
    require_id(spec.instance)
    reason = known(spec.instance, spec.frame)
    if reason:
        return placeholder(spec, reason)
    cached = cache_get(spec.key)
    if cached is not None:
        content, content_type, is_placeholder = cached
        return Image(content, content_type, spec.etag, is_placeholder)
    params: dict[str, object] = {}
    box = spec.box if spec.box is not None else _native_box(spec.instance)
    if box:
        params.update(width=box, height=box)
    if spec.fmt == "jpeg":
        params["quality"] = spec.quality
    if spec.window:
        params.update({"window-center": spec.window[0], "window-width": spec.window[1]})
    try:
        image = _ask(spec, params)
    except OrthancUnsupported:
        remember(spec.instance, spec.frame, UNSUPPORTED)
        image = placeholder(spec, UNSUPPORTED)
    except OrthancUnavailable as error:
        if not crashed(error):
            raise
        remember(spec.instance, spec.frame, CRASH)
        return placeholder(spec, CRASH)
    if store:
        cache_set(
            spec.key, (image.content, image.content_type, image.placeholder), timeout=current_app.config["IMAGE_TTL"]
        )
    return image


def _ask(spec: Rendering, params: dict[str, object]) -> Image:
    """One rendering call, never replayed by the client (it may be what kills Orthanc).

    A dropped connection with Orthanc still answering (an idle keep-alive connection it
    closed as the call went out) is asked once more, as the client's retries would have.
    """
    path = f"/instances/{spec.instance}/frames/{spec.frame}/rendered"
    for attempt in (1, 2):
        try:
            binary = orthanc().get_binary(path, params, accept=f"image/{spec.fmt}", replay=False)
            return Image(binary.content, binary.content_type, spec.etag)
        except OrthancUnavailable as error:
            if attempt == 2 or not error.dropped or not orthanc().answers(error.node):
                raise
    raise AssertionError("unreachable")


def placeholder(spec: Rendering, reason: str) -> Image:
    """A wordless placeholder; its own ETag, so a browser holding it revalidates once the image renders."""
    return Image(placeholder_svg(spec.box or 256, reason), "image/svg+xml", f"{spec.etag}-{reason}", placeholder=True)


#: Wordless icons (pages say why, in the visitor's language): a document for objects Orthanc
#: cannot render, a cracked frame for images that made Orthanc fail, an empty frame for no image.
ICONS = {
    UNSUPPORTED: '<rect x="88" y="64" width="80" height="96" rx="6"/><path d="M104 92h48M104 112h48M104 132h32"/>',
    CRASH: '<rect x="64" y="72" width="128" height="112" rx="8"/><path d="M128 72l-12 36 20 16-14 60"/>',
    "empty": '<rect x="72" y="72" width="112" height="112" rx="8" stroke-dasharray="14 10"/>',
}


def placeholder_svg(size: int, reason: str = UNSUPPORTED) -> bytes:
    """A calm grey square with an icon for `reason`, and no words: they would not be translated."""
    size = max(size, 96)
    icon = ICONS.get(reason, ICONS[UNSUPPORTED])
    return f"""<svg xmlns="http://www.w3.org/2000/svg" width="{size}" height="{size}" viewBox="0 0 256 256">
<rect width="256" height="256" fill="#1c2127"/>
<g fill="none" stroke="#6b7785" stroke-width="6" stroke-linecap="round" stroke-linejoin="round">{icon}</g>
</svg>""".encode()
