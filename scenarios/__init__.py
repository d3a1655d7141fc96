"""Built-in scenario and sweep files, installed as the package ``sim._scenarios``."""
