"""The rule reader: one utterance → an `UnderstoodRequest` (this turn's words only; `merge` adds history).

Why rules: they are exact on the constructions that matter most and that a mean-pooled sentence vector
gets backwards (negation scope, "too X", direction words, numbers with units), they cost microseconds on
the gateway's event loop (no model call per turn), and every reading can be traced to the words that made
it. Measured on the held-out test bank in docs/benchmarks/understanding.md.

How: the text is normalised (lower case, contractions expanded, apostrophes dropped, hyphens as spaces);
numbers with units (durations, BPM), licences and "something else" are read by patterns and cut out; the
rest is split into clauses (punctuation, "but", "though", "instead") and each clause is scanned left to
right with longest-match phrases (lexicon.py) into cues and mentions. A mention takes its direction from
the cues before it (a negator reaches over a few filler words and across "and"/"or" lists), from an
implied cue in the word itself ("jazzier", "frantic"), or from what follows a copula ("the drums are too
loud", "vocals are fine now"). Readings of one attribute that contradict each other raise
`RequestConflictError`.
"""

from __future__ import annotations

import itertools
import re
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Literal

from musechat.contracts.request import (
    Amount,
    Change,
    Intensity,
    RequestConflict,
    TempoRequest,
    UnderstoodRequest,
    VocalsChoice,
)
from musechat.understanding.errors import RequestConflictError
from musechat.understanding.lexicon import (
    ATTRIBUTE_KEYS,
    COPULAS,
    CUES,
    FINE_AFTER,
    LESS_AFTER,
    LIFT_AFTER,
    MAX_PHRASE,
    MENTIONS,
    MODALS,
    NEG_AFTER,
    NEG_BREAKERS,
    NEG_SKIPPABLE,
    OK_AFTER,
    POSTFIX_DOWN,
    POSTFIX_END,
    POSTFIX_MORE,
    POSTFIX_NEG,
    POSTFIX_UP,
    PREDICATE_ACCEPTABLE,
    PREDICATE_LESS,
    PREDICATE_LIFT_NOW,
    PREDICATE_MORE,
    PREDICATE_OK,
    PREDICATE_PRAISE,
    PREDICATE_WANT_LESS,
    PREDICATE_WANT_MORE,
    REMOVALS,
    RESTORE_AFTER,
    STOP_PHRASES,
    Mention,
)
from musechat.understanding.spelling import known_words, lexicon_words, repair_text

NEG_REACH = 3  # non-filler words a negator may skip on its way to its mention ("should not [be] [that] slow")


@dataclass
class Reading:
    key: str
    value: str  # tempo: faster|slower; vocals: on|off|male|female; changes: more|less|none; any key: lift
    intensity: Intensity = "normal"
    words: str = ""
    implicit: bool = False  # a complaint about the pick ("it's a bit slow"): an explicit ask of the key wins
    moderation: bool = False  # "not too fast": beside an ask the other way it tempers it ("faster, not too fast")
    described: bool = False  # named with no cue, then described ("the violins make it feel like a period drama")


@dataclass
class Readings:
    items: list[Reading] = field(default_factory=list)
    min_s: list[tuple[float, str]] = field(default_factory=list)
    max_s: list[tuple[float, str]] = field(default_factory=list)
    min_bpm: list[tuple[float, str]] = field(default_factory=list)
    max_bpm: list[tuple[float, str]] = field(default_factory=list)
    licences: list[str] = field(default_factory=list)
    something_else: bool = False
    reset: bool = False
    last_mention: Mention | None = None  # what "more of that" in a later clause is about


# ------------------------------------------------------------------ normalisation
_CONTRACTIONS = (
    (r"\bcan'?t\b", "can not"), (r"\bwon'?t\b", "will not"), (r"\bshan'?t\b", "shall not"),
    (r"\b(\w+)n't\b", r"\1 not"),
    (r"\b(did|was|were|would|could|have|has|is|are|does|should|must)nt\b", r"\1 not"),
    (r"'re\b", " are"), (r"'m\b", " am"), (r"'d\b", " would"),
    (r"'ll\b", " will"), (r"'ve\b", " have"), (r"\bdont\b", "do not"), (r"\bcant\b", "can not"),
    (r"\bcannot\b", "can not"),
    # "the beat's good": a copula ("s"); "it's", "that's", "let's" stay one word as before
    (r"\b(?!(?:it|that|there|what|here|let|who|he|she|where|how)'s\b)(\w+)'s\b", r"\1 s"),
)
_TENS = {"twenty": 20, "thirty": 30, "forty": 40, "fifty": 50, "sixty": 60, "seventy": 70, "eighty": 80,
         "ninety": 90}
_UNITS = {"one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7, "eight": 8, "nine": 9,
          "ten": 10, "eleven": 11, "twelve": 12, "fifteen": 15}


def _spelled_bpm(match: re.Match[str]) -> str:
    """"a hundred and twenty bpm", "ninety five bpm", "one twenty bpm" -> digits (kept as words if they
    make no tempo)."""
    words = [w for w in match[1].split() if w != "and"]
    value = 0
    if "hundred" in words:
        at = words.index("hundred")
        value, words = 100 * (_UNITS.get(words[at - 1], 1) if at else 1), words[at + 1:]
    elif len(words) >= 2 and words[0] == "one" and words[1] in _TENS:  # "one twenty"
        value, words = 100, words[1:]
    for word in words:
        value += _TENS.get(word, 0) + _UNITS.get(word, 0)
    return f"{value} " if 20 <= value <= 320 else match[0]


def _minutes_seconds(match: re.Match[str]) -> str:
    return f"{int(match[1]) * 60 + int(match[2])} seconds"  # "2:30" -> "150 seconds"


def _and_a_half(match: re.Match[str]) -> str:
    """"two and a half minutes" -> seconds."""
    minutes = _NUMBER_WORDS.get(match[1]) or int(match[1])
    return f"{minutes * 60 + 30} seconds"


def _minutes_and_seconds(match: re.Match[str]) -> str:
    """"a minute thirty", "2 minutes 15 seconds" -> seconds."""
    minutes, seconds = (_NUMBER_WORDS.get(g) or int(g) for g in (match[1], match[2]))
    return f"{minutes * 60 + seconds} seconds"


# One-word tempo and mood qualities: after "way to" / "is to" the "to" is a "too" typed short ("its way to cheerful")
_QUALITY_WORDS = "|".join(sorted(phrase[0] for phrase, mention in MENTIONS.items()
                                 if len(phrase) == 1 and mention.implied is None and mention.sign != 0
                                 and mention.key.split(".")[0] in ("tempo", "mood")))
_DEGREE_WORDS = r"(?:just )?(?:a little|a bit|slightly|a tad|a touch|a lot|way|much|far|loads)"
_COMPARATIVES = (r"darker|brighter|slower|faster|quicker|calmer|louder|quieter|softer|longer|shorter|sadder"
                 r"|happier|heavier|lighter|busier|punchier|gloomier|moodier|mellower|livelier|chiller")
_OPPOSITES = {"darker": "brighter happier", "gloomier": "brighter happier", "sadder": "brighter happier",
              "brighter": "darker sadder gloomier moodier", "happier": "darker sadder gloomier",
              "slower": "faster quicker", "faster": "slower", "quicker": "slower", "longer": "shorter",
              "shorter": "longer", "louder": "quieter softer calmer", "quieter": "louder punchier livelier",
              "softer": "louder punchier heavier", "calmer": "livelier louder punchier",
              "livelier": "calmer mellower quieter", "punchier": "calmer softer mellower", "heavier": "lighter softer",
              "lighter": "heavier"}


_WISHING = re.compile(r"\b(?:want|wants|need|needs|like|love|with|without|add|get|have|hear|prefer|maybe|would|could"
                      r"|some|please|pls|put|try|use|find|be|mean|except|but|no|and|or|for|over)\W*$")
# Where a performer is seen: "in the final shot", "on stage", "live", "at one of the stalls"
_IN_THE_SCENE = re.compile(r"\b(?:in|on|at|during|throughout) (?:the |this |that |my |our |every |each |a few |some "
                           r"|almost every |one of the )?(?:[a-z]+ )?(?:shot|shots|clip|clips|scene|scenes|footage"
                           r"|frame|video|stage|screen|stalls?|market|street|studio|club|concert|gig)\b|\blive\b"
                           r"|\bfilmed\b")


def _seen_in_the_video(match: re.Match[str]) -> str:
    """"a marching band with a big drummer shows up in a few clips" says what the video shows; "add a choir for
    the finale where the CEO walks on stage" asks for one."""
    asked = re.search(r"\b(?:want|wants|need|needs|add|with|get|put|use|try|hear|have|like|love|prefer|maybe|some"
                      r"|please)\W*$", match.string[:match.start()])
    return match.group(0) if asked else ""


def _performed_in_the_video(match: re.Match[str]) -> str:
    """"my brother is playing guitar in the shot" says what the video shows; "I want someone singing", "a woman
    singing", "add a choir for the finale where the CEO walks on stage" and "someone singing would be nice" ask."""
    said = match.group(0)
    wished = _WISHING.search(match.string[:match.start()]) or re.search(
        r"\b(?:would|could|should|please|i want|we want|i need|we need)\b", said)
    seen = (_IN_THE_SCENE.search(said) or re.match(r"(?:my|our|his|her|their|old)\b", said)
            or re.match(r"(?:there|you|we|it|footage)\b", said))
    return said if wished or not seen else ""


def _both_taken_back(match: re.Match[str]) -> str:
    """"forget the licence thing and the length limit", "scrap the tempo rule and the vocals thing": the verb
    takes back both (a bare "scrap the vocals" would remove them)."""
    _, first, second = match.groups()
    return f"forget {first} and forget {second}"


def _epic_beside_cinematic(match: re.Match[str]) -> str:
    """"much more cinematic, client keeps saying epic": the client's word beside an orchestral ask names trailer
    music, not a mood of its own (as "epic orchestral" does in one phrase)."""
    orchestral = re.search(r"\b(?:cinematic|orchestral|orchestra|symphonic|film score|movie score|trailer)\b",
                           match.string)
    return match.group(0).replace("epic", "cinematic") if orchestral else match.group(0)


def _named_for_what_follows(match: re.Match[str]) -> str:
    """"it's not that I dislike the strings, I just don't want them here": no complaint, but what "them" names."""
    rest = match.string[match.end():]
    return match.group(1) if re.search(r"\b(?:them|it|they)\b", rest) else ""


def _bound_released(match: re.Match[str]) -> str:
    """"it doesn't have to stay under 90 bpm anymore" frees the tempo; "... under two minutes ..." the length."""
    return "tempo does not matter" if match.group(1) == "bpm" else "length does not matter"


def _tempering_a_calm_ask(match: re.Match[str]) -> str:
    """"a little chiller, I don't want it sleepy": beside a calmer ask, how far to go, not an ask of its own."""
    calm = re.search(r"\b(?:chill|chiller|calm|calmer|relaxed|mellow|mellower|softer|gentler|slower)\b", match.string)
    return "" if calm else match.group(0)


def _a_decade_of_bpm(match: re.Match[str]) -> str:
    """"somewhere in the 120s bpm" is that decade of BPM; "roller skaters in the 70s" is an era, unless said as
    beats per minute."""
    tens = int(match.group(1))
    around = match.string[max(0, match.start() - 12):match.end() + 4]
    if tens < 10 and not re.search(r"\b(?:bpm|tempo|range)\b", around):
        return "in the era"
    return f"between {tens}0 and {tens}9 bpm"


def _the_limit_named_before(match: re.Match[str]) -> str:
    """"disregard that restriction" releases the limit the words before it named (a licence, a length, a tempo)."""
    before = match.string[:match.start()]
    named = [(found.start(), limit) for limit, word in (("licence", r"licen[cs](?:e|ing)|cc0|cc by|royalty"),
                                                        ("length", r"length|minutes?|seconds?|long|short"),
                                                        ("bpm", r"bpm|tempo|speed"))
             for found in re.finditer(rf"\b(?:{word})\b", before)]
    return f"forget the {max(named)[1]} limit" if named else match.group(0)


def _the_opposite_turned_down(match: re.Match[str]) -> str:
    """"I meant brighter, not darker": the other way of the same ask says it again, no second ask ("slower, not
    quieter" keeps its second ask: another attribute)."""
    before = match.string[:match.start()]
    opposite = any(re.search(rf"\b{word}\b", before) for word in _OPPOSITES.get(match.group(1), "").split())
    return "" if opposite else match.group(0)


_REWRITES: tuple[tuple[str, str | Callable[[re.Match[str]], str]], ...] = (
    # "I asked earlier for a particular licence, ... please disregard that restriction": the limit named before
    (r"\b(?:disregard|ignore|forget|drop|lift|scrap|remove|never mind) (?:that|this|the|my) (?:restriction|limit|rule"
     r"|requirement|constraint)\b", _the_limit_named_before),
    # "forget what I said about keeping it under a minute": that limit released
    (r"\bforget what (?:i|we) (?:said|asked for|asked) about (?:keeping it |making it |having it |the )?[^.,;!?]*?"
     r"\b(?:minutes?|seconds?|length|long|short)\b[^.,;!?]*", "forget the length limit"),
    (r"\bforget what (?:i|we) (?:said|asked for|asked) about (?:keeping it |making it |the )?[^.,;!?]*?"
     r"\b(?:bpm|tempo|fast|slow)\b[^.,;!?]*", "forget the bpm limit"),
    # "I told you earlier to keep it under a minute, but ...": a report of an earlier ask
    (r"\b(?:i|we) (?:said|asked|told you|mentioned|wanted)(?: you)? (?:earlier|before|previously|at first)\b"
     r"(?:(?!\b(?:but|though|however)\b)[^,.;:!?])*", "changed my mind "),
    # "it sounds too much like a film score": too much of it
    (r"\btoo much like (?:a |an |the )?", "too much "),
    # negation in natural places: "there's hardly any drums in this one" (too few), "hardly any of this feels calm"
    # (a description), "no more drums than there are now" (as they are), "not that it's too fast, it's ..." (no
    # complaint), "not so much the drums as the synth", "not a single beat", "nothing with a singer, male or female"
    (r"\b(?:there s|there is|there are|theres|this has|it has|its got|it s got|this one has) (?:hardly|barely|almost no"
     r"|next to no|scarcely) (?:any )?", "not enough "),
    (r"^(?:hardly|barely|almost no|next to no) (?:any )?(?=[a-z]+ (?:here|in (?:this|it|there))\b)", "not enough "),
    (r"\b(?:hardly|barely) any of (?:this|it|the track|the song)\b[^.,;!?]*", ""),
    (r"\bno (?:more|less|fewer) [a-z]+(?: [a-z]+)? than (?:there (?:are|is)(?: now)?|now|this(?: one)?|that|it is"
     r"|currently|the current one|before)\b", ""),
    (r"\b(?:it s |its |it is )?not that (?:i want|i need|we want|we need) ((?:the |that |this )?[a-z]+) (?:gone"
     r"|removed|out|dropped|cut)\b", _named_for_what_follows),
    (r"\b(?:it s |its |it is )?not that (?:it s|its|it is|i want|i need|we want|we need)\b[^,;.!?]*",
     ""),
    (r"\bnot so much (?:the )?([a-z]+) as (?:the )?([a-z]+)\b", r"the \2"),
    (r"\b(?:thats|that s|that is) what ?s too (loud|much|busy|heavy|strong)\b", r"too \1"),
    (r"\bnot (?:a single|one single|even one|even a)\b", "no"),
    (r"\b(?:male or female|female or male|men or women|women or men|man or woman|woman or man)\b", ""),
    (r"\b(?:do not|dont|never) make it (?:any )?(?:less|more) [a-z]+\b", ""),
    (r"\b(?:i|we) (?:would not|wouldnt) mind if (?:the )?([a-z]+) (?:were|was) (?:gone|removed|dropped|taken out)\b",
     r"no \1"),
    (r"\b(rule|restriction|limit|filter|requirement|thing|cap) (?:does not|doesnt|no longer) (?:apply|applies|stand"
     r"|stands|count|counts|hold|holds)\b(?: anymore| any more)?", r"\1 is off"),
    (r"\bthe (?:no|nothing) ([a-z]+) (?:rule|thing|restriction|limit|filter) (?:is off|is gone|is lifted|is over|can go"
     r"|is dropped)\b", r"\1 can come back"),
    (r"(does not matter[^.;!?]*?),? and neither (?:does|do|is|are) (?:the )?([a-z]+)\b", r"\1, the \2 does not matter"),
    (rf"\b(way|far|much|bit|little|its|so) to (?=(?:{_QUALITY_WORDS}|long|short)\b)", r"\1 too "),
    (r"\b(\d+):([0-5]\d)(?:\s*(?:minutes?|mins?|m)\b)?", _minutes_seconds),
    (r"\b((?:(?:a|one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|fifteen|hundred|and|twenty|thirty"
     r"|forty|fifty|sixty"
     r"|seventy|eighty|ninety) ){1,5})(?=bpm\b|beats per minute)", _spelled_bpm),
    (r"\b(a|one|two|three|four|five|\d+) (?:minutes?|mins?) (?:and )?(forty five|fifteen|twenty|thirty|forty|fifty"
     r"|ten|[1-5]?\d)(?: (?:seconds?|secs?))?\b(?! (?:minutes?|mins?|bpm)\b)", _minutes_and_seconds),
    # "drums: fine again", "length: whatever now" (form-like answers)
    (r"\b([a-z]+)\s*:\s*(fine|ok|okay|allowed|alright)\b", r"\1 is \2"),
    (r"\b([a-z]+)\s*:\s*(?=whatever\b)", r"\1 "),
    # "vocals: no", "drums: none" (form-like answers): the attribute with its postfix
    (r"\b([a-z]+)\s*:\s*(?=(?:no|none|off|yes|on|less|more|fewer|up|down|higher|lower|way|much|a bit|slightly"
     r"|a little)\b)", r"\1 "),
    # "needs more punch; other than that, fine": the rest is fine, no exception
    (r"\b(?:other than|apart from|except for|besides) (?:that|this|it)\b,?", ""),
    # "any genre except country is fine by me", "any genre but jazz": all but that one
    (r"\bany (?:genre|style|instrument|mood|tempo|vibe|kind|type|sort|music|track|song)s? (?:but|except|other than)"
     r" ((?:[a-z]+ ){0,2}?[a-z]+) (?:is|are|s|will do|works) (?:fine|ok|okay|good|alright)(?: by me| with me| for me"
     r"| for us)?\b", r"no \1"),
    (r"\bany (?:genre|style|instrument|mood|tempo|vibe|kind|type|sort|music|track|song)s? but\b", "except"),
    (r"\banything but\b", "except"), (r"\beverything but\b", "except"), (r"\bno one\b", "nobody"),
    (r"\b(one|two|three|four|five|\d+) and a half (?:minutes?|mins?)\b", _and_a_half),
    (r"\ba minute and a half\b", "90 seconds"), (r"\b(?:one|1) and a half minutes?\b", "90 seconds"),
    (r"\bminute and a half\b", "90 seconds"), (r"\bhalf a minute\b", "30 seconds"),
    (r"\ba couple (?:of )?minutes\b", "2 minutes"), (r"\bhalf an? hour\b", "30 minutes"),
    (r"(\d)\s*(?:to|-)\s*(\d)", r"\1 to \2"),
    # A swap names what goes and what comes: "replace the piano with strings" is no piano, then strings;
    # one voice for another is just the new one ("swap the singer for a woman").
    (r"\b(?:swap|replace|switch|trade|exchange|substitute)(?: out)? (?:from )?(?:the |a |an )?(?:male |female )?"
     r"(?:singer|vocalist|voice|vocal|singing)s? (?:for|with|to|by) (?=(?:a |an |the )?(?:male|female|man|woman|"
     r"girl|guy|men|women)\b)", ""),
    (r"\b(?:swap|replace|switch|trade|exchange|substitute)(?: out)? (?:from )?(?:the |that |this )?"
     r"((?:[a-z]+ ){0,3}?[a-z]+) (?:for|with|to|by) ", r"no \1, add "),
    # "flute instead of violin", "jazz rather than rock": the clause after the split is a removal.
    (r"\b(?:instead of|rather than)\b", "instead no"),
    # A condition is a clause of its own, and a wish: "any tempo is fine as long as it is upbeat".
    (r"\b(?:as long as|so long as|provided(?: that)?)\b", "; if"),
    # "can the guitar go?" asks what "the guitar can go" says
    (r"\b(?:can|could|should|may) (the|that|those|these) ((?:[a-z]+ ){0,2}?[a-z]+) go\b", r"\1 \2 can go"),
    # "any length works": any is fine
    (r"\bany ([a-z]+(?: [a-z]+)?) (?:works|will do|goes)\b", r"any \1 is fine"),
    # "I don't think the choir works" says the choir does not
    (r"\b(?:do not|dont) think (the|that|this|those|these) ((?:[a-z]+ ){0,2}?[a-z]+?)s? (?:works?|fits?|suits?"
     r"|belongs?|goes) ?(?:here|it|this)?\b", r"\1 \2 does not work"),
    # "a male vocalist over a female one": the voice after "over" is the one not wanted
    (r"\bover (?:a |an |the )?(?=(?:male|female|man|woman|men|women|guy|girl|lady)\b)", "instead no "),
    # Double negatives and exclusions: "I wouldn't say no to some guitar", "not without vocals",
    # "any genre other than country", "I never said no drums"
    (r"\b(?:would not|wouldnt) say no to\b", "would love"), (r"\bnot without\b", "with"),
    (r"\bother than\b", "except"), (r"\b(?:i )?never (?:said|asked for) no\b", "i am fine with"),
    # "it doesn't need to be this energetic": a degree of it too much, not a requirement taken back
    (r"\b(?:(?:does|do) not|no longer|need not) (?:have|has|needs?) to be (?:quite )?(?:this|that|so) ",
     "should not be too "),
    # "it doesn't have to stay under 90 bpm anymore": that bound released
    (r"\b(?:(?:does|do) not|no longer|need not) (?:have|has|needs?) to (?:be|stay|remain|keep) (?:under|below|over"
     r"|above|at least|at most|less than|more than|within) [^.,;!?]*?\b(bpm|seconds?|secs?|minutes?|mins?)\b(?: anymore"
     r"| any more| now)?", _bound_released),
    # "it's not that I dislike vocals, ...": no complaint of them
    (r"\b(?:it is |its |it s )?not that (?:i|we) (?:dislike|hate|mind|object to|have anything against"
     r"|have a problem with|have an issue with)\b([^,;.!?]*)", _named_for_what_follows),
    # "maybe the guitar doesn't need to be excluded anymore?": the removal released
    (r"\b(?:(?:does|do) not|no longer|need not) (?:have|has|needs?) to be (?:excluded|removed|banned|left out|avoided"
     r"|off limits|cut|dropped|kept out)(?: anymore| any more| now)?\b", "is fine again"),
    # A requirement taken back is a lift, not the opposite ask: "it doesn't have to be instrumental", "it doesn't
    # have to stay calm anymore".
    (r"\b(?:(?:do|does) not|no longer) (?:need|require) (?:it|this|the track|the song|the music|this one) "
     r"to (?:be|stay|remain)\b|(?:\b(?:it|this|the track|the song|the music|this one) |^)(?:does not|do not|no longer"
     r"|need not) (?:have|has|needs?) to (?:be|stay|remain)\b", "do not care if it is"),
    # A comparison names what is wanted less: "more guitar than piano", "a woman would suit it better than a man".
    (r"\bmore ((?:[a-z]+ ){0,3}?[a-z]+) than\b(?! (?:before|that|this|the last|the previous|the first|usual|ever)\b)",
     r"more \1 instead less"),
    (r"\bless ((?:[a-z]+ ){0,3}?[a-z]+) than\b(?! (?:before|that|this|the last|the previous|the first|usual|ever)\b)",
     r"less \1 instead more"),
    (r"\bbetter than\b(?! (?:before|that|this|the last|the previous|the first|usual|ever)\b)", "instead less"),
    # "why is there a guitar?" complains of one there should be none of; "why so much guitar?" of too much
    (r"\bwhy (?:is|are) there (?:so much|so many|this much|all this|all these|that much)\b", "too much"),
    (r"\bwhy (?:is|are) there (?:a |an |any |some )?", "no "),
    # "we can have drums again" releases them; "dial the energy way back" turns it down
    (r"\b(?:can|could|may) (?:have|use|include|bring back) ((?:[a-z]+ ){0,2}?[a-z]+) again\b", r"\1 can come back"),
    (r"\b(dial|tone|scale|pull|push|rein|ease) (?:the |that |this )?((?:[a-z]+ ){0,2}?[a-z]+?) "
     r"((?:way |a bit |a little |right )?)back\b(?! (?:in|on|up)\b)", r"less \3\2"),
    # "hold the vocals" leaves them out; "with and without vocals" says both
    (r"\bhold the (?=(?:vocals?|singing|singer|voice|drums|guitars?|piano|synths?|strings|flute|choir|percussion"
     r"|violins?|cello)\b)", "no "),
    (r"\bwith and without ((?:[a-z]+ ){0,2}?[a-z]+)\b", r"with \1 and without \1"),
    # A cleft names what is fine by naming what is not the problem: "it's not the speed that bugs me, ..."
    # ... and the thing it names next is the problem: "..., it's the flute" = less flute
    (r"\b(?:it is |its )?not the (?:[a-z]+ ){0,2}?[a-z]+ (?:that|which) (?:bugs?|bothers?|annoys?|irritates?|gets? to)"
     r" (?:me|us)[\s,;.]+(?:it is|its) the ", "less "),
    (r"\b(?:it is |its )?not the (?:[a-z]+ ){0,2}?[a-z]+ (?:that|which) (?:bugs?|bothers?|annoys?|irritates?|gets? to)"
     r" (?:me|us)\b", ""),
    (r"\b(?:it is |its )?not the (?:[a-z]+ ){0,2}?[a-z]+ (?:that is|thats|which is) the (?:problem|issue)\b", ""),
    # a person described, not a voice asked for: "our host is a bloke" (but "a song whose singer is a woman")
    (r"\b(?<!singer )(?<!vocalist )(?<!voice )(?<!vocals )(?:is|was) a (?:man|woman|guy|bloke|lady|girl|dude)\b", ""),
    # "it shouldn't be this gloomy" says what "too gloomy" says
    (r"\b(should|must|could|can|would|need to|has to|have to) not be (?:this|that) ", r"\1 not be too "),
    # "it's not that I don't like the synth" likes it
    (r"\b(?:it is |its )?not that (i|we) (?:do not|dont) (like|love|mind|want)\b", r"\1 \2"),
    # "doesn't matter how long it is" frees the length, "how fast" the tempo
    (r"\b(?:it )?(?:(?:does not|doesnt|do not|dont) (?:matter|care|worry)(?: about)?|never mind|forget(?: about)?"
     r"|ignore) how long\b", "length does not matter"),
    (r"\b(?:it )?(?:does not|doesnt|do not|dont) (?:matter|care) how (?:fast|slow|quick)\b", "tempo does not matter"),
    # "scratch the no-guitar thing" takes the removal back
    (r"\b(?:scratch|scrap|ditch|bin|forget|drop|undo|ignore|cancel|remove|lose|not fussed about|not bothered about"
     r"|do not care about"
     r"|do not mind) (?:the |that |my )?(?:no|without) ((?:[a-z]+ ){0,2}?"
     r"[a-z]+?) (?:thing|rule|request|part|bit|idea|constraint|filter)\b", r"\1 can come back"),
    # ... and "scratch the piano thing" takes back what was asked of the piano, as "forget the piano thing" does
    (r"\b(?:scratch|cancel|undo) (?:the|that|my) ((?:[a-z]+ ){0,2}?[a-z]+?) (?:thing|request|idea|ask|comment|part)\b",
     r"forget the \1 idea"),
    # "I said no rock before, but ...": a report of an earlier ask, not this one; what follows it changes that mind
    (r"\b(?:i|we) (?:said|asked for|asked|wanted|told you|requested|mentioned)\b[^,.;:!?]*?\b(?:before|earlier"
     r"|last time|previously|at first)\b", "changed my mind"),
    # "I've changed my mind, drums are fine" releases them as "drums are fine again" does
    (r"\b(?:(?:i|we) (?:have |ve |just )?)?(?:changed (?:my |our )?mind|on second thoughts?|come to think of it)\b,?\s*"
     r"(.*?)\b(is|are|s|would be|will be"
     r"|could be) (fine|ok|okay|alright"
     r"|acceptable)\b", r"\1\2 \3 again"),
    # ... as "actually, pop is fine too" does, within its clause
    (r"\bactually,?\s*([^.,;:!?]*?)\b(is|are|s) (fine|ok|okay|alright|acceptable)\b(?! again)",
     r"actually \1\2 \3 again"),
    # "somewhere in the 120s bpm": that decade of BPM
    (r"\bin the (\d{1,2})0s(?: bpm| range)?(?= bpm|\b)(?: bpm)?", _a_decade_of_bpm),
    # "fine, any length" says what "any length is fine" says; "I'd rather have a guitar than a piano" compares
    (r"\b(?:fine|ok|okay|sure|whatever),? any ([a-z]+)\b(?! is| are)", r"any \1 is fine"),
    (r"(?:^|(?<=, and )|(?<=, ))any (length|duration|tempo|speed|bpm|genre|licen[cs]e|mood|style)\b"
     r"(?! is| are| works| will)",
     r"any \1 is fine"),
    (r"\b(?:would |d )?rather (?:have|hear|use|go with|get) ((?:[a-z]+ ){0,3}?[a-z]+) than\b", r"more \1 instead less"),
    # "over a minute and under two": a bound's bare number takes the minutes the sentence already named (not
    # seconds: "over 90 seconds but under two" means minutes)
    (r"\b(minutes?|mins?)\b([^0-9]*?)\b(under|over|below|above|less than|more than|at most|at least|longer than"
     r"|shorter than)"
     r" (one|two|three|four|five|six|seven|eight|nine|ten|\d+)\b(?!\s*(?:minutes?|mins?|seconds?|secs?|bpm|s|m|%)\b)",
     r"\1\2\3 \4 \1"),
    (r"\b(seconds?|secs?)\b([^0-9]*?)\b(under|over|below|above|less than|more than|at most|at least|longer than"
     r"|shorter than)"
     r" (\d{2,})\b(?!\s*(?:minutes?|mins?|seconds?|secs?|bpm|s|m|%)\b)", r"\1\2\3 \4 \1"),
    # Corrections: "I didn't say more drums, I said fewer"; "less guitar, not no guitar"; "no drums, not even soft
    # ones"; "it's not the drums, it's the synth that bugs me"; "no vocals? no, I want vocals"
    (r"\bi (?:did not|didnt|never) (?:say|ask for|mean) (?:more|less|fewer|no) ((?:[a-z]+ ){0,2}?[a-z]+),? i (?:said"
     r"|asked for|meant) (more|less|fewer|no)\b", r"\2 \1"),
    (r",?\s*\bnot no ((?:[a-z]+ ){0,2}?[a-z]+)\b", ""),
    (r",?\s*\bnot even (?:the )?[a-z]+ ones?\b", ""),
    (r"\b(?:it is|its) not (?:the )?(?:[a-z]+ ){0,2}?[a-z]+,? (?:it is|its) (?:the )?", ""),
    (r"^\s*(?:no|without) [^?]{1,40}\?\s*(?:no|nope|nah)\b[,.!]?\s*(?=[a-z])", ""),
    (r"\bnot against\b", "do not mind"), (r"\bnot quite (?:as|so)\b", "a bit less"),
    # "it's okay to have vocals" does not mind them; "why is someone singing?" wants nobody to; "it has to fit
    # in 40 seconds" is a bound
    (r"\b(?:it is|its|it would be|itd be) (?:okay|ok|fine|alright|acceptable) to (?:have|include|use) ",
     "i do not mind "),
    (r"\bwhy (?:is|are) (?:someone|somebody|anyone|anybody|there someone|there somebody|they) "
     r"(?:singing|rapping)\b", "no singing"),
    (r"\bfits? (?:in|into|inside)(?= (?:a |an |one |\d))", "within"),
    # after test22: "no need for it to be instrumental" takes a requirement back; "not so heavy on the drums" is
    # less of them; "tone it down" lowers the energy (`_read_segment`); "the 2 minute limit" is the length limit
    (r"\bno need for (?:it|this|the track|the song|the music|this one) to be\b", "do not care if it is"),
    (r"\b(?:not|less) (?:so |too |as |that )?heavy on (?:the )?", "less "),
    (r"\btoo heavy on (?:the )?", "too much "), (r"\bheavy on (?:the )?", "lots of "),
    (r"\b(remove|drop|forget|ignore|lose|scrap|lift|cancel) (?:the |that |this |my )?\d+(?:\.\d+)? ?(?:minutes?|mins?"
     r"|seconds?|secs?) (limit|cap|restriction|rule)\b", r"\1 the length \2"),
    (r"\b(remove|drop|forget|ignore|lose|scrap|lift|cancel) (?:the |that |this |my )?\d+(?:\.\d+)? ?bpm "
     r"(limit|cap|restriction|rule)\b", r"\1 the bpm \2"),
    # "the synth lead is annoying" speaks of the synth; "more punch in the drums" asks for the drums
    (r"\b(synths?|guitars?|piano|drums|strings|flute|choir|vocals?|violins?|cello) (?:lead|part|line|solo|sound|section"
     r"|riff|loop|intro|outro|bit|track)s?\b(?= (?:is|are|was|were|sounds?|feels?|seems?|gets?)\b)", r"\1"),
    (r"\b(?:punch|energy|oomph|presence|weight|power|body) (?:in|on|from) (?:the )?(?=(?:drums|guitars?|piano|synths?"
     r"|strings|vocals|flute|choir)\b)", ""),
    # "this is longer than my whole reel": a complaint of the length, not a bound
    *((rf"\b(?:this|it|that)(?: one| track| song)? (?:is|s|runs|goes|lasts|plays) (?:way |much |a lot |a bit )?"
       rf"{comparative} than "
       r"(?:my|our|the|your)\b(?: [a-z]+){0,3}", f"too {length}")
      for comparative, length in (("longer", "long"), ("shorter", "short"))),
    # a person named to say who she is, not a voice: "the lady who runs the keep-fit class says ..."
    (r"\b(?:the|a|my|our) (?:lady|woman|man|guy|girl|boy|gentleman|bloke) (?:who|that)\b(?! (?:sings|is singing))",
     "someone who"),
    # "ignore what I said about licences" takes back what was asked of them
    (r"\b(?:ignore|forget|disregard|scratch|never mind) what (?:i|we) (?:said|asked for|wrote|mentioned|told you) "
     r"(?:about|regarding|on) (?:the )?", "forget the "),
    # "scratch the CC0-only rule": the licence named is the limit taken back, not one asked for
    (r"\b(?:scratch|forget|drop|ignore|remove|lift|cancel|lose) (?:the |that |my )?(?:cc ?0|cc ?by|royalty free"
     r"|public domain|creative commons)(?: only)? (?:rule|thing|limit|restriction|filter|requirement|request)\b",
     "forget the licence"),
    # "the sitar doesn't really fit": the adverb leaves the complaint as it is
    (r"\b(does not|do not|is not|are not) (?:really|quite|exactly|totally|entirely|actually) (fit|suit|work|belong"
     r"|sit)\b", r"\1 \2"),
    # "the slides change every 8 seconds": a rate in the video, no length; "the brief has gone in a different
    # direction": no other pick asked; "I'm drumming over it myself": the user's own playing, no instrument asked
    (r"\bevery (?:\d+(?:\.\d+)?|few|a few|couple of|a couple of) ?(?:seconds?|secs?|minutes?|mins?|s)\b(?: or so)?",
     ""),
    (r"\b(?:gone|went|going|go|taken|took|take|headed|heading|moved|moving) in a (?:[a-z]+ )?different direction\b",
     ""),
    (r"\b(?:i|we)(?: am| are|m)? (?:already |also |will |ll |be )?(?:play(?:ing)?|drum(?:ming)?|strum(?:ming)?)"
     r"(?: (?:the |my |our )?(?:guitar|piano|drums|keys|violin|cello|flute|sitar|synth|bass))?\b", ""),
    # "way more drive": the degree belongs to the energy noun the lexicon only knows after a bare "more"
    (r"\b(way|much|a lot|a bit|a little|slightly|far|lots) more (?:drive|edge|life)\b", r"\1 more energy"),
    (r"\btwice as (?:fast|quick)\b", "a lot faster"), (r"\bhalf as fast\b", "a lot slower"),
    (r"\bhalf (?:the|its) (?:speed|tempo|pace)\b(?: of (?:this|that|it|the (?:current )?(?:one|track|song)))?",
     "a lot slower"),
    (r"\bat the same time\b", ""), (r"\b(rap|rapping|hip hop) (?:vocals?|singing|verses?)\b", r"\1"),
    # "the synth is too harsh, the drums too loud": the copula left out
    (r"(?:^|(?<=[,;.] ))((?:the )?(?:drums|synths?|guitars?|piano|strings|flute|choir|vocals?|violins?)) "
     r"((?:way |far |a bit |much )?too)"
     r"(?= (?!please|now|thanks|again)[a-z])", r"\1 are \2"),
    (r"\brid (?:it|this|the track|the song|the music) of\b", "get rid of"),
    # "where did that choir come from?" complains of it; "it's the synth I want gone" removes it
    (r"\bwhere (?:did|does|do) (?:that|the|this|those|these|all) ((?:[a-z]+ ){0,2}?[a-z]+) come from\b", r"no \1"),
    (r"\b(?:it is |its )?(?:the )?((?:[a-z]+ ){0,2}?[a-z]+) (?:that )?(?:i|we) (?:want|need|would like) (?:gone|out"
     r"|removed)\b", r"no \1"),
    # "leave it out", "take them out": the removal verb before its back reference
    (r"\b(leave|take|cut|keep|strip) (it|them|that|those) out\b", r"\1 out \2"),
    (r"\b(take|put|throw|send) (it|them|that|those) away\b", r"take away \2"),
    (r"\bbring (it|them|that|those) back\b", r"bring back \1"),
    (r"\bbring ((?:the |that |those |my |our )?(?:[a-z]+ ){0,2}?[a-z]+) back (up|down)\b", r"\1 \2"),
    # "bring some energy back": an amount asked for, not a release
    (r"\bbring (?:some|a bit of|a little|a little bit of|more) ((?:[a-z]+ ){0,1}?[a-z]+) back\b", r"more \1"),
    (r"\b(?:bring|put|add|pull) ((?:the |that |those |my |our )?(?:[a-z]+ ){0,2}?[a-z]+) back\b(?: in\b)?",
     r"bring back \1"),
    # "I don't hate the drums" likes them; "it's the synth that has to go" removes it
    (r"\b(?:do not|dont|did not|didnt) (?:hate|dislike) (?=the|that|those|these)", "like "),
    (r"\b(?:it is |its )?the ((?:[a-z]+ ){0,2}?[a-z]+) that (has to|needs to|must|should|can|has got to|gotta) go\b",
     r"the \1 \2 go"),
    # a person in the video is no voice asked for: "in the video a girl is reading a book"
    (r"\b(?:a|the|my|our|his|her) (?:girl|boy|woman|man|guy|lady|kid|child|baby) (?:is|was|are|were)\b", ""),
    (r"\b(?:man|woman|guy|girl|lady|groom|bride)(?: s)? (?:speech|toast|talk|vows|words|reading)\b", "speech"),
    # the speech in the video is no voice asked for: "it fights with the host's voice", "on top of the voices",
    # "they cover the voice of the agent"
    (r"\b(?:host|hosts|agent|agents|narrator|speaker|speakers|presenter|guest|guests|interviewer|interviewee|ceo"
     r"|teacher|guide|reporter|anchor|realtor|vlogger|youtuber|streamer|coach|client|customer)(?: s)? voices?\b",
     "the dialogue"),
    (r"\bvoices? of (?:the |our |my |a )?(?:host|agent|narrator|speaker|presenter|guest|interviewer|interviewee|ceo"
     r"|teacher|guide|reporter|anchor|realtor|vlogger|streamer|coach|client|customer|people)\b", "the dialogue"),
    (r"\b(on top of|over|under|underneath|behind|against|covers?|covering|drowns?|drowning|buries|bury|burying"
     r"|masks?|masking|fights?|fighting|competes? with|competing with|clash(?:es)? with|clashing with|steps? on"
     r"|stepping on) (?:the |our |my )?voices\b", r"\1 the dialogue"),
    # "the choir at the opening gave me chills": praise
    (r"\b(?:gave|gives|give) (?:me|us) (?:chills|goosebumps|shivers|the chills|the feels)\b", "is great"),
    # "after about thirty seconds it gets too energetic": a moment of the track, not its length
    (r"\b(?:after|in the first|for the first|until|till) (?:about |around |roughly |like |the )?(?:\d+|[a-z]+)"
     r" (?:seconds?|secs?|minutes?|mins?)\b(?! (?:long|max|or less|or more|tops|minimum))", ""),
    # "I know I banned the choir two tracks ago", "the jazz I banned before is fine again": a report, no ask
    (r"\b(?:i|we) (?:banned|removed|dropped|ruled out|cut|excluded) (?:the |that |my )?[a-z]+(?: [a-z]+)??"
     r"(?: (?:earlier|before|previously|a while ago|[a-z]+ (?:tracks?|songs?|picks?|turns?) ago))\b", ""),
    (r"\b(?:i|we) (?:banned|removed|dropped|ruled out|cut|excluded)(?: earlier| before| previously)?\b", ""),
    # "still piano heavy": lots of it
    (r"\b(still|very|really|quite|kinda|and|but|more) (piano|guitar|drum|drums|synth|string|strings|flute|choir|bass"
     r"|percussion|vocal|vocals) heavy\b", r"\1 lots of \2"),
    # "bro this is depressing": someone addressed
    (r"^(?:bro|dude|mate|bruh|fam|yo)\b,?\s*", ""),
    # "like 70s disco", "the 80s": an era, not seconds
    (r"\bthe ([5-9]0)s\b", "the era"),
    (r"\b([5-9]0)s(?= (?:disco|rock|pop|funk|synth|synths|music|style|vibe|vibes|feel|sound|soul|jazz|hip hop|rap"
     r"|house|techno|dance|ballad|ballads|movie|movies|film|films|tv|retro|songs|track|tracks|hits|anthem|anthems"
     r"|electro|new wave|metal|punk|grunge|country|folk|cartoon|cartoons|game|games|arcade|aesthetic)\b)", "era"),
    # "the synth is a lot": too much of it
    (r"\b(is|are|s) (?:kind of |kinda |just |honestly )?a lot\b(?! (?:more|less|faster|slower|louder|quieter|of"
     r"|better|worse)\b)", r"\1 too much"),
    # "let it back in": brought back
    (r"\blet (it|them|that|those) back(?: in)?\b", r"bring \1 back"),
    # "screams cheesy lounge jazz": sounds like it
    (r"\bscreams\b", "sounds like"),
    # "night driving through neon streets": the video, no energy asked for
    (r"\bdriving (?=through|around|down|along|across|past|at night|in the|on the|home)", "travelling "),
    # "the client relaxed the tempo requirement": released
    (r"\b(?:relaxed|loosened|eased|dropped|lifted|removed|scrapped) (?:the |their |its |our )?([a-z]+) (?:requirement"
     r"|rule|restriction|limit|filter|constraint)\b", r"forget the \1 limit"),
    # "before I say no drum but now ok": a learner's report of an earlier ask
    (r"\b(?:before|earlier|previously),? (?:i|we) (?:say|tell|told) (?:no|without) [a-z]+\b", "changed my mind"),
    # "you can put song with vocal": allowed
    (r"\byou can (?:put|use|give|play|choose|pick|add|have)(?: me)? (?:a |some )?(?:song |songs |track |tracks |music "
     r"|something |one |ones )?with ([a-z]+)\b", r"\1 is fine again"),
    # "Sitar's fine again, I shouldn't have cut it": a regret, no removal
    (r"\b(?:i|we) (?:should not|shouldnt) have (?:cut|removed|dropped|banned|lost|ditched|killed|muted)"
     r" (?:it|them|that)\b", ""),
    # "the ending turns into something like metal": the pick described
    (r"\b(?:turns|turned|goes|went) into (?:something like |a bit of |kind of |sort of )?", "sounds like "),
    # "the pace makes the video feel longer than it is": the video, not the music
    (r"\b(?:feel|feels|seem|seems|look|looks) (?:longer|shorter) than (?:it is|it really is|they are)\b", ""),
    # "the refugees' own voices have to carry the story": the people's speech
    (r"\b(?:[a-z]+ s |their |his |her |our |my |its )?own voices?\b", "the dialogue"),
    # "it can be sad again", "it can have vocals again": released
    (r"\b(?:it|this|the music|the track|music) (?:can|could|may) (?:be|have) ([a-z]+) again\b", r"\1 is fine again"),
    # "earlier I said no sad songs, but ...": a report of an earlier ask (as "I said ... earlier")
    (r"\b(?:earlier|before|previously|at first),? (?:i|we) (?:said|asked for|asked|wanted|told you|requested"
     r"|mentioned)\b(?:(?!\b(?:but|though|however|yet)\b)[^,.;:!?])*", "changed my mind "),
    # "you can play folk again", "fine to have drums again": allowed again
    (r"\byou can (?:play|use|have|bring|include) ([a-z]+(?: [a-z]+)?) again\b", r"\1 is fine again"),
    (r"\b(?:fine|ok|okay|alright|happy) (?:to|with|for (?:it|us|you) to) (?:have|having|use|using|hear|hearing)"
     r" ([a-z]+(?: [a-z]+)?)"
     r" (?:again|now|back)\b", r"\1 is fine again"),
    # "kinda long, under 45 sec": a hedged complaint of the length
    (r"(?:^|(?<=[.,;:!?] ))(?:kinda|kind of|sorta|pretty|quite|rather|bit) (long|lengthy|short)\b", r"too \1"),
    # "an archive film about 1920s Berlin": an era, not 1,920 seconds
    (r"\b(1[5-9]|20)(\d0)s\b", r"\1\2 era"),
    # "every corporate video has that exact same piano": the usual one, no wish to keep it
    (r"\b(?:exact|very) same\b", "usual"),
    # "folk would sit better": a wish, as "folk would be better"
    (r"\bwould (?:sit|work|fit|go|sound|suit it) (better|nicer|best)\b", r"would be \1"),
    # "something with a funk touch": a flavour, no degree
    (r"\ba ([a-z]+) touch\b", r"a \1 feel"),
    # "the beat too loud": a learner's dropped copula
    (r"\b(?:the )?beats? ((?:way |far |a bit |kinda |so )?too (?:busy|loud|heavy|much|overpowering|strong))\b",
     r"the drums are \1"),
    # "my tutorial voice", "our narrator voice": the user's own speech
    (r"\b(?:my|our|his|her|their) [a-z]+ (?:voice|voices|voiceover|narration)\b", "the dialogue"),
    # "doesn't have to be instrumental anymore": that limit released
    (r"\b(?:does not|doesnt|do not|dont|no longer) (?:have|need|has) to be ([a-z]+(?: [a-z]+)??)(?: anymore| any more"
     r"| now)?(?=[\s.,;:!?]|$)", r"\1 is fine again"),
    # "ugh techno again": a complaint of it
    (r"\b(?:ugh|urgh|omg|seriously|oh no|why)\b,? (?:the |more |another )?([a-z]+(?: [a-z]+)?) again\b", r"no \1"),
    # "what if the drums weren't there at all?": without them
    (r"\b(?:the )?([a-z]+) (?:were not|werent|was not|wasnt|are not|arent) there\b", r"no \1"),
    # "the video runs longer than I thought": the video, not the music
    (r"\b(?:the |my |our )?(?:video|clip|film|edit|footage|reel|slideshow) (?:runs|is running|turned out|ended up"
     r"|came out|is) (?:a bit |a little |much |way )?(?:longer|shorter) than\b[^.,;!?]*", ""),
    # "I don't really care about the licence": the adverb inside the release
    (r"\b(do not|dont|does not|doesnt) (?:really|honestly|even|actually|much) (care|mind|matter)\b", r"\1 \2"),
    # "for the ABC dance": an event of the video
    (r"\bfor (?:the|our|my|a) (?:[a-z]+ )?dance\b(?! (?:track|music|song|songs|beat|vibe|feel|style|tune|number"
     r"|tracks|stuff|genre))", "for the event"),
    # "we can have vocals now": allowed again
    (r"\b(?:we|i) (?:can|could|may) (?:have|use) ([a-z]+(?: [a-z]+)?) (?:again|now)\b", r"\1 is fine again"),
    # "guitar isn't banned anymore": released
    (r"\b(is|are|s) not (?:banned|forbidden|off limits|off the table|excluded|blocked|a no go)(?: anymore| any more"
     r"| now)?\b", r"\1 fine again"),
    # a learner's "drums ok again": the copula left out
    (r"\b(?!(?:is|are|s|was|were|be|sounds?|feels?|looks?|seems?|its|it)\b)([a-z]+) (ok|okay|fine|alright|allowed)"
     r" (again|now)\b", r"\1 is \2 \3"),
    # "no me gusta", a learner's "I don't like"
    (r"\bno me gusta\b", "i do not like it"),
    # "way too slow man": a man addressed, no voice asked for
    (r"(?<!\ba )(?<!\bno )(?<!\bthe )(?<!\bold )(?<!\bone )(?<!\bany )(?<!\byoung )(?<!\bmale )(?<!\bof )(?<!\bby )"
     r"\b(?:man|dude|bro)(?=\s*(?:[,.!?;]|$))", ""),
    # what the people in the video do fast is no tempo: "the guys cut the meat fast"
    (r"\b(?:the guys|guys|people|they|we|i|he|she|kids|the kids|the staff|the chef|the cooks|dancers|the dancers"
     r"|everyone|the team|my team|workers|the workers) (?:cut|cuts|chop|chops|move|moves|dance|dances|run|runs|work"
     r"|works|drive|drives|walk|walks|cook|cooks|swim|swims|ride|rides)(?: [a-z]+){0,3}? (?:really |very |so |super )?"
     r"(?:fast|quickly|quick|slow|slowly)\b", ""),
    # rhetorical questions about the picks so far: "how are these all 40 seconds long??", "can nobody else hear
    # that?", "people will think we are an Indian restaurant"
    (r"\b(?:how|why) (?:are|is|were|was) (?:these|they|this|it|all these|those)\b[^.;!?]*\?", ""),
    (r"\b(?:can|does|do) (?:nobody|no one|anyone) else (?:hear|notice|see) (?:that|this|it)\b", ""),
    (r"\b(?:people|they|customers|viewers|everyone|guests|clients) (?:will|would|might|could|may) think\b[^.,;!?]*",
     ""),
    # "why does every track have a woman singing?": a complaint of it
    (r"\bwhy (?:does|do|did|must) (?:every|each|all the|all) (?:track|tracks|song|songs|one|pick|picks|option"
     r"|options)(?: [a-z]+)? (?:have|has|use|got)\b", "no"),
    # people's own speed is no tempo: "people scroll fast"
    (r"\b(?:scroll|scrolls|scrolling|swipe|swipes|swiping|talk|talks|talking|speak|speaks|speaking|read|reads)"
     r" (?:really |very |so |too )?(?:fast|quickly|quick|slow|slowly)\b", ""),
    # ... nor is what the narrator is: "no male voice, since the narrator is also a man"
    (r"\b(?:narrator|host|presenter|speaker|voiceover|voice over|vo|interviewee|ceo|founder|teacher|instructor|coach"
     r"|he|she)(?: artist)?(?: is| s| was)(?: also| too| both| himself| herself| already)? (?:a |an )?(?:man|woman|guy"
     r"|girl|lady|bloke|male|female)(?: narrator| voice| presenter| speaker| host)?\b", ""),
    (r"\b(?:the )?beats? (?=(?:has|have|needs?|must|can|should|gotta|has got) (?:to )?go\b)", "the drums "),
    # "the beat is too busy" speaks of the drums; "the beat is too fast" of the tempo
    (r"\b(?:the )?beats? (is|are|s|feels?|sounds?) ((?:way |far |a bit |a little |much |kinda |kind of |sort of "
     r"|just |bit )?too |(?:kinda|kind of|a bit"
     r"|a little|quite|really|way|so|pretty|rather) )?(busy|loud|heavy|much"
     r"|overpowering|distracting|annoying|harsh|intrusive|boomy|dominant|prominent|quiet|weak|thin)\b",
     r"the drums \1 \2\3"),
    # "a bit on the gloomy side" is "a bit too gloomy"; "a nice bit of jazz" is some jazz, no degree
    (r"\b(is|s|are|sounds|feels|bit|little|slightly|rather|quite|kinda|very|way|far) on the ([a-z]+) side\b",
     r"\1 too \2"),
    (r"\ba (?:nice|good|lovely|proper|decent) bit of\b", "some"),
    # "the pace needs picking up": faster; "kick it up a notch": more energy
    (r"\bthe (pace|tempo|speed) (?:needs|need|wants|could do with) (?:picking|speeding) up\b", r"pick up the \1"),
    (r"\bkick it up\b", "pump it up"),
    # "push the tempo a touch": up
    (r"\bpush (?:the )?(tempo|pace|bpm|speed)\b(?! (?:up|down|back)\b)", r"push the \1 up"),
    # "lean harder into the indian flavour": more of it
    (r"\blean (way |much |a bit |a little |slightly |even )?(?:harder |more |further |heavier )?into\b", r"\1more of"),
    # "the kick is too loud": the kick drum ("give it a kick", "kick it up" are not)
    (r"(?:^|\bthe )kick\b(?! (?:to|of|out|it|in|up|off|drum|start)\b)", "the kick drum"),
    # "the editor will cut it down", "I can loop it": the edit someone will make, no ask of the music
    (r"\b(?!you\b)(?:i|we|they|he|she|(?:the |our |my )?editors?|(?:the |our )?team|[a-z]+) (?:will|ll|can|is going to"
     r"|are going to|am going to|gonna) (?:just |easily |simply )?(?:cut|trim|fade|edit|loop|shorten|extend|chop|crop)"
     r"\b[^.,;!?]*", ""),
    # "for the campfire bit": a part of the video, not a degree ("the drums bit louder" keeps it)
    (r"\b(the|this|that|our|my) ((?:(?!is\b|a\b)[a-z]+ )?(?!a\b)[a-z]+) bit\b(?! (?:more|less|faster|slower|louder"
     r"|quieter|softer|of)\b)", r"\1 \2 part"),
    # "tone the beat down", "turn down the beat": the drums' level, as "turn the beat up" is theirs
    (r"\b(tone|turn|dial|bring) (?:the )?beats? (down|up)\b", r"\1 the drums \2"),
    (r"\b(tone|turn|dial|bring) (down|up) (?:the )?beats?\b", r"\1 \2 the drums"),
    # "I feel like the music should ..." is "I think ...", not a liking
    (r"\b(?:i|we) (?:feel|felt) like\b", "i think"),
    # "the singer's voice" names one voice
    (r"\b(singer|vocalist)(?: s)? (?:voice|vocals?)\b", r"\1"),
    # "vocals or no vocals" is either: what follows says whether it matters
    (r"\b([a-z]+) or no \1\b", r"\1"),
    # "I keep hearing synth" complains of it
    (r"\b(?:i|we) (?:(?:keep|still) (?:hearing|getting|noticing|hear)|can still hear) ", "too much "),
    # after round 30 (negation scope, self-corrections): a negated question asks ("can't we get someone singing
    # on this?", "couldn't it go a touch quicker?", "why not throw in a bit of sitar?")
    (r"(?:^|(?<=[.,;:!?] ))(?:(?:so|but|and|hey|ok|okay|hmm),? )?(can|could|would|will|should|is|are|was|does|do) not"
     r" (we|you|it|i|this|that|they)\b(?=[^.;!]*\?)", r"\1 \2"),
    (r"\bwhy not (?=(?:throw|add|try|use|go|have|get|put|make|give|bring|switch|pick|play|slip|sneak|mix|layer|swap"
     r"|speed|slow)\b)", ""),
    # "not a little faster, a LOT faster": the degree corrected
    (rf"\bnot ({_DEGREE_WORDS}) ([a-z]+),?\s*(?:but |just |only |i mean |i said )?({_DEGREE_WORDS}) \2\b",
     r"i mean \3 \2"),
    # "not 90 bpm, more like 140": the number corrected, and approximate
    (r"\bnot (?:around |about )?(\d{2,3}) ?bpm\b[\s,;]*(?:but |more like |closer to |rather |nearer |i mean |maybe )"
     r"(?:around |about |like )?(\d{2,3})\b(?! ?bpm)", r"around \2 bpm"),
    # "I can't use anything longer than 45 seconds": nothing longer
    (r"\b(?:can not|could not|do not want|do not need|will not take) (?:use |have |take |accept |fit |go with |get )?"
     r"anything\b", "nothing"),
    # "length doesn't matter anymore, forget what I said": the release is what is forgotten, not every ask
    (r"(\b(?:does not matter|do not matter|is fine|are fine|can come back|is ok|is okay|is off|fine again"
     r"|ok again)\b[^.;!?]*?)[,;]?\s*(?:so |just |and )?(?:forget|ignore|never mind|disregard) what (?:i|we) (?:said"
     r"|asked(?: for)?)\b(?! about)", r"\1"),
    (r"\b(?:forget|ignore|never mind|disregard) what (?:i|we) (?:said|asked(?: for)?)\b(?! about),?\s*"
     r"(?=[^.;!?]*\b(?:does not matter|do not matter|is fine|are fine|can come back|is off|fine again)\b)", ""),
    # "I meant brighter, not darker", "not slower, just shorter", "I'm not after a slower track, just a shorter
    # cut", "I didn't ask for a slower track, I asked for a calmer one", "don't make it any calmer, it needs
    # livening up": the direction turned down beside the one asked is no ask of its own
    (rf"(?<=[a-z]),\s*(?:and |but )?not (?:any |a |so much )?({_COMPARATIVES})(?: one| track| song| version"
     r"| tune)?(?=\s*(?:[.;!?]|$))", _the_opposite_turned_down),
    (rf"^(?:(?:i meant|i mean|i said|no),?\s*)?not (?:any |a |so much )?(?:{_COMPARATIVES})(?: one| track| song"
     r"| version)?,\s*(?:but |just |i meant |i mean |i said |rather )?(?!please|thanks|thank|thx|ok|okay)(?=[a-z])",
     ""),
    (rf"\b(?:i am|im|we are|i m) not (?:after|looking for|asking for|going for|wanting|trying to get) (?:a |an |it )?"
     rf"(?:any |anything )?(?:{_COMPARATIVES})(?: one| track| song| version| tune| cut| edit)?,\s*(?:just |but |only "
     r"|rather |i want |i need |i am after |what i want is )?", ""),
    (rf"\b(?:i|we) (?:(?:did not|didnt|never) (?:say|ask for|ask|want|mean|request)|never (?:said|asked for|asked"
     rf"|wanted|meant|requested))(?: it| for it)?(?: to be)? (?:a |an )?"
     rf"(?:{_COMPARATIVES})(?: one| track| song| version| tune)?,\s*(?:(?:i|we) (?:said|asked for|asked|wanted|meant)"
     r"|just|but)\b", ""),
    (rf"\b(?:do not|never) make it (?:any )?(?:{_COMPARATIVES}),\s*(?=(?:it |just |but |i |we |make |rather "
     r"|if anything ))(?![^.;!?]*\b(?:come|go|bring it|take it|dial it|turn it) (?:down|up|back)\b)", ""),
    # "leave the strings alone, the synth though is way too loud": the one left alone asks nothing
    (r"\bleave (?:the |that |those |these |my )?[a-z]+ alone\b", ""),
    (r"\b(the [a-z]+) (?:though|tho|however|meanwhile),? (?=(?:is|are|s|sounds?|feels?|seems?|gets?|needs?)\b)",
     r"\1 "),
    # "there's nothing wrong with the piano": it is fine; "not nearly long enough": not long enough
    (r"\b(?:there is |theres |there s )?nothing wrong with (?:the |that |this |those |my )?((?:[a-z]+ )?[a-z]+?)"
     r"(?=\s*(?:[,.;!?]|$|but\b|though\b))", r"\1 is fine"),
    (r"\bnot nearly\b", "not"), (r"\b(?:is |s )?not long enough\b", " too short"),
    (r"\b(?:is |s )?not short enough\b", " too long"),
    # "I wouldn't hate a bit more guitar": a double negative, a wish
    (r"\b(?:would not|wouldnt|would never) (?:hate|object to|be against|complain about|be opposed to|turn down"
     r"|refuse)\b", "would love"),
    # after round 31 (long messages): the people and instruments of the video ask nothing ("there's a man playing
    # sitar at one of the stalls", "my brother is playing acoustic guitar live in the shot", "old footage of him
    # playing trumpet", "a marching band with a big drummer shows up in a few clips", "a singer performing on stage")
    (r"\b(?:(?:there s|theres|there is|there are|there was|there were|you can see|we see|you see|it shows)(?: [a-z]+)?"
     r" (?:a|an|some|two|three|old|this|that|my|our)|footage of)\b"
     r"[^.;!?]*?\b(?:playing|plays|performing|strumming|singing|drumming|busking|on stage)\b[^.,;!?]*",
     _performed_in_the_video),
    (r"\b(?:(?:my|our|his|her|their|a|an|the|some|old) )?(?:[a-z]+ )?(?:man|woman|guy|girl|lady|kid|boy|brother"
     r"|sister|dad|father|mum|mom|mother|grandfather|grandmother|grandma|grandpa|friend|friends|uncle|aunt|busker"
     r"|buskers|musician|musicians|him|he|she|they|someone|somebody|cousin|son|daughter|wife|husband|bride|groom"
     r"|student|students|kids|teacher|dancers) (?:is |was |are |were |s )?(?:also |still |just )?(?:playing|plays"
     r"|played|performing|performs|performed|strumming|strums|singing|sings|sang|drumming|busking)\b[^.,;!?]*?"
     r"(?=\s(?:and|but|so|because|though)\b|[.,;!?]|$)", _performed_in_the_video),
    (r"\b(?:a|an|the|my|our|his|her|their|[a-z]+ s) (?:[a-z]+ )?(?:drummer|singer|guitarist|pianist|violinist|cellist"
     r"|flautist|sitarist|band|choir|orchestra|dj|rapper|vocalist)s?\b(?=[^.,;!?]*\b(?:on stage|in (?:the|every|each"
     r"|almost every|most|a few|some|all|the final|the last|the first)(?: [a-z]+)? (?:shot|shots|clip|clips|scene"
     r"|scenes|footage|frame|video)|shows? up|appears?|filmed|films|is all over)\b)[^.,;!?]*", _seen_in_the_video),
    # "the vocals kept pulling my attention away": a distraction; "dragging the mood down": sadder; "would feel
    # too on the nose": too much of it; "a mechanical keyboard", "a violin maker": what the video shows
    (r"\b(?:kept|keep|keeps) (?:pulling|drawing|taking|stealing|grabbing) (?:my |the |our )?(?:attention|focus|eyes?"
     r"|ears?)(?: away)?\b", "distracts"),
    (r"\bdragging (?:the mood|the vibe|it|things|everything|the whole thing) down\b", "sad"),
    (r"\b(?:would (?:feel|be|seem)|feels?|is) (?:a bit |way |far |kind of |kinda )?too on the nose\b", "is too much"),
    (r"\b(?:mechanical|computer|gaming|laptop|wireless|ergonomic|custom) keyboards?\b", "gadget"),
    (r"\b(?:violin|guitar|piano|drum|flute|sitar|synth) (?:maker|makers|builder|builders|shop|shops|tuner|tuners"
     r"|repair|workshop|luthier|store|factory)\b", "workshop"),
    # "I thought guitar in the music would clash": a belief of before, no ask
    (r"\b(?:i|we) (?:thought|figured|assumed|feared|worried)(?: that)? [^.,;!?]*?\bwould (?:clash|compete|fight"
     r"|not fit|not work|be too much|distract|be distracting|get in the way)\b[^.,;!?]*", ""),
    # "it's the synth that's too loud" says the synth is; "it isn't the piano that's too loud, it's the strings"
    # that the strings are
    (r"\b(?:it is not|it isnt|its not|it s not) the [a-z]+ (?:that is|thats|that s|which is) ((?:way |far |a bit )?too"
     r" [a-z]+),? (?:it is|its|it s) the ([a-z]+)\b", r"the \2 is \1"),
    (r"\b(?:it is|its|it s) the ([a-z]+) (?:that is|thats|that s|which is) ((?:way |far |a bit |much )?too [a-z]+)\b",
     r"the \1 is \2"),
    # "lose the synth its so cheesy": a run-on sentence, two clauses
    (r"\b(synths?|guitars?|piano|drums|strings|flute|choir|vocals|sitar|violins?|cello|bass|sax|saxophone|trumpet"
     r"|percussion|keys|harp) (its|it s|it is|thats|that s|they are|theyre|they re)\b(?! (?:fine|ok|okay|alright)\b)",
     r"\1, \2"),
    # "I was being too picky about the tempo before": a regret, no ask
    (r"\b(?:i|we) (?:was|were) (?:being )?(?:too |a bit |way |overly )?(?:picky|fussy|strict|particular|harsh"
     r"|demanding) about\b[^.,;!?]*", ""),
    # sarcasm: "sure, because every cooking video needs death metal" does not want it; "could it be any more
    # cheerful?" is too cheerful
    (r"(?:^|(?<=[.;!?] ))(?:sure|yeah|oh yeah|right|great|oh great),? because (?:every|all|each|any|my) [^.;!?]*?"
     r"\bneeds? (?:more |some |a |an )?([^.;!?]+)", r"no \1"),
    (r"\bcould (?:it|this|that|this track|the track|the song|this one) (?:be|get|sound) any more ([a-z]+)\s*\?",
     r"it is too \1."),
    # after round 32: "ease off the percussion" turns it down; "the singer should be front and center" up; a
    # learner's "licence is not mattering now"
    (r"\bease off (?:on )?(?:the |that |those |these )", "less "),
    (r"\b(?:be |is |are )?(?:front and cent(?:er|re)|up front|upfront)\b", " louder"),
    (r"\b(is|are) not mattering\b", "does not matter"),
    # after round 33: "we can have drums back" releases them; "sad is fine actually" too; "this one still has
    # vocals" complains of them; "vocals and length don't matter" says it of both
    (r"\b(?:we|i|you) (?:can|could|may) (?:have|use|get) ((?:[a-z]+ ){0,2}?[a-z]+) back\b", r"\1 can come back"),
    (r"\b(is|are|s) (fine|ok|okay|alright) actually\b", r"\1 \2 again"),
    (r"\b(?:this one|it|this|this track|the track|the song|that one) still (?:has|got|have) (?:a |an |some |the )?",
     "too much "),
    (r"\b([a-z]+) and (?:the )?([a-z]+) ((?:do not matter|are fine|are ok|are okay|are allowed|can come back)"
     r"(?: again| now| anymore| any more)?)\b", r"\1 \3, \2 \3"),
    # after round 34: "the flute is the only thing I don't want" removes it; "rule out anything melancholic"
    # too; "anything else goes" asks nothing; "is that really so hard?" is exasperation, no degree
    (r"\b(?:the )?([a-z]+) (?:is|are|s) the only thing (?:i|we) (?:do not|dont) (?:want|like|need)\b", r"no \1"),
    (r"\brule out (?:anything |any |the |all )?", "no "),
    (r"\b(?:anything|everything) else (?:goes|is fine|is ok|is okay|works)\b", ""),
    (r"\b(?:is (?:that|it|this)|why is (?:this|it|that)) (?:really |honestly |seriously )?(?:so |that )?hard\b\??",
     ""),
    # after round 35 (jargon, many asks): "the drop" and "a needle drop" are music, not a removal; "on every
    # downbeat" is the beat; "epic" beside a cinematic ask in another clause is that music too
    (r"\b(rave|party|disco|rock|pop|jazz|techno|dance|workout|gym|club|wedding|birthday) soundtrack\b", r"\1 track"),
    (r"\bneedle drops?\b", "track"),
    # after round 38: "licence restrictions are off"; "it drags like the extended cut" is too long; "a bit more
    # toward jazz" is a bit more jazz
    (r"\b(licen[cs]e|licensing|length|tempo|bpm|duration) (?:restrictions|limits|rules|filters|requirements) (?:are off"
     r"|are gone|are lifted|no longer apply|do not apply)\b", r"\1 restriction is off"),
    (r"\b(?:it |this |the track |the song )?drags\b(?! on\b)(?=[^.!?]*\b(?:extended|forever|length|minutes?|hours?)\b)",
     " is too long"),
    (r"\b(a bit|a little|slightly|a touch|much|way|a lot) more (?:toward|towards|into|in the direction of) (?:the )?",
     r"\1 more "), (r"\b(?:my|the|our|your) (?:low|top|high) end\b", "the mix"),
    (r"\b(the|that|this) drop\b(?! (?:the|a|an|it|them|that|those|this|some|any|all)\b)", r"\1 climax"),
    (r"\b(?:on|to|with|at) (?:every|each|the|a) downbeats?\b", "on cue"),
    (r"\b(?:saying|says|said|word|calls it|call it) epic\b", _epic_beside_cinematic),
    # "forget the licence thing and the length limit": both; "guitar's fine again and so is sad stuff": both;
    # "no need for CC0 anymore": the licence released
    (r"\b(forget|drop|remove|lift|scrap|ignore|lose) (the [a-z]+ (?:thing|limit|rule|restriction|cap|filter)) and "
     r"(the [a-z]+ (?:thing|limit|rule|restriction|cap|filter))\b", _both_taken_back),
    (r"\b(is|are|s) (fine|ok|okay|allowed|alright)( again| now)?\s*,? and so (?:is|are) ((?:[a-z]+ ){0,2}?[a-z]+)\b",
     r"\1 \2\3, \4 is \2\3"),
    (r"\bno need for (?:cc0|cc ?by|cc-by|royalty free|royalty-free|public domain|a licen[cs]e)(?: [0-9.]+)?(?: only)?"
     r"(?: anymore| any more| now)?\b", "licence does not matter"),
    # after round 36: "keys too loud", a copula left out;
    # "120ish bpm" is about 120
    (r"(?:^|\bthe )(keys|piano|drums|guitars?|synths?|strings|vocals|flute|choir|sitar|violins?|cello|percussion)"
     r" ((?:way |far |a bit |kinda |so |much )?too (?:busy|loud|heavy|much|overpowering|strong|quiet|soft"
     r"|prominent|present|loud))\b", r"the \1 are \2"),
    (r"\b(\d{2,3}) ?-?ish\b", r"around \1"), (r"\b(?:is|are) back on the table\b", " can come back"),
    # after round 37 (hard negation, formal letters): negation in a clause of opinion ("I don't think this needs
    # drums", "I don't think it needs to get calmer", "I don't think it should be this slow")
    (rf"\b(?:i|we) (?:do not|dont|did not) think (?:it|this|that|the track|the song|the music|this one) (?:needs? to"
     rf"|should|has to) (?:get|be|go|become|sound) (?:any )?(?:{_COMPARATIVES})\b[;,]?", ""),
    (r"\b(?:i|we) (?:do not|dont|did not) think (?:this|it|that|the track|the song|the music|this one|we) (?:needs?"
     r"|requires?|should have|has to have|wants?) ", "no "),
    (r"\b(?:i|we) (?:do not|dont|did not) think (it|this|that|the track|the song|the music|this one) (should|must"
     r"|can) ", r"\1 \2 not "),
    # "there's already plenty of guitar, no more of it": too much of it; "only the faintest bit of percussion": much
    # less; "I don't want it without drums": with them
    (r"\b(?:(?:there is|theres|there s|it has|this has|its got) )?already (?:plenty|enough|a lot|lots|loads) of"
     r" ([a-z]+),?"
     r"\s*(?:so )?no more(?: of (?:it|that|them))?\b", r"too much \1"),
    (r"\bonly (?:the )?(?:faintest|slightest|tiniest|smallest|lightest) (?:bit|hint|touch|trace) of\b", "much less"),
    (r"\b(?:do not|dont) want (?:it|this|the track|one) without\b", "want it with"),
    (r"\b(?<=want )(them|it) (?:anywhere|at all|here|in there)(?: in (?:this|the|my) (?:cut|edit|track|video|mix"
     r"|one))?\b", r"\1"),
    (r"\bmore (?:unhurried|leisurely|relaxed|gentle|easygoing|easy going) (?:pace|tempo|speed)\b", "slower pace"),
    # "Indian music is not what I'm after here": not wanted
    (r"\b(?!(?:this|that|it|this one|that one)\b)((?:[a-z]+ ){0,2}?[a-z]+) (?:is|are) not what (?:i am|im|i m|we are"
     r"|i was|we were) (?:after|looking for|going for|wanting)\b", r"no \1"),
    # "lose the drums but make the beat hit harder" asks the drums louder; "make them louder" turns them up (and
    # "make it louder" is the whole track)
    (r"\b(?:the )?beats? (?:hit|hits|punch|punches|slap|slaps|knock|knocks) harder\b", "the drums louder"),
    (r"\bmake (them|those) louder\b", r"turn up \1"),
    (r"\b(turn|crank|pump|bump|ramp) (them|those) (up)\b", r"\1 \3 \2"),
    # letters: "I do not care for the guitar" dislikes it; "thank you ever so much" is no degree; "the photographs
    # change every ten seconds" is the video; "as a girl" is no voice; "Creative Commons with attribution" is CC BY
    (r"\b(?:do not|dont) (?:really |much )?care for\b", "do not like"),
    (r"\b(?:thank you|thanks)(?: ever)? so much\b", "thank you"),
    (r"\bevery (?:\d+|[a-z]+) (?:seconds?|secs?|minutes?|mins?)(?: or so)?\b", "regularly"),
    (r"\bas a (?:girl|boy|child|kid|young (?:man|woman|girl|boy|lady)|teenager|lad|lass)\b", "when young"),
    (r"\bcreative commons (?:with |requiring |under )?attribution\b", "cc by"),
    # after round 39 (long messages, Englishes): the video's sounds and people ask nothing ("the footage has the camel
    # drivers singing around the fire", "a string quartet played live for the dance", "he's a retired jazz drummer",
    # "people smiling at desks", "she narrates in a deadly serious voice", "a gentle voice telling you to breathe",
    # "it's lonely and gloomy by design", "she heard a demo with someone singing on it")
    (r"\b(?:footage|video|clip|shot|scene|audio|recording) (?:has|shows|features|includes|captures)\b[^.;!?]*?"
     r"\b(?:singing|playing|strumming|drumming|performing|chanting)\b[^.,;!?]*", ""),
    (r"\b(?:a|an|the|our|my|their) (?:[a-z]+ )?(?:quartet|trio|ensemble|orchestra|band|choir|dj|busker|singer|drummer"
     r"|guitarist|pianist|violinist)s? (?:played|plays|playing|performed|performs|sang|sings|singing) (?:live|for|at"
     r"|during|in)\b[^.,;!?]*", ""),
    (r"\b(?:he s|he is|she s|she is|hes|shes|he was|she was|i am|im|i m|i was|(?:my|our|his|her) [a-z]+ (?:is|was|s))"
     r" (?:a |an )?(?:retired |former "
     r"|professional |amateur |session |big |huge |great )?(?:[a-z]+ )?(?:drummer|singer|guitarist|pianist|violinist"
     r"|flautist|cellist|musician|rapper|dj|vocalist)\b", ""),
    (r"\b(?:people|everyone|they|kids|guests|colleagues|staff|he|she|we|the team|employees|students)(?: are| were)?"
     r" (?:smiling|laughing|grinning|cheering)\b", ""),
    (r"\bin a (?:[a-z]+ )?(?:[a-z]+ )?voice\b", ""),
    (r"\ba (?:[a-z]+ )?voice (?:telling|saying|guiding|reading|explaining|talking|asking|narrating)\b", "a narrator"),
    (r"\b(?:it is|its|it s) (?:[a-z]+(?: and [a-z]+)?) by design\b", ""),
    (r"\b(?:heard|listened to|saw|found) (?:a|an|the|some) (?:demo|song|track|version|cover|video|clip)\b[^.;!?]*", ""),
    (r"\b(?:the )?(?:guy|man|woman|girl|lady|kid) in the (?:footage|video|clip|shot|scene) (?:is|was) (?:strumming"
     r"|playing|singing|drumming)\b[^.,;!?]*", ""),
    # "the guitar ban is off" releases it; "you can relax the licence condition" too; "sad type songs" are sad
    (r"\b(?:the )?([a-z]+) ban (?:is off|is lifted|is over|is gone|no longer applies|does not apply)\b",
     r"\1 can come back"),
    (r"(?<=can come back),? and (?:the )?([a-z]+) ban(?: too| as well)?\b", r", and \1 can come back"),
    (r"\b(?:relax|loosen|ease|relaxed|loosened|eased|lift|lifted|scrap|scrapped) (?:the |their |its |our |my |that )?"
     r"([a-z]+) (?:requirement|rule|restriction|limit|filter|constraint|condition)s?\b", r"forget the \1 limit"),
    (r"\b([a-z]+) (?:type|kind of|style|sort of) (songs?|tracks?|music|stuff|tunes?)\b", r"\1 \2"),
    # "the main melody should be played on piano" asks for it; "in your pick" is where, no ask
    (r"\b(?:should|must|could|has to|needs to) be played on (?:the |a )?", "on "),
    (r"\b(?:so )?(?:anything|everything) ([a-z]+) (?:fights|clashes|competes|distracts)\b[^.,;!?]*", r"no \1"),
    (r",\s*(?:bhai|yaar|boss|bro|sir|madam|ma am|ji|dear|mate|buddy|pal|fam)(?=\s*[.!?]*$)", ""),
    (r"\b(?:feel|vibe|touch|flavour|flavor) (would|could|might) be\b", r"\1 be"),
    (r"\b(?:in|on) (?:your|the|this|that) (?:last |previous )?(?:pick|suggestion)\b", ""),
    # after round 40 (self-corrections, releases): a degree taken back ("way too fast, well not way, just a touch too
    # fast", "not way too, a bit too chill"); "sorry meant flute not piano"; "*sitar"; "drop the licence
    # restriction, oops, meant the tempo restriction"; "it's not the speed" keeps the tempo
    (rf"\bnot ({_DEGREE_WORDS})(?: too| more)?,\s*(?:but |just |only )?(?={_DEGREE_WORDS}\b|more\b|less\b)", "i mean "),
    (r"\bmeant ((?:no |more |less )?[a-z]+),? not (?:the |no )?[a-z]+\b", r"meant \1"),
    (r"\b(drop|remove|lift|forget|ignore|scrap|relax) (?:the |my )?[a-z]+ (restriction|limit|rule|filter|requirement),?"
     r"\s*(?:oops|sorry|no)?,?\s*(?:i )?meant (?:the )?([a-z]+) (?:restriction|limit|rule|filter|requirement)\b",
     r"\1 the \3 \2"),
    (r"\b(?:it s|its|it is) not (?:the|about the) (speed|tempo|pace|length|mood|vibe|genre|style)\b", r"keep the \1"),
    (r"\bpass on (?:this|that|it)(?: one)?\b", "skip this one"),
    # "my client hates pop": not wanted; "the owner likes lyrics" after an ask is its reason
    (r"\b(?:the|my|our) (?:client|boss|customer|customers|manager|director|team|family|wife|husband|mum|mom|dad"
     r"|partner|audience) (?:hates|dislikes|can not stand|is not a fan of|does not like)\b", "no"),
    (r",\s*(?:because |since |as )?(?:the|my|our) [a-z]+ (?:likes|loves|enjoys|is into)\b[^.;!?]*", ""),
    # releases in negative words: "you don't have to avoid rock now", "no need to keep it short anymore", "there's
    # no limit on length now", "it doesn't have to stay under 90 bpm anymore", "I'm no longer excluding sitar"
    (r"\b(?:you )?(?:do not|dont|no longer|need not) (?:have to|need to) (?:avoid|exclude|skip|leave out"
     r"|steer clear of|stay away from) ((?:[a-z]+ ){0,2}?[a-z]+)\b(?= for| now| anymore| any more|[\s.,;!?]*$)",
     r"\1 is fine again"),
    (r"\b(?:no need|(?:do not|dont) need|you do not have) to keep it (?:short|long|brief|quick)\b(?: anymore"
     r"| any more)?", "length does not matter"),
    (r"\bno (?:limit|cap|restriction|max|maximum|minimum) on (?:the )?(length|duration|tempo|bpm|licen[cs]e)\b",
     r"\1 does not matter"),
    (r"\b(?:i am|im|i m|we are|we re)? ?(?:no longer|not) (?:excluding|avoiding|banning|blocking|skipping)"
     r" ((?:[a-z]+ ){0,2}?[a-z]+)\b(?=[\s.,;!?]|$)", r"\1 is fine again"),
    # "the guitar isn't too loud, the drums are"; "vocals aren't the problem"; "I don't mind the jazz, but ..."
    (r"\b(?:the )?[a-z]+ (?:is not|isnt|are not|arent) ((?:way |far |a bit )?too [a-z]+),? (?:it s |its |it is )?"
     r"(?:the )?([a-z]+) (?:is|are)\b", r"the \2 is \1"),
    (r"\b[a-z]+ (?:is not|isnt|are not|arent) the (?:problem|issue)\b", ""),
    (r"\b(?:i |we )?(?:do not|dont) mind (?:the|that|this) [a-z]+,? but\b(?= (?:it|this|make|can|could|please)\b)",
     "but"),
    # after round 41: "the cut is snappy" is the video; "a New Orleans club owner" no club music; "a boy singer"
    # is male; a reason about the narrator or the people asks nothing; "a singer would just fight with them" and
    # "anything else would double her" give the reason for none
    (r"\b(?:the|my|our|this) (?:cut|edit|edits|cuts)\b(?= (?:is|are|s|feels|looks)\b)", "the video"),
    (r"\b(?:night)?club (owner|owners|manager|managers|members?|staff|bouncer)\b", r"\1"),
    (r"\b(?:boy|boys|guy|guys|man|men|lad|lads|dude)\s+(singer|singers|vocalist|vocals|voice|voices|singing)\b",
     r"male \1"),
    (r"\b(?:girl|girls|woman|women|lady|ladies|gal)\s+(singer|singers|vocalist|vocals|voice|voices|singing)\b",
     r"female \1"),
    (r"\b(?:because|since|as|cause|cos) (?:the|my|our|his|her) (?:narrator|voiceover|host|presenter|speaker"
     r"|interviewee|interviewees|speakers|people|kids|vo)\b[^.;!?]*", ""),
    (r"\b(?:a|any|the) ([a-z]+) would (?:just |only |probably |definitely )?(?:fight|clash|compete|distract"
     r"|get in the way|double)\b[^.,;!?]*", r"no \1"),
    (r"\b(?:anything|something) else would\b[^.,;!?]*", ""),
    # after round 42 (briefs pasted in, hard mixes): words about the brand, the client and the footage ask nothing
    # ("the brand voice", "after hearing your last pick", "quick context", "choir footage", "she has strong
    # opinions", "the soundtrack of 1978", "a drone pass", "the opposite of a Monday", "the director said your last
    # track had ... and I agree:"); "ideally an electronic track" wishes; "no longer restricted to CC0" releases;
    # "can carry some sadness after all" releases
    (r"\bbrand (?:voice|tone|identity|guidelines|colours|colors|values)\b", "brand style"),
    (r"\b(?:after |on |when |since )?(?:hearing|listening to|heard) (?:your|the|this|that) (?:last |previous )?(?:pick"
     r"|track|song|suggestion|one)\b", ""),
    (r"\bquick (?:one|context|note|question|update|thing|request|favour|favor|heads up|q)\b", "note"),
    (r"\b(?:choir|orchestra|band|drum|drums|guitar|piano|string|strings|concert|dance) footage\b", "footage"),
    (r"\b(?:has|have|with) strong (?:opinions|views|feelings|preferences|taste)\b", "has opinions"),
    (r"\bsoundtrack (?:of|to|for) (?:the |my |our )?(?:\d{4}|[a-z]+ (?:life|summer|childhood|youth))\b", "era"),
    (r"\bdrone (pass|shot|shots|footage|flyover|work|pov|view|video|clip|clips|flight|passes)\b", r"aerial \1"),
    (r"\b(?:this|it) is (?:meant|supposed) to be the opposite of\b[^.;!?]*", ""),
    (r"\b(?:the )?(?:director|client|producer|owner|brand|ceo|cmo|boss|manager|team|principal)(?: [a-z]+)? (?:said"
     r"|says|called it|felt|thinks|thought)\b[^.;!?]*?\b(?:and )?i agree\b[:,]?", ""),
    (r"\bideally\b(?= (?:a|an|some|something|more|less|no)\b)", "i want"),
    (r"\b(?:no longer|not) (?:restricted|limited) to (?:cc0|cc ?by|cc-by|royalty free|public domain)(?: [0-9.]+)?\b",
     "licence does not matter"),
    (r"\bcan (?:carry|have|take|include|use) (?:some |a bit of |a little )?([a-z]+) after all\b",
     r"\1 is fine again"),
    (r"\b(?:footage|video|clip|film|scene|shot) (?:includes|features|shows|has)\b[^.;!?]*?\b(?:harpist|drummer"
     r"|guitarist|pianist|violinist|singer|choir|band|orchestra|dj|flautist|cellist|sitarist)s?\b[^.,;!?]*", ""),
    # "drop the drums but make the beat stronger" asks them louder; "it's graduation not a club" is the video;
    # "because the previous video was all violins" is a reason; "not full-on pop" asks no degree of its own; "I
    # don't want it sleepy" beside "chiller" tempers it
    (r"\b(?:the )?beats? (?:stronger|heavier|louder|bigger|punchier)\b", "the drums louder"),
    (r"\b(?:its|it is|it s|this is) (?:a |an |the |for (?:a |an |the )?)?[a-z]+,? not (?:a|an) [a-z]+\b"
     r"(?! (?:track|song|tune|music|vibe|one)\b)", ""),
    (r"\b(?:because|since|as|cause|cos) (?:the|my|our) (?:previous|last|other|old) (?:video|clip|one|episode|film|reel)"
     r"\b[^.,;!?]*", ""),
    (r",?\s*\bnot (?:full on|full blown|all out|totally|completely|fully|over the top) [a-z]+(?=\s*(?:[,.;:!?]|$)),?",
     ""),
    (r"\b(?:i |we )?(?:do not|dont) want it (?:too )?(?:sleepy|boring|dull|lifeless)\b", _tempering_a_calm_ask),
    # after round 43: a learner's trailing reason ("without the violin, it make me sleepy"); a topic first ("the
    # guitar please reduce a bit"); "duration no more problem" releases it
    (r",\s*(?:it|they|this|that) (?:make|makes|made) (?:me|us|people|everyone|viewers) (?:feel )?[a-z]+\b", ""),
    (r",\s*(?:it|they|this|that) (?:cover|covers|covering|hide|hides|block|blocks) (?:my|the|our) (?:[a-z]+ )?(?:voice"
     r"|voiceover|narration|speech|talking)\b", ""),
    (r"\b(?:the )?([a-z]+) please (reduce|remove|lower|cut|drop|add|increase|boost|raise)\b", r"please \2 the \1"),
    (r"\b([a-z]+) (?:is )?no (?:more|longer) (?:a )?problem\b", r"\1 does not matter"),
    # "I was going to say more piano, but ...": not said after all
    (r"\b(?:i|we) (?:was|were) (?:going|gonna|about) to (?:say|ask for|ask|suggest|request)\b[^.;!?]*?,?\s*but\b",
     ""),
)


# Chat spellings of cue words: "abit faster", "alot slower", "gimme", "pls".
_CHAT_WORDS = ((r"\bluv+\b", "love"), (r"\babit\b", "a bit"), (r"\balot\b", "a lot"), (r"\balittle\b", "a little"),
               (r"\blil\b", "little"), (r"\bgimme\b", "give me"), (r"\bwanna\b", "want to"),
               (r"\bpl[sz]\b", "please"), (r"\bplz\b", "please"), (r"\bu\b", "you"),
               (r"\b(?:withought|withouth|wihtout|witout|withot|whitout|without out)\b", "without"),
               # speech to text: "the quire", "royal tea free"
               (r"\bquire\b", "choir"), (r"\broyal tea\b", "royalty"),
               (r"\bwith out\b", "without"), (r"\bw\b(?= (?:a|an|the|some|no|more|less)\b)", "with"),
               (r"\bw/o\b", "without"), (r"\bw/(?=\s)", "with"),
               (r"\babt\b", "about"), (r"\bbmp\b", "bpm"), (r"\bles\b(?! paul)", "less"),
               (r"\bslighty\b", "slightly"), (r"\bundr\b", "under"), (r"\bain'?t\b", "is not"),
               (r"\br\b(?! ?(?:&|and|n) ?b\b)", "are"), (r"\bno cap\b", ""),
               (r"\b(?:somthing|sumthing|somethin|smth|sth)\b", "something"),
               # a learner's comparatives: "not more long than 2 minutes", "more short also"
               (r"\bmore long\b", "longer"), (r"\bmore short\b", "shorter"),
               # dictation: "b p m", "see see zero", "heavy medal", "no wrap please"; chat's "em"
               (r"\bb ?p ?m\b", "bpm"), (r"\bsee see\b", "cc"), (r"\bheavy medal\b", "heavy metal"),
               (r"\b(no|more|less|some|without|any|not|hate|love) wrap\b(?! (?:it|up|things))", r"\1 rap"),
               (r"\bem\b", "them"), (r"\bbasta\b", "enough"), (r"\bheaps too\b", "way too"),
               # a word of the user's own language: "otra, por favor"
               (r"\bpor favor\b", "please"), (r"\b(?:otra|otro|autre|andere|altra|outra)\b", "another"),
               # "too loud n punchy": chat's "and" ("rock n roll" is one name either way)
               (r"(?<=[a-z]) n (?=[a-z])", " and "))


_COMPARISON_SIGNS = (("(?:<=|=<|≤)", "at most"), ("(?:>=|=>|≥)", "at least"), ("<", "under"), (">", "over"))


_STRETCHED = re.compile(r"([a-z])\1{2,}")


def _unstretch(match: re.Match[str]) -> str:
    """"sooo" -> "so", "slooow" -> "slow", "coool" -> "cool": a letter typed 3+ times becomes one letter,
    or two where one gives no known word."""
    word = match.group(0)
    if not _STRETCHED.search(word):
        return word
    once = _STRETCHED.sub(r"\1", word)
    if once in lexicon_words() or once in (known_words() or frozenset()):
        return once
    return _STRETCHED.sub(r"\1\1", word)


_CHAT_WORDS_RE = tuple((re.compile(p), r) for p, r in _CHAT_WORDS)
_CONTRACTIONS_RE = tuple((re.compile(p), r) for p, r in _CONTRACTIONS)
_COMPARISON_SIGNS_RE = tuple((re.compile(rf"\s*{sign}\s*(?=\d)"), f" {words} ") for sign, words in _COMPARISON_SIGNS)
_REWRITES_RE = tuple((re.compile(p), r) for p, r in _REWRITES)


def normalise(text: str) -> str:
    text = unicodedata.normalize("NFKC", text).lower().replace("\u2019", "'").replace("`", "'")
    text = re.sub(r"[a-z]+", _unstretch, text)
    text = text.replace("\u2191", " up ").replace("\u2193", " down ")  # "tempo \u2191"
    text = re.sub(r"\ball right\b", "alright", text)
    for pattern, replacement in _CHAT_WORDS_RE:
        text = pattern.sub(replacement, text)
    for pattern, replacement in _CONTRACTIONS_RE:
        text = pattern.sub(replacement, text)
    text = text.replace("'", "").replace("&", " and ")
    text = re.sub(r"\s+[/+|]\s+", ", ", text)  # "tempo: way down / strings: up a bit", "ok again + still slower"
    text = re.sub(r"~\s*(?=\d)", "about ", text)  # "~3 min"
    text = re.sub(r"(?<=\d)\s*[–—]\s*(?=\d)", " to ", text)  # "2–3 minutes"
    text = re.sub(r"(?<!\d)\s+-+\s+(?!\d)|[–—]+", ", ", text)  # a dash between words ends a clause
    text = re.sub(r"(?<=[a-z])-(?=[a-z])|(?<=[a-z])-(?=\d)|(?<=\d)-(?=[a-z])", " ", text)
    text = re.sub(r"(\d)\s*([a-z]*)\s*\+", r"\1 \2 plus ", text)  # "120+ bpm", "90s+": at least
    for sign, words in _COMPARISON_SIGNS_RE:  # "bpm > 120", "duration < 60s"
        text = sign.sub(words, text)
    text = re.sub(r"(?:^|(?<=[\s,.;:!?]))\*\s*(?=[a-z])", " i mean ", text)  # "add synth, ah, *sitar": a typo fixed
    text = re.sub(r"[^a-z0-9.,;:!?\- ]+", " ", text)
    for pattern, rewrite in _REWRITES_RE:
        text = pattern.sub(rewrite, text)
    return re.sub(r"\s+", " ", text).strip()


# ------------------------------------------------------------------ numbers, licences, vague asks
_NUMBER_WORDS = {"a": 1, "an": 1, "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7,
                 "eight": 8, "nine": 9, "ten": 10, "fifteen": 15, "twenty": 20, "thirty": 30, "forty": 40,
                 "forty five": 45, "fifty": 50, "sixty": 60, "ninety": 90}
_AMOUNT = r"(\d+(?:\.\d+)?|forty five|" + "|".join(sorted(_NUMBER_WORDS, key=len, reverse=True)) + ")"
# "s" and "m" only right after a number ("90s", "2 m"): "as long as" is no duration.
_UNIT = r"(seconds?|secs?|minutes?|minuets?|minuts?|mintues?|mins?|(?<=\d)s|(?<=\d )s|(?<=\d)m|(?<=\d )m)\b"
_NEG_WORDS = r"(?:no|not|nothing|never|nobody|none)"
# What may stand between a negator and its bound ("can not BE longer than", "NOTHING over", "no TRACK over"),
# never a clause of its own: "no singing and under a minute" is no vocals plus a maximum, not a minimum.
_FILLER = (r"(?:(?:be|is|are|it|its|that|this|a|any|one|track|tracks|song|songs|thing|music|way|go|run|last|want|need"
           r"|anything|something|to|have|give|me|us|play|show|send|find|suggest|get)\s+){0,3}")
_MORE_WORDS = r"(?:over|above|more than|longer than|past|beyond|exceed(?:s|ing)?|greater than)"
_LESS_WORDS = r"(?:under|below|less than|shorter than|fewer than)"
_AT_MOST = r"at (?:the |a )?(?:very )?(?:most|maximum|max)"
_AT_LEAST = r"at (?:the |a )?(?:very )?(?:least|minimum|min)"
_THE_VIDEO = r"(?:the |my |our )?(?:video|clip|film|footage|slideshow|reel|montage|edit|vlog|ad|short|story|it)"
# "the video's 2 and a half minutes, so the music needs to be at least that long": the video's length is the bound
_VIDEO_LENGTH = (rf"\b{_THE_VIDEO}\s+(?:is|s|runs|lasts|will be|comes to)\s+(?:about |around |roughly |exactly |just "
                 rf"|almost |nearly )?{_AMOUNT}\s*{_UNIT}(?:\s+long)?\b[^.;!?]*?\b")
_DURATION_PATTERNS: tuple[tuple[str, str], ...] = (
    ("min", rf"{_VIDEO_LENGTH}(?:at least (?:that|as) long|as long as (?:that|{_THE_VIDEO})"
            rf"|no shorter than (?:that|{_THE_VIDEO}))\b"),
    ("max", rf"{_VIDEO_LENGTH}(?:at most that long|(?:no|not) longer than (?:that|{_THE_VIDEO})"
            rf"|shorter than (?:that|{_THE_VIDEO}))\b"),
    # "it's too long, my clip is only 30 seconds": the video's length, said as a limit
    ("max", rf"\b{_THE_VIDEO}\s+(?:is|s|runs|lasts)\s+(?:only|just|barely)\s+{_AMOUNT}\s*{_UNIT}(?:\s+long)?\b"),
    ("between", rf"\bbetween {_AMOUNT}\s*(?:{_UNIT})?\s*(?:and|to)\s*{_AMOUNT}\s*{_UNIT}"),
    ("between", rf"\b{_AMOUNT}\s*(?:{_UNIT})?\s*to\s*{_AMOUNT}\s*{_UNIT}(?:\s+long)?"),
    ("max", rf"\b{_NEG_WORDS}\s+{_FILLER}{_MORE_WORDS}\s+{_AMOUNT}\s*{_UNIT}"),
    ("min", rf"\b{_NEG_WORDS}\s+{_FILLER}{_LESS_WORDS}\s+{_AMOUNT}\s*{_UNIT}"),
    ("max", rf"\b(?:{_LESS_WORDS}|{_AT_MOST}|no longer than|no more than|max(?:imum|\.)?(?: length| duration| runtime)?"
            rf"(?: of| is)?|within"
            rf"|up to|inside|tops)\s+{_AMOUNT}\s*{_UNIT}"),
    ("max", rf"\b{_AMOUNT}\s*{_UNIT}\s+(?:max(?:imum)?|tops|or less|or shorter|{_AT_MOST}|or under|or below)\b"),
    ("min", rf"\b(?:{_MORE_WORDS}|{_AT_LEAST}|min(?:imum|\.)?(?: length| duration| runtime)?(?: of| is)?"
            rf"|no shorter than|no less than)"
            rf"\s+{_AMOUNT}\s*{_UNIT}"),
    ("min", rf"\b{_AMOUNT}\s*{_UNIT}\s+(?:min(?:imum)?|or more|or longer|{_AT_LEAST}|or over|or above|plus)\b"),
    ("min", rf"\b{_AMOUNT}\s*plus\s+{_UNIT}"),
    # "it's for a 30-second ad": the length of what it scores bounds the track
    ("max", rf"\b{_AMOUNT}\s*{_UNIT}\s+(?:long )?(?:ad|advert|clip|video|spot|reel|promo|teaser|trailer|story|short"
            rf"|commercial|intro|outro|bumper|montage|tiktok|short film|sting|stinger|ident|jingle)s?\b"),
    ("around", rf"\b(?:around|about|roughly|approximately|approx|like|some|maybe|say|exactly|precisely)\s+{_AMOUNT}"
               rf"\s*{_UNIT}"),
    ("around", rf"\b{_AMOUNT}\s*{_UNIT}\s*(?:long|ish|or so|or thereabouts|give or take)\b"),
)
_BPM = r"\s*(?:bpm|beats per minute|beats a minute)\b"
_BPM_FIRST = (r"\b(?:bpm|tempo)\s*(?:(?:should|must|could|needs to|has to) be\s*)?(?:of|at|around|about|roughly|near"
              r"|in the|is|=)?\s*")
_BPM_PATTERNS: tuple[tuple[str, str], ...] = (
    ("max", r"\b(?:bpm|tempo)\s+(?:should be |must be |needs to be |of |at )?(?:under|below|less than|at most|max"
            r"(?:imum)?(?: of)?|no more than|up to|no faster than|slower than|no higher than|not above|not over)"
            r"\s+(\d{2,3})\b(?!\s*(?:seconds?|secs?|minutes?|mins?|s|m)\b)"),
    ("min", r"\b(?:bpm|tempo)\s+(?:should be |must be |needs to be |of |at )?(?:over|above|more than|at least|min"
            r"(?:imum)?(?: of)?|no less than|no slower than|faster than|no lower than|not below|not under)"
            r"\s+(\d{2,3})\b(?!\s*(?:seconds?|secs?|minutes?|mins?|s|m)\b)"),
    ("between", rf"{_BPM_FIRST}(?:between )?(\d+)\s*(?:and|to)\s*(\d+)\b(?!\s*(?:seconds?|secs?|minutes?|mins?)\b)"),
    ("between", rf"\bbetween (\d+)\s*(?:bpm)?\s*(?:and|to)\s*(\d+){_BPM}"),
    ("between", rf"\b(\d+)\s*to\s*(\d+){_BPM}"),
    ("max", rf"\b{_NEG_WORDS}\s+{_FILLER}(?:over|above|more than|faster than|exceed(?:s|ing)?)\s+(\d+){_BPM}"),
    ("min", rf"\b{_NEG_WORDS}\s+{_FILLER}(?:under|below|less than|slower than)\s+(\d+){_BPM}"),
    # "no slower than 90 bpm" is a minimum: a plain comparison never follows "no"/"not"
    ("max", rf"\b(?<!\bno )(?<!\bnot )(?:under|below|less than|at most|max(?:imum)?(?: of)?|up to|slower than"
            rf"|no more than|no faster than)\s+(\d+){_BPM}"),
    ("max", rf"\b(\d+){_BPM}\s+(?:max(?:imum)?|tops|or less|or slower|at most|or below|or lower|or under)\b"),
    ("min", rf"\b(?<!\bno )(?<!\bnot )(?:over|above|more than|at least|min(?:imum)?(?: of)?|faster than"
            rf"|no slower than|no less than)\s+(\d+){_BPM}"),
    ("min", rf"\b(\d+){_BPM}\s+(?:min(?:imum)?|or more|or faster|at least|plus|or above|or higher|or over)\b"),
    ("min", rf"\b(\d+)\s*plus{_BPM}"),
    ("around", rf"\b(?:around|about|roughly|approximately|approx|like|near|close to)?\s*(\d+){_BPM}"),
    # "drop the tempo to about 80", "bring the pace up to 120": a tempo moved to a number lands near it
    ("around", r"\b(?:tempo|bpm|pace|speed)\s+(?:down |up |back )?to\s+(?:about |around |roughly |approximately "
               r"|approx |like |near )?(\d{2,3})\b(?!\s*(?:%|percent|seconds?|secs?|minutes?|mins?|s|m)\b)"),
    ("around", rf"{_BPM_FIRST}(\d{{2,3}})\b(?!\s*(?:seconds?|secs?|minutes?|mins?|s|m)\b)"),
)
BPM_AROUND = 10.0  # "around 120 bpm" reads as 110-130
BPM_RANGE = (20.0, 320.0)  # what TempoRequest accepts
DURATION_AROUND = 0.15  # "about 90 seconds" reads as ±15 %
_LICENCE_PATTERNS: tuple[tuple[str, tuple[str, ...]], ...] = (
    (r"\bcc ?(?:0|zero)\b|\bpublic do(?:main|mian|min|man|mane)\b|\bcreative commons zero\b", ("CC0-1.0",)),
    (r"\bcc by\b|\bccby\b|\bcreative commons attribution\b|\battribution licen[cs]e\b", ("CC-BY-4.0",)),
    (r"\broyal(?:ty|ity|tie|tey)? ?free\b|\bwithout paying (?:any )?royalt(?:y|ies)\b|\bno royalt(?:y|ies)\b",
     ("royalty-free",)),
    (r"\bcreative commons\b", ("CC0-1.0", "CC-BY-4.0")),
)
_LICENCE_NAMES = r"(?:public domain|cc ?(?:0|zero)|cc by|royalty free|creative commons)"
_ANY_LICENCE = (r"\bany licen[cs]e\b|\blicen[cs]e does not matter\b|\bforget the licen[cs]e\b"
                rf"|\bdo not care if it is {_LICENCE_NAMES}\b"
                r"|\blicen[cs]e (?:thing|stuff|bit|part|requirement|rule|restriction|question) does not matter\b"
                # "the public domain restriction can go", "drop the CC0-only rule"
                rf"|\b(?:drop|remove|lose|forget|scrap|scratch|ditch|lift|ignore) (?:the |that )?{_LICENCE_NAMES}"
                r"(?: only)? (?:restriction|requirement|rule|limit|filter|constraint|thing)\b"
                rf"|\b{_LICENCE_NAMES}(?: only)? (?:restriction|requirement|rule|limit|filter|constraint|thing)"
                r" (?:can go|can be dropped|is off|is gone|no longer applies|does not matter|is not needed"
                r"|can be lifted|is lifted)\b"
                # "we don't need CC0 anymore", "it no longer has to be royalty free": the requirement released
                rf"|\b(?:do not|does not|no longer) (?:need|require|have to be|has to be|need to be|needs to be)"
                rf" (?:a |an |the |it to be |it to be a )?{_LICENCE_NAMES}(?: (?:licen[cs]e|one|only|thing|rule"
                r"|requirement|music|tracks?))?\b")
_SOMETHING_ELSE = re.compile(
    r"\b(?:something|(?<!on )(?<!approve )(?<!accept )(?<!allow )(?<!use )(?<!clear )(?<!license )(?<!take )(?<!not )"
    r"anything(?! else like (?:it|this|that))|someone|somebody)"
    r" (?:else|different|new)\b|\banother (?:one|track|song|pick|option)\b"
    r"|\btry another\b|\bnot (?:this|that)(?: one)?\b(?! (?:fast|slow|loud|quiet|much|long|short|kind|sort|type))"
    r"|\bdifferent (?:one|track|song|pick|direction|option|genre|style|vibe|feel)\b|\btry again\b"
    r"|(?<!the )\bnext one,? (?:please|kindly)\b"
    r"|\bshow (?:me |us )?(?:another|more)\b"
    r"|\b(?:give me|show me|try) a different(?: one)?\b|\b(?:this|that|it)(?: one)? (?:is|s) not for (?:me|us)\b"
    r"|\belse entirely\b"
    r"|^(?:(?:meh|hmm|nah|sorry|ok|well)\W+)*(?:it |this |that )?(?:does not|doesnt) work for (?:me|us)\b"
    r"|\b(?:an|another|some) alternatives?\b"
    r"|\bsomething (?:totally |completely |entirely |very |quite )?different\b|\bchange it up\b"
    r"|\bnot feeling (?:it|this|that)\b|\bwhat else\b|\bnot even close\b|\bthe opposite\b"
    r"|\bdifferent (?:instruments?|sound|mood|energy)\b"
    r"|\b(?:one more|another) (?:suggestion|option|idea|try|pick|attempt)\b|\bsurprise (?:me|us)\b"
    r"|\bnot (?:really |quite |exactly )?what (?:i|we) (?:had in mind|wanted|want|was looking for|were looking for"
    r"|meant|search|searched|seek|look for|am looking for|am searching for)\b"
    r"|\bnot (?:sure|convinced|keen|happy) (?:about|with|by|on) (?:this|that|it)(?: one)?\b"
    r"|(?<!the )\bnext (?:track|song|one),?(?: please| kindly| thanks)?[.!]*$|\b(?:is |s )?not the one\b"
    r"|\b(?:do not|dont) think (?:that|this|it) ?(?:is|s) (?:the one|it|right)\b")
# A whole utterance refusing "it" refuses the pick, unless words before a self-correction named what "it" is
# ("more flute. actually, I don't want it" = no flute).
_REFUSES_THE_PICK = re.compile(r"^(?:i|we) (?:do not|dont) (?:like|love|want) (?:this|that|it)(?: one| track| song)?"
                               r"(?: at all)?[.!]*$")

# A whole utterance of these words only asks for another pick ("nah, next", "pass", "meh, give me another").
_NEXT_WORDS = frozenset({"next", "pass", "skip", "another", "other", "different", "else", "again", "alternative",
                         "alternatives"})
_NEXT_FILLERS = frozenset({"nah", "nope", "no", "meh", "ew", "eww", "yuck", "aiyoh", "aiyo", "aiya", "haiya",
                           "hmm", "hm", "um", "uh", "ok", "okay", "well", "so", "please",
                           "thanks", "thank", "you", "one", "track", "song", "give", "me", "show", "play", "the",
                           "a", "an", "let", "lets", "us", "see", "try", "just", "then", "now", "this", "that",
                           "time", "go", "to", "on", "ugh", "eh", "yeah", "sorry", "maybe", "not", "quite", "really",
                           "it", "hmmm", "have", "got", "what", "do", "any", "options", "option", "suggestion",
                           "suggestions", "idea", "ideas", "pick", "choice", "kinda", "mid", "lame", "boring", "bruh",
                           "honestly", "thx", "ty", "cheers"})


# "hmm no", "nah.": a bare refusal of the pick
_REFUSALS = frozenset({"no", "nah", "nope", "meh"})
_REFUSAL_FILLERS = frozenset({"hmm", "hm", "hmmm", "um", "uh", "ugh", "well", "sorry", "not", "really", "thanks",
                              "oh", "eh", "it", "that", "this", "one", "quite", "is"})


def _asks_only_next(text: str) -> bool:
    words = set(re.findall(r"[a-z]+", text))
    if words & _REFUSALS and words <= _REFUSALS | _REFUSAL_FILLERS:
        return True
    return bool(words & _NEXT_WORDS) and words <= _NEXT_WORDS | _NEXT_FILLERS


_RESET = re.compile(
    r"\b(?:start (?:over|again|afresh|from scratch)|from scratch|reset(?: everything| it all| all| the filters)?"
    r"|clear (?:all|everything|the filters|all (?:the )?filters)|forget (?:everything|all (?:of )?(?:that|this|it))"
    r"|forget what i (?:said|asked(?: for)?)(?! about)"
    r"|(?:drop|remove|lose) all (?:the |my )?(?:filters|restrictions|constraints|limits)"
    r"|no (?:more )?(?:filters|restrictions|constraints)(?: at all)?)\b")


_BPM_PATTERNS_RE = tuple((kind, re.compile(p)) for kind, p in _BPM_PATTERNS)
_DURATION_PATTERNS_RE = tuple((kind, re.compile(p)) for kind, p in _DURATION_PATTERNS)
_LICENCE_PATTERNS_RE = tuple((re.compile(p), licences) for p, licences in _LICENCE_PATTERNS)


def _seconds(amount: str, unit: str | None) -> float:
    value = _NUMBER_WORDS.get(amount)
    number = float(amount) if value is None else float(value)
    return number * 60 if (unit or "s").startswith("m") else number


def _cut(text: str, match: re.Match[str]) -> str:
    return text[:match.start()] + " " + text[match.end():]


def _read_numbers(text: str, out: Readings) -> str:
    """Durations, BPM, licences and "something else": read, then cut out of the text."""
    for kind, pattern in _BPM_PATTERNS_RE:
        while (match := pattern.search(text)) is not None:
            words = match.group(0).strip()
            values = [float(g) for g in match.groups() if g is not None]
            if not all(BPM_RANGE[0] <= value <= BPM_RANGE[1] for value in values):
                text = _cut(text, match)  # "tempo 2 to 3" names no tempo a track can have: read nothing
                continue
            if kind == "between":
                out.min_bpm.append((min(values), words))
                out.max_bpm.append((max(values), words))
            elif kind == "around":
                out.min_bpm.append((max(BPM_RANGE[0], values[0] - BPM_AROUND), words))
                out.max_bpm.append((min(BPM_RANGE[1], values[0] + BPM_AROUND), words))
            else:
                (out.max_bpm if kind == "max" else out.min_bpm).append((values[0], words))
            text = _cut(text, match)
    for kind, pattern in _DURATION_PATTERNS_RE:
        while (match := pattern.search(text)) is not None:
            words, groups = match.group(0).strip(), match.groups()
            # A length of nothing ("between 0 and 0 seconds", "about 0 seconds") bounds nothing: read nothing
            if kind == "between":
                low = _seconds(groups[0], groups[1] or groups[3])
                high = _seconds(groups[2], groups[3])
                if max(low, high) > 0:
                    out.min_s.append((min(low, high), words))
                    out.max_s.append((max(low, high), words))
            elif kind == "around":
                value = _seconds(groups[0], groups[1])
                if value > 0:
                    out.min_s.append((round(value * (1 - DURATION_AROUND), 1), words))
                    out.max_s.append((round(value * (1 + DURATION_AROUND), 1), words))
            else:
                value = _seconds(groups[0], groups[1])
                if value > 0:
                    (out.max_s if kind == "max" else out.min_s).append((value, words))
            text = _cut(text, match)
    # "the tempo should be a lot faster, like 140+": a bare number at least, said of the tempo
    bare_plus = re.search(r"\b(\d{2,3}) plus\b(?!\s*(?:seconds?|secs?|minutes?|mins?|s|m)\b)", text)
    if (bare_plus is not None and re.search(r"\b(?:tempo|bpm|pace|speed)\b", text) and not out.min_bpm
            and not out.max_bpm and BPM_RANGE[0] <= float(bare_plus[1]) <= BPM_RANGE[1]):
        out.min_bpm.append((float(bare_plus[1]), bare_plus[0]))
        text = _cut(text, bare_plus)
    # "at least 150 bpm, nothing slower than that": the bound says it
    if out.min_bpm:
        text = re.sub(r"\b(?:nothing|not|no|none|never) (?:any )?slower\b(?: than that)?", "", text)
    if out.max_bpm:
        text = re.sub(r"\b(?:nothing|not|no|none|never) (?:any )?faster\b(?: than that)?", "", text)
    # "a 30s sting, nothing longer": the bound says it, "nothing longer" is no second ask
    if out.max_s:
        text = re.sub(r"\b(?:nothing|not|no|none|never) (?:any )?longer\b(?: than that)?", "", text)
    if out.min_s:
        text = re.sub(r"\b(?:nothing|not|no|none|never) (?:any )?shorter\b(?: than that)?", "", text)
    if (match := re.search(_ANY_LICENCE, text)) is not None:
        out.items.append(Reading("licence", "lift", words=match.group(0)))
        text = _cut(text, match)
    for pattern, licences in _LICENCE_PATTERNS_RE:
        while (match := pattern.search(text)) is not None:
            out.licences.extend(licences)
            text = _cut(text, match)
    if _asks_only_next(text):
        out.something_else = True
        return ""
    if out.last_mention is None and (match := _REFUSES_THE_PICK.search(text)) is not None:
        out.something_else = True
        text = _cut(text, match)
    while (match := _SOMETHING_ELSE.search(text)) is not None:
        out.something_else = True
        text = _cut(text, match)
    while (match := _RESET.search(text)) is not None:
        out.reset = True
        text = _cut(text, match)
    return text


# ------------------------------------------------------------------ clauses and tokens
_CLAUSE_SPLIT = re.compile(r"[.!?;:,]+(?!\d)|\b(?:but|though|although|however|instead|whereas|yet|rather than)\b")


@dataclass
class Item:
    kind: str  # "cue" | "mention" | "word"
    text: str
    cue: str | None = None
    mention: Mention | None = None


def _scan(tokens: list[str]) -> list[Item]:
    items: list[Item] = []
    i = 0
    while i < len(tokens):
        for size in range(min(MAX_PHRASE, len(tokens) - i), 0, -1):
            phrase = tuple(tokens[i:i + size])
            text = " ".join(phrase)
            if phrase in STOP_PHRASES:
                items.append(Item("word", text))
            elif phrase in MENTIONS:
                items.append(Item("mention", text, mention=MENTIONS[phrase]))
            elif phrase in CUES:
                items.append(Item("cue", text, cue=CUES[phrase]))
            else:
                continue
            i += size
            break
        else:
            items.append(Item("word", tokens[i]))
            i += 1
    return items


# What may follow a mention and decide it ("does not matter", "has to go", "carries it"), by first word,
# in the order they are tried.
_AFTER_BY_FIRST: dict[str, list[tuple[str, tuple[str, ...]]]] = {}
for _cue_name, _phrases in (("restore", RESTORE_AFTER), ("lift", LIFT_AFTER), ("fine", FINE_AFTER),
                            ("less", LESS_AFTER), ("neg", NEG_AFTER),
                            ("ok", OK_AFTER)):
    for _phrase in _phrases:
        _AFTER_BY_FIRST.setdefault(_phrase[0], []).append((_cue_name, _phrase))
# Nouns a genre or instrument names a kind of ("electronic stuff", "guitar parts"): the mention stays the subject
_HEAD_NOUNS = frozenset({"stuff", "music", "vibes", "elements", "parts", "influences", "bits", "tracks", "songs",
                         "ones", "picks", "options", "versions", "part", "section", "sections", "thing", "moods",
                         "tones", "feels"})
_PRESENCE_WORDS = frozenset({"prominent", "present", "noticeable", "audible", "obvious", "upfront", "dominant"})
_ENERGY_NOUNS = frozenset({"energy", "intensity", "excitement", "punch", "oomph"})


# Adverbs between a mention and what is said of it: "the piano also is too loud", "the drums just don't fit"
_ADVERBS = frozenset({"just", "really", "simply", "honestly", "also", "still", "now", "definitely", "actually",
                      "kinda", "totally", "somehow"})
# What a mention is said not to do where it does not suit: "those drums just don't belong"
_BELONGING = frozenset({"belong", "fit", "work", "suit", "go", "match", "gel", "blend"})
# Words between an instrument and "up"/"down" that move its level
_MOVING = frozenset({"need", "needs", "needed", "to", "should", "could", "can", "must", "has", "have", "gotta",
                     "come", "comes", "go", "goes", "be", "get", "way", "bit", "a", "little", "tiny", "sit", "sits",
                     "further", "more", "much", "set", "is", "are", "been"})


# An instrument said taken away, after it: "could the vocals be taken out"
_REMOVED = frozenset({"taken out", "removed", "dropped", "cut out", "muted", "left out", "stripped out", "deleted",
                      "ditched", "scrapped", "taken off", "pulled out"})
# A tempo said to move: "can the tempo drop a bit", "the pace could rise"
_FALLING = frozenset({"drop", "drops", "dip", "dips", "fall", "falls", "decrease", "decreases", "lowered", "reduced"})
_RISING = frozenset({"rise", "rises", "increase", "increases", "climb", "climbs", "raised", "increased"})
# "the drums could sit further back", "push the vocals forward": where an instrument sits in the mix
_SITTING = frozenset({"sit", "sits", "sitting", "further", "set", "placed", "pushed", "pulled", "moved"})
# An instrument's level said moved, after it: "the guitar could be dialled back", "the strings brought up"
_LOWERED = frozenset({f"{verb} {way}" for verb in ("toned", "turned", "dialled", "dialed", "pulled", "brought",
                                                   "taken", "knocked", "pushed", "scaled", "backed", "mixed", "sat")
                      for way in ("down", "back", "lower")})
_RAISED = frozenset({f"{verb} {way}" for verb in ("turned", "brought", "pushed", "cranked", "bumped", "mixed",
                                                  "dialled", "dialed", "pulled")
                     for way in ("up", "forward", "higher")})


def _postfix(items: list[Item], start: int) -> tuple[str | None, int]:
    """A word right after a mention that says it should go ("vocals off") or, ending the clause, come
    ("vocals on please"); a comparative after a tempo, instrument or vocals mention says which way
    ("make the tempo higher", "turn the drums down"; not a mood: "calm down")."""
    if start >= len(items):
        return None, start
    mention = items[start - 1].mention
    if mention is not None and (mention.key.startswith(("instrument.", "genre.")) or mention.key == "vocals"
                                or (mention.key == "tempo" and mention.sign == 0)
                                or items[start - 1].text in _ENERGY_NOUNS):  # not "calm down"
        j = start
        while j < len(items) and items[j].kind == "cue" and items[j].cue in ("slight", "strong"):
            j += 1  # "the tempo a bit higher": the predicate's intensity is read from these
        k = j  # "the drums need to come down", "the piano should go down a little": a move of its level
        while k < len(items) and items[k].text in _MOVING:
            k += 1
        moved = {item.text for item in items[j:k]}
        if k < len(items):  # "I'd like the drums toned down", "the synth turned way down"
            m = k + 1
            while m < len(items) and items[m].kind == "cue" and items[m].cue in ("slight", "strong"):
                m += 1
            verb, way = items[k].text, items[m].text if m < len(items) else ""
            if verb in _REMOVED or f"{verb} {way}" in _REMOVED:  # "could the vocals be taken out"
                return "neg", (k + 1 if verb in _REMOVED else m + 1)
            if mention.key == "tempo" and verb in _FALLING | _RISING:  # "can the tempo drop a bit"
                return ("less" if verb in _FALLING else "more"), k + 1
            for moves, moved_to in ((_LOWERED, "less"), (_RAISED, "more")):
                if verb in moves or (moved_to == "less" and verb == "lowered"):
                    return moved_to, k + 1
                if f"{verb} {way}" in moves:
                    return moved_to, m + 1
        up_to = k + 1 < len(items) and items[k + 1].text == "to"  # "the tempo is up to you"
        if k > j and k < len(items) and not up_to and (items[k].text in ("up", "down") or (
                items[k].text in ("back", "forward") and moved & _SITTING)):
            return ("more" if items[k].text in ("up", "forward") else "less"), k + 1
        if j < len(items) and items[j].text in POSTFIX_UP:
            return "more", j + 1
        if j < len(items) and items[j].text in POSTFIX_DOWN:
            return "less", j + 1
        if j < len(items) and items[j].text in ("more", "less", "fewer"):
            sign = 1 if items[j].text == "more" else -1
            if j + 1 < len(items) and items[j + 1].text in ("and", "or", "then") and j > start:
                return ("more" if sign > 0 else "less"), j + 1  # "the rock a little less and more soft"
            if j + 1 < len(items) and items[j + 1].text in _PRESENCE_WORDS:  # "make the vocals less prominent"
                return ("more" if sign > 0 else "less"), j + 2
            quality = items[j + 1].mention if j + 1 < len(items) else None
            if quality is not None and quality.quality:  # "make the piano more loud", "the strings more quiet"
                sign *= 1 if quality.key == "mood.energetic" else -1
                return ("more" if sign > 0 else "less"), j + 2
            if all(item.text in POSTFIX_END for item in items[j + 1:]):  # "drums: less"
                return ("more" if sign > 0 else "less"), j + 1
    if items[start].text in ("no", "none", "nope") and all(item.text in POSTFIX_END for item in items[start + 1:]):
        return "neg", start + 1  # "vocals no" (after "vocals: no")
    k = start
    while k < len(items) and items[k].text in _ADVERBS:
        k += 1
    if k < len(items) and items[k].text in ("do", "does", "did"):
        k += 1  # "do" "not" scanned apart
    if (k + 1 < len(items) and items[k].text in ("do not", "does not", "dont", "doesnt", "did not", "not")
            and items[k + 1].text in _BELONGING):
        return "less", k + 2  # "those drums just don't belong"
    if items[start].kind != "word":
        return None, start
    word, rest = items[start].text, items[start + 1:]
    if word in POSTFIX_NEG:
        return "neg", start + 1
    if word in POSTFIX_MORE and all(item.text in POSTFIX_END for item in rest):
        return "more", start + 1
    return None, start


# What a limit is said to be when it no longer holds
_LIMIT_GONE = frozenset({"off", "gone", "lifted", "removed", "dropped", "history", "cancelled", "canceled", "waived",
                         "void", "not needed", "no longer needed", "not necessary", "over"})


# Praise that opens a clause naming one thing: "lovely legato in the strings, but ..."
_PRAISE_FIRST = frozenset({"lovely", "nice", "gorgeous", "beautiful", "great", "amazing", "awesome", "fantastic",
                           "wonderful", "stunning", "brilliant", "sweet", "charming", "elegant", "catchy",
                           "haunting", "magical", "excellent", "perfect", "cool"})
# Verbs that say what a mention becomes, as a copula does: "the choir comes in too loud", "the drums get too busy"
_BECOMING = frozenset({"gets", "get", "comes", "come", "goes", "turns", "becomes", "become", "kicks"})
# Words between a mention and its copula that still make it the subject: "the guitar tone here is gorgeous", "the
# piano on this is lovely", "the flute melody would be nice"
_SUBJECT_EXTENSIONS = frozenset({"tone", "sound", "melody", "line", "lines", "playing", "part", "parts", "solo",
                                 "vibe", "pad", "pads", "beat", "feel", "vocal", "swell", "work",
                                 "riff", "here", "there", "on", "in", "at", "the", "this", "that", "track", "song",
                                 "opening", "intro", "start", "end", "ending", "bit", "section", "now", "itself",
                                 "layer", "layers", "sample", "loop", "bassline", "chords", "would", "could",
                                 "should", "might", "piece", "pieces", "tune", "number"})


def _predicate(items: list[Item], start: int) -> tuple[str | None, int]:
    """What a copula after a mention says of it ("are too loud" → less), and where the predicate ends."""
    postfix = _postfix(items, start)
    if postfix[0] is not None:
        return postfix
    while start < len(items) and items[start].kind == "word" and items[start].text in _HEAD_NOUNS:
        start += 1  # "electronic stuff is ok again": the predicate is said of the genre
    end = start
    while end < len(items) and items[end].text not in ("and", "or"):
        end += 1
    following = tuple(" ".join(item.text for item in items[start:end]).split())
    if following[:1] == ("s",):  # "the guitar's gotta go"
        following = following[1:]
    for cue, phrase in _AFTER_BY_FIRST.get(following[0] if following else "", ()):
        before = items[start - 1].mention if start > 0 else None
        if len(phrase) == 1 and items[start].kind == "mention" and not (
                before is not None and before.key.startswith(("instrument.", "vocals"))):
            continue  # "punchy rock" names the genre; "the drums rock" praises them
        if following[:len(phrase)] == phrase:
            return cue, end
    j, modal, negated = start, False, False
    while j < len(items) and ((items[j].kind == "cue" and items[j].cue in ("slight", "strong"))
                              or items[j].text in MODALS or (modal and items[j].text == "not")
                              or (items[j].kind == "word" and items[j].text in _ADVERBS)):
        negated = negated or items[j].text == "not"  # "should not be so prominent"
        modal = modal or items[j].text in MODALS
        j += 1
    if j < len(items) and items[j].kind == "word" and items[j].text not in COPULAS:
        k = j  # "the guitar tone here is gorgeous", "the piano on this is lovely": a few words of its own first
        while k < len(items) and k - j < 4 and items[k].kind == "word" and (
                items[k].text in _SUBJECT_EXTENSIONS or items[k].text in COPULAS):
            if items[k].text in COPULAS | _BECOMING:
                modal = modal or any(item.text in MODALS for item in items[j:k])  # "a piano piece would be nice"
                j = k
                break
            k += 1
    if j >= len(items) or items[j].kind != "word" or items[j].text not in COPULAS | _BECOMING:
        return None, start
    named = items[start - 1].mention
    if named is not None and named.key == "tempo" and any(
            item.mention is not None and item.mention.key == "tempo" for item in items[j + 1:end]):
        return None, start  # "the tempo is too slow": the tempo word after the copula says which way
    words = (["not"] if negated else []) + " ".join(item.text for item in items[j + 1:end]).split()
    if len(words) > 1 and words[-1] == "too":
        words = words[:-1]  # "jazz is fine too": a last "too" is "also"
    bag = set(words) | {" ".join(words[k:k + n]) for n in (2, 3) for k in range(len(words) - n + 1)}
    if bag & PREDICATE_OK and bag & PREDICATE_LIFT_NOW:
        return "lift", end
    if named is not None and named.key == "tempo" and " ".join(words) in ("off", "a bit off", "slightly off",
                                                                          "wrong", "all wrong", "not right"):
        return "ok", end  # "the tempo is off": wrong, but which way is not said
    if named is not None and named.limit and bag & _LIMIT_GONE:
        return "lift", end  # "the licensing restriction is off"
    joined = " ".join(words)
    if joined == "not":
        return "less", end  # "the tempo's alright, the guitar isn't"
    if re.search(r"\bnot (?:[a-z]+ ){0,2}enough\b", joined):
        return "more", end  # "the vocals are not loud enough"
    negated_degree = re.search(r"\bnot (?:too|that|so|overly|as) ([a-z]+)", joined)
    if modal and negated_degree:  # "the piano shouldn't be so prominent": a wish for less (or more, of "quiet")
        return ("more" if negated_degree.group(1) in PREDICATE_MORE else "less"), end
    if negated_degree:
        return "ok", end  # "the drums are not too loud": no complaint
    if bag & PREDICATE_WANT_LESS:
        return "less", end
    if bag & PREDICATE_WANT_MORE:
        return "more", end
    if bag & PREDICATE_MORE:
        return "more", end
    if bag & PREDICATE_LESS:
        return "less", end
    if bag & PREDICATE_ACCEPTABLE and not modal:
        return "fine", end  # praise, or a release of what the conversation removed: `understand` decides
    if bag & PREDICATE_PRAISE:
        return ("wish" if modal else "ok"), end  # "a sitar would be cool" wishes for one
    return None, start


_OTHER_GENDER = {"male": "female", "female": "male"}


def _reading(mention: Mention, cue: str, intensity: Intensity, words: str) -> Reading | None:
    """One mention under its governing cue → a reading, or None when it asks nothing."""
    key = mention.key
    if cue == "lift" or (cue == "neg" and mention.limit):  # "remove the tempo limit" lifts it
        return Reading(key, "lift", words=words)
    if cue == "restore":  # "bring back the drums": `understand` tells a release from a wish for them again
        return Reading(key, "restore" if key == "vocals" or "." in key else "lift", words=words)
    if cue == "fine":
        return Reading(key, "fine", words=words) if key == "vocals" or "." in key else None
    if cue == "ignore":  # "keep the piano": nothing to change, unless the same words remove it (a conflict)
        return Reading(key, "keep", words=words) if key == "vocals" or "." in key else None
    if cue == "ok":
        return None
    polarity = 1 if cue in ("more", "bare", "weak_more") else -1
    if key == "tempo":
        if mention.sign == 0:
            if cue in ("more", "less"):
                return Reading(key, "faster" if cue == "more" else "slower", intensity, words)
            return None
        return Reading(key, "faster" if mention.sign * polarity > 0 else "slower", intensity, words)
    if key == "vocals":
        if mention.sign == 0:  # "the vocals filter" names a limit, not a voice
            return None
        value: VocalsChoice
        if mention.sign * polarity > 0:
            value = "on" if mention.gender is None else mention.gender  # type: ignore[assignment]
        elif mention.gender is not None:
            value = _OTHER_GENDER[mention.gender]  # type: ignore[assignment]
        else:
            value = "off"
        return Reading(key, value, words=words)
    if key == "duration" and mention.sign != 0:
        return Reading(key, "longer" if mention.sign * polarity > 0 else "shorter", intensity, words)
    if key in ("duration", "licence"):
        return None
    # a negated comparative is less, not a removal: "happier, not sadder"
    amount: Amount = "more" if polarity > 0 else ("none" if cue == "neg" and mention.implied != "more" else "less")
    return Reading(key, amount, intensity, words)


@dataclass
class _ClauseState:
    neg: bool = False
    neg_fresh: bool = False  # the negator has not reached a mention yet
    neg_budget: int = 0
    polarity: str | None = None
    too: bool = False
    lift: str | None = None  # the lift cue's words
    keep: bool = False
    intensity: Intensity = "normal"
    carried: Intensity = "normal"  # "way more energy and drums": a list under one cue shares its degree
    polarity_fresh: bool = False  # a more/less cue that has not reached a mention yet
    degree_bound: bool = False  # the degree said so far belongs to that cue ("a bit less")

    def take_polarity(self, polarity: str) -> None:
        """A more/less cue. A degree said before an earlier cue that has not reached its mention was that
        cue's: "a bit less corporate and more rock" is plain more rock."""
        if self.polarity_fresh and self.degree_bound:
            self.intensity = "normal"
        self.neg, self.polarity, self.polarity_fresh = False, polarity, True
        self.degree_bound = self.intensity != "normal"

    def after_mention(self, comparative: bool = False) -> None:
        # "much slower and softer": a comparative's degree carries to the next comparative too
        self.carried = self.intensity if self.polarity in ("more", "less") or comparative else "normal"
        self.polarity_fresh = False
        self.too, self.lift, self.keep, self.intensity = False, None, False, "normal"
        self.neg_fresh = False
        if self.neg:
            self.neg_budget = NEG_REACH


def _intensity_of(text: str, cue: str) -> Intensity:
    return "slight" if cue == "slight" else "strong"


def _too_intensity(text: str) -> Intensity:
    """How strong a "too" cue is: "way too" / "far too" strong, "a bit too" slight, "too" itself normal."""
    if text.startswith(("way", "far", "much")):
        return "strong"
    return "slight" if text.startswith(("a ", "rather", "slightly", "somewhat", "bit", "little")) else "normal"


def _predicate_intensity(predicate: list[Item]) -> Intensity:
    """How strongly a copula's predicate says it: "are far too loud" strong, "is a little too harsh" slight."""
    for item in predicate:
        if item.kind == "cue" and item.cue in ("slight", "strong"):
            return "slight" if item.cue == "slight" else "strong"
        if item.kind == "cue" and item.cue == "too" and _too_intensity(item.text) != "normal":
            return _too_intensity(item.text)
        if item.kind == "cue" and item.text in ("a bit much", "bit much"):
            return "slight"  # "the drums are a bit much"
    return "normal"


def _governing_cue(state: _ClauseState, mention: Mention, predicate: str | None) -> str:
    if predicate == "wish":  # "instrumental would be perfect" wants what it names, whichever its sign
        return "neg" if state.neg and state.neg_fresh else "more"
    if predicate is not None:
        if mention.key == "vocals" and mention.sign < 0 and predicate in ("more", "less"):
            return "less"  # "the instrumental felt empty / is too bare": the user misses vocals
        if predicate in ("ok", "fine") and state.lift is not None:
            return "lift"
        if predicate in ("more", "ok", "fine") and state.neg and state.neg_fresh:
            return "neg"  # "a version without vocals would be great", "no drums is fine"
        return predicate
    if state.lift is not None and state.lift != "any":
        return "restore" if CUES.get(tuple(state.lift.split())) == "restore" else "lift"
    if state.keep:
        return "ignore"
    if state.too and mention.implied != "more":  # "so darker" is "therefore darker", not "too dark"
        return "less"
    # A negation carried over a list stops at a word with a direction of its own: "no vocals and speed it
    # up", "lose the drums and a slower tempo" (a fresh one still flips it: "do not make it slower").
    if state.neg and (state.neg_fresh or mention.implied is None):
        return "neg"
    # A polarity carried over a list stops at a comparative: "less gloomy and a bit quicker" is quicker.
    if state.polarity is not None and (state.polarity_fresh or mention.implied is None):
        return state.polarity
    return mention.implied if mention.implied is not None else "bare"


_VIDEO_WORDS = frozenset({"video", "clip", "scene", "footage", "film", "edit", "vlog", "movie", "shot", "shots",
                          "montage", "trailer", "story", "reel", "short", "ad", "commercial", "wedding", "piece"})
_LIKING = re.compile(r"\b(?:i|we) (?:really |do |really do )?(?:love|like|enjoy|adore|dig)\b")
_PRAISE = re.compile(r"\b(?:love|like|enjoy|adore|dig) (?:it|this|that)\b|\b(?:perfect|awesome|amazing|fantastic)\b"
                     r"|\bexactly (?:right|what)\b")
_SLIGHT_HEDGES = frozenset({"quite", "pretty", "rather", "kinda", "fairly", "kind", "sort", "sorta"})
_HEDGES = frozenset({"quite", "pretty", "rather", "kinda", "fairly", "kind", "sort", "of", "sorta", "still"})
_PLAIN_FILLERS = frozenset({"a", "an", "basically", "literally", "practically", "essentially", "just", "almost"})
_PICK_WORDS = frozenset({"it", "its", "this", "that", "music", "track", "song", "one", "pick", "tune", "current",
                         "the", "s", "whole", "thing", "overall", "everything", "all"})


# Mood words that complain whenever they describe the pick
_COMPLAINING = frozenset({"depressing", "dreary", "morbid", "bleak", "cheesy", "sappy", "sluggish", "plodding",
                          "boring", "dull", "grating", "harsh", "chaotic", "frantic", "hectic", "manic", "saccharine",
                          "syrupy", "twee", "corny", "gloomy", "drab", "tedious", "annoying"})


def _describes_the_pick(items: list[Item], i: int, state: _ClauseState) -> Intensity | Literal["plain"] | None:
    """A tempo or mood word that says what the current pick is: after a copula whose subject is the pick,
    with no cue and no modal ("it should be calm" wishes; "the video is dark" describes the video:
    `_describes_the_video`). Said plainly ("it is slow") it asks nothing: "plain". Said with a degree ("it's a
    bit slow", "this music is very fast, I need more slow") it is a complaint, read as "too": the intensity
    ("slight" for "a bit", "quite"; "strong" for "very", "really"). None: not a description."""
    mention = items[i].mention
    if mention is None or mention.implied is not None or not mention.key.startswith(("tempo", "mood.", "genre.")):
        return None
    if state.neg or state.too or state.lift is not None or state.keep:
        return None
    j, degrees, complained = i - 1, [], False
    while j >= 0:
        if (items[j].kind == "cue" and items[j].cue in ("slight", "strong")) or items[j].text in _HEDGES:
            degrees.append(items[j])
        elif items[j].kind == "word" and items[j].text in PREDICATE_LESS and items[j].text != "too":
            complained = True  # "this feels heavy and sad": described beside a complaint, it is one
        elif items[j].text in _PLAIN_FILLERS:
            pass  # "it's basically a lullaby": said plainly
        elif items[j].text != "and":
            break
        j -= 1
    if mention.key.startswith("genre.") and not degrees:
        k = j  # "this sounds like hotel lobby jazz": a few words of the likeness's own before the genre
        while k >= 0 and j - k < 3 and items[k].kind == "word" and items[k].text not in ("like", *COPULAS):
            k -= 1
        if k >= 0 and k < j and items[k].text == "like":
            j = k
    likened = (j >= 0 and items[j].text == "like") or (j >= 1 and items[j].text in ("a", "an")
                                                      and items[j - 1].text == "like")
    if likened:  # "it feels like a club right now": what the pick is like ("like" is otherwise a cue for more)
        j -= 1 if items[j].text == "like" else 2
    elif mention.key.startswith("genre.") or state.polarity not in (None, "weak_more"):
        return None  # "it's jazz" may name the genre wanted; only a likeness describes the pick
    if j < 0 or items[j].text not in COPULAS:
        return None
    subject = [item.text for item in items[:j]]
    sensed = (likened and items[j].text in ("sounds", "feels", "sounded", "felt") and subject[:1] in (
        ["that"], ["this"], ["the"], ["these"], ["those"]) and not {"something", "anything", "one"} & set(subject))
    # "that sax solo sounds like jazz" describes; "something that sounds like a lullaby" asks
    if (not sensed and not all(word in _PICK_WORDS | _TRACK_PARTS for word in subject)) or set(subject) & (
            _VIDEO_WORDS | MODALS):
        return None
    if not degrees:  # "bro this is depressing": a word that is a complaint said plainly
        return "normal" if complained or items[i].text in _COMPLAINING else "plain"
    if any(d.cue == "slight" or d.text in _SLIGHT_HEDGES for d in degrees):
        return "slight"
    return "strong" if any(d.cue == "strong" for d in degrees) else "normal"  # "it's very dreary"


# What a video is, as people name it ("hype reel", "sunrise timelapse"): not "piece", "edit" or "short", which
# name music as often
_SCENE_NOUNS = frozenset({"video", "videos", "clip", "clips", "scene", "footage", "film", "vlog", "movie", "montage",
                          "cuts", "transitions", "scenes", "visuals", "mornings", "morning",
                          "trailer", "reel", "reels", "ad", "commercial", "episode", "timelapse", "documentary", "doc",
                          "promo", "tutorial", "livestream", "stream", "slideshow", "recap", "teaser", "subject",
                          "story", "topic", "theme", "photos", "photo", "pictures", "picture", "images", "slides",
                          "shots", "day", "occasion", "event", "moment", "memories", "bumper", "sting", "ident",
                          "opener", "preroll", "segment", "presentation", "webinar", "keynote", "lecture", "lesson",
                          "reveal", "walkthrough", "tour", "flythrough", "pans", "pan", "zooms", "tilts", "party",
                          "wedding", "ceremony", "celebration", "trip", "holiday",
                          "course"})
# After the video's noun, a word for music makes it the music's kind after all: "a happy party track"
_MUSIC_NOUNS = frozenset({"music", "track", "tracks", "song", "songs", "tune", "tunes", "piece", "playlist", "vibe",
                          "cue", "cues", "bed", "score",
                          "vibes", "sound", "beat", "one"})
# Words after a mood word that end its noun phrase: "a calm one for my video" is not a calm video
_VIDEO_CUE_BREAKS = frozenset({"and", "or", "for", "with", "but", "music", "track", "song", "tune", "one", "vibe",
                               "vibes", "stuff", "please", "to", "in", "on", "like"})
# What a mood word may qualify in the music itself: "not a sad feel"
_MUSIC_ASPECTS = frozenset({"feel", "feeling", "mood", "energy", "style", "type", "kind", "sort", "thing", "number",
                            "atmosphere", "tone", "sounding", "groove", "melody", "soundtrack", "score", "ending"})
_SCENE_MODIFIERS = frozenset({"a", "an", "the", "my", "our", "about", "all", "very", "really", "quite",
                              "pretty", "so", "kind", "of"})


# Words a subject may hold and still be the music: "the ending is sad", "this whole thing is so calm"
_TRACK_PARTS = frozenset({"melody", "melodies", "harmony", "bassline", "bass", "chords", "rhythm", "groove",
                          "arrangement", "mix", "production", "sound", "instrumentation", "intro", "outro", "ending",
                          "start", "chorus", "verse", "hook", "drop", "build", "part", "section", "beginning",
                          "middle", "end", "energy", "pace", "tempo", "overall", "vibe", "feel"})
_NOT_ABOUT_OTHER_THINGS = (_PICK_WORDS | _MUSIC_NOUNS | _MUSIC_ASPECTS | _HEAD_NOUNS | _TRACK_PARTS
                           | _SCENE_MODIFIERS | MODALS
                           | {"the", "a", "an", "that", "this", "those", "these", "your", "so", "and", "but", "here",
                              "there", "still", "now", "just", "also", "too", "right", "then", "ok", "okay", "yeah",
                              "well", "hmm", "oh", "i", "think", "feel", "like", "mean", "guess", "honestly", "tbh",
                              "lol", "if", "as", "long", "when", "while", "because", "since", "provided"})


def _describes_the_video(items: list[Item], i: int, state: _ClauseState) -> bool:
    """A plain tempo or mood word said of the video, not the music: "it's a hype reel", "a slow sunrise
    timelapse", "the episode is about grief". It tells what the scene is, which asks nothing of the track
    (the writers of the held-out banks read it so: the music need not match it)."""
    mention = items[i].mention
    if (mention is not None and mention.key.startswith("genre.") and not state.neg
            and state.polarity in (None, "weak_more") and i + 1 < len(items)
            and items[i + 1].text in _SCENE_NOUNS - {"theme", "story", "subject", "topic"}
            and (i + 2 == len(items) or items[i + 2].text not in _MUSIC_NOUNS)):
        return True  # "a cinematic reveal of a cabin": the kind of video ("an orchestral trailer cue" is music)
    if mention is None or mention.implied is not None or not mention.key.startswith(("tempo", "mood.")):
        return False
    if (i >= 2 and items[i - 2].text in ("its", "s", "thats") and items[i - 1].text in ("a", "an")
            and i + 1 < len(items) and items[i + 1].kind == "word"
            and items[i + 1].text not in _MUSIC_NOUNS | _MUSIC_ASPECTS | _VIDEO_CUE_BREAKS | _HEAD_NOUNS):
        return True  # "nothing too fast, it's a sleepy cat": what the video shows
    if (state.neg and i >= 2 and [item.text for item in items[i - 2:i]] in (["not", "a"], ["not", "an"])
            and i + 1 < len(items) and items[i + 1].kind == "word"
            and items[i + 1].text not in _MUSIC_NOUNS | _VIDEO_CUE_BREAKS | _MUSIC_ASPECTS):
        return True  # "it's a cake, not an epic battle": what the video is not
    if state.neg or state.polarity not in (None, "weak_more") or state.too or state.lift is not None or state.keep:
        return False  # "a" is the weak cue of "a calm one"
    if (i >= 2 and items[i - 2].text == "for" and items[i - 1].text in ("a", "an", "the", "my", "our")
            and i + 1 < len(items) and items[i + 1].kind == "word"
            and items[i + 1].text not in _MUSIC_NOUNS | _MUSIC_ASPECTS | _VIDEO_CUE_BREAKS | _HEAD_NOUNS):
        return True  # "way too loud for a sleepy sunrise": what the music is for
    for k in range(i + 1, min(i + 4, len(items))):  # it names the kind of video: "hype reel", "slow sunrise timelapse"
        item = items[k]
        if item.text in _SCENE_NOUNS:
            return k + 1 == len(items) or items[k + 1].text not in _MUSIC_NOUNS
        if item.kind != "word" or item.text in _VIDEO_CUE_BREAKS:
            break
    j, free = i - 1, 2  # "the film is about climate grief": up to two words of the topic's own
    while j >= 0 and (items[j].text in _SCENE_MODIFIERS or items[j].cue in ("slight", "strong")
                      or (free > 0 and items[j].kind == "word"
                                                             and "about" in (it.text for it in items[:j]))):
        free -= items[j].text not in _SCENE_MODIFIERS
        j -= 1
    # said of the video: "the video is dark", "episode's about grief"; or of anything not the music: "Manila
    # mornings are sunny", "the beaches here are sunny"
    if j < 1 or items[j].text not in COPULAS:
        return False
    subject = items[:j]
    return any(item.text in _SCENE_NOUNS for item in subject) or (
        all(item.kind == "word" for item in subject)
        and any(item.text not in _NOT_ABOUT_OTHER_THINGS for item in subject))


# What may follow a degree that says how much of the last ask ("less piano, a lot less", "calm the pace a touch")
_AFTER_A_BARE_DEGREE = frozenset({"more", "less", "fewer", "please", "though", "tho", "then", "and", "or", "thanks",
                                  "again", "too", "overall", "pls", "if", "maybe", "perhaps", "at", "than", "of", "on",
                                  "lol", "honestly", "tbh", "now", "down", "up", "for", "as", "so", "to", "in", "with",
                                  "this", "here", "there", "but", "yet"})


def _read_clause(tokens: list[str], out: Readings, praise_free: bool = True) -> None:
    items = _scan(tokens)
    state = _ClauseState()
    # A clause that names nothing may say how much of the last ask ("less piano, a lot less").
    last = out.items[-1] if out.items and not any(it.kind == "mention" for it in items) else None
    if _complains_of_the_last_instrument(items, out):
        return
    if len(items) == 2 and items[0].text in PREDICATE_PRAISE and items[1].kind == "mention":
        out.last_mention = items[1].mention
        return  # "nice guitar, but ...", "great energy, but ...": praise of the pick, no ask
    if (items and items[0].text in _PRAISE_FIRST and len(items) <= 6
            and not any(item.kind == "cue" and item.cue not in ("slight", "strong") for item in items)
            and [item.mention.key.split(".")[0] for item in items if item.mention is not None] in (["instrument"],
                                                                                                  ["vocals"])):
        out.last_mention = next(item.mention for item in items if item.kind == "mention")
        return  # "lovely legato in the strings, but ...": praise of an instrument of the pick, no ask
    clause_start = len(out.items)
    sounding: dict[str, Item] = {}  # "a gentle piano": the instrument asked for, and how it should sound
    too_list: Intensity | None = None  # "too soft and gentle": "too" reaches over "and" to the next quality
    styled: list[tuple[Reading, str]] = []  # "that blues guitar": a genre naming an instrument's style
    i = 0
    while i < len(items):
        item = items[i]
        if item.kind == "mention" and item.mention is not None:
            mention = item.mention
            out.last_mention = mention
            if (too_list is not None and i >= 2 and items[i - 1].text in ("and", "or")
                    and items[i - 2].kind == "mention" and mention.implied is None and not state.too):
                state.too, state.intensity = True, too_list
            too_list = None
            following = items[i + 1] if i + 1 < len(items) else None
            if (mention.quality and following is not None and following.kind == "mention"
                    and following.mention is not None and following.mention.key.startswith(("instrument.", "vocals"))):
                # "quieter drums" asks for less drums; "a soft piano" describes the piano it asks for
                if mention.implied == "more":
                    state.polarity = "more" if mention.key == "mood.energetic" else "less"
                elif not (i > 0 and items[i - 1].cue in ("more", "less")):  # "more powerful drums" is louder drums
                    sounding[following.mention.key] = item
                i += 1
                continue
            if _describes_the_video(items, i, state):
                state.after_mention()
                i += 1
                continue
            described = _describes_the_pick(items, i, state)
            if described is not None:
                complaint = None if described == "plain" or not praise_free else _reading(
                    mention, "less", described, item.text)
                if complaint is not None:
                    complaint.implicit = True
                    out.items.append(complaint)
                    last = complaint
                state.after_mention()
                i += 1
                continue
            # a word that says "too" itself is not turned around by what follows ("dragging on")
            predicate, end = (None, i + 1) if mention.implied == "too" else _predicate(items, i + 1)
            if predicate is None and _governing_cue(state, mention, None) == "bare":
                predicate, end = _list_predicate(items, i, predicate, end)
            cue = _governing_cue(state, mention, predicate)
            if predicate in ("more", "less") and state.intensity == "normal":
                state.intensity = _predicate_intensity(items[i + 1:end])  # "the drums are way too loud"
            if cue == "neg" and following is not None and following.text == "enough":
                cue = "more"  # "not fast enough", "not enough piano" is handled as a predicate
            if cue == "too" or (mention.implied == "too" and cue == "bare"):
                cue = "less"
            if state.intensity == "normal" and (cue == state.polarity or (
                    state.polarity is None and mention.implied == "more")):
                state.intensity = state.carried
            reading = _reading(mention, cue, state.intensity, item.text)
            if reading is not None and state.neg and state.too:
                reading.moderation = True
            if reading is not None and cue == "bare" and (mention.key.startswith(("mood.", "genre.", "instrument."))
                                                          or (mention.key == "vocals" and i > 0
                                                              and items[i - 1].text in _ARTICLES)):
                reading.described = True
            if reading is not None:
                out.items.append(reading)
                last = reading
                if ((cue == "bare" or reading.value == "keep") and mention.key.startswith(("genre.", "mood."))
                        and following is not None and following.mention is not None
                        and following.mention.key.startswith("instrument.")):
                    styled.append((reading, following.mention.key))
            if state.too and mention.implied is None:  # "not so loud and intense": both moderated
                too_list = state.intensity
            # "bring back the drums and vocals": a release reaches over "and" to the next mention
            beyond = i + 1
            while beyond < len(items) and items[beyond].text in _HEAD_NOUNS:
                beyond += 1  # "stop avoiding electronic music and guitar"
            lift_list = state.lift if (end <= beyond and beyond + 1 < len(items)
                                       and items[beyond].text in ("and", "or")
                                       and items[beyond + 1].kind == "mention") else None
            state.after_mention(comparative=mention.implied == "more" and state.polarity is None)
            state.lift = lift_list
            i = max(i + 1, end)
            continue
        if item.kind == "cue" and item.cue is not None:
            cue = item.cue
            state.carried = "normal"  # a cue of its own starts afresh
            if cue == "neg" and state.neg and state.neg_fresh and item.text in REMOVALS:
                state.neg, state.keep = False, True  # "do not remove the piano": the negations cancel, it stays
            elif cue == "neg":
                state.neg, state.neg_fresh, state.neg_budget, state.polarity = True, True, NEG_REACH, None
                state.keep = False  # "like the travel bit, no sitar": a negation after praise asks again
            elif cue == "more":
                # A "more" cue right after a negator stays negated ("do not make it slower", "I do not want
                # more guitar"); after the negated mention it starts afresh ("lose the vocals and make it faster").
                if not (state.neg and state.neg_fresh):
                    state.take_polarity("more")
            elif cue == "weak_more":
                if not state.neg and state.polarity is None:
                    state.polarity = "weak_more"
            elif cue == "less":
                state.take_polarity("less")
            elif cue == "too":
                j = i + 1
                while j < len(items) and items[j].cue in ("slight", "strong"):
                    j += 1
                if item.text == "so" and (j >= len(items) or items[j].kind != "mention"):
                    i += 1  # "so definitely something fun": "so" is "therefore" unless a quality follows
                    continue
                if item.text == "too" and all(it.text in POSTFIX_END for it in items[j:]):
                    i += 1  # "jazz is fine too": a "too" that ends the clause is "also"
                    continue
                state.too = True
                if _too_intensity(item.text) != "normal":
                    state.intensity = _too_intensity(item.text)
            elif cue in ("lift", "restore"):
                if state.lift is None or item.text != "any":  # "fine with any tempo": the first lift stands
                    state.lift = item.text
            elif cue == "keep":
                state.keep = True
            elif (cue in ("slight", "strong") and item.text.endswith((" more", " less")) and i + 1 < len(items)
                  and items[i + 1].kind == "mention"):
                # "slightly less jazz and way more funk": "way more" is a degree and a direction
                state.take_polarity(item.text.rsplit(" ", 1)[1])
                state.intensity, state.degree_bound = _intensity_of(item.text, cue), True
            elif cue in ("slight", "strong"):
                after = items[i + 1] if i + 1 < len(items) else None
                right_after_its_ask = (i > 0 and items[i - 1].kind == "mention"
                                       and (after is None or after.text in ("and", "or", "then", "please")))
                # "the shots are very long": a degree before a word it modifies is not one of the last ask
                modifies_nothing = after is None or after.kind == "cue" or after.text in (
                    _AFTER_A_BARE_DEGREE | _PRESENCE_WORDS | _LOUDNESS | POSTFIX_UP | POSTFIX_DOWN)
                if last is not None and (right_after_its_ask or (
                        modifies_nothing and not any(it.kind == "mention" for it in items[i + 1:]))):
                    if last.key != "vocals" and last.value not in ("lift", "none", "fine"):
                        last.intensity = _intensity_of(item.text, cue)  # "calm the pace a touch"
                else:
                    state.intensity = _intensity_of(item.text, cue)
        else:  # a plain word
            if state.neg:
                if item.text in NEG_BREAKERS:
                    state.neg = False
                elif item.text not in NEG_SKIPPABLE:
                    state.neg_budget -= 1
                    if state.neg_budget < 0:
                        state.neg = False
        i += 1
    # "that blues guitar is gorgeous": a style named with an instrument asks for it only where the instrument is
    # asked for ("some jazz piano please")
    for style, instrument in styled:
        if style.value == "keep":  # "I love the rock drums": both praised
            out.items = [r for r in out.items if not (r.key == instrument and r.described)]
        elif not any(r.key == instrument and r.value == "more" for r in out.items[clause_start:]):
            out.items = [r for r in out.items if r is not style]
    # ... and a track that sounds that way: "a gentle piano piece" is calm piano music, "no loud drums" only
    # removes the drums
    for reading in out.items[clause_start:]:
        quality = sounding.pop(reading.key, None)
        if quality is not None and quality.mention is not None and reading.value in ("more", "on", "male", "female"):
            out.items.append(Reading(quality.mention.key, "more", words=quality.text))
    if out.last_mention is not None and not any(it.kind == "mention" for it in items):
        _read_back_reference(items, out, out.last_mention)


def _list_predicate(items: list[Item], i: int, predicate: str | None, end: int) -> tuple[str | None, int]:
    """"guitar and drums can come back": a predicate after a list of one kind of mention speaks of each."""
    mention = items[i].mention
    j = i + 2
    while j < len(items) and items[j].kind == "word" and items[j].text in _ARTICLES:
        j += 1
    other = items[j].mention if j < len(items) else None
    if (mention is None or other is None or items[i + 1].text not in ("and", "or")
            or other.key.split(".")[0] != mention.key.split(".")[0]):
        return predicate, end
    shared, _ = _predicate(items, j + 1)
    return (shared, i + 1) if shared is not None else (predicate, end)


def _complains_of_the_last_instrument(items: list[Item], out: Readings) -> bool:
    """"the guitar is nice but too loud": a clause of "too" and a loudness word speaks of the instrument or
    voice named just before (more of it when too quiet, less when too loud)."""
    named = out.last_mention
    quality = items[-1].mention if items else None
    too = len(items) == 2 and items[0].cue == "too"
    comparative = len(items) == 1 and quality is not None and quality.implied == "more"  # "drums yes, but quieter"
    if (not (too or comparative) or quality is None or not quality.quality or named is None
            or not named.key.startswith(("instrument.", "vocals")) or named.sign == 0
            or (comparative and not named.key.startswith("instrument."))):  # "a female singer, but softer": a mood
        return False
    loud = quality.key == "mood.energetic"
    wants_more = loud if comparative else not loud
    intensity = _too_intensity(items[0].text) if too else "normal"
    reading = _reading(named, "more" if wants_more else "less", intensity, items[-1].text)
    if reading is not None:  # it refines what the words asked of that instrument: "drums yes, but quieter"
        out.items[:] = [r for r in out.items if r.key != reading.key or r.value not in ("more", "less")]
        out.items.append(reading)
    return True


_BACK_REFERENCES = frozenset({"that", "it", "this", "those", "them", "these"})


_NEGATED_BACK_REFERENCES = frozenset({"any", "it", "them", "that", "those", "this", "these"})
# "I don't want any", "can we lose them": a want, or a negator that is itself a removal ("lose", "drop"); not a
# bare "don't" before another verb ("don't change them")
_WANTING = frozenset({"want", "like", "need", "have", "hear", "use"})
_BARE_NEGATORS = frozenset({"no", "not", "do not", "dont", "never", "nothing", "none", "neither"})
# A clause of these alone releases the last thing named: "vocals or no vocals, doesn't matter", "length: whatever".
_LIFTING_CLAUSES = frozenset({"does not matter", "do not matter", "whatever", "whatever works", "either way",
                              "no matter", "either is fine", "either works", "not an issue", "i do not mind",
                              "do not mind", "i do not care", "do not care", "up to you"})


_ALTOGETHER = frozenset({"completely", "entirely", "altogether", "totally", "fully", "for good", "outright"})


def _read_back_reference(items: list[Item], out: Readings, mention: Mention) -> None:
    """"the guitar is great, more of that": a clause naming nothing asks more (less) of the last mention;
    "I can hear a flute, don't want it" removes it, whatever the clause before made of it (a correction)."""
    while items and (items[-1].text in POSTFIX_END or items[-1].text in _ALTOGETHER):
        items = items[:-1]  # "lose it please", "so lose them completely please"
    if len(items) == 1 and items[0].kind == "cue" and items[0].cue == "neg" and items[0].text in REMOVALS:
        removal = _reading(mention, "neg", "normal", items[0].text)  # "the synth, take out please"
        if removal is not None:
            out.items = [it for it in out.items if it.key != removal.key] + [removal]
        return
    too_much = re.search(r"\b(?:(way|far|much|a bit|a little|slightly) )?too (?:much|many) of (?:it|that|this|them"
                         r"|those)$", " ".join(it.text for it in items))
    if too_much:  # "the flute's lovely but there's way too much of it"
        degree = too_much.group(1)
        reading = _reading(mention, "less", _too_intensity(f"{degree} too") if degree else "normal",
                           too_much.group(0))
        if reading is not None:
            out.items.append(reading)
        return
    if (len(items) in (2, 3) and items[0].kind == "cue" and items[0].cue in ("more", "less")
            and items[0].text in _LEVEL_VERBS and items[1].text in ("it", "them", "that")
            and (len(items) == 2 or items[2].cue in ("slight", "strong"))):
        degree = items[2] if len(items) == 3 else None  # "the choir is lovely but reduce it slightly"
        changed = _reading(mention, items[0].cue, _intensity_of(degree.text, degree.cue or "") if degree else "normal",
                           " ".join(it.text for it in items))
        if changed is not None:
            out.items.append(changed)
        return
    negators = [it for it in items if it.kind == "cue" and it.cue == "neg"]
    if len(negators) >= 2 and negators[0].text in _BARE_NEGATORS and negators[1].text in REMOVALS:
        return  # "fewer drums, but don't take them out": the removal refused, what was asked stands
    if " ".join(it.text for it in items) in _LIFTING_CLAUSES or (
            mention.limit and items and items[-1].text in ("it", "that", "this")
            and any(it.kind == "cue" and it.cue == "lift" for it in items)):  # "the length limit... forget about it"
        lift = _reading(mention, "lift", "normal", " ".join(it.text for it in items))
        if lift is not None:
            out.items = [it for it in out.items if it.key != lift.key] + [lift]
        return
    ends_without_it = (len(items) >= 2 and items[-1].text in ("it", "them", "that") and items[-2].kind == "cue"
                       and items[-2].cue == "neg" and items[-2].text not in _BARE_NEGATORS)
    if (items and items[-1].text in _NEGATED_BACK_REFERENCES and (len(items) <= 5 or ends_without_it)
            and any(it.kind == "cue" and it.cue == "neg" for it in items)
            and (any(word in _WANTING for it in items for word in it.text.split())
                 or any(it.kind == "cue" and it.cue == "neg" and it.text not in _BARE_NEGATORS for it in items))):
        reading = _reading(mention, "neg", "normal", " ".join(it.text for it in items))
        if reading is not None:
            out.items = [it for it in out.items if it.key != reading.key] + [reading]
        return
    if len(items) == 2 and items[0].text in ("bring back", "add", "add back", "put back") and items[1].text in (
            _BACK_REFERENCES):  # "add them", "bring them back"
        reading = _reading(mention, "more" if items[0].text == "add" else "restore", "normal",
                           " ".join(it.text for it in items))
        if reading is not None:
            out.items.append(reading)
        return
    for k, item in enumerate(items[:-1]):
        if item.text in ("more of", "less of") and items[k + 1].text in _BACK_REFERENCES:
            degrees = [it for it in items if it.kind == "cue" and it.cue in ("slight", "strong")]
            intensity: Intensity = _intensity_of(degrees[0].text, degrees[0].cue or "") if degrees else "normal"
            cue = "more" if item.text == "more of" else "less"
            reading = _reading(mention, cue, intensity, f"{item.text} {items[k + 1].text}")
            if reading is not None:
                out.items.append(reading)
            return


# Verbs that set a level, which "it" after them may take from the mention before: "... but reduce it slightly"
_LEVEL_VERBS = frozenset({"less", "reduce", "lower", "decrease", "increase", "raise", "boost", "add", "bring down",
                          "bring up",
                          "turn up", "turn down", "tone down", "dial down", "dial back", "dial up", "soften", "amplify",
                          "emphasise", "emphasize", "cut back on", "pull back", "scale back", "take down", "pump up",
                          "crank up", "bump up", "ramp up"})
_ANSWERS = frozenset({"no", "none", "yes", "nope", "sure"})
# Before a mention named with no cue, words that say what something has ("every pitch video uses piano")
_HAVING = frozenset({"uses", "use", "used", "using", "has", "had", "heard", "hearing"})
# After a mention named with no cue, words that describe it rather than ask for it
_DESCRIBING = COPULAS | {"make", "makes", "made", "sound", "sounds", "feel", "feels", "seem", "seems", "remind",
                         "reminds"}
# A clause with one of these says something of what it names (a reason), rather than only naming it (an ask)
_SAYS = _DESCRIBING | _HAVING | {"have", "making", "thats", "hear", "fits", "suits", "belongs", "sits", "sitting",
                                  "steps", "clashes", "fights", "competes", "drowns", "covers", "buries", "eats",
                                  "talks", "talking", "distracts", "bothers", "annoys", "irritates", "grates",
                                  # "the strings swell and pull focus", "the vocals break the spell"
                                  "swell", "swells", "pull", "pulls", "break", "breaks", "ruin", "ruins", "distract",
                                  "overpower", "overpowers", "dominate", "dominates", "steal", "steals", "drag",
                                  "drags", "get", "gets", "come", "comes", "build", "builds", "creep", "creeps",
                                  "keeps", "keep", "fighting", "clashing", "competing", "drowning", "covering",
                                  "stepping", "taking"}
# ... unless it opens as an ask: "no drums whatsoever, but make the drums hit harder" contradicts itself
_ASKING_OPENERS = frozenset({"make", "let", "give", "add", "put", "get", "bring", "turn", "can", "could", "please",
                             "would"})


def _gives_a_reason(tokens: list[str]) -> bool:
    return bool(tokens) and not _SAYS.isdisjoint(tokens) and tokens[0] not in _ASKING_OPENERS
_ARTICLES = frozenset({"the", "a", "an", "that", "this", "those", "these"})
# What lets a clause with no subject of its own speak of the instrument just named, or describe the pick
_MODAL_BE = (["could", "be"], ["should", "be"], ["can", "be"], ["might", "be"], ["would", "be"], ["needs", "to"],
             ["need", "to"], ["has", "to"], ["must", "be"])
_DEGREE_OPENERS = frozenset({"too", "a", "way", "far", "much", "bit", "kinda", "slightly", "quite", "rather",
                             "pretty", "somewhat", "little", "tad"})
_LOUDNESS = frozenset({"quieter", "louder", "softer", "subtler", "subtle", "prominent", "loud", "quiet", "busy",
                       "busier", "lower", "higher"})
_PRAISED = re.compile(r"\b(?:love|loving|like|liking|enjoy|dig|adore)\b|\b(?:perfect|awesome|amazing|fantastic)\b")


def _quality_of_the_track(word: str) -> bool:
    """A plain tempo or mood word ("slow", "gloomy"): it describes the track, not an instrument."""
    mention = MENTIONS.get((word,))
    return mention is not None and mention.sign != 0 and (mention.key == "tempo" or mention.key.startswith("mood."))


def _describes_after_praise(tokens: list[str], before: str) -> bool:
    """A clause of a degree and one plain tempo or mood word ("a bit slow though") after a clause of praise."""
    words = [t for t in tokens if t not in _DEGREE_OPENERS and t not in ("though", "tho", "of")]
    return (len(words) == 1 and _quality_of_the_track(words[0])
            and (bool(PREDICATE_PRAISE.intersection(before.split())) or bool(_PRAISED.search(before))))


_HEDGE_WORDS = frozenset({"kinda", "pretty", "quite", "rather", "somewhat", "bit", "a", "little", "kind", "of",
                          "sorta", "sort"})
_CHAT_AFTERTHOUGHTS = frozenset({"tbh", "honestly", "lol", "ngl", "imo", "tbf", "though", "tho"})


def _hedged_quality(tokens: list[str]) -> bool:
    """A clause of a hedge and one plain tempo or mood word ("kinda depressing tbh", "bit sleepy honestly"):
    it says what the pick is ("it's kinda depressing"), as a complaint, not what is wanted."""
    words = [t for t in tokens if t not in _CHAT_AFTERTHOUGHTS]
    return (len(words) >= 2 and all(t in _HEDGE_WORDS for t in words[:-1]) and _quality_of_the_track(words[-1])
            and MENTIONS[(words[-1],)].implied is None)


def _answers_joined(clauses: list[str]) -> list[str]:
    """"drums? no.", "vocals? no, drums? yes": a clause that only names an instrument, genre or vocals and the
    yes/no after it are one answer ("shorter, no, longer" stays three clauses: a direction, not a question)."""
    out: list[str] = []
    for clause in clauses:
        named = MENTIONS.get(tuple(w for w in out[-1].split() if w not in _ARTICLES)) if out else None
        if (clause in _ANSWERS and named is not None and named.implied is None
                and named.key.startswith(("instrument.", "genre.", "vocals"))):
            out[-1] = f"{out[-1]} {clause}"
        else:
            out.append(clause)
    return out


# A self-correction: what follows replaces what came before for every attribute it names ("faster, wait no,
# I meant slower" = slower, not a contradiction). "X no" only before punctuation ("actually no vocals" is a
# removal); the single words only at a clause's start, where the clause split already cuts the sentence.
_PUNCT = r"[\s.,;:!?]"
_CORRECTION = re.compile(
    rf"\b(?:no{_PUNCT}+wait|no{_PUNCT}+sorry|no,? actually|scratch that|on second thoughts?|or rather|i meant|i mean"
    # "hmm, on reflection", "listening again, I was wrong there", "thinking it over", "let me rephrase"
    rf"|on reflection|(?:after |on )?(?:listening|hearing it|thinking it over|thinking about it) again|thinking it over"
    rf"|let me rephrase|(?:i was|i am|im) wrong(?: there| about that| on that)?(?=\s*[,.;:!?-])"
    rf"|what i actually (?:mean|want) is|make that|(?:ugh,? )?wrong word|typo|autocorrect|sorry,? meant"
    rf"|no{_PUNCT}+hold on|hold on)\b"
    # "more rock, er, more metal", "around 100 bpm, no, around 120", "the violin, sorry, the piano"
    rf"|(?<=[,.\-])(?<!but,)(?<!and,)\s*(?:er|erm|uh|um|sorry|no|well|hm+)\s*(?=,)|\bor actually\b"
    rf"|\b(?:wait|actually|well|sorry|oh|hmm){_PUNCT}+no\b(?={_PUNCT}*(?:[.,;:!?]|$))"
    rf"|(?:^|(?<=[.,;:!?]))\s*(?:actually|i mean|wait|sorry|oops|correction)\b"
    rf"(?:{_PUNCT}+no\b(?={_PUNCT}*(?:[.,;:!?]|$)))?")
_CORRECTION_FILLERS = frozenset({"no", "nope", "nah", "hmm", "well", "oh", "ok", "okay", "sorry", "um", "uh"})
# Words that refuse the pick ("nope, too cheesy", "swap it out?", "doesn't fit my pasta video"): "something
# else" only when nothing else is asked ("too cheerful for a memorial video, can you change it" = less happy)
_REFUSAL = re.compile(
    r"^\s*(?:nope|nah|meh|no(?=\s*[,.;:!]))\b"
    r"|\b(?:swap|switch) (?:it|this|that)(?: one| track| song)? out\b"
    r"|\b(?:replace|change) (?:it|this|that)(?: one| track| song)?\b"
    r"|\b(?:give (?:me|us)|play|hear|try|have|get|find|show (?:me|us)) another\b"
    r"|\b(?:show|give|play|find|try)(?: me| us)? (?:an)?other(?: one)?[.!?]*$"
    r"|\bnot (?:really )?my (?:taste|style|thing|cup of tea)\b|\bgive (?:me|us) (?:the )?next\b"
    r"|\b(?:this|that|it)(?: one| track| song)? (?:is|s) not working(?: for (?:me|us))?\b"
    r"|\b(?:an)?other(?: one)?,? please[.!?]*$|\b(?:this|that|it)(?: one| track| song)?(?: is| s)? not (?:good|great"
    r"|right|it)\b"
    r"|(?:^|(?<=[.,;:!?] ))(?:next|(?:an)?other(?: one| track| song)?)[.!?]*$"
    r"|(?:^|(?<=[.,;:!?] ))(?:(?:eh|hmm+|meh|well|sorry|nah|ugh|honestly|aiya|aiyo|haiya|arre|abeg|oya),? )*"
    r"(?:i |we )?(?:do not|dont|did not|didnt)"
    r" (?:like|love|dig|feel)(?: it| this| that)?(?: one| track| song)?(?: much| at all| really)?[.!?]*$"
    r"|(?:^|(?<=[.,;:!?] ))change(?: it| this| that| another| the song| song| the track| track)?,?(?: please| pls"
    r"| lah| na| yaar| abeg)?[.!?]*$"
    r"|\bnot (?:really )?(?:vibing|feeling) (?:with )?(?:it|this|that)\b"
    r"|(?:^|(?<=[.,;:!?] ))(?:(?:hmm+|um+|uh+|eh|meh|sorry|honestly|well),? )*(?:i |we )?not like (?:it|this|that)"
    r"(?: one| track| song)?[.!]*(?: next,? please[.!]*)?$|(?:^|(?<=[.,;:!?] ))next,? please[.!?]*$"
    r"|\bnot quite it\b|\b(?:this is|that is|thats|it is|its|this isnt|this is not) not it\b"
    r"|\b(?:this|that|it) (?:is not|isnt) it\b|\bskip(?:ping)? (?:this|that|it)(?: one)?\b"
    r"|\bnot doing it for (?:me|us)\b|\bmove on\b"
    r"|(?:^|(?<=[.,;:!?] ))except (?:this|that|it)(?: one| track| song)?[.!]*$"
    r"|(?:^|(?<=[.,;:!?] ))(?:not it|keep (?:looking|searching|digging|trying))\b|\b(?:hard|big|total) pass\b"
    r"|\b(?:response|reaction|verdict|answer|feedback)\b[^.;!?]*?\b(?:was|is)\s*,?\s*(?:nope|no|nah|not feeling it"
    r"|not it|meh|pass)\b|^\s*skip\b(?=\s*[,.!])|\bthen nope[.!]*$"
    r"|\b(?:hear|try|have|get|play) the next(?: one| track| song)?\b"
    r"|\bshow (?:me|us) (?:something )?different\b"
    r"|\bnot the (?:feeling|vibe|feel|mood|style|sound) (?:of|for) (?:my|our|the)\b"
    r"|\b(?:this|that|it)(?: one| track| song)?(?: is| s)? not (?:suitable|appropriate|fitting|ok|okay)\b"
    r"|(?:^|(?<=[.,;:!?] ))(?:(?:mm+|hmm+|meh|well|sorry) )*(?:it |this |that |this one )?(?:does not |doesnt "
    r"|do not |dont |not )(?:convinc[a-z]*|fit|suit|match)\b")


# A self-correction that keeps a family as it is: "... no sorry, keep the mood, I meant quicker"
_KEEPS_A_FAMILY = re.compile(r"\b(?:keep|leave) (?:the )?(mood|vibe|feel|tempo|pace|speed|genre|style|instruments"
                             r"|length)\b")
_FAMILIES = {"mood": "mood.", "vibe": "mood.", "feel": "mood.", "tempo": "tempo", "pace": "tempo", "speed": "tempo",
             "genre": "genre.", "style": "genre.", "instruments": "instrument.", "length": "duration"}
# A segment ending in an ask of one thing, which a correction may rename ("lose the sax... I mean the flute")
_ENDS_WITH_AN_ASK = re.compile(r"\b(lose|drop|remove|cut|kill|ditch|mute|skip|no|without|less|more|add|fewer)"
                               r"(?: the| a| some| any| that)? [a-z]+(?:[\s,]+(?:ah|oh|er|um|uh|hmm|oops))*"
                               r"[\s.,;:!?]*$")


# Sarcasm said outright: "even faster. Exactly what I didn't want.", "even MORE synth, my favourite /s"
_SARCASM = re.compile(r"(?:^|\s)/s\b|\b(?:exactly|just|precisely) what (?:i|we) (?:did not|didn'?t|do not|don'?t)"
                      r" (?:want|ask for|asked for|need)\b", re.IGNORECASE)
# What sarcastic praise of a move asks for: the other way, not away ("even gloomier /s" is less gloomy)
_OTHER_WAY = {"more": "less", "faster": "slower", "slower": "faster", "shorter": "longer", "longer": "shorter",
              "on": "off"}


# A sentence of mock praise: "Great, guitar solos.", "Oh joy, country twang for a tech launch.", "Bold choice
# putting a sitar under a tax demo." (with no ask of its own: "Nice, now add drums." asks)
_MOCK_PRAISE = re.compile(r"^\W*(?:(?:oh|ah|well|wow),? )?(?:great|wow|joy|fantastic|wonderful|cool|cute|sure|brilliant"
                          r"|lovely|perfect|amazing|awesome|bold choice|love that|love how|nothing says|how original"
                          r"|how thoughtful|thanks a lot|just what i needed|exactly what i needed|ah(?=,))\b",
                          re.IGNORECASE)
_ASKS_OUTRIGHT = re.compile(r"\b(?:add|make|give|put|try|remove|drop|lose|cut|no|please|pls|want|need|less|could|can"
                            r"|would)\b", re.IGNORECASE)


# A sentence about the last pick ("The track you just played had a guy singing over it.", "Your last suggestion
# had percussion pounding through the whole thing.") or setting the scene ("I'm cutting together a wedding reel for
# my sister.", "This is the onboarding video for a meditation app, soft gradients and a gentle voice.")
_ABOUT_THE_LAST_PICK = re.compile(
    r"\b(?:your (?:last|previous) (?:pick|suggestion|track|song|one|choice)|(?:the|that) (?:track|song|one|piece|tune)"
    r" you (?:just )?(?:played|picked|gave me|sent|suggested|chose)|(?:the|that) (?:last|previous) (?:one|track|song"
    r"|pick|suggestion|tune|piece)|last time you (?:gave|played|sent|suggested)(?: me)?)\b", re.IGNORECASE)
_SETS_THE_SCENE = re.compile(
    r"^\W*(?:(?:so|ok|okay|hi|hey|hello|update|quick one|context|quick context|hi team)\b[^a-z]*)?(?:(?:pasting"
    r"|forwarding"
    r"|brief (?:for|from)|(?:producer |client |director s |legal |quick )?(?:notes?|update) (?:on|for|from)|footage:)"
    r"|(?:(?:this|it) is|it'?s) (?:a|an|the|my"
    r"|our|for)\b(?=.*\b(?:video|vlog|reel|clip|film|edit|montage|project|demo|footage|tutorial|ad|promo|trailer"
    r"|documentary|recap|slideshow|episode|presentation|course|lesson|class|appeal|campaign|spot|launch|showcase"
    r"|opening|reopening)\b)|(?:i|we)(?:'m|'re| am"
    r"| are)? (?:making|cutting|editing|putting together|scoring|working on|doing|filming|recording|shooting|re-?cut"
    r"|recutting|teach|run|own|made|shot|filmed|recorded|spent)|(?:my|our) (?:[\w'-]+ ){0,3}(?:video|vlog|reel|clip"
    r"|film|edit|montage|project|demo|footage)\b|the (?:whole |entire )?(?:video|footage|clip|film|vlog|reel|studio"
    r"|party|event|jury|audience|day|ceremony) (?:is|has|shows|was|opens|features)|there(?:'s| is| are| was| were))",
    re.IGNORECASE)
_ASKS_OR_COMPLAINS = re.compile(
    r"\b(?:add|make|give|put|try|remove|drop|lose|cut it|no|not|please|pls|want|wanted|need|needs|less|more|could|can"
    r"|would|should|something|anything|too|enough|prefer|rather|without|only|keep|fine|okay|ok|allowed|care|matter"
    r"|bpm|has to|have to|must)\b|n't\b|\d", re.IGNORECASE)


def _context_sentences(sentences: list[str]) -> list[str]:
    """Sentences that ask nothing beside the others' asks: mock praise, what the last pick did, the scene set.
    What the last pick did may name "something with a choir" or "what savasana needs" without asking."""
    def about_the_pick(sentence: str) -> bool:
        said = re.sub(r"\b(?:something|anything)\b|\bwhat (?:[\w']+ ){1,3}needs?\b", " ", sentence)
        return bool(_ABOUT_THE_LAST_PICK.search(sentence)) and not _ASKS_OR_COMPLAINS.search(said)

    return [s for s in sentences if (_MOCK_PRAISE.search(s) and not _ASKS_OUTRIGHT.search(s)) or about_the_pick(s)
            or (_SETS_THE_SCENE.search(s) and not _ASKS_OR_COMPLAINS.search(
                re.sub(r"\bno (?:dialogue|voiceover|narration|talking|speech|words)\b", " ", s)))]


def read(text: str) -> Readings:
    """Every reading in one utterance, before they are checked against each other; after a self-correction
    the later words replace the earlier ones attribute by attribute. Sarcasm said outright ("/s", "exactly what
    I didn't want") turns what the words praise the other way; a sentence of mock praise, of what the last pick
    did or of the scene, beside a plain ask ("Oh sure, the synth is subtle. Tone it down a bit.") asks nothing,
    but names what "it" is."""
    sentences = re.split(r"(?<=[.!?])\s+|(?<=[.!?]['\"\u2019\u201d])\s+", text.strip())
    mocking = _context_sentences(sentences)
    plain = [s for s in sentences if s not in mocking]
    if mocking and plain:
        named = _read_plainly(" ".join(mocking)).last_mention
        if named is not None and not named.key.startswith(("instrument.", "vocals")):
            named = None  # "she screamed so loud the mic clipped. Nah, this isn't it": "it" is the pick
        asked = _read_plainly(" ".join(plain), named)
        if asked.items or asked.something_else or asked.min_s or asked.max_s or asked.min_bpm or asked.max_bpm or (
                asked.licences):
            return asked
    out = _read_plainly(text)
    if _SARCASM.search(text):
        for reading in out.items:
            reading.value = _OTHER_WAY.get(reading.value, reading.value)
    return out


def _family(key: str) -> str:
    return key.split(".", 1)[0]


def _read_plainly(text: str, last_mention: Mention | None = None) -> Readings:
    normalised = repair_text(normalise(text))
    # a segment of bare fillers ("no, I meant less piano") is the correction's own preamble, not a refusal
    pieces: list[str] = ["", *re.split(f"({_CORRECTION.pattern})", normalised)]  # each segment after its marker
    marked = ([(marker, segment) for marker, segment in zip(pieces[0::2], pieces[1::2], strict=True)
              if not set(re.findall(r"[a-z]+", segment)) <= _CORRECTION_FILLERS or re.search(r"\d", segment)]
              or [("", normalised)])
    segments = [segment for _, segment in marked]
    out = Readings(last_mention=last_mention)
    before: Readings | None = None
    bpm_said = ""  # the last segment that said more than a bare number: how a corrected number is bound
    for k, segment in enumerate(segments):
        part = _read_segment(segment.strip(" .,;:!?"), Readings(last_mention=out.last_mention),
                             before.items if before is not None else [])
        marker = marked[k][0]
        if k > 0 and (before is not None and (before.min_bpm or before.max_bpm)
                      and not (part.min_bpm or part.max_bpm)
                      and re.search(r"\b(?:under|below|over|above|at least|at most|around|about)\s+\d{2,3}\b",
                                    segment)):
            # "under 90 bpm, er, under 80 I mean": the corrected number is still beats per minute
            segment = re.sub(r"\b(\d{2,3})\b(?!\s*(?:bpm|seconds?|secs?|minutes?|mins?|s|m)\b)", r"\1 bpm", segment)
            part = _read_segment(segment.strip(" .,;:!?"), Readings(last_mention=out.last_mention))
        if k > 0 and before is not None and marker and (
                re.search(r"\b(?:whole thing|whole track|whole song|everything|overall)\b", segment)
                or (re.search(r"\b(?:sorry|i mean|i meant|on reflection|again|thinking it over|rephrase|wrong"
                              r"|actually (?:mean|want)|typo|autocorrect|meant)\b", marker) and len(before.items) == 1
                    and part.items)):
            # "make the piano louder, no, make the whole thing louder", "no blues, sorry, I mean no sad stuff":
            # the correction takes back what came before, whatever it named
            out.items = [r for r in out.items if not any(r is gone for gone in before.items)]
        if k > 0 and before is not None and (cancelled := re.fullmatch(r"\s*not (?:the )?([a-z ]+?)[\s.,;:!?]*",
                                                                        segment)) is not None and (
                cancelled[1] in segments[k - 1]):
            # "slower please, er, not slower, I meant quieter": the correction only takes back what came before
            out.items = [r for r in out.items if not any(r is gone for gone in before.items)]
            before = None
            continue
        if (k > 0 and before is not None and marker and re.search(r"\b(?:scratch|forget|strike) that\b", marker)
                and not (fresh := _read_segment(segment.strip(" .,;:!?"), Readings())).items):
            # "slower - actually scratch that, I just don't like it": the ask before is taken back ("no piano and
            # faster, scratch that, slower" renames the tempo only, below)
            out.items = [r for r in out.items if not any(r is gone for gone in before.items)]
            out.last_mention = None
            part = fresh
        if k > 0 and before is not None and before.items and not part.items and (
                degree := _degree_only(segment, segments[k - 1])) is not None:
            # "a lot faster. actually... just a bit", "way too loud... well, slightly too loud": the degree corrected
            for reading in before.items:
                reading.intensity = degree
            before = part
            continue
        if k > 0 and before is not None and (before.min_bpm or before.max_bpm) and (
                bare := re.fullmatch(r"[\s,.\-]*(?:(?:hm+|uh+|um+|er+|ok|okay)[\s,.\-]*)*(\d{2,3})[\s,.\-]*"
                                     r"(?:(?:hm+|uh+|um+|er+)[\s,.\-]*)*", segment)) is not None:
            # "around 120 bpm - no, 100 - hm, no, 110", "at least 150 bpm - no, 130": a bare number corrects the
            # beats per minute, bound as before
            bound = re.search(r"\b(under|below|over|above|at least|at most|less than|more than|no more than"
                              r"|no less than)\s+\d", bpm_said)
            part = _read_segment(f"{bound.group(1) if bound else ''} {bare.group(1)} bpm",
                                 Readings(last_mention=out.last_mention))
        if part.licences and out.licences and re.search(r"\b(?:too|either|also|as well|or)\b", segment):
            # "CC0 - or rather, CC BY is fine too, either one": the licence added, not swapped
            part.licences = sorted({*out.licences, *part.licences})
        if k > 0 and re.search(r"\b(?:forget|ignore) (?:the|that) [a-z ]+ (?:idea|part)\b", segment):
            # "without strings as well - wait, no, scratch the strings part": taken back, not released
            asked = {r.key for r in out.items if r.value not in ("lift", "restore")}
            taken_back = {r.key for r in part.items if r.value == "lift" and r.key in asked}
            part.items = [r for r in part.items if r.key not in taken_back]
            out.items = [r for r in out.items if r.key not in taken_back]
        if k > 0 and before is not None and marker and ("actually" not in marker or marker.startswith("or")) and not (
                re.search(r"\b(?:too|as well)[\s.,;:!?]*$|\balso\b", segment)):
            # "more rock, er, more metal", "without the choir, no hold on, without the synth": the correction
            # renames what came before within its family (an "actually" may add rather than rename; "or actually"
            # renames; "drums are ok again too" adds)
            renamed = {_family(r.key) for r in part.items} & {_family(r.key) for r in before.items}
            out.items = [r for r in out.items if _family(r.key) not in renamed]
        if k > 0 and (kept := _KEEPS_A_FAMILY.search(segment)) is not None:
            # "make it brighter... no sorry, keep the mood, I meant quicker": the corrected ask of that family goes
            family = _FAMILIES[kept.group(1)]
            out.items = [r for r in out.items if not r.key.startswith(family)]
        verb = _ENDS_WITH_AN_ASK.search(segments[k - 1]) if k > 0 else None
        if verb is not None and part.items and all(r.described for r in part.items) and before is not None:
            # "lose the sax... I mean the flute": the correction names what the ask before it was of
            out.items = [r for r in out.items if not any(r is gone for gone in before.items)]
            part = _read_segment(f"{verb.group(1)} {segment.strip(' .,;:!?')}", Readings(last_mention=out.last_mention))
        _replace(out, part)
        before = part
        bpm_said = bpm_said if re.fullmatch(r"[^a-z]*\d{2,3}[^a-z]*|", segment) else segment
    if _REFUSAL.search(normalised) and not (out.items or out.min_s or out.max_s or out.min_bpm
                                                   or out.max_bpm or out.licences or out.reset):
        out.something_else = True  # "nope, too cheesy": a refusal whose reason names nothing to change
    return out


_DEGREES: dict[str, Intensity] = {"a little": "slight", "a bit": "slight", "slightly": "slight", "a tad": "slight",
                                   "a touch": "slight", "a lot": "strong", "way": "strong", "much": "strong",
                                   "far": "strong", "loads": "strong"}
_DEGREE_FILLERS = r"(?:just|only|maybe|lets say|let us say|i guess|i think|sorry|then|ok|okay|like|er|uh|um|hmm)"


def _degree_only(segment: str, said_before: str) -> Intensity | None:
    """The degree a correction gives what came before, when it says nothing else: "just a bit", "slightly too
    loud, let's say" after "way too loud"."""
    words = " ".join(re.findall(r"[a-z]+", segment))
    words = re.sub(rf"\b{_DEGREE_FILLERS}\b", " ", words)
    found = re.search(r"\b(" + "|".join(_DEGREES) + r")\b", words)
    if found is None:
        plain = re.fullmatch(r"\s*(more|less)\s*", words)  # "much more. ok maybe not much, just more"
        return "normal" if plain and re.search(rf"\b{plain.group(1)}\b", said_before) else None
    rest = " ".join((words[:found.start()] + " " + words[found.end():]).split())
    before = " ".join(re.findall(r"[a-z]+", said_before))
    return _DEGREES[found.group(1)] if not rest or before.endswith(rest) else None


def _replace(out: Readings, part: Readings) -> None:
    """`part`'s readings added to `out`, each attribute `part` names dropping what `out` had of it."""
    named = {reading.key for reading in part.items}
    named |= {"duration"} if part.min_s or part.max_s else set()
    named |= {"tempo"} if part.min_bpm or part.max_bpm else set()
    named |= {"licence"} if part.licences else set()
    out.items = [reading for reading in out.items if reading.key not in named] + part.items
    for key, bounds in (("duration", ("min_s", "max_s")), ("tempo", ("min_bpm", "max_bpm"))):
        for bound in bounds:
            if key in named:
                setattr(out, bound, getattr(part, bound))
    out.licences = part.licences if "licence" in named else out.licences
    out.something_else |= part.something_else
    out.reset |= part.reset
    out.last_mention = part.last_mention or out.last_mention


def _turned_down(tokens: list[str], named: Mention | None, last: Reading | None) -> list[str]:
    """"tone it down" lowers the energy, unless "it" is the instrument just named ("the beat is too busy, tone
    it down a lot" = much less drums; "the piano is too loud, turn it down") or the genre or mood just
    complained of ("kinda too jazzy, tone it down?" = less jazz)."""
    for j in range(len(tokens) - 2):
        verb, what, down = tokens[j:j + 3]
        if verb in ("tone", "dial", "turn", "bring") and down == "down":
            # "the drums are overpowering my dialogue can you tone it down": named in the same clause
            earlier = [m for t in tokens[:j] if (m := MENTIONS.get((t,))) is not None
                       and m.key.startswith("instrument.")]
            named = earlier[-1] if earlier else named
            if what in ("it", "them") and named is not None and named.key.startswith("instrument."):
                return [*tokens[:j], verb, "down", named.key.split(".", 1)[1], *tokens[j + 3:]]
            complained = [m for t in tokens[:j] if (m := MENTIONS.get((t,))) is not None
                          and m.key.startswith(("genre.", "mood.")) and m.sign > 0] if "too" in tokens[:j] else []
            if what in ("it", "that", "this") and complained:  # "too happy lol tone it down"
                return [*tokens[:j], verb, "down", complained[-1].key.split(".", 1)[1], *tokens[j + 3:]]
            if (what in ("it", "that", "this") and last is not None and last.value == "less"
                    and last.key.startswith(("genre.", "mood."))):
                return [*tokens[:j], verb, "down", last.key.split(".", 1)[1], *tokens[j + 3:]]
            if verb in ("tone", "dial") and what in ("it", "things", "this", "everything"):
                return [*tokens[:j], "less", "energetic", *tokens[j + 3:]]
    return tokens


# A clause that says what the user films, after which "it's ..." is said of the video
_FILMING = re.compile(r"^(?:so )?(?:i|we) (?:film|filmed|am filming|are filming|shoot|shot|record|recorded|made|make"
                      r"|am making|are making|edit|am editing|are editing)\b|^(?:my|our|the) (?:video|clip|film"
                      r"|footage|vlog|reel) (?:is|s|shows)\b")


def _read_segment(text: str, out: Readings, said_before: list[Reading] | None = None) -> Readings:
    """The readings of normalised words with no self-correction in them; `said_before`, what the words before
    the correction asked ("guitar can come back... actually, drums too": released as well)."""
    rest = _read_numbers(text, out)
    clauses = _CLAUSE_SPLIT.split(rest)
    clauses = _answers_joined([clause.strip() for clause in clauses if clause.strip()])
    # "it's very upbeat, I love it" is praise, not a complaint: no clause up to the last praise complains
    last_praise = max((k for k, clause in enumerate(clauses) if _PRAISE.search(clause)), default=-1)
    subject: Reading | None = None  # a clause that only names an instrument, which the next may speak of
    spoken: list[tuple[list[str], list[Reading]]] = []  # each clause's words and readings
    for k, clause in enumerate(clauses):
        tokens = [t for t in re.split(r"[\s\-]+", clause) if t]
        if k == 0 and len(clauses) > 1 and tokens[:2] == ["not", "the"] and len(tokens) <= 4:
            continue  # "not the piano, the guitar should go": which one was meant, not a removal
        if (k > 0 and tokens[:2] == ["not", "the"] and len(tokens) <= 4 and out.items
                and out.items[-1].value in ("none", "less", "off")):
            continue  # "cut the sitar, not the drums": the removal's exception, not a second one
        consequence = k > 0 and tokens[:1] == ["so"] and len(tokens) > 1
        if consequence:
            tokens = tokens[1:]  # "it's for a party, so cheerful please": "so" opens a consequence, not "too"
        tokens = _elliptical_lift(tokens, next((said for _, said in reversed(spoken) if said), said_before or []))
        also_fine = bool(spoken) and bool(spoken[-1][1]) and all(r.value == "lift" for r in spoken[-1][1]) and bool(
            _ALSO & set(tokens))  # "guitar's allowed back in; and rock is fine too": released as well
        if (k > 0 and tokens[:2] in (["they", "are"], ["those", "are"], ["they", "sound"], ["they", "feel"],
                                     ["they", "could"], ["they", "should"])
                and out.last_mention is not None and out.last_mention.key.startswith("instrument.")):
            # "I don't mind the drums, but they're a bit loud": "they" are the instrument just named
            tokens = [out.last_mention.key.split(".", 1)[1], *tokens[1:]]
        tokens = _turned_down(tokens, out.last_mention, out.items[-1] if out.items else None)
        if (k > 0 and tokens[:2] in _MODAL_BE and out.last_mention is not None
                and out.last_mention.key.startswith("instrument.") and _LOUDNESS.intersection(tokens)):
            # "the piano is lovely but could be a little quieter": the instrument just named is the subject
            tokens = [out.last_mention.key.split(".", 1)[1], *tokens]
        elif (k > 0 and 0 < len(tokens) <= 4 and tokens[0] in _DEGREE_OPENERS and out.last_mention is not None
              and out.last_mention.key.startswith("instrument.")
              and (PREDICATE_LESS | _LOUDNESS).intersection(tokens[1:])
              and not any(_quality_of_the_track(token) and token not in _LOUDNESS for token in tokens)
              and not any(item.mention is not None and item.mention.key.startswith(("instrument.", "vocals"))
                          for item in _scan(tokens))):  # "no percussion, but a heavy beat" names its own
            # "the flute is nice but a bit shrill": a complaint with no subject is about the instrument just named
            tokens = [out.last_mention.key.split(".", 1)[1], "is", *tokens]
        elif (k > 0 and tokens[:1] == ["its"] and out.last_mention is not None
              and out.last_mention.key.startswith("instrument.") and len(tokens) <= 5
              and (_LOUDNESS | _PRESENCE_WORDS).intersection(tokens[1:])
              and not any(item.mention is not None and item.mention.key.startswith(("instrument.", "vocals"))
                          for item in _scan(tokens))):
            # "the sitar is lovely but it's way too prominent": "it" is the instrument just named
            tokens = [out.last_mention.key.split(".", 1)[1], "is", *tokens[1:]]
        elif k > 0 and tokens and tokens[0] in _DEGREE_OPENERS and _describes_after_praise(tokens, clauses[k - 1]):
            # "nice, but a bit slow": after praise, a degree and a plain quality describe the pick (a complaint)
            tokens = ["it", "is", *tokens]
        elif _hedged_quality(tokens):
            # "kinda depressing tbh": the pick described with a hedge, a complaint
            tokens = ["it", "is", *(t for t in tokens if t not in _CHAT_AFTERTHOUGHTS)]
        scanned = _scan(tokens)
        if (k > 0 and _FILMING.search(clauses[k - 1])
                and not any(item.kind == "cue" and item.cue not in ("slight", "strong") for item in scanned)
                and (tokens[:1] == ["its"] or all(item.kind == "cue" or (item.mention is not None
                                                                          and item.mention.key.startswith("mood."))
                                                  for item in scanned))):
            continue  # "I film my koi pond, it's all very peaceful": what the video is
        if k > 0 and tokens[:1] == ["not"] and _LIKING.search(clauses[k - 1]):
            tokens = ["less", *tokens[1:]]  # "I love the guitar but not the drums": the drums are liked less
        if tokens:
            before = len(out.items)
            _read_clause(tokens, out, praise_free=k > last_praise)
            said = out.items[before:]
            if subject is not None and any(reading.key == subject.key for reading in said):
                # "the drums - way too loud": the first clause only named them
                out.items = [r for r in out.items if r is not subject]
                subject = None
            reasons = [r for r in said if r.described and any(o.key == r.key and o.value != r.value
                                                                  for o in out.items[:before])
                       and (not r.key.startswith(("instrument.", "vocals")) or _gives_a_reason(tokens))]
            if reasons and _gives_a_reason(tokens):
                reasons = [r for r in said if r.described]  # the clause is the reason: see `_drop_reasons`
            # "without the choir; the chanting feels churchy": a reason, no ask
            out.items = [r for r in out.items if not any(r is reason for reason in reasons)]
            said = [r for r in said if not any(r is reason for reason in reasons)]
            if consequence and spoken:
                # "comms signed off on the lyrics, so singing is allowed again": what the consequence asks of an
                # attribute stands over what its cause said of it
                changed = {(r.key, r.value) for r in said}
                overruled = [r for r in spoken[-1][1] if r.key in {key for key, _ in changed}
                             and (r.key, r.value) not in changed]
                out.items = [r for r in out.items if not any(r is gone for gone in overruled)]
            if said or subject is None:  # "Metal?? For an onboarding video? No metal": named, then complained of
                subject = said[0] if (len(said) == 1 and said[0].value in ("more", "on")
                                      and set(tokens[1:] if tokens[0] in ("and", "but", "so", "oh") else tokens)
                                      - _ARTICLES == set(said[0].words.split())) else None
            if also_fine:
                for reading in said:
                    if reading.value == "fine":
                        reading.value = "lift"
            spoken.append((tokens, said))
    _drop_reasons(spoken, out)
    _loudness_of_the_next_instrument(spoken, out)
    return out


def _loudness_of_the_next_instrument(spoken: list[tuple[list[str], list[Reading]]], out: Readings) -> None:
    """"Heaps too loud, the drums are drowning out my voiceover": a loudness said with no subject, right before
    a clause that turns an instrument down, is that instrument's (and how much)."""
    for (tokens, said), (_, after) in itertools.pairwise(spoken):
        quieter = [r for r in after if r.key.startswith("instrument.") and r.value == "less"]
        if (not said or not quieter or any(r.key != "mood.energetic" or r.value != "less" for r in said)
                or not {"loud", "noisy", "louder"} & set(tokens) or set(tokens) & _PICK_WORDS - {"the", "all"}):
            continue
        for reading in quieter:
            if reading.intensity == "normal":
                reading.intensity = said[0].intensity
        out.items = [r for r in out.items if not any(r is gone for gone in said)]


_ALSO = frozenset({"too", "also", "as well"})


def _elliptical_lift(tokens: list[str], before: list[Reading]) -> list[str]:
    """"electronic is ok again, and singing too": a bare mention with "too" after a release is released too."""
    core = [t for t in tokens if t not in ("and", "too", "also", "well", "as", "i", "guess", "think", "suppose",
                                           "maybe", "probably", "yeah", "oh") and t not in _ARTICLES]
    if (not before or any(reading.value not in ("lift", "restore") for reading in before) or not core
            or not (tokens[-1] in _ALSO or tokens[-2:] == ["as", "well"])):
        return tokens
    items = _scan(core)
    if len(items) != 1 or items[0].kind != "mention":
        return tokens
    return [*core, "is", "fine", "again"]


def _drop_reasons(spoken: list[tuple[list[str], list[Reading]]], out: Readings) -> None:
    """A clause that says something of what another clause asks the other way, naming it with no cue, gives
    the reason for the ask ("the flute makes the flythrough feel like a nature doc - can I get one without any
    flute?", "no piano please, that's three piano tracks in a row"); the rest of that clause is the same reason
    ("without strings, the violins are making it syrupy" asks nothing of the mood). A clause with no verb is an
    ask of its own ("no guitar, guitar solo please" contradicts itself)."""
    for k, (tokens, said) in enumerate(spoken):
        asked_elsewhere = {(r.key, r.value) for _, other in spoken[:k] + spoken[k + 1:] for r in other
                           if not r.described}
        if not _gives_a_reason(tokens):
            continue
        if any(r.described and (r.key, r.value) not in asked_elsewhere
               and any(key == r.key for key, _ in asked_elsewhere) for r in said):
            out.items = [r for r in out.items if not (r.described and any(r is s for s in said))]


# ------------------------------------------------------------------ readings → request (or a conflict)
def _said(reading: str, words: str) -> str:
    """'faster' when the words were just that, else 'faster ("pick up the pace")'."""
    return reading if words in reading else f'{reading} ("{words}")'


def _conflict(attribute: str, first: str, second: str) -> RequestConflictError:
    return RequestConflictError(RequestConflict(attribute=attribute, first=first, second=second))


def _strongest(readings: list[Reading]) -> Intensity:
    levels = {r.intensity for r in readings}
    return "strong" if "strong" in levels else "slight" if "slight" in levels else "normal"


_COMPATIBLE_AMOUNTS = ({"none", "less"},)


def _combine_change(key: str, readings: list[Reading]) -> Change:
    values = {r.value for r in readings}
    if len(values) > 1 and values not in _COMPATIBLE_AMOUNTS:
        first, second = readings[0], next(r for r in readings if r.value != readings[0].value)
        name = key.split(".", 1)[1]
        label = {"more": "more", "less": "less", "none": "no"}
        raise _conflict(key, _said(f"{label[first.value]} {name}", first.words),
                        _said(f"{label[second.value]} {name}", second.words))
    direction: Amount = "none" if "none" in values else readings[0].value  # type: ignore[assignment]
    return Change(direction=direction, intensity=_strongest(readings) if direction != "none" else "normal")


def _combine_vocals(readings: list[Reading]) -> VocalsChoice:
    values = {r.value for r in readings}
    if "off" in values and len(values) > 1:
        other = next(r for r in readings if r.value != "off")
        off = next(r for r in readings if r.value == "off")
        raise _conflict("vocals", _said("no vocals", off.words), _said(f"{other.value} vocals", other.words))
    if {"male", "female"} <= values:
        return "on"
    for gendered in ("male", "female"):
        if gendered in values:
            return gendered
    return readings[0].value  # type: ignore[return-value]


def _bound(values: list[tuple[float, str]], highest: bool) -> tuple[float, str] | None:
    """The binding bound: the highest of the lower bounds, the lowest of the upper ones."""
    if not values:
        return None
    return max(values, key=lambda v: v[0]) if highest else min(values, key=lambda v: v[0])


def _tempo(readings: list[Reading], found: Readings) -> TempoRequest | None:
    directions = {r.value for r in readings}
    if len(directions) > 1:
        faster = next(r for r in readings if r.value == "faster")
        slower = next(r for r in readings if r.value == "slower")
        raise _conflict("tempo", _said("faster", faster.words), _said("slower", slower.words))
    low, high = _bound(found.min_bpm, True), _bound(found.max_bpm, False)
    if low is not None and high is not None and low[0] > high[0]:
        raise _conflict("tempo", _said(f"at least {low[0]:g} BPM", low[1]), _said(f"at most {high[0]:g} BPM", high[1]))
    if not readings and low is None and high is None:
        return None
    return TempoRequest(direction=readings[0].value if readings else None,
                        intensity=_strongest(readings) if readings else "normal",
                        min_bpm=low[0] if low else None, max_bpm=high[0] if high else None)


def parse_utterance(text: str) -> UnderstoodRequest:
    """This utterance alone, typed. Raises `RequestConflictError` when it contradicts itself."""
    request, _, _ = read_request(text)
    return request


_DRAGGING = frozenset({"dragging on", "drags on", "drag on"})


def read_request(text: str) -> tuple[UnderstoodRequest, list[str], list[str]]:
    """This utterance alone, typed; the attributes it calls acceptable ("vocals are fine"): praise of the
    current pick, or a release of what the conversation removed; and those it brings back ("bring the drums
    back"), lifted here: a release of what the conversation removed, or a wish for them again. Only the
    conversation can tell (`understand`)."""
    found = read(text)
    by_key: dict[str, list[Reading]] = {}
    lifted: list[str] = list(ATTRIBUTE_KEYS) if found.reset else []
    acceptable: list[str] = []
    restored: list[str] = []
    kept: list[Reading] = []
    if any(r.key == "tempo" and r.words not in _DRAGGING for r in found.items):
        # "much faster, this drags on forever": beside a tempo ask, dragging is the tempo's, not the length's
        found.items = [r for r in found.items if not (r.key == "duration" and r.words in _DRAGGING)]
    explicit = {r.key for r in found.items if not r.implicit}
    asked = {(r.key, r.value) for r in found.items if not r.moderation}
    # "not too fast and not too slow": moderations both ways, and no ask, keep the attribute where it is
    moderated_both_ways = {key for key in {r.key for r in found.items if r.moderation}
                           if len({r.value for r in found.items if r.key == key and r.moderation}) > 1
                           and not any(k == key for k, _ in asked)}
    for reading in found.items:
        if reading.key in moderated_both_ways:
            continue
        if reading.implicit and reading.key in explicit:
            agreeing = [r for r in found.items if r.key == reading.key and not r.implicit and r.value == reading.value]
            if agreeing and all(r.intensity == "normal" for r in agreeing):
                for other in agreeing:  # "the music is very much fast. More slow.": the complaint says how much
                    other.intensity = reading.intensity
            continue
        if reading.moderation and any(key == reading.key and value != reading.value for key, value in asked):
            for other in found.items:  # "upbeat, but not too fast": a slight move the asked way
                if other.key == reading.key and not other.moderation:
                    other.intensity = "slight"
            continue
        if reading.value == "keep":
            kept.append(reading)
        elif reading.value in ("lift", "restore"):
            lifted.append(reading.key)
            if reading.value == "restore":
                restored.append(reading.key)
        elif reading.value == "fine":
            acceptable.append(reading.key)
        else:
            by_key.setdefault(reading.key, []).append(reading)
    # "I don't mind the drums, but they're a bit loud": a change asked in the same words replaces the earlier
    # value anyway, so it stands instead of a bare release
    lifted = [key for key in lifted if key not in by_key or found.reset]
    for keep in kept:  # "no piano at all, but keep that piano melody"
        removal = next((r for r in by_key.get(keep.key, []) if r.value in ("none", "off")), None)
        if removal is not None:
            name = keep.key.split(".", 1)[-1]
            raise _conflict(keep.key, _said(f"no {name}", removal.words), _said(f"keep the {name}", keep.words))
    low, high = _bound(found.min_s, True), _bound(found.max_s, False)
    lengths = by_key.pop("duration", [])
    if low or high:  # a vague length word gives way to a bound: "keep it short: 40 seconds max"
        lengths = [r for r in lengths if re.search(r"er\b|\btoo\b", r.words)]
    if len({r.value for r in lengths}) > 1:
        shorter, longer = (next(r for r in lengths if r.value == v) for v in ("shorter", "longer"))
        raise _conflict("duration", _said("shorter", shorter.words), _said("longer", longer.words))
    if low is not None and high is not None and low[0] > high[0]:
        raise _conflict("duration", _said(f"at least {low[0]:g} s", low[1]), _said(f"at most {high[0]:g} s", high[1]))
    changes: dict[str, dict[str, Change]] = {"instrument": {}, "genre": {}, "mood": {}}
    for key, readings in by_key.items():
        if "." in key:
            kind, name = key.split(".", 1)
            changes[kind][name] = _combine_change(key, readings)
    set_keys = (set(by_key) | ({"duration"} if low or high or lengths else set())
                | ({"licence"} if found.licences else set()))
    if found.min_bpm or found.max_bpm:
        set_keys.add("tempo")
    request = UnderstoodRequest(
        tempo=_tempo(by_key.get("tempo", []), found),
        vocals=_combine_vocals(by_key["vocals"]) if "vocals" in by_key else None,
        instruments=changes["instrument"], genres=changes["genre"], moods=changes["mood"],
        duration_direction=lengths[0].value if lengths else None,
        min_duration_s=low[0] if low else None, max_duration_s=high[0] if high else None,
        licences=sorted(set(found.licences)), something_else=found.something_else,
        lifted=sorted(set(lifted) - set_keys))
    return request, sorted(set(acceptable) - set(by_key)), sorted(set(restored) & set(request.lifted))
