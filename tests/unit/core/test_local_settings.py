"""This desktop's own name, kept on this computer (issue 15 item 3): saved whole and
private, read back, a damaged file falls back to the default, a bad name changes nothing."""

from __future__ import annotations

import stat

import pytest

from trustpager_desktop.core import local_settings
from trustpager_desktop.core.errors import UserInputError
from trustpager_desktop.core.local_settings import LocalSettings


def test_a_saved_name_reads_back_from_a_file_only_its_owner_can_read(tmp_path):
    path = local_settings.save(LocalSettings("Maria", name_asked=True), tmp_path / "desktop.json")
    assert local_settings.load(path) == LocalSettings("Maria", name_asked=True)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert local_settings.acting_name(local_settings.load(path)) == "Maria"


def test_no_name_or_a_damaged_file_means_login_on_host(tmp_path):
    path = tmp_path / "desktop.json"
    assert local_settings.acting_name(local_settings.load(path)) == local_settings.default_name()
    path.write_text("{not json", encoding="utf-8")
    assert local_settings.load(path) == LocalSettings()
    assert " on " in local_settings.default_name()


@pytest.mark.parametrize("bad", ["Inbox", "automation", "Ma\x07ria", "x" * 101])
def test_a_name_that_cannot_be_used_is_refused_and_the_file_stays(tmp_path, bad):
    path = local_settings.save(LocalSettings("Maria"), tmp_path / "desktop.json")
    with pytest.raises(UserInputError):
        local_settings.save(LocalSettings(bad), path)
    assert local_settings.load(path).user_name == "Maria"
