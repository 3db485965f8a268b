"""The text-to-text TSV format of the Switch tasks (tools/train/prepare_glue_kjv.py writes
it; train_spm.py, train_switch.py and eval_switch.py read it; `hmoe eval --data` is to
read it the same way):

  - UTF-8, one row per line, each line ending in "\\n" (the last one too), no header;
  - exactly two fields per row, separated by one tab: the input text (what the encoder
    reads, e.g. "testament: And Jesus wept.") and the expected output (e.g. "new");
  - no field is empty, and no field holds a tab, a carriage return or a newline: the
    writer refuses such text, so there is no quoting or escaping of any kind;
  - fields are taken as they are (no trimming): the model's input is the first field
    exactly, and a prediction is compared with the second after stripping the decoded
    text of surrounding white space.

Prediction files (eval_switch.py --predictions-dir) are the same format with more columns
(the predicted field may be empty):
input, expected, predicted (the decoded and stripped generation), correct (1 or 0),
generated ids (comma-separated, eos included when generated), margin (the smallest gap
between the two largest logits over the generated steps).
"""
from __future__ import annotations

from typing import Iterable, List, Sequence, Tuple

FORBIDDEN = ("\t", "\r", "\n")


class TsvError(ValueError):
    pass


def check_field(text: str, what: str) -> str:
    if not text:
        raise TsvError(f"{what} is empty")
    for ch in FORBIDDEN:
        if ch in text:
            raise TsvError(f"{what} holds {ch!r}: {text[:60]!r}")
    return text


def write_rows(path: str, rows: Iterable[Sequence[str]]) -> int:
    """Writes rows of fields; returns the number of rows. Refuses any bad field."""
    n = 0
    with open(path, "w", encoding="utf-8", newline="\n") as f:
        for row in rows:
            n += 1
            f.write("\t".join(check_field(str(x), f"{path} row {n} field {i + 1}") for i, x in enumerate(row)))
            f.write("\n")
    return n


def read_rows(path: str, n_fields: int = 2) -> List[Tuple[str, ...]]:
    """The rows of a TSV file with exactly n_fields fields each; a bad line is refused
    with its number."""
    rows = []
    with open(path, "rb") as f:
        data = f.read()
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as e:
        raise TsvError(f"{path}: not UTF-8 ({e})") from None
    if text and not text.endswith("\n"):
        raise TsvError(f"{path}: the last line does not end in a newline")
    for number, line in enumerate(text.split("\n")[:-1], 1):
        if "\r" in line:
            raise TsvError(f"{path} line {number}: carriage return")
        fields = line.split("\t")
        if len(fields) != n_fields:
            raise TsvError(f"{path} line {number}: {len(fields)} fields, expected {n_fields}")
        for i, x in enumerate(fields):
            if not x:
                raise TsvError(f"{path} line {number}: field {i + 1} is empty")
        rows.append(tuple(fields))
    if not rows:
        raise TsvError(f"{path}: no rows")
    return rows
