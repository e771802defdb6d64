"""Part 1: a feed-forward layer in NumPy."""
import numpy as np


def init_weights(input_size, hidden_size):
    """Cria os parâmetros de uma camada feed-forward.

    Parâmetros
    ----------
    input_size : int
        D, a dimensão de cada amostra de entrada.
    hidden_size : int
        h, a dimensão da saída da camada.

    Retorna
    -------
    dict com exatamente duas chaves, cada valor um np.ndarray float64 novo,
    sorteado de uma normal padrão N(0, 1) (sem fixar semente: cada chamada
    sorteia valores diferentes):
        "Wxh": forma (D, h), os pesos W_xh
        "bh":  forma (1, h), o viés b_h (uma linha, somada a cada amostra)
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
    X : np.ndarray, forma (B, D), dtype float64
        Um mini-batch de B amostras, cada uma com D dimensões.
    params : dict
        "Wxh" de forma (D, h) e "bh" de forma (1, h), como os que
        init_weights devolve.

    Retorna
    -------
    np.ndarray de forma (B, h) e dtype float64. B vem de X e h de params:
    a mesma função serve para qualquer tamanho e nunca usa os tamanhos
    globais do notebook. Não altere X nem params.
    """
    ### BEGIN SOLUTION
    return np.tanh(X @ params["Wxh"] + params["bh"])
    ### END SOLUTION
