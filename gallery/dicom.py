"""Small, pure helpers that turn DICOM values into what people read."""

from __future__ import annotations

import math
import unicodedata
from typing import Any

#: Modalities whose objects carry no pixel data Orthanc can render.
NON_IMAGE_MODALITIES = frozenset(
    {"SR", "PR", "KO", "DOC", "RTPLAN", "RTSTRUCT", "RTRECORD", "REG", "ECG", "AU", "HD", "FID", "PLAN"}
)

MODALITY_NAMES = {
    "CT": "Computed tomography",
    "MR": "Magnetic resonance",
    "US": "Ultrasound",
    "CR": "Computed radiography",
    "DX": "Digital radiography",
    "MG": "Mammography",
    "NM": "Nuclear medicine",
    "PT": "PET",
    "XA": "X-ray angiography",
    "RF": "Radio fluoroscopy",
    "OT": "Other",
    "SC": "Secondary capture",
    "SR": "Structured report",
    "SEG": "Segmentation",
    "RTSTRUCT": "RT structure set",
    "RTPLAN": "RT plan",
    "RTDOSE": "RT dose",
    "RTIMAGE": "RT image",
    "DOC": "Document",
    "ECG": "Electrocardiogram",
}


def format_date(value: str | None) -> str:
    """DICOM DA `YYYYMMDD` → ISO `YYYY-MM-DD`; anything else is returned trimmed."""
    value = (value or "").strip()
    if len(value) == 8 and value.isdigit():
        return f"{value[:4]}-{value[4:6]}-{value[6:]}"
    return value


def format_time(value: str | None) -> str:
    """DICOM TM `HHMMSS.frac` → `HH:MM`."""
    value = (value or "").strip()
    if len(value) >= 4 and value[:4].isdigit():
        return f"{value[:2]}:{value[2:4]}"
    return ""


def format_name(value: str | None) -> str:
    """DICOM PN `Family^Given^Middle^Prefix^Suffix` → `Family, Given Middle`.

    Only the first (alphabetic) component group is shown; ideographic and
    phonetic groups after `=` are kept as a suffix in parentheses.
    """
    value = (value or "").strip()
    if not value:
        return ""
    groups = value.split("=")
    parts = [p.strip() for p in groups[0].split("^")]
    family, given = (parts + ["", ""])[:2]
    rest = " ".join(p for p in parts[2:4] if p)
    name = family
    if given or rest:
        name = f"{family}, {' '.join(p for p in (given, rest) if p)}" if family else f"{given} {rest}".strip()
    others = [g.replace("^", " ").strip() for g in groups[1:] if g.strip("^ ")]
    if others:
        name = f"{name} ({' / '.join(others)})" if name else " / ".join(others)
    return name


def fold(text: str) -> str:
    """Case- and accent-insensitive form used for searching ("José" ≈ "jose")."""
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    stripped = "".join(c for c in decomposed if not unicodedata.combining(c))
    return unicodedata.normalize("NFC", stripped)


def parse_numbers(value: object) -> list[float]:
    """`"0.5\\0.5"` or `["0.5", "0.5"]` → `[0.5, 0.5]`; unparsable parts are dropped."""
    if value is None:
        return []
    items = value if isinstance(value, list) else str(value).split("\\")
    numbers = []
    for item in items:
        try:
            number = float(item)
        except (TypeError, ValueError):
            continue
        if math.isfinite(number):
            numbers.append(number)
    return numbers


def tag_value(tags: dict[str, Any], key: str) -> str:
    """The trimmed string value of `key` ("0028,0030") in Orthanc's `/tags` JSON, or ''."""
    entry = tags.get(key)
    value = entry.get("Value") if isinstance(entry, dict) else None
    return value.strip() if isinstance(value, str) else ""


def tag_int(tags: dict[str, Any], key: str) -> int | None:
    """The first number of `key` in Orthanc's `/tags` JSON as an int ("512" → 512), or None."""
    numbers = parse_numbers(tag_value(tags, key))
    return int(numbers[0]) if numbers else None


def orientation_label(iop: list[float]) -> str:
    """Axial / coronal / sagittal / oblique from ImageOrientationPatient (6 numbers)."""
    if len(iop) != 6:
        return ""
    row, col = iop[:3], iop[3:]
    normal = [
        row[1] * col[2] - row[2] * col[1],
        row[2] * col[0] - row[0] * col[2],
        row[0] * col[1] - row[1] * col[0],
    ]
    length = math.sqrt(sum(n * n for n in normal))
    if length < 1e-6:
        return ""
    axis = max(range(3), key=lambda i: abs(normal[i]))
    if abs(normal[axis]) / length < 0.9:
        return "oblique"
    return ("sagittal", "coronal", "axial")[axis]


def human_size(size: int) -> str:
    value = float(size)
    for unit in ("B", "KB", "MB", "GB"):
        if value < 1024:
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    return f"{value:.1f} TB"
