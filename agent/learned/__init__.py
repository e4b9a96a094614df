"""The `learned` backend: gradient-boosted trees over the feature store, trained on labelled cases.

`fit` trains and cross-validates, `thresholds` turns held-out probabilities into the close and SAR
thresholds, `store` saves a model and its card in the workspace, `predict` scores one alert with
per-feature contributions, and `decide` makes the graph's decision and evidence from it.
"""
