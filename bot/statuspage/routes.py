"""The public HTTP side: ``/status``, ``/status/history.atom``, ``/status/api/v2/*.json``.

Public and read-only: no login, no cookie is ever set, nothing but GET/HEAD. Every
answer carries a strong ``ETag`` and ``Cache-Control`` and a matching ``If-None-Match``
gets ``304`` with no body, so browsers, CDNs and widgets polling during an outage cost
a header comparison.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from urllib.parse import urlparse

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from bot.domain.plan_sections import Locale
from bot.statuspage.cache import Document
from bot.statuspage.statuspage_json import JSON_DOCUMENTS

CACHE_CONTROL = "public, max-age=10"
_HOST = re.compile(r"[A-Za-z0-9.-]+(:[0-9]{1,5})?")
_COMMON = {
    "Cache-Control": CACHE_CONTROL,
    # The language may come from Accept-Language: shared caches must key on it.
    "Vary": "Accept-Language",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
}


def choose_locale(request: Request, default: Locale) -> Locale:
    """``?lang=`` first, then the best ``Accept-Language`` entry we speak, else the plan's."""
    asked = request.query_params.get("lang")
    if asked:
        found = _locale_of(asked)
        if found is not None:
            return found
    ranked: list[tuple[float, int, Locale]] = []
    for index, part in enumerate(request.headers.get("accept-language", "").split(",")):
        tag, _, params = part.strip().partition(";")
        quality = 1.0
        for param in params.split(";"):
            key, _, value = param.strip().partition("=")
            if key == "q":
                try:
                    quality = float(value)
                except ValueError:
                    quality = 0.0
        found = _locale_of(tag)
        if found is not None and quality > 0:
            ranked.append((-quality, index, found))
    return min(ranked)[2] if ranked else default


def _locale_of(tag: str) -> Locale | None:
    primary = tag.strip().lower().split("-")[0].split("_")[0]
    if primary == "zh":
        return Locale.ZH_CN
    if primary == "en":
        return Locale.EN
    return None


def not_modified(request: Request, etag: str) -> bool:
    header = request.headers.get("if-none-match")
    if not header:
        return False
    tags = {tag.strip().removeprefix("W/") for tag in header.split(",")}
    return "*" in tags or etag in tags


def answer(request: Request, document: Document, locale: Locale, extra: dict[str, str]) -> Response:
    headers = {**_COMMON, **extra, "ETag": document.etag, "Content-Language": locale.value}
    if not_modified(request, document.etag):
        return Response(status_code=304, headers=headers)
    return Response(document.body, media_type=document.media_type, headers=headers)


def html_headers(logo_url: str | None) -> dict[str, str]:
    """No script at all; images only from the logo's own origin."""
    images = "'self'"
    if logo_url:
        parts = urlparse(logo_url)
        # Only a plain host[:port] goes into the header (no quotes, spaces or ';').
        if _HOST.fullmatch(parts.netloc):
            images += f" {parts.scheme}://{parts.netloc}"
    return {
        "Content-Security-Policy": (
            f"default-src 'none'; style-src 'unsafe-inline'; img-src {images}; "
            "base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
        ),
    }


JSON_HEADERS = {"Access-Control-Allow-Origin": "*"}  # widgets on other sites read it

Fetch = Callable[[str, Locale], Awaitable[Document]]


def status_routes(fetch: Fetch, default_locale: Locale, logo_url: str | None) -> list[BaseRoute]:
    page_headers = html_headers(logo_url)

    async def page(request: Request) -> Response:
        locale = choose_locale(request, default_locale)
        return answer(request, await fetch("page.html", locale), locale, page_headers)

    async def feed(request: Request) -> Response:
        locale = choose_locale(request, default_locale)
        return answer(request, await fetch("history.atom", locale), locale, {})

    async def api(request: Request) -> Response:
        name = request.path_params["name"]
        if name not in JSON_DOCUMENTS:
            return Response('{"error":"not_found"}', 404, media_type="application/json")
        locale = choose_locale(request, default_locale)
        return answer(request, await fetch(name, locale), locale, JSON_HEADERS)

    return [
        Route("/status", page, methods=["GET"]),
        Route("/status/", page, methods=["GET"]),
        Route("/status/history.atom", feed, methods=["GET"]),
        Route("/status/api/v2/{name:path}", api, methods=["GET"]),
    ]
