"""``/oor partners``: the plan's partner contacts for an incident, grouped by kind.

The board shows a compact version of the same list (:func:`partner_line`); this message
adds the notes the plan keeps for each partner (hours, escalation numbers, account ids).
"""

from __future__ import annotations

from collections.abc import Sequence

from slack_sdk.models.blocks import (
    Block,
    ContextBlock,
    HeaderBlock,
    MarkdownTextObject,
    SectionBlock,
)

from bot.domain.incident import IncidentSnapshot
from bot.domain.plan import Partner, PartnerKind
from bot.slack.text import MAX_BLOCKS, SECTION_TEXT_LIMIT, escape, truncate
from bot.slack.views import SlackMessage

KIND_LABELS: dict[PartnerKind, tuple[str, str]] = {
    PartnerKind.ACQUIRER: ("Acquirers", "收单机构"),
    PartnerKind.BANK: ("Banks", "银行"),
    PartnerKind.CHANNEL: ("Payment channels", "支付通道"),
    PartnerKind.MERCHANT: ("Merchants", "商家"),
    PartnerKind.OTHER: ("Other", "其他"),
}
_KIND_SINGULAR = {
    PartnerKind.ACQUIRER: "acquirer",
    PartnerKind.BANK: "bank",
    PartnerKind.CHANNEL: "channel",
    PartnerKind.MERCHANT: "merchant",
    PartnerKind.OTHER: "other",
}
_ENTRY_LIMIT = 1000  # one partner's entry, so a single verbose plan entry cannot fill a section


def partner_contacts(partner: Partner) -> str:
    """``Contact: Li Wei · ☎ +86 … · ✉ ops@bank.example`` (escaped); empty when none."""
    parts: list[str] = []
    if partner.contact:
        parts.append(f"Contact: {escape(partner.contact.strip())}")
    if partner.phone:
        parts.append(f"☎ {escape(partner.phone.strip())}")
    if partner.email:
        parts.append(f"✉ {escape(partner.email.strip())}")
    return " · ".join(parts)


def partner_line(partner: Partner) -> str:
    """The board's one-line form: ``*Name* (bank) · Contact: … · ☎ … · ✉ …``."""
    line = f"*{escape(partner.name.strip())}* ({_KIND_SINGULAR[partner.kind]})"
    contacts = partner_contacts(partner)
    return f"{line} · {contacts}" if contacts else f"{line} · _no contact details in the plan_"


def _entry(partner: Partner) -> str:
    lines = [f"*{escape(partner.name.strip())}*"]
    contacts = partner_contacts(partner)
    lines.append(contacts or "_no contact details in the plan_")
    if partner.notes and partner.notes.strip():
        notes = " ".join(partner.notes.split())
        lines.append(f"_{escape(notes)}_")
    return truncate("\n".join(lines), _ENTRY_LIMIT)


def _kind_sections(kind: PartnerKind, partners: list[Partner]) -> list[str]:
    """Section texts for one kind, split so that none exceeds Slack's section limit."""
    english, chinese = KIND_LABELS[kind]
    texts: list[str] = []
    current = f"*{english} {chinese}*"
    for partner in partners:
        entry = _entry(partner)
        if len(current) + 2 + len(entry) > SECTION_TEXT_LIMIT:
            texts.append(current)
            current = f"*{english} {chinese}* (continued)"
        current += "\n\n" + entry
    texts.append(current)
    return texts


def _scope(incident: IncidentSnapshot) -> str:
    scope = f"*{incident.type.label} {incident.type.label_zh}*"
    method = incident.payment_method
    if method:
        scope += f" · payment method `{escape(method)}`"
    return scope


def _none_listed(incident: IncidentSnapshot) -> str:
    where = f"`oor_types.{incident.type.value}.partners`"
    method = incident.payment_method
    if method:
        where += f" or `payment_methods.{escape(method.strip().lower())}.partners`"
    return (
        f"The plan lists no partner contacts for {_scope(incident)}.\n"
        f"Add them under {where} in the emergency plan."
    )


def build_partners_message(incident: IncidentSnapshot, partners: Sequence[Partner]) -> SlackMessage:
    """The partners ``Plan.partners_for(incident.type, incident.payment_method)`` returned."""
    header = HeaderBlock(text=truncate(f"{incident.key} partners 合作伙伴", 150))
    if not partners:
        text = f"{incident.key}: the plan lists no partner contacts"
        blocks: list[Block] = [
            header,
            SectionBlock(text=MarkdownTextObject(text=_none_listed(incident))),
        ]
        return SlackMessage(text=text, blocks=tuple(blocks))

    blocks = [
        header,
        SectionBlock(text=MarkdownTextObject(text=f"Partner contacts for {_scope(incident)}")),
    ]
    texts: list[str] = []
    for kind in PartnerKind:
        of_kind = [p for p in partners if p.kind is kind]
        if of_kind:
            texts.extend(_kind_sections(kind, of_kind))
    room = MAX_BLOCKS - len(blocks) - 1  # keep one block for the "not shown" note
    shown, hidden = texts[:room], texts[room:]
    blocks.extend(SectionBlock(text=MarkdownTextObject(text=t)) for t in shown)
    if hidden:
        note = f"{len(hidden)} more section(s) not shown: the plan lists {len(partners)} partners."
        blocks.append(ContextBlock(elements=[MarkdownTextObject(text=note)]))
    names = ", ".join(escape(p.name.strip()) for p in partners[:10])
    more = f" and {len(partners) - 10} more" if len(partners) > 10 else ""
    text = truncate(f"{incident.key} partner contacts: {names}{more}", 3000)
    return SlackMessage(text=text, blocks=tuple(blocks))
