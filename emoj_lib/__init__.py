"""emoJ: an emotional journal and a facial-expression research library.

The public API, by layer (importing ``emoj_lib`` is quick: TensorFlow is imported where it is needed):

- labels: :data:`EMOTIONS` (FER2013 order), FER+ names and mappings;
- data: :func:`read_fer_csv`, :func:`write_fer_csv`, :class:`FerData`, image folders, FER+ votes,
  hygiene, the ``tf.data`` pipeline;
- faces: :func:`load_image`, :func:`detect_faces`, :func:`crop_face`, :func:`find_faces` (options:
  :class:`DetectorOptions`, :class:`CropOptions`); folders of photos -> data sets: :func:`read_image_folder`;
- models: :func:`build_model`, :func:`list_architectures`; cards: :func:`load_model`; :class:`Ensemble`,
  :func:`distill`; the fast path :func:`export_model`; explanations :func:`explain` (Grad-CAM);
- training: :class:`TrainConfig`, :func:`train_stage1`, :class:`TransferConfig`, :func:`fine_tune`;
  inference: :func:`predict_proba` (TTA none/flip/tencrop); evaluation: accuracy tables, confusion matrices,
  :func:`evaluation_report`, Display objects (:class:`ConfusionMatrixDisplay`, :class:`ComparisonDisplay`);
- recognizer: :class:`Recognizer` (photo in, faces and emotions out);
- journal: :class:`Journal`, :class:`Entry`, :func:`read_journal`; stage 3: the journal's adapter
  (:func:`journal_recognizer`, :func:`journal_model`, :func:`fit_adapter`, :func:`your_model`) and
  :func:`personalize`; people folders (:func:`layout_people`, :func:`read_people`).
"""

from emoj_lib.cards import load_model, preprocessing, read_card, write_card
from emoj_lib.data import FerData, read_fer_csv, write_fer_csv
from emoj_lib.data.ferplus import FerPlusVotes, ferplus_for, read_ferplus
from emoj_lib.data.folders import export_image_folder, read_image_folder, save_face_set
from emoj_lib.data.hygiene import HygieneReport, hygiene_mask, hygiene_report
from emoj_lib.data.people import layout_people, read_people
from emoj_lib.data.pipeline import Augmentation, TrainingBatches, class_weights, make_dataset
from emoj_lib.data.sampling import stratified_sample, stratified_split
from emoj_lib.displays import ComparisonDisplay, ConfusionMatrixDisplay, HistoryDisplay
from emoj_lib.distill import distill, soft_targets, teacher_probabilities
from emoj_lib.ensemble import Ensemble
from emoj_lib.errors import (
    DataFormatError,
    DuplicateEntryError,
    EmojError,
    ImageReadError,
    JournalNotFoundError,
    MultipleFacesError,
    NoFaceError,
    StorageError,
    UnknownEntryError,
    UnsafeFileError,
)
from emoj_lib.evaluation import (
    accuracy,
    classification_table,
    compare_models,
    confusion_matrix,
    evaluate_splits,
    evaluation_report,
    macro_f1,
    paired_comparison,
)
from emoj_lib.explain import explain, overlay, save_explanation
from emoj_lib.export import FastModel, export_model
from emoj_lib.faces import (
    DEFAULT_POLICY,
    Box,
    CropOptions,
    DetectorOptions,
    Face,
    crop_face,
    detect_faces,
    find_faces,
    load_image,
)
from emoj_lib.inference import predict_proba
from emoj_lib.journal import Entry, Journal, export_csv, read_journal, repair_journal
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
    "DEFAULT_POLICY",
    "EMOTIONS",
    "FERPLUS_EMOTIONS",
    "FERPLUS_TO_FER",
    "Augmentation",
    "Box",
    "ComparisonDisplay",
    "ConfusionMatrixDisplay",
    "CropOptions",
    "DataFormatError",
    "DetectorOptions",
    "DuplicateEntryError",
    "EmojError",
    "Ensemble",
    "Entry",
    "Face",
    "FaceReading",
    "FastModel",
    "FerData",
    "FerPlusVotes",
    "HistoryDisplay",
    "HygieneReport",
    "ImageReadError",
    "Journal",
    "JournalAdapter",
    "JournalNotFoundError",
    "MultipleFacesError",
    "NoFaceError",
    "Recognizer",
    "StorageError",
    "TrainConfig",
    "TrainingBatches",
    "TransferConfig",
    "UnknownEntryError",
    "UnsafeFileError",
    "accuracy",
    "build_model",
    "class_weights",
    "classification_table",
    "compare_models",
    "confusion_matrix",
    "crop_face",
    "current_model",
    "detect_faces",
    "distill",
    "emotion_index",
    "evaluate_splits",
    "evaluation_report",
    "explain",
    "export_csv",
    "export_image_folder",
    "export_model",
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
    "overlay",
    "paired_comparison",
    "personalize",
    "predict_proba",
    "preprocessing",
    "read_card",
    "read_fer_csv",
    "read_ferplus",
    "read_image_folder",
    "read_journal",
    "read_people",
    "register_architecture",
    "repair_journal",
    "save_explanation",
    "save_face_set",
    "soft_targets",
    "stratified_sample",
    "stratified_split",
    "teacher_probabilities",
    "train_stage1",
    "write_card",
    "write_fer_csv",
    "your_model",
]
