"""The reference of the tiny assignment."""
import numpy as np


def square(x):
    """Devolve o quadrado de cada elemento de x (um np.ndarray)."""
    ### BEGIN SOLUTION
    return np.asarray(x) ** 2
    ### END SOLUTION
