"""Sign-in and user-management forms."""

from __future__ import annotations

from wtforms import HiddenField, PasswordField, SelectField, StringField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, Length, Optional

from ..forms import Form
from .models import Role

ROLE_CHOICES = [
    SelectChoice(Role.VIEWER.value, "Viewer — browse and download"),
    SelectChoice(Role.UPLOADER.value, "Uploader — also upload and share"),
    SelectChoice(Role.ADMIN.value, "Admin — also delete, manage users and links"),
]


class LoginForm(Form):
    username = StringField("Username", validators=[DataRequired(), Length(max=64)])
    password = PasswordField("Password", validators=[DataRequired(), Length(max=200)])
    next = HiddenField()


class NewUserForm(Form):
    username = StringField("Username", validators=[DataRequired(), Length(max=64)])
    role = SelectField("Role", choices=ROLE_CHOICES, default=Role.VIEWER.value)
    password = PasswordField("Password (leave empty to generate one)", validators=[Optional(), Length(max=200)])


class RoleForm(Form):
    role = SelectField("Role", choices=ROLE_CHOICES)


class PasswordForm(Form):
    password = PasswordField("New password (leave empty to generate one)", validators=[Optional(), Length(max=200)])
