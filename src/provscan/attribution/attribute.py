"""Attribution: combine every claim about one host into one device identity.

Scores per candidate value are combined with a noisy-OR (independent pieces of evidence
for the same value reinforce each other). Brand claims reach a maker only through the
reviewed brand relations data (OEM relabels, subsidiaries, consumer brands). Conflicting
evidence lowers confidence and is listed, never hidden.

A maker is *established* only by direct evidence (protocol, firmware, model-number or
registry claims naming it) or by a brand relation that covers the whole brand, or the line
the device was shown to be. A relation that covers only some lines or a dated period names a
*possible* maker: the device then gets no manufacturer, and a ``review:`` note says who it
might be. A relation never applies to a device of a kind its scope does not cover. Makers of
other families that the evidence supports as well as the best one are kept as alternatives
("Hikvision or Dahua"), for the policy judgement to require that every one is restricted.

Specificity (the verdict rule): a maker of a restricted family is established only by at
least one *maker-specific* claim (a rule whose ``specificity.maker_specific`` is true, a
model-number grammar, the IEEE registry), or by shared claims from at least
:data:`MIN_INDEPENDENT_SHARED_FIELDS` different observation fields *of different services* of
the host (:func:`establishes`; decision 0030): the RTSP server's Date and Public headers are
one server's habits, not two witnesses. A value several makers produce (a date format, a
generic server string) alone never establishes one: the maker is then only named as a
possibility (``review:`` note when nothing else is established).

A maker outside the restricted families that only shared values name is still named (the
makers known to share them are unrestricted too, so the verdict "clear" holds whichever of them
made it), except when a restricted family's maker is among those known to send the same value
(decision 0030, addendum): the device may be theirs, so that maker is only a possibility and
the device gets a ``review:`` note and no manufacturer.
"""

from __future__ import annotations

import functools
import re
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from provscan.attribution.mac import (
    is_locally_administered,
    is_multicast,
    normalise_mac,
    oui_owner,
    registry_display_name,
    vendor_for_registry_name,
    whole_name,
)
from provscan.fingerprints.grammars import GrammarIndex
from provscan.fingerprints.matcher import Matcher
from provscan.fingerprints.names import NameFinder
from provscan.fingerprints.service_probes import PROTOCOL as NMAP_FALLBACK_PROTOCOL
from provscan.fingerprints.text import tokens
from provscan.knowledge.fingerprints import Specificity
from provscan.knowledge.grammars import GrammarKnowledge, load_grammar_knowledge
from provscan.knowledge.loader import Knowledge, load_knowledge, vendor_key
from provscan.knowledge.observation_fields import load_observation_fields
from provscan.knowledge.schema import CONFIDENCE_WEIGHT, Relation
from provscan.model import (
    MAX_EVIDENCE_CHARS,
    Claim,
    Device,
    Evidence,
    MakerCandidate,
    Observation,
    ProbeAttempt,
)

#: Certainty of "the MAC's OUI owner made this device": OEMs keep the ODM's OUI, but a
#: NIC vendor's OUI also appears on other makers' boards.
OUI_MANUFACTURER_CERTAINTY = 0.6
#: A brand that is a maker's own name implies that maker this strongly.
OWN_BRAND_WEIGHT = 1.0
#: Partial relabels (only some product lines) halve the implied certainty.
PARTIAL_RELABEL_FACTOR = 0.5
#: Network evidence never proves a maker beyond doubt (firmware can be swapped or spoofed).
MAX_CONFIDENCE = 0.99
#: Makers of another family scoring this close to the best one are alternatives, not rivals.
ALTERNATIVE_MARGIN = 0.05
#: Entries of each memo of a pure function of one name and the knowledge (matching keys,
#: canonical spellings, families): a fleet repeats a few names on every device (issue 14).
MEMO_SIZE = 4096
#: Observation fields that carry a MAC address (knowledge/data/observation_fields.yaml).
MAC_FIELDS: tuple[str, ...] = load_observation_fields().mac
#: Free-text fields in which a device may print its maker's name or a product line.
NAME_FIELDS: frozenset[str] = frozenset(load_observation_fields().names)
#: Fields that state the model as the owner's record has it (used when nothing else gives one).
STATED_MODEL_FIELDS: tuple[str, ...] = load_observation_fields().stated_model
#: Certainty of "the device printed this vendor's name, so the vendor made or labelled it":
#: below a reviewed rule's, enough to name a maker nothing else names; a shared signal.
NAMED_CERTAINTY = 0.5
#: Certainty of "the IEEE registry organisation no reviewed entry covers made this device": a
#: low-certainty maker, shown as the registry writes it (module and chip makers excluded).
REGISTRY_ONLY_CERTAINTY = 0.35
#: Rule ids of self-naming claims (``name:vendor``, ``name:product-line``).
NAME_RULE_PREFIX = "name:"
#: A label brand the device reports that is not in the vocabulary: enough to be shown as the
#: label (above the 0.5 a label needs), never enough to imply a maker.
UNRECOGNISED_LABEL_CERTAINTY = 0.6
#: Shared (not maker-specific) claims from this many different observation fields, each of a
#: different service of the host (:func:`establishes`), establish a restricted family's maker
#: together; fewer only name it as a possibility.
MIN_INDEPENDENT_SHARED_FIELDS = 2
#: Protocol names that are one application protocol when the verdict rule tells services apart
#: (:func:`signal_services`): HTTP over TLS is still the web server's HTTP.
SAME_SERVICE_PROTOCOL = {"https": "http"}
#: Claim sources other than fingerprint rules whose maker claims are maker-specific: the
#: IEEE registry names the maker; a model-number grammar is the maker's own numbering.
MAKER_SPECIFIC_SOURCES = ("ieee-oui", "grammar:")
#: Rule ids of makers the IEEE registry names though no reviewed entry covers the organisation
#: (:meth:`Attributor._registry_only_maker`): the registry's own record of one organisation,
#: not a value several makers share; never a restricted maker.
REGISTRY_ONLY_RULE = "registry:unreviewed"
#: Where a claim no fingerprint rule made comes from (by the prefix of its rule id): every
#: evidence item names its source (``provscan explain``).
DERIVED_CLAIM_SOURCES: dict[str, str] = {
    "ieee-oui": "IEEE MAC registry (a reviewed owner, oui_owners.yaml)",
    REGISTRY_ONLY_RULE: "IEEE MAC registry (an organisation no reviewed entry covers)",
    "grammar:": "model-number grammar (model_grammars.yaml)",
    NAME_RULE_PREFIX: "the vendor vocabulary (vendors.yaml): the device printed this name",
    "label:": "the device's own label field (a name the vocabulary does not know)",
}
#: Protocols of observations a fallback made by reading another tool's conclusions off the
#: replies the device already gave (nmap's match lines, decision 0023). Their claims can name
#: a maker but never establish a restricted one, alone or as corroboration: nmap's label is
#: only as specific as its pattern (some name Hikvision for a generic GoAhead "Webs" server),
#: and it re-reads replies other claims already read.
FALLBACK_PROTOCOLS = frozenset({NMAP_FALLBACK_PROTOCOL})
#: Observation fields kept as evidence even when no rule matched them (context for a reader).
CONTEXT_FIELDS = frozenset(
    {
        "http.server",
        "http.title",
        "http.realm",
        "rtsp.server",
        "rtsp.realm",
        "tls.subject",
        "onvif.manufacturer",
        "onvif.model",
        "onvif.firmware",
        "banner.text",
        # the gateway's UPnP IGD mapping table was read (how many entries): a remediation
        # case for a mapping is verified only by a scan that read it again (store.cases)
        "upnp.port_mappings_read",
    }
)


def derived_claim_source(rule_id: str) -> str:
    """The source of a claim no fingerprint rule made (:data:`DERIVED_CLAIM_SOURCES`)."""
    for prefix, source in DERIVED_CLAIM_SOURCES.items():
        if rule_id.startswith(prefix):
            return source
    return f"provscan's own reading ({rule_id})"


@dataclass
class _Candidates:
    scores: dict[str, float] = field(default_factory=dict)
    spelling: dict[str, str] = field(default_factory=dict)

    def add(self, value: str, certainty: float) -> None:
        key = _key(value)
        previous = self.scores.get(key, 0.0)
        self.scores[key] = 1.0 - (1.0 - previous) * (1.0 - certainty)
        self.spelling.setdefault(key, value)  # the first spelling seen is shown

    def ranked(self) -> list[tuple[str, float]]:
        return sorted(
            ((self.spelling[k], s) for k, s in self.scores.items()), key=lambda item: -item[1]
        )


def signal_group(rule_id: str, observed_field: str) -> str:
    """What counts as one signal group for the verdict rule: the observation field, except
    that every name the device prints about itself is one signal (a self-signed certificate's
    subject and issuer, or a realm that repeats the title, say the same thing twice). Groups
    are independent only when different services gave them (:func:`establishes`). A
    fallback's claims are no signal at all here (:meth:`Attributor._unsupported_makers`)."""
    if rule_id.startswith(NAME_RULE_PREFIX):
        return NAME_RULE_PREFIX
    return observed_field


@dataclass(frozen=True)
class Signal:
    """One claim on a maker as the verdict rule reads it: its :func:`signal_group`, where it
    was observed (the observation's protocol and port: which service of the host said it),
    whether it is maker-specific, whether nmap's fallback made it."""

    group: str
    protocol: str
    port: int | None
    maker_specific: bool
    fallback: bool = False


@dataclass(frozen=True)
class Establishment:
    """What :func:`establishes` found for one maker."""

    established: bool
    #: The most shared signals that are pairwise of different groups *and* different services.
    independent: int
    #: Different signal groups among the shared signals, whatever service said them.
    fields: int
    #: The services the shared signals came from, in words ("rtsp on port 554").
    services: tuple[str, ...]

    @property
    def one_service_only(self) -> bool:
        """Shared signals of several fields that one service of the host gave, and nothing
        else: the case the verdict rule refuses to count as corroboration (decision 0030)."""
        return self.fields >= MIN_INDEPENDENT_SHARED_FIELDS and len(self.services) == 1


def signal_services(places: Iterable[tuple[str, int | None]]) -> dict[tuple[str, int | None], int]:
    """Which service of the host each (protocol, port) of an observation belongs to: one
    server's replies are one service. Observations on the same port are one service (HTTP,
    ONVIF and the certificate on 443 are one server's), and so are those of the same protocol
    (HTTP on 80 and 8080: one web server, as far as anything observed shows; HTTPS counts as
    HTTP); an observation without a port is a service per protocol (the MAC registry, an
    imported record, a discovery message). Passive captures say the same: a host's HTTP and
    RTSP conversations are different services."""
    parent: dict[tuple[str, object], tuple[str, object]] = {}

    def root(node: tuple[str, object]) -> tuple[str, object]:
        parent.setdefault(node, node)
        while parent[node] != node:
            parent[node] = parent[parent[node]]
            node = parent[node]
        return node

    keys = list(dict.fromkeys(places))
    for protocol, port in keys:
        by_protocol = root(("protocol", SAME_SERVICE_PROTOCOL.get(protocol, protocol)))
        if port is not None:
            parent[root(("port", port))] = by_protocol
    numbers: dict[tuple[str, object], int] = {}
    return {
        key: numbers.setdefault(
            root(("protocol", SAME_SERVICE_PROTOCOL.get(key[0], key[0]))), len(numbers)
        )
        for key in keys
    }


def _independent(pairs: Iterable[tuple[str, int]]) -> int:
    """The most (group, service) pairs no two of which share a group or a service (a maximum
    bipartite matching, by augmenting paths: a device gives a handful of pairs)."""
    services_of: dict[str, set[int]] = defaultdict(set)
    for group, service in pairs:
        services_of[group].add(service)
    holder: dict[int, str] = {}

    def augment(group: str, tried: set[int]) -> bool:
        for service in sorted(services_of[group]):
            if service in tried:
                continue
            tried.add(service)
            if service not in holder or augment(holder[service], tried):
                holder[service] = group
                return True
        return False

    return sum(augment(group, set()) for group in sorted(services_of))


def _service_words(places: Sequence[tuple[str, int | None]]) -> str:
    protocols = " and ".join(dict.fromkeys(protocol for protocol, _ in places))
    ports = sorted({port for _, port in places if port is not None})
    if not ports:
        return protocols
    return f"{protocols} on port{'s' if len(ports) > 1 else ''} {', '.join(map(str, ports))}"


def establishes(signals: Iterable[Signal]) -> Establishment:
    """The verdict rule for a maker of a restricted family, on its signals: it is established
    by one maker-specific signal, or by shared signals of
    :data:`MIN_INDEPENDENT_SHARED_FIELDS` independent groups *that different services of the
    host gave* (decision 0030: the Date and Public headers of one RTSP reply, or a web
    server's Server header and title, are one implementation's habits, so one signal). A
    fallback's signals never count. ``provscan explain`` applies the same function to a
    device's evidence, so the explanation cannot drift from the verdict."""
    counted = [signal for signal in signals if not signal.fallback]
    specific = any(signal.maker_specific for signal in counted)
    shared = [signal for signal in counted if not signal.maker_specific]
    service = signal_services((signal.protocol, signal.port) for signal in shared)
    independent = _independent(
        (signal.group, service[(signal.protocol, signal.port)]) for signal in shared
    )
    members: dict[int, list[tuple[str, int | None]]] = defaultdict(list)
    for place, number in service.items():
        members[number].append(place)
    return Establishment(
        established=specific or independent >= MIN_INDEPENDENT_SHARED_FIELDS,
        independent=independent,
        fields=len({signal.group for signal in shared}),
        services=tuple(_service_words(places) for _, places in sorted(members.items())),
    )


@functools.lru_cache(maxsize=MEMO_SIZE)
def _establishes(signals: tuple[Signal, ...]) -> Establishment:
    """:func:`establishes`, remembered per sequence of signals (a fleet's devices give the
    same signals; the result is immutable)."""
    return establishes(signals)


def _stated_model(observations: Sequence[Observation], notes: list[str]) -> str | None:
    """The model as the owner's own record states it (``stated_model`` fields), for a device
    no rule or grammar gave one: kept as written (and said so), never a claim on the maker."""
    for observation in observations:
        if observation.field in STATED_MODEL_FIELDS and observation.value.strip():
            model = observation.value.strip()
            notes.append(f"model {model} as the imported record states it (no rule reads it)")
            return model
    return None


def _one_fallback_signal(claims: list[Claim], notes: list[str]) -> list[Claim]:
    """The claims with a fallback's (decision 0023) made one signal: per field and value only
    its strongest claim (nmap's product, extra information and CPE of one line say the same
    thing three times); none at all when they name more than one maker ("Cisco/3com switch")."""
    fallback = [c for c in claims if c.observation.protocol in FALLBACK_PROTOCOLS]
    if not fallback:
        return claims
    rest = [c for c in claims if c.observation.protocol not in FALLBACK_PROTOCOLS]
    naming = [c for c in fallback if c.field in ("manufacturer", "brand")]
    if len({_key(c.value) for c in naming}) > 1:
        named = ", ".join(sorted({c.value for c in naming}))
        notes.append(f"nmap fallback: its label names several makers ({named}); none is taken")
        return rest + [c for c in fallback if c not in naming]
    strongest: dict[tuple[str, str], Claim] = {}
    for claim in fallback:
        key = (claim.field, _key(claim.value))
        if key not in strongest or claim.certainty > strongest[key].certainty:
            strongest[key] = claim
    return rest + list(strongest.values())


@functools.lru_cache(maxsize=MEMO_SIZE)
def _key(value: str) -> str:
    return re.sub(r"[^0-9a-z]", "", value.lower())


#: The vocabulary's matching key (NFKC, case-folded, letters and digits), remembered: the
#: same few maker, brand and label names come back on every device.
_vendor_key = functools.lru_cache(maxsize=MEMO_SIZE)(vendor_key)


def _beyond(implied: float, already: float | None) -> float:
    """What a brand relation adds to a maker whose own claims (certainty ``already``) are the
    same evidence (:meth:`Attributor._own_numbering`): the two combine as the larger, not as
    independent corroboration. Added by noisy-OR, the returned value lifts ``already`` to
    ``implied`` when the relation says more, and adds nothing otherwise."""
    if already is None:
        return implied
    if implied <= already or already >= 1.0:
        return 0.0
    return (implied - already) / (1.0 - already)


@dataclass(frozen=True)
class Attribution:
    device: Device
    claims: tuple[Claim, ...]


class Attributor:
    def __init__(
        self,
        knowledge: Knowledge,
        matcher: Matcher | None = None,
        grammars: GrammarKnowledge | None = None,
    ) -> None:
        self.knowledge = knowledge
        self.matcher = matcher or Matcher(knowledge)
        if grammars is None and knowledge is load_knowledge():
            grammars = load_grammar_knowledge()
        self.grammars = grammars
        self._grammar_index: GrammarIndex | None = GrammarIndex(grammars) if grammars else None
        self._names = NameFinder(knowledge)
        self._spellings = {
            name: [name, *v.aliases, *v.legal_names] for name, v in knowledge.vendors.items()
        }
        #: Reviewed IEEE registry names (oui_owners.yaml) -> vendor (None: a false friend).
        self._registry: dict[str, str | None] = (
            {owner.registry_name: owner.vendor for owner in grammars.oui_owners}
            if grammars is not None
            else {}
        )
        self._reviewed_registry = {whole_name(name) for name in self._registry}
        #: MA-M (7 hex digits) and MA-S (9) prefixes of reviewed owners: netaddr ships only
        #: the MA-L registry, where such blocks read as "IEEE Registration Authority".
        self._small_blocks: dict[str, str] = {
            prefix: owner.registry_name
            for owner in (grammars.oui_owners if grammars is not None else ())
            if owner.registry != "MA-L"
            for prefix in owner.prefixes
        }
        self._not_device_makers = tuple(
            whole_name(name) for name in (grammars.not_device_makers if grammars else ())
        )
        #: The matching keys of the grammars' generic labels, computed once, not per device.
        self._generic_label_keys = frozenset(
            vendor_key(label) for label in (grammars.generic_labels if grammars else ())
        )
        #: The knowledge's name lookups, remembered per attributor (pure functions of the
        #: name and the knowledge; every device asks them of the same few names: issue 14).
        self._canonical = functools.lru_cache(maxsize=MEMO_SIZE)(knowledge.canonical_vendor)
        self._family = functools.lru_cache(maxsize=MEMO_SIZE)(knowledge.family_of)
        self._relations = functools.lru_cache(maxsize=MEMO_SIZE)(knowledge.relations_for_brand)
        self._specificity: dict[str, Specificity] = {
            rule.id: rule.specificity
            for loaded in knowledge.fingerprints
            for rule in loaded.spec.rules
        }
        #: (field, vendor key) -> the values a rule naming that vendor lists among the ones
        #: it must not match (known look-alikes: "220 Axis Bank FTP" is no Axis greeting)
        self._look_alikes: dict[tuple[str, str], set[str]] = defaultdict(set)
        for loaded in knowledge.fingerprints:
            for rule in loaded.spec.rules:
                named = rule.asserts.get("manufacturer") or rule.asserts.get("brand")
                if named and rule.negatives:
                    for field_name in loaded.spec.fields:
                        self._look_alikes[(field_name, vendor_key(named))].update(
                            str(negative).strip() for negative in rule.negatives
                        )

    def maker_specific(self, claim: Claim) -> bool:
        """Whether the claim's source says only its maker produces the observed value."""
        if claim.observation.protocol in FALLBACK_PROTOCOLS:
            return False
        specificity = self._specificity.get(claim.rule_id)
        if specificity is not None:
            return specificity.maker_specific
        return claim.rule_id.startswith((*MAKER_SPECIFIC_SOURCES, REGISTRY_ONLY_RULE))

    def _unsupported_makers(
        self, support: dict[str, list[Claim]], candidates: Iterable[str]
    ) -> dict[str, list[Claim]]:
        """Makers of a restricted family that only shared claims from too few fields name."""
        weak: dict[str, list[Claim]] = {}
        for maker in candidates:
            if self._family(maker) is None:
                continue  # the verdict rule guards restricted verdicts only
            claims = support.get(_key(maker), [])
            if not self.establishment(claims).established:
                weak[maker] = claims
        return weak

    def _possible_makers(
        self, support: dict[str, list[Claim]], candidates: Iterable[str]
    ) -> dict[str, list[Claim]]:
        """Makers outside the restricted families that only fingerprint rules of values
        several makers share name, from too few services, when a restricted family's maker is
        among the makers known to send the same value (the verdict rule, applied to a "clear"
        verdict): possible, not established. A maker whose own name the device printed
        (``name:``, as a maker-specific rule of its own name would read it) or that nmap's
        fallback names (decision 0023) stays named; so does one whose known sharers are all
        outside the restricted families (the verdict is the same whichever made it)."""
        possible: dict[str, list[Claim]] = {}
        for maker in candidates:
            if self._family(maker) is not None:
                continue  # :meth:`_unsupported_makers`
            claims = support.get(_key(maker), [])
            if any(
                c.observation.protocol in FALLBACK_PROTOCOLS
                or c.rule_id.startswith(NAME_RULE_PREFIX)
                for c in claims
            ):
                continue
            shared_with_restricted = any(self._family(name) for name in self._sharers(claims))
            if claims and shared_with_restricted and not self.establishment(claims).established:
                possible[maker] = claims
        return possible

    def _sharers(self, claims: Sequence[Claim]) -> list[str]:
        """The makers the claims' rules say also produce the values they read."""
        return sorted(
            {
                name
                for claim in claims
                for name in self._specificity.get(
                    claim.rule_id, Specificity(maker_specific=False)
                ).shared_with
            }
        )

    def establishment(self, claims: Iterable[Claim]) -> Establishment:
        """The verdict rule (:func:`establishes`) on the claims that name one maker."""
        return _establishes(
            tuple(
                Signal(
                    signal_group(claim.rule_id, claim.observation.field),
                    claim.observation.protocol,
                    claim.observation.port,
                    self.maker_specific(claim),
                    claim.observation.protocol in FALLBACK_PROTOCOLS,
                )
                for claim in claims
            )
        )

    def _shared_note(self, maker: str, claims: Sequence[Claim], review: bool) -> str:
        rules = ", ".join(dict.fromkeys(claim.rule_id for claim in claims))
        fields = ", ".join(dict.fromkeys(claim.observation.field for claim in claims))
        others = self._sharers(claims)
        also = f" (also produced by {', '.join(others)})" if others else ""
        found = self.establishment(claims)
        why = (
            f"shared signals of one service only ({found.services[0]}): the fields of one "
            "server's replies are one signal, not independent corroboration, and no signal is "
            "maker-specific"
            if found.one_service_only
            else "no maker-specific signal and no independent corroboration"
        )
        text = (
            f"possibly made by {maker} - only signals several makers share name it ({rules} on "
            f"{fields}{also}); {why}, so it is not established"
        )
        return f"review: {text}" if review else text

    def _unsure_note(self, maker: str, claims: Sequence[Claim]) -> str:
        """The review note of a maker outside the restricted families that only shared
        signals name, which a restricted family's maker is known to send too (no maker is
        established: the device may be one of theirs)."""
        restricted = [name for name in self._sharers(claims) if self._family(name)]
        note = self._shared_note(maker, claims, review=True)
        return f"{note}; {', '.join(restricted)} (restricted families) send the same value"

    def _weaker_reading(
        self,
        rival: str,
        maker: str,
        support: dict[str, list[Claim]],
        readings: dict[tuple[str, str], tuple[float, bool]],
    ) -> tuple[str, ...]:
        """The brands, when only brands that lead to ``maker`` at least as strongly name
        ``rival`` (through a relation no stronger, or one that names it only as a
        possibility: dated, some lines only): the same label read through the knowledge's
        weaker relation, not evidence against ``maker``. Empty otherwise."""
        claims = support.get(_key(rival), [])
        if not claims or any(claim.field != "brand" for claim in claims):
            return ()
        brands = dict.fromkeys(self._canonical(c.value) or c.value for c in claims)
        followed = tuple(brand for brand in brands if (brand, _key(rival)) in readings)
        for brand in followed:
            rival_weight, rival_possible = readings[(brand, _key(rival))]
            best = readings.get((brand, _key(maker)))
            if best is None or (not rival_possible and rival_weight > best[0]):
                return ()
        return followed

    # -- claims ---------------------------------------------------------------------------

    def _mac_claims(self, mac: str, notes: list[str]) -> list[Claim]:
        if is_locally_administered(mac) or is_multicast(mac):
            notes.append(f"MAC {mac} is locally administered or randomised: its OUI names no maker")
            return []
        owner = self._small_block_owner(mac) or oui_owner(mac)
        if owner is None:
            notes.append(f"MAC {mac}: OUI not in the bundled IEEE registry")
            return []
        observation = Observation("mac", None, "mac.oui", owner, detail=mac)
        vendor = vendor_for_registry_name(self._spellings, owner, self._registry)
        if vendor is None:
            mac_claim = Claim("mac", mac, 1.0, "ieee-oui", observation)
            maker = self._registry_only_maker(owner, notes)
            if maker is None:
                return [mac_claim]
            return [
                mac_claim,
                Claim(
                    "manufacturer",
                    maker,
                    REGISTRY_ONLY_CERTAINTY,
                    "registry:unreviewed",
                    observation,
                ),
            ]
        # A registry owner that is also a label brand (EZVIZ, Imou) is a brand claim: the
        # relations data then leads to the maker. Pure makers are manufacturer claims.
        kind = self.knowledge.vendors[vendor].kind
        claim_field = "manufacturer" if kind == "manufacturer" else "brand"
        return [
            Claim("mac", mac, 1.0, "ieee-oui", observation),
            Claim(claim_field, vendor, OUI_MANUFACTURER_CERTAINTY, "ieee-oui", observation),
        ]

    def _small_block_owner(self, mac: str) -> str | None:
        """The reviewed owner of the MA-S or MA-M block the MAC lies in, if any."""
        digits = mac.replace(":", "").upper()
        for length in (9, 7):
            owner = self._small_blocks.get(digits[:length])
            if owner is not None:
                return owner
        return None

    def _registry_only_maker(self, owner: str, notes: list[str]) -> str | None:
        """An IEEE organisation no reviewed entry covers, as a maker name; None when it is a
        false friend or reviewed, or makes modules, chips or other makers' devices.

        A registry name that mentions a vocabulary vendor ("Samsung Electronics Co., Ltd.
        ARTIK") gives that vendor; one that mentions a restricted family's vendor gives nothing
        but a note: only a reviewed registration may name a restricted maker."""
        name = whole_name(owner)
        if not name or name in self._reviewed_registry:
            return None
        if any(name.startswith(prefix) for prefix in self._not_device_makers if prefix):
            return None
        for hit in self._names.find(owner):
            if self._family(hit.vendor) is not None:
                notes.append(
                    f"OUI registry name {owner!r} mentions {hit.vendor}, but it is not a "
                    "reviewed registration (oui_owners.yaml): not used as the maker"
                )
                return None
            return hit.vendor
        return registry_display_name(owner)

    def _name_claims(
        self, observations: Sequence[Observation], claims: Sequence[Claim]
    ) -> list[Claim]:
        """Vendor names and product lines the device printed in free text that no rule or
        grammar explained (fingerprints/names.py): a brand claim for a label brand, a
        manufacturer claim for a maker or a vendor that is both (its label then stays what
        stronger evidence says: an i-PRO camera whose realm still says Panasonic)."""
        explained = {c.observation for c in claims if c.field in ("manufacturer", "brand")}
        result: list[Claim] = []
        for observation in observations:
            if observation.field not in NAME_FIELDS or observation in explained:
                continue
            fallback = observation.protocol in FALLBACK_PROTOCOLS
            for hit in self._names.find(observation.value):
                alike = self._look_alikes.get((observation.field, _vendor_key(hit.vendor)), ())
                if observation.value.strip() in alike:
                    continue  # the vendor's own rule lists the value as a known look-alike
                if fallback and hit.product_line:
                    # another tool's label mentions product lines of other makers' devices
                    # ("Westell VersaLink", "MacSense HomePod"): only makers' names are read
                    continue
                kind = self.knowledge.vendors[hit.vendor].kind
                rule_id = f"{NAME_RULE_PREFIX}{'product-line' if hit.product_line else 'vendor'}"
                # a label brand leads to its maker through the relations; a maker (or a
                # vendor that is both) printing its name is a claim that it made the device
                claim_field = "brand" if kind == "brand" else "manufacturer"
                result.append(Claim(claim_field, hit.vendor, NAMED_CERTAINTY, rule_id, observation))
        return result

    def _grammar_claims(
        self, observations: Sequence[Observation], claims: Sequence[Claim]
    ) -> list[Claim]:
        """Model strings no fingerprint rule explained, attributed by the model-number grammars.

        A grammar's maker becomes a manufacturer claim (a relabel brand's own numbering also
        names the label brand). When the device then reports a label brand outside the
        vocabulary, that label is kept as a brand claim so the device shows as a
        ``probable_relabel`` of the grammar's maker instead of losing the label.
        """
        if self._grammar_index is None or self.grammars is None:
            return []
        # only observations of the grammars' fields are looked up (hashing an observation
        # hashes all of its fields): most devices have none
        looked = [o for o in observations if o.field in self.grammars.fields]
        explained = (
            {c.observation for c in claims if c.field in ("manufacturer", "brand")}
            if looked
            else set()
        )
        # The brands the device states in its label fields (ONVIF or UPnP manufacturer...)
        # unlock the grammars a brand must be named for (``requires_brand``: Kenwood's NX-
        # radios, EZVIZ's short names), as a list row naming the brand does in screening.
        stated = (
            {
                hit.vendor
                for o in observations
                if o.field in self.grammars.label_fields
                for hit in self._names.find(o.value)
            }
            if looked
            else set()
        )
        result: list[Claim] = []
        for observation in looked:
            if observation in explained:
                continue
            hits = self._grammar_index.find(tokens(observation.value), stated)
            if not hits:
                continue
            hit = min(hits, key=lambda h: (h.component, h.dash_joined, -len(h.model), h.order))
            grammar = hit.grammar
            certainty = CONFIDENCE_WEIGHT[grammar.confidence]
            rule_id = f"grammar:{grammar.id}"
            result.append(Claim("model", hit.model, certainty, rule_id, observation))
            if grammar.maker is not None:
                result.append(Claim("manufacturer", grammar.maker, certainty, rule_id, observation))
            if grammar.brand != grammar.maker:
                result.append(Claim("brand", grammar.brand, certainty, rule_id, observation))
            if grammar.device_type:
                result.append(
                    Claim("device_type", grammar.device_type, certainty, rule_id, observation)
                )
        labels = [o for o in observations if o.field in self.grammars.label_fields]
        if labels and any(
            claim.field == "manufacturer" and claim.observation.field in self.grammars.fields
            for claim in [*claims, *result]
        ):
            generic = self._generic_label_keys
            claimed = {c.observation for c in [*claims, *result]}
            for observation in labels:
                label = observation.value.strip()
                if (
                    observation not in claimed
                    and (key := _vendor_key(label))
                    and key not in generic
                    and self._canonical(label) is None
                ):
                    result.append(
                        Claim(
                            "brand",
                            label,
                            UNRECOGNISED_LABEL_CERTAINTY,
                            "label:unrecognised",
                            observation,
                        )
                    )
        return result

    def _captured_model_types(self, claims: Sequence[Claim]) -> list[Claim]:
        """The device type of a model a fingerprint rule captured (a VRP system description's
        ``S5735-L24T4X-A1``), from the model-number grammar of the maker the same rule names,
        when the rule itself gives no type: a rule that names only the operating system
        (VRP runs on routers, switches and firewalls) leaves the kind to the model."""
        captured = [
            claim
            for claim in claims
            if claim.field == "model" and not claim.rule_id.startswith("grammar:")
        ]
        if self._grammar_index is None or not captured:
            return []  # most devices: no rule captured a model (nothing to hash below)
        typed = {(c.rule_id, c.observation) for c in claims if c.field == "device_type"}
        makers: dict[tuple[str, Observation], set[str]] = defaultdict(set)
        for claim in claims:
            if claim.field == "manufacturer":
                makers[(claim.rule_id, claim.observation)].add(_vendor_key(claim.value))
        result: list[Claim] = []
        for claim in captured:
            place = (claim.rule_id, claim.observation)
            if place in typed:
                continue
            hits = [
                hit
                for hit in self._grammar_index.find(tokens(claim.value))
                if hit.grammar.device_type
                and hit.grammar.maker is not None
                and _vendor_key(hit.grammar.maker) in makers.get(place, set())
            ]
            if not hits:
                continue
            grammar = min(
                hits, key=lambda h: (h.component, h.dash_joined, -len(h.model), h.order)
            ).grammar
            certainty = min(claim.certainty, CONFIDENCE_WEIGHT[grammar.confidence])
            result.append(
                Claim(
                    "device_type",
                    str(grammar.device_type),
                    certainty,
                    f"grammar:{grammar.id}",
                    claim.observation,
                )
            )
        return result

    def _canonical_claims(self, claims: Iterable[Claim]) -> list[Claim]:
        """Map maker/brand spellings onto the controlled vocabulary."""
        result = []
        for claim in claims:
            if claim.field in ("manufacturer", "brand"):
                canonical = self._canonical(claim.value)
                if canonical is not None and canonical != claim.value:
                    claim = Claim(
                        claim.field, canonical, claim.certainty, claim.rule_id, claim.observation
                    )
            result.append(claim)
        return result

    # -- the combination ------------------------------------------------------------------

    def _relation(self, brand: str, maker: str) -> Relation | None:
        for relation in self._relations(brand):
            if relation.maker == maker:
                return relation
        return None

    def attribute(
        self,
        ip: str,
        open_ports: Sequence[int],
        attempts: Sequence[ProbeAttempt],
        *,
        mac: str | None = None,
        hostname: str | None = None,
        extra_observations: Sequence[Observation] = (),
    ) -> Attribution:
        notes: list[str] = []
        observations = [o for a in attempts for o in a.observations] + list(extra_observations)
        claims = self.matcher.match_all(observations)
        claims.extend(self._grammar_claims(observations, claims))
        claims.extend(self._captured_model_types(claims))
        claims.extend(self._name_claims(observations, claims))
        claims = _one_fallback_signal(claims, notes)

        macs: list[str] = [m for m in [normalise_mac(mac)] if m] if mac else []
        for observation in observations:
            if observation.field in MAC_FIELDS:
                found = normalise_mac(observation.value)
                if found and found not in macs:
                    macs.append(found)
        for claim in claims:
            if claim.field == "mac":
                found = normalise_mac(claim.value)
                if found and found not in macs:
                    macs.append(found)
        for first_mac in macs[:1]:
            claims.extend(self._mac_claims(first_mac, notes))
        claims = self._canonical_claims(claims)

        by_field: dict[str, _Candidates] = defaultdict(_Candidates)
        #: maker key -> the claims (direct or through a brand relation) that name the maker
        support: dict[str, list[Claim]] = defaultdict(list)
        for claim in claims:
            by_field[claim.field].add(claim.value, claim.certainty)
            if claim.field == "manufacturer":
                support[_key(claim.value)].append(claim)

        # Brands imply makers through the relations data.
        makers = by_field["manufacturer"]
        established = set(makers.scores)  # direct claims name these makers
        possible: dict[str, list[Relation]] = {}
        device_type = self._best(by_field["device_type"])
        in_scope = self._in_scope_relations(claims)
        own_numbering = self._own_numbering(claims)
        #: (brand, maker key) -> (the weight the relation gives, whether it names the maker
        #: only as a possibility): how strongly each brand the evidence names leads to a maker
        readings: dict[tuple[str, str], tuple[float, bool]] = {}
        for brand_name, score in by_field["brand"].ranked():
            canonical_brand = self._canonical(brand_name) or brand_name
            relations = self._relations(canonical_brand)
            brand_claims = [
                claim
                for claim in claims
                if claim.field == "brand"
                and (self._canonical(claim.value) or claim.value) == canonical_brand
            ]
            for relation in relations:
                support[_key(relation.maker)].extend(brand_claims)
                if relation.device_types and device_type not in (None, *relation.device_types):
                    continue  # the device is of a kind the relation's scope does not cover
                weight = (
                    OWN_BRAND_WEIGHT
                    if relation.relation == "own_brand"
                    else CONFIDENCE_WEIGHT[relation.confidence]
                )
                limited = relation.partial or relation.until is not None
                # the line the model number shows is in this relation's scope (the relation
                # to the line's maker, not every relation of the brand)
                line_in_scope = not in_scope.isdisjoint(
                    {(canonical_brand, None), (canonical_brand, relation.maker)}
                )
                if relation.partial and not line_in_scope:
                    weight *= PARTIAL_RELABEL_FACTOR
                makers.add(
                    relation.maker,
                    _beyond(score * weight, own_numbering.get((canonical_brand, relation.maker))),
                )
                only_possible = limited and not line_in_scope
                if only_possible:
                    possible.setdefault(relation.maker, []).append(relation)
                else:
                    established.add(_key(relation.maker))
                reading = (canonical_brand, _key(relation.maker))
                before = readings.get(reading, (0.0, True))
                readings[reading] = (max(before[0], weight), before[1] and only_possible)

        # The verdict rule: shared signals alone never establish a restricted family's maker.
        weak = self._unsupported_makers(support, (name for name, _ in makers.ranked()))
        established -= {_key(name) for name in weak}
        ranked_makers = [item for item in makers.ranked() if item[0] not in weak]
        # ... nor one outside them that a restricted family's maker is known to share the
        # values with: possible, not established (it stays a rival, as conflicting evidence)
        unsure = self._possible_makers(support, (name for name, _ in ranked_makers))
        established -= {_key(name) for name in unsure}
        ranked_established = [item for item in ranked_makers if _key(item[0]) in established]
        manufacturer: str | None = None
        alternatives: list[tuple[str, float]] = []
        confidence = 0.0
        conflicts: list[str] = []
        if ranked_established:
            manufacturer, top = ranked_established[0]
            family = self._family(manufacturer)
            others = [
                (name, score)
                for name, score in ranked_makers
                if name != manufacturer and not (family and self._family(name) == family)
            ]
            alternatives = [
                (name, score)
                for name, score in others
                if _key(name) in established and top - score <= ALTERNATIVE_MARGIN
            ]
            rivals = [item for item in others if item not in alternatives]
            # a maker only a weaker or dated relation of the brand that leads to the best
            # maker names is that brand read another way, not conflicting evidence
            for name, score in list(rivals):
                brands = self._weaker_reading(name, manufacturer, support, readings)
                if brands:
                    rivals.remove((name, score))
                    notes.append(
                        f"{name} ({score:.2f}) is named only through brand {', '.join(brands)}"
                        f" by a relation no stronger than its relation to {manufacturer}, or "
                        "only possible (dated, some lines): no conflicting evidence, the "
                        "confidence stands"
                    )
            confidence = top
            if alternatives:
                conflicts.append(
                    f"manufacturer: {' or '.join([manufacturer, *(n for n, _ in alternatives)])} "
                    f"({top:.2f}): the evidence does not say which"
                )
            if rivals:
                rival_name, rival_score = rivals[0]
                confidence = top * (1.0 - 0.5 * rival_score)
                conflicts.append(
                    f"manufacturer: {manufacturer} ({top:.2f}) vs {rival_name} ({rival_score:.2f})"
                )
        elif possible:
            notes.append(self._possible_note(possible))
        for weak_maker, weak_claims in weak.items():
            notes.append(self._shared_note(weak_maker, weak_claims, review=manufacturer is None))
        if manufacturer is None:
            for unsure_maker, unsure_claims in unsure.items():
                notes.append(self._unsure_note(unsure_maker, unsure_claims))

        brand = self._pick_brand(by_field["brand"], manufacturer)
        relation_name: str | None = None
        # No label brand observed: the relation is unknown, not "own brand" (it may be a relabel).
        if manufacturer and brand is not None:
            if brand == manufacturer:
                relation_name = "own_brand"
            else:
                documented = self._relation(brand, manufacturer)
                if documented is not None:
                    relation_name = documented.relation
                else:
                    relation_name = "probable_relabel"
                    notes.append(
                        f"label brand {brand} has no documented relation to {manufacturer}; "
                        f"the device carries {manufacturer} protocol or firmware traits"
                    )

        def best(field_name: str) -> str | None:
            ranked = by_field[field_name].ranked()
            return ranked[0][0] if ranked else None

        for field_name in ("model", "firmware", "device_type"):
            ranked = by_field[field_name].ranked()
            if len(ranked) > 1 and field_name != "model":
                values = ", ".join(v for v, _ in ranked[:3])
                conflicts.append(f"{field_name}: {values}")

        model = best("model")
        if model is None:
            model = _stated_model(observations, notes)
        device = Device(
            ip=ip,
            mac=macs[0] if macs else None,
            hostname=hostname,
            open_ports=tuple(sorted(set(open_ports))),
            manufacturer=manufacturer,
            brand=brand,
            relation=relation_name,
            family=self._family(manufacturer) if manufacturer else None,
            alternatives=tuple(
                MakerCandidate(name, self._family(name)) for name, _ in alternatives
            ),
            model=model,
            firmware=best("firmware"),
            serial=best("serial"),
            device_type=best("device_type"),
            confidence=round(min(confidence, MAX_CONFIDENCE), 3),
            evidence=tuple(self._evidence(claims, observations)),
            conflicts=tuple(conflicts),
            attempts=tuple(attempts),
            notes=tuple(notes),
        )
        return Attribution(device, tuple(claims))

    @staticmethod
    def _best(candidates: _Candidates) -> str | None:
        ranked = candidates.ranked()
        return ranked[0][0] if ranked else None

    def _own_numbering(self, claims: Sequence[Claim]) -> dict[tuple[str, str], float]:
        """(brand, maker) -> the combined certainty of the manufacturer claims that a model
        number following that brand's own numbering made, where the grammar names the line's
        maker (a relabel line: "Annke NC800 is a Hikvision-made Annke line").

        Such a claim *is* the line evidence for the brand's relation to that maker: the
        relation (brand -> maker, perhaps only some lines) and the grammar (this line of the
        brand -> maker) say the same thing, the grammar more precisely. The relation then adds
        only what it says beyond the grammar (:func:`_beyond`), never corroborates it: a label
        column or ONVIF manufacturer naming the brand next to that model number confirms the
        brand, not the maker a second time (``provscan lookup`` reads the pair the same way)."""
        if self.grammars is None:
            return {}
        doubt: dict[tuple[str, str], float] = {}
        for claim in claims:
            if claim.field != "manufacturer" or not claim.rule_id.startswith("grammar:"):
                continue
            grammar = self.grammars.grammar(claim.rule_id.removeprefix("grammar:"))
            key = (self._canonical(grammar.brand) or grammar.brand, claim.value)
            doubt[key] = doubt.get(key, 1.0) * (1.0 - claim.certainty)  # noisy-OR, as makers
        return {key: 1.0 - remaining for key, remaining in doubt.items()}

    def _in_scope_relations(self, claims: Sequence[Claim]) -> set[tuple[str, str | None]]:
        """(brand, maker) of the relations whose scope names exactly the line a model number
        follows. A line whose grammar names its maker is in the scope of the brand's relation
        to that maker only: the brand's relations to other makers still cover only some lines
        (an Annke line Hikvision makes says nothing of Annke's Dahua-made lines). A line
        without a maker (``None``) is in the scope of every relation of the brand, as
        ``provscan lookup`` reads it (Honeywell's Performance series: Hikvision or Dahua)."""
        if self.grammars is None:
            return set()
        pairs: set[tuple[str, str | None]] = set()
        for claim in claims:
            if claim.field == "brand" and claim.rule_id.startswith("grammar:"):
                grammar = self.grammars.grammar(claim.rule_id.removeprefix("grammar:"))
                if grammar.in_relation_scope:
                    brand = self.knowledge.canonical_vendor(grammar.brand) or grammar.brand
                    maker = grammar.maker and (
                        self.knowledge.canonical_vendor(grammar.maker) or grammar.maker
                    )
                    pairs.add((brand, maker))
        return pairs

    @staticmethod
    def _possible_note(possible: dict[str, list[Relation]]) -> str:
        relations = [relation for found in possible.values() for relation in found]
        brands = ", ".join(dict.fromkeys(relation.brand for relation in relations))
        scopes = "; ".join(
            dict.fromkeys(
                f"{r.brand} -> {r.maker}: {r.relation}, {r.scope}"
                + (f", {r.since or '…'}..{r.until}" if r.until else "")
                for r in relations
            )
        )
        return (
            f"review: possibly made by {' or '.join(possible)} - brand {brands} sells only some "
            f"lines (or a dated period) made by them ({scopes}); nothing observed shows this "
            "device is one of them, so no maker is established"
        )

    def _pick_brand(self, brands: _Candidates, manufacturer: str | None) -> str | None:
        ranked = brands.ranked()
        if not ranked:
            return None
        # Prefer a label brand that differs from the maker: that is the relabel to surface.
        for name, score in ranked:
            canonical = self._canonical(name) or name
            if canonical != manufacturer and score >= 0.5:
                return canonical
        return self._canonical(ranked[0][0]) or ranked[0][0]

    @staticmethod
    def _evidence(claims: Sequence[Claim], observations: Sequence[Observation]) -> list[Evidence]:
        # (observation, rule id) -> (what it asserts, its highest certainty); an observation
        # is hashed (all of its fields) as few times as the grouping allows (issue 14)
        grouped: dict[tuple[Observation, str], tuple[dict[str, str], list[float]]] = {}
        for claim in claims:
            key = (claim.observation, claim.rule_id)
            found = grouped.get(key)
            if found is None:
                grouped[key] = ({claim.field: claim.value}, [max(0.0, claim.certainty)])
            else:
                found[0][claim.field] = claim.value
                found[1][0] = max(found[1][0], claim.certainty)
        evidence = [
            Evidence(
                protocol=obs.protocol,
                port=obs.port,
                observed_field=obs.field,
                observed=_clip(obs.value),
                rule_id=rule_id,
                asserts=asserts,
                certainty=highest[0],
                # a vendor endpoint's answer names the control it claims beside (probes.http)
                detail=obs.detail if obs.field == "http.endpoint" else "",
            )
            for (obs, rule_id), (asserts, highest) in grouped.items()
        ]
        matched = {obs for obs, _ in grouped if obs.field in CONTEXT_FIELDS}
        seen: set[tuple[str, int | None, str, str]] = set()
        for obs in observations:
            if obs.field not in CONTEXT_FIELDS or obs in matched:
                continue
            context_key = (obs.protocol, obs.port, obs.field, obs.value)
            if context_key in seen:
                continue
            seen.add(context_key)
            evidence.append(
                Evidence(obs.protocol, obs.port, obs.field, _clip(obs.value), None, {}, 0.0)
            )
        evidence.sort(key=lambda e: (-e.certainty, e.protocol, e.port or 0, e.observed_field))
        return evidence


def _clip(value: str) -> str:
    return value if len(value) <= MAX_EVIDENCE_CHARS else value[:MAX_EVIDENCE_CHARS] + "…"
