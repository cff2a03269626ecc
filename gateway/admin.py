"""Make sure the first admin exists: ``python -m gateway.admin``.

Uses ``ADMIN_USERNAME``/``ADMIN_PASSWORD``; without a password it generates one, keeps it
in ``$DATA_DIR/admin-password`` (readable by its owner only) and prints it.
"""
from services.common.config import load_settings
from services.common.context import SYSTEM_ACTOR

from gateway.app import create_app
from gateway.auth import generate_password


def admin_password(settings) -> tuple[str, bool]:
    """The admin password and whether it was generated here."""
    if settings.admin_password:
        return settings.admin_password, False
    path = settings.data_dir / "admin-password"
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(generate_password())
        path.chmod(0o600)
    return path.read_text().strip(), True


def main():
    settings = load_settings()
    password, generated = admin_password(settings)
    state = create_app(settings).extensions["deskflow"]
    created = state.users.ensure_admin(settings.admin_username, password, generated,
                                       {"actor": SYSTEM_ACTOR})
    print(f"admin user '{settings.admin_username}' {'created' if created else 'already exists'}")
    if generated:
        print(f"admin password (kept in {settings.data_dir / 'admin-password'}): {password}")
        if created:
            print("it must be changed at the first login: POST /api/v1/auth/password "
                  '{"current_password": ..., "new_password": ...}')


if __name__ == "__main__":
    main()
