"""Probe (issue 23): can parts that are not long be registered to each other by the polar correlation of their edges, and do the goldens' turns add up (cycle consistency)? Env: SIGNAL=grad|gray, RING_POWER, BLUR_DIV (blur sigma = radius / BLUR_DIV). Run: python benchmarks/registration_probe.py [demo]"""
import sys, itertools, os
from pathlib import Path
import numpy as np, cv2
from inspectd.detector.settings import DetectorSettings
from inspectd.detector.fit import golden_input_shape, golden_outline
from inspectd.detector.features import resize_to
from inspectd.detector.pose import _axis
from inspectd.detector.augment import rotate
from inspectd.evaluation.dataset import draw_shots
from inspectd.images import image_files, read_rgb

ANGLES = 360

def polar(frame, centre, radius):
    gray = cv2.cvtColor(frame, cv2.COLOR_RGB2GRAY).astype(np.float32)
    gray = cv2.GaussianBlur(gray, (0, 0), max(1.0, radius / float(os.environ.get("BLUR_DIV", "24"))))
    gx, gy = cv2.Sobel(gray, cv2.CV_32F, 1, 0), cv2.Sobel(gray, cv2.CV_32F, 0, 1)
    mag = np.hypot(gx, gy) if os.environ.get("SIGNAL", "grad") == "grad" else gray
    radial = max(8, int(radius))
    p = cv2.warpPolar(mag, (radial, ANGLES), centre, radius, cv2.WARP_POLAR_LINEAR | cv2.INTER_LINEAR | cv2.WARP_FILL_OUTLIERS)
    p = p - p.mean(0, keepdims=True)
    power = float(os.environ.get("RING_POWER", "0"))
    ring = np.linalg.norm(p, axis=0, keepdims=True) + 1e-6
    p = p / ring ** power
    p /= np.linalg.norm(p) + 1e-9
    return p  # [angles, radii]

def register(a, b):
    """degrees d such that b looks like a turned by d (rows shift)"""
    spec = np.fft.rfft(a, axis=0) * np.conj(np.fft.rfft(b, axis=0))
    corr = np.fft.irfft(spec, n=ANGLES, axis=0).sum(1)
    k = int(np.argmax(corr))
    l, c, r = corr[(k - 1) % ANGLES], corr[k], corr[(k + 1) % ANGLES]
    off = 0.5 * (l - r) / (l - 2 * c + r) if (l - 2 * c + r) != 0 else 0.0
    second = np.sort(np.delete(corr, [(k + j) % ANGLES for j in range(-10, 11)]))[-1]
    return ((k + off) * 360.0 / ANGLES), float(c), float(second)

def centroid(mask):
    m = cv2.moments(mask.astype(np.uint8), binaryImage=True)
    if m["m00"] == 0:
        return ((mask.shape[1] - 1) / 2, (mask.shape[0] - 1) / 2)
    return (m["m10"] / m["m00"], m["m01"] / m["m00"])

def reach(mask, c):
    ys, xs = np.nonzero(mask)
    return float(np.sqrt(((xs - c[0]) ** 2 + (ys - c[1]) ** 2).max())) if len(xs) else 1.0

def wrap(d):
    return (d + 180.0) % 360.0 - 180.0

def study(frames, label):
    settings = DetectorSettings()
    outline = golden_outline(frames, settings)
    if outline is None:
        print(f"{label}: no outline"); return
    axes = [_axis(outline.weights(f)) for f in frames]
    elong = [s[0] / max(s[1], 1e-6) for _, s, _ in axes]
    masks = outline.outlines(np.stack(frames))
    cents = [centroid(m) for m in masks]
    radius = max(reach(m, c) for m, c in zip(masks, cents))
    polars = [polar(f, c, radius) for f, c in zip(frames, cents)]
    n = len(frames)
    ang = np.zeros((n, n)); peak = np.zeros((n, n))
    for i in range(n):
        for j in range(n):
            if i != j:
                a, c, s = register(polars[i], polars[j]); ang[i, j] = a; peak[i, j] = s / c
    cyc = 0.0
    for i, j, k in itertools.permutations(range(n), 3):
        cyc = max(cyc, abs(wrap(ang[i, j] + ang[j, k] - ang[i, k])))
    anti = max(abs(wrap(ang[i, j] + ang[j, i])) for i in range(n) for j in range(n) if i != j) if n > 1 else 0
    # self-test: golden turned
    selfmiss = 0.0
    for f, p in zip(frames, polars):
        for t in (23.0, 97.0, 211.0):
            g = rotate(f, t, border=cv2.BORDER_REPLICATE)
            cc = centroid(outline.outlines(g[None])[0])
            a, _, _ = register(p, polar(g, cc, radius))
            selfmiss = max(selfmiss, min(abs(wrap(a - t)), abs(wrap(a + t))))
    print(f"{label}: elong {min(elong):.2f}-{max(elong):.2f} cycle {cyc:6.2f} antisym {anti:6.2f} "
          f"self-miss {selfmiss:5.2f} ambiguity(2nd/1st) max {peak.max():.3f} median {np.median(peak[peak>0]):.3f}")

if __name__ == "__main__":
    root = Path("/work/shared/data")
    cats = ["mvtec_ad/bottle", "mvtec_ad/screw", "visa/fryum", "mpdd_resized512/metal_plate", "kolektorsdd/commutator",
            "lookout_for_vision/cookies", "mvtec_3d_rgb/tire", "mvtec_loco/juice_bottle", "magnetic_tile/magnetic_tile"]
    if sys.argv[1:] == ["demo"]:
        from inspectd.demo.parts import generate_line
        line = generate_line(7, 8, 16, 8)
        gold = [d.image for d in line["golden"]]
        for k in (3, 4, 8):
            study(gold[:k], f"demo k={k}")
        sys.exit()
    settings = DetectorSettings()
    for cat in cats:
        files = image_files(root / cat / "train" / "good")
        for shots in (4, 8):
            for seed in (0, 1, 2):
                imgs = [read_rgb(files[i]) for i in draw_shots(len(files), shots, seed)]
                shape = golden_input_shape(imgs, settings)
                study([resize_to(im, shape) for im in imgs], f"{cat} @{shots} s{seed}")
