"""A local, signature-checking NXCloud DID call record API with seeded data and fault switches.

>>> from nxframe.simulator import Simulator
>>> with Simulator(seed=1) as sim:                                   # doctest: +SKIP
...     df = nxframe.fetch_cdr("2024-03-01", client=sim.client())
"""

from .data import CallGenerator
from .faults import TRANSIENT_KINDS, FaultPlan
from .server import RequestLog, Simulator

__all__ = ["TRANSIENT_KINDS", "CallGenerator", "FaultPlan", "RequestLog", "Simulator"]
