"""promtool accepts the Prometheus config and rules, and the rules' unit tests pass."""

from __future__ import annotations

from pathlib import Path

from deploy.checkers import DEPLOY, run, tool

RULES = DEPLOY / "prometheus" / "rules" / "parklink.yml"
UNIT_TESTS = DEPLOY / "prometheus" / "tests" / "parklink_test.yml"


def test_rules_are_valid() -> None:
    result = run(tool("promtool"), "check", "rules", RULES)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "SUCCESS" in result.stdout


def test_rule_unit_tests_pass() -> None:
    result = run(tool("promtool"), "test", "rules", UNIT_TESTS)
    assert result.returncode == 0, result.stdout + result.stderr


def test_a_wrong_expectation_fails_the_unit_tests(tmp_path: Path) -> None:
    import yaml

    suite = yaml.safe_load(UNIT_TESTS.read_text())
    suite["rule_files"] = [str(RULES)]
    suite["tests"] = [t for t in suite["tests"] if t["name"].startswith("a lagging detector")]
    text = yaml.safe_dump(suite).replace("is 20000 records behind", "is 19999 records behind")
    wrong = tmp_path / "wrong_test.yml"
    wrong.write_text(text)
    result = run(tool("promtool"), "test", "rules", wrong)
    assert result.returncode != 0
    assert "ParkLinkDetectorLagging" in result.stdout + result.stderr


def test_every_alert_has_a_unit_test() -> None:
    import yaml

    rules = yaml.safe_load(RULES.read_text())
    alerts = {r["alert"] for g in rules["groups"] for r in g["rules"] if "alert" in r}
    tests = yaml.safe_load(UNIT_TESTS.read_text())["tests"]
    tested = {
        t["alertname"]
        for case in tests
        for t in case.get("alert_rule_test", [])
        if t.get("exp_alerts")
    }
    assert alerts - tested == set()


def test_every_scrape_sends_the_metrics_token() -> None:
    import yaml

    config = yaml.safe_load((DEPLOY / "prometheus" / "prometheus.yml").read_text())
    jobs = {c["job_name"]: c for c in config["scrape_configs"]}
    assert set(jobs) == {"registry", "gateway", "detector", "console"}
    for name, job in jobs.items():
        assert job["authorization"] == {
            "type": "Bearer",
            "credentials_file": "/run/secrets/metrics_token",
        }, name


def test_prometheus_config_is_valid() -> None:
    result = run(
        tool("promtool"),
        "check",
        "config",
        "--syntax-only",
        DEPLOY / "prometheus" / "prometheus.yml",
    )
    assert result.returncode == 0, result.stdout + result.stderr
