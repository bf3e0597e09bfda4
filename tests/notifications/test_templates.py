"""The shipped templates against golden files, and the sandbox around every template.

Goldens: ``tests/fixtures/notifications/golden/<type>.<channel>.<locale>.<status>.txt``,
rendered with the sample incident and the example plan. ``UPDATE_GOLDEN=1`` rewrites them;
read the diff before committing it: these are the words customers get.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from jinja2.sandbox import SecurityError

from bot.domain.plan import Plan
from bot.domain.plan_sections import Locale, NotifyChannel
from bot.domain.types import OorType
from bot.notifications.sms import count_sms, is_gsm7
from bot.notifications.templates import (
    NotificationTemplateError,
    NotificationTemplates,
    render_message,
    template_name,
)
from bot.notifications.variables import build_variables, sample_incident
from tests.support import FIXTURES

GOLDEN = FIXTURES / "notifications" / "golden"
CASES = [
    (oor_type, channel, locale, resolved)
    for oor_type in OorType
    for channel in NotifyChannel
    for locale in Locale
    for resolved in (False, True)
]


def golden_text(
    plan: Plan, oor_type: OorType, channel: NotifyChannel, locale: Locale, resolved: bool
) -> str:
    incident = sample_incident(oor_type, resolved=resolved)
    rendered = render_message(NotificationTemplates(), plan, incident, channel, locale)
    parts = []
    if rendered.subject is not None:
        parts.append(f"Subject: {rendered.subject}\n")
    parts.append(rendered.body + "\n")
    if channel is NotifyChannel.SMS:
        parts.append(f"-- {count_sms(rendered.body).describe()}\n")
    return "\n".join(parts)


@pytest.mark.parametrize(
    ("oor_type", "channel", "locale", "resolved"),
    CASES,
    ids=[f"{t}.{c}.{loc}.{'resolved' if r else 'investigating'}" for t, c, loc, r in CASES],
)
def test_golden(
    plan: Plan, oor_type: OorType, channel: NotifyChannel, locale: Locale, resolved: bool
) -> None:
    path = (
        GOLDEN / f"{oor_type}.{channel}.{locale}.{'resolved' if resolved else 'investigating'}.txt"
    )
    text = golden_text(plan, oor_type, channel, locale, resolved)
    if os.environ.get("UPDATE_GOLDEN") == "1":
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    assert path.exists(), f"{path.name} is missing: run with UPDATE_GOLDEN=1"
    assert text == path.read_text(encoding="utf-8")


def test_every_type_channel_and_locale_has_a_template() -> None:
    templates = NotificationTemplates()
    missing = [
        template_name(t, c, loc)
        for t in OorType
        for c in NotifyChannel
        for loc in Locale
        if not templates.exists(t, c, loc)
    ]
    assert missing == []


@pytest.mark.parametrize("oor_type", list(OorType))
@pytest.mark.parametrize("resolved", [False, True])
def test_sms_stay_within_two_segments_and_english_within_gsm7(
    plan: Plan, oor_type: OorType, resolved: bool
) -> None:
    templates = NotificationTemplates()
    incident = sample_incident(oor_type, resolved=resolved)
    for locale in Locale:
        body = render_message(templates, plan, incident, NotifyChannel.SMS, locale).body
        assert count_sms(body).segments <= 2, body
    english = render_message(templates, plan, incident, NotifyChannel.SMS, Locale.EN).body
    assert is_gsm7(english), [ch for ch in english if not is_gsm7(ch)]


def test_chinese_sms_starts_with_the_signature(plan: Plan) -> None:
    rendered = render_message(
        NotificationTemplates(), plan, sample_incident(), NotifyChannel.SMS, Locale.ZH_CN
    )
    assert rendered.body.startswith("【某某支付】尊敬的用户：")


# -- safety -----------------------------------------------------------------------------
def _override(tmp_path: Path, name: str, source: str) -> NotificationTemplates:
    path = tmp_path / "notifications" / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(source, encoding="utf-8")
    return NotificationTemplates(tmp_path)


def test_a_missing_variable_names_the_template_and_the_variable(plan: Plan, tmp_path: Path) -> None:
    templates = _override(
        tmp_path, "payment_failure/sms.en.j2", "Line one\nDear {{ customer_name }}, sorry.\n"
    )
    variables = build_variables(sample_incident(), plan, Locale.EN)
    with pytest.raises(NotificationTemplateError) as caught:
        templates.render(OorType.PAYMENT_FAILURE, NotifyChannel.SMS, Locale.EN, variables)
    message = str(caught.value)
    assert message.startswith("payment_failure/sms.en.j2: ")
    assert "undefined variable 'customer_name'" in message and "line 2" in message


def test_a_missing_variable_in_a_base_template_names_both(plan: Plan, tmp_path: Path) -> None:
    templates = _override(
        tmp_path, "base/email.en.j2", "Subject: {% block subject %}{% endblock %}\n{{ oops }}\n"
    )
    variables = build_variables(sample_incident(), plan, Locale.EN)
    with pytest.raises(NotificationTemplateError) as caught:
        templates.render(OorType.SYSTEM_CRASH, NotifyChannel.EMAIL, Locale.EN, variables)
    assert str(caught.value).startswith("system_crash/email.en.j2: undefined variable 'oops'")
    assert "in base/email.en.j2" in str(caught.value)


@pytest.mark.parametrize(
    "source",
    [
        "{{ ''.__class__.__mro__ }}",
        "{{ ''.__class__.__mro__[1].__subclasses__() }}",
        "{{ title.__class__.__init__.__globals__ }}",
        "{{ support.items.__self__.__class__ }}",
        "{{ cycler.__init__.__globals__.os }}",
    ],
)
def test_templates_cannot_reach_python_internals(plan: Plan, source: str) -> None:
    variables = build_variables(sample_incident(), plan, Locale.EN)
    with pytest.raises(SecurityError):
        NotificationTemplates().render_string(source, variables)


def test_templates_cannot_mutate_their_data(plan: Plan) -> None:
    variables = build_variables(sample_incident(), plan, Locale.EN)
    with pytest.raises(SecurityError):
        NotificationTemplates().render_string("{{ support.update({'phone': '1'}) }}", variables)


def test_outside_text_is_data_never_template_code(plan: Plan, tmp_path: Path) -> None:
    from dataclasses import replace

    incident = replace(
        sample_incident(),
        title="{{ 7*7 }} {% if true %}x{% endif %}",
        details={"payment_method": "{{ 7*7 }}"},
    )
    shipped = render_message(
        NotificationTemplates(), plan, incident, NotifyChannel.EMAIL, Locale.EN
    )
    assert "{{ 7*7 }} payments" in shipped.body and "49" not in shipped.body
    templates = _override(
        tmp_path, "payment_failure/status_page.en.j2", "Subject: {{ title }}\n{{ title }}\n"
    )
    rendered = render_message(templates, plan, incident, NotifyChannel.STATUS_PAGE, Locale.EN)
    assert rendered.subject == "{{ 7*7 }} {% if true %}x{% endif %}"
    assert rendered.body == "{{ 7*7 }} {% if true %}x{% endif %}"


def test_plain_text_is_not_html_escaped(plan: Plan, tmp_path: Path) -> None:
    from dataclasses import replace

    incident = replace(sample_incident(), title="Fish & Chips <Pay>")
    templates = _override(tmp_path, "payment_failure/sms.en.j2", "{{ title }}\n")
    body = render_message(templates, plan, incident, NotifyChannel.SMS, Locale.EN).body
    assert body == "Fish & Chips <Pay>"


def test_an_override_directory_wins_and_can_add_templates(plan: Plan, tmp_path: Path) -> None:
    templates = _override(tmp_path, "payment_failure/sms.en.j2", "Custom {{ payments }}.\n")
    variables = build_variables(sample_incident(), plan, Locale.EN)
    custom = templates.render(OorType.PAYMENT_FAILURE, NotifyChannel.SMS, Locale.EN, variables)
    assert custom.body == "Custom Alipay payments."
    # Everything not overridden still comes from the shipped templates.
    shipped = templates.render(OorType.SYSTEM_CRASH, NotifyChannel.SMS, Locale.EN, variables)
    assert "payment service" in shipped.body


def test_email_templates_need_a_subject_line(plan: Plan, tmp_path: Path) -> None:
    templates = _override(tmp_path, "amount_error/email.en.j2", "Hello\n")
    variables = build_variables(sample_incident(OorType.AMOUNT_ERROR), plan, Locale.EN)
    with pytest.raises(NotificationTemplateError, match=r"amount_error/email\.en\.j2: must start"):
        templates.render(OorType.AMOUNT_ERROR, NotifyChannel.EMAIL, Locale.EN, variables)


def test_a_syntax_error_names_the_template_and_line(plan: Plan, tmp_path: Path) -> None:
    templates = _override(tmp_path, "amount_error/sms.en.j2", "ok\n{% if %}\n")
    variables = build_variables(sample_incident(OorType.AMOUNT_ERROR), plan, Locale.EN)
    with pytest.raises(NotificationTemplateError, match=r"amount_error/sms.en.j2: line 2"):
        templates.render(OorType.AMOUNT_ERROR, NotifyChannel.SMS, Locale.EN, variables)
