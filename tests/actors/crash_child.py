"""Run by test_crash.py in a child process: schedule durably until killed.

Prints ``ack <id>`` (flushed) after each scheduling call has returned, so the
parent knows exactly which schedules were acknowledged before the SIGKILL.
"""

import sys

from actors import Scheduler, SQLiteStore

db = sys.argv[1]
s = Scheduler(store=SQLiteStore(db))
s.register("once", lambda n: None)
s.register("every", lambda n: None)
s.start()
print("started", flush=True)
i = 0
while True:
    i += 1
    if i % 3:
        sid = s.schedule_in_seconds("once", (i,), 0.002 * (i % 5))
    else:
        sid = s.schedule_at_interval("every", (i,), 0.01)
    print(f"ack {sid}", flush=True)
