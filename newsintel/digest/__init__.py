"""The digest step: content records -> rendered email -> SMTP.

``content`` holds the plain records, ``render`` builds the email, ``chart`` draws its
PNG, ``send`` delivers it. Importing this package does not import matplotlib.
"""

from __future__ import annotations

from newsintel.digest.chart import render_chart_png
from newsintel.digest.content import (
    ChartSeries,
    DigestContent,
    Finding,
    PriceMove,
    StoryLink,
    ThemeMove,
    default_title,
)
from newsintel.digest.render import filter_for_recipient, render_digest, write_dry_run
from newsintel.digest.send import Mailer, SmtpMailer

__all__ = [
    "ChartSeries",
    "DigestContent",
    "Finding",
    "Mailer",
    "PriceMove",
    "SmtpMailer",
    "StoryLink",
    "ThemeMove",
    "default_title",
    "filter_for_recipient",
    "render_chart_png",
    "render_digest",
    "write_dry_run",
]
