"""One instance per database: a second start hands off to the first and exits."""

from __future__ import annotations

import os
import socket
import uuid
from pathlib import Path

import pytest
from PySide6.QtCore import QDir
from PySide6.QtWidgets import QMainWindow

from trustpager_desktop.ui.single_instance import SingleInstance, bring_to_front, instance_key


def unique_key() -> str:
    return instance_key(f"sqlite:////tmp/{uuid.uuid4().hex}.db", user="test")


def test_keys_differ_per_database_and_user_and_are_stable():
    a = instance_key("sqlite:////data/a.db", user="ann")
    assert a == instance_key("sqlite:////data/a.db", user="ann")
    assert a != instance_key("sqlite:////data/b.db", user="ann")
    assert a != instance_key("sqlite:////data/a.db", user="bob")
    assert a.startswith("trustpager-") and len(a) < 64


def test_second_start_hands_off_to_the_first(qtbot):
    key = unique_key()
    first, second = SingleInstance(key), SingleInstance(key)
    try:
        assert first.claim(["--db", "x"]) is True
        with qtbot.waitSignal(first.activated, timeout=3000) as activation:
            assert second.claim(["--db", "x", "--show", "contacts"]) is False
        assert activation.args == [["--db", "x", "--show", "contacts"]]
        assert not second.is_primary
    finally:
        first.release()


def test_different_databases_run_side_by_side():
    first, other = SingleInstance(unique_key()), SingleInstance(unique_key())
    try:
        assert first.claim() is True
        assert other.claim() is True
    finally:
        first.release()
        other.release()


@pytest.mark.skipif(os.name != "posix", reason="stale socket files exist only on POSIX")
def test_a_stale_socket_left_by_a_crash_is_taken_over():
    key = unique_key()
    # A crash leaves the socket file behind with nobody listening on it.
    path = Path(QDir.tempPath()) / key
    leftover = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    leftover.bind(str(path))
    leftover.close()
    assert path.exists()
    fresh = SingleInstance(key)
    try:
        assert fresh.claim() is True
        assert fresh.is_primary
    finally:
        fresh.release()


def test_released_instance_lets_the_next_start_become_first():
    key = unique_key()
    first = SingleInstance(key)
    assert first.claim()
    first.release()
    again = SingleInstance(key)
    try:
        assert again.claim() is True
    finally:
        again.release()


def test_activation_brings_a_hidden_window_to_the_front(qtbot):
    window = QMainWindow()
    qtbot.addWidget(window)
    window.hide()
    bring_to_front(window)
    assert window.isVisible()
