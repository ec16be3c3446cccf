"""Share-link forms."""

from __future__ import annotations

from flask import current_app
from flask_babel import lazy_gettext as _l
from flask_babel import ngettext
from wtforms import BooleanField, PasswordField, SelectField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import Length, Optional

from ...web.forms import Form


class ShareForm(Form):
    expires_in = SelectField(_l("Link expires after"), coerce=int)
    allow_download = BooleanField(_l("Allow downloading the images and DICOM files"))
    password = PasswordField(
        _l("Password (optional, tell it to the recipient separately)"), validators=[Optional(), Length(min=6, max=200)]
    )
    deidentify = BooleanField(
        _l("De-identify: show patients as “Case 1”, “Case 2”, shift dates, remove identifying tags")
    )
    include_burned_in = BooleanField(_l("Include series marked as having burned-in text (I have checked their pixels)"))

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        config = current_app.config
        self.expires_in.choices = [
            SelectChoice(seconds, duration(seconds)) for _label, seconds in config["SHARE_EXPIRY_CHOICES"]
        ]
        if self.expires_in.data is None:
            self.expires_in.data = config["SHARE_DEFAULT_EXPIRY"]


def duration(seconds: int) -> str:
    """ "7 days", "1 hour" in the current language (the config's English labels are for its readers)."""
    if seconds % 86400 == 0:
        return ngettext("%(num)s day", "%(num)s days", seconds // 86400)
    return ngettext("%(num)s hour", "%(num)s hours", max(1, seconds // 3600))


class OpenShareForm(Form):
    password = PasswordField(_l("Password"), validators=[Optional(), Length(max=200)])
