"""Request understanding: intent accuracy on the wording banks, against the previous rule parser, in one run.

    .venv/bin/python benchmarks/understanding_bench.py [--out docs/benchmarks]

Writes docs/benchmarks/understanding.{json,md}. Intent accuracy = exact match of the whole typed request
(every attribute, direction, intensity, bound, lift; a contradiction must name its attribute). The
baseline is the parser the gateway used before (gateway/constraints.py at 9334ce7, copied below): it only
produced hard filters, so both are also scored on that projection (instrumental-only, instrument
removals, duration bounds), where the baseline is on its own ground. Time per utterance is the median of
`--repeats` passes over every sentence, both parsers in the same process; peak RSS beside it.
"""

from __future__ import annotations

import argparse
import contextlib
import re
import statistics
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any

from report import environment, fmt, loadavg, peak_rss_mb, table, write_json, write_markdown

from musechat.understanding.banks import BANKS, LATER_HELDOUT, accuracy, load_bank, reading, sentence_overlap
from musechat.understanding.errors import RequestConflictError
from musechat.understanding.rules import parse_utterance

# ------------------------------------------------------------------ the baseline (gateway/constraints.py @ 9334ce7)
_LEGACY_INSTRUMENTS = {"drums": "drums", "piano": "piano", "guitar": "guitar", "violin": "strings",
                       "strings": "strings", "synth": "synth"}
_NUMBER_WORDS = {"a": 1, "an": 1, "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "ten": 10,
                 "half a": 0.5, "thirty": 30, "twenty": 20, "forty": 40, "fifty": 50, "sixty": 60, "ninety": 90}
_NO_VOCALS = re.compile(
    r"\b(no|without|zero|drop the|lose the|remove the|get rid of the|less)\s+"
    r"(vocals?|voices?|singing|singers?|lyrics)\b"
    r"|\binstrumental\b|\bno one singing\b|\bnobody singing\b", re.I)
_NO_INSTRUMENT = re.compile(
    r"\b(?:no|without|drop the|lose the|remove the)\s+(drums|piano|guitar|violin|strings|synth)\b", re.I)
_AMOUNT = r"(\d+(?:\.\d+)?|a|an|one|two|three|four|five|ten|twenty|thirty|forty|fifty|sixty|ninety|half a)"
_UNIT = r"(seconds?|secs?|s|minutes?|mins?|m)\b"
_MAX = re.compile(rf"\b(?:under|below|less than|shorter than|at most|no longer than|max(?:imum)?(?: of)?|within)\s+"
                  rf"{_AMOUNT}\s*{_UNIT}", re.I)
_MIN = re.compile(
    rf"(?<!no )\b(?:over|above|more than|longer than|at least|min(?:imum)?(?: of)?)\s+{_AMOUNT}\s*{_UNIT}", re.I)


def _seconds(amount: str, unit: str) -> float:
    value = _NUMBER_WORDS.get(amount.lower())
    number = float(amount) if value is None else float(value)
    return number * 60 if unit.lower().startswith("m") else number


def legacy_hard_view(text: str) -> dict[str, Any]:
    max_match, min_match = _MAX.search(text), _MIN.search(text)
    return {"vocals_off": bool(_NO_VOCALS.search(text)),
            "removed": sorted({_LEGACY_INSTRUMENTS[m.group(1).lower()] for m in _NO_INSTRUMENT.finditer(text)}),
            "min_s": _seconds(*min_match.groups()) if min_match else None,
            "max_s": _seconds(*max_match.groups()) if max_match else None}


def hard_view(flat: dict[str, Any]) -> dict[str, Any]:
    """The hard-filter projection of a bank label (or of a reading)."""
    return {"vocals_off": flat.get("vocals") == "off",
            "removed": sorted(k.split(".")[1] for k, v in flat.items()
                              if k.startswith("instrument.") and k.count(".") == 1 and v == "none"),
            "min_s": flat.get("duration.min_s"), "max_s": flat.get("duration.max_s")}


HISTORY = (
    "the same engineer wrote the test bank (committed first, before any parser code: 64abc92) and the lexicon, "
    "so the lexicon's author had read the test sentences. Measurements on `test`: 142/149 = 95.3 % before any "
    "tuning on `val`; 148/149 = 99.3 % after it (three of those fixes also touched test constructions: "
    "apostrophe-less contractions, \"anything but\", \"nobody\"). That run's one miss, \"no singing and under a "
    "minute\" read as a minimum duration without the vocals removal, was a real bug (it also made 16 of the serving "
    "run's hard-negative violations); it was fixed after being seen on `test`, so the figure above is no longer a "
    "clean held-out one: 99.3 % is. No model serves: the classifier route of issue #12 was built later "
    "(2026-12-07: a slot classifier on the text model's token states, fit on `train` + `val`) and measured clean "
    "on every held-out bank at 52.5-58.8 % pooled over test4-test20 against the rules' first scores' 85.0 % "
    "(docs/benchmarks/understanding_learned.md), so `train` serves the rules as a regression set. "
    "Later held-out banks (2026-12-06): a later session wrote `test2` and "
    "committed it before changing the reader, scored it (73/79: negation carried over \"and\" flipped a "
    "following \"speed it up\" / \"a slower tempo\", \"X doesn't matter\" lifted nothing, \"a notch\" and "
    "\"way too\" after a copula lost their intensity), then wrote and committed `test3` (40 sentences) unscored. "
    "It fixed those constructions on `val` (25 new sentences of its own: swaps, \"instead of\", negated limits, "
    "carried negation, lifts after the attribute) and scored `test3` after; a second round of its own probes "
    "added 25 more `val` sentences (comparatives after a modal: \"could the drums be a little quieter\", \"a "
    "soft piano\" as a piano asked for, \"maybe 3 minutes\", \"the female singer doesn't fit\", \"happy with\" as a "
    "mood), after which `test3` was scored again. Four "
    "sentences later found word for word in an earlier bank were dropped (two from each), leaving 77 and 38. "
    "The reader before the change (commit c505076, measured afterwards on the banks as committed) scores "
    "71/77 = 92.2 % on `test2` and 34/38 = 89.5 % on `test3`; after it, the figures in the table. `test2`'s "
    "misses were seen before the fix, so its figure after is not a clean one; `test3`'s is. A third session "
    "(2026-12-07) wrote `test4` (64 sentences in voices the earlier banks lack: terse chat, formal briefs, "
    "non-native phrasing, typos) and committed it (f5fd9ad) before scoring it: 59/64 = 92.2 %. Its misses were "
    "\"abit faster\" (no intensity), \"a minute and a half at minimum\" (nothing read), \"nah, next\" (no "
    "request for another pick), \"neither rock nor metal\" (read as more of both) and \"less piano, a lot "
    "less\" (no intensity). Those constructions were then fixed on `val`, with 299 new sentences from five "
    "rounds of its own probes (9 of them on a shorter or longer track, a new attribute), each round scored before its "
    "fixes (rounds 3 and 4 scored 84 % and 72 %: comparisons "
    "\"more guitar than piano\", \"the vocals distract from\", terse and non-native wording \"drums: less\", "
    "\"make piano more loud\", \"bpm > 120\", \"with out drums\", a tempo word describing the pick \"this "
    "music is very fast, I need more slow\"); rounds 1 and 2: chat spellings and stretched letters, bounds after "
    "the amount, \"exceed\", \"120+ bpm\", \"and a half minutes\", a BPM named before its number, "
    "\"neither/nor\", \"turn off\", \"bring down\", praise of what is playing, a clause that only says how "
    "much; round 5 (82 %): a description of the pick with a degree is a complaint (\"it's a bit slow\" = a bit "
    "faster, unless the words praise it), \"can the guitar go?\", \"stay away from\", \"not enough piano\", "
    "\"no preference on\". One `test` sentence, \"keep it short: 40 seconds max\", was seen to gain a "
    "shorter-track reading when that attribute was added; a vague length word now gives way to a bound. So "
    "`test4`'s figure after is not a clean one either: 92.2 % is. The same session then wrote `test5` (60 "
    "sentences), committed it, ran one more probe round (87 % before its fixes: spelled tempi, \"a stronger beat\", "
    "\"more of that\"), froze the reader (23ee4e7) and scored `test5` once: 55/60 = 91.7 %, the clean figure "
    "for that reader (misses: \"the singer ruins it\", \"acoustic\" as guitar, \"hmm, not quite. another?\", "
    "\"way more energy and drums\" giving the degree to the first only, and one label choice: \"a bit lost in "
    "the mix\" read as slightly more, labelled plain more). It then wrote and committed `test6` (60 sentences, "
    "personas), fixed `test5`'s constructions and ran round 7 (75 %: \"upbeat, but not too fast\" was a 422, now "
    "slightly faster; \"the drums make it feel cheap\"; \"drums? no.\"), froze the reader again (8cab670) and "
    "scored `test6` once: 54/60 = 90.0 %, the clean figure for that reader (misses: \"first dance\" read as the "
    "dance genre, a degree carried to the next cue in \"a bit less corporate-sounding and more indie rock\", slang "
    "praise \"the drums slap\", \"make it go harder\", \"you can ignore the tempo now\", \"a version without "
    "vocals would be great\" read as vocals wanted). Those were fixed after, so `test5` and `test6` are not clean "
    "either now. A last bank, `test7` (60 sentences), was committed and scored on the reader of f6d9628: 51/60 = "
    "85.0 %, the clean figure for that reader; 4 of its 9 misses asked the opposite way or another attribute "
    "(\"less gloomy and a bit quicker\" read slower: a carried \"less\" overrode a comparative; \"the guitar "
    "isn't\" after \"the tempo's alright\" read more guitar; \"take away the flute\" and \"make the vocals less "
    "prominent\" read as more), the rest read nothing (\"minimum length 90 seconds\", \"any length works "
    "now\", \"put some life into it\", \"sounds like a film score\", left unfixed to keep an earlier bank's "
    "label) or misread a lift (\"drop the bpm requirement\" as slower). After those fixes `test8` (60 "
    "sentences) was committed and scored (6c4b1e4): 49/60 = 81.7 %, clean; its worst miss, \"I don't want "
    "anything longer than 2 minutes\", read a minimum (a negated want before a bound), and \"the guitar is "
    "nice but too loud\" read as a quieter mood; it also missed \"build up slowly\" (read slower), \"the "
    "singer sounds off\", a degree right after its ask (\"speed up a little and add vocals\") or carried "
    "between comparatives (\"much slower and softer\"), \"vocals no longer matter\", \"more groove\", \"half "
    "the length\", \"under three minutes, over one\" (left: the unit is only implied) and one label choice "
    "(\"loud and quiet\" labelled a conflict; the reader keeps the two moods). Those were fixed after. `test9` "
    "(60 sentences, longer messages and form-like answers; 651432a) then scored 53/60 = 88.3 %, clean: \"so "
    "definitely something fun\" read as less happy (\"so\" taken as \"too\"), \"I don't think the choir "
    "works here\" as more choir, \"a male vocalist over a female one\" as any voice, and it missed \"cut the "
    "length in half\" and \"a bit on the long side\"; two more are label choices (\"the energy dips too much\" "
    "read as more energy, labelled nothing; \"let the drums breathe, fewer fills\"). Those were fixed after. "
    "Last, `test10` (60 sentences written to probe negation scope: corrections \"slower, not faster\", double "
    "negatives, exclusions, relative clauses; 96f303a) scored 39/60 = 65.0 %, clean. Several misses asked the "
    "opposite way: \"any genre other than country\" (more country), \"I wouldn't say no to some guitar\" (no "
    "guitar), \"not without vocals\" (no vocals), \"no slower than 90 bpm\" (a maximum), \"I never said no "
    "drums\" (no drums), \"without losing the piano\" (no piano). Those and a few more were fixed, to 50/60 = "
    "83.3 %; the rest need a real parse of the sentence (\"it's not that I hate the synth, just less of it\", "
    "\"less, not more, synth\", \"neither fast nor slow\" is a 422, \"no more than 3\" with its unit only "
    "implied) and stay misses: `test10` is the one bank below the 95 % bar after its fixes, and its unit test "
    "guards the level it reached (83 %, 85 % after later banks' fixes). A later session wrote `test11` (60 "
    "sentences: voice-to-text, editor's shorthand, "
    "complaints, lifts; 8fc706b) and scored it once on the reader as it stood: 54/60 = 90.0 %; five of its "
    "sentences turned out to repeat earlier banks word for word (all five read right) and were dropped, so the clean "
    "figure on its 55 new sentences is 49/55 = 89.1 %. Its misses: \"the strings are drowning everything out\" "
    "and \"why is there a guitar, I said none\" read as more (a complaint verb and a complaining question the "
    "lexicon lacked), \"it's a kids' birthday video, so cheerful please\" as less happy (\"so\" opening a clause "
    "taken as \"too\"), \"drop the tempo to about 80\" as only slower, and \"too sleepy\", \"cheer it up a "
    "little\" read nothing. Those were fixed after. `test12` (60 sentences: briefs, questions, avoidances, clock-style "
    "lengths; checked for repeats of earlier banks before it was scored; 3e00048) then scored 49/60 = 81.7 % as "
    "labelled, clean; two of its labels contradicted earlier banks' labels for the same construction (`test4`'s "
    "\"kinda annoying\" plain, `test7`'s \"would be epic\" with more energy) and were set to those, which the reader "
    "already read: 51/60 = 85.0 %. Four misses asked the opposite way: \"the synth not so much\", \"dial the energy "
    "way back\", \"spare me the guitar solos\" and \"I keep hearing synth, I don't want any\" all read as more; "
    "others: \"at 90 bpm or below\" read as around 90, \"we can have drums again\" as more drums, \"less intense "
    "drums\" also as less energy, \"pace it up a bit\" and \"another suggestion?\" as nothing. Those were fixed "
    "after. `test13` (60 sentences: support-desk politeness, non-native and Gen Z wording, formal briefs, slashes; "
    "77b229d) scored 51/60 = 85.0 %, clean. Two misses were 422s on plain requests: \"more strings and a slower "
    "tempo\" (the \"more\" reached \"tempo\" after \"slower\") and \"vocals or no vocals, doesn't matter\"; two "
    "asked the opposite way: \"the strings feel out of place\" (a three-word predicate never looked up) and \"the "
    "singer's voice isn't doing it for me\"; \"not a huge fan of the strings\" read as none; \"kinda mid, next\", "
    "\"length: whatever works\", \"tempo's no longer an issue\" and \"less of a lullaby\" read nothing. Those were "
    "fixed after. `test14` (60 sentences: scene descriptions, instrument variants, avoidance idioms, degree words; "
    "3f6e655) scored 50/60 = 83.3 %, clean: \"hold the vocals\" read as vocals wanted and \"scratch the no-guitar "
    "thing\" as no guitar (both the opposite way), \"with and without vocals\" as no vocals instead of a 422; "
    "\"tons more\" and \"a whole lot\" lost their degree; \"surprise me\", \"hmm no\", \"somewhere in the 120s "
    "bpm\", \"without paying royalties\" and \"I've changed my mind, drums are fine\" read nothing. Those were "
    "fixed after. `test15` (60 sentences: long briefs, emoji and shouting, typos, conditionals, bounds; e5f30be) "
    "scored 54/60 = 90.0 % as labelled, clean; one label (\"this one is too long, I need under a minute\" as the "
    "bound alone) contradicts the reader's documented design, which keeps a complaint's direction beside a bound, "
    "and was set to it: 55/60 = 91.7 %. Misses: \"I'd rather have a guitar than a piano\" read more piano, \"I "
    "love the guitar but not the drums\" no drums (labelled less), \"it's for a 30-second ad\", \"fine, any "
    "length\" and \"next one, thx\" read nothing. Those were fixed after. `test16` (60 sentences: British idiom, "
    "instruments outside the vocabulary, feelings, scene talk; 245ae2b) scored 47/60 = 78.3 % as labelled, clean; two "
    "labels contradicted the lexicon's and `test9`'s conventions (a harp is strings; \"electronic beats\" are "
    "drums too) and were set to them: 49/60 = 81.7 %. \"this feels heavy and sad, I want hopeful\" read more sad "
    "(the opposite way), \"I don't mind the drums, but they're a bit loud\" read more energy and released the "
    "drums; \"make people smile\", \"a proper beat\", \"over a minute and under two\" (the unit only implied), "
    "\"tempo no higher than 95\", \"nah, not it\", \"meh\" read nothing, \"a minimum of 120 bpm\" as around "
    "120, and \"just a hint of\", \"up to eleven\" lost their degree. Those were fixed after (and with them "
    "`test8`'s \"under three minutes, over one\" and one more `test10` sentence). `test17` (60 sentences written, "
    "like `test10`, to probe negation scope: corrections, negated wants and comparatives, exclusions, moderations; "
    "d228da2) scored 41/60 = 68.3 %, clean, against `test10`'s 65.0 %: negation scope is still the reader's weak "
    "spot. Opposite readings: \"I didn't say more drums, I said fewer\" (none), \"the piano shouldn't be so "
    "prominent\", \"hardly any piano\", \"scarcely any synth\", \"enough with the country music\", \"I'm done with "
    "sad music\" and \"not quite as energetic\" (all more), \"I'm not against vocals\" (no vocals); 422s on \"not "
    "too fast and not too slow\" and \"no vocals? no, I want vocals\". One label (\"nope, no flute\" without the "
    "\"something else\" that the reader's documented \"nope\" gives) was set to the design: 42/60 = 70.0 %. Those "
    "were fixed after, except \"without the drums it would feel empty, keep them\" (a counterfactual). The bank "
    "overlap check now compares sentences as written (case, symbols and spacing ignored), not after the reader's "
    "rewrites, which make different wordings of one ask alike. `test18` (60 everyday requests; a9962c9) then scored "
    "53/60 = 88.3 %, clean: \"the synth lead is annoying\" read more synth (a part named between the instrument and "
    "its complaint), \"a bit more punch in the drums\" also more energy, \"tone down the brightness\", \"nothing "
    "clubby\" and \"not really what I had in mind\" read nothing, \"twice as fast\" lost its degree, and \"shorter, "
    "it drags\" also read faster (left: \"drags\" is tempo talk elsewhere). Those were fixed after. `test19` (60 "
    "sentences: chat abbreviations, mix talk, scenes; e3c52c1) scored 52/60 = 86.7 %, clean; four asked the opposite "
    "way (\"push the strings back a little\", \"the piano could be more subtle\", \"more subtle drums\" read more, "
    "and \"the drums too loud\" with its copula left out), \"faster and at the same time slower\" was no 422, \"no "
    "autotune or rap vocals\" also removed vocals, \"a bit dreamier\" and \"nah this isn't it\" read nothing. Those "
    "were fixed after. `test20` (60 sentences: channel briefs, mix talk, self-corrections; 8896345) scored 51/60 = "
    "85.0 % as labelled, clean; one label was my own slip (a \"start over\" list that left out the piano) and two "
    "self-corrections (\"slower... no wait, faster\") were labelled as corrections where `test`'s and `test8`'s "
    "labels make them a 422; set to those: 54/60 = 90.0 %. \"the tempo is too slow for a workout video\" read "
    "slower and \"rid it of the drums\" more drums (the opposite way), \"the drums are perfect, don't change them\" "
    "removed the drums (a negated back-reference without a want), and \"I don't like this one at all\", \"the bpm "
    "should be around 95\", \"more of a soundtrack vibe\" read nothing. Those were fixed after; \"film score\" now "
    "reads as orchestral, as `test7` labels it, which `test2`'s \"more strings, like a film score\" (labelled strings "
    "alone) now misses. Fuzzing found numbers no track can have (\"between 2 and 3 bpm\", \"about 0 seconds\") "
    "raising a validation error; they now read nothing. `test21` (61 sentences: briefs by use case, swaps, "
    "corrections, lifts, bounds; e4234be), committed before it was scored and before the learned reader "
    "(docs/benchmarks/understanding_learned.md) existed, scored 53/61 = 86.9 % as labelled, clean; one label was "
    "my own slip (\"I don't mind the drums, but ...\" lifts the drums, as `test`'s \"I'm not against vocals\" "
    "does): 54/61 = 88.5 %. \"I said no vocals, why is someone singing\" was a 422, \"the piano is lovely but "
    "could be a little quieter\" read calmer, \"swap the rock vibe for something jazzier\" kept the rock, \"it's "
    "okay to have vocals\" asked for vocals, \"not quite so speedy\" lost its degree, \"bouncier\" and \"it has "
    "to fit in 40 seconds\" read nothing. Those were fixed after. The learned reader scored 57.4 % on it. "
    "`test22` (60 sentences: briefs, moderations, corrections, lifts, bounds, licences; be00f17) then scored "
    "50/60 = 83.3 %, clean: \"the guitar's fine, the drums are the issue\" read more drums and \"not so heavy on the "
    "drums\" no drums; \"no need for it to be instrumental\" asked for vocals; \"the flute is nice but a bit "
    "shrill\", \"tone it down\", \"remove the 2 minute limit\", \"chipper\", \"a downer\" and \"sugary\" read "
    "nothing; \"we need the opposite: calm and slow\" also asked for another pick (left: a label choice). Those "
    "were fixed after. "
    "From `test23` on (2026-12-07), each bank was written by a helper that never opened the repository, the reader "
    "or any other bank, from a one-page label spec (src/musechat/understanding/banks/HELDOUT_SPEC.md), committed "
    "before it was scored, scored once, then fixed. First scores, in rounds (each on the reader the previous round's "
    "fixes left): test23 85.0 % and test24 80.0 %; test25 91.5 % and test26 80.0 % (81.7 % with its licence list "
    "in sorted order); test27 96.7 %, test28 88.3 %, test29 87.9 %; test30 100.0 %, test31 90.0 %, test32 93.3 %; "
    "test33 85.0 %, test34 85.0 %, test35 93.3 %; test36 88.3 %, test37 71.7 % (typos: the repair's limits), "
    "test38 94.9 %; test39 94.8 %, test40 93.3 %, test41 96.6 %; test42 94.6 %, test43 85.0 % (86.7 % with its "
    "lifted list sorted), test44 93.3 %; test45 96.7 %, test46 81.7 % (English as a second language), test47 "
    "91.7 %; test48 96.4 %, test49 96.6 %, test50 91.2 %; test51 98.2 %, test52 100.0 %, test53 91.2 % (93.0 % "
    "with its licence list sorted); test54 94.5 %, test55 93.1 %, test56 98.3 %; test57 94.2 % (96.2 % with its "
    "licence list sorted), test58 100.0 %, test59 88.9 %. Pooled per round: 82.5, 85.7, 91.0, 94.3, 87.8, 84.9, "
    "94.9, 90.9, 90.0, 94.7, 96.4, 95.3 and 94.3 %; over all 39 banks 1,962 of 2,150 = 91.3 %; the last four "
    "rounds, random samples of chat logs (667 sentences), 635 = 95.2 %. Then (2026-12-07, a later session) sixteen "
    "more rounds of three (test60-test107, 2,729 sentences after repeats were dropped): first scores per round 91.5, "
    "91.4, 92.1, 90.8, 93.0, 90.9, 95.8, 90.5, 91.7, 90.5, 86.3, 87.7, 87.3, 93.5, 91.8 and 82.9 %, 2,469 = 90.5 % "
    "pooled; each round had one bank of typical traffic (a uniform sample of a product's logs: test73, 76, 79, 81, 84, "
    "87, 90, 93, 96, 99, 102, 105), which read 588 of 607 = 96.9 % on first score, and two of specific communities or "
    "hard forms (second-language English 87.9-93.2 %, sarcasm 81.7 %, negation scope 68.3 %, long multi-sentence "
    "messages 68.3-90.0 %, self-corrections 65.0 %). Over all 87 independent banks (test23-test107): 4,431 of 4,879 "
    "= 90.8 %. Then (2026-12-08, a later session) fourteen more rounds of three (test108-test149, 2,409 sentences): "
    "first scores per round 83.1, 87.6, 95.3, 95.2, 95.4, 91.5, 96.5, 87.0, 91.2, 86.9, 84.6, 96.1, 86.9 and 96.0 %, "
    "2,191 = 91.0 % pooled; the fourteen banks of typical traffic (test108, 111, ..., 147) read 730 of 749 = 97.5 %, "
    "the hard forms lower (long messages and pasted briefs 68.3-76.7 %, self-corrections 73.3-81.7 %, negation scope "
    "71.2-79.3 %, sarcasm 77.6-90.9 %). Over all 129 independent banks (test23-test149): 6,622 of 7,288 = 90.9 %; "
    "over their 26 banks of typical traffic 1,318 of 1,356 = 97.2 %. Four of the writers' "
    "conventions were adopted and earlier rows relabelled: a self-correction replaces what came before it (it was "
    "a 422; 5 rows), a plain quality on an instrument also sets the mood (\"a gentle piano piece\" is calm; 2 "
    "rows), \"nope\" is \"something else\" only when nothing else is asked (1 row), and what is brought back "
    "(\"bring back the piano\") reads as a release, which the conversation turns into a wish where nothing removed "
    "it (4 rows). "
    "Across the seven "
    "banks scored before "
    "their fixes by this session "
    "(test4-test10), fresh wording from the reader's own author scores 65-92 % (92.2, 91.7, 90.0, 85.0, 81.7, "
    "88.3, 65.0; the last written to be hard; "
    "then 89.1, 85.0, 85.0, 83.3, 91.7, 81.7, 70.0, 88.3, 86.7, 90.0, 88.5 and 83.3 for test11-22, test17 written "
    "to be hard): "
    "below the "
    "issue's 95 % "
    "bar on truly new "
    "wording, and "
    "not rising with the fixes, since each new bank (written knowing what the reader already handles) brings "
    "idioms the lexicon lacks; every bank scores 100 % only after its misses were seen. Known misses left (not in "
    "any bank): "
    "\"les piano\" and \"no vocales\" (too short or a known word's plural for the typo repair), \"push the "
    "strings back\"."
)


def _median_us(fn: Any, texts: list[str], repeats: int) -> float:
    per_pass = []
    for _ in range(repeats):
        start = time.perf_counter()
        for text in texts:
            fn(text)
        per_pass.append((time.perf_counter() - start) / len(texts) * 1e6)
    return statistics.median(per_pass)


def _safe_parse(text: str) -> None:
    with contextlib.suppress(RequestConflictError):  # a normal outcome: the words contradict themselves
        parse_utterance(text)


# ------------------------------------------------------------------ the serving path: direction followed
CANDIDATES = [f"trk-{i}" for i in (0, 1, 3, 10, 22, 40, 57, 88)]
ROOT = Path(__file__).resolve().parents[1]  # the serving world is the tests' facts world (tests/ on the path)
MODES = ("fusion_only", "previous_rules", "understanding")


def _truth(track_id: str) -> dict[str, Any]:
    from tests.fixtures_understanding import track_spec

    instrument, voice, genre, bpm = track_spec(int(track_id.split("-")[1]))
    return {"instrument": instrument, "voice": voice, "genre": genre, "bpm": bpm}


def _asks(expect: dict[str, Any]) -> list[tuple[str, str, str]]:
    """(class, name, value) of each label the facts world can judge (its instruments, voices, genres, BPM)."""
    from tests.fixtures_understanding import GENRES, INSTRUMENTS

    out = []
    for key, value in expect.items():
        parts = key.split(".")
        if key == "tempo":
            out.append(("tempo", "tempo", value))
        elif key == "vocals":
            out.append(("vocals", "vocals", value))
        elif len(parts) == 2 and parts[0] == "instrument" and parts[1] in INSTRUMENTS:
            out.append(("instrument", parts[1], value))
        elif len(parts) == 2 and parts[0] == "genre" and parts[1] in GENRES:
            out.append(("genre", parts[1], value))
    return out


def _has(truth: dict[str, Any], kind: str, name: str) -> bool:
    if kind == "vocals":
        return truth["voice"] != "none" if name == "vocals" else truth["voice"] == name
    return bool(truth[kind] == name)


def _followed(kind: str, name: str, value: str, top: dict[str, Any], before: dict[str, Any]) -> bool:
    if kind == "tempo":
        return (top["bpm"] - before["bpm"]) * (1 if value == "faster" else -1) > 0
    if kind == "vocals":
        return _has(top, "vocals", "vocals") == (value != "off") if value in ("on", "off") else top["voice"] == value
    if value == "more":
        return _has(top, kind, name)
    if value == "none":
        return not _has(top, kind, name)
    return not _has(top, kind, name) or not _has(before, kind, name)  # less: it must not stay when it was there


def _violation(kind: str, name: str, value: str, tracks: list[dict[str, Any]]) -> bool:
    if value == "off":
        return any(_has(t, "vocals", "vocals") for t in tracks)
    if value == "none":
        return any(_has(t, kind, name) for t in tracks)
    return False


LATENCY_TEXTS = ("faster, please", "no vocals, more piano", "something jazzier and a bit slower")


def _rank_latency(ranker: Any, words: Any, rounds: int = 60) -> dict[str, Any]:
    """One turn's ranking (query tower + engine search [+ pool re-ranking]) with and without the understood
    request, interleaved in one loop so both see the same load: median and p90 in ms."""
    from musechat.contracts.ranking import RankRequest
    from musechat.understanding import to_filters, understand

    plain: list[float] = []
    steered: list[float] = []
    for i in range(rounds):
        candidate = CANDIDATES[i % len(CANDIDATES)]
        understood = understand(LATENCY_TEXTS[i % len(LATENCY_TEXTS)])
        for sink, request in ((plain, RankRequest(video_id="vid-a", candidate_track_id=candidate,
                                                  text_tokens=words(6), filters=to_filters(understood))),
                              (steered, RankRequest(video_id="vid-a", candidate_track_id=candidate,
                                                    text_tokens=words(6), filters=to_filters(understood),
                                                    understood=understood))):
            start = time.perf_counter()
            ranker.rank(request)
            sink.append((time.perf_counter() - start) * 1e3)

    def summary(values: list[float]) -> dict[str, float]:
        ordered = sorted(values)
        return {"median": statistics.median(ordered), "p90": ordered[int(0.9 * (len(ordered) - 1))]}

    return {"rounds": rounds, "filters_only": summary(plain), "filters_and_rerank": summary(steered),
            "median_ratio": statistics.median(steered) / statistics.median(plain)}


def serving(rows: list[dict[str, Any]]) -> dict[str, Any]:
    """Every judgeable ask of the held-out banks × 8 candidates × 2 videos, three ways in one run: the fusion
    model alone, the previous rules' filters, and understanding (filters + re-ranking). The world is the
    tests' facts world (90 tracks, random-weight fusion checkpoint): it measures the steering, not a
    trained model."""
    import tempfile

    from musechat.contracts.api import TrackFilters
    from musechat.contracts.ranking import RankRequest
    from musechat.gateway.constraints import merge_filters
    from musechat.ranker.core import FusionRanker
    from musechat.store.edge import EdgeStore
    from musechat.understanding import RequestConflictError, to_filters, understand
    from tests.fixtures_understanding import TRACKS, build_facts_world, words

    def legacy_filters(text: str) -> TrackFilters:
        view = legacy_hard_view(text)
        tags = [tag for name in view["removed"] for tag in (name, "violin") if tag == name or name == "strings"]
        low, high = view["min_s"], view["max_s"]
        if low is not None and high is not None and low > high:
            low = None
        return merge_filters(TrackFilters(), TrackFilters(exclude_tags=tags, vocals=False if view["vocals_off"]
                                                          else None, min_duration_s=low, max_duration_s=high))

    with tempfile.TemporaryDirectory() as tmp:
        world = build_facts_world(Path(tmp))
        store = EdgeStore(world.store_path)
        ranker = FusionRanker.load(store, world.checkpoint)
        trials: list[tuple[str, str, str, str, str, str]] = []  # class, name, value, text, candidate, video
        for row in rows:
            for kind, name, value in _asks(row["expect"]):
                trials.extend((kind, name, value, row["text"], c, v) for c in CANDIDATES for v in ("vid-a", "vid-b"))
        tally: dict[str, dict[str, list[int]]] = {mode: {} for mode in MODES}
        violations = dict.fromkeys(MODES, 0)
        removal_trials, impossible = 0, 0
        empty = dict.fromkeys(MODES, 0)
        tempi = [_truth(f"trk-{i}")["bpm"] for i in range(TRACKS)]
        t0 = time.perf_counter()
        for kind, name, value, text, candidate, video in trials:
            try:
                understood = understand(text)
            except RequestConflictError:
                continue
            before = _truth(candidate)
            if kind == "tempo" and before["bpm"] == (max(tempi) if value == "faster" else min(tempi)):
                impossible += 1  # nothing in the world is faster (slower) than this candidate
                continue
            if kind == "tempo":  # a tag-only candidate has no measured tempo to move from
                kind = "tempo (measured BPM)" if int(candidate.split("-")[1]) % 2 == 0 else "tempo (tags only)"
            removal_trials += value in ("none", "off")
            requests = {
                "fusion_only": RankRequest(video_id=video, candidate_track_id=candidate, text_tokens=words(6)),
                "previous_rules": RankRequest(video_id=video, candidate_track_id=candidate, text_tokens=words(6),
                                              filters=legacy_filters(text)),
                "understanding": RankRequest(video_id=video, candidate_track_id=candidate, text_tokens=words(6),
                                             filters=to_filters(understood), understood=understood)}
            answers = ranker.rank_many(list(requests.values()))
            for mode, answer in zip(requests, answers, strict=True):
                tracks = [_truth(t.track_id) for t in answer.tracks] if not isinstance(answer, Exception) else []
                if not tracks:  # the hard filters left nothing (e.g. "under a minute": no track is that short)
                    empty[mode] += 1
                    continue
                tally[mode].setdefault(kind, []).append(int(_followed(kind.split(" ")[0], name, value, tracks[0],
                                                                      before)))
                violations[mode] += _violation(kind, name, value, tracks)
        seconds = time.perf_counter() - t0
        latency = _rank_latency(ranker, words)
        store.close()
    return {
        "world": "tests/fixtures_understanding.py: 90 tracks (even ids with facts, odd with tags only), "
                 "random-weight fusion checkpoint, qdrant-edge",
        "trials": len(trials), "removal_trials": removal_trials, "seconds": seconds,
        "skipped_impossible_tempo": impossible, "empty_answers": empty, "rank_latency_ms": latency,
        "direction_followed": {mode: {kind: sum(v) / len(v) for kind, v in sorted(per.items())}
                               for mode, per in tally.items()},
        "trials_per_class": {kind: len(v) for kind, v in sorted(tally["understanding"].items())},
        "hard_negative_violations_top5": violations,
    }


def run(repeats: int) -> dict[str, Any]:
    env = environment()
    banks = {split: load_bank(split) for split in BANKS}
    splits: dict[str, Any] = {}
    for split, rows in banks.items():
        acc, misses = accuracy(rows)
        kinds = Counter(row["kind"] for row in rows)
        per_kind = {kind: accuracy([r for r in rows if r["kind"] == kind])[0] for kind in sorted(kinds)}
        scored = [r for r in rows if "conflict" not in r["expect"]]
        ours_hard = sum(hard_view(reading(r["text"])) == hard_view(r["expect"]) for r in scored) / len(scored)
        legacy_hard = sum(legacy_hard_view(r["text"]) == hard_view(r["expect"]) for r in scored) / len(scored)
        splits[split] = {
            "sentences": len(rows), "intent_accuracy": acc, "per_kind": per_kind, "kinds": dict(kinds),
            "negation_or_direction_share": (kinds["negation"] + kinds["direction"]) / len(rows),
            "hard_filter_accuracy": {"understanding": ours_hard, "legacy_rules": legacy_hard},
            "misses": [{"text": m["text"], "expect": m["expect"], "got": m["got"]} for m in misses],
        }
    texts = [row["text"] for rows in banks.values() for row in rows]
    ours_us, legacy_us = _median_us(_safe_parse, texts, repeats), _median_us(legacy_hard_view, texts, repeats)
    served = serving([row for bank in ("test", *LATER_HELDOUT) for row in banks[bank]])
    return {
        "environment": env.__dict__ | {"loadavg_end": loadavg()},
        "method": "rules (lexicon + negation scope + copula predicates + unit patterns), no model call",
        "splits": splits,
        "sentence_overlap": {"train_in_test": sentence_overlap(banks["train"], banks["test"]),
                             "train_in_val": sentence_overlap(banks["train"], banks["val"]),
                             "val_in_test": sentence_overlap(banks["val"], banks["test"]),
                             **{f"train_val_in_{bank}": sentence_overlap(banks["train"] + banks["val"], banks[bank])
                                for bank in LATER_HELDOUT}},
        "latency_us_per_utterance": {"understanding": ours_us, "legacy_rules": legacy_us,
                                     "ratio": ours_us / legacy_us, "sentences": len(texts), "repeats": repeats},
        "serving": served,
        "history": HISTORY,
        "peak_rss_mb": peak_rss_mb(),
    }


def markdown(result: dict[str, Any]) -> list[str]:
    env, splits, lat = result["environment"], result["splits"], result["latency_us_per_utterance"]
    lines = [
        "# Request understanding: intent accuracy on held-out wording",
        "",
        f"Run {env['date_utc']} on {env['machine']}, {env['cpus']} CPUs (shared), Python {env['python']}; "
        f"load average {', '.join(map(str, env['loadavg']))} → {', '.join(map(str, env['loadavg_end']))}; "
        f"peak RSS {fmt(result['peak_rss_mb'])} MB. "
        "Written by `benchmarks/understanding_bench.py`.",
        "",
        "Intent accuracy = the whole typed request of one utterance exactly right (every attribute, direction, "
        "intensity, bound and lift; a contradiction must name its attribute). Banks: `train` generated from "
        "templates (`understanding/banks.py`), `val` written by hand and used to tune the rules, `test` written "
        "by hand before the reader existed and never tuned on, `test2`, `test3` and `test4` written later by other "
        "sessions before they changed the reader (`test3` scored only after the change; `test4` scored 92.2 % "
        "before its change; see the note below).",
        "",
        *table(["split", "sentences", "intent accuracy", "negations + direction changes",
                "hard filters: understanding", "hard filters: previous rules"],
               [[split, s["sentences"], f"{100 * s['intent_accuracy']:.1f} %",
                 f"{100 * s['negation_or_direction_share']:.0f} %",
                 f"{100 * s['hard_filter_accuracy']['understanding']:.1f} %",
                 f"{100 * s['hard_filter_accuracy']['legacy_rules']:.1f} %"] for split, s in splits.items()]),
        "",
        "Per kind on `test`:",
        "",
        *table(["kind", "sentences", "intent accuracy"],
               [[kind, splits["test"]["kinds"][kind], f"{100 * acc:.1f} %"]
                for kind, acc in splits["test"]["per_kind"].items()]),
        "",
        "Sentence overlap (as written, case, symbols and spacing ignored): "
        f"train→test {100 * result['sentence_overlap']['train_in_test']:.1f} %, "
        f"train→val {100 * result['sentence_overlap']['train_in_val']:.1f} %, "
        f"val→test {100 * result['sentence_overlap']['val_in_test']:.1f} %, "
        + ", ".join(f"train+val→{bank} {100 * result['sentence_overlap'][f'train_val_in_{bank}']:.1f} %"
                    for bank in LATER_HELDOUT) + ".",
        "",
        f"Time per utterance (median of {lat['repeats']} passes over {lat['sentences']} sentences): understanding "
        f"{fmt(lat['understanding'])} µs, previous rules {fmt(lat['legacy_rules'])} µs "
        f"(×{fmt(lat['ratio'])}); both far below the text model's ~4-5 ms per new sentence.",
        "",
        "## Direction followed on the serving path (held-out wording: " + ", ".join(("test", *LATER_HELDOUT)) + ")",
        "",
        "Each judgeable ask of the held-out banks (tempo, vocals, the world's 5 instruments and 3 genres; moods have "
        f"no ground truth there) × 8 candidates × 2 videos = {result['serving']['trials']} trials, three ways in one "
        "run: "
        "the fusion model alone, the previous rules' filters, and understanding (filters + attribute re-ranking). "
        "Followed = the top pick moves the asked way from the candidate (ground truth from the world's spec). "
        f"World: {result['serving']['world']}, so this measures the steering, not a trained model "
        f"({fmt(result['serving']['seconds'])} s).",
        "",
        *table(["class", "trials", *MODES],
               [[kind, n, *(f"{100 * result['serving']['direction_followed'][m].get(kind, 0):.1f} %" for m in MODES)]
                for kind, n in result["serving"]["trials_per_class"].items()]),
        "",
        f"Not judged: {result['serving']['skipped_impossible_tempo']} tempo trials whose candidate is already the "
        "world's fastest (slowest), and empty answers (the hard filters left no track: "
        + ", ".join(f"{m} {result['serving']['empty_answers'][m]}" for m in MODES) + "). A tag-only candidate "
        "carries no tempo at all in this world (no measured BPM, no \"fast\"/\"slow\" tag), so before the fix it "
        "gave the re-ranker no signal and that row was the model's (46 %); now a track's own tempo around "
        "120 BPM is the signal there (the faster a track, the likelier it is faster than an unknown pick).",
        "",
        f"One ranking ({result['serving']['rank_latency_ms']['rounds']} rounds, interleaved, same world): filters "
        f"only median {fmt(result['serving']['rank_latency_ms']['filters_only']['median'], 2)} ms "
        f"(p90 {fmt(result['serving']['rank_latency_ms']['filters_only']['p90'], 2)}), with the re-ranked pool "
        f"{fmt(result['serving']['rank_latency_ms']['filters_and_rerank']['median'], 2)} ms "
        f"(p90 {fmt(result['serving']['rank_latency_ms']['filters_and_rerank']['p90'], 2)}), "
        f"×{fmt(result['serving']['rank_latency_ms']['median_ratio'], 2)}. On the shared host these times "
        "include waiting for a core (see the load average above), which bounds the re-ranking's cost only "
        "loosely. At 90 tracks the pool (40) is half the catalog; the "
        "100k-track turn benchmark (docs/benchmarks/turn_latency.md) was not re-run with it.",
        "",
        f"Hard-negative violations (a removed attribute in the top 5) over {result['serving']['removal_trials']} "
        "removal trials: " + ", ".join(f"{m} {result['serving']['hard_negative_violations_top5'][m]}" for m in MODES)
        + ".",
        "",
        "Misses on the held-out banks:",
        "",
        *([f"- {bank}: `{m['text']}`: expected `{m['expect']}`, read `{m['got']}`"
           for bank in ("test", *LATER_HELDOUT) for m in splits[bank]["misses"]] or ["- none"]),
        "",
        "Honesty note: " + result["history"],
    ]
    return lines


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path("docs/benchmarks"))
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args(argv)
    sys.path.insert(0, str(ROOT))
    result = run(args.repeats)
    write_json(args.out / "understanding.json", result)
    write_markdown(args.out / "understanding.md", markdown(result))
    test = result["splits"]["test"]
    print(f"test intent accuracy {100 * test['intent_accuracy']:.1f} % on {test['sentences']} sentences",
          file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
