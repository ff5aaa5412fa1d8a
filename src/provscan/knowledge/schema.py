"""The strict shapes of every knowledge file, in one place for importers.

Each schema lives in the module of its kind of file (``vocabulary``, ``families``,
``relations``, ``policies``, ``fingerprints``, …); this module only re-exports them.
"""

from __future__ import annotations

from provscan.knowledge.accounts import DefaultAccount, DefaultAccountFile
from provscan.knowledge.base import CONFIDENCE_WEIGHT, Confidence, StrictModel
from provscan.knowledge.cloud_endpoints import CloudEndpoint, CloudEndpointFile
from provscan.knowledge.device_api import DeviceApiFile, DeviceApiRequest
from provscan.knowledge.eol import EndOfLifeEntry, EndOfLifeFile
from provscan.knowledge.exposure import (
    ExposureFile,
    ExposureKind,
    LoginMarker,
    ObservedSetting,
    PlainHttpLoginRule,
    RtspRule,
    TelnetRule,
)
from provscan.knowledge.families import Family, FamilyFile, FamilyMember
from provscan.knowledge.fingerprints import Example, FingerprintFile, Rule
from provscan.knowledge.grammars import GrammarTransform, ModelGrammar, ModelGrammarFile
from provscan.knowledge.http_endpoints import (
    BODY_EXTRACTOR_NAMES,
    HttpEndpoint,
    HttpEndpointFile,
    PassivePathPrefix,
    PrefixSpecificity,
)
from provscan.knowledge.observation_fields import CarrierField, ObservationFieldFile
from provscan.knowledge.oui_owners import OuiOwner, OuiOwnerFile
from provscan.knowledge.policies import (
    CategoryScope,
    Measure,
    MeasureEffect,
    OrgType,
    Policy,
    PolicyFile,
)
from provscan.knowledge.relations import Relation, RelationDeviceType, RelationFile
from provscan.knowledge.remediation import Advice, ReconfigureAdvice, RemediationFile
from provscan.knowledge.vocabulary import Vendor, VendorFile
from provscan.knowledge.vulnerabilities import (
    AffectedRange,
    CvssScore,
    KevStatus,
    VulnerabilityEntry,
    VulnerabilityFile,
)

__all__ = [
    "BODY_EXTRACTOR_NAMES",
    "CONFIDENCE_WEIGHT",
    "Advice",
    "AffectedRange",
    "CarrierField",
    "CategoryScope",
    "CloudEndpoint",
    "CloudEndpointFile",
    "Confidence",
    "CvssScore",
    "DefaultAccount",
    "DefaultAccountFile",
    "DeviceApiFile",
    "DeviceApiRequest",
    "EndOfLifeEntry",
    "EndOfLifeFile",
    "Example",
    "ExposureFile",
    "ExposureKind",
    "Family",
    "FamilyFile",
    "FamilyMember",
    "FingerprintFile",
    "GrammarTransform",
    "HttpEndpoint",
    "HttpEndpointFile",
    "KevStatus",
    "LoginMarker",
    "Measure",
    "MeasureEffect",
    "ModelGrammar",
    "ModelGrammarFile",
    "ObservationFieldFile",
    "ObservedSetting",
    "OrgType",
    "OuiOwner",
    "OuiOwnerFile",
    "PassivePathPrefix",
    "PlainHttpLoginRule",
    "Policy",
    "PolicyFile",
    "PrefixSpecificity",
    "ReconfigureAdvice",
    "Relation",
    "RelationDeviceType",
    "RelationFile",
    "RemediationFile",
    "RtspRule",
    "Rule",
    "StrictModel",
    "TelnetRule",
    "Vendor",
    "VendorFile",
    "VulnerabilityEntry",
    "VulnerabilityFile",
]
