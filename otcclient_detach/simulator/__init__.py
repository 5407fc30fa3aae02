"""Embedded Open Telekom Cloud simulator (``otc-detach-sim``).

It serves OTC's IAM, ECS (nova API and native v1), EVS and IMS APIs
from one local port, with OTC's detach rules, timed state transitions
and fault injection.  See doc/source/simulator.rst.
"""

from otcclient_detach.simulator.ids import sim_id  # noqa: F401
from otcclient_detach.simulator.scenario import ScenarioError  # noqa: F401
from otcclient_detach.simulator.server import Simulator  # noqa: F401

__all__ = ['Simulator', 'ScenarioError', 'sim_id']
