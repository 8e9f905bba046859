"""The shared cache on the database (INKLINE_CACHE_URL unset): Django's database cache, whose
counters are incremented atomically.

Login lockouts and the token throttle count in the `shared` cache (settings.CACHES), which
every web process sees. Django's `DatabaseCache.incr` reads the value and writes it back:
two processes counting the same failure at once would both write n + 1. Here the read and
the write happen in one transaction holding the row (SELECT … FOR UPDATE on PostgreSQL; on
SQLite the settings' IMMEDIATE transactions take the write lock when they begin).
"""

from __future__ import annotations

from typing import Any

from django.core.cache.backends.db import DatabaseCache
from django.db import connections, router, transaction


class SharedDatabaseCache(DatabaseCache):
    def incr(self, key: Any, delta: int = 1, version: int | None = None) -> Any:
        db = router.db_for_write(self.cache_model_class)
        connection = connections[db]
        with transaction.atomic(using=db):
            if connection.features.has_select_for_update:
                table = connection.ops.quote_name(self.cache_model_class._meta.db_table)
                with connection.cursor() as cursor:
                    cursor.execute(
                        f"SELECT cache_key FROM {table} WHERE cache_key = %s FOR UPDATE",  # noqa: S608
                        [self.make_and_validate_key(key, version=version)],
                    )
            return super().incr(key, delta, version)
