"""Contact sheets: evenly spread slices of a series as numbered tiles on one JPEG.

Tiles are ordinary cached thumbnails (gallery/imaging/render.py); the sheet itself is
cached under a key naming the series' slices and the layout, which is its ETag.
"""

from __future__ import annotations

import io
import math
from dataclasses import dataclass

from flask import current_app
from PIL import Image as PILImage
from PIL import ImageDraw, ImageFont

from ..archive.cache import cache_get, cache_set
from ..archive.models import Slice
from ..dicom.geometry import spread
from .etag import MOSAIC_VERSION, etag_of
from .render import Image, Rendering, render

BACKGROUND = (0, 0, 0)
GAP = 2


@dataclass(frozen=True, slots=True)
class Sheet:
    """The layout of a contact sheet for a series of `total` slices."""

    series: str
    digest: str
    total: int
    columns: int
    rows: int
    tile: int

    @property
    def numbers(self) -> list[int]:
        """1-based slice numbers of the tiles, first to last slice, evenly spread."""
        return [index + 1 for index in spread(self.total, self.columns * self.rows)]

    @property
    def key(self) -> str:
        return f"mosaic{MOSAIC_VERSION}:{self.series}:{self.digest}:{self.columns}x{self.rows}:{self.tile}"

    @property
    def etag(self) -> str:
        return etag_of(self.key)


def plan(series: str, digest: str, total: int, columns: int, rows: int, tile: int) -> Sheet:
    """Shrink the grid to the slices there are: 3 slices give a 3×1 sheet, not 6×6 with blanks."""
    tiles = min(total, columns * rows)
    columns = min(columns, tiles)
    return Sheet(series, digest, total, columns, math.ceil(tiles / columns), tile)


def _label_font(tile: int) -> ImageFont.FreeTypeFont | ImageFont.ImageFont:
    return ImageFont.load_default(size=max(10, tile // 9))


def _tile_image(image: Image, tile: int) -> PILImage.Image:
    if image.placeholder:
        return PILImage.new("RGB", (tile, tile), (28, 33, 39))
    return PILImage.open(io.BytesIO(image.content)).convert("RGB")


def compose(sheet: Sheet, slices: list[Slice]) -> bytes:
    """Render the tiles (cached thumbnails) and lay them out with their slice numbers."""
    config = current_app.config
    size = sheet.tile
    canvas = PILImage.new("RGB", (sheet.columns * (size + GAP) - GAP, sheet.rows * (size + GAP) - GAP), BACKGROUND)
    draw = ImageDraw.Draw(canvas)
    font = _label_font(size)
    for position, number in enumerate(sheet.numbers):
        item = slices[number - 1]
        spec = Rendering(item.instance, item.frame, box=size, fmt="jpeg", quality=config["THUMBNAIL_QUALITY"])
        picture = _tile_image(render(spec), size)
        left = (position % sheet.columns) * (size + GAP)
        top = (position // sheet.columns) * (size + GAP)
        canvas.paste(picture, (left + (size - picture.width) // 2, top + (size - picture.height) // 2))
        text = str(number)
        box = draw.textbbox((0, 0), text, font=font)
        width, height = box[2] - box[0], box[3] - box[1]
        draw.rectangle((left, top + size - height - 8, left + width + 8, top + size), fill=(0, 0, 0))
        draw.text((left + 4 - box[0], top + size - height - 4 - box[1]), text, fill=(255, 255, 255), font=font)
    buffer = io.BytesIO()
    canvas.save(buffer, "JPEG", quality=config["THUMBNAIL_QUALITY"])
    return buffer.getvalue()


def contact_sheet(sheet: Sheet, slices: list[Slice]) -> Image:
    cached = cache_get(sheet.key)
    if cached is None:
        cached = compose(sheet, slices)
        cache_set(sheet.key, cached, timeout=current_app.config["IMAGE_TTL"])
    return Image(cached, "image/jpeg", sheet.etag)
