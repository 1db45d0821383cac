import assert from "node:assert/strict";
import type { Graph, Node } from "../graph/types.ts";
import { scoreKindOf } from "./output_kind.ts";

Deno.test("scoreKindOf finds a Softmax behind reshapes and (de)quantization only", () => {
  const node = (op: string, input: string, output: string): Node => ({
    name: output,
    op,
    inputs: [input],
    outputs: [output],
    attrs: {},
  });
  const graph = (nodes: Node[]): Graph => ({
    name: "g",
    nodes,
    inputs: [],
    outputs: [],
    initializers: new Map(),
  });
  const softmaxHead = graph([
    node("Gemm", "x", "a"),
    node("Softmax", "a", "b"),
    node("Reshape", "b", "c"),
    node("QuantizeLinear", "c", "d"),
  ]);
  assert.equal(scoreKindOf(softmaxHead, "d"), "probabilities");
  assert.equal(scoreKindOf(softmaxHead, "b"), "probabilities");
  assert.equal(scoreKindOf(softmaxHead, "a"), "logits");
  const afterSoftmax = graph([node("Softmax", "x", "a"), node("Relu", "a", "b")]);
  assert.equal(scoreKindOf(afterSoftmax, "b"), "logits");
  assert.equal(scoreKindOf(graph([node("LogSoftmax", "x", "a")]), "a"), "logits");
  assert.equal(scoreKindOf(graph([]), "x"), "logits");
});
