"""Architectures by name: a small registry of Keras 3 CNNs for 48x48 grayscale faces.

Every builder takes ``input_size`` and ``n_classes`` plus its own keyword hyperparameters, and returns
an uncompiled ``keras.Model`` whose input is float32 (H, W, 1) in 0..255 (it rescales to 0..1 itself)
and whose output is the softmax over the classes.

>>> model = build_model("emojnet", width=32)  # doctest: +SKIP
>>> list_architectures()  # doctest: +SKIP
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from dataclasses import dataclass

import pandas as pd

from emoj_lib.config import FACE_SIZE
from emoj_lib.labels import N_EMOTIONS


@dataclass(frozen=True)
class Architecture:
    """A registered architecture: its builder, source and one-line description."""

    name: str
    builder: Callable
    source: str
    description: str

    def defaults(self) -> dict:
        """Return the builder's keyword hyperparameters and their defaults."""
        return {k: p.default for k, p in inspect.signature(self.builder).parameters.items()
                if p.default is not inspect.Parameter.empty}


_REGISTRY: dict[str, Architecture] = {}


def register_architecture(name: str, *, source: str, description: str) -> Callable:
    """Register a model builder under ``name`` (a decorator)."""
    def wrap(fn: Callable) -> Callable:
        if name in _REGISTRY:
            raise ValueError(f"architecture {name!r} is already registered")
        _REGISTRY[name] = Architecture(name, fn, source, description)
        return fn
    return wrap


def get_architecture(name: str) -> Architecture:
    """Return the registered architecture ``name`` (KeyError listing the known names otherwise)."""
    if name not in _REGISTRY:
        raise KeyError(f"unknown architecture {name!r}; known: {sorted(_REGISTRY)}")
    return _REGISTRY[name]


def build_model(name: str, *, input_size: int = FACE_SIZE, n_classes: int = N_EMOTIONS, **hyperparameters):
    """Build the architecture ``name`` with the given hyperparameters.

    Parameters
    ----------
    name : str
        A name from :func:`list_architectures`.
    input_size : int
        Side of the square grayscale input.
    n_classes : int
        Number of output classes.
    **hyperparameters
        Keyword hyperparameters of that architecture; an unknown one raises ``TypeError``.

    Returns
    -------
    keras.Model
        Uncompiled; ``model.name`` is the architecture name.

    """
    arch = get_architecture(name)
    unknown = set(hyperparameters) - set(arch.defaults())
    if unknown:
        raise TypeError(f"{name} has no hyperparameter(s) {sorted(unknown)}; it takes {sorted(arch.defaults())}")
    return arch.builder(input_size=input_size, n_classes=n_classes, **hyperparameters)


def list_architectures(count_params: bool = True) -> pd.DataFrame:
    """Return a table of the registered architectures: name, parameters (defaults), source, description."""
    rows = []
    for arch in _REGISTRY.values():
        row = {"name": arch.name, "source": arch.source, "description": arch.description,
               "hyperparameters": arch.defaults()}
        if count_params:
            row["parameters"] = build_model(arch.name).count_params()
        rows.append(row)
    return pd.DataFrame(rows).set_index("name")


def head_layers(model) -> list:
    """Return the classifier head of a model: its layers named ``head_*`` and the ``emotion`` output."""
    return [layer for layer in model.layers if layer.name.startswith("head_") or layer.name == "emotion"]


def feature_blocks(model) -> list[list]:
    """Return the feature blocks of a model, bottom to top: lists of layers named ``block<i>_*``.

    Layers before the first block (the input, rescaling and any ``stem_*`` layers) belong to no block and
    stay frozen in fine-tuning; architectures registered here all follow this naming.
    """
    blocks: dict[int, list] = {}
    for layer in model.layers:
        head, _, rest = layer.name.partition("_")
        if head.startswith("block") and head[5:].isdigit() and rest:
            blocks.setdefault(int(head[5:]), []).append(layer)
    return [blocks[k] for k in sorted(blocks)]


def _inputs(input_size: int):
    import keras

    inputs = keras.Input((input_size, input_size, 1), name="face")
    return inputs, keras.layers.Rescaling(1.0 / 255.0, name="rescale")(inputs)


@register_architecture(
    "baseline",
    source="the original emoJ CNN (a plain Keras FER2013 tutorial network)",
    description="plain stack of convolution, pooling and dense layers; no normalisation; the reference point",
)
def baseline(*, input_size: int = FACE_SIZE, n_classes: int = N_EMOTIONS, dense: int = 1024,
             dropout: float = 0.5):
    """Plain CNN: conv32-conv64-pool-conv128-pool-conv128-pool-dense-dropout-softmax."""
    import keras
    from keras import layers

    inputs, x = _inputs(input_size)
    x = layers.Conv2D(32, 3, activation="relu", name="block1_conv1")(x)
    x = layers.Conv2D(64, 3, activation="relu", name="block1_conv2")(x)
    x = layers.MaxPooling2D(2, name="block1_pool")(x)
    x = layers.Dropout(0.25, name="block1_dropout")(x)
    x = layers.Conv2D(128, 3, activation="relu", name="block2_conv1")(x)
    x = layers.MaxPooling2D(2, name="block2_pool")(x)
    x = layers.Conv2D(128, 3, activation="relu", name="block3_conv1")(x)
    x = layers.MaxPooling2D(2, name="block3_pool")(x)
    x = layers.Dropout(0.25, name="block3_dropout")(x)
    x = layers.Flatten(name="head_flatten")(x)
    x = layers.Dense(dense, activation="relu", name="head_dense")(x)
    x = layers.Dropout(dropout, name="head_dropout")(x)
    outputs = layers.Dense(n_classes, activation="softmax", name="emotion")(x)
    return keras.Model(inputs, outputs, name="baseline")


@register_architecture(
    "mini_xception",
    source="Arriaga, Ploeger, Valdenegro 2017, 'Real-time Convolutional Neural Networks for Emotion and "
           "Gender Classification' (arXiv:1710.07557); the model of the `fer` package",
    description="depthwise-separable residual modules, no dense layer, global average pooling (~60k params)",
)
def mini_xception(*, input_size: int = FACE_SIZE, n_classes: int = N_EMOTIONS, l2: float = 0.01,
                  filters: tuple[int, ...] = (16, 32, 64, 128)):
    """Mini-Xception: two 8-filter convolutions, four separable residual modules, conv-to-classes, GAP."""
    import keras
    from keras import layers, regularizers

    reg = regularizers.l2(l2) if l2 else None
    inputs, x = _inputs(input_size)
    for i in (1, 2):
        x = layers.Conv2D(8, 3, use_bias=False, kernel_regularizer=reg, name=f"stem_conv{i}")(x)
        x = layers.BatchNormalization(name=f"stem_bn{i}")(x)
        x = layers.Activation("relu", name=f"stem_relu{i}")(x)
    for b, f in enumerate(filters, start=1):
        name = f"block{b}"
        residual = layers.Conv2D(f, 1, strides=2, padding="same", use_bias=False, name=f"{name}_shortcut")(x)
        residual = layers.BatchNormalization(name=f"{name}_shortcut_bn")(residual)
        x = layers.SeparableConv2D(f, 3, padding="same", depthwise_regularizer=reg, pointwise_regularizer=reg,
                                   use_bias=False, name=f"{name}_sepconv1")(x)
        x = layers.BatchNormalization(name=f"{name}_bn1")(x)
        x = layers.Activation("relu", name=f"{name}_relu1")(x)
        x = layers.SeparableConv2D(f, 3, padding="same", depthwise_regularizer=reg, pointwise_regularizer=reg,
                                   use_bias=False, name=f"{name}_sepconv2")(x)
        x = layers.BatchNormalization(name=f"{name}_bn2")(x)
        x = layers.MaxPooling2D(3, strides=2, padding="same", name=f"{name}_pool")(x)
        x = layers.add([x, residual], name=f"{name}_add")
    x = layers.Conv2D(n_classes, 3, padding="same", name="head_conv")(x)
    x = layers.GlobalAveragePooling2D(name="head_gap")(x)
    outputs = layers.Activation("softmax", name="emotion")(x)
    return keras.Model(inputs, outputs, name="mini_xception")


@register_architecture(
    "emojnet",
    source="emoJ (this project): VGG-style blocks with batch normalisation, sized for 2 CPU cores",
    description="blocks of 3x3 conv+BN+ReLU, max-pooling and dropout, doubling width; GAP; dense head",
)
def emojnet(*, input_size: int = FACE_SIZE, n_classes: int = N_EMOTIONS, width: int = 32, depth: int = 4,
            convs_per_block: int = 2, dropout: float = 0.4, block_dropout: float = 0.1, dense: int = 256,
            max_width: int = 256, bn_momentum: float = 0.99):
    """emojnet: ``depth`` VGG blocks of ``convs_per_block`` conv-BN-ReLU, widths ``width * 2**i``.

    The blocks are named ``block1``... and the head ``head_*`` and ``emotion``, like every architecture here
    (see :func:`feature_blocks`), so that transfer learning can freeze and unfreeze them by name.
    """
    import keras
    from keras import layers

    if depth < 1 or convs_per_block < 1 or width < 1:
        raise ValueError("depth, convs_per_block and width must be positive")
    inputs, x = _inputs(input_size)
    for b in range(depth):
        f = min(width * 2**b, max_width)
        for c in range(convs_per_block):
            x = layers.Conv2D(f, 3, padding="same", use_bias=False, name=f"block{b + 1}_conv{c + 1}")(x)
            x = layers.BatchNormalization(momentum=bn_momentum, name=f"block{b + 1}_bn{c + 1}")(x)
            x = layers.Activation("relu", name=f"block{b + 1}_relu{c + 1}")(x)
        if x.shape[1] >= 2:
            x = layers.MaxPooling2D(2, name=f"block{b + 1}_pool")(x)
        if block_dropout:
            x = layers.Dropout(block_dropout, name=f"block{b + 1}_dropout")(x)
    x = layers.GlobalAveragePooling2D(name="head_gap")(x)
    x = layers.Dense(dense, use_bias=False, name="head_dense")(x)
    x = layers.BatchNormalization(momentum=bn_momentum, name="head_bn")(x)
    x = layers.Activation("relu", name="head_relu")(x)
    x = layers.Dropout(dropout, name="head_dropout")(x)
    outputs = layers.Dense(n_classes, activation="softmax", name="emotion")(x)
    return keras.Model(inputs, outputs, name="emojnet")
