"""User-management forms of the admin pages."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from wtforms import PasswordField, SelectField, StringField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, Length, Optional

from ...access.permissions import Role
from ...web.forms import Form

ROLE_CHOICES = [
    SelectChoice(Role.VIEWER.value, _l("Viewer — browse and download")),
    SelectChoice(Role.UPLOADER.value, _l("Uploader — also upload and share")),
    SelectChoice(Role.ADMIN.value, _l("Admin — also delete, manage users and links")),
]


class NewUserForm(Form):
    username = StringField(_l("Username"), validators=[DataRequired(), Length(max=64)])
    role = SelectField(_l("Role"), choices=ROLE_CHOICES, default=Role.VIEWER.value)
    password = PasswordField(_l("Password (leave empty to generate one)"), validators=[Optional(), Length(max=200)])


class RoleForm(Form):
    role = SelectField(_l("Role"), choices=ROLE_CHOICES)


class PasswordForm(Form):
    password = PasswordField(_l("New password (leave empty to generate one)"), validators=[Optional(), Length(max=200)])
