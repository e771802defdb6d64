"""Part 1: a feed-forward layer in NumPy."""
import numpy as np


def init_weights(input_size, hidden_size):
    """Cria os parâmetros de uma camada feed-forward.

    Parâmetros
    ----------
    input_size : int
        d, a dimensão de cada amostra de entrada.
    hidden_size : int
        h, a dimensão da saída da camada.

    Retorna
    -------
    dict com dois np.ndarray de dtype float64, sorteados de uma normal
    padrão N(0, 1):
        "Wxh": forma (input_size, hidden_size)
        "bh":  forma (1, hidden_size)
    """
    ### BEGIN SOLUTION
    return {
        "Wxh": np.random.randn(input_size, hidden_size),
        "bh": np.random.randn(1, hidden_size),
    }
    ### END SOLUTION


def forward(X, params):
    """Calcula a saída da camada feed-forward, tanh(X W_xh + b_h).

    Parâmetros
    ----------
    X : np.ndarray, forma (b, d), dtype float64
        Um mini-batch de b amostras com d dimensões.
    params : dict
        "Wxh" de forma (d, h) e "bh" de forma (1, h), como os que
        init_weights devolve.

    Retorna
    -------
    np.ndarray de forma (b, h) e dtype float64. As dimensões vêm de X e de
    params, nunca de variáveis globais do notebook.
    """
    ### BEGIN SOLUTION
    return np.tanh(X @ params["Wxh"] + params["bh"])
    ### END SOLUTION
