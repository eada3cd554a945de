"""The project directory: the one owner of every file name under a work directory.

Layout (DESIGN.md)::

    <root>/
      recipe.yaml            copy of the recipe that produced it
      pipeline.json          stage state (hashes, done/failed), written atomically
      frames.db              the frame store
      boxes/<cid>_<T>K.extxyz            packed starting structures
      sampled/<cid>_<T>K.extxyz|.json    classical snapshots (and their run summary)
      cache/<kind>/                      rebuildable caches (force-field parameters ...)
      tasks/<kind>/<id>/                 file-described tasks in flight (inputs, outputs)
      models/<name>/                     model files + model.json (backend-owned inside)
      models/<name>/gen_<k>/             active learning: generation k's committee, generation.json, md/<cid>/<state>
      md/<cid>/<state>/                  MLIP MD runs (runner-owned inside)
      md/<cid>/start_<T>K.extxyz         the starting structure of MLIP MD at T
      results/<name>.json|.png           every number and figure the report shows
      progress/<stage>.json              live progress of a long stage (build, sample, label, train, transfer)
      report.html

Stages, the report and the CLI take a :class:`Project` and ask it for paths; no other module
spells a path under the work directory. What a backend writes *inside* ``models/<name>/`` and
what the MD runner writes *inside* its run directory belong to them.
"""

from __future__ import annotations

import contextlib
import functools
import json
import re
import shutil
from pathlib import Path

from ilforge.errors import IlforgeError
from ilforge.jsonio import write_json_atomic, write_text_atomic

RECIPE_COPY = "recipe.yaml"
STATE_FILE = "pipeline.json"
FRAMES_DB = "frames.db"
REPORT = "report.html"
#: live status files of long stages (``progress/<stage>.json``)
PROGRESS_DIR = "progress"

#: (resolved root, lock name) -> depth, for locks this process holds (re-entrancy)
_HELD: dict[tuple[str, str], int] = {}

#: the lock every stage that writes into a work directory holds (one writer per project)
WRITE_LOCK = "workdir"

_STATE_NAME = re.compile(r"^(?P<cid>.+)_(?P<T>[0-9.eE+-]+)K$")


def state_name(composition_id: str, temperature_K: float) -> str:
    """The stem naming a (composition, temperature): ``<id>_<T>K`` (e.g. ``neat_298.15K``)."""
    return f"{composition_id}_{float(temperature_K):g}K"


def parse_state_name(stem: str) -> tuple[str, float] | None:
    """Inverse of :func:`state_name`: ``(composition_id, temperature_K)``, or None for another name."""
    m = _STATE_NAME.match(stem)
    if not m:
        return None
    try:
        return m.group("cid"), float(m.group("T"))
    except ValueError:
        return None


def writes_project(verb: str):
    """Decorator for a ``run_<stage>(project, recipe, ...)`` that writes into the work directory: it
    holds the project's write lock while it runs, so a second ``ilforge <verb>`` (or ``ilforge run``)
    on the same directory is refused with a clear message instead of interleaving writes."""

    def decorate(fn):
        @functools.wraps(fn)
        def run(*args, **kwargs):
            project = kwargs.get("project") or next((a for a in args if isinstance(a, Project)), None)
            if project is None:
                return fn(*args, **kwargs)
            with project.lock(WRITE_LOCK, f"ilforge {verb}"):
                return fn(*args, **kwargs)

        return run

    return decorate


class Project:
    """A work directory (see the module docstring). Paths are returned, folders are not created
    unless the method says so (``*_dir`` methods create theirs)."""

    def __init__(self, root: str | Path):
        self.root = Path(root)

    def __repr__(self) -> str:
        return f"Project({str(self.root)!r})"

    # ------------------------------------------------------------------ creation
    @classmethod
    def init(cls, root: str | Path, recipe_path: str | Path) -> "Project":
        """Create ``root`` and copy the recipe into it. A project made from a recipe of another
        name is refused, so two recipes never mix their frames."""
        proj = cls(root)
        if proj.root.exists() and not proj.root.is_dir():
            raise IlforgeError(f"--workdir {proj.root} is a file, not a directory; give a directory path")
        proj.root.mkdir(parents=True, exist_ok=True)
        copy, src = proj.recipe_copy, Path(recipe_path)
        if copy.exists() and src.resolve() != copy.resolve() and copy.read_text() != src.read_text():
            old, new = _recipe_name(copy), _recipe_name(src)
            if old != new:
                raise IlforgeError(f"{proj.root} holds the project of recipe {old!r}, not {new!r}; use another --workdir")
        if src.resolve() != copy.resolve():
            shutil.copyfile(src, copy)
        return proj

    def record_seed(self, seed: int) -> None:
        """Rewrite the recipe copy with ``seed`` (``ilforge run --seed``), so that the verbs reading
        the project (``ilforge status``, ``report``) see the recipe the stages ran with."""
        import yaml

        doc = yaml.safe_load(self.recipe_copy.read_text(encoding="utf-8"))
        if doc.get("seed") != seed:
            doc["seed"] = seed
            write_text_atomic(self.recipe_copy, yaml.safe_dump(doc, sort_keys=False))

    @classmethod
    def open(cls, root: str | Path) -> "Project":
        """An existing project (one with a recipe copy); a clear error otherwise."""
        proj = cls(root)
        if not proj.recipe_copy.is_file():
            raise IlforgeError(
                f"{proj.root} is not an ilforge project (no {RECIPE_COPY}); start one with "
                f"`ilforge run RECIPE --workdir {proj.root}`"
            )
        return proj

    # ------------------------------------------------------------------ top-level files
    @property
    def recipe_copy(self) -> Path:
        return self.root / RECIPE_COPY

    @property
    def state_file(self) -> Path:
        return self.root / STATE_FILE

    @property
    def frames_db(self) -> Path:
        return self.root / FRAMES_DB

    @property
    def report_html(self) -> Path:
        return self.root / REPORT

    def progress_file(self, stage: str) -> Path:
        """``progress/<stage>.json``: the live status of a long stage while it runs
        (:class:`ilforge.progress.Progress`; ``ilforge status`` shows it). The folder is created when
        the first status is written."""
        if not stage or "/" in stage or "\\" in stage or stage in (".", ".."):
            raise IlforgeError(f"progress file of stage {stage!r}: use a plain stage name")
        return self.root / PROGRESS_DIR / f"{stage}.json"

    def lock_file(self, name: str) -> Path:
        return self.root / f".{name}.lock"

    @contextlib.contextmanager
    def lock(self, name: str, what: str):
        """Hold an exclusive lock ``name`` on the project while the block runs (an flock, released
        by the kernel even on SIGKILL); a second holder gets a clear error naming ``what``.
        Re-entrant within one process (``ilforge run`` holds the stage lock while each stage takes it)."""
        import fcntl

        self.root.mkdir(parents=True, exist_ok=True)
        key = (str(self.root.resolve()), name)
        if _HELD.get(key):
            _HELD[key] += 1
            try:
                yield
            finally:
                _HELD[key] -= 1
            return
        with open(self.lock_file(name), "w") as fh:
            try:
                fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                raise IlforgeError(f"another `{what}` is running on {self.root}; wait for it or stop it") from None
            _HELD[key] = 1
            try:
                yield
            finally:
                _HELD.pop(key, None)
                fcntl.flock(fh, fcntl.LOCK_UN)

    # ------------------------------------------------------------------ boxes and sampling
    def boxes_dir(self) -> Path:
        return _mk(self.root / "boxes")

    def box(self, composition_id: str, temperature_K: float) -> Path:
        return self.root / "boxes" / f"{state_name(composition_id, temperature_K)}.extxyz"

    def boxes(self) -> list[tuple[str | None, float | None, Path]]:
        """Every packed box: (composition_id, temperature_K, path), names parsed (None when foreign)."""
        out = []
        for p in sorted((self.root / "boxes").glob("*.extxyz")):
            parsed = parse_state_name(p.stem)
            out.append((*(parsed or (None, None)), p))
        return out

    def sampled_dir(self) -> Path:
        return _mk(self.root / "sampled")

    def sampled(self, composition_id: str, temperature_K: float) -> Path:
        """Classical snapshots of one (composition, temperature) (extxyz)."""
        return self.root / "sampled" / f"{state_name(composition_id, temperature_K)}.extxyz"

    def sampled_summary(self, composition_id: str, temperature_K: float) -> Path:
        """The sampling run's summary (JSON); its presence marks the run complete."""
        return self.sampled(composition_id, temperature_K).with_suffix(".json")

    def cache_dir(self, kind: str) -> Path:
        return _mk(self.root / "cache" / kind)

    def tasks_dir(self, kind: str) -> Path:
        """Where file-described tasks of ``kind`` keep their inputs and outputs while in flight."""
        return _mk(self.root / "tasks" / kind)

    # ------------------------------------------------------------------ models
    def models_root(self) -> Path:
        return self.root / "models"

    def model_dir(self, name: str, *sub: str) -> Path:
        """``models/<name>[/<sub>...]`` (created); ``name`` may not leave the models folder."""
        for part in (name, *sub):
            if not part or part in (".", "..") or "/" in part or "\\" in part:
                raise IlforgeError(f"model name {part!r}: use a plain name (letters, digits, _ - .), no path")
        return _mk(self.root.joinpath("models", name, *sub))

    def model_names(self) -> list[str]:
        """Names of the models trained in this project (directories under models/)."""
        root = self.models_root()
        return sorted(p.name for p in root.iterdir() if p.is_dir()) if root.is_dir() else []

    # ------------------------------------------------------------------ active learning
    def learn_state(self, name: str) -> Path:
        """``models/<name>/learn.json``: the active-learning loop's own record (initial frames, status)."""
        return self.model_dir(name) / "learn.json"

    def generation_dir(self, name: str, generation: int) -> Path:
        """``models/<name>/gen_<k>`` (created): generation k's committee (backend-owned inside)."""
        return self.model_dir(name, f"gen_{int(generation)}")

    def generation_state(self, name: str, generation: int) -> Path:
        """``models/<name>/gen_<k>/generation.json``: what generation k has done (written atomically)."""
        return self.generation_dir(name, generation) / "generation.json"

    def generations(self, name: str) -> list[int]:
        """Generations of the active-learning loop of model ``name`` that have a state file, in order."""
        root = self.root / "models" / name
        out = [int(p.parent.name.removeprefix("gen_")) for p in root.glob("gen_*/generation.json")
               if p.parent.name.removeprefix("gen_").isdigit()]
        return sorted(out)

    def exploration_run(self, name: str, generation: int, composition_id: str, state_label: str) -> Path:
        """``models/<name>/gen_<k>/md/<cid>/<state>``: one exploration MD run of generation k (runner-owned inside)."""
        return self.root.joinpath("models", name, f"gen_{int(generation)}", "md", composition_id, state_label)

    # ------------------------------------------------------------------ MLIP MD
    def md_dir(self, composition_id: str) -> Path:
        return self.root / "md" / composition_id

    def md_run(self, composition_id: str, state_label: str) -> Path:
        """The run directory of one state point (e.g. ``md/neat/T298.15K_P1bar``)."""
        return self.md_dir(composition_id) / state_label

    def md_start(self, composition_id: str, temperature_K: float) -> Path:
        """The starting structure of MLIP MD of a composition at a temperature."""
        return self.md_dir(composition_id) / f"start_{float(temperature_K):g}K.extxyz"

    def md_compositions(self) -> list[str]:
        """Compositions with an MD folder."""
        root = self.root / "md"
        return sorted(p.name for p in root.iterdir() if p.is_dir()) if root.is_dir() else []

    def md_runs(self, composition_id: str) -> list[Path]:
        """Run directories under ``md/<composition_id>`` (those holding a run record)."""
        return sorted(p.parent for p in self.md_dir(composition_id).glob("*/run.json"))

    # ------------------------------------------------------------------ results and report
    def results_dir(self) -> Path:
        return _mk(self.root / "results")

    def results(self, name: str) -> Path:
        """``results/<name>.json``."""
        return self.root / "results" / f"{name}.json"

    def result_frames(self, name: str) -> Path:
        """``results/<name>.extxyz``: structures a result was computed on (e.g. the reference check's
        snapshots, which the validate stage evaluates the model on)."""
        return self.root / "results" / f"{name}.extxyz"

    def figure(self, name: str) -> Path:
        """``results/<name>.png``."""
        return self.root / "results" / f"{name}.png"

    def results_names(self, prefix: str) -> list[str]:
        """Names of the results files starting with ``prefix`` (``analysis_`` -> ``analysis_neat``, ...)."""
        return sorted(p.stem for p in (self.root / "results").glob(f"{prefix}*.json"))

    def write_results(self, name: str, doc) -> Path:
        """Write ``results/<name>.json`` atomically."""
        self.results_dir()
        return write_json_atomic(self.results(name), doc)

    def read_results(self, name: str) -> dict | list | None:
        """``results/<name>.json`` or None when absent; a corrupt file is a clear error."""
        path = self.results(name)
        if not path.is_file():
            return None
        try:
            return json.loads(path.read_text())
        except (json.JSONDecodeError, UnicodeDecodeError) as exc:
            raise IlforgeError(f"{path} is corrupt ({exc}); delete it and rerun the stage that writes it") from None


#: cache kind (``cache/<kind>``) of the generic force field's parameters: written by the sampler,
#: read by the classical labeler
GENERIC_FF_CACHE = "generic_ff"

# result names (results/<name>.json): one place for each
PLAN = "plan"
LABELS = "labels"
#: the pre-flight reference check (``ilforge reference check``)
REFERENCE_CHECK = "reference_check"
MD = "md"
TRANSFER = "transfer"
#: the active-learning loop (``ilforge learn``): generations, labels, spreads, MD stability
LEARNING = "learning"


def analysis_name(composition_id: str) -> str:
    return f"analysis_{composition_id}"


def compare_name(composition_id: str) -> str:
    return f"compare_{composition_id}"


def validate_name(model: str, committee: bool = False) -> str:
    return f"validate_{model}_committee" if committee else f"validate_{model}"


def _mk(path: Path) -> Path:
    path.mkdir(parents=True, exist_ok=True)
    return path


def _recipe_name(path: Path) -> str:
    import yaml

    try:
        return str((yaml.safe_load(path.read_text()) or {}).get("name"))
    except Exception:  # noqa: BLE001 - any unreadable recipe just has no name here
        return "?"
