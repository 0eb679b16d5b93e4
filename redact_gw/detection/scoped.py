"""Per-request detection settings: the hook a phased rollout uses (``review/rollout.py``).

An admin applies a previewed change (thresholds, entity types disabled) to one route
or tenant. The gateway sets ``override_var`` for a request of that scope; the pool
sends the override with the batch (a batch holds jobs of one override only) and the
worker runs ``detector_for(detector, override)``: the same loaded model with the
settings swapped, so a lowered threshold returns the lower-scored candidates the
default settings drop. Requests without an override (``None``) take the path they
always took: same batches, same detector object.
"""

from __future__ import annotations

import contextvars
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from redact_gw.detection.base import Detector
from redact_gw.errors import DetectionFailed
from redact_gw.settings import DetectionSettings

#: Scoped detections kept per process (each shares the loaded model).
MAX_CACHED = 32


@dataclass(frozen=True, slots=True)
class Override:
    """Detection settings for one scope, over the gateway's own (hashable, picklable)."""

    thresholds: tuple[tuple[str, float], ...] = ()
    default_threshold: float | None = None
    disable: frozenset[str] = frozenset()

    @classmethod
    def of(cls, thresholds: Mapping[str, float], default_threshold: float | None,
           disable: frozenset[str] | set[str]) -> Override:
        """An override from plain values (sorted, so equal overrides compare equal)."""
        return cls(tuple(sorted(thresholds.items())), default_threshold, frozenset(disable))

    def settings(self, base: DetectionSettings) -> DetectionSettings:
        """``base`` with this override applied.

        Disabled types go to ``disabled_entities`` (their spans are dropped) and
        ``entities`` stays the base's: the override names no type, so every other
        type keeps the base's semantics exactly (``None`` does not become a list that
        would opt DATE_TIME and URL in to a higher score).
        """
        return base.model_copy(update={
            "thresholds": {**base.thresholds, **dict(self.thresholds)},
            "default_threshold": (base.default_threshold if self.default_threshold is None
                                  else self.default_threshold),
            "disabled_entities": base.disabled_entities | self.disable})


#: The override of the request being handled (``None``: the gateway's own settings).
override_var: contextvars.ContextVar[Override | None] = contextvars.ContextVar(
    "redact_gw_detection_override", default=None)

#: (id of the base detector, override) -> (that base detector, its scoped copy). The
#: entry holds the base itself, so its id cannot be reused by another detector while
#: the entry lives.
_cache: dict[tuple[int, Override], tuple[Detector, Detector]] = {}


def detector_for(detector: Detector, override: Override | None) -> Detector:
    """``detector`` itself without an override; else its ``with_settings`` copy (kept).

    A detector without ``with_settings`` cannot honour an override: the job fails
    closed (nothing is forwarded) rather than run under settings nobody applied.
    """
    if override is None:
        return detector
    key = (id(detector), override)
    found = _cache.get(key)
    if found is not None:
        return found[1]
    with_settings: Any = getattr(detector, "with_settings", None)
    base: Any = getattr(detector, "settings", None)
    if with_settings is None or not isinstance(base, DetectionSettings):
        raise DetectionFailed("this detector cannot apply scoped settings; nothing was"
                              " forwarded", code="detection_scope_unsupported")
    if len(_cache) >= MAX_CACHED:
        _cache.pop(next(iter(_cache)))
    scoped: Detector = with_settings(override.settings(base))
    _cache[key] = (detector, scoped)
    return scoped
