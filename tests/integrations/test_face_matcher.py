"""The server-side face matcher on real photos: one person scores high, two people low, and
a photo without exactly one face is refused by name."""

from __future__ import annotations

import io

import pytest
from PIL import Image

from integrations.facematch.matcher import DlibFaceMatcher, score_of
from kernel.errors import DomainError
from tests.integrations.face_samples import SAME_PERSON, SOMEONE_ELSE, crop, whole


def test_the_same_person_in_two_photos_scores_above_the_default_threshold() -> None:
    (first, first_box), (second, second_box) = SAME_PERSON

    score = DlibFaceMatcher().compare(crop(first, first_box), crop(second, second_box))

    assert score >= 80


def test_two_different_people_score_well_under_the_default_threshold() -> None:
    (first, first_box), _ = SAME_PERSON
    other, other_box = SOMEONE_ELSE

    score = DlibFaceMatcher().compare(crop(first, first_box), crop(other, other_box))

    assert score < 60


def test_a_photo_without_a_face_is_refused_as_no_face() -> None:
    blank = io.BytesIO()
    Image.new("RGB", (400, 400), (200, 210, 220)).save(blank, "JPEG")
    (first, first_box), _ = SAME_PERSON

    with pytest.raises(DomainError) as refused:
        DlibFaceMatcher().compare(crop(first, first_box), blank.getvalue())

    assert (refused.value.code, refused.value.details) == ("no_face", {"field": "live_photo"})


def test_a_photo_of_several_people_is_refused_as_several_faces() -> None:
    (first, first_box), _ = SAME_PERSON

    with pytest.raises(DomainError) as refused:
        DlibFaceMatcher().compare(whole("sample1.jpg"), crop(first, first_box))

    assert (refused.value.code, refused.value.details) == (
        "several_faces",
        {"field": "id_photo"},
    )


def test_something_that_is_not_an_image_is_refused_before_any_detection() -> None:
    with pytest.raises(DomainError) as refused:
        DlibFaceMatcher().compare(b"<script>alert(1)</script>", b"GIF89a")

    assert refused.value.code == "photo_invalid"


@pytest.mark.parametrize(
    ("distance", "score"), [(0.0, 100), (0.3, 90), (0.6, 80), (0.8, 40), (1.0, 0), (1.4, 0)]
)
def test_the_distance_maps_to_the_documented_score(distance: float, score: int) -> None:
    assert score_of(distance) == score
