"""The words the rule reader knows: attribute mentions (MusiCNN vocabularies plus everyday synonyms) and
the cue words that give a mention its direction (negators, more/less, "too", intensifiers, lifts).

Phrases are tuples of normalised tokens (lower case, apostrophes dropped, hyphens as spaces). Each mention
names one attribute key of `contracts.request` and a sign: +1 means "the quality itself" (fast, vocals,
piano, jazz), -1 its opposite on the same axis (slow, instrumental). An `implied` cue is part of the word
itself: "jazzier" says more jazz, "frantic" says too fast.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

Cue = Literal["neg", "more", "less", "too", "lift", "restore", "keep", "slight", "strong", "weak_more"]


@dataclass(frozen=True)
class Mention:
    key: str  # "tempo", "vocals", "duration", "licence", "instrument.piano", "genre.jazz", "mood.calm"
    sign: int = 1  # +1 the quality, -1 its opposite, 0 the attribute named without a direction ("tempo")
    gender: str | None = None  # vocals only
    implied: Cue | None = None
    quality: bool = False  # an adjective that can also describe another mention ("quieter drums")
    limit: bool = False  # names a limit on the attribute: negated, it lifts it ("remove the tempo limit")


def _words(*phrases: str) -> list[tuple[str, ...]]:
    return [tuple(p.split()) for p in phrases]


MENTIONS: dict[tuple[str, ...], Mention] = {}


def _add(mention: Mention, *phrases: str) -> None:
    for phrase in _words(*phrases):
        MENTIONS[phrase] = mention


# ---- tempo
_add(Mention("tempo", 1), "fast", "quick", "speedy", "uptempo", "up tempo", "upbeat", "brisk", "pacey", "rapid")
_add(Mention("tempo", 1, implied="more"), "faster", "quicker", "speedier", "faster paced", "more pace",
     "higher tempo", "higher bpm", "speed up", "speed it up", "speed things up", "pick up the pace",
     "pick up the tempo", "pick it up", "pace it up", "pace things up", "up the pace",
     "tempo up", "faster tempo", "faster pace", "faster bpm", "quicker tempo", "quicker pace", "up the tempo",
     "more tempo", "more speed", "step it up",
     "raise the tempo", "increase the tempo", "raise the bpm", "increase the bpm", "raise the pace",
     "increase the pace", "crank up the tempo", "double the tempo", "double time", "twice as fast")
_add(Mention("tempo", 1, implied="too"), "frantic", "rushed", "hectic")
_add(Mention("tempo", -1), "slow", "slowly", "leisurely", "unhurried", "downtempo", "down tempo")
_add(Mention("tempo", -1, implied="more"), "slower", "slower paced", "lower tempo", "lower bpm", "slow down",
     "slower tempo", "slower pace", "slower bpm",
     "slow it down", "slow things down", "tempo down", "bring the tempo down", "bring it down",
     "calm the pace", "ease the pace", "ease off", "take it down", "more slowly", "less pace",
     "drop the tempo", "lower the tempo", "reduce the tempo", "drop the pace", "lower the pace", "reduce the pace",
     "drop the bpm", "lower the bpm", "reduce the bpm", "half the tempo", "halve the tempo", "half time",
     "halftime", "half speed", "half tempo", "twice as slow")
_add(Mention("tempo", -1, implied="too"), "drags", "dragging", "sluggish", "plodding")
_add(Mention("tempo", 0), "tempo", "speed", "pace", "bpm", "rhythm")
_LIMIT_WORDS = ("limit", "range", "restriction", "filter", "constraint", "cap", "requirement", "requirements", "rule",
                "setting", "target")
_add(Mention("tempo", 0, limit=True), *(f"{a} {b}" for a in ("tempo", "bpm", "speed") for b in _LIMIT_WORDS))
# "drop the bpm" is slower, "drop the bpm limit" lifts it: the longer phrase is read whole
_add(Mention("tempo", 0, implied="neg", limit=True), *(f"drop the {a} {b}" for a in ("tempo", "bpm", "speed")
                                                        for b in _LIMIT_WORDS))

# ---- vocals
_add(Mention("vocals", 1), "a cappella", "acapella", "a capella")
_add(Mention("vocals", 1), "vocal", "vocals", "voice", "voices", "singing", "singer", "singers", "sing", "sung",
     "lyrics", "lyric", "vocalist", "vocalists", "vox", "sings", "singing on it",
     "someone singing", "somebody singing", "anyone singing",
     "a vocal", "words", "a song with words")
_add(Mention("vocals", -1), "instrumental", "instrumentals", "instrumental only", "purely instrumental",
     "non vocal", "nonvocal", "non vocals", "wordless", "vocalless", "voiceless")
_add(Mention("vocals", 1, gender="female"), "female", "female vocal", "female vocals", "female vocalist",
     "female vocalists", "female singer", "female voice", "woman singing", "a woman", "women", "womans voice",
     "girl singing", "a girl", "diva", "soprano", "she sings", "woman", "female singing", "women singing", "alto",
     "an alto", "mezzo soprano",
     "a lady", "lady")
_add(Mention("vocals", 1, gender="male"), "male", "male vocal", "male vocals", "male vocalist", "male vocalists",
     "male singer", "male voice", "man singing", "a man", "men", "mans voice", "guy singing", "guy sing", "tenor",
     "a tenor",
     "a guy", "baritone", "he sings", "man", "male singing", "men singing", "guys voice", "a dude", "dude",
     "a bloke")
# A gendered word and the vocals noun after it are one mention ("no female singers" is male or none, not
# "no vocals" and "male" at once).
for _gender, _adjectives in (("female", ("female", "woman", "women", "womans", "girl", "girls", "lady", "ladies")),
                             ("male", ("male", "man", "men", "mans", "guy", "guys", "dude", "dudes", "bloke"))):
    _add(Mention("vocals", 1, gender=_gender),
         *(f"{a} {n}" for a in _adjectives for n in ("singer", "singers", "vocalist", "vocalists", "voice",
                                                      "voices", "vocals", "vocal", "singing", "lead", "lead vocals",
                                                      "lead singer", "vox", "fronted", "led", "s voice",
                                                      "s vocals", "s singing")))

# "the voice of a man", "man voice" (non-native word orders)
for _gender, _people in (("female", ("woman", "a woman", "women", "girl", "a girl", "lady", "a lady")),
                         ("male", ("man", "a man", "men", "guy", "a guy", "boy", "a boy"))):
    _add(Mention("vocals", 1, gender=_gender), *(f"{voice} of {who}" for voice in ("voice", "the voice", "voices",
                                                                                  "singing", "vocals")
                                                 for who in _people))
_add(Mention("vocals", 1, gender="female"), *(f"a {who} {doing}" for who in ("woman", "girl", "lady", "woman s",
                                                                           "girl s", "lady s")
                                              for doing in ("singing", "sing", "singer", "voice", "vocalist")))
_add(Mention("vocals", 1, gender="male"), *(f"a {who} {doing}" for who in ("man", "guy", "dude", "bloke", "man s",
                                                                         "guy s", "dude s", "bloke s")
                                            for doing in ("singing", "sing", "singer", "voice", "vocalist")))

# ---- instruments (MusiCNN MTT/MSD tags and their everyday names)
_INSTRUMENT_WORDS = {
    "piano": ("piano", "pianos", "acoustic piano", "keys", "keyboard", "keyboards", "grand piano", "harpsichord",
              "ivories"),
    "strings": ("strings", "string", "string section", "violin", "violins", "cello", "cellos", "viola", "fiddle",
                "fiddles", "harp", "string quartet"),
    "guitar": ("guitar", "guitars", "acoustic guitar", "electric guitar", "acoustic", "unplugged", "guitar solo",
               "riffs", "riff", "strumming", "classical guitar", "spanish guitar", "nylon guitar"),
    "drums": ("drums", "drum", "drumming", "percussion", "beats", "bass drum", "kick drum", "drum kit", "snare",
              "hi hats", "hi hat", "hihat", "hihats", "cymbals", "toms",
              "drummer", "percussive"),
    "synth": ("synth", "synths", "synthesizer", "synthesizers", "synthesiser", "synthesisers", "synthy", "synthier"),
    "flute": ("flute", "flutes", "pan flute", "recorder", "woodwind", "woodwinds", "woodwind section"),
    "sitar": ("sitar", "sitars"),
    "choir": ("choir", "choirs", "choral", "chant", "chanting"),  # not "chorus": the song's part, as people use it
}
for _name, _phrases in _INSTRUMENT_WORDS.items():
    _add(Mention(f"instrument.{_name}"), *_phrases)
# "beat" alone is tempo talk ("the beat is too fast"); with a quantity it is the drums.
_add(Mention("instrument.drums", implied="more"), "some beat", "add a beat", "add some beat", "a bit of beat")
_add(Mention("instrument.drums", implied="more"), "more beat", "a stronger beat", "stronger beat", "a heavier beat",
     "heavier beat", "with a beat", "a good beat", "a solid beat", "more of a beat", "a proper beat", "proper beat",
     "a real beat", "a decent beat",
     *(f"{det}{adj} beat" for det in ("", "a ") for adj in ("strong", "heavy", "big", "hard", "punchy", "pounding",
                                                            "thumping", "fat", "clear", "steady", "thick")))
# Without "beat" there are no drums ("is there one without the beat?"); the tempo sense needs a speed word.
_add(Mention("instrument.drums", implied="neg"),
     *(f"{neg} {det}{beat}" for neg in ("no", "without", "lose", "drop", "nothing with", "anything without",
                                         "take out", "remove", "cut", "cut out", "kill", "ditch", "get rid of", "mute",
                                         "strip out", "leave out", "skip")
       for det in ("", "the ", "a ", "any ")
       for beat in ("beat", "beats")))
_add(Mention("instrument.drums", implied="less"), "less beat", "a softer beat", "softer beat", "a lighter beat",
     "lighter beat")

# ---- genres
_GENRE_WORDS = {
    "classical": (("classical", "baroque"), ("more classical",)),
    "orchestral": (("orchestral", "orchestra", "symphonic", "symphony", "cinematic", "film score", "movie score",
                    "soundtrack", "film music", "movie music",
                    *(f"music {of} {a}{old}{film}" for of in ("in", "from", "of") for a in ("a ", "the ", "")
                      for old in ("", "old ", "classic ", "the old ") for film in ("film", "films", "movie", "movies")),
                    # "epic" beside an orchestral word names that kind of music (trailer music), not a mood of its own
                    *(f"{a} {b}" for a, b in (("epic", "orchestral"), ("orchestral", "epic"), ("epic", "cinematic"),
                                              ("cinematic", "epic"), ("epic", "film score"), ("film score", "epic"),
                                              ("epic", "movie score"), ("epic", "soundtrack"), ("epic", "score"),
                                              ("epic", "symphonic"), ("epic", "orchestra")))), ()),
    "electronic": (("electronic", "electronica", "edm", "electro", "synthwave"), ()),
    "techno": (("techno", "techno club"), ()),
    "dance": (("dance", "dancey", "dance y", "dancy", "danceable", "club", "clubby", "club music", "house music",
               "deep house"), ("more danceable",)),
    "rock": (("rock", "rocky", "grunge", "punk", "indie rock", "rock n roll"), ("rockier",)),
    "metal": (("metal", "heavy metal", "metalcore"), ()),
    "pop": (("pop", "poppy", "pop music"), ("poppier",)),
    "jazz": (("jazz", "jazzy", "swing", "bebop"), ("jazzier",)),
    "blues": (("blues", "bluesy"), ("bluesier",)),
    "folk": (("folk", "folky", "folksy"), ("folkier",)),
    "country": (("country", "bluegrass", "western"), ()),
    "hiphop": (("hip hop", "hiphop", "rap", "rapper", "rapping", "trap", "rnb", "r and b"), ()),
    "funk": (("funk", "funky", "soul", "soulful", "groovy", "disco", "groove", "grooves"), ("funkier", "groovier")),
    "ambient": (("ambient", "atmospheric", "drone", "new age"), ()),
    "indian": (("indian", "bollywood", "raga"), ()),
}
for _name, (_plain, _comparative) in _GENRE_WORDS.items():
    _add(Mention(f"genre.{_name}"), *_plain)
    _add(Mention(f"genre.{_name}", implied="more"), *_comparative)

# ---- moods
_MOOD_WORDS = {
    "calm": (("calm", "relaxed", "relaxing", "chill", "chilled", "mellow", "peaceful", "gentle", "soft", "quiet",
              "soothing", "serene", "tranquil", "relax", "calming", "chillout", "sleepy", "drowsy", "lullaby",
              "chill out", "laid back", "laidback", "easy listening", "dreamy", "restful", "pianissimo", "mezzo piano",
              "dolce"),
             ("calmer", "more relaxed", "mellower", "gentler", "softer", "quieter", "chiller", "dreamier")),
    "energetic": (("energetic", "energy", "punch", "oomph", "intensity", "excitement", "banger", "bangers",
                   "anthem", "anthemic", "edgy", "more edge", "some edge", "more drive", "lacks drive",
                   "lacking drive", "some drive", "harder", "go harder", "hit harder", "some life", "more life",
                   "life into it", "bring it to life",
                   "intense", "lively", "powerful", "punchy", "driving", "high energy", "strong", "fortissimo",
                   "forte", "mezzo forte",
                   "exciting", "hype", "vigorous", "dynamic", "loud", "aggressive", "epic", "pumped", "pumping"),
                  ("livelier", "more intense", "punchier", "louder", "more energetic", "pump it up", "amp it up",
                   "liven it up", "liven things up", "liven up", "livening up", "livening it up",
                   "livened up")),
    "happy": (("happy", "cheerful", "joyful", "joyous", "uplifting", "bright", "sunny", "fun", "playful", "smile",
               "smiles", "smiling", "brightness", "cheerfulness", "happiness",
               "optimistic", "feel good", "positive", "jolly", "cheery", "hopeful", "bouncy", "chipper", "sugary",
               "saccharine"),
              ("happier", "brighter", "sunnier", "cheerier", "more cheerful", "cheer it up", "cheer things up",
               "brighten it up", "brighten things up", "bouncier")),
    "sad": (("sad", "melancholic", "melancholy", "gloomy", "somber", "sombre", "dark", "moody", "mournful",
             "bittersweet", "depressing", "tragic", "sorrowful", "wistful", "downbeat", "darkness", "gloominess",
             "downer",
            "sadness"),
            ("sadder", "darker", "gloomier", "moodier")),
}
# From WordNet 3.0 (Debian's wordnet-base): adjectives in the "similar to" sets of the seed words above, and
# a few nouns of the same senses, kept by hand where they describe music and have no commoner other sense
# ("still", "smooth", "glad", "sweet", "blue", "wild" were left out). Chosen on WordNet and val only.
_WORDNET_MOODS = {
    "calm": ("placid", "unruffled", "untroubled", "languid", "languorous", "reposeful", "velvety", "halcyon",
             "easygoing", "serenity", "tranquility", "tranquillity", "calmness"),
    "energetic": ("peppy", "zippy", "snappy", "spirited", "effervescent", "exhilarating", "electrifying",
                  "thrilling", "stimulating", "invigorating", "kinetic", "propulsive", "thunderous", "blaring",
                  "high octane", "high powered", "fierce", "heroic", "larger than life", "vitality", "vigour",
                  "vigor", "zest", "pep", "verve", "gusto"),
    "happy": ("chirpy", "perky", "buoyant", "blithe", "lighthearted", "light hearted", "jaunty", "gleeful",
              "jubilant", "jovial", "merry", "mirthful", "jocund", "elated", "festive", "frisky", "frolicsome",
              "rollicking", "bubbly", "beaming", "breezy", "syrupy", "treacly", "cloying", "joy", "glee"),
    "sad": ("doleful", "heavyhearted", "pensive", "plaintive", "elegiac", "lugubrious", "dour", "glum", "morose",
            "dreary", "dismal", "cheerless", "downcast", "downhearted", "dejected", "woeful", "tearful",
            "heartbreaking", "heartrending", "heartbroken", "low spirited", "grim", "sullen", "unhappy", "joyless",
            "sorrow", "grief", "gloom"),
}
_WORDNET_MOOD_COMPARATIVES = {"energetic": ("fiercer",), "sad": ("glummer", "grimmer", "dourer")}
for _name, _words_of_mood in _WORDNET_MOODS.items():
    _MOOD_WORDS[_name] = (_MOOD_WORDS[_name][0] + _words_of_mood,
                          _MOOD_WORDS[_name][1] + _WORDNET_MOOD_COMPARATIVES.get(_name, ()))
# WordNet's tempo adjectives (the Italian markings included) for the same two directions.
_add(Mention("tempo", 1, implied="more"), "swifter", "brisker")
_add(Mention("tempo", 1), "swift", "hurried", "allegro", "presto", "prestissimo", "vivace", "fast paced")
_add(Mention("tempo", -1), "unhurried", "slow moving", "slow paced", "adagio", "andante", "largo", "lento",
     "larghetto", "lentissimo", "larghissimo")

# Said of an instrument, these describe how it sounds, not the track's mood: "less intense drums" is less drums.
_QUALITY_WORDS = {"soft", "softer", "quiet", "quieter", "loud", "louder", "gentle", "gentler", "intense",
                  "more intense", "aggressive", "punchy", "punchier", "powerful"}
for _name, (_plain, _comparative) in _MOOD_WORDS.items():
    for _phrase in _plain:
        _add(Mention(f"mood.{_name}", quality=_phrase in _QUALITY_WORDS), _phrase)
    for _phrase in _comparative:
        _add(Mention(f"mood.{_name}", implied="more", quality=_phrase in _QUALITY_WORDS), _phrase)

# Every one-word tempo, mood or genre quality in "-y" also says "more of it" as "-ier" ("chirpier", "peppier",
# "clubbier"): words people coin on the fly that no list keeps up with. Only the "-y" rule: other endings make
# nouns of nouns ("pep" -> "pepper") and the longer adjectives take "more".
for _words_of_mention, _mention in list(MENTIONS.items()):
    _word = _words_of_mention[0]
    if (len(_words_of_mention) == 1 and _mention.implied is None and _mention.sign != 0 and _word.endswith("y")
            and _word[-2] not in "aeiouy" and not _word.endswith(("ity", "gy"))
            and _mention.key.split(".")[0] in ("tempo", "mood", "genre")):
        MENTIONS.setdefault((_word[:-1] + "ier",), Mention(_mention.key, _mention.sign, implied="more",
                                                          quality=_mention.quality))

# ---- attributes named without a direction (targets of a lift: "any length is fine")
_add(Mention("duration", 0), "length", "duration", "runtime")
# A shorter or longer track than the previous pick. "long"/"short" alone are left out: "as long as",
# "a horror short", "long time" say nothing about the music's length.
_add(Mention("duration", 1, implied="more"), "longer", "lengthier", "a longer one", "longer one", "longer track",
     "longer song", "longer version", "longer piece", "extended version", "extended mix", "extended edit",
     "an extended one")  # not "extended" alone: "the client extended the ad" is about the video
_add(Mention("duration", -1, implied="more"), "not so long", "not as long", "less long", "cut it shorter",
     "cut it short", "trim it shorter", "cut shorter")
_add(Mention("duration", -1, implied="more"), "shorter", "briefer", "a shorter one", "shorter one", "shorter track",
     "shorter song", "shorter version", "shorter piece", "radio edit")
_add(Mention("duration", -1, implied="more"), "keep it short", "short and sweet", "a short one", "a short track",
     "a short song", "a short piece", "short track", "short song", "something short", "nice and short")
_add(Mention("duration", -1, implied="more"), "half the length", "half as long", "half the duration",
     "cut the length in half", "cut it in half", "halve the length", "halve it", "trim it down", "cut it down",
     "a trimmed version", "a cut down version",
     *(f"{verb} the {what}" for verb in ("cut", "trim", "reduce", "shorten", "cut down", "bring down")
       for what in ("length", "duration", "runtime", "run time")))
_add(Mention("duration", 1, implied="more"), "twice as long", "double the length", "double the duration")
_add(Mention("duration", 1, implied="more"), "a long one", "a long track", "a long song", "a long piece",
     "something long")
_add(Mention("duration", 1, implied="too"), "too long", "way too long", "far too long", "a bit too long",
     "a little too long", "a bit long", "a little long", "overly long", "long winded", "too lengthy")
_add(Mention("duration", 1, implied="too"), "on the long side", "a bit on the long side")
# "it's dragging on a bit": too long, not too slow ("it drags" alone is the tempo)
_add(Mention("duration", 1, implied="too"), "dragging on", "drags on", "drag on", "goes on too long",
     "going on too long")
_add(Mention("duration", -1, implied="too"), "on the short side", "a bit on the short side")
_add(Mention("tempo", 1, implied="too"), "on the fast side", "a bit on the fast side")
_add(Mention("tempo", -1, implied="too"), "on the slow side", "a bit on the slow side")
_add(Mention("duration", -1, implied="too"), "too short", "way too short", "far too short", "a bit too short",
     "a little too short", "a bit short", "a little short")
_add(Mention("vocals", 0, limit=True), *(f"{a} {b}" for a in ("vocal", "vocals", "instrumental", "no vocals", "lyrics")
                                          for b in ("restriction", "filter", "constraint", "requirement", "rule",
                                                    "limit", "only rule")))
_add(Mention("licence", 0), "licence", "license", "licensing", "licences", "licenses")
_add(Mention("duration", 0, limit=True), *(f"{a} {b}" for a in ("length", "time", "duration", "runtime")
                                           for b in _LIMIT_WORDS))
_add(Mention("licence", 0, limit=True), *(f"{a} {b}" for a in ("licence", "license", "licensing")
                                          for b in ("limit", "restriction", "filter", "constraint", "requirement",
                                                    "thing", "rule", "stuff", "question", "issue")))

# Every attribute key a mention can name: what "start over" lifts.
ATTRIBUTE_KEYS = tuple(sorted({mention.key for mention in MENTIONS.values()}))

# Words that look like mentions but describe the video or the edit, never the music.
STOP_PHRASES: set[tuple[str, ...]] = set(_words(
    "slow motion", "slow mo", "slowmo", "fast forward", "fast cuts", "fast cut", "voice over", "voiceover",
    "voice overs", "fast food", "dark room", "country road", "country side", "countryside", "rock climbing",
    "on the rock", "on the rocks", "rock face", "rock formation", "rock formations", "rock pool", "rock pools",
    "rocky coast", "rocky beach", "rocky mountains", "keys to", "first dance", "wedding dance", "father daughter dance",
    "mother son dance", "classic", "a bit of fun", "slow down the video", "fast paced edit",
    # a speech at the wedding and a band named for a genre: "the best man's speech", "the Daft Punk vibe"
    "best man", "best man s", "daft punk",
    # a lullaby and a fairground: "it's a rock-a-bye song", "the bouncy castle unboxing"
    "rock a bye", "rockabye", "rock a by", "bouncy castle", "bouncy castles", "bouncy house", "bounce house",
    # places and food of the video: "a couple who met at a jazz bar", "Indian street food"
    "jazz bar", "jazz bars", "jazz club", "jazz clubs", "indian food", "indian street food", "indian restaurant",
    "indian cooking", "indian cuisine", "indian takeaway",
    # "quick note before you pick the next one": no tempo
    "quick note", "quick question", "quick one", "quick thing", "quick heads up", "a quick note",
    # "... happy now?": a rhetorical question, no mood asked for
    "happy now", "are you happy", "you happy",
    "have fun", "for fun", "the words", "build up slowly", "builds up slowly", "build slowly", "builds slowly",
    "slow build", "slowly builds", "slow burn", "starts slow", "starts slowly", "slow start", "slow intro",
    "no longer", "any longer", "not any longer",
    "same time", "at the same time", "the same time",
    # "same track minus the keys": the pick as the base, not a wish to keep all of it
    *(f"{same} {what}" for same in ("same", "the same") for what in ("track", "song", "vibe", "feel", "one", "thing",
                                                                    "tune", "but")),
    "dance floor", "the dance floor", "dancefloor",  # the place in the video
    # clubs that are not the dance floor: "our football club's season opener"
    *(f"{what} {club}" for what in ("football", "soccer", "rugby", "cricket", "golf", "tennis", "book", "running",
                                    "sports", "sport", "chess", "hiking", "cycling", "swim", "swimming", "youth",
                                    "fan", "social", "rowing", "boxing", "athletics", "basketball", "baseball",
                                    "hockey", "netball", "volleyball", "sailing", "climbing", "karate", "judo",
                                    "gymnastics", "chess", "golf", "fishing", "lions", "rotary", "youth", "supporters",
                                    "riding", "dance") for club in ("club", "clubs")),
    # the club as an organisation: "the club channel got flagged", "the club wants the extended version"
    *(f"club {what}" for what in ("channel", "website", "page", "account", "wants", "members", "season", "recap",
                                  "awards", "president", "newsletter", "s", "house", "captain", "kit", "crest")),
    # "this is the bit where the children run": a part of the video, not a degree
    "the bit", "this bit", "that bit",
    # "our editor's happy to trim it": willing, not a mood
    "happy to", "glad to", "happy for you to", "happy for us to",
    # people in the video or the room who sing are no voice asked for: "the congregation sings straight after"
    *(f"{who} {sing}" for who in ("we", "i", "they", "you", "you d", "you would", "children", "the children",
                                  "toddlers", "congregation", "the congregation", "everyone", "everybody",
                                  "crowd", "the crowd", "audience", "the audience", "kids", "the kids", "guests",
                                  "the guests", "people", "class", "the class", "students", "the students", "fans",
                                  "the fans", "family", "the family")
      for sing in ("sing", "sings", "sang", "singing", "sing along", "sings along", "will sing", "are singing",
                   "is singing", "would sing", "would sing along", "can sing", "can sing along", "could sing")),
    # the user's own performers and voice, not a voice asked for: "it would compete with my singers"
    *(f"{whose} {who}" for whose in ("my", "our", "his", "her", "their") for who in (
        "singer", "singers", "vocalist", "vocalists", "choir", "voice", "voices", "voiceover", "voice over")),
    # "the demo has to pop", "make it pop": stand out, not the genre
    *(f"{verb} pop" for verb in ("has to", "have to", "needs to", "need to", "make it", "makes it", "really")),
    "pop out", "pop up", "pops out",
    *(f"{club} {what}" for club in ("club", "nightclub") for what in ("scene", "scenes", "shot", "shots", "footage")),
    *(f"{fast} {cuts}" for fast in ("quick", "rapid", "snappy") for cuts in ("cut", "cuts", "edit", "edits")),
    "fast edit", "fast edits",
    # British "folk" are people ("folk lose interest"); "folks" always are
    *(f"folk {verb}" for verb in ("lose", "only", "just", "will", "are", "who", "do", "dont", "tend", "get", "want",
                                  "need", "watch", "might", "may", "can", "cannot", "wont", "glance",
                                  "walk", "round", "around", "here")),
    *(f"{who} folk" for who in ("older", "old", "young", "most", "local")),
    "folks",  # "slower, and at the same time faster" keeps nothing
    *(f"drone {what}" for what in ("shot", "shots", "footage", "video", "clip", "clips", "camera", "flyover", "view",
                                   "views", "racing", "race", "races", "pilot", "flight", "flying", "fpv", "opener",
                                   "intro", "outro", "sequence", "section", "part", "bit", "reveal", "aerials",
                                   "aerial", "flyover", "flythrough", "scene", "scenes", "montage", "transition")),
    # a dance in the video, not the genre asked for: "keep it under 90 bpm for the parents dance", "the dance
    # emote clip"
    *(f"{who} dance" for who in ("parents", "parent", "couples", "couple", "bridal", "bride", "groom", "grandparents",
                                 "family", "group", "anniversary", "school", "recital", "barn", "line", "square")),
    *(f"dance {what}" for what in ("emote", "emotes", "clip", "clips", "video", "videos", "scene", "scenes",
                                   "routine", "routines", "challenge", "challenges", "recital", "class", "classes",
                                   "lesson", "lessons", "competition", "performance", "rehearsal", "studio", "team",
                                   "crew", "battle", "moves", "footage", "teacher", "students", "school", "cardio",
                                   "workout", "workouts", "fitness", "session", "sessions", "trend", "trends",
                                   "tutorial", "tutorials", "instructor", "choreography", "cover", "covers")),
    # a club of the user's own: "a running montage for my club"
    "my club", "our club", "for my club", "for our club",
    # birds that sing are no voice asked for: "a flute, like birds singing in the morning"
    *(f"{birds} {sing}" for birds in ("birds", "bird", "the birds", "birdies") for sing in ("singing", "sing", "sings",
                                                                                           "chirping")),
    "birdsong", "bird song",
    # events and what the people in the video say: "80 photos of the fun run", "there is voice comms in the clip"
    "fun run", "fun runs", "fun day", "fun fair", "funfair",
    *(f"voice {what}" for what in ("comms", "chat", "lines", "acting", "actor", "actors", "call", "calls", "memo",
                                   "memos", "message", "messages", "note", "notes", "recording")),
    "fpv drone",  # the camera, not the ambient genre
    # "a happy little tune": "little" belittles the tune, it is no degree
    *(f"little {noun}" for noun in ("tune", "tunes", "song", "songs", "track", "tracks", "piece", "number",
                                    "ditty", "melody", "jingle")),
))

CUES: dict[tuple[str, ...], Cue] = {}
# Negators that are removal verbs: after a fresh negator they cancel it ("do not remove the piano").
REMOVALS = frozenset({"lose", "drop", "remove", "get rid of", "cut", "cut out", "skip", "ditch", "kill", "nix", "quit",
                      "scrap", "scratch", "exclude", "take out", "leave out", "strip out", "mute", "silence", "avoid",
                      "losing", "removing", "dropping", "ditching", "cutting out", "getting rid of", "taking out"})


def _cue(cue: Cue, *phrases: str) -> None:
    for phrase in _words(*phrases):
        CUES[phrase] = cue


_cue("neg", "no", "not", "neither", "without", "turn off", "switch off", "shut off",
      "avoid", "lose", "drop", "remove", "get rid of", "cut", "cut out", "skip",
     "ditch", "nothing", "none", "zero", "never", "do not want", "not want", "dont want", "can not stand",
     "cannot stand", "cant stand", "hate", "stop", "kill", "nix", "scrap", "scratch", "minus", "anything but",
     "exclude",
     "excluding", "except", "free of", "rather not", "would rather not", "not any", "no more", "take out", "leave out",
     "strip out", "mute", "silence", "nothing with", "without any", "sick of", "tired of", "enough of",
     "enough with", "done with", "finished with", "stop giving me", "again with the", "again with",
     "quit it with", "stop it with", "stop with",
     "no need for", "nobody",
     "take away", "do away with", "losing", "removing", "dropping", "ditching", "cutting out", "getting rid of",
     "taking out", "stay away from", "steer clear of", "keep away from", "keep clear of",
     "had enough", "heard enough", "listened enough", "listened to enough", "have had enough",
     "no longer need", "no longer want", "no longer require", "no longer like", "do not need", "dont need",
     "do not like", "dont like", "dislike", "not have", "spare me", "spare us")
_cue("restore", "bring back", "put back", "add back", "bring back in")
_cue("more", "more like", "more", "add", "added", "adding", "increase", "raise", "bring in", "put",
     "want", "wanted", "need", "needs",
     "like", "love", "would love", "prefer", "heavier", "bigger", "extra", "plus", "miss", "could use",
     "more of", "louder", "stronger", "lots of", "go for", "go", "make it", "toward", "towards", "include",
     "featuring", "feature", "hear", "some more", "turn up", "boost", "emphasise", "emphasize", "up the",
     "keep it", "something", "something with", "lean into", "give it", "try")
_cue("weak_more", "with", "some", "a", "an", "any")
_cue("less", "less like", "less", "fewer", "decrease", "drop down", "hardly any", "barely any", "scarcely any",
     "very little", "not as", "more subtle",
     "tone down", "tone it down", "turn down", "lighter", "reduce", "lower",
     "not a fan of", "not a huge fan of", "not a big fan of", "not the biggest fan of", "not really a fan of",
     "not so much", "not as much", "softer on", "lighter on", "dial back", "dial down", "too much", "toned down",
     "not too much", "away from", "easy on", "go easy on", "ease up on", "cut back on", "cut down on",
     "minimal", "less of", "bit much", "a bit much", "subtler", "not much",
     "not sure i like", "not sure we like", "not sure about", "not convinced by", "not convinced about",
     "not keen on", "not crazy about", "not sold on", "not loving", "not feeling the")
_cue("more", "not enough")  # "too much synth, not enough piano"
_cue("neg", "none of")  # "none of that please"
_cue("neg", "quit the", "quit that")  # "can you quit the guitar?": a learner's "take out"
_cue("too", "too", "overly", "way too", "far too", "a bit too", "a little too", "so", "rather too", "slightly too",
     "somewhat too", "bit too", "little too", "a bit too much", "bit too much", "a little too much", "way too much",
     "far too much")
_cue("lift", "changed my mind about", "change my mind about", "changed our mind about")
_cue("lift", "take back", "undo", "retract", "withdraw", "do not worry about", "dont worry about",
     "no need to worry about", "not worried about")  # "I take back the no-drums thing"
_cue("lift", "not fussed about", "not bothered about", "not fussed", "not bothered")
_cue("lift", "stop avoiding", "stop excluding", "stop filtering out", "quit avoiding")  # "stop avoiding guitar"
_cue("lift", "was wrong about", "were wrong about")  # "I was wrong about the guitar, let it back in"
_cue("lift", "do not care about", "do not care", "dont care about", "no matter", "do not mind",
     "dont mind", "fine with", "ok with", "okay with", "am happy with", "are happy with", "be happy with",
     "forget", "ignore", "you can ignore", "disregard", "never mind", "nevermind", "no preference on",
     "no preference for", "no preference about", "no preference regarding",
     "forget about", "forget the", "whatever", "open to", "allow", "any")
_cue("keep", "keep the", "keep that", "same", "leave the", "retain", "keep those",
     # praise of what is playing ("love the guitar but it is too slow"), not a wish: "would love the ..." is one
     *(f"{verb} {det}" for verb in ("love", "loved", "like", "liked", "enjoy", "enjoyed", "dig", "adore")
       for det in ("the", "that", "this", "those", "these", "how")))
# "something like the music in old movies" is a likeness wished for, not praise of "the" music playing
_cue("more", "something like the", "something more like the", "more like the", "anything like the")
_cue("more", "give me", "give us")  # "lose the techno feeling and give me strings": a new ask after a removal
_cue("more", "would like", "would love", "would enjoy", "turn on", "switch on", "bring up", "pump up", "crank",
     "crank up", "ramp up", "bump up", "kick up")
_cue("less", "bring down", "take down", "scale back", "pull back", "push back")
_cue("slight", "a bit", "a little", "a little bit", "slightly", "a touch", "a tad", "somewhat", "a smidge",
     "marginally", "just a bit", "bit", "little", "a hair", "mildly", "a shade", "touch", "tad", "a notch",
     "notch", "a hint of", "hint of", "a dash of", "a sprinkle of", "a splash of")
_cue("strong", "much", "way", "a lot", "lots", "far", "very", "significantly", "right down", "right up",
     "extremely", "super", "a lot more", "heaps", "way more", "a good deal", "a great deal", "by a lot",
     "by a mile", "massively", "dramatically", "considerably",
     "really", "hugely", "loads", "tons", "tons more", "a whole lot", "whole lot", "a ton", "way way",
     "up to eleven", "to eleven", "up to 11",
     "muito", "muy", "molto", "mucho", "tres", "sehr", "hella")  # "this is muito slow": intensifiers from other tongues

# After a copula ("the drums are too loud", "vocals are fine now"), these decide what the mention wants.
COPULAS = frozenset({"is", "are", "was", "were", "feel", "feels", "felt", "sounds", "sound", "seems", "seem",
                     "gets", "get", "got", "be", "being", "its", "s"})
PREDICATE_MORE = frozenset({"thin", "empty", "weak", "buried", "faint", "missing", "lacking", "lost", "sparse",
                            "bare", "quiet", "too quiet", "subtle", "absent", "underwhelming", "timid",
                            "not enough", "flat", "low"})
PREDICATE_LESS = frozenset({"too", "much", "loud", "annoying", "distracting", "overpowering", "harsh", "busy",
                            "heavy", "grating", "irritating", "clashes", "clash", "overwhelming", "overbearing",
                            "overkill", "cheap", "tacky", "tinny", "jarring", "obnoxious", "over the top",
                            "out of place", "off",
                            "cheesy", "intrusive", "shrill", "piercing", "noisy", "awful", "terrible", "disturbing",
                            "bothering", "cringe", "cringey", "cringy",
                            "bad", "horrible", "excessive", "dominant", "overdone", "wrong", "unbearable", "mushy",
                            "drowning", "smothering", "swamping", "overshadowing", "burying", "the issue",
                            "the problem", "sappy", "schmaltzy", "saccharine", "taking over", "takes over",
                            "take over", "boring", "dull", "bland", "lifeless", "stepping on", "fighting",
                            "clashing with", "covering", "competing with", "eating", "sitting on top",
                            "muddying", "muddy", "muddies", "masking", "cluttering", "crowding"})
# Comparatives after a copula say what is wanted outright ("could the drums be a little quieter").
PREDICATE_WANT_LESS = frozenset({"quieter", "softer", "lower", "gentler", "subtler", "toned down", "turned down",
                                 "more subtle", "more understated", "more restrained",
                                 "further back", "less prominent", "in the background", "less loud"})
PREDICATE_WANT_MORE = frozenset({"louder", "stronger", "higher", "more prominent", "up front", "turned up",
                                 "brought up", "punchier", "clearer", "more audible", "in front"})
MODALS = frozenset({"should", "could", "can", "would", "might", "must", "to", "needs", "need", "has", "have"})
PREDICATE_LIFT_NOW = frozenset({"now", "again", "anymore", "after all", "back"})
PREDICATE_OK = frozenset({"fine", "ok", "okay", "allowed", "permitted", "welcome", "good", "alright", "acceptable",
                          "back"})
# Said of an attribute the conversation removed, these release it ("actually, vocals are fine").
PREDICATE_ACCEPTABLE = frozenset({"fine", "ok", "okay", "allowed", "permitted", "welcome", "alright", "acceptable"})
PREDICATE_PRAISE = frozenset({"grand", "ace", "brill", "decent", "solid", "great", "good", "nice", "perfect", "fine",
                              "ok", "okay", "lovely", "works",
                              "spot", "right", "excellent", "beautiful", "amazing", "cool", "brilliant",
                              "gorgeous", "awesome", "fantastic", "wonderful", "stunning", "sweet", "cute",
                              "pretty", "charming", "dope", "fire", "sick", "class", "banging", "elegant", "better",
                              "nicer", "best", "catchy", "haunting", "magical", "moving", "touching",
                              "exactly", "spot on", "close", "almost there", "nearly there", "on point", "classy",
                              "tasteful", "slick"})
# A word right after a mention that says it should go ("vocals off", "drums out") or come ("vocals on").
POSTFIX_NEG = frozenset({"off", "out", "gone", "away", "free"})
POSTFIX_MORE = frozenset({"on", "in"})
# After a mention, what sets it free ("the bpm does not matter", "duration is flexible now").
LIFT_AFTER = tuple(tuple(p.split()) for p in (
    "does not matter", "do not matter", "no longer matters", "matters not", "is not important",
    "are not important", "is unimportant", "is irrelevant", "are irrelevant", "is flexible", "are flexible",
    "no longer matter", "is no longer important", "are no longer important", "can be anything", "can be whatever",
    "is up to you", "is your call", "is not a concern", "is open", "is no longer an issue", "no longer an issue",
    "is not an issue", "are not an issue", "is no issue", "whatever", "whatever works",
    *(f"{copula} {neg}{det}problem{when}" for copula in ("is", "are") for neg in ("not ", "no ", "no longer ")
      for det in ("", "a ") for when in ("", " anymore", " now"))))
# After a mention, what brings back what was there ("the drums can come back"): a release where the conversation
# removed it, else a wish for it again; the conversation decides (`understand`).
RESTORE_AFTER = tuple(tuple(p.split()) for p in ("can come back", "can return", "can come back in", "may come back",
                                                 "is back", "are back", "back in"))
# After a mention, what lets it stay: a release where the conversation removed it, else praise ("the strings
# can stay"); the conversation decides, as for "fine".
FINE_AFTER = tuple(tuple(p.split()) for p in ("can stay", "may stay", "can remain", "can stay in"))
# After a mention, what says it does not belong ("the female singer does not fit") or must go.
LESS_AFTER = tuple(tuple(p.split()) for p in (
    "bugs me", "that bugs me", "bothers me", "that bothers me", "annoys me", "that annoys me", "irritates me",
    "does not fit", "do not fit", "does not work", "do not work", "does not suit", "do not suit",
    "does not belong", "do not belong", "is not working", "are not working", "is not right", "are not right",
    "gets in the way", "get in the way", "distract", "distracts", "distract from", "distracts from", "clash with",
    "clashes with", "compete with", "competes with", "drown out", "drowns out", "overpower", "overpowers",
    "dominate", "dominates", "takes over", "take over", "is distracting", "are distracting",
    "ruins", "ruin", "ruins it", "ruin it", "is ruining", "are ruining", "spoils", "spoil", "wrecks", "wreck",
    *(f"{verb} {how}" for verb in ("does not sit", "do not sit", "is not sitting", "are not sitting")
      for how in ("right", "well")),
    *(f"{copula} not what {who} {after}" for copula in ("is", "are") for who in ("i am", "we are", "im")
      for after in ("after", "looking for")),
    "kills the vibe", "kill the vibe", "kills the mood", "kill the mood", "doing my head in", "does my head in",
    "do my head in",
    *(f"{verb}{me}{how}" for verb in ("drives", "driving", "is driving", "are driving", "drive")
      for me in (" me ", " us ")
      for how in ("mad", "crazy", "nuts", "insane", "bananas", "up the wall", "round the bend", "around the bend",
                  "mental")),
    *(f"{verb} {obj} {how}{word}" for verb in ("make", "makes") for obj in ("it", "this", "the track")
      for how in ("", "feel ", "sound ", "seem ") for word in ("cheap", "cheesy", "busy", "messy", "muddy", "harsh",
                                                               "tacky", "annoying", "worse", "boring")),
    "not so much", "not as much", "not so great", "not so good", "not really", "less so",
    "is not doing it for me", "are not doing it for me", "is not doing it", "are not doing it", "does nothing for me",
    "do nothing for me", "is not for me", "are not for me",
    *(f"{copula}{verb} {whose} ears" for copula in ("", "is ", "are ")
      for verb in ("hurting", "hurts", "hurt", "killing") for whose in ("my", "our")),
    "is not good", "are not good", "is not great", "are not great", "is no good", "are no good", "is not ideal",
    "are not ideal", "is not suitable", "are not suitable"))
NEG_AFTER = tuple(tuple(p.split()) for p in (
    "has to go", "have to go", "needs to go", "need to go", "must go", "can go", "should go", "gotta go", "got to go",
    "is a no go", "are a no go", "is a no no", "are a no no", "is out of the question", "are out of the question",
    "is not allowed", "are not allowed", "is forbidden", "are forbidden", "is banned", "are banned"))
# After a mention, praise of what it does in the pick: no ask ("the piano carries it, but slower").
OK_AFTER = tuple(tuple(p.split()) for p in (
    "carries it", "carries the track", "carries the song", "makes it", "makes the track", "makes the song",
    "is the best part", "are the best part", "works well", "work well", "works great", "work great", "nails it",
    "is spot on", "are spot on", "is on point", "are on point", "slap", "slaps", "bang", "bangs", "go hard",
    "goes hard", "is fire", "are fire", "hit hard", "hits hard", "hit different", "hits different", "rock", "rocks",
    # what the video already has: "the kids' voices are already on the video" asks nothing of the music
    *(f"{copula} {already}{place} the {what}" for copula in ("is", "are") for already in ("", "already ")
      for place in ("on", "in") for what in ("video", "footage", "clip", "film", "recording"))))
# A comparative right after a tempo, instrument or vocals mention ("make the tempo higher", "drums up").
POSTFIX_UP = frozenset({"higher", "up", "faster", "quicker", "louder", "stronger", "heavier"})
POSTFIX_DOWN = frozenset({"lower", "down", "slower", "quieter", "softer", "lighter", "gentler", "subtler"})
POSTFIX_END = frozenset({"please", "now", "again", "this time", "too", "thanks"})  # may follow POSTFIX_MORE
# A negator's reach: it skips these words on its way to the mention it negates.
NEG_SKIPPABLE = frozenset({"the", "a", "an", "any", "and", "or", "nor", "of", "at", "all", "that", "this", "those",
                           "these", "be", "have", "having", "hear", "hearing", "include", "use", "using", "to", "want",
                           "anything", "anyone", "anybody", "something", "stuff", "track", "tracks", "song",
                           "songs", "music", "sound", "sounds", "one", "with", "in", "it", "so", "as", "too",
                           "real", "obvious", "loud", "heavy", "kind", "sort", "type", "really", "such", "much",
                           "please", "whatsoever", "on", "like", "there"})
NEG_BREAKERS = frozenset({"sure", "maybe", "perhaps", "think", "know", "bad", "quite", "just", "only", "if",
                          "certain", "mind"})
MAX_PHRASE = max(len(p) for p in (*MENTIONS, *CUES, *STOP_PHRASES))
