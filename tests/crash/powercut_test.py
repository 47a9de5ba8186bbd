"""Power cut (issue 13 item 5): like crash_test.py, but the daemon runs under the
powercut interposer (powercut.c, LD_PRELOAD), which at a random moment puts back every
write the disk may not have had yet (all of them, or a random half of the sectors, or a
torn write), as a power cut would, and kills the daemon. The store must open again and
every acknowledged write must be there, with the same checks as after a SIGKILL.

The daemon writes its memory part's checkpoint every --checkpoint-every events (1000 by
default, the least it takes, so that a forked child is writing one much of the time): the power goes for
that child too (the interposer kills it and puts back its writes not yet synced), so
cuts land inside checkpoints. Each start after a cut must load the newest checkpoint
that made it to disk and replay the records after it, or refuse it for a reason that
is right (one that says the store changed in a way the checkpoint cannot follow, not
that it is damaged: a checkpoint is synced before it takes the place of the old one).

    python3 tests/crash/powercut_test.py --rounds 6       # CI's short setting (ctest)
    python3 tests/crash/powercut_test.py --rounds 50      # a longer run

--negative-control runs the same rounds with syncs that make nothing durable (a disk
that ignores flushes) and passes only when the checks catch the loss: proof that the
interposer and the checks can fail. WM_BUILD_DIR selects the build tree.
"""

import argparse
import os
import random
import re
import shutil
import sys
import tempfile
import threading
import time

import crashlib
from crashlib import wmtest

PRELOAD = os.path.join(wmtest.BUILD_DIR, "libwm_powercut.so")


# Reasons a start may rightly give for not using the checkpoint after a cut.
RIGHT_REFUSALS = ("changed its scope after the checkpoint",)


def check_start(server, log_from, had_checkpoint):
    """How the start after a cut loaded the memory part, checked: "checkpoint of seq S,
    R replayed", "refused: why" or "none written yet"; raises CheckFailed when the
    checkpoint is gone (had_checkpoint: there was one before the round), or refused
    for a wrong reason, or S + R is not the store's last seq."""
    text = server.stderr()[log_from:]
    src = crashlib.memory_source(server)
    refused = [l for l in text.splitlines() if "checkpoint" in l and "was not used" in l]
    m = re.match(r"loaded from the checkpoint of seq (\d+), (\d+) records after it replayed", src)
    if m:
        with server.connect(timeout=120) as c:
            last = int({r["stat"]: r["value"] for r in c.rows("STATS")}["last_seq"])
        seq, replayed = int(m.group(1)), int(m.group(2))
        if seq + replayed != last:
            raise crashlib.CheckFailed("the checkpoint of seq %d and %d records replayed do not "
                                       "end at the store's last seq %d" % (seq, replayed, last))
        return "checkpoint of seq %d, %d replayed" % (seq, replayed)
    if refused and any(r in refused[-1] for r in RIGHT_REFUSALS):
        return "refused: " + refused[-1]
    if not os.path.exists(os.path.join(server.data_dir, "memory.ckpt")):
        if had_checkpoint:
            raise crashlib.CheckFailed("the checkpoint is gone after the cut (memory part %s)"
                                       % src)
        if src == "rebuilt from the records (no checkpoint)":
            return "none written yet"
    raise crashlib.CheckFailed("the start after the cut did not use the checkpoint: %s" % (
        refused[-1] if refused else src))


def one_round(server, model, checker, rng, args, k, log, ignore_sync):
    mode = rng.choice(["drop", "tear", "tear", "keep"]) if not ignore_sync else "drop"
    after = rng.randint(args.min_ms, args.max_ms)
    env = {"LD_PRELOAD": PRELOAD, "WM_PC_DIR": server.data_dir, "WM_PC_AFTER_MS": str(after),
           "WM_PC_SEED": str(rng.getrandbits(32) | 1), "WM_PC_MODE": mode, "WM_PC_LOG": log,
           "WM_PC_IGNORE_SYNC": "1" if ignore_sync else "0"}
    had_checkpoint = os.path.exists(os.path.join(server.data_dir, "memory.ckpt"))
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
    log_from = len(server.stderr())
    server.start()  # the store must open after the cut
    start = check_start(server, log_from, had_checkpoint) if not ignore_sync else "-"
    fig = crashlib.check_all(server, model, checker, everything=(k == args.rounds))
    fig["start"] = start
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
    ap.add_argument("--checkpoint-every", type=int, default=1000,
                    help="the daemon's --checkpoint-every, default 1000, its least (a child writing one "
                    "most of the time)")
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
    server = wmtest.Server(["--checkpoint-every", str(args.checkpoint_every)], data_dir=data)
    model = crashlib.Model(seed)
    checker = crashlib.Checker(model)
    acked_total = 0
    done = 0
    in_checkpoint = 0
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
            in_checkpoint += "(killed while writing)" in cut
            print("powercut: round %d/%d: cut at %d ms (%s); %d acknowledged, %d unacknowledged (%d "
                  "stored), %d re-checked, store %d events + %d retractions, %d queries equal, verify %s; "
                  "memory part: %s"
                  % (k, args.rounds, after, cut, acked, fig["unacked"], fig["unacked_stored"],
                     fig["rechecked"], fig["events"], fig["retractions"], fig["queries"], fig["verify"],
                     fig["start"]), flush=True)
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
        print("powercut: rounds %d (%d with a checkpoint being written), writes acknowledged %d, "
              "lost %d, duplicated %d, %.0f s" % (
                  done, in_checkpoint, acked_total, checker.lost, checker.duplicated,
                  time.monotonic() - t0), flush=True)
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
