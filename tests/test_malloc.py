"""The malloc settings every workflow job and benchmark runs with (p2law/malloc.py)."""

import json
import os
import subprocess
import sys

from p2law.malloc import MALLOC_ENV, malloc_env

SHOW_ENV = """
import json, os, sys
from p2law.malloc import MALLOC_ENV, reexec_with_malloc_env
reexec_with_malloc_env()
print(json.dumps({key: os.environ.get(key) for key in MALLOC_ENV}))
"""


def test_missing_settings_are_added_and_the_callers_own_win():
    assert malloc_env({}) == MALLOC_ENV
    mine = {"MALLOC_TRIM_THRESHOLD_": "131072"}
    assert malloc_env(mine) == {"MALLOC_MMAP_THRESHOLD_": MALLOC_ENV["MALLOC_MMAP_THRESHOLD_"]}
    assert malloc_env(MALLOC_ENV) == {}


def test_a_script_restarts_itself_with_the_settings_glibc_reads_at_start(tmp_path):
    script = tmp_path / "show_env.py"
    script.write_text(SHOW_ENV)
    env = {k: v for k, v in os.environ.items() if k not in MALLOC_ENV}
    env["MALLOC_TRIM_THRESHOLD_"] = "131072"
    out = subprocess.run([sys.executable, str(script)], env=env, capture_output=True, text=True,
                         timeout=60, check=True)
    assert json.loads(out.stdout) == {**MALLOC_ENV, "MALLOC_TRIM_THRESHOLD_": "131072"}
