"""Errors of agents and chat clients; all derive from `engine.BatonError`.

```
BatonError
└── AgentError                     something went wrong around a model call
    ├── ChatClientError            the model endpoint failed; `.status_code` when HTTP answered
    │   ├── ChatAuthenticationError    401/403: missing or wrong API key
    │   ├── ModelNotFoundError         404: the model (or endpoint) does not exist
    │   ├── RateLimitError             429 after the SDK's retries
    │   ├── ChatServerError            5xx after the SDK's retries
    │   ├── ChatTimeoutError           no answer within the timeout
    │   └── ChatConnectionError        nothing listens at the base URL
    ├── ToolLoopLimitError         a turn asked for more tool rounds than `max_tool_iterations`
    └── ScriptExhaustedError       a `ScriptedChatClient` was asked for more replies than it holds
```

Mistakes of the model itself (bad JSON arguments, unknown tools, a tool that raises) are not errors: they
become error results the model reads, and the turn goes on.
"""

from __future__ import annotations

from engine import BatonError

__all__ = [
    "AgentError",
    "ChatAuthenticationError",
    "ChatClientError",
    "ChatConnectionError",
    "ChatServerError",
    "ChatTimeoutError",
    "ModelNotFoundError",
    "RateLimitError",
    "ScriptExhaustedError",
    "ToolLoopLimitError",
]


class AgentError(BatonError):
    """Base of agent and chat-client errors."""


class ChatClientError(AgentError):
    """The model endpoint failed."""

    def __init__(self, message: str, *, status_code: int | None = None) -> None:
        super().__init__(message)
        self.status_code = status_code


class ChatAuthenticationError(ChatClientError):
    """The server rejected the credentials (401/403)."""


class ModelNotFoundError(ChatClientError):
    """The model or endpoint does not exist (404)."""


class RateLimitError(ChatClientError):
    """The server kept answering 429 after the retries."""


class ChatServerError(ChatClientError):
    """The server kept failing (5xx) after the retries."""


class ChatTimeoutError(ChatClientError):
    """The server did not answer in time."""


class ChatConnectionError(ChatClientError):
    """The server could not be reached."""


class ToolLoopLimitError(AgentError):
    """A turn exceeded its cap on tool-calling rounds."""


class ScriptExhaustedError(AgentError):
    """A scripted client ran out of replies."""
