"""The status page in a real headless Chromium, as a customer opens it on a phone: both
languages, and an incident's words appearing only once comms approved them.

The bot (recorder chat platform, manual clock) is served on a real port; the test works
the incident through the bot's services and reloads the page like a customer would.
Needs Debian's chromium, like tests/sandbox/ui/test_browser.py (skipped without it,
except under CI). Set OOR_STATUS_SCREENSHOT_PATH (e.g. docs/status_page.png) to save the
README screenshot.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import Any

import pytest

from bot.domain.plan import Plan
from bot.domain.plan_sections import Locale
from tests.browser import chromium_page
from tests.statuspage.harness import INTERNALS, status_bot
from tests.support import ServerThread


@pytest.fixture
def phone() -> Iterator[Any]:
    with chromium_page(
        viewport={"width": 390, "height": 844}, is_mobile=True, locale="zh-CN"
    ) as opened:
        yield opened


def test_the_page_in_chromium(sqlite_url: str, plan: Plan, phone: Any) -> None:
    from playwright.sync_api import Page, expect

    assert isinstance(phone, Page)
    phone.set_default_timeout(10_000)
    with status_bot(sqlite_url, plan) as bot:
        server = ServerThread(bot.app.asgi).start()
        try:
            url = f"{server.url}/status"

            def reload() -> None:
                # As a customer presses reload: the browser revalidates (If-None-Match)
                # what it may otherwise keep for max-age. No waiting for the cache's
                # once-a-second check either.
                bot.page.cache.invalidate()
                phone.reload()

            phone.goto(url)  # the browser asks for Chinese (Accept-Language from its locale)
            expect(phone.locator("html")).to_have_attribute("lang", "zh-CN")
            expect(phone.get_by_role("status")).to_have_text("所有服务运行正常")

            number = bot.fire()
            reload()
            expect(phone.get_by_role("status")).to_have_text("部分服务中断")
            alipay = phone.locator("ul.components li", has_text="支付宝")
            expect(alipay).to_contain_text("部分中断")
            expect(phone.locator("#active")).to_have_count(0)  # nothing announced yet

            draft = bot.draft(number, Locale.ZH_CN)
            reload()
            expect(phone.locator("#active")).to_have_count(0)  # waiting for approval
            bot.approve(draft)
            reload()
            active = phone.locator("section", has=phone.locator("#active"))
            expect(active).to_contain_text("部分支付宝支付失败")
            expect(active).to_contain_text("处理中")
            body = phone.content()
            for secret in INTERNALS:
                assert secret not in body

            bot.clock.advance(minutes=20)
            bot.publish(number, Locale.ZH_CN, body="【已定位】支付宝通道问题已查明，正在修复。")
            reload()
            updates = active.locator(".upd")
            expect(updates).to_have_count(2)
            expect(updates.first).to_contain_text("已定位")  # newest first

            target = os.environ.get("OOR_STATUS_SCREENSHOT_PATH")
            if target:
                phone.screenshot(path=target, full_page=True)

            # The other language, from the page's own link.
            phone.get_by_role("link", name="English").click()
            expect(phone.locator("html")).to_have_attribute("lang", "en")
            expect(phone.get_by_role("status")).to_have_text("Partial System Outage")
            expect(phone.locator("ul.components li", has_text="Alipay")).to_contain_text(
                "Partial outage"
            )

            bot.resolve(number)
            bot.publish(number, Locale.EN)
            bot.page.cache.invalidate()
            phone.reload()
            expect(phone.get_by_role("status")).to_have_text("All Systems Operational")
            expect(phone.locator("#active")).to_have_count(0)
            history = phone.locator("section", has=phone.locator("#history"))
            expect(history).to_contain_text("Some Alipay payments failing")
            expect(history).to_contain_text("Resolved")
        finally:
            server.stop()
