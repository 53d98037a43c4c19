"""The one pixel-string codec (emoj_lib.data.pixels)."""

import numpy as np
import pytest

from emoj_lib.data.pixels import N_PIXELS, decode_pixels, encode_pixels, parse_pixels, pixel_problem


def test_round_trip_and_strict_writing(rng):
    face = rng.integers(0, 256, (48, 48), dtype=np.uint8)
    text = encode_pixels(face)
    assert text.count(" ") == N_PIXELS - 1 and "  " not in text
    np.testing.assert_array_equal(decode_pixels(text), face)
    np.testing.assert_array_equal(decode_pixels(text.replace(" ", "\t", 5)), face)  # any whitespace reads
    with pytest.raises(ValueError, match="48x48 uint8"):
        encode_pixels(face.astype(np.int16))
    with pytest.raises(ValueError, match="48x48 uint8"):
        encode_pixels(face[:47])


@pytest.mark.parametrize(("change", "problem"), [
    (lambda v: v[:-1], "2303 values, expected 2304"),
    (lambda v: [*v, "7"], "2305 values"),
    (lambda v: ["256", *v[1:]], "pixel 0 is 256, out of range"),
    (lambda v: [*v[:9], "-1", *v[10:]], "pixel 9 is '-1', not an integer"),
    (lambda v: [*v[:3], "1.5", *v[4:]], "pixel 3 is '1.5', not an integer"),
    (lambda v: [*v[:3], "99999999999", *v[4:]], "pixel 3 is 99999999999, out of range"),
    (lambda v: [], "empty pixels"),
])
def test_problems_name_the_first_bad_value(change, problem):
    values = ["12"] * N_PIXELS
    text = " ".join(change(values))
    assert problem in pixel_problem(text)
    assert parse_pixels(text)[0] is None
    with pytest.raises(ValueError, match=problem.split(",")[0]):
        decode_pixels(text)


def test_not_text():
    assert "not text" in pixel_problem(None)
