from django.apps import AppConfig


class PlannerConfig(AppConfig):
    name = "inkline.planner"
    label = "planner"

    def ready(self) -> None:
        # Registers the Celery tasks in every process (web included): services wake
        # `execute_import` by name, since its module calls them.
        from inkline.planner import tasks  # noqa: F401
