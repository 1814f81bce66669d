"""Hostile automation JSON (issue 13 item 8): the schema, size and depth limits, template
formats and the minimum schedule interval. Each bad file is one line naming the problem
and where; nothing is imported."""

import json
import time

import pytest

from trustpager_desktop.cli import main
from trustpager_desktop.core import automation_file, automations
from trustpager_desktop.core.automations import AutomationInput, StepInput
from trustpager_desktop.core.errors import UserInputError


def _file(*items, **extra):
    return {"format": "trustpager-automations", "version": 1, "automations": list(items), **extra}


def _auto(name="Reminder", steps=None, **fields):
    default = [{"action": "send_sms", "template": "Hi"}]
    return {"name": name, "steps": default if steps is None else steps, **fields}


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (_file(_auto(enabled="no")),
         "Automation 1 ('Reminder'), enabled: must be true or false (found \"no\")"),
        (_file(_auto(enabled=0)), "Automation 1 ('Reminder'), enabled: must be true or false"),
        (_file(_auto(), _auto("Wait", [{"action": "wait", "seconds": "60"}])),
         "Automation 2 ('Wait'), step 1, seconds: must be a whole number (found \"60\")"),
        (_file(_auto(steps=[{"action": "send_sms", "template": "x" * 1601}])),
         "step 1, template: is longer than 1600 characters"),
        (_file(_auto(name="n" * 201)), "name: is longer than 200 characters"),
        (_file(_auto(steps=[{"action": "text", "template": "Hi"}])),
         "step 1, action: must be send_sms, wait or create_task"),
        (_file(_auto(colour="red")), "colour: is not a field this file format has"),
        (_file(_auto(steps=[])), "Automation 1 ('Reminder'), steps: is empty"),
        (_file(_auto(schedule={"trigger": "interval", "minutes": 1, "audience": {"all": True}})),
         "the schedule fires every 1 minute; a schedule may fire at most once every 1 hour"),
        (_file(_auto(schedule={"trigger": "cron", "minute": "*/5", "audience": {"all": True}})),
         "the schedule fires every 5 minutes"),
        (_file(_auto(schedule={"trigger": "cron", "hour": "0,23", "minute": "30,59",
                               "audience": {"all": True}})),
         "the schedule fires every 29 minutes"),  # 00:30 and 00:59, 23:30 and 23:59
        (_file(_auto(steps=[{"action": "send_sms", "template": "{first_name:>3000000000}"}])),
         "Step 1: {first_name:>3000000000} has a format; use plain fields"),
        (_file(_auto(steps=[{"action": "send_sms", "template": "{first_name!r}"}])),
         "{first_name!r} has a format"),
        ([], "not a TrustPager automations file"),
    ],
)  # fmt: skip
def test_each_bad_file_is_one_line_naming_where_and_nothing_is_imported(db, clock, data, message):
    with db.write() as s, pytest.raises(UserInputError) as caught:
        automations.import_automations(s, data, clock=clock)
    assert message.lower() in caught.value.message.lower(), caught.value.message
    assert "\n" not in caught.value.message
    with db.read() as s:
        assert automations.list_automations(s) == []


def test_a_good_file_still_imports_with_a_schedule_and_every_step_kind(db, clock):
    data = _file(
        _auto(
            "Weekly",
            [
                {"action": "send_sms", "template": "Hi {first_name}"},
                {"action": "wait", "seconds": 3600},
                {"action": "create_task", "title": "Call {full_name}"},
            ],
            enabled=False,
            schedule={"trigger": "cron", "day_of_week": "mon-fri", "hour": 9,
                      "audience": {"tag": "vip"}},
        )
    )  # fmt: skip
    with db.write() as s:
        assert automations.import_automations(s, data, clock=clock) == ["Weekly"]
        (view,) = automations.list_automations(s)
    assert view.enabled is False and view.schedule["audience"] == {"tag": "vip"}
    assert [st.summary for st in view.steps] == [
        "Send SMS: Hi {first_name}", "Wait 1 hour", "Create task: Call {full_name}"
    ]  # fmt: skip


def test_the_editor_refuses_a_formatted_field_and_a_too_frequent_schedule(db, clock):
    with db.write() as s, pytest.raises(UserInputError, match="has a format"):
        automations.create_automation(
            s, AutomationInput("A", [StepInput("send_sms", template="{company:^99999}")]),
            clock=clock,
        )  # fmt: skip
    hourly = {"trigger": "interval", "hours": 1, "audience": {"all": True}}
    with db.write() as s:  # exactly the minimum is fine
        automations.create_automation(
            s, AutomationInput("B", [StepInput("wait", wait_seconds=1)], schedule=hourly),
            clock=clock,
        )  # fmt: skip


def test_deep_nesting_is_refused_before_parsing(tmp_path):
    path = tmp_path / "deep.json"
    path.write_text("[" * 100_000 + "]" * 100_000)
    with pytest.raises(UserInputError, match=r"nested more than 8 levels deep \(line 1\)"):
        automation_file.read_file(path)


def test_brackets_inside_strings_do_not_count_as_nesting(tmp_path):
    path = tmp_path / "ok.json"
    data = _file(_auto(steps=[{"action": "send_sms", "template": '[[[[[[[[[[{{{{{{{{{\\"]]'}]))
    path.write_text(json.dumps(data))
    assert automation_file.read_file(path) == data


def test_a_53_mb_file_is_refused_by_its_size_quickly(tmp_path):
    path = tmp_path / "big.json"
    with open(path, "wb") as handle:
        handle.truncate(53 * 1024 * 1024)  # sparse: 53 MB without writing them
    began = time.perf_counter()
    with pytest.raises(UserInputError, match=r"too big for an automations file \(53.0 MB; 2 MB"):
        automation_file.read_file(path)
    assert time.perf_counter() - began < 60  # generous: it reads no byte of it


def test_the_cli_prints_one_line_and_imports_nothing(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("TRUSTPAGER_DB_URL", f"sqlite:///{tmp_path / 'a.db'}")
    path = tmp_path / "a.json"
    path.write_text(json.dumps(_file(_auto(enabled="no"))))
    assert main(["automations", "import", str(path)]) == 1
    err = capsys.readouterr().err
    assert err.startswith("trustpager: Automation 1 ('Reminder'), enabled: must be true or false")
    assert err.count("\n") == 1
    assert main(["automations", "list"]) == 0
    assert "No automations yet." in capsys.readouterr().out
