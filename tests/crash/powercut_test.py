"""Power cut (issue 13 item 5): like crash_test.py, but the daemon runs under the
powercut interposer (powercut.c, LD_PRELOAD), which at a random moment puts back every
write the disk may not have had yet (all of them, or a random half of the sectors, or a
torn write), as a power cut would, and kills the daemon. The store must open again and
every acknowledged write must be there, with the same checks as after a SIGKILL.

    python3 tests/crash/powercut_test.py --rounds 6       # CI's short setting (ctest)
    python3 tests/crash/powercut_test.py --rounds 50      # a longer run

--negative-control runs the same rounds with syncs that make nothing durable (a disk
that ignores flushes) and passes only when the checks catch the loss: proof that the
interposer and the checks can fail. WM_BUILD_DIR selects the build tree.
"""

import argparse
import os
import random
import shutil
import sys
import tempfile
import threading
import time

import crashlib
from crashlib import wmtest

PRELOAD = os.path.join(wmtest.BUILD_DIR, "libwm_powercut.so")


def one_round(server, model, checker, rng, args, k, log, ignore_sync):
    mode = rng.choice(["drop", "tear", "tear", "keep"]) if not ignore_sync else "drop"
    after = rng.randint(args.min_ms, args.max_ms)
    env = {"LD_PRELOAD": PRELOAD, "WM_PC_DIR": server.data_dir, "WM_PC_AFTER_MS": str(after),
           "WM_PC_SEED": str(rng.getrandbits(32) | 1), "WM_PC_MODE": mode, "WM_PC_LOG": log,
           "WM_PC_IGNORE_SYNC": "1" if ignore_sync else "0"}
    saved = dict(server.env)
    server.env.update(env)
    # ASan wants to be the first library loaded; the interposer comes first here
    server.env["ASAN_OPTIONS"] = (server.env.get("ASAN_OPTIONS", "") + ":verify_asan_link_order=0").lstrip(":")
    try:
        server.start()
    finally:
        server.env = saved
    stop = threading.Event()
    threads = crashlib.run_load(model, server, args.clients, args.window, stop, "p%d" % k)
    server.exit_expected = True
    try:
        code = server.proc.wait(timeout=after / 1000.0 + 60)
    except Exception:
        server.kill()
        raise crashlib.CheckFailed("the interposer did not cut the power within 60 s")
    if code != -9:
        raise crashlib.CheckFailed("the daemon ended with %r, not by the power cut:\n%s" % (
            code, server.stderr()[-2000:]))
    acked = crashlib.join_clients(threads)
    server.kill()
    server.start()  # the store must open after the cut
    fig = crashlib.check_all(server, model, checker, everything=(k == args.rounds))
    server.stop()
    return mode, after, acked, fig


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--rounds", type=int, default=6, help="power cuts, default 6")
    ap.add_argument("--clients", type=int, default=4)
    ap.add_argument("--window", type=int, default=32)
    ap.add_argument("--min-ms", type=int, default=50,
                    help="earliest cut after the store's first write, default 50")
    ap.add_argument("--max-ms", type=int, default=1500,
                    help="latest cut after the store's first write, default 1500")
    ap.add_argument("--seed", type=int, default=None)
    ap.add_argument("--negative-control", action="store_true",
                    help="syncs make nothing durable: pass only when a loss is caught")
    args = ap.parse_args()
    if not os.path.exists(PRELOAD):
        print("powercut: no interposer at %s (build the tree first)" % PRELOAD)
        return 1
    seed = args.seed if args.seed is not None else int(time.time() * 1000) & 0xFFFFFFFF
    rng = random.Random(seed)
    print("powercut: seed %d, %d rounds%s, daemon %s" % (
        seed, args.rounds, " (negative control: syncs ignored)" if args.negative_control else "",
        wmtest.DAEMON), flush=True)
    data = tempfile.mkdtemp(prefix="wm-powercut-")
    log = os.path.join(data + ".log")
    server = wmtest.Server(data_dir=data)
    model = crashlib.Model(seed)
    checker = crashlib.Checker(model)
    acked_total = 0
    done = 0
    caught = None
    t0 = time.monotonic()
    try:
        server.start()
        crashlib.setup_registry(server)
        server.stop()
        for k in range(1, args.rounds + 1):
            lines_before = open(log).read().count("\n") if os.path.exists(log) else 0
            try:
                mode, after, acked, fig = one_round(server, model, checker, rng, args, k, log,
                                                    args.negative_control)
            except (crashlib.CheckFailed, wmtest.ServerError) as e:
                if not args.negative_control:
                    raise
                caught = e
                break
            acked_total += acked
            done += 1
            cut = open(log).read().split("\n")[lines_before].strip() if os.path.exists(log) else "?"
            print("powercut: round %d/%d: cut at %d ms (%s); %d acknowledged, %d unacknowledged (%d "
                  "stored), %d re-checked, store %d events + %d retractions, %d queries equal, verify %s"
                  % (k, args.rounds, after, cut, acked, fig["unacked"], fig["unacked_stored"],
                     fig["rechecked"], fig["events"], fig["retractions"], fig["queries"], fig["verify"]),
                  flush=True)
        if args.negative_control:
            ok = caught is not None
            print("powercut: negative control: %s" % (
                "the loss was caught: %s" % str(caught)[-1500:] if ok else
                "NOT caught: %d rounds with ignored syncs passed the checks" % done), flush=True)
        else:
            ok = True
    except (crashlib.CheckFailed, wmtest.ServerError, OSError, wmtest.ConnClosed) as e:
        ok = False
        print("powercut: FAILED: %s" % e, flush=True)
        print("powercut: the daemon's output ends with:\n%s" % server.stderr()[-3000:], flush=True)
    finally:
        server.kill()
        print("powercut: rounds %d, writes acknowledged %d, lost %d, duplicated %d, %.0f s" % (
            done, acked_total, checker.lost, checker.duplicated, time.monotonic() - t0), flush=True)
        if ok:
            shutil.rmtree(data, ignore_errors=True)
            if os.path.exists(log):
                os.unlink(log)
        else:
            print("powercut: data directory kept: %s, interposer log %s" % (data, log))
        server.cleanup()
    print("powercut: %d passed, %d failed" % (1 if ok else 0, 0 if ok else 1))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
