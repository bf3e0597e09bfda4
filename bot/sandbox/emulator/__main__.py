"""`python -m bot.sandbox.emulator --port 8900`: serve a demo Slack workspace."""

from bot.sandbox.emulator.server import main

main()
