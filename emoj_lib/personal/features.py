"""A model's embedding: the penultimate features that the personal adapter learns from.

Every architecture here ends in a dense layer named ``emotion`` (see :mod:`emoj_lib.models`); its input
(the head's last hidden layer, after dropout, which is the identity at inference) is the face's embedding.
"""

from __future__ import annotations

import numpy as np

from emoj_lib.labels import EMOTIONS


def feature_model(model):
    """Return a Keras model mapping faces to ``(probabilities, features)``.

    Parameters
    ----------
    model : keras.Model
        A model from :mod:`emoj_lib.models` whose output layer is named ``emotion``.

    Returns
    -------
    keras.Model
        Same input; outputs the (N, 7) probabilities and the (N, D) input of the ``emotion`` layer.
    """
    import keras

    try:
        penultimate = model.get_layer("emotion").input
    except ValueError as exc:
        raise ValueError(f"model {model.name!r} has no output layer named 'emotion'") from exc
    return keras.Model(model.inputs[0], [model.outputs[0], penultimate], name=f"{model.name}_features")


def embed(model, crops: np.ndarray, *, batch_size: int = 256, features=None) -> tuple[np.ndarray, np.ndarray]:
    """Return the probabilities (N, 7) and embeddings (N, D) of 48x48 uint8 face crops.

    Parameters
    ----------
    model : keras.Model
        The emotion model.
    crops : np.ndarray
        Faces (N, 48, 48) (or one face (48, 48)).
    batch_size : int
        Faces per forward pass.
    features : keras.Model, optional
        A :func:`feature_model` of ``model`` built earlier (saves building it again).
    """
    from emoj_lib.inference import as_batch

    x = as_batch(crops)  # the same input as every other forward pass (emoj_lib.inference)
    features = features if features is not None else feature_model(model)
    dim = int(features.outputs[1].shape[-1])
    if len(x) == 0:
        return np.zeros((0, len(EMOTIONS)), np.float32), np.zeros((0, dim), np.float32)
    probs, feats = [], []
    for i in range(0, len(x), batch_size):
        p, f = features(x[i:i + batch_size], training=False)
        probs.append(np.asarray(p, np.float32))
        feats.append(np.asarray(f, np.float32))
    return np.concatenate(probs), np.concatenate(feats)
