"""Stage 3: a model that learns its user.

- :mod:`~emoj_lib.personal.features`: the model's embedding (:func:`feature_model`, :func:`embed`);
- :mod:`~emoj_lib.personal.adapter`: the per-journal adapter (:func:`fit_adapter`, :class:`PrototypeAdapter`);
- :mod:`~emoj_lib.personal.journal`: which model a journal uses (:func:`journal_model`), its live adapter
  (:class:`JournalAdapter`, :func:`journal_recognizer`) and the "your model" view (:func:`your_model`);
- :mod:`~emoj_lib.personal.people`: the adapter measured on people folders (few-shot protocols);
- :mod:`~emoj_lib.personal.finetune`: fine-tuned personal model versions (:func:`personalize`,
  :func:`forget_entry`).
"""

from emoj_lib.personal.adapter import PrototypeAdapter, expected_calibration_error, fit_adapter
from emoj_lib.personal.features import embed, feature_model
from emoj_lib.personal.finetune import (
    MIN_LABELLED,
    PersonalizationError,
    current_model,
    default_personal_config,
    forget_entry,
    models_made_from,
    personal_models_dir,
    personal_versions,
    personalize,
)
from emoj_lib.personal.journal import (
    MODEL_ENV,
    JournalAdapter,
    YourModel,
    journal_model,
    journal_recognizer,
    model_version,
    reading_version,
    your_model,
)

__all__ = [
    "MIN_LABELLED",
    "MODEL_ENV",
    "JournalAdapter",
    "PersonalizationError",
    "PrototypeAdapter",
    "YourModel",
    "current_model",
    "default_personal_config",
    "embed",
    "expected_calibration_error",
    "feature_model",
    "fit_adapter",
    "forget_entry",
    "journal_model",
    "journal_recognizer",
    "model_version",
    "models_made_from",
    "personal_models_dir",
    "personal_versions",
    "personalize",
    "reading_version",
    "your_model",
]
