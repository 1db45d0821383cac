import assert from "node:assert/strict";
import { makeTensor, type Node, type Tensor, type TensorType } from "../graph/types.ts";
import { planNodeOnGpu, runNodeOnGpu } from "../executor/gpu_node_runner.ts";
import { gpuTest } from "../testing/gpu.ts";
import { randomTensor, seededRandom } from "../testing/random.ts";
import { assertClose, TOLERANCES } from "../testing/tolerance.ts";
import { matmul } from "./matmul.ts";

const node: Node = { name: "mm0", op: "MatMul", inputs: ["a", "b"], outputs: ["y"], attrs: {} };
const f32 = (shape: number[]): TensorType => ({ dtype: "f32", shape });

Deno.test("MatMul reference multiplies a small matrix pair worked out by hand", () => {
  const a = makeTensor("f32", [2, 3], [1, 2, 3, 4, 5, 6]);
  const b = makeTensor("f32", [3, 2], [7, 8, 9, 10, 11, 12]);
  const [y] = matmul.reference(node, [a, b]);
  assert.deepEqual(y.shape, [2, 2]);
  assert.deepEqual([...y.data], [58, 64, 139, 154]);
});

Deno.test("MatMul inferTypes broadcasts batch dims and promotes 1-D operands", () => {
  const shape = (a: number[], b: number[]) => matmul.inferTypes(node, [f32(a), f32(b)])[0].shape;
  assert.deepEqual(shape([2, 1, 3, 4], [5, 4, 6]), [2, 5, 3, 6]);
  assert.deepEqual(shape([4], [2, 4, 6]), [2, 6]);
  assert.deepEqual(shape([3, 4], [4]), [3]);
  assert.deepEqual(shape([4], [4]), []);
  assert.throws(() => shape([3, 4], [5, 6]), /MatMul "mm0": inner dimensions differ/);
  assert.throws(() => shape([2, 3, 4], [3, 4, 6]), /MatMul "mm0": batch dims .* do not broadcast/);
  assert.throws(
    () => matmul.inferTypes(node, [f32([3, 4]), { dtype: "i8", shape: [4, 2] }]),
    /MatMul "mm0": inputs must be f32, got i8/,
  );
});

/** The [R, C] matrix of `t` ([..., R, C]) at batch `index`, broadcasting size-1 dims. */
function matrixAt(t: Tensor, index: number[]): Tensor {
  const dims = t.shape.slice(0, -2);
  const [r, c] = t.shape.slice(-2);
  let offset = 0;
  dims.forEach((d, i) => {
    const j = index[index.length - dims.length + i];
    offset = offset * d + (d === 1 ? 0 : j);
  });
  return makeTensor("f32", [r, c], t.data.subarray(offset * r * c, (offset + 1) * r * c));
}

Deno.test("MatMul reference broadcasts batch dims like one 2-D product per batch index", () => {
  const rand = seededRandom(7);
  const a = randomTensor(rand, "f32", [2, 1, 3, 5]);
  const b = randomTensor(rand, "f32", [3, 5, 4]);
  const [y] = matmul.reference(node, [a, b]);
  assert.deepEqual(y.shape, [2, 3, 3, 4]);
  for (let i = 0; i < 2; i++) {
    for (let j = 0; j < 3; j++) {
      const [part] = matmul.reference(node, [
        matrixAt(a, [i, j]),
        matrixAt(b, [i, j]),
      ]);
      const offset = (i * 3 + j) * 12;
      assertClose(y.data.subarray(offset, offset + 12), part.data, TOLERANCES.exact, `${i},${j}`);
    }
  }
});

/**
 * Operand shapes: 2-D, batched 3-D/4-D with broadcasting, 1-D promotions, and batched ones
 * whose strides allow the register kernel's vec4 loads (k and n multiples of 4).
 */
const SHAPES: [number[], number[]][] = [
  [[7, 5], [5, 3]],
  [[1, 64], [64, 17]],
  [[3, 7, 9], [3, 9, 5]],
  [[2, 1, 5, 4], [3, 4, 6]],
  [[2, 3, 13, 7], [7, 1]],
  [[9], [2, 9, 4]],
  [[2, 4, 9], [9]],
  [[9], [9]],
  [[3, 5, 8], [3, 8, 12]],
  [[2, 1, 3, 4], [2, 4, 4]],
];

Deno.test("MatMul cpu matches the reference on batched, broadcast and 1-D operands", () => {
  SHAPES.forEach(([as, bs], i) => {
    const rand = seededRandom(20 + i);
    const inputs = [randomTensor(rand, "f32", as), randomTensor(rand, "f32", bs)];
    const [actual] = matmul.cpu!(node, inputs);
    const [expected] = matmul.reference(node, inputs);
    assert.deepEqual(actual.shape, expected.shape);
    assertClose(actual.data, expected.data, TOLERANCES.f32Kernel, `[${as}] x [${bs}]`);
  });
});

gpuTest(
  "MatMul GPU kernels match the reference on batched, broadcast and 1-D operands",
  async ({ gpu, cache }) => {
    for (const registers of [false, true]) {
      const device = { ...gpu, isFallbackAdapter: registers };
      for (const [i, [as, bs]] of SHAPES.entries()) {
        const rand = seededRandom(40 + i);
        const inputs = [randomTensor(rand, "f32", as), randomTensor(rand, "f32", bs)];
        const [actual] = await runNodeOnGpu(device, node, inputs, cache);
        const [expected] = matmul.reference(node, inputs);
        assert.deepEqual(actual.shape, expected.shape);
        const key = planNodeOnGpu(device, node, inputs).plan.programs[0].key;
        assertClose(actual.data, expected.data, TOLERANCES.f32Kernel, `[${as}] x [${bs}] ${key}`);
      }
    }
  },
);

gpuTest(
  "MatMul GPU kernels split more than 65535 workgroups over a 2-D grid",
  async ({ gpu, cache }) => {
    const rand = seededRandom(60);
    const inputs = [
      randomTensor(rand, "f32", [70001, 1, 3]),
      randomTensor(rand, "f32", [70001, 3, 2]),
    ];
    for (const registers of [false, true]) {
      const device = { ...gpu, isFallbackAdapter: registers };
      const { plan } = planNodeOnGpu(device, node, inputs);
      const [x, y] = plan.programs[0].workgroups;
      const max = gpu.device.limits.maxComputeWorkgroupsPerDimension;
      assert.ok(y > 1 && x <= max, `registers ${registers}: grid ${x}x${y}`);
      const [actual] = await runNodeOnGpu(device, node, inputs, cache);
      const [expected] = matmul.reference(node, inputs);
      assertClose(actual.data, expected.data, TOLERANCES.f32Kernel, `registers ${registers}`);
    }
  },
);
