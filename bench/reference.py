"""Reference model for the benchmark: Boltzmann wealth exchange on a random network.

This is the yardstick that ``bench/run.py`` measures kreislauf against. It is
deliberately the model an ordinary Mesa 3.3 user writes, with nothing tuned:
the ``boltzmann_wealth_model`` shipped with Mesa, moved from a grid onto a
network the way Mesa's own ``virus_on_network`` example places agents on one.

- ``N`` agents, each a :class:`mesa.discrete_space.FixedAgent` (the cell-space
  agent for agents that never move) with ``wealth = 1``, one per node of a
  :class:`mesa.discrete_space.Network` cell space;
- the network is ``networkx.gnm_random_graph(N, 2 * N)`` (mean degree 4),
  drawn from the model's seeded generator, never the global random state;
- each step ``self.agents.shuffle_do("step")``: in random order every agent
  with wealth gives one unit to a random neighbour;
- each step a :class:`mesa.DataCollector` records the Gini coefficient of
  wealth (the plain way: a sorted list of the agents' wealth) and every
  agent's wealth.

Why this is the reference: it is the smallest complete Mesa model with the
same ingredients as kreislauf (agents on a network, a random activation order,
interaction with neighbours, a model reporter and an agent reporter every
step), so "agent-steps per second" of this model is what a modeller expects
from Mesa at a given size. A model whose firm-steps per second match it costs
no more per agent than idiomatic Mesa does, however much more each firm does.
"""

from __future__ import annotations

import mesa
import networkx as nx
from mesa.discrete_space import Cell, FixedAgent, Network


class WealthAgent(FixedAgent):
    """An agent on a network node that gives away its wealth one unit at a time.

    Parameters
    ----------
    model : ReferenceModel
        The model the agent belongs to.
    cell : mesa.discrete_space.Cell
        The network node the agent sits on.

    Attributes
    ----------
    wealth : int
        Units of wealth the agent holds; every agent starts with 1.
    """

    def __init__(self, model: ReferenceModel, cell: Cell) -> None:
        super().__init__(model)
        self.cell = cell
        self.wealth = 1

    def step(self) -> None:
        """Give one unit of wealth to a random neighbour, if the agent has any.

        An agent on an isolated node (about 2% of nodes at mean degree 4)
        keeps its wealth.
        """
        if self.wealth > 0:
            neighbours = list(self.cell.neighborhood.agents)
            if neighbours:
                other = self.random.choice(neighbours)
                other.wealth += 1
                self.wealth -= 1


def compute_gini(model: ReferenceModel) -> float:
    """Gini coefficient of the agents' wealth, from a sorted list.

    Parameters
    ----------
    model : ReferenceModel
        The model whose agents are measured.

    Returns
    -------
    float
        0 when every agent holds the same wealth, close to 1 when one agent
        holds all of it.
    """
    x = sorted(agent.wealth for agent in model.agents)
    n = len(x)
    b = sum(xi * (n - i) for i, xi in enumerate(x)) / (n * sum(x))
    return 1 + (1 / n) - 2 * b


class ReferenceModel(mesa.Model):
    """Boltzmann wealth exchange between neighbours on a random network.

    Parameters
    ----------
    n_agents : int
        Number of agents, one per network node.
    seed : int, optional
        Seed of the model's generators (``model.random`` and ``model.rng``);
        the network and every draw of a run come from them.

    Attributes
    ----------
    grid : mesa.discrete_space.Network
        The cell space: one cell per node of a ``gnm_random_graph`` with
        ``2 * n_agents`` edges.
    datacollector : mesa.DataCollector
        Model reporter ``"Gini"`` and agent reporter ``"wealth"``, collected at
        construction and after every step.

    Raises
    ------
    ValueError
        If ``n_agents`` is less than 1.
    """

    def __init__(self, n_agents: int = 100, seed: int | None = None) -> None:
        if n_agents < 1:
            raise ValueError(f"n_agents must be at least 1, got {n_agents}")
        super().__init__(seed=seed)
        self.num_agents = n_agents
        graph = nx.gnm_random_graph(n_agents, 2 * n_agents, seed=self.random)
        self.grid = Network(graph, capacity=1, random=self.random)
        WealthAgent.create_agents(self, n_agents, list(self.grid.all_cells))
        self.datacollector = mesa.DataCollector(
            model_reporters={"Gini": compute_gini},
            agent_reporters={"wealth": "wealth"},
        )
        self.datacollector.collect(self)

    def step(self) -> None:
        """Activate every agent once in random order, then collect data."""
        self.agents.shuffle_do("step")
        self.datacollector.collect(self)
