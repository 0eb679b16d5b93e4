"""Human review: sampling into a sealed queue, verdicts, quality figures."""
