"""The contact import dialog and the consent history report (PDF and CSV)."""

import shutil
import subprocess

import pytest

from tests.support.contacts import add_contact
from tests.support.records import opt_out, write_csv
from trustpager_desktop.core import consent
from trustpager_desktop.core.states import ConsentSource
from trustpager_desktop.pdf.consent_report import save_consent_report
from trustpager_desktop.store.models import Contact
from trustpager_desktop.ui.import_dialog import ImportContactsDialog
from trustpager_desktop.usecases.contacts import ContactsService


def test_import_dialog_previews_bad_rows_then_imports_good_rows(qtbot, services, tmp_path):
    path = write_csv(tmp_path, "name,phone,sms_opt_out\nAnn,415 555 0101,yes\nBob,12,no\n")
    dialog = ImportContactsDialog(ContactsService(services))
    qtbot.addWidget(dialog)
    with qtbot.waitSignal(dialog.preview_ready, timeout=5000):
        dialog.load_file(str(path))
    assert "Line 3: '12' is not a valid phone number" in dialog.problems.toPlainText()
    assert not dialog.import_button.isEnabled()  # all-or-nothing is the default
    assert "nothing will be imported unless" in dialog.summary.text()
    dialog.good_rows.setChecked(True)
    assert dialog.import_button.isEnabled()
    assert dialog.import_button.text() == "Import 1 contact(s)"  # the count, before confirming
    assert "1 contact(s) will be imported" in dialog.summary.text()
    assert "Opt-outs read from the column 'sms_opt_out'" in dialog.summary.text()
    with qtbot.waitSignal(dialog.imported, timeout=5000) as blocker:
        dialog.import_button.click()
    report = blocker.args[0]
    assert (report.added, report.opted_out) == (1, 1)
    assert "Imported 1 contact(s)" in dialog.summary.text()


def test_import_dialog_explains_an_unusable_file(qtbot, services, tmp_path):
    dialog = ImportContactsDialog(ContactsService(services))
    qtbot.addWidget(dialog)
    with qtbot.waitSignal(dialog.preview_ready, timeout=5000):
        dialog.load_file(str(write_csv(tmp_path, b"")))
    assert dialog.summary.text() == "This file cannot be imported: The file is empty."
    assert not dialog.import_button.isEnabled()


def _history(services, clock):
    db = services.db
    cid = add_contact(db, clock, "<b>Ann</b>", "Lee", phone="+14155550101")
    opt_out(
        db, clock, cid, source=ConsentSource.STOP_REPLY, evidence="STOP", message_sid="SMstop123"
    )
    clock.advance(days=2)
    with db.write() as s:
        consent.re_consent_contact(
            s,
            s.get(Contact, cid),
            method="verbal",
            note="Called to opt back in",
            actor="Jo",
            clock=clock,
        )
    return cid


def test_consent_report_pdf_names_the_opt_out_and_re_consent(qapp, services, clock, tmp_path):
    cid = _history(services, clock)
    path = tmp_path / "report.pdf"
    save_consent_report(services, cid, path)
    data = path.read_bytes()
    assert data.startswith(b"%PDF") and b"/Type /Page" in data
    if shutil.which("pdftotext") is None:
        pytest.skip(
            "pdftotext (poppler-utils) is not installed; only the PDF structure was checked"
        )
    text = subprocess.run(
        ["pdftotext", "-layout", str(path), "-"], capture_output=True, text=True, check=True
    ).stdout
    assert "SMS consent history: <b>Ann</b> Lee" in text  # escaped, printed literally
    for expected in (
        "Opt-out",
        "Re-consent",
        "STOP reply",
        "SMstop123",
        "Verbal",
        "Called to opt back in",
        "The activity log is intact",
    ):
        assert expected in text


def test_consent_report_csv_and_unknown_format(services, clock, tmp_path):
    cid = _history(services, clock)
    save_consent_report(services, cid, tmp_path / "h.csv", fmt="csv")
    content = (tmp_path / "h.csv").read_text(encoding="utf-8-sig")
    assert "SMstop123" in content and "Called to opt back in" in content
    with pytest.raises(consent.UserInputError):
        save_consent_report(services, cid, tmp_path / "h.doc", fmt="doc")
