"""Coverage built for several rule sets at once answers as each set's own build does."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from builders import actual, desired, drule, user
from licsync.actual import ActualUser
from licsync.identity import AccessType
from licsync.plan.context import build_coverage, rule_coverage
from licsync.rules import RuleCoverage, parse_condition
from test_rules_coverage import conditions, users


def _answers(coverage: RuleCoverage, population: list[ActualUser]) -> object:
    return (
        coverage.names,
        [coverage.count(name) for name in coverage.names],
        [coverage.count_unknown(name) for name in coverage.names],
        [
            (coverage.matching(u.key), coverage.unknown(u.key), coverage.verdict(u.key))
            for u in population
        ],
        ["nobody\\there" in coverage, *(u.key in coverage for u in population)],
    )


@given(
    # Texts drawn for both sets alike too: a comparison evaluated for one set is shared.
    sets=st.lists(
        st.lists(st.one_of(conditions, st.just('user.group = "Sales"')), max_size=4),
        max_size=3,
    ),
    population=st.lists(users, max_size=12),
)
def test_each_set_answers_as_its_own_build(
    sets: list[list[str]], population: list[ActualUser]
) -> None:
    rule_sets = [[(f"rule-{i}", parse_condition(t)) for i, t in enumerate(s)] for s in sets]
    together = RuleCoverage.build_each(rule_sets, population)
    assert len(together) == len(rule_sets)
    for rules, coverage in zip(rule_sets, together, strict=True):
        assert _answers(coverage, population) == _answers(
            RuleCoverage.build(rules, population), population
        )


def test_build_coverage_is_rule_coverage_per_type() -> None:
    d = desired(
        pro_rules=[drule("devs", 'user.group = "Dev"'), drule("off", "", disabled=True)],
        ana_rules=[drule("corp", 'user.userDirectory = "CORP"'), drule("bad", "(")],
    )
    a = actual(users=[user("CORP\\ann", groups=("Dev",)), user("EMEA\\bob")])
    population = list(a.users.values())
    built = build_coverage(d, a)
    assert list(built) == list(AccessType)
    for access_type, coverage in built.items():
        alone = rule_coverage(d.of(access_type).rules, population)
        assert _answers(coverage, population) == _answers(alone, population)
