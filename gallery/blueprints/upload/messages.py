"""The upload page script's words, in the page's language.

The server renders the report's markup (gallery/upload/report.py); the script only writes progress,
the running numbers and the reasons for files the server never saw. These travel in the form's
`data-messages` (JSON): `{name}` marks what the script fills in, and a pair is [one, many] for
counts; the pairs share their messages with the report page's macros, so both read the same.
"""

from __future__ import annotations

from collections.abc import Callable

from flask import current_app
from flask_babel import get_translations
from flask_babel import gettext as _

from ...web.formatting import file_size
from .ingest import NOTHING_STORED


def _counted(message: Callable[[int], str], **values: str) -> list[str]:
    """[the form for one, the form for many] (enough for English and Korean), `values` filled in."""
    return [message(n) % values for n in (1, 2)]


def script_messages() -> dict[str, object]:
    translations = get_translations()  # its ngettext does not fill `num` itself: it stays "{n}" for the script
    limit = file_size(current_app.config["MAX_CONTENT_LENGTH"])
    return {
        "files": _counted(
            lambda n: translations.ngettext("<strong>%(num)s</strong> file:", "<strong>%(num)s</strong> files:", n),
            num="{n}",
        ),
        "unreadable": _("the browser could not read this file"),
        "sending": _("sending"),
        "sent": _("sent"),
        "storing": _("storing in Orthanc…"),
        "too_large": _("larger than the upload limit of %(limit)s; not sent", limit=limit),
        "server_answered": _("the server answered %(status)s", status="{status}"),
        "connection_lost": _("the connection to the gallery was lost"),
        "not_stored": _("not stored: %(reason)s", reason="{reason}"),
        "maybe_stored": _(
            "may not have been stored: %(reason)s; try again (a file already stored is then reported as such)",
            reason="{reason}",
        ),
        "stopped_after_error": _("not sent: the upload stopped after an earlier error (%(reason)s)", reason="{reason}"),
        "no_report": _("the server did not report on this file; send it again"),
        "progress": _counted(
            lambda n: translations.ngettext(
                "%(done)s of %(num)s chosen file done · %(sent)s of %(size)s",
                "%(done)s of %(num)s chosen files done · %(sent)s of %(size)s",
                n,
            ),
            num="{total}",
            done="{done}",
            sent="{sent}",
            size="{size}",
        ),
        "upload_stopped": _("Upload stopped"),
        "upload_finished": _("Upload finished"),
        "you_sent": _counted(
            lambda n: translations.ngettext("You sent %(num)s file.", "You sent %(num)s files.", n), num="{n}"
        ),
        "archives": _counted(
            lambda n: translations.ngettext(
                "%(num)s of them was a ZIP archive: each file inside a ZIP counts as one file here.",
                "%(num)s of them were ZIP archives: each file inside a ZIP counts as one file here.",
                n,
            ),
            num="{n}",
        ),
        "studies": _("Studies (%(num)s)", num="{n}"),
        "running": _("An upload is running: wait for it to finish, then send more."),
        "nothing_chosen": _("Choose at least one file, folder or ZIP archive to upload."),
        "uploading": _("Uploading…"),
        "orthanc_unavailable": str(NOTHING_STORED),
    }
