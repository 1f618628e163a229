"""engagebot's composition root: settings, CLI and scheduler wiring over the domain packages."""

__version__ = "0.1.0"
