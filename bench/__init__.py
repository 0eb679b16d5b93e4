"""Benchmarks and evaluations; run from the repository root (``python -m bench.NAME``).

A package so that ``bench.eval_*`` helpers import each other and ``tests/bench`` tests
them; every script still runs as ``python bench/NAME.py``.
"""
