"""Album forms and the parsing of a selection of studies or patients (checkboxes, no JavaScript)."""

from __future__ import annotations

from flask import abort, request
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from wtforms import StringField, TextAreaField
from wtforms.validators import DataRequired, Length, Optional

from ...access.albums import DESCRIPTION_LENGTH, NAME_LENGTH
from ...orthanc.errors import is_orthanc_id
from ...web.forms import Form

#: More than a page of checkboxes is not a selection someone made by hand.
MAX_SELECTION = 500


class AlbumForm(Form):
    name = StringField(_l("Name"), validators=[DataRequired(), Length(max=NAME_LENGTH)])
    description = TextAreaField(_l("Description"), validators=[Optional(), Length(max=DESCRIPTION_LENGTH)])


def selected_ids(field: str) -> list[str]:
    """The Orthanc IDs ticked in a form's `field` checkboxes; 400 on anything that is not one."""
    values = request.form.getlist(field)
    if len(values) > MAX_SELECTION:
        abort(400, _("Select at most %(num)s at once.", num=MAX_SELECTION))
    bad = next((v for v in values if not is_orthanc_id(v)), None)
    if bad is not None:
        abort(400, _("'%(value)s' is not an Orthanc ID.", value=bad[:60]))
    return list(dict.fromkeys(values))


def album_field() -> int:
    """The album chosen in an "add to album" form; 400 when missing or not a number."""
    value = request.form.get("album", "")
    if not value.isdigit() or len(value) > 12:
        abort(400, _("Choose an album."))
    return int(value)
