"""``slate report ...``: documents for the production (payables: ``report uses``)."""

from __future__ import annotations

import click


@click.group("report")
def report_group() -> None:
    """Documents for the production: use events for payroll and royalties (uses)."""


commands = [report_group]
