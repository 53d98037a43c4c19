import numpy as np
import pytest

from emoj_lib.data import FerData
from emoj_lib.data.hygiene import hygiene_mask, hygiene_report


def _data(rng):
    img = rng.integers(0, 256, (8, 48, 48), dtype=np.uint8)
    img[1] = img[0]  # duplicate within Training, same label
    img[2] = img[0]
    img[5] = img[3]  # Training / PrivateTest leak with conflicting labels
    img[6] = 0  # blank
    img[7] = 100
    img[7, 0, 0] = 101  # near constant
    labels = np.array([1, 1, 1, 2, 2, 4, 6, 6])
    usage = np.array(["Training"] * 5 + ["PrivateTest", "Training", "PublicTest"], dtype=object)
    return FerData(img, labels, usage)


def test_report_counts(rng):
    rep = hygiene_report(_data(rng))
    s = rep.summary
    assert s["duplicate_groups"] == 2 and s["duplicate_rows"] == 5
    assert s["conflicting_groups"] == 1 and s["cross_split_groups"] == 1 and s["leaking_training_rows"] == 1
    assert s["blank"] == 1 and s["blank_Training"] == 1 and s["near_constant"] == 1
    assert list(rep.near_constant) == [7]


def test_mask_options(rng):
    data = _data(rng)
    assert hygiene_mask(data).tolist() == [True] * 6 + [False, True]
    keep = hygiene_mask(data, drop_blank=False, drop_leaking=True)
    assert keep.tolist() == [True, True, True, False, True, True, True, True]  # the PrivateTest copy stays
    keep = hygiene_mask(data, drop_blank=False, drop_duplicates=True)
    assert keep.tolist() == [True, False, False, True, True, True, True, True]
    keep = hygiene_mask(data, drop_blank=False, drop_conflicting=True, drop_near_constant=True)
    assert keep.tolist() == [True, True, True, False, True, False, True, False]


@pytest.mark.shared_data
def test_shared_fer2013_matches_known_defects(shared_fer):
    s = hygiene_report(shared_fer).summary
    assert s["duplicate_groups"] == 1516
    assert s["duplicate_rows"] == 3369
    assert s["conflicting_groups"] == 57
    assert s["cross_split_groups"] == 531
    assert s["blank"] == 12 and s["blank_Training"] == 11 and s["blank_PublicTest"] == 1
    assert shared_fer.rows[hygiene_report(shared_fer).near_constant].tolist() == [22314]
