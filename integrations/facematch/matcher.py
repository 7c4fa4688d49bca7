"""The face matcher: how alike the face on a document and the live face are, as 0-100.

One interface, ``FaceMatcher.compare(id_photo, live_photo) -> score``. The desk's visitor
terminal (访客机) does this on its own hardware and reports the score over the desk API; the
server-side implementation here serves desks without a terminal. It runs dlib on the CPU with
the models of the ``face_recognition_models`` package (installed from PyPI, so nothing is
downloaded at run time), and keeps nothing: the images live only for the call.

The score: dlib's face descriptor is a 128-d vector; two photos of one person are usually
closer than 0.6 (Euclidean), which is dlib's own same-person threshold. The distance maps
piecewise linearly to a score so that this threshold lands on the policies' default of 80:

    distance 0.0 -> 100,   0.6 -> 80,   1.0 and beyond -> 0

(each 0.03 under 0.6 is one point; above 0.6 each 0.005 is one point, so a score under the
threshold drops fast). A building that asks for 85 asks for a distance of 0.45 or less.
"""

from __future__ import annotations

import functools
import io
from typing import Any, Protocol

from django.utils.translation import gettext as _

from kernel.errors import DomainError

# Photos are scaled down to this before detection: a desk camera's 12 megapixels only cost
# time, and a face in a passport-style photo is far larger than the detector's 80 pixels.
MAX_SIDE = 800
MAX_IMAGE_BYTES = 5 * 1024 * 1024
SAME_PERSON_DISTANCE = 0.6
SCORE_AT_THRESHOLD = 80


class FaceMatcher(Protocol):
    """Anything that can say how alike two faces are (the terminal, the server, a fake)."""

    def compare(self, id_photo: bytes, live_photo: bytes) -> int:
        """0-100; raises DomainError when either image does not show exactly one face."""
        ...


def score_of(distance: float) -> int:
    """The documented mapping from a descriptor distance to a 0-100 score."""
    if distance <= SAME_PERSON_DISTANCE:
        score = 100 - distance / SAME_PERSON_DISTANCE * (100 - SCORE_AT_THRESHOLD)
    else:
        score = SCORE_AT_THRESHOLD - (distance - SAME_PERSON_DISTANCE) / 0.4 * SCORE_AT_THRESHOLD
    return max(0, min(100, round(score)))


@functools.cache
def _models() -> tuple[Any, Any, Any]:
    """Loaded once per process (about 100 ms); dlib's objects are safe to share for reading."""
    import dlib
    import face_recognition_models as files

    return (
        dlib.get_frontal_face_detector(),
        dlib.shape_predictor(files.pose_predictor_five_point_model_location()),
        dlib.face_recognition_model_v1(files.face_recognition_model_location()),
    )


class DlibFaceMatcher:
    """The server-side matcher: dlib's ResNet face descriptor on the CPU."""

    def compare(self, id_photo: bytes, live_photo: bytes) -> int:
        first = self.descriptor(id_photo, field="id_photo")
        second = self.descriptor(live_photo, field="live_photo")
        distance = sum((a - b) ** 2 for a, b in zip(first, second, strict=True)) ** 0.5
        return score_of(distance)

    def descriptor(self, image_bytes: bytes, *, field: str) -> list[float]:
        detector, shapes, recogniser = _models()
        pixels = _pixels(image_bytes, field)
        faces = detector(pixels, 1)
        if len(faces) == 0:
            raise DomainError("no_face", _("No face can be seen in this photo."), field=field)
        if len(faces) > 1:
            raise DomainError(
                "several_faces",
                _("This photo shows %(count)d faces; it must show one.") % {"count": len(faces)},
                field=field,
            )
        return list(recogniser.compute_face_descriptor(pixels, shapes(pixels, faces[0])))


def _pixels(image_bytes: bytes, field: str) -> Any:
    import numpy
    from PIL import Image, ImageOps, UnidentifiedImageError

    if len(image_bytes) > MAX_IMAGE_BYTES:
        raise DomainError("photo_too_large", _("The photo is over 5 MB."), field=field)
    try:
        with Image.open(io.BytesIO(image_bytes)) as image:
            if image.format not in ("JPEG", "PNG"):
                raise DomainError(
                    "photo_invalid", _("The photo is not a JPEG or PNG image."), field=field
                )
            upright = ImageOps.exif_transpose(image).convert("RGB")
    except (UnidentifiedImageError, OSError, Image.DecompressionBombError):
        raise DomainError(
            "photo_invalid", _("The photo is not a JPEG or PNG image."), field=field
        ) from None
    upright.thumbnail((MAX_SIDE, MAX_SIDE))
    return numpy.asarray(upright)
