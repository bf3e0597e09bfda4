"""The read API: incidents as JSON for dashboards and scripts, and the CLI that mirrors it.

- :mod:`~bot.api.queries`: the list filters (parsed and validated once, for HTTP and the
  CLI alike) and the storage reads behind them;
- :mod:`~bot.api.serialize`: snapshots to JSON-ready dicts (ISO 8601 UTC datetimes,
  decimals as strings), the one shape both the API and ``oor-bot incidents --json`` print;
- :mod:`~bot.api.routes`: ``GET /api/incidents`` and ``GET /api/incidents/{id}`` behind a
  bearer token. Without ``OOR_API_TOKEN`` the API does not exist (every path is a 404).
"""
