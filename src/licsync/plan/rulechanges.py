"""The planner's licence rules: which to create, complete, update or delete, per access type."""

from __future__ import annotations

from collections.abc import Mapping

from licsync.actual import ActualRule
from licsync.desired import DesiredRule
from licsync.identity import AccessType
from licsync.plan.changes import Change, CompleteRule, CreateRule, DeleteRule, FieldDiff, UpdateRule
from licsync.plan.context import Context
from licsync.plan.findings import Finding, FindingKind
from licsync.severity import Severity

_RULE_FIELDS = ("condition", "context", "disabled", "comment")


def _rule_fields(rule: DesiredRule | ActualRule) -> dict[str, str | bool]:
    return {
        "condition": rule.condition.strip(),
        "context": rule.context.value,
        "disabled": rule.disabled,
        "comment": rule.comment,
    }


def plan_rules(ctx: Context, access_type: AccessType) -> tuple[list[Change], list[Finding]]:
    """Decide the licence rules of one access type: create, complete, update, delete."""
    changes: list[Change] = []
    findings: list[Finding] = []
    declared = {r.name.casefold(): r for r in ctx.desired.of(access_type).rules}
    on_site: dict[str, ActualRule] = {}
    extras: list[ActualRule] = []
    for rule in ctx.actual.rules_of(access_type):
        bucket = on_site.setdefault(rule.name.casefold(), rule)
        if bucket is not rule:
            extras.append(rule)  # a second rule with the same name: never declared
    authoritative = ctx.removes_undeclared(access_type)
    for folded in sorted(declared):
        wanted = declared[folded]
        present = on_site.get(folded)
        fields = _rule_fields(wanted)
        if present is None:
            changes.append(
                CreateRule(
                    access_type=access_type,
                    name=wanted.name,
                    key=folded,
                    rule=wanted,
                    diff=tuple(FieldDiff(f, None, fields[f]) for f in _RULE_FIELDS),
                    detail=f"condition {wanted.condition}",
                    source=wanted.source,
                )
            )
            continue
        if present.half_created:
            findings.append(_half_created(access_type, present, repaired=True))
            # The missing half is created and the existing one kept: never a duplicate pair.
            # A surviving system rule is rewritten as declared; the diff shows what changes.
            if present.rule_id is None:
                diff = tuple(FieldDiff(f, None, fields[f]) for f in _RULE_FIELDS)
            else:
                diff = _rule_diff(_rule_fields(present), fields)
            changes.append(
                CompleteRule(
                    access_type=access_type,
                    name=wanted.name,
                    key=folded,
                    rule=wanted,
                    group_id=present.group_id,
                    rule_id=present.rule_id,
                    rule_entity=present.rule_entity,
                    diff=diff,
                    detail=f"condition {wanted.condition}",
                    source=wanted.source,
                )
            )
            continue
        diff = _rule_diff(_rule_fields(present), fields)
        if diff and present.rule_id is not None:
            changes.append(
                UpdateRule(
                    access_type=access_type,
                    name=wanted.name,
                    key=folded,
                    rule=wanted,
                    rule_id=present.rule_id,
                    group_id=present.group_id,
                    rule_entity=present.rule_entity or {},
                    diff=diff,
                    detail=", ".join(d.field for d in diff) + " changed",
                    source=wanted.source,
                )
            )
    undeclared = [r for f, r in on_site.items() if f not in declared] + extras
    duplicates = {id(r) for r in extras}
    for rule in sorted(undeclared, key=lambda r: (r.name.casefold(), r.rule_id or "")):
        # What YAML cannot declare (the leftovers of a half-created rule, a second rule of a
        # name) is never deleted for not being declared: a site adopted with `licsync dump`
        # must plan nothing, and a person decides about such a rule.
        if rule.half_created:
            findings.append(_half_created(access_type, rule))
            continue
        why_not = _DUPLICATE_NAME if authoritative and id(rule) in duplicates else ""
        if why_not:
            findings.append(
                Finding(
                    FindingKind.UNDECLARED_RULE_KEPT,
                    access_type,
                    rule.name,
                    f"{access_type} rule {rule.name!r} cannot be declared ({why_not}); kept: "
                    "rename or delete it in the QMC",
                    severity=Severity.WARNING,
                    data={"condition": rule.condition, "undeclarable": why_not},
                )
            )
            continue
        if not authoritative:
            findings.append(
                Finding(
                    FindingKind.UNDECLARED_RULE_KEPT,
                    access_type,
                    rule.name,
                    f"{access_type} rule {rule.name!r} is on the site but not declared; kept "
                    f"({ctx.ownership(access_type)} ownership)",
                    severity=Severity.INFO,
                    data={"condition": rule.condition},
                )
            )
        if authoritative:
            changes.append(
                DeleteRule(
                    access_type=access_type,
                    name=rule.name,
                    key=_rule_key(rule, duplicate=id(rule) in duplicates),
                    rule_id=rule.rule_id,
                    group_id=rule.group_id,
                    condition=rule.condition,
                    detail=f"condition {rule.condition}" if rule.condition else "",
                )
            )
    return changes, findings


# Why YAML cannot declare a complete rule. A condition licsync cannot read is not among the
# reasons: such a rule is deleted when authoritative, as any rule not declared (`licsync dump`
# warns about it).
_DUPLICATE_NAME = "a second rule of this name; names are unique per access type"


def _rule_key(rule: ActualRule, *, duplicate: bool) -> str:
    """A rule's identity: its name casefolded; a second rule of the same name is told apart by
    its ids, so that every change of a plan has an identity of its own."""
    name = rule.name.casefold()
    return f"{name}#{rule.rule_id or rule.group_id}" if duplicate else name


def _rule_diff(
    present: Mapping[str, str | bool], wanted: Mapping[str, str | bool]
) -> tuple[FieldDiff, ...]:
    # What DeepDiff reported here (values_changed and type_changes of flat dicts, by field),
    # without importing it: deepdiff and the pydantic it pulls in were ~0.1 s of the first
    # plan of every process with a rule to change (an apply's included). Its type check is
    # strict (a str subclass is another type): so is this one.
    return tuple(
        FieldDiff(f, present[f], wanted[f])
        for f in _RULE_FIELDS
        if f in present
        and f in wanted
        and (present[f].__class__ is not wanted[f].__class__ or present[f] != wanted[f])
    )


def _half_created(access_type: AccessType, rule: ActualRule, *, repaired: bool = False) -> Finding:
    missing = "system rule" if rule.rule_id is None else "access group"
    if repaired:
        then = "the plan creates the missing half"
    else:
        then = "it is not declared; delete it in the QMC or declare it to have it completed"
    return Finding(
        FindingKind.HALF_CREATED_RULE,
        access_type,
        rule.name,
        f"{access_type} rule {rule.name!r} has no {missing} (creation stopped half-way); {then}",
        data={"rule_id": rule.rule_id, "group_id": rule.group_id},
    )
