"""`python -m agent.cli`: the same as the `sleuth` console script."""

from agent.cli import main

main()
