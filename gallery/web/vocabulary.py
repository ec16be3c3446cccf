"""Words the gallery stores as codes (roles, levels, outcomes, planes…), translated when shown.

Codes stay in URLs, JSON and the database; only their labels follow the interface language.
"""

from __future__ import annotations

from flask_babel import gettext, ngettext
from flask_babel import lazy_gettext as _l

from ..archive.levels import Level
from ..dicom.values import Message

TERMS = {
    "role": {"viewer": _l("viewer"), "uploader": _l("uploader"), "admin": _l("admin")},
    "level": {**{level.value: level.label for level in Level}, "album": _l("album")},
    "sex": {"M": _l("male"), "F": _l("female"), "O": _l("other")},
    "orientation": {
        "axial": _l("axial"),
        "coronal": _l("coronal"),
        "sagittal": _l("sagittal"),
        "oblique": _l("oblique"),
    },
    "order": {
        "upload order": _l("by upload order"),
        "position in the volume": _l("by position in the volume"),
        "instance number": _l("by instance number"),
    },
    "plane": {"axial": _l("Axial"), "coronal": _l("Coronal"), "sagittal": _l("Sagittal")},
    "outcome": {
        "stored": _l("Stored"),
        "already_stored": _l("Already stored"),
        "rejected": _l("Rejected"),
        "skipped": _l("Skipped"),
    },
    "action": {
        "view": _l("view"),
        "download": _l("download"),
        "upload": _l("upload"),
        "delete": _l("delete"),
        "share": _l("share"),
        "share_open": _l("share opened"),
        "revoke": _l("revoke"),
        "login": _l("sign-in"),
        "login_failed": _l("failed sign-in"),
        "logout": _l("sign-out"),
        "user_add": _l("user added"),
        "user_role": _l("role changed"),
        "user_password": _l("password reset"),
        "user_remove": _l("user removed"),
        "image_clear": _l("failed image cleared"),
    },
    "index_phase": {
        "initial": _l("initial sync"),
        "current": _l("current"),
        "behind": _l("behind"),
        "stopped": _l("stopped"),
    },
    "modality": {
        "CT": _l("Computed tomography"),
        "MR": _l("Magnetic resonance"),
        "US": _l("Ultrasound"),
        "CR": _l("Computed radiography"),
        "DX": _l("Digital radiography"),
        "MG": _l("Mammography"),
        "NM": _l("Nuclear medicine"),
        "PT": _l("PET"),
        "XA": _l("X-ray angiography"),
        "RF": _l("Radio fluoroscopy"),
        "OT": _l("Other"),
        "SC": _l("Secondary capture"),
        "SR": _l("Structured report"),
        "SEG": _l("Segmentation"),
        "RTSTRUCT": _l("RT structure set"),
        "RTPLAN": _l("RT plan"),
        "RTDOSE": _l("RT dose"),
        "RTIMAGE": _l("RT image"),
        "DOC": _l("Document"),
        "ECG": _l("Electrocardiogram"),
    },
}


def term(value: object, kind: str) -> str:
    """The label of code `value` among `kind` in the current language; unknown codes as they are."""
    label = TERMS[kind].get(str(value or ""))
    return str(label) if label is not None else str(value or "")


def role_name(value: str) -> str:
    return term(value, "role")


def translated(value: object) -> object:
    """A Message of the pure layers (dicom/) in the current language; anything else as it is."""
    if not isinstance(value, Message):
        return value
    if value.plural is not None:
        return ngettext(value.message, value.plural, value.num, **value.values)
    return gettext(value.message, **value.values)
