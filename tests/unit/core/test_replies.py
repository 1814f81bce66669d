"""Reply classification: one table of real-looking replies, plus properties."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from trustpager_desktop.core.replies import (
    HELP_KEYWORDS,
    OPT_IN_KEYWORDS,
    OPT_OUT_KEYWORDS,
    Keywords,
    ReplyClassification,
    ReplyKind,
    classify_reply,
    damerau_levenshtein,
    normalize_reply,
    parse_keywords,
    twilio_acts_on,
)

OUT = ReplyKind.OPT_OUT
IN = ReplyKind.OPT_IN
HELP = ReplyKind.HELP
MAYBE = ReplyKind.POSSIBLE_OPT_OUT
OTHER = ReplyKind.OTHER

# (body, expected kind, expected keyword or None to skip the keyword check)
CASES: list[tuple[str, ReplyKind, str | None]] = [
    # --- Opt-out: whole message is a keyword (Twilio defaults + FCC words) ---
    ("STOP", OUT, "stop"),
    ("stop", OUT, "stop"),
    ("Stop.", OUT, "stop"),
    (" stop!! ", OUT, "stop"),
    ("STOP 🛑", OUT, "stop"),
    ("🛑STOP🛑", OUT, "stop"),
    ("STOPALL", OUT, "stopall"),
    ("STOP ALL", OUT, "stopall"),
    ("stop-all", OUT, "stopall"),
    ("UNSUBSCRIBE", OUT, "unsubscribe"),
    ("Unsubscribe 🙏", OUT, "unsubscribe"),
    ("cancel", OUT, "cancel"),
    ("CANCEL!", OUT, "cancel"),
    ("End", OUT, "end"),
    ("quit.", OUT, "quit"),
    ("REVOKE", OUT, "revoke"),
    ("OPTOUT", OUT, "optout"),
    ("opt out", OUT, "optout"),
    ("OPT-OUT", OUT, "optout"),
    ("opt_out", OUT, "optout"),  # not a state: a customer's text
    ("Opt Out!", OUT, "optout"),
    ('"stop"', OUT, "stop"),
    ("...stop...", OUT, "stop"),
    ("¡STOP!", OUT, "stop"),
    ("\tSTOP\r\n", OUT, "stop"),
    # Unicode disguises: fullwidth, zero-width, non-breaking space, styled letters.
    ("ＳＴＯＰ", OUT, "stop"),
    ("S\u200bT\u200cO\u200dP", OUT, "stop"),
    ("\ufeffstop", OUT, "stop"),
    ("stop\u00a0all", OUT, "stopall"),
    ("opt\u00a0out", OUT, "optout"),
    ("𝐒𝐓𝐎𝐏", OUT, "stop"),
    ("Stop\u2060", OUT, "stop"),
    ("S T O P", OUT, "stop"),
    ("s-t-o-p", OUT, "stop"),
    # Repeated / combined bare keywords: a documented decision, opt-out.
    ("STOP STOP", OUT, "stop"),
    ("STOP!!! STOP", OUT, "stop"),
    ("stop, stop, STOP", OUT, "stop"),
    ("stop unsubscribe", OUT, "stop"),
    # Single-word Spanish opt-outs (defaults), accents and punctuation tolerated.
    ("¡ALTO!", OUT, "alto"),
    ("Alto.", OUT, "alto"),
    ("PARÁR", OUT, "parar"),
    ("Parar!!", OUT, "parar"),
    ("Cancelar?", OUT, "cancelar"),
    ("DETENER 🛑", OUT, "detener"),
    ("baja 🙏", OUT, "baja"),
    ("ALTO ALTO", OUT, "alto"),
    # --- Opt-in: strict whole message ---
    ("START", IN, "start"),
    ("start!", IN, "start"),
    ("Unstop", IN, "unstop"),
    ("ＳＴＡＲＴ", IN, "start"),
    # --- Help ---
    ("HELP", HELP, "help"),
    ("help?", HELP, "help"),
    ("Info", HELP, "info"),
    # --- Possible opt-out: phrases ---
    ("please stop texting me", MAYBE, "stop texting"),
    ("Stop texting", MAYBE, "stop texting"),
    ("stop sending me these", MAYBE, "stop texting"),
    ("Quit messaging me", MAYBE, "stop texting"),
    ("stop contacting me", MAYBE, "stop texting"),
    ("Remove me from your list", MAYBE, "remove me"),
    ("please remove my number", MAYBE, "remove me"),
    ("take me off", MAYBE, "take me off"),
    ("Take me off your list please", MAYBE, "take me off"),
    ("No more texts", MAYBE, "no more texts"),
    ("no more messages please", MAYBE, "no more texts"),
    ("no more", MAYBE, "no more"),
    ("don't text me", MAYBE, "don't text me"),
    ("Don’t text me again", MAYBE, "don't text me"),
    ("Do not contact", MAYBE, "don't text me"),
    ("do not contact me ever again", MAYBE, "don't text me"),
    ("I don't want these texts", MAYBE, "don't want texts"),
    ("leave me alone", MAYBE, "leave me alone"),
    ("Unsubscribe me", MAYBE, "unsubscribe"),
    ("please unsubscribe me from this", MAYBE, "unsubscribe"),
    ("unsub", MAYBE, None),
    ("Opt me out", MAYBE, "opt out"),
    ("I already opted out!", MAYBE, "opt out"),
    ("I want to opt out of these messages", MAYBE, "opt out"),
    ("I revoke my consent", MAYBE, "revoke"),
    ("I withdraw consent", MAYBE, "withdraw consent"),
    ("cancel the reminders", MAYBE, "stop the texts"),
    ("cancel my subscription", MAYBE, "stop the texts"),
    ("end these texts", MAYBE, "stop the texts"),
    ("stop all messages", MAYBE, None),
    ("wrong number", MAYBE, "wrong number"),
    ("You have the wrong number", MAYBE, "wrong number"),
    ("not interested", MAYBE, "not interested"),
    ("I never signed up for this", MAYBE, "never signed up"),
    ("this is spam", MAYBE, "spam"),
    ("lose my number", MAYBE, "lose my number"),
    # --- Possible opt-out: keyword with filler words ---
    ("STOP please", MAYBE, "stop"),
    ("stop it", MAYBE, "stop"),
    ("pls stop", MAYBE, "stop"),
    ("Please STOP!", MAYBE, "stop"),
    ("I said stop", MAYBE, "stop"),
    ("stop it now", MAYBE, "stop"),
    ("STOP PLEASE THANK YOU", MAYBE, "stop"),
    ("cancel please", MAYBE, "cancel"),
    ("Please cancel", MAYBE, "cancel"),
    ("I quit", MAYBE, "quit"),
    ("end it", MAYBE, "end"),
    ("stop stop please", MAYBE, "stop"),
    ("yes stop", MAYBE, "stop"),
    # --- Possible opt-out: "stop" in context ---
    ("Got it thanks. Please stop", MAYBE, "stop"),
    ("Stop. I mean it", MAYBE, "stop"),
    ("STOP 2", MAYBE, "stop"),
    ("Reply STOP to cancel", MAYBE, "stop"),
    ("ok I have had enough of this, stop!", MAYBE, "stop"),
    ("can you stop", MAYBE, "stop"),
    # --- Possible opt-out: misspellings ---
    ("stpo", MAYBE, "stop"),
    ("sotp", MAYBE, "stop"),
    ("stopp", MAYBE, "stopp"),  # German "stopp"
    ("STPO!", MAYBE, "stop"),
    ("stoop", MAYBE, "stop"),
    ("stops", MAYBE, "stop"),
    ("stp", MAYBE, "stop"),
    ("unsubscibe", MAYBE, "unsubscribe"),
    ("unsubcribe", MAYBE, "unsubscribe"),
    ("Unsuscribe", MAYBE, "unsubscribe"),
    ("cancle", MAYBE, "cancel"),
    ("cancell", MAYBE, "cancel"),
    ("opt-uot", MAYBE, "optout"),
    ("optuot", MAYBE, "optout"),
    ("qiut", MAYBE, "quit"),
    ("revok", MAYBE, "revoke"),
    ("stpo please", MAYBE, "stop"),
    ("s t p o", MAYBE, "stop"),
    # --- Possible opt-out: other languages ---
    ("ALTO", OUT, "alto"),
    ("PARAR", OUT, "parar"),
    ("BAJA", OUT, "baja"),
    ("no más", MAYBE, "no más"),
    ("No mas", MAYBE, "no más"),
    ("no más mensajes por favor", MAYBE, "no más"),
    ("cancelar", OUT, "cancelar"),
    ("detener", OUT, "detener"),
    ("Quiero darme de baja", MAYBE, "dar de baja"),
    ("dejen de enviar mensajes", MAYBE, "dejen de enviar"),
    ("ALTO por favor", MAYBE, "alto"),
    ("Parar por favor", MAYBE, "parar"),
    ("baja por favor", MAYBE, "baja"),
    ("Pare", MAYBE, "pare"),
    ("no quiero más mensajes", MAYBE, "no quiero mensajes"),
    ("dejen de mandarme mensajes", MAYBE, "dejen de enviar"),
    ("Cancelar mi suscripción", MAYBE, "cancelar suscripción"),
    ("No me interesa", MAYBE, "no me interesa"),
    ("Número equivocado", MAYBE, "número equivocado"),
    ("ARRET", MAYBE, "arret"),
    ("ARRÊT", MAYBE, "arret"),
    ("arrête", MAYBE, "arrete"),
    ("Arrêtez de m'envoyer des messages", MAYBE, "arrêtez"),
    ("désabonner", MAYBE, "désabonner"),
    ("desinscrire", MAYBE, "désabonner"),
    ("abmelden", MAYBE, "abmelden"),
    ("Bitte abmelden", MAYBE, "abmelden"),
    ("keine SMS mehr", MAYBE, "keine sms mehr"),
    ("parar", OUT, "parar"),
    ("sair", MAYBE, "sair"),
    ("basta", MAYBE, "basta"),
    ("annulla", MAYBE, "annulla"),
    ("стоп", MAYBE, "стоп"),
    ("退订", MAYBE, "退订"),
    # --- Possible opt-out: look-alike letters from other scripts ---
    ("ЅТОР", MAYBE, "stop"),  # Cyrillic Ѕ Т О Р
    ("ѕtор", MAYBE, "stop"),  # mixed Cyrillic and Latin
    # --- Other: must NOT opt out and must not be flagged ---
    ("nonstop", OTHER, None),
    ("non-stop flights only", OTHER, None),
    ("I'll stop by at 3", OTHER, None),
    ("Cancel my appointment", OTHER, None),
    ("Can I cancel my reservation for Friday?", OTHER, None),
    ("please cancel my order", OTHER, None),
    ("can we end the meeting early", OTHER, None),
    ("The bus stop is on Main St", OTHER, None),
    ("backstop", OTHER, None),
    ("Let's start at 10", OTHER, None),
    ("start at 10?", OTHER, None),
    ("yes", OTHER, None),  # subscribed sender: YES is not an opt-in
    ("YES!", OTHER, None),
    ("Thanks!", OTHER, None),
    ("See you at the end of the week", OTHER, None),
    ("The end", OTHER, None),
    ("It won’t stop leaking", OTHER, None),
    ("My tooth won't stop hurting", OTHER, None),
    ("If the pain does not stop, should I come in tomorrow?", OTHER, None),
    ("Stop in whenever, we are open until 6", OTHER, None),
    ("I quit smoking last month, thanks for asking", OTHER, None),
    ("Please help me reschedule", OTHER, None),
    ("more info on pricing?", OTHER, None),
    ("Don't stop!", OTHER, None),
    ("Top", OTHER, None),
    ("Shop", OTHER, None),
    ("step", OTHER, None),
    ("Quiet", OTHER, None),
    ("top please", OTHER, None),
    ("stop sign is down on our street", OTHER, None),
    ("OK see you then", OTHER, None),
    ("👍", OTHER, None),
    ("", OTHER, None),
    ("   ", OTHER, None),
    ("?!", OTHER, None),
    ("Is 3pm ok? Last stop before the bridge", OTHER, None),
    ("My spam folder caught your invoice", OTHER, None),
    # Ordinary Spanish containing an opt-out word is not an opt-out.
    ("Alto el precio?", OTHER, None),
    ("Baja el precio?", OTHER, None),
    ("Cancelar la cita", OTHER, None),
    ("Quiero cancelar mi cita", OTHER, None),
    ("Detener la cita del lunes?", OTHER, None),
    ("Baja California", OTHER, None),
]


@pytest.mark.parametrize(("body", "kind", "keyword"), CASES, ids=[repr(c[0]) for c in CASES])
def test_classify_reply_table(body, kind, keyword):
    result = classify_reply(body)
    assert result.kind is kind, result.reason
    if keyword is not None:
        assert result.keyword == keyword
    assert result.reason and "\n" not in result.reason


def test_table_is_big_and_covers_every_kind():
    assert len(CASES) >= 80
    assert {kind for _, kind, _ in CASES} == set(ReplyKind)


@pytest.mark.parametrize("body", ["yes", "YES", "Yes!", " yes. ", "ＹＥＳ"])
def test_yes_opts_in_only_an_opted_out_sender(body):
    assert classify_reply(body, sender_opted_out=True).kind is IN
    assert classify_reply(body, sender_opted_out=False).kind is OTHER


@pytest.mark.parametrize("body", ["STOP", "stop please", "START", "HELP", "Cancel my appointment"])
def test_opted_out_flag_changes_only_yes(body):
    assert classify_reply(body, sender_opted_out=True) == classify_reply(body)


def test_reasons_read_well():
    assert classify_reply("STOP").reason == 'Whole message is the opt-out keyword "STOP"'
    assert classify_reply("stop texting").reason == (
        'Contains "stop texting", which may be a request to stop texts'
    )


def test_enum_values_and_constants():
    stored = ["opt_out", "opt_in", "help", "possible_opt_out", "other"]  # not a state: as stored
    assert [k.value for k in ReplyKind] == stored
    assert {"stop", "stopall", "unsubscribe", "cancel", "end", "quit", "revoke", "optout"} <= (
        OPT_OUT_KEYWORDS
    )
    assert {"start", "unstop", "yes"} == OPT_IN_KEYWORDS
    assert {"help", "info"} == HELP_KEYWORDS


def test_classification_is_frozen():
    result = classify_reply("STOP")
    assert isinstance(result, ReplyClassification)
    with pytest.raises(AttributeError):
        result.kind = OTHER  # type: ignore[misc]


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        (" Stop!! 🛑", "stop"),
        ("ARRÊT.", "arrêt"),
        ("opt-out", "opt-out"),
        ("ＳＴＯＰ", "stop"),
        ("S\u200bTOP", "stop"),
        ("stop\u00a0 \t all", "stop all"),
        ("", ""),
        ("🙏", ""),
    ],
)
def test_normalize_reply(body, expected):
    assert normalize_reply(body) == expected


@pytest.mark.parametrize(
    ("a", "b", "distance"),
    [("stop", "stop", 0), ("stpo", "stop", 1), ("sotp", "stop", 1), ("stopp", "stop", 1),
     ("stp", "stop", 1), ("spot", "stop", 2), ("", "end", 3), ("cancle", "cancel", 1)],
)  # fmt: skip
def test_damerau_levenshtein(a, b, distance):
    assert damerau_levenshtein(a, b) == distance


def test_lone_surrogate_and_control_chars_do_not_raise():
    for body in ["\ud800", "stop\ud800", "\x00STOP\x00", "\x1b[31mSTOP"]:
        assert isinstance(classify_reply(body), ReplyClassification)


# --- properties ---

SPELLINGS = sorted(OPT_OUT_KEYWORDS) + ["stop all", "opt out", "opt-out", "stop-all"]
SPELLINGS += ["opt_out"]  # not a state: a spelling customers text
EDGE = st.text(alphabet=" \t\n\u00a0\u200b.!?,;:\"'()-*~🛑🙏👍😡", max_size=6)


def _random_case(draw, word: str) -> str:
    flips = draw(st.lists(st.booleans(), min_size=len(word), max_size=len(word)))
    return "".join(ch.upper() if flip else ch for ch, flip in zip(word, flips, strict=True))


@st.composite
def decorated_keyword(draw):
    word = _random_case(draw, draw(st.sampled_from(SPELLINGS)))
    if draw(st.booleans()):
        word = "".join(chr(ord(ch) + 0xFEE0) if "!" <= ch <= "~" else ch for ch in word)
    return draw(EDGE) + word + draw(EDGE)


@given(decorated_keyword(), st.booleans())
def test_keyword_with_any_case_space_punctuation_or_emoji_opts_out(body, opted_out):
    assert classify_reply(body, sender_opted_out=opted_out).kind is OUT


@given(st.text(max_size=300), st.booleans())
def test_arbitrary_text_never_raises(body, opted_out):
    result = classify_reply(body, sender_opted_out=opted_out)
    assert isinstance(result.kind, ReplyKind)
    assert result.reason
    # Only YES depends on the sender's state, and only towards opt-in.
    if result.kind is not IN:
        assert classify_reply(body).kind is result.kind


@given(st.text(alphabet=st.characters(codec="ascii"), max_size=60))
def test_normalize_is_idempotent(body):
    once = normalize_reply(body)
    assert normalize_reply(once) == once


@pytest.mark.parametrize(
    "body",
    [
        "<b>STOP</b> texting me &amp; please <a href='x'>remove</a> me",
        "<p>STOP</p>",
        "&nbsp;UNSUBSCRIBE&nbsp;",
        "<div>please stop texting me</div>",
    ],
)
def test_requests_wrapped_in_markup_go_to_review_not_ignored(body):
    assert classify_reply(body).kind is ReplyKind.POSSIBLE_OPT_OUT


def test_markup_that_splits_a_phrase_is_read_as_plain_words():
    verdict = classify_reply("<b>STOP</b> texting me &amp; please <a href='x'>remove</a> me")
    assert verdict.kind is ReplyKind.POSSIBLE_OPT_OUT
    assert "markup is removed" in verdict.reason


@pytest.mark.parametrize("body", ["I <3 your shop", "Fish & chips at 5?", "<b>See you at 3</b>"])
def test_ordinary_text_with_markup_characters_stays_other(body):
    assert classify_reply(body).kind is ReplyKind.OTHER


# --- keyword lists from settings, language, Twilio's own filtering -------------------------


@pytest.mark.parametrize(
    ("body", "language"),
    [("PARAR", "es"), ("¡Alto!", "es"), ("ALTO por favor", "es"), ("Quiero darme de baja", "es"),
     ("STOP", "en"), ("please stop texting me", "en"), ("Unsubscribe", "en")],
)  # fmt: skip
def test_spanish_wording_is_marked_spanish(body, language):
    assert classify_reply(body).language == language


def test_spanish_words_can_be_dropped_from_the_automatic_list():
    english_only = Keywords.with_extra()
    assert classify_reply("PARAR", keywords=english_only).kind is MAYBE
    assert classify_reply("STOP", keywords=english_only).kind is OUT


def test_added_keywords_act_like_the_defaults():
    extra = Keywords.with_extra(opt_out=("arret", "nomas"), opt_in=("alta",), help=("ayuda",))
    assert classify_reply("ARRÊT!", keywords=extra).kind is OUT
    assert classify_reply("no más", keywords=extra).kind is OUT  # a phrase keyword, joined
    assert classify_reply("alta", keywords=extra).kind is IN
    assert classify_reply("Ayuda", keywords=extra).kind is HELP
    assert classify_reply("STOP", keywords=extra).kind is OUT  # locked words stay


def test_locked_words_cannot_be_removed():
    assert Keywords.with_extra().opt_out >= OPT_OUT_KEYWORDS
    assert Keywords.with_extra().opt_in >= OPT_IN_KEYWORDS
    assert Keywords.with_extra().help >= HELP_KEYWORDS


@pytest.mark.parametrize(
    ("text", "expected"),
    [("PARAR, ALTO", ("parar", "alto")), ("Opt-Out\nARRÊT", ("optout", "arret")),
     ("stop, STOP,, ", ("stop",)), ("", ())],
)  # fmt: skip
def test_parse_keywords(text, expected):
    assert parse_keywords(text) == expected


@pytest.mark.parametrize("text", ["!!!", "x" * 31, "sign up"])
def test_parse_keywords_refuses_bad_entries(text):
    with pytest.raises(ValueError):
        parse_keywords(text, single_words=True)


@pytest.mark.parametrize(
    ("body", "kind"),
    [("STOP", OUT), (" Stop. ", OUT), ("stopall", OUT), ("OPT OUT", OUT), ("START", IN),
     ("yes", IN), ("PARAR", None), ("STOP STOP", None), ("stop please", None),
     ("Hello", None)],
)  # fmt: skip
def test_twilio_acts_only_on_its_own_whole_message_words(body, kind):
    assert twilio_acts_on(body) is kind
