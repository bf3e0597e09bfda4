"""Stateful Slack Web API emulator, served over real HTTP for tests and the sandbox mode.

Point `slack_sdk.WebClient(token=..., base_url=server.api_url)` at an `EmulatorServer` and the
bot talks to an in-memory workspace that follows Slack's rules, error codes and rate limits.
"""

from bot.sandbox.emulator.app import create_emulator_app
from bot.sandbox.emulator.emulator import ApiResult, Emulator
from bot.sandbox.emulator.faults import (
    SLACK_RATE_LIMITS,
    ChannelRate,
    Fault,
    FaultInjector,
    RateLimiter,
    SlackRateLimits,
)
from bot.sandbox.emulator.methods import METHODS, MethodSpec
from bot.sandbox.emulator.server import EmulatorServer
from bot.sandbox.emulator.state import Call, SlackError

__all__ = [
    "METHODS",
    "SLACK_RATE_LIMITS",
    "ApiResult",
    "Call",
    "ChannelRate",
    "Emulator",
    "EmulatorServer",
    "Fault",
    "FaultInjector",
    "MethodSpec",
    "RateLimiter",
    "SlackError",
    "SlackRateLimits",
    "create_emulator_app",
]
