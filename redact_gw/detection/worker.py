"""A detection worker process: ``python -m redact_gw.detection.worker``.

The gateway starts one per core (``detection.pool``). Each worker loads the model,
runs a first detection, says it is ready, then answers batches until its stdin
closes, so a worker never outlives its gateway.

The channel is the worker's stdin and stdout, carrying frames of a 4-byte big-endian
length and a pickle (both ends are this package, started by the gateway itself;
nothing else writes to these pipes). Anything a library prints goes to stderr: the
stdout file descriptor is moved away before any import can write to it.

Frames:
    gateway -> worker: ``{"settings": DetectionSettings, "factory": "module:callable"
        | None, "log_format": "json" | "text"}`` once, then
        ``(batch_id, [(job_id, segments, known, request_id, keep_ner), ...], override)``
        (``override``: ``None``, or the scoped settings of every job of the batch;
        ``keep_ner``: the caller keeps each segment's NER, ``ner_memo``).
    worker -> gateway: ``("ready", info)`` (``pid``, ``rss``, ``gc_frozen``: objects
        frozen after the warm-up, ``redact_gw.runtime``) or ``("failed", error_type)``
        once, then per batch ``("job", job_id, spans | None, ner | None)`` for each job
        as soon as it is done (``None``: it failed on its own; logged here by exception
        type only, messages can quote text; ``ner``: per segment, when ``keep_ner``)
        and ``("done", batch_id, info)``.
"""

from __future__ import annotations

import importlib
import logging
import os
import pickle
import signal
import struct
import sys
from collections.abc import Callable, Iterator, Sequence
from typing import Any, BinaryIO

from redact_gw import runtime
from redact_gw.detection.base import Detector
from redact_gw.detection.scoped import detector_for
from redact_gw.errors import DetectionFailed
from redact_gw.logs import request_id_var, setup_logging
from redact_gw.model import KnownValue, Segment, SegmentNer, Span
from redact_gw.settings import DetectionSettings

log = logging.getLogger("redact_gw.detection.worker")
_LEN = struct.Struct(">I")
#: Frames above this size are refused (a corrupt length must not allocate gigabytes).
MAX_FRAME = 256 * 1024 * 1024

#: (job id, segments, known values, request id for the log lines about it, whether
#: the caller keeps the segments' NER).
Job = tuple[int, Sequence[Segment], Sequence[KnownValue], str | None, bool]
#: Per segment, its NER to keep (``None``: not asked for, or not kept).
Ner = list[SegmentNer | None] | None


def encode(obj: object) -> bytes:
    """One frame: length prefix and pickle."""
    body = pickle.dumps(obj, protocol=pickle.HIGHEST_PROTOCOL)
    return _LEN.pack(len(body)) + body


def read_frame(stream: BinaryIO) -> Any:
    """The next frame's object, or ``None`` at end of stream."""
    head = stream.read(_LEN.size)
    if len(head) < _LEN.size:
        return None
    (size,) = _LEN.unpack(head)
    if size > MAX_FRAME:
        raise ValueError("frame too large")
    body = stream.read(size)
    if len(body) < size:
        return None
    return pickle.loads(body)  # noqa: S301 - our own parent process, over a private pipe


def rss_bytes() -> int:
    """This process's resident set size (Linux ``/proc``; 0 elsewhere)."""
    try:
        with open("/proc/self/statm", "rb") as f:
            return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError, IndexError):
        return 0


def load_factory(path: str | None) -> Callable[[DetectionSettings], Detector]:
    """The detector factory: ``build_detector`` or ``module:callable`` (tests)."""
    if path is None:
        from redact_gw.detection import build_detector
        return build_detector
    module, _, name = path.partition(":")
    factory: Callable[[DetectionSettings], Detector] = getattr(
        importlib.import_module(module), name)
    return factory


def warm_vocabulary(detector: Detector) -> int:
    """Make the common words' lexemes and tokenization permanent in the detector's
    spaCy pipeline (``nlp.TranscriptNlpEngine.warm_vocabulary``), once, before the
    first batch; returns the lexemes added (0: the detector has no such pipeline)."""
    engine = getattr(getattr(detector, "analyzer", None), "nlp_engine", None)
    if engine is None:  # not a spaCy detector (tests): spaCy is not even imported
        return 0
    from redact_gw.detection.nlp import TranscriptNlpEngine, common_words

    if not isinstance(engine, TranscriptNlpEngine):
        return 0
    return engine.warm_vocabulary(common_words())


def run_batch(detector: Detector,
              jobs: Sequence[Job]) -> Iterator[tuple[int, list[list[Span]] | None, Ner]]:
    """Yield ``(job_id, spans, ner)`` for each job as soon as it is done (``None``
    spans: it failed; ``ner`` only for a job that keeps it).

    A detector with ``detect_each_keeping`` (``PresidioDetector``) does the whole batch
    in one ``nlp.pipe``, utterances in the order given and longer transcripts shortest
    first; if it fails, the jobs it had not answered are retried one by one, so one
    failing transcript fails alone.
    """
    pending = {job[0]: job for job in jobs}
    each = getattr(detector, "detect_each_keeping", None)
    if each is not None:
        try:
            for index, found, ner in each([(job[1], job[2]) for job in jobs],
                                          [job[4] for job in jobs]):
                job_id = jobs[index][0]
                del pending[job_id]
                yield job_id, found, ner if jobs[index][4] else None
        except Exception as exc:  # retried one by one below
            log.warning("batch detection failed (%s); retrying its jobs one by one",
                        type(exc).__name__)
    for job_id, segments, known, request_id, _keep in sorted(
            pending.values(), key=lambda job: sum(len(s.text) for s in job[1])):
        token = request_id_var.set(request_id)
        try:
            spans: list[list[Span]] | None = detector.detect(segments, known)
        except Exception as exc:  # reported to the gateway as failed
            log.error("detection failed: %s", type(exc).__name__)
            spans = None
        finally:
            request_id_var.reset(token)
        yield job_id, spans, None


def serve(inp: BinaryIO, out: BinaryIO) -> int:
    """Load, warm up, then answer batches until ``inp`` ends."""
    config = read_frame(inp)
    if config is None:
        return 0
    settings: DetectionSettings = config["settings"]
    setup_logging(config.get("log_format", "text"), "INFO")
    try:
        detector = load_factory(config.get("factory"))(settings)
        detector.warm_up()
        warm_vocabulary(detector)
    except Exception as exc:  # the gateway reports it and retries
        log.error("detection worker failed to start: %s", type(exc).__name__)
        out.write(encode(("failed", type(exc).__name__)))
        out.flush()
        return 1
    frozen = runtime.settle_gc()  # a full collection no longer walks the model
    out.write(encode(("ready", {"pid": os.getpid(), "rss": rss_bytes(),
                                "gc_frozen": frozen})))
    out.flush()
    done = 0
    while (frame := read_frame(inp)) is not None:
        batch_id, jobs, override = frame
        try:
            scoped = detector_for(detector, override)
        except DetectionFailed:
            log.error("detection worker: scoped settings unsupported; batch failed")
            scoped = None
        answers = (run_batch(scoped, jobs) if scoped is not None
                   else ((job[0], None, None) for job in jobs))
        for job_id, spans, ner in answers:
            out.write(encode(("job", job_id, spans, ner)))
            out.flush()
        done += len(jobs)
        out.write(encode(("done", batch_id, {"rss": rss_bytes(), "jobs": done})))
        out.flush()
    return 0


def main() -> int:
    """Entry point: take stdout for the channel, send stray prints to stderr.

    SIGINT and SIGTERM are ignored: a Ctrl+C in a terminal or a TERM sent to the
    whole process group must not kill workers while the gateway drains its in-flight
    requests. The gateway ends a worker by closing its stdin; if the gateway dies,
    the pipe closes and the worker exits the same way.
    """
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    channel_out = os.fdopen(os.dup(sys.stdout.fileno()), "wb")
    os.dup2(sys.stderr.fileno(), sys.stdout.fileno())
    channel_in = os.fdopen(os.dup(sys.stdin.fileno()), "rb")
    try:
        return serve(channel_in, channel_out)
    except (BrokenPipeError, KeyboardInterrupt):
        return 0


if __name__ == "__main__":
    sys.exit(main())
