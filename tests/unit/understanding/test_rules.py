"""The rule reader on the constructions issue #12 names: negation scope, direction, intensity, numbers with
units, lifts, and contradictions (a typed 422 error, never anything else)."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from musechat.contracts.request import Change
from musechat.understanding import RequestConflictError, flatten, parse_utterance
from musechat.understanding.banks import reading

pytestmark = pytest.mark.unit


@pytest.mark.parametrize(("text", "expected"), [
    # the bug: "instrumental" described the previous pick, it was not a request for one
    ("Add some singing, the instrumental felt empty.", {"vocals": "on"}),
    ("I'd love to hear a singer this time", {"vocals": "on"}),
    ("Keep it instrumental.", {"vocals": "off"}),
    ("drums without vocals", {"instrument.drums": "more", "vocals": "off"}),
    ("no female vocals", {"vocals": "male"}),
    ("no guitar please", {"instrument.guitar": "none"}),
    ("less guitar", {"instrument.guitar": "less"}),
    ("Can we avoid guitar", {"instrument.guitar": "none"}),
    ("drop the drums and the synth", {"instrument.drums": "none", "instrument.synth": "none"}),
    ("Keep the piano but lose the drums.", {"instrument.drums": "none"}),
    ("The drums are too loud.", {"instrument.drums": "less"}),
    ("the guitar feels buried", {"instrument.guitar": "more"}),
    ("cut the guitar, it clashes with the voice-over", {"instrument.guitar": "none"}),
])
def test_negation_scope_and_what_a_mention_asks(text: str, expected: dict[str, object]) -> None:
    assert flatten(parse_utterance(text)) == expected


@pytest.mark.parametrize(("text", "expected"), [
    ("a bit faster", {"tempo": "faster", "tempo.intensity": "slight"}),
    ("much slower please", {"tempo": "slower", "tempo.intensity": "strong"}),
    ("way too slow for this clip", {"tempo": "faster", "tempo.intensity": "strong"}),
    ("not so fast", {"tempo": "slower"}),
    ("It shouldn't be that slow.", {"tempo": "faster"}),
    ("not fast enough", {"tempo": "faster"}),
    ("That's too fast for a slow-motion shot.", {"tempo": "slower"}),
    ("Something jazzier.", {"genre.jazz": "more"}),
    ("Too cheerful for a funeral.", {"mood.happy": "less"}),
    ("Anything but hip hop.", {"genre.hiphop": "none"}),
    ("way less percussion", {"instrument.drums": "less", "instrument.drums.intensity": "strong"}),
])
def test_direction_and_intensity(text: str, expected: dict[str, object]) -> None:
    assert flatten(parse_utterance(text)) == expected


@pytest.mark.parametrize(("text", "expected"), [
    # Found by wording written apart from the banks (each read wrongly or not at all before).
    ("vocals off", {"vocals": "off"}),
    ("guitar out please", {"instrument.guitar": "none"}),
    ("vocals on please", {"vocals": "on"}),
    ("no female singers", {"vocals": "male"}),
    ("without the male voices", {"vocals": "female"}),
    ("less like rock, more like jazz", {"genre.rock": "less", "genre.jazz": "more"}),
    ("don't make it slower", {"tempo": "faster"}),
    ("I don't want more guitar", {"instrument.guitar": "none"}),
    ("don't add strings", {"instrument.strings": "none"}),
    ("drop the tempo", {"tempo": "slower"}),
    ("half the tempo", {"tempo": "slower", "tempo.intensity": "strong"}),  # as "half as fast", "twice as fast"
    ("raise the bpm", {"tempo": "faster"}),
    ("no, add some piano", {"instrument.piano": "more"}),
    ("Get rid of the vocals and make it faster", {"vocals": "off", "tempo": "faster"}),
    ("A track that's under 2:30", {"duration.max_s": 150}),
])
def test_postfix_words_negated_more_cues_and_gendered_nouns(text: str, expected: dict[str, object]) -> None:
    assert flatten(parse_utterance(text)) == expected


@pytest.mark.parametrize(("text", "expected"), [
    ("Actually, under a minute please", {"duration.max_s": 60}),
    ("longer than 2 minutes", {"duration.min_s": 120}),
    ("nothing over three minutes", {"duration.max_s": 180}),
    ("no more than 2 minutes", {"duration.max_s": 120}),
    ("between one and two minutes", {"duration.min_s": 60, "duration.max_s": 120}),
    ("at most a minute and a half", {"duration.max_s": 90}),
    ("keep it below 45s", {"duration.max_s": 45}),
    ("around 120 bpm", {"tempo.min_bpm": 110, "tempo.max_bpm": 130}),
    ("between 90 and 110 bpm", {"tempo.min_bpm": 90, "tempo.max_bpm": 110}),
    ("Only CC0 tracks, please.", {"licences": ["CC0-1.0"]}),
    ("royalty-free only", {"licences": ["royalty-free"]}),
])
def test_numbers_with_units_and_licences(text: str, expected: dict[str, object]) -> None:
    assert flatten(parse_utterance(text)) == expected


@pytest.mark.parametrize(("text", "expected"), [
    # a swap names what goes and what comes
    ("replace the synth with a cello", {"instrument.synth": "none", "instrument.strings": "more"}),
    ("switch from piano to guitar", {"instrument.piano": "none", "instrument.guitar": "more"}),
    ("strings instead of synths", {"instrument.strings": "more", "instrument.synth": "none"}),
    ("swap the singer for a man", {"vocals": "male"}),
    ("a drum-free track", {"instrument.drums": "none"}),
    # a negation carried over "and" stops at a word with its own direction; a fresh one still flips it
    ("no vocals and pick up the pace", {"vocals": "off", "tempo": "faster"}),
    ("lose the piano and a quicker tempo", {"instrument.piano": "none", "tempo": "faster"}),
    ("no drums and no guitar", {"instrument.drums": "none", "instrument.guitar": "none"}),
    ("no drums or guitar", {"instrument.drums": "none", "instrument.guitar": "none"}),
    ("do not make it slower", {"tempo": "faster"}),
    # a copula's predicate carries its own intensity
    ("the guitar is way too loud", {"instrument.guitar": "less", "instrument.guitar.intensity": "strong"}),
    ("the piano is a bit too loud", {"instrument.piano": "less", "instrument.piano.intensity": "slight"}),
    ("slower by a notch", {"tempo": "slower", "tempo.intensity": "slight"}),
    # after a modal, a comparative says what is wanted and praise is a wish
    ("could the piano be a little quieter?", {"instrument.piano": "less", "instrument.piano.intensity": "slight"}),
    ("the vocals should be louder", {"vocals": "on"}),
    ("a flute would be nice", {"instrument.flute": "more"}),
    ("the drums are great", {}),
    # a plain quality word describes the instrument asked for and the music; a comparative asks for less of it
    ("with a soft piano", {"instrument.piano": "more", "mood.calm": "more"}),  # calm music too, since test23
    ("softer strings", {"instrument.strings": "less"}),
    ("maybe 2 minutes", {"duration.min_s": 102.0, "duration.max_s": 138.0}),
    # what follows a mention can say it does not belong, or must go; "happy with" is a mood after "and"
    ("the female singer doesn't fit, try a male voice", {"vocals": "male"}),
    ("the synth has to go", {"instrument.synth": "none"}),
    ("the song is dragging on", {"duration": "shorter"}),  # round 23's writer: too long, not too slow
    ("fast and happy with drums", {"tempo": "faster", "mood.happy": "more", "instrument.drums": "more"}),
    # "'s" after a noun is a copula; "so" before a comparative means "therefore"
    ("The beat's good but the vocals are too loud.", {"vocals": "off"}),
    ("the synth's way too loud", {"instrument.synth": "less", "instrument.synth.intensity": "strong"}),
    ("it's a horror short, so darker", {"mood.sad": "more"}),
    ("it's so slow", {"tempo": "faster"}),
    # a comparative after a tempo, instrument or vocals mention, and increase/decrease
    ("make the tempo higher", {"tempo": "faster"}),
    ("turn the drums down", {"instrument.drums": "less"}),
    ("decrease the tempo", {"tempo": "slower"}),
    ("calm down", {"mood.calm": "more"}),
    # a negated removal keeps; form-like answers; minutes and seconds in words
    ("please don't remove the piano", {}),
    ("I do not want to lose the guitar", {}),
    ("vocals: no", {"vocals": "off"}),
    ("no longer than a minute thirty", {"duration.max_s": 90.0}),
    ("the vocals aren't loud enough", {"vocals": "on"}),
    ("the drums are not too loud", {}),
])
def test_swaps_carried_negation_and_predicate_intensity(text: str, expected: dict[str, object]) -> None:
    assert flatten(parse_utterance(text)) == expected


@pytest.mark.parametrize(("text", "expected"), [
    # chat spellings and stretched letters
    ("abit slower pls", {"tempo": "slower", "tempo.intensity": "slight"}),
    ("sooo fast, slow down", {"tempo": "slower"}),
    ("gimme alot more drums", {"instrument.drums": "more", "instrument.drums.intensity": "strong"}),
    # a clause that names nothing says how much of the last ask
    ("slower, a lot slower", {"tempo": "slower", "tempo.intensity": "strong"}),
    ("less synth, a bit less", {"instrument.synth": "less", "instrument.synth.intensity": "slight"}),
    ("no drums, at all", {"instrument.drums": "none"}),
    # bounds said after the amount, "exceed", "+", "and a half", "or so"; a BPM named before its number
    ("a minute at the very least", {"duration.min_s": 60.0}),
    ("two minutes at maximum", {"duration.max_s": 120.0}),
    ("should never exceed 90 seconds", {"duration.max_s": 90.0}),
    ("4+ minutes", {"duration.min_s": 240.0}),
    ("one and a half minutes tops", {"duration.max_s": 90.0}),
    ("60 seconds give or take", {"duration.min_s": 51.0, "duration.max_s": 69.0}),
    ("bpm between 70 and 80", {"tempo.min_bpm": 70.0, "tempo.max_bpm": 80.0}),
    ("tempo around 100", {"tempo.min_bpm": 90.0, "tempo.max_bpm": 110.0}),
    ("100+ bpm", {"tempo.min_bpm": 100.0}),
    # "neither ... nor", switches, "bring down", praise of what is playing
    ("neither drums nor synth", {"instrument.drums": "none", "instrument.synth": "none"}),
    ("switch off the singing", {"vocals": "off"}),
    ("bring down the synth a touch", {"instrument.synth": "less", "instrument.synth.intensity": "slight"}),
    ("I like the piano, but slower", {"tempo": "slower"}),
    ("I'd like the piano louder", {"instrument.piano": "more"}),
    ("the choir sounds tacky", {"instrument.choir": "less"}),
    ("a lady singing", {"vocals": "female"}),
    ("more punch", {"mood.energetic": "more"}),
    # a whole utterance that only asks for the next pick
    ("nope. next one", {"something_else": True}),
    ("skip please", {"something_else": True}),
    ("a different vibe", {"something_else": True}),
    # a comparison names what is wanted less; "than before" compares with the last pick
    ("more strings than synth", {"instrument.strings": "more", "instrument.synth": "less"}),
    ("a male voice would work better than a female one", {"vocals": "male"}),
    ("more piano than the last one", {"instrument.piano": "more"}),
    # what a mention does ("distracts from"), a limit on vocals, a bound after "tempo", "what else"
    ("the singing competes with the dialogue", {"vocals": "off"}),
    ("drop the no vocals rule", {"lifted": ["vocals"]}),
    ("tempo must be over 110", {"tempo.min_bpm": 110.0}),
    ("ok, what else is there?", {"something_else": True}),
    # terse and non-native wording: form answers, "more loud", comparison signs, "with out", "non vocal"
    ("guitar: more", {"instrument.guitar": "more"}),
    ("make the drums more soft", {"instrument.drums": "less"}),
    ("length < 2 min", {"duration.max_s": 120.0}),
    ("bpm >= 100", {"tempo.min_bpm": 100.0}),
    ("with out synth", {"instrument.synth": "none"}),
    ("a nonvocal track", {"vocals": "off"}),
    ("the guitar is not good here", {"instrument.guitar": "less"}),
    # a tempo or mood word after a copula whose subject is the pick describes it; said of the video, it tells
    # what the scene is and asks nothing either (the held-out banks' writers read it so)
    ("this song is quite slow, make it faster", {"tempo": "faster", "tempo.intensity": "slight"}),
    ("it is sad", {}),
    ("the footage is calm", {}),
    ("episode's about grief, no country", {"genre.country": "none"}),
    ("no chill stuff, it's a hype reel", {"mood.calm": "none"}),
    ("the video's a slow sunrise timelapse, so dial the energy down", {"mood.energetic": "less"}),
    ("a calm piece for my sad video", {"mood.calm": "more"}),
    ("make the video sadder", {"mood.sad": "more"}),
    # a shorter or longer track than the pick; "long" alone and "no longer" say nothing about length
    ("a shorter version please", {"duration": "shorter"}),
    ("the song is a little too long", {"duration": "shorter"}),
    ("way too short", {"duration": "longer"}),
    ("something longer, and calmer", {"duration": "longer", "mood.calm": "more"}),
    ("as long as it is upbeat", {"tempo": "faster"}),
    ("I no longer want the synth", {"instrument.synth": "none"}),
    # a requirement taken back lifts it; "as long as" opens a clause of its own
    ("it doesn't have to be instrumental anymore", {"lifted": ["vocals"]}),
    ("any tempo is fine as long as there is no choir", {"instrument.choir": "none", "lifted": ["tempo"]}),
    # a description of the pick with a degree is a complaint, unless the words praise it; an explicit ask wins
    ("it's kinda slow", {"tempo": "faster", "tempo.intensity": "slight"}),
    ("this track is really upbeat, I like it", {}),
    ("it is a bit dark, make it a lot happier", {"mood.sad": "less", "mood.sad.intensity": "slight",
                                                 "mood.happy": "more", "mood.happy.intensity": "strong"}),
    ("it's a bit sad, make it sadder", {"mood.sad": "more"}),
    # a vague length word gives way to a bound; questions and idioms of removal and preference
    ("short and sweet, 30 seconds max", {"duration.max_s": 30.0}),
    ("could the synth go?", {"instrument.synth": "none"}),
    ("the choir's gotta go", {"instrument.choir": "none"}),
    ("drums are a no-go", {"instrument.drums": "none"}),
    ("steer clear of techno", {"genre.techno": "none"}),
    ("not sure about the flute", {"instrument.flute": "less"}),
    ("no preference on the length", {"lifted": ["duration"]}),
    # spelled tempi, "a beat" as drums, "more of that" about the last thing named
    ("around a hundred and ten bpm", {"tempo.min_bpm": 100.0, "tempo.max_bpm": 120.0}),
    ("with a stronger beat", {"instrument.drums": "more"}),
    ("the strings are lovely, a bit more of those", {"instrument.strings": "more",
                                                      "instrument.strings.intensity": "slight"}),
    # after test5: what a mention does to the track, "acoustic", a list under one degree, "not quite. another?"
    ("the synth spoils it", {"instrument.synth": "less"}),
    ("an acoustic one", {"instrument.guitar": "more"}),
    ("a lot less synth and choir", {"instrument.synth": "less", "instrument.synth.intensity": "strong",
                                    "instrument.choir": "less", "instrument.choir.intensity": "strong"}),
    ("nah, not really. another one?", {"something_else": True}),
    # round 7: a moderation beside an ask tempers it, what a mention does, energy nouns with a postfix
    ("faster, but not too fast", {"tempo": "faster", "tempo.intensity": "slight"}),
    ("the strings make it sound cheesy", {"instrument.strings": "less"}),
    ("the guitar carries it, just quicker", {"tempo": "faster"}),
    ("turn the energy down", {"mood.energetic": "less"}),
    ("ramp up the tempo", {"tempo": "faster"}),
    ("exactly 90 seconds", {"duration.min_s": 76.5, "duration.max_s": 103.5}),
    ("vocals? no.", {"vocals": "off"}),
    # after test6's misses: a degree belongs to its own cue, slang praise, "ignore", a negation before praise
    ("a little less polished and more jazz", {"genre.jazz": "more"}),
    ("the guitar goes hard but it's too slow", {"tempo": "faster"}),
    ("make it hit harder", {"mood.energetic": "more"}),
    ("ignore the length now", {"lifted": ["duration"]}),
    ("something without a choir would be perfect", {"instrument.choir": "none"}),
    ("music for our first dance, calm", {"mood.calm": "more"}),
    # after test7's misses: a polarity carried over a list stops at a comparative (it flipped "quicker")
    ("less dark and a little faster", {"mood.sad": "less", "tempo": "faster", "tempo.intensity": "slight"}),
    ("more piano and slower", {"instrument.piano": "more", "tempo": "slower"}),
    ("max duration 2 minutes", {"duration.max_s": 120.0}),
    ("any tempo will do", {"lifted": ["tempo"]}),
    ("drop the tempo requirement", {"lifted": ["tempo"]}),
    ("the piano's fine, the synth isn't", {"instrument.synth": "less"}),
    ("take away the strings", {"instrument.strings": "none"}),
    ("make the drums more prominent", {"instrument.drums": "more"}),
    ("put some life into it", {"mood.energetic": "more"}),
    # after test8's misses: a negated want before a bound (it read the opposite bound), arrangement words,
    # a degree right after its ask, a comparative's degree carried to the next, "but too loud" of the last
    # instrument named
    ("we don't need anything shorter than a minute", {"duration.min_s": 60.0}),
    ("I don't want anything over 3 minutes", {"duration.max_s": 180.0}),
    ("a strings piece that builds slowly", {"instrument.strings": "more"}),
    ("the choir sounds off", {"instrument.choir": "less"}),
    ("slow down a bit and no choir", {"tempo": "slower", "tempo.intensity": "slight", "instrument.choir": "none"}),
    ("a lot happier and brighter", {"mood.happy": "more", "mood.happy.intensity": "strong"}),
    ("the drums are fine but too quiet", {"instrument.drums": "more"}),
    ("the tempo no longer matters, nor does the length", {"lifted": ["tempo"]}),
    ("half the length please", {"duration": "shorter"}),
    ("more groove", {"genre.funk": "more"}),
    # after test9's misses: "so" as "therefore" (it turned "fun" into less happy), "I don't think X works",
    # "X over Y" for voices, halving, "on the long side"
    ("it's for a party, so something upbeat please", {"tempo": "faster"}),
    ("I don't think the strings fit", {"instrument.strings": "less"}),
    ("a woman's voice over a man's", {"vocals": "female"}),
    ("cut it in half", {"duration": "shorter"}),
    ("a little on the slow side", {"tempo": "faster", "tempo.intensity": "slight"}),
    # after test10's misses: double negatives, exclusions, "no slower than" (it read a maximum), a negated
    # comparative is less, a removal that is kept, an elliptical comparative of the last instrument
    ("I wouldn't say no to a flute", {"instrument.flute": "more"}),
    ("not without drums", {"instrument.drums": "more"}),
    ("any instrument other than synth", {"instrument.synth": "none"}),
    ("no faster than 120 bpm and no slower than 80 bpm", {"tempo.min_bpm": 80.0, "tempo.max_bpm": 120.0}),
    ("I never said no vocals", {"lifted": ["vocals"]}),
    ("calmer, not darker", {"mood.calm": "more", "mood.sad": "less"}),
    ("without removing the guitar, add a cello", {"instrument.strings": "more"}),
    ("strings yes, but softer", {"instrument.strings": "less"}),
    ("nice piano, but faster", {"tempo": "faster"}),
    ("not even close", {"something_else": True}),
    # after test11's misses: complaint verbs after a copula, "why is there a ...", "cheer it up", "so" opening
    # a consequence, a tempo moved to a number
    ("the horns are fine but the strings are swamping the voice", {"instrument.strings": "less"}),
    ("why is there a flute", {"instrument.flute": "none"}),
    ("why are there so many synths", {"instrument.synth": "less"}),
    ("cheer things up", {"mood.happy": "more"}),
    ("too drowsy", {"mood.calm": "less"}),
    ("it's a gym reel, so energetic please", {"mood.energetic": "more"}),
    ("so slow", {"tempo": "faster"}),
    ("bring the tempo down to 85", {"tempo.min_bpm": 75.0, "tempo.max_bpm": 95.0}),
    ("the tempo up to 120 at most", {"tempo.max_bpm": 120.0}),
    # after test12's misses: "or below" bounds, "can have X again" lifts, an elliptical "not so much", "another
    # suggestion", a quality word before an instrument, "pace it up", "dial X back", "spare me", a correction
    # by a negated back-reference
    ("85 bpm or under", {"tempo.max_bpm": 85.0}),
    ("we could include strings again", {"lifted": ["instrument.strings"]}),
    ("the vocals are nice, the piano not as much", {"instrument.piano": "less"}),
    ("one more suggestion please", {"something_else": True}),
    ("more powerful drums", {"instrument.drums": "more"}),
    ("pace it up", {"tempo": "faster"}),
    ("tone the strings way back", {"instrument.strings": "less", "instrument.strings.intensity": "strong"}),
    # what is brought back reads as a release; `understand` makes it a wish where nothing removed it
    ("pull the guitar back in", {"lifted": ["instrument.guitar"]}),
    ("spare me the synth", {"instrument.synth": "none"}),
    ("more flute. actually, I don't want it", {"instrument.flute": "none"}),
    # after test13's misses: "X or no X" and a lifting clause after it, a three-word predicate ("out of place"),
    # "isn't doing it for me", "not a huge fan", a comparative tempo named with its noun, "no longer an issue"
    ("piano or no piano, either way", {"lifted": ["instrument.piano"]}),
    ("the strings are over the top", {"instrument.strings": "less"}),
    ("the flute is not doing it for me", {"instrument.flute": "less"}),
    ("not a huge fan of the choir", {"instrument.choir": "less"}),
    ("less synth and a slower pace", {"instrument.synth": "less", "tempo": "slower"}),
    ("duration is no longer an issue", {"lifted": ["duration"]}),
    ("the singer's voice is a bit much", {"vocals": "off"}),
    # after test14's misses: "hold the X", "tons more", a removal taken back, "surprise me", "with and without",
    # a decade of BPM, royalties, a change of mind, a bare refusal
    ("hold the choir", {"instrument.choir": "none"}),
    ("hold the tempo steady", {}),
    ("a whole lot faster", {"tempo": "faster", "tempo.intensity": "strong"}),
    ("undo the no piano thing", {"lifted": ["instrument.piano"]}),
    ("surprise me with something", {"something_else": True}),
    ("tempo in the 130s", {"tempo.min_bpm": 130.0, "tempo.max_bpm": 139.0}),
    ("the 90s rock sound", {"genre.rock": "more"}),
    ("I changed my mind, vocals are okay", {"lifted": ["vocals"]}),
    ("hmm, no", {"something_else": True}),
    # after test15's misses: the length of what the track scores, "fine, any X", "rather X than Y", a thank-you
    # after "next", "I love X but not Y"
    ("for a 20-second teaser", {"duration.max_s": 20.0}),
    ("okay, any length", {"lifted": ["duration"]}),
    ("I'd rather have drums than a choir", {"instrument.drums": "more", "instrument.choir": "less"}),
    ("next, cheers", {"something_else": True}),
    ("I really like the strings but not the flute", {"instrument.flute": "less"}),
    ("love the strings, not the flute", {"instrument.flute": "none"}),
    # after test16's misses: a mood described beside a complaint word, "they" for the instrument just named (a
    # change beside a release of it stands), minutes carried to a bare bound, "no higher than", "a minimum of",
    # "meh", "a hint of", "up to eleven", "I feel like"
    ("this sounds heavy and sad", {"mood.sad": "less"}),
    ("I don't mind the piano, but they are way too loud", {"instrument.piano": "less",
                                                           "instrument.piano.intensity": "strong"}),
    ("over a minute and under two", {"duration.min_s": 60.0, "duration.max_s": 120.0}),
    ("over 90 seconds but under two", {"duration.min_s": 90.0}),
    ("bpm no higher than 100", {"tempo.max_bpm": 100.0}),
    ("a minimum of 90 bpm", {"tempo.min_bpm": 90.0}),
    ("meh", {"something_else": True}),
    ("a hint of piano", {"instrument.piano": "more", "instrument.piano.intensity": "slight"}),
    ("I feel like it should be happier", {"mood.happy": "more"}),
    # after test17's misses (negation scope): corrections, a negated modal predicate, "not against", moderations
    # both ways, "not no X", "hardly any", "done with", "not as", bounds carried in seconds, "not under N bpm",
    # "it's not X, it's Y", a leading "not the X", an echoed question answered "no", form-like answers
    ("I didn't ask for more strings, I asked for less", {"instrument.strings": "less"}),
    ("the synth shouldn't be that loud", {"instrument.synth": "less"}),
    ("the vocals shouldn't be so quiet", {"vocals": "on"}),
    ("I'm not against drums", {"lifted": ["instrument.drums"]}),
    ("not too fast and not too slow", {}),
    ("less piano, not no piano", {"instrument.piano": "less"}),
    ("hardly any choir", {"instrument.choir": "less"}),
    ("I'm done with country", {"genre.country": "none"}),
    ("not as loud", {"mood.energetic": "less"}),
    ("at least 20 seconds and at most 50", {"duration.min_s": 20.0, "duration.max_s": 50.0}),
    ("not under 90 bpm", {"tempo.min_bpm": 90.0}),
    ("it's not the piano, it's the choir that annoys me", {"instrument.choir": "less"}),
    ("not the guitar, the drums should go", {"instrument.drums": "none"}),
    ("no synth? no, I want synth", {"instrument.synth": "more"}),
    ("flute? no, strings? yes", {"instrument.flute": "none", "instrument.strings": "more"}),
    # after test18's misses: a part of an instrument ("the synth lead"), mood nouns, "punch in the drums",
    # "clubby", "not what I had in mind", "twice as fast"
    ("the piano line sounds cheap", {"instrument.piano": "less"}),
    ("less brightness", {"mood.happy": "less"}),
    ("more punch in the guitar", {"instrument.guitar": "more"}),
    ("no clubby stuff", {"genre.dance": "none"}),
    ("hmm, not quite what I was looking for", {"something_else": True}),
    ("twice as quick", {"tempo": "faster", "tempo.intensity": "strong"}),
    # after test19's misses: "dreamier", "push X back", "rap vocals" is the genre, "this isn't it", "at the same
    # time", a copula left out ("the drums too loud"), "more subtle"
    ("dreamier", {"mood.calm": "more"}),
    ("push the choir back a bit", {"instrument.choir": "less", "instrument.choir.intensity": "slight"}),
    ("no rap vocals", {"genre.hiphop": "none"}),
    ("nah, that is not it", {"something_else": True}),
    ("the piano is nice, the flute too shrill", {"instrument.flute": "less"}),
    ("more drums too", {"instrument.drums": "more"}),
    ("the drums could be more subtle", {"instrument.drums": "less"}),
    # after test20's misses: "the tempo is too slow" (read slower), "don't change them" (read as a removal), a bpm
    # after "should be", "soundtrack", "rid it of", "I don't like this one at all"; and numbers no track can have
    # (they raised a validation error, found by fuzzing)
    ("the tempo is too slow for a run", {"tempo": "faster"}),
    ("the drums are great, don't change them", {}),
    ("the bpm should be about 120", {"tempo.min_bpm": 110.0, "tempo.max_bpm": 130.0}),
    ("a soundtrack feel", {"genre.orchestral": "more"}),
    ("rid the track of the synth", {"instrument.synth": "none"}),
    ("I don't like this one at all", {"something_else": True}),
    ("tempo 2 to 3", {}),
    ("between 2 and 3 bpm", {}),
    ("between 0 and 0 seconds", {}),
    ("about 0 seconds", {}),
    # after test21's misses: "bouncier", a swap's article ("swap the rock vibe for ..."), a modal clause after an
    # instrument ("the piano is lovely but could be quieter"), "why is someone singing", "not quite so",
    # "fit in N seconds", "it's okay to have X"
    ("a bouncy feel", {"mood.happy": "more"}),
    ("swap the metal sound for some funk", {"genre.metal": "none", "genre.funk": "more"}),
    ("the guitar is great but should be a bit softer",
     {"instrument.guitar": "less", "instrument.guitar.intensity": "slight"}),
    ("the piano is great but could be slower", {"tempo": "slower"}),
    ("I love the strings, they could be louder", {"instrument.strings": "more"}),
    ("why are they rapping?", {"vocals": "off"}),
    ("not quite so gloomy", {"mood.sad": "less", "mood.sad.intensity": "slight"}),
    ("must fit into 30 seconds", {"duration.max_s": 30.0}),
    ("it would be fine to include a choir", {"lifted": ["instrument.choir"]}),
    # after test22's misses: "chipper", "a downer", "sugary", "X is the issue", "no need for it to be", "heavy on",
    # "tone it down", a bare complaint after praise of an instrument, "remove the 2 minute limit"
    ("too chipper", {"mood.happy": "less"}),
    ("less of a downer please", {"mood.sad": "less"}),
    ("the synth is the problem", {"instrument.synth": "less"}),
    ("there's no need for this to be instrumental", {"lifted": ["vocals"]}),
    ("go heavy on the strings", {"instrument.strings": "more"}),
    ("not too heavy on the piano", {"instrument.piano": "less"}),
    ("tone things down", {"mood.energetic": "less"}),
    ("the choir is lovely but way too loud", {"instrument.choir": "less", "instrument.choir.intensity": "strong"}),
    ("drop that 90 second cap", {"lifted": ["duration"]}),
    ("forget the 100 bpm limit", {"lifted": ["tempo"]}),
    ("140 bpm minimum", {"tempo.min_bpm": 140.0}),
    # found while probing test22's fixes: after praise, "a bit slow" describes the pick (it read slower)
    ("nice, but a bit slow", {"tempo": "faster", "tempo.intensity": "slight"}),
    ("the guitar is great, a little too fast though", {"tempo": "slower", "tempo.intensity": "slight"}),
    ("great, but a bit more piano", {"instrument.piano": "more", "instrument.piano.intensity": "slight"}),
])
def test_chat_spellings_elliptical_intensity_and_postfix_bounds(text: str, expected: dict[str, object]) -> None:
    assert flatten(parse_utterance(text)) == expected


@pytest.mark.parametrize(("text", "expected"), [
    # mood and tempo words from WordNet's similar-to sets of the lexicon's seeds
    ("way too glum", {"mood.sad": "less", "mood.sad.intensity": "strong"}),
    ("nothing dreary please", {"mood.sad": "none"}),
    ("something peppy with a female singer", {"vocals": "female", "mood.energetic": "more"}),
    ("a jaunty tune for the bakery ad", {"mood.happy": "more"}),
    ("an allegro piece, no choir", {"tempo": "faster", "instrument.choir": "none"}),
    ("it is too languid", {"mood.calm": "less"}),
    ("go for something more unhurried", {"tempo": "slower"}),
    # "-y" words make "-ier" comparatives nobody lists; the few monosyllables are listed
    ("make it a bit chirpier", {"mood.happy": "more", "mood.happy.intensity": "slight"}),
    ("zippier please", {"mood.energetic": "more"}),
    ("clubbier", {"genre.dance": "more"}),
    ("I want it brisker", {"tempo": "faster"}),
    ("glummer", {"mood.sad": "more"}),
    # "little" before a word for the track belittles it, it is no degree
    ("a happy little tune", {"mood.happy": "more"}),
    ("a little happier", {"mood.happy": "more", "mood.happy.intensity": "slight"}),
])
def test_wordnet_words_and_coined_comparatives(text: str, expected: dict[str, object]) -> None:
    assert flatten(parse_utterance(text)) == expected


@pytest.mark.parametrize(("text", "expected"), [
    # constructions from the first banks written by someone else (test23, test24), in other words than theirs
    ("nothing over 3 minutes, thanks", {"duration.max_s": 180.0}),
    ("don't send me anything over 120 bpm", {"tempo.max_bpm": 120.0}),
    ("max. 2 min", {"duration.max_s": 120.0}),
    ("2–3 minutes", {"duration.min_s": 120.0, "duration.max_s": 180.0}),
    ("the drone footage is floaty, a bit faster", {"tempo": "faster", "tempo.intensity": "slight"}),
    ("tone down the rock", {"genre.rock": "less"}),
    ("I don't want a guy singing", {"vocals": "female"}),
    ("a version with a woman singing", {"vocals": "female"}),
    ("instrumental would be great", {"vocals": "off"}),
    ("forget the 2 minute cap, the client extended the edit", {"lifted": ["duration"]}),
    ("undo the no-vocals thing", {"lifted": ["vocals"]}),
    ("no vocals, his voice is already on the video", {"vocals": "off"}),
    ("drop the strings, they're hurting my ears", {"instrument.strings": "none"}),
    ("not so long please", {"duration": "shorter"}),
    ("the drums - way too loud", {"instrument.drums": "less", "instrument.drums.intensity": "strong"}),
    ("the guitar, no", {"instrument.guitar": "none"}),
    ("faster - and no vocals", {"tempo": "faster", "vocals": "off"}),
    # test25/test26's constructions, reworded
    ("the presenter is a woman, so a male voice please", {"vocals": "male"}),
    ("a song whose singer is a woman", {"vocals": "female"}),
    ("the piano's lovely but there's far too much of it", {"instrument.piano": "less",
                                                           "instrument.piano.intensity": "strong"}),
    ("don't worry about the length any more", {"lifted": ["duration"]}),
    ("not the piano, it's the choir doing my head in, lose it please", {"instrument.choir": "none"}),
    ("guitar's grand, just drop the synth", {"instrument.synth": "none"}),
    ("one w/o drums?", {"instrument.drums": "none"}),
    ("no vocals, the piano can stay", {"vocals": "off"}),
    ("it shouldn't be this slow", {"tempo": "faster"}),
    ("the drums shouldn't be so loud", {"instrument.drums": "less"}),
    ("it's not the vocals that bother me, it's too slow", {"tempo": "faster"}),
    ("it's not that we don't like the strings, we just want less of them", {"instrument.strings": "less"}),
    ("doesn't matter how long it is", {"lifted": ["duration"]}),
    ("forget what i said abt the flute", {"lifted": ["instrument.flute"]}),
    # test27-test29's constructions, reworded
    ("a bit too quiet and sleepy for the gym", {"mood.calm": "less", "mood.calm.intensity": "slight"}),
    ("love the beach part, no choir please", {"instrument.choir": "none"}),
    ("this one's really gloomy", {"mood.sad": "less", "mood.sad.intensity": "strong"}),
    ("the last bit is the dance floor so no flute", {"instrument.flute": "none"}),
    ("older folk will watch it, nothing loud", {"mood.energetic": "none"}),
    ("some folk with a fiddle", {"genre.folk": "more", "instrument.strings": "more"}),
    ("anything without the beat?", {"instrument.drums": "none"}),
    ("the beat is too fast", {"tempo": "slower"}),
    ("the beats are way too busy", {"instrument.drums": "less", "instrument.drums.intensity": "strong"}),
    ("the flute's all right again", {"lifted": ["instrument.flute"]}),
    ("nah, I don't think this is it", {"something_else": True}),
    ("bpm 100-110, no vox", {"tempo.min_bpm": 100.0, "tempo.max_bpm": 110.0, "vocals": "off"}),
    ("same song minus the strings", {"instrument.strings": "none"}),
    ("half the tempo of this one", {"tempo": "slower", "tempo.intensity": "strong"}),
    ("tempo ↓", {"tempo": "slower"}),
    ("guitar way too loud", {"instrument.guitar": "less", "instrument.guitar.intensity": "strong"}),
    ("the synth is harsh, tone it down a bit", {"instrument.synth": "less", "instrument.synth.intensity": "slight"}),
    ("could you tone it down", {"mood.energetic": "less"}),
    # test30-test32's constructions, reworded
    ("where did those strings come from?", {"instrument.strings": "none"}),
    ("the female voice doesn't sit well", {"vocals": "male"}),
    ("love the drums; it's the flute we want gone", {"instrument.flute": "none"}),
    ("jazz isn't what we're looking for, take it out", {"genre.jazz": "none"}),
    ("for the club scenes, at least 125 bpm", {"tempo.min_bpm": 125.0}),
    ("cut it shorter and slower", {"duration": "shorter", "tempo": "slower"}),
    ("punchy rock", {"genre.rock": "more", "mood.energetic": "more"}),
    ("the drums rock", {}),
    ("nope, next track please", {"something_else": True}),
    # test33-test35's constructions, reworded
    ("is possible without flute? the flute is disturbing me", {"instrument.flute": "none"}),
    ("I don't need the voice of a woman, kindly take it away", {"vocals": "male"}),
    ("no strings, I have heard enough strings today", {"instrument.strings": "none"}),
    ("more calm please, in the video a boy is sleeping", {"mood.calm": "more"}),
    ("I changed my mind about the flute", {"lifted": ["instrument.flute"]}),
    ("the choir is permitted again", {"lifted": ["instrument.choir"]}),
    ("this one is not for me, show another", {"something_else": True}),
    ("is not what I search, give me a different one", {"something_else": True}),
    ("lose the flute, not the piano", {"instrument.flute": "none"}),
    ("no rock, not that kind of video", {"genre.rock": "none"}),
    ("i don't hate the piano, it's the choir that has to go", {"instrument.choir": "none"}),
    ("the singing is cringe", {"vocals": "off"}),
    ("no cap, way slower", {"tempo": "slower", "tempo.intensity": "strong"}),
    ("a bit less rock and way more jazz", {"genre.rock": "less", "genre.rock.intensity": "slight",
                                           "genre.jazz": "more", "genre.jazz.intensity": "strong"}),
    ("more drums, way more", {"instrument.drums": "more", "instrument.drums.intensity": "strong"}),
    ("vocals r fine now", {"lifted": ["vocals"]}),
    ("r&b please", {"genre.hiphop": "more"}),
    ("piano and strings can come back", {"lifted": ["instrument.piano", "instrument.strings"]}),
    ("the drums and the synth are too loud", {"instrument.drums": "less", "instrument.synth": "less"}),
    ("no female vocals on the next one", {"vocals": "male"}),
    ("the beat needs to go", {"instrument.drums": "none"}),
    ("morejazz", {"genre.jazz": "more"}),
    ("doesn't have to be cc0 anymore", {"lifted": ["licence"]}),
    ("I changed my mind about the piano, bring it back", {"lifted": ["instrument.piano"]}),
    # test36-test38's constructions, reworded
    ("no strings please; the cello makes it feel like a costume drama", {"instrument.strings": "none"}),
    ("less synth, the synths are cluttering the voice-over", {"instrument.synth": "less"}),
    ("love the flute, but the whole thing is a bit fast", {"tempo": "slower", "tempo.intensity": "slight"}),
    ("could you suggest an alternative?", {"something_else": True}),
    ("CC0 only, legal won't approve anything else", {"licences": ["CC0-1.0"]}),
    ("nah, this ain't it", {"something_else": True}),
    ("no sad, gloomy stuff", {"mood.sad": "none"}),
    ("its way to slow", {"tempo": "faster", "tempo.intensity": "strong"}),
    ("the aim is to calm people", {"mood.calm": "more"}),
    ("nothing with a beat", {"instrument.drums": "none"}),
    ("I'd rather nobody sings", {"vocals": "off"}),
    ("slower by a good deal", {"tempo": "slower", "tempo.intensity": "strong"}),
    ("at least 3 minuets", {"duration.min_s": 180.0}),
    ("public domian or royality free", {"licences": ["CC0-1.0", "royalty-free"]}),
    ("at least 120 bmp", {"tempo.min_bpm": 120.0}),
    ("les choir", {"instrument.choir": "less"}),
    # test39-test41's constructions, reworded
    ("hmm, doesn't work for me, next", {"something_else": True}),
    ("that's not it either", {"something_else": True}),
    ("not a fan of rock, so none of that", {"genre.rock": "none"}),
    ("no strings, every wedding video uses strings", {"instrument.strings": "none"}),
    ("no vocals, they would clash with our choir", {"vocals": "off"}),
    ("the intro has to pop, make it punchier", {"mood.energetic": "more"}),
    ("more pop please", {"genre.pop": "more"}),
    ("this is muy slow, I need it faster", {"tempo": "faster", "tempo.intensity": "strong"}),
])
def test_constructions_from_independently_written_banks(text: str, expected: dict[str, object]) -> None:
    assert flatten(parse_utterance(text)) == expected


@pytest.mark.parametrize(("text", "lifted"), [
    ("Vocals are fine now.", ["vocals"]),
    ("I don't mind guitar anymore", ["instrument.guitar"]),
    ("any length is ok now", ["duration"]),
    ("forget the length limit", ["duration"]),
    ("I don't care about length anymore", ["duration"]),
    ("remove the bpm limit", ["tempo"]),
    ("no length restriction", ["duration"]),
    ("I am happy with any tempo", ["tempo"]),
    ("the duration doesn't matter", ["duration"]),
    ("tempo is up to you", ["tempo"]),
    ("I'm happy with drums now", ["instrument.drums"]),
])
def test_lifts(text: str, lifted: list[str]) -> None:
    assert parse_utterance(text).lifted == lifted


def test_praise_and_small_talk_ask_nothing() -> None:
    for text in ("Thanks!", "I like it.", "the vocals are ok but speed it up", "The tempo is great, but no vocals."):
        request = parse_utterance(text)
        assert request.tempo is None or request.tempo.direction == "faster"
        assert request.lifted == []
    assert flatten(parse_utterance("Thanks!")) == {}


@pytest.mark.parametrize(("text", "attribute", "words"), [
    ("faster and slower", "tempo", ("faster", "slower")),
    ("no vocals but with a female singer", "vocals", ("no vocals", "female")),
    ("under a minute and longer than two minutes", "duration", ("120", "60")),
    ("more piano, no piano", "instrument.piano", ("more piano", "no piano")),
    ("over 140 bpm and under 100 bpm", "tempo", ("140", "100")),
    ("shorter but also longer", "duration", ("shorter", "longer")),
    ("faster, and at the same time slower", "tempo", ("faster", "slower")),
])
def test_words_that_contradict_themselves_are_a_typed_422(text: str, attribute: str, words: tuple[str, str]) -> None:
    with pytest.raises(RequestConflictError) as caught:
        parse_utterance(text)
    error = caught.value
    assert (error.status, error.code, error.conflict.attribute) == (422, "conflicting_request", attribute)
    assert all(w in error.message for w in words), error.message


@pytest.mark.parametrize(("text", "expected"), [
    # a self-correction replaces what came before it, attribute by attribute (it was a 422 conflict until two
    # bank writers who never saw the reader both labelled corrections this way)
    ("faster — wait no, I meant slower, sorry, long day", {"tempo": "slower"}),
    ("slower, no wait, faster", {"tempo": "faster"}),
    ("No female vocals... hmm, actually no vocals at all.", {"vocals": "off"}),
    ("Take the flute out — well, no, just make the flute a bit quieter.",
     {"instrument.flute": "less", "instrument.flute.intensity": "slight"}),
    ("longer than 2 minutes, actually no, under a minute", {"duration.max_s": 60.0}),
    ("no piano and faster, scratch that, slower", {"instrument.piano": "none", "tempo": "slower"}),
    ("faster, I mean way faster", {"tempo": "faster", "tempo.intensity": "strong"}),
    ("no drums, actually drums are fine now", {"lifted": ["instrument.drums"]}),
    ("no, I meant less piano", {"instrument.piano": "less"}),
    # "actually no" before a noun is a removal, and a bare refusal stays one
    ("actually no vocals", {"vocals": "off"}),
    ("hmm no", {"something_else": True}),
    ("Actually, under a minute please", {"duration.max_s": 60.0}),
])
def test_a_self_correction_replaces_what_came_before(text: str, expected: dict[str, object]) -> None:
    assert flatten(parse_utterance(text)) == expected


@pytest.mark.parametrize(("text", "expected"), [
    # a clause that says something of what another clause asks the other way is its reason, not an ask of its own
    ("The flute makes the flythrough feel like a nature doc - can I get one without any flute?",
     {"instrument.flute": "none"}),
    ("no piano please. that's three piano tracks in a row", {"instrument.piano": "none"}),
    ("without guitar, I have already guitar in my own recording", {"instrument.guitar": "none"}),
    ("without strings please, the violins are making it syrupy", {"instrument.strings": "none"}),
    ("the sitar is a bit on the nose, so without the sitar please", {"instrument.sitar": "none"}),
    # ... a clause with no verb only names what it asks for: the contradiction stands
    ("no guitar, guitar solo please", {"conflict": "instrument.guitar"}),
    # "tone it down" after a genre or mood complaint lowers that, not the energy
    ("kinda too jazzy for my taste, tone it down?", {"genre.jazz": "less"}),
    ("too cheerful, dial it down a lot", {"mood.happy": "less", "mood.happy.intensity": "strong"}),
    ("tone it down", {"mood.energetic": "less"}),
    # a refusal word is "something else" only when nothing else is asked
    ("nope, needs to be a lot punchier", {"mood.energetic": "more", "mood.energetic.intensity": "strong"}),
    ("nope, too cheesy", {"something_else": True}),
    ("The client's going to hate that. Swap it out?", {"something_else": True}),
    ("swap it out for something calmer", {"mood.calm": "more"}),
    # people who sing, editors happy to trim, flutes driving people nuts: no music asked
    ("no choir please, the congregation sings straight after", {"instrument.choir": "none"}),
    ("Forget the length limit, our editor's happy to trim it.", {"lifted": ["duration"]}),
    ("keep the pace but no flute, the flute is driving me nuts", {"instrument.flute": "none"}),
    # lifts and lengths as people say them
    ("actually scratch the piano thing", {"lifted": ["instrument.piano"]}),
    ("You can include electronic stuff again, the producer's come round to it.", {"lifted": ["genre.electronic"]}),
    ("speed it up a little and cut the length",
     {"tempo": "faster", "tempo.intensity": "slight", "duration": "shorter"}),
    # round 9: learners' English, creators' chat, people who are not music people
    ("can you quit the guitar? I have already guitar in my own recording", {"instrument.guitar": "none"}),
    ("The synth, take out please, sound very cheap.", {"instrument.synth": "none"}),
    ("song without lyrics and not more long than 2 minutes please", {"vocals": "off", "duration.max_s": 120.0}),
    ("more gentle please, and the jazz a bit less",
     {"mood.calm": "more", "genre.jazz": "less", "genre.jazz.intensity": "slight"}),
    ("ok the licence is not problem anymore", {"lifted": ["licence"]}),
    ("without drums but with a strong beat", {"conflict": "instrument.drums"}),
    ("it is too much sad, graduation of my daughter is happy day", {"mood.sad": "less"}),
    ("a happy party track", {"mood.happy": "more"}),
    ("shorter pls, this is longer than my whole reel", {"duration": "shorter"}),
    ("The lady who runs the keep-fit class says around 100 bpm", {"tempo.min_bpm": 90.0, "tempo.max_bpm": 110.0}),
    ("Could it be livelier? This is the bit where the children run.", {"mood.energetic": "more"}),
    ("skip. doesnt fit my pasta video", {"something_else": True}),
    ("mmm not convince me... next", {"something_else": True}),
    ("bof, change it please", {"something_else": True}),
    ("I don't think so, dear. Can we hear another?", {"something_else": True}),
    ("too cheerful for a memorial video honestly, can you change it", {"mood.happy": "less"}),
    ("dont want piano in the montage, doesnt fit", {"instrument.piano": "none"}),
    # round 10: random samples of chat logs
    ("you can bring drums back in", {"lifted": ["instrument.drums"]}),
    ("bring the tempo back up", {"tempo": "faster"}),
    ("ignore what I said about licences, the client bought a subscription", {"lifted": ["licence"]}),
    ("scratch the CC0-only rule, any licence is ok now", {"lifted": ["licence"]}),
    ("nothing too fast pls, it's the slow-mo bit where the bride walks in", {"tempo": "slower"}),
    ("Could you go a touch slower? the shots in my film are very long and still",
     {"tempo": "slower", "tempo.intensity": "slight"}),
    ("less piano, a lot less", {"instrument.piano": "less", "instrument.piano.intensity": "strong"}),
    ("the sitar doesnt really fit a wedding slideshow, could you find one without it", {"instrument.sitar": "none"}),
    ("kinda depressing tbh. much less dark please", {"mood.sad": "less", "mood.sad.intensity": "strong"}),
    ("kinda depressing tbh", {"mood.sad": "less", "mood.sad.intensity": "slight"}),
    ("no piano at all, but keep that piano melody", {"conflict": "instrument.piano"}),
    ("keep the piano but no drums", {"instrument.drums": "none"}),
    ("no piano, actually keep the piano", {}),
    # round 11
    ("take out the beat, just keep the melody", {"instrument.drums": "none"}),
    ("can it be much more energetic? hype reel for our football club's season opener",
     {"mood.energetic": "more", "mood.energetic.intensity": "strong"}),
    ("mmm too cheerful. the film is about climate grief", {"mood.happy": "less"}),
    ("slightly less electronic? it feels like a club right now",
     {"genre.electronic": "less", "genre.electronic.intensity": "slight"}),
    ("make it feel like a club", {"genre.dance": "more"}),
    ("i said no rock before but some rock is ok now", {"lifted": ["genre.rock"]}),
    # round 12
    ("not too fast, the slides change every 8 seconds or so", {"tempo": "slower"}),
    ("Under a minute please, it's a quick bumper before the keynote.", {"duration.max_s": 60.0}),
    ("sorry this one is not working for me, please show other", {"something_else": True}),
    ("can u find one without drums? im drumming over it myself", {"instrument.drums": "none"}),
    ("i already play guitar in the vid so no guitar in the music ok", {"instrument.guitar": "none"}),
    ("I want someone playing piano", {"instrument.piano": "more"}),
    ("the beat is kinda overpowering my dialogue can you tone it down", {"instrument.drums": "less"}),
    ("dont worry about how long it is anymore, i'll cut it myself", {"lifted": ["duration"]}),
    ("scratch the no-electronic rule, the new brief has gone in a totally different direction",
     {"lifted": ["genre.electronic"]}),
    # round 13
    ("techno at least 140 bpm for drone racing clip", {"genre.techno": "more", "tempo.min_bpm": 140.0}),
    ("ok now you overcorrected, it's basically a lullaby. bring some energy back", {"mood.energetic": "more"}),
    ("sad stuff is back on the table", {"lifted": ["mood.sad"]}),
    ("no this one not good, other please", {"something_else": True}),
    ("I said no electronic earlier but honestly electronic is ok", {"lifted": ["genre.electronic"]}),
    ("no drums whatsoever, but make the drums hit harder", {"conflict": "instrument.drums"}),
    # round 14
    ("something slower for the grandparents dance", {"tempo": "slower"}),
    ("jazzier, it's for the dance class footage", {"genre.jazz": "more"}),
    ("a dance track please", {"genre.dance": "more"}),
    ("orchestral please, it plays over the drone intro", {"genre.orchestral": "more"}),
    ("no vocals, there are voice lines all through the clip", {"vocals": "off"}),
    ("cheerful please, it's photos from the school fun day", {"mood.happy": "more"}),
    ("vocals please, the instrumental ones sound flat", {"vocals": "on"}),
    ("the beat is sort of too busy", {"instrument.drums": "less"}),
    ("turn the beat down a little", {"instrument.drums": "less", "instrument.drums.intensity": "slight"}),
    ("turn up the beat", {"instrument.drums": "more"}),
    ("we said no piano earlier but actually piano's ok", {"lifted": ["instrument.piano"]}),
    ("meh, don't like it. other one?", {"something_else": True}),
    ("i don't like it, too slow", {"tempo": "faster"}),
    ("we don't need royalty free anymore", {"lifted": ["licence"]}),
    ("not so dark and gloomy please", {"mood.sad": "less"}),
    ("the clip is 45 seconds, so no longer than that", {"duration.max_s": 45}),
    ("our video is 3 minutes, the song should be at least that long", {"duration.min_s": 180}),
    ("calmer, it's a spa, not a wild party", {"mood.calm": "more"}),
    ("not a sad feel please", {"mood.sad": "none"}),
    # round 15
    ("no orchestral epic stuff please", {"genre.orchestral": "none"}),
    ("something orchestral and epic", {"genre.orchestral": "more", "mood.energetic": "more"}),
    ("no strings, I hate that sappy wedding sound", {"instrument.strings": "none"}),
    ("the piano is kind of taking over", {"instrument.piano": "less"}),
    ("scratch the length limit", {"lifted": ["duration"]}),
    ("too happy n bouncy", {"mood.happy": "less"}),
    ("so loud for a quiet morning walk", {"mood.energetic": "less"}),
    ("who thinks rock suits a funeral? no rock", {"genre.rock": "none"}),
    ("dont like. change pls", {"something_else": True}),
    ("no female voice since the host is a woman", {"vocals": "male"}),
    ("Jazz?! For a gym promo? No jazz.", {"genre.jazz": "none"}),
    ("legal approved the singing, so vocals are fine again", {"lifted": ["vocals"]}),
    ("jazz is fine again, and piano as well", {"lifted": ["genre.jazz", "instrument.piano"]}),
    ("the bpm limit is gone now", {"lifted": ["tempo"]}),
    ("it sounds like cheap elevator jazz, no jazz", {"genre.jazz": "none"}),
    ("slower for the sunset bit", {"tempo": "slower"}),
    # round 16
    ("the piano is a bit much", {"instrument.piano": "less", "instrument.piano.intensity": "slight"}),
    ("jazzy, it's for the dance workout", {"genre.jazz": "more"}),
    ("it's a little on the slow side", {"tempo": "faster", "tempo.intensity": "slight"}),
    ("more on the blues side", {"genre.blues": "more"}),
    ("a good bit of piano", {"instrument.piano": "more"}),
    ("something like the music from a movie", {"genre.orchestral": "more"}),
    ("any tempo, we cut to the beat anyway", {"lifted": ["tempo"]}),
    ("a calm piano, like birds singing at dawn", {"instrument.piano": "more", "mood.calm": "more"}),
    ("folk, like a line dance at a wedding", {"genre.folk": "more"}),
    ("push the pace a bit", {"tempo": "faster", "tempo.intensity": "slight"}),
    ("a 15 second ident, nothing longer", {"duration.max_s": 15}),
    ("no female vox", {"vocals": "male"}),
    ("CC0 only, we can't clear anything else", {"licences": ["CC0-1.0"]}),
    ("any tempo is fine, we will trim it anyway", {"lifted": ["tempo"]}),
    ("lean a bit more into the folk side", {"genre.folk": "more", "genre.folk.intensity": "slight"}),
    ("the kick is too boomy", {"instrument.drums": "less"}),
    ("you can cut it down", {"duration": "shorter"}),
    # an instrument's level moved, said after it (probed while writing val rows: these read the other way)
    ("the drums need to come down a bit", {"instrument.drums": "less", "instrument.drums.intensity": "slight"}),
    ("the piano should go down a little", {"instrument.piano": "less", "instrument.piano.intensity": "slight"}),
    ("the tempo needs to come up", {"tempo": "faster"}),
    ("I'd like the drums toned down", {"instrument.drums": "less"}),
    ("the guitar could be dialled back", {"instrument.guitar": "less"}),
    ("the synth turned way down", {"instrument.synth": "less", "instrument.synth.intensity": "strong"}),
    ("the strings brought up a bit", {"instrument.strings": "more", "instrument.strings.intensity": "slight"}),
    ("the drums could sit further back", {"instrument.drums": "less"}),
    ("the piano could come back", {"lifted": ["instrument.piano"]}),  # as "the drums can come back in"
    ("the pace needs picking up", {"tempo": "faster"}),
    ("kick it up a notch", {"mood.energetic": "more", "mood.energetic.intensity": "slight"}),
    # round 17
    ("no singing, it clashes with the guest's voice", {"vocals": "off"}),
    ("the piano sits on top of the voices, less piano", {"instrument.piano": "less"}),
    ("less strings, they drown the voice of the narrator", {"instrument.strings": "less"}),
    ("the licence requirement doesn't matter anymore", {"lifted": ["licence"]}),
    ("scrap the CC0 only rule", {"lifted": ["licence"]}),
    ("it's way too fast. slower please", {"tempo": "slower", "tempo.intensity": "strong"}),
    ("too sad man, cheer it up", {"mood.sad": "less", "mood.happy": "more"}),
    ("a man singing", {"vocals": "male"}),
    ("no me gusta", {"something_else": True}),
    ("this one not suitable", {"something_else": True}),
    ("piano okay again", {"lifted": ["instrument.piano"]}),
    ("vocals please, the instrumental ones are boring", {"vocals": "on"}),
    ("calmer, the happy part was fine", {"mood.calm": "more"}),
    ("the woman's voice is too shrill, a man singing instead", {"vocals": "male"}),
    ("under a minute, viewers swipe fast", {"duration.max_s": 60}),
    ("drop the sax... I mean the synth", {"instrument.synth": "none"}),
    ("faster... no sorry, keep the tempo, I meant darker", {"mood.sad": "more"}),
    # said after the thing, probed with everyday wordings
    ("could the vocals be taken out", {"vocals": "off"}),
    ("the piano should be removed", {"instrument.piano": "none"}),
    ("can the tempo drop a bit", {"tempo": "slower", "tempo.intensity": "slight"}),
    ("the pace could increase a lot", {"tempo": "faster", "tempo.intensity": "strong"}),
    # round 18
    ("no vocals, the kids' own voices tell the story", {"vocals": "off"}),
    ("drop the rock feel and give me piano", {"genre.rock": "none", "instrument.piano": "more"}),
    ("don't give me guitar", {"instrument.guitar": "none"}),
    ("less flute, but don't take it out", {"instrument.flute": "less"}),
    ("that jazz piano is lovely, just slower", {"tempo": "slower"}),
    ("some jazz piano please", {"genre.jazz": "more", "instrument.piano": "more"}),
    ("I love the rock drums, but slower", {"tempo": "slower"}),
    ("it can have vocals again", {"lifted": ["vocals"]}),
    ("shorter, my reel is only 15 seconds", {"duration": "shorter", "duration.max_s": 15}),
    ("actually jazz is fine", {"lifted": ["genre.jazz"]}),
    ("too sad tbh tone it down", {"mood.sad": "less"}),
    ("way too fast for the dance trend", {"tempo": "slower", "tempo.intensity": "strong"}),
    ("piano isn't banned anymore", {"lifted": ["instrument.piano"]}),
    ("no drums please it's a sleepy puppy", {"instrument.drums": "none"}),
    ("we can have vocals now", {"lifted": ["vocals"]}),
    # round 19
    ("the flute is sweet but it's too slow", {"tempo": "faster"}),
    ("the strings are lovely but lower them a bit",
     {"instrument.strings": "less", "instrument.strings.intensity": "slight"}),
    ("ok singing's fine again, go for it", {"lifted": ["vocals"]}),
    ("you can play jazz again", {"lifted": ["genre.jazz"]}),
    ("before, I said no piano but piano is fine now", {"lifted": ["instrument.piano"]}),
    ("aiyo, don't like. change song", {"something_else": True}),
    ("something with a jazz touch", {"genre.jazz": "more"}),
    ("the beat too loud, my tutorial voice is lost", {"instrument.drums": "less"}),
    ("happy to have vocals again", {"lifted": ["vocals"]}),
    ("no wrap please", {"genre.hiphop": "none"}),
    ("one twenty b p m please", {"tempo.min_bpm": 110, "tempo.max_bpm": 130}),
    ("see see zero only", {"licences": ["CC0-1.0"]}),
    ("it's just not doing it for me", {"something_else": True}),
    ("not fussed about the no guitar thing anymore", {"lifted": ["instrument.guitar"]}),
    ("bring back the piano and strings", {"lifted": ["instrument.piano", "instrument.strings"]}),
    # round 20
    ("no vocals, the singer talks over my narration", {"vocals": "off"}),
    ("vocals are fine as long as they're female", {"vocals": "female"}),
    ("the piano just doesn't fit, no piano", {"instrument.piano": "none"}),
    ("the synth does not belong here", {"instrument.synth": "less"}),
    ("kinda long, under a minute please", {"duration": "shorter", "duration.max_s": 60}),
    ("basta with the rock", {"genre.rock": "none"}),
    ("softer, and the drums also are too loud", {"mood.calm": "more", "instrument.drums": "less"}),
    ("less strong please", {"mood.energetic": "less"}),
    ("jazz is ok again, and the piano too", {"lifted": ["genre.jazz", "instrument.piano"]}),
    ("we filmed a lake at dawn, it's very still, so no drums", {"instrument.drums": "none"}),
    # round 21
    ("a bit slower? the transitions are really slow", {"tempo": "slower", "tempo.intensity": "slight"}),
    ("jazz, I said JAZZ", {"genre.jazz": "more"}),
    ("again with the drums?? no drums", {"instrument.drums": "none"}),
    ("quit it with the synth", {"instrument.synth": "none"}),
    ("fine, the piano can come back. happy now?", {"lifted": ["instrument.piano"]}),
    ("why does every song have a man singing? a woman please", {"vocals": "female"}),
    ("the drums are a bit too loud, can nobody else hear that?",
     {"instrument.drums": "less", "instrument.drums.intensity": "slight"}),
    ("over a minute please, why are these all so short?", {"duration.min_s": 60}),
    ("no flute, people will think it's a nature documentary", {"instrument.flute": "none"}),
    ("too gloomy, the beaches here are sunny", {"mood.sad": "less"}),
    ("faster, the kids run really fast in it", {"tempo": "faster"}),
    ("otra por favor", {"something_else": True}),
    ("not the vibe of my brand, show me different", {"something_else": True}),
    ("great, even slower. exactly what I didn't want", {"tempo": "faster"}),
    ("love it, even more strings /s", {"instrument.strings": "less"}),
    # round 22
    ("it doesn't have to be instrumental anymore", {"lifted": ["vocals"]}),
    ("ugh jazz again, no jazz", {"genre.jazz": "none"}),
    ("no vocals maybe? the voice kind of bothers me", {"vocals": "off"}),
    ("what if the piano wasn't there?", {"instrument.piano": "none"}),
    ("the bpm limit, just forget about it", {"lifted": ["tempo"]}),
    ("at least a minute, the video turned out longer than planned", {"duration.min_s": 60}),
    ("the rock thing is fine now", {"lifted": ["genre.rock"]}),
    ("I don't really care about the length anymore", {"lifted": ["duration"]}),
    ("not quite it, a bit slower", {"tempo": "slower", "tempo.intensity": "slight"}),
    ("not quite it", {"something_else": True}),
    ("a song you'd sing at a campfire, folky", {"genre.folk": "more"}),
    ("slow, it's a rock-a-bye for the baby", {"tempo": "slower"}),
    ("upbeat for the school dance", {"tempo": "faster"}),
    ("a dance track please", {"genre.dance": "more"}),
    ("livelier, it's the bouncy castle clip", {"mood.energetic": "more"}),
    # round 23
    ("a bit too much jazz, tone it down a bit", {"genre.jazz": "less", "genre.jazz.intensity": "slight"}),
    ("the flute is nice but it's far too prominent",
     {"instrument.flute": "less", "instrument.flute.intensity": "strong"}),
    ("softer, it plays under the groom's speech", {"mood.calm": "more"}),
    ("no strings, every ad has that exact same strings bit", {"instrument.strings": "none"}),
    ("way too loud, the synth is burying the dialogue",
     {"instrument.synth": "less", "instrument.synth.intensity": "strong"}),
    ("forget the licence thing", {"lifted": ["licence"]}),
    ("it's dragging on, shorter please", {"duration": "shorter"}),
    ("it drags", {"tempo": "faster"}),
    ("happy for it to have vocals again", {"lifted": ["vocals"]}),
    ("jazz would sit better", {"genre.jazz": "more"}),
    ("a woman's voice would fit better", {"vocals": "female"}),
    ("no synth, this isn't a Daft Punk video", {"instrument.synth": "none"}),
    ("ditch my no-vocals thing", {"lifted": ["vocals"]}),
    ("public domain, it's about 1950s Paris", {"licences": ["CC0-1.0"]}),
    ("hmm, move on", {"something_else": True}),
    # round 24: negation and scope in natural places
    ("there's barely any piano in this, more please", {"instrument.piano": "more"}),
    ("hardly any bass here, needs more punch", {"mood.energetic": "more"}),
    ("hardly any of this is happy; much brighter", {"mood.happy": "more", "mood.happy.intensity": "strong"}),
    ("no more strings than now, but slower", {"tempo": "slower"}),
    ("don't make it less jazzy, just shorter", {"duration": "shorter"}),
    ("it's not that it's too slow, the piano is too loud", {"instrument.piano": "less"}),
    ("it's not that i don't like the synth, i just want less of it", {"instrument.synth": "less"}),
    ("not so much the piano as the strings, they're too loud", {"instrument.strings": "less"}),
    ("I'd skip this since it's too slow", {"tempo": "faster"}),
    ("skip this one", {"something_else": True}),
    ("the no-drums rule doesn't apply anymore", {"lifted": ["instrument.drums"]}),
    ("tempo doesn't matter anymore, and neither does the length", {"lifted": ["duration", "tempo"]}),
    ("at most 90 bpm, nothing faster than that", {"tempo.max_bpm": 90}),
    ("CC0 only, not anything else", {"licences": ["CC0-1.0"]}),
    ("I wouldn't mind if the flute was gone", {"instrument.flute": "none"}),
    ("not a single drum please", {"instrument.drums": "none"}),
    ("no vocals, male or female", {"vocals": "off"}),
    ("royalty free, it's for the rowing club channel", {"licences": ["royalty-free"]}),
    ("make it feel like a club", {"genre.dance": "more"}),
    # round 25: musicians' words and long messages
    ("pianissimo please", {"mood.calm": "more"}),
    ("an a cappella choir", {"instrument.choir": "more", "vocals": "on"}),
    ("beautiful phrasing in the piano, but faster", {"tempo": "faster"}),
    ("nice and gentle", {"mood.calm": "more"}),
    ("great energy, but drop the choir", {"instrument.choir": "none"}),
    ("a baritone or a tenor", {"vocals": "male"}),
    ("the classical guitar is too loud", {"instrument.guitar": "less"}),
    ("more woodwinds", {"instrument.flute": "more"}),
    ("the guitar tone here is gorgeous, but slower", {"tempo": "slower"}),
    ("the piano on this is lovely. shorter though", {"duration": "shorter"}),
    ("a piano piece would be nice", {"instrument.piano": "more"}),
    ("a bit less pop sounding would be good", {"genre.pop": "less", "genre.pop.intensity": "slight"}),
    ("the strings gave me chills, just shorter", {"duration": "shorter"}),
    ("the chorus is catchy but it's too fast", {"tempo": "slower"}),
    ("a female singer on the chorus", {"vocals": "female"}),
    ("after about thirty seconds it gets too loud", {"mood.energetic": "less"}),
    ("anything from 45 seconds to a minute", {"duration.min_s": 45, "duration.max_s": 60}),
    ("quick note: royalty free only", {"licences": ["royalty-free"]}),
    ("I told you earlier to keep it short, but forget the length limit", {"lifted": ["duration"]}),
    ("it sounds too much like a film score", {"genre.orchestral": "less"}),
    ("calm and yet not calm", {"conflict": "mood.calm"}),
    # round 26: longer messages and first-time users
    ("I like the mood, but the singer keeps fighting my narration. No vocals please", {"vocals": "off"}),
    ("the warm piano pad is exactly the vibe. royalty free only please", {"licences": ["royalty-free"]}),
    ("they met at a jazz bar, so nothing sad", {"mood.sad": "none"}),
    ("the guitar sound is close, just a touch faster", {"tempo": "faster", "tempo.intensity": "slight"}),
    ("forget what I said about keeping it under two minutes", {"lifted": ["duration"]}),
    ("I said no vocals earlier, but singing would be fine now", {"lifted": ["vocals"]}),
    ("the strings swell and pull focus. turn the strings down", {"instrument.strings": "less"}),
    ("the vocals break the spell. instrumental only", {"vocals": "off"}),
    ("I know I banned the piano two tracks ago, but piano is fine again", {"lifted": ["instrument.piano"]}),
    ("the ending turns into something like rock. no rock please", {"genre.rock": "none"}),
    ("the hi-hats are too loud", {"instrument.drums": "less"}),
    ("it's for my Indian street food vlog, something relaxed with sitar",
     {"mood.calm": "more", "instrument.sitar": "more"}),
    ("the pace makes the video feel longer than it is, faster please", {"tempo": "faster"}),
    ("a cinematic reveal of our new kitchen, calm please", {"mood.calm": "more"}),
    ("an orchestral trailer cue", {"genre.orchestral": "more"}),
    ("anything else like it but calmer?", {"mood.calm": "more"}),
    ("stop avoiding jazz and piano", {"lifted": ["genre.jazz", "instrument.piano"]}),
    # round 27
    ("it doesn't have to be instrumental", {"lifted": ["vocals"]}),
    ("no drums but still drum heavy", {"conflict": "instrument.drums"}),
    ("less synth-heavy please", {"instrument.synth": "less"}),
    ("like 80s synth pop", {"instrument.synth": "more", "genre.pop": "more"}),
    ("something from the 90s, upbeat", {"tempo": "faster"}),
    ("the tempo should be faster, like 130+", {"tempo": "faster", "tempo.min_bpm": 130}),
    ("the piano is a lot", {"instrument.piano": "less"}),
    ("much slower, this drags on forever", {"tempo": "slower", "tempo.intensity": "strong"}),
    ("it's dragging on, needs to be shorter", {"duration": "shorter"}),
    ("this is depressing, happier please", {"mood.sad": "less", "mood.happy": "more"}),
    ("it is slow", {}),
    ("add some beat to it", {"instrument.drums": "more"}),
    ("I was wrong about the flute, let it back in", {"lifted": ["instrument.flute"]}),
    ("dude this is so gloomy", {"mood.sad": "less"}),
    # round 28
    ("a running montage for my club, faster", {"tempo": "faster"}),
    ("that sax solo screams lounge jazz. no jazz", {"genre.jazz": "none"}),
    ("something that sounds like a film score", {"genre.orchestral": "more"}),
    ("night driving through the city, darker please", {"mood.sad": "more"}),
    ("I know I banned piano earlier, but piano is okay again", {"lifted": ["instrument.piano"]}),
    ("the client relaxed the tempo requirement", {"lifted": ["tempo"]}),
    ("drums can come back, before I say no drum", {"lifted": ["instrument.drums"]}),
    ("you can put song with vocal", {"lifted": ["vocals"]}),
    ("i changed mind, the piano sound is fine", {"lifted": ["instrument.piano"]}),
    ("not my taste, give me next", {"something_else": True}),
    ("try other one", {"something_else": True}),
    # round 29: lists and self-corrections
    ("jazz is fine again, and any length", {"lifted": ["duration", "genre.jazz"]}),
    ("tempo: way up / drums: down a bit", {"tempo": "faster", "tempo.intensity": "strong",
                                           "instrument.drums": "less", "instrument.drums.intensity": "slight"}),
    ("~2 min, guitar", {"duration.min_s": 102, "duration.max_s": 138, "instrument.guitar": "more"}),
    ("vocals ok again + still want it calmer", {"lifted": ["vocals"], "mood.calm": "more"}),
    ("length: whatever. piano: fine again.", {"lifted": ["duration", "instrument.piano"]}),
    ("piano's allowed back in; and jazz is fine too", {"lifted": ["genre.jazz", "instrument.piano"]}),
    ("more jazz, er, more blues I mean", {"genre.blues": "more"}),
    ("without the flute, no hold on, without the sitar", {"instrument.sitar": "none"}),
    ("around 90 bpm, no, around 100", {"tempo.min_bpm": 90, "tempo.max_bpm": 110}),
    ("make the drums louder, no, make the whole thing louder", {"mood.energetic": "more"}),
    ("no piano, sorry, I mean no sad stuff", {"mood.sad": "none"}),
    ("faster, er, not faster, I meant happier", {"mood.happy": "more"}),
    ("no strings... or actually just a bit less strings",
     {"instrument.strings": "less", "instrument.strings.intensity": "slight"}),
    ("rock, well, more like metal", {"genre.metal": "more"}),
    ("piano's fine again, I shouldn't have cut it", {"lifted": ["instrument.piano"]}),
    ("this isn't it at all, more funk please", {"genre.funk": "more"}),
    ("no drums, actually, more piano", {"instrument.drums": "none", "instrument.piano": "more"}),
    ("shorter, no, longer", {"duration": "longer"}),  # a self-correction (round 29's writer), no longer a 422
    ("it's the vocals, they clash with the voiceover, so lose them completely please", {"vocals": "off"}),
    # round 30: negated questions, contrasts, double negatives, degree and number corrections
    ("couldn't we try it a little slower?", {"tempo": "slower", "tempo.intensity": "slight"}),
    ("can't you find one with a woman singing?", {"vocals": "female"}),
    ("why not add some flute?", {"instrument.flute": "more"}),
    ("not slightly slower, way slower", {"tempo": "slower", "tempo.intensity": "strong"}),
    ("not 100 bpm, more like 80", {"tempo.min_bpm": 70, "tempo.max_bpm": 90}),
    ("we can't have anything over 30 seconds", {"duration.max_s": 30}),
    ("vocals don't matter anymore, forget what I said", {"lifted": ["vocals"]}),
    ("happier, not sadder", {"mood.happy": "more"}),
    ("slower, not louder", {"tempo": "slower", "mood.energetic": "less"}),
    ("I'm not looking for a faster one, just something shorter", {"duration": "shorter"}),
    ("I never asked for a louder track, I asked for a happier one", {"mood.happy": "more"}),
    ("don't make it any slower, it needs more energy", {"mood.energetic": "more"}),
    ("leave the piano alone, the drums though are too loud", {"instrument.drums": "less"}),
    ("nothing wrong with the vocals, but drop the synth", {"instrument.synth": "none"}),
    ("it's not nearly fast enough", {"tempo": "faster"}),
    ("it isn't long enough", {"duration": "longer"}),
    ("I wouldn't object to some strings", {"instrument.strings": "more"}),
    ("I was about to ask for more drums, but just play another one", {"something_else": True}),
    ("faster - no, way faster. actually, just a little", {"tempo": "faster", "tempo.intensity": "slight"}),
    ("the synth is much too loud... well, a bit too loud",
     {"instrument.synth": "less", "instrument.synth.intensity": "slight"}),
    ("around 90 bpm - no, 95", {"tempo.min_bpm": 85, "tempo.max_bpm": 105}),
    ("a jazz track, or actually... a blues track", {"genre.blues": "more"}),
    ("under 2 minutes... no, at least 2 minutes", {"duration.min_s": 120}),
    ("only CC0 - or rather, CC BY works too", {"licences": ["CC-BY-4.0", "CC0-1.0"]}),
    ("vocals can come back... actually, piano too", {"lifted": ["instrument.piano", "vocals"]}),
    ("no drums, wait, scratch the drums part, just no synth", {"instrument.synth": "none"}),
    ("faster - actually scratch that, play me a different one", {"something_else": True}),
    # round 31: the video's performers, a distraction, run-on clauses, sarcasm, a hedge of before
    ("there's a girl playing violin on the street in my video, so no strings please", {"instrument.strings": "none"}),
    ("my dad plays piano in the last scene, so no piano in the track", {"instrument.piano": "none"}),
    ("a brass band with a drummer appears in the opening shot, give me something electronic",
     {"genre.electronic": "more"}),
    ("footage of her singing at a wedding, and I'd like an instrumental", {"vocals": "off"}),
    ("I want someone playing guitar", {"instrument.guitar": "more"}),
    ("the strings kept drawing my attention away, no strings", {"instrument.strings": "none"}),
    ("a guitar shop tour, make it happier", {"mood.happy": "more"}),
    ("I was being way too fussy about the length earlier, any length is fine", {"lifted": ["duration"]}),
    ("sure, because every wedding needs heavy metal", {"genre.metal": "none"}),
    ("could this be any more depressing?", {"mood.sad": "less"}),
    ("lose the flute its way too shrill", {"instrument.flute": "none"}),
    ("not vibing with this one", {"something_else": True}),
    ("we changed our mind, vocals are ok now", {"lifted": ["vocals"]}),
    ("luv the drums, just shorter", {"duration": "shorter"}),
    # round 32: misspelt and misheard words, a learner's progressive, easing off, front and centre
    ("witout drums please", {"instrument.drums": "none"}),
    ("ease off the synth", {"instrument.synth": "less"}),
    ("ease off on the strings a lot", {"instrument.strings": "less", "instrument.strings.intensity": "strong"}),
    ("no vocals, and the female singer should be front and centre", {"conflict": "vocals"}),
    ("tempo is not mattering now", {"lifted": ["tempo"]}),
    ("not like this one", {"something_else": True}),
    ("the quire sounds too loud", {"instrument.choir": "less"}),
    ("royal tea free music only", {"licences": ["royalty-free"]}),
    ("length doesn't really matter anymore", {"lifted": ["duration"]}),
    # round 33: releases in questions and hedges, 'still has', 'X and Y don't matter'
    ("we can have the piano back now", {"lifted": ["instrument.piano"]}),
    ("jazz is okay actually", {"lifted": ["genre.jazz"]}),
    ("the track still has vocals", {"vocals": "off"}),
    ("isn't it a bit too fast for a bedtime story video?", {"tempo": "slower", "tempo.intensity": "slight"}),
    ("the flute doesn't need to be left out anymore", {"lifted": ["instrument.flute"]}),
    ("it doesn't have to stay slow anymore", {"lifted": ["tempo"]}),
    ("guitar and piano can come back", {"lifted": ["instrument.guitar", "instrument.piano"]}),
    ("how about skipping this one", {"something_else": True}),
    # round 34: exclusions and exceptions, the only thing not wanted, exasperation
    ("any style except metal is okay with me", {"genre.metal": "none"}),
    ("any instrument but sitar", {"instrument.sitar": "none"}),
    ("more strings; apart from that, it's good", {"instrument.strings": "more"}),
    ("the choir is the only thing I don't like", {"instrument.choir": "none"}),
    ("rule out anything electronic", {"genre.electronic": "none"}),
    ("no rap, everything else is fine", {"genre.hiphop": "none"}),
    ("anything but this", {"something_else": True}),
    ("slower, why is this so hard", {"tempo": "slower"}),
])
def test_reasons_refusals_and_lifts_as_people_say_them(text: str, expected: dict[str, object]) -> None:
    assert reading(text) == expected


def test_compatible_readings_of_one_attribute_are_no_conflict() -> None:
    assert parse_utterance("less guitar, actually no guitar").instruments == {"guitar": Change(direction="none")}
    assert parse_utterance("male and female vocals").vocals == "on"
    assert parse_utterance("I want it faster, much faster").tempo.intensity == "strong"  # type: ignore[union-attr]


@settings(max_examples=400, deadline=None)
@given(st.text(max_size=200))
def test_any_text_reads_or_names_a_conflict(text: str) -> None:
    """The gateway's "no text ever gives a 5xx" starts here: any string reads, or raises the typed 422."""
    try:
        parse_utterance(text)
    except RequestConflictError as error:
        assert error.status == 422 and error.conflict.attribute
