from django.apps import AppConfig


class AutomationConfigApp(AppConfig):
    name = "inkline.automation"
    label = "automation"

    def ready(self) -> None:
        # Registers the Celery tasks in every process (web included): services enqueue
        # `execute_run` by name, since its module imports the engine that calls them.
        from inkline.automation import tasks  # noqa: F401
