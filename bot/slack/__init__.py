"""Slack adapter: the Web API gateway, Bolt listeners, Block Kit views and channel flows."""
