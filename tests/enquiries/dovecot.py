"""A throwaway Dovecot IMAP server on loopback (Debian's dovecot-imapd, installed by `make
test`): its own config, passwd file and Maildirs under a temporary folder, plaintext logins
allowed (loopback only), on a free port. Used by the intake tests and the intake benchmark."""

from __future__ import annotations

import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

PASSWORD = "secret"
DOVECOT = shutil.which("dovecot") or "/usr/sbin/dovecot"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass
class ImapServer:
    host: str
    port: int
    folder: Path
    process: subprocess.Popen

    password: str = "secret"  # every user's (the passdb is static)

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=10)
        shutil.rmtree(self.folder, ignore_errors=True)

    def log(self) -> str:
        path = self.folder / "dovecot.log"
        return path.read_text(errors="replace") if path.exists() else ""


def _config(folder: Path, port: int) -> str:
    if os.geteuid() == 0:
        # Dovecot refuses to run its login and mail processes as root: its own users.
        internal, login = "dovecot", "dovenull"
        mail = pwd.getpwnam("dovecot")
    else:
        internal = login = pwd.getpwuid(os.geteuid()).pw_name
        mail = pwd.getpwuid(os.geteuid())
    return f"""
base_dir = {folder}/run
state_dir = {folder}/state
log_path = {folder}/dovecot.log
protocols = imap
listen = 127.0.0.1
ssl = no
disable_plaintext_auth = no
auth_mechanisms = plain login
default_internal_user = {internal}
default_internal_group = {internal_group(internal)}
default_login_user = {login}
first_valid_uid = 0
first_valid_gid = 0
mail_location = maildir:{folder}/mail/%u
# Any user name logs in with the one password: each test takes a fresh user (a fresh Maildir).
passdb {{
  driver = static
  args = password={PASSWORD}
}}
userdb {{
  driver = static
  args = uid={mail.pw_uid} gid={mail.pw_gid} home={folder}/home/%u
}}
service imap-login {{
  chroot =
  inet_listener imap {{
    address = 127.0.0.1
    port = {port}
  }}
  inet_listener imaps {{
    port = 0
  }}
}}
service anvil {{
  chroot =
}}
service imap {{
  process_limit = 64
}}
"""


def internal_group(user: str) -> str:
    import grp

    return grp.getgrgid(pwd.getpwnam(user).pw_gid).gr_name


def start(prefix: str = "salesline-dovecot-") -> ImapServer:
    """Start Dovecot in the foreground (`-F`, a child of this process) and wait for it."""
    if not Path(DOVECOT).exists():
        raise RuntimeError("Dovecot is not installed: run `make imap-server` (dovecot-imapd).")
    folder = Path(tempfile.mkdtemp(prefix=prefix))
    folder.chmod(0o755)  # the login and mail processes run as other users when we are root
    for sub in ("mail", "home"):
        (folder / sub).mkdir()
    if os.geteuid() == 0:
        mail = pwd.getpwnam("dovecot")
        for sub in ("mail", "home"):
            os.chown(folder / sub, mail.pw_uid, mail.pw_gid)
    last_error = ""
    for _ in range(5):
        port = free_port()
        (folder / "dovecot.conf").write_text(_config(folder, port))
        process = subprocess.Popen(  # noqa: S603 - our own config, a fixed binary
            [DOVECOT, "-F", "-c", str(folder / "dovecot.conf")],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )
        server = ImapServer("127.0.0.1", port, folder, process)
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            if process.poll() is not None:
                last_error = (
                    process.stderr.read().decode(errors="replace") if process.stderr else ""
                )
                break
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=1) as sock:
                    if sock.recv(64).startswith(b"* OK"):
                        return server
            except OSError:
                time.sleep(0.1)
        if process.poll() is None:
            process.terminate()
            process.wait(timeout=10)
        last_error = last_error or server.log()
    shutil.rmtree(folder, ignore_errors=True)
    raise RuntimeError(f"Dovecot did not start: {last_error}")
