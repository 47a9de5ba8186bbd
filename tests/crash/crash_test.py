"""Crash consistency (issue 13 item 4): several clients pipeline events and retractions
into the real werkmonitord while it is killed with SIGKILL at random moments, again and
again; the daemon writes a checkpoint of its memory part every 1,000 events (a child
process), so most restarts load one and replay the records after it. After each restart every acknowledged write re-sent answers DUP with its seq,
no seq is given twice, STATS counts each write once, and every COUNT and PROGRESS
equals the figure recomputed from what the store holds (crashlib.py explains how
unacknowledged writes are accounted for).

    python3 tests/crash/crash_test.py --kills 5          # CI's short setting (ctest)
    python3 tests/crash/crash_test.py --kills 100        # the long soak (README)

WM_BUILD_DIR selects the build tree (default build/). Exit 0 when every round passed.
"""

import argparse
import os
import random
import shutil
import signal
import sys
import tempfile
import threading
import time

import crashlib
from crashlib import wmtest


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--kills", type=int, default=5, help="SIGKILLs (rounds), default 5")
    ap.add_argument("--clients", type=int, default=4, help="connections writing at once, default 4")
    ap.add_argument("--window", type=int, default=32, help="writes in flight per connection, default 32")
    ap.add_argument("--min-ms", type=int, default=100, help="shortest load before a kill, default 100")
    ap.add_argument("--max-ms", type=int, default=1500, help="longest load before a kill, default 1500")
    ap.add_argument("--seed", type=int, default=None, help="random seed (default: from the clock)")
    ap.add_argument("--keep", action="store_true", help="keep the data directory")
    args = ap.parse_args()
    seed = args.seed if args.seed is not None else int(time.time() * 1000) & 0xFFFFFFFF
    rng = random.Random(seed)
    print("crash: seed %d, %d kills, %d clients, window %d, daemon %s" % (
        seed, args.kills, args.clients, args.window, wmtest.DAEMON), flush=True)

    data = tempfile.mkdtemp(prefix="wm-crash-")
    # a checkpoint of the memory part every 1,000 events (the least allowed), written by
    # the daemon's child process while the load goes on: a kill then finds one most
    # times, and the restart loads it and replays the records after it
    server = wmtest.Server(["--checkpoint-every", "1000"], data_dir=data)
    loads = {"checkpoint": 0, "rebuilt": 0}
    model = crashlib.Model(seed)
    checker = crashlib.Checker(model)
    acked_total = 0
    t_start = time.monotonic()
    ok = False
    try:
        server.start()
        crashlib.setup_registry(server)
        for k in range(1, args.kills + 1):
            stop = threading.Event()
            threads = crashlib.run_load(model, server, args.clients, args.window, stop, "k%d" % k)
            time.sleep(rng.uniform(args.min_ms, args.max_ms) / 1000.0)
            server.send_signal(signal.SIGKILL)
            server.wait()
            acked = crashlib.join_clients(threads)
            acked_total += acked
            server.start()
            memory = crashlib.memory_source(server)
            loads["checkpoint" if memory.startswith("loaded from the checkpoint") else "rebuilt"] += 1
            fig = crashlib.check_all(server, model, checker, everything=(k == args.kills))
            print("crash: kill %d/%d: %d acknowledged in this round, %d unacknowledged (%d of them "
                  "stored), %d re-checked, store %d events + %d retractions, %d queries equal, "
                  "verify %s, check %.1f s; memory part %s" % (
                      k, args.kills, acked, fig["unacked"], fig["unacked_stored"], fig["rechecked"],
                      fig["events"], fig["retractions"], fig["queries"], fig["verify"], fig["check_s"],
                      memory),
                  flush=True)
        server.stop()
        # the checks above must have covered a start from a checkpoint, not only rebuilds
        if args.kills >= 3 and loads["checkpoint"] == 0:
            raise crashlib.CheckFailed("no restart loaded a checkpoint (%d rebuilt)" %
                                       loads["rebuilt"])
        ok = True
    except (crashlib.CheckFailed, wmtest.ServerError, OSError, wmtest.ConnClosed) as e:
        print("crash: FAILED: %s" % e, flush=True)
        print("crash: the daemon's output ends with:\n%s" % server.stderr()[-3000:], flush=True)
    finally:
        server.kill()
        print("crash: kills %d, events acknowledged %d, lost %d, duplicated %d, %.0f s" % (
            args.kills if ok else 0, acked_total, checker.lost, checker.duplicated,
            time.monotonic() - t_start), flush=True)
        if args.keep or not ok:
            print("crash: data directory kept: %s" % data)
        else:
            shutil.rmtree(data, ignore_errors=True)
        server.cleanup()
    print("crash: %d passed, %d failed" % (1 if ok else 0, 0 if ok else 1))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
