"""The forms a name is found by: each variant is one line of the index's search text (archive/index/writer.py)."""

from __future__ import annotations

from ..dicom.values import name_groups


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
