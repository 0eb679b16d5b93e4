"""Which waiting transcripts a free detection worker takes (``pool.DetectionPool``).

A worker answers its batch job by job but takes new work only when the whole batch
is done, so a transcript that arrives while every worker is busy waits for the end of
a batch. The latency of one utterance among many in flight is therefore set by how
long batches last and how evenly they are spread, and three rules keep both short:

- **Shares that finish together.** A free worker takes the part of the queue that
  makes it finish about when the other workers able to take the rest do (``share``:
  "water filling" over each worker's remaining work, estimated from the measured cost
  per character, counted twice over). With 10 utterances waiting and the other worker
  about to finish, this one takes 5 or 6; when the other has just taken a long batch, the
  free one takes all 10.
  Under a deep queue the share is at least ``batch_size``, so batches stay as large
  (and as cheap per utterance) as before.
- **A time budget per batch.** Beyond its first transcript a batch holds at most
  ``BUDGET_CHARS`` characters (16 utterances of 250 characters, two call-length texts):
  a worker busy with calls is free again within one or two calls' time, not after
  sixteen, so a chat line arriving meanwhile does not wait for all of them.
- **Short first, nobody starved.** Within the oldest ``WINDOW`` waiting transcripts a
  batch starts with the one of the highest response ratio (time waited over its own
  cost, "highest response ratio next"): a 200-character utterance goes ahead of a
  2,000-character call that has waited about as long, but every waiting
  transcript's ratio grows as it waits while a newcomer's starts at zero, so a long
  one is taken after a bounded wait. Transcripts under ``SHORT_CHARS`` count as that
  size, so utterances among themselves keep first come, first served.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Sequence
from typing import Protocol, TypeVar

#: The cost of a transcript beyond its characters (views, resolution, the frames), in
#: characters: a 50-character line costs about as much as a 150-character one.
JOB_CHARS = 100
#: Transcripts shorter than this are equally urgent at equal waits (first come, first
#: served among utterances); longer ones yield to them for a while.
SHORT_CHARS = 1_000
#: Characters one batch holds beyond its first transcript.
BUDGET_CHARS = 4_000
#: A busy worker's remaining work counts this many times its estimate when a free one
#: leaves it a share: leaving work to a worker that finishes late makes that work wait
#: a whole batch, and larger batches cost less per utterance. (Simulated, 16 in flight:
#: 1 keeps the p99 as low but costs 7% of throughput; 2 keeps the throughput.)
BUSY_WEIGHT = 2.0
#: Waiting transcripts (the oldest) considered for a batch: bounds the dispatcher's
#: work per batch however long the queue is.
WINDOW = 256


class Waiting(Protocol):
    """What the scheduler reads of a waiting job."""

    chars: int
    queued_at: float
    solo: bool

    @property
    def batch_key(self) -> object:
        """Jobs batch together only when their keys are equal."""


J = TypeVar("J", bound=Waiting)


def cost(chars: int) -> int:
    """A transcript's estimated cost, in characters."""
    return chars + JOB_CHARS


def urgency(waited_s: float, chars: int) -> float:
    """Response ratio less one: seconds waited per unit of (at least short) cost."""
    return waited_s / max(cost(chars), SHORT_CHARS)


def share(waiting: float, others: Iterable[float]) -> float:
    """The cost a free worker should take of ``waiting`` so that it and the other
    workers (``others``: the cost each still has to run, 0 when idle, weighted by
    ``BUSY_WEIGHT``) that can take the rest all finish about together."""
    total, counted = waiting, 1
    for remaining in sorted(r * BUSY_WEIGHT for r in others):
        if total / counted <= remaining:
            break  # this worker (and the later ones) finish after the level
        total += remaining
        counted += 1
    return total / counted


def pick(waiting: Iterable[J], now: float, level: float, batch_size: int,
         batch_chars: int) -> list[J]:
    """One batch from ``waiting`` (one tenant's jobs, oldest first): the most urgent
    job, then the next most urgent ones with its batch key while the batch's cost
    stays near ``level`` and within ``batch_size``, ``batch_chars`` and
    ``BUDGET_CHARS``. A job retried alone (``solo``) is a batch of its own."""
    window: Sequence[J] = list(itertools.islice(waiting, WINDOW))
    if not window:
        return []
    order = sorted(window, key=lambda j: -urgency(now - j.queued_at, j.chars))
    first = order[0]
    batch, chars, units = [first], first.chars, cost(first.chars)
    if first.solo:
        return batch
    for job in order[1:]:
        if len(batch) >= batch_size:
            break
        if job.solo or job.batch_key != first.batch_key:
            continue
        if chars + job.chars > min(batch_chars, BUDGET_CHARS):
            continue  # a smaller one may still fit
        if units + cost(job.chars) / 2 > level:
            break  # the rest is the other workers' share
        batch.append(job)
        chars += job.chars
        units += cost(job.chars)
    return batch
