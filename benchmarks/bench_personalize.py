"""Simulate stage-3 personalisation: one user whose faces the stage-1 model reads poorly.

The "user" is FER2013 PublicTest faces (never trained on) seen through a dim, low-contrast, tilted webcam:
every face is darkened (gamma 1.8, 60 % brightness), its contrast halved and rotated by 20 degrees, a
systematic shift the stage-1 model was not trained for. The faces go through a journal as one user's
labelled entries (the model's prediction, corrected to the true label), the journal personalises the model
(:func:`emoj_lib.personal.personalize`: replay of FER2013 Training, top block unfrozen), and the script prints
the user's held-out accuracy and FER2013 PrivateTest accuracy before and after.

Usage: ``.venv/bin/python benchmarks/bench_personalize.py [--model PATH] [--faces 600] [--seed 0]``
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import cv2
import numpy as np


def user_camera(images: np.ndarray, angle: float = 20.0) -> np.ndarray:
    """Return the faces as the simulated user's webcam sees them (dim, flat, tilted)."""
    x = (images.astype(np.float32) / 255.0) ** 1.8 * 0.6
    x = (x - x.mean(axis=(1, 2), keepdims=True)) * 0.5 + x.mean(axis=(1, 2), keepdims=True)
    m = cv2.getRotationMatrix2D((23.5, 23.5), angle, 1.0)
    out = [cv2.warpAffine(f, m, (48, 48), borderMode=cv2.BORDER_REFLECT) for f in x]
    return np.clip(np.stack(out) * 255.0, 0, 255).round().astype(np.uint8)


def main() -> None:
    from emoj_lib import config
    from emoj_lib.recognizer import default_model_path

    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--model", type=Path, default=default_model_path())
    parser.add_argument("--fer", type=Path, default=config.fer2013_path())
    parser.add_argument("--faces", type=int, default=600, help="labelled journal entries of the user")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()

    from emoj_lib.data import read_fer_csv
    from emoj_lib.journal import Entry, Journal
    from emoj_lib.labels import EMOTIONS
    from emoj_lib.personal import default_personal_config, personalize
    from emoj_lib.recognizer import Recognizer

    fer = read_fer_csv(args.fer)
    rng = np.random.default_rng(args.seed)
    public = fer.split("PublicTest")
    pick = rng.choice(len(public), size=min(args.faces, len(public)), replace=False)
    user = public.subset(np.sort(pick))
    faces = user_camera(user.images)
    rec = Recognizer(args.model)
    proba = rec.predict(faces)
    print(f"model {args.model.name}: on the user's {len(faces)} faces, accuracy "
          f"{(proba.argmax(1) == user.labels).mean():.4f} (on the same faces before the camera shift: "
          f"{(rec.predict(user.images).argmax(1) == user.labels).mean():.4f})")
    with tempfile.TemporaryDirectory() as tmp:
        journal = Journal(Path(tmp) / "journal", fsync=False)
        t = time.perf_counter()
        for img, p, label in zip(faces, proba, user.labels, strict=True):
            journal.append(Entry(img, (0, 0, 48, 48), p, "webcam", rec.name, "1", user_label=EMOTIONS[label]))
        print(f"journal: {len(faces)} labelled entries written in {time.perf_counter() - t:.1f} s")
        config = default_personal_config(len(faces), seed=args.seed)
        t = time.perf_counter()
        result = personalize(journal, base_model=args.model, config=config, reference=fer.split("PrivateTest"),
                             replay_data=fer.split("Training"))
        seconds = time.perf_counter() - t
    print(f"personalised in {seconds:.0f} s on {result.card['data']['train_faces']} user faces "
          f"+ {result.card['data']['replay_faces']} FER2013 replay faces; "
          f"held out: {result.card['data']['holdout_faces']} user faces")
    print(result.comparison()[["n", "accuracy", "macro_f1"]].round(4).to_string())


if __name__ == "__main__":
    main()
