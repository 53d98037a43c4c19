"""emoJ: an emotional journal and a facial-expression research library.

The public API, by layer (importing ``emoj_lib`` is quick: TensorFlow is imported where it is needed):

- labels: :data:`EMOTIONS` (FER2013 order), FER+ names and mappings;
- data: :func:`read_fer_csv`, :func:`write_fer_csv`, :class:`FerData`, image folders, FER+ votes,
  hygiene, the ``tf.data`` pipeline;
- faces: :func:`load_image`, :func:`detect_faces`, :func:`crop_face`, :func:`find_faces`, :func:`crop_folder`;
- models: :func:`build_model`, :func:`list_architectures`; cards: :func:`load_model`;
- training: :class:`TrainConfig`, :func:`train_stage1`; evaluation: accuracy tables, confusion matrices.
"""

from emoj_lib.cards import load_model, read_card, write_card
from emoj_lib.data import FerData, read_fer_csv, write_fer_csv
from emoj_lib.data.ferplus import FerPlusVotes, ferplus_for, read_ferplus
from emoj_lib.data.folders import export_image_folder, read_image_folder
from emoj_lib.data.hygiene import HygieneReport, hygiene_mask, hygiene_report
from emoj_lib.data.pipeline import Augmentation, class_weights, make_dataset
from emoj_lib.errors import DataFormatError, EmojError, ImageReadError, MultipleFacesError, NoFaceError
from emoj_lib.evaluation import (
    accuracy,
    classification_table,
    compare_models,
    confusion_matrix,
    evaluate_splits,
    macro_f1,
    predict_proba,
)
from emoj_lib.faces import Box, Face, crop_face, crop_folder, detect_faces, find_faces, load_image
from emoj_lib.labels import EMOTIONS, FERPLUS_EMOTIONS, FERPLUS_TO_FER, emotion_index
from emoj_lib.models import build_model, list_architectures, register_architecture
from emoj_lib.training import TrainConfig, train_stage1

__version__ = "0.1.0"

__all__ = [
    "EMOTIONS",
    "FERPLUS_EMOTIONS",
    "FERPLUS_TO_FER",
    "Augmentation",
    "Box",
    "DataFormatError",
    "EmojError",
    "Face",
    "FerData",
    "FerPlusVotes",
    "HygieneReport",
    "ImageReadError",
    "MultipleFacesError",
    "NoFaceError",
    "TrainConfig",
    "accuracy",
    "build_model",
    "class_weights",
    "classification_table",
    "compare_models",
    "confusion_matrix",
    "crop_face",
    "crop_folder",
    "detect_faces",
    "emotion_index",
    "evaluate_splits",
    "export_image_folder",
    "ferplus_for",
    "find_faces",
    "hygiene_mask",
    "hygiene_report",
    "list_architectures",
    "load_image",
    "load_model",
    "macro_f1",
    "make_dataset",
    "predict_proba",
    "read_card",
    "read_fer_csv",
    "read_ferplus",
    "read_image_folder",
    "register_architecture",
    "train_stage1",
    "write_card",
    "write_fer_csv",
]
