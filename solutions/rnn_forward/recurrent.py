"""Part 2: the recurrent layer, forward from scratch in NumPy."""
import numpy as np


def init_weights(input_size, hidden_size):
    """Cria os parâmetros de uma camada recorrente simples.

    Parâmetros
    ----------
    input_size : int
        D, a dimensão de cada elemento da sequência.
    hidden_size : int
        h, a dimensão do estado oculto (hidden state).

    Retorna
    -------
    dict com exatamente três chaves, cada valor um np.ndarray float64 novo,
    sorteado de uma normal padrão N(0, 1) (sem fixar semente):
        "Wxh": forma (D, h), os pesos da entrada, W_xh
        "Whh": forma (h, h), os pesos do estado anterior, W_hh
        "bh":  forma (1, h), o viés b_h
    """
    ### BEGIN SOLUTION
    return {
        "Wxh": np.random.randn(input_size, hidden_size),
        "Whh": np.random.randn(hidden_size, hidden_size),
        "bh": np.random.randn(1, hidden_size),
    }
    ### END SOLUTION


def forward(X, params, H0=None):
    """Percorre a sequência X e devolve todos os estados ocultos.

    H_t = tanh(X_t W_xh + H_{t-1} W_hh + b_h),  para t = 1, ..., N.

    Parâmetros
    ----------
    X : np.ndarray, forma (N, B, D), dtype float64
        N passos de tempo (N >= 1); X[t] é o mini-batch inteiro de um passo:
        B amostras com D dimensões cada.
    params : dict
        "Wxh" (D, h), "Whh" (h, h) e "bh" (1, h), como os que init_weights
        devolve.
    H0 : np.ndarray de forma (B, h), opcional
        O estado inicial, quando quem chama quer escolhê-lo (como em nn.RNN).
        Se for None, H_0 é sorteado de uma normal padrão N(0, 1) a cada
        chamada (sem fixar semente), com uma linha própria para cada amostra
        do batch.

    B vem de X e h de params, nunca dos tamanhos globais do notebook. Não
    altere X, params nem H0.

    Retorna
    -------
    Só a pilha de estados: um np.ndarray de forma (N, B, h) e dtype float64
    com H_1, ..., H_N, nessa ordem. H_0 não faz parte da saída, e o último
    estado não vem à parte (diferente de nn.RNN, que devolve o par
    (saída, H_N)).
    """
    ### BEGIN SOLUTION
    batch_size = X.shape[1]
    hidden_size = params["Whh"].shape[0]
    H = np.random.randn(batch_size, hidden_size) if H0 is None else H0
    hidden_states = []
    for x in X:
        H = np.tanh(x @ params["Wxh"] + H @ params["Whh"] + params["bh"])
        hidden_states.append(H)
    return np.stack(hidden_states)
    ### END SOLUTION
