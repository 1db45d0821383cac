import assert from "node:assert/strict";
import { runNodeOnGpu } from "../executor/gpu_node_runner.ts";
import { type Attributes, makeTensor, type Node } from "../graph/types.ts";
import { gpuTest } from "../testing/gpu.ts";
import { randomTensor, seededRandom } from "../testing/random.ts";
import { assertClose, TOLERANCES } from "../testing/tolerance.ts";
import { maxPool } from "./max_pool.ts";

function poolNode(attrs: Attributes): Node {
  return { name: "pool0", op: "MaxPool", inputs: ["x"], outputs: ["y"], attrs };
}

/** A single-plane ramp: x[h][w] = h * width + w. */
function ramp(height: number, width: number) {
  return makeTensor("f32", [1, 1, height, width], [...Array(height * width).keys()]);
}

Deno.test("MaxPool reference of a ramp picks each window's last in-bounds element", () => {
  // 7x6 input, 3x3 kernel, stride 2, pads [1, 1, 1, 1], ceil_mode: the ramp's maximum sits
  // at the window's bottom-right in-bounds corner.
  const [h, w, k, s, p] = [7, 6, 3, 2, 1];
  const node = poolNode({
    kernel_shape: [k, k],
    strides: [s, s],
    pads: [p, p, p, p],
    ceil_mode: 1,
  });
  const [y] = maxPool.reference(node, [ramp(h, w)]);
  // H: ceil((7 + 2 - 3) / 2) + 1 = 4; W: ceil((6 + 2 - 3) / 2) + 1 = 4, and the last W window
  // starts at 3 * 2 - 1 = 5 < 6, so it stays.
  assert.deepEqual(y.shape, [1, 1, 4, 4]);
  for (let oh = 0; oh < 4; oh++) {
    for (let ow = 0; ow < 4; ow++) {
      const lastH = Math.min(oh * s - p + k - 1, h - 1);
      const lastW = Math.min(ow * s - p + k - 1, w - 1);
      assert.equal(y.data[oh * 4 + ow], lastH * w + lastW, `y[${oh}][${ow}]`);
    }
  }
});

Deno.test("MaxPool reference with dilations skips the taps between", () => {
  // 1x5 ramp, kernel 1x2, dilation 3: windows {0, 3} and {1, 4}, maxima 3 and 4.
  const node = poolNode({ kernel_shape: [1, 2], dilations: [1, 3] });
  const [y] = maxPool.reference(node, [ramp(1, 5)]);
  assert.deepEqual([...y.data], [3, 4]);
});

Deno.test("MaxPool output sizes follow auto_pad and ceil_mode", () => {
  const x = { dtype: "f32" as const, shape: [1, 1, 4, 5] };
  const shape = (attrs: Attributes) => maxPool.inferTypes(poolNode(attrs), [x])[0].shape;
  assert.deepEqual(shape({ kernel_shape: [2, 2], strides: [2, 2] }), [1, 1, 2, 2]);
  assert.deepEqual(shape({ kernel_shape: [2, 2], strides: [2, 2], ceil_mode: 1 }), [1, 1, 2, 3]);
  // ceil_mode adds a window at 4 for H = 4 + pad 1, but it would start past the input: dropped.
  assert.deepEqual(
    shape({ kernel_shape: [2, 2], strides: [2, 2], pads: [0, 0, 1, 0], ceil_mode: 1 }),
    [1, 1, 2, 3],
  );
  assert.deepEqual(shape({ kernel_shape: [3, 3], strides: [2, 2], auto_pad: "SAME_UPPER" }), [
    1,
    1,
    2,
    3,
  ]);
  assert.deepEqual(shape({ kernel_shape: [3, 2], auto_pad: "VALID" }), [1, 1, 2, 4]);
});

Deno.test("MaxPool SAME_UPPER and SAME_LOWER put the odd padding at opposite ends", () => {
  // 1x4 ramp, kernel 1x2, stride 1: total padding 1. UPPER pads after: windows end with
  // {3, pad} -> 3; LOWER pads before: the first window is {pad, 0} -> 0.
  const upper = poolNode({ kernel_shape: [1, 2], auto_pad: "SAME_UPPER" });
  const lower = poolNode({ kernel_shape: [1, 2], auto_pad: "SAME_LOWER" });
  assert.deepEqual([...maxPool.reference(upper, [ramp(1, 4)])[0].data], [1, 2, 3, 3]);
  assert.deepEqual([...maxPool.reference(lower, [ramp(1, 4)])[0].data], [0, 1, 2, 3]);
});

Deno.test("MaxPool inferTypes rejects malformed nodes with the offending value", () => {
  const x = { dtype: "f32" as const, shape: [1, 2, 5, 5] };
  const infer = (attrs: Attributes) => () => maxPool.inferTypes(poolNode(attrs), [x]);
  assert.throws(infer({}), /MaxPool "pool0": required attribute kernel_shape is missing/);
  assert.throws(infer({ kernel_shape: [3] }), /kernel_shape must be 2 integers >= 1, got \[3\]/);
  assert.throws(infer({ kernel_shape: [2, 2], strides: [0, 1] }), /strides .* got \[0,1\]/);
  assert.throws(infer({ kernel_shape: [2, 2], pads: [1, 1] }), /pads must be 4 integers/);
  assert.throws(
    infer({ kernel_shape: [2, 2], auto_pad: "SAME" }),
    /auto_pad must be one of NOTSET, SAME_UPPER, SAME_LOWER, VALID, got "SAME"/,
  );
  assert.throws(
    infer({ kernel_shape: [2, 2], auto_pad: "VALID", pads: [1, 0, 0, 0] }),
    /pads \[1,0,0,0\] cannot be combined with auto_pad VALID/,
  );
  assert.throws(
    infer({ kernel_shape: [1, 1], pads: [1, 0, 0, 0] }),
    /output 0 along H pools only padding/,
  );
  assert.throws(infer({ kernel_shape: [7, 1] }), /window .* is larger than the padded input/);
  assert.throws(
    () => maxPool.inferTypes(poolNode({ kernel_shape: [2, 2] }), [{ dtype: "f32", shape: [2, 5] }]),
    /input must be NCHW \(rank 4\), got shape \[2,5\]/,
  );
  assert.throws(
    () => maxPool.inferTypes({ ...poolNode({ kernel_shape: [2, 2] }), outputs: ["y", "i"] }, [x]),
    /only the pooled output is supported, got outputs \["y","i"\]/,
  );
});

/** Pooling configurations for the GPU comparison: odd channel counts, windows and pads. */
const CASES: [number[], Attributes][] = [
  [[1, 1, 1, 1], { kernel_shape: [1, 1] }],
  [[1, 3, 7, 7], { kernel_shape: [3, 3] }],
  [[2, 7, 9, 8], { kernel_shape: [3, 3], strides: [2, 2], pads: [1, 1, 1, 1] }],
  [[1, 17, 6, 7], { kernel_shape: [2, 3], strides: [2, 1], pads: [0, 1, 1, 0], ceil_mode: 1 }],
  [[1, 3, 8, 7], { kernel_shape: [3, 2], strides: [2, 2], auto_pad: "SAME_LOWER" }],
  [[1, 3, 9, 10], { kernel_shape: [2, 3], dilations: [2, 3], strides: [1, 2], pads: [1, 2, 0, 1] }],
  [[1, 64, 112, 112], { kernel_shape: [3, 3], strides: [2, 2], pads: [1, 1, 1, 1] }],
];

gpuTest("MaxPool GPU kernels match the reference (f32, u8, i8)", async (env) => {
  const ranges = { f32: [-1, 1], u8: [0, 256], i8: [-128, 128] } as const;
  for (const dtype of ["f32", "u8", "i8"] as const) {
    for (const [i, [shape, attrs]] of CASES.entries()) {
      const node = poolNode(attrs);
      const x = randomTensor(seededRandom(30 + i), dtype, shape, ...ranges[dtype]);
      const [actual] = await runNodeOnGpu(env.gpu, node, [x], env.cache);
      const [expected] = maxPool.reference(node, [x]);
      assert.deepEqual(actual.shape, expected.shape);
      // A max selects one of its inputs: bit-exact.
      assertClose(actual.data, expected.data, TOLERANCES.exact, `MaxPool ${dtype} case ${i}`);
    }
  }
});
