"""One running window per database on this machine.

The first start listens on a local socket (a named pipe on Windows) whose name is
derived from the database URL and the user; a second start for the same database
connects, sends "activate" with its arguments, and exits. The first window then
comes to the front. A socket left behind by a crash is removed and taken over.
"""

from __future__ import annotations

import getpass
import hashlib
import json
import logging

from PySide6.QtCore import QObject, Signal, Slot
from PySide6.QtNetwork import QLocalServer, QLocalSocket
from PySide6.QtWidgets import QWidget

log = logging.getLogger("trustpager.single_instance")

ACTIVATE = "activate"
_CONNECT_TIMEOUT_MS = 500


def instance_key(database_url: str, user: str | None = None) -> str:
    """A socket name for this database and user: same inputs, same name; short and safe."""
    if user is None:
        try:
            user = getpass.getuser()
        except (KeyError, OSError):  # no user name in a container: the home folder will do
            user = "user"
    digest = hashlib.sha256(f"{user}\0{database_url}".encode()).hexdigest()[:24]
    return f"trustpager-{digest}"


class SingleInstance(QObject):
    """Claims the socket for ``key``, or hands off to the instance that holds it.

    ``activated(argv)`` is emitted in the first instance each time another start
    hands off to it.
    """

    activated = Signal(list)

    def __init__(self, key: str, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.key = key
        self._server: QLocalServer | None = None

    @property
    def is_primary(self) -> bool:
        return self._server is not None and self._server.isListening()

    def claim(self, argv: list[str] | None = None) -> bool:
        """True if this is the first instance (now listening); False after handing off
        ``argv`` to the running one. Raises OSError if the socket can be neither
        reached nor created."""
        if self.hand_off(argv or []):
            return False
        server = QLocalServer(self)
        server.setSocketOptions(QLocalServer.SocketOption.UserAccessOption)
        if not server.listen(self.key):
            # Nobody answered, so whatever holds the name is left over from a crash.
            QLocalServer.removeServer(self.key)
            if not server.listen(self.key):
                raise OSError(f"cannot listen on local socket {self.key}: {server.errorString()}")
            log.info("took over a stale instance socket %s", self.key)
        server.newConnection.connect(self._accept)
        self._server = server
        return True

    def hand_off(self, argv: list[str]) -> bool:
        """Send "activate" and ``argv`` to a running instance; False if none answers."""
        socket = QLocalSocket()
        socket.connectToServer(self.key)
        if not socket.waitForConnected(_CONNECT_TIMEOUT_MS):
            return False
        message = json.dumps({"command": ACTIVATE, "argv": list(argv)}) + "\n"
        socket.write(message.encode())
        ok = socket.waitForBytesWritten(_CONNECT_TIMEOUT_MS)
        socket.disconnectFromServer()
        return ok

    def _accept(self) -> None:
        assert self._server is not None
        while self._server.hasPendingConnections():
            client = self._server.nextPendingConnection()
            client.setParent(self)  # outlives the server: a late message is still read
            client.readyRead.connect(self._on_ready_read)
            client.disconnected.connect(client.deleteLater)
            self._read(client)

    @Slot()
    def _on_ready_read(self) -> None:
        client = self.sender()
        if isinstance(client, QLocalSocket):
            self._read(client)

    def _read(self, socket: QLocalSocket) -> None:
        while socket.canReadLine():
            line = bytes(socket.readLine().data()).decode(errors="replace").strip()
            try:
                message = json.loads(line)
            except ValueError:
                log.warning("ignored an unreadable message on the instance socket")
                continue
            if isinstance(message, dict) and message.get("command") == ACTIVATE:
                argv = message.get("argv")
                self.activated.emit([str(a) for a in argv] if isinstance(argv, list) else [])

    def release(self) -> None:
        """Stop listening (at exit), so the next start does not find a stale socket."""
        if self._server is not None:
            self._server.close()
            self._server.deleteLater()
            self._server = None


def bring_to_front(window: QWidget) -> None:
    """Show ``window`` (even if hidden in the tray or minimised) and give it focus."""
    if window.isMinimized() or not window.isVisible():
        window.showNormal()
    window.raise_()
    window.activateWindow()
