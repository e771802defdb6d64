"""Part 3: a PyTorch module that iterates an nn.RNNCell over the sequence."""
import torch
from torch import nn


class RNN(nn.Module):
    """Camada recorrente que aplica uma célula nn.RNNCell a cada passo da sequência."""

    def __init__(self, input_size, hidden_size, batch_size):
        """Guarda, como atributo, uma célula nn.RNNCell(input_size, hidden_size).

        Use a célula padrão do PyTorch: tanh e com os dois vieses
        (bias=True), inicializada pelo próprio PyTorch. batch_size é aceito
        para seguir a assinatura da aula, mas não é usado: o forward tira o
        tamanho do batch de X, que pode mudar de uma chamada para outra (o
        último batch de uma época costuma ser menor; na inferência, B = 1).
        """
        super().__init__()
        ### BEGIN SOLUTION
        self.hidden_size = hidden_size
        self.batch_size = batch_size
        self.cell = nn.RNNCell(input_size, hidden_size)
        ### END SOLUTION

    def forward(self, X, H0=None):
        """Aplica a célula a X_1, ..., X_N e devolve todos os estados ocultos.

        Parâmetros
        ----------
        X : torch.Tensor, forma (N, B, D), float32, em qualquer device.
        H0 : torch.Tensor de forma (B, h), opcional
            O estado inicial, quando quem chama quer escolhê-lo (como em
            nn.RNN). Se for None, H_0 é sorteado de uma normal padrão N(0, 1)
            a cada chamada (sem fixar semente), uma linha por amostra, criado
            já no device e com o dtype de X: nada de device global nem fixo.

        Retorna
        -------
        Só a pilha de estados: um torch.Tensor de forma (N, B, h), no device
        de X, com H_1, ..., H_N (sem H_0 e sem o par (saída, H_N) de nn.RNN).
        Não use detach() nem numpy(): a saída mantém o grafo do autograd
        para o treino.
        """
        ### BEGIN SOLUTION
        H = torch.randn(X.shape[1], self.hidden_size, device=X.device, dtype=X.dtype) if H0 is None else H0
        hidden_states = []
        for x in X:
            H = self.cell(x, H)
            hidden_states.append(H)
        return torch.stack(hidden_states)
        ### END SOLUTION
