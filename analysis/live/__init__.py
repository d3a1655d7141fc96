"""The live classroom app (``kreislauf live``): the model running in a browser, offline.

- :mod:`analysis.live.lesson`: the teaching controls and how they change a scenario.
- :mod:`analysis.live.session`: one tab's models, feeds and pictures; the store of sessions.
- :mod:`analysis.live.views`: the figures, the event feed and the firm inspector.
- :mod:`analysis.live.app`: the Dash page and its callbacks.
"""

from analysis.live.app import create_app, serve
from analysis.live.lesson import CONTROLS, Settings

__all__ = ["CONTROLS", "Settings", "create_app", "serve"]
