"""``oor-bot notify render``, the command's words, the edit form's checks and the variables."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from bot.cli import main
from bot.domain.lifecycle import CommandRefused
from bot.domain.plan_sections import Locale, NotifyChannel
from bot.notifications.slack import parse_notify_args
from bot.notifications.variables import (
    format_amount,
    format_time,
    payment_method_words,
    split_bilingual,
)
from bot.notifications.views import BODY_ID, SUBJECT_ID, edit_errors
from tests.support import EXAMPLE_PLAN


def test_cli_renders_a_sample_sms_with_its_count(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OOR_PLAN", str(EXAMPLE_PLAN))
    argv = ["notify", "render", "--type", "payment_failure", "--channel", "sms"]
    assert main([*argv, "--locale", "zh-CN", "--sample"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("Template: payment_failure/sms.zh-CN.j2\n")
    assert "【某某支付】尊敬的用户：11月25日12:30起，部分支付宝支付失败" in out
    assert "SMS: 88 characters · 2 segments (UCS-2, 67 per segment)" in out


def test_cli_renders_an_email_subject_and_honours_a_templates_dir(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    override = tmp_path / "notifications" / "amount_error" / "email.en.j2"
    override.parent.mkdir(parents=True)
    override.write_text("Subject: Custom {{ incident_key }}\nHello {{ payments }}.\n")
    monkeypatch.setenv("OOR_TEMPLATES_DIR", str(tmp_path))
    argv = ["notify", "render", "--type", "amount_error", "--channel", "email", "--locale", "en"]
    assert main([*argv, "--sample", "--plan", str(EXAMPLE_PLAN)]) == 0
    out = capsys.readouterr().out
    assert "Subject: Custom OOR-42\n\nHello Alipay payments." in out


def test_cli_names_the_broken_template(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    override = tmp_path / "notifications" / "system_crash" / "sms.en.j2"
    override.parent.mkdir(parents=True)
    override.write_text("{{ nope }}\n")
    argv = ["notify", "render", "--type", "system_crash", "--channel", "sms", "--locale", "en"]
    code = main([*argv, "--sample", "--plan", str(EXAMPLE_PLAN), "--templates-dir", str(tmp_path)])
    assert code == 2
    err = capsys.readouterr().err
    assert err.strip() == ("oor-bot: system_crash/sms.en.j2: undefined variable 'nope' (line 1)")


def test_cli_wants_sample(capsys: pytest.CaptureFixture[str]) -> None:
    argv = ["notify", "render", "--type", "system_crash", "--channel", "sms", "--locale", "en"]
    assert main([*argv, "--plan", str(EXAMPLE_PLAN)]) == 2
    assert "--sample" in capsys.readouterr().err


# -- /oor notify words -----------------------------------------------------------------
def test_notify_words() -> None:
    assert parse_notify_args("") == ([], [])
    assert parse_notify_args("SMS zh-CN") == ([NotifyChannel.SMS], [Locale.ZH_CN])
    assert parse_notify_args("en email,status_page sms") == (
        [NotifyChannel.EMAIL, NotifyChannel.STATUS_PAGE, NotifyChannel.SMS],
        [Locale.EN],
    )
    assert parse_notify_args("短信 中文") == ([NotifyChannel.SMS], [Locale.ZH_CN])
    with pytest.raises(CommandRefused, match="`fax` is not a notification channel"):
        parse_notify_args("sms fax")


# -- the edit form ------------------------------------------------------------------------
def test_edit_form_checks() -> None:
    sig = "【某某支付】"
    assert edit_errors(NotifyChannel.SMS, Locale.ZH_CN, None, f"{sig}你好", sig) == {}
    assert BODY_ID in edit_errors(NotifyChannel.SMS, Locale.ZH_CN, None, "你好", sig)
    assert edit_errors(NotifyChannel.SMS, Locale.EN, None, "Hello", sig) == {}
    assert set(edit_errors(NotifyChannel.EMAIL, Locale.EN, " ", " ", None)) == {
        SUBJECT_ID,
        BODY_ID,
    }


# -- variables ---------------------------------------------------------------------------
def test_amounts_by_locale() -> None:
    amount = Decimal("1234.5")
    assert format_amount(amount, "CNY", Locale.ZH_CN) == "¥1,234.50"
    assert format_amount(amount, "CNY", Locale.EN) == "CNY 1,234.50"
    assert format_amount(amount, "usd", Locale.ZH_CN) == "US$1,234.50"
    assert format_amount(amount, "SGD", Locale.ZH_CN) == "SGD 1,234.50"
    assert format_amount(None, "CNY", Locale.EN) is None


def test_times_by_locale() -> None:
    tz = ZoneInfo("Asia/Shanghai")
    at = datetime(2026, 11, 25, 4, 30, tzinfo=UTC)
    assert format_time(at, tz, Locale.ZH_CN, short=False) == "2026年11月25日 12:30（北京时间）"
    assert format_time(at, tz, Locale.ZH_CN, short=True) == "11月25日12:30"
    assert format_time(at, tz, Locale.EN, short=False) == "25 November 2026 at 12:30 (UTC+8)"
    assert format_time(at, tz, Locale.EN, short=True) == "12:30 (UTC+8) on 25 Nov"
    assert format_time(at, tz, Locale.EN, short=True, after=at) == "12:30 (UTC+8)"
    london = ZoneInfo("Europe/London")
    assert format_time(at, london, Locale.ZH_CN, short=False) == "2026年11月25日 04:30（UTC）"
    kolkata = ZoneInfo("Asia/Kolkata")
    assert format_time(at, kolkata, Locale.EN, short=True) == "10:00 (UTC+5:30) on 25 Nov"


def test_payment_methods_and_bilingual_plan_text() -> None:
    assert payment_method_words("WeChat_Pay", Locale.ZH_CN) == ("微信支付", "微信支付")
    assert payment_method_words("alipay", Locale.EN) == ("Alipay", "Alipay payments")
    assert payment_method_words("paypal", Locale.EN) == ("paypal", "paypal payments")
    assert payment_method_words(None, Locale.ZH_CN) == (None, "支付")
    assert split_bilingual("客户服务中心 Customer Service", Locale.ZH_CN) == "客户服务中心"
    assert split_bilingual("客户服务中心 Customer Service", Locale.EN) == "Customer Service"
    assert split_bilingual("Help desk", Locale.ZH_CN) == "Help desk"
