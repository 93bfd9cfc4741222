"""The settings module runtests.py gets for each ENGINE."""

from __future__ import annotations

ENGINES = {
    "pooled": "django_pooled_mysql",
    "stock": "django.db.backends.mysql",
}
# A small pool with a short timeout: a test that holds more connections than it should fails
# with PoolTimeout after 10 s instead of hanging the run.
DEFAULT_POOL = {"pool_size": 5, "max_overflow": 10, "timeout": 10}
# Found on the PYTHONPATH runtests.py gets (the repository root).
TEST_RUNNER = "tests.django_suite.recording.RecordingRunner"


def settings_source(engine: str, server: dict[str, str], name: str, options: dict) -> str:
    """The settings module runtests.py gets: Django's test_sqlite.py, on MySQL/MariaDB."""

    def database(db_name: str) -> dict[str, object]:
        return {
            "ENGINE": engine,
            "NAME": db_name,
            **server,
            "OPTIONS": options,
            "TEST": {"CHARSET": "utf8mb4"},
        }

    # Two aliases with different NAMEs, as Django's suite requires.
    databases = {"default": database(name), "other": database(name + "_other")}
    return "\n".join(
        (
            '"""Written by tests/django_suite/suite_settings.py; rewritten on every run."""',
            "",
            "# Everything else as in the settings Django's suite ships for its own runs (they",
            "# differ between versions: Django 5.2's sets DEFAULT_AUTO_FIELD, which its model",
            "# check tests rely on).",
            "from test_sqlite import *  # noqa: F403",
            "",
            "DATABASES = %r" % (databases,),
            "TEST_RUNNER = %r" % TEST_RUNNER,
            "",
        )
    )
