"""Part 4: Part 2's NumPy parameters inside an nn.RNNCell."""
import torch
from torch import nn


def rnn_cell_from_params(params):
    """Cria uma célula nn.RNNCell que calcula o mesmo que a camada da Parte 2.

    Parâmetros
    ----------
    params : dict
        "Wxh" (D, h), "Whh" (h, h) e "bh" (1, h), np.ndarray float64, como os
        que init_weights da Parte 2 devolve. Não os altere.

    Retorna
    -------
    Uma célula nn.RNNCell(D, h) nova, padrão (tanh, com os dois vieses, float32,
    na CPU), com os pesos copiados de params no layout do PyTorch:
    weight_ih = W_xh transposta, weight_hh = W_hh transposta, e os dois vieses
    com soma b_h (por exemplo, bias_ih = b_h e bias_hh = 0). Cada passo dá o
    mesmo que um passo do forward da Parte 2, a menos do arredondamento de
    float32 (com os pesos N(0, 1) da aula, essa diferença cresce de um passo
    para o outro: veja a demonstração).
    """
    ### BEGIN SOLUTION
    input_size, hidden_size = params["Wxh"].shape
    cell = nn.RNNCell(input_size, hidden_size)
    with torch.no_grad():
        cell.weight_ih.copy_(torch.from_numpy(params["Wxh"].T))
        cell.weight_hh.copy_(torch.from_numpy(params["Whh"].T))
        cell.bias_ih.copy_(torch.from_numpy(params["bh"][0]))
        cell.bias_hh.zero_()
    return cell
    ### END SOLUTION
