"""The table of mutation paths: what each mutation kind changes, as (path, old, new) triples.

The one statement of it on the Python side: the engine merges these changes (sync/merge.py),
the reference client shows them on its optimistic view. pwa/page/edits.js `changedPaths` is its
JavaScript twin; tests/cases/mutation_paths.json holds them both to the same cases. Pure: no
checks of who may change what (the engine's), no server stamps (`by`, `at`, `available`).
"""

from __future__ import annotations

import copy
from typing import Any

import msgspec

from sync.merge import get_path, set_path
from sync.protocol import (
    AddHazard,
    AddObservation,
    Attach,
    CreatePremises,
    DeletePremises,
    Detach,
    Mutation,
    RemoveHazard,
    ResolveConflict,
    RestorePremises,
    ReviewObservation,
    Update,
    UpdateHazard,
)

Change = tuple[str, Any, Any]  # (path, the value the client saw, the value it wants)
Doc = dict[str, Any]


def changes(m: Mutation, current: Doc, conflict: Doc | None = None) -> list[Change]:
    """The (path, old, new) changes `m` makes to `current` (the record as it stands).

    `old` comes from the mutation where it carries one, else from `current`. A resolution's
    changes come from the conflict it resolves (none without it); an attach of a blob already
    attached under that id changes nothing (a re-sent mutation).
    """
    if isinstance(m, Update):
        return [(c.field, c.old, c.new) for c in m.changes]
    if isinstance(m, AddHazard):
        return [(f"hazards/{m.hazard.id}", None, msgspec.to_builtins(m.hazard))]
    if isinstance(m, RemoveHazard):
        path = f"hazards/{m.hazard_id}"
        return [(path, _old(m.old, current, path), None)]
    if isinstance(m, UpdateHazard):
        return [(f"hazards/{m.hazard_id}/{c.field}", c.old, c.new) for c in m.changes]
    if isinstance(m, AddObservation):
        return [(f"observations/{m.observation.id}", None, msgspec.to_builtins(m.observation))]
    if isinstance(m, ReviewObservation):
        path = f"observations/{m.observation_id}/status"
        return [(path, m.old if m.old is not None else get_path(current, path), m.status)]
    if isinstance(m, Attach):
        path = f"attachments/{m.attachment.id}"
        existing = get_path(current, path)
        if existing is not None and existing.get("sha256") == m.attachment.sha256:
            return []
        return [(path, None, msgspec.to_builtins(m.attachment))]
    if isinstance(m, Detach):
        path = f"attachments/{m.attachment_id}"
        return [(path, _old(m.old, current, path), None)]
    if isinstance(m, CreatePremises):
        return [(f, None, v) for f, v in msgspec.to_builtins(m.record).items()]
    if isinstance(m, DeletePremises):
        return [("deleted", bool(current.get("deleted")), True)]
    if isinstance(m, RestorePremises):
        return [("deleted", bool(current.get("deleted")), False)]
    if isinstance(m, ResolveConflict):
        return _resolution(m, current, conflict)
    raise TypeError(f"no paths for {type(m).__name__}")


def _resolution(m: ResolveConflict, current: Doc, conflict: Doc | None) -> list[Change]:
    if conflict is None:
        return []
    path, deleted = conflict["path"], bool(current.get("deleted"))
    if m.choice == "client":
        return [(path, conflict["server"], conflict["client"])]
    if m.choice == "value":
        return [(path, conflict["server"], m.value)]
    if m.choice == "delete" and not deleted:
        return [("deleted", False, True)]
    if m.choice == "keep" and deleted:
        return [("deleted", True, False)]
    return []  # "server": the record already holds the server value


def _old(sent: msgspec.Struct | None, current: Doc, path: str) -> Any:
    return msgspec.to_builtins(sent) if sent is not None else get_path(current, path)


def applied(doc: Doc, changed: list[Change]) -> Doc:
    """A copy of `doc` with each change's new value set at its path (the optimistic view)."""
    out = copy.deepcopy(doc)
    for path, _, new in changed:
        set_path(out, path, new)
    return out
