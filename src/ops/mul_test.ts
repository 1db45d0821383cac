import assert from "node:assert/strict";
import { runNodeOnGpu } from "../executor/gpu_node_runner.ts";
import type { Node } from "../graph/types.ts";
import { gpuTest } from "../testing/gpu.ts";
import { randomTensor, seededRandom } from "../testing/random.ts";
import { assertClose, TOLERANCES } from "../testing/tolerance.ts";
import { mul } from "./mul.ts";

const node: Node = { name: "mul0", op: "Mul", inputs: ["a", "b"], outputs: ["y"], attrs: {} };

Deno.test("Mul reference scales each channel by its factor", () => {
  const rand = seededRandom(4);
  const x = randomTensor(rand, "f32", [2, 3, 2, 2]);
  const s = randomTensor(rand, "f32", [3, 1, 1]);
  const [y] = mul.reference(node, [x, s]);
  for (let i = 0; i < x.data.length; i++) {
    const c = Math.floor(i / 4) % 3;
    assert.equal(y.data[i], Math.fround(x.data[i] * s.data[c]), `element ${i}`);
  }
});

Deno.test("Mul inferTypes accepts only f32", () => {
  const t = { dtype: "i32" as const, shape: [2] };
  assert.throws(() => mul.inferTypes(node, [t, t]), /Mul "mul0": input 0 must be f32, got i32/);
});

gpuTest("Mul GPU kernel matches the reference with broadcasting", async (env) => {
  const cases: [number[], number[]][] = [
    [[3], [3]],
    [[1, 7, 17, 3], [7, 1, 1]],
    [[5, 1], [1, 1, 3]],
    [[2, 300, 300], [2, 1, 300]],
  ];
  for (const [i, [sa, sb]] of cases.entries()) {
    const rand = seededRandom(20 + i);
    const a = randomTensor(rand, "f32", sa, -4, 4);
    const b = randomTensor(rand, "f32", sb, -4, 4);
    const [actual] = await runNodeOnGpu(env.gpu, node, [a, b], env.cache);
    const [expected] = mul.reference(node, [a, b]);
    // One correctly rounded f32 multiplication per element: bit-exact.
    assertClose(actual.data, expected.data, TOLERANCES.exact, `Mul [${sa}] * [${sb}]`);
  }
});
