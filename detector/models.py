"""The models the detector serves, and how they load: the `Model` protocol and
`TorchClassifier`, input specs and preprocessing, the zero-shot built-in network
(EfficientNet-Lite0, `BearOrNot`), the shipped head (`BearHead` on `Lite0Features`), fastai
Learner exports, the device choice and the load errors. One of the detector's public modules
(`detector.PUBLIC_MODULES`): `training` builds on these, the app loads with them; the loop and
the encounter logic are `detector` itself.
"""

from detector.builtin import BUILTIN_VERSION, LITE0_SPEC, BearOrNot, builtin_model, lite0_imagenet
from detector.device import pick_device
from detector.errors import ModelLoadError
from detector.head import BearHead, Lite0Features, backbone_sha256
from detector.loader import load_learner_model, load_model, sha256_of
from detector.model import Model, TorchClassifier, warm_up
from detector.preprocess import InputSpec, Preprocessor

__all__ = [
    "Model", "TorchClassifier", "InputSpec", "Preprocessor", "load_model", "sha256_of",
    "load_learner_model", "builtin_model", "BUILTIN_VERSION", "LITE0_SPEC", "lite0_imagenet",
    "BearOrNot", "BearHead", "Lite0Features", "backbone_sha256", "pick_device",
    "ModelLoadError", "warm_up",
]
