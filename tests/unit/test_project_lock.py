"""One writer per work directory: the stage write lock is exclusive across processes, re-entrant within one."""

import subprocess
import sys

import pytest

from ilforge.errors import IlforgeError
from ilforge.project import WRITE_LOCK, Project, writes_project


def test_second_process_is_refused_while_a_stage_writes(tmp_path):
    project = Project(tmp_path)
    code = (
        "import sys; from ilforge.project import Project, WRITE_LOCK\n"
        "p = Project(sys.argv[1])\n"
        "try:\n"
        "    with p.lock(WRITE_LOCK, 'ilforge other'):\n"
        "        print('acquired')\n"
        "except Exception as e:\n"
        "    print('refused:', e)\n"
    )
    with project.lock(WRITE_LOCK, "ilforge sample"):
        out = subprocess.run([sys.executable, "-c", code, str(tmp_path)], capture_output=True, text=True).stdout
    assert out.startswith("refused:") and "is running on" in out
    out = subprocess.run([sys.executable, "-c", code, str(tmp_path)], capture_output=True, text=True).stdout
    assert out.strip() == "acquired"


def test_stage_lock_is_reentrant_within_a_process(tmp_path):
    calls = []

    @writes_project("inner")
    def inner(project):
        calls.append("inner")
        return 1

    @writes_project("outer")
    def outer(project):
        return inner(project) + 1

    assert outer(Project(tmp_path)) == 2 and calls == ["inner"]
    # released afterwards: a fresh acquisition works
    with Project(tmp_path).lock(WRITE_LOCK, "x"):
        pass


def test_lock_error_is_an_ilforge_error(tmp_path):
    import fcntl

    project = Project(tmp_path)
    with open(project.lock_file(WRITE_LOCK), "w") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
        # another open file description in this process behaves like another process
        with pytest.raises(IlforgeError, match="ilforge md"):
            with project.lock(WRITE_LOCK, "ilforge md"):
                pass
