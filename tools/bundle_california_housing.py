"""Make minikeras/datasets/bundled/california_housing/california_housing.csv.gz.

The compact copy shipped with minikeras is Hands-On ML's ``housing.csv`` (from
``housing.tgz``, sha256 d4cd501a...0109) with two lossless changes: the text column
``ocean_proximity``, which the loader drops anyway, is left out, and whole numbers lose
their ``.0`` (``41.0`` -> ``41``), so every value parses to the same float. Rows keep
their order and the 207 blank ``total_bedrooms`` stay blank (the loader estimates them).
The gzip stream is written with a zero timestamp, so the output is byte-for-byte
reproducible. Run: ``python tools/bundle_california_housing.py path/to/housing.tgz``.
"""
import csv
import gzip
import hashlib
import io
import pathlib
import sys
import tarfile

SOURCE_SHA256 = "d4cd501af90475f09b814c7447c7701f59bf28e8cf1180205ae5ace9737a0109"
OUT = (pathlib.Path(__file__).resolve().parents[1] / "minikeras" / "datasets" / "bundled"
       / "california_housing" / "california_housing.csv.gz")


def compact(text):
    rows = csv.reader(io.StringIO(text))
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    header = next(rows)
    writer.writerow(header[:9])
    for row in rows:
        writer.writerow([v[:-2] if v.endswith(".0") else v for v in row[:9]])
    return out.getvalue().encode("ascii")


def main(source):
    raw = pathlib.Path(source).read_bytes()
    if hashlib.sha256(raw).hexdigest() != SOURCE_SHA256:
        sys.exit(f"{source} is not Hands-On ML's housing.tgz (sha256 {SOURCE_SHA256})")
    with tarfile.open(fileobj=io.BytesIO(raw), mode="r:gz") as tar:
        text = tar.extractfile("housing.csv").read().decode("utf-8")
    payload = compact(text)
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_bytes(gzip.compress(payload, compresslevel=9, mtime=0))
    print(f"{OUT}: {OUT.stat().st_size} bytes, sha256 {hashlib.sha256(OUT.read_bytes()).hexdigest()}")
    print(f"payload: {len(payload)} bytes, sha256 {hashlib.sha256(payload).hexdigest()}")


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "housing.tgz")
