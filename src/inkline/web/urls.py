from django.urls import path

from inkline.web.views import automation, billing, planner, publishing, refresh, review, sites

app_name = "web"
urlpatterns = [
    path("", sites.home, name="home"),
    path("sites/new/", sites.site_new, name="site_create"),
    path("sites/<id:site_id>/", automation.dashboard, name="dashboard"),
    path("sites/<id:site_id>/settings/", sites.site_settings, name="site_settings"),
    path("sites/<id:site_id>/settings/ai-check/", sites.ai_check, name="ai_check"),
    path(
        "sites/<id:site_id>/settings/publisher-check/",
        sites.publisher_check,
        name="publisher_check",
    ),
    path("sites/<id:site_id>/live/", automation.dashboard_live, name="dashboard_live"),
    path("sites/<id:site_id>/runs/", automation.run_start, name="run_start"),
    path(
        "sites/<id:site_id>/automation/",
        automation.automation_settings,
        name="automation_settings",
    ),
    path("sites/<id:site_id>/publishing/", publishing.settings_page, name="publishing_settings"),
    path("sites/<id:site_id>/publishing/preview/", publishing.preview, name="publishing_preview"),
    path("sites/<id:site_id>/publishing/week/", publishing.queue_week, name="queue_week"),
    path("sites/<id:site_id>/ai-budget/", billing.ai_budget, name="ai_budget"),
    path("sites/<id:site_id>/keywords/", planner.keywords, name="keywords"),
    path(
        "sites/<id:site_id>/keywords/imports/<uuid:job_id>/",
        planner.import_job,
        name="import_job",
    ),
    path("sites/<id:site_id>/clusters/", planner.clusters, name="clusters"),
    path("sites/<id:site_id>/ideas/", planner.ideas, name="ideas"),
    path("sites/<id:site_id>/tasks/", planner.tasks, name="tasks"),
    path("sites/<id:site_id>/review/", review.review, name="review"),
    path("content/<id:content_id>/", publishing.article, name="article"),
    path(
        "content/<id:content_id>/unschedule/",
        publishing.content_unschedule,
        name="content_unschedule",
    ),
    path("content/<id:content_id>/approve/", review.content_approve, name="content_approve"),
    path("content/<id:content_id>/reject/", review.content_reject, name="content_reject"),
    path("content/<id:content_id>/refresh/", refresh.content_refresh, name="content_refresh"),
    path("sites/<id:site_id>/refresh/", refresh.site_refresh, name="site_refresh"),
    path("revisions/<id:revision_id>/", refresh.revision, name="revision"),
    path("revisions/<id:revision_id>/approve/", refresh.revision_approve, name="revision_approve"),
    path("revisions/<id:revision_id>/reject/", refresh.revision_reject, name="revision_reject"),
    path("revisions/<id:revision_id>/retry/", refresh.revision_retry, name="revision_retry"),
    path("runs/<key:run_id>/", automation.run_detail, name="run_detail"),
    path("runs/<key:run_id>/live/", automation.run_detail_live, name="run_detail_live"),
    path("runs/<key:run_id>/log/", automation.run_log, name="run_log"),
    path("runs/<key:run_id>/pause/", automation.run_pause, name="run_pause"),
    path("runs/<key:run_id>/resume/", automation.run_resume, name="run_resume"),
    path("runs/<key:run_id>/cancel/", automation.run_cancel, name="run_cancel"),
    path("credits/", billing.credits, name="credits"),
]
