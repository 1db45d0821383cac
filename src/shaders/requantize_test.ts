import { createPoisonedBuffer, readTensor, uploadTensor } from "../executor/gpu_buffers.ts";
import { makeTensor } from "../graph/types.ts";
import { f32, requantize } from "../ops/quant_math.ts";
import { dispatchOnce, gpuTest } from "../testing/gpu.ts";
import { seededRandom } from "../testing/random.ts";
import { assertClose, TOLERANCES } from "../testing/tolerance.ts";
import { I32_TO_F32_WGSL, REQUANTIZE_WGSL } from "./requantize.ts";

const WGSL = /* wgsl */ `
@group(0) @binding(0) var<storage, read> acc: array<i32>;
@group(0) @binding(1) var<storage, read> scale: array<f32>;
@group(0) @binding(2) var<storage, read_write> converted: array<f32>;
@group(0) @binding(3) var<storage, read_write> quantized: array<i32>;
${I32_TO_F32_WGSL}
${REQUANTIZE_WGSL}
@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) id: vec3<u32>) {
  let i = id.x;
  if (i >= arrayLength(&acc)) { return; }
  converted[i] = i32_to_f32(acc[i]);
  quantized[i] = requantize(acc[i], scale[i], 7, 0, 255);
}`;

/** Accumulators over the whole int32 range, values that round on conversion, and ties. */
function cases(count: number) {
  const rand = seededRandom(3);
  const acc = new Int32Array(count);
  const scale = new Float32Array(count);
  for (let i = 0; i < count; i++) {
    const kind = i % 4;
    if (kind === 0) acc[i] = Math.floor((rand() - 0.5) * 2 ** 32);
    else if (kind === 1) {
      acc[i] = (2 ** 24 + Math.floor(rand() * 2 ** 27)) * (rand() < 0.5 ? -1 : 1);
    } else acc[i] = Math.floor((rand() - 0.5) * 2000);
    // Kinds 0-1: tiny multipliers; 2: random; 3: 0.5 and 0.25, where most results are ties.
    scale[i] = kind < 2
      ? f32(rand() * 2 ** -20)
      : kind === 2
      ? f32(rand() * 0.3)
      : [0.5, 0.25][i % 8 === 3 ? 0 : 1];
  }
  acc.set([-(2 ** 31), 2 ** 31 - 1, 2 ** 24 + 1, -(2 ** 24) - 3, 2 ** 25 + 2, 0x7fffff80], 0);
  return { acc, scale };
}

gpuTest(
  "WGSL i32_to_f32 and requantize equal the host arithmetic on every int32",
  async ({ gpu }) => {
    const { device } = gpu;
    const { acc, scale } = cases(4096);
    const accT = makeTensor("i32", [acc.length], acc);
    const scaleT = makeTensor("f32", [scale.length], scale);
    const buffers = [
      uploadTensor(device, accT, "acc"),
      uploadTensor(device, scaleT, "scale"),
      createPoisonedBuffer(device, { dtype: "f32", shape: [acc.length] }, "converted"),
      createPoisonedBuffer(device, { dtype: "i32", shape: [acc.length] }, "quantized"),
    ];
    try {
      dispatchOnce(device, WGSL, buffers, [acc.length / 64]);
      const converted = await readTensor(device, buffers[2], { dtype: "f32", shape: [acc.length] });
      const quantized = await readTensor(device, buffers[3], { dtype: "i32", shape: [acc.length] });
      assertClose(converted.data, Array.from(acc, (v) => f32(v)), TOLERANCES.exact, "i32_to_f32");
      const expected = Array.from(acc, (v, i) => requantize(v, scale[i], 7, 0, 255));
      assertClose(quantized.data, expected, TOLERANCES.exact, "requantize");
    } finally {
      for (const b of buffers) b.destroy();
    }
  },
);
