"""A local Net-entreprises: the API-DSN with realistic returns, failures and a movable clock.

See docs/simulator.md. ``create_app`` gives the ASGI app; ``running_simulator`` serves it on a
free loopback port (HTTP or HTTPS) for tests and the ``dsnlink simulator serve`` command.
"""

from __future__ import annotations

from dsnlink.simulator.app import SimulatorApp, create_app
from dsnlink.simulator.config import (
    AccountSpec,
    FaultRule,
    MaintenanceWindow,
    Schedule,
    SimulatorConfig,
    load_config,
)
from dsnlink.simulator.service import Simulator

__all__ = [
    "AccountSpec",
    "FaultRule",
    "MaintenanceWindow",
    "Schedule",
    "Simulator",
    "SimulatorApp",
    "SimulatorConfig",
    "create_app",
    "load_config",
]
