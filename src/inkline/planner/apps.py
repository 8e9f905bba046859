from django.apps import AppConfig


class PlannerConfig(AppConfig):
    name = "inkline.planner"
    label = "planner"
