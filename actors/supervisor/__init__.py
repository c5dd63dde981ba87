"""The supervisor: statistics, history, callbacks, restarting crashed schedule
actors (`SupervisorActor`), and what waits for it (`Ledger`: execution records,
and changed durable schedules it writes in batches)."""

from actors.supervisor.actor import DRAIN, STATS, SupervisedRuntime, SupervisorActor, _History
from actors.supervisor.ledger import Ledger, latest

__all__ = ["DRAIN", "STATS", "Ledger", "SupervisedRuntime", "SupervisorActor", "_History", "latest"]
