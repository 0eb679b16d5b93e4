"""Review-queue collectors, registered in the app's registry (fixed label sets only:
route templates, reason codes, verdict words, entity types, gap words)."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge

VERDICTS = ("correct", "missed", "not_pii")
#: Why a sample was not queued.
SKIP_CAUSES = ("daily_cap", "no_retention", "error")
#: What kind of detection gap a missed value shows.
GAPS = ("missed_instance", "missed_type", "unsupported_type")


class ReviewMetrics:
    """``redact_gw_review_*`` collectors."""

    def __init__(self, registry: CollectorRegistry) -> None:
        r = registry
        self.queued = Counter("redact_gw_review_items_total",
                              "Transcripts sampled into the review queue, by reason",
                              ["route", "reason"], registry=r)
        self.skipped = Counter("redact_gw_review_skipped_total",
                               "Samples not queued, by cause", ["cause"], registry=r)
        self.verdicts = Counter("redact_gw_review_verdicts_total", "Reviewer verdicts",
                                ["verdict"], registry=r)
        self.misses = Counter("redact_gw_review_misses_total",
                              "Personal data the gateway missed, found by reviewers",
                              ["entity_type", "route", "gap"], registry=r)
        self.miss_rate = Gauge("redact_gw_review_miss_rate",
                               "Reviewed items with a missed value of the type (last stats)",
                               ["entity_type"], registry=r)
        self.fp_rate = Gauge("redact_gw_review_false_positive_rate",
                             "Reviewed items holding the type where a token of it was not"
                             " personal data (last stats)", ["entity_type"], registry=r)
