"""Runner backends: where a superstep's executor invocations execute.

The default, `LocalBackend`, runs them in the coordinator's event loop; ``LocalBackend(validate=True)``
round-trips each one through the wire codec a cluster uses. `RayBackend` (the ``baton[ray]`` extra)
runs them as Ray tasks; it is imported on first use so the engine works without Ray.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from engine.backends.base import Backend, Dispatcher, Invocation, InvocationResult, RemoteFailure
from engine.backends.execute import execute_invocation
from engine.backends.local import LocalBackend

if TYPE_CHECKING:
    from engine.backends.ray_backend import RayBackend

__all__ = [
    "Backend",
    "Dispatcher",
    "Invocation",
    "InvocationResult",
    "LocalBackend",
    "RayBackend",
    "RemoteFailure",
    "execute_invocation",
]


def __getattr__(name: str) -> Any:
    if name == "RayBackend":
        try:
            from engine.backends.ray_backend import RayBackend
        except ImportError as exc:  # ray missing
            raise ImportError(
                "RayBackend needs Ray; install the extra: `pip install 'baton[ray]'`"
            ) from exc
        return RayBackend
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
