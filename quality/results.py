"""The structured results of one verification: a JSON document and a JUnit XML file.

What the job, the health report and CI read (never Soda's printed tables). Both go to the
run folder, `RUN_DIR` (the supervisor sets one per run), else `<project>/.logs/soda`:

- `soda-results.json`: the outcome and exit code of the verification, its totals, and per
  contract its outcome, Soda's exit code, the error that stopped it (if any) and each check
  with its type, column, outcome, threshold and measured values (Soda's diagnostics);
- `soda-junit.xml`: one test suite per contract, one test case per check; a failed gate is
  a <failure>, a contract that could not be verified an <error>, a check Soda did not
  evaluate is <skipped>; a warning passes and says so in its <system-out>.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import xml.etree.ElementTree as ET
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

RESULTS_FILE = "soda-results.json"
JUNIT_FILE = "soda-junit.xml"


@dataclass
class CheckRecord:
    name: str
    type: str
    column: str | None
    outcome: str  # PASSED, WARN, FAILED, NOT_EVALUATED, EXCLUDED
    threshold: str | None
    measured: dict[str, Any]


@dataclass
class ContractRecord:
    name: str  # raw/tracks: the contract file's folder and name, also its table
    file: str
    outcome: str  # PASSED, PASSED_WITH_WARNINGS, FAILED, ERROR
    soda_exit_code: int
    error: str | None = None
    checks: list[CheckRecord] = field(default_factory=list)

    @property
    def warnings(self) -> int:
        return sum(check.outcome == "WARN" for check in self.checks)


def results_dir(project_root: Path) -> Path:
    return Path(os.environ.get("RUN_DIR") or project_root / ".logs" / "soda")


def totals(contracts: list[ContractRecord]) -> dict[str, int]:
    return {
        "passed": sum(c.outcome.startswith("PASSED") for c in contracts),
        "failed": sum(c.outcome == "FAILED" for c in contracts),
        "errors": sum(c.outcome == "ERROR" for c in contracts),
        "warnings": sum(c.warnings for c in contracts),
    }


def exit_code(counts: dict[str, int]) -> int:
    """3 when a contract could not be verified, else 1 when a gate failed, else 0."""
    if counts["errors"]:
        return 3
    return 1 if counts["failed"] else 0


def document(contracts: list[ContractRecord]) -> dict[str, Any]:
    counts = totals(contracts)
    code = exit_code(counts)
    outcome = {3: "ERROR", 1: "FAILED"}.get(code, "PASSED_WITH_WARNINGS" if counts["warnings"] else "PASSED")
    return {
        "generated_at": dt.datetime.now(dt.UTC).isoformat(),
        "outcome": outcome,
        "exit_code": code,
        "totals": counts,
        "contracts": [asdict(contract) for contract in contracts],
    }


def junit(contracts: list[ContractRecord]) -> ET.ElementTree:
    suites = ET.Element("testsuites", name="soda contracts")
    for contract in contracts:
        suite = ET.SubElement(
            suites,
            "testsuite",
            name=contract.name,
            file=contract.file,
            tests=str(max(len(contract.checks), 1)),
            failures=str(sum(check.outcome == "FAILED" for check in contract.checks)),
            errors=str(int(contract.outcome == "ERROR")),
            skipped=str(sum(check.outcome in ("NOT_EVALUATED", "EXCLUDED") for check in contract.checks)),
        )
        if contract.error is not None or not contract.checks:
            case = ET.SubElement(suite, "testcase", classname=contract.name, name="contract verified")
            if contract.outcome == "ERROR":
                ET.SubElement(case, "error", message=(contract.error or "not verified")[:500]).text = contract.error
        for check in contract.checks:
            case = ET.SubElement(suite, "testcase", classname=contract.name, name=check.name)
            detail = json.dumps({"threshold": check.threshold, "measured": check.measured}, default=str)
            if check.outcome == "FAILED":
                ET.SubElement(case, "failure", message=f"gate failed: {check.name}").text = detail
            elif check.outcome in ("NOT_EVALUATED", "EXCLUDED"):
                ET.SubElement(case, "skipped", message=check.outcome.lower())
            else:
                ET.SubElement(case, "system-out").text = f"{check.outcome} {detail}"
    ET.indent(suites)
    return ET.ElementTree(suites)


def write(contracts: list[ContractRecord], directory: Path) -> Path:
    """Write both files (each replaced whole); return the JSON file's path."""
    directory.mkdir(parents=True, exist_ok=True)
    target = directory / RESULTS_FILE
    partial = target.with_suffix(".json.partial")
    partial.write_text(json.dumps(document(contracts), indent=2, default=str))
    partial.replace(target)
    junit(contracts).write(directory / JUNIT_FILE, encoding="utf-8", xml_declaration=True)
    return target
