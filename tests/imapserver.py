"""A real Dovecot IMAP server on loopback for the mail tests (pytest plugin).

Configured from scratch under a temporary folder: a passwd-file, Maildirs, a
throwaway self-signed certificate (openssl) for IMAPS and STARTTLS, high ports, run in
the foreground (``dovecot -F -c CONF``) without systemd. Dovecot comes from Debian's
``dovecot-imapd`` (``make test`` installs it); without it the tests are skipped with
that reason, except on CI (``CI=true``), where a missing server is a failure.
"""

from __future__ import annotations

import imaplib
import os
import pwd
import shutil
import socket
import ssl
import subprocess
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

PASSWORD = "s3cret-imap"
USER = "reader"


@dataclass(frozen=True)
class ImapServer:
    """A running Dovecot: its ports, the CA file to trust, and a login."""

    host: str
    imaps_port: int
    imap_port: int
    ca_file: Path
    user: str
    password: str
    root: Path

    def client(self) -> imaplib.IMAP4_SSL:
        """A logged-in admin-side client (the test's mail delivery and inspection)."""
        context = ssl.create_default_context(cafile=str(self.ca_file))
        imap = imaplib.IMAP4_SSL(self.host, self.imaps_port, ssl_context=context, timeout=10)
        imap.login(self.user, self.password)
        return imap

    def deliver(self, folder: str, *messages: bytes) -> None:
        """APPEND messages to ``folder`` (created when missing), as a mail server would."""
        imap = self.client()
        try:
            imap.create(f'"{folder}"')  # NO when it exists: fine
            for message in messages:
                status, detail = imap.append(f'"{folder}"', "", None, message)
                assert status == "OK", detail
        finally:
            imap.logout()

    def recreate(self, folder: str, *messages: bytes) -> None:
        """Delete and recreate ``folder``: the server gives it a new UIDVALIDITY."""
        imap = self.client()
        try:
            imap.delete(f'"{folder}"')
        finally:
            imap.logout()
        self.deliver(folder, *messages)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _certificate(folder: Path) -> tuple[Path, Path]:
    cert, key = folder / "cert.pem", folder / "key.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
         "-keyout", str(key), "-out", str(cert), "-subj", "/CN=127.0.0.1",
         "-addext", "subjectAltName=IP:127.0.0.1,DNS:localhost"],
        check=True, capture_output=True, timeout=60,
    )  # fmt: skip
    return cert, key


def _config(root: Path, cert: Path, key: Path, imap_port: int, imaps_port: int) -> Path:
    uid, gid = os.getuid(), os.getgid()
    # As root, Dovecot drops to its own users (and refuses mail as UID 0, so the mail
    # user is its "dovecot" user); as anyone else everything runs as that user.
    internal = "dovecot" if uid == 0 else pwd.getpwuid(uid).pw_name
    login = "dovenull" if uid == 0 else internal
    if uid == 0:
        uid, gid = pwd.getpwnam("dovecot").pw_uid, pwd.getpwnam("dovecot").pw_gid
    home = root / "home" / USER
    home.mkdir(parents=True)
    os.chown(home, uid, gid)
    (root / "passwd").write_text(f"{USER}:{{PLAIN}}{PASSWORD}:{uid}:{gid}::{root}/home/{USER}\n")
    conf = root / "dovecot.conf"
    conf.write_text(
        f"""
base_dir = {root}/run
state_dir = {root}/state
log_path = {root}/dovecot.log
protocols = imap
listen = 127.0.0.1
default_internal_user = {internal}
default_login_user = {login}
first_valid_uid = 0
first_valid_gid = 0
ssl = yes
ssl_cert = <{cert}
ssl_key = <{key}
disable_plaintext_auth = no
auth_mechanisms = plain login
auth_failure_delay = 0
# No growing delay after the failed logins the tests make on purpose (auth penalty).
login_trusted_networks = 127.0.0.0/8
passdb {{
  driver = passwd-file
  args = scheme=PLAIN username_format=%u {root}/passwd
}}
userdb {{
  driver = passwd-file
  args = username_format=%u {root}/passwd
}}
mail_location = maildir:~/Maildir
service imap-login {{
  inet_listener imap {{
    port = {imap_port}
  }}
  inet_listener imaps {{
    port = {imaps_port}
    ssl = yes
  }}
}}
service anvil {{
  chroot =
}}
service imap-login {{
  chroot =
}}
"""
    )
    return conf


def _wait_for(port: int, process: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"dovecot exited: {log.read_text() if log.exists() else ''}")
        with socket.socket() as sock:
            if sock.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.05)
    raise RuntimeError("dovecot did not start listening within 20 s")


@pytest.fixture(scope="module")
def imap_server() -> Iterator[ImapServer]:
    """A Dovecot server for the module's tests (each test uses its own folders)."""
    dovecot = shutil.which("dovecot") or (
        "/usr/sbin/dovecot" if Path("/usr/sbin/dovecot").exists() else None
    )
    if dovecot is None or shutil.which("openssl") is None:
        reason = (
            "dovecot (Debian dovecot-imapd) or openssl not installed; `make test` installs them"
        )
        if os.environ.get("CI") == "true":
            pytest.fail(reason)
        pytest.skip(reason)
    # Its own folder rather than pytest's: the server outlives single tests, and a
    # pytest run beside this one may prune old basetemp folders while it still runs.
    root = Path(tempfile.mkdtemp(prefix="newsintel-dovecot-"))
    if os.getuid() == 0:
        # Dovecot's own users must reach the folders under the (0700) pytest temp dir.
        for parent in [root, *root.parents]:
            if parent == Path("/tmp") or parent == Path("/"):
                break
            parent.chmod(parent.stat().st_mode | 0o711)
    cert, key = _certificate(root)
    imap_port, imaps_port = _free_port(), _free_port()
    conf = _config(root, cert, key, imap_port, imaps_port)
    process = subprocess.Popen([dovecot, "-F", "-c", str(conf)], stderr=subprocess.PIPE)
    try:
        _wait_for(imaps_port, process, root / "dovecot.log")
        yield ImapServer("127.0.0.1", imaps_port, imap_port, cert, USER, PASSWORD, root)
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        shutil.rmtree(root, ignore_errors=True)
