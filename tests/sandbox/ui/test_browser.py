"""The sandbox page in a real headless Chromium: one incident from the event to its close,
all six steps worked from the page — the composer, the board's buttons, the drafts'
buttons and the modals — as three people of the sandbox workspace.

Needs Debian's chromium (tests/browser.py).
Set OOR_SCREENSHOT_PATH (e.g. docs/sandbox.png) to also save the README screenshot there.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.browser import chromium_page
from tests.sandbox.ui.conftest import Sandbox

ALICE, BOB, CAROL = "U01ALICE", "U02BOB", "U03CAROL"


@pytest.fixture
def page() -> Iterator[Any]:
    with chromium_page(viewport={"width": 1280, "height": 900}) as opened:
        yield opened


def test_an_incident_worked_from_the_browser(sandbox: Sandbox, page: Any, tmp_path: Path) -> None:
    from playwright.sync_api import Page, expect

    assert isinstance(page, Page)
    page.set_default_timeout(10_000)
    page.goto(f"{sandbox.url}/sandbox")
    expect(page.get_by_role("heading", name="Fire an OOR event")).to_be_visible()
    board = page.locator("article.msg.pinned")
    dialog = page.locator("dialog#modal")
    status = page.locator("#composer-status")

    def act_as(user_id: str) -> None:
        page.locator("#user").select_option(user_id)

    def command(text: str) -> None:
        page.locator("#command").fill(text)
        page.locator("#command").press("Enter")
        expect(page.locator("#command")).to_have_value("")  # the bot took it

    def message(text: str) -> Any:
        return page.locator("article.msg:not(.ephemeral)", has_text=text)

    # A payment monitor's event, from the form: the bot opens a channel for it.
    form = page.locator("#fire")
    form.get_by_label("Title", exact=True).fill("Alipay channel blocked")
    form.get_by_label("Amount", exact=True).fill("1234.50")
    form.get_by_role("button", name="Fire event").click()
    expect(page.locator("#fire-status")).to_contain_text("OOR-1 opened")
    incident = page.locator("#channels a.chan.incident", has_text="oor-1-")
    expect(incident).to_be_visible()
    incident.click()
    expect(page.locator("#channel-header h1")).to_contain_text("oor-1-payment-failure")
    expect(board).to_contain_text("Handling steps")

    # 1. Rapid response, from the composer, as alice: her private reply shows twice, in
    # the channel marked "only visible to you" and under the composer.
    act_as(ALICE)
    command("/oor ack")
    expect(board).to_contain_text("1. Rapid response 快速响应 — done by @alice")
    expect(page.locator("article.msg.ephemeral").last).to_contain_text("You have OOR-1")
    expect(status).to_contain_text("You have OOR-1")

    # 2. Record, through the board's button and its form.
    board.get_by_role("button", name="Record").click()
    expect(dialog.locator(".modal-title")).to_contain_text("Record the problem")
    dialog.get_by_label("Affected transactions").fill("120")
    dialog.get_by_role("button", name="Save").click()
    expect(dialog).to_be_hidden()
    expect(board).to_contain_text("2. Record the problem 记录问题 — done by @alice")
    expect(board).to_contain_text("Affected transactions")

    # 3. Investigate, as bob.
    act_as(BOB)
    command("/oor investigate Alipay returns CHANNEL_BLOCKED")
    expect(message("finding: Alipay returns CHANNEL_BLOCKED")).to_be_visible()
    command("/oor investigate --done")
    expect(board).to_contain_text("3. Investigate 排查问题 — done by @bob")

    # 4. Resolve, through the board's button; an empty form is sent back with the field's
    # error, as Slack shows it.
    board.get_by_role("button", name="Resolve").click()
    expect(dialog.locator(".modal-title")).to_contain_text("Resolve OOR-1")
    dialog.get_by_role("button", name="Resolve").click()
    expect(dialog.locator(".field-error")).to_contain_text("Say what fixed it.")
    dialog.get_by_label("What fixed it?").fill("Switched Alipay traffic to the backup acquirer")
    dialog.get_by_label("Cause").select_option("partner")
    dialog.get_by_role("button", name="Resolve").click()
    expect(dialog).to_be_hidden()
    expect(board).to_contain_text("4. Resolve 解决问题 — done by @bob")
    expect(board).to_contain_text("Switched Alipay traffic to the backup acquirer")

    # 5. Notify: carol drafts; the plan wants a second person to approve, so her own
    # Approve is refused in a reply only she sees; she edits one draft in its form.
    act_as(CAROL)
    board.get_by_role("button", name="Notify").click()
    sms_zh = message("SMS 短信 · 中文 zh-CN")
    sms_en = message("SMS 短信 · English en")
    status_en = message("Status page 状态页 · English en")
    # Six drafts reach the channel at Slack's per-channel posting rate (about one a second
    # after a short burst), so the fourth one may need longer than expect's 5 s default.
    expect(sms_zh).to_contain_text("【某某支付】", timeout=30_000)
    sms_zh.get_by_role("button", name="Approve").click()
    expect(status).to_contain_text("requires a second person to approve")
    sms_en.get_by_role("button", name="Edit").click()
    expect(dialog.locator(".modal-title")).to_contain_text("Edit notification")
    dialog.get_by_label("Message").fill("Alipay payments work again. Please retry. Call 95000.")
    dialog.get_by_role("button", name="Save").click()
    expect(dialog).to_be_hidden()
    expect(sms_en).to_contain_text("Alipay payments work again. Please retry.")
    # alice discards one draft and approves the others: step 5 is done.
    act_as(ALICE)
    status_en.get_by_role("button", name="Discard").click()
    expect(status_en).to_contain_text("Discarded by @alice")
    drafts = page.locator("article.msg:not(.ephemeral)", has_text="Drafted by @carol")
    expect(drafts).to_have_count(6)
    for index in range(6):
        draft = drafts.nth(index)
        approve = draft.get_by_role("button", name="Approve")
        if approve.count():
            approve.click()
            expect(draft).to_contain_text("Approved by @alice")
    expect(board).to_contain_text("5. Notify customers 通知客户 — done by @alice")

    # 6. Review: the form takes the notes and an action item with an owner and a due date;
    # the post-mortem is shared in the channel as a readable file; Publish completes it.
    board.get_by_role("button", name="Review").click()
    expect(dialog.locator(".modal-title")).to_contain_text("Review OOR-1")
    dialog.get_by_label("Root cause").fill("The acquirer's maintenance, announced to nobody")
    dialog.get_by_label("New action item 1").fill("Fail over on CHANNEL_BLOCKED")
    dialog.locator("#field-action_1_owner").select_option(BOB)
    dialog.locator("#field-action_1_due").fill("2026-12-09")
    dialog.locator("#field-action_2_owner").select_option(CAROL)  # an owner of nothing
    dialog.get_by_role("button", name="Compile").click()
    expect(dialog.locator(".field-error")).to_contain_text("Say what will be done")
    dialog.locator("#field-action_2_owner").select_option("")
    dialog.get_by_role("button", name="Compile").click()
    expect(dialog).to_be_hidden()
    added = message("added action item 1: Fail over on CHANNEL_BLOCKED").first  # not the file
    expect(added).to_contain_text("owner @bob, due 2026-12-09")
    postmortem = page.locator(".file", has_text="OOR-1 post-mortem v1")
    expect(postmortem.locator(".file-preview")).to_contain_text("# OOR-1 post-mortem")
    expect(postmortem.locator(".file-preview")).to_contain_text("The acquirer's maintenance")
    link = postmortem.locator("a.file-title").get_attribute("href") or ""
    served = page.request.get(f"{sandbox.url}{link}")
    assert served.ok and served.headers["content-type"] == "text/plain; charset=utf-8"
    assert "Fail over on CHANNEL_BLOCKED" in served.text()
    summary = message("📝 Post-mortem v1")
    summary.get_by_role("button", name="Publish").click()
    expect(summary).to_contain_text("Published by @alice")
    expect(board).to_contain_text("6. Review 总结经验 — done by @alice")

    command("/oor close")
    expect(board).to_contain_text("Closed")

    page.locator("#messages").evaluate("box => { box.scrollTop = 0; }")
    page.screenshot(path=str(tmp_path / "sandbox.png"))
    target = os.environ.get("OOR_SCREENSHOT_PATH")
    if target:
        page.screenshot(path=target)


def test_a_page_acknowledged_in_pagerduty_from_the_browser(sandbox: Sandbox, page: Any) -> None:
    """The sandbox's emulated PagerDuty (README "Paging", "In the sandbox"): a system crash
    at sev1 pages; the panel lists the page and its button acknowledges it as the person
    chosen under "As", which completes step 1 for them through PagerDuty's webhook."""
    from playwright.sync_api import Page, expect

    assert isinstance(page, Page)
    page.set_default_timeout(10_000)
    page.goto(f"{sandbox.url}/sandbox")
    form = page.locator("#fire")
    form.get_by_label("Type").select_option("system_crash")
    form.get_by_label("Title", exact=True).fill("Payment gateway down")
    form.get_by_label("Severity").select_option("sev1")
    form.get_by_role("button", name="Fire event").click()
    expect(page.locator("#fire-status")).to_contain_text("OOR-1 opened")
    pages = page.locator("#pages")
    expect(pages).to_contain_text("oor-bot/OOR-1")
    expect(pages).to_contain_text("triggered")
    page.locator("#user").select_option(CAROL)
    pages.get_by_role("button", name="Acknowledge in PagerDuty").click()
    expect(page.locator("#pages-status")).to_contain_text("as carol@example.com; webhook: HTTP 202")
    expect(pages).to_contain_text("acknowledged by Carol Chen")
    expect(pages.get_by_role("button", name="Acknowledge in PagerDuty")).to_have_count(0)
    board = page.locator("article.msg.pinned")
    expect(board).to_contain_text("1. Rapid response 快速响应 — done by @carol")
    expect(board).to_contain_text("On call now")
