"""Range-read benchmark: GET /api/videos/{id}/figures/?frames=a..b over 100k stored figures.

Target: a 1,000-frame window answers in < 100 ms through the full Django request path (URL
routing, session auth, role check, query, JSON). Builds a throwaway database (a temporary SQLite
file, or a test database on the server DATABASE_URL names), stores 20 tracks x 5,000 frames =
100,000 box figures, then times ~20 requests for different windows with the Django test Client.
For context it also times the same read done the plain way (model instances + a DRF
ModelSerializer), which is what the fast path replaces.

    .venv/bin/python benchmarks/figures_range.py [--tracks 20] [--frames 5000] [--window 1000] [--runs 20]
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "trackroom.settings")
TARGET_MS = 100.0


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(q * (len(ordered) - 1))))
    return ordered[index]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tracks", type=int, default=20)
    parser.add_argument("--frames", type=int, default=5000)
    parser.add_argument("--window", type=int, default=1000)
    parser.add_argument("--runs", type=int, default=20)
    args = parser.parse_args()

    tmp = tempfile.TemporaryDirectory(prefix="trackroom-bench-")
    os.environ.setdefault("TRACKROOM_DATA_DIR", tmp.name)
    import django

    django.setup()
    from django.conf import settings
    from django.db import connection

    if connection.vendor == "sqlite":
        connection.settings_dict["TEST"]["NAME"] = str(Path(tmp.name) / "bench.sqlite3")
    settings.ALLOWED_HOSTS = [*settings.ALLOWED_HOSTS, "testserver"]
    settings.DEBUG = False  # as in production; DEBUG also logs (and formats) every SQL statement
    old_name = connection.creation.create_test_db(verbosity=0, autoclobber=True)
    try:
        return run(args)
    finally:
        connection.creation.destroy_test_db(old_name, verbosity=0)
        tmp.cleanup()


def run(args) -> int:
    from django.contrib.auth import get_user_model
    from django.db import connection, transaction
    from django.test import Client
    from django.utils import timezone
    from rest_framework import serializers
    from rest_framework.renderers import JSONRenderer

    from labeling.models import Figure, LabelClass, Track, Video
    from labeling.services.projects import project_create

    user = get_user_model().objects.create(username="bench")
    project = project_create(user=user, name="bench")
    video = Video.objects.create(
        project=project, name="bench.mp4", file="videos/bench.mp4", fps=25, frame_count=args.frames,
        width=1920, height=1080, size=1, checksum="0" * 64,
    )  # fmt: skip
    label = LabelClass.objects.create(project=project, name="person")
    tracks = Track.objects.bulk_create(
        [Track(video=video, label=label, number=n + 1) for n in range(args.tracks)]
    )
    rng = random.Random(1)
    started = time.perf_counter()
    # Multi-row INSERTs of plain values: many times quicker than bulk_create for 100k figures.
    data_field = Figure._meta.get_field("data")
    now = timezone.now()
    head = (
        f"INSERT INTO {Figure._meta.db_table} (track_id, video_id, frame, x1, y1, x2, y2, data, is_keyframe, "
        "outside, source, confidence, version, created_at, updated_at) VALUES "
    )
    placeholders = "(" + ", ".join(["%s"] * 15) + ")"
    with transaction.atomic(), connection.cursor() as cursor:
        for track in tracks:
            x, y = rng.uniform(0, 1700), rng.uniform(0, 900)
            rows = []
            for frame in range(args.frames):
                x = min(1800.0, max(0.0, x + rng.uniform(-3, 3)))
                y = min(900.0, max(0.0, y + rng.uniform(-2, 2)))
                box = {"x1": round(x, 2), "y1": round(y, 2), "x2": round(x + 80, 2), "y2": round(y + 170, 2)}
                rows.append((
                    track.pk, video.pk, frame, box["x1"], box["y1"], box["x2"], box["y2"],
                    data_field.get_db_prep_value(box, connection), False, False, "detector",
                    round(rng.random(), 3), 1, now, now,
                ))  # fmt: skip
            for i in range(0, len(rows), 1000):
                batch = rows[i : i + 1000]
                cursor.execute(head + ", ".join([placeholders] * len(batch)), [v for row in batch for v in row])
    stored = Figure.objects.filter(video=video).count()
    print(f"database: {connection.vendor}; stored {stored:,} figures "
          f"({args.tracks} tracks x {args.frames} frames) in {time.perf_counter() - started:.1f} s")  # fmt: skip
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE labeling_figure")

    client = Client()
    client.force_login(user)
    starts = [rng.randrange(0, args.frames - args.window + 1) for _ in range(args.runs)]

    def fast(first: int):
        response = client.get(f"/api/videos/{video.pk}/figures/?frames={first}..{first + args.window - 1}")
        assert response.status_code == 200, response.content[:300]
        return response

    first_body = json.loads(fast(starts[0]).content)  # warm-up, and check what comes back
    expected = min(args.window, args.frames) * args.tracks
    assert len(first_body["figures"]) == expected, (len(first_body["figures"]), expected)
    size = len(fast(starts[0]).content)

    timings, cpu = [], []
    for first in starts:
        t0, c0 = time.perf_counter(), time.process_time()
        fast(first)
        timings.append((time.perf_counter() - t0) * 1000)
        cpu.append((time.process_time() - c0) * 1000)

    # The same window without the stored doc column: each object built at read time (the session-1
    # fast path: SQLite json_object per row; PostgreSQL plain columns formatted in Python).
    from labeling import selectors

    def built_at_read(first: int) -> str:
        last = first + args.window - 1
        query = Figure.objects.filter(video=video, frame__gte=first, frame__lte=last).order_by("frame", "id")
        if connection.vendor == "sqlite":
            from django.db.models.expressions import RawSQL

            sql, params = query.values_list(RawSQL(selectors._SQLITE_BUILD, ())).query.sql_with_params()
            with connection.cursor() as cursor:
                cursor.execute(sql, params)
                return "[" + ",".join(r[0] for r in cursor.fetchall()) + "]"
        template = ('{"id":%d,"track":%d,"frame":%d,"is_keyframe":%s,"outside":%s,"source":"%s",'
                    '"confidence":%s,"version":%d,"data":%s}')  # fmt: skip
        sql, params = query.values_list(*selectors._RANGE_COLUMNS, "data").query.sql_with_params()
        sql = sql.replace('"labeling_figure"."data"', '"labeling_figure"."data"::text')
        with connection.cursor() as cursor:
            cursor.execute(sql, params)
            rows = cursor.fetchall()
        b = ("false", "true")
        return "[" + ",".join(template % (i, t, f, b[k], b[o], src, "null" if c is None else repr(c), v, d)
                              for i, t, f, k, o, src, c, v, d in rows) + "]"  # fmt: skip

    stored, built = [], []
    for first in starts:
        t0 = time.perf_counter()
        selectors.figures_in_range_json(video.pk, first, first + args.window - 1)
        stored.append((time.perf_counter() - t0) * 1000)
        t0 = time.perf_counter()
        built_at_read(first)
        built.append((time.perf_counter() - t0) * 1000)
    assert json.loads(built_at_read(starts[0])) == json.loads(selectors.figures_in_range_json(
        video.pk, starts[0], starts[0] + args.window - 1))  # fmt: skip

    class PlainFigureSerializer(serializers.ModelSerializer):
        class Meta:
            model = Figure
            fields = ["id", "track", "frame", "x1", "y1", "x2", "y2", "is_keyframe", "outside", "source",
                      "confidence", "version", "data"]  # fmt: skip

    plain = []
    for first in starts[:3]:
        t0 = time.perf_counter()
        rows = Figure.objects.filter(video=video, frame__gte=first, frame__lte=first + args.window - 1).order_by(
            "frame", "track_id"
        )
        JSONRenderer().render({"figures": PlainFigureSerializer(rows, many=True).data})
        plain.append((time.perf_counter() - t0) * 1000)

    median, p95 = statistics.median(timings), percentile(timings, 0.95)
    cpu_median, cpu_p95 = statistics.median(cpu), percentile(cpu, 0.95)
    print(f"window: {args.window} frames = {expected:,} figures, {size / 1e6:.1f} MB of JSON; {args.runs} runs")
    print(f"machine: {os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f} (CPU time = this process only)\n")
    print(f"{'read':<48}{'median ms':>10}{'p95 ms':>10}{'vs 100 ms target':>18}")
    print(f"{'GET /api/videos/{id}/figures/ (full request)':<48}{median:>10.1f}{p95:>10.1f}"
          f"{median / TARGET_MS:>17.2f}x")  # fmt: skip
    print(f"{'  same, CPU time of this process':<48}{cpu_median:>10.1f}{cpu_p95:>10.1f}"
          f"{cpu_median / TARGET_MS:>17.2f}x")  # fmt: skip
    print(f"{'  the query alone: stored doc (this path)':<48}{statistics.median(stored):>10.1f}"
          f"{percentile(stored, 0.95):>10.1f}{statistics.median(stored) / TARGET_MS:>17.2f}x")  # fmt: skip
    print(f"{'  the query alone: objects built at read time':<48}{statistics.median(built):>10.1f}"
          f"{percentile(built, 0.95):>10.1f}{statistics.median(built) / TARGET_MS:>17.2f}x")  # fmt: skip
    print(f"{'plain ORM + DRF ModelSerializer (no HTTP)':<48}{statistics.median(plain):>10.1f}{max(plain):>10.1f}"
          f"{statistics.median(plain) / TARGET_MS:>17.2f}x")  # fmt: skip
    print(f"\nstored doc vs built at read time: {statistics.median(built) / statistics.median(stored):.1f}x faster; "
          f"full request vs plain ORM+DRF: {statistics.median(plain) / median:.1f}x faster")
    print(f"target {'MET' if p95 < TARGET_MS else 'NOT met'} (p95 {p95:.1f} ms vs {TARGET_MS:.0f} ms)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
