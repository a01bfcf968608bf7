"""Probe: frames of differing sizes placed at one pixel scale (reflect-padded onto a square canvas) before resizing."""
import os, sys
import cv2
import numpy as np
import inspectd.detector.features as features
import inspectd.detector.fit as fit
import inspectd.detector.detector as detector
import inspectd.evaluation.features_cache as fc

CANVAS = int(os.environ.get("CANVAS", "512"))
MODE = os.environ.get("PAD", "reflect")
original = features.resize_to

def canvas_resize(image, shape):
    if image.ndim == 2:
        image = np.repeat(image[:, :, None], 3, axis=2)
    h, w = image.shape[:2]
    if (h, w) != (CANVAS, CANVAS):
        s = min(1.0, CANVAS / max(h, w))
        if s < 1.0:
            image = cv2.resize(image, (round(w * s), round(h * s)), interpolation=cv2.INTER_AREA)
            h, w = image.shape[:2]
        top, left = (CANVAS - h) // 2, (CANVAS - w) // 2
        border = cv2.BORDER_REFLECT_101 if MODE == "reflect" else cv2.BORDER_REPLICATE
        while image.shape[0] < CANVAS or image.shape[1] < CANVAS:   # reflect needs pads < side
            h, w = image.shape[:2]
            t = min((CANVAS - h) // 2, h - 1); b = min(CANVAS - h - t, h - 1)
            l = min((CANVAS - w) // 2, w - 1); r = min(CANVAS - w - l, w - 1)
            image = cv2.copyMakeBorder(image, t, b, l, r, border)
    return original(image, shape)

def square(height, width, size, keep_aspect=True):
    return size, size

for module in (fit, detector, fc):
    module.resize_to = canvas_resize
for module in (fit, fc, features):
    module.input_shape = square

from inspectd.cli import app
app(sys.argv[1:])
