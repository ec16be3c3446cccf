"""Case- and accent-insensitive search over many rows, at C speed.

Each row has a key: its searchable texts, folded (`dicom.fold`) and joined by
newlines. `KeyIndex` joins all keys into one text and lets `str.find` or one
regular expression run over it, so a search of 10,000 patients costs a fraction
of a millisecond instead of a Python loop over every row.
"""

from __future__ import annotations

import re
from bisect import bisect_right
from collections.abc import Callable, Iterable

from ..dicom.values import fold, name_groups


def wildcard_pattern(folded: str) -> str | None:
    """A regex for one whole text part when `folded` has DICOM wildcards (`*`, `?`), else None."""
    if "*" not in folded and "?" not in folded:
        return None
    return "".join("[^\n]*" if c == "*" else "[^\n]" if c == "?" else re.escape(c) for c in folded)


def wildcard_matcher(query: str) -> Callable[[str], bool]:
    """Match one key as DICOM users expect.

    Without `*`/`?` the query matches anywhere ("smi" finds "SMITH^JOHN");
    with them it must match a whole part ("smi*" means "starts with smi").
    """
    folded = fold(query.strip())
    pattern = wildcard_pattern(folded)
    if pattern is None:
        return lambda key: folded in key
    compiled = re.compile(pattern)
    return lambda key: any(compiled.fullmatch(part) for part in key.split("\n"))


def name_variants(name: str) -> tuple[str, ...]:
    """ "Smith, John" is also found as "Smith^John" (DICOM) and "John Smith".

    A name that keeps its DICOM PN (`dicom.PersonName`) is also found by each `=` group:
    "홍길동", "홍 길동", "길동 홍", "Hong^Gildong" and "Gildong Hong" for `Hong^Gildong=洪^吉洞=홍^길동`.
    """
    variants = [name]
    if ", " in name:
        family, given = name.split(", ", 1)
        variants += [f"{family}^{given}", f"{given} {family}"]
    for group in name_groups(getattr(name, "dicom", "")):
        if group.family and group.given:
            f, g = group.family, group.given
            variants += [f"{f}^{g}", f"{f} {g}", f"{g} {f}", f"{f}{g}"]
    return tuple(variants)


class KeyIndex:
    """The positions of the rows whose key matches a query, in row order."""

    def __init__(self, keys: list[str]) -> None:
        self.keys = keys
        self.text = "\n".join(keys)
        self.starts: list[int] = []
        offset = 0
        for key in keys:
            self.starts.append(offset)
            offset += len(key) + 1

    def matching(self, query: str) -> list[int]:
        folded = fold(query.strip())
        if not folded:
            return list(range(len(self.keys)))
        if "\n" in folded:  # could span two rows of the joined text: ask each row
            matches = wildcard_matcher(query)
            return [i for i, key in enumerate(self.keys) if matches(key)]
        pattern = wildcard_pattern(folded)
        if pattern is None:
            return self._containing(folded)
        lines = re.finditer(f"^(?:{pattern})$", self.text, re.MULTILINE)
        return self._rows_at(m.start() for m in lines)

    def _row(self, position: int) -> int:
        return bisect_right(self.starts, position) - 1

    def _containing(self, needle: str) -> list[int]:
        """Rows containing `needle`: find it, note its row, search again from the next row."""
        rows: list[int] = []
        position = self.text.find(needle)
        while position >= 0:
            rows.append(row := self._row(position))
            if row + 1 == len(self.starts):
                break
            position = self.text.find(needle, self.starts[row + 1])
        return rows

    def _rows_at(self, positions: Iterable[int]) -> list[int]:
        rows: list[int] = []
        for position in positions:
            row = self._row(position)
            if not rows or rows[-1] != row:
                rows.append(row)
        return rows
