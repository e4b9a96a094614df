"""The eval harness and the synthetic exchange data generator that provides labelled cases."""
