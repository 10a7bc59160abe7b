"""A real third-party server-rendered app for flow tests: Django's admin, on SQLite.

Run as ``python -m tests.support.django_site PORT DB_PATH PASSWORD``: it migrates a
fresh database, creates the superuser ``smoke`` with ``PASSWORD`` and serves the
admin on 127.0.0.1:PORT with Django's own development server (threaded WSGI).
Nothing here is ours but the settings: the login form, its
``csrfmiddlewaretoken``, the ``csrftoken`` and ``sessionid`` cookies and the
logout POST are Django's.
"""

from __future__ import annotations

import sys

import django
from django.conf import settings
from django.core.management import call_command


def configure(db_path: str) -> None:
    settings.configure(
        DEBUG=False,
        SECRET_KEY="smokewatch-test-only-not-secret",
        ALLOWED_HOSTS=["127.0.0.1", "localhost"],
        ROOT_URLCONF=__name__,
        INSTALLED_APPS=[
            "django.contrib.admin",
            "django.contrib.auth",
            "django.contrib.contenttypes",
            "django.contrib.sessions",
            "django.contrib.messages",
        ],
        MIDDLEWARE=[
            "django.contrib.sessions.middleware.SessionMiddleware",
            "django.middleware.common.CommonMiddleware",
            "django.middleware.csrf.CsrfViewMiddleware",
            "django.contrib.auth.middleware.AuthenticationMiddleware",
            "django.contrib.messages.middleware.MessageMiddleware",
        ],
        TEMPLATES=[
            {
                "BACKEND": "django.template.backends.django.DjangoTemplates",
                "APP_DIRS": True,
                "OPTIONS": {
                    "context_processors": [
                        "django.template.context_processors.request",
                        "django.contrib.auth.context_processors.auth",
                        "django.contrib.messages.context_processors.messages",
                    ]
                },
            }
        ],
        DATABASES={"default": {"ENGINE": "django.db.backends.sqlite3", "NAME": db_path}},
        PASSWORD_HASHERS=["django.contrib.auth.hashers.MD5PasswordHasher"],  # fast, tests only
        USE_TZ=True,
    )
    django.setup()


def urls() -> list[object]:
    from django.contrib import admin  # noqa: PLC0415 -- only once settings are configured
    from django.urls import path  # noqa: PLC0415 -- idem

    return [path("admin/", admin.site.urls)]


def __getattr__(name: str) -> object:
    # ROOT_URLCONF is this module: Django reads ``urlpatterns`` once the apps are ready.
    if name == "urlpatterns":
        return urls()
    raise AttributeError(name)


def main() -> None:
    port, db_path, password = sys.argv[1], sys.argv[2], sys.argv[3]
    configure(db_path)
    from django.contrib.auth import get_user_model  # noqa: PLC0415 -- idem

    call_command("migrate", verbosity=0, interactive=False)
    get_user_model().objects.create_superuser("smoke", "smoke@example.com", password)
    call_command("runserver", f"127.0.0.1:{port}", use_reloader=False, verbosity=0)


if __name__ == "__main__":
    main()
