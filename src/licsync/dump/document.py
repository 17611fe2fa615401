"""Actual state in, the YAML text of an adopted site out: what ``licsync dump`` writes.

Pure: no I/O, no clock. :func:`dump_site` decides what to declare so that the first plan of the
files changes nothing, in any ownership mode:

- every explicit allocation that is not quarantined, except a seat its user holds only through
  a licence rule that is written too and certainly covers them (authoritative mode keeps such
  seats for the rule's sake); an analyzer seat beside a professional one is always written, or
  the plan would reclaim it as redundant;
- every licence rule with both halves, a name of its own and a condition licsync can read,
  with its condition, context, disabled flag and comment exactly as on the site;
- a policy that reports, never reclaims (flagged users, idle seats), in the ownership asked.

What YAML cannot declare (a quarantined seat: declaring it would reinstate it; a seat of a user
QRS does not list; a half-created rule; a second rule of a name; a condition licsync cannot
read) is named in a comment, and the planner reports it as a finding.
"""

from __future__ import annotations

import re
import urllib.parse
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from licsync.actual import Actual, ActualAllocation, ActualRule, ActualUser
from licsync.desired import DesiredRule
from licsync.dump.scalars import comment_text, scalar
from licsync.errors import RuleSyntaxError
from licsync.identity import AccessType, split_user
from licsync.lookalike import declarable_user_id
from licsync.plan.planner import rule_coverage
from licsync.policy import IdlePolicy, Ownership, SafetyPolicy
from licsync.rules import RuleCoverage, Verdict, parse_condition
from licsync.site import DEFAULT_ACTING_USER, AuthMode, Site

__all__ = ["FILE_NAMES", "SITE_FILE", "Dump", "DumpedAllocation", "dump_site", "site_name_for"]

SITE_FILE = "site.yaml"
FILE_NAMES = (SITE_FILE, "professional.yaml", "analyzer.yaml")
"""The files a dump writes, in the order it writes them."""

PROTECTED = ("INTERNAL\\*",)
"""Qlik's own service accounts: never reclaimed by a policy a dump writes."""

# The schema's DIRECTORY\userid pattern: what a file may declare.
_NAME_MAX, _CONDITION_MAX, _COMMENT_MAX = 255, 2048, 255


@dataclass(frozen=True, slots=True)
class DumpedAllocation:
    """One allocation written: the user as QRS spells them, and the facts in its comment."""

    user: str
    facts: str


@dataclass(frozen=True, slots=True)
class Dump:
    """What a dump writes.

    Attributes:
        files: (file name, text) in :data:`FILE_NAMES` order.
        allocations: per access type, the allocations written, sorted by user key.
        rules: per access type, the rules written, in QRS order.
        held_by_rule: per access type, users left out because a written rule covers them.
        left_out: one line per thing the site holds that the files cannot declare.
    """

    files: tuple[tuple[str, str], ...]
    allocations: Mapping[AccessType, tuple[DumpedAllocation, ...]]
    rules: Mapping[AccessType, tuple[DesiredRule, ...]]
    held_by_rule: Mapping[AccessType, tuple[str, ...]] = field(default_factory=dict)
    left_out: tuple[str, ...] = ()


def dump_site(actual: Actual, site: Site, ownership: Ownership) -> Dump:
    """The YAML files that declare the site as it is.

    Args:
        actual: the site as read.
        site: the connection settings to write (paths already relative to the output folder;
            never a secret, only variable names).
        ownership: the ownership mode of both access types.
    """
    users = tuple(actual.users.values())
    texts: list[tuple[str, str]] = []
    allocations: dict[AccessType, tuple[DumpedAllocation, ...]] = {}
    rules: dict[AccessType, tuple[DesiredRule, ...]] = {}
    held: dict[AccessType, tuple[str, ...]] = {}
    left_out: list[str] = []
    # Who holds professional as the planner counts it: an analyzer seat beside an active one is
    # reclaimed as redundant unless analyzer declares it.
    professional_holders = {
        a.key for a in actual.allocations_of(AccessType.PROFESSIONAL) if not a.quarantined
    }
    for access_type in AccessType:
        written, rule_notes = _rules(actual.rules_of(access_type))
        coverage = rule_coverage(written, users)
        part = _allocations(
            actual,
            access_type,
            coverage,
            also_professional=professional_holders if access_type is AccessType.ANALYZER else set(),
        )
        rules[access_type] = written
        allocations[access_type] = part.written
        held[access_type] = part.held
        notes = part.notes + rule_notes
        left_out.extend(f"{access_type}: {note}" for note in notes)
        texts.append(
            (f"{access_type.value}.yaml", _type_text(access_type, part, written, rule_notes))
        )
    site_text = _site_text(site, ownership, actual.build_version)
    return Dump(
        files=((SITE_FILE, site_text), *texts),
        allocations=allocations,
        rules=rules,
        held_by_rule=held,
        left_out=tuple(left_out),
    )


# -- rules ----------------------------------------------------------------------------------------


def _rules(on_site: Iterable[ActualRule]) -> tuple[tuple[DesiredRule, ...], list[str]]:
    """The rules a file can declare as they are, and a note for each one it cannot."""
    written: list[DesiredRule] = []
    notes: list[str] = []
    seen: set[str] = set()
    for rule in on_site:
        # The planner pairs a declared name with the first rule of that name, as here.
        first = rule.name.casefold() not in seen
        seen.add(rule.name.casefold())
        why_not = _undeclarable(rule, first=first)
        if why_not:
            notes.append(f"rule {rule.name!r} is not declared: {why_not}")
            continue
        written.append(
            DesiredRule(
                name=rule.name,
                condition=rule.condition,
                context=rule.context,
                disabled=rule.disabled,
                comment=rule.comment,
            )
        )
    return tuple(written), notes


def _undeclarable(rule: ActualRule, *, first: bool) -> str:
    if rule.rule_id is None:
        return "half-created (an access group without its system rule)"
    if rule.group_id is None:
        return "half-created (a system rule whose access group is gone)"
    if not first:
        return "a second rule of this name (names are unique per access type)"
    # Past here the planner cannot tell the rule from one left out on purpose: authoritative
    # ownership deletes it, so the note says so.
    deletes = (
        "; authoritative ownership would delete it: declare it by hand in a form licsync "
        "reads, or keep this type additive"
    )
    if not 1 <= len(rule.name) <= _NAME_MAX:
        return f"its name is empty or longer than {_NAME_MAX} characters{deletes}"
    if len(rule.comment) > _COMMENT_MAX:
        return f"its comment is longer than {_COMMENT_MAX} characters{deletes}"
    if len(rule.condition) > _CONDITION_MAX:
        return f"its condition is longer than {_CONDITION_MAX} characters{deletes}"
    try:
        parse_condition(rule.condition)
    except RuleSyntaxError as exc:
        return f"licsync cannot read its condition ({exc}){deletes}"
    return ""


# -- allocations ----------------------------------------------------------------------------------


@dataclass(slots=True)
class _Part:
    written: tuple[DumpedAllocation, ...] = ()
    held: tuple[str, ...] = ()
    notes: list[str] = field(default_factory=list)


def _allocations(
    actual: Actual,
    access_type: AccessType,
    coverage: RuleCoverage,
    *,
    also_professional: set[str],
) -> _Part:
    part = _Part()
    active: dict[str, ActualAllocation] = {}
    quarantined: dict[str, ActualAllocation] = {}
    for allocation in actual.allocations_of(access_type):
        bucket = quarantined if allocation.quarantined else active
        bucket.setdefault(allocation.key, allocation)  # the planner keeps the first, too
    written: list[DumpedAllocation] = []
    held: list[str] = []
    for key in sorted(active):
        allocation = active[key]
        user = actual.users.get(key)
        if user is None:
            part.notes.append(
                f"{allocation.display} holds a seat but QRS lists no such user "
                f"({_usage(allocation)}); check it in the QMC"
            )
            continue
        if not _declarable_user(user.display):
            part.notes.append(
                f"{user.display} holds a seat but a file cannot name this user id "
                "(spaces around it, an invisible character, or too long); authoritative "
                "ownership would reclaim it: fix the id in the user directory first"
            )
            continue
        both = key in also_professional
        if not both and key in coverage and coverage.verdict(key) is Verdict.YES:
            held.append(user.display)
            continue
        written.append(DumpedAllocation(user.display, _facts(allocation, user, coverage, both)))
    for key in sorted(quarantined):
        if key in active:
            continue
        allocation = quarantined[key]
        until = allocation.quarantine_end
        when = f"until {until.date().isoformat()}" if until else "(no end date)"
        part.notes.append(
            f"{allocation.display}'s seat is quarantined {when}, not declared: declaring it "
            "would reinstate it"
        )
    part.written, part.held = tuple(written), tuple(held)
    return part


def _declarable_user(display: str) -> bool:
    return split_user(display) is not None and declarable_user_id(display)


def _facts(
    allocation: ActualAllocation, user: ActualUser, coverage: RuleCoverage, both: bool
) -> str:
    facts = [_usage(allocation)]
    flags = [
        words
        for flag, words in (
            (user.inactive, "inactive"),
            (user.removed_externally, "removed externally"),
            (user.blocked, "blocked"),
        )
        if flag
    ]
    if flags:
        facts.append("QRS: " + ", ".join(flags))
    if both:
        facts.append("also holds professional")
    if allocation.key in coverage:
        maybe = coverage.unknown(allocation.key)
        if maybe:
            facts.append("rule " + ", ".join(repr(r) for r in maybe) + " may cover them")
    return "; ".join(facts)


def _usage(allocation: ActualAllocation) -> str:
    if allocation.last_used is not None:
        return f"last used {allocation.last_used.date().isoformat()}"
    if allocation.created is not None:
        return f"never used (allocated {allocation.created.date().isoformat()})"
    return "never used"


# -- text -----------------------------------------------------------------------------------------


def _type_text(
    access_type: AccessType, part: _Part, rules: tuple[DesiredRule, ...], rule_notes: list[str]
) -> str:
    lines = [
        f"# {access_type.title} access as `licsync dump` read it from the site: every explicit",
        "# allocation (the comment says when it was last used and how QRS flags the user) and",
        "# every licence rule, exactly as on the site.",
    ]
    if part.held:
        lines.append(
            f"# {len(part.held)} more users hold {access_type} only through a rule below that "
            "covers them; they are not listed."
        )
    allocation_notes = part.notes
    if allocation_notes or rule_notes:
        lines.append("#")
        lines.append("# On the site but not declared here (the plan reports these as findings):")
        lines.extend(f"#   - {comment_text(note)}" for note in (*allocation_notes, *rule_notes))
    lines.append("")
    lines.append(f"{access_type.value}:")
    if part.written:
        lines.append("  allocations:")
        for entry in part.written:
            lines.append(f"    - user: {scalar(entry.user)}  # {comment_text(entry.facts)}")
    else:
        lines.append("  allocations: []")
    if rules:
        lines.append("  rules:")
        for rule in rules:
            lines.append(f"    - name: {scalar(rule.name)}")
            lines.append(f"      condition: {scalar(rule.condition)}")
            lines.append(f"      context: {rule.context.value}")
            lines.append(f"      disabled: {'true' if rule.disabled else 'false'}")
            lines.append(f"      comment: {scalar(rule.comment)}")
    else:
        lines.append("  rules: []")
    return "\n".join(lines) + "\n"


_NEXT_STEPS = """\
  # Written by `licsync dump`: the first plan of these files changes nothing, in any ownership
  # mode. It reports; it reclaims nothing. Switch things on one at a time, each in a pull request
  # whose plan you read (README, "Adopting an existing site"):
  #   1. ownership additive (from observe): licsync now makes what the files declare, and
  #      removes nothing merely for not being declared.
  #   2. users.removed_externally, then users.inactive, then users.blocked: reclaim. The plan
  #      then reclaims those users' seats; the comments in professional.yaml and analyzer.yaml
  #      say who is flagged today.
  #   3. idle.action: reclaim: seats nobody declares (those held through a rule) unused for
  #      idle.days. Declared users are reported, never reclaimed for idleness; remove them from
  #      the files (or give them `until:`) to reclaim them.
  #   4. ownership authoritative, one access type at a time: allocations and licence rules the
  #      files do not declare are then removed, unless a declared rule covers the user.
  #   Add policy.denials.sources to review users denied access."""


def _site_text(site: Site, ownership: Ownership, build_version: str) -> str:
    built = f" (QRS {build_version})" if build_version else ""
    lines = [
        f"# The site as `licsync dump` found it{comment_text(built)}: its connection settings",
        "# (secrets are named by environment variable, never written) and the policy.",
        "",
        "site:",
        f"  name: {scalar(site.name)}",
        f"  qrs_url: {scalar(site.qrs_url)}",
    ]
    if site.virtual_proxy:
        lines.append(f"  virtual_proxy: {scalar(site.virtual_proxy)}")
    auth = site.auth
    lines.append("  auth:")
    lines.append(f"    mode: {auth.mode.value}")
    if auth.user != DEFAULT_ACTING_USER or auth.mode is not AuthMode.CERTIFICATE:
        lines.append(f"    user: {scalar(auth.user)}")
    for name, value in (
        ("cert_file", auth.cert_file),
        ("key_file_env", auth.key_file_env),
        ("header_name", auth.header_name),
        ("token_env", auth.token_env),
        ("password_env", auth.password_env),
    ):
        if value:
            lines.append(f"    {name}: {scalar(value)}")
    tls = [f"    ca_file: {scalar(site.tls.ca_file)}"] if site.tls.ca_file else []
    if not site.tls.verify:
        tls.append("    insecure_skip_verify: true")
    if site.tls.allow_plain_http:
        tls.append("    allow_plain_http: true")
    if tls:
        lines.append("  tls:")
        lines.extend(tls)
    if site.request_timeout is not None:
        lines.append(f"  request_timeout: {_number(site.request_timeout)}")
    if site.max_answer_mb is not None:
        lines.append(f"  max_answer_mb: {site.max_answer_mb}")
    idle, safety = IdlePolicy(), SafetyPolicy()
    lines += [
        "",
        "policy:",
        _NEXT_STEPS,
        "  ownership:",
        *(f"    {t.value}: {ownership.value}" for t in AccessType),
        "  users:",
        "    inactive: report",
        "    removed_externally: report",
        "    blocked: report",
        "  idle:",
        f"    days: {idle.days}",
        "    action: report",
        "  protected:",
        *(f"    - {scalar(p)}" for p in PROTECTED),
        "  safety:",
        f"    max_reclaims: {safety.max_reclaims}",
        f"    max_reclaim_share: {safety.max_reclaim_share}",
        f"    share_floor: {safety.share_floor}",
    ]
    return "\n".join(lines) + "\n"


def _number(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else repr(float(value))


def site_name_for(url: str) -> str:
    """A site name from a QRS URL's host (``qlik-central.example.com`` -> ``qlik-central``)."""
    host = urllib.parse.urlsplit(url).hostname or ""
    if ":" in host:
        return "site"  # an IPv6 address makes no name
    label = host if re.fullmatch(r"[0-9.]+", host) else host.split(".")[0]
    cleaned = re.sub(r"[^A-Za-z0-9._-]", "-", label).strip("-._")[:63]
    return cleaned or "site"
