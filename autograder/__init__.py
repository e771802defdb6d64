"""Hidden autograder for the RNN-forward assignment."""
