"""Stored rows back to checkpoints: the integrity checks and parsing the SQL stores share.

The stores fetch rows; these functions decide whether the rows are intact. Keeping the decision here
means the SQLite and PostgreSQL stores call the same damage by the same words and trust the same rows.
A check that fails raises `ValueError` saying what is damaged; the store turns it into
`CheckpointCorruptError` with `corrupt()`, naming the newest intact checkpoint before the damaged one.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, LiteralString

from engine.checkpoint import (
    Checkpoint,
    CheckpointInfo,
    blob_keys_of,
    body_digest,
    checkpoint_from_json,
    checkpoint_to_json,
)
from engine.events import RunStatus

__all__ = [
    "INFO_COLUMNS",
    "StoredBody",
    "assemble",
    "blob_keys_to_fetch",
    "info_from_row",
    "rows_of",
]

INFO_COLUMNS: LiteralString = (
    "checkpoint_id, run_id, parent_id, superstep, status, reason, created_at"
)
"""The columns `info_from_row` reads, in its order."""


def rows_of(
    checkpoint: Checkpoint,
) -> tuple[tuple[Any, ...], list[tuple[str, str, str, str]]]:
    """The checkpoint row (`INFO_COLUMNS`, body, digest) and its blob rows (run, key, body, digest)."""
    body, blobs = checkpoint_to_json(checkpoint)
    row = (
        checkpoint.checkpoint_id,
        checkpoint.run_id,
        checkpoint.parent_id,
        checkpoint.superstep,
        str(checkpoint.status),
        checkpoint.reason,
        checkpoint.created_at,
        body,
        body_digest(body),
    )
    blob_rows = [(checkpoint.run_id, k, text, body_digest(text)) for k, text in blobs.items()]
    return row, blob_rows


@dataclass(frozen=True, slots=True)
class StoredBody:
    """A checkpoint row as stored: its id, its body text and the digest written beside it."""

    checkpoint_id: str
    body: str
    digest: str


def blob_keys_to_fetch(stored: StoredBody) -> list[str]:
    """The blob keys of a body whose digest matches, sorted; `ValueError` for a torn or altered body.

    The digest is checked before the body is parsed, so a torn write that still happens to be valid
    JSON (a truncated list inside a value, say) is caught too.
    """
    if body_digest(stored.body) != stored.digest:
        raise ValueError("its body does not match its digest (torn or altered)")
    return sorted(blob_keys_of(stored.body))


def assemble(stored: StoredBody, blob_rows: Iterable[tuple[str, str, str]]) -> Checkpoint:
    """The checkpoint from a body checked by `blob_keys_to_fetch` and its ``(key, text, digest)`` blobs.

    Raises `ValueError` when a blob fails its digest, a referenced blob is missing (a partial delete,
    a lost row) or the texts cannot be parsed.
    """
    blobs: dict[str, str] = {}
    for key, text, digest in blob_rows:
        if body_digest(text) != digest:
            raise ValueError(f"state blob `{key}` does not match its digest")
        blobs[key] = text
    return checkpoint_from_json(stored.body, blobs)


def info_from_row(row: Iterable[Any]) -> CheckpointInfo:
    """`CheckpointInfo` from a row of the `INFO_COLUMNS`."""
    cid, run_id, parent, step, status, reason, created = row
    return CheckpointInfo(
        checkpoint_id=str(cid),
        run_id=str(run_id),
        parent_id=None if parent is None else str(parent),
        superstep=int(step),
        status=RunStatus(str(status)),
        reason=reason,
        created_at=float(created),
    )
