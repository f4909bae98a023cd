#!/usr/bin/python3
"""Lower bound on the HF jitter any no-fill camera path can reach at a given static zoom.

usage: /usr/bin/python3 jitter_bound.py ANCHORS_DIR INPUT_VIDEO ZOOM [ZOOM ...]

The anchors' metrics.py measures a video's trajectory (frame-to-frame euclidean motion of the frame centre by
pyramid ECC, accumulated) and reports the RMS of the trajectory minus its 31-frame moving average ("HF jitter",
xy px). This script measures the INPUT's trajectory p with metrics.py itself (its analyse(), unchanged; the
trajectory is captured where metrics.py hands it to bench_common.hf_jitter), then asks: over every output
trajectory a stabilizer could produce at a static zoom z without showing fill, what is the least HF jitter?

A correction that shifts frame k by a_k (input pixels) and zooms by z about the centre shows no fill iff
|a_x| <= (width - 1) / 2 * (1 - 1 / z) and |a_y| <= (height - 1) / 2 * (1 - 1 / z); the output's centre
trajectory is then p - a. Rotating or scaling the correction only shrinks that room (the rotated window's
corners need more margin), so the box |y - p| <= m contains every no-fill output trajectory at zoom z, and
    min over y in the box of  sum_k (y_k - MA31(y)_k)^2      (per axis, over the frames metrics.py counts)
bounds the squared jitter from below. The problem is a convex quadratic over a box; it is solved by FISTA
(Beck & Teboulle 2009) with a projection onto the box, and the bound reported is the Frank-Wolfe lower bound
f(z) + sum_k min(g_k (lo_k - z_k), g_k (hi_k - z_k)) at the last iterate z (g = gradient), which holds for any
z by convexity: a certified bound, not an estimate. The iterate's own value (an achievable path) is reported
next to it; they agree when the solve has converged.

Prints one JSON line: {"input_xy_px":.., "bounds":[{"zoom":..,"bound_xy_px":..,"achieved_xy_px":..}, ...]}.
"""
import json
import sys

import numpy as np

WIN = 31


def measure_trajectory(anchors, video):
    sys.path.insert(0, anchors)
    import bench_common as bc
    import metrics

    captured = []
    original = bc.hf_jitter

    def capture(traj, win=WIN):
        captured.append(np.asarray(traj, np.float64).copy())
        return original(traj, win)

    bc.hf_jitter = capture
    try:
        metrics.analyse(video)
    finally:
        bc.hf_jitter = original
    import cv2

    cap = cv2.VideoCapture(video)
    w, h = int(cap.get(cv2.CAP_PROP_FRAME_WIDTH)), int(cap.get(cv2.CAP_PROP_FRAME_HEIGHT))
    cap.release()
    return captured[0], w, h


def hf_operator(n):
    """A with (A y)_i = y_k - mean(y[k-15 .. k+15]) for the valid frames k (as bench_common.hf_jitter)."""
    r = WIN // 2
    A = np.zeros((n - 2 * r, n))
    for i in range(n - 2 * r):
        A[i, i: i + WIN] -= 1.0 / WIN
        A[i, i + r] += 1.0
    return A


def bound_axis(A, p, m, iters=20000, tol=1e-9):
    """(certified lower bound, achieved value) of min ||A y||^2 over |y - p| <= m."""
    lo, hi = p - m, p + m
    H = 2.0 * A.T @ A
    L = np.linalg.eigvalsh(H)[-1]
    y = np.clip(p, lo, hi)
    z, t = y.copy(), 1.0
    for _ in range(iters):
        yn = np.clip(z - (H @ z) / L, lo, hi)
        tn = (1 + np.sqrt(1 + 4 * t * t)) / 2
        z = yn + (t - 1) / tn * (yn - y)
        moved = np.max(np.abs(yn - y))
        y, t = yn, tn
        if moved < tol:
            break
    f = float(np.sum((A @ y) ** 2))
    g = H @ y
    fw = f + float(np.sum(np.minimum(g * (lo - y), g * (hi - y))))
    return max(0.0, fw), f


def main():
    anchors, video, zooms = sys.argv[1], sys.argv[2], [float(z) for z in sys.argv[3:]]
    traj, w, h = measure_trajectory(anchors, video)
    n = len(traj)
    A = hf_operator(n)
    count = A.shape[0]
    inp = float(np.sqrt((np.sum((A @ traj[:, 0]) ** 2) + np.sum((A @ traj[:, 1]) ** 2)) / count))
    out = []
    for z in zooms:
        s = 1 - 1 / z
        bx, ax = bound_axis(A, traj[:, 0], (w - 1) / 2 * s)
        by, ay = bound_axis(A, traj[:, 1], (h - 1) / 2 * s)
        out.append({"zoom": z, "bound_xy_px": float(np.sqrt((bx + by) / count)),
                    "achieved_xy_px": float(np.sqrt((ax + ay) / count))})
    print(json.dumps({"input_xy_px": inp, "bounds": out}))


if __name__ == "__main__":
    main()
