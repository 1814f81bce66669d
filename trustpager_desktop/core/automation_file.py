"""The automations JSON file: its schema, and reading a file someone else wrote.

A file from ``automations export`` (or a hostile one) is checked in this order,
each step cheap enough to run before the next:

1. size: at most MAX_FILE_BYTES, read from the file system before reading it;
2. text: UTF-8;
3. nesting: at most MAX_DEPTH levels of ``[`` / ``{``, counted by a linear scan
   before the JSON parser (which recurses) sees it;
4. the schema (pydantic, strict types): ``"enabled": "no"`` is not a boolean, a
   template or name has a length limit, a step's ``action`` picks its fields,
   unknown keys are refused;
5. the rules the editor applies too (``automations.validate``): template fields,
   message length, a schedule's trigger, audience and minimum interval.

Any failure is one ``UserInputError`` line naming the problem and where it is
("Automation 2 ('Reminder'), step 1, template: ..."); nothing is imported.
"""

from __future__ import annotations

import json
import os
import re
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from trustpager_desktop.core.errors import UserInputError
from trustpager_desktop.core.segments import MAX_BODY_CHARACTERS
from trustpager_desktop.core.settings import DEFAULT_PURPOSE
from trustpager_desktop.store.models import PURPOSE_MAX, TITLE_MAX

FORMAT = "trustpager-automations"
VERSION = 1
MAX_FILE_BYTES = 2 * 1024 * 1024
MAX_DEPTH = 8  # the format itself needs 5: file, list, automation, schedule, audience
MAX_AUTOMATIONS = 500
MAX_STEPS = 50
NAME_MAX = 200
MAX_WAIT_SECONDS = 366 * 86_400

_STRICT = ConfigDict(strict=True, extra="forbid")
CronValue = int | Annotated[str, Field(max_length=100)]


class SendSmsStep(BaseModel):
    model_config = _STRICT
    action: Literal["send_sms"]
    template: Annotated[str, Field(min_length=1, max_length=MAX_BODY_CHARACTERS)]


class WaitStep(BaseModel):
    model_config = _STRICT
    action: Literal["wait"]
    seconds: Annotated[int, Field(ge=0, le=MAX_WAIT_SECONDS)]


class TaskStep(BaseModel):
    model_config = _STRICT
    action: Literal["create_task"]
    title: Annotated[str, Field(min_length=1, max_length=TITLE_MAX)]


Step = Annotated[SendSmsStep | WaitStep | TaskStep, Field(discriminator="action")]


class AudienceJson(BaseModel):
    model_config = _STRICT
    tag: Annotated[str, Field(max_length=100)] | None = None
    stage: Annotated[str, Field(max_length=100)] | None = None
    all: bool | None = None
    everyone: bool | None = None


class ScheduleJson(BaseModel):
    """``core.schedules``: cron fields or interval fields, and who to enrol."""

    model_config = _STRICT
    trigger: Literal["cron", "interval"]
    audience: AudienceJson
    year: CronValue | None = None
    month: CronValue | None = None
    day: CronValue | None = None
    week: CronValue | None = None
    day_of_week: CronValue | None = None
    hour: CronValue | None = None
    minute: CronValue | None = None
    second: CronValue | None = None
    weeks: Annotated[int, Field(ge=0, le=520)] | None = None
    days: Annotated[int, Field(ge=0, le=3660)] | None = None
    hours: Annotated[int, Field(ge=0, le=87_840)] | None = None
    minutes: Annotated[int, Field(ge=0, le=5_270_400)] | None = None


class AutomationJson(BaseModel):
    model_config = _STRICT
    name: Annotated[str, Field(min_length=1, max_length=NAME_MAX)]
    enabled: bool = True
    # The SMS purpose it serves (one of the business's, see Settings); files written
    # before purposes existed serve Marketing.
    purpose: Annotated[str, Field(min_length=1, max_length=PURPOSE_MAX)] = DEFAULT_PURPOSE
    schedule: ScheduleJson | None = None
    steps: Annotated[list[Step], Field(min_length=1, max_length=MAX_STEPS)]


class AutomationsFile(BaseModel):
    model_config = _STRICT
    format: Literal["trustpager-automations"]
    version: Literal[1]
    automations: Annotated[list[AutomationJson], Field(max_length=MAX_AUTOMATIONS)]


# --- reading the file ---------------------------------------------------------------------


def read_file(path: str | os.PathLike[str]) -> Any:
    """The parsed JSON of an automations file, after the size, text and depth checks.

    Raises UserInputError (one line) for a file too big, not UTF-8, nested too deep or
    not JSON; OSError when it cannot be read."""
    size = os.path.getsize(path)
    name = Path(path).name
    if size > MAX_FILE_BYTES:
        raise UserInputError(
            f"{name} is too big for an automations file ({size / 1024 / 1024:.1f} MB; "
            f"{MAX_FILE_BYTES // (1024 * 1024)} MB at most); nothing was imported."
        )
    try:
        text = Path(path).read_bytes().decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise UserInputError(f"{name} is not UTF-8 text (byte {exc.start}).") from exc
    check_depth(text, name)
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise UserInputError(
            f"{name} is not valid JSON: {exc.msg} (line {exc.lineno}, column {exc.colno})."
        ) from exc


_STRUCTURE = re.compile(r'"(?:[^"\\]|\\.)*"|[\[\]{}]')


def check_depth(text: str, name: str = "The file") -> None:
    """Refuse JSON nested deeper than MAX_DEPTH, counting brackets outside strings."""
    depth = 0
    for match in _STRUCTURE.finditer(text):
        token = match.group()
        if token in "[{":
            depth += 1
            if depth > MAX_DEPTH:
                line = text.count("\n", 0, match.start()) + 1
                raise UserInputError(
                    f"{name} is nested more than {MAX_DEPTH} levels deep (line {line}); "
                    "an automations file never is. Nothing was imported."
                )
        elif token in "]}":
            depth -= 1


# --- the schema -----------------------------------------------------------------------------


def parse(data: Any) -> AutomationsFile:
    """Check ``data`` (parsed JSON) against the schema; UserInputError names the first problem."""
    if not isinstance(data, dict) or data.get("format") != FORMAT:
        raise UserInputError("This is not a TrustPager automations file.")
    if data.get("version") != VERSION:
        raise UserInputError(
            f"This automations file has version {data.get('version')!r}; "
            f"this TrustPager reads version {VERSION}."
        )
    try:
        return AutomationsFile.model_validate(data)
    except ValidationError as exc:
        raise UserInputError(describe_error(exc, data)) from exc


def describe_error(exc: ValidationError, data: Any) -> str:
    """The first schema error as one line: where ("Automation 2 ('Reminder'), step 1,
    template"), what ("is longer than 1600 characters"), and that nothing was imported."""
    error = exc.errors(include_url=False)[0]
    where = _where(error["loc"], data)
    if error["type"] in ("union_tag_invalid", "union_tag_not_found"):
        where += ", action"
    value = error.get("input")
    shown = ""
    if error["type"] not in ("missing",) and isinstance(value, str | int | float | bool):
        text = json.dumps(value)
        shown = f" (found {text[:40]}{'…' if len(text) > 40 else ''})"
    return f"{where}: {_plain_message(dict(error))}{shown}. Nothing was imported."


def _where(loc: tuple[Any, ...], data: Any) -> str:
    parts: list[str] = []
    items = list(loc)
    if items[:1] == ["automations"] and len(items) > 1 and isinstance(items[1], int):
        index = items[1]
        name = _name_at(data, index)
        parts.append(f"Automation {index + 1}" + (f" ('{name}')" if name else ""))
        items = items[2:]
    while items:
        head = items.pop(0)
        if head == "steps" and items and isinstance(items[0], int):
            parts.append(f"step {items.pop(0) + 1}")
            if items and str(items[0]) in ("send_sms", "wait", "create_task"):
                items.pop(0)  # the discriminator's branch name adds nothing for a reader
        else:
            parts.append(str(head))
    return ", ".join(parts) or "The file"


def _name_at(data: Any, index: int) -> str:
    try:
        name = data["automations"][index]["name"]
    except (KeyError, IndexError, TypeError):
        return ""
    return name[:40] if isinstance(name, str) else ""


_MESSAGES = {
    "bool_type": "must be true or false",
    "int_type": "must be a whole number",
    "string_type": "must be text",
    "list_type": "must be a list",
    "model_type": "must be an object",
    "dict_type": "must be an object",
    "extra_forbidden": "is not a field this file format has",
    "missing": "is missing",
    "union_tag_invalid": "must be send_sms, wait or create_task",
}


def _plain_message(error: dict[str, Any]) -> str:
    kind = error["type"]
    if kind in _MESSAGES:
        return _MESSAGES[kind]
    context = error.get("ctx") or {}
    message = str(error["msg"])
    if kind == "string_too_long":
        return f"is longer than {context.get('max_length')} characters"
    if kind in ("string_too_short", "too_short"):
        return "is empty"
    if kind == "too_long":
        return f"has more than {context.get('max_length')} items"
    if kind in ("greater_than_equal", "less_than_equal"):
        return "is out of range (" + message.lower().replace("input should be ", "") + ")"
    return message[0].lower() + message[1:]
