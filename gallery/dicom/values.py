"""Small, pure helpers that turn DICOM values into what people read."""

from __future__ import annotations

import math
import re
import unicodedata
from dataclasses import dataclass
from datetime import date
from typing import Any

#: Modalities whose objects carry no pixel data Orthanc can render.
NON_IMAGE_MODALITIES = frozenset(
    {"SR", "PR", "KO", "DOC", "RTPLAN", "RTSTRUCT", "RTRECORD", "REG", "ECG", "AU", "HD", "FID", "PLAN"}
)


def is_viewable(modality: str | None, instance_count: int) -> bool:
    """Whether the gallery offers images of a series (thumbnail, viewer, contact sheet, image exports).

    The one rule for every level, judged only on what Orthanc's series JSON carries
    (Modality, instances): that is all a study page or the list index holds for each
    of its series without one more Orthanc call per series, so the series page, its
    instances and the viewer judge on the same evidence and never disagree with the
    study page. A series of image modality whose files lack pixel data gets placeholders.
    """
    return instance_count > 0 and (modality or "").strip().upper() not in NON_IMAGE_MODALITIES


def parse_dicom_date(value: str) -> date | None:
    """`YYYYMMDD` (DA), ISO `YYYY-MM-DD` or ACR-NEMA `YYYY.MM.DD`; None for anything else."""
    digits = (value or "").strip().replace("-", "").replace(".", "")
    if len(digits) != 8 or not digits.isdigit() or len((value or "").strip()) not in (8, 10):
        return None
    try:
        return date(int(digits[:4]), int(digits[4:6]), int(digits[6:]))
    except ValueError:
        return None


def format_date(value: str | None) -> str:
    """DICOM DA `YYYYMMDD` → ISO `YYYY-MM-DD` when it is a real date; anything else is returned trimmed."""
    value = (value or "").strip()
    parsed = parse_dicom_date(value) if len(value) == 8 else None
    return parsed.isoformat() if parsed else value


def format_time(value: str | None) -> str:
    """DICOM TM `HHMMSS.frac` → `HH:MM`; anything else is returned trimmed."""
    value = (value or "").strip()
    if len(value) >= 4 and value[:4].isdigit() and int(value[:2]) < 24 and int(value[2:4]) < 60:
        return f"{value[:2]}:{value[2:4]}"
    return value


class PersonName(str):
    """A name in a locale-neutral reading form (sorted, searched, sent as JSON) that keeps its DICOM PN.

    Templates show it per locale from `.dicom` (formatting.person_name); the list index,
    shared by visitors of every language, only ever holds this neutral form.
    """

    dicom: str

    def __new__(cls, text: str, dicom: str) -> PersonName:
        name = super().__new__(cls, text)
        name.dicom = dicom
        return name

    def __reduce__(self) -> tuple:
        return (PersonName, (str(self), self.dicom))


class Message(str):
    """A user-visible message from pure code: its English text, plus what the web layer needs to translate it.

    Pure modules cannot call Flask-Babel; they build Messages (aliased `_l`/`_ln` there, so
    `make messages` still extracts them) and web/vocabulary.translated shows them in the page's language.
    """

    message: str
    plural: str | None
    num: int | None
    values: dict[str, Any]

    def __new__(cls, message: str, plural: str | None = None, num: int | None = None, **values: Any) -> Message:
        chosen = plural if plural is not None and num != 1 else message
        variables = {"num": num, **values} if plural is not None else values
        text = super().__new__(cls, chosen % variables if variables else chosen)
        text.message, text.plural, text.num, text.values = message, plural, num, values
        return text

    def __reduce__(self) -> tuple:
        return (_message, (self.message, self.plural, self.num, self.values))


def _message(message: str, plural: str | None, num: int | None, values: dict[str, Any]) -> Message:
    return Message(message, plural, num, **values)


def format_name(value: str | None) -> PersonName:
    """DICOM PN `Family^Given^Middle^Prefix^Suffix` → `Family, Given Middle`.

    Only the first (alphabetic) component group is shown; ideographic and
    phonetic groups after `=` are kept as a suffix in parentheses.
    """
    raw = (value or "").strip()
    return PersonName(_neutral_name(raw), raw)


def _neutral_name(value: str) -> str:
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


#: Scripts written family name first, without a space: Hangul, Han, kana.
CJK = re.compile("[\u1100-\u11ff\u3040-\u30ff\u3130-\u318f\u3400-\u4dbf\u4e00-\u9fff\uac00-\ud7a3\uf900-\ufaff]")
HANGUL = re.compile("[\u1100-\u11ff\u3130-\u318f\uac00-\ud7a3]")


@dataclass(frozen=True, slots=True)
class NameGroup:
    """One `=`-separated component group of a DICOM PN: Family^Given^Middle^Prefix^Suffix."""

    family: str = ""
    given: str = ""
    middle: str = ""
    prefix: str = ""
    suffix: str = ""

    @classmethod
    def parse(cls, text: str) -> NameGroup:
        parts = [p.strip() for p in text.split("^")][:5]
        return cls(*parts)

    @property
    def cjk(self) -> bool:
        return bool(CJK.search(self.family + self.given + self.middle))

    def text(self, family_first: bool) -> str:
        """Hangul/Han names read family first with no space ("홍길동"); Latin names per `family_first`."""
        if self.cjk:
            core = [self.family + self.given + self.middle]
        elif family_first:
            core = [self.family, self.given, self.middle]
        else:
            core = [self.given, self.middle, self.family]
        return " ".join(p for p in (self.prefix, *core, self.suffix) if p)


def name_groups(raw: str) -> tuple[NameGroup, NameGroup, NameGroup]:
    """(alphabetic, ideographic, phonetic) groups of a DICOM PN; missing groups are empty."""
    groups = [NameGroup.parse(g) for g in (raw or "").strip().split("=")[:3]]
    while len(groups) < 3:
        groups.append(NameGroup())
    return groups[0], groups[1], groups[2]
