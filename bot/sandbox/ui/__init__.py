"""The sandbox in the browser: ``GET /sandbox`` shows the emulated workspace and works it.

`SandboxUI` serves the page and its JSON endpoints; everything the page does reaches the
bot the way Slack and a payment monitor would (signed ``/slack/events``, ``/webhooks/oor``).
"""

from bot.sandbox.ui.routes import SandboxUI
from bot.sandbox.ui.session import SandboxTarget

__all__ = ["SandboxTarget", "SandboxUI"]
