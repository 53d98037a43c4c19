"""Data sets: FER2013 CSVs, FER+ votes, image folders, hygiene checks and the tf.data pipeline."""

from emoj_lib.data.fer import SPLITS, UNLABELLED, FerData, read_fer_csv, write_fer_csv

__all__ = ["SPLITS", "UNLABELLED", "FerData", "read_fer_csv", "write_fer_csv"]
