"""Server-sent events on the wire: ``SseDecoder`` turns body lines into ``SseEvent``s,
``SseEvent.encode`` writes one back."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(slots=True)
class SseEvent:
    """One server-sent event: its non-data field lines and its joined data."""

    fields: list[str] = field(default_factory=list)
    data: str | None = field(default=None, repr=False)

    def encode(self) -> bytes:
        """Wire form, ending with the blank line."""
        lines = list(self.fields)
        if self.data is not None:
            lines += ["data: " + line for line in self.data.split("\n")]
        return ("\n".join(lines) + "\n\n").encode("utf-8")


class SseDecoder:
    """Turns lines of an SSE body into events (``feed`` one line at a time)."""

    def __init__(self) -> None:
        self._event = SseEvent()
        self._data: list[str] = []

    def feed(self, line: str) -> SseEvent | None:
        """Consume one line (with or without its line ending); return a finished event."""
        line = line.rstrip("\r\n")
        if line:
            if line.startswith("data:"):
                value = line[5:]
                self._data.append(value[1:] if value.startswith(" ") else value)
            else:
                self._event.fields.append(line)
            return None
        return self.flush()

    def flush(self) -> SseEvent | None:
        """The event under construction, if it has anything."""
        if not self._data and not self._event.fields:
            return None
        event = self._event
        event.data = "\n".join(self._data) if self._data else None
        self._event, self._data = SseEvent(), []
        return event
