"""The model's state: tables of firms and cooperations, the trust ledger, pairs of firms, the world that holds them.

- :mod:`sim.state.table`: struct-of-arrays tables, each column declared once.
- :mod:`sim.state.firms`: the firms' table and the Mesa agent over one row.
- :mod:`sim.state.cooperations`: the cooperations' table and the moves between phases.
- :mod:`sim.state.ledger`: beta-reputation evidence per pillar of trust.
- :mod:`sim.state.pairs`: one encoding of a pair of firms, one sorted index.
- :mod:`sim.state.world`: the :class:`~sim.state.world.World` that holds a run's state.
"""
