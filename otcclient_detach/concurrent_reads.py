"""Run independent reads side by side on the CLI's session.

At 50-150 ms per request, reads that do not depend on each other (the
server lookup, the volume lookups, version discovery) cost one round trip
together instead of one each.  keystoneauth sessions are used from
threads already (operations sends its DELETEs so).

Results come back in the order the calls were given, whatever order they
finished in; if any call raised, the first of them (in that same order)
is raised after every call has ended, so no read is left running and the
error a user sees does not depend on timing.
"""

import concurrent.futures

#: Reads in flight at once: enough for a server, its discovery and a few
#: volumes; few enough not to trip OTC's flow control.
MAX_PARALLEL = 6


def run(calls):
    """Call each of ``calls`` (no arguments) concurrently; their results.

    A single call runs in this thread: nothing to overlap.
    """
    calls = list(calls)
    if len(calls) <= 1:
        return [call() for call in calls]
    with concurrent.futures.ThreadPoolExecutor(
            min(MAX_PARALLEL, len(calls))) as pool:
        futures = [pool.submit(call) for call in calls]
        concurrent.futures.wait(futures)
    for future in futures:
        error = future.exception()
        if error is not None:
            raise error
    return [future.result() for future in futures]
