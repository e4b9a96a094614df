"""Graph tools over the derived `flows` table: trace, counterparties, exposure, clusters, cycles,
flow_shape, and the fund-flow picture (`tools.graph.picture`, imported on demand: matplotlib).

Each tool is a plain typed function `(db, ledger, account_id, ...) -> Evidence` whose docstring is
what a model is told; it records its rows, facts (names from `tools.facts`) and a summary with
exact amounts, dates and ids in the case's evidence ledger.
"""

from tools.graph.clusters import clusters
from tools.graph.counterparties import counterparties
from tools.graph.cycles import cycles
from tools.graph.exposure import exposure
from tools.graph.shape import flow_shape
from tools.graph.trace import trace

__all__ = ["clusters", "counterparties", "cycles", "exposure", "flow_shape", "trace"]
