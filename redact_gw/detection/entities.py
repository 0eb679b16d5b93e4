"""Entity type names emitted by the detector.

Presidio's names are used where Presidio has one; the rest are ours. Every name matches
``[A-Z][A-Z0-9_]*`` because it ends up inside tokens such as ``[[PHONE_NUMBER:ab12]]``.
"""

from __future__ import annotations

PERSON = "PERSON"
LOCATION = "LOCATION"
ADDRESS = "ADDRESS"
NRP = "NRP"
DATE_TIME = "DATE_TIME"
#: spaCy's ORG spans, read internally only: one that is a known place or a person's name
#: becomes LOCATION or PERSON, every other one is dropped (never emitted).
ORGANIZATION = "ORGANIZATION"
DATE_OF_BIRTH = "DATE_OF_BIRTH"
PHONE_NUMBER = "PHONE_NUMBER"
EMAIL_ADDRESS = "EMAIL_ADDRESS"
CREDIT_CARD = "CREDIT_CARD"
US_SSN = "US_SSN"
US_ITIN = "US_ITIN"
US_PASSPORT = "US_PASSPORT"
IBAN_CODE = "IBAN_CODE"
US_BANK_NUMBER = "US_BANK_NUMBER"
ROUTING_NUMBER = "ROUTING_NUMBER"
ACCOUNT_NUMBER = "ACCOUNT_NUMBER"
ZIP_CODE = "ZIP_CODE"
IP_ADDRESS = "IP_ADDRESS"
MAC_ADDRESS = "MAC_ADDRESS"
CRYPTO = "CRYPTO"
URL = "URL"
CREDENTIAL = "CREDENTIAL"

#: Entity types whose value is a string of digits; partial repeats match on digits.
DIGIT_ENTITIES: frozenset[str] = frozenset({
    PHONE_NUMBER, CREDIT_CARD, US_SSN, US_ITIN, US_BANK_NUMBER, ROUTING_NUMBER,
    ACCOUNT_NUMBER, ZIP_CODE, DATE_OF_BIRTH,
})

#: Entity types whose value is made of words; recurrences match word by word.
WORD_ENTITIES: frozenset[str] = frozenset({PERSON, LOCATION, ADDRESS})

#: Every entity type this package can emit, with a one-line description.
ENTITY_DESCRIPTIONS: dict[str, str] = {
    PERSON: "person name (NER on case-restored text, census names, 'my name is ...', "
            "spelled letter by letter, recurrences)",
    LOCATION: "city, state, country (NER, GeoNames, 'i live in ...', recurrences)",
    ADDRESS: "street address: house number, street, unit, PO or military box, and the "
             "city, state and ZIP that follow",
    NRP: "nationality, religious or political group (NER)",
    DATE_TIME: "generic date or time; scored below the default threshold unless "
               "named in detection.entities",
    DATE_OF_BIRTH: "a date, written or spoken, in a birth-date context",
    PHONE_NUMBER: "phone number, written or spoken",
    EMAIL_ADDRESS: "email address, written or spoken ('john dot smith at gmail dot com')",
    CREDIT_CARD: "payment card number, written or spoken, Luhn-valid or in card context",
    US_SSN: "US social security number",
    US_ITIN: "US individual taxpayer id (9xx-xx-xxxx) or other tax id",
    US_PASSPORT: "US passport number (Presidio)",
    IBAN_CODE: "international bank account number, written or spoken",
    US_BANK_NUMBER: "bank account number in an account context",
    ROUTING_NUMBER: "ABA routing number",
    ACCOUNT_NUMBER: "other identifier-shaped number (member, policy, customer id)",
    ZIP_CODE: "postcode: US ZIP (after a state code or in a zip context), ZIP+4, UK, "
              "Canadian",
    IP_ADDRESS: "IPv4 or IPv6 address (Presidio)",
    MAC_ADDRESS: "MAC address (Presidio)",
    CRYPTO: "crypto wallet address (Presidio)",
    URL: "URL; scored below the default threshold unless named in detection.entities",
    CREDENTIAL: "access key, token, private key block, JWT or password",
}
