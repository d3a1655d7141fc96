r"""The rules of the model as pure functions: one place per rule, each with a hand-worked example.

Every formula a phase applies lives here, free of state: it takes arrays and
parameters and returns arrays. To change how a breach happens, how value is
made or when a cooperation is ended, edit one function here (and its
example); :mod:`sim.kreislauf`, :mod:`sim.market` and :mod:`sim.group` only
gather the inputs, call these and write the results.

Rows are pairs (or sides of pairs); arguments broadcast as NumPy does.
"""

from __future__ import annotations

import numpy as np

from sim.kernels import sum_last
from sim.vocabulary import DIGITAL, PRODUCER, SERVICE, Reason

__all__ = [
    "adapted_expectation",
    "agreement_terms",
    "breach_chance",
    "capacity_with_experience",
    "climate_factor",
    "community_climate",
    "consent",
    "coverage",
    "culture_fit",
    "culture_pull",
    "digital_needs",
    "evaluation_reasons",
    "expected_quality",
    "grab_chance",
    "initiator_share",
    "joint_value",
    "member_verdict",
    "niche_concentration",
    "own_investment",
    "partner_score",
    "price_level",
    "rivals",
    "running_cost",
    "setup_cost",
]


def digital_needs(needs: np.ndarray, growth_per_year: float, month: int) -> np.ndarray:
    """Needs this month: the digital need of firms that have one grows over time, up to 1.

    Examples
    --------
    >>> digital_needs(np.array([[0.5, 0.5, 0.4, 0.0, 0.0], [0.5, 0.5, 0.0, 0.0, 0.0]]), 0.06, 24).tolist()
    [[0.5, 0.5, 0.52, 0.0, 0.0], [0.5, 0.5, 0.0, 0.0, 0.0]]
    """
    needs = needs.copy()
    growth = growth_per_year * month / 12.0
    has_need = needs[:, DIGITAL] > 0
    needs[has_need, DIGITAL] = np.minimum(1.0, needs[has_need, DIGITAL] + growth)
    return needs


def coverage(
    needs: np.ndarray,
    own: np.ndarray,
    other: np.ndarray,
    access: float,
    total: np.ndarray | None = None,
    of: str = "need",
) -> np.ndarray:
    """How much of a firm's shortfall a partner covers beyond what it has, as a share.

    The partner lends the share ``access`` of its capability; what it adds
    beyond the firm's own level, up to the gap, is covered. With
    ``of="need"`` the covered amount is a share of the firm's total need (the
    synergy a partner brings); with ``of="gap"`` a share of its total gap
    (how well a candidate matches the requirements profile). ``total``, if
    given, is that total (it is summed over domains otherwise).

    Examples
    --------
    Needs 0.8 and 0.6, has 0.2 and 0.6, the partner 1.0 and 0.0, lent at 0.5:
    it covers 0.3 of the 0.6 gap, which is 0.3 / 1.4 of the need.

    >>> round(float(coverage(np.array([0.8, 0.6]), np.array([0.2, 0.6]), np.array([1.0, 0.0]), 0.5)), 6)
    0.214286
    >>> round(float(coverage(np.array([0.8, 0.6]), np.array([0.2, 0.6]), np.array([1.0, 0.0]), 0.5, of="gap")), 6)
    0.5
    """
    gap = np.maximum(needs - own, 0.0)
    covered = sum_last(np.minimum(gap, np.maximum(access * other - own, 0.0)))
    if total is None:
        total = sum_last(needs if of == "need" else gap)
    return np.divide(covered, total, out=np.zeros_like(covered), where=total > 0)


def culture_fit(culture_a: np.ndarray, culture_b: np.ndarray) -> np.ndarray:
    """One minus the mean absolute difference of two culture vectors.

    Examples
    --------
    >>> float(culture_fit(np.array([0.2, 0.8]), np.array([0.4, 0.4])))
    0.7
    """
    return 1.0 - sum_last(np.abs(culture_a - culture_b)) / culture_a.shape[-1]


def joint_value(
    value_per_employee: float,
    size_a: np.ndarray,
    size_b: np.ndarray,
    synergy: np.ndarray,
    quality_a: np.ndarray,
    quality_b: np.ndarray,
    transparency: np.ndarray,
    culture_fit: np.ndarray,
) -> np.ndarray:
    r"""Joint value a cooperation creates in one month, k EUR.

    .. math::

        V = v \cdot \frac{2 s_a s_b}{s_a + s_b} \cdot \sigma \cdot \frac{q_a + q_b}{2}
            \cdot \frac{1 + \tau}{2} \cdot \phi

    with sizes :math:`s` (the harmonic mean: the smaller firm limits what the
    pair can absorb), synergy :math:`\sigma`, delivered qualities :math:`q`,
    transparency :math:`\tau` and culture fit :math:`\phi`.

    Examples
    --------
    >>> one = np.array([1.0])
    >>> float(joint_value(2.0, 10 * one, 10 * one, one, one, one, one, one)[0])
    20.0
    >>> float(joint_value(2.0, 10 * one, 30 * one, one, one, 0 * one, 0 * one, one)[0])
    7.5
    """
    scale = 2 * size_a * size_b / (size_a + size_b)
    return value_per_employee * scale * synergy * 0.5 * (quality_a + quality_b) * 0.5 * (1 + transparency) * culture_fit


def breach_chance(
    integrity: np.ndarray, temptation: np.ndarray | float, contract: np.ndarray | float, enforcement: float
) -> np.ndarray:
    """Chance that a side breaks the agreement in a month.

    Temptation (higher between competitors) deterred by the formal contract,
    acted on in proportion to the side's lack of integrity.

    Examples
    --------
    >>> round(float(breach_chance(np.array(0.8), np.array(0.3), np.array(0.5), 0.6)), 6)
    0.042
    """
    return temptation * (1.0 - contract * enforcement) * (1.0 - integrity)


def grab_chance(benevolence: np.ndarray, temptation: float) -> np.ndarray:
    """Chance that a side grabs more than its fair share of a month's value.

    Examples
    --------
    >>> float(grab_chance(np.array(0.75), 0.2))
    0.05
    """
    return temptation * (1.0 - benevolence)


def initiator_share(grabs_a: np.ndarray, grabs_b: np.ndarray, grab_share: float) -> np.ndarray:
    """The initiator's share of the joint value: half, unless exactly one side grabs.

    Examples
    --------
    >>> initiator_share(np.array([False, True, False, True]), np.array([False, False, True, True]), 0.7).tolist()
    [0.5, 0.7, 0.30000000000000004, 0.5]
    """
    split = np.array([0.5, 1.0 - grab_share, grab_share, 0.5])  # by who grabbed: neither, b, a, both
    return split.take(2 * grabs_a + grabs_b)


def running_cost(distance: np.ndarray, contract: np.ndarray, per_km: float, contract_cost: float) -> np.ndarray:
    """Monthly cost to each side: half the coordination over the distance, and contract monitoring.

    Examples
    --------
    >>> float(running_cost(np.array(200.0), np.array(0.5), 0.01, 1.0))
    1.5
    """
    return 0.5 * per_km * distance + contract_cost * contract


def rivals(niche_a: np.ndarray, niche_b: np.ndarray, role_a: np.ndarray, role_b: np.ndarray) -> np.ndarray:
    """Whether two firms compete: producers selling in one niche.

    Examples
    --------
    >>> rivals(np.array([1, 1, 2]), np.array([1, 1, 3]), np.array([0, 1, 0]), np.array([0, 0, 0])).tolist()
    [True, False, False]
    """
    return (niche_a == niche_b) & (role_a == PRODUCER) & (role_b == PRODUCER)


def agreement_terms(
    mean_trust: np.ndarray,
    competitor: np.ndarray,
    service: np.ndarray | None,
    transparency_base: float,
    competitor_caution: float,
    contract_base: float,
    service_contract: float,
) -> tuple[np.ndarray, np.ndarray]:
    """Transparency and degree of formal contract of agreements between partners with the given mean trust.

    Transparency rises with trust and is held back from a competitor; formal
    control substitutes for missing trust; shared-service contracts
    (``service``; None without a group) take the group's contract degree.

    Examples
    --------
    >>> tr, co = agreement_terms(np.array([0.5, 0.5]), np.array([False, True]), None, 0.2, 0.5, 0.1, 0.8)
    >>> tr.round(6).tolist(), co.round(6).tolist()
    ([0.6, 0.3], [0.55, 0.55])
    """
    transparency = (transparency_base + (1 - transparency_base) * mean_trust) * np.where(
        competitor, 1 - competitor_caution, 1.0
    )
    contract = contract_base + (1 - contract_base) * (1 - mean_trust)
    if service is not None:
        contract = np.where(service, service_contract, contract)
    return transparency, contract


def is_service_pair(role_a: np.ndarray, role_b: np.ndarray) -> np.ndarray:
    """Whether a pair involves a service firm (a shared-service contract)."""
    return (role_a == SERVICE) | (role_b == SERVICE)


def expected_quality(competence: np.ndarray, integrity: np.ndarray, broken_delivery: float) -> np.ndarray:
    """Quality a firm expects of a partner it perceives so: competence, reduced where it doubts integrity.

    A broken promise delivers only the share ``broken_delivery``; a partner
    of perceived integrity ``i`` is expected to break it with chance ``1 - i``.

    Examples
    --------
    >>> float(expected_quality(np.array(0.8), np.array(0.5), 0.5))
    0.6000000000000001
    """
    return competence * (1 - (1 - integrity) * (1 - broken_delivery))


def setup_cost(
    base: float,
    contract: np.ndarray,
    campus: np.ndarray,
    campus_discount: float,
    shared: np.ndarray | None,
    discount: float,
) -> np.ndarray:
    """Each side's cost of setting up an agreement: more with more contract, less on one campus and with shared services.

    Examples
    --------
    >>> setup_cost(10.0, np.array([0.5, 0.5]), np.array([False, True]), 0.5, np.array([False, True]), 0.2).tolist()
    [15.0, 6.0]
    """
    setup = base * (1 + contract) * np.where(campus, 1 - campus_discount, 1.0)
    if shared is not None:
        setup = setup * np.where(shared, 1 - discount, 1.0)
    return setup


def consent(
    trust_of_candidate: np.ndarray,
    gain_searcher: np.ndarray,
    gain_candidate: np.ndarray,
    setup: np.ndarray,
    payback_months: float,
    trust_floor: float,
) -> np.ndarray:
    """Whether a pair agrees: both expect a monthly gain that repays the set-up in time (win-win), and the candidate does not distrust the searcher.

    Examples
    --------
    >>> consent(np.array([0.6, 0.3]), np.array([2.0, 2.0]), np.array([1.5, 1.5]), np.array([12.0, 12.0]), 12, 0.4).tolist()
    [True, False]
    """
    repaid = setup / payback_months
    return (trust_of_candidate >= trust_floor) & (gain_searcher > repaid) & (gain_candidate > repaid)


def partner_score(
    weights: dict[str, float],
    fit: np.ndarray,
    size_a: np.ndarray,
    size_c: np.ndarray,
    digital_a: np.ndarray,
    digital_c: np.ndarray,
    culture_fit: np.ndarray,
    experience_c: np.ndarray,
    nearness: np.ndarray,
    trust: np.ndarray,
    competitor: np.ndarray,
) -> np.ndarray:
    """The requirements-profile score of a candidate (seed 001, step 2).

    Fit to the profile, similarity (of size on a log scale, digital maturity
    and culture), cooperation experience, nearness and perceived
    trustworthiness, each by its weight; a competitor is marked down.

    Examples
    --------
    >>> w = dict(fit=1.0, similarity=1.0, experience=1.0, location=1.0, trust=1.0, competitor_penalty=0.5)
    >>> one = np.ones(1)
    >>> float(partner_score(w, one, 10 * one, 10 * one, one, one, one, 3 * one, one, one, one > 0)[0])
    4.0
    """
    size_sim = 1.0 / (1.0 + np.abs(np.log10(size_c / size_a)))
    digital_sim = 1.0 - np.abs(digital_c - digital_a)
    similarity = (size_sim + digital_sim + culture_fit) / 3.0
    experience = experience_c / (experience_c + 3.0)
    score = (
        weights["fit"] * fit
        + weights["similarity"] * similarity
        + weights["experience"] * experience
        + weights["location"] * nearness
        + weights["trust"] * trust
    )
    return score - weights["competitor_penalty"] * competitor


def evaluation_reasons(
    trust: np.ndarray,
    reliability: np.ndarray,
    realised: np.ndarray,
    expected: np.ndarray,
    fit: np.ndarray,
    culture_fit: np.ndarray,
    service: np.ndarray,
    exit_trust: float,
    exit_reliability: float,
    exit_value_ratio: float,
    exit_culture_fit: float,
) -> np.ndarray:
    """Each side's reason to leave at evaluation (``Reason.NONE``: it stays), shape ``(pairs, 2)``.

    Checked in the order of the guide's evaluation, the later overriding the
    earlier: culture (both sides), then the cost/benefit account (net
    benefit short of the expectation, or negative: the goal is reached if
    the partner has nothing left to cover, else the value is too low), then
    trust (overall trust below ``exit_trust``, or trust in the partner's
    integrity, its reliability, below ``exit_reliability``). A
    shared-service contract's main return, the overhead it carries, is
    booked in the market, not in the cooperation: its account is not judged.

    Examples
    --------
    The initiator distrusts its partner; the partner, trusting, finds the
    value short of half its expectation though the initiator still covers
    a fifth of its gap:

    >>> r = evaluation_reasons(np.array([[0.3, 0.8]]), np.array([[0.9, 0.9]]), np.array([[5.0, 1.0]]),
    ...                        np.array([[4.0, 4.0]]), np.array([[0.2, 0.2]]), np.array([0.9]), np.array([False]),
    ...                        0.4, 0.6, 0.5, 0.5)
    >>> [Reason(x).name for x in r[0]]
    ['LOW_TRUST', 'LOW_VALUE']

    A competent partner that keeps breaking the agreement (reliability 0.5)
    is left for low trust; with nothing left to cover, a short account means
    the goal is reached; a culture misfit ends it for both:

    >>> r = evaluation_reasons(np.array([[0.7, 0.7], [0.7, 0.7]]), np.array([[0.5, 0.9], [0.9, 0.9]]),
    ...                        np.array([[4.0, 1.0], [4.0, 4.0]]), np.array([[4.0, 4.0], [4.0, 4.0]]),
    ...                        np.array([[0.2, 0.0], [0.2, 0.2]]), np.array([0.9, 0.4]), np.array([False, False]),
    ...                        0.4, 0.6, 0.5, 0.5)
    >>> [[Reason(x).name for x in row] for row in r]
    [['LOW_TRUST', 'GOAL_REACHED'], ['CULTURE', 'CULTURE']]
    """
    short = (realised < exit_value_ratio * np.maximum(expected, 0.0)) | (realised < 0)
    short &= ~service[:, None]
    reason = np.full(trust.shape, int(Reason.NONE), dtype=np.int8)
    reason[culture_fit < exit_culture_fit] = int(Reason.CULTURE)
    reason[short & (fit < 0.01)] = int(Reason.GOAL_REACHED)
    reason[short & (fit >= 0.01)] = int(Reason.LOW_VALUE)
    reason[(trust < exit_trust) | (reliability < exit_reliability)] = int(Reason.LOW_TRUST)
    return reason


def adapted_expectation(expected: np.ndarray, realised: np.ndarray, adaptation: float) -> np.ndarray:
    """The expectation after an evaluation: moved the share ``adaptation`` of the way toward what was realised.

    Examples
    --------
    >>> adapted_expectation(np.array([8.0]), np.array([4.0]), 0.25).tolist()
    [7.0]
    """
    return expected + adaptation * (realised - expected)


def culture_pull(own: np.ndarray, partners_mean: np.ndarray, convergence: float) -> np.ndarray:
    """A month's change of a firm's culture: the share ``convergence`` of the way to its partners' mean culture.

    Examples
    --------
    >>> culture_pull(np.array([0.2, 0.8]), np.array([0.6, 0.6]), 0.1).round(6).tolist()
    [0.04, -0.02]
    """
    return convergence * (partners_mean - own)


def niche_concentration(share_weights: np.ndarray, niche: np.ndarray, niches: int) -> np.ndarray:
    """The Herfindahl index of each niche: the sum of its sellers' squared shares (1: one seller; NaN: none).

    ``share_weights`` are the firms' pulls on their niche's demand (0 for firms that sell nothing).

    Examples
    --------
    >>> niche_concentration(np.array([1.0, 1.0, 3.0, 0.0]), np.array([0, 0, 1, 1]), 3).tolist()
    [0.5, 1.0, nan]
    """
    total = np.bincount(niche, weights=share_weights, minlength=niches)
    squares = np.bincount(niche, weights=share_weights * share_weights, minlength=niches)
    return np.divide(squares, total * total, out=np.full(niches, np.nan), where=total > 0)


def price_level(concentration: np.ndarray, at_start: np.ndarray, margin: float, pressure: float) -> np.ndarray:
    """Price of each niche's products relative to the start: the gross margin follows the niche's concentration.

    The margin ``margin`` (one minus the cost of sales) is scaled by
    ``(HHI / HHI_start) ** pressure``; costs follow the quantity sold, so the
    price moves by the change of the margin. More rivals, or more equal
    ones, press the price; a rival's exit lets it rise. Niches with no seller
    now or at the start keep their price.

    Examples
    --------
    Two equal members put into one niche (HHI 1 to 0.5) at Cournot pressure
    lose half their 14% margin, so the price falls by 7%:

    >>> price_level(np.array([0.5, 0.5, np.nan]), np.array([1.0, 0.5, 1.0]), 0.14, 1.0).round(6).tolist()
    [0.93, 1.0, 1.0]
    """
    ratio = np.divide(concentration, at_start, out=np.ones_like(concentration), where=at_start > 0)
    ratio = np.where(np.isnan(ratio), 1.0, ratio)
    return 1.0 - margin * (1.0 - ratio**pressure)


def community_climate(reliable: np.ndarray, unreliable: np.ndarray) -> float:
    """The community's climate: the share of its pooled evidence about members' integrity that is positive (NaN: none).

    Examples
    --------
    >>> community_climate(np.array([9.0, 8.0]), np.array([1.0, 2.0]))
    0.85
    """
    total = float(reliable.sum() + unreliable.sum())
    return float(reliable.sum()) / total if total > 0 else float("nan")


def climate_factor(climate: float, at_start: float, contagion: float) -> float:
    """How much of its trust a member keeps when the community's climate has fallen since the group began.

    Generalised trust: a member's trust in every firm is scaled by ``1 -
    contagion * (1 - climate / at_start)``; a climate at or above its start
    leaves trust as it is (only distrust spreads, as trust is easier
    destroyed than built). With ``contagion`` 0, or no climate yet, the
    factor is 1.

    Examples
    --------
    >>> climate_factor(0.765, 0.85, 0.5)
    0.95
    >>> climate_factor(0.9, 0.85, 0.5), climate_factor(0.5, 0.85, 0.0)
    (1.0, 1.0)
    """
    if contagion == 0 or not at_start > 0 or climate != climate:  # NaN: no evidence yet
        return 1.0
    return 1.0 - contagion * max(0.0, 1.0 - climate / at_start)


def member_verdict(
    culture_fit: np.ndarray,
    trust: np.ndarray,
    reliability: np.ndarray,
    exit_culture_fit: float,
    exit_trust: float,
    exit_reliability: float,
) -> np.ndarray:
    """Why the group lets each member go at its review (``Reason.NONE``: it stays).

    A member goes when its culture no longer fits the other members' mean
    culture, or when the other members, on average, no longer trust it
    (overall, or in its integrity). Trust is checked first, as in a
    cooperation's evaluation.

    Examples
    --------
    >>> v = member_verdict(np.array([0.9, 0.3, 0.9]), np.array([0.8, 0.8, 0.7]), np.array([0.9, 0.9, 0.5]), 0.5, 0.4, 0.6)
    >>> [Reason(x).name for x in v]
    ['NONE', 'CULTURE', 'LOW_TRUST']
    """
    verdict = np.full(len(culture_fit), int(Reason.NONE), dtype=np.int8)
    verdict[culture_fit < exit_culture_fit] = int(Reason.CULTURE)
    verdict[(trust < exit_trust) | (reliability < exit_reliability)] = int(Reason.LOW_TRUST)
    return verdict


def capacity_with_experience(
    base: np.ndarray, experience: np.ndarray, per_step: float, growth: str = "doubling"
) -> np.ndarray:
    """Concurrent cooperations a firm can run: its base, and more as it gains experience.

    ``growth`` says what a step of experience is: ``"doubling"`` adds
    ``per_step`` places per doubling of the relationships a firm has begun
    (learning with diminishing returns), ``"linear"`` ``per_step`` per
    relationship begun (each alliance adds as much capability as the last).

    Examples
    --------
    >>> base, begun = np.array([2, 2, 2, 3]), np.array([0, 1, 7, 3])
    >>> capacity_with_experience(base, begun, 1.0).tolist()
    [2, 3, 5, 5]
    >>> capacity_with_experience(base, begun, 1 / 3, "linear").tolist()
    [2, 2, 4, 4]
    """
    steps = np.log2(1.0 + experience) if growth == "doubling" else experience
    # A whole number of places that rounding leaves a hair below stays whole (3 x 1/3).
    return base + np.floor(per_step * steps + 1e-9).astype(np.int64)


def own_investment(gap: np.ndarray, size: np.ndarray, lead: np.ndarray, rate: float, half_size: float) -> np.ndarray:
    """A month's rise of a firm's digital maturity by its own investment.

    The share ``rate`` of its gap, scaled by what a firm of its size can
    afford, ``size / (size + half_size)``, and helped by its partners'
    know-how: ``1 + lead``, where ``lead`` is how far the best of its
    partners is ahead of it (0 without one). Unlike learning from a partner,
    it can take a firm beyond its partners' level.

    Examples
    --------
    >>> own_investment(np.array([0.4, 0.4, 0.4]), np.array([50.0, 3.0, 50.0]), np.array([0.0, 0.0, 0.2]), 0.02, 50.0).round(6).tolist()
    [0.004, 0.000453, 0.0048]
    """
    return rate * size / (size + half_size) * gap * (1.0 + lead)
