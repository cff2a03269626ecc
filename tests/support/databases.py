"""Throwaway PostgreSQL databases for tests: each service's migrations run once into a
template; every test then gets a clone (``CREATE DATABASE ... TEMPLATE``), which is fast."""
import os
import uuid

import psycopg
from sqlalchemy.engine import make_url

from services.common import migrate

PREFIX = "deskflow_test_"


class PostgresDatabases:
    def __init__(self, admin_url: str):
        self.admin_url = make_url(admin_url)
        self.run_id = f"{os.getpid()}_{uuid.uuid4().hex[:6]}"
        self.templates = {}
        self.created = []

    def _execute(self, sql: str):
        url = self.admin_url
        with psycopg.connect(host=url.host, port=url.port or 5432, user=url.username,
                             password=url.password, dbname=url.database, autocommit=True) as conn:
            conn.execute(sql)

    def url_of(self, database: str) -> str:
        return self.admin_url.set(database=database).render_as_string(hide_password=False)

    def template(self, service: str) -> str:
        if service not in self.templates:
            name = f"{PREFIX}{self.run_id}_{service}_tpl"
            self._execute(f'CREATE DATABASE "{name}"')
            self.created.append(name)
            migrate.upgrade(service, self.url_of(name))
            self.templates[service] = name
        return self.templates[service]

    def fresh(self, service: str) -> str:
        """The URL of a new, migrated, empty database for ``service``."""
        template = self.template(service)
        name = f"{PREFIX}{self.run_id}_{service}_{uuid.uuid4().hex[:8]}"
        self._execute(f'CREATE DATABASE "{name}" TEMPLATE "{template}"')
        self.created.append(name)
        return self.url_of(name)

    def drop_all(self):
        for name in reversed(self.created):
            self._execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        self.created.clear()

    def create(self, suffix: str) -> str:
        """A new empty database (dropped by :meth:`drop_all`); its name."""
        name = f"{PREFIX}{suffix}"
        self._execute(f'CREATE DATABASE "{name}"')
        self.created.append(name)
        return name
