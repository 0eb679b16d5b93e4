"""redact_gw: a privacy-preserving transcript redaction gateway.

AI services called through the gateway only ever see tokens; originals are sealed
in an encrypted vault and revealed only to roles allowed to see them.
"""

__version__ = "0.1.0"
