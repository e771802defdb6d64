"""The classic mistakes of this assignment, as data: what each one means to a student, and what it computes.

Every code is what a report's "diagnosis" lists; its Mistake is what the
student reads, in Portuguese: what their code did, and a hint that points at
the fix without writing it. STEPS are the wrong versions of one step of the
layer, H = f(X W_xh + H_prev W_hh + b_h): the checks in common.py run them on
the student's own inputs and states, and name the one that explains what the
student returned.
"""
import itertools
from dataclasses import dataclass

import numpy as np

from autograder.authoring import fail


@dataclass(frozen=True)
class Mistake:
    explanation: str  # what the student's code did
    hint: str  # where to look, without the answer


MISTAKES = {
    # init_weights
    "wrong_keys": Mistake("o dict não tem exatamente as chaves pedidas",
                          "os nomes estão na docstring; maiúsculas e sublinhados contam"),
    "wrong_shape": Mistake("um dos arrays tem a forma errada",
                           "confira a forma de cada parâmetro na docstring; o viés é uma linha"),
    "transposed_shape": Mistake("a forma é a transposta da pedida (as dimensões estão trocadas)",
                                "na convenção do notebook a entrada multiplica a matriz pela esquerda, X W"),
    "not_float64": Mistake("o array não é float64",
                           "veja se algum passo converte para float32 ou passa por um tensor do PyTorch"),
    "not_standard_normal": Mistake("os valores não parecem sorteados de N(0, 1)",
                                   "confira a função de sorteio: normal, média 0, desvio-padrão 1, sem escala"),
    "init_not_random": Mistake("duas chamadas com os mesmos tamanhos devolvem os mesmos valores: a semente está "
                               "fixada dentro da função, ou os valores não são sorteados",
                               "cada chamada deve sortear parâmetros novos; a docstring pede o sorteio sem fixar "
                               "semente"),
    "zero_bias": Mistake("o viés b_h é todo zero",
                         "neste exercício o viés também é sorteado, como os pesos"),
    # the layers' arithmetic
    "missing_bias": Mistake("o resultado é o da conta sem o viés b_h",
                            "confira se b_h entra na soma antes da ativação"),
    "missing_tanh": Mistake("o resultado é o da conta sem a tanh",
                            "a camada aplica uma não linearidade à soma; a saída fica em (-1, 1)"),
    "wrong_activation": Mistake("o resultado usa outra ativação que não a tanh (ReLU ou sigmoide, por exemplo)",
                                "a ativação da aula é a tangente hiperbólica"),
    "transposed_whh": Mistake("os estados seguem a recorrência com W_hh transposta",
                              "na convenção do notebook o estado anterior multiplica W_hh pela esquerda, "
                              "como X_t multiplica W_xh"),
    "argument_modified": Mistake("a função altera no lugar um argumento que recebeu",
                                 "quem chama ainda vai usar o que passou: calcule em arrays novos, sem +=, -= nem "
                                 "atribuições dentro dos argumentos"),
    "sizes_from_globals": Mistake("com tamanhos diferentes dos da aula, o código falha ou devolve a forma errada: "
                                  "ele usa tamanhos fixos ou as variáveis globais do notebook (batch_size, "
                                  "hidden_size...)",
                                  "tire cada tamanho das formas dos argumentos que a função recebe"),
    # what the recurrent layer returns, and in which order
    "h0_included": Mistake("a saída tem N + 1 estados: H_0 veio junto",
                           "a saída começa no estado depois do primeiro passo, H_1"),
    "last_state_only": Mistake("a saída é só o último estado, não a pilha com todos",
                               "guarde o estado de cada passo e devolva todos"),
    "returns_tuple": Mistake("a saída é uma tupla (como a de nn.RNN), não só a pilha de estados",
                             "devolva só a pilha; o último estado já está nela"),
    "returns_list": Mistake("a saída é uma lista de estados, não um único array ou tensor",
                            "junte os estados num só objeto, com um eixo novo para o tempo"),
    "cat_instead_of_stack": Mistake("os estados foram concatenados num eixo que já existia: o eixo do tempo sumiu",
                                    "concatenar emenda arrays; a saída precisa de um eixo novo para o tempo"),
    "wrong_stack_axis": Mistake("os estados estão certos, mas empilhados no eixo errado: forma (B, N, h)",
                                "o tempo é o primeiro eixo da saída, como em X"),
    "wrong_time_axis": Mistake("o laço percorre o eixo do batch, não o do tempo",
                               "X tem forma (N, B, D): o tempo é o primeiro eixo"),
    "states_shifted": Mistake("cada estado guardado é o do passo anterior: ele é guardado antes de ser atualizado",
                              "confira a ordem entre atualizar o estado e guardá-lo"),
    "states_aliased": Mistake("todos os estados devolvidos são iguais: o mesmo array é alterado no lugar e "
                              "guardado a cada passo",
                              "cada passo deve guardar um resultado novo; H[:] = ... e += alteram o array antigo"),
    "extra_state": Mistake("a saída tem N + 1 estados: um a mais no fim (o último estado repetido?)",
                           "a pilha tem um estado por passo de X, nem mais nem menos"),
    "input_shifted": Mistake("cada passo usa a entrada do passo anterior, X_(t-1) no lugar de X_t",
                             "confira o índice de X usado em cada passo"),
    "low_precision": Mistake("os estados seguem a recorrência só com a precisão de float32: a conta foi feita "
                             "em float32 e convertida no fim?",
                             "faça a conta em float64, o dtype de X e de params"),
    "first_step_ignores_x1": Mistake("o primeiro estado, H_1, não usa a primeira entrada X_1 como os outros passos "
                                     "usam as suas (ele sai só de H_0, ou X_1 entra com outro peso)",
                                     "o laço aplica o mesmo passo a todo X_t, o primeiro inclusive"),
    "h0_argument_ignored": Mistake("com um H0 dado, H_1 não parte dele",
                                   "quando H0 é passado, ele é o estado inicial"),
    # H_0
    "h0_zeros": Mistake("H_0 é todo zero", "neste exercício H_0 é sorteado de N(0, 1) quando não é dado"),
    "h0_not_standard_normal": Mistake("H_0 não parece sorteado de N(0, 1)",
                                      "confira a distribuição do sorteio de H_0: normal padrão, sem escala"),
    "h0_shared_across_batch": Mistake("todas as amostras do batch começam do mesmo H_0",
                                      "H_0 tem uma linha própria para cada amostra: forma (B, h)"),
    "h0_fixed_seed": Mistake("H_0 é o mesmo a cada chamada (uma semente fixa?)",
                             "não fixe a semente dentro da função; cada chamada sorteia um H_0 novo"),
    # the PyTorch module
    "no_rnn_cell": Mistake("o módulo não guarda uma célula nn.RNNCell",
                           "crie a célula no __init__ e guarde-a como atributo"),
    "uses_nn_rnn": Mistake("o módulo usa a camada pronta nn.RNN em vez de iterar uma nn.RNNCell",
                           "o exercício é escrever o laço sobre o tempo com a célula"),
    "cell_created_in_forward": Mistake("a célula é criada dentro do forward: pesos novos a cada chamada, que o "
                                       "treino nunca ajustaria",
                                       "crie a célula uma vez, no __init__"),
    "cell_reinitialised": Mistake("os pesos da célula não são os que o PyTorch sorteia, U(-1/√h, 1/√h): o módulo "
                                  "os reinicializa", "deixe a nn.RNNCell com a inicialização do próprio PyTorch"),
    "cell_config": Mistake("a célula não é a padrão (ReLU ou sem viés)",
                           "use nn.RNNCell com os valores padrão: tanh e com viés"),
    "graph_detached": Mistake("a saída não mantém o grafo do autograd (detach, torch.no_grad, NumPy ou um tensor "
                              "recriado a partir de números)",
                              "use só operações do PyTorch sobre as saídas da célula"),
    "device_fixed": Mistake("o módulo cria tensores num device fixo ou no device global do notebook, não no de X",
                            "crie o que o forward precisa no device de X; o módulo deve rodar em qualquer device"),
    "sizes_from_constructor": Mistake("o tamanho do batch vem do construtor (batch_size), não de X",
                                      "o batch muda de uma chamada para outra; tire-o de X"),
    # Part 2's parameters copied into an nn.RNNCell
    "transfer_whh_not_transposed": Mistake("a célula calcula com W_hh sem transpor",
                                           "compare a fórmula da nn.RNNCell com a da Parte 2: cada matriz do "
                                           "PyTorch aparece transposta"),
    "transfer_wxh_reshaped": Mistake("W_xh entrou na célula reorganizada (reshape ou view), não transposta",
                                     "reshape muda a forma sem transpor: os números vão para os lugares errados"),
    "transfer_shape": Mistake("uma matriz copiada não tem a forma do parâmetro da célula",
                              "confira a forma de weight_ih e de weight_hh no PyTorch"),
    "transfer_bias_doubled": Mistake("o viés entra duas vezes: os dois vieses da célula valem b_h",
                                     "só a soma bias_ih + bias_hh entra na conta, e ela deve ser b_h"),
    "transfer_bias_missing": Mistake("a célula calcula sem viés: os dois vieses somam zero",
                                     "a soma bias_ih + bias_hh faz o papel de b_h"),
    "transfer_bias_offset": Mistake("os pesos estão certos, mas os dois vieses não somam b_h (um deles ficou "
                                    "com o valor sorteado pelo PyTorch?)",
                                    "defina os dois vieses, e não só um"),
    "transfer_params_ignored": Mistake("a célula não calcula com os parâmetros dados: os pesos parecem ser os "
                                       "que o PyTorch sorteou",
                                       "copie cada parâmetro da Parte 2 para a célula que a função devolve"),
}


def explain(codes) -> str:
    """The mistakes, as a student reads them."""
    return "; ".join(f"{MISTAKES[c].explanation} ({MISTAKES[c].hint})" for c in dict.fromkeys(codes))


def fail_with(what: str, *codes: str, detail: str = "") -> None:
    """Fail a property, naming the mistakes that broke it."""
    fail(f"{what}: {detail}{explain(codes)}", *codes)


def sigmoid(z):
    return 1 / (1 + np.exp(-z))


ACTIVATIONS = {"tanh": np.tanh, "none": lambda z: z, "relu": lambda z: np.maximum(z, 0), "sigmoid": sigmoid}
# The inverse of each activation, to read a state's input back (ReLU loses what it cut).
INVERSES = {"tanh": np.arctanh, "none": lambda y: y, "sigmoid": lambda y: np.log(y / (1 - y))}


@dataclass(frozen=True)
class Step:
    """One version of a step, f(X W_xh + H W_hh + b_h): the right one, or some mistakes at once."""

    activation: str = "tanh"
    bias: bool = True
    transposed: bool = False  # H W_hh^T

    @property
    def codes(self) -> tuple:
        return tuple(code for code, made in [
            ("missing_bias", not self.bias), ("missing_tanh", self.activation == "none"),
            ("wrong_activation", self.activation in ("relu", "sigmoid")), ("transposed_whh", self.transposed)]
            if made)

    def __call__(self, XW, HW, HWt, bias):
        """The step, from the products X W_xh, H W_hh and H W_hh^T (computed once for every version)."""
        pre = XW + (0 if HW is None else HWt if self.transposed else HW)
        return ACTIVATIONS[self.activation](pre + bias if self.bias else pre)


RIGHT = Step()
# Every version, simplest explanation first: one mistake before two.
STEPS = sorted((Step(a, b, t) for a, b, t in itertools.product(ACTIVATIONS, (True, False), (False, True))),
               key=lambda s: len(s.codes))
FEED_FORWARD_STEPS = [s for s in STEPS if not s.transposed]


@dataclass(frozen=True)
class Transfer:
    """One way of copying Part 2's (W_xh, W_hh, b_h) into an nn.RNNCell, which computes
    tanh(x weight_ih^T + h weight_hh^T + bias_ih + bias_hh): the right one, or some mistakes at once."""

    wxh_reshaped: bool = False  # weight_ih = W_xh.reshape(h, D) instead of W_xh^T
    whh_as_is: bool = False  # weight_hh = W_hh instead of W_hh^T
    bias: int = 1  # bias_ih + bias_hh is this many times b_h (2: both set to b_h; 0: both zero)

    @property
    def codes(self) -> tuple:
        return tuple(code for code, made in [
            ("transfer_wxh_reshaped", self.wxh_reshaped), ("transfer_whh_not_transposed", self.whh_as_is),
            ("transfer_bias_doubled", self.bias == 2), ("transfer_bias_missing", self.bias == 0)] if made)

    def pre_activation(self, x, H, params):
        """What the cell puts inside its tanh, in Part 2's convention (one sample per row)."""
        Wxh, Whh, bh = params["Wxh"], params["Whh"], params["bh"]
        x_part = x @ (Wxh.reshape(Wxh.shape[::-1]).T if self.wxh_reshaped else Wxh)
        return x_part + H @ (Whh.T if self.whh_as_is else Whh) + self.bias * bh


RIGHT_TRANSFER = Transfer()
TRANSFERS = sorted((Transfer(r, w, b) for r, w, b in itertools.product((False, True), (False, True), (1, 2, 0))),
                   key=lambda t: len(t.codes))
