"""Mechanism parameters: market, trust, the Kreislauf, the group, measures; each default with its reason."""

from __future__ import annotations

from typing import Annotated, Literal, get_args

from pydantic import Field, model_validator

from sim.scenario.base import MAX_STEPS, Money, Section, Unit
from sim.vocabulary import Pillar

__all__ = ["Group", "Kreislauf", "Market", "Measures", "ScoreWeights", "Trust"]


class Market(Section):
    """Niches, demand, costs, exit and entry (units: employees, months, k EUR)."""

    revenue_per_employee: Money = Field(
        12.0,
        description="Niche demand per employee of the firms initially in it, k EUR/month. Assumption: about 145 k EUR turnover per employee-year, the order of German manufacturing SMEs.",
    )
    cost_of_sales: Unit = Field(
        0.86,
        description="Cost of sales as a share of revenue (wages and material follow output). Assumption: a gross margin of 14% before overhead, of the order of German manufacturing SMEs.",
    )
    price_pressure: Unit = Field(
        0.5,
        description="How a niche's gross margin follows its concentration: the margin is scaled by (HHI / HHI at the start) to this power, HHI being the Herfindahl index of the producers' shares of the niche. 1 is Cournot competition, where the price-cost margin is proportional to the HHI (Cowling & Waterson 1976); 0 leaves prices alone, so rivals only divide the niche's sales. Default 0.5: niche products are differentiated, so rivals press prices less than with homogeneous goods. Assumption.",
    )
    overhead_fixed: Money = Field(
        6.0,
        description="Fixed administrative overhead per firm, k EUR/month (controlling, compliance, accounting). Assumption: one part-time administrator; it is what makes a three-person firm like flying-parts fragile alone (seed 000).",
    )
    overhead_per_employee: Money = Field(
        0.9,
        description="Overhead per employee, k EUR/month. Assumption: administration, marketing and technical service near 7% of turnover.",
    )
    max_output: float = Field(
        1.5,
        ge=1,
        le=100,
        description="Most a producer can sell, as a multiple of its usual volume (revenue per employee times size at its product level): without it, survivors of a shake-out would absorb all of their rivals' customers at once. Assumption.",
    )
    digital_productivity: Unit = Field(
        0.5,
        description="Weight of digital maturity in a firm's productivity (its pull on niche demand). Assumption: Industrie 4.0 raises competitiveness (seed 000, section 2).",
    )
    initial_capital_months: float = Field(
        4.0,
        ge=0,
        le=120,
        description="Starting capital in months of revenue. Assumption: a thin reserve, as common for SMEs.",
    )
    insolvency_patience: int = Field(
        6,
        ge=1,
        le=1200,
        description="Months of negative capital before a firm leaves the market. Assumption: half a year of arrears.",
    )
    demand_growth: float = Field(
        0.0,
        ge=-0.5,
        le=0.5,
        description="Growth of every niche's demand per year. Default 0: a stationary market isolates the structures' effect.",
    )
    entry_rate: float = Field(
        0.0,
        ge=0,
        le=100_000,  # room for large scaled markets: a million firms entering at 9% a year is 7,500 a month
        description="Expected new firms per month (Poisson), drawn from the entry population. 0 in a closed group.",
    )
    entry_population: str | None = Field(
        None, description="Population that entrants are drawn from; default the first population."
    )
    region_km: float = Field(
        300.0,
        gt=0,
        le=1e4,
        description="Side of the square region where dispersed firms sit, km. Assumption: a German federal state.",
    )
    coordination_cost_per_100km: Money = Field(
        0.4,
        description="Coordination cost per cooperation-month per 100 km between partners, k EUR. Assumption: travel and meeting time; zero on one campus (seed 000: short paths on the Marzahn campus).",
    )


class Trust(Section):
    """Beta-reputation trust per pillar (Joesang & Ismail 2002) with an ABI prior (Mayer et al. 1995)."""

    prior_strength: float = Field(
        2.0,
        gt=0,
        le=100,
        description="Weight of the propensity prior in pseudo-observations. Default 2: the uniform prior of the beta reputation system.",
    )
    forgetting: float = Field(
        0.95,
        ge=0.5,
        le=1.0,
        description="Share of evidence kept per month (Joesang & Ismail's forgetting factor). Default 0.95: a half-life of about 13.5 months, so about a year's experience counts.",
    )
    negativity_weight: float = Field(
        3.0,
        ge=1.0,
        le=10.0,
        description="Weight of a broken promise or a grab against a kept one. Default 3: trust is easier destroyed than built (Slovic 1993); 3:1 is the asymmetry of recent coopetition models.",
    )
    weights: dict[Pillar, Annotated[float, Field(ge=0, le=1)]] = Field(
        default_factory=lambda: dict.fromkeys(get_args(Pillar), 1 / 3),
        description="Weights of the three pillars in overall trust (normalised). Default equal: Mayer et al. 1995 give no ranking.",
    )
    observation_noise: float = Field(
        0.1, ge=0, le=1, description="Sd of the noise on an observed contribution's quality. Assumption."
    )
    acquaintances: int = Field(
        3,
        ge=0,
        le=1000,
        description="Contacts each firm knows at step 0 without any evidence (former colleagues, private ties), chosen at random: the familiar pool the guide warns about (seed 001 step 2). Assumption.",
    )
    gossip_weight: Unit = Field(
        0.3,
        description="At each evaluation a firm tells its other partners what it saw of the partner; their hearsay about that firm moves this share of the way toward what they were told (reputation through partners). Assumption.",
    )

    @model_validator(mode="after")
    def _weights(self) -> Trust:
        if set(self.weights) != {"competence", "integrity", "benevolence"} or sum(self.weights.values()) <= 0:
            raise ValueError("weights must give competence, integrity and benevolence with a positive sum")
        return self


class ScoreWeights(Section):
    """Weights of the partner-search score (requirements profile, seed 001 step 2)."""

    fit: float = Field(
        0.35,
        ge=0,
        le=10,
        description="Complementarity: the share of the searcher's gap the candidate covers (its portfolio fits my needs, seed 001).",
    )
    similarity: float = Field(
        0.15, ge=0, le=10, description="Similar size, digital maturity and culture (seed 001's criteria)."
    )
    experience: float = Field(0.05, ge=0, le=10, description="Cooperation experience of the candidate.")
    location: float = Field(0.10, ge=0, le=10, description="Nearness (seat, region).")
    trust: float = Field(0.35, ge=0, le=10, description="Perceived trustworthiness from evidence.")
    competitor_penalty: float = Field(
        0.3,
        ge=0,
        le=10,
        description="Score subtracted for a candidate in the searcher's own niche (competitors are risky partners).",
    )


class Kreislauf(Section):
    """Parameters of the five phases of the cycle of trust."""

    need_threshold: Unit = Field(0.1, description="Smallest gap in a domain that counts as a real need. Assumption.")
    partner_access: Unit = Field(
        0.9, description="Share of a partner's capability a firm can draw on through a cooperation. Assumption."
    )
    digital_need_growth: float = Field(
        0.02,
        ge=0,
        le=1,
        description="Yearly rise of the digital need of every firm that has one (Industrie 4.0 keeps raising the bar, seed 000). Assumption.",
    )
    capacity_base: int = Field(2, ge=1, le=100, description="Concurrent cooperations of a one-person firm. Assumption.")
    capacity_per_decade: float = Field(
        1.5, ge=0, le=100, description="Extra concurrent cooperations per tenfold size. Assumption."
    )
    capacity_per_experience: float = Field(
        0.0,
        ge=0,
        le=100,
        description="Extra concurrent cooperations per step of experience (see capacity_growth): alliance experience builds the capability to manage alliances (Anand & Khanna 2000; Kale, Dyer & Singh 2002). Default 0: capacity by size alone. Assumption.",
    )
    capacity_growth: Literal["doubling", "linear"] = Field(
        "doubling",
        description="What a step of experience is: 'doubling' of the relationships a firm has begun (learning with diminishing returns, as Anand & Khanna 2000 find for joint ventures) or each 'linear' relationship begun (capability without saturation: the firms that began more can run more and so begin more, a rich-get-richer loop). Measured (open market, 10 seeds, month 120; python scripts/patterns.py --seeds 10 open_market ...): without growth, degrees mean 3.3, max 6, skew -0.9; doubling at 1 per step mean 6.1, max 10, skew -1.0 (every firm fills what it has); linear at 1/3 per relationship mean 8.1, max 33, skew +0.3 (hubs). With linear 1/3 in both scenarios the six producers' same-firm profit gap of big over open_market turns from +6.7 to -2.3 k EUR/month (20 paired seeds): the closed group cannot grow their networks. Assumption.",
    )
    familiarity_bias: Unit = Field(
        0.3,
        description="Probability that a searcher picks among known contacts only, skipping the market search: the hasty choice the guide names as a frequent mistake (seed 001 step 2). Assumption.",
    )
    search_breadth: int = Field(15, ge=1, le=1000, description="Firms screened in a market search. Assumption.")
    search_steps: int = Field(
        2, ge=1, le=120, description="Months a market search takes (time spent on a requirements profile, seed 001)."
    )
    search_cost_per_candidate: Money = Field(0.2, description="Cost per screened firm, k EUR. Assumption.")
    max_proposals: int = Field(
        3, ge=1, le=100, description="Candidates asked in turn before the search fails. Assumption."
    )
    search_retry_steps: int = Field(
        6, ge=1, le=1200, description="Months a firm waits after a failed search before it searches again. Assumption."
    )
    score_weights: ScoreWeights = Field(default_factory=ScoreWeights, description="Weights of the candidate score.")
    setup_steps: int = Field(
        2, ge=1, le=120, description="Months to build the structure (agreement, roles); at least one. Assumption."
    )
    setup_cost: Money = Field(
        4.0,
        description="Cost per partner of building the structure, k EUR, before discounts. Assumption: a few person-days and a lawyer.",
    )
    campus_discount: Unit = Field(
        0.5, description="Share of set-up time and cost saved on a shared campus (short paths, seed 000)."
    )
    shared_services_discount: Unit = Field(
        0.3,
        description="Share of set-up cost saved when the group's service firms draft the agreement (shared services). Assumption.",
    )
    contract_base: Unit = Field(0.2, description="Contract degree (formal control) at full trust. Assumption.")
    contract_cost: Money = Field(
        0.5,
        description="Monthly monitoring cost per partner of a fully formal contract, k EUR. Assumption: a day of someone's time a month.",
    )
    contract_enforcement: Unit = Field(
        0.6, description="Share of breaches a full contract deters (trust versus control, seed 000). Assumption."
    )
    transparency_base: Unit = Field(
        0.3, description="Transparency granted to a stranger; rises with trust. Assumption."
    )
    competitor_caution: Unit = Field(
        0.5,
        description="Share of transparency withheld from a competitor (know-how is a precious resource, seed 000). Assumption.",
    )
    payback_months: int = Field(
        24,
        ge=1,
        le=1200,
        description="A partner agrees only if its expected monthly net benefit repays its set-up cost within this many months. Assumption: two years, a common payback horizon for SME investments.",
    )
    evaluation_period: int = Field(
        12,
        ge=1,
        le=1200,
        description="Months of relationship between evaluations, fixed in the agreement (seed 001 step 5); the evaluation itself takes a further month. Assumption: yearly.",
    )
    value_per_employee: Money = Field(
        2.0,
        description="Joint value per employee-month at full synergy, k EUR (scale: harmonic mean of the partners' sizes). Assumption: a typical cooperation adds one or two per cent of each partner's turnover, a strong one far more.",
    )
    baseline_synergy: Unit = Field(
        0.1, description="Synergy of any cooperation (joint purchasing, shared transport, seed 001 step 1). Assumption."
    )
    temptation: Unit = Field(
        0.4, description="Chance per month that a firm of zero integrity breaks the agreement. Assumption."
    )
    competitor_temptation: Unit = Field(
        0.3, description="Extra temptation between competitors (cooperation versus competition, seed 000). Assumption."
    )
    grab_temptation: Unit = Field(
        0.3, description="Chance per month that a firm of zero benevolence grabs more than its fair share. Assumption."
    )
    broken_delivery: Unit = Field(
        0.3,
        description="Share of its promised contribution a firm delivers in a month it breaks the agreement. Assumption.",
    )
    grab_share: float = Field(
        0.75, ge=0.5, le=1.0, description="Share of the joint value a grabbing firm takes. Assumption."
    )
    learning_rate: Unit = Field(
        0.03,
        description="Monthly share of a capability gap closed by learning from a partner, at full transparency. Assumption.",
    )
    own_learning_rate: Unit = Field(
        0.02,
        description="Monthly share of its digital gap (need less own maturity) a large firm closes by its own investment, beyond what partners let it draw on. Assumption.",
    )
    own_learning_half_size: float = Field(
        50.0,
        gt=0,
        le=1e6,
        description="Employees at which a firm's own digital investment runs at half the full rate: a small firm cannot afford the shift to Industrie 4.0 alone (time, cost, missing know-how; flying-parts, seed 000). Assumption.",
    )
    own_learning_cost: Money = Field(
        20.0,
        description="Cost of raising digital maturity by one whole unit, per employee, k EUR (tablets, ERP, training; seed 000's Industrie 4.0 measures). Assumption: of the order of a few hundred thousand EUR for an SME's digitisation.",
    )
    culture_convergence: float = Field(
        0.02,
        ge=0,
        le=0.5,
        description="Monthly share of the distance to its partners' mean culture that a firm closes (a shared culture, seed 001 step 4). A firm with many partners moves toward their mean, not further with each. Assumption.",
    )
    exit_trust: Unit = Field(
        0.4, description="At evaluation, a firm exits when its trust in the partner is below this. Assumption."
    )
    exit_reliability: Unit = Field(
        0.6,
        description="At evaluation, a firm also exits when its trust in the partner's integrity (reliability and commitment, the soft factors of seed 001 step 5) is below this, however competent the partner. Default 0.6: with the negativity weight 3, about the steady trust in a partner that breaks the agreement in one month of five. Assumption.",
    )
    exit_value_ratio: float = Field(
        0.5,
        ge=0,
        le=10,
        description="At evaluation, a firm exits when its realised net benefit is below this share of the expected one (cost/benefit account, seed 001). Assumption.",
    )
    expectation_adaptation: Unit = Field(
        0.25,
        description="Share of the way an expectation moves toward the realised net benefit at each evaluation (lessons into the agreement, seed 001 step 5). Default 0.25: expectations adapt, but a cooperation that keeps falling short is still judged against what it promised. Assumption.",
    )
    exit_culture_fit: Unit = Field(
        0.5,
        description="At evaluation, a firm exits when culture fit is below this ('culturally not a good enough fit', seed 000). Assumption.",
    )


class Group(Section):
    """A competition-free group of firms like the B.I.G. (seed 000, section 3)."""

    name: str = Field("B.I.G.", min_length=1, description="Display name.")
    campus: bool = Field(
        True, description="All members on one campus: no distance cost, cheaper set-up (seed 000: Berlin Marzahn)."
    )
    campus_location: list[Annotated[float, Field(ge=0, le=1e4)]] = Field(
        default_factory=lambda: [150.0, 150.0], description="Campus coordinates [x, y] in km."
    )
    shared_services: bool = Field(True, description="Service firms carry producers' overheads for a fee (seed 000).")
    overhead_relief: Unit = Field(
        0.7,
        description="Share of a producer's overhead the service firms can carry together. Assumption: controlling, compliance, marketing and technical service, not all of it.",
    )
    service_fee: float = Field(
        0.6,
        ge=0,
        le=2,
        description="Fee as a share of the relieved overhead (economies of scale make shared services cheaper). Assumption. Above 1 shared services cost more than doing the work oneself, as when a service firm does not reach its scale.",
    )
    service_cost: Unit = Field(
        0.5,
        description="Cost to a service firm of carrying one unit of a producer's overhead (economies of scale of shared services). Assumption.",
    )
    focus_gain: float = Field(
        0.1,
        ge=0,
        le=1,
        description="Gain in a producer's pull on demand when shared services carry all the overhead they can (overhead_relief): it can focus on product development (the founder's need, seed 000 step 1). Assumption.",
    )
    competition: bool = Field(
        False, description="Whether members may share niches. The B.I.G. allows no internal competition (seed 000)."
    )
    information_sharing: Unit = Field(
        0.5,
        description="Weight of what the community has seen about a firm in every member's trust (campus, community meetings, shared ERP data; seed 000). Assumption.",
    )
    shared_history: float = Field(
        24.0,
        ge=0,
        le=1200,
        description="Months of shared history the community has seen of each member at step 0 (the B.I.G. dates from 2000, seed 000). Assumption: two years' worth of evidence.",
    )
    review_period: int = Field(
        12,
        ge=0,
        le=1200,
        description="Months between the group's reviews of its members: a member whose culture no longer fits the group's (below kreislauf.exit_culture_fit against the other members' mean culture) or whom the other members no longer trust (below kreislauf.exit_trust, or below kreislauf.exit_reliability in its integrity) leaves the group; its shared-service contracts end and it leaves the campus (stakes were exited when the culture did not fit, seed 000). 0: no reviews. Default 12: yearly, like the cooperations' evaluation; the sources say the group's evaluation is not yet systematic. Assumption.",
    )
    contagion: Unit = Field(
        0.5,
        description="Strength of generalised trust: members' trust in every firm is scaled down by this share of the fall of the community's climate (its pooled trust in members' integrity) since the group began, so breaches members learn of through pooled information colour their trust in third parties. 0: no channel beyond the breaching firm's own partners and the pooled evidence about it. Default 0.5: a culture 'very fragile and easily disturbed' (seed 000), of a strength the sources do not give. Assumption.",
    )
    contract_degree: Unit = Field(
        0.5, description="Contract degree of service contracts ('contractually regulated', seed 000). Assumption."
    )
    culture: list[Unit] | None = Field(
        None, description="Common starting culture of members; default the centre of the culture space."
    )
    culture_spread: float = Field(
        0.05,
        ge=0,
        le=1,
        description="Spread of members' culture around the common one. Assumption: small, members were selected.",
    )
    min_integrity: Unit = Field(
        0.6, description="Member selection: generated members are drawn at or above this integrity. Assumption."
    )
    min_competence: Unit = Field(
        0.6,
        description="Member selection: generated members are drawn at or above this competence (all aim to lead a niche, seed 000).",
    )

    @model_validator(mode="after")
    def _check(self) -> Group:
        if len(self.campus_location) != 2:
            raise ValueError("campus_location must be [x, y]")
        return self


class Measures(Section):
    """What is measured and how often."""

    network_interval: int = Field(
        12,
        ge=1,
        le=MAX_STEPS,
        description="Months between the dearer network measures (clustering, components); the months between record NaN. Default 12: yearly, like evaluations; the network's structure changes slowly. Density and degrees are measured every month.",
    )
    focal_firms: list[str] = Field(
        default_factory=lambda: ["GEFERTEC", "flying-parts", "Scansonic MI", "Metrolux", "PGS", "Lumics"],
        description="Firms followed one by one where they exist. Default: the six B.I.G. producers (seed 000).",
    )
    small_firm_size: float = Field(
        50.0,
        gt=0,
        le=1e6,
        description="Firms below this many employees count as small (EU definition of a small enterprise).",
    )
    culture_dims: int = Field(
        3,
        ge=1,
        le=20,
        description="Dimensions of the culture vector. Assumption: e.g. formality, risk appetite, self-organisation.",
    )
