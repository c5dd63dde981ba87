"""timekit: pure, exact microsecond time values, the schedule algebra and clocks.

No threads are started and no I/O is done here; everything is a value except the
clocks, which only block the calling thread when asked to wait.
"""

from timekit.clock import Clock, SystemClock, VirtualClock, Waiter
from timekit.duration import Duration
from timekit.errors import OutOfRangeError
from timekit.metrics import PrecisionTimer, TimeMetrics
from timekit.schedule import ScheduleAt
from timekit.timestamp import Timestamp

__all__ = [
    "Clock",
    "Duration",
    "OutOfRangeError",
    "PrecisionTimer",
    "ScheduleAt",
    "SystemClock",
    "TimeMetrics",
    "Timestamp",
    "VirtualClock",
    "Waiter",
]
