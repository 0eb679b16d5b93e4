"""Word lists the transcript recognizers share: number words and context words.

Nothing here is a list of personal values: only the vocabulary people use to read
numbers aloud and the words agents use when they ask for a value.
"""

from __future__ import annotations

UNITS: dict[str, int] = {
    "zero": 0, "oh": 0, "o": 0, "one": 1, "two": 2, "three": 3, "four": 4, "five": 5,
    "six": 6, "seven": 7, "eight": 8, "nine": 9, "niner": 9,
}
TEENS: dict[str, int] = {
    "ten": 10, "eleven": 11, "twelve": 12, "thirteen": 13, "fourteen": 14,
    "fifteen": 15, "sixteen": 16, "seventeen": 17, "eighteen": 18, "nineteen": 19,
}
TENS: dict[str, int] = {
    "twenty": 20, "thirty": 30, "forty": 40, "fifty": 50, "sixty": 60, "seventy": 70,
    "eighty": 80, "ninety": 90,
}
REPEATERS: dict[str, int] = {"double": 2, "triple": 3}
SCALES: dict[str, int] = {"hundred": 100, "thousand": 1000}
#: Words spoken between the characters of one value, producing no character.
#: Words that join two spoken numbers without adding a character: separators, and the
#: hesitations speech recognition writes out ("five five five uh two three four").
SPOKEN_SEPARATORS: frozenset[str] = frozenset({
    "dash", "hyphen", "uh", "um", "uhm", "umm", "er", "erm", "ah", "hmm"})

ORDINALS: dict[str, int] = {
    "first": 1, "second": 2, "third": 3, "fourth": 4, "fifth": 5, "sixth": 6,
    "seventh": 7, "eighth": 8, "ninth": 9, "tenth": 10, "eleventh": 11, "twelfth": 12,
    "thirteenth": 13, "fourteenth": 14, "fifteenth": 15, "sixteenth": 16,
    "seventeenth": 17, "eighteenth": 18, "nineteenth": 19, "twentieth": 20,
    "thirtieth": 30,
}
MONTHS: tuple[str, ...] = (
    "january", "february", "march", "april", "may", "june", "july", "august",
    "september", "october", "november", "december",
)
WEEKDAYS: tuple[str, ...] = (
    "monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday",
)

#: Context families: words that say which kind of value is being read out.
CONTEXT_FAMILIES: dict[str, frozenset[str]] = {
    "card": frozenset({"card", "credit", "debit", "visa", "mastercard", "amex", "discover",
                       "cc", "cvv", "expiration", "expiry"}),
    "ssn": frozenset({"social", "ssn", "socials"}),
    "tax": frozenset({"itin", "taxpayer", "tin", "ein", "tax"}),
    "phone": frozenset({"phone", "telephone", "cell", "mobile", "callback", "reach",
                        "fax", "landline", "text", "dial", "reached", "contact", "call",
                        "cellphone", "ring", "rang", "answering", "tel", "phoned",
                        "texted", "message", "messaged", "whatsapp", "sms", "voicemail"}),
    "routing": frozenset({"routing", "aba", "transit"}),
    "account": frozenset({"account", "acct", "checking", "savings", "bank"}),
    "iban": frozenset({"iban"}),
    "zip": frozenset({"zip", "zipcode", "postal", "postcode"}),
    "dob": frozenset({"birth", "born", "dob", "birthday", "birthdate"}),
    "member": frozenset({"member", "policy", "passport", "license", "licence", "medicare",
                         "insurance", "patient", "employee", "student", "membership"}),
    "negative": frozenset({"order", "ticket", "case", "confirmation", "tracking",
                           "reference", "ref", "invoice", "model", "serial", "sku",
                           "product", "part", "item", "flight", "room", "extension",
                           "ext", "version", "amount", "total", "price", "fee", "step",
                           "page", "gate", "seat", "aisle", "build", "error", "promo",
                           "coupon", "voucher", "shipment", "package", "batch",
                           "transaction", "store", "floor", "suite", "apartment", "apt",
                           "score"}),
}
#: Nouns for a phone line a business answers: between a quantity word and a number
#: ("order line 3035550147", "ticket hotline"), they let a number dialled as a phone
#: number stay one (``numbers.classify``); a short number after them stays a quantity.
PHONE_SERVICE_NOUNS: frozenset[str] = frozenset({
    "line", "hotline", "helpline", "desk", "switchboard", "phoneline", "lines",
})
#: Words that label a phone number or its extension, never a street name: "555-0147
#: ext. 4410, ask", "... groves mobile 99702542 desk 138 ..." (``addresses``).
PHONE_LABELS: frozenset[str] = frozenset({
    "x", "ext", "extn", "extension", "desk", "office", "mobile", "cell", "fax", "home",
    "work", "direct", "line", "tel", "phone", "telephone",
})
#: Words after a number that make it a quantity, not an identifier (``context.hint``).
#: Not the shared ``QUANTITY_WORDS``: "thousand", "hundred", "year" or "km" after a
#: spoken run of digits would take an identifier out, for no measured gain.
TRAILING_NEGATIVE: frozenset[str] = frozenset({
    "dollars", "bucks", "cents", "minutes", "hours", "days", "weeks", "months", "years",
    "seconds", "percent", "pm", "am", "items", "units", "miles", "points", "times",
    "gb", "mb", "kb", "people", "euros", "pounds",
})

#: People a caller names after "my": "my wife priscilla", "my brother dmitri".
RELATION_WORDS: frozenset[str] = frozenset({
    "wife", "husband", "spouse", "partner", "son", "daughter", "child", "kid", "mother",
    "mom", "mum", "father", "dad", "brother", "sister", "stepson", "stepdaughter",
    "stepmother", "stepfather", "grandmother", "grandma", "grandfather", "grandpa",
    "grandson", "granddaughter", "aunt", "uncle", "cousin", "nephew", "niece", "fiance",
    "fiancee", "boyfriend", "girlfriend", "friend", "roommate", "neighbor", "neighbour",
    "colleague", "coworker", "boss", "manager", "caregiver", "guardian",
})

#: Words that introduce the person's own name.
NAME_TRIGGERS: tuple[str, ...] = (
    "my name is", "my name's", "name is", "name's", "this is", "it's", "it is",
    "speaking with", "speaking to", "am i speaking with", "i'm", "i am", "call me",
    "first name is", "last name is", "surname is", "full name is", "mr", "mrs", "ms",
    "miss", "dr", "ask for", "talk to", "speak with", "speak to", "under the name",
    "account holder is", "spelled", "spell", "named", "hey", "hi", "hello", "thanks",
    "thank you", "dear", "bye", "is",
)
#: Triggers that introduce a name only when the surrounding turn is about names.
WEAK_NAME_TRIGGERS: frozenset[str] = frozenset({
    "this is", "it's", "it is", "i'm", "i am", "hey", "hi", "hello", "thanks", "thank you",
    "dear", "bye", "is",
})
#: Name particles that do not count toward the three words of a name.
NAME_PARTICLES: frozenset[str] = frozenset({
    "van", "von", "der", "den", "de", "la", "le", "del", "della", "da", "di", "du", "bin",
    "ibn", "al", "el", "st", "mac", "ter",
})
#: Words that mark a turn as being about someone's name.
NAME_CONTEXT: frozenset[str] = frozenset({
    "name", "names", "surname", "spell", "spelled", "spelling", "who", "speaking",
    "holder", "called", "mr", "mrs", "ms", "miss", "dr",
})
#: Words that follow name triggers but are never names.
NOT_NAMES: frozenset[str] = frozenset({
    "calling", "fine", "good", "great", "okay", "ok", "sorry", "here", "there", "not",
    "just", "having", "wondering", "going", "happy", "glad", "interested", "from",
    "looking", "trying", "still", "also", "really", "actually", "correct", "right",
    "wrong", "yes", "yeah", "yep", "no", "nope", "sure", "thanks", "thank", "hello",
    "hi", "hey", "the", "a", "an", "speaking", "customer", "agent", "support", "service",
    "team", "regarding", "about", "well", "sir", "madam", "maam", "ma'am",
    "sounds", "perfect", "awesome", "alright", "it", "that", "what", "with", "please",
    "help", "helping", "afraid", "new", "done", "ready", "back", "currently", "unable",
    "able", "hoping", "confused", "frustrated", "upset", "worried", "aware", "unsure",
    "waiting", "hold", "available", "listening", "today", "now", "again", "busy", "in",
    "on", "at", "for", "to", "of", "and", "or", "but", "so", "is", "was",
    "account", "card", "phone", "email", "number", "address", "last", "first", "full",
    "middle", "name", "spelled", "spell", "like", "as", "s", "letter", "letters", "bank",
    "reaching", "following", "up", "checking", "verifying", "representative", "manager",
    "assistant", "gonna", "concerned", "locked", "charged", "billed",
    "moving", "closing", "opening", "wanting", "needing", "asking",
})
#: Words that introduce a place where the customer lives.
LOCATION_TRIGGERS: tuple[str, ...] = (
    "i live in", "live in", "living in", "located in", "moved to", "based in",
    "i'm from", "im from", "i am from", "city is", "town is", "state is", "reside in",
    "resident of", "calling from", "live near", "lives in", "located at", "near",
    "i'm in", "we're in", "i am in", "we are in", "over in", "down in", "up in",
)
#: Place triggers that also precede ordinary words ("i'm in trouble").
WEAK_LOCATION_TRIGGERS: frozenset[str] = frozenset({
    "near", "i'm in", "we're in", "i am in", "we are in", "over in", "down in",
    "up in", "i'm from", "im from", "i am from",
})
EMAIL_CONNECTORS: dict[str, str] = {
    "dot": ".", "period": ".", "point": ".", "underscore": "_", "dash": "-", "hyphen": "-",
    "minus": "-", "plus": "+",
}
#: Words that end a spoken email's local part when read leftwards.
EMAIL_STOPS: frozenset[str] = frozenset({
    "is", "it's", "its", "email", "e-mail", "mail", "address", "my", "the", "and", "was",
    "that's", "thats", "use", "send", "to", "me", "it", "yes", "yeah", "sure", "ok",
    "okay", "so", "um", "uh", "of", "on", "file", "be", "should", "try", "at", "or",
    "please", "new", "old", "contact", "reach", "write", "your", "our", "just",
    "with", "for", "from", "by", "via", "cc", "in", "as", "us", "you", "him", "her",
    "them", "then", "also", "reply", "forward", "copy",
})
EMAIL_CONTEXT: frozenset[str] = frozenset({"email", "e-mail", "mail", "address", "inbox"})
#: Labels at the start of a line that name a role, never a person.
SPEAKER_LABELS: frozenset[str] = frozenset({
    "agent", "customer", "caller", "user", "assistant", "system", "rep",
    "representative", "operator", "speaker", "client", "support", "bot", "human", "ai",
    "interviewer", "interviewee", "advisor", "associate", "member", "patient", "doctor",
    "nurse", "q", "a",
})


#: Words after a number that make it a quantity, a time or an amount ("4000 people",
#: "12000 euros", "5 pm"), in any case: not a house number (``street_lines``), no
#: street name's first word (``addresses``), not a postcode after a place
#: (``address_parts``, ``street_lines.place_postcodes``, ``town_postcodes``). Each of
#: those adds its own words to these (see there); ``COUNTED_NOUNS`` below are the
#: plurals that count only in lower case.
QUANTITY_WORDS: frozenset[str] = frozenset({
    "percent", "times", "year", "years", "months", "weeks", "days", "hours", "minutes",
    "seconds", "items", "people", "am", "pm", "dollars", "euros", "pounds", "hundred",
    "thousand", "million", "billion", "kg", "km", "miles", "points",
})

#: Plural nouns a number before them counts: "In France 3500 stores closed", "Bern
#: 4500 employees", "Chicago 12000 subscribers". A list, not "a lowercase word ending
#: in s": a verb after a postcode looks the same ("in Kraków 31-150 opens at nine",
#: "our office in Boston 02110 closes at five").
COUNTED_NOUNS = frozenset({
    "stores", "shops", "outlets", "branches", "offices", "restaurants", "hotels", "banks",
    "schools", "hospitals", "clinics", "factories", "companies", "firms", "businesses",
    "employees", "workers", "staff", "jobs", "persons", "residents", "inhabitants",
    "citizens", "voters", "students", "pupils", "teachers", "members", "customers",
    "clients", "users", "visitors", "tourists", "guests", "volunteers", "protesters",
    "participants", "attendees", "spectators", "passengers", "patients", "doctors",
    "nurses", "soldiers", "troops", "refugees", "households", "families", "children",
    "kids", "homes", "apartments", "buildings", "cars", "vehicles", "beds", "rooms",
    "flights", "tickets", "copies", "subscribers", "followers", "fans", "deaths",
    "infections", "acres", "hectares", "tonnes", "tons", "liters", "litres", "meters",
    "metres", "kilometres", "kilometers", "parcels", "products", "trees",
})

#: Words a few words before a town that make the number after the town a flight, a
#: route, a seat or a score, not a postcode or a house number ("the flight from Zurich
#: 1234", "train to Solothurn 4501").
NUMBERING_WORDS = frozenset({
    "flight", "flights", "train", "trains", "bus", "buses", "route", "gate", "platform",
    "terminal", "seat", "room", "ticket", "order", "line", "track", "exit", "number",
    "no", "game", "match", "score", "scored", "won", "lost", "beat"})
#: Verbs after a number that make it a train's, a bus's or a flight's number: "train to
#: Solothurn 4501 departs at nine", "Solothurn 4501 departs", "the 4501 arrives at
#: ten". No postcode, no house number ("4501 departs" is no street) stands before
#: them; other verbs may ("our office in Boston 02110 closes at five").
DEPARTURE_VERBS = frozenset({
    "departs", "departed", "departing", "leaves", "leaving", "arrives", "arrived",
    "arriving", "lands", "landed", "landing", "boards", "boarding"})
#: Currency names and codes after a number: an amount ("1200 francs", "1500 kroner").
CURRENCY_WORDS = frozenset({
    "francs", "chf", "kroner", "kronor", "krona", "krone", "nok", "sek", "dkk", "isk",
    "zloty", "zlotys", "pln", "forint", "huf", "czk", "rand", "zar", "yen", "yuan",
    "rupees", "inr", "aud", "cad", "nzd", "lei", "ron"})
