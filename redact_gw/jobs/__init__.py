"""Scheduled work: the retention purge (a background task in serve, and a CLI twin)."""
