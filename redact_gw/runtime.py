"""Process tuning for tail latency: CPython's cyclic garbage collector.

CPython's collector is generational; a collection of the oldest generation walks every
container object the process holds. A detection worker holds about 165,000 of them
once Presidio and spaCy are loaded and warmed up (its recognizers, their patterns,
the pipeline's Python objects, the word lists), and such a pass costs about 110 ms of
CPU; a gateway process holds about 55,000-70,000. The collector starts that pass by
itself when enough new objects have outlived the younger generations, at whatever
moment that happens: in a worker it holds up the batch it is running (every
transcript in it, up to 16 short ones), in the gateway it blocks the event loop and
with it every request in flight and ``/healthz``.

Nearly all of those objects live as long as the process, so after the warm-up
``settle_gc`` moves them into the permanent generation (``gc.freeze``): later
collections of the oldest generation walk only what was allocated since (a few
thousand objects, under a few milliseconds). Reference counting still frees frozen
objects that stop being used; what freezing gives up is only the collection of
reference cycles among objects that already existed at that moment, and the
collection just before it frees the cycles that were garbage then.
"""

from __future__ import annotations

import gc


def settle_gc() -> int:
    """Collect once, then freeze every object that exists now; the number frozen.

    Call it once, after the process has loaded and warmed up what it keeps (the
    detection worker after its first detection, the gateway after its start-up).
    """
    gc.collect()
    gc.freeze()
    return gc.get_freeze_count()
