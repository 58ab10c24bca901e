"""A model registry without a server: ``PMS_DATA_DIR/models/<name>/<version>/`` holds
``model.joblib`` and ``card.json`` (data window, metrics, features, library versions, created_at).

Versions sort by time (``YYYYmmddTHHMMSSffffffZ``), so the latest is the greatest name. A version
is written to a temporary folder and renamed into place, so a reader never sees half a model.
"""

from __future__ import annotations

import json
import os
import platform
import shutil
import tempfile
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import joblib

from pms.settings import get_settings


@dataclass(frozen=True)
class Artifact:
    name: str
    version: str
    model: Any
    card: dict[str, Any]


def models_dir() -> Path:
    return get_settings().pms_data_dir / "models"


def library_versions() -> dict[str, str]:
    import numpy
    import pandas
    import sklearn

    return {"python": platform.python_version(), "scikit-learn": sklearn.__version__, "pandas": pandas.__version__, "numpy": numpy.__version__, "joblib": joblib.__version__}


def new_version(now: datetime | None = None) -> str:
    return (now or datetime.now(UTC)).strftime("%Y%m%dT%H%M%S%fZ")


def save(name: str, model: Any, card: dict[str, Any], version: str | None = None, root: Path | None = None) -> str:
    """Store a fitted model and its card; return the version."""
    version = version or new_version()
    folder = (root or models_dir()) / name
    folder.mkdir(parents=True, exist_ok=True)
    card = {"name": name, "version": version, "created_at": datetime.now(UTC).isoformat(), "libraries": library_versions(), **card}
    staging = Path(tempfile.mkdtemp(prefix=f".{version}-", dir=folder))
    try:
        joblib.dump(model, staging / "model.joblib", compress=3)
        (staging / "card.json").write_text(json.dumps(card, indent=2, default=str))
        os.replace(staging, folder / version)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return version


def versions(name: str, root: Path | None = None) -> list[str]:
    folder = (root or models_dir()) / name
    if not folder.is_dir():
        return []
    return sorted(p.name for p in folder.iterdir() if p.is_dir() and not p.name.startswith(".") and (p / "card.json").is_file())


def _folder(name: str, version: str | None, root: Path | None) -> Path:
    available = versions(name, root)
    if not available:
        raise FileNotFoundError(f"no trained {name!r} model under {(root or models_dir())}; run `pms ml train`")
    version = version or available[-1]
    if version not in available:
        raise FileNotFoundError(f"{name!r} has no version {version!r}; have {available[-3:]}")
    return (root or models_dir()) / name / version


def card(name: str, version: str | None = None, root: Path | None = None) -> dict[str, Any]:
    """One version's card (default: the latest) without loading the model."""
    return json.loads((_folder(name, version, root) / "card.json").read_text())


def load(name: str, version: str | None = None, root: Path | None = None) -> Artifact:
    """Load one version (default: the latest)."""
    folder = _folder(name, version, root)
    return Artifact(name=name, version=folder.name, model=joblib.load(folder / "model.joblib"), card=card(name, folder.name, root))
