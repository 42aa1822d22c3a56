"""Newsletters from email: mail sources, IMAP and local mailboxes, MIME, stories.

Each module is one step taking plain values and giving plain values: ``sources``
(the ``kind = "imap"`` tables of feeds.toml), ``imap`` (a read-only IMAP client),
``local`` (mbox, Maildir and .eml files), ``message`` (bytes -> ``MailMessage``),
``links`` (tracking redirects -> canonical URLs) and ``stories`` (``MailMessage`` ->
``Article`` records). Nothing here touches the store; ``newsintel.jobs.mail`` composes.
"""
