class LSTM(Module):
  __parameters__ = ["weight_ih_l0", "weight_hh_l0", "weight_ih_l1", "weight_hh_l1", ]
  __buffers__ = []
  weight_ih_l0 : Tensor
  weight_hh_l0 : Tensor
  weight_ih_l1 : Tensor
  weight_hh_l1 : Tensor
  training : bool
  _is_full_backward_hook : Optional[bool]
  def forward(self: __torch__.torch.nn.modules.rnn.___torch_mangle_26.LSTM,
    x: Tensor) -> Tuple[Tensor, Tensor, Tensor]:
    weight_hh_l1 = self.weight_hh_l1
    weight_ih_l1 = self.weight_ih_l1
    weight_hh_l0 = self.weight_hh_l0
    weight_ih_l0 = self.weight_ih_l0
    max_batch_size = ops.prim.NumToTensor(torch.size(x, 1))
    _0 = int(max_batch_size)
    hx = torch.zeros([2, int(max_batch_size), 10], dtype=6, layout=None, device=torch.device("cpu"), pin_memory=False)
    hx0 = torch.zeros([2, _0, 10], dtype=6, layout=None, device=torch.device("cpu"), pin_memory=False)
    _1 = [hx, hx0]
    _2 = [weight_ih_l0, weight_hh_l0, weight_ih_l1, weight_hh_l1]
    _3, _4, _5 = torch.lstm(x, _1, _2, False, 2, 0., False, False, False)
    return (_4, _5, _3)
