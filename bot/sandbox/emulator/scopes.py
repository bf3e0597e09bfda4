"""Which bot scopes a Web API call needs, from its arguments and its target, as Slack decides.

A method's documented scope list (tests/fixtures/slack_methods/methods/<method>.json, `scope.bot`)
is the union of what it may need, not "any one of these": Slack picks the scope by what the call
touches. `conversations.list types=public_channel,private_channel` needs `channels:read` *and*
`groups:read`; `conversations.create is_private=true` needs `groups:write`, not `channels:manage`;
`conversations.history` in a direct message needs `im:history`. Slack groups its conversation
scopes in families, one member per conversation type (https://api.slack.com/scopes:
`channels:*` public channels, `groups:*` private channels, `mpim:*` group DMs, `im:*` DMs).

A call's needs are a conjunction of clauses; a clause is satisfied by any one of its scopes
(`conversations.setTopic` in a public channel: `channels:manage` or `channels:write.topic`).
The rule table itself is `bot.sandbox.emulator.methods`; the tests check that every scope a rule
can demand is one the method's JSON lists for bot tokens.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from bot.sandbox.emulator.args import Args
    from bot.sandbox.emulator.state import JSON, Workspace

#: Any one of these scopes satisfies the clause.
Clause = tuple[str, ...]
#: Every clause must be satisfied.
Needs = tuple[Clause, ...]


class Kind(StrEnum):
    """Slack's conversation types, spelled as `conversations.list` takes them in `types`."""

    PUBLIC = "public_channel"
    PRIVATE = "private_channel"
    MPIM = "mpim"
    IM = "im"


def kind_of(channel: JSON) -> Kind:
    if channel.get("is_im"):
        return Kind.IM
    if channel.get("is_mpim"):
        return Kind.MPIM
    return Kind.PRIVATE if channel.get("is_private") else Kind.PUBLIC


def _merged(clauses: Iterable[Clause]) -> Clause:
    return tuple(dict.fromkeys(scope for clause in clauses for scope in clause))


@dataclass(frozen=True)
class Family:
    """One clause per conversation type: the scope family of one kind of access."""

    public: Clause
    private: Clause
    mpim: Clause
    im: Clause

    def __getitem__(self, kind: Kind) -> Clause:
        return {
            Kind.PUBLIC: self.public,
            Kind.PRIVATE: self.private,
            Kind.MPIM: self.mpim,
            Kind.IM: self.im,
        }[kind]

    def any_kind(self) -> Clause:
        """For a target whose type is unknown (Slack then answers `channel_not_found`)."""
        return _merged(self[kind] for kind in Kind)


READ = Family(("channels:read",), ("groups:read",), ("mpim:read",), ("im:read",))
HISTORY = Family(("channels:history",), ("groups:history",), ("mpim:history",), ("im:history",))
MANAGE = Family(("channels:manage",), ("groups:write",), ("mpim:write",), ("im:write",))
# The granular `*.topic` / `*.invites` scopes allow just that one change.
TOPIC = Family(
    ("channels:manage", "channels:write.topic"),
    ("groups:write", "groups:write.topic"),
    ("mpim:write", "mpim:write.topic"),
    ("im:write", "im:write.topic"),
)
INVITE = Family(
    ("channels:manage", "channels:write.invites"),
    ("groups:write", "groups:write.invites"),
    ("mpim:write",),
    ("im:write",),
)


class ScopeRule(Protocol):
    def needs(self, ws: Workspace | None, args: Args) -> Needs:
        """The clauses this call needs; `ws` None when only the arguments are known."""
        ...

    def scopes(self) -> frozenset[str]:
        """Every scope the rule can ask for, whatever the arguments."""
        ...


@dataclass(frozen=True)
class NoScope:
    """Any valid token will do (`auth.test`, `views.*`, `chat.getPermalink`)."""

    def needs(self, ws: Workspace | None, args: Args) -> Needs:
        return ()

    def scopes(self) -> frozenset[str]:
        return frozenset()


NO_SCOPE = NoScope()


@dataclass(frozen=True)
class Always:
    """The same scope for every call, e.g. `chat:write` (it covers every conversation type)."""

    scope: str

    def needs(self, ws: Workspace | None, args: Args) -> Needs:
        return ((self.scope,),)

    def scopes(self) -> frozenset[str]:
        return frozenset({self.scope})


@dataclass(frozen=True)
class ByTarget:
    """The family member for the type of the conversation named by `arg`."""

    family: Family
    arg: str = "channel"

    def needs(self, ws: Workspace | None, args: Args) -> Needs:
        channel = None if ws is None else ws.find_channel(args.get_str(self.arg))
        if channel is None:
            return (self.family.any_kind(),)
        return (self.family[kind_of(channel)],)

    def scopes(self) -> frozenset[str]:
        return frozenset(self.family.any_kind())


@dataclass(frozen=True)
class ByListedTypes:
    """One family member per type listed in `types` (default: public channels only)."""

    family: Family
    arg: str = "types"

    def needs(self, ws: Workspace | None, args: Args) -> Needs:
        listed = args.get_list(self.arg) or [Kind.PUBLIC.value]
        known = {kind.value for kind in Kind}  # others: the handler answers invalid_types
        return tuple(self.family[Kind(t)] for t in dict.fromkeys(listed) if t in known)

    def scopes(self) -> frozenset[str]:
        return frozenset(self.family.any_kind())


@dataclass(frozen=True)
class ByPrivacy:
    """`conversations.create`: a public channel or, with `is_private=true`, a private one."""

    family: Family
    arg: str = "is_private"

    def needs(self, ws: Workspace | None, args: Args) -> Needs:
        kind = Kind.PRIVATE if args.get_bool(self.arg) else Kind.PUBLIC
        return (self.family[kind],)

    def scopes(self) -> frozenset[str]:
        return frozenset(self.family.public + self.family.private)


@dataclass(frozen=True)
class ByRecipients:
    """`conversations.open`: a DM with one person, a group DM with several, or `channel`."""

    family: Family

    def needs(self, ws: Workspace | None, args: Args) -> Needs:
        users = set(args.get_list("users"))
        if not users:
            return ByTarget(self.family).needs(ws, args)
        if ws is not None:
            users.discard(ws.bot_user_id)
        return (self.family.im if len(users) <= 1 else self.family.mpim,)

    def scopes(self) -> frozenset[str]:
        return frozenset(self.family.any_kind())


def unmet(needs: Needs, granted: Iterable[str]) -> Clause | None:
    """The first clause none of the `granted` scopes satisfies, or None if all are met."""
    have = set(granted)
    return next((clause for clause in needs if not have.intersection(clause)), None)
