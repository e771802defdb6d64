"""Reference solutions of the RNN-forward assignment.

Each graded definition here is, character for character, an answer cell of
source/rnn_forward/rnn_forward.ipynb: `python -m solutions.sync` copies it
there and the tests fail when the two differ. Edit the solution here.
"""
