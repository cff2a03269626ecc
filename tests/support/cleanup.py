"""Drop what killed test runs left behind: ``python -m tests.support.cleanup``."""
import os

import psycopg
import requests

from tests.support.databases import PREFIX

RABBIT_API = os.environ.get("RABBIT_API_URI", "http://guest:guest@127.0.0.1:15672")


def main():
    vhosts = requests.get(f"{RABBIT_API}/api/vhosts", timeout=10).json()
    for vhost in vhosts:
        if vhost["name"].startswith(("nameko_test_", "deskflow_e2e_", "deskflow_bench_")):
            requests.delete(f"{RABBIT_API}/api/vhosts/{vhost['name']}", timeout=30)
            print("deleted vhost", vhost["name"])
    with psycopg.connect("host=127.0.0.1 user=postgres dbname=postgres", autocommit=True) as conn:
        names = [row[0] for row in conn.execute(
            "SELECT datname FROM pg_database WHERE datname LIKE %s", (PREFIX + "%",))]
        for name in names:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            print("dropped database", name)


if __name__ == "__main__":
    main()
