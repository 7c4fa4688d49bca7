"""Real photos of faces for the face matcher's tests: the demo photos of the npm package
@vladmandic/face-api, fetched by ``make face-samples`` into .data/ (see the Makefile)."""

from __future__ import annotations

import io
import shutil
import subprocess
from pathlib import Path

from PIL import Image

ROOT = Path(__file__).resolve().parents[2]
SAMPLES = ROOT / ".data" / "face-samples" / "package" / "demo"

# Face boxes (left, top, right, bottom) found by dlib's detector in the 1920-px photos. The
# woman at the right of sample1 is the woman in the middle of sample3 (descriptor distance
# 0.41); the woman at the left of sample1 is someone else.
SAME_PERSON = (("sample1.jpg", (1451, 233, 1666, 448)), ("sample3.jpg", (1025, 251, 1283, 509)))
SOMEONE_ELSE = ("sample1.jpg", (376, 376, 591, 591))


def sample(name: str) -> Path:
    """The photo, fetched first if this checkout has not got it yet."""
    if not (SAMPLES / "sample6.jpg").exists():
        make = shutil.which("make") or "make"
        subprocess.run([make, "-s", "face-samples"], cwd=ROOT, check=True)  # noqa: S603
    return SAMPLES / name


def crop(name: str, box: tuple[int, int, int, int], margin: float = 0.6) -> bytes:
    """One face with some of its surroundings, as a desk camera would frame it, in JPEG."""
    left, top, right, bottom = box
    pad = int((right - left) * margin)
    with Image.open(sample(name)) as image:
        face = image.crop((left - pad, top - pad, right + pad, bottom + pad))
        out = io.BytesIO()
        face.convert("RGB").save(out, "JPEG", quality=90)
    return out.getvalue()


def whole(name: str) -> bytes:
    return sample(name).read_bytes()
