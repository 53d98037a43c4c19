import numpy as np
import pandas as pd
import pytest

from emoj_lib import config
from emoj_lib.data import FerData
from emoj_lib.data.ferplus import FerPlusVotes, agreement, ferplus_for, read_ferplus
from emoj_lib.errors import DataFormatError
from emoj_lib.labels import FERPLUS_COLUMNS


def test_majority_tie_break_and_drops():
    votes = np.array([
        [4, 0, 0, 1, 3, 2, 0, 0, 0, 0],  # neutral
        [0, 5, 5, 0, 0, 0, 0, 0, 0, 0],  # tie happiness/surprise -> first: happiness
        [0, 0, 0, 0, 0, 0, 0, 2, 8, 0],  # unknown -> dropped
        [0, 0, 0, 0, 0, 0, 0, 0, 0, 10],  # not a face -> dropped
        [0, 0, 0, 0, 0, 0, 0, 10, 0, 0],  # contempt: FER+ label 7, no FER class
        [0, 0, 0, 0, 0, 0, 0, 0, 0, 0],  # no votes -> dropped
    ])
    v = FerPlusVotes(votes, np.array(["Training"] * 6, dtype=object))
    assert v.majority().tolist() == [0, 1, -1, -1, 7, -1]
    hard, soft = v.fer_labels()
    assert hard.tolist() == [6, 3, -1, -1, -1, -1]
    np.testing.assert_allclose(soft[0], [3 / 10, 2 / 10, 0, 0, 1 / 10, 0, 4 / 10])
    assert soft[4].sum() == 0 and soft[5].sum() == 0
    np.testing.assert_allclose(v.soft()[1], [0, 0.5, 0.5, 0, 0, 0, 0, 0])


def test_read_errors(tmp_path):
    p = tmp_path / "f.csv"
    p.write_text("Usage,Image name,neutral\nTraining,a.png,1\n")
    with pytest.raises(DataFormatError, match="missing column"):
        read_ferplus(p)
    cols = ",".join(FERPLUS_COLUMNS)
    p.write_text(f"Usage,Image name,{cols}\nTraining,a.png,1,0,0,0,0,0,0,0,0,0\nTraining,b.png,1,x,0,0,0,0,0,0,0,0\n")
    with pytest.raises(DataFormatError, match="line 3, field 'happiness'"):
        read_ferplus(p)


def test_join_checks_usage(small_fer):
    votes = FerPlusVotes(np.ones((30, 10), np.int64), np.array(["Training"] * 30, dtype=object))
    with pytest.raises(DataFormatError, match="disagree on their split"):
        ferplus_for(small_fer, votes)
    part = small_fer.split("Training")
    assert len(ferplus_for(part, votes).votes) == 20
    short = FerData(part.images, part.labels, part.usage, rows=part.rows + 100)
    with pytest.raises(DataFormatError, match="not the same file"):
        ferplus_for(short, votes)


@pytest.mark.shared_data
def test_shared_ferplus_majority_counts(shared_fer, require_shared):
    votes = ferplus_for(shared_fer, read_ferplus(require_shared(config.ferplus_path())))
    table = pd.crosstab(shared_fer.usage, votes.majority())
    # published majority counts (neutral, happiness, ... contempt) per split; -1 = unknown + NF
    assert table.loc["Training"].tolist() == [170 + 150, 10309, 7528, 3562, 3515, 2467, 191, 652, 165]
    assert table.loc["PrivateTest"].tolist() == [27 + 16, 1262, 928, 444, 444, 325, 23, 93, 27]
    agree = agreement(shared_fer, votes)
    assert agree.to_numpy().sum() == len(shared_fer)
    assert agree.loc["happy", "happiness"] > 0.8 * agree.loc["happy"].sum()
