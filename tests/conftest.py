"""Session-wide fixtures for the whole suite."""

pytest_plugins = [
    "tests.support.processes",
    "tests.support.postgres",
    "tests.support.stores",
    "tests.support.demo",
    "tests.support.browser",
    "tests.support.prometheus",
    "tests.support.s3",
]
