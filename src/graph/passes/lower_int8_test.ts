import assert from "node:assert/strict";
import { createSession } from "../../executor/session.ts";
import { runReference } from "../../executor/reference.ts";
import { gpuTest } from "../../testing/gpu.ts";
import { randomTensor, seededRandom } from "../../testing/random.ts";
import { assertClose, TOLERANCES } from "../../testing/tolerance.ts";
import type { Graph, Tensor } from "../types.ts";
import { int8ResidualGraph } from "./_int8_graphs.ts";
import { lowerInt8 } from "./lower_int8.ts";

function inputs(batch: number, seed: number): Record<string, Tensor> {
  return { x: randomTensor(seededRandom(seed), "f32", [batch, 3, 11, 9], -2.5, 2.5) };
}

function opCounts(graph: Graph): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const node of graph.nodes) counts[node.op] = (counts[node.op] ?? 0) + 1;
  return counts;
}

function assertSameOutputs(
  actual: Record<string, Tensor>,
  expected: Record<string, Tensor>,
  what: string,
) {
  for (const [name, t] of Object.entries(expected)) {
    assert.deepEqual(actual[name].shape, t.shape, `${what} ${name} shape`);
    assertClose(actual[name].data, t.data, TOLERANCES.exact, `${what} ${name}`);
  }
}

Deno.test("lowerInt8 keeps the graph's outputs bit for bit", () => {
  const graph = int8ResidualGraph();
  const lowered = lowerInt8(graph);
  for (const batch of [1, 2]) {
    const x = inputs(batch, batch);
    const expected = runReference(graph, x);
    assert.ok(new Set(expected.mid.data).size > 100, "the test graph's activations are spread");
    assertSameOutputs(runReference(lowered, x), expected, `batch ${batch}`);
  }
});

Deno.test("lowerInt8 packs once, stays NHWC4 between convs and fuses the residual add", () => {
  const lowered = lowerInt8(int8ResidualGraph());
  assert.deepEqual(opCounts(lowered), {
    QuantizeLinear: 1,
    PackNhwc: 1,
    QLinearConvNhwc: 4,
    MaxPoolNhwc: 1,
    QLinearGlobalAveragePool: 1,
    UnpackNhwc: 2,
    Flatten: 1,
    QGemmPacked: 1,
    DequantizeLinear: 1,
  });
  const fused = lowered.nodes.filter((n) => n.attrs.residual !== undefined);
  assert.deepEqual(fused.map((n) => [n.name, n.attrs.residual, n.outputs[0]]), [[
    "c3",
    "second",
    "sum_nhwc",
  ]]);
  assert.ok(lowered.nodes.every((n) => n.op !== "QuantizeLinear" || n.inputs.length === 1));
});

gpuTest("A lowered int8 graph runs on the GPU bit-exact with the reference", async ({ gpu }) => {
  const graph = int8ResidualGraph(3);
  const lowered = lowerInt8(graph);
  const session = await createSession({ graph: lowered }, { backend: "gpu", batch: 2, gpu });
  try {
    const x = inputs(2, 9);
    assertSameOutputs(await session.run(x), runReference(graph, x), "GPU");
  } finally {
    session.dispose();
  }
});
