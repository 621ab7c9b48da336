"""Errors whose messages are meant for people (CLI output, API 400 bodies)."""


class TrackroomError(Exception):
    """Base class; ``str(error)`` is a complete sentence a user can act on."""


class VideoError(TrackroomError):
    """The file is not a video we can decode frame-exactly (missing, corrupt, zero frames, …)."""


class WeightsNotFoundError(TrackroomError):
    """A model weights file does not exist locally (nothing is ever downloaded)."""


class ModelLoadError(TrackroomError):
    """A weights file exists but is not a loadable model."""


class UnknownNameError(TrackroomError):
    """An unknown tracker / detector / frame-source name was asked for."""

    def __init__(self, kind: str, name: str, known: list[str]):
        super().__init__(f"Unknown {kind} '{name}'. Choose one of: {', '.join(sorted(known))}.")
        self.kind, self.name, self.known = kind, name, known


class Cancelled(TrackroomError):
    """Raised inside a job-shaped generator when its cancel token is set."""
