"""DetectLabels' IMAGE_PROPERTIES feature, measured from the pixels (no model).

Quality: Brightness is mean luma, Sharpness the variance of the Laplacian squashed onto 0–100,
Contrast the RMS contrast of the luma; all 0–100, higher is brighter, sharper, more contrasted.
DominantColors: k-means over a sample of the pixels, each colour named by its nearest CSS3 colour
(webcolors' table) and by a coarse simplified colour, with the share of pixels it covers.
Foreground/Background need a saliency or segmentation model no package ships: not returned.
"""
from __future__ import annotations

import numpy as np
import webcolors

# Rekognition's simplified colour vocabulary, each with a representative RGB.
SIMPLIFIED = {
    "black": (0, 0, 0), "white": (255, 255, 255), "grey": (128, 128, 128), "red": (200, 30, 30),
    "orange": (240, 140, 20), "yellow": (240, 220, 40), "green": (40, 160, 60), "blue": (40, 80, 200),
    "purple": (130, 50, 160), "pink": (240, 150, 190), "brown": (130, 80, 40), "teal": (20, 140, 140),
}
_SHARPNESS_SCALE = 300.0  # Laplacian variance at which Sharpness reaches ~63


def _luma(image: np.ndarray) -> np.ndarray:
    rgb = image.astype(np.float32)
    return 0.299 * rgb[..., 0] + 0.587 * rgb[..., 1] + 0.114 * rgb[..., 2]


def quality(image: np.ndarray) -> dict:
    luma = _luma(image)
    laplacian = (-4 * luma[1:-1, 1:-1] + luma[:-2, 1:-1] + luma[2:, 1:-1] + luma[1:-1, :-2] + luma[1:-1, 2:])
    variance = float(laplacian.var()) if laplacian.size else 0.0
    return {"Brightness": float(luma.mean() / 255 * 100),
            "Sharpness": float(100 * (1 - np.exp(-variance / _SHARPNESS_SCALE))),
            "Contrast": float(min(100.0, luma.std() / 127.5 * 100))}


def _nearest(rgb: np.ndarray, table: dict[str, tuple[int, int, int]]) -> str:
    names = list(table)
    values = np.array([table[n] for n in names], dtype=np.float32)
    return names[int(np.argmin(((values - rgb) ** 2).sum(axis=1)))]


def _css_table() -> dict[str, tuple[int, int, int]]:
    return {name: tuple(webcolors.name_to_rgb(name, spec="css3")) for name in webcolors.names("css3")}


def dominant_colors(image: np.ndarray, max_colors: int = 10, seed: int = 0) -> list[dict]:
    """Up to max_colors colours by share of the pixels, largest first (k-means, 10 rounds)."""
    if max_colors <= 0:
        return []
    pixels = image.reshape(-1, 3).astype(np.float32)
    rng = np.random.default_rng(seed)
    if len(pixels) > 20_000:
        pixels = pixels[rng.choice(len(pixels), 20_000, replace=False)]
    k = min(max_colors, len(np.unique(pixels, axis=0)))
    centres = pixels[rng.choice(len(pixels), k, replace=False)]
    for _ in range(10):
        nearest = ((pixels[:, None, :] - centres[None]) ** 2).sum(axis=2).argmin(axis=1)
        for j in range(k):
            members = pixels[nearest == j]
            if len(members):
                centres[j] = members.mean(axis=0)
    counts = np.bincount(nearest, minlength=k)
    css = _css_table()
    colors = []
    for j in np.argsort(-counts):
        if counts[j] == 0:
            continue
        red, green, blue = (round(float(v)) for v in centres[j])
        colors.append({"Red": red, "Green": green, "Blue": blue, "HexCode": f"#{red:02x}{green:02x}{blue:02x}",
                       "CSSColor": _nearest(centres[j], css), "SimplifiedColor": _nearest(centres[j], SIMPLIFIED),
                       "PixelPercent": float(counts[j] / counts.sum() * 100)})
    return colors


def image_properties(image: np.ndarray, max_colors: int = 10) -> dict:
    return {"Quality": quality(image), "DominantColors": dominant_colors(image, max_colors)}
