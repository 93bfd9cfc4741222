"""The operations page's samples and tables kept in step with the code (no database): the
process-groups settings, the pool_budget run, the Prometheus metric names and alerting rules,
and the counters and gauges of reference.md."""

from __future__ import annotations

import json
import re
import runpy
from typing import Any

import pytest
import yaml

from django_pooled_mysql import budget, checks
from django_pooled_mysql.pool import ConnectionPool, stats
from django_pooled_mysql.pool.options import PoolOptions
from django_pooled_mysql.prometheus import PoolCollector, metric_name
from tests.support.docs_pages import DOCS, EXAMPLES, page_block


def all_stats_keys() -> list[str]:
    return list(ConnectionPool("'docs'", lambda: None, PoolOptions()).stats())


def exported() -> dict[str, str]:
    """The metrics the exporter emits (exposed name -> type), with no pool open."""
    return {
        family.name + ("_total" if family.type == "counter" else ""): family.type
        for family in PoolCollector().describe()
    }


def test_every_stats_key_is_described_as_a_counter_or_a_gauge() -> None:
    keys = all_stats_keys()
    assert set(keys) == set(stats.KEYS), "stats.py KEYS vs pool.stats()"
    for key in keys:
        assert stats.kind(key) in (stats.COUNTER, stats.GAUGE)


def test_reference_marks_each_key_as_the_exporter_types_it() -> None:
    page = (DOCS / "reference.md").read_text()
    section = page[page.index('## `pool_stats(alias="default")`') : page.index("### The same")]
    documented = {}
    for line in section.split("\n"):
        match = re.match(r"^\| (`[a-z_]+`(?:, `[a-z_]+`)*) \| (counter|gauge) \|", line)
        if match:
            for key in re.findall(r"`([a-z_]+)`", match.group(1)):
                documented[key] = match.group(2)
    assert documented == {key: stats.kind(key) for key in all_stats_keys()}


def test_reference_maps_go_dbstats_and_psycopg_pool_to_this_engines_names() -> None:
    page = (DOCS / "reference.md").read_text()
    section = page[page.index("### The same figures elsewhere") : page.index("## Functions")]
    rows = re.findall(r"^\| `(\w+)`[^|]* \| (counter|gauge) \| (.*) \|$", section, re.M)
    theirs = {name: (kind, ours) for name, kind, ours in rows}
    go = [
        "MaxOpenConnections",
        "OpenConnections",
        "InUse",
        "Idle",
        "WaitCount",
        "WaitDuration",
        "MaxIdleClosed",
        "MaxIdleTimeClosed",
        "MaxLifetimeClosed",
    ]
    psycopg = [
        "pool_min",
        "pool_max",
        "pool_size",
        "pool_available",
        "requests_waiting",
        "requests_num",
        "requests_queued",
        "requests_wait_ms",
        "requests_errors",
        "usage_ms",
        "returns_bad",
        "connections_num",
        "connections_ms",
        "connections_errors",
        "connections_lost",
    ]
    assert set(theirs) == set(go + psycopg)
    # Issue 17's counters, named now: they land with the idle and lifetime settings.
    later = {"closed_overflow", "closed_idle", "closed_lifetime"}
    keys = set(all_stats_keys())
    for name, (kind, ours) in theirs.items():
        first = re.match(r"`([a-z_]+)`", ours)
        if first is None:
            assert ours.startswith("no equivalent"), name
            continue
        key = first.group(1)
        assert key in keys | later, (name, key)
        if key in keys:
            assert stats.kind(key) == kind, (name, key)


def test_operations_page_lists_every_metric_the_exporter_emits() -> None:
    page = (DOCS / "operations.md").read_text()
    rows = re.findall(
        r"^\| `([a-z_]+)` \| `(django_pooled_mysql_\w+)` \| (counter|gauge) \|$", page, re.M
    )
    assert {metric: kind for _, metric, kind in rows} == exported()
    for key, metric, _ in rows:
        assert metric_name(key) == metric


# PromQL words that are not metric names.
PROMQL_WORDS = {"sum", "by", "rate", "increase", "alias", "m"}


def test_alerting_rules_name_only_metrics_the_exporter_emits() -> None:
    rules = yaml.safe_load((EXAMPLES / "prometheus_rules.yml").read_text())
    (group,) = rules["groups"]
    assert group["name"] == "django_pooled_mysql"
    names = exported()
    seen = set()
    for rule in group["rules"]:
        assert set(rule) <= {"alert", "expr", "for", "labels", "annotations"}, rule
        assert re.fullmatch(r"PooledMySQL\w+", rule["alert"]) and rule["annotations"]["summary"]
        expr = rule["expr"]
        assert expr.count("(") == expr.count(")"), rule["alert"]
        metrics = set(re.findall(r"\bdjango_pooled_mysql_\w+", expr))
        assert metrics and metrics <= set(names), (rule["alert"], metrics - set(names))
        for metric in metrics:
            # rate() and increase() only on counters.
            wrapped = re.search(r"(rate|increase)\(%s\[" % metric, expr)
            assert (names[metric] == "counter") == bool(wrapped), (rule["alert"], metric)
        words = set(re.findall(r"\b[a-z_]+\b", expr)) - metrics
        assert words <= PROMQL_WORDS, (rule["alert"], words - PROMQL_WORDS)
        seen |= metrics
    # The signals monitoring.md tells readers to watch are all covered.
    for key in ("timeouts", "server_refusals", "wait_seconds", "in_use", "abandoned", "connects"):
        assert metric_name(key) in seen, key


def test_urls_sample_serves_the_metrics_view() -> None:
    from django_pooled_mysql.prometheus import metrics_view

    (pattern,) = runpy.run_path(str(EXAMPLES / "urls_metrics.py"))["urlpatterns"]
    assert pattern.resolve("metrics/").func is metrics_view


def test_gunicorn_sample_calls_the_hooks_multiprocess_mode_needs() -> None:
    source = (EXAMPLES / "gunicorn_prometheus.conf.py").read_text()
    hooks = runpy.run_path(str(EXAMPLES / "gunicorn_prometheus.conf.py"))
    for hook in ("on_starting", "post_worker_init", "worker_exit", "child_exit"):
        assert callable(hooks[hook]), hook
    assert "mark_process_dead(worker.pid)" in source
    assert "prometheus.register()" in source
    assert hooks["preload_app"] is False


# -- the process groups sample and the pool_budget run ------------------------------------------


def test_process_groups_sample_passes_the_checks_with_the_issues_arithmetic() -> None:
    names = runpy.run_path(str(EXAMPLES / "settings_process_groups.py"))
    assert "django_pooled_mysql" in names["INSTALLED_APPS"]
    databases, setting = names["DATABASES"], names["DJANGO_POOLED_MYSQL"]
    assert checks.settings_messages(databases, setting, {}) == []
    groups = checks.process_groups(databases, setting, {})
    rows = budget.peaks(groups, checks.pooled_aliases(databases))
    # operations.md: web 2 x 4 x (3 + 1) = 32, jobs 2 x 4 x 4 = 32.
    assert [(row["group"], row["peak"]) for row in rows] == [("web", 32), ("jobs", 32)]
    assert groups.reserve == 10


def sample_report() -> dict[str, Any]:
    report: dict[str, Any] = json.loads((EXAMPLES / "pool_budget.json").read_text())
    return report


def test_pool_budget_json_sample_is_a_run_of_the_process_groups_sample() -> None:
    report = sample_report()
    setting = runpy.run_path(str(EXAMPLES / "settings_process_groups.py"))["DJANGO_POOLED_MYSQL"]
    groups = {group["name"]: group for group in report["process_groups"]["groups"]}
    for name, spec in setting["process_groups"].items():
        assert groups[name] == {"name": name, "max_open": None, "hosts": 1, **spec}
    assert report["reserve"] == setting["reserve"]
    # The arithmetic of the shown run is the code's.
    rows, totals = report["peaks"], report["limits"]
    assert budget.fits(rows, totals) == report["fits"]
    limits = [budget.Limit(t["limit"], t["server"], t["account"], t["value"]) for t in totals]
    assert budget.against(rows, limits, report["reserve"]) == totals
    assert report["over"] is any(total["over"] for total in totals)


def test_pool_budget_output_shown_is_the_code_rendering_the_json_shown() -> None:
    shown = page_block("operations.md", "text", "Peak connections")
    assert shown.body + "\n" == budget.render_text(sample_report())


@pytest.mark.parametrize("key", sorted(budget._GROUP_KEYS + budget._SETTING_KEYS))
def test_operations_page_documents_every_key_of_the_setting(key: str) -> None:
    page = (DOCS / "operations.md").read_text()
    assert "| `%s` |" % key in page
