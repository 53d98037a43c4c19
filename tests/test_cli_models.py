import json

import numpy as np
from PIL import Image

from emoj_lib.cli import main


def test_predict_explain_writes_a_picture_per_face(tmp_path, tiny_model, capsys):
    from skimage import data as skdata

    photo = tmp_path / "astronaut.png"
    Image.fromarray(skdata.astronaut()).save(photo)
    out = tmp_path / "why.png"
    assert main(["predict", str(photo), "--model", str(tiny_model), "--explain", str(out), "--json"]) == 0
    printed = capsys.readouterr().out
    results = json.loads(printed[printed.index("["):])
    assert results[0]["faces"][0]["explanation"] == str(out)
    assert "_crop" not in results[0]["faces"][0]
    picture = np.asarray(Image.open(out))
    assert picture.shape[0] > 48 * 4 and picture.shape[1] > 2 * 48 * 4


def test_evaluate_tencrop_and_export(tmp_path, tiny_model, learnable, capsys):
    import shutil

    from emoj_lib.data import write_fer_csv

    csv = tmp_path / "fer.csv"
    write_fer_csv(csv, learnable.images, learnable.labels, learnable.usage)
    assert main(["evaluate", str(tiny_model), "--fer", str(csv), "--split", "PrivateTest", "--tta", "tencrop",
                 "--out", str(tmp_path / "rep")]) == 0
    report = json.loads((tmp_path / "rep" / "metrics.json").read_text())
    assert report["tta"] == "tencrop" and "accuracy_tta" in report["table"]["PrivateTest"]
    model = tmp_path / "m.keras"
    shutil.copy(tiny_model, model)
    shutil.copy(tiny_model.with_suffix(".json"), model.with_suffix(".json"))
    assert main(["export", str(model), "--fer", str(csv)]) == 0
    printed = capsys.readouterr().out
    assert (tmp_path / "m.tflite").is_file() and (tmp_path / "m.tflite.json").is_file()
    assert "faces/s, accuracy" in printed and "by default" in printed
