"""Modals as HTML forms: every input type the bot uses, values kept, errors shown, nothing
injected."""

from __future__ import annotations

from bot.sandbox.ui import forms
from bot.sandbox.ui.render import Names

# As the page builds them: the bot, a bot user and a deactivated user are no one to pick.
NAMES = Names.from_snapshot(
    {
        "bot": {"user_id": "UBOT"},
        "users": [
            {"id": "U01ALICE", "name": "alice", "real_name": "Alice Wang"},
            {"id": "U02BOB", "name": "bob", "real_name": "Bob <Li>"},
            {"id": "UBOT", "name": "oor-bot"},
            {"id": "U0HOOK", "name": "pager", "is_bot": True},
            {"id": "U0GONE", "name": "gone", "deleted": True},
        ],
    }
)


def test_modal_with_inputs_values_and_errors() -> None:
    view = {
        "id": "V1",
        "title": {"type": "plain_text", "text": "Resolve OOR-1"},
        "submit": {"type": "plain_text", "text": "Resolve"},
        "close": {"type": "plain_text", "text": "Cancel"},
        "blocks": [
            {"type": "context", "elements": [{"type": "mrkdwn", "text": "*OOR-1* · <x>"}]},
            {
                "type": "input",
                "block_id": "summary",
                "label": {"type": "plain_text", "text": "What fixed it?"},
                "hint": {"type": "plain_text", "text": "Shown on the board."},
                "element": {
                    "type": "plain_text_input",
                    "action_id": "summary",
                    "multiline": True,
                    "max_length": 2000,
                    "placeholder": {"type": "plain_text", "text": "e.g. <switched>"},
                },
            },
            {
                "type": "input",
                "block_id": "cause",
                "optional": True,
                "label": {"type": "plain_text", "text": "Cause"},
                "element": {
                    "type": "static_select",
                    "action_id": "cause",
                    "options": [
                        {"text": {"type": "plain_text", "text": "Partner"}, "value": "partner"},
                        {"text": {"type": "plain_text", "text": "Network"}, "value": "network"},
                    ],
                    "initial_option": {
                        "text": {"type": "plain_text", "text": "Network"},
                        "value": "network",
                    },
                },
            },
            {
                "type": "input",
                "block_id": "ref",
                "label": {"type": "plain_text", "text": "Reference"},
                "element": {"type": "plain_text_input", "action_id": "ref", "initial_value": "R1"},
            },
        ],
    }
    html = str(
        forms.modal(
            view,
            NAMES,
            values={"summary": "</textarea><script>x</script>"},
            errors={"summary": "Say what fixed it.", "elsewhere": "lost <b>?"},
        )
    )
    assert '<header class="modal-title">Resolve OOR-1</header>' in html
    assert '<textarea id="field-summary" name="summary" placeholder="e.g. &lt;switched&gt;"' in html
    assert "&lt;/textarea&gt;&lt;script&gt;x&lt;/script&gt;</textarea>" in html
    assert '<div class="field-error" role="alert">Say what fixed it.</div>' in html
    assert "elsewhere: lost &lt;b&gt;?" in html
    assert '<select id="field-cause" name="cause">' in html
    assert '<option value="network" selected>Network</option>' in html
    assert "(optional)" in html
    assert 'id="field-ref" name="ref"' in html and 'value="R1"' in html
    assert "Shown on the board." in html
    assert ">Cancel</button>" in html and ">Resolve</button>" in html
    assert "<script" not in html


def _input(block_id: str, element: dict[str, object], **extra: object) -> dict[str, object]:
    label = {"type": "plain_text", "text": block_id.title()}
    return {"type": "input", "block_id": block_id, "label": label, "element": element} | extra


def test_user_picker_offers_the_people_of_the_workspace() -> None:
    owner = _input(
        "owner",
        {
            "type": "users_select",
            "action_id": "owner",
            "placeholder": {"type": "plain_text", "text": "Who does it"},
        },
        optional=True,
    )
    html = str(forms.input_field(owner, NAMES))
    assert '<select id="field-owner" name="owner">' in html
    assert '<option value="">Who does it</option>' in html
    assert '<option value="U01ALICE">alice · Alice Wang</option>' in html
    assert '<option value="U02BOB">bob · Bob &lt;Li&gt;</option>' in html
    assert "UBOT" not in html  # bots are not people to assign work to
    assert "U0HOOK" not in html and "U0GONE" not in html
    chosen = str(forms.input_field(owner, NAMES, value="U02BOB"))
    assert '<option value="U02BOB" selected>' in chosen
    initial = owner | {"element": {"type": "users_select", "initial_user": "U01ALICE"}}
    assert '<option value="U01ALICE" selected>' in str(forms.input_field(initial, NAMES))


def test_date_picker_is_a_date_input() -> None:
    due = _input("due", {"type": "datepicker", "action_id": "due"})
    html = str(forms.input_field(due, NAMES, value="2026-12-09", error="Pick a date."))
    assert '<input type="date" id="field-due" name="due" value="2026-12-09">' in html
    assert '<div class="field-error" role="alert">Pick a date.</div>' in html
    initial = due | {"element": {"type": "datepicker", "initial_date": "2026-12-01"}}
    assert 'value="2026-12-01"' in str(forms.input_field(initial, NAMES))
    injected = str(forms.input_field(due, NAMES, value='"><script>x</script>'))
    assert "<script" not in injected


def test_an_unknown_input_says_so() -> None:
    other = _input("pick", {"type": "multi_conversations_select", "action_id": "pick"})
    assert "Unsupported input: multi_conversations_select" in str(forms.input_field(other, NAMES))
