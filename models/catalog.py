"""Every model Framewise can run, declared once: its package, pinned files, factory and kind.

`framewise models fetch` gets exactly these files, workers refuse to start without the ones
their analyses need, and analyses name models by the keys here. Nothing in this module imports
torch.
"""
from __future__ import annotations

from models.specs import ModelFile, ModelSpec, Package

HUMAN = Package(
    registry="npm", name="@vladmandic/human", version="3.3.6", archive="vladmandic-human-3.3.6.tgz",
    sha256="425e9c51dbbca0c8934362b170cb0d54c2529c11c654b3c03092b16e9d6ad3f7")

_SPECS = (
    ModelSpec(
        name="centernet-coco",
        version="human-3.3.6-centernet",
        package=HUMAN,
        files={
            "centernet.json": ModelFile("package/models/centernet.json",
                                        "bfb942eaacc5becf738d536663bc4580a0ae9e560722306e6d4dd7fe4a09de05"),
            "centernet.bin": ModelFile("package/models/centernet.bin",
                                       "1b635a15009071f506f9f2b3519b31c072c534888989f30d269ffd44734ef7ef"),
            "labels.ts": ModelFile("package/src/object/labels.ts",
                                   "cdbe430f6415737eb191497734ffbb2627f8cc7144fbcdbf23b0f9cb9fe7150c", required=False),
        },
        factory="models.centernet:CenterNet",
        kind="boxes",
        # Measured: on CPU one frame per pass is fastest (77 vs 92 ms/frame at 8, 2 cores).
        batch=(1, 32),
        licence="MIT (human 3.3.6)",
    ),
)

SPECS: dict[str, ModelSpec] = {spec.name: spec for spec in _SPECS}


def spec(name: str) -> ModelSpec:
    try:
        return SPECS[name]
    except KeyError:
        raise KeyError(f"no model named {name!r} in models/catalog.py (known: {', '.join(SPECS)})") from None


def with_feeds(names) -> list[ModelSpec]:
    """The specs for `names` and every model they feed, each once, in a stable order."""
    seen: dict[str, ModelSpec] = {}

    def visit(name: str) -> None:
        if name in seen:
            return
        seen[name] = spec(name)
        for fed in seen[name].feeds:
            visit(fed)

    for name in names:
        visit(name)
    return list(seen.values())
