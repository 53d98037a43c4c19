"""Write the research notebooks (``notebooks/*.ipynb``) from the cell texts below.

The notebooks are committed, without outputs, and this script is their source: edit a cell here,
run ``python scripts/make_notebooks.py``, and commit both. ``--check`` exits 1 if a committed notebook
differs from what this script writes (the tests run it).

Rules the notebooks follow (checked by ``tests/test_notebooks.py``): the first code cell is tagged
``parameters`` and holds every path, size and epoch count; a few library calls per cell; no function or
class is defined in a notebook (logic belongs in ``emoj_lib``).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import nbformat

from emoj_lib.notebooks import build_notebook

NOTEBOOKS_DIR = Path(__file__).resolve().parent.parent / "notebooks"


def md(text: str) -> tuple[str, str]:
    """Return a markdown cell."""
    return ("markdown", text.strip("\n"))


def code(text: str) -> tuple[str, str]:
    """Return a code cell."""
    return ("code", text.strip("\n"))


def parameters(text: str) -> tuple[str, str]:
    """Return the parameters cell (a code cell tagged ``parameters``)."""
    return ("parameters", text.strip("\n"))


PROVENANCE = """
print(f"emoj_lib {emoj_lib.__version__}, commit {git_commit()}, python {sys.executable}")
"""

EXPLORE = [
    md("""
# 00 · FER2013 at a glance

Before training anything we look at what the model will learn from. FER2013 (Goodfellow et al., 2013) holds
35,887 grayscale faces of 48x48 pixels, each labelled with one of seven emotions and assigned to a split by its
`Usage` column: *Training* to learn, *PublicTest* to select models, *PrivateTest* to report once.

This notebook shows the class balance of each split, sample faces per emotion, pixel statistics, the data set's
known defects (duplicates, train/test leakage, blank images), and how well the original labels agree with the
ten crowd votes per face of FER+ (Barsoum et al., 2016).
"""),
    parameters("""
fer_path = None  # FER2013 CSV (emotion,pixels,Usage); None: the shared copy, emoj_lib.config.fer2013_path()
ferplus_path = None  # FER+ votes (fer2013new.csv) for the same rows; None: emoj_lib.config.ferplus_path()
faces_per_emotion = 8  # sample faces drawn per emotion
seed = 0  # which sample faces are drawn
out_dir = None  # where the figures are written; None: reports/00_explore_data/
"""),
    code("""
import sys
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import seaborn as sns

import emoj_lib
from emoj_lib import config
from emoj_lib.cards import git_commit
from emoj_lib.data import read_fer_csv
from emoj_lib.data.ferplus import agreement, ferplus_for, read_ferplus
from emoj_lib.data.hygiene import hygiene_report
from emoj_lib.evaluation import accuracy
from emoj_lib.labels import EMOTIONS
from emoj_lib.plots import plot_emotion_grid, plot_faces

out_dir = Path(out_dir or config.REPORTS_DIR / "00_explore_data")
out_dir.mkdir(parents=True, exist_ok=True)
""" + PROVENANCE),
    code("""
fer = read_fer_csv(fer_path or config.fer2013_path())
print(f"{len(fer):,} faces from {fer.source}")
"""),
    md("""
## Splits and class balance

The splits come from the `Usage` column, never from row numbers. The classes are far from balanced: *happy* is
about a quarter of every split and *disgust* under 2%, so plain accuracy flatters a model that ignores the rare
classes; we also report macro F1 in the training notebooks. The three splits share the same class mix, so
PublicTest is a fair stand-in for PrivateTest when selecting models.
"""),
    code("""
counts = fer.counts()
counts
"""),
    code("""
shares = counts.drop(columns="total").div(counts["total"], axis=0)
shares.round(3)
"""),
    code("""
ax = counts.drop(columns="total").T.plot.bar(figsize=(10, 4), ylabel="faces", rot=0,
                                             title="Faces per emotion and split")
ax.figure.savefig(out_dir / "class_balance.png", dpi=110, bbox_inches="tight")
"""),
    md("""
## What the faces look like

A random draw of Training faces per emotion (the number of Training faces of each emotion in brackets). Expect
variety in pose, age, lighting and cropping, watermarks, some drawings, and a few images that are not faces at
all. Below, the mean face of each emotion over all splits: even the average shows the open mouth of *surprise*
and the smile of *happy*.
"""),
    code("""
ax = plot_emotion_grid(fer.split("Training"), per_emotion=faces_per_emotion, seed=seed)
ax.set_title("Random Training faces per emotion")
ax.figure.savefig(out_dir / "faces_per_emotion.png", dpi=110, bbox_inches="tight")
"""),
    code("""
mean_faces = np.stack([fer.images[fer.labels == k].mean(axis=0) for k in range(len(EMOTIONS))])
ax = plot_faces(mean_faces, EMOTIONS, ncols=len(EMOTIONS), title="Mean face per emotion")
ax.figure.savefig(out_dir / "mean_faces.png", dpi=110, bbox_inches="tight")
"""),
    md("""
## Pixel statistics

Brightness (the mean pixel of a face) and contrast (its standard deviation), per emotion and per split. The models
rescale pixels to 0..1 themselves and training augments brightness and contrast, so small differences matter
little; a large one would be a shortcut a model could learn instead of the expression (on FER2013, *surprise*
faces are somewhat brighter than the rest). The splits should look alike.
"""),
    code("""
flat = fer.images.reshape(len(fer), -1)
pixels = pd.DataFrame({"split": fer.usage, "emotion": np.asarray(EMOTIONS)[fer.labels],
                       "brightness": flat.mean(axis=1), "contrast": flat.std(axis=1)})
pixels.groupby("emotion")[["brightness", "contrast"]].agg(["mean", "std"]).round(1)
"""),
    code("""
fig, axes = plt.subplots(1, 2, figsize=(12, 3.5))
sns.histplot(pixels, x="brightness", hue="split", stat="density", common_norm=False, element="step", ax=axes[0])
sns.histplot(pixels, x="contrast", hue="split", stat="density", common_norm=False, element="step", ax=axes[1])
fig.savefig(out_dir / "pixel_statistics.png", dpi=110, bbox_inches="tight")
"""),
    md("""
## Hygiene: duplicates, leakage, blank images

FER2013 was collected by image search, and it shows: some images occur several times, sometimes with different
labels, and some Training images reappear in the test splits (leakage, which inflates test accuracy a little).
A few images are entirely black. `hygiene_report` counts them all; stage 1 drops the blank faces by default and
can drop the others (`TrainConfig(drop_leaking=..., drop_duplicates=..., drop_conflicting=...)`).
"""),
    code("""
report = hygiene_report(fer)
report.to_frame()
"""),
    code("""
groups = report.groups[~report.groups["index"].isin(report.blank)].sort_values(["group", "index"])
leaked = groups[groups.groupby("group")["usage"].transform("nunique") > 1].head(16)
conflicting = groups[groups.groupby("group")["label"].transform("nunique") > 1].head(16)
fig, axes = plt.subplots(2, 1, figsize=(9.6, 6.4))
plot_faces(fer.images[leaked["index"]],
           [f"{u}\\n{EMOTIONS[k]}" for u, k in zip(leaked["usage"], leaked["label"], strict=True)],
           ax=axes[0], title="The same image in Training and a test split (neighbours are copies)")
plot_faces(fer.images[conflicting["index"]],
           [f"{u}\\n{EMOTIONS[k]}" for u, k in zip(conflicting["usage"], conflicting["label"], strict=True)],
           ax=axes[1], title="The same image with different labels")
fig.savefig(out_dir / "duplicates.png", dpi=110, bbox_inches="tight")
"""),
    code("""
odd = np.concatenate([report.blank, report.near_constant])
ax = plot_faces(fer.images[odd], [f"row {fer.rows[i]}\\n{fer.usage[i]}" for i in odd],
                title="Blank and near-constant images")
"""),
    md("""
## FER+: do the crowd and the original labels agree?

FER+ asked ten people to label every FER2013 image, with eight emotions (FER2013's seven plus *contempt*) and
*unknown* / *not a face*. Rows are the original label, columns the FER+ majority; each row is normalised, so the
diagonal (in FER+'s names) is the share of faces whose crowd majority confirms the original label. Much of the
confusion of a FER2013 model is already here, in the labels.
"""),
    code("""
votes = read_ferplus(ferplus_path or config.ferplus_path())
table = agreement(fer, votes)
table
"""),
    code("""
fig, ax = plt.subplots(figsize=(9, 5.5))
sns.heatmap(table.div(table.sum(axis=1), axis=0), annot=True, fmt=".2f", cmap="Blues", cbar=False, ax=ax)
ax.set_title("FER2013 label (rows) vs FER+ majority (columns), row-normalised")
ax.tick_params(axis="x", rotation=30)
fig.savefig(out_dir / "ferplus_agreement.png", dpi=110, bbox_inches="tight")
"""),
    code("""
hard, _ = ferplus_for(fer, votes).fer_labels()
mapped = hard >= 0
print(f"The FER+ majority, mapped to the seven FER2013 emotions, agrees with the original label on "
      f"{accuracy(fer.labels[mapped], hard[mapped]):.1%} of {mapped.sum():,} faces; "
      f"{(~mapped).sum():,} faces have no such majority (unknown, not a face, contempt).")
"""),
    md("""
**Takeaways.** Expect rare classes (*disgust*) to be recognised poorly unless weighted, a ceiling on accuracy set
by label noise (FER+ disagrees with a sizeable share of labels), and a small optimistic bias on the test splits
from leaked duplicates. The next notebook trains a stage-1 model with these in mind.
"""),
]

STAGE1 = [
    md("""
# 01 · Stage 1: a CNN trained on FER2013

Stage 1 trains a network from scratch on FER2013 *Training*, keeps the weights of the epoch with the best
*PublicTest* accuracy, and reports every split, *PrivateTest* being the figure to quote. Everything that defines
the run is a `TrainConfig`, recorded in the model card saved beside the model; the run folder is resumable, so a
run stopped midway continues from its last finished epoch when this notebook is run again with the same
parameters.
"""),
    parameters("""
fer_path = None  # FER2013 CSV; None: the shared copy, emoj_lib.config.fer2013_path()
ferplus_path = None  # FER+ votes, read only when train_options asks for FER+ labels; None: the shared copy
architecture = "emojnet"  # a name from emoj_lib.models.list_architectures()
hyperparameters = {}  # the architecture's keyword hyperparameters, e.g. {"width": 32}
epochs = 40  # epoch budget (early stopping may end sooner)
sample = None  # train on this many Training faces only (stratified); None: all of them
seed = 0  # seeds weights, shuffling and augmentation
train_options = {}  # any other TrainConfig field, e.g. {"labels": "ferplus", "class_weight_power": 0.5}
run_dir = None  # the run folder; None: runs/stage1-<architecture>-seed<seed>
n_mistakes = 24  # worst mistakes shown
out_dir = None  # where the figures are written; None: reports/01_stage1_fer2013/
"""),
    code("""
import sys
from pathlib import Path

import pandas as pd

import emoj_lib
from emoj_lib import config
from emoj_lib.cards import git_commit
from emoj_lib.data import read_fer_csv
from emoj_lib.evaluation import (
    classification_table,
    plot_confusion_matrix,
    plot_history,
    predict_proba,
    worst_mistakes,
)
from emoj_lib.models import list_architectures
from emoj_lib.plots import plot_mistakes
from emoj_lib.training import TrainConfig, train_stage1

out_dir = Path(out_dir or config.REPORTS_DIR / "01_stage1_fer2013")
out_dir.mkdir(parents=True, exist_ok=True)
""" + PROVENANCE),
    md("""
## The architectures

Architectures are registered by name; the run names one and may override its hyperparameters. The table lists
them with their default sizes.
"""),
    code("""
list_architectures()
"""),
    md("""
## The run's configuration

Defaults: AdamW with a one-epoch warm-up and cosine decay, label smoothing 0.1, flips, small rotations, shifts,
zooms and brightness/contrast changes, blank faces dropped, early stopping after 12 epochs without a better
PublicTest accuracy.
"""),
    code("""
fer = read_fer_csv(fer_path or config.fer2013_path())
train_config = TrainConfig(architecture=architecture, hyperparameters=hyperparameters, epochs=epochs,
                           sample=sample, seed=seed, **train_options)
pd.Series(train_config.to_dict(), dtype=object).to_frame("value")
"""),
    md("""
## Training

One line per epoch. On the full data and two CPU cores an epoch of the default emojnet takes minutes; the best
weights and a CSV log are kept in the run folder as it goes.
"""),
    code("""
result = train_stage1(train_config, fer=fer, ferplus_path=ferplus_path, run_dir=run_dir, verbose=2)
print(f"model: {result.model_path}")
print(f"card:  {result.model_path.with_suffix('.json')}")
"""),
    code("""
axes = plot_history(result.history)
axes[0].figure.savefig(out_dir / "curves.png", dpi=110, bbox_inches="tight")
"""),
    md("""
## Accuracy per split

`evaluate_splits` on every split the run used (with `sample`, the sampled faces), with and without flip
test-time augmentation (`*_tta`: each face and its mirror image averaged). Training accuracy is measured without
augmentation, so the gap to PublicTest is the generalisation gap; PrivateTest was never looked at during
training.
"""),
    code("""
result.metrics.round(4)
"""),
    md("""
## Where the model goes wrong (PrivateTest)

The confusion matrix is row-normalised: the diagonal is each emotion's recall. FER2013 models typically confuse
*fear* with *sad* and *surprise*, and *disgust* with *angry*, as the FER+ votes in notebook 00 already suggest.
"""),
    code("""
test = fer.split("PrivateTest")
proba = predict_proba(result.model, test.images, tta=True)
ax = plot_confusion_matrix(test.labels, proba, title=f"PrivateTest ({len(test):,} faces), flip TTA")
ax.figure.savefig(out_dir / "confusion_PrivateTest.png", dpi=110, bbox_inches="tight")
"""),
    code("""
classification_table(test.labels, proba).round(3)
"""),
    md("""
The most confident wrong predictions: each face with its label, what the model read and with what probability.
Some are the model's errors; many are doubtful labels, non-faces or duplicates flagged in notebook 00.
"""),
    code("""
mistakes = worst_mistakes(test.labels, proba, n=n_mistakes)
ax = plot_mistakes(test.images, mistakes, title="Most confident mistakes on PrivateTest")
ax.figure.savefig(out_dir / "worst_mistakes.png", dpi=110, bbox_inches="tight")
"""),
    md("""
The model and its card are in the run folder. To make it the shipped model, copy both to
`models/emoj_fer2013.keras` and `models/emoj_fer2013.json` (or train with `emoj train stage1 --export`); stage 2
(notebook 02) starts from it.
"""),
]

STAGE2 = [
    md("""
# 02 · Stage 2: transfer to new faces

A FER2013 model meets faces unlike its training data: another camera, other lighting, other people, colour photos
cropped by our own face finder. Stage 2 adapts it with a modest number of labelled photos. The photos go through
the same path as the journal's (load, detect, crop to 48x48 grayscale); then the classifier head is trained with
the feature blocks frozen, and the top blocks are unfrozen at a lower learning rate.

We measure accuracy before and after on held-out new faces and on FER2013 *PrivateTest*: the first should rise,
and the second tells how much of FER2013 the model forgot.
"""),
    parameters("""
photos_dir = None  # labelled photos, <root>/<emotion>/*.jpg (or <root>/<split>/<emotion>/...); None: data/raw/photos
base_model = None  # the stage-1 model (.keras with its card); None: the shipped models/emoj_fer2013.keras
fer_path = None  # FER2013 CSV, for the PrivateTest figures; None: the shared copy
face_options = {}  # how faces are found in photos (emoj_lib.faces.find_faces options), e.g. {"policy": "largest"}
head_epochs = 5  # phase 1: only the classifier head trains
fine_tune_epochs = 5  # phase 2: the top blocks train too
seed = 0  # seeds the held-out split, shuffling and augmentation
transfer_options = {}  # any other TransferConfig field, e.g. {"unfreeze_blocks": 1, "new_head": True}
run_dir = None  # the run folder; None: runs/stage2-<base model name>
out_dir = None  # where the figures are written; None: reports/02_stage2_transfer/
"""),
    code("""
import sys
from pathlib import Path

import matplotlib.pyplot as plt
import pandas as pd

import emoj_lib
from emoj_lib import config
from emoj_lib.cards import git_commit, load_model, read_card
from emoj_lib.data import read_fer_csv
from emoj_lib.data.folders import read_image_folder
from emoj_lib.evaluation import plot_confusion_matrix, plot_history, predict_proba
from emoj_lib.plots import plot_emotion_grid
from emoj_lib.recognizer import default_model_path
from emoj_lib.transfer import TransferConfig, fine_tune

photos_dir = Path(photos_dir or config.LOCAL_DATA_DIR / "raw" / "photos")
base_model = Path(base_model or default_model_path())
out_dir = Path(out_dir or config.REPORTS_DIR / "02_stage2_transfer")
out_dir.mkdir(parents=True, exist_ok=True)
""" + PROVENANCE),
    md("""
## From photos to faces

Every photo is read and its face found and cropped exactly as in the journal; a photo with no face, several
faces or that cannot be read is left out, and the report says why. Images that are already 48x48 are taken as
faces as they are.
"""),
    code("""
data, report = read_image_folder(photos_dir, **face_options)
report["status"].value_counts().to_frame()
"""),
    code("""
report[report["status"] != "kept"]
"""),
    code("""
data.counts()
"""),
    code("""
ax = plot_emotion_grid(data, per_emotion=8, seed=seed)
ax.set_title("The new faces, as the model sees them")
ax.figure.savefig(out_dir / "new_faces.png", dpi=110, bbox_inches="tight")
"""),
    md("""
## The starting model

Its card says how it was trained and how it scored on FER2013.
"""),
    code("""
base_card = read_card(base_model)
print(f"{base_card['name']}: stage {base_card['stage']}, {base_card['architecture']}, trained {base_card['date']}")
pd.DataFrame(base_card["metrics"]).T
"""),
    md("""
## Transfer

The new faces are split into held-out faces (20% by default, stratified; a `test`/`val` folder is used instead
when the photos have one), validation faces to pick the best epoch, and training faces.
"""),
    code("""
reference = read_fer_csv(fer_path or config.fer2013_path(), usage=["PrivateTest"])
transfer_config = TransferConfig(head_epochs=head_epochs, fine_tune_epochs=fine_tune_epochs, seed=seed,
                                 **transfer_options)
pd.Series(transfer_config.to_dict(), dtype=object).to_frame("value")
"""),
    code("""
result = fine_tune(base_model, data, transfer_config, run_dir=run_dir, reference=reference, verbose=2)
print(f"model: {result.model_path}")
"""),
    code("""
axes = plot_history(result.history.drop(columns="epoch"))
axes[0].set_xlabel(f"epoch (head: {head_epochs}, then fine-tuning: {fine_tune_epochs})")
axes[0].figure.savefig(out_dir / "curves.png", dpi=110, bbox_inches="tight")
"""),
    md("""
## Before and after

`holdout` is the new faces held out from training; `reference` is FER2013 PrivateTest. A gain on the first with
a small loss on the second is the expected trade; a large loss on the second means the new data pulled the model
too far (fewer unfrozen blocks, a lower learning rate, or FER2013 replay via `transfer_options={"replay": ...}`).
"""),
    code("""
comparison = result.comparison()
comparison.round(4)
"""),
    code("""
ax = comparison["accuracy"].unstack()[["before", "after"]].plot.bar(rot=0, ylabel="accuracy", ylim=(0, 1),
                                                                  title="Accuracy before and after transfer")
ax.figure.savefig(out_dir / "before_after.png", dpi=110, bbox_inches="tight")
"""),
    code("""
held = result.holdout  # the faces fine_tune held out
base, _ = load_model(base_model)
fig, axes = plt.subplots(1, 2, figsize=(13, 5.5))
plot_confusion_matrix(held.labels, predict_proba(base, held.images), ax=axes[0], title="held-out faces, before")
plot_confusion_matrix(held.labels, predict_proba(result.model, held.images), ax=axes[1],
                      title="held-out faces, after")
fig.savefig(out_dir / "confusion_holdout.png", dpi=110, bbox_inches="tight")
"""),
    md("""
The adapted model is saved with its card (stage 2, the base model, the data's fingerprint and these figures) in
the run folder; the journal can use it with `Recognizer(model_path)`.
"""),
]

STAGE3 = [
    md("""
# 03 · Stage 3: a personal model from the journal

Stage 1 learnt expressions from FER2013's strangers and stage 2 adapted that model to new kinds of photos.
Stage 3 adapts it to one person, the journal's owner. Every entry the user labelled, confirming the model's
reading or correcting it, is a face of that person with a label they vouch for. `personalize` fine-tunes the
journal's current model on those faces (the classifier head first, then the top feature block at a low learning
rate) and saves the result in the journal folder as the next version, which the journal app then uses. It is
what `emoj journal personalize` runs.

Three choices keep it honest:

- **Replay against forgetting.** A few dozen or hundred faces of one person pull the network towards that
  person's face, camera and lighting, and away from everybody else. A sample of FER2013 Training faces is mixed
  into the training faces (by default twice as many as the user's, at most 4,000) to keep the general skill, and
  FER2013 PrivateTest, measured before and after, shows how much of it was lost.
- **Held-out entries.** A quarter of the labelled entries (stratified by emotion) is never trained on; accuracy on
  them before and after is the measure of the gain. With 80 entries or more, a further 15% picks the best epoch.
- **Versions kept.** Each run writes `models/personal-v<N>.keras` with its card (base model, faces used,
  before/after figures) and keeps the earlier versions: the journal uses the latest, so deleting a version that
  turned out worse falls back to the one before. Nothing leaves the journal folder (owner-only permissions).
"""),
    parameters("""
journal_dir = None  # the user's journal folder; None: emoj_lib.config.journal_dir() (~/emoj-journal by default)
base_model = None  # the starting model (.keras with its card); None: the journal's current model (latest version)
min_labelled = 20  # do not personalise below this many labelled entries (emoj_lib.personal.MIN_LABELLED)
head_epochs = None  # phase 1: only the classifier head trains; None: as default_personal_config
fine_tune_epochs = None  # phase 2: the top block trains too; None: as default_personal_config
replay = None  # FER2013 Training faces mixed in against forgetting; None: as default_personal_config; 0: none
fer_path = None  # FER2013 CSV: Training is replayed, PrivateTest the reference; None: the shared copy, if any
seed = 0  # seeds the held-out split, the replay sample, shuffling and augmentation
out_dir = None  # where the figures are written; None: reports/03_stage3_personalize/
"""),
    code("""
import sys
from dataclasses import replace
from pathlib import Path

import matplotlib.pyplot as plt
import pandas as pd
from IPython.display import display

import emoj_lib
from emoj_lib import config
from emoj_lib.cards import git_commit, load_model, read_card
from emoj_lib.data import read_fer_csv
from emoj_lib.evaluation import plot_confusion_matrix, predict_proba
from emoj_lib.journal import Journal, correction_rate, plot_corrections
from emoj_lib.personal import (
    PersonalizationError,
    current_model,
    default_personal_config,
    personal_versions,
    personalize,
)

journal = Journal(journal_dir)
base_model = Path(base_model or current_model(journal.folder))
fer_path = fer_path or (config.fer2013_path() if config.fer2013_path().is_file() else None)
out_dir = Path(out_dir or config.REPORTS_DIR / "03_stage3_personalize")
out_dir.mkdir(parents=True, exist_ok=True)
""" + PROVENANCE),
    md("""
## The journal at a glance

Every entry is a face the model read; the user may label it later (an amendment row: the latest label wins).
Only labelled entries train. Below, the last entries, then the labelled faces per emotion: an emotion the user
never labelled cannot be learnt, and the held-out figures for an emotion with two or three faces are noise.
"""),
    code("""
data = journal.read()
entries, labelled = data.entries, data.labelled_faces()
print(f"{journal.path}: {len(entries):,} entries, {len(labelled):,} labelled by the user "
      f"(personalisation needs at least {min_labelled})")
entries[["timestamp", "source", "emotion", "confidence", "user_label", "model", "model_version"]].tail(8)
"""),
    code("""
labelled.counts()
"""),
    md("""
## Where the model fails this person

For each predicted emotion (rows), how the user labelled it (columns): the diagonal holds confirmations, the
rest corrections. The correction rate per predicted emotion shows where the model misreads this face most, and
where personalisation has most to gain; a journal of confirmations only has little to teach the model.
"""),
    code("""
correction_rate(entries).round(3)
"""),
    code("""
ax = plot_corrections(entries)
ax.figure.savefig(out_dir / "corrections.png", dpi=110, bbox_inches="tight")
"""),
    md("""
## Settings

`default_personal_config` scales the settings to the number of labelled faces; the parameters above override
the epochs and the replay. Replay faces and the reference set come from FER2013 (`fer_path`).
"""),
    code("""
defaults = default_personal_config(len(labelled), seed=seed)
personal_config = replace(
    defaults,
    head_epochs=defaults.head_epochs if head_epochs is None else head_epochs,
    fine_tune_epochs=defaults.fine_tune_epochs if fine_tune_epochs is None else fine_tune_epochs,
    replay=defaults.replay if replay is None else replay,
)
fer = read_fer_csv(fer_path) if fer_path else None
print(f"starting from {base_model}")
print(f"FER2013: {fer.source if fer is not None else 'none (no replay, no reference)'}")
pd.Series(personal_config.to_dict(), dtype=object).to_frame("value")
"""),
    md("""
## Personalisation

`personalize` refuses a journal with fewer than `min_labelled` labelled entries; the notebook then prints why
and the cells that need the new model do nothing. Run it again once more entries are confirmed or corrected.
"""),
    code("""
result = None
try:
    result = personalize(journal, config=personal_config, min_labelled=min_labelled, base_model=base_model,
                         replay_data=fer.split("Training") if fer is not None else None,
                         reference=fer.split("PrivateTest") if fer is not None else None, verbose=2)
    print(f"personal model: {result.model_path}")
except PersonalizationError as exc:
    print(f"not personalised: {exc}")
"""),
    md("""
## Before and after

`holdout` is the user's held-out entries, `reference` FER2013 PrivateTest. Expect a gain on the first and a
small loss, or none, on the second; a large loss means the user's faces pulled the model too far (more replay,
fewer epochs). The held-out set is small (a quarter of the labelled entries), so a difference of one face moves
its accuracy by several points.
"""),
    code("""
if result is not None:
    comparison = result.comparison()
    display(comparison.round(4))
"""),
    code("""
if result is not None:
    held = result.holdout
    base, _ = load_model(base_model)
    fig, axes = plt.subplots(1, 3, figsize=(19, 5.5), gridspec_kw={"width_ratios": [0.7, 1, 1]})
    comparison["accuracy"].unstack()[["before", "after"]].plot.bar(
        ax=axes[0], rot=0, ylabel="accuracy", ylim=(0, 1), title="Accuracy before and after")
    plot_confusion_matrix(held.labels, predict_proba(base, held.images), ax=axes[1],
                          title=f"held-out entries ({len(held)}), before")
    plot_confusion_matrix(held.labels, predict_proba(result.model, held.images), ax=axes[2],
                          title=f"held-out entries ({len(held)}), after")
    fig.savefig(out_dir / "before_after.png", dpi=110, bbox_inches="tight")
"""),
    md("""
## The personal models of this journal

Oldest first; the journal app uses the last one. Each card records what the version was trained from and its
held-out accuracy before and after.
"""),
    code("""
cards = pd.json_normalize([read_card(path) for _, path in personal_versions(journal.folder)])
print(f"the journal now uses {current_model(journal.folder)}")
cards.reindex(columns=["version", "date", "base_model.name", "data.train_faces", "data.replay_faces",
                       "data.holdout_faces", "metrics.before.holdout.accuracy", "metrics.after.holdout.accuracy",
                       "metrics.after.reference.accuracy"])
"""),
]

TUNING = [
    md("""
# 04 · Hyperparameter search

Notebook 01 trains one configuration; this one searches the `emojnet` family with keras-tuner
(`emoj_lib.tuning`). The search space (every hyperparameter has a default, and the defaults are notebook 01's
stage-1 configuration):

| hyperparameter | values | where |
|---|---|---|
| `depth` | 2 .. `max_depth` blocks | network |
| `width` | 16, 32, 48, 64 filters in the first block (doubling per block, at most 256) | network |
| `convs_per_block` | 1 .. 3 | network |
| `dropout` | 0 .. 0.6, before the classifier | network |
| `dense` | 64, 128, 256, 512 units | network |
| `learning_rate` | 1e-4 .. 3e-3, log scale | optimiser (AdamW) |
| `label_smoothing` | 0 .. 0.2 | loss |
| `augment_strength` | 0 .. 1.5 times the default augmentation | training data |
| `batch_size` | 32, 64, 128 | training data |

Every trial trains on FER2013 *Training* and is scored by its best *PublicTest* accuracy (`val_accuracy`);
*PrivateTest* is left for the retrained best configuration. The tuners:

- **hyperband** (Li et al., 2018) runs many configurations for a few epochs and gives the best of them more,
  up to `max_epochs` (successive halving, factor 3): many configurations for the compute;
- **bayesian** fits a Gaussian process to the scores so far and picks the next trial where it expects the most
  (`max_trials` trials of `epochs` epochs);
- **random** draws `max_trials` configurations at random: the baseline the other two should beat.

Trials are saved in `directory/project_name`, so a search that stops resumes where it was when this notebook is
run again with the same parameters. To spread a search over several machines, run `emoj tune` with
`--role chief` on one and `--role worker` on the others, sharing one `--directory` (see the README); this notebook
can then read the finished search with the same `tuner`, `directory` and `project_name`.
"""),
    parameters("""
fer_path = None  # FER2013 CSV; None: the shared copy, emoj_lib.config.fer2013_path()
sample = None  # search on this many Training faces (stratified), a fifth as many PublicTest faces; None: all
tuner = "hyperband"  # "hyperband", "bayesian" or "random"
max_trials = 10  # trials of the bayesian and random tuners (Hyperband's budget comes from max_epochs)
max_epochs = 10  # Hyperband's largest epoch budget per trial
epochs = 10  # epochs per trial of the bayesian and random tuners
max_depth = 5  # largest number of blocks searched
directory = None  # where the trials are kept (resumable); None: runs/tuning-notebook
project_name = "emojnet"  # the search's folder inside directory
overwrite = False  # True: start afresh instead of resuming the project
retrain_epochs = 40  # epoch budget of the best configuration's retraining
seed = 0  # seeds the search, every trial and the retraining
out_dir = None  # where the figures are written; None: reports/04_tuning/
"""),
    code("""
import sys
from pathlib import Path

import matplotlib.pyplot as plt
import pandas as pd

import emoj_lib
from emoj_lib import config
from emoj_lib.cards import git_commit
from emoj_lib.data import read_fer_csv
from emoj_lib.evaluation import plot_history
from emoj_lib.training import TrainConfig, stage1_data, train_stage1
from emoj_lib.tuning import best_train_config, make_tuner, plot_results, results_table, run_search

directory = Path(directory or config.RUNS_DIR / "tuning-notebook")
out_dir = Path(out_dir or config.REPORTS_DIR / "04_tuning")
out_dir.mkdir(parents=True, exist_ok=True)
""" + PROVENANCE),
    md("""
## The faces

`stage1_data` prepares them as stage 1 does: blank Training faces dropped, then the stratified `sample`.
"""),
    code("""
fer = read_fer_csv(fer_path or config.fer2013_path())
prepared = stage1_data(fer, TrainConfig(sample=sample, seed=seed))
print(f"{fer.source}: {prepared['dropped']} Training faces dropped (blank)")
pd.concat([prepared["train"].counts(), prepared["val"].counts()])
"""),
    md("""
## The search

keras-tuner prints the current trial and clears it when the next begins; every trial is in the results below.
"""),
    code("""
search = make_tuner(tuner, directory=directory, project_name=project_name, max_trials=max_trials,
                    max_epochs=max_epochs, seed=seed, overwrite=overwrite, max_depth=max_depth)
search.search_space_summary()
"""),
    code("""
search = run_search(search, prepared["train"], prepared["val"], epochs=epochs, verbose=2)
"""),
    md("""
## Results

Every trial, best first: its score (best PublicTest accuracy over its epochs) and hyperparameters. With Hyperband,
a configuration appears once per round it reached, with more epochs each time. On a sample the scores are noisy:
trust large differences and trends, not the order of near ties.
"""),
    code("""
results = results_table(search)
results
"""),
    code("""
fig, axes = plt.subplots(1, 3, figsize=(17, 4))
plot_results(results, ax=axes[0])
plot_results(results, param="width", ax=axes[1])
plot_results(results, param="dropout", ax=axes[2])
fig.savefig(out_dir / "tuning_results.png", dpi=110, bbox_inches="tight")
"""),
    md("""
## The best configuration, retrained

The best trial's hyperparameters become a stage-1 `TrainConfig` (the same faces: `sample`), trained for
`retrain_epochs` with early stopping on PublicTest and reported on every split, PrivateTest included. The model
and its card go to `directory/project_name/best`, the folder `emoj tune --retrain-epochs` uses; it resumes a
stopped retraining, and refuses another configuration (after a longer search found a new best, move it away).
"""),
    code("""
best_config = best_train_config(search, epochs=retrain_epochs, seed=seed, sample=sample)
pd.Series(best_config.to_dict(), dtype=object).to_frame("value")
"""),
    code("""
best = train_stage1(best_config, fer=fer, run_dir=directory / project_name / "best", verbose=2)
print(f"model: {best.model_path}")
"""),
    code("""
axes = plot_history(best.history)
axes[0].figure.savefig(out_dir / "best_curves.png", dpi=110, bbox_inches="tight")
"""),
    code("""
best.metrics.round(4)
"""),
]

NOTEBOOKS = {
    "00_explore_data": EXPLORE,
    "01_stage1_fer2013": STAGE1,
    "02_stage2_transfer": STAGE2,
    "03_stage3_personalize": STAGE3,
    "04_tuning": TUNING,
}


def build(name: str) -> nbformat.NotebookNode:
    """Return the notebook ``name`` (no outputs, deterministic cell ids)."""
    return build_notebook(NOTEBOOKS[name], name[:2])


def render(name: str) -> str:
    """Return the text of notebook ``name`` as it is written to disk."""
    return nbformat.writes(build(name)) + "\n"


def main(argv: list[str] | None = None) -> int:
    """Write the notebooks, or check that the committed ones are up to date."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--check", action="store_true", help="exit 1 if a notebook differs from its source here")
    parser.add_argument("--out", type=Path, default=NOTEBOOKS_DIR, help="folder of the notebooks")
    args = parser.parse_args(argv)
    stale = []
    for name in NOTEBOOKS:
        path = args.out / f"{name}.ipynb"
        text = render(name)
        if args.check:
            if not path.is_file() or path.read_text(encoding="utf-8") != text:
                stale.append(path)
        else:
            args.out.mkdir(parents=True, exist_ok=True)
            path.write_text(text, encoding="utf-8")
            print(f"wrote {path}")
    if stale:
        print("out of date (run python scripts/make_notebooks.py):", *stale, sep="\n  ", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
