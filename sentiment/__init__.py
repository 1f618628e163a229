"""Sentiment: the transformer model wrapper, the score step, evaluation and training."""
