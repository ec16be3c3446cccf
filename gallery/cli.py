"""Flask CLI commands: `flask --app wsgi demo-data`."""

from __future__ import annotations

import click
from flask.cli import with_appcontext

from .demo import load_demo_data
from .extensions import catalog, orthanc


@click.command("demo-data")
@with_appcontext
def demo_data_command() -> None:
    """Upload demo DICOM (pydicom's test files and a generated MR volume) to Orthanc."""
    counts = load_demo_data(orthanc())
    catalog().invalidate()
    click.echo(
        f"Demo data: {counts['Success']} stored, {counts['AlreadyStored']} already stored, "
        f"{counts['rejected']} rejected by Orthanc (pydicom ships some deliberately broken files)."
    )
