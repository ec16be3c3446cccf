"""Share-link forms."""

from __future__ import annotations

from flask import current_app
from wtforms import BooleanField, PasswordField, SelectField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import Length, Optional

from ..forms import Form


class ShareForm(Form):
    expires_in = SelectField("Link expires after", coerce=int)
    allow_download = BooleanField("Allow downloading the images and DICOM files")
    password = PasswordField(
        "Password (optional, tell it to the recipient separately)", validators=[Optional(), Length(min=6, max=200)]
    )

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        config = current_app.config
        self.expires_in.choices = [SelectChoice(seconds, label) for label, seconds in config["SHARE_EXPIRY_CHOICES"]]
        if self.expires_in.data is None:
            self.expires_in.data = config["SHARE_DEFAULT_EXPIRY"]


class OpenShareForm(Form):
    password = PasswordField("Password", validators=[Optional(), Length(max=200)])
