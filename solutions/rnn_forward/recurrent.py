"""Part 2: the recurrent layer, forward from scratch in NumPy."""
import numpy as np


def init_weights(input_size, hidden_size):
    """Cria os parâmetros de uma camada recorrente simples.

    Parâmetros
    ----------
    input_size : int
        d, a dimensão de cada elemento da sequência.
    hidden_size : int
        h, a dimensão do hidden state.

    Retorna
    -------
    dict com três np.ndarray de dtype float64, sorteados de uma normal
    padrão N(0, 1):
        "Wxh": forma (input_size, hidden_size)
        "Whh": forma (hidden_size, hidden_size)
        "bh":  forma (1, hidden_size)
    """
    ### BEGIN SOLUTION
    return {
        "Wxh": np.random.randn(input_size, hidden_size),
        "Whh": np.random.randn(hidden_size, hidden_size),
        "bh": np.random.randn(1, hidden_size),
    }
    ### END SOLUTION


def forward(X, params):
    """Percorre a sequência X e devolve todos os hidden states.

    H_t = tanh(X_t W_xh + H_{t-1} W_hh + b_h),  para t = 1, ..., n.

    Parâmetros
    ----------
    X : np.ndarray, forma (n, b, d), dtype float64
        n passos de tempo (n >= 1), cada um um mini-batch de b amostras com
        d dimensões: o formato (N, B, D).
    params : dict
        "Wxh" (d, h), "Whh" (h, h) e "bh" (1, h), como os que init_weights
        devolve.

    O estado inicial H_0, de forma (b, h), é sorteado de uma normal padrão
    N(0, 1) a cada chamada. Tire b de X e h de params, nunca de variáveis
    globais do notebook.

    Retorna
    -------
    np.ndarray de forma (n, b, h) e dtype float64 com H_1, ..., H_n, nessa
    ordem (H_0 não entra).
    """
    ### BEGIN SOLUTION
    batch_size = X.shape[1]
    hidden_size = params["Whh"].shape[0]
    H = np.random.randn(batch_size, hidden_size)
    hidden_states = []
    for x in X:
        H = np.tanh(x @ params["Wxh"] + H @ params["Whh"] + params["bh"])
        hidden_states.append(H)
    return np.stack(hidden_states)
    ### END SOLUTION
