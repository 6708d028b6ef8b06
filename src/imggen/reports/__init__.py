"""Reports: the docs pages generated from the code (the model zoo, the calibration table).

The top floor, beside the CLI: these modules may import anything below (metrics, train, the registry); nothing imports
them. They are maintainer tools, run as ``python -m imggen.reports.zoo`` and ``python -m imggen.reports.calibration``,
not ``imggen`` commands.
"""
