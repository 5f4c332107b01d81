"""linli's benchmark harness: ``python -m bench`` (or ``make bench``). Not part of the test suite."""
