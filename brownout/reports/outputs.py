"""Write a run's results in every format: JSON, JUnit XML, Markdown, HTML and the raw records (CSV)."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from brownout.reports.html import write_html
from brownout.reports.junit import write_junit
from brownout.reports.markdown import write_markdown
from brownout.reports.raw import records_frame, write_records_csv
from brownout.reports.results import RunResults

__all__ = ["OUTPUT_NAMES", "write_all", "write_json"]

OUTPUT_NAMES = {"json": "results.json", "junit": "junit.xml", "markdown": "summary.md", "html": "report.html",
                "records": "records.csv.gz"}


def write_json(results: RunResults, path: Path) -> Path:
    """Strict JSON (inf as "Infinity"); `RunResults.model_validate_json` reads it back."""
    path = Path(path)
    path.write_text(results.model_dump_json(indent=2), encoding="utf-8")
    return path


def write_all(results: RunResults, out_dir: Path, records: pd.DataFrame | None = None,
              run_dir: Path | None = None) -> dict[str, Path]:
    """Every output into `out_dir`; each document lists the paths of all of them.

    The records CSV comes from `records` when given (the runner has the frame),
    else from `results.records_paths` (relative ones under `run_dir`, the run's folder); it is left out
    when neither is there.
    """
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    if records is None:
        records = records_frame(results.records_paths, run_dir)
    paths = {kind: out / name for kind, name in OUTPUT_NAMES.items() if kind != "records" or records is not None}
    final = results.model_copy(update={"outputs": {kind: str(p) for kind, p in paths.items()}})
    write_json(final, paths["json"])
    write_junit(final, paths["junit"])
    write_markdown(final, paths["markdown"])
    write_html(final, paths["html"])
    if records is not None:
        write_records_csv(records, paths["records"])
    return paths
