"""The reference of the tiny assignment."""
import numpy as np
from torch import nn


def square(x):
    """Devolve o quadrado de cada elemento de x (um np.ndarray)."""
    ### BEGIN SOLUTION
    return np.asarray(x) ** 2
    ### END SOLUTION


class Memory(nn.Module):
    """Uma célula LSTM: forward(x, state) devolve o novo estado (h, c), a partir de state = (h, c)."""

    def __init__(self, input_size, hidden_size):
        super().__init__()
        ### BEGIN SOLUTION
        self.cell = nn.LSTMCell(input_size, hidden_size)
        ### END SOLUTION

    def forward(self, x, state):
        ### BEGIN SOLUTION
        return self.cell(x, state)
        ### END SOLUTION
