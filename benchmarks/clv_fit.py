"""Benchmark: fit BG/NBD + Gamma-Gamma on the full CDNOW master file, ours against lifetimes.

Both fits run in this process on the same summary (23,570 customers, 39-week calibration) that
our code builds from the raw transactions; the script prints each one's median time over
``--repeat`` runs, the parameters both found, and the ratio lifetimes / ours.

    .venv/bin/python benchmarks/clv_fit.py [--data ../shared/data/cdnow] [--repeat 5]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
import warnings
from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from engagement.customers.clv import bgnbd, gammagamma, summarize  # noqa: E402
from engagement.customers.clv.datasets import read_cdnow  # noqa: E402


def timed(func: Callable[[], Any], repeat: int) -> tuple[float, Any]:
    """Median wall time of ``repeat`` calls and the last result."""
    times, result = [], None
    for _ in range(repeat):
        start = time.perf_counter()
        result = func()
        times.append(time.perf_counter() - start)
    return statistics.median(times), result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=REPO.parent / "shared" / "data" / "cdnow")
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--calibration-end", default="1997-09-30")
    args = parser.parse_args()

    import numpy as np
    from lifetimes import BetaGeoFitter, GammaGammaFitter

    start = time.perf_counter()
    summary = summarize(read_cdnow(args.data / "CDNOW_master.txt"), date.fromisoformat(args.calibration_end))
    build = time.perf_counter() - start
    x, t_x, T, m = summary.frequency, summary.recency, summary.age, summary.monetary
    repeat = (x > 0) & (m > 0)  # Gamma-Gamma needs positive spend (a few CDNOW purchases are $0)
    print(
        f"CDNOW master: {len(summary):,} customers, {summary.transactions:,} transactions, "
        f"{int(repeat.sum()):,} repeat buyers; summary built from the raw file in {build:.2f} s"
    )

    def ours() -> tuple[bgnbd.BgNbdParams, gammagamma.GammaGammaParams]:
        return bgnbd.fit(x, t_x, T), gammagamma.fit(x, m)

    def theirs() -> tuple[Any, Any]:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            bg = BetaGeoFitter().fit(x, t_x, T)
            gg = GammaGammaFitter().fit(x[repeat], m[repeat])
        return bg, gg

    ours(), theirs()  # warm up imports and caches
    our_bg_time, (our_bg, _) = timed(lambda: (bgnbd.fit(x, t_x, T), None), args.repeat)
    our_gg_time, our_gg = timed(lambda: gammagamma.fit(x, m), args.repeat)
    ref_bg_time, ref_bg = timed(lambda: BetaGeoFitter().fit(x, t_x, T), args.repeat)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ref_gg_time, ref_gg = timed(lambda: GammaGammaFitter().fit(x[repeat], m[repeat]), args.repeat)

    rb, rg = ref_bg.params_, ref_gg.params_
    print(f"\n{'':14}{'engagebot':>12}{'lifetimes':>12}{'ratio':>8}   parameters (engagebot | lifetimes)")
    print(
        f"{'BG/NBD':14}{our_bg_time:>11.3f}s{ref_bg_time:>11.3f}s"
        f"{ref_bg_time / our_bg_time:>7.1f}x   "
        f"r={our_bg.r:.4f} alpha={our_bg.alpha:.4f} a={our_bg.a:.4f} b={our_bg.b:.4f} | "
        f"r={rb['r']:.4f} alpha={rb['alpha']:.4f} a={rb['a']:.4f} b={rb['b']:.4f}"
    )
    print(
        f"{'Gamma-Gamma':14}{our_gg_time:>11.3f}s{ref_gg_time:>11.3f}s"
        f"{ref_gg_time / our_gg_time:>7.1f}x   "
        f"p={our_gg.p:.4f} q={our_gg.q:.4f} gamma={our_gg.gamma:.4f} | "
        f"p={rg['p']:.4f} q={rg['q']:.4f} gamma={rg['v']:.4f}"
    )
    total_ours, total_ref = our_bg_time + our_gg_time, ref_bg_time + ref_gg_time
    print(
        f"{'both':14}{total_ours:>11.3f}s{total_ref:>11.3f}s{total_ref / total_ours:>7.1f}x   "
        f"(median of {args.repeat}; ratio = lifetimes time / engagebot time)"
    )
    ll_ours = float(bgnbd.log_likelihood(our_bg, x, t_x, T).sum())
    at_ref = bgnbd.BgNbdParams(float(rb["r"]), float(rb["alpha"]), float(rb["a"]), float(rb["b"]))
    ll_ref = float(bgnbd.log_likelihood(at_ref, x, t_x, T).sum())
    print(
        f"BG/NBD log-likelihood at each one's parameters: engagebot {ll_ours:.3f}, "
        f"lifetimes {ll_ref:.3f} "
        f"(difference {ll_ours - ll_ref:+.2e})"
    )
    assert np.isfinite(ll_ours)


if __name__ == "__main__":
    main()
