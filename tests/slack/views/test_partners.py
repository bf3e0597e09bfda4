"""``/oor partners``: contacts grouped by kind, escaped, or a clear line when there are none."""

from __future__ import annotations

from bot.domain.plan import Partner, PartnerKind
from bot.slack.views.partners import build_partners_message
from tests.slack.views import (
    HOSTILE,
    assert_escaped,
    assert_within_slack_limits,
    dumped,
    make_incident,
)


def test_partners_grouped_by_kind_with_contacts_and_notes() -> None:
    partners = [
        Partner(name="Merchant One", kind=PartnerKind.MERCHANT, contact="Wang Fang"),
        Partner(
            name="Alipay",
            kind=PartnerKind.CHANNEL,
            contact="Ops desk",
            phone="+86 571 0000",
            email="ops@alipay.example",
            notes="24/7 hotline",
        ),
        Partner(name="ICBC", kind=PartnerKind.BANK, phone="95588"),
        Partner(name="Lakala", kind=PartnerKind.ACQUIRER),
    ]
    message = build_partners_message(make_incident(), partners)
    blocks = dumped(message)
    order = [blocks.index(h) for h in ("收单机构", "银行", "支付通道", "商家")]
    assert order == sorted(order)
    assert "Contact: Ops desk · ☎ +86 571 0000 · ✉ ops@alipay.example" in blocks
    assert "_24/7 hotline_" in blocks and "☎ 95588" in blocks
    assert "*Lakala*\\n_no contact details in the plan_" in blocks
    assert "Payment failure 支付失败" in blocks and "`alipay`" in blocks
    assert "Alipay" in message.text and "ICBC" in message.text


def test_hostile_partner_text_is_escaped() -> None:
    partners = [Partner(name=HOSTILE, contact=HOSTILE, phone=HOSTILE, notes=HOSTILE)]
    message = build_partners_message(make_incident(), partners)
    assert_escaped(dumped(message))
    assert "<!channel>" not in message.text


def test_no_partners_says_so_and_where_to_add_them() -> None:
    message = build_partners_message(make_incident(), [])
    blocks = dumped(message)
    assert "The plan lists no partner contacts" in blocks
    assert "oor_types.payment_failure.partners" in blocks
    assert "payment_methods.alipay.partners" in blocks
    assert message.text == "OOR-42: the plan lists no partner contacts"


def test_many_verbose_partners_stay_within_limits() -> None:
    partners = [
        Partner(name=f"Bank {i}", kind=PartnerKind.BANK, notes="n" * 3000) for i in range(300)
    ]
    message = build_partners_message(make_incident(), partners)
    args = message.as_args()
    assert_within_slack_limits(args["blocks"])
    assert "not shown" in dumped(message)
