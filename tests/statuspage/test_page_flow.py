"""What customers see on the status page as an incident is worked (issue 14, "Done when").

The bot runs with the example plan's status page, its real webhook, incident service and
notification drafts; the page is read over HTTP like a browser or a widget would.
"""

from __future__ import annotations

from typing import Any

from bot.domain.plan import Plan
from bot.domain.plan_sections import Locale
from bot.domain.plan_status_page import ShowUnannounced
from tests.statuspage.harness import INTERNALS, StatusBot, status_bot

DOCUMENTS = (
    "/status?lang=en",
    "/status?lang=zh-CN",
    "/status/history.atom?lang=en",
    "/status/history.atom?lang=zh-CN",
    *(
        f"/status/api/v2/{name}?lang={lang}"
        for name in (
            "summary.json",
            "status.json",
            "components.json",
            "incidents.json",
            "incidents/unresolved.json",
        )
        for lang in ("en", "zh-CN")
    ),
)


def everything_public(bot: StatusBot) -> str:
    texts = []
    for path in DOCUMENTS:
        answer = bot.get(path)
        assert answer.status_code == 200, path
        assert "set-cookie" not in answer.headers
        texts.append(answer.text)
    return "\n".join(texts)


def assert_nothing_internal(bot: StatusBot) -> None:
    public = everything_public(bot)
    for secret in INTERNALS:
        assert secret not in public, secret
    assert "OOR-" not in public and "U03CAROL" not in public and "U02BOB" not in public


def public_incidents(bot: StatusBot, name: str = "incidents.json") -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = bot.json(name)["incidents"]
    return found


def test_an_alipay_failure_from_outage_to_resolved(database_url: str, plan: Plan) -> None:
    with status_bot(database_url, plan) as bot:
        assert bot.json("status.json")["status"]["indicator"] == "none"
        number = bot.fire()  # payment_failure, sev2, Alipay, with amounts and a merchant

        # Not announced yet: only Alipay's status says something is wrong.
        assert bot.component("alipay") == "partial_outage"
        assert bot.component("wechat_pay") == "operational"
        summary = bot.json("summary.json")
        assert summary["status"] == {"indicator": "major", "description": "Partial System Outage"}
        assert summary["incidents"] == []
        assert public_incidents(bot) == []
        page = bot.get("/status?lang=en").text
        assert "Partial outage" in page and "Some Alipay payments failing" not in page
        assert "<entry>" not in bot.get("/status/history.atom").text
        assert_nothing_internal(bot)

        # A draft waiting for approval is not public either.
        first = bot.draft(number)
        assert public_incidents(bot) == []
        assert bot.page.page(Locale.EN).incidents == ()  # built afresh, not from the cache
        assert "Some Alipay payments failing" not in bot.get("/status?lang=en").text

        bot.approve(first)
        [incident] = public_incidents(bot, "incidents/unresolved.json")
        assert incident["name"] == "Some Alipay payments failing"
        assert incident["status"] == "investigating"
        assert incident["impact"] == "major"
        assert [c["id"] for c in incident["components"]] == ["alipay"]
        [update] = incident["incident_updates"]
        assert update["body"].startswith("Since 20 November 2026 at 12:30 (UTC+8)")
        # Times in the plan's time zone.
        assert update["display_at"] == "2026-11-20T12:30:00.000+08:00"
        page = bot.get("/status?lang=en").text
        assert "Some Alipay payments failing" in page and "Investigating" in page
        assert "2026-11-20 12:30" in page and "UTC+8" in page
        assert_nothing_internal(bot)

        # Comms writes the next update by hand before approving it.
        bot.clock.advance(minutes=20)
        bot.publish(
            number, body="Identified – The Alipay channel rejected our requests; a fix is live."
        )
        bot.clock.advance(minutes=10)
        bot.publish(number, body="Monitoring – Payments are recovering; we are watching.")
        [incident] = public_incidents(bot)
        assert incident["status"] == "monitoring"
        assert incident["monitoring_at"] == "2026-11-20T13:00:00.000+08:00"
        statuses = [u["status"] for u in incident["incident_updates"]]
        assert statuses == ["monitoring", "identified", "investigating"]  # newest first
        assert bot.component("alipay") == "partial_outage"  # still open

        # Fixed: the component is operational again and the incident resolved.
        bot.clock.advance(minutes=10)
        bot.resolve(number)
        assert bot.component("alipay") == "operational"
        assert bot.json("status.json")["status"]["indicator"] == "none"
        [incident] = public_incidents(bot)
        assert incident["status"] == "resolved"  # before comms said so: no outage stays up
        assert public_incidents(bot, "incidents/unresolved.json") == []
        bot.publish(number)
        [incident] = public_incidents(bot)
        assert incident["incident_updates"][0]["status"] == "resolved"
        assert incident["resolved_at"] == "2026-11-20T13:10:00.000+08:00"

        # The feed has every update; the page lists it under its day.
        feed = bot.get("/status/history.atom?lang=en").text
        assert feed.count("<entry>") == 1
        for label in ("Investigating", "Identified", "Monitoring", "Resolved"):
            assert f"&lt;strong&gt;{label}&lt;/strong&gt;" in feed
        assert "a fix is live" in feed
        page = bot.get("/status?lang=en").text
        assert "Past incidents" in page and "Nov 20, 2026" in page
        assert_nothing_internal(bot)


def test_each_language_gets_its_own_words(sqlite_url: str, plan: Plan) -> None:
    with status_bot(sqlite_url, plan) as bot:
        number = bot.fire()
        bot.publish(number, Locale.ZH_CN)
        bot.publish(number, Locale.EN)
        [zh] = bot.json("incidents.json", "zh-CN")["incidents"]
        [en] = bot.json("incidents.json", "en")["incidents"]
        assert zh["name"] == "部分支付宝支付失败" and en["name"] == "Some Alipay payments failing"
        assert zh["incident_updates"][0]["body"].startswith("2026年11月20日 12:30（北京时间）起")
        assert zh["incident_updates"][0]["status"] == "investigating"  # from 【处理中】
        chinese = bot.get("/status", **{"accept-language": "zh-CN,zh;q=0.9,en;q=0.8"})
        assert chinese.headers["content-language"] == "zh-CN"
        assert "部分支付宝支付失败" in chinese.text and "部分中断" in chinese.text
        assert '<html lang="zh-CN">' in chinese.text and "北京时间" in chinese.text
        english = bot.get("/status", **{"accept-language": "fr-FR, en;q=0.5, zh;q=0.1"})
        assert english.headers["content-language"] == "en"
        assert "Partial outage" in english.text and "Alipay" in english.text
        # ?lang= wins over the header; the plan's default when neither helps.
        assert bot.get("/status?lang=en", **{"accept-language": "zh"}).headers[
            "content-language"
        ] == ("en")
        assert bot.get("/status", **{"accept-language": "fr"}).headers["content-language"] == (
            "zh-CN"
        )


def test_an_update_in_one_language_only_shows_in_both(sqlite_url: str, plan: Plan) -> None:
    with status_bot(sqlite_url, plan) as bot:
        number = bot.fire()
        bot.publish(number, Locale.EN)
        [zh] = bot.json("incidents.json", "zh-CN")["incidents"]
        assert zh["name"] == "Some Alipay payments failing"


def test_hidden_unannounced_incidents_change_nothing(sqlite_url: str, plan: Plan) -> None:
    with status_bot(sqlite_url, plan, show_unannounced=ShowUnannounced.HIDDEN) as bot:
        before = {path: bot.get(path).headers["etag"] for path in DOCUMENTS}
        bot.clock.advance(minutes=5)
        number = bot.fire()
        assert bot.component("alipay") == "operational"
        # Not even the page's "updated at" moves: every document is byte for byte the same.
        assert {path: bot.get(path).headers["etag"] for path in DOCUMENTS} == before
        bot.publish(number)
        assert bot.component("alipay") == "partial_outage"


def test_type_and_severity_choose_the_status_and_components(sqlite_url: str, plan: Plan) -> None:
    with status_bot(sqlite_url, plan) as bot:
        bot.fire(severity="sev1", details={"payment_method": "wechat_pay"})
        assert bot.component("wechat_pay") == "major_outage"
        bot.fire(type="amount_error", severity="sev3", details={"payment_method": "card"})
        assert bot.component("unionpay") == "operational"  # a minor amount error: invisible
        bot.fire(type="transaction_interruption", severity="sev3", details={})
        assert bot.component("gateway") == "partial_outage"  # no method: the default
        assert bot.json("status.json")["status"]["indicator"] == "critical"
        bot.fire(type="system_crash", severity="sev2", details={"payment_method": "alipay"})
        statuses = {c["id"]: c["status"] for c in bot.json("components.json")["components"]}
        assert statuses == {
            "alipay": "partial_outage",
            "wechat_pay": "major_outage",  # the worst of its incidents
            "unionpay": "partial_outage",
            "bank_transfer": "partial_outage",
            "gateway": "partial_outage",
        }


def test_history_keeps_the_plans_window(sqlite_url: str, plan: Plan) -> None:
    with status_bot(sqlite_url, plan, history_days=3) as bot:
        number = bot.fire()
        bot.publish(number)
        bot.resolve(number)
        bot.clock.advance(days=2)
        assert len(public_incidents(bot)) == 1
        bot.clock.advance(days=2)
        assert public_incidents(bot) == []
        assert "No incidents in the last 3 days." in bot.get("/status?lang=en").text


def test_words_from_people_are_escaped(sqlite_url: str, plan: Plan) -> None:
    with status_bot(sqlite_url, plan) as bot:
        number = bot.fire()
        attack = 'Identified – <img src=x onerror="alert(1)"> {{ 7*7 }} & more'
        bot.publish(number, body=attack)
        page = bot.get("/status?lang=en").text
        assert "<img src=x" not in page
        assert "&lt;img src=x onerror=&#34;alert(1)&#34;&gt; {{ 7*7 }} &amp; more" in page
        feed = bot.get("/status/history.atom?lang=en").text
        # HTML inside XML: escaped twice, so a feed reader shows the text, not an image.
        assert "&amp;lt;img src=x" in feed and "<img" not in feed
        [incident] = public_incidents(bot)
        assert incident["incident_updates"][0]["body"] == (
            '<img src=x onerror="alert(1)"> {{ 7*7 }} & more'
        )


def test_an_approval_on_another_replica_shows_here(database_url: str, plan: Plan) -> None:
    """Two bots on one database: the page of one follows what the other approves."""
    with status_bot(database_url, plan) as here, status_bot(database_url, plan) as there:
        assert public_incidents(here) == []
        number = there.fire()
        there.publish(number)
        [incident] = public_incidents(here)
        assert incident["name"] == "Some Alipay payments failing"
        assert here.component("alipay") == "partial_outage"
