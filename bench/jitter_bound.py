#!/usr/bin/python3
"""Lower bounds on the jitter any no-fill camera path can reach at a given static zoom (both measures of metrics.py).

usage: /usr/bin/python3 jitter_bound.py ANCHORS_DIR INPUT_VIDEO ZOOM [ZOOM ...] [--joint HF_TARGET HZ1_TARGET]
                                       [--rotation-of MOTION_FILE]

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
bounds the squared jitter from below. The same holds for the window-free measure (bench_common.hf_velocity:
the content at or above 1 Hz of the steps y_k - y_(k-1)): its square is ||P D y||^2 / (n - 1) with D the
step operator and P the FFT mask, an orthogonal projection, so the same box gives its bound. Each bound is for
its measure alone; one path need not reach both. Each problem is a convex quadratic over a box; it is solved by FISTA
(Beck & Teboulle 2009) with a projection onto the box, and the bound reported is the Frank-Wolfe lower bound
f(z) + sum_k min(g_k (lo_k - z_k), g_k (hi_k - z_k)) at the last iterate z (g = gradient), which holds for any
z by convexity: a certified bound, not an estimate. The iterate's own value (an achievable path) is reported
next to it; they agree when the solve has converged.

Prints one JSON line: {"input_xy_px":.., "hz1_input_xy_px":.., "bounds":[{"zoom":.., "bound_xy_px":..,
"achieved_xy_px":.., "hz1_bound_xy_px":.., "hz1_achieved_xy_px":..}, ...]} (hz1_: the >= 1 Hz measure, px/frame),
and with --joint, each zoom's "joint": whether one path at that zoom meets both targets (joint_check: a path
that does, or a certificate that none does). With --rotation-of, "given_rotation" holds the same for the room
a stabilizer's own rotation and zoom, frame by frame, leave to its shift (rotation_margins): how far its
translation is from the best one that its rotation allows.
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
    fps = float(cap.get(cv2.CAP_PROP_FPS))
    cap.release()
    return captured[0], w, h, fps


def hf_operator(n):
    """A with (A y)_i = y_k - mean(y[k-15 .. k+15]) for the valid frames k (as bench_common.hf_jitter)."""
    r = WIN // 2
    A = np.zeros((n - 2 * r, n))
    for i in range(n - 2 * r):
        A[i, i: i + WIN] -= 1.0 / WIN
        A[i, i + r] += 1.0
    return A


def hz1_operator(n, fps, fc=1.0):
    """B with (B y) = the content at or above fc Hz of the steps y_k - y_(k-1), k = 1 .. n-1, as
    bench_common.hf_velocity takes it: a real FFT of the n-1 steps with the bins below fc set to zero (the
    mean, bin 0, among them) and transformed back. That mask is an orthogonal projection P, so B = P D and
    the measure is sqrt(||B y||^2 / (n - 1)) per axis."""
    m = n - 1
    f = np.fft.rfftfreq(m, 1.0 / fps)
    F = np.fft.rfft(np.eye(m), axis=0)
    F[f < fc] = 0
    P = np.fft.irfft(F, n=m, axis=0)
    D = np.zeros((m, n))
    D[np.arange(m), np.arange(1, n)] = 1.0
    D[np.arange(m), np.arange(m)] = -1.0
    return P @ D


def bound_axis(A, p, m, iters=20000, tol=1e-9, start=None):
    """(certified lower bound, achieved value, its path) of min ||A y||^2 over |y - p| <= m."""
    lo, hi = p - m, p + m
    H = 2.0 * A.T @ A
    L = np.linalg.eigvalsh(H)[-1]
    y = np.clip(p if start is None else start, lo, hi)
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
    return max(0.0, fw), f, y


def joint_check(A, B, traj, margins, hf_target, hz1_target, steps=40):
    """Can one no-fill path meet both targets (HF jitter <= hf_target and >= 1 Hz <= hz1_target, xy)?

    With fa(y) = (||A y_x||^2 + ||A y_y||^2) / rows(A) and fb likewise for B, both convex, the targets ask for
    a y in the box with fa <= a = hf_target^2 and fb <= b = hz1_target^2. For any lam >= 0, every such y has
    fa + lam fb <= a + lam b; so a certified lower bound of min over the box of fa + lam fb above a + lam b
    proves that no path meets both (a convex problem: when none does, some lam shows it). A solved path with
    fa <= a and fb <= b proves that one does. lam is bisected on a log scale: up while the path has HF room
    to spare, down while it has not."""
    na, nb = A.shape[0], B.shape[0]
    a, b = hf_target ** 2, hz1_target ** 2
    lo_l, hi_l = -4.0, 6.0
    starts = [None, None]
    last = None
    for _ in range(steps):
        lam = 10 ** ((lo_l + hi_l) / 2)
        M = np.vstack([A / np.sqrt(na), B * np.sqrt(lam / nb)])
        lb, fa, fb = 0.0, 0.0, 0.0
        for ax in range(2):
            lbx, _, y = bound_axis(M, traj[:, ax], margins[ax], start=starts[ax])
            starts[ax] = y
            lb += lbx
            fa += float(np.sum((A @ y) ** 2)) / na
            fb += float(np.sum((B @ y) ** 2)) / nb
        last = {"lambda": lam, "hf_xy_px": float(np.sqrt(fa)), "hz1_xy_px": float(np.sqrt(fb)),
                "lower_bound": lb, "targets_sum": a + lam * b}
        if fa <= a and fb <= b:
            return {"verdict": "reachable", **last}
        if lb > a + lam * b:
            return {"verdict": "unreachable", **last}
        if fa <= a:
            lo_l = np.log10(lam)
        else:
            hi_l = np.log10(lam)
    return {"verdict": "undecided", **last}


def rotation_margins(motion_file, n, w, h):
    """Per-frame room for the translation that a stabilizer's own rotation and zoom leave: from its motion file
    (steady-motion v1: `correction` maps output pixels to input pixels), each frame's window, scaled by the
    correction's scale s and turned by its angle b, reaches (w-1)/2 s |cos b| + (h-1)/2 s |sin b| across from
    its centre (and the like down); what is left of the frame's half-width is the room for the shift."""
    frames = json.load(open(motion_file))["frames"]
    if len(frames) != n:
        raise SystemExit(f"{motion_file}: {len(frames)} frames, the measured trajectory has {n}")
    mx, my = np.zeros(n), np.zeros(n)
    for k, f in enumerate(frames):
        c = np.asarray(f["correction"], np.float64).reshape(3, 3)
        sc, b = np.hypot(c[0, 0], c[1, 0]), np.arctan2(c[1, 0], c[0, 0])
        cb, sb = abs(np.cos(b)), abs(np.sin(b))
        mx[k] = max(0.0, (w - 1) / 2 * (1 - sc * cb) - (h - 1) / 2 * sc * sb)
        my[k] = max(0.0, (h - 1) / 2 * (1 - sc * cb) - (w - 1) / 2 * sc * sb)
    return mx, my


def box_row(measures, traj, margins, targets):
    """Both measures' bounds (and achieved values) over the box |y - traj| <= margins, and the joint check."""
    row = {}
    for k, A in measures.items():
        count = A.shape[0]
        bx, ax, _ = bound_axis(A, traj[:, 0], margins[0])
        by, ay, _ = bound_axis(A, traj[:, 1], margins[1])
        row[f"{k}bound_xy_px"] = float(np.sqrt((bx + by) / count))
        row[f"{k}achieved_xy_px"] = float(np.sqrt((ax + ay) / count))
    if targets is not None:
        row["joint"] = {"hf_target_xy_px": targets[0], "hz1_target_xy_px": targets[1],
                        **joint_check(measures[""], measures["hz1_"], traj, margins, *targets)}
    return row


def main():
    args = sys.argv[1:]
    targets = None
    motion_file = None
    if "--joint" in args:
        i = args.index("--joint")
        targets = (float(args[i + 1]), float(args[i + 2]))
        del args[i: i + 3]
    if "--rotation-of" in args:
        i = args.index("--rotation-of")
        motion_file = args[i + 1]
        del args[i: i + 2]
    anchors, video, zooms = args[0], args[1], [float(z) for z in args[2:]]
    traj, w, h, fps = measure_trajectory(anchors, video)
    n = len(traj)
    measures = {"": hf_operator(n), "hz1_": hz1_operator(n, fps)}

    def rms(A, x, y):
        return float(np.sqrt((np.sum((A @ x) ** 2) + np.sum((A @ y) ** 2)) / A.shape[0]))

    result = {f"{k}input_xy_px": rms(A, traj[:, 0], traj[:, 1]) for k, A in measures.items()}
    result["bounds"] = [{"zoom": z, **box_row(measures, traj, ((w - 1) / 2 * (1 - 1 / z), (h - 1) / 2 * (1 - 1 / z)), targets)}
                        for z in zooms]
    if motion_file is not None:
        result["given_rotation"] = box_row(measures, traj, rotation_margins(motion_file, n, w, h), targets)
    print(json.dumps(result))


if __name__ == "__main__":
    main()
