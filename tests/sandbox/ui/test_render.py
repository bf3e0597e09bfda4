"""Block Kit and mrkdwn as HTML: readable, and never a way to inject markup."""

from __future__ import annotations

from bot.sandbox.ui import render
from bot.sandbox.ui.render import Names, mrkdwn

NAMES = Names(
    users={"U01ALICE": "alice"},
    channels={"C0001": "oor-1-payment-failure"},
    usergroups={"S01": "payments-oncall"},
)


def test_script_and_html_in_text_stay_text() -> None:
    html = str(mrkdwn("<script>alert(1)</script> and <b onclick=x>bold</b> & more", NAMES))
    assert "<script" not in html and "<b " not in html
    assert "&lt;script&gt;alert(1)" in html
    assert "&amp; more" in html


def test_slack_escaped_text_shows_as_the_characters() -> None:
    # Slack escapes <, > and & in text; they are shown as the characters, escaped again.
    html = str(mrkdwn("&lt;script&gt; &lt;!channel&gt; a &amp;&amp; b", NAMES))
    assert html == "&lt;script&gt; &lt;!channel&gt; a &amp;&amp; b"


def test_special_mentions_never_become_raw_markup() -> None:
    html = str(mrkdwn("<!channel> <!here> <!everyone>", NAMES))
    assert "<!" not in html
    assert html.count('class="mention mention-special"') == 3
    assert "@channel" in html and "@here" in html


def test_emphasis_and_code() -> None:
    html = str(mrkdwn("*bold* _italic_ ~gone~ `a <b> c` snake_case_word 2*3*4", NAMES))
    assert "<strong>bold</strong>" in html
    assert "<em>italic</em>" in html
    assert "<s>gone</s>" in html
    assert "<code>a &lt;b&gt; c</code>" in html
    assert "snake_case_word" in html and "2*3*4" in html


def test_code_is_not_formatted_inside() -> None:
    html = str(mrkdwn("`*not bold*` ```line *one*\n<@U01ALICE>```", NAMES))
    assert "<code>*not bold*</code>" in html
    assert "<pre>line *one*\n&lt;@U01ALICE&gt;</pre>" in html


def test_mentions_channels_groups_and_dates() -> None:
    html = str(
        mrkdwn(
            "<@U01ALICE> <@U09NOBODY> <#C0001> <#C0002|named> <!subteam^S01> "
            "<!date^1700000000^{date}|Nov 14>",
            NAMES,
        )
    )
    assert '<span class="mention">@alice</span>' in html
    assert "@U09NOBODY" in html
    assert 'data-channel="C0001">#oor-1-payment-failure</a>' in html
    assert ">#named</a>" in html
    assert "@payments-oncall" in html
    assert "Nov 14" in html


def test_links_keep_only_safe_schemes() -> None:
    html = str(
        mrkdwn(
            "<https://wiki.example.com/a?b=1&amp;c=2|Runbook> <http://x.example> "
            '<javascript:alert(1)|click> <https://e.example/"onmouseover=x|bad>',
            NAMES,
        )
    )
    assert '<a href="https://wiki.example.com/a?b=1&amp;c=2" target="_blank"' in html
    assert ">Runbook</a>" in html
    assert '<a href="http://x.example"' in html
    assert "javascript:" not in html.split("&lt;javascript")[0]
    assert 'href="javascript' not in html
    assert "onmouseover" not in html.replace("&#34;onmouseover", "")
    assert html.count("<a ") == 2


def test_label_of_a_link_is_escaped() -> None:
    html = str(mrkdwn("<https://x.example|<img src=x onerror=alert(1)>>", NAMES))
    assert "<img" not in html


def test_quotes_and_line_breaks() -> None:
    html = str(mrkdwn("first\n&gt; quoted *bit*\nlast", NAMES))
    assert '<br><span class="quote">quoted <strong>bit</strong></span><br>last' in html


def test_each_block_type() -> None:
    blocks = [
        {"type": "header", "text": {"type": "plain_text", "text": "🟠 OOR-1 <x>"}},
        {"type": "section", "text": {"type": "mrkdwn", "text": "*Alipay* <@U01ALICE>"}},
        {
            "type": "section",
            "fields": [
                {"type": "mrkdwn", "text": "*Severity*\nSEV2"},
                {"type": "plain_text", "text": "*not bold*"},
            ],
        },
        {"type": "divider"},
        {
            "type": "context",
            "elements": [
                {"type": "mrkdwn", "text": "Run `/oor help`"},
                {"type": "image", "image_url": "https://x.example/i.png", "alt_text": "logo"},
            ],
        },
        {"type": "image", "image_url": "https://x.example/i.png", "alt_text": "chart"},
        {"type": "rich_text", "elements": []},
    ]
    html = str(render.blocks(blocks, NAMES))
    assert '<div class="b-header">🟠 OOR-1 &lt;x&gt;</div>' in html
    assert '<strong>Alipay</strong> <span class="mention">@alice</span>' in html
    assert '<div class="b-field"><strong>Severity</strong><br>SEV2</div>' in html
    assert '<div class="b-field">*not bold*</div>' in html
    assert '<hr class="b-divider">' in html
    assert '<div class="b-context">' in html and "<code>/oor help</code>" in html
    assert "[image: chart]" in html
    assert "Unsupported block: rich_text" in html


def test_buttons_carry_what_the_click_needs() -> None:
    actions = {
        "type": "actions",
        "block_id": "board_actions",
        "elements": [
            {
                "type": "button",
                "action_id": "board_ack",
                "value": "1",
                "style": "primary",
                "text": {"type": "plain_text", "text": "Acknowledge"},
            },
            {
                "type": "button",
                "action_id": "board_resolve",
                "value": '1"><script>',
                "text": {"type": "plain_text", "text": "Resolve <now>"},
            },
            {
                "type": "button",
                "action_id": "open",
                "url": "https://x.example/runbook",
                "text": {"type": "plain_text", "text": "Runbook"},
            },
        ],
    }
    html = str(render.block(actions, NAMES))
    assert (
        '<button type="button" class="btn btn-primary" data-action-id="board_ack" '
        'data-value="1" data-block-id="board_actions">Acknowledge</button>'
    ) in html
    assert 'data-value="1&#34;&gt;&lt;script&gt;"' in html
    assert ">Resolve &lt;now&gt;</button>" in html
    assert '<a class="btn btn-default" href="https://x.example/runbook"' in html
    assert "<script" not in html


def test_a_message_without_blocks_shows_its_text() -> None:
    html = str(render.message_body({"text": "hello *there*", "blocks": None}, NAMES))
    assert "hello <strong>there</strong>" in html
