"""What the renderer draws for each annotation shape: polygons as polygons (not boxes), masks as a tinted
area with its outline, points with the label's own skeleton edges, an ID tag with a caption, trails."""

from __future__ import annotations

from collections import deque

import numpy as np

from tracking.render import DrawnObject, draw_objects, render_tracks, track_colour
from tracking.video import open_video

H, W = 200, 300


def canvas() -> np.ndarray:
    return np.full((H, W, 3), 30, np.uint8)


def is_colour(pixel, colour, tol=40) -> bool:
    return int(np.abs(pixel.astype(int) - np.array(colour)).max()) < tol


def near_colour(frame, x, y, colour, radius=1) -> bool:
    patch = frame[y - radius : y + radius + 1, x - radius : x + radius + 1].reshape(-1, 3)
    return any(is_colour(p, colour) for p in patch)


def test_a_polygon_is_drawn_as_a_polygon_not_its_box():
    triangle = np.array([[50, 150], [150, 50], [250, 150]], np.float32)
    obj = DrawnObject(4, np.array([50, 50, 250, 150], np.float32), 1.0, -1, shape="polygon", polygon=triangle)
    frame = draw_objects(canvas(), [obj])
    colour = track_colour(4)
    assert near_colour(frame, 100, 100, colour)  # on the edge (50,150)-(150,50)
    assert near_colour(frame, 150, 150, colour)  # on the base
    assert not near_colour(frame, 240, 60, colour, 0)  # the box's top-right corner: outside the triangle
    assert not near_colour(frame, 55, 55, colour, 0)
    inside, outside = frame[130, 150].astype(int), frame[60, 60].astype(int)
    assert np.abs(inside - 30).sum() > 30 and np.abs(outside - 30).sum() == 0  # tinted inside only


def test_a_mask_gets_its_outline_and_no_box():
    mask = np.zeros((H, W), bool)
    cv_circle = (np.arange(H)[:, None] - 100) ** 2 + (np.arange(W)[None, :] - 150) ** 2 <= 40**2
    mask[cv_circle] = True
    obj = DrawnObject(2, np.array([110, 60, 190, 140], np.float32), 1.0, -1, mask=mask, shape="mask")
    frame = draw_objects(canvas(), [obj], mask_alpha=0.5)
    colour = track_colour(2)
    assert near_colour(frame, 150, 60, colour) and near_colour(frame, 190, 100, colour)  # the circle's outline
    assert not near_colour(frame, 185, 135, colour, 0)  # the box corner is not drawn
    centre = frame[100, 150].astype(int)
    assert np.abs(centre - (30 * 0.5 + np.array(colour) * 0.5)).max() <= 2  # tinted half way


def test_points_use_the_labels_skeleton_edges():
    points = np.array([[60, 60, 1], [160, 60, 1], [160, 160, 1], [60, 160, 0]], np.float32)
    obj = DrawnObject(5, np.array([60, 60, 160, 160], np.float32), 1.0, -1, keypoints=points, shape="points",
                      edges=[(0, 1), (1, 2), (2, 3), (7, 8)])  # fmt: skip
    frame = draw_objects(canvas(), [obj])
    colour = track_colour(5)
    assert near_colour(frame, 110, 60, colour)  # edge 0-1
    assert near_colour(frame, 160, 110, colour)  # edge 1-2
    assert not near_colour(frame, 110, 160, colour, 0)  # edge 2-3: point 3 is absent
    assert not near_colour(frame, 60, 110, colour, 0)  # no edge 3-0, and no box side either
    assert near_colour(frame, 60, 60, colour) and not near_colour(frame, 60, 160, colour, 0)  # visible points only


def test_the_tag_carries_the_caption_and_the_trail_thickens_towards_now():
    plain = draw_objects(canvas(), [DrawnObject(3, np.array([100, 100, 140, 180], np.float32), 1.0, -1)])
    captioned = draw_objects(canvas(), [DrawnObject(3, np.array([100, 100, 140, 180], np.float32), 1.0, -1,
                                                    caption="pedestrian")])  # fmt: skip
    colour = track_colour(3)

    def tag_right_end(frame) -> int:  # the tag sits above the box, from its left edge (x=100)
        band = frame[80:99]
        xs = [x for x in range(W) if any(is_colour(band[y, x], colour) for y in range(band.shape[0]))]
        return max(xs)

    assert tag_right_end(captioned) > tag_right_end(plain) + 40

    trail = {3: deque((i, (20 + 20 * i, 30)) for i in range(8))}
    frame = draw_objects(canvas(), [], trail)
    thickness = lambda x: int(sum(is_colour(frame[y, x], colour) for y in range(20, 41)))  # noqa: E731
    assert 0 < thickness(30) < thickness(150)


def test_render_draws_shapes_into_the_webm(moving_boxes_clip, tmp_path):
    triangle = np.array([[40, 200], [100, 120], [160, 200]], np.float32)
    tracks = {f: [DrawnObject(6, np.array([40, 120, 160, 200], np.float32), 1.0, -1, shape="polygon",
                              polygon=triangle, caption="zone")] for f in range(10)}  # fmt: skip
    out = tmp_path / "shapes.webm"
    with open_video(moving_boxes_clip.path) as source:
        result = render_tracks(source, tracks, out, stop=10)
    assert result.frames == 10 and out.stat().st_size > 0
    import av

    with av.open(str(out)) as container:
        frames = [f.to_ndarray(format="bgr24") for f in container.decode(video=0)]
    assert len(frames) == 10
    assert near_colour(frames[5], 100, 200, track_colour(6), 2)  # the triangle's base survives VP9
