"""The log file: rotating, in the log folder, and never holding a secret."""

from __future__ import annotations

import logging
import traceback

import pytest

from trustpager_desktop import logging_setup
from trustpager_desktop.logging_setup import (
    LOG_FILE_NAME,
    register_secret,
    scrub,
    setup_logging,
    shutdown_logging,
)

TOKEN = "not-hex-but-secret-7Hq2Lx9Vt4"  # registered: hidden wherever it appears
HEX_TOKEN = "0f1e2d3c4b5a69788796a5b4c3d2e1f0"  # unregistered: hidden after "token"/"auth"
SID = "AC" + "0123456789abcdef" * 2  # an Account SID is not a secret and must stay readable


@pytest.fixture(autouse=True)
def _fresh_secret_registry(monkeypatch):
    """Secrets registered by other tests (e.g. the first-run assistant) must not count here."""
    monkeypatch.setattr(logging_setup, "_secrets", set())


@pytest.fixture
def log_file(tmp_path, monkeypatch):
    monkeypatch.setenv("TWILIO_AUTH_TOKEN", "env-token-Zz81mmQ")
    path = setup_logging(log_dir=tmp_path / "logs")
    register_secret(TOKEN)
    yield path
    shutdown_logging()


def read(path) -> str:
    for handler in logging.getLogger().handlers:
        handler.flush()
    return path.read_text(encoding="utf-8")


def test_log_goes_to_a_rotating_file_in_the_folder_given(log_file, tmp_path):
    logging.getLogger("trustpager.test").info("hello %s", "there")
    assert log_file == tmp_path / "logs" / LOG_FILE_NAME
    assert "INFO trustpager.test: hello there" in read(log_file)
    handler = next(h for h in logging.getLogger().handlers if hasattr(h, "maxBytes"))
    assert handler.maxBytes > 0 and handler.backupCount > 0


def test_no_token_in_the_file_whatever_path_it_takes(log_file):
    log = logging.getLogger("trustpager.twilio")
    log.warning("token in the message: " + TOKEN)
    log.warning("token in the args: %s / %r", TOKEN, {"password": TOKEN})
    try:
        raise RuntimeError(f"401 for https://{SID}:{TOKEN}@api.twilio.com/2010-04-01")
    except RuntimeError:
        log.exception("token in the exception text")
    try:
        raise ValueError("bad credentials " + TOKEN)
    except ValueError as exc:
        log.error("exc_info as a tuple", exc_info=(type(exc), exc, exc.__traceback__))
    log.warning("stack", stack_info=True, extra={"x": TOKEN})
    logging.getLogger("urllib3").warning("auth_token=%s", HEX_TOKEN)
    logging.getLogger("twilio.http_client").warning("Authorization password: %s", HEX_TOKEN)
    logging.getLogger().warning("url postgresql://owner:pg-Secret-99@db.local/trustpager")
    logging.getLogger("agent").warning("from the environment: env-token-Zz81mmQ")
    text = read(log_file)
    for secret in (TOKEN, HEX_TOKEN, "pg-Secret-99", "env-token-Zz81mmQ"):
        assert secret not in text
    # The lines are still there and still useful.
    assert text.count("[hidden]") >= 8
    assert "RuntimeError: 401 for https://" in text
    assert "Traceback (most recent call last)" in text
    assert SID in text
    assert "postgresql://owner:[hidden]@db.local/trustpager" in text


def test_a_console_handler_from_basic_config_is_scrubbed_too(log_file, capsys):
    stream = logging.StreamHandler()
    logging.getLogger().addHandler(stream)
    try:
        setup_logging(log_dir=log_file.parent)  # idempotent; adds scrubbers where missing
        logging.getLogger("x").warning("leak? %s", TOKEN)
    finally:
        logging.getLogger().removeHandler(stream)
    err = capsys.readouterr().err
    assert "leak? [hidden]" in err and TOKEN not in err
    assert read(log_file).count("leak?") == 1  # no second file handler


def test_scrub_keeps_message_sids_and_ordinary_hex():
    line = f"sent SM{HEX_TOKEN} for {SID}; color #{HEX_TOKEN[:6]}"
    assert scrub(line) == line
    assert scrub(f"AuthToken: {HEX_TOKEN}") == "AuthToken: [hidden]"
    assert scrub(f'"auth_token": "{HEX_TOKEN}"') == '"auth_token": "[hidden]"'


def test_short_values_are_not_registered_as_secrets():
    register_secret("abc")
    register_secret("")
    register_secret(None)
    assert scrub("abc def") == "abc def"


def test_an_unwritable_log_folder_does_not_stop_the_app(tmp_path, capsys):
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    try:
        setup_logging(log_dir=blocker / "logs")
    finally:
        shutdown_logging()
    assert "cannot write the log" in capsys.readouterr().err


def test_traceback_module_text_is_scrubbed_as_a_whole():
    text = "".join(traceback.format_exception(ValueError(f"token={HEX_TOKEN}")))
    assert HEX_TOKEN not in scrub(text)


def test_the_log_and_every_rotation_are_owner_only(tmp_path):
    import os
    import stat

    folder = tmp_path / "logs"
    folder.mkdir()
    old = folder / (LOG_FILE_NAME + ".3")  # left readable by an earlier version
    old.write_text("+14155550101 opted out\n")
    old.chmod(0o644)
    previous = os.umask(0o022)  # the usual umask, which would make new files 0644
    try:
        path = setup_logging(log_dir=folder)
        handler = next(h for h in logging.getLogger().handlers if hasattr(h, "maxBytes"))
        handler.maxBytes = 200
        for n in range(30):
            logging.getLogger("trustpager.test").warning("line %d for +1415555%04d", n, n)
    finally:
        os.umask(previous)
        shutdown_logging()
    files = sorted(folder.glob(LOG_FILE_NAME + "*"))
    assert path in files and len(files) >= 3  # rotated at least twice
    assert {stat.S_IMODE(f.stat().st_mode) for f in files} == {0o600}
    assert stat.S_IMODE(folder.stat().st_mode) == 0o700
