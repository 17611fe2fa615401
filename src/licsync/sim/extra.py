"""The read-only endpoints tools call first, and what a site without tokens answers.

Public QRS clients probe a site before they do licence work: Qlik-Cli resolves enums through
``/qrs/about/api/enums``, qrs-wrapper builds its method list from ``/qrs/about/api/description``,
the License Monitor and Qlik-Cli read the token endpoints (``license/useraccesstype``,
``license/loginaccesstype``, ``license/accesstypeinfo``), and Butler's never-release lists name
tags and custom properties (reference §2.6, §10). A live site without tokens answers those with
empty lists and zero counts, never 404, so the simulator does the same.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from licsync.sim.entities import Collection, Entity

__all__ = [
    "CUSTOM_PROPERTY_DEFINITION",
    "ENUMS",
    "LOGIN_ACCESS_TYPE",
    "TAG",
    "TOKEN_COLLECTIONS",
    "USER_ACCESS_TYPE",
    "access_types_info",
    "custom_property_definitions",
    "enums",
    "tags",
]

USER_ACCESS_TYPE = Collection(
    "license/useraccesstype", "License.UserAccessType", ("id", "privileges")
)
LOGIN_ACCESS_TYPE = Collection(
    "license/loginaccesstype", "License.LoginAccessType", ("id", "privileges", "name")
)
TOKEN_COLLECTIONS = (USER_ACCESS_TYPE, LOGIN_ACCESS_TYPE)
"""Always empty: the simulated licence is a Professional/Analyzer licence without tokens."""

TAG = Collection("tag", "Tag", ("id", "privileges", "name"))
CUSTOM_PROPERTY_DEFINITION = Collection(
    "custompropertydefinition",
    "CustomPropertyDefinition",
    ("id", "privileges", "name", "valueType", "choiceValues"),
)

ENUMS: Mapping[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    # name -> (values "N: Name", usages "Schema.property"). The names and numbers are the
    # spec's x-enumNames; the dictionary's key spelling is UNVERIFIED (not in the spec).
    "RuleContextEnum": (
        ("0: BothQlikSenseAndQMC", "1: QlikSenseOnly", "2: QMCOnly"),
        ("SystemRule.ruleContext",),
    ),
    "NodeTypeEnum": (("0: Undefined", "1: Central", "2: Rim"), ("About.nodeType",)),
}
"""What ``/qrs/about/api/enums`` lists: the enums of the entities the simulator serves."""


def enums() -> dict[str, Entity]:
    """``GET /qrs/about/api/enums``: ``{Name: EnumDescription}``."""
    return {
        name: {"schemaPath": "EnumDescription", "values": list(values), "usages": list(usages)}
        for name, (values, usages) in ENUMS.items()
    }


def access_types_info() -> Entity:
    """``GET /qrs/license/accesstypeinfo`` (deprecated): no tokens, so every count is 0.

    ``tokenCost`` cannot be 0 (the spec's minimum is 0.01): the costs are those the overview's
    token blocks show (1 per user pass, 0.1 per login pass); the sub-objects' ``schemaPath``
    spelling is UNVERIFIED.
    """

    def details(name: str, cost: float, last: str) -> Entity:
        return {
            "schemaPath": f"AccessTypesInfo.{name}",
            "tokenCost": cost,
            "allocatedTokens": 0,
            "usedTokens": 0,
            last: 0,
        }

    return {
        "schemaPath": "AccessTypesInfo",
        "totalTokens": 0,
        "availableTokens": 0,
        "professionalAccessType": details("ProfessionalAccessType", 1.0, "quarantinedTokens"),
        "userAccessType": details("UserAccessType", 1.0, "quarantinedTokens"),
        "loginAccessType": details("LoginAccessType", 0.1, "unavailableTokens"),
        "analyzerAccessType": details("AnalyzerAccessType", 1.0, "quarantinedTokens"),
    }


def tags(users: Iterable[Mapping[str, Any]]) -> list[Entity]:
    """The ``Tag`` entities users carry, one per id, in the order first met.

    QRS keeps tags as entities that users refer to; the simulator keeps them on the users, so
    a tag's dates are those of the first user carrying it.
    """
    found: dict[str, Entity] = {}
    for user in users:
        for tag in user.get("tags") or ():
            if tag["id"] not in found:
                found[tag["id"]] = {
                    "id": tag["id"],
                    "createdDate": user["createdDate"],
                    "modifiedDate": user["createdDate"],
                    "modifiedByUserName": user["modifiedByUserName"],
                    "schemaPath": "Tag",
                    "privileges": None,
                    "name": tag["name"],
                }
    return list(found.values())


def custom_property_definitions(
    definitions: Iterable[Mapping[str, Any]], *, when: str, by: str
) -> list[Entity]:
    """Full ``CustomPropertyDefinition`` entities of the registered definitions."""
    return [
        {
            "id": d["id"],
            "createdDate": d.get("createdDate", when),
            "modifiedDate": d.get("modifiedDate", when),
            "modifiedByUserName": d.get("modifiedByUserName", by),
            "schemaPath": "CustomPropertyDefinition",
            "privileges": None,
            "name": d["name"],
            "valueType": d.get("valueType", "Text"),
            "choiceValues": list(d.get("choiceValues") or ()),
            "objectTypes": list(d.get("objectTypes") or ("User",)),
            "description": d.get("description", ""),
        }
        for d in definitions
    ]
