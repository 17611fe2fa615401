"""``licsync.propose.edit`` on its own: texts in, texts out, every other byte kept."""

from __future__ import annotations

import datetime as dt

import yaml

from licsync.identity import AccessType, Source
from licsync.plan import Reason
from licsync.policy import ProposalStyle
from licsync.propose.decide import Edit, Proposal, Removal, Suggestion
from licsync.propose.edit import edit_files

TODAY = dt.date(2026, 12, 1)


def _removal(user: str, edit: Edit = Edit.REMOVE, file: str = "a.yaml") -> Removal:
    return Removal(
        AccessType.PROFESSIONAL,
        user,
        user.casefold(),
        edit,
        Reason.INACTIVE,
        "user inactive",
        holds_seat=True,
        source=Source(file, 1, 1),
        until=TODAY - dt.timedelta(days=1) if edit is Edit.EXPIRE else None,
    )


def _suggestion(user: str, style: ProposalStyle = ProposalStyle.COMMENT) -> Suggestion:
    first = dt.datetime(2026, 11, 2, 8, tzinfo=dt.UTC)
    return Suggestion(
        AccessType.PROFESSIONAL,
        user,
        user.casefold(),
        style,
        4,
        first,
        first + dt.timedelta(days=3),
        ("Sales\nforged: line",),
        (),
        'user.group = "Sales"',
        TODAY + dt.timedelta(days=30) if style is ProposalStyle.UNTIL else None,
    )


def test_bom_and_a_missing_final_newline_are_kept() -> None:
    """A file with a byte-order mark and no newline at its end keeps both."""
    text = "\ufeffprofessional:\n  allocations:\n    - user: CORP\\a\n    - user: CORP\\b"
    result = edit_files(
        {"a.yaml": text}, Proposal(removals=(_removal("CORP\\b", Edit.EXPIRE),)), today=TODAY
    )
    assert result.texts["a.yaml"] == text + "\n      until: 2026-11-30"


def test_hostile_values_cannot_leave_their_comment() -> None:
    """Line breaks in a denied user's name or group are escaped: the comment stays a comment."""
    text = "professional:\n  allocations:\n    - user: CORP\\a\n"
    evil = "CORP\\x\u2028- user: CORP\\boss"
    result = edit_files({"a.yaml": text}, Proposal(suggestions=(_suggestion(evil),)), today=TODAY)
    edited = result.texts["a.yaml"]
    added = edited[len(text) :].split("\n")[:-1]
    assert all(line.startswith("    #") for line in added)
    assert "\u2028" not in edited
    assert yaml.safe_load(edited) == yaml.safe_load(text)
    again = edit_files({"a.yaml": edited}, Proposal(suggestions=(_suggestion(evil),)), today=TODAY)
    assert again.texts == {}  # suggested once: the commented-out entry is recognised


def test_until_suggestion_into_an_empty_flow_list() -> None:
    """`allocations: []` receives a flow entry; the rest of the line and file stay."""
    text = "professional:\n  allocations: []   # none yet\n  rules: []\n"
    proposal = Proposal(suggestions=(_suggestion("CORP\\new", ProposalStyle.UNTIL),))
    edited = edit_files({"a.yaml": text}, proposal, today=TODAY).texts["a.yaml"]
    assert edited.startswith("professional:\n  allocations: [{user: CORP\\new, note: ")
    assert edited.endswith(", until: 2026-12-31}]   # none yet\n  rules: []\n")
    entry = yaml.safe_load(edited)["professional"]["allocations"][0]
    assert entry["user"] == "CORP\\new"
    assert entry["until"] == dt.date(2026, 12, 31)


def test_last_item_of_a_flow_list_goes_with_its_comma() -> None:
    """Removing the last flow item takes the comma before it, nothing else."""
    text = "professional:\n  allocations: [{user: CORP\\a}, {user: CORP\\b}]\n"
    edited = edit_files({"a.yaml": text}, Proposal(removals=(_removal("CORP\\b"),)), today=TODAY)
    assert edited.texts["a.yaml"] == "professional:\n  allocations: [{user: CORP\\a}]\n"


def test_user_spelled_in_another_case_and_quoted_is_found() -> None:
    """Entries match by the case-insensitive key, whatever the quoting."""
    text = "professional:\n  allocations:\n    - user: 'corp\\Anna'\n    - user: CORP\\b\n"
    edited = edit_files({"a.yaml": text}, Proposal(removals=(_removal("CORP\\anna"),)), today=TODAY)
    assert edited.texts["a.yaml"] == "professional:\n  allocations:\n    - user: CORP\\b\n"
