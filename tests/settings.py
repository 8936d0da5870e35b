"""The settings of the test run (pytest.ini): the embedded defaults, which ask for DEBUG to load
without a SECRET_KEY (config/settings.py); pytest-django then runs every test with DEBUG off
(tests/test_settings.py). Commands and workers the tests start inherit the same environment."""
import os

os.environ.setdefault("DEBUG", "1")

from config.settings import *  # noqa: E402,F403
