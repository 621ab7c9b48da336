from django.apps import AppConfig


class LabelingConfig(AppConfig):
    name = "labeling"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self):
        # The job broker (Redis when REDIS_URL is set, else in memory) must exist before the actors are
        # declared, in every process: web (enqueues), workers (run), management commands.
        from trackroom.broker import setup_broker

        setup_broker()
        from labeling.jobs import actors  # noqa: F401 - registers the actors with the broker
