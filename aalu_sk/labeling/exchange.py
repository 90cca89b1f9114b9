"""Labels in and out: CSV and Label Studio JSON.

- CSV: a ``path,label`` header, then one row per labeled file, paths
  relative to the image folder with ``/`` separators. Byte-identical
  files share their label, so each of them gets a row.
- Label Studio: a JSON list of tasks, one per readable image, each with
  ``data.image`` (the relative path) and, when labeled, one annotation
  holding a ``choices`` result (``from_name="label"``,
  ``to_name="image"``). A matching labeling config is
  :func:`labelstudio_config`.
"""

import csv
import io
import json
from datetime import datetime, timezone
from xml.sax.saxutils import quoteattr

__all__ = ["EXPORT_FORMATS", "export_text", "to_csv", "to_labelstudio",
           "labelstudio_config", "read_label_csv"]

#: Formats :func:`aalu_sk.labeling.LabelingProject.export` writes.
EXPORT_FORMATS = ("csv", "labelstudio")


def export_text(store, items, format="csv"):
    """The labels of ``store`` in ``format``, as text.

    Parameters
    ----------
    store : LabelStore
    items : set of str
        Ids of the images in the current index (others are left out).
    format : {"csv", "labelstudio"}, default="csv"
    """
    if format not in EXPORT_FORMATS:
        raise ValueError(f"format={format!r} is unknown; use one of "
                         f"{list(EXPORT_FORMATS)}.")
    images = [r for r in store.images() if r["item"] in items]
    labels = store.labels()
    if format == "csv":
        return to_csv(images, labels)
    latest = {}
    for item, label in labels.items():
        event = store.history(item)[-1]
        latest[item] = {"label": label, "who": event["who"],
                        "at": event["at"]}
    return to_labelstudio(images, latest)


def to_csv(images, labels):
    """``path,label`` CSV text of the labeled files.

    Parameters
    ----------
    images : list of dict
        Rows of the store's ``images`` table.
    labels : dict
        ``{item: class name}``, the latest label of each labeled item.
    """
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(["path", "label"])
    for row in images:
        if row["status"] in ("ok", "duplicate") and row["item"] in labels:
            writer.writerow([row["path"], labels[row["item"]]])
    return buffer.getvalue()


def _iso(seconds):
    return datetime.fromtimestamp(seconds, timezone.utc).isoformat()


def to_labelstudio(images, events):
    """Label Studio JSON tasks (as text) for every readable file.

    Parameters
    ----------
    images : list of dict
        Rows of the store's ``images`` table.
    events : dict
        ``{item: event}``, the latest ``label`` event (a dict with
        ``label``, ``who``, ``at``) of each labeled item.
    """
    tasks = []
    for row in images:
        if row["status"] not in ("ok", "duplicate"):
            continue
        task = {"id": len(tasks) + 1,
                "data": {"image": row["path"]},
                "meta": {"sha256": row["sha256"], "item": row["item"]},
                "annotations": []}
        event = events.get(row["item"])
        if event is not None:
            task["annotations"].append({
                "result": [{"from_name": "label", "to_name": "image",
                            "type": "choices",
                            "value": {"choices": [event["label"]]}}],
                "created_at": _iso(event["at"]),
                "completed_by": event["who"] or "aalu-sk"})
        tasks.append(task)
    return json.dumps(tasks, indent=1, ensure_ascii=False)


def labelstudio_config(classes):
    """A Label Studio labeling config matching :func:`to_labelstudio`."""
    choices = "\n".join(f"    <Choice value={quoteattr(c)}/>" for c in classes)
    return ('<View>\n  <Image name="image" value="$image"/>\n'
            '  <Choices name="label" toName="image" choice="single">\n'
            f"{choices}\n  </Choices>\n</View>\n")


def read_label_csv(path):
    """``[(path, label), ...]`` from a ``path,label`` CSV file.

    Raises
    ------
    ValueError
        If the header lacks ``path`` or ``label`` or a row is incomplete.
    """
    with open(path, newline="", encoding="utf-8-sig") as file:
        reader = csv.DictReader(file)
        missing = {"path", "label"} - set(reader.fieldnames or ())
        if missing:
            raise ValueError(
                f"{path}: the header must name the columns 'path' and "
                f"'label' (as export(format='csv') writes); missing "
                f"{sorted(missing)}, found {reader.fieldnames}.")
        pairs = []
        for line, row in enumerate(reader, start=2):
            if not row["path"] or row["label"] is None or \
                    not row["label"].strip():
                raise ValueError(f"{path}, line {line}: needs a path and a "
                                 f"label; got {row!r}.")
            pairs.append((row["path"], row["label"].strip()))
    return pairs
