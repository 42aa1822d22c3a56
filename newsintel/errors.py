"""One exception tree for newsintel.

Third-party errors (httpx, duckdb, feedparser, smtplib, statsmodels) that a user can
act on are caught where they happen and re-raised as one of these, so the CLI and the
app map each to one clear, specific message instead of a traceback. Any other error is
a bug: the CLI still prints it as one line (its traceback under ``--debug``).
"""

from __future__ import annotations


class NewsintelError(Exception):
    """Base of every error newsintel raises on purpose. Its message is user-facing."""


class ConfigError(NewsintelError):
    """A setting, a config file or a command-line value is invalid."""


class StoreError(NewsintelError):
    """The database could not be opened, migrated, read or written."""


class DatabaseLockedError(StoreError):
    """Another process holds the DuckDB write lock."""


class FeedError(NewsintelError):
    """A feed could not be fetched or parsed. One feed's error never stops the others."""


class ParseError(FeedError):
    """The bytes of a feed are not a usable RSS/Atom document."""


class EmbeddingError(NewsintelError):
    """The embedding model could not be loaded or run."""


class ThemeError(NewsintelError):
    """A theme definition is invalid or a theme is unknown."""


class SeriesError(NewsintelError):
    """A price or attention series is invalid (bad CSV, dates, values) or unknown."""


class AnalysisError(NewsintelError):
    """A statistical analysis cannot be run on the given data."""


class DigestError(NewsintelError):
    """A digest could not be built, rendered or sent."""


class MailError(DigestError):
    """The SMTP server refused, dropped or timed out a message."""


class MailboxError(FeedError):
    """A mailbox (IMAP server, mbox, Maildir, .eml) could not be read.

    One failing mailbox never stops the feeds or the other mailboxes.
    """


class MessageError(MailboxError):
    """One email could not be used (malformed MIME, too large); the others go on."""


class BackfillError(NewsintelError):
    """A backfill cannot run: an unreadable import file, a bad option, an unknown source."""


class GkgFileError(BackfillError):
    """One GDELT GKG file cannot be used; ``status`` names why (see migration 009).

    The backfill records it per file and goes on; it never stops the run.
    """

    def __init__(self, status: str, message: str) -> None:
        super().__init__(message)
        self.status = status
