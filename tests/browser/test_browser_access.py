"""Two students at once on a classroom server (teacher passcode set), in a real browser: the
run belongs to the session that started it; the other session cannot stop or delete it until it
gives the teacher's passcode; both actions land in the audit log."""

from __future__ import annotations

import json

from browser_steps import BROWSER_MARKS, chromium, no_exception, require_chromium, settle
from conftest import make_dataset

from bench.browser import start_app, stop_app

pytestmark = BROWSER_MARKS

require_chromium()

PASSCODE = "class-of-30"


def _open_train(context, url: str):
    page = context.new_page()
    page.set_default_timeout(90_000)
    page.goto(f"{url}/train")
    page.get_by_role("heading", name="Train").first.wait_for()
    settle(page)
    return page


def _give_passcode(page, passcode: str) -> None:
    field = page.get_by_label("Passcode")
    if not field.is_visible():  # the sidebar's "Teacher" expander is closed
        page.get_by_text("Teacher", exact=True).click()
    field.fill(passcode)
    page.get_by_role("button", name="Unlock teacher mode").click()
    settle(page)


def test_two_sessions_own_their_runs_and_the_teacher_may_act(tmp_path):
    from playwright.sync_api import expect

    runs = tmp_path / "runs"
    data = make_dataset(tmp_path / "data", n=48, n_test=0)
    server, url = start_app(
        runs, env={"MASKLOC_TEACHER_PASSWORD": PASSCODE, "MASKLOC_DATA": str(data)}
    )
    try:
        with chromium() as browser:
            alice = _open_train(browser.new_context(viewport={"width": 1400, "height": 1000}), url)
            bob = _open_train(browser.new_context(viewport={"width": 1400, "height": 1000}), url)

            # Alice starts a long run (many epochs, patience as long): it trains until stopped.
            for label, value in (("Epochs", "400"), ("Patience", "100")):
                field = alice.get_by_role("spinbutton", name=label, exact=True)
                field.fill(value)
                field.press("Enter")
                settle(alice)
            alice.get_by_role("button", name="Start training").click()
            alice_stop = alice.get_by_role("button", name="Stop", exact=True)
            expect(alice_stop).to_be_enabled(timeout=120_000)

            # Bob, at the same time, sees her run but may not stop it.
            bob.get_by_role("button", name="Refresh").click()
            bob_stop = bob.get_by_role("button", name="Stop", exact=True)
            expect(bob_stop).to_be_visible(timeout=60_000)
            expect(bob_stop).to_be_disabled()

            alice_stop.click()
            alice.get_by_text("Nothing is training").wait_for(timeout=120_000)

            # Bob sees the stopped run in the list but gets no Delete; the passcode changes that.
            bob.reload()
            bob.get_by_text("Started by another session").first.wait_for()
            expect(bob.get_by_role("button", name="Delete run")).to_have_count(0)
            _give_passcode(bob, "a guess")
            bob.get_by_text("wrong passcode").wait_for()
            _give_passcode(bob, PASSCODE)
            bob.get_by_text("Teacher mode: you may stop").wait_for()
            bob.get_by_role("button", name="Delete run").click()
            bob.get_by_role("button", name="Delete for good").click()
            bob.get_by_text("No runs yet").wait_for()
            no_exception(bob)
            no_exception(alice)
    finally:
        stop_app(server)
    entries = [json.loads(line) for line in (runs / "audit.jsonl").read_text().splitlines()]
    done = [(e["action"], e["outcome"], e["teacher"]) for e in entries]
    assert ("stop", "ok", False) in done
    assert ("teacher_unlock", "wrong_passcode", False) in done
    assert ("delete", "ok", True) in done
    stopper = next(e["actor"] for e in entries if e["action"] == "stop")
    deleter = next(e["actor"] for e in entries if e["action"] == "delete")
    assert stopper != deleter and stopper.startswith("session:")
