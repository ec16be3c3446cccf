"""The upload form: files (several at once) and a whole folder, in two inputs of one form."""

from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import MultipleFileField

from .sources import Upload


class UploadForm(FlaskForm):
    class Meta:
        # gallery.web.guards checks the CSRF token of every POST already, and exempts
        # scripts that send an Authorization header; a second check here would refuse them.
        csrf = False

    files = MultipleFileField("DICOM files or ZIP archives")
    folder = MultipleFileField("A folder of DICOM files", render_kw={"webkitdirectory": True})

    def uploads(self) -> list[Upload]:
        """Every file chosen in either input, in order; empty inputs send a nameless part, dropped here."""
        chosen = [(f, False) for f in self.files.data or []] + [(f, True) for f in self.folder.data or []]
        chosen = [(f, in_folder) for f, in_folder in chosen if f and f.filename]
        return [Upload.of(i, f.filename, f.stream, in_folder) for i, (f, in_folder) in enumerate(chosen)]
