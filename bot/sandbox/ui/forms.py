"""Modals the bot opens, as HTML forms inside the page's ``<dialog>``.

Each input block becomes one form field named after its ``block_id``; the page submits
``{block_id: value}`` and `bot.sandbox.ui.session` turns that into the ``view_submission``
state Slack would send. Text goes through ``markupsafe`` like everything in
`bot.sandbox.ui.render`, so a value or a label can never become markup.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from markupsafe import Markup

from bot.sandbox.ui.render import Names, block, label_text

JSON = dict[str, Any]
# The element types a field can be (`session` sends what each holds as Slack would).
TEXT, SELECT, USERS, DATE = "plain_text_input", "static_select", "users_select", "datepicker"


def input_field(
    item: JSON,
    names: Names,
    *,
    value: str | None = None,
    error: str | None = None,
) -> Markup:
    """An input block as a form field named after its block_id (how the page submits it)."""
    block_id = str(item.get("block_id") or "")
    element = item.get("element") or {}
    kind = element.get("type")
    field_id = f"field-{block_id}"
    attrs = Markup("") if block_id else Markup(" disabled")
    placeholder = label_text(element.get("placeholder"))
    common = Markup('id="{}" name="{}"').format(field_id, block_id)
    initial = _initial(element) if value is None else value
    if kind == TEXT:
        common += Markup(' placeholder="{}"').format(placeholder)
        if element.get("max_length"):
            common += Markup(' maxlength="{}"').format(int(element["max_length"]))
        if element.get("multiline"):
            control = Markup('<textarea {} rows="4"{}>{}</textarea>').format(common, attrs, initial)
        else:
            control = Markup('<input type="text" {} value="{}"{}>').format(common, initial, attrs)
    elif kind == SELECT:
        choices = [(str(o.get("value", "")), label_text(o.get("text"))) for o in _options(element)]
        control = _select(common + attrs, placeholder, choices, initial)
    elif kind == USERS:
        control = _select(common + attrs, placeholder or "Choose a person", names.people, initial)
    elif kind == DATE:
        control = Markup('<input type="date" {} value="{}"{}>').format(common, initial, attrs)
    else:
        control = Markup('<div class="unsupported">Unsupported input: {}</div>').format(kind)
    optional = Markup(' <span class="optional">(optional)</span>') if item.get("optional") else ""
    parts = [
        Markup('<label for="{}">{}{}</label>').format(
            field_id, label_text(item.get("label")), optional
        ),
        control,
    ]
    if item.get("hint"):
        parts.append(Markup('<div class="hint">{}</div>').format(label_text(item["hint"])))
    if error:
        parts.append(Markup('<div class="field-error" role="alert">{}</div>').format(error))
    css = "field has-error" if error else "field"
    return Markup('<div class="{}" data-block-id="{}">{}</div>').format(
        css, block_id, Markup("").join(parts)
    )


def _initial(element: JSON) -> str:
    """The value the bot filled in, for whichever kind of element this is."""
    for key in ("initial_value", "initial_date", "initial_user"):
        if element.get(key):
            return str(element[key])
    return str((element.get("initial_option") or {}).get("value") or "")


def _options(element: JSON) -> list[JSON]:
    return [o for o in element.get("options") or [] if isinstance(o, dict)]


def _select(
    attrs: Markup, placeholder: str, choices: Iterable[tuple[str, str]], chosen: str | None
) -> Markup:
    options = [Markup('<option value="">{}</option>').format(placeholder)]
    for choice_value, label in choices:
        selected = Markup(" selected") if choice_value == chosen else Markup("")
        options.append(
            Markup('<option value="{}"{}>{}</option>').format(choice_value, selected, label)
        )
    return Markup("<select {}>{}</select>").format(attrs, Markup("").join(options))


def modal(
    view: JSON,
    names: Names,
    *,
    values: Mapping[str, str] | None = None,
    errors: Mapping[str, str] | None = None,
) -> Markup:
    """A modal the bot opened, as the inside of the page's ``<dialog>`` form."""
    values = values or {}
    errors = errors or {}
    body: list[Markup] = []
    for item in view.get("blocks") or []:
        if isinstance(item, dict) and item.get("type") == "input":
            block_id = str(item.get("block_id") or "")
            body.append(
                input_field(item, names, value=values.get(block_id), error=errors.get(block_id))
            )
        else:
            body.append(block(item, names, interactive=False))
    known = {str(b.get("block_id")) for b in view.get("blocks") or [] if isinstance(b, dict)}
    stray = [f"{k}: {v}" for k, v in errors.items() if k not in known]
    if stray:
        body.append(
            Markup('<div class="field-error" role="alert">{}</div>').format("; ".join(stray))
        )
    submit = label_text(view.get("submit")) or "Submit"
    close = label_text(view.get("close")) or "Cancel"
    return Markup(
        '<header class="modal-title">{}</header><div class="modal-body">{}</div>'
        '<footer class="modal-actions"><button type="button" class="btn btn-default" '
        'data-modal-close>{}</button><button type="submit" class="btn btn-primary">{}</button>'
        "</footer>"
    ).format(label_text(view.get("title")), Markup("").join(body), close, submit)
