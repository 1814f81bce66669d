"""Classify an inbound SMS reply: opt-out, opt-in, help, possible opt-out, other.

Pure, Qt-free and dependency-free. The inbox calls ``classify_reply`` on every
stored inbound message and acts on the result:

- ``OPT_OUT``: opt the number out at once, with no manual step.
- ``OPT_IN``: record re-consent (the reply is its own evidence).
- ``HELP``: the sender asked for help/info.
- ``POSSIBLE_OPT_OUT``: never ignored; put in front of a person for review.
- ``OTHER``: ordinary conversation.

Why the rules look like this:

- Twilio's own opt-out handling matches only a *whole* message, ignoring case
  (STOP, STOPALL, UNSUBSCRIBE, CANCEL, END, QUIT, REVOKE, OPTOUT; START,
  UNSTOP, YES; HELP, INFO). We match whole messages the same way, but more
  forgivingly: surrounding white space, punctuation and emoji, look-alike
  Unicode (fullwidth letters, zero-width characters, non-breaking spaces) and
  spaced or hyphenated spellings ("stop all", "OPT-OUT") do not hide a keyword.
- The FCC rule in force since April 2025 says consent may be revoked by any
  reasonable means, and "stop", "quit", "end", "revoke", "opt out", "cancel"
  and "unsubscribe" always revoke. Longer wording, misspellings and other
  languages that a reasonable person would read as a revocation count too.
  Those cannot be auto-detected without false positives ("Cancel my
  appointment", "I'll stop by at 3"), so they become ``POSSIBLE_OPT_OUT`` for a
  person to decide within the 10-business-day window, rather than being
  silently dropped or silently acted on.
- The keyword lists can be extended in settings (``Keywords``): Twilio's defaults
  and the FCC words are locked in, and the defaults add the single-word Spanish
  opt-outs PARAR, ALTO, BAJA, CANCELAR and DETENER (accents and punctuation do not
  matter: "¡Alto!" and "PARÁR" count). Longer Spanish wording ("ALTO por favor",
  "quiero darme de baja") stays ``POSSIBLE_OPT_OUT``, and ordinary Spanish that
  merely contains such a word ("Alto el precio?") is ``OTHER``.
- Only opt-*out* is forgiving. Opt-in (which lets texts flow again) needs the
  whole message to be exactly START or UNSTOP, or YES from a sender who is
  currently opted out.

Decisions worth knowing (the tests pin each one):

- A message made only of opt-out keywords ("STOP STOP", "stop!!! STOP",
  "stop quit") is ``OPT_OUT``, even though Twilio itself would not match it.
- Spelled-out letters ("S T O P", "s-t-o-p") are joined and count as the
  keyword, so they are ``OPT_OUT``.
- An opt-out keyword with only filler words around it ("STOP please",
  "pls stop", "stop it", "cancel please") is ``POSSIBLE_OPT_OUT``: Twilio would
  not act on it, and "cancel please" often means the appointment.
- "stop" anywhere in a short message (six words or fewer) or said emphatically
  (followed by punctuation or ending the message, or after "please"/"just"/
  "said"/"you") is ``POSSIBLE_OPT_OUT`` unless its neighbours show ordinary
  use: "stop by/in/at/over/for", "bus stop", "the stop", "non-stop",
  "won't stop", "stop hurting" and similar.
- "cancel", "end" and "quit" inside a longer message are ``OTHER`` unless they
  govern texts ("cancel the reminders", "quit texting"): they are everyday
  words ("Cancel my appointment", "end of the week").
- "unsubscribe", "opt out", "opted out" and "revoke" anywhere in a message are
  ``POSSIBLE_OPT_OUT``: they have almost no everyday meaning.
- "wrong number", "not interested", "never signed up" are ``POSSIBLE_OPT_OUT``:
  they say the sender does not want these texts.
- Keywords written with look-alike letters from other scripts (Cyrillic "ЅТОР")
  are ``POSSIBLE_OPT_OUT``, not ``OPT_OUT``.
- "cancel/end/stop" + a word about texts ("cancel my subscription", "cancel the
  reminders", "end these texts") is ``POSSIBLE_OPT_OUT``.
- Opt-in never takes filler words: "yes please" or "start again" is ``OTHER``
  even from an opted-out sender; staff can record re-consent by hand.
- Apostrophes are dropped before words are split ("don't" is "dont"), so the
  wording quoted in a reason may lack them.
"""

from __future__ import annotations

import enum
import html
import re
import unicodedata
from dataclasses import dataclass


class ReplyKind(enum.StrEnum):
    """What an inbound reply asks for (stored as ``inbound_messages.classification``)."""

    OPT_OUT = "opt_out"
    OPT_IN = "opt_in"
    HELP = "help"
    POSSIBLE_OPT_OUT = "possible_opt_out"
    OTHER = "other"


@dataclass(frozen=True)
class ReplyClassification:
    """The verdict on one reply.

    ``keyword`` is the keyword or phrase that decided it (lower case, from our
    tables, not the sender's text), or None. ``reason`` is one short sentence
    for office staff, shown as plain text. ``language`` is "es" when that
    keyword or phrase is Spanish, else "en".
    """

    kind: ReplyKind
    keyword: str | None
    reason: str
    language: str = "en"  # "es" when the deciding wording is Spanish (confirmation text)


# Twilio defaults plus the FCC's always-a-revocation words, in the joined form
# used for matching: letters and digits only, so "opt out", "OPT-OUT" and
# "opt_out" all become "optout", and "stop all" becomes "stopall". These are
# locked: settings can add keywords, never remove these.
OPT_OUT_KEYWORDS: frozenset[str] = frozenset(
    {"stop", "stopall", "unsubscribe", "cancel", "end", "quit", "revoke", "optout"}
)
OPT_IN_KEYWORDS: frozenset[str] = frozenset({"start", "unstop", "yes"})
# YES re-subscribes only a sender who is currently opted out.
CONDITIONAL_OPT_IN_KEYWORDS: frozenset[str] = frozenset({"yes"})
HELP_KEYWORDS: frozenset[str] = frozenset({"help", "info"})
# Single-word Spanish opt-outs acted on automatically by default (settings may drop them).
SPANISH_OPT_OUT_KEYWORDS: tuple[str, ...] = ("parar", "alto", "baja", "cancelar", "detener")

# Twilio's own STOP filtering: the whole message, any case, surrounding white space and
# punctuation ignored (read generously: when in doubt we assume Twilio blocked the
# number, which only ever holds texts back). Twilio then confirms the opt-out itself
# and refuses texts to the number (error 21610) until the customer sends an opt-in word.
TWILIO_OPT_OUT_WORDS: frozenset[str] = frozenset(
    {"stop", "stopall", "stop all", "unsubscribe", "cancel", "end", "quit", "revoke",
     "optout", "opt out", "opt-out"}
)  # fmt: skip
TWILIO_OPT_IN_WORDS: frozenset[str] = frozenset({"start", "unstop", "yes"})

# Spanish wording, accent-free: decides the language of a confirmation text.
_SPANISH: frozenset[str] = frozenset(
    {"parar", "alto", "para", "pare", "baja", "cancelar", "detener", "detente", "desuscribir",
     "desuscribirme", "darme de baja", "no mas", "no mas mensajes", "no más", "dar de baja",
     "dejen de enviar", "no me envíen", "parar de enviar", "no quiero mensajes",
     "cancelar suscripción", "no me interesa", "número equivocado"}
)  # fmt: skip

# Known misspellings of the opt-out keywords, besides the edit-distance check.
OPT_OUT_MISSPELLINGS: frozenset[str] = frozenset(
    {
        "stp", "sop", "stpo", "sotp", "stopp", "stoop", "stahp", "stap", "sstop", "stoo",
        "unsub", "unsubscibe", "unsubcribe", "unsubsribe", "unsuscribe", "unsubscrib",
        "unscribe", "unsubscribed", "unsusbcribe", "usubscribe", "unsibscribe",
        "cancle", "cancell", "cansel", "cancl", "optuot", "opout", "otpout", "optot",
        "quite", "qiut", "revok",
    }
)  # fmt: skip

# Non-English words that on their own (or with filler words) ask to stop.
# Accent-free, lower case.
FOREIGN_OPT_OUT_WORDS: frozenset[str] = frozenset(
    {
        # Spanish
        "alto", "parar", "para", "pare", "baja", "cancelar", "detener", "detente",
        "desuscribir", "desuscribirme", "darme de baja", "no mas", "no mas mensajes",
        # French
        "arret", "arrete", "arreter", "arretez", "desabonner", "desinscrire",
        "desabonnement", "se desabonner", "stoppez",
        # German
        "abmelden", "stopp", "stoppen", "aufhoren", "hor auf", "kundigen", "abbestellen",
        # Portuguese
        "sair", "cancelar inscricao", "descadastrar", "chega",
        # Italian
        "basta", "annulla", "fermati", "ferma", "disiscrivi", "cancellami",
        # Dutch
        "afmelden", "uitschrijven",
        # Russian, Chinese, Vietnamese, Tagalog
        "стоп", "отписаться", "хватит", "退订", "取消", "dung", "huy", "tigil",
    }
)  # fmt: skip

# Words that may stand next to an opt-out keyword without changing what the
# message asks ("STOP please", "pls stop", "I said stop", "stop it now").
FILLER_WORDS: frozenset[str] = frozenset(
    {
        "please", "pls", "plz", "plez", "now", "it", "thanks", "thank", "you", "thx", "ty",
        "ok", "okay", "i", "said", "just", "all", "them", "me", "us", "already", "asap",
        "immediately", "right", "away", "yes", "sir", "maam", "hey", "hi", "hello", "omg",
        "seriously", "lol", "u", "ur", "again", "for", "good", "god", "damn", "fucking",
        "fuck", "this", "that", "oh", "no", "nope", "really",
        # Spanish, French, German, Italian, Portuguese politeness
        "por", "favor", "gracias", "merci", "svp", "sil", "vous", "plait", "bitte",
        "danke", "per", "favore", "grazie", "obrigado", "obrigada",
    }
)  # fmt: skip

# Close misspellings of "stop" and friends that are ordinary English words.
_NEAR_MISS_EXCEPTIONS = frozenset(
    {"top", "shop", "step", "atop", "stomp", "slop", "stow", "soap", "quiz", "quilt",
     "suit", "quint", "quot", "quiet", "cancer"}
)  # fmt: skip
# "quite" is both a word and a common typo of "quit"; as a whole message it is
# the typo far more often, so it stays in OPT_OUT_MISSPELLINGS.

_COMM_NOUN = (
    r"(?:texts?|txts?|text\s+messages?|messages?|msgs?|sms|notifications?|alerts?"
    r"|reminders?|subscriptions?|promos?|promotions?|marketing|spam|updates?)"
)
_COMM_VERB_ING = (
    r"(?:texting|txting|sending|messaging|msging|contacting|bothering|harassing|spamming"
    r"|pestering|bugging)"
)

# (regex over the phrase form, keyword shown to staff)
_POSSIBLE_PHRASES: tuple[tuple[re.Pattern[str], str], ...] = tuple(
    (re.compile(pattern), keyword)
    for pattern, keyword in (
        (rf"\b(?:stop|quit|cease|halt)\s+{_COMM_VERB_ING}\b", "stop texting"),
        (
            rf"\b(?:stop|end|cancel|quit|halt|cease|pause)\s+(?:(?:all|the|these|those|this|"
            rf"your|my|any|further|receiving)\s+)*{_COMM_NOUN}\b",
            "stop the texts",
        ),
        (r"\bremove\s+(?:me|us|my\s+(?:number|phone|cell|info|information|name))\b", "remove me"),
        (r"\btake\s+(?:me|us|my\s+(?:number|phone|cell|name))\s+off\b", "take me off"),
        (rf"\bno\s+more\s+(?:{_COMM_NOUN}|texting|messaging|contact)\b", "no more texts"),
        (r"^no\s+more$", "no more"),
        (
            r"\b(?:dont|do\s+not|never)\s+(?:ever\s+)?(?:text|txt|message|msg|contact|sms|bother|spam)\b",
            "don't text me",
        ),
        (
            rf"\b(?:dont|do\s+not)\s+want\s+(?:(?:any|your|these|more|the|to\s+get|to\s+receive)\s+)*{_COMM_NOUN}\b",
            "don't want texts",
        ),
        (r"\bleave\s+me\s+alone\b", "leave me alone"),
        (r"\blose\s+my\s+number\b", "lose my number"),
        (r"\bdelete\s+my\s+(?:number|info|information|contact)\b", "delete my number"),
        (r"\bunsub(?:scribe|scribed|scribing)?\b", "unsubscribe"),
        (r"\bopt(?:ed|ing)?\s*(?:me\s+|us\s+)?out\b", "opt out"),
        (r"\brevok(?:e|ed|ing)\b", "revoke"),
        (r"\bwithdraw\w*\s+(?:my\s+)?consent\b", "withdraw consent"),
        (r"\bstop\s*all\b", "stop all"),
        (r"\bwrong\s+(?:number|person)\b", "wrong number"),
        (r"\bnot\s+interested\b", "not interested"),
        (r"\b(?:never|didnt|did\s+not)\s+sign(?:ed)?\s+up\b", "never signed up"),
        (r"\bthis\s+is\s+spam\b|^spam$", "spam"),
        # Spanish / French / German / Portuguese / Italian phrases.
        (r"\bno\s+mas\b", "no más"),
        (r"\bdar(?:me|nos)?\s+de\s+baja\b", "dar de baja"),
        (
            r"\b(?:dejen|deje|deja)\s+de\s+(?:enviar|mandar|escribir)(?:me|nos)?\b",
            "dejen de enviar",
        ),
        (
            r"\bno\s+(?:quiero|deseo)\s+(?:recibir\s+)?(?:mas\s+)?(?:mensajes|textos|sms)\b",
            "no quiero mensajes",
        ),
        (r"\b(?:cancelar|anular)\s+(?:mi\s+|la\s+)?suscripcion\b", "cancelar suscripción"),
        (r"\bno\s+me\s+interesa\b", "no me interesa"),
        (r"\bnumero\s+equivocado\b", "número equivocado"),
        (r"\bno\s+me\s+(?:envien|manden|escriban|contacten)\b", "no me envíen"),
        (r"\bdes(?:abonner|inscrire|abonnez|inscrivez)\b", "désabonner"),
        (r"\barret(?:ez|er)?\s+(?:de\s+)?(?:m\s*)?(?:envoyer|ecrire|contacter)\b", "arrêtez"),
        (r"\bplus\s+de\s+(?:sms|messages)\b", "plus de sms"),
        (r"\b(?:abmelden|abbestellen)\b", "abmelden"),
        (r"\bkeine\s+(?:sms|nachrichten)(?:\s+mehr)?\b", "keine sms mehr"),
        (r"\bparar\s+de\s+(?:enviar|mandar)\b", "parar de enviar"),
        (r"\bnao\s+(?:me\s+)?(?:envie|mande)\b", "não envie"),
        (r"\bnon\s+(?:mi\s+)?(?:scrivete|inviate|contattate)\b", "non scrivete"),
    )
)

_STRONG_WORDS = frozenset({"stop", "stopall"})
# Neighbours that show "stop" is used in an ordinary sense.
_BENIGN_BEFORE_STOP = frozenset(
    {
        "bus", "the", "a", "an", "last", "next", "first", "pit", "one", "full", "non",
        "truck", "rest", "every", "each", "my", "your", "our", "their", "his", "her",
        "cant", "wont", "dont", "didnt", "doesnt", "couldnt", "wouldnt", "shouldnt",
        "never", "would", "will", "might", "gonna", "may", "quick", "short", "train",
        "subway", "metro", "tram", "shuttle", "no", "cannot", "not",
    }
)  # fmt: skip
_BENIGN_AFTER_STOP = frozenset(
    {
        "by", "in", "over", "at", "for", "sign", "signs", "light", "lights", "on", "off",
        "there", "here", "and", "into", "is", "was", "near", "before", "after",
        "watch", "gap", "motion", "loss", "the", "a", "an",
    }
)  # fmt: skip
# Gerunds after "stop" that are about messaging: these keep "stop" a revocation.
_COMM_GERUNDS = frozenset(re.findall(r"[a-z]+", _COMM_VERB_ING))
_EMPHATIC_BEFORE_STOP = frozenset({"please", "pls", "plz", "just", "said", "you", "u", "now"})
_SHORT_MESSAGE_WORDS = 6

# Latin look-alikes from Cyrillic and Greek, used only to flag disguised keywords.
_CONFUSABLES = str.maketrans(
    {
        "а": "a", "е": "e", "о": "o", "р": "p", "с": "c", "у": "y", "х": "x", "ѕ": "s",
        "і": "i", "ј": "j", "т": "t", "к": "k", "м": "m", "н": "h", "в": "b", "ԁ": "d",
        "ո": "n", "υ": "u", "ο": "o", "ρ": "p", "τ": "t", "ν": "v", "ε": "e", "α": "a",
        "ι": "i", "κ": "k", "ѵ": "v", "ԛ": "q", "ɑ": "a",
    }
)  # fmt: skip

_NO_APOSTROPHES = str.maketrans("", "", "'’‘ʼ`´")
_WORD = re.compile(r"[^\W_]+")
_SPACE = re.compile(r"\s+")


def _drop_invisible(text: str) -> str:
    # Cf covers zero-width space/joiners, word joiner, BOM, soft hyphen, bidi marks.
    return "".join(ch for ch in text if unicodedata.category(ch) != "Cf")


def _strip_edges(text: str) -> str:
    start, end = 0, len(text)
    while start < end and not text[start].isalnum():
        start += 1
    while end > start and not text[end - 1].isalnum():
        end -= 1
    return text[start:end]


def normalize_reply(body: str) -> str:
    """Return ``body`` in the form keywords are matched against.

    In: the raw message text. Out: the text after Unicode NFKC (fullwidth and
    styled letters become plain), case folding, removal of invisible format
    characters (zero-width spaces and joiners), every run of white space
    (including non-breaking spaces) turned into one space, and leading and
    trailing characters that are not letters or digits (punctuation, emoji)
    removed. Accents and inner punctuation are kept: ``" Stop!! 🛑"`` becomes
    ``"stop"``, ``"ARRÊT."`` becomes ``"arrêt"``, ``"opt-out"`` stays
    ``"opt-out"``.
    """
    text = unicodedata.normalize("NFKC", body)
    text = unicodedata.normalize("NFKC", text.casefold())
    text = _drop_invisible(text)
    text = _SPACE.sub(" ", text)
    return _strip_edges(text)


def _fold_accents(text: str) -> str:
    decomposed = unicodedata.normalize("NFD", text)
    stripped = "".join(ch for ch in decomposed if unicodedata.category(ch) != "Mn")
    return unicodedata.normalize("NFC", stripped)


_SPANISH_FOLDED = frozenset(_fold_accents(word) for word in _SPANISH)


def _words(text: str) -> list[str]:
    return _WORD.findall(text)


def keyword_form(word: str) -> str:
    """The form a keyword is matched in: "Opt-Out" -> "optout", "¡PARÁR!" -> "parar"."""
    return "".join(_words(_fold_accents(normalize_reply(word)).translate(_NO_APOSTROPHES)))


def parse_keywords(text: str, *, single_words: bool = False) -> tuple[str, ...]:
    """Keywords typed in settings (comma or line separated) in matching form, in order.

    Raises ValueError with a sentence for a person when an entry has no letters, is
    longer than 30 characters or (with ``single_words``) has more than one word."""
    found: list[str] = []
    for raw in re.split(r"[,\n;]", text or ""):
        if not raw.strip():
            continue
        form = keyword_form(raw)
        if not form:
            raise ValueError(f"'{raw.strip()}' has no letters to match.")
        if len(form) > 30:
            raise ValueError(f"'{raw.strip()}' is too long for a keyword (30 letters at most).")
        if single_words and len(_words(normalize_reply(raw))) > 1:
            raise ValueError(f"'{raw.strip()}' must be a single word.")
        if form not in found:
            found.append(form)
    return tuple(found)


@dataclass(frozen=True)
class Keywords:
    """The whole-message keyword lists the classifier acts on (matching form).

    Build with ``Keywords.with_extra``: the locked Twilio/FCC words are always in."""

    opt_out: frozenset[str] = OPT_OUT_KEYWORDS | frozenset(SPANISH_OPT_OUT_KEYWORDS)
    opt_in: frozenset[str] = OPT_IN_KEYWORDS
    help: frozenset[str] = HELP_KEYWORDS

    @classmethod
    def with_extra(
        cls,
        opt_out: tuple[str, ...] = (),
        opt_in: tuple[str, ...] = (),
        help: tuple[str, ...] = (),
    ) -> Keywords:
        return cls(
            OPT_OUT_KEYWORDS | frozenset(opt_out),
            OPT_IN_KEYWORDS | frozenset(opt_in),
            HELP_KEYWORDS | frozenset(help),
        )


DEFAULT_KEYWORDS = Keywords()


def twilio_acts_on(body: str) -> ReplyKind | None:
    """What Twilio's own keyword filtering does with this reply on its own number:
    ``OPT_OUT`` (it confirms the opt-out itself and blocks the number), ``OPT_IN``
    (it lifts its block), or None (it passes the reply on untouched)."""
    text = normalize_reply(body)
    if text in TWILIO_OPT_OUT_WORDS:
        return ReplyKind.OPT_OUT
    if text in TWILIO_OPT_IN_WORDS:
        return ReplyKind.OPT_IN
    return None


def _language(keyword: str | None) -> str:
    return "es" if keyword is not None and _fold_accents(keyword) in _SPANISH_FOLDED else "en"


def damerau_levenshtein(a: str, b: str) -> int:
    """Edit distance counting insertions, deletions, substitutions and swaps of
    two adjacent characters (optimal string alignment)."""
    previous2: list[int] = []
    previous = list(range(len(b) + 1))
    for i in range(1, len(a) + 1):
        current = [i] + [0] * len(b)
        for j in range(1, len(b) + 1):
            cost = 0 if a[i - 1] == b[j - 1] else 1
            current[j] = min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + cost)
            if i > 1 and j > 1 and a[i - 1] == b[j - 2] and a[i - 2] == b[j - 1]:
                current[j] = min(current[j], previous2[j - 2] + 1)
        previous2, previous = previous, current
    return previous[len(b)]


def _near_miss(word: str) -> str | None:
    """The opt-out keyword ``word`` is a likely misspelling of, or None."""
    if word in OPT_OUT_MISSPELLINGS:
        return _closest_keyword(word)
    if word in _NEAR_MISS_EXCEPTIONS or word in OPT_OUT_KEYWORDS:
        return None
    for keyword in sorted(OPT_OUT_KEYWORDS):
        if (
            len(keyword) >= 4
            and abs(len(word) - len(keyword)) <= 1
            and damerau_levenshtein(word, keyword) == 1
        ):
            return keyword
    return None


def _closest_keyword(word: str) -> str:
    return min(sorted(OPT_OUT_KEYWORDS), key=lambda k: damerau_levenshtein(word, k))


def _keyword_run(words: list[str], keywords: frozenset[str] = OPT_OUT_KEYWORDS) -> list[str] | None:
    """Split ``words`` into opt-out keywords ("stop all" and "opt out" are one),
    or return None if any word is not part of a keyword."""
    found: list[str] = []
    i = 0
    while i < len(words):
        if i + 1 < len(words) and words[i] + words[i + 1] in keywords:
            found.append(words[i] + words[i + 1])
            i += 2
        elif words[i] in keywords:
            found.append(words[i])
            i += 1
        else:
            return None
    return found


def _display(keyword: str) -> str:
    return {"stopall": "STOP ALL", "optout": "OPT OUT"}.get(keyword, keyword.upper())


def _possible(keyword: str, reason: str) -> ReplyClassification:
    return ReplyClassification(ReplyKind.POSSIBLE_OPT_OUT, keyword, reason, _language(keyword))


def classify_reply(
    body: str, *, sender_opted_out: bool = False, keywords: Keywords = DEFAULT_KEYWORDS
) -> ReplyClassification:
    """Decide what an inbound reply asks for.

    In: the message body exactly as received, whether the sender's number is
    currently opted out (only then does YES re-subscribe), and the keyword lists
    (settings may add words to the defaults). Out: a ``ReplyClassification``.
    Never raises for any string.

    Order: whole-message opt-out, opt-in, help (Twilio-style whole-message
    keywords, forgivingly normalised); then the possible-opt-out checks
    (phrases, keyword with filler words, "stop" in context, misspellings,
    other languages, look-alike letters); otherwise ``OTHER``.
    """
    # Apostrophes go before splitting into words, so "don't" is one word "dont".
    core = _fold_accents(normalize_reply(body)).translate(_NO_APOSTROPHES)
    words = _words(core)
    joined = "".join(words)

    if not joined:
        return ReplyClassification(ReplyKind.OTHER, None, "No words in the message")

    # 1. Whole message is an opt-out keyword (or only opt-out keywords).
    if joined in keywords.opt_out:
        return ReplyClassification(
            ReplyKind.OPT_OUT,
            joined,
            f'Whole message is the opt-out keyword "{_display(joined)}"',
            _language(joined),
        )
    run = _keyword_run(words, keywords.opt_out)
    if run:
        return ReplyClassification(
            ReplyKind.OPT_OUT,
            run[0],
            f'Message is only the opt-out keyword "{_display(run[0])}", repeated or combined',
            _language(run[0]),
        )

    # 2. Opt-in: strict whole-message match.
    if joined in keywords.opt_in and len(words) == 1:
        if joined not in CONDITIONAL_OPT_IN_KEYWORDS:
            return ReplyClassification(
                ReplyKind.OPT_IN, joined, f'Whole message is the opt-in keyword "{joined.upper()}"'
            )
        if sender_opted_out:
            return ReplyClassification(
                ReplyKind.OPT_IN,
                joined,
                f'Whole message is "{joined.upper()}" from a sender who is opted out',
            )
        return ReplyClassification(
            ReplyKind.OTHER,
            None,
            f'"{joined.upper()}" re-subscribes only a sender who has opted out',
        )

    # 3. Help.
    if joined in keywords.help and len(words) == 1:
        return ReplyClassification(
            ReplyKind.HELP, joined, f'Whole message is the help keyword "{joined.upper()}"'
        )

    # 4. Possible opt-out.
    found = _possible_opt_out(core, words, joined, keywords.opt_out)
    if found is not None:
        return found
    return _read_past_markup(body, keywords) or ReplyClassification(
        ReplyKind.OTHER, None, "No opt-out, opt-in or help wording found"
    )


_MARKUP = re.compile(r"<[^<>]{0,200}>")


def _read_past_markup(body: str, keywords: Keywords) -> ReplyClassification | None:
    """A reply wrapped in HTML tags or entities ("<b>STOP</b> texting me &amp; ...") is
    read again as plain words. A person would see a request to stop there, but the
    markup means it is not a plain keyword, so at most it goes to review."""
    if "<" not in body and "&" not in body:
        return None
    plain = html.unescape(_MARKUP.sub(" ", body))
    if plain == body:
        return None
    again = classify_reply(plain, keywords=keywords)
    if again.kind in (ReplyKind.OPT_OUT, ReplyKind.POSSIBLE_OPT_OUT):
        return _possible(
            again.keyword or "stop", f"{again.reason} (once the HTML markup is removed)"
        )
    return None


def _possible_opt_out(
    core: str, words: list[str], joined: str, opt_out: frozenset[str]
) -> ReplyClassification | None:
    # Phrase form: words separated by single spaces ("don't!" -> "dont").
    phrase_text = " ".join(words)

    for pattern, keyword in _POSSIBLE_PHRASES:
        match = pattern.search(phrase_text)
        if match:
            return _possible(
                keyword, f'Contains "{match.group()}", which may be a request to stop texts'
            )

    # Other languages: the whole message, or the word with filler words.
    if phrase_text in FOREIGN_OPT_OUT_WORDS or joined in FOREIGN_OPT_OUT_WORDS:
        return _possible(
            phrase_text, f'"{phrase_text}" means "stop" or "unsubscribe" in another language'
        )
    content = [w for w in words if w not in FILLER_WORDS]
    if content and all(w in FOREIGN_OPT_OUT_WORDS for w in content):
        return _possible(
            content[0], f'"{content[0]}" means "stop" or "unsubscribe" in another language'
        )

    # An opt-out keyword (or a misspelling of one) with only filler words around it.
    if content and len(words) <= _SHORT_MESSAGE_WORDS:
        found = _keyword_run(content, opt_out)
        if found is None and all(_near_miss(w) for w in content):
            found = [_near_miss(content[0]) or content[0]]
        if found:
            word = found[0]
            return _possible(
                word,
                f'Short message built around the opt-out word "{_display(word)}"; '
                "Twilio acts only on the bare keyword",
            )

    # Whole message is a misspelled keyword ("stpo", "unsubscibe", "opt-uot").
    miss = _near_miss(joined)
    if miss is not None and (len(words) <= 3 or all(len(w) == 1 for w in words)):
        return _possible(
            miss,
            f'Whole message looks like a misspelling of the opt-out keyword "{_display(miss)}"',
        )

    # "stop" in context.
    stop = _stop_in_context(core, words)
    if stop is not None:
        return stop

    # Keywords disguised with look-alike letters from other scripts.
    disguised = "".join(_words(core.translate(_CONFUSABLES)))
    if disguised != joined and disguised in OPT_OUT_KEYWORDS:
        return _possible(
            disguised,
            f'Looks like the opt-out keyword "{_display(disguised)}" written with '
            "look-alike letters",
        )
    return None


def _stop_in_context(core: str, words: list[str]) -> ReplyClassification | None:
    matches = list(_WORD.finditer(core))
    for i, match in enumerate(matches):
        word = match.group()
        if word not in _STRONG_WORDS:
            continue
        before = words[i - 1] if i > 0 else ""
        after = words[i + 1] if i + 1 < len(words) else ""
        if before in _BENIGN_BEFORE_STOP or after in _BENIGN_AFTER_STOP:
            continue
        if after.endswith("ing") and after not in _COMM_GERUNDS:
            continue  # "stop hurting", "stop leaking"
        rest = core[match.end() :].lstrip()
        emphatic = (
            not rest or rest[0] in ".!,;:" or before in _EMPHATIC_BEFORE_STOP or i == len(words) - 1
        )
        if len(words) <= _SHORT_MESSAGE_WORDS or emphatic:
            return _possible(
                word,
                f'Contains the opt-out word "{_display(word)}" in a way that may be a '
                "request to stop texts",
            )
    return None
