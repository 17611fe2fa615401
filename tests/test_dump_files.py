"""The dump's parts: scalars that read back exactly, and the writer's refusals."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from builders import RANDOM_RULES, actual, alloc, arule, user
from clock import NOW
from licsync.actual import Actual
from licsync.desired import DesiredRule
from licsync.dump import Dump, DumpedAllocation, dump_site
from licsync.dump.document import site_name_for
from licsync.dump.files import write_dump
from licsync.dump.scalars import comment_text, scalar
from licsync.errors import DumpRefused
from licsync.identity import AccessType
from licsync.load import load_desired
from licsync.plan import plan
from licsync.policy import Ownership
from licsync.signals import Signals
from licsync.site import AuthConfig, AuthMode, Site
from licsync.yamlsafe import load_yaml

TODAY = dt.date(2026, 6, 1)
SITE = "site:\n  name: t\n  qrs_url: embedded\n"


# Characters that mean something to YAML, mixed with ordinary ones, find the edges of the
# plain style faster than uniformly random text does.
_YAML_ISH = st.text(alphabet=st.sampled_from(list(" -?:,[]{}#&*!|>'\"%@`=<~.\\_(a1Z\u00e9")))


@given(st.one_of(st.text(max_size=300), _YAML_ISH))
def test_every_text_reads_back_exactly(value: str) -> None:
    """Any text, through licsync's strict YAML loader, is the text written."""
    raw = f"k: {scalar(value)}  # {comment_text(value)}\n".encode("utf-8", "surrogatepass")
    if any(0xD800 <= ord(c) <= 0xDFFF for c in value):
        return  # a lone surrogate cannot come from a UTF-8 QRS answer
    assert load_yaml(raw, "x.yaml").data == {"k": value}


def test_windows_ids_stay_unquoted_or_single_quoted() -> None:
    """A backslash is never written inside double quotes, where YAML would read an escape."""
    assert scalar("CORP\\bjorn.dahl") == "CORP\\bjorn.dahl"
    assert scalar("CORP\\o'brien") == "CORP\\o'brien"
    assert scalar("'CORP\\o'") == "'''CORP\\o'''"
    assert scalar("yes") == "'yes'"


def _dump(professional: str, users: tuple[str, ...] = ()) -> Dump:
    return Dump(
        files=(
            ("site.yaml", SITE),
            ("professional.yaml", professional),
            ("analyzer.yaml", "analyzer:\n  allocations: []\n"),
        ),
        allocations={
            AccessType.PROFESSIONAL: tuple(DumpedAllocation(u, "") for u in users),
            AccessType.ANALYZER: (),
        },
        rules={AccessType.PROFESSIONAL: (), AccessType.ANALYZER: ()},
    )


def test_yaml_the_loader_rejects_is_not_written(tmp_path: Path) -> None:
    """Text the strict loader refuses: an error naming the file, and no file, no folder."""
    out = tmp_path / "site"
    bad = _dump("professional:\n  allocations:\n    - user: nobody\n")
    with pytest.raises(DumpRefused, match=r"site[/\\]professional\.yaml:3:\d+"):
        write_dump(bad, out, force=False, today=TODAY)
    assert list(tmp_path.iterdir()) == []


def test_yaml_that_reads_back_as_something_else_is_not_written(tmp_path: Path) -> None:
    """Valid YAML that is not what was meant (a user lost): refused as a bug, nothing written."""
    out = tmp_path / "site"
    meant = _dump("professional:\n  allocations: []\n", users=("CORP\\a",))
    with pytest.raises(DumpRefused, match="professional allocations differ"):
        write_dump(meant, out, force=False, today=TODAY)
    assert list(tmp_path.iterdir()) == []


def test_an_existing_file_is_refused_and_force_replaces_it(tmp_path: Path) -> None:
    """Without force an existing file stops the dump; with it, the file is replaced whole."""
    out = tmp_path / "site"
    out.mkdir()
    (out / "analyzer.yaml").write_text("# mine\n", encoding="utf-8")
    good = _dump("professional:\n  allocations:\n    - user: CORP\\a\n", users=("CORP\\a",))
    with pytest.raises(DumpRefused, match=r"analyzer\.yaml already exists"):
        write_dump(good, out, force=False, today=TODAY)
    assert (out / "analyzer.yaml").read_text(encoding="utf-8") == "# mine\n"
    written = write_dump(good, out, force=True, today=TODAY)
    assert [p.name for p in written] == ["site.yaml", "professional.yaml", "analyzer.yaml"]
    assert (out / "analyzer.yaml").read_text(encoding="utf-8").startswith("analyzer:")


def test_the_site_stub_names_secrets_by_variable_only() -> None:
    """A jwt site: the variable's name is written, the mode and proxy kept; no value exists."""
    site = Site(
        name="prod",
        qrs_url="https://qlik.example.com",
        virtual_proxy="jwt",
        auth=AuthConfig(mode=AuthMode.JWT, user="CORP\\svc", token_env="QLIK_JWT"),
    )
    text = dict(dump_site(actual([]), site, Ownership.ADDITIVE).files)["site.yaml"]
    assert "token_env: QLIK_JWT" in text
    assert "mode: jwt" in text
    assert "virtual_proxy: jwt" in text
    assert "professional: additive" in text
    assert "action: report" in text


def test_site_names_from_urls() -> None:
    """The host's first label; an address as it is."""
    assert site_name_for("https://qlik-central.example.com:4242") == "qlik-central"
    assert site_name_for("http://127.0.0.1:8080") == "127.0.0.1"
    assert site_name_for("http://[::1]:1") == "site"


def test_rules_keep_every_field() -> None:
    """Rules go into the dump exactly: fields come from the site, in QRS order."""
    on_site = actual([], rules=[arule(AccessType.ANALYZER, "B", 'user.group = "b"', comment="c")])
    made = dump_site(on_site, Site(name="t", qrs_url="embedded"), Ownership.OBSERVE)
    assert made.rules[AccessType.ANALYZER] == (
        DesiredRule(name="B", condition='user.group = "b"', comment="c"),
    )


def test_a_seat_of_a_user_qrs_does_not_list_is_a_finding(tmp_path: Path) -> None:
    """Not declared (no such user to name), said in the file, and the plan only reports it."""
    on_site = actual(
        [user("CORP\\here")],
        [alloc(AccessType.ANALYZER, "CORP\\gone"), alloc(AccessType.ANALYZER, "CORP\\here")],
    )
    for mode in Ownership:
        made = dump_site(on_site, Site(name="t", qrs_url="embedded"), mode)
        assert [a.user for a in made.allocations[AccessType.ANALYZER]] == ["CORP\\here"]
        assert any("CORP\\gone holds a seat but QRS lists no such user" in n for n in made.left_out)
        out = tmp_path / mode.value
        write_dump(made, out, force=False, today=TODAY)
        assert "CORP\\gone holds a seat" in (out / "analyzer.yaml").read_text(encoding="utf-8")
        desired, _ = load_desired(out, today=TODAY)
        result = plan(desired, on_site, Signals(), dt.datetime(2026, 6, 1, tzinfo=dt.UTC))
        assert result.changes == ()
        assert any(f.subject == "CORP\\gone" for f in result.findings)


def test_an_unreadable_condition_is_left_out_with_a_warning() -> None:
    """A rule licsync cannot read is not written; the note says authoritative would delete it."""
    on_site = actual(
        [], rules=[arule(AccessType.PROFESSIONAL, "Odd", "resource.IsOwned() and", comment="")]
    )
    made = dump_site(on_site, Site(name="t", qrs_url="embedded"), Ownership.AUTHORITATIVE)
    assert made.rules[AccessType.PROFESSIONAL] == ()
    (note,) = made.left_out
    assert note.startswith("professional: rule 'Odd' is not declared: licsync cannot read")
    assert "authoritative ownership would delete it" in note
    assert "authoritative ownership would delete it" in dict(made.files)["professional.yaml"]


POOL = tuple(f"CORP\\u{i}" for i in range(10))


@st.composite
def sites(draw: st.DrawFn) -> Actual:
    """A random actual state: flagged users, seats of both types (some quarantined, some of
    users QRS does not list), rules of every kind (unknowable coverage, disabled, half-created,
    a second of a name)."""
    people = draw(st.lists(st.sampled_from(POOL), unique=True))
    users = [
        user(
            ident,
            groups=draw(st.lists(st.sampled_from(["Sales", "Finance", "Dev", "Acc1"]), max_size=2)),
            inactive=draw(st.booleans()),
            removed=draw(st.booleans()),
            blocked=draw(st.booleans()),
        )
        for ident in people
    ]
    seats = []
    for ident in draw(st.lists(st.sampled_from(POOL), unique=True)):
        for kind in AccessType:
            state = draw(st.sampled_from(["none", "active", "active", "quarantined"]))
            if state != "none":
                seats.append(
                    alloc(
                        kind,
                        ident,
                        used_days=draw(st.sampled_from([None, 1, 30, 400])),
                        quarantined_days_left=3 if state == "quarantined" else None,
                    )
                )
    rules = [
        arule(
            kind,
            draw(st.sampled_from([name, name.upper()])),
            condition,
            disabled=draw(st.sampled_from([False, False, True])),
            half=draw(st.sampled_from([None, None, None, "no-rule", "no-group"])),
        )
        for kind in AccessType
        for name, condition in draw(
            st.lists(st.sampled_from(sorted(RANDOM_RULES.items())), max_size=5)
        )
    ]
    return actual(users, seats, rules)


@given(on_site=sites(), mode=st.sampled_from(list(Ownership)))
def test_any_site_dumped_then_planned_changes_nothing(
    tmp_path_factory: pytest.TempPathFactory, on_site: Actual, mode: Ownership
) -> None:
    """Random actual states, every mode: the files load back and the pure plan is empty."""
    made = dump_site(on_site, Site(name="t", qrs_url="embedded"), mode)
    out = tmp_path_factory.mktemp("d") / "site"
    write_dump(made, out, force=False, today=TODAY)
    desired, _ = load_desired(out, today=TODAY)
    result = plan(desired, on_site, Signals(), NOW)
    assert [str(c.id) for c in result.changes] == []
