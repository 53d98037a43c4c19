"""emoJ: an emotional journal and a facial-expression research library.

The public API, by layer (importing ``emoj_lib`` is quick: TensorFlow is imported where it is needed):

- labels: :data:`EMOTIONS` (FER2013 order), FER+ names and mappings;
- data: :func:`read_fer_csv`, :func:`write_fer_csv`, :class:`FerData`, image folders, FER+ votes,
  hygiene, the ``tf.data`` pipeline;
- faces: :func:`load_image`, :func:`detect_faces`, :func:`crop_face`, :func:`find_faces`, :func:`crop_folder`;
- models: :func:`build_model`, :func:`list_architectures`; cards: :func:`load_model`;
- training: :class:`TrainConfig`, :func:`train_stage1`, :class:`TransferConfig`, :func:`fine_tune`;
  evaluation: accuracy tables, confusion matrices, :func:`evaluation_report`;
- recognizer: :class:`Recognizer` (photo in, faces and emotions out);
- journal: :class:`Journal`, :class:`Entry`, :func:`read_journal`; stage 3: the journal's adapter
  (:func:`journal_recognizer`, :func:`journal_model`, :func:`fit_adapter`, :func:`your_model`) and
  :func:`personalize`; people folders (:func:`layout_people`, :func:`read_people`).
"""

from emoj_lib.cards import load_model, read_card, write_card
from emoj_lib.data import FerData, read_fer_csv, write_fer_csv
from emoj_lib.data.ferplus import FerPlusVotes, ferplus_for, read_ferplus
from emoj_lib.data.folders import export_image_folder, read_image_folder
from emoj_lib.data.hygiene import HygieneReport, hygiene_mask, hygiene_report
from emoj_lib.data.people import layout_people, read_people
from emoj_lib.data.pipeline import Augmentation, class_weights, make_dataset
from emoj_lib.data.sampling import stratified_sample, stratified_split
from emoj_lib.errors import DataFormatError, EmojError, ImageReadError, MultipleFacesError, NoFaceError
from emoj_lib.evaluation import (
    accuracy,
    classification_table,
    compare_models,
    confusion_matrix,
    evaluate_splits,
    evaluation_report,
    macro_f1,
    predict_proba,
)
from emoj_lib.faces import Box, Face, crop_face, crop_folder, detect_faces, find_faces, load_image
from emoj_lib.journal import Entry, Journal, read_journal
from emoj_lib.labels import EMOTIONS, FERPLUS_EMOTIONS, FERPLUS_TO_FER, emotion_index
from emoj_lib.models import build_model, list_architectures, register_architecture
from emoj_lib.personal import (
    JournalAdapter,
    current_model,
    fit_adapter,
    journal_model,
    journal_recognizer,
    personalize,
    your_model,
)
from emoj_lib.recognizer import FaceReading, Recognizer
from emoj_lib.training import TrainConfig, train_stage1
from emoj_lib.transfer import TransferConfig, fine_tune

__version__ = "0.1.0"

__all__ = [
    "EMOTIONS",
    "FERPLUS_EMOTIONS",
    "FERPLUS_TO_FER",
    "Augmentation",
    "Box",
    "DataFormatError",
    "EmojError",
    "Entry",
    "Face",
    "FaceReading",
    "FerData",
    "FerPlusVotes",
    "HygieneReport",
    "ImageReadError",
    "Journal",
    "JournalAdapter",
    "MultipleFacesError",
    "NoFaceError",
    "Recognizer",
    "TrainConfig",
    "TransferConfig",
    "accuracy",
    "build_model",
    "class_weights",
    "classification_table",
    "compare_models",
    "confusion_matrix",
    "crop_face",
    "crop_folder",
    "current_model",
    "detect_faces",
    "emotion_index",
    "evaluate_splits",
    "evaluation_report",
    "export_image_folder",
    "ferplus_for",
    "find_faces",
    "fine_tune",
    "fit_adapter",
    "hygiene_mask",
    "hygiene_report",
    "journal_model",
    "journal_recognizer",
    "layout_people",
    "list_architectures",
    "load_image",
    "load_model",
    "macro_f1",
    "make_dataset",
    "personalize",
    "predict_proba",
    "read_card",
    "read_fer_csv",
    "read_ferplus",
    "read_image_folder",
    "read_journal",
    "read_people",
    "register_architecture",
    "stratified_sample",
    "stratified_split",
    "train_stage1",
    "write_card",
    "write_fer_csv",
    "your_model",
]
