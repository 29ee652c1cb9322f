"""Fetch the pinned model files out of the `@vladmandic/human@3.3.6` npm package.

`npm pack` downloads the package tarball through whatever registry npm is configured for; the
tarball and every file taken from it are checked against sha256 values pinned here, so a
different (or tampered) package is refused rather than run.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import tarfile
import tempfile
from pathlib import Path

PACKAGE = "@vladmandic/human"
PACKAGE_VERSION = "3.3.6"
TARBALL = "vladmandic-human-3.3.6.tgz"
TARBALL_SHA256 = "425e9c51dbbca0c8934362b170cb0d54c2529c11c654b3c03092b16e9d6ad3f7"
SUBDIR = "human-3.3.6"

# member of the tarball -> (file name in SUBDIR, sha256, required)
FILES: dict[str, tuple[str, str, bool]] = {
    "package/models/centernet.json": (
        "centernet.json",
        "bfb942eaacc5becf738d536663bc4580a0ae9e560722306e6d4dd7fe4a09de05",
        True,
    ),
    "package/models/centernet.bin": (
        "centernet.bin",
        "1b635a15009071f506f9f2b3519b31c072c534888989f30d269ffd44734ef7ef",
        True,
    ),
    "package/src/object/labels.ts": (
        "labels.ts",
        "cdbe430f6415737eb191497734ffbb2627f8cc7144fbcdbf23b0f9cb9fe7150c",
        False,
    ),
}


def centernet_dir(models_dir: Path) -> Path:
    """Where fetch_models puts the CenterNet files under a models directory."""
    return Path(models_dir) / SUBDIR


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def models_ready(models_dir: Path) -> bool:
    """Whether every required file is in place with its pinned hash (no download)."""
    return _present(centernet_dir(models_dir)) is not None


def _present(target: Path) -> dict[str, Path] | None:
    """The files already in place with their pinned hashes, or None if any required one is not."""
    found: dict[str, Path] = {}
    for name, sha, required in FILES.values():
        path = target / name
        if path.is_file() and sha256_file(path) == sha:
            found[name] = path
        elif required:
            return None
    return found


def _npm_pack(workdir: Path) -> Path:
    npm = shutil.which("npm")
    if npm is None:
        raise RuntimeError(f"npm is not installed; it is needed to fetch {PACKAGE}@{PACKAGE_VERSION}")
    proc = subprocess.run(
        [npm, "pack", f"{PACKAGE}@{PACKAGE_VERSION}", "--silent"],
        cwd=workdir,
        check=False,
        capture_output=True,
        text=True,
        timeout=600,
    )
    if proc.returncode != 0:
        raise RuntimeError(
            f"npm pack {PACKAGE}@{PACKAGE_VERSION} failed ({proc.returncode}): {proc.stderr.strip()}"
        )
    tarball = workdir / TARBALL
    if not tarball.is_file():
        candidates = sorted(workdir.glob("*.tgz"))
        if len(candidates) != 1:
            raise RuntimeError(f"npm pack produced no single tarball in {workdir}: {proc.stdout.strip()!r}")
        tarball = candidates[0]
    return tarball


def fetch_models(models_dir: Path) -> dict[str, Path]:
    """Make sure the pinned CenterNet files are in `centernet_dir(models_dir)`.

    Returns {file name: path} for what is there ("centernet.json", "centernet.bin" and, when the
    package has it, "labels.ts"). Downloads nothing when the files are already present with the
    pinned sha256s. Raises RuntimeError when npm is missing or a hash does not match.
    """
    target = centernet_dir(models_dir)
    found = _present(target)
    if found is not None:
        return found

    target.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="framewise-npm-") as tmp:
        workdir = Path(tmp)
        tarball = _npm_pack(workdir)
        actual = sha256_file(tarball)
        if actual != TARBALL_SHA256:
            raise RuntimeError(
                f"{tarball.name}: sha256 {actual} does not match the pinned {TARBALL_SHA256}; refusing to use it"
            )
        with tarfile.open(tarball, "r:gz") as tar:
            members = {m.name: m for m in tar.getmembers()}
            for member_name, (name, sha, required) in FILES.items():
                member = members.get(member_name)
                if member is None or not member.isfile():
                    if required:
                        raise RuntimeError(f"{tarball.name} has no {member_name}")
                    continue
                source = tar.extractfile(member)
                assert source is not None
                staged = workdir / name
                with source, open(staged, "wb") as out:
                    shutil.copyfileobj(source, out)
                actual = sha256_file(staged)
                if actual != sha:
                    raise RuntimeError(f"{member_name}: sha256 {actual} does not match the pinned {sha}")
                # Same filesystem not guaranteed: copy next to the target, then rename atomically.
                partial = target / f".{name}.partial-{os.getpid()}"
                shutil.copyfile(staged, partial)
                os.replace(partial, target / name)

    found = _present(target)
    if found is None:
        raise RuntimeError(f"{target}: files missing or corrupt after fetching")
    return found
