"""Model files are code: loading is confined to the MACE backend, torch's safe default is kept for
everything else, and corrupt model files or model.json are clear errors before any setup."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from ilforge.models.artifact import MODEL_JSON, ModelArtifact, ModelError
from ilforge.models.committee import Committee

ROOT = Path(__file__).resolve().parents[2]


def _zip_model(path: Path, size: int = 4000) -> Path:
    """A file shaped like torch.save's output (a zip with a data.pkl member): passes the cheap check."""
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_STORED) as zf:
        zf.writestr("archive/data.pkl", bytes(range(256)) * (size // 256))
        zf.writestr("archive/version", "3\n")
    return path


def _model_dir(tmp_path, info=None) -> Path:
    d = tmp_path / "m"
    d.mkdir()
    _zip_model(d / "mace.model")
    (d / MODEL_JSON).write_text(json.dumps(info or {"backend": "mace", "model_file": "mace.model"}))
    return d


def test_a_complete_model_directory_loads(tmp_path):
    art = ModelArtifact.load(_model_dir(tmp_path))
    assert art.model_file.name == "mace.model"


@pytest.mark.parametrize("damage", ["random", "truncated", "empty", "crc"])
def test_a_damaged_model_file_is_a_clear_error(tmp_path, damage):
    d = _model_dir(tmp_path)
    f = d / "mace.model"
    data = f.read_bytes()
    if damage == "random":
        f.write_bytes(os.urandom(5000))
    elif damage == "truncated":
        f.write_bytes(data[: len(data) // 2])
    elif damage == "empty":
        f.write_bytes(b"")
    else:  # one byte inside the stored data.pkl: the zip's directory is intact, the member's CRC is not
        i = data.index(bytes(range(256))) + 100
        f.write_bytes(data[:i] + bytes([data[i] ^ 0xFF]) + data[i + 1:])
    for load in (ModelArtifact.load, Committee.load):
        with pytest.raises(ModelError) as err:
            load(d)
        assert str(f) in str(err.value) and "train the model again" in str(err.value)


@pytest.mark.parametrize("text,what", [
    ('{"backend": "mace", "mod', "not JSON"),
    ("[1, 2]", "not an object"),
    ('{"backend": "mace"}', "'model_file' missing"),
    ('{"backend": "nope", "model_file": "mace.model"}', "unknown MLIP backend"),
    ('{"backend": "mace", "model_file": "../../x.model"}', "must be a file name"),
    ("\udcff", "not JSON"),
])
def test_a_corrupt_model_json_is_a_clear_error(tmp_path, text, what):
    d = _model_dir(tmp_path)
    (d / MODEL_JSON).write_bytes(text.encode("utf-8", "surrogateescape"))
    with pytest.raises(ModelError) as err:
        ModelArtifact.load(d)
    assert str(d / MODEL_JSON) in str(err.value) and what in str(err.value)


def test_loading_a_random_bytes_file_directly_is_a_clear_error(tmp_path):
    from ilforge.models.mace_backend import check_model_file

    f = tmp_path / "x.model"
    f.write_bytes(os.urandom(3000))
    with pytest.raises(ModelError, match="x.model"):
        check_model_file(f)


_CHILD = r"""
import os, sys, pickle
sys.path.insert(0, {integration!r})
assert "TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD" not in os.environ
from mace_tiny import tiny_mace
from ilforge.models.mace_backend import load_mace_model, mace_calculator
path = tiny_mace({path!r})
assert "TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD" not in os.environ, "set by importing mace"
model = load_mace_model(path)
mace_calculator([path])
assert "TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD" not in os.environ, "set after loading a model"
import torch
try:  # any other torch.load keeps the safe default: a pickled module is refused
    torch.load(path)
except pickle.UnpicklingError:
    print("SAFE-DEFAULT")
"""


def test_loading_a_model_leaves_torchs_safe_default(tmp_path):
    pytest.importorskip("mace")
    code = _CHILD.format(integration=str(ROOT / "tests" / "integration"), path=str(tmp_path / "tiny.model"))
    env = {k: v for k, v in os.environ.items() if k != "TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD"}
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300, env=env)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "SAFE-DEFAULT" in proc.stdout
