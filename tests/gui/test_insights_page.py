"""The Insights page: loading state, empty state, figures that match a seeded history,
charts, the compliance report from the window, progress with Cancel, and navigation."""

import shutil
import subprocess
import threading
from datetime import date, timedelta

import pytest
from PySide6.QtWidgets import QPushButton

from tests.support.history import History
from trustpager_desktop.ui.insights_page import InsightsPage, _State
from trustpager_desktop.usecases.insights import InsightsService


@pytest.fixture
def history(services) -> History:
    return History(services.db, services.clock)


def _page(qtbot, services) -> InsightsPage:
    page = InsightsPage(InsightsService(services))
    qtbot.addWidget(page)
    return page


def _loaded_page(qtbot, services) -> InsightsPage:
    page = _page(qtbot, services)
    assert page.wait_until_loaded(10_000)  # figures and, when there are any, charts
    return page


def test_the_page_shows_loading_until_the_figures_arrive_off_the_gui_thread(qtbot, services):
    page = InsightsPage(InsightsService(services))
    qtbot.addWidget(page)
    # The constructor only asked: the figures are read on a pool thread.
    assert page.is_loading and page.insights is None
    assert page.states.currentIndex() == _State.LOADING
    assert page.loading_label.text() == "Loading insights…"
    with qtbot.waitSignal(page.loaded, timeout=10_000):
        pass
    assert page.states.currentIndex() != _State.LOADING


def test_an_empty_database_shows_the_empty_state(qtbot, services):
    page = _loaded_page(qtbot, services)
    assert page.states.currentIndex() == _State.EMPTY
    assert "No texts, replies or opt-outs in the last 12 weeks" in page.empty_label.text()


def _seed(history, services):  # type: ignore[no-untyped-def]
    """Two automations over two weeks: 3 texts, one STOP within 48 h, one reply, one failure."""
    now = services.clock.now()
    start = now - timedelta(days=9)
    reminder = history.automation("Reminder <b>bold</b>", "See you tomorrow", "Last call")
    promo = history.automation("Promo", "20% off")
    ann = history.at(start).contact("Ann", "+14155550101")
    ben = history.contact("Ben", "+14155550102")
    cat = history.contact("Cat", "+14155550103")
    history.text(reminder, 1, ann)
    history.text(promo, 1, ben)
    failed = history.text(reminder, 2, cat)
    history.delivery(failed, "undelivered", 30003)
    history.at(start + timedelta(hours=5)).reply("+14155550102", "STOP")
    history.at(start + timedelta(hours=6)).reply("+14155550101", "Thanks!")
    history.at(now - timedelta(days=1)).text(reminder, 1, cat)
    history.at(now)


def test_figures_match_the_seeded_history(qtbot, services, history):
    _seed(history, services)
    page = _loaded_page(qtbot, services)
    assert page.states.currentIndex() == _State.CONTENT
    assert page.tiles["sent"].value.text() == "4"
    assert page.tiles["opt_outs"].value.text() == "1"
    assert page.tiles["opt_outs"].note.text() == "25 % of texts sent"
    assert page.tiles["replies"].value.text() == "2"
    assert page.tiles["delivered"].value.text() == "0"  # one delivery report: tracking is on
    # Nobody in the history has an opt-in consent record (issue 15).
    assert page.tiles["consent"].value.text() == "0.0 %"
    assert page.tiles["consent"].note.text() == "0 of 3"
    rows = {}
    for i in range(page.tree.topLevelItemCount()):
        top = page.tree.topLevelItem(i)
        rows[top.text(0)] = [top.text(c) for c in range(1, 8)]
        for j in range(top.childCount()):
            child = top.child(j)
            rows[f"{top.text(0)} / {child.text(0)}"] = [child.text(c) for c in range(1, 8)]
    # Automation names are shown as typed, never as markup.
    assert rows["Reminder <b>bold</b>"][:5] == ["3", "0", "1", "0", "0.0 %"]
    assert rows["Reminder <b>bold</b>"][6] == "30003 x1"
    assert rows["Reminder <b>bold</b> / Step 2: Last call"][6] == "30003 x1"
    assert rows["Promo"][:5] == ["1", "0", "1", "1", "100 %"]  # the STOP is a reply too
    assert rows["Manual texts"][0] == "0"
    assert sum(page.sent_chart.values) == 4 and sum(page.opt_out_chart.values) == 1
    assert len(page.sent_chart.values) == 12


def test_without_delivery_reports_the_window_says_not_tracked_yet(qtbot, services, history):
    now = services.clock.now()
    reminder = history.automation("Reminder", "See you tomorrow")
    ann = history.contact("Ann", "+14155550101")
    history.at(now - timedelta(days=1)).text(reminder, 1, ann)
    history.at(now)
    page = _loaded_page(qtbot, services)
    assert page.tiles["delivered"].value.text() == "Not tracked yet"
    assert page.tree.topLevelItem(0).text(2) == "not tracked yet"


def test_changing_the_period_reloads_and_a_late_answer_is_ignored(qtbot, services, history):
    reminder = history.automation("Reminder", "See you tomorrow")
    ann = history.contact("Ann", "+14155550101")
    history.at(services.clock.now() - timedelta(weeks=10)).text(reminder, 1, ann)
    history.at(services.clock.now() + timedelta(weeks=10))
    page = _loaded_page(qtbot, services)
    assert page.tiles["sent"].value.text() == "1"
    with qtbot.waitSignal(page.loaded, timeout=10_000) as blocker:
        page.period_combo.setCurrentIndex(0)  # last 4 weeks: the text is older
        page.refresh()  # a second request at once: only the newest answer is shown
    assert blocker.args[0].total.sent == 0
    qtbot.waitUntil(lambda: not page.is_loading, timeout=10_000)
    assert page.states.currentIndex() == _State.EMPTY


@pytest.mark.parametrize("fmt", ["pdf", "csv"])
def test_compliance_report_from_the_window(qtbot, services, history, tmp_path, fmt):
    ann = history.at(services.clock.now() - timedelta(days=3)).contact("Ann", "+14155550101")
    history.staff_opt_out(ann, actor="Dana")
    history.manual_text(ann, "Your parts arrived", actor="Dana")
    page = _loaded_page(qtbot, services)
    month = services.clock.now().date().replace(day=1)
    target = tmp_path / f"report.{fmt}"
    with qtbot.waitSignal(page.report_saved, timeout=15_000):
        page.write_compliance_report(month, str(target), fmt)
    assert page.report_button.isEnabled()
    data = target.read_bytes()
    if fmt == "csv":
        assert "Manual, by Dana" in data.decode("utf-8-sig")
        return
    assert data.startswith(b"%PDF")
    if shutil.which("pdftotext") is None:
        pytest.skip("pdftotext (poppler-utils) is not installed; the PDF's text was not checked")
    text = subprocess.run(
        ["pdftotext", "-layout", str(target), "-"], capture_output=True, text=True, check=True
    ).stdout
    assert f"SMS opt-out compliance report: {month:%B %Y}" in text
    assert "Opt-outs received: 1." in text and "Manual, by Dana" in text


def test_cancelling_the_report_writes_nothing_and_says_so(qtbot, services, history, tmp_path):
    from tests.support.records import seed_log

    seed_log(services.db, services.clock, 30)
    page = _loaded_page(qtbot, services)
    target = tmp_path / "report.csv"
    with qtbot.waitSignal(page.report_failed, timeout=15_000) as blocker:
        task = page.write_compliance_report(date(2026, 11, 1), str(target), "csv")
        task.cancel()  # what the progress dialog's Cancel button does
    assert blocker.args == ["Cancelled; nothing was changed."]
    assert not target.exists() and page.report_button.isEnabled()


def test_long_jobs_show_a_progress_dialog_in_plain_words(qtbot, services):
    from trustpager_desktop.core.progress import Cancelled
    from trustpager_desktop.ui.runner import BackgroundTask, show_progress

    page = _loaded_page(qtbot, services)
    release = threading.Event()
    answers: list[bool] = []

    def work(progress):
        progress(250_000, 1_000_000)
        release.wait(5)
        answers.append(progress(250_001, 1_000_000))  # asked after Cancel was pressed
        raise Cancelled()

    task = BackgroundTask(work, page)
    dialog = show_progress(task, page, "Verifying the activity log", "entries")
    assert dialog.windowTitle() == "Verifying the activity log"
    assert dialog.maximum() == 0  # busy until the job knows its total
    with qtbot.waitSignal(task.progressed):
        task.start()
    assert dialog.labelText() == "Verifying the activity log: 250,000 of 1,000,000 entries (25 %)"
    assert (dialog.value(), dialog.maximum()) == (250_000, 1_000_000)
    dialog.findChild(QPushButton).click()
    # Cancel asks the job to stop: the progress callback the job calls now says False.
    with qtbot.waitSignal(task.failed) as failed:
        release.set()
    assert answers == [False]
    assert failed.args == ["Cancelled; nothing was changed."]
    assert not dialog.isVisible()


def test_the_window_has_an_insights_entry_and_screen(qtbot, services):
    from trustpager_desktop.ui.main_window import NAVIGATION, MainWindow

    window = MainWindow(services)
    qtbot.addWidget(window)
    row = next(i for i, (key, _label) in enumerate(NAVIGATION) if key == "insights")
    assert window.nav.item(row).text() == "Insights"
    window.nav.setCurrentRow(row)
    page = window.pages["insights"]
    assert window.stack.currentWidget() is page
    assert page.wait_until_loaded(10_000)
    window.shutdown()


def test_screenshot_of_insights_waits_for_the_charts(qtbot, services, history, tmp_path):
    from trustpager_desktop.ui.main_window import MainWindow

    _seed(history, services)
    window = MainWindow(services)
    qtbot.addWidget(window)
    window.resize(1024, 700)
    window.show_target("insights")
    window.show()
    page = window.pages["insights"]
    assert page.wait_until_loaded(10_000)
    image = window.grab().toImage()
    assert page.sent_chart.isVisible() and not image.isNull()
    window.shutdown()
