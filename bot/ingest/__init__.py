"""Turning webhook requests into domain events.

Everything a request goes through before the ingest service sees it, in order:

- :mod:`~bot.ingest.limits`: JSON media type (415) and a bounded body read (413);
- :mod:`~bot.ingest.auth`: a Standard Webhooks signature or a bearer token (401);
- :mod:`~bot.ingest.json_body`: decode the body (400 not a JSON object) and refuse (422) or,
  for Alertmanager, scrub what no database stores (NUL, lone surrogates, ``1e400``);
- :mod:`~bot.ingest.native` / :mod:`~bot.ingest.alertmanager`: validate it (422 schema)
  into :class:`~bot.domain.events.OorEvent` objects, every stored value within its column.

All failures are :class:`~bot.ingest.errors.IngestError`, carrying the HTTP status and the
JSON error body, so the HTTP layer handles every adapter the same way.
"""
