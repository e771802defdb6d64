"""Part 3: a PyTorch module that iterates an nn.RNNCell over the sequence."""
import torch
from torch import nn


class RNN(nn.Module):
    """Camada recorrente que aplica um nn.RNNCell a cada passo da sequência."""

    def __init__(self, input_size, hidden_size, batch_size):
        """Guarda, como atributo, um nn.RNNCell(input_size, hidden_size).

        Use a célula padrão do PyTorch (tanh, com viés). batch_size fica
        guardado como na aula, mas o forward tira o tamanho do batch de X.
        """
        super().__init__()
        ### BEGIN SOLUTION
        self.hidden_size = hidden_size
        self.batch_size = batch_size
        self.cell = nn.RNNCell(input_size, hidden_size)
        ### END SOLUTION

    def forward(self, X):
        """Aplica a célula a X_1, ..., X_n e devolve todos os hidden states.

        Parâmetros
        ----------
        X : torch.Tensor, forma (n, b, d), em qualquer device (CPU ou GPU).

        O estado inicial H_0, de forma (b, h), é sorteado de uma normal
        padrão N(0, 1) a cada chamada, criado já no device e com o dtype de
        X (nada de device global).

        Retorna
        -------
        torch.Tensor de forma (n, b, h), no device de X, com H_1, ..., H_n
        empilhados. Não use detach() nem numpy(): a saída mantém o grafo do
        autograd para o treino.
        """
        ### BEGIN SOLUTION
        H = torch.randn(X.shape[1], self.hidden_size, device=X.device, dtype=X.dtype)
        hidden_states = []
        for x in X:
            H = self.cell(x, H)
            hidden_states.append(H)
        return torch.stack(hidden_states)
        ### END SOLUTION
