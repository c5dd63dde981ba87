"""Several processes sharing one `PostgresStore` group: partition leases and claims.

The group's schedules are split into ``store.partitions`` partitions (schedule id
modulo the count). Each process runs a `Cluster`: a coordinator thread that every
``lease_ttl / 6`` seconds

* heartbeats its row in ``tickwork_members`` (members silent for the lease are removed),
* renews the leases of the partitions it holds (a partition it failed to renew in time
  may have been taken over: it stops running its schedules at once),
* releases partitions beyond its fair share ``ceil(partitions / live members)`` and takes
  free or expired ones up to it; taking a partition bumps its ``epoch`` (the fencing
  token) and loads its schedules, applying their misfire policy to what came due while
  nobody held it.

A process only runs the schedules of partitions it holds. Before a target runs, its
firing ``(schedule id, grid point, epoch)`` is claimed in ``tickwork_claims`` by a
fenced insert (it lands only while this process holds that partition at that epoch
under an unexpired lease); a claimer thread sends every claim queued meanwhile in one
statement. Completion is recorded the same way, batched. A firing claimed at an older
epoch and never completed is claimed again after a takeover (attempt + 1): at least once.
Schedule rows are fenced too (``PostgresStore.fence_member``): a process that lost a
partition cannot overwrite its schedules.

A cancel from a process that does not run the schedule writes a tombstone (claims check
it) and a ``cancel`` command, and returns once the owner answered it (after marking the
schedule cancelled, so nothing of it starts after) or the owner's lease ended (fenced).
Each heartbeat also stores this process's execution statistics, which `group_stats` adds up.

Leases (of members and partitions) last ``5/6 lease_ttl`` from their last renewal, so
the partitions of a process that died are taken over at most ``lease_ttl`` after its
last heartbeat (the lease, then at most one heartbeat period of the survivors).
Locally, a process also stops trusting a lease when it ends, counted from when it sent the renewal
(a monotonic clock, so a process stopped with SIGSTOP and continued refuses to run
what it claimed before it stopped once the lease time has passed).

Where each part lives: `Cluster` (joining, leaving, the coordinator thread and the
NOTIFYs it listens to) in `membership`; the heartbeat and partition leases in `leases`;
claims of firings in `claims`; commands between processes (and cancels) in `commands`;
loading and stopping the schedules run here in `local`; the group's statistics in
`group_stats`.
"""

from actors.cluster.claims import AHEAD_US as AHEAD_US
from actors.cluster.leases import LEASE_FRACTION as LEASE_FRACTION
from actors.cluster.membership import Cluster
from actors.cluster.membership import channel_of as channel_of

__all__ = ["Cluster"]
