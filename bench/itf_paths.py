#!/usr/bin/python3
"""What ITF a camera path can reach without fill at a given static zoom, and what it costs in jitter.

usage: /usr/bin/python3 itf_paths.py ANCHORS_DIR VIDEO TRUTH_JSON ZOOM WORK_DIR [--steady MOTION_JSON]
       [--ffmpeg /usr/bin/ffmpeg]

The anchors' ITF (metrics.py) is the MEAN over frames of the PSNR between consecutive output frames: a mean
of logarithms of the frame-to-frame error. A path that holds still for some frames and catches up in others
scores higher than a path that moves evenly with the same total motion, while the same path raises the
window-free >= 1 Hz velocity measure that metrics.py reports next to it. This script measures that trade-off
on a synthetic clip, whose true camera motion is known (make_shaky.py's truth: the best motion any tool could
find), by solving for camera paths under several objectives, rendering each and measuring it with the
anchors' own scripts.

Paths. The output's view of frame k is the similarity O_k (output pixel -> pixel of frame 0):
    O_k(u) = c_k + R(phi_k) (u - m) / z        (m: frame centre, z: the static zoom)
and the correction the warp applies is C_k = W_to0[k] O_k (output pixel -> pixel of frame k). No fill: the
four output corners map inside frame k, with MARGIN_PX to spare; linear in (c_k, phi_k) after linearising
the rotation about a reference angle (solved twice, the second time about the first solution's angles; the
exact corners are checked after). Objectives over the path (c_x, c_y, rho phi), rho^2 = E|u - m|^2 / z^2 so
that a rotation counts as the mean squared pixel displacement it causes (what the PSNR sees):
    velocity     sum_k w_k |d_k|^2, d_k = the step from frame k-1 to k; w_k = 1 (quadratic), or the
                 reweighting w_k = 1 / (s^2 + |d_k|^2) of a log penalty (iteratively reweighted least
                 squares): a sparse-motion path, closest to maximising the mean of log errors
    hf           the 31-frame moving-average residual metrics.py measures (x, y)
    hz1          the >= 1 Hz content of the steps, as metrics.py's hf_velocity (x, y)
The problem is a convex quadratic programme solved by ADMM in the form of OSQP (B. Stellato et al., "OSQP:
an operator splitting solver for quadratic programs", Math. Prog. Comp. 2020) with one sparse LU.

Each path is rendered from the input (OpenCV bilinear, the same libx264 veryfast crf 18 as the benchmark)
and measured by metrics.py's analyse(); fill is the share of frames with an exact output corner more than
1 px outside its frame (zoomfill.py's rule, computed from the correction itself). --steady re-renders
steady's own corrections from its motion file through the same renderer, which checks the renderer against
steady's real output. One more row renders the clip's true intended camera (its smooth path, no jitter) at the
zoom, with fill wherever that view leaves the frame: a perfect stabilizer that accepts fill. Prints one JSON
line per path.
"""
import argparse
import json
import os
import subprocess
import sys

import numpy as np
import scipy.sparse as sp
import scipy.sparse.linalg as sla

MARGIN_PX = 0.05
WIN = 31
FPS_CUT_HZ = 1.0
ADMM_ITERATIONS = 4000

# Objectives measured, in this order: (name, weights). v: velocity, hf: moving-average residual,
# hz1: >= 1 Hz step content, sparse: log-penalty reweighting rounds and its s (output px).
OBJECTIVES = [
    ("shortest path (velocity only)", {"v": 1.0}),
    ("smooth: velocity + 0.3 hf + 0.3 hz1", {"v": 1.0, "hf": 0.3, "hz1": 0.3}),
    ("sparse velocity + 0.3 hf", {"v": 1.0, "hf": 0.3, "sparse": 6, "s": 0.1}),
    ("sparse velocity + 0.3 hf + 0.3 hz1", {"v": 1.0, "hf": 0.3, "hz1": 0.3, "sparse": 6, "s": 0.1}),
    ("sparse velocity + 0.3 hf + 1 hz1", {"v": 1.0, "hf": 0.3, "hz1": 1.0, "sparse": 6, "s": 0.1}),
]


def rot(a):
    c, s = np.cos(a), np.sin(a)
    return np.array([[c, -s], [s, c]])


def drot(a):
    c, s = np.cos(a), np.sin(a)
    return np.array([[-s, -c], [c, -s]])


def first_differences(n):
    return sp.diags([-np.ones(n - 1), np.ones(n - 1)], [0, 1], shape=(n - 1, n), format="csr")


def hf_matrix(n):
    """(H y)_i = y_k - mean(y[k-15 .. k+15]) over the frames metrics.py counts."""
    r = WIN // 2
    H = sp.lil_matrix((max(0, n - 2 * r), n))
    for i, k in enumerate(range(r, n - r)):
        H[i, k - r:k + r + 1] = -1.0 / WIN
        H[i, k] += 1.0
    return H.tocsr()


def hz1_matrix(n, fps):
    """Steps (first differences) high-passed at FPS_CUT_HZ as hf_velocity does (mean removed, FFT mask)."""
    m = n - 1
    eye = np.eye(m)
    F = np.fft.rfft(eye - eye.mean(0), axis=0)
    F[np.fft.rfftfreq(m, 1.0 / fps) < FPS_CUT_HZ] = 0
    return sp.csr_matrix(np.fft.irfft(F, n=m, axis=0)) @ first_differences(n)


class Geometry:
    def __init__(self, truth, zoom):
        self.w, self.h = truth["width"], truth["height"]
        self.A = [np.array(M, np.float64) for M in truth["W_to0"]]
        self.n = len(self.A)
        self.z = zoom
        self.m = np.array([(self.w - 1) / 2, (self.h - 1) / 2])
        self.corners = [np.array([sx * (self.w - 1) / 2, sy * (self.h - 1) / 2]) for sx in (-1, 1) for sy in (-1, 1)]
        # Mean squared distance of an output pixel from the centre, in frame-0 pixels.
        self.rho2 = ((self.w ** 2 + self.h ** 2) / 12.0) / zoom ** 2

    def constraints(self, phibar):
        """Rows l <= A x <= u of the no-fill constraint, x = [c_x (n), c_y (n), phi (n)]."""
        n, rows, cols, vals, lo, hi = self.n, [], [], [], [], []
        r = 0
        for k in range(n):
            Q, t = self.A[k][:2, :2], self.A[k][:2, 2]
            R0, R1 = rot(phibar[k]), drot(phibar[k])
            for d in self.corners:
                const = Q @ (R0 @ d - phibar[k] * (R1 @ d)) / self.z + t
                g = Q @ (R1 @ d) / self.z
                for j, size in ((0, self.w), (1, self.h)):
                    rows += [r, r, r]
                    cols += [k, n + k, 2 * n + k]
                    vals += [Q[j, 0], Q[j, 1], g[j]]
                    lo.append(MARGIN_PX - const[j])
                    hi.append(size - 1 - MARGIN_PX - const[j])
                    r += 1
        return sp.csc_matrix((vals, (rows, cols)), shape=(r, 3 * n)), np.array(lo), np.array(hi)

    def corrections(self, x):
        n = self.n
        out = []
        for k in range(n):
            O = np.eye(3)
            O[:2, :2] = rot(x[2 * n + k]) / self.z
            O[:2, 2] = np.array([x[k], x[n + k]]) - rot(x[2 * n + k]) @ self.m / self.z
            out.append(self.A[k] @ O)
        return out

    def fill_share(self, C):
        """Share of frames with an output corner more than 1 px outside its frame (exact, no linearising)."""
        bad = 0
        for M in C:
            pts = [M[:2, :2] @ (self.m + d) + M[:2, 2] for d in self.corners]
            if any(p[0] < -1 or p[1] < -1 or p[0] > self.w - 1 + 1 or p[1] > self.h - 1 + 1 for p in pts):
                bad += 1
        return bad / len(C)


def admm_qp(P, A, lo, hi, x0):
    """min 1/2 x'Px s.t. lo <= Ax <= hi (OSQP's iteration, fixed rho and sigma)."""
    sigma, rho, alpha = 1e-6, 0.1, 1.6
    K = (P + sigma * sp.eye(P.shape[0]) + rho * (A.T @ A)).tocsc()
    lu = sla.splu(K)
    x = x0.copy()
    z = np.clip(A @ x, lo, hi)
    y = np.zeros(A.shape[0])
    for _ in range(ADMM_ITERATIONS):
        xt = lu.solve(sigma * x + A.T @ (rho * z - y))
        zt = A @ xt
        x = alpha * xt + (1 - alpha) * x
        zn = np.clip(alpha * zt + (1 - alpha) * z + y / rho, lo, hi)
        y = y + rho * (alpha * zt + (1 - alpha) * z - zn)
        z = zn
    return x


def solve_path(geo, fps, weights):
    n = geo.n
    D1 = first_differences(n)
    H = hf_matrix(n)
    Hz = hz1_matrix(n, fps)
    step_w = np.ones(n - 1)
    x = np.concatenate([np.full(n, geo.m[0]), np.full(n, geo.m[1]), np.zeros(n)])
    rounds = 1 + int(weights.get("sparse", 0))
    for _ in range(rounds):
        V = D1.T @ sp.diags(step_w) @ D1
        Lxy = weights.get("v", 0) * V + weights.get("hf", 0) * (H.T @ H) + weights.get("hz1", 0) * (Hz.T @ Hz)
        P = sp.block_diag([Lxy, Lxy, geo.rho2 * weights.get("v", 0) * V]).tocsc()
        for _linearise in range(2):
            A, lo, hi = geo.constraints(x[2 * n:])
            x = admm_qp(P, A, lo, hi, x)
        if "sparse" in weights:
            s = weights["s"] / geo.z  # output px -> frame-0 px
            d2 = np.diff(x[:n]) ** 2 + np.diff(x[n:2 * n]) ** 2 + geo.rho2 * np.diff(x[2 * n:]) ** 2
            step_w = 1.0 / (s * s + d2)
            step_w /= step_w.mean()
    return geo.corrections(x)


def render(video, C, out, ffmpeg):
    import cv2

    cap = cv2.VideoCapture(video)
    w, h = int(cap.get(cv2.CAP_PROP_FRAME_WIDTH)), int(cap.get(cv2.CAP_PROP_FRAME_HEIGHT))
    fps = cap.get(cv2.CAP_PROP_FPS) or 30
    cmd = [ffmpeg, "-v", "error", "-y", "-f", "rawvideo", "-pix_fmt", "bgr24", "-s", f"{w}x{h}", "-r", str(fps),
           "-i", "-", "-c:v", "libx264", "-preset", "veryfast", "-crf", "18", "-pix_fmt", "yuv420p", out]
    enc = subprocess.Popen(cmd, stdin=subprocess.PIPE)
    k = 0
    while k < len(C):
        ok, frame = cap.read()
        if not ok:
            break
        o = cv2.warpAffine(frame, np.asarray(C[k], np.float64)[:2], (w, h),
                           flags=cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP, borderMode=cv2.BORDER_CONSTANT)
        enc.stdin.write(o.tobytes())
        k += 1
    enc.stdin.close()
    if enc.wait() != 0:
        raise RuntimeError(f"ffmpeg failed encoding {out}")


def measure(metrics, video, C, geo, label):
    r = metrics.analyse(video)
    return {"path": label, "itf_db": r["itf_db"], "hf_jitter_xy_px": r["hf_jitter"]["xy_px"],
            "hf_roll_deg": r["hf_jitter"]["theta_deg"], "hz1_xy_px": r["hf_vel_1hz"]["xy_px"],
            "hz1_roll_deg": r["hf_vel_1hz"]["theta_deg"], "step_px": r["step_px"], "fill_share": geo.fill_share(C)}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("anchors")
    ap.add_argument("video")
    ap.add_argument("truth")
    ap.add_argument("zoom", type=float)
    ap.add_argument("work")
    ap.add_argument("--steady", default="")
    ap.add_argument("--ffmpeg", default="/usr/bin/ffmpeg")
    a = ap.parse_args()
    sys.path.insert(0, a.anchors)
    import metrics

    truth = json.load(open(a.truth))
    geo = Geometry(truth, a.zoom)
    os.makedirs(a.work, exist_ok=True)
    if a.steady:
        motion = json.load(open(a.steady))
        C = [np.array(f["correction"], np.float64) for f in motion["frames"]]
        out = os.path.join(a.work, "steady_rerendered.mp4")
        render(a.video, C, out, a.ffmpeg)
        print(json.dumps(measure(metrics, out, C, geo, "steady's corrections, re-rendered")), flush=True)
    # The clip's own intended camera (make_shaky.py's smooth path, no jitter at all) at this zoom, with
    # fill wherever it falls outside the frame: what a perfect stabilizer that accepts fill would show.
    Z = np.array([[1 / a.zoom, 0, geo.m[0] * (1 - 1 / a.zoom)], [0, 1 / a.zoom, geo.m[1] * (1 - 1 / a.zoom)], [0, 0, 1]])
    C = [np.array(M, np.float64) @ Z for M in truth["correction"]]
    out = os.path.join(a.work, "ideal.mp4")
    render(a.video, C, out, a.ffmpeg)
    print(json.dumps(measure(metrics, out, C, geo, "the true intended camera, fill allowed")), flush=True)
    for i, (label, weights) in enumerate(OBJECTIVES):
        C = solve_path(geo, truth["fps"], weights)
        out = os.path.join(a.work, f"path{i}.mp4")
        render(a.video, C, out, a.ffmpeg)
        print(json.dumps(measure(metrics, out, C, geo, label)), flush=True)


if __name__ == "__main__":
    sys.exit(main())
