"""Robustness tests for `artifact-store serve`: bad input and bounded memory.

Run through run.sh, which starts a server on a fresh store and passes:
  ROBUST_ENDPOINT      http://127.0.0.1:PORT
  ROBUST_A_ID/SECRET   tenant A's key (owns the data)
  ROBUST_B_ID/SECRET   tenant B's key (must never see A's data)
  ROBUST_STORE         the store directory (to look for leftover pack files)
  ROBUST_SERVER_PID    the server's pid (to sample its RSS)
  ROBUST_QUICK=1       skip the large-object tests (large_tests.py)
  ROBUST_LARGE_MIB     size of the large object (default 2048)
  ROBUST_RSS_LIMIT_MIB the server's RSS bound during it (default 512)
  ROBUST_COUNTS        file that receives "passed failed skipped"
Extra arguments select tests, as for unittest (e.g. body_tests.ChecksumTest).

Use Debian's /usr/bin/python3 (it has python3-botocore).
"""

import os
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

MODULES = ["input_tests", "body_tests", "protocol_tests", "access_tests", "large_tests"]


class CountingResult(unittest.TextTestResult):
    """Counts test methods (not subtests): a method with any failing
    subtest is one failure. A failing setUpClass counts as one failure."""

    def __init__(self, *a, **kw):
        super().__init__(*a, **kw)
        self.bad = set()
        self.good = set()

    def addFailure(self, test, err):
        super().addFailure(test, err)
        self.bad.add(test.id())

    def addError(self, test, err):
        super().addError(test, err)
        self.bad.add(test.id())

    def addSubTest(self, test, subtest, err):
        super().addSubTest(test, subtest, err)
        if err is not None:
            self.bad.add(test.id())

    def addSuccess(self, test):
        super().addSuccess(test)
        self.good.add(test.id())


def main():
    loader = unittest.TestLoader()
    names = sys.argv[1:]
    suite = loader.loadTestsFromNames(names) if names else unittest.TestSuite(
        loader.loadTestsFromName(m) for m in MODULES)
    runner = unittest.TextTestRunner(verbosity=2, resultclass=CountingResult, stream=sys.stdout)
    result = runner.run(suite)
    passed = len(result.good - result.bad)
    failed = len(result.bad)
    skipped = len(result.skipped)
    counts = os.environ.get("ROBUST_COUNTS")
    if counts:
        with open(counts, "w") as f:
            f.write("%d %d %d\n" % (passed, failed, skipped))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
