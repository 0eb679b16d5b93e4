"""Personal-data detection: the ``Detector`` protocol and ``build_detector``.

``build_detector(settings)`` returns a ``PresidioDetector``: Presidio's
``AnalyzerEngine`` on a spaCy model with an explicit recognizer registry, plus
transcript recognizers that read a normalized view of each segment (digits and letters
read aloud, spoken emails and IPs, spelled and introduced names, street addresses,
dates of birth, passwords), names and places from census and GeoNames data, and
recurrences of every value across the transcript. Importing this package loads
nothing: the model and the data are loaded by ``build_detector``.

Entity types (``[A-Z][A-Z0-9_]*``; Presidio's names where they exist):

==================  =====================================================================
PERSON              person name (NER on case-restored speech, census names, "my name
                    is ...", spelled, recurrences)
LOCATION            city, state, country (NER, GeoNames, "i live in ...")
ADDRESS             street address: house number, street, unit, PO or military box,
                    and the city, state and ZIP after it
NRP                 nationality, religious or political group (NER)
DATE_OF_BIRTH       a date, written or spoken, in a birth-date context
DATE_TIME           other dates and times; scored 0.3, under the default threshold
                    (0.6 when named in detection.entities)
PHONE_NUMBER        phone number, written or spoken
EMAIL_ADDRESS       email address, written or spoken ("john dot smith at gmail dot com")
CREDIT_CARD         card number, Luhn-valid or in card context (also misheard, partial)
US_SSN              US social security number
US_ITIN             US taxpayer id (9xx-xx-xxxx) or other tax id
US_PASSPORT         US passport number
IBAN_CODE           IBAN, written or spoken
US_BANK_NUMBER      bank account number in an account context
ROUTING_NUMBER      ABA routing number
ACCOUNT_NUMBER      other identifier-shaped number (member, policy, customer id)
ZIP_CODE            postcode: US ZIP (after a state code, or in a zip context),
                    ZIP+4, UK, Canadian
IP_ADDRESS          IPv4 / IPv6 address
MAC_ADDRESS         MAC address
CRYPTO              crypto wallet address
URL                 URL; scored 0.3, under the default threshold (0.6 when named)
CREDENTIAL          cloud access key, GitHub/GitLab/Slack token, private key block, JWT,
                    API key, password after "my password is"
==================  =====================================================================
"""

from __future__ import annotations

import importlib.metadata
from pathlib import Path
from typing import TYPE_CHECKING

from redact_gw.detection.base import Detector
from redact_gw.errors import ConfigError

if TYPE_CHECKING:
    from redact_gw.settings import DetectionSettings

__all__ = ["Detector", "build_detector", "require_model"]


def require_model(model: str) -> None:
    """Refuse to start when the spaCy model is not installed (never download it).

    The same test as ``spacy.util.is_package``, without importing spaCy: the gateway
    process checks the model before starting its workers, and only they load it.

    Raises:
        ConfigError: the model is neither an installed package nor a directory.
    """
    try:
        importlib.metadata.distribution(model)
    except (importlib.metadata.PackageNotFoundError, ValueError):
        if not Path(model).is_dir():  # a model given by path is a directory
            raise ConfigError(
                f"detection.spacy_model: spaCy model {model!r} is not installed") from None


def build_detector(settings: DetectionSettings) -> Detector:
    """Build the configured detector; loads the spaCy model (call off the event loop).

    Args:
        settings: Detection settings (model name, thresholds, lists).

    Raises:
        ConfigError: the spaCy model is not installed (it is never downloaded).
    """
    from redact_gw.detection.normalize import normalizing_presidio

    # invisible and look-alike characters cannot hide a value (normalize.py)
    return normalizing_presidio(settings)
