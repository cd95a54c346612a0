"""Unit tests: Meltano's JSON log lines, and the extract-load figures read from them."""

from __future__ import annotations

import json

from orchestrate.figures import extract_figures
from orchestrate.meltano_log import OutputLine
from orchestrate.steps import error_summary


def plugin_line(name: str, message: str) -> str:
    return json.dumps({"stdio": "stderr", "cmd_type": "elb", "name": name, "event": message, "level": "info",
                       "timestamp": "2026-12-01T06:00:01.000000Z"}) + "\n"


def test_a_plugin_line_keeps_its_plugin_and_message() -> None:
    line = OutputLine.parse(plugin_line("tap-moovitamix", "event=progress stream=tracks pages_read=3"))
    assert (line.plugin, line.message, line.level) == ("tap-moovitamix", "event=progress stream=tracks pages_read=3",
                                                       "info")
    assert line.text() == (
        "2026-12-01T06:00:01.000000Z [info    ] tap-moovitamix event=progress stream=tracks pages_read=3")


def test_meltanos_own_line_and_a_foreign_line() -> None:
    own = OutputLine.parse(json.dumps({"event": "Block run completed", "level": "error", "timestamp": "t"}))
    assert (own.plugin, own.message, own.level) == ("meltano", "Block run completed", "error")
    foreign = OutputLine.parse("Traceback (most recent call last):\n")
    assert (foreign.plugin, foreign.message) == ("", "Traceback (most recent call last):")


def test_the_end_of_a_task_says_whether_it_succeeded() -> None:
    # As Meltano 4.4.1 writes them (seen in `meltano --log-format=json run daily`).
    done = OutputLine.parse(json.dumps({"set_number": 0, "block_type": "InvokerCommand", "success": True, "err": None,
                                        "duration_seconds": 3.1, "event": "Block run completed", "level": "info"}))
    failed = OutputLine.parse(json.dumps({"set_number": 1, "block_type": "ExtractLoadBlocks", "success": False,
                                          "err": "Extractor failed", "exit_codes": {"extractors": 1},
                                          "event": "Block run completed", "level": "error"}))
    assert (done.block_success, failed.block_success) == (True, False)
    # A plugin that prints the same words does not end a task; nor does any other line.
    echoed = OutputLine.parse(plugin_line("tap-moovitamix", "Block run completed"))
    assert echoed.block_success is None and OutputLine.parse("Block run completed\n").block_success is None


def test_extract_figures_from_the_json_log() -> None:
    metric = {"type": "counter", "metric": "record_count", "value": 200, "tags": {"stream": "tracks"}}
    lines = [OutputLine.parse(text) for text in (
        plugin_line("tap-moovitamix", "event=stream_complete stream=tracks records=200 pages=2 retries=1 http_429=0"
                                      " rejected=0"),
        plugin_line("target-postgres", f"METRIC: {json.dumps(metric)}"),
        plugin_line("target-postgres", f"METRIC: {json.dumps({**metric, 'value': 50})}"),
    )]
    figures = {(f.subject, f.metric): f.value for f in extract_figures("el", lines)}
    assert figures == {("tracks", "records_read"): 200, ("tracks", "pages"): 2, ("tracks", "retries"): 1,
                       ("tracks", "http_429"): 0, ("tracks", "rejected"): 0, ("tracks", "records_loaded"): 250}


def test_a_plugin_killed_by_a_signal_is_named_with_the_signal_and_the_peak_memory() -> None:
    block_end = OutputLine.parse(json.dumps({
        "event": "Block run completed", "level": "error", "timestamp": "t", "set_number": 5, "success": False,
        "err": "Command failed", "exit_codes": {"utilities": -9},
    }))
    assert block_end.killed_by() == [("utilities", "SIGKILL")]
    summary = error_summary("tap-moovitamix target-postgres", 1, [block_end], 23 * 2**30)
    assert summary.startswith("tap-moovitamix target-postgres was killed (utilities by SIGKILL; the out-of-memory")
    assert summary.endswith("peak memory of the step's processes 23552 MB")


def test_a_command_killed_by_a_signal_is_read_from_the_blocks_error() -> None:
    # A utility's command block, as Meltano 4.4 ends it when its process got SIGKILL.
    block_end = OutputLine.parse(json.dumps({
        "set_number": 0, "block_type": "InvokerCommand", "success": False,
        "err": "`recommender run` failed with exit code: -9", "exit_codes": {}, "event": "Block run completed",
        "level": "error", "timestamp": "t",
    }))
    assert block_end.killed_by() == [("recommender run", "SIGKILL")]
    assert error_summary("recommender:run", 1, [block_end]).startswith(
        "recommender:run was killed (recommender run by SIGKILL;")


def test_a_plugin_that_failed_on_its_own_is_not_called_killed() -> None:
    block_end = OutputLine.parse(json.dumps({
        "event": "Block run completed", "level": "error", "timestamp": "t", "success": False,
        "err": "Command failed", "exit_codes": {"utilities": 1},
    }))
    assert block_end.killed_by() == []
    assert "killed" not in error_summary("recommender:run", 1, [block_end])


def test_a_dbt_node_error_is_named_with_the_databases_own_words() -> None:
    # As dbt 1.11 ends a build whose model the warehouse could not write (its disk full).
    lines = [OutputLine.parse(plugin_line("dbt-postgres", message)) for message in (
        "02:17:06  42 of 54 ERROR creating sql incremental model marts.fct_listens ..... [ERROR in 0.26s]",
        "02:17:07  Failure in model fct_listens (models/marts/fct_listens.sql)",
        "02:17:07    Database Error in model fct_listens (models/marts/fct_listens.sql)",
        '  could not extend file "pg_tblspc/17689/PG_15_202209061/17674/18021": No space left on device',
        "  HINT:  Check free disk space.",
        "02:17:07  Done. PASS=49 WARN=0 ERROR=1 SKIP=6 NO-OP=0 TOTAL=56",
    )]
    assert error_summary("dbt-postgres:build", 1, lines) == (
        "dbt-postgres:build exited with code 1: Database Error in model fct_listens (models/marts/fct_listens.sql):"
        ' could not extend file "pg_tblspc/17689/PG_15_202209061/17674/18021": No space left on device')


def test_an_exception_named_by_its_module_is_the_cause() -> None:
    # As target-postgres fails when the warehouse's disk is full: psycopg's DiskFull, after a
    # timer METRIC line tagged "failed" (a consequence, not the cause).
    lines = [OutputLine.parse(plugin_line("target-postgres", message)) for message in (
        'METRIC: {"type":"timer","metric":"batch_processing_time","value":0.36,"tags":{"status":"failed"}}',
        "joblib.externals.loky.process_executor._RemoteTraceback:",
        'psycopg.errors.DiskFull: could not extend file "pg_tblspc/1/PG_15_2/3/t5_4": wrote only 4096 of 8192'
        " bytes at block 17",
        "HINT:  Check free disk space.",
    )]
    assert error_summary("tap-moovitamix target-postgres", 1, lines) == (
        "tap-moovitamix target-postgres exited with code 1: psycopg.errors.DiskFull: could not extend file"
        ' "pg_tblspc/1/PG_15_2/3/t5_4": wrote only 4096 of 8192 bytes at block 17')
