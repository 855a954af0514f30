"""A face-mask set whose boxes follow another convention, built from committed data only: the
bundled test crops (never trained on by the bundled model) re-labelled with tighter boxes, brows
to chin instead of hairline to chin, and a little narrower. The first photos give `n_train`
pictures to fine-tune on (train.csv); the crops of every other photo are the held-out check
(test.csv + test_labels.csv), so no photo sits on both sides.

`python -m bench.own_pictures --out DIR` writes the set; bench/suite.py's `finetune` figure
fine-tunes the bundled model on it and reports IoU before/after and wall time.
"""

from __future__ import annotations

import argparse
import shutil
from pathlib import Path

import numpy as np
import pandas as pd

from maskloc.config.paths import DEFAULT_DATA
from maskloc.data.table import read_csv_text

TOP_CUT = 1 / 3  # hairline to brow is about the top third of a face
SIDE_CUT = 0.08  # each side


def tighter(frame: pd.DataFrame) -> pd.DataFrame:
    """Brow-to-chin boxes from hairline-to-chin ones (whole pixels)."""
    out = frame.copy()
    xmin, ymin, xmax, ymax = (frame[c].astype(float) for c in ("xmin", "ymin", "xmax", "ymax"))
    width, height = xmax - xmin, ymax - ymin
    out["xmin"] = (xmin + SIDE_CUT * width).round().astype(int)
    out["xmax"] = (xmax - SIDE_CUT * width).round().astype(int)
    out["ymin"] = (ymin + TOP_CUT * height).round().astype(int)
    out["ymax"] = ymax.round().astype(int)
    return out


def build_own_set(out: str | Path, n_train: int = 20, seed: int = 0, source=DEFAULT_DATA) -> Path:
    """Write the re-labelled set to `out` (replaced if present); returns it."""
    source, out = Path(source), Path(out)
    labels = read_csv_text(source / "test_labels.csv")
    photos = np.random.default_rng(seed).permutation(sorted(set(labels["source"])))
    chosen: list[str] = []
    for photo in photos:
        if len(labels[labels["source"].isin(chosen)]) >= n_train:
            break
        chosen.append(photo)
    train = labels[labels["source"].isin(chosen)].head(n_train)
    held_out = labels[~labels["source"].isin(chosen)]
    if out.exists():
        shutil.rmtree(out)
    (out / "images").mkdir(parents=True)
    for name in pd.concat([train, held_out])["filename"]:
        shutil.copyfile(source / "images" / name, out / "images" / name)
    # Like snapshots a user collects: each picture its own photo (no source column), so the
    # fine-tune's validation split is a stratified quarter of the 20.
    tighter(train).drop(columns="source").to_csv(out / "train.csv", index=False)
    held_out[["filename"]].to_csv(out / "test.csv", index=False)
    tighter(held_out).to_csv(out / "test_labels.csv", index=False)
    return out


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", required=True)
    parser.add_argument("--n-train", type=int, default=20)
    args = parser.parse_args()
    print(build_own_set(args.out, args.n_train))
