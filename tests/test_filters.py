"""The API's filters are one table (``nxframe.query.FILTERS``): every place that offers a filter reads it.

Adding a filter is a new row there (and its key in ``QueryArgs``); these
tests fail if any front end, the request body, the lake's record or the
simulator stops following the table.
"""

from __future__ import annotations

import inspect
from typing import Any

import pytest

import nxframe
from nxframe.cli import FLAGS, build_parser
from nxframe.query import FILTERS, QUERY_ARGS, CdrQuery, QueryArgs
from nxframe.simulator import Simulator

#: A value each filter accepts, and the body value it becomes.
EXAMPLES: dict[str, tuple[Any, Any]] = {
    "did_number": ("+6621234567", "+6621234567"),
    "call_number": (8613800, "8613800"),
}


def _example(rule: Any) -> tuple[Any, Any]:
    if rule.codes:
        name, code = next(iter(rule.codes.items()))
        return name, code
    return EXAMPLES[rule.name]


def test_query_args_are_the_filters_then_the_rest() -> None:
    names = [rule.name for rule in FILTERS]
    assert list(QueryArgs.__annotations__)[: len(names)] == names
    assert list(QUERY_ARGS) == list(QueryArgs.__annotations__)


@pytest.mark.parametrize(
    "function",
    [
        nxframe.fetch_cdr,
        nxframe.fetch_arrow,
        nxframe.Client.fetch_cdr,
        nxframe.Client.fetch_arrow,
        nxframe.Client.iter_dates,
        nxframe.sync_lake,
        Simulator.ground_truth,
    ],
    ids=lambda f: f.__qualname__,
)
def test_every_fetch_shows_every_query_keyword(function: Any) -> None:
    """``help()``, Jupyter and ``inspect.signature`` show each keyword; a docstring with Args documents each."""
    parameters = inspect.signature(function).parameters
    doc = function.__doc__ or ""
    for name, (default, text) in QUERY_ARGS.items():
        assert parameters[name].kind is inspect.Parameter.KEYWORD_ONLY
        assert parameters[name].default == default
        if "Args:" in doc:
            assert f"{name}: {text}" in doc


def test_the_dlt_resource_takes_every_query_keyword() -> None:
    pytest.importorskip("dlt")
    from nxframe.dlt import cdr

    parameters = inspect.signature(cdr._pipe.gen).parameters  # the function under dlt's wrapper
    assert set(QUERY_ARGS) <= set(parameters)


@pytest.mark.parametrize("rule", FILTERS, ids=lambda rule: rule.name)
def test_a_filter_reaches_the_body_and_the_lake_record(rule: Any) -> None:
    given, sent = _example(rule)
    query = CdrQuery.build("2024-03-01", **{rule.name: given})
    assert query.body(query.start, 1)[rule.api_field] == sent
    assert query.filters()[rule.name] == (given if rule.codes else str(sent))
    assert CdrQuery.build("2024-03-01", **CdrQuery.arguments(query.filters())) == query


@pytest.mark.parametrize("rule", FILTERS, ids=lambda rule: rule.name)
def test_a_bad_filter_value_names_its_parameter_and_the_cli_its_flag(rule: Any) -> None:
    with pytest.raises(nxframe.InvalidInputError, match=rule.name) as caught:
        CdrQuery.build("2024-03-01", **{rule.name: "not a phone or a direction"})
    assert caught.value.parameter == rule.name
    assert FLAGS[rule.name] == rule.flag
    arguments = build_parser().parse_args(["fetch", "2024-03-01", rule.flag, str(_example(rule)[0])])
    assert getattr(arguments, rule.name) == str(_example(rule)[0])


def test_an_unknown_keyword_is_refused_with_the_known_ones() -> None:
    with pytest.raises(nxframe.InvalidInputError, match=r"unexpected keyword argument 'did'.*did_number") as caught:
        nxframe.fetch_cdr("2024-03-01", did="6621234567")  # type: ignore[call-arg]
    assert caught.value.parameter == "did"


def test_the_explorer_has_one_control_per_filter() -> None:
    pytest.importorskip("ipywidgets")
    from nxframe.widgets import CdrExplorer

    explorer = CdrExplorer(start="2024-03-01", threaded=False)
    assert list(explorer.filter_controls) == [rule.name for rule in FILTERS]
    for rule in FILTERS:
        control = explorer.filter_controls[rule.name]
        assert control.description == rule.label
        if rule.codes:
            assert [value for _, value in control.options] == ["any", *rule.codes]


@pytest.mark.parametrize("rule", FILTERS, ids=lambda rule: rule.name)
def test_the_simulator_filters_as_the_table_says(rule: Any) -> None:
    with Simulator(seed=3) as sim:
        records = sim.records("2024-03-01")
        value = records[0][rule.record_field]
        kept = [r["id"] for r in records if str(r[rule.record_field]) == str(value)]
        given = next(name for name, code in rule.codes.items() if code == value) if rule.codes else str(value)
        frame = nxframe.fetch_cdr("2024-03-01", client=sim.client(), progress=False, **{rule.name: given})
        assert 0 < len(frame) < len(records)
        assert frame["id"].tolist() == kept
        assert frame["id"].tolist() == sim.ground_truth("2024-03-01", **{rule.name: given})["id"].tolist()
