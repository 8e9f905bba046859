"""Planner writes, by sub-domain: keyword import (and its background jobs), clustering
(stage 1), ideas (stages 2, 3)."""

from inkline.planner.services.clusters import KeywordGroup, clusters_assign
from inkline.planner.services.ideas import IdeaDraft, IdeasCreated, idea_queue, ideas_create
from inkline.planner.services.imports import (
    EXECUTE_IMPORT,
    import_job_cancel,
    import_job_create,
    import_job_execute,
    import_jobs_reconcile,
)
from inkline.planner.services.imports import (
    MAX_ATTEMPTS as MAX_IMPORT_ATTEMPTS,
)
from inkline.planner.services.keywords import (
    CsvInfo,
    ImportReport,
    csv_inspect,
    keywords_import_csv,
    keywords_import_rows,
)

__all__ = [
    "EXECUTE_IMPORT",
    "MAX_IMPORT_ATTEMPTS",
    "CsvInfo",
    "IdeaDraft",
    "IdeasCreated",
    "ImportReport",
    "KeywordGroup",
    "clusters_assign",
    "csv_inspect",
    "idea_queue",
    "ideas_create",
    "import_job_cancel",
    "import_job_create",
    "import_job_execute",
    "import_jobs_reconcile",
    "keywords_import_csv",
    "keywords_import_rows",
]
