"""Scenario files: built-ins, strict validation, overrides, scaling, and the generated reference."""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest

from sim import CooperationModel, ScenarioError, builtin_scenarios, load_scenario
from sim.scenario import reference_markdown

ROOT = Path(__file__).resolve().parents[1]
PRODUCERS = ["GEFERTEC", "flying-parts", "Scansonic MI", "Metrolux", "PGS", "Lumics"]


def test_the_big_has_the_ten_firms_of_the_sources() -> None:
    big = load_scenario("big")
    names = [f.name for f in big.firms]
    assert names[:6] == PRODUCERS
    services = [f for f in big.firms if f.role == "service"]
    assert [f.name for f in services] == [
        "B.I.G. Corporate Services",
        "B.I.G. Technology Services",
        "B.I.G. Marketing Consulting",
        "B.I.G. Holding",
    ]
    assert all(f.group for f in big.firms)
    assert len({f.niche for f in big.firms if f.role == "producer"}) == 6  # no internal competition
    assert next(f for f in big.firms if f.name == "flying-parts").size == 3  # three employees (seed 000)
    assert sum(f.service_share for f in services) == pytest.approx(1.0)


@pytest.mark.parametrize("other", ["open_market", "big_in_market", "fragility"])
def test_the_six_producers_are_the_same_firms_everywhere(other: str) -> None:
    big = {f.name: f.model_dump(exclude={"group"}) for f in load_scenario("big").firms}
    there = {f.name: f.model_dump(exclude={"group"}) for f in load_scenario(other).firms}
    for name in PRODUCERS:
        assert there[name] == big[name], name


def test_every_number_in_the_shipped_files_carries_a_comment() -> None:
    for path in sorted((ROOT / "scenarios").glob("*.toml")):
        in_string = False
        for number, line in enumerate(path.read_text().splitlines(), 1):
            if line.count('"""') % 2:
                in_string = not in_string
                continue
            code = line.split("#", 1)[0]
            if (
                in_string
                or "=" not in code
                or code.strip().startswith(("name", "role", "kind", "firm ", "trait", "description"))
            ):
                continue
            has_number = any(ch.isdigit() for ch in code.split("=", 1)[1])
            if has_number and "#" not in line:
                pytest.fail(f"{path.name}:{number}: a number without its source or assumption: {line.strip()}")


def test_builtins_load_and_build() -> None:
    assert set(builtin_scenarios()) == {
        "big",
        "open_market",
        "big_in_market",
        "fragility",
        "classroom",
        "fragility_in_market",
        "breach_in_market",
    }
    for name in builtin_scenarios():
        model = CooperationModel(name, seed=1)
        assert model.firm_count == load_scenario(name).initial_firm_count


def test_overrides_by_key_path() -> None:
    model = CooperationModel("open_market", seed=1, steps=12, kreislauf__familiarity_bias=0.9, populations__0__count=3)
    assert model.scenario.steps == 12
    assert model.scenario.kreislauf.familiarity_bias == 0.9
    assert model.firm_count == 6 + 3 + 30
    with pytest.raises(
        ScenarioError, match=r"kreislauf\.familiarity_bias = 1\.5: input should be less than or equal to 1"
    ):
        CooperationModel("big", kreislauf__familiarity_bias=1.5)
    with pytest.raises(ScenarioError, match=r"no parameter at 'kreislauf\.familiarity'"):
        CooperationModel("big", kreislauf__familiarity=0.5)
    with pytest.raises(ScenarioError, match="seed"):
        CooperationModel("big", seed=-1)


def test_scaled_to_keeps_firms_per_niche() -> None:
    market = load_scenario("open_market")
    big = market.scaled_to(1000)
    assert abs(big.initial_firm_count - 1000) <= 2
    assert big.firms == market.firms
    firms_per_niche = [p.count / p.niches for p in big.populations if isinstance(p.niches, int)]
    assert firms_per_niche == pytest.approx([2.0], rel=0.05)


def test_every_market_scenario_scales_to_the_largest_benchmark() -> None:
    """bench/run.py's market_100k: the entry rate scales with the firms and must stay allowed."""
    for name in builtin_scenarios():
        scenario = load_scenario(name)
        if scenario.populations:
            scaled = scenario.scaled_to(100_000)
            assert abs(scaled.initial_firm_count - 100_000) <= 100
            assert scaled.market.entry_rate >= scenario.market.entry_rate


def test_resolved_toml_round_trips() -> None:
    for name in builtin_scenarios():
        scenario = load_scenario(name)
        again = load_scenario(tomllib.loads(scenario.resolved_toml()))
        assert again == scenario


def test_unknown_keys_name_the_allowed_ones() -> None:
    with pytest.raises(ScenarioError) as info:
        load_scenario({"name": "x", "kreislauf": {"familiarity": 0.3}, "firms": []})
    assert info.value.path == "kreislauf.familiarity"
    assert "familiarity_bias" in info.value.allowed


def test_events_must_fit_the_horizon_and_name_known_firms() -> None:
    base = load_scenario("big").model_dump()
    with pytest.raises(ScenarioError, match="beyond the horizon"):
        load_scenario({**base, "events": [{"step": 500, "kind": "remove_shared_services"}]})
    with pytest.raises(ScenarioError, match=r"group\.competition is false but members share niches"):
        firms = [dict(f) for f in base["firms"]]
        firms[1]["niche"] = firms[0]["niche"]
        load_scenario({**base, "firms": firms})


def test_the_scenario_reference_is_in_step_with_the_schema() -> None:
    assert (ROOT / "docs" / "scenarios.md").read_text() == reference_markdown(), (
        "regenerate: kreislauf scenarios --reference > docs/scenarios.md"
    )


def test_events_and_joins_are_checked_against_each_other() -> None:
    base = load_scenario("big").model_dump()
    newcomer = dict(base["firms"][0], name="Newco", niche="new niche")
    join = {"step": 10, "kind": "join", "firm": newcomer}
    with pytest.raises(ScenarioError, match=r"events\[1\]: 'Newco' joins only at step 10, not before step 5"):
        load_scenario({**base, "events": [join, {"step": 5, "kind": "leave", "firm": "Newco"}]})
    clash = {"step": 10, "kind": "join", "firm": dict(newcomer, niche=base["firms"][0]["niche"])}
    with pytest.raises(ScenarioError, match="members share niches"):
        load_scenario({**base, "events": [clash]})
    crowded = {"name": "m", "count": 3, "niches": 2, "group": True}
    with pytest.raises(ScenarioError, match=r"populations\[0\]\.niches: .* needs a niche of its own"):
        load_scenario({**base, "populations": [crowded]})


def test_partial_needs_keep_the_roles_defaults() -> None:
    spec = dict(load_scenario("big").model_dump()["firms"][0], needs={"digital": 0.9})
    model = CooperationModel({"name": "x", "firms": [dict(spec, group=False)]}, seed=1)
    assert model.firms.needs[0].tolist() == [0.85, 0.85, 0.9, 0.6, 0.6]


def test_more_cross_checks_between_firms_populations_and_events() -> None:
    base = load_scenario("open_market").model_dump()
    taken = dict(base["firms"][0], name="firm 1")
    with pytest.raises(ScenarioError, match="'firm 1' is taken by the generated firms of population 'firm'"):
        load_scenario({**base, "firms": [*base["firms"], taken]})
    big = load_scenario("big").model_dump()
    events = [
        {"step": 5, "kind": "leave", "firm": "PGS"},
        {"step": 9, "kind": "trait_change", "firm": "PGS", "trait": "integrity", "value": 0.1},
    ]
    with pytest.raises(ScenarioError, match=r"events\[1\]: 'PGS' has left at step 5"):
        load_scenario({**big, "events": events})
    compete = [{"step": 5, "kind": "open_competition", "firms": ["PGS", "B.I.G. Holding"]}]
    with pytest.raises(ScenarioError, match="competition opens between producers"):
        load_scenario({**big, "events": compete})
    # A shorter horizon from Python leaves out later events, as the command line does.
    assert CooperationModel("fragility", seed=1, steps=24).scenario.events == []


def test_a_scenario_error_crosses_processes_whole() -> None:
    # Raised in a worker, it is pickled to the parent: unpickling must give the
    # same message, not a TypeError that breaks the process pool.
    import pickle

    from sim.scenario import ScenarioError

    error = ScenarioError("x.toml", "market.size", -1, "allowed: at least 1")
    again = pickle.loads(pickle.dumps(error))
    assert type(again) is ScenarioError and str(again) == str(error) and again.path == "market.size"
