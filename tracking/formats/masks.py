"""Mask run-length encodings.

* Trackroom / COCO uncompressed RLE: ``{"size": [h, w], "counts": [...]}``, column-major, the first
  run counts background pixels.
* CVAT for video 1.1: ``rle`` is the runs over the mask's bounding box (``left, top, width,
  height``) in row-major order, also starting with background.
"""

from __future__ import annotations

import numpy as np


def runs(flat: np.ndarray) -> list[int]:
    """Run lengths of a flat boolean array, starting with a (possibly empty) background run."""
    flat = flat.astype(np.uint8)
    if flat.size == 0:
        return [0]
    change = np.flatnonzero(np.diff(flat)) + 1
    bounds = np.concatenate([[0], change, [flat.size]])
    lengths = np.diff(bounds).tolist()
    if flat[0]:
        lengths.insert(0, 0)
    return [int(v) for v in lengths]


def decode_runs(counts: list[int], size: int) -> np.ndarray:
    if sum(counts) != size:
        raise ValueError(f"run lengths add up to {sum(counts)} pixels, expected {size}")
    values = np.zeros(len(counts), np.uint8)
    values[1::2] = 1
    return np.repeat(values, counts).astype(bool)


def coco_to_array(size: list[int], counts: list[int]) -> np.ndarray:
    h, w = size
    return decode_runs(counts, h * w).reshape(w, h).T


def array_to_coco(mask: np.ndarray) -> dict:
    h, w = mask.shape
    return {"size": [int(h), int(w)], "counts": runs(mask.T.reshape(-1))}


def array_to_cvat(mask: np.ndarray) -> tuple[list[int], int, int, int, int]:
    """(runs, left, top, width, height) of the mask's bounding box, row-major."""
    ys, xs = np.nonzero(mask)
    if ys.size == 0:
        raise ValueError("empty mask")
    top, bottom, left, right = int(ys.min()), int(ys.max()), int(xs.min()), int(xs.max())
    crop = mask[top : bottom + 1, left : right + 1]
    return runs(crop.reshape(-1)), left, top, right - left + 1, bottom - top + 1


def cvat_to_array(counts: list[int], left: int, top: int, width: int, height: int, frame_h: int, frame_w: int):
    crop = decode_runs(counts, width * height).reshape(height, width)
    if left < 0 or top < 0 or left + width > frame_w or top + height > frame_h:
        raise ValueError(f"the mask's box ({left}, {top}, {width}x{height}) is not inside the {frame_w}x{frame_h} video")
    mask = np.zeros((frame_h, frame_w), bool)
    mask[top : top + height, left : left + width] = crop
    return mask


def coco_bbox(size: list[int], counts: list[int]) -> tuple[float, float, float, float]:
    mask = coco_to_array(size, counts)
    ys, xs = np.nonzero(mask)
    if ys.size == 0:
        raise ValueError("empty mask")
    return float(xs.min()), float(ys.min()), float(xs.max() + 1), float(ys.max() + 1)
