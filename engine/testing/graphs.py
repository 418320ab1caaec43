"""The small typed no-op executors that generated graphs are made of, and the message they pass.

Every executor appends its id to the `Token` it passes on, so a run's outputs show the way each
message went: the route is the data. A `Join` (a fan-in target) records how many parts it joined.
"""

from __future__ import annotations

from dataclasses import dataclass

from engine.context import WorkflowContext
from engine.executor import Executor, handler

__all__ = ["Join", "Relay", "RouteLength", "Sink", "Token"]


@dataclass(frozen=True, slots=True)
class Token:
    """The message of a generated graph: the ids of the executors it passed, in order."""

    route: tuple[str, ...] = ()


class Relay(Executor):
    """Passes the token on, with its id added."""

    @handler
    async def on_token(self, token: Token, ctx: WorkflowContext[Token]) -> None:
        """Pass it on."""
        await ctx.send_message(Token((*token.route, self.id)))


class Join(Executor):
    """A fan-in target (and a plain relay when a loop brings it a single token)."""

    @handler
    async def on_parts(self, parts: list[Token], ctx: WorkflowContext[Token]) -> None:
        """Pass on the first part's route, marked with how many parts were joined."""
        await ctx.send_message(Token((*parts[0].route, f"{self.id}*{len(parts)}")))

    @handler
    async def on_token(self, token: Token, ctx: WorkflowContext[Token]) -> None:
        """Pass it on."""
        await ctx.send_message(Token((*token.route, self.id)))


class Sink(Executor):
    """The end of a generated graph: yields each token it receives as a workflow output."""

    @handler
    async def on_token(self, token: Token, ctx: WorkflowContext[None, Token]) -> None:
        """Yield it."""
        await ctx.yield_output(Token((*token.route, self.id)))


class RouteLength:
    """A switch predicate of generated graphs: ``len(token.route) % modulus == remainder``."""

    __slots__ = ("__name__", "modulus", "remainder")

    def __init__(self, modulus: int, remainder: int) -> None:
        self.modulus, self.remainder = modulus, remainder
        self.__name__ = f"len%{modulus}=={remainder}"

    def __call__(self, token: Token) -> bool:
        """Whether the token's route length has this remainder."""
        return len(token.route) % self.modulus == self.remainder
