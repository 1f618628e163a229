"""Customer lifetime value from transactions: BG/NBD purchases, Gamma-Gamma spend, P(alive).

Implemented from the published likelihoods with numpy/scipy (see each module's docstring for
the paper and equations) and checked in tests against the CDNOW figures and ``lifetimes``.
"""

from engagement.customers.clv._optimize import FitError
from engagement.customers.clv.bgnbd import BgNbdParams
from engagement.customers.clv.gammagamma import GammaGammaParams
from engagement.customers.clv.holdout import HoldoutReport
from engagement.customers.clv.lifetime import ClvModel, CustomerValues, customer_values, fit
from engagement.customers.clv.summary import Summary, summarize

__all__ = [
    "BgNbdParams",
    "ClvModel",
    "CustomerValues",
    "FitError",
    "GammaGammaParams",
    "HoldoutReport",
    "Summary",
    "customer_values",
    "fit",
    "summarize",
]
