import assert from "node:assert/strict";
import type { Attributes, Node, Tensor } from "../graph/types.ts";
import { randomTensor, seededRandom } from "../testing/random.ts";
import { globalAveragePool } from "./global_average_pool.ts";
import { maxPool } from "./max_pool.ts";
import { globalAveragePoolCpu, maxPoolCpu, maxPoolTypeScript } from "./pool_cpu.ts";

/** Asserts the same shape and the same values, bit for bit (NaN equal to NaN, -0 to -0). */
function assertSameTensor(actual: Tensor, expected: Tensor, label: string) {
  assert.deepEqual(actual.shape, expected.shape, `${label}: shape`);
  assert.equal(actual.dtype, expected.dtype, `${label}: dtype`);
  for (let i = 0; i < expected.data.length; i++) {
    assert.ok(
      Object.is(actual.data[i], expected.data[i]),
      `${label}: [${i}] ${actual.data[i]}, expected ${expected.data[i]}`,
    );
  }
}

/** Windows with every attribute: pads on some sides, strides, dilations, ceil_mode, auto_pad. */
const MAX_POOL_CASES: [number[], Attributes][] = [
  [[1, 1, 1, 1], { kernel_shape: [1, 1] }],
  [[1, 3, 7, 7], { kernel_shape: [3, 3] }],
  [[2, 7, 9, 8], { kernel_shape: [3, 3], strides: [2, 2], pads: [1, 1, 1, 1] }],
  [[1, 17, 6, 7], { kernel_shape: [2, 3], strides: [2, 1], pads: [0, 1, 1, 0], ceil_mode: 1 }],
  [[1, 3, 8, 7], { kernel_shape: [3, 2], strides: [2, 2], auto_pad: "SAME_LOWER" }],
  [[1, 3, 9, 10], { kernel_shape: [2, 3], dilations: [2, 3], strides: [1, 2], pads: [1, 2, 0, 1] }],
  [[1, 5, 5, 11], { kernel_shape: [5, 4], dilations: [1, 2], pads: [2, 3, 2, 3], ceil_mode: 1 }],
  [[1, 4, 10, 17], { kernel_shape: [2, 3], strides: [3, 3], pads: [1, 0, 1, 2] }],
  [[2, 3, 6, 9], { kernel_shape: [2, 2], strides: [1, 1], ceil_mode: 1 }],
  // More planes than one staging chunk of the WebAssembly kernel holds.
  [[1, 64, 112, 112], { kernel_shape: [3, 3], strides: [2, 2], pads: [1, 1, 1, 1] }],
];

Deno.test("maxPoolCpu and maxPoolTypeScript equal the reference bit for bit (f32 with NaN and -0, u8, i8)", () => {
  const ranges = { f32: [-1, 1], u8: [0, 256], i8: [-128, 128] } as const;
  for (const dtype of ["f32", "u8", "i8"] as const) {
    for (const [i, [shape, attrs]] of MAX_POOL_CASES.entries()) {
      const node: Node = { name: "pool0", op: "MaxPool", inputs: ["x"], outputs: ["y"], attrs };
      const rand = seededRandom(40 + i);
      const x = randomTensor(rand, dtype, shape, ...ranges[dtype]);
      if (dtype === "f32") {
        // Signed zeros and NaN, at random places (some inside padded windows).
        for (let k = 0; k < 1 + x.data.length / 50; k++) {
          x.data[Math.floor(rand() * x.data.length)] = [-0, 0, NaN][k % 3];
        }
      }
      if (dtype !== "f32") x.quant = { scale: [0.5], zeroPoint: [3] };
      const [expected] = maxPool.reference(node, [x]);
      for (const [name, kernel] of [["cpu", maxPoolCpu], ["TypeScript", maxPoolTypeScript]]) {
        const [actual] = (kernel as typeof maxPoolCpu)(node, [x]);
        const label = `MaxPool ${name} ${dtype} [${shape}] ${JSON.stringify(attrs)}`;
        assertSameTensor(actual, expected, label);
        assert.deepEqual(actual.quant, expected.quant, `${label}: quantization carries over`);
      }
    }
  }
});

Deno.test("globalAveragePoolCpu equals the GlobalAveragePool reference bit for bit", () => {
  const node: Node = {
    name: "gap",
    op: "GlobalAveragePool",
    inputs: ["x"],
    outputs: ["y"],
    attrs: {},
  };
  for (
    const [i, shape] of [[2, 3, 5, 7], [1, 5, 1, 1], [1, 4, 3], [2, 2, 2, 3, 5], [1, 33, 7, 7]]
      .entries()
  ) {
    const x = randomTensor(seededRandom(60 + i), "f32", shape, -3, 5);
    const [actual] = globalAveragePoolCpu(node, [x]);
    const [expected] = globalAveragePool.reference(node, [x]);
    assertSameTensor(actual, expected, `GlobalAveragePool [${shape}]`);
  }
});
