"""Who makes a product: brand and model-number evidence combined with the relations data.

The rules (docs/decisions/0004-product-matching.md):
- a model number that follows a maker's grammar names the hardware's maker; the label brand
  then reaches it through relations.yaml, or is reported as a ``probable_relabel``;
- a number that follows a label brand's own grammar identifies the brand, and the brand's
  relations give the maker; a relation that covers only some lines (or ended) counts half
  unless the grammar is the line the relation names;
- a brand alone gives the maker through its relations, or itself when it is a maker;
- a brand or model number written as a mention (after "for", "with", "compatible"...:
  ``mention_words.yaml``) is what the product works with, never its label or maker, in every
  cell alike: description, model/part number or brand ("bracket for Dahua camera", "Power
  supply for Hikvision DS-2CD2143", "for Hikvision"); a model number is a mention when it
  follows a mention word, or follows a brand that is one with only product words between;
- a relation applies only to the kinds of product its scope covers (relations.yaml
  ``device_types``): a product the row says is of another kind (a Honeywell thermostat under
  Honeywell's video-only relabel relations) gets no maker from it, not even a possible one;
- a relation that covers only some lines, without line evidence, names a *possible* maker
  (``possible_relabel``): never an established one;
- a brand read through a typo of five to seven letters counts only next to a model number of
  that brand (or of its maker): short words are one edit from too many ordinary words;
- a brand stated in the row (its brand cell, or a vocabulary brand written before the model
  number) is never overridden by another maker's numbering unless relations.yaml links them
  (then it is a relabel): the stated brand names the maker and the other numbering is a note,
  or a ``review`` when the numbering is maker-specific, its maker restricted and the brand a
  documented relabeller of some maker;
- a consumer product name that counts only next to its brand (a grammar with
  ``brandless_kinds``: "C8C", "Ranger 2") counts without it only when the row names one of
  the grammar's kinds of product, no brand, no other part number and nothing but product words
  before the name, and then at a lower confidence (docs/decisions/0024);
- nothing recognised is ``unknown``, with the reason.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date

from rapidfuzz.distance import DamerauLevenshtein

from provscan.fingerprints.grammars import GrammarHit, GrammarIndex
from provscan.fingerprints.text import looks_like_model, normalise, split_glued, tokens
from provscan.knowledge.grammars import GrammarKnowledge
from provscan.knowledge.loader import Knowledge, period_bounds, vendor_key
from provscan.knowledge.schema import CONFIDENCE_WEIGHT, Relation
from provscan.model import MakerCandidate
from provscan.policy.evaluate import RESTRICTED_MIN_CONFIDENCE
from provscan.screening.brands import (
    LONG_WORD_LENGTH,
    MIN_GLUED_BRAND_CHARS,
    BrandFinder,
    BrandMatch,
    split_glued_kind,
)

#: A brand name that is the maker's own implies that maker this strongly (no model seen).
OWN_BRAND_WEIGHT = 0.95
#: A maker's brand with no model evidence: how sure we are it made this product.
MAKER_BRAND_WEIGHT = 0.9
#: Relations that cover only some lines, or ended, count this much without line evidence.
PARTIAL_FACTOR = 0.5
#: A brand read through a typo is less certain than one spelled right.
FUZZY_BRAND_FACTOR = 0.9
#: Highest confidence of a maker of a restricted family read from a misspelt brand with no
#: model number of the family to confirm it: below the verdict's threshold (a review).
UNCORROBORATED_FUZZY_CAP = RESTRICTED_MIN_CONFIDENCE - 0.05
#: A label brand confirmed next to its own model number.
CONFIRMED_BRAND_WEIGHT = 0.9
#: A label with no documented relation to the maker its model number names.
PROBABLE_RELABEL_FACTOR = 0.9
#: At most this many leading words are read as an unknown label brand.
MAX_UNKNOWN_LABEL_WORDS = 2
#: Makers whose weight is this close to the best are reported as alternatives.
ALTERNATIVE_MARGIN = 0.05
#: A consumer product name read without its brand (``brandless_kinds``) counts this much of
#: its grammar's weight: a medium grammar stays a verdict (0.75 * 0.9), a low one a review.
BRANDLESS_FACTOR = 0.9
#: Longest product name, in words, read without its brand ("Ranger Pro Z").
BRANDLESS_MAX_WORDS = 3
#: A mention word (``mention_words.yaml``) of at least this many letters also makes a name a
#: mention across one short linking word ("replacement of Huawei", "migrate from ZTE",
#: "retrait de Hikvision"); shorter ones ("for", "like", "with") are linking words themselves
#: ("like new Hikvision" is a used Hikvision camera).
LINKED_MENTION_MIN_CHARS = 5
#: Longest linking word between such a mention word and the name ("of", "from", "de", "the").
MAX_LINKING_WORD_CHARS = 4
#: What a name read as a mention is, in reasons: what the product fits, works with, replaces
#: or removes ("bracket for Dahua", "remove ZTE F670L, install Nokia ...").
MENTION_MEANING = "what the product works with, replaces or removes"


@dataclass(frozen=True)
class Identification:
    """What is known about one product string, before any policy is applied."""

    input: str
    brand: str | None
    maker: str | None
    model: str | None
    device_type: str | None
    relation: str
    family: str | None
    confidence: float
    reasons: tuple[str, ...] = ()
    evidence: tuple[str, ...] = ()
    alternatives: tuple[str, ...] = ()
    brand_in_vocabulary: bool = False
    grammar_id: str | None = None
    #: Every maker the evidence allows (``maker`` first, then ``alternatives``), with families.
    candidates: tuple[MakerCandidate, ...] = ()
    #: False when the maker is only possible: a relation covering some lines, no line evidence.
    established: bool = True
    #: Why a person should look at this row although the evidence names an unrestricted maker
    #: (a restricted maker's numbering under a stated brand the relations do not link to it).
    review_notes: tuple[str, ...] = ()


def noisy_or(*certainties: float) -> float:
    remaining = 1.0
    for certainty in certainties:
        remaining *= 1.0 - certainty
    return 1.0 - remaining


def _sources(sources: Sequence[str]) -> str:
    return "; ".join(sources)


@dataclass
class _Working:
    reasons: list[str] = field(default_factory=list)
    evidence: list[str] = field(default_factory=list)
    review: list[str] = field(default_factory=list)


class ProductIdentifier:
    """Identify products from brand, model and free-text strings (knowledge is data)."""

    def __init__(self, knowledge: Knowledge, grammar_knowledge: GrammarKnowledge) -> None:
        self.knowledge = knowledge
        #: Product listings' vocabulary (``screening_words.yaml``): product and kind words,
        #: words before a name read without its brand, size units.
        self.words = knowledge.screening_words
        self.brands = BrandFinder(knowledge)
        self.grammars = GrammarIndex(grammar_knowledge)
        #: Brands with numbers that count only next to the brand (``requires_brand``): a number
        #: of theirs in a row without the brand is named in the reason, not read.
        self._brand_only = frozenset(
            grammar.brand for grammar in grammar_knowledge.grammars if grammar.requires_brand
        )
        #: Vendor names and aliases written in letters only (matching key -> vendor), and
        #: their lengths, longest first: a brand glued to its model number with no separator
        #: ("HikvisionDS-2CD2043G2-I") is looked for among them (:meth:`_glued_brand`).
        self._glued_names: dict[str, str] = {}
        for vendor in knowledge.vendors.values():
            for spelling in (vendor.name, *vendor.aliases):
                key = vendor_key(spelling)
                if len(key) >= MIN_GLUED_BRAND_CHARS and key.isalpha():
                    self._glued_names.setdefault(key, vendor.name)
        self._glued_lengths = sorted({len(key) for key in self._glued_names}, reverse=True)
        #: Grammars whose names may be read without the brand (``brandless_kinds``), in file
        #: order, with one combined pattern as a first filter.
        self._brandless = [
            (order, grammar, re.compile(grammar.pattern, re.IGNORECASE))
            for order, grammar in enumerate(grammar_knowledge.grammars)
            if grammar.brandless_kinds
        ]
        self._brandless_any = (
            re.compile("|".join(f"(?:{g.pattern})" for _, g, _ in self._brandless), re.IGNORECASE)
            if self._brandless
            else None
        )

    # -- relations --------------------------------------------------------------------------

    def _relation(self, brand: str, maker: str) -> Relation | None:
        # With line evidence the strongest documented relation is the one that applies
        # (Lorex's Dahua-era lines: former_subsidiary, not the disputed later relabel);
        # among equals, the one in force today.
        today = date.today()

        def rank(relation: Relation) -> tuple[float, int]:
            start, end = period_bounds(relation.since, relation.until)
            return (-CONFIDENCE_WEIGHT[relation.confidence], 0 if start <= today <= end else 1)

        found = [r for r in self.knowledge.relations_for_brand(brand) if r.maker == maker]
        return min(found, key=rank) if found else None

    def _relation_kind(self, brand: str, maker: str) -> tuple[str | None, Relation | None]:
        if brand == maker:
            return "own_brand", None
        relation = self._relation(brand, maker)
        if relation is not None:
            return relation.relation, relation
        family = self.knowledge.family_of(brand)
        if family is not None and family == self.knowledge.family_of(maker):
            return "subsidiary", None
        return None, None

    @staticmethod
    def _relation_weight(relation: Relation, *, in_scope: bool) -> float:
        weight = (
            OWN_BRAND_WEIGHT
            if relation.relation == "own_brand"
            else CONFIDENCE_WEIGHT[relation.confidence]
        )
        if (relation.partial or relation.until) and not in_scope:
            weight *= PARTIAL_FACTOR
        return weight

    @staticmethod
    def _describe_relation(relation: Relation) -> str:
        period = ""
        if relation.since or relation.until:
            period = f", {relation.since or '…'}..{relation.until or 'today'}"
        scope = f"; scope: {relation.scope}" if relation.partial else ""
        basis = "documented" if relation.documented else "inferred"
        return (
            f"relation {relation.brand} -> {relation.maker}: {relation.relation} "
            f"({relation.confidence}, {basis}{period}{scope}); {relation.evidence} "
            f"[sources: {_sources(relation.sources)}]"
        )

    # -- the identification ---------------------------------------------------------------

    def identify(
        self, text: str = "", *, brand: str | None = None, model: str | None = None
    ) -> Identification:
        parts = [part for part in (brand, model, text) if part and part.strip()]
        input_text = normalise(" ".join(parts))
        work = _Working()

        # 1. the brand: a brand cell wins over names found in the text
        label: str | None = None
        label_match: BrandMatch | None = None
        model_words = self._words(model)
        text_words = self._words(text)
        if brand and brand.strip():
            label_match, mentioned = self._brand_cell(brand)
            if mentioned:
                # "for Hikvision", "Hikvision compatible": the cell says what the product
                # works with, so it states no brand of the product itself
                work.reasons.append(
                    f"{self._mention_reasons(mentioned)} in the brand column: read as a "
                    f"mention ({MENTION_MEANING}), not the product's brand"
                )
                brand = None
            else:
                label = label_match.vendor if label_match else normalise(brand)
        found_in_text = self.brands.find_exact(model_words) + self.brands.find_exact(text_words)
        context = {match.vendor for match in found_in_text}
        if label_match:
            context.add(label_match.vendor)

        # 2. model numbers: the model cell first, then the rest of the text
        hits, mentioned_hits = self._hits(model_words, text_words, context, found_in_text)
        if label is None and not found_in_text:
            covered = {
                i
                for from_model, h in hits
                if not from_model
                for i in range(h.start, h.start + h.length)
            }
            fuzzy = self.brands.find_fuzzy(text_words, covered)
            if fuzzy:
                fuzzy_hits, _ = self._hits(
                    model_words, text_words, context | {match.vendor for match in fuzzy}, fuzzy
                )
                fuzzy = self._corroborated(fuzzy, fuzzy_hits, work)
            if fuzzy:
                found_in_text = fuzzy
                context |= {match.vendor for match in fuzzy}
                hits, mentioned_hits = self._hits(model_words, text_words, context, fuzzy)
        # one reason per number (several grammars may match the same words)
        for why in dict.fromkeys(f"{hit.model} {why}" for _, hit, why in mentioned_hits):
            work.reasons.append(
                f"{why}: read as a mention ({MENTION_MEANING}), not the product's model number"
            )
        brandless: GrammarHit | None = None
        if not hits and label is None:
            found = self._brandless_hit(model_words, text_words, found_in_text)
            if found is not None:
                from_model, brandless = found
                hits = [(from_model, brandless)]
                found_in_text = []  # only the name itself was read as a brand ("H3c")
        best = self._best_hit(hits, label_match.vendor if label_match else None, found_in_text)
        if best is not None:
            self._kit_note(best, hits, work)
        kinds = self.words.kinds_named([*model_words, *text_words])
        if best is not None and best.grammar.device_type:
            kinds |= {best.grammar.device_type}
        best_from_model = any(from_model and hit is best for from_model, hit in hits)
        if label is None and found_in_text:
            label_match = self._text_brand(found_in_text, best, hits, text_words, work)
            label = label_match.vendor if label_match is not None else None
        elif label is None and best is not None and brandless is None:
            label = self._unknown_label(model_words if best_from_model else text_words, best)
        if label_match is not None and not label_match.exact:
            work.reasons.append(
                f"brand {label_match.written!r} read as {label_match.vendor} (approximate match)"
            )
        brand_factor = 1.0 if label_match is None or label_match.exact else FUZZY_BRAND_FACTOR
        label_known = label is not None and label in self.knowledge.vendors

        stated_result = None
        if best is not None and self._stated_brand(
            best, hits, label, label_known, label_match, brand, text_words
        ):
            assert label is not None
            scratch = _Working()
            stated_result = self._stated_brand_wins(best, label, brand_factor, kinds, scratch)
            if stated_result[0] is None:
                # The stated brand names no maker (a label brand whose maker is not recorded):
                # it contradicts nobody, so the numbering still tells who made the product.
                stated_result = None
            else:
                work.reasons.extend(scratch.reasons)
                work.evidence.extend(scratch.evidence)
                work.review.extend(scratch.review)
        stated = stated_result is not None
        if stated_result is not None:
            result = stated_result
        elif best is not None:
            result = self._from_grammar(best, label, label_known, brand_factor, kinds, work)
            if label is not None and label_known:
                result = self._not_below_brand(result, label, brand_factor, kinds)
        elif (
            label is not None
            and label_known
            and (named := self._maker_named_for_label(label, found_in_text))
        ):
            # "LaView ... rebranded Hikvision": the row itself says who made a label brand
            # whose maker is not recorded.
            work.reasons.append(
                f"{label} is a label brand whose maker is not recorded; the row names "
                f"{named.written} as the maker"
            )
            result = (
                named.vendor,
                label,
                "probable_relabel",
                MAKER_BRAND_WEIGHT * PROBABLE_RELABEL_FACTOR * brand_factor,
                (),
            )
        elif label is not None and label_known:
            result = self._from_brand(label, brand_factor, kinds, work)
        else:
            result = (None, None, "unknown", 0.0, ())
            # numbers read as mentions matched a grammar, but not as the product's own
            own = " of the product's own" if mentioned_hits else ""
            if label is not None:
                work.reasons.append(
                    f"brand {label!r} is not in the vendor vocabulary and no model-number "
                    f"grammar{own} matched"
                )
            else:
                work.reasons.append(f"no known brand and no model-number grammar{own} found")
        maker, brand_out, relation, confidence, alternatives = result
        if brandless is not None and maker is not None:
            confidence *= BRANDLESS_FACTOR
            work.reasons.append(
                f"{brandless.model!r} is a product name of {brandless.grammar.brand}, read "
                f"without the brand because the row names the kind ({' / '.join(sorted(kinds))})"
                " and no brand or other part number (lower confidence)"
            )
        if (
            maker is not None
            and label_match is not None
            and not label_match.exact
            and self.knowledge.family_of(maker) is not None
            # the restricted maker comes from the misspelt brand, not from a number
            and self.knowledge.family_of(label_match.vendor) == self.knowledge.family_of(maker)
            and not (best is not None and self._related(label_match.vendor, best))
            and confidence >= UNCORROBORATED_FUZZY_CAP
        ):
            # A spelling two edits from a restricted brand may be another word altogether
            # ("Tektronix" is not "Teltronic"): without the family's numbering next to it the
            # row is for a person to look at, not a verdict.
            confidence = UNCORROBORATED_FUZZY_CAP
            work.reasons.append(
                f"{label_match.written!r} is not spelt as {label_match.vendor} is and no "
                f"{label_match.vendor} model number confirms it"
            )
        if best is None:
            # the numbers read as mentions matched a grammar: no "matches no grammar" for them
            cell = model_words or text_words
            in_mention = {
                index
                for from_model, hit, _ in mentioned_hits
                if from_model == bool(model_words)
                for index in range(hit.start, hit.start + hit.length)
            }
            unmatched = [
                word
                for index, word in enumerate(cell)
                if index not in in_mention and looks_like_model(word)
            ]
            if unmatched:
                work.reasons.append(self._unmatched_reason(unmatched[0]))
        family = self.knowledge.family_of(maker) if maker else None
        if maker is not None and family is None:
            if relation == "probable_relabel":
                work.reasons.append(f"{maker} is not in a restricted corporate family")
            relation = "unrelated"
        model_out = best.model if best else (normalise(model) if model and model.strip() else None)
        grammar_out = best.grammar if best is not None and not stated else None
        # The kind of product: the grammar's, else the one kind the row names ("DJI RS 4 gimbal
        # stabilizer"): a measure that covers only some kinds reads it (decision 0028).
        device_type = grammar_out.device_type if grammar_out is not None else None
        if device_type is None and len(kinds) == 1:
            (device_type,) = kinds
        candidates: tuple[MakerCandidate, ...] = ()
        if maker is not None:
            candidates = tuple(
                MakerCandidate(name, self.knowledge.family_of(name))
                for name in dict.fromkeys((maker, *alternatives))
            )
        return Identification(
            input=input_text,
            brand=brand_out if brand_out is not None else label,
            maker=maker,
            model=model_out,
            device_type=device_type,
            relation=relation,
            family=family,
            confidence=round(min(confidence, 0.99), 3),
            reasons=tuple(work.reasons),
            evidence=tuple(work.evidence),
            alternatives=alternatives,
            brand_in_vocabulary=label_known,
            grammar_id=grammar_out.id if grammar_out else None,
            candidates=candidates,
            established=relation != "possible_relabel",
            review_notes=tuple(work.review),
        )

    def _unmatched_reason(self, word: str) -> str:
        """Why a word that looks like a model number was not read: no grammar matches it, or
        only a grammar that counts next to its brand ("S5700": a Huawei series code), which
        the row does not name."""
        gated = [
            hit.grammar
            for hit in self.grammars.match(word, self._brand_only)
            if hit.grammar.requires_brand
        ]
        if not gated:
            return f"{word!r} matches no known model-number grammar"
        grammar = gated[0]
        return (
            f"{word!r} has the form of {grammar.brand}'s numbering (grammar {grammar.id}), "
            f"which counts only next to the brand {grammar.brand}: the row does not name it"
        )

    def _words(self, value: str | None) -> list[str]:
        """Tokens of a cell, with brands glued to the model split off ("Huawei_AR2220")."""
        if not value:
            return []

        def is_brand(word: str) -> bool:
            return self.brands.exact(word) is not None

        words = split_glued(tokens(value), is_brand)
        words = [part for word in words for part in split_glued_kind(word, is_brand)]
        return [part for word in words for part in self._glued_brand(word)]

    def _glued_brand(self, word: str) -> list[str]:
        """``HikvisionDS-2CD2043G2-I`` -> ``Hikvision``, ``DS-2CD2043G2-I``: a vocabulary
        brand written whole and glued to a model number with no separator is split off only
        when the rest follows a numbering of that brand or of its maker, and the word is no
        brand spelling itself; any other word unchanged (one-element list)."""
        if not any(character.isdigit() for character in word) or self.brands.exact(word):
            return [word]
        for length in self._glued_lengths:
            if length >= len(word):
                continue
            prefix, rest = word[:length], word[length:]
            if not prefix.isalpha() or not rest[0].isalnum():
                continue
            vendor = self._glued_names.get(vendor_key(prefix))
            if vendor is None:
                continue
            if any(
                hit.length == 1 and self._related(vendor, hit)
                for hit in self.grammars.find([rest], {vendor})
            ):
                return [prefix, rest]
        return [word]

    def _misspelt(self, label: str, maker: str) -> str:
        """`` (a misspelling of Axis?)`` when ``label`` is one edit from the maker's name
        ("Axsi"), else empty: too short a word to be read as the brand by itself."""
        written, name = vendor_key(label), vendor_key(maker)
        if written and written[0] == name[:1] and DamerauLevenshtein.distance(written, name) == 1:
            return f" (a misspelling of {maker}?)"
        return ""

    def _stated_brand(
        self,
        best: GrammarHit | None,
        hits: list[tuple[bool, GrammarHit]],
        label: str | None,
        label_known: bool,
        label_match: BrandMatch | None,
        brand_cell: str | None,
        text_words: Sequence[str],
    ) -> bool:
        """True when the row states a vocabulary brand that ``best``'s numbering must not
        override: the brand is spelt exactly (a typo-read brand is too unsure to clear a
        restricted number), no relation links it to the numbering's brand or maker, and a
        brand found in the text stands before the model number (a label, not a mention)."""
        if best is None or label is None or not label_known or label_match is None:
            return False
        if not label_match.exact or self._related(label, best):
            return False
        if brand_cell and brand_cell.strip():
            return True
        if any(in_model and hit is best for in_model, hit in hits):
            return True
        # In free text the brand must label the number: written before it, with only product
        # words (or sizes such as "4MP") between ("Vivotek speed dome SD9384-EHL"), so that a
        # mention ("ring mount for DS-2CD...") is not read as the product's brand.
        end = label_match.start + label_match.length
        if label_match.words != tuple(text_words):
            return True  # the brand is written in the model cell, the number in the text
        if end > best.start:
            return False
        return self._product_words_only(text_words[end : best.start])

    def _product_words_only(self, words: Sequence[str]) -> bool:
        """Whether the words between a brand and a model number let the brand label the
        number: product and kind words, or sizes ("Vivotek speed dome SD9384-EHL", "4MP")."""
        return all(
            word.lower() in self.words.product
            or word.lower() in self.words.kind_words
            or any(character.isdigit() for character in word)
            for word in words
        )

    def _stated_brand_wins(
        self,
        hit: GrammarHit,
        label: str,
        brand_factor: float,
        kinds: frozenset[str],
        work: _Working,
    ) -> tuple[str | None, str | None, str, float, tuple[str, ...]]:
        grammar = hit.grammar
        other = grammar.maker or grammar.brand
        result = self._from_brand(label, brand_factor, kinds, work)
        note = (
            f"{hit.model} also follows {other}'s numbering (grammar {grammar.id}: {grammar.line}), "
            f"but the row states {label}, which no documented relation links to {other}: "
            "the stated brand wins"
        )
        work.reasons.append(note)
        restricted_maker = grammar.maker is not None and (
            self.knowledge.family_of(grammar.maker) is not None
        )
        maker_specific = (
            grammar.documented and grammar.confidence == "high" and not grammar.requires_brand
        )
        relabeller = any(
            relation.documented
            and relation.maker != label
            and self.knowledge.family_of(relation.maker) is not None
            for relation in self.knowledge.relations_for_brand(label)
        )
        if result[0] is not None and restricted_maker and maker_specific:
            # The stated brand still names the product (issue 11: another maker's pattern
            # never overrides it), but a restricted maker's own numbering under another
            # brand is a wrong brand cell, a wrong number or an unrecorded relabel: never
            # "clear" without a look.
            why = (
                f"{label} is a documented relabeller"
                if relabeller
                else f"{label} is not known to sell {other}'s products"
            )
            work.review.append(
                f"{why} and {hit.model} follows {other}'s maker-specific numbering (grammar "
                f"{grammar.id}); confirm who made it"
            )
        return result

    def _hits(
        self,
        model_words: Sequence[str],
        text_words: Sequence[str],
        context: set[str],
        brands: Sequence[BrandMatch],
    ) -> tuple[list[tuple[bool, GrammarHit]], list[tuple[bool, GrammarHit, str]]]:
        """Grammar hits of the model cell (flagged True), then of the rest of the text; and,
        apart, the hits that are mentions (what the product fits), with why."""
        hits: list[tuple[bool, GrammarHit]] = []
        mentions: list[tuple[bool, GrammarHit, str]] = []
        for from_model, words in ((True, model_words), (False, text_words)):
            for hit in self.grammars.find(words, context):
                why = self._hit_mention(hit, words, brands)
                if why is None:
                    hits.append((from_model, hit))
                else:
                    mentions.append((from_model, hit, why))
        return hits, mentions

    def _hit_mention(
        self, hit: GrammarHit, words: Sequence[str], brands: Sequence[BrandMatch]
    ) -> str | None:
        """Why a model number is a mention, or None: it follows a mention word ("bracket for
        DS-2CD2143G2-I", "compatible DS-2CD2143"), or a brand that follows one labels it
        ("power supply for Hikvision DS-2CD2143", "mount for Hikvision camera DS-2CD2143")."""
        if (written := self._mention_word_before(words, hit.start)) is not None:
            return f"follows {written!r}"
        among = tuple(words)
        for match in brands:
            end = match.start + match.length
            if (
                match.words == among
                and end <= hit.start
                and (written := self._mention_word_before(words, match.start)) is not None
                and self._product_words_only(words[end : hit.start])
            ):
                return f"follows {match.written}, which follows {written!r}"
        return None

    def _brandless_hit(
        self,
        model_words: Sequence[str],
        text_words: Sequence[str],
        found: Sequence[BrandMatch],
    ) -> tuple[bool, GrammarHit] | None:
        """A consumer product name given without its brand ("C8C, ptz"), or None.

        Only for grammars with ``brandless_kinds``, and only when the row names one of those
        kinds, every brand the row names is the name itself ("H3c"), no other token looks
        like a part number, and only product words stand before the name.
        """
        if self._brandless_any is None:
            return None
        kinds = self.words.kinds_named([*model_words, *text_words])
        if not kinds:
            return None
        best: tuple[int, int, bool, GrammarHit] | None = None
        for from_model, words in ((True, model_words), (False, text_words)):
            for start in range(len(words)):
                for length in range(1, min(BRANDLESS_MAX_WORDS, len(words) - start) + 1):
                    text = " ".join(words[start : start + length])
                    if self._brandless_any.fullmatch(text) is None:
                        continue
                    for order, grammar, pattern in self._brandless:
                        if not kinds & set(grammar.brandless_kinds):
                            continue
                        if pattern.fullmatch(text) is None:
                            continue
                        hit = GrammarHit(grammar, text, start, length, order)
                        rank = (-length, order)
                        if best is None or rank < best[:2]:
                            best = (*rank, from_model, hit)
                        break
        if best is None:
            return None
        _, _, from_model, hit = best
        words = model_words if from_model else text_words
        end = hit.start + hit.length
        # the kind must be said besides the name ("Bullet 2E" alone names itself a bullet)
        rest = [*words[: hit.start], *words[end:]]
        other = text_words if from_model else model_words
        if not self.words.kinds_named([*rest, *other]) & set(hit.grammar.brandless_kinds):
            return None
        # every brand named in the row is the name itself
        spans = self.brands.find_exact(words)
        if len(found) != len(spans) or any(
            match.start < hit.start or match.start + match.length > end for match in spans
        ):
            return None
        # no other part number in the row (the name belongs to another maker's product)
        for index, word in enumerate([*model_words, *text_words]):
            position = index if from_model else index - len(model_words)
            inside = (index < len(model_words)) == from_model and hit.start <= position < end
            if not inside and looks_like_model(word):
                return None
        # only product words before the name ("Land Cruiser", "Ford Ranger" are not Imou's)
        for word in words[: hit.start]:
            lowered = word.lower()
            if not (
                lowered in self.words.product
                or lowered in self.words.kind_words
                or lowered in self.words.brandless_leading
                or any(character.isdigit() for character in word)
                or not any(character.isalpha() for character in word)
            ):
                return None
        # a name ending in a bare number followed by a unit is a size ("Bullet 2 MP")
        if (
            words[end - 1].isdigit()
            and end < len(words)
            and words[end].lower() in self.words.size_units
        ):
            return None
        return from_model, hit

    def _corroborated(
        self, fuzzy: list[BrandMatch], hits: list[tuple[bool, GrammarHit]], work: _Working
    ) -> list[BrandMatch]:
        """Typo-read brands that count: long words, or words next to the brand's own numbering.

        A five-to-seven-letter word one edit from a brand is as often an ordinary word
        ("RedLINK", Honeywell's thermostat radio, is one edit from Reolink).
        """
        kept = []
        for match in fuzzy:
            long_word = len(vendor_key(match.written)) >= LONG_WORD_LENGTH
            if long_word or any(self._related(match.vendor, hit) for _, hit in hits):
                kept.append(match)
            else:
                work.reasons.append(
                    f"{match.written!r} looks like {match.vendor} but is too short to read "
                    f"as that brand without a {match.vendor} model number"
                )
        return kept

    def _unknown_label(self, words: Sequence[str], hit: GrammarHit) -> str | None:
        """Words before a model number that are not product vocabulary: a label brand outside
        the vocabulary ("Acme DS-2CD2143G0-I"). A bare whole number between them and the model
        number (an item or line number: "ACME 1001 DS-2CD2143G2-I", a row read across its
        supplier, item and part columns) parts them: the words name who sells the product, or
        anything else, not a label on it, and the row reads as the numbering maker's own."""
        leading = [
            (index, word)
            for index, word in enumerate(words[: hit.start])
            if word.lower() not in self.words.product
            and word.lower() not in self.words.kind_words
            and not any(c.isdigit() for c in word)
            and any(c.isalpha() for c in word)
        ]
        if not leading or len(leading) > MAX_UNKNOWN_LABEL_WORDS:
            return None
        last = leading[-1][0]
        if any(word.isdigit() for word in words[last + 1 : hit.start]):
            return None
        return " ".join(word for _, word in leading)

    def _brand_cell(self, cell: str) -> tuple[BrandMatch | None, list[BrandMatch]]:
        """The brand a brand cell states, and the names in it that are mentions ("for
        Hikvision"): when every name in the cell is a mention, it states no brand."""
        written = normalise(cell)
        vendor = self.brands.exact(written)
        if vendor is not None:
            return BrandMatch(vendor, written, True), []
        words = self._words(written)
        exact = self.brands.find_exact(words)
        if exact:
            labels = [match for match in exact if not self._mentioned(match)]
            return (labels[0], []) if labels else (None, exact)
        if len(words) == 1:
            vendor = self.brands.fuzzy(words[0])
            if vendor is not None:
                return BrandMatch(vendor, written, False), []
        fuzzy = self.brands.find_fuzzy(words, set())
        if len(fuzzy) != 1:
            return None, []
        return (None, fuzzy) if self._mentioned(fuzzy[0]) else (fuzzy[0], [])

    def _related(self, brand: str, hit: GrammarHit) -> bool:
        grammar = hit.grammar
        if brand == grammar.brand:
            return True
        return (
            grammar.maker is not None and self._relation_kind(brand, grammar.maker)[0] is not None
        )

    def _best_hit(
        self,
        hits: list[tuple[bool, GrammarHit]],
        label: str | None,
        found_in_text: list[BrandMatch],
    ) -> GrammarHit | None:
        if not hits:
            return None
        brands = [label] if label else [match.vendor for match in found_in_text]

        def rank(item: tuple[bool, GrammarHit]) -> tuple[int, ...]:
            from_model, hit = item
            related = any(self._related(brand, hit) for brand in brands)
            return (
                -int(related),
                -int(hit.grammar.brand in brands),
                -int(from_model),
                # a kit's component after a reading of the whole number or its head; among
                # components a restricted maker's first: the kit holds that maker's product
                int(hit.component),
                -int(hit.component and self._restricted_maker(hit)),
                int(hit.dash_joined),
                -len(hit.model),
                hit.order,
            )

        return min(hits, key=rank)[1]

    def _restricted_maker(self, hit: GrammarHit) -> bool:
        """Whether the line a number follows is made by a restricted family: its maker's,
        or - for a line without a maker in a relation's scope (Honeywell's Performance
        series) - a maker its brand's relations name."""
        return bool(self._families(hit))

    def _kit_note(
        self, best: GrammarHit, hits: list[tuple[bool, GrammarHit]], work: _Working
    ) -> None:
        """Say what a kit's other components are, or the other numbers of the model cell,
        when they follow another maker's numbering (a recorder of one maker sold with cameras
        of another; "4x IPC-HFW2431S and 1x DS-7608NXI-K2"). One of a restricted family the
        row's verdict does not rest on asks for a review (a newcomer's kit of a Dahua recorder
        and Hikvision cameras was clear under Canada's Hikvision measure)."""
        others: dict[str, GrammarHit] = {}
        # a line without a maker is named by its brand (its maker is what a relation says)
        best_maker = best.grammar.maker or best.grammar.brand
        best_in_model = any(in_model and hit is best for in_model, hit in hits)
        kit = False
        for in_model, hit in hits:
            maker = hit.grammar.maker or hit.grammar.brand
            if not maker or maker == best_maker:
                continue
            # another number of the same cell or text, at a place of its own (not another
            # reading of the same words)
            apart = (
                in_model == best_in_model
                and not hit.component
                and (hit.start >= best.start + best.length or hit.start + hit.length <= best.start)
            )
            if hit.component or apart:
                kit |= hit.component
                others.setdefault(maker, hit)
        if not others:
            return
        work.reasons.append(
            ("kit with components of other makers: " if kit else "the line also names ")
            + ", ".join(f"{hit.model} ({maker})" for maker, hit in others.items())
        )
        families = self._families(best)
        for maker, hit in others.items():
            if self._families(hit) - families:
                what = "kit component" if hit.component else "the line's other number"
                work.review.append(
                    f"{what} {hit.model} follows {maker}'s numbering (grammar "
                    f"{hit.grammar.id}): the line may hold a restricted maker's product the "
                    "verdict does not rest on"
                )

    def _families(self, hit: GrammarHit) -> set[str]:
        """The restricted families the line a number follows belongs to: its maker's, or -
        for a line without a maker in a relation's scope - those of its brand's makers."""
        grammar = hit.grammar
        if grammar.maker is not None:
            makers: list[str] = [grammar.maker]
        elif grammar.in_relation_scope:
            makers = [
                relation.maker for relation in self.knowledge.relations_for_brand(grammar.brand)
            ]
        else:
            makers = []
        return {family for maker in makers if (family := self.knowledge.family_of(maker))}

    def _text_brand(
        self,
        found: list[BrandMatch],
        best: GrammarHit | None,
        hits: list[tuple[bool, GrammarHit]],
        text_words: Sequence[str],
        work: _Working,
    ) -> BrandMatch | None:
        if best is not None:
            for match in found:
                if self._related(match.vendor, best) and not self._mentioned(match):
                    return match
            if not any(in_model and hit is best for in_model, hit in hits):
                # Brands written after the number are mentions ("... with Ring mount"), not
                # the product's label.
                after = best.start + best.length
                mentions = [
                    match
                    for match in found
                    if match.start >= after and match.words == tuple(text_words)
                ]
                if mentions and len(mentions) == len(found):
                    work.reasons.append(
                        f"{', '.join(m.written for m in mentions)} written after {best.model} "
                        "is read as a mention, not the product's brand"
                    )
                    return None
        # A brand right after "for", "with", "on"... is what the product works with or runs
        # on ("camera module for Raspberry Pi"), not its label.
        labels = [match for match in found if not self._mentioned(match)]
        if not labels:
            work.reasons.append(
                f"{self._mention_reasons(found)}: "
                f"read as a mention ({MENTION_MEANING}), not the product's brand"
            )
            return None
        found = labels
        # A label brand whose maker is not recorded says nothing about the maker; another
        # brand the row names that does ("<label> ... made by <maker>") is the better label.
        for match in found:
            if not self._names_no_maker(match.vendor):
                return match
        return found[0]

    def _mention(self, match: BrandMatch) -> str | None:
        """Why a brand is a mention, or None: it follows a mention word ("for", "with"...) or
        comes before one ("Hikvision compatible", "华为 专用"): ``mention_words.yaml``. The
        same rule in every cell: the match knows the words of the cell it was found among."""
        words = self.knowledge.mention_words
        among = match.words
        after = match.start + match.length
        if (written := self._mention_word_before(among, match.start)) is not None:
            return f"{match.written} follows {written!r}"
        if after < len(among) and among[after].lower() in words.after:
            return f"{match.written} is followed by {among[after]!r}"
        return None

    def _mention_word_before(self, words: Sequence[str], index: int) -> str | None:
        """The mention word that makes what starts at ``words[index]`` a mention, as written,
        or None: the word right before it ("for", "remove"), or a mention word of
        LINKED_MENTION_MIN_CHARS letters or more and the one short linking word after it
        ("replacement of", "migrate from", "retrait de"; "swap out" is "out" alone)."""
        before = self.knowledge.mention_words.before
        if not 0 < index <= len(words):
            return None
        previous = words[index - 1]
        if previous.lower() in before:
            return previous
        if index < 2 or not self._linking_word(previous):
            return None
        word = words[index - 2]
        if word.lower() in before and len(word) >= LINKED_MENTION_MIN_CHARS:
            return f"{word} {previous}"
        return None

    def _linking_word(self, word: str) -> bool:
        """A short word of letters that may stand between a mention word and the name ("of",
        "from", "de", "the"): no product or kind word ("HD", "PoE") and no brand ("ZTE")."""
        lowered = word.lower()
        return (
            word.isalpha()
            and len(word) <= MAX_LINKING_WORD_CHARS
            and lowered not in self.words.product
            and lowered not in self.words.kind_words
            and self.brands.exact(word) is None
        )

    def _mentioned(self, match: BrandMatch) -> bool:
        return self._mention(match) is not None

    def _mention_reasons(self, matches: Sequence[BrandMatch]) -> str:
        """``X follows 'for', Y is followed by 'compatible'``: why each match is a mention."""
        return ", ".join(why for match in matches if (why := self._mention(match)) is not None)

    def _maker_named_for_label(self, label: str, found: Sequence[BrandMatch]) -> BrandMatch | None:
        """The one maker the row's text names, when ``label`` is a label brand whose maker is
        not recorded; mentions ("for Hikvision NVRs") and a second maker leave it open."""
        if not self._names_no_maker(label):
            return None
        makers = {
            match.vendor: match
            for match in found
            if match.vendor != label
            and not self._mentioned(match)
            and (known := self.knowledge.vendors.get(match.vendor)) is not None
            and known.kind in ("manufacturer", "both")
        }
        return next(iter(makers.values())) if len(makers) == 1 else None

    def _names_no_maker(self, vendor: str) -> bool:
        """A label brand with no recorded relation to a maker."""
        known = self.knowledge.vendors.get(vendor)
        return (
            known is not None
            and known.kind == "brand"
            and not self.knowledge.relations_for_brand(vendor)
        )

    def _from_grammar(
        self,
        hit: GrammarHit,
        label: str | None,
        label_known: bool,
        brand_factor: float,
        kinds: frozenset[str],
        work: _Working,
    ) -> tuple[str | None, str | None, str, float, tuple[str, ...]]:
        grammar = hit.grammar
        weight = CONFIDENCE_WEIGHT[grammar.confidence]
        work.evidence.append(
            f"model {hit.model} follows grammar {grammar.id} ({grammar.brand}: {grammar.line}, "
            f"confidence {grammar.confidence}). {grammar.basis} [sources: {_sources(grammar.sources)}]"
        )
        if grammar.maker is None:
            # The number identifies the label brand; its relations give the maker.
            if label == grammar.brand:
                weight = noisy_or(weight, CONFIRMED_BRAND_WEIGHT * brand_factor)
            elif label is not None:
                work.reasons.append(
                    f"the label says {label} but {hit.model} is {grammar.brand}'s numbering"
                )
            resolved, kind_found, relation_weight, alternatives = self._resolve_brand(
                grammar.brand, in_scope=grammar.in_relation_scope, kinds=kinds, work=work
            )
            if resolved is None:
                return None, grammar.brand, "unknown", 0.0, ()
            return (
                resolved,
                label or grammar.brand,
                kind_found,
                weight * relation_weight,
                alternatives,
            )

        maker = grammar.maker
        brand_out = label or grammar.brand
        if grammar.brandless_kinds and label == grammar.brand:
            # A name that may be read without its brand is weighed for that reading; next to
            # its brand, the brand confirms it ("EZVIZ H3c").
            weight = noisy_or(weight, CONFIRMED_BRAND_WEIGHT * brand_factor)
        if label is None:
            kind, relation = self._relation_kind(grammar.brand, maker)
            if relation is not None:
                work.evidence.append(self._describe_relation(relation))
            return maker, brand_out, kind or "own_brand", weight, ()
        if not label_known:
            # One clause (a table shows a reason's first): the number was recognised, the
            # brand was not.
            work.reasons.append(
                f"model {hit.model} matches {maker}'s numbering (grammar {grammar.id}) but "
                f"brand {label!r} is not in the vendor vocabulary{self._misspelt(label, maker)}"
                f": probably {maker} hardware under another label"
            )
            return maker, brand_out, "probable_relabel", weight * PROBABLE_RELABEL_FACTOR, ()
        kind, relation = self._relation_kind(label, maker)
        if relation is not None:
            work.evidence.append(self._describe_relation(relation))
        if kind is None:
            work.reasons.append(
                f"label brand {label} has no documented relation to {maker}; {hit.model} follows "
                f"{maker}'s numbering (grammar {grammar.id})"
            )
            return (
                maker,
                brand_out,
                "probable_relabel",
                weight * PROBABLE_RELABEL_FACTOR * brand_factor,
                (),
            )
        if label != grammar.brand and relation is not None:
            weight = noisy_or(weight, self._relation_weight(relation, in_scope=True))
        return maker, brand_out, kind, weight * brand_factor, ()

    def _not_below_brand(
        self,
        result: tuple[str | None, str | None, str, float, tuple[str, ...]],
        label: str,
        brand_factor: float,
        kinds: frozenset[str],
    ) -> tuple[str | None, str | None, str, float, tuple[str, ...]]:
        """Confidence is monotone in what is recognised: a model number whose grammar names
        the maker the stated brand alone names never leaves the row less certain than the brand
        alone ("Axis M3106-L Mk II" is at least as sure as "Axis")."""
        maker, brand_out, relation, confidence, alternatives = result
        alone = self._from_brand(label, brand_factor, kinds, _Working())
        if maker is None or alone[0] != maker or alone[3] <= confidence:
            return result
        return maker, brand_out, relation, alone[3], alternatives

    def _from_brand(
        self, label: str, brand_factor: float, kinds: frozenset[str], work: _Working
    ) -> tuple[str | None, str | None, str, float, tuple[str, ...]]:
        related = bool(self.knowledge.relations_for_brand(label))
        if related:
            maker, relation, weight, alternatives = self._resolve_brand(
                label, in_scope=False, kinds=kinds, work=work
            )
            if maker is not None:
                return maker, label, relation, weight * brand_factor, alternatives
        vendor = self.knowledge.vendors[label]
        if vendor.kind in ("manufacturer", "both"):
            work.reasons.append(
                # one clause each: ``lookup`` lists a reason's "; "-separated parts apart
                f"{label} makes its own products, and none of its relations to other makers "
                "covers this one"
                if related
                else f"{label} makes its own products (no relation to another maker is recorded)"
            )
            return label, label, "own_brand", MAKER_BRAND_WEIGHT * brand_factor, ()
        work.reasons.append(
            f"{label} is a label brand and no relation covers this product"
            if related
            else f"{label} is a label brand whose maker is not recorded"
        )
        return None, label, "unknown", 0.0, ()

    @staticmethod
    def _covers(relation: Relation, kinds: frozenset[str]) -> bool:
        """False when the product is said to be of kinds the relation's scope does not name."""
        return not relation.device_types or not kinds or bool(kinds & set(relation.device_types))

    def _resolve_brand(
        self, brand: str, *, in_scope: bool, kinds: frozenset[str], work: _Working
    ) -> tuple[str | None, str, float, tuple[str, ...]]:
        """The maker a brand's relations point to: (maker, relation kind, weight, alternatives).

        Relations whose scope does not cover the product's kind are left out.
        """
        relations = self.knowledge.relations_for_brand(brand)
        outside = [relation for relation in relations if not self._covers(relation, kinds)]
        if outside:
            covered = sorted({kind for relation in outside for kind in relation.device_types})
            work.reasons.append(
                f"the row names a {' / '.join(sorted(kinds))}; {brand}'s relation to "
                f"{' and '.join(dict.fromkeys(r.maker for r in outside))} covers "
                f"{', '.join(covered)} only, so it does not apply"
            )
        weighted = [
            (self._relation_weight(relation, in_scope=in_scope), index, relation)
            for index, relation in enumerate(relations)
            if not any(relation is other for other in outside)
        ]
        if not weighted:
            if not outside:
                work.reasons.append(f"{brand} has no recorded relation to a maker")
            return None, "unknown", 0.0, ()
        best_by_maker: dict[str, tuple[float, int, Relation]] = {}
        for weight, index, relation in weighted:
            current = best_by_maker.get(relation.maker)
            if current is None or weight > current[0]:
                best_by_maker[relation.maker] = (weight, index, relation)
        ranked = sorted(best_by_maker.values(), key=lambda item: (-item[0], item[1]))
        weight, _, relation = ranked[0]
        alternatives = tuple(
            other.maker for w, _, other in ranked[1:] if weight - w <= ALTERNATIVE_MARGIN
        )
        work.evidence.append(self._describe_relation(relation))
        kind: str = relation.relation
        if (relation.partial or relation.until) and not in_scope:
            kind = "possible_relabel" if relation.relation != "own_brand" else kind
            if relation.partial:
                work.reasons.append(
                    # one sentence for every relation kind (oem_relabel, consumer_brand...)
                    f"only some {brand} lines are made by {relation.maker} "
                    f"({relation.relation}); this product's line was not identified"
                )
            else:
                # A dated relation ("Lorex belonged to Dahua in 2018-02-06..2022-11-24"): the
                # row says neither when the product was made nor which line it is
                period = f"{relation.since or '…'}..{relation.until}"
                what = (
                    f"belonged to {relation.maker} in {period}"
                    if relation.relation == "former_subsidiary"
                    else f"sold {relation.maker}-made lines in {period}"
                )
                work.reasons.append(
                    f"possibly made by {relation.maker}: {brand} {what} ({relation.relation}); "
                    "nothing in the row shows this product's date or line"
                )
        if alternatives:
            work.reasons.append(
                f"made by {relation.maker} or {' or '.join(alternatives)} "
                "(which one per series is not documented)"
            )
        return relation.maker, kind, weight, alternatives
