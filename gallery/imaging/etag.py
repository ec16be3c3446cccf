"""Strong ETags of the images the gallery draws: a hash of the image's cache key.

A key names everything that shapes the bytes (resource, frame, size, format, window,
and the version of the drawing code), so equal keys mean equal images and the ETag can
be answered with a 304 before any Orthanc call. Bump a version when its drawing code
changes the bytes a key produces, so that browsers and caches fetch the new image.
"""

from __future__ import annotations

import hashlib

#: Frames rendered by Orthanc (render.py: thumbnails, previews, stack slices).
RENDERED_VERSION = 1
#: Planes cut out of a volume and windowed here (reformat.py).
REFORMAT_VERSION = 1
#: Contact sheets of a series (mosaic.py).
MOSAIC_VERSION = 1


def etag_of(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()[:32]
