"""Sandbox tooling: a local stand-in for Slack so the bot can run and be tested offline."""
