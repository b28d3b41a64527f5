"""Configs and fixtures the evaluation tests share."""



from support.workflow import ROOT  # noqa: F401 (shared)

FIXTURES = ROOT / "tests" / "fixtures"
