import gzip

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from emoj_lib.data import FerData, read_fer_csv, write_fer_csv
from emoj_lib.errors import DataFormatError
from emoj_lib.labels import EMOTIONS, FER_TO_FERPLUS, FERPLUS_EMOTIONS, FERPLUS_TO_FER, emotion_index


def test_emotion_order_and_mappings():
    assert EMOTIONS == ("angry", "disgust", "fear", "happy", "sad", "surprise", "neutral")
    for fer_i, plus_i in FER_TO_FERPLUS.items():
        assert FERPLUS_TO_FER[plus_i] == fer_i
    assert FERPLUS_TO_FER[FERPLUS_EMOTIONS.index("contempt")] is None
    assert emotion_index("Happiness") == 3 and emotion_index("anger") == 0
    with pytest.raises(KeyError, match="unknown emotion 'bored'"):
        emotion_index("bored")


@pytest.mark.parametrize("name", ["faces.csv", "faces.csv.gz"])
def test_write_read_roundtrip(tmp_path, small_fer, name):
    labels = small_fer.labels.copy()
    labels[3] = -1
    path = write_fer_csv(tmp_path / name, small_fer.images, labels, small_fer.usage)
    back = read_fer_csv(path, allow_unlabelled=True)
    np.testing.assert_array_equal(back.images, small_fer.images)
    np.testing.assert_array_equal(back.labels, labels)
    np.testing.assert_array_equal(back.usage, small_fer.usage)
    np.testing.assert_array_equal(back.rows, np.arange(30))
    assert back.counts().loc["Training", "total"] == 20


@settings(max_examples=25, deadline=None)
@given(st.data())
def test_roundtrip_property(tmp_path_factory, data):
    n = data.draw(st.integers(0, 5))
    images = data.draw(hnp.arrays(np.uint8, (n, 48, 48)))
    labels = np.array(data.draw(st.lists(st.integers(-1, 6), min_size=n, max_size=n)), np.int64)
    usage = data.draw(st.lists(st.sampled_from(["Training", "PublicTest", "my split"]), min_size=n, max_size=n))
    path = tmp_path_factory.mktemp("rt") / "x.csv"
    back = read_fer_csv(write_fer_csv(path, images, labels, np.array(usage, dtype=object)), allow_unlabelled=True)
    np.testing.assert_array_equal(back.images, images)
    np.testing.assert_array_equal(back.labels, labels)
    assert list(back.usage) == usage


def _csv(tmp_path, text, name="bad.csv"):
    p = tmp_path / name
    p.write_text(text)
    return p


PIX = " ".join(["7"] * 2304)


@pytest.mark.parametrize(
    ("body", "match"),
    [
        ("emotion,Usage\n3,Training\n", r"bad.csv, line 1: missing column\(s\) \['pixels'\]"),
        (f"emotion,pixels,Usage\n3,{PIX},Training\n3,1 2 3,Training\n", r"line 3, field 'pixels'.*3 values"),
        (f"emotion,pixels,Usage\n3,{PIX.replace('7', 'x', 1)},Training\n", r"line 2, field 'pixels'.*pixel 0 is 'x'"),
        (f"emotion,pixels,Usage\n3,{PIX.replace('7', '256', 1)},Training\n", r"line 2.*pixel 0 is 256, out of range"),
        (f"emotion,pixels,Usage\n3,{PIX.replace('7', '-1', 1)},Training\n", r"line 2.*pixel 0 is '-1'"),
        (f"emotion,pixels,Usage\n3,{PIX.replace('7', '7.5', 1)},Training\n", r"line 2.*pixel 0 is '7.5'"),
        (f"emotion,pixels,Usage\n9,{PIX},Training\n", r"line 2, field 'emotion': unknown emotion label 9"),
        (f"emotion,pixels,Usage\nhappy,{PIX},Training\n", r"line 2, field 'emotion'.*'happy', not an integer"),
        (f"emotion,pixels,Usage\n,{PIX},Training\n", r"line 2, field 'emotion': empty emotion"),
        (f"emotion,pixels,Usage\n3,{PIX},\n", r"line 2, field 'Usage': empty Usage"),
        (f"emotion,pixels,Usage\n3,{PIX}\n", r"line 2: 2 field\(s\), expected 3"),
        ("", r"empty file"),
    ],
)
def test_bad_rows_name_file_line_and_problem(tmp_path, body, match):
    with pytest.raises(DataFormatError, match=match):
        read_fer_csv(_csv(tmp_path, body))


def test_skip_bad_rows_reports_them(tmp_path):
    body = f"emotion,pixels,Usage\n3,{PIX},Training\n3,1 2,Training\n9,{PIX},PublicTest\n0,{PIX},PrivateTest\n"
    data = read_fer_csv(_csv(tmp_path, body), on_error="skip")
    assert len(data) == 2
    assert list(data.rows) == [0, 3]
    assert list(data.skipped.line) == [3, 4]
    assert "pixels" in data.skipped.problem[0] and "unknown emotion label 9" in data.skipped.problem[1]


def test_general_csv_other_column_order_quotes_and_crlf(tmp_path):
    body = f'Usage,extra,pixels,emotion\r\nTraining,"a, b","{PIX}",5\r\n'
    data = read_fer_csv(_csv(tmp_path, body))
    assert data.labels.tolist() == [5] and (data.images == 7).all() and data.usage.tolist() == ["Training"]


def test_usage_filter_and_split(tmp_path, small_fer):
    path = write_fer_csv(tmp_path / "f.csv", small_fer.images, small_fer.labels, small_fer.usage)
    data = read_fer_csv(path, usage=["PrivateTest"])
    assert len(data) == 5 and set(data.usage) == {"PrivateTest"}
    assert list(data.rows) == [25, 26, 27, 28, 29]
    with pytest.raises(KeyError, match="no split 'Training'"):
        data.split("Training")


def test_corrupt_gzip_is_reported(tmp_path, small_fer):
    path = write_fer_csv(tmp_path / "f.csv.gz", small_fer.images, small_fer.labels, small_fer.usage)
    raw = path.read_bytes()
    path.write_bytes(raw[: len(raw) // 2])
    with pytest.raises(DataFormatError, match=r"f\.csv\.gz"):
        read_fer_csv(path)
    assert gzip.decompress(raw)  # the intact file was valid


def test_missing_file():
    with pytest.raises(FileNotFoundError, match=r"nope\.csv"):
        read_fer_csv("nope.csv")


def test_write_rejects_bad_input(tmp_path, small_fer):
    with pytest.raises(ValueError, match="label 7 out of range"):
        write_fer_csv(tmp_path / "x.csv", small_fer.images[:1], [7], "Training")
    with pytest.raises(ValueError, match="shape"):
        write_fer_csv(tmp_path / "x.csv", np.zeros((1, 10, 10), np.uint8), [1], "Training")
    with pytest.raises(ValueError, match="Usage"):
        write_fer_csv(tmp_path / "x.csv", small_fer.images[:1], [1], "a,b")


def test_ferdata_validates_lengths(small_fer):
    with pytest.raises(ValueError, match="labels has 3 entries for 30 images"):
        FerData(small_fer.images, small_fer.labels[:3], small_fer.usage)


@pytest.mark.shared_data
def test_shared_fer2013_counts(shared_fer):
    counts = shared_fer.counts()
    assert counts.loc["Training", "total"] == 28709
    assert counts.loc["PublicTest", "total"] == 3589
    assert counts.loc["PrivateTest", "total"] == 3589
    assert counts.loc["Training", "disgust"] == 436 and counts.loc["PrivateTest", "happy"] == 879
    assert shared_fer.images.dtype == np.uint8 and shared_fer.images.shape == (35887, 48, 48)
