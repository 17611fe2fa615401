"""QRS JSON -> actual state: the pure parsers, on JSON values (no HTTP)."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from licsync.errors import QrsError, QrsResponseError
from licsync.identity import AccessType, RuleContext
from licsync.qrs.parse import (
    access_group_reference,
    parse_about,
    parse_allocations,
    parse_capacity,
    parse_rules,
    parse_users,
    read_allocations,
)

PRO = AccessType.PROFESSIONAL
ANA = AccessType.ANALYZER
GROUP_ID = "0f4a6a6e-5a3c-4f1e-9a59-2c0d8d7b1e01"
OTHER_GROUP_ID = "7c07a7b2-1d4e-4b8e-8a0c-000000000002"


def user(**fields: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "id": "u-1",
        "userId": "Alice",
        "userDirectory": "CORP",
        "removedExternally": False,
        "blacklisted": False,
    }
    base.update(fields)
    return base


def allocation(**fields: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "id": "a-1",
        "user": {"id": "u-1", "userId": "Alice", "userDirectory": "CORP", "name": "Alice A"},
        "lastUsed": "2024-03-01T10:00:00.000Z",
        "quarantined": False,
        "quarantineEnd": "0001-01-01T00:00:00.000Z",
        "modifiedDate": "2024-03-01T10:00:00.123Z",
    }
    base.update(fields)
    return base


def system_rule(
    group_id: str = GROUP_ID, kind: str = "Professional", **fields: Any
) -> dict[str, Any]:
    base: dict[str, Any] = {
        "id": "r-1",
        "category": "License",
        "type": "Custom",
        "name": "Sales pros",
        "rule": '((user.group="Sales"))',
        "resourceFilter": f"License.{kind}AccessGroup_{group_id}",
        "actions": 1,
        "ruleContext": 1,
        "disabled": False,
        "comment": "for sales",
        "modifiedDate": "2024-01-01T00:00:00.000Z",
    }
    base.update(fields)
    return base


def test_users_keyed_case_insensitively_with_flags() -> None:
    """Users are keyed by casefolded DIRECTORY\\userid and keep their spelling and flags."""
    users = parse_users(
        [
            user(
                name="Alice A",
                inactive=True,
                removedExternally=True,
                blacklisted=True,
                roles=["RootAdmin"],
                createdDate="2020-05-06T07:08:09.010Z",
            )
        ]
    )
    alice = users["corp\\alice"]
    assert (alice.id, alice.directory, alice.userid, alice.name) == (
        "u-1",
        "CORP",
        "Alice",
        "Alice A",
    )
    assert (alice.inactive, alice.removed_externally, alice.blocked) == (True, True, True)
    assert alice.roles == ("RootAdmin",)
    assert alice.created == dt.datetime(2020, 5, 6, 7, 8, 9, 10000, tzinfo=dt.UTC)


def test_user_attributes_grouped_by_casefolded_type_in_order() -> None:
    """Attributes group by attributeType casefolded; values keep QRS order; no value is skipped."""
    users = parse_users(
        [
            user(
                attributes=[
                    {"attributeType": "Group", "attributeValue": "Sales"},
                    {"attributeType": "email", "attributeValue": "a@corp"},
                    {"attributeType": "GROUP", "attributeValue": "EMEA"},
                    {"attributeType": "group"},
                ]
            )
        ]
    )
    alice = users["corp\\alice"]
    assert dict(alice.attributes) == {"group": ("Sales", "EMEA"), "email": ("a@corp",)}
    assert alice.groups == ("Sales", "EMEA")


def test_user_custom_properties_and_tags() -> None:
    """Custom properties group by definition name casefolded; tags become their names."""
    users = parse_users(
        [
            user(
                customProperties=[
                    {"value": "Finance", "definition": {"name": "CostCentre", "valueType": "Text"}},
                    {"value": "IT", "definition": {"name": "costcentre", "valueType": "Text"}},
                ],
                tags=[{"id": "t1", "name": "keepAllocation"}],
            )
        ]
    )
    alice = users["corp\\alice"]
    assert dict(alice.custom_properties) == {"costcentre": ("Finance", "IT")}
    assert alice.tags == ("keepAllocation",)


def test_user_with_only_required_fields() -> None:
    """Optional user fields may be absent."""
    alice = parse_users([user()])["corp\\alice"]
    assert (alice.name, alice.roles, alice.tags, alice.created) == ("", (), (), None)
    assert dict(alice.attributes) == {}
    assert dict(alice.custom_properties) == {}
    assert alice.inactive is False


@pytest.mark.parametrize(
    "field", ["userId", "userDirectory", "removedExternally", "blacklisted", "id"]
)
def test_user_missing_required_field_names_endpoint_and_field(field: str) -> None:
    """A user lacking a required field is a QrsError naming the endpoint, entity and field."""
    entity = user()
    del entity[field]
    with pytest.raises(QrsError) as caught:
        parse_users([user(id="u-0", userId="Bob"), entity])
    message = str(caught.value)
    assert "/qrs/user/full" in message
    assert f"'{field}'" in message
    assert "entity #1" in message
    assert caught.value.path == "/qrs/user/full"


def test_user_attribute_without_type_names_nested_field() -> None:
    """An attribute lacking attributeType names ``attributes[].attributeType``."""
    with pytest.raises(QrsError, match=r"attributes\[\]\.attributeType"):
        parse_users([user(attributes=[{"attributeValue": "Sales"}])])


@pytest.mark.parametrize("payload", [{"not": "a list"}, ["a string"], [user(attributes="Sales")]])
def test_users_of_wrong_shape_are_qrs_errors(payload: Any) -> None:
    """Answers of the wrong shape raise QrsError, not TypeError."""
    with pytest.raises(QrsError, match="/qrs/user/full"):
        parse_users(payload)


def test_duplicate_user_keys_keep_the_first() -> None:
    """Two users differing only in case: the first read is kept."""
    users = parse_users([user(id="first"), user(id="second", userId="ALICE")])
    assert list(users) == ["corp\\alice"]
    assert users["corp\\alice"].id == "first"


def test_allocation_fields_and_never_used() -> None:
    """lastUsed of 0001-01-01 or absent is None; dates are aware UTC; modifiedDate kept verbatim."""
    parsed = parse_allocations(
        [
            allocation(),
            allocation(id="a-2", lastUsed="0001-01-01T00:00:00.000Z", excess=True),
            allocation(id="a-3", lastUsed=None),
        ],
        PRO,
    )
    first, never, absent = parsed
    assert first.last_used == dt.datetime(2024, 3, 1, 10, tzinfo=dt.UTC)
    assert first.modified_date == "2024-03-01T10:00:00.123Z"
    assert first.quarantine_end is None
    assert (first.user_id, first.key, first.access_type) == ("u-1", "corp\\alice", PRO)
    assert never.last_used is None
    assert never.excess is True
    assert absent.last_used is None


def test_allocation_of_deleted_user_uses_deleted_fields() -> None:
    """``user: null`` plus the deletedUser* fields: a deleted user's quarantined seat."""
    (seat,) = parse_allocations(
        [
            allocation(
                user=None,
                deletedUserDirectory="CORP",
                deletedUserId="Gone",
                quarantined=True,
                quarantineEnd="2024-03-08T10:00:00.000Z",
            )
        ],
        ANA,
    )
    assert (seat.user_id, seat.directory, seat.userid, seat.key) == (
        None,
        "CORP",
        "Gone",
        "corp\\gone",
    )
    assert seat.quarantined is True
    assert seat.quarantine_end == dt.datetime(2024, 3, 8, 10, tzinfo=dt.UTC)


def test_allocation_without_any_user_is_an_error() -> None:
    """Neither ``user`` nor the deleted-user fields: a QrsError naming both."""
    with pytest.raises(QrsError, match="deletedUserDirectory") as caught:
        parse_allocations([allocation(user=None)], PRO)
    assert "/qrs/license/professionalaccesstype/full" in str(caught.value)


def test_allocation_user_without_userid_names_nested_field() -> None:
    """The embedded UserCondensed requires userId: its absence names ``user.userId``."""
    with pytest.raises(QrsError, match=r"'user\.userId'"):
        parse_allocations([allocation(user={"id": "u-1", "userDirectory": "CORP"})], ANA)


def test_allocation_bad_date_is_an_error() -> None:
    """A date that is not ISO 8601 is a QrsError, not a ValueError."""
    with pytest.raises(QrsError, match="analyzeraccesstype"):
        parse_allocations([allocation(lastUsed="yesterday")], ANA)


def test_rule_paired_with_group_case_insensitively() -> None:
    """A rule's resourceFilter GUID pairs it with its group whatever the case."""
    groups = {PRO: [{"id": GROUP_ID.upper(), "name": "Sales pros"}], ANA: []}
    rule = system_rule(group_id=GROUP_ID, kind="professional")
    rules = parse_rules(groups, [rule])
    (paired,) = rules[PRO]
    assert rules[ANA] == ()
    assert (paired.rule_id, paired.group_id, paired.half_created) == (
        "r-1",
        GROUP_ID.upper(),
        False,
    )
    assert (paired.name, paired.condition, paired.comment) == (
        "Sales pros",
        '((user.group="Sales"))',
        "for sales",
    )
    assert paired.context is RuleContext.HUB
    assert paired.actions == 1
    assert paired.disabled is False
    assert dict(paired.rule_entity or {}) == rule


def test_half_created_and_orphaned_rules() -> None:
    """A group without rule and a rule without group both appear with the missing half None."""
    groups = {PRO: [{"id": GROUP_ID, "name": "Lonely group"}], ANA: []}
    rules = parse_rules(
        groups, [system_rule(group_id=OTHER_GROUP_ID, kind="Analyzer", name="Orphan")]
    )
    (lonely,) = rules[PRO]
    (orphan,) = rules[ANA]
    assert (lonely.name, lonely.rule_id, lonely.group_id, lonely.rule_entity) == (
        "Lonely group",
        None,
        GROUP_ID,
        None,
    )
    assert (orphan.name, orphan.rule_id, orphan.group_id) == ("Orphan", "r-1", None)
    assert lonely.half_created
    assert orphan.half_created


def test_rules_for_other_licence_resources_are_skipped() -> None:
    """User access and login access rules are not licsync's."""
    groups: dict[AccessType, list[Any]] = {PRO: [], ANA: []}
    other = system_rule(resourceFilter=f"License.UserAccessGroup_{GROUP_ID}")
    login = system_rule(id="r-2", resourceFilter="License.LoginAccessType_*")
    assert parse_rules(groups, [other, login]) == {PRO: (), ANA: ()}


@pytest.mark.parametrize(
    ("value", "context"), [(0, RuleContext.BOTH), (1, RuleContext.HUB), (2, RuleContext.QMC)]
)
def test_rule_context_values(value: int, context: RuleContext) -> None:
    """ruleContext 0/1/2 map to both/hub/qmc."""
    groups = {PRO: [{"id": GROUP_ID, "name": "g"}], ANA: []}
    (rule,) = parse_rules(groups, [system_rule(ruleContext=value)])[PRO]
    assert rule.context is context


def test_rule_context_absent_defaults_to_both() -> None:
    """ruleContext is optional with QRS default 0 (both)."""
    entity = system_rule()
    del entity["ruleContext"]
    (rule,) = parse_rules({PRO: [], ANA: []}, [entity])[PRO]
    assert rule.context is RuleContext.BOTH


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"ruleContext": 7}, "ruleContext"),
        ({"actions": "1"}, "actions"),
        ({"actions": None}, "actions"),
    ],
)
def test_rule_bad_values_are_errors(change: dict[str, Any], field: str) -> None:
    """An unknown ruleContext or a non-integer actions is a QrsError naming the field."""
    with pytest.raises(QrsError, match=field):
        parse_rules({PRO: [], ANA: []}, [system_rule(**change)])


@pytest.mark.parametrize("field", ["resourceFilter", "actions", "name", "id"])
def test_rule_missing_required_field(field: str) -> None:
    """A system rule lacking a field licsync needs names it and the endpoint."""
    entity = system_rule()
    del entity[field]
    with pytest.raises(QrsError, match=f"'{field}'") as caught:
        parse_rules({PRO: [], ANA: []}, [entity])
    assert "/qrs/systemrule/full" in str(caught.value)


def test_rules_sorted_by_name() -> None:
    """Rules come out sorted by name, casefolded."""
    second = str(uuid.UUID(int=2))
    groups = {PRO: [{"id": GROUP_ID, "name": "b"}, {"id": second, "name": "a"}], ANA: []}
    entities = [system_rule(name="beta"), system_rule(id="r-2", group_id=second, name="Alpha")]
    assert [r.name for r in parse_rules(groups, entities)[PRO]] == ["Alpha", "beta"]


@given(guid=st.uuids(), upper=st.booleans(), kind=st.sampled_from(list(AccessType)))
def test_access_group_reference_any_case(guid: uuid.UUID, upper: bool, kind: AccessType) -> None:
    """The GUID after ``<Type>AccessGroup_`` is found whatever the case of the filter."""
    text = f"License.{kind.title}AccessGroup_{guid}"
    assert access_group_reference(text.upper() if upper else text) == (kind, str(guid))


@pytest.mark.parametrize(
    "text",
    ["", "License.ProfessionalAccessGroup_", "License.ProfessionalAccessGroup_1234", "App_*"],
)
def test_access_group_reference_none(text: str) -> None:
    """Filters without a whole GUID after an access group name refer to nothing."""
    assert access_group_reference(text) is None


def test_capacity_blocks_and_defaults() -> None:
    """The two access blocks feed Capacity; absent numbers are 0, absent blocks left out."""
    overview = {
        "professionalAccess": {
            "enabled": True,
            "total": 25,
            "allocated": 5,
            "used": 1,
            "quarantined": 2,
            "excess": 0,
            "available": 18,
            "schemaPath": "AccessTypeOverview.Details",
        }
    }
    capacity = parse_capacity(overview)
    assert list(capacity) == [PRO]
    pro = capacity[PRO]
    assert (pro.enabled, pro.total, pro.allocated, pro.used, pro.quarantined, pro.available) == (
        True,
        25,
        5,
        1,
        2,
        18,
    )
    assert parse_capacity({"analyzerAccess": {}})[ANA].total == 0


def test_capacity_wrong_shape() -> None:
    """A non-object overview or block is a QrsError naming the endpoint."""
    with pytest.raises(QrsError, match="accesstypeoverview"):
        parse_capacity([])
    with pytest.raises(QrsError, match="accesstypeoverview"):
        parse_capacity({"professionalAccess": {"total": "many"}})


def test_about_requires_build_version() -> None:
    """``/qrs/about`` must carry buildVersion."""
    assert parse_about({"buildVersion": "38.22.0"}) == "38.22.0"
    with pytest.raises(QrsError, match="buildVersion"):
        parse_about({"buildDate": "x"})


def test_both_never_sentinels_and_empty_deleted_user_fields_read_alike() -> None:
    """Live servers' "never" (1753-01-01) and ``""`` deleted-user fields on a living user's seat
    read exactly as the spec's 0001-01-01 and null."""
    live = allocation(
        lastUsed="1753-01-01T00:00:00.000Z",
        quarantineEnd="1753-01-01T00:00:00.000Z",
        deletedUserId="",
        deletedUserDirectory="",
    )
    spec = allocation(
        lastUsed="0001-01-01T00:00:00.000Z",
        quarantineEnd="0001-01-01T00:00:00.000Z",
        deletedUserId=None,
        deletedUserDirectory=None,
    )
    assert parse_allocations([live], PRO) == parse_allocations([spec], PRO)
    (seat,) = parse_allocations([live], PRO)
    assert (seat.last_used, seat.quarantine_end, seat.user_id) == (None, None, "u-1")


def test_unreadable_rows_are_reported_and_the_rest_read() -> None:
    """read_allocations: a seat with ``user: null`` and empty deleted-user fields, or not an
    object, is an UnreadableRow naming its id and why; the good seat is read."""
    rows = [
        allocation(id="odd", user=None, deletedUserId="", deletedUserDirectory=""),
        "not a seat",
        allocation(id="good"),
    ]
    seats, unreadable = read_allocations(rows, PRO)
    assert [s.id for s in seats] == ["good"]
    first, second = unreadable
    assert (first.id, first.index, first.access_type) == ("odd", 0, PRO)
    assert "lacks the field 'user (or deletedUserDirectory/deletedUserId)'" in first.why
    assert (second.id, second.index) == (None, 1)
    assert "not an object" in second.why
    with pytest.raises(QrsResponseError, match="odd"):
        parse_allocations(rows, PRO)
