"""Trackroom's tracking engine: plain Python, no Django.

Every part sits behind one small interface and is chosen by name:
  frame sources  -> tracking.video.open_video(path, backend=...)
  detectors      -> tracking.detectors.create_detector(name_or_weights, ...)
  MOT trackers   -> tracking.mot.create_tracker(name, **params)
  SOT trackers   -> tracking.sot.create_sot(name, ...)
Frame indices are 0-based everywhere inside the engine; MOTChallenge files are 1-based.
"""

from .runtime import set_process_environment

set_process_environment()
