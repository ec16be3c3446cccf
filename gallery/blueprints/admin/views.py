"""Administration: users, the audit log, and deleting patients, studies and series."""

from __future__ import annotations

from flask import Response, abort, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from ...access.audit import events, record
from ...access.permissions import Permission, requires
from ...access.users import AccountError, all_users, create_user, generate_password, remove_user, set_password, set_role
from ...archive.index.status import current_status
from ...extensions import db
from ...imaging.failures import forget, listing
from ...store.models import User
from ...web.forms import ConfirmForm
from ...web.params import int_arg, page_arg, text_arg
from ...web.responses import respond
from ...web.vocabulary import role_name
from . import bp
from .deletion import delete_resource, describe
from .forms import NewUserForm, PasswordForm, RoleForm


def _user_or_404(user_id: int) -> User:
    user = db.session.get(User, user_id)
    if user is None:
        abort(404, _("There is no such user."))
    return user


@bp.route("/admin/users", methods=["GET", "POST"])
@requires(Permission.ADMIN)
def users() -> Response | tuple[str, int]:
    form = NewUserForm()
    status = 200
    if form.validate_on_submit():
        password = form.password.data or generate_password()
        try:
            user = create_user(form.username.data, password, form.role.data)
        except AccountError as error:
            form.username.errors.append(str(error))
            status = 400
        else:
            record("user_add", detail=f"{user.username} as {user.role}")
            if form.password.data:
                flash(_("Created %(user)s (%(role)s).", user=user.username, role=role_name(user.role)), "success")
            else:
                message = _(
                    "Created %(user)s (%(role)s). Their password is %(password)s — it is shown only now.",
                    user=user.username,
                    role=role_name(user.role),
                    password=password,
                )
                flash(message, "success")
            return redirect(url_for("admin.users"))
    elif request.method == "POST":
        status = 400
    return render_template(
        "admin/users.html",
        form=form,
        users=all_users(),
        role_form=RoleForm(),
        password_form=PasswordForm(),
        confirm=ConfirmForm(),
    ), status


def _apply(user: User, action, *args, message: str, audit: str) -> Response:
    try:
        action(user, *args)
    except AccountError as error:
        flash(str(error), "error")
    else:
        record(audit, detail=user.username)
        flash(message, "success")
    return redirect(url_for("admin.users"))


@bp.post("/admin/users/<int:user_id>/role")
@requires(Permission.ADMIN)
def change_role(user_id: int) -> Response:
    user, form = _user_or_404(user_id), RoleForm()
    if not form.validate_on_submit():
        abort(400, _("Choose one of the roles offered."))
    return _apply(
        user,
        set_role,
        form.role.data,
        message=_("%(user)s is now %(role)s.", user=user.username, role=role_name(form.role.data)),
        audit="user_role",
    )


@bp.post("/admin/users/<int:user_id>/password")
@requires(Permission.ADMIN)
def reset_password(user_id: int) -> Response:
    user, form = _user_or_404(user_id), PasswordForm()
    if not form.validate_on_submit():
        abort(400, _("The new password was not accepted."))
    password = form.password.data or generate_password()
    if form.password.data:
        message = _("New password set for %(user)s.", user=user.username)
    else:
        message = _(
            "New password set for %(user)s. It is %(password)s — shown only now.", user=user.username, password=password
        )
    return _apply(user, set_password, password, message=message, audit="user_password")


@bp.post("/admin/users/<int:user_id>/delete")
@requires(Permission.ADMIN)
def remove(user_id: int) -> Response:
    user = _user_or_404(user_id)
    if user.id == current_user.id:
        flash(_("You cannot remove your own account."), "error")
        return redirect(url_for("admin.users"))
    return _apply(user, remove_user, message=_("Removed %(user)s.", user=user.username), audit="user_remove")


@bp.get("/admin/audit")
@requires(Permission.ADMIN)
def audit_log() -> str:
    actor, action = text_arg("actor"), text_arg("action")
    page = events(page_arg(), current_app.config["PAGE_SIZE"], actor=actor, action=action)
    return render_template("admin/audit.html", events=page, actor=actor, action=action)


@bp.get("/admin/images")
@requires(Permission.ADMIN)
def render_failures() -> Response:
    """Images Orthanc failed on (crashed, or answered that it cannot render), as recorded."""
    return respond("admin/render_failures.html", failures=listing(), _confirm=ConfirmForm())


@bp.post("/admin/images/<oid:instance_id>/clear")
@requires(Permission.ADMIN)
def clear_render_failure(instance_id: str) -> Response:
    """Ask Orthanc for this image again (e.g. after an upgrade that fixes the crash)."""
    frame = int_arg("frame", 0, minimum=0, maximum=1_000_000)
    if not ConfirmForm().validate_on_submit():
        abort(400, _("The form had expired; please try again."))
    if forget(instance_id, frame):
        record("image_clear", "instance", instance_id, detail=f"frame {frame}")
        flash(_("Orthanc will be asked for this image again."), "success")
    else:
        flash(_("That image was not on the list."), "error")
    return redirect(url_for("admin.render_failures"))


def _delete(level: str, resource_id: str) -> Response | str:
    target = describe(level, resource_id)
    form = ConfirmForm()
    if form.validate_on_submit():
        parent_url = delete_resource(target)
        record("delete", level, resource_id, detail=f"{target.counts}")
        flash(_("Deleted: %(what)s.", what=target.title), "success")
        return redirect(parent_url)
    return render_template("admin/delete.html", target=target, form=form)


@bp.route("/patients/<oid:patient_id>/delete", methods=["GET", "POST"])
@requires(Permission.ADMIN)
def delete_patient(patient_id: str) -> Response | str:
    return _delete("patient", patient_id)


@bp.route("/studies/<oid:study_id>/delete", methods=["GET", "POST"])
@requires(Permission.ADMIN)
def delete_study(study_id: str) -> Response | str:
    return _delete("study", study_id)


@bp.route("/series/<oid:series_id>/delete", methods=["GET", "POST"])
@requires(Permission.ADMIN)
def delete_series(series_id: str) -> Response | str:
    return _delete("series", series_id)


@bp.get("/admin/index")
@requires(Permission.ADMIN)
def index_state() -> Response:
    """The archive index's sync: phase, counts, rate, lag, last error (JSON twin for monitoring)."""
    return respond("admin/index.html", index=current_status())
