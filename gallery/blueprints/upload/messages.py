"""The upload page script's words, in the page's language.

The script builds the report in place, so it needs the same words as the report page. They
travel in the form's `data-messages` (JSON): `{name}` marks what the script fills in, and a
pair is [one, many] for counts.
"""

from __future__ import annotations

from collections.abc import Callable

from flask_babel import get_translations
from flask_babel import gettext as _

from ...web.vocabulary import TERMS
from .ingest import NOTHING_STORED


def _counted(message: Callable[[int], str], **values: str) -> list[str]:
    """[the form for one, the form for many] (enough for English and Korean), `values` filled in."""
    return [message(n) % values for n in (1, 2)]


def script_messages() -> dict[str, object]:
    translations = get_translations()  # its ngettext does not fill `num` itself: it stays "{n}" for the script
    return {
        "outcomes": [[code, str(label)] for code, label in TERMS["outcome"].items()],  # a list keeps the order
        "files": _counted(lambda n: translations.ngettext("%(num)s file:", "%(num)s files:", n), num="{n}"),
        "unreadable": _("the browser could not read this file"),
        "waiting": _("waiting"),
        "sending": _("sending"),
        "sent": _("sent"),
        "storing": _("storing in Orthanc…"),
        "patient": _("Patient"),
        "study": _("Study"),
        "series": _("Series"),
        "image": _("Image"),
        "no_image": _("No image"),
        "no_description": _("(no description)"),
        "no_date": _("no date"),
        "no_name": _("(no name)"),
        "too_large": _("larger than the upload limit of %(limit)s; not sent", limit="{limit}"),
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
        "zip_note": _("Each file inside a ZIP counts as one file here."),
        "stopped_part_way": _(
            "The upload stopped part-way. The files marked Stored are in Orthanc; send the others again "
            "(files already in Orthanc are then reported as already stored)."
        ),
        "studies": _("Studies (%(num)s)", num="{n}"),
        "running": _("An upload is running: wait for it to finish, then send more."),
        "nothing_chosen": _("Choose at least one file, folder or ZIP archive to upload."),
        "uploading": _("Uploading…"),
        "orthanc_unavailable": str(NOTHING_STORED),
    }
